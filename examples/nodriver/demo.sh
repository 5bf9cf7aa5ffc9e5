#!/bin/sh
# The no-driver demo (make demo-nodriver): no tpoold. A media driver
# (tpool-aeronmd, in a private directory) carries the producer's
# ShmPoolAnnounce and FrameDescriptors; the producer creates the regions
# under the base directory itself. It runs twice: the consumer first (it
# waits for the announce; the base directory need not exist), then the
# producer first (the consumer joins mid-stream). It checks that every
# frame received was intact and that nothing is left behind.
#
# Environment: BIN (directory with producer, consumer and tpool-aeronmd,
# default bin), DEMO_BASE (default /dev/shm/tensorpool; created if
# missing), DEMO_FRAMES (default 5000), DEMO_RATE (Hz, default 5000).
set -eu
BIN=${BIN:-bin}
BASE=${DEMO_BASE:-/dev/shm/tensorpool}
FRAMES=${DEMO_FRAMES:-5000}
RATE=${DEMO_RATE:-5000}

tmp=$(mktemp -d)
aeron=$(mktemp -d /dev/shm/tpool-demo-XXXXXX)/aeron
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp" "$(dirname "$aeron")"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

had_base=yes
[ -e "$BASE" ] || had_base=no
touch "$tmp/start"

echo "demo: starting a media driver (tpool-aeronmd) in $aeron"
"$BIN/tpool-aeronmd" -dir "$aeron" 2>"$tmp/md.log" &
md=$!
pids="$md"
i=0
until grep -q "media driver started" "$tmp/md.log"; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$md" 2>/dev/null; then
		echo "demo: tpool-aeronmd did not start:"; cat "$tmp/md.log"; exit 1
	fi
	sleep 0.05
done

status=0
for order in consumer-first producer-first; do
	echo "demo: $order: $FRAMES frames of a 32x32 float32 tensor at $RATE Hz, regions under $BASE"
	if [ "$order" = consumer-first ]; then
		"$BIN/consumer" -aeron-dir "$aeron" -allow "$BASE" -frames "$FRAMES" -wait 30s >"$tmp/c.out" 2>&1 &
		c=$!
		sleep 0.5
		"$BIN/producer" -aeron-dir "$aeron" -base "$BASE" -frames "$FRAMES" -rate "$RATE" >"$tmp/p.out" 2>&1 &
		p=$!
	else
		"$BIN/producer" -aeron-dir "$aeron" -base "$BASE" -frames "$FRAMES" -rate "$RATE" >"$tmp/p.out" 2>&1 &
		p=$!
		sleep 0.3
		"$BIN/consumer" -aeron-dir "$aeron" -allow "$BASE" -frames "$FRAMES" -wait 30s >"$tmp/c.out" 2>&1 &
		c=$!
	fi
	pids="$md $c $p"
	wait "$p" || { echo "demo: producer failed"; status=1; }
	wait "$c" || { echo "demo: consumer failed"; status=1; }
	sed 's/^/  /' "$tmp/p.out" "$tmp/c.out"
done

echo "demo: stopping the media driver"
kill -TERM "$md"
wait "$md" || { echo "demo: tpool-aeronmd exited with an error:"; cat "$tmp/md.log"; status=1; }
pids=""
if [ "$had_base" = no ]; then
	left=$(find "$BASE" -mindepth 1 2>/dev/null | head -5)
else
	left=$(find "$BASE" -type f -newer "$tmp/start" 2>/dev/null | head -5)
fi
if [ -n "$left" ]; then
	echo "demo: left behind in $BASE:"; echo "$left"; status=1
fi
if [ -e "$aeron" ]; then
	echo "demo: the media driver directory $aeron was left behind"; status=1
fi
if [ "$had_base" = no ]; then
	rmdir "$BASE" 2>/dev/null || true
fi
if [ $status -eq 0 ]; then
	echo "demo: OK: every frame received was intact; nothing left in $BASE"
fi
exit $status

#!/bin/sh
# The camera demo (make demo-camera): tpoold configured from tpoold.toml
# (the stubs' TpooldProfile), the camera consumer (started first: it waits
# for the producer), and the camera producer writing 480x640 uint16 frames
# through the generated stubs with typed metadata (sensor id, exposure,
# gain) and a dark-frame calibration blob, filling DEMO_CLAIMS frames at
# once (a claim queue) with FrameProgress hints, which the consumer counts. The consumer prints per-second
# statistics and a summary; everything stops cleanly and the script checks
# that nothing is left behind in the base directory.
#
# Environment: BIN (directory with tpoold, camera-producer and
# camera-consumer, default bin), DEMO_BASE (shm.base_dir, default
# /dev/shm/tensorpool; created if missing), DEMO_FRAMES (default 600),
# DEMO_RATE (Hz, default 100), DEMO_EXPOSURE_EVERY (frames between
# exposure changes, default 200), DEMO_CLAIMS (frames filled at once,
# default 2), DEMO_CONFIG (tpoold's configuration,
# default tpoold.toml beside this script).
set -eu
BIN=${BIN:-bin}
BASE=${DEMO_BASE:-/dev/shm/tensorpool}
FRAMES=${DEMO_FRAMES:-600}
RATE=${DEMO_RATE:-100}
EVERY=${DEMO_EXPOSURE_EVERY:-200}
CLAIMS=${DEMO_CLAIMS:-2}
CONFIG=${DEMO_CONFIG:-$(dirname "$0")/tpoold.toml}
STREAM=10000

tmp=$(mktemp -d)
# A private Aeron directory, so the demo never meets another media driver.
aeron=$(mktemp -d /dev/shm/tpool-camera-XXXXXX)/aeron
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

echo "camera demo: starting tpoold (embedded media driver in $aeron, regions under $BASE)"
AERON_DIR=$aeron SHM_BASE_DIR=$BASE "$BIN/tpoold" -config "$CONFIG" -log-level info 2>"$tmp/tpoold.log" &
tpoold=$!
pids="$tpoold"
i=0
until grep -q "tpoold started" "$tmp/tpoold.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 400 ] || ! kill -0 "$tpoold" 2>/dev/null; then
		echo "camera demo: tpoold did not start:"; cat "$tmp/tpoold.log"; exit 1
	fi
	sleep 0.05
done

common="-stream $STREAM -aeron-dir $aeron -allow-dir $BASE"
echo "camera demo: the consumer starts first and waits for the camera"
# shellcheck disable=SC2086
"$BIN/camera-consumer" $common -idle 3s -timeout 50s -log-level info >"$tmp/c.out" 2>"$tmp/c.log" &
c=$!
pids="$pids $c"
i=0
until grep -q "consumer mapped" "$tmp/c.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 400 ] || { echo "camera demo: the consumer did not attach"; cat "$tmp/c.log"; exit 1; }
	sleep 0.05
done
echo "camera demo: the camera writes $FRAMES frames of 480x640 uint16 at $RATE Hz, $CLAIMS at a time with progress hints, a new exposure every $EVERY"
# shellcheck disable=SC2086
"$BIN/camera-producer" $common -frames "$FRAMES" -rate "$RATE" -exposure-every "$EVERY" -claims "$CLAIMS" >"$tmp/p.out" 2>"$tmp/p.log" &
p=$!
pids="$pids $p"

status=0
wait "$p" || { echo "camera demo: the producer failed"; cat "$tmp/p.log"; status=1; }
wait "$c" || { echo "camera demo: the consumer failed"; cat "$tmp/c.log"; status=1; }
sed 's/^/  /' "$tmp/c.out"
sed 's/^/  /' "$tmp/p.out"

echo "camera demo: stopping tpoold"
kill -TERM "$tpoold"
wait "$tpoold" || { echo "camera demo: tpoold exited with an error:"; cat "$tmp/tpoold.log"; status=1; }
pids=""
if [ "$had_base" = no ]; then
	left=$(find "$BASE" -mindepth 1 2>/dev/null | head -5)
else
	left=$(find "$BASE" -type f -newer "$tmp/start" 2>/dev/null | head -5)
fi
if [ -n "$left" ]; then
	echo "camera demo: left behind in $BASE:"; echo "$left"; status=1
fi
if [ -e "$aeron" ]; then
	echo "camera demo: the media driver directory $aeron was left behind"; status=1
fi
if [ "$had_base" = no ]; then
	rmdir "$BASE" 2>/dev/null || true
fi
if [ $status -eq 0 ]; then
	echo "camera demo: OK: every frame intact, metadata and progress hints consistent; nothing left in $BASE"
fi
exit $status

#!/bin/sh
# The driver demo (make demo): tpoold, a consumer (A) that starts before any
# producer and waits, a producer of 480x640 uint16 frames, and a second
# consumer (B) that joins mid-stream in RATE_LIMITED mode at 10 Hz: its
# ConsumerHello gets it a per-consumer descriptor stream on which the
# producer paces it, while A gets every frame. Each party prints its rates,
# drops by reason and integrity; everything is stopped cleanly and the
# script checks that nothing is left behind in the base directory. The
# consumers stop 2 s after the last frame.
#
# Environment: BIN (directory with tpoold and tp, default bin),
# DEMO_BASE (shm.base_dir, default /dev/shm/tensorpool; created if missing),
# DEMO_FRAMES (frames to produce, default 2000), DEMO_RATE (Hz, default 500).
set -eu
BIN=${BIN:-bin}
BASE=${DEMO_BASE:-/dev/shm/tensorpool}
FRAMES=${DEMO_FRAMES:-2000}
RATE=${DEMO_RATE:-500}
STREAM=10000

tmp=$(mktemp -d)
# A private Aeron directory, so the demo never meets another media driver.
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

echo "demo: starting tpoold (embedded media driver in $aeron, regions under $BASE)"
AERON_DIR=$aeron SHM_BASE_DIR=$BASE "$BIN/tpoold" -log-level info 2>"$tmp/tpoold.log" &
tpoold=$!
pids="$tpoold"
i=0
until grep -q "tpoold started" "$tmp/tpoold.log"; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$tpoold" 2>/dev/null; then
		echo "demo: tpoold did not start:"; cat "$tmp/tpoold.log"; exit 1
	fi
	sleep 0.05
done

common="-stream $STREAM -aeron-dir $aeron -allow-dir $BASE"
echo "demo: consumer A starts first and waits for a producer"
# shellcheck disable=SC2086
"$BIN/tp" consume $common -idle 2s -timeout 50s -log-level info >"$tmp/a.out" 2>"$tmp/a.log" &
a=$!
pids="$pids $a"
i=0
until grep -q "consumer mapped" "$tmp/a.log"; do
	i=$((i + 1))
	[ $i -le 400 ] || { echo "demo: consumer A did not attach"; cat "$tmp/a.log"; exit 1; }
	sleep 0.05
done
sleep 0.5
echo "demo: producer writes $FRAMES frames of 480x640 uint16 at $RATE Hz"
# shellcheck disable=SC2086
"$BIN/tp" produce $common -frames "$FRAMES" -shape 480x640 -dtype uint16 -rate "$RATE" >"$tmp/p.out" 2>"$tmp/p.log" &
p=$!
pids="$pids $p"
sleep 1
echo "demo: consumer B joins mid-stream, RATE_LIMITED at 10 Hz"
# shellcheck disable=SC2086
"$BIN/tp" consume $common -mode rate-limited -max-rate 10 -idle 2s -timeout 50s >"$tmp/b.out" 2>"$tmp/b.log" &
b=$!
pids="$pids $b"

status=0
wait "$p" || { echo "demo: producer failed"; cat "$tmp/p.log"; status=1; }
wait "$a" || { echo "demo: consumer A failed"; cat "$tmp/a.log"; status=1; }
wait "$b" || { echo "demo: consumer B failed"; cat "$tmp/b.log"; status=1; }
sed 's/^/  /' "$tmp/p.out"
sed 's/^tp consume/consumer A/; s/^/  /' "$tmp/a.out"
sed 's/^tp consume/consumer B/; s/^/  /' "$tmp/b.out"
fps() { sed -n 's/.*[ (]\([0-9][0-9.]*\) fps.*/\1/p' "$1" | tail -1; }
echo "demo: rates: producer $(fps "$tmp/p.out") fps; consumer A $(fps "$tmp/a.out") fps (every frame); consumer B $(fps "$tmp/b.out") fps (RATE_LIMITED, 10 Hz)"

echo "demo: stopping tpoold"
kill -TERM "$tpoold"
wait "$tpoold" || { echo "demo: tpoold exited with an error:"; cat "$tmp/tpoold.log"; status=1; }
pids=""
# Files this run created and left (others may share an existing base
# directory); a base directory the demo created must be empty.
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

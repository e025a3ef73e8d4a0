#!/bin/sh
# A restart storm is bounded, with the tunables as they come: a member
# that fails at once is restarted at once the first time, then after
# growing delays, never more than a few times a second; a healthy group
# beside it is not restarted by site restarts over and over.  (The
# policy's details and hrCtrl.maxBackoff are tested in hr-policy.)  The
# gaps between starts include the start itself, slow under ASan or
# valgrind: growth is measured between gaps, not against a clock.
set -eu
me=hr-storm
. "$top_srcdir/tests/hr-lib.sh"

start_daemon
run 2 start B pause
wait_log "^B start 1 "
run 1 start S stamp crash segv
wait_log "^S stamp 10 " 60
# the member's start times in ms, and the gaps between them
sed -n 's/^S stamp [0-9]* \([0-9]*\)$/\1/p' "$out/log" | head -n 10 > "$tmp/t"
gaps=$(awk 'NR > 1 { printf "%d ", $1 - p } { p = $1 }' "$tmp/t")
span=$(awk 'NR == 1 { f = $1 } END { print $1 - f }' "$tmp/t")
set -- $gaps
first=$1 last=$9
# ten starts take the delays 0, 10, 20 ... 640, 1000 ms: over 2 s; a
# storm (hundreds a second) takes a fraction of one
[ "$span" -ge 1500 ] || fail "10 starts in $span ms (gaps in ms: $gaps)"
# the delays grow, unless starts are so slow (ASan, valgrind, a loaded
# machine) that the member runs past the quick window every time
if [ "$first" -lt 300 ]; then
	[ "$last" -ge $((first + 500)) ] || fail "the delays do not grow (gaps in ms: $gaps)"
else
	echo "$me: a start takes $first ms: too slow to see the delays grow"
fi
for g in $gaps; do
	[ "$g" -le $((first + 3000)) ] || fail "a delay of $g ms (gaps in ms: $gaps)"
done
[ "$(starts B)" -le 2 ] || fail "the bystander started $(starts B) times"
ok "10 starts in $span ms, gaps in ms: $gaps; the bystander started $(starts B) time(s)"
"$hrctl" kill -g 1 || fail "hrctl kill -g 1"
stop_daemon
[ "$daemon_status" = 0 ] || fail "daemon status $daemon_status"
hr_done

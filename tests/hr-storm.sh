#!/bin/sh
# A restart storm is bounded, with the tunables as they come: a member
# that fails at once is restarted at once the first time, then after
# growing delays, never more than a few times a second; a healthy group
# beside it is not restarted by site restarts over and over.  (The
# policy's details and hrCtrl.maxBackoff are tested in hr-policy.)
set -eu
me=hr-storm
. "$top_srcdir/tests/hr-lib.sh"

start_daemon
run 2 start B pause
wait_log "^B start 1 "
run 1 start S stamp crash segv
wait_log "^S stamp 2 " 10
sleep 4
n=$(starts S)
# the member's start times, in ms
sed -n 's/^S stamp [0-9]* \([0-9]*\)$/\1/p' "$out/log" > "$tmp/t"
gaps=$(awk 'NR > 1 { printf "%d ", $1 - p } { p = $1 }' "$tmp/t")
[ "$n" -le 25 ] || fail "$n starts in about 4 s (gaps in ms: $gaps)"
[ "$n" -ge 4 ] || fail "only $n starts in about 4 s (gaps in ms: $gaps)"
set -- $gaps
[ "$1" -lt 500 ] || fail "the first restart came after $1 ms (gaps: $gaps)"
# the delays grow: the last gap is far longer than the first; and
# never exceed the default cap (1 s) by much
last=$(echo "$gaps" | awk '{ print $NF }')
[ "$last" -ge $(($1 + 200)) ] || fail "the delays do not grow (gaps in ms: $gaps)"
for g in $gaps; do
	[ "$g" -le 3000 ] || fail "a delay of $g ms (gaps in ms: $gaps)"
done
[ "$(starts B)" -le 2 ] || fail "the bystander started $(starts B) times"
ok "$n starts in 4 s, gaps in ms: $gaps; the bystander started $(starts B) time(s)"
"$hrctl" kill -g 1 || fail "hrctl kill -g 1"
stop_daemon
[ "$daemon_status" = 0 ] || fail "daemon status $daemon_status"
hr_done

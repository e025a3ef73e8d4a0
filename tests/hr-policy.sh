#!/bin/sh
# The restart policy (hrCtrl.* tunables, here through PMM_TUNABLES): each
# group restart adds one to the group's badness, each hrCtrl.interval
# takes one off, and reaching hrCtrl.maxBadness restarts the site --
# every group, persistent memory kept -- exactly once for one crash loop:
# the group that fails again at once after the site restart it caused is
# stopped and shown as failed; hrCtrl.maxBadness = 0 never does.  hrCtrl.maxGroups and
# hrCtrl.maxprocesses refuse more with a clear error.
set -eu
me=hr-policy
. "$top_srcdir/tests/hr-lib.sh"

# crashloop NAME: group 1 crashes 5 times in a row (then runs), group 2
# is a bystander with a block of its own
crashloop() {
	run 2 start "S$1" alloc "s$1" "key$1" pause
	wait_log "^S$1 alloc s$1 new"
	run 1 start "L$1" crashfirst 5 segv pause
	wait_log "^L$1 start 6 " 60
	# let a site restart, if any, finish
	sleep 0.5
}

# 1. maxBadness 3: the third crash in a row restarts the site, once;
# the fourth, at once after it, stops group 1 as failed (a failure is
# quick within max(hrCtrl.maxBackoff, 1 s) of the start: 10 s here, for
# slow machines and sanitizers)
PMM_TUNABLES="hrCtrl.maxBadness=3;hrCtrl.interval=600;hrCtrl.maxBackoff=10000"
export PMM_TUNABLES
start_daemon d1
run 2 start Sa alloc sa keya pause
wait_log "^Sa alloc sa new"
run 1 start La crashfirst 5 segv pause
wait_log "^Sa start 2 "
wait_log "^La start 4 "
wait_for 30 "group 1 to fail" eval '[ "$(gfield 1 state)" = failed ]'
sleep 0.5
[ "$(site_restarts)" = 1 ] || fail "maxBadness 3, a crash loop: $(site_restarts) site restarts"
[ "$(gfield 1 restarts)" = 4 ] || fail "group 1: restarts $(gfield 1 restarts)"
[ "$(starts La)" = 4 ] || fail "the failed group started $(starts La) times, want 4"
[ "$(starts Sa)" = 2 ] || fail "the bystander started $(starts Sa) times, want 2"
grep -q "^Sa alloc sa found" "$out/log" || fail "the site restart lost block sa"
grep -q "site restart 1" "$tmp/d1.err" || fail "no site restart message"
! grep -q "site restart 2" "$tmp/d1.err" || fail "a second site restart"
"$hrctl" status > "$tmp/st.txt"
grep -q "^group 1: failed, restarts 4, badness 1, exit status [0-9]*: ended abnormally (status [0-9]*) [0-9]* ms after the site restart it caused\$" \
	"$tmp/st.txt" || fail "status of the failed group: $(cat "$tmp/st.txt")"
json | grep -q '"id":1,"state":"failed",.*"exit_status":[0-9]*,"reason":"ended abnormally' ||
	fail "JSON status of the failed group: $(json)"
# 139 (SIGSEGV), or what a sanitizer that catches it exits with
grep -q "group 1 failed (status [0-9]*)" "$tmp/d1.err" || fail "no failure message"
st=0
"$hrctl" run -g 1 -- "$member" "$out" start Lx pause 2> "$tmp/rf.err" || st=$?
[ "$st" = 1 ] && grep -q "group 1 has failed" "$tmp/rf.err" ||
	fail "run into a failed group: $st $(cat "$tmp/rf.err")"
"$hrctl" kill -g 1 || fail "kill -g of a failed group"
wait_for 10 "group 1 to go" no_group 1
ok "maxBadness 3: one site restart, then the group is stopped as failed, blocks kept"
stop_daemon

# 2. maxBadness 0: never
PMM_TUNABLES="hrCtrl.maxBadness=0;hrCtrl.interval=600"
start_daemon d2
crashloop b
[ "$(site_restarts)" = 0 ] || fail "maxBadness 0: $(site_restarts) site restarts"
[ "$(gfield 1 badness)" = 5 ] || fail "maxBadness 0: badness $(gfield 1 badness)"
[ "$(starts Sb)" = 1 ] || fail "maxBadness 0: the bystander restarted"
ok "maxBadness 0: no site restart, badness 5"
stop_daemon

# 3. decay: badness falls by one per interval...
PMM_TUNABLES="hrCtrl.maxBadness=10;hrCtrl.interval=2"
start_daemon d3
run 1 start Dc crashfirst 3 abort pause
wait_log "^Dc start 4 "
seen=
i=0
while [ $i -lt 300 ]; do
	b=$(gfield 1 badness)
	case "$seen " in *" $b "*) ;; *) seen="$seen $b" ;; esac
	[ "$b" = 0 ] && break
	sleep 0.05
	i=$((i + 1))
done
# 3 (unless a tick came first), then one less every 2 s
case $seen in " 3 2 1 0"|" 2 1 0") ;;
*) fail "badness after 3 crashes went:$seen" ;; esac
[ "$(gfield 1 restarts)" = 3 ] || fail "restarts $(gfield 1 restarts)"
stop_daemon
# ...so crashes further apart than the interval never reach maxBadness
# 2, while the same crashes within one interval do
PMM_TUNABLES="hrCtrl.maxBadness=2;hrCtrl.interval=1"
start_daemon d4
run 1 start Dd sleep 1600 crashfirst 3 abort pause
wait_log "^Dd start 4 " 60
[ "$(site_restarts)" = 0 ] || fail "crashes 1.6 s apart, interval 1 s: a site restart"
stop_daemon
PMM_TUNABLES="hrCtrl.maxBadness=2;hrCtrl.interval=600"
start_daemon d5
run 1 start De sleep 1600 crashfirst 3 abort pause
wait_log "^De start 4 " 60
[ "$(site_restarts)" = 1 ] || fail "crashes 1.6 s apart, no decay: $(site_restarts) site restarts"
stop_daemon
ok "badness decays by one per interval"

# 4. limits
PMM_TUNABLES="hrCtrl.maxGroups=2;hrCtrl.maxprocesses=3"
start_daemon d6
run 1 start Ga pause
run 2 start Gb wait spawn-go spawn v Gc "$member" hr_member "$out" start Gc \
	pause ';;' spawn v Gd "$member" hr_member "$out" start Gd pause ';;' pause
st=0
"$hrctl" run -g 3 -- "$member" "$out" start Ge pause 2> "$tmp/g3.err" || st=$?
[ "$st" != 0 ] || fail "a third group with maxGroups 2"
grep -q "hrCtrl.maxGroups = 2 groups exist" "$tmp/g3.err" ||
	fail "maxGroups: $(cat "$tmp/g3.err")"
: > "$out/spawn-go"
wait_log "^Gc start 1 "
wait_log "^Gb spawn Gd "
grep -q "^Gb spawn Gd errno=11 hrfexecv: hrCtrl.maxprocesses = 3 processes" \
	"$out/log" || fail "a fourth process by hrfexecv"
st=0
"$hrctl" run -g 1 -- "$member" "$out" start Gf pause 2> "$tmp/g1.err" || st=$?
[ "$st" != 0 ] || fail "a fourth process by hrctl run"
grep -q "hrCtrl.maxprocesses = 3 processes are registered" "$tmp/g1.err" ||
	fail "maxprocesses: $(cat "$tmp/g1.err")"
[ "$(starts Ge)" = 0 ] && [ "$(starts Gd)" = 0 ] && [ "$(starts Gf)" = 0 ] ||
	fail "a process beyond the limits started"
stop_daemon
ok "maxGroups and maxprocesses: clear errors"

# 5b. backoff: a member that always fails restarts at once, then after
# 10, 20, 40 ... ms up to hrCtrl.maxBackoff; 0 restarts at once, always
PMM_TUNABLES="hrCtrl.maxBadness=0;hrCtrl.maxBackoff=300"
start_daemon d7
run 1 start Bo crash exit
sleep 2
n=$(starts Bo)
# 0 10 20 40 80 160 300 300 ...: about 11 starts in 2 s, never hundreds
[ "$n" -ge 3 ] && [ "$n" -le 16 ] || fail "maxBackoff 300: $n starts in 2 s"
i=0
until "$hrctl" status | grep -q "^group 1: restarting, restarts [0-9]*, badness [0-9]*, next start in [0-9]* ms\$"; do
	i=$((i + 1))
	[ $i -lt 20 ] || fail "status shows no restart delay: $("$hrctl" status)"
done
stop_daemon
PMM_TUNABLES="hrCtrl.maxBadness=0;hrCtrl.maxBackoff=0"
start_daemon d8
run 1 start Bz crash exit
i=0
while [ $i -lt 10 ]; do
	! "$hrctl" status | grep -q "next start in" ||
		fail "maxBackoff 0: a restart delay: $("$hrctl" status)"
	i=$((i + 1))
done
n=$(starts Bz)
[ "$n" -ge 3 ] || fail "maxBackoff 0: only $n starts"
stop_daemon
ok "restarts back off up to hrCtrl.maxBackoff; 0: no delay ($n starts)"

# 5. a bad tunable stops the controller with the reason
PMM_TUNABLES="hrCtrl.maxBadness=many"
"$hrctl" run -g 1 -- "$member" "$out" start X 2> "$tmp/bad.err" &&
	fail "hrctl runs with hrCtrl.maxBadness=many"
grep -q 'hrCtrl.maxBadness = "many" is not a decimal' "$tmp/bad.err" ||
	fail "bad tunable: $(cat "$tmp/bad.err")"
PMM_TUNABLES="hrCtrl.maxGroups=0"
"$hrctl" run -g 1 -- "$member" "$out" start X 2> "$tmp/bad.err" &&
	fail "hrctl runs with hrCtrl.maxGroups=0"
grep -q 'hrCtrl.maxGroups = 0 out of range' "$tmp/bad.err" ||
	fail "bad tunable: $(cat "$tmp/bad.err")"
ok "invalid tunables: clear errors"
hr_done

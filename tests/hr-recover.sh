#!/bin/sh
# The controller keeps its registry beside the bank: killed with SIGKILL
# and started again, it stops what the dead one left running and restarts
# its groups -- from their captured images, with their counters -- and no
# block is lost.  The same after an embedded controller (hrctl run) dies.
set -eu
me=hr-recover
. "$top_srcdir/tests/hr-lib.sh"

mkdir "$tmp/bin"
cp "$member" "$tmp/bin/m"
start_daemon d1
run 1 start A alloc ga group alloc ka keya \
	spawn v C "$tmp/bin/m" hr_member "$out" start C alloc gc group pause ';;' \
	pause
"$hrctl" run -g 2 -- "$tmp/bin/m" "$out" start B alloc gb group \
	wait b-go crashfirst 1 exit pause 2>> "$tmp/run.err" || fail "run B"
wait_log "^C alloc gc new"
wait_log "^A alloc ka new"
wait_log "^B alloc gb new"
: > "$out/b-go"
wait_log "^B start 2 "
wait_log "^B alloc gb found"
# (a member logs its hrfexec once the controller has saved its registry)
wait_log "^A spawn C pid="
old="$(pid_of A 1) $(pid_of C 1) $(pid_of B 2)"
[ "$(gfield 2 restarts)" = 1 ] || fail "group 2 did not restart once"
rm "$tmp/bin/m"

kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || :
for p in $old; do
	live "$p" || fail "member $p died with the controller"
done
[ -f "$PMM_DIR/hrctl.reg" ] || fail "no registry"

start_daemon d2
wait_log "^A start 2 "
wait_log "^C start 2 "
wait_log "^B start 3 "
for p in $old; do
	wait_for 10 "the old member $p to be stopped" eval "! live $p"
done
for b in ga gc gb; do
	n=$(grep -c "alloc $b new" "$out/log")
	f=$(grep -c "alloc $b found" "$out/log")
	[ "$n" = 1 ] || fail "block $b allocated anew"
	a1=$(sed -n "s/.* alloc $b new //p" "$out/log")
	[ "$(sed -n "s/.* alloc $b found //p" "$out/log" | sort -u)" = "$a1" ] ||
		fail "block $b found at another address"
	[ "$f" -ge 1 ] || fail "block $b not found again"
done
case $(lookup ka) in found*) ;; *) fail "block ka lost" ;; esac
grep -q "recovering group 1" "$tmp/d2.err" || fail "no recovery message"
[ "$(gfield 2 restarts)" = 1 ] || fail "group 2's counter: $(gfield 2 restarts)"
grep -q "^B start 3 .* restarts=1\$" "$out/log" || fail "B's HRCTL_RESTARTS"
ok "daemon killed: groups restarted from their images, counters and blocks kept"

# killed again while nothing changed: the same once more
wait_count 2 "^A spawn C pid="
old="$(pid_of A 2) $(pid_of C 2) $(pid_of B 3)"
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || :
start_daemon d3
wait_log "^A start 3 "
wait_log "^C start 3 "
wait_log "^B start 4 "
for p in $old; do
	wait_for 10 "the old member $p to be stopped" eval "! live $p"
done
stop_daemon
[ "$(lookup ga)" = absent ] && [ "$(lookup gb)" = absent ] ||
	fail "group blocks left after the daemon's end"
ok "killed twice: recovered twice"

# an embedded controller killed: the next one (here another hrctl run)
# adopts its group and waits for it as well
"$hrctl" run -g 3 -- "$member" "$out" start E alloc ge group \
	wait e-go clean > /dev/null 2> "$tmp/e1.err" &
e1=$!
controllers="$controllers $e1"
wait_log "^E alloc ge new"
# (a status answer comes after the run request: the registry has E)
wait_for 10 "group 3 to be listed" has_group 3
kill -KILL "$e1"
wait "$e1" 2>/dev/null || :
"$hrctl" run -g 4 -- "$member" "$out" start F clean \
	> /dev/null 2> "$tmp/e2.err" &
e2=$!
controllers="$controllers $e2"
wait_log "^E start 2 "
wait_log "^E alloc ge found"
wait_log "^F clean 0"
sleep 0.3
kill -0 "$e2" 2>/dev/null || fail "hrctl run ended before the group it adopted"
: > "$out/e-go"
st=0
wait "$e2" || st=$?
[ "$st" = 0 ] || fail "the second hrctl run: status $st"
[ "$(lookup ge)" = absent ] || fail "block ge left"
ok "embedded controller killed: the next hrctl run adopts its group"

# the next hrctl run cannot start its own group (here: hrCtrl.maxGroups
# is 1, and it recovered one): it still serves the recovered group, then
# ends with an error
start_daemon d4
run 5 start H wait h-go clean
wait_log "^H start 1 "
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || :
PMM_TUNABLES=hrCtrl.maxGroups=1 "$hrctl" run -g 6 -- "$member" "$out" \
	start I clean > /dev/null 2> "$tmp/e3.err" &
e3=$!
controllers="$controllers $e3"
wait_log "^H start 2 "
wait_for 30 "hrctl run -g 6 to refuse its group" \
	grep -q "hrCtrl.maxGroups = 1 groups exist" "$tmp/e3.err"
: > "$out/h-go"
wait_for 20 "hrctl run -g 6 to end with group 5" eval "! kill -0 $e3 2>/dev/null"
st=0
wait "$e3" || st=$?
[ "$st" = 127 ] || fail "hrctl run -g 6: status $st, want 127"
[ "$(starts I)" = 0 ] || fail "group 6 ran"
ok "a run that cannot start its group serves the recovered ones, then fails"
hr_done

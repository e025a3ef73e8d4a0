#!/bin/sh
# The end of a group: when every member has exited cleanly, and at the
# group kill (hrctl kill -g, hrKillGroup), the group's HR_GROUP_KEY blocks
# are freed and its names unregistered; other blocks stay.  A member that
# exits cleanly early leaves the group running until the last one.
# hrGetActorGroup names the group of a process; an indirect member runs
# once per name at a time.  The blocks are freed also in a medium that
# only a member's environment declares (its own PMM_DIR).  A controller
# that dies and leaves a damaged registry has lost its groups: the next
# one kills what they left and frees their HR_GROUP_KEY blocks too.
set -eu
me=hr-group
. "$top_srcdir/tests/hr-lib.sh"

start_daemon

# 1. termination: A exits cleanly first, C (indirect) later
run 1 start A alloc ga group alloc keepa keya \
	spawn v C "$member" hr_member "$out" start C alloc gc group group \
		wait c-done clean exit 0 ';;' \
	spawn v C "$member" hr_member "$out" ';;' \
	group wait a-done clean exit 0
wait_log "^C alloc gc new"
wait_log "^A alloc ga new"
# A logs its second spawn a moment after the first (under valgrind, after
# C has started): wait for both lines before judging the second
wait_count 2 "^A spawn C "
grep -q "^A spawn C errno=16 " "$out/log" ||
	fail "a second hrfexec of a running name did not fail with EBUSY"
wait_log "^A group 1\$"
wait_log "^C group 1\$"
: > "$out/a-done"
wait_log "^A clean 0"
sleep 0.5
has_group 1 || fail "group 1 ended while C still runs"
case $(lookup ga) in found*) ;; *) fail "ga freed while C still runs" ;; esac
: > "$out/c-done"
wait_for 10 "group 1 to end" no_group 1
[ "$(lookup ga)" = absent ] || fail "HR_GROUP_KEY block ga not freed"
[ "$(lookup gc)" = absent ] || fail "HR_GROUP_KEY block gc not freed"
case $(lookup keepa) in found*) ;; *) fail "block keepa was freed" ;; esac
[ "$(starts A)" = 1 ] && [ "$(starts C)" = 1 ] ||
	fail "a clean exit restarted the group"
[ -z "$(ls "$PMM_DIR/hrctl.images")" ] || fail "images left"
ok "clean termination: HR_GROUP_KEY blocks freed once the last member ended"

# the same group id and name again: a new group, new blocks
run 1 start A2 alloc ga group spawn v C "$member" hr_member "$out" \
	start C2 clean ';;' wait a2-done clean
wait_log "^A2 alloc ga new"
wait_log "^C2 start 1 .* restarts=0\$"
: > "$out/a2-done"
wait_for 10 "group 1 to end" no_group 1
ok "a new group 1 registers C afresh"

# 2. the group kill from hrctl: no restart, group blocks freed
run 2 start D alloc gd group alloc keepd keyd \
	spawn v E "$member" hr_member "$out" start E pause ';;' pause
wait_log "^D alloc keepd new"
wait_log "^E start 1 "
d=$(pid_of D 1) e=$(pid_of E 1)
"$hrctl" kill -g 2 || fail "hrctl kill -g 2"
wait_for 10 "group 2 to go" no_group 2
for p in $d $e; do
	wait_for 10 "process $p to end" eval "! live $p"
done
[ "$(lookup gd)" = absent ] || fail "HR_GROUP_KEY block gd not freed"
case $(lookup keepd) in found*) ;; *) fail "block keepd was freed" ;; esac
sleep 0.5
[ "$(starts D)" = 1 ] && [ "$(starts E)" = 1 ] || fail "the group kill restarted"
"$hrctl" kill -g 2 2> "$tmp/kill.err" && fail "hrctl kill -g 2 twice succeeds"
grep -q "no restart group 2" "$tmp/kill.err" || fail "kill of no group: $(cat "$tmp/kill.err")"
ok "hrctl kill -g: members gone for good, group blocks freed, others kept"

# 3. hrKillGroup and hrGetActorGroup from members
run 4 start F alloc gf group pause
wait_log "^F alloc gf new"
f=$(pid_of F 1)
run 3 start G alloc gg group group "$f" killgroup 4 killgroup 99 \
	wait g-go group "$f" killgroup 3 pause
wait_log "^G killgroup 99 "
wait_for 10 "group 4 to go" no_group 4
grep -q "^G group 4\$" "$out/log" || fail "hrGetActorGroup(F) is not 4"
grep -q "^G killgroup 4 0\$" "$out/log" || fail "hrKillGroup(4) failed"
grep -q "^G killgroup 99 errno=3\$" "$out/log" ||
	fail "hrKillGroup(99) did not fail with ESRCH"
[ "$(lookup gf)" = absent ] || fail "hrKillGroup: gf not freed"
: > "$out/g-go"
wait_for 10 "group 3 to go" no_group 3
grep -q "^G group errno=3\$" "$out/log" ||
	fail "hrGetActorGroup of a killed process did not fail with ESRCH"
[ "$(lookup gg)" = absent ] || fail "hrKillGroup(own group): gg not freed"
sleep 0.5
[ "$(starts G)" = 1 ] && [ "$(starts F)" = 1 ] || fail "a group kill restarted"
ok "hrKillGroup of another group and of its own; hrGetActorGroup"

# a member whose environment names another bank directory
mkdir -m 700 "$tmp/other"
sock=$PMM_DIR/hrctl.sock
PMM_DIR=$tmp/other HRCTL_SOCK=$sock "$hrctl" run -g 7 -- "$member" "$out" \
	start M alloc gm group alloc km keym pause 2>> "$tmp/run.err" || fail "run -g 7"
wait_log "^M alloc km new"
PMM_DIR=$tmp/other "$member" "$out" lookup gm
grep -q "^? lookup gm found" "$out/log" || fail "gm is not in the member's bank"
"$hrctl" kill -g 7
wait_for 10 "group 7 to go" no_group 7
PMM_DIR=$tmp/other "$member" "$out" lookup gm
PMM_DIR=$tmp/other "$member" "$out" lookup km
sed -n 's/^? lookup gm //p' "$out/log" | tail -n 1 | grep -q absent ||
	fail "HR_GROUP_KEY block gm not freed in the member's own medium"
sed -n 's/^? lookup km //p' "$out/log" | tail -n 1 | grep -q found ||
	fail "block km (another key) freed"
ok "HR_GROUP_KEY blocks freed in a medium only the member's environment declares"

# a dead controller, a damaged registry: group 8 is lost
run 8 start L alloc gl group alloc kl keyl pause
PMM_DIR=$tmp/other HRCTL_SOCK=$sock "$hrctl" run -g 9 -- "$member" "$out" \
	start N alloc gn group pause 2>> "$tmp/run.err" || fail "run -g 9"
wait_log "^L alloc kl new"
wait_log "^N alloc gn new"
l1=$(pid_of L 1)
n1=$(pid_of N 1)
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || :
size=$(wc -c < "$PMM_DIR/hrctl.reg")
printf 'Z' | dd of="$PMM_DIR/hrctl.reg" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
start_daemon d8
grep -q "damaged" "$tmp/d8.err" || fail "damaged registry: $(cat "$tmp/d8.err")"
wait_for 10 "the lost member L to be killed" eval "! kill -0 $l1 2>/dev/null"
wait_for 10 "the lost member N to be killed" eval "! kill -0 $n1 2>/dev/null"
no_group 8 || fail "group 8 recovered from a damaged registry"
wait_for 10 "gl to be freed" eval '[ "$(lookup gl)" = absent ]'
case $(lookup kl) in found*) ;; *) fail "block kl (another key) freed" ;; esac
PMM_DIR=$tmp/other "$member" "$out" lookup gn
sed -n 's/^? lookup gn //p' "$out/log" | tail -n 1 | grep -q absent ||
	fail "lost group 9: gn not freed in the member's own medium"
ok "a damaged registry: the lost groups' members killed, their HR_GROUP_KEY blocks freed"

stop_daemon
hr_done

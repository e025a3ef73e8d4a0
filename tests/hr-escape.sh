#!/bin/sh
# What members get and what they leave (issue 10): a member has only its
# stdio open, never a descriptor its controller inherited; a process a
# member forked that stayed in its process group, and one that left it
# (setsid) and was orphaned, end with their group's run: at a group
# restart, at hrctl kill -g, and when the controller stops.  Where the
# controller may make cgroups (cgroup v2, as root here), one that also
# shed its environment (HRCTL_GROUP/HRCTL_GEN) ends at hrctl kill -g too;
# elsewhere it ends when the controller stops (said, not skipped).
set -eu
me=hr-escape
. "$top_srcdir/tests/hr-lib.sh"

# fd 7 is open in the daemon and in the embedded controller
exec 7> "$tmp/inherited"
start_daemon d1
run 1 start E fds child escape e pause
wait_log "^E fds"
grep -q "^E fds 0 1 2\$" "$out/log" || fail "a member's descriptors: $(grep '^E fds' "$out/log")"
wait_log "^E escape e pid="
e1=$(sed -n 's/^E escape e pid=\([0-9]*\).*/\1/p' "$out/log" | head -n 1)
live "$e1" || fail "the escaped process is not running"
c1=$(sed -n 's/^E child pid=\([0-9]*\).*/\1/p' "$out/log" | head -n 1)
live "$c1" || fail "the member's child is not running"
# a crash of the member restarts the group: the escaped process ends
kill -SEGV "$(pid_of E 1)"
wait_log "^E start 2 "
wait_for 10 "the escaped process of the first run to end" eval "! live $e1"
wait_for 10 "the child of the first run to end" eval "! live $c1"
wait_count 2 "^E escape e pid="
e2=$(sed -n 's/^E escape e pid=\([0-9]*\).*/\1/p' "$out/log" | tail -n 1)
live "$e2" || fail "the second run's escaped process is not running"
c2=$(sed -n 's/^E child pid=\([0-9]*\).*/\1/p' "$out/log" | tail -n 1)
[ "$c2" != "$c1" ] && live "$c2" || fail "the second run's child is not running"
ok "a group restart ends the descendants of the run before"
"$hrctl" kill -g 1
wait_for 10 "group 1 to end" no_group 1
wait_for 10 "the escaped process to end at the kill" eval "! live $e2"
wait_for 10 "the child to end at the kill" eval "! live $c2"
ok "hrctl kill -g ends the descendants"
run 2 start F child escape f pause
wait_log "^F escape f pid="
f1=$(sed -n 's/^F escape f pid=\([0-9]*\).*/\1/p' "$out/log")
fc=$(sed -n 's/^F child pid=\([0-9]*\).*/\1/p' "$out/log")
# a descendant that left its process group and shed its environment
run 4 start H hide h pause
wait_log "^H hide h pid="
h1=$(sed -n 's/^H hide h pid=\([0-9]*\).*/\1/p' "$out/log")
wait_for 10 "the hidden process to run sleep" eval \
	"[ \"\$(cat /proc/$h1/comm 2>/dev/null)\" = sleep ]"
hm=$(pid_of H 1)
if grep -q '^0::/.*hrctl\.[0-9a-f]*\.[0-9a-f]*/g4$' "/proc/$hm/cgroup" 2>/dev/null; then
	grep -q '^0::/.*hrctl\.[0-9a-f]*\.[0-9a-f]*/g4$' "/proc/$h1/cgroup" ||
		fail "the hidden process left group 4's cgroup: $(cat "/proc/$h1/cgroup")"
	"$hrctl" kill -g 4
	wait_for 10 "group 4 to end" no_group 4
	wait_for 10 "the hidden process to end at the kill" eval "! kill -0 $h1 2>/dev/null"
	ok "a descendant that shed its group and environment ends with the group (cgroup)"
else
	echo "$me: note: no cgroup for group 4 ($(cat "/proc/$hm/cgroup" 2>/dev/null | tr '\n' ' ')): the hidden process ends with the controller"
	hidden=$h1
fi
stop_daemon
wait_for 10 "the escaped process to end with the controller" eval "! live $f1"
wait_for 10 "the child to end with the controller" eval "! live $fc"
[ -z "${hidden:-}" ] ||
	wait_for 10 "the hidden process to end with the controller" eval "! kill -0 $hidden 2>/dev/null"
ok "stopping the controller ends the descendants"
# this controller's cgroups (named after its directory) went with it
# shellcheck disable=SC2046
cg=hrctl.$(printf '%x.%x' $(stat -c '%d %i' "$PMM_DIR"))
left=$(find /sys/fs/cgroup -maxdepth 8 -type d -name "$cg" 2>/dev/null || :)
[ -z "$left" ] || fail "cgroups left: $left"

# the embedded controller: the same descriptors only
"$hrctl" run -g 3 -- "$member" "$out" start G fds clean > /dev/null 2>&1 ||
	fail "hrctl run -g 3: status $?"
grep -q "^G fds 0 1 2\$" "$out/log" || fail "embedded: $(grep '^G fds' "$out/log")"
exec 7>&-
ok "members get their stdio only"
hr_done

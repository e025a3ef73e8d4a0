#!/bin/sh
# Abnormal termination restarts the whole group: a fault, abort(), exit()
# without HR_EXIT_HDL (even exit(0)), a fatal signal, or a kill from
# outside (other than the group kill).  Every member stops; the direct
# members run again with the same arguments and environment; the indirect
# member comes back when its parent calls the same hrfexec* again, under
# the same registered name.  Each round uses another hrfexec* variant.
# HR_GROUP_KEY blocks survive the restart.
set -eu
me=hr-restart
. "$top_srcdir/tests/hr-lib.sh"

PATH=$top_builddir/tests:$PATH
export PATH
start_daemon

# same_env TAG: start 1 and start 2 of TAG had the same argv and
# environment (HRCTL_RESTARTS aside)
same_env() {
	cmp -s "$out/$1.1.env" "$out/$1.2.env" || {
		diff "$out/$1.1.env" "$out/$1.2.env" >&2 || :
		fail "$1 restarted with other arguments or environment"
	}
}

# gone PID: the process has ended
gone() {
	! live "$1"
}

# round GROUP HOW VARIANT: A (direct) spawns C (indirect) with hrfexec
# VARIANT; B is a second direct member; then HOW ends one of them
round() {
	g=$1 how=$2 v=$3
	cpath=$member
	case $v in lp|vp) cpath=hr_member ;; esac
	crash=
	case $how in
	segv|abort|exit|exit0|fpe|term) crash="crashfirst 1 $how" ;;
	esac
	run "$g" start "A$g" alloc "blk$g" group \
		spawn "$v" "C$g" "$cpath" hr_member "$out" start "C$g" pause ';;' \
		wait "go$g" $crash pause
	run "$g" start "B$g" pause
	wait_log "^A$g start 1 "
	wait_log "^B$g start 1 "
	wait_log "^C$g start 1 "
	grep -q "^A$g spawn C$g pid=" "$out/log" || fail "A$g: hrfexec$v failed"
	a1=$(pid_of "A$g" 1) b1=$(pid_of "B$g" 1) c1=$(pid_of "C$g" 1)
	grep -q "^A$g start 1 .* restarts=0\$" "$out/log" ||
		fail "HRCTL_RESTARTS is not 0 at the first start"
	case $how in
	kill-direct) kill -TERM "$b1" ;;
	kill-indirect) kill -KILL "$c1" ;;
	*) : > "$out/go$g" ;;
	esac
	wait_log "^A$g start 2 "
	wait_log "^B$g start 2 "
	wait_log "^C$g start 2 "
	for p in $a1 $b1 $c1; do
		wait_for 10 "process $p to end" gone "$p"
	done
	grep -q "^A$g start 2 pid=[0-9]* group=$g member=[0-9]* restarts=1\$" \
		"$out/log" || fail "A$g: not HRCTL_RESTARTS=1 at the restart"
	same_env "A$g"
	same_env "B$g"
	same_env "C$g"
	# the indirect member keeps its member id: the same registration
	m1=$(sed -n "s/^C$g start 1 .* member=\([0-9]*\) .*/\1/p" "$out/log")
	m2=$(sed -n "s/^C$g start 2 .* member=\([0-9]*\) .*/\1/p" "$out/log")
	[ "$m1" = "$m2" ] || fail "C$g came back as member $m2, was $m1"
	case $v in
	le|ve) grep -q "^env HRT_EXTRA=$v\$" "$out/C$g.1.env" ||
		fail "hrfexec$v: the child did not get the environment given" ;;
	*) ! grep -q "^env HRT_EXTRA=" "$out/C$g.1.env" ||
		fail "hrfexec$v: the child got another environment" ;;
	esac
	grep -q "^argv\[2\]=start\$" "$out/C$g.1.env" ||
		fail "hrfexec$v: the child's arguments"
	# the group's block is the same one, found again
	a=$(sed -n "s/^A$g alloc blk$g new //p" "$out/log")
	grep -q "^A$g alloc blk$g found $a\$" "$out/log" ||
		fail "A$g did not find its HR_GROUP_KEY block again"
	[ "$(gfield "$g" restarts)" = 1 ] || fail "group $g: restarts $(gfield "$g" restarts)"
	[ "$(starts "A$g")" = 2 ] && [ "$(starts "B$g")" = 2 ] &&
		[ "$(starts "C$g")" = 2 ] || fail "group $g restarted more than once"
	"$hrctl" kill -g "$g" || fail "hrctl kill -g $g"
	wait_for 10 "group $g to go" no_group "$g"
	ok "$how (hrfexec$v): the whole group restarted once, same arguments and environment"
}

round 1 segv v
round 2 abort l
round 3 exit0 lp
round 4 exit le
round 5 fpe ve
round 6 term vp
round 7 kill-direct v
round 8 kill-indirect l

# a clean exit is no crash: HR_EXIT_HDL, then exit(5)
run 9 start D9 clean exit 5
run 9 start E9 pause
wait_log "^D9 clean 0"
sleep 1
[ "$(gfield 9 restarts)" = 0 ] || fail "a clean exit restarted the group"
[ "$(starts E9)" = 1 ] || fail "a clean exit restarted the others"
ok "HR_EXIT_HDL then exit(5): no restart"

stop_daemon
[ "$daemon_status" = 0 ] || fail "daemon status $daemon_status"
hr_done

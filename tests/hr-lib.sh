# shellcheck shell=sh
# hr-lib.sh -- helpers shared by the hot restart tests (tests/hr-*.sh).
# Not run on its own: each script sets me=NAME, then sources this file
#	. "$top_srcdir/tests/hr-lib.sh"
# Sourcing it makes a private directory $tmp (the bank and the controller
# live in $tmp/pmm, the members report in $out), starts a watchdog, and
# sets a trap that stops every controller and member the test started.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_builddir.

: "${me:?me is not set: set it before sourcing hr-lib.sh}"
: "${top_builddir:?top_builddir is not set: run this through make check}"

hrctl=$top_builddir/tools/hrctl
member=$top_builddir/tests/hr_member
for _p in "$hrctl" "$member"; do
	[ -x "$_p" ] || { echo "$me: FAIL: $_p is missing: build it first" >&2; exit 1; }
done

tmp=$(mktemp -d "/dev/shm/$me.XXXXXX" 2>/dev/null) ||
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX") || {
	echo "$me: FAIL: cannot make a temporary directory" >&2; exit 1; }
out=$tmp/out
mkdir "$out"

# A private bank and controller, no configuration file of the machine,
# no controller inherited from whoever runs make check.
PMM_DIR=$tmp/pmm
PMM_CONF=
export PMM_DIR PMM_CONF
unset PMM_TUNABLES HRCTL_SOCK HRCTL_GROUP HRCTL_MEMBER HRCTL_RESTARTS

# the controllers this test started (killed on exit)
controllers=

# Under PMEM_TEST_VALGRIND=1, every controller (hrctl daemon, hrctl run)
# and every library call from outside a group runs under valgrind
# memcheck: an error or a definite leak fails the test (hr_done reads the
# logs).  The members run from captured images, natively.
vg=
if [ "${PMEM_TEST_VALGRIND:-0}" = 1 ] && [ -n "${VALGRIND:-}" ]; then
	vg="$LIBTOOL --mode=execute $VALGRIND -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no --log-file=$tmp/vg.%p.log"
	cat > "$tmp/hrctl" <<EOS
#!/bin/sh
case \$1 in
daemon|run) exec $vg "$hrctl" "\$@" ;;
esac
exec "$hrctl" "\$@"
EOS
	chmod +x "$tmp/hrctl"
	hrctl=$tmp/hrctl
fi

# fail MESSAGE: the members' log and the controllers' output, then exit 1.
fail() {
	echo "$me: FAIL: $*" >&2
	[ -f "$out/log" ] && sed 's/^/  log: /' "$out/log" >&2
	for _f in "$tmp"/*.err "$tmp"/*.out; do
		[ -f "$_f" ] && sed "s|^|  ${_f##*/}: |" "$_f" >&2
	done
	# a stalled controller must not hang the failure itself
	timeout -k 1 5 "$hrctl" status >&2 2>&1 || :
	exit 1
}

# ok MESSAGE: progress, in the test's log.
ok() {
	echo "ok: $*"
}

# live PID: true if PID is a running process of this test (its
# environment has our PMM_DIR, so a recycled pid is never taken for one
# of ours; a zombie has no environment left).
live() {
	[ -n "$1" ] && [ "$1" -gt 0 ] 2>/dev/null &&
		tr '\0' '\n' 2>/dev/null < "/proc/$1/environ" |
		grep -qxF "PMM_DIR=$PMM_DIR"
}

# cleanup: stop the controllers (they kill their members), then any
# member left over (a controller killed with SIGKILL leaves them).
cleanup() {
	for _c in $controllers; do
		kill -TERM "$_c" 2>/dev/null || continue
		_i=0
		while kill -0 "$_c" 2>/dev/null && [ $_i -lt 100 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
		kill -KILL "$_c" 2>/dev/null || :
	done
	if [ -f "$out/log" ]; then
		for _p in $(sed -n 's/.* pid=\([0-9]*\).*/\1/p' "$out/log" | sort -u); do
			live "$_p" && kill -KILL "$_p" 2>/dev/null || :
		done
	fi
	# the watchdog first: its sleep, killed below, would wake it
	[ -z "${watchdog:-}" ] || kill "$watchdog" 2>/dev/null || :
	watchdog=
	sleep 0.1
	# and whatever else runs with our bank directory: descendants of
	# members, members of a controller that was killed, clients
	for _e in $(grep -lzxF "PMM_DIR=$PMM_DIR" /proc/[0-9]*/environ 2>/dev/null); do
		_p=${_e#/proc/}
		_p=${_p%/environ}
		[ "$_p" = $$ ] || kill -KILL "$_p" 2>/dev/null || :
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "$me: FAIL: interrupted, or the watchdog fired (HR_TEST_TIMEOUT=${HR_TEST_TIMEOUT:-240} s)" >&2; exit 130' HUP INT TERM

# The watchdog: a hang fails the test instead of blocking make check.
( exec 0</dev/null >/dev/null 2>&1; sleep "${HR_TEST_TIMEOUT:-240}" &
  _s=$!; trap 'kill $_s; exit 0' TERM; wait $_s; kill -TERM $$ ) &
watchdog=$!

# wait_for SECONDS DESCRIPTION CMD...: poll CMD until it succeeds.
wait_for() {
	_limit=$(($1 * 20))
	_what=$2
	shift 2
	_i=0
	until "$@"; do
		_i=$((_i + 1))
		[ $_i -ge $_limit ] && fail "timed out waiting for $_what"
		sleep 0.05
	done
}

# logged REGEX: true if a line of the members' log matches.
logged() {
	[ -f "$out/log" ] && grep -q -- "$1" "$out/log"
}

# wait_log REGEX [SECONDS]: wait until a line of the log matches.
wait_log() {
	wait_for "${2:-30}" "log line /$1/" logged "$1"
}

# count REGEX: how many log lines match.
count() {
	if [ -f "$out/log" ]; then grep -c -- "$1" "$out/log"; else echo 0; fi
}

# count_is N REGEX: true if exactly N log lines match.
count_is() {
	[ "$(count "$2")" = "$1" ]
}

# wait_count N REGEX [SECONDS]: wait until N log lines match.
wait_count() {
	wait_for "${3:-30}" "$1 log lines /$2/" count_is "$1" "$2"
}

# pid_of TAG N: the pid of start N of TAG.
pid_of() {
	sed -n "s/^$1 start $2 pid=\([0-9]*\) .*/\1/p" "$out/log"
}

# starts TAG: how many times TAG started.
starts() {
	cat "$out/$1.count" 2>/dev/null || echo 0
}

# start_daemon [NAME]: a controller in the foreground, in the background
# of this shell; $daemon is its pid.
start_daemon() {
	"$hrctl" daemon --foreground > "$tmp/${1:-daemon}.out" \
		2> "$tmp/${1:-daemon}.err" &
	daemon=$!
	controllers="$controllers $daemon"
	wait_for 30 "the controller's socket" test -S "$PMM_DIR/hrctl.sock"
	wait_for 30 "the controller to answer" controller_up
}

# controller_up: true if a controller answers.
controller_up() {
	"$hrctl" status 2>/dev/null | grep -q '^controller [0-9]'
}

# stop_daemon: SIGTERM to $daemon, and its exit status in $daemon_status.
stop_daemon() {
	kill -TERM "$daemon"
	daemon_status=0
	wait "$daemon" || daemon_status=$?
}

# run GROUP ARGS...: hand hr_member with ARGS to the running controller
# as a direct member of GROUP.
run() {
	_g=$1
	shift
	"$hrctl" run -g "$_g" -- "$member" "$out" "$@" \
		2>> "$tmp/run.err" || fail "hrctl run -g $_g $*: status $?"
}

# json: the controller's report in JSON.
json() {
	"$hrctl" status --json
}

# gfield GROUP FIELD: restarts, badness or state of GROUP in the report.
gfield() {
	json | sed -n "s/.*{\"id\":$1,\"state\":\"\([a-z]*\)\",\"restarts\":\([0-9]*\),\"badness\":\([0-9]*\).*/\1 \2 \3/p" |
		case $2 in
		state) cut -d' ' -f1 ;;
		restarts) cut -d' ' -f2 ;;
		badness) cut -d' ' -f3 ;;
		esac
}

# has_group GROUP: true if the controller lists GROUP.
has_group() {
	json | grep -q "{\"id\":$1,\"state\""
}

# no_group GROUP: true if it does not.
no_group() {
	! has_group "$1"
}

# site_restarts: the controller's count of site restarts.
site_restarts() {
	json | sed -n 's/.*"site_restarts":\([0-9]*\).*/\1/p'
}

# outside [WHAT]: the library calls outside a restartable process fail
# with ESRCH (hr_member outside, under valgrind in valgrind mode).
outside() {
	$vg "$member" "$out" outside > "$tmp/outside.txt" 2>&1 || {
		cat "$tmp/outside.txt" >&2
		fail "library calls outside a restartable process${1:+ ($1)}"
	}
}

# hr_done: the end of a test that passed, unless valgrind found errors.
hr_done() {
	for _f in "$tmp"/vg.*.log; do
		[ -s "$_f" ] || continue
		cat "$_f" >&2
		fail "valgrind: errors in ${_f##*/}"
	done
	echo "$me: ok"
}

# lookup NAME: "found ..." or "absent": whether the bank has block NAME
# (asked by hr_member from outside any restart group).
lookup() {
	"$member" "$out" lookup "$1" || fail "hr_member lookup $1"
	sed -n "s/^? lookup $1 //p" "$out/log" | tail -n 1
}

# record_request FILE [ARG...]: a real request to replay, however the
# protocol looks: what `hrctl ARG...` (default: status) sends to a socket
# that only listens (of the type of the running controller's socket).
# Needs tests/hr_hostile.
record_request() {
	_h=$top_builddir/tests/hr_hostile
	_f=$1
	shift
	[ $# -gt 0 ] || set -- status
	"$_h" record "$PMM_DIR/hrctl.sock" "$tmp/fake.sock" "$_f" \
		> "$tmp/record.out" 2>&1 &
	_r=$!
	wait_for 10 "the recorder's socket" test -S "$tmp/fake.sock"
	HRCTL_SOCK=$tmp/fake.sock timeout 15 "$hrctl" "$@" > /dev/null 2>&1 || :
	wait "$_r" || fail "no request recorded: $(cat "$tmp/record.out")"
	ok "hrctl $*: $(cat "$tmp/record.out")"
}

# other_user_missing: why a second unix user cannot be made here, or
# nothing (and false) if it can.
other_user_missing() {
	if [ "$(id -u)" != 0 ] || ! command -v useradd > /dev/null ||
			! command -v userdel > /dev/null ||
			! command -v setpriv > /dev/null; then
		echo "needs root, useradd, userdel and setpriv"
		return 0
	fi
	return 1
}

# other_user: make a second unix user, removed on exit: $eve (its name),
# $euid, $egid; as_eve CMD... runs CMD as that user.  Resets the EXIT
# trap to cleanup and other_user_del: call it after any trap of your own,
# or add other_user_del to yours.
other_user() {
	eve=hre$$
	for _i in 1 2 3 4 5 6 7 8 9 10; do
		useradd -M -N -s /bin/sh "$eve" 2> /dev/null && break
		sleep 1	# /etc/passwd is locked by a parallel test
	done
	id "$eve" > /dev/null 2>&1 || fail "useradd $eve"
	euid=$(id -u "$eve")
	egid=$(id -g "$eve")
	trap 'cleanup; other_user_del' EXIT
}

# other_user_del: remove the user other_user made, waiting for a lock on
# /etc/passwd that a parallel test holds.
other_user_del() {
	for _i in 1 2 3 4 5 6 7 8 9 10; do
		userdel "$eve" 2> /dev/null || :
		id "$eve" > /dev/null 2>&1 || return 0
		sleep 1
	done
	echo "$me: cannot remove the user $eve" >&2
}

# as_eve CMD...: CMD as the user other_user made.
as_eve() {
	setpriv --reuid="$euid" --regid="$egid" --clear-groups -- "$@"
}

#!/bin/sh
# The controller's own SO_PEERCRED check (issue 10): a client of another
# user that reaches the controller's socket anyway is closed as soon as
# it connects, whatever it sends.  Another user, through a second name
# (a hard link, mode 0666) of the socket of our controller, sends the
# bytes of a real `hrctl status` and of a real `hrctl kill -g 1` with a
# raw client (hr_hostile ask; hrctl itself would refuse our server
# first): no byte comes back, the connection is closed, group 1 lives on,
# and the controller still serves us (status, a member's restart).
#
# Why a hard link: opening the controller's directory to the other user
# would not do.  Every client's hrctl (hr__sock_path) and every registry
# write of the controller (reg_save, after each change) check that the
# directory is private, so our own hrctl status and run would fail, and
# the test would prove nothing about the socket.  The link lives in the
# test's directory (made 0711), the controller's stays 0700; the mode of
# the socket is checked by nothing after the controller's start.
set -eu
me=hr-peer
. "$top_srcdir/tests/hr-lib.sh"

if why=$(other_user_missing); then
	echo "$me: SKIP: a second unix user $why"
	exit 77
fi
hostile=$top_builddir/tests/hr_hostile
[ -x "$hostile" ] || fail "$hostile is missing: build it first"

start_daemon
run 1 start A pause
wait_log "^A start 1 "
a1=$(pid_of A 1)
record_request "$tmp/status.req" status
record_request "$tmp/kill.req" kill -g 1
chmod 644 "$tmp/status.req" "$tmp/kill.req"

other_user
chmod 711 "$tmp"
ln "$PMM_DIR/hrctl.sock" "$tmp/door.sock"
chmod 666 "$tmp/door.sock"

# the door and the request work: we get the report through them
"$hostile" ask "$tmp/door.sock" "$tmp/status.req" > "$tmp/our.reply" \
	2> "$tmp/ask.err" || fail "our raw status: $(cat "$tmp/ask.err")"
grep -aq "controller [0-9]" "$tmp/our.reply" ||
	fail "our raw status got no report: $(cat "$tmp/ask.err")"
ok "our raw status through the link: $(cat "$tmp/ask.err")"

# asks REQUEST: the other user sends REQUEST through the door; the
# controller must close the connection without a byte
asks() {
	st=0
	as_eve "$hostile" ask "$tmp/door.sock" "$tmp/$1.req" \
		> "$tmp/eve.reply" 2> "$tmp/ask.err" || st=$?
	[ "$st" = 0 ] || fail "the other user's $1: hr_hostile status $st: $(cat "$tmp/ask.err")"
	[ ! -s "$tmp/eve.reply" ] ||
		fail "the other user's $1 got a reply: $(tr -c '[:print:]\n' ' ' < "$tmp/eve.reply")"
	ok "the other user's $1: $(cat "$tmp/ask.err")"
}
asks status
asks kill
has_group 1 || fail "the other user's kill -g 1 ended group 1"
live "$a1" || fail "the other user's kill -g 1 ended member A"
! logged "^A start 2 " || fail "the other user's kill -g 1 restarted group 1"

# the door closed again; the controller serves us as before
rm -f "$tmp/door.sock"
chmod 600 "$PMM_DIR/hrctl.sock"
chmod 700 "$tmp"
controller_up || fail "the controller does not answer us any more"
kill -KILL "$a1"
wait_log "^A start 2 "
ok "the controller still serves its user: status, a restart"
"$hrctl" kill -g 1 || fail "hrctl kill -g 1"
stop_daemon
[ "$daemon_status" = 0 ] || fail "daemon status $daemon_status"
hr_done

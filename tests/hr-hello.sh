#!/bin/sh
# The seed's Example 15-1 (examples/hello-restart.c, as printed) under
# hrctl: it says hello, dies of its SIGSEGV, is restarted, sees its
# persistent counter, frees its block and ends its group with status 0 --
# run by an embedded controller, and handed to a running one.
set -eu
me=hr-hello
. "$top_srcdir/tests/hr-lib.sh"
hello=$top_builddir/examples/hello-restart
[ -x "$hello" ] || fail "$hello is missing"

expected='Hello world!
The process has been restarted.
Example finished. Exit.'

# 1. embedded: hrctl run is the controller and returns the group's status
st=0
timeout 60 "$hrctl" run -g 0 -- "$hello" > "$tmp/run1.out" 2> "$tmp/run1.err" ||
	st=$?
[ "$st" = 0 ] || fail "hrctl run -g 0 hello-restart: status $st"
[ "$(cat "$tmp/run1.out")" = "$expected" ] ||
	fail "hello-restart printed: $(cat "$tmp/run1.out")"
[ "$(lookup PM1)" = absent ] || fail "block PM1 was not freed"
[ ! -e "$PMM_DIR/hrctl.sock" ] || fail "the embedded controller left its socket"
[ ! -e "$PMM_DIR/hrctl.reg" ] || fail "the embedded controller left its registry"
ok "embedded run: the three lines, status 0, PM1 freed"

# 2. handed over: the member writes on the stdout of the hrctl run that
# handed it, which returns at once
start_daemon
timeout 60 "$hrctl" run -g 0 -- "$hello" > "$tmp/run2.out" 2> "$tmp/run2.err" ||
	fail "hrctl run -g 0 (handed over): status $?"
grep -q 'handed to the running controller' "$tmp/run2.err" ||
	fail "hrctl run did not hand the member over"
wait_for 30 "group 0 to end" no_group 0
[ "$(cat "$tmp/run2.out")" = "$expected" ] ||
	fail "hello-restart (handed over) printed: $(cat "$tmp/run2.out")"
[ "$(lookup PM1)" = absent ] || fail "block PM1 was not freed"
ok "handed over: the three lines on the caller's stdout"

stop_daemon
[ "$daemon_status" = 0 ] || fail "the daemon's status on SIGTERM: $daemon_status"
hr_done

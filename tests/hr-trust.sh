#!/bin/sh
# Hot restart against another local user and planted files (issue 10):
# the controller's directory must be a private directory of the caller
# (not another user's, not open to others, not a link); a client sends
# nothing to a server of another user and reports a socket that refuses
# it as such; the registry is read only as a private file of the
# caller with the right version and checksum, written only through a new
# file (a planted hrctl.reg.new link is not followed); a controller that
# fails to start leaves a dead controller's registry in place.  The
# parts that need a second user run as root only (useradd).
set -eu
me=hr-trust
. "$top_srcdir/tests/hr-lib.sh"

# 1. the directory: another user's, open to others, a link
mkdir -m 755 "$tmp/open"
st=0
PMM_DIR=$tmp/open "$hrctl" run -g 1 -- "$member" "$out" start X 2> "$tmp/e1" || st=$?
[ "$st" = 1 ] && grep -q "has mode 0755: refused" "$tmp/e1" ||
	fail "a directory open to others: $st $(cat "$tmp/e1")"
! logged "^X start" || fail "a member started in an open directory"
st=0
PMM_DIR=$tmp/open "$hrctl" status > /dev/null 2> "$tmp/e1" || st=$?
[ "$st" = 1 ] && grep -q "has mode 0755: refused" "$tmp/e1" ||
	fail "status in an open directory: $st $(cat "$tmp/e1")"
mkdir -m 700 "$tmp/real"
ln -s "$tmp/real" "$tmp/link"
st=0
PMM_DIR=$tmp/link "$hrctl" daemon --foreground 2> "$tmp/e1" || st=$?
[ "$st" = 1 ] && grep -q "symbolic link" "$tmp/e1" ||
	fail "a linked directory: $st $(cat "$tmp/e1")"
ok "directories open to others or linked are refused"

# 2. a planted hrctl.reg.new link is not followed
mkdir -m 700 "$PMM_DIR"
echo precious > "$tmp/victim"
ln -s "$tmp/victim" "$PMM_DIR/hrctl.reg.new"
start_daemon d1
run 1 start A pause
wait_log "^A start 1 "
[ "$(cat "$tmp/victim")" = precious ] || fail "the registry was written through a link"
[ -f "$PMM_DIR/hrctl.reg" ] && [ ! -L "$PMM_DIR/hrctl.reg" ] || fail "no registry"
ok "a planted hrctl.reg.new link is not followed"

# 3. a failed controller start leaves the dead controller's registry
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || :
cp "$PMM_DIR/hrctl.reg" "$tmp/reg.copy"
rm -f "$PMM_DIR/hrctl.sock"
mkdir "$PMM_DIR/hrctl.sock"	# the socket cannot be made
st=0
"$hrctl" daemon --foreground 2> "$tmp/e3" || st=$?
[ "$st" = 1 ] || fail "a controller without a socket started: $(cat "$tmp/e3")"
cmp -s "$PMM_DIR/hrctl.reg" "$tmp/reg.copy" ||
	fail "a failed controller start changed or removed the registry"
rmdir "$PMM_DIR/hrctl.sock"
a1=$(pid_of A 1)
start_daemon d2
wait_log "^A start 2 "
wait_for 10 "the old member to be killed" eval "! live $a1"
ok "a failed start keeps the registry; the next controller recovers from it"

# 4. planted and damaged registries are not used
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || :
a2=$(pid_of A 2)
cp "$PMM_DIR/hrctl.reg" "$tmp/good.reg"
# a byte changed: the checksum fails; kept as hrctl.reg.bad
size=$(wc -c < "$tmp/good.reg")
printf 'Z' | dd of="$PMM_DIR/hrctl.reg" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
start_daemon d3
grep -q "hrctl.reg: damaged (bad length or checksum): not used" "$tmp/d3.err" ||
	fail "damaged registry: $(cat "$tmp/d3.err")"
[ -f "$PMM_DIR/hrctl.reg.bad" ] || fail "the damaged registry was not kept"
no_group 1 || fail "a group recovered from a damaged registry"
# what the dead controller's members left is killed all the same
wait_for 10 "the orphaned member to be killed" eval "! live $a2"
stop_daemon
for kind in link mode old; do
	rm -f "$PMM_DIR/hrctl.reg" "$PMM_DIR/hrctl.reg.bad"
	case $kind in
	link) cp "$tmp/good.reg" "$tmp/planted.reg"
	      ln -s "$tmp/planted.reg" "$PMM_DIR/hrctl.reg"
	      want="a symbolic link: not used" ;;
	mode) cp "$tmp/good.reg" "$PMM_DIR/hrctl.reg"
	      chmod 644 "$PMM_DIR/hrctl.reg"
	      want="not a private file of this user: not used" ;;
	old)  printf 'd\0\0\0\0\0\0\0' > "$PMM_DIR/hrctl.reg"
	      head -c 200 /dev/zero >> "$PMM_DIR/hrctl.reg"
	      chmod 600 "$PMM_DIR/hrctl.reg"
	      want="not a registry of this hrctl version: not used" ;;
	esac
	start_daemon "r$kind"
	grep -q "$want" "$tmp/r$kind.err" ||
		fail "registry ($kind): $(cat "$tmp/r$kind.err")"
	no_group 1 || fail "a group recovered from a registry ($kind)"
	! logged "^A start 3 " || fail "a planted registry ran its program"
	stop_daemon
done
ok "linked, shared, foreign and damaged registries are not used"

# 5. another user: its directory, its server, our socket
if why=$(other_user_missing); then
	echo "$me: the other-user checks $why: not run"
	hr_done
	exit 0
fi
other_user
# eve runs hrctl itself, never under our valgrind (its logs are ours)
evehrctl=$top_builddir/tools/hrctl
chmod 711 "$tmp"
mkdir -m 700 "$tmp/eve"
chown "$eve" "$tmp/eve"
st=0
PMM_DIR=$tmp/eve "$hrctl" run -g 1 -- "$member" "$out" start V 2> "$tmp/e5" || st=$?
[ "$st" = 1 ] && grep -q "belongs to uid $euid" "$tmp/e5" ||
	fail "another user's directory: $st $(cat "$tmp/e5")"
# eve's controller, its socket open to all
# not through the as_eve function: $! must be the controller itself, not
# a subshell whose end would leave it running (and its user undeletable)
PMM_DIR=$tmp/eve setpriv --reuid="$euid" --regid="$egid" --clear-groups -- \
	"$evehrctl" daemon --foreground > /dev/null 2> "$tmp/eve.err" &
evectl=$!
controllers="$controllers $evectl"
wait_for 30 "eve's socket" test -S "$tmp/eve/hrctl.sock"
as_eve chmod 666 "$tmp/eve/hrctl.sock"
st=0
HRCTL_SOCK=$tmp/eve/hrctl.sock "$hrctl" run -g 1 -- "$member" "$out" start V \
	2> "$tmp/e5" || st=$?
[ "$st" = 1 ] && grep -q "runs as uid $euid, not as this user" "$tmp/e5" ||
	fail "a server of another user: $st $(cat "$tmp/e5")"
PMM_DIR=$tmp/eve as_eve "$evehrctl" status > "$tmp/eve.status" 2>&1 ||
	fail "eve's status: $(cat "$tmp/eve.status")"
! grep -q "^group" "$tmp/eve.status" || fail "eve's controller got our member"
! logged "^V start" || fail "eve's controller ran our program"
ok "another user's directory and server get nothing"
# our socket refuses eve: said as such
start_daemon d5
st=0
HRCTL_SOCK=$PMM_DIR/hrctl.sock as_eve "$evehrctl" status > "$tmp/e5" 2>&1 || st=$?
[ "$st" = 1 ] && grep -q "cannot reach the controller at .*: Permission denied" "$tmp/e5" ||
	fail "a socket that refuses the caller: $st $(cat "$tmp/e5")"
stop_daemon
ok "a socket that refuses the caller is reported as such"
hr_done

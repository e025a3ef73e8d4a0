#!/bin/sh
# A registry that cannot be written is never ignored (issue 10): with
# the controller's file system full, a new member is refused with the
# reason, a crashed group is not restarted (it is stopped as failed,
# saying why), the last good registry stays, and a controller started
# later kills the old member instead of running a second instance.
# Needs root to mount a small tmpfs; skips otherwise.
set -eu
me=hr-full
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root to mount a small tmpfs"
	exit 77
fi
. "$top_srcdir/tests/hr-lib.sh"

mkdir -m 700 "$PMM_DIR"
if ! mount -t tmpfs -o size=4m,mode=0700 hrfull "$PMM_DIR" 2> "$tmp/mount.err"; then
	echo "SKIP: cannot mount a tmpfs: $(cat "$tmp/mount.err")"
	exit 77
fi
trap 'cleanup_full' EXIT
cleanup_full() {
	for _c in $controllers; do kill -KILL "$_c" 2>/dev/null || :; done
	sleep 0.2
	umount -l "$PMM_DIR" 2>/dev/null || :
	cleanup
}
# fill: the file system full, to the last block
fill() {
	dd if=/dev/zero of="$PMM_DIR/filler" bs=4096 2>/dev/null || :
	i=0
	while head -c 512 /dev/zero > "$PMM_DIR/f$i" 2>/dev/null; do
		i=$((i + 1))
	done
}

start_daemon d1
run 1 start A pause
wait_log "^A start 1 "
a1=$(pid_of A 1)
cp "$PMM_DIR/hrctl.reg" "$tmp/good.reg"
fill
# a new member: refused, with the reason
st=0
"$hrctl" run -g 2 -- "$member" "$out" start B pause 2> "$tmp/b.err" || st=$?
[ "$st" = 1 ] && grep -q "No space left on device" "$tmp/b.err" ||
	fail "a run on a full file system: $st $(cat "$tmp/b.err")"
! logged "^B start" || fail "a member started that the registry cannot hold"
# a crash: the restart is refused and said
kill -SEGV "$a1"
wait_for 30 "group 1 to fail" eval '[ "$(gfield 1 state)" = failed ]'
"$hrctl" status | grep -q "^group 1: failed, .*restart refused: cannot write the registry .*: No space left on device" ||
	fail "status of the refused restart: $("$hrctl" status)"
grep -q "group 1 failed" "$tmp/d1.err" || fail "no message for the refused restart"
cmp -s "$PMM_DIR/hrctl.reg" "$tmp/good.reg" || fail "the last good registry changed"
[ "$(starts A)" = 1 ] || fail "A started $(starts A) times"
ok "full: starts and restarts refused with the reason, last good registry kept"
# the controller dies; room again; the next one runs one instance only
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null || :
rm -f "$PMM_DIR"/filler "$PMM_DIR"/f*
start_daemon d2
wait_log "^A start 2 "
sleep 0.5
n=0
for p in $(sed -n 's/^A start [0-9]* pid=\([0-9]*\).*/\1/p' "$out/log"); do
	live "$p" && n=$((n + 1))
done
[ "$n" = 1 ] || fail "$n instances of A run"
stop_daemon
ok "after the controller died, one instance runs"
hr_done

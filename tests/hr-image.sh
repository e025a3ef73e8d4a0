#!/bin/sh
# Restarts run the process image captured when the process first started,
# not the file on disk: a direct member whose file was removed, and an
# indirect member whose file was replaced, both come back as they were.
# When the group ends, its captured images go.  Only a regular file is
# captured: a FIFO given as the program is refused at once with the
# reason (handed over, through hrfexecv, and by an embedded controller),
# and the controller serves on.
set -eu
me=hr-image
. "$top_srcdir/tests/hr-lib.sh"
command -v timeout > /dev/null || { echo "$me: SKIP: no timeout(1)"; exit 77; }

mkdir "$tmp/bin"
cp "$member" "$tmp/bin/direct"
cp "$member" "$tmp/bin/indirect"
start_daemon

"$hrctl" run -g 1 -- "$tmp/bin/direct" "$out" start P \
	spawn v Q "$tmp/bin/indirect" indirect "$out" start Q pause ';;' \
	wait go crashfirst 1 segv pause 2>> "$tmp/run.err" ||
	fail "hrctl run: status $?"
wait_log "^P start 1 "
wait_log "^Q start 1 "
ls "$PMM_DIR/hrctl.images" > "$tmp/images"
[ "$(wc -l < "$tmp/images")" = 2 ] ||
	fail "two members, images: $(cat "$tmp/images")"

# the files go, or become something else
rm "$tmp/bin/direct"
rm "$tmp/bin/indirect"
# (the script ends cleanly: hr_member calls HR_EXIT_HDL for it)
cat > "$tmp/bin/indirect" <<EOS
#!/bin/sh
exec "$member" "$out" touch wrong clean
EOS
chmod +x "$tmp/bin/indirect"
: > "$out/go"
wait_log "^P start 2 "
wait_log "^Q start 2 "
# P logs its spawn when hrfexecv returns, which may be after Q has started
wait_count 2 "^P spawn Q "
grep -q "^P spawn Q pid=" "$out/log" || fail "the second hrfexecv failed"
[ "$(grep -c "^P spawn Q pid=" "$out/log")" = 2 ] ||
	fail "the second hrfexecv failed: $(grep '^P spawn' "$out/log")"
[ ! -e "$out/wrong" ] || fail "the restart ran the replaced file"
grep -q "^Q start 2 .* member=1 " "$out/log" || fail "Q is not member 1 again"
for p in $(pid_of P 2) $(pid_of Q 2); do
	exe=$(readlink "/proc/$p/exe")
	case $exe in
	"$PMM_DIR/hrctl.images/"*) ;;
	*) fail "pid $p runs $exe, not a captured image" ;;
	esac
done
ok "removed and replaced files: the restarted members run their first images"

# a clean end of the group removes the images and unregisters the names
"$hrctl" kill -g 1 || fail "hrctl kill -g 1"
wait_for 10 "group 1 to go" no_group 1
[ -z "$(ls "$PMM_DIR/hrctl.images")" ] ||
	fail "images left: $(ls "$PMM_DIR/hrctl.images")"
ok "the group kill removes its images"

# a later group, even with the same id and name, runs today's file
cp "$member" "$tmp/bin/direct"
"$hrctl" run -g 1 -- "$tmp/bin/direct" "$out" start R \
	spawn v Q "$tmp/bin/indirect" indirect ';;' \
	spawn v Z "$tmp/bin/none" none ';;' clean \
	2>> "$tmp/run.err" || fail "hrctl run: status $?"
wait_for 30 "the new file to run" test -e "$out/wrong"
wait_for 10 "group 1 to go" no_group 1
[ "$(starts R)" = 1 ] || fail "group 1 restarted"
grep -q "^R spawn Z errno=2 hrfexecv: $tmp/bin/none: No such file or directory\$" \
	"$out/log" || fail "hrfexecv of a missing file, new name: $(grep '^R spawn Z' "$out/log")"
ok "a new group registers the name afresh"

# A FIFO as the program: the controller's open of it for reading would
# wait for a writer for ever (and an embedded controller, whose SIGINT
# and SIGTERM wait in its signalfd, would not even stop).  Every run is
# under timeout, so that such a stall fails the test instead of hanging
# it.  It passes hrctl's own check (executable), as a planted or swapped
# file would.
mkfifo "$tmp/bin/fifo"
chmod +x "$tmp/bin/fifo"
refused="$tmp/bin/fifo is not a regular file: refused"
# run_fifo STATUS: hrctl run of the FIFO ends with STATUS within 20 s,
# saying why
run_fifo() {
	_st=0
	timeout -k 1 20 "$hrctl" run -g 2 -- "$tmp/bin/fifo" > /dev/null \
		2> "$tmp/fifo.out" || _st=$?
	[ "$_st" = "$1" ] ||
		fail "hrctl run of a FIFO: status $_st, not $1 (124 or 137: stuck)"
	grep -qxF "hrctl: $refused" "$tmp/fifo.out" ||
		fail "hrctl run of a FIFO: not the reason"
}
run_fifo 1
timeout -k 1 5 "$hrctl" status > /dev/null ||
	fail "the controller does not answer after a FIFO was refused"
"$hrctl" run -g 1 -- "$tmp/bin/direct" "$out" start F \
	spawn v X "$tmp/bin/fifo" fifo ';;' clean 2>> "$tmp/run.err" ||
	fail "hrctl run: status $?"
wait_log "^F spawn X " 20
grep -qxF "F spawn X errno=13 hrfexecv: $refused" "$out/log" ||
	fail "hrfexecv of a FIFO: $(grep '^F spawn X' "$out/log")"
wait_for 10 "group 1 to go" no_group 1
! has_group 2 || fail "group 2 exists: the FIFO was run"
[ -z "$(ls "$PMM_DIR/hrctl.images")" ] ||
	fail "images left: $(ls "$PMM_DIR/hrctl.images")"
ok "a FIFO as the program, handed over or spawned: refused at once, the controller serves on"
stop_daemon
[ "$daemon_status" = 0 ] || fail "daemon status $daemon_status"
run_fifo 127
ok "a FIFO as the program of an embedded controller: refused at once"
hr_done

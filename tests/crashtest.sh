#!/bin/sh
# crashtest.sh -- pmem-crashtest on its seeded-bug corpus (tests/crashtest/):
# every bug must be reported (exit 1) with the persist point named at the
# line carrying the BUG marker, and every fixed twin must pass (exit 0),
# with and without --evict.  Then --rerun on one bug and one twin, and
# --json, usage errors, a program that cannot run or hangs past --timeout.
# PMEM_CRASHTEST_LONG=1 adds every subset of up to 8 lines, and
# --durable-only, whose one image a point (what the point's fence leaves
# durable) cannot show two lines of one fence reordered: there nofence
# and tear must pass (the model, pmem-crashtest(1)), the others be found
# at their BUG line.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_srcdir, top_builddir.
set -e
me=crashtest
fail() {
	echo "$me: FAIL: $*" >&2
	exit 1
}
: "${top_srcdir:?run this through make check}"
: "${top_builddir:?run this through make check}"
tool=$top_builddir/tools/pmem-crashtest
corpus=$top_builddir/tests/crashtest
command -v addr2line >/dev/null ||
	{ echo "$me: SKIP: addr2line (binutils) is missing"; exit 77; }
command -v timeout >/dev/null ||
	{ echo "$me: SKIP: timeout (coreutils) is missing"; exit 77; }
tmp=$(mktemp -d "/dev/shm/$me.XXXXXX" 2>/dev/null) ||
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT TERM

modes="default --evict"
[ -n "$PMEM_CRASHTEST_LONG" ] && modes="$modes --subsets=8 --durable-only"
n=0
# ct NAME MODE PROGRAM: runs the tool on PROGRAM; sets rc, out.
ct() {
	n=$((n + 1))
	d=$tmp/run$n
	mkdir "$d"
	out=$tmp/out$n
	_m=$2
	[ "$_m" = default ] && _m=
	rc=0
	# --rerun runs the program once per point: each run starts afresh
	# shellcheck disable=SC2086
	"$tool" -q -j 2 --dir "$d/ct" --max-reports 1 $_m \
		--check "$3 check {}/pool" -- /bin/sh -c \
		'rm -f "$2"; exec "$1" run "$2"' sh "$3" "$d/pool" \
		>"$out" 2>&1 || rc=$?
}

for bug in noflush nofence order tear pointer recovery; do
	src=$top_srcdir/tests/crashtest/$bug.c
	want=$(grep -n 'BUG \*/' "$src" | cut -d: -f1)
	[ -n "$want" ] || fail "$src has no BUG marker"
	for mode in $modes; do
		ct "$bug" "$mode" "$corpus/$bug"
		case $mode:$bug in --durable-only:nofence|--durable-only:tear)
			[ "$rc" = 0 ] || { cat "$out" >&2
				fail "$bug ($mode): exit $rc, want 0: one fence's lines are durable together in this model"; }
			echo "$me: $bug ($mode): not visible to durable-only images, as documented"
			continue ;;
		esac
		if [ "$rc" != 1 ]; then
			cat "$out" >&2
			fail "$bug ($mode): exit $rc, want 1 (bug found)"
		fi
		site=$(grep -m1 '^  #0 ' "$out" | sed 's/.* at \([^ ]*\) .*/\1/')
		case $site in
		*/$bug.c:$want) ;;
		*)	cat "$out" >&2
			fail "$bug ($mode): persist point at '$site', want $bug.c:$want";;
		esac
		echo "$me: $bug ($mode): found at $bug.c:$want; $(tail -2 "$out" | head -1 | sed 's/^pmem-crashtest: [^:]*: //')"

		ct "$bug-fixed" "$mode" "$corpus/$bug-fixed"
		if [ "$rc" != 0 ]; then
			cat "$out" >&2
			fail "$bug-fixed ($mode): exit $rc, want 0 (no report)"
		fi
		echo "$me: $bug-fixed ($mode): passed; $(tail -1 "$out" | sed 's/^pmem-crashtest: [^:]*: //')"
	done
done

# --rerun: the program killed at each point gives the same verdicts
ct pointer --rerun "$corpus/pointer"
[ "$rc" = 1 ] && grep -q "pointer.c:$(grep -n 'BUG \*/' \
	"$top_srcdir/tests/crashtest/pointer.c" | cut -d: -f1) " "$out" ||
	{ cat "$out" >&2; fail "pointer --rerun: exit $rc, want 1 at its BUG line"; }
ct pointer-fixed --rerun "$corpus/pointer-fixed"
[ "$rc" = 0 ] || { cat "$out" >&2; fail "pointer-fixed --rerun: exit $rc, want 0"; }
echo "$me: --rerun: pointer found, pointer-fixed passed"

# --json: one object, with the failures and the figures
ct tear --json "$corpus/tear"
[ "$rc" = 1 ] && grep -q '^{"program":.*"failed":[1-9].*"stack":\[{"function":"run","where":"[^"]*tear.c:' "$out" ||
	{ cat "$out" >&2; fail "tear --json: no failure object naming tear.c"; }
echo "$me: --json: ok"

# usage errors and a program that is not traced: exit 2
rc=0; "$tool" -- true >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "no --check: exit $rc, want 2"
rc=0; "$tool" -q --dir "$tmp/u" --check true -- true >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "a program without libpmem: exit $rc, want 2"
mkdir "$tmp/exists"
for args in "--dir $tmp/exists" "--subsets 21" "--jobs 0" "--random x" \
		"--bogus"; do
	rc=0
	# shellcheck disable=SC2086
	"$tool" -q $args --check true -- "$corpus/pointer" run "$tmp/x" \
		>"$tmp/u.out" 2>&1 || rc=$?
	[ "$rc" = 2 ] || { cat "$tmp/u.out" >&2; fail "$args: exit $rc, want 2"; }
	grep -q 'pmem-crashtest: \|usage:' "$tmp/u.out" ||
		fail "$args: no message"
done
# a program that fails is an error (2), not a verdict on the images
rc=0; "$tool" -q --dir "$tmp/f" --check true -- /bin/sh -c 'exit 3' \
	>"$tmp/u.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'exited with status 3' "$tmp/u.out" ||
	{ cat "$tmp/u.out" >&2; fail "a failing program: exit $rc, want 2"; }
# a program that cannot be run says why (the exec's errno), not that it
# exited 127 and left no trace
: > "$tmp/not-exec"
for p in "$tmp/no-such-program:No such file or directory" \
		"$tmp/not-exec:Permission denied"; do
	rc=0
	timeout 60 "$tool" -q --dir "${p%%:*}.ct" --check true -- \
		"${p%%:*}" >"$tmp/u.out" 2>&1 || rc=$?
	[ "$rc" = 2 ] && grep -q "cannot run ${p%%:*}: ${p#*:}\$" \
		"$tmp/u.out" && ! grep -q 'exited with status\|no trace' \
		"$tmp/u.out" ||
		{ cat "$tmp/u.out" >&2; fail "${p%%:*}: exit $rc, want 2 and 'cannot run ${p%%:*}: ${p#*:}'"; }
done
# --timeout bounds the program's run too: a program that hangs is killed
# with its process group (the sleep it left in the background as well)
# and is an error; timeout(1) makes a regression fail rather than hang
rc=0
timeout 60 "$tool" -q --dir "$tmp/h" --timeout 1 --check true -- \
	/bin/sh -c 'sleep 1000 & echo $! >"$1"; wait' sh "$tmp/h.pid" \
	>"$tmp/u.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'did not finish within 1 second ' "$tmp/u.out" ||
	{ cat "$tmp/u.out" >&2; fail "a program that hangs: exit $rc, want 2 and 'did not finish within 1 second'"; }
# killed, not left running: gone, or a zombie its new parent has not reaped
st=$(sed 's/.*) //' "/proc/$(cat "$tmp/h.pid")/stat" 2>/dev/null | cut -c1)
case $st in ''|Z) ;; *) fail "the program's background sleep survived ($st)";; esac
rc=0
timeout 60 "$tool" -q --dir "$tmp/h2" --timeout 1 --rerun --check true -- \
	/bin/sh -c 'while :; do :; done' >"$tmp/u.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'did not finish within 1 second ' "$tmp/u.out" ||
	{ cat "$tmp/u.out" >&2; fail "a program that loops (--rerun): exit $rc, want 2"; }
echo "$me: usage errors, programs that cannot run or hang: ok"

# a check of plain words runs without a shell, a builtin (exit) or a
# missing program falls back to one, anything else is the shell's: the
# verdicts are those of sh -c
verdict() {
	rc=0
	"$tool" -q --dir "$tmp/v$2" --check "$1" -- "$corpus/pointer" run \
		"$tmp/v$2.pool" >"$tmp/v.out" 2>&1 || rc=$?
	[ "$rc" = "$3" ] || { cat "$tmp/v.out" >&2; fail "--check '$1': exit $rc, want $3"; }
}
verdict 'exit 0' 1 0
verdict 'exit 1' 2 1
verdict 'false' 3 1
verdict 'test -d {}' 4 0
verdict 'test ! -d {}' 5 1
verdict 'no-such-program-here {}' 6 1
verdict 'test -d {} && exit 0' 7 0
echo "$me: plain and shell checks: ok"
exit 0

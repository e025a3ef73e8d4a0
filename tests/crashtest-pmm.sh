#!/bin/sh
# crashtest-pmm.sh -- pmem-crashtest on libpmm: tests/crashtest/pmm_work
# allocates, fills, frees and frees by key in a bank; every crash image of
# its bank must pass `pmmctl check` and the workload's model check (after
# a reboot: the boot id cleared first, as tests/pmm_crash does, else the
# bank's lock caught held in an image would be waited on).  A crash while
# the bank is being made (under a temporary name) leaves no RAM.pmm, which
# is a valid state: libpmm makes a new bank.  Then the libpmm example of
# pmem-crashtest(1), read from the page and run as written (on
# examples/pmm-counter as ./my-pmm-program), so that it cannot rot: once
# making the bank, once on the bank made.
#
# Short form: 4 blocks, then 3 with --evict.
# PMEM_CRASHTEST_LONG=1: 200 blocks, then 30 with --evict.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_srcdir, top_builddir.
set -e
me=crashtest-pmm
fail() {
	echo "$me: FAIL: $*" >&2
	exit 1
}
: "${top_srcdir:?top_srcdir is not set: run this through make check}"
: "${top_builddir:?top_builddir is not set: run this through make check}"
tool=$top_builddir/tools/pmem-crashtest
ctl=$top_builddir/tools/pmmctl
work=$top_builddir/tests/crashtest/pmm_work
command -v timeout >/dev/null ||
	{ echo "$me: SKIP: timeout (coreutils) is missing"; exit 77; }
tmp=$(mktemp -d "/dev/shm/$me.XXXXXX" 2>/dev/null) ||
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT TERM
: > "$tmp/pmm.conf"
PMM_CONF=$tmp/pmm.conf
export PMM_CONF
unset PMM_TUNABLES HRCTL_GROUP || true

runs="4:default 3:--evict"
[ -n "$PMEM_CRASHTEST_LONG" ] && runs="200:default 30:--evict"
for run in $runs; do
	n=${run%%:*}
	mode=${run#*:}
	m=$mode
	[ "$m" = default ] && m=
	d=$tmp/run-$mode
	mkdir -p "$d/bank"
	PMM_DIR=$d/bank
	export PMM_DIR
	rc=0
	# shellcheck disable=SC2086
	"$tool" -q -j 2 --dir "$d/ct" --max-reports 3 $m --check \
		"[ ! -e {}/RAM.pmm ] || { '$work' reboot {} &&
		'$ctl' -f {}/RAM.pmm check && '$work' check {}; }" \
		-- "$work" run "$n" >"$d/out" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		cat "$d/out" >&2
		fail "pmm_work, $n blocks ($mode): pmem-crashtest exit $rc"
	fi
	sum=$(tail -1 "$d/out")
	case $sum in
	*" 0 checked"*) fail "nothing checked: $sum";;
	esac
	echo "$me: $n blocks ($mode): ${sum#pmem-crashtest: }"
done

# the man page's libpmm example: the lines of its .nf block after "A
# libpmm program", the roff escapes \- and \e made - and \
page=$top_srcdir/man/man1/pmem-crashtest.1
ex=$(sed -n '/^A libpmm program/,/^\.fi/{/^A libpmm program/d;/^\./d;p;}' \
	"$page" | sed -e 's/\\-/-/g' -e 's/\\e/\\/g')
case $ex in
*"pmem-crashtest "*"-- ./my-pmm-program"*) ;;
*)	fail "no libpmm example in $page (got: $ex)";;
esac
d=$tmp/example
mkdir "$d"
ln -s "$top_builddir/examples/pmm-counter" "$d/my-pmm-program"
unset PMM_DIR
for run in 1 2; do
	rc=0
	# its output directory made under $d, so that a failure's is removed
	(cd "$d" && PATH=$top_builddir/tools:$PATH TMPDIR=$d \
		timeout 300 sh -c "$ex") \
		>"$d/out" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		printf '%s\n' "$ex" >&2
		cat "$d/out" >&2
		fail "the example of pmem-crashtest(1), run $run: exit $rc"
	fi
	sum=$(grep 'pmem-crashtest: ./my-pmm-program: ' "$d/out" | tail -1)
	case $sum in
	*" 0 checked"*|"") fail "the example, run $run: nothing checked: $sum";;
	esac
	echo "$me: the example of pmem-crashtest(1), run $run: ${sum#pmem-crashtest: }"
done
[ -e "$d/bank/RAM.pmm" ] || fail "the example made no bank"
exit 0

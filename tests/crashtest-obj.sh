#!/bin/sh
# crashtest-obj.sh -- pmem-crashtest on real code: tests/crashtest/obj_tx.c,
# built against the system's PMDK headers and -lpmemobj (never our
# include/), run on our libpmem.so.1 with PMEM_IS_PMEM_FORCE=1 (libpmemobj
# then persists with pmem_flush/pmem_drain/pmem_memcpy, the interesting
# case).  Every crash image of its transactions must pass `pmempool check`
# and open with pmemobj_open and satisfy the program's invariant.  The
# trace the tool reads is written only by our library, so a run that
# finds persist points proves our libpmem was the one loaded.
#
# Short form: 3 transactions, then 1 with --evict.
# PMEM_CRASHTEST_LONG=1: 1,000 transactions (the figure in README).
#
# Environment (from AM_TESTS_ENVIRONMENT): top_srcdir, top_builddir, CC,
# PMEMPOOL, SAN_CFLAGS.
set -e
me=crashtest-obj
: "${top_srcdir:?top_srcdir is not set: run this through make check}"
# shellcheck source=SCRIPTDIR/compat-lib.sh
. "$top_srcdir/tests/compat-lib.sh"
: "${CC:=cc}"
src=$top_srcdir/tests/crashtest/obj_tx.c
tool=$top_builddir/tools/pmem-crashtest

if ! echo '#include <libpmemobj.h>' | $CC -E - >/dev/null 2>&1; then
	echo "$me: SKIP: libpmemobj.h not found by $CC (install libpmemobj-dev)"
	exit 77
fi
if [ -z "$PMEMPOOL" ]; then
	echo "$me: SKIP: no pmempool (install pmdk-tools)"
	exit 77
fi
compat_ourlib
compat_preload
compat_tmpdir shm

prog=$tmp/obj_tx
if ! $CC -std=gnu11 -O2 -g -Wall -Wextra -Werror -o "$prog" "$src" \
		-lpmemobj >"$tmp/cc.log" 2>&1; then
	sed 's/^/  cc: /' "$tmp/cc.log" >&2
	fail "cannot build $src against the system's libpmemobj"
fi

LD_LIBRARY_PATH=$ourdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
PMEM_IS_PMEM_FORCE=1
export LD_LIBRARY_PATH PMEM_IS_PMEM_FORCE
if [ -n "$preload" ]; then
	LD_PRELOAD=$preload${LD_PRELOAD:+:$LD_PRELOAD}
	ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
	export LD_PRELOAD ASAN_OPTIONS
fi

# PMDK's pool creation is not crash-safe: the pool is made untracked, and
# each tracked run starts from a copy of it.
"$prog" create "$tmp/template" || fail "obj_tx create failed"
ours banner "$prog" check "$tmp/template" || fail "obj_tx check failed"
is_ours banner

# Each check starts libpmemobj twice (pmempool, then the program), and
# libpmemobj's run-time state is about 12 MiB of new heap: page faults
# are most of a check's time on a virtual machine.  glibc's huge-page heap
# makes them few (see pmem-crashtest(1), NOTES).
tun=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432
tun=$tun:glibc.malloc.top_pad=16777216
runs="3:default 1:--evict"
[ -n "$PMEM_CRASHTEST_LONG" ] && runs="1000:default 20:--evict"
for run in $runs; do
	ntx=${run%%:*}
	mode=${run#*:}
	m=$mode
	[ "$m" = default ] && m=
	d=$tmp/run-$mode
	mkdir "$d"
	rc=0
	# shellcheck disable=SC2086
	"$tool" -q -j 2 --dir "$d/ct" --max-reports 3 $m \
		--check "GLIBC_TUNABLES=$tun '$PMEMPOOL' check -q {}/pool &&
			GLIBC_TUNABLES=$tun '$prog' check {}/pool" \
		-- /bin/sh -c 'cp "$1" "$2" && exec "$3" run "$2" "$4"' sh \
		"$tmp/template" "$d/pool" "$prog" "$ntx" >"$d/out" 2>&1 ||
		rc=$?
	if [ "$rc" != 0 ]; then
		cat "$d/out" >&2
		fail "obj_tx, $ntx transactions ($mode): pmem-crashtest exit $rc"
	fi
	sum=$(tail -1 "$d/out")
	case $sum in
	*": 0 persist points"*|*" 0 checked"*)
		fail "no persist points traced: our libpmem was not used ($sum)";;
	*" 1 files, "*) ;;
	*)	fail "want exactly the pool traced: $sum";;
	esac
	echo "$me: $ntx transactions ($mode): ${sum#pmem-crashtest: }"
done
exit 0

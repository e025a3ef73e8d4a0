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
# Where libpmempool.h is installed (libpmempool-dev), obj_tx is built with
# -DOBJ_TX_POOLCHECK: its check runs libpmempool's check itself, the calls
# `pmempool check` makes.  The short form then runs both, `pmempool check
# -q {}/pool && obj_tx check {}/pool`, on every image (the two must agree
# that it is consistent); the long form runs `obj_tx check {}/pool` alone,
# one process an image, which pmem-crashtest starts without a shell.
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
poolcheck=
if echo '#include <libpmempool.h>' | $CC -E - >/dev/null 2>&1; then
	poolcheck="-DOBJ_TX_POOLCHECK -lpmempool"
else
	echo "$me: note: no libpmempool.h (libpmempool-dev): every image runs pmempool check, then obj_tx check"
fi
# shellcheck disable=SC2086
if ! $CC -std=gnu11 -O2 -g -Wall -Wextra -Werror -o "$prog" "$src" \
		-lpmemobj $poolcheck >"$tmp/cc.log" 2>&1; then
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
if [ -n "$poolcheck" ]; then
	# the in-process check fails where pmempool check fails: a pool
	# header whose signature is damaged
	# (the shell's own printf and <>: dd under the ASan preload aborts)
	cp "$tmp/template" "$tmp/damaged"
	printf 'XXXX' 1<>"$tmp/damaged" || fail "cannot damage a copy of the pool"
	"$PMEMPOOL" check -q "$tmp/damaged" > /dev/null 2>&1 &&
		fail "pmempool check passed a pool with a damaged header"
	out=$("$prog" check "$tmp/damaged" 2>&1) &&
		fail "obj_tx check passed a pool with a damaged header: $out"
	case $out in
	*"pmempool check"*"not consistent"*) ;;
	*) fail "obj_tx check on a damaged header did not say why: $out" ;;
	esac
	rm -f "$tmp/damaged"
fi

# libpmemobj's run-time state is about 12 MiB of new heap in each check,
# and page faults are most of a check's time on a virtual machine: glibc's
# huge-page heap makes them few (pmem-crashtest(1), NOTES).  The tool and
# the traced program get it too, which changes nothing they do.
GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432
GLIBC_TUNABLES=$GLIBC_TUNABLES:glibc.malloc.top_pad=16777216
export GLIBC_TUNABLES
check="'$PMEMPOOL' check -q {}/pool && '$prog' check {}/pool"
runs="3:default 1:--evict"
if [ -n "$PMEM_CRASHTEST_LONG" ]; then
	runs="1000:default 20:--evict"
	case $prog in
	*[!A-Za-z0-9_./,:@%+-]*) ;;	# not a plain word: keep the shell
	*) [ -n "$poolcheck" ] && check="$prog check {}/pool" ;;
	esac
fi
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
		--check "$check" \
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
	echo "$me:   check: $check"
done
exit 0

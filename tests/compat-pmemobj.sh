#!/bin/sh
# compat-pmemobj.sh -- a libpmemobj program built against the system's
# PMDK (headers and -lpmemobj, never our include/) running on our
# libpmem.so.1: transactions that commit, abort and fail, reopen and
# verify, then a child SIGKILLed in the middle of a transaction whose
# effects must be rolled back when the parent reopens the pool.  The
# program is tests/compat/obj_tx.c.  Everything runs twice: plain, and with
# PMEM_IS_PMEM_FORCE=1 (libpmemobj then persists through pmem_persist and
# pmem_memcpy instead of msync).  Every run must be proved to have loaded
# our library.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_srcdir, top_builddir, CC,
# PMEMPOOL, SAN_CFLAGS.
set -e
me=compat-pmemobj

fail() {
	echo "$me: FAIL: $*" >&2
	exit 1
}

: "${top_srcdir:?top_srcdir is not set: run this through make check}"
: "${top_builddir:?top_builddir is not set: run this through make check}"
: "${CC:=cc}"
src=$top_srcdir/tests/compat/obj_tx.c
[ -f "$src" ] || fail "$src is missing"

if ! echo '#include <libpmemobj.h>' | $CC -E - >/dev/null 2>&1; then
	echo "$me: SKIP: libpmemobj.h not found by $CC (install libpmemobj-dev)"
	exit 77
fi

ourdir=$top_builddir/libpmem/.libs
ourlib=$ourdir/libpmem.so.1
[ -f "$ourlib" ] || fail "$ourlib is missing: build the library first"

# An ASan-built libpmem in a program that is not: the runtime goes first.
preload=
if [ -n "$SAN_CFLAGS" ]; then
	preload=$($CC -print-file-name=libasan.so)
	[ -f "$preload" ] || fail "sanitizer build, but $CC has no libasan.so"
fi

tmp=$(mktemp -d /dev/shm/$me.XXXXXX 2>/dev/null) ||
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX") ||
	fail "cannot make a temporary directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT TERM

# ours NAME CMD...: runs CMD with our library first on the library path
# and our load log on; stdout goes to $tmp/NAME.out, stderr to
# $tmp/NAME.err, the dynamic loader's trace to $tmp/NAME.ld.PID.
ours() {
	_name=$1
	shift
	(
		LD_LIBRARY_PATH=$ourdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
		PMEM_LOG_LEVEL=3
		LD_DEBUG=libs
		LD_DEBUG_OUTPUT=$tmp/$_name.ld
		export LD_LIBRARY_PATH PMEM_LOG_LEVEL LD_DEBUG LD_DEBUG_OUTPUT
		if [ -n "$preload" ]; then
			LD_PRELOAD=$preload${LD_PRELOAD:+:$LD_PRELOAD}
			ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
			export LD_PRELOAD ASAN_OPTIONS
		fi
		exec "$@"
	) >"$tmp/$_name.out" 2>"$tmp/$_name.err"
}

# show NAME: the output of run NAME, for a failure message.
show() {
	sed "s/^/  $1: /" "$tmp/$1.out" "$tmp/$1.err" >&2
}

# is_ours NAME: fails unless run NAME loaded our libpmem.so.1, and only it:
# our load banner (PMDK's release library ignores PMEM_LOG_LEVEL) and the
# loader's own word on which file it initialised.
is_ours() {
	if ! grep -q '<libpmem>: <3> libpmem [0-9.]* (pmem-stack' \
			"$tmp/$1.err"; then
		show "$1"
		fail "$1: no load banner from our libpmem on stderr (PMEM_LOG_LEVEL=3): PMDK's libpmem was used"
	fi
	_inits=$(cat "$tmp/$1".ld.* 2>/dev/null |
		sed -n 's/.*calling init: \([^ ]*\/libpmem\.so\.1\).*/\1/p' |
		sort -u)
	[ "$_inits" = "$ourlib" ] ||
		fail "$1: loader initialised libpmem.so.1 from '${_inits:-nowhere}', want $ourlib"
	rm -f "$tmp/$1".ld.*
}

# run_ok NAME WHAT CMD...: CMD on ours must succeed and print "WHAT: ok".
run_ok() {
	_name=$1
	_what=$2
	shift 2
	if ! ours "$_name" "$@"; then
		show "$_name"
		fail "$_name: obj_tx $_what ($how) failed on our libpmem"
	fi
	is_ours "$_name"
	if ! grep -q "^$_what: ok" "$tmp/$_name.out"; then
		show "$_name"
		fail "$_name: obj_tx $_what ($how) did not report ok"
	fi
	sed "s/^/$me: $how: /" "$tmp/$_name.out"
}

# Built exactly as a user of Debian's libpmemobj would build it: the
# system's headers and libraries only (nothing from this tree).
prog=$tmp/obj_tx
if ! $CC -std=gnu11 -O2 -Wall -Wextra -Werror -o "$prog" "$src" \
		-lpmemobj >"$tmp/cc.log" 2>&1; then
	sed 's/^/  cc: /' "$tmp/cc.log" >&2
	fail "cannot build $src against the system's libpmemobj"
fi

unset PMEM_IS_PMEM_FORCE
for force in 0 1; do
	if [ $force = 1 ]; then
		PMEM_IS_PMEM_FORCE=1
		export PMEM_IS_PMEM_FORCE
		how="PMEM_IS_PMEM_FORCE=1"
	else
		how="plain"
	fi
	pool=$tmp/pool$force.obj

	run_ok create$force create "$prog" create "$pool"
	run_ok verify$force verify "$prog" verify "$pool"
	run_ok crash${force}a crash "$prog" crash "$pool"
	run_ok crash${force}b crash "$prog" crash "$pool"
	run_ok reverify$force verify "$prog" verify "$pool"

	if [ -n "$PMEMPOOL" ]; then
		if ! ours pmempool$force "$PMEMPOOL" check -v "$pool" ||
		   ! grep -qxF "$pool: consistent" "$tmp/pmempool$force.out"
		then
			show pmempool$force
			fail "pmempool check ($how) on our libpmem: pool not consistent after the crashes"
		fi
		is_ours pmempool$force
		echo "$me: $how: pmempool check: consistent"
	fi
done
exit 0

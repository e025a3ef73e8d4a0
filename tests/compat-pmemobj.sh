#!/bin/sh
# compat-pmemobj.sh -- a libpmemobj program built against the system's
# PMDK (headers and -lpmemobj, never our include/) running on our
# libpmem.so.1: transactions that commit, abort and fail, reopen and
# verify, then a child SIGKILLed in the middle of a transaction whose
# effects must be rolled back when the parent reopens the pool.  The
# program is tests/compat/obj_tx.c.  Everything runs twice: plain, and with
# PMEM_IS_PMEM_FORCE=1 (libpmemobj then persists through pmem_persist and
# pmem_memcpy instead of msync).  Every run must be proved to have loaded
# our library.  Last, create and verify run under valgrind memcheck, which
# must report nothing: on a file system that is not pmem, libpmemobj
# msyncs page-rounded ranges that memcheck partly calls unaddressable, and
# our pmem_msync, as PMDK's, silences memcheck for its own msync.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_srcdir, top_builddir, CC,
# PMEMPOOL, SAN_CFLAGS, VALGRIND.
set -e
me=compat-pmemobj

: "${top_srcdir:?top_srcdir is not set: run this through make check}"
# shellcheck source=SCRIPTDIR/compat-lib.sh
. "$top_srcdir/tests/compat-lib.sh"
: "${CC:=cc}"
src=$top_srcdir/tests/compat/obj_tx.c
[ -f "$src" ] || fail "$src is missing"

if ! echo '#include <libpmemobj.h>' | $CC -E - >/dev/null 2>&1; then
	echo "$me: SKIP: libpmemobj.h not found by $CC (install libpmemobj-dev)"
	exit 77
fi

compat_ourlib
compat_preload
compat_tmpdir shm

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

unset PMEM_IS_PMEM_FORCE
how=memcheck
if [ -z "${VALGRIND:-}" ]; then
	echo "$me: SKIP part: memcheck run: valgrind is not installed"
elif [ -n "$SAN_CFLAGS" ]; then
	echo "$me: SKIP part: memcheck run: a sanitizer build does not run under valgrind"
elif ! grep -q '^#define PMEM_USE_VALGRIND 1' "$top_builddir/config.h"; then
	echo "$me: SKIP part: memcheck run: libpmem was configured without valgrind client requests"
else
	pool=$tmp/poolvg.obj
	for what in create verify; do
		run_ok vg$what $what "$VALGRIND" -q --error-exitcode=99 \
			"$prog" $what "$pool"
		if grep -q '^==[0-9]*== ' "$tmp/vg$what.err"; then
			show vg$what
			fail "vg$what: memcheck reported errors"
		fi
	done
fi
exit 0

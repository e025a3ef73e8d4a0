#!/bin/sh
# compat-pmempool.sh -- Debian's pmempool (PMDK, via libpmemobj and
# libpmempool) running on our libpmem.so.1: create an obj pool, check it,
# show its info; once plain (libpmemobj flushes with pmem_msync) and once
# with PMEM_IS_PMEM_FORCE=1 (libpmemobj takes the pmem_persist/pmem_memcpy
# paths).  Every run must be proved to have loaded our library.  Pools made
# on ours must also check clean with PMDK's own libpmem, and pools made by
# PMDK's libpmem must check clean on ours.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_srcdir, top_builddir,
# PMEMPOOL, CC, SAN_CFLAGS.
set -e
me=compat-pmempool

: "${top_srcdir:?top_srcdir is not set: run this through make check}"
# shellcheck source=SCRIPTDIR/compat-lib.sh
. "$top_srcdir/tests/compat-lib.sh"
if [ -z "$PMEMPOOL" ]; then
	echo "$me: SKIP: pmempool not found at configure time"
	exit 77
fi
[ -x "$PMEMPOOL" ] || fail "PMEMPOOL=$PMEMPOOL is not an executable"

compat_ourlib
compat_preload
compat_tmpdir shm

# check_ok NAME POOL: run NAME was a pmempool check that found POOL clean.
check_ok() {
	if ! grep -qxF "$2: consistent" "$tmp/$1.out"; then
		show "$1"
		fail "$1: pmempool check did not say $2 is consistent"
	fi
}

unset PMEM_IS_PMEM_FORCE
for force in 0 1; do
	if [ $force = 1 ]; then
		PMEM_IS_PMEM_FORCE=1
		export PMEM_IS_PMEM_FORCE
		how="with PMEM_IS_PMEM_FORCE=1"
	else
		how="plain"
	fi
	layout=compat-layout-$force
	pool=$tmp/ours$force.obj

	# create on ours
	if ! ours create$force "$PMEMPOOL" create --layout=$layout \
			--size=16M obj "$pool"; then
		show create$force
		fail "pmempool create ($how) failed on our libpmem"
	fi
	is_ours create$force
	size=$(wc -c <"$pool" 2>/dev/null | tr -d ' ') ||
		fail "pmempool create ($how) made no $pool"
	[ "$size" = 16777216 ] ||
		fail "pmempool create ($how): $pool has $size bytes, want 16 MiB"

	# check on ours
	if ! ours check$force "$PMEMPOOL" check -v "$pool"; then
		show check$force
		fail "pmempool check ($how) failed on our libpmem"
	fi
	is_ours check$force
	check_ok check$force "$pool"

	# info on ours
	if ! ours info$force "$PMEMPOOL" info "$pool"; then
		show info$force
		fail "pmempool info ($how) failed on our libpmem"
	fi
	is_ours info$force
	if ! grep -q "^Layout *: $layout\$" "$tmp/info$force.out"; then
		show info$force
		fail "pmempool info ($how) does not show layout $layout"
	fi
	if ! grep -q '^Checksum *: .*\[OK\]' "$tmp/info$force.out"; then
		show info$force
		fail "pmempool info ($how) does not show a good header checksum"
	fi

	# the pool made on ours, checked by PMDK's libpmem
	if ! system syscheck$force "$PMEMPOOL" check -v "$pool"; then
		show syscheck$force
		fail "pool created on our libpmem ($how) fails pmempool check on PMDK's libpmem"
	fi
	check_ok syscheck$force "$pool"

	# a pool made by PMDK's libpmem, checked and read on ours
	syspool=$tmp/sys$force.obj
	if ! system syscreate$force "$PMEMPOOL" create --layout=sys-$layout \
			--size=16M obj "$syspool"; then
		show syscreate$force
		fail "pmempool create ($how) failed on PMDK's libpmem"
	fi
	if ! ours oncheck$force "$PMEMPOOL" check -v "$syspool"; then
		show oncheck$force
		fail "pool created on PMDK's libpmem ($how) fails pmempool check on ours"
	fi
	is_ours oncheck$force
	check_ok oncheck$force "$syspool"
	if ! ours oninfo$force "$PMEMPOOL" info "$syspool" ||
	   ! grep -q "^Layout *: sys-$layout\$" "$tmp/oninfo$force.out"; then
		show oninfo$force
		fail "pmempool info ($how) on ours cannot read a pool made by PMDK's libpmem"
	fi
	is_ours oninfo$force

	echo "$me: $how: create, check, info on our libpmem: ok"
done
exit 0

#!/bin/sh
# compat-pmempool.sh -- Debian's pmempool (PMDK, via libpmemobj and
# libpmempool) running on our libpmem.so.1: create an obj pool, check it,
# show its info; once plain (libpmemobj flushes with pmem_msync) and once
# with PMEM_IS_PMEM_FORCE=1 (libpmemobj takes the pmem_persist/pmem_memcpy
# paths).  Every run must be proved to have loaded our library.  Pools made
# on ours must also check clean with PMDK's own libpmem, and pools made by
# PMDK's libpmem must check clean on ours.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_builddir, PMEMPOOL, CC,
# SAN_CFLAGS.
set -e
me=compat-pmempool

fail() {
	echo "$me: FAIL: $*" >&2
	exit 1
}

: "${top_builddir:?top_builddir is not set: run this through make check}"
if [ -z "$PMEMPOOL" ]; then
	echo "$me: SKIP: pmempool not found at configure time"
	exit 77
fi
[ -x "$PMEMPOOL" ] || fail "PMEMPOOL=$PMEMPOOL is not an executable"

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

# system NAME CMD...: the same without our library (PMDK's libpmem).
system() {
	_name=$1
	shift
	"$@" >"$tmp/$_name.out" 2>"$tmp/$_name.err"
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

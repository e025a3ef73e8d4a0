# shellcheck shell=sh
# compat-lib.sh -- helpers shared by the PMDK compatibility tests
# (compat-pmempool.sh, compat-pmemobj.sh, compat-examples.sh,
# compat-fio.sh).  Not run on
# its own: each script sets me=NAME, then sources this file with
#	. "$top_srcdir/tests/compat-lib.sh"
# Sourcing it only checks top_builddir and defines the helpers below; the
# scripts call compat_ourlib, compat_preload and compat_tmpdir at the point
# where they need them, after their own SKIP checks.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_builddir; CC and SAN_CFLAGS
# for compat_preload and ours.

: "${me:?me is not set: set it before sourcing compat-lib.sh}"

fail() {
	echo "$me: FAIL: $*" >&2
	exit 1
}

: "${top_builddir:?top_builddir is not set: run this through make check}"

# the sanitizer runtime ours preloads (compat_preload sets it)
preload=

# compat_ourlib: sets ourdir and ourlib to our freshly built libpmem.so.1,
# which must exist.
compat_ourlib() {
	ourdir=$top_builddir/libpmem/.libs
	ourlib=$ourdir/libpmem.so.1
	[ -f "$ourlib" ] || fail "$ourlib is missing: build the library first"
}

# compat_preload: for programs that are not built with $SAN_CFLAGS.
# An ASan-built libpmem in a program that is not: the runtime goes first.
compat_preload() {
	preload=
	if [ -n "$SAN_CFLAGS" ]; then
		preload=$($CC -print-file-name=libasan.so)
		[ -f "$preload" ] || fail "sanitizer build, but $CC has no libasan.so"
	fi
}

# compat_tmpdir shm|tmpdir: makes the temporary directory $tmp, removed on
# exit: in /dev/shm if it can (shm), else (or with tmpdir) in $TMPDIR.
compat_tmpdir() {
	if [ "$1" = shm ]; then
		tmp=$(mktemp -d "/dev/shm/$me.XXXXXX" 2>/dev/null) ||
			tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX") ||
			fail "cannot make a temporary directory"
	else
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX") ||
			fail "cannot make a temporary directory"
	fi
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 130' HUP INT TERM
}

# ours NAME CMD...: runs CMD with our library first on the library path
# and our load log on; stdout goes to $tmp/NAME.out, stderr to
# $tmp/NAME.err, the dynamic loader's trace to $tmp/NAME.ld.PID.  In a
# sanitizer build, leak checking is off, and the runtime set by
# compat_preload (if any) is preloaded; programs built with $SAN_CFLAGS
# bring their own runtime.
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
			export LD_PRELOAD
		fi
		if [ -n "$SAN_CFLAGS" ]; then
			ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
			export ASAN_OPTIONS
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

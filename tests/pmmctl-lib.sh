# shellcheck shell=sh
# pmmctl-lib.sh -- what the pmmctl tests (tests/pmmctl*.sh) share.
# Not run on its own: each script sets me=NAME, then sources this file
#	. "$top_srcdir/tests/pmmctl-lib.sh"
# It makes a private directory $tmp (removed on exit) with an empty bank
# directory $PMM_DIR, and defines ctl (pmmctl, under memcheck when the
# suite runs under valgrind), expect, has, hasnt and fail.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_builddir.

: "${me:?me is not set: set it before sourcing pmmctl-lib.sh}"
ctl_bin="$top_builddir/tools/pmmctl"
[ -x "$ctl_bin" ] || { echo "FAIL: $ctl_bin is not built"; exit 1; }
base=/dev/shm
[ -d /dev/shm ] && [ -w /dev/shm ] || base=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$base/pmm-test-$me-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# fail MESSAGE: says why, with the last command's output, and exits 1
fail() {
	printf "FAIL: %s\n" "$*"
	for f in out err; do
		[ -s "$tmp/$f" ] && { echo "--- $f:"; cat "$tmp/$f"; }
	done
	exit 1
}

# Under PMEM_TEST_VALGRIND=1 our programs run under memcheck, with the
# options tests/run.sh gives compiled tests (99: memcheck found errors).
wrap=
if [ "${PMEM_TEST_VALGRIND:-0}" = 1 ] && [ -n "${VALGRIND:-}" ]; then
	# (libtool by its absolute name: one check runs in another directory)
	wrap="$top_builddir/libtool --mode=execute"
	wrap="$wrap $VALGRIND -q --error-exitcode=99"
	wrap="$wrap --leak-check=full --errors-for-leak-kinds=definite"
	wrap="$wrap --show-leak-kinds=definite --track-fds=no"
fi
# a sanitizer's report must not pass for a damaged bank's exit status 1
ASAN_OPTIONS="exitcode=98${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="exitcode=98${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
ctl() { $wrap "$ctl_bin" "$@"; }

# expect STATUS COMMAND...: stdout to $tmp/out, stderr to $tmp/err
expect() {
	want=$1
	shift
	set +e
	"$@" > "$tmp/out" 2> "$tmp/err"
	got=$?
	set -e
	[ "$got" = "$want" ] || fail "'$*' exited $got, want $want"
}
# has TEXT FILE / hasnt TEXT FILE: TEXT is (is not) in $tmp/FILE
has() { grep -q -- "$1" "$tmp/$2" || fail "no '$1' in $2"; }
hasnt() { ! grep -q -- "$1" "$tmp/$2" || fail "'$1' in $2"; }

PMM_DIR="$tmp/dir"
export PMM_DIR
unset PMM_TUNABLES HRCTL_GROUP || true
mkdir -m 700 "$PMM_DIR"

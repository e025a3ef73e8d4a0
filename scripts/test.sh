#!/bin/sh
# Builds and runs every test, each mode in a build directory of its own
# (so each keeps its logs): build/plain, a -Werror build and `make check`;
# build/valgrind, the same suites under valgrind memcheck; build/asan, an
# ASan+UBSan build and `make check`; then `make distcheck`.  Ends with
# every skipped test and its reason, and one line with the counts.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${JOBS:-2}
# A tree configured in place (./configure run at the top) stops every
# out-of-tree build ("source directory already configured"): clean it.
if [ -f "$top/config.status" ]; then
	echo "== the source tree was configured in place: make distclean first"
	make -C "$top" distclean > /dev/null 2>&1 || rm -f "$top/config.status"
fi
./autogen.sh > /dev/null 2>&1

# results DIR: the .trs files of one build
results() {
	cat "$1"/tests/*.trs "$1"/*.trs 2> /dev/null || true
}
# summarise MODE DIR: counts the results automake recorded
summary() {
	p=$(results "$2" | grep -c ':test-result: PASS' || true)
	f=$(results "$2" | grep -c ':test-result: \(FAIL\|ERROR\|XPASS\)' || true)
	s=$(results "$2" | grep -c ':test-result: SKIP' || true)
	echo "$1: $p passed, $f failed, $s skipped (logs in $2/tests)"
	PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
	for t in "$2"/tests/*.trs; do
		[ -f "$t" ] && grep -q ':test-result: SKIP' "$t" || continue
		log=${t%.trs}.log
		# the test's own last word, not automake's trailer
		why=$(grep -v -E '^(PASS|SKIP|FAIL|ERROR|XFAIL|XPASS) .*\(exit status: [0-9]+\)$' "$log" |
			grep -v '^[[:space:]]*$' | tail -n 1)
		SKIPS="$SKIPS
  $1: $(basename "${t%.trs}"): ${why:-no reason given}"
	done
}
# check DIR ARGS: make check, showing the logs of failures
check() {
	dir=$1; shift
	if ! make -C "$dir" -j"$jobs" check "$@"; then
		for l in "$dir"/tests/*.log; do
			grep -q '^:test-result: \(FAIL\|ERROR\)' "${l%.log}.trs" 2>/dev/null &&
				{ echo "==== $l"; tail -50 "$l"; }
		done
		return 1
	fi
}
# build DIR CONFIGURE-ARGS: configures (once) and builds DIR
build() {
	dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && "$top"/configure -q "$@")
	make -C "$dir" -j"$jobs" > /dev/null
}
PASSED=0 FAILED=0 SKIPPED=0 SKIPS=

echo "== -Werror build, make check (build/plain)"
build build/plain --enable-werror --enable-valgrind --enable-fuzz=yes
check build/plain
summary plain build/plain

echo "== valgrind memcheck (build/valgrind)"
build build/valgrind --enable-werror --enable-valgrind
check build/valgrind PMEM_TEST_VALGRIND=1
summary valgrind build/valgrind

echo "== AddressSanitizer + UBSan (build/asan)"
build build/asan --enable-werror --enable-sanitizers
check build/asan
summary asan build/asan

echo "== make distcheck (build/plain)"
make -C build/plain -j"$jobs" distcheck > build/distcheck.log 2>&1 || {
	tail -60 build/distcheck.log; exit 1; }
grep -A3 'archives ready for distribution' build/distcheck.log

if [ -n "$SKIPS" ]; then
	echo "skipped, and why:$SKIPS"
fi
echo "all: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]

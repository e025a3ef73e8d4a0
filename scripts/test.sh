#!/bin/sh
# Builds and runs every test: -Werror build and `make check`; the same
# suites under valgrind memcheck; an ASan+UBSan build and `make check`;
# `make distcheck`.  Prints one closing line with the counts.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=${JOBS:-2}
./autogen.sh > /dev/null 2>&1

# summarise MODE DIR: counts the results automake recorded
summary() {
	p=$(cat "$2"/tests/*.trs "$2"/*.trs 2>/dev/null | grep -c ':test-result: PASS' || true)
	f=$(cat "$2"/tests/*.trs "$2"/*.trs 2>/dev/null | grep -c ':test-result: \(FAIL\|ERROR\|XPASS\)' || true)
	s=$(cat "$2"/tests/*.trs "$2"/*.trs 2>/dev/null | grep -c ':test-result: SKIP' || true)
	echo "$1: $p passed, $f failed, $s skipped"
	PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
}
# check DIR ARGS: make check, showing the logs of failures
check() {
	dir=$1; shift
	if ! make -C "$dir" -j"$jobs" check "$@"; then
		for l in "$dir"/tests/*.log; do
			grep -q '^FAIL\|^ERROR' "${l%.log}.trs" 2>/dev/null &&
				{ echo "==== $l"; tail -50 "$l"; }
		done
		return 1
	fi
}
PASSED=0 FAILED=0 SKIPPED=0

echo "== -Werror build, make check"
mkdir -p build/plain
(cd build/plain && "$top"/configure -q --enable-werror --enable-valgrind)
make -C build/plain -j"$jobs" > /dev/null
check build/plain
summary plain build/plain

echo "== valgrind memcheck"
check build/plain PMEM_TEST_VALGRIND=1
summary valgrind build/plain

echo "== AddressSanitizer + UBSan"
mkdir -p build/asan
(cd build/asan && "$top"/configure -q --enable-werror --enable-sanitizers)
make -C build/asan -j"$jobs" > /dev/null
check build/asan
summary asan build/asan

echo "== make distcheck"
make -C build/plain -j"$jobs" distcheck > build/distcheck.log 2>&1 || {
	tail -60 build/distcheck.log; exit 1; }
grep -A3 'archives ready for distribution' build/distcheck.log

echo "all: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]

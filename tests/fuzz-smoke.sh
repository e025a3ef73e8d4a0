#!/bin/sh
# The bank fuzz target, briefly: fuzz/make-corpus must still write exactly
# the committed seed corpus (and every seed must open as it says), then
# fuzz/pmm_bank_fuzz runs over that corpus and on for about 20,000
# executions (60 s at most), with no crash.  Skips when configure built no
# fuzz target (no clang that links -fsanitize=fuzzer).
# FUZZ_SMOKE_RUNS and FUZZ_SMOKE_SECONDS change the length of the run.
set -eu
gen="$top_builddir/fuzz/make-corpus"
fuzzer="$top_builddir/fuzz/pmm_bank_fuzz"
corpus="$top_srcdir/fuzz/corpus"
runs=${FUZZ_SMOKE_RUNS:-20000}
seconds=${FUZZ_SMOKE_SECONDS:-60}

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$base/pmm-test-fuzz-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/fresh" "$tmp/work" "$tmp/banks"

# The committed corpus is what the generator writes today (the generator
# runs under valgrind memcheck with PMEM_TEST_VALGRIND=1, as in run.sh).
vg=
if [ "${PMEM_TEST_VALGRIND:-0}" = 1 ] && [ -n "${VALGRIND:-}" ]; then
	vg="$LIBTOOL --mode=execute $VALGRIND -q --error-exitcode=99 \
		--leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --child-silent-after-fork=yes"
fi
PMM_DIR="$tmp/banks" $vg "$gen" "$tmp/fresh"
if ! diff -r "$corpus" "$tmp/fresh" >"$tmp/diff" 2>&1; then
	cat "$tmp/diff"
	echo "fuzz/corpus is stale (the bank layout or the index changed):"
	echo "  rm -f fuzz/corpus/* && <builddir>/fuzz/make-corpus fuzz/corpus"
	exit 1
fi

if [ ! -x "$fuzzer" ]; then
	echo "fuzz/pmm_bank_fuzz not built (configure --enable-fuzz needs clang with libFuzzer)"
	exit 77
fi

# New inputs go to a scratch directory; the corpus is only read.
if ! "$fuzzer" -runs="$runs" -max_total_time="$seconds" -timeout=20 \
		-print_final_stats=1 -artifact_prefix="$tmp/" \
		"$tmp/work" "$corpus" >"$tmp/log" 2>&1; then
	tail -n 60 "$tmp/log"
	for f in "$tmp"/crash-* "$tmp"/timeout-* "$tmp"/leak-* "$tmp"/oom-*; do
		[ -f "$f" ] && echo "reproducer: $f (kept as $(basename "$f"))" &&
			cp "$f" "./fuzz-smoke-$(basename "$f")"
	done
	exit 1
fi
grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
	"$tmp/log"

#!/bin/sh
# The copy routines through the real environment: the public-API memops
# cases of test_persist (every flag combination, overlap, guards) run once
# per instruction set x flush path, each forced by the PMDK variables that
# a user would set, and pmem-info confirms the path each run got.
set -eu
suite="$top_builddir/tests/test_persist"
info="$top_builddir/tools/pmem-info"
fail() { echo "FAIL: $*"; exit 1; }
has() { "$info" --json | grep -q "\"$1\":1"; }

runs=0
for isa in avx512f avx2 sse2 generic libc; do
	case $isa in
	avx512f) has avx512f || { echo "skipped $isa: CPU lacks it"; continue; }
		isa_env="" ;;
	avx2) has avx2 || { echo "skipped $isa: CPU lacks it"; continue; }
		isa_env="PMEM_AVX512F=0" ;;
	sse2) isa_env="PMEM_AVX512F=0 PMEM_AVX=0" ;;
	generic) isa_env="PMEM_NO_MOVNT=1" ;;
	libc) isa_env="PMEM_NO_MOVNT=1 PMEM_NO_GENERIC_MEMCPY=1" ;;
	esac
	for fl in clwb clflushopt clflush noflush; do
		case $fl in
		clwb) has clwb || { echo "skipped $fl: CPU lacks it"; continue; }
			fl_env="" ;;
		clflushopt) has clflushopt ||
				{ echo "skipped $fl: CPU lacks it"; continue; }
			fl_env="PMEM_NO_CLWB=1" ;;
		clflush) fl_env="PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1" ;;
		noflush) fl_env="PMEM_NO_FLUSH=1" ;;
		esac
		# shellcheck disable=SC2086
		got=$(env $isa_env $fl_env "$info" --json |
			sed -n 's/.*"memmove":"\([^"]*\)".*/\1/p')
		want="$isa+$fl"
		[ "$isa" = libc ] && want="libc+flush"
		[ "$got" = "$want" ] || fail "$isa_env $fl_env: path $got, want $want"
		# shellcheck disable=SC2086
		env $isa_env $fl_env CK_RUN_CASE=memops "$suite" > /dev/null 2>&1 ||
			fail "test_persist memops on $want ($isa_env $fl_env)"
		echo "ok: $want"
		runs=$((runs + 1))
	done
done
[ "$runs" -gt 0 ] || fail "no path ran"
echo "env-paths: $runs paths"

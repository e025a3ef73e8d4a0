#!/bin/sh
# Each PMDK environment override forces its path at load: pmem-info shows
# the choice, PMEM_LOG_LEVEL logs it, and the demonstration runs on it.
set -eu
info="$top_builddir/tools/pmem-info"
demo="$top_builddir/examples/pmem-demo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

json() { env "$@" "$info" --json; }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }

base=$(json)
clwb=$(echo "$base" | sed -n 's/.*"clwb":\([01]\).*/\1/p')
opt=$(echo "$base" | sed -n 's/.*"clflushopt":\([01]\).*/\1/p')
best=clflush
[ "$opt" = 1 ] && best=clflushopt
[ "$clwb" = 1 ] && best=clwb
[ "$(echo "$base" | field flush)" = "$best" ] ||
	fail "priority flush is not $best: $base"

# the default is the priority; with PMEM_FLUSH_CALIBRATE=1 the flush is
# one the CPU has, measured
[ "$(json | field flush)" = "$best" ] || fail "default flush is not $best"
json | grep -q '"calibration":{"measured":false' ||
	fail "calibration ran without PMEM_FLUSH_CALIBRATE=1"
cal=$(json PMEM_FLUSH_CALIBRATE=1)
cflush=$(echo "$cal" | field flush)
case $cflush in
clwb) [ "$clwb" = 1 ] || fail "calibration chose clwb, CPU lacks it" ;;
clflushopt) [ "$opt" = 1 ] || fail "calibration chose clflushopt" ;;
clflush) ;;
*) fail "calibration chose '$cflush'" ;;
esac
if [ "$clwb" = 1 ] || [ "$opt" = 1 ]; then
	echo "$cal" | grep -q '"calibration":{"measured":true' ||
		fail "no calibration measured: $cal"
fi
echo "calibrated flush: $cflush"

check() {	# expected-flush expected-memmove env...
	want_flush=$1 want_move=$2
	shift 2
	out=$(json "$@")
	[ "$(echo "$out" | field flush)" = "$want_flush" ] ||
		fail "$*: flush $(echo "$out" | field flush), want $want_flush"
	[ "$(echo "$out" | field memmove)" = "$want_move" ] ||
		fail "$*: memmove $(echo "$out" | field memmove), want $want_move"
	env "$@" "$demo" "$tmp" > "$tmp/demo.out" 2>&1 || {
		cat "$tmp/demo.out"; fail "demo fails with $*"; }
	echo "ok: $* -> $want_flush, $want_move"
}

feat() { echo "$base" | sed -n "s/.*\"$1\":\([01]\).*/\1/p"; }
isa=sse2
[ "$(feat avx2)" = 1 ] && isa=avx2
[ "$(feat avx512f)" = 1 ] && isa=avx512f
isa_no512=sse2
[ "$(feat avx2)" = 1 ] && isa_no512=avx2

second=clflush
[ "$opt" = 1 ] && second=clflushopt
check "$best" "$isa+$best" PMEM_NONE=1
check "$second" "$isa+$second" PMEM_NO_CLWB=1
check clflush "$isa+clflush" PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1
check "$best" "$isa+noflush" PMEM_NO_FLUSH=1
check "$best" "$isa+$best" PMEM_NO_FLUSH=0
check "$best" "$isa_no512+$best" PMEM_AVX512F=0
check "$best" "sse2+$best" PMEM_AVX=0 PMEM_AVX512F=0
check "$best" "generic+$best" PMEM_NO_MOVNT=1
check "$best" libc+flush PMEM_NO_MOVNT=1 PMEM_NO_GENERIC_MEMCPY=1

[ "$(json PMEM_NO_FLUSH=1 | field flush_skipped)" = true ] ||
	fail "PMEM_NO_FLUSH=1 does not skip flushes"
[ "$(json PMEM_MOVNT_THRESHOLD=4096 | field movnt_threshold)" = 4096 ] ||
	fail "PMEM_MOVNT_THRESHOLD not read"

# PMEM_MMAP_HINT places mappings at the (aligned) address it names
PMEM_MMAP_HINT=7e0000000000 "$demo" "$tmp" > "$tmp/hint.out" 2>&1 ||
	fail "demo fails with PMEM_MMAP_HINT"
grep -q "bytes at 0x7e0000000000," "$tmp/hint.out" || {
	cat "$tmp/hint.out"; fail "PMEM_MMAP_HINT not honoured"; }
PMEM_MMAP_HINT=7e0000000001 "$demo" "$tmp" > "$tmp/hint.out" 2>&1 ||
	fail "demo fails with an unaligned PMEM_MMAP_HINT"
grep -q "bytes at 0x7e0000200000," "$tmp/hint.out" || {
	cat "$tmp/hint.out"; fail "unaligned PMEM_MMAP_HINT not rounded up"; }

# the debug log names the choice; a trailing '-' appends the pid
PMEM_LOG_LEVEL=3 PMEM_NO_CLWB=1 "$info" \
	> /dev/null 2> "$tmp/log"
grep -q "<libpmem>: <3> flush $second" "$tmp/log" || {
	cat "$tmp/log"; fail "log level 3 does not show the flush"; }
PMEM_LOG_LEVEL=3 PMEM_LOG_FILE="$tmp/pmem.log-" "$info" > /dev/null
ls "$tmp"/pmem.log-[0-9]* > /dev/null 2>&1 || fail "no per-pid log file"
grep -q "libpmem 1.1" "$tmp"/pmem.log-[0-9]* || fail "log file empty"
PMEM_LOG_LEVEL=0 "$info" > /dev/null 2> "$tmp/quiet"
[ ! -s "$tmp/quiet" ] || fail "log level 0 is not quiet"

"$info" --bogus > /dev/null 2>&1 && fail "pmem-info accepts --bogus"
"$info" --help | grep -q usage || fail "pmem-info --help"
echo "env-dispatch: ok"

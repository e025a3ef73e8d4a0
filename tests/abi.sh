#!/bin/sh
# The ABI of libpmem.so.1: soname, exactly PMDK's 26 functions under
# LIBPMEM_1.0 (PMDK 1.12's 23, which Debian's library must still have
# exactly, and the three log calls PMDK 2.1 added) plus the six 0.8-only
# calls under LIBPMEM_0.8 and the SNIA NVM.PM.FILE calls under
# LIBPMEM_SNIA_1.0, nothing else; a program linked against
# Debian's PMDK 1.12 and one using the 2.1 calls both resolve and run on
# ours; the static library and the pkg-config file.
set -eu
lib="$top_builddir/libpmem/.libs/libpmem.so.1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

[ -f "$lib" ] || fail "$lib not built"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = libpmem.so.1 ] || fail "soname is '$soname'"

LC_ALL=C sort > "$tmp/want-1.12" <<'LIST'
pmem_check_version
pmem_deep_drain
pmem_deep_flush
pmem_deep_persist
pmem_drain
pmem_errormsg
pmem_flush
pmem_has_auto_flush
pmem_has_hw_drain
pmem_is_pmem
pmem_map_file
pmem_memcpy
pmem_memcpy_nodrain
pmem_memcpy_persist
pmem_memmove
pmem_memmove_nodrain
pmem_memmove_persist
pmem_memset
pmem_memset_nodrain
pmem_memset_persist
pmem_msync
pmem_persist
pmem_unmap
LIST
LC_ALL=C sort > "$tmp/want-2.1" <<'LIST'
pmem_log_get_threshold
pmem_log_set_function
pmem_log_set_threshold
LIST
[ "$(wc -l < "$tmp/want-1.12")" -eq 23 ] || fail "the 1.12 list is not 23"
LC_ALL=C sort -u "$tmp/want-1.12" "$tmp/want-2.1" > "$tmp/want-1.0"
[ "$(wc -l < "$tmp/want-1.0")" -eq 26 ] || fail "23 + 3 is not 26"
LC_ALL=C sort > "$tmp/want-0.8" <<'LIST'
pmem_drain_pm_stores
pmem_fence
pmem_fit_mode
pmem_flush_cache
pmem_map
pmem_msync_mode
LIST

# the SNIA NVM.PM.FILE calls, under their own node (issue 12)
LC_ALL=C sort > "$tmp/want-snia" <<'LIST'
pmem_badblocks_clear
pmem_badblocks_get
pmem_error_event_get
pmem_error_event_register
pmem_error_event_unregister
pmem_get_attrs
pmem_persist_verify
LIST

# defined dynamic symbols as "name version" (objdump prints the version
# in parentheses or bare, depending on whether it is hidden)
objdump -T "$lib" | awk '$0 ~ / DF / || $0 ~ / DO / {
	if ($0 ~ /\*UND\*/ || $0 ~ /\*ABS\*/) next
	print $NF, $(NF-1) }' | sed 's/[()]//g' | LC_ALL=C sort > "$tmp/have"
awk '$2 == "LIBPMEM_1.0" { print $1 }' "$tmp/have" > "$tmp/have-1.0"
awk '$2 == "LIBPMEM_0.8" { print $1 }' "$tmp/have" > "$tmp/have-0.8"
awk '$2 == "LIBPMEM_SNIA_1.0" { print $1 }' "$tmp/have" > "$tmp/have-snia"
diff -u "$tmp/want-1.0" "$tmp/have-1.0" || fail "LIBPMEM_1.0 differs"
diff -u "$tmp/want-0.8" "$tmp/have-0.8" || fail "LIBPMEM_0.8 differs"
diff -u "$tmp/want-snia" "$tmp/have-snia" || fail "LIBPMEM_SNIA_1.0 differs"
n=$(wc -l < "$tmp/have")
want=$(cat "$tmp/want-1.0" "$tmp/want-0.8" "$tmp/want-snia" | wc -l)
[ "$n" -eq "$want" ] ||
	{ cat "$tmp/have"; fail "$n exported functions, want $want"; }
# the SNIA node depends on LIBPMEM_1.0 (objdump -p: "Version definitions")
objdump -p "$lib" | awk '/Version definitions/ { on = 1; next }
	on && /^$/ { exit } on { print }' > "$tmp/verdef"
grep -A1 'LIBPMEM_SNIA_1.0' "$tmp/verdef" | grep -q 'LIBPMEM_1.0' ||
	{ cat "$tmp/verdef"; fail "LIBPMEM_SNIA_1.0 does not depend on LIBPMEM_1.0"; }
echo "exports: $(wc -l < "$tmp/want-1.0") under LIBPMEM_1.0," \
	"$(wc -l < "$tmp/want-0.8") under LIBPMEM_0.8," \
	"$(wc -l < "$tmp/want-snia") under LIBPMEM_SNIA_1.0, nothing else"

# no other global symbol of any kind (data, internals with pmem__)
others=$(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' |
	sed 's/@.*//' | grep -v -x -f "$tmp/want-1.0" |
	grep -v -x -f "$tmp/want-0.8" | grep -v -x -f "$tmp/want-snia" || true)
[ -z "$others" ] || fail "unexpected exports: $others"

# the same 23 names as PMDK 1.12's library, when it is installed
sys=
for f in /usr/lib/x86_64-linux-gnu/libpmem.so.1 /usr/lib64/libpmem.so.1; do
	[ -f "$f" ] || continue
	sys=$f
	objdump -T "$sys" | awk '/ DF / && !/\*UND\*/ { print $NF }' |
		LC_ALL=C sort > "$tmp/pmdk"
	diff -u "$tmp/pmdk" "$tmp/want-1.12" || fail "differs from $sys"
	echo "same 23 functions as $sys"
done

# An ASan-built library in a program that is not: its runtime goes first.
preload=
if [ -n "${SAN_CFLAGS:-}" ]; then
	preload=$($CC -print-file-name=libasan.so)
	export ASAN_OPTIONS=detect_leaks=0
fi
# run_ours NAME PROGRAM: runs it on our library, every symbol bound at
# start (a missing one fails the load), with our load banner on.
run_ours() {
	LD_LIBRARY_PATH="$top_builddir/libpmem/.libs" LD_BIND_NOW=1 \
		LD_PRELOAD=$preload PMEM_LOG_LEVEL=3 "$2" \
		> "$tmp/$1.out" 2> "$tmp/$1.err" ||
		{ cat "$tmp/$1.out" "$tmp/$1.err"; fail "$1 did not run on ours"; }
	grep -q '<libpmem>: <3> libpmem [0-9.]* (pmem-stack' "$tmp/$1.err" ||
		{ cat "$tmp/$1.err"; fail "$1 did not load our libpmem"; }
}

# A program built and linked against Debian's PMDK 1.12 (its header, its
# libpmem.so) that refers to each of the 23 resolves and runs on ours.
if [ -n "$sys" ] && [ -f /usr/include/libpmem.h ] && [ -n "${CC:-}" ]; then
	{
		echo '#include <libpmem.h>'
		echo '#include <stdio.h>'
		echo 'static void (*const fns[])(void) = {'
		sed 's/.*/	(void (*)(void))&,/' "$tmp/want-1.12"
		echo '};'
		echo 'int main(void) { const char *e = pmem_check_version(1, 0);'
		echo '	printf("%zu %s\n", sizeof(fns) / sizeof(fns[0]),'
		echo '		e ? e : "ok"); return e != NULL; }'
	} > "$tmp/pmdk112.c"
	$CC -o "$tmp/pmdk112" "$tmp/pmdk112.c" "$sys" ||
		fail "cannot build against $sys"
	objdump -T "$tmp/pmdk112" | grep -q 'LIBPMEM_1.0.*pmem_unmap' ||
		fail "the PMDK 1.12 program does not refer to LIBPMEM_1.0"
	run_ours pmdk112 "$tmp/pmdk112"
	[ "$(cat "$tmp/pmdk112.out")" = "23 ok" ] ||
		fail "PMDK 1.12 program printed '$(cat "$tmp/pmdk112.out")'"
	echo "a program linked against $sys runs on ours"
else
	echo "SKIP part: no PMDK 1.12 libpmem-dev to link against" \
		"(apt-get install libpmem-dev)"
fi

# A program using PMDK 2.1's log calls refers to them as LIBPMEM_1.0@,
# as one built against PMDK 2.1 does, and they work.
if [ -n "${CC:-}" ]; then
	cat > "$tmp/pmdk21.c" <<'EOF2'
#include <libpmem.h>
#include <stdio.h>
static int calls;
static void fn(enum pmem_log_level l, const char *f, unsigned n,
	const char *fun, const char *m)
{ (void)f; (void)n; (void)fun; (void)m; calls += l == PMEM_LOG_LEVEL_ERROR; }
int main(void)
{
	enum pmem_log_level v;
	size_t len;
	if (pmem_log_set_function(fn) != 0 ||
	    pmem_log_set_threshold(PMEM_LOG_THRESHOLD, PMEM_LOG_LEVEL_ERROR) ||
	    pmem_log_get_threshold(PMEM_LOG_THRESHOLD, &v) ||
	    v != PMEM_LOG_LEVEL_ERROR)
		return 1;
	if (pmem_map_file("/nonexistent-dir/x", 0, 0, 0, &len, NULL) != NULL)
		return 2;
	printf("%d\n", calls);
	return pmem_log_set_function(PMEM_LOG_USE_DEFAULT_FUNCTION);
}
EOF2
	$CC $SAN_CFLAGS -I"$top_srcdir/include" -o "$tmp/pmdk21" "$tmp/pmdk21.c" \
		-L"$top_builddir/libpmem/.libs" -lpmem ||
		fail "cannot build the 2.1 log program"
	for s in $(cat "$tmp/want-2.1"); do
		objdump -T "$tmp/pmdk21" | grep -q "(LIBPMEM_1.0) *$s\$" ||
			fail "the 2.1 program does not refer to $s@LIBPMEM_1.0"
	done
	preload_save=$preload
	preload=	# built with $SAN_CFLAGS: it brings its own runtime
	run_ours pmdk21 "$tmp/pmdk21"
	preload=$preload_save
	[ "$(cat "$tmp/pmdk21.out")" = 1 ] ||
		fail "2.1 program: log function called '$(cat "$tmp/pmdk21.out")' times, want 1"
	echo "a program using PMDK 2.1's log calls runs on ours"
fi

# the static library carries both faces
a="$top_builddir/libpmem/.libs/libpmem.a"
[ -f "$a" ] || fail "libpmem.a not built"
for s in pmem_persist pmem_map_file pmem_map pmem_fit_mode; do
	nm "$a" | grep -q " T $s\$" || fail "$s missing from libpmem.a"
done

# pkg-config
pc="$top_builddir/libpmem.pc"
[ -f "$pc" ] || fail "libpmem.pc missing"
PKG_CONFIG_PATH="$top_builddir" pkg-config --libs libpmem | grep -q -- -lpmem ||
	fail "pkg-config --libs libpmem lacks -lpmem"
echo "abi: ok"

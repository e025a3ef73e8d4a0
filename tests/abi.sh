#!/bin/sh
# The ABI of libpmem.so.1: soname, exactly PMDK's 23 functions under
# LIBPMEM_1.0 plus the six 0.8-only calls under LIBPMEM_0.8, nothing else;
# the static library and the pkg-config file.
set -eu
lib="$top_builddir/libpmem/.libs/libpmem.so.1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

[ -f "$lib" ] || fail "$lib not built"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = libpmem.so.1 ] || fail "soname is '$soname'"

LC_ALL=C sort > "$tmp/want-1.0" <<'LIST'
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
LC_ALL=C sort > "$tmp/want-0.8" <<'LIST'
pmem_drain_pm_stores
pmem_fence
pmem_fit_mode
pmem_flush_cache
pmem_map
pmem_msync_mode
LIST

# defined dynamic symbols as "name version" (objdump prints the version
# in parentheses or bare, depending on whether it is hidden)
objdump -T "$lib" | awk '$0 ~ / DF / || $0 ~ / DO / {
	if ($0 ~ /\*UND\*/ || $0 ~ /\*ABS\*/) next
	print $NF, $(NF-1) }' | sed 's/[()]//g' | LC_ALL=C sort > "$tmp/have"
awk '$2 == "LIBPMEM_1.0" { print $1 }' "$tmp/have" > "$tmp/have-1.0"
awk '$2 == "LIBPMEM_0.8" { print $1 }' "$tmp/have" > "$tmp/have-0.8"
diff -u "$tmp/want-1.0" "$tmp/have-1.0" || fail "LIBPMEM_1.0 differs"
diff -u "$tmp/want-0.8" "$tmp/have-0.8" || fail "LIBPMEM_0.8 differs"
n=$(wc -l < "$tmp/have")
[ "$n" -eq 29 ] || { cat "$tmp/have"; fail "$n exported functions, want 29"; }
echo "exports: 23 under LIBPMEM_1.0, 6 under LIBPMEM_0.8, nothing else"

# no other global symbol of any kind (data, internals with pmem__)
others=$(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' |
	sed 's/@.*//' | grep -v -x -f "$tmp/want-1.0" |
	grep -v -x -f "$tmp/want-0.8" || true)
[ -z "$others" ] || fail "unexpected exports: $others"

# the same 23 names as PMDK's library, when it is installed
for sys in /usr/lib/x86_64-linux-gnu/libpmem.so.1 /usr/lib64/libpmem.so.1; do
	[ -f "$sys" ] || continue
	objdump -T "$sys" | awk '/ DF / && !/\*UND\*/ { print $NF }' |
		LC_ALL=C sort > "$tmp/pmdk"
	diff -u "$tmp/pmdk" "$tmp/want-1.0" || fail "differs from $sys"
	echo "same 23 functions as $sys"
done

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

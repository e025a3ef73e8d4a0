#!/bin/sh
# The ABI of libpmem.so.1: soname, exactly PMDK's 23 functions under
# LIBPMEM_1.0 plus the six 0.8-only calls under LIBPMEM_0.8 and the SNIA
# NVM.PM.FILE calls under LIBPMEM_SNIA_1.0, nothing else;
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

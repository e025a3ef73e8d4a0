#!/bin/sh
# pmem-info --badblocks: lists the bad ranges of a Device DAX from its
# region's sysfs list (a fake tree whose character device is /dev/null's
# numbers), as text and JSON; a file on a device with no list has none;
# errors are reported with the library's message and exit 1.
set -eu
info="$top_builddir/tools/pmem-info"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

dev=$(stat -c '%t:%T' /dev/null)
dev=$(printf '%d:%d' "0x${dev%:*}" "0x${dev#*:}")
d="$root/devices/platform/ndbus0/region4/dax4.0/dax/dax4.0"
mkdir -p "$d" "$root/bus/dax" "$root/dev/char"
ln -s ../../../../../../../bus/dax "$d/subsystem"
echo 1073741824 > "$d/size"
echo 0x100000000 > "$root/devices/platform/ndbus0/region4/resource"
echo 0x101000000 > "$root/devices/platform/ndbus0/region4/dax4.0/resource"
printf '32776 8\n40960 1\n' > "$root/devices/platform/ndbus0/region4/badblocks"
ln -s ../../devices/platform/ndbus0/region4/dax4.0/dax/dax4.0 \
	"$root/dev/char/$dev"

out=$(PMEM_SYSFS_ROOT="$root" "$info" --badblocks /dev/null)
echo "$out"
echo "$out" | grep -q '^/dev/null: 2 bad ranges$' || fail "count"
echo "$out" | grep -q '^  offset 4096 length 4096$' || fail "first range"
echo "$out" | grep -q '^  offset 4194304 length 512$' || fail "second range"

out=$(PMEM_SYSFS_ROOT="$root" "$info" --json --badblocks /dev/null)
echo "$out"
[ "$out" = '[{"path":"/dev/null","badblocks":[{"offset":4096,"length":4096},{"offset":4194304,"length":512}]}]' ] ||
	fail "json"

# clearing a Device DAX goes to its bus (libndctl): none here has region
# 4, or there is no libndctl; said, exit 1
if PMEM_SYSFS_ROOT="$root" "$info" --badblocks --clear /dev/null 2>"$root/err"; then
	fail "clear of a character device succeeded"
fi
grep -q 'region 4' "$root/err" || fail "no reason given: $(cat "$root/err")"

# a regular file here: no list, nothing bad; clearing nothing succeeds
f="$root/file"
head -c 8192 /dev/zero > "$f"
"$info" --badblocks --clear "$f" | grep -q ': 0 bad ranges, cleared$' ||
	fail "plain file"

# errors: a missing file, no file at all
if "$info" --badblocks "$root/missing" 2>"$root/err"; then
	fail "missing file accepted"
fi
grep -q 'open' "$root/err" || fail "no message: $(cat "$root/err")"
if "$info" --badblocks 2>/dev/null; then fail "no file accepted"; fi
echo "pmem-info --badblocks: ok"

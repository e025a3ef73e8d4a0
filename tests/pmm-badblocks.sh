#!/bin/sh
# libpmm on a medium with bad ranges: a fake sysfs tree gives the device
# of the build directory's file system a badblocks list (filled by
# tests/test_pmm_bad through FIEMAP of the bank file); retrieving a block
# on it gives K_EMEDIA, pmmctl check names it and exits 1.
set -eu
here=$(pwd)
root=$(mktemp -d "$here/pmm-bad-sys.XXXXXX")
dir=$(mktemp -d "$here/pmm-bad-dir.XXXXXX")
trap 'rm -rf "$root" "$dir" "$dir.conf"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# the file system's device (a whole disk, as far as the tree says)
mkdir -p "$root/devices/disk" "$root/dev/block"
ln -s ../../devices/disk "$root/dev/block/$(stat -c '%Hd:%Ld' "$dir")"
: > "$root/devices/disk/badblocks"

: > "$dir.conf"
export PMEM_SYSFS_ROOT="$root" PMM_DIR="$dir" PMM_CONF="$dir.conf"
unset PMM_TUNABLES HRCTL_GROUP || true

# FIEMAP places the bad range: without it, say so and skip
"$top_builddir/tests/test_pmm_bad" --probe || exit $?
sh "$top_srcdir/tests/run.sh" "$top_builddir/tests/test_pmm_bad"

# pmmctl check names a block that lies on the bad range
sector=$("$top_builddir/tests/test_pmm_bad" --place lost) ||
	fail "placing a block: $sector"
echo "$sector 8" > "$root/devices/disk/badblocks"
if "$top_builddir/tools/pmmctl" check 2>"$dir/err"; then
	fail "pmmctl check passed a block on a bad range"
else
	st=$?
fi
cat "$dir/err"
[ "$st" -eq 1 ] || fail "exit status $st, want 1"
grep -q '"lost"' "$dir/err" || fail "the block is not named"
grep -q 'bad range' "$dir/err" || fail "no reason"
: > "$root/devices/disk/badblocks"
"$top_builddir/tools/pmmctl" check || fail "sound bank reported damaged"
echo "pmm-badblocks: ok"

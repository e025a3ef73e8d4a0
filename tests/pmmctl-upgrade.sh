#!/bin/sh
# pmmctl upgrade on layout-1 banks that tests/pmm_v1bank writes byte for
# byte: every block retrieved through pmmAllocate at its old address with
# its bytes, pmmctl list and check agree, a second upgrade says "already
# layout 2", a committed pmmFreeAll is finished, damaged banks are refused
# and left as they were, a small bank whose index cannot fit gains free
# pages, a bank in use is refused, and a full file system gives an error
# with the old bank intact.  The last part needs root to mount a tmpfs.
set -eu
me=upgrade
v1_bin="$top_builddir/tests/pmm_v1bank"
[ -x "$v1_bin" ] || { echo "tests/pmm_v1bank not built"; exit 77; }
. "$top_srcdir/tests/pmmctl-lib.sh"
v1() { $wrap "$v1_bin" "$@"; }

PMM_CONF="$tmp/pmm.conf"
export PMM_CONF
: > "$PMM_CONF"
bank="$PMM_DIR/RAM.pmm"

# migrated SIZE MAXBLOCKS MODE: the upgraded bank holds the blocks
migrated() {
	expect 0 ctl check
	expect 0 v1 check "$@"
	v1 list "$@" > "$tmp/want"
	expect 0 ctl list
	# NAME SIZE KEY ADDRESS PAGES -> NAME ADDRESS PAGES KEY
	awk 'NR > 1 { k = $3; gsub(/"|\\0/, "", k); print $1, $4, $5, k }' \
		"$tmp/out" > "$tmp/got"
	cmp -s "$tmp/want" "$tmp/got" ||
		fail "pmmctl list: $(cat "$tmp/got"), want $(cat "$tmp/want")"
}

# ------------------------------------------------- a plain bank
v1 make "$bank" 0x100000 30 plain
expect 1 ctl list
has "layout version 1" err
has "pmmctl upgrade" err
expect 0 ctl upgrade
has "5 blocks at their addresses" out
hasnt "maxBlocks" out
migrated 0x100000 30 plain
expect 3 ctl upgrade
has "already layout 2" err
cp "$bank" "$tmp/v2.pmm"
expect 3 ctl -f "$tmp/v2.pmm" upgrade
rm -f "$tmp/v2.pmm"
[ "$(ls "$PMM_DIR")" = RAM.pmm ] || fail "left in the bank directory: $(ls "$PMM_DIR")"

# ------------------- an unfinished pmmFreeAll: finished in the new bank
rm -f "$bank"
v1 make "$bank" 0x100000 30 log
expect 0 ctl upgrade
has "3 blocks" out
migrated 0x100000 30 log

# ------------------------------- a larger bank, fewer entries fit
rm -f "$bank"
v1 make "$bank" 0x400000 1000 plain
expect 0 ctl upgrade
has "pmm.maxBlocks is now" out
migrated 0x400000 1000 plain

# -------- a small bank whose index only fits with pages added on top
rm -f "$bank"
v1 make "$bank" 0x2000000 2284 plain
expect 0 ctl upgrade
has "pmm.rambankSize is now" out
migrated 0x2000000 2284 plain

# ------------------------------- damaged banks: refused, unchanged
for mode in badentry badlog overlap; do
	rm -f "$bank"
	v1 make "$bank" 0x100000 30 "$mode"
	cp "$bank" "$tmp/before"
	expect 1 ctl upgrade
	has "layout-1 bank damaged" err
	cmp -s "$bank" "$tmp/before" || fail "$mode: the bank changed"
done
has "share page" err
printf 'not a bank at all\n' > "$bank"
expect 1 ctl upgrade
has "not a bank" err

# ------------------- in use (a shared flock, as libpmm holds it): refused
rm -f "$bank"
v1 make "$bank" 0x100000 30 plain
cp "$bank" "$tmp/before"
if command -v flock > /dev/null; then
	# one process that holds the lock: killing it releases it
	sh -c 'exec 9< "$1"; flock -s 9; exec sleep 60' sh "$bank" &
	holder=$!
	tries=0
	until ! flock -n -x "$bank" true; do
		tries=$((tries + 1))
		[ "$tries" -lt 100 ] || fail "the holder never locked the bank"
		sleep 0.05
	done
	expect 2 ctl upgrade
	has "in use" err
	kill "$holder"
	wait "$holder" 2> /dev/null || :
	cmp -s "$bank" "$tmp/before" || fail "a bank in use changed"
	expect 0 ctl upgrade
else
	echo "no flock(1): the bank-in-use part is not run"
fi

# ------------------- a full file system: an error, the old bank intact
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the full file system part needs root to mount a tmpfs"
	exit 77
fi
full="$tmp/full"
mkdir -m 700 "$full"
if ! mount -t tmpfs -o size=256k,mode=0700 pmmupgrade "$full" \
		2> "$tmp/mount.err"; then
	echo "SKIP: cannot mount a tmpfs: $(cat "$tmp/mount.err")"
	exit 77
fi
trap 'umount -l "$full" 2> /dev/null || :; rm -rf "$tmp"' EXIT INT TERM
v1 make "$full/RAM.pmm" 0x100000 30 plain
cp "$full/RAM.pmm" "$tmp/before"
expect 2 ctl -f "$full/RAM.pmm" upgrade
has "cannot size bank" err
cmp -s "$full/RAM.pmm" "$tmp/before" || fail "the bank changed on a full disk"
[ "$(ls -A "$full")" = RAM.pmm ] || fail "left on the full disk: $(ls -A "$full")"
echo "ok: upgrade"

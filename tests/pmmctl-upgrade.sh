#!/bin/sh
# pmmctl upgrade on layout-1, -2 and -3 banks that tests/pmm_v1bank
# writes byte for byte: every block retrieved through pmmAllocate at its
# old address with its bytes, pmmctl list and check agree, a second
# upgrade says "already layout 4", a committed pmmFreeAll is finished,
# damaged banks are refused
# and left as they were, a layout-3 bank is rewritten in place (its
# header alone, its tunables kept), a small bank whose index cannot fit
# gains free pages, a bank in use is refused, and a full file system gives
# an error with the old bank intact.  The last part needs root to mount a
# tmpfs.
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

# migrated SIZE MAXBLOCKS MODE: the upgraded bank holds the blocks (of
# layout 1, or as $o says)
o=
migrated() {
	expect 0 ctl check
	expect 0 v1 $o check "$@"
	v1 $o list "$@" > "$tmp/want"
	expect 0 ctl list
	# NAME SIZE KEY ADDRESS PAGES -> NAME ADDRESS PAGES KEY
	awk 'NR > 1 { k = $3; gsub(/"|\\0/, "", k); print $1, $4, $5, k }' \
		"$tmp/out" > "$tmp/got"
	cmp -s "$tmp/want" "$tmp/got" ||
		fail "pmmctl list: $(cat "$tmp/got"), want $(cat "$tmp/want")"
}

ps=$(getconf PAGESIZE)
# after PATH: the bytes of the bank at PATH after its header page
after() { tail -c +$((ps + 1)) "$1" | cksum; }

# keep: for layout 3, the bank as it is now in $tmp/before
keep() { [ "$L" != 3 ] || cp "$bank" "$tmp/before"; }

# in_place: for layout 3, the upgrade changed the header page alone and
# kept the tunables (the bank as it was is in $tmp/before)
in_place() {
	[ "$L" = 3 ] || return 0
	hasnt "rambankSize" out
	[ "$(after "$bank")" = "$(after "$tmp/before")" ] ||
		fail "layout 3: the upgrade wrote past the header page"
}

for L in 1 2 3; do
o=""
[ "$L" = 1 ] || o=-$L
# -------------------------------------- a plain bank of layout L
rm -f "$bank"
v1 $o make "$bank" 0x100000 30 plain
keep
expect 1 ctl list
has "layout version $L" err
has "pmmctl upgrade" err
expect 0 ctl upgrade
has "upgraded $bank to layout 4: 5 blocks at their addresses" out
hasnt "maxBlocks" out
in_place
migrated 0x100000 30 plain
expect 3 ctl upgrade
has "already layout 4" err
cp "$bank" "$tmp/v4.pmm"
expect 3 ctl -f "$tmp/v4.pmm" upgrade
rm -f "$tmp/v4.pmm"
[ "$(ls "$PMM_DIR")" = RAM.pmm ] || fail "left in the bank directory: $(ls "$PMM_DIR")"

# ------------------- an unfinished pmmFreeAll: finished in the new bank
rm -f "$bank"
v1 $o make "$bank" 0x100000 30 log
keep
expect 0 ctl upgrade
has "3 blocks" out
in_place
migrated 0x100000 30 log

# ----------- from 64 MiB up: the same maxBlocks, the base moved up
rm -f "$bank"
v1 $o make "$bank" 0x8000000 5000 plain
keep
expect 0 ctl upgrade
hasnt "maxBlocks" out
hasnt "rambankSize" out
in_place
migrated 0x8000000 5000 plain

# ------------------------------- damaged banks: refused, unchanged
for mode in badentry badlog dupname overlap; do
	rm -f "$bank"
	v1 $o make "$bank" 0x100000 30 "$mode"
	cp "$bank" "$tmp/before"
	expect 1 ctl upgrade
	has "layout-$L bank damaged" err
	[ "$mode" != dupname ] || has "have one name" err
	cmp -s "$bank" "$tmp/before" || fail "$mode: the bank changed"
done
has "share page" err
done

# ------- layout 3, its commit torn by a power failure (persistent memory
# stores 8 bytes at a time): the layout word and the checksum disagree,
# either way; the bank is refused naming pmmctl upgrade, which finishes it
o=-3
L=3
for mode in torn3 torn4; do
	rm -f "$bank"
	v1 -3 make "$bank" 0x100000 30 "$mode"
	keep
	expect 1 ctl list
	has "layout version 3" err
	has "pmmctl upgrade" err
	[ "$mode" = torn3 ] || has "upgrade to 4 was cut short" err
	expect 0 ctl upgrade
	has "upgraded $bank to layout 4: 5 blocks at their addresses" out
	in_place
	migrated 0x100000 30 plain
done

# ------- layout 3, pmmctl upgrade killed before each of its writes (the
# boot id line, the derived part, the commit) and before its last sync:
# a layout-3 bank, which the next upgrade finishes, or a layout-4 one
if [ -z "$wrap" ] && command -v strace > /dev/null &&
		strace -qq -o /dev/null true 2> /dev/null; then
	for at in pwrite64:1 pwrite64:2 pwrite64:3 fsync:3; do
		rm -f "$bank"
		v1 -3 make "$bank" 0x100000 30 log
		call=${at%:*}
		# (a subshell of its own, which says "Killed" to /dev/null)
		(strace -qq -o /dev/null -e trace="$call" \
			-e inject="$call:signal=SIGKILL:when=${at#*:}" \
			"$ctl_bin" upgrade; exit $?) > /dev/null 2>&1 &&
			fail "pmmctl upgrade was not killed at $at"
		if [ "$at" = fsync:3 ]; then
			expect 3 ctl upgrade
		else
			expect 1 ctl list
			has "layout version 3" err
			expect 0 ctl upgrade
			has "3 blocks" out
		fi
		migrated 0x100000 30 log
	done
else
	echo "no strace (or under valgrind): the killed upgrades are not run"
fi

# ------------- layout 3 in a file this user cannot write: refused, as it
# is upgraded in place (root writes any file: not run)
if [ "$(id -u)" != 0 ]; then
	rm -f "$bank"
	v1 -3 make "$bank" 0x100000 30 plain
	chmod 400 "$bank"
	cp "$bank" "$tmp/before"
	expect 2 ctl upgrade
	has "upgraded in place" err
	cmp -s "$bank" "$tmp/before" || fail "a read-only bank changed"
	chmod 600 "$bank"
fi

# ------- a small layout-2 bank: the smaller index ends on the same page
# with more entries
o=-2
rm -f "$bank"
v1 -2 make "$bank" 0x400000 1000 plain
expect 0 ctl upgrade
has "pmm.maxBlocks is now 1170 (was 1000)" out
hasnt "rambankSize" out
migrated 0x400000 1000 plain

# -------- a small bank whose index only fits with pages added on top
# (table and index both grow a page between two maxBlocks: the data
# offset jumps over the old one)
rm -f "$bank"
v1 -2 make "$bank" 0x1000000 2828 plain
expect 0 ctl upgrade
has "pmm.rambankSize is now 0x1001000 (was 0x1000000)" out
migrated 0x1000000 2828 plain

printf 'not a bank at all\n' > "$bank"
expect 1 ctl upgrade
has "not a bank" err
o=

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

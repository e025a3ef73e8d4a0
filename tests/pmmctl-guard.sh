#!/bin/sh
# pmmctl on the files an attacker or an accident leaves (issue 9): a copy
# taken while a process held the lock (no hang), a read-only copy (list,
# info and check open it read-only and leave it as it was), a copy that
# collides with its original (move, with its warning), a bank that is a
# symbolic link (dangling or not), and --hex with a non-hex digit.
set -eu
me=ctlguard
helper_bin="$top_builddir/tests/pmm_guard_helper"
[ -x "$helper_bin" ] || { echo "FAIL: tests/pmm_guard_helper not built"; exit 1; }
. "$top_srcdir/tests/pmmctl-lib.sh"
helper() { "$helper_bin" "$@"; }

PMM_CONF=
export PMM_CONF
bank="$PMM_DIR/RAM.pmm"

# a copy taken while the lock was held: every command finishes
expect 0 helper alloc data kept
expect 0 helper hold-copy "$tmp/held.pmm"
has "copied while locked" out
expect 0 timeout 60 "$ctl_bin" -f "$tmp/held.pmm" check
has "ok:" out
expect 0 timeout 60 "$ctl_bin" -f "$tmp/held.pmm" list
has "data" out
# (the original too: its holder died, the robust mutex says so)
expect 0 timeout 60 "$ctl_bin" check

# a read-only copy: read-only commands work and change nothing
mkdir "$tmp/ro"
cp "$bank" "$tmp/ro/bank.pmm"
chmod 400 "$tmp/ro/bank.pmm"
cp "$tmp/ro/bank.pmm" "$tmp/ro.orig"
rocopy="$tmp/ro/bank.pmm"
if [ "$(id -u)" = 0 ]; then
	# root writes any mode: make the file truly read-only
	if unshare -m sh -c "mount --bind '$tmp/ro' '$tmp/ro' &&
			mount -o remount,bind,ro '$tmp/ro' &&
			'$ctl_bin' -f '$rocopy' list > '$tmp/ro-list' &&
			'$ctl_bin' -f '$rocopy' info > '$tmp/ro-info' &&
			'$ctl_bin' -f '$rocopy' check > '$tmp/ro-check'" \
			2> "$tmp/err"; then
		:
	elif grep -q "mount\|unshare" "$tmp/err"; then
		echo "note: no read-only bind mount here; mode 0400 only"
		ctl -f "$rocopy" list > "$tmp/ro-list"
		ctl -f "$rocopy" info > "$tmp/ro-info"
		ctl -f "$rocopy" check > "$tmp/ro-check"
	else
		fail "pmmctl on a read-only file system"
	fi
else
	ctl -f "$rocopy" list > "$tmp/ro-list"
	ctl -f "$rocopy" info > "$tmp/ro-info"
	ctl -f "$rocopy" check > "$tmp/ro-check"
fi
grep -q data "$tmp/ro-list" || fail "read-only list: $(cat "$tmp/ro-list")"
grep -q "read-only" "$tmp/ro-check" || fail "read-only check: $(cat "$tmp/ro-check")"
cmp -s "$rocopy" "$tmp/ro.orig" || fail "the read-only copy changed"

# a copy collides with its original; move gives it a free address
cp "$bank" "$tmp/copy.pmm"
printf 'pmm.medium.COPY = %s\n' "$tmp/copy.pmm" > "$tmp/pmm.conf"
PMM_CONF="$tmp/pmm.conf"
old=$(ctl list | awk '$1 == "data" { print $4 }')
expect 0 ctl -m COPY move
has "moved $tmp/copy.pmm from address" out
has "pointers into them" err
has "now wrong" err
new=$(ctl -m COPY list | awk '$1 == "data" { print $4 }')
[ -n "$new" ] && [ "$new" != "$old" ] || fail "moved: $old -> $new"
expect 0 helper get data
has "rc=0 kept" out
PMM_CONF=

# symbolic links in place of a bank are refused as such
ln -s "$tmp/nowhere.pmm" "$tmp/dangling.pmm"
expect 2 ctl -f "$tmp/dangling.pmm" list
has "symbolic link" err
ln -s "$bank" "$tmp/link.pmm"
expect 2 ctl -f "$tmp/link.pmm" check
has "symbolic link" err
rm "$bank"
ln -s "$tmp/nowhere.pmm" "$bank"
expect 0 helper alloc x y
has "rc=-18 .*symbolic link" out

# --hex with something not a hex digit says so
expect 2 ctl freeall --hex zz
has "not a hex digit" err
expect 2 ctl freeall --hex abc
has "not an even number of hex digits" err
echo "pmmctl-guard: all passed"

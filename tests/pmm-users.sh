#!/bin/sh
# libpmm between two unix users (issue 9): a per-user directory another
# user made first, a victim's directory that became accessible, a bank
# file of another user in a shared sticky directory, and a set-user-ID
# program whose caller sets PMM_DIR and PMM_TUNABLES.  Needs root (it
# creates two users with useradd and removes them); skips otherwise.
set -eu
helper_bin="$top_builddir/tests/pmm_guard_helper"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root to create two users (useradd)"
	exit 77
fi
for t in useradd userdel runuser; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "SKIP: no $t"
		exit 77
	fi
done
[ -x "$helper_bin" ] || { echo "tests/pmm_guard_helper not built"; exit 1; }

tmp=$(mktemp -d /tmp/pmm-test-users-XXXXXX)
victim=pmmv$$
attacker=pmma$$
cleanup() {
	for u in "$victim" "$attacker"; do
		if id "$u" >/dev/null 2>&1; then
			d=/dev/shm/pmm-$(id -u "$u")
			rm -rf "$d"
			userdel "$u" 2>/dev/null || true
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
# useradd fails while another one holds /etc/passwd's lock: retry a little
adduser_retry() {
	for i in 1 2 3 4 5 6 7 8 9 10; do
		useradd -M -N -s /bin/sh "$1" 2>"$tmp/useradd.err" && return 0
		sleep 1
	done
	cat "$tmp/useradd.err"
	echo "FAIL: useradd $1"
	exit 1
}
adduser_retry "$victim"
adduser_retry "$attacker"
vuid=$(id -u "$victim")
auid=$(id -u "$attacker")
chmod 711 "$tmp"
mkdir -m 755 "$tmp/bin"
cp "$helper_bin" "$tmp/bin/helper"
chmod 755 "$tmp/bin/helper"
helper="$tmp/bin/helper"

fail() {
	printf "FAIL: %s\n" "$*"
	[ -s "$tmp/out" ] && { echo "--- out:"; cat "$tmp/out"; }
	exit 1
}
# as USER VAR=VALUE... -- ARGS: the helper as USER with that environment
as() {
	u=$1
	shift
	vars=
	while [ "$1" != -- ]; do
		vars="$vars $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	runuser -u "$u" -- env -i PATH=/usr/bin:/bin $vars "$helper" "$@" \
		> "$tmp/out" 2>&1 || fail "helper $* as $u exited $?"
}
has() { grep -q -- "$1" "$tmp/out" || fail "no '$1' in the output"; }

vdir=/dev/shm/pmm-$vuid
rm -rf "$vdir"

# 1. The attacker makes the victim's default directory first, with a bank
#    the victim can write.  The victim must refuse it, naming it and its
#    owner, and never see the attacker's data.
runuser -u "$attacker" -- mkdir -m 700 "$vdir"
as "$attacker" PMM_DIR="$vdir" -- alloc x planted
has "rc=0 planted"
runuser -u "$attacker" -- chmod 755 "$vdir"
runuser -u "$attacker" -- chmod 666 "$vdir/RAM.pmm"
as "$victim" -- get x
has "rc=-18"
has "$vdir belongs to uid $auid ($attacker)"
as "$victim" -- alloc y mine
has "rc=-18"
rm -rf "$vdir"

# 2. The victim's own directory, later opened to others, is refused at the
#    next open (not only when a bank is created).
as "$victim" -- alloc x secret
has "rc=0 secret"
runuser -u "$victim" -- chmod 755 "$vdir"
as "$victim" -- get x
has "rc=-18"
has "mode 0755"
runuser -u "$victim" -- chmod 700 "$vdir"
as "$victim" -- get x
has "rc=0 secret"
rm -rf "$vdir"

# 3. A shared sticky directory as PMM_DIR: a bank the attacker put there
#    (even writable by all) is refused as someone else's.
mkdir -m 1777 "$tmp/shared"
as "$attacker" PMM_DIR="$tmp/shared" -- alloc x planted
has "rc=0 planted"
runuser -u "$attacker" -- chmod 666 "$tmp/shared/RAM.pmm"
as "$victim" PMM_DIR="$tmp/shared" -- get x
has "rc=-18"
has "belongs to uid $auid ($attacker), not to this user"
# the same directory without its sticky bit: refused as such
chmod 777 "$tmp/shared"
as "$victim" PMM_DIR="$tmp/shared" -- get x
has "without the sticky bit"
# a sticky directory the attacker owns: its owner could rename or
# replace any bank in it, so the victim refuses it before any file there
mkdir -m 1777 "$tmp/theirs"
chown "$attacker" "$tmp/theirs"
as "$victim" PMM_DIR="$tmp/theirs" -- alloc y mine
has "rc=-18"
has "$tmp/theirs belongs to uid $auid ($attacker), neither this user"
[ ! -e "$tmp/theirs/RAM.pmm" ] || fail "a bank was made in the attacker's directory"

# 4. A set-user-ID program (the victim's) run by the attacker ignores the
#    caller's PMM_DIR and PMM_TUNABLES: secure_getenv.
cp "$helper_bin" "$tmp/bin/suid"
chown "$victim" "$tmp/bin/suid"
chmod 4755 "$tmp/bin/suid"
runuser -u "$attacker" -- env -i PMM_DIR="$tmp/shared" \
	PMM_TUNABLES=pmm.maxBlocks=7 PMM_CONF=/nonexistent \
	"$tmp/bin/suid" env \
	> "$tmp/out" 2>&1 || fail "suid helper exited $?"
has "rc=0 $vdir/RAM.pmm maxBlocks=30"
# the same program, not set-user-ID, obeys them
as "$attacker" PMM_DIR="$tmp/shared" PMM_TUNABLES=pmm.maxBlocks=7 \
	PMM_CONF= -- env
has "rc=0 $tmp/shared/RAM.pmm maxBlocks=7"
echo "pmm-users: all passed"

#!/bin/sh
# pmmctl against banks that tests/pmm_fill fills: list (text and JSON),
# info, free and freeall with their refusals, check on a good bank and on
# corrupted, truncated and foreign copies, create with tunables and
# --force, and the message when the configuration no longer matches a bank.
set -eu
me=ctl
fill_bin="$top_builddir/tests/pmm_fill"
[ -x "$fill_bin" ] || { echo "tests/pmm_fill not built"; exit 77; }
. "$top_srcdir/tests/pmmctl-lib.sh"
fill() { $wrap "$fill_bin" "$@"; }

PMM_CONF="$tmp/pmm.conf"
export PMM_CONF
: > "$PMM_CONF"
bank="$PMM_DIR/RAM.pmm"
ps=$(getconf PAGESIZE)
pages() { echo $((($1 + ps - 1) / ps)); }
set -f		# keys and names below hold backslashes, never globs

# ------------------------------------------------ the command line
expect 0 ctl --help
has "usage: pmmctl" out
expect 0 ctl --version
has "bank layout" out
expect 2 ctl
expect 2 ctl bogus
has 'unknown command' err
expect 2 ctl free
expect 2 ctl free --json x
has 'json is not an option of free' err
expect 2 ctl freeall --hex 01 --no-nul
expect 2 ctl create --size nope
expect 2 ctl list
has 'cannot open bank' err
[ ! -e "$bank" ] || fail "list created a bank"

# ----------------------------------------------------------- create
expect 0 ctl create --size 0x100000 --max-blocks 20
has "created $bank" out
[ -f "$bank" ] || fail "no bank file after create"
expect 2 ctl create
has 'exists' err
expect 0 ctl info
has "pmm.maxBlocks: *20\$" out
has "pmm.rambankSize: *0x100000 ($((0x100000 / ps)) pages)" out
has "blocks: *0 used of 20" out
echo "create: ok"

# ------------------------------------------------------------- list
odd=$(printf 'odd\377\001x')
HRCTL_GROUP=g1
export HRCTL_GROUP
expect 0 fill counter=100,HELLO_GROUP counter2=1,HELLO_GROUP \
	table=10000,raw:RAWKEY hole=5000 bin=5000,hex:01ff7f plain=4096 \
	sysblk=1,sys:__SYS.test grp=1,group 'q"uo\te=1,a"b\c' "$odd=1"
unset HRCTL_GROUP
cp "$tmp/out" "$tmp/addrs"
cp "$bank" "$tmp/fresh.pmm"	# entry 0 is "counter"

expect 0 ctl list
has '^NAME  *SIZE  *KEY  *ADDRESS  *PAGES$' out
row() {	# NAME-AS-LISTED NAME SIZE-ASKED KEY: its line in the listing
	line=$(N=$1 awk '$1 == ENVIRON["N"]' "$tmp/out")
	[ -n "$line" ] || fail "list has no $1"
	addr=$(N=$2 awk '$1 == ENVIRON["N"] { print $2 }' "$tmp/addrs")
	np=$(pages "$3")
	# shellcheck disable=SC2086
	set -- $line "$@"
	[ "$2" = $((np * ps)) ] || fail "$1: size $2, want $((np * ps))"
	[ "$3" = "$9" ] || fail "$1: key $3, want $9"
	[ "$4" = "$addr" ] || fail "$1: address $4, pmm_fill got $addr"
	[ "$5" = "$np" ] || fail "$1: $5 pages, want $np"
}
row counter counter 100 '"HELLO_GROUP\0"'
row counter2 counter2 1 '"HELLO_GROUP\0"'
row table table 10000 '"RAWKEY"'
row hole hole 5000 -
row bin bin 5000 0x01ff7f
row plain plain 4096 -
row sysblk sysblk 1 '"__SYS.test\0"'
row grp grp 1 '"__SYS.hrgroup.g1\0"'
row 'q"uo\\te' 'q"uo\te' 1 '"a\"b\\c\0"'
row 'odd\xff\x01x' "$odd" 1 -
[ "$(grep -c . "$tmp/out")" = 11 ] || fail "list has not 10 blocks"
echo "list: ok"

if command -v python3 > /dev/null 2>&1; then
	expect 0 ctl list --json
	python3 -m json.tool < "$tmp/out" > /dev/null ||
		fail "list --json is not JSON"
	python3 - "$tmp/out" "$tmp/addrs" "$ps" <<'EOF' || fail "list --json"
import json, sys
# strict: JSON text is UTF-8 (json.tool lets other bytes through)
raw = open(sys.argv[1], "rb").read().decode("utf-8")
blocks = {b["name"]: b for b in json.loads(raw)}
addrs = dict(l.rsplit(" ", 1) for l in
             open(sys.argv[2], encoding="latin-1").read().splitlines())
ps = int(sys.argv[3])
assert len(blocks) == 10, blocks.keys()
for name, b in blocks.items():
    want = name.encode("latin-1").decode("latin-1")
    assert b["address"] == addrs[want], (name, b["address"])
    assert b["size"] == b["pages"] * ps, name
c = blocks["counter"]
assert c["key"] == "HELLO_GROUP\0" and c["key_size"] == 12, c
assert c["key_hex"] == "HELLO_GROUP\0".encode().hex() and not c["system"]
assert blocks["table"]["key"] == "RAWKEY"
assert blocks["table"]["key_size"] == 6
assert blocks["bin"]["key"] is None and blocks["bin"]["key_hex"] == "01ff7f"
assert blocks["plain"]["key_size"] == 0 and blocks["plain"]["key"] is None
assert blocks["sysblk"]["system"] and blocks["grp"]["system"]
assert blocks['q"uo\\te']["key"] == 'a"b\\c\0'
assert "odd\u00ff\u0001x" in blocks
EOF
	expect 0 ctl info --json
	python3 - "$tmp/out" <<'EOF' || fail "info --json"
import json, sys
i = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert i["max_blocks"] == 20 and i["blocks_used"] == 10, i
assert i["rambank_size"] == 0x100000 and i["layout_version"] == 4, i
assert i["pages_used"] + i["pages_free"] == i["pages"], i
assert i["free_extents"] == 1 and i["fragmentation"] == 0, i
assert i["keys_in_use"] == 6, i
assert i["configuration"]["differs"] is True, i
assert i["configuration"]["max_blocks_set"] is False, i
EOF
	echo "json: ok"
else
	echo "python3 missing: JSON not validated"
fi

# ------------------------------------------------------------- info
expect 0 ctl info
has "file: *$bank\$" out
has "medium: *RAM\$" out
has "layout version: *4\$" out
has "page size: *$ps\$" out
has "blocks: *10 used of 20\$" out
has "free extents: *1\$" out
has "fragmentation: *0.0000\$" out
has "keys in use: *6\$" out
has "tunables: .*pmm.maxBlocks = 30 (default)" out
hasnt "pmm.rambankSize = " out

# a hole in the middle: two free extents, the hole's share of free space
expect 0 ctl free hole
expect 0 ctl info
has "free extents: *2\$" out
free=$(sed -n 's/^pages: *[0-9]* used, \([0-9]*\) free$/\1/p' "$tmp/out")
big=$(sed -n 's/^largest free extent: *\([0-9]*\) pages.*/\1/p' "$tmp/out")
frag=$(sed -n 's/^fragmentation: *//p' "$tmp/out")
[ $((free - big)) = "$(pages 5000)" ] ||
	fail "free $free, largest $big: the hole is not $(pages 5000) pages"
want=$(awk -v f="$free" -v b="$big" 'BEGIN { printf "%.4f", 1 - b / f }')
[ "$frag" = "$want" ] || fail "fragmentation $frag, want $want"
echo "info: ok"

# ------------------------------------------------------------- free
listed() { ctl list > "$tmp/list" && awk '{ print $1 }' "$tmp/list" |
	grep -qxF -- "$1"; }
expect 0 ctl free plain
! listed plain || fail "plain still listed after free"
expect 2 ctl free plain
has 'no block "plain" in RAM' err
expect 2 ctl free sysblk
has 'internal to the system' err
listed sysblk || fail "a refused free freed sysblk"
expect 0 ctl free --system sysblk
! listed sysblk || fail "free --system left sysblk"
expect 0 ctl free 'q"uo\te'
! listed 'q"uo\\te' || fail "free of a name with quotes"
echo "free: ok"

# ---------------------------------------------------------- freeall
expect 0 ctl freeall HELLO_GROUP
! listed counter && ! listed counter2 || fail "freeall HELLO_GROUP left blocks"
expect 2 ctl freeall HELLO_GROUP
has 'no block has the key "HELLO_GROUP\\0"' err
expect 2 ctl freeall RAWKEY		# with its NUL: another key
has 'no block has the key' err
listed table || fail "freeall RAWKEY\\0 freed RAWKEY"
expect 0 ctl freeall --no-nul RAWKEY
! listed table || fail "freeall --no-nul RAWKEY left table"
expect 2 ctl freeall --hex 01ff
listed bin || fail "freeall --hex 01ff freed 01ff7f"
expect 0 ctl freeall --hex 0x01FF7F
! listed bin || fail "freeall --hex left bin"
expect 2 ctl freeall --hex 0x1
has 'even number of hex digits' err
expect 2 ctl freeall __SYS.HR_GROUP
has 'freed with their restart group' err
expect 2 ctl freeall __SYS.hrgroup.g1
has 'reserved' err
listed grp || fail "a refused freeall freed grp"
expect 0 ctl freeall --system __SYS.hrgroup.g1
! listed grp || fail "freeall --system left grp"
expect 2 ctl freeall 0123456789012345678901234567890123
has 'at most 32' err
expect 0 ctl check
has "^ok: $bank: 1 of 20 blocks" out
echo "freeall: ok"

# ------------------------------------------------------------ check
expect 0 ctl -f "$tmp/fresh.pmm" check
has "^ok: $tmp/fresh.pmm: 10 of 20 blocks" out
flip() {	# FILE OFFSET: set one byte to 0xff
	printf '\377' | dd of="$1" bs=1 seek="$2" conv=notrunc 2> /dev/null
}
cp "$tmp/fresh.pmm" "$tmp/name.pmm"
flip "$tmp/name.pmm" $((ps + 16))		# entry 0's name: a block
expect 1 ctl -f "$tmp/name.pmm" check
has 'entry 0: checksum mismatch' err
expect 1 ctl -f "$tmp/name.pmm" list
cp "$tmp/fresh.pmm" "$tmp/state.pmm"
flip "$tmp/state.pmm" $((ps + 19 * 112))	# entry 19's state: free
expect 1 ctl -f "$tmp/state.pmm" check
has 'entry 19: bad state word' err
dd if="$tmp/fresh.pmm" of="$tmp/short.pmm" bs="$ps" count=3 2> /dev/null
expect 1 ctl -f "$tmp/short.pmm" check
has 'truncated' err
dd if="$tmp/fresh.pmm" of="$tmp/tiny.pmm" bs=100 count=1 2> /dev/null
expect 1 ctl -f "$tmp/tiny.pmm" check
has 'truncated' err
dd if=/dev/zero of="$tmp/zero" bs="$ps" count=4 2> /dev/null
expect 1 ctl -f "$tmp/zero" check
has 'not a bank file' err
expect 2 ctl -f "$tmp/none.pmm" check
has 'No such file' err
echo "check: ok"

# ---------------------------------------------- create with tunables
expect 0 ctl -f "$tmp/other.pmm" create --size 0x200000 --max-blocks 7
expect 0 ctl -f "$tmp/other.pmm" info
has "pmm.rambankSize: *0x200000 " out
has "pmm.maxBlocks: *7\$" out
expect 0 ctl -f "$tmp/odd.pmm" create --size $((ps + 1)) --max-blocks 0x10
expect 0 ctl -f "$tmp/odd.pmm" info --json
has '"max_blocks": 16,' out
has "\"rambank_size\": $((2 * ps))," out
expect 2 ctl -f "$tmp/bad.pmm" create --max-blocks 0
has 'pmm.maxBlocks 0 out of range' err
[ ! -e "$tmp/bad.pmm" ] || fail "a refused create left a file"

# --force: replaces a bank (blocks and tunables), a damaged one too, but
# never a file that is not a bank
expect 0 fill keep=1
expect 2 ctl create --max-blocks 50
listed keep || fail "a refused create lost the bank"
chmod 640 "$bank"
expect 0 ctl create --force --max-blocks 50
has "replaced $bank" out
[ "$(stat -c %a "$bank")" = 640 ] || fail "create --force lost the mode"
expect 0 ctl list
[ "$(grep -c . "$tmp/out")" = 1 ] || fail "blocks survive create --force"
expect 0 ctl info
has "pmm.maxBlocks: *50\$" out
has "pmm.rambankSize: *0x100000 " out
ls "$PMM_DIR" | grep -v '^RAM.pmm$' && fail "create --force left files"
expect 0 ctl -f "$tmp/name.pmm" create --force
expect 0 ctl -f "$tmp/name.pmm" check
# a program that has the bank mapped keeps the old file: its block stays
# where it was, and the new bank does not have it
mkfifo "$tmp/go"
fill -w held=1 < "$tmp/go" > "$tmp/held" 2>&1 &
holder=$!
exec 3> "$tmp/go"
n=0
until grep -q '^held ' "$tmp/held"; do
	n=$((n + 1))
	[ $n -lt 600 ] || fail "pmm_fill -w did not start"
	sleep 0.1
done
expect 0 ctl create --force --max-blocks 50
echo go >&3
exec 3>&-
wait $holder || { cat "$tmp/held"; fail "the old bank's user lost its block"; }
[ "$(grep -c '^held ' "$tmp/held")" = 2 ] &&
	[ "$(sort -u "$tmp/held" | grep -c .)" = 1 ] ||
	{ cat "$tmp/held"; fail "the old bank's user saw its block move"; }
! listed held || fail "the new bank has the old bank's block"
cp "$tmp/zero" "$tmp/zero.copy"
expect 2 ctl -f "$tmp/zero" create --force
has 'not a bank file' err
cmp -s "$tmp/zero" "$tmp/zero.copy" || fail "create --force replaced a non-bank"
echo "create: ok"

# --------------------------------------------- a changed configuration
echo "pmm.maxBlocks = 100" > "$PMM_CONF"
expect 0 fill later=1
has "keeps pmm.maxBlocks = 50; the configured 100" err
expect 0 ctl list
has "keeps pmm.maxBlocks = 50; the configured 100" err
expect 0 ctl info
has "configuration: *$PMM_CONF\$" out
has "tunables: .*pmm.maxBlocks = 100;" out
PMM_TUNABLES="pmm.rambankSize=0x200000"
export PMM_TUNABLES
expect 0 ctl check
has "keeps pmm.rambankSize = 0x100000; the configured 0x200000" err
expect 0 ctl create --force
expect 0 fill later=1
hasnt "keeps" err
expect 0 ctl info
has "pmm.maxBlocks: *100\$" out
has "pmm.rambankSize: *0x200000 " out
has "tunables: *as configured\$" out
unset PMM_TUNABLES
echo "configuration: ok"

# ------------------------------------------ other media, one bank each
echo "pmm.medium.NVRAM = $tmp/nvram.pmm" >> "$PMM_CONF"
expect 2 ctl -m NVRAM list
expect 0 fill -m NVRAM n1=1,SHARED
expect 0 fill r1=1,SHARED
expect 0 ctl -m NVRAM list
grep -q '^n1 ' "$tmp/out" && ! grep -q '^r1 ' "$tmp/out" ||
	fail "-m NVRAM does not list the NVRAM bank"
expect 0 ctl -m NVRAM freeall SHARED
listed r1 || fail "freeall on NVRAM freed a RAM block"
expect 0 ctl -m NVRAM list
! grep -q '^n1 ' "$tmp/out" || fail "freeall on NVRAM left n1"
expect 0 ctl -f "$tmp/nvram.pmm" info
has "medium: *NVRAM\$" out
relative() { (cd "$tmp" && ctl -f nvram.pmm check); }
expect 0 relative
has "^ok: $tmp/nvram.pmm" out
expect 2 ctl -m NOPE list
has 'no medium "NOPE"' err
echo "media: ok"
echo "pmmctl: ok"

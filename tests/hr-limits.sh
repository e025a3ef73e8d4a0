#!/bin/sh
# One size limit (issue 10): a run whose path, arguments and environment
# exceed 131072 bytes fails at once with "too large", handed over or
# embedded, and starts nothing; hrfexecv over the limit fails with E2BIG
# and says "too large"; a status report of any size arrives whole.
set -eu
me=hr-limits
. "$top_srcdir/tests/hr-lib.sh"

big=$(head -c 70000 /dev/zero | tr '\0' x)
# too_large WHAT: hrctl run with 140 kB of arguments fails within a second
too_large() {
	t0=$(date +%s)
	st=0
	"$hrctl" run -g 1 -- "$member" "$out" start X "$big" "$big" 2> "$tmp/big.err" || st=$?
	t1=$(date +%s)
	[ "$st" = 1 ] && grep -q "too large: .* at most 131072 (Argument list too long)" "$tmp/big.err" ||
		fail "$1: status $st: $(cat "$tmp/big.err")"
	# (valgrind alone takes seconds to start hrctl)
	[ -n "$vg" ] || [ $((t1 - t0)) -le 1 ] || fail "$1: took $((t1 - t0)) s"
	! grep -q "cannot reach or become" "$tmp/big.err" || fail "$1: retried"
	! logged "^X start" || fail "$1: the member started"
}
too_large "no controller"
[ ! -e "$PMM_DIR/hrctl.reg" ] || fail "a refused run left a registry"
start_daemon d1
too_large "handed over"
no_group 1 || fail "a refused run made a group"
ok "runs over the limit fail at once, embedded or handed over"

run 2 start H spawnbig big "$member" 135000 pause
wait_log "^H spawn big "
grep -q "^H spawn big errno=7 hrfexecv: too large" "$out/log" ||
	fail "hrfexecv over the limit: $(grep '^H spawn big' "$out/log")"
ok "hrfexecv over the limit: E2BIG, too large"
stop_daemon

# a report larger than a datagram (192 KiB): 60 members with 3.8 kB paths
PMM_TUNABLES="hrCtrl.maxprocesses=64;hrCtrl.maxGroups=64"
export PMM_TUNABLES
long=$tmp/l
i=0
while [ $i -lt 15 ]; do
	long=$long/$(head -c 250 /dev/zero | tr '\0' d)
	i=$((i + 1))
done
mkdir -p "$long"
cp "$member" "$long/m"
start_daemon d2
g=10
while [ $g -lt 70 ]; do
	# the controller under valgrind in that mode, but not 60 clients
	"$top_builddir/tools/hrctl" run -g $g -- "$long/m" "$out" start "Z$g" pause 2>> "$tmp/run.err" ||
		fail "run -g $g"
	g=$((g + 1))
done
"$hrctl" status > "$tmp/big.status" || fail "status: $?"
n=$(grep -c "^  member .* $long/m\$" "$tmp/big.status")
[ "$n" = 60 ] || fail "status lists $n members of 60"
[ "$(wc -c < "$tmp/big.status")" -gt 200000 ] || fail "the report is not that large"
json | grep -c '"path"' > /dev/null || fail "status --json"
[ "$(json | grep -o '"path"' | wc -l)" = 60 ] || fail "JSON lists not 60 members"
stop_daemon
ok "a report over 200 kB arrives whole"
hr_done

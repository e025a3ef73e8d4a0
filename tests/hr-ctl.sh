#!/bin/sh
# hrctl itself: status (text and JSON: groups, members, pids, restart
# counters, badness), kill -g, site-restart, the daemon (one per
# directory, socket 0600, SIGTERM stops it and its groups), run (embedded:
# the group's exit status; other runs handed to it), usage errors -- and
# the library calls outside a restartable process (-1, ESRCH).
set -eu
me=hr-ctl
. "$top_srcdir/tests/hr-lib.sh"

# 1. no controller
[ "$("$hrctl" status)" = "no controller running" ] || fail "status without controller"
"$hrctl" status --json | grep -q '^{"controller":null,"groups":\[\]}$' ||
	fail "status --json without controller: $("$hrctl" status --json)"
"$hrctl" kill -g 1 2> "$tmp/k.err" && fail "kill -g without controller succeeds"
grep -q "no controller running" "$tmp/k.err" || fail "kill -g: $(cat "$tmp/k.err")"
"$hrctl" site-restart 2>/dev/null && fail "site-restart without controller succeeds"
outside "no controller"
ok "no controller: status, kill, site-restart, library calls (ESRCH)"

# 2. usage
st=0; "$hrctl" > /dev/null 2>&1 || st=$?
[ "$st" = 2 ] || fail "hrctl without command: status $st"
st=0; "$hrctl" run -- "$member" > /dev/null 2>&1 || st=$?
[ "$st" = 2 ] || fail "run without -g: status $st"
st=0; "$hrctl" run -g x -- "$member" > /dev/null 2>&1 || st=$?
[ "$st" = 2 ] || fail "run -g x: status $st"
st=0; "$hrctl" run -g 1 -- "$tmp/nonexistent" > /dev/null 2>&1 || st=$?
[ "$st" = 127 ] || fail "run of a missing program: status $st"
st=0; "$hrctl" bogus > /dev/null 2>&1 || st=$?
[ "$st" = 2 ] || fail "hrctl bogus: status $st"
"$hrctl" --help | grep -q "hrctl run -g GROUP" || fail "hrctl --help"
[ ! -e "$PMM_DIR/hrctl.sock" ] || fail "a failed run left a socket"
ok "usage errors"

# 3. embedded: the group's status is hrctl run's, and a second run is
# handed to the embedded controller, which waits for both groups
st=0
"$hrctl" run -g 1 -- "$member" "$out" start M1 wait m1-go clean \
	exit 7 > "$tmp/emb.out" 2> "$tmp/emb.err" &
emb=$!
controllers="$controllers $emb"
wait_log "^M1 start 1 "
[ "$(stat -c %a "$PMM_DIR/hrctl.sock")" = 600 ] ||
	fail "the embedded controller's socket is $(stat -c %a "$PMM_DIR/hrctl.sock")"
json | grep -q '"mode":"embedded"' || fail "status does not say embedded"
run 2 start M2 wait m2-go clean
wait_log "^M2 start 1 "
grep -q "group 2: member [0-9]*, pid $(pid_of M2 1), handed" "$tmp/run.err" ||
	fail "the second run was not handed over"
: > "$out/m1-go"
wait_for 10 "group 1 to end" no_group 1
sleep 0.3
kill -0 "$emb" 2>/dev/null || fail "hrctl run ended before group 2"
: > "$out/m2-go"
wait "$emb" || st=$?
[ "$st" = 7 ] || fail "hrctl run: status $st, want the group's 7"
[ ! -e "$PMM_DIR/hrctl.sock" ] || fail "socket left"
ok "embedded run: waits for every group, returns its group's status 7"

# an embedded group killed: 128 + SIGKILL
st=0
"$hrctl" run -g 1 -- "$member" "$out" start K1 pause \
	> /dev/null 2> "$tmp/emb2.err" &
emb=$!
controllers="$controllers $emb"
wait_log "^K1 start 1 "
"$hrctl" kill -g 1 || fail "kill -g 1"
wait "$emb" || st=$?
[ "$st" = 137 ] || fail "hrctl run of a killed group: status $st"
ok "embedded run of a killed group: status 137"

# 4. the daemon, in the background: one per directory, 0600 socket
# (a long hrCtrl.interval: the status checks below see no badness decay)
PMM_TUNABLES=hrCtrl.interval=600 "$hrctl" daemon || fail "hrctl daemon: status $?"
dpid=$("$hrctl" status --json | sed -n 's/^{"controller":\([0-9]*\),.*/\1/p')
[ -n "$dpid" ] || fail "no daemon pid in the status"
controllers="$controllers $dpid"
[ "$(stat -c %a "$PMM_DIR/hrctl.sock")" = 600 ] ||
	fail "socket mode $(stat -c %a "$PMM_DIR/hrctl.sock")"
[ "$(stat -c %a "$PMM_DIR")" = 700 ] || fail "directory mode $(stat -c %a "$PMM_DIR")"
"$hrctl" daemon 2> "$tmp/d2.err" && fail "a second daemon starts"
grep -q "already running" "$tmp/d2.err" || fail "second daemon: $(cat "$tmp/d2.err")"
"$hrctl" daemon --foreground 2> "$tmp/d3.err" && fail "a second daemon starts"
[ -d "$PMM_DIR/hrctl.images" ] && [ -S "$PMM_DIR/hrctl.sock" ] ||
	fail "a second daemon took the running one's image store or socket"
ok "daemon: one per directory, socket 0600"

# library calls from a process the controller did not start
outside "with a controller"
HRCTL_MEMBER=0 outside "with a forged HRCTL_MEMBER"
ok "library calls outside a restartable process, with a controller: ESRCH"

# 5. status: groups, members, pids, counters
run 5 start S5 alloc s5 group spawn v T5 "$member" hr_member "$out" \
	start T5 pause ';;' wait s5-go crashfirst 1 abort pause
run 6 start S6 alloc s6 s6key pause
wait_log "^T5 start 1 "
wait_log "^S6 alloc s6 new"
: > "$out/s5-go"
wait_log "^T5 start 2 "
"$hrctl" status > "$tmp/status.txt"
"$hrctl" status --json > "$tmp/status.json"
s5=$(pid_of S5 2) t5=$(pid_of T5 2) s6=$(pid_of S6 1)
grep -q "^group 5: running, restarts 1, badness 1\$" "$tmp/status.txt" ||
	fail "status: group 5 line"
grep -q "^group 6: running, restarts 0, badness 0\$" "$tmp/status.txt" ||
	fail "status: group 6 line"
grep -q "^  member [0-9]* pid $s5 direct " "$tmp/status.txt" || fail "status: S5"
grep -q "^  member [0-9]* pid $t5 indirect RAM:T5 (parent [0-9]*) " "$tmp/status.txt" ||
	fail "status: T5"
grep -q "^  member [0-9]* pid $s6 direct " "$tmp/status.txt" || fail "status: S6"
grep -q '{"id":5,"state":"running","restarts":1,"badness":1,"members":\[' \
	"$tmp/status.json" || fail "status --json: group 5"
grep -q "\"pid\":$t5,\"direct\":false,.*\"medium\":\"RAM\",\"name\":\"T5\"" \
	"$tmp/status.json" || fail "status --json: T5"
grep -q '"site_restarts":0' "$tmp/status.json" || fail "status --json: site restarts"
grep -q '"hrCtrl.maxBadness":25' "$tmp/status.json" || fail "status --json: tunables"
ok "status and status --json"

# 6. site restart: every group restarts once, persistent memory stays
"$hrctl" site-restart || fail "hrctl site-restart"
wait_log "^S5 start 3 "
wait_log "^T5 start 3 "
wait_log "^S6 start 2 "
grep -q "^S6 alloc s6 found" "$out/log" || fail "site restart: s6 lost"
grep -q "^S5 alloc s5 found" "$out/log" || fail "site restart: s5 lost"
[ "$(site_restarts)" = 1 ] || fail "site restarts: $(site_restarts)"
[ "$(gfield 5 badness)" = 0 ] || fail "site restart: badness not reset"
sleep 0.5
[ "$(starts S6)" = 2 ] || fail "S6 restarted $(starts S6) times"
ok "site-restart: every group restarted, blocks kept"

# 7. SIGTERM stops the daemon and its groups, and tidies up
kill -TERM "$dpid"
wait_for 10 "the daemon to end" eval "! kill -0 $dpid 2>/dev/null"
for p in $(pid_of S5 3) $(pid_of T5 3) $(pid_of S6 2); do
	wait_for 10 "process $p to end" eval "! live $p"
done
[ "$(lookup s5)" = absent ] || fail "s5 left after the daemon's end"
case $(lookup s6) in found*) ;; *) fail "s6 freed" ;; esac
[ ! -e "$PMM_DIR/hrctl.sock" ] && [ ! -e "$PMM_DIR/hrctl.reg" ] ||
	fail "the daemon left its socket or registry"
ok "SIGTERM: members stopped, group blocks freed, files removed"
hr_done

#!/bin/sh
# No client can stall the controller.  Against a running controller, with
# a member that crashes in a loop: (a) a client that connects and sends
# nothing, (b) a client that sends a request one byte a second, (c) 100
# clients at once that send half a request, and two that send a whole
# one and never read the reply.  Under each: the group keeps restarting,
# `hrctl status` answers within 5 s, and no crashed member stays a zombie.
# Then bench/hr-bench under all of them: the median restart latency stays
# at most 5 ms (or, on a machine too busy to give 5 ms without hostile
# clients, at most 1.5 times the same run's figure without them, in one
# of three alternating pairs; no bound in a sanitizer build, where a
# process start is the latency).  And the other way round, no controller
# stalls its clients: against a controller stopped with SIGSTOP (it
# accepts and answers nothing), `hrctl status` gives up after the
# client's deadline (60 s, measured while the bench runs) with a clear
# error.
set -eu
me=hr-hostile
. "$top_srcdir/tests/hr-lib.sh"

hostile=$top_builddir/tests/hr_hostile
bench=$top_builddir/bench/hr-bench
[ -x "$hostile" ] || fail "$hostile is missing: build it first"
[ -x "$bench" ] || fail "$bench is missing: build it first"
command -v timeout > /dev/null || { echo "$me: SKIP: no timeout(1)"; exit 77; }

# attackers: the hr_hostile processes running (killed on exit)
attackers=
# stalled: the controller stopped with SIGSTOP (let go on exit)
stalled=
hostile_cleanup() {
	[ -z "$stalled" ] || kill -CONT "$stalled" 2>/dev/null || :
	for _a in $attackers; do
		kill -KILL "$_a" 2>/dev/null || :
	done
	cleanup
}
trap hostile_cleanup EXIT

# no site restart, and (where the controller has it) no backoff: the
# crash loop restarts as fast as the controller can
PMM_TUNABLES="hrCtrl.maxBadness=0"
export PMM_TUNABLES
start_daemon
if json | grep -q '"hrCtrl.maxBackoff"'; then
	stop_daemon
	PMM_TUNABLES="hrCtrl.maxBadness=0;hrCtrl.maxBackoff=0"
	start_daemon
fi
sock=$PMM_DIR/hrctl.sock

record_request "$tmp/req"

# quick: the controller's report within 5 s (status 124 if not)
quick() {
	timeout -k 1 5 "$hrctl" status --json > "$tmp/status.json" 2> "$tmp/status.err"
}

# restarts_now: group 1's restart count, answered within 5 s
restarts_now() {
	quick || fail "hrctl status did not answer within 5 s (status $?)"
	sed -n 's/.*{"id":1,"state":"[a-z]*","restarts":\([0-9]*\).*/\1/p' \
		"$tmp/status.json"
}

# zombies: the controller's children that are zombies now
zombies() {
	sed -n 's/^\([0-9]*\) (.*) \(.\) \([0-9]*\) .*/\1 \2 \3/p' \
		/proc/[0-9]*/stat 2>/dev/null |
		awk -v p="$daemon" '$2 == "Z" && $3 == p { print $1 }' | sort
}

# no_lasting_zombie: a zombie child of the controller is reaped within 1 s
no_lasting_zombie() {
	z1=$(zombies)
	sleep 1
	z2=$(zombies)
	for z in $z1; do
		case " $(echo $z2) " in *" $z "*)
			fail "member $z stayed a zombie for 1 s" ;;
		esac
	done
}

# the member that crashes in a loop, 200 ms after each start
run 1 start L sleep 200 crash segv
wait_log "^L start 2 " 30
# its pace without hostile clients (slow where starts are slow: ASan,
# valgrind, a busy machine); under them it must keep at least half
r0=$(restarts_now)
sleep 2
r1=$(restarts_now)
need=$(((r1 - r0) / 2))
[ $need -ge 1 ] || need=1
ok "$((r1 - r0)) restarts in 2 s without hostile clients"

# under WHAT ARGS...: hostile clients ARGS; restarts go on, the
# controller answers, no zombie stays
under() {
	what=$1
	shift
	rm -f "$tmp/ready"
	"$hostile" attack "$sock" --request "$tmp/req" --ready "$tmp/ready" \
		"$@" > "$tmp/attack.out" 2>&1 &
	a=$!
	attackers="$attackers $a"
	wait_for 10 "the hostile clients" test -f "$tmp/ready"
	sleep 0.5
	r0=$(restarts_now)
	s0=$(starts L)
	sleep 2
	r1=$(restarts_now)
	s1=$(starts L)
	[ -n "$r0" ] && [ -n "$r1" ] || fail "$what: no group 1 in the report"
	[ "$r1" -ge $((r0 + need)) ] ||
		fail "$what: the group restarted $((r1 - r0)) times in 2 s (restarts $r0 -> $r1, want $need)"
	[ "$s1" -ge $((s0 + need)) ] ||
		fail "$what: the member started $((s1 - s0)) times in 2 s (want $need)"
	no_lasting_zombie
	kill -TERM "$a"
	wait "$a" || fail "$what: hr_hostile failed: $(cat "$tmp/attack.out")"
	ok "$what: $((r1 - r0)) restarts in 2 s, status answers; $(cat "$tmp/attack.out")"
}

under "a silent client" --silent 1
under "a client sending a byte a second" --slow 1
under "100 clients at once, 2 that never read" --many 100 --deaf 2
under "all of them" --silent 1 --slow 1 --many 100 --deaf 2

"$hrctl" kill -g 1 || fail "hrctl kill -g 1"
stop_daemon
[ "$daemon_status" = 0 ] || fail "daemon status $daemon_status"

# a controller that stalls: a client asks it in the background, and
# must give up by itself (timeout(1) is only there to end a hang)
start_daemon
stalled=$daemon
kill -STOP "$stalled"
t0=$(date +%s)
(
	_st=0
	timeout -k 1 150 "$hrctl" status > /dev/null 2> "$tmp/stalled.err" ||
		_st=$?
	echo "$_st $(($(date +%s) - t0))" > "$tmp/stalled.st"
) &
asker=$!

# the latency under hostile clients, against the same run without them.
# The pair is taken up to three times, alternating, and passes at the
# first pair within the bound: a test running beside this one in
# `make -j` can slow either half of one pair, but a controller that the
# clients slow down (a stall is 100 ms to 2 s, not a fraction) fails all
# three.
n=${HR_HOSTILE_BENCH_N:-50}
median() {
	sed -n 's/^crash -> restarted main (hrctl) *n=[0-9]* *median *\([0-9.]*\) ms.*/\1/p' "$1"
}
# pair: one run without hostile clients, one with; sets m0 and m1
pair() {
	timeout -k 5 120 "$bench" -n "$n" -t 60 > "$tmp/bench0.out" 2>&1 ||
		fail "hr-bench without hostile clients: $(cat "$tmp/bench0.out")"
	timeout -k 5 120 "$bench" -n "$n" -t 60 --hostile "$hostile" attack @SOCK \
		--request "$tmp/req" --ready @READY --silent 1 --slow 1 --many 100 \
		--deaf 2 > "$tmp/bench1.out" 2>&1 ||
		fail "hr-bench with hostile clients: $(cat "$tmp/bench1.out")"
	m0=$(median "$tmp/bench0.out")
	m1=$(median "$tmp/bench1.out")
	[ -n "$m0" ] && [ -n "$m1" ] ||
		fail "no median: $(cat "$tmp/bench0.out" "$tmp/bench1.out")"
	sed 's/^/  /' "$tmp/bench0.out" "$tmp/bench1.out"
}
if [ -n "${SAN_CFLAGS:-}" ]; then
	pair
	# a sanitizer's process start is the latency; the clients' CPU adds to it
	ok "hr-bench median: $m0 ms without, $m1 ms with hostile clients (sanitizer build: no bound)"
else
	try=1
	while :; do
		pair
		bound=$(awk -v m="$m0" 'BEGIN { b = 1.5 * m; if (b < 5) b = 5; print b }')
		if awk -v m="$m1" -v b="$bound" 'BEGIN { exit !(m <= b) }'; then
			break
		fi
		[ $try -lt 3 ] ||
			fail "hr-bench median under hostile clients above the bound in 3 pairs (last: $m1 ms, bound $bound ms, without them $m0 ms)"
		echo "$me: pair $try: $m1 ms under hostile clients, bound $bound ms: again"
		try=$((try + 1))
	done
	ok "hr-bench median: $m0 ms without, $m1 ms with hostile clients (bound $bound ms, pair $try)"
fi

wait "$asker" || :
read -r st secs < "$tmp/stalled.st"
kill -CONT "$stalled"
stalled=
[ "$st" = 1 ] ||
	fail "hrctl status against a stopped controller: status $st after $secs s (124: it would have waited for ever)"
grep -qxF "hrctl: the controller did not answer in 60 s (stalled?)" \
	"$tmp/stalled.err" || fail "hrctl status against a stopped controller: not the reason"
[ "$secs" -ge 59 ] || fail "hrctl status gave up after $secs s, before its deadline"
stop_daemon
[ "$daemon_status" = 0 ] || fail "daemon status $daemon_status (after SIGCONT)"
ok "a stopped controller: hrctl status gave up after $secs s, saying why"
hr_done

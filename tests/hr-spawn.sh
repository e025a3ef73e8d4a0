#!/bin/sh
# examples/restart-spawn: a direct parent and an indirect child, each with
# a checkpointed computation in persistent memory.  Crashes injected in
# both (a fault, abort, exit without HR_EXIT_HDL, SIGKILL), then SIGKILLs
# from outside at random moments, restart the group again and again; the
# result is always the crash-free one, and the group's blocks go at its
# end.
set -eu
me=hr-spawn
. "$top_srcdir/tests/hr-lib.sh"
rs=$top_builddir/examples/restart-spawn
[ -x "$rs" ] || fail "$rs is missing"

# the crash-free result, computed outside persistent memory
want=$("$rs" --expect -n 600 -m 500)
case $want in "result: parent 600 steps, child 500 steps, "*) ;;
*) fail "restart-spawn --expect: $want" ;; esac

# check NAME RESTARTS: the run's result, its restarts, and no block left
check() {
	st=$1
	[ "$st" = 0 ] || fail "$2: hrctl run status $st"
	# (a kill after the result and before the clean exit prints it twice)
	got=$(grep '^result:' "$tmp/$2.out" | sort -u) || fail "$2: no result"
	[ "$got" = "$want" ] || fail "$2: $got, want $want"
	r=$(sed -n 's/^parent: start .* (group restarts: \([0-9]*\))$/\1/p' \
		"$tmp/$2.out" | tail -n 1)
	[ "$r" = "$3" ] || fail "$2: $r group restarts, want $3"
	[ "$(lookup restart-spawn.parent)" = absent ] &&
		[ "$(lookup restart-spawn.child.state)" = absent ] ||
		fail "$2: the group's blocks were not freed"
}

# 1. without crashes
st=0
"$hrctl" run -g 1 -- "$rs" -n 600 -m 500 -d 100 > "$tmp/plain.out" \
	2> "$tmp/plain.err" || st=$?
check "$st" plain 0
grep -q '^child: start 1 at step 0$' "$tmp/plain.out" || fail "the child did not run"
ok "no crash: $want"

# 2. four injected crashes, two in each process, one per restart (the
# fault last: a sanitizer's report takes long enough for the other
# process to run to its end)
st=0
"$hrctl" run -g 1 -- "$rs" -n 600 -m 500 -d 100 -c child:50:abort \
	-c parent:150:exit -c child:200:kill -c parent:400:segv \
	> "$tmp/inject.out" 2> "$tmp/inject.err" || st=$?
check "$st" inject 4
i=0
for c in child:50:abort parent:150:exit child:200:kill parent:400:segv; do
	role=${c%%:*} kind=${c##*:} step=${c#*:}
	step=${step%:*}
	at=$(sed -n "s/^$role: crash $i ($kind) before step \([0-9]*\)\$/\1/p" \
		"$tmp/inject.out")
	[ -n "$at" ] && [ "$at" -ge "$step" ] || fail "crash $i: $c did not fire"
	i=$((i + 1))
done
# a restart resumes from the checkpoint, not from the start
grep -q '^parent: start 2 at step [1-9]' "$tmp/inject.out" ||
	fail "the parent restarted from step 0"
grep -q '^child: start [2-5] at step [1-9]' "$tmp/inject.out" ||
	fail "the child never resumed from a checkpoint"
ok "4 injected crashes: the same result"

# a point due after its role has done every step fires at the end (the
# other process ran late): its restart happens all the same
want=$("$rs" --expect -n 100 -m 100)
st=0
"$hrctl" run -g 1 -- "$rs" -n 100 -m 100 -d 100 -c parent:100:exit \
	> "$tmp/late.out" 2> "$tmp/late.err" || st=$?
check "$st" late 1
grep -q '^parent: crash 0 (exit) before step 100$' "$tmp/late.out" ||
	fail "late: the point at the last step did not fire"
st=0
"$rs" -n 100 -c parent:101:exit > "$tmp/past.out" 2>&1 || st=$?
[ "$st" = 2 ] && grep -q "past the parent's 100 steps" "$tmp/past.out" ||
	fail "a point past the role's steps: status $st, $(cat "$tmp/past.out")"
ok "a point at the last step fires; one past it is refused"

# 3. SIGKILL from outside, at random moments, to either process
# children N: true once the child has started more than N times
children() {
	[ -f "$tmp/random.out" ] &&
		[ "$(grep -c '^child: start' "$tmp/random.out")" -gt "$1" ]
}
want=$("$rs" --expect -n 5000 -m 4000)
"$hrctl" run -g 1 -- "$rs" -n 5000 -m 4000 -d 1000 > "$tmp/random.out" \
	2> "$tmp/random.err" &
emb=$!
controllers="$controllers $emb"
wait_for 30 "the child to start" children 0
kills=0
seed=$$
while [ $kills -lt 5 ] && ! grep -q '^result' "$tmp/random.out"; do
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	sleep "0.$(( 10 + seed % 40 ))"
	pids=$(json | sed 's/"pid":/\n/g' | sed -n '2,$s/^\([0-9]*\),.*/\1/p' |
		grep -v '^0$') || continue
	n=$(echo "$pids" | wc -l)
	p=$(echo "$pids" | sed -n "$(( seed / 7 % n + 1 ))p")
	grep -q '^result' "$tmp/random.out" && break
	live "$p" && kill -KILL "$p" 2>/dev/null || continue
	kills=$((kills + 1))
	# the next kill once the group is back
	wait_for 30 "restart $kills" grep -q "(group restarts: $kills)" \
		"$tmp/random.out"
	wait_for 30 "the child after restart $kills" children "$kills"
done
st=0
wait "$emb" || st=$?
[ $kills -ge 3 ] || fail "the run ended after $kills kills: make it longer"
check "$st" random "$kills"
ok "$kills random SIGKILLs: the same result"
hr_done

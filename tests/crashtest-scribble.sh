#!/bin/sh
# crashtest-scribble.sh -- pmem-crashtest reuses each job's image
# directories from one image to the next, patching only what differs: this
# proves every image a check gets is still exactly the image the model
# says, whatever the check before it did.  tests/crashtest/scribble.c
# writes a file whose every crash image is known, and its check verifies
# the image byte for byte (and that it is the directory's only entry, a
# regular file of mode 0600), then damages the directory: writes, stores
# through a mapping, truncation, the file replaced, renamed, chmod'ed or
# hard-linked, a symbolic link, stray files, a child left running that
# writes later.  Any leftover shows in a later image, whose check then
# fails and says so in a log.  The images whose header ends in 3 fail on
# purpose: each saved copy must verify too (the pristine copies are
# patched the same way).
#
# Environment (from AM_TESTS_ENVIRONMENT): top_builddir.
set -e
me=crashtest-scribble
fail() {
	echo "$me: FAIL: $*" >&2
	exit 1
}
: "${top_builddir:?run this through make check}"
tool=$top_builddir/tools/pmem-crashtest
prog=$top_builddir/tests/crashtest/scribble
tmp=$(mktemp -d "/dev/shm/$me.XXXXXX" 2>/dev/null) ||
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT TERM

steps=40
[ -n "$PMEM_CRASHTEST_LONG" ] && steps=400
n=0
for run in "1:default" "2:default" "2:--evict" "1:--subsets=1"; do
	jobs=${run%%:*}
	mode=${run#*:}
	m=$mode
	[ "$m" = default ] && m=
	n=$((n + 1))
	d=$tmp/run$n
	mkdir "$d"
	rc=0
	# shellcheck disable=SC2086
	"$tool" -q -j "$jobs" --dir "$d/ct" --keep --max-reports 1 $m \
		--check "'$prog' check {} '$d/bad.log'" \
		-- "$prog" run "$d/pool" "$steps" >"$d/out" 2>&1 || rc=$?
	if [ -s "$d/bad.log" ]; then
		cat "$d/out" "$d/bad.log" >&2
		fail "-j $jobs $mode: a check got an image that is not the model's"
	fi
	if [ "$rc" != 1 ]; then
		cat "$d/out" >&2
		fail "-j $jobs $mode: exit $rc, want 1 (the images ending in 3)"
	fi
	sum=$(grep '^pmem-crashtest: .* checked, ' "$d/out" | tail -1)
	checked=$(echo "$sum" | sed 's/.* \([0-9]*\) checked.*/\1/')
	failed=$(echo "$sum" | sed 's/.* \([0-9]*\) failed.*/\1/')
	[ "$checked" -ge "$steps" ] ||
		fail "-j $jobs $mode: only ${checked:-no} images checked: $sum"
	[ "$failed" -ge 1 ] && [ "$failed" -lt "$checked" ] ||
		fail "-j $jobs $mode: $failed of $checked failed: $sum"
	saved=0
	for f in "$d"/ct/fail-*; do
		[ -d "$f" ] || continue
		saved=$((saved + 1))
		"$prog" verify "$f" >"$d/verify.out" 2>&1 || {
			cat "$d/verify.out" >&2
			fail "-j $jobs $mode: saved image $f is not the model's"
		}
	done
	[ "$saved" -ge 1 ] && [ "$saved" -le "$failed" ] ||
		fail "-j $jobs $mode: $saved images saved for $failed failures"
	echo "$me: -j $jobs $mode: ${sum#pmem-crashtest: }; $saved saved images verified"
done
exit 0

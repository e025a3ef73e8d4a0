#!/bin/sh
# fio-bench.sh -- fio's libpmem ioengine (Debian's fio) on our
# libpmem.so.1 and on PMDK's, side by side in one run: each workload is
# run REPS times on each library, the two alternating (and which goes
# first alternating too), and the table gives the median bandwidth of each
# (and its range) and the ratio of the medians ours/PMDK (above 1: ours is
# faster).  A measurement, not a
# test: it prints and fails on nothing but broken setups.
#
# Usage: bench/fio-bench.sh [--ours LIB] [--pmdk LIB] [--reps N]
#			    [--runtime S] [--size SIZE] [--dir DIR]
#   --ours	our libpmem.so.1 (default: libpmem/.libs/libpmem.so.1 under
#		the current directory, else build/plain/ under the source tree;
#		use a build without sanitizers)
#   --pmdk	PMDK's libpmem.so.1 (default: Debian's libpmem1,
#		/usr/lib/x86_64-linux-gnu/libpmem.so.1)
#   --reps	runs per workload and library (default 5)
#   --runtime	seconds per run (default 1)
#   --size	the file each workload uses (default 64m)
#   --dir	where the files go (default /dev/shm; PMEM_IS_PMEM_FORCE=1 is
#		set, as the engine refuses memory that is not pmem)
# FIO names the fio program (default: fio on PATH).
set -eu
me="fio-bench"
src=$(cd "$(dirname "$0")/.." && pwd)

ours=
pmdk=/usr/lib/x86_64-linux-gnu/libpmem.so.1
reps=5
runtime=1
size=64m
dir=/dev/shm

# usage: the options, on stderr
usage() {
	sed -n 's/^# \{0,1\}//; /^Usage:/,/^FIO/p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--ours)		ours=$2 ;;
	--pmdk)		pmdk=$2 ;;
	--reps)		reps=$2 ;;
	--runtime)	runtime=$2 ;;
	--size)		size=$2 ;;
	--dir)		dir=$2 ;;
	*)		usage ;;
	esac
	shift 2
done
case $reps$runtime in
*[!0-9]*|'') echo "$me: --reps and --runtime take whole numbers" >&2; exit 2 ;;
esac
if [ "$reps" -lt 1 ] || [ "$runtime" -lt 1 ]; then
	echo "$me: --reps and --runtime must be at least 1" >&2
	exit 2
fi

if [ -z "$ours" ]; then
	for c in "$(pwd)/libpmem/.libs/libpmem.so.1" \
		 "$src/build/plain/libpmem/.libs/libpmem.so.1"; do
		[ -f "$c" ] && { ours=$c; break; }
	done
	[ -n "$ours" ] || { echo "$me: no built libpmem.so.1 found: build first, or give --ours" >&2; exit 1; }
fi
fio=${FIO:-$(command -v fio || true)}
[ -n "$fio" ] || { echo "$me: fio not found (apt-get install fio)" >&2; exit 1; }
"$fio" --enghelp 2>/dev/null | grep -q '^[[:space:]]*libpmem$' ||
	{ echo "$me: $fio has no libpmem ioengine" >&2; exit 1; }
for l in "$ours" "$pmdk"; do
	[ -f "$l" ] || { echo "$me: $l: no such library" >&2; exit 1; }
done
ours=$(cd "$(dirname "$ours")" && pwd)/$(basename "$ours")
pmdk=$(cd "$(dirname "$pmdk")" && pwd)/$(basename "$pmdk")

tmp=$(mktemp -d "$dir/$me.XXXXXX") ||
	{ echo "$me: cannot make a directory in $dir" >&2; exit 1; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT TERM

# resolved LIB: the libpmem.so.1 fio resolves with LIB's directory first
resolved() {
	LD_LIBRARY_PATH=$(dirname "$1") LD_TRACE_LOADED_OBJECTS=1 "$fio" |
		sed -n 's/^[[:space:]]*libpmem\.so\.1 => \([^ ]*\) .*/\1/p'
}
for l in "$ours" "$pmdk"; do
	r=$(resolved "$l")
	[ "$(readlink -f "$r")" = "$(readlink -f "$l")" ] ||
		{ echo "$me: fio resolves libpmem.so.1 to '$r', not $l" >&2; exit 1; }
done
# our library, not PMDK's, says so when PMEM_LOG_LEVEL=3
banner() {
	LD_LIBRARY_PATH=$(dirname "$1") PMEM_LOG_LEVEL=3 "$fio" --version 2>&1 |
		grep -c '<libpmem>: <3> libpmem .* (pmem-stack' || true
}
[ "$(banner "$ours")" -ge 1 ] ||
	{ echo "$me: $ours printed no load banner: is it ours?" >&2; exit 1; }
[ "$(banner "$pmdk")" = 0 ] ||
	{ echo "$me: $pmdk printed our load banner: it is not PMDK's" >&2; exit 1; }

# workloads: NAME RW BS [OPTION]
workloads='seq-write-4k write 4k -
seq-write-64k write 64k -
seq-write-64k-nt write 64k direct=1
rand-write-4k randwrite 4k -
seq-read-64k read 64k -'

# run LIB RW BS OPTION: one fio run; prints its bandwidth in KiB/s
run() {
	_opt=
	[ "$4" = - ] || _opt=--$4
	# terse v3: field 7 is the read bandwidth, 48 the write bandwidth
	# shellcheck disable=SC2086
	LD_LIBRARY_PATH=$(dirname "$1") PMEM_IS_PMEM_FORCE=1 "$fio" \
		--name=bench --ioengine=libpmem --filename="$tmp/$2-$3" \
		--size="$size" --rw="$2" --bs="$3" $_opt --time_based \
		--runtime="$runtime" --output-format=terse --terse-version=3 \
		</dev/null >"$tmp/out" 2>"$tmp/err" ||
		{ cat "$tmp/out" "$tmp/err" >&2; echo "$me: fio failed" >&2; exit 1; }
	awk -F';' -v rw="$2" 'NF > 48 && $5 == 0 {
		print (rw ~ /read/) ? $7 : $48; ok = 1 }
		END { exit !ok }' "$tmp/out" ||
		{ cat "$tmp/out" "$tmp/err" >&2; echo "$me: no bandwidth in fio's output" >&2; exit 1; }
}

# stats: "MEDIAN MIN MAX" of the numbers on stdin
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }'
}

commit=$(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "# $me $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit"
echo "# $("$fio" --version), ioengine=libpmem, $size file in $dir ($(stat -f -c %T "$dir")), ${runtime} s per run, $reps runs per library, alternated"
echo "# cpu: $cpu, $(nproc) CPUs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# ours: $ours"
echo "# PMDK: $pmdk"
echo
echo "| workload | ours MiB/s, median (min-max) | PMDK MiB/s, median (min-max) | ours/PMDK |"
echo "|---|---:|---:|---:|"
echo "$workloads" | while read -r name rw bs opt; do
	: >"$tmp/ours.bw"
	: >"$tmp/pmdk.bw"
	run "$pmdk" "$rw" "$bs" "$opt" >/dev/null	# warm-up: the file's pages
	i=0
	while [ $i -lt "$reps" ]; do
		if [ $((i % 2)) = 0 ]; then
			run "$ours" "$rw" "$bs" "$opt" >>"$tmp/ours.bw"
			run "$pmdk" "$rw" "$bs" "$opt" >>"$tmp/pmdk.bw"
		else
			run "$pmdk" "$rw" "$bs" "$opt" >>"$tmp/pmdk.bw"
			run "$ours" "$rw" "$bs" "$opt" >>"$tmp/ours.bw"
		fi
		i=$((i + 1))
	done
	so=$(stats <"$tmp/ours.bw")
	sp=$(stats <"$tmp/pmdk.bw")
	[ "$opt" = - ] || name="$name ($opt)"
	awk -v n="$name" -v o="$so" -v p="$sp" 'BEGIN {
		split(o, a, " "); split(p, b, " ")
		printf "| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f |\n", n,
			a[1] / 1024, a[2] / 1024, a[3] / 1024,
			b[1] / 1024, b[2] / 1024, b[3] / 1024,
			(b[1] > 0 ? a[1] / b[1] : 0) }'
	rm -f "$tmp/$rw-$bs"
done
echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

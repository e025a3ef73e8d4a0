#!/bin/sh
# Real persistent memory: a Device DAX device ($PMEM_TEST_DEVDAX or the
# first /dev/dax*) and a file system mounted with -o dax
# ($PMEM_TEST_FSDAX_DIR or the first such mount).  Skips when neither is
# present, as on machines without persistent memory.
set -eu
probe="$top_builddir/tests/dax_probe"
ran=0

dev=${PMEM_TEST_DEVDAX:-}
if [ -z "$dev" ]; then
	for d in /dev/dax*; do
		[ -c "$d" ] && { dev=$d; break; }
	done
fi
if [ -n "$dev" ]; then
	"$probe" devdax "$dev"
	ran=1
fi

dir=${PMEM_TEST_FSDAX_DIR:-}
if [ -z "$dir" ]; then
	dir=$(awk '$4 ~ /(^|,)dax(=always)?(,|$)/ { print $2; exit }' \
		/proc/mounts)
fi
if [ -n "$dir" ] && [ -w "$dir" ]; then
	"$probe" fsdax "$dir"
	ran=1
fi

if [ "$ran" -eq 0 ]; then
	echo "skipped: no Device DAX device and no file system mounted" \
		"with -o dax on this machine"
	exit 77
fi

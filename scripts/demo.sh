#!/bin/sh
# The main demonstration (README's first command): the flush paths
# libpmem chose, then the seed's ChorusOS "hello world" restarted by hrctl,
# a two-process group whose crashes leave its result unchanged, and a
# block that outlives the process that made it.
#
# Run from the top of the source tree (README's first command), it builds
# out of tree in build/demo first (in place if the tree was configured in
# place); run from the top of a build directory, it uses that build.
set -eu
if [ -f scripts/demo.sh ] && [ -f configure.ac ] && [ -f config.status ]; then
	echo "== building in place (the source tree was configured in place)"
	make -j"${JOBS:-2}" > /dev/null
elif [ -f scripts/demo.sh ] && [ -f configure.ac ]; then
	src=$(pwd)
	echo "== building in build/demo"
	[ -x configure ] || ./autogen.sh > /dev/null
	mkdir -p build/demo
	(cd build/demo && { [ -f config.status ] || "$src"/configure -q; }) ||
		{ echo "demo: configure failed" >&2; exit 1; }
	make -C build/demo -j"${JOBS:-2}" > build/demo.log 2>&1 ||
		{ tail -30 build/demo.log; echo "demo: build failed" >&2; exit 1; }
	cd build/demo
fi
top=$(pwd)
for p in tools/pmem-info tools/hrctl tools/pmmctl examples/hello-restart \
		examples/restart-spawn examples/pmm-counter; do
	[ -x "$top/$p" ] || { echo "demo: $p is not built (run make first)" >&2; exit 1; }
done
PMM_DIR=$(mktemp -d /dev/shm/pmm-demo.XXXXXX)
export PMM_DIR
PMM_CONF=
export PMM_CONF
trap 'rm -rf "$PMM_DIR"' EXIT INT TERM

echo "== libpmem: the CPU and the paths chosen at load"
"$top/tools/pmem-info"

echo
echo "== The ChorusOS 5.0 guide's Example 15-1, as printed, under 'hrctl run -g 0'"
echo "   (it dies of a SIGSEGV after its first line; hrctl restarts it)"
st=0
"$top/tools/hrctl" run -g 0 -- "$top/examples/hello-restart" || st=$?
echo "   group 0 ended with status $st"
[ "$st" -eq 0 ] || exit "$st"

echo
echo "== restartSpawn: a direct parent and an indirect child (hrfexecvp),"
echo "   three crashes injected; the result must equal the crash-free one"
"$top/tools/hrctl" run -g 1 -- "$top/examples/restart-spawn" \
	-c parent:3:segv -c child:5:abort -c child:9:kill
printf 'crash-free: '
"$top/examples/restart-spawn" --expect

echo
echo "== A block outlives its process: three runs of pmm-counter"
for i in 1 2 3; do "$top/examples/pmm-counter"; done
"$top/tools/pmmctl" list
"$top/tools/pmmctl" check
"$top/tools/pmmctl" freeall DEMO
echo "== done"

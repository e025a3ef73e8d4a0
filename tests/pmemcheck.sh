#!/bin/sh
# pmemcheck's view of our libpmem: tests/pmemcheck_probe maps, flushes,
# drains, persists, copies and syncs on paths forced by the environment,
# under valgrind with tests/vg_pmreq.c, a tool that prints every
# pmemcheck client request it receives (Debian has no pmemcheck package;
# the requests reach any tool the same way).  The requests must be
# exactly the ones PMDK's libpmem makes for those calls, in order, with
# their addresses and lengths: the probe prints them.
set -eu
: "${top_builddir:?run this through make check}"
: "${top_srcdir:?run this through make check}"
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

vglib=/usr/lib/x86_64-linux-gnu/valgrind
vgexec=/usr/libexec/valgrind
[ -n "${VALGRIND:-}" ] || skip "valgrind is not installed (apt-get install valgrind)"
[ -f "$vglib/libcoregrind-amd64-linux.a" ] && [ -d "$vgexec" ] ||
	skip "valgrind's tool libraries are not in $vglib"
grep -q '^#define PMEM_USE_VALGRIND 1' "$top_builddir/config.h" ||
	skip "libpmem was configured without valgrind client requests"
[ -z "${SAN_CFLAGS:-}" ] || skip "a sanitizer build does not run under valgrind"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pmemcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# the tool, linked as valgrind links its own (static, at its load address)
mkdir "$tmp/lib"
for f in "$vgexec"/*; do ln -s "$f" "$tmp/lib/"; done
${CC:-cc} -O2 -m64 -fno-pie -fno-stack-protector -fno-builtin \
	-fno-strict-aliasing -I/usr/include/valgrind -DVGA_amd64=1 \
	-DVGO_linux=1 -DVGP_amd64_linux=1 -DVGPV_amd64_linux_vanilla=1 \
	-c -o "$tmp/pmreq.o" "$top_srcdir/tests/vg_pmreq.c" ||
	fail "cannot compile the valgrind tool"
${CC:-cc} -o "$tmp/lib/pmreq-amd64-linux" "$tmp/pmreq.o" -static \
	-nodefaultlibs -nostartfiles -no-pie -u _start -Wl,--build-id=none \
	-Wl,-Ttext-segment=0x58000000 "$vglib/libcoregrind-amd64-linux.a" \
	"$vglib/libvex-amd64-linux.a" -lgcc || fail "cannot link the valgrind tool"

probe="$top_builddir/tests/pmemcheck_probe"
[ -x "$probe" ] || fail "$probe not built"
dir=$(mktemp -d "${TMPDIR:-/tmp}/pmemcheck-data.XXXXXX")
trap 'rm -rf "$tmp" "$dir"' EXIT

# run SCENARIO VAR=VALUE...: the requests seen must be the ones expected
run() {
	scenario=$1
	shift
	rm -f "$dir/file"
	env "$@" VALGRIND_LIB="$tmp/lib" "$VALGRIND" --tool=pmreq \
		--log-file="$tmp/$scenario.log" "$probe" "$scenario" \
		"$dir/file" > "$tmp/$scenario.want" ||
		{ cat "$tmp/$scenario.log"; fail "$scenario: the probe failed"; }
	sed -n 's/^==[0-9]*== \(pmreq .*\)$/\1/p' "$tmp/$scenario.log" \
		> "$tmp/$scenario.have"
	[ -s "$tmp/$scenario.want" ] || fail "$scenario: nothing expected?"
	diff -u "$tmp/$scenario.want" "$tmp/$scenario.have" ||
		fail "$scenario: the requests differ from PMDK's (- expected, + seen)"
	echo "$scenario: $(wc -l < "$tmp/$scenario.have") requests, as PMDK's"
}

run clflush PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1
run noflush PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1 PMEM_NO_FLUSH=1
run generic PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1 PMEM_NO_FLUSH=1 \
	PMEM_NO_MOVNT=1
echo "pmemcheck: ok"

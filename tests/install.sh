#!/bin/sh
# Installs the tree into a scratch DESTDIR and uses it as a distribution's
# user would: pkg-config alone builds a libpmm program that calls libpmem
# too (examples/pmm-counter.c); a libpmem program links with -static and
# runs; the installed man pages resolve their .so aliases; pmem-info names
# the libpmem.so.1 that programs load, ours once it is on the library path
# and another one (Debian's PMDK, if installed) otherwise.
set -u
me=install
: "${top_builddir:?run this through make check}"
: "${top_srcdir:?run this through make check}"
fail() { echo "$me: FAIL: $*" >&2; exit 1; }
CC=${CC:-cc}
command -v pkg-config > /dev/null 2>&1 || { echo "SKIP: pkg-config is not installed"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT TERM
dest=$tmp/root

make -s -C "$top_builddir" install DESTDIR="$dest" > "$tmp/install.log" 2>&1 ||
	{ tail -30 "$tmp/install.log"; fail "make install DESTDIR=$dest failed"; }
eval "$(sed -n 's/^\(prefix\|libdir\|exec_prefix\|includedir\)=\(.*\)$/\1="\2"/p' \
	"$top_builddir/libpmem.pc")"
# shellcheck disable=SC2154
pcdir=$dest$libdir/pkgconfig
[ -f "$pcdir/libpmm.pc" ] && [ -f "$pcdir/libpmem.pc" ] || fail "no .pc files in $pcdir"
PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$pcdir
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR

# libpmem.pc no longer names libndctl/libdaxctl: they are loaded at run time
pkg-config --print-requires --print-requires-private libpmem | grep -q . &&
	fail "libpmem.pc requires: $(pkg-config --print-requires-private libpmem)"

# one package name is enough for a libpmm program that calls libpmem
flags=$(pkg-config --cflags --libs libpmm) || fail "pkg-config libpmm"
case " $flags " in *" -lpmem "*) ;; *) fail "pkg-config --libs libpmm lacks -lpmem: $flags";; esac
# shellcheck disable=SC2086
$CC $SAN_CFLAGS -Werror=implicit-function-declaration -o "$tmp/pmm-counter" \
	"$top_srcdir/examples/pmm-counter.c" $flags > "$tmp/cc.log" 2>&1 ||
	{ cat "$tmp/cc.log"; fail "pmm-counter does not build with 'pkg-config --cflags --libs libpmm'"; }
mkdir "$tmp/bank" && chmod 700 "$tmp/bank"
# shellcheck disable=SC2154
out=$(env LD_LIBRARY_PATH="$dest$libdir" PMM_DIR="$tmp/bank" PMM_CONF= \
	"$tmp/pmm-counter" 2>&1) || fail "pmm-counter: $out"
out2=$(env LD_LIBRARY_PATH="$dest$libdir" PMM_DIR="$tmp/bank" PMM_CONF= \
	"$tmp/pmm-counter" 2>&1) || fail "pmm-counter: $out2"
[ "$out" != "$out2" ] || fail "pmm-counter did not count: '$out' then '$out2'"
LD_LIBRARY_PATH="$dest$libdir" ldd "$tmp/pmm-counter" | grep -q "$dest$libdir/libpmem.so.1" ||
	fail "pmm-counter does not load the installed libpmem.so.1"

# a static link of a libpmem program (the 0.8 and the 1.x faces)
cat > "$tmp/static.c" << 'EOF'
#include <libpmem.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	size_t len; int is;
	char *p = pmem_map_file(argv[1], 4096, PMEM_FILE_CREATE, 0600, &len, &is);
	if (p == NULL) { fprintf(stderr, "%s\n", pmem_errormsg()); return 1; }
	pmem_memcpy_persist(p, "static", 7);
	pmem_persist(p, 7, 0);	/* the 0.8 three-argument form */
	pmem_unmap(p, len);
	puts(pmem_check_version(1, 0) == NULL ? "ok" : "version");
	return argc < 2;
}
EOF
if [ -n "${SAN_CFLAGS:-}" ]; then
	echo "static link: not tried in the sanitizer build (ASan cannot link -static)"
else
	# shellcheck disable=SC2046
	$CC -static -o "$tmp/static" "$tmp/static.c" \
		$(pkg-config --static --cflags --libs libpmem) > "$tmp/static.log" 2>&1 ||
		{ cat "$tmp/static.log"; fail "a -static libpmem program does not link"; }
	file_out=$(LC_ALL=C ldd "$tmp/static" 2>&1)
	case "$file_out" in *"not a dynamic executable"*) ;;
		*) fail "the -static program is dynamic: $file_out";; esac
	[ "$("$tmp/static" "$tmp/static.pool")" = ok ] || fail "the -static program failed"
	[ "$(head -c 6 "$tmp/static.pool")" = static ] || fail "the -static program did not write its file"
	echo "static link: ok"
fi

# installed man pages: the aliases resolve through a man path
if command -v man > /dev/null 2>&1; then
	mandir=$(sed -n 's/^mandir = //p' "$top_builddir/Makefile")
	mandir=$(echo "$mandir" | sed "s|\${datarootdir}|$prefix/share|;s|\${prefix}|$prefix|")
	[ -f "$dest$mandir/man3/pmem_drain.3" ] || fail "pmem_drain.3 not installed in $dest$mandir/man3"
	a=$(MANWIDTH=80 man -M "$dest$mandir" 3 pmem_drain 2>&1)
	b=$(MANWIDTH=80 man -M "$dest$mandir" 3 pmem_persist 2>&1)
	[ -n "$a" ] && [ "$a" = "$b" ] || fail "installed pmem_drain(3) does not resolve to pmem_persist(3)"
	for p in man1/pmmctl.1 man1/hrctl.1 man7/libpmm.7 man7/libpmem.7 man3/pmmAllocate.3; do
		[ -f "$dest$mandir/$p" ] || fail "$p not installed"
	done
else
	echo "installed man pages: not checked (man is not installed)"
fi

# pmem-info names the library that programs load
info=$(LD_LIBRARY_PATH="$dest$libdir" "$dest$prefix/bin/pmem-info" 2>&1) || fail "pmem-info: $info"
echo "$info" | grep -q "^libpmem.so.1: *$dest$libdir/libpmem.so.1.* (this project's)" ||
	fail "pmem-info does not name the installed library: $(echo "$info" | head -1)"
info=$(env -u LD_LIBRARY_PATH "$dest$prefix/bin/pmem-info" 2>&1 | head -1)
case "$info" in
	*"$dest"*) fail "without LD_LIBRARY_PATH pmem-info still names $info";;
	*"(this project's)"*|*"not this project's"*|*"none loadable"*) ;;
	*) fail "pmem-info's first line: $info";;
esac
echo "$me: ok ($info)"

#!/bin/sh
# compat-examples.sh -- the libpmem examples PMDK ships (Debian:
# /usr/share/doc/libpmem-dev/examples: simple_copy.c, full_copy.c,
# manpage.c), built with -Wall -Werror against OUR header and OUR library,
# run, and their output checked; once plain (not pmem: the examples take
# their pmem_msync paths) and once with PMEM_IS_PMEM_FORCE=1 (their
# pmem_memcpy_persist, pmem_memcpy_nodrain + pmem_drain and pmem_persist
# paths).  Each binary must be proved to use our header and our
# libpmem.so.1.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_srcdir, top_builddir, CC,
# SAN_CFLAGS.  PMEM_EXAMPLES_DIR overrides the examples directory.
set -e
me=compat-examples

: "${top_srcdir:?top_srcdir is not set: run this through make check}"
# shellcheck source=SCRIPTDIR/compat-lib.sh
. "$top_srcdir/tests/compat-lib.sh"
: "${CC:=cc}"

exdir=${PMEM_EXAMPLES_DIR:-/usr/share/doc/libpmem-dev/examples}
if [ ! -d "$exdir" ]; then
	echo "$me: SKIP: no libpmem examples in $exdir (install libpmem-dev)"
	exit 77
fi
examples="simple_copy full_copy manpage"
for ex in $examples; do
	if [ ! -f "$exdir/$ex.c" ] && [ ! -f "$exdir/$ex.c.gz" ]; then
		echo "$me: SKIP: $exdir has neither $ex.c nor $ex.c.gz"
		exit 77
	fi
done

ourinc=$top_srcdir/include
[ -f "$ourinc/libpmem.h" ] || fail "$ourinc/libpmem.h is missing"
compat_ourlib
# The examples are built with $SAN_CFLAGS like the rest of the tree, so
# they bring their own sanitizer runtime: no compat_preload.
compat_tmpdir tmpdir

# run_ok NAME CMD...: CMD must succeed on our library.
run_ok() {
	_name=$1
	shift
	if ! ours "$_name" "$@"; then
		show "$_name"
		fail "$_name ($how) failed on our libpmem"
	fi
	is_ours "$_name"
}

# ------------------------------------------------------------------ build
mkdir "$tmp/src"
for ex in $examples; do
	if [ -f "$exdir/$ex.c" ]; then
		cp "$exdir/$ex.c" "$tmp/src/$ex.c"
	else
		gzip -dc "$exdir/$ex.c.gz" >"$tmp/src/$ex.c" ||
			fail "cannot decompress $exdir/$ex.c.gz"
	fi
done

# manpage.c writes to a fixed path on a DAX file system ("/pmem-fs/myfile"
# in PMDK 1.12) that cannot be created here: build a copy whose PATH is a
# file in our temporary directory instead.  Nothing else is changed.
manfile=$tmp/myfile
grep -q '^#define PATH "[^"]*"' "$tmp/src/manpage.c" ||
	fail "manpage.c has no '#define PATH \"...\"' to redirect"
sed "s|^#define PATH \"[^\"]*\"|#define PATH \"$manfile\"|" \
	"$tmp/src/manpage.c" >"$tmp/src/manpage.c.new"
mv "$tmp/src/manpage.c.new" "$tmp/src/manpage.c"
grep -qF "#define PATH \"$manfile\"" "$tmp/src/manpage.c" ||
	fail "could not redirect manpage.c's PATH to $manfile"

for ex in $examples; do
	# our header first, our library, and our library as the run path;
	# built with $SAN_CFLAGS (a list of flags, split on purpose) like the
	# rest of the tree, so a sanitizer build brings its own runtime
	# shellcheck disable=SC2086
	if ! $CC -Wall -Werror $SAN_CFLAGS -I"$ourinc" -MD -MF "$tmp/$ex.d" \
			-o "$tmp/$ex" "$tmp/src/$ex.c" \
			-L"$ourdir" -Wl,-rpath,"$ourdir" -lpmem \
			>"$tmp/$ex.cc" 2>&1; then
		sed "s/^/  cc $ex: /" "$tmp/$ex.cc" >&2
		fail "$ex.c does not build with -Wall -Werror against our libpmem.h and libpmem"
	fi
	# the header that was compiled in is ours
	grep -qF "$ourinc/libpmem.h" "$tmp/$ex.d" ||
		fail "$ex was not compiled with $ourinc/libpmem.h"
	if grep -q '/usr/[^ ]*/libpmem\.h' "$tmp/$ex.d"; then
		fail "$ex also included the system's libpmem.h"
	fi
	# it asks for libpmem.so.1's versioned symbols, and finds ours
	readelf -d "$tmp/$ex" | grep -q 'NEEDED.*\[libpmem\.so\.1\]' ||
		fail "$ex does not need libpmem.so.1"
	readelf -W --dyn-syms "$tmp/$ex" >"$tmp/$ex.syms"
	grep -q ' UND pmem_map_file@LIBPMEM_1\.0' "$tmp/$ex.syms" ||
		fail "$ex does not import pmem_map_file@LIBPMEM_1.0"
	if grep ' UND pmem_' "$tmp/$ex.syms" | grep -v '@LIBPMEM_1\.0 '; then
		fail "$ex imports pmem_ symbols without version LIBPMEM_1.0"
	fi
	if command -v ldd >/dev/null 2>&1; then
		resolved=$( (unset LD_LIBRARY_PATH LD_PRELOAD; ldd "$tmp/$ex") |
			sed -n 's/^[[:space:]]*libpmem\.so\.1 => \([^ ]*\) .*/\1/p')
		[ "$resolved" = "$ourlib" ] ||
			fail "ldd: $ex finds libpmem.so.1 at '$resolved' by its run path, want $ourlib"
	fi
done

# ------------------------------------------------------------------- run
# source files: not a multiple of 4 KiB, one shorter than 4 KiB
head -c 1048699 /dev/urandom >"$tmp/big"
head -c 100 /dev/urandom >"$tmp/small"
# what simple_copy makes of each: 4 KiB, the source then zeros
head -c 4096 "$tmp/big" >"$tmp/big.4k"
{ cat "$tmp/small"; head -c 3996 /dev/zero; } >"$tmp/small.4k"
# what manpage leaves in its file
{ printf 'hello, persistent memory'; head -c 4072 /dev/zero; } \
	>"$tmp/manpage.expect"

# strace, where it works, shows which persistence path full_copy took
strace_ok=
if command -v strace >/dev/null 2>&1 &&
		strace -qq -o /dev/null -e trace=msync true >/dev/null 2>&1; then
	strace_ok=1
else
	echo "$me: note: no working strace, not checking full_copy's msync path"
fi

unset PMEM_IS_PMEM_FORCE
for force in 0 1; do
	if [ $force = 1 ]; then
		PMEM_IS_PMEM_FORCE=1
		export PMEM_IS_PMEM_FORCE
		how="PMEM_IS_PMEM_FORCE=1"
	else
		how="plain"
	fi

	# simple_copy: the first 4 KiB into a new 4 KiB file
	for src in big small; do
		dst=$tmp/simple_copy.$src.$force
		run_ok simple_copy.$src.$force "$tmp/simple_copy" \
			"$tmp/$src" "$dst"
		cmp "$tmp/$src.4k" "$dst" ||
			fail "simple_copy ($how) of $src: wrong destination"
	done
	# the destination exists: PMEM_FILE_EXCL must refuse it, with EEXIST
	if ours simple_copy.excl.$force "$tmp/simple_copy" "$tmp/big" \
			"$tmp/simple_copy.big.$force"; then
		fail "simple_copy ($how) overwrote an existing file despite PMEM_FILE_EXCL"
	fi
	is_ours simple_copy.excl.$force
	if ! grep -q '^pmem_map_file: File exists$' \
			"$tmp/simple_copy.excl.$force.err"; then
		show simple_copy.excl.$force
		fail "simple_copy ($how) onto an existing file: no 'pmem_map_file: File exists'"
	fi

	# full_copy: the whole file
	dst=$tmp/full_copy.$force
	run_ok full_copy.$force "$tmp/full_copy" "$tmp/big" "$dst"
	cmp "$tmp/big" "$dst" || fail "full_copy ($how): wrong destination"
	# which path it took: pmem_msync when not pmem, no msync at all
	# when PMEM_IS_PMEM_FORCE=1 makes pmem_map_file report pmem
	if [ -n "$strace_ok" ]; then
		rm -f "$dst"
		if ! ours full_copy.strace.$force strace -qq -f \
				-o "$tmp/strace.$force" -e trace=msync \
				"$tmp/full_copy" "$tmp/big" "$dst"; then
			show full_copy.strace.$force
			fail "full_copy ($how) failed under strace"
		fi
		cmp "$tmp/big" "$dst" ||
			fail "full_copy ($how) under strace: wrong destination"
		nmsync=$(grep -c 'msync(' "$tmp/strace.$force") || :
		if [ $force = 1 ] && [ "$nmsync" -ne 0 ]; then
			fail "full_copy with PMEM_IS_PMEM_FORCE=1 called msync $nmsync times: pmem_map_file did not report pmem"
		fi
		if [ $force = 0 ] && [ "$nmsync" -eq 0 ]; then
			fail "full_copy (plain) never called msync: pmem_map_file reported pmem for a plain file, or pmem_msync did not sync"
		fi
	fi

	# manpage: a string at the start of a 4 KiB file
	rm -f "$manfile"
	run_ok manpage.$force "$tmp/manpage"
	[ -f "$manfile" ] || fail "manpage ($how) did not create $manfile"
	cmp "$tmp/manpage.expect" "$manfile" ||
		fail "manpage ($how): $manfile does not hold 'hello, persistent memory' in 4 KiB"

	echo "$me: $how: simple_copy, full_copy, manpage on our libpmem: ok"
done
exit 0

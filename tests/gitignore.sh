#!/bin/sh
# Every file that a build in place makes is ignored by git, so that a
# fresh build leaves the checkout clean (and benchmarks do not label their
# results "-dirty").  The list comes from the Makefile itself (programs,
# libraries, pkg-config files, CLEANFILES), plus what autotools, libtool
# and the test harness make.
set -u
me=gitignore
: "${top_builddir:?run this through make check}"
: "${top_srcdir:?run this through make check}"
command -v git > /dev/null 2>&1 || { echo "SKIP: git is not installed"; exit 77; }
git -C "$top_srcdir" rev-parse --is-inside-work-tree > /dev/null 2>&1 ||
	{ echo "SKIP: $top_srcdir is not a git checkout (a release tarball)"; exit 77; }
outputs=$(MAKEFLAGS= MAKELEVEL= make -s --no-print-directory -C "$top_builddir" print-build-outputs | grep -v "^make") ||
	{ echo "$me: FAIL: make print-build-outputs"; exit 1; }
n=0 bad=
for f in $outputs configure Makefile.in Makefile config.h config.log \
		config.status libtool stamp-h1 aclocal.m4 test-suite.log \
		libpmem/x.o libpmem/x.lo libpmem/.libs/x libpmem/.deps/x.Plo \
		tests/x.log tests/x.trs pmem-stack-1.0.tar.gz build/x; do
	case $f in *'*'*) f=$(echo "$f" | tr '*' x);; esac
	n=$((n + 1))
	git -C "$top_srcdir" check-ignore -q --no-index "$f" || bad="$bad $f"
done
[ "$n" -gt 30 ] || { echo "$me: FAIL: only $n outputs listed: $outputs"; exit 1; }
[ -z "$bad" ] || { echo "$me: FAIL: not ignored by .gitignore:$bad"; exit 1; }
# and nothing that git tracks is ignored
tracked=$(git -C "$top_srcdir" ls-files -ci --exclude-standard)
[ -z "$tracked" ] || { echo "$me: FAIL: tracked but ignored: $tracked"; exit 1; }
echo "$me: $n build outputs, all ignored"

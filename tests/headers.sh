#!/bin/sh
# The public headers compile without a warning under -pedantic and
# -Wredundant-decls as C89..C17 and C++98..C++20 (with gcc and clang);
# under <pmem.h> pmem_persist has the 0.8 type, under <libpmem.h> the 1.x
# one, and from C99/C++11 on a call takes two or three arguments through
# either; any other count fails to compile; a program written to the 0.8
# document compiles, links and runs.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
inc="-I$top_srcdir/include"
cc=${CC:-cc}
cxx=${CXX:-c++}

# Every C and C++ compiler at hand: $CC and $CXX, and clang when installed.
ccs=$cc; cxxs=$cxx
command -v clang >/dev/null 2>&1 && ccs="$ccs clang"
command -v clang++ >/dev/null 2>&1 && cxxs="$cxxs clang++"
cstds="c89 ansi gnu89 c99 gnu99 c11 gnu11 c17"
cxxstds="c++98 c++11 c++14 c++17 c++20"
warn="-Wall -Wextra -pedantic -Werror -Wredundant-decls"
# modes: "compiler std" pairs; old: the ones without variadic macros
modes=""
for c in $ccs; do for s in $cstds; do modes="$modes $c:$s"; done; done
for c in $cxxs; do for s in $cxxstds; do modes="$modes $c:$s"; done; done
is_old() { case $1 in *:c89|*:ansi|*:gnu89|*:c++98) return 0;; esac; return 1; }
# compiles file.c (as C++ when the compiler is a C++ one) in mode $1
cc_mode() {
	c=${1%%:*}; s=${1#*:}; f=$2; shift 2
	if [ "$s" = ansi ]; then sf=-ansi; else sf=-std=$s; fi
	case $s in c++*) cp "$f" "$f.cc"; f=$f.cc;; esac
	$c $sf $inc $warn -fsyntax-only "$@" "$f"
}

# body: $1 the includes, $2 the statements
prog() {
	printf '%s\n#include <stddef.h>\nstatic char buf[128];\n' "$1"
	printf 'int main(void)\n{\n%s\nreturn 0;\n}\n' "$2"
}
# the 0.8 program, as the original header took it: a pointer of the 0.8
# type, a parenthesized call, three arguments, the partial calls
p08='void (*f)(void *, size_t, int) = pmem_persist;
pmem_persist(buf, 1, 0);
(pmem_persist)(buf, 1, 0);
f(buf, 1, 0);
pmem_flush_cache(buf, 1, 0);
pmem_fence();
pmem_drain_pm_stores();'
# the 1.x program
p1x='void (*f)(const void *, size_t) = pmem_persist;
pmem_persist(buf, 1);
(pmem_persist)(buf, 1);
f(buf, 1);
if (pmem_check_version(PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION) != 0)
	return 1;'
# either count, through either header (C99 and C++11 on)
pboth='pmem_persist(buf, 1);
pmem_persist(buf, 1, 0);
pmem_persist(buf, 1, 12345);'
prog '#include <pmem.h>' "$p08" > "$tmp/p08.c"
prog '#include <pmem.h>
#include <libpmem.h>' "$p08" > "$tmp/p08a.c"
prog '#include <libpmem.h>
#include <pmem.h>
#include <pmem.h>' "$p08" > "$tmp/p08b.c"
prog '#include <libpmem.h>' "$p1x" > "$tmp/p1x.c"
prog '#include <libpmem.h>' "$pboth" > "$tmp/bothl.c"
prog '#include <pmem.h>' "$pboth" > "$tmp/bothp.c"
prog '#include <libpmem.h>
#include <pmem.h>' "$pboth" > "$tmp/bothlp.c"
n=0
for m in $modes; do
	for f in p08 p08a p08b p1x; do
		cc_mode "$m" "$tmp/$f.c" || fail "$f.c in $m"
		n=$((n + 1))
	done
	if is_old "$m"; then
		# one prototype per header, as before C99: 0.8 or 1.x
		for bad in "pmem.h:pmem_persist(buf, 1)" \
				"libpmem.h:pmem_persist(buf, 1, 0)"; do
			prog "#include <${bad%%:*}>" "${bad#*:};" > "$tmp/bad.c"
			if cc_mode "$m" "$tmp/bad.c" 2>/dev/null; then
				fail "${bad#*:} compiled with <${bad%%:*}> in $m"
			fi
		done
	else
		for f in bothl bothp bothlp; do
			cc_mode "$m" "$tmp/$f.c" || fail "$f.c in $m"
		done
	fi
	# a wrong number of arguments is an error in every mode and header
	for h in libpmem.h pmem.h; do
		for args in "" "buf" "buf, 1, 0, 0" "buf, 1, 0, 2"; do
			prog "#include <$h>" "pmem_persist($args);" > "$tmp/bad.c"
			if cc_mode "$m" "$tmp/bad.c" 2>/dev/null; then
				fail "pmem_persist($args) compiled with <$h> in $m"
			fi
		done
	done
done
echo "headers: $n programs clean under $warn in$modes"

# the expansion names each argument once, and each is evaluated once
for h in libpmem.h pmem.h; do
	for m in "$cc:c99" "$cxx:c++11"; do
		prog "#include <$h>" 'pmem_persist(ARG_A, ARG_B, ARG_C);' \
			> "$tmp/once.c"
		c=${m%%:*}
		case $m in *++*) cp "$tmp/once.c" "$tmp/once.cc"
			src=$tmp/once.cc;; *) src=$tmp/once.c;; esac
		out=$($c -std=${m#*:} $inc -E "$src" | grep -v '^#')
		for a in ARG_A ARG_B ARG_C; do
			[ "$(printf '%s\n' "$out" | grep -o $a | wc -l)" = 1 ] ||
				fail "<$h> in $m: $a appears more than once"
		done
	done
done

# PMEM_NO_0_8_API leaves the 0.8 calls out of <libpmem.h> only
printf '#define PMEM_NO_0_8_API\n#include <libpmem.h>\nint main(void) { pmem_fence(); return 0; }\n' \
	> "$tmp/no08.c"
if $cc -std=c11 $inc -Werror -c "$tmp/no08.c" -o "$tmp/no08.o" 2>/dev/null; then
	fail "PMEM_NO_0_8_API did not hide pmem_fence"
fi
sed 's/<libpmem.h>/<pmem.h>/' "$tmp/no08.c" > "$tmp/no08p.c"
$cc -std=c11 $inc -Werror -c "$tmp/no08p.c" -o "$tmp/no08.o" ||
	fail "<pmem.h> after PMEM_NO_0_8_API lacks pmem_fence"
printf '#define PMEM_NO_0_8_API\n#include <libpmem.h>\n#include <pmem.h>\nint main(void) { pmem_fence(); return 0; }\n' \
	> "$tmp/no08lp.c"
$cc -std=c89 $inc $warn -c "$tmp/no08lp.c" -o "$tmp/no08.o" ||
	fail "<libpmem.h> with PMEM_NO_0_8_API, then <pmem.h>"

# the 0.8 seed program builds with -Wall -Werror against either header,
# links to libpmem.so.1 and runs
lib="$top_builddir/libpmem/.libs"
run_env=""
[ -n "$SAN_CFLAGS" ] && run_env="ASAN_OPTIONS=detect_leaks=0"
head -c 4096 /dev/zero > "$tmp/pmfile"
for h in pmem.h libpmem.h; do
	sed "s/<pmem.h>/<$h>/" "$top_srcdir/examples/seed-0.8.c" > "$tmp/seed.c"
	$cc -std=gnu11 $inc -Wall -Wextra -Werror $SAN_CFLAGS "$tmp/seed.c" \
		-L"$lib" -Wl,-rpath,"$lib" -lpmem -o "$tmp/seed" ||
		fail "seed-0.8.c does not build with <$h>"
	readelf -d "$tmp/seed" | grep -q 'NEEDED.*libpmem.so.1' ||
		fail "seed program does not need libpmem.so.1"
	out=$(env $run_env "$tmp/seed" "$tmp/pmfile") ||
		fail "seed program with <$h> fails"
	[ "$out" = "hello, 0.8 / range one / range two" ] ||
		fail "seed program with <$h> printed '$out'"
	echo "seed program with <$h>: $out"
done

# libpmm's <pmm/chPmm.h> and <hr/hr.h>: -pedantic clean as C and C++,
# alone, together in either order, and twice; then a program in the
# style of the ChorusOS guide's "hello world" links to libpmm.so.1 and runs
cat > "$tmp/pmm.c" <<'SRC'
#include <hr/hr.h>
#include <pmm/chPmm.h>
#include <hr/hr.h>
int main(void)
{
	PmmName name;
	VmAddr addr = 0;
	KnRgnDesc rgn;
	KnError err;
	int *counter;
	memset(&name, 0, sizeof(name));
	strcpy(name.medium, "RAM");
	strcpy(name.name, "PM1");
	memset(&rgn, 0, sizeof(rgn));
	rgn.options = K_ANYWHERE | K_RESERVED;
	rgn.size = vmPageSize();
	if (rgnAllocate(K_MYprocess, &rgn) != K_OK)
		return 1;
	err = pmmAllocate(&addr, &name, sizeof(int), "HELLO_GROUP",
		sizeof("HELLO_GROUP"));
	if (err != K_OK) {
		printf("%s: %s\n", pmmStrError(err), pmmErrorMsg());
		return 2;
	}
	counter = (int *)addr;
	printf("counter %d", (*counter)++);
	if (pmmAllocate(&addr, &name, 0, NULL, 0) != K_OK || *counter != 1)
		return 3;
	if (pmmFreeAll(HR_GROUP_KEY, HR_GROUP_KEYSIZE) != K_EPRIV)
		return 4;
	if (pmmFree(&name) != K_OK || pmmFree(&name) != K_EUNKNOWN)
		return 5;
	printf(", freed\n");
	return PMM_MEDIUM_MAX + PMM_NAME_MAX + PMM_DELKEY_MAX != 112;
}
SRC
cp "$tmp/pmm.c" "$tmp/pmm.cc"
for std in c99 c11 gnu11 c17; do
	$cc -std=$std $inc -Wall -Wextra -pedantic -Werror -c "$tmp/pmm.c" \
		-o "$tmp/pmm.o" || fail "libpmm headers: C $std"
done
for std in c++11 c++14 c++17 c++20; do
	$cxx -std=$std $inc -Wall -Wextra -pedantic -Werror -c "$tmp/pmm.cc" \
		-o "$tmp/pmmcc.o" || fail "libpmm headers: C++ $std"
done
for h in pmm/chPmm.h hr/hr.h; do
	printf '#include <%s>\nint main(void) { PmmName n; VmAddr a; (void)n; return pmmAllocate(&a, (PmmName *)0, 0, 0, 0) == K_OK; }\n' \
		"$h" > "$tmp/alone.c"
	cp "$tmp/alone.c" "$tmp/alone.cc"
	$cc -std=c99 $inc -Wall -Wextra -pedantic -Werror -c "$tmp/alone.c" \
		-o "$tmp/alone.o" || fail "<$h> alone as C"
	$cxx -std=c++11 $inc -Wall -Wextra -pedantic -Werror \
		-c "$tmp/alone.cc" -o "$tmp/alone.o" || fail "<$h> alone as C++"
done
# <pmm/chPmm.h> then <hr/hr.h>
{ printf '#include <pmm/chPmm.h>\n#include <hr/hr.h>\n'
  tail -n +4 "$tmp/pmm.c"; } > "$tmp/order.c"
$cc -std=gnu11 $inc -Wall -Wextra -pedantic -Werror -c "$tmp/order.c" \
	-o "$tmp/order.o" || fail "<pmm/chPmm.h> before <hr/hr.h>"
# the C++ declarations have C linkage (no mangled names)
nm "$tmp/pmmcc.o" | grep -q ' U pmmAllocate$' ||
	fail "pmmAllocate is not extern \"C\" in C++"
echo "libpmm headers: -pedantic clean as C99/C11/C17 and C++11..C++20"

plib="$top_builddir/libpmm/.libs"
$cc -std=gnu11 $inc -Wall -Wextra -Werror $SAN_CFLAGS "$tmp/pmm.c" \
	-L"$plib" -Wl,-rpath,"$plib" -L"$lib" -Wl,-rpath,"$lib" -lpmm \
	-o "$tmp/pmm" || fail "a libpmm program does not build"
readelf -d "$tmp/pmm" | grep -q 'NEEDED.*libpmm.so.1' ||
	fail "the program does not need libpmm.so.1"
out=$(env $run_env PMM_DIR="$tmp/banks" PMM_CONF= PMM_TUNABLES= \
	"$tmp/pmm") || fail "the libpmm program fails: '$out'"
[ "$out" = "counter 0, freed" ] || fail "the libpmm program printed '$out'"
[ "$(stat -c %a "$tmp/banks/RAM.pmm")" = 600 ] ||
	fail "the bank is not mode 0600"
echo "libpmm program: $out"
echo "headers: ok"

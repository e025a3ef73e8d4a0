#!/bin/sh
# The public headers compile without a warning under -pedantic as C and
# C++; pmem_persist takes two or three arguments through either header;
# a program written to the 0.8 document compiles and links.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
inc="-I$top_srcdir/include"
cc=${CC:-cc}
cxx=${CXX:-c++}

cat > "$tmp/both.c" <<'SRC'
#include <pmem.h>
#include <libpmem.h>
static char buf[128];
int main(void)
{
	void (*fn)(const void *, size_t) = pmem_persist;
	pmem_persist(buf, 1);
	pmem_persist(buf, 1, 0);
	fn(buf, 1);
	pmem_flush_cache(buf, 1, 0);
	pmem_fence();
	pmem_drain_pm_stores();
	return pmem_check_version(PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION)
		!= 0;
}
SRC
cp "$tmp/both.c" "$tmp/both.cc"
for std in c99 c11 gnu11 c17; do
	$cc -std=$std $inc -Wall -Wextra -pedantic -Werror -c "$tmp/both.c" \
		-o "$tmp/c.o" || fail "C $std"
done
for std in c++11 c++14 c++17 c++20; do
	$cxx -std=$std $inc -Wall -Wextra -pedantic -Werror -c "$tmp/both.cc" \
		-o "$tmp/cc.o" || fail "C++ $std"
done
echo "headers: -pedantic clean as C99/C11/C17 and C++11..C++20"

# each header alone
for h in libpmem.h pmem.h; do
	printf '#include <%s>\nint main(void) { pmem_persist((void *)0, 0, 0); pmem_persist((void *)0, 0); return 0; }\n' \
		"$h" > "$tmp/one.c"
	$cc -std=c99 $inc -Wall -Wextra -pedantic -Werror -c "$tmp/one.c" \
		-o "$tmp/one.o" || fail "<$h> alone"
done

# a wrong number of arguments is still an error
printf '#include <libpmem.h>\nint main(void) { pmem_persist((void *)0); return 0; }\n' \
	> "$tmp/bad.c"
if $cc -std=c11 $inc -c "$tmp/bad.c" -o "$tmp/bad.o" 2>/dev/null; then
	fail "pmem_persist with one argument compiled"
fi

# PMEM_NO_0_8_API leaves the 0.8 calls out of <libpmem.h> only
printf '#define PMEM_NO_0_8_API\n#include <libpmem.h>\nint main(void) { pmem_fence(); return 0; }\n' \
	> "$tmp/no08.c"
if $cc -std=c11 $inc -Werror -c "$tmp/no08.c" -o "$tmp/no08.o" 2>/dev/null; then
	fail "PMEM_NO_0_8_API did not hide pmem_fence"
fi
sed 's/<libpmem.h>/<pmem.h>/' "$tmp/no08.c" > "$tmp/no08p.c"
$cc -std=c11 $inc -Werror -c "$tmp/no08p.c" -o "$tmp/no08.o" ||
	fail "<pmem.h> after PMEM_NO_0_8_API lacks pmem_fence"

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

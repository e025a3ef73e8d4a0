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

# the 0.8 seed program builds with -Wall -Werror and links to libpmem.so.1
$cc -std=gnu11 $inc -Wall -Wextra -Werror $SAN_CFLAGS \
	"$top_srcdir/examples/seed-0.8.c" \
	-L"$top_builddir/libpmem/.libs" -lpmem -o "$tmp/seed" ||
	fail "seed-0.8.c does not build"
readelf -d "$tmp/seed" | grep -q 'NEEDED.*libpmem.so.1' ||
	fail "seed program does not need libpmem.so.1"
echo "headers: ok"

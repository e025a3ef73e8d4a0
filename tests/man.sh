#!/bin/sh
# Every man page renders without a single groff/man warning, every .so
# alias resolves to our own target page (read in the tree with man -l, and
# through a man path laid out as an installed one with man -M), and every
# page in the tree is distributed and installed; every function the
# installed headers declare has its page, and every page its row in the
# index man/README.md.
set -u
: "${srcdir:=.}"
top=$(cd "$srcdir" && pwd)
command -v man > /dev/null 2>&1 || { echo "SKIP: man (man-db) is not installed"; exit 77; }
cd "$top/man" || exit 1
fail=0
pages=0
export MANWIDTH=80 MAN_DISABLE_SECCOMP=1 LC_ALL=C.UTF-8
for page in man[137]/*; do
	pages=$((pages + 1))
	# the page's own warnings (groff's and man's), on stderr
	warn=$(man --warnings -l "$page" 2>&1 > /dev/null)
	if [ -n "$warn" ]; then
		echo "FAIL: $page: $warn"; fail=1
	fi
	out=$(man -l "$page" 2> /dev/null)
	[ -n "$out" ] || { echo "FAIL: $page renders empty"; fail=1; continue; }
	target=$(sed -n 's/^\.so \(.*\)$/\1/p' "$page")
	if [ -n "$target" ]; then
		[ -f "$target" ] || { echo "FAIL: $page: .so $target: no such page"; fail=1; continue; }
		# the alias must show our target, not a system page of that name
		[ "$out" = "$(man -l "$target" 2> /dev/null)" ] ||
			{ echo "FAIL: $page: man -l does not show $target"; fail=1; }
		name=$(basename "$page"); sect=${name##*.}; name=${name%.*}
		[ "$out" = "$(man -M "$top/man" "$sect" "$name" 2> /dev/null)" ] ||
			{ echo "FAIL: $page: man -M does not resolve it to $target"; fail=1; }
	fi
	# distributed and installed: listed in Makefile.am's man variables
	grep -qF "man/$page" "$top/Makefile.am" ||
		{ echo "FAIL: $page is not listed in Makefile.am"; fail=1; }
done
[ "$pages" -gt 0 ] || { echo "FAIL: no man pages found under $top/man"; exit 1; }
# every page has its row in the index, man/README.md
for page in man[137]/*; do
	name=$(basename "$page"); sect=${name##*.}; name=${name%.*}
	grep -qF "| $name($sect) |" README.md ||
		{ echo "FAIL: $page has no row in man/README.md"; fail=1; }
done
# every function the installed headers declare has a page of its own name
funcs=$(grep -rhoE '^[A-Za-z_][A-Za-z0-9_ *]*[ *](pmem_[a-z0-9_]+|pmm[A-Z][A-Za-z]+|hr[A-Za-z]+|rgnAllocate|vmPageSize) *\(' \
	"$top/include" | grep -oE '[A-Za-z0-9_]+ *\($' | tr -d '( ' | sort -u)
[ -n "$funcs" ] || { echo "FAIL: no public function found in $top/include"; fail=1; }
for f in $funcs; do
	case $f in *__*) continue ;; esac	# internal aliases (pmem__persist_0_8)
	# typedef'd function types are not functions
	grep -rqE "typedef[^;]*[ *(]$f[ )]*\(" "$top/include" && continue
	[ -f "man3/$f.3" ] || { echo "FAIL: $f has no page man3/$f.3"; fail=1; }
done
echo "$pages pages checked"
exit $fail

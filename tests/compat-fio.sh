#!/bin/sh
# compat-fio.sh -- Debian's fio, whose libpmem ioengine links libpmem.so.1,
# running unchanged on our libpmem.so.1 with fio's own data verification.
#
# On a tmpfs directory (/dev/shm) and on the ordinary file system
# ($TMPDIR or /tmp), in one fio run each (the jobs as threads of one
# process, all at once):
#   - sequential, random and mixed read/write jobs at block sizes 64 B,
#     100 B, 4000 B, 4 KiB and 64 KiB, plus one job of random sizes from
#     64 B to 64 KiB (bs_unaligned), each plain, with direct=1 (the engine
#     asks pmem_memcpy for non-temporal stores), with sync=1 (no
#     PMEM_F_MEM_NODRAIN) and with both, all with verify=crc32c: every
#     job writes through pmem_memcpy, then reads every block back through
#     its mapping and checks it;
#   - the same jobs again with verify_only=1 on fio's psync engine and
#     PMDK's own library: the data our library wrote, read back with
#     read(2) in another process, must check;
#   - a negative control: bytes overwritten in two of the files, the
#     verify_only pass must fail with fio's verify errors, so a failing
#     verification cannot go unnoticed here;
#   - without PMEM_IS_PMEM_FORCE the engine must refuse the file (our
#     pmem_map_file says it is not persistent memory: this fio needs it).
# Every run on ours must be proved to have loaded our library.
#
# Under PMEM_TEST_VALGRIND=1 (not in a sanitizer build), the runs on our
# library go under valgrind memcheck; any error fails the test (fio's own
# leaks are not counted).  In a sanitizer build, ASan's runtime is
# preloaded into fio, which is not built with it.
#
# Environment (from AM_TESTS_ENVIRONMENT): top_srcdir, top_builddir, CC,
# SAN_CFLAGS, VALGRIND.  FIO overrides the fio program (default: fio on
# PATH).
set -e
me=compat-fio

: "${top_srcdir:?top_srcdir is not set: run this through make check}"
# shellcheck source=SCRIPTDIR/compat-lib.sh
. "$top_srcdir/tests/compat-lib.sh"

fio=${FIO:-$(command -v fio || true)}
if [ -z "$fio" ]; then
	echo "$me: SKIP: fio not found (apt-get install fio; scripts/deps.sh installs it)"
	exit 77
fi
[ -x "$fio" ] || fail "FIO=$fio is not an executable"
if ! "$fio" --enghelp 2>/dev/null | grep -q '^[[:space:]]*libpmem$'; then
	echo "$me: SKIP: $fio has no libpmem ioengine (fio --enghelp does not list it)"
	exit 77
fi

compat_ourlib
compat_preload
compat_tmpdir shm
fsdir=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX") ||
	fail "cannot make a temporary directory in ${TMPDIR:-/tmp}"
trap 'rm -rf "$tmp" "$fsdir"' EXIT
# fio leaves files in its working directory (the verify state of a failed
# job): keep them out of the build tree (make distcheck checks it is clean)
cd "$tmp" || fail "cd $tmp"

# file sizes by block size (small, 4 KiB, 64 KiB), smaller under valgrind
vg=
size_s=32k size_m=256k size_l=1m
if [ "${PMEM_TEST_VALGRIND:-0}" = 1 ] && [ -n "${VALGRIND:-}" ] &&
   [ -z "$SAN_CFLAGS" ]; then
	vg="$VALGRIND -q --error-exitcode=99 --leak-check=no --log-file=$tmp/vg.%p.log"
	size_s=8k size_m=64k size_l=256k
fi

# jobs write|check DIR: writes the fio job file of the test matrix, files
# in DIR: write, on the libpmem engine; check, the same jobs as
# verify_only on the psync engine (without direct and sync, which mean
# O_DIRECT and O_SYNC there).
jobs() {
	if [ "$1" = write ]; then
		printf '[global]\nioengine=libpmem\n'
	else
		printf '[global]\nioengine=psync\nverify_only=1\n'
	fi
	printf 'directory=%s\nverify=crc32c\nverify_state_save=0\nthread\n' "$2"
	for bs in 64 100 4000 4096 65536; do
		case $bs in
		64|100)	size=$size_s ;;
		65536)	size=$size_l ;;
		*)	size=$size_m ;;
		esac
		for rw in write randwrite randrw; do
			for m in plain direct sync direct-sync; do
				j=$rw-$bs-$m
				printf '[%s]\nfilename=%s\nrw=%s\nbs=%s\nsize=%s\n' \
					"$j" "$j" "$rw" "$bs" "$size"
				[ "$1" = write ] || continue
				case $m in
				direct)		echo direct=1 ;;
				sync)		echo sync=1 ;;
				direct-sync)	printf 'direct=1\nsync=1\n' ;;
				esac
			done
		done
	done
	printf '[mixed]\nfilename=mixed\nrw=randwrite\nbsrange=64-64k\n'
	printf 'bs_unaligned=1\nsize=%s\n' "$size_l"
}
njobs=61

# brief NAME: the lines of run NAME that matter in a failure message: its
# stderr, and from fio's report each job's status, errors and I/O counts.
brief() {
	grep -i 'err=\|verif\|error\|fail\|fio:\|issued rwts\|memory' \
		"$tmp/$1.out" | sed "s/^/  $1: /" >&2 || true
	sed "s/^/  $1: /" "$tmp/$1.err" >&2
}

# fio_ok NAME: run NAME was a clean fio run of all $njobs jobs, each of
# which wrote and read back at least what it wrote (a verify_only run
# counts the writes it checks as issued).
fio_ok() {
	if grep -qi 'verify:\|verify failed\|bad magic\|err= *[1-9]' \
			"$tmp/$1.out" "$tmp/$1.err"; then
		brief "$1"
		fail "$1: fio reported errors"
	fi
	_n=$(grep -c '(groupid=[0-9]*, jobs=1): err= 0:' "$tmp/$1.out" || true)
	[ "$_n" = $njobs ] || { brief "$1"; fail "$1: $_n of $njobs jobs ran clean"; }
	# per job: "issued rwts: total=READS,WRITES,..."
	_bad=$(sed -n 's/.*issued rwts: total=\([0-9]*\),\([0-9]*\),.*/\1 \2/p' \
			"$tmp/$1.out" |
		awk '{ n++ } $2 == 0 || $1 < $2 { bad++ }
			END { if (n != '$njobs') bad++; print bad + 0 }')
	[ "$_bad" = 0 ] || { brief "$1"; fail "$1: $_bad jobs did not write and read back every block"; }
}

# vg_ok: no valgrind errors in the runs so far
vg_ok() {
	[ -n "$vg" ] || return 0
	for _l in "$tmp"/vg.*.log; do
		[ -s "$_l" ] || continue
		sed 's/^/  valgrind: /' "$_l" >&2
		fail "valgrind memcheck found errors in fio on our libpmem"
	done
	rm -f "$tmp"/vg.*.log
}

unset PMEM_IS_PMEM_FORCE
for where in shm fs; do
	if [ $where = shm ]; then
		dir=$tmp/data
		mkdir "$dir"
	else
		dir=$fsdir
	fi
	fstype=$(stat -f -c %T "$dir" 2>/dev/null || echo unknown)

	# without PMEM_IS_PMEM_FORCE, the engine refuses memory that is not pmem
	if ours nf-$where "$fio" --name=nf --ioengine=libpmem \
			--filename="$dir/nf" --size=64k --bs=4k --rw=write \
			--verify=crc32c; then
		if [ $where = shm ]; then
			brief nf-$where
			fail "fio's libpmem engine ran on tmpfs without PMEM_IS_PMEM_FORCE: is_pmem was not 0"
		fi
		echo "$me: $dir ($fstype) is persistent memory: fio ran unforced"
	elif ! grep -q 'does not point to persistent memory' \
			"$tmp/nf-$where.out" "$tmp/nf-$where.err"; then
		brief nf-$where
		fail "fio failed on $fstype without PMEM_IS_PMEM_FORCE, not for want of pmem"
	fi
	is_ours nf-$where
	vg_ok

	# write and read back through our library
	jobs write "$dir" >"$tmp/w-$where.fio"
	PMEM_IS_PMEM_FORCE=1
	export PMEM_IS_PMEM_FORCE
	# $vg: empty, or valgrind and its options (split on purpose)
	# shellcheck disable=SC2086
	if ! ours w-$where $vg "$fio" "$tmp/w-$where.fio"; then
		vg_ok
		brief w-$where
		fail "fio's libpmem engine on our library failed on $fstype"
	fi
	unset PMEM_IS_PMEM_FORCE
	is_ours w-$where
	fio_ok w-$where
	vg_ok

	# read back with read(2) on PMDK's library
	jobs check "$dir" >"$tmp/v-$where.fio"
	if ! system v-$where "$fio" "$tmp/v-$where.fio"; then
		brief v-$where
		fail "data written by fio on our library does not verify with read(2) ($fstype)"
	fi
	fio_ok v-$where

	# the negative control: damaged data must fail verification
	printf 'DAMAGED!' | dd of="$dir/write-4000-plain" bs=1 seek=14000 \
		conv=notrunc 2>/dev/null || fail "cannot damage $dir/write-4000-plain"
	printf 'DAMAGED!' | dd of="$dir/mixed" bs=1 seek=100000 \
		conv=notrunc 2>/dev/null || fail "cannot damage $dir/mixed"
	if system bad-$where "$fio" --section=write-4000-plain \
			--section=mixed "$tmp/v-$where.fio"; then
		brief bad-$where
		fail "fio verified damaged files without an error: this test could not fail"
	fi
	for j in write-4000-plain mixed; do
		if ! grep -q "^$j: (groupid=[0-9]*, jobs=1): err=84" \
				"$tmp/bad-$where.out"; then
			brief bad-$where
			fail "fio did not report a verify error (err=84) for damaged $j"
		fi
	done
	grep -q 'verify failed\|bad magic\|bad header' \
		"$tmp/bad-$where.out" "$tmp/bad-$where.err" ||
		{ brief bad-$where; fail "fio gave no verify message for the damaged files"; }

	rm -rf "${dir:?}"/*
	echo "$me: $dir ($fstype): $njobs fio jobs on our libpmem${vg:+ under valgrind memcheck}, verified in place and by read(2): ok"
done
exit 0

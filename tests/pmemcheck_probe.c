/*
 * pmemcheck_probe.c -- for tests/pmemcheck.sh: maps a file with
 * pmem_map_file, flushes, drains, persists, copies and syncs it, and
 * prints on stdout, in vg_pmreq's format, the pmemcheck requests PMDK's
 * libpmem would make for these calls on the path the environment forces:
 *
 *   clflush   PMEM_NO_CLWB=1 PMEM_NO_CLFLUSHOPT=1: flushes are
 *             instructions pmemcheck sees; drains run no fence and say so
 *   noflush   the same plus PMEM_NO_FLUSH=1: no flush instruction runs, so
 *             every flush is a request
 *   generic   noflush plus PMEM_NO_MOVNT=1 (the 8-byte-store kernels)
 *
 * Request numbers: 0 register mapping, 1 register file, 2 remove mapping,
 * 5 flush, 6 fence.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpmem.h>

#define LEN 65536

static char src[8192];

/* Prints one expected request. */
static void
want(int req, uintptr_t a1, uintptr_t a2, uintptr_t a3)
{
	printf("pmreq %d %lx %lx %lx 0\n", req, (unsigned long)a1,
		(unsigned long)a2, (unsigned long)a3);
}

int
main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "clflush") != 0 &&
			strcmp(argv[1], "noflush") != 0 &&
			strcmp(argv[1], "generic") != 0)) {
		fprintf(stderr, "usage: %s clflush|noflush|generic FILE\n",
			argv[0]);
		return 2;
	}
	int none = strcmp(argv[1], "clflush") != 0;
	int generic = strcmp(argv[1], "generic") == 0;

	/* the descriptor pmem_map_file will get: the lowest free one */
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		return 1;
	close(fd);

	size_t mlen;
	char *p = pmem_map_file(argv[2], LEN, PMEM_FILE_CREATE, 0600, &mlen,
		NULL);
	if (p == NULL || mlen != LEN) {
		perror("pmem_map_file");
		return 1;
	}
	uintptr_t b = (uintptr_t)p;
	want(0, b, LEN, 0);
	want(1, (uintptr_t)fd, b, LEN);

	pmem_flush(p + 1, 10);
	if (none)
		want(5, b + 1, 10, 0);

	pmem_drain();
	want(6, 0, 0, 0);

	pmem_persist(p, 100);
	if (none)
		want(5, b, 100, 0);	/* its fence is an sfence */
	else
		want(6, 0, 0, 0);	/* clflush's persist runs no fence */

	/* streamed: the body's whole lines, 128 to 5056 */
	pmem_memcpy(p + 100, src, 5000, PMEM_F_MEM_NONTEMPORAL);
	if (none)
		want(5, b + 100, 5000, 0);
	else if (!generic)
		want(5, b + 128, 5056 - 128, 0);
	want(6, 0, 0, 0);	/* the drain of a call without NODRAIN */

	pmem_memset(p + 8192, 1, 64, PMEM_F_MEM_TEMPORAL);
	if (none)
		want(5, b + 8192, 64, 0);
	want(6, 0, 0, 0);

	/* NOFLUSH implies NODRAIN: nothing at all */
	pmem_memset(p + 8192, 2, 64, PMEM_F_MEM_NOFLUSH);

	if (pmem_msync(p + 10, 10) != 0) {
		perror("pmem_msync");
		return 1;
	}
	want(5, b, 20, 0);	/* the page from its start, then a fence */
	want(6, 0, 0, 0);

	if (pmem_unmap(p, mlen) != 0) {
		perror("pmem_unmap");
		return 1;
	}
	want(2, b, LEN, 0);
	return 0;
}

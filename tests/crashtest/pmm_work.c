/*
 * pmm_work.c -- a libpmm workload for pmem-crashtest: blocks allocated,
 * filled and persisted, some freed, then all freed by key; and the check
 * of a crash image of its bank.
 *
 *	pmm_work run N		N allocations in the bank of $PMM_DIR
 *	pmm_work reboot DIR	clears the boot id of DIR/RAM.pmm
 *	pmm_work check DIR	the bank DIR/RAM.pmm after a power failure
 *
 * A crash image is checked on the machine that made it: its boot id must
 * be cleared first, as a reboot would (else the bank's lock, caught held
 * in an image, is taken for a live one: pmmctl check would wait on it).
 * The check clears it too, then opens the bank through libpmm
 * (its recovery runs) and asks for each block the workload could have
 * made: each cache line of a block present must hold its pattern or, if
 * the crash came before its fill was durable, zeros; a block freed before
 * a later one was allocated must be gone when the later one is there.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpmem.h>
#include <pmm/chPmm.h>

#include "layout.h"

#define KEY "CT"
#define MAXN 4096

/* The name and size of block i. */
static void
block(unsigned i, PmmName *name, size_t *size)
{
	memset(name, 0, sizeof(*name));
	strcpy(name->medium, "RAM");
	snprintf(name->name, sizeof(name->name), "w.%u", i);
	*size = 64 * (1 + i % 4);
}

/* i is freed (right after block i + 2 is made) when i % 3 == 0. */
static int
freed_early(unsigned i)
{
	return i % 3 == 0;
}

/* Runs the workload. */
static int
run(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		PmmName name;
		size_t size;
		unsigned char *p;
		block(i, &name, &size);
		KnError rc = pmmAllocate((VmAddr *)&p, &name, size, KEY,
			sizeof(KEY));
		if (rc != K_OK) {
			fprintf(stderr, "pmmAllocate %s: %s\n", name.name,
				pmmErrorMsg());
			return 2;
		}
		pmem_memset_persist(p, (int)(i + 1), size);
		if (i >= 2 && freed_early(i - 2)) {
			block(i - 2, &name, &size);
			if (pmmFree(&name) != 0) {
				fprintf(stderr, "pmmFree: %s\n", pmmErrorMsg());
				return 2;
			}
		}
	}
	if (pmmFreeAll(KEY, sizeof(KEY)) != 0) {
		fprintf(stderr, "pmmFreeAll: %s\n", pmmErrorMsg());
		return 2;
	}
	return 0;
}

/* Clears the boot id of the bank file: the power failed. */
static int
reboot(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/RAM.pmm", dir);
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	char zero[PMM__BOOT_ID] = { 0 };
	ssize_t w = pwrite(fd, zero, sizeof(zero),
		offsetof(struct pmm__hdr, boot_id));
	close(fd);
	return w == (ssize_t)sizeof(zero) ? 0 : -1;
}

/* Checks the bank of dir against the workload's model. */
static int
check(const char *dir)
{
	if (reboot(dir) != 0 || setenv("PMM_DIR", dir, 1) != 0) {
		printf("%s/RAM.pmm: cannot clear the boot id\n", dir);
		return 1;
	}
	unsigned last = 0;
	int any = 0;
	static unsigned char present[MAXN];
	for (unsigned i = 0; i < MAXN; i++) {
		PmmName name;
		size_t size;
		unsigned char *p;
		block(i, &name, &size);
		KnError rc = pmmAllocate((VmAddr *)&p, &name, 0, NULL, 0);
		if (rc == K_ESIZE)
			continue;	/* no such block */
		if (rc != K_OK) {
			printf("%s: %s\n", name.name, pmmErrorMsg());
			return 1;
		}
		present[i] = 1;
		any = 1;
		last = i;
		int fill = 0;
		for (size_t k = 0; k < size; k++) {
			if (k % 64 == 0)	/* the fill persists line by line */
				fill = p[k] == (unsigned char)(i + 1) ? i + 1 : 0;
			if (p[k] != fill) {
				printf("%s: byte %zu is %u, want %d\n",
					name.name, k, p[k], fill);
				return 1;
			}
		}
	}
	/* once block j + 2 exists, block j (freed early) must be gone */
	for (unsigned j = 0; any && j + 2 < last; j++)
		if (freed_early(j) && present[j] && present[j + 3]) {
			printf("w.%u still there after w.%u was made\n", j,
				j + 3);
			return 1;
		}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "run") == 0) {
		unsigned n = (unsigned)atoi(argv[2]);
		return n <= MAXN ? run(n) : 2;
	}
	if (argc == 3 && strcmp(argv[1], "reboot") == 0)
		return reboot(argv[2]) == 0 ? 0 : 1;
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return check(argv[2]);
	fprintf(stderr, "usage: %s run N | reboot DIR | check DIR\n",
		argv[0]);
	return 2;
}

/*
 * pmm-shm.c -- the POSIX shared-memory anchors: what a program without
 * libpmm would do to get a named 4 KiB object that survives the process.
 *
 * Each sample times, in batches of PB_BATCH objects named
 * /pmm-bench-PID-I (in /dev/shm):
 *
 *   shm-create   shm_open(O_CREAT | O_EXCL) + ftruncate(4 KiB) + mmap;
 *                the descriptors stay open and the mappings stay until
 *                after the batch (munmap and close are not timed)
 *   shm-touch    the first store to each new mapping: the page fault and
 *                the kernel's zero fill, which pmmAllocate has already
 *                done before it returns (shown apart, not in the anchor)
 *   shm-open     shm_open of an existing object + mmap, in random order
 *                (again munmap and close are not timed)
 *   shm-destroy  munmap + close + shm_unlink of a mapped object, in
 *                random order
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pmm-bench.h"

static char names[PB_BATCH][64];
static int fds[PB_BATCH];
static void *maps[PB_BATCH];
static uint32_t perm[PB_BATCH];
static uint64_t rng = 0x5deece66dULL;

/* Unmap and close every object of the batch (untimed). */
static void
release_all(void)
{
	for (size_t i = 0; i < PB_BATCH; i++) {
		if (maps[i] != MAP_FAILED && maps[i] != NULL)
			munmap(maps[i], PB_BLOCK);
		if (fds[i] >= 0)
			close(fds[i]);
		maps[i] = NULL;
		fds[i] = -1;
	}
}

/* Remove whatever a failed sample left in /dev/shm. */
static void
unlink_all(void)
{
	for (size_t i = 0; i < PB_BATCH; i++)
		shm_unlink(names[i]);
}

/* Report a failed call and clean up before giving up. */
static int
fail(const char *what)
{
	perror(what);
	release_all();
	unlink_all();
	return 1;
}

/* One sample of create, touch, open and destroy; printed if print. */
static int
sample(int print)
{
	double t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++) {
		fds[i] = shm_open(names[i], O_RDWR | O_CREAT | O_EXCL, 0600);
		if (ftruncate(fds[i], PB_BLOCK) != 0)
			maps[i] = MAP_FAILED;
		else
			maps[i] = mmap(NULL, PB_BLOCK, PROT_READ | PROT_WRITE,
				MAP_SHARED, fds[i], 0);
	}
	double create = (pb_now_ns() - t0) / PB_BATCH;
	for (size_t i = 0; i < PB_BATCH; i++)
		if (fds[i] < 0 || maps[i] == MAP_FAILED)
			return fail("pmm-bench: shm_open+ftruncate+mmap");
	t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++)
		*(volatile char *)maps[i] = 1;
	double touch = (pb_now_ns() - t0) / PB_BATCH;
	release_all();

	for (size_t i = 0; i < PB_BATCH; i++)
		perm[i] = (uint32_t)i;
	pb_shuffle(perm, PB_BATCH, &rng);
	t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++) {
		uint32_t j = perm[i];
		fds[j] = shm_open(names[j], O_RDWR, 0);
		maps[j] = mmap(NULL, PB_BLOCK, PROT_READ | PROT_WRITE,
			MAP_SHARED, fds[j], 0);
	}
	double open = (pb_now_ns() - t0) / PB_BATCH;
	for (size_t i = 0; i < PB_BATCH; i++)
		if (fds[i] < 0 || maps[i] == MAP_FAILED ||
				*(volatile char *)maps[i] != 1)
			return fail("pmm-bench: shm_open+mmap");

	pb_shuffle(perm, PB_BATCH, &rng);
	int bad = 0;
	t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++) {
		uint32_t j = perm[i];
		bad |= munmap(maps[j], PB_BLOCK);
		bad |= close(fds[j]);
		bad |= shm_unlink(names[j]);
	}
	double destroy = (pb_now_ns() - t0) / PB_BATCH;
	for (size_t i = 0; i < PB_BATCH; i++) {
		maps[i] = NULL;
		fds[i] = -1;
	}
	if (bad)
		return fail("pmm-bench: munmap+close+shm_unlink");
	if (print) {
		pb_sample("shm-create", 0, 1, create);
		pb_sample("shm-touch", 0, 1, touch);
		pb_sample("shm-open", 0, 1, open);
		pb_sample("shm-destroy", 0, 1, destroy);
	}
	return 0;
}

/* A warm-up sample, then reps printed ones. */
int
pb_shm_anchors(int reps)
{
	pb_pin();
	for (size_t i = 0; i < PB_BATCH; i++) {
		snprintf(names[i], sizeof(names[i]), "/pmm-bench-%d-%zu",
			(int)getpid(), i);
		fds[i] = -1;
	}
	unlink_all();
	for (int s = 0; s <= reps; s++)
		if (sample(s > 0) != 0)
			return 1;
	return 0;
}

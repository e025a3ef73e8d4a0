/*
 * dax_probe.c -- maps real persistent memory (a Device DAX device, or a
 * file on a file system mounted with -o dax) and checks that libpmem sees
 * it as such: is_pmem, alignment, persist, deep persist, reopen.
 *
 * usage: dax_probe devdax DEVICE | dax_probe fsdax DIRECTORY
 */
#include <errno.h>
#include <libpmem.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FSDAX_LEN ((size_t)4 << 20)

/* Prints a failure and returns 1. */
static int
fail(const char *what)
{
	fprintf(stderr, "FAIL: %s: %s (errno %d)\n", what, pmem_errormsg(),
		errno);
	return 1;
}

/* Writes, persists and deep-persists a pattern; 0 on success. */
static int
exercise(char *p, size_t len)
{
	for (size_t i = 0; i < 4096; i++)
		p[i] = (char)(i * 7);
	pmem_persist(p, 4096);
	pmem_memcpy_persist(p + len - 64, "end", 4);
	if (pmem_deep_persist(p, 4096) != 0 && errno != ENOTSUP)
		return fail("pmem_deep_persist");
	return 0;
}

/* Device DAX: the whole device, its own alignment, is_pmem 1. */
static int
devdax(const char *dev)
{
	size_t len;
	int is_pmem;
	char *p = pmem_map_file(dev, 0, PMEM_FILE_CREATE, 0, &len, &is_pmem);
	if (p == NULL)
		return fail("pmem_map_file of the device");
	if (!is_pmem || pmem_is_pmem(p, len) != 1)
		return fail("Device DAX is not pmem");
	if (pmem_map_file(dev, 0, PMEM_FILE_EXCL, 0, NULL, NULL) != NULL ||
			errno != EINVAL)
		return fail("EXCL accepted on Device DAX");
	if (exercise(p, len))
		return 1;
	if (pmem_unmap(p, len) != 0)
		return fail("pmem_unmap");
	printf("devdax %s: %zu bytes, is_pmem 1, deep persist ok\n", dev, len);
	return 0;
}

/* A file on fs-dax: MAP_SYNC, so is_pmem 1; data survives a remap. */
static int
fsdax(const char *dir)
{
	char path[4096];
	size_t len;
	int is_pmem;
	snprintf(path, sizeof(path), "%s/dax_probe.%d", dir, (int)getpid());
	char *p = pmem_map_file(path, FSDAX_LEN,
		PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, &len, &is_pmem);
	if (p == NULL)
		return fail("pmem_map_file on fs-dax");
	int ret = 1;
	if (!is_pmem || len != FSDAX_LEN || ((uintptr_t)p & ((2 << 20) - 1)))
		fail("fs-dax mapping is not MAP_SYNC pmem or not aligned");
	else if (exercise(p, len) == 0 && pmem_unmap(p, len) == 0) {
		p = pmem_map_file(path, 0, 0, 0, &len, &is_pmem);
		if (p == NULL || memcmp(p + len - 64, "end", 4) != 0 ||
				p[4095] != (char)(4095 * 7))
			fail("data lost across remap");
		else
			ret = 0;
		if (p != NULL)
			pmem_unmap(p, len);
	}
	unlink(path);
	if (ret == 0)
		printf("fsdax %s: MAP_SYNC, is_pmem 1, data kept\n", dir);
	return ret;
}

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "devdax") == 0)
		return devdax(argv[2]);
	if (argc == 3 && strcmp(argv[1], "fsdax") == 0)
		return fsdax(argv[2]);
	fprintf(stderr, "usage: %s devdax DEVICE | fsdax DIRECTORY\n",
		argv[0]);
	return 2;
}

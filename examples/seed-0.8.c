/*
 * seed-0.8.c -- a program written to LINUX_PMEM_API 0.8 as the seed
 * document shows it: open, pmem_map, stores, pmem_persist with three
 * arguments, and the partial flush calls.
 *
 * usage: seed-0.8 FILE    (FILE must exist and be at least 4 KiB)
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <pmem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	const size_t len = 4096;
	int fd;
	char *base;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	if ((fd = open(argv[1], O_RDWR)) < 0) {
		perror(argv[1]);
		return 1;
	}
	if ((base = pmem_map(fd, len)) == NULL) {
		perror("pmem_map");
		return 1;
	}
	close(fd);

	strcpy(base, "hello, 0.8");
	pmem_persist(base, strlen(base) + 1, 0);

	/* two discontiguous ranges, one fence and one drain */
	strcpy(base + 1024, "range one");
	strcpy(base + 2048, "range two");
	pmem_flush_cache(base + 1024, 10, 0);
	pmem_flush_cache(base + 2048, 10, 0);
	pmem_fence();
	pmem_drain_pm_stores();

	printf("%s / %s / %s\n", base, base + 1024, base + 2048);
	munmap(base, len);
	return 0;
}

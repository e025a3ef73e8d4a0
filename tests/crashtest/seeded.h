/*
 * seeded.h -- the frame of the seeded-bug programs of pmem-crashtest's
 * corpus: each program defines run() (the workload, on a fresh 4 KiB
 * file) and check() (its recovery and invariant, on a crash image), and
 * each is built twice, with its bug and with -DFIXED.
 *
 *	PROG run FILE	creates FILE and runs the workload
 *	PROG check FILE	exits 0 when the invariant holds, 1 when not
 *
 * The line of the persist point where the bug shows carries a BUG
 * marker comment: the test wants pmem-crashtest to name that line.
 */
#ifndef SEEDED_H
#define SEEDED_H 1

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libpmem.h>

#define POOL_SIZE 4096

static void run(unsigned char *pool);
static int check(const unsigned char *pool);

/* Maps FILE (creating it for run), then runs the workload or the check. */
int
main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "run") && strcmp(argv[1], "check"))) {
		fprintf(stderr, "usage: %s run|check FILE\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "run") == 0) {
		size_t len;
		unsigned char *p = pmem_map_file(argv[2], POOL_SIZE,
			PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, &len, NULL);
		if (p == NULL) {
			fprintf(stderr, "%s: %s\n", argv[2], pmem_errormsg());
			return 2;
		}
		run(p);
		pmem_unmap(p, len);
		return 0;
	}
	int fd = open(argv[2], O_RDONLY);
	unsigned char buf[POOL_SIZE];
	if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		fprintf(stderr, "%s: cannot read\n", argv[2]);
		return 2;
	}
	close(fd);
	return check(buf) ? 0 : 1;
}

#endif /* SEEDED_H */

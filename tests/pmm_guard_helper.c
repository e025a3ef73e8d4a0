/*
 * pmm_guard_helper -- the libpmm calls pmm-users.sh makes as one user or
 * another (and as a set-user-ID copy of itself):
 *   env              the RAM bank's path and pmm.maxBlocks in force
 *   alloc NAME TEXT  allocate RAM block NAME (one page), write TEXT in it
 *   get NAME         retrieve RAM block NAME and print its text
 *   hold-copy COPY   take the RAM bank's lock, copy the bank file to COPY
 *                    (as cp would), and exit still holding the lock
 * Prints "rc=CODE TEXT-OR-MESSAGE"; exits 0 unless the arguments are bad.
 * Linked statically with libpmm and libpmem: it runs outside the build
 * tree, and set-user-ID programs ignore LD_LIBRARY_PATH.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pmm.h"

/* LeakSanitizer cannot work in a set-user-ID process (it needs to
 * ptrace itself): the sanitizer builds read their options from here. */
const char *__asan_default_options(void);
const char *__lsan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
const char *
__lsan_default_options(void)
{
	return "detect_leaks=0";
}

/* Print a call's result: its text when it succeeded, else the message. */
static int
show(int rc, const char *text)
{
	printf("rc=%d %s\n", rc, rc == K_OK ? text : pmmErrorMsg());
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Copy the RAM bank to copy while holding its lock; exit holding it. */
static int
hold_copy(const char *copy)
{
	struct pmm__bank *b;
	char buf[65536];
	ssize_t n;
	int rc = pmm__bank_get_existing("RAM", &b);
	if (rc == K_OK)
		rc = pmm__lock(b);
	if (rc != K_OK)
		return show(rc, "");
	int in = open(b->path, O_RDONLY), out = open(copy, O_WRONLY |
			O_CREAT | O_EXCL, 0600);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (in < 0 || out < 0 || close(out) != 0) {
		perror(copy);
		return 1;
	}
	printf("rc=0 copied while locked\n");
	fflush(stdout);
	_exit(0);
}

/* Run one command. */
int
main(int argc, char **argv)
{
	PmmName n;
	VmAddr a = 0;
	memset(&n, 0, sizeof(n));
	strcpy(n.medium, "RAM");
	if (argc == 2 && strcmp(argv[1], "env") == 0) {
		struct pmm__config c;
		char path[PATH_MAX], out[PATH_MAX + 64];
		int dflt, rc = pmm__config_load(&c);
		if (rc == K_OK)
			rc = pmm__medium_path(&c, "RAM", path, sizeof(path),
					&dflt);
		if (rc == K_OK)
			snprintf(out, sizeof(out), "%s maxBlocks=%llu", path,
					(unsigned long long)c.max_blocks);
		return show(rc, out);
	}
	if (argc == 4 && strcmp(argv[1], "alloc") == 0 &&
			strlen(argv[2]) < sizeof(n.name) &&
			strlen(argv[3]) < 4096) {
		strcpy(n.name, argv[2]);
		int rc = pmmAllocate(&a, &n, 4096, NULL, 0);
		if (rc == K_OK)
			strcpy((char *)a, argv[3]);
		return show(rc, argv[3]);
	}
	if (argc == 3 && strcmp(argv[1], "get") == 0 &&
			strlen(argv[2]) < sizeof(n.name)) {
		strcpy(n.name, argv[2]);
		int rc = pmmAllocate(&a, &n, 0, NULL, 0);
		return show(rc, rc == K_OK ? (char *)a : "");
	}
	if (argc == 3 && strcmp(argv[1], "hold-copy") == 0)
		return hold_copy(argv[2]);
	fprintf(stderr, "usage: pmm_guard_helper env | alloc NAME TEXT | get NAME | hold-copy COPY\n");
	return 2;
}

/*
 * pmem-demo -- what libpmem does, in one run:
 *  1. the 1.x API: map a file, copy into it durably, read it back;
 *  2. the 0.8 API in fault-injection mode: a child stores two records,
 *     persists only the first and is killed; the file holds exactly what
 *     was persisted.
 *
 * usage: pmem-demo [DIR]   (default /dev/shm, else /tmp)
 */
#include <errno.h>
#include <fcntl.h>
#include <pmem.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN 4096

/* Part 1: pmem_map_file, pmem_memcpy_persist, pmem_unmap. */
static int
demo_1x(const char *dir)
{
	char path[4096];
	size_t mapped;
	int is_pmem;
	const char msg[] = "written with pmem_memcpy_persist";

	snprintf(path, sizeof(path), "%s/pmem-demo-1x.%d", dir, (int)getpid());
	char *p = pmem_map_file(path, LEN, PMEM_FILE_CREATE | PMEM_FILE_EXCL,
		0600, &mapped, &is_pmem);
	if (p == NULL) {
		fprintf(stderr, "pmem_map_file %s: %s\n", path, pmem_errormsg());
		return 1;
	}
	printf("1.x: mapped %s: %zu bytes at %p, is_pmem %d, auto flush %d\n",
		path, mapped, (void *)p, is_pmem, pmem_has_auto_flush());
	if (is_pmem)
		pmem_memcpy_persist(p, msg, sizeof(msg));
	else {
		pmem_memcpy(p, msg, sizeof(msg), PMEM_F_MEM_NOFLUSH);
		pmem_msync(p, sizeof(msg));
	}
	pmem_unmap(p, mapped);

	/* an error, reported three ways: return value, errno, message */
	if (pmem_map_file(path, 0, PMEM_FILE_CREATE, 0600, NULL, NULL) == NULL)
		printf("1.x: len 0 with PMEM_FILE_CREATE -> errno %s, \"%s\"\n",
			errno == EINVAL ? "EINVAL" : "other", pmem_errormsg());

	p = pmem_map_file(path, 0, 0, 0, &mapped, NULL);
	if (p == NULL)
		return 1;
	printf("1.x: reopened, the file says \"%s\"\n", p);
	pmem_unmap(p, mapped);
	unlink(path);
	return 0;
}

/* The child of part 2: fit mode, one persisted record, one not, crash. */
static void
crash_child(const char *path)
{
	pmem_fit_mode();
	int fd = open(path, O_RDWR);
	char *base = pmem_map(fd, LEN);
	if (base == NULL)
		_exit(1);
	strcpy(base, "record 1: persisted");
	pmem_persist(base, 64, 0);
	strcpy(base + 64, "record 2: stored, never persisted");
	raise(SIGKILL);
	_exit(1);
}

/* Part 2: pmem_fit_mode shows what survives a crash. */
static int
demo_08(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/pmem-demo-0.8.%d", dir, (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, LEN) != 0) {
		perror(path);
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0)
		crash_child(path);
	int status;
	waitpid(pid, &status, 0);
	printf("0.8: child stored two records, persisted one, died of %s\n",
		WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit");

	char buf[128] = { 0 };
	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return 1;
	printf("0.8: after the crash the file holds: \"%s\" and \"%s\"\n",
		buf, buf[64] ? buf + 64 : "(nothing)");
	close(fd);
	unlink(path);
	return buf[64] != 0;
}

int
main(int argc, char *argv[])
{
	const char *dir = argc > 1 ? argv[1] : "/dev/shm";
	struct stat st;
	if (argc == 1 && stat(dir, &st) != 0)
		dir = "/tmp";
	const char *v = pmem_check_version(PMEM_MAJOR_VERSION,
		PMEM_MINOR_VERSION);
	if (v != NULL) {
		fprintf(stderr, "%s\n", v);
		return 1;
	}
	if (demo_1x(dir) != 0 || demo_08(dir) != 0)
		return 1;
	printf("demo finished\n");
	return 0;
}

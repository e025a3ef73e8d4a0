/*
 * image.c -- the captured images of the members: a copy of each
 * member's program taken when it first starts, so that a restart runs
 * the program that crashed even if its file was replaced or removed.
 * They live in <dir>/hrctl.images, opened once, never through a link.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

/* Open the program at path for reading, only if it is a regular file;
 * -1 with errno and the reason in err otherwise.  The path is the
 * client's: opening a FIFO would wait for a writer, and a device's open
 * may wait or act, with the controller stopped inside it (deaf even to
 * SIGTERM, which it takes through a signalfd).  So the file is first
 * opened O_PATH, which calls no driver, and only a regular file is then
 * opened for reading, through that descriptor (the same file). */
static int
open_program(const char *path, struct stat *st, char *err, size_t errlen)
{
	int e = 0, fd = -1, pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, st) != 0) {
		e = errno;
		snprintf(err, errlen, "cannot read %.300s: %s", path,
				strerror(e));
	} else if (!S_ISREG(st->st_mode)) {
		e = EACCES;		/* as execve says */
		snprintf(err, errlen, "%.300s is not a regular file: refused",
				path);
	} else {
		char via[64];
		snprintf(via, sizeof(via), "/proc/self/fd/%d", pfd);
		fd = open(via, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			e = errno;
			snprintf(err, errlen, "cannot read %.300s: %s", path,
					strerror(e));
		}
	}
	if (pfd >= 0)
		close(pfd);
	errno = e;
	return fd;
}

/* Copy the executable at path into the image store as m<mid>; -1 with
 * errno and the reason (naming path) in err. */
int
image_capture(struct ctl *c, const char *path, int mid, char *err,
		size_t errlen)
{
	struct stat st;
	int in = open_program(path, &st, err, errlen);
	if (in < 0)
		return -1;
	char name[32];
	snprintf(name, sizeof(name), "m%d", mid);
	unlinkat(c->imgfd, name, 0);
	int out = openat(c->imgfd, name, O_WRONLY | O_CREAT | O_EXCL |
			O_NOFOLLOW | O_CLOEXEC, 0700);
	int rc = out < 0 ? -1 : 0, e = out < 0 ? errno : 0;
	off_t off = 0;
	while (rc == 0 && off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			rc = -1;
		}
	}
	close(in);
	if (out >= 0 && close(out) != 0 && rc == 0) {
		e = errno;
		rc = -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot capture %.300s: %s", path,
				strerror(e));
		if (out >= 0)
			unlinkat(c->imgfd, name, 0);
		errno = e;
	}
	return rc;
}

/* Open the image of member mid for fexecve; only a regular file of this
 * user that nobody else may write is run.  Kept across exec when it is
 * a script (the interpreter reads it through /dev/fd). */
int
image_open(struct ctl *c, int mid)
{
	char name[32];
	snprintf(name, sizeof(name), "m%d", mid);
	int fd = openat(c->imgfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	char magic[2] = "";
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
			st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		close(fd);
		errno = EACCES;
		return -1;
	}
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == '#' && magic[1] == '!')
		fcntl(fd, F_SETFD, 0);
	return fd;
}

/* Remove the image of member mid. */
void
image_remove(struct ctl *c, int mid)
{
	char name[32];
	snprintf(name, sizeof(name), "m%d", mid);
	unlinkat(c->imgfd, name, 0);
}

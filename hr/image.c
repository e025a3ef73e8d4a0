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

/* Copy the executable at path into the image store as m<mid>. */
int
image_capture(struct ctl *c, const char *path, int mid)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	struct stat st;
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(in);
		errno = EACCES;
		return -1;
	}
	char name[32];
	snprintf(name, sizeof(name), "m%d", mid);
	unlinkat(c->imgfd, name, 0);
	int out = openat(c->imgfd, name, O_WRONLY | O_CREAT | O_EXCL |
			O_NOFOLLOW | O_CLOEXEC, 0700);
	if (out < 0) {
		int err = errno;
		close(in);
		errno = err;
		return -1;
	}
	off_t off = 0;
	int rc = 0, err = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			rc = -1;
			break;
		}
	}
	close(in);
	if (close(out) != 0 && rc == 0) {
		err = errno;
		rc = -1;
	}
	if (rc != 0) {
		unlinkat(c->imgfd, name, 0);
		errno = err;
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

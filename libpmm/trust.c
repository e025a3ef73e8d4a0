/*
 * trust.c -- who may own the files libpmm uses.
 *
 * A bank holds pointers a program follows and data it believes: a bank
 * another local user can write is a way into that program.  So every open
 * (not only the creation) checks, on the descriptors it then uses:
 *   - the per-user directory /dev/shm/pmm-EUID: a real directory (never a
 *     symbolic link) of the caller, with no permission for group or other;
 *   - any other bank directory: the caller's or root's (its owner may
 *     rename or remove any file in it), and not writable by group or
 *     other unless sticky (then nobody else can);
 *   - the bank file: a regular file (opened O_NOFOLLOW) of the caller,
 *     not writable by group or other.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmm.h"

/* "uid N (name)" for a message; the name only when known. */
static void
owner_text(uid_t uid, char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, len, "uid %u (%s)", (unsigned)uid, pw.pw_name);
	else
		snprintf(out, len, "uid %u", (unsigned)uid);
}

/* The per-user default directory of banks: /dev/shm/pmm-EUID. */
int
pmm__default_dir(char *buf, size_t len)
{
	int n = snprintf(buf, len, "/dev/shm/pmm-%u", (unsigned)geteuid());
	return n > 0 && (size_t)n < len ? K_OK :
		pmm__fail(K_EINVAL, "default bank directory too long");
}

/* Whether dir is the per-user default directory. */
int
pmm__is_default_dir(const char *dir)
{
	char d[64];
	return pmm__default_dir(d, sizeof(d)) == K_OK && strcmp(d, dir) == 0;
}

/* Check the directory open at dfd (named dir) under the rules above. */
int
pmm__trust_dir(int dfd, const char *dir, int is_default)
{
	struct stat st;
	char who[128];
	if (fstat(dfd, &st) != 0)
		return pmm__fail_errno(K_ESYS, "cannot examine %s", dir);
	if (!S_ISDIR(st.st_mode))
		return pmm__fail(K_ESYS, "%s is not a directory", dir);
	if (is_default && st.st_uid != geteuid()) {
		owner_text(st.st_uid, who, sizeof(who));
		return pmm__fail(K_ESYS,
				"%s belongs to %s, not to this user (uid %u): refused (remove it, or set PMM_DIR)",
				dir, who, (unsigned)geteuid());
	}
	if (is_default && (st.st_mode & 077) != 0)
		return pmm__fail(K_ESYS,
				"%s has mode %04o: refused, it must be a private directory of this user (want mode 0700)",
				dir, (unsigned)(st.st_mode & 07777));
	/* its owner can rename or replace any file in it, sticky or not */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		owner_text(st.st_uid, who, sizeof(who));
		return pmm__fail(K_ESYS,
				"%s belongs to %s, neither this user (uid %u) nor root: refused, its owner could replace its banks",
				dir, who, (unsigned)geteuid());
	}
	if ((st.st_mode & 022) != 0 && !(st.st_mode & S_ISVTX))
		return pmm__fail(K_ESYS,
				"%s is writable by others without the sticky bit (mode %04o): refused, another user could replace its banks",
				dir, (unsigned)(st.st_mode & 07777));
	return K_OK;
}

/* Check the bank file open at fd (named path) under the rules above. */
int
pmm__trust_file(int fd, const char *path, struct stat *st)
{
	char who[128];
	if (fstat(fd, st) != 0)
		return pmm__fail_errno(K_ESYS, "cannot examine %s", path);
	if (!S_ISREG(st->st_mode))
		return pmm__fail(K_ESYS, "%s is not a regular file: refused",
				path);
	if (st->st_uid != geteuid()) {
		owner_text(st->st_uid, who, sizeof(who));
		return pmm__fail(K_ESYS,
				"bank %s belongs to %s, not to this user (uid %u): refused",
				path, who, (unsigned)geteuid());
	}
	if ((st->st_mode & 022) != 0)
		return pmm__fail(K_ESYS,
				"bank %s is writable by group or others (mode %04o): refused (chmod go-w)",
				path, (unsigned)(st->st_mode & 07777));
	return K_OK;
}

/* Split path into its directory and last name (both into bufs). */
int
pmm__split_path(const char *path, char dir[PATH_MAX], char base[NAME_MAX + 1])
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL) {
		strcpy(dir, ".");
		slash = path - 1;
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		if ((size_t)(slash - path) >= PATH_MAX)
			return pmm__fail(K_EINVAL, "bank path too long");
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = 0;
	}
	if (strlen(slash + 1) > NAME_MAX || slash[1] == 0)
		return pmm__fail(K_EINVAL, "bad bank file name in %s", path);
	strcpy(base, slash + 1);
	return K_OK;
}

/* Open the directory of path, checked; its descriptor in *dfd. */
int
pmm__open_bank_dir(const char *path, int *dfd, char base[NAME_MAX + 1])
{
	char dir[PATH_MAX];
	int rc = pmm__split_path(path, dir, base);
	if (rc != K_OK)
		return rc;
	int dflt = pmm__is_default_dir(dir);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
			(dflt ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (dflt && (errno == ELOOP || errno == ENOTDIR))
			return pmm__fail(K_ESYS,
					"%s is not a directory (a symbolic link?): refused",
					dir);
		return pmm__fail_errno(errno == ENOENT ? K_EUNKNOWN : K_ESYS,
				"cannot open bank directory %s", dir);
	}
	if ((rc = pmm__trust_dir(fd, dir, dflt)) != K_OK) {
		close(fd);
		return rc;
	}
	*dfd = fd;
	return K_OK;
}

/* Open the bank file base in directory dfd, never through a link. */
int
pmm__open_bank_file(int dfd, const char *base, const char *path, int flags,
		int *fd, struct stat *st)
{
	int f = openat(dfd, base, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
			O_NONBLOCK);
	if (f < 0) {
		if (errno == ELOOP)
			return pmm__fail(K_ESYS,
					"bank %s is a symbolic link: refused (banks are opened only as themselves)",
					path);
		return pmm__fail_errno(errno == ENOENT ? K_EUNKNOWN : K_ESYS,
				"cannot open bank %s", path);
	}
	int rc = pmm__trust_file(f, path, st);
	if (rc != K_OK) {
		close(f);
		return rc;
	}
	*fd = f;
	return K_OK;
}

/*
 * pmmctl-change.c -- the commands that change a bank: free and freeall
 * (through the library's own pmm__free_in and pmm__free_all_in on the
 * bank pmmctl opened, so that the commit, the refusals and the recovery
 * are the library's) and create.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hr/hr.h"
#include "pmmctl.h"

/* pmmctl free NAME: pmmFree, or the system's own free with --system. */
int
ctl_free(struct ctl *c, const char *name)
{
	struct pmm__bank *b;
	char nm[PMM_NAME_MAX] = { 0 };
	if (strlen(name) >= sizeof(nm)) {
		fprintf(stderr, "pmmctl: a block name has at most %zu bytes\n",
				sizeof(nm) - 1);
		return CTL_EXIT_ERROR;
	}
	if (*name == 0) {
		fprintf(stderr, "pmmctl: empty block name\n");
		return CTL_EXIT_ERROR;
	}
	strcpy(nm, name);
	int rc = ctl_open(c, &b);
	if (rc != K_OK)
		return ctl_report(rc, NULL);
	ctl_warn_tunables(c, &b->g);
	pmm__fail(K_OK, "%s", "");
	rc = pmm__free_in(b, nm, c->label, c->system ? PMM__F_SYSTEM : 0);
	pmm__bank_close(b);
	if (rc == K_EUNKNOWN) {
		fputs("pmmctl: no block \"", stderr);
		ctl_out_text_name(stderr, name);
		fprintf(stderr, "\" in %s (%s)\n", c->label, c->path);
		return CTL_EXIT_ERROR;
	}
	if (rc == K_ESYSTEM) {
		fprintf(stderr, "pmmctl: %s (--system frees it)\n",
				pmmErrorMsg());
		return CTL_EXIT_ERROR;
	}
	return rc == K_OK ? CTL_EXIT_OK : ctl_report(rc, NULL);
}

/* The value of a hex digit, or -1. */
static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode --hex HEX (an optional 0x, then pairs of digits) into buf;
 * NULL, or what is wrong with it. */
static const char *
parse_hex(const char *s, uint8_t *buf, size_t *len)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return "not a hex digit";
	if (n % 2 != 0)
		return "not an even number of hex digits";
	for (size_t i = 0; i < n; i += 2)
		buf[i / 2] = (uint8_t)(hexval(s[i]) << 4 | hexval(s[i + 1]));
	*len = n / 2;
	return NULL;
}

/* pmmctl freeall KEY: pmmFreeAll on this bank only. */
int
ctl_freeall(struct ctl *c, const char *key)
{
	struct pmm__bank *b;
	uint8_t *buf = NULL;
	const void *k;
	size_t ks;
	int rc, status;
	if (c->hex != NULL) {
		const char *why = "out of memory";
		buf = malloc(strlen(c->hex) / 2 + 1);
		if (buf == NULL ||
				(why = parse_hex(c->hex, buf, &ks)) != NULL) {
			fprintf(stderr, "pmmctl: --hex %s: %s\n", c->hex, why);
			free(buf);
			return CTL_EXIT_ERROR;
		}
		k = buf;
	} else {
		/* ChorusOS programs pass the key with sizeof: its NUL too */
		k = key;
		ks = strlen(key) + (c->no_nul ? 0 : 1);
	}
	if ((rc = ctl_open(c, &b)) != K_OK) {
		status = ctl_report(rc, NULL);
		goto out;
	}
	ctl_warn_tunables(c, &b->g);
	pmm__fail(K_OK, "%s", "");
	rc = pmm__free_all_in(b, k, ks, c->system ? PMM__F_SYSTEM : 0);
	pmm__bank_close(b);
	status = ctl_exit_code(rc);
	if (rc == K_EUNKNOWN) {
		fputs("pmmctl: no block has the key ", stderr);
		if (ks <= PMM_DELKEY_MAX)
			ctl_out_text_key(stderr, k, (uint32_t)ks);
		fprintf(stderr, " in %s (%s)\n", c->label, c->path);
	} else if (rc == K_EPRIV) {
		int group = ks == HR_GROUP_KEYSIZE &&
			memcmp(k, HR_GROUP_KEY, ks) == 0;
		fprintf(stderr, "pmmctl: %s%s\n", pmmErrorMsg(),
				c->system || group ? "" : " (--system frees them)");
	} else if (rc != K_OK) {
		status = ctl_report(rc, NULL);
	}
out:
	free(buf);
	return status;
}

/* Read the start of a header; -1 if the file cannot be read. */
static int
read_header(const char *path, struct pmm__hdr *h, ssize_t *got)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	memset(h, 0, sizeof(*h));
	*got = pread(fd, h, sizeof(*h), 0);
	close(fd);
	return *got < 0 ? -1 : 0;
}

/* Make the directory entry of path durable (a DAX medium survives power
 * loss; its bank should too). */
static void
sync_dir(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return;
	if (slash == dir)
		slash[1] = 0;
	else
		*slash = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Build a new bank beside the old one, then rename it over: programs
 * that have the old one mapped keep using the old file.  The new file
 * gets the old one's mode (and, for root, its owner): the programs that
 * could use the old bank must be able to use the new one. */
static int
replace(const struct ctl *c, const struct stat *old, uint64_t size,
		uint64_t maxb)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.pmmctl.%d", c->path,
				(int)getpid()) >= (int)sizeof(tmp))
		return pmm__fail(K_EINVAL, "bank path too long");
	unlink(tmp);		/* a leftover of a killed pmmctl of our pid */
	int rc = pmm__bank_create(tmp, c->label, size, maxb);
	if (rc == K_EBUSY)
		rc = pmm__fail(K_EBUSY, "%s appeared while creating it", tmp);
	if (rc != K_OK)
		return rc;
	if ((geteuid() == 0 && chown(tmp, old->st_uid, old->st_gid) != 0) ||
			chmod(tmp, old->st_mode & 07777) != 0) {
		rc = pmm__fail_errno(K_ESYS, "cannot give %s the mode and owner of %s",
				tmp, c->path);
		unlink(tmp);
		return rc;
	}
	if (rename(tmp, c->path) != 0) {
		rc = pmm__fail_errno(K_ESYS, "cannot rename %s to %s", tmp,
				c->path);
		unlink(tmp);
		return rc;
	}
	/* the address map knew the new bank by its temporary name */
	struct pmm__hdr h;
	int fd = open(c->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h))
		pmm__addr_register(fd, c->path, h.base, h.file_size);
	if (fd >= 0)
		close(fd);
	return K_OK;
}

/* pmmctl create: a bank with the given tunables (by default those in
 * force); an existing bank only with --force. */
int
ctl_create(struct ctl *c)
{
	uint64_t size = c->size_set ? c->size : c->conf.rambank_size;
	uint64_t maxb = c->max_set ? c->max_blocks : c->conf.max_blocks;
	struct stat st;
	struct pmm__hdr h;
	ssize_t got;
	int rc;
	int exists = lstat(c->path, &st) == 0;
	if (!exists && errno != ENOENT) {
		pmm__fail_errno(K_ESYS, "%s", c->path);
		return ctl_report(K_ESYS, NULL);
	}
	if (exists && !c->force) {
		fprintf(stderr, "pmmctl: %s exists (create --force replaces it)\n",
				c->path);
		return CTL_EXIT_ERROR;
	}
	if (exists) {
		/* never replace what is not a bank: -f may name any file */
		if (!S_ISREG(st.st_mode) || read_header(c->path, &h, &got) != 0 ||
				(got >= 8 && memcmp(h.magic, PMM__MAGIC, 8) != 0)) {
			fprintf(stderr, "pmmctl: %s is not a bank file: not replaced\n",
					c->path);
			return CTL_EXIT_ERROR;
		}
		if (c->medium == NULL && got >= (ssize_t)sizeof(h) &&
				memchr(h.medium, 0, sizeof(h.medium)) != NULL &&
				h.medium[0] != 0)
			snprintf(c->label, sizeof(c->label), "%s", h.medium);
	}
	pmm__fail(K_OK, "%s", "");
	if ((rc = pmm__ensure_dir(c->path, c->default_dir)) != K_OK)
		return ctl_report(rc, NULL);
	if (exists) {
		rc = replace(c, &st, size, maxb);
	} else {
		rc = pmm__bank_create(c->path, c->label, size, maxb);
		if (rc == K_EBUSY)
			rc = pmm__fail(K_EBUSY, "%s appeared while creating it",
					c->path);
	}
	if (rc != K_OK)
		return ctl_report(rc, "create");
	sync_dir(c->path);
	if (read_header(c->path, &h, &got) == 0 && got == (ssize_t)sizeof(h))
		printf("%s %s: medium %s, pmm.rambankSize 0x%llx, pmm.maxBlocks %llu, address 0x%llx\n",
				exists ? "replaced" : "created", c->path,
				h.medium, (unsigned long long)h.bank_size,
				(unsigned long long)h.max_blocks,
				(unsigned long long)h.base);
	return CTL_EXIT_OK;
}

/* pmmctl move: give a bank that no process has open a free address that
 * overlaps no other bank of this user (a copy that collides with its
 * original), keeping its blocks; pointers stored into them go stale. */
int
ctl_move(struct ctl *c)
{
	uint64_t from = 0, to = 0;
	pmm__fail(K_OK, "%s", "");
	int rc = pmm__bank_move(c->path, &from, &to);
	if (rc != K_OK)
		return ctl_report(rc, "move");
	printf("moved %s from address 0x%llx to 0x%llx\n", c->path,
			(unsigned long long)from, (unsigned long long)to);
	fprintf(stderr,
			"pmmctl: warning: the blocks of %s now lie at other addresses: pointers into them stored anywhere (in this bank or another) still hold the old addresses and are now wrong\n",
			c->path);
	return CTL_EXIT_OK;
}

/* pmmctl upgrade: rewrite a layout-1, -2 or -3 bank that no process has
 * open as layout 4, every block at its address (libpmm/upgrade.c). */
int
ctl_upgrade(struct ctl *c)
{
	struct pmm__upgrade r;
	memset(&r, 0, sizeof(r));
	pmm__fail(K_OK, "%s", "");
	int rc = pmm__bank_upgrade(c->path, &r);
	if (rc == PMM__CURRENT) {
		fprintf(stderr, "pmmctl: upgrade: %s\n", pmmErrorMsg());
		return CTL_EXIT_CURRENT;
	}
	if (rc != K_OK)
		return ctl_report(rc, "upgrade");
	printf("upgraded %s to layout %d: %llu blocks at their addresses\n",
			c->path, PMM__LAYOUT, (unsigned long long)r.nblocks);
	/* the index's size changes with the layout: said once, here, and by
	 * the library's tunables warning when the configuration sets the old
	 * values */
	if (r.to_mb != r.from_mb)
		printf("pmm.maxBlocks is now %llu (was %llu), so that the new index ends where the blocks begin\n",
				(unsigned long long)r.to_mb,
				(unsigned long long)r.from_mb);
	if (r.to_size != r.from_size)
		printf("pmm.rambankSize is now 0x%llx (was 0x%llx): free pages added at the top, so that the new index ends where the blocks begin\n",
				(unsigned long long)r.to_size,
				(unsigned long long)r.from_size);
	return CTL_EXIT_OK;
}

/*
 * config.c -- tunables under their ChorusOS names, and where banks live.
 *
 * The file named by PMM_CONF (default /etc/pmm.conf when it exists) holds
 * "name = value" lines, "#" comments, decimal or 0x hex numbers; then
 * PMM_TUNABLES ("name=value" items separated by ';' or newlines)
 * overrides it.  Media other than RAM are "pmm.medium.NAME = /path".
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmm.h"

#define DEFAULT_CONF "/etc/pmm.conf"

static void
defaults(struct pmm__config *c)
{
	/* the media arrays (64 KiB) are read only up to nmedia: zeroing
	 * them would cost pmmFreeAll a microsecond */
	memset(c, 0, offsetof(struct pmm__config, media_name));
	c->source[0] = 0;
	c->rambank_size = 0x100000;
	c->max_blocks = 30;
	c->hr_maxprocesses = 32;
	c->hr_maxgroups = 32;
	c->hr_interval = 3;
	c->hr_maxbadness = 25;
	c->hr_maxbackoff = 1000;
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int
number(const char *v, uint64_t *out)
{
	int base = 10;
	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		v += 2;
	}
	if (*v == 0 || !isxdigit((unsigned char)*v))
		return -1;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, base);
	if (errno != 0 || *end != 0)
		return -1;
	*out = n;
	return 0;
}

struct tunable {
	const char *name;
	size_t off;
	uint64_t min, max;
	unsigned bit;
};

static const struct tunable tunables[] = {
	{ "pmm.rambankSize", offsetof(struct pmm__config, rambank_size),
		1, 1ULL << 42, PMM__SET_RAMBANK },
	{ "pmm.maxBlocks", offsetof(struct pmm__config, max_blocks),
		1, PMM__MAX_BLOCKS, PMM__SET_MAXBLOCKS },
	/* ChorusOS: more than 65536 processes means 65536 */
	{ "hrCtrl.maxprocesses", offsetof(struct pmm__config, hr_maxprocesses),
		1, UINT64_MAX, 0 },
	{ "hrCtrl.maxGroups", offsetof(struct pmm__config, hr_maxgroups),
		1, 65536, 0 },
	{ "hrCtrl.interval", offsetof(struct pmm__config, hr_interval),
		1, 86400, 0 },
	{ "hrCtrl.maxBadness", offsetof(struct pmm__config, hr_maxbadness),
		0, 1000000, 0 },
	/* Linux: the longest delay (ms) between restarts of one group */
	{ "hrCtrl.maxBackoff", offsetof(struct pmm__config, hr_maxbackoff),
		0, 3600000, 0 },
};

static int
set_medium(struct pmm__config *c, const char *name, const char *path,
		const char *where)
{
	if (*name == 0 || strlen(name) >= PMM_MEDIUM_MAX)
		return pmm__fail(K_ECONFIG, "%s: medium name \"%s\" empty or longer than %d",
				where, name, PMM_MEDIUM_MAX - 1);
	if (path[0] != '/')
		return pmm__fail(K_ECONFIG, "%s: medium %s needs an absolute path",
				where, name);
	if (strlen(path) >= PATH_MAX)
		return pmm__fail(K_ECONFIG,
				"%s: medium %s: path too long (%zu bytes, at most %d)",
				where, name, strlen(path), PATH_MAX - 1);
	unsigned i;
	for (i = 0; i < c->nmedia; i++)
		if (strcmp(c->media_name[i], name) == 0)
			break;
	if (i == c->nmedia) {
		if (c->nmedia == PMM__MAX_MEDIA)
			return pmm__fail(K_ECONFIG, "%s: more than %d media",
					where, PMM__MAX_MEDIA);
		c->nmedia++;
	}
	strcpy(c->media_name[i], name);
	strcpy(c->media_path[i], path);
	return K_OK;
}

static int
assign(struct pmm__config *c, char *name, char *value, const char *where)
{
	name = trim(name);
	value = trim(value);
	if (strncmp(name, "pmm.medium.", 11) == 0)
		return set_medium(c, name + 11, value, where);
	for (size_t i = 0; i < sizeof(tunables) / sizeof(tunables[0]); i++) {
		const struct tunable *t = &tunables[i];
		if (strcmp(name, t->name) != 0)
			continue;
		uint64_t v;
		if (number(value, &v) != 0)
			return pmm__fail(K_ECONFIG,
					"%s: %s = \"%s\" is not a decimal or 0x hex number",
					where, name, value);
		if (v < t->min || v > t->max)
			return pmm__fail(K_ECONFIG,
					"%s: %s = %llu out of range (%llu..%llu)",
					where, name, (unsigned long long)v,
					(unsigned long long)t->min,
					(unsigned long long)t->max);
		if (strcmp(name, "hrCtrl.maxprocesses") == 0 && v > 65536)
			v = 65536;
		memcpy((char *)c + t->off, &v, sizeof(v));
		c->set |= t->bit;
		return K_OK;
	}
	return pmm__fail(K_ECONFIG, "%s: unknown tunable \"%s\"", where, name);
}

/* Apply "name = value" lines (or ';'-separated items) from text. */
int
pmm__config_parse(struct pmm__config *c, const char *text, const char *origin)
{
	char *copy = strdup(text);
	if (copy == NULL)
		return pmm__fail_errno(K_ESYS, "%s", origin);
	int rc = K_OK, line = 0;
	for (char *ln = copy, *nextln; ln != NULL && rc == K_OK;
			ln = nextln) {
		nextln = strchr(ln, '\n');
		if (nextln != NULL)
			*nextln++ = 0;
		line++;
		/* a comment runs to the end of its line, past any ';' */
		char *hash = strchr(ln, '#');
		if (hash != NULL)
			*hash = 0;
		for (char *item = ln, *next; item != NULL && rc == K_OK;
				item = next) {
			next = strchr(item, ';');
			if (next != NULL)
				*next++ = 0;
			char *s = trim(item);
			if (*s == 0)
				continue;
			char where[PATH_MAX + 32];
			snprintf(where, sizeof(where), "%s:%d", origin, line);
			char *eq = strchr(s, '=');
			if (eq == NULL) {
				rc = pmm__fail(K_ECONFIG,
						"%s: \"%s\" is not name = value",
						where, s);
				break;
			}
			*eq = 0;
			rc = assign(c, s, eq + 1, where);
		}
	}
	free(copy);
	return rc;
}

#define CONF_MAX (1u << 20)	/* a configuration file's size limit */

/* The line (from 1) of text[off]. */
static int
line_of(const char *text, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/* Read the configuration file: a regular file of at most CONF_MAX bytes
 * without NUL bytes (a FIFO or a device would block every call). */
static int
read_file(const char *path, char **text)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return pmm__fail_errno(K_ECONFIG, "cannot read %s", path);
	struct stat st;
	int rc = K_OK;
	char *buf = NULL;
	size_t n = 0;
	if (fstat(fd, &st) != 0)
		rc = pmm__fail_errno(K_ECONFIG, "cannot read %s", path);
	else if (!S_ISREG(st.st_mode))
		rc = pmm__fail(K_ECONFIG, "%s is not a regular file", path);
	else if (st.st_size > (off_t)CONF_MAX)
		rc = pmm__fail(K_ECONFIG,
				"%s has %lld bytes: the limit is %u bytes", path,
				(long long)st.st_size, CONF_MAX);
	else if ((buf = malloc(CONF_MAX + 2)) == NULL)
		rc = pmm__fail_errno(K_ECONFIG, "cannot read %s", path);
	while (rc == K_OK && n <= CONF_MAX) {
		ssize_t r = read(fd, buf + n, CONF_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = pmm__fail_errno(K_ECONFIG, "cannot read %s", path);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (rc == K_OK && n > CONF_MAX)
		rc = pmm__fail(K_ECONFIG, "%s grew past the limit of %u bytes",
				path, CONF_MAX);
	const char *nul = rc == K_OK ? memchr(buf, 0, n) : NULL;
	if (nul != NULL)
		rc = pmm__fail(K_ECONFIG, "%s:%d: a NUL byte in the file", path,
				line_of(buf, (size_t)(nul - buf)));
	if (rc != K_OK) {
		free(buf);
		return rc;
	}
	buf[n] = 0;
	*text = buf;
	return K_OK;
}

/* Load the configuration: defaults, the file, then PMM_TUNABLES. */
int
pmm__config_load(struct pmm__config *c)
{
	defaults(c);
	const char *path = pmm__env(PMM__ENV_CONF);
	if (path == NULL && access(DEFAULT_CONF, F_OK) == 0)
		path = DEFAULT_CONF;
	if (path != NULL && *path != 0) {
		char *text = NULL;
		int rc = read_file(path, &text);
		if (rc != K_OK)
			return rc;
		rc = pmm__config_parse(c, text, path);
		free(text);
		if (rc != K_OK)
			return rc;
		snprintf(c->source, sizeof(c->source), "%s", path);
	}
	const char *over = pmm__env(PMM__ENV_TUNABLES);
	if (over != NULL)
		return pmm__config_parse(c, over, "PMM_TUNABLES");
	return K_OK;
}

/* The bank file of medium: configured, or RAM in the per-user directory. */
int
pmm__medium_path(const struct pmm__config *c, const char *medium,
		char *path, size_t len, int *is_default_dir)
{
	*is_default_dir = 0;
	for (unsigned i = 0; i < c->nmedia; i++)
		if (strcmp(c->media_name[i], medium) == 0) {
			snprintf(path, len, "%s", c->media_path[i]);
			return K_OK;
		}
	if (strcmp(medium, "RAM") != 0)
		return pmm__fail(K_ENOMEDIUM,
				"no medium \"%s\": only RAM and pmm.medium.NAME entries of the configuration",
				medium);
	const char *dir = pmm__env(PMM__ENV_DIR);
	int n;
	if (dir != NULL && *dir != 0) {
		n = snprintf(path, len, "%s/RAM.pmm", dir);
	} else {
		char d[64];
		*is_default_dir = 1;
		if (pmm__default_dir(d, sizeof(d)) != K_OK)
			return K_EINVAL;
		n = snprintf(path, len, "%s/RAM.pmm", d);
	}
	if (n < 0 || (size_t)n >= len)
		return pmm__fail(K_ECONFIG, "PMM_DIR too long");
	return K_OK;
}

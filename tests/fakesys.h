/*
 * fakesys.h -- a fake sysfs (or procfs) tree for the Check suites: make
 * directories, files and symlinks under a temporary root.
 */
#ifndef PMEM_TEST_FAKESYS_H
#define PMEM_TEST_FAKESYS_H 1

#include <limits.h>
#include <stdarg.h>

#include "common.h"

static char fake_root[PATH_MAX];

/* Creates the fake root. */
static inline void
fake_setup(void)
{
	snprintf(fake_root, sizeof(fake_root), "%s/pmem-fake-XXXXXX",
		test_dir());
	ck_assert_ptr_nonnull(mkdtemp(fake_root));
}

/* Removes the fake root. */
static inline void
fake_teardown(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_root);
	ck_assert_int_eq(system(cmd), 0);
}

/* mkdir -p of root/rel (a printf format). */
static inline void
fake_mkdirs(const char *fmt, ...)
{
	char rel[PATH_MAX], cmd[2 * PATH_MAX + 16];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", fake_root, rel);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes text into root/rel. */
static inline void
fake_put(const char *rel, const char *text)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* ln -s target root/rel. */
static inline void
fake_link(const char *target, const char *rel)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	ck_assert_int_eq(symlink(target, path), 0);
}

#endif /* PMEM_TEST_FAKESYS_H */

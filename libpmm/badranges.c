/*
 * badranges.c -- blocks on bad ranges of the medium.
 *
 * The first load of a poisoned line kills a process with SIGBUS; a block
 * known to lie on a bad range is therefore refused on retrieval with
 * K_EMEDIA, and pmmctl check names every such block.  The bad ranges are
 * those the kernel knows (sysfs), as libpmem translates them into offsets
 * of the bank file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpmem.h>

#include "badranges.h"

#define CACHE_BANKS 16

/* The list of a bank as read once by this process.  The path is
 * allocated: sixteen PATH_MAX arrays here would be sixteen pages whose
 * first touch (a fault each) is a third of a new process's first call. */
struct cached {
	const struct pmm__bank *b;
	char *path;
	struct pmem_badblock *v;
	size_t n;
};

static struct cached cache[CACHE_BANKS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Reads the bad ranges of path into a malloc'ed array; K_OK or K_ESYS. */
static int
read_list(const char *path, struct pmem_badblock **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	if (path[0] == 0)	/* a bank in memory only (tests) */
		return K_OK;
	ssize_t k = pmem_badblocks_get(path, NULL, 0);
	if (k > 0) {
		*v = calloc((size_t)k, sizeof(**v));
		if (*v == NULL)
			return pmm__fail_errno(K_ESYS, "bad ranges of %s", path);
		k = pmem_badblocks_get(path, *v, (size_t)k);
	}
	if (k < 0) {
		int rc = pmm__fail(K_ESYS, "bad ranges of %s: %s", path,
				pmem_errormsg());
		free(*v);
		*v = NULL;
		return rc;
	}
	*n = (size_t)k;
	return K_OK;
}

/* The cached list of bank b, read on first use; K_OK or K_ESYS. */
static int
bank_list(struct pmm__bank *b, const struct pmem_badblock **v, size_t *n)
{
	int rc = K_OK;
	pthread_mutex_lock(&cache_lock);
	struct cached *c = NULL, *freec = NULL;
	for (int i = 0; i < CACHE_BANKS && c == NULL; i++) {
		if (cache[i].b == b && cache[i].path != NULL &&
				strcmp(cache[i].path, b->path) == 0)
			c = &cache[i];
		else if (cache[i].b == NULL && freec == NULL)
			freec = &cache[i];
	}
	if (c == NULL && freec == NULL)
		freec = &cache[0];	/* more banks than slots: reuse */
	if (c == NULL) {
		c = freec;
		free(c->v);
		free(c->path);
		memset(c, 0, sizeof(*c));
		rc = read_list(b->path, &c->v, &c->n);
		if (rc == K_OK && (c->path = strdup(b->path)) == NULL)
			rc = pmm__fail_errno(K_ESYS, "bad ranges of %s", b->path);
		if (rc == K_OK) {
			c->b = b;
		} else {
			free(c->v);
			memset(c, 0, sizeof(*c));
		}
	}
	*v = c->v;
	*n = c->n;
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

/* The first range of v overlapping [off, off + len), or NULL. */
static const struct pmem_badblock *
overlap(const struct pmem_badblock *v, size_t n, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].offset < off + len && off < v[i].offset + v[i].length)
			return &v[i];
	return NULL;
}

/* File offset and length of block e's pages. */
static void
block_span(const struct pmm__bank *b, const struct pmm__entry *e,
		uint64_t *off, uint64_t *len)
{
	*off = (uint64_t)(b->data - b->base) +
		((uint64_t)e->page << b->page_shift);
	*len = (uint64_t)e->npages << b->page_shift;
}

/* See badranges.h. */
int
pmm__bad_retrieve(struct pmm__bank *b, const struct pmm__entry *e,
		const char *name)
{
	const struct pmem_badblock *v, *hit;
	size_t n;
	uint64_t off, len;
	/* a list that cannot be read refuses nothing: pmmctl check says why */
	if (bank_list(b, &v, &n) != K_OK)
		return K_OK;
	if (n == 0) {
		/* retrievals may skip this check (and the lock) from now on */
		atomic_store_explicit(&b->bad_none, 1, memory_order_relaxed);
		return K_OK;
	}
	block_span(b, e, &off, &len);
	if ((hit = overlap(v, n, off, len)) == NULL)
		return K_OK;
	return pmm__fail(K_EMEDIA,
			"block \"%s\" (bytes %llu..%llu of %s) lies on a bad range "
			"of the medium (%llu bytes at %llu): reading it would kill "
			"the process; free it, or clear the range "
			"(pmem-info --badblocks --clear) and rewrite it",
			name, (unsigned long long)off,
			(unsigned long long)(off + len - 1), b->path,
			(unsigned long long)hit->length,
			(unsigned long long)hit->offset);
}

/* See badranges.h. */
int
pmm__bad_check(struct pmm__bank *b, char *report, size_t len)
{
	struct pmem_badblock *v;
	size_t n, nbad = 0, used = 0;
	char msg[400] = "";
	int rc = read_list(b->path, &v, &n);
	if (rc != K_OK || n == 0)
		return rc;
	for (uint64_t i = 0; i < b->g.max_blocks; i++) {
		const struct pmm__entry *e = &b->table[i];
		uint64_t off, blen;
		char nm[sizeof(e->name) + 1];
		if (e->state != PMM__USED)
			continue;
		block_span(b, e, &off, &blen);
		if (overlap(v, n, off, blen) == NULL)
			continue;
		memcpy(nm, e->name, sizeof(e->name));
		nm[sizeof(e->name)] = 0;
		if (used < sizeof(msg)) {
			int k = snprintf(msg + used, sizeof(msg) - used, "%s\"%s\"",
					nbad ? ", " : "", nm);
			used += k > 0 ? (size_t)k : 0;
		}
		nbad++;
	}
	free(v);
	if (nbad == 0)
		return K_OK;
	if (report != NULL && len > 0)
		snprintf(report, len, "%zu blocks on bad ranges: %s", nbad, msg);
	return pmm__fail(K_EMEDIA, "bank check: %zu block%s on bad ranges of "
			"the medium: %s", nbad, nbad == 1 ? "" : "s", msg);
}

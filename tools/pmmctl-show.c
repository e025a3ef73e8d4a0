/*
 * pmmctl-show.c -- the commands that read a bank: list, info and check.
 *
 * Everything shown comes from the table (the only truth), copied under
 * the bank lock so that a concurrent allocation cannot tear the picture.
 */
#include <stdlib.h>
#include <time.h>

#include "pmmctl.h"

/* Order blocks by address. */
static int
by_page(const void *a, const void *b)
{
	const struct ctl_block *x = a, *y = b;
	return (x->page > y->page) - (x->page < y->page);
}

/* Copy the bank's blocks (sorted by address) and its key count. */
static int
snapshot(struct pmm__bank *b, struct ctl_block **out, size_t *n,
		uint64_t *nkeys)
{
	struct ctl_block *v = calloc(b->g.max_blocks, sizeof(*v));
	if (v == NULL)
		return pmm__fail_errno(K_ESYS, "cannot list %s", b->path);
	int rc = pmm__lock(b);
	if (rc != K_OK) {
		free(v);
		return rc;
	}
	size_t k = 0;
	for (uint64_t i = 0; i < b->g.max_blocks; i++) {
		const struct pmm__entry *e = &b->table[i];
		if (e->state != PMM__USED)
			continue;
		struct ctl_block *d = &v[k++];
		pmm__entry_name(e, d->name);
		memcpy(d->key, e->key, sizeof(d->key));
		d->keysize = e->keysize <= sizeof(d->key) ? e->keysize :
			sizeof(d->key);
		d->page = e->page;
		d->npages = e->npages;
		d->addr = (uint64_t)(uintptr_t)b->data +
			((uint64_t)e->page << b->page_shift);
	}
	*nkeys = b->ix->nkeys;
	pmm__unlock(b);
	qsort(v, k, sizeof(*v), by_page);
	*out = v;
	*n = k;
	return K_OK;
}

/* Print the blocks as text, one line each; names and keys are escaped
 * first, then padded (never cut) to their columns. */
static int
list_text(const struct pmm__bank *b, const struct ctl_block *v, size_t n)
{
	printf("%-20s %10s  %-20s %-16s %s\n", "NAME", "SIZE", "KEY",
			"ADDRESS", "PAGES");
	for (size_t i = 0; i < n; i++) {
		const struct ctl_block *x = &v[i];
		char *name = NULL, *key = NULL;
		size_t nl, kl;
		FILE *fn = open_memstream(&name, &nl);
		FILE *fk = fn == NULL ? NULL : open_memstream(&key, &kl);
		if (fk == NULL) {
			if (fn != NULL)
				fclose(fn);
			free(name);
			return pmm__fail_errno(K_ESYS, "cannot list");
		}
		ctl_out_text_name(fn, x->name);
		ctl_out_text_key(fk, x->key, x->keysize);
		int bad = fclose(fn) != 0;
		bad |= fclose(fk) != 0;
		if (!bad)
			printf("%-20s %10llu  %-20s 0x%-14llx %u\n", name,
					(unsigned long long)x->npages *
					b->g.page_size, key,
					(unsigned long long)x->addr, x->npages);
		free(name);
		free(key);
		if (bad)
			return pmm__fail_errno(K_ESYS, "cannot list");
	}
	return K_OK;
}

/* Print the blocks as a JSON array of objects. */
static void
list_json(const struct pmm__bank *b, const struct ctl_block *v, size_t n)
{
	putchar('[');
	for (size_t i = 0; i < n; i++) {
		const struct ctl_block *x = &v[i];
		printf("%s\n  {\"name\": ", i == 0 ? "" : ",");
		ctl_out_json_str(stdout, x->name, strlen(x->name));
		printf(", \"size\": %llu, \"pages\": %u, \"address\": \"0x%llx\", \"key\": ",
				(unsigned long long)x->npages * b->g.page_size,
				x->npages, (unsigned long long)x->addr);
		if (ctl_out_key_is_text(x->key, x->keysize))
			ctl_out_json_str(stdout, x->key, x->keysize);
		else
			fputs("null", stdout);
		printf(", \"key_size\": %u, \"key_hex\": ", x->keysize);
		ctl_out_json_hex(stdout, x->key, x->keysize);
		printf(", \"system\": %s}",
				ctl_out_key_is_system(x->key, x->keysize) ?
				"true" : "false");
	}
	printf("%s]\n", n == 0 ? "" : "\n");
}

/* pmmctl list: every block of the bank. */
int
ctl_list(struct ctl *c)
{
	struct pmm__bank *b;
	struct ctl_block *v;
	size_t n;
	uint64_t nkeys;
	int rc = ctl_open_ro(c, &b);
	if (rc != K_OK)
		return ctl_report(rc, NULL);
	ctl_warn_tunables(c, &b->g);
	rc = snapshot(b, &v, &n, &nkeys);
	if (rc == K_OK) {
		if (c->json)
			list_json(b, v, n);
		else
			rc = list_text(b, v, n);
		free(v);
	}
	pmm__bank_close(b);
	return rc == K_OK ? CTL_EXIT_OK : ctl_report(rc, NULL);
}

/* What info reports, computed from the table. */
struct usage {
	uint64_t blocks, used_pages, free_pages, extents, largest, nkeys;
	double frag;
	int rambank_differs, maxblocks_differs;
	uint64_t conf_bank_size;	/* page-rounded */
};

/* Count pages, free extents (the gaps between blocks) and fragmentation,
 * and compare the bank's tunables with the configuration's. */
static void
measure(const struct ctl *c, const struct pmm__bank *b,
		const struct ctl_block *v, size_t n, struct usage *u)
{
	uint64_t cursor = 0;
	memset(u, 0, sizeof(*u));
	u->blocks = n;
	for (size_t i = 0; i <= n; i++) {
		uint64_t start = i < n ? v[i].page : b->g.npages;
		if (start > cursor) {
			u->extents++;
			u->free_pages += start - cursor;
			if (start - cursor > u->largest)
				u->largest = start - cursor;
		}
		if (i < n) {
			u->used_pages += v[i].npages;
			cursor = (uint64_t)v[i].page + v[i].npages;
		}
	}
	u->frag = u->free_pages == 0 ? 0.0 :
		1.0 - (double)u->largest / (double)u->free_pages;
	u->conf_bank_size = (c->conf.rambank_size + b->g.page_size - 1) /
		b->g.page_size * b->g.page_size;
	u->rambank_differs = u->conf_bank_size != b->g.bank_size;
	u->maxblocks_differs = c->conf.max_blocks != b->g.max_blocks;
}

/* The bank's creation time, as an ISO 8601 UTC date. */
static void
created_text(const struct pmm__bank *b, char *buf, size_t len)
{
	time_t t = (time_t)b->hdr->created;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL ||
			strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

/* Print info as text. */
static void
info_text(const struct ctl *c, const struct pmm__bank *b,
		const struct usage *u)
{
	const struct pmm__geom *g = &b->g;
	char when[64];
	created_text(b, when, sizeof(when));
	printf("file:                %s\n", c->path);
	printf("medium:              %s", c->label);
	if (strcmp(c->label, b->hdr->medium) != 0)
		printf(" (created as %s)", b->hdr->medium);
	printf("\naddress range:       0x%llx-0x%llx (blocks from 0x%llx)\n",
			(unsigned long long)(uintptr_t)b->base,
			(unsigned long long)((uintptr_t)b->base + g->file_size),
			(unsigned long long)(uintptr_t)b->data);
	printf("created:             %s\n", when);
	printf("layout version:      %u\n", b->hdr->layout);
	printf("page size:           %llu\n", (unsigned long long)g->page_size);
	printf("pmm.rambankSize:     0x%llx (%llu pages)\n",
			(unsigned long long)g->bank_size,
			(unsigned long long)g->npages);
	printf("pmm.maxBlocks:       %llu\n", (unsigned long long)g->max_blocks);
	printf("blocks:              %llu used of %llu\n",
			(unsigned long long)u->blocks,
			(unsigned long long)g->max_blocks);
	printf("pages:               %llu used, %llu free\n",
			(unsigned long long)u->used_pages,
			(unsigned long long)u->free_pages);
	printf("free extents:        %llu\n", (unsigned long long)u->extents);
	printf("largest free extent: %llu pages (%llu bytes)\n",
			(unsigned long long)u->largest,
			(unsigned long long)(u->largest * g->page_size));
	printf("fragmentation:       %.4f\n", u->frag);
	printf("keys in use:         %llu\n", (unsigned long long)u->nkeys);
	printf("configuration:       %s%s\n",
			*c->conf.source != 0 ? c->conf.source : "no file",
			pmm__env(PMM__ENV_TUNABLES) != NULL ? ", PMM_TUNABLES" : "");
	if (!u->rambank_differs && !u->maxblocks_differs) {
		printf("tunables:            as configured\n");
		return;
	}
	printf("tunables:            the configuration has");
	if (u->rambank_differs)
		printf(" pmm.rambankSize = 0x%llx%s",
				(unsigned long long)c->conf.rambank_size,
				(c->conf.set & PMM__SET_RAMBANK) ?
				"" : " (default)");
	if (u->maxblocks_differs)
		printf(" pmm.maxBlocks = %llu%s",
				(unsigned long long)c->conf.max_blocks,
				(c->conf.set & PMM__SET_MAXBLOCKS) ?
				"" : " (default)");
	printf("; the bank keeps its own until recreated (pmmctl create --force)\n");
}

/* Print info as one JSON object. */
static void
info_json(const struct ctl *c, const struct pmm__bank *b,
		const struct usage *u)
{
	const struct pmm__geom *g = &b->g;
	char when[64];
	created_text(b, when, sizeof(when));
	printf("{\"file\": ");
	ctl_out_json_str(stdout, c->path, strlen(c->path));
	printf(", \"medium\": ");
	ctl_out_json_str(stdout, c->label, strlen(c->label));
	printf(", \"recorded_medium\": ");
	ctl_out_json_str(stdout, b->hdr->medium, strnlen(b->hdr->medium,
				sizeof(b->hdr->medium)));
	printf(",\n \"address\": \"0x%llx\", \"end\": \"0x%llx\", \"blocks_address\": \"0x%llx\",\n",
			(unsigned long long)(uintptr_t)b->base,
			(unsigned long long)((uintptr_t)b->base + g->file_size),
			(unsigned long long)(uintptr_t)b->data);
	printf(" \"created\": %llu, \"created_utc\": \"%s\", \"layout_version\": %u, \"page_size\": %llu,\n",
			(unsigned long long)b->hdr->created, when, b->hdr->layout,
			(unsigned long long)g->page_size);
	printf(" \"rambank_size\": %llu, \"max_blocks\": %llu, \"blocks_used\": %llu,\n",
			(unsigned long long)g->bank_size,
			(unsigned long long)g->max_blocks,
			(unsigned long long)u->blocks);
	printf(" \"pages\": %llu, \"pages_used\": %llu, \"pages_free\": %llu, \"free_extents\": %llu,\n",
			(unsigned long long)g->npages,
			(unsigned long long)u->used_pages,
			(unsigned long long)u->free_pages,
			(unsigned long long)u->extents);
	printf(" \"largest_free_extent_pages\": %llu, \"largest_free_extent_bytes\": %llu,\n",
			(unsigned long long)u->largest,
			(unsigned long long)(u->largest * g->page_size));
	printf(" \"fragmentation\": %.6f, \"keys_in_use\": %llu,\n", u->frag,
			(unsigned long long)u->nkeys);
	printf(" \"configuration\": {\"source\": ");
	if (*c->conf.source != 0)
		ctl_out_json_str(stdout, c->conf.source, strlen(c->conf.source));
	else
		fputs("null", stdout);
	printf(", \"rambank_size\": %llu, \"rambank_size_set\": %s, \"max_blocks\": %llu, \"max_blocks_set\": %s, \"differs\": %s}}\n",
			(unsigned long long)u->conf_bank_size,
			(c->conf.set & PMM__SET_RAMBANK) ? "true" : "false",
			(unsigned long long)c->conf.max_blocks,
			(c->conf.set & PMM__SET_MAXBLOCKS) ? "true" : "false",
			u->rambank_differs || u->maxblocks_differs ?
			"true" : "false");
}

/* pmmctl info: the bank's geometry, tunables and use. */
int
ctl_info(struct ctl *c)
{
	struct pmm__bank *b;
	struct ctl_block *v;
	struct usage u;
	size_t n;
	uint64_t nkeys;
	int rc = ctl_open_ro(c, &b);
	if (rc != K_OK)
		return ctl_report(rc, NULL);
	rc = snapshot(b, &v, &n, &nkeys);
	if (rc == K_OK) {
		measure(c, b, v, n, &u);
		u.nkeys = nkeys;
		if (c->json)
			info_json(c, b, &u);
		else
			info_text(c, b, &u);
		free(v);
	}
	pmm__bank_close(b);
	return rc == K_OK ? CTL_EXIT_OK : ctl_report(rc, NULL);
}

/* The index's count of blocks and of used pages: the sums of its arenas'
 * (a block's pages counted in each arena they lie in, once in all). */
static void
used_counts(const struct pmm__bank *b, uint64_t *blocks, uint64_t *pages)
{
	*blocks = *pages = 0;
	for (uint64_t a = 0; a < b->g.narenas; a++) {
		*blocks += b->hdr->arena[a].used_blocks;
		*pages += b->hdr->arena[a].used_pages;
	}
}

/* pmmctl check: open (recovering after a crash), then the full check. */
int
ctl_check(struct ctl *c)
{
	struct pmm__bank *b;
	char report[256];
	int rc = ctl_open_ro(c, &b);
	if (rc != K_OK)
		return ctl_report(rc, "check");
	ctl_warn_tunables(c, &b->g);
	if ((rc = pmm__lock(b)) != K_OK) {
		pmm__bank_close(b);
		return ctl_report(rc, "check");
	}
	rc = pmm__check(b, report, sizeof(report));
	uint64_t blocks, pages, nkeys = b->ix->nkeys;
	used_counts(b, &blocks, &pages);
	pmm__unlock(b);
	if (rc == K_OK)
		printf("ok: %s: %llu of %llu blocks, %llu of %llu pages used, %llu keys\n",
				c->path, (unsigned long long)blocks,
				(unsigned long long)b->g.max_blocks,
				(unsigned long long)pages,
				(unsigned long long)b->g.npages,
				(unsigned long long)nkeys);
	if (rc == K_OK && b->readonly)
		printf("(%s is read-only: checked in memory, not changed)\n",
				c->path);
	pmm__bank_close(b);
	return rc == K_OK ? CTL_EXIT_OK : ctl_report(rc, "check");
}

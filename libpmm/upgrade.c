/*
 * upgrade.c -- pmmctl upgrade: a bank of layout 1 (libpmm 1.0) rewritten
 * as layout 2, every block at the same address with the same bytes.
 *
 * Layout 1 differs from layout 2 only in its derived index (hash slots of
 * four bytes where layout 2 has buckets of 64): header, entries, redo
 * record and checksums are the same, so a layout-1 bank is read here with
 * the same structures, and only its offsets are its own.  The index is
 * never read: the table is the truth, as it was for layout 1's recovery.
 *
 * Layout 2's index is larger, so with the same tunables its data area
 * would start later.  A block's address is base + data_off + page *
 * page_size; the new bank keeps the end of the old one's range and its
 * pages, and takes the largest pmm.maxBlocks (at least the number of
 * blocks) whose data area starts exactly where the old one did, its base
 * moved up by the difference (whole 2 MiB steps: a base is 2 MiB aligned).
 * From 64 MiB up both data areas start on 2 MiB, so a maxBlocks a little
 * smaller always fits; below, offsets are pages and the index's size may
 * jump over the old one: then the bank gains the fewest free pages at its
 * top that make it fit.  When nothing fits (or the pages added would
 * overlap another bank) the bank is refused, never moved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pmm.h"

#define ALIGN_2M (2ULL << 20)
/* layout 1's index header: no generation, no writer mark */
#define V1_IXHDR (6 * 8 + PMM__NCLASS * 4)

/* A layout-1 bank, mapped read-only anywhere. */
struct v1 {
	const char *path;
	const unsigned char *m;
	uint64_t file_size, data_off, page_size, npages, max_blocks;
	const struct pmm__hdr *h;
	const struct pmm__entry *table;
	uint32_t *live;			/* indices of its blocks, by page */
	uint64_t nlive;
};

static uint64_t
up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Layout 1's data offset for these (already range-checked) tunables. */
static uint64_t
v1_data_off(uint64_t bank_size, uint64_t max_blocks, uint64_t ps)
{
	uint64_t slots = 8;
	while (slots < 2 * max_blocks)
		slots <<= 1;
	/* name and key slots, key links both ways, free-entry stack, and
	 * per page a tag and two free-list links */
	uint64_t ix = up(V1_IXHDR, 64) + 2 * 4 * slots + 3 * 4 * max_blocks +
		3 * 4 * (bank_size / ps);
	uint64_t d = ps + up(max_blocks * sizeof(struct pmm__entry), ps) +
		up(ix, ps);
	return bank_size >= (64u << 20) ? up(d, ALIGN_2M) : d;
}

static int
v1_bad(const struct v1 *o, const char *what)
{
	return pmm__fail(K_ECORRUPT, "%s: layout-1 bank damaged (%s)",
			o->path, what);
}

/* Check the header exactly as layout 1 did. */
static int
v1_header(struct v1 *o)
{
	const struct pmm__hdr *h = o->h;
	struct pmm__geom g;
	char why[256];
	if (h->checksum != pmm__hdr_checksum(h))
		return v1_bad(o, "header checksum mismatch");
	if (h->hdr_size != sizeof(struct pmm__hdr))
		return v1_bad(o, "header size");
	if (pmm__geom_compute(h->bank_size, h->max_blocks, h->page_size,
				&g) != K_OK) {
		snprintf(why, sizeof(why), "header: %s", pmmErrorMsg());
		return v1_bad(o, why);
	}
	o->page_size = g.page_size;
	o->npages = g.npages;
	o->max_blocks = g.max_blocks;
	o->data_off = v1_data_off(g.bank_size, g.max_blocks, g.page_size);
	o->file_size = o->data_off + g.bank_size;
	/* name_buckets lies where layout 1 kept its name slot count */
	uint64_t slots = 8;
	while (slots < 2 * g.max_blocks)
		slots <<= 1;
	if (h->bank_size != g.bank_size || h->npages != g.npages ||
			h->table_off != g.page_size ||
			h->index_off != g.table_off +
			up(g.max_blocks * sizeof(struct pmm__entry),
				g.page_size) ||
			h->data_off != o->data_off ||
			h->file_size != o->file_size ||
			h->name_buckets != slots || h->key_slots != slots)
		return v1_bad(o, "geometry inconsistent with its tunables");
	if (h->base < PMM__ADDR_MIN || h->base % ALIGN_2M != 0 ||
			o->file_size > PMM__ADDR_END - PMM__ADDR_MIN ||
			h->base > PMM__ADDR_END - o->file_size)
		return v1_bad(o, "address out of range");
	if (memchr(h->medium, 0, sizeof(h->medium)) == NULL)
		return v1_bad(o, "medium name not terminated");
	return K_OK;
}

/* The redo record: 1 in *on with its key when a pmmFreeAll was
 * committed and not finished (its blocks count as freed). */
static int
v1_log(const struct v1 *o, int *on)
{
	const struct pmm__log *l = &o->h->log;
	*on = 0;
	if (l->valid == 0)
		return K_OK;
	if (l->valid != PMM__LOG_FREEALL || l->checksum != pmm__log_checksum(l) ||
			l->keysize == 0 || l->keysize > sizeof(l->key))
		return v1_bad(o, "redo record");
	*on = 1;
	return K_OK;
}

/* Order entry indices by their first page (qsort_r with the table). */
static int
by_page(const void *a, const void *b, void *table)
{
	const struct pmm__entry *t = table;
	uint32_t pa = t[*(const uint32_t *)a].page;
	uint32_t pb = t[*(const uint32_t *)b].page;
	return pa < pb ? -1 : pa > pb;
}

/* Validate every entry as layout 1 did, collect the blocks (a committed
 * pmmFreeAll's ones left out) and refuse pages shared by two. */
static int
v1_blocks(struct v1 *o)
{
	struct pmm__bank fake;
	int replay, rc = v1_log(o, &replay), used;
	const struct pmm__log *l = &o->h->log;
	if (rc != K_OK)
		return rc;
	memset(&fake, 0, sizeof(fake));
	fake.table = (struct pmm__entry *)o->table;
	fake.g.npages = o->npages;
	o->live = malloc((o->max_blocks + 1) * sizeof(*o->live));
	if (o->live == NULL)
		return pmm__fail_errno(K_ESYS, "%s", o->path);
	for (uint64_t i = 0; i < o->max_blocks; i++) {
		/* entries are validated alike in both layouts */
		if ((rc = pmm__entry_validate(&fake, (uint32_t)i, &used)) !=
				K_OK) {
			char why[256];
			snprintf(why, sizeof(why), "%s", pmmErrorMsg());
			return v1_bad(o, why);
		}
		const struct pmm__entry *e = &o->table[i];
		if (used && !(replay && e->keysize == l->keysize &&
					memcmp(e->key, l->key, sizeof(e->key)) == 0))
			o->live[o->nlive++] = (uint32_t)i;
	}
	qsort_r(o->live, o->nlive, sizeof(*o->live), by_page,
			(void *)o->table);
	for (uint64_t k = 1; k < o->nlive; k++) {
		const struct pmm__entry *a = &o->table[o->live[k - 1]];
		const struct pmm__entry *b = &o->table[o->live[k]];
		if ((uint64_t)a->page + a->npages > b->page) {
			char why[256];
			snprintf(why, sizeof(why), "entries %u and %u share page %u",
					o->live[k - 1], o->live[k], b->page);
			return v1_bad(o, why);
		}
	}
	return K_OK;
}

/* Whether layout 2 with mb entries and extra more pages has its data
 * area start where o's does (then *base is its address). */
static int
fits(const struct v1 *o, uint64_t mb, uint64_t extra, struct pmm__geom *g,
		uint64_t *base)
{
	if (pmm__geom_compute(o->h->bank_size + extra * o->page_size, mb,
				o->page_size, g) != K_OK ||
			g->data_off > o->data_off ||
			(o->data_off - g->data_off) % ALIGN_2M != 0)
		return 0;
	*base = o->h->base + (o->data_off - g->data_off);
	return *base <= PMM__ADDR_END - g->file_size;
}

/* The largest maxBlocks in [least, o's] with which layout 2 and extra
 * more pages fits o (its data offset grows with maxBlocks), or 0. */
static uint64_t
largest_fit(const struct v1 *o, uint64_t least, uint64_t extra,
		struct pmm__geom *g, uint64_t *base)
{
	uint64_t lo = least, hi = o->max_blocks;
	if (pmm__geom_compute(o->h->bank_size + extra * o->page_size, lo,
				o->page_size, g) != K_OK ||
			g->data_off > o->data_off)
		return 0;
	while (lo < hi) {	/* data_off(lo) <= o's; find the last such */
		uint64_t mid = lo + (hi - lo + 1) / 2;
		if (pmm__geom_compute(o->h->bank_size + extra * o->page_size,
					mid, o->page_size, g) == K_OK &&
				g->data_off <= o->data_off)
			lo = mid;
		else
			hi = mid - 1;
	}
	return fits(o, lo, extra, g, base) ? lo : 0;
}

/* The layout-2 geometry whose data area starts where o's does: the
 * largest maxBlocks from o's down to its number of blocks; failing that
 * (a small bank, whose data area is only page-aligned: the index's size
 * may jump over the old one), the fewest pages added at the top, free,
 * that make the index end exactly there. */
static int
place(const struct v1 *o, int fd, struct pmm__geom *g, uint64_t *base)
{
	uint64_t least = o->nlive > 0 ? o->nlive : 1, extra;
	if (largest_fit(o, least, 0, g, base) != 0)
		return K_OK;
	/* a page more adds 12 bytes to the index; where the key slots
	 * double, the index jumps by four pages and more, which only
	 * thousands of pages make up: up to 65536 are tried */
	for (extra = 1; extra <= 65536; extra++)
		if (largest_fit(o, least, extra, g, base) != 0)
			goto grown;
	return pmm__fail(K_EINVAL,
			"%s: layout 2's larger index cannot end where this bank's data begins for any pmm.maxBlocks from %llu down to its %llu blocks, so its blocks cannot keep their addresses: not migrated",
			o->path, (unsigned long long)o->max_blocks,
			(unsigned long long)o->nlive);
grown:;
	char other[PATH_MAX];
	pmm__addr_collision(fd, *base, g->file_size, other, sizeof(other));
	if (other[0] != 0)
		return pmm__fail(K_EMAPPED,
				"%s: layout 2 needs %llu more pages at the top of this bank to keep its blocks at their addresses, and bank %s lies there: not migrated",
				o->path, (unsigned long long)extra, other);
	return K_OK;
}

/* Write o's blocks into the new bank b: entries 0.. by page, then their
 * bytes, then the commits. */
static int
fill(struct pmm__bank *b, void *arg)
{
	const struct v1 *o = arg;
	const unsigned char *src = o->m + o->data_off;
	for (uint64_t k = 0; k < o->nlive; k++) {
		const struct pmm__entry *e = &o->table[o->live[k]];
		struct pmm__entry *n = &b->table[k];
		*n = *e;
		n->state = PMM__FREE;
		n->pad = 0;
		n->checksum = pmm__entry_checksum(n, k);
		uint64_t off = (uint64_t)e->page * o->page_size;
		uint64_t len = (uint64_t)e->npages * o->page_size;
		memcpy(b->data + off, src + off, len);
		pmm__flush(b, b->data + off, len);
	}
	pmm__flush(b, b->table, o->nlive * sizeof(*b->table));
	pmm__drain(b);
	for (uint64_t k = 0; k < o->nlive; k++) {
		b->table[k].state = PMM__USED;
		pmm__flush(b, &b->table[k].state, sizeof(b->table[k].state));
	}
	/* the bank's birth is the old one's */
	b->hdr->created = o->h->created;
	b->hdr->checksum = pmm__hdr_checksum(b->hdr);
	pmm__persist(b, b->hdr, sizeof(*b->hdr));
	return K_OK;
}

/* Map the file fd (of st's size) read-only and check it is layout 1. */
static int
v1_open(struct v1 *o, int fd, const struct stat *st)
{
	struct pmm__hdr h;
	if ((uint64_t)st->st_size < sizeof(h))
		return pmm__fail(K_ETRUNC, "%s: not a bank (%llu bytes)",
				o->path, (unsigned long long)st->st_size);
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return pmm__fail_errno(K_ESYS, "cannot read %s", o->path);
	if (memcmp(h.magic, PMM__MAGIC, 8) != 0)
		return pmm__fail(K_EFOREIGN, "%s: not a bank file (bad magic)",
				o->path);
	if (h.layout == PMM__LAYOUT)
		return pmm__fail(PMM__CURRENT, "%s: already layout %d, nothing to do",
				o->path, PMM__LAYOUT);
	if (h.layout != PMM__LAYOUT_V1)
		return pmm__fail(K_EVERSION,
				"%s: bank layout version %u: pmmctl upgrade migrates layout %d only",
				o->path, h.layout, PMM__LAYOUT_V1);
	void *m = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return pmm__fail_errno(K_ESYS, "cannot map %s", o->path);
	o->m = m;
	o->h = m;
	int rc = v1_header(o);
	if (rc == K_OK && (uint64_t)st->st_size != o->file_size)
		rc = pmm__fail(K_ETRUNC, "%s: %llu bytes, its header says %llu",
				o->path, (unsigned long long)st->st_size,
				(unsigned long long)o->file_size);
	if (rc != K_OK)
		return rc;
	o->table = (const struct pmm__entry *)(o->m + o->page_size);
	return v1_blocks(o);
}

/* Migrate the layout-1 bank at path to layout 2 in place, under its
 * liveness lock (K_EBUSY while a process has it open). */
int
pmm__bank_upgrade(const char *path, struct pmm__upgrade *r)
{
	char base[NAME_MAX + 1];
	struct v1 o;
	struct stat st;
	struct pmm__geom g;
	uint64_t addr = 0;
	int dfd, fd, rc = pmm__open_bank_dir(path, &dfd, base);
	if (rc != K_OK)
		return rc;
	rc = pmm__open_bank_file(dfd, base, path, O_RDONLY, &fd, &st);
	close(dfd);
	if (rc != K_OK)
		return rc;
	memset(&o, 0, sizeof(o));
	o.path = path;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ?
			pmm__fail(K_EBUSY, "bank %s is in use by a running process: upgrade it when none has it open",
					path) :
			pmm__fail_errno(K_ESYS, "cannot lock bank %s", path);
		goto out;
	}
	if ((rc = v1_open(&o, fd, &st)) != K_OK ||
			(rc = place(&o, fd, &g, &addr)) != K_OK)
		goto out;
	r->from_mb = o.max_blocks;
	r->to_mb = g.max_blocks;
	r->from_size = o.h->bank_size;
	r->to_size = g.bank_size;
	r->nblocks = o.nlive;
	rc = pmm__bank_replace(path, o.h->medium, &g, addr, fill, &o);
out:
	if (o.m != NULL)
		munmap((void *)o.m, (size_t)st.st_size);
	free(o.live);
	close(fd);
	return rc;
}

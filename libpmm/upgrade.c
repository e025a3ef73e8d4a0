/*
 * upgrade.c -- pmmctl upgrade: a bank of layout 1 (libpmm 1.0), 2
 * (libpmm 1.1) or 3 (libpmm 1.2) made one of layout 4, every block at the
 * same address with the same bytes.
 *
 * Layouts 1 to 3 share their header (struct old_hdr: layout 4's up to its
 * redo record, then one robust mutex) and redo record.  Layouts 1 and 2
 * share their 128-byte entries (struct old_entry here); they differ in
 * their derived index (hash slots of four bytes, buckets of 64 two thirds
 * full), so only their offsets are their own.  The old index is never
 * read: the table is the truth, as it was for their recovery.  Every
 * header, entry and redo record is validated as its layout did, and a
 * damaged bank is refused before anything is written.
 *
 * Layout 3 has layout 4's geometry and entries byte for byte: only the
 * header's dynamic part differs (layout 4 keeps its arenas' and keys'
 * locks where layout 3 kept its one mutex, and beyond), and that part
 * and the index are derived.  So a layout-3 bank is upgraded in place,
 * its table and blocks untouched, in two synced writes (v3_commit):
 *
 *   1. the boot id line gets an id no boot has (and no file identity),
 *      so that the next open rebuilds the index and initialises the
 *      locks; and from layout 3's mutex to the end of layout 4's header
 *      (in page 0, before the table), zeros.  The redo record between
 *      them is not written: the next open finishes it.  Any mix of old
 *      and new bytes here is a valid layout-3 bank: layout 3 too rebuilt
 *      its index when the boot id or the file differed, and initialised
 *      its mutex when nobody else had the bank open, as nobody has
 *      during an upgrade (nor after one, until the first open).
 *   2. the static part (136 bytes in the file's first sector), its
 *      layout, header size and checksum layout 4's, in one pwrite: the
 *      commit.  A process that dies leaves the write done or not done
 *      (it is copied into one page under the page's lock), and a block
 *      device writes a sector whole, so the bank is then a valid layout
 *      3 or a valid layout 4.  Persistent memory (DAX) only stores 8
 *      bytes at a time, so a power failure there could leave the layout
 *      word and the checksum from different sides: this command takes
 *      such a header for a layout-3 bank whose commit was torn, and
 *      finishes it (pmm__upgrade_torn()).
 *
 * Layouts 1 and 2 are rewritten into a new bank (pmm__bank_replace).  A
 * block's address is base + data_off + page * page_size; the new bank
 * keeps the end of the old one's range and its pages, and takes the
 * largest pmm.maxBlocks (at least the number of blocks, at most the old
 * one) whose data area starts exactly where the old one did, its base
 * moved by the difference (whole 2 MiB steps: a base is 2 MiB aligned).
 * From 64 MiB up both data areas start on 2 MiB, so that always fits;
 * below, offsets are pages: then a larger pmm.maxBlocks is tried (layout
 * 4's metadata, layout 3's, is smaller than layout 2's), and failing that
 * the bank gains the fewest free pages at its top that make it fit.  When
 * nothing fits (or the pages added would overlap another bank) the bank
 * is refused, never moved.
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
/* layout 2's: the generation and the writer mark on lines of their own */
#define V2_IXHDR 512

/* The entry of layouts 1 and 2. */
#define OLD_USED 0x444553554d4d5055ULL	/* "UPMMUSED" */
struct old_entry {
	uint64_t state;			/* OLD_USED or 0: the commit */
	uint32_t page;
	uint32_t npages;
	uint32_t keysize;
	uint32_t pad;
	uint64_t checksum;		/* over page..key and the index */
	char name[64];
	uint8_t key[32];
};
_Static_assert(sizeof(struct old_entry) == 128, "layout 1 and 2 entry");

/* The header of layouts 1 to 3: layout 4's up to the end of its redo
 * record, then the bank's one robust mutex on a line of its own.  Its
 * size is their hdr_size; the part it shares is read as a struct
 * pmm__hdr. */
struct old_hdr {
	unsigned char shared[offsetof(struct pmm__hdr, keys)];
	pthread_mutex_t lock __attribute__((aligned(64)));
};
#define OLD_HDR_SIZE ((uint32_t)sizeof(struct old_hdr))
_Static_assert(offsetof(struct pmm__hdr, keys) ==
		offsetof(struct pmm__hdr, log) + sizeof(struct pmm__log),
		"layout 4's header is the old one's up to the redo record");

/* A layout-1, -2 or -3 bank, mapped read-only anywhere. */
struct old {
	const char *path;
	const unsigned char *m;
	unsigned layout;
	uint64_t file_size, data_off, page_size, npages, max_blocks;
	const struct pmm__hdr *h;
	const struct old_entry *table;	/* layouts 1 and 2 */
	struct pmm__bank v3;		/* layout 3: bound to m, to validate
					 * its entries as they are */
	uint32_t *live;			/* indices of its blocks, by page */
	uint64_t nlive;
};

static uint64_t
up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static uint64_t
pow2_slots(uint64_t max_blocks)
{
	uint64_t slots = 8;
	while (slots < 2 * max_blocks)
		slots <<= 1;
	return slots;
}

/* Layout 1's or 2's data offset for these (range-checked) tunables. */
static uint64_t
old_data_off(unsigned layout, uint64_t bank_size, uint64_t max_blocks,
		uint64_t ps)
{
	uint64_t slots = pow2_slots(max_blocks), ix;
	/* layout 1: name and key slots; layout 2: name buckets of 64 bytes
	 * for two blocks and key slots; both: key links both ways, a
	 * free-entry stack, and per page a tag and two free-list links */
	if (layout == PMM__LAYOUT_V1)
		ix = up(V1_IXHDR, 64) + 2 * 4 * slots;
	else
		ix = up(V2_IXHDR, 64) + 64 * ((max_blocks + 1) / 2) +
			4 * slots;
	ix += 3 * 4 * max_blocks + 3 * 4 * (bank_size / ps);
	uint64_t d = ps + up(max_blocks * sizeof(struct old_entry), ps) +
		up(ix, ps);
	return bank_size >= (64u << 20) ? up(d, ALIGN_2M) : d;
}

static int
old_bad(const struct old *o, const char *what)
{
	return pmm__fail(K_ECORRUPT, "%s: layout-%u bank damaged (%s)",
			o->path, o->layout, what);
}

/* Whether h's checksum is the one its static part has with the layout
 * word (layout, size) in place of its own: a torn commit's (v3_commit). */
static int
sum_with(const struct pmm__hdr *h, uint32_t layout, uint32_t size)
{
	struct pmm__hdr c;
	memcpy(&c, h, offsetof(struct pmm__hdr, checksum));
	c.layout = layout;
	c.hdr_size = size;
	return h->checksum == pmm__hdr_checksum(&c);
}

/* See pmm.h. */
int
pmm__upgrade_torn(const struct pmm__hdr *h)
{
	return h->layout == PMM__LAYOUT &&
		h->hdr_size == sizeof(struct pmm__hdr) &&
		h->checksum != pmm__hdr_checksum(h) &&
		sum_with(h, PMM__LAYOUT_V3, OLD_HDR_SIZE);
}

/* Check the header exactly as its layout did (layout 3's geometry is
 * layout 4's), a layout-3 one also when its commit was torn either
 * way. */
static int
old_header(struct old *o)
{
	const struct pmm__hdr *h = o->h;
	int word4 = h->layout == PMM__LAYOUT;	/* torn: see old_open */
	struct pmm__geom g;
	char why[256];
	if (h->checksum != pmm__hdr_checksum(h) &&
			!(o->layout == PMM__LAYOUT_V3 && (word4 ?
					sum_with(h, PMM__LAYOUT_V3, OLD_HDR_SIZE) :
					sum_with(h, PMM__LAYOUT,
						sizeof(struct pmm__hdr)))))
		return old_bad(o, "header checksum mismatch");
	if (h->hdr_size != (word4 ? sizeof(struct pmm__hdr) : OLD_HDR_SIZE))
		return old_bad(o, "header size");
	if (pmm__geom_compute(h->bank_size, h->max_blocks, h->page_size,
				&g) != K_OK) {
		snprintf(why, sizeof(why), "header: %s", pmmErrorMsg());
		return old_bad(o, why);
	}
	o->page_size = g.page_size;
	o->npages = g.npages;
	o->max_blocks = g.max_blocks;
	uint64_t index_off, buckets, slots;
	if (o->layout == PMM__LAYOUT_V3) {
		o->data_off = g.data_off;
		index_off = g.index_off;
		buckets = g.name_buckets;
		slots = g.key_slots;
		pmm__bank_bind(&o->v3, (void *)o->m, &g);
	} else {
		o->data_off = old_data_off(o->layout, g.bank_size,
				g.max_blocks, g.page_size);
		index_off = g.table_off + up(g.max_blocks *
				sizeof(struct old_entry), g.page_size);
		/* layout 1 kept its name slot count where name_buckets lies */
		slots = pow2_slots(g.max_blocks);
		buckets = o->layout == PMM__LAYOUT_V1 ? slots :
			(g.max_blocks + 1) / 2;
		o->table = (const struct old_entry *)(o->m + g.table_off);
	}
	o->file_size = o->data_off + g.bank_size;
	if (h->bank_size != g.bank_size || h->npages != g.npages ||
			h->table_off != g.table_off ||
			h->index_off != index_off ||
			h->data_off != o->data_off ||
			h->file_size != o->file_size ||
			h->name_buckets != buckets || h->key_slots != slots)
		return old_bad(o, "geometry inconsistent with its tunables");
	if (h->base < PMM__ADDR_MIN || h->base % ALIGN_2M != 0 ||
			o->file_size > PMM__ADDR_END - PMM__ADDR_MIN ||
			h->base > PMM__ADDR_END - o->file_size)
		return old_bad(o, "address out of range");
	if (memchr(h->medium, 0, sizeof(h->medium)) == NULL)
		return old_bad(o, "medium name not terminated");
	return K_OK;
}

/* The redo record: 1 in *on with its key when a pmmFreeAll was
 * committed and not finished (its blocks count as freed). */
static int
old_log(const struct old *o, int *on)
{
	const struct pmm__log *l = &o->h->log;
	*on = 0;
	if (l->valid == 0)
		return K_OK;
	if (l->valid != PMM__LOG_FREEALL || l->checksum != pmm__log_checksum(l) ||
			l->keysize == 0 || l->keysize > sizeof(l->key))
		return old_bad(o, "redo record");
	*on = 1;
	return K_OK;
}

/* What the checks need of an entry, whichever its layout. */
struct fields {
	uint32_t page, npages, keysize;
	const char *name;		/* NUL-ended, or PMM__NAME_LEN bytes */
	const uint8_t *key;		/* 32 bytes */
};

/* Entry i's fields in o. */
static struct fields
fields(const struct old *o, uint64_t i)
{
	if (o->layout == PMM__LAYOUT_V3) {
		const struct pmm__entry *e = &o->v3.table[i];
		return (struct fields){ e->page, e->npages, e->keysize,
			e->name, e->key };
	}
	const struct old_entry *e = &o->table[i];
	return (struct fields){ e->page, e->npages, e->keysize, e->name,
		e->key };
}

/* Order entry indices by their first page (qsort_r with the bank). */
static int
by_page(const void *a, const void *b, void *o)
{
	uint32_t pa = fields(o, *(const uint32_t *)a).page;
	uint32_t pb = fields(o, *(const uint32_t *)b).page;
	return pa < pb ? -1 : pa > pb;
}

/* Order entry indices by their name (qsort_r with the bank). */
static int
by_name(const void *a, const void *b, void *o)
{
	return strncmp(fields(o, *(const uint32_t *)a).name,
			fields(o, *(const uint32_t *)b).name, PMM__NAME_LEN);
}

/* The checksum of layouts 1 and 2's entries. */
static uint64_t
old_checksum(const struct old_entry *e, uint64_t idx)
{
	uint64_t h = pmm__hash_words(&e->page, 2, idx);
	h = pmm__mix(h, e->keysize);
	h = pmm__hash_words(e->name, 8, h);
	return pmm__hash_words(e->key, 4, h);
}

/* Validate entry i as layouts 1 and 2 did; *used: it is a block. */
static int
old_validate(const struct old *o, uint64_t i, int *used)
{
	const struct old_entry *e = &o->table[i];
	char why[128];
	size_t n = strnlen(e->name, sizeof(e->name));
	*used = 0;
	if (e->state == 0)
		return K_OK;
	if (e->state != OLD_USED)
		snprintf(why, sizeof(why), "entry %llu: bad state word",
				(unsigned long long)i);
	else if (e->checksum != old_checksum(e, i))
		snprintf(why, sizeof(why), "entry %llu: checksum mismatch",
				(unsigned long long)i);
	else if (e->npages == 0 || (uint64_t)e->page + e->npages > o->npages)
		snprintf(why, sizeof(why),
				"entry %llu: pages %u+%u outside the bank",
				(unsigned long long)i, e->page, e->npages);
	else if (n == 0 || n == sizeof(e->name) ||
			!pmm__zero_from(e->name, n, sizeof(e->name)))
		snprintf(why, sizeof(why), "entry %llu: bad name",
				(unsigned long long)i);
	else if (e->keysize > sizeof(e->key) ||
			!pmm__zero_from(e->key, e->keysize, sizeof(e->key)))
		snprintf(why, sizeof(why), "entry %llu: bad key",
				(unsigned long long)i);
	else
		return *used = 1, K_OK;
	return old_bad(o, why);
}

/* Validate entry i of layout 3 as layout 3 did, which is as layout 4
 * does (the entries did not change); *used: it is a block. */
static int
v3_validate(struct old *o, uint64_t i, int *used)
{
	if (pmm__entry_validate(&o->v3, (uint32_t)i, used) == K_OK)
		return K_OK;
	char why[256];
	snprintf(why, sizeof(why), "%s", pmmErrorMsg());
	return old_bad(o, why);
}

/* Validate every entry as its layout did, collect the blocks (a committed
 * pmmFreeAll's ones left out) and refuse a name held twice or pages
 * shared by two, as their recovery did; o->live ends up by page. */
static int
old_blocks(struct old *o)
{
	int replay, rc = old_log(o, &replay), used;
	const struct pmm__log *l = &o->h->log;
	char why[256];
	if (rc != K_OK)
		return rc;
	o->live = malloc((o->max_blocks + 1) * sizeof(*o->live));
	if (o->live == NULL)
		return pmm__fail_errno(K_ESYS, "%s", o->path);
	for (uint64_t i = 0; i < o->max_blocks; i++) {
		rc = o->layout == PMM__LAYOUT_V3 ? v3_validate(o, i, &used) :
			old_validate(o, i, &used);
		if (rc != K_OK)
			return rc;
		struct fields f = fields(o, i);
		if (used && !(replay && f.keysize == l->keysize &&
					memcmp(f.key, l->key, sizeof(l->key)) == 0))
			o->live[o->nlive++] = (uint32_t)i;
	}
	qsort_r(o->live, o->nlive, sizeof(*o->live), by_name, o);
	for (uint64_t k = 1; k < o->nlive; k++)
		if (by_name(&o->live[k - 1], &o->live[k], o) == 0) {
			snprintf(why, sizeof(why), "entries %u and %u have one name",
					o->live[k - 1], o->live[k]);
			return old_bad(o, why);
		}
	/* fill() writes the blocks in this order */
	qsort_r(o->live, o->nlive, sizeof(*o->live), by_page, o);
	for (uint64_t k = 1; k < o->nlive; k++) {
		struct fields a = fields(o, o->live[k - 1]);
		struct fields b = fields(o, o->live[k]);
		if ((uint64_t)a.page + a.npages > b.page) {
			snprintf(why, sizeof(why), "entries %u and %u share page %u",
					o->live[k - 1], o->live[k], b.page);
			return old_bad(o, why);
		}
	}
	return K_OK;
}

/* Whether layout 4 with mb entries and extra more pages has its data
 * area start where o's (layout 1's or 2's) does (then *base is its
 * address). */
static int
fits(const struct old *o, uint64_t mb, uint64_t extra, struct pmm__geom *g,
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

/* The largest maxBlocks in [least, most] with which layout 4 and extra
 * more pages fits o (its data offset grows with maxBlocks), or 0. */
static uint64_t
largest_fit(const struct old *o, uint64_t least, uint64_t most,
		uint64_t extra, struct pmm__geom *g, uint64_t *base)
{
	uint64_t lo = least, hi = most;
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

/* The layout-4 geometry whose data area starts where o's does: the
 * largest maxBlocks from o's down to its number of blocks; failing that
 * (a small bank, whose data area is only page-aligned), the largest
 * above o's; failing that (the index's size jumps over the old one's),
 * the fewest pages added at the top, free, that make the index end
 * exactly there, with any pmm.maxBlocks. */
static int
place(const struct old *o, int fd, struct pmm__geom *g, uint64_t *base)
{
	uint64_t least = o->nlive > 0 ? o->nlive : 1, extra;
	if (largest_fit(o, least, o->max_blocks, 0, g, base) != 0 ||
			largest_fit(o, o->max_blocks, PMM__MAX_BLOCKS, 0, g,
				base) != 0)
		return K_OK;
	/* a page more adds 12 bytes to the index, moving where the next
	 * maxBlocks makes it jump: up to 65536 are tried */
	for (extra = 1; extra <= 65536; extra++)
		if (largest_fit(o, least, PMM__MAX_BLOCKS, extra, g, base) != 0)
			goto grown;
	return pmm__fail(K_EINVAL,
			"%s: layout 4's index cannot end where this bank's data begins for any pmm.maxBlocks from %llu down to its %llu blocks, so its blocks cannot keep their addresses: not migrated",
			o->path, (unsigned long long)o->max_blocks,
			(unsigned long long)o->nlive);
grown:;
	char other[PATH_MAX];
	pmm__addr_collision(fd, *base, g->file_size, other, sizeof(other));
	if (other[0] != 0)
		return pmm__fail(K_EMAPPED,
				"%s: layout 4 needs %llu more pages at the top of this bank to keep its blocks at their addresses, and bank %s lies there: not migrated",
				o->path, (unsigned long long)extra, other);
	return K_OK;
}

/* Write o's blocks into the new bank b: entries 0.. by page, then their
 * bytes, then the commits. */
static int
fill(struct pmm__bank *b, void *arg)
{
	const struct old *o = arg;
	const unsigned char *src = o->m + o->data_off;
	for (uint64_t k = 0; k < o->nlive; k++) {
		const struct old_entry *e = &o->table[o->live[k]];
		struct pmm__entry *n = &b->table[k];
		memset(n, 0, sizeof(*n));
		n->page = e->page;
		n->npages = e->npages;
		memcpy(n->name, e->name, sizeof(n->name));	/* NUL-ended */
		n->keysize = (uint8_t)e->keysize;
		memcpy(n->key, e->key, sizeof(n->key));
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

/* Map the file fd (of st's size) read-only and check it is a bank of
 * layout 1, 2 or 3, its header, redo record and every entry. */
static int
old_open(struct old *o, int fd, const struct stat *st)
{
	struct pmm__hdr h;
	const size_t shared = offsetof(struct pmm__hdr, keys);
	if ((uint64_t)st->st_size < OLD_HDR_SIZE)
		return pmm__fail(K_ETRUNC, "%s: not a bank (%llu bytes)",
				o->path, (unsigned long long)st->st_size);
	memset(&h, 0, sizeof(h));
	if (pread(fd, &h, shared, 0) != (ssize_t)shared)
		return pmm__fail_errno(K_ESYS, "cannot read %s", o->path);
	if (memcmp(h.magic, PMM__MAGIC, 8) != 0)
		return pmm__fail(K_EFOREIGN, "%s: not a bank file (bad magic)",
				o->path);
	o->layout = h.layout;
	if (pmm__upgrade_torn(&h))
		o->layout = PMM__LAYOUT_V3;
	else if (h.layout == PMM__LAYOUT)
		return pmm__fail(PMM__CURRENT, "%s: already layout %d, nothing to do",
				o->path, PMM__LAYOUT);
	else if (h.layout != PMM__LAYOUT_V1 && h.layout != PMM__LAYOUT_V2 &&
			h.layout != PMM__LAYOUT_V3)
		return pmm__fail(K_EVERSION,
				"%s: bank layout version %u: pmmctl upgrade migrates layouts %d, %d and %d only",
				o->path, h.layout, PMM__LAYOUT_V1,
				PMM__LAYOUT_V2, PMM__LAYOUT_V3);
	void *m = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return pmm__fail_errno(K_ESYS, "cannot map %s", o->path);
	o->m = m;
	o->h = m;
	int rc = old_header(o);
	if (rc == K_OK && (uint64_t)st->st_size != o->file_size)
		rc = pmm__fail(K_ETRUNC, "%s: %llu bytes, its header says %llu",
				o->path, (unsigned long long)st->st_size,
				(unsigned long long)o->file_size);
	if (rc != K_OK)
		return rc;
	return old_blocks(o);
}

/* Write len bytes of p at off in o's file fd, and sync them. */
static int
write_synced(const struct old *o, int fd, const void *p, size_t len,
		uint64_t off)
{
	ssize_t n = pwrite(fd, p, len, (off_t)off);
	if (n >= 0 && (size_t)n != len)
		errno = ENOSPC;		/* a short write: no room left */
	if (n < 0 || (size_t)n != len || fsync(fd) != 0)
		return pmm__fail_errno(errno == ENOSPC ? K_ENOMEM : K_ESYS,
				"cannot write bank %s", o->path);
	return K_OK;
}

/* A boot id that no boot has (the kernel's are UUIDs, or none): the
 * next open takes the bank for one last used before a reboot. */
#define UPGRADED_BOOT_ID "(pmmctl upgrade)"

/* Make o, a valid layout-3 bank (its commit maybe torn), one of layout
 * 4 in place: first what the next open derives again, then the static
 * part in one write, each synced (see the top of the file). */
static int
v3_commit(const struct old *o, int fd)
{
	struct pmm__hdr n;
	const size_t id_at = offsetof(struct pmm__hdr, boot_id);
	const size_t log_at = offsetof(struct pmm__hdr, log);
	const size_t derived_at = offsetof(struct pmm__hdr, keys);
	const size_t static_len = offsetof(struct pmm__hdr, checksum) +
		sizeof(n.checksum);
	memset(&n, 0, sizeof(n));
	/* the boot id line, with no file identity (rebuilt either way) */
	memcpy(n.boot_id, UPGRADED_BOOT_ID, sizeof(UPGRADED_BOOT_ID));
	int rc = write_synced(o, fd, (unsigned char *)&n + id_at,
			log_at - id_at, id_at);
	/* layout 3's mutex and what follows it to the end of layout 4's
	 * header (the keys' lock, the arenas): zero, as a new bank has them
	 * before pmm__lock_init and the rebuild; the redo record between is
	 * left as it is, for the next open to finish */
	if (rc == K_OK)
		rc = write_synced(o, fd, (unsigned char *)&n + derived_at,
				sizeof(n) - derived_at, derived_at);
	if (rc != K_OK)
		return rc;
	/* the commit */
	memcpy(&n, o->h, offsetof(struct pmm__hdr, checksum));
	n.layout = PMM__LAYOUT;
	n.hdr_size = sizeof(n);
	n.checksum = pmm__hdr_checksum(&n);
	return write_synced(o, fd, &n, static_len, 0);
}

/* Open the bank file at path: for reading and writing (a layout-3 bank
 * is written in place), or failing that (*rw_why says why) for reading
 * only (layouts 1 and 2 are replaced, their file only read). */
static int
open_old(const char *path, int *fd, struct stat *st, char *rw_why,
		size_t len)
{
	char base[NAME_MAX + 1];
	int dfd, rc = pmm__open_bank_dir(path, &dfd, base);
	if (rc != K_OK)
		return rc;
	rw_why[0] = 0;
	rc = pmm__open_bank_file(dfd, base, path, O_RDWR, fd, st);
	if (rc == K_ESYS) {
		snprintf(rw_why, len, "%s", pmmErrorMsg());
		rc = pmm__open_bank_file(dfd, base, path, O_RDONLY, fd, st);
	}
	close(dfd);
	return rc;
}

/* Migrate the layout-1, -2 or -3 bank at path to layout 4, every block
 * at its address, under its liveness lock (K_EBUSY while a process has
 * it open). */
int
pmm__bank_upgrade(const char *path, struct pmm__upgrade *r)
{
	char rw_why[PATH_MAX + 128];
	struct old o;
	struct stat st;
	struct pmm__geom g;
	uint64_t addr = 0;
	int fd, rc = open_old(path, &fd, &st, rw_why, sizeof(rw_why));
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
	if ((rc = old_open(&o, fd, &st)) != K_OK)
		goto out;
	if (o.layout == PMM__LAYOUT_V3) {
		/* the same geometry: nothing moves, nothing is added */
		r->from_mb = r->to_mb = o.max_blocks;
		r->from_size = r->to_size = o.h->bank_size;
		r->nblocks = o.nlive;
		rc = rw_why[0] != 0 ?
			pmm__fail(K_ESYS, "%s (a layout-3 bank is upgraded in place)",
					rw_why) :
			v3_commit(&o, fd);
		goto out;
	}
	if ((rc = place(&o, fd, &g, &addr)) != K_OK)
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

/*
 * geometry.c -- where everything lies in a bank, and the header's checks.
 *
 * Every offset is a function of (bank_size, max_blocks, page_size), so a
 * header is valid only if its offsets are exactly the computed ones: a
 * damaged or hostile header cannot point anywhere else.
 */
#include <stddef.h>
#include <stdio.h>

#include "pmm.h"

static uint64_t
round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* See pmm.h. */
void
pmm__geom_set_arenas(struct pmm__geom *g, uint64_t n)
{
	g->narenas = n;
	for (uint64_t a = 0; a <= PMM__ARENAS; a++) {
		uint64_t k = a < n ? a : n;
		g->arena_entry[a] = k * g->max_blocks / n;
		g->arena_page[a] = k * g->npages / n;
	}
}

/* Lay out a bank of these tunables; K_EINVAL when out of range. */
int
pmm__geom_compute(uint64_t bank_size, uint64_t max_blocks,
		uint64_t page_size, struct pmm__geom *g)
{
	if (page_size < 4096 || page_size > (1u << 21) ||
			(page_size & (page_size - 1)) != 0)
		return pmm__fail(K_EINVAL, "page size %llu unsupported",
				(unsigned long long)page_size);
	if (bank_size == 0 || bank_size > PMM__MAX_PAGES * page_size)
		return pmm__fail(K_EINVAL,
				"pmm.rambankSize %llu out of range (1..%llu)",
				(unsigned long long)bank_size,
				(unsigned long long)(PMM__MAX_PAGES * page_size));
	if (max_blocks == 0 || max_blocks > PMM__MAX_BLOCKS)
		return pmm__fail(K_EINVAL,
				"pmm.maxBlocks %llu out of range (1..%llu)",
				(unsigned long long)max_blocks,
				(unsigned long long)PMM__MAX_BLOCKS);
	memset(g, 0, sizeof(*g));
	g->page_size = page_size;
	g->bank_size = round_up(bank_size, page_size);
	g->max_blocks = max_blocks;
	g->npages = g->bank_size / page_size;
	/* three slots a bucket, at most three quarters full */
	g->name_buckets = (max_blocks * 4 + 8) / 9;
	/* a slot a key, at most two thirds full (keys <= blocks) */
	g->key_slots = round_up(max_blocks * 3 / 2 + 1, 8);
	g->table_off = page_size;
	g->index_off = g->table_off +
		round_up(max_blocks * sizeof(struct pmm__entry), page_size);
	/* arenas: a range of entries and one of pages each, in large banks
	 * only: a block can cross arenas, but one process's blocks fill one
	 * arena first, so a small bank keeps its free space in one piece */
	uint64_t n = g->npages / PMM__ARENA_PAGES;
	if (n > max_blocks / PMM__ARENA_BLOCKS)
		n = max_blocks / PMM__ARENA_BLOCKS;
	pmm__geom_set_arenas(g, n > PMM__ARENAS ? PMM__ARENAS : n ? n : 1);
	uint64_t o = PMM__IXHDR_SIZE;
	g->ix_name = o;
	o += sizeof(struct pmm__nbucket) * g->name_buckets;
	g->ix_key = o;
	o += 4 * g->key_slots;
	g->ix_knext = o;
	o += 4 * max_blocks;
	g->ix_kprev = o;
	o += 4 * max_blocks;
	g->ix_pg = o;
	o += sizeof(struct pmm__pgrec) * g->npages;
	g->ix_size = round_up(o, page_size);
	g->data_off = g->index_off + g->ix_size;
	/* blocks start on a 2 MiB boundary when the bank is large enough */
	if (g->bank_size >= (64u << 20))
		g->data_off = round_up(g->data_off, 2u << 20);
	g->file_size = g->data_off + g->bank_size;
	return K_OK;
}

/* Checksum of the header's static part. */
uint64_t
pmm__hdr_checksum(const struct pmm__hdr *h)
{
	return pmm__hash_words(h, offsetof(struct pmm__hdr, checksum) / 8,
			0x68647200);
}

/* Checksum of an entry's fields and its index (a moved entry fails). */
uint32_t
pmm__entry_checksum(const struct pmm__entry *e, uint64_t idx)
{
	uint64_t h = pmm__hash_words(&e->page, 1, idx);
	h = pmm__hash_words(e->name, 8, h);	/* the name and the key size */
	h = pmm__hash_words(e->key, 4, h);
	return (uint32_t)(h ^ (h >> 32));
}

/* Checksum of a redo record. */
uint64_t
pmm__log_checksum(const struct pmm__log *l)
{
	uint64_t h = pmm__mix(0x6c6f67, l->keysize);
	h = pmm__mix(h, l->seq);
	return pmm__hash_words(l->key, 4, h);
}

/* Validate a header image of img_size bytes (the file's size). */
int
pmm__hdr_validate(const void *img, uint64_t img_size, struct pmm__geom *g)
{
	const struct pmm__hdr *h = img;
	if (img_size < 8 || memcmp(h->magic, PMM__MAGIC, 8) != 0)
		return pmm__fail(K_EFOREIGN, "not a bank file (bad magic)");
	if (img_size < sizeof(struct pmm__hdr))
		return pmm__fail(K_ETRUNC,
				"bank file truncated: %llu bytes, header alone is %zu",
				(unsigned long long)img_size,
				sizeof(struct pmm__hdr));
	if (h->layout == PMM__LAYOUT_V1 || h->layout == PMM__LAYOUT_V2 ||
			h->layout == PMM__LAYOUT_V3)
		return pmm__fail(K_EVERSION,
				"bank layout version %u (libpmm %s), this libpmm reads %u: migrate it with pmmctl upgrade, which keeps every block at its address (pmmctl(1))",
				h->layout, h->layout == PMM__LAYOUT_V1 ?
				"1.0, before the one-line name buckets" :
				h->layout == PMM__LAYOUT_V2 ?
				"1.1, before the 112-byte entries" :
				"1.2, before the arenas", PMM__LAYOUT);
	if (h->layout != PMM__LAYOUT)
		return pmm__fail(K_EVERSION,
				"bank layout version %u, this libpmm reads %u",
				h->layout, PMM__LAYOUT);
	if (h->checksum != pmm__hdr_checksum(h) && pmm__upgrade_torn(h))
		return pmm__fail(K_EVERSION,
				"bank layout version 3 whose upgrade to %u was cut short (its header's commit torn): finish it with pmmctl upgrade, which keeps every block at its address (pmmctl(1))",
				PMM__LAYOUT);
	if (h->checksum != pmm__hdr_checksum(h))
		return pmm__fail(K_ECORRUPT, "bank header checksum mismatch");
	if (h->hdr_size != sizeof(struct pmm__hdr))
		return pmm__fail(K_ECORRUPT, "bank header size %u, expected %zu",
				h->hdr_size, sizeof(struct pmm__hdr));
	int rc = pmm__geom_compute(h->bank_size, h->max_blocks, h->page_size,
			g);
	if (rc != K_OK) {
		/* the message is the source: copy it out before rewriting it */
		char why[256];
		snprintf(why, sizeof(why), "%s", pmmErrorMsg());
		return pmm__fail(K_ECORRUPT, "bank header: %s", why);
	}
	if (h->bank_size != g->bank_size || h->npages != g->npages ||
			h->table_off != g->table_off ||
			h->index_off != g->index_off ||
			h->data_off != g->data_off ||
			h->file_size != g->file_size ||
			h->name_buckets != g->name_buckets ||
			h->key_slots != g->key_slots)
		return pmm__fail(K_ECORRUPT,
				"bank header geometry inconsistent with its tunables");
	if (h->base < PMM__ADDR_MIN || h->base % (2u << 20) != 0 ||
			g->file_size > PMM__ADDR_END - PMM__ADDR_MIN ||
			h->base > PMM__ADDR_END - g->file_size)
		return pmm__fail(K_ECORRUPT,
				"bank address 0x%llx invalid: a bank lies within 0x%llx..0x%llx",
				(unsigned long long)h->base,
				(unsigned long long)PMM__ADDR_MIN,
				(unsigned long long)PMM__ADDR_END);
	if (memchr(h->medium, 0, sizeof(h->medium)) == NULL)
		return pmm__fail(K_ECORRUPT, "bank medium name not terminated");
	if (img_size < g->file_size)
		return pmm__fail(K_ETRUNC,
				"bank file truncated: %llu bytes of %llu",
				(unsigned long long)img_size,
				(unsigned long long)g->file_size);
	if (img_size > g->file_size)
		return pmm__fail(K_ECORRUPT,
				"bank file is %llu bytes, its header says %llu",
				(unsigned long long)img_size,
				(unsigned long long)g->file_size);
	return K_OK;
}

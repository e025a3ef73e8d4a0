/*
 * recover.c -- after a crash: finish a committed pmmFreeAll, then rebuild
 * the derived index from the table, which alone is the truth.
 */
#include <stddef.h>

#include "pmm.h"

/* See pmm.h: a word at a time, as each pmmFree validates its entry under
 * the bank lock. */
int
pmm__zero_from(const void *p, size_t from, size_t len)
{
	_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
			"a word's later bytes are its high bits");
	const unsigned char *c = p;
	uint64_t v, acc = 0;
	for (size_t w = from / 8; w < (len + 7) / 8; w++) {
		uint64_t mask = ~0ULL;
		if (8 * w < from)
			mask <<= 8 * (from - 8 * w);
		if (8 * w + 8 > len)
			mask &= ~0ULL >> 8 * (8 * w + 8 - len);
		memcpy(&v, c + 8 * w, 8);
		acc |= v & mask;
	}
	return acc == 0;
}

/* Validate entry idx of the table; *used tells whether it is a block. */
int
pmm__entry_validate(struct pmm__bank *b, uint32_t idx, int *used)
{
	const struct pmm__entry *e = &b->table[idx];
	*used = 0;
	if (e->state == PMM__FREE)
		return K_OK;
	if (e->state != PMM__USED)
		return pmm__fail(K_ECORRUPT, "entry %u: bad state word", idx);
	if (e->checksum != pmm__entry_checksum(e, idx))
		return pmm__fail(K_ECORRUPT, "entry %u: checksum mismatch", idx);
	if (e->npages == 0 || (uint64_t)e->page + e->npages > b->g.npages)
		return pmm__fail(K_ECORRUPT, "entry %u: pages %u+%u outside the bank",
				idx, e->page, e->npages);
	/* the name's bytes and the key size are one 64-byte run: the name
	 * ends where its padding starts, and the key size is its last byte */
	size_t n = strnlen(e->name, sizeof(e->name));
	if (n == 0)
		return pmm__fail(K_ECORRUPT, "entry %u: bad name", idx);
	if (n < sizeof(e->name) &&
			!pmm__zero_from(e->name, n, sizeof(e->name)))
		return pmm__fail(K_ECORRUPT, "entry %u: name not padded", idx);
	if (e->keysize > sizeof(e->key))
		return pmm__fail(K_ECORRUPT, "entry %u: key size %u", idx,
				e->keysize);
	if (!pmm__zero_from(e->key, e->keysize, sizeof(e->key)))
		return pmm__fail(K_ECORRUPT, "entry %u: key not padded", idx);
	*used = 1;
	return K_OK;
}

/* Redo a pmmFreeAll whose record was committed. */
static int
finish_log(struct pmm__bank *b)
{
	struct pmm__log *l = &b->hdr->log;
	if (l->valid == 0)
		return K_OK;
	if (l->valid != PMM__LOG_FREEALL || l->checksum != pmm__log_checksum(l) ||
			l->keysize == 0 || l->keysize > sizeof(l->key))
		return pmm__fail(K_ECORRUPT, "bank redo record damaged");
	for (uint64_t i = 0; i < b->g.max_blocks; i++) {
		struct pmm__entry *e = &b->table[i];
		if (e->state == PMM__USED && e->keysize == l->keysize &&
				memcmp(e->key, l->key, sizeof(e->key)) == 0) {
			e->state = PMM__FREE;
			pmm__flush(b, &e->state, sizeof(e->state));
		}
	}
	pmm__drain(b);
	l->valid = 0;
	pmm__persist(b, &l->valid, sizeof(l->valid));
	return K_OK;
}

/* Rebuild the index from a valid table. */
static int
rebuild(struct pmm__bank *b)
{
	const struct pmm__geom *g = &b->g;
	int rc, used;
	/* the generation survives (readers compare it), and so do the
	 * arenas' locks and their holders' marks */
	size_t keep = offsetof(struct pmm__ixhdr, nkeys);
	memset((unsigned char *)b->ix + keep, 0, g->ix_size - keep);
	for (unsigned a = 0; a < PMM__ARENAS; a++) {
		struct pmm__arena *A = &b->hdr->arena[a];
		size_t from = offsetof(struct pmm__arena, free_head);
		memset((unsigned char *)A + from, 0, sizeof(*A) - from);
	}
	/* tag[p] = owner + 1 first: finds overlaps in one pass */
	for (uint64_t i = 0; i < g->max_blocks; i++) {
		if ((rc = pmm__entry_validate(b, (uint32_t)i, &used)) != K_OK)
			return rc;
		if (!used)
			continue;
		const struct pmm__entry *e = &b->table[i];
		for (uint32_t p = e->page; p < e->page + e->npages; p++) {
			if (b->pg[p].tag != 0)
				return pmm__fail(K_ECORRUPT,
						"entries %u and %u share page %u",
						b->pg[p].tag - 1, (unsigned)i, p);
			b->pg[p].tag = (uint32_t)i + 1;
		}
		uint32_t dup;
		if (pmm__name_find(b, e->name, &dup) == K_OK)
			return pmm__fail(K_ECORRUPT,
					"entries %u and %u have one name", dup,
					(unsigned)i);
		if ((rc = pmm__name_insert(b, (uint32_t)i)) != K_OK)
			return rc;
		if (e->keysize > 0 &&
				(rc = pmm__key_insert(b, (uint32_t)i)) != K_OK)
			return rc;
		b->hdr->arena[pmm__arena_of_entry(g, i)].used_blocks++;
	}
	for (uint64_t p = 0; p < g->npages;) {
		uint32_t owner = b->pg[p].tag;
		if (owner != 0) {
			uint32_t n = b->table[owner - 1].npages;
			pmm__space_mark_used(b, (uint32_t)p, n);
			p += n;
			continue;
		}
		uint64_t q = p;
		while (q < g->npages && b->pg[q].tag == 0)
			q++;
		pmm__space_add_free(b, (uint32_t)p, (uint32_t)(q - p));
		p = q;
	}
	for (uint64_t i = g->max_blocks; i-- > 0;)
		if (b->table[i].state == PMM__FREE)
			pmm__entry_push(b, (uint32_t)i);
	return K_OK;
}

/* Bring the bank back to a consistent state after any crash. */
int
pmm__recover(struct pmm__bank *b)
{
	/* lock-free readers stop trusting the index before finish_log frees
	 * blocks still in it; left odd when the table is damaged */
	pmm__ix_begin_rebuild(b);
	int rc = finish_log(b);
	if (rc == K_OK)
		rc = rebuild(b);
	if (rc == K_OK)
		pmm__ix_end_rebuild(b);
	return rc;
}

/*
 * check.c -- the whole-bank invariant check: the table is valid, and the
 * index (hashes, key lists, free lists, tags, counters) describes exactly
 * the table.  pmmctl check, the open path, the crash campaign and the
 * stress test all use it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pmm.h"
#include "badranges.h"

struct ctx {
	struct pmm__bank *b;
	char *report;
	size_t len;
};

static int
bad(struct ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->report != NULL && c->len > 0)
		snprintf(c->report, c->len, "%s", msg);
	return pmm__fail(K_ECORRUPT, "bank check: %s", msg);
}

static int
check_extents(struct ctx *c, const uint32_t *start_owner, uint64_t *nfree,
		uint64_t *free_pages)
{
	struct pmm__bank *b = c->b;
	int prev_free = 0;
	*nfree = *free_pages = 0;
	for (uint64_t p = 0; p < b->g.npages;) {
		uint32_t t = b->pg[p].tag, l = t >> 1;
		if (l == 0 || p + l > b->g.npages || b->pg[p + l - 1].tag != t)
			return bad(c, "bad boundary tag at page %llu",
					(unsigned long long)p);
		if (t & 1) {
			if (prev_free)
				return bad(c, "free extents not merged at page %llu",
						(unsigned long long)p);
			for (uint64_t q = p; q < p + l; q++)
				if (start_owner[q] != 0)
					return bad(c, "free extent at page %llu covers a block",
							(unsigned long long)p);
			(*nfree)++;
			*free_pages += l;
		} else {
			uint32_t o = start_owner[p];
			if (o == 0 || o == UINT32_MAX ||
					b->table[o - 1].npages != l)
				return bad(c, "used extent at page %llu has no block",
						(unsigned long long)p);
		}
		prev_free = t & 1;
		p += l;
	}
	return K_OK;
}

static int
check_free_lists(struct ctx *c, uint64_t nfree)
{
	struct pmm__bank *b = c->b;
	uint64_t seen = 0;
	/* a bit past the last class would send an allocation off the lists */
	if (b->ix->class_bits[1] >> (PMM__NCLASS - 64) != 0)
		return bad(c, "class bits set beyond class %d", PMM__NCLASS - 1);
	for (unsigned k = 0; k < PMM__NCLASS; k++) {
		uint32_t v = b->ix->class_head[k], prev = 0;
		int bit = (b->ix->class_bits[k / 64] >> (k % 64)) & 1;
		if ((v != 0) != bit)
			return bad(c, "class %u bit disagrees with its list", k);
		while (v != 0) {
			if (v > b->g.npages || ++seen > nfree)
				return bad(c, "free list %u runs wild", k);
			uint32_t t = b->pg[v - 1].tag;
			if (!(t & 1) || pmm__class_of(t >> 1) != k)
				return bad(c, "page %u on free list %u is not a free extent of it",
						v - 1, k);
			if (b->pg[v - 1].fprev != prev)
				return bad(c, "free list %u back link broken", k);
			prev = v;
			v = b->pg[v - 1].fnext;
		}
	}
	if (seen != nfree)
		return bad(c, "%llu free extents, %llu on lists",
				(unsigned long long)nfree,
				(unsigned long long)seen);
	return K_OK;
}

/* Bucket j's slots: each a block, of the right prefix, page and length
 * class, found by its name; *names counts them, over[] gets what every
 * bucket's count of names gone past it must be. */
static int
check_bucket(struct ctx *c, uint64_t j, uint64_t *names, uint32_t *over)
{
	struct pmm__bank *b = c->b;
	const struct pmm__nbucket *k = &b->nb[j];
	uint64_t nb = b->g.name_buckets;
	if (k->meta & 1)
		return bad(c, "name bucket %llu left mid-change",
				(unsigned long long)j);
	for (int s = 0; s < PMM__NS_SLOTS; s++) {
		uint32_t v = k->s[s].idx1 & ~PMM__NS_LONG, idx;
		if (k->s[s].idx1 == 0)
			continue;
		if (v == 0 || v > b->g.max_blocks ||
				b->table[v - 1].state != PMM__USED)
			return bad(c, "name slot %llu.%d holds no block",
					(unsigned long long)j, s);
		const struct pmm__entry *e = &b->table[v - 1];
		if (memcmp(k->s[s].name, e->name, PMM__NS_NAME) != 0 ||
				k->s[s].page != e->page ||
				!(k->s[s].idx1 & PMM__NS_LONG) !=
				!e->name[PMM__NS_NAME])
			return bad(c, "name slot %llu.%d disagrees with block %u",
					(unsigned long long)j, s, v - 1);
		if (pmm__name_find(b, e->name, &idx) != K_OK || idx != v - 1)
			return bad(c, "block %u not found by its name", v - 1);
		uint64_t h = pmm__scale(pmm__name_hash(e->name), nb);
		for (; h != j; h = pmm__wrap_next(h, nb))
			over[h]++;
		(*names)++;
	}
	return K_OK;
}

static int
check_hashes(struct ctx *c, uint64_t used, uint64_t keyed)
{
	struct pmm__bank *b = c->b;
	uint64_t names = 0, keys = 0, listed = 0;
	uint32_t *over = calloc(b->g.name_buckets, sizeof(*over));
	int rc = K_OK;
	if (over == NULL)
		return pmm__fail_errno(K_ESYS, "bank check");
	for (uint64_t j = 0; j < b->g.name_buckets && rc == K_OK; j++)
		rc = check_bucket(c, j, &names, over);
	for (uint64_t j = 0; j < b->g.name_buckets && rc == K_OK; j++) {
		uint32_t o = b->nb[j].meta >> PMM__NB_OVER_SHIFT;
		/* 255 sticks until a rebuild, whatever went past */
		if (o != 255 && o != over[j])
			rc = bad(c, "name bucket %llu counts %u names past it, %u are",
					(unsigned long long)j, o, over[j]);
	}
	free(over);
	if (rc != K_OK)
		return rc;
	if (names != used)
		return bad(c, "%llu blocks, %llu names hashed",
				(unsigned long long)used, (unsigned long long)names);
	/* a slot may repeat a block while another block is lost */
	for (uint64_t i = 0; i < b->g.max_blocks; i++) {
		uint32_t idx;
		if (b->table[i].state == PMM__USED &&
				(pmm__name_find(b, b->table[i].name, &idx) != K_OK ||
				 idx != i))
			return bad(c, "block %llu not found by its name",
					(unsigned long long)i);
	}
	for (uint64_t i = 0; i < b->g.key_slots; i++) {
		uint32_t v = b->key_slot[i], prev = 0;
		uint64_t at;
		if (v == 0)
			continue;
		keys++;
		if (v > b->g.max_blocks)
			return bad(c, "key slot %llu out of range",
					(unsigned long long)i);
		const struct pmm__entry *h = &b->table[v - 1];
		/* found at this very slot: a slot that repeats another's
		 * list would count it twice, hiding a list that is lost */
		if (pmm__key_slot(b, h->key, h->keysize, &at) != K_OK ||
				at != i)
			return bad(c, "key list of block %u not found by its key",
					v - 1);
		while (v != 0) {
			if (v > b->g.max_blocks || ++listed > keyed)
				return bad(c, "key list runs wild");
			const struct pmm__entry *e = &b->table[v - 1];
			if (e->state != PMM__USED || e->keysize != h->keysize ||
					memcmp(e->key, h->key, sizeof(e->key)) != 0)
				return bad(c, "block %u on a foreign key list", v - 1);
			if (b->kprev[v - 1] != prev)
				return bad(c, "key list back link broken at %u", v - 1);
			prev = v;
			v = b->knext[v - 1];
		}
	}
	if (listed != keyed || keys != b->ix->nkeys)
		return bad(c, "%llu keyed blocks, %llu listed; %llu keys, %llu counted",
				(unsigned long long)keyed,
				(unsigned long long)listed,
				(unsigned long long)keys,
				(unsigned long long)b->ix->nkeys);
	return K_OK;
}

/* The free entries' chain through knext: every free entry once, no
 * block (bounded by the table: a cycle repeats an entry). */
static int
check_free_entries(struct ctx *c, uint64_t used)
{
	struct pmm__bank *b = c->b;
	unsigned char *seen = calloc(b->g.max_blocks, 1);
	if (seen == NULL)
		return pmm__fail_errno(K_ESYS, "bank check");
	int rc = K_OK;
	uint64_t n = 0, v = b->ix->free_head;
	for (; v != 0 && rc == K_OK; n++) {
		if (v > b->g.max_blocks || seen[v - 1] ||
				b->table[v - 1].state != PMM__FREE) {
			rc = bad(c, "free entry %llu of the chain is bad",
					(unsigned long long)n);
		} else {
			seen[v - 1] = 1;
			v = b->knext[v - 1];
		}
	}
	free(seen);
	if (rc == K_OK && n != b->g.max_blocks - used)
		rc = bad(c, "%llu free entries chained, %llu expected",
				(unsigned long long)n,
				(unsigned long long)(b->g.max_blocks - used));
	return rc;
}

/* Check the whole bank (caller holds the lock or owns the bank). */
int
pmm__check(struct pmm__bank *b, char *report, size_t len)
{
	struct ctx c = { b, report, len };
	uint64_t used = 0, keyed = 0, pages = 0, nfree, free_pages;
	int rc, is_used;
	if (report != NULL && len > 0)
		report[0] = 0;
	/* start_owner[p]: entry + 1 starting at p; UINT32_MAX inside one */
	uint32_t *own = calloc(b->g.npages, sizeof(*own));
	if (own == NULL)
		return pmm__fail_errno(K_ESYS, "bank check");
	for (uint64_t i = 0; i < b->g.max_blocks; i++) {
		if ((rc = pmm__entry_validate(b, (uint32_t)i, &is_used)) != K_OK) {
			if (report != NULL && len > 0)
				snprintf(report, len, "%s", pmmErrorMsg());
			goto out;
		}
		if (!is_used)
			continue;
		const struct pmm__entry *e = &b->table[i];
		for (uint32_t p = e->page; p < e->page + e->npages; p++) {
			if (own[p] != 0) {
				rc = bad(&c, "blocks overlap at page %u", p);
				goto out;
			}
			own[p] = p == e->page ? (uint32_t)i + 1 : UINT32_MAX;
		}
		used++;
		pages += e->npages;
		keyed += e->keysize > 0;
	}
	if (b->hdr->log.valid != 0) {
		rc = bad(&c, "a pmmFreeAll redo record is pending");
		goto out;
	}
	if ((rc = check_extents(&c, own, &nfree, &free_pages)) != K_OK ||
			(rc = check_free_lists(&c, nfree)) != K_OK ||
			(rc = check_hashes(&c, used, keyed)) != K_OK ||
			(rc = check_free_entries(&c, used)) != K_OK)
		goto out;
	if (b->ix->used_blocks != used || b->ix->used_pages != pages ||
			pages + free_pages != b->g.npages)
		rc = bad(&c, "counters disagree: %llu blocks, %llu pages",
				(unsigned long long)used, (unsigned long long)pages);
	if (rc == K_OK)
		rc = pmm__bad_check(b, report, len);
out:
	free(own);
	return rc;
}

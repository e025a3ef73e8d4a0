/*
 * check.c -- the whole-bank invariant check: the table is valid, and the
 * index (hashes, key lists, each arena's free lists and counters, tags)
 * describes exactly the table.  pmmctl check, the open path, the crash
 * campaign and the stress test all use it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pmm.h"
#include "badranges.h"

/* What the table and the tags say one arena must hold. */
struct tally {
	uint64_t blocks;		/* blocks whose entry is in it */
	uint64_t pages;			/* used pages in its range */
	uint64_t extents, free_pages;	/* free extents, all in its range */
};

struct ctx {
	struct pmm__bank *b;
	char *report;
	size_t len;
	struct tally t[PMM__ARENAS];
};

/* own[p] of the first page of a free extent (entries give at most
 * PMM__MAX_BLOCKS, UINT32_MAX marks a block's other pages). */
#define FREE_START (UINT32_MAX - 1)

/* Report damage: the message in report, and as the error. */
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

/* Count a block's pages in each arena its pages lie in: a block larger
 * than an arena spans several. */
static void
tally_pages(struct ctx *c, uint64_t page, uint64_t npages)
{
	const struct pmm__geom *g = &c->b->g;
	uint64_t end = page + npages;
	for (uint64_t p = page, q; p < end; p = q) {
		unsigned a;
		q = pmm__arena_piece(g, p, end, &a);
		c->t[a].pages += q - p;
	}
}

/* Walk the boundary tags over the whole bank: each extent tagged at both
 * ends (a free one ending where its arena does, at its first page at
 * least), a used one exactly a block, a free one covering no block and
 * lying in one arena; the free extents are counted per arena and their
 * first pages marked FREE_START in own[]. */
static int
check_extents(struct ctx *c, uint32_t *own)
{
	struct pmm__bank *b = c->b;
	const struct pmm__geom *g = &b->g;
	int prev_free = 0;
	for (uint64_t p = 0; p < g->npages;) {
		uint32_t t = b->pg[p].tag, l = t >> 1;
		unsigned a = pmm__arena_of_page(g, p);
		/* a free extent ending where its arena does may leave its
		 * last page untagged (space.c, set_free_tags) */
		int tail = !(t & 1) || p + l != pmm__arena_page_lo(g, a + 1);
		if (l == 0 || p + l > g->npages ||
				(tail && b->pg[p + l - 1].tag != t))
			return bad(c, "arena %u: bad boundary tag at page %llu",
					a, (unsigned long long)p);
		if (t & 1) {
			/* an arena merges free extents within it only: two
			 * may touch where one arena ends and the next starts */
			if (prev_free && p != pmm__arena_page_lo(g, a))
				return bad(c, "arena %u: free extents not merged at page %llu",
						a, (unsigned long long)p);
			unsigned last = pmm__arena_of_page(g, p + l - 1);
			if (last != a)
				return bad(c, "arena %u: free extent at page %llu runs into arena %u",
						a, (unsigned long long)p, last);
			for (uint64_t q = p; q < p + l; q++)
				if (own[q] != 0)
					return bad(c, "arena %u: free extent at page %llu covers a block",
							a,
							(unsigned long long)p);
			own[p] = FREE_START;
			c->t[a].extents++;
			c->t[a].free_pages += l;
		} else {
			uint32_t o = own[p];
			if (o == 0 || o > g->max_blocks ||
					b->table[o - 1].npages != l)
				return bad(c, "arena %u: used extent at page %llu has no block",
						a, (unsigned long long)p);
		}
		prev_free = t & 1;
		p += l;
	}
	return K_OK;
}

/* Arena a's class lists: exactly the free extents of its page range,
 * each once, on its class's list, linked both ways; its class bits say
 * which lists are not empty. */
static int
check_free_lists(struct ctx *c, unsigned a, const uint32_t *own)
{
	struct pmm__bank *b = c->b;
	const struct pmm__geom *g = &b->g;
	const struct pmm__arena *r = &b->hdr->arena[a];
	uint64_t lo = pmm__arena_page_lo(g, a),
		hi = pmm__arena_page_lo(g, a + 1);
	uint64_t seen = 0, nfree = c->t[a].extents;
	/* a bit past the last class would send an allocation off the lists */
	if (r->class_bits[1] >> (PMM__NCLASS - 64) != 0)
		return bad(c, "arena %u: class bits set beyond class %d", a,
				PMM__NCLASS - 1);
	for (unsigned k = 0; k < PMM__NCLASS; k++) {
		uint32_t v = r->class_head[k], prev = 0;
		int bit = (r->class_bits[k / 64] >> (k % 64)) & 1;
		if ((v != 0) != bit)
			return bad(c, "arena %u: class %u bit disagrees with its list",
					a, k);
		while (v != 0) {
			if (v > g->npages)
				return bad(c, "arena %u: free list %u runs wild",
						a, k);
			/* the arena's lock guards its own pages only */
			if (v - 1 < lo || v - 1 >= hi)
				return bad(c, "arena %u: free list %u holds page %u of arena %u",
						a, k, v - 1,
						pmm__arena_of_page(g, v - 1));
			if (++seen > nfree)
				return bad(c, "arena %u: free list %u runs wild",
						a, k);
			/* a free extent's last page carries its tag too */
			uint32_t t = b->pg[v - 1].tag;
			if (own[v - 1] != FREE_START ||
					pmm__class_of(t >> 1) != k)
				return bad(c, "arena %u: page %u on free list %u is not a free extent of it",
						a, v - 1, k);
			if (b->pg[v - 1].fprev != prev)
				return bad(c, "arena %u: free list %u back link broken",
						a, k);
			prev = v;
			v = b->pg[v - 1].fnext;
		}
	}
	if (seen != nfree)
		return bad(c, "arena %u: %llu free extents, %llu on lists", a,
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
	/* outside any call no writer holds a bucket: its next writer would
	 * wait for it, then take every lock */
	if (k->meta & PMM__NB_WRITER)
		return bad(c, "name bucket %llu left mid-change: writer bit set",
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

/* The name buckets and the key lists against the table, and nkeys. */
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

/* Arena a's chain of free entries through knext: every free entry of its
 * range once, nothing else (bounded by the range: a cycle repeats an
 * entry). */
static int
check_free_entries(struct ctx *c, unsigned a)
{
	struct pmm__bank *b = c->b;
	uint64_t lo = pmm__arena_entry_lo(&b->g, a),
		hi = pmm__arena_entry_lo(&b->g, a + 1);
	unsigned char *seen = calloc(hi - lo + 1, 1);
	if (seen == NULL)
		return pmm__fail_errno(K_ESYS, "bank check");
	int rc = K_OK;
	uint64_t n = 0, v = b->hdr->arena[a].free_head;
	for (; v != 0 && rc == K_OK; n++) {
		if (v <= b->g.max_blocks && (v - 1 < lo || v - 1 >= hi)) {
			/* popped under this arena's lock alone, while its
			 * own arena's holder pushes or pops it too */
			rc = bad(c, "arena %u: free entry %llu of the chain is entry %llu, of arena %u",
					a, (unsigned long long)n,
					(unsigned long long)(v - 1),
					pmm__arena_of_entry(&b->g, v - 1));
		} else if (v > b->g.max_blocks || seen[v - 1 - lo] ||
				b->table[v - 1].state != PMM__FREE) {
			rc = bad(c, "arena %u: free entry %llu of the chain is bad",
					a, (unsigned long long)n);
		} else {
			seen[v - 1 - lo] = 1;
			v = b->knext[v - 1];
		}
	}
	free(seen);
	uint64_t want = hi - lo - c->t[a].blocks;
	if (rc == K_OK && n != want)
		rc = bad(c, "arena %u: %llu free entries chained, %llu expected",
				a, (unsigned long long)n,
				(unsigned long long)want);
	return rc;
}

/* Arena a's counters against the table, and its pages all accounted
 * for. */
static int
check_counters(struct ctx *c, unsigned a)
{
	const struct pmm__geom *g = &c->b->g;
	const struct pmm__arena *r = &c->b->hdr->arena[a];
	const struct tally *t = &c->t[a];
	uint64_t npages = pmm__arena_page_lo(g, a + 1) -
		pmm__arena_page_lo(g, a);
	if (r->used_blocks != t->blocks || r->used_pages != t->pages ||
			t->pages + t->free_pages != npages)
		return bad(c, "arena %u: counters disagree: %llu blocks, %llu pages (counted %llu, %llu)",
				a, (unsigned long long)t->blocks,
				(unsigned long long)t->pages,
				(unsigned long long)r->used_blocks,
				(unsigned long long)r->used_pages);
	return K_OK;
}

/* The arenas a bank this small does without hold nothing: the rebuild
 * clears them, and nothing else writes them.  (Their dirty marks are the
 * locks', not the index's.) */
static int
check_unused_arenas(struct ctx *c)
{
	for (unsigned a = (unsigned)c->b->g.narenas; a < PMM__ARENAS; a++) {
		const struct pmm__arena *r = &c->b->hdr->arena[a];
		int empty = r->free_head == 0 && r->used_blocks == 0 &&
			r->used_pages == 0 && r->class_bits[0] == 0 &&
			r->class_bits[1] == 0;
		for (unsigned k = 0; k < PMM__NCLASS && empty; k++)
			empty = r->class_head[k] == 0;
		if (!empty)
			return bad(c, "arena %u: unused (the bank has %llu), but not empty",
					a, (unsigned long long)c->b->g.narenas);
	}
	return K_OK;
}

/* Check the whole bank (caller holds the lock or owns the bank). */
int
pmm__check(struct pmm__bank *b, char *report, size_t len)
{
	struct ctx c = { .b = b, .report = report, .len = len };
	uint64_t used = 0, keyed = 0;
	unsigned n = (unsigned)b->g.narenas;
	int rc, is_used;
	if (report != NULL && len > 0)
		report[0] = 0;
	/* own[p]: entry + 1 starting at p; UINT32_MAX inside one (and,
	 * once the tags are walked, FREE_START where a free extent starts) */
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
		keyed += e->keysize > 0;
		c.t[pmm__arena_of_entry(&b->g, i)].blocks++;
		tally_pages(&c, e->page, e->npages);
	}
	if (b->hdr->log.valid != 0) {
		rc = bad(&c, "a pmmFreeAll redo record is pending");
		goto out;
	}
	if ((rc = check_extents(&c, own)) != K_OK)
		goto out;
	for (unsigned a = 0; a < n; a++)
		if ((rc = check_free_lists(&c, a, own)) != K_OK)
			goto out;
	if ((rc = check_hashes(&c, used, keyed)) != K_OK)
		goto out;
	for (unsigned a = 0; a < n; a++)
		if ((rc = check_free_entries(&c, a)) != K_OK ||
				(rc = check_counters(&c, a)) != K_OK)
			goto out;
	if ((rc = check_unused_arenas(&c)) != K_OK)
		goto out;
	rc = pmm__bad_check(b, report, len);
out:
	free(own);
	return rc;
}

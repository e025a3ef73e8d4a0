/*
 * space.c -- the data pages: segregated free lists with boundary tags.
 *
 * Extents (free or used) tile the data pages; the first and last page of
 * each carry a tag (length << 1 | free), except the last page of a free
 * extent that ends where its arena does (see set_free_tags).  Free
 * extents sit on one of
 * PMM__NCLASS lists: exact classes for 1..64 pages, then one class per
 * power of two.  Allocation takes the head of the smallest class that
 * surely fits and splits it; freeing merges with free neighbours found
 * through their tags.  Both are O(1), whatever the number of blocks.
 *
 * Each arena (layout.h) has its own lists, of the free extents within
 * its range of pages: a free extent never crosses an arena's boundary
 * (one freed across it is split there), so an arena's lock guards all
 * its lists touch.  A block may cross boundaries: one larger than what
 * any arena has free is found, holding every lock, by a walk of the
 * tags over the whole bank (pmm__space_alloc_span).
 */
#include "pmm.h"

/* The size class of an extent of npages pages. */
unsigned
pmm__class_of(uint64_t npages)
{
	if (npages <= 64)
		return (unsigned)npages - 1;
	return 64 + (unsigned)(63 - __builtin_clzll(npages)) - 6;
}

static int
corrupt(const char *what)
{
	return pmm__fail(K_ECORRUPT, "bank free-space index damaged (%s)",
			what);
}

/* Tag the used extent [page, page + len) at both ends. */
static void
set_used_tags(struct pmm__bank *b, uint32_t page, uint32_t len)
{
	b->pg[page].tag = len << 1;
	b->pg[page + len - 1].tag = len << 1;
}

/* Tag the free extent [page, page + len) of arena a: at both ends, but
 * on its first page only when it ends where the arena does.  A last
 * page's tag is read only to merge the extent with a block freed after
 * it, and the page after an arena's last is another arena's, which never
 * merges across.  Not writing it keeps an arena's calls off the records
 * at its end: in an empty arena every split and merge of its one extent
 * rewrote the record just before the next arena's first, whose own calls
 * rewrite that one, and the two processes passed those lines (and, by
 * the CPUs' prefetchers, their neighbours) to and fro: two processes in
 * neighbouring arenas of an empty bank did about one's calls. */
static void
set_free_tags(struct pmm__bank *b, unsigned a, uint32_t page, uint32_t len)
{
	uint32_t t = (len << 1) | 1;
	b->pg[page].tag = t;
	if ((uint64_t)page + len != pmm__arena_page_lo(&b->g, a + 1))
		b->pg[page + len - 1].tag = t;
}

static struct pmm__arena *
arena(struct pmm__bank *b, unsigned a)
{
	return &b->hdr->arena[a];
}

/* Put the free extent [page, page + len) of arena a on its list. */
static void
list_push(struct pmm__bank *b, unsigned a, uint32_t page, uint32_t len)
{
	struct pmm__arena *A = arena(b, a);
	unsigned c = pmm__class_of(len);
	uint32_t h = A->class_head[c];
	b->pg[page].fnext = h;
	b->pg[page].fprev = 0;
	if (h != 0 && h <= b->g.npages)
		b->pg[h - 1].fprev = page + 1;
	A->class_head[c] = page + 1;
	A->class_bits[c / 64] |= 1ULL << (c % 64);
}

/* Take the free extent [page, page + len) of arena a off its list. */
static int
list_unlink(struct pmm__bank *b, unsigned a, uint32_t page, uint32_t len)
{
	struct pmm__arena *A = arena(b, a);
	unsigned c = pmm__class_of(len);
	uint32_t p = b->pg[page].fprev, n = b->pg[page].fnext;
	if (p > b->g.npages || n > b->g.npages)
		return corrupt("free link out of range");
	/* links that do not point back would corrupt the lists silently */
	if ((p != 0 && b->pg[p - 1].fnext != page + 1) ||
			(n != 0 && b->pg[n - 1].fprev != page + 1))
		return corrupt("free links do not point back");
	if (p != 0)
		b->pg[p - 1].fnext = n;
	else if (A->class_head[c] == page + 1)
		A->class_head[c] = n;
	else
		return corrupt("free extent not at its list head");
	if (n != 0)
		b->pg[n - 1].fprev = p;
	if (A->class_head[c] == 0)
		A->class_bits[c / 64] &= ~(1ULL << (c % 64));
	return K_OK;
}

/* The first class >= from with a free extent in arena a, or -1. */
static int
first_class(struct pmm__bank *b, unsigned a, unsigned from)
{
	for (unsigned w = from / 64; w < 2; w++) {
		uint64_t bits = arena(b, a)->class_bits[w];
		if (w == from / 64)
			bits &= ~0ULL << (from % 64);
		if (bits != 0)
			return (int)(w * 64 + (unsigned)__builtin_ctzll(bits));
	}
	return -1;
}

/* Check the free extent starting at page, within arena a; its length in
 * *len. */
static int
free_extent_at(struct pmm__bank *b, unsigned a, uint32_t page,
		uint32_t *len)
{
	uint64_t lo = pmm__arena_page_lo(&b->g, a),
		hi = pmm__arena_page_lo(&b->g, a + 1);
	if (page < lo || page >= hi)
		return corrupt("extent outside its arena");
	uint32_t t = b->pg[page].tag, l = t >> 1;
	if (!(t & 1) || l == 0 || (uint64_t)page + l > hi ||
			((uint64_t)page + l < hi && b->pg[page + l - 1].tag != t))
		return corrupt("bad boundary tag");
	*len = l;
	return K_OK;
}

/* Take npages contiguous pages of arena a. */
int
pmm__space_alloc(struct pmm__bank *b, unsigned a, uint32_t npages,
		uint32_t *page)
{
	struct pmm__arena *A = arena(b, a);
	unsigned c = pmm__class_of(npages);
	int cls = first_class(b, a, npages <= 64 ? c : c + 1);
	uint32_t p = 0, len = 0;
	int rc;
	if (cls >= PMM__NCLASS)
		return corrupt("class bit out of range");
	if (cls >= 0) {
		p = A->class_head[cls] - 1;
		if ((rc = free_extent_at(b, a, p, &len)) != K_OK)
			return rc;
		if (len < npages || pmm__class_of(len) != (unsigned)cls)
			return corrupt("extent in the wrong class");
	} else if (npages > 64 && c < PMM__NCLASS) {
		/* the only candidates share the request's class: first fit */
		uint32_t v = A->class_head[c];
		for (uint64_t n = 0; v != 0 && n < b->g.npages; n++) {
			if ((rc = free_extent_at(b, a, v - 1, &len)) != K_OK)
				return rc;
			if (len >= npages)
				break;
			v = b->pg[v - 1].fnext;
		}
		if (v == 0 || len < npages)
			return K_ENOMEM;
		p = v - 1;
	} else {
		return K_ENOMEM;
	}
	if ((rc = list_unlink(b, a, p, len)) != K_OK)
		return rc;
	/* the next allocation of this class checks the new head's tags and
	 * links: start loading them now rather than then */
	uint32_t nh = A->class_head[cls < 0 ? c : (unsigned)cls];
	if (nh != 0 && nh <= b->g.npages)
		__builtin_prefetch(&b->pg[nh - 1], 1);
	set_used_tags(b, p, npages);
	if (len > npages) {
		set_free_tags(b, a, p + npages, len - npages);
		list_push(b, a, p + npages, len - npages);
	}
	A->used_pages += npages;
	*page = p;
	return K_OK;
}

/* The arenas [page, page + npages) lies in, as a mask. */
unsigned
pmm__space_arenas(const struct pmm__bank *b, uint64_t page, uint64_t npages)
{
	if (npages == 0 || page >= b->g.npages)
		return 0;
	if (b->g.narenas == 1)
		return 1;
	if (page + npages > b->g.npages)
		npages = b->g.npages - page;
	unsigned lo = pmm__arena_of_page(&b->g, page), hi = lo;
	/* most blocks lie in one arena: one comparison says so */
	if (page + npages > b->g.arena_page[lo + 1])
		hi = pmm__arena_of_page(&b->g, page + npages - 1);
	return (unsigned)((2u << hi) - (1u << lo));
}

/* Give arena a's part [page, page + npages) back, merging with the free
 * neighbours within the arena. */
static int
free_piece(struct pmm__bank *b, unsigned a, uint32_t page, uint32_t npages)
{
	uint64_t lo = pmm__arena_page_lo(&b->g, a),
		hi = pmm__arena_page_lo(&b->g, a + 1);
	uint32_t start = page, len = npages, l;
	int rc;
	if (page > lo && (b->pg[page - 1].tag & 1)) {
		l = b->pg[page - 1].tag >> 1;
		if (l == 0 || l > page - lo)
			return corrupt("bad left neighbour");
		if ((rc = free_extent_at(b, a, page - l, &l)) != K_OK ||
				(rc = list_unlink(b, a, page - l, l)) != K_OK)
			return rc;
		start = page - l;
		len += l;
	}
	if ((uint64_t)page + npages < hi && (b->pg[page + npages].tag & 1)) {
		if ((rc = free_extent_at(b, a, page + npages, &l)) != K_OK ||
				(rc = list_unlink(b, a, page + npages, l)) != K_OK)
			return rc;
		len += l;
	}
	set_free_tags(b, a, start, len);
	list_push(b, a, start, len);
	arena(b, a)->used_pages -= npages;
	return K_OK;
}

/* Free [page, page + npages), merging with free neighbours in each
 * arena it lies in (the caller holds them all). */
int
pmm__space_free(struct pmm__bank *b, uint32_t page, uint32_t npages)
{
	if ((uint64_t)page + npages > b->g.npages || npages == 0)
		return corrupt("freed extent outside the bank");
	uint64_t end = (uint64_t)page + npages;
	for (uint64_t p = page, q; p < end; p = q) {
		unsigned a;
		q = pmm__arena_piece(&b->g, p, end, &a);
		int rc = free_piece(b, a, (uint32_t)p, (uint32_t)(q - p));
		if (rc != K_OK)
			return rc;
	}
	return K_OK;
}

/* Holding every lock: npages contiguous free pages anywhere, across
 * arenas' boundaries (a walk of the tags: O(extents), for a block larger
 * than what any one arena has in one piece). */
int
pmm__space_alloc_span(struct pmm__bank *b, uint32_t npages, uint32_t *page)
{
	uint64_t run = 0, start = 0, n = 0;
	for (uint64_t p = 0; p < b->g.npages && run < npages; n++) {
		uint32_t t = b->pg[p].tag, l = t >> 1;
		if (l == 0 || p + l > b->g.npages || n > b->g.npages)
			return corrupt("bad boundary tag in the walk");
		if (!(t & 1)) {
			run = 0;
		} else {
			if (run == 0)
				start = p;
			run += l;
		}
		p += l;
	}
	if (run < npages)
		return K_ENOMEM;
	/* take the run's extents off their lists; the last one's remainder
	 * goes back on its arena's */
	uint64_t end = start + npages;
	for (uint64_t p = start; p < end;) {
		unsigned a = pmm__arena_of_page(&b->g, p);
		uint32_t l;
		int rc;
		if ((rc = free_extent_at(b, a, (uint32_t)p, &l)) != K_OK ||
				(rc = list_unlink(b, a, (uint32_t)p, l)) != K_OK)
			return rc;
		uint64_t q = p + l;
		if (q > end) {
			set_free_tags(b, a, (uint32_t)end, (uint32_t)(q - end));
			list_push(b, a, (uint32_t)end, (uint32_t)(q - end));
			q = end;
		}
		arena(b, a)->used_pages += q - p;
		p = q;
	}
	set_used_tags(b, (uint32_t)start, npages);
	*page = (uint32_t)start;
	return K_OK;
}

/* Record a free extent while rebuilding (split at arenas' boundaries). */
void
pmm__space_add_free(struct pmm__bank *b, uint32_t page, uint32_t npages)
{
	uint64_t end = (uint64_t)page + npages;
	for (uint64_t p = page, q; p < end; p = q) {
		unsigned a;
		q = pmm__arena_piece(&b->g, p, end, &a);
		set_free_tags(b, a, (uint32_t)p, (uint32_t)(q - p));
		list_push(b, a, (uint32_t)p, (uint32_t)(q - p));
	}
}

/* Record a used extent while rebuilding. */
void
pmm__space_mark_used(struct pmm__bank *b, uint32_t page, uint32_t npages)
{
	uint64_t end = (uint64_t)page + npages;
	set_used_tags(b, page, npages);
	for (uint64_t p = page, q; p < end; p = q) {
		unsigned a;
		q = pmm__arena_piece(&b->g, p, end, &a);
		arena(b, a)->used_pages += q - p;
	}
}

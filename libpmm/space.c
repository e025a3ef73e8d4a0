/*
 * space.c -- the data pages: segregated free lists with boundary tags.
 *
 * Extents (free or used) tile the data pages; the first and last page of
 * each carry a tag (length << 1 | free).  Free extents sit on one of
 * PMM__NCLASS lists: exact classes for 1..64 pages, then one class per
 * power of two.  Allocation takes the head of the smallest class that
 * surely fits and splits it; freeing merges with free neighbours found
 * through their tags.  Both are O(1), whatever the number of blocks.
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

static void
set_tags(struct pmm__bank *b, uint32_t page, uint32_t len, uint32_t free)
{
	uint32_t t = (len << 1) | free;
	b->pg[page].tag = t;
	b->pg[page + len - 1].tag = t;
}

static void
list_push(struct pmm__bank *b, uint32_t page, uint32_t len)
{
	unsigned c = pmm__class_of(len);
	uint32_t h = b->ix->class_head[c];
	b->pg[page].fnext = h;
	b->pg[page].fprev = 0;
	if (h != 0 && h <= b->g.npages)
		b->pg[h - 1].fprev = page + 1;
	b->ix->class_head[c] = page + 1;
	b->ix->class_bits[c / 64] |= 1ULL << (c % 64);
}

static int
list_unlink(struct pmm__bank *b, uint32_t page, uint32_t len)
{
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
	else if (b->ix->class_head[c] == page + 1)
		b->ix->class_head[c] = n;
	else
		return corrupt("free extent not at its list head");
	if (n != 0)
		b->pg[n - 1].fprev = p;
	if (b->ix->class_head[c] == 0)
		b->ix->class_bits[c / 64] &= ~(1ULL << (c % 64));
	return K_OK;
}

/* The first class >= from with a free extent, or -1. */
static int
first_class(struct pmm__bank *b, unsigned from)
{
	for (unsigned w = from / 64; w < 2; w++) {
		uint64_t bits = b->ix->class_bits[w];
		if (w == from / 64)
			bits &= ~0ULL << (from % 64);
		if (bits != 0)
			return (int)(w * 64 + (unsigned)__builtin_ctzll(bits));
	}
	return -1;
}

/* Check the free extent starting at page; its length in *len. */
static int
free_extent_at(struct pmm__bank *b, uint32_t page, uint32_t *len)
{
	if (page >= b->g.npages)
		return corrupt("extent outside the bank");
	uint32_t t = b->pg[page].tag, l = t >> 1;
	if (!(t & 1) || l == 0 || (uint64_t)page + l > b->g.npages ||
			b->pg[page + l - 1].tag != t)
		return corrupt("bad boundary tag");
	*len = l;
	return K_OK;
}

/* Take npages contiguous pages. */
int
pmm__space_alloc(struct pmm__bank *b, uint32_t npages, uint32_t *page)
{
	unsigned c = pmm__class_of(npages);
	int cls = first_class(b, npages <= 64 ? c : c + 1);
	uint32_t p = 0, len = 0;
	int rc;
	if (cls >= PMM__NCLASS)
		return corrupt("class bit out of range");
	if (cls >= 0) {
		p = b->ix->class_head[cls] - 1;
		if ((rc = free_extent_at(b, p, &len)) != K_OK)
			return rc;
		if (len < npages || pmm__class_of(len) != (unsigned)cls)
			return corrupt("extent in the wrong class");
	} else if (npages > 64 && c < PMM__NCLASS) {
		/* the only candidates share the request's class: first fit */
		uint32_t v = b->ix->class_head[c];
		for (uint64_t n = 0; v != 0 && n < b->g.npages; n++) {
			if ((rc = free_extent_at(b, v - 1, &len)) != K_OK)
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
	if ((rc = list_unlink(b, p, len)) != K_OK)
		return rc;
	/* the next allocation of this class checks the new head's tags and
	 * links: start loading them now rather than then */
	uint32_t nh = b->ix->class_head[cls < 0 ? c : (unsigned)cls];
	if (nh != 0 && nh <= b->g.npages)
		__builtin_prefetch(&b->pg[nh - 1], 1);
	set_tags(b, p, npages, 0);
	if (len > npages) {
		set_tags(b, p + npages, len - npages, 1);
		list_push(b, p + npages, len - npages);
	}
	*page = p;
	return K_OK;
}

/* Free [page, page + npages), merging with free neighbours. */
int
pmm__space_free(struct pmm__bank *b, uint32_t page, uint32_t npages)
{
	uint32_t start = page, len = npages, l;
	int rc;
	if ((uint64_t)page + npages > b->g.npages || npages == 0)
		return corrupt("freed extent outside the bank");
	if (page > 0 && (b->pg[page - 1].tag & 1)) {
		l = b->pg[page - 1].tag >> 1;
		if (l == 0 || l > page)
			return corrupt("bad left neighbour");
		if ((rc = free_extent_at(b, page - l, &l)) != K_OK ||
				(rc = list_unlink(b, page - l, l)) != K_OK)
			return rc;
		start = page - l;
		len += l;
	}
	if ((uint64_t)page + npages < b->g.npages &&
			(b->pg[page + npages].tag & 1)) {
		if ((rc = free_extent_at(b, page + npages, &l)) != K_OK ||
				(rc = list_unlink(b, page + npages, l)) != K_OK)
			return rc;
		len += l;
	}
	set_tags(b, start, len, 1);
	list_push(b, start, len);
	return K_OK;
}

/* Record a free extent while rebuilding. */
void
pmm__space_add_free(struct pmm__bank *b, uint32_t page, uint32_t npages)
{
	set_tags(b, page, npages, 1);
	list_push(b, page, npages);
}

/* Record a used extent while rebuilding. */
void
pmm__space_mark_used(struct pmm__bank *b, uint32_t page, uint32_t npages)
{
	set_tags(b, page, npages, 0);
}

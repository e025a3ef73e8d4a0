/*
 * test_pmm_core.c -- libpmm's internals, linked statically: the page
 * space allocator (split, merge, classes, first fit, a full bank, and a
 * random run against a model), the name and key hashes with
 * backward-shift deletion, the free-entry stack, bank geometry and header
 * validation, pmm__check against each kind of damage (and pmm__recover
 * repairing what lies in the index), the configuration parser, and whole
 * banks driven through pmm__allocate/pmm__free/pmm__free_all with the
 * invariant check after every step.
 *
 * Most tests use a bank in anonymous memory: bound with pmm__bank_bind
 * and built by pmm__recover, exactly as a bank file's mapping is.
 */
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "pmm.h"
#include "hr/hr.h"
#include "common.h"

static char g_root[256];	/* this run's directory */
static char g_dir[512];		/* this test's PMM_DIR */

/* Fails unless cond holds: one check per call, where Check's own
 * assertions each cost a message to the runner. */
#define REQUIRE(cond, ...) do { \
		if (!(cond)) \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* The system page size. */
static uint64_t
page(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* ------------------------------------------------------ in-memory banks */

/* A bank of npages data pages, max_blocks entries and narenas arenas in
 * anonymous memory. */
static struct pmm__bank *
mem_bank_n(uint64_t npages, uint64_t max_blocks, uint64_t narenas)
{
	struct pmm__geom g;
	ck_assert_int_eq(pmm__geom_compute(npages * page(), max_blocks, page(),
		&g), K_OK);
	ck_assert_uint_le(narenas, PMM__ARENAS);
	ck_assert_uint_le(narenas, npages);
	ck_assert_uint_le(narenas, max_blocks);
	pmm__geom_set_arenas(&g, narenas);	/* more than the rule's */
	void *m = mmap(NULL, g.file_size, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	struct pmm__bank *b = calloc(1, sizeof(*b));
	ck_assert_ptr_nonnull(b);
	pmm__bank_bind(b, m, &g);
	snprintf(b->medium, sizeof(b->medium), "MEM");
	ck_assert_int_eq(pmm__recover(b), K_OK);
	return b;
}

/* The same with one arena: the tests of the free lists and chains
 * within an arena, whose pages and entries are then the whole bank's. */
static struct pmm__bank *
mem_bank(uint64_t npages, uint64_t max_blocks)
{
	return mem_bank_n(npages, max_blocks, 1);
}

/* Releases a mem_bank. */
static void
mem_free(struct pmm__bank *b)
{
	munmap(b->base, b->g.file_size);
	free(b);
}

/* Makes table entry idx a block (state word last, as libpmm does). */
static void
put_entry(struct pmm__bank *b, uint32_t idx, const char *name, uint32_t pg,
	uint32_t npages, const void *key, uint32_t ks)
{
	struct pmm__entry *e = &b->table[idx];
	memset(e, 0, sizeof(*e));
	e->page = pg;
	e->npages = npages;
	e->keysize = ks;
	ck_assert_uint_le(strlen(name), sizeof(e->name));
	memcpy(e->name, name, strlen(name));
	if (ks > 0)
		memcpy(e->key, key, ks);
	e->checksum = pmm__entry_checksum(e, idx);
	e->state = PMM__USED;
}

/* Re-seals entry idx's checksum after a deliberate change. */
static void
reseal(struct pmm__bank *b, uint32_t idx)
{
	b->table[idx].checksum = pmm__entry_checksum(&b->table[idx], idx);
}

/* pmm__check's verdict; K_OK must come with an empty report. */
static int
check(struct pmm__bank *b, char *report, size_t len)
{
	int rc = pmm__check(b, report, len);
	if (rc == K_OK)
		ck_assert_str_eq(report, "");
	return rc;
}

#define expect_damage(b, needle) expect_damage_at(b, needle, __LINE__)

/* Asserts that pmm__check finds damage and its report has needle. */
static void
expect_damage_at(struct pmm__bank *b, const char *needle, int line)
{
	char report[256];
	int rc = check(b, report, sizeof(report));
	ck_assert_msg(rc == K_ECORRUPT, "line %d: check gave %d (%s)", line,
		rc, report);
	ck_assert_msg(strstr(report, needle) != NULL,
		"line %d: report \"%s\" lacks \"%s\"", line, report, needle);
	ck_assert_msg(strstr(pmmErrorMsg(), needle) != NULL,
		"line %d: message \"%s\" lacks \"%s\"", line, pmmErrorMsg(),
		needle);
}

#define expect_sound(b) expect_sound_at(b, __LINE__)

/* Asserts that the bank passes pmm__check. */
static void
expect_sound_at(struct pmm__bank *b, int line)
{
	char report[256];
	int rc = check(b, report, sizeof(report));
	ck_assert_msg(rc == K_OK, "line %d: check gave %d: %s", line, rc,
		report);
}

/*
 * The bank most damage tests start from, 64 pages and 16 entries:
 *   a: pages 0-1, key "k1"    b: pages 2-4, key "k1"
 *   c: page 8,    key "k2"    d: pages 20-29, no key
 * and free extents 5-7, 9-19 and 30-63.
 */
static struct pmm__bank *
sample_bank(void)
{
	struct pmm__bank *b = mem_bank(64, 16);
	put_entry(b, 0, "a", 0, 2, "k1", 3);
	put_entry(b, 1, "b", 2, 3, "k1", 3);
	put_entry(b, 5, "c", 8, 1, "k2", 3);
	put_entry(b, 9, "d", 20, 10, NULL, 0);
	ck_assert_int_eq(pmm__recover(b), K_OK);
	expect_sound(b);
	return b;
}

/* The bucket holding entry idx's name. */
static uint64_t
name_bucket_of(struct pmm__bank *b, uint32_t idx)
{
	for (uint64_t i = 0; i < b->g.name_buckets; i++)
		for (int j = 0; j < PMM__NS_SLOTS; j++)
			if ((b->nb[i].s[j].idx1 & ~PMM__NS_LONG) == idx + 1)
				return i;
	ck_abort_msg("entry %u not in the name buckets", idx);
	return 0;
}

/* The slot holding entry idx's name. */
static struct pmm__nslot *
name_slot_of(struct pmm__bank *b, uint32_t idx)
{
	struct pmm__nbucket *k = &b->nb[name_bucket_of(b, idx)];
	for (int j = 0; j < PMM__NS_SLOTS; j++)
		if ((k->s[j].idx1 & ~PMM__NS_LONG) == idx + 1)
			return &k->s[j];
	return NULL;
}

/* ------------------------------------------------------------ space */

/* The tag of an extent. */
static uint32_t
tag(uint32_t len, int is_free)
{
	return (len << 1) | (is_free ? 1u : 0u);
}

/* 1 if the free extent at pg is on its class's list. */
static int
listed(struct pmm__bank *b, uint32_t pg)
{
	unsigned c = pmm__class_of(b->pg[pg].tag >> 1);
	unsigned a = pmm__arena_of_page(&b->g, pg);
	uint64_t n = 0;
	for (uint32_t v = b->hdr->arena[a].class_head[c]; v != 0 && n <= b->g.npages;
			v = b->pg[v - 1].fnext, n++)
		if (v == pg + 1)
			return 1;
	return 0;
}

#define expect_extent(b, pg, len, f) expect_extent_at(b, pg, len, f, __LINE__)

/* Asserts an extent [pg, pg+len) with matching end tags (a free one
 * that ends where its arena does: its first tag). */
static void
expect_extent_at(struct pmm__bank *b, uint32_t pg, uint32_t len, int is_free,
	int line)
{
	uint32_t t = tag(len, is_free);
	int tail = !is_free || (uint64_t)pg + len !=
		pmm__arena_page_lo(&b->g, pmm__arena_of_page(&b->g, pg) + 1);
	ck_assert_msg(b->pg[pg].tag == t &&
		(!tail || b->pg[pg + len - 1].tag == t),
		"line %d: extent %u+%u: tags %#x %#x, want %#x", line, pg, len,
		b->pg[pg].tag, b->pg[pg + len - 1].tag, t);
	if (is_free)
		ck_assert_msg(listed(b, pg), "line %d: free extent %u+%u "
			"not on list %u", line, pg, len, pmm__class_of(len));
}

/* Number of extents on the lists of every class (bits must agree). */
static uint64_t
listed_count(struct pmm__bank *b)
{
	uint64_t n = 0;
	for (unsigned c = 0; c < PMM__NCLASS; c++) {
		int bit = (b->hdr->arena[0].class_bits[c / 64] >> (c % 64)) & 1;
		REQUIRE(bit == (b->hdr->arena[0].class_head[c] != 0), "class %u bit", c);
		for (uint32_t v = b->hdr->arena[0].class_head[c]; v != 0; v = b->pg[v - 1].fnext) {
			REQUIRE(++n <= b->g.npages, "class %u list loops", c);
			REQUIRE(pmm__class_of(b->pg[v - 1].tag >> 1) == c,
				"page %u on list %u", v - 1, c);
		}
	}
	return n;
}

/* Classes: exact up to 64 pages, then one per power of two. */
START_TEST(test_classes)
{
	for (uint64_t n = 1; n <= 64; n++)
		ck_assert_uint_eq(pmm__class_of(n), n - 1);
	ck_assert_uint_eq(pmm__class_of(65), 64);
	ck_assert_uint_eq(pmm__class_of(127), 64);
	ck_assert_uint_eq(pmm__class_of(128), 65);
	ck_assert_uint_eq(pmm__class_of(255), 65);
	ck_assert_uint_eq(pmm__class_of(256), 66);
	unsigned prev = 0;
	for (uint64_t n = 1; n <= PMM__MAX_PAGES; n = n < 1000 ? n + 1 : n * 3 / 2) {
		unsigned c = pmm__class_of(n);
		ck_assert_uint_ge(c, prev);
		ck_assert_uint_lt(c, PMM__NCLASS);
		prev = c;
	}
	ck_assert_uint_lt(pmm__class_of(PMM__MAX_PAGES), PMM__NCLASS);
}
END_TEST

/* A fresh bank is one free extent; allocations split it from its start. */
START_TEST(test_space_split)
{
	struct pmm__bank *b = mem_bank(100, 8);
	uint32_t p;
	expect_extent(b, 0, 100, 1);
	ck_assert_uint_eq(listed_count(b), 1);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_OK);
	ck_assert_uint_eq(p, 0);
	expect_extent(b, 0, 1, 0);
	expect_extent(b, 1, 99, 1);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 7, &p), K_OK);
	ck_assert_uint_eq(p, 1);
	expect_extent(b, 1, 7, 0);
	expect_extent(b, 8, 92, 1);
	ck_assert_uint_eq(listed_count(b), 1);
	/* exactly the rest: no remainder */
	ck_assert_int_eq(pmm__space_alloc(b, 0, 92, &p), K_OK);
	ck_assert_uint_eq(p, 8);
	expect_extent(b, 8, 92, 0);
	ck_assert_uint_eq(listed_count(b), 0);
	ck_assert_uint_eq(b->hdr->arena[0].class_bits[0] | b->hdr->arena[0].class_bits[1], 0);
	mem_free(b);
}
END_TEST

/* Freeing merges with the left, the right, both or neither. */
START_TEST(test_space_merge)
{
	struct pmm__bank *b = mem_bank(10, 8);
	uint32_t p;
	/* seven 1-page extents, a 2-page one, a 1-page one */
	for (uint32_t i = 0; i < 7; i++) {
		ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_OK);
		ck_assert_uint_eq(p, i);
	}
	ck_assert_int_eq(pmm__space_alloc(b, 0, 2, &p), K_OK);
	ck_assert_uint_eq(p, 7);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_OK);
	ck_assert_uint_eq(p, 9);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_ENOMEM);
	ck_assert_int_eq(pmm__space_free(b, 2, 1), K_OK);	/* neither */
	expect_extent(b, 2, 1, 1);
	ck_assert_int_eq(pmm__space_free(b, 4, 1), K_OK);	/* neither */
	ck_assert_uint_eq(listed_count(b), 2);
	ck_assert_int_eq(pmm__space_free(b, 3, 1), K_OK);	/* both */
	expect_extent(b, 2, 3, 1);
	ck_assert_uint_eq(listed_count(b), 1);
	ck_assert_int_eq(pmm__space_free(b, 5, 1), K_OK);	/* left */
	expect_extent(b, 2, 4, 1);
	ck_assert_int_eq(pmm__space_free(b, 1, 1), K_OK);	/* right */
	expect_extent(b, 1, 5, 1);
	ck_assert_int_eq(pmm__space_free(b, 0, 1), K_OK);	/* bank start */
	expect_extent(b, 0, 6, 1);
	ck_assert_int_eq(pmm__space_free(b, 9, 1), K_OK);	/* bank end */
	expect_extent(b, 9, 1, 1);
	ck_assert_uint_eq(listed_count(b), 2);
	ck_assert_int_eq(pmm__space_free(b, 7, 2), K_OK);	/* 2 pages */
	expect_extent(b, 7, 3, 1);
	ck_assert_int_eq(pmm__space_free(b, 6, 1), K_OK);
	expect_extent(b, 0, 10, 1);
	ck_assert_uint_eq(listed_count(b), 1);
	/* a freed range outside the bank is refused */
	ck_assert_int_eq(pmm__space_free(b, 9, 2), K_ECORRUPT);
	ck_assert_int_eq(pmm__space_free(b, 3, 0), K_ECORRUPT);
	mem_free(b);
}
END_TEST

/* Makes the bank's pages the given extents: used where used[i] != 0. */
static void
carve(struct pmm__bank *b, const uint32_t *len, const int *used, int n)
{
	uint32_t p, at = 0;
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(pmm__space_alloc(b, 0, len[i], &p), K_OK);
		ck_assert_uint_eq(p, at);
		at += len[i];
	}
	ck_assert_uint_eq(at, b->g.npages);
	at = 0;
	for (int i = 0; i < n; i++) {
		if (!used[i])
			ck_assert_int_eq(pmm__space_free(b, at, len[i]), K_OK);
		at += len[i];
	}
}

/* Up to 64 pages: the smallest class that fits, exact ones first. */
START_TEST(test_space_best_class)
{
	static const uint32_t len[] = { 3, 1, 5, 1, 10, 1 };
	static const int used[] = { 0, 1, 0, 1, 0, 1 };
	struct pmm__bank *b = mem_bank(21, 8);
	uint32_t p;
	carve(b, len, used, 6);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 4, &p), K_OK);
	ck_assert_uint_eq(p, 4);		/* the 5, not the 10 */
	expect_extent(b, 8, 1, 1);		/* its remainder */
	ck_assert_int_eq(pmm__space_alloc(b, 0, 3, &p), K_OK);
	ck_assert_uint_eq(p, 0);		/* exactly the 3 */
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_OK);
	ck_assert_uint_eq(p, 8);		/* the single page */
	ck_assert_int_eq(pmm__space_alloc(b, 0, 11, &p), K_ENOMEM);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 10, &p), K_OK);
	ck_assert_uint_eq(p, 10);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_ENOMEM);
	mem_free(b);
}
END_TEST

/* Over 64 pages: a larger class surely fits; else first fit in its own. */
START_TEST(test_space_first_fit)
{
	static const uint32_t len[] = { 100, 1, 70, 1 };
	static const int used[] = { 1, 1, 1, 1 };
	struct pmm__bank *b = mem_bank(172, 8);
	uint32_t p;
	carve(b, len, used, 4);
	/* free the 100 first, then the 70: the 70 heads class 64 */
	ck_assert_int_eq(pmm__space_free(b, 0, 100), K_OK);
	ck_assert_int_eq(pmm__space_free(b, 101, 70), K_OK);
	ck_assert_uint_eq(b->hdr->arena[0].class_head[pmm__class_of(70)], 102);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 101, &p), K_ENOMEM);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 90, &p), K_OK);
	ck_assert_uint_eq(p, 0);		/* walked past the 70 */
	expect_extent(b, 90, 10, 1);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 60, &p), K_OK);
	ck_assert_uint_eq(p, 101);		/* class 64 holds >= 60 */
	expect_extent(b, 161, 10, 1);
	mem_free(b);

	/* with an extent of a larger class, it is taken without a walk */
	static const uint32_t len2[] = { 70, 1, 130, 1 };
	b = mem_bank(202, 8);
	carve(b, len2, used, 4);
	ck_assert_int_eq(pmm__space_free(b, 71, 130), K_OK);
	ck_assert_int_eq(pmm__space_free(b, 0, 70), K_OK);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 65, &p), K_OK);
	ck_assert_uint_eq(p, 71);		/* the 130, not the 70 */
	/* class 64 now holds the 70 and the 130's 65-page rest (head) */
	ck_assert_uint_eq(b->hdr->arena[0].class_head[pmm__class_of(65)], 137);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 66, &p), K_OK);
	ck_assert_uint_eq(p, 0);		/* walked past the 65 */
	ck_assert_int_eq(pmm__space_alloc(b, 0, 65, &p), K_OK);
	ck_assert_uint_eq(p, 136);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 4, &p), K_OK);
	ck_assert_uint_eq(p, 66);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_ENOMEM);
	mem_free(b);
}
END_TEST

/* A full bank says K_ENOMEM and recovers as soon as a page is freed. */
START_TEST(test_space_full)
{
	struct pmm__bank *b = mem_bank(1000, 8);
	uint32_t p;
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1001, &p), K_ENOMEM);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1000, &p), K_OK);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_ENOMEM);
	ck_assert_int_eq(pmm__space_free(b, 0, 1000), K_OK);
	for (uint32_t i = 0; i < 1000; i++) {
		ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_OK);
		ck_assert_uint_eq(p, i);
	}
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_ENOMEM);
	ck_assert_int_eq(pmm__space_free(b, 500, 1), K_OK);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 2, &p), K_ENOMEM);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_OK);
	ck_assert_uint_eq(p, 500);
	mem_free(b);
}
END_TEST

/* The longest run of free pages in the model. */
static uint32_t
longest_free(const uint32_t *owner, uint32_t n)
{
	uint32_t best = 0, run = 0;
	for (uint32_t i = 0; i < n; i++) {
		run = owner[i] == 0 ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

/* Asserts that the tags describe exactly the model, free runs merged. */
static void
space_matches(struct pmm__bank *b, const uint32_t *owner)
{
	uint32_t n = (uint32_t)b->g.npages, nfree = 0;
	for (uint32_t p = 0; p < n;) {
		uint32_t t = b->pg[p].tag, l = t >> 1;
		/* one arena: a free extent at its end has its first tag */
		REQUIRE(l > 0 && p + l <= n && ((t & 1 && p + l == n) ||
			b->pg[p + l - 1].tag == t), "bad tags at page %u", p);
		for (uint32_t q = p; q < p + l; q++)
			REQUIRE(owner[q] == owner[p], "extent at %u spans "
				"blocks %u and %u", p, owner[p], owner[q]);
		if (t & 1) {
			REQUIRE(owner[p] == 0, "free extent at %u is block %u",
				p, owner[p]);
			REQUIRE((p == 0 || owner[p - 1] != 0) &&
				(p + l == n || owner[p + l] != 0),
				"free extent at %u not merged", p);
			REQUIRE(listed(b, p), "free extent at %u not listed", p);
			nfree++;
		} else {
			REQUIRE(owner[p] != 0 &&
				(p == 0 || owner[p - 1] != owner[p]) &&
				(p + l == n || owner[p + l] != owner[p]),
				"used extent at %u is not block %u", p, owner[p]);
		}
		p += l;
	}
	uint64_t on_lists = listed_count(b);
	REQUIRE(on_lists == nfree, "%u free extents, %llu listed", nfree,
		(unsigned long long)on_lists);
}

/* Random allocations and frees agree with a model, step by step. */
START_TEST(test_space_random)
{
	enum { N = 600, MAXLIVE = 64, STEPS = 3000 };
	struct pmm__bank *b = mem_bank(N, 8);
	uint32_t owner[N] = { 0 }, at[MAXLIVE], len[MAXLIVE] = { 0 };
	unsigned seed = 42;
	int steps = STEPS;
	for (int s = 0; s < steps; s++) {
		int k = (int)(rand_r(&seed) % MAXLIVE);
		if (len[k] == 0) {
			uint32_t want = rand_r(&seed) % 8 == 0 ?
				60 + rand_r(&seed) % 140 : 1 + rand_r(&seed) % 12;
			uint32_t p;
			int rc = pmm__space_alloc(b, 0, want, &p);
			if (longest_free(owner, N) >= want) {
				ck_assert_int_eq(rc, K_OK);
				for (uint32_t q = p; q < p + want; q++) {
					REQUIRE(owner[q] == 0, "page %u given "
						"twice", q);
					owner[q] = (uint32_t)k + 1;
				}
				at[k] = p;
				len[k] = want;
			} else {
				ck_assert_int_eq(rc, K_ENOMEM);
			}
		} else {
			ck_assert_int_eq(pmm__space_free(b, at[k], len[k]), K_OK);
			for (uint32_t q = at[k]; q < at[k] + len[k]; q++)
				owner[q] = 0;
			len[k] = 0;
		}
		space_matches(b, owner);
	}
	for (int k = 0; k < MAXLIVE; k++)
		if (len[k] != 0)
			ck_assert_int_eq(pmm__space_free(b, at[k], len[k]), K_OK);
	expect_extent(b, 0, N, 1);
	ck_assert_uint_eq(listed_count(b), 1);
	mem_free(b);
}
END_TEST

/* A damaged free list is reported, never followed out of the bank. */
START_TEST(test_space_damage)
{
	struct pmm__bank *b = mem_bank(50, 8);
	uint32_t p, q;
	/* free 0-9, used 10-19, free 20-49 */
	ck_assert_int_eq(pmm__space_alloc(b, 0, 10, &p), K_OK);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 10, &q), K_OK);
	ck_assert_int_eq(pmm__space_free(b, p, 10), K_OK);
	b->pg[9].tag = tag(7, 1);			/* end tag disagrees */
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "bad boundary tag"));
	ck_assert_int_eq(pmm__recover(b), K_OK);
	b->hdr->arena[0].class_head[pmm__class_of(50)] = 1000;	/* outside */
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_ECORRUPT);
	ck_assert_int_eq(pmm__recover(b), K_OK);
	b->pg[0].fprev = 1000;			/* a link outside the bank */
	ck_assert_int_eq(pmm__space_alloc(b, 0, 1, &p), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "free link out of range"));
	ck_assert_int_eq(pmm__recover(b), K_OK);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 50, &p), K_OK);
	mem_free(b);
}
END_TEST

/* ---------------------------------------------------------------- hashes */

/* Sets entry idx's name (zero-padded), leaving it out of any hash. */
static void
set_name(struct pmm__bank *b, uint32_t idx, const char *name)
{
	size_t n = strlen(name);
	ck_assert_uint_lt(n, sizeof(b->table[idx].name));
	memset(b->table[idx].name, 0, sizeof(b->table[idx].name));
	memcpy(b->table[idx].name, name, n);
}

/* The home bucket of entry idx's name, found by inserting it alone. */
static uint64_t
name_home(struct pmm__bank *b, uint32_t idx)
{
	for (uint64_t i = 0; i < b->g.name_buckets; i++)
		REQUIRE(b->nb[i].s[0].idx1 == 0 && b->nb[i].meta >> 24 == 0,
			"bucket %llu in use", (unsigned long long)i);
	REQUIRE(pmm__name_insert(b, idx) == K_OK, "insert %u", idx);
	uint64_t h = name_bucket_of(b, idx);
	REQUIRE(pmm__name_remove(b, idx) == K_OK, "remove %u", idx);
	return h;
}

/* The buckets' invariant: every bucket between a name's home and its
 * bucket counts it, and no bucket is left mid-change. */
static void
probe_invariant(struct pmm__bank *b, const uint64_t *home)
{
	uint64_t nb = b->g.name_buckets;
	uint32_t over[64] = { 0 };
	ck_assert_uint_le(nb, 64);
	for (uint64_t i = 0; i < nb; i++) {
		REQUIRE((b->nb[i].meta & PMM__NB_WRITER) == 0,
			"bucket %llu held", (unsigned long long)i);
		for (int s = 0; s < PMM__NS_SLOTS; s++) {
			uint32_t v = b->nb[i].s[s].idx1 & ~PMM__NS_LONG;
			if (v == 0)
				continue;
			for (uint64_t j = home[v - 1]; j != i; j = (j + 1) % nb)
				over[j]++;
		}
	}
	for (uint64_t i = 0; i < nb; i++)
		REQUIRE(b->nb[i].meta >> 24 == over[i], "bucket %llu counts %u, %u went past",
			(unsigned long long)i, b->nb[i].meta >> 24, over[i]);
}

/* Shuffles v[0..n) with seed. */
static void
shuffle(uint32_t *v, uint32_t n, unsigned *seed)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rand_r(seed) % i, t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Asserts every name lookup: members found at their entry, others not. */
static void
names_agree(struct pmm__bank *b, const int *in, uint32_t n,
	const uint64_t *home)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = UINT32_MAX, pg = UINT32_MAX, pidx;
		const char *nm = b->table[i].name;
		int rc = pmm__name_find(b, nm, &idx);
		int peek = pmm__name_peek(b, nm, pmm__name_hash(nm), &pg, &pidx);
		if (in[i])
			REQUIRE(rc == K_OK && idx == i &&
				(peek == PMM__AGAIN ||
				 (peek == K_OK && pg == b->table[i].page)),
				"name of %u: %d, %u; peek %d", i, rc, idx, peek);
		else
			REQUIRE(rc == K_EUNKNOWN && peek != K_OK,
				"removed name of %u: %d, peek %d", i, rc, peek);
	}
	probe_invariant(b, home);
}

/*
 * Names crowded at the end of the buckets wrap round to their start:
 * inserts and removals in random orders keep every lookup right, and
 * the lock-free lookup agrees with the locked one.
 */
START_TEST(test_name_hash)
{
	enum { MAXB = 32 };
	struct pmm__bank *b = mem_bank(8, MAXB);
	uint64_t ns = b->g.name_buckets, home[MAXB];
	uint32_t n = 0, order[MAXB];
	int in[MAXB] = { 0 };
	ck_assert_uint_eq(ns, 15);
	/* five names each at homes ns-2, ns-1 and 0, then ten anywhere */
	uint64_t want[] = { ns - 2, ns - 1, 0 };
	for (unsigned w = 0; w < 3; w++) {
		int got = 0;
		for (unsigned k = 0; got < 5; k++) {
			char nm[32];
			snprintf(nm, sizeof(nm), "name-%u-%u", w, k);
			set_name(b, n, nm);
			if (name_home(b, n) == want[w]) {
				home[n++] = want[w];
				got++;
			}
			ck_assert_uint_lt(k, 100000);
		}
	}
	for (unsigned k = 0; n < 25; k++) {
		char nm[64];
		snprintf(nm, sizeof(nm), "%0*u", (int)(1 + k % 63), k);
		set_name(b, n, nm);
		home[n] = name_home(b, n);
		n++;
	}
	unsigned seed = 7;
	for (int round = 0; round < 20; round++) {
		for (uint32_t i = 0; i < n; i++)
			order[i] = i;
		shuffle(order, n, &seed);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t e = order[i];
			if (in[e])
				continue;
			ck_assert_int_eq(pmm__name_insert(b, e), K_OK);
			in[e] = 1;
			names_agree(b, in, n, home);
		}
		shuffle(order, n, &seed);
		uint32_t keep = rand_r(&seed) % n;
		for (uint32_t i = keep; i < n; i++) {
			uint32_t e = order[i];
			ck_assert_int_eq(pmm__name_remove(b, e), K_OK);
			in[e] = 0;
			names_agree(b, in, n, home);
		}
		/* removing what is gone is damage, not a silent no-op */
		ck_assert_int_eq(pmm__name_remove(b, order[n - 1]), K_ECORRUPT);
	}
	mem_free(b);
}
END_TEST

/* Full name buckets and a slot value outside the table are reported;
 * the lock-free lookup never trusts a bucket mid-change or a rebuild. */
START_TEST(test_name_hash_damage)
{
	struct pmm__bank *b = mem_bank(8, 4);
	char nm[64] = "ghost", lg[64] = "a-name-longer-than-twelve";
	uint32_t idx, pg, pidx;
	for (uint64_t i = 0; i < b->g.name_buckets; i++)
		for (int j = 0; j < PMM__NS_SLOTS; j++) {
			memcpy(b->nb[i].s[j].name, j ? nm : lg, PMM__NS_NAME);
			b->nb[i].s[j].idx1 = 1000 | (j ? 0 : PMM__NS_LONG);
		}
	ck_assert_int_eq(pmm__name_find(b, nm, &idx), K_ECORRUPT);
	ck_assert_int_eq(pmm__name_find(b, lg, &idx), K_ECORRUPT);
	ck_assert_int_ne(pmm__name_peek(b, lg, pmm__name_hash(lg), &pg, &pidx), K_OK);
	for (uint64_t i = 0; i < b->g.name_buckets; i++) {
		b->nb[i].meta = 1u << PMM__NB_OVER_SHIFT;
		for (int j = 0; j < PMM__NS_SLOTS; j++) {
			memcpy(b->nb[i].s[j].name, "x", 2);
			b->nb[i].s[j].idx1 = 1;	/* full of entry 0 */
		}
	}
	set_name(b, 0, "x");
	set_name(b, 1, "y");
	ck_assert_int_eq(pmm__name_find(b, nm, &idx), K_EUNKNOWN);
	ck_assert_int_eq(pmm__name_insert(b, 1), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "name buckets full"));
	/* a real name: found; not while the index is rebuilt (a bucket
	 * changed during a lookup: pmm_stress's readers) */
	ck_assert_int_eq(pmm__recover(b), K_OK);
	b->table[1].state = PMM__USED;
	ck_assert_int_eq(pmm__name_insert(b, 1), K_OK);
	memset(nm, 0, sizeof(nm));
	strcpy(nm, "y");
	uint64_t h = pmm__name_hash(nm);
	ck_assert_int_eq(pmm__name_peek(b, nm, h, &pg, &pidx), K_OK);
	struct pmm__nbucket *k = &b->nb[name_bucket_of(b, 1)];
	/* a writer's bit alone does not stop readers */
	k->meta |= PMM__NB_WRITER;
	ck_assert_int_eq(pmm__name_peek(b, nm, h, &pg, &pidx), K_OK);
	k->meta &= ~PMM__NB_WRITER;
	pmm__ix_begin_rebuild(b);
	ck_assert_int_eq(pmm__name_peek(b, nm, h, &pg, &pidx), PMM__AGAIN);
	pmm__ix_end_rebuild(b);
	ck_assert_int_eq(pmm__name_peek(b, nm, h, &pg, &pidx), K_OK);
	mem_free(b);
}
END_TEST

struct keydef {
	uint8_t key[32];
	uint32_t size;
};

/* Asserts the key lists: exactly the members, linked both ways. */
static void
keys_agree(struct pmm__bank *b, const struct keydef *kd, unsigned nk,
	const int *member_of, const int *in, uint32_t n)
{
	uint64_t present = 0;
	for (unsigned k = 0; k < nk; k++) {
		uint32_t head, members = 0;
		for (uint32_t i = 0; i < n; i++)
			members += in[i] && member_of[i] == (int)k;
		int rc = pmm__key_find(b, kd[k].key, kd[k].size, &head);
		if (members == 0) {
			REQUIRE(rc == K_EUNKNOWN, "key %u without blocks: %d", k,
				rc);
			continue;
		}
		present++;
		REQUIRE(rc == K_OK, "key %u: %d", k, rc);
		uint32_t seen = 0, prev = 0;
		for (uint32_t v = head + 1; v != 0; v = b->knext[v - 1]) {
			REQUIRE(v <= n && in[v - 1] &&
				member_of[v - 1] == (int)k,
				"entry %u on key %u's list", v - 1, k);
			REQUIRE(b->kprev[v - 1] == prev, "back link of %u", v - 1);
			prev = v;
			REQUIRE(++seen <= members, "key %u's list loops", k);
		}
		REQUIRE(seen == members, "key %u: %u of %u listed", k, seen,
			members);
	}
	REQUIRE(b->ix->nkeys == present, "nkeys %llu, want %llu",
		(unsigned long long)b->ix->nkeys, (unsigned long long)present);
}

/*
 * Key lists: binary keys (NULs inside, sizes differing only), many
 * entries per key, inserted and removed in random orders.
 */
START_TEST(test_key_hash)
{
	enum { MAXB = 40, NK = 9 };
	struct pmm__bank *b = mem_bank(8, MAXB);
	struct keydef kd[NK];
	int member_of[MAXB], in[MAXB] = { 0 };
	uint32_t order[MAXB], n = MAXB;
	unsigned seed = 99;
	memset(kd, 0, sizeof(kd));
	memcpy(kd[0].key, "ab", 2);
	kd[0].size = 2;
	memcpy(kd[1].key, "ab", 3);		/* "ab" and its NUL */
	kd[1].size = 3;
	memcpy(kd[2].key, "a\0b", 3);
	kd[2].size = 3;
	memcpy(kd[3].key, "a\0c", 3);
	kd[3].size = 3;
	memset(kd[4].key, 0, 32);		/* 32 NULs */
	kd[4].size = 32;
	memset(kd[5].key, 0xff, 32);
	kd[5].size = 32;
	kd[6].key[0] = 0;			/* one NUL */
	kd[6].size = 1;
	for (unsigned k = 7; k < NK; k++) {
		for (unsigned i = 0; i < 20; i++)
			kd[k].key[i] = (uint8_t)rand_r(&seed);
		kd[k].size = 20;
	}
	for (uint32_t i = 0; i < n; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "e%u", i);
		member_of[i] = (int)(rand_r(&seed) % NK);
		put_entry(b, i, nm, 0, 1, kd[member_of[i]].key,
			kd[member_of[i]].size);
	}
	for (int round = 0; round < 15; round++) {
		for (uint32_t i = 0; i < n; i++)
			order[i] = i;
		shuffle(order, n, &seed);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t e = order[i];
			if (in[e])
				continue;
			ck_assert_int_eq(pmm__key_insert(b, e), K_OK);
			in[e] = 1;
			keys_agree(b, kd, NK, member_of, in, n);
		}
		shuffle(order, n, &seed);
		uint32_t keep = rand_r(&seed) % n;
		for (uint32_t i = keep; i < n; i++) {
			ck_assert_int_eq(pmm__key_remove(b, order[i]), K_OK);
			in[order[i]] = 0;
			keys_agree(b, kd, NK, member_of, in, n);
		}
	}
	mem_free(b);
}
END_TEST

/* The free-entry stack: pops 0, 1, 2..., then K_ETOOMUCH; damage caught. */
START_TEST(test_entry_stack)
{
	struct pmm__bank *b = mem_bank(8, 5);
	uint32_t idx;
	for (uint32_t i = 0; i < 5; i++) {
		ck_assert_int_eq(pmm__entry_pop(b, 0, &idx), K_OK);
		ck_assert_uint_eq(idx, i);
	}
	ck_assert_int_eq(pmm__entry_pop(b, 0, &idx), K_ETOOMUCH);
	pmm__entry_push(b, 3);
	ck_assert_int_eq(pmm__entry_pop(b, 0, &idx), K_OK);
	ck_assert_uint_eq(idx, 3);
	pmm__entry_push(b, 3);
	b->table[3].state = PMM__USED;		/* a block on the chain */
	ck_assert_int_eq(pmm__entry_pop(b, 0, &idx), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "chain holds a block"));
	b->table[3].state = PMM__FREE;
	b->knext[3] = 77;			/* a link outside the table */
	ck_assert_int_eq(pmm__entry_pop(b, 0, &idx), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "link out of its arena"));
	b->hdr->arena[0].free_head = 6;			/* a head outside it */
	ck_assert_int_eq(pmm__entry_pop(b, 0, &idx), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "head out of its arena"));
	/* the chain runs through the key links: pushes and pops in order */
	b->hdr->arena[0].free_head = 0;
	pmm__entry_push(b, 1);
	pmm__entry_push(b, 4);
	ck_assert_uint_eq(b->knext[4], 2);
	ck_assert_int_eq(pmm__entry_pop(b, 0, &idx), K_OK);
	ck_assert_uint_eq(idx, 4);
	ck_assert_int_eq(pmm__entry_pop(b, 0, &idx), K_OK);
	ck_assert_uint_eq(idx, 1);
	ck_assert_int_eq(pmm__entry_pop(b, 0, &idx), K_ETOOMUCH);
	mem_free(b);
}
END_TEST

/* ---------------------------------------------------- geometry, header */

/* Good tunables give a layout of aligned, disjoint, sized areas. */
START_TEST(test_geometry)
{
	static const uint64_t sizes[] = { 1, 4096, 0x100000, 0x100001,
		(64u << 20) - 1, 64u << 20, 1ULL << 32 };
	static const uint64_t blocks[] = { 1, 3, 30, 1000, 1u << 20 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t j = 0; j < sizeof(blocks) / sizeof(blocks[0]); j++) {
			struct pmm__geom g;
			uint64_t ps = page();
			ck_assert_int_eq(pmm__geom_compute(sizes[i], blocks[j],
				ps, &g), K_OK);
			ck_assert_uint_eq(g.bank_size % ps, 0);
			ck_assert_uint_ge(g.bank_size, sizes[i]);
			ck_assert_uint_lt(g.bank_size - sizes[i], ps);
			ck_assert_uint_eq(g.npages * ps, g.bank_size);
			ck_assert_uint_eq(g.table_off, ps);
			ck_assert_uint_ge(g.index_off, g.table_off + blocks[j] *
				sizeof(struct pmm__entry));
			ck_assert_uint_eq(g.index_off % ps, 0);
			/* at most three quarters full */
			ck_assert_uint_ge(3 * PMM__NS_SLOTS * g.name_buckets,
				4 * blocks[j]);
			ck_assert_uint_eq(g.key_slots % 8, 0);
			ck_assert_uint_gt(2 * g.key_slots, 3 * blocks[j]);
			ck_assert_uint_ge(g.ix_name, sizeof(struct pmm__ixhdr));
			ck_assert_uint_le(g.ix_pg + 12 * g.npages, g.ix_size);
			ck_assert_uint_eq(g.index_off + g.ix_size <= g.data_off, 1);
			ck_assert_uint_eq(g.data_off % ps, 0);
			if (g.bank_size >= (64u << 20))
				ck_assert_uint_eq(g.data_off % (2u << 20), 0);
			ck_assert_uint_eq(g.file_size, g.data_off + g.bank_size);
		}
	/* the arrays are in order, none overlapping the next */
	struct pmm__geom g;
	ck_assert_int_eq(pmm__geom_compute(0x100000, 30, 4096, &g), K_OK);
	ck_assert_uint_eq(g.ix_key, g.ix_name + 64 * g.name_buckets);
	ck_assert_uint_eq(g.ix_knext, g.ix_key + 4 * g.key_slots);
	ck_assert_uint_eq(g.ix_kprev, g.ix_knext + 4 * 30);
	ck_assert_uint_eq(g.ix_pg, g.ix_kprev + 4 * 30);
}
END_TEST

/* Out-of-range tunables or page sizes: K_EINVAL. */
START_TEST(test_geometry_bad)
{
	struct pmm__geom g;
	ck_assert_int_eq(pmm__geom_compute(0, 30, 4096, &g), K_EINVAL);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "pmm.rambankSize 0"));
	ck_assert_int_eq(pmm__geom_compute(PMM__MAX_PAGES * 4096 + 1, 30, 4096,
		&g), K_EINVAL);
	ck_assert_int_eq(pmm__geom_compute(PMM__MAX_PAGES * 4096, 30, 4096,
		&g), K_OK);
	ck_assert_int_eq(pmm__geom_compute(4096, 0, 4096, &g), K_EINVAL);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "pmm.maxBlocks 0"));
	ck_assert_int_eq(pmm__geom_compute(4096, PMM__MAX_BLOCKS + 1, 4096, &g),
		K_EINVAL);
	ck_assert_int_eq(pmm__geom_compute(4096, 1, 2048, &g), K_EINVAL);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "page size 2048"));
	ck_assert_int_eq(pmm__geom_compute(4096, 1, 3 * 4096, &g), K_EINVAL);
	ck_assert_int_eq(pmm__geom_compute(4096, 1, 4u << 20, &g), K_EINVAL);
	ck_assert_int_eq(pmm__geom_compute(4096, 1, 2u << 20, &g), K_OK);
	ck_assert_int_eq(pmm__geom_compute(4096, 1, 0, &g), K_EINVAL);
}
END_TEST

/* A header as pmm__bank_create writes it, for geometry g at base. */
static void
make_header(struct pmm__hdr *h, const struct pmm__geom *g, uint64_t base)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, PMM__MAGIC, 8);
	h->layout = PMM__LAYOUT;
	h->hdr_size = sizeof(*h);
	h->file_size = g->file_size;
	h->page_size = g->page_size;
	h->base = base;
	h->bank_size = g->bank_size;
	h->max_blocks = g->max_blocks;
	h->table_off = g->table_off;
	h->index_off = g->index_off;
	h->data_off = g->data_off;
	h->npages = g->npages;
	h->name_buckets = g->name_buckets;
	h->key_slots = g->key_slots;
	h->created = 1234567890;
	strcpy(h->medium, "RAM");
	h->checksum = pmm__hdr_checksum(h);
}

/* pmm__hdr_validate on a good header and on each kind of bad one. */
START_TEST(test_header_validate)
{
	struct pmm__geom g, out;
	struct pmm__hdr h, good;
	const uint64_t base = 0x120000000000ULL;
	ck_assert_int_eq(pmm__geom_compute(0x100000, 30, page(), &g), K_OK);
	make_header(&good, &g, base);
	ck_assert_int_eq(pmm__hdr_validate(&good, g.file_size, &out), K_OK);
	ck_assert_int_eq(memcmp(&out, &g, sizeof(g)), 0);
	/* sizes */
	ck_assert_int_eq(pmm__hdr_validate(&good, 7, &out), K_EFOREIGN);
	ck_assert_int_eq(pmm__hdr_validate(&good, 100, &out), K_ETRUNC);
	ck_assert_int_eq(pmm__hdr_validate(&good, g.file_size - 1, &out),
		K_ETRUNC);
	ck_assert_int_eq(pmm__hdr_validate(&good, g.file_size + 1, &out),
		K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "its header says"));
#define BAD(field, value, code, needle) do { \
		h = good; \
		h.field = value; \
		h.checksum = pmm__hdr_checksum(&h); \
		ck_assert_int_eq(pmm__hdr_validate(&h, g.file_size, &out), \
			code); \
		ck_assert_msg(strstr(pmmErrorMsg(), needle) != NULL, \
			"%s: \"%s\"", #field, pmmErrorMsg()); \
	} while (0)
	BAD(magic[7], 'X', K_EFOREIGN, "bad magic");
	BAD(layout, 0, K_EVERSION, "version 0");
	BAD(hdr_size, 64, K_ECORRUPT, "header size 64");
	BAD(page_size, 1000, K_ECORRUPT, "page size");
	BAD(max_blocks, 0, K_ECORRUPT, "pmm.maxBlocks 0");
	BAD(max_blocks, 1000, K_ECORRUPT, "inconsistent");
	BAD(npages, 255, K_ECORRUPT, "inconsistent");
	BAD(table_off, 8192, K_ECORRUPT, "inconsistent");
	BAD(index_off, g.index_off + 4096, K_ECORRUPT, "inconsistent");
	BAD(data_off, g.data_off - 4096, K_ECORRUPT, "inconsistent");
	BAD(file_size, g.file_size + 4096, K_ECORRUPT, "inconsistent");
	BAD(name_buckets, 32, K_ECORRUPT, "inconsistent");
	BAD(key_slots, 128, K_ECORRUPT, "inconsistent");
	BAD(bank_size, 0x100001, K_ECORRUPT, "inconsistent");
	BAD(base, 0, K_ECORRUPT, "address 0x0 invalid");
	BAD(base, base + 4096, K_ECORRUPT, "invalid");
	BAD(base, 1ULL << 47, K_ECORRUPT, "invalid");
#undef BAD
	h = good;
	memset(h.medium, 'M', sizeof(h.medium));
	h.checksum = pmm__hdr_checksum(&h);
	ck_assert_int_eq(pmm__hdr_validate(&h, g.file_size, &out), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "not terminated"));
	/* an unsealed change of any byte: checksum mismatch */
	for (size_t off = 8; off < offsetof(struct pmm__hdr, checksum) + 8;
			off++) {
		if (off >= 8 && off < 12)
			continue;		/* the version comes first */
		h = good;
		((unsigned char *)&h)[off] ^= 0x10;
		ck_assert_int_eq(pmm__hdr_validate(&h, g.file_size, &out),
			K_ECORRUPT);
		ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "checksum"));
	}
	/* the dynamic part is not covered */
	h = good;
	h.boot_id[0] = 'x';
	h.log.seq = 99;
	ck_assert_int_eq(pmm__hdr_validate(&h, g.file_size, &out), K_OK);
}
END_TEST

/* ------------------------------------------------------------ pmm__check */

/* Entry damage: each kind caught by the check and by the rebuild. */
START_TEST(test_check_table)
{
	struct pmm__bank *b;
#define TABLE_CASE(stmt, needle) do { \
		b = sample_bank(); \
		stmt; \
		expect_damage(b, needle); \
		ck_assert_int_eq(pmm__recover(b), K_ECORRUPT); \
		ck_assert_msg(strstr(pmmErrorMsg(), needle) != NULL, \
			"recover: \"%s\" lacks \"%s\"", pmmErrorMsg(), needle); \
		mem_free(b); \
	} while (0)
	TABLE_CASE(b->table[1].state = 1, "entry 1: bad state word");
	TABLE_CASE(b->table[1].name[0] ^= 1, "entry 1: checksum mismatch");
	TABLE_CASE(b->table[5].checksum++, "entry 5: checksum mismatch");
	/* an entry moved to another slot fails its checksum */
	TABLE_CASE((b->table[2] = b->table[1], b->table[1].state = PMM__FREE),
		"entry 2: checksum mismatch");
	TABLE_CASE((b->table[1].npages = 0, reseal(b, 1)),
		"entry 1: pages 2+0 outside");
	TABLE_CASE((b->table[9].npages = 45, reseal(b, 9)),
		"entry 9: pages 20+45 outside");
	TABLE_CASE((b->table[9].page = UINT32_MAX, reseal(b, 9)),
		"outside the bank");
	TABLE_CASE((b->table[1].name[0] = 0, reseal(b, 1)), "entry 1: bad name");
	TABLE_CASE((b->table[1].name[10] = 'x', reseal(b, 1)),
		"entry 1: name not padded");
	TABLE_CASE((b->table[1].keysize = 33, reseal(b, 1)), "key size 33");
	TABLE_CASE((b->table[1].key[3] = 'x', reseal(b, 1)),
		"entry 1: key not padded");
	/* the padding is checked a word at a time: every byte counts, in
	 * the word where the name or key ends and in the last one */
	for (size_t i = 2; i < PMM__NAME_LEN; i++)	/* entry 1 is "b" */
		TABLE_CASE((b->table[1].name[i] = 'x', reseal(b, 1)),
			"entry 1: name not padded");
	for (uint32_t ks = 0; ks <= 32; ks += 5)
		for (size_t i = ks; i < 32; i++)
			TABLE_CASE((b->table[1].keysize = ks,
				memset(b->table[1].key + ks, 0, 32 - ks),
				b->table[1].key[i] = 0x80, reseal(b, 1)),
				"entry 1: key not padded");
#undef TABLE_CASE
	/* overlapping blocks */
	b = sample_bank();
	put_entry(b, 3, "e", 4, 2, NULL, 0);
	expect_damage(b, "blocks overlap at page 4");
	ck_assert_int_eq(pmm__recover(b), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "share page 4"));
	mem_free(b);
	/* two blocks of one name */
	b = sample_bank();
	memset(b->table[1].name, 0, PMM__NAME_LEN);
	b->table[1].name[0] = 'a';
	reseal(b, 1);
	expect_damage(b, "disagrees with block 1");
	ck_assert_int_eq(pmm__recover(b), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "have one name"));
	mem_free(b);
}
END_TEST

/* Index damage: each kind caught by the check, and repaired by rebuild. */
/* Repeats the key slot of block idx's list in the first empty slot. */
static void
repeat_key_slot(struct pmm__bank *b, uint32_t idx)
{
	for (uint64_t i = 0; i < b->g.key_slots; i++)
		if (b->key_slot[i] == 0) {
			b->key_slot[i] = idx + 1;
			return;
		}
	ck_abort_msg("no empty key slot");
}

START_TEST(test_check_index)
{
	struct pmm__bank *b;
	uint32_t c2 = pmm__class_of(2), c3 = pmm__class_of(3),
		c11 = pmm__class_of(11), c34 = pmm__class_of(34);
#define INDEX_CASE(stmt, needle) do { \
		b = sample_bank(); \
		stmt; \
		expect_damage(b, needle); \
		ck_assert_int_eq(pmm__recover(b), K_OK); \
		expect_sound(b); \
		mem_free(b); \
	} while (0)
	/* tags */
	INDEX_CASE(b->pg[5].tag = tag(2, 1), "bad boundary tag at page 5");
	INDEX_CASE(b->pg[0].tag = 0, "bad boundary tag at page 0");
	INDEX_CASE(b->pg[19].tag = tag(11, 0), "bad boundary tag at page 9");
	INDEX_CASE((b->pg[0].tag = b->pg[1].tag = tag(2, 1)),
		"free extent at page 0 covers a block");
	INDEX_CASE((b->pg[5].tag = b->pg[7].tag = tag(3, 0)),
		"used extent at page 5 has no block");
	INDEX_CASE((b->pg[0].tag = b->pg[4].tag = tag(5, 0)),
		"used extent at page 0 has no block");
	/* free extents 9-19 split in two, both listed: not merged */
	INDEX_CASE((b->pg[9].tag = b->pg[10].tag = tag(2, 1),
		b->pg[11].tag = b->pg[19].tag = tag(9, 1),
		b->hdr->arena[0].class_head[c11] = 0,
		b->hdr->arena[0].class_bits[c11 / 64] &= ~(1ULL << (c11 % 64)),
		b->pg[9].fnext = 0, b->pg[9].fprev = 0,
		b->hdr->arena[0].class_head[c2] = 10,
		b->hdr->arena[0].class_bits[c2 / 64] |= 1ULL << (c2 % 64),
		b->pg[11].fnext = 0, b->pg[11].fprev = 0,
		b->hdr->arena[0].class_head[pmm__class_of(9)] = 12,
		b->hdr->arena[0].class_bits[0] |= 1ULL << pmm__class_of(9)),
		"free extents not merged at page 11");
	/* free lists */
	INDEX_CASE(b->hdr->arena[0].class_bits[c3 / 64] &= ~(1ULL << (c3 % 64)),
		"class 2 bit disagrees");
	INDEX_CASE(b->hdr->arena[0].class_bits[0] |= 1ULL << 40, "class 40 bit disagrees");
	INDEX_CASE(b->pg[5].fnext = 1000, "free list 2 runs wild");
	INDEX_CASE(b->pg[5].fnext = 6, "free list 2 back link broken"); /* cycle */
	INDEX_CASE(b->pg[5].fnext = 31, "page 30 on free list 2 is not a free");
	INDEX_CASE(b->pg[5].fnext = 21, "page 20 on free list 2 is not a free");
	INDEX_CASE((b->hdr->arena[0].class_head[c3] = 0,
		b->hdr->arena[0].class_bits[c3 / 64] &= ~(1ULL << (c3 % 64))),
		"3 free extents, 2 on lists");
	INDEX_CASE(b->pg[30].fprev = 6, "free list 33 back link broken");
	INDEX_CASE((b->hdr->arena[0].class_head[c34] = 10,	/* the 11 on class 33 */
		b->hdr->arena[0].class_head[c11] = 31),
		"is not a free extent of it");
	/* name buckets */
	INDEX_CASE(name_slot_of(b, 5)->idx1 = 0, "3 names hashed");
	INDEX_CASE(name_slot_of(b, 5)->idx1 = 3, "name slot");
	INDEX_CASE(name_slot_of(b, 5)->idx1 = 100, "name slot");
	INDEX_CASE(name_slot_of(b, 5)->page++, "disagrees with block 5");
	INDEX_CASE(name_slot_of(b, 5)->name[0]++, "disagrees with block 5");
	INDEX_CASE(name_slot_of(b, 5)->idx1 |= PMM__NS_LONG,
		"disagrees with block 5");
	INDEX_CASE(b->nb[name_bucket_of(b, 5)].meta++, "mid-change");
	INDEX_CASE(b->nb[name_bucket_of(b, 5)].meta += 1u << 24,
		"names past it");
	/* key lists: entries 0 and 1 share k1, 5 alone has k2 */
	INDEX_CASE(b->kprev[b->knext[1] ? 1 : 0] = 7, "key list back link");
	/* (whether a foreign member or the count trips first depends on
	 * the order of the key slots) */
	INDEX_CASE(b->knext[5] = 10, "key list");
	INDEX_CASE(b->knext[5] = 6, "key list");
	INDEX_CASE(b->knext[b->knext[0] ? 0 : 1] = 0, "2 listed");
	INDEX_CASE(b->ix->nkeys = 3, "3 counted");
	INDEX_CASE(memset(b->key_slot, 0, 4 * b->g.key_slots), "0 listed");
	/* a slot repeating 5's list counts it twice, while k1's list lost
	 * a block: the counts agree, the slot must not be found (fuzz) */
	INDEX_CASE((repeat_key_slot(b, 5), b->knext[b->knext[0] ? 0 : 1] = 0,
		b->ix->nkeys = 3), "key list of block 5 not found by its key");
	/* free entries' chain: 2, 3, 4, 6, 7, 8, 10.. 15 */
	INDEX_CASE(b->hdr->arena[0].free_head = b->knext[2],
		"11 free entries chained, 12 expected");
	INDEX_CASE(b->knext[2] = 0, "1 free entries chained, 12 expected");
	INDEX_CASE(b->knext[3] = 3, "free entry 2 of the chain is bad");
	INDEX_CASE(b->knext[2] = 6, "free entry 1 of the chain is bad");
	INDEX_CASE(b->hdr->arena[0].free_head = 99, "free entry 0 of the chain is bad");
	/* counters */
	INDEX_CASE(b->hdr->arena[0].used_blocks++, "counters disagree: 4 blocks");
	INDEX_CASE(b->hdr->arena[0].used_pages--, "counters disagree");
#undef INDEX_CASE
}
END_TEST

/* A committed pmmFreeAll record: pending for the check, redone by recover. */
START_TEST(test_check_redo)
{
	struct pmm__bank *b = sample_bank();
	struct pmm__log *l = &b->hdr->log;
	memset(l->key, 0, sizeof(l->key));
	memcpy(l->key, "k1", 3);
	l->keysize = 3;
	l->seq = 5;
	l->checksum = pmm__log_checksum(l);
	l->valid = PMM__LOG_FREEALL;
	expect_damage(b, "redo record is pending");
	ck_assert_int_eq(pmm__recover(b), K_OK);
	expect_sound(b);
	ck_assert_uint_eq(l->valid, 0);
	ck_assert_uint_eq(b->table[0].state, PMM__FREE);
	ck_assert_uint_eq(b->table[1].state, PMM__FREE);
	ck_assert_uint_eq(b->table[5].state, PMM__USED);
	ck_assert_uint_eq(b->hdr->arena[0].used_blocks, 2);
	/* a damaged record is not guessed at */
	l->valid = PMM__LOG_FREEALL;
	l->seq++;
	ck_assert_int_eq(pmm__recover(b), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "redo record damaged"));
	l->checksum = pmm__log_checksum(l);
	l->valid = 0x1234;
	ck_assert_int_eq(pmm__recover(b), K_ECORRUPT);
	l->valid = PMM__LOG_FREEALL;
	ck_assert_int_eq(pmm__recover(b), K_OK);	/* k1 has no block: fine */
	expect_sound(b);
	mem_free(b);
}
END_TEST

/* An empty bank, a full bank and a one-page bank are sound. */
START_TEST(test_check_edges)
{
	struct pmm__bank *b = mem_bank(1, 1);
	expect_sound(b);
	put_entry(b, 0, "only", 0, 1, "k", 1);
	ck_assert_int_eq(pmm__recover(b), K_OK);
	expect_sound(b);
	ck_assert_uint_eq(b->hdr->arena[0].free_head, 0);
	mem_free(b);
	b = mem_bank(16, 16);
	for (uint32_t i = 0; i < 16; i++) {
		char nm[8];
		snprintf(nm, sizeof(nm), "p%u", i);
		put_entry(b, 15 - i, nm, i, 1, NULL, 0);
	}
	ck_assert_int_eq(pmm__recover(b), K_OK);
	expect_sound(b);
	ck_assert_uint_eq(listed_count(b), 0);
	mem_free(b);
	/* a name that fills its 63 bytes, no NUL, the key size its next
	 * byte: valid, found by its name (as a lookup pads it), freed */
	b = mem_bank(4, 4);
	char full[64], key[32];
	memset(full, 'f', 63);
	full[63] = 0;
	memset(key, 0x5a, sizeof(key));
	put_entry(b, 2, full, 1, 2, key, 32);
	ck_assert_uint_eq((uint8_t)b->table[2].name[62], 'f');
	ck_assert_uint_eq(b->table[2].keysize, 32);
	ck_assert_int_eq(pmm__recover(b), K_OK);
	expect_sound(b);
	uint32_t idx = 0;
	ck_assert_int_eq(pmm__name_find(b, full, &idx), K_OK);
	ck_assert_uint_eq(idx, 2);
	full[62] = 'g';
	ck_assert_int_eq(pmm__name_find(b, full, &idx), K_EUNKNOWN);
	full[62] = 'f';
	ck_assert_int_eq(pmm__free_in(b, full, "RAM", 0), K_OK);
	expect_sound(b);
	ck_assert_uint_eq(b->hdr->arena[0].used_blocks, 0);
	mem_free(b);
}
END_TEST

/* --------------------------------------------------------- configuration */

/* Good text: decimal, hex, comments, blanks, ';' items, media. */
START_TEST(test_config_parse)
{
	struct pmm__config c;
	memset(&c, 0, sizeof(c));
	c.rambank_size = 1;
	ck_assert_int_eq(pmm__config_parse(&c,
		"# comment\n"
		"\n"
		"  pmm.rambankSize = 0x200000   # 2 MiB\n"
		"pmm.maxBlocks=1000;hrCtrl.interval = 7 ; hrCtrl.maxBadness=0\n"
		"hrCtrl.maxprocesses = 100000\n"
		"hrCtrl.maxGroups = 0X10\n"
		"pmm.medium.DISK = /mnt/pmem/disk.pmm\n"
		"pmm.medium.NV=/x;pmm.medium.DISK=/y\n"
		"\t\r\n", "test"), K_OK);
	ck_assert_uint_eq(c.rambank_size, 0x200000);
	ck_assert_uint_eq(c.max_blocks, 1000);
	ck_assert_uint_eq(c.hr_interval, 7);
	ck_assert_uint_eq(c.hr_maxbadness, 0);
	ck_assert_uint_eq(c.hr_maxprocesses, 65536);	/* ChorusOS's cap */
	ck_assert_uint_eq(c.hr_maxgroups, 16);
	ck_assert_uint_eq(c.set, PMM__SET_RAMBANK | PMM__SET_MAXBLOCKS);
	ck_assert_uint_eq(c.nmedia, 2);
	ck_assert_str_eq(c.media_name[0], "DISK");
	ck_assert_str_eq(c.media_path[0], "/y");	/* the last wins */
	ck_assert_str_eq(c.media_name[1], "NV");
	ck_assert_str_eq(c.media_path[1], "/x");
	/* an empty text changes nothing */
	struct pmm__config d = c;
	ck_assert_int_eq(pmm__config_parse(&d, "", "e"), K_OK);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
}
END_TEST

/* Bad text: K_ECONFIG naming origin:line, earlier items applied. */
START_TEST(test_config_parse_errors)
{
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "pmm.nothing = 1", "f:1: unknown tunable \"pmm.nothing\"" },
		{ "\n\npmm.maxBlocks = 1 2", "f:3: pmm.maxBlocks = \"1 2\"" },
		{ "pmm.maxBlocks = 0x", "not a decimal" },
		{ "pmm.maxBlocks = 0xg", "not a decimal" },
		{ "pmm.maxBlocks = 12a", "not a decimal" },
		{ "pmm.maxBlocks = abc", "not a decimal" },
		{ "pmm.maxBlocks = +5", "not a decimal" },
		{ "pmm.maxBlocks = -5", "not a decimal" },
		{ "pmm.maxBlocks = 18446744073709551616", "not a decimal" },
		{ "pmm.maxBlocks = 0", "f:1: pmm.maxBlocks = 0 out of range" },
		{ "pmm.rambankSize = 0", "out of range (1..4398046511104)" },
		{ "hrCtrl.interval = 86401", "out of range (1..86400)" },
		{ "hrCtrl.maxBadness = 1000001", "out of range (0..1000000)" },
		{ "hrCtrl.maxprocesses = 0", "out of range" },
		{ "a = 1 = 2", "unknown tunable \"a\"" },
		{ "novalue", "f:1: \"novalue\" is not name = value" },
		{ "= 5", "unknown tunable \"\"" },
		{ "pmm.medium.X = x", "absolute path" },
		{ "pmm.medium. = /x", "empty or longer than 15" },
		{ "pmm.maxBlocks = 5 # a; b\nzzz", "f:2: \"zzz\"" },
		{ "pmm.maxBlocks = 5; pmm.maxBlocks = 6\n;;x", "f:2: \"x\"" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pmm__config c;
		memset(&c, 0, sizeof(c));
		ck_assert_msg(pmm__config_parse(&c, bad[i].text, "f") ==
			K_ECONFIG, "accepted \"%s\"", bad[i].text);
		ck_assert_msg(strstr(pmmErrorMsg(), bad[i].needle) != NULL,
			"\"%s\": message \"%s\" lacks \"%s\"", bad[i].text,
			pmmErrorMsg(), bad[i].needle);
	}
	/* 16 media at most */
	char text[4096];
	size_t n = 0;
	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
			"pmm.medium.M%d=/m%d\n", i, i);
	struct pmm__config c;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(pmm__config_parse(&c, text, "g"), K_ECONFIG);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "g:17: more than 16"));
	ck_assert_uint_eq(c.nmedia, 16);
}
END_TEST

/* Where banks live: configured media, RAM under PMM_DIR or the default. */
START_TEST(test_medium_path)
{
	struct pmm__config c;
	char path[PATH_MAX], want[64];
	int dflt = -1;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(pmm__config_parse(&c, "pmm.medium.NV=/nv/bank;"
		"pmm.medium.RAM=/ram/bank", "t"), K_OK);
	ck_assert_int_eq(pmm__medium_path(&c, "NV", path, sizeof(path),
		&dflt), K_OK);
	ck_assert_str_eq(path, "/nv/bank");
	ck_assert_int_eq(dflt, 0);
	ck_assert_int_eq(pmm__medium_path(&c, "RAM", path, sizeof(path),
		&dflt), K_OK);
	ck_assert_str_eq(path, "/ram/bank");
	ck_assert_int_eq(pmm__medium_path(&c, "DISK", path, sizeof(path),
		&dflt), K_ENOMEDIUM);
	memset(&c, 0, sizeof(c));
	setenv("PMM_DIR", "/some/dir", 1);
	ck_assert_int_eq(pmm__medium_path(&c, "RAM", path, sizeof(path),
		&dflt), K_OK);
	ck_assert_str_eq(path, "/some/dir/RAM.pmm");
	ck_assert_int_eq(dflt, 0);
	ck_assert_int_eq(pmm__medium_path(&c, "RAM", path, 10, &dflt),
		K_ECONFIG);
	unsetenv("PMM_DIR");
	ck_assert_int_eq(pmm__medium_path(&c, "RAM", path, sizeof(path),
		&dflt), K_OK);
	snprintf(want, sizeof(want), "/dev/shm/pmm-%u/RAM.pmm",
		(unsigned)getuid());
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(dflt, 1);
}
END_TEST

/* pmm__config_load: defaults, then the file, then PMM_TUNABLES. */
START_TEST(test_config_load)
{
	struct pmm__config c;
	char conf[PATH_MAX];
	setenv("PMM_CONF", "", 1);
	unsetenv("PMM_TUNABLES");
	ck_assert_int_eq(pmm__config_load(&c), K_OK);
	ck_assert_uint_eq(c.rambank_size, 0x100000);
	ck_assert_uint_eq(c.max_blocks, 30);
	ck_assert_uint_eq(c.hr_maxprocesses, 32);
	ck_assert_uint_eq(c.hr_maxgroups, 32);
	ck_assert_uint_eq(c.hr_interval, 3);
	ck_assert_uint_eq(c.hr_maxbadness, 25);
	ck_assert_uint_eq(c.set, 0);
	ck_assert_str_eq(c.source, "");
	snprintf(conf, sizeof(conf), "%s/conf", g_dir);
	int fd = test_file(conf, 0, 0);
	static const char text[] = "pmm.maxBlocks = 5\npmm.rambankSize = 8192\n";
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
		(ssize_t)sizeof(text) - 1);
	close(fd);
	setenv("PMM_CONF", conf, 1);
	setenv("PMM_TUNABLES", "pmm.maxBlocks=6", 1);
	ck_assert_int_eq(pmm__config_load(&c), K_OK);
	ck_assert_uint_eq(c.max_blocks, 6);
	ck_assert_uint_eq(c.rambank_size, 8192);
	ck_assert_str_eq(c.source, conf);
	unlink(conf);
	ck_assert_int_eq(pmm__config_load(&c), K_ECONFIG);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "cannot read"));
}
END_TEST

/* -------------------------------------------------------- whole banks */

/* Removes one file or directory (for nftw). */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Each bank test: its own PMM_DIR. */
static void
setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "%s/t%d", g_root, (int)getpid());
	ck_assert_int_eq(mkdir(g_dir, 0700), 0);
	setenv("PMM_DIR", g_dir, 1);
	setenv("PMM_CONF", "", 1);
	unsetenv("PMM_TUNABLES");
	unsetenv("HRCTL_GROUP");
}

/* Removes the test's directory. */
static void
teardown(void)
{
	nftw(g_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The RAM bank of this process (opened or created). */
static struct pmm__bank *
ram_bank(void)
{
	struct pmm__bank *b;
	ck_assert_int_eq(pmm__bank_get("RAM", &b), K_OK);
	return b;
}

/* pmm__check under the bank lock. */
static void
locked_sound(struct pmm__bank *b)
{
	char report[256];
	ck_assert_int_eq(pmm__lock(b), K_OK);
	int rc = pmm__check(b, report, sizeof(report));
	pmm__unlock(b);
	ck_assert_msg(rc == K_OK, "check: %s", report);
}

/* A PmmName. */
static PmmName
pname(const char *medium, const char *name)
{
	PmmName n;
	memset(&n, 0, sizeof(n));
	snprintf(n.medium, sizeof(n.medium), "%s", medium);
	snprintf(n.name, sizeof(n.name), "%s", name);
	return n;
}

/* The system's own "__SYS" keys: allowed with PMM__F_SYSTEM only. */
START_TEST(test_system_blocks)
{
	PmmName n = pname("RAM", "sys");
	VmAddr a;
	ck_assert_int_eq(pmm__allocate(&a, &n, 1, "__SYS.x", 8, 0), K_EPRIV);
	ck_assert_int_eq(pmm__allocate(&a, &n, 1, "__SYS.x", 8, PMM__F_SYSTEM),
		K_OK);
	ck_assert_int_eq(pmmFree(&n), K_ESYSTEM);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(),
		"block \"sys\" is internal to the system"));
	ck_assert_int_eq(pmm__free(&n, 0), K_ESYSTEM);
	ck_assert_int_eq(pmm__free_all("__SYS.x", 8, 0), K_EPRIV);
	ck_assert_int_eq(pmm__free_all("__SYS.x", 8, PMM__F_SYSTEM), K_OK);
	ck_assert_int_eq(pmm__allocate(&a, &n, 0, NULL, 0, 0), K_ESIZE);
	ck_assert_int_eq(pmm__allocate(&a, &n, 1, "__SYS.x", 8, PMM__F_SYSTEM),
		K_OK);
	ck_assert_int_eq(pmm__free(&n, PMM__F_SYSTEM), K_OK);
	/* a group's blocks: freed with its key by the system only */
	setenv("HRCTL_GROUP", "7", 1);
	PmmName g = pname("RAM", "grp");
	ck_assert_int_eq(pmmAllocate(&a, &g, 1, HR_GROUP_KEY, HR_GROUP_KEYSIZE),
		K_OK);
	setenv("HRCTL_GROUP", "8", 1);
	PmmName g8 = pname("RAM", "grp8");
	ck_assert_int_eq(pmmAllocate(&a, &g8, 1, HR_GROUP_KEY,
		HR_GROUP_KEYSIZE), K_OK);
	ck_assert_int_eq(pmm__free_all("__SYS.hrgroup.7", 16, 0), K_EPRIV);
	ck_assert_int_eq(pmm__free_all("__SYS.hrgroup.7", 16, PMM__F_SYSTEM),
		K_OK);
	ck_assert_int_eq(pmm__allocate(&a, &g, 0, NULL, 0, 0), K_ESIZE);
	ck_assert_int_eq(pmm__allocate(&a, &g8, 0, NULL, 0, 0), K_OK);
	ck_assert_int_eq(pmm__free_all(HR_GROUP_KEY, HR_GROUP_KEYSIZE,
		PMM__F_SYSTEM), K_OK);		/* the caller's group, 8 */
	ck_assert_int_eq(pmm__allocate(&a, &g8, 0, NULL, 0, 0), K_ESIZE);
	locked_sound(ram_bank());
}
END_TEST

/* Random allocate/free/freeAll against a model; the check after each. */
START_TEST(test_random_ops)
{
	enum { NAMES = 80, NKEYS = 4 };
	static const char *const keys[NKEYS] = { "red", "green", "blue", "" };
	VmAddr addr[NAMES] = { 0 };
	int key_of[NAMES];
	unsigned seed = 2024;
	int steps = test_under_valgrind() ? 1000 : 3000;
	setenv("PMM_TUNABLES", "pmm.maxBlocks=48;pmm.rambankSize=0x60000", 1);
	struct pmm__bank *b = ram_bank();
	for (int s = 0; s < steps; s++) {
		int k = (int)(rand_r(&seed) % NAMES), op = (int)(rand_r(&seed) % 10);
		char nm[16];
		snprintf(nm, sizeof(nm), "n%d", k);
		PmmName n = pname("RAM", nm);
		VmAddr a;
		if (op < 6) {
			int kk = (int)(rand_r(&seed) % NKEYS);
			size_t size = 1 + rand_r(&seed) % (5 * page());
			int rc = pmmAllocate(&a, &n, size, keys[kk],
				strlen(keys[kk]));
			if (addr[k] != 0) {
				ck_assert_int_eq(rc, K_OK);
				ck_assert_uint_eq(a, addr[k]);
				ck_assert_uint_eq(*(int *)a, k + 1);
			} else if (rc == K_OK) {
				ck_assert_uint_eq(*(int *)a, 0);
				*(int *)a = k + 1;
				addr[k] = a;
				key_of[k] = kk;
			} else {
				ck_assert_msg(rc == K_ENOMEM || rc == K_ETOOMUCH,
					"step %d: %d %s", s, rc, pmmErrorMsg());
			}
		} else if (op < 9) {
			int rc = pmmFree(&n);
			ck_assert_int_eq(rc, addr[k] != 0 ? K_OK : K_EUNKNOWN);
			addr[k] = 0;
		} else {
			int kk = (int)(rand_r(&seed) % (NKEYS - 1)), any = 0;
			for (int i = 0; i < NAMES; i++)
				if (addr[i] != 0 && key_of[i] == kk) {
					addr[i] = 0;
					any = 1;
				}
			ck_assert_int_eq(pmmFreeAll(keys[kk], strlen(keys[kk])),
				any ? K_OK : K_EUNKNOWN);
		}
		locked_sound(b);
	}
	/* all the model's blocks are where it says */
	for (int k = 0; k < NAMES; k++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "n%d", k);
		PmmName n = pname("RAM", nm);
		VmAddr a;
		int rc = pmmAllocate(&a, &n, 0, NULL, 0);
		ck_assert_int_eq(rc, addr[k] != 0 ? K_OK : K_ESIZE);
		if (addr[k] != 0)
			ck_assert_uint_eq(a, addr[k]);
	}
}
END_TEST

struct racer {
	int id;
	int bad;
};

/* One thread's share of test_threads_check. */
static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	unsigned seed = (unsigned)r->id + 100;
	char key[4] = { 'T', (char)('0' + r->id), 0, 0 };
	for (int i = 0; i < 200 && !r->bad; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "r%d-%u", r->id, rand_r(&seed) % 8);
		PmmName n = pname("RAM", nm);
		VmAddr a;
		int rc = pmmAllocate(&a, &n, 1 + rand_r(&seed) % 9000, key, 3);
		if (rc != K_OK)
			r->bad = __LINE__;
		else if (rand_r(&seed) % 2 && pmmFree(&n) != K_OK)
			r->bad = __LINE__;
		if (i % 50 == 49 && (rc = pmmFreeAll(key, 3)) != K_OK &&
				rc != K_EUNKNOWN)
			r->bad = __LINE__;
	}
	return NULL;
}

/* Threads at once, then the whole-bank check. */
START_TEST(test_threads_check)
{
	enum { N = 4 };
	pthread_t t[N];
	struct racer r[N];
	setenv("PMM_TUNABLES", "pmm.maxBlocks=40;pmm.rambankSize=0x200000", 1);
	struct pmm__bank *b = ram_bank();
	for (int i = 0; i < N; i++) {
		r[i].id = i;
		r[i].bad = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, racer_main, &r[i]),
			0);
	}
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < N; i++)
		ck_assert_msg(r[i].bad == 0, "thread %d failed at line %d", i,
			r[i].bad);
	locked_sound(b);
}
END_TEST

/* What a lock-free lookup of the watched name says at each persist
 * point of an allocation and a free (see test_lockfree_points). */
static struct pmm__bank *watch_b;
static char watch_nm[64];
static unsigned watch_live_free, watch_dead_found, watch_points;
static void (*real_flush)(const void *, size_t);

/* A flush: peek at the watched name; a found block must be a block. */
static void
watch_flush(const void *addr, size_t len)
{
	uint32_t pg, idx;
	real_flush(addr, len);
	watch_points++;
	if (pmm__name_peek(watch_b, watch_nm, pmm__name_hash(watch_nm),
			&pg, &idx) != K_OK)
		return;
	for (uint64_t i = 0; i < watch_b->g.max_blocks; i++) {
		const struct pmm__entry *e = &watch_b->table[i];
		if (e->page == pg && strcmp(e->name, watch_nm) == 0) {
			if (e->state != PMM__USED)
				watch_dead_found++;
			return;
		}
	}
	watch_live_free++;
}

/*
 * At every flush of an allocation, a free and a pmmFreeAll, a lock-free
 * lookup of the block's name finds nothing, or the block with its state
 * word committed: never a half-made block, never a freed one.
 */
START_TEST(test_lockfree_points)
{
	VmAddr a;
	static const char key[] = "lf-key";
	PmmName n = pname("RAM", "lf-block");
	/* the points are persist calls: the flushed path, even on tmpfs */
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	struct pmm__bank *b = ram_bank();
	unsetenv("PMEM_IS_PMEM_FORCE");
	ck_assert_int_eq(b->cached, 0);
	watch_b = b;
	memset(watch_nm, 0, sizeof(watch_nm));
	strcpy(watch_nm, n.name);
	real_flush = pmm__pers.flush;
	pmm__pers.flush = watch_flush;
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(pmmAllocate(&a, &n, 5000, key, sizeof(key)),
			K_OK);
		ck_assert_int_eq(pmmAllocate(&a, &n, 0, NULL, 0), K_OK);
		if (round == 1)
			ck_assert_int_eq(pmmFreeAll(key, sizeof(key)), K_OK);
		else
			ck_assert_int_eq(pmmFree(&n), K_OK);
	}
	pmm__pers.flush = real_flush;
	ck_assert_uint_gt(watch_points, 0);
	ck_assert_uint_eq(watch_dead_found, 0);
	ck_assert_uint_eq(watch_live_free, 0);
	locked_sound(b);
}
END_TEST

/* Whether dir's file system is tmpfs. */
static int
dir_on_tmpfs(const char *dir)
{
	struct statfs s;
	ck_assert_int_eq(statfs(dir, &s), 0);
	return (unsigned long)s.f_type == 0x01021994UL;
}

/* pmm__medium_cached of a new file in dir, under the environment set. */
static int
cached_in(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/medium-probe-%d", dir, (int)getpid());
	int fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", p, strerror(errno));
	int c = pmm__medium_cached(pmm__on_tmpfs(fd));
	close(fd);
	unlink(p);
	return c;
}

/*
 * Which medium takes which path: tmpfs keeps the CPU's stores and loses
 * all at a power failure, so it is not flushed; PMEM_IS_PMEM_FORCE=1 and
 * pmem-crashtest's variable make it flushed; any other file system, or a
 * descriptor fstatfs refuses, is flushed.
 */
START_TEST(test_medium_path_choice)
{
	char tdir[PATH_MAX];
	snprintf(tdir, sizeof(tdir), "%s", g_dir);
	int tmpfs = dir_on_tmpfs(tdir);
	if (!tmpfs && access("/dev/shm", W_OK) == 0 && dir_on_tmpfs("/dev/shm")) {
		snprintf(tdir, sizeof(tdir), "/dev/shm");
		tmpfs = 1;
	}
	ck_assert_msg(tmpfs, "no tmpfs to test on (%s)", g_dir);
	unsetenv("PMEM_IS_PMEM_FORCE");
	unsetenv("PMEM_CRASHTEST");
	ck_assert_int_eq(cached_in(tdir), 1);
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	ck_assert_int_eq(cached_in(tdir), 0);
	setenv("PMEM_IS_PMEM_FORCE", "0", 1);
	ck_assert_int_eq(cached_in(tdir), 1);
	setenv("PMEM_IS_PMEM_FORCE", "junk", 1);
	ck_assert_int_eq(cached_in(tdir), 1);
	unsetenv("PMEM_IS_PMEM_FORCE");
	setenv("PMEM_CRASHTEST", "/nowhere", 1);
	ck_assert_int_eq(cached_in(tdir), 0);
	setenv("PMEM_CRASHTEST", "", 1);
	ck_assert_int_eq(cached_in(tdir), 1);
	unsetenv("PMEM_CRASHTEST");
	/* an ordinary file system: the working directory of make check, or
	 * /var/tmp, whichever is not tmpfs */
	const char *disk[] = { ".", "/var/tmp", "/tmp" };
	int tried = 0;
	for (unsigned i = 0; i < 3; i++) {
		if (access(disk[i], W_OK) != 0 || dir_on_tmpfs(disk[i]))
			continue;
		ck_assert_msg(cached_in(disk[i]) == 0, "%s", disk[i]);
		tried++;
	}
	ck_assert_msg(tried > 0, "no writable directory off tmpfs");
	ck_assert_int_eq(pmm__medium_cached(pmm__on_tmpfs(-1)), 0);
}
END_TEST

/* Persist calls seen through pmm__pers. */
static unsigned pers_calls;
static struct pmm__persist_ops pers_real;
static void count_flush(const void *a, size_t n) { pers_calls++; pers_real.flush(a, n); }
static void count_drain(void) { pers_calls++; pers_real.drain(); }
static void count_memset(void *a, int c, size_t n) { pers_calls++; pers_real.memset_nodrain(a, c, n); }

/* Allocate (over a dirty page), retrieve, free by name and by key in b;
 * returns the persist calls they made. */
static unsigned
work_counted(struct pmm__bank *b)
{
	static const char key[] = "path-key";
	PmmName n = pname("RAM", "path-a"), m = pname("RAM", "path-b");
	VmAddr a, a2;
	ck_assert_int_eq(pmmAllocate(&a, &n, 8192, NULL, 0), K_OK);
	memset((void *)a, 0xa5, 8192);
	ck_assert_int_eq(pmmFree(&n), K_OK);
	pers_real = pmm__pers;
	pmm__pers.flush = count_flush;
	pmm__pers.drain = count_drain;
	pmm__pers.memset_nodrain = count_memset;
	pers_calls = 0;
	ck_assert_int_eq(pmmAllocate(&a2, &n, 8192, NULL, 0), K_OK);
	/* the freed pages come back zero-filled on either path */
	ck_assert_ptr_eq((void *)a2, (void *)a);
	for (size_t i = 0; i < 8192; i++)
		ck_assert_uint_eq(((unsigned char *)a2)[i], 0);
	ck_assert_int_eq(pmmAllocate(&a, &n, 0, NULL, 0), K_OK);
	ck_assert_int_eq(pmmAllocate(&a, &m, 100, key, sizeof(key)), K_OK);
	ck_assert_int_eq(pmmFree(&n), K_OK);
	ck_assert_int_eq(pmmFreeAll(key, sizeof(key)), K_OK);
	pmm__pers = pers_real;
	locked_sound(b);
	return pers_calls;
}

/* A tmpfs bank makes no persist call; forced, every change makes them. */
START_TEST(test_medium_path_calls)
{
	unsetenv("PMEM_IS_PMEM_FORCE");
	unsetenv("PMEM_CRASHTEST");
	setenv("PMM_TUNABLES", "pmm.rambankSize=0x800000", 1);
	struct pmm__bank *b = ram_bank();
	int tmpfs = dir_on_tmpfs(g_dir);
	ck_assert_int_eq(b->cached, tmpfs);
	unsigned n = work_counted(b);
	if (tmpfs)
		ck_assert_uint_eq(n, 0);
	else
		ck_assert_uint_ge(n, 12);
	/* a block larger than the caches streams its zeros (tmpfs too) */
	size_t big = 2 * PMM__FILL_CACHED_MAX;
	PmmName g = pname("RAM", "path-big");
	VmAddr a, a2;
	ck_assert_int_eq(pmmAllocate(&a, &g, big, NULL, 0), K_OK);
	memset((void *)a, 0x5a, big);
	ck_assert_int_eq(pmmFree(&g), K_OK);
	ck_assert_int_eq(pmmAllocate(&a2, &g, big, NULL, 0), K_OK);
	ck_assert_ptr_eq((void *)a2, (void *)a);
	for (size_t i = 0; i < big; i += 8)
		ck_assert_uint_eq(*(uint64_t *)((char *)a2 + i), 0);
	ck_assert_int_eq(pmmFree(&g), K_OK);
	locked_sound(b);
}
END_TEST

/* Whether the n bytes at a all read c. */
static int
bytes_are(VmAddr a, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)a)[i] != c)
			return 0;
	return 1;
}

/* The entry of block name in bank b (under no lock: tests only). */
static uint32_t
entry_of(struct pmm__bank *b, const char *name)
{
	char nm[64];
	uint32_t idx;
	memset(nm, 0, sizeof(nm));
	snprintf(nm, sizeof(nm), "%s", name);
	ck_assert_int_eq(pmm__name_find(b, nm, &idx), K_OK);
	return idx;
}

/* After a run of new blocks the next call is guessed new: its space is
 * taken and zeroed before its name is looked at.  Guessed wrong, an
 * existing block is retrieved whole, as an unguessed call retrieves it,
 * and the zeroed space is free again; without room, the guess reports
 * what the ordinary order reports. */
static void
guess_new_work(struct pmm__bank *b)
{
	size_t ps = b->g.page_size;
	char nm[16];
	VmAddr a_old, a[8], r;
	PmmName old = pname("RAM", "g-old");
	ck_assert_int_eq(pmmAllocate(&a_old, &old, ps, NULL, 0), K_OK);
	memset((void *)a_old, 0x5a, ps);
	for (int i = 0; i < 3; i++) {
		snprintf(nm, sizeof(nm), "g-%d", i);
		PmmName n = pname("RAM", nm);
		ck_assert_int_eq(pmmAllocate(&a[i], &n, ps, NULL, 0), K_OK);
		ck_assert(bytes_are(a[i], ps, 0));
		memset((void *)a[i], 0x30 + i, ps);
	}
	/* guessed wrong: a retrieval */
	ck_assert_int_eq(pmmAllocate(&r, &old, ps, NULL, 0), K_OK);
	ck_assert_ptr_eq((void *)r, (void *)a_old);
	ck_assert(bytes_are(a_old, ps, 0x5a));
	for (int i = 0; i < 3; i++)
		ck_assert(bytes_are(a[i], ps, (unsigned char)(0x30 + i)));
	locked_sound(b);
	/* guessed wrong, it is answered as an unguessed retrieval is, from
	 * the name's slot: with the block's entry damaged for the while
	 * (only the locked way reads it), a retrieval and the same after
	 * two new blocks agree */
	uint32_t oi = entry_of(b, "g-old");
	b->table[oi].checksum ^= 1;
	VmAddr r_plain = 0;
	int rc_plain = pmmAllocate(&r_plain, &old, ps, NULL, 0);
	for (int i = 3; i < 5; i++) {
		snprintf(nm, sizeof(nm), "g-%d", i);
		PmmName n = pname("RAM", nm);
		ck_assert_int_eq(pmmAllocate(&a[i], &n, ps, NULL, 0), K_OK);
	}
	int rc_guessed = pmmAllocate(&r, &old, ps, NULL, 0);
	b->table[oi].checksum ^= 1;
	ck_assert_int_eq(rc_guessed, rc_plain);
	ck_assert_int_eq(rc_plain, K_OK);
	ck_assert_ptr_eq((void *)r, (void *)r_plain);
	ck_assert_ptr_eq((void *)r, (void *)a_old);
	for (int i = 3; i < 5; i++) {
		snprintf(nm, sizeof(nm), "g-%d", i);
		PmmName n = pname("RAM", nm);
		ck_assert_int_eq(pmmFree(&n), K_OK);
	}
	locked_sound(b);
	/* a run of big blocks until the pages run out (entries remain) */
	int nbig = 0, rc;
	for (; nbig < 8; nbig++) {
		snprintf(nm, sizeof(nm), "big-%d", nbig);
		PmmName n = pname("RAM", nm);
		if ((rc = pmmAllocate(&r, &n, 64 * ps, NULL, 0)) != K_OK)
			break;
		ck_assert(bytes_are(r, 64 * ps, 0));
		memset((void *)r, 0x77, 64 * ps);
	}
	ck_assert_int_ge(nbig, 1);
	ck_assert_int_eq(rc, K_ENOMEM);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "free contiguous pages"));
	ck_assert_int_eq(pmmAllocate(&r, &old, ps, NULL, 0), K_OK);
	ck_assert_ptr_eq((void *)r, (void *)a_old);
	locked_sound(b);
	for (int i = 0; i < nbig; i++) {
		snprintf(nm, sizeof(nm), "big-%d", i);
		PmmName n = pname("RAM", nm);
		ck_assert_int_eq(pmmFree(&n), K_OK);
	}
	/* a run of small blocks until the entries run out (8 in all) */
	int nsmall = 0;
	for (; nsmall < 8; nsmall++) {
		snprintf(nm, sizeof(nm), "s-%d", nsmall);
		PmmName n = pname("RAM", nm);
		if ((rc = pmmAllocate(&a[nsmall], &n, ps, NULL, 0)) != K_OK)
			break;
		ck_assert(bytes_are(a[nsmall], ps, 0));
	}
	ck_assert_int_eq(nsmall, 4);
	ck_assert_int_eq(rc, K_ETOOMUCH);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "pmm.maxBlocks"));
	for (int i = 0; i < nsmall; i++) {
		snprintf(nm, sizeof(nm), "s-%d", i);
		PmmName n = pname("RAM", nm);
		ck_assert_int_eq(pmmAllocate(&r, &n, ps, NULL, 0), K_OK);
		ck_assert_ptr_eq((void *)r, (void *)a[i]);
	}
	ck_assert(bytes_are(a_old, ps, 0x5a));
	locked_sound(b);
}

/* The guess on a tmpfs bank (plain stores). */
START_TEST(test_guess_new)
{
	unsetenv("PMEM_IS_PMEM_FORCE");
	unsetenv("PMEM_CRASHTEST");
	setenv("PMM_TUNABLES", "pmm.rambankSize=0x100000;pmm.maxBlocks=8", 1);
	guess_new_work(ram_bank());
}
END_TEST

/* The same calls on a flushed bank, which never guesses. */
START_TEST(test_guess_new_flushed)
{
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	setenv("PMM_TUNABLES", "pmm.rambankSize=0x100000;pmm.maxBlocks=8", 1);
	struct pmm__bank *b = ram_bank();
	unsetenv("PMEM_IS_PMEM_FORCE");
	ck_assert_int_eq(b->cached, 0);
	guess_new_work(b);
}
END_TEST

/* A cached fill writes exactly its range, whatever its length and
 * alignment around its 4 KiB steps, and nothing around it. */
START_TEST(test_fill_cached)
{
	static const size_t lens[] = { 0, 1, 63, 64, 65, 4095, 4096, 4097,
		8191, 8192, 8193, 12288 + 200, 65536, PMM__FILL_CACHED_MAX };
	static const size_t offs[] = { 0, 1, 64, 4095 };
	size_t span = PMM__FILL_CACHED_MAX + 3 * 4096;
	unsigned char *buf = aligned_alloc(4096, span);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			size_t o = offs[j] + 64, n = lens[i];
			memset(buf, 0x3c, span);
			pmm__fill_cached(buf + o, 0xa7, n);
			for (size_t k = 0; k < o; k++)
				ck_assert_uint_eq(buf[k], 0x3c);
			for (size_t k = o; k < o + n; k++)
				if (buf[k] != 0xa7)
					ck_abort_msg("len %zu at %zu: byte %zu "
						"not filled", n, o, k - o);
			for (size_t k = o + n; k < span; k++)
				if (buf[k] != 0x3c)
					ck_abort_msg("len %zu at %zu: byte %zu "
						"past the end written", n, o,
						k - o - n);
		}
	}
	free(buf);
}
END_TEST

/* The same work on a bank opened with PMEM_IS_PMEM_FORCE=1. */
START_TEST(test_medium_path_forced)
{
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	struct pmm__bank *b = ram_bank();
	unsetenv("PMEM_IS_PMEM_FORCE");
	ck_assert_int_eq(b->cached, 0);
	/* allocate: fill, flush, drain, flush, drain; free: 2; freeAll:
	 * at least 6 */
	ck_assert_uint_ge(work_counted(b), 5 + 5 + 2 + 6);
}
END_TEST

/* A process that dies holding the lock: the next locker recovers. */
START_TEST(test_dead_owner)
{
	PmmName n = pname("RAM", "before");
	VmAddr a;
	ck_assert_int_eq(pmmAllocate(&a, &n, 1, NULL, 0), K_OK);
	struct pmm__bank *b = ram_bank();
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* tear the index under the lock, then die */
		if (pmm__lock(b) != K_OK)
			_exit(1);
		memset(b->nb, 0, 64 * b->g.name_buckets);
		b->hdr->arena[0].used_blocks = 77;
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(pmmAllocate(&a, &n, 0, NULL, 0), K_OK);
	locked_sound(b);
}
END_TEST

/*
 * A name slot repeating one block where another's was, left by a writer
 * that died mid-change (the index marked dirty) in a bank nobody else
 * has open: the open must rebuild, or that block is lost and its name
 * allocated twice.
 */
START_TEST(test_reopen_repairs_lost_name)
{
	VmAddr a[3], again;
	const char *names[3] = { "one", "two", "three" };
	for (int i = 0; i < 3; i++) {
		PmmName n = pname("RAM", names[i]);
		ck_assert_int_eq(pmmAllocate(&a[i], &n, 1, NULL, 0), K_OK);
	}
	struct pmm__bank *b = ram_bank();
	uint32_t i0, i2;
	char nm[64] = "";
	strcpy(nm, "one");
	ck_assert_int_eq(pmm__name_find(b, nm, &i0), K_OK);
	memset(nm, 0, sizeof(nm));
	strcpy(nm, "three");
	ck_assert_int_eq(pmm__name_find(b, nm, &i2), K_OK);
	struct pmm__nslot *s2 = name_slot_of(b, i2);
	memcpy(s2->name, b->table[i0].name, PMM__NS_NAME);
	s2->idx1 = i0 + 1;
	s2->page = b->table[i0].page;
	b->hdr->arena[b->g.narenas - 1].dirty = 1;
	pmm__banks_reset();			/* as a new process would */
	PmmName n = pname("RAM", "three");
	ck_assert_int_eq(pmmAllocate(&again, &n, 0, NULL, 0), K_OK);
	ck_assert_uint_eq(again, a[2]);
	locked_sound(ram_bank());
}
END_TEST

/*
 * A damaged table entry is the truth damaged: a new process's retrieve
 * and free of it fail with K_ECORRUPT and name the entry, whatever the
 * index says, rather than hand out an address outside the bank or free
 * pages that may be another block's.
 */
START_TEST(test_damaged_entry_refused)
{
	PmmName n = pname("RAM", "victim"), o = pname("RAM", "other");
	VmAddr a, x, got;
	ck_assert_int_eq(pmmAllocate(&a, &n, 1, NULL, 0), K_OK);
	ck_assert_int_eq(pmmAllocate(&x, &o, 1, NULL, 0), K_OK);
	struct pmm__bank *b = ram_bank();
	uint32_t i = entry_of(b, "victim");
	struct pmm__entry keep = b->table[i];
	/* unsealed: checksum mismatch; sealed: pages outside the bank */
	for (int sealed = 0; sealed < 2; sealed++) {
		b = ram_bank();
		b->table[i].page = (uint32_t)b->g.npages + 1000;
		if (sealed)
			reseal(b, i);
		pmm__banks_reset();		/* as a new process would */
		got = 0;
		ck_assert_int_eq(pmmAllocate(&got, &n, 0, NULL, 0), K_ECORRUPT);
		ck_assert_uint_eq(got, 0);
		ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), sealed ?
			"outside the bank" : "checksum mismatch"));
		ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "RAM.pmm"));
		ck_assert_int_eq(pmmAllocate(&got, &n, 4096, NULL, 0),
			K_ECORRUPT);
		ck_assert_int_eq(pmmFree(&n), K_ECORRUPT);
		/* the other block is untouched and still served */
		ck_assert_int_eq(pmmAllocate(&got, &o, 0, NULL, 0), K_OK);
		ck_assert_uint_eq(got, x);
		ram_bank()->table[i] = keep;
	}
	pmm__banks_reset();
	ck_assert_int_eq(pmmAllocate(&got, &n, 0, NULL, 0), K_OK);
	ck_assert_uint_eq(got, a);
	locked_sound(ram_bank());
}
END_TEST

/*
 * The index is derived: a name slot that sends a name to another block's
 * entry, or to a freed one, is found out under the lock by the entry's
 * own name and state, and the index rebuilt from the table, so that
 * retrieve never returns another block and free never frees one.
 */
START_TEST(test_misdirected_index_rebuilt)
{
	PmmName n1 = pname("RAM", "one"), n2 = pname("RAM", "two"),
		n3 = pname("RAM", "three");
	VmAddr a1, a2, a3, got;
	ck_assert_int_eq(pmmAllocate(&a1, &n1, 1, NULL, 0), K_OK);
	ck_assert_int_eq(pmmAllocate(&a2, &n2, 1, NULL, 0), K_OK);
	ck_assert_int_eq(pmmAllocate(&a3, &n3, 1, NULL, 0), K_OK);
	struct pmm__bank *b = ram_bank();
	uint32_t i1 = entry_of(b, "one"), i3 = entry_of(b, "three");
	/* "three" freed, but its slot put back (a stale slot) */
	struct pmm__nslot *s3 = name_slot_of(b, i3), keep3 = *s3;
	ck_assert_int_eq(pmmFree(&n3), K_OK);
	*s3 = keep3;
	/* "two"'s slot sends it to "one"'s entry */
	struct pmm__nslot *s2 = name_slot_of(b, entry_of(b, "two"));
	s2->idx1 = i1 + 1;
	s2->page = b->table[i1].page;
	pmm__banks_reset();			/* as a new process would */
	ck_assert_int_eq(pmmAllocate(&got, &n2, 0, NULL, 0), K_OK);
	ck_assert_uint_eq(got, a2);
	ck_assert_int_eq(pmmAllocate(&got, &n3, 0, NULL, 0), K_ESIZE);
	locked_sound(ram_bank());
	/* the same, met first by a free: it frees "two", not "one" */
	b = ram_bank();
	s2 = name_slot_of(b, entry_of(b, "two"));
	s2->idx1 = i1 + 1;
	s2->page = b->table[i1].page;
	pmm__banks_reset();
	ck_assert_int_eq(pmmFree(&n2), K_OK);
	ck_assert_int_eq(pmmAllocate(&got, &n1, 0, NULL, 0), K_OK);
	ck_assert_uint_eq(got, a1);
	ck_assert_int_eq(pmmAllocate(&got, &n2, 0, NULL, 0), K_ESIZE);
	locked_sound(ram_bank());
}
END_TEST

/*
 * A copy of a bank (cp, a backup put back) may hold an index copied at
 * another moment than its table: the first process to open the copy
 * rebuilds the index, so that even a lookup without the lock (which
 * reads only the name's slot) finds each block where the table says.
 * The same damage in the original file is not rebuilt on an ordinary
 * open, which is what shows the copy was recognised.
 */
START_TEST(test_copy_rebuilds_index)
{
	PmmName n1 = pname("RAM", "one"), n2 = pname("RAM", "two");
	VmAddr a1, a2, got;
	ck_assert_int_eq(pmmAllocate(&a1, &n1, 1, NULL, 0), K_OK);
	ck_assert_int_eq(pmmAllocate(&a2, &n2, 1, NULL, 0), K_OK);
	struct pmm__bank *b = ram_bank();
	char path[PATH_MAX], moved[PATH_MAX + 8];
	snprintf(path, sizeof(path), "%s", b->path);
	snprintf(moved, sizeof(moved), "%s.orig", path);
	/* the copy's slot for "two" holds "one"'s page */
	name_slot_of(b, entry_of(b, "two"))->page = b->table[entry_of(b,
		"one")].page;
	pmm__banks_reset();
	/* the original, reopened in place: the damage is still there */
	b = ram_bank();
	char report[256];
	ck_assert_int_eq(pmm__lock(b), K_OK);
	ck_assert_int_eq(pmm__check(b, report, sizeof(report)), K_ECORRUPT);
	pmm__unlock(b);
	pmm__banks_reset();
	ck_assert_int_eq(rename(path, moved), 0);
	test_copy_file(moved, path);
	ck_assert_int_eq(unlink(moved), 0);
	for (int k = 0; k < 3; k++) {		/* locked, then lock-free */
		ck_assert_int_eq(pmmAllocate(&got, &n2, 0, NULL, 0), K_OK);
		ck_assert_uint_eq(got, a2);
	}
	locked_sound(ram_bank());
	/* recorded: the next process does not rebuild again */
	b = ram_bank();
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(b->hdr->file_ino, (uint64_t)st.st_ino);
	ck_assert_uint_eq(b->hdr->file_dev, (uint64_t)st.st_dev);
}
END_TEST

/* pmm__bank_create never replaces a bank. */
START_TEST(test_create_busy)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/x.pmm", g_dir);
	ck_assert_int_eq(pmm__bank_create(path, "X", 0x10000, 4), K_OK);
	ck_assert_int_eq(pmm__bank_create(path, "X", 0x10000, 4), K_EBUSY);
	ck_assert_int_eq(pmm__bank_create(path, "X", 0, 4), K_EINVAL);
	struct pmm__bank *b;
	ck_assert_int_eq(pmm__bank_open(path, &b), K_OK);
	ck_assert_uint_eq(b->g.npages, 16);
	ck_assert_uint_eq(b->g.max_blocks, 4);
	ck_assert_str_eq(b->hdr->medium, "X");
	ck_assert_int_eq(pmm__check(b, NULL, 0), K_OK);
	pmm__bank_close(b);
}
END_TEST

/* ------------------------------------------------------------------ runner */

/* The suite. */
/* ----------------------------------------------------------- arenas */

/* Arenas tile the entries and the pages; each index has one arena. */
START_TEST(test_arena_geometry)
{
	static const uint64_t sizes[][2] = { { 1, 1 }, { 1, 30 }, { 3, 30 },
		{ 30, 2 }, { 7, 5 }, { 100, 16 }, { 1021, 1000 },
		{ 4096, 48 }, { 4096, 1024 }, { 4095, 1024 }, { 4096, 1023 },
		{ 2048, 700 }, { 3000, 100000 }, { 100000, 1000000 } };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct pmm__geom g;
		uint64_t np = sizes[k][0], mb = sizes[k][1];
		ck_assert_int_eq(pmm__geom_compute(np * page(), mb, page(), &g),
			K_OK);
		uint64_t want = np / PMM__ARENA_PAGES;
		want = want < mb / PMM__ARENA_BLOCKS ? want :
			mb / PMM__ARENA_BLOCKS;
		want = want > PMM__ARENAS ? PMM__ARENAS : want ? want : 1;
		ck_assert_uint_eq(g.narenas, want);
		if (np >= 4096 && mb >= 1024)
			ck_assert_uint_eq(g.narenas, 4);
		ck_assert_uint_eq(pmm__arena_entry_lo(&g, 0), 0);
		ck_assert_uint_eq(pmm__arena_entry_lo(&g, g.narenas), mb);
		ck_assert_uint_eq(pmm__arena_page_lo(&g, g.narenas), np);
		for (uint64_t i = 0; i < mb; i++) {
			unsigned a = pmm__arena_of_entry(&g, i);
			REQUIRE(pmm__arena_entry_lo(&g, a) <= i &&
				i < pmm__arena_entry_lo(&g, a + 1),
				"%llu/%llu: entry %llu in arena %u",
				(unsigned long long)np, (unsigned long long)mb,
				(unsigned long long)i, a);
		}
		for (uint64_t p = 0; p < np; p++) {
			unsigned a = pmm__arena_of_page(&g, p);
			REQUIRE(pmm__arena_page_lo(&g, a) <= p &&
				p < pmm__arena_page_lo(&g, a + 1),
				"page %llu in arena %u", (unsigned long long)p, a);
		}
	}
}
END_TEST

/* Free extents of arena a, counted from its lists. */
static uint64_t
arena_listed(struct pmm__bank *b, unsigned a)
{
	uint64_t n = 0;
	for (unsigned c = 0; c < PMM__NCLASS; c++)
		for (uint32_t v = b->hdr->arena[a].class_head[c]; v != 0;
				v = b->pg[v - 1].fnext) {
			REQUIRE(++n <= b->g.npages, "arena %u list loops", a);
			REQUIRE(pmm__arena_of_page(&b->g, v - 1) == a,
				"page %u on arena %u's list", v - 1, a);
		}
	return n;
}

/* Each arena allocates from its own pages; a block larger than any
 * arena's piece is found across boundaries, and freed back in pieces. */
START_TEST(test_space_arenas)
{
	struct pmm__bank *b = mem_bank_n(100, 16, 4);
	uint32_t p;
	for (unsigned a = 0; a < 4; a++) {
		ck_assert_uint_eq(arena_listed(b, a), 1);
		expect_extent(b, (uint32_t)(25 * a), 25, 1);
	}
	ck_assert_int_eq(pmm__space_alloc(b, 1, 10, &p), K_OK);
	ck_assert_uint_eq(p, 25);
	ck_assert_uint_eq(b->hdr->arena[1].used_pages, 10);
	ck_assert_int_eq(pmm__space_alloc(b, 0, 26, &p), K_ENOMEM);
	ck_assert_int_eq(pmm__space_alloc(b, 1, 16, &p), K_ENOMEM);
	ck_assert_uint_eq(pmm__space_arenas(b, 20, 10), 3u);
	ck_assert_uint_eq(pmm__space_arenas(b, 0, 100), 15u);
	ck_assert_uint_eq(pmm__space_arenas(b, 99, 1), 8u);
	/* 0-24 is too short; 35-99 crosses two boundaries */
	ck_assert_int_eq(pmm__space_alloc_span(b, 60, &p), K_OK);
	ck_assert_uint_eq(p, 35);
	expect_extent(b, 35, 60, 0);
	expect_extent(b, 95, 5, 1);
	ck_assert_uint_eq(b->hdr->arena[1].used_pages, 25);
	ck_assert_uint_eq(b->hdr->arena[2].used_pages, 25);
	ck_assert_uint_eq(b->hdr->arena[3].used_pages, 20);
	ck_assert_int_eq(pmm__space_alloc_span(b, 26, &p), K_ENOMEM);
	ck_assert_int_eq(pmm__space_free(b, 35, 60), K_OK);
	expect_extent(b, 35, 15, 1);	/* 25-34 is still used */
	expect_extent(b, 50, 25, 1);
	expect_extent(b, 75, 25, 1);	/* merged with 95-99 */
	ck_assert_uint_eq(b->hdr->arena[3].used_pages, 0);
	ck_assert_int_eq(pmm__space_free(b, 25, 10), K_OK);
	for (unsigned a = 0; a < 4; a++) {
		expect_extent(b, (uint32_t)(25 * a), 25, 1);
		ck_assert_uint_eq(b->hdr->arena[a].used_pages, 0);
	}
	/* the whole bank, then back */
	ck_assert_int_eq(pmm__space_alloc_span(b, 100, &p), K_OK);
	ck_assert_uint_eq(p, 0);
	expect_extent(b, 0, 100, 0);
	for (unsigned a = 0; a < 4; a++)
		ck_assert_uint_eq(arena_listed(b, a), 0);
	ck_assert_int_eq(pmm__space_free(b, 0, 100), K_OK);
	for (unsigned a = 0; a < 4; a++)
		expect_extent(b, (uint32_t)(25 * a), 25, 1);
	/* an arena's list holding another's extent is damage */
	b->hdr->arena[0].class_head[pmm__class_of(25)] = 26;
	ck_assert_int_eq(pmm__space_alloc(b, 0, 25, &p), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "outside its arena"));
	mem_free(b);
}
END_TEST

/* A free extent that ends where its arena does keeps no tag on its last
 * page: an arena's splits and merges of it never write the record at the
 * arena's end, which the next arena's calls write beside (whatever that
 * record holds, even a tag of another extent, is not read). */
START_TEST(test_space_arena_end)
{
	struct pmm__bank *b = mem_bank_n(4096, 64, 4);
	const uint32_t junk = tag(7, 0);
	for (unsigned a = 0; a < 4; a++)
		b->pg[pmm__arena_page_lo(&b->g, a + 1) - 1].tag = junk;
	uint32_t p[4][8];
	for (int r = 0; r < 3; r++)
		for (unsigned a = 0; a < 4; a++) {
			for (int k = 0; k < 8; k++) {
				ck_assert_int_eq(pmm__space_alloc(b, a,
					1 + (uint32_t)k, &p[a][k]), K_OK);
				ck_assert_uint_eq(pmm__arena_of_page(&b->g,
					p[a][k]), a);
			}
			for (int k = 0; k < 8; k += 2)	/* holes, merged back */
				ck_assert_int_eq(pmm__space_free(b, p[a][k],
					1 + (uint32_t)k), K_OK);
			for (int k = 1; k < 8; k += 2)
				ck_assert_int_eq(pmm__space_free(b, p[a][k],
					1 + (uint32_t)k), K_OK);
			expect_extent(b, (uint32_t)pmm__arena_page_lo(&b->g, a),
				(uint32_t)(pmm__arena_page_lo(&b->g, a + 1) -
					pmm__arena_page_lo(&b->g, a)), 1);
		}
	for (unsigned a = 0; a < 4; a++)
		ck_assert_uint_eq(b->pg[pmm__arena_page_lo(&b->g, a + 1) - 1].tag,
			junk);
	expect_sound(b);
	/* a block on an arena's last page, freed: the extent is whole */
	uint64_t end = pmm__arena_page_lo(&b->g, 1), lo;
	uint32_t q;
	ck_assert_int_eq(pmm__space_alloc(b, 0, (uint32_t)end, &q), K_OK);
	ck_assert_int_eq(pmm__space_free(b, (uint32_t)end - 1, 1), K_OK);
	ck_assert_int_eq(pmm__space_free(b, 0, (uint32_t)end - 1), K_OK);
	expect_extent(b, 0, (uint32_t)end, 1);
	expect_sound(b);
	/* across a boundary: each piece tagged in its own arena */
	lo = pmm__arena_page_lo(&b->g, 2);
	ck_assert_int_eq(pmm__space_alloc_span(b, (uint32_t)(lo + 10), &q),
		K_OK);
	ck_assert_uint_eq(q, 0);
	ck_assert_int_eq(pmm__space_free(b, 0, (uint32_t)(lo + 10)), K_OK);
	for (unsigned a = 0; a < 4; a++)
		expect_extent(b, (uint32_t)pmm__arena_page_lo(&b->g, a),
			(uint32_t)(pmm__arena_page_lo(&b->g, a + 1) -
				pmm__arena_page_lo(&b->g, a)), 1);
	expect_sound(b);
	mem_free(b);
}
END_TEST

/* Each arena's free entries are its own, and go back to it. */
START_TEST(test_entry_arenas)
{
	struct pmm__bank *b = mem_bank_n(64, 16, 4);
	uint32_t idx;
	for (unsigned a = 0; a < 4; a++) {
		for (unsigned k = 0; k < 4; k++) {
			ck_assert_int_eq(pmm__entry_pop(b, a, &idx), K_OK);
			ck_assert_uint_eq(pmm__arena_of_entry(&b->g, idx), a);
		}
		ck_assert_int_eq(pmm__entry_pop(b, a, &idx), K_ETOOMUCH);
	}
	pmm__entry_push(b, 9);
	ck_assert_uint_eq(b->hdr->arena[2].free_head, 10);
	ck_assert_int_eq(pmm__entry_pop(b, 1, &idx), K_ETOOMUCH);
	ck_assert_int_eq(pmm__entry_pop(b, 2, &idx), K_OK);
	ck_assert_uint_eq(idx, 9);
	/* a head or a link into another arena is damage */
	b->hdr->arena[1].free_head = 2;
	ck_assert_int_eq(pmm__entry_pop(b, 1, &idx), K_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "out of its arena"));
	b->hdr->arena[1].free_head = 5;
	b->knext[4] = 13;
	ck_assert_int_eq(pmm__entry_pop(b, 1, &idx), K_ECORRUPT);
	mem_free(b);
}
END_TEST

/* The RAM bank, created with four arenas (16 MiB, 1,024 blocks). */
static struct pmm__bank *
arena_bank(void)
{
	setenv("PMM_TUNABLES", "pmm.maxBlocks=1024;pmm.rambankSize=0x1000000",
		1);
	struct pmm__bank *b = ram_bank();
	ck_assert_uint_eq(b->g.narenas, 4);
	return b;
}

/* A thread whose arena is full takes other arenas' entries and pages,
 * and a block larger than any arena, holding every lock. */
START_TEST(test_arena_overflow)
{
	struct pmm__bank *b = arena_bank();
	ck_assert_uint_eq(b->g.npages * b->g.page_size, 0x1000000);
	VmAddr a, big, whole;
	char nm[16];
	for (int i = 0; i < 1024; i++) {
		snprintf(nm, sizeof(nm), "o%d", i);
		PmmName n = pname("RAM", nm);
		ck_assert_int_eq(pmmAllocate(&a, &n, 1, NULL, 0), K_OK);
	}
	PmmName n9 = pname("RAM", "one-more");
	ck_assert_int_eq(pmmAllocate(&a, &n9, 1, NULL, 0), K_ETOOMUCH);
	for (unsigned ar = 0; ar < 4; ar++)
		ck_assert_uint_eq(b->hdr->arena[ar].used_blocks, 256);
	locked_sound(b);
	for (int i = 0; i < 1024; i++) {
		snprintf(nm, sizeof(nm), "o%d", i);
		PmmName n = pname("RAM", nm);
		ck_assert_int_eq(pmmFree(&n), K_OK);
	}
	/* 2,000 pages: more than an arena's 1,024 */
	uint64_t ps = b->g.page_size, np = b->g.npages;
	PmmName nb = pname("RAM", "big"), nw = pname("RAM", "whole");
	ck_assert_int_eq(pmmAllocate(&big, &nb, 2000 * ps, "k", 2), K_OK);
	ck_assert_uint_ne(__builtin_popcount(pmm__space_arenas(b,
		(big - (VmAddr)b->data) / ps, 2000)), 1);
	memset((void *)big, 0x5a, 2000 * ps);
	locked_sound(b);
	ck_assert_int_eq(pmmAllocate(&whole, &nw, np * ps, NULL, 0), K_ENOMEM);
	ck_assert_int_eq(pmmFreeAll("k", 2), K_OK);
	ck_assert_int_eq(pmmAllocate(&whole, &nw, np * ps, NULL, 0), K_OK);
	ck_assert_uint_eq(whole, (VmAddr)b->data);
	for (uint64_t i = 0; i < np * ps; i += 512)
		ck_assert_uint_eq(((unsigned char *)whole)[i], 0);
	locked_sound(b);
	ck_assert_int_eq(pmmFree(&nw), K_OK);
	locked_sound(b);
}
END_TEST

/* A process dies holding its arena and a name's bucket: the next call
 * on that name, from another arena, repairs and finds no half-made
 * block; calls on other names go on. */
START_TEST(test_dead_arena_holder)
{
	struct pmm__bank *b = arena_bank();
	VmAddr a, x;
	PmmName n = pname("RAM", "held"), o = pname("RAM", "other");
	ck_assert_int_eq(pmmAllocate(&a, &o, 1, NULL, 0), K_OK);
	char nm[64] = "held";
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct pmm__locks lk;
		unsigned ar;
		if (pmm__lock_any_arena(b, &lk, &ar) != K_OK ||
				pmm__bucket_take(b, &lk, pmm__name_home(b,
					pmm__name_hash(nm))) !=
				K_OK)
			_exit(1);
		_exit(0);			/* dies holding both */
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(pmmAllocate(&x, &o, 0, NULL, 0), K_OK);
	ck_assert_uint_eq(x, a);
	ck_assert_int_eq(pmmAllocate(&x, &n, 1, NULL, 0), K_OK);
	VmAddr y;
	ck_assert_int_eq(pmmAllocate(&y, &n, 0, NULL, 0), K_OK);
	ck_assert_uint_eq(x, y);
	locked_sound(b);
	for (uint64_t i = 0; i < b->g.name_buckets; i++)
		ck_assert_uint_eq(b->nb[i].meta & PMM__NB_WRITER, 0);
}
END_TEST

/* A free counts its removal in its name's bucket's sequence, which
 * lock-free readers compare, and leaves no writer bit: in a bank of one
 * arena (_i 0), whose calls take no bits and whose free takes the keys'
 * lock after its lookup, and in one of four (_i 1), whose free counts it
 * with the bit's release. */
START_TEST(test_removal_counted)
{
	if (_i == 0)
		setenv("PMM_TUNABLES", "pmm.maxBlocks=64;pmm.rambankSize=0x100000",
			1);
	struct pmm__bank *b = _i == 0 ? ram_bank() : arena_bank();
	ck_assert_uint_eq(b->g.narenas, _i == 0 ? 1 : 4);
	static const char *const names[] = { "plain", "keyed" };
	for (int j = 0; j < 2; j++) {
		PmmName n = pname("RAM", names[j]);
		char nm[64] = { 0 };
		VmAddr a;
		uint32_t idx, page;
		strcpy(nm, names[j]);
		uint64_t h = pmm__name_hash(nm);
		ck_assert_int_eq(pmmAllocate(&a, &n, 1, j ? "k1" : NULL,
			j ? 2 : 0), K_OK);
		ck_assert_int_eq(pmm__name_peek(b, nm, h, &page, &idx), K_OK);
		struct pmm__nbucket *k = &b->nb[name_bucket_of(b, idx)];
		uint32_t m0 = k->meta;
		ck_assert_uint_eq(m0 & PMM__NB_WRITER, 0);
		ck_assert_int_eq(pmmFree(&n), K_OK);
		ck_assert_uint_ne(k->meta & PMM__NB_SEQ, m0 & PMM__NB_SEQ);
		ck_assert_uint_eq(k->meta & PMM__NB_WRITER, 0);
		ck_assert_int_eq(pmm__name_peek(b, nm, h, &page, &idx),
			K_EUNKNOWN);
		ck_assert_int_eq(pmmFree(&n), K_EUNKNOWN);
	}
	ck_assert_int_eq(pmmFreeAll("k1", 2), K_EUNKNOWN);
	locked_sound(b);
}
END_TEST

/* Two processes, in arenas of their own, allocate the same new name at the
 * same moment, round after round: one block is made each time, and both
 * get its address (the name's home bucket's writer bit). */
START_TEST(test_same_name_race)
{
	enum { MAXR = 2000 };
	struct pmm__bank *b = arena_bank();
	int rounds = test_under_valgrind() ? 40 : MAXR;
	struct race {
		int arrive[2 * MAXR];
		VmAddr got[MAXR][2];
		int twice;
	} *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(r, MAP_FAILED);
	fflush(NULL);
	pid_t pid[2];
	for (int w = 0; w < 2; w++) {
		pid[w] = fork();
		ck_assert_int_ge(pid[w], 0);
		if (pid[w] != 0)
			continue;
		for (int k = 0; k < rounds; k++) {
			char nm[16];
			snprintf(nm, sizeof(nm), "race%d", k);
			PmmName n = pname("RAM", nm);
			__atomic_add_fetch(&r->arrive[2 * k], 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&r->arrive[2 * k],
					__ATOMIC_SEQ_CST) < 2)
				;
			if (pmmAllocate(&r->got[k][w], &n, 4096, NULL, 0) != K_OK)
				_exit(10);
			__atomic_add_fetch(&r->arrive[2 * k + 1], 1,
				__ATOMIC_SEQ_CST);
			while (__atomic_load_n(&r->arrive[2 * k + 1],
					__ATOMIC_SEQ_CST) < 2)
				;
			if (w == 1)
				continue;
			int made = 0;
			for (uint64_t i = 0; i < b->g.max_blocks; i++)
				made += b->table[i].state == PMM__USED &&
					strcmp(b->table[i].name, nm) == 0;
			if (made != 1)
				r->twice++;
			/* the other waits for the next round's start */
			if (made >= 1 && pmmFree(&n) != K_OK)
				_exit(11);
			while (made > 1 && pmmFree(&n) == K_OK)
				made--;
		}
		_exit(0);
	}
	for (int w = 0; w < 2; w++) {
		int st;
		ck_assert_int_eq(waitpid(pid[w], &st, 0), pid[w]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			"worker %d: status %#x", w, st);
	}
	ck_assert_msg(r->twice == 0, "a name made twice in %d of %d rounds",
		r->twice, rounds);
	for (int k = 0; k < rounds; k++)
		ck_assert_uint_eq(r->got[k][0], r->got[k][1]);
	munmap(r, sizeof(*r));
	locked_sound(b);
}
END_TEST

/* Two processes allocate and free the same few names at once: a name
 * is never made twice, and the bank stays sound. */
START_TEST(test_two_processes_share_names)
{
	struct pmm__bank *b = arena_bank();
	int rounds = test_under_valgrind() ? 300 : 3000;
	fflush(NULL);
	pid_t pid[2];
	for (int w = 0; w < 2; w++) {
		pid[w] = fork();
		ck_assert_int_ge(pid[w], 0);
		if (pid[w] != 0)
			continue;
		unsigned s = 77u + (unsigned)w;
		for (int r = 0; r < rounds; r++) {
			char nm[16];
			snprintf(nm, sizeof(nm), "s%u", rand_r(&s) % 12);
			PmmName n = pname("RAM", nm);
			VmAddr a;
			int keyed = rand_r(&s) % 3 == 0;
			int rc = pmmAllocate(&a, &n, 1 + rand_r(&s) % 9000,
				keyed ? "kk" : NULL, keyed ? 3 : 0);
			if (rc != K_OK && rc != K_ENOMEM) {
				fprintf(stderr, "worker %d: %s\n", w,
					pmmErrorMsg());
				_exit(10);
			}
			/* a new block is zero but for its makers' marks */
			if (rc == K_OK && *(volatile unsigned char *)a > 2)
				_exit(11);
			if (rc == K_OK)
				*(volatile unsigned char *)a = (unsigned char)(w + 1);
			if (rand_r(&s) % 2) {
				rc = pmmFree(&n);
				if (rc != K_OK && rc != K_EUNKNOWN)
					_exit(12);
			}
		}
		_exit(0);
	}
	for (int w = 0; w < 2; w++) {
		int st;
		ck_assert_int_eq(waitpid(pid[w], &st, 0), pid[w]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			"worker %d: status %#x", w, st);
	}
	locked_sound(b);
}
END_TEST

/* Four arenas, a block across three of them: sound; each arena's own
 * damage is found and named. */
START_TEST(test_check_arenas)
{
	struct pmm__bank *b = mem_bank_n(100, 16, 4);
	put_entry(b, 0, "a", 0, 3, NULL, 0);		/* arena 0 */
	put_entry(b, 5, "span", 20, 40, "k", 2);	/* arenas 0, 1, 2 */
	put_entry(b, 13, "d", 80, 2, NULL, 0);		/* entry and pages: 3 */
	ck_assert_int_eq(pmm__recover(b), K_OK);
	expect_sound(b);
	ck_assert_uint_eq(b->hdr->arena[0].used_blocks, 1);
	ck_assert_uint_eq(b->hdr->arena[1].used_blocks, 1);
	ck_assert_uint_eq(b->hdr->arena[0].used_pages, 3 + 5);
	ck_assert_uint_eq(b->hdr->arena[1].used_pages, 25);
	ck_assert_uint_eq(b->hdr->arena[2].used_pages, 10);
	ck_assert_uint_eq(b->hdr->arena[3].used_pages, 2);
	/* the free pages 60-74 of arena 2 and 75-79 of arena 3 touch, unmerged */
	expect_extent(b, 60, 15, 1);
	expect_extent(b, 75, 5, 1);
	uint32_t idx;
#define ARENA_CASE(stmt, needle) do { \
		stmt; \
		expect_damage(b, needle); \
		ck_assert_int_eq(pmm__recover(b), K_OK); \
		expect_sound(b); \
	} while (0)
	/* a free extent run across a boundary */
	ARENA_CASE((pmm__space_alloc(b, 3, 5, &idx),
		b->pg[60].tag = b->pg[79].tag = (20u << 1) | 1),
		"runs into arena 3");
	/* an arena's entry on another's chain */
	ARENA_CASE(b->hdr->arena[1].free_head = 2,
		"is entry 1, of arena 0");
	ARENA_CASE(b->hdr->arena[2].used_pages++,
		"arena 2: counters disagree");
	ARENA_CASE(b->hdr->arena[3].used_blocks--,
		"arena 3: counters disagree");
	/* one arena's list holding another's page */
	ARENA_CASE((b->hdr->arena[0].class_head[pmm__class_of(15)] = 61,
		b->hdr->arena[0].class_bits[0] |= 1ULL << pmm__class_of(15)),
		"arena 0: free list 14 holds page 60 of arena 2");
	/* an arena the bank does not use, not empty */
	pmm__geom_set_arenas(&b->g, 3);
	ck_assert_int_eq(pmm__recover(b), K_OK);
	expect_sound(b);
	ARENA_CASE(b->hdr->arena[3].free_head = 1, "unused");
#undef ARENA_CASE
	/* a bucket left by a dead writer */
	b->nb[0].meta |= PMM__NB_WRITER;
	expect_damage(b, "writer bit set");
	b->nb[0].meta &= ~PMM__NB_WRITER;
	b->nb[0].meta += 7 * PMM__NB_SEQ_ONE;	/* any count of removals */
	expect_sound(b);
	mem_free(b);
}
END_TEST

static Suite *
core_suite(void)
{
	Suite *s = suite_create("pmm-core");
	TCase *tc = test_case(s, "space", 60);
	tcase_add_test(tc, test_classes);
	tcase_add_test(tc, test_space_split);
	tcase_add_test(tc, test_space_merge);
	tcase_add_test(tc, test_space_best_class);
	tcase_add_test(tc, test_space_first_fit);
	tcase_add_test(tc, test_space_full);
	tcase_add_test(tc, test_space_random);
	tcase_add_test(tc, test_space_damage);
	tcase_add_test(tc, test_arena_geometry);
	tcase_add_test(tc, test_space_arenas);
	tcase_add_test(tc, test_space_arena_end);
	tcase_add_test(tc, test_entry_arenas);

	tc = test_case(s, "index", 60);
	tcase_add_test(tc, test_name_hash);
	tcase_add_test(tc, test_name_hash_damage);
	tcase_add_test(tc, test_key_hash);
	tcase_add_test(tc, test_entry_stack);

	tc = test_case(s, "geometry", 30);
	tcase_add_test(tc, test_geometry);
	tcase_add_test(tc, test_geometry_bad);
	tcase_add_test(tc, test_header_validate);

	tc = test_case(s, "check", 30);
	tcase_add_test(tc, test_check_table);
	tcase_add_test(tc, test_check_index);
	tcase_add_test(tc, test_check_redo);
	tcase_add_test(tc, test_check_edges);
	tcase_add_test(tc, test_check_arenas);

	tc = test_case(s, "config", 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config_parse);
	tcase_add_test(tc, test_config_parse_errors);
	tcase_add_test(tc, test_medium_path);
	tcase_add_test(tc, test_config_load);

	tc = test_case(s, "banks", 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_system_blocks);
	tcase_add_test(tc, test_random_ops);
	tcase_add_test(tc, test_threads_check);
	tcase_add_test(tc, test_dead_owner);
	tcase_add_test(tc, test_reopen_repairs_lost_name);
	tcase_add_test(tc, test_damaged_entry_refused);
	tcase_add_test(tc, test_misdirected_index_rebuilt);
	tcase_add_test(tc, test_copy_rebuilds_index);
	tcase_add_test(tc, test_lockfree_points);
	tcase_add_test(tc, test_medium_path_choice);
	tcase_add_test(tc, test_medium_path_calls);
	tcase_add_test(tc, test_fill_cached);
	tcase_add_test(tc, test_guess_new);
	tcase_add_test(tc, test_guess_new_flushed);
	tcase_add_test(tc, test_medium_path_forced);
	tcase_add_test(tc, test_create_busy);
	tcase_add_test(tc, test_arena_overflow);
	tcase_add_test(tc, test_dead_arena_holder);
	tcase_add_test(tc, test_two_processes_share_names);
	tcase_add_test(tc, test_same_name_race);
	tcase_add_loop_test(tc, test_removal_counted, 0, 2);
	return s;
}

/* Runs the suite in a fresh directory under the test directory. */
int
main(void)
{
	snprintf(g_root, sizeof(g_root), "%s/pmm-test-core-XXXXXX",
		test_dir());
	if (mkdtemp(g_root) == NULL) {
		perror(g_root);
		return EXIT_FAILURE;
	}
	int rc = test_run(core_suite());
	nftw(g_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

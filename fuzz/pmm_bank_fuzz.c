/*
 * pmm_bank_fuzz.c -- libFuzzer target: any file offered as a bank opens
 * as a valid bank or fails with an error, never a wild access.
 *
 * Each input is a bank file image.  It is written to a file in a private
 * directory and opened with pmm__bank_open_checked(); once more with its
 * checksums recomputed when that changes it, so that mutations reach the
 * checks behind the checksums.  An opened bank must pass pmm__check(), and
 * then the index operations libpmm runs on it (lookups, removal and
 * re-insertion, page allocation and free, recovery) must succeed and keep
 * it passing.  A broken promise aborts, which libFuzzer reports as a
 * crash, like any fault the sanitizers catch.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bank_image.h"
#include "pmm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
		unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static int bank_fd = -1;
static char bank_dir[64];
static char bank_path[96];
/* Report a broken promise and stop (libFuzzer saves the input). */
static void
broken(const char *what, int rc, const char *detail)
{
	fprintf(stderr, "pmm_bank_fuzz: %s (rc %d: %s)\n", what, rc,
			detail != NULL ? detail : pmmErrorMsg());
	abort();
}

/* Remove the bank file and its private directory. */
static void
cleanup(void)
{
	unlink(bank_path);
	rmdir(bank_dir);
}

/* One bank file, in a private directory, for the whole run: a real file,
 * as libpmm opens no bank through a link (/proc/self/fd). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(bank_dir, sizeof(bank_dir), "%s/pmm-fuzz-XXXXXX", base);
	if (mkdtemp(bank_dir) == NULL) {
		perror(bank_dir);
		exit(1);
	}
	snprintf(bank_path, sizeof(bank_path), "%s/bank.pmm", bank_dir);
	bank_fd = open(bank_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (bank_fd < 0) {
		perror(bank_path);
		rmdir(bank_dir);
		exit(1);
	}
	atexit(cleanup);
	return 0;
}

/* The whole-bank check must pass on an open bank. */
static void
must_check(struct pmm__bank *b, const char *when)
{
	char report[256];
	int rc = pmm__check(b, report, sizeof(report));
	if (rc != K_OK)
		broken(when, rc, report);
}

/* The first block of the table, or -1 when there is none. */
static int64_t
first_block(struct pmm__bank *b)
{
	for (uint64_t i = 0; i < b->g.max_blocks; i++)
		if (b->table[i].state == PMM__USED)
			return (int64_t)i;
	return -1;
}

/* Lookups by name and key, then the block out of its hashes and back. */
static void
exercise_index(struct pmm__bank *b)
{
	static const char absent[64] = "fuzz: no block has this name";
	uint32_t idx;
	int rc = pmm__name_find(b, absent, &idx);
	/* (an input may well hold a block of that name) */
	if (rc != K_EUNKNOWN && (rc != K_OK ||
				b->table[idx].state != PMM__USED ||
				memcmp(b->table[idx].name, absent, 64) != 0))
		broken("a name lookup found another name", rc, NULL);
	int64_t i = first_block(b);
	if (i < 0)
		return;
	const struct pmm__entry *e = &b->table[i];
	if ((rc = pmm__name_find(b, e->name, &idx)) != K_OK || idx != i)
		broken("a block is not found by its name", rc, NULL);
	uint32_t pg, pidx;
	rc = pmm__name_peek(b, e->name, pmm__name_hash(e->name), &pg, &pidx);
	if ((rc == K_OK && (pg != e->page || pidx != i)) ||
			(rc != K_OK && rc != PMM__AGAIN))
		broken("the lock-free lookup disagrees", rc, NULL);
	if (pmm__name_peek(b, absent, pmm__name_hash(absent), &pg,
				&pidx) == K_OK &&
			memcmp(e->name, absent, 64) != 0 &&
			pmm__name_find(b, absent, &idx) != K_OK)
		broken("the lock-free lookup found an absent name", rc, NULL);
	if (e->keysize > 0 && ((rc = pmm__key_find(b, e->key, e->keysize,
						&idx)) != K_OK ||
				b->table[idx].keysize != e->keysize ||
				memcmp(b->table[idx].key, e->key, 32) != 0))
		broken("a key's list is not found", rc, NULL);
	if ((rc = pmm__name_remove(b, (uint32_t)i)) != K_OK ||
			(rc = pmm__name_insert(b, (uint32_t)i)) != K_OK)
		broken("a name does not leave and re-enter its hash", rc, NULL);
	if (e->keysize > 0 && ((rc = pmm__key_remove(b, (uint32_t)i)) != K_OK ||
				(rc = pmm__key_insert(b, (uint32_t)i)) != K_OK))
		broken("a block does not leave and re-enter its key list", rc,
				NULL);
	must_check(b, "index operations broke the bank");
}

/* Pages taken of arena a (a = narenas: anywhere, as a block larger than
 * an arena is) and given back; each must lie where it was asked for. */
static void
exercise_pages(struct pmm__bank *b, unsigned a)
{
	static const uint32_t sizes[] = { 1, 2, 3, 65, 1 };
	const struct pmm__geom *g = &b->g;
	int span = a == g->narenas;
	uint64_t lo = span ? 0 : pmm__arena_page_lo(g, a),
		hi = span ? g->npages : pmm__arena_page_lo(g, a + 1);
	uint32_t page;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int rc = span ? pmm__space_alloc_span(b, sizes[k], &page) :
			pmm__space_alloc(b, a, sizes[k], &page);
		if (rc == K_ENOMEM)
			continue;
		if (rc != K_OK)
			broken("page allocation failed", rc, NULL);
		if (page < lo || (uint64_t)page + sizes[k] > hi)
			broken(span ? "pages allocated outside the bank" :
					"pages allocated outside their arena",
					(int)page, "");
		if ((rc = pmm__space_free(b, page, sizes[k])) != K_OK)
			broken("allocated pages could not be freed", rc, NULL);
	}
}

/* Entries and pages taken and given back, in each arena and across
 * them, leave the bank as it was. */
static void
exercise_space(struct pmm__bank *b)
{
	const struct pmm__geom *g = &b->g;
	for (unsigned a = 0; a < g->narenas; a++) {
		uint32_t idx;
		int rc = pmm__entry_pop(b, a, &idx);
		if (rc == K_OK) {
			if (idx < pmm__arena_entry_lo(g, a) ||
					idx >= pmm__arena_entry_lo(g, a + 1))
				broken("an entry popped from another arena",
						(int)idx, "");
			pmm__entry_push(b, idx);
		} else if (rc != K_ETOOMUCH) {
			broken("the free-entry chain failed", rc, NULL);
		}
	}
	for (unsigned a = 0; a <= g->narenas; a++)
		exercise_pages(b, a);
	must_check(b, "page allocation and free broke the bank");
}

/* What libpmm does to an open bank, holding every lock (wide). */
static void
exercise(struct pmm__bank *b)
{
	int rc = pmm__lock(b);
	if (rc != K_OK)
		broken("an open bank cannot be locked", rc, NULL);
	must_check(b, "an open bank fails its check");
	exercise_index(b);
	exercise_space(b);
	if ((rc = pmm__recover(b)) != K_OK)
		broken("an open bank cannot be recovered", rc, NULL);
	must_check(b, "recovery broke the bank");
	pmm__unlock(b);
}

/* Open one image as a bank; the outcome must be one of the promised. */
static void
run(const unsigned char *img, size_t size)
{
	struct pmm__bank *b = NULL;
	if (fuzz_image_write(bank_fd, img, size) != 0 ||
			fuzz_image_here(bank_fd) != 0) {
		perror("pmm_bank_fuzz: write");
		exit(1);
	}
	int rc = pmm__bank_open_checked(bank_path, &b);
	switch (rc) {
	case K_OK:
		exercise(b);
		pmm__bank_close(b);
		return;
	case K_EFOREIGN:
	case K_ETRUNC:
	case K_EVERSION:
	case K_ECORRUPT:
	case K_EMAPPED:
		if (pmmErrorMsg()[0] == 0)
			broken("an error without a message", rc, "");
		return;
	default:
		broken("an error a bank file cannot cause", rc, NULL);
	}
}

/* A small pseudo-random generator for the mutator's choices. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Where the bytes libpmm reads lie in an image, in file order: the header
 * (its static part and redo record), the arenas (the locks' dirty marks,
 * free-entry chains, counters, class lists), the table, the index's
 * header (generation, nkeys) and its arrays; the data pages after them are
 * never read.  Returns the number of regions found (0 when the header is
 * unusable).
 */
#define NREGIONS 5
static unsigned
regions(const uint8_t *data, size_t size, uint64_t start[NREGIONS],
		uint64_t len[NREGIONS])
{
	struct pmm__hdr h;
	struct pmm__geom g;
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	if (pmm__geom_compute(h.bank_size, h.max_blocks, h.page_size, &g) !=
			K_OK || g.data_off > size)
		return 0;
	start[0] = 0;
	len[0] = offsetof(struct pmm__hdr, keys);
	start[1] = offsetof(struct pmm__hdr, keys);
	len[1] = sizeof(h) - start[1];		/* locks, chains, lists */
	start[2] = g.table_off;
	len[2] = g.max_blocks * sizeof(struct pmm__entry);
	start[3] = g.index_off;
	len[3] = g.ix_name;			/* generation, nkeys */
	start[4] = g.index_off + g.ix_name;
	len[4] = g.ix_size - g.ix_name;		/* hashes, links, tags */
	return NREGIONS;
}

/*
 * Mutate where it matters: most mutations hit a window of the header,
 * arenas, table or index, the rest the whole input (which changes its
 * size).  On banks of tens of kilobytes, almost all of it data pages,
 * this finds in seconds what whole-input mutation takes hours to.
 */
size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
		unsigned int seed)
{
	uint64_t start[NREGIONS], len[NREGIONS], r = seed | 0x100000000ULL;
	unsigned n = regions(data, size, start, len);
	if (n == 0 || next_rand(&r) % 8 == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	unsigned k = (unsigned)(next_rand(&r) % n);
	uint64_t w = len[k] < 64 ? len[k] : 1 + next_rand(&r) % 64;
	uint64_t off = start[k] + next_rand(&r) % (len[k] - w + 1);
	/* in place, at a fixed size: shrinking leaves the tail as it was */
	LLVMFuzzerMutate(data + off, (size_t)w, (size_t)w);
	return size;
}

/* The input as it is, then with its checksums made to match. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *img = malloc(size > 0 ? size : 1);
	if (img == NULL)
		return 0;
	memcpy(img, data, size);
	fuzz_image_prepare(img, size);
	run(img, size);
	if (fuzz_image_fix_checksums(img, size))
		run(img, size);
	free(img);
	return 0;
}

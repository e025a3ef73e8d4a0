/*
 * pmm_v1bank -- a bank of layout 1 (libpmm 1.0, commit 97ac2c9) or, with
 * -2, of layout 2 (libpmm 1.1, commit 555ea67), or with -3 of layout 3
 * (libpmm 1.2, commit a761314), written byte for byte from that layout's
 * definition, for tests/pmmctl-upgrade.sh; and the check, through
 * pmmAllocate, that its blocks survived.
 *
 *   pmm_v1bank [-2|-3] make PATH SIZE MAXBLOCKS MODE
 *   pmm_v1bank [-2|-3] check SIZE MAXBLOCKS MODE  (the RAM bank of PMM_DIR)
 *   pmm_v1bank [-2|-3] list SIZE MAXBLOCKS MODE   (NAME 0xADDR PAGES KEY)
 *
 * MODE: plain; log (a committed, unfinished pmmFreeAll of key "k2");
 * badentry (an entry's checksum fails); badlog (a damaged redo record);
 * overlap (two blocks share a page, their checksums right); dupname (two
 * blocks have one name, their checksums right); with -3, torn3 and torn4
 * (pmmctl upgrade's commit torn by a power failure: the layout-4 checksum
 * with layout 3's layout word, or layout 4's word with the layout-3
 * checksum; layout 4's header size is the library's).
 * The three layouts share their header (struct old_hdr here: layout 4's
 * grew after the redo record) and, with layout 4, their redo record
 * (libpmm/layout.h).  Layouts 1 and 2's 128-byte entries and
 * checksum, layout 3's 112-byte ones and checksum, and every layout's
 * offsets are defined here too, from the old code, not taken from the
 * library: layout 4 uses layout 3's entries and geometry, and a change
 * there must not change what this writes.  The derived index is left
 * zero and the boot id foreign, so any of the layouts would have rebuilt
 * the index at the first open.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pmm.h"

#define BASE 0x1f0000000000ULL

/* the entry of layouts 1 and 2 */
struct old_entry {
	uint64_t state;
	uint32_t page, npages, keysize, pad;
	uint64_t checksum;
	char name[64];
	uint8_t key[32];
};
#define OLD_USED 0x444553554d4d5055ULL

/* the entry of layout 3: the name's NUL implied when it fills 63 bytes */
struct v3_entry {
	uint32_t state, checksum, page, npages;
	char name[63];
	uint8_t keysize;
	uint8_t key[32];
};
#define V3_USED 0x44455355u
_Static_assert(sizeof(struct v3_entry) == 112, "layout 3's entry");

/* the header of layouts 1 to 3 (layout 1 had no file identity: its
 * bytes were the boot id line's padding) */
struct old_hdr {
	char magic[8];
	uint32_t layout;
	uint32_t hdr_size;
	uint64_t file_size, page_size, base, bank_size, max_blocks;
	uint64_t table_off, index_off, data_off, npages;
	uint64_t name_buckets, key_slots, created;
	char medium[16];
	uint64_t checksum;
	char boot_id[40] __attribute__((aligned(64)));
	uint64_t file_dev, file_ino;
	struct pmm__log log __attribute__((aligned(64)));
	pthread_mutex_t lock __attribute__((aligned(64)));
};

static unsigned layout = 1;

/* The checksum of layouts 1 and 2's entries. */
static uint64_t
old_checksum(const struct old_entry *e, uint64_t idx)
{
	uint64_t h = pmm__hash_words(&e->page, 2, idx);
	h = pmm__mix(h, e->keysize);
	h = pmm__hash_words(e->name, 8, h);
	return pmm__hash_words(e->key, 4, h);
}

/* The checksum of layout 3's entries: page and npages as one word, the
 * name and the key size as eight. */
static uint32_t
v3_checksum(const struct v3_entry *e, uint64_t idx)
{
	uint64_t h = pmm__hash_words(&e->page, 1, idx);
	h = pmm__hash_words(e->name, 8, h);
	h = pmm__hash_words(e->key, 4, h);
	return (uint32_t)(h ^ (h >> 32));
}

/* The checksum of the header's static part, as all three had it. */
static uint64_t
hdr_checksum(const struct old_hdr *h)
{
	return pmm__hash_words(h, offsetof(struct old_hdr, checksum) / 8,
			0x68647200);
}

struct blk {
	const char *name, *key;
	uint32_t idx, page, npages;
};

/* idx: spread over the table; page 0 and the top pages are taken */
static struct blk blocks[] = {
	{ "alpha", "k1", 0, 0, 1 },
	{ "beta-a-name-longer-than-twelve", "k2", 5, 3, 2 },
	{ "gamma", NULL, 2, 6, 1 },
	{ "delta", "k2", 7, 10, 3 },
	{ "omega", "k1", ~0u, ~0u, 2 },		/* last entry, last pages */
};
#define NBLK (sizeof(blocks) / sizeof(blocks[0]))

static uint64_t ps, bank_size, max_blocks, npages, data_off;
static uint64_t esize, name_buckets, key_slots;

/* Layout 1's geometry: table after the header page, then the index (name
 * and key slots of 4 bytes, three arrays of 4 bytes per entry and three
 * per page), then the data, on 2 MiB from 64 MiB banks up.  Layout 2's
 * name slots are 64-byte buckets, one for two entries, after an index
 * header of 512 bytes.  Layout 3's entries are 112 bytes; its buckets
 * are at most three quarters full (three slots each), its key slots
 * (rounded to 8) two thirds, and it has two arrays of 4 bytes per entry
 * (key links) and 12 bytes per page. */
static void
geometry(void)
{
	ps = (uint64_t)sysconf(_SC_PAGESIZE);
	bank_size = (bank_size + ps - 1) / ps * ps;
	npages = bank_size / ps;
	uint64_t slots = 8;
	while (slots < 2 * max_blocks)
		slots *= 2;
	esize = 128;
	name_buckets = key_slots = slots;	/* layout 1's name_slots */
	uint64_t ix = 448 + 8 * slots + 12 * max_blocks + 12 * npages;
	if (layout == 2) {
		name_buckets = (max_blocks + 1) / 2;
		ix = 512 + 64 * name_buckets + 4 * slots +
			12 * max_blocks + 12 * npages;
	} else if (layout == 3) {
		esize = 112;
		name_buckets = (max_blocks * 4 + 8) / 9;
		key_slots = (max_blocks * 3 / 2 + 1 + 7) / 8 * 8;
		ix = 512 + 64 * name_buckets + 4 * key_slots +
			8 * max_blocks + 12 * npages;
	}
	uint64_t table = (max_blocks * esize + ps - 1) / ps * ps;
	data_off = ps + table + (ix + ps - 1) / ps * ps;
	if (bank_size >= (64u << 20))
		data_off = (data_off + (2u << 20) - 1) / (2u << 20) * (2u << 20);
	blocks[NBLK - 1].idx = (uint32_t)max_blocks - 1;
	blocks[NBLK - 1].page = (uint32_t)npages - 2;
}

static uint8_t
byte_of(unsigned b, uint64_t j)
{
	return (uint8_t)(j * 7 + b * 13 + 1);
}

/* Whether block b is freed by the redo record of MODE. */
static int
freed(const char *mode, unsigned b)
{
	return strcmp(mode, "log") == 0 && blocks[b].key != NULL &&
		strcmp(blocks[b].key, "k2") == 0;
}

static int
die(const char *what)
{
	perror(what);
	return 2;
}

/* Entry b of blocks as layout 3 had it (MODE as make's). */
static void
v3_entry_of(unsigned b, const char *mode, struct v3_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->state = V3_USED;
	e->page = blocks[b].page;
	if (strcmp(mode, "overlap") == 0 && b == 3)
		e->page = 4;
	e->npages = blocks[b].npages;
	/* zero-padded; no NUL when it fills the 63 bytes */
	const char *name = strcmp(mode, "dupname") == 0 && b == 3 ?
		blocks[0].name : blocks[b].name;
	size_t n = strlen(name);
	memcpy(e->name, name, n < sizeof(e->name) ? n : sizeof(e->name));
	if (blocks[b].key != NULL) {
		e->keysize = (uint8_t)(strlen(blocks[b].key) + 1);
		memcpy(e->key, blocks[b].key, e->keysize);
	}
	e->checksum = v3_checksum(e, blocks[b].idx);
	if (strcmp(mode, "badentry") == 0 && b == 2)
		e->name[1] ^= 1;
}

/* Entry b of blocks as layouts 1 and 2 had it (MODE as make's). */
static void
old_entry_of(unsigned b, const char *mode, struct old_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->state = OLD_USED;
	e->page = blocks[b].page;
	if (strcmp(mode, "overlap") == 0 && b == 3)
		e->page = 4;
	e->npages = blocks[b].npages;
	strcpy(e->name, strcmp(mode, "dupname") == 0 && b == 3 ?
			blocks[0].name : blocks[b].name);
	if (blocks[b].key != NULL) {
		e->keysize = (uint32_t)strlen(blocks[b].key) + 1;
		memcpy(e->key, blocks[b].key, e->keysize);
	}
	e->checksum = old_checksum(e, blocks[b].idx);
	if (strcmp(mode, "badentry") == 0 && b == 2)
		e->name[1] ^= 1;
}

/* Write the bank file of the layout. */
static int
make(const char *path, const char *mode)
{
	uint64_t file_size = data_off + bank_size;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)file_size) != 0)
		return die(path);
	struct old_hdr h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, "CHPMMBNK", 8);
	h.layout = layout;
	h.hdr_size = sizeof(h);
	h.file_size = file_size;
	h.page_size = ps;
	h.base = BASE;
	h.bank_size = bank_size;
	h.max_blocks = max_blocks;
	h.table_off = ps;
	h.index_off = ps + (max_blocks * esize + ps - 1) / ps * ps;
	h.data_off = data_off;
	h.npages = npages;
	h.name_buckets = name_buckets;
	h.key_slots = key_slots;
	h.created = 1700000000;
	strcpy(h.medium, "RAM");
	h.checksum = hdr_checksum(&h);
	if (layout == 3 && (strcmp(mode, "torn3") == 0 ||
				strcmp(mode, "torn4") == 0)) {
		struct old_hdr c = h;
		c.layout = 4;
		c.hdr_size = sizeof(struct pmm__hdr);
		if (strcmp(mode, "torn3") == 0)
			h.checksum = hdr_checksum(&c);
		else
			h = c;
	}
	strcpy(h.boot_id, "old layout fixture");
	if (strcmp(mode, "log") == 0 || strcmp(mode, "badlog") == 0) {
		h.log.valid = PMM__LOG_FREEALL;
		h.log.keysize = 3;
		memcpy(h.log.key, "k2", 3);
		h.log.seq = 1;
		h.log.checksum = pmm__log_checksum(&h.log);
		if (strcmp(mode, "badlog") == 0)
			h.log.seq = 2;
	}
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return die(path);
	for (unsigned b = 0; b < NBLK; b++) {
		struct old_entry e;
		struct v3_entry e3;
		const void *ep = &e;
		if (layout == 3) {
			v3_entry_of(b, mode, &e3);
			ep = &e3;
		} else {
			old_entry_of(b, mode, &e);
		}
		off_t at = (off_t)(ps + blocks[b].idx * esize);
		if (pwrite(fd, ep, esize, at) != (ssize_t)esize)
			return die(path);
		size_t len = (size_t)(blocks[b].npages * ps);
		uint8_t *buf = malloc(len);
		if (buf == NULL)
			return die("malloc");
		for (size_t j = 0; j < len; j++)
			buf[j] = byte_of(b, j);
		at = (off_t)(data_off + blocks[b].page * ps);
		ssize_t n = pwrite(fd, buf, len, at);
		free(buf);
		if (n != (ssize_t)len)
			return die(path);
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		return die(path);
	return 0;
}

/* Retrieve every block through the library: same address, same bytes;
 * the ones a redo record freed are gone. */
static int
check(const char *mode)
{
	int bad = 0;
	for (unsigned b = 0; b < NBLK; b++) {
		PmmName nm;
		VmAddr a = 0;
		memset(&nm, 0, sizeof(nm));
		strcpy(nm.medium, "RAM");
		strcpy(nm.name, blocks[b].name);
		const char *k = blocks[b].key;
		size_t size = blocks[b].npages * ps;
		int rc = freed(mode, b) ?
			pmmAllocate(&a, &nm, 0, NULL, 0) :
			pmmAllocate(&a, &nm, size, k,
					k != NULL ? strlen(k) + 1 : 0);
		if (freed(mode, b)) {
			if (rc != K_ESIZE) {
				printf("%s: freed by the redo record, yet %d\n",
						nm.name, rc);
				bad = 1;
			}
			continue;
		}
		uint64_t want = BASE + data_off + blocks[b].page * ps;
		if (rc != K_OK || (uint64_t)a != want) {
			printf("%s: rc %d at 0x%llx, want 0x%llx (%s)\n", nm.name,
					rc, (unsigned long long)a,
					(unsigned long long)want, pmmErrorMsg());
			bad = 1;
			continue;
		}
		const uint8_t *p = (const uint8_t *)a;
		for (size_t j = 0; j < size; j++)
			if (p[j] != byte_of(b, j)) {
				printf("%s: byte %zu differs\n", nm.name, j);
				bad = 1;
				break;
			}
	}
	return bad;
}

/* The blocks as pmmctl list should show them: NAME 0xADDR PAGES KEY. */
static int
list(const char *mode)
{
	for (unsigned b = 0; b < NBLK; b++)
		if (!freed(mode, b))
			printf("%s 0x%llx %u %s\n", blocks[b].name,
					(unsigned long long)(BASE + data_off +
						blocks[b].page * ps),
					blocks[b].npages,
					blocks[b].key ? blocks[b].key : "-");
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc > 1 && (strcmp(argv[1], "-2") == 0 ||
				strcmp(argv[1], "-3") == 0)) {
		layout = (unsigned)(argv[1][1] - '0');
		argc--;
		argv++;
	}
	int make_it = argc == 6 && strcmp(argv[1], "make") == 0;
	if (!make_it && argc != 5) {
		fprintf(stderr, "usage: pmm_v1bank [-2|-3] make PATH SIZE MAXBLOCKS MODE | check|list SIZE MAXBLOCKS MODE\n");
		return 2;
	}
	char **a = argv + (make_it ? 3 : 2);
	bank_size = strtoull(a[0], NULL, 0);
	max_blocks = strtoull(a[1], NULL, 0);
	if (bank_size < 64 * 4096 || max_blocks < 16) {
		fprintf(stderr, "pmm_v1bank: a bank of 64 pages and 16 entries at least\n");
		return 2;
	}
	geometry();
	if (make_it)
		return make(argv[2], a[2]);
	return strcmp(argv[1], "check") == 0 ? check(a[2]) : list(a[2]);
}

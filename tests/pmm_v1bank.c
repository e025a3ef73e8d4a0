/*
 * pmm_v1bank -- a bank of layout 1 (libpmm 1.0, commit 97ac2c9) or, with
 * -2, of layout 2 (libpmm 1.1, commit 555ea67), written byte for byte from
 * that layout's definition, for tests/pmmctl-upgrade.sh; and the check,
 * through pmmAllocate, that its blocks survived.
 *
 *   pmm_v1bank [-2] make PATH SIZE MAXBLOCKS MODE
 *   pmm_v1bank [-2] check SIZE MAXBLOCKS MODE  (the RAM bank of PMM_DIR)
 *   pmm_v1bank [-2] list SIZE MAXBLOCKS MODE   (NAME 0xADDR PAGES KEY)
 *
 * MODE: plain; log (a committed, unfinished pmmFreeAll of key "k2");
 * badentry (an entry's checksum fails); badlog (a damaged redo record);
 * overlap (two blocks share a page, their checksums right).
 * Layouts 1 and 2 share their header and redo record with layout 3
 * (libpmm/layout.h); their 128-byte entries and checksum are defined
 * here, as are their offsets.  The derived index is left zero and the
 * boot id foreign, so either layout would have rebuilt the index at the
 * first open.
 */
#include <fcntl.h>
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

static unsigned layout = 1;

static uint64_t
old_checksum(const struct old_entry *e, uint64_t idx)
{
	uint64_t h = pmm__hash_words(&e->page, 2, idx);
	h = pmm__mix(h, e->keysize);
	h = pmm__hash_words(e->name, 8, h);
	return pmm__hash_words(e->key, 4, h);
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

/* Layout 1's geometry: table after the header page, then the index (name
 * and key slots of 4 bytes, three arrays of 4 bytes per entry and three
 * per page), then the data, on 2 MiB from 64 MiB banks up.  Layout 2's
 * name slots are 64-byte buckets, one for two entries, after an index
 * header of 512 bytes. */
static void
geometry(void)
{
	ps = (uint64_t)sysconf(_SC_PAGESIZE);
	bank_size = (bank_size + ps - 1) / ps * ps;
	npages = bank_size / ps;
	uint64_t slots = 8;
	while (slots < 2 * max_blocks)
		slots *= 2;
	uint64_t table = (max_blocks * 128 + ps - 1) / ps * ps;
	uint64_t ix = 448 + 8 * slots + 12 * max_blocks + 12 * npages;
	if (layout == 2)
		ix = 512 + 64 * ((max_blocks + 1) / 2) + 4 * slots +
			12 * max_blocks + 12 * npages;
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

/* Write the layout-1 bank file. */
static int
make(const char *path, const char *mode)
{
	uint64_t file_size = data_off + bank_size;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)file_size) != 0)
		return die(path);
	struct pmm__hdr h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, PMM__MAGIC, 8);
	h.layout = layout;
	h.hdr_size = sizeof(h);
	h.file_size = file_size;
	h.page_size = ps;
	h.base = BASE;
	h.bank_size = bank_size;
	h.max_blocks = max_blocks;
	h.table_off = ps;
	h.index_off = ps + (max_blocks * 128 + ps - 1) / ps * ps;
	h.data_off = data_off;
	h.npages = npages;
	h.name_buckets = h.key_slots = 8;	/* layout 1's name_slots */
	while (h.key_slots < 2 * max_blocks)
		h.name_buckets = h.key_slots *= 2;
	if (layout == 2)
		h.name_buckets = (max_blocks + 1) / 2;
	h.created = 1700000000;
	strcpy(h.medium, "RAM");
	h.checksum = pmm__hdr_checksum(&h);
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
		memset(&e, 0, sizeof(e));
		e.state = OLD_USED;
		e.page = blocks[b].page;
		if (strcmp(mode, "overlap") == 0 && b == 3)
			e.page = 4;
		e.npages = blocks[b].npages;
		strcpy(e.name, blocks[b].name);
		if (blocks[b].key != NULL) {
			e.keysize = (uint32_t)strlen(blocks[b].key) + 1;
			memcpy(e.key, blocks[b].key, e.keysize);
		}
		e.checksum = old_checksum(&e, blocks[b].idx);
		if (strcmp(mode, "badentry") == 0 && b == 2)
			e.name[1] ^= 1;
		off_t at = (off_t)(ps + blocks[b].idx * sizeof(e));
		if (pwrite(fd, &e, sizeof(e), at) != (ssize_t)sizeof(e))
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
	if (argc > 1 && strcmp(argv[1], "-2") == 0) {
		layout = 2;
		argc--;
		argv++;
	}
	int make_it = argc == 6 && strcmp(argv[1], "make") == 0;
	if (!make_it && argc != 5) {
		fprintf(stderr, "usage: pmm_v1bank [-2] make PATH SIZE MAXBLOCKS MODE | check|list SIZE MAXBLOCKS MODE\n");
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

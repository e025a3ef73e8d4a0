/*
 * layout.h -- the bank file, as it lies on the medium.
 *
 *   page 0          header: static geometry (checksummed), boot id,
 *                   the freeAll redo log, the bank's robust mutex
 *   table_off       maxBlocks entries of 128 bytes: the only truth
 *   index_off       derived index (name buckets, key hash, free lists,
 *                   page boundary tags): rebuilt from the table after any
 *                   crash, so it is never flushed
 *   data_off        npages pages of blocks
 *
 * An entry becomes a block when its state word turns PMM__USED after every
 * other field is persisted, and stops being one when it turns PMM__FREE:
 * one aligned 4-byte store commits an allocation or a free.  pmmFreeAll writes a
 * redo record first, so recovery finishes it.
 *
 * Layout 2 (libpmm 1.1): the name index is a table of 64-byte buckets of
 * three slots, each holding a name's first 12 bytes, its entry and its
 * first page, so that a lookup of a name of at most 12 bytes reads one
 * cache line; retrievals read them without the bank lock, validated by
 * the bucket's sequence and the index's generation (index.c).  Layout 1
 * banks are refused with a message saying how to migrate them.
 *
 * Layout 3 (libpmm 1.2): 112-byte entries (a 4-byte state and checksum,
 * the name's NUL implied when it fills its 63 bytes); the same index, but
 * its name buckets up to three quarters full, its key slots two thirds
 * (not a power of two), and the free entries chained through the key
 * links: 168 bytes of metadata a block at 1,000,000 where layout 2 took
 * 193.
 * Layouts 1 and 2 are refused with a message naming pmmctl upgrade.
 */
#ifndef PMM_LAYOUT_H
#define PMM_LAYOUT_H 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PMM__MAGIC "CHPMMBNK"
#define PMM__LAYOUT 3
#define PMM__LAYOUT_V1 1		/* refused with its own message */
#define PMM__LAYOUT_V2 2		/* refused with its own message */
#define PMM__USED 0x44455355u		/* "USED" */
#define PMM__FREE 0u
#define PMM__LOG_FREEALL 0x4c4c414545524650ULL	/* "PFREEALL" */
#define PMM__NCLASS 96			/* free-extent size classes */
#define PMM__MAX_PAGES (1ULL << 30)	/* tags keep a length in 31 bits */
#define PMM__MAX_BLOCKS (1ULL << 24)
#define PMM__BOOT_ID 40
/* Banks lie in [PMM__ADDR_MIN, PMM__ADDR_END): 32 TiB from 18 TiB, above
 * ASan's shadow, below PIE executables and the mmap area. */
#define PMM__ADDR_MIN 0x120000000000ULL
#define PMM__ADDR_END (PMM__ADDR_MIN + (32ULL << 40))

struct pmm__log {
	uint64_t valid;			/* PMM__LOG_FREEALL or 0 */
	uint32_t keysize;
	uint32_t pad;
	uint8_t key[32];
	uint64_t seq;
	uint64_t checksum;		/* over keysize, key, seq */
};

struct pmm__hdr {
	/* static geometry, written once, covered by checksum */
	char magic[8];
	uint32_t layout;
	uint32_t hdr_size;
	uint64_t file_size;
	uint64_t page_size;
	uint64_t base;
	uint64_t bank_size;		/* pmm.rambankSize, page-rounded */
	uint64_t max_blocks;		/* pmm.maxBlocks */
	uint64_t table_off;
	uint64_t index_off;
	uint64_t data_off;
	uint64_t npages;
	uint64_t name_buckets;		/* ceil(max_blocks * 4 / 9) */
	uint64_t key_slots;		/* 3 max_blocks / 2 + 1, to 8 */
	uint64_t created;		/* seconds since the epoch */
	char medium[16];
	uint64_t checksum;
	/* dynamic part */
	char boot_id[PMM__BOOT_ID] __attribute__((aligned(64)));
	uint64_t file_dev;		/* the file the index was built in */
	uint64_t file_ino;		/* (0 in banks made before: rebuilt) */
	struct pmm__log log __attribute__((aligned(64)));
	pthread_mutex_t lock __attribute__((aligned(64)));
};

/* A name fills at most PMM__NAME_LEN bytes: PmmMemName's 64 less its NUL. */
#define PMM__NAME_LEN 63
struct pmm__entry {
	uint32_t state;			/* PMM__USED or PMM__FREE: the commit */
	uint32_t checksum;		/* over page..key and the entry's index */
	uint32_t page;			/* first data page */
	uint32_t npages;
	char name[PMM__NAME_LEN];	/* zero-padded; no NUL when full */
	uint8_t keysize;
	uint8_t key[32];
};

/* A name slot: the name's first bytes (zero-padded), its entry + 1 (the
 * top bit set when the name is longer than PMM__NS_NAME bytes) and its
 * first page.  Empty when idx1 is 0. */
#define PMM__NS_NAME 12
#define PMM__NS_SLOTS 3
#define PMM__NS_LONG 0x80000000u
struct pmm__nslot {
	char name[PMM__NS_NAME];
	uint32_t idx1;
	uint32_t page;
};

/* A bucket: meta holds a 24-bit sequence (odd while a writer changes the
 * bucket) and, in its top 8 bits, how many names whose home is this
 * bucket lie in a later one (saturating: 255 means "go on"). */
#define PMM__NB_SEQ 0x00ffffffu
#define PMM__NB_OVER_SHIFT 24
struct pmm__nbucket {
	uint32_t meta;
	struct pmm__nslot s[PMM__NS_SLOTS];
};

/* A data page's record in the derived index: its extent's boundary tag
 * (length << 1 | free) on the extent's first and last page, and the free
 * list links (page + 1, 0 = none) on a free extent's first page; one
 * record, so that taking or giving an extent touches one line a page. */
struct pmm__pgrec {
	uint32_t tag;
	uint32_t fnext;
	uint32_t fprev;
};

/* The derived index's fixed part; the name buckets and arrays of
 * uint32_t follow it. */
struct pmm__ixhdr {
	/* odd while the index is rebuilt: lock-free readers take the lock */
	uint64_t gen __attribute__((aligned(64)));
	/* set by the lock holder while it changes the index: a bank opened
	 * alone with it set lost its writer and is rebuilt */
	uint64_t dirty __attribute__((aligned(64)));
	uint64_t free_head;		/* first free entry + 1, 0 = none;
					 * the next is knext[entry] */
	uint64_t used_blocks;
	uint64_t used_pages;
	uint64_t nkeys;
	uint64_t class_bits[2];		/* classes with a free extent */
	uint32_t class_head[PMM__NCLASS];	/* page + 1, 0 = empty */
};

_Static_assert(sizeof(struct pmm__entry) == 112, "entry is 112 bytes");
_Static_assert(offsetof(struct pmm__entry, name) % 8 == 0 &&
		offsetof(struct pmm__entry, key) ==
		offsetof(struct pmm__entry, name) + 64,
		"name and key size are hashed as eight words");
_Static_assert(sizeof(struct pmm__hdr) <= 4096, "header fits a page");
_Static_assert(sizeof(struct pmm__log) == 64, "log is one line");
_Static_assert(offsetof(struct pmm__hdr, log) ==
		offsetof(struct pmm__hdr, boot_id) + 64,
		"the file identity fits in the boot id's line");
_Static_assert(sizeof(struct pmm__nbucket) == 64, "bucket is one line");

#endif /* PMM_LAYOUT_H */

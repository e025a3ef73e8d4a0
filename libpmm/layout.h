/*
 * layout.h -- the bank file, as it lies on the medium.
 *
 *   page 0          header: static geometry (checksummed), boot id,
 *                   the freeAll redo log, then the derived arenas (their
 *                   robust mutexes, free-entry chains and free lists) and
 *                   the keys' mutex
 *   table_off       maxBlocks entries of 112 bytes: the only truth
 *   index_off       derived index (name buckets, key hash, page boundary
 *                   tags): rebuilt from the table after any crash, so,
 *                   like the arenas, it is never flushed
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
 *
 * Layout 4 (libpmm 1.3): layout 3's geometry, byte for byte, but the
 * bank is split into up to PMM__ARENAS arenas, each a range of entries
 * and a range of pages with its own robust lock, free-entry chain, free
 * lists and counters (in the header page, after the static part), so
 * that processes allocating and freeing at once each keep their own
 * arena's lines in their own cache.  Name buckets are shared, each with
 * a writer bit of its own; keys have a lock of their own.  The index is
 * still derived: the table alone is the truth, and a layout-3 bank
 * becomes one by rewriting its header (pmmctl upgrade).
 * Layouts 1, 2 and 3 are refused with a message naming pmmctl upgrade.
 */
#ifndef PMM_LAYOUT_H
#define PMM_LAYOUT_H 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PMM__MAGIC "CHPMMBNK"
#define PMM__LAYOUT 4
#define PMM__LAYOUT_V1 1		/* refused with its own message */
#define PMM__LAYOUT_V2 2		/* refused with its own message */
#define PMM__LAYOUT_V3 3		/* refused with its own message */
#define PMM__ARENAS 4			/* at most; fewer in small banks: */
#define PMM__ARENA_PAGES 1024		/* at least these pages */
#define PMM__ARENA_BLOCKS 256		/* and these entries an arena */
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

/* An arena: entries [lo, hi) and pages [lo, hi) of the bank (computed
 * from the geometry, pmm__arena_*), their derived free lists, and the
 * robust lock that guards them.  Derived like the rest of the index:
 * rebuilt from the table, never flushed. */
struct pmm__arena {
	pthread_mutex_t lock;
	/* set by the lock holder while it changes the index: a bank opened
	 * alone with it set lost its writer and is rebuilt */
	uint32_t dirty;
	uint32_t pad;
	uint64_t free_head;		/* first free entry + 1, 0 = none;
					 * the next is knext[entry] */
	uint64_t used_blocks;		/* blocks whose entry is here */
	uint64_t used_pages;		/* used pages in this arena's range */
	uint64_t class_bits[2];		/* classes with a free extent */
	uint32_t class_head[PMM__NCLASS];	/* page + 1, 0 = empty */
} __attribute__((aligned(64)));

/* The keys' lock: the key slots, the key lists and nkeys. */
struct pmm__keylock {
	pthread_mutex_t lock;
	uint32_t dirty;
	uint32_t pad;
} __attribute__((aligned(64)));

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
	/* derived: lock order is the arenas in ascending order, then the
	 * keys' lock, then name buckets (home first) */
	struct pmm__keylock keys;
	struct pmm__arena arena[PMM__ARENAS];
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

/* A bucket: meta holds its writer bit (bit 0: the bucket is taken by a
 * writer, who alone changes its slots), a 23-bit count of the slots it
 * emptied in bits 1-23 (readers compare it before and after) and, in its
 * top 8 bits, how many names lie past this bucket from a home at or
 * before it (saturating: 255 means "go on"). */
#define PMM__NB_WRITER 0x1u
#define PMM__NB_SEQ 0x00fffffeu
#define PMM__NB_SEQ_ONE 0x2u
#define PMM__NB_OVER_SHIFT 24
struct pmm__nbucket {
	uint32_t meta;
	struct pmm__nslot s[PMM__NS_SLOTS];
};

/* A data page's record in the derived index: its extent's boundary tag
 * (length << 1 | free) on the extent's first and last page (a free
 * extent that ends where its arena does: on its first, the last page's
 * record left as it was, since nothing merges across arenas), and the free
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
	/* odd while the index is rebuilt, or once a lock's holder was found
	 * dead: lock-free readers take a lock, lockers rebuild it first */
	uint64_t gen __attribute__((aligned(64)));
	uint64_t nkeys __attribute__((aligned(64)));	/* under the keys' lock */
};
/* Where the name buckets start in the index (layout 3's header size). */
#define PMM__IXHDR_SIZE 512

_Static_assert(sizeof(struct pmm__entry) == 112, "entry is 112 bytes");
_Static_assert(offsetof(struct pmm__entry, name) % 8 == 0 &&
		offsetof(struct pmm__entry, key) ==
		offsetof(struct pmm__entry, name) + 64,
		"name and key size are hashed as eight words");
_Static_assert(sizeof(struct pmm__hdr) <= 4096, "header fits a page");
_Static_assert(sizeof(struct pmm__ixhdr) <= PMM__IXHDR_SIZE,
		"index header fits layout 3's");
_Static_assert(sizeof(struct pmm__arena) == 512, "an arena is 8 lines");
_Static_assert(sizeof(struct pmm__log) == 64, "log is one line");
_Static_assert(offsetof(struct pmm__hdr, log) ==
		offsetof(struct pmm__hdr, boot_id) + 64,
		"the file identity fits in the boot id's line");
_Static_assert(sizeof(struct pmm__nbucket) == 64, "bucket is one line");

#endif /* PMM_LAYOUT_H */

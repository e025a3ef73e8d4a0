/*
 * pmm.h -- libpmm internals shared between its files.
 */
#ifndef PMM_INTERNAL_H
#define PMM_INTERNAL_H 1

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "pmm/chPmm.h"
#include "layout.h"

#define PMM_EXPORT __attribute__((visibility("default")))

/* ------------------------------------------------------------ errors */
int pmm__fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int pmm__fail_errno(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------- options */
/* libpmm's environment variables, read with secure_getenv (options.c). */
enum pmm__env_var {
	PMM__ENV_CONF, PMM__ENV_TUNABLES, PMM__ENV_DIR, PMM__ENV_HRCTL_GROUP,
	PMM__ENV_HRCTL_SOCK, PMM__ENV_HRCTL_MEMBER, PMM__ENV_PATH,
	PMM__ENV_COUNT
};
const char *pmm__env(enum pmm__env_var v);
const char *pmm__env_name(enum pmm__env_var v);

/* ----------------------------------------------------------- hashing */
/* A word-at-a-time 64-bit hash: cheap enough for every lookup. */
static inline uint64_t
pmm__mix(uint64_t h, uint64_t w)
{
	h ^= w * 0x9e3779b97f4a7c15ULL;
	h = (h << 27) | (h >> 37);
	return h * 0xff51afd7ed558ccdULL + 0x52dce729ULL;
}

static inline uint64_t
pmm__hash_words(const void *p, size_t nwords, uint64_t seed)
{
	uint64_t h = seed, w;
	const unsigned char *c = p;
	for (size_t i = 0; i < nwords; i++) {
		memcpy(&w, c + 8 * i, 8);
		h = pmm__mix(h, w);
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

/* Hash h scaled to [0, n): the home of a name bucket or a key slot. */
static inline uint64_t
pmm__scale(uint64_t h, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)h * n) >> 64);
}

/* The place after i in a table of n, wrapping round. */
static inline uint64_t
pmm__wrap_next(uint64_t i, uint64_t n)
{
	return i + 1 == n ? 0 : i + 1;
}

/* Whether bytes [from, len) of p are zero, a word at a time (p readable
 * up to len rounded up to 8; recover.c). */
int pmm__zero_from(const void *p, size_t from, size_t len);

/* ---------------------------------------------------------- geometry */
struct pmm__geom {
	uint64_t page_size, bank_size, max_blocks, npages;
	uint64_t table_off, index_off, data_off, file_size;
	uint64_t name_buckets, key_slots;
	uint64_t narenas;		/* 1..PMM__ARENAS */
	/* arena a's first entry and first page (a = narenas: the ends),
	 * computed once: a call asks for an arena a dozen times */
	uint64_t arena_entry[PMM__ARENAS + 1], arena_page[PMM__ARENAS + 1];
	/* offsets of the index arrays from index_off */
	uint64_t ix_name, ix_key, ix_knext, ix_kprev;
	uint64_t ix_pg, ix_size;
};

int pmm__geom_compute(uint64_t bank_size, uint64_t max_blocks,
		uint64_t page_size, struct pmm__geom *g);
uint64_t pmm__hdr_checksum(const struct pmm__hdr *h);
int pmm__hdr_validate(const void *img, uint64_t img_size,
		struct pmm__geom *g);
uint32_t pmm__entry_checksum(const struct pmm__entry *e, uint64_t idx);
uint64_t pmm__log_checksum(const struct pmm__log *l);

/* -------------------------------------------------------------- bank */
struct pmm__bank {
	char medium[PMM_MEDIUM_MAX];
	char path[PATH_MAX];
	int fd;
	struct pmm__geom g;		/* validated: the only sizes we trust */
	unsigned char *base;
	struct pmm__hdr *hdr;
	struct pmm__entry *table;
	struct pmm__ixhdr *ix;
	struct pmm__nbucket *nb;
	uint32_t *key_slot, *knext, *kprev;
	struct pmm__pgrec *pg;
	unsigned char *data;
	int page_shift;
	int readonly;			/* a private copy of a read-only file */
	int _Atomic bad_none;		/* its medium has no bad range */
	int cached;			/* its medium keeps what the CPU
					 * stored: see pmm__medium_cached */
};

/* Give g n arenas (1..PMM__ARENAS): a share each of the entries and of
 * the pages (geometry.c; tests give small banks several). */
void pmm__geom_set_arenas(struct pmm__geom *g, uint64_t n);

/* Arena a's first entry and first page (a = narenas: the ends). */
static inline uint64_t
pmm__arena_entry_lo(const struct pmm__geom *g, uint64_t a)
{
	return g->arena_entry[a];
}

static inline uint64_t
pmm__arena_page_lo(const struct pmm__geom *g, uint64_t a)
{
	return g->arena_page[a];
}

/* The arena whose range (starts lo[0..n)) holds v. */
static inline unsigned
pmm__arena_in(const uint64_t *lo, uint64_t n, uint64_t v)
{
	unsigned a = 0;
	while (a + 1 < n && lo[a + 1] <= v)
		a++;
	return a;
}

/* The arena of entry idx, and of page p. */
static inline unsigned
pmm__arena_of_entry(const struct pmm__geom *g, uint64_t idx)
{
	return pmm__arena_in(g->arena_entry, g->narenas, idx);
}

static inline unsigned
pmm__arena_of_page(const struct pmm__geom *g, uint64_t p)
{
	return pmm__arena_in(g->arena_page, g->narenas, p);
}

/* Of the range [p, end): the arena page p lies in (*a) and the end of
 * the range's piece in it; a loop over the pieces walks a range split
 * at the arenas' boundaries. */
static inline uint64_t
pmm__arena_piece(const struct pmm__geom *g, uint64_t p, uint64_t end,
		unsigned *a)
{
	*a = pmm__arena_of_page(g, p);
	uint64_t hi = g->arena_page[*a + 1];
	return end < hi ? end : hi;
}

/* Point the bank's pointers into a mapping of g's geometry. */
void pmm__bank_bind(struct pmm__bank *b, void *base,
		const struct pmm__geom *g);

/* bank.c: map fd at exactly addr, never over anything already there
 * (populate < 0: a private read-only copy); K_OK with *out. */
int pmm__map_fixed(int fd, uint64_t addr, uint64_t size, int populate,
		void **out);

/* The open bank of a medium, opening (or creating) it on first use. */
int pmm__bank_get(const char *medium, struct pmm__bank **bp);

/* The same, but K_EUNKNOWN (never a new file) when it has no bank. */
int pmm__bank_get_existing(const char *medium, struct pmm__bank **bp);

/* Create a bank file at path with these tunables (fails if it exists). */
int pmm__bank_create(const char *path, const char *medium,
		uint64_t bank_size, uint64_t max_blocks);

/* Replace the bank file at path by a new one of geometry g at addr whose
 * table and blocks fill writes (before its index is rebuilt). */
typedef int (*pmm__fill_fn)(struct pmm__bank *b, void *arg);
int pmm__bank_replace(const char *path, const char *medium,
		const struct pmm__geom *g, uint64_t addr, pmm__fill_fn fill,
		void *arg);
/* Migrate a layout-1, -2 or -3 bank file to layout 4, every block at its
 * address (upgrade.c; layout 3 in place): its tunables before and after in
 * *r.  PMM__CURRENT (never returned by the API) when it is layout 4
 * already. */
#define PMM__CURRENT (-1001)
struct pmm__upgrade {
	uint64_t from_mb, to_mb, from_size, to_size, nblocks;
};
int pmm__bank_upgrade(const char *path, struct pmm__upgrade *r);
/* Whether h, which says layout 4, is a layout-3 header whose in-place
 * upgrade's commit was torn (on DAX, 8 bytes at a time): its layout word
 * written, its checksum still layout 3's. */
int pmm__upgrade_torn(const struct pmm__hdr *h);

/* Open and map an existing bank file (not registered): nothing
 * proportional to the bank unless its last writer died mid-change. */
int pmm__bank_open(const char *path, struct pmm__bank **bp);
/* The same after a check of the whole bank (index rebuilt if damaged). */
int pmm__bank_open_checked(const char *path, struct pmm__bank **bp);
void pmm__bank_close(struct pmm__bank *b);
/* The same read-only (a private mapping) when the file is not writable. */
int pmm__bank_open_ro(const char *path, struct pmm__bank **bp);
/* Give an unused bank a free address (pmmctl move). */
int pmm__bank_move(const char *path, uint64_t *from, uint64_t *to);

/* This boot's id, and the (private, when default) directory of a bank. */
void pmm__boot_id(char out[PMM__BOOT_ID]);
/* Record in h the file st describes: the file its index was built in. */
void pmm__hdr_set_file(struct pmm__hdr *h, const struct stat *st);
int pmm__ensure_dir(const char *path, int is_default);

/* Forget every bank this process opened (tests; after fork). */
void pmm__banks_reset(void);

/* ------------------------------------------------------------- trust */
/* Who may own bank directories and files (trust.c; libpmm(7) Security). */
int pmm__default_dir(char *buf, size_t len);
int pmm__is_default_dir(const char *dir);
int pmm__trust_dir(int dfd, const char *dir, int is_default);
int pmm__trust_file(int fd, const char *path, struct stat *st);
int pmm__split_path(const char *path, char dir[PATH_MAX],
		char base[NAME_MAX + 1]);
/* Open path's directory (checked): *dfd, and the file's name in base. */
int pmm__open_bank_dir(const char *path, int *dfd, char base[NAME_MAX + 1]);
/* Open a bank file in dfd without following a link, checked. */
int pmm__open_bank_file(int dfd, const char *base, const char *path,
		int flags, int *fd, struct stat *st);

/* ------------------------------------------------------- address map */
/* Per-user map of bank address ranges (addrmap.c). */
int pmm__addr_reserve(int fd, const char *path, uint64_t size,
		uint64_t *addr);
int pmm__addr_register(int fd, const char *path, uint64_t addr,
		uint64_t size);
void pmm__addr_collision(int fd, uint64_t addr, uint64_t size, char *out,
		size_t len);
int pmm__addr_move(int fd, const char *path, struct pmm__hdr *h);

/* ------------------------------------------------------------ locking */
/* A spinning waiter's pause. */
static inline void
pmm__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* Wide: every arena's lock and the keys' (rebuilding the index first
 * when it is untrusted); what pmmctl, pmmFreeAll and repairs hold. */
int pmm__lock(struct pmm__bank *b);
void pmm__unlock(struct pmm__bank *b);
void pmm__lock_init(struct pmm__bank *b);
/* Whether a lock's holder left its mark (died mid-change). */
int pmm__lock_dirty(const struct pmm__bank *b);

/* A narrow call's locks (lock.c): a NULL struct pmm__locks * stands for
 * wide.  PMM__WIDE (never returned to callers): everything was released;
 * do it again wide. */
#define PMM__WIDE (-1002)
#define PMM__MAX_BUCKETS 2
struct pmm__locks {
	unsigned arenas;		/* bit a: arena a's lock */
	int keys;			/* the keys' lock */
	int nbkt;
	uint64_t bkt[PMM__MAX_BUCKETS];	/* name buckets' writer bits */
	unsigned removed;		/* bit j: bkt[j] had a slot emptied */
};
/* Take arena a's lock: blocking, or (try) only when free now (else
 * PMM__AGAIN).  Every call's first lock is taken here. */
int pmm__arena_take(struct pmm__bank *b, unsigned a, int try);
/* This thread's arena of choice in b; and keep a from now on (it had
 * room when ours had none). */
unsigned pmm__arena_pick(const struct pmm__bank *b);
void pmm__arena_keep(unsigned a);
/* One arena's lock: this thread's, or another free one (then kept). */
int pmm__lock_any_arena(struct pmm__bank *b, struct pmm__locks *l,
		unsigned *a);
/* The arenas of mask, in order. */
int pmm__lock_arenas(struct pmm__bank *b, struct pmm__locks *l,
		unsigned mask);
/* The keys' lock, after l's arenas. */
int pmm__lock_keys(struct pmm__bank *b, struct pmm__locks *l);
/* Release all of l (buckets, keys, arenas). */
void pmm__unlock_narrow(struct pmm__bank *b, struct pmm__locks *l);
/* Name bucket i's writer bit, held until l is released (wide, l NULL:
 * nothing to take, a stale bit is cleared; a bank of one arena: its lock
 * is enough, nothing to take); PMM__WIDE when it stays
 * taken (l still held: the caller releases it, after marking the index
 * untrusted when it has committed a change). */
int pmm__bucket_take(struct pmm__bank *b, struct pmm__locks *l,
		uint64_t i);
/* Whether l may write name bucket i (it holds every lock, the bank's
 * one arena, or i's writer bit). */
int pmm__bucket_held(const struct pmm__bank *b, const struct pmm__locks *l,
		uint64_t i);
/* Holding bucket i (as pmm__bucket_held): one of its slots was emptied;
 * its sequence counts it now, or with the writer bit's release (a call
 * never fills a slot of a bucket it removed from before then). */
void pmm__bucket_removed(struct pmm__bank *b, struct pmm__locks *l,
		uint64_t i);

/* ------------------------------------------------------- persistence */
struct pmm__persist_ops {
	void (*flush)(const void *addr, size_t len);
	void (*drain)(void);
	void (*memset_nodrain)(void *addr, int c, size_t len);
};
extern struct pmm__persist_ops pmm__pers;

/* Whether fd's file system is tmpfs or ramfs (0 if fstatfs fails). */
int pmm__on_tmpfs(int fd);
/* Whether a bank on such a medium (tmpfs: pmm__on_tmpfs's answer) takes
 * the path that flushes nothing: tmpfs keeps every store a killed process
 * made and loses everything at a power failure, so flushing the CPU's
 * caches to it buys nothing; PMEM_IS_PMEM_FORCE=1 and a run under
 * pmem-crashtest (which model a power failure) answer 0. */
int pmm__medium_cached(int tmpfs);

/* Write back a range of b (on a cached medium, only keep the compiler
 * from moving stores across the call: the order of stores is all a
 * process crash can observe). */
static inline void
pmm__flush(const struct pmm__bank *b, const void *a, size_t n)
{
	if (b->cached)
		__asm__ __volatile__("" ::: "memory");
	else
		pmm__pers.flush(a, n);
}

/* Wait for b's write-backs to be durable. */
static inline void
pmm__drain(const struct pmm__bank *b)
{
	if (b->cached)
		__asm__ __volatile__("" ::: "memory");
	else
		pmm__pers.drain();
}

/* Make a range of b durable. */
static inline void
pmm__persist(const struct pmm__bank *b, const void *a, size_t n)
{
	pmm__flush(b, a, n);
	pmm__drain(b);
}

/* Beyond this, a cached medium's fill bypasses the caches as well. */
#define PMM__FILL_CACHED_MAX (1u << 20)
/* A cached fill asks for this many bytes' lines ahead of its stores. */
#define PMM__FILL_AHEAD 4096u

/* Ask for the lines of [p, p + n) in exclusive state (hints only). */
static inline void
pmm__want_lines(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i += 64)
		__builtin_prefetch((const char *)p + i, 1);
}
void pmm__fill_streaming(void *a, int c, size_t n);
/* A cached medium's fill of at most PMM__FILL_CACHED_MAX bytes. */
void pmm__fill_cached(void *a, int c, size_t n);

/* Fill a range of b, durable at the next drain (cached: plain stores,
 * which also leave a new block in the cache its owner writes next; a
 * fill larger than the caches streams, fenced before it returns). */
static inline void
pmm__fill_nodrain(const struct pmm__bank *b, void *a, int c, size_t n)
{
	if (!b->cached)
		pmm__pers.memset_nodrain(a, c, n);
	else if (n <= PMM__FILL_CACHED_MAX)
		pmm__fill_cached(a, c, n);
	else
		pmm__fill_streaming(a, c, n);
}

/* ------------------------------------------------------------- index */
/* A lock-free lookup's "ask under the lock" (never returned to callers). */
#define PMM__AGAIN (-1000)
/* The hash of a 64-byte zero-padded name. */
uint64_t pmm__name_hash(const char *name);

/* Whether entry e holds the name nm (64 zero-padded bytes). */
static inline int
pmm__entry_is(const struct pmm__entry *e, const char nm[64])
{
	return memcmp(e->name, nm, PMM__NAME_LEN) == 0;
}

/* Entry e's name as a string (out: PMM_NAME_MAX bytes). */
static inline char *
pmm__entry_name(const struct pmm__entry *e, char out[64])
{
	memcpy(out, e->name, PMM__NAME_LEN);
	out[PMM__NAME_LEN] = 0;
	return out;
}
/* Lookups: K_OK with *idx, K_EUNKNOWN, or K_ECORRUPT; these three hold
 * every lock (pmm__lock). */
int pmm__name_find(struct pmm__bank *b, const char *name, uint32_t *idx);
int pmm__name_insert(struct pmm__bank *b, uint32_t idx);
int pmm__name_remove(struct pmm__bank *b, uint32_t idx);
/* The same holding the name's home bucket (l; NULL: every lock), h the
 * name's hash: may also return PMM__WIDE, l still held. */
int pmm__name_find_l(struct pmm__bank *b, struct pmm__locks *l,
		const char *name, uint64_t h, uint32_t *idx);
int pmm__name_insert_l(struct pmm__bank *b, struct pmm__locks *l,
		uint32_t idx, uint64_t h);
int pmm__name_remove_l(struct pmm__bank *b, struct pmm__locks *l,
		uint32_t idx, uint64_t h);
/* The home bucket of a name whose hash is h. */
static inline uint64_t
pmm__name_home(const struct pmm__bank *b, uint64_t h)
{
	return pmm__scale(h, b->g.name_buckets);
}
/* Without a lock: start loading what freeing entry idx (first page p)
 * will read. */
void pmm__entry_prefetch(const struct pmm__bank *b, uint32_t idx,
		uint32_t p);
/* Without a lock: K_OK, *page and *idx when name is surely a block at
 * this moment; anything else means "ask under the lock". */
int pmm__name_peek(struct pmm__bank *b, const char *name, uint64_t h,
		uint32_t *page, uint32_t *idx);
/* The same, but along the name's whole run of buckets (a free's). */
int pmm__name_locate(struct pmm__bank *b, const char *name, uint64_t h,
		uint32_t *page, uint32_t *idx);
/* Rebuilding: readers stop trusting the index until the end. */
void pmm__ix_begin_rebuild(struct pmm__bank *b);
void pmm__ix_end_rebuild(struct pmm__bank *b);
int pmm__key_find(struct pmm__bank *b, const uint8_t key[32],
		uint32_t keysize, uint32_t *idx);
/* The key-hash slot of key's list (K_OK), or where it would go
 * (K_EUNKNOWN). */
int pmm__key_slot(struct pmm__bank *b, const uint8_t key[32],
		uint32_t keysize, uint64_t *slot);
int pmm__key_insert(struct pmm__bank *b, uint32_t idx);
int pmm__key_remove(struct pmm__bank *b, uint32_t idx);
/* A free entry of arena a (K_ETOOMUCH: a has none), and back to its
 * own arena's chain. */
int pmm__entry_pop(struct pmm__bank *b, unsigned a, uint32_t *idx);
void pmm__entry_push(struct pmm__bank *b, uint32_t idx);

/* ------------------------------------------------------- page space */
unsigned pmm__class_of(uint64_t npages);
/* Take npages contiguous pages of arena a; K_ENOMEM when no extent of
 * a fits. */
int pmm__space_alloc(struct pmm__bank *b, unsigned a, uint32_t npages,
		uint32_t *page);
/* Holding every lock: npages contiguous pages anywhere (K_ENOMEM). */
int pmm__space_alloc_span(struct pmm__bank *b, uint32_t npages,
		uint32_t *page);
/* The arenas a range of pages lies in (bit a). */
unsigned pmm__space_arenas(const struct pmm__bank *b, uint64_t page,
		uint64_t npages);
/* Give pages back, merging with free neighbours (holding their arenas). */
int pmm__space_free(struct pmm__bank *b, uint32_t page, uint32_t npages);
/* Make [page, page+npages) one free extent (rebuild). */
void pmm__space_add_free(struct pmm__bank *b, uint32_t page,
		uint32_t npages);
void pmm__space_mark_used(struct pmm__bank *b, uint32_t page,
		uint32_t npages);

/* ----------------------------------------------------------- recovery */
/* Validate entry idx; *used = 1 if it is a block. */
int pmm__entry_validate(struct pmm__bank *b, uint32_t idx, int *used);
/* Finish a committed freeAll and rebuild the index from the table. */
int pmm__recover(struct pmm__bank *b);
/* Validate the table and the index against each other. */
int pmm__check(struct pmm__bank *b, char *report, size_t len);

/* ----------------------------------------------------------- configuration */
#define PMM__MAX_MEDIA 16
struct pmm__config {
	uint64_t rambank_size, max_blocks;
	uint64_t hr_maxprocesses, hr_maxgroups, hr_interval, hr_maxbadness;
	uint64_t hr_maxbackoff;		/* ms */
	unsigned set;			/* PMM__SET_* bits given explicitly */
	unsigned nmedia;
	char media_name[PMM__MAX_MEDIA][PMM_MEDIUM_MAX];
	char media_path[PMM__MAX_MEDIA][PATH_MAX];
	char source[PATH_MAX];		/* the file read, or "" */
};
#define PMM__SET_RAMBANK 1u
#define PMM__SET_MAXBLOCKS 2u

int pmm__config_load(struct pmm__config *c);
int pmm__config_parse(struct pmm__config *c, const char *text,
		const char *origin);
/* The bank file of a medium under this configuration. */
int pmm__medium_path(const struct pmm__config *c, const char *medium,
		char *path, size_t len, int *is_default_dir);

/* ------------------------------------------------------------ calls */
#define PMM__F_SYSTEM 1u	/* the system's own: "__SYS" keys allowed */
int pmm__allocate(VmAddr *addr, const PmmName *name, size_t size,
		PmmDelKey delKey, size_t delKeySize, unsigned flags);
int pmm__free(const PmmName *name, unsigned flags);
/* The same on one open bank (pmmctl): nm is 64 zero-padded bytes. */
int pmm__free_in(struct pmm__bank *b, const char nm[64], const char *label,
		unsigned flags);
int pmm__free_all(PmmDelKey delKey, size_t delKeySize, unsigned flags);
int pmm__free_all_in(struct pmm__bank *b, PmmDelKey delKey,
		size_t delKeySize, unsigned flags);

/* ------------------------------------------------------------ keys */
#define PMM__SYS_PREFIX "__SYS"
#define PMM__HRG_PREFIX "__SYS.hrgroup."
/* The restart group of this process, or NULL: all the core knows of
 * hot restart (hr/client.c). */
const char *hr__self_group(void);

#endif /* PMM_INTERNAL_H */

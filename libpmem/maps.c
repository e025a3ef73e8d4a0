/*
 * maps.c -- the registry of pmem_map_file's mappings.
 *
 * Slots live in chunks that are never freed, linked by pointers published
 * with release stores, so that the SIGBUS handler can walk them with no
 * lock.  Writers hold a mutex; each slot carries a sequence count that is
 * odd while the slot changes (a seqlock), so a reader in a signal handler
 * retries instead of copying a half-written slot.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "maps.h"

#define CHUNK_SLOTS 64
#define READ_TRIES 64

struct slot {
	unsigned seq;		/* odd while being written */
	int used;
	struct pmem__map m;
};

struct chunk {
	struct slot slots[CHUNK_SLOTS];
	struct chunk *next;
};

static struct chunk first;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Opens a slot for writing (caller holds the mutex). */
static void
write_begin(struct slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Closes a slot after writing (caller holds the mutex). */
static void
write_end(struct slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

/* A free slot, adding a chunk when all are used; NULL (ENOMEM). */
static struct slot *
free_slot(void)
{
	struct chunk *c = &first;
	for (;;) {
		for (int i = 0; i < CHUNK_SLOTS; i++)
			if (!c->slots[i].used)
				return &c->slots[i];
		if (c->next == NULL)
			break;
		c = c->next;
	}
	struct chunk *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	__atomic_store_n(&c->next, n, __ATOMIC_RELEASE);
	return &n->slots[0];
}

/* Fills slot s with m (caller holds the mutex). */
static void
slot_set(struct slot *s, const struct pmem__map *m)
{
	write_begin(s);
	s->m = *m;
	s->used = 1;
	write_end(s);
}

/* See maps.h. */
int
pmem__maps_add(const struct pmem__map *m)
{
	pthread_mutex_lock(&lock);
	struct slot *s = free_slot();
	if (s != NULL)
		slot_set(s, m);
	pthread_mutex_unlock(&lock);
	if (s == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Cuts [lo, hi) out of slot s (caller holds the mutex). */
static void
slot_cut(struct slot *s, uintptr_t lo, uintptr_t hi)
{
	struct pmem__map left = s->m, right = s->m;
	int has_left = s->m.base < lo, has_right = s->m.end > hi;

	left.end = lo;
	right.offset += (off_t)(hi - s->m.base);
	right.base = hi;
	if (!has_left && !has_right) {
		write_begin(s);
		s->used = 0;
		write_end(s);
		return;
	}
	slot_set(s, has_left ? &left : &right);
	if (has_left && has_right) {
		struct slot *n = free_slot();
		if (n != NULL)
			slot_set(n, &right);
	}
}

/* See maps.h. */
void
pmem__maps_remove(uintptr_t addr, size_t len)
{
	uintptr_t hi = addr + len < addr ? UINTPTR_MAX : addr + len;
	pthread_mutex_lock(&lock);
	for (struct chunk *c = &first; c != NULL; c = c->next)
		for (int i = 0; i < CHUNK_SLOTS; i++) {
			struct slot *s = &c->slots[i];
			if (s->used && s->m.base < hi && addr < s->m.end)
				slot_cut(s, addr, hi);
		}
	pthread_mutex_unlock(&lock);
}

/* See maps.h. */
int
pmem__maps_find(uintptr_t addr, size_t len, struct pmem__map *out)
{
	int ret = -1;
	pthread_mutex_lock(&lock);
	for (struct chunk *c = &first; c != NULL && ret; c = c->next)
		for (int i = 0; i < CHUNK_SLOTS; i++) {
			struct slot *s = &c->slots[i];
			if (s->used && s->m.base <= addr &&
			    addr < s->m.end && len <= s->m.end - addr) {
				*out = s->m;
				ret = 0;
				break;
			}
		}
	pthread_mutex_unlock(&lock);
	return ret;
}

/* Copies slot s into *out if it is in use and holds addr: 1 or 0, or -1
 * when it changed while read (retry). */
static int
slot_read(const struct slot *s, uintptr_t addr, struct pmem__map *out)
{
	const volatile struct slot *v = s;
	unsigned s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	if (s1 & 1)
		return -1;
	int hit = v->used && v->m.base <= addr && addr < v->m.end;
	if (hit) {
		const volatile char *src = (const volatile char *)&v->m;
		char *dst = (char *)out;
		for (size_t i = 0; i < sizeof(*out); i++)
			dst[i] = src[i];
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != s1)
		return -1;
	return hit;
}

/* See maps.h. */
int
pmem__maps_find_sigsafe(uintptr_t addr, struct pmem__map *out)
{
	const struct chunk *c = &first;
	while (c != NULL) {
		for (int i = 0; i < CHUNK_SLOTS; i++) {
			int r = -1;
			for (int t = 0; t < READ_TRIES && r < 0; t++)
				r = slot_read(&c->slots[i], addr, out);
			if (r > 0)
				return 0;
		}
		c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE);
	}
	return -1;
}

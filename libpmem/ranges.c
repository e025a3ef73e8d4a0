/*
 * ranges.c -- a sorted array of non-overlapping ranges under a rwlock.
 *
 * Lookups (pmem_is_pmem, flushes in fit mode) far outnumber changes (map,
 * unmap), so readers share the lock and a binary search finds the start.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ranges.h"

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct pmem__range *tab;
static size_t cap;
/* Changed under the write lock; read without it by pmem__ranges_count. */
static size_t count;

/* Index of the first range whose end is above addr. */
static size_t
first_after(uintptr_t addr)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tab[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Makes room for n more entries; 0 or -1 with errno. */
static int
reserve(size_t n)
{
	if (count + n <= cap)
		return 0;
	size_t ncap = cap ? cap * 2 : 16;
	while (ncap < count + n)
		ncap *= 2;
	struct pmem__range *t = realloc(tab, ncap * sizeof(*t));
	if (t == NULL)
		return -1;
	tab = t;
	cap = ncap;
	return 0;
}

/* Inserts at index i, shifting the rest up (room must exist). */
static void
insert_at(size_t i, const struct pmem__range *r)
{
	memmove(&tab[i + 1], &tab[i], (count - i) * sizeof(*tab));
	tab[i] = *r;
	__atomic_store_n(&count, count + 1, __ATOMIC_RELAXED);
}

/* Removes index i (closing its fit file if no other piece shares it). */
static void
erase_at(size_t i)
{
	int fd = tab[i].fd;
	memmove(&tab[i], &tab[i + 1], (count - i - 1) * sizeof(*tab));
	__atomic_store_n(&count, count - 1, __ATOMIC_RELAXED);
	if (fd < 0)
		return;
	for (size_t j = 0; j < count; j++)
		if (tab[j].fd == fd)
			return;
	close(fd);
}

static int remove_locked(uintptr_t addr, size_t len);

/* See ranges.h.  An overlapping older record is replaced. */
int
pmem__ranges_add(const struct pmem__range *r)
{
	pthread_rwlock_wrlock(&lock);
	int ret = remove_locked(r->base, r->end - r->base);
	if (ret == 0)
		ret = reserve(1);
	if (ret == 0)
		insert_at(first_after(r->base), r);
	pthread_rwlock_unlock(&lock);
	return ret;
}

/* Forgets [addr, addr + len) with the write lock held. */
static int
remove_locked(uintptr_t addr, size_t len)
{
	uintptr_t end = addr + len;
	int ret = 0;

	size_t i = first_after(addr);
	while (i < count && tab[i].base < end) {
		struct pmem__range *r = &tab[i];
		if (r->base < addr && r->end > end) {
			/* split: keep both outer pieces */
			if (reserve(1) != 0) {
				ret = -1;
				break;
			}
			r = &tab[i];
			struct pmem__range hi = *r;
			hi.offset += (off_t)(end - r->base);
			hi.base = end;
			r->end = addr;
			insert_at(i + 1, &hi);
			break;
		} else if (r->base < addr) {
			r->end = addr;
			i++;
		} else if (r->end > end) {
			r->offset += (off_t)(end - r->base);
			r->base = end;
			break;
		} else {
			erase_at(i);
		}
	}
	return ret;
}

/* See ranges.h. */
int
pmem__ranges_remove(uintptr_t addr, size_t len)
{
	pthread_rwlock_wrlock(&lock);
	int ret = remove_locked(addr, len);
	pthread_rwlock_unlock(&lock);
	return ret;
}

/*
 * See ranges.h.  The lock is held across munmap so that no other thread
 * can map and record the same addresses in between.
 */
int
pmem__ranges_munmap(void *addr, size_t len)
{
	pthread_rwlock_wrlock(&lock);
	int ret = munmap(addr, len);
	if (ret == 0)
		ret = remove_locked((uintptr_t)addr, len);
	pthread_rwlock_unlock(&lock);
	return ret;
}

/* See ranges.h. */
int
pmem__ranges_walk(uintptr_t addr, size_t len, pmem__range_fn fn, void *arg)
{
	uintptr_t end = addr + len;
	int ret = 0;

	pthread_rwlock_rdlock(&lock);
	size_t i = first_after(addr);
	while (addr < end && ret == 0) {
		if (i >= count || tab[i].base >= end) {
			ret = fn(NULL, addr, end - addr, arg);
			break;
		}
		const struct pmem__range *r = &tab[i];
		if (r->base > addr) {
			ret = fn(NULL, addr, r->base - addr, arg);
			addr = r->base;
			continue;
		}
		uintptr_t stop = r->end < end ? r->end : end;
		ret = fn(r, addr, stop - addr, arg);
		addr = stop;
		i++;
	}
	pthread_rwlock_unlock(&lock);
	return ret;
}

/* See ranges.h. */
size_t
pmem__ranges_count(void)
{
	return __atomic_load_n(&count, __ATOMIC_RELAXED);
}

/* See ranges.h. */
void
pmem__ranges_fini(void)
{
	pthread_rwlock_wrlock(&lock);
	while (count > 0)
		erase_at(count - 1);
	free(tab);
	tab = NULL;
	cap = 0;
	pthread_rwlock_unlock(&lock);
}

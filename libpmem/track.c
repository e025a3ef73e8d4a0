/*
 * track.c -- the tracking dispatch table of pmem-crashtest(1).
 *
 * Chosen at load only when PMEM_CRASHTEST names a directory, so the
 * normal table is untouched otherwise.  Each routine does what the
 * original does and also keeps, per cache line of every shared file
 * mapping it flushes, the content at its last flush (pending) and the
 * content a fence has since ordered (durable).  Every fence, msync and
 * the process's exit is a persist point: its pending lines (and, with
 * PMEM_CRASHTEST_EVICT=1, its dirty lines) go to the trace, then the
 * pending lines become durable.  The model is that of a platform without
 * eADR whose flushes are weakly ordered (clwb, clflushopt), whatever this
 * CPU has: what a program gets right there it gets right everywhere.
 */
#include <pthread.h>
#include <sys/uio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libpmem.h"
#include "ops.h"
#include "track.h"

int pmem__tracking;

static struct pmem__ops real;	/* the table tracking calls through */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pmem__track_maps maps;
static int maps_fresh;		/* maps read since the last point */
static int evict;		/* PMEM_CRASHTEST_EVICT=1: trace dirty lines */
static uint64_t seq;		/* persist points so far */
static uint64_t stop_at;	/* PMEM_CRASHTEST_STOP=k, or 0 */
static pid_t owner;

/* Lines flushed since the last point, with a hash index by (file, off). */
static struct pmem__trace_line *pend;
static size_t npend, cappend;
static uint32_t *pidx;		/* slot: pend index + 1, 0 when empty */
static size_t capidx;		/* a power of two, >= 2 * cappend */

/* The index slot of (file, off): its entry, or the empty slot for it. */
static size_t
idx_slot(uint32_t file, uint64_t off)
{
	uint64_t h = (off / PMEM_CACHELINE) * 0x9e3779b97f4a7c15ULL ^ file;
	size_t i = (size_t)(h ^ (h >> 29)) & (capidx - 1);
	while (pidx[i] != 0) {
		const struct pmem__trace_line *l = &pend[pidx[i] - 1];
		if (l->file == file && l->off == off)
			break;
		i = (i + 1) & (capidx - 1);
	}
	return i;
}

/* Indexes pending line i; its slot is kept in its pad word. */
static void
index_put(size_t i)
{
	size_t slot = idx_slot(pend[i].file, pend[i].off);
	pidx[slot] = (uint32_t)i + 1;
	pend[i].pad = (uint32_t)slot;
}

/* Doubles the pending array and its index; 0 or -1. */
static int
pend_grow(void)
{
	size_t cap = cappend ? 2 * cappend : 256;
	void *p = realloc(pend, cap * sizeof(*pend));
	if (p == NULL)
		return -1;
	pend = p;
	uint32_t *ni = calloc(2 * cap, sizeof(*ni));
	if (ni == NULL)
		return -1;
	free(pidx);
	pidx = ni;
	capidx = 2 * cap;
	cappend = cap;
	for (size_t i = 0; i < npend; i++)
		index_put(i);
	return 0;
}

/* A new file: its base content and its FILE record go to the trace (or,
 * renamed, its new path). */
static void
new_file(struct pmem__track_maps *m, int id)
{
	struct pmem__track_file *f = &m->files[id];
	if (f->renamed) {
		uint32_t u = (uint32_t)id;
		f->renamed = 0;
		(void)pmem__trace_rec2(PMEM_TRACE_RENAME, &u, sizeof(u),
			f->path, strlen(f->path) + 1);
		return;
	}
	struct pmem__trace_file r = { (uint32_t)id, 0, f->size };
	if (pmem__trace_base(id, f->durable, f->size) != 0 ||
			pmem__trace_rec2(PMEM_TRACE_FILE, &r, sizeof(r), f->path,
				strlen(f->path) + 1) != 0)
		fprintf(stderr, "libpmem: %s: cannot write the trace of %s\n",
			PMEM_TRACK_ENV, f->path);
}

/* Bytes of the line at file offset off that lie inside file f. */
static size_t
line_len(const struct pmem__track_file *f, uint64_t off)
{
	return f->size - off < PMEM_CACHELINE ? (size_t)(f->size - off) :
		PMEM_CACHELINE;
}

/* Records the current content of one flushed line (lock held). */
static void
track_line(uintptr_t line)
{
	struct pmem__track_map *m = pmem__track_maps_find(&maps, line);
	if (m == NULL && !maps_fresh) {
		(void)pmem__track_maps_read(&maps, new_file);
		maps_fresh = 1;
		m = pmem__track_maps_find(&maps, line);
	}
	/* not a shared file mapping, or past its file: nothing to persist */
	if (m == NULL || pmem__track_maps_adopt(&maps, m, new_file) < 0 ||
			line >= m->end)
		return;
	uint64_t off = m->off + (line - m->start);
	const struct pmem__track_file *f = &maps.files[m->file];
	if (npend == cappend && pend_grow() != 0)
		return;
	size_t i = idx_slot((uint32_t)m->file, off);
	struct pmem__trace_line *l;
	if (pidx[i] != 0) {
		l = &pend[pidx[i] - 1];
	} else {
		l = &pend[npend++];
		pidx[i] = (uint32_t)npend;
		l->file = (uint32_t)m->file;
		l->pad = (uint32_t)i;	/* its index slot */
		l->off = off;
		memset(l->data, 0, sizeof(l->data));
	}
	memcpy(l->data, (const void *)line, line_len(f, off));
}

/* Records every line of a flushed range (lock held). */
static void
track_range(const void *addr, size_t len)
{
	if (!maps_fresh) {
		/* once per point: mappings may have changed since */
		(void)pmem__track_maps_read(&maps, new_file);
		maps_fresh = 1;
	}
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(PMEM_CACHELINE - 1);
	uintptr_t e = (uintptr_t)addr + len;
	for (; p < e; p += PMEM_CACHELINE)
		track_line(p);
}

/* Drops the pending lines whose content is already durable (the index
 * is rebuilt for those that stay). */
static void
drop_unchanged(void)
{
	size_t k = 0;
	for (size_t i = 0; i < npend; i++)
		pidx[pend[i].pad] = 0;
	for (size_t i = 0; i < npend; i++) {
		const struct pmem__trace_line *l = &pend[i];
		const struct pmem__track_file *f = &maps.files[l->file];
		if (memcmp(l->data, f->durable + l->off, line_len(f, l->off)))
			pend[k++] = *l;
	}
	npend = k;
	for (size_t i = 0; i < npend; i++)
		index_put(i);
}

/* Appends to out the lines of mapped files whose memory is neither
 * durable nor pending; returns how many. */
static size_t
collect_dirty(struct pmem__trace_line **out, size_t *cap)
{
	size_t n = 0;
	(void)pmem__track_maps_read(&maps, new_file);
	for (size_t i = 0; i < maps.n; i++) {
		const struct pmem__track_map *m = &maps.v[i];
		if (m->file < 0)
			continue;	/* never flushed: not the program's */
		const struct pmem__track_file *f = &maps.files[m->file];
		for (uintptr_t p = m->start; p < m->end; p += PMEM_CACHELINE) {
			uint64_t off = m->off + (p - m->start);
			size_t len = line_len(f, off);
			size_t s = idx_slot((uint32_t)m->file, off);
			const unsigned char *ref = pidx[s] ?
				pend[pidx[s] - 1].data : f->durable + off;
			if (memcmp((const void *)p, ref, len) == 0)
				continue;
			if (n == *cap) {
				size_t c = *cap ? 2 * *cap : 256;
				void *q = realloc(*out, c * sizeof(**out));
				if (q == NULL)
					return n;
				*out = q;
				*cap = c;
			}
			struct pmem__trace_line *l = &(*out)[n++];
			l->file = (uint32_t)m->file;
			l->pad = 0;
			l->off = off;
			memset(l->data, 0, sizeof(l->data));
			memcpy(l->data, (const void *)p, len);
		}
	}
	return n;
}

/* Empties the pending set and its index. */
static void
pend_clear(void)
{
	for (size_t i = 0; i < npend; i++)
		pidx[pend[i].pad] = 0;
	npend = 0;
}

/* A persist point: traces it, then makes the pending lines durable. */
static void
point(enum pmem__point_kind kind)
{
	static struct pmem__trace_line *dirty;
	static size_t capdirty;

	if (cappend == 0 && pend_grow() != 0)
		return;
	drop_unchanged();
	size_t ndirty = evict ? collect_dirty(&dirty, &capdirty) : 0;
	struct pmem__trace_point p = { ++seq, (uint32_t)kind,
		pmem__trace_stack(), (uint32_t)npend, (uint32_t)ndirty };
	struct iovec iov[3] = {
		{ &p, sizeof(p) },
		{ pend, npend * sizeof(*pend) },
		{ dirty, ndirty * sizeof(*dirty) },
	};
	if (pmem__trace_rec(PMEM_TRACE_POINT, iov, 3) != 0 ||
			pmem__trace_flush() != 0)
		fprintf(stderr, "libpmem: %s: cannot write the trace\n",
			PMEM_TRACK_ENV);

	if (kind != PMEM_POINT_EXIT)
		for (size_t i = 0; i < npend; i++) {
			struct pmem__track_file *f = &maps.files[pend[i].file];
			memcpy(f->durable + pend[i].off, pend[i].data,
				line_len(f, pend[i].off));
		}
	pend_clear();
	maps_fresh = 0;
	if (seq == stop_at) {
		/* --rerun: the power fails here */
		kill(getpid(), SIGKILL);
	}
}

/* Nonzero when this call must be tracked: the tracked process only. */
static inline int
on(void)
{
	return pmem__tracking && getpid() == owner;
}

/* pmem_flush: records the lines, then flushes. */
static void
track_flush(const void *addr, size_t len)
{
	if (on()) {
		pthread_mutex_lock(&lock);
		track_range(addr, len);
		pthread_mutex_unlock(&lock);
	}
	real.deep_flush(addr, len);
}

/* pmem_drain: a persist point, then the fence. */
static void
track_drain(void)
{
	if (on()) {
		pthread_mutex_lock(&lock);
		point(PMEM_POINT_FENCE);
		pthread_mutex_unlock(&lock);
	}
	real.drain();
}

/* pmem_persist: flush and drain. */
static void
track_persist(const void *addr, size_t len)
{
	if (on()) {
		pthread_mutex_lock(&lock);
		track_range(addr, len);
		point(PMEM_POINT_FENCE);
		pthread_mutex_unlock(&lock);
	}
	real.deep_flush(addr, len);
	real.drain();
}

/* The copy kernel: a plain copy, then the tracked flush. */
static void
track_memmove(void *dst, const void *src, size_t len, unsigned flags)
{
	memmove(dst, src, len);
	if (!(flags & PMEM_F_MEM_NOFLUSH))
		track_flush(dst, len);
}

/* The fill kernel: a plain fill, then the tracked flush. */
static void
track_memset(void *dst, int c, size_t len, unsigned flags)
{
	memset(dst, c, len);
	if (!(flags & PMEM_F_MEM_NOFLUSH))
		track_flush(dst, len);
}

/* See track.h. */
void
pmem__track_msync(const void *addr, size_t len)
{
	if (!on())
		return;
	pthread_mutex_lock(&lock);
	track_range(addr, len);
	point(PMEM_POINT_MSYNC);
	pthread_mutex_unlock(&lock);
}

/* See track.h. */
void
pmem__track_mapped(const void *addr, size_t len)
{
	if (!on())
		return;
	pthread_mutex_lock(&lock);
	/* tracked now: the file's content before any store is its base */
	(void)pmem__track_maps_read(&maps, new_file);
	maps_fresh = 1;
	uintptr_t a = (uintptr_t)addr, e = a + len;
	for (size_t i = 0; i < maps.n; i++)
		if (maps.v[i].start < e && maps.v[i].end > a)
			(void)pmem__track_maps_adopt(&maps, &maps.v[i],
				new_file);
	pthread_mutex_unlock(&lock);
}

/* A forked child is not the traced process: it runs untracked. */
static void
atfork_child(void)
{
	pmem__tracking = 0;
}

/* The exit point: what is pending or dirty when the process ends. */
__attribute__((destructor)) static void
track_fini(void)
{
	if (!on())
		return;
	pthread_mutex_lock(&lock);
	point(PMEM_POINT_EXIT);
	pmem__tracking = 0;
	pthread_mutex_unlock(&lock);
}

/* Reads a decimal environment variable; 0 when unset or not a number. */
static uint64_t
env_u64(const char *name)
{
	const char *v = secure_getenv(name);
	if (v == NULL || *v == '\0')
		return 0;
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	return *end == '\0' ? (uint64_t)n : 0;
}

/* See track.h. */
void
pmem__track_init(struct pmem__ops *ops)
{
	const char *dir = secure_getenv(PMEM_TRACK_ENV);
	if (dir == NULL || *dir == '\0')
		return;
	if (pmem__trace_open(dir) != 0) {
		fprintf(stderr, "libpmem: %s=%s: cannot write the trace: %m "
			"(tracking off)\n", PMEM_TRACK_ENV, dir);
		return;
	}
	owner = getpid();
	evict = env_u64(PMEM_TRACK_ENV_EVICT) != 0;
	stop_at = env_u64(PMEM_TRACK_ENV_STOP);
	pthread_atfork(NULL, NULL, atfork_child);

	real = *ops;
	ops->flush = track_flush;
	ops->deep_flush = track_flush;
	ops->persist = track_persist;
	ops->drain = track_drain;
	ops->memmove_nodrain = track_memmove;
	ops->memset_nodrain = track_memset;
	ops->flush_skipped = 0;
	ops->flush_name = "track";
	ops->drain_name = "track";
	ops->memmove_name = "track";
	ops->memset_name = "track";
	pmem__tracking = 1;
}

/*
 * crashtest-images.c -- reads the trace a tracked program wrote and
 * builds, at each persist point, the crash images the options ask for:
 * the durable lines plus a subset of the pending (and, with --evict, of
 * the dirty) lines.  Images are told apart by a 128-bit hash kept up to
 * date line by line, so an image already checked is not checked again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashtest.h"

#define LINE PMEM_CACHELINE

static uint64_t hash_now[2];	/* of the durable image */

/* Mixes a word into a hash state (a multiply-xorshift round). */
static inline uint64_t
mix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* The two hash words of line content d at (file, off). */
static void
line_hash(uint32_t file, uint64_t off, const unsigned char *d, uint64_t h[2])
{
	uint64_t a = mix(0x9e3779b97f4a7c15ULL, off ^ ((uint64_t)file << 48));
	uint64_t b = mix(0xc2b2ae3d27d4eb4fULL, off + file);
	for (int i = 0; i < 8; i++) {
		uint64_t w;
		memcpy(&w, d + 8 * i, 8);
		a = mix(a, w);
		b = mix(b + 0x165667b19e3779f9ULL, w);
	}
	h[0] = mix(a, b);
	h[1] = mix(b, a);
}

/* The content of line off of f as it is now, zero past the end. */
static void
cur_line(const struct ct_file *f, uint64_t off, unsigned char d[LINE])
{
	memset(d, 0, LINE);
	if (off < f->size)
		memcpy(d, f->img + off, f->size - off < LINE ?
			(size_t)(f->size - off) : LINE);
}

/* Adds (sign 1) or removes (-1) a line's hash from h. */
static void
hash_apply(uint64_t h[2], uint32_t file, uint64_t off,
	const unsigned char *d, int sign)
{
	uint64_t lh[2];
	line_hash(file, off, d, lh);
	h[0] += sign > 0 ? lh[0] : -lh[0];
	h[1] += sign > 0 ? lh[1] : -lh[1];
}

/* Adds 1 for "new" when (h0, h1) was not seen, remembering it. */
static int
seen_add(struct ct_state *s, const uint64_t h[2])
{
	if (2 * (s->nseen + 1) > s->capseen) {
		size_t cap = s->capseen ? 2 * s->capseen : 4096;
		uint64_t *t = calloc(cap, 2 * sizeof(uint64_t));
		if (t == NULL)
			return 1;	/* no room: check it again, harmless */
		for (size_t i = 0; i < s->capseen; i++) {
			uint64_t *e = &s->seen[2 * i];
			if (e[0] == 0 && e[1] == 0)
				continue;
			size_t j = (size_t)e[0] & (cap - 1);
			while (t[2 * j] || t[2 * j + 1])
				j = (j + 1) & (cap - 1);
			t[2 * j] = e[0];
			t[2 * j + 1] = e[1];
		}
		free(s->seen);
		s->seen = t;
		s->capseen = cap;
	}
	uint64_t k0 = h[0], k1 = h[1] | 1;	/* never the empty mark */
	size_t j = (size_t)k0 & (s->capseen - 1);
	while (s->seen[2 * j] || s->seen[2 * j + 1]) {
		if (s->seen[2 * j] == k0 && s->seen[2 * j + 1] == k1)
			return 0;
		j = (j + 1) & (s->capseen - 1);
	}
	s->seen[2 * j] = k0;
	s->seen[2 * j + 1] = k1;
	s->nseen++;
	return 1;
}

/* Reads a whole file into a new buffer; NULL on error. */
static unsigned char *
slurp(const char *path, uint64_t want)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	unsigned char *b = calloc(1, want + LINE);
	uint64_t done = 0;
	while (b != NULL && done < want) {
		ssize_t n = read(fd, b + done, want - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (uint64_t)n;
	}
	close(fd);
	if (b != NULL && done != want) {
		free(b);
		return NULL;
	}
	return b;
}

/* The name of file id's copy in an image: its base name, prefixed by its
 * id when another file of this trace has the same. */
static int
name_file(struct ct_state *s, uint32_t id)
{
	struct ct_file *f = &s->files[id];
	const char *bn = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 :
		f->path;
	int clash = 0;
	for (uint32_t i = s->file_base; i < s->nfiles; i++) {
		const char *o = strrchr(s->files[i].path, '/');
		clash |= i != id && strcmp(o ? o + 1 : s->files[i].path,
			bn) == 0;
	}
	free(f->name);
	f->name = malloc(strlen(bn) + 16);
	if (f->name == NULL)
		return -1;
	if (clash)
		sprintf(f->name, "%u-%s", id - s->file_base, bn);
	else
		strcpy(f->name, bn);
	return 0;
}

/* A FILE record: loads the base content and adds its lines' hashes. */
static int
on_file(struct ct_state *s, long pid, const unsigned char *p, size_t len)
{
	struct pmem__trace_file r;
	if (len < sizeof(r) + 1 || p[len - 1] != '\0')
		return -1;
	memcpy(&r, p, sizeof(r));
	if (r.id != s->nfiles - s->file_base)
		return -1;
	const char *path = (const char *)p + sizeof(r);
	char base[PATH_MAX];
	snprintf(base, sizeof(base), "%s/base.%ld.%u", s->dir, pid, r.id);
	void *nf = realloc(s->files, (s->nfiles + 1) * sizeof(*s->files));
	if (nf == NULL)
		return -1;
	s->files = nf;
	struct ct_file *f = &s->files[s->nfiles];
	f->size = r.size;
	f->img = slurp(base, r.size);
	f->path = strdup(path);
	f->name = NULL;
	if (f->img == NULL || f->path == NULL ||
			name_file(s, s->nfiles) != 0) {
		ct_err("cannot read %s: %s", base, strerror(errno));
		return -1;
	}
	unsigned char d[LINE];
	for (uint64_t off = 0; off < f->size; off += LINE) {
		cur_line(f, off, d);
		hash_apply(hash_now, s->nfiles - s->file_base, off, d, 1);
	}
	s->nfiles++;
	return 0;
}

/* A RENAME record: the file now has another path. */
static int
on_rename(struct ct_state *s, const unsigned char *p, size_t len)
{
	uint32_t id;
	if (len < sizeof(id) + 1 || p[len - 1] != '\0')
		return -1;
	memcpy(&id, p, sizeof(id));
	id += s->file_base;
	if (id >= s->nfiles)
		return -1;
	free(s->files[id].path);
	s->files[id].path = strdup((const char *)p + sizeof(id));
	return s->files[id].path ? name_file(s, id) : -1;
}

/* A MODULE record. */
static int
on_module(struct ct_state *s, const unsigned char *p, size_t len)
{
	uint32_t id;
	if (len < sizeof(id) + 1 || p[len - 1] != '\0')
		return -1;
	memcpy(&id, p, sizeof(id));
	if (id != s->nmodules - s->module_base)
		return -1;
	void *nm = realloc(s->modules, (s->nmodules + 1) * sizeof(char *));
	if (nm == NULL)
		return -1;
	s->modules = nm;
	s->modules[s->nmodules] = strdup((const char *)p + sizeof(id));
	return s->modules[s->nmodules++] ? 0 : -1;
}

/* A STACK record. */
static int
on_stack(struct ct_state *s, const unsigned char *p, size_t len)
{
	struct pmem__trace_stack r;
	if (len < sizeof(r))
		return -1;
	memcpy(&r, p, sizeof(r));
	if (r.id != s->nstacks - s->stack_base || r.nframes > PMEM_TRACE_MAX_FRAMES ||
			len != sizeof(r) + r.nframes *
				sizeof(struct pmem__trace_frame))
		return -1;
	void *ns = realloc(s->stacks, (s->nstacks + 1) * sizeof(*s->stacks));
	if (ns == NULL)
		return -1;
	s->stacks = ns;
	struct ct_stack *st = &s->stacks[s->nstacks];
	st->n = r.nframes;
	st->fr = malloc(r.nframes * sizeof(*st->fr) + 1);
	if (st->fr == NULL)
		return -1;
	memcpy(st->fr, p + sizeof(r), r.nframes * sizeof(*st->fr));
	for (uint32_t i = 0; i < r.nframes; i++) {
		st->fr[i].module += s->module_base;
		if (st->fr[i].module >= s->nmodules)
			return -1;
	}
	s->nstacks++;
	return 0;
}

/* Orders chosen lines by (file, off, position) so the last one wins. */
static int
cmp_line(const void *a, const void *b)
{
	const struct pmem__trace_line *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->pad < y->pad ? -1 : x->pad > y->pad;
}

/* Scratch space for one image's lines. */
static struct pmem__trace_line *chosen, *dropped;
static unsigned char *evflag;
static size_t capchosen;

/* Builds, hashes and (when new) checks the image of subset mask. */
static int
one_image(struct ct_state *s, const struct pmem__trace_point *pt,
	const struct pmem__trace_line *cand, uint32_t ncand,
	const unsigned char *mask)
{
	uint32_t n = 0, nd = 0;
	for (uint32_t i = 0; i < ncand; i++) {
		if (mask[i]) {
			chosen[n] = cand[i];
			chosen[n++].pad = i;	/* position: later wins */
		} else if (i < pt->npending) {
			dropped[nd++] = cand[i];
		}
	}
	qsort(chosen, n, sizeof(*chosen), cmp_line);
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i + 1 < n && chosen[i + 1].file == chosen[i].file &&
				chosen[i + 1].off == chosen[i].off)
			continue;
		chosen[k] = chosen[i];
		evflag[k] = chosen[k].pad >= pt->npending;
		k++;
	}
	uint64_t h[2] = { hash_now[0] ^ (s->nfiles - s->file_base),
		hash_now[1] };
	unsigned char d[LINE];
	for (uint32_t i = 0; i < k; i++) {
		const struct ct_file *f = &s->files[chosen[i].file];
		cur_line(f, chosen[i].off, d);
		hash_apply(h, chosen[i].file - s->file_base, chosen[i].off, d, -1);
		hash_apply(h, chosen[i].file - s->file_base, chosen[i].off, chosen[i].data, 1);
	}
	s->images++;
	if (!seen_add(s, h))
		return 0;
	struct ct_image im = { s->unique + 1, pt->seq, pt->kind, pt->stack,
		chosen, evflag, k, dropped, nd };
	return ct_check_image(s, &im);
}

/* A small, seeded pseudo-random generator (xorshift64*). */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 2685821657736338717ULL;
}

/* Checks the images of one point, as the strategy chooses them. */
static int
point_images(struct ct_state *s, const struct pmem__trace_point *pt,
	const struct pmem__trace_line *cand, uint32_t ncand)
{
	if (ncand >= capchosen) {
		free(chosen);
		free(dropped);
		free(evflag);
		chosen = malloc((ncand + 1) * sizeof(*chosen));
		dropped = malloc((ncand + 1) * sizeof(*dropped));
		evflag = malloc(ncand + 1);
		if (chosen == NULL || dropped == NULL || evflag == NULL)
			return -1;
		capchosen = ncand + 1;
	}
	unsigned char *mask = calloc(ncand + 1, 1);
	if (mask == NULL)
		return -1;
	int ret = 0;
	if (s->o->durable_only) {
		/* one image a point: what its fence leaves durable, so that a
		 * state is named at the fence that made it (a crash before
		 * this fence is the previous point's image); the first point
		 * also gives the state before any fence */
		if (s->points == 1)
			ret = one_image(s, pt, cand, ncand, mask);
		for (uint32_t i = 0; i < ncand; i++)
			mask[i] = pt->kind != PMEM_POINT_EXIT &&
				i < pt->npending;
		if (ret == 0)
			ret = one_image(s, pt, cand, ncand, mask);
		goto out;
	}
	ret = one_image(s, pt, cand, ncand, mask);	/* durable only */
	if (ncand == 0)
		goto out;
	if (ncand <= s->o->bound) {
		for (uint64_t m = 1; ret == 0 && m < (1ULL << ncand); m++) {
			for (uint32_t i = 0; i < ncand; i++)
				mask[i] = (m >> i) & 1;
			ret = one_image(s, pt, cand, ncand, mask);
		}
		goto out;
	}
	/* too many for every subset: all pending, then random subsets */
	for (uint32_t i = 0; i < ncand; i++)
		mask[i] = i < pt->npending;
	ret = one_image(s, pt, cand, ncand, mask);
	uint64_t st = s->o->seed ^ (pt->seq * 0x9e3779b97f4a7c15ULL) ^ 1;
	for (unsigned r = 0; ret == 0 && r < s->o->random; r++) {
		for (uint32_t i = 0; i < ncand; i++)
			mask[i] = rnd(&st) >> 63;
		ret = one_image(s, pt, cand, ncand, mask);
	}
out:
	free(mask);
	return ret;
}

/* Makes the pending lines of a point durable. */
static void
apply(struct ct_state *s, const struct pmem__trace_line *l, uint32_t n)
{
	unsigned char d[LINE];
	for (uint32_t i = 0; i < n; i++) {
		struct ct_file *f = &s->files[l[i].file];
		if (l[i].off >= f->size)
			continue;
		cur_line(f, l[i].off, d);
		hash_apply(hash_now, l[i].file - s->file_base, l[i].off, d, -1);
		memcpy(f->img + l[i].off, l[i].data, f->size - l[i].off < LINE ?
			(size_t)(f->size - l[i].off) : LINE);
		cur_line(f, l[i].off, d);
		hash_apply(hash_now, l[i].file - s->file_base, l[i].off, d, 1);
	}
}

/* A POINT record: its images, then what it makes durable. */
static int
on_point(struct ct_state *s, const unsigned char *p, size_t len)
{
	struct pmem__trace_point pt;
	if (len < sizeof(pt))
		return -1;
	memcpy(&pt, p, sizeof(pt));
	uint64_t n = (uint64_t)pt.npending + pt.ndirty;
	pt.stack += s->stack_base;
	if (len != sizeof(pt) + n * sizeof(struct pmem__trace_line) ||
			pt.stack >= s->nstacks)
		return -1;
	/* the lines are copied out: the trace's mapping is not aligned */
	struct pmem__trace_line *l = malloc(n * sizeof(*l) + 1);
	if (l == NULL)
		return -1;
	memcpy(l, p + sizeof(pt), n * sizeof(*l));
	for (uint64_t i = 0; i < n; i++) {
		l[i].file += s->file_base;
		if (l[i].file >= s->nfiles || l[i].off % LINE) {
			free(l);
			return -1;
		}
	}
	s->points++;
	int ret = 0;
	uint32_t ncand = pt.npending + (s->o->evict ? pt.ndirty : 0);
	if (s->only_point == 0 || s->only_point == pt.seq)
		ret = point_images(s, &pt, l, ncand);
	if (pt.kind != PMEM_POINT_EXIT)
		apply(s, l, pt.npending);
	free(l);
	return ret;
}

/* See crashtest.h. */
int
ct_trace_run(struct ct_state *s, long pid, uint64_t *npoints)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/trace.%ld", s->dir, pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		ct_err("no trace from the program (%s: %s): is it linked with "
			"this libpmem?", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	unsigned char *t = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE,
		fd, 0) : NULL;
	close(fd);
	if (size && t == MAP_FAILED) {
		ct_err("cannot map %s: %s", path, strerror(errno));
		return -1;
	}
	/* the ids of this trace follow those of the traces before */
	s->file_base = s->nfiles;
	s->module_base = s->nmodules;
	s->stack_base = s->nstacks;
	hash_now[0] = hash_now[1] = 0;
	/* a first pass counts the points, for the progress line */
	uint64_t total = 0, last = 0, pos;
	int pass, ret = 0, exited = 0;
	for (pass = 0; pass < 2 && ret == 0; pass++) {
		for (pos = 0; pos + sizeof(struct pmem__trace_hdr) <= size;) {
			struct pmem__trace_hdr h;
			memcpy(&h, t + pos, sizeof(h));
			pos += sizeof(h);
			if (h.len > size - pos)
				break;	/* cut short by a crash: stop there */
			const unsigned char *p = t + pos;
			pos += h.len;
			if (pass == 0) {
				total += h.type == PMEM_TRACE_POINT;
				continue;
			}
			switch (h.type) {
			case PMEM_TRACE_START:
				break;
			case PMEM_TRACE_FILE:
				ret = on_file(s, pid, p, h.len);
				break;
			case PMEM_TRACE_MODULE:
				ret = on_module(s, p, h.len);
				break;
			case PMEM_TRACE_STACK:
				ret = on_stack(s, p, h.len);
				break;
			case PMEM_TRACE_RENAME:
				ret = on_rename(s, p, h.len);
				break;
			case PMEM_TRACE_POINT:
				ret = on_point(s, p, h.len);
				if (ret == 0) {
					struct pmem__trace_point pt;
					memcpy(&pt, p, sizeof(pt));
					last = pt.seq;
					exited |= pt.kind == PMEM_POINT_EXIT;
				}
				ct_progress(s, total, 0);
				break;
			default:
				ret = -1;
			}
			if (ret != 0) {
				ct_err("%s: damaged record at byte %lu", path,
					(unsigned long)(pos - h.len));
				break;
			}
		}
	}
	/* killed or crashed: the durable image at the end is one more */
	if (ret == 0 && !exited && s->nfiles > s->file_base &&
			s->only_point == 0 && s->nstacks > s->stack_base) {
		struct pmem__trace_point end = { last + 1, PMEM_POINT_END,
			s->stack_base, 0, 0 };
		s->points++;
		ret = point_images(s, &end, NULL, 0);
	}
	if (size)
		munmap(t, size);
	*npoints = total;
	return ret;
}

/* See crashtest.h. */
void
ct_state_free(struct ct_state *s)
{
	for (uint32_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].path);
		free(s->files[i].name);
		free(s->files[i].img);
	}
	free(s->files);
	for (uint32_t i = 0; i < s->nmodules; i++)
		free(s->modules[i]);
	free(s->modules);
	for (uint32_t i = 0; i < s->nstacks; i++)
		free(s->stacks[i].fr);
	free(s->stacks);
	for (size_t i = 0; i < s->nfails; i++) {
		free(s->fails[i].lines);
		free(s->fails[i].evicted);
		free(s->fails[i].dropped);
		free(s->fails[i].output);
		free(s->fails[i].saved);
	}
	free(s->fails);
	free(s->seen);
	free(s->dir);
	free(chosen);
	free(dropped);
	free(evflag);
	chosen = dropped = NULL;
	evflag = NULL;
	capchosen = 0;
}

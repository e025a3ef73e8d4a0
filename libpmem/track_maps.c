/*
 * track_maps.c -- which file (and where in it) a flushed address belongs
 * to, from /proc/self/maps: tracking sees every shared file mapping, also
 * those the program (libpmemobj, libpmm) made without pmem_map_file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "track.h"

/* Reads the whole regular file fd into a new buffer of *len bytes. */
static unsigned char *
read_all(int fd, uint64_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return NULL;
	uint64_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* shrunk under us: the rest reads as zero */
			memset(buf + done, 0, len - done);
			break;
		}
		done += (uint64_t)n;
	}
	return buf;
}

/* The id of the registered file (dev, ino), noting a new path (a file
 * renamed into place) with a RENAME record; -1 when not registered. */
static int
find_file(struct pmem__track_maps *m, uint64_t dev, uint64_t ino,
	const char *path, void (*new_file)(struct pmem__track_maps *, int))
{
	for (size_t i = 0; i < m->nfiles; i++) {
		struct pmem__track_file *f = &m->files[i];
		if (f->dev != dev || f->ino != ino)
			continue;
		if (strcmp(f->path, path) != 0) {
			char *np = strdup(path);
			if (np != NULL) {
				free(f->path);
				f->path = np;
				f->renamed = 1;
				new_file(m, (int)i);
			}
		}
		return (int)i;
	}
	return -1;
}

/* Registers the file (dev, ino) at path: its id, or -1 if unusable. */
static int
register_file(struct pmem__track_maps *m, uint64_t dev, uint64_t ino,
	const char *path, void (*new_file)(struct pmem__track_maps *, int))
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	/* the same file as mapped (not one renamed over it), and a plain one */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
			(uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) {
		close(fd);
		return -1;
	}
	if (m->nfiles == m->capfiles) {
		size_t cap = m->capfiles ? 2 * m->capfiles : 8;
		void *p = realloc(m->files, cap * sizeof(*m->files));
		if (p == NULL) {
			close(fd);
			return -1;
		}
		m->files = p;
		m->capfiles = cap;
	}
	struct pmem__track_file *f = &m->files[m->nfiles];
	f->dev = dev;
	f->ino = ino;
	f->size = (uint64_t)st.st_size;
	f->durable = read_all(fd, f->size);
	f->path = strdup(path);
	f->renamed = 0;
	close(fd);
	if (f->durable == NULL || f->path == NULL) {
		free(f->durable);
		free(f->path);
		return -1;
	}
	int id = (int)m->nfiles++;
	new_file(m, id);
	return id;
}

/* Limits mapping e to the bytes of its file (past its end a mapping has
 * nothing to persist). */
static void
clamp(const struct pmem__track_maps *m, struct pmem__track_map *e)
{
	uint64_t size = m->files[e->file].size;
	if (e->off >= size)
		e->end = e->start;
	else if (e->end - e->start > size - e->off)
		e->end = e->start + (uintptr_t)(size - e->off);
}

/* See track.h. */
int
pmem__track_maps_adopt(struct pmem__track_maps *m, struct pmem__track_map *e,
	void (*new_file)(struct pmem__track_maps *m, int id))
{
	if (e->file >= 0)
		return e->file;
	if (e->path == NULL)
		return -1;
	int id = find_file(m, e->dev, e->ino, e->path, new_file);
	if (id < 0)
		id = register_file(m, e->dev, e->ino, e->path, new_file);
	free(e->path);
	e->path = NULL;		/* tried once per reading of the maps */
	if (id < 0)
		return -1;
	e->file = id;
	clamp(m, e);
	return id;
}

/* Appends one mapping to m->v; 0 or -1. */
static int
add_map(struct pmem__track_maps *m, uintptr_t start, uintptr_t end,
	uint64_t off, int file)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		void *p = realloc(m->v, cap * sizeof(*m->v));
		if (p == NULL)
			return -1;
		m->v = p;
		m->cap = cap;
	}
	m->v[m->n++] = (struct pmem__track_map){ start, end, off, file,
		0, 0, NULL };
	return 0;
}

/* Parses one line of /proc/self/maps into m; 0 or -1 (out of memory). */
static int
parse_line(struct pmem__track_maps *m, char *line,
	void (*new_file)(struct pmem__track_maps *, int))
{
	unsigned long long start, end, off, ino;
	unsigned maj, min;
	char perms[8];
	int pos = 0;
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end,
			perms, &off, &maj, &min, &ino, &pos) < 7)
		return 0;
	char *path = line + pos;
	path[strcspn(path, "\n")] = '\0';
	/* only shared writable mappings of files reach a file when flushed */
	if (perms[1] != 'w' || perms[3] != 's' || ino == 0 || path[0] != '/' ||
			strstr(path, " (deleted)") != NULL)
		return 0;
	/* a file is registered (read, traced) only once it is flushed */
	uint64_t dev = makedev(maj, min);
	int id = find_file(m, dev, ino, path, new_file);
	if (add_map(m, (uintptr_t)start, (uintptr_t)end, off, id) != 0)
		return -1;
	struct pmem__track_map *e = &m->v[m->n - 1];
	if (id >= 0) {
		clamp(m, e);
		return 0;
	}
	e->dev = dev;
	e->ino = ino;
	e->path = strdup(path);
	return e->path ? 0 : -1;
}

/* See track.h. */
int
pmem__track_maps_read(struct pmem__track_maps *m,
	void (*new_file)(struct pmem__track_maps *m, int id))
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (f == NULL)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	m->n = 0;
	while (getline(&line, &cap, f) > 0)
		if (parse_line(m, line, new_file) != 0) {
			ret = -1;
			break;
		}
	free(line);
	fclose(f);
	return ret;
}

/* See track.h. */
struct pmem__track_map *
pmem__track_maps_find(const struct pmem__track_maps *m, uintptr_t addr)
{
	for (size_t i = 0; i < m->n; i++)
		if (addr >= m->v[i].start && addr < m->v[i].end)
			return &m->v[i];
	return NULL;
}

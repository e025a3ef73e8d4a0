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

/* The id of the file (dev, ino) at path, registering it; -1 if unusable. */
static int
file_id(struct pmem__track_maps *m, uint64_t dev, uint64_t ino,
	const char *path, void (*new_file)(struct pmem__track_maps *, int))
{
	for (size_t i = 0; i < m->nfiles; i++) {
		struct pmem__track_file *f = &m->files[i];
		if (f->dev != dev || f->ino != ino)
			continue;
		if (strcmp(f->path, path) != 0) {
			/* renamed (a file made under a temporary name) */
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
	m->v[m->n++] = (struct pmem__track_map){ start, end, off, file };
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
	int id = file_id(m, makedev(maj, min), ino, path, new_file);
	if (id < 0)
		return 0;
	/* past the end of the file a mapping has nothing to persist */
	uint64_t size = m->files[id].size;
	if (off >= size)
		return 0;
	if (end - start > size - off)
		end = start + (size - off);
	return add_map(m, (uintptr_t)start, (uintptr_t)end, off, id);
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
const struct pmem__track_map *
pmem__track_maps_find(const struct pmem__track_maps *m, uintptr_t addr)
{
	for (size_t i = 0; i < m->n; i++)
		if (addr >= m->v[i].start && addr < m->v[i].end)
			return &m->v[i];
	return NULL;
}

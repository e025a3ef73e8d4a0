/*
 * track.h -- crash-consistency tracking for pmem-crashtest(1): the
 * library's side (a dispatch table chosen at load when PMEM_CRASHTEST is
 * set) and the trace format it writes, which the tool reads.
 *
 * The trace of process PID is DIR/trace.PID, a sequence of records, each
 * a struct pmem__trace_hdr followed by len bytes.  The content of file ID
 * when tracking first saw it is DIR/base.PID.ID.  Persist point k (k from
 * 1) is a POINT record: the lines flushed since the last point whose
 * content differs from their durable content (pending), then, when
 * eviction is tracked, the lines stored to but neither flushed nor durable
 * (dirty).  After a point of kind fence, msync or deep, the pending lines
 * are durable; after an exit point nothing follows.
 */
#ifndef PMEM_TRACK_H
#define PMEM_TRACK_H 1

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* The environment: output directory, eviction, rerun stop point. */
#define PMEM_TRACK_ENV		"PMEM_CRASHTEST"
#define PMEM_TRACK_ENV_EVICT	"PMEM_CRASHTEST_EVICT"
#define PMEM_TRACK_ENV_STOP	"PMEM_CRASHTEST_STOP"

#define PMEM_TRACE_MAGIC	0x31305443454d4550ULL	/* "PEMECT01" */
#define PMEM_TRACE_MAX_FRAMES	48

enum pmem__trace_type {
	PMEM_TRACE_START = 1,	/* u64 magic */
	PMEM_TRACE_FILE,	/* struct pmem__trace_file, then the path */
	PMEM_TRACE_MODULE,	/* u32 id, then the path */
	PMEM_TRACE_STACK,	/* struct pmem__trace_stack, then frames */
	PMEM_TRACE_POINT,	/* struct pmem__trace_point, then lines */
	PMEM_TRACE_RENAME,	/* u32 file id, then its new path */
};

enum pmem__point_kind {
	PMEM_POINT_FENCE,	/* pmem_drain, pmem_persist, a drained copy */
	PMEM_POINT_MSYNC,	/* pmem_msync */
	PMEM_POINT_EXIT,	/* the process exits: nothing becomes durable */
	PMEM_POINT_END,		/* (tool only) the trace ended without exit */
};

struct pmem__trace_hdr {
	uint32_t type;
	uint32_t len;		/* bytes after this header */
};

struct pmem__trace_file {
	uint32_t id;
	uint32_t pad;
	uint64_t size;		/* bytes of DIR/base.PID.ID */
};

struct pmem__trace_frame {
	uint32_t module;
	uint32_t pad;
	uint64_t offset;	/* from the module's load base */
};

struct pmem__trace_stack {
	uint32_t id;
	uint32_t nframes;
};

struct pmem__trace_point {
	uint64_t seq;
	uint32_t kind;
	uint32_t stack;
	uint32_t npending;
	uint32_t ndirty;
};

struct pmem__trace_line {
	uint32_t file;
	uint32_t pad;
	uint64_t off;		/* in the file; a multiple of 64 */
	unsigned char data[PMEM_CACHELINE];
};

struct pmem__ops;

/* Nonzero in the process whose flushes are tracked. */
extern int pmem__tracking;

/*
 * When PMEM_CRASHTEST names a directory, replaces the routines of *ops by
 * tracking ones that call the originals; else does nothing.
 */
void pmem__track_init(struct pmem__ops *ops);

/* pmem_map_file mapped [addr, addr + len): its file's content now is the
 * durable content of its lines. */
void pmem__track_mapped(const void *addr, size_t len);

/* pmem_msync of the range: flushed and durable when it returns. */
void pmem__track_msync(const void *addr, size_t len);

/* ---- internal to track*.c */

/* A file that tracking has seen mapped. */
struct pmem__track_file {
	uint64_t dev, ino;
	uint64_t size;			/* bytes shadowed */
	unsigned char *durable;		/* its durable content */
	char *path;
	int renamed;			/* new_file: a rename, not a file */
};

/* A shared writable mapping of a file: tracked (file >= 0), or not yet
 * flushed (-1: dev, ino and path say which file it would be). */
struct pmem__track_map {
	uintptr_t start, end;
	uint64_t off;			/* file offset of start */
	int file;
	uint64_t dev, ino;
	char *path;
};

/* The mappings and files known, refreshed from /proc/self/maps. */
struct pmem__track_maps {
	struct pmem__track_map *v;
	size_t n, cap;
	struct pmem__track_file *files;
	size_t nfiles, capfiles;
};

/*
 * Re-reads /proc/self/maps into m: the shared writable file mappings, a
 * known file under a new name (renamed into place) getting a RENAME
 * record through new_file.  0 or -1.
 */
int pmem__track_maps_read(struct pmem__track_maps *m,
	void (*new_file)(struct pmem__track_maps *m, int id));

/* The mapping holding addr, or NULL. */
struct pmem__track_map *pmem__track_maps_find(
	const struct pmem__track_maps *m, uintptr_t addr);

/*
 * Tracks the file of mapping e from now on: a new file gets an id, a
 * shadow read from the file and a FILE record through new_file, and e is
 * limited to the file's bytes.  The file's id, or -1 if it cannot be.
 */
int pmem__track_maps_adopt(struct pmem__track_maps *m,
	struct pmem__track_map *e,
	void (*new_file)(struct pmem__track_maps *m, int id));

/* The trace writer: opens DIR/trace.PID; 0 or -1. */
int pmem__trace_open(const char *dir);
struct iovec;
/* Appends one record made of n pieces (buffered); 0 or -1. */
int pmem__trace_rec(uint32_t type, const struct iovec *iov, int n);
/* The same with two pieces. */
int pmem__trace_rec2(uint32_t type, const void *a, size_t alen,
	const void *b, size_t blen);
/* Writes out what is buffered; 0 or -1. */
int pmem__trace_flush(void);
/* Writes file id's base content to DIR/base.PID.ID; 0 or -1. */
int pmem__trace_base(int id, const void *data, size_t len);
/* The stack id of the calling persist point (records it when new). */
uint32_t pmem__trace_stack(void);

#endif /* PMEM_TRACK_H */

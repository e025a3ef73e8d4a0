/*
 * crashtest.h -- the parts of pmem-crashtest(1): options, the trace and
 * its images (crashtest-images.c), the checks (crashtest-check.c) and
 * the report (crashtest-report.c).
 */
#ifndef CRASHTEST_H
#define CRASHTEST_H 1

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "track.h"

/* What the user asked for. */
struct ct_opts {
	const char *check;	/* CMD, with {} for the image directory */
	char **argv;		/* PROGRAM ARGS... */
	const char *dir;	/* --dir, or made */
	unsigned bound;		/* --subsets N: every subset up to N lines */
	unsigned random;	/* --random R: random subsets above it */
	uint64_t seed;		/* --seed */
	int durable_only;	/* --durable-only */
	int evict;		/* --evict */
	int rerun;		/* --rerun */
	int json;		/* --json */
	int quiet;		/* --quiet: no progress */
	int keep;		/* --keep: leave the directory */
	unsigned jobs;		/* -j */
	unsigned timeout;	/* --timeout seconds per check */
	unsigned max_reports;	/* --max-reports */
};

/* One file of the program, as the trace knows it. */
struct ct_file {
	char *path;
	char *name;		/* its name inside an image directory */
	unsigned char *img;	/* its durable content now */
	uint64_t size;
};

/* A persist point's call stack: (module, offset) frames. */
struct ct_stack {
	uint32_t n;
	struct pmem__trace_frame *fr;
};

/* A failed image, kept for the report. */
struct ct_fail {
	uint64_t image, seq;
	uint32_t kind, stack;
	uint32_t nlines;		/* lines that differ from durable-only */
	struct pmem__trace_line *lines;	/* (data unused) */
	unsigned char *evicted;		/* per line: 1 evicted, 0 pending */
	uint32_t ndropped;		/* pending lines this image drops */
	struct pmem__trace_line *dropped;
	int status;			/* wait status of the check */
	int timed_out;
	char *output;			/* the first lines it printed */
	char *saved;			/* directory holding the image */
};

/* Everything a run accumulates. */
struct ct_state {
	const struct ct_opts *o;
	char *dir;			/* output directory */
	struct ct_file *files;
	uint32_t nfiles;
	char **modules;
	uint32_t nmodules;
	struct ct_stack *stacks;
	uint32_t nstacks;
	uint64_t points;		/* persist points seen */
	uint64_t images;		/* images built (before dedup) */
	uint64_t unique;		/* images checked */
	uint64_t failed;
	uint64_t only_point;		/* --rerun: check only this point */
	/* ids in the trace being read are these plus the record's id */
	uint32_t file_base, module_base, stack_base;
	struct ct_fail *fails;
	size_t nfails, capfails;
	uint64_t *seen;			/* hash set of image hashes (2 words) */
	size_t nseen, capseen;
	double check_seconds;		/* summed over checks */
};

/* crashtest-images.c: reads DIR/trace.PID, checking the images of every
 * point through ct_check_image; 0, or -1 with a message printed. */
int ct_trace_run(struct ct_state *s, long pid, uint64_t *npoints);
/* Frees everything s holds. */
void ct_state_free(struct ct_state *s);

/* crashtest-check.c: the image being built. */
struct ct_image {
	uint64_t id, seq;
	uint32_t kind, stack;
	const struct pmem__trace_line *lines;	/* chosen lines, in order */
	const unsigned char *evicted;
	uint32_t nlines;
	const struct pmem__trace_line *dropped;
	uint32_t ndropped;
};
/* A file of an image directory, kept open and mapped between images. */
struct ct_copy {
	uint32_t file;		/* its index in ct_state.files */
	char *name;		/* the name it was made under */
	int fd;
	unsigned char *map;
	uint64_t size;
	dev_t dev;		/* the file we made, to tell it from */
	ino_t ino;		/* one put in its place */
	int seen;
};

/* A directory holding an image's files. */
struct ct_dir {
	char path[PATH_MAX];
	struct ct_copy *c;
	uint32_t n;
};

/* crashtest-copy.c: makes d hold exactly the image im (the durable files
 * plus its lines), patching what it held; 0 or -1 (message printed). */
int ct_dir_image(struct ct_state *s, struct ct_dir *d,
	const struct ct_image *im);
/* Makes d hold exactly what from holds; 0 or -1 (message printed). */
int ct_dir_mirror(struct ct_state *s, struct ct_dir *d,
	const struct ct_dir *from);
/* Unmaps and closes d's copies (the files stay). */
void ct_dir_close(struct ct_dir *d);
/* Removes path, a directory tree or not; 0 or -1. */
int ct_rm_tree(const char *path);

/* Starts CMD on the image (waiting for a free job slot); 0 or -1. */
int ct_check_image(struct ct_state *s, const struct ct_image *im);
/* Waits for every check under way. */
void ct_check_wait_all(struct ct_state *s);
/* Kills the checks under way (async-signal-safe). */
void ct_check_kill_all(void);
/* Frees the job slots (none may be busy). */
void ct_check_fini(void);
/* Sets up the job slots; 0 or -1. */
int ct_check_init(struct ct_state *s);

/* crashtest-report.c */
void ct_progress(struct ct_state *s, uint64_t total, int final);
void ct_report(struct ct_state *s, FILE *out, double seconds, int status);
/* Frees the symbols the report looked up. */
void ct_report_fini(void);
/* Writes "name: message" to stderr. */
void ct_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* CRASHTEST_H */

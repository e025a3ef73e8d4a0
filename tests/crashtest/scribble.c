/*
 * scribble.c -- a program whose every crash image is known, and a check
 * that verifies the image it is given exactly, then damages it: the test
 * of pmem-crashtest's reuse of its image directories (crashtest-copy.c).
 * A check that finds anything but an image the model allows, byte for
 * byte, fails: a page the tool failed to restore after the previous check,
 * a line it failed to update from the image before, a stray file.
 *
 *	scribble run FILE N	N steps on a new FILE
 *	scribble check DIR LOG	verifies DIR (else appends why to LOG and
 *				exits 1), then damages it; exits 1 also
 *				when the header ends in 3, 0 otherwise
 *	scribble verify DIR	verifies DIR only
 *
 * FILE is SIZE bytes: line 0 is the header (the last step made durable),
 * then data lines, the last one partial.  Step k writes two data lines
 * with k's pattern and persists them with one fence, then writes k into
 * the header and persists it.  An image whose header says h holds each
 * data line as the last step up to h left it, or as step h + 1 wrote it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpmem.h>

#define LINE 64
#define NDATA 200			/* data lines, the last one partial */
#define SIZE (LINE * NDATA + 40)
#define NAME "pool"

/* The byte j of line i as step k writes it (0: never written). */
static unsigned char
pattern(uint64_t k, unsigned i, unsigned j)
{
	return k == 0 ? 0 : (unsigned char)(k * 131 + i * 7 + j + 1);
}

/* The two data lines (1..NDATA) step k writes. */
static void
lines_of(uint64_t k, unsigned *a, unsigned *b)
{
	*a = 1 + (unsigned)((k * 7) % NDATA);
	*b = 1 + (unsigned)((k * 13 + 5) % NDATA);
}

/* Bytes of line i inside the file. */
static size_t
line_len(unsigned i)
{
	return SIZE - (size_t)i * LINE < LINE ? SIZE - (size_t)i * LINE : LINE;
}

/* Line i as step k writes it, into l. */
static void
line_of(unsigned char l[LINE], uint64_t k, unsigned i)
{
	for (unsigned j = 0; j < LINE; j++)
		l[j] = pattern(k, i, j);
	if (i == 0)
		memcpy(l, &k, sizeof(k));
}

/* Writes line i of p as step k does. */
static void
fill(unsigned char *p, uint64_t k, unsigned i)
{
	unsigned char l[LINE];
	line_of(l, k, i);
	memcpy(p + (size_t)i * LINE, l, line_len(i));
}

/* The workload: n steps on a new file. */
static int
run(const char *path, uint64_t n)
{
	size_t len;
	unsigned char *p = pmem_map_file(path, SIZE, PMEM_FILE_CREATE |
		PMEM_FILE_EXCL, 0600, &len, NULL);
	if (p == NULL) {
		fprintf(stderr, "%s: %s\n", path, pmem_errormsg());
		return 2;
	}
	for (uint64_t k = 1; k <= n; k++) {
		unsigned a, b;
		lines_of(k, &a, &b);
		fill(p, k, a);
		fill(p, k, b);
		pmem_flush(p + (size_t)a * LINE, line_len(a));
		pmem_flush(p + (size_t)b * LINE, line_len(b));
		pmem_drain();
		fill(p, k, 0);
		pmem_persist(p, LINE);
	}
	pmem_unmap(p, len);
	return 0;
}

/* 1 when line i of img is step k's (or zero for k 0). */
static int
line_is(const unsigned char *img, uint64_t k, unsigned i)
{
	unsigned char want[LINE];
	line_of(want, k, i);
	return memcmp(img + (size_t)i * LINE, want, line_len(i)) == 0;
}

/* 1 when img is an image the model allows; else 0, with the reason. */
static int
valid(const unsigned char *img)
{
	uint64_t h, last[NDATA + 1] = { 0 };
	memcpy(&h, img, sizeof(h));
	if (h > 1000000 || !line_is(img, h, 0)) {
		printf("header line is not a step's (h %llu)\n",
			(unsigned long long)h);
		return 0;
	}
	for (uint64_t k = 1; k <= h; k++) {
		unsigned a, b;
		lines_of(k, &a, &b);
		last[a] = last[b] = k;
	}
	unsigned na, nb;
	lines_of(h + 1, &na, &nb);
	for (unsigned i = 1; i <= NDATA; i++) {
		if (line_is(img, last[i], i))
			continue;
		if ((i == na || i == nb) && line_is(img, h + 1, i))
			continue;
		printf("header %llu: line %u is neither step %llu's nor the "
			"next step's\n", (unsigned long long)h, i,
			(unsigned long long)last[i]);
		return 0;
	}
	return 1;
}

/* Reads DIR/pool after making sure it is all DIR holds, as made; its
 * content in img, or 0 with the reason printed. */
static int
load(const char *dir, unsigned char *img)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		printf("%s: %s\n", dir, strerror(errno));
		return 0;
	}
	struct dirent *e;
	int ok = 1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
				strcmp(e->d_name, NAME)) {
			printf("stray entry %s in the image\n", e->d_name);
			ok = 0;
		}
	closedir(d);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, NAME);
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
			(st.st_mode & 07777) != 0600 || st.st_size != SIZE ||
			st.st_nlink != 1) {
		printf("%s is not the regular file it was (mode %o, size "
			"%lld)\n", path, (unsigned)st.st_mode,
			(long long)st.st_size);
		return 0;
	}
	int fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, img, SIZE) != SIZE) {
		printf("cannot read %s\n", path);
		ok = 0;
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A small generator (xorshift64*) for the damage. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Random bytes into buf. */
static void
junk(uint64_t *s, unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(rnd(s) >> 56);
}

/* Damages dir in a few of the ways a check might, chosen by seed. */
static void
damage(const char *dir, uint64_t seed)
{
	char path[4096], other[4096];
	unsigned char buf[SIZE];
	snprintf(path, sizeof(path), "%s/%s", dir, NAME);
	uint64_t s = seed | 1;
	int fd = open(path, O_RDWR);
	unsigned what = (unsigned)rnd(&s);
	if (fd >= 0 && (what & 1)) {	/* write() somewhere */
		size_t n = 1 + rnd(&s) % 300;
		junk(&s, buf, n);
		if (pwrite(fd, buf, n, (off_t)(rnd(&s) % (SIZE - n))) < 0)
			perror("pwrite");
	}
	if (fd >= 0 && (what & 2)) {	/* stores through a mapping */
		unsigned char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED, fd, 0);
		for (int i = 0; m != MAP_FAILED && i < 8; i++)
			m[rnd(&s) % SIZE] ^= (unsigned char)(1 + rnd(&s) % 255);
		if (m != MAP_FAILED)
			munmap(m, SIZE);
	}
	if (fd >= 0 && (what & 4) &&	/* longer or shorter */
			ftruncate(fd, (what & 8) ? SIZE + 100 : SIZE / 3) != 0)
		perror("ftruncate");
	if (fd >= 0)
		close(fd);
	switch ((what >> 4) % 8) {
	case 0:				/* another file in its place */
		unlink(path);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		junk(&s, buf, SIZE);
		if (fd < 0 || write(fd, buf, SIZE) != SIZE)
			perror(path);
		if (fd >= 0)
			close(fd);
		break;
	case 1:				/* its mode */
		chmod(path, 0644);
		break;
	case 2:				/* renamed away */
		snprintf(other, sizeof(other), "%s/%s.old", dir, NAME);
		rename(path, other);
		break;
	case 3:				/* a symbolic link in its place */
		unlink(path);
		if (symlink("/dev/null", path) != 0)
			perror("symlink");
		break;
	case 4:				/* stray files and directories */
		snprintf(other, sizeof(other), "%s/junk", dir);
		close(open(other, O_WRONLY | O_CREAT, 0600));
		snprintf(other, sizeof(other), "%s/sub", dir);
		mkdir(other, 0700);
		snprintf(other, sizeof(other), "%s/sub/deeper", dir);
		close(open(other, O_WRONLY | O_CREAT, 0600));
		break;
	case 5:				/* a hard link */
		snprintf(other, sizeof(other), "%s/%s.link", dir, NAME);
		if (link(path, other) != 0)
			perror("link");
		break;
	case 6:				/* left running: writes later */
		if (fork() == 0) {
			struct timespec ts = { 0, 30 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			fd = open(path, O_WRONLY);
			junk(&s, buf, LINE);
			if (fd >= 0 && pwrite(fd, buf, LINE, 0) != LINE)
				perror("pwrite");
			_exit(0);
		}
		break;
	default:			/* nothing more */
		break;
	}
}

/* Runs the command. */
int
main(int argc, char **argv)
{
	static unsigned char img[SIZE];
	if (argc == 4 && strcmp(argv[1], "run") == 0)
		return run(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "verify") == 0)
		return load(argv[2], img) && valid(img) ? 0 : 1;
	if (argc != 4 || strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "usage: %s run FILE N | check DIR LOG | "
			"verify DIR\n", argv[0]);
		return 2;
	}
	if (!load(argv[2], img) || !valid(img)) {
		/* the reason, printed on stdout, goes to LOG as well */
		FILE *log = fopen(argv[3], "a");
		if (log != NULL) {
			fprintf(log, "%s: not an image the model allows\n",
				argv[2]);
			fclose(log);
		}
		return 1;
	}
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i + 8 <= SIZE; i += 8) {
		uint64_t w;
		memcpy(&w, img + i, 8);
		seed = (seed ^ w) * 0xff51afd7ed558ccdULL;
	}
	damage(argv[2], seed);
	/* the images whose header ends in 3 fail: their saved copies must
	 * be the exact images as well */
	uint64_t h;
	memcpy(&h, img, sizeof(h));
	return h % 10 == 3;
}

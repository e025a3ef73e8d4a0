/*
 * make-corpus.c -- writes the seed corpus of fuzz/pmm_bank_fuzz: small
 * valid banks made through the public API (0..16 blocks, keys, a pending
 * pmmFreeAll redo record, a dead lock holder, a reboot, a torn index) and
 * damaged ones made from them, each opened once here to check that it
 * gives the outcome it stands for.  They are small, so each has one arena
 * (libpmm(7)): banks of several arenas (16 MiB) would make every
 * execution write megabytes; test_pmm_core and pmm_stress cover those.
 *
 *   fuzz/make-corpus DIR      write the corpus into DIR (which must exist)
 *
 * Every seed is normalised (fixed address, creation time, boot id
 * placeholder, locks), so the output depends only on the layout and on
 * libpmm's algorithms:
 * tests/fuzz-smoke.sh compares it with the committed corpus.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bank_image.h"
#include "pmm.h"

struct img {
	unsigned char *p;
	size_t len;
};

static const char *out_dir;
static char bank_dir[PATH_MAX];
static int check_fd = -1;
static char check_path[PATH_MAX + 16];
static unsigned nseeds, nbytes;

/* Stop with a message: the generator has no partial success. */
static void
die(const char *what, int rc)
{
	char path[PATH_MAX + 8];
	fprintf(stderr, "make-corpus: %s (rc %d: %s)\n", what, rc,
			rc != 0 ? pmmErrorMsg() : "");
	if (bank_dir[0] != 0) {
		snprintf(path, sizeof(path), "%s/RAM.pmm", bank_dir);
		unlink(path);
		if (check_path[0] != 0)
			unlink(check_path);
		rmdir(bank_dir);
	}
	exit(1);
}

/* A copy of an image, to damage without touching the original. */
static struct img
dup_img(struct img a)
{
	struct img c = { malloc(a.len + 1), a.len };
	if (c.p == NULL)
		die("out of memory", 0);
	memcpy(c.p, a.p, a.len);
	return c;
}

/* The header of an image, by pointer (images are malloc'ed: aligned). */
static struct pmm__hdr *
hdr(struct img a)
{
	return (struct pmm__hdr *)(void *)a.p;
}

/* Entry i of an image of valid geometry. */
static struct pmm__entry *
entry(struct img a, uint64_t i)
{
	return (struct pmm__entry *)(void *)(a.p + hdr(a)->table_off +
			i * sizeof(struct pmm__entry));
}

/* Allocate one block of npages pages in the RAM bank, with a key or not. */
static void
alloc(const char *name, unsigned npages, const char *key)
{
	PmmName n = { "RAM", "" };
	VmAddr a;
	snprintf(n.name, sizeof(n.name), "%s", name);
	int rc = pmmAllocate(&a, &n, (size_t)npages * 4096 - 100, key,
			key != NULL ? strlen(key) + 1 : 0);
	if (rc != K_OK)
		die("pmmAllocate", rc);
}

/* Free one block of the RAM bank. */
static void
release(const char *name)
{
	PmmName n = { "RAM", "" };
	snprintf(n.name, sizeof(n.name), "%s", name);
	int rc = pmmFree(&n);
	if (rc != K_OK)
		die("pmmFree", rc);
}

/* Read the RAM bank file into an image. */
static struct img
read_bank(void)
{
	char path[PATH_MAX + 8];
	struct stat st;
	snprintf(path, sizeof(path), "%s/RAM.pmm", bank_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0)
		die("cannot read the bank file", 0);
	struct img a = { malloc((size_t)st.st_size + 1), (size_t)st.st_size };
	if (a.p == NULL || pread(fd, a.p, a.len, 0) != (ssize_t)a.len)
		die("cannot read the bank file", 0);
	close(fd);
	return a;
}

/* The number of arenas of an image of valid geometry. */
static unsigned
narenas(struct img a)
{
	struct pmm__hdr *h = hdr(a);
	struct pmm__geom g;
	if (pmm__geom_compute(h->bank_size, h->max_blocks, h->page_size, &g)
			!= K_OK)
		die("a bank of invalid geometry", 0);
	return (unsigned)g.narenas;
}

/* Fixed address, time, boot id placeholder and locks (those a wide
 * holder takes left by a dead one if asked); checksum again. */
static void
normalise(struct img a, int owner_died)
{
	struct pmm__hdr *h = hdr(a);
	unsigned n = narenas(a);
	h->base = FUZZ_BASE;
	h->created = 946684800;		/* 2000-01-01 */
	h->checksum = pmm__hdr_checksum(h);
	memset(h->boot_id, 0, sizeof(h->boot_id));
	memcpy(h->boot_id, FUZZ_BOOT_HERE, sizeof(FUZZ_BOOT_HERE));
	h->file_dev = 0;			/* "this file": fuzz_image_here */
	h->file_ino = 0;
	for (unsigned i = 0; i < PMM__ARENAS; i++)
		fuzz_lock_set(&h->arena[i].lock, owner_died && i < n);
	fuzz_lock_set(&h->keys.lock, owner_died);
}

/* Whether a dead wide holder left its mark on every lock it held: each
 * used arena's and the keys'. */
static int
all_owners_died(struct img a)
{
	unsigned n = narenas(a);
	int died = fuzz_lock_owner_died(&hdr(a)->keys.lock);
	for (unsigned i = 0; i < n; i++)
		died &= fuzz_lock_owner_died(&hdr(a)->arena[i].lock);
	return died;
}

/* Forget the bank (closing it in this process) and remove its file. */
static void
drop_bank(void)
{
	char path[PATH_MAX + 8];
	pmm__banks_reset();
	snprintf(path, sizeof(path), "%s/RAM.pmm", bank_dir);
	unlink(path);
}

/* A child takes every lock of the bank (wide) and is killed holding
 * them, as a crash. */
static void
die_holding_lock(void)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork", 0);
	if (pid == 0) {
		struct pmm__bank *b;
		if (pmm__bank_get("RAM", &b) != K_OK || pmm__lock(b) != K_OK)
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st) ||
			WTERMSIG(st) != SIGKILL)
		die("the lock holder did not lock", 0);
}

/* Make a bank with these tunables, run script on it, return its image. */
static struct img
make_bank(unsigned long size, unsigned max_blocks, void (*script)(void),
		int dead_holder)
{
	char tun[128];
	snprintf(tun, sizeof(tun), "pmm.rambankSize=0x%lx;pmm.maxBlocks=%u",
			size, max_blocks);
	setenv("PMM_TUNABLES", tun, 1);
	VmAddr a;
	PmmName n = { "RAM", "make-corpus" };
	/* the first call creates the bank; this block is freed at once */
	int rc = pmmAllocate(&a, &n, 1, NULL, 0);
	if (rc != K_OK)
		die("cannot create a bank", rc);
	release("make-corpus");
	if (script != NULL)
		script();
	if (dead_holder)
		die_holding_lock();
	struct img img = read_bank();
	if (dead_holder && !all_owners_died(img))
		die("a dead holder left no owner-died mark", 0);
	drop_bank();
	normalise(img, dead_holder);
	return img;
}

/* Open an image as the fuzz target does; it must give expect. */
static void
check_seed(const char *name, struct img a, int expect)
{
	char path[PATH_MAX + 16];
	struct pmm__bank *b, *again;
	struct img c = dup_img(a);
	fuzz_image_prepare(c.p, c.len);
	if (fuzz_image_write(check_fd, c.p, c.len) != 0 ||
			fuzz_image_here(check_fd) != 0)
		die("cannot write the check file", 0);
	free(c.p);
	snprintf(path, sizeof(path), "%s", check_path);
	int rc = pmm__bank_open_checked(path, &b);
	if (rc != expect) {
		fprintf(stderr, "make-corpus: seed %s opens with %d, not %d: %s\n",
				name, rc, expect, pmmErrorMsg());
		exit(1);
	}
	if (rc != K_OK)
		return;
	if ((rc = pmm__check(b, NULL, 0)) != K_OK)
		die(name, rc);
	/* its address is taken now: a second mapping must be refused */
	if ((rc = pmm__bank_open_checked(path, &again)) != K_EMAPPED)
		die("a bank opened twice at one address", rc);
	pmm__bank_close(b);
}

/* Check a seed, write it to the output directory, and free it. */
static void
seed(const char *name, struct img a, int expect)
{
	char path[PATH_MAX];
	check_seed(name, a, expect);
	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fuzz_image_write(fd, a.p, a.len) != 0 || close(fd) != 0)
		die(path, 0);
	nseeds++;
	nbytes += (unsigned)a.len;
	free(a.p);
}

/* ------------------------------------------------- bank contents */

/* One page-sized block. */
static void
one_block(void)
{
	alloc("only", 1, NULL);
}

/* Three one-page blocks (two keyed), the middle one freed. */
static void
small(void)
{
	alloc("a", 1, "k1");
	alloc("b", 1, NULL);
	alloc("c", 1, "k1");
	release("b");
}

/* Blocks of several sizes and keys, with holes between them. */
static void
mixed(void)
{
	alloc("alpha", 1, "k1");
	alloc("beta", 3, NULL);
	alloc("gamma", 2, "k1");
	alloc("delta", 1, "k2");
	alloc("epsilon", 1, NULL);
	release("beta");
	release("delta");
}

/* Every entry and every page used. */
static void
full(void)
{
	alloc("p0", 1, "k");
	alloc("p1", 1, NULL);
	alloc("p2", 1, "k");
	alloc("p3", 1, NULL);
}

/* n one-page blocks on three keys and none. */
static void
keyed_blocks(unsigned n)
{
	static const char *const k[] = { "red", "green", "blue", NULL };
	char name[16];
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "block-%u", i);
		alloc(name, 1, k[i % 4]);
	}
}

/* Eight keyed blocks. */
static void
keys8(void)
{
	keyed_blocks(8);
}

/* Sixteen keyed blocks, then the blocks of one key freed together. */
static void
keys16_freed(void)
{
	keyed_blocks(16);
	if (pmmFreeAll("green", 6) != K_OK)
		die("pmmFreeAll", -1);
}

/* A small block before a free extent of more than 64 pages. */
static void
big(void)
{
	alloc("small", 1, NULL);
}

/* ---------------------------------------------------- damage */

/* Leave a committed pmmFreeAll of key in the redo record. */
static void
pending_free_all(struct img a, const char *key)
{
	struct pmm__log *l = &hdr(a)->log;
	memset(l, 0, sizeof(*l));
	l->keysize = (uint32_t)strlen(key) + 1;
	memcpy(l->key, key, l->keysize);
	l->seq = 7;
	l->checksum = pmm__log_checksum(l);
	l->valid = PMM__LOG_FREEALL;
}

/* Set the boot id to another boot's (NULL: zeroes). */
static void
set_boot(struct img a, const char *id)
{
	memset(hdr(a)->boot_id, 0, PMM__BOOT_ID);
	if (id != NULL)
		memcpy(hdr(a)->boot_id, id, strlen(id));
}

/* Fill the derived index with a byte: its first len bytes, or (len 0)
 * all of it, and with it the arenas' part of it in the header (all but
 * their locks: each arena's dirty mark, free-entry chain, counters and
 * class lists). */
static void
fill_index(struct img a, int c, size_t len)
{
	struct pmm__hdr *h = hdr(a);
	memset(a.p + h->index_off, c, len != 0 ? len :
			(size_t)(h->data_off - h->index_off));
	if (len != 0)
		return;
	size_t from = offsetof(struct pmm__arena, dirty);
	for (unsigned i = 0; i < PMM__ARENAS; i++)
		memset((unsigned char *)&h->arena[i] + from, c,
				sizeof(h->arena[i]) - from);
}

/* Change one 64-bit header field and make the checksum agree. */
static struct img
hdr_field(struct img v, size_t off, uint64_t value)
{
	struct img a = dup_img(v);
	memcpy(a.p + off, &value, sizeof(value));
	fuzz_image_fix_checksums(a.p, a.len);
	return a;
}

/* Valid banks: each must open. */
static void
valid_seeds(struct img sm, struct img mx, struct img k8)
{
	struct img a;
	seed("v-empty-1x1", make_bank(0x1000, 1, NULL, 0), K_OK);
	seed("v-empty-16x3", make_bank(0x3000, 16, NULL, 0), K_OK);
	seed("v-one-block", make_bank(0x2000, 1, one_block, 0), K_OK);
	struct img fl = make_bank(0x4000, 4, full, 0);
	seed("v-full", dup_img(fl), K_OK);
	/* found by the fuzzer: a class bit past the last class passed the
	 * check, then sent pmm__space_alloc past class_head[] */
	hdr(fl)->arena[0].class_bits[1] |= 1ULL << 40;
	seed("v-index-class-bit", fl, K_OK);
	seed("v-keys16-freeall", make_bank(0x10000, 16, keys16_freed, 0),
			K_OK);
	seed("v-big-66-free", make_bank(0x43000, 2, big, 0), K_OK);
	seed("v-dead-holder", make_bank(0x8000, 8, mixed, 1), K_OK);
	seed("v-small", dup_img(sm), K_OK);
	seed("v-mixed", dup_img(mx), K_OK);
	seed("v-keys8", dup_img(k8), K_OK);
	a = dup_img(k8);
	pending_free_all(a, "blue");
	seed("v-redo-pending", a, K_OK);
	a = dup_img(k8);
	pending_free_all(a, "red");
	set_boot(a, NULL);
	seed("v-redo-pending-reboot", a, K_OK);
	a = dup_img(mx);
	set_boot(a, NULL);
	seed("v-reboot-zero-id", a, K_OK);
	a = dup_img(sm);
	set_boot(a, "0c6bd1f7-7a43-4c4e-9f5e-3b0c1b2a9d88");
	seed("v-reboot-other-id", a, K_OK);
	a = dup_img(mx);
	fill_index(a, 0, 0);
	seed("v-index-zeroed", a, K_OK);
	a = dup_img(mx);
	fill_index(a, 0xa5, 0);
	seed("v-index-garbage", a, K_OK);
	a = dup_img(sm);
	fill_index(a, 0xff, 64);
	seed("v-index-header-garbage", a, K_OK);
}

/* Damaged headers and files: each must fail with its code. */
static void
header_seeds(struct img sm)
{
	struct img a;
	size_t pg = 4096;
	a = dup_img(sm);
	a.len = 0;
	seed("d-empty-file", a, K_EFOREIGN);
	a = dup_img(sm);
	a.p[3] ^= 0x20;
	seed("d-bad-magic", a, K_EFOREIGN);
	a = dup_img(sm);
	a.len = 100;
	seed("d-short-header", a, K_ETRUNC);
	a = dup_img(sm);
	a.len -= pg;
	seed("d-truncated", a, K_ETRUNC);
	a = dup_img(sm);
	a.p = realloc(a.p, a.len + pg);
	memset(a.p + a.len, 0, pg);
	a.len += pg;
	seed("d-extended", a, K_ECORRUPT);
	a = dup_img(sm);
	hdr(a)->npages++;
	seed("d-header-checksum", a, K_ECORRUPT);
	a = dup_img(sm);
	hdr(a)->layout = PMM__LAYOUT + 1;
	seed("d-layout-next", a, K_EVERSION);
	a = dup_img(sm);
	hdr(a)->layout = PMM__LAYOUT_V1;
	seed("d-layout-1", a, K_EVERSION);
	a = dup_img(sm);
	hdr(a)->layout = PMM__LAYOUT_V2;
	seed("d-layout-2", a, K_EVERSION);
	a = dup_img(sm);
	hdr(a)->layout = PMM__LAYOUT_V3;
	seed("d-layout-3", a, K_EVERSION);
	a = dup_img(sm);
	hdr(a)->hdr_size = 64;
	fuzz_image_fix_checksums(a.p, a.len);
	seed("d-header-size", a, K_ECORRUPT);
#define OFF(f) offsetof(struct pmm__hdr, f)
	seed("d-index-off", hdr_field(sm, OFF(index_off), 3 * pg), K_ECORRUPT);
	seed("d-max-blocks-0", hdr_field(sm, OFF(max_blocks), 0), K_ECORRUPT);
	seed("d-max-blocks-huge", hdr_field(sm, OFF(max_blocks), 1ULL << 40),
			K_ECORRUPT);
	seed("d-page-size", hdr_field(sm, OFF(page_size), 8192), K_ECORRUPT);
	seed("d-file-size", hdr_field(sm, OFF(file_size), 1ULL << 62),
			K_ECORRUPT);
	seed("d-base-zero", hdr_field(sm, OFF(base), 0), K_ECORRUPT);
	seed("d-base-unaligned", hdr_field(sm, OFF(base), FUZZ_BASE + pg),
			K_ECORRUPT);
	seed("d-base-kernel", hdr_field(sm, OFF(base), 0xffff800000000000ULL),
			K_ECORRUPT);
	seed("d-base-top", hdr_field(sm, OFF(base), 1ULL << 47),
			K_ECORRUPT);
#undef OFF
	a = dup_img(sm);
	memset(hdr(a)->medium, 'M', sizeof(hdr(a)->medium));
	fuzz_image_fix_checksums(a.p, a.len);
	seed("d-medium-unterminated", a, K_ECORRUPT);
}

enum damage {
	D_STATE, D_PAGE, D_OUTSIDE, D_NO_PAGES, D_OVERLAP, D_DUP_NAME,
	D_NO_NAME, D_NAME_PAD, D_KEYSIZE, D_KEY_PAD
};

/* The entry seeds: v-small's entry 0 is "a" (page 0, key k1), entry 1 is
 * free, entry 2 is "c" (page 2, key k1); fix makes the checksum agree. */
static const struct {
	const char *name;
	uint32_t idx;
	enum damage what;
	int fix;
} entry_seeds[] = {
	{ "d-entry-state", 1, D_STATE, 0 },
	{ "d-entry-checksum", 2, D_PAGE, 0 },
	{ "d-entry-outside", 2, D_OUTSIDE, 1 },
	{ "d-entry-no-pages", 2, D_NO_PAGES, 1 },
	{ "d-entry-overlap", 2, D_OVERLAP, 1 },
	{ "d-entry-dup-name", 2, D_DUP_NAME, 1 },
	{ "d-entry-no-name", 2, D_NO_NAME, 1 },
	{ "d-entry-name-padding", 0, D_NAME_PAD, 1 },
	{ "d-entry-keysize", 0, D_KEYSIZE, 1 },
	{ "d-entry-key-padding", 0, D_KEY_PAD, 1 },
};

/* Damage one field of an entry. */
static void
damage(struct pmm__entry *e, enum damage what)
{
	switch (what) {
	case D_STATE: e->state = 0x1234; break;
	case D_PAGE: e->page++; break;
	case D_OUTSIDE: e->npages = 1u << 31; break;
	case D_NO_PAGES: e->npages = 0; break;
	case D_OVERLAP: e->page = 0; break;
	case D_DUP_NAME: strcpy(e->name, "a"); break;
	case D_NO_NAME: memset(e->name, 0, sizeof(e->name)); break;
	case D_NAME_PAD: e->name[62] = 'x'; break;
	case D_KEYSIZE: e->keysize = 33; break;
	case D_KEY_PAD: e->key[31] = 1; break;
	}
}

/* Damaged tables and redo records: each must fail as corrupt. */
static void
table_seeds(struct img sm)
{
	struct img a;
	for (size_t i = 0; i < sizeof(entry_seeds) / sizeof(entry_seeds[0]);
			i++) {
		a = dup_img(sm);
		damage(entry(a, entry_seeds[i].idx), entry_seeds[i].what);
		if (entry_seeds[i].fix)
			fuzz_image_fix_checksums(a.p, a.len);
		seed(entry_seeds[i].name, a, K_ECORRUPT);
	}
	a = dup_img(sm);
	pending_free_all(a, "k1");
	hdr(a)->log.seq++;
	seed("d-redo-checksum", a, K_ECORRUPT);
	a = dup_img(sm);
	pending_free_all(a, "k1");
	hdr(a)->log.keysize = 0;
	fuzz_image_fix_checksums(a.p, a.len);
	seed("d-redo-empty-key", a, K_ECORRUPT);
	a = dup_img(sm);
	pending_free_all(a, "k1");
	hdr(a)->log.valid = 1;
	seed("d-redo-bad-mark", a, K_ECORRUPT);
}

/* Write the corpus into argv[1]. */
int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	/* the banks are made in $PMM_DIR/make-corpus-PID (else /dev/shm) */
	const char *dir = getenv("PMM_DIR");
	if (snprintf(bank_dir, sizeof(bank_dir), "%s/make-corpus-%d",
				dir != NULL && *dir != 0 ? dir : "/dev/shm",
				(int)getpid()) >= (int)sizeof(bank_dir))
		die("PMM_DIR too long", 0);
	if (mkdir(bank_dir, 0700) != 0)
		die(bank_dir, 0);
	setenv("PMM_DIR", bank_dir, 1);
	setenv("PMM_CONF", "", 1);
	/* a real file: libpmm opens no bank through a link (/proc/self/fd) */
	if (snprintf(check_path, sizeof(check_path), "%s/check.pmm",
				bank_dir) >= (int)sizeof(check_path))
		die("PMM_DIR too long", 0);
	check_fd = open(check_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			0600);
	if (check_fd < 0)
		die(check_path, 0);
	struct img sm = make_bank(0x4000, 4, small, 0);
	struct img mx = make_bank(0x8000, 8, mixed, 0);
	struct img k8 = make_bank(0x8000, 16, keys8, 0);
	valid_seeds(sm, mx, k8);
	header_seeds(sm);
	table_seeds(sm);
	free(sm.p);
	free(mx.p);
	free(k8.p);
	close(check_fd);
	unlink(check_path);
	rmdir(bank_dir);
	bank_dir[0] = 0;
	printf("make-corpus: %u seeds, %u bytes, in %s\n", nseeds, nbytes,
			out_dir);
	return 0;
}

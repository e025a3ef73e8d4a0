/*
 * track_trace.c -- writes the trace that pmem-crashtest(1) reads: the
 * records of track.h, the base content of each file, and the call stack
 * of each persist point as (module, offset) pairs the tool symbolizes.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "track.h"

#define BUF_SIZE (256u * 1024)
#define STACK_SLOTS 4096

static int trace_fd = -1;
static char trace_dir[PATH_MAX];
static unsigned char *buf;
static size_t buf_len;

/* A call stack already recorded, by its raw return addresses. */
struct stack {
	uint64_t hash;
	uint32_t id;
	int n;
	void **pc;
};
static struct stack stacks[STACK_SLOTS];
static uint32_t nstacks;

/* Module load bases already recorded, by id. */
static uintptr_t modules[256];
static uint32_t nmodules;

/* Writes all of [p, p + n) to fd; 0 or -1. */
static int
write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* See track.h. */
int
pmem__trace_open(const char *dir)
{
	char path[PATH_MAX];
	if (strlen(dir) >= sizeof(trace_dir) ||
			snprintf(path, sizeof(path), "%s/trace.%ld", dir,
				(long)getpid()) >= (int)sizeof(path))
		return -1;
	strcpy(trace_dir, dir);
	buf = malloc(BUF_SIZE);
	if (buf == NULL)
		return -1;
	trace_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		O_NOFOLLOW, 0600);
	if (trace_fd < 0)
		return -1;
	uint64_t magic = PMEM_TRACE_MAGIC;
	return pmem__trace_rec2(PMEM_TRACE_START, &magic, sizeof(magic),
		NULL, 0);
}

/* See track.h. */
int
pmem__trace_flush(void)
{
	if (trace_fd < 0 || buf_len == 0)
		return 0;
	int ret = write_all(trace_fd, buf, buf_len);
	buf_len = 0;
	return ret;
}

/* Appends [p, p + n) to the buffer, writing it out when full; 0 or -1. */
static int
put(const void *p, size_t n)
{
	if (n > BUF_SIZE - buf_len && pmem__trace_flush() != 0)
		return -1;
	if (n > BUF_SIZE)
		return write_all(trace_fd, p, n);
	memcpy(buf + buf_len, p, n);
	buf_len += n;
	return 0;
}

/* See track.h. */
int
pmem__trace_rec(uint32_t type, const struct iovec *iov, int n)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (trace_fd < 0 || len > UINT32_MAX)
		return -1;
	struct pmem__trace_hdr h = { type, (uint32_t)len };
	if (put(&h, sizeof(h)) != 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len && put(iov[i].iov_base, iov[i].iov_len))
			return -1;
	return 0;
}

/* See track.h. */
int
pmem__trace_rec2(uint32_t type, const void *a, size_t alen, const void *b,
	size_t blen)
{
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
	return pmem__trace_rec(type, iov, 2);
}

/* See track.h. */
int
pmem__trace_base(int id, const void *data, size_t len)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/base.%ld.%d", trace_dir,
			(long)getpid(), id) >= (int)sizeof(path))
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	int ret = write_all(fd, data, len);
	if (close(fd) != 0)
		ret = -1;
	return ret;
}

/* The id of the module loaded at base (recording it when new), or -1. */
static int
module_id(uintptr_t base, const char *path)
{
	for (uint32_t i = 0; i < nmodules; i++)
		if (modules[i] == base)
			return (int)i;
	if (nmodules == sizeof(modules) / sizeof(modules[0]))
		return -1;
	uint32_t id = nmodules;
	if (pmem__trace_rec2(PMEM_TRACE_MODULE, &id, sizeof(id), path,
			strlen(path) + 1) != 0)
		return -1;
	modules[nmodules++] = base;
	return (int)id;
}

/* 1 when path is a sanitizer's runtime library. */
static int
is_sanitizer(const char *path)
{
	static const char *const rt[] = { "libasan.so", "libubsan.so",
		"liblsan.so", "libtsan.so" };
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++)
		if (strncmp(b, rt[i], strlen(rt[i])) == 0)
			return 1;
	return 0;
}

/* Records a new stack: its frames outside libpmem, as module offsets. */
static void
record_stack(uint32_t id, void **pc, int n)
{
	struct pmem__trace_frame fr[PMEM_TRACE_MAX_FRAMES];
	Dl_info self, di;
	uint32_t k = 0;
	int self_is_lib = dladdr((void *)pmem__trace_stack, &self) != 0 &&
		self.dli_fname != NULL &&
		strstr(self.dli_fname, "libpmem.so") != NULL;

	for (int i = 0; i < n && k < PMEM_TRACE_MAX_FRAMES; i++) {
		/* a return address: the call is the byte before */
		void *at = (char *)pc[i] - 1;
		if (dladdr(at, &di) == 0 || di.dli_fname == NULL)
			continue;
		/* libpmem's own frames, unless it is linked into the program,
		 * and a sanitizer's interceptor of backtrace() */
		if ((self_is_lib && di.dli_fbase == self.dli_fbase) ||
				is_sanitizer(di.dli_fname))
			continue;
		const char *name = di.dli_fname;
		char exe[PATH_MAX];
		if (name[0] != '/') {
			/* the main program, named as it was run */
			ssize_t r = readlink("/proc/self/exe", exe,
				sizeof(exe) - 1);
			exe[r > 0 ? r : 0] = '\0';
			if (r > 0)
				name = exe;
		}
		int m = module_id((uintptr_t)di.dli_fbase, name);
		if (m < 0)
			continue;
		/* addr2line wants link-time addresses: absolute in ET_EXEC */
		const Elf64_Ehdr *eh = di.dli_fbase;
		uintptr_t off = (uintptr_t)at - (eh->e_type == ET_EXEC ? 0 :
			(uintptr_t)di.dli_fbase);
		fr[k++] = (struct pmem__trace_frame){ (uint32_t)m, 0, off };
	}
	struct pmem__trace_stack s = { id, k };
	(void)pmem__trace_rec2(PMEM_TRACE_STACK, &s, sizeof(s), fr,
		k * sizeof(fr[0]));
}

/* Hashes a return-address array (FNV-1a over the pointers). */
static uint64_t
hash_pcs(void **pc, int n)
{
	uint64_t h = 1469598103934665603ULL;
	for (int i = 0; i < n; i++) {
		h ^= (uint64_t)(uintptr_t)pc[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* See track.h. */
uint32_t
pmem__trace_stack(void)
{
	void *pc[PMEM_TRACE_MAX_FRAMES + 8];
	int n = backtrace(pc, PMEM_TRACE_MAX_FRAMES + 8);
	uint64_t h = hash_pcs(pc, n);
	size_t slot = (size_t)(h % STACK_SLOTS);

	for (size_t i = 0; i < STACK_SLOTS; i++) {
		struct stack *s = &stacks[(slot + i) % STACK_SLOTS];
		if (s->pc == NULL) {
			/* new: record it (and remember it while there is room) */
			uint32_t id = nstacks++;
			record_stack(id, pc, n);
			if (nstacks < STACK_SLOTS * 3 / 4) {
				s->pc = malloc((size_t)n * sizeof(void *));
				if (s->pc != NULL) {
					memcpy(s->pc, pc, (size_t)n *
						sizeof(void *));
					s->hash = h;
					s->id = id;
					s->n = n;
				}
			}
			return id;
		}
		if (s->hash == h && s->n == n &&
				memcmp(s->pc, pc, (size_t)n * sizeof(void *)) == 0)
			return s->id;
	}
	uint32_t id = nstacks++;
	record_stack(id, pc, n);
	return id;
}

/*
 * test_memops.c -- pmem_memmove/memcpy/memset on every copy path this CPU
 * supports: every length and offset, overlap both ways, every flag; guard
 * bytes prove nothing outside the range is written.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "common.h"
#include "cpu.h"
#include "libpmem.h"
#include "ops.h"
#include "options.h"

#define GUARD 0xA5
#define PAD 128

/*
 * The paths: every instruction set crossed with every flush, chosen
 * through the same variables a user sets, plus libc's memmove.
 */
struct choice {
	const char *name;
	const char *env[3];
	int (*has)(const struct pmem__cpu *c);
};

/* CPU predicates for the choices. */
static int has_any(const struct pmem__cpu *c) { (void)c; return 1; }
static int has_avx512f(const struct pmem__cpu *c) { return c->avx512f; }
static int has_avx2(const struct pmem__cpu *c) { return c->avx2; }
static int has_clwb(const struct pmem__cpu *c) { return c->clwb; }
static int has_clflushopt(const struct pmem__cpu *c) { return c->clflushopt; }

static const struct choice isas[] = {
	{ "avx512f", { NULL }, has_avx512f },
	{ "avx2", { "PMEM_AVX512F=0", NULL }, has_avx2 },
	{ "sse2", { "PMEM_AVX512F=0", "PMEM_AVX=0", NULL }, has_any },
	{ "generic", { "PMEM_NO_MOVNT=1", NULL }, has_any },
	{ "libc", { "PMEM_NO_MOVNT=1", "PMEM_NO_GENERIC_MEMCPY=1", NULL },
		has_any },
};
static const struct choice flushes[] = {
	{ "clwb", { NULL }, has_clwb },
	{ "clflushopt", { "PMEM_NO_CLWB=1", NULL }, has_clflushopt },
	{ "clflush", { "PMEM_NO_CLWB=1", "PMEM_NO_CLFLUSHOPT=1", NULL },
		has_any },
	{ "noflush", { "PMEM_NO_FLUSH=1", NULL }, has_any },
};
#define NISAS (sizeof(isas) / sizeof(isas[0]))
#define NFLUSHES (sizeof(flushes) / sizeof(flushes[0]))
#define NPATHS (NISAS * NFLUSHES)
/* libc's memmove makes no 8-byte-store promise: the last ISA is left out */
#define NSTORE_PATHS ((NISAS - 1) * NFLUSHES)
/* the vector kernels, the only ones that stream (the first three ISAs) */
#define NSIMD_PATHS (3 * NFLUSHES)

static const struct choice *cur_isa, *cur_flush;

/* getenv over the current path's settings. */
static char *
path_getenv(const char *name)
{
	size_t n = strlen(name);
	const struct choice *both[] = { cur_isa, cur_flush };
	for (int b = 0; b < 2; b++)
		for (const char *const *e = both[b]->env; *e; e++)
			if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
				return (char *)*e + n + 1;
	return NULL;
}

/* Installs path i in the live table; 0 when the CPU lacks what it needs. */
static int
use_path(size_t i)
{
	struct pmem__cpu c;
	struct pmem__options o;
	pmem__cpu_detect(&c);
	cur_isa = &isas[i / NFLUSHES];
	cur_flush = &flushes[i % NFLUSHES];
	if (!cur_isa->has(&c) || !cur_flush->has(&c)) {
		printf("skipped path %s+%s: the CPU (as this process sees it) "
			"lacks %s\n", cur_isa->name, cur_flush->name,
			cur_isa->has(&c) ? cur_flush->name : cur_isa->name);
		return 0;
	}
	pmem__options_read(&o, path_getenv);
	pmem__ops_select(&pmem__ops, &c, &o, 0);
	if (strcmp(cur_isa->name, "libc") != 0) {
		char want[64];
		snprintf(want, sizeof(want), "%s+%s", cur_isa->name,
			cur_flush->name);
		ck_assert_str_eq(pmem__ops.memmove_name, want);
	}
	return 1;
}

/* Sweep bounds: complete natively, sampled under valgrind. */
#define SWEEP_MAX 4160
static size_t len_step(void) { return test_under_valgrind() ? 97 : 1; }
static size_t off_step(void) { return test_under_valgrind() ? 9 : 1; }

static uint8_t dst[PAD + SWEEP_MAX + 256 + PAD] __attribute__((aligned(64)));
static uint8_t ref[sizeof(dst)] __attribute__((aligned(64)));
static uint8_t src[SWEEP_MAX + 128] __attribute__((aligned(64)));

/* Fills src with a pattern that differs at every byte of a line. */
static void
fill_src(void)
{
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 3);
}

/* Resets the window [PAD - 64, PAD + 64 + len + 64) of dst and ref. */
static void
reset(size_t len, int c)
{
	memset(dst + PAD - 64, c, len + 192);
	memset(ref + PAD - 64, c, len + 192);
}

/*
 * Compares the window of dst with ref and reports the first difference.
 * The sweeps use no ck_assert: in fork mode each one is a system call.
 */
static void
expect_ref(const char *what, size_t len, size_t doff, size_t soff)
{
	const uint8_t *a = dst + PAD - 64, *b = ref + PAD - 64;
	size_t n = len + 192;
	if (memcmp(a, b, n) == 0)
		return;
	size_t k = 0;
	while (a[k] == b[k])
		k++;
	ck_abort_msg("%s %s: len %zu dst+%zu src+%zu: byte %zd is %#x, "
		"want %#x", pmem__ops.memmove_name, what, len, doff, soff,
		(ssize_t)k - 64 - (ssize_t)doff, a[k], b[k]);
}

/* One copy into the guarded window, checked against memcpy. */
static void
copy_one(size_t len, size_t d, size_t s, unsigned flags, int use_memcpy)
{
	reset(len, GUARD);
	memcpy(ref + PAD + d, src + s, len);
	void *r = use_memcpy ?
		pmem_memcpy(dst + PAD + d, src + s, len, flags) :
		pmem_memmove(dst + PAD + d, src + s, len, flags);
	if (r != dst + PAD + d)
		ck_abort_msg("copy returned %p, not dest", r);
	expect_ref("copy", len, d, s);
}

/*
 * Every length 0..4160 at every destination offset 0..63 (the source
 * offset moves with them, so every pair of offsets occurs), and every
 * pair of offsets for the lengths around the vector and line sizes.
 */
static void
sweep_copy(unsigned flags, int use_memcpy)
{
	static const size_t edge[] = { 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63,
		64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513 };
	fill_src();
	for (size_t len = 0; len <= SWEEP_MAX; len += len_step())
		for (size_t d = 0; d < 64; d += off_step())
			copy_one(len, d, (len * 5 + d * 3) % 64, flags,
				use_memcpy);
	for (size_t e = 0; e < sizeof(edge) / sizeof(edge[0]); e++)
		for (size_t d = 0; d < 64; d += off_step())
			for (size_t s = 0; s < 64; s += off_step())
				copy_one(edge[e], d, s, flags, use_memcpy);
}

/* Every length and offset of a fill. */
static void
sweep_set(unsigned flags)
{
	for (size_t len = 0; len <= SWEEP_MAX; len += len_step())
	for (size_t d = 0; d < 64; d += off_step()) {
		int c = (int)(len + d) & 0xff;
		reset(len, GUARD);
		memset(ref + PAD + d, c, len);
		if (pmem_memset(dst + PAD + d, c, len, flags) != dst + PAD + d)
			ck_abort_msg("memset did not return dest");
		expect_ref("set", len, d, 0);
	}
}

/* Overlapping moves, both directions, against libc's memmove. */
static void
sweep_overlap(unsigned flags)
{
	size_t lens[] = { 1, 7, 8, 9, 63, 64, 65, 200, 255, 256, 1000, 4096,
		4160 };
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
	for (size_t d = 0; d < 64; d += off_step() * 3)
	for (size_t shift = 1; shift < 80; shift += off_step() * 5) {
		size_t len = lens[li];
		for (int dir = 0; dir < 2; dir++) {
			size_t so = dir ? d + shift : d, dof = dir ? d : d + shift;
			for (size_t i = PAD - 64; i < PAD + len + 256; i++)
				dst[i] = ref[i] = (uint8_t)(i * 13);
			memmove(ref + PAD + dof, ref + PAD + so, len);
			pmem_memmove(dst + PAD + dof, dst + PAD + so, len,
				flags);
			expect_ref(dir ? "overlap-down" : "overlap-up",
				len + 80, dof, so);
		}
	}
}

#define LARGE ((1 << 20) + 3)
static uint8_t large_dst[LARGE + 2 * PAD], large_src[LARGE];

/* Large copies and fills across many lines. */
static void
sweep_large(unsigned flags)
{
	size_t lens[] = { 4096 + 13, 65536 + 7, LARGE };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];
		uint8_t *a = large_dst, *b = large_src;
		for (size_t k = 0; k < len; k++)
			b[k] = (uint8_t)(k * 31 + i);
		memset(a, GUARD, len + 2 * PAD);
		pmem_memcpy(a + PAD + 5, b, len - 5, flags);
		ck_assert_int_eq(memcmp(a + PAD + 5, b, len - 5), 0);
		ck_assert_int_eq(a[PAD + 4], GUARD);
		ck_assert_int_eq(a[PAD + len], GUARD);
		pmem_memset(a + PAD + 3, 0x5c, len - 3, flags);
		memset(b, 0x5c, len - 3);
		ck_assert_int_eq(memcmp(a + PAD + 3, b, len - 3), 0);
		ck_assert_int_eq(a[PAD + 2], GUARD);
		ck_assert_int_eq(a[PAD + len], GUARD);
	}
}

/* The flag sets swept: none, each alone, and all together. */
static const unsigned flag_sets[] = {
	0, PMEM_F_MEM_NODRAIN, PMEM_F_MEM_NONTEMPORAL, PMEM_F_MEM_TEMPORAL,
	PMEM_F_MEM_WC, PMEM_F_MEM_WB, PMEM_F_MEM_NOFLUSH,
	PMEM_F_MEM_NODRAIN | PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_WC,
	PMEM_F_MEM_VALID_FLAGS,
};
#define NFLAGS (sizeof(flag_sets) / sizeof(flag_sets[0]))

/* The whole copy sweep on one path (the loop index is the path). */
START_TEST(test_copy_sweep)
{
	if (!use_path((size_t)_i))
		return;
	sweep_copy(0, 0);
	sweep_copy(PMEM_F_MEM_NONTEMPORAL, 1);
	sweep_copy(PMEM_F_MEM_TEMPORAL | PMEM_F_MEM_NODRAIN, 0);
}
END_TEST

/* The whole fill sweep on one path. */
START_TEST(test_set_sweep)
{
	if (!use_path((size_t)_i))
		return;
	sweep_set(0);
	sweep_set(PMEM_F_MEM_WC);
	sweep_set(PMEM_F_MEM_WB | PMEM_F_MEM_NOFLUSH);
}
END_TEST

/* Overlap and every flag set, on one path. */
START_TEST(test_overlap_flags)
{
	if (!use_path((size_t)_i))
		return;
	for (size_t f = 0; f < NFLAGS; f++) {
		sweep_overlap(flag_sets[f]);
		sweep_large(flag_sets[f]);
	}
}
END_TEST

/* The _persist and _nodrain forms copy like the flagged calls. */
START_TEST(test_wrappers)
{
	uint8_t a[300], b[300];
	fill_src();
	memset(a, 0, sizeof(a));
	ck_assert_ptr_eq(pmem_memcpy_persist(a, src, 200), a);
	ck_assert_int_eq(memcmp(a, src, 200), 0);
	ck_assert_ptr_eq(pmem_memmove_persist(a + 1, a, 200), a + 1);
	memmove(b, src, 200);
	ck_assert_int_eq(memcmp(a + 1, b, 200), 0);
	ck_assert_ptr_eq(pmem_memset_persist(a, 9, 100), a);
	ck_assert_int_eq(a[99], 9);
	ck_assert_ptr_eq(pmem_memcpy_nodrain(a, src + 1, 50), a);
	ck_assert_int_eq(memcmp(a, src + 1, 50), 0);
	ck_assert_ptr_eq(pmem_memmove_nodrain(a, a + 10, 50), a);
	ck_assert_ptr_eq(pmem_memset_nodrain(a, 1, 1), a);
	ck_assert_int_eq(a[0], 1);
	pmem_drain();
}
END_TEST

/* Destination of the single-stepped copies; old words are all 0x11. */
static uint64_t step_dst[64] __attribute__((aligned(64)));
static uint64_t step_src[64];

/* Child of the stepper: stops, copies or fills once, exits. */
static void
stepped_child(size_t off, size_t len, int fill)
{
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
		_exit(77);
	raise(SIGSTOP);
	if (fill)
		pmem_memset((char *)step_dst + off, 0x77, len, 0);
	else
		pmem_memcpy((char *)step_dst + off, step_src, len, 0);
	raise(SIGSTOP);
	_exit(0);
}

/*
 * Checks the child's destination: 0 if a word is neither old nor final
 * (*bad is its index), 1 if some word is still old, 2 if all are final.
 */
static int
words_whole(pid_t pid, const uint64_t *final, size_t *bad)
{
	uint64_t now[64];
	struct iovec l = { now, sizeof(now) }, r = { step_dst, sizeof(now) };
	int done = 2;
	ck_assert_int_eq(process_vm_readv(pid, &l, 1, &r, 1, 0),
		(ssize_t)sizeof(now));
	for (size_t i = 0; i < 64; i++) {
		if (now[i] == final[i])
			continue;
		if (now[i] != 0x1111111111111111ull) {
			*bad = i;
			return 0;
		}
		done = 1;
	}
	return done;
}

/*
 * Single-steps one copy in a child and checks after every instruction
 * that no 8-byte word was half written, until every word is final; then
 * lets the child run to its second stop (after the call) and checks that
 * nothing changed.  Returns the steps taken, or -1 when ptrace is denied.
 */
static long
step_one(size_t off, size_t len, int fill)
{
	uint64_t final[64];
	memcpy(final, step_dst, sizeof(final));
	if (fill)
		memset((char *)final + off, 0x77, len);
	else
		memcpy((char *)final + off, step_src, len);

	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		stepped_child(off, len, fill);
	int st, state;
	long steps = 0;
	size_t bad = 0;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st))
		return -1;
	while ((state = words_whole(pid, final, &bad)) == 1) {
		ck_assert_int_eq(ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL), 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP,
			"child left single-step before the copy ended");
		steps++;
	}
	if (state == 2) {	/* run to the stop after the call */
		ck_assert_int_eq(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
		state = words_whole(pid, final, &bad);
	}
	if (state != 2) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		ck_abort_msg("%s %s off %zu len %zu: word %zu %s after %ld "
			"instructions", pmem__ops.memmove_name,
			fill ? "memset" : "memcpy", off, len, bad,
			state ? "changed after the copy" : "torn", steps);
	}
	ck_assert_int_eq(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return steps;
}

/* 8-byte-aligned destination and length: only whole 8-byte stores. */
START_TEST(test_eight_byte_stores)
{
	static const size_t offs[] = { 0, 56 };
	static const size_t lens[] = { 8, 72, 384 };
	if (test_under_valgrind()) {
		printf("skipped: valgrind does not run the real instructions\n");
		return;
	}
	if (!use_path((size_t)_i))
		return;
	for (size_t i = 0; i < 64; i++)
		step_src[i] = 0x0102030405060708ull * (i + 3);
	for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
	for (int fill = 0; fill < 2; fill++) {
		memset(step_dst, 0x11, sizeof(step_dst));
		if (step_one(offs[o], lens[l], fill) < 0) {
			printf("skipped: ptrace is not permitted here\n");
			return;
		}
	}
}
END_TEST

/* Child of the fence test: a persisting streamed copy, then a stop. */
static void
fence_child(size_t len)
{
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
		_exit(77);
	raise(SIGSTOP);
	pmem_memcpy((char *)step_dst, step_src, len, PMEM_F_MEM_NONTEMPORAL);
	raise(SIGSTOP);
	_exit(0);
}

/* 1 if the child is about to execute sfence or mfence. */
static int
at_fence(pid_t pid)
{
	struct user_regs_struct regs;
	ck_assert_int_eq(ptrace(PTRACE_GETREGS, pid, NULL, &regs), 0);
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)regs.rip, NULL);
	ck_assert_int_eq(errno, 0);
	const unsigned char *b = (const unsigned char *)&word;
	return b[0] == 0x0f && b[1] == 0xae && (b[2] == 0xf8 || b[2] == 0xf0);
}

/*
 * A persisting streamed copy executes a fence after its last store on
 * every path: the drain's sfence, or the kernel's own where the drain is
 * empty (clflush, or no flush).  Single-steps from the last store to the
 * stop after the call.
 */
START_TEST(test_fence_after_nt)
{
	if (test_under_valgrind()) {
		printf("skipped: valgrind does not run the real instructions\n");
		return;
	}
	if (!use_path((size_t)_i))
		return;
	for (size_t i = 0; i < 64; i++)
		step_src[i] = 0x0807060504030201ull * (i + 5);
	memset(step_dst, 0x11, sizeof(step_dst));
	uint64_t final[64];
	memcpy(final, step_dst, sizeof(final));
	memcpy(final, step_src, 384);

	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		fence_child(384);
	int st;
	size_t bad;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st)) {
		printf("skipped: ptrace is not permitted here\n");
		return;
	}
	int copied = 0, fenced = 0;
	for (;;) {
		int state = words_whole(pid, final, &bad);
		ck_assert_int_ne(state, 0);
		if (state == 2 && !copied)
			copied = 1;
		if (copied && at_fence(pid))
			fenced = 1;
		ck_assert_int_eq(ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL), 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert(WIFSTOPPED(st));
		if (WSTOPSIG(st) == SIGSTOP)
			break;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	ck_assert_msg(copied, "%s: the copy never completed",
		pmem__ops.memmove_name);
	ck_assert_msg(fenced, "%s: no fence after the streamed stores",
		pmem__ops.memmove_name);
}
END_TEST

/* Builds the suite: each sweep runs once per path. */
static Suite *
suite(void)
{
	Suite *s = suite_create("memops");
	TCase *tc = test_case(s, "copy", 300);
	tcase_add_loop_test(tc, test_copy_sweep, 0, NPATHS);
	tc = test_case(s, "set", 120);
	tcase_add_loop_test(tc, test_set_sweep, 0, NPATHS);
	tc = test_case(s, "overlap_flags", 120);
	tcase_add_loop_test(tc, test_overlap_flags, 0, NPATHS);
	tc = test_case(s, "wrappers", 10);
	tcase_add_test(tc, test_wrappers);
	tc = test_case(s, "atomicity", 60);
	/* libc's memmove makes no 8-byte-store promise: generic paths only */
	tcase_add_loop_test(tc, test_eight_byte_stores, 0, NSTORE_PATHS);
	tcase_add_loop_test(tc, test_fence_after_nt, 0, NSIMD_PATHS);
	return s;
}

int
main(void)
{
	return test_run(suite());
}

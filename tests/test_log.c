/*
 * test_log.c -- PMDK 2.1's log calls through the shared library:
 * pmem_log_set_function, pmem_log_set_threshold, pmem_log_get_threshold,
 * their error paths, and their meeting with PMEM_LOG_LEVEL's log.
 */
#include <limits.h>
#include <sys/wait.h>

#include <libpmem.h>
#include "common.h"

#define MAX_SEEN 16

/* What the recording log function received. */
static struct seen {
	enum pmem_log_level level;
	char file[64];
	unsigned line;
	char func[64];
	char msg[512];
} seen[MAX_SEEN];
static int nseen;

/* The recording log function. */
static void
rec_fn(enum pmem_log_level level, const char *file_name, unsigned line_no,
	const char *function_name, const char *message)
{
	if (nseen >= MAX_SEEN)
		return;
	struct seen *s = &seen[nseen++];
	s->level = level;
	snprintf(s->file, sizeof(s->file), "%s", file_name ? file_name : "");
	s->line = line_no;
	snprintf(s->func, sizeof(s->func), "%s",
		function_name ? function_name : "");
	snprintf(s->msg, sizeof(s->msg), "%s", message);
}

/* A log function that calls back into the library, which then logs. */
static void
reentrant_fn(enum pmem_log_level level, const char *file_name,
	unsigned line_no, const char *function_name, const char *message)
{
	rec_fn(level, file_name, line_no, function_name, message);
	size_t mlen;
	(void)pmem_map_file("/nonexistent-dir/log-reentry", 0, 0, 0, &mlen,
		NULL);
}

/* Makes one failing call: an error message from map.c. */
static void
fail_once(void)
{
	size_t mlen;
	errno = 0;
	ck_assert_ptr_null(pmem_map_file("/nonexistent-dir/log-test", 0, 0,
		0, &mlen, NULL));
	ck_assert_int_eq(errno, ENOENT);
}

/* Maps and unmaps a small file: a NOTICE about the mapping. */
static void
map_once(void)
{
	char path[PATH_MAX];
	size_t mlen;
	test_path(path, sizeof(path), "log");
	void *p = pmem_map_file(path, 4096, PMEM_FILE_CREATE, 0600, &mlen,
		NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);
	unlink(path);
}

/* Defaults: PMDK 2.1's, WARNING and HARK, when PMEM_LOG_LEVEL is unset. */
START_TEST(test_defaults)
{
	enum pmem_log_level v = PMEM_LOG_LEVEL_DEBUG;
	ck_assert_ptr_null(getenv("PMEM_LOG_LEVEL"));
	ck_assert_int_eq(pmem_log_get_threshold(PMEM_LOG_THRESHOLD, &v), 0);
	ck_assert_int_eq(v, PMEM_LOG_LEVEL_WARNING);
	ck_assert_int_eq(pmem_log_get_threshold(PMEM_LOG_THRESHOLD_AUX, &v),
		0);
	ck_assert_int_eq(v, PMEM_LOG_LEVEL_HARK);
}
END_TEST

/* Every level on both thresholds reads back as set. */
START_TEST(test_set_get)
{
	static const enum pmem_log_threshold th[] = { PMEM_LOG_THRESHOLD,
		PMEM_LOG_THRESHOLD_AUX };
	for (int t = 0; t < 2; t++)
		for (int l = PMEM_LOG_LEVEL_HARK; l <= PMEM_LOG_LEVEL_DEBUG;
				l++) {
			enum pmem_log_level v = (enum pmem_log_level)-1;
			ck_assert_int_eq(pmem_log_set_threshold(th[t],
				(enum pmem_log_level)l), 0);
			ck_assert_int_eq(pmem_log_get_threshold(th[t], &v), 0);
			ck_assert_int_eq(v, l);
		}
}
END_TEST

/* A bad threshold: 1, EINVAL, a message; nothing changes. */
START_TEST(test_bad_threshold)
{
	static const int bad[] = { 2, 3, -1, INT_MAX, INT_MIN };
	enum pmem_log_level v;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_int_eq(pmem_log_set_threshold(
			(enum pmem_log_threshold)bad[i],
			PMEM_LOG_LEVEL_DEBUG), 1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "threshold"));
		v = PMEM_LOG_LEVEL_INFO;
		errno = 0;
		ck_assert_int_eq(pmem_log_get_threshold(
			(enum pmem_log_threshold)bad[i], &v), 1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(v, PMEM_LOG_LEVEL_INFO);
	}
	ck_assert_int_eq(pmem_log_get_threshold(PMEM_LOG_THRESHOLD, &v), 0);
	ck_assert_int_eq(v, PMEM_LOG_LEVEL_WARNING);
	ck_assert_int_eq(pmem_log_get_threshold(PMEM_LOG_THRESHOLD_AUX, &v),
		0);
	ck_assert_int_eq(v, PMEM_LOG_LEVEL_HARK);
}
END_TEST

/* A bad level: 1, EINVAL, a message; the threshold keeps its value. */
START_TEST(test_bad_level)
{
	static const int bad[] = { PMEM_LOG_LEVEL_DEBUG + 1, 100, -1,
		INT_MIN };
	for (int t = PMEM_LOG_THRESHOLD; t <= PMEM_LOG_THRESHOLD_AUX; t++) {
		ck_assert_int_eq(pmem_log_set_threshold(
			(enum pmem_log_threshold)t, PMEM_LOG_LEVEL_NOTICE), 0);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			errno = 0;
			ck_assert_int_eq(pmem_log_set_threshold(
				(enum pmem_log_threshold)t,
				(enum pmem_log_level)bad[i]), 1);
			ck_assert_int_eq(errno, EINVAL);
			ck_assert_ptr_nonnull(strstr(pmem_errormsg(),
				"level"));
		}
		enum pmem_log_level v;
		ck_assert_int_eq(pmem_log_get_threshold(
			(enum pmem_log_threshold)t, &v), 0);
		ck_assert_int_eq(v, PMEM_LOG_LEVEL_NOTICE);
	}
}
END_TEST

/* A NULL value pointer: 1, EINVAL, a message, no crash. */
START_TEST(test_get_null)
{
	errno = 0;
	ck_assert_int_eq(pmem_log_get_threshold(PMEM_LOG_THRESHOLD, NULL), 1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "NULL"));
	errno = 0;
	ck_assert_int_eq(pmem_log_get_threshold(PMEM_LOG_THRESHOLD_AUX, NULL),
		1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* A user function gets an error with its level, place and text. */
START_TEST(test_function_gets_error)
{
	nseen = 0;
	ck_assert_int_eq(pmem_log_set_function(rec_fn), 0);
	fail_once();
	ck_assert_int_eq(nseen, 1);
	ck_assert_int_eq(seen[0].level, PMEM_LOG_LEVEL_ERROR);
	ck_assert_str_eq(seen[0].msg, pmem_errormsg());
	ck_assert_ptr_nonnull(strstr(seen[0].msg, "log-test"));
	ck_assert_str_eq(seen[0].file, "errormsg.c");
	ck_assert_uint_gt(seen[0].line, 0);
	ck_assert_str_eq(seen[0].func, "pmem__err");
}
END_TEST

/* The main threshold decides what reaches the function. */
START_TEST(test_threshold_gates)
{
	ck_assert_int_eq(pmem_log_set_function(rec_fn), 0);
	nseen = 0;
	map_once();
	ck_assert_int_eq(nseen, 0);	/* NOTICE is below WARNING */

	ck_assert_int_eq(pmem_log_set_threshold(PMEM_LOG_THRESHOLD,
		PMEM_LOG_LEVEL_NOTICE), 0);
	map_once();
	ck_assert_int_ge(nseen, 1);
	ck_assert_int_eq(seen[0].level, PMEM_LOG_LEVEL_NOTICE);
	ck_assert_ptr_nonnull(strstr(seen[0].msg, "mapped "));
	ck_assert_str_eq(seen[0].file, "map.c");

	ck_assert_int_eq(pmem_log_set_threshold(PMEM_LOG_THRESHOLD,
		PMEM_LOG_LEVEL_FATAL), 0);
	nseen = 0;
	fail_once();
	map_once();
	ck_assert_int_eq(nseen, 0);	/* ERROR is below FATAL */
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "log-test"));

	ck_assert_int_eq(pmem_log_set_threshold(PMEM_LOG_THRESHOLD,
		PMEM_LOG_LEVEL_HARK), 0);
	fail_once();
	ck_assert_int_eq(nseen, 0);
}
END_TEST

/* Runs fail_once() in a child with stderr in a file; returns its text. */
static void
stderr_of_failure(char *out, size_t size)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "logerr");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (freopen(path, "w", stderr) == NULL)
			_exit(99);
		size_t mlen;
		(void)pmem_map_file("/nonexistent-dir/log-test", 0, 0, 0,
			&mlen, NULL);
		fflush(stderr);
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ssize_t n = read(fd, out, size - 1);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	close(fd);
	unlink(path);
}

/*
 * The default function writes to stderr what the auxiliary threshold
 * lets through (HARK by default: nothing); PMEM_LOG_USE_DEFAULT_FUNCTION
 * brings it back after a user function.
 */
START_TEST(test_default_function)
{
	char out[2048];
	stderr_of_failure(out, sizeof(out));
	ck_assert_str_eq(out, "");

	ck_assert_int_eq(pmem_log_set_threshold(PMEM_LOG_THRESHOLD_AUX,
		PMEM_LOG_LEVEL_ERROR), 0);
	ck_assert_int_eq(pmem_log_set_function(rec_fn), 0);
	nseen = 0;
	stderr_of_failure(out, sizeof(out));
	ck_assert_str_eq(out, "");	/* the user function had it */

	ck_assert_int_eq(pmem_log_set_function(PMEM_LOG_USE_DEFAULT_FUNCTION),
		0);
	nseen = 0;
	stderr_of_failure(out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, "<libpmem>: <1> "));
	ck_assert_ptr_nonnull(strstr(out, "log-test"));
	fail_once();
	ck_assert_int_eq(nseen, 0);
}
END_TEST

/* A log function that calls the library is not re-entered. */
START_TEST(test_reentrant_function)
{
	nseen = 0;
	ck_assert_int_eq(pmem_log_set_function(reentrant_fn), 0);
	fail_once();
	ck_assert_int_eq(nseen, 1);
	fail_once();
	ck_assert_int_eq(nseen, 2);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = test_case(s, "thresholds", 10);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_set_get);
	tcase_add_test(tc, test_bad_threshold);
	tcase_add_test(tc, test_bad_level);
	tcase_add_test(tc, test_get_null);
	tc = test_case(s, "function", 10);
	tcase_add_test(tc, test_function_gets_error);
	tcase_add_test(tc, test_threshold_gates);
	tcase_add_test(tc, test_default_function);
	tcase_add_test(tc, test_reentrant_function);
	return s;
}

int
main(void)
{
	return test_run(suite());
}

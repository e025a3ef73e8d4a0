/*
 * crashtest-report.c -- what pmem-crashtest(1) tells: progress on a
 * terminal, then every failed image with its persist point symbolized by
 * addr2line(1), the lines it differs by, and how to reproduce it; as text
 * or, with --json, as one JSON object.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashtest.h"

/* A symbolized frame: the functions inlined at it, innermost first, less
 * libpmem's own inline wrappers (pmem_persist is one in <libpmem.h>). */
struct sym {
	uint32_t module;
	uint64_t offset;
	unsigned n;
	char *func[8], *where[8];	/* "??" and "??:0" when unknown */
};
static struct sym *syms;
static size_t nsyms;

/* See crashtest.h. */
void
ct_err(const char *fmt, ...)
{
	va_list ap;
	fputs("pmem-crashtest: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* See crashtest.h. */
void
ct_progress(struct ct_state *s, uint64_t total, int final)
{
	static uint64_t last;
	if (s->o->quiet || s->o->json || !isatty(2))
		return;
	if (!final && s->points - last < 64 && s->points != total)
		return;
	last = s->points;
	fprintf(stderr, "\rpoint %lu/%lu  images %lu  checked %lu  "
		"failed %lu ", (unsigned long)s->points, (unsigned long)total,
		(unsigned long)s->images, (unsigned long)s->unique,
		(unsigned long)s->failed);
	if (final)
		fputc('\n', stderr);
}

/* 1 when a place is in libpmem's installed headers (inline wrappers). */
static int
libpmem_header(const char *where)
{
	static const char *const h[] = { "/libpmem.h:", "/pmem.h:" };
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (strstr(where, h[i]) != NULL)
			return 1;
	return 0;
}

/* Runs addr2line on module m for the given offsets; fills syms. */
static void
symbolize_module(const char *module, uint32_t m, const uint64_t *off,
	size_t n)
{
	FILE *in = tmpfile();
	int pfd[2];
	if (in == NULL || pipe(pfd) != 0) {
		if (in)
			fclose(in);
		return;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(in, "0x%lx\n", (unsigned long)off[i]);
	fflush(in);
	rewind(in);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fileno(in), 0);
		dup2(pfd[1], 1);
		close(pfd[0]);
		int null = open("/dev/null", 1);
		if (null >= 0)
			dup2(null, 2);
		execlp("addr2line", "addr2line", "-a", "-f", "-i", "-C", "-e",
			module, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	fclose(in);
	FILE *out = fdopen(pfd[0], "r");
	char fn[1024], wh[4096];
	struct sym *y = NULL;
	/* -a: each address comes first, then its function/place pairs */
	while (out && fgets(fn, sizeof(fn), out)) {
		fn[strcspn(fn, "\n")] = '\0';
		if (strncmp(fn, "0x", 2) == 0) {
			y = &syms[nsyms++];
			*y = (struct sym){ m, strtoull(fn, NULL, 16), 0, { 0 },
				{ 0 } };
			continue;
		}
		if (!fgets(wh, sizeof(wh), out) || y == NULL)
			break;
		wh[strcspn(wh, "\n")] = '\0';
		char *sp = strstr(wh, " (discriminator");
		if (sp)
			*sp = '\0';
		if (libpmem_header(wh) || y->n == 8)
			continue;
		y->func[y->n] = strdup(fn);
		y->where[y->n++] = strdup(wh);
	}
	if (out)
		fclose(out);
	else
		close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Symbolizes every frame of the stacks of the failures to report. */
static void
symbolize(struct ct_state *s, size_t nreport)
{
	size_t cap = 0;
	for (size_t i = 0; i < nreport; i++)
		cap += s->stacks[s->fails[i].stack].n;
	syms = calloc(cap + 1, sizeof(*syms));
	uint64_t *off = calloc(cap + 1, sizeof(*off));
	if (syms == NULL || off == NULL)
		return;
	for (uint32_t m = 0; m < s->nmodules; m++) {
		size_t n = 0;
		for (size_t i = 0; i < nreport; i++) {
			const struct ct_stack *st = &s->stacks[s->fails[i].stack];
			for (uint32_t k = 0; k < st->n; k++) {
				if (st->fr[k].module != m)
					continue;
				size_t j;
				for (j = 0; j < n && off[j] != st->fr[k].offset;)
					j++;
				if (j == n)
					off[n++] = st->fr[k].offset;
			}
		}
		if (n)
			symbolize_module(s->modules[m], m, off, n);
	}
	free(off);
}

/* The symbol of a frame, or NULL. */
static const struct sym *
sym_of(const struct pmem__trace_frame *f)
{
	for (size_t i = 0; i < nsyms; i++)
		if (syms[i].module == f->module && syms[i].offset == f->offset)
			return &syms[i];
	return NULL;
}

/* The base name of a path. */
static const char *
base(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

static const char *const kind_names[] = { "fence", "msync", "exit", "end" };

/* The name of a point kind. */
static const char *
kind_name(uint32_t k)
{
	return k < 4 ? kind_names[k] : "?";
}

/* Describes a check's wait status into buf. */
static const char *
status_text(const struct ct_fail *f, char *buf, size_t n)
{
	if (f->timed_out)
		snprintf(buf, n, "timed out");
	else if (WIFEXITED(f->status))
		snprintf(buf, n, "exit %d", WEXITSTATUS(f->status));
	else if (WIFSIGNALED(f->status))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(f->status));
	else
		snprintf(buf, n, "status %d", f->status);
	return buf;
}

/* Prints one JSON string. */
static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* The command that checks the saved image again. */
static void
print_repro(FILE *out, const struct ct_state *s, const struct ct_fail *f)
{
	fprintf(out, "d=$(mktemp -d) && cp -a '%s'/. \"$d\" && ",
		f->saved ? f->saved : "?");
	for (const char *c = s->o->check; *c; c++) {
		if (c[0] == '{' && c[1] == '}') {
			fputs("\"$d\"", out);
			c++;
		} else {
			fputc(*c, out);
		}
	}
}

/* One failure, as text. */
static void
text_fail(FILE *out, const struct ct_state *s, const struct ct_fail *f)
{
	char st[64];
	fprintf(out, "FAIL image %lu at persist point %lu (%s): check %s\n",
		(unsigned long)f->image, (unsigned long)f->seq,
		kind_name(f->kind), status_text(f, st, sizeof(st)));
	const struct ct_stack *stk = &s->stacks[f->stack];
	unsigned no = 0;
	for (uint32_t k = 0; f->kind != PMEM_POINT_END && k < stk->n; k++) {
		const struct sym *y = sym_of(&stk->fr[k]);
		unsigned n = y && y->n ? y->n : 1;
		for (unsigned i = 0; i < n; i++)
			fprintf(out, "  #%u %s at %s (%s+0x%lx)\n", no++,
				y && y->n ? y->func[i] : "??",
				y && y->n ? y->where[i] : "??:0",
				base(s->modules[stk->fr[k].module]),
				(unsigned long)stk->fr[k].offset);
	}
	for (uint32_t i = 0; i < f->nlines; i++)
		fprintf(out, "  line %s+0x%lx: %s, kept\n",
			s->files[f->lines[i].file].path,
			(unsigned long)f->lines[i].off,
			f->evicted && f->evicted[i] ? "dirty (evicted)" :
			"flushed, not fenced");
	for (uint32_t i = 0; i < f->ndropped; i++)
		fprintf(out, "  line %s+0x%lx: flushed, not fenced, lost\n",
			s->files[f->dropped[i].file].path,
			(unsigned long)f->dropped[i].off);
	if (f->nlines == 0 && f->ndropped == 0)
		fprintf(out, "  (the durable lines only)\n");
	if (f->output && *f->output) {
		fprintf(out, "  check said:\n");
		char *o = strdup(f->output), *save = NULL;
		int n = 0;
		for (char *l = strtok_r(o, "\n", &save); l && n < 8;
				l = strtok_r(NULL, "\n", &save), n++)
			fprintf(out, "    %s\n", l);
		free(o);
	}
	fprintf(out, "  reproduce: ");
	print_repro(out, s, f);
	fputc('\n', out);
}

/* One failure, as a JSON object. */
static void
json_fail(FILE *out, const struct ct_state *s, const struct ct_fail *f)
{
	char st[64];
	fprintf(out, "{\"image\":%lu,\"point\":%lu,\"kind\":\"%s\","
		"\"status\":", (unsigned long)f->image, (unsigned long)f->seq,
		kind_name(f->kind));
	json_str(out, status_text(f, st, sizeof(st)));
	fputs(",\"stack\":[", out);
	const struct ct_stack *stk = &s->stacks[f->stack];
	unsigned no = 0;
	for (uint32_t k = 0; f->kind != PMEM_POINT_END && k < stk->n; k++) {
		const struct sym *y = sym_of(&stk->fr[k]);
		unsigned n = y && y->n ? y->n : 1;
		for (unsigned i = 0; i < n; i++) {
			fprintf(out, "%s{\"function\":", no++ ? "," : "");
			json_str(out, y && y->n ? y->func[i] : "??");
			fputs(",\"where\":", out);
			json_str(out, y && y->n ? y->where[i] : "??:0");
			fputs(",\"module\":", out);
			json_str(out, s->modules[stk->fr[k].module]);
			fprintf(out, ",\"offset\":%lu,\"inlined\":%s}",
				(unsigned long)stk->fr[k].offset,
				i + 1 < n ? "true" : "false");
		}
	}
	fputs("],\"lines\":[", out);
	for (uint32_t i = 0; i < f->nlines + f->ndropped; i++) {
		int kept = i < f->nlines;
		const struct pmem__trace_line *l = kept ? &f->lines[i] :
			&f->dropped[i - f->nlines];
		fprintf(out, "%s{\"file\":", i ? "," : "");
		json_str(out, s->files[l->file].path);
		fprintf(out, ",\"offset\":%lu,\"state\":\"%s\",\"kept\":%s}",
			(unsigned long)l->off, kept && f->evicted &&
			f->evicted[i] ? "dirty" : "pending",
			kept ? "true" : "false");
	}
	fputs("],\"output\":", out);
	json_str(out, f->output);
	fputs(",\"saved\":", out);
	json_str(out, f->saved);
	fputs(",\"reproduce\":", out);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (m != NULL) {
		print_repro(m, s, f);
		fclose(m);
	}
	json_str(out, buf);
	free(buf);
	fputc('}', out);
}

/* Orders failures by image number. */
static int
cmp_fail(const void *a, const void *b)
{
	const struct ct_fail *x = a, *y = b;
	return x->image < y->image ? -1 : x->image > y->image;
}

/* See crashtest.h. */
void
ct_report(struct ct_state *s, FILE *out, double seconds, int status)
{
	size_t nreport = s->nfails < s->o->max_reports ? s->nfails :
		s->o->max_reports;
	if (s->o->json)
		nreport = s->nfails;
	if (s->nfails)
		qsort(s->fails, s->nfails, sizeof(*s->fails), cmp_fail);
	symbolize(s, nreport);
	double per = s->unique ? s->check_seconds / (double)s->unique : 0;
	if (s->o->json) {
		fputs("{\"program\":", out);
		json_str(out, s->o->argv[0]);
		fprintf(out, ",\"status\":%d,\"points\":%lu,\"images\":%lu,"
			"\"checked\":%lu,\"failed\":%lu,\"files\":%u,"
			"\"seconds\":%.3f,\"ms_per_check\":%.3f,\"dir\":",
			status, (unsigned long)s->points,
			(unsigned long)s->images, (unsigned long)s->unique,
			(unsigned long)s->failed, s->nfiles, seconds,
			per * 1e3);
		json_str(out, s->dir);
		fputs(",\"failures\":[", out);
		for (size_t i = 0; i < nreport; i++) {
			if (i)
				fputc(',', out);
			json_fail(out, s, &s->fails[i]);
		}
		fputs("]}\n", out);
		return;
	}
	for (size_t i = 0; i < nreport; i++)
		text_fail(out, s, &s->fails[i]);
	if (s->nfails > nreport)
		fprintf(out, "(%zu more failed images: --max-reports or "
			"--json to see them)\n", s->nfails - nreport);
	fprintf(out, "pmem-crashtest: %s: %lu persist points, %lu files, "
		"%lu images, %lu checked, %lu failed; %.1f s, %.1f ms per "
		"check%s\n", s->o->argv[0], (unsigned long)s->points,
		(unsigned long)s->nfiles, (unsigned long)s->images,
		(unsigned long)s->unique, (unsigned long)s->failed, seconds,
		per * 1e3, status == 0 ? "" : status == 1 ? ": FAILED" :
		": ERROR");
}

/* See crashtest.h. */
void
ct_report_fini(void)
{
	for (size_t i = 0; i < nsyms; i++)
		for (unsigned k = 0; k < syms[i].n; k++) {
			free(syms[i].func[k]);
			free(syms[i].where[k]);
		}
	free(syms);
	syms = NULL;
	nsyms = 0;
}

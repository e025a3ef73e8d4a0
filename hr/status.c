/*
 * status.c -- the controller's report: groups, members, counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* The name of a group state in the report. */
const char *
state_name(enum grp_state s)
{
	switch (s) {
	case G_RUNNING: return "running";
	case G_RESTARTING: return "restarting";
	case G_KILLING: return "killing";
	default: return "failed";
	}
}

/* Write s as a JSON string. */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != 0; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* The report for people. */
static void
text_report(struct ctl *c, FILE *f)
{
	fprintf(f, "controller %d, %s, site restarts %u\n", (int)getpid(),
			c->embedded_gid != -1 ? "embedded (hrctl run)" : "daemon",
			c->site_restarts);
	fprintf(f, "tunables: hrCtrl.maxprocesses=%llu hrCtrl.maxGroups=%llu hrCtrl.interval=%llu hrCtrl.maxBadness=%llu hrCtrl.maxBackoff=%llu\n",
			(unsigned long long)c->cfg.hr_maxprocesses,
			(unsigned long long)c->cfg.hr_maxgroups,
			(unsigned long long)c->cfg.hr_interval,
			(unsigned long long)c->cfg.hr_maxbadness,
			(unsigned long long)c->cfg.hr_maxbackoff);
	int64_t now = ctl_now();
	for (struct group *g = c->groups; g != NULL; g = g->next) {
		fprintf(f, "group %d: %s, restarts %u, badness %d", g->id,
				state_name(g->state), g->restarts, g->badness);
		if (g->state == G_FAILED)
			fprintf(f, ", exit status %d: %s", g->fail_status, g->why);
		else if (g->state == G_RESTARTING && g->due > now)
			fprintf(f, ", next start in %lld ms",
					(long long)(g->due - now));
		fputc('\n', f);
		for (struct member *m = c->members; m != NULL; m = m->next) {
			if (m->gid != g->id)
				continue;
			fprintf(f, "  member %d pid %d %s", m->id, (int)m->pid,
					m->direct ? "direct" : "indirect");
			if (!m->direct)
				fprintf(f, " %s:%s (parent %d)", m->medium, m->name,
						m->parent);
			fprintf(f, " %s%s\n", m->path,
					m->done ? " [exited cleanly]" :
					m->clean ? " [HR_EXIT_HDL]" : "");
		}
	}
}

/* The report in JSON, on one line. */
static void
json_report(struct ctl *c, FILE *f)
{
	fprintf(f, "{\"controller\":%d,\"mode\":\"%s\",\"site_restarts\":%u,"
			"\"tunables\":{\"hrCtrl.maxprocesses\":%llu,\"hrCtrl.maxGroups\":%llu,"
			"\"hrCtrl.interval\":%llu,\"hrCtrl.maxBadness\":%llu,"
			"\"hrCtrl.maxBackoff\":%llu},\"groups\":[",
			(int)getpid(), c->embedded_gid != -1 ? "embedded" : "daemon",
			c->site_restarts,
			(unsigned long long)c->cfg.hr_maxprocesses,
			(unsigned long long)c->cfg.hr_maxgroups,
			(unsigned long long)c->cfg.hr_interval,
			(unsigned long long)c->cfg.hr_maxbadness,
			(unsigned long long)c->cfg.hr_maxbackoff);
	int64_t now = ctl_now();
	for (struct group *g = c->groups; g != NULL; g = g->next) {
		fprintf(f, "%s{\"id\":%d,\"state\":\"%s\",\"restarts\":%u,\"badness\":%d,\"members\":[",
				g == c->groups ? "" : ",", g->id,
				state_name(g->state), g->restarts, g->badness);
		int first = 1;
		for (struct member *m = c->members; m != NULL; m = m->next) {
			if (m->gid != g->id)
				continue;
			fprintf(f, "%s{\"id\":%d,\"pid\":%d,\"direct\":%s,\"clean\":%s,\"exited\":%s,\"path\":",
					first ? "" : ",", m->id, (int)m->pid,
					m->direct ? "true" : "false",
					m->clean ? "true" : "false",
					m->done ? "true" : "false");
			json_str(f, m->path);
			if (!m->direct) {
				fprintf(f, ",\"parent\":%d,\"medium\":", m->parent);
				json_str(f, m->medium);
				fprintf(f, ",\"name\":");
				json_str(f, m->name);
			}
			fputc('}', f);
			first = 0;
		}
		fprintf(f, "],\"next_start_ms\":%lld",
				(long long)(g->state == G_RESTARTING && g->due > now ?
					g->due - now : 0));
		if (g->state == G_FAILED) {
			fprintf(f, ",\"exit_status\":%d,\"reason\":",
					g->fail_status);
			json_str(f, g->why);
		}
		fputc('}', f);
	}
	fprintf(f, "]}\n");
}

/* The report as a malloc'd string. */
char *
status_report(struct ctl *c, int json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	if (json)
		json_report(c, f);
	else
		text_report(c, f);
	fclose(f);
	return buf;
}

/*
 * group.c -- the group state machine and the restart policy: start,
 * restart, badness, site restart, backoff, failure, end.
 *
 * ChorusOS's policy: each abnormal end of a member adds one to its
 * group's badness, which falls by one every hrCtrl.interval seconds;
 * at hrCtrl.maxBadness the whole site restarts.  What Linux adds: the
 * restarts of one group back off (the first at once, then 10 ms,
 * doubling up to hrCtrl.maxBackoff ms, while its failures are quick:
 * less than max(hrCtrl.maxBackoff, 1 s) after its start), and a group
 * whose first failure after the site restart it caused is quick is
 * stopped and shown as failed instead of restarting the site again.
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

/* How many members are registered. */
int
count_members(struct ctl *c)
{
	int n = 0;
	for (struct member *m = c->members; m != NULL; m = m->next)
		n++;
	return n;
}

/* How many groups exist. */
int
count_groups(struct ctl *c)
{
	int n = 0;
	for (struct group *g = c->groups; g != NULL; g = g->next)
		n++;
	return n;
}

/* How many members of group gid are running. */
int
alive_in(struct ctl *c, int gid)
{
	int n = 0;
	for (struct member *m = c->members; m != NULL; m = m->next)
		n += m->gid == gid && m->pid > 0;
	return n;
}

/* A new running group gid, linked; NULL without memory. */
struct group *
group_new(struct ctl *c, int gid)
{
	struct group *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->id = gid;
	g->exit_status = -1;
	g->started = ctl_now();
	g->next = c->groups;
	c->groups = g;
	return g;
}

/* Remove a group for good: free its HR_GROUP_KEY blocks, forget its
 * members and their images, kill what they left behind. */
void
group_end(struct ctl *c, struct group *g, int status)
{
	cg_kill(c, g->id);	/* nothing of the group outlives its keys */
	free_group_keys(c, g);
	for (struct member **pm = &c->members; *pm != NULL;) {
		struct member *m = *pm;
		if (m->gid != g->id) {
			pm = &m->next;
			continue;
		}
		*pm = m->next;
		image_remove(c, m->id);
		member_free(m);
	}
	if (g->id == c->embedded_gid) {
		c->embedded_done = 1;
		c->embedded_status = status;
	}
	for (struct group **pg = &c->groups; *pg != NULL; pg = &(*pg)->next)
		if (*pg == g) {
			*pg = g->next;
			break;
		}
	cg_remove(c, g->id);
	free(g);
	c->dirty = 1;
	sweep(c, 0);
}

/* A stopped group whose members are all gone: act on its state. */
static void
group_settled(struct ctl *c, struct group *g)
{
	if (g->state == G_RESTARTING) {
		if (g->due <= ctl_now())
			group_respawn(c, g);
	} else if (g->state == G_KILLING) {
		group_end(c, g, 128 + SIGKILL);
	} else if (g->state == G_FAILED && g->id == c->embedded_gid) {
		group_end(c, g, g->fail_status);
	}
}

/* Stop g for good as failed, saying why. */
static void
group_fail(struct ctl *c, struct group *g, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
group_fail(struct ctl *c, struct group *g, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	g->fail_status = status;
	fprintf(stderr, "hrctl: group %d failed (status %d): %s; stopped (hrctl kill -g %d ends it)\n",
			g->id, status, g->why, g->id);
	group_stop(c, g, G_FAILED);
}

/* Run the group's direct members again; indirect ones wait for hrfexec.
 * What cannot be recorded in the registry is not left running. */
void
group_respawn(struct ctl *c, struct group *g)
{
	g->state = G_RUNNING;
	g->exit_status = -1;	/* a status belongs to the run that ends */
	g->started = ctl_now();
	g->gen++;
	/* nothing starts that the registry cannot record */
	if (reg_save(c) != 0) {
		group_fail(c, g, 127, "restart refused: %.150s", c->regerr);
		return;
	}
	int e = 0;
	struct member *bad = NULL;
	for (struct member *m = c->members; m != NULL; m = m->next) {
		if (m->gid != g->id)
			continue;
		m->clean = m->done = 0;
		if (m->direct && e == 0 && spawn_member(c, m) != 0) {
			e = errno;
			bad = m;
		}
	}
	if (e != 0) {
		group_fail(c, g, 127, "cannot restart %.150s: %s", bad->path,
				strerror(e));
		return;
	}
	if (reg_save(c) != 0) {
		group_fail(c, g, 127, "restart refused: %.150s", c->regerr);
		return;
	}
	c->dirty = 0;
}

/* Stop every member of g (their process groups, and what left them),
 * then act on state when they are gone. */
void
group_stop(struct ctl *c, struct group *g, enum grp_state state)
{
	g->state = state;
	c->dirty = 1;
	for (struct member *m = c->members; m != NULL; m = m->next)
		if (m->gid == g->id && m->pid > 0)
			member_kill(m);
	cg_kill(c, g->id);
	sweep(c, 0);
	if (alive_in(c, g->id) == 0)
		group_settled(c, g);
}

/* Restart every group: the hot reboot that keeps persistent memory. */
void
site_restart(struct ctl *c)
{
	c->site_restarts++;
	fprintf(stderr, "hrctl: site restart %u\n", c->site_restarts);
	for (struct group *g = c->groups, *next; g != NULL; g = next) {
		next = g->next;
		g->badness = 0;
		g->due = 0;
		if (g->state == G_RUNNING || g->state == G_RESTARTING)
			group_stop(c, g, G_RESTARTING);
	}
}

/* The exit status as a shell shows it. */
static int
shell_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) :
		WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 127;
}

/* A member of g ended abnormally: count it, then restart the group
 * (after its backoff delay) or the site, or give the group up. */
static void
group_crashed(struct ctl *c, struct group *g, int status)
{
	int64_t now = ctl_now(), cap = (int64_t)c->cfg.hr_maxbackoff;
	/* a quick failure: the group ran less than this since its start */
	int quick = now - g->started < (cap > 1000 ? cap : 1000);
	g->restarts++;
	g->badness++;
	if (g->site_at != 0 && quick) {
		group_fail(c, g, shell_status(status),
				"ended abnormally (status %d) %lld ms after the site restart it caused",
				shell_status(status), (long long)(now - g->started));
		return;
	}
	g->site_at = 0;
	if (c->cfg.hr_maxbadness > 0 &&
			(uint64_t)g->badness >= c->cfg.hr_maxbadness) {
		g->site_at = now;
		site_restart(c);
		return;
	}
	if (!quick)
		g->backoff = 0;		/* it ran a while: a fresh failure */
	g->due = now + g->backoff;
	if (cap == 0)
		g->backoff = 0;
	else
		g->backoff = g->backoff == 0 ? (cap < 10 ? (unsigned)cap : 10) :
			(unsigned)(2 * (int64_t)g->backoff < cap ?
					2 * g->backoff : cap);
	group_stop(c, g, G_RESTARTING);
}

/* Member m has ended with status. */
void
member_exited(struct ctl *c, struct member *m, int status)
{
	struct group *g = group_find(c, m->gid);
	m->pid = 0;
	m->status = status;
	c->dirty = 1;
	if (g == NULL)
		return;
	if (g->state != G_RUNNING) {
		if (alive_in(c, g->id) == 0)
			group_settled(c, g);
		return;
	}
	if (!m->clean) {
		group_crashed(c, g, status);
		return;
	}
	m->done = 1;
	if (m->direct && g->exit_status < 0)
		g->exit_status = shell_status(status);
	if (alive_in(c, g->id) > 0)
		return;
	for (struct member *x = c->members; x != NULL; x = x->next)
		if (x->gid == g->id && x->direct && !x->done)
			return;
	group_end(c, g, g->exit_status < 0 ? 0 : g->exit_status);
}

/* Restart the groups whose backoff delay is over; the earliest still
 * waiting in *next (ms, monotonic), left alone if none. */
void
groups_due(struct ctl *c, int64_t now, int64_t *next)
{
	for (struct group *g = c->groups, *n; g != NULL; g = n) {
		n = g->next;
		if (g->state != G_RESTARTING || alive_in(c, g->id) > 0)
			continue;
		if (g->due <= now)
			group_respawn(c, g);
		else if (*next < 0 || g->due < *next)
			*next = g->due;
	}
}

/* Kill what a dead controller left running, and restart its groups. */
void
recover(struct ctl *c)
{
	int loaded = reg_load(c) == 0;
	kill_strays(c);
	cg_kill_all(c, 0);
	int any = 0;
	for (struct member *m = c->members; m != NULL; m = m->next) {
		if (m->pid > 0 && m->start != 0 &&
				proc_starttime(m->pid) == m->start)
			member_kill(m);
		any = 1;
	}
	/* all killed at once, then waited for together (at most 1 s) */
	for (int i = 0, left = 1; i < 1000 && left; i++) {
		left = 0;
		for (struct member *m = c->members; m != NULL; m = m->next)
			if (m->pid > 0 && m->start != 0 &&
					proc_starttime(m->pid) == m->start)
				left = 1;
		if (left)
			usleep(1000);
	}
	for (struct member *m = c->members; m != NULL; m = m->next)
		m->pid = 0;
	c->owner = 1;
	for (struct group *g = c->groups, *next; g != NULL; g = next) {
		next = g->next;
		g->exit_status = -1;
		if (g->state == G_FAILED) {
			fprintf(stderr, "hrctl: group %d stays failed: %s\n",
					g->id, g->why);
			continue;
		}
		fprintf(stderr, "hrctl: recovering group %d\n", g->id);
		group_respawn(c, g);
	}
	if (any && loaded)
		reg_save(c);
}

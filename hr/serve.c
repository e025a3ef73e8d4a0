/*
 * serve.c -- the controller's answers to the requests of <hr/hr.h> and
 * of hrctl.  Every count and length of a request is checked before it
 * is used; replies are queued on the client, never waited for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* Queue a reply. */
static void
reply(struct client *cl, int status, int gid, int mid, pid_t pid,
		const char *text)
{
	struct hr__hdr h = { .op = HR__REPLY, .status = status, .gid = gid,
		.mid = mid, .pid = pid };
	const char *strs[1] = { text };
	client_send(cl, &h, strs, text != NULL && *text != 0 ? 1 : 0);
}

/* Queue a long text as pieces of at most HR__CHUNK bytes. */
static void
reply_text(struct client *cl, const char *text)
{
	size_t len = strlen(text), off = 0;
	char *piece = malloc(HR__CHUNK + 1);
	if (piece == NULL) {
		reply(cl, -ENOMEM, 0, 0, 0, "out of memory");
		return;
	}
	do {
		size_t n = len - off > HR__CHUNK ? HR__CHUNK : len - off;
		memcpy(piece, text + off, n);
		piece[n] = 0;
		off += n;
		struct hr__hdr h = { .op = HR__REPLY, .pid = getpid(),
			.flags = off < len ? HR__F_MORE : 0 };
		const char *strs[1] = { piece };
		client_send(cl, &h, strs, 1);
	} while (off < len);
	free(piece);
}

/* hrctl run handed over: path cwd argv... envp... and 0 or 3 fds. */
static void
serve_run(struct ctl *c, struct client *cl, struct hr__msg *q)
{
	char err[512] = "";
	if (q->h.nstr != 2 + (uint64_t)q->h.nargv + q->h.nenv ||
			q->h.nargv == 0 || (q->nfds != 0 && q->nfds != 3) ||
			strlen(q->str[0]) >= PATH_MAX ||
			strlen(q->str[1]) >= PATH_MAX) {
		reply(cl, -EPROTO, 0, 0, 0, "malformed request");
		return;
	}
	/* argv and envp follow each other: split them into two
	 * NULL-terminated vectors */
	char **av = calloc((size_t)q->h.nargv + 1, sizeof(char *));
	if (av == NULL) {
		reply(cl, -ENOMEM, 0, 0, 0, "out of memory");
		return;
	}
	memcpy(av, q->str + 2, q->h.nargv * sizeof(char *));
	struct member *m = NULL;
	int rc = ctl_run_direct(c, q->h.gid, q->str[0], q->str[1], av,
			q->str + 2 + q->h.nargv, q->nfds == 3 ? q->fds : NULL,
			err, sizeof(err), &m);
	free(av);
	if (rc == 0 && q->nfds == 3)
		q->nfds = 0;	/* the member owns them now */
	reply(cl, rc, q->h.gid, rc == 0 ? m->id : 0, rc == 0 ? m->pid : 0,
			err);
}

/* Serve one request of client cl, whose process is peer. */
void
serve(struct ctl *c, struct client *cl, struct hr__msg *q, pid_t peer)
{
	char err[512] = "";
	int rc;
	struct member *m = NULL;
	struct group *g;
	static const char not_member[] =
		"the caller is not a restartable process of this controller";
	switch (q->h.op) {
	case HR__RUN:
		serve_run(c, cl, q);
		break;
	case HR__SPAWN: {
		pid_t child = 0;
		m = member_by_id(c, q->h.mid);
		if (m == NULL || m->pid != peer) {
			reply(cl, -ESRCH, 0, 0, 0, not_member);
			break;
		}
		rc = spawn_indirect(c, m, q, err, sizeof(err), &child);
		reply(cl, rc, m->gid, 0, child, err);
		break;
	}
	case HR__CLEAN:
		m = member_by_id(c, q->h.mid);
		if (m == NULL || m->pid != peer) {
			reply(cl, -ESRCH, 0, 0, 0, not_member);
			break;
		}
		m->clean = 1;
		c->dirty = 1;
		reply(cl, 0, m->gid, m->id, m->pid, NULL);
		break;
	case HR__KILL:
		g = group_find(c, q->h.gid);
		if (g == NULL) {
			snprintf(err, sizeof(err), "no restart group %d", q->h.gid);
			reply(cl, -ESRCH, q->h.gid, 0, 0, err);
			break;
		}
		reply(cl, 0, q->h.gid, 0, 0, NULL);
		group_stop(c, g, G_KILLING);
		break;
	case HR__GROUP:
		m = member_by_pid(c, q->h.pid);
		if (m == NULL) {
			snprintf(err, sizeof(err), "process %d is in no restart group",
					q->h.pid);
			reply(cl, -ESRCH, -1, 0, q->h.pid, err);
		} else {
			reply(cl, 0, m->gid, m->id, m->pid, NULL);
		}
		break;
	case HR__STATUS: {
		char *text = status_report(c, q->h.flags & HR__F_JSON);
		if (text == NULL)
			reply(cl, -ENOMEM, 0, 0, 0, "out of memory");
		else
			reply_text(cl, text);
		free(text);
		break;
	}
	case HR__SITE:
		reply(cl, 0, 0, 0, 0, NULL);
		site_restart(c);
		break;
	default:
		reply(cl, -EPROTO, 0, 0, 0, "unknown request");
	}
}

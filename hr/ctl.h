/*
 * ctl.h -- the hot restart controller's state, shared by its files:
 * ctl.c (taking the role), loop.c (the event loop and its clients), serve.c (the requests),
 * group.c (the group state machine and the restart policy), spawn.c
 * (starting members), reaper.c (ending members and their descendants),
 * reg.c (the registry and the images), status.c (the report).
 */
#ifndef HR_CTL_H
#define HR_CTL_H 1

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"
#include "pmm.h"

/* The registry's size limit (reg.c). */
#define HR__REG_MAX (16 * 1024 * 1024)
/* How long a client may take to send its request and read the reply. */
#define HR__CLIENT_MS 2000
/* Clients served at once; more wait in the listen backlog. */
#define HR__MAXCLIENTS 256

enum grp_state {
	G_RUNNING,
	G_RESTARTING,	/* members being killed, or a backoff delay */
	G_KILLING,	/* hrctl kill -g, hrKillGroup, controller stop */
	G_FAILED,	/* stopped for good by the restart policy */
};

struct member {
	int id;
	int gid;
	int direct;		/* started by hrctl run, else by hrfexec */
	int parent;		/* indirect: the member that spawned it */
	pid_t pid;		/* 0 when not running */
	uint64_t start;		/* /proc starttime of pid (kill safety) */
	int clean;		/* HR_EXIT_HDL called */
	int done;		/* exited cleanly */
	int status;		/* last exit status */
	char medium[PMM_MEDIUM_MAX], name[PMM_NAME_MAX];	/* indirect */
	char path[PATH_MAX];	/* as given */
	char cwd[PATH_MAX];
	char **argv, **envp;
	int stdio[3];		/* descriptors handed over, or -1 */
	struct member *next;
};

struct group {
	int id;
	enum grp_state state;
	int badness;		/* the restart counter */
	unsigned restarts;
	unsigned gen;		/* bumped at every (re)start: HRCTL_GEN */
	int exit_status;	/* of the first direct member's clean exit */
	int64_t started;	/* ms (monotonic) of the last (re)start */
	int64_t due;		/* ms: restart not before (backoff) */
	unsigned backoff;	/* ms: the delay of the next quick failure */
	int64_t site_at;	/* ms: the site restart this group caused */
	int fail_status;	/* G_FAILED: the member's exit status */
	char why[200];		/* G_FAILED: why it was stopped */
	struct group *next;
};

struct client;

struct ctl {
	struct pmm__config cfg;
	/* sized so that every derived path fits in PATH_MAX */
	char dir[PATH_MAX - 128], sock[PATH_MAX - 64], reg[PATH_MAX - 64];
	int dirfd, imgfd;	/* the trusted directory and image store */
	int lsock, sigfd, timerfd, lockfd;
	struct group *groups;
	struct member *members;
	struct client *clients;
	int nclients;
	int next_mid;
	unsigned site_restarts;
	int embedded_gid;	/* hrctl run: the group whose end ends us */
	int embedded_status;
	int embedded_done;
	int dirty;		/* the registry needs writing */
	int owner;		/* the registry is ours to remove at the end */
	int stopping;
	int quit;
	char regerr[200];	/* why the registry could not be written */
	int cgfd;		/* the groups' cgroups (cgroup.c), or -1 */
	char cgwhy[200];	/* why there are none */
};

/* ctl.c */
int ctl_open(struct ctl *c, int embedded);
void ctl_recover(struct ctl *c);
void ctl_close(struct ctl *c);
int ctl_open_file(struct ctl *c, const char *name, int flags);

/* loop.c */
int ctl_loop(struct ctl *c);
int64_t ctl_now(void);
void ctl_drop_client(struct ctl *c, struct client *cl);

/* loop.c: queue a message for a client (sent as it can take it) */
void client_send(struct client *cl, const struct hr__hdr *h,
		const char *const *strs, unsigned nstr);

/* serve.c: one request of a client, replies queued on it */
void serve(struct ctl *c, struct client *cl, struct hr__msg *q, pid_t peer);

/* spawn.c */
int spawn_member(struct ctl *c, struct member *m);
struct member *member_new(struct ctl *c, int gid, const char *path,
		const char *cwd, char **argv, unsigned na, char **envp,
		unsigned ne);
void member_link(struct ctl *c, struct member *m);
void member_unlink(struct ctl *c, struct member *m);
int ctl_run_direct(struct ctl *c, int gid, const char *path, const char *cwd,
		char **argv, char **envp, const int *stdio, char *err,
		size_t errlen, struct member **out);
int spawn_indirect(struct ctl *c, struct member *parent, struct hr__msg *q,
		char *err, size_t errlen, pid_t *pid);

/* group.c */
struct group *group_new(struct ctl *c, int gid);
void group_end(struct ctl *c, struct group *g, int status);
void group_respawn(struct ctl *c, struct group *g);
void group_stop(struct ctl *c, struct group *g, enum grp_state state);
void site_restart(struct ctl *c);
void member_exited(struct ctl *c, struct member *m, int status);
void groups_due(struct ctl *c, int64_t now, int64_t *next);
void recover(struct ctl *c);
int alive_in(struct ctl *c, int gid);
int count_members(struct ctl *c);
int count_groups(struct ctl *c);

/* cgroup.c */
void cg_open(struct ctl *c);
int cg_procs_fd(struct ctl *c, int gid);
void cg_kill(struct ctl *c, int gid);
void cg_remove(struct ctl *c, int gid);
void cg_kill_all(struct ctl *c, int remove);

/* reaper.c */
void member_kill(struct member *m);
void reap(struct ctl *c);
void sweep(struct ctl *c, int all);
void reap_all(struct ctl *c);
void free_group_keys(struct ctl *c, struct group *g);
void kill_strays(struct ctl *c);

/* reg.c */
int reg_save(struct ctl *c);
int reg_load(struct ctl *c);
int reg_fits(struct ctl *c, const struct member *extra);
void reg_forget(struct ctl *c);
/* Capture the regular file at path as member mid's image; -1 with errno
 * and the reason in err (a FIFO or device is refused, never waited on). */
int image_capture(struct ctl *c, const char *path, int mid, char *err,
		size_t errlen);
int image_open(struct ctl *c, int mid);
void image_remove(struct ctl *c, int mid);
void member_free(struct member *m);
struct group *group_find(struct ctl *c, int gid);
struct member *member_by_pid(struct ctl *c, pid_t pid);
struct member *member_by_id(struct ctl *c, int mid);
uint64_t proc_starttime(pid_t pid);

/* status.c */
char *status_report(struct ctl *c, int json);
const char *state_name(enum grp_state s);

#endif /* HR_CTL_H */

/*
 * hrctl.h -- the hot restart controller's state, shared by its files.
 */
#ifndef HRCTL_H
#define HRCTL_H 1

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "hr_proto.h"
#include "pmm.h"

enum grp_state { G_RUNNING, G_RESTARTING, G_KILLING, G_STOPPING };

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
	char image[PATH_MAX];	/* the captured image */
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
	int exit_status;	/* of the first direct member's clean exit */
	struct group *next;
};

struct ctl {
	struct pmm__config cfg;
	/* sized so that every derived path fits in PATH_MAX */
	char dir[PATH_MAX - 128], sock[PATH_MAX - 64], reg[PATH_MAX - 64];
	char images[PATH_MAX - 64];
	int lsock, sigfd, timerfd, lockfd;
	struct group *groups;
	struct member *members;
	int next_mid;
	unsigned site_restarts;
	int embedded_gid;	/* hrctl run: the group whose end ends us */
	int embedded_status;
	int embedded_done;
	int quit;
};

/* controller (hrctl-ctl.c) */
int ctl_open(struct ctl *c, int embedded);
void ctl_recover(struct ctl *c);
int ctl_run_direct(struct ctl *c, int gid, const char *path, const char *cwd,
		char **argv, char **envp, const int *stdio, char *err,
		size_t errlen, struct member **out);
int ctl_loop(struct ctl *c);
void ctl_close(struct ctl *c);

/* registry (hrctl-reg.c) */
int reg_save(struct ctl *c);
int reg_load(struct ctl *c);
int image_capture(struct ctl *c, const char *path, int mid, char *image);
void member_free(struct member *m);
struct group *group_find(struct ctl *c, int gid);
struct member *member_by_pid(struct ctl *c, pid_t pid);
uint64_t proc_starttime(pid_t pid);

/* status (hrctl-status.c) */
char *status_report(struct ctl *c, int json);

#endif /* HRCTL_H */

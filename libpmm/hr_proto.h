/*
 * hr_proto.h -- the messages between hot restart processes and the
 * controller (hrctl), over a SOCK_SEQPACKET socket in the bank directory.
 *
 * A message is a fixed header followed by nstr NUL-terminated strings;
 * it may carry file descriptors (the stdio a direct member should use).
 */
#ifndef HR_PROTO_H
#define HR_PROTO_H 1

#include <stddef.h>
#include <stdint.h>

#define HR__MAXMSG (192 * 1024)

enum hr__op {
	HR__RUN = 1,	/* start a direct member: path cwd argv... envp... */
	HR__SPAWN,	/* hrfexec: medium name path cwd argv... envp... */
	HR__CLEAN,	/* HR_EXIT_HDL of member mid */
	HR__KILL,	/* the group kill of gid */
	HR__GROUP,	/* the group of pid */
	HR__STATUS,	/* a report; flags 1 = JSON */
	HR__SITE,	/* a site restart */
	HR__REPLY,
};

struct hr__hdr {
	uint32_t op;
	int32_t status;		/* reply: 0 or -errno */
	int32_t gid;
	int32_t mid;
	int32_t pid;
	uint32_t flags;
	uint32_t nargv;
	uint32_t nenv;
	uint32_t nstr;
	uint32_t len;		/* bytes of strings */
};

struct hr__msg {
	struct hr__hdr h;
	char **str;		/* nstr pointers into buf */
	char *buf;
	int fds[3];
	int nfds;
};

/* The directory of the RAM bank and the controller (created 0700). */
int hr__dir(char *buf, size_t len);
/* Resolve file as execvp does (PATH when use_path and no '/') into an
 * absolute, executable path; -1 with errno. */
int hr__resolve(const char *file, int use_path, char *out);
/* The controller's socket: $HRCTL_SOCK or <dir>/hrctl.sock. */
int hr__sock_path(char *buf, size_t len);
/* Send one message (strings and up to 3 descriptors). */
int hr__send(int sock, const struct hr__hdr *h, const char *const *strs,
		unsigned nstr, const int *fds, int nfds);
/* Receive one message; 0 = peer closed, 1 = message, -1 = error. */
int hr__recv(int sock, struct hr__msg *m);
void hr__msg_free(struct hr__msg *m);
/* Connect to the controller; -1 with errno if none. */
int hr__connect(void);
/* One request and its reply. */
int hr__call(const struct hr__hdr *h, const char *const *strs, unsigned nstr,
		const int *fds, int nfds, struct hr__msg *reply);

#endif /* HR_PROTO_H */

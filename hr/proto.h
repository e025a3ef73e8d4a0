/*
 * proto.h -- the messages between hot restart processes and the
 * controller (hrctl), over a SOCK_SEQPACKET socket in the controller's
 * directory, and the checks both ends make before they trust the other.
 *
 * A message is a fixed header followed by nstr NUL-terminated strings;
 * it may carry file descriptors (the stdio a direct member should use).
 * A reply too long for one datagram comes in pieces, each but the last
 * flagged HR__F_MORE.
 */
#ifndef HR_PROTO_H
#define HR_PROTO_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HR__MAXMSG (192 * 1024)	/* one datagram, header included */
/* The strings of one member (path, cwd, argv, envp and the NULs): one
 * limit for handed-over runs, embedded runs, hrfexec* and the registry. */
#define HR__MAXREQ (128 * 1024)
#define HR__CHUNK (64 * 1024)	/* the text of one reply piece */
/* How long a client waits to connect, to send, and for the whole reply
 * once its request is sent: a live controller answers in milliseconds
 * (seconds when it recovers many groups under valgrind), so one silent
 * this long is stalled, and the caller gets ETIMEDOUT, not a hang. */
#define HR__CALL_MS 60000

enum hr__op {
	HR__RUN = 1,	/* start a direct member: path cwd argv... envp... */
	HR__SPAWN,	/* hrfexec: medium name path cwd argv... envp... */
	HR__CLEAN,	/* HR_EXIT_HDL of member mid */
	HR__KILL,	/* the group kill of gid */
	HR__GROUP,	/* the group of pid */
	HR__STATUS,	/* a report; flags HR__F_JSON */
	HR__SITE,	/* a site restart */
	HR__REPLY,
};

#define HR__F_JSON 1u
#define HR__F_MORE 2u

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

/* The controller's directory (PMM_DIR or /dev/shm/pmm-UID), created 0700
 * when create, opened without following a link and trusted (owned by
 * the caller, no permission for group or other); its descriptor, or -1
 * with errno and pmmErrorMsg. */
int hr__dir_open(char *buf, size_t len, int create);
/* Resolve file as execvp does (PATH when use_path and no '/') into an
 * absolute, executable path; -1 with errno. */
int hr__resolve(const char *file, int use_path, char *out);
/* The controller's socket: $HRCTL_SOCK or <dir>/hrctl.sock. */
int hr__sock_path(char *buf, size_t len);
/* The bytes strs take in a message (each with its NUL). */
size_t hr__strs_size(const char *const *strs, unsigned nstr);
/* Encode a message into a malloc'd datagram. */
char *hr__encode(const struct hr__hdr *h, const char *const *strs,
		unsigned nstr, size_t *len);
/* Send one message (strings and up to 3 descriptors). */
int hr__send(int sock, const struct hr__hdr *h, const char *const *strs,
		unsigned nstr, const int *fds, int nfds);
/* Receive one message; 0 = peer closed, 1 = message, -1 = error. */
int hr__recv(int sock, struct hr__msg *m, int flags);
void hr__msg_free(struct hr__msg *m);
/* Whether the peer of socket s runs as this user (its pid in *pid). */
int hr__peer_ok(int s, pid_t *pid, uid_t *uid);
/* Connect to this user's controller; -1 with errno and a message
 * (pmmErrorMsg): ENOENT/ECONNREFUSED when none runs, EACCES when the
 * socket or the server is another user's, ETIMEDOUT when it accepts no
 * connection for HR__CALL_MS. */
int hr__connect(void);
/* One request and its reply (the pieces of a long one joined); -1 with
 * errno, ETIMEDOUT (and a message) when the controller is silent for
 * HR__CALL_MS. */
int hr__call(const struct hr__hdr *h, const char *const *strs, unsigned nstr,
		const int *fds, int nfds, struct hr__msg *reply);

#endif /* HR_PROTO_H */

/*
 * pmmctl -- look after the banks of the Persistent Memory Manager: list
 * their blocks, describe them, free blocks, check and (re)create banks.
 *
 * This file parses the command line, finds the bank file exactly as the
 * library does (configuration, PMM_DIR) and reports errors; the commands
 * live in pmmctl-show.c (reading) and pmmctl-change.c (writing).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmmctl.h"

/* Print the usage text. */
static void
usage(FILE *f)
{
	fputs("usage: pmmctl [-m MEDIUM | -f FILE] COMMAND [ARGS]\n"
		"Commands:\n"
		"  list [--json]              the blocks: name, size, key, address, pages\n"
		"  info [--json]              the bank: tunables, use, fragmentation\n"
		"  free [--system] NAME       free the block NAME\n"
		"  freeall [--system] [--no-nul] KEY | --hex HEX\n"
		"                             free every block of a deletion key\n"
		"  check                      validate the bank (exit 1 if damaged)\n"
		"  create [--size BYTES] [--max-blocks N] [--force]\n"
		"                             create the bank (--force replaces it)\n"
		"  move                       give the bank a free address, keeping\n"
		"                             its blocks (stored pointers go stale)\n"
		"  upgrade                    migrate a layout-1, -2 or -3 bank to layout 4,\n"
		"                             every block at its address\n"
		"Options:\n"
		"  -m, --medium NAME          the bank of medium NAME (default RAM)\n"
		"  -f, --file PATH            the bank file PATH\n"
		"  -h, --help                 this text\n"
		"      --version              the version\n"
		"See pmmctl(1).\n", f);
}

/* Command options, as bits: each command accepts some of them. */
#define O_JSON 1u
#define O_SYSTEM 2u
#define O_NONUL 4u
#define O_HEX 8u
#define O_FORCE 16u
#define O_SIZE 32u
#define O_MAX 64u

static const char *const opt_names[] = {
	"--json", "--system", "--no-nul", "--hex", "--force", "--size",
	"--max-blocks",
};

enum cmd { C_LIST, C_INFO, C_FREE, C_FREEALL, C_CHECK, C_CREATE, C_MOVE,
	C_UPGRADE };

static const struct command {
	const char *name;
	enum cmd id;
	unsigned opts;
	int operands;		/* exactly this many (freeall: see main) */
} commands[] = {
	{ "list", C_LIST, O_JSON, 0 },
	{ "info", C_INFO, O_JSON, 0 },
	{ "free", C_FREE, O_SYSTEM, 1 },
	{ "freeall", C_FREEALL, O_SYSTEM | O_NONUL | O_HEX, 1 },
	{ "check", C_CHECK, 0, 0 },
	{ "create", C_CREATE, O_FORCE | O_SIZE | O_MAX, 0 },
	{ "move", C_MOVE, 0, 0 },
	{ "upgrade", C_UPGRADE, 0, 0 },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The exit status of a K_* code: damage is 1, anything else 2. */
int
ctl_exit_code(int rc)
{
	switch (rc) {
	case K_OK:
		return CTL_EXIT_OK;
	case K_ECORRUPT:
	case K_ETRUNC:
	case K_EFOREIGN:
	case K_EVERSION:
	case K_EMEDIA:
		return CTL_EXIT_DAMAGED;
	default:
		return CTL_EXIT_ERROR;
	}
}

/* Print "pmmctl: [what: ]message" for a failed library call and return
 * the exit status; the library's own message is the useful part. */
int
ctl_report(int rc, const char *what)
{
	const char *msg = pmmErrorMsg();
	if (msg == NULL || *msg == 0)
		msg = pmmStrError(rc);
	if (what != NULL)
		fprintf(stderr, "pmmctl: %s: %s\n", what, msg);
	else
		fprintf(stderr, "pmmctl: %s\n", msg);
	return ctl_exit_code(rc);
}

/* Warn, as the library does when a program opens the bank, that the
 * configuration sets tunables the bank does not have: they are fixed
 * when a bank is created. */
void
ctl_warn_tunables(const struct ctl *c, const struct pmm__geom *g)
{
	const struct pmm__config *k = &c->conf;
	if ((k->set & PMM__SET_RAMBANK) &&
			(k->rambank_size + g->page_size - 1) / g->page_size !=
			g->npages)
		fprintf(stderr,
				"pmmctl: bank %s keeps pmm.rambankSize = 0x%llx; the configured 0x%llx applies when it is recreated (pmmctl create --force)\n",
				c->path, (unsigned long long)g->bank_size,
				(unsigned long long)k->rambank_size);
	if ((k->set & PMM__SET_MAXBLOCKS) && k->max_blocks != g->max_blocks)
		fprintf(stderr,
				"pmmctl: bank %s keeps pmm.maxBlocks = %llu; the configured %llu applies when it is recreated (pmmctl create --force)\n",
				c->path, (unsigned long long)g->max_blocks,
				(unsigned long long)k->max_blocks);
}

/* Open (read-write, or read-only when ro and the file is not writable)
 * and validate the bank; with -f alone, the medium shown is the one the
 * bank records. */
static int
open_bank(struct ctl *c, int ro, struct pmm__bank **bp)
{
	pmm__fail(K_OK, "%s", "");
	int rc = ro ? pmm__bank_open_ro(c->path, bp) :
		pmm__bank_open_checked(c->path, bp);
	if (rc != K_OK)
		return rc;
	if (c->medium == NULL)
		snprintf(c->label, sizeof(c->label), "%s", (*bp)->hdr->medium);
	return K_OK;
}

/* Open the bank for a command that changes it. */
int
ctl_open(struct ctl *c, struct pmm__bank **bp)
{
	return open_bank(c, 0, bp);
}

/* Open the bank for a command that only reads it: a read-only file (a
 * copy, a backup) is mapped privately and never written. */
int
ctl_open_ro(struct ctl *c, struct pmm__bank **bp)
{
	return open_bank(c, 1, bp);
}

/* A decimal or 0x hex number, nothing else (no sign, no suffix). */
static int
parse_u64(const char *s, uint64_t *out)
{
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	const char *digits = base == 10 ? "0123456789" :
		"0123456789abcdefABCDEF";
	if (*s == 0 || strchr(digits, *s) == NULL)
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno != 0 || *end != 0)
		return -1;
	*out = v;
	return 0;
}

/* An absolute form of path: its directory's real path (when it exists)
 * and its own last name, never resolved: a bank that is a symbolic link
 * is refused as such, not followed. */
static int
absolute(const char *path, char out[PATH_MAX])
{
	char dir[PATH_MAX], cwd[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *name = slash != NULL ? slash + 1 : path;
	if (*name == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -1;
	if (slash == NULL) {
		if (getcwd(dir, sizeof(dir)) == NULL)
			return -1;
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		if ((size_t)(slash - path) >= sizeof(cwd))
			return -1;
		memcpy(cwd, path, (size_t)(slash - path));
		cwd[slash - path] = 0;
		char *real = realpath(cwd, NULL);
		int n = real != NULL ? snprintf(dir, sizeof(dir), "%s", real) :
			path[0] == '/' ? snprintf(dir, sizeof(dir), "%s", cwd) :
			-1;
		free(real);
		if (n < 0 || (size_t)n >= sizeof(dir))
			return -1;
	}
	return snprintf(out, PATH_MAX, "%s%s%s", dir,
			strcmp(dir, "/") == 0 ? "" : "/", name) < PATH_MAX ?
		0 : -1;
}

/* Load the configuration and find the bank file: -f, else the medium's
 * file as the library finds it. */
static int
resolve(struct ctl *c)
{
	char path[PATH_MAX];
	int rc;
	pmm__fail(K_OK, "%s", "");
	if ((rc = pmm__config_load(&c->conf)) != K_OK)
		return ctl_report(rc, NULL);
	const char *medium = c->medium != NULL ? c->medium : "RAM";
	if (*medium == 0 || strlen(medium) >= PMM_MEDIUM_MAX) {
		fprintf(stderr, "pmmctl: a medium name has 1 to %d bytes\n",
				PMM_MEDIUM_MAX - 1);
		return CTL_EXIT_ERROR;
	}
	snprintf(c->label, sizeof(c->label), "%s", medium);
	if (c->file != NULL) {
		snprintf(path, sizeof(path), "%s", c->file);
	} else if ((rc = pmm__medium_path(&c->conf, medium, path,
					sizeof(path), &c->default_dir)) != K_OK) {
		return ctl_report(rc, NULL);
	}
	if (*path == 0 || absolute(path, c->path) != 0) {
		fprintf(stderr, "pmmctl: bad bank path \"%s\"\n", path);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

/* Run the command with its operands. */
static int
run(struct ctl *c, enum cmd id, char **ops)
{
	switch (id) {
	case C_LIST:
		return ctl_list(c);
	case C_INFO:
		return ctl_info(c);
	case C_CHECK:
		return ctl_check(c);
	case C_FREE:
		return ctl_free(c, ops[0]);
	case C_FREEALL:
		return ctl_freeall(c, c->hex != NULL ? NULL : ops[0]);
	case C_CREATE:
		return ctl_create(c);
	case C_MOVE:
		return ctl_move(c);
	case C_UPGRADE:
		return ctl_upgrade(c);
	}
	return CTL_EXIT_ERROR;
}

/* Complain about the command line and return the usage exit status. */
static int
bad_usage(const char *fmt, const char *arg)
{
	fputs("pmmctl: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (pmmctl --help tells more)\n", stderr);
	return CTL_EXIT_ERROR;
}

/* Parse the command line, find the bank and run the command. */
int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "medium", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "system", no_argument, NULL, 'S' },
		{ "no-nul", no_argument, NULL, 'N' },
		{ "hex", required_argument, NULL, 'x' },
		{ "force", no_argument, NULL, 'F' },
		{ "size", required_argument, NULL, 's' },
		{ "max-blocks", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c;
	memset(&c, 0, sizeof(c));
	char **ops = calloc((size_t)argc + 1, sizeof(*ops));
	if (ops == NULL) {
		perror("pmmctl");
		return CTL_EXIT_ERROR;
	}
	int nops = 0, opt, status = CTL_EXIT_ERROR;
	unsigned seen = 0;
	/* "-" first: operands come back in order, whatever POSIXLY_CORRECT
	 * says, so options may follow the command */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "-:m:f:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 1:
			ops[nops++] = optarg;
			break;
		case 'm':
			c.medium = optarg;
			break;
		case 'f':
			c.file = optarg;
			break;
		case 'h':
			usage(stdout);
			status = CTL_EXIT_OK;
			goto out;
		case 'V':
			printf("pmmctl (%s) %s, bank layout %d\n", PACKAGE_NAME,
					PACKAGE_VERSION, PMM__LAYOUT);
			status = CTL_EXIT_OK;
			goto out;
		case 'j':
			seen |= O_JSON;
			break;
		case 'S':
			seen |= O_SYSTEM;
			break;
		case 'N':
			seen |= O_NONUL;
			break;
		case 'x':
			seen |= O_HEX;
			c.hex = optarg;
			break;
		case 'F':
			seen |= O_FORCE;
			break;
		case 's':
			seen |= O_SIZE;
			if (parse_u64(optarg, &c.size) != 0) {
				status = bad_usage("--size %s: not a decimal or 0x hex number",
						optarg);
				goto out;
			}
			break;
		case 'b':
			seen |= O_MAX;
			if (parse_u64(optarg, &c.max_blocks) != 0) {
				status = bad_usage("--max-blocks %s: not a decimal or 0x hex number",
						optarg);
				goto out;
			}
			break;
		case ':':
			status = bad_usage("option %s needs an argument",
					argv[optind - 1]);
			goto out;
		default:
			status = bad_usage("unknown option %s", argv[optind - 1]);
			goto out;
		}
	}
	while (optind < argc)
		ops[nops++] = argv[optind++];
	if (nops == 0) {
		status = bad_usage("%s", "no command");
		goto out;
	}
	const struct command *cmd = NULL;
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(ops[0], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		status = bad_usage("unknown command \"%s\"", ops[0]);
		goto out;
	}
	for (unsigned b = 0; b < sizeof(opt_names) / sizeof(opt_names[0]); b++)
		if ((seen & (1u << b)) && !(cmd->opts & (1u << b))) {
			char what[64];
			snprintf(what, sizeof(what), "%s is not an option of %s",
					opt_names[b], cmd->name);
			status = bad_usage("%s", what);
			goto out;
		}
	int want = cmd->operands;
	if (cmd->id == C_FREEALL && c.hex != NULL) {
		want = 0;
		if (seen & O_NONUL) {
			status = bad_usage("%s", "--no-nul and --hex exclude each other");
			goto out;
		}
	}
	if (nops - 1 != want) {
		status = bad_usage(want == 0 ? "%s takes no operand" :
				"%s takes one operand", cmd->name);
		goto out;
	}
	c.json = (seen & O_JSON) != 0;
	c.system = (seen & O_SYSTEM) != 0;
	c.no_nul = (seen & O_NONUL) != 0;
	c.force = (seen & O_FORCE) != 0;
	c.size_set = (seen & O_SIZE) != 0;
	c.max_set = (seen & O_MAX) != 0;
	if ((status = resolve(&c)) != CTL_EXIT_OK)
		goto out;
	status = run(&c, cmd->id, ops + 1);
	/* the banks free and freeall reached through the library */
	pmm__banks_reset();
out:
	free(ops);
	if (fflush(stdout) != 0 && status == CTL_EXIT_OK) {
		perror("pmmctl: standard output");
		status = CTL_EXIT_ERROR;
	}
	return status;
}

/*
 * pmmctl.h -- what the files of pmmctl share: the parsed command line,
 * the resolved bank, the commands and the output helpers.
 */
#ifndef PMMCTL_H
#define PMMCTL_H 1

#include <stdint.h>
#include <stdio.h>

#include "pmm.h"

/* Exit statuses: the man page documents them. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_DAMAGED 1	/* damaged, truncated, foreign, other layout */
#define CTL_EXIT_ERROR 2	/* usage, missing file, refusal, ... */
#define CTL_EXIT_CURRENT 3	/* upgrade: layout 3 already */

struct ctl {
	/* global options */
	const char *medium;		/* -m NAME, or NULL */
	const char *file;		/* -f PATH, or NULL */
	/* command options */
	int json, system, no_nul, force;
	const char *hex;		/* freeall --hex */
	int size_set, max_set;
	uint64_t size, max_blocks;	/* create --size, --max-blocks */
	/* resolved before the command runs */
	struct pmm__config conf;	/* the configuration in force */
	char path[PATH_MAX];		/* the bank file, absolute */
	char label[PMM_MEDIUM_MAX];	/* the medium, as shown */
	int default_dir;		/* path is in the per-user directory */
};

/* One block, copied out of the table under the bank lock. */
struct ctl_block {
	char name[PMM_NAME_MAX];
	uint8_t key[PMM_DELKEY_MAX];
	uint32_t keysize, page, npages;
	uint64_t addr;
};

/* ---------------------------------------------------- pmmctl.c */
int ctl_exit_code(int rc);
int ctl_report(int rc, const char *what);
int ctl_open(struct ctl *c, struct pmm__bank **bp);
int ctl_open_ro(struct ctl *c, struct pmm__bank **bp);
void ctl_warn_tunables(const struct ctl *c, const struct pmm__geom *g);

/* ---------------------------------------------- pmmctl-show.c */
int ctl_list(struct ctl *c);
int ctl_info(struct ctl *c);
int ctl_check(struct ctl *c);

/* -------------------------------------------- pmmctl-change.c */
int ctl_free(struct ctl *c, const char *name);
int ctl_freeall(struct ctl *c, const char *key);
int ctl_create(struct ctl *c);
int ctl_move(struct ctl *c);
int ctl_upgrade(struct ctl *c);

/* ----------------------------------------------- pmmctl-out.c */
void ctl_out_json_str(FILE *f, const void *s, size_t n);
void ctl_out_json_hex(FILE *f, const uint8_t *p, size_t n);
void ctl_out_text_name(FILE *f, const char *s);
int ctl_out_key_is_text(const uint8_t *key, uint32_t ks);
void ctl_out_text_key(FILE *f, const uint8_t *key, uint32_t ks);
int ctl_out_key_is_system(const uint8_t *key, uint32_t ks);

#endif /* PMMCTL_H */

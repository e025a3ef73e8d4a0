/*
 * options.c -- every environment variable libpmm (and pmmctl) reads, read
 * here and only here, with secure_getenv: a set-user-ID or set-group-ID
 * program linked with libpmm is never steered by its caller's
 * environment (it sees every variable unset and gets the defaults).
 */
#include <stdlib.h>

#include "pmm.h"

static const char *const names[PMM__ENV_COUNT] = {
	[PMM__ENV_CONF] = "PMM_CONF",
	[PMM__ENV_TUNABLES] = "PMM_TUNABLES",
	[PMM__ENV_DIR] = "PMM_DIR",
	[PMM__ENV_HRCTL_GROUP] = "HRCTL_GROUP",
	[PMM__ENV_HRCTL_SOCK] = "HRCTL_SOCK",
	[PMM__ENV_HRCTL_MEMBER] = "HRCTL_MEMBER",
	[PMM__ENV_PATH] = "PATH",
};

/* The value of one of libpmm's environment variables, or NULL. */
const char *
pmm__env(enum pmm__env_var v)
{
	if ((unsigned)v >= PMM__ENV_COUNT)
		return NULL;
	return secure_getenv(names[v]);
}

/* The name of one of libpmm's environment variables. */
const char *
pmm__env_name(enum pmm__env_var v)
{
	return (unsigned)v < PMM__ENV_COUNT ? names[v] : "?";
}

/* filter.h: the seccomp filter built from the deny list's named groups
 * (profile/filter-groups.h). Compiled in the supervisor before clone;
 * installed in the sandbox right before exec. */
#ifndef MOAT_FILTER_H
#define MOAT_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

#include "base/error.h"
#include "profile/filter-groups.h"
#include "profile/profile.h"

#define FILTER_NOTIFY	0x1	/* denied calls go to a user-notification listener */

struct filter {
	struct sock_fprog	prog;	/* owned filter instructions */
	unsigned		flags;
};

/* Builds the BPF program for the profile's groups (default groups, plus
 * seccomp_deny, minus seccomp_allow). Supervisor, before clone. */
int		 filter_compile(const struct profile *, unsigned flags, struct filter *,
		    struct merr *);
/* Installs it in the calling process (no_new_privs must be set). With
 * FILTER_NOTIFY, *listener gets the notification fd. Async-signal-safe: no
 * allocation. Returns -1 with errno set. */
int		 filter_install(const struct filter *, int *listener);
void		 filter_release(struct filter *);

#endif

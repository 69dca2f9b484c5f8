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
/* With FILTER_NOTIFY, calls that are not denied but observed: the listener
 * looks and lets them continue (notify.c). Opens with write intent (open,
 * openat with O_WRONLY, O_RDWR, O_CREAT or O_TRUNC; creat; every openat2,
 * whose flags seccomp cannot see), to record writes a read-only mount
 * refuses; and connect, for an isolated network, where every connection
 * off the sandbox's loopback fails. A call the profile denies by name is
 * not observed: it stays denied. */
#define FILTER_OBSERVE_WRITE	0x2
#define FILTER_OBSERVE_CONNECT	0x4
/* With FILTER_NOTIFY: connect() goes to the listener too, for transparent
 * interception (notify-connect.c). filter_compile clears it in f->flags
 * when the profile denies connect itself. */
#define FILTER_CONNECT	0x8
/* execve and execveat notify too, and the supervisor lets them continue
 * after reading what they run (the exec trail; needs FILTER_NOTIFY). */
#define FILTER_EXEC_TRAIL	0x10

struct filter {
	struct sock_fprog	prog;	/* owned filter instructions */
	unsigned		flags;
};

/* Builds the BPF program for the profile's groups (default groups, plus
 * seccomp_deny, minus seccomp_allow). Supervisor, before clone. */
int		 filter_compile(const struct profile *, unsigned flags, struct filter *,
		    struct merr *);
/* The same program, from the cache of compiled programs when it holds a
 * usable one for this profile and flags (filter-cache.c), else compiled
 * and kept there; *cached says which. */
int		 filter_compile_cached(const struct profile *, unsigned flags,
		    struct filter *, bool *cached, struct merr *);
/* Installs it in the calling process (no_new_privs must be set). With
 * FILTER_NOTIFY, *listener gets the notification fd. Async-signal-safe: no
 * allocation. Returns -1 with errno set. */
int		 filter_install(const struct filter *, int *listener);
void		 filter_release(struct filter *);
/* Whether an observed call (FILTER_OBSERVE_*) is observed under p, rather
 * than denied by its seccomp-deny. */
bool		 filter_observed(const struct profile *, const char *name);

#endif

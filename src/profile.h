/* profile.h: struct profile, what a sandbox is allowed; parsed from
 * moat-profile(5) files with inheritance. Supervisor and front ends; the
 * sandbox init reads a profile resolved before clone. */
#ifndef MOAT_PROFILE_H
#define MOAT_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

enum ws_mode {
	WS_BIND,		/* read-write bind of the host directory */
	WS_RO,			/* read-only bind */
	WS_OVERLAY,		/* overlay; writes land in the run's upper dir */
	WS_NONE,		/* no workspace; cwd is $HOME */
};

enum net_mode {
	NET_ISOLATED,		/* loopback only */
	NET_RESTRICTED,		/* allowlist through the in-sandbox proxies */
	NET_PROXIED,		/* everything through an upstream proxy */
};

enum bind_kind {
	BIND_RO,
	BIND_RW,
	BIND_DEV,		/* a device node bound from the host (e.g. /dev/kvm) */
};

struct bind {
	enum bind_kind	 kind;
	char		*src;		/* owned; absolute, "~/" already expanded */
	char		*dst;		/* owned; absolute */
	bool		 optional;	/* "ro-bind-try": skip when src is missing */
};

struct tmpfs {
	char		*dst;		/* owned */
	uint64_t	 size;		/* bytes; 0 means the profile default tmpfs-size */
};

/* Where a value came from, for "moat profiles show". */
struct origin {
	char		*file;		/* owned */
	int		 line;
};

struct limits {
	double		 timeout;	/* wall clock, seconds; 0 = none */
	double		 cpu_time;	/* RLIMIT_CPU seconds; 0 = none */
	uint64_t	 nofile;	/* RLIMIT_NOFILE */
	uint64_t	 nproc;		/* RLIMIT_NPROC, and pids.max where cgroups exist */
	uint64_t	 fsize;		/* RLIMIT_FSIZE bytes; 0 = unlimited */
	uint64_t	 memory;	/* bytes; 0 = none (cgroups, issue 4) */
	uint64_t	 memory_swap;	/* bytes; 0 = none */
	double		 cpus;		/* fraction of cores; 0 = none */
	bool		 require_cgroups;
};

struct profile {
	char		*name;		/* owned; "default", or the file's path */
	char		*path;		/* owned; the top file */
	struct strv	 files;		/* every file read, in include order */

	/* filesystem */
	enum ws_mode	 workspace;
	struct bind	*binds;		/* owned, nbinds entries, in order */
	size_t		 nbinds;
	struct strv	 hide;		/* paths replaced by an empty tmpfs or /dev/null */
	struct tmpfs	*tmpfs;		/* owned, extra tmpfs mounts */
	size_t		 ntmpfs;
	uint64_t	 tmp_size;	/* /tmp, and $HOME when it is a tmpfs */
	struct strv	 protect;	/* workspace-relative; "dir/" names a directory */

	struct limits	 limits;

	/* seccomp: groups are "@name"; single syscalls by name */
	struct strv	 seccomp_deny;	/* added to the default deny list */
	struct strv	 seccomp_allow;	/* removed from it */

	/* environment */
	struct strv	 env_pass;	/* names passed from the host (allowlist) */
	struct strv	 env_set;	/* NAME=VALUE set inside */

	/* network (only isolated runs until the network issue lands) */
	enum net_mode	 net;
	struct strv	 net_allow;	/* host[:port], *.suffix, IP, CIDR */
	char		*net_upstream;	/* owned; URL or "env" */
	unsigned	 net_max_conns;

	/* risk thresholds (0-100; -1 = not set) */
	int		 risk_confirm_above;
	int		 risk_refuse_above;

	char		*hostname;	/* owned */

	/* provenance of every key as resolved, for "profiles show" */
	struct prov {
		char		*key;	/* owned */
		char		*value;	/* owned, as written */
		struct origin	 at;
	}		*prov;
	size_t		 nprov;
};

/* Finds NAME (user dir, then shipped dir) or reads a path ("./x.conf",
 * "/abs/x.conf", anything containing '/'); resolves includes. On error fills e
 * with "file:line: what; valid: ..." and returns NULL. */
struct profile	*profile_load(const char *name, struct merr *e);
struct profile	*profile_load_file(const char *path, struct merr *e);
void		 profile_free(struct profile *);

/* The directories searched, in order: $XDG_CONFIG_HOME/moat/profiles,
 * $MOAT_PROFILE_PATH (colon-separated, for tests), then the shipped dir. */
size_t		 profile_dirs(const char **, size_t, char *, size_t);

const char	*profile_ws_mode_name(enum ws_mode);
const char	*profile_net_mode_name(enum net_mode);

#endif

/* profile.h: struct profile, what a sandbox is allowed; parsed from
 * moat-profile(5) files with inheritance. Supervisor and front ends; the
 * sandbox init reads a profile resolved before clone. */
#ifndef MOAT_PROFILE_H
#define MOAT_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/util.h"

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
	uint64_t	 size;		/* bytes; 0 means the profile's tmp-size */
};

/* Where a value came from, for "moat profiles show". */
struct origin {
	char		*file;		/* owned */
	int		 line;
};

struct limits {
	double		 timeout;	/* wall clock, seconds; 0 = none */
	double		 idle_timeout;	/* seconds with nothing on the terminal
					   or the output pipes; 0 = none */
	double		 cpu_time;	/* RLIMIT_CPU seconds; 0 = none */
	uint64_t	 nofile;	/* RLIMIT_NOFILE */
	uint64_t	 nproc;		/* RLIMIT_NPROC, and pids.max where cgroups exist */
	uint64_t	 fsize;		/* RLIMIT_FSIZE bytes; 0 = unlimited */
	uint64_t	 memory;	/* bytes; 0 = none (a cgroup limit, cg.c) */
	/* memory as a share of the machine's memory, 1-100 percent (0: memory
	 * is in bytes); the sandbox resolves it when a run starts (cg.c
	 * cg_memory_budget: RAM, or less when moat itself is under a cgroup
	 * limit). Only one of memory and memory_pct is ever set. */
	unsigned	 memory_pct;
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
	bool		 exec_trail;	/* every execve/execveat an EV_EXEC event */
	bool		 bind_path_toolchains;	/* PATH's prefixes under hidden
						   directories bound read-only */
	char		*agent_command;	/* owned; the agent moat wrap picks this
					   profile for ("claude"), or NULL */

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
	struct strv	 net_resolve;	/* "name=address": static answers, before DNS */
	struct strv	 net_allow_index;	/* "pip", "npm": their index hosts, resolved at run start (index.c) */
	bool		 net_allow_private;	/* allowed names may resolve to loopback/private */
	char		*net_upstream;	/* owned; URL or "env" */
	/* Secrets that never enter the sandbox (network/secret.c): "NAME
	 * HOST..." each, words single-spaced; the value comes from moat's
	 * environment or a secret-file line "NAME PATH"; inside, NAME holds a
	 * placeholder the proxy swaps for the value on the way to HOST. */
	struct strv	 secrets;
	/* The same, for a secret only when its value is there: unset or
	 * empty, the run goes on without it (an agent logged in another way). */
	struct strv	 secrets_try;
	struct strv	 secret_files;
	struct strv	 net_ca;	/* CA files trusted upstream besides the system's */
	unsigned	 net_max_conns;
	double		 net_idle_timeout;	/* seconds a relayed connection may
						   carry nothing; 0 = no limit */

	/* audit log */
	bool		 audit_unlogged;	/* the run may go on when the log cannot be written */
	uint64_t	 audit_output;	/* bytes of head and of tail kept per stream; 0 = none */
	bool		 run_summary;	/* a summary on the terminal after each run */
	bool		 workspace_changes;	/* bind: scan what the run changed */
	bool		 record_refused;	/* writes and connects refused, as events */

	/* risk thresholds (0-100; -1 = not set) */
	int		 risk_confirm_above;
	int		 risk_refuse_above;

	char		*hostname;	/* owned */
	char		*description;	/* owned; one line for "profiles list" */

	/* provenance of every key as resolved, for "profiles show" */
	struct prov {
		char		*key;	/* owned */
		char		*value;	/* owned, as written */
		struct origin	 at;
	}		*prov;
	size_t		 nprov;
	/* private to profile.c: room in prov, and a hash index of
	 * (key, value) -> 1 + position in prov, so that 40,000 list lines
	 * are deduplicated in linear time; rebuilt when entries go */
	size_t		 capprov;
	size_t		*provix;
	size_t		 provixcap;	/* slots, a power of two; 0: none */
	bool		 provix_stale;
};

/* The key table (profile-keys.c): parsing, "moat profiles show|keys" and
 * moat-profile(5) all read it. */
enum key_type {
	KEY_ENUM,
	KEY_LIST,		/* each line adds an item; "-=" removes, "!clear" empties */
	KEY_BYTES,		/* 512M, 1G, 0 */
	KEY_SECONDS,		/* 30, 1.5, 500ms, 2m, 1h */
	KEY_UINT,
	KEY_NUMBER,		/* a decimal fraction, e.g. cpus = 1.5 */
	KEY_BOOL,		/* yes|no, true|false, on|off, 1|0 */
	KEY_STRING,
	KEY_INCLUDE,		/* "include": handled by the parser itself */
};

#define PK_PATH		0x1	/* a leading "~/" (and one after the first ':') is $HOME */

struct profile_key {
	const char	*name;
	enum key_type	 type;
	/* Checks one value and applies it: scalars assign, lists append one
	 * item. On a bad value fills e with the detail (may be empty) and
	 * returns -1; the parser adds file:line, key, value and "valid". */
	int		(*set)(struct profile *, const struct profile_key *,
			    const char *, struct merr *);
	/* Formats the current value of a scalar (NULL for lists), so
	 * "profiles show" can print built-in defaults. Caller frees. */
	char		*(*get)(const struct profile *, const struct profile_key *);
	const char	*valid;		/* the valid choices, for messages */
	const char	*help;		/* what it does, one line */
	unsigned	 flags;		/* PK_* */
	size_t		 off;		/* offsetof(struct profile, field), generic setters */
	unsigned long long min, max;	/* KEY_UINT, KEY_BYTES: the range */
	int		 arg;		/* the setter's own use (bind kind) */
};

extern const struct profile_key	profile_keys[];
extern const size_t		profile_nkeys;
const struct profile_key	*profile_key_find(const char *);
/* Fills the built-in defaults (what a profile gets for a key it never sets). */
void				 profile_defaults(struct profile *);
/* Empties every list field, before they are rebuilt from p->prov. */
void				 profile_clear_lists(struct profile *);

/* Finds NAME (see profile_dirs) or reads a path ("./x.conf", "/abs/x.conf",
 * anything containing '/'); resolves includes. NULL means "default". On
 * error fills e with "profile file:line: what; valid: ..." and returns NULL. */
struct profile	*profile_load(const char *name, struct merr *e);
struct profile	*profile_load_file(const char *path, struct merr *e);
void		 profile_free(struct profile *);
/* Adds VALUE to the list KEY as a line of ORIGIN would ("moat wrap: the
 * agent's install"), provenance included, so "profiles show" and the
 * audit's profile text carry it. -1 with e set when the value is refused. */
int		 profile_add(struct profile *, const char *key, const char *value,
		    const char *origin, struct merr *);
/* The profile as resolved, one "key = value" line per value in table order.
 * With provenance, each line ends in "# from FILE:LINE" or "# default" and
 * empty lists and unset keys appear as comments ("moat profiles show").
 * Without, scalars are in canonical form, so the text is stable for hashing
 * (audit's profile_text). With provenance, annotate (may be NULL) is asked
 * after each key that has values for comment lines to add (it returns a
 * string the formatter frees, or NULL). Caller frees. */
char		*profile_format(const struct profile *, bool provenance,
		    char *(*annotate)(const struct profile *, const char *key));

/* The directories searched for NAME.conf, in order: the user's
 * ($XDG_CONFIG_HOME/moat/profiles, default ~/.config/moat/profiles), then
 * each of $MOAT_PROFILE_DIR (colon-separated; tests set it), then the
 * installed dir MOAT_PROFILEDIR or, when that does not exist, the source
 * tree's MOAT_SRC_PROFILEDIR. Duplicates are dropped. Fills up to n pointers
 * into buf (len bytes); returns how many. The first is always the user's. */
size_t		 profile_dirs(const char **, size_t n, char *buf, size_t len);
/* Finds NAME.conf on the search path: 0 and the path in out, or -1 and e.
 * *dirindex (may be NULL) gets the index of the directory it was found in. */
int		 profile_find(const char *name, char *out, size_t len,
		    size_t *dirindex, struct merr *e);
/* A profile name is letters, digits, '.', '_', '-', not starting with '.'. */
bool		 profile_name_valid(const char *);
/* What involves more than one key of the secrets: each names a host a
 * net-allow line admits (and the network is not isolated), each
 * secret-file names a secret, once. -1 with e naming the line (file:line,
 * or the origin of a line profile_add gave) and what to write. profile_load
 * checks this; a front end that adds secrets or net-allow rules for one
 * run checks again. */
int		 profile_check_secrets(const struct profile *, struct merr *);
/* "NAME HOST..." of a secret line: the name (len bytes at *name) and the
 * hosts (a strv the caller clears). -1 with e on bad syntax. */
int		 profile_secret_split(const char *, const char **name, size_t *len,
		    struct strv *hosts, struct merr *);
/* A tool net-allow-index knows: "pip" or "npm". */
bool		 profile_index_tool_valid(const char *);

const char	*profile_ws_mode_name(enum ws_mode);
const char	*profile_net_mode_name(enum net_mode);
const char	*profile_key_type_name(enum key_type);

#endif

/* filter-groups.h: the seccomp deny list as data, in named groups, and the
 * lookups of syscall and group names (filter-groups.c). The profile parser
 * validates seccomp-allow and seccomp-deny with them; sandbox/filter.c
 * compiles them. Any process. */
#ifndef MOAT_FILTER_GROUPS_H
#define MOAT_FILTER_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Older headers lack these; the filter and the notification handler both
 * name them. */
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME	0x00000080
#endif
#ifndef TIOCLINUX
#define TIOCLINUX	0x541C
#endif

/* "@group" or a syscall name known to libseccomp: for the profile parser. */
bool		 filter_name_valid(const char *);
/* The group names, space-separated, for error messages and the man page. */
const char	*filter_group_names(void);
/* The native number of a syscall: libseccomp's, or ours for the few newer
 * than libseccomp (open_tree_attr). Negative when unknown. */
int		 filter_syscall_nr(const char *);
/* The name of such a newer syscall, or NULL. */
const char	*filter_syscall_newer_name(int);

/*
 * The groups, as data (filter-groups.c). A rule denies one syscall, for every
 * call or only when all its argument tests hold. Arguments the kernel reads as
 * int are tested on their low 32 bits (mask 0xffffffff) so that garbage in the
 * high half of the register cannot slip past a test the kernel would ignore.
 */
enum filter_op {
	FOP_EQ,			/* (arg & mask) == val; mask 0 means all 64 bits */
	FOP_NE,			/* arg != val, all 64 bits */
	FOP_GT,			/* arg > val, all 64 bits */
};

struct filter_arg {
	unsigned	 arg;		/* 0-5 */
	enum filter_op	 op;
	uint64_t	 mask;
	uint64_t	 val;
};

#define FILTER_MAX_ARGS	3

struct filter_rule {
	const char		*syscall;
	int			 err;	/* the errno answered: EPERM, or ENOSYS for clone3 */
	bool			 quiet;	/* answer with err in the filter itself, never notify */
	unsigned		 nargs;
	struct filter_arg	 args[FILTER_MAX_ARGS];
};

struct filter_group {
	const char		*name;		/* "@mount" */
	const char		*description;	/* one line */
	const struct filter_rule *rules;
	size_t			 nrules;
};

extern const struct filter_group	filter_groups[];
extern const size_t			filter_ngroups;

/* NULL when there is no such group ("@mount", with the @). */
const struct filter_group *filter_group_find(const char *);
/* The group a syscall belongs to, for messages: "keyctl" -> "@keyring". */
const struct filter_group *filter_group_of(const char *syscall);

#endif

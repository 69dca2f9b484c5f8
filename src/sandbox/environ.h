/* environ.h: the command's environment, built from an allowlist in the
 * supervisor before clone. Secrets never enter: only named variables pass. */
#ifndef MOAT_ENVIRON_H
#define MOAT_ENVIRON_H

#include "network/secret.h"
#include "profile/profile.h"
#include "base/util.h"

struct environ_in {
	const struct profile	*profile;
	const struct strv	*extra;		/* -e NAME (pass) or NAME=VALUE (set) */
	const char		*home;		/* $HOME inside */
	const char		*user;		/* login name */
	const char		*cwd;		/* $PWD inside */
	const char		*run_id;
	/* NULL or the run's secrets: each variable holds its placeholder,
	 * and the host's value of it is never copied, not even to be
	 * replaced (init inherits the heap). */
	const struct secrets	*secrets;
};

/* Fills env (NAME=VALUE strings, later entries win). -1 and e for a bad -e. */
int	environ_build(const struct environ_in *, struct strv *env, struct merr *e);
/* Whether NAME matches an allowlist entry ("LC_*" is a prefix pattern). */
int	environ_name_allowed(const struct strv *, const char *);

#endif

/* environ.h: the command's environment, built from an allowlist in the
 * supervisor before clone. Secrets never enter: only named variables pass. */
#ifndef MOAT_ENVIRON_H
#define MOAT_ENVIRON_H

#include "profile/profile.h"
#include "base/util.h"

struct environ_in {
	const struct profile	*profile;
	const struct strv	*extra;		/* -e NAME (pass) or NAME=VALUE (set) */
	const char		*home;		/* $HOME inside */
	const char		*user;		/* login name */
	const char		*cwd;		/* $PWD inside */
	const char		*run_id;
};

/* Fills env (NAME=VALUE strings, later entries win). -1 and e for a bad -e. */
int	environ_build(const struct environ_in *, struct strv *env, struct merr *e);
/* Whether NAME matches an allowlist entry ("LC_*" is a prefix pattern). */
int	environ_name_allowed(const struct strv *, const char *);

#endif

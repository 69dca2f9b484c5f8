/* index.h: "net-allow-index = pip | npm": the hosts of the package index a
 * tool would use, read from the tool's own configuration (its environment
 * variables and config files) or, when nothing is configured, asked of the
 * installed tool and cached. Supervisor (before the proxy's allowlist is
 * built) and "moat profiles show". moat itself names no index. */
#ifndef MOAT_INDEX_H
#define MOAT_INDEX_H

#include <stdbool.h>

#include "base/error.h"
#include "profile/profile.h"
#include "base/util.h"

#define INDEX_NO_TOOLS	0x1	/* never run the tool: a valid cache, or "deferred" */

/* One destination: a net-allow entry and where it came from. */
struct index_found {
	char	*rule;		/* owned; "host:port", "a.b.c.d:port", "[v6]:port" */
	char	*from;		/* owned; "PIP_INDEX_URL", "FILE:LINE", "pip's default (...)" */
};

struct index_result {
	struct index_found	*v;	/* owned, n entries, no duplicate rules */
	size_t			 n;
	/* The tool's default index is needed but was not asked for
	 * (INDEX_NO_TOOLS and no valid cache): it is resolved at run time. */
	bool			 deferred;
};

/* Where the tools' system-wide files live: "/etc" except in tests. */
struct index_where {
	const char	*etc;		/* NULL: "/etc" */
	const char	*workspace;	/* the project directory (npm's ./.npmrc); NULL: cwd */
	/* The profile's protected paths. A config file inside the workspace is
	 * read only when one of them covers it: any earlier run could have
	 * written it otherwise, and chosen the next run's hosts. NULL: no check
	 * (tests). */
	const struct strv *protect;
};

/* Resolves tool ("pip" or "npm"). -1 with e naming the bad variable or
 * FILE:LINE, or saying what is missing and how to configure an index. */
int		 index_resolve(const char *tool, const struct index_where *,
		    unsigned flags, struct index_result *, struct merr *);
void		 index_result_release(struct index_result *);

/* For the proxy: appends to out (usually a copy of net_allow) the rules of
 * every net-allow-index entry of the profile, and to notes (may be NULL)
 * one line per rule for "moat run -v". An index on a loopback or private
 * address is refused unless the profile says net-allow-private = yes or
 * allows that destination itself. */
int		 index_extend_allow(const struct profile *, const char *workspace,
		    struct strv *out, struct strv *notes, struct merr *);

/* What proxy_start calls instead of allow_init: the allowlist of the
 * profile's net-allow plus its index hosts, each reported to the sink as an
 * EV_NOTE ("moat run -v"). A profile without net-allow-index gets exactly
 * what allow_init gives it. */
struct allow;
struct event_sink;
int		 index_allow_init(struct allow *, const struct event_sink *,
		    const char *workspace, const struct profile *, struct merr *);

/* "moat profiles show": comment lines, one per destination the profile's
 * net-allow-index entries resolve to now (no tool is run: the tool's
 * default shows from the cache, or as "resolved at run time"). Caller
 * frees; "" when the profile has none. */
char		*index_describe(const struct profile *);
/* profile_format's annotation: index_describe after net-allow-index, NULL
 * after any other key. */
char		*index_profile_note(const struct profile *, const char *key);

#endif

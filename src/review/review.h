/* review.h: what an overlay run changed in its workspace, read back from the
 * upper dir it kept ($XDG_STATE_HOME/moat/runs/RUN_ID/upper), and how those
 * changes are applied onto the host workspace or thrown away. Front ends
 * (moat diff, apply, discard); never the sandbox. */
#ifndef MOAT_REVIEW_H
#define MOAT_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/util.h"

struct audit_run_info;

enum review_kind {
	REVIEW_ADDED,		/* not in the workspace */
	REVIEW_MODIFIED,	/* other content, or another type */
	REVIEW_DELETED,		/* a whiteout, or an entry an opaque dir hides */
	REVIEW_MODE,		/* the same content, other permissions */
	REVIEW_SYMLINK,		/* a symbolic link added or pointed elsewhere */
};

struct review_change {
	char		*path;		/* owned; workspace-relative */
	char		*target;	/* owned; a symlink's target, else NULL */
	enum review_kind kind;
	mode_t		 old_mode;	/* st_mode in the workspace, 0 = absent */
	mode_t		 new_mode;	/* st_mode in the layer, 0 = deleted */
	off_t		 old_size, new_size;
	bool		 protected;	/* a protect entry: never applied */
	size_t		 layer;		/* the layer that holds it (0 = the run's own) */
};

#define REVIEW_MAX_LAYERS	64	/* a chain of --on runs, the run's own first */

struct review {
	char			*ws;		/* owned; the host workspace */
	char			*upper;		/* owned; the run's own layer */
	char			*run_id;	/* owned; the layer's run id */
	/* What the layer is of, set by review_open and review_open_session:
	 * a run (its audit ID in row) or a session (its id in session). */
	int64_t			 row;		/* 0 for a session */
	char			*session;	/* owned; NULL for a run */
	char			*profile;	/* owned; as the run or session named it */
	double			 since;		/* when it started (Unix seconds): a
						   host entry changed since conflicts */
	struct strv		 layers;	/* its upper dir, then those it ran on */
	struct strv		 protect;	/* the run's protect entries */
	struct review_change	*v;		/* owned; sorted by path */
	size_t			 n, cap;
	char			 note[512];	/* a warning for the user, or "" */
};

/* $XDG_STATE_HOME/moat/runs/RUN_ID; owned. */
char	*review_state_dir(const char *run_id);
/* Reads the layer of run_id against the workspace ws, skipping moat's own
 * placeholders for the protect entries (empty, absent from the host) and
 * marking changes to protected paths. Fails, saying why, when the run kept
 * no layer. */
int	 review_load(struct review *, const char *run_id, const char *ws,
	    const struct strv *protect, struct merr *);
void	 review_release(struct review *);
/* The upper dirs of run_id and of the runs it was started on (its "on"
 * file names the next), top first. */
int	 review_chain(const char *run_id, struct strv *layers, struct merr *);
/* The run named by arg (an audit ID or a run id prefix) in the audit log db
 * (NULL: the default) and its layer, read with the protect entries of the
 * profile it ran with (the default profile's when that one is gone, with a
 * note). ri is filled even when the layer is missing. */
int	 review_open(const char *db, const char *arg, struct audit_run_info *ri,
	    struct review *, struct merr *);
/* A session's layer as it is now (the session live or ended): its id,
 * the sandbox's run id (the layer's), its workspace, profile and protect
 * entries, and when it was made (the conflict check's start). */
int	 review_open_session(struct review *, const char *id, const char *run_id,
	    const char *ws, const char *profile, const struct strv *protect,
	    double created, struct merr *);
/* What the layer is, for messages: "run 12" or "session s-1a2b3c4d"; owned. */
char	*review_label(const struct review *);
const char *review_kind_name(enum review_kind);
/* path filters: an exact path, a directory above it, or a glob(7) pattern. */
bool	 review_match(const char *path, char *const *filters, size_t nfilters);
/* The layer's copy of a change ("" for a deletion); owned. */
char	*review_layer_path(const struct review *, const struct review_change *);

/* Paths of the selected changes whose host entry changed at or after
 * rv->since, one per line in *out (owned, NULL when none). A deleted
 * directory counts when anything in it did. What an earlier apply of the
 * same layer wrote itself is no conflict (a session applied more than
 * once: the layer's "applied" file). */
int	 review_conflicts(const struct review *, const bool *sel, char **out,
	    struct merr *);

/* The one apply of every front end (moat apply, run --review, the TUI,
 * moat mcp). */
struct review_apply_opts {
	const char	*db;		/* the audit log; NULL: the default */
	const char	*source;	/* the row's source: "cli", "tui", "mcp" */
	const char	*client;	/* e.g. the MCP client's name; NULL */
	char *const	*filters;	/* as the user named the paths, recorded */
	size_t		 nfilters;
	/* Called for each change applied, after it is on the host. */
	void		(*on_done)(const struct review_change *, void *);
	void		*arg;
};
struct review_result {
	size_t		 applied;
	char		*conflicts;	/* owned; one path a line; NULL when none */
	int64_t		 row;		/* the apply's audit row; 0 when none */
};
/* Applies the selected changes that are not protected, in path order,
 * after the conflict check: when any path conflicts nothing is written,
 * res->conflicts names them and 1 is returned. Otherwise the apply is an
 * audit row of its own (argv "moat apply RUN_ID|SESSION [PATH]...", linked
 * to the session, a file event per path; nothing is written when it
 * cannot be recorded), and 0. No symbolic link of the workspace is
 * followed: an entry whose parent is reached through one is refused
 * (-1, e says which; what was applied before it stays, recorded).
 * Release res with review_result_release. */
int	 review_apply(const struct review *, const bool *sel,
	    const struct review_apply_opts *, struct review_result *,
	    struct merr *);
void	 review_result_release(struct review_result *);
/* Removes kept layers made before `before` (Unix seconds; 0 = none by
 * age), then the oldest until they hold at most max_bytes (0 = no cap). A
 * layer another kept one was started on, or one busy() says is in use,
 * stays. */
struct review_pruned {
	size_t		 layers;
	uint64_t	 bytes;		/* freed */
	uint64_t	 left;		/* what the kept layers still hold */
};
int	 review_prune(double before, uint64_t max_bytes,
	    bool (*busy)(const char *, void *), void *, struct review_pruned *,
	    struct merr *);
/* Removes the run's (or an ended session's) kept layer. */
int	 review_discard(const char *run_id, struct merr *);

#endif

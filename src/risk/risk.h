/* risk.h: the risk scorer. A score 0-100 with its reasons, from the text of a
 * command line before a run (a shell-aware walk over pipelines, sh -c and
 * python -c bodies, eval, wrappers and base64 payloads) and from what a run
 * was seen to do after it. The rules are data: rules/risk.rules plus the
 * files in risk.d (moat-risk(5)). Supervisor and front ends; nothing
 * here runs inside the sandbox. */
#ifndef MOAT_RISK_H
#define MOAT_RISK_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "base/rx.h"
#include "base/util.h"

/* Bands, as moat-risk(5) documents them. */
#define RISK_MEDIUM	30
#define RISK_HIGH	60
#define RISK_CRITICAL	85

/* What a rule's pattern is matched against. */
enum risk_scope {
	RISK_SCOPE_CMD,		/* cmd NAME... [args ERE]...: one simple command */
	RISK_SCOPE_MATCH,	/* match ERE: a normalised simple command, or a text body */
	RISK_SCOPE_TEXT,	/* text ERE: python -c / perl -e / ... bodies and decoded payloads */
	RISK_SCOPE_RAW,		/* raw ERE: each script as written, before parsing */
	RISK_SCOPE_PIPE,	/* pipe ERE + into ERE: an earlier and a later pipeline stage */
	RISK_SCOPE_EVENT,	/* event NAME: a detector (base64-blob) or an observed count */
};

#define RISK_MAX_RE	4

struct risk_rule {
	char		*id;		/* owned */
	uint32_t	 idhash;	/* of id: a later rule replaces by id */
	char		*category;	/* owned */
	char		*reason;	/* owned */
	int		 weight;	/* 0-100; 0 disables the rule */
	int		 each;		/* events: added per occurrence after the first */
	int		 max;		/* events: cap on weight + each * (n - 1) */
	bool		 nocase;
	enum risk_scope	 scope;
	struct strv	 cmds;		/* RISK_SCOPE_CMD: command names (basenames) */
	struct rx	*re[RISK_MAX_RE];	/* owned: args (all must match), or the one ERE,
						   or pipe/into; REG_NOSUB, which halves regcomp's
						   time, and compiled on first need (rx.h) */
	size_t		 nre;
	char		*event;		/* owned; RISK_SCOPE_EVENT */
	char		*file;		/* owned; where it was defined, for messages */
	int		 line;
	/* Its strings, its command names' and its patterns' are its rule
	 * set's (risk_rules.arena): a rule read from the cache. */
	bool		 borrowed;
};

struct risk_rules {
	struct risk_rule	**v;	/* owned */
	size_t			  n;
	struct strv		  files;	/* the files loaded, in order */
	char			 *arena;	/* owned: the strings of the rules
						   read from the cache, in one block */
	/* Set while loading moat's own rules file: its patterns compile when
	 * a text first needs them (make check compiles them all). A user's
	 * file is compiled as it loads, so a bad pattern names file:line. */
	bool			  lazy;
};

struct risk_reason {
	char	*rule;		/* owned */
	char	*category;	/* owned */
	int	 weight;	/* the weight this reason contributed */
	char	*match;		/* owned: the text that matched */
	char	*reason;	/* owned */
	char	*via;		/* owned, or NULL: "sh -c > base64" when found inside a body */
};

struct risk_result {
	int			 score;		/* 0-100 */
	struct risk_reason	*reasons;	/* owned; highest weight first */
	size_t			 nreasons;
};

/* Kinds of denied system calls, for the observed score. */
enum risk_deny {
	RISK_DENY_MOUNT,
	RISK_DENY_USERNS,
	RISK_DENY_PTRACE,
	RISK_DENY_KEYRING,
	RISK_DENY_BPF,
	RISK_DENY_RAW_NET,
	RISK_DENY_TTY_INJECT,
	RISK_DENY_OTHER,
	RISK_DENY_MAX
};

/* What a run was seen to do; counts, zero when it did not happen. */
struct risk_observed {
	unsigned	denied[RISK_DENY_MAX];	/* denied syscalls by kind */
	unsigned	net_refused;		/* connections the proxy or netns refused */
	unsigned	secret_misused;		/* a secret's placeholder sent where it may not go */
	unsigned	limit_oom;		/* limits hit */
	unsigned	limit_pids;
	unsigned	limit_timeout;
	unsigned	limit_cpu;
	unsigned	files_outside;		/* files changed outside the usual places */
};

/* risk-rules.c: loading. */
struct risk_rules	*risk_rules_new(void);
void			 risk_rules_free(struct risk_rules *);
int			 risk_rules_load_file(struct risk_rules *, const char *, struct merr *);
int			 risk_rules_load_string(struct risk_rules *, const char *, const char *,
			    struct merr *);
int			 risk_load(struct risk_rules **, struct merr *);
/* Compiles every pattern not compiled yet; a bad one names file:line. */
int			 risk_rules_compile(struct risk_rules *, struct merr *);
const char		*risk_shipped_path(void);
bool			 risk_event_known(const char *);
/* A rule's idhash. */
uint32_t		 risk_id_hash(const char *);

/* risk.c: scoring. */
int		 risk_score_text(const struct risk_rules *, const char *, struct risk_result *);
int		 risk_score_argv(const struct risk_rules *, char *const [], struct risk_result *);
/* A script piped into a shell (curl ... | moat run -- sh): what reads it,
 * and its score added to the command's; moat reads at most this much. */
#define RISK_STDIN_MAX	(256 * 1024)
const char	*risk_stdin_program(char *const []);
int		 risk_add_stdin(const struct risk_rules *, struct risk_result *, char *const [],
		    const char *, size_t, bool);
int		 risk_event(const struct risk_rules *, struct risk_result *, const char *,
		    unsigned, const char *);
int		 risk_add_observed(const struct risk_rules *, struct risk_result *,
		    const struct risk_observed *);
enum risk_deny	 risk_deny_kind(const char *);
void		 risk_result_free(struct risk_result *);
void		 risk_result_copy(struct risk_result *, const struct risk_result *);
const char	*risk_band(int);
char		*risk_result_json(const struct risk_result *);
char		*risk_reasons_json(const struct risk_result *);
void		 risk_result_print(const struct risk_result *, FILE *);
char		*risk_argv_join(char *const []);

#endif

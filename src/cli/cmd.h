/* cmd.h: the subcommand table. Each cmd-*.c file defines one entry. */
#ifndef MOAT_CMD_H
#define MOAT_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "base/error.h"

struct cmd_entry {
	const char	*name;
	const char	*usage;		/* after "moat " */
	const char	*summary;	/* one line for "moat --help" */
	/* "moat CMD --help": one line per flag or word, "FLAG\tmeaning",
	 * NULL-terminated (moat(1) says the same at length). */
	const char *const *options;
	int		(*exec)(int, char **);	/* argv[0] is the subcommand; returns the exit status */
};

extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_profiles_entry;
extern const struct cmd_entry cmd_doctor_entry;
extern const struct cmd_entry cmd_risk_entry;
extern const struct cmd_entry cmd_audit_entry;
extern const struct cmd_entry cmd_session_entry;
extern const struct cmd_entry cmd_diff_entry;
extern const struct cmd_entry cmd_apply_entry;
extern const struct cmd_entry cmd_discard_entry;
extern const struct cmd_entry cmd_shell_entry;
extern const struct cmd_entry cmd_mcp_entry;
extern const struct cmd_entry cmd_wrap_entry;

/* Review of an overlay run's changes (cmd-diff.c, cmd-apply.c). */
struct run;
struct review;
struct review_change;
void	cmd_print_path(FILE *, const char *);
void	cmd_diff_summary_line(FILE *, const struct review_change *, bool);
int	cmd_diff_show(const struct review *, const struct review_change *, FILE *, bool);
int	cmd_apply_selected(const char *, const struct review *, const bool *,
	    char **, size_t, bool);
/* The layer ID names for moat diff, apply, discard: a live session's (its
 * id or name), an ended session's kept layer, or a run's (an audit ID or a
 * run id prefix); *live for a live session. 0, or -1 said on stderr
 * ("moat VERB: ..."). cmd-diff.c. */
int	cmd_review_open(const char *db, const char *arg, const char *verb,
	    struct review *, bool *live);
struct strv;
int	cmd_apply_on(const char *, const char *, struct run *, char **, char **,
	    struct strv *);
int	cmd_apply_review(const char *, const char *, int);

const struct cmd_entry	*cmd_find(const char *);
void			 cmd_usage_all(FILE *);
/* "moat CMD --help": usage, summary and the options table, on f. */
void			 cmd_help(const struct cmd_entry *, FILE *);
int			 cmd_usage_error(const struct cmd_entry *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
/* fprintf(stderr, ...) for a message that quotes input: control bytes are
 * escaped (ctl_escape), a final newline is kept. */
void			 cmd_errorf(const char *, ...)
			    __attribute__((format(printf, 1, 2)));

/* A session by id or name, greeted, and the profile it started with loaded
 * again (its text must give the same hash): the socket, or -1 (said on
 * stderr, "moat session VERB: ..."). meanwhile(arg), when not NULL, is
 * called once while the session answers the greeting
 * (session_connect_meanwhile). cmd-session.c. */
struct session_info;
struct profile;
int	cmd_session_attach(const char *which, const char *verb,
	    struct session_info *, struct profile **,
	    void (*meanwhile)(void *), void *arg);

/* A flag of a subcommand read by cmd_flags: a switch (set) or one that
 * takes the next argument (value). */
struct cmd_flag {
	const char	 *name;		/* "--db" */
	bool		 *set;
	const char	**value;
};
/* Reads a subcommand's flags, which may come before or after its operands
 * ("--" ends them); argv[0] is the subcommand. The operands are left in
 * argv[0..*n), argv[*n] NULL. 0; 1 when -h or --help was printed; -1 with
 * the usage error printed (an unknown flag, a value missing). */
int	cmd_flags(const struct cmd_entry *, int argc, char **argv,
	    const struct cmd_flag *, int *n);

/* How a command is run, shown and recorded once its flags are read: moat
 * run and moat session exec share it (cmd-run.c). */
struct run;
struct audit;
struct risk_rules;
struct profile;
struct cmd_run_opts {
	bool		 meter, json;
	bool		 quiet;		/* no summary on the terminal after the run */
	const char	*db;		/* --db; NULL: $MOAT_DB or the default */
	bool		 unlogged;
	char		*profile_label;	/* the profile as recorded; NULL: its name */
	const char	*session;	/* the session's id when it runs in one */
	double		 trace;		/* MOAT_TRACE_TIMING: the start; 0 = off */
	/* session exec --detach: once the command is started, its run id and
	 * a newline are written here and it is closed, and stderr goes to
	 * /dev/null; -1: none. */
	int		 detach_fd;
	/* Opened before the run by moat session exec while it connected
	 * (borrowed); NULL: rec_run opens and loads them. */
	struct audit		*audit;
	struct risk_rules	*rules;
};
int	cmd_run_go(struct run *, struct profile *, const struct cmd_run_opts *);

/* The flags of a command's run that moat run and moat session exec share
 * (cmd.c): the getopt_long entries each puts in its table, their short
 * letters, and one reader for both. */
enum {
	CMD_RUN_TIMEOUT = 0x100,
	CMD_RUN_JSON,
	CMD_RUN_DB,
	CMD_RUN_UNLOGGED,
};
#define CMD_RUN_OPTIONS \
	{ "timeout", required_argument, NULL, CMD_RUN_TIMEOUT }, \
	{ "env", required_argument, NULL, 'e' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "json", no_argument, NULL, CMD_RUN_JSON }, \
	{ "db", required_argument, NULL, CMD_RUN_DB }, \
	{ "unlogged", no_argument, NULL, CMD_RUN_UNLOGGED }
#define CMD_RUN_SHORT	"e:vq"
/* getopt_long's answer c (its optarg in arg) read into r and o when it is
 * one of CMD_RUN_OPTIONS: 1; 0 when it is not one of them; -1 with the
 * usage error printed (ce's). */
int	cmd_run_option(const struct cmd_entry *ce, int c, const char *arg,
	    struct run *, struct cmd_run_opts *);

#endif

/* cmd.h: the subcommand table. Each cmd-*.c file defines one entry. */
#ifndef MOAT_CMD_H
#define MOAT_CMD_H

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

const struct cmd_entry	*cmd_find(const char *);
void			 cmd_usage_all(FILE *);
/* "moat CMD --help": usage, summary and the options table, on f. */
void			 cmd_help(const struct cmd_entry *, FILE *);
int			 cmd_usage_error(const struct cmd_entry *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));


#endif

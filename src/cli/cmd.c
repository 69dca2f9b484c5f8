/* cmd.c: the subcommand table, usage messages, and the readers of flags
 * several subcommands share. Front end. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "sandbox/spawn.h"

static const struct cmd_entry *cmd_table[] = {
	&cmd_shell_entry,
	&cmd_run_entry,
	&cmd_profiles_entry,
	&cmd_doctor_entry,
	&cmd_risk_entry,
	&cmd_audit_entry,
	&cmd_session_entry,
	&cmd_diff_entry,
	&cmd_apply_entry,
	&cmd_discard_entry,
	&cmd_mcp_entry,
	&cmd_wrap_entry,
};

const struct cmd_entry *
cmd_find(const char *name)
{
	for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return (cmd_table[i]);
	return (NULL);
}

void
cmd_usage_all(FILE *f)
{
	fprintf(f, "usage: moat COMMAND [ARG]...\n\ncommands:\n");
	for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
		fprintf(f, "  moat %s\n      %s\n", cmd_table[i]->usage,
		    cmd_table[i]->summary);
	fprintf(f, "\nSee moat(1), moat-profile(5).\n");
}

void
cmd_help(const struct cmd_entry *ce, FILE *f)
{
	fprintf(f, "usage: moat %s\n%s\n", ce->usage, ce->summary);
	if (ce->options != NULL && ce->options[0] != NULL)
		fprintf(f, "\n");
	for (size_t i = 0; ce->options != NULL && ce->options[i] != NULL; i++) {
		const char	*o = ce->options[i], *tab = strchr(o, '\t');

		if (tab == NULL)
			fprintf(f, "  %s\n", o);
		else
			fprintf(f, "  %-26.*s %s\n", (int)(tab - o), o, tab + 1);
	}
	fprintf(f, "\nSee moat(1).\n");
}

void
cmd_errorf(const char *fmt, ...)
{
	va_list	ap;
	char	msg[4096], safe[4096];
	size_t	n;
	bool	nl;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if ((nl = n > 0 && msg[n - 1] == '\n'))
		msg[n - 1] = '\0';
	ctl_escape(safe, sizeof safe, msg);
	fprintf(stderr, "%s%s", safe, nl ? "\n" : "");
}

/* Prints "moat CMD: message" and the usage line; returns 125 (a bad call is moat's failure to run). */
int
cmd_usage_error(const struct cmd_entry *ce, const char *fmt, ...)
{
	va_list	ap;
	char	msg[2048], safe[2048];

	/* The message quotes the argument: escape what a terminal would obey. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ctl_escape(safe, sizeof safe, msg);
	fprintf(stderr, "moat %s: %s\nusage: moat %s\n", ce->name, safe, ce->usage);
	return (EXIT_MOAT);
}

int
cmd_flags(const struct cmd_entry *ce, int argc, char **argv,
    const struct cmd_flag *flags, int *n)
{
	bool			 dashdash = false;
	const struct cmd_flag	*f;

	*n = 0;
	for (int i = 1; i < argc; i++) {
		if (dashdash || argv[i][0] != '-' || argv[i][1] == '\0') {
			argv[(*n)++] = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			dashdash = true;
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_help(ce, stdout);
			return (1);
		}
		for (f = flags; f->name != NULL && strcmp(f->name, argv[i]) != 0; f++)
			;
		if (f->name == NULL) {
			cmd_usage_error(ce, "unknown option \"%s\"", argv[i]);
			return (-1);
		}
		if (f->set != NULL)
			*f->set = true;
		else if (++i == argc) {
			cmd_usage_error(ce, "%s needs a value", f->name);
			return (-1);
		} else
			*f->value = argv[i];
	}
	argv[*n] = NULL;
	return (0);
}

int
cmd_run_option(const struct cmd_entry *ce, int c, const char *arg,
    struct run *r, struct cmd_run_opts *o)
{
	const char	*why;

	switch (c) {
	case CMD_RUN_TIMEOUT:
		if (parse_duration(arg, &r->timeout, &why) == -1) {
			cmd_usage_error(ce, "--timeout %s: %s (seconds, or with ms, s, "
			    "m, h: 1.5, 500ms, 2m; 0 = none; at most 366 days)", arg, why);
			return (-1);
		}
		if (r->timeout == 0)
			r->timeout = RUN_TIMEOUT_NONE;
		return (1);
	case 'e':
		strv_add(&r->env_extra, arg);
		return (1);
	case 'v':
		r->verbose++;
		return (1);
	case 'q':
		o->quiet = true;
		return (1);
	case CMD_RUN_JSON:
		o->json = true;
		return (1);
	case CMD_RUN_DB:
		o->db = arg;
		return (1);
	case CMD_RUN_UNLOGGED:
		o->unlogged = true;
		return (1);
	}
	return (0);
}

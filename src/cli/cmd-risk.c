/* cmd-risk.c: "moat risk": scores a command line without running it and
 * prints the score, its band and the reasons (or JSON). The score is data, so
 * the exit status is 0 whatever it is; 125 for a bad call or a bad rules
 * file. Front end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "risk/risk.h"

static int	cmd_risk_exec(int, char **);

const struct cmd_entry cmd_risk_entry = {
	.name = "risk",
	.usage = "risk [--json] [--rules FILE] 'COMMAND LINE' | -- COMMAND [ARG]... | -",
	.summary = "score a command line 0-100 with reasons, without running it",
	.options = (const char *const[]){
		"'COMMAND LINE'\tone shell command line, as a single argument",
		"-- COMMAND [ARG]...\ta command and its arguments, as moat run would take them",
		"-\tthe command line (or a script) from standard input",
		"--json\tthe score, band and reasons as JSON",
		"--rules FILE\tscore with this rules file too (moat-risk(5))",
		"-h, --help\tthis text",
		"exit status\t0 whatever the score; 125 for a bad call",
		NULL,
	},
	.exec = cmd_risk_exec,
};

static int
cmd_risk_exec(int argc, char **argv)
{
	struct risk_rules	*rs = NULL;
	struct risk_result	 res = { 0 };
	struct merr		 e = { 0 };
	autofree char		*text = NULL;
	const char		*rules = NULL;
	bool			 json = false, dashdash = false;
	int			 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dashdash = true;
			i++;
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--rules") == 0) {
			if (++i == argc)
				return (cmd_usage_error(&cmd_risk_entry, "--rules needs a file"));
			rules = argv[i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_help(&cmd_risk_entry, stdout);
			return (0);
		} else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return (cmd_usage_error(&cmd_risk_entry, "unknown option \"%s\"", argv[i]));
		else
			break;
	}
	if (i == argc)
		return (cmd_usage_error(&cmd_risk_entry, "no command line to score"));
	if (!dashdash && argc - i == 1 && strcmp(argv[i], "-") == 0) {
		/* The command line on stdin: no quoting for the caller's shell to get wrong. */
		if (read_file("/dev/stdin", &text, NULL, &e) == -1) {
			merr_print(&e);
			return (EXIT_MOAT);
		}
	} else if (!dashdash && argc - i == 1)
		text = xstrdup(argv[i]);
	else
		text = risk_argv_join(argv + i);

	if (risk_load(&rs, &e) == -1 ||
	    (rules != NULL && risk_rules_load_file(rs, rules, &e) == -1)) {
		merr_print(&e);
		risk_rules_free(rs);
		return (EXIT_MOAT);
	}
	risk_score_text(rs, text, &res);
	if (json) {
		autofree char	*j = risk_result_json(&res);

		printf("%s\n", j);
	} else
		risk_result_print(&res, stdout);
	risk_result_free(&res);
	risk_rules_free(rs);
	return (fflush(stdout) == 0 ? 0 : EXIT_MOAT);
}

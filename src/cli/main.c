/* main.c: moat's entry point; finds the subcommand and runs it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

int
main(int argc, char **argv)
{
	const struct cmd_entry	*ce;

	/* No setlocale() here: `moat run` must start fast and prints no text
	 * of its own that needs it; the TUI and the audit views set it. */
	if (argc < 2) {
		/* On a terminal, moat is its shell; elsewhere a call with no
		 * command is a mistake. */
		if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
			return (cmd_shell_entry.exec(1, (char *[]){ "shell", NULL }));
		cmd_usage_all(stderr);
		return (EXIT_MOAT);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cmd_usage_all(stdout);
		return (0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("moat %s\n", PACKAGE_VERSION);
		return (0);
	}
	if ((ce = cmd_find(argv[1])) == NULL) {
		cmd_errorf("moat: unknown command \"%s\"; run \"moat --help\" for the list\n",
		    argv[1]);
		return (EXIT_MOAT);
	}
	return (ce->exec(argc - 1, argv + 1));
}

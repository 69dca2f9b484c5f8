/* cmd-shell.c: "moat shell" (and bare "moat" on a terminal): the
 * interactive sandbox shell. Reads its flags and hands over to the TUI
 * (src/tui), full screen, or plain with --plain or without a terminal.
 * Front end. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cmd.h"
#include "tui/tui.h"

static int	cmd_shell_exec(int, char **);

const struct cmd_entry cmd_shell_entry = {
	.name = "shell",
	.usage = "shell [-p PROFILE] [-w DIR] [--plain] [--scrollback LINES] "
	    "[--ask-timeout SECONDS] [--db PATH] [--unlogged]",
	.summary = "the interactive sandbox shell: each line a recorded run in one "
	    "session, with live meters (bare moat on a terminal opens it)",
	.options = (const char *const[]){
		"-p, --profile PROFILE\tthe session's profile (default: default)",
		"-w, --workspace DIR\tthe workspace (default: the current directory)",
		"--plain\tno full screen: a prompt and one line of meters per command "
		    "(without a terminal, the commands are read from stdin)",
		"--scrollback LINES\tlines kept above the output pane (default 2000)",
		"--ask-timeout SECONDS\ta connection the allowlist refuses is held "
		    "while you are asked: once, this session, always or deny; "
		    "refused when not answered in time (default 30, at most 600; "
		    "0: refused at once, never asked)",
		"--db PATH\tthe audit database (default $XDG_DATA_HOME/moat/audit.db)",
		"--unlogged\trun commands even when the audit log cannot be written",
		"-h, --help\tthis text",
		"exit status\t0; the last command's with --plain; 125 when the "
		    "session cannot start",
		NULL,
	},
	.exec = cmd_shell_exec,
};

static int
cmd_shell_exec(int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "plain", no_argument, NULL, 'P' },
		{ "scrollback", required_argument, NULL, 'S' },
		{ "ask-timeout", required_argument, NULL, 'A' },
		{ "db", required_argument, NULL, 'D' },
		{ "unlogged", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tui_opts		o;
	unsigned long long	n;
	int			c;

	memset(&o, 0, sizeof o);
	o.scrollback = TUI_SCROLLBACK_DEFAULT;
	o.ask_secs = TUI_ASK_SECS_DEFAULT;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.profile = optarg;
			break;
		case 'w':
			o.workspace = optarg;
			break;
		case 'P':
			o.plain = true;
			break;
		case 'S':
			if (parse_uint(optarg, TUI_SCROLLBACK_MAX, &n) == -1)
				return (cmd_usage_error(&cmd_shell_entry, "--scrollback "
				    "%s: a number of lines from 0 to %d", optarg,
				    TUI_SCROLLBACK_MAX));
			o.scrollback = (size_t)n;
			break;
		case 'A':
			if (parse_uint(optarg, TUI_ASK_SECS_MAX, &n) == -1)
				return (cmd_usage_error(&cmd_shell_entry, "--ask-timeout "
				    "%s: whole seconds from 0 to %d", optarg,
				    TUI_ASK_SECS_MAX));
			o.ask_secs = (unsigned)n;
			break;
		case 'D':
			o.db = optarg;
			break;
		case 'U':
			o.unlogged = true;
			break;
		case 'h':
			cmd_help(&cmd_shell_entry, stdout);
			return (0);
		default:
			return (cmd_usage_error(&cmd_shell_entry, "unknown option "
			    "\"%s\"", argv[optind - 1]));
		}
	}
	if (optind < argc)
		return (cmd_usage_error(&cmd_shell_entry, "unexpected \"%s\" (moat "
		    "shell takes commands once it runs; moat run runs one)",
		    argv[optind]));
	/* Full screen needs a terminal on both sides and one that can be
	 * addressed; otherwise the plain shell. */
	if (!o.plain && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) ||
	    getenv("TERM") == NULL || strcmp(getenv("TERM"), "dumb") == 0))
		o.plain = true;
	return (o.plain ? tui_plain(&o) : tui_main(&o));
}

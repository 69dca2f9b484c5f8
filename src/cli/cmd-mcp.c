/* cmd-mcp.c: `moat mcp`, a Model Context Protocol server on stdin and
 * stdout for agents (claude mcp add moat -- moat mcp). Reads the flags and
 * hands over to src/agent/mcp.c. Front end process. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/mcp.h"
#include "cmd.h"
#include "profile/profile.h"

static int	cmd_mcp_exec(int, char **);

const struct cmd_entry cmd_mcp_entry = {
	.name = "mcp",
	.usage = "mcp [-p PROFILE] [--allow-profile NAME]... [--allow-apply] [-w DIR] [--db PATH] [-v]",
	.summary = "a Model Context Protocol server on stdio: agents run commands in sessions",
	.options = (const char *const[]){
		"-p, --profile PROFILE\tthe profile of the sessions it makes (default: default)",
		"--allow-profile NAME\tone more profile a client may ask session_new for (repeatable)",
		"--allow-apply\tthe apply tool may copy an overlay session's changes onto the workspace (without it, the user applies them: moat apply SESSION)",
		"-w, --workspace DIR\tthe workspace of its sessions; session_new may name a directory under it (default: the current directory)",
		"--db PATH\tthe audit database (default $XDG_DATA_HOME/moat/audit.db)",
		"-v, --verbose\twhat it does, on stderr",
		"-h, --help\tthis text",
		"exit status\t0 when the client closed its input; 125 when moat failed",
		NULL,
	},
	.exec = cmd_mcp_exec,
};

static int
cmd_mcp_exec(int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "allow-profile", required_argument, NULL, 'A' },
		{ "allow-apply", no_argument, NULL, 'a' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "db", required_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mcp_opts	 o;
	struct mcp	*m;
	struct profile	*p;
	struct merr	 e;
	struct stat	 st;
	int		 c, rc;

	memset(&o, 0, sizeof o);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.profile = optarg;
			break;
		case 'A':
			strv_add(&o.allow, optarg);
			break;
		case 'a':
			o.allow_apply = true;
			break;
		case 'w':
			o.workspace = optarg;
			break;
		case 'D':
			o.db = optarg;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			cmd_help(&cmd_mcp_entry, stdout);
			strv_clear(&o.allow);
			return (0);
		default:
			strv_clear(&o.allow);
			return (cmd_usage_error(&cmd_mcp_entry, "unknown option \"%s\"",
			    argv[optind - 1]));
		}
	}
	if (optind < argc) {
		strv_clear(&o.allow);
		return (cmd_usage_error(&cmd_mcp_entry, "unexpected \"%s\"", argv[optind]));
	}
	/* Every profile it may use loads now: a typo is said at start, on
	 * stderr, not to the model at its first call. */
	for (size_t i = 0; i <= o.allow.n; i++) {
		const char	*name = i == 0 ? (o.profile != NULL ? o.profile : "default") :
				    o.allow.v[i - 1];

		if ((p = profile_load(name, &e)) == NULL) {
			merr_prefix(&e, "moat mcp: %s %s", i == 0 ? "-p" :
			    "--allow-profile", name);
			merr_print(&e);
			strv_clear(&o.allow);
			return (EXIT_MOAT);
		}
		profile_free(p);
	}
	if (o.workspace != NULL && (stat(o.workspace, &st) == -1 || !S_ISDIR(st.st_mode))) {
		cmd_errorf("moat mcp: -w %s: not a directory\n", o.workspace);
		strv_clear(&o.allow);
		return (EXIT_MOAT);
	}
	m = mcp_new(&o, STDOUT_FILENO);
	strv_clear(&o.allow);
	rc = mcp_serve(m, STDIN_FILENO, &e);
	if (rc == -1)
		cmd_errorf("moat mcp: %s\n", e.msg);
	mcp_free(m);
	return (rc == -1 ? EXIT_MOAT : 0);
}

/* cmd-wrap.c: `moat wrap`, a whole interactive CLI agent in the sandbox.
 * Front end: reads the flags, picks and loads the profile, and leaves the
 * rest to src/agent/wrap.c; with --review, the run's changes are shown and
 * applied as moat run --review does. Runs in the supervisor. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent/wrap.h"
#include "cmd.h"
#include "profile/profile.h"
#include "sandbox/spawn.h"

static int	cmd_wrap_exec(int, char **);

const struct cmd_entry cmd_wrap_entry = {
	.name = "wrap",
	.usage = "wrap [-p PROFILE] [-w DIR] [--review] [-v] [-q] [--db PATH] -- AGENT [ARG]...",
	.summary = "run an interactive CLI agent in the sandbox, its install found and bound, on the record",
	.options = (const char *const[]){
		"-p, --profile PROFILE\tthe profile (default: the one whose agent-command is AGENT's name, else agent)",
		"-w, --workspace DIR\tthe project instead of the current directory",
		"--review\ton an overlay; when the agent ends, its changes, and a question per path before applying",
		"-v, --verbose\twhat was bound, and every event of the run, on stderr",
		"-q, --quiet\tno line at the end",
		"--db PATH\tthe audit database (default $XDG_DATA_HOME/moat/audit.db)",
		"-h, --help\tthis text",
		"exit status\tthe agent's; 128+N on signal N; 124 idle timeout; 125 moat failed; 127 not found",
		NULL,
	},
	.exec = cmd_wrap_exec,
};

static int
cmd_wrap_exec(int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "review", no_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "db", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wrap_opts	 o;
	struct profile		*p;
	struct run		 r;
	struct merr		 e;
	char			 pname[256];
	int			 c, status;

	memset(&o, 0, sizeof o);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.profile = optarg;
			break;
		case 'w':
			o.workspace = optarg;
			break;
		case 'R':
			o.review = true;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'D':
			o.db = optarg;
			break;
		case 'h':
			cmd_help(&cmd_wrap_entry, stdout);
			return (0);
		default:
			return (cmd_usage_error(&cmd_wrap_entry, "unknown option \"%s\"",
			    argv[optind - 1]));
		}
	}
	if (optind >= argc)
		return (cmd_usage_error(&cmd_wrap_entry, "no agent given"));
	o.argv = argv + optind;
	if (o.profile == NULL) {
		wrap_profile_for(o.argv[0], pname, sizeof pname);
		o.profile = pname;
	}
	if ((p = profile_load(o.profile, &e)) == NULL) {
		merr_print(&e);
		return (EXIT_MOAT);
	}
	run_init(&r);
	status = wrap_run(&o, p, &r);
	if (o.review && r.state_dir != NULL)
		status = cmd_apply_review(o.db, r.id, status);
	profile_free(p);
	run_release(&r);
	return (status);
}

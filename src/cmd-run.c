/* cmd-run.c: `moat run`, one sandboxed command; its exit status passes
 * through. Front end: parses flags, loads the profile, fills a struct run
 * and calls run_sandbox(). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "profile.h"
#include "spawn.h"

static int	cmd_run_exec(int, char **);

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.usage = "run [-p PROFILE] [-w DIR] [--timeout SECS] [-e NAME[=VALUE]]... [-v] -- CMD [ARG]...",
	.summary = "run one command in the sandbox; its exit status passes through",
	.exec = cmd_run_exec,
};

static void
cmd_run_on_event(struct run *r, const struct run_event *ev)
{
	static const char	*kinds[] = {
		[EV_NOTE] = "note", [EV_SYSCALL_DENIED] = "denied",
		[EV_NET_CONN] = "net", [EV_LIMIT_HIT] = "limit",
		[EV_FILE_CHANGED] = "file",
	};

	if (r->verbose == 0 && ev->kind == EV_NOTE)
		return;
	if (r->verbose == 0 && ev->kind != EV_LIMIT_HIT)
		return;
	fprintf(stderr, "moat: [%7.3f] %s: %s\n", ev->t, kinds[ev->kind], ev->text);
}

int
cmd_run_exec(int argc, char **argv)
{
	static const struct option	opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "env", required_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*pname = "default";
	struct profile	*p;
	struct run	 r;
	struct merr	 e;
	int		 c, status;

	run_init(&r);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:e:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pname = optarg;
			break;
		case 'w':
			r.workspace = optarg;
			break;
		case 't':
			if (parse_seconds(optarg, &r.timeout) == -1 || r.timeout <= 0) {
				run_release(&r);
				return (cmd_usage_error(&cmd_run_entry, "--timeout %s: not a "
				    "duration (seconds, or with ms, s, m, h: 1.5, 500ms, 2m)",
				    optarg));
			}
			break;
		case 'e':
			strv_add(&r.env_extra, optarg);
			break;
		case 'v':
			r.verbose++;
			break;
		case 'h':
			printf("usage: moat %s\n", cmd_run_entry.usage);
			run_release(&r);
			return (0);
		default:
			run_release(&r);
			return (cmd_usage_error(&cmd_run_entry, "unknown option \"%s\"",
			    argv[optind - 1]));
		}
	}
	if (optind >= argc) {
		run_release(&r);
		return (cmd_usage_error(&cmd_run_entry, "no command given"));
	}
	r.argv = argv + optind;

	if ((p = profile_load(pname, &e)) == NULL) {
		merr_print(&e);
		run_release(&r);
		return (EXIT_MOAT);
	}
	r.profile = p;
	r.on_event = cmd_run_on_event;
	if (run_sandbox(&r, &e) == -1) {
		merr_print(&e);
		status = EXIT_MOAT;
	} else
		status = r.exit_code;
	profile_free(p);
	run_release(&r);
	return (status);
}

/* cmd-discard.c: "moat discard ID": removes the layer an overlay run or an
 * ended overlay session kept (its upper and work dirs under
 * $XDG_STATE_HOME/moat/runs), so its changes can no longer be applied. The
 * audit rows stay. A running session's layer is its workspace: refused.
 * Front end. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cmd.h"
#include "review/review.h"
#include "session/session.h"

static int	cmd_discard_exec(int, char **);

const struct cmd_entry cmd_discard_entry = {
	.name = "discard",
	.usage = "discard [--db FILE] ID...",
	.summary = "throw away what an overlay run or ended session changed (its kept layer)",
	.options = (const char *const[]){
		"ID\tthe run: its ID in moat audit list, or a prefix of its run id; or an ended session on an overlay workspace (its id or name)",
		"--db FILE\tthe audit log (default $MOAT_DB or $XDG_DATA_HOME/moat/audit.db)",
		"-h, --help\tthis text",
		"exit status\t0 removed; 125 for a bad call, a run with no kept layer or a running session",
		NULL,
	},
	.exec = cmd_discard_exec,
};

static int
cmd_discard_exec(int argc, char **argv)
{
	const char	*db = NULL;
	int		 i, rc = 0;

	{
		const struct cmd_flag	flags[] = {
			{ "--db", NULL, &db },
			{ NULL, NULL, NULL },
		};

		switch (cmd_flags(&cmd_discard_entry, argc, argv, flags, &argc)) {
		case 1:
			return (0);
		case -1:
			return (EXIT_MOAT);
		}
	}
	i = 0;
	if (i == argc)
		return (cmd_usage_error(&cmd_discard_entry, "which run? give its ID "
		    "(moat audit list)"));
	for (; i < argc; i++) {
		struct audit_run_info	 ri = { 0 };
		struct session_info	 info;
		struct audit		*a = NULL;
		struct merr		 e = { 0 };
		int			 fd;

		/* A live session works on its layer: it is its workspace. */
		if (session_name_valid(argv[i]) &&
		    (fd = session_connect(argv[i], &info, &e)) != -1) {
			close(fd);
			cmd_errorf("moat discard: session %s is running on its layer; end "
			    "it first (moat session kill %s), then discard, or apply "
			    "what you want to keep (moat apply %s PATH...)\n", info.id,
			    info.id, info.id);
			rc = EXIT_MOAT;
			continue;
		}
		if (strspn(argv[i], "0123456789") != strlen(argv[i]) &&
		    session_layer_find(argv[i], &info, &e) == 0) {
			if (review_discard(info.run_id, &e) == -1) {
				merr_print(&e);
				rc = EXIT_MOAT;
			} else
				printf("session %s: layer discarded\n", info.id);
			continue;
		}
		if ((a = audit_open(db, AUDIT_READONLY, &e)) == NULL ||
		    audit_run_find(a, argv[i], &ri, &e) == -1 ||
		    review_discard(ri.run_id, &e) == -1) {
			merr_print(&e);
			rc = EXIT_MOAT;
		} else
			printf("run %lld: layer discarded\n", (long long)ri.id);
		audit_close(a);
		audit_run_info_release(&ri);
	}
	return (rc);
}

/* cmd-discard.c: "moat discard ID": removes the layer an overlay run kept
 * (its upper and work dirs under $XDG_STATE_HOME/moat/runs), so its changes
 * can no longer be applied. The audit row stays. Front end. */
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "cmd.h"
#include "review/review.h"

static int	cmd_discard_exec(int, char **);

const struct cmd_entry cmd_discard_entry = {
	.name = "discard",
	.usage = "discard [--db FILE] ID...",
	.summary = "throw away what an overlay run changed (its kept layer)",
	.options = (const char *const[]){
		"ID\tthe run: its ID in moat audit list, or a prefix of its run id",
		"--db FILE\tthe audit log (default $MOAT_DB or $XDG_DATA_HOME/moat/audit.db)",
		"-h, --help\tthis text",
		"exit status\t0 removed; 125 for a bad call or a run with no kept layer",
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
		struct audit		*a;
		struct merr		 e = { 0 };

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

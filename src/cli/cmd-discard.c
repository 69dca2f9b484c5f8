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
	autofree char	**pos = xcalloc((size_t)argc + 1, sizeof *pos);
	int		 npos = 0;
	bool		 dashdash = false;
	int		 i, rc = 0;

	/* Options may follow the ID; "--" ends them. */
	for (i = 1; i < argc; i++) {
		if (dashdash || argv[i][0] != '-' || argv[i][1] == '\0') {
			pos[npos++] = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0)
			dashdash = true;
		else if (strcmp(argv[i], "--db") == 0) {
			if (++i == argc)
				return (cmd_usage_error(&cmd_discard_entry, "--db needs a file"));
			db = argv[i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_help(&cmd_discard_entry, stdout);
			return (0);
		} else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return (cmd_usage_error(&cmd_discard_entry, "unknown option \"%s\"", argv[i]));
	}
	pos[npos] = NULL;
	argc = npos;
	argv = pos;
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

/* fuzz-risk.c: libFuzzer harness for the risk scorer's shell reader
 * (risk_shell_parse in src/risk/risk-shell.c) and the text scorer over it
 * with the shipped rules (risk_score_text in src/risk/risk.c), as moat risk
 * and moat run score a command line. The input is one command line (bytes
 * up to the first NUL). Its tree is walked and freed; its score must be 0 to
 * 100. The rules are loaded once (MOAT_RISK_SHIPPED, set by run.sh). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "risk/risk-shell.h"
#include "risk/risk.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct risk_rules	*rules;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct merr	e = { .msg = "" };

	(void)argc;
	(void)argv;
	rules = risk_rules_new();
	if (risk_rules_load_file(rules, risk_shipped_path(), &e) == -1 ||
	    risk_rules_compile(rules, &e) == -1)
		abort();
	return (0);
}

/* Visits every node, so a tree with a bad count or pointer shows. */
static size_t
walk(const struct risk_node *n)
{
	size_t	c = 1;

	for (size_t i = 0; i < n->nkids; i++)
		c += walk(n->kids[i]);
	if (n->type == RISK_NODE_CMD)
		assert(n->nkids == 0);
	return (c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*s = strndup((const char *)data, size);
	struct risk_node	*t;
	struct risk_result	 r;

	if (s == NULL)
		return (0);
	if ((t = risk_shell_parse(s)) != NULL) {
		walk(t);
		risk_shell_free(t);
	}
	memset(&r, 0, sizeof r);
	if (risk_score_text(rules, s, &r) == 0)
		assert(r.score >= 0 && r.score <= 100);
	risk_result_free(&r);
	free(s);
	return (0);
}

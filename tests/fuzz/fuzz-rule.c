/* fuzz-rule.c: libFuzzer harness for the net-allow and net-resolve grammar
 * (src/profile/net-rule.c), which both `moat profiles check` and the proxy's
 * allowlist parse with. The input is one profile value (bytes up to the
 * first NUL). A rule that parses must mean what the proxy relies on: a port
 * in range, a prefix within the family, host bits cleared, never a
 * loopback-only range, a name that is a valid name; and parsing its own
 * text again gives the same rule. Build and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "network/allow.h"
#include "profile/net-rule.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*s = strndup((const char *)data, size);
	struct net_rule		 r, again;
	struct net_resolve	 st;
	struct merr		 e;

	if (net_rule_parse(s, &r, &e) == 0) {
		assert(r.text != NULL && strcmp(r.text, s) == 0);
		assert(r.port <= RULE_PORT_ANY);
		switch (r.kind) {
		case RULE_ADDR:
			assert(r.family == AF_INET || r.family == AF_INET6);
			assert(r.prefix <= (r.family == AF_INET ? 32u : 128u));
			for (unsigned i = r.prefix; i < (r.family == AF_INET ?
			    32u : 128u); i++)
				assert((r.addr[i / 8] & (0x80u >> (i % 8))) == 0);
			assert(!(net_rule_addr_loopback(r.family, r.addr) &&
			    r.prefix == (r.family == AF_INET ? 32u : 128u)));
			break;
		case RULE_NAME:
			assert(net_rule_name_valid(r.name));
			break;
		case RULE_SUFFIX:
			assert(r.name[0] == '.' && net_rule_name_valid(r.name + 1));
			break;
		case RULE_LOCALHOST:
			assert(r.port != RULE_PORT_DEFAULT);
			break;
		}
		assert(net_rule_parse(r.text, &again, &e) == 0);
		assert(again.kind == r.kind && again.port == r.port &&
		    again.prefix == r.prefix && memcmp(again.addr, r.addr, 16) == 0);
		net_rule_release(&again);
		net_rule_release(&r);
	} else
		assert(e.msg[0] != '\0');
	if (net_rule_resolve_parse(s, &st, &e) == 0) {
		assert(net_rule_name_valid(st.name));
		assert(st.family == AF_INET || st.family == AF_INET6);
		net_rule_resolve_release(&st);
	}
	free(s);
	return (0);
}

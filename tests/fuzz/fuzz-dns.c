/* fuzz-dns.c: libFuzzer harness for the sandbox resolver's wire format
 * (proxy-dns.c): a query is parsed, and an answer with addresses is written
 * for it, with the invariants the resolver relies on.
 * Build and run: tests/fuzz/run.sh, or make fuzz. */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "network/proxy.h"
#include "profile/net-rule.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_dns_q	 q, again;
	uint8_t			 rcode, rc2, out[DNS_MAX_UDP];
	uint8_t			 addrs[DNS_MAX_ANSWERS + 2][16];
	size_t			 n;

	if (proxy_dns_parse(data, size, &q, &rcode) != PARSE_OK) {
		/* Only an answer or a runt is dropped without a reply. */
		assert(size < 12 || (data[2] & 0x80));
		return (0);
	}
	assert(rcode == 0 || rcode == DNS_RCODE_FORMERR || rcode == DNS_RCODE_NOTIMP);
	assert(strlen(q.name) < sizeof q.name);
	assert(q.qlen <= sizeof q.question);
	if (rcode == 0) {
		assert(q.qlen >= 5 && q.qlen <= size - 12);
		assert(memcmp(q.question, data + 12, q.qlen) == 0);
		/* A name the resolver would look up is a valid host name. */
		if (q.name_ok)
			assert(net_rule_name_valid(q.name));
		/* No upper case reaches the allowlist. */
		for (const char *p = q.name; *p != '\0'; p++)
			assert(!(*p >= 'A' && *p <= 'Z'));
	}
	/* The answer parses back as the same question (with QR set). */
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++)
		memset(addrs[i], (int)i, 16);
	n = proxy_dns_reply(out, sizeof out, &q, rcode == 0 ? DNS_RCODE_OK : rcode,
	    size % 2 ? AF_INET6 : AF_INET, (const uint8_t (*)[16])addrs,
	    size % (DNS_MAX_ANSWERS + 3), 30);
	assert(n >= 12 && n <= sizeof out);
	assert(out[0] == data[0] && out[1] == data[1]);
	assert(out[2] & 0x80);
	if (rcode == 0) {
		out[2] &= 0x7f;
		out[6] = out[7] = 0;	/* no answers: a plain question again */
		assert(proxy_dns_parse(out, 12 + q.qlen, &again, &rc2) == PARSE_OK);
		assert(rc2 == 0 && strcmp(again.name, q.name) == 0 &&
		    again.qtype == q.qtype && again.qclass == q.qclass);
	}
	return (0);
}

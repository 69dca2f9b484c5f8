/* proxy-dns.c: the wire format of the sandbox's resolver (RFC 1035): one
 * question of a standard query read, and an answer of A or AAAA records,
 * or none with an error code, written. Names are compared as the allowlist
 * writes them: lower case, no final dot. Pure functions on bytes; fuzzed
 * (tests/fuzz/fuzz-dns.c). Supervisor only. */
#include <ctype.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"
#include "profile/net-rule.h"

#define DNS_HEADER	12
#define DNS_QR		0x8000
#define DNS_OPCODE(f)	(((f) >> 11) & 0xf)
#define DNS_RD		0x0100
#define DNS_RA		0x0080

static unsigned
dns16(const uint8_t *p)
{
	return ((unsigned)p[0] << 8 | p[1]);
}

static uint8_t *
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return (p + 2);
}

enum proxy_parse
proxy_dns_parse(const uint8_t *b, size_t n, struct proxy_dns_q *q, uint8_t *rcode)
{
	unsigned	flags;
	size_t		off = DNS_HEADER, nlen = 0;
	bool		ok = true;

	memset(q, 0, sizeof *q);
	*rcode = DNS_RCODE_OK;
	if (n < DNS_HEADER)
		return (PARSE_BAD);
	q->id = (uint16_t)dns16(b);
	flags = dns16(b + 2);
	if (flags & DNS_QR)
		return (PARSE_BAD);		/* an answer: never reply to one */
	q->rd = (flags & DNS_RD) != 0;
	if (DNS_OPCODE(flags) != 0) {
		*rcode = DNS_RCODE_NOTIMP;
		return (PARSE_OK);
	}
	if (dns16(b + 4) != 1) {
		*rcode = DNS_RCODE_FORMERR;
		return (PARSE_OK);
	}
	/* The name: labels, no compression (a question has nothing to point
	 * back to), 255 bytes at most on the wire. */
	for (;;) {
		size_t	l;

		if (off >= n || off - DNS_HEADER >= 255) {
			*rcode = DNS_RCODE_FORMERR;
			return (PARSE_OK);
		}
		l = b[off++];
		if (l == 0)
			break;
		if (l > 63 || off + l > n || off + l - DNS_HEADER > 255) {
			*rcode = DNS_RCODE_FORMERR;
			return (PARSE_OK);
		}
		if (nlen + l + 1 >= sizeof q->name) {
			*rcode = DNS_RCODE_FORMERR;
			return (PARSE_OK);
		}
		if (nlen > 0)
			q->name[nlen++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t	c = b[off + i];

			/* A byte no host name has: answered, never looked up. */
			if (!isalnum(c) && c != '-' && c != '_') {
				ok = false;
				c = '?';
			}
			q->name[nlen++] = (char)tolower(c);
		}
		off += l;
	}
	q->name[nlen] = '\0';
	if (off + 4 > n) {
		*rcode = DNS_RCODE_FORMERR;
		return (PARSE_OK);
	}
	q->qtype = (uint16_t)dns16(b + off);
	q->qclass = (uint16_t)dns16(b + off + 2);
	off += 4;
	q->qlen = off - DNS_HEADER;
	memcpy(q->question, b + DNS_HEADER, q->qlen);
	q->name_ok = ok && nlen > 0 && net_rule_name_valid(q->name);
	return (PARSE_OK);
}

size_t
proxy_dns_reply(uint8_t *buf, size_t cap, const struct proxy_dns_q *q,
    uint8_t rcode, int family, const uint8_t (*addrs)[16], size_t naddrs,
    uint32_t ttl)
{
	size_t		 alen = family == AF_INET6 ? 16 : 4;
	uint8_t		*p = buf;
	unsigned	 flags = DNS_QR | DNS_RA | (q->rd ? DNS_RD : 0) | (rcode & 0xf);

	if (cap > DNS_MAX_UDP)
		cap = DNS_MAX_UDP;
	if (naddrs > DNS_MAX_ANSWERS)
		naddrs = DNS_MAX_ANSWERS;
	/* The question is echoed only when it was read whole. */
	if (q->qlen == 0)
		naddrs = 0;
	p = put16(p, q->id);
	p = put16(p, flags);
	p = put16(p, q->qlen > 0 ? 1 : 0);
	p = put16(p, 0);		/* answers: counted as written */
	p = put16(p, 0);
	p = put16(p, 0);
	memcpy(p, q->question, q->qlen);
	p += q->qlen;
	for (size_t i = 0; i < naddrs; i++) {
		if ((size_t)(p - buf) + 12 + alen > cap)
			break;
		p = put16(p, 0xc000 | DNS_HEADER);	/* the question's name */
		p = put16(p, family == AF_INET6 ? DNS_TYPE_AAAA : DNS_TYPE_A);
		p = put16(p, DNS_CLASS_IN);
		p = put16(p, ttl >> 16);
		p = put16(p, ttl & 0xffff);
		p = put16(p, (unsigned)alen);
		memcpy(p, addrs[i], alen);
		p += alen;
		buf[7] = (uint8_t)(i + 1);
	}
	return ((size_t)(p - buf));
}

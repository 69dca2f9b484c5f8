/* proxy-socks.c: the SOCKS5 parser and replies (RFC 1928): no-auth only,
 * CONNECT to an IPv4, IPv6 or domain address; BIND and UDP ASSOCIATE get
 * "command not supported". Pure functions on bytes; fuzzed (tests/fuzz/).
 * Supervisor only. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

enum proxy_parse
proxy_socks_greeting(const uint8_t *b, size_t len, size_t *used, bool *noauth)
{
	*noauth = false;
	if (len >= 1 && b[0] != 5)
		return (PARSE_BAD);
	if (len < 2)
		return (PARSE_MORE);
	if (b[1] == 0)
		return (PARSE_BAD);
	if (len < 2 + (size_t)b[1])
		return (PARSE_MORE);
	for (size_t i = 0; i < b[1]; i++)
		if (b[2 + i] == 0x00)
			*noauth = true;
	*used = 2 + (size_t)b[1];
	return (PARSE_OK);
}

enum proxy_parse
proxy_socks_request(const uint8_t *b, size_t len, size_t *used,
    struct proxy_socks_req *req, uint8_t *rep)
{
	size_t	alen, need;

	memset(req, 0, sizeof *req);
	*rep = SOCKS_REP_FAIL;
	if (len >= 1 && b[0] != 5) {
		*rep = 0xff;		/* not SOCKS5: no reply we could frame */
		return (PARSE_BAD);
	}
	if (len >= 2) {
		req->cmd = b[1];
		if (b[1] == 2 || b[1] == 3) {		/* BIND, UDP ASSOCIATE */
			*rep = SOCKS_REP_CMD;
			return (PARSE_BAD);
		}
		if (b[1] != 1) {
			*rep = SOCKS_REP_CMD;
			return (PARSE_BAD);
		}
	}
	if (len >= 3 && b[2] != 0)
		return (PARSE_BAD);
	if (len < 5)
		return (PARSE_MORE);
	switch (b[3]) {
	case 1:
		alen = 4;
		break;
	case 4:
		alen = 16;
		break;
	case 3:
		if (b[4] == 0)
			return (PARSE_BAD);
		alen = 1 + (size_t)b[4];
		break;
	default:
		*rep = SOCKS_REP_ATYP;
		return (PARSE_BAD);
	}
	need = 4 + alen + 2;
	if (len < need)
		return (PARSE_MORE);
	if (b[3] == 1)
		inet_ntop(AF_INET, b + 4, req->host, sizeof req->host);
	else if (b[3] == 4)
		inet_ntop(AF_INET6, b + 4, req->host, sizeof req->host);
	else {
		for (size_t i = 0; i < b[4]; i++) {
			/* Only what can be in a host name; the allowlist
			 * judges the rest. */
			if (b[5 + i] <= ' ' || b[5 + i] >= 0x7f)
				return (PARSE_BAD);
			req->host[i] = (char)b[5 + i];
		}
		req->host[b[4]] = '\0';
	}
	req->port = (unsigned)b[4 + alen] << 8 | b[4 + alen + 1];
	if (req->port == 0)
		return (PARSE_BAD);
	*used = need;
	return (PARSE_OK);
}

size_t
proxy_socks_reply(uint8_t *out, uint8_t rep)
{
	memset(out, 0, SOCKS_REPLY_LEN);
	out[0] = 5;
	out[1] = rep;
	out[3] = 1;		/* BND.ADDR: IPv4 0.0.0.0, port 0 */
	return (SOCKS_REPLY_LEN);
}

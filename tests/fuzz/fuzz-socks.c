/* fuzz-socks.c: libFuzzer harness for the SOCKS5 greeting and request
 * parsers (proxy-socks.c), fed the way the proxy feeds them: greeting first,
 * the request from the bytes after it. Build and run: tests/fuzz/run.sh. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "network/allow.h"
#include "network/proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_socks_req	 req;
	struct allow_target	 t;
	size_t			 used = 0, used2 = 0;
	bool			 noauth;
	uint8_t			 rep = 0, out[SOCKS_REPLY_LEN];

	if (proxy_socks_greeting(data, size, &used, &noauth) != PARSE_OK)
		return (0);
	assert(used >= 3 && used <= size && used <= 257);
	data += used;
	size -= used;
	switch (proxy_socks_request(data, size, &used2, &req, &rep)) {
	case PARSE_OK:
		assert(used2 >= 8 && used2 <= size && used2 <= 262);
		assert(req.cmd == 1 && req.port >= 1 && req.port <= 65535);
		assert(req.host[0] != '\0' && strlen(req.host) < sizeof req.host);
		(void)allow_target_set(&t, req.host, req.port);
		break;
	case PARSE_BAD:
		assert(rep == 0xff || rep == SOCKS_REP_FAIL || rep == SOCKS_REP_CMD ||
		    rep == SOCKS_REP_ATYP);
		if (rep != 0xff)
			assert(proxy_socks_reply(out, rep) == SOCKS_REPLY_LEN);
		break;
	case PARSE_MORE:
		break;
	}
	return (0);
}

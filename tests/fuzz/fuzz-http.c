/* fuzz-http.c: libFuzzer harness for the HTTP proxy request parser
 * (proxy-http.c) and the allowlist target normaliser it feeds (allow.c).
 * Build and run: tests/fuzz/run.sh, or make fuzz. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "network/allow.h"
#include "network/proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_http_req	 req, again;
	struct allow_target	 t;
	const char		*why = NULL;
	enum proxy_parse	 r;
	char			 reply[256];

	r = proxy_http_parse((const char *)data, size, &req, &why);
	if (r == PARSE_BAD)
		assert(why != NULL && why[0] != '\0');
	if (r != PARSE_OK)
		return (0);
	/* What the proxy relies on. */
	assert(req.head_len > 0 && req.head_len <= size);
	assert(req.head_len <= PROXY_HEAD_MAX);
	assert(req.host[0] != '\0' && strlen(req.host) < sizeof req.host);
	assert(req.port >= 1 && req.port <= 65535);
	if (req.connect)
		assert(req.fwd == NULL);
	else {
		assert(req.fwd != NULL && req.fwd_len == strlen(req.fwd));
		assert(req.fwd_len >= 4 &&
		    memcmp(req.fwd + req.fwd_len - 4, "\r\n\r\n", 4) == 0);
		assert(strstr(req.fwd, "\r\n\r\n") == req.fwd + req.fwd_len - 4);
		assert(strchr(req.fwd, ' ') != NULL && strchr(req.fwd, ' ')[1] == '/');
	}
	/* The head alone parses the same way. */
	assert(proxy_http_parse((const char *)data, req.head_len, &again, &why) ==
	    PARSE_OK);
	assert(again.port == req.port && strcmp(again.host, req.host) == 0);
	proxy_http_req_release(&again);
	if (allow_target_set(&t, req.host, req.port) == 0)
		assert(t.host[0] != '\0');
	proxy_http_reply(reply, sizeof reply, 403, req.host);
	proxy_http_req_release(&req);
	return (0);
}

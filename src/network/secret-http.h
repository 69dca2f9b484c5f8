/* secret-http.h: the swap of a run's secrets in HTTP/1.1 message heads, as
 * the proxy does it on an intercepted connection: a request head going to a
 * secret's host gets the real value for the placeholder (in the request
 * line, any header, and inside an Authorization: Basic credential), a
 * response head coming back gets the placeholder for the real value. Pure
 * functions on bytes (fuzzed: tests/fuzz/fuzz-secret.c); supervisor. */
#ifndef MOAT_SECRET_HTTP_H
#define MOAT_SECRET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secret.h"

#define SECRET_HTTP_HEAD_MAX	65536	/* a larger head is refused (431) */

enum secret_http_rc {
	SH_OK,
	SH_MORE,		/* no blank line yet */
	SH_BAD,			/* not an HTTP/1.x message head: *why says */
	SH_FOREIGN,		/* a placeholder of a secret not for this host */
	SH_TOO_LARGE,
};

/* What a message head says about the message. */
struct secret_http_msg {
	char		 method[16];	/* requests */
	char		 path[512];	/* requests: the target, query redacted */
	int		 status;	/* responses */
	int		 minor;		/* HTTP/1.minor */
	int64_t		 clen;		/* Content-Length, -1: none */
	bool		 chunked;	/* Transfer-Encoding ends in chunked */
	bool		 close;		/* Connection: close, or HTTP/1.0 without keep-alive */
	bool		 upgrade;	/* Connection: upgrade (a 101 ends the HTTP) */
	bool		 reframed;	/* responses: the body goes on framed anew */
	size_t		 head_len;	/* bytes of the head, blank line included */
	/* requests: which secrets were swapped (bit i: s->v[i]), and the
	 * first foreign one for SH_FOREIGN */
	uint64_t	 swapped;
	const struct secret *foreign;
};

/* Finds the end of a head in buf; SH_MORE, SH_TOO_LARGE, or SH_OK with
 * *head_len. */
enum secret_http_rc secret_http_head_end(const char *, size_t, size_t *head_len);
/* A request head (head_len bytes from secret_http_head_end) to a host that
 * is named by the secrets whose bit is set in named: rewritten into *out
 * (malloc'd, *outlen bytes). A placeholder of another secret anywhere in it
 * is SH_FOREIGN, with msg->foreign. */
enum secret_http_rc secret_http_request(const struct secrets *, uint64_t named,
		    const char *head, size_t len, char **out, size_t *outlen,
		    struct secret_http_msg *, const char **why);
/* How a response's body reaches the client: as it came (KEEP), or
 * rewritten and so framed anew, chunked (an HTTP/1.1 client) or to the
 * close (HTTP/1.0): Content-Length and Transfer-Encoding are replaced. */
enum secret_http_body {
	SH_BODY_KEEP,
	SH_BODY_CHUNKED,
	SH_BODY_CLOSE,
};
/* A response head: each secret's value replaced by its placeholder; a
 * response with a body is reframed as body says (msg->reframed), but with
 * keep_length one whose body has a Content-Length and is not chunked:
 * the swap back keeps its length (secrets_same_length). msg describes
 * the upstream's framing, which the body is read by. */
enum secret_http_rc secret_http_response(const struct secrets *, const char *head,
		    size_t len, bool head_request, enum secret_http_body body,
		    bool keep_length, char **out, size_t *outlen,
		    struct secret_http_msg *, const char **why);
/* A placeholder looked for in a stream read piece by piece (a request
 * body, a plain connection): what was scanned last, so that one cut
 * between two pieces is found as well. A zeroed struct starts a stream. */
struct secret_scan {
	char	tail[SECRET_PLACEHOLDER_MAX - 1];
	size_t	ntail;
};
/* The secret (its bit set in mask) whose placeholder the len bytes at
 * buf complete, with what came before them: NULL when none, and buf is
 * then remembered. A placeholder is found before its last byte is let
 * through, so a caller that forwards buf only on NULL never sends one
 * whole: at most a prefix of it went in an earlier piece. One search
 * for the placeholders' common prefix per piece, whatever the number of
 * secrets; memory: the tail. */
const struct secret *secret_scan(struct secret_scan *, const struct secrets *,
		    uint64_t mask, const void *buf, size_t len);
/* A response's bytes on their way back: each secret's value, and each
 * base64 token whose decoded bytes hold a value (a Basic credential
 * echoed: base64 of user:value), is replaced, the token by the base64 of
 * its bytes with the placeholder for the value. A token is looked for by
 * the part of the value's base64 that does not depend on what precedes
 * it (three, one per alignment), and is at most SECRET_B64_TOKEN_MAX
 * characters: user names up to 256 bytes. The first replacement at or
 * after pos: 1 with [*at, *end) and its replacement (*repl, malloc'd,
 * *rlen bytes); 0 when there is none; 2 when a token may go on past len
 * (final false: more may come), *at its start: nothing from there may
 * be let through yet. */
#define SECRET_B64_USER_MAX	256
#define SECRET_B64_TOKEN_MAX(vlen) \
	(4 * (((vlen) + SECRET_B64_USER_MAX + 2) / 3) + 4)
int		 secret_unswap_next(const struct secrets *, const char *buf,
		    size_t len, size_t pos, bool final, size_t *at, size_t *end,
		    char **repl, size_t *rlen);
/* The same, each needle searched for through the whole text: what the
 * sampled search must agree with (the fuzzer checks). */
int		 secret_unswap_exact(const struct secrets *, const char *buf,
		    size_t len, size_t pos, bool final, size_t *at, size_t *end,
		    char **repl, size_t *rlen);
/* Whether a text (a host name, a URL, a plain request) holds any of the
 * run's placeholders: the secret, or NULL. */
const struct secret *secret_http_placeholder_in(const struct secrets *,
		    const void *, size_t);

#endif

/* intercept.h: the connections the proxy terminates TLS on, because a run's
 * secret is for their host. Each runs on a thread of its own with blocking
 * I/O: TLS with the sandbox's client under a certificate the run's CA
 * issues, TLS upstream verified, and HTTP/1.1 between them one request at a
 * time (keep-alive, chunked bodies), each head rewritten (secret-http.c)
 * and each request an event. Every other connection stays a blind tunnel
 * in proxy.c. Supervisor only. */
#ifndef MOAT_INTERCEPT_H
#define MOAT_INTERCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allow.h"
#include "base/error.h"
#include "secret.h"

struct intercept;

/* The secrets and their CA (borrowed for the intercept's life), the
 * profile's net-ca files, the run's HTTP rules for intercepted hosts
 * (net-allow lines with a method and a path). NULL with e set. */
struct intercept *intercept_new(const struct secrets *, const struct profile *,
		    struct merr *);
/* Ends every connection (their events are sent first, see
 * intercept_drain) and frees. NULL is a no-op. */
void		 intercept_free(struct intercept *, const struct event_sink *);
/* Is host:port one of a secret's hosts? *named gets a bit per secret. */
bool		 intercept_match(const struct intercept *, const struct allow_target *,
		    uint64_t *named, char *names, size_t nameslen);
/* Takes cfd (the sandbox's client, its request already answered) and ufd
 * (connected upstream, or tunnelled through the upstream proxy): early is
 * what the client sent already (a ClientHello read to find the name).
 * host is the name the client asked for, verify the name the upstream's
 * certificate must carry. Both fds are the intercept's from here on, even
 * on failure (-1, e set). */
int		 intercept_start(struct intercept *, int cfd, int ufd, const char *host,
		    unsigned port, const char *verify, uint64_t named,
		    const void *early, size_t earlylen, struct merr *);
/* The descriptor that is readable when a connection has events; the loop
 * then calls intercept_drain, which sends them to the sink. */
int		 intercept_event_fd(const struct intercept *);
void		 intercept_drain(struct intercept *, const struct event_sink *);

#endif

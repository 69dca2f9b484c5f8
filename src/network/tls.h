/* tls.h: the TLS the proxy terminates and opens for a secret's hosts, with
 * OpenSSL. A CA made per run (its key in memory only), a certificate per
 * host issued from it on first use and kept for the run, and the context
 * that connects upstream with full verification (OpenSSL's default paths,
 * so SSL_CERT_FILE works, plus the profile's net-ca files). ALPN offers
 * http/1.1 only. Supervisor only; the functions may be called from the
 * proxy's interception threads. */
#ifndef MOAT_TLS_H
#define MOAT_TLS_H

#include <openssl/ssl.h>

#include "base/error.h"
#include "base/util.h"

struct tls_ca;

/* A new CA (EC P-256, valid from an hour ago for 30 days), named for the
 * run. NULL with e set. */
struct tls_ca	*tls_ca_new(const char *run_id, struct merr *);
void		 tls_ca_free(struct tls_ca *);
/* Its certificate as PEM (borrowed). */
const char	*tls_ca_pem(const struct tls_ca *);
/* A server context presenting a certificate for host issued by the CA,
 * made on first use and kept (borrowed: freed with the CA). Thread-safe. */
SSL_CTX		*tls_ca_server_ctx(struct tls_ca *, const char *host, struct merr *);
/* The upstream context: peer verification against each file of cafiles;
 * ALPN http/1.1. Free with SSL_CTX_free. The system's trust store is not
 * in it yet: tls_client_ctx_trust adds it, once, before the first
 * handshake. */
SSL_CTX		*tls_client_ctx_new(const struct strv *cafiles, struct merr *);
/* Adds the system's trust store as OpenSSL's default paths name it
 * ($SSL_CERT_FILE and $SSL_CERT_DIR, else its default file and directory)
 * to ctx: the directory looked in by name first, the bundle read whole
 * only for a name the directory lacks (OpenSSL 3.0 takes about 30 ms to
 * decode Debian's). Not thread-safe: call it once, before any SSL of ctx
 * verifies. -1 with e set. */
int		 tls_client_ctx_trust(SSL_CTX *, struct merr *);
/* The system's CA bundle as OpenSSL finds it ($SSL_CERT_FILE, else its
 * default file), read into a new string; NULL when there is none. */
char		*tls_system_bundle(void);
/* What moat doctor says: makes a CA and a certificate and the upstream
 * context, and finds the system's CA bundle. 0 with msg saying what was
 * found; -1 with msg saying what failed. */
int		 tls_probe(char *msg, size_t len);
/* OpenSSL's last error as text, into buf. */
const char	*tls_error(char *buf, size_t len);

#endif

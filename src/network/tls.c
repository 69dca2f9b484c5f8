/* tls.c: a CA made for one run and the certificates it issues for the hosts
 * whose connections the proxy intercepts, and the contexts on both sides,
 * with OpenSSL (no crypto of moat's own). Supervisor only: the CA is made
 * before the sandbox is cloned (its certificate goes into the sandbox's
 * /etc), the leaf certificates on the proxy's interception threads. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define TLS_CA_DAYS	30
#define TLS_HOSTS_MAX	256	/* leaf certificates kept per run */

struct tls_leaf {
	char	*host;		/* owned */
	SSL_CTX	*ctx;		/* owned */
};

struct tls_ca {
	EVP_PKEY	*key;		/* the CA's; never written anywhere */
	X509		*cert;
	EVP_PKEY	*leaf_key;	/* one key for every host's certificate */
	char		*pem;		/* owned; cert as PEM */
	pthread_mutex_t	 mu;
	struct tls_leaf	*leaves;	/* owned, nleaves */
	size_t		 nleaves;
};

const char *
tls_error(char *buf, size_t len)
{
	unsigned long	err = ERR_get_error();

	if (err == 0)
		snprintf(buf, len, "unknown TLS error");
	else
		ERR_error_string_n(err, buf, len);
	ERR_clear_error();
	return (buf);
}

static int
tls_fail(struct merr *e, const char *what)
{
	char	buf[256];

	return (merr_set(e, "%s: %s", what, tls_error(buf, sizeof buf)));
}

static EVP_PKEY *
tls_key(void)
{
	return (EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
}

static int
tls_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ex;
	int		 rc;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return (-1);
	rc = X509_add_ext(x, ex, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ex);
	return (rc);
}

/* A certificate's common fields: a random serial, validity, the key. */
static X509 *
tls_cert_base(EVP_PKEY *key, const char *cn)
{
	X509		*x = X509_new();
	BIGNUM		*bn = BN_new();
	X509_NAME	*name;

	if (x == NULL || bn == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * TLS_CA_DAYS) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"moat", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1) {
		X509_free(x);
		BN_free(bn);
		return (NULL);
	}
	BN_free(bn);
	return (x);
}

struct tls_ca *
tls_ca_new(const char *run_id, struct merr *e)
{
	struct tls_ca	*ca = xcalloc(1, sizeof *ca);
	BIO		*b = NULL;
	char		 cn[96];
	char		*data;
	long		 n;

	pthread_mutex_init(&ca->mu, NULL);
	snprintf(cn, sizeof cn, "moat run %s", run_id);
	if ((ca->key = tls_key()) == NULL || (ca->leaf_key = tls_key()) == NULL) {
		tls_fail(e, "TLS interception: a key for the run's CA");
		goto fail;
	}
	if ((ca->cert = tls_cert_base(ca->key, cn)) == NULL ||
	    X509_set_issuer_name(ca->cert, X509_get_subject_name(ca->cert)) != 1 ||
	    tls_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    tls_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    tls_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") ||
	    X509_sign(ca->cert, ca->key, EVP_sha256()) == 0) {
		tls_fail(e, "TLS interception: the run's CA certificate");
		goto fail;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(b, ca->cert) != 1 ||
	    (n = BIO_get_mem_data(b, &data)) <= 0) {
		tls_fail(e, "TLS interception: the CA certificate as PEM");
		goto fail;
	}
	ca->pem = xstrndup(data, (size_t)n);
	BIO_free(b);
	return (ca);
fail:
	BIO_free(b);
	tls_ca_free(ca);
	return (NULL);
}

void
tls_ca_free(struct tls_ca *ca)
{
	if (ca == NULL)
		return;
	for (size_t i = 0; i < ca->nleaves; i++) {
		free(ca->leaves[i].host);
		SSL_CTX_free(ca->leaves[i].ctx);
	}
	free(ca->leaves);
	EVP_PKEY_free(ca->key);
	EVP_PKEY_free(ca->leaf_key);
	X509_free(ca->cert);
	free(ca->pem);
	pthread_mutex_destroy(&ca->mu);
	free(ca);
}

const char *
tls_ca_pem(const struct tls_ca *ca)
{
	return (ca->pem);
}

/* ALPN: http/1.1 only (no HTTP/2 over an intercepted connection). */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char	h1[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
	unsigned char			*sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, h1, sizeof h1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return (SSL_TLSEXT_ERR_NOACK);
	*out = sel;
	return (SSL_TLSEXT_ERR_OK);
}

/* TLS 1.3's suites on both legs: OpenSSL's defaults, the same three, in
 * another order. moat decrypts and encrypts every byte once more than a
 * tunnel would, so it prefers the cheapest AEAD of them, AES-128-GCM
 * (AES-NI: about 15% faster than AES-256-GCM here, ChaCha20 slower).
 * The leg to the sandbox's client never leaves the machine: there the
 * choice is moat's, in this order, ChaCha20 for a client that puts it
 * first (as clients do on a CPU without AES instructions). Upstream the
 * order is only moat's preference, the one browsers and Go express too:
 * the server decides, and one that keeps to its own order (OpenSSL's
 * SSL_OP_CIPHER_SERVER_PREFERENCE, Python's default) may still pick
 * AES-256-GCM. TLS 1.2 keeps OpenSSL's list and order on both. */
#define TLS13_SUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static SSL_CTX *
tls_leaf_ctx(struct tls_ca *ca, const char *host, struct merr *e)
{
	X509		*x = NULL;
	SSL_CTX		*ctx = NULL;
	autofree char	*san = xprintf("DNS:%s", host);

	if ((x = tls_cert_base(ca->leaf_key, host)) == NULL ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
	    tls_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    tls_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") ||
	    tls_ext(x, ca->cert, NID_ext_key_usage, "serverAuth") ||
	    tls_ext(x, ca->cert, NID_subject_alt_name, san) ||
	    tls_ext(x, ca->cert, NID_subject_key_identifier, "hash") ||
	    tls_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always") ||
	    X509_sign(x, ca->key, EVP_sha256()) == 0) {
		tls_fail(e, "TLS interception: a certificate for the host");
		X509_free(x);
		return (NULL);
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_add1_chain_cert(ctx, ca->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, ca->leaf_key) != 1) {
		tls_fail(e, "TLS interception: the host's server context");
		SSL_CTX_free(ctx);
		X509_free(x);
		return (NULL);
	}
	X509_free(x);
	(void)SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_PRIORITIZE_CHACHA);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return (ctx);
}

SSL_CTX *
tls_ca_server_ctx(struct tls_ca *ca, const char *host, struct merr *e)
{
	SSL_CTX	*ctx = NULL;

	pthread_mutex_lock(&ca->mu);
	for (size_t i = 0; i < ca->nleaves; i++)
		if (strcmp(ca->leaves[i].host, host) == 0) {
			ctx = ca->leaves[i].ctx;
			break;
		}
	if (ctx == NULL && ca->nleaves >= TLS_HOSTS_MAX)
		merr_set(e, "more than %d intercepted hosts in one run", TLS_HOSTS_MAX);
	else if (ctx == NULL && (ctx = tls_leaf_ctx(ca, host, e)) != NULL) {
		ca->leaves = xreallocarray(ca->leaves, ca->nleaves + 1, sizeof *ca->leaves);
		ca->leaves[ca->nleaves].host = xstrdup(host);
		ca->leaves[ca->nleaves++].ctx = ctx;
	}
	pthread_mutex_unlock(&ca->mu);
	return (ctx);
}

SSL_CTX *
tls_client_ctx_new(const struct strv *cafiles, struct merr *e)
{
	static const unsigned char	h1[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
	SSL_CTX				*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, h1, sizeof h1) != 0) {
		tls_fail(e, "TLS interception: the upstream context");
		SSL_CTX_free(ctx);
		return (NULL);
	}
	for (size_t i = 0; cafiles != NULL && i < cafiles->n; i++)
		if (SSL_CTX_load_verify_locations(ctx, cafiles->v[i], NULL) != 1) {
			char	buf[256];

			merr_set(e, "net-ca %s: not a file of PEM certificates "
			    "moat can read (%s)", cafiles->v[i],
			    tls_error(buf, sizeof buf));
			SSL_CTX_free(ctx);
			return (NULL);
		}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return (ctx);
}

/* The system's CA bundle and directory as OpenSSL's default paths name
 * them: $SSL_CERT_FILE and $SSL_CERT_DIR, else OpenSSL's defaults. */
static const char *
tls_default_file(void)
{
	const char	*f = getenv(X509_get_default_cert_file_env());

	return (f != NULL && *f != '\0' ? f : X509_get_default_cert_file());
}

static const char *
tls_default_dir(void)
{
	const char	*d = getenv(X509_get_default_cert_dir_env());

	return (d != NULL && *d != '\0' ? d : X509_get_default_cert_dir());
}

/*
 * The system's trust store, as OpenSSL's default paths name it: the bundle
 * ($SSL_CERT_FILE, else OpenSSL's default file) and the directory
 * ($SSL_CERT_DIR, else its default) of certificates named by the hash of
 * their subject. SSL_CTX_set_default_verify_paths reads the whole bundle
 * first, which OpenSSL 3.0 takes about 30 ms to decode (it decodes every
 * key); a verification needs one or two of them. So the directory is
 * looked in first (OpenSSL's own lookup, one small file per name), and
 * the bundle is read whole only when the directory has no certificate of
 * a name a verification asks for (tls_bundle_lookup): a chain to a CA the
 * directory lacks verifies as before, its first handshake 30 ms slower.
 * On Debian, Ubuntu and Arch the directory holds every CA of the bundle
 * (update-ca-certificates, trust extract-compat make both). One case
 * differs: a CA in the bundle only, under a name the directory has for
 * another key, is not found (the directory's certificate answers for the
 * name).
 */
struct tls_bundle {
	pthread_mutex_t	 mu;
	bool		 read;
	char		*path;		/* owned */
};

static int
tls_bundle_lookup(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name,
    X509_OBJECT *ret)
{
	struct tls_bundle	*b = X509_LOOKUP_get_method_data(lu);
	X509_STORE		*st = X509_LOOKUP_get_store(lu);
	X509_OBJECT		*o;
	X509			*x;
	int			 ok = 0;

	if (type != X509_LU_X509 || b == NULL || st == NULL)
		return (0);
	pthread_mutex_lock(&b->mu);
	if (!b->read) {
		BIO	*in = BIO_new_file(b->path, "r");

		b->read = true;
		/* Its certificates into the store, as the file lookup would
		 * (one that is there already is left as it is). */
		while (in != NULL && (x = PEM_read_bio_X509_AUX(in, NULL, NULL,
		    NULL)) != NULL) {
			(void)X509_STORE_add_cert(st, x);
			X509_free(x);
		}
		BIO_free(in);
		ERR_clear_error();
	}
	pthread_mutex_unlock(&b->mu);
	if (X509_STORE_lock(st) != 1)
		return (0);
	if ((o = X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(st),
	    X509_LU_X509, name)) != NULL && (x = X509_OBJECT_get0_X509(o)) != NULL &&
	    X509_OBJECT_set1_X509(ret, x) == 1) {
		/* The store keeps it: ret holds no reference of its own, as
		 * OpenSSL's lookups return theirs (the caller takes one). */
		X509_free(x);
		ok = 1;
	}
	X509_STORE_unlock(st);
	return (ok);
}

static void
tls_bundle_free(X509_LOOKUP *lu)
{
	struct tls_bundle	*b = X509_LOOKUP_get_method_data(lu);

	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->mu);
	free(b->path);
	free(b);
}

static X509_LOOKUP_METHOD	*tls_bundle_method;
static pthread_once_t		 tls_bundle_once = PTHREAD_ONCE_INIT;

static void
tls_bundle_method_new(void)
{
	X509_LOOKUP_METHOD	*m = X509_LOOKUP_meth_new("moat: the CA bundle, "
				    "read on a name the directory lacks");

	if (m != NULL && (X509_LOOKUP_meth_set_get_by_subject(m,
	    tls_bundle_lookup) != 1 || X509_LOOKUP_meth_set_free(m,
	    tls_bundle_free) != 1)) {
		X509_LOOKUP_meth_free(m);
		m = NULL;
	}
	tls_bundle_method = m;
}

int
tls_client_ctx_trust(SSL_CTX *ctx, struct merr *e)
{
	X509_STORE		*st = SSL_CTX_get_cert_store(ctx);
	X509_LOOKUP		*dir, *lu;
	struct tls_bundle	*b;

	pthread_once(&tls_bundle_once, tls_bundle_method_new);
	if (st == NULL || tls_bundle_method == NULL ||
	    (dir = X509_STORE_add_lookup(st, X509_LOOKUP_hash_dir())) == NULL ||
	    (lu = X509_STORE_add_lookup(st, tls_bundle_method)) == NULL)
		return (tls_fail(e, "TLS interception: the system's trust store"));
	/* OpenSSL's default directories: $SSL_CERT_DIR (a list), else its
	 * own. One that does not exist finds nothing. */
	(void)X509_LOOKUP_add_dir(dir, NULL, X509_FILETYPE_DEFAULT);
	ERR_clear_error();
	b = xcalloc(1, sizeof *b);
	pthread_mutex_init(&b->mu, NULL);
	b->path = xstrdup(tls_default_file());
	if (X509_LOOKUP_set_method_data(lu, b) != 1) {
		pthread_mutex_destroy(&b->mu);
		free(b->path);
		free(b);
		return (tls_fail(e, "TLS interception: the system's trust store"));
	}
	return (0);
}

int
tls_probe(char *msg, size_t len)
{
	struct tls_ca	*ca;
	SSL_CTX		*up;
	struct merr	 e;
	autofree char	*bundle = NULL;
	const char	*f = tls_default_file(), *d = tls_default_dir();
	size_t		 n = 0;

	if ((ca = tls_ca_new("doctor", &e)) == NULL ||
	    tls_ca_server_ctx(ca, "doctor.moat.internal", &e) == NULL) {
		tls_ca_free(ca);
		snprintf(msg, len, "%s: no secret can be swapped in", e.msg);
		return (-1);
	}
	tls_ca_free(ca);
	if ((up = tls_client_ctx_new(NULL, &e)) == NULL ||
	    tls_client_ctx_trust(up, &e) == -1) {
		SSL_CTX_free(up);
		snprintf(msg, len, "%s: no secret can be swapped in", e.msg);
		return (-1);
	}
	SSL_CTX_free(up);
	if ((bundle = tls_system_bundle()) == NULL) {
		snprintf(msg, len, "%s: the system's CA bundle %s cannot be read: a "
		    "secret's host verifies only if its CA is among the certificates "
		    "of %s or net-ca names it", OpenSSL_version(OPENSSL_VERSION), f, d);
		return (-1);
	}
	for (const char *p = bundle; (p = strstr(p, "BEGIN CERTIFICATE")) != NULL; p++)
		n++;
	snprintf(msg, len, "%s: a run's CA and a host's certificate are made; "
	    "secrets' hosts are verified against %s (%zu CAs; the certificates "
	    "of %s first, by name) and net-ca", OpenSSL_version(OPENSSL_VERSION),
	    f, n, d);
	return (n > 0 ? 0 : -1);
}

char *
tls_system_bundle(void)
{
	char		*text = NULL;
	struct merr	 e;

	if (read_file(tls_default_file(), &text, NULL, &e) == -1)
		return (NULL);
	return (text);
}

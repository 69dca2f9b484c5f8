/* tls-lib.c: OpenSSL loaded when a run first needs it, not by every moat.
 *
 * OpenSSL stays a shared library (its security updates must reach moat
 * without a rebuild), but linked as one, the dynamic loader mapped and
 * relocated libssl and libcrypto before main in every moat process: about
 * 0.4 ms of CPU for each moat run, session exec client and mcp server,
 * when only runs with a secret (TLS interception) and moat doctor use it.
 * So moat is not linked against it: each OpenSSL function moat calls is
 * defined here with OpenSSL's own prototype (the headers check that they
 * match) and calls through a table that the first call fills, under
 * pthread_once, with dlopen(3) of the soname configure found and dlsym(3)
 * of each name. The table is then made read-only (mprotect), as full RELRO
 * makes the GOT that held these pointers before.
 *
 * A function moat starts to call must be added to TLS_FUNCS below, or the
 * link fails naming it. The definitions are hidden: libssl and libcrypto
 * bind their own calls among themselves, never to these.
 *
 * Supervisor (the proxy, its interception threads), moat doctor. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/util.h"
#include "tls-lib.h"

/* Every OpenSSL function moat calls: X(name). */
#define TLS_FUNCS \
	X(BIO_ctrl) X(BIO_f_buffer) X(BIO_free) X(BIO_int_ctrl) X(BIO_new) \
	X(BIO_new_file) X(BIO_new_socket) X(BIO_push) X(BIO_s_mem) \
	X(BIO_up_ref) X(BIO_write) X(BN_free) X(BN_new) X(BN_rand) \
	X(BN_to_ASN1_INTEGER) X(ERR_clear_error) X(ERR_error_string_n) \
	X(ERR_get_error) X(ERR_peek_error) X(EVP_DecodeBlock) X(EVP_EncodeBlock) \
	X(EVP_PKEY_Q_keygen) X(EVP_PKEY_free) X(EVP_sha256) X(OpenSSL_version) \
	X(PEM_read_bio_X509_AUX) X(PEM_write_bio_X509) X(SSL_CTX_ctrl) X(SSL_CTX_free) \
	X(SSL_CTX_get_cert_store) \
	X(SSL_CTX_load_verify_locations) X(SSL_CTX_new) X(SSL_CTX_set_alpn_protos) \
	X(SSL_CTX_set_alpn_select_cb) \
	X(SSL_CTX_set_ciphersuites) \
	X(SSL_CTX_set_options) \
	X(SSL_CTX_set_verify) X(SSL_CTX_use_PrivateKey) X(SSL_CTX_use_certificate) \
	X(SSL_accept) X(SSL_connect) X(SSL_ctrl) X(SSL_free) X(SSL_get_error) \
	X(SSL_get_verify_result) X(SSL_has_pending) X(SSL_new) X(SSL_read) \
	X(SSL_select_next_proto) X(SSL_set1_host) X(SSL_set_bio) \
	X(SSL_set_default_read_buffer_len) X(SSL_set_fd) X(SSL_set_read_ahead) \
	X(SSL_shutdown) X(SSL_write) \
	X(TLS_client_method) X(TLS_server_method) X(X509V3_EXT_conf_nid) \
	X(X509V3_set_ctx) X(X509_EXTENSION_free) X(X509_NAME_add_entry_by_txt) \
	X(X509_add_ext) X(X509_free) X(X509_get_default_cert_dir) \
	X(X509_get_default_cert_dir_env) X(X509_get_default_cert_file) \
	X(X509_get_default_cert_file_env) X(X509_get_serialNumber) \
	X(X509_get_subject_name) X(X509_getm_notAfter) X(X509_getm_notBefore) \
	X(X509_gmtime_adj) X(X509_new) X(X509_set_issuer_name) X(X509_set_pubkey) \
	X(X509_set_version) X(X509_sign) X(X509_verify_cert_error_string) \
	X(X509_LOOKUP_ctrl) X(X509_LOOKUP_get_method_data) X(X509_LOOKUP_get_store) \
	X(X509_LOOKUP_hash_dir) X(X509_LOOKUP_meth_free) X(X509_LOOKUP_meth_new) \
	X(X509_LOOKUP_meth_set_free) X(X509_LOOKUP_meth_set_get_by_subject) \
	X(X509_LOOKUP_set_method_data) X(X509_OBJECT_get0_X509) \
	X(X509_OBJECT_retrieve_by_subject) X(X509_OBJECT_set1_X509) \
	X(X509_STORE_add_cert) X(X509_STORE_add_lookup) X(X509_STORE_get0_objects) \
	X(X509_STORE_lock) X(X509_STORE_unlock)

enum {
#define X(name)	TLS_FN_##name,
	TLS_FUNCS
#undef X
	TLS_FN_N
};

static const char *const tls_fn_names[TLS_FN_N] = {
#define X(name)	#name,
	TLS_FUNCS
#undef X
};

/* One page of its own, so that it alone is made read-only once filled. */
static union {
	void	*fn[TLS_FN_N];
	char	 page[4096];
} tls_table __attribute__((aligned(4096)));

_Static_assert(sizeof tls_table.fn <= sizeof tls_table.page, "TLS_FUNCS outgrew a page");

static pthread_once_t	tls_once = PTHREAD_ONCE_INIT;
static void		*tls_handle;
static char		 tls_why[512];

static void
tls_lib_open(void)
{
	long	pg = sysconf(_SC_PAGESIZE);

	/* libssl's handle finds libcrypto's names too: its dependency. */
	if ((tls_handle = dlopen(MOAT_LIBSSL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(tls_why, sizeof tls_why, "%s", dlerror());
		return;
	}
	for (size_t i = 0; i < TLS_FN_N; i++) {
		if ((tls_table.fn[i] = dlsym(tls_handle, tls_fn_names[i])) == NULL) {
			snprintf(tls_why, sizeof tls_why, "%s has no %s: moat was built "
			    "against another OpenSSL", MOAT_LIBSSL_SONAME, tls_fn_names[i]);
			tls_handle = NULL;
			return;
		}
	}
	if (pg > 0 && pg <= (long)sizeof tls_table.page)
		(void)mprotect(&tls_table, sizeof tls_table, PROT_READ);
}

int
tls_lib_load(struct merr *e)
{
	pthread_once(&tls_once, tls_lib_open);
	if (tls_handle == NULL)
		return (merr_set(e, "OpenSSL (%s) could not be loaded: %s; TLS interception "
		    "for a secret's hosts needs it: install libssl3", MOAT_LIBSSL_SONAME,
		    tls_why));
	return (0);
}

bool
tls_lib_loaded(void)
{
	return (tls_handle != NULL);
}

/* The pointer of one function, the library loaded on first use. A failure
 * here cannot be returned through OpenSSL's own interface: say what is
 * missing and exit as moat does when it cannot go on (125). */
static void *
tls_fn(size_t i)
{
	struct merr	e;

	if (tls_lib_load(&e) == -1) {
		if (util_fatal_hook != NULL)
			util_fatal_hook();
		fprintf(stderr, "moat: %s\n", e.msg);
		_exit(125);
	}
	return (tls_table.fn[i]);
}

#pragma GCC visibility push(hidden)

/* R: returns a value; V: returns nothing. The prototype is OpenSSL's. */
#define R(ret, name, params, args) \
	ret name params { return (((ret (*) params)tls_fn(TLS_FN_##name)) args); }
#define V(name, params, args) \
	void name params { ((void (*) params)tls_fn(TLS_FN_##name)) args; }

R(long, BIO_ctrl, (BIO *b, int cmd, long l, void *p), (b, cmd, l, p))
R(const BIO_METHOD *, BIO_f_buffer, (void), ())
R(int, BIO_free, (BIO *b), (b))
R(long, BIO_int_ctrl, (BIO *b, int cmd, long l, int i), (b, cmd, l, i))
R(BIO *, BIO_new, (const BIO_METHOD *m), (m))
R(BIO *, BIO_new_file, (const char *f, const char *mode), (f, mode))
R(BIO *, BIO_new_socket, (int fd, int close_flag), (fd, close_flag))
R(BIO *, BIO_push, (BIO *b, BIO *append), (b, append))
R(const BIO_METHOD *, BIO_s_mem, (void), ())
R(int, BIO_up_ref, (BIO *b), (b))
R(int, BIO_write, (BIO *b, const void *d, int n), (b, d, n))
V(BN_free, (BIGNUM *a), (a))
R(BIGNUM *, BN_new, (void), ())
R(int, BN_rand, (BIGNUM *r, int bits, int top, int bottom), (r, bits, top, bottom))
R(ASN1_INTEGER *, BN_to_ASN1_INTEGER, (const BIGNUM *bn, ASN1_INTEGER *ai), (bn, ai))
V(ERR_clear_error, (void), ())
V(ERR_error_string_n, (unsigned long err, char *buf, size_t len), (err, buf, len))
R(unsigned long, ERR_get_error, (void), ())
R(unsigned long, ERR_peek_error, (void), ())
R(int, EVP_DecodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))
R(int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))
V(EVP_PKEY_free, (EVP_PKEY *k), (k))
R(const EVP_MD *, EVP_sha256, (void), ())
R(const char *, OpenSSL_version, (int t), (t))
R(X509 *, PEM_read_bio_X509_AUX, (BIO *b, X509 **x, pem_password_cb *cb, void *u),
    (b, x, cb, u))
R(int, PEM_write_bio_X509, (BIO *b, const X509 *x), (b, x))
R(long, SSL_CTX_ctrl, (SSL_CTX *c, int cmd, long l, void *p), (c, cmd, l, p))
V(SSL_CTX_free, (SSL_CTX *c), (c))
R(X509_STORE *, SSL_CTX_get_cert_store, (const SSL_CTX *c), (c))
R(int, SSL_CTX_load_verify_locations, (SSL_CTX *c, const char *f, const char *p), (c, f, p))
R(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *m), (m))
R(int, SSL_CTX_set_alpn_protos, (SSL_CTX *c, const unsigned char *p, unsigned int n),
    (c, p, n))
V(SSL_CTX_set_alpn_select_cb, (SSL_CTX *c, SSL_CTX_alpn_select_cb_func cb, void *arg),
    (c, cb, arg))
R(int, SSL_CTX_set_ciphersuites, (SSL_CTX *c, const char *l), (c, l))
R(uint64_t, SSL_CTX_set_options, (SSL_CTX *c, uint64_t o), (c, o))
V(SSL_CTX_set_verify, (SSL_CTX *c, int mode, SSL_verify_cb cb), (c, mode, cb))
R(int, SSL_CTX_use_PrivateKey, (SSL_CTX *c, EVP_PKEY *k), (c, k))
R(int, SSL_CTX_use_certificate, (SSL_CTX *c, X509 *x), (c, x))
R(int, SSL_accept, (SSL *s), (s))
R(int, SSL_connect, (SSL *s), (s))
R(long, SSL_ctrl, (SSL *s, int cmd, long l, void *p), (s, cmd, l, p))
V(SSL_free, (SSL *s), (s))
R(int, SSL_get_error, (const SSL *s, int rc), (s, rc))
R(long, SSL_get_verify_result, (const SSL *s), (s))
R(int, SSL_has_pending, (const SSL *s), (s))
R(SSL *, SSL_new, (SSL_CTX *c), (c))
R(int, SSL_read, (SSL *s, void *b, int n), (s, b, n))
R(int, SSL_select_next_proto, (unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, const unsigned char *client,
    unsigned int clientlen), (out, outlen, in, inlen, client, clientlen))
R(int, SSL_set1_host, (SSL *s, const char *h), (s, h))
V(SSL_set_bio, (SSL *s, BIO *r, BIO *w), (s, r, w))
V(SSL_set_default_read_buffer_len, (SSL *s, size_t len), (s, len))
R(int, SSL_set_fd, (SSL *s, int fd), (s, fd))
V(SSL_set_read_ahead, (SSL *s, int yes), (s, yes))
R(int, SSL_shutdown, (SSL *s), (s))
R(int, SSL_write, (SSL *s, const void *b, int n), (s, b, n))
R(const SSL_METHOD *, TLS_client_method, (void), ())
R(const SSL_METHOD *, TLS_server_method, (void), ())
R(X509_EXTENSION *, X509V3_EXT_conf_nid, (LHASH_OF(CONF_VALUE) *conf, X509V3_CTX *ctx,
    int nid, const char *value), (conf, ctx, nid, value))
V(X509V3_set_ctx, (X509V3_CTX *ctx, X509 *iss, X509 *subj, X509_REQ *req, X509_CRL *crl,
    int flags), (ctx, iss, subj, req, crl, flags))
V(X509_EXTENSION_free, (X509_EXTENSION *x), (x))
R(int, X509_NAME_add_entry_by_txt, (X509_NAME *n, const char *field, int type,
    const unsigned char *bytes, int len, int loc, int set),
    (n, field, type, bytes, len, loc, set))
R(int, X509_add_ext, (X509 *x, X509_EXTENSION *ex, int loc), (x, ex, loc))
V(X509_free, (X509 *x), (x))
R(const char *, X509_get_default_cert_dir, (void), ())
R(const char *, X509_get_default_cert_dir_env, (void), ())
R(const char *, X509_get_default_cert_file, (void), ())
R(const char *, X509_get_default_cert_file_env, (void), ())
R(ASN1_INTEGER *, X509_get_serialNumber, (X509 *x), (x))
R(X509_NAME *, X509_get_subject_name, (const X509 *x), (x))
R(ASN1_TIME *, X509_getm_notAfter, (const X509 *x), (x))
R(ASN1_TIME *, X509_getm_notBefore, (const X509 *x), (x))
R(ASN1_TIME *, X509_gmtime_adj, (ASN1_TIME *s, long adj), (s, adj))
R(X509 *, X509_new, (void), ())
R(int, X509_set_issuer_name, (X509 *x, const X509_NAME *n), (x, n))
R(int, X509_set_pubkey, (X509 *x, EVP_PKEY *k), (x, k))
R(int, X509_set_version, (X509 *x, long v), (x, v))
R(int, X509_sign, (X509 *x, EVP_PKEY *k, const EVP_MD *md), (x, k, md))
R(const char *, X509_verify_cert_error_string, (long n), (n))
R(int, X509_LOOKUP_ctrl, (X509_LOOKUP *l, int cmd, const char *argc, long argl, char **ret),
    (l, cmd, argc, argl, ret))
R(void *, X509_LOOKUP_get_method_data, (const X509_LOOKUP *l), (l))
R(X509_STORE *, X509_LOOKUP_get_store, (const X509_LOOKUP *l), (l))
R(X509_LOOKUP_METHOD *, X509_LOOKUP_hash_dir, (void), ())
V(X509_LOOKUP_meth_free, (X509_LOOKUP_METHOD *m), (m))
R(X509_LOOKUP_METHOD *, X509_LOOKUP_meth_new, (const char *name), (name))
R(int, X509_LOOKUP_meth_set_free, (X509_LOOKUP_METHOD *m, void (*fn)(X509_LOOKUP *)),
    (m, fn))
R(int, X509_LOOKUP_meth_set_get_by_subject, (X509_LOOKUP_METHOD *m,
    X509_LOOKUP_get_by_subject_fn fn), (m, fn))
R(int, X509_LOOKUP_set_method_data, (X509_LOOKUP *l, void *d), (l, d))
R(X509 *, X509_OBJECT_get0_X509, (const X509_OBJECT *o), (o))
R(X509_OBJECT *, X509_OBJECT_retrieve_by_subject, (STACK_OF(X509_OBJECT) *h,
    X509_LOOKUP_TYPE type, const X509_NAME *name), (h, type, name))
R(int, X509_OBJECT_set1_X509, (X509_OBJECT *o, X509 *x), (o, x))
R(int, X509_STORE_add_cert, (X509_STORE *s, X509 *x), (s, x))
R(X509_LOOKUP *, X509_STORE_add_lookup, (X509_STORE *s, X509_LOOKUP_METHOD *m), (s, m))
R(STACK_OF(X509_OBJECT) *, X509_STORE_get0_objects, (const X509_STORE *s), (s))
R(int, X509_STORE_lock, (X509_STORE *s), (s))
R(int, X509_STORE_unlock, (X509_STORE *s), (s))

/* Variadic: the argument each key type of OpenSSL's documentation takes
 * (EVP_PKEY_Q_keygen(3)) is read and passed on; moat asks for "EC" only. */
EVP_PKEY *
EVP_PKEY_Q_keygen(OSSL_LIB_CTX *lib, const char *propq, const char *type, ...)
{
	EVP_PKEY	*(*fn)(OSSL_LIB_CTX *, const char *, const char *, ...) =
	    (EVP_PKEY *(*)(OSSL_LIB_CTX *, const char *, const char *, ...))
	    tls_fn(TLS_FN_EVP_PKEY_Q_keygen);
	EVP_PKEY	*k;
	va_list		 ap;

	va_start(ap, type);
	if (strcmp(type, "EC") == 0)
		k = fn(lib, propq, type, va_arg(ap, char *));
	else if (strcmp(type, "RSA") == 0)
		k = fn(lib, propq, type, va_arg(ap, size_t));
	else
		k = fn(lib, propq, type);
	va_end(ap);
	return (k);
}

#pragma GCC visibility pop

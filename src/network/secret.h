/* secret.h: the secrets of a run that never enter its sandbox. Each has
 * its real value (from moat's environment or a secret-file, read by the
 * supervisor) and a placeholder made for the run ("moat-secret-" and
 * random hex digits) that the sandbox sees in the secret's variable
 * instead; the proxy swaps one for the other on the way to the secret's
 * hosts. A placeholder is as long as its value where that leaves it 16
 * digits or more and the value is at most SECRET_PLACEHOLDER_MAX bytes,
 * so that a response's body keeps its length when the value in it is
 * swapped back (and with it the upstream's Content-Length); else it has
 * 32 digits. Supervisor only: the sandbox's init wipes its copy
 * (secrets_wipe). */
#ifndef MOAT_SECRET_H
#define MOAT_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "base/util.h"
#include "profile/profile.h"

#define SECRET_PREFIX		"moat-secret-"
#define SECRET_PREFIX_LEN	(sizeof SECRET_PREFIX - 1)
#define SECRET_PLACEHOLDER_STD	(SECRET_PREFIX_LEN + 32)	/* the length when not the value's */
#define SECRET_PLACEHOLDER_MIN	(SECRET_PREFIX_LEN + 16)
#define SECRET_PLACEHOLDER_MAX	1024
#define SECRET_VALUE_MIN	8	/* shorter is not told apart from other text */
#define SECRET_VALUE_MAX	16384

struct secret {
	char	*name;		/* owned; the variable */
	char	*value;		/* owned; the real value, len bytes */
	size_t	 len;
	char	 placeholder[SECRET_PLACEHOLDER_MAX + 1];
	size_t	 plen;		/* the value's length, or SECRET_PLACEHOLDER_STD */
	struct strv hosts;	/* owned; net-allow grammar, from every line naming it */
	char	*source;	/* owned; "moat's environment" or the file */
	bool	 optional;	/* only secret-try lines name it */
};

struct tls_ca;

struct secrets {
	struct secret	*v;	/* owned, n entries */
	size_t		 n;
	/* With any secret: the run's CA (tls.c), and what the sandbox trusts
	 * with it, the system's bundle and the CA (ca_bundle, owned). */
	struct tls_ca	*ca;
	char		*ca_bundle;
};

/* Where the bundle is inside the sandbox, and the variables that name it. */
#define SECRET_CA_PATH	"/etc/moat-ca.pem"
extern const char *const secret_ca_vars[];

/* Reads each secret of the profile: the value from its secret-file, else
 * from moat's environment; makes its placeholder. -1 with e naming the
 * secret and what to do (unset, empty, unreadable, too short). A secret
 * only secret-try lines name is left out when its variable is unset or
 * empty (or its secret-file does not exist). */
int		 secrets_load(struct secrets *, const struct profile *,
		    const char *run_id, struct merr *);
/* Overwrites every value (the sandbox's init, in its copy of the memory). */
void		 secrets_wipe(struct secrets *);
/* Wipes and frees. A zeroed struct secrets is empty. */
void		 secrets_release(struct secrets *);
/* A session's secrets as its supervisor sends them to a client of the
 * same user (MSG_SECRETS on the control socket): per secret its name, its
 * placeholder, its value and its hosts, each NUL-terminated. The client
 * builds its command's variables from them and teaches its record's
 * redaction the values; no CA is sent (the session's sandbox has it).
 * secrets_encode's buffer is malloc'd: wipe it before freeing. */
char		*secrets_encode(const struct secrets *, size_t *len);
/* -1 with e when the bytes are not what secrets_encode wrote. */
int		 secrets_decode(struct secrets *, const char *, size_t,
		    struct merr *);
/* The longest placeholder's length (0 without secrets). */
size_t		 secrets_plen_max(const struct secrets *);
/* Whether every placeholder is as long as its value: a text with each
 * value swapped for its placeholder keeps its length. */
bool		 secrets_same_length(const struct secrets *);
/* The first secret whose real value occurs in the len bytes at buf. */
const struct secret *secrets_find_value(const struct secrets *, const void *buf,
		    size_t len);
/* The secret a NAME=VALUE or a variable name is (the name before '='). */
const struct secret *secrets_find_name(const struct secrets *, const char *name,
		    size_t len);

#endif

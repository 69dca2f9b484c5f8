/* environ.c: builds the command's environment from the profile's allowlist,
 * its fixed settings and -e options. Supervisor, before clone. */
#include <ctype.h>
#include <string.h>
#include <stdlib.h>

#include "environ.h"

extern char	**environ;

int
environ_name_allowed(const struct strv *allow, const char *name)
{
	for (size_t i = 0; i < allow->n; i++) {
		const char	*a = allow->v[i];
		size_t		 n = strlen(a);

		if (n > 0 && a[n - 1] == '*') {
			if (strncmp(name, a, n - 1) == 0)
				return (1);
		} else if (strcmp(name, a) == 0)
			return (1);
	}
	return (0);
}

/* Sets NAME=VALUE, replacing an earlier NAME. */
static void
env_put(struct strv *env, const char *name, size_t nlen, const char *value)
{
	for (size_t i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], name, nlen) == 0 && env->v[i][nlen] == '=') {
			free(env->v[i]);
			env->v[i] = xprintf("%.*s=%s", (int)nlen, name, value);
			return;
		}
	}
	strv_take(env, xprintf("%.*s=%s", (int)nlen, name, value));
}

static void
env_put_kv(struct strv *env, const char *kv)
{
	const char	*eq = strchr(kv, '=');

	env_put(env, kv, (size_t)(eq - kv), eq + 1);
}

int
environ_build(const struct environ_in *in, struct strv *env, struct merr *e)
{
	const struct profile	*p = in->profile;
	char			**ep;

	for (ep = environ; *ep != NULL; ep++) {
		const char	*eq = strchr(*ep, '=');
		autofree char	*name = NULL;

		if (eq == NULL)
			continue;
		name = xstrndup(*ep, (size_t)(eq - *ep));
		if (secrets_find_name(in->secrets, *ep, (size_t)(eq - *ep)) != NULL)
			continue;
		if (environ_name_allowed(&p->env_pass, name))
			env_put_kv(env, *ep);
	}
	if (getenv("PATH") == NULL || !environ_name_allowed(&p->env_pass, "PATH"))
		env_put(env, "PATH", 4, "/usr/local/bin:/usr/bin:/bin");
	env_put(env, "HOME", 4, in->home);
	env_put(env, "USER", 4, in->user);
	env_put(env, "LOGNAME", 7, in->user);
	env_put(env, "PWD", 3, in->cwd);
	env_put(env, "TMPDIR", 6, "/tmp");
	env_put(env, "MOAT_SANDBOX", 12, "1");
	env_put(env, "MOAT_RUN_ID", 11, in->run_id);
	for (size_t i = 0; i < p->env_set.n; i++)
		env_put_kv(env, p->env_set.v[i]);
	for (size_t i = 0; i < in->extra->n; i++) {
		const char	*x = in->extra->v[i], *eq = strchr(x, '='), *v;
		size_t		 n = eq != NULL ? (size_t)(eq - x) : strlen(x);

		if (!env_name_valid(x, n))
			return (merr_set(e, "-e %s: not a valid variable name "
			    "(letters, digits and _, not starting with a digit)", x));
		if (eq != NULL)
			env_put_kv(env, x);
		else if (secrets_find_name(in->secrets, x, n) == NULL &&
		    (v = getenv(x)) != NULL)
			env_put(env, x, n, v);
	}
	/* The bundle with the run's CA, for every client family's variable
	 * (a session's client has the secrets but not the CA: its sandbox
	 * has the bundle). */
	for (size_t i = 0; in->secrets != NULL && in->secrets->n > 0 &&
	    secret_ca_vars[i] != NULL; i++)
		env_put(env, secret_ca_vars[i], strlen(secret_ca_vars[i]), SECRET_CA_PATH);
	for (size_t i = 0; in->secrets != NULL && i < in->secrets->n; i++) {
		const struct secret	*sc = &in->secrets->v[i];

		env_put(env, sc->name, strlen(sc->name), sc->placeholder);
	}
	return (0);
}

/* session-info.c: what a session says of itself (MSG_HELLO's answer), as
 * "key=value" lines with percent-escaped values, both ways. A key of a
 * later version is skipped. Any process. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "session.h"

bool
session_name_valid(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n >= SESSION_NAME_MAX || s[0] == '.' || s[0] == '-')
		return (false);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' ||
		    s[i] == '-'))
			return (false);
	return (true);
}

/* Values are percent-escaped: no newline, '=' or '%' inside. */
static void
info_put(char **buf, size_t *len, const char *key, const char *val)
{
	size_t	need = strlen(key) + 3 * strlen(val) + 3;

	*buf = xrealloc(*buf, *len + need + 1);
	*len += (size_t)sprintf(*buf + *len, "%s=", key);
	for (const unsigned char *p = (const unsigned char *)val; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '%' || *p == '=')
			*len += (size_t)sprintf(*buf + *len, "%%%02X", *p);
		else
			(*buf)[(*len)++] = (char)*p;
	(*buf)[(*len)++] = '\n';
	(*buf)[*len] = '\0';
}

char *
session_info_format(const struct session_info *in)
{
	char	*buf = NULL, num[64];
	size_t	 len = 0;

	info_put(&buf, &len, "id", in->id);
	info_put(&buf, &len, "name", in->name);
	info_put(&buf, &len, "profile", in->profile);
	info_put(&buf, &len, "profile_hash", in->profile_hash);
	info_put(&buf, &len, "profile_hash_live", in->profile_hash_live);
	info_put(&buf, &len, "net", in->net);
	info_put(&buf, &len, "state", in->state);
	info_put(&buf, &len, "workspace", in->workspace);
	info_put(&buf, &len, "cwd", in->cwd);
	info_put(&buf, &len, "run_id", in->run_id);
	info_put(&buf, &len, "user", in->user);
	info_put(&buf, &len, "home", in->home);
#define NUM(k, fmt, v) do { snprintf(num, sizeof num, fmt, v); \
	info_put(&buf, &len, k, num); } while (0)
	NUM("pid", "%ld", (long)in->pid);
	NUM("init_pid", "%ld", (long)in->init_pid);
	NUM("created", "%.3f", in->created);
	NUM("ttl_left", "%.3f", in->ttl_left);
	NUM("idle_ttl", "%.3f", in->idle_ttl);
	NUM("commands", "%u", in->commands);
	NUM("live", "%u", in->live);
	NUM("procs", "%u", in->procs);
	NUM("mem", "%.0f", in->mem);
	NUM("memory", "%.0f", in->memory);
#undef NUM
	return (buf);
}

static int
info_unescape(const char *v, size_t n, char *out, size_t cap)
{
	size_t	o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned	c = (unsigned char)v[i];

		if (c == '%') {
			char	hex[3];

			if (i + 2 >= n)
				return (-1);
			hex[0] = v[i + 1];
			hex[1] = v[i + 2];
			hex[2] = '\0';
			if (strspn(hex, "0123456789abcdefABCDEF") != 2 ||
			    (c = (unsigned)strtoul(hex, NULL, 16)) == 0)
				return (-1);
			i += 2;
		}
		else if (c < 0x20 || c == 0x7f)
			return (-1);	/* the formatter escapes these */
		if (o + 1 >= cap)
			return (-1);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (0);
}

int
session_info_parse(const char *buf, size_t len, struct session_info *in)
{
	const char	*p = buf, *end = buf + len;

	memset(in, 0, sizeof *in);
	in->ttl_left = -1;
	while (p < end) {
		const char	*nl = memchr(p, '\n', (size_t)(end - p));
		const char	*eq = nl != NULL ? memchr(p, '=', (size_t)(nl - p)) : NULL;
		char		 key[32], val[PATH_MAX];
		char		*x;

		if (nl == NULL || eq == NULL || (size_t)(eq - p) >= sizeof key)
			return (-1);
		memcpy(key, p, (size_t)(eq - p));
		key[eq - p] = '\0';
		if (info_unescape(eq + 1, (size_t)(nl - eq - 1), val, sizeof val) == -1)
			return (-1);
		p = nl + 1;
#define STR(k, f) if (strcmp(key, k) == 0) { \
	if (strlen(val) >= sizeof in->f) return (-1); \
	strcpy(in->f, val); continue; }
/* A number, in the range of its field: an integer field takes only
 * integers from lo to hi. */
#define NUMR(k, f, lo, hi, integral) if (strcmp(key, k) == 0) { \
	errno = 0; double d_ = strtod(val, &x); \
	if (x == val || *x != '\0' || errno != 0 || !isfinite(d_) || \
	    d_ < (lo) || d_ > (hi) || ((integral) && d_ != floor(d_))) \
		return (-1); \
	in->f = (__typeof__(in->f))d_; continue; }
#define NUM(k, f) NUMR(k, f, -1e15, 1e15, 0)
#define UNUM(k, f) NUMR(k, f, 0, 4294967295.0, 1)
#define PID(k, f) NUMR(k, f, 0, 2147483647.0, 1)
		STR("id", id);
		STR("name", name);
		STR("profile", profile);
		STR("profile_hash", profile_hash);
		STR("profile_hash_live", profile_hash_live);
		STR("net", net);
		STR("state", state);
		STR("workspace", workspace);
		STR("cwd", cwd);
		STR("run_id", run_id);
		STR("user", user);
		STR("home", home);
		PID("pid", pid);
		PID("init_pid", init_pid);
		NUM("created", created);
		NUM("ttl_left", ttl_left);
		NUM("idle_ttl", idle_ttl);
		UNUM("commands", commands);
		UNUM("live", live);
		UNUM("procs", procs);
		NUM("mem", mem);
		NUMR("memory", memory, 0, 1e18, 1);
#undef STR
#undef NUM
#undef NUMR
#undef UNUM
#undef PID
		/* A key of a later version: skipped. */
	}
	/* An id and name as session_start makes them. */
	if (!session_name_valid(in->id) ||
	    (in->name[0] != '\0' && !session_name_valid(in->name)))
		return (-1);
	return (0);
}

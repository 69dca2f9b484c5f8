/* run-summary.c: the end-of-run summary (run-summary.h): counts what the run
 * was refused as its events arrive, then says it on the terminal in one or
 * two lines and in --json. Supervisor, in the front end's callbacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run-summary.h"
#include "audit/audit.h"
#include "risk/risk.h"
#include "sandbox/spawn.h"

void
run_summary_init(struct run_summary *s)
{
	memset(s, 0, sizeof *s);
	s->risk = -1;
}

static void
summary_count(struct run_summary_count *c, size_t *nc, unsigned long *more,
    const char *name, unsigned long n)
{
	for (size_t i = 0; i < *nc; i++)
		if (strcmp(c[i].name, name) == 0) {
			c[i].n += n;
			return;
		}
	if (*nc == RUN_SUMMARY_MAX) {
		*more += n;
		return;
	}
	c[*nc].name = xstrdup(name);
	c[(*nc)++].n = n;
}

void
run_summary_event(struct run_summary *s, const struct run_event *ev)
{
	if (ev->kind == EV_NET_CONN && ev->verdict != NULL &&
	    strcmp(ev->verdict, "refused") == 0 && ev->host != NULL && ev->host[0] != '\0') {
		/* Port 0: a name the sandbox's resolver refused. */
		autofree char	*hp = ev->port == 0 ? xstrdup(ev->host) :
		    xprintf(strchr(ev->host, ':') != NULL ? "[%s]:%u" : "%s:%u",
		    ev->host, ev->port);

		summary_count(s->refused, &s->nrefused, &s->refused_more, hp, 1);
	} else if (ev->kind == EV_SYSCALL_DENIED && ev->syscall != NULL)
		summary_count(s->denied, &s->ndenied, &s->denied_more, ev->syscall,
		    ev->count > 0 ? ev->count : 1);
	else if (ev->kind == EV_FILE_CHANGED && ev->change != NULL &&
	    strcmp(ev->change, "refused") == 0 && ev->path != NULL)
		summary_count(s->wrefused, &s->nwrefused, &s->wrefused_more, ev->path, 1);
	else if (ev->kind == EV_FILE_CHANGED && ev->change != NULL &&
	    strncmp(ev->change, "re-", 3) == 0)
		;	/* a protected or hidden path put back (guard.c): the host's */
	else if (ev->kind == EV_FILE_CHANGED) {
		s->files_changed++;
		s->files_outside += ev->outside;
	}
}

/* The limit that ended the run, or NULL. */
static const char *
summary_limit(const struct run *r)
{
	switch (r->end) {
	case END_TIMEOUT:
		return ("timeout");
	case END_CPU_TIME:
		return ("cpu time");
	case END_OOM:
		return ("memory");
	case END_PIDS:
		return ("processes");
	default:
		return (NULL);
	}
}

static void
summary_safe(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void
summary_list(FILE *f, const char *label, const struct run_summary_count *c, size_t n,
    unsigned long more, bool *first)
{
	if (n == 0)
		return;
	fprintf(f, "%s%s ", *first ? "" : "; ", label);
	*first = false;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", f);
		summary_safe(f, c[i].name);
		if (c[i].n > 1)
			fprintf(f, " x%lu", c[i].n);
	}
	if (more > 0)
		fprintf(f, " and %lu more", more);
}

void
run_summary_print(const struct run_summary *s, const struct run *r, FILE *f)
{
	const char	*limit = summary_limit(r);
	bool		 first = true;

	if (s->nrefused > 0 || s->ndenied > 0 || limit != NULL || s->files_changed > 0 ||
	    s->nwrefused > 0) {
		fputs("moat: ", f);
		summary_list(f, "refused connections to", s->refused, s->nrefused,
		    s->refused_more, &first);
		summary_list(f, "refused writes to", s->wrefused, s->nwrefused,
		    s->wrefused_more, &first);
		summary_list(f, "denied system calls", s->denied, s->ndenied, s->denied_more, &first);
		if (limit != NULL) {
			fprintf(f, "%s%s limit hit", first ? "" : "; ", limit);
			first = false;
		}
		if (s->files_changed > 0) {
			fprintf(f, "%s%u file%s changed", first ? "" : "; ", s->files_changed,
			    s->files_changed == 1 ? "" : "s");
			if (s->files_outside > 0)
				fprintf(f, " (%u outside the workspace)", s->files_outside);
			first = false;
		}
		fputc('\n', f);
	} else
		fputs("moat: nothing refused; ", f);
	if (first)
		fprintf(f, "exit %d", r->exit_code);
	else
		fprintf(f, "moat: exit %d", r->exit_code);
	if (s->risk >= 0)
		fprintf(f, ", risk %d (%s)", s->risk, risk_band(s->risk));
	fprintf(f, "; run %s (moat audit show %s)\n", r->id, r->id);
}

static void
summary_json_list(FILE *f, const char *key, const char *name,
    const struct run_summary_count *c, size_t n, unsigned long more)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		autofree char	*js = audit_json_str(c[i].name);

		fprintf(f, "%s{\"%s\":%s,\"count\":%lu}", i > 0 ? "," : "", name, js, c[i].n);
	}
	fprintf(f, "],\"%s_more\":%lu", key, more);
}

char *
run_summary_json(const struct run_summary *s, const struct run *r)
{
	char		*out = NULL;
	size_t		 len = 0;
	FILE		*f = open_memstream(&out, &len);
	const char	*limit = summary_limit(r);
	autofree char	*id = audit_json_str(r->id);

	if (f == NULL)
		return (xstrdup(""));	/* out of memory: the object without them */
	fprintf(f, ",\"run_id\":%s", id);
	summary_json_list(f, "refused", "dest", s->refused, s->nrefused, s->refused_more);
	summary_json_list(f, "denied", "syscall", s->denied, s->ndenied, s->denied_more);
	summary_json_list(f, "refused_writes", "path", s->wrefused, s->nwrefused,
	    s->wrefused_more);
	if (limit != NULL)
		fprintf(f, ",\"limit_hit\":\"%s\"", limit);
	else
		fputs(",\"limit_hit\":null", f);
	fprintf(f, ",\"files_changed\":%u,\"files_outside\":%u", s->files_changed,
	    s->files_outside);
	if (s->risk >= 0)
		fprintf(f, ",\"risk\":%d,\"risk_band\":\"%s\"", s->risk, risk_band(s->risk));
	else
		fputs(",\"risk\":null,\"risk_band\":null", f);
	if (fclose(f) != 0) {
		free(out);
		return (xstrdup(""));
	}
	return (out);
}

void
run_summary_free(struct run_summary *s)
{
	for (size_t i = 0; i < s->nrefused; i++)
		free(s->refused[i].name);
	for (size_t i = 0; i < s->ndenied; i++)
		free(s->denied[i].name);
	for (size_t i = 0; i < s->nwrefused; i++)
		free(s->wrefused[i].name);
	run_summary_init(s);
}

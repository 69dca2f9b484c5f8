/* filter.c: compiles the seccomp deny list (profile/filter-groups.c) for a profile
 * with libseccomp into a plain BPF program, and installs that program.
 * filter_compile runs in the supervisor before clone, so that nothing inside
 * the sandbox allocates or parses; filter_install runs in the sandbox, in the
 * command's process right before exec, and only makes one syscall.
 *
 * Architectures. Only the native ABI is in the filter. On x86_64 the i386
 * (int 0x80) and x32 (nr | 0x40000000) ABIs are not added: libseccomp sends
 * every syscall of an architecture the filter does not name, and every x32
 * number on x86_64, to the "bad arch" action, and ours answers ENOSYS, as a
 * kernel built without those ABIs would. Filtering them with the same rules
 * would not be the same policy: i386 multiplexes socket() through
 * socketcall(), whose arguments are in memory where seccomp cannot look.
 * With FILTER_NOTIFY the bad-arch action notifies too, so the attempt is
 * reported, and the supervisor answers ENOSYS.
 *
 * Notification and stacking. A filter installed later by the sandboxed code
 * wins over ours for the same action, so a process with its own notification
 * listener could answer CONTINUE for a call we deny (see linux/seccomp.h on
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE). With FILTER_NOTIFY, a rule that cannot
 * be relaxed therefore denies seccomp(SECCOMP_SET_MODE_FILTER) with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER; filters without a listener can only
 * deny more.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "filter.h"
#include "filter-cache.h"
#include "base/util.h"

static void
filter_ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx != NULL)
		seccomp_release(*ctx);
}

static int
filter_add(scmp_filter_ctx ctx, unsigned flags, const struct filter_rule *r,
    struct merr *e)
{
	struct scmp_arg_cmp	cmp[FILTER_MAX_ARGS];
	uint32_t		action;
	int			nr, rc;

	/* A syscall this architecture does not have cannot be called. */
	if ((nr = filter_syscall_nr(r->syscall)) == __NR_SCMP_ERROR)
		return (0);
	for (unsigned i = 0; i < r->nargs; i++) {
		const struct filter_arg	*a = &r->args[i];

		memset(&cmp[i], 0, sizeof cmp[i]);
		cmp[i].arg = a->arg;
		switch (a->op) {
		case FOP_EQ:
			if (a->mask == 0) {
				cmp[i].op = SCMP_CMP_EQ;
				cmp[i].datum_a = a->val;
			} else {
				cmp[i].op = SCMP_CMP_MASKED_EQ;
				cmp[i].datum_a = a->mask;
				cmp[i].datum_b = a->val;
			}
			break;
		case FOP_NE:
			cmp[i].op = SCMP_CMP_NE;
			cmp[i].datum_a = a->val;
			break;
		case FOP_GT:
			cmp[i].op = SCMP_CMP_GT;
			cmp[i].datum_a = a->val;
			break;
		}
	}
	if ((flags & FILTER_NOTIFY) && !r->quiet)
		action = SCMP_ACT_NOTIFY;
	else
		action = SCMP_ACT_ERRNO((uint32_t)r->err);
	rc = seccomp_rule_add_array(ctx, action, nr, r->nargs, cmp);
	/* -EEXIST: the same call is already denied, e.g. a profile that denies
	 * all of ioctl as well as @tty-inject. */
	if (rc < 0 && rc != -EEXIST)
		return (merr_errno_n(e, -rc, "seccomp rule for %s", r->syscall));
	return (0);
}

/* An observed call: notified, answered CONTINUE by notify.c. Not when the
 * profile denies the call by name (the deny rule answers it). */
static int
filter_observe(scmp_filter_ctx ctx, const struct profile *p,
    const struct filter_rule *r, struct merr *e)
{
	if (!filter_observed(p, r->syscall))
		return (0);
	return (filter_add(ctx, FILTER_NOTIFY, r, e));
}

static bool
filter_relaxed(const struct profile *p, const char *name)
{
	return (p != NULL && strv_contains(&p->seccomp_allow, name));
}

static int
filter_check_names(const struct strv *sv, const char *key, struct merr *e)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!filter_name_valid(sv->v[i]))
			return (merr_set(e, "%s: unknown %s \"%s\"; groups: %s", key,
			    sv->v[i][0] == '@' ? "group" : "syscall", sv->v[i],
			    filter_group_names()));
	return (0);
}

static int
filter_export(scmp_filter_ctx ctx, struct filter *f, struct merr *e)
{
	autofd int	 fd = -1;
	struct stat	 st;
	autofree void	*buf = NULL;
	ssize_t		 n;
	int		 rc;

	if ((fd = memfd_create("moat-seccomp", MFD_CLOEXEC)) == -1)
		return (merr_errno(e, "compile the seccomp filter: memfd_create"));
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0)
		return (merr_errno_n(e, -rc, "seccomp_export_bpf"));
	if (fstat(fd, &st) == -1)
		return (merr_errno(e, "fstat seccomp program"));
	if (st.st_size == 0 || st.st_size % sizeof (struct sock_filter) != 0 ||
	    st.st_size / sizeof (struct sock_filter) > BPF_MAXINSNS)
		return (merr_set(e, "seccomp program of %lld bytes is not usable",
		    (long long)st.st_size));
	buf = xmalloc(st.st_size);
	if ((n = pread(fd, buf, st.st_size, 0)) != st.st_size)
		return (n == -1 ? merr_errno(e, "read seccomp program") :
		    merr_set(e, "short read of seccomp program"));
	f->prog.len = st.st_size / sizeof (struct sock_filter);
	f->prog.filter = TAKE_PTR(buf);
	return (0);
}

static int
filter_no_notify(int err, struct merr *e)
{
	return (merr_errno_n(e, err, "seccomp user notification is not available "
	    "(libseccomp reports API level %u: the kernel is older than 5.0, or a "
	    "seccomp filter above moat, a container's or a sandbox's, refuses "
	    "seccomp(2)); moat will not run without its syscall filter: run "
	    "\"moat doctor\"", seccomp_api_get()));
}

int
filter_compile(const struct profile *p, unsigned flags, struct filter *f,
    struct merr *e)
{
	__attribute__((cleanup(filter_ctx_releasep))) scmp_filter_ctx ctx = NULL;
	uint32_t	badarch;
	int		rc;

	memset(f, 0, sizeof *f);
	f->flags = flags;
	if (p != NULL && (filter_check_names(&p->seccomp_deny, "seccomp-deny", e) == -1 ||
	    filter_check_names(&p->seccomp_allow, "seccomp-allow", e) == -1))
		return (-1);

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return (merr_set(e, "seccomp_init failed"));
	badarch = (flags & FILTER_NOTIFY) ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(ENOSYS);
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, badarch)) < 0) {
		/* libseccomp asks the kernel what it supports; a filter above
		 * moat that refuses seccomp(2) makes it say "nothing". */
		if ((flags & FILTER_NOTIFY) && seccomp_api_get() < 5)
			return (filter_no_notify(-rc, e));
		return (merr_errno_n(e, -rc, "seccomp bad-arch action"));
	}
	/* filter_install sets the mode itself; no_new_privs is init's job. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		return (merr_errno_n(e, -rc, "seccomp no_new_privs attribute"));

	/* Every group is denied unless the profile relaxes it; seccomp-deny
	 * naming a group is then a no-op, and seccomp-allow wins over it. */
	for (size_t i = 0; i < filter_ngroups; i++) {
		const struct filter_group	*g = &filter_groups[i];

		if (filter_relaxed(p, g->name))
			continue;
		for (size_t j = 0; j < g->nrules; j++) {
			if (filter_relaxed(p, g->rules[j].syscall))
				continue;
			if (filter_add(ctx, flags, &g->rules[j], e) == -1)
				return (-1);
		}
	}
	for (size_t i = 0; p != NULL && i < p->seccomp_deny.n; i++) {
		const char		*name = p->seccomp_deny.v[i];
		struct filter_rule	 r = { .syscall = name, .err = EPERM };

		if (name[0] == '@' || filter_relaxed(p, name))
			continue;
		if (filter_add(ctx, flags, &r, e) == -1)
			return (-1);
	}
	/* Transparent interception: every connect() waits for the
	 * supervisor, which reads the address (seccomp cannot) and lets a
	 * connection to the sandbox's own loopback go on. Not when the profile
	 * denies connect: then it is denied like any other call. */
	if ((flags & (FILTER_NOTIFY | FILTER_CONNECT)) == (FILTER_NOTIFY |
	    FILTER_CONNECT)) {
		if (p != NULL && strv_contains(&p->seccomp_deny, "connect") &&
		    !filter_relaxed(p, "connect"))
			f->flags &= ~(unsigned)FILTER_CONNECT;
		else if ((rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY,
		    SCMP_SYS(connect), 0)) < 0)
			return (merr_errno_n(e, -rc, "seccomp rule for connect"));
	} else
		f->flags &= ~(unsigned)FILTER_CONNECT;
	/* The exec trail: a record, not a gate (notify.c answers CONTINUE). A
	 * profile that denies execve keeps its rule (-EEXIST). */
	if ((flags & FILTER_NOTIFY) && (flags & FILTER_EXEC_TRAIL)) {
		static const int	calls[] = { SCMP_SYS(execve), SCMP_SYS(execveat) };

		for (size_t i = 0; i < nitems(calls); i++)
			if ((rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, calls[i], 0)) < 0 &&
			    rc != -EEXIST)
				return (merr_errno_n(e, -rc, "seccomp rule for the exec "
				    "trail"));
	}
	if (flags & FILTER_NOTIFY) {
		struct filter_rule	r = { .syscall = "seccomp", .err = EPERM,
		    .nargs = 2, .args = {
			{ 0, FOP_EQ, 0xffffffffULL, SECCOMP_SET_MODE_FILTER },
			{ 1, FOP_EQ, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER } } };

		if (filter_add(ctx, flags, &r, e) == -1)
			return (-1);
	}
	if ((flags & FILTER_NOTIFY) && (flags & FILTER_OBSERVE_WRITE)) {
		static const uint64_t	 wr[] = { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC };

		/* Any of the bits set: one rule per bit, the rules are or'ed. */
		for (size_t i = 0; i < nitems(wr); i++) {
			struct filter_rule	ro = { .syscall = "openat", .nargs = 1,
			    .args = { { 2, FOP_EQ, wr[i], wr[i] } } };
			struct filter_rule	ro2 = { .syscall = "open", .nargs = 1,
			    .args = { { 1, FOP_EQ, wr[i], wr[i] } } };

			if (filter_observe(ctx, p, &ro, e) == -1 ||
			    filter_observe(ctx, p, &ro2, e) == -1)
				return (-1);
		}
		if (filter_observe(ctx, p, &(struct filter_rule){ .syscall = "creat" },
		    e) == -1 || filter_observe(ctx, p,
		    &(struct filter_rule){ .syscall = "openat2" }, e) == -1)
			return (-1);
	}
	if ((flags & FILTER_NOTIFY) && (flags & FILTER_OBSERVE_CONNECT) &&
	    filter_observe(ctx, p, &(struct filter_rule){ .syscall = "connect" },
	    e) == -1)
		return (-1);
	return (filter_export(ctx, f, e));
}

int
filter_compile_cached(const struct profile *p, unsigned flags, struct filter *f,
    bool *cached, struct merr *e)
{
	const struct scmp_version	*v = seccomp_version();
	uint8_t				 key[SHA256_LEN];
	char				 lib[64];
	unsigned			 api;
	bool				 keyed;

	*cached = false;
	/* What libseccomp found the kernel can do (a few seccomp(2) probes,
	 * made once) is part of the key: where the kernel, or a filter above
	 * moat, allows less, the program is compiled, and the compile says
	 * what is missing. */
	api = seccomp_api_get();
	snprintf(lib, sizeof lib, "libseccomp %u.%u.%u api %u", v != NULL ? v->major : 0,
	    v != NULL ? v->minor : 0, v != NULL ? v->micro : 0, api);
	keyed = filter_cache_key(p, flags, lib, key) == 0;
	if (keyed && filter_cache_load(key, flags, f) == 0) {
		*cached = true;
		return (0);
	}
	if (filter_compile(p, flags, f, e) == -1)
		return (-1);
	if (keyed)
		filter_cache_store(key, f);
	return (0);
}

bool
filter_observed(const struct profile *p, const char *name)
{
	return (p == NULL || !strv_contains(&p->seccomp_deny, name));
}

int
filter_install(const struct filter *f, int *listener)
{
	unsigned long	flags = 0;
	long		rc;

	if (listener != NULL)
		*listener = -1;
	if (f->prog.filter == NULL || f->prog.len == 0) {
		errno = EINVAL;
		return (-1);
	}
	if (f->flags & FILTER_NOTIFY)
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &f->prog);
	if (rc == -1)
		return (-1);
	if (f->flags & FILTER_NOTIFY) {
		if (listener != NULL)
			*listener = (int)rc;
		else
			close((int)rc);	/* notifications then answer ENOSYS */
	}
	return (0);
}

void
filter_release(struct filter *f)
{
	if (f == NULL)
		return;
	free(f->prog.filter);
	f->prog.filter = NULL;
	f->prog.len = 0;
}

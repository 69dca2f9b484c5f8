#!/bin/bash
# bench/meter.sh: what the meter costs. A sampler at HZ (default 10) runs in
# the poll loop for SECS (default 30) over a tree of 20 processes (one
# spinning, 19 sleeping); the sampler's own CPU time comes from
# getrusage(RUSAGE_SELF) and is printed as % of one core. Both sources are
# measured: /proc (the run shares our pid namespace here, so every host
# process is read to find the tree: the worst case) and, as root, the
# cgroup.
#
# usage: bench/meter.sh [BUILDDIR] [HZ] [SECS]   (BUILDDIR has libmoat.a)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${MOAT_BUILDDIR:-$src/build}}
hz=${2:-10}
secs=${3:-30}
[ -f "$build/libmoat.a" ] && [ -f "$build/config.h" ] || {
	echo "meter.sh: no libmoat.a/config.h in $build (give the build dir)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/bench.c" <<'EOF'
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/cg.h"
#include "base/loop.h"
#include "sandbox/meter.h"
#include "base/util.h"

static unsigned long	nsamples;

static void
cb(void *arg, const struct meter_sample *s)
{
	(void)arg;
	(void)s;
	nsamples++;
}

static double
tv(struct timeval t)
{
	return ((double)t.tv_sec + (double)t.tv_usec / 1e6);
}

int
main(int argc, char **argv)
{
	double			 hz = atof(argv[1]), secs = atof(argv[2]), t0, end;
	const char		*mode = argv[3];
	struct merr		 e;
	struct loop		*l;
	struct meter		*m;
	struct meter_summary	 sm;
	struct cg		*cg = NULL;
	struct limits		 lim;
	struct rusage		 r0, r1;
	char			 id[64];
	pid_t			 init;
	int			 i, p[2];

	if (pipe(p) == -1)
		return (1);
	if ((init = fork()) == 0) {
		char	c;

		setpgid(0, 0);	/* the whole tree dies with one kill(-init) */
		if (read(p[0], &c, 1) != 1)
			_exit(1);
		for (i = 0; i < 19; i++)
			if (fork() == 0) {
				if (i == 0)	/* one busy process, 18 idle */
					for (;;)
						;
				pause();
				_exit(0);
			}
		pause();
		_exit(0);
	}
	if (strcmp(mode, "cgroup") == 0) {
		memset(&lim, 0, sizeof lim);
		snprintf(id, sizeof id, "bench-%ld-%ld", (long)getpid(), (long)time(NULL));
		if ((cg = cg_create(id, &lim, &e)) == NULL || cg_mode(cg) == CG_NONE) {
			printf("cgroup: not available (%s)\n", cg ? cg_describe(cg) : e.msg);
			kill(init, SIGKILL);
			cg_destroy(cg, &e);
			return (0);
		}
		cg_attach(cg, init, &e);
	}
	if (write(p[1], "x", 1) != 1)
		return (1);
	usleep(300000);
	l = loop_new(&e);
	getrusage(RUSAGE_SELF, &r0);
	t0 = now_mono();
	if ((m = meter_start(l, hz, cg, init, cb, NULL, &e)) == NULL) {
		fprintf(stderr, "%s\n", e.msg);
		return (1);
	}
	end = t0 + secs;
	while (now_mono() < end)
		loop_once(l, (int)((end - now_mono()) * 1000) + 1, &e);
	meter_stop(m, &sm);
	getrusage(RUSAGE_SELF, &r1);
	{
		double	cpu = tv(r1.ru_utime) - tv(r0.ru_utime) +
		    tv(r1.ru_stime) - tv(r0.ru_stime);
		double	wall = now_mono() - t0;

		printf("%-7s %lu samples at %.0f Hz over %.0f tasks in %.1f s: sampler "
		    "CPU %.3f s = %.3f%% of one core (%.2f ms per sample)\n",
		    sm.source, nsamples, hz, sm.procs_peak, wall, cpu,
		    100.0 * cpu / wall, 1000.0 * cpu / (double)(nsamples ? nsamples : 1));
	}
	kill(-init, SIGKILL);
	if (cg != NULL)
		cg_destroy(cg, &e);
	while (wait(NULL) > 0)
		;
	loop_free(l);
	return (0);
}
EOF
${CC:-cc} -O2 -o "$tmp/bench" -include "$build/config.h" -I"$src/src" \
	"$tmp/bench.c" "$build/libmoat.a" -lm
echo "host: $(ls -d /proc/[0-9]* | wc -l) processes, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$tmp/bench" "$hz" "$secs" procfs
if [ "$(id -u)" = 0 ]; then
	"$tmp/bench" "$hz" "$secs" cgroup
else
	echo "cgroup: not measured (not root)"
fi

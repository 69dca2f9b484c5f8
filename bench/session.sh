#!/bin/bash
# session.sh: what a session costs, side by side in one hyperfine run per
# user: bare fork+exec of /bin/true, bubblewrap's one-shot /bin/true (the
# mounts moat's isolated profile makes), `moat run -p isolated -- /bin/true`,
# and `moat session exec S -- /bin/true` from a new client process into a
# session of the isolated profile (each one a recorded run, as moat run's);
# then the same commands again in RUNS rounds of one each (interleaved:
# hyperfine's blocks let the machine's drift move the ratio to bubblewrap
# by 0.2 or more between runs), with session exec's ratio to bubblewrap of
# the medians and the median of the rounds' own ratios.
# Then the in-process path a front end that stays up takes (bench/
# session-inproc: run_sandbox into the session from one process, against
# fork+exec+wait), `moat session new` to ready (median of N), and N idle
# sessions at once:
# the memory (PSS) of each session's supervisor and init, and their CPU time
# over 5 s of idling. As root it runs everything as root and again as uid
# 65534. Results: bench/results/session-*.md and stdout.
#
# usage: bench/session.sh [-r RUNS] [-n SESSIONS] [-s SPACED_ROUNDS]
#   MOAT=path/to/moat (default ./moat), MOAT_PROFILE_DIR (default profiles/)
#   BASE=path/to/another/moat: its session exec too, into a session of its
#   own, in the same hyperfine run (a change measured before and after)
#   and the interleaved rounds, then both spaced 200 ms apart (as a user
#   types: nothing another command just warmed in the kernel helps);
#   BASE_INPROC=that build's bench/session-inproc: its client into its
#   session too (the client's side of a change)
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
runs=100
nsess=50
spaced=40
py=/usr/bin/python3
while [ $# -gt 0 ]; do
	case $1 in
	-r) runs=$2; shift 2 ;;
	-n) nsess=$2; shift 2 ;;
	-s) spaced=$2; shift 2 ;;
	-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "session.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
die() { echo "session.sh: $*" >&2; exit 2; }
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"
command -v bwrap >/dev/null || die "bwrap (bubblewrap) is not installed: nothing to compare with"
moat=${MOAT:-./moat}
case $moat in /*) ;; *) moat=$(cd "$(dirname "$moat")" 2>/dev/null && pwd)/$(basename "$moat") ;; esac
[ -x "$moat" ] || die "no moat binary at ${MOAT:-./moat}"
inproc=${INPROC:-$(dirname "$moat")/bench/session-inproc}
base=${BASE:-}
[ -z "$base" ] || [ -x "$base" ] || die "no moat binary at BASE=$base"
export MOAT_PROFILE_DIR=${MOAT_PROFILE_DIR:-$top/profiles}
results=$here/results
mkdir -p "$results"
scratch=$(mktemp -d /tmp/moat-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$scratch"
trap 'rm -rf "$scratch"' EXIT

bwrap_args=(bwrap --unshare-all --die-with-parent --new-session --ro-bind /usr /usr)
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$d" ]; then bwrap_args+=(--symlink "$(readlink "/$d")" "/$d")
	elif [ -d "/$d" ]; then bwrap_args+=(--ro-bind "/$d" "/$d"); fi
done
bwrap_args+=(--ro-bind-try /etc/ld.so.cache /etc/ld.so.cache --proc /proc --dev /dev --tmpfs /tmp)

bench() {
	local who=$1 ws home rt S
	local -a prefix=()
	ws=$scratch/$who-ws; home=$scratch/$who-home; rt=$scratch/$who-run
	mkdir -p "$ws" "$home" "$rt"
	chmod 700 "$rt"
	if [ "$who" = nobody ]; then
		chown 65534:65534 "$ws" "$home" "$rt"
		prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	fi
	local -a envv=(env HOME="$home" XDG_STATE_HOME="$home/state" XDG_DATA_HOME="$home/data"
	    XDG_RUNTIME_DIR="$rt" MOAT_PROFILE_DIR="$MOAT_PROFILE_DIR")
	run_as() { (cd "$ws" && "${envv[@]}" "${prefix[@]}" "$@"); }
	S=$(run_as "$moat" session new -p isolated </dev/null) || { echo "session.sh: [$who] session new failed" >&2; return; }
	local -a more=()
	if [ -n "$base" ]; then
		SB=$(run_as "$base" session new -p isolated </dev/null) || { echo "session.sh: [$who] BASE session new failed" >&2; return; }
		more=(-n "session exec (base)" "$base session exec $SB --db $home/other-audit.db -- /bin/true")
	fi
	echo "== $who: exec into $S against one-shot sandboxes, $runs runs each"
	run_as hyperfine -N --warmup 5 --runs "$runs" --style basic \
	    --export-markdown "$ws/session-$who.md" --export-json "$ws/session-$who.json" \
	    -n bare "/bin/true" \
	    -n bwrap "${bwrap_args[*]} /bin/true" \
	    -n "moat run" "$moat run -p isolated -- /bin/true" \
	    -n "session exec" "$moat session exec $S -- /bin/true" "${more[@]}" </dev/null >/dev/null ||
		echo "session.sh: hyperfine failed for $who" >&2
	# hyperfine runs one command's runs, then the next's: on a machine
	# whose load moves, the ratio to bubblewrap, and a before/after
	# comparison, are taken interleaved too (a round: each command once).
	run_as "$py" - "$runs" "$moat" "$S" "$base" "${SB:-}" "${bwrap_args[@]}" <<'PY' | sed "s/^/$who: /"
import os, shutil, statistics, sys, time
n, moat, s, base, sb = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
bwrap = [shutil.which(sys.argv[6])] + sys.argv[7:] + ["/bin/true"]
other = os.environ["HOME"] + "/other-audit.db"	# BASE's own log (its schema may be older)
cmds = [("bare", ["/bin/true"]), ("bwrap", bwrap),
        ("session exec", [moat, "session", "exec", s, "--", "/bin/true"])]
if base:
    cmds.append(("session exec (base)", [base, "session", "exec", sb, "--db", other,
                 "--", "/bin/true"]))
cmds.append(("moat run", [moat, "run", "-p", "isolated", "--", "/bin/true"]))
# BASE's own cache: two builds whose rules files differ rewrite one
# risk-rules cache file at every turn.
envs = {c: dict(os.environ, XDG_CACHE_HOME=os.environ["HOME"] + "/.cache-base")
        if c.endswith("(base)") else os.environ for c, _ in cmds}
null = os.open("/dev/null", os.O_RDWR)
t = {c: [] for c, _ in cmds}
for _ in range(n):
    for name, argv in cmds:
        t0 = time.monotonic()
        pid = os.posix_spawn(argv[0], argv, envs[name], file_actions=[
            (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1)])
        os.waitpid(pid, 0)
        t[name].append((time.monotonic() - t0) * 1000)
print("interleaved, %d rounds (median, q1, q3 ms): " % n + "; ".join(
    "%s %.2f (%.2f, %.2f)" % (c, statistics.median(v), *statistics.quantiles(v, n=4)[0:3:2])
    for c, v in t.items()))
for c in [c for c, _ in cmds if c.startswith("session exec")]:
    print("interleaved %s / bwrap: %.2f of the medians, %.2f the median of the "
          "rounds' own (target <= 0.6)" % (c, statistics.median(t[c]) /
          statistics.median(t["bwrap"]), statistics.median(
          [a / b for a, b in zip(t[c], t["bwrap"])])))
PY
	if [ -n "$base" ]; then
		# As a user types: a pause before each command, so that no
		# kernel state another command just warmed (a recent RCU grace
		# period, which a write to cgroup.procs waits for) helps it.
		run_as "$py" - "$spaced" "$moat" "$S" "$base" "$SB" <<'PY' | sed "s/^/$who: /"
import os, resource, statistics, sys, time
n, moat, s, base, sb = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
other = os.environ["HOME"] + "/other-audit.db"	# BASE's own log (its schema may be older)
cmds = [("session exec", [moat, "session", "exec", s, "--", "/bin/true"]),
        ("session exec (base)", [base, "session", "exec", sb, "--db", other, "--", "/bin/true"])]
envs = {c: dict(os.environ, XDG_CACHE_HOME=os.environ["HOME"] + "/.cache-base")
        if c.endswith("(base)") else os.environ for c, _ in cmds}
null = os.open("/dev/null", os.O_RDWR)
t = {c: [] for c, _ in cmds}
cpu = {c: 0.0 for c, _ in cmds}
for _ in range(n):
    for name, argv in cmds:
        time.sleep(0.2)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        pid = os.posix_spawn(argv[0], argv, envs[name], file_actions=[
            (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1)])
        os.waitpid(pid, 0)
        t[name].append((time.monotonic() - t0) * 1000)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[name] += (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000
print("spaced 200 ms, %d rounds (median, q1, q3 ms; client CPU ms per run): " % n + "; ".join(
    "%s %.2f (%.2f, %.2f) cpu %.2f" % (c, statistics.median(v), *statistics.quantiles(v, n=4)[0:3:2], cpu[c] / n)
    for c, v in t.items()))
PY
	fi
	cp "$ws/session-$who.md" "$results/" 2>/dev/null
	cp "$ws/session-$who.json" "$scratch/" 2>/dev/null
	# The in-process path (what a front end that stays up takes); with
	# BASE, the same client into BASE's session too, in turns: what
	# BASE's supervisor and init change of it.
	if [ -x "$inproc" ]; then
		run_as "$inproc" "$S" "$runs" </dev/null | sed "s/^/$who: /"
		if [ -n "$base" ]; then
			run_as "$inproc" "$SB" "$runs" </dev/null | sed "s/^/$who: (base's session) /"
			[ -x "${BASE_INPROC:-}" ] && run_as "$BASE_INPROC" "$SB" "$runs" </dev/null |
				sed "s/^/$who: (base's client and session) /"
			run_as "$inproc" "$S" "$runs" </dev/null | sed "s/^/$who: /"
		fi
	else
		echo "session.sh: $inproc not built (make bench/session-inproc): no in-process figure" >&2
	fi
	run_as "$moat" session kill "$S" >/dev/null </dev/null
	[ -z "$base" ] || run_as "$base" session kill "$SB" >/dev/null </dev/null

	# session new to ready, then N idle sessions at once.
	run_as "$py" - "$moat" "$nsess" "$who" <<'PY'
import os, statistics, subprocess, sys, time
moat, n, who = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ids, t = [], []
for i in range(n):
    t0 = time.monotonic()
    out = subprocess.run([moat, "session", "new", "-p", "isolated"], capture_output=True, text=True)
    t.append((time.monotonic() - t0) * 1000)
    if out.returncode != 0:
        print("session new failed after %d sessions: %s" % (i, out.stderr.strip()))
        break
    ids.append(out.stdout.split()[0])
print("%s: session new to ready: median %.2f ms, p90 %.2f ms (%d sessions)" % (
    who, statistics.median(t), sorted(t)[int(len(t) * 0.9) - 1], len(t)))
ls = subprocess.run([moat, "session", "ls", "--json"], capture_output=True, text=True).stdout
import json
rows = [json.loads(l) for l in ls.splitlines() if l.strip()]
pids = []
for r in rows:
    pids.append(r["pid"])
    try:
        for line in open("/proc/%d/task/%d/children" % (r["pid"], r["pid"])).read().split():
            pids.append(int(line))
    except OSError:
        pass
def rss(p):
    # PSS: shared library pages divided among the processes that map them.
    try:
        for line in open("/proc/%d/smaps_rollup" % p):
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(open("/proc/%d/statm" % p).read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
def cpu(p):
    try:
        f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0
c0 = sum(cpu(p) for p in pids)
time.sleep(5)
c1 = sum(cpu(p) for p in pids)
print("%s: %d sessions listed by ls; supervisor+init PSS: %.1f MiB in all, %.2f MiB each; CPU over 5 s idle: %.3f s in all" % (
    who, len(rows), sum(rss(p) for p in pids) / 2**20, sum(rss(p) for p in pids) / 2**20 / max(1, len(rows)), c1 - c0))
subprocess.run([moat, "session", "kill", "--all"], capture_output=True)
PY
}

if [ "$(id -u)" = 0 ]; then
	bench root
	command -v setpriv >/dev/null && bench nobody
else
	bench "$(id -un 2>/dev/null || id -u)"
fi

echo
"$py" - "$scratch"/session-*.json <<'PY'
import json, sys
print("%-10s %9s %9s %9s %13s %14s %14s %14s" % ("median ms", "bare", "bwrap", "moat run", "session exec", "exec/bwrap", "exec/bare", "exec (base)"))
cpus = []
for f in sys.argv[1:]:
    res = json.load(open(f))["results"]
    med = {r["command"]: r["median"] * 1000 for r in res}
    who = f.rsplit("session-", 1)[1][:-5]
    g = lambda k: med.get(k, float("nan"))
    print("%-10s %9.2f %9.2f %9.2f %13.2f %14.2f %14.2f %14.2f" % (who, g("bare"), g("bwrap"),
        g("moat run"), g("session exec"), g("session exec") / g("bwrap"), g("session exec") / g("bare"),
        g("session exec (base)")))
    # hyperfine's user and system time: the client's own CPU, not the
    # session's supervisor's or init's.
    cpus.append((who, {r["command"]: (r["user"] + r["system"]) * 1000 for r in res}))
print("%-10s %9s %9s %9s %13s %14s" % ("CPU ms", "bare", "bwrap", "moat run", "session exec", "exec (base)"))
for who, c in cpus:
    g = lambda k: c.get(k, float("nan"))
    print("%-10s %9.2f %9.2f %9.2f %13.2f %14.2f" % (who, g("bare"), g("bwrap"), g("moat run"),
        g("session exec"), g("session exec (base)")))
print("targets: session exec <= 2 ms and <= 0.6x bwrap; session new < 20 ms")
PY

#!/bin/bash
# startup.sh: how long a sandbox takes to start, compared in one hyperfine
# run per workload: bare exec, unshare(1) with the same namespaces, bubblewrap
# with the same namespaces and mounts, `moat run -p isolated` (its memory
# limit, 25% of RAM, included), `moat run` with the default profile, and
# isolated with memory = 0; with -b, the isolated run of another moat build
# too (before/after a change, in the same run). Workloads:
# /bin/true and `python3 -c pass`. As root it runs everything twice: as root
# and as uid 65534 (setpriv). Results: bench/results/*.md; a summary with
# moat's median / bwrap's median (target <= 1.0, aim 0.8) goes to stdout, then what
# each step of moat's start took (MOAT_TRACE_TIMING=1: the supervisor's plan,
# seccomp program, cgroup and clone; init's root, network, placement and
# seal; opening the audit log, loading and applying the risk rules, the
# row's begin and end, closing the log), as medians over the same number of
# runs of /bin/true, in the order they end.
#
# usage: bench/startup.sh [-r RUNS] [-i ROUNDS] [-w WARMUP] [-b OTHER_MOAT] [--root-only]
#   -i: bwrap and each moat again in turn, ROUNDS rounds (default RUNS; 0:
#   none), each round's moat/bwrap taken on the same minute of the machine
#   MOAT=path/to/moat (default ./moat), MOAT_PROFILE_DIR (default profiles/)
#   TMPDIR: where the scratch directory, and so the default profile's
#   workspace, is made (default /tmp): the default profile creates and
#   removes a placeholder there per missing protected path, whose cost is
#   the file system's (bench/README: "The workspace's placeholders").
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
runs=50
interleave=
warmup=5
unpriv=yes
target=1.0
aim=0.8
py=/usr/bin/python3
base=

while [ $# -gt 0 ]; do
	case $1 in
	-r) runs=$2; shift 2 ;;
	-i) interleave=$2; shift 2 ;;
	-w) warmup=$2; shift 2 ;;
	-b) base=$2; shift 2 ;;
	--root-only) unpriv=no; shift ;;
	-h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "startup.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "startup.sh: $*" >&2; exit 2; }
interleave=${interleave:-$runs}
case $interleave in ''|*[!0-9]*) die "-i $interleave: a number of rounds (0: none)" ;; esac

command -v hyperfine >/dev/null ||
	die "hyperfine is not installed (apt-get install hyperfine): nothing to measure with"
[ -x "$py" ] || die "$py is missing: it runs the python workload and reads hyperfine's JSON"
moat=${MOAT:-./moat}
case $moat in /*) ;; *) moat=$(cd "$(dirname "$moat")" 2>/dev/null && pwd)/$(basename "$moat") ;; esac
[ -x "$moat" ] || die "no moat binary at ${MOAT:-./moat}: build it, or set MOAT=path/to/moat"
if [ -n "$base" ]; then
	case $base in /*) ;; *) base=$(cd "$(dirname "$base")" 2>/dev/null && pwd)/$(basename "$base") ;; esac
	[ -x "$base" ] || die "-b $base: no moat binary there"
fi
export MOAT_PROFILE_DIR=${MOAT_PROFILE_DIR:-$top/profiles}
have_bwrap=yes
if ! command -v bwrap >/dev/null; then
	have_bwrap=no
	echo "startup.sh: bwrap (bubblewrap) is not installed: comparing without it, no ratio" >&2
fi

results=$here/results
mkdir -p "$results" || die "cannot create $results"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/moat-bench.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"

# bubblewrap with what moat's isolated profile builds: all namespaces, /usr
# read-only with the merged-usr symlinks (or binds where they are real dirs),
# ld.so.cache from /etc, fresh /proc, a minimal /dev, tmpfs /tmp.
bwrap_args=(bwrap --unshare-all --die-with-parent --new-session --ro-bind /usr /usr)
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$d" ]; then
		bwrap_args+=(--symlink "$(readlink "/$d")" "/$d")
	elif [ -d "/$d" ]; then
		bwrap_args+=(--ro-bind "/$d" "/$d")
	fi
done
bwrap_args+=(--ro-bind-try /etc/ld.so.cache /etc/ld.so.cache --proc /proc --dev /dev --tmpfs /tmp)
# The isolated profile without its memory limit: what the default limit costs.
printf 'include = isolated\nmemory = 0\n' >"$scratch/nomem.conf"
chmod 644 "$scratch/nomem.conf"

# bench WHO: one hyperfine run per workload as WHO (root or nobody).
bench() {
	local who=$1 wl name cmd label ws home
	local -a prefix=() names=() cmds=()

	ws=$scratch/$who-ws; home=$scratch/$who-home
	mkdir -p "$ws" "$home"
	if [ "$who" = nobody ]; then
		chown 65534:65534 "$ws" "$home"
		prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	fi
	for wl in true python; do
		if [ "$wl" = true ]; then cmd=/bin/true; else cmd="$py -c pass"; fi
		names=(bare unshare bwrap moat moat-default moat-nomem)
		if [ "$who" = root ] && [ "$(id -u)" = 0 ]; then
			cmds=("$cmd" "unshare -mpniuCf --mount-proc $cmd")
		else
			cmds=("$cmd" "unshare -UrmpniuCf --mount-proc $cmd")
		fi
		cmds+=("${bwrap_args[*]} $cmd" "$moat run -p isolated -- $cmd"
		    "$moat run -- $cmd" "$moat run -p $scratch/nomem.conf -- $cmd")
		if [ -n "$base" ]; then
			names+=(moat-b)
			# Its own log: a build of another schema refuses this one's.
			cmds+=("$base run --db $home/other-audit.db -p isolated -- $cmd")
		fi
		# Each command must work once before it is timed; drop the ones that do not.
		local -a hf=()
		for i in "${!names[@]}"; do
			if [ "${names[$i]}" = bwrap ] && [ $have_bwrap = no ]; then continue; fi
			# shellcheck disable=SC2086
			if ! (cd "$ws" && env HOME="$home" XDG_STATE_HOME="$home/state" \
			    "${prefix[@]}" ${cmds[$i]}) >"$scratch/out" 2>&1 </dev/null; then
				echo "startup.sh: [$who/$wl] ${names[$i]} fails, not timed: ${cmds[$i]}" >&2
				sed 's/^/    /' "$scratch/out" | head -5 >&2
				continue
			fi
			hf+=(-n "${names[$i]}" "${cmds[$i]}")
		done
		label="$who-$wl"
		echo "== $label: $((${#hf[@]} / 3)) commands, $runs runs each, as $who"
		[ ${#hf[@]} -gt 0 ] || continue
		# hyperfine runs as WHO too, so nothing of the prefix is timed.
		(cd "$ws" && env HOME="$home" XDG_STATE_HOME="$home/state" "${prefix[@]}" \
		    hyperfine -N --warmup "$warmup" --runs "$runs" --style basic \
		    --export-markdown "$ws/$label.md" --export-json "$ws/$label.json" \
		    "${hf[@]}") </dev/null || echo "startup.sh: hyperfine failed for $label" >&2
		cp "$ws/$label.json" "$scratch/" 2>/dev/null
		cp "$ws/$label.md" "$results/" 2>/dev/null || true
		# hyperfine times one command's runs, then the next's: on a
		# machine whose speed drifts, the ratio is taken interleaved too,
		# bwrap and each moat in turn, round after round.
		[ "$interleave" -gt 0 ] && [ $have_bwrap = yes ] || continue
		(cd "$ws" && env HOME="$home" XDG_STATE_HOME="$home/state" "${prefix[@]}" \
		    "$py" - "$interleave" "$label" "${hf[@]}") </dev/null <<'PY'
import os, shlex, statistics as st, sys, time
n, label, hf = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
cmds = [(hf[i + 1], shlex.split(hf[i + 2])) for i in range(0, len(hf), 3)
        if hf[i + 1] == "bwrap" or hf[i + 1].startswith("moat")]
null = os.open("/dev/null", os.O_RDWR)
t = {name: [] for name, _ in cmds}
for _ in range(n):
    for name, argv in cmds:
        t0 = time.monotonic()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1),
            (os.POSIX_SPAWN_DUP2, null, 2)])
        os.waitpid(pid, 0)
        t[name].append((time.monotonic() - t0) * 1000)
b = t["bwrap"]
print("%s interleaved, %d rounds (median ms; /bwrap: of the medians, and the "
      "median of each round's): " % (label, n) + "; ".join(
      "%s %.2f" % (name, st.median(v)) + ("" if name == "bwrap" else " (%.2f, %.2f)" % (
          st.median(v) / st.median(b), st.median([x / y for x, y in zip(v, b)])))
      for name, v in t.items()))
PY
	done
}

if [ "$(id -u)" = 0 ]; then
	bench root
	if [ $unpriv = yes ]; then
		if command -v setpriv >/dev/null; then
			bench nobody
		else
			echo "startup.sh: setpriv missing: no unprivileged pass" >&2
		fi
	fi
else
	bench "$(id -un 2>/dev/null || id -u)"
fi

# The summary, from hyperfine's JSON (medians, in milliseconds).
echo
"$py" - "$results" "$target" "$aim" "$scratch"/*.json <<'PY'
import json, os, sys
results, target, aim, files = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
# root before the unprivileged user, /bin/true before python
files.sort(key=lambda f: (not os.path.basename(f).startswith("root-"), "python" in f))
cols = ["bare", "unshare", "bwrap", "moat", "moat-default", "moat-nomem", "moat-b"]
rows, cpus, verdicts = [], [], []
for f in files:
    if os.path.exists(f):
        res = json.load(open(f))["results"]
        rows.append((os.path.basename(f)[:-5], {r["command"]: r["median"] * 1000 for r in res}))
        cpus.append((os.path.basename(f)[:-5],
            {r["command"]: (r["user"] + r["system"]) * 1000 for r in res}))
cols = [c for c in cols if any(c in med for _, med in rows)]

def table(title, rows, ratio=True):
    print(title)
    print("%-14s" % "" + "".join("%15s" % c for c in cols))
    for label, med in rows:
        line = "%-14s" % label
        for c in cols:
            if c not in med:
                line += "%15s" % "-"
            elif ratio and c.startswith("moat") and "bwrap" in med:
                line += "%15s" % ("%.2f (%.2f)" % (med[c], med[c] / med["bwrap"]))
            else:
                line += "%15.2f" % med[c]
        print(line)

table("medians in ms; in brackets, the median over bwrap's", rows)
print()
# CPU time moves less with the machine's load than wall time does. It is
# what the timed process and the children it waited for used: moat's
# includes the command's, bwrap's does not (bwrap does not reap the
# sandbox's pid 1 itself), so no ratio to bwrap here.
table("CPU (user + system of what hyperfine waited for, means) in ms", cpus, False)
for label, med in rows:
    for c in ("moat", "moat-default"):
        if c in med and "bwrap" in med:
            verdicts.append((label, c, med[c] / med["bwrap"]))
print()
if not verdicts:
    print("no moat/bwrap ratio: one of them was not timed (see above)")
for label, c, r in verdicts:
    print("%-14s %-12s /bwrap = %.2f: target <= %.1f %s (aim %.1f)" % (label, c, r,
        target, "met" if r <= target else "MISSED", aim))
print("markdown tables: %s/*.md" % results)
PY

# The front end's own steps, from MOAT_TRACE_TIMING (moat run prints one
# line a step on stderr: its cost and when it ended after moat started).
echo
echo "== moat's start, step by step, /bin/true, $runs runs (medians, ms; \"ends at\" counts from cmd_run_exec)"
ws=$scratch/trace-ws; mkdir -p "$ws"
for i in $(seq "$runs"); do
	(cd "$ws" && env HOME="$scratch" XDG_STATE_HOME="$scratch/state" MOAT_TRACE_TIMING=1 \
	    "$moat" run -p isolated -- /bin/true 2>&1 >/dev/null </dev/null) | grep 'moat: timing:'
done | "$py" -c '
import collections, statistics, sys
cost, at, order = collections.defaultdict(list), collections.defaultdict(list), []
for line in sys.stdin:
    f = line.split()
    step = f[2]
    if step not in cost:
        order.append(step)
    cost[step].append(float(f[3]))
    at[step].append(float(f[6]))
print("%-14s %9s %9s %9s" % ("step", "median", "mean", "ends at"))
# In the order they end: the supervisor, init and the record thread interleave.
order.sort(key=lambda s: statistics.median(at[s]))
for s in order:
    print("%-14s %9.3f %9.3f %9.3f" % (s, statistics.median(cost[s]), statistics.mean(cost[s]),
        statistics.median(at[s])))
'

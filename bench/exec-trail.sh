#!/bin/bash
# exec-trail.sh: what the exec trail costs a build that starts many
# programs. One hyperfine run of a shell loop that execs /bin/true N times
# (default 1,000), four ways side by side: bare, bubblewrap (all namespaces,
# /usr read-only), moat run without the trail, moat run with exec-trail =
# yes (every execve read from the task's memory, let continue, scored and
# recorded in the audit log). With -s, a script of 200 short programs
# instead, each a different command line (tr, ls, grep, sed, wc, cat,
# basename, dirname with arguments: what a build's shell steps start).
# With -c, a C build: cc -c on FILES small C files one after the other
# (default 333; each is three execs, cc, cc1 and as, so about 1,000), what
# the target is about: a build whose programs do work of their own.
# The summary: each median, and what the trail adds over moat without it,
# per run and per exec (target: at most 10%).
#
# usage: bench/exec-trail.sh [-s | -c FILES] [-n EXECS] [-r RUNS] [-w WARMUP]
#   MOAT=path/to/moat (default ./moat), MOAT_PROFILE_DIR (default profiles/)
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
n=1000 runs=10 warmup=2 py=/usr/bin/python3 script=no

while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	-s) script=yes; shift ;;
	-c) script=cc; cfiles=$2; shift 2 ;;
	-r) runs=$2; shift 2 ;;
	-w) warmup=$2; shift 2 ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "exec-trail.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
die() { echo "exec-trail.sh: $*" >&2; exit 2; }
command -v hyperfine >/dev/null || die "hyperfine is not installed: nothing to measure with"
[ -x "$py" ] || die "$py is missing: it reads hyperfine's JSON"
moat=${MOAT:-./moat}
case $moat in /*) ;; *) moat=$(cd "$(dirname "$moat")" 2>/dev/null && pwd)/$(basename "$moat") ;; esac
[ -x "$moat" ] || die "no moat binary at ${MOAT:-./moat}: build it, or set MOAT=path/to/moat"
export MOAT_PROFILE_DIR=${MOAT_PROFILE_DIR:-$top/profiles}

scratch=$(mktemp -d /tmp/moat-bench.XXXXXX) || die "mktemp failed"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/ws" "$scratch/home" "$here/results"
export HOME=$scratch/home XDG_STATE_HOME=$scratch/state MOAT_DB=$scratch/audit.db
printf 'include = isolated\ntimeout = 0\nexec-trail = no\n' >"$scratch/off.conf"
printf 'include = isolated\ntimeout = 0\nexec-trail = yes\n' >"$scratch/on.conf"
loop="i=0; while [ \$i -lt $n ]; do /bin/true; i=\$((i+1)); done"
if [ "$script" = yes ]; then
	# 25 rounds of 8 programs, each round's arguments its own.
	n=200
	loop="i=0; while [ \$i -lt 25 ]; do echo r\$i | tr r R >/dev/null; ls -d /usr/bin/\$i* >/dev/null 2>&1; grep -c r\$i /etc/passwd >/dev/null; sed -n \$((i+1))p /etc/passwd >/dev/null; wc -c /etc/hostname >/dev/null; cat /etc/hostname >/dev/null; basename /a/\$i >/dev/null; dirname /a/\$i/b >/dev/null; i=\$((i+1)); done"
fi

if [ "$script" = cc ]; then
	command -v cc >/dev/null || die "-c: no cc to build with"
	# Each file a function of its own; the objects go to /tmp, which is
	# a tmpfs of its own under bubblewrap and moat alike.
	for i in $(seq "$cfiles"); do
		printf 'int f%d(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * %d; return s; }\n' \
		    "$i" "$i" >"$scratch/ws/f$i.c"
	done
	n=$((cfiles * 3))
	loop="for f in f*.c; do cc -c -O0 \$f -o /tmp/x.o || exit 1; done"
	# bubblewrap needs the sources (the workspace bound where it is) and
	# cc's link in /etc/alternatives.
	bwcwd=(--ro-bind "$scratch/ws" "$scratch/ws" --chdir "$scratch/ws")
	[ -d /etc/alternatives ] && bwcwd+=(--ro-bind /etc/alternatives /etc/alternatives)
fi

bwrap=(bwrap --unshare-all --die-with-parent --new-session --ro-bind /usr /usr)
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$d" ]; then bwrap+=(--symlink "$(readlink "/$d")" "/$d")
	elif [ -d "/$d" ]; then bwrap+=(--ro-bind "/$d" "/$d"); fi
done
bwrap+=(--proc /proc --dev /dev --tmpfs /tmp ${bwcwd[@]+"${bwcwd[@]}"})

hf=(-n bare "sh -c '$loop'")
if command -v bwrap >/dev/null && "${bwrap[@]}" /bin/true 2>/dev/null; then
	hf+=(-n bwrap "${bwrap[*]} sh -c '$loop'")
else
	echo "exec-trail.sh: bubblewrap is not usable here: compared without it" >&2
fi
hf+=(-n moat "$moat run -q -p $scratch/off.conf -- sh -c '$loop'"
    -n moat-trail "$moat run -q -p $scratch/on.conf -- sh -c '$loop'")
(cd "$scratch/ws" && "$moat" run -q -p "$scratch/on.conf" -- /bin/true) ||
	die "moat run with the trail fails here"
(cd "$scratch/ws" && hyperfine --warmup "$warmup" --runs "$runs" --style basic \
    --export-json "$scratch/r.json" \
    --export-markdown "$here/results/exec-trail$(case $script in yes) echo -script ;; cc) echo -cc ;; esac).md" \
    "${hf[@]}") </dev/null || die "hyperfine failed"
(cd "$scratch/ws" && "$moat" run -q -p "$scratch/on.conf" -- sh -c "$loop")
echo
"$py" - "$scratch/r.json" "$n" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
# CPU: user and system time of the whole tree (hyperfine's means), which a
# loaded machine moves far less than the wall time.
cpu = {k: (r["user"] + r["system"]) * 1000 for k, r in res.items()}
print("%-12s %10s %10s %10s" % ("", "median ms", "per exec us", "CPU ms"))
for k in ("bare", "bwrap", "moat", "moat-trail"):
    if k in res:
        m = res[k]["median"] * 1000
        print("%-12s %10.1f %10.1f %10.1f" % (k, m, m * 1000 / n, cpu[k]))
if "moat" in res and "moat-trail" in res:
    a, b = res["moat"]["median"], res["moat-trail"]["median"]
    print("\nthe trail adds %.1f%% (%.1f us per exec) to %d execs under moat: target <= 10%% %s"
          % ((b / a - 1) * 100, (b - a) * 1e6 / n, n, "met" if b / a <= 1.10 else "MISSED"))
    ca, cb = cpu["moat"], cpu["moat-trail"]
    print("in CPU time of the whole tree: %.1f%% (%.1f us per exec)"
          % ((cb / ca - 1) * 100, (cb - ca) * 1000 / n))
PY

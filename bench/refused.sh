#!/bin/bash
# refused.sh: what recording refused writes costs (record-refused: every
# open for writing goes through seccomp user notification to the
# supervisor and back). One hyperfine run, side by side: a "build" that
# opens 10,000 files for writing in its workspace, bare, under bubblewrap
# (the workspace bound read-write), under moat with the default profile
# (record-refused = yes) and with record-refused = no. As root it runs the
# same as uid 65534 too.
#
# usage: bench/refused.sh [-r RUNS] [-w WARMUP] [-n FILES] [--root-only]
#   MOAT=path/to/moat (default ./moat), MOAT_PROFILE_DIR (default profiles/)
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
runs=10 warmup=2 files=10000 unpriv=yes py=/usr/bin/python3

while [ $# -gt 0 ]; do
	case $1 in
	-r) runs=$2; shift 2 ;;
	-w) warmup=$2; shift 2 ;;
	-n) files=$2; shift 2 ;;
	--root-only) unpriv=no; shift ;;
	-h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "refused.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
die() { echo "refused.sh: $*" >&2; exit 2; }
command -v hyperfine >/dev/null || die "hyperfine is not installed (apt-get install hyperfine)"
[ -x "$py" ] || die "$py is missing: it is the workload"
moat=${MOAT:-./moat}
case $moat in /*) ;; *) moat=$(cd "$(dirname "$moat")" 2>/dev/null && pwd)/$(basename "$moat") ;; esac
[ -x "$moat" ] || die "no moat binary at ${MOAT:-./moat}: build it, or set MOAT=path/to/moat"
export MOAT_PROFILE_DIR=${MOAT_PROFILE_DIR:-$top/profiles}
scratch=$(mktemp -d /tmp/moat-bench.XXXXXX) || die "mktemp failed"
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"
printf 'include = default\nrecord-refused = no\n' >"$scratch/norec.conf"
chmod 644 "$scratch/norec.conf"
build="$py -c 'import os; os.makedirs(\"out\", exist_ok=True)
for i in range($files): open(\"out/%d.o\" % i, \"w\").close()'"

bench() {
	local who=$1 ws=$scratch/$1-ws home=$scratch/$1-home
	local -a prefix=() hf=()
	mkdir -p "$ws" "$home"
	if [ "$who" = nobody ]; then
		chown 65534:65534 "$ws" "$home"
		prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	fi
	hf=(-n bare "$build")
	if command -v bwrap >/dev/null; then
		hf+=(-n bwrap "bwrap --unshare-all --die-with-parent --ro-bind / / --proc /proc \
--dev /dev --tmpfs /tmp --bind $ws $ws --chdir $ws $build")
	fi
	hf+=(-n moat "$moat run -- $build" -n moat-norecord "$moat run -p $scratch/norec.conf -- $build")
	echo "== $who: $files files opened for writing, $runs runs each"
	(cd "$ws" && env HOME="$home" XDG_STATE_HOME="$home/state" XDG_DATA_HOME="$home/data" \
	    "${prefix[@]}" hyperfine --warmup "$warmup" --runs "$runs" --style basic \
	    --export-json "$ws/r.json" "${hf[@]}") </dev/null || echo "refused.sh: hyperfine failed" >&2
	"$py" - "$ws/r.json" "$files" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
print("medians (ms): " + ", ".join("%s %.1f" % kv for kv in r.items()))
if "moat" in r and "moat-norecord" in r:
    d = r["moat"] - r["moat-norecord"]
    print("recording refused writes: %+.1f ms for %d opens, %.1f us an open" % (d, n, d * 1000 / n))
PY
}

if [ "$(id -u)" = 0 ]; then
	bench root
	if [ $unpriv = yes ] && command -v setpriv >/dev/null; then bench nobody; fi
else
	bench "$(id -un 2>/dev/null || id -u)"
fi

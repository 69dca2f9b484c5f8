#!/bin/bash
# review.sh: what moat diff and moat apply cost for an overlay run that
# changed N files (default 10000), side by side with the bare tools on the
# same trees: diff -ruN (and diff -rq) for moat diff, cp -a of the changed
# files for moat apply.
#
#   MOAT=./moat bench/review.sh [-n FILES] [-r RUNS]
#
# moat diff is timed with hyperfine, next to diff(1) on a plain copy of the
# changed tree. An apply can happen once per run (after it the workspace
# matches, and a workspace rebuilt for another try is newer than the run, a
# conflict), so each apply is one timed try on a fresh run, with cp -a of
# the layer onto a copy of the workspace timed the same way.
set -eu
MOAT=${MOAT:-./moat}
N=10000 RUNS=5
while getopts n:r: o; do
	case $o in
	n) N=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	*) echo "usage: $0 [-n FILES] [-r RUNS]" >&2; exit 2 ;;
	esac
done
command -v hyperfine >/dev/null || { echo "bench/review.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
MOAT=$(cd "$(dirname "$MOAT")" && pwd)/$(basename "$MOAT")
D=$(mktemp -d "${TMPDIR:-/tmp}/moat-bench-review.XXXXXX")
trap 'rm -rf "$D"' EXIT
export XDG_STATE_HOME="$D/state" XDG_DATA_HOME="$D/data" MOAT_DB="$D/audit.db"

# N text files of 20 lines in directories of 1000, plus a plain copy that
# gets the same edit as the sandboxed run makes.
mkdir -p "$D/ws"
(cd "$D/ws" && python3 - "$N" <<'EOF'
import os, sys
n = int(sys.argv[1])
for i in range(n):
    d = "d%03d" % (i // 1000)
    os.makedirs(d, exist_ok=True)
    with open("%s/f%05d.txt" % (d, i), "w") as f:
        f.write("".join("line %d of file %d\n" % (k, i) for k in range(20)))
EOF
)
sleep 0.05	# the files are older than the run: no conflict
EDIT='find . -name "*.txt" -exec sed -i "s/^line 7 /LINE 7 /" {} +'
cp -a "$D/ws" "$D/plain"
(cd "$D/plain" && sh -c "$EDIT")

one_run() { # one_run: an overlay run that edits every file; prints its run id
	(cd "$D/ws" && "$MOAT" run --review -- sh -c "$EDIT; echo \$MOAT_RUN_ID >&2" \
	    </dev/null 2>&1 >/dev/null | tail -1)
}
ms() { python3 -c 'import sys; print("%.0f" % ((float(sys.argv[2]) - float(sys.argv[1])) * 1000))' "$@"; }

t0=$(date +%s.%N); id=$(one_run); t1=$(date +%s.%N)
echo "overlay run editing $N files: $(ms "$t0" "$t1") ms (run $id)"
n=$("$MOAT" diff "$id" --name-only | wc -l)
echo "moat diff --name-only lists $n paths"

hyperfine -N -i --warmup 1 --runs "$RUNS" --export-markdown "$D/diff.md" \
	-n "diff -rq (bare)" "diff -rq $D/ws $D/plain" \
	-n "moat diff --name-only" "$MOAT diff $id --name-only" \
	-n "diff -ruN (bare)" "diff -ruN $D/ws $D/plain" \
	-n "moat diff" "$MOAT diff $id" \
	-n "moat diff --stat" "$MOAT diff $id --stat" || true
cat "$D/diff.md"

# Apply: one try each on fresh state.
rm -rf "$D/cp" && cp -a "$D/ws" "$D/cp"
up="$XDG_STATE_HOME/moat/runs/$id/upper"
t0=$(date +%s.%N); cp -a "$up/." "$D/cp/"; t1=$(date +%s.%N)
cpms=$(ms "$t0" "$t1")
t0=$(date +%s.%N); "$MOAT" apply "$id" >/dev/null; t1=$(date +%s.%N)
apms=$(ms "$t0" "$t1")
bad=$(diff -rq "$D/ws" "$D/plain" | wc -l)
echo
echo "| apply of $N modified files | ms |"
echo "|---|---|"
echo "| cp -a of the layer (bare, placeholders included) | $cpms |"
echo "| moat apply (conflict check, audit row, an event per path) | $apms |"
echo "after moat apply the workspace differs from the plain copy in $bad paths"

#!/bin/bash
# bench/audit.sh: the audit log at scale. Fills a log with N synthetic runs
# (default 100,000) through the real API (tests/audit-fill: begin, events,
# samples, output, end, chained), then times "moat audit list" (the default
# page and with filters) and "moat audit stats" with hyperfine, and the cost
# of begin and end per run on the full log with normal durability.
#
#   bench/audit.sh [BUILDDIR] [N]        (run from the source tree)
set -eu
B=${1:-build}
N=${2:-100000}
MOAT=$(cd "$B" && pwd)/moat
FILL=$(cd "$B" && pwd)/tests/audit-fill
command -v hyperfine >/dev/null || { echo "bench/audit.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
[ -x "$FILL" ] || { echo "bench/audit.sh: build $FILL first (make)" >&2; exit 1; }

D=$(mktemp -d "${TMPDIR:-/tmp}/moat-bench-audit.XXXXXX")
trap 'rm -rf "$D"' EXIT
DB=$D/audit.db
export MOAT_DB=$DB

echo "== filling $N runs (the API; synchronous=OFF for this connection only)"
start=$(date +%s.%N)
"$FILL" --db "$DB" -n "$N" --days 365 --fast --time
end=$(date +%s.%N)
printf 'filled in %.1f s; file %s\n' "$(echo "$end - $start" | bc)" "$(du -h "$DB" | cut -f1)"

echo
echo "== begin and end per run, on the full log, default durability (WAL, synchronous=NORMAL)"
"$FILL" --db "$DB" -n 1000 --days 0.01 --time

echo
echo "== moat audit at $N runs"
hyperfine -N --warmup 3 --runs 30 --export-markdown "$D/hf.md" \
	"$MOAT audit list" \
	"$MOAT audit stats" \
	"$MOAT audit list --profile python --min-risk 80" \
	"$MOAT audit list --since 7d --status done" \
	"$MOAT audit list --grep curl" \
	"$MOAT audit stats --since 30d" \
	"$MOAT audit show 5000"
cat "$D/hf.md"

echo
echo "== moat audit verify (walks and rehashes every row)"
hyperfine -N --runs 3 "$MOAT audit verify"

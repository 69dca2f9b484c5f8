#!/bin/bash
# bench/scale.sh: costs that grow with the input. A run with N arguments
# (the audit row's argv and command line), and a profile with M protect
# lines (parsed by moat profiles check; planned and mounted by moat run, one
# read-only placeholder per missing path), and a bind workspace of M files
# scanned for the run's changes (workspace-changes). Prints each with
# hyperfine beside
# bare fork+exec of the same command, so a cost that grows faster than the
# input shows.
#
#   bench/scale.sh [BUILDDIR] [N] [M]     (run from the source tree; defaults
#                                          build, 100000, 10000)
set -eu
B=${1:-build}
N=${2:-100000}
M=${3:-10000}
MOAT=$(cd "$B" && pwd)/moat
command -v hyperfine >/dev/null || { echo "bench/scale.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

D=$(mktemp -d "${TMPDIR:-/tmp}/moat-bench-scale.XXXXXX")
trap 'rm -rf "$D"' EXIT
export MOAT_DB=$D/audit.db
mkdir "$D/ws"
cd "$D/ws"
seq "$N" >"$D/args"
{ echo 'include = default'; for i in $(seq "$M"); do echo "protect = .p$i"; done; } >"$D/protect.conf"
{ echo 'include = default'; for i in $(seq $((M / 10))); do echo "protect = .p$i"; done; } >"$D/protect10.conf"

echo "== $N arguments: bare, and moat run (argv and command line recorded)"
hyperfine -N --warmup 1 --runs 5 \
	"xargs -s 1000000 -a $D/args sh -c 'exit 0' sh" \
	"xargs -s 1000000 -a $D/args $MOAT run -- sh -c 'exit 0' sh"

echo
echo "== protect lines: moat profiles check, $((M / 10)) and $M lines"
hyperfine -N --warmup 1 --runs 10 \
	"$MOAT profiles check $D/protect10.conf" \
	"$MOAT profiles check $D/protect.conf"

echo
echo "== protect lines: moat run -- true, $((M / 10)) and $M lines (the kernel's share is the mounts)"
hyperfine -N --warmup 1 --runs 3 \
	"$MOAT run -p $D/protect10.conf -- true" \
	"$MOAT run -p $D/protect.conf -- true"

echo
echo "== a bind workspace of $M files: moat run -- true, without and with workspace-changes (a listing before the run, the scan after it)"
mkdir -p "$D/big/d"
for i in $(seq "$M"); do : >"$D/big/d/f$i"; done
{ echo 'include = default'; echo 'workspace-changes = yes'; } >"$D/wc.conf"
hyperfine -N --warmup 2 --runs 20 \
	"$MOAT run -w $D/big -- true" \
	"$MOAT run -w $D/big -p $D/wc.conf -- true"


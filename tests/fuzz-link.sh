#!/bin/bash
# fuzz-link.sh: every fuzz harness still builds against the sources
# tests/fuzz/run.sh names for it, and runs its seed corpus, built with the
# C compiler and a plain main (FUZZ_LINK_ONLY=1) instead of clang's
# libFuzzer, which make check does not need. A function moved to a file a
# harness does not build otherwise breaks it silently until someone fuzzes.
set -u
top=${MOAT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
out=$(mktemp -d "${TMPDIR:-/tmp}/moat-fuzz-link.XXXXXX") || { echo "1..0 # SKIP no temporary directory"; exit 0; }
trap 'rm -rf "$out"' EXIT
FUZZ_LINK_ONLY=1 sh "$top/tests/fuzz/run.sh" "$top" "$out" >"$out/run.log" 2>&1
rc=$?
n=0 fail=0
while IFS= read -r line; do
	case $line in
	fuzz-*": ok: "*)
		n=$((n + 1)); echo "ok $n - ${line%%: ok: *} builds without libFuzzer and runs its seeds (${line#*: ok: })" ;;
	fuzz-*": FAILED"*)
		n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $line"
		grep -B12 -F "$line" "$out/run.log" | sed 's/^/# /' | head -14 ;;
	esac
done <"$out/run.log"
if [ "$rc" = 77 ]; then
	echo "1..0 # SKIP no C compiler for the harnesses"
	exit 0
fi
if [ "$n" = 0 ]; then
	n=1; fail=1; echo "not ok 1 - tests/fuzz/run.sh built no harness (exit $rc)"
	sed 's/^/# /' "$out/run.log" | tail -20
elif [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
	n=$((n + 1)); fail=1; echo "not ok $n - tests/fuzz/run.sh exited $rc"
fi
echo "1..$n"
[ "$fail" = 0 ]

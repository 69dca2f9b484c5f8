#!/bin/bash
# run.sh: the mutation check. Each entry of tests/mutants/list changes one
# security-critical line; the suite must fail for every one (the mutant is
# "killed"). For each entry, in a scratch copy of the tree: apply the change
# (its text must occur exactly once), rebuild, run the entry's tests (or the
# whole suite when it names none), restore. A mutant the tests let through
# "survived": a promise that no test guards. `make check-mutants` runs it.
#
# Usage: run.sh [-k] [NAME...]    (-k keeps the scratch tree)
#        run.sh --fresh           (TAP: each entry's text to find occurs
#                                 exactly once in the tree, so that none
#                                 goes stale unseen; make check runs it)
# Environment: MUTANTS_LIST (default tests/mutants/list), TMPDIR.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
list=${MUTANTS_LIST:-$src/tests/mutants/list}
keep=no fresh=no
[ "${1:-}" = -k ] && { keep=yes; shift; }
[ "${1:-}" = --fresh ] && { fresh=yes; shift; }
only=("$@")

command -v python3 >/dev/null || { echo "run.sh: needs python3"; exit 2; }

# The list, as records: name, file, find, replace, why, tests (one per line,
# fields separated by \x1f).
records=$(python3 - "$list" <<'PY'
import sys
recs, cur = [], {}
def flush():
    global cur
    if cur:
        for k in ("name", "file", "find", "replace", "why"):
            if k not in cur:
                sys.exit("%s: entry %r has no %s" % (sys.argv[1], cur.get("name", "?"), k))
        recs.append(cur)
    cur = {}
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip("\n")
    if line.startswith("#"):
        continue
    if not line.strip():
        flush(); continue
    k, sep, v = line.partition(":")
    if not sep or k not in ("name", "file", "find", "replace", "why", "tests"):
        sys.exit("%s:%d: expected name|file|find|replace|why|tests: VALUE" % (sys.argv[1], n))
    v = v[1:] if v.startswith(" ") else v
    cur[k] = v.replace("\\t", "\t")
flush()
for r in recs:
    print("\x1f".join([r["name"], r["file"], r["find"], r["replace"], r["why"], r.get("tests", "")]))
PY
) || exit 2

if [ $fresh = yes ]; then
	n=0 bad=0
	while IFS=$'\x1f' read -r name file find replace why tests; do
		n=$((n + 1))
		c=$(python3 -c 'import sys; print(open(sys.argv[1]).read().count(sys.argv[2]))' \
		    "$src/$file" "$find" 2>/dev/null || echo missing)
		if [ "$c" = 1 ]; then
			echo "ok $n - mutant $name: its text occurs once in $file"
		else
			bad=$((bad + 1))
			echo "not ok $n - mutant $name: its text occurs ${c} times in $file (want 1): the entry is stale"
		fi
	done <<<"$records"
	echo "1..$n"
	[ $bad = 0 ]
	exit
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/moat-mutants.XXXXXX")
chmod 755 "$scratch"
[ $keep = yes ] || trap 'rm -rf "$scratch"' EXIT
echo "# scratch tree: $scratch"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 tar cf - 2>/dev/null) | (cd "$scratch" && tar xf -)
chmod -R a+rX "$scratch"
cd "$scratch" || exit 2
if ! { autoreconf -fi && ./configure && make -j2 && make -j2 check TESTS=; } >build.log 2>&1; then
	tail -30 build.log
	echo "run.sh: the unmutated tree does not build"
	exit 2
fi

apply() {	# apply FILE FIND REPLACE: exactly one occurrence, else exit 3
	python3 - "$@" <<'PY'
import sys
path, find, repl = sys.argv[1:4]
s = open(path).read()
n = s.count(find)
if n != 1:
    sys.exit("%s: the text to find occurs %d times (want 1): %s" % (path, n, find))
open(path, "w").write(s.replace(find, repl))
PY
}

killed=0 survived=0 stale=0 n=0
surv=()
while IFS=$'\x1f' read -r name file find replace why tests <&3; do
	if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx -- "$name"; then
		continue
	fi
	n=$((n + 1))
	cp -p "$file" "$file.orig"
	if ! msg=$(apply "$file" "$find" "$replace" 2>&1); then
		echo "STALE    $name: $msg"
		stale=$((stale + 1))
		mv "$file.orig" "$file"
		continue
	fi
	if ! make -j2 >"mut-$name.build" 2>&1 || ! make -j2 check TESTS= >>"mut-$name.build" 2>&1; then
		echo "STALE    $name: the mutant does not build (see mut-$name.build)"
		stale=$((stale + 1))
	else
		# shellcheck disable=SC2086
		if [ -n "$tests" ]; then
			make check TESTS="$tests" >"mut-$name.log" 2>&1
		else
			make -j2 check >"mut-$name.log" 2>&1
		fi
		if [ $? -ne 0 ]; then
			by=$(grep -E '^(FAIL|ERROR):' "mut-$name.log" | awk '{print $2}' | sort -u | tr '\n' ' ')
			echo "killed   $name (by ${by:-the suite})"
			killed=$((killed + 1))
		else
			echo "SURVIVED $name: $why"
			survived=$((survived + 1))
			surv+=("$name")
		fi
	fi
	mv "$file.orig" "$file"
	touch "$file"
done 3<<<"$records"
make -j2 >/dev/null 2>&1
echo "# $n mutants: $killed killed, $survived survived, $stale stale"
[ $survived -eq 0 ] && [ $stale -eq 0 ]

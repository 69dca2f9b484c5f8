#!/bin/bash
# cli-help.sh: every subcommand's --help (and -h) says what each of its
# flags and words does: every option and subcommand word in its usage line
# has a line of its own in the options table, and moat(1) documents each
# long option. No sandbox is built.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"

man="$MOAT_SRCDIR/doc/moat.1"
for c in shell run profiles doctor risk audit session diff apply discard mcp wrap; do
	run_moat "$c" --help
	is "moat $c --help exits 0" "$rc" 0
	like "moat $c --help starts with its usage line" "$out" "^usage: moat $c "
	usage=$(printf '%s\n' "$out" | head -1)
	table=$(printf '%s\n' "$out" | sed -n 's/^  \(.*[^ ]\)  *[^ ].*$/\1/p' | sed 's/   .*//')
	missing=""
	for f in $(printf '%s\n' "$usage" | grep -oE '(^|[[ |])--?[a-z][a-z-]*' | tr -d '[| ' | sort -u); do
		printf '%s\n' "$table" | grep -qE "(^|[ ,])$f([ ,=]|$)" || missing="$missing $f"
	done
	is "every flag in moat $c's usage has a line in its --help" "$missing" ""
	undocumented=""
	for f in $(printf '%s\n' "$table" | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		[ "$f" = --help ] && continue
		grep -q -- "$(printf '%s' "$f" | sed 's/-/\\\\-/g')" "$man" || undocumented="$undocumented $f"
	done
	is "every long option of moat $c --help is in moat(1)" "$undocumented" ""
	run_moat "$c" -h
	is "moat $c -h is the same text" "$out" "$(cd "$T/ws" && "$MOAT" "$c" --help)"
done
# A subcommand's words ask for help too, and what follows "--" is the
# command's own.
for sub in new ls exec cp snapshot pause resume ttl kill allow deny; do
	run_moat session "$sub" --help
	is "moat session $sub --help: exit 0 with the session usage, touching nothing" \
	    "$rc $(printf '%s\n' "$out" | head -1 | cut -c1-19) $err" "0 usage: moat session "
done
run_moat session exec no-such-session -- sh --help
is "moat session exec S -- CMD --help is the command's, not moat's" "$rc" 125
like "moat session exec S -- CMD --help: the session is looked for" "$err" "no-such-session"
(cd "$T/ws" && "$MOAT" --version) >"$T/version" 2>&1 </dev/null
is "moat --version exits 0" "$?" 0
is "moat --version prints one line that ends with a newline" \
    "$(wc -l <"$T/version") $(tail -c 1 "$T/version" | od -An -c | tr -d ' ')" '1 \n'
run_moat run --no-such-flag -- true
is "an unknown flag: exit 125" "$rc" 125
like "an unknown flag is named, with the usage" "$err" 'no-such-flag.*
usage: moat run'
done_testing

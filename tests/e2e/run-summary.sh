#!/bin/bash
# run-summary.sh: after a run, on a terminal, moat says in one or two lines
# on stderr what it refused (connections by host, system calls by name),
# the limits hit, the files changed, the final risk and the run id; the same
# is in --json. Not with --quiet, not with run-summary = no, not when stderr
# is a pipe. moat run and moat session exec both. The terminal is script(1)'s.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox

if ! command -v script >/dev/null; then
	skip_all "needs script(1) for a terminal"
fi
export MOAT_DB="$T/audit.db"

# on_tty ARGS...: moat ARGS on a terminal (script's pty); sets $tty, the
# lines moat and the command wrote there.
on_tty() {
	(cd "$T/ws" && script -qec "$(printf '%q ' "$MOAT" "$@")" /dev/null) \
	    >"$T/tty.out" 2>&1 </dev/null
	# script(1) echoes the end of its empty input as ^@.
	tty=$(tr -d '\r\000' <"$T/tty.out" | sed 's/\^@//g')
}
# has_line DESCRIPTION REGEX: a line of $tty matches REGEX (whole line).
has_line() {
	if printf '%s\n' "$tty" | grep -Eq -- "^$2\$"; then ok "$1"
	else not_ok "$1"; diag "got: '$tty'" "no line matches: $2"; fi
}
no_moat_line() {
	if printf '%s\n' "$tty" | grep -q '^moat: '; then not_ok "$1"; diag "got: '$tty'"
	else ok "$1"; fi
}
last_run_id() {
	"$MOAT" audit --db "$MOAT_DB" list --json --limit 1 | sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p'
}

# Denied system calls by name, with counts, and the exit status and risk.
on_tty run -- sh -c 'unshare -r true 2>/dev/null; unshare -r true 2>/dev/null; mount -t tmpfs none /tmp 2>/dev/null; exit 3'
rid=$(last_run_id)
has_line "on a terminal: the denied calls by name, with a count" "moat: denied system calls unshare x2, mount"
has_line "... then the exit status, the final risk with its band, and the run id to look at" "moat: exit 3, risk [0-9]+ \((low|medium|high|critical)\); run $rid \(moat audit show $rid\)"
risk=$(printf '%s\n' "$tty" | sed -n 's/^moat: exit 3, risk \([0-9]*\).*/\1/p')
is "... the risk shown is the one recorded" "$risk" \
    "$("$MOAT" audit --db "$MOAT_DB" list --json --limit 1 | sed -n 's/.*"risk":\([0-9]*\).*/\1/p')"
check "... the observed denials raised it" test "${risk:-0}" -ge 30
is "... two lines in all" "$(printf '%s\n' "$tty" | grep -c '^moat: ')" 2

# A run that nothing refused: one line.
on_tty run -- true
rid=$(last_run_id)
is "a clean run: one line" "$(printf '%s\n' "$tty" | grep '^moat: ')" \
    "moat: nothing refused; exit 0, risk 0 (low); run $rid (moat audit show $rid)"

# A limit hit: the timeout.
on_tty run --timeout 0.3 -- sleep 5
has_line "a limit hit is named" "moat: timeout limit hit"

# Files changed in an overlay workspace.
cat >"$T/ov.conf" <<EOF2
include = default
workspace = overlay
EOF2
on_tty run -p "$T/ov.conf" -- sh -c 'echo a >new1; echo b >new2'
has_line "files changed in the workspace are counted" "moat: 2 files changed"

# Refused connections by host (restricted: the proxy refuses an unlisted host).
if command -v curl >/dev/null; then
	cat >"$T/net.conf" <<EOF2
include = restricted
net-allow = allowed.test
EOF2
	on_tty run -p "$T/net.conf" -- sh -c 'curl -s -m 10 -o /dev/null http://not-listed.test/; curl -s -m 10 -o /dev/null http://not-listed.test/; curl -s -m 10 -o /dev/null http://other.test:8080/; exit 0'
	has_line "refused connections by host and port, with a count" "moat: refused connections to not-listed.test:80 x2, other.test:8080"
else
	skip "no curl: refused connections are not provoked"
fi

# --quiet, -q and the profile key turn it off; a pipe never has it.
on_tty run --quiet -- sh -c 'unshare -r true 2>/dev/null; exit 0'
no_moat_line "--quiet: no summary"
on_tty run -q -- true
no_moat_line "-q: no summary"
cat >"$T/quiet.conf" <<EOF2
include = default
run-summary = no
EOF2
on_tty run -p "$T/quiet.conf" -- sh -c 'unshare -r true 2>/dev/null; exit 0'
no_moat_line "run-summary = no: no summary"
run_moat run -- sh -c 'unshare -r true 2>/dev/null; exit 0'
is "stderr a pipe: nothing from moat" "$err" ""

# --json carries the same.
run_moat run --json -- sh -c 'unshare -r true 2>/dev/null; unshare -r true 2>/dev/null; exit 0'
rid=$(last_run_id)
if command -v python3 >/dev/null; then
	j=$(printf '%s\n' "$out" | tail -1 | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["run_id"], d["denied"], d["refused"], d["limit_hit"], d["files_changed"],
      type(d["risk"]).__name__, d["risk_band"] in ("low", "medium", "high", "critical"))' 2>&1)
	is "--json: run id, denied calls with counts, refusals, limit, files, risk" "$j" \
	    "$rid [{'syscall': 'unshare', 'count': 2}] [] None 0 int True"
else
	like "--json: the run id and the denied calls" "$out" \
	    "\"run_id\":\"$rid\".*\"denied\":\\[\\{\"syscall\":\"unshare\",\"count\":2\\}\\]"
fi

# moat session exec shares it.
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")
run_moat session new
S=$(printf '%s\n' "$out" | head -1 | awk '{ print $1 }')
if [ "$rc" != 0 ] || [ -z "$S" ]; then
	not_ok "a session starts: $err"
else
	on_tty session exec "$S" -- sh -c 'unshare -r true 2>/dev/null; exit 4'
	rid=$(last_run_id)
	has_line "session exec on a terminal: the denied call" "moat: denied system calls unshare"
	has_line "... and the exit status, risk and the run id" "moat: exit 4, risk [0-9]+ \([a-z]+\); run $rid .*"
	on_tty session exec -q "$S" -- sh -c 'unshare -r true 2>/dev/null; exit 0'
	no_moat_line "session exec -q: no summary"
	run_moat session exec "$S" -- true
	is "session exec into a pipe: nothing from moat" "$err" ""
	"$MOAT" session kill "$S" >/dev/null 2>&1
fi

done_testing

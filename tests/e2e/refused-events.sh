#!/bin/bash
# Refusals that used to leave no trace: a write to a protected path (refused
# by a read-only mount) and a connection attempt in an isolated sandbox are
# events of the run (seccomp notification that looks and lets the call go on:
# the kernel still refuses). Checked in what moat prints with -v, in --json,
# in the summary on a terminal, and in the audit log; what is allowed leaves
# no such event; record-refused = no turns it off; a call the profile denies
# by name stays denied.
. "$(dirname "$0")/libtest.sh"
require_sandbox
PY=/usr/bin/python3
export MOAT_DB="$T/audit.db"

jfield() { printf '%s\n' "$out" | grep '^{' | tail -1 | jq -c ".$1" 2>/dev/null; }
mkdir -p "$T/ws/.git/hooks"
ws=$(cd "$T/ws" && pwd -P)

# --- a protected write: refused by the kernel, recorded by moat
run_moat run -v --json -- sh -c 'echo x > .git/hooks/pre-commit; echo y >> .bashrc;
	echo ok > fine.txt; cd .git && echo z > ./../.git/hooks/post-merge; exit 0'
like "the kernel refused the hook write" "$err" 'cannot create \.git/hooks/pre-commit: Read-only file system'
check "the hook was not written" test ! -e "$T/ws/.git/hooks/pre-commit"
like "-v: the refused hook write is an event" "$err" \
    "file: write to $ws/\.git/hooks/pre-commit refused: protected \(\.git/hooks/\)"
like "-v: the refused .bashrc append too" "$err" "file: write to $ws/\.bashrc refused: protected \(\.bashrc\)"
like "-v: a path with ../ is folded to the protected one" "$err" \
    "file: write to $ws/\.git/hooks/post-merge refused"
unlike "an allowed write in the workspace is no refusal" "$err" 'fine\.txt refused'
is "--json: the refused writes by path" "$(jfield refused_writes)" \
    "[{\"path\":\"$ws/.git/hooks/pre-commit\",\"count\":1},{\"path\":\"$ws/.bashrc\",\"count\":1},{\"path\":\"$ws/.git/hooks/post-merge\",\"count\":1}]"
is "--json: a refused write is not a changed file" "$(jfield files_changed)" 0
id=$(jfield run_id | tr -d '"')
run_moat audit show "$id"
like "the audit log has the refused write" "$out" "\.git/hooks/pre-commit.*refused|refused.*\.git/hooks/pre-commit"

# --- a read-only workspace: every write in it
run_moat run -v -p isolated -- sh -c 'echo x > notes.txt; exit 0'
like "workspace = ro: the write is an event" "$err" \
    "file: write to $ws/notes\.txt refused: protected \(the read-only workspace\)"
run_moat run -v -p isolated -- sh -c 'echo x > /tmp/scratch; exit 0'
unlike "workspace = ro: a write to /tmp is no refusal" "$err" 'refused: protected'

# --- isolated: a connection off the loopback
run_moat run -v --json -- $PY -c '
import socket
for a in (("192.0.2.7", 443), ("::ffff:198.51.100.9", 80)):
    s = socket.socket(socket.AF_INET6 if ":" in a[0] else socket.AF_INET)
    try: s.connect(a)
    except OSError as e: print("refused", e.errno)
s = socket.socket()
try: s.connect(("127.0.0.1", 9))
except OSError as e: print("lo", e.errno)'
like "the kernel refused the connection (ENETUNREACH)" "$out" 'refused 101'
like "-v: the connection is an event" "$err" 'net: connect to 192\.0\.2\.7:443 refused: the network is isolated'
like "-v: an IPv6 one too" "$err" 'net: connect to \[::ffff:198\.51\.100\.9\]:80 refused: the network is isolated'
unlike "the sandbox's own loopback is no refusal" "$err" 'connect to 127\.0\.0\.1'
is "--json: refused destinations" "$(jfield refused)" \
    '[{"dest":"192.0.2.7:443","count":1},{"dest":"[::ffff:198.51.100.9]:80","count":1}]'

# A name lookup: the resolver of the host's resolv.conf, when it is not a
# loopback address (inside, loopback is the sandbox's own).
nsaddr=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2>/dev/null)
case $nsaddr in
""|127.*|::1) skip "a DNS lookup: the host's resolver is ${nsaddr:-none}, a loopback address here" ;;
*)	run_moat run -v -- $PY -c '
import socket
try: socket.getaddrinfo("example.org", 80)
except OSError as e: print("lookup failed")'
	like "a DNS lookup is a refused connection to the resolver, said to be one" "$err" \
	    "net: connect to \[?$nsaddr\]?:53 refused: the network is isolated \(a DNS lookup\)" ;;
esac

# --- on a terminal: the summary line says so
if command -v script >/dev/null; then
	out=$(cd "$T/ws" && script -qec "'$MOAT' run -- sh -c 'echo x > .git/hooks/pre-commit; exit 0'" /dev/null 2>&1)
	like "summary on a terminal: the refused write" "$out" "moat: refused writes to $ws/\.git/hooks/pre-commit"
else skip "no script(1): the terminal summary is not tested"; fi

# --- record-refused = no: the kernel refuses, nothing is recorded
printf 'include = default\nrecord-refused = no\n' >"$T/quiet.conf"
run_moat run -v --json -p "$T/quiet.conf" -- sh -c 'echo x > .git/hooks/pre-commit; exit 0'
like "record-refused = no: still refused" "$err" 'Read-only file system'
unlike "record-refused = no: no event" "$err" 'refused: protected'
is "record-refused = no: no refused writes in --json" "$(jfield refused_writes)" '[]'

# --- a call the profile denies by name stays denied (and is reported so)
printf 'include = default\nseccomp-deny = connect\n' >"$T/noconn.conf"
run_moat run -v -p "$T/noconn.conf" -- $PY -c '
import socket
try: socket.socket().connect(("192.0.2.7", 443))
except OSError as e: print("errno", e.errno)'
is "seccomp-deny = connect: EPERM, not observed" "$out" "errno 1"
like "seccomp-deny = connect: reported as denied" "$err" 'denied connect'

done_testing

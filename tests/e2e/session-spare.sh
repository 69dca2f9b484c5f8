#!/bin/bash
# session-spare.sh: a session's next command's process, forked ahead. While
# the session is idle its init holds one process ready (in the next
# command's cgroup where there is one), which the next command runs in,
# whatever its cwd, variables or terminal; session ls does not count it;
# a command of the session that kills it, stops it or leaves a signal
# pending on it does not stop the next command from starting; pause
# freezes it; nothing of init's is left open in it; the session's end
# takes it.
. "$(dirname "$0")/libtest.sh"
require_sandbox
tag=$$$RANDOM
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")

run_moat session new --name "spare$tag"
is "session new exits 0" "$rc" 0
S=${out%% *}
run_moat session ls --json
sv=$(printf '%s\n' "$out" | grep "\"$S\"" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
init=$(pgrep -P "$sv" 2>/dev/null | head -1)
[ -n "$init" ] || skip_all "no init found under the session's supervisor (pid '$sv')"

# The spare: init's child still named as init is (a command has exec'd).
spare() { pgrep -P "$init" -x moat 2>/dev/null | head -1; }
# wait_spare [NOT]: its host pid once there is one (other than NOT).
wait_spare() {
	local p
	for _ in $(seq 100); do
		p=$(spare)
		[ -n "$p" ] && [ "$p" != "${1:-}" ] && { echo "$p"; return 0; }
		sleep 0.05
	done
	return 1
}
inside() { awk '/^NSpid:/ { print $NF }' "/proc/$1/status" 2>/dev/null; }
gone() { for _ in $(seq 100); do [ -e "/proc/$1" ] || return 0; sleep 0.05; done; return 1; }

sp=$(wait_spare)
check "while idle, init holds the next command's process" test -n "$sp"
run_moat session ls --json
if is_root; then
	like "session ls does not count it among the session's processes" "$out" \
		"\"id\":\"$S\".*\"processes\":1,"
else
	skip "session ls's processes: an unprivileged supervisor cannot read init's pid namespace and counts none"
fi
ins=$(inside "$sp")
run_moat session exec "$S" -- sh -c 'echo $$'
is "the next command runs in it (its pid inside)" "$out" "$ins"

sp=$(wait_spare "$sp")
check "and a new one is forked once that command ended" test -n "$sp"
ins=$(inside "$sp")
run_moat session exec "$S" --cwd /tmp -e "SPARE_X=$tag" -- sh -c 'echo "$(pwd) $SPARE_X $$"'
is "a command's own cwd and variables, in the spare" "$out" "/tmp $tag $ins"

sp=$(wait_spare "$sp")
ins=$(inside "$sp")
run_moat session exec -t "$S" -- sh -c 'tty; echo $$'
out=$(printf '%s' "$out" | tr -d '\r')
like "a command with a terminal of the sandbox" "$out" "^/dev/pts/[0-9]+"
is "runs in it too" "${out##*$'\n'}" "$ins"

# A command of the session reaches the spare as it reaches any process of
# the session: a background process of its own signals every process it
# can (kill -1: all but itself and init) once the test says go, which is
# when the next spare is there.
bg_signal() { # bg_signal SIG: $sp is the spare it reached
	local prev
	prev=$(wait_spare)
	run_moat session exec "$S" -- sh -c "nohup sh -c 'while [ ! -e go$1$tag ]; do sleep 0.05; done; kill -$1 -1' >/dev/null 2>&1 & echo started"
	sp=$(wait_spare "$prev")
	touch "$T/ws/go$1$tag"
}

bg_signal KILL
check "a command's background process kills the spare" gone "$sp"
run_moat session exec "$S" -- echo still-starts
is "the next command still runs" "$out" "still-starts"
is "and exits 0" "$rc" 0
sp=$(wait_spare)
check "and a new spare comes after it" test -n "$sp"

bg_signal STOP
stopped() { for _ in $(seq 100); do grep -q '^State:.*T' "/proc/$1/status" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
check "a background process stops the spare" stopped "$sp"
ins=$(inside "$sp")
run_moat session exec "$S" -- sh -c 'echo $$'
is "the next command still runs in it (init continues it)" "$out" "$ins"

# A signal left pending on the spare (every signal waits there, blocked)
# is another process's, not the command's: it is dropped at the request.
bg_signal TERM
pending() { for _ in $(seq 100); do grep -q '^ShdPnd:.*4000$' "/proc/$1/status" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
check "a background process leaves SIGTERM pending on it" pending "$sp"
ins=$(inside "$sp")
run_moat session exec "$S" -- sh -c 'echo alive $$'
is "the next command is not killed by it" "$out" "alive $ins"
is "and exits 0" "$rc" 0

sp=$(wait_spare)
if is_root; then
	# Past stdio; a coverage build's processes also keep the build tree
	# open (src/base/cov.c), which is not init's.
	build=$(cd "$(dirname "$MOAT")" && pwd -P)
	fds=$(ls "/proc/$sp/fd" | awk '$1 > 2' | while read -r f; do
		[ "$(readlink "/proc/$sp/fd/$f")" = "$build" ] || echo "$f"; done)
	is "it holds nothing of init's: one descriptor past stdio" "$(printf '%s\n' $fds | grep -c .)" 1
	like "its end of the request's socket pair" "$(readlink "/proc/$sp/fd/$fds")" "^socket:"
else
	skip "the spare's descriptors: /proc/PID/fd of a process that is not dumpable is root's only"
fi

# Pause freezes it with the session (where a freezer is reachable).
can_freeze=no
if [ -w /sys/fs/cgroup/freezer ] || { [ -f /sys/fs/cgroup/cgroup.controllers ] &&
    [ -w "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)" ]; }; then
	can_freeze=yes
fi
frozen() {
	local f
	f=$(awk -F: '$2 == "freezer" { print $3 }' "/proc/$1/cgroup")
	if [ -n "$f" ]; then
		[ "$(cat "/sys/fs/cgroup/freezer$f/freezer.state")" = FROZEN ]
	else
		grep -q '^frozen 1' "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$1/cgroup")/cgroup.events"
	fi
}
if [ $can_freeze = yes ]; then
	run_moat session pause "$S"
	is "pause: 0" "$rc" 0
	check "pause freezes the spare with the session" frozen "$sp"
	run_moat session resume "$S"
	ins=$(inside "$sp")
	run_moat session exec "$S" -- sh -c 'echo $$'
	is "after resume the next command runs in it" "$out" "$ins"
else
	skip "pause freezes the spare: no cgroup freezer for $who here"
	skip "after resume the next command runs in it: no cgroup freezer for $who here"
fi

sp=$(wait_spare)
run_moat session kill "$S"
check "nothing of it is left after session kill" gone "$sp"

done_testing

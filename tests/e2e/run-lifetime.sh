#!/bin/bash
# No process outlives the run: normal exit, timeout, and moat killed with SIGKILL.
. "$(dirname "$0")/libtest.sh"
require_sandbox
tag=$$$RANDOM

alive() { pgrep -f "sleep $1" >/dev/null; }
gone_within() { # gone_within SECONDS PATTERN
	local i
	for i in $(seq $(( $1 * 10 ))); do alive "$2" || return 0; sleep 0.1; done
	return 1
}

sandbox sh -c "sleep 1${tag}1 & sleep 1${tag}2 & echo started"
is "a command that leaves background jobs exits" "$out" "started"
check "its background processes are gone" gone_within 3 "1${tag}1"
check "all of them" gone_within 1 "1${tag}2"

run_moat run --timeout 1 -- sh -c "sleep 2${tag}1 & while :; do :; done"
is "a spinning command is stopped by the timeout" "$rc" 124
check "its children are gone too" gone_within 3 "2${tag}1"

(cd "$T/ws" && exec "$MOAT" run -- sh -c "sleep 3${tag}1 & sleep 3${tag}2") </dev/null >/dev/null 2>&1 &
mpid=$!
for _ in $(seq 50); do alive "3${tag}2" && break; sleep 0.1; done
check "the sandboxed processes were running" alive "3${tag}2"
kill -KILL $mpid
wait $mpid 2>/dev/null
check "moat killed with SIGKILL takes the sandbox with it" gone_within 3 "3${tag}2"
check "background ones too" gone_within 1 "3${tag}1"

# A reader of moat's output that stops reading must not stop moat's clock:
# the timeout still fires (the command would otherwise go on, here to
# touch a file), and a slow reader still gets every byte.
rm -f "$T/ws/late"
rc=$( ( (cd "$T/ws" && "$MOAT" run --timeout 1 -- sh -c 'yes & sleep 2; touch late; wait') 2>/dev/null; echo $? >"$T/stall.rc") | sleep 4; cat "$T/stall.rc")
is "a stalled reader: the timeout still ends the run" "$rc" 124
check "a stalled reader: the command was stopped in time" test ! -e "$T/ws/late"
slow_reader() { sleep 1; md5sum; }
got=$(cd "$T/ws" && "$MOAT" run -- seq 300000 | slow_reader)
is "a slow reader gets all the output" "$got" "$(seq 300000 | md5sum)"

# The same with a terminal that stops taking output (^S in a tmux pane):
# the command's output and moat's meter wait or are dropped, the loop not.
if command -v tmux >/dev/null; then
	sock="$T/tmux.sock"
	rm -f "$T/ws/late" "$T/tty.rc"
	SHELL=/bin/sh tmux -f /dev/null -S "$sock" new-session -d -x 80 -y 20 \
		"cd '$T/ws' && '$MOAT' run --meter --timeout 1 -- sh -c 'sleep 0.5; yes & sleep 2.5; touch late' </dev/null; echo \$? >'$T/tty.rc'; sleep 30"
	cleanup_hooks+=("tmux -S '$sock' kill-server 2>/dev/null")
	sleep 0.2
	tmux -S "$sock" send-keys C-s
	sleep 4
	check "a stopped terminal: the command was stopped in time" test ! -e "$T/ws/late"
	tmux -S "$sock" send-keys C-q
	for _ in $(seq 50); do [ -s "$T/tty.rc" ] && break; sleep 0.1; done
	is "a stopped terminal: the timeout ended the run" "$(cat "$T/tty.rc" 2>/dev/null)" 124
	tmux -S "$sock" kill-server 2>/dev/null
else
	skip "no tmux"; skip "no tmux"
fi

# Keys sent faster than a command in raw mode reads them: what its terminal
# cannot take waits in moat, and the loop (the timeout) goes on.
cat >"$T/keys.py" <<'EOF'
import os, pty, select, subprocess, sys, time
m, s = pty.openpty()
p = subprocess.Popen([sys.argv[1], "run", "--timeout", "2", "--", "sh", "-c",
    "stty raw -echo; sleep 4; touch late"], stdin=s, stdout=s, stderr=s,
    start_new_session=True)
os.close(s)
os.set_blocking(m, False)
t0 = time.time()
while time.time() - t0 < 6 and p.poll() is None:
    r, w, _ = select.select([m], [m], [], 0.05)
    try:
        if m in r: os.read(m, 65536)
        if m in w: os.write(m, b"a" * 4096)
    except OSError:
        pass
print("rc=%s" % p.wait(timeout=10))
EOF
out=$(cd "$T/ws" && rm -f late && timeout 30 python3 "$T/keys.py" "$MOAT" 2>&1)
is "keys the command does not read: the timeout still ends the run" "$out" "rc=124"
check "keys the command does not read: the command was stopped in time" test ! -e "$T/ws/late"

done_testing

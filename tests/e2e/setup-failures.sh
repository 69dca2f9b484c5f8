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

done_testing

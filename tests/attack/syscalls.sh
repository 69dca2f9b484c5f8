#!/bin/bash
# syscalls.sh: syscall-level escapes must fail inside `moat run -p default`.
# tests/attack/probe (built by make check) is copied into the workspace and
# run in the sandbox once per attack; it prints "NAME: blocked errno=E" when
# the attack failed. Each test wants that exact line, so a probe that did not
# run at all (moat failed, exec failed) is a failure, never a pass.
. "$(dirname "$0")/../e2e/libtest.sh"

PROBE_SRC="${MOAT_BUILDDIR:-$(dirname "$MOAT")}/tests/attack/probe"
if [ ! -x "$PROBE_SRC" ]; then
	skip_all "$PROBE_SRC not built (make check builds it)"
fi
require_sandbox
cp "$PROBE_SRC" "$T/ws/probe"
chmod 755 "$T/ws/probe"

# The probe must run at all, or every "blocked" below would be meaningless.
sandbox ./probe sanity
if ! printf '%s' "$out" | grep -q '^sanity: ran'; then
	not_ok "the probe runs inside the sandbox (rc=$rc)"
	diag "stdout: $out" "stderr: $err"
	done_testing
fi
ok "the probe runs inside the sandbox"

# attack  expected errno
attacks=(
	"ptrace-init EPERM"
	"ptrace-parent EPERM"
	"ptrace-traceme EPERM"
	"process-vm-readv EPERM"
	"keyctl EPERM"
	"add-key EPERM"
	"bpf EPERM"
	"perf-event-open EPERM"
	"mount-tmpfs EPERM"
	"umount EPERM"
	"unshare-user EPERM"
	"clone-user EPERM"
	"clone3-user ENOSYS"
	"setns EPERM"
	"tiocsti EPERM"
	"tiocsti-high EPERM"
	"tioclinux EPERM"
	"af-packet EPERM"
	"raw-socket EPERM"
	"raw6-socket EPERM"
	"vsock EPERM"
	"netlink-audit EPERM"
	"io-uring EPERM"
	"userfaultfd EPERM"
	"open-by-handle EPERM"
	"kexec-load EPERM"
	"init-module EPERM"
	"reboot EPERM"
	"swapon EPERM"
	"clock EPERM"
	"personality EPERM"
	"x32 ENOSYS"
)
for a in "${attacks[@]}"; do
	set -- $a
	sandbox ./probe "$1"
	if [ "$rc" = 0 ] && [ "$out" = "$1: blocked errno=$2" ]; then
		ok "$1 is blocked ($2)"
	else
		not_ok "$1 is blocked ($2)"
		diag "rc=$rc" "stdout: $out" "stderr: $err"
	fi
done

# int 0x80, the i386 gate. Some hypervisors do not deliver it at all: the
# bare host faults with SIGSEGV before any syscall is made. First the control
# run on the host, then containment for what this machine can do: where the
# gate works, seccomp answers ENOSYS and reports the call as i386; where it
# does not, the sandbox must be no weaker (the call never runs).
{ (cd "$T/ws" && exec ./probe int80) >"$T/int80.out" 2>&1; } 2>/dev/null
int80_host=$?
sandbox ./probe int80
if grep -q '^int80: SUCCEEDED' "$T/int80.out"; then
	is "int80 is blocked (ENOSYS)" "$out" "int80: blocked errno=ENOSYS"
	run_moat run -v -p default -- ./probe int80
	like "an int 0x80 call is reported as i386" "$err" "denied i386:getpid"
else
	# The same fault as on the host (128+SIGSEGV passes through), or ENOSYS.
	if { [ "$rc" = "$int80_host" ] && [ "$rc" -gt 128 ]; } ||
	    [ "$out" = "int80: blocked errno=ENOSYS" ]; then
		ok "int80 never runs in the sandbox (the bare host faults too: rc=$int80_host; sandbox rc=$rc)"
	else
		not_ok "int80 never runs in the sandbox (the bare host faults too)"
		diag "rc=$rc" "stdout: $out" "stderr: $err"
	fi
	unlike "int80 did not succeed in the sandbox" "$out" "SUCCEEDED"
	skip "an int 0x80 call is reported as i386: the bare host does not deliver int 0x80 (rc=$int80_host)"
fi

sandbox ./probe capeff
is "no effective capabilities inside (CapEff)" "$out" "capeff: blocked CapEff=0000000000000000"
sandbox ./probe seccomp-mode
is "the command runs under a seccomp filter" "$out" "seccomp-mode: blocked Seccomp=2"

# Denied calls are reported to the supervisor (seccomp user notification).
run_moat run -v -p default -- ./probe keyctl
like "a denied keyctl is reported by moat run -v" "$err" "denied keyctl\("
run_moat run -v -p default -- ./probe tiocsti-high
like "TIOCSTI with high bits is reported as TIOCSTI" "$err" "denied ioctl\(0, TIOCSTI \[0x100005412\]\)"

# A tight loop of denials is answered every time but reported as a count.
run_moat run -v -p default -- /bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do ./probe keyctl >/dev/null; done; ./probe sanity'
n=$(printf '%s\n' "$err" | grep -c 'denied keyctl(')
like "a loop of 12 denied keyctl calls still runs to the end" "$out" "^sanity: ran"
if [ "$n" -ge 1 ] && [ "$n" -le 6 ] &&
    printf '%s' "$err" | grep -Eq 'denied keyctl [0-9]+ more times \(12 in all\)'; then
	ok "12 denied keyctl calls: $n single reports and one total"
else
	not_ok "12 denied keyctl calls: a few single reports and one total"
	diag "$err"
fi

# TIOCSTI with a real terminal: the characters must never reach the shell
# that reads the terminal after moat exits. script(1) gives us a pty; its
# stdin is a pipe that stays open so it sends no EOF meanwhile.
if command -v script >/dev/null; then
	o=$(cd "$T/ws" && sleep 4 | timeout 20 script -qec \
	    "\"$MOAT\" run -p default -- ./probe tiocsti; read -t 2 line; echo \"AFTER:[\$line]\"" \
	    /dev/null 2>&1 | tr -d '\r')
	like "TIOCSTI on a real terminal is blocked" "$o" "tiocsti: blocked errno=EPERM"
	like "nothing was typed into the host terminal" "$o" 'AFTER:\[\]'
	unlike "the injected command did not run" "$o" "^MOAT-INJECTED"
else
	skip "script(1) not installed: TIOCSTI on a real terminal"
fi

done_testing

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

# Each attack must be refused by seccomp, not by luck: many of these calls
# fail anyway without capabilities or in a nested namespace, so an errno alone
# proves nothing. The -v report ("seccomp: denied CALL(") comes from the
# supervisor answering the filter's notification: only the filter makes it.
# attack  expected-errno  report (a prefix of what -v prints; - for quiet calls)
attacks=(
	"ptrace-init EPERM ptrace(PTRACE_ATTACH,"
	"ptrace-parent EPERM ptrace(PTRACE_ATTACH,"
	"ptrace-traceme EPERM ptrace(PTRACE_TRACEME,"
	"process-vm-readv EPERM process_vm_readv("
	"keyctl EPERM keyctl("
	"add-key EPERM add_key("
	"bpf EPERM bpf("
	"perf-event-open EPERM perf_event_open("
	"mount-tmpfs EPERM mount("
	"umount EPERM umount2("
	"unshare-user EPERM unshare(CLONE_NEWUSER)"
	"clone-user EPERM clone(CLONE_NEWUSER"
	"clone3-user ENOSYS -"
	"setns EPERM setns("
	"tiocsti EPERM ioctl(0, TIOCSTI)"
	"tiocsti-high EPERM ioctl(0, TIOCSTI [0x100005412])"
	"tioclinux EPERM ioctl(0, TIOCLINUX)"
	"af-packet EPERM socket(AF_PACKET,"
	"raw-socket EPERM socket(AF_INET, SOCK_RAW,"
	"raw6-socket EPERM socket(AF_INET6, SOCK_RAW,"
	"vsock EPERM socket(AF_VSOCK,"
	"netlink-audit EPERM socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT)"
	"io-uring EPERM io_uring_setup("
	"userfaultfd EPERM userfaultfd("
	"open-by-handle EPERM open_by_handle_at("
	"kexec-load EPERM kexec_load("
	"init-module EPERM init_module("
	"reboot EPERM reboot("
	"swapon EPERM swapon("
	"clock EPERM clock_settime("
	"personality EPERM personality("
	"acct EPERM acct("
	"quotactl EPERM quotactl("
	"iopl EPERM iopl("
	"modify-ldt EPERM modify_ldt("
	"uselib EPERM uselib("
	"syslog EPERM syslog("
	"x32 ENOSYS x32:getpid("
)
# has_report TEXT LITERAL: does stderr hold "seccomp: denied LITERAL"?
has_report() { printf '%s\n' "$1" | grep -Fq -- "seccomp: denied $2"; }
for a in "${attacks[@]}"; do
	name=${a%% *}; rest=${a#* }; want=${rest%% *}; report=${rest#* }
	run_moat run -v -p default -- ./probe "$name"
	if [ "$rc" = 0 ] && [ "$out" = "$name: blocked errno=$want" ] &&
	    { [ "$report" = - ] || has_report "$err" "$report"; }; then
		ok "$name is blocked by seccomp ($want${report:+, reported as denied $report})"
	else
		not_ok "$name is blocked by seccomp ($want, reported as denied $report)"
		diag "rc=$rc" "stdout: $out" "stderr: $err"
	fi
done

# The same calls with their group taken out of the deny list (seccomp-allow):
# no report any more, so the refusal above was the group's. The outcome now is
# the kernel's (often still a refusal: no capability), and is only shown.
# group  attack  report
relaxed=(
	"@debug ptrace-traceme ptrace(PTRACE_TRACEME,"
	"@keyring keyctl keyctl("
	"@bpf bpf bpf("
	"@mount mount-tmpfs mount("
	"@userns unshare-user unshare(CLONE_NEWUSER)"
	"@tty-inject tiocsti ioctl(0, TIOCSTI)"
	"@raw-net af-packet socket(AF_PACKET,"
	"@socket-family vsock socket(AF_VSOCK,"
	"@netlink netlink-audit socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT)"
	"@io-uring io-uring io_uring_setup("
	"@userfaultfd userfaultfd userfaultfd("
	"@handle open-by-handle open_by_handle_at("
	"@kexec kexec-load kexec_load("
	"@module init-module init_module("
	"@reboot reboot reboot("
	"@swap swapon swapon("
	"@clock clock clock_settime("
	"@personality personality personality("
	"@acct acct acct("
	"@quota quotactl quotactl("
	"@raw-io iopl iopl("
	"@cpu-emulation modify-ldt modify_ldt("
	"@obsolete uselib uselib("
	"@syslog syslog syslog("
)
for r in "${relaxed[@]}"; do
	group=${r%% *}; rest=${r#* }; name=${rest%% *}; report=${rest#* }
	printf 'include = default\nseccomp-allow = %s\n' "$group" >"$T/relax.conf"
	run_moat run -v -p "$T/relax.conf" -- ./probe "$name"
	if printf '%s' "$out" | grep -q "^$name: " && ! has_report "$err" "$report"; then
		ok "with $group relaxed, $name reaches the kernel unreported (${out#"$name: "})"
	else
		not_ok "with $group relaxed, $name reaches the kernel unreported"
		diag "rc=$rc" "stdout: $out" "stderr: $err"
	fi
done
# clone3 is refused quietly (ENOSYS, so glibc falls back to clone): relaxed,
# the kernel answers it and the errno changes.
printf 'include = default\nseccomp-allow = @userns\n' >"$T/relax.conf"
run_moat run -p "$T/relax.conf" -- ./probe clone3-user
if printf '%s' "$out" | grep -q '^clone3-user: ' && [ "$out" != "clone3-user: blocked errno=ENOSYS" ]; then
	ok "with @userns relaxed, clone3 is answered by the kernel, not ENOSYS (${out#clone3-user: })"
else
	not_ok "with @userns relaxed, clone3 is answered by the kernel, not ENOSYS"
	diag "rc=$rc" "stdout: $out" "stderr: $err"
fi

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
# that reads the terminal after moat exits. ttydrive.py gives a pty; bash
# reads it after moat (sh's read has no -t), first as a control with a line
# really typed.
if command -v python3 >/dev/null && command -v bash >/dev/null; then
	drive_sti() {
		(cd "$T/ws" && python3 "$MOAT_SRCDIR/tests/e2e/ttydrive.py" --out "$T/sti.out" "$@") \
		    >/dev/null 2>"$T/sti.err"
		[ -s "$T/sti.err" ] && diag "$(cat "$T/sti.err")"
		tr -d '\r' <"$T/sti.out"
	}
	o=$(drive_sti 'wait:READING' 'send:typed\n' 'wait:AFTER' -- \
	    bash -c 'echo READING; read -t 5 line; echo "AFTER:[$line]"')
	like "the control: a line typed on the terminal reaches the shell reading after" "$o" 'AFTER:\[typed\]'
	o=$(drive_sti 'wait:AFTER' -- \
	    bash -c '"$0" run -v -p default -- ./probe tiocsti; read -t 1 line; echo "AFTER:[$line]"' "$MOAT")
	like "TIOCSTI on a real terminal is blocked" "$o" "tiocsti: blocked errno=EPERM"
	like "and the refusal on the terminal is seccomp's" "$o" \
	    "seccomp: denied ioctl\(0, TIOCSTI\)"
	like "nothing was typed into the host terminal" "$o" 'AFTER:\[\]'
	unlike "the injected command did not run" "$o" "^MOAT-INJECTED"
else
	skip "no python3 or bash for the terminal driver: TIOCSTI on a real terminal"
fi

done_testing

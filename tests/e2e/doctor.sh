# doctor.sh: "moat doctor" reports what this machine allows, as root and as
# uid 65534 (libtest's second pass), and its verdict flips when a probe fails
# for real (a user namespace whose user.max_user_namespaces is 0).
. "$(dirname "$0")/libtest.sh"

checks="kernel userns userns-clone max-userns apparmor-userns mount-ns pid-ns net-ns
ipc-ns uts-ns cgroup-ns cgroups cgroup-delegation memory seccomp seccomp-notify
net-transparent tls-intercept overlayfs pivot-root no-new-privs capabilities"

if is_root; then me="root"; else me="uid $test_uid"; fi

# The cgroup layout, found independently of moat: v2 when /sys/fs/cgroup is
# cgroup2, hybrid when v1 hierarchies and a cgroup2 mount coexist, else v1.
cg_mode() {
	local fstype v1 v2
	fstype=$(stat -fc %T /sys/fs/cgroup 2>/dev/null)
	v1=$(awk '$0 ~ / - cgroup / { n++ } END { print n + 0 }' /proc/self/mountinfo)
	v2=$(awk '$0 ~ / - cgroup2 / { n++ } END { print n + 0 }' /proc/self/mountinfo)
	if [ "$fstype" = cgroup2fs ]; then echo v2
	elif [ "$v1" -gt 0 ] && [ "$v2" -gt 0 ]; then echo hybrid
	elif [ "$v1" -gt 0 ]; then echo v1
	else echo none; fi
}

# status NAME: the status column of check NAME in $out.
status() {
	printf '%s\n' "$out" | awk -v n="$1" '$2 == n { print $1; exit }'
}

# --- the plain report
run_moat doctor
is "doctor exits 0: moat can sandbox here" "$rc" 0
for c in $checks; do
	like "check $c is reported with a status" "$out" "^(ok|warn|missing) +$c  "
done
like "verdict line names the user" "$out" "^verdict: moat can sandbox here as $me"
unlike "no check is missing" "$out" "^missing "
if is_root; then
	# spawn.c gives root a user namespace too, all ids mapped 1:1.
	like "userns: root gets a user namespace with every id mapped" "$out" \
	    "ok +userns +unshare\(CLONE_NEWUSER\) works; as root, moat maps every id 1:1"
else
	like "userns: this user's ids map into a new user namespace" "$out" \
	    "ok +userns +unshare\(CLONE_NEWUSER\) works, uid $test_uid and gid $(id -g) map to themselves"
fi
is "pivot-root: the new root was built" "$(status pivot-root)" ok
is "seccomp-notify: the listener answered a call" "$(status seccomp-notify)" ok
is "net-transparent: a child's socket can be taken" "$(status net-transparent)" ok
like "tls-intercept: a run's CA and a certificate can be made, the system's CAs are found" "$out" \
    "^ok +tls-intercept +OpenSSL [0-9.]+.*: a run's CA and a host's certificate are made; secrets' hosts are verified against [^ ]+ \\([1-9][0-9]* CAs; the certificates of /[^ ]* first, by name\\) and net-ca"
SSL_CERT_FILE=$T/no-such-bundle run_moat doctor
like "tls-intercept: without the system's CAs, a warning that says what follows and the fix" "$out" \
    "^warn +tls-intercept +.*the system's CA bundle $T/no-such-bundle cannot be read: a secret's host verifies only if its CA is among the certificates of /[^ ]* or net-ca names it
 +fix: install the system's CA certificates"
run_moat doctor

mode=$(cg_mode)
diag "cgroup layout here: $mode"
case $mode in
v1|hybrid)
	like "cgroups line says $mode" "$out" "ok +cgroups +$mode: v1 controllers [a-z ]*memory"
	# v1 hierarchies belong to root: the kernel refuses mkdir to anyone else,
	# and cg.c (which the line reports) falls back to rlimits.
	if is_root; then
		is "cgroup-delegation ok as root on $mode" "$(status cgroup-delegation)" ok
		like "and names the v1 controllers a run gets" "$out" \
		    "^ok +cgroup-delegation +cgroup v1: controllers memory pids"
	else
		is "cgroup-delegation warns as $me on $mode" "$(status cgroup-delegation)" warn
		like "cgroup-delegation says why" "$out" \
		    "^warn +cgroup-delegation +rlimits only: no writable cgroup v1 hierarchy"
		like "and how to fix it" "$out" "^ +fix: cgroup v1 is writable by root only: run moat as root"
	fi
	# The default profile's memory limit: what it comes to, and how.
	mb=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 / 2 ))
	if is_root; then
		like "memory: 50% of RAM, held by the run's v1 cgroup" "$out" \
		    "^ok +memory +${mb}M for the default profile \(50% of RAM \(MemTotal\)\), held by the run's cgroup \(v1 memory.limit_in_bytes\)"
		MOAT_CGROUP=none run_moat doctor
		like "memory, MOAT_CGROUP=none: RLIMIT_DATA and the sum of RSS" "$out" \
		    "^warn +memory +${mb}M for the default profile .* held without a cgroup: RLIMIT_DATA per process"
		run_moat doctor
	else
		like "memory: 50% of RAM, held by RLIMIT_DATA and the sum of RSS" "$out" \
		    "^warn +memory +${mb}M for the default profile \(50% of RAM \(MemTotal\)\), held without a cgroup: RLIMIT_DATA per process"
		like "memory: and what would give a cgroup" "$out" "^ +fix: cgroup v1 is writable by root only"
	fi
	;;
v2)	like "cgroups line says v2" "$out" "ok +cgroups +v2 at /" ;;
*)	is "cgroups line warns without cgroups" "$(status cgroups)" warn ;;
esac
# A probe of a doctor still running (the other user's pass of this file
# runs beside this one) is not left behind: only one whose moat is gone.
leftover=
for d in $(find /sys/fs/cgroup -maxdepth 8 -type d -path '*/moat/probe-*' 2>/dev/null); do
	p=${d##*/probe-}
	p=${p%%-*}
	[ -d "/proc/$p" ] || leftover="$leftover $d"
done
is "the cgroup probes left nothing behind" "$leftover" ""

# --- JSON
run_moat doctor --json
is "doctor --json exits 0" "$rc" 0
if printf '%s' "$out" | python3 -m json.tool >/dev/null 2>&1; then
	ok "--json output parses (python3 -m json.tool)"
else
	not_ok "--json output parses (python3 -m json.tool)"; diag "$out"
fi
json=$out
jq_py() {
	printf '%s' "$json" | python3 -c "import json, sys; d = json.load(sys.stdin); $1" 2>&1
}
is "--json: can_sandbox is true" "$(jq_py 'print(d["can_sandbox"])')" True
# (cgroup-sweep is there only when it removed a killed run's groups, which a
# concurrent suite may leave.)
is "--json: one entry per check, in order" \
    "$(jq_py 'print(" ".join(c["name"] for c in d["checks"] if c["name"] != "cgroup-sweep"))')" "$(echo $checks)"
is "--json: every entry has name, status, detail, fix, required" \
    "$(jq_py 'print(all(set(c) == {"name", "status", "detail", "fix", "required"} for c in d["checks"]))')" True
is "--json: statuses are ok, warn or missing; fix is null exactly when ok" \
    "$(jq_py 'print(all(c["status"] in ("ok", "warn", "missing") and (c["fix"] is None) == (c["status"] == "ok") for c in d["checks"]))')" True
is "--json: root is $(is_root && echo true || echo false)" "$(jq_py 'print(d["root"])')" \
    "$(is_root && echo True || echo False)"

# --- usage
run_moat doctor --bogus
is "an unknown argument exits 125" "$rc" 125
like "and prints the usage" "$err" "usage: moat doctor \[--json\]"

# --- a probe that really fails: inside a user namespace whose
# user.max_user_namespaces is 0, as a non-root uid, no user namespace can be
# created (the kernel answers ENOSPC), so moat cannot sandbox there.
cat >"$T/nouserns.py" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
uid, gid = os.geteuid(), os.getegid()
if libc.unshare(0x10000000) != 0:	# CLONE_NEWUSER
	sys.exit("unshare: " + os.strerror(ctypes.get_errno()))
for f, s in (("setgroups", "deny"), ("uid_map", "1000 %d 1" % uid), ("gid_map", "1000 %d 1" % gid)):
	with open("/proc/self/" + f, "w") as fh:
		fh.write(s)
# Still holding the capabilities of the new namespace (uid 1000 has not
# exec'd yet): lower its limit, then run doctor as uid 1000 without them.
with open("/proc/sys/user/max_user_namespaces", "w") as fh:
	fh.write("0")
os.execv(sys.argv[1], sys.argv[1:])
EOF
if ! /usr/bin/python3 "$T/nouserns.py" /bin/true 2>"$T/py.err"; then
	skip "no nested user namespace to test the negative in: $(cat "$T/py.err")"
else
	o=$( (cd "$T/ws" && /usr/bin/python3 "$T/nouserns.py" "$MOAT" doctor) 2>&1 </dev/null)
	rc=$?
	out=$o
	is "without user namespaces, doctor exits 1" "$rc" 1
	like "userns is missing, with the kernel's reason" "$out" \
	    "missing +userns +unshare\(CLONE_NEWUSER\): No space left on device"
	like "its fix names the sysctl" "$out" "fix: sysctl -w user.max_user_namespaces="
	like "max-userns shows the value 0" "$out" "missing +max-userns +user.max_user_namespaces = 0"
	is "pivot-root is missing too" "$(status pivot-root)" missing
	like "the verdict flips" "$out" "^verdict: moat cannot sandbox here as uid 1000: missing userns "
	json=$( (cd "$T/ws" && /usr/bin/python3 "$T/nouserns.py" "$MOAT" doctor --json) 2>&1 </dev/null)
	is "--json: can_sandbox is false" "$(jq_py 'print(d["can_sandbox"])')" False
fi

# --- and inside a moat sandbox: its seccomp filter and dropped capabilities
# refuse every namespace and a second listener, so doctor must say no.
moat_dir=$(cd "$(dirname "$MOAT")" && pwd)
if ! (cd "$T/ws" && "$MOAT" run -p isolated -- /bin/true) >/dev/null 2>"$T/run.err" </dev/null; then
	skip "moat run does not work here yet: $(head -1 "$T/run.err")"
else
	# An ASan build (--enable-sanitizers) maps terabytes of writable shadow
	# memory, which the RLIMIT_DATA a run gets without a cgroup counts:
	# its sandbox then has no memory limit.
	printf 'include = isolated\n' >"$T/iso.conf"
	if grep -qa __asan_init "$MOAT"; then printf 'memory = 0\n' >>"$T/iso.conf"; fi
	# LeakSanitizer (--enable-sanitizers) needs ptrace, which the sandbox denies.
	run_moat run -p "$T/iso.conf" -w "$moat_dir" -e ASAN_OPTIONS=detect_leaks=0 -- \
	    "$moat_dir/$(basename "$MOAT")" doctor
	is "inside a moat sandbox, doctor exits 1" "$rc" 1
	is "mount-ns is missing in there" "$(status mount-ns)" missing
	like "the kernel's answer is shown" "$out" "^missing +mount-ns +unshare\(CLONE_NEW(NS|USER)\): Operation not permitted"
	is "seccomp-notify is missing in there" "$(status seccomp-notify)" missing
	like "net-transparent is a warning in there (the filter denies process_vm_readv), saying what happens instead" \
	    "$out" "^warn +net-transparent +process_vm_readv: Operation not permitted.*moat cannot see them"
	like "the verdict says why" "$out" \
	    "^verdict: moat cannot sandbox here as .*: missing .*\(this runs inside a moat sandbox, which refuses nested sandboxes by design\)"
	# moat run in there fails the same way, and says why rather than
	# blaming the kernel's age (the filter answers clone3 with ENOSYS).
	# Its profile must be one the inner moat can read: the sandbox passes
	# no MOAT_PROFILE_DIR, and a build tree (distcheck) has no installed
	# profiles. So the outer run's workspace is ours, holding one, and the
	# build directory is bound read-only beside it.
	printf 'net = isolated\n' >"$T/ws/nested.conf"
	printf 'include = %s\nro-bind = %s\n' "$T/iso.conf" "$moat_dir" >"$T/outer.conf"
	nested_conf="$T/ws/nested.conf"
	run_moat run -p "$T/outer.conf" -e ASAN_OPTIONS=detect_leaks=0 -- \
	    "$moat_dir/$(basename "$MOAT")" run -p "$nested_conf" -- /bin/true
	is "nested moat run exits 125" "$rc" 125
	like "nested moat run names the cause" "$err" \
	    "^moat: clone3: this runs inside a moat sandbox, which denies nested user namespaces by design"
	unlike "nested moat run does not blame the kernel" "$err" "too old"
	# Without the variable, the filter is still named rather than the kernel.
	run_moat run -p "$T/outer.conf" -e ASAN_OPTIONS=detect_leaks=0 -- \
	    /usr/bin/env -u MOAT_SANDBOX "$moat_dir/$(basename "$MOAT")" run -p "$nested_conf" -- /bin/true
	like "under an unnamed seccomp filter, the filter is named" "$err" \
	    "^moat: clone3: refused by a seccomp filter this process runs under"
fi

done_testing

#!/bin/bash
# secrets.sh: a secret's value never enters the sandbox. Inside, its
# variable holds a placeholder made for the run; the value is in no
# process's environment, command line or memory there (its children's
# read from inside, and the sandbox's init read from the host as root),
# in no file under /tmp or HOME; the audit log never stores it, even when
# a workspace file holds it and the command prints it. Bad input is refused
# before the run, naming the secret: unset, empty or short variable, a
# host no net-allow admits, an isolated profile, the value on the command
# line or in another variable passed in, a missing secret-file. A session
# carries its secrets as a run does, with one placeholder for its life.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox

PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "needs /usr/bin/python3"
export MOAT_DB="$T/audit.db"

# The value: long, random, unlike anything else in the sandbox. Only its
# reverse is ever handed to a checker inside, which turns it round in its
# own memory and searches the others'.
VAL="tok-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
REV=$(printf '%s' "$VAL" | rev)
export TOKEN_A="$VAL"
# Its placeholder is as long as it is (52 bytes): 40 random digits.
PH='moat-secret-[0-9a-f]{40}'

cat >"$T/sec.conf" <<EOF
include = restricted
net-allow = localhost:8443
secret = TOKEN_A localhost:8443
env-pass = TOKEN_*
EOF
PROFILE=$T/sec.conf

sandbox sh -c 'printf "%s\n" "$TOKEN_A"'
is "a run with a secret exits 0" "$rc" 0
like "inside, the secret's variable holds a placeholder as long as the value" "$out" "^$PH\$"
first=$out
sandbox sh -c 'printf "%s\n" "$TOKEN_A"'
like "the next run has a placeholder too" "$out" "^$PH\$"
check "each run has a placeholder of its own" [ "$out" != "$first" ]

run_moat run -p "$PROFILE" -e TOKEN_A -- sh -c 'printf "%s\n" "$TOKEN_A"'
like "-e NAME does not pass the host's value of a secret" "$out" "^$PH\$"

# A placeholder is as long as its value when that leaves 16 random digits
# or more and the value is at most 1024 bytes (a response that echoes the
# value keeps its length); else it has 32 digits.
lens=
for n in 20 27 28 1024 1025; do
	v=$(od -An -N600 -tx1 /dev/urandom | tr -d ' \n' | head -c "$n")
	TOKEN_A=$v run_moat run -p "$PROFILE" -- sh -c 'case $TOKEN_A in moat-secret-*[!0-9a-f]*) echo bad;; moat-secret-*) printf "%s" "$TOKEN_A" | wc -c;; *) echo bad;; esac'
	lens="$lens $n:$rc:$out"
done
is "placeholders: 32 digits under 28 bytes and over 1024, else the value's length" \
    "$lens" " 20:0:44 27:0:44 28:0:28 1024:0:1024 1025:0:44"

# Nowhere inside: every process's environment and command line, every
# file under /tmp and HOME (what the command wrote there included), and
# the memory of processes the checker can read (its children, which got
# the same environment; pid 1 is not readable at all).
cat >"$T/ws/scan.py" <<'EOF'
import os, re, subprocess, sys
# The whole value, or its last 32 bytes: a freed copy has its first
# bytes overwritten by the allocator's own pointers.
val = os.environ["REV"][::-1].encode()[-32:]
kids = [subprocess.Popen(["sh", "-c", 'echo "$TOKEN_A" >/tmp/t.txt; exec sleep 30']),
        subprocess.Popen(["sleep", "30"])]
while not os.path.exists("/tmp/t.txt"):
    pass
# The first child writes the file, then execs sleep: its memory is read
# once it has (during the exec /proc/PID/mem reads nothing).
while open(f"/proc/{kids[0].pid}/cmdline", "rb").read().split(b"\0")[0] != b"sleep":
    pass
found, scanned, read_mem = [], 0, []
for pid in [d for d in os.listdir("/proc") if d.isdigit()]:
    for f in ("environ", "cmdline"):
        try:
            data = open(f"/proc/{pid}/{f}", "rb").read()
        except OSError:
            continue
        scanned += 1
        if val in data:
            found.append(f"/proc/{pid}/{f}")
for top in ("/tmp", os.environ["HOME"]):
    for d, _, files in os.walk(top):
        for n in files:
            try:
                if val in open(os.path.join(d, n), "rb").read():
                    found.append(os.path.join(d, n))
            except OSError:
                pass
for k in kids:
    n = 0
    with open(f"/proc/{k.pid}/maps") as maps, open(f"/proc/{k.pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
            if not m or "[vvar]" in line or "[vsyscall]" in line:
                continue
            lo, hi = int(m.group(1), 16), int(m.group(2), 16)
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except OSError:
                continue
            n += len(chunk)
            if val in chunk:
                found.append(f"memory of {k.pid}")
    read_mem.append(n)
    k.kill()
try:
    open("/proc/1/mem", "rb").read(1)
    init = "readable"
except OSError:
    init = "unreadable"
print("found:", " ".join(found) or "nothing")
print("scanned", scanned > 4, "mem", all(n > 100000 for n in read_mem), "init", init)
EOF
run_moat run -p "$PROFILE" -e REV="$REV" -- "$PY" scan.py
is "the checker ran" "$rc" 0
is "the value is in no environ, cmdline, file under /tmp or HOME, or child's memory" \
    "$(printf '%s\n' "$out" | head -1)" "found: nothing"
is "environs were read, memory was read, init's memory is not readable" \
    "$(printf '%s\n' "$out" | tail -1)" "scanned True mem True init unreadable"

# The sandbox's init is a copy of moat made before any command: it wipes
# the value from its memory. Only root may read a memory init made
# non-dumpable.
if ldd "$MOAT" 2>/dev/null | grep -q 'libasan'; then
	skip "init's memory read from the host: a sanitizer build's runtime keeps its own copy of moat's environment (read from /proc/self/environ at start), out of moat's reach"
elif is_root; then
	(cd "$T/ws" && exec "$MOAT" run -q -p "$PROFILE" -- sleep 31.4159) >/dev/null 2>&1 &
	mpid=$!
	cleanup_hooks+=("kill $mpid 2>/dev/null")
	init=""
	for _ in $(seq 200); do
		for c in $(cat /proc/$mpid/task/*/children 2>/dev/null); do
			grep -q 'sleep' /proc/"$(cat /proc/$c/task/*/children 2>/dev/null | awk '{print $1}')"/cmdline 2>/dev/null && init=$c
		done
		[ -n "$init" ] && break
		sleep 0.05
	done
	if [ -n "$init" ]; then
		out=$(REV="$REV" "$PY" - "$init" <<'EOF'
import os, re, sys
val = os.environ["REV"][::-1].encode()[-32:]	# a freed copy's tail too
pid, n, hit = sys.argv[1], 0, False
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
        if not m or "[vvar]" in line or "[vsyscall]" in line:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > 1 << 30:
            continue	# a sanitizer's shadow: reserved, never written
        try:
            mem.seek(lo)
            chunk = mem.read(hi - lo)
        except OSError:
            continue
        n += len(chunk)
        hit = hit or val in chunk
print("read", n > 100000, "found", hit)
EOF
)
		is "the sandbox's init holds no copy of the value (its memory read from the host)" \
		    "$out" "read True found False"
	else
		not_ok "the sandbox's init was found under moat (pid $mpid)"
	fi
	kill "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null
else
	skip "init's memory read from the host: init is not dumpable, so only root (CAP_SYS_PTRACE) may read it"
fi

# The audit: a workspace file that holds the value (a .env in the
# project) is printed, and its output stored redacted.
printf 'TOKEN_A=%s\n' "$VAL" >"$T/ws/.env"
run_moat run -p "$PROFILE" -- cat .env
is "a workspace file with the value is printed (it is the user's project)" "$out" "TOKEN_A=$VAL"
id=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select run_id from runs order by rowid desc limit 1").fetchone()[0])' "$MOAT_DB")
run_moat audit show "$id"
like "the audit shows the output redacted, naming the secret" "$out" 'TOKEN_A=\[REDACTED:secret-TOKEN_A\]'
rm -f "$T/ws/.env"
hits=$(cat "$MOAT_DB"* | grep -c -a -F "$VAL")
is "the value is nowhere in the audit database" "$hits" 0

# secret-file: the value read by moat from a file it never binds in.
printf '%s\n' "file-$VAL" >"$HOME/token.txt"
cat >"$T/file.conf" <<EOF
include = restricted
net-allow = localhost:8443
secret = TOKEN_F localhost:8443
secret-file = TOKEN_F ~/token.txt
EOF
run_moat run -p "$T/file.conf" -- sh -c 'printf "%s\n" "$TOKEN_F"; cat ~/token.txt 2>&1 | head -1'
like "secret-file: the variable holds a placeholder; the file is not there" "$out" \
    '^moat-secret-[0-9a-f]{45}
cat: .*token.txt: No such file or directory$'
rm -f "$HOME/token.txt"
run_moat run -p "$T/file.conf" -- true
is "a missing secret-file: exit 125" "$rc" 125
like "a missing secret-file is named" "$err" "secret TOKEN_F: cannot read $HOME/token.txt"

# moat profiles show lists the secrets and their hosts.
run_moat profiles show "$T/sec.conf"
like "profiles show lists the secret and its host" "$out" "secret = TOKEN_A localhost:8443 +# from $T/sec.conf:3"

# Refused before the run, naming the secret and what to do.
TOKEN_A= run_moat run -p "$PROFILE" -- true
is "an empty variable: exit 125" "$rc" 125
is "an empty variable is named" "$err" 'moat: secret TOKEN_A: $TOKEN_A holds an empty value; set it, or drop the secret'
(unset TOKEN_A; run_moat run -p "$PROFILE" -- true; echo "$rc|$err" >"$T/unset")
is "an unset variable: exit 125, named, with the fix" "$(cat "$T/unset")" \
    '125|moat: secret TOKEN_A: the variable is not set in moat'"'"'s environment; export it, or read it from a file with "secret-file = TOKEN_A PATH"'
TOKEN_A=short run_moat run -p "$PROFILE" -- true
like "a value under 8 bytes is refused" "$rc $err" '^125 .*secret TOKEN_A: the value from \$TOKEN_A is 5 bytes'
run_moat run -p "$PROFILE" -- echo "$VAL"
is "the value on the command line: exit 125" "$rc" 125
like "the value on the command line is refused, naming the argument" "$err" \
    'secret TOKEN_A: its value is in argument 1 of the command; write \$TOKEN_A there instead'
TOKEN_COPY=$VAL run_moat run -p "$PROFILE" -- true
like "the value in another variable passed in is refused, naming it" "$rc $err" \
    '^125 .*secret TOKEN_A: its value is also in the variable TOKEN_COPY'
hits=$(cat "$MOAT_DB"* | grep -c -a -F "$VAL")
is "refused runs leave the value out of the audit database too" "$hits" 0

run_moat run -p restricted --secret TOKEN_A=api.example.test -- true
is "--secret for a host no net-allow admits: exit 125" "$rc" 125
is "--secret for a host no net-allow admits: the line to add" "$err" \
    'moat run: --secret: secret TOKEN_A: no net-allow line admits api.example.test (port 443); add "net-allow = api.example.test" (a secret is only sent where the network may go)'
run_moat run -p restricted --net-allow api.example.test --secret TOKEN_A=api.example.test,other.test -- true
like "--secret checks every host" "$rc $err" '^125 .*no net-allow line admits other.test'
run_moat run -p restricted --net-allow api.example.test --secret TOKEN_A=api.example.test -- sh -c 'printf "%s\n" "$TOKEN_A"'
like "--secret with --net-allow: the placeholder inside" "$rc $out" "^0 $PH\$"
run_moat run --secret TOKEN_A=api.example.test -- true
like "--secret with an isolated profile is refused" "$rc $err" '^125 moat run: --secret: profile default has net = isolated'
run_moat run -p restricted --secret TOKEN_A -- true
like "--secret without hosts: a usage error" "$rc $err" '^125 moat run: --secret TOKEN_A: expected NAME=HOST'

# secret-try: a secret when its variable has a value; unset or empty, the
# run starts without it. What a user wrote (secret =, --secret) stays
# required.
cat >"$T/try.conf" <<EOF
include = restricted
net-allow = localhost:8443
secret-try = TRY_TOKEN localhost:8443
env-pass = TRY_*
EOF
(unset TRY_TOKEN; run_moat run -p "$T/try.conf" -- sh -c 'echo "[${TRY_TOKEN-unset}] ${SSL_CERT_FILE-none}"'; echo "$rc|$out" >"$T/try")
is "secret-try with the variable unset: the run starts, the variable unset inside, no CA" \
    "$(cat "$T/try")" "0|[unset] none"
TRY_TOKEN= run_moat run -p "$T/try.conf" -- sh -c 'echo "[${TRY_TOKEN-unset}]"'
is "secret-try with the variable empty: the run starts, the empty variable passed as env-pass says" "$rc|$out" "0|[]"
TRY_TOKEN=$VAL run_moat run -p "$T/try.conf" -e REV="$REV" -- sh -c 'echo "$TRY_TOKEN"; "$0" scan.py | head -1' "$PY"
like "secret-try with a value: a placeholder inside, the value nowhere" "$rc $out" \
    "^0 $PH
found: nothing\$"
TRY_TOKEN=short run_moat run -p "$T/try.conf" -- true
like "secret-try with a value under 8 bytes is refused as a secret's" "$rc $err" \
    '^125 .*secret TRY_TOKEN: the value from \$TRY_TOKEN is 5 bytes'
(unset TRY_TOKEN; run_moat run -p "$T/try.conf" --secret TRY_TOKEN=localhost:8443 -- true; echo "$rc|$err" >"$T/try")
like "--secret for a secret-try's variable makes it required: unset, refused" "$(cat "$T/try")" \
    "^125\|moat: secret TRY_TOKEN: the variable is not set in moat's environment"
printf 'include = %s\nsecret = TRY_TOKEN localhost:8443\n' "$T/try.conf" >"$T/try2.conf"
(unset TRY_TOKEN; run_moat run -p "$T/try2.conf" -- true; echo "$rc|$err" >"$T/try")
like "a secret line for the same variable makes it required too" "$(cat "$T/try")" \
    "^125\|moat: secret TRY_TOKEN: the variable is not set"
run_moat profiles show "$T/try.conf"
like "profiles show lists a secret-try line with its hosts" "$out" \
    "secret-try = TRY_TOKEN localhost:8443 +# from $T/try.conf:3"
printf 'include = restricted\nsecret-try = TRY_TOKEN api.example.test\n' >"$T/try3.conf"
run_moat run -p "$T/try3.conf" -- true
like "secret-try for a host no net-allow admits is refused at the profile, naming the line" "$rc $err" \
    "^125 .*try3.conf:2: secret TRY_TOKEN: no net-allow line admits api.example.test"

# The shipped agent profiles keep the agent's API key outside when it is
# set, and start without it (a login of another kind) when it is not.
for pa in "claude-code ANTHROPIC_API_KEY" "codex OPENAI_API_KEY" "gemini GEMINI_API_KEY" "aider DEEPSEEK_API_KEY"; do
	set -- $pa
	(export "$2=$VAL"; run_moat run -p "$1" -- sh -c 'eval "echo \$$0"' "$2"; echo "$rc|$out" >"$T/agent")
	like "profile $1: \$$2 set: a placeholder inside" "$(cat "$T/agent")" "^0\\|$PH\$"
	(unset "$2"; run_moat run -p "$1" -- sh -c 'eval "echo \${$0-unset}"' "$2"; echo "$rc|$out" >"$T/agent")
	is "profile $1: \$$2 unset: it starts without it" "$(cat "$T/agent")" "0|unset"
done
run_moat profiles show claude-code
like "profiles show claude-code: the API key is a secret for the API's host" "$out" \
    "secret-try = ANTHROPIC_API_KEY api.anthropic.com +# from .*claude-code.conf:[0-9]+"

# A session: its supervisor holds the values for the session's life; its
# commands get the session's placeholder, the same in each of them.
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")
run_moat session new -p "$PROFILE"
is "a session with secrets starts" "$rc" 0
S=${out%% *}
run_moat session exec "$S" -- sh -c 'printf "%s\n" "$TOKEN_A"; echo "$SSL_CERT_FILE"'
like "session exec: the secret's variable holds a placeholder, the CA bundle is named" \
    "$rc $out" "^0 $PH
/etc/moat-ca.pem\$"
sfirst=$(printf '%s' "$out" | head -1)
run_moat session exec "$S" -- sh -c 'printf "%s\n" "$TOKEN_A"'
is "the session's next command has the same placeholder" "$out" "$sfirst"
check "the session's placeholder is not a run's" [ "$sfirst" != "$first" ]
run_moat session exec "$S" -e REV="$REV" -- "$PY" scan.py
is "session exec: the value is in no environ, cmdline, file under /tmp or HOME, or child's memory" \
    "$rc $(printf '%s\n' "$out" | head -1)" "0 found: nothing"
run_moat session exec "$S" -- echo "$VAL"
like "session exec: the value on the command line is refused" "$rc $err" \
    '^125 .*secret TOKEN_A: its value is in argument 1 of the command'
printf 'TOKEN_A=%s\n' "$VAL" >"$T/ws/.env"
run_moat session exec "$S" -- cat .env
id=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select run_id from runs order by rowid desc limit 1").fetchone()[0])' "$MOAT_DB")
run_moat audit show "$id"
like "session exec: the audit shows the output redacted, naming the secret" "$out" \
    'TOKEN_A=\[REDACTED:secret-TOKEN_A\]'
rm -f "$T/ws/.env"
hits=$(cat "$MOAT_DB"* | grep -c -a -F "$VAL")
is "the value is nowhere in the audit database after the session's commands" "$hits" 0
run_moat session kill "$S"
# moat shell: its session holds the secret; each line's variable holds the
# session's placeholder.
out=$(cd "$T/ws" && printf '%s\n' 'printf "[%s]\n" "$TOKEN_A"' 'printf "[%s]\n" "$TOKEN_A"' |
    "$MOAT" shell --plain -p "$PROFILE" 2>&1)
is "moat shell: two lines, the same placeholder in each" \
    "$(printf '%s\n' "$out" | grep -c '^\[moat-secret-[0-9a-f]\{40\}\]$')|$(printf '%s\n' "$out" | grep '^\[' | sort -u | wc -l)" "2|1"
(unset TOKEN_A; run_moat session new -p "$PROFILE"; echo "$rc|$err" >"$T/unset")
like "a session whose secret is unset is refused before it starts, naming it" \
    "$(cat "$T/unset")" "^125\|.*secret TOKEN_A: the variable is not set in moat's environment"

done_testing

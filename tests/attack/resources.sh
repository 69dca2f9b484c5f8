#!/bin/bash
# Resource attacks: an unbounded fork loop, a file that fills the disk, a
# /tmp flood, and fd exhaustion, each stopped by the profile's limits.
. "$(dirname "$0")/../e2e/libtest.sh"
require_sandbox

cat >"$T/tight.conf" <<'CONF'
include = default
nproc = 64
fsize = 8M
tmp-size = 16M
nofile = 64
timeout = 30
CONF

# What the kernel holds for the command, read back from /proc.
run_moat run -p "$T/tight.conf" -- cat /proc/self/limits
rlim() { printf '%s\n' "$out" | sed -n "s/^$1  *\([^ ]*\)  *\([^ ]*\) .*/\1 \2/p"; }
is "the command's RLIMIT_NPROC is nproc (64)" "$(rlim 'Max processes')" "64 64"
is "the command's RLIMIT_NOFILE is nofile (64)" "$(rlim 'Max open files')" "64 64"
is "the command's RLIMIT_FSIZE is fsize (8M)" "$(rlim 'Max file size')" "8388608 8388608"
is "the command's RLIMIT_CORE is 0 (no core dumps of its memory)" "$(rlim 'Max core file size')" "0 0"

run_moat run -p "$T/tight.conf" -- python3 -c '
import os, time
n = 0
try:
    while n < 5000:
        pid = os.fork()
        if pid == 0:
            time.sleep(60); os._exit(0)
        n += 1
    print("unbounded", n)
except OSError as e:
    print("stopped", n, e.errno)
'
like "an unbounded fork loop is stopped by nproc" "$out" "^stopped [0-9]+ 11$"
n=$(echo "$out" | awk '{print $2}')
check "below the limit of 64 processes (forked ${n:-?})" test "${n:-9999}" -lt 64
check "none of the forked sleepers survive the run" sh -c '! pgrep -u '"$test_uid"' -f "time.sleep\\(60\\)" >/dev/null'

run_moat run -p "$T/tight.conf" -- sh -c 'dd if=/dev/zero of=big bs=1M count=100 2>&1; ls -l big | awk "{print \$5}"'
like "a file larger than fsize is cut off" "$out" "(File too large|8388608)"
check "the host file stayed at the limit" test "$(stat -c %s "$T/ws/big")" -le 8388608

run_moat run -p "$T/tight.conf" -- sh -c 'for i in 1 2 3; do dd if=/dev/zero of=/tmp/flood$i bs=1M count=7 2>&1; done'
like "/tmp is capped by tmp-size" "$out" "No space left on device"

run_moat run -p "$T/tight.conf" -- python3 -c '
import os
fds = []
try:
    while True: fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e: print("stopped", len(fds), e.errno)'
like "fd exhaustion stops at nofile" "$out" "^stopped [0-9]+ 24$"
n=$(echo "$out" | awk '{print $2}')
check "below the limit of 64 descriptors (opened ${n:-?})" test "${n:-9999}" -lt 64

# A POSIX name: dash (/bin/sh here) refuses ":" as a function name, and a
# bomb that is a syntax error proves nothing.
t0=$(date +%s)
# Its name is this test's own: another suite running on the machine (as
# the same user) must not be taken for what this bomb left.
bomb=bomb$$$RANDOM
run_moat run -p "$T/tight.conf" -- sh -c "$bomb() { $bomb | $bomb & }; $bomb; sleep 2; echo survived"
t1=$(date +%s)
like "a shell fork bomb ran and the kernel refused its forks" "$err" "Cannot fork|Resource temporarily unavailable"
# Whether the shell's own `sleep 2` finds a free slot depends on how the
# bomb's processes come and go: where it does not (a loaded machine), dash
# gives up with "Cannot fork", exit 2. Either way the shell ended by
# itself: not killed (128 + a signal), not cut off by moat.
like "the bombing shell ended by itself, not killed (exit 0, survived; or dash's 2 when its own fork was refused too)" \
    "$rc:$out" '^(0:survived|2:)$'

check "moat returned by itself, well before the 30 s timeout ($((t1 - t0)) s)" test $((t1 - t0)) -lt 20
check "and leaves nothing running" sh -c '! pgrep -u '"$test_uid"' -f "'"$bomb"'\\(\\) \\{" >/dev/null'

done_testing

#!/bin/sh
# time-limit.sh: make check's LOG_COMPILER. Runs one test file under a time
# limit, so that a hang (a timer never armed, a read that never returns)
# fails with the file's name instead of stopping the suite. The limit is
# MOAT_TEST_TIMEOUT seconds, default 300: the slowest file (limits.sh, root
# and uid 65534 passes) takes about 30 s alone on a 2-core machine and about
# twice that under make -j2 or the sanitizers. On expiry the whole process
# group of the file (its moat runs and sandboxes with it) is killed and the
# TAP stream ends with a Bail out! naming the file and the limit.
# The file's wall time ends its TAP stream as a comment, "# elapsed: S s",
# which summary.sh reads to name the slowest files.
# Usage: time-limit.sh [INTERPRETER] TEST
limit=${MOAT_TEST_TIMEOUT:-300}
for last; do :; done
t0=$(date +%s)
n0=$(date +%s%N)
timeout -k 10 "$limit" "$@"
rc=$?
n1=$(date +%s%N)
ms=$(((n1 - n0) / 1000000))
echo "# elapsed: $((ms / 1000)).$(printf %03d $((ms % 1000))) s"
# 124: TERM ended it; 137: it needed the KILL 10 s later (or something else
# killed it, hence the clock).
if [ $rc = 124 ] || { [ $rc = 137 ] && [ $(($(date +%s) - t0)) -ge "$limit" ]; }; then
	echo "Bail out! $last ran past its time limit of $limit s (MOAT_TEST_TIMEOUT) and was killed"
	exit 124
fi
exit $rc

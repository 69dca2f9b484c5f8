#!/bin/bash
# audit-kill.sh: moat killed with SIGKILL at random points of a run, 50
# times: before the sandbox is up, while the row is begun, while the command
# runs, while the row is completed. After each, nothing of the run survives;
# at the end the next moat has closed every row, the database is intact and
# the chain verifies.
. "$(dirname "$0")/libtest.sh"
require_sandbox
tag=$$$RANDOM
N=${MOAT_KILL_RUNS:-50}

sq() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join("" if v is None else str(v) for v in r) for r in c.execute(sys.argv[2])))' "${MOAT_DB:-$XDG_DATA_HOME/moat/audit.db}" "$1"; }
alive() { pgrep -f "$1" >/dev/null; }
gone_within() { # gone_within SECONDS PATTERN
	for _ in $(seq $(($1 * 10))); do alive "$2" || return 0; sleep 0.1; done
	return 1
}

sandbox true	# the log exists before the first kill
survivors=0
for i in $(seq "$N"); do
	# The command spans the whole window: its own marker, children, output.
	(cd "$T/ws" && exec "$MOAT" run -- sh -c ": kill$tag-$i; echo out; sleep 30 & sleep 30") \
	    </dev/null >/dev/null 2>&1 &
	mpid=$!
	# 0 to 60 ms: a run's start here is about 7 ms, so most kills land
	# after it and some during it.
	sleep "0.0$((RANDOM % 60))"
	kill -KILL $mpid 2>/dev/null
	wait $mpid 2>/dev/null
	if ! gone_within 3 "kill$tag-$i"; then
		survivors=$((survivors + 1))
		diag "run $i: survived its moat: $(pgrep -af "kill$tag-$i")"
		pkill -KILL -f "kill$tag-$i"
	fi
done
is "$N moats killed with SIGKILL at random points: no process survives" "$survivors" 0

sandbox true	# recovery: closes the rows of the killed moats
is "every row is closed by the next moat" "$(sq "SELECT count(*) FROM runs WHERE status = 'running'")" 0
like "the killed runs are marked interrupted (those that had a row)" \
    "$(sq "SELECT status || ' ' || coalesce(end_reason, '') FROM runs WHERE argv LIKE '%kill$tag-%' GROUP BY status, end_reason")" \
    "^interrupted owner-gone$"
is "the database is intact" "$(sq "PRAGMA integrity_check")" "ok"
run_moat audit verify
is "the chain verifies" "$rc" 0
like "and says ok" "$out" "^ok: [0-9]+ runs in the chain"
done_testing

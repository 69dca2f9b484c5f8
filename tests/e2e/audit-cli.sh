#!/bin/bash
# audit-cli.sh: "moat audit" on a log filled through the audit API
# (tests/audit-fill): list and its filters, JSON and CSV that parse, show,
# stats, export, prune, and verify catching edits made with the sqlite3 shell.
. "$(dirname "$0")/libtest.sh"

FILL=${MOAT_BUILDDIR:-$(dirname "$MOAT")}/tests/audit-fill
DB=$T/audit.db
have_sqlite=no; command -v sqlite3 >/dev/null && have_sqlite=yes
have_jq=no; command -v jq >/dev/null && have_jq=yes
q() { sqlite3 "$DB" "$1"; }
# A copy of a log: moat empties its WAL into the file only now and then, so
# the -wal file goes along (a stale one at the destination must not).
copy_db() { cp "$1" "$2"; rm -f "$2-wal" "$2-shm"; [ ! -s "$1-wal" ] || cp "$1-wal" "$2-wal"; }

if ! "$FILL" --db "$DB" -n 300 --days 10 >"$T/fill.out" 2>&1; then
	not_ok "fill a log with 300 runs through the API"; diag "$(cat "$T/fill.out")"
	done_testing
fi
ok "fill a log with 300 runs through the API"
# The edits below are made with the sqlite3 shell, behind moat's back; it
# empties the WAL into audit.db first, as anyone editing the file would.
[ $have_sqlite = no ] || q "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
copy_db "$DB" "$T/pristine.db"

run_moat audit --db "$DB" list
is "list exits 0" "$rc" 0
like "list has a header" "$(printf '%s\n' "$out" | head -1)" '^ +ID STARTED \(UTC\) +STATUS +PROFILE +RISK +EXIT +TIME +AGENT +COMMAND$'
is "list shows the default page of 20" "$(printf '%s\n' "$out" | tail -n +2 | wc -l)" 20
like "newest first" "$(printf '%s\n' "$out" | sed -n 2p)" '^300 '
run_moat audit --db "$DB" list --limit 5
is "--limit 5" "$(printf '%s\n' "$out" | tail -n +2 | wc -l)" 5

# Sized to the terminal: COLUMNS stands in for the tty width here.
out=$(cd "$T/ws" && COLUMNS=70 "$MOAT" audit --db "$DB" list)
is "COLUMNS=70: no line is wider than 70" "$(printf '%s\n' "$out" | awk '{ if (length($0) > m) m = length($0) } END { print (m <= 70) ? "yes" : m }')" yes
like "long command lines are cut with ~" "$out" '~$'
out=$(cd "$T/ws" && COLUMNS=250 "$MOAT" audit --db "$DB" list)
like "a wide terminal shows the whole command" "$out" "sh -c 'rm -rf ~/.ssh && echo done'"

# Secrets were redacted before they were stored.
if [ $have_sqlite = yes ]; then
	is "no secret from argv or output is stored" "$(sqlite3 "$DB" .dump | grep -c -e sekrit123456 -e hunter2 -e abc123secret)" 0
	is "the refusal rows exist" "$(q "SELECT count(*) FROM runs WHERE status='refused'")" 8
else
	skip "sqlite3 shell not installed"; skip "sqlite3 shell not installed"
fi

if [ $have_jq = yes ] && [ $have_sqlite = yes ]; then
	run_moat audit --db "$DB" list --json --limit 0
	is "list --json parses and has all 300 runs" "$(printf '%s' "$out" | jq length)" 300
	is "argv is a JSON array" "$(printf '%s' "$out" | jq -r '.[0].argv | type')" array

	filt() {	# filt DESCRIPTION JQ-CONDITION SQL-WHERE ARGS...
		local d=$1 cond=$2 where=$3; shift 3
		run_moat audit --db "$DB" list --json --limit 0 "$@"
		local n all want
		n=$(printf '%s' "$out" | jq length)
		all=$(printf '%s' "$out" | jq "[.[] | select($cond)] | length")
		want=$(q "SELECT count(*) FROM runs WHERE $where")
		if [ "$rc" = 0 ] && [ "$n" = "$want" ] && [ "$all" = "$n" ] && [ "$n" -gt 0 ]; then
			ok "$d ($n runs)"
		else
			not_ok "$d"; diag "rc=$rc got $n, matching $all, sqlite3 says $want"
		fi
	}
	filt "--status refused" '.status == "refused"' "status = 'refused'" --status refused
	filt "--status interrupted (marked by the next open)" '.status == "interrupted"' "status = 'interrupted'" --status interrupted
	filt "--profile python" '.profile == "python"' "profile = 'python'" --profile python
	filt "--min-risk 80" '.risk >= 80' "coalesce(risk_final, risk_static) >= 80" --min-risk 80
	filt "--agent mcp" '.source == "mcp"' "source = 'mcp'" --agent mcp
	filt "--agent claude-code (a client name)" '.client == "claude-code"' "client = 'claude-code'" --agent claude-code
	filt "--grep train.py" '.command | contains("train.py")' "instr(command, 'train.py') > 0" --grep train.py
	# 81h: the runs are 48 min apart and the newest is now, so the nearest run is
	# 12 min from the edge (80h, a multiple of 48 min, would put one on it).
	since=$(date -u -d '81 hours ago' +%Y-%m-%dT%H:%M:%S)
	filt "--since 81h" ".started_at >= \"$since\"" "started_at >= strftime('%Y-%m-%dT%H:%M:%S', 'now', '-81 hours')" --since 81h
	filt "--since DATE --until DATE" '.started_at >= "2000-01-01" and .started_at < "'"$(date -u -d '5 days ago' +%Y-%m-%d)"'"' \
	    "started_at < '$(date -u -d '5 days ago' +%Y-%m-%d)'" --since 2000-01-01 --until "$(date -u -d '5 days ago' +%Y-%m-%d)"
	filt "filters combine" '.profile == "default" and .risk >= 50' "profile = 'default' AND coalesce(risk_final, risk_static) >= 50" --profile default --min-risk 50
else
	skip "jq or sqlite3 not installed"
fi

run_moat audit --db "$DB" list --csv --limit 0
if printf '%s\n' "$out" | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
assert len(rows) == 300, len(rows)
assert all(r["id"].isdigit() for r in rows)
assert any("," in r["argv"] for r in rows)
' 2>"$T/csv.err"; then ok "list --csv parses: 300 rows, quoted fields"
else not_ok "list --csv parses"; diag "$(cat "$T/csv.err")"; fi

run_moat audit --db "$DB" show 1
is "show 1 exits 0" "$rc" 0
like "show prints the run's fields" "$out" 'run_id +[0-9]{8}T[0-9]{6}-'
like "show prints its events" "$out" 'events:'
like "show prints the denied syscall" "$out" 'syscall +mount'
like "show prints the connection" "$out" 'net +pkgs.example.org:443 allowed by allowlist'
like "show draws cpu and mem sparklines" "$out" 'cpu +[^ ].* max [0-9.]+%'
like "show prints the output" "$out" 'hello from run 0'
like "show prints redacted stderr" "$out" 'token=\[REDACTED\]'
# What a reviewer reads comes first; the chain's hashes only with -v.
first=$(printf '%s\n' "$out" | head -3 | awk '{ print $1 }' | tr '\n' ' ')
is "show opens with the run, its run id and command" "$first" "run run_id command "
check "show: the verdict and risk come before the events" \
    test "$(printf '%s\n' "$out" | grep -n '^risk ' | cut -d: -f1)" -lt \
    "$(printf '%s\n' "$out" | grep -n '^events:' | cut -d: -f1)"
unlike "show without -v prints no hash" "$out" 'prev_hash|children_hash|owner_pid|[0-9a-f]{64}'
like "show ends with the run's place in the chain" "$(printf '%s\n' "$out" | tail -1)" \
    '^record: seq [0-9]+, hash [0-9a-f]{16}\.\.\. \(moat audit show -v 1 '
run_moat audit --db "$DB" show -v 1
like "show -v prints the chain fields" "$out" 'prev_hash +[0-9a-f]{64}'
like "show -v prints the owner" "$out" 'owner_pid +[0-9]+'
check "show -v prints the chain after the output" \
    test "$(printf '%s\n' "$out" | grep -n '^stdout ' | cut -d: -f1)" -lt \
    "$(printf '%s\n' "$out" | grep -n 'prev_hash' | cut -d: -f1)"
is "show -v prints each field once" "$(printf '%s\n' "$out" | grep -c 'run_id')" 1
rid=$(printf '%s\n' "$out" | awk '$1 == "run_id" { print $2 }')
run_moat audit --db "$DB" show "${rid:0:22}"
like "show accepts a unique prefix of the run id" "$out" "run_id +$rid"
run_moat audit --db "$DB" show "${rid:0:4}"
is "an ambiguous prefix fails" "$rc" 1
like "and says so" "$err" 'ambiguous'
run_moat audit --db "$DB" show 99999
is "an unknown run: exit 1" "$rc" 1
if [ $have_jq = yes ]; then
	run_moat audit --db "$DB" show 1 --json
	is "show --json parses, events included" "$(printf '%s' "$out" | jq '.events | length > 0')" true
fi

run_moat audit --db "$DB" stats
is "stats exits 0" "$rc" 0
like "stats by status" "$out" 'status:'
like "stats by risk band" "$out" 'critical \(85-100\)'
like "stats by agent" "$out" 'wrap:claude-code'
like "stats: top denied syscalls" "$(printf '%s' "$out" | tr '\n' ' ')" "denied syscalls: +[0-9]+ +(mount|ptrace|unshare|bpf|keyctl) "
like "stats: top hosts with denials" "$(printf '%s' "$out" | tr '\n' ' ')" 'evil.example +\(denied [1-9]'
if [ $have_jq = yes ]; then
	run_moat audit --db "$DB" stats --json
	is "stats --json parses; statuses add up to 300" "$(printf '%s' "$out" | jq '[.status[].runs] | add')" 300
	run_moat audit --db "$DB" stats --json --profile python
	is "stats with a filter" "$(printf '%s' "$out" | jq '[.status[].runs] | add')" 60
fi

run_moat audit --db "$DB" export --format jsonl
if [ $have_jq = yes ]; then
	is "export jsonl: 300 lines, each a JSON object" "$(printf '%s\n' "$out" | jq -c 'select(type == "object") | .id' | wc -l)" 300
fi
run_moat audit --db "$DB" export --format csv
if printf '%s\n' "$out" | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
assert len(rows) == 300 and "hash" in rows[0] and "stdout_sha256" in rows[0]
'; then ok "export csv parses"; else not_ok "export csv parses"; fi

run_moat audit --db "$DB" verify
is "verify: exit 0" "$rc" 0
like "verify: all runs in the chain" "$out" '^ok: 300 runs in the chain; head [0-9a-f]{64}$'

if [ $have_sqlite = yes ]; then
	q "UPDATE runs SET exit_code = 0 WHERE id = 50 AND exit_code != 0; UPDATE runs SET exit_code = 7 WHERE id = 50"
	run_moat audit --db "$DB" verify
	is "an edit with the sqlite3 shell: verify exits 1" "$rc" 1
	like "and names the row" "$out" 'run 50 .*edited'
	copy_db "$T/pristine.db" "$DB"
	q "DELETE FROM runs WHERE id = (SELECT id FROM runs WHERE seq = 120)"
	run_moat audit --db "$DB" verify
	is "a deleted row: exit 1" "$rc" 1
	like "named as deleted" "$out" 'deleted before run'
	copy_db "$T/pristine.db" "$DB"
	# Deleted, and the next row relinked to the deleted row's predecessor,
	# so every link agrees: the relinked row's own hash must give it away.
	q "UPDATE runs SET prev_hash = (SELECT prev_hash FROM runs WHERE seq = 120) WHERE seq = 121;
	   DELETE FROM runs WHERE seq = 120"
	run_moat audit --db "$DB" verify
	is "a deleted row with the next one relinked: exit 1" "$rc" 1
	like "the relinked row is named" "$out" '\(seq 121\) was edited'
	copy_db "$T/pristine.db" "$DB"
	q "INSERT INTO runs (run_id, status, source, started_at) VALUES ('x', 'done', 'cli', '2026-01-01')"
	run_moat audit --db "$DB" verify
	like "an inserted row is named" "$out" 'inserted'
	q "UPDATE events SET name = 'read' WHERE kind = 'syscall' AND id = (SELECT min(id) FROM events)"
	copy_db "$T/pristine.db" "$DB"
	q "UPDATE events SET name = 'read' WHERE id = (SELECT min(id) FROM events WHERE kind = 'syscall')"
	run_moat audit --db "$DB" verify
	like "an edited event is caught" "$out" 'events, samples or output'
	copy_db "$T/pristine.db" "$DB"
else
	skip "sqlite3 shell not installed"
fi

before=$(q "SELECT count(*) FROM runs")
run_moat audit --db "$DB" prune --before 5d
like "prune --before 5d" "$out" '^pruned [1-9][0-9]* runs'
n=${out#pruned }; n=${n%% *}
is "the pruned runs are gone" "$(q "SELECT count(*) FROM runs")" "$((before - n))"
run_moat audit --db "$DB" verify
is "verify passes after prune" "$rc" 0
is "no orphaned events" "$(q "SELECT count(*) FROM events WHERE run NOT IN (SELECT id FROM runs)")" 0
run_moat audit --db "$DB" prune
is "prune without --before: usage error" "$rc" 125

run_moat audit --db "$DB" list --since yesterday
is "a bad date: exit 125" "$rc" 125
like "and a message that says what is accepted" "$err" 'expected a date'
run_moat audit --db "$DB" frobnicate
is "an unknown subcommand: 125" "$rc" 125
run_moat audit --db "$T/none.db" list
is "no log: exit 1" "$rc" 1
like "and a clear message" "$err" "no audit log at $T/none.db"
[ ! -e "$T/none.db" ] && ok "and nothing was created" || not_ok "and nothing was created"

# The default path: $XDG_DATA_HOME/moat/audit.db, private.
mkdir -p "$XDG_DATA_HOME/moat"
copy_db "$T/pristine.db" "$XDG_DATA_HOME/moat/audit.db"
run_moat audit list --limit 1
is "the default path is \$XDG_DATA_HOME/moat/audit.db" "$(printf '%s\n' "$out" | tail -n +2 | wc -l)" 1
MOAT_DB=$T/pristine.db run_moat audit verify
is "MOAT_DB names the log" "$rc" 0
rm -rf "$XDG_DATA_HOME/moat"
"$FILL" --db "$XDG_DATA_HOME/moat/audit.db" -n 1 >/dev/null 2>&1
is "a new log's directory is 0700" "$(stat -c %a "$XDG_DATA_HOME/moat")" 700
is "and the file 0600" "$(stat -c %a "$XDG_DATA_HOME/moat/audit.db")" 600

done_testing

#!/bin/sh
# summary.sh: what make check skipped, per file and why, and the counts of
# each pass (root, uid 65534, and the files that run once), so that a pass
# that shrinks shows. Reads the TAP logs automake wrote. make check runs it
# at the end; .ci/run prints it. Then the slowest files by the wall time
# time-limit.sh wrote at the end of each log. Usage: summary.sh LOG...
echo "== moat test summary: skipped points per file, then each pass =="
awk '
function pass_of(line) {
	if (line ~ / - \[root\] /) return "root"
	if (line ~ / - \[uid [0-9]+\] /) return "uid 65534"
	return "once"
}
FNR == 1 { file = FILENAME; sub(/\.log$/, "", file) }
/^(not )?ok / {
	p = pass_of($0)
	if ($0 ~ /# [Ss][Kk][Ii][Pp]/) {
		skip[p]++; fskip[file]++
		why = $0; sub(/^.*# [Ss][Kk][Ii][Pp][ :]*/, "", why)
		d = $0; sub(/ # [Ss][Kk][Ii][Pp].*$/, "", d); sub(/^ok [0-9]+ - (\[[^]]*\] )?/, "", d)
		if (why == "") why = d
		reasons[file] = reasons[file] "\n    " (p == "once" ? "" : "[" p "] ") why
	} else if ($0 ~ /^not ok/) fail[p]++
	else pass[p]++
	next
}
/^# elapsed: [0-9.]+ s$/ { secs[file] = $3; total += $3; next }
/^1\.\.0 # SKIP/ {
	why = $0; sub(/^1\.\.0 # SKIP */, "", why)
	skip["once"]++; fskip[file]++
	reasons[file] = reasons[file] "\n    (whole file) " why
}
END {
	n = 0
	for (f in fskip) {
		printf "%s: %d skipped%s\n", f, fskip[f], reasons[f]
		n++
	}
	if (n == 0) print "no test point was skipped"
	split("root,uid 65534,once", ps, ",")
	for (i = 1; i <= 3; i++)
		printf "%-10s %d passed, %d failed, %d skipped\n", ps[i] ":",
		    pass[ps[i]], fail[ps[i]], skip[ps[i]]
	# The five slowest files: what sets the wall time of make -j2 check.
	m = 0
	for (f in secs) { order[++m] = f }
	for (i = 1; i <= m; i++)
		for (j = i + 1; j <= m; j++)
			if (secs[order[j]] + 0 > secs[order[i]] + 0) { t = order[i]; order[i] = order[j]; order[j] = t }
	if (m > 0) {
		printf "slowest files (of %.0f s in all):", total
		for (i = 1; i <= m && i <= 5; i++) printf " %s %.1f s%s", order[i], secs[order[i]], i < 5 && i < m ? "," : ""
		printf "\n"
	}
}' "$@"

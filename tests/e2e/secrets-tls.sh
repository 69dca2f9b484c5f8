#!/bin/bash
# secrets-tls.sh: a secret swapped in on intercepted HTTPS. Two local TLS
# servers (tlsd.py, a test CA of their own that moat trusts through net-ca)
# log what they receive. curl (Bearer, x-api-key, Basic, a query
# parameter, keep-alive, a chunked upload), python urllib, node fetch and
# git over https send the placeholder, and the secret's server receives the
# real value; what it echoes comes back as the placeholder. A second secret's
# placeholder sent to the first server is refused (403) and recorded, and
# that server never sees its value; a host no secret names stays a blind
# tunnel and gets the placeholder only; the placeholder in plain HTTP or a
# DNS name is refused. Upstream verification failure is a 502 with the
# reason; a client that trusts only its own CA gets moat's message on
# stderr. Bad requests are bounded: an oversized head (431), a client gone
# mid-request, 1000 requests on one connection. The audit holds method,
# host and path of each request and never a value.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox

PY=/usr/bin/python3
for tool in "$PY" curl openssl; do
	command -v "$tool" >/dev/null || skip_all "needs $tool"
done
export MOAT_DB="$T/audit.db"

# The test CA and a certificate for localhost from it.
(
	cd "$T" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout ca.key -out ca.pem -days 2 -subj "/CN=moat test CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout srv.key -out srv.csr -subj "/CN=localhost" &&
	printf '%s\n' 'subjectAltName=DNS:localhost,DNS:host.moat.internal,IP:127.0.0.1' \
	    'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature' \
	    'extendedKeyUsage=serverAuth' 'authorityKeyIdentifier=keyid' \
	    'subjectKeyIdentifier=hash' >ext.cnf &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	    -out srv.pem -days 2 -extfile ext.cnf
) >"$T/openssl.log" 2>&1 || skip_all "openssl could not make a test CA: $(tail -2 "$T/openssl.log")"

# tlsd NAME [-]: a server (- plain HTTP); its port in $T/NAME.port, its
# log $T/NAME.log.
tlsd() {
	"$PY" "$MOAT_SRCDIR/tests/e2e/tlsd.py" "$T/$1.port" "${2:-$T/srv.pem}" "$T/srv.key" \
	    "$T/$1.log" 2>"$T/$1.err" &
	echo $! >"$T/$1.pid"
	cleanup_hooks+=("kill $! 2>/dev/null")
	for _ in $(seq 100); do [ -s "$T/$1.port" ] && break; sleep 0.1; done
	[ -s "$T/$1.port" ] || skip_all "the test TLS server did not start: $(cat "$T/$1.err")"
	touch "$T/$1.log"
}
tlsd a
tlsd b
tlsd p -
TLSD_CLIENT_ORDER=1 tlsd o
PA=$(cat "$T/a.port")
PO=$(cat "$T/o.port")
PB=$(cat "$T/b.port")
PP=$(cat "$T/p.port")
A=https://host.moat.internal:$PA
B=https://host.moat.internal:$PB

VA="tokA-$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
VB="tokB-$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
export TOKEN_A="$VA" TOKEN_B="$VB"
# TOKEN_A's placeholder is as long as its value (45 bytes): 33 digits.
PA_RE='moat-secret-[0-9a-f]{33}'
cat >"$T/sec.conf" <<EOF
include = restricted
net-allow = localhost:$PA
net-allow = localhost:$PB
net-allow = localhost:$((PB + 1))
net-allow = localhost:$PP
secret = TOKEN_A localhost:$PA
net-ca = $T/ca.pem
EOF
PROFILE=$T/sec.conf
# count FILE TEXT: lines of FILE holding TEXT
count() { grep -c -F -- "$2" "$1" 2>/dev/null || true; }
# flat: the output on one line
flat() { printf '%s' "$out" | tr '\n' ' '; }
# sq SQL: a query of the audit database
sq() { "$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join(str(v) for v in r) for r in c.execute(sys.argv[2])))' "$MOAT_DB" "$1"; }
cp "$T/ca.pem" "$T/ws/test-ca.pem"

sandbox sh -c 'echo "$SSL_CERT_FILE $REQUESTS_CA_BUNDLE $NODE_EXTRA_CA_CERTS $CURL_CA_BUNDLE $PIP_CERT $GIT_SSL_CAINFO"; grep -c "BEGIN CERTIFICATE" /etc/moat-ca.pem'
like "the CA variables name moat's bundle, which holds the system's CAs and the run's" "$out" \
    '^/etc/moat-ca.pem /etc/moat-ca.pem /etc/moat-ca.pem /etc/moat-ca.pem /etc/moat-ca.pem /etc/moat-ca.pem
[0-9]+$'
check "the bundle has more than the run's CA (the system's too)" [ "$(printf '%s' "$out" | tail -1)" -gt 1 ]

sandbox sh -c 'curl -sS '"$A"'/echo -H "Authorization: Bearer $TOKEN_A" -H "x-api-key: $TOKEN_A"'
is "curl through the proxy: exit 0" "$rc" 0
like "what the server echoes comes back as the placeholder" "$out" \
    "^Bearer $PA_RE\\|$PA_RE\$"
is "the server received the real value as Bearer and x-api-key" \
    "$(count "$T/a.log" "\"Authorization\": \"Bearer $VA\", \"x-api-key\": \"$VA\"")" 1

# Every secret of the run has a placeholder as long as its value, so a
# body the value is swapped back in keeps its length: the upstream's
# Content-Length passes on, not chunked framing, across 2000 swaps.
sandbox sh -c 'curl -sS -D /tmp/h -o /tmp/b -H "Authorization: Bearer $TOKEN_A" '"$A"'/echo-many/2000
tr -d "\r" </tmp/h | grep -i -E "^(content-length|transfer-encoding):"; wc -c </tmp/b; grep -c "^Bearer $TOKEN_A" /tmp/b'
want=$("$PY" -c 'import sys; print(sum(8 + len(sys.argv[1]) + i % 97 for i in range(2000)))' "$VA")
is "a body with the value swapped back keeps the upstream's Content-Length" "$rc|$(flat)" \
    "0|Content-Length: $want $want 2000"
# The one swap back that would change a length: a Basic credential's
# base64 without its padding, then the password it holds, glued (the
# base64's last group and the password's first characters decode
# together). The response keeps its Content-Length, so moat cuts it
# there: the client gets a short body and never the value, and the
# event says why. (The value ends in a character no placeholder has: one
# whose last character a placeholder shared, 1 in 16 of them, would swap
# back at the same length, and pass whole with no value in it.)
export TOKEN_G="tokG-$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')z"
run_moat run -p "$PROFILE" --secret TOKEN_G=localhost:"$PA" -- \
    sh -c 'curl -sS -u "abc:$TOKEN_G" '"$A"'/echo-glued; echo "curl=$?"'
like "a swap back that would change the body's length cuts the response" "$out|$err" \
    '^curl=18\|curl: \(18\) '
is "... the cut body holds no value" "$(printf '%s\n%s' "$out" "$err" | grep -c -F "$TOKEN_G")" 0
run_moat audit show "$(sq "select run_id from runs order by rowid desc limit 1")"
like "... and the event says why" "$out" \
    'error GET host.moat.internal:[0-9]+/echo-glued -> 200 \(intercepted; secret TOKEN_G swapped; the value swapped back in the body would change its length: the response was cut\)'
# A secret whose value is shorter than a placeholder can be (20 bytes) has
# one of 44: a body moat rewrites then goes on chunked, whatever its host.
TOKEN_S=tokS-0123456789abcde run_moat run -p "$PROFILE" --secret TOKEN_S=localhost:"$PB" -- \
    sh -c 'curl -sS -D /tmp/h -o /tmp/b -H "Authorization: Bearer $TOKEN_A" '"$A"'/echo-len
tr -d "\r" </tmp/h | grep -i -E "^(content-length|transfer-encoding):"; cat /tmp/b; printf "%s" "$TOKEN_S" | wc -c'
like "with a secret of another length in the run, the body goes on chunked" "$rc|$(flat)" \
    "^0\\|Transfer-Encoding: chunked Bearer $PA_RE\\| 44\$"

# The leg to the client is moat's choice: AES-128-GCM first (TLS 1.3),
# where OpenSSL's default order (and curl's) would agree on AES-256-GCM;
# a client that puts ChaCha20 first gets it.
sandbox sh -c 'curl -sS -v -o /dev/null '"$A"'/suite 2>&1 | grep "SSL connection using"
curl -sS -v -o /dev/null --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384 '"$A"'/suite 2>&1 | grep "SSL connection using"'
like "TLS to the client: AES-128-GCM, or ChaCha20 for a client that prefers it" "$(flat)" \
    '^\* SSL connection using TLSv1.3 / TLS_AES_128_GCM_SHA256 \* SSL connection using TLSv1.3 / TLS_CHACHA20_POLY1305_SHA256$'
# The leg upstream offers OpenSSL's default suites too, AES-128-GCM first
# (as browsers and Go do); the server decides: one that keeps to its own
# order (Python's: AES-256-GCM first) keeps it, one that follows the
# client's (nginx's default) agrees on AES-128-GCM.
TOKEN_C=tokC-0123456789abcdef run_moat run -p "$PROFILE" --net-allow localhost:"$PO" \
    --secret TOKEN_C=localhost:"$PO" -- sh -c 'curl -sS '"$A"'/suite-up; curl -sS https://host.moat.internal:'"$PO"'/suite-up'
# cipher NAME PATH: the suite of PATH's request in server NAME's log
cipher() { grep "\"path\": \"$2\"" "$T/$1.log" | "$PY" -c 'import json, sys; print(json.loads(sys.stdin.readline())["cipher"])'; }
is "TLS upstream: the server's choice where it keeps its own order, else AES-128-GCM" \
    "$(flat)|$(cipher a /suite-up)|$(cipher o /suite-up)" \
    "ok GET /suite-up ok GET /suite-up|TLS_AES_256_GCM_SHA384|TLS_AES_128_GCM_SHA256"

sandbox sh -c 'curl -sS -u "me:$TOKEN_A" '"$A"'/basic'
is "Basic: the server received base64 of user:value" \
    "$(count "$T/a.log" "\"Authorization\": \"Basic $(printf 'me:%s' "$VA" | base64 -w0)\"")" 1
# A Basic credential echoed back (base64 of user:value) comes back as
# base64 of user:placeholder: in a header and in a body, for user names
# of each length modulo 3 (each alignment of the value in the base64), in
# a body where it straddles the relay's reads.
sandbox sh -c 'for u in a ab abc; do
	curl -sS -D /tmp/h -o /dev/null -u "$u:$TOKEN_A" '"$A"'/echo-header
	sed -n "s/^X-Echo: Basic \([A-Za-z0-9+\/=]*\).*/\1/p" /tmp/h | base64 -d; echo
done
for n in 16380 100000; do
	curl -sS -u "me:$TOKEN_A" '"$A"'/echo-pad/$n | tr -d . | sed "s/^Basic //" | base64 -d; echo
done'
like "an echoed Basic credential comes back as user:placeholder, in a header and in a body" \
    "$(flat)" "^a:$PA_RE ab:$PA_RE abc:$PA_RE me:$PA_RE me:$PA_RE\$"
is "... while the server received the real value each time" \
    "$(grep -E '"/echo-(header|pad/[0-9]+)"' "$T/a.log" | grep -c -E "\"Authorization\": \"Basic ($(printf 'a:%s' "$VA" | base64 -w0)|$(printf 'ab:%s' "$VA" | base64 -w0)|$(printf 'abc:%s' "$VA" | base64 -w0)|$(printf 'me:%s' "$VA" | base64 -w0))\"")" 5
# A body that echoes the value thousands of times, at every offset of the
# relay's reads and chunks: each comes back as the placeholder, as Bearer
# and as a Basic credential, and the bytes between them as they were.
sandbox sh -c 'b=$(printf "me:%s" "$TOKEN_A" | base64 -w0)
chk() { awk -v want="$1" "{ d = \$0; gsub(/[^.]/, \"\", d); if (substr(\$0, 1, length(want)) != want || length(\$0) != length(want) + (NR - 1) % 97 || length(d) != (NR - 1) % 97) bad++ } END { print NR, bad + 0 }"; }
curl -sS -H "Authorization: Bearer $TOKEN_A" '"$A"'/echo-many/6000 | chk "Bearer $TOKEN_A"
curl -sS -u "me:$TOKEN_A" '"$A"'/echo-many/6000 | chk "Basic $b"'
is "6000 echoed values in one body, Bearer and Basic: each the placeholder again" "$(flat)" "6000 0 6000 0"
is "... while the server received the real value, as Bearer and as Basic" \
    "$(grep '"/echo-many/6000"' "$T/a.log" | grep -c -F "Bearer $VA")|$(grep '"/echo-many/6000"' "$T/a.log" | grep -c -F "Basic $(printf 'me:%s' "$VA" | base64 -w0)")" "1|1"

sandbox sh -c 'curl -sS "'"$A"'/q?key=$TOKEN_A&x=1"'
is "a query parameter: the server received the real value" "$(count "$T/a.log" "\"path\": \"/q?key=$VA&x=1\"")" 1
sandbox sh -c 'printf "%s" "body-$TOKEN_A" | curl -sS -H "Transfer-Encoding: chunked" -H "Authorization: Bearer $TOKEN_A" --data-binary @- '"$A"'/upload; curl -sS '"$A"'/chunked -H "Authorization: Bearer $TOKEN_A"'
like "a chunked upload and a chunked response pass" "$out" 'one two three'
is "the chunked upload's header was swapped, its body left as written" \
    "$(grep '"/upload"' "$T/a.log" | grep -c -F "Bearer $VA")|$(grep '"/upload"' "$T/a.log" | grep -c 'body-moat-secret-')" "1|1"

sandbox sh -c 'curl -sS '"$A/k1 $A/k2 $A/k3"' -H "Authorization: Bearer $TOKEN_A"'
like "keep-alive: three requests on one curl" "$(printf '%s' "$out" | tr '\n' ' ')" 'ok GET /k1 ok GET /k2 ok GET /k3'
is "... each swapped" "$(grep -E '"/k[123]"' "$T/a.log" | grep -c -F "Bearer $VA")" 3

sandbox "$PY" -c 'import os, urllib.request as u
r = u.Request("'"$A"'/py", headers={"Authorization": "Bearer " + os.environ["TOKEN_A"]})
print(u.urlopen(r).read().decode().strip())'
is "python urllib: exit 0" "$rc" 0
is "python urllib: the server received the real value" "$(grep '"/py"' "$T/a.log" | grep -c -F "Bearer $VA")" 1

if command -v node >/dev/null; then
	sandbox node -e 'fetch("'"$A"'/node", { headers: { authorization: "Bearer " + process.env.TOKEN_A } }).then(r => r.text()).then(t => console.log(t.trim()), e => { console.log(String(e.cause || e)); process.exit(1) })'
	is "node fetch: exit 0 ($out)" "$rc" 0
	is "node fetch: the server received the real value" "$(grep '"/node"' "$T/a.log" | grep -c -F "Bearer $VA")" 1
else
	skip "node fetch: node is not installed here"
	skip "node fetch: node is not installed here"
fi

if command -v git >/dev/null; then
	sandbox sh -c 'git -c http.extraHeader="Authorization: Bearer $TOKEN_A" ls-remote '"$A"'/repo.git 2>&1 | head -3'
	is "git over https: the server received the real value with git's request" \
	    "$(grep '/repo.git/info/refs' "$T/a.log" | grep -c -F "Bearer $VA")" 1
else
	skip "git over https: git is not installed here"
fi

# A session's commands and moat mcp's run_command: the session's
# supervisor runs the interception for the session's life.
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")
run_moat session new -p "$PROFILE"
S=${out%% *}
is "a session with a secret starts" "$rc" 0
for i in 1 2; do
	run_moat session exec "$S" -- sh -c 'curl -sS '"$A"'/echo/sess'"$i"' -H "Authorization: Bearer $TOKEN_A"'
	like "session exec $i: what the server echoes comes back as the placeholder" "$rc $out" \
	    "^0 Bearer $PA_RE\\|\$"
done
is "session exec: the server received the real value for both commands" \
    "$(grep -E '"/echo/sess[12]"' "$T/a.log" | grep -c -F "Bearer $VA")" 2
is "session exec: each request is an event of its command's run" \
    "$(sq "select count(*) from events where detail like 'allowed GET host.moat.internal:$PA/echo/sess_ -> 200 (intercepted; secret TOKEN_A swapped)%'")" 2
run_moat session kill "$S"
MCP_REQ='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_command","arguments":{"command":"curl -sS '"$A"'/echo/mcp -H \"Authorization: Bearer $TOKEN_A\""},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"sec-test","version":"1"}}}}'
out=$(cd "$T/ws" && MCP_REQ="$MCP_REQ" "$PY" -c 'import json, os, subprocess, sys
p = subprocess.Popen([os.environ["MOAT"], "mcp", "-p", sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write(os.environ["MCP_REQ"].encode() + b"\n"); p.stdin.flush()
for line in p.stdout:
    m = json.loads(line)
    if m.get("id") == 1:
        sc = m.get("result", {}).get("structuredContent", {})
        print(sc.get("exit_code"), sc.get("stdout", "").strip(), sc.get("stderr", "").strip())
        break
p.stdin.close(); p.wait(30)' "$PROFILE" 2>"$T/mcp.err")
like "moat mcp run_command: curl's answer echoes the placeholder" "$out" \
    "^0 Bearer $PA_RE\\|"
is "moat mcp run_command: the server received the real value" \
    "$(grep '"/echo/mcp"' "$T/a.log" | grep -c -F "Bearer $VA")" 1

# Another secret's placeholder to the first secret's host: refused.
run_moat run -p "$PROFILE" --secret TOKEN_B=localhost:"$PB" -- sh -c \
    'curl -sS -w " %{http_code}" '"$A"'/foreign -H "Authorization: Bearer $TOKEN_B"'
like "a secret's placeholder sent to another secret's host: 403 with why" "$(flat)" \
    'placeholder of secret TOKEN_B may only be sent to its own hosts.* 403$'; [ -n "$out" ] || diag "rc $rc, stderr: $err"
is "... that server never received the request" "$(count "$T/a.log" '"/foreign"')" 0
like "... and the run's observed risk is high, saying why" \
    "$(sq "select risk_final, risk_final_reasons from runs where id = (select max(id) from runs)")" \
    '^(8[0-9]|9[0-9]|100)\|.*seen-secret-misused'
run_moat run -p "$PROFILE" -- sh -c 'curl -sS '"$A"'/fine -H "Authorization: Bearer $TOKEN_A"'
unlike "a run that only used its secret where it may go has no such reason" \
    "$(sq "select risk_final_reasons from runs where id = (select max(id) from runs)")" 'secret-misused'
run_moat run -p "$PROFILE" -- sh -c 'curl -sS --cacert test-ca.pem -w " %{http_code}" '"$B"'/blind -H "Authorization: Bearer $TOKEN_A"'
like "a host no secret names is a blind tunnel: its own certificate, it answers" "$(flat)" 'ok GET /blind +200'
is "... and receives the placeholder, never the value" \
    "$(grep '"/blind"' "$T/b.log" | grep -c 'Bearer moat-secret-')|$(count "$T/b.log" "$VA")" "1|0"
run_moat run -p "$PROFILE" -- sh -c 'curl -sS -w " %{http_code}" http://host.moat.internal:'"$((PB + 1))"'/plain -H "Authorization: Bearer $TOKEN_A"'
like "the placeholder in a plain HTTP request is refused (403)" "$(flat)" \
    "placeholder of secret TOKEN_A in a plain HTTP request.* 403$"
run_moat run -p "$PROFILE" -- sh -c 'getent hosts "$TOKEN_A.example.com"; echo "rc=$?"'
is "the placeholder in a DNS name gets no answer" "$out" "rc=2"
id=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select run_id from runs order by rowid desc limit 1").fetchone()[0])' "$MOAT_DB")
run_moat audit show "$id"
like "the DNS name is recorded as refused with why" "$out" \
    "refused $PA_RE\\.example\\.com .*the placeholder of secret TOKEN_A in a name asked of the resolver"

# The placeholder in a request body: to a secret's host not its own, and
# in plain HTTP, refused before its last byte goes; across a TLS record's
# edge too. A body to the secret's own host passes as written (above).
run_moat run -p "$PROFILE" --secret TOKEN_B=localhost:"$PB" -- sh -c \
    'curl -sS -w " %{http_code}" '"$A"'/bodyforeign --data-binary "x=$TOKEN_B"'
like "another secret's placeholder in a request body: 403 with why" "$(flat)" \
    'placeholder of secret TOKEN_B may only be sent to its own hosts, not in a request body to host.moat.internal.* 403$'
is "... the server never received it, nor the value" \
    "$(grep '"/bodyforeign"' "$T/a.log" | grep -c -E 'moat-secret-[0-9a-f]{32}')|$(count "$T/a.log" "$VB")" "0|0"
like "... recorded with the destination, and the run's observed risk is high" \
    "$(sq "select e.detail || '|' || r.risk_final from events e join runs r on r.id = e.run where e.detail like 'refused POST %/bodyforeign%'")" \
    "^refused POST host.moat.internal:$PA/bodyforeign: the placeholder of secret TOKEN_B in the request body, to a host that is not one of its own \\(intercepted\\)\\|(8[0-9]|9[0-9]|100)$"
run_moat run -p "$PROFILE" --secret TOKEN_B=localhost:"$PB" -- sh -c \
    'head -c 196588 /dev/zero | tr "\0" a >/tmp/big; printf "%s" "$TOKEN_B" >>/tmp/big; head -c 70000 /dev/zero | tr "\0" b >>/tmp/big
    curl -sS -w " %{http_code}" '"$A"'/bigforeign --data-binary @/tmp/big'
like "... in a large body, across TLS records: 403" "$(flat)" 'not in a request body to host.moat.internal.* 403$'
is "... that server never received it whole" \
    "$(grep '"/bigforeign"' "$T/a.log" | grep -c -E 'moat-secret-[0-9a-f]{32}')" 0
run_moat run -p "$PROFILE" -- sh -c 'head -c 200000 /dev/zero | tr "\0" a >/tmp/big; printf "%s" "$TOKEN_A" >>/tmp/big
    curl -sS -w " %{http_code}" http://host.moat.internal:'"$PP"'/plainbody --data-binary @/tmp/big'
like "the placeholder in a plain HTTP body: 403 with why" "$(flat)" \
    "placeholder of secret TOKEN_A in what the client sent on a plain \\(not TLS\\) connection to host.moat.internal:$PP.* 403$"
is "... that server never received it" "$(grep '"/plainbody"' "$T/p.log" | grep -c -E 'moat-secret-[0-9a-f]{32}')" 0
run_moat run -p "$PROFILE" -- sh -c 'curl -sS --noproxy "*" http://host.moat.internal:'"$PP"'/k1 --next --noproxy "*" -H "X-Key: $TOKEN_A" http://host.moat.internal:'"$PP"'/k2 2>&1; echo " curl=$?"'
like "the placeholder in a later plain request on one connection (transparent): cut off" "$(flat)" '^ok GET /k1 .*curl=(52|56)$'
is "... the server received the first request only" "$(grep -c -E '"/k[12]"' "$T/p.log")" 1
like "... recorded, naming the secret and the destination" \
    "$(sq "select detail from events where detail like 'refused %placeholder of secret TOKEN_A in what the client sent on a plain%' order by id desc limit 1")" \
    "^refused host.moat.internal:$PP .*via transparent.*the placeholder of secret TOKEN_A in what the client sent on a plain \\(not TLS\\) connection to host.moat.internal:$PP"
run_moat run -p "$PROFILE" -- sh -c 'head -c 300000 /dev/zero | tr "\0" c | curl -sS -w " %{http_code}" http://host.moat.internal:'"$PP"'/plainok --data-binary @-'
like "a plain HTTP body without a placeholder passes" "$(flat)" 'ok POST /plainok +200$'
is "... whole" "$(grep '"/plainok"' "$T/p.log" | "$PY" -c 'import json,sys; print(len(json.loads(sys.stdin.readline())["body"]))')" 300000

# HTTP rules on a secret's host: a method and a path.
printf '%s\n' "include = $T/sec.conf" "net-allow = localhost:$PA GET,HEAD /repos/**" \
    "net-allow = localhost:$PA POST /upload/*" >"$T/rules.conf"
run_moat run -p "$T/rules.conf" -- sh -c 'for r in "GET /repos/a/b" "HEAD /repos/a" "DELETE /repos/a/b" "GET /admin" "POST /upload/x" "POST /upload/x/y" "GET /repos/../admin" "GET /repos/%2e%2e/admin"; do set -- $r; curl -sS -o /dev/null --path-as-is -w "$1 $2 %{http_code}\n" -X "$1" '"$A"'"$2" -H "Authorization: Bearer $TOKEN_A" $( [ "$1" = HEAD ] && echo -I); done'
is "HTTP rules: GET and HEAD under /repos, POST one level under /upload; the rest 403" "$(flat)" \
    "GET /repos/a/b 200 HEAD /repos/a 200 DELETE /repos/a/b 403 GET /admin 403 POST /upload/x 200 POST /upload/x/y 403 GET /repos/../admin 403 GET /repos/%2e%2e/admin 403"
is "the server received the allowed requests only (no DELETE, no /admin)" \
    "$(grep -c -E '"path": "/(admin|repos/\.\.|repos/%2e)' "$T/a.log")|$(grep -c '"DELETE"' "$T/a.log")" "0|0"
like "a refused request is an event naming the rule it lacked" \
    "$(sq "select detail from events where detail like 'refused DELETE%'")" \
    "^refused DELETE host.moat.internal:$PA/repos/a/b: no net-allow HTTP rule for host.moat.internal allows DELETE /repos/a/b \\(intercepted\\)$"
printf 'include = %s\nnet-allow = localhost:%s GET /x\n' "$T/sec.conf" "$PB" >"$T/badrule.conf"
run_moat run -p "$T/badrule.conf" -- true
like "an HTTP rule for a host no secret names is refused, saying why" "$rc $err" \
    "^125 .*badrule.conf:2: net-allow = localhost:$PB GET /x: a method or path applies only to a secret's host"

# Upstream verification: without net-ca, the test server's certificate fails.
grep -v '^net-ca' "$PROFILE" >"$T/noca.conf"
run_moat run -p "$T/noca.conf" -- sh -c 'curl -sS -w " %{http_code}" '"$A"'/unverified -H "Authorization: Bearer $TOKEN_A"'
like "upstream verification failure: 502 with the reason" "$(flat)" \
    'certificate of localhost failed verification: unable to get local issuer certificate.* 502$'
is "... and nothing reached the server" "$(count "$T/a.log" '"/unverified"')" 0
# The system's trust store, as OpenSSL finds it (moat's own SSL_CERT_FILE),
# verifies the host without net-ca. moat loads it at the run's first
# upstream handshake: two connections at once both wait for it.
SSL_CERT_FILE=$T/ca.pem run_moat run -p "$T/noca.conf" -- sh -c 'for i in 1 2; do
	curl -sS -o /dev/null -w "%{http_code}\n" '"$A"'/sysstore$i -H "Authorization: Bearer $TOKEN_A" >/tmp/c$i &
done; wait; cat /tmp/c1 /tmp/c2'
is "the system's trust store (SSL_CERT_FILE) verifies the host, for two first connections at once" \
    "$(flat)|$(grep -c '"/sysstore[12]"' "$T/a.log")" "200 200|2"
# Its directory (SSL_CERT_DIR, certificates by the hash of their name) is
# looked in first, and the bundle read only for a name the directory
# lacks. The bundle here is a pipe that counts its readers: moat reads it
# once at the start, for the sandbox's own bundle, and not again.
mkdir -p "$T/certdir"
cp "$T/ca.pem" "$T/certdir/test-ca.pem"
if openssl rehash "$T/certdir" >/dev/null 2>&1 || c_rehash "$T/certdir" >/dev/null 2>&1; then
	rm -f "$T/bundle.fifo" "$T/fifo.reads"
	mkfifo "$T/bundle.fifo"
	# Each open gets a pipe of its own: the one read is replaced before
	# the next opener comes (moat may still be reading the first).
	( for n in 1 2; do cat "$T/ca.pem" >"$T/bundle.fifo"
		rm -f "$T/bundle.fifo"; mkfifo "$T/bundle.fifo"; echo "$n" >>"$T/fifo.reads"
	done ) &
	writer=$!
	SSL_CERT_FILE=$T/bundle.fifo SSL_CERT_DIR=$T/certdir run_moat run -p "$T/noca.conf" -- \
	    sh -c 'curl -sS -o /dev/null -w "%{http_code}" '"$A"'/certdir -H "Authorization: Bearer $TOKEN_A"'
	reads=$(tr '\n' ' ' <"$T/fifo.reads" 2>/dev/null)
	# A writer still waiting for a second reader is let go (a pipe
	# opened for reading and writing never waits).
	exec 9<>"$T/bundle.fifo"
	wait "$writer" 2>/dev/null
	exec 9<&-
	is "the trust store's directory verifies the host; the bundle is read once (the sandbox's), not for the store" \
	    "$out|$reads" "200|1 "
else
	skip "openssl rehash (or c_rehash) is needed to make a directory of certificates"
fi

# A client that trusts only its own CA (a pinned one) refuses moat's.
run_moat run -p "$PROFILE" -- sh -c 'curl -sS --cacert test-ca.pem '"$A"'/pinned 2>/dev/null; echo "curl=$?"'
like "a client that trusts only its own CA fails" "$out" 'curl=(60|35)'
like "moat says why on stderr, naming the host and the secret" "$err" \
    "moat: host.moat.internal: the client refused moat's certificate, so secret TOKEN_A cannot be swapped in"

# Large bodies go on through a second thread while the next part is read
# and decrypted: uploads of a few MB, with a length and chunked, arrive
# whole.
run_moat run -p "$PROFILE" -- sh -c 'head -c 3000000 /dev/urandom | base64 -w 76 >/tmp/up
echo "$(wc -c </tmp/up) $(md5sum </tmp/up | cut -c1-32)"
curl -sS -w " %{http_code}\n" -H "Authorization: Bearer $TOKEN_A" --data-binary @/tmp/up '"$A"'/upload-big
curl -sS -w " %{http_code}\n" -H "Transfer-Encoding: chunked" --data-binary @/tmp/up '"$A"'/upload-bigc'
# logmd5 PATH: the length and md5 of the body the server logged for PATH
logmd5() { grep "\"path\": \"$1\"" "$T/a.log" | "$PY" -c 'import hashlib, json, sys
b = json.loads(sys.stdin.readline())["body"].encode("latin-1"); print(len(b), hashlib.md5(b).hexdigest())'; }
sum=$(printf '%s\n' "$out" | head -1)
like "a 4 MB upload, with a length and chunked, through interception" "$(flat)" \
    '^4052632 [0-9a-f]{32} ok POST /upload-big +200 ok POST /upload-bigc +200 ?$'
is "... each arrived whole" "$(logmd5 /upload-big) $(logmd5 /upload-bigc)" "$sum $sum"

# A slow reader: moat holds a few buffers of a response, never the
# response. The client reads 64 KiB of a 128 MiB body and stops until
# the server's writes stop; by then the server could send a part of the
# body only (what the sockets' buffers and moat's hold, some MB) and
# moat's memory has not grown with the body. The rest then arrives whole.
rm -f "$T/ws/y" "$T/ws/q" "$T/ws/s" "$T/ws/g"
(cd "$T/ws" && exec "$MOAT" run -p "$PROFILE" -- "$PY" -c 'import http.client, os, ssl, time
def wait(f):
    open(f[0], "w").close()
    for _ in range(1200):
        if os.path.exists(f[1]):
            break
        time.sleep(0.1)
wait("yq")
c = http.client.HTTPSConnection("host.moat.internal", '"$PA"', context=ssl.create_default_context())
c.request("GET", "/bytes/134217728", headers={"Authorization": "Bearer " + os.environ["TOKEN_A"]})
r = c.getresponse()
got = len(r.read(65536))
wait("sg")
bad = 0
while True:
    b = r.read(1 << 20)
    if not b:
        break
    got += len(b)
    bad += len(b) - b.count(b"x")
print(got, bad)') >"$T/slow.out" 2>"$T/slow.err" </dev/null &
mpid=$!
# Before the request: moat's memory and what the server wrote so far.
spid=$(cat "$T/a.pid")
for _ in $(seq 600); do [ -e "$T/ws/y" ] && break; sleep 0.1; done
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$mpid/status" 2>/dev/null)
r0=$(awk '/^wchar/ { print $2 }' "/proc/$spid/io" 2>/dev/null)
touch "$T/ws/q"
for _ in $(seq 600); do [ -e "$T/ws/s" ] && break; sleep 0.1; done
# The server's writes have stopped: the same count over five polls in a
# row.
last=-1 same=0
for _ in $(seq 600); do
	r=$(awk '/^wchar/ { print $2 }' "/proc/$spid/io" 2>/dev/null)
	if [ "$r" = "$last" ]; then
		same=$((same + 1))
		[ "$same" -ge 5 ] && break
	else
		same=0 last=$r
	fi
	sleep 0.1
done
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$mpid/status" 2>/dev/null)
touch "$T/ws/g"
wait "$mpid"
diag "slow reader: the server wrote $(( (last - r0) >> 10 )) KiB until it had to wait; moat's RSS $rss0 kB before the request, peak $hwm kB"
check "a slow reader: the server could send a part of the 128 MiB body only (under 48 MiB)" \
    test -n "$r0" -a "$same" -ge 5 -a $((last - r0)) -lt $((48 << 20))
check "... and moat's memory grew by under 16 MiB" test -n "$rss0" -a -n "$hwm" -a $((hwm - rss0)) -lt 16384
is "... then the rest came, whole" "$(cat "$T/slow.out")" "134217728 0"

# Bounded: an oversized head, a client gone mid-request, 1000 requests on
# one connection.
run_moat run -p "$PROFILE" -- "$PY" -c 'import http.client, ssl, socket
c = http.client.HTTPSConnection("host.moat.internal", '"$PA"', context=ssl.create_default_context())
c.putrequest("GET", "/big"); c.putheader("X-Big", "a" * 70000); c.endheaders()
print(c.getresponse().status)
s = ssl.create_default_context().wrap_socket(socket.create_connection(("host.moat.internal", '"$PA"')), server_hostname="host.moat.internal")
s.sendall(b"GET /cut HTTP/1.1\r\nHost: x\r\nX-Half: "); s.close()
c = http.client.HTTPSConnection("host.moat.internal", '"$PA"', context=ssl.create_default_context())
ok = 0
for i in range(1000):
    c.request("GET", "/n%d" % i, headers={"Authorization": "Bearer moat"})
    r = c.getresponse(); r.read(); ok += r.status == 200
print(ok)'
is "an oversized request head: 431; 1000 requests on one kept-alive connection all answered" \
    "$(flat)" "431 1000"
id=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select run_id from runs order by rowid desc limit 1").fetchone()[0])' "$MOAT_DB")
run_moat audit show "$id"
like "the oversized head is recorded" "$out" 'refused host.moat.internal:[0-9]+: a request head over 64 KiB'
like "the client gone mid-request is recorded" "$out" 'the client closed in the middle of a request'
is "the 1000 requests are 1000 events" "$(sq "select count(*) from events where run = (select max(id) from runs) and detail like 'allowed GET host.moat.internal:%/n% -> 200 %'")" 1000

# The audit: each request's method, host and path; never a value.
like "an intercepted request is an event with method, host, path, status" \
    "$(sq "select detail from events where detail like 'allowed GET %/echo -> %'")" \
    "^allowed GET host.moat.internal:$PA/echo -> 200 \\(intercepted; secret TOKEN_A swapped\\); out [0-9]+ B, in [0-9]+ B, [0-9.]+ s$"
is "the event's host, port and verdict are fields of their own" \
    "$(sq "select host, port, verdict, bytes_out > 0, bytes_in > 0 from events where detail like 'allowed GET %/echo -> %'")" \
    "host.moat.internal|$PA|allowed|1|1"
is "a query is redacted in the event" \
    "$(sq "select count(*) from events where detail like 'allowed GET host.moat.internal:$PA/q?... -> 200 %'")" 1
is "no value anywhere in the audit database" "$(cat "$MOAT_DB"* | grep -c -a -e "$VA" -e "$VB")" 0

done_testing

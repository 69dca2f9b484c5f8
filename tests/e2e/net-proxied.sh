#!/bin/bash
# net-proxied.sh: the proxied network mode with a real upstream proxy
# (tinyproxy) the test starts on the host's loopback. tinyproxy binds its
# outgoing connections to 127.0.0.3, so the web server can tell a connection
# that came through the upstream (peer 127.0.0.3) from one that did not.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox

PY=/usr/bin/python3
TP=/usr/bin/tinyproxy
if ! [ -x "$PY" ] || ! [ -x "$TP" ] || ! command -v curl >/dev/null; then
	skip_all "needs /usr/bin/python3, tinyproxy and curl"
fi
flat() { printf '%s' "$1" | tr '\n' ' '; }

mkdir -p "$T/www"
echo "hello through the upstream" >"$T/www/hello.txt"
freeport() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
www_start "$T/www"

U=$(freeport)
cat >"$T/tinyproxy.conf" <<EOF
Port $U
Listen 127.0.0.1
Bind 127.0.0.3
Timeout 30
LogFile "$T/tinyproxy.log"
LogLevel Connect
MaxClients 50
ConnectPort $P
ConnectPort 443
EOF
is_root && printf 'User root\nGroup root\n' >>"$T/tinyproxy.conf"
"$TP" -d -c "$T/tinyproxy.conf" >"$T/tinyproxy.out" 2>&1 &
cleanup_hooks+=("kill $! 2>/dev/null")
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$U") 2>/dev/null && break
	sleep 0.1
done

cat >"$T/proxied.conf" <<EOF
include = proxied
net-upstream = http://127.0.0.1:$U
net-allow = localhost:$P
EOF
cat >"$T/env.conf" <<EOF
include = proxied
net-upstream = env
EOF
D=$(freeport)
cat >"$T/down.conf" <<EOF
include = proxied
net-upstream = http://127.0.0.1:$D
EOF

PROFILE=$T/proxied.conf
sandbox curl -sS -m 10 "http://host.moat.internal:$P/hello.txt"
is "plain HTTP goes on through the upstream proxy" "$out" "hello through the upstream"
sandbox curl -sS -m 10 -p "http://host.moat.internal:$P/hello.txt"
is "a CONNECT tunnel goes on through the upstream proxy" "$out" "hello through the upstream"
sandbox curl -sS -m 10 --socks5-hostname 127.0.0.1:1080 "http://host.moat.internal:$P/hello.txt"
is "SOCKS5 goes on through the upstream proxy" "$out" "hello through the upstream"
sandbox "$PY" -c "import urllib.request as u; print(u.urlopen('http://host.moat.internal:$P/hello.txt', timeout=10).read().decode().strip())"
is "python urllib through the upstream proxy" "$out" "hello through the upstream"
# A client that ignores the proxy variables: the sandbox's resolver gives a
# stand-in, the connection is intercepted and goes on through the upstream
# by name.
sandbox bash -c "exec 3<>/dev/tcp/host.moat.internal/$P && printf 'GET /hello.txt HTTP/1.0\r\n\r\n' >&3 && tail -1 <&3"
is "bash /dev/tcp (transparent) goes on through the upstream proxy" "$out" "hello through the upstream"

peers=$(awk '{print $1}' "$T/srv.log" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')
is "every request reached the server from tinyproxy, none directly" "$peers" "127.0.0.3=5 "
is "tinyproxy logged five CONNECTs to the server, asked for as the upstream's localhost" \
    "$(grep -c "CONNECT.*localhost:$P" "$T/tinyproxy.log")" 5

sandbox curl -sS -m 10 -w ' %{http_code}' http://not-listed.test/
like "the allowlist on top still refuses, with 403" "$(flat "$out")" \
    "not allowed by profile .*proxied.conf \(no net-allow rule matches\).* 403$"
sandbox curl -sS -m 10 -w ' %{http_code}' http://169.254.169.254/latest/
like "a metadata address literal is refused in proxied mode too" "$(flat "$out")" "403$"

run_moat run -v -p "$T/proxied.conf" -- curl -sS -m 10 "http://host.moat.internal:$P/hello.txt"
like "moat run -v logs the connection as going via the upstream" "$err" \
    "allowed host.moat.internal:$P via http proxy and upstream 127.0.0.1:$U"

: >"$T/srv.log"
# NO_PROXY names localhost: --noproxy '' overrides.
HTTPS_PROXY=http://127.0.0.1:$U PROFILE=$T/env.conf sandbox curl -sS -m 10 --noproxy '' "http://localhost:$P/hello.txt"
is "net-upstream = env takes the caller's HTTPS_PROXY (no allowlist: all names pass)" \
    "$out" "hello through the upstream"
like "and that request came through tinyproxy" "$(cat "$T/srv.log")" "^127.0.0.3 GET /hello.txt"
env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy \
    "$MOAT" run -p "$T/env.conf" -- true >/dev/null 2>"$T/env.err"
rc=$?
is "net-upstream = env with no proxy set: moat fails (125)" "$rc" 125
like "and says which variables it looked for" "$(cat "$T/env.err")" "HTTPS_PROXY"

# The record: in proxied mode the addr column is the destination's address
# (none for a name: the upstream resolves it), and the upstream is named in
# the text; audit show says each thing once.
export MOAT_DB="$T/audit.db"
PROFILE=$T/proxied.conf sandbox curl -sS -m 10 "http://host.moat.internal:$P/hello.txt" http://not-listed.test/
ev=$("$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("%s %s addr=%s" % r for r in c.execute("SELECT host, verdict, coalesce(addr, \"\") FROM events WHERE kind = \"net\" AND run = (SELECT max(id) FROM runs) ORDER BY host")))' "$MOAT_DB" 2>&1)
is "proxied: the addr column holds no upstream address for a name" "$ev" "host.moat.internal allowed addr=
not-listed.test refused addr="
rid=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT max(id) FROM runs").fetchone()[0])' "$MOAT_DB")
show=$("$MOAT" audit --db "$MOAT_DB" show "$rid" 2>&1)
like "audit show: the allowed connection, via the upstream by host:port" "$show" \
    "net +allowed host.moat.internal:$P via http proxy and upstream 127.0.0.1:$U: localhost:$P;"
is "audit show: the refusal's reason is said once" \
    "$(printf '%s\n' "$show" | grep -E '^ +[0-9.]+s net ' | grep 'not-listed.test' | grep -o 'no net-allow rule matches' | wc -l)" 1
unset MOAT_DB

# net-allow-private = yes and no loopback rule: 127.0.0.1 inside is still
# the sandbox's own loopback (NO_PROXY), never the upstream's nor the
# host's; the host's loopback is host.moat.internal, through the upstream.
cat >"$T/private.conf" <<EOF
include = proxied
net-upstream = http://127.0.0.1:$U
net-allow-private = yes
EOF
own_probe='mkdir -p /tmp/own && echo "hello from the sandbox" >/tmp/own/hello.txt
cd /tmp/own && '"$PY"' -m http.server --bind 127.0.0.1 '"$P"' >/dev/null 2>&1 &
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/'"$P"') 2>/dev/null && break; sleep 0.1; done
curl -sS -m 10 http://127.0.0.1:'"$P"'/hello.txt
curl -sS -m 10 http://localhost:'"$P"'/hello.txt
curl -sS -m 10 http://host.moat.internal:'"$P"'/hello.txt
kill $!'
: >"$T/srv.log"
n0=$(grep -c "CONNECT" "$T/tinyproxy.log")
PROFILE=$T/private.conf sandbox bash -c "$own_probe"
is "proxied, net-allow-private = yes: 127.0.0.1 and localhost are the sandbox's own, host.moat.internal the host's" \
    "$(flat "$out")" "hello from the sandbox hello from the sandbox hello through the upstream"
is "... the host's server saw one request, from the upstream" "$(awk '{print $1}' "$T/srv.log" | tr '\n' ' ')" "127.0.0.3 "
is "... and the upstream saw one CONNECT, to its localhost" \
    "$(grep "CONNECT" "$T/tinyproxy.log" | tail -n +$((n0 + 1)) | grep -c "localhost:$P")" 1

PROFILE=$T/down.conf
sandbox bash -c "s=\$(date +%s%N); curl -sS -m 10 -o /dev/null -w '%{http_code}' http://anything.test/; e=\$(date +%s%N); echo \" \$(( (e - s) / 1000000 ))\""
read -r code ms <<<"$out"
check "upstream down: 502 (got $code) at once (${ms} ms), no hang" \
    test "$code" = 502 -a "${ms:-9999}" -lt 2000
sandbox curl -sS -m 10 http://anything.test/
like "upstream down: the 502 names the upstream's host:port, not only the destination" \
    "$out" "^moat: anything.test:80: upstream proxy 127.0.0.1:$D: connect: Connection refused"

done_testing

#!/bin/bash
# net-transparent.sh: clients that ignore the proxy variables, in restricted
# and proxied modes. Their connect() is intercepted (seccomp notification)
# and served by the same allowlist as the proxies, and the sandbox's own
# resolver answers allowed names only: a raw python socket, bash's /dev/tcp,
# curl --noproxy, node's fetch, a Go program and getent hosts reach an
# allowed host on the host's loopback and are refused elsewhere, each
# recorded; a TLS client
# that connects to a bare address is judged by the server name it sends, an
# HTTP one by its Host header.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! command -v curl >/dev/null; then
	skip_all "needs /usr/bin/python3 and curl"
fi

mkdir -p "$T/www"
echo "hello from the host" >"$T/www/hello.txt"
www_start "$T/www"
export MOAT_DB="$T/audit.db"
flat() { printf '%s' "$1" | tr '\n' ' '; }
# The net events of the last run: "host:port verdict via" per line.
events() {
	"$PY" -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
for h, p, v, t in c.execute("SELECT host, port, verdict, coalesce(detail, \"\") FROM events WHERE kind = \"net\" AND run = (SELECT max(id) FROM runs) ORDER BY id"):
    print("%s:%s %s %s" % (h, "-" if p is None else p, v, "transparent" if "via transparent" in t else "resolver" if "resolver" in t else "proxy"))' "$MOAT_DB"
}

cat >"$T/tr.conf" <<EOF
include = restricted
net-allow = www.test:$P
net-allow = localhost:$P
net-resolve = www.test=127.0.0.1
net-allow-private = yes
EOF
PROFILE=$T/tr.conf

# The resolver: allowed names get an address (the host's loopback is a
# stand-in of 198.18.0.0/15, since 127.0.0.1 is the sandbox's own), others
# are refused.
sandbox sh -c 'cat /etc/resolv.conf; getent hosts www.test; getent hosts host.moat.internal; getent hosts evil.test; echo "rc=$?"'
like "resolv.conf names the sandbox's own resolver" "$out" "^nameserver 127\.0\.0\.1"
like "getent hosts of an allowed name answers (a stand-in for the host's loopback)" "$out" \
    "198\.18\.[0-9]+\.[0-9]+ +www\.test"
like "getent hosts host.moat.internal answers (localhost:PORT rule)" "$out" \
    "198\.18\.[0-9]+\.[0-9]+ +host\.moat\.internal"
like "getent hosts of a name no rule names fails" "$out" "rc=2$"
like "the refused name is recorded" "$(events)" "^evil\.test:- refused resolver"

# The rebinding defence holds in the resolver too: an allowed name whose
# address is private gets no address (and the host resolver is never asked
# for a name no rule names, so nothing leaves by DNS).
cat >"$T/rb.conf" <<EOF
include = restricted
net-allow = rebind.test:$P
net-resolve = rebind.test=10.1.2.3
EOF
run_moat run -p "$T/rb.conf" -- sh -c 'getent hosts rebind.test; echo "rc=$?"'
is "an allowed name that resolves to a private address gets none" "$out" "rc=2"

# On a terminal, after the run, moat names the refused name once and the
# line that would allow it.
if command -v script >/dev/null; then
	out=$( (cd "$T/ws" && script -qec "$(printf '%q ' "$MOAT" run -p "$T/tr.conf" -- \
	    sh -c 'getent hosts evil.test; getent hosts evil.test; true')" /dev/null) 2>&1 </dev/null | tr -d '\r')
	like "on a terminal: the refused name, once, and the net-allow line that would allow it" \
	    "$out" "moat: refused the name evil\.test: no net-allow rule names it; to allow it, add \"net-allow = evil\.test\""
	like "... and the summary line names it without a port" "$out" "moat: refused connections to evil\.test$"
else
	skip "the summary on a terminal: script(1) is not installed"
fi

# A client with a DNS server of its own (a UDP socket connected to
# 8.8.8.8:53) is answered by the sandbox's resolver, on the same policy.
sandbox "$PY" -c '
import socket, struct
def q(name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect(("8.8.8.8", 53))
    s.send(struct.pack(">HHHHHH", 7, 0x100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0\0\1\0\1")
    a = s.recv(512)
    print(name, "rcode", a[3] & 15, "answers", a[7], "from", s.getpeername()[0])
q("www.test")
q("evil.test")'
is "DNS to 8.8.8.8:53 over a connected UDP socket: the sandbox's resolver answers (NXDOMAIN for a refused name)" \
    "$(flat "$out")" "www.test rcode 0 answers 1 from 127.0.0.1 evil.test rcode 3 answers 0 from 127.0.0.1"

# bash's /dev/tcp and a raw python socket to an allowed name: through the
# interception to the host's server, recorded as transparent.
: >"$T/srv.log"
sandbox bash -c "exec 3<>/dev/tcp/www.test/$P && printf 'GET /hello.txt HTTP/1.0\r\n\r\n' >&3 && tail -1 <&3"
is "bash /dev/tcp to an allowed host reaches it" "$out" "hello from the host"
like "... recorded as allowed, transparent" "$(events)" "^www\.test:$P allowed transparent"
sandbox "$PY" -c "
import socket
s = socket.create_connection(('host.moat.internal', $P), timeout=10)
s.sendall(b'GET /hello.txt HTTP/1.0\r\n\r\n')
b = b''
while True:
    d = s.recv(4096)
    if not d: break
    b += d
print(b.decode().splitlines()[-1])
print(s.getpeername()[1] != $P and 'peer rewritten' or 'peer kept')"
like "a raw python socket to host.moat.internal:PORT reaches the host's server" "$(flat "$out")" \
    "^hello from the host "
like "... recorded" "$(events)" "^host\.moat\.internal:$P allowed transparent"
is "the host's server saw both requests" "$(grep -c 'GET /hello.txt' "$T/srv.log")" 2

# Refused: a port no rule allows on an allowed name, and a bare address no
# rule names; at once, with EACCES, recorded.
Q=$((P == 65535 ? P - 1 : P + 1))
sandbox bash -c "(exec 3<>/dev/tcp/www.test/$Q) 2>&1; echo rc=\$?"
like "bash /dev/tcp to a port no rule allows: Permission denied" "$(flat "$out")" \
    "Permission denied.*rc=1"
like "... recorded as refused" "$(events)" "^www\.test:$Q refused transparent"
sandbox "$PY" -c "
import socket
try:
    socket.create_connection(('198.51.100.7', 9), timeout=5)
    print('connected')
except OSError as e:
    print(e.errno, e.strerror)"
is "a raw python socket to an address no rule names: EACCES" "$out" "13 Permission denied"
like "... recorded" "$(events)" "^198\.51\.100\.7:9 refused transparent"

# IPv6 sockets too: a bare IPv6 address no rule names is refused, and an
# IPv4-mapped address of an allowed name is carried.
sandbox "$PY" -c "
import socket
try:
    socket.create_connection(('2001:db8::7', 9), timeout=5)
    print('connected')
except OSError as e:
    print(e.errno)
a = socket.getaddrinfo('www.test', $P, socket.AF_INET)[0][4][0]
s = socket.socket(socket.AF_INET6)
s.settimeout(10)
s.connect(('::ffff:' + a, $P))
s.sendall(b'GET /hello.txt HTTP/1.0\\r\\n\\r\\n')
b = b''
while True:
    d = s.recv(4096)
    if not d: break
    b += d
print(b.decode().splitlines()[-1])"
is "IPv6 sockets: a bare address refused (EACCES), a mapped allowed one carried" \
    "$(flat "$out")" "13 hello from the host"
like "... the refusal recorded" "$(events)" "^\[?2001:db8::7\]?:9 refused transparent"

# curl told to ignore the proxies goes the same way.
sandbox curl -sS --noproxy '*' -m 10 "http://www.test:$P/hello.txt"
is "curl --noproxy '*' reaches the allowed host" "$out" "hello from the host"

# An HTTP client that connects to an address it resolved elsewhere is
# judged by its Host header; one naming no allowed host gets moat's 403.
http_raw() {	# ADDRESS HOST
	sandbox "$PY" -c "
import socket, sys
s = socket.create_connection(('$1', $P), timeout=10)
s.sendall(b'GET /hello.txt HTTP/1.0\r\nHost: $2:$P\r\n\r\n')
b = b''
while True:
    d = s.recv(4096)
    if not d: break
    b += d
t = b.decode(errors='replace').splitlines()
print(t[0], '|', t[-1])"
}
http_raw 203.0.113.9 www.test
like "HTTP to a bare address with Host: www.test reaches the host's server" "$out" \
    "^HTTP/1\.[01] 200 .*\| hello from the host$"
like "... recorded by its Host" "$(events)" "^www\.test:$P allowed transparent"
http_raw 203.0.113.9 evil.test
like "Host: evil.test gets moat's 403 naming the host" "$out" \
    "^HTTP/1\.1 403 .*\| moat: evil\.test:$P not allowed by profile"
like "... recorded" "$(events)" "^evil\.test:$P refused transparent"

# TLS: the server name decides. A TLS server for tls.test on the host's
# loopback, with a certificate made here.
if command -v openssl >/dev/null; then
	mkdir -p "$T/ws/tls"
	if openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tls.test \
	    -addext subjectAltName=DNS:tls.test,DNS:other.test \
	    -keyout "$T/ws/tls/key.pem" -out "$T/ws/tls/cert.pem" >/dev/null 2>&1; then
		"$PY" - "$T/ws/tls" "$T/tlsport" <<'EOF' 2>"$T/tls.err" &
import socket, ssl, sys, threading
d, out = sys.argv[1:3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/cert.pem", d + "/key.pem")
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
open(out + ".tmp", "w").write(str(ls.getsockname()[1]))
import os; os.rename(out + ".tmp", out)
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
        t.sendall(b"tls hello\n")
        t.close()
    except Exception:
        c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
		cleanup_hooks+=("kill $! 2>/dev/null")
		for _ in $(seq 50); do [ -s "$T/tlsport" ] && break; sleep 0.1; done
		TP=$(cat "$T/tlsport" 2>/dev/null)
	fi
	if [ -n "${TP:-}" ]; then
		cat >"$T/tls.conf" <<EOF
include = restricted
net-allow = tls.test:$TP
net-resolve = tls.test=127.0.0.1
net-resolve = other.test=127.0.0.1
net-allow-private = yes
EOF
		tls_raw() {	# SERVER-NAME
			run_moat run -p "$T/tls.conf" -- "$PY" -c "
import socket, ssl
ctx = ssl.create_default_context(cafile='tls/cert.pem')
s = socket.create_connection(('192.0.2.10', $TP), timeout=10)
try:
    t = ctx.wrap_socket(s, server_hostname='$1')
    print(t.recv(100).decode().strip())
except ssl.SSLError as e:
    print('ssl error:', e.reason)"
		}
		tls_raw tls.test
		is "TLS to a bare address with server name tls.test: allowed, handshake with the host's server" \
		    "$out" "tls hello"
		like "... recorded by its server name" "$(events)" "^tls\.test:$TP allowed transparent"
		tls_raw other.test
		is "TLS with server name other.test: refused with an access_denied alert" "$out" \
		    "ssl error: TLSV1_ALERT_ACCESS_DENIED"
		like "... recorded" "$(events)" "^other\.test:$TP refused transparent"
	else
		skip "TLS server name: the test's TLS server did not start: $(cat "$T/tls.err" 2>/dev/null)"
	fi
else
	skip "TLS server name: openssl is not installed"
fi

# node 20's fetch ignores the proxy variables.
if command -v node >/dev/null; then
	sandbox node -e "
fetch('http://www.test:$P/hello.txt').then(r => r.text()).then(t => console.log('ok', t.trim()), e => console.log('error', e.cause && e.cause.code))
.then(() => fetch('http://www.test:$Q/')).then(r => console.log('ok', r.status), e => console.log('error', e.cause && e.cause.code))
.then(() => fetch('http://evil.test/')).then(r => console.log('ok', r.status), e => console.log('error', e.cause && e.cause.code))"
	is "node fetch: the allowed host answers; a refused port EACCES; a refused name does not resolve" \
	    "$(flat "$out")" "ok hello from the host error EACCES error ENOTFOUND"
	ev=$(events)
	like "... recorded: allowed" "$ev" "^www\.test:$P allowed transparent"
	like "... recorded: the refused port" "$ev" "^www\.test:$Q refused transparent"
	like "... recorded: the refused name" "$ev" "^evil\.test:- refused resolver"
else
	skip "node fetch: node is not installed"
fi

# A Go program with Go's own resolver and dialer (no cgo, no getaddrinfo).
if command -v go >/dev/null; then
	mkdir -p "$T/go"
	cat >"$T/go/main.go" <<'EOF'
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	r := &net.Resolver{PreferGo: true}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := r.LookupHost(ctx, os.Args[1])
	fmt.Println("lookup", len(a), err)
	d := net.Dialer{Resolver: r}
	c, err := d.DialContext(ctx, "tcp", os.Args[2])
	if err != nil {
		fmt.Println("dial", err)
		return
	}
	fmt.Fprintf(c, "GET /hello.txt HTTP/1.0\r\n\r\n")
	b, _ := io.ReadAll(c)
	fmt.Println("read", string(b[len(b)-20:]))
}
EOF
	if (cd "$T/go" && CGO_ENABLED=0 GOCACHE="$T/go/cache" GOPATH="$T/go/path" \
	    GO111MODULE=off go build -o "$T/ws/godial" main.go) >"$T/go/build.log" 2>&1; then
		sandbox ./godial www.test "www.test:$P"
		is "Go's resolver and dialer reach the allowed host" "$(flat "$out")" \
		    "lookup 1 <nil> read hello from the host"
		like "... recorded" "$(events)" "^www\.test:$P allowed transparent"
		sandbox ./godial evil.test "www.test:$Q"
		like "Go: a name no rule names is no such host; a refused port is permission denied" \
		    "$(flat "$out")" "^lookup 0 lookup evil\.test on 127\.0\.0\.1:53: no such host dial .*connect: permission denied$"
	else
		skip "Go: the test program did not build: $(tail -1 "$T/go/build.log")"
	fi
else
	skip "Go's resolver and dialer: go is not installed"
fi

# A session's commands are intercepted the same way, each on its own row.
run_moat session new -p "$T/tr.conf"
S=$(printf '%s\n' "$out" | tail -1)
if [ "$rc" = 0 ] && [ -n "$S" ]; then
	cleanup_hooks+=("'$MOAT' session kill $S >/dev/null 2>&1")
	run_moat session exec "$S" -- bash -c "exec 3<>/dev/tcp/www.test/$P && printf 'GET /hello.txt HTTP/1.0\r\n\r\n' >&3 && tail -1 <&3; (exec 4<>/dev/tcp/www.test/$Q) 2>&1"
	like "session exec: /dev/tcp reaches the allowed host, a refused port is denied" \
	    "$(flat "$out")" "^hello from the host .*Permission denied"
	ev=$(events)
	like "... both recorded on the command's row" "$ev" \
	    "www\.test:$Q refused transparent.*|www\.test:$P allowed transparent"
	is "... as two events" "$(printf '%s\n' "$ev" | grep -c transparent)" 2
	run_moat session kill "$S"
else
	not_ok "session new with the transparent profile: $err"
fi

# Where moat may not take the sandbox's socket (here: moat itself under a
# filter that denies pidfd_getfd, as a hardened host's Yama ptrace_scope
# of 2 would), such a connection fails as without moat, and is recorded.
DENY=${MOAT_BUILDDIR:-$(dirname "$MOAT")}/tests/deny-syscall
if [ -x "$DENY" ]; then
	out=$( (cd "$T/ws" && "$DENY" pidfd_getfd "$MOAT" doctor) 2>&1)
	like "doctor under that filter: net-transparent is a warning saying connections are only recorded" \
	    "$out" "^warn +net-transparent +pidfd_getfd: Operation not permitted.*refused and recorded, not carried"
	out=$( (cd "$T/ws" && "$DENY" pidfd_getfd "$MOAT" run -p "$T/tr.conf" -- \
	    bash -c "(exec 3<>/dev/tcp/www.test/$P) 2>&1; echo rc=\$?") 2>&1)
	like "record only: /dev/tcp to an allowed host fails as it would without moat" "$(flat "$out")" \
	    "Network is unreachable.*rc=1"
	like "... and is recorded as refused, with the resolver's name and why" "$(events)" \
	    "^www\.test:$P refused transparent"
	like "... the reason names pidfd_getfd" \
	    "$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT rule FROM events WHERE kind = \"net\" ORDER BY id DESC LIMIT 1").fetchone()[0])' "$MOAT_DB")" \
	    "may not take the sandbox's socket \(pidfd_getfd: Operation not permitted\)"
	# Where moat may not even read the address (process_vm_readv denied
	# too, as under Yama), nothing is intercepted: the sandbox's own
	# loopback still works, the rest finds no route, and the run's record
	# says once that connect() was not seen.
	out=$( (cd "$T/ws" && "$DENY" process_vm_readv "$MOAT" run -p "$T/tr.conf" -- \
	    bash -c "(exec 3<>/dev/tcp/www.test/$P) 2>&1; echo rc=\$?; $PY -c '
import socket
l = socket.socket(); l.bind((\"127.0.0.1\", 0)); l.listen()
socket.create_connection(l.getsockname()); print(\"own loopback ok\")'") 2>&1)
	like "blind: /dev/tcp outside finds no route, the sandbox's own loopback works" \
	    "$(flat "$out")" "Network is unreachable.*rc=1 own loopback ok"
	like "... and the record has the note, once" \
	    "$("$PY" -c 'import sqlite3,sys; print("\n".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT rule FROM events WHERE run = (SELECT max(id) FROM runs) AND rule LIKE \"connect() is not intercepted%\"")))' "$MOAT_DB")" \
	    "^connect\(\) is not intercepted: the supervisor may not read the sandbox's memory \(process_vm_readv: Operation not permitted\)$"
	out=$( (cd "$T/ws" && "$DENY" process_vm_readv "$MOAT" doctor) 2>&1)
	like "doctor says so" "$out" \
	    "^warn +net-transparent +process_vm_readv: Operation not permitted.*moat cannot see them"
else
	skip "record-only fallback: $DENY was not built"
fi

# Proxied mode: the resolver answers stand-ins, the upstream resolves.
cat >"$T/px.conf" <<EOF
include = restricted
net = proxied
net-upstream = http://127.0.0.1:1
net-allow = www.test:$P
EOF
PROFILE=$T/px.conf sandbox bash -c "getent hosts www.test; exec 3<>/dev/tcp/www.test/$P; echo rc=\$?; cat <&3"
like "proxied: the resolver gives a stand-in; connect succeeds and goes to the upstream" \
    "$(flat "$out")" "^198\.18\.[0-9.]+ +www\.test rc=0"
like "... recorded as failed at the upstream, by name" "$(events)" \
    "^www\.test:$P failed transparent"

# A profile that denies connect itself keeps it denied: no interception.
printf 'include = %s\nseccomp-deny = connect\n' "$T/tr.conf" >"$T/deny.conf"
run_moat run -p "$T/deny.conf" -- bash -c "(exec 3<>/dev/tcp/198.51.100.7/$P) 2>&1; true"
like "seccomp-deny = connect: connect() is denied (EPERM), not carried" "$out" \
    "connect: Operation not permitted"
like "... and recorded as a denied call" \
    "$("$PY" -c 'import sqlite3,sys; print(" ".join("%s:%s" % r for r in sqlite3.connect(sys.argv[1]).execute("SELECT kind, coalesce(name, \"\") FROM events WHERE run = (SELECT max(id) FROM runs)")))' "$MOAT_DB")" \
    "^syscall:connect$"

# isolated mode has none of it.
run_moat run -p isolated -- "$PY" -c "
import socket
try:
    socket.create_connection(('198.51.100.7', 80), timeout=5)
except OSError as e:
    print(e.errno)"
is "isolated: a direct connect() still fails with ENETUNREACH" "$out" "101"

done_testing

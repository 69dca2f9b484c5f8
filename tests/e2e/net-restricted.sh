#!/bin/bash
# net-restricted.sh: the restricted network mode seen from inside the
# sandbox. A web server the test starts on the host's loopback is the only
# destination; the sandbox reaches it through moat's proxies and nothing
# else: unlisted hosts get 403, names mapped to loopback or the metadata
# address are refused, direct connections no rule allows and DNS of names none
# names fail at once, SOCKS5 and
# git's ssh ProxyCommand work, 200 concurrent requests all arrive.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! command -v curl >/dev/null; then
	skip_all "needs /usr/bin/python3 and curl"
fi

# A threaded file server on 127.0.0.1:<free port> that logs "peer request".
mkdir -p "$T/www"
echo "hello from the host" >"$T/www/hello.txt"
for i in $(seq 0 199); do echo "file $i" >"$T/www/f$i.txt"; done
www_start "$T/www"

cat >"$T/net.conf" <<EOF
include = restricted
net-allow = localhost:$P
net-allow = rebind.test:$P
net-allow = meta.test
net-resolve = rebind.test=127.0.0.1
net-resolve = meta.test=169.254.169.254
EOF
flat() { printf '%s' "$1" | tr '\n' ' '; }

# A name for the server, mapped to loopback, which this profile allows.
cat >"$T/named.conf" <<EOF
include = restricted
net-allow = www.test:$P
net-resolve = www.test=127.0.0.1
net-allow-private = yes
EOF

PROFILE=$T/net.conf
sandbox sh -c 'echo "$HTTP_PROXY $HTTPS_PROXY $ALL_PROXY $NODE_USE_ENV_PROXY"'
is "proxy variables are set inside" "$out" \
    "http://127.0.0.1:3128 http://127.0.0.1:3128 socks5h://127.0.0.1:1080 1"

sandbox curl -sS -m 10 "http://host.moat.internal:$P/hello.txt"
is "curl reaches the allowlisted host-loopback service (localhost:PORT) as host.moat.internal" "$out" "hello from the host"

# Inside, localhost, 127.0.0.1 and ::1 are the sandbox's own loopback,
# whatever the rules say: a server the command starts there on the very
# port the localhost:PORT rule names is reached directly, and the host's
# loopback only under its own name, through the proxy.
sandbox sh -c 'echo "$NO_PROXY|$no_proxy"'
is "NO_PROXY always names the sandbox's own loopback, even with a localhost:PORT rule" \
    "$out" "localhost,127.0.0.1,::1,[::1],127.0.0.0/8|localhost,127.0.0.1,::1,[::1],127.0.0.0/8"
own_probe='mkdir -p /tmp/own && echo "hello from the sandbox" >/tmp/own/hello.txt
cd /tmp/own && '"$PY"' -m http.server --bind 127.0.0.1 '"$P"' >/dev/null 2>&1 &
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/'"$P"') 2>/dev/null && break; sleep 0.1; done
curl -sS -m 10 http://localhost:'"$P"'/hello.txt
curl -sS -m 10 http://127.0.0.1:'"$P"'/hello.txt
curl -sS -m 10 http://host.moat.internal:'"$P"'/hello.txt
'"$PY"' -c "import urllib.request as u; print(u.urlopen(\"http://localhost:'"$P"'/hello.txt\", timeout=10).read().decode().strip())"
kill $!'
: >"$T/srv.log"
sandbox bash -c "$own_probe"
is "localhost:PORT rule: localhost and 127.0.0.1 reach the sandbox's own server (curl, urllib), host.moat.internal the host's" \
    "$(flat "$out")" "hello from the sandbox hello from the sandbox hello from the host hello from the sandbox"
is "... and the host's server saw only the host.moat.internal request" "$(grep -c 'GET /hello.txt' "$T/srv.log")" 1

# A loopback address rule would never be reached (NO_PROXY sends it to the
# sandbox's own loopback): refused, with the rule to write instead.
for rule in "::1" "127.0.0.1:$P" "[::1]:$P"; do
	printf 'include = restricted\nnet-allow = %s\n' "$rule" >"$T/lo.conf"
	run_moat profiles check "$T/lo.conf"
	like "moat profiles check refuses net-allow = $rule and names localhost:PORT" "$rc $err" \
	    "^1 .*sandbox's own loopback.*write localhost:PORT \(reached inside as host.moat.internal:PORT\)"
	run_moat run -p "$T/lo.conf" -- true
	is "moat run refuses net-allow = $rule (exit 125)" "$rc" 125
done

PROFILE=$T/named.conf
sandbox curl -sS -m 10 "http://www.test:$P/hello.txt"
is "curl reaches an allowlisted name" "$out" "hello from the host"
sandbox "$PY" -c "import urllib.request as u; print(u.urlopen('http://www.test:$P/hello.txt', timeout=10).read().decode().strip())"
is "python urllib reaches an allowlisted name unchanged" "$out" "hello from the host"
sandbox curl -sS -m 10 --socks5-hostname 127.0.0.1:1080 "http://www.test:$P/hello.txt"
is "SOCKS5 with curl --socks5-hostname" "$out" "hello from the host"
sandbox curl -sS -m 10 -p "http://www.test:$P/hello.txt"
is "HTTP CONNECT tunnel (curl -p)" "$out" "hello from the host"

# The same two proxies on [::1], for clients that resolve "localhost" to ::1
# first (the usual /etc/hosts says "::1 localhost"). A netns has ::1 unless
# IPv6 is off on this host.
sandbox cat /proc/net/if_inet6
if printf '%s\n' "$out" | grep -Eq '^0{31}1 .* lo$'; then
	sandbox curl -sS -m 10 -x 'http://[::1]:3128' "http://www.test:$P/hello.txt"
	is "HTTP proxy on [::1]:3128" "$out" "hello from the host"
	sandbox curl -sS -m 10 -x '' --socks5-hostname '[::1]:1080' "http://www.test:$P/hello.txt"
	is "SOCKS5 on [::1]:1080" "$out" "hello from the host"
else
	skip "HTTP proxy on [::1]:3128: no IPv6 loopback in the sandbox"
	skip "SOCKS5 on [::1]:1080: no IPv6 loopback in the sandbox"
fi

PROFILE=$T/net.conf
sandbox curl -sS -m 10 -w ' %{http_code}' http://not-listed.test/
like "a host not on the list: 403 naming moat and the rule" "$(flat "$out")" \
    "^moat: not-listed.test:80 not allowed by profile .*net.conf \(no net-allow rule matches\).* 403$"
sandbox curl -sS -m 10 -o /dev/null -w '%{http_code}' -p https://not-listed.test/
like "CONNECT to a host not on the list: 403, no hang" "$out$err" "403"
sandbox curl -sS -m 10 -w ' %{http_code}' "http://rebind.test:$P/hello.txt"
like "an allowed name that resolves to 127.0.0.1 is refused" "$(flat "$out")" \
    "127.0.0.1, a loopback address, and net-allow-private is off.* 403$"
sandbox curl -sS -m 10 -w ' %{http_code}' http://meta.test/latest/meta-data/
like "an allowed name that resolves to 169.254.169.254 is refused" "$(flat "$out")" \
    "169.254.169.254, a cloud metadata address.* 403$"
sandbox curl -sS -m 10 -w ' %{http_code}' "http://host.moat.internal:$((P == 65535 ? P - 1 : P + 1))/"
like "another host-loopback port is refused" "$(flat "$out")" "no net-allow rule matches.* 403$"
sandbox curl -sS -m 10 --socks5-hostname 127.0.0.1:1080 http://not-listed.test/
is "SOCKS5 to a host not on the list: curl's error 97" "$rc" 97
like "SOCKS5 refusal is reply 2 (not allowed by ruleset)" "$err" "\(2\)"

sandbox bash -c "s=\$(date +%s%N); curl -sS --noproxy '*' -m 10 http://127.0.0.1:$P/ >/dev/null 2>&1; r=\$?; e=\$(date +%s%N); echo \$r \$(( (e - s) / 1000000 ))"
read -r crc ms <<<"$out"
check "direct connect() to the host's loopback fails (curl $crc) in ${ms} ms" \
    test "$crc" = 7 -a "${ms:-9999}" -lt 1000
# A direct connect() is intercepted (net-transparent.sh): to an address on
# a port no rule names it is refused at once, as by a firewall.
sandbox bash -c "s=\$(date +%s%N); (exec 3<>/dev/tcp/192.0.2.1/81) 2>&1; r=\$?; e=\$(date +%s%N); echo \$r \$(( (e - s) / 1000000 ))"
read -r crc ms <<<"$(printf '%s\n' "$out" | tail -1)"
check "direct connect() to an outside address no rule allows is refused at once (${ms} ms)" \
    test "$crc" != 0 -a "${ms:-9999}" -lt 1000
like "... with EACCES" "$out" "Permission denied"
sandbox bash -c "s=\$(date +%s%N); getent hosts not-listed.test >/dev/null; r=\$?; e=\$(date +%s%N); echo \$r \$(( (e - s) / 1000000 ))"
read -r crc ms <<<"$out"
check "DNS of a name no rule names fails (getent $crc) fast: ${ms} ms < 1000" test "$crc" != 0 -a "${ms:-9999}" -lt 1000

# git over ssh: GIT_SSH_COMMAND's ProxyCommand tunnels through the HTTP
# proxy; the web server receives ssh's banner, which proves the tunnel.
: >"$T/srv.log"
if command -v git >/dev/null && command -v ssh >/dev/null; then
	sandbox env GIT_SSH_VARIANT=ssh git ls-remote "ssh://host.moat.internal:$P/repo.git"
	like "git over ssh reaches an allowed host:port through the proxy (GIT_SSH_COMMAND)" \
	    "$(cat "$T/srv.log")" "SSH-2.0-"
else
	skip "git over ssh: git or ssh not installed"
fi

# 200 at once, every one answered with its own file.
urls=()
for i in $(seq 0 199); do urls+=("http://host.moat.internal:$P/f$i.txt"); done
: >"$T/srv.log"
sandbox curl -sS -m 60 -Z --parallel-immediate --parallel-max 200 "${urls[@]}"
n=$(printf '%s\n' "$out" | grep -c '^file [0-9]*$')
is "200 concurrent requests through the proxy, none lost (exit $rc)" "$n" 200
is "the server saw 200 requests" "$(grep -c 'GET /f' "$T/srv.log")" 200

run_moat run -v -p "$T/net.conf" -- curl -sS -m 10 "http://host.moat.internal:$P/hello.txt" http://not-listed.test/
like "moat run -v prints allowed connections" "$err" "allowed host.moat.internal:$P \(127.0.0.1\) via http proxy: localhost:$P; out [0-9]+ B, in [0-9]+ B"
like "moat run -v prints refused connections" "$err" "refused not-listed.test:80 via http proxy: no net-allow rule matches"

# After the run, on a terminal only: each refused destination once, with
# the line that would allow it.
(cd "$T/ws" && script -qec "$(printf '%q ' "$MOAT" run -p "$T/net.conf" -- sh -c \
    "curl -sS -m 10 -o /dev/null http://not-listed.test/; curl -sS -m 10 -o /dev/null http://not-listed.test/; curl -sS -m 10 -o /dev/null -p https://other.test:8443/; curl -sS -m 10 -o /dev/null http://meta.test/")" \
    /dev/null) >"$T/tty.out" 2>&1 </dev/null
tty=$(tr -d '\r' <"$T/tty.out")
like "on a terminal: a refused host, once, with the net-allow line that allows it" "$tty" \
    "moat: refused not-listed.test:80 \(2 times\): no net-allow rule matches; to allow it, add \"net-allow = not-listed.test\" to profile .*net.conf, or run with --net-allow not-listed.test"
is "... said once for both refusals" "$(printf '%s\n' "$tty" | grep -c '^moat: refused not-listed.test')" 1
like "... a port other than 80 and 443 is in the line" "$tty" \
    "moat: refused other.test:8443: no net-allow rule matches; to allow it, add \"net-allow = other.test:8443\""
like "... a name refused for its address points at net-allow-private" "$tty" \
    "moat: refused meta.test:80: resolves to 169.254.169.254, a cloud metadata address, and net-allow-private is off; to allow it, add \"net-allow-private = yes\""
run_moat run -p "$T/net.conf" -- curl -sS -m 10 -o /dev/null http://not-listed.test/
unlike "not on a terminal: no summary (scripts see only the command's own errors)" "$err" "moat: refused"

# --net-allow adds a rule for one run, recorded on the audit row.
export MOAT_DB="$T/na.db"
run_moat run -p restricted -- curl -sS -m 10 -w ' %{http_code}' "http://host.moat.internal:$P/hello.txt"
like "without --net-allow the host's port is refused" "$(flat "$out")" "403$"
run_moat run -p restricted --net-allow "localhost:$P" -- curl -sS -m 10 "http://host.moat.internal:$P/hello.txt"
is "--net-allow localhost:PORT lets this run reach it" "$out" "hello from the host"
prof=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT profile FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])' "$MOAT_DB" 2>&1)
is "... and the audit row's profile records it" "$prof" "restricted --net-allow localhost:$P"
unset MOAT_DB
run_moat run -p restricted -- curl -sS -m 10 -w ' %{http_code}' "http://host.moat.internal:$P/hello.txt"
like "... for that run only" "$(flat "$out")" "403$"
run_moat run -p restricted --net-allow '127.0.0.1:80' -- true
like "--net-allow takes the profile's grammar: a loopback address is refused (125)" "$rc $err" \
    "^125 moat run: --net-allow 127.0.0.1:80: 127.0.0.1 is the sandbox's own loopback"
run_moat run -p isolated --net-allow example.org -- true
like "--net-allow with an isolated profile is refused, saying why" "$rc $err" \
    "^125 moat run: --net-allow example.org: profile isolated has net = isolated"

# IPv6 addresses are bracketed before a port, in the answer and the event.
Q=$((P == 65535 ? P - 1 : P + 1))
run_moat run -v -p "$T/net.conf" -- curl -sS -m 10 -x http://127.0.0.1:3128 --noproxy '' "http://[::1]:$Q/"
like "the 403 for an IPv6 destination brackets it: [::1]:PORT" "$out" "^moat: \[::1\]:$Q not allowed by profile"
like "... and so does the event" "$err" "net: refused \[::1\]:$Q \(::1\) via http proxy: no net-allow rule matches"

# net-idle-timeout: a tunnel that carries nothing is closed (EOF, read
# status 1), one without the limit stays open (a read timeout, > 128).
idle_probe='exec 3<>/dev/tcp/127.0.0.1/3128
printf "CONNECT localhost:'"$P"' HTTP/1.1\r\nHost: x\r\n\r\n" >&3
read -r status <&3; read -r blank <&3; echo "$status"
sleep 3; read -t 2 -r x <&3; echo "read=$?"'
printf 'include = %s\nnet-idle-timeout = 1s\n' "$T/net.conf" >"$T/idle.conf"
run_moat run -v -p "$T/idle.conf" -- bash -c "$idle_probe"
like "net-idle-timeout: the tunnel was opened" "$out" "HTTP/1.1 200"
like "net-idle-timeout: an idle tunnel is closed" "$out" "read=1$"
like "net-idle-timeout: and the event says why" "$err" "closed after 1 s with nothing to carry"
run_moat run -p "$T/net.conf" -- bash -c "$idle_probe"
like "without net-idle-timeout an idle tunnel stays open" "$out" "read=1[3-9][0-9]$"

PROFILE=isolated
sandbox sh -c 'echo "${HTTP_PROXY:-none}"; curl -sS -m 5 -x http://127.0.0.1:3128 http://localhost/ 2>&1; echo rc=$?'
like "isolated: no proxy variables, no proxy listening" "$(flat "$out")" "^none.*rc=7"

done_testing

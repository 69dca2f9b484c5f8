#!/bin/bash
# Attacks on the network: reach a listener on the host's 127.0.0.1, a host
# abstract unix socket, or anything outside. The default profile is isolated.
. "$(dirname "$0")/../e2e/libtest.sh"
require_sandbox

port=$((20000 + RANDOM % 20000))
python3 - "$port" "$T/hits" <<'PY' &
import socket, sys, os
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
a = socket.socket(socket.AF_UNIX); a.bind("\0moat-test-%d" % os.getpid()); a.listen(8)
open(sys.argv[2] + ".abstract", "w").write("moat-test-%d" % os.getpid())
while True:
    c, _ = s.accept(); open(sys.argv[2], "a").write("hit\n"); c.close()
PY
srv=$!
cleanup_hooks+=("kill $srv 2>/dev/null")
for _ in $(seq 50); do [ -e "$T/hits.abstract" ] && break; sleep 0.1; done
abstract=$(cat "$T/hits.abstract")

# The control: from the host the listener answers and counts the hit, so
# "no hit" below means the sandbox did not reach it, not that it was down.
python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), timeout=3).close()"
for _ in $(seq 50); do [ -s "$T/hits" ] && break; sleep 0.1; done
check "the host listener works from the host (it counted the host's connection)" test -s "$T/hits"
rm -f "$T/hits"

start=$(date +%s%N)
sandbox python3 -c "
import socket
for target in [('127.0.0.1', $port), ('10.0.0.1', 80), ('1.1.1.1', 53)]:
    try:
        socket.create_connection(target, timeout=3).close(); print('CONNECTED', target)
    except OSError as e:
        print('refused', target, e.errno)
try:
    a = socket.socket(socket.AF_UNIX); a.connect('\0$abstract'); print('CONNECTED abstract')
except OSError as e:
    print('refused abstract', e.errno)
try:
    socket.getaddrinfo('example.com', 443); print('RESOLVED')
except OSError as e:
    print('no dns', e.errno)
"
end=$(date +%s%N)
unlike "no connection reaches the host or the outside" "$out" "CONNECTED|RESOLVED"
check "the host listener saw no connection" test ! -s "$T/hits"
like "every attempt failed" "$out" "refused abstract"
check "and failed fast (under 3 s in all)" test $(( (end - start) / 1000000 )) -lt 3000

sandbox sh -c 'ls /sys/class/net 2>/dev/null || cat /proc/net/dev | tail -n +3 | cut -d: -f1'
is "only loopback exists" "$(echo $out)" "lo"

done_testing

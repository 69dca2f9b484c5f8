#!/bin/bash
# A planted API key in the host environment must not reach the sandbox.
. "$(dirname "$0")/../e2e/libtest.sh"
require_sandbox

export ANTHROPIC_API_KEY="sk-ant-moat-test-$$" AWS_SECRET_ACCESS_KEY="aws-moat-$$" \
	GITHUB_TOKEN="ghp_moattest$$" OPENAI_API_KEY="sk-moat-$$" SSH_AUTH_SOCK="$T/agent.sock"
sandbox sh -c 'env; cat /proc/1/environ 2>/dev/null; for f in /proc/[0-9]*/environ; do cat "$f" 2>/dev/null; done | tr "\0" "\n"'
unlike "no API key or token is in the environment" "$out" "moat-test-$$|aws-moat-$$|ghp_moattest$$|sk-moat-$$"
unlike "the ssh agent socket is not passed" "$out" "SSH_AUTH_SOCK"
like "the allowlisted PATH is there" "$out" "^PATH=|
PATH="

sandbox sh -c 'ls -A "$HOME"'
is "HOME inside is empty" "$out" ""

done_testing

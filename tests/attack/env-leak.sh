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

# A plain name in env-pass is that name only; a trailing * is a prefix, and
# only where it is written. The default profile passes PATH, LANG, LC_*,
# TERM, TZ: names that merely start with those stay outside.
run_env() { # run_env PROFILE NAME=VALUE...: env inside, one variable a line, sorted
	local p=$1; shift
	out=$(cd "$T/ws" && env "$@" "$MOAT" run -p "$p" -- env 2>"$T/env.err" </dev/null | sort)
}
run_env default PATHX=leak-pathx LANGX=leak-langx TERMINAL_TOKEN=leak-term \
    TZ_SECRET=leak-tz NO_COLORS=leak-nocolor LCX_SECRET=leak-lcx XLC_ALL=leak-xlc \
    LC_ALL=C.UTF-8 LC_CTYPE=C TZ=UTC
unlike "PATH, LANG, TERM, TZ, NO_COLOR pass exactly: PATHX, LANGX, TERMINAL_TOKEN, TZ_SECRET, NO_COLORS do not" \
    "$out" "^(PATHX|LANGX|TERMINAL_TOKEN|TZ_SECRET|NO_COLORS)="
unlike "LC_* is a prefix of LC_ only: LCX_SECRET and XLC_ALL do not pass" "$out" "^(LCX_SECRET|XLC_ALL)="
like "LC_* passes LC_ALL" "$out" "^LC_ALL=C.UTF-8$"
like "LC_* passes LC_CTYPE" "$out" "^LC_CTYPE=C$"
like "TZ passes" "$out" "^TZ=UTC$"

printf 'include = default\nenv-pass = MOAT_T_ONE\nenv-pass = MOAT_T_PFX_*\n' >"$T/env.conf"
run_env "$T/env.conf" MOAT_T_ONE=1 MOAT_T_ONEX=leak MOAT_T_ON=leak MOAT_T_PFX_A=2 \
    MOAT_T_PFX_=3 MOAT_T_PFXB=leak MOAT_T_PF=leak
is "env-pass = MOAT_T_ONE and MOAT_T_PFX_*: exactly the named and the prefixed variables pass" \
    "$(printf '%s\n' "$out" | grep '^MOAT_T_' | tr '\n' ' ')" "MOAT_T_ONE=1 MOAT_T_PFX_=3 MOAT_T_PFX_A=2 "

sandbox sh -c 'ls -A "$HOME"'
is "HOME inside is empty" "$out" ""

done_testing

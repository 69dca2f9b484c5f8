#!/bin/bash
# run-tls-lib.sh: OpenSSL is loaded by the runs that use it, not by every
# moat. The binary does not name libssl or libcrypto for the dynamic loader;
# a run without a secret never maps them (the loader's own trace,
# LD_DEBUG=files, says what it opened); a run with a secret loads them and
# its intercepted TLS works (secrets-tls.sh tests that at length); an
# OpenSSL that cannot be loaded fails that run with exit 125, naming the
# library, while a run without a secret goes on.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox
export MOAT_DB="$T/audit.db"

if command -v readelf >/dev/null; then
	needed=$(readelf -d "$MOAT" | grep NEEDED)
	unlike "the moat binary does not need libssl or libcrypto from the loader" \
	    "$needed" 'libssl|libcrypto'
else
	skip "readelf (binutils) is not installed: the binary's NEEDED entries unread"
fi

# traced ARGS...: run_moat with ld.so's trace of what it opens on moat's
# stderr (the sandbox's environment is allowlisted: the command inside does
# not trace).
traced() {
	(cd "$T/ws" && LD_DEBUG=files "$MOAT" "$@") >"$T/o" 2>"$T/e" </dev/null
	rc=$?
	out=$(cat "$T/o"); err=$(cat "$T/e")
}

traced run -p isolated -- /bin/true
is "a run without a secret exits 0" "$rc" 0
like "the loader's trace is there to read" "$err" 'file=libc\.so\.6'
unlike "a run without a secret does not load libssl" "$err" 'file=libssl'
unlike "a run without a secret does not load libcrypto" "$err" 'file=libcrypto'

export TOKEN_L="tok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$T/sec.conf" <<CONF
include = restricted
net-allow = localhost:8443
secret = TOKEN_L localhost:8443
env-pass = TOKEN_*
CONF
chmod 644 "$T/sec.conf"
traced run -p "$T/sec.conf" -- sh -c 'printf "%s\n" "$TOKEN_L"'
is "a run with a secret exits 0" "$rc" 0
like "inside, the secret is a placeholder as long as its value (made with the run's CA)" "$out" '^moat-secret-[0-9a-f]{24}$'
like "a run with a secret loads libssl" "$err" 'file=libssl\.so\.[0-9]+ .*dynamically loaded by'
like "and libcrypto with it" "$err" 'file=libcrypto\.so\.[0-9]+'

# A libssl that is no library: the secret's run says which and stops; the
# others do not notice.
mkdir -p "$T/badlib"
for so in $(printf '%s\n' "$err" | sed -n 's/.*file=\(libssl\.so\.[0-9]*\) .*/\1/p' | sort -u); do
	printf 'not a library\n' >"$T/badlib/$so"
done
chmod -R a+rX "$T/badlib"
LD_LIBRARY_PATH=$T/badlib run_moat run -p "$T/sec.conf" -- /bin/true
is "a run with a secret and no loadable OpenSSL exits 125" "$rc" 125
like "its error names the library and what to install" "$err" \
    'OpenSSL \(libssl\.so\.[0-9]+\) could not be loaded: .*install libssl3'
LD_LIBRARY_PATH=$T/badlib run_moat run -p isolated -- /bin/true
is "a run without a secret does not need it" "$rc" 0

done_testing

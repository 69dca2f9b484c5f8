#!/bin/bash
# risk-cache.sh: the risk rules as read are kept in $XDG_CACHE_HOME/moat/
# risk-rules and used by the next moat while the rules files are the same
# ones, unchanged; a rules file added, changed (even to the same size) or
# removed is read again; a kept file that is damaged, that others may
# write or that is not the user's is not used.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"

C="$XDG_CACHE_HOME/moat/risk-rules"
D="$XDG_CONFIG_HOME/moat/risk.d"
PY=/usr/bin/python3
mkdir -p "$D"

# risk_of CMD: moat risk's lines for CMD into $out.
risk_of() { run_moat risk "$1"; }

risk_of 'frobnicate --all'
is "moat risk runs" "$rc" 0
unlike "no rule of the user's yet" "$out" 'frob-rule'
check "the rules as read are kept in $C" test -s "$C"
is "the kept file is the user's alone" "$(stat -c '%a %u' "$C")" "600 $(id -u)"

rule() {
	printf 'rule frob-rule\n\tcategory test\n\tweight %s\n\treason %s\n\tmatch frobnicate\n' \
	    "$1" "$2" >"$D/local.rules"
}
rule 77 frobnicating-reason-aaaa
risk_of 'frobnicate --all'
like "a rules file added to risk.d is read at once" "$out" 'frob-rule .*frobnicating-reason-aaaa'
like "... and scores" "$out" '^risk 77/100'
risk_of 'frobnicate --all'
like "and again from the kept rules" "$out" 'frob-rule .*frobnicating-reason-aaaa'
grep -q 'frobnicating-reason-aaaa' "$C"
is "the kept file holds it now" "$?" 0

# The same size, another weight and reason: only the file's times and
# inode-level identity tell.
rule 66 frobnicating-reason-bbbb
risk_of 'frobnicate --all'
like "a rules file changed to the same size is read again" "$out" \
    '^risk 66/100.*'
like "... with its new reason" "$out" 'frobnicating-reason-bbbb'

# A kept file whose bytes were changed: a reason rewritten in place. Its
# checksum no longer holds: the rules are read from their files again.
sed -i 's/frobnicating-reason-bbbb/frobnicating-reason-FAKE/' "$C"
risk_of 'frobnicate --all'
like "a damaged kept file is not used" "$out" 'frobnicating-reason-bbbb'
unlike "... nothing of it shows" "$out" 'FAKE'

# The same change with the checksum made right: this moat takes it (so the
# checks below are the owner's and the mode's, not the checksum's) ...
forge() {
	"$PY" - "$C" <<'PYEOF'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b = b.replace(b"frobnicating-reason-bbbb", b"frobnicating-reason-FAKE")
M = (1 << 64) - 1
body = bytes(b[:-8])
h = (0x9e3779b97f4a7c15 ^ len(body)) & M
n = len(body) - len(body) % 8
for i in range(0, n, 8):
    w = struct.unpack("<Q", body[i:i + 8])[0]
    h = ((h ^ w) * 0xff51afd7ed558ccd) & M
    h ^= h >> 32
for c in body[n:]:
    h = ((h ^ c) * 0x100000001b3) & M
h ^= h >> 29
open(p, "wb").write(body + struct.pack("<Q", h))
PYEOF
}
if [ -x "$PY" ]; then
	risk_of 'frobnicate --all'	# the file made again
	forge && chmod 600 "$C"
	risk_of 'frobnicate --all'
	like "a kept file whose checksum holds is used as it is" "$out" 'frobnicating-reason-FAKE'
	forge; chmod 666 "$C"
	risk_of 'frobnicate --all'
	like "one that others may write is not" "$out" 'frobnicating-reason-bbbb'
	is "... and is replaced by the user's own" "$(stat -c '%a' "$C")" 600
	forge; chmod 600 "$C"; chmod 777 "$XDG_CACHE_HOME/moat"
	risk_of 'frobnicate --all'
	like "nor one in a directory others may write" "$out" 'frobnicating-reason-bbbb'
	chmod 700 "$XDG_CACHE_HOME/moat"
	if is_root; then
		forge; chmod 600 "$C"; chown 65534 "$C"
		risk_of 'frobnicate --all'
		like "nor one that is not the user's" "$out" 'frobnicating-reason-bbbb'
	else
		skip "a kept file of another user: only root can give one away"
	fi
else
	for _ in 1 2 3 4; do skip "needs $PY to forge a checksum"; done
fi

rm -f "$D/local.rules"
risk_of 'frobnicate --all'
unlike "a rules file removed is gone at once" "$out" 'frob-rule'
# A rules file that does not parse: the error names file:line, as it does
# without a kept file (one from before is there now).
printf 'rule bad\n\tweight 500\n' >"$D/bad.rules"
risk_of 'true'
is "a bad rules file: exit 125" "$rc" 125
like "... its error names file:line" "$err" "bad.rules:2"
rm -f "$D/bad.rules"
# MOAT_RISK_RULES is a file of the key too.
printf 'rule env-rule\n\tcategory test\n\tweight 33\n\treason from-env\n\tmatch frobnicate\n' \
    >"$T/env.rules"
MOAT_RISK_RULES=$T/env.rules risk_of 'frobnicate'
like "MOAT_RISK_RULES is read beside the kept rules" "$out" 'env-rule .*from-env'
risk_of 'frobnicate'
unlike "... and not kept for a moat without it" "$out" 'env-rule'
done_testing

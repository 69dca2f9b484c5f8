#!/bin/bash
# net-rules-doc.sh: every net-allow rule the documentation shows as valid,
# in moat-profile(5), moat(1) and the shipped profiles (their commented
# examples included), is one `moat profiles check` accepts and the proxy's
# allowlist takes at run time: one grammar (src/profile/net-rule.c), and the
# docs held to it.
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox

S=$MOAT_SRCDIR
# "net-allow = X" anywhere (roff writes the dash as \-), commented or not.
from_lines() {
	sed -n 's/^[#[:space:]]*//; s/\\-/-/g; s/.*net-allow = \([^ ";,)]*\).*/\1/p' "$@" |
	    grep -v '^$'
}
# In moat-profile(5)'s net-allow entry, the bold examples after "e.g.".
from_eg() {
	sed -n '/^\.BI "net-allow = " dest/,/^\.BR "net-allow-index/p' "$S/doc/moat-profile.5" |
	    awk '/e\.g\.$/ {on = 1; next}
	        on && /^\.BR? / {print $2; next}
	        on && /^or$/ {next}
	        {on = 0}'
}
{
	from_lines "$S/doc/moat-profile.5" "$S/doc/moat.1" "$S"/profiles/*.conf
	from_eg
} | sort -u >"$T/rules"
n=$(wc -l <"$T/rules")
check "the docs show at least 10 distinct example rules (found $n)" test "$n" -ge 10
diag "$(tr '\n' ' ' <"$T/rules")"
for want in 'example.org:*' '198.51.100.0/24:8443' '[2001:db8::1]:443' 'localhost:5432' \
    '*.example.org'; do
	check "the examples include $want" grep -qxF -- "$want" "$T/rules"
done

{
	echo "include = restricted"
	sed 's/^/net-allow = /' "$T/rules"
} >"$T/all.conf"
run_moat profiles check "$T/all.conf"
is "moat profiles check accepts every documented rule" "$rc $out$err" "0 $T/all.conf: ok"
run_moat run -p "$T/all.conf" -- true
is "and the proxy's allowlist takes them all at run time (moat run exits 0)" "$rc $err" "0 "
# One at a time, so a rule the check takes and the proxy would not cannot
# hide behind another one's error.
bad=
while IFS= read -r r; do
	printf 'include = restricted\nnet-allow = %s\n' "$r" >"$T/one.conf"
	(cd "$T/ws" && "$MOAT" run -p "$T/one.conf" -- true) >/dev/null 2>"$T/one.err" ||
	    bad="$bad $r ($(cat "$T/one.err"))"
done <"$T/rules"
is "each documented rule alone starts a restricted run" "$bad" ""

done_testing

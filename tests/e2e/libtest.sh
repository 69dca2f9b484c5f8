# libtest.sh: TAP helpers for moat's end-to-end and attack tests (bash).
# Source it, call ok/not_ok/skip/is, then done_testing.
#
# When the suite runs as root and MOAT_TEST_UNPRIV is not "no", the same file
# runs again as uid/gid 65534 (setpriv), so one `make check` proves every
# sandbox test both as root and as an unprivileged user. Set
# MOAT_TEST_UNPRIV=no to run only as the caller. The second pass starts when
# this file is sourced and runs beside the first (most of a test's time is
# spent waiting on sandboxes, not on the CPU); done_testing waits for it and
# appends its points, numbered on from the first pass's. Set
# MOAT_TEST_SERIAL=1 to run it after the first pass instead, as one would to
# tell whether two passes disturb each other. A file whose second pass needs
# something the first sets up sets MOAT_TEST_DEFER=1 before sourcing this,
# and calls unpriv_begin once it is ready.
#
# Strict mode (CI=true, as .ci/run sets it, or MOAT_TEST_STRICT=1): a file
# that cannot run at all (no sandbox for this user, a missing tool, no uid
# 65534 pass) fails instead of skipping, so a layer cannot drop out of the
# totals unseen. Otherwise it is a TAP skip with the reason.

set -u
: "${MOAT:?MOAT must name the moat binary (make check sets it)}"
: "${MOAT_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export MOAT_PROFILE_DIR="${MOAT_PROFILE_DIR:-$MOAT_SRCDIR/profiles}"

tap_n=${MOAT_TAP_START:-0}
tap_fail=0
test_uid=$(id -u)
if [ "$test_uid" = 0 ]; then who="root"; else who="uid $test_uid"; fi

# A private scratch area: the workspace, the state and data dirs, HOME,
# and the runtime directory, where sessions keep their sockets: a test's
# sessions are its own (a `session kill --all` of one test file ends no
# other's, nor the caller's), and the uid 65534 pass never meets the
# caller's directory, which it could not write.
T=$(mktemp -d "${TMPDIR:-/tmp}/moat-test.XXXXXX")
chmod 755 "$T"
export HOME="$T/home" XDG_STATE_HOME="$T/state" XDG_CONFIG_HOME="$T/config" \
	XDG_DATA_HOME="$T/data" XDG_CACHE_HOME="$T/cache" XDG_RUNTIME_DIR="$T/run"
mkdir -p "$HOME" "$T/ws" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
cleanup_hooks=()
on_exit() {
	local h
	for h in "${cleanup_hooks[@]+"${cleanup_hooks[@]}"}"; do eval "$h"; done
	rm -rf "$T" 2>/dev/null || true
}
trap on_exit EXIT
# Ended from outside (the first pass ending early ends the second this way):
# clean up as on any exit.
trap 'exit 143' TERM

# The uid 65534 pass: can it run, and if so start it now (or, serial, at
# done_testing). Its TAP goes to a file and is renumbered at the end.
unpriv_pid=
unpriv_why=
unpriv_wanted() {
	[ "$test_uid" = 0 ] && [ -z "${MOAT_TEST_CHILD:-}" ] &&
	    [ "${MOAT_TEST_UNPRIV:-yes}" != no ] && command -v setpriv >/dev/null
}
unpriv_start() {
	# Its status goes to a file: a test's own bare `wait` may reap it first.
	(MOAT_TEST_CHILD=1 TMPDIR=/tmp \
	    setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env -u HOME -u MOAT_DB bash "$0" >"$T/unpriv.tap" 2>"$T/unpriv.err" </dev/null
	 echo $? >"$T/unpriv.rc") &
	unpriv_pid=$!
}
if unpriv_wanted; then
	if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$MOAT" -a -r "$0"; then
		unpriv_why="uid 65534 cannot reach $MOAT or $0 (a build under a private directory such as /root; .ci/run copies the tree to /tmp)"
	elif [ "${MOAT_TEST_SERIAL:-}" != 1 ] && [ "${MOAT_TEST_DEFER:-}" != 1 ]; then
		unpriv_start
	fi
	# A first pass that ends early takes the second with it, showing what
	# the second had done (a file killed at its time limit included).
	cleanup_hooks+=('[ -n "$unpriv_pid" ] && { pkill -TERM -P "$unpriv_pid" 2>/dev/null
		sed "s/^/# (the uid 65534 pass, cut short) /" "$T/unpriv.tap" "$T/unpriv.err" 2>/dev/null; }; true')
fi
# unpriv_begin: start the deferred second pass now (see MOAT_TEST_DEFER).
unpriv_begin() {
	if unpriv_wanted && [ -z "$unpriv_why" ] && [ -z "$unpriv_pid" ] &&
	    [ "${MOAT_TEST_SERIAL:-}" != 1 ]; then
		unpriv_start
	fi
}

ok()     { tap_n=$((tap_n + 1)); echo "ok $tap_n - [$who] $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_fail=$((tap_fail + 1)); echo "not ok $tap_n - [$who] $*"; }
skip()   { tap_n=$((tap_n + 1)); echo "ok $tap_n - [$who] $* # SKIP"; }
diag()   { printf '%s\n' "$@" | sed 's/^/# /'; }

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"
	else not_ok "$1"; diag "got:  '$2'" "want: '$3'"; fi
}

# like DESCRIPTION TEXT REGEX (grep -E)
like() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then ok "$1"
	else not_ok "$1"; diag "got: '$2'" "does not match: $3"; fi
}

unlike() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then not_ok "$1"; diag "got: '$2'" "matches: $3"
	else ok "$1"; fi
}

# run_moat ARGS...: runs moat with the workspace as cwd; sets $out, $err, $rc.
run_moat() {
	local o e
	o=$(mktemp "$T/out.XXXXXX"); e=$(mktemp "$T/err.XXXXXX")
	(cd "$T/ws" && "$MOAT" "$@") >"$o" 2>"$e" </dev/null
	rc=$?
	out=$(cat "$o"); err=$(cat "$e")
	rm -f "$o" "$e"
}

# sandbox CMD...: moat run -p ${PROFILE:-default} -- CMD...
sandbox() {
	run_moat run -p "${PROFILE:-default}" -- "$@"
}

is_root() { [ "$test_uid" = 0 ]; }

strict() { [ "${CI:-}" = true ] || [ "${MOAT_TEST_STRICT:-}" = 1 ]; }

# skip_all REASON: this file cannot run here (as this user). In strict mode
# that is a failure; otherwise one skipped point (or, before any point of
# the first pass, the plan 1..0 # SKIP). Ends the file either way: the uid
# 65534 pass of a root run is not attempted after a skip_all as root.
skip_all() {
	local why
	why=$(printf '%s' "$*" | tr '\n' ' ')
	if strict; then
		not_ok "this file runs here (strict mode: CI=true or MOAT_TEST_STRICT=1)"
		diag "it cannot: $why"
		echo "1..$tap_n"
		exit 1
	fi
	if [ "$tap_n" = 0 ] && [ -z "${MOAT_TEST_CHILD:-}" ]; then
		echo "1..0 # SKIP $why"
	else
		skip "$why"
		echo "1..$tap_n"
	fi
	exit 0
}

# Can this machine build a sandbox as this user at all? Files that need one
# call require_sandbox first; when it cannot, skip_all says why.
require_sandbox() {
	if ! (cd "$T/ws" && "$MOAT" run -p default -- /bin/true) >/dev/null 2>"$T/req.err"; then
		if [ -z "${MOAT_TEST_CHILD:-}" ] && ! grep -q 'user namespace' "$T/req.err"; then
			return 0	# not a userns problem: let the tests fail loudly
		fi
		skip_all "no sandbox here as $who: $(cat "$T/req.err")"
	fi
}

# www_start ROOT: serves ROOT over HTTP on the host's 127.0.0.1 (www.py);
# sets $P to its port, logs to $T/srv.log. Skips the whole file when it
# cannot start.
www_start() {
	"${PY:-python3}" "$MOAT_SRCDIR/tests/e2e/www.py" "$T/port" "$1" "$T/srv.log" 2>"$T/srv.err" &
	cleanup_hooks+=("kill $! 2>/dev/null")
	for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
	P=$(cat "$T/port" 2>/dev/null)
	if [ -z "$P" ]; then
		skip_all "the test web server did not start: $(cat "$T/srv.err")"
	fi
}

done_testing() {
	if [ -n "$unpriv_why" ]; then
		if strict; then
			not_ok "the uid 65534 pass runs (strict mode)"
			diag "$unpriv_why"
		else
			skip "the uid 65534 pass: $unpriv_why"
		fi
	elif unpriv_wanted; then
		[ -z "$unpriv_pid" ] && unpriv_start	# serial
		local child
		wait "$unpriv_pid" 2>/dev/null
		child=$(cat "$T/unpriv.rc" 2>/dev/null) || child=1
		unpriv_pid=
		cat "$T/unpriv.err" >&2
		# Its points numbered on from ours; its plan replaced by the whole's.
		# A point it printed with no number would be miscounted: it has none.
		local n
		n=$(awk -v off="$tap_n" '
			match($0, /^(not )?ok [0-9]+/) {
				head = substr($0, 1, RLENGTH); rest = substr($0, RLENGTH + 1)
				num = head; sub(/^(not )?ok /, "", num)
				sub(/[0-9]+$/, "", head)
				last = num + off
				print head last rest; next
			}
			/^1\.\.[0-9]+/ { next }
			{ print }
			END { print "#n " (last ? last : off) }' "$T/unpriv.tap" |
		    tee "$T/unpriv.out" | sed -n 's/^#n //p')
		grep -v '^#n ' "$T/unpriv.out"
		tap_n=${n:-$tap_n}
		echo "1..$tap_n"
		[ $tap_fail -eq 0 ] && exit $child
		exit 1
	fi
	echo "1..$tap_n"
	[ $tap_fail -eq 0 ]
	exit $?
}

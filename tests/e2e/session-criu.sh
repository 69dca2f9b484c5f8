#!/bin/bash
# session-criu.sh: moat session snapshot --processes. CRIU cannot checkpoint
# a moat session yet (src/session/checkpoint.c says why), so every case is
# a refusal: exit 125, one line naming the reason, nothing written. What
# is checked first is what the host lacks: criu on PATH, root's
# capabilities, `criu check`; then what the session is. A stand-in criu
# (a script in $T) plays a criu whose check fails or passes; a real one is
# used where there is one (on PATH, or MOAT_TEST_CRIU naming it).
. "$(dirname "$0")/libtest.sh"
require_sandbox
cleanup_hooks+=("\"$MOAT\" session kill --all >/dev/null 2>&1")
real_criu=${MOAT_TEST_CRIU:-$(command -v criu)}

# A stand-in criu: `criu check` prints what $T/criu-says holds and exits
# with $T/criu-exit; each call is noted in $T/criu-called.
mkdir -p "$T/fake" "$T/nocriu" "$T/hang"
cat >"$T/fake/criu" <<EOF
#!/bin/sh
echo "\$*" >>"$T/criu-called"
$(command -v cat) "$T/criu-says"
exit \$($(command -v cat) "$T/criu-exit")
EOF
chmod 755 "$T/fake/criu"
fake() { # fake EXIT TEXT
	echo "$1" >"$T/criu-exit"
	printf '%s' "$2" >"$T/criu-says"
	rm -f "$T/criu-called"
}
# snap PATH ARGS...: moat session snapshot with PATH as the only search path.
snap() {
	local p=$1 m=$MOAT; shift
	MOAT=env
	run_moat PATH="$p" "$m" session snapshot "$@"
	MOAT=$m
}
nothing_written() { # nothing_written WHAT
	if [ -z "$(ls "$T/ws" | grep '\.tar$')" ] && [ ! -e "$T/snap.tar" ]; then
		ok "$1: nothing written"
	else
		not_ok "$1: nothing written"; diag "$(ls "$T/ws" "$T")"
	fi
}

run_moat session new
is "session new: 0" "$rc" 0
S=$out

snap "$T/nocriu" "$S" "$T/snap.tar" --processes
is "no criu on PATH: exit 125" "$rc" 125
is "it says so, in one line" "$err" "moat session snapshot: --processes: no criu on PATH: checkpointing processes needs CRIU (4.x; Debian 12's criu 3.17 fails its own check on newer kernels)"
nothing_written "no criu"

snap "$T/nocriu" "no-such-$$" --processes
is "an unknown session: 125" "$rc" 125
like "named as such" "$err" "no session is named no-such-$$"

fake 1 "Warn  (criu/kerndat.c:1): a warning first
  Error (criu/vdso.c:99): vdso: Unexpected rt vDSO area bounds  
Error (criu/cr-check.c:7): a later one
"
if is_root; then
	snap "$T/fake" --processes "$S"
	is "criu check fails: exit 125" "$rc" 125
	is "its first error line is named (--processes before the id)" "$err" "moat session snapshot: --processes: \`$T/fake/criu check\` failed (exit 1): Error (criu/vdso.c:99): vdso: Unexpected rt vDSO area bounds"
	is "criu was asked to check" "$(cat "$T/criu-called" 2>/dev/null)" "check"
	nothing_written "criu check failing"

	fake 3 ""
	snap "$T/fake" "$S" --processes
	is "a check that prints nothing: said so" "$err" "moat session snapshot: --processes: \`$T/fake/criu check\` failed (exit 3): it printed nothing"

	# A check that hangs is killed and said so.
	hang=6$$$RANDOM
	printf '#!/bin/sh\necho "Error (criu/x.c:1): stuck"\nexec %s %s\n' "$(command -v sleep)" "$hang" >"$T/hang/criu"
	chmod 755 "$T/hang/criu"
	snap "$T/hang" "$S" --processes
	is "a check that hangs: 125" "$rc" 125
	is "it is said so, with what it printed" "$err" "moat session snapshot: --processes: \`$T/hang/criu check\` did not finish within 10 s: Error (criu/x.c:1): stuck"
	check "and it was killed" test -z "$(pgrep -f "sleep $hang\$")"

	# Root without CAP_CHECKPOINT_RESTORE (dropped from the bounding set,
	# so gone after the exec): refused before criu runs.
	if command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/cap_last_cap)" -ge 40 ]; then
		fake 0 "Looks good."
		o=$(cd "$T/ws" && setpriv --bounding-set -checkpoint_restore \
		    env PATH="$T/fake" "$MOAT" session snapshot "$S" --processes 2>&1 >/dev/null)
		rc=$?
		is "root without CAP_CHECKPOINT_RESTORE: 125" "$rc" 125
		is "it names the capability" "$o" "moat session snapshot: --processes: criu needs CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE (root in practice); this moat (uid 0) lacks CAP_CHECKPOINT_RESTORE: run it as root, or snapshot the files only (without --processes)"
		check "criu was not run" test ! -e "$T/criu-called"
	else
		skip "root without CAP_CHECKPOINT_RESTORE: no setpriv, or a kernel without that capability"
	fi

	# criu's check passes: what the session is stops it.
	fake 0 "Looks good."
	snap "$T/fake" "$S" --processes
	is "a session: 125" "$rc" 125
	is "the reason is the session's" "$err" "moat session snapshot: --processes: session $S cannot be checkpointed by CRIU: its init is moat itself, never exec'd inside, so its code is mapped from a mount the sandbox does not hold; its seccomp filter reports to a listener outside, which criu cannot restore; snapshot its files only (without --processes)"
	nothing_written "a session criu cannot take"
	run_moat session new -p restricted
	R=$out
	if [ "$rc" = 0 ]; then
		snap "$T/fake" "$R" --processes
		is "a restricted session: 125" "$rc" 125
		like "its proxy is named too" "$err" "; and net = restricted serves its proxy from outside; snapshot its files only"
		run_moat session kill "$R"
	else
		not_ok "session new -p restricted"; diag "$err"
	fi

	# A real criu, where there is one: its own check decides the first
	# half of the line.
	if [ -n "$real_criu" ] && [ -x "$real_criu" ]; then
		mkdir -p "$T/real" && ln -s "$real_criu" "$T/real/criu"
		want=$("$real_criu" check 2>&1 </dev/null)
		crc=$?
		snap "$T/real" "$S" --processes
		is "real criu ($real_criu): 125" "$rc" 125
		if [ $crc = 0 ]; then
			like "its check passed here: the session is the reason" "$err" "^moat session snapshot: --processes: session $S cannot be checkpointed by CRIU: its init is moat itself"
		else
			line=$(printf '%s\n' "$want" | sed 's/^[ \t]*//;s/[ \t\r]*$//' | grep -m1 '^Error')
			[ -n "$line" ] || line=$(printf '%s\n' "$want" | sed 's/^[ \t]*//;s/[ \t\r]*$//' | grep -m1 .)
			is "its check failed here: its first error is named" "$err" "moat session snapshot: --processes: \`$T/real/criu check\` failed (exit $crc): $line"
		fi
		run_moat session exec "$S" -- true
		is "the session still runs after" "$rc" 0
	else
		skip "no real criu here (none on PATH, MOAT_TEST_CRIU unset)"
	fi
else
	snap "$T/fake" "$S" "$T/snap.tar" --processes
	is "not root: exit 125" "$rc" 125
	is "it says what is missing and what to do" "$err" "moat session snapshot: --processes: criu needs CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE (root in practice); this moat (uid $test_uid) lacks CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE: run it as root, or snapshot the files only (without --processes)"
	check "criu was not run" test ! -e "$T/criu-called"
	nothing_written "not root"
fi

# Without --processes the files are still snapshot.
run_moat session snapshot "$S" "$T/files.tar"
is "snapshot without --processes: 0" "$rc" 0
like "it wrote the tar: /tmp is in it" "$(tar -tf "$T/files.tar" 2>&1)" "^tmp/"
done_testing

#!/bin/bash
# Attacks on the filesystem view: read secrets outside the workspace, write
# outside it, reach the host root through /proc, write host-control files.
. "$(dirname "$0")/../e2e/libtest.sh"
require_sandbox

echo "TOPSECRET-$$" >"$T/secret.txt"
mkdir -p "$HOME/.ssh" && echo "PRIVATE-KEY-$$" >"$HOME/.ssh/id_ed25519"

sandbox sh -c "cat '$T/secret.txt'; cat '$HOME/.ssh/id_ed25519'; ls '$HOME'"
unlike "a secret outside the workspace cannot be read" "$out" "TOPSECRET"
unlike "the host's ~/.ssh key cannot be read" "$out" "PRIVATE-KEY"

sandbox sh -c "echo pwned > '$T/outside.txt'; echo pwned > /usr/pwned; echo pwned > /etc/pwned; echo pwned > /pwned"
check "writing outside the workspace fails" test "$rc" -ne 0
check "nothing was written next to the workspace" test ! -e "$T/outside.txt"
check "/usr stays read-only" test ! -e /usr/pwned

# /etc is one directory of copies kept in the user's cache between runs
# (etc-cache.c), bound read-only: what a run writes there, later runs would
# read.
etcdir=$(ls -d "$XDG_CACHE_HOME"/moat/etc-* 2>/dev/null | head -1)
check "the sandbox's /etc is kept in the user's cache" test -n "$etcdir"
check "nothing written to /etc inside lands in it" test ! -e "$etcdir/pwned"
sandbox sh -c 'for f in /etc/passwd /etc/hosts /etc/ld.so.cache; do echo x >> $f && echo WROTE $f; done; mkdir /etc/ld.so.conf.d/x && echo MADE; ln -s /tmp/x /etc/ld.so.preload && echo LINKED; exit 0'
unlike "no file of /etc can be written, added to or linked into" "$out" "WROTE|MADE|LINKED"
check "the cached copies are as they were" cmp -s "$etcdir/hosts" /etc/hosts
# A file planted in that directory from outside (whoever can write the
# user's files could): the next run does not see it.
echo /tmp/evil.so >"$etcdir/ld.so.preload"
sandbox sh -c 'cat /etc/ld.so.preload 2>&1; cat /etc/hosts'
unlike "a file planted in the cached /etc is not seen inside" "$out" "evil.so"
like "and /etc is still the host's" "$out" "localhost"
rm -f "$etcdir/ld.so.preload"

# moat's own directories (profiles, caches, the audit log, its state) are
# hidden even where the workspace holds them (-w over the user's home): a
# command could rewrite a profile, plant into the caches what later runs
# take up (the seccomp program, the copy of /etc), or read the log.
mkdir -p "$XDG_CONFIG_HOME/moat/profiles"
echo 'description = the user s own' >"$XDG_CONFIG_HOME/moat/profiles/mine.conf"
run_moat run -p "${PROFILE:-default}" -w "$T" -- sh -c "
	ls -A '$XDG_CONFIG_HOME/moat' '$XDG_CACHE_HOME/moat' '$XDG_DATA_HOME/moat' '$XDG_STATE_HOME/moat' 2>&1
	echo 'net = proxied' >> '$XDG_CONFIG_HOME/moat/profiles/mine.conf' && echo WROTE-PROFILE
	echo x > '$XDG_CACHE_HOME/moat/planted' && echo WROTE-CACHE
	cat '$XDG_DATA_HOME/moat/audit.db' >/dev/null 2>&1 && echo READ-LOG
	ls '$T/ws' >/dev/null && echo WS-SEEN; exit 0"
is "with the workspace over them, the run runs" "$rc" 0
like "the rest of that workspace is seen" "$out" "WS-SEEN"
unlike "moat's profiles, caches, log and state are empty inside" "$out" "mine\.conf|etc-|seccomp-|risk-rules|audit\.db|ws$"
unlike "and none can be written or read" "$out" "WROTE-PROFILE|WROTE-CACHE|READ-LOG"
is "the user's profile is as it was" "$(cat "$XDG_CONFIG_HOME/moat/profiles/mine.conf")" "description = the user s own"
check "nothing was planted in the cache" test ! -e "$XDG_CACHE_HOME/moat/planted"

# A workspace inside one of them is refused; a profile's bind of one, or
# of something inside one, is empty inside.
(cd "$XDG_CACHE_HOME/moat" && "$MOAT" run -q -- true) >"$T/own.out" 2>&1
ownrc=$?
is "a workspace inside moat's cache directory is refused" "$ownrc" 125
like "and the refusal names it" "$(cat "$T/own.out")" "inside .*/moat, moat's own directory"
printf 'include = %s\nro-bind = %s:/mnt/log\nro-bind = %s:/mnt/profiles\n' \
    "${PROFILE:-default}" "$XDG_DATA_HOME/moat" "$XDG_CONFIG_HOME/moat/profiles" >"$T/own.conf"
run_moat run -p "$T/own.conf" -- sh -c 'ls -A /mnt/log /mnt/profiles; exit 0'
is "a profile binding them: the run runs" "$rc" 0
unlike "and they are empty inside" "$out" "audit|mine"

sandbox sh -c 'cat /etc/shadow; cat /etc/ssl/private/* ; ls /root/; ls /home'
unlike "/etc/shadow is not there" "$out" "root:"

ln -s "$T/secret.txt" "$T/ws/link"
sandbox cat link
unlike "a symlink in the workspace to a host file leads nowhere" "$out" "TOPSECRET"

sandbox sh -c 'ls /proc/1/root/ 2>&1; cat /proc/1/root/etc/hostname 2>&1; ls /proc/1/cwd/ 2>&1'
unlike "/proc/1/root does not lead to the host" "$out" "secret.txt|bin"

# The host's mount tree, copied into the sandbox's mount namespace, is
# detached: none of its mounts (the host's sysfs and cgroup hierarchies,
# the host root kept at /oldroot while the root was built) is left in the
# sandbox's, not even stacked under its root where no path leads.
sandbox sh -c 'cat /proc/self/mountinfo'
is "the mount table inside was read" "$rc" 0
unlike "no mount of the host's tree is left in the sandbox" "$out" \
    "- (sysfs|cgroup|cgroup2|tracefs|securityfs|debugfs|mqueue) |/oldroot|/newroot"
like "the sandbox's own mounts are listed (/usr read-only)" "$out" " /usr ro,"

sandbox sh -c 'echo x >> /proc/self/exe && echo WROTE-SELF; echo x >> /proc/1/exe && echo WROTE-INIT; exit 0'
unlike "/proc/self/exe and /proc/1/exe cannot be opened for writing" "$out" "WROTE"

sandbox sh -c 'echo 1 > /proc/sysrq-trigger && echo SYSRQ; echo 3 > /proc/sys/vm/drop_caches && echo SYSCTL;
	echo moat-x > /proc/sys/kernel/hostname && echo HOSTNAME; exit 0'
unlike "/proc/sys and /proc/sysrq-trigger are read-only" "$out" "SYSRQ|SYSCTL|HOSTNAME"

# Masked /proc files read as empty inside. A file this kernel does not have
# proves nothing (it reads as empty with no mask at all), and one this user
# cannot read on the host either proves no more: each is first read on the
# host, and only one that gives bytes there is tested.
for f in /proc/kcore /proc/timer_list /proc/kallsyms /proc/keys /proc/key-users; do
	if [ ! -e "$f" ]; then
		skip "$f is masked: this kernel has no $f"
		continue
	fi
	host_bytes=$(head -c 4096 "$f" 2>/dev/null | wc -c)
	if [ "$host_bytes" -eq 0 ]; then
		skip "$f is masked: it gives $who nothing on the host either"
		continue
	fi
	sandbox sh -c "head -c 4096 $f | wc -c; stat -c %t:%T $f"
	is "$f is masked (reads $host_bytes bytes on the host, none inside; it is /dev/null)" \
	    "$(echo $out)" "0 1:3"
done

# A file descriptor the host opened does not reach the command.
exec 7<"$T/secret.txt"
out=$(cd "$T/ws" && "$MOAT" run -- sh -c 'ls /proc/self/fd | tr "\n" " "; cat /proc/self/fd/7 2>/dev/null; (cat <&7) 2>/dev/null' </dev/null)
exec 7<&-
unlike "an inherited fd 7 is not readable inside" "$out" "TOPSECRET"
like "only stdio (and ls's own dir fd) is open" "$out" "^0 1 2 3 $"

sandbox sh -c 'mount -t tmpfs none /tmp 2>&1 && echo MOUNTED; exit 0'
unlike "mount fails" "$out" "MOUNTED"

done_testing

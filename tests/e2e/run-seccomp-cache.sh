#!/bin/bash
# The cache of compiled seccomp programs ($XDG_CACHE_HOME/moat/seccomp-KEY,
# filter-cache.c): the first run compiles and keeps the program, the next
# one takes it from there (moat run -v says which), and the kernel enforces
# it the same. A file cut short, a changed byte, the program of a looser
# profile put in the place of the default's, a file others may write, a
# symbolic link and (as root) a file of another user are never used: the
# run compiles afresh, still denies what the profile denies, and leaves a
# good file behind.
. "$(dirname "$0")/libtest.sh"
require_sandbox

cache=$XDG_CACHE_HOME/moat
# What a denied call looks like inside: unshare(CLONE_NEWUSER) is in the
# deny list (@userns) and answers EPERM.
probe='import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) == 0:
    print("unshare allowed")
else:
    print("unshare", errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))'

# vrun PROFILE: moat run -v with the probe; $how is what it said of the program.
vrun() {
	run_moat run -v -p "$1" -- /usr/bin/python3 -c "$probe"
	how=$(printf '%s\n' "$err" | sed -n 's/.*note: seccomp: [0-9]* instructions, //p')
}
# the cache file of the default profile (the only one after the first run)
file_of() { ls "$cache"/seccomp-* 2>/dev/null | grep -v '\.tmp$' | head -1; }

rm -rf "$cache"
vrun default
is "a first run compiles the program" "$how" compiled
is "and the kernel denies what the profile denies" "$out" "unshare EPERM"
f=$(file_of)
check "the program is kept in \$XDG_CACHE_HOME/moat" test -f "$f"
is "the cache file is the user's alone (0600)" "$(stat -c %a "$f")" 600
is "in a directory of the user's alone (0700)" "$(stat -c '%a %u' "$cache")" "700 $(id -u)"
size=$(stat -c %s "$f")

vrun default
is "the next run takes the program from the cache" "$how" "from the cache"
is "and the kernel enforces it the same" "$out" "unshare EPERM"
is "no other program was written" "$(ls "$cache" | grep -c "^seccomp-")" 1

# again CHANGE: after CHANGE to the file, the run compiles afresh, denies
# the same, and leaves a good file behind that the next run takes.
again() {
	vrun default
	is "$1: the run compiles afresh" "$how" compiled
	is "$1: the kernel still denies unshare" "$out" "unshare EPERM"
	is "$1: a good file replaces it" "$(stat -c '%s %a' "$f" 2>/dev/null)" "$size 600"
	vrun default
	is "$1: which the next run takes" "$how" "from the cache"
}

truncate -s $((size - 40)) "$f"
again "a file cut short"

# A byte of the program changed (the checksum at the end no longer holds).
printf '\377' | dd of="$f" bs=1 seek=60 conv=notrunc status=none
again "a changed byte"

# The program of a profile that allows user namespaces, in the default's
# place: its key is not the default's.
printf 'include = default\nseccomp-allow = @userns\n' >"$T/loose.conf"
vrun "$T/loose.conf"
is "a profile that allows @userns gets a program of its own" "$how" compiled
is "under which unshare is allowed (so its program, used in the default's place, would show)" "$out" "unshare allowed"
loose=$(ls "$cache"/seccomp-* | grep -v -F "$f" | head -1)
check "kept under another key" test -n "$loose" -a -f "$loose"
cp "$loose" "$f"
again "the looser profile's program under the default's key"

chmod 0620 "$f"
again "a file others may write"
chmod 0770 "$cache"
vrun default
is "a cache directory others may write: the run compiles" "$how" compiled
is "and the kernel still denies unshare" "$out" "unshare EPERM"
chmod 0700 "$cache"

rm -f "$f"
ln -s "$loose" "$f"
vrun default
is "a symbolic link in the file's place: the run compiles" "$how" compiled
is "and the kernel still denies unshare" "$out" "unshare EPERM"
check "the link is replaced by a file" test -f "$f" -a ! -L "$f"

if is_root; then
	chown 65534:65534 "$f"
	again "a file of another user"
else
	skip "a file of another user: only root can give one away"
fi

done_testing

#!/bin/bash
# tui.sh: what moat shell's screen costs, side by side in one run, each on
# a tmux terminal of 160x45: a flood (yes | head -n LINES, and cat of a
# 100 MB text file) written by bare sh to the terminal, by moat session exec
# to the terminal (moat's relay), and by moat shell into its pane (the
# emulator, drawn at most 50 times a second); wall time of the command as
# each one sees it, and the CPU time of the process that shows it (moat's
# client, or the TUI). Then the meters: the TUI's CPU while a command
# sleeps 10 s (meters at 10 Hz, redraws), beside moat session exec's client
# (4 Hz, nothing drawn) and the TUI idle. Results: stdout and
# bench/results/tui.md.
#
# usage: bench/tui.sh [-n LINES]
#   MOAT=path/to/moat (default ./moat), MOAT_PROFILE_DIR (default profiles/)
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
lines=1000000
while [ $# -gt 0 ]; do
	case $1 in
	-n) lines=$2; shift 2 ;;
	-h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "tui.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
die() { echo "tui.sh: $*" >&2; exit 2; }
command -v tmux >/dev/null || die "tmux is not installed (apt-get install tmux)"
moat=${MOAT:-./moat}
case $moat in /*) ;; *) moat=$(cd "$(dirname "$moat")" 2>/dev/null && pwd)/$(basename "$moat") ;; esac
[ -x "$moat" ] || die "no moat binary at ${MOAT:-./moat}"
export MOAT_PROFILE_DIR=${MOAT_PROFILE_DIR:-$top/profiles}
results=$here/results
mkdir -p "$results"

T=$(mktemp -d /tmp/moat-bench-tui.XXXXXX)
chmod 755 "$T"
export HOME=$T/home XDG_STATE_HOME=$T/state XDG_DATA_HOME=$T/data \
	XDG_RUNTIME_DIR=$T/run MOAT_DB=$T/audit.db
mkdir -p "$HOME" "$T/ws" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
sock=$T/tmux.sock
tm() { tmux -S "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null; "$moat" session kill --all >/dev/null 2>&1; rm -rf "$T"' EXIT
yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef |
	head -c 100M >"$T/ws/big.txt"

# cpu_of PID: utime+stime in seconds.
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' \
	    "/proc/$1/stat" 2>/dev/null || echo 0
}
wait_screen() {	# wait_screen REGEX SECONDS
	local i
	for i in $(seq $(( $2 * 10 ))); do
		tm capture-pane -p | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
start() {
	tm kill-server 2>/dev/null
	for _ in $(seq 50); do tm ls >/dev/null 2>&1 || break; sleep 0.1; done
	rm -f "$sock"
	SHELL=/bin/sh tm -f /dev/null new-session -d -x 160 -y 45 "cd '$T/ws' && $*; sleep 600"
}

# terminal CMD: the command timed on the bare terminal and through moat
# session exec; prints "bare_s exec_s exec_client_cpu_s".
declare -A wall cpu
flood() {	# flood NAME SHELL-COMMAND
	local name=$1 cmd=$2 sid pid c0 t
	start "bash -c 's=\$EPOCHREALTIME; $cmd; e=\$EPOCHREALTIME; echo; echo BARE-DONE \$s \$e'"
	wait_screen 'BARE-DONE' 300 || die "$name: bare did not end"
	t=$(tm capture-pane -p | awk '/BARE-DONE/ { printf "%.3f", $3 - $2 }')
	wall[$name,bare]=$t cpu[$name,bare]="-"

	sid=$("$moat" session new -w "$T/ws" | awk '{print $1}')
	start "bash -c '\"$moat\" session exec -q $sid -- sh -c \"$cmd\" & p=\$!; wait \$p; echo EXEC-DONE'"
	pid=""
	for _ in $(seq 50); do pid=$(pgrep -f "^$moat session exec -q $sid" | head -1); [ -n "$pid" ] && break; sleep 0.05; done
	c0=0; last=0
	while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do last=$(cpu_of "$pid"); sleep 0.05; done
	wait_screen 'EXEC-DONE' 300 || die "$name: session exec did not end"
	t=$(sqlite3 "$MOAT_DB" "SELECT printf('%.3f', duration) FROM runs WHERE session = '$sid' ORDER BY id DESC LIMIT 1")
	wall[$name,exec]=$t cpu[$name,exec]=$last
	"$moat" session kill "$sid" >/dev/null

	start "'$moat' shell"
	wait_screen "ws \\$ *\$" 30 || die "moat shell did not start"
	pid=$(pgrep -f "^$moat shell\$" -P "$(tm display -p '#{pane_pid}')" | head -1)
	c0=$(cpu_of "$pid")
	tm send-keys -l "$cmd"; tm send-keys Enter
	wait_screen '■ exit 0 ' 300 || die "$name: moat shell did not end"
	last=$(cpu_of "$pid")
	t=$(sqlite3 "$MOAT_DB" "SELECT printf('%.3f', duration) FROM runs WHERE source = 'tui' ORDER BY id DESC LIMIT 1")
	wall[$name,tui]=$t cpu[$name,tui]=$(awk -v a="$c0" -v b="$last" 'BEGIN { printf "%.2f", b - a }')
	tm send-keys -l ":quit"; tm send-keys Enter
}

command -v sqlite3 >/dev/null || die "sqlite3 is needed to read the runs' durations"
echo "flood: yes | head -n $lines"
flood yes "yes | head -n $lines"
echo "flood: cat of a 100 MB text file"
flood cat "cat big.txt"

# --- meters: CPU of the process that samples and shows them over 10 s.
echo "meters: 10 s of sleep"
start "'$moat' shell"
wait_screen "ws \\$ *\$" 30 || die "moat shell did not start"
pid=$(pgrep -f "^$moat shell\$" -P "$(tm display -p '#{pane_pid}')" | head -1)
c0=$(cpu_of "$pid"); sleep 10; c1=$(cpu_of "$pid")
idle=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", (b - a) / 10 * 100 }')
tm send-keys -l "sleep 12"; tm send-keys Enter
sleep 1
c0=$(cpu_of "$pid"); sleep 10; c1=$(cpu_of "$pid")
tui10=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", (b - a) / 10 * 100 }')
samples=$(sqlite3 "$MOAT_DB" "SELECT count(*) FROM samples WHERE run = (SELECT max(id) FROM runs)" 2>/dev/null)
sid=$("$moat" session new -w "$T/ws" | awk '{print $1}')
"$moat" session exec -q "$sid" -- sleep 12 &
epid=$!
sleep 1
c0=$(cpu_of "$epid"); sleep 10; c1=$(cpu_of "$epid")
exec4=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", (b - a) / 10 * 100 }')
wait $epid

{
	echo "# moat shell: flood and meters ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r))"
	echo
	echo "Flood: wall time of the command (bare: on the terminal; moat: the run's"
	echo "duration as recorded) and CPU seconds of the process showing it."
	echo
	echo "| output | bare sh on tmux | moat session exec (relay) | moat shell (pane) | TUI CPU s | exec client CPU s |"
	echo "|---|---|---|---|---|---|"
	for n in yes cat; do
		label=$([ $n = yes ] && echo "yes \\| head -n $lines" || echo "cat 100 MB")
		echo "| $label | ${wall[$n,bare]} s | ${wall[$n,exec]} s | ${wall[$n,tui]} s | ${cpu[$n,tui]} | ${cpu[$n,exec]} |"
	done
	echo
	echo "Meters: CPU of the showing process over 10 s, % of one core."
	echo
	echo "| moat shell idle | moat shell, command sleeping (meters 10 Hz) | moat session exec client, sleeping (4 Hz) |"
	echo "|---|---|---|"
	echo "| $idle % | $tui10 % ($samples samples recorded) | $exec4 % |"
} | tee "$results/tui.md"

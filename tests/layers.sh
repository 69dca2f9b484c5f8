#!/bin/bash
# layers.sh: no #include runs from a lower layer of src/ to a higher one.
# Each folder of src/ is a layer with a rank; a file may include headers of
# its own folder and of folders of a lower rank, never of its own rank in
# another folder (siblings stay independent) nor of a higher one. A folder
# missing from the table fails, so a new layer is placed on purpose.
# Usage: layers.sh [SRCDIR]; make check runs it.
set -u
src=${1:-${MOAT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}}/src

declare -A rank=(
	[base]=0	# util, error, loop, sha256, rx, event: no moat policy
	[profile]=1	# parse -> struct profile; acts on nothing
	[risk]=2	# the scorer
	[network]=2	# the supervisor's side of restricted and proxied modes
	[audit]=2	# the store
	[sandbox]=3	# spawn, init and every isolation step
	[session]=4	# long-lived sandboxes
	[review]=4	# diff and apply of overlay layers
	[record]=4	# a run scored and recorded: every front end's one call
	[tui]=5		# the interactive shell: screen, pane, meters
	[agent]=5	# wrap, mcp
	[cli]=6		# main, the command table, one cmd-*.c per subcommand
)

n=0 fail=0
ok()     { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }

[ -d "$src" ] || { echo "1..0 # SKIP no $src"; exit 0; }
for dir in "$src"/*/; do
	layer=$(basename "$dir")
	if [ -z "${rank[$layer]+set}" ]; then
		not_ok "src/$layer is a known layer (add it to tests/layers.sh with its rank)"
		continue
	fi
	bad=()
	for f in "$dir"*.[ch]; do
		[ -e "$f" ] || continue
		while IFS= read -r inc; do
			case $inc in
			*/*)	to=${inc%%/*}
				if [ -z "${rank[$to]+set}" ]; then
					bad+=("${f#"$src"/} includes \"$inc\": no such layer")
				elif [ "$to" != "$layer" ] && [ "${rank[$to]}" -ge "${rank[$layer]}" ]; then
					bad+=("${f#"$src"/} includes \"$inc\": $to (rank ${rank[$to]}) is not below $layer (rank ${rank[$layer]})")
				fi ;;
			*)	[ -e "$dir$inc" ] ||
				    bad+=("${f#"$src"/} includes \"$inc\", which is not in src/$layer (name its folder)") ;;
			esac
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ok "src/$layer (rank ${rank[$layer]}) includes only its own folder and lower layers"
	else
		not_ok "src/$layer (rank ${rank[$layer]}) includes only its own folder and lower layers"
		printf '# %s\n' "${bad[@]}"
	fi
done
echo "1..$n"
[ $fail -eq 0 ]

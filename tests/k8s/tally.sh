# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The tally of the k8s-tier scripts that run other scripts (run.sh,
# validate.sh): the counters, a sub-script's "ok"/"FAIL" lines, its
# "N passed, M failed" summary, and the summary line of the whole. Sourced.

passed=0
failed=0

# tally_lines [FROM TO] < OUTPUT: echoes each line (its first FROM replaced by
# TO) and counts the "ok..." and "FAIL..." lines.
tally_lines() {
	local line
	while IFS= read -r line; do
		[ $# -eq 2 ] && line=${line/"$1"/"$2"}
		echo "$line"
		case "$line" in
		ok*) passed=$((passed + 1)) ;;
		FAIL*) failed=$((failed + 1)) ;;
		esac
	done
}

# tally_summary OUTPUT: echoes OUTPUT but its "N passed, M failed" line and adds
# those counts; returns 1 (nothing added) when OUTPUT does not end with one.
tally_summary() {
	local last
	printf '%s\n' "$1" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
	last=$(printf '%s\n' "$1" | tail -n1)
	[[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] || return 1
	passed=$((passed + BASH_REMATCH[1]))
	failed=$((failed + BASH_REMATCH[2]))
}

# The last line; true when nothing failed.
tally_end() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

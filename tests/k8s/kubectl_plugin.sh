#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tools/kubectl-podwall against a fake kubectl that records its calls and
# answers like a two-node cluster (node1: podwall-a, node2: podwall-b; pod
# agents/coder-0 on node2). One line per case, then "N passed, M failed".
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PLUGIN=$ROOT/tools/kubectl-podwall
WORK=$(mktemp -d /tmp/podwall-kplugin.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CALLS=$WORK/calls
export CALLS NODES=2

cat >"$WORK/kubectl" <<'FAKE'
#!/usr/bin/env bash
printf '%s\n' "$*" >>"$CALLS"
args=" $* "
case "$args" in
*" get pods -l "*"--field-selector spec.nodeName=node1 "*) echo -n podwall-a ;;
*" get pods -l "*"--field-selector spec.nodeName=node2 "*) echo -n podwall-b ;;
*" get pods -l "*"--field-selector "*) echo -n "" ;;
*" get pods -l "*)
	printf 'podwall-a node1\n'
	if [ "$NODES" = 2 ]; then printf "podwall-b node2\n"; fi
	;;
*" -n agents get pod coder-0 "*) echo -n node2 ;;
*" get pod "*) echo 'Error from server (NotFound): pods "x" not found' >&2; exit 1 ;;
*" exec podwall-"*" -- podwall events "*)
	pod=$(sed -E 's/.* exec (podwall-[a-z]+) .*/\1/' <<<"$*")
	echo "TIME                      POD           VERDICT"
	echo "2026-12-01T09:00:00.000Z  agents/x-$pod  drop"
	;;
*" exec "*) echo "podwall on $(sed -E 's/.* exec (podwall-[a-z]+) .*/\1/' <<<"$*"): ${*##*-- podwall }" ;;
*) echo "fake kubectl: unexpected $*" >&2; exit 3 ;;
esac
FAKE
chmod +x "$WORK/kubectl"
export PATH="$WORK:$PATH"

passed=0 failed=0
check() { # NAME CONDITION-COMMAND...
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok   kubectl-plugin/$name"
	else
		failed=$((failed + 1))
		echo "FAIL kubectl-plugin/$name"
		echo "     output: $(head -c 400 "$WORK/out" | tr '\n' '|')"
		echo "     calls: $(tr '\n' '|' <"$CALLS")"
	fi
}
run() { : >"$CALLS"; rc=0; "$PLUGIN" "$@" >"$WORK/out" 2>&1 || rc=$?; }

# --pod: the pod's node, that node's agent, the command as given.
run events --pod agents/coder-0 --since 10m
check pod-finds-its-node eval '[ $rc = 0 ] &&
	grep -qx -- "-n agents get pod coder-0 -o jsonpath={.spec.nodeName}" "$CALLS" &&
	grep -q -- "--field-selector spec.nodeName=node2" "$CALLS" &&
	grep -qx -- "-n kube-system exec podwall-b -c agent -- podwall events --pod agents/coder-0 --since 10m" "$CALLS" &&
	! grep -q "podwall-a" "$CALLS"'
run explain --pod=agents/coder-0 --to api.github.com:443
check pod-equals-form eval '[ $rc = 0 ] && grep -q "exec podwall-b -c agent -- podwall explain --pod=agents/coder-0 --to api.github.com:443" "$CALLS"'

# -A: every node, a NODE column, the header once.
run -A events --reason no-rule
check all-nodes-node-column eval '[ $rc = 0 ] && [ "$(grep -c "exec podwall-" "$CALLS")" = 2 ] &&
	[ "$(grep -c "^NODE " "$WORK/out")" = 1 ] && grep -qE "^node1 +2026.*x-podwall-a" "$WORK/out" &&
	grep -qE "^node2 +2026.*x-podwall-b" "$WORK/out" && [ "$(head -1 "$WORK/out" | cut -c1-4)" = NODE ]'

# --node: that node's agent.
run --node node1 status
check node-option eval '[ $rc = 0 ] && grep -qx -- "-n kube-system exec podwall-a -c agent -- podwall status" "$CALLS"'

# Several nodes and nothing says which: refused, nothing run.
run status
check ambiguous-refused eval '[ $rc != 0 ] && grep -q "2 nodes run podwall" "$WORK/out" && ! grep -q " exec " "$CALLS"'

# One node: it is the one.
NODES=1 run status
check single-node eval '[ $rc = 0 ] && grep -qx -- "-n kube-system exec podwall-a -c agent -- podwall status" "$CALLS"'

# A pod that does not exist, a node without an agent: clear errors, nothing run.
run events --pod agents/ghost-0
check pod-not-found eval '[ $rc != 0 ] && grep -q "pod agents/ghost-0 not found" "$WORK/out" && ! grep -q " exec " "$CALLS"'
run --node node9 status
check node-without-agent eval '[ $rc != 0 ] && grep -q "no podwall agent pod on node node9" "$WORK/out" && ! grep -q " exec " "$CALLS"'
run --help
check help-examples eval '[ $rc = 0 ] && grep -q "^EXAMPLES" "$WORK/out"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

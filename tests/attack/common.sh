# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Helpers shared by tests/attack/run.sh and tests/fault/run.sh, sourced after
# tests/e2e/lib.sh: a capture in the inet namespace that sees every frame
# (fragments, options, extension headers, non-SYN TCP), raw frames from pods,
# extra resolvers, counters and map dumps.

ATTACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FRAMES="$ATTACK_DIR/frames.py"
FLOOD_SINK=192.0.2.99 # in SRV_A's /24 on the inet side, assigned to nothing: floods die there

suite_require() {
	e2e_require
	"$PY" -c 'import scapy.all' >/dev/null 2>&1 ||
		e2e_cannot_run "python3-scapy is not importable by $PY (make deps)"
}

# ---------------------------------------------------------------- capture

cap_start() {
	: >"$TMP/cap.log"
	echo 0 >"$TMP/cap.mark"
	bg_start capture ip netns exec "$INET" "$PY" "$FRAMES" capture --iface "$UPL_INET" \
		--out "$TMP/cap.log" --ignore "$FLOOD_SINK" --seconds "${E2E_TIMEOUT:-1200}"
	wait_until 10 grep -q '^ready' "$TMP/cap.log" || fail "capture did not start"
}
cap_mark() { wc -l <"$TMP/cap.log" >"$TMP/cap.mark"; }
_cap_since() { tail -n +"$(($(cat "$TMP/cap.mark") + 1))" "$TMP/cap.log"; }
# cap_saw_id ID [SRC]: a frame with that IPv4 id / IPv6 flow label reached the inet namespace
cap_saw_id() {
	_cap_since | awk -v id="$1" -v s="${2:-}" '$1=="cap" && $8==id && (s=="" || $3==s) {f=1} END {exit !f}'
}
# cap_saw SRC DST [DPORT]: any frame from SRC to DST (and DPORT) since cap_mark
cap_saw() {
	_cap_since | awk -v s="$1" -v d="$2" -v p="${3:-}" \
		'$1=="cap" && $3==s && $4==d && (p=="" || $6==p) {f=1} END {exit !f}'
}
# cap_seen / cap_seen_id ARGS: the same, for frames that must arrive: polled
# until CAP_WAIT seconds (5) pass, so a slow capture under load is not a miss.
cap_seen() { wait_until "${CAP_WAIT:-5}" cap_saw "$@"; }
cap_seen_id() { wait_until "${CAP_WAIT:-5}" cap_saw_id "$@"; }
cap_show() { _cap_since | tail -n "${1:-20}" >&2; }

# Unique ids for the frames of one run (IPv4 id / IPv6 flow label).
next_id() {
	local n
	n=$(($(cat "$TMP/idseq" 2>/dev/null || echo 1000) + 1))
	echo "$n" >"$TMP/idseq"
	echo "$n"
}

# xmit POD KIND ID [frames.py send args]: raw frame(s) out of the pod's eth0
xmit() {
	local pod=$1 kind=$2 id=$3
	shift 3
	in_pod "$pod" timeout 30 "$PY" "$FRAMES" send "$kind" --id "$id" "$@" >&2
}

# ---------------------------------------------------------------- agent state

status_json() { agent_cli status -o json; }
counter() { status_json | jq -r --arg c "$1" '.counters[$c] // 0'; }
agent_stat() { status_json | jq -r --arg c "$1" '.agent[$c] // 0'; }
pod_ep_id() {
	agent_cli endpoints -o json | jq -r --arg n "$(cat "$TMP/pods/$1/k8s_name")" \
		'.[] | select(.name == $n) | .ep_id'
}
# fqdn_addrs POD: the addresses podwall fqdn lists for the pod, one a line
fqdn_addrs() {
	agent_cli fqdn -o json | jq -r --arg p "$(cat "$TMP/pods/$1/k8s_ns")/$(cat "$TMP/pods/$1/k8s_name")" \
		'.[] | select(.pod == $p) | .addrs[].ip' | sort -u
}
# learned_in_map EP_ID IP: pw_learned has (ep, ip) (dotted quad or v6, from the BTF dump)
learned_in_map() {
	local hex
	hex=$("$PY" -c 'import socket,sys
a=sys.argv[1]
b=socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a)
print(",".join(str(x) for x in b.ljust(16, b"\0")))' "$2")
	bpftool -j map dump pinned "$PIN/pw_learned" 2>/dev/null | jq -e --argjson ep "$1" --arg h "$hex" \
		'any(.[]; .formatted.key.ep_id == $ep and ((.formatted.key.addr.v6 // []) | map(tostring) | join(",")) == $h)' \
		>/dev/null
}
dump_evidence() {
	echo "--- podwall status counters (non-zero)" >&2
	status_json | jq -c '.counters | with_entries(select(.value != 0))' >&2
	status_json | jq -c '.agent' >&2
}

# A DNS "pod" (the bridge plugin only, not enforced) running CMD in its netns.
resolver_pod() {
	local pod=$1
	shift
	cni_add_plain "$pod" kube-system "$pod-0" k8s-app=extra-dns || fail "resolver pod $pod: CNI ADD failed"
}

# dig from a pod: the addresses, or nothing
qry() { in_pod "$1" timeout 10 dig +time=2 +tries=1 +short @"$2" "$3" "${4:-A}" 2>/dev/null | grep -v '^;' || true; }

# A YAML EgressPolicy from a spec body (the lines under "egress:").
policy_yaml() {
	local name=$1 label=$2 body=$3
	policy_write "$name" "$(policy_head "$name" e2e "app=$label" enforce)
$body"
}

# ev_seen VERDICT DST DPORT [REASON]: an event line from any pod (lib.sh's
# event_seen). Not `jq | grep -q`: with many matching lines grep exits first
# and jq's SIGPIPE fails the pipeline under pipefail, whatever was found.
ev_seen() { event_seen "$1" "$2" "$3" "${4:-}"; }

# ------------------------------------------------------------ runner (attack, fault)

# suite_args "$@": BUILD and case names (anything with an underscore that is not a
# directory) into BUILD and ONLY; -h prints the script's header lines FROM-TO.
suite_args() {
	local help=$1 a
	shift
	ONLY=()
	for a in "$@"; do
		case "$a" in
		-h | --help)
			sed -n "$help" "$0"
			exit 0
			;;
		*) if [[ $a == *_* ]] && ! [ -d "$a" ]; then ONLY+=("$a"); else BUILD=$a; fi ;;
		esac
	done
}

# suite_start NAME: topology and suite_setup, or one failing line and exit.
suite_start() {
	suite_require
	e2e_init
	e2e_setup
	echo "# $1: prefix $PFX, temp $TMP, build $BUILD"
	(set -e; suite_setup) >"$TMP/setup.log" 2>&1 || {
		echo "not ok - setup"
		tail -n 30 "$TMP/setup.log" | sed 's/^/#   /'
		tail -n 15 "$TMP/agent.log" | sed 's/^/#   /'
		echo "0 passed, 1 failed"
		exit 1
	}
}

# suite_cases CASE...: each case (or only those named), then cleanup_CASE if
# defined and, for suites that set AGENT_ARGS, the agent back up if a case left
# it down; then the summary.
suite_cases() {
	local c
	for c in "$@"; do
		if [ ${#ONLY[@]} -gt 0 ] && [ "$c" != sanitizers_clean ] &&
			! printf '%s\n' "${ONLY[@]}" | grep -qx "$c"; then
			continue
		fi
		cap_mark
		run_test "$c"
		if declare -F "cleanup_$c" >/dev/null; then "cleanup_$c"; fi
		# a case that left the agent down must not take the rest with it
		if declare -p AGENT_ARGS >/dev/null 2>&1; then
			agent_running || agent_start "${AGENT_ARGS[@]}" >/dev/null 2>&1 || true
		fi
	done
	e2e_summary
}

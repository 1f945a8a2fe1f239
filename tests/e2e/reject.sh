#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall e2e: denyAction reject, fail fast instead of a silent drop (issue 13
# section 6). A pod of a reject policy that connects to a denied address gets
# "connection refused" at once (a RST built by pod_egress), a UDP send gets the
# ICMP administratively-prohibited error on its socket, a flood of denied SYNs
# gets at most the reject rate of RSTs (counted on the pod side), and a drop
# policy (the default) still drops silently.
#
# usage: tests/e2e/reject.sh [BUILD_DIR] [CASE...]
# Same topology as run.sh (tests/e2e/lib.sh). Every loop is bounded.
set -u

ONLY=()
for a in "$@"; do
	case "$a" in
	-h | --help)
		sed -n '3,11p' "$0"
		exit 0
		;;
	*) if [[ $a == *_* ]] && [[ $a != */* ]]; then ONLY+=("$a"); else BUILD=$a; fi ;;
	esac
done

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PROBE="$E2E_DIR/reject_probe.py"
REJ_RATE=10  # the agent's --reject-per-sec in this suite
REJ_BURST=20 # --reject-burst
FAST_MS=100  # a denied connect must fail within this (native speed, times SLOW)

# ============================================================ helpers (this suite's own)

policy_ready() {
	need_agent
	wait_until 5 policy_loaded "$1" || fail "policy $1 not listed by the agent within 5 s"
}

# policy_reject NAME LABEL ACTION: enforce, TCP 443 to $SRV_A and $SRV6_A only;
# ACTION is the denyAction ("" leaves the field out: the default).
policy_reject() {
	local act=""
	[ -z "$3" ] || act="
  denyAction: $3"
	policy_write "$1" "apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: $1, namespace: e2e}
spec:
  podSelector: {matchLabels: {app: $2}}
  mode: enforce$act
  egress:
    - toCIDRs: [{cidr: $SRV_A/32}, {cidr: $SRV6_A/128}]
      ports: [{port: 443, protocol: TCP}]"
}

# probe POD ARGS...: reject_probe.py in the pod; prints its one line.
probe() {
	local pod=$1
	shift
	in_pod "$pod" timeout 20 "$PY" "$PROBE" "$@"
}

# probe_is POD WANT ARGS...: the probe's first word is WANT.
probe_is() {
	local pod=$1 want=$2 out
	shift 2
	out=$(probe "$pod" "$@") || return 1
	[ "${out%% *}" = "$want" ]
}

# fast MS: within FAST_MS, scaled by SLOW.
fast() { [ "$1" -lt $((FAST_MS * SLOW)) ]; }

counter() { { agent_cli status -o json || true; } | jq -r ".counters.$1 // empty"; }

# ============================================================ cases

# The pod's connect to a denied address is refused at once (v4 and v6); curl
# says so; the allowed address still connects; the SYN never left the node.
reject_tcp_refused_fast() {
	policy_reject rej rej reject
	policy_ready rej
	cni_add rej e2e rej-0 app=rej
	local out ms cout crc=0
	assert_ok connect rej "$SRV_A" 443
	out=$(probe rej tcp "$SRV_B" 443 --timeout 8)
	e2e_log "tcp $SRV_B:443 -> $out"
	[ "${out%% *}" = refused ] || fail "connect to denied $SRV_B:443: $out (want refused)"
	ms=${out#* }
	fast "$ms" || fail "refused after $ms ms (want < $((FAST_MS * SLOW)) ms)"
	out=$(probe rej tcp "$SRV6_B" 443 --timeout 8)
	e2e_log "tcp [$SRV6_B]:443 -> $out"
	[ "${out%% *}" = refused ] || fail "connect to denied [$SRV6_B]:443: $out (want refused)"
	fast "${out#* }" || fail "v6 refused after ${out#* } ms"
	out=$(probe rej tcp "$SRV_A" 8080 --timeout 8)
	[ "${out%% *}" = refused ] || fail "connect to denied port $SRV_A:8080: $out"
	# curl, as an agent's tool would call it
	cout=$(in_pod rej curl -sS --connect-timeout 8 -o /dev/null \
		-w 'time_total=%{time_total}\n' "http://$SRV_B:443/" 2>&1) || crc=$?
	e2e_log "curl: rc $crc: $(tr '\n' ' ' <<<"$cout")"
	[ "$crc" = 7 ] || fail "curl exit status $crc, want 7 (couldn't connect): $cout"
	grep -Eq "Couldn't connect|Connection refused" <<<"$cout" || fail "curl said: $cout"
	awk -v t="$(sed -n 's/^time_total=//p' <<<"$cout")" -v lim="$((FAST_MS * SLOW))" \
		'BEGIN {exit !(t * 1000 < lim)}' || fail "curl took too long: $cout"
	sleep 0.3
	assert_fails server_saw "$SRV_B" 443 "$(pod_ip4 rej)"
	assert_fails server_saw "$SRV6_B" 443 "$(pod_ip6 rej)"
	# the events say the pod was answered: verdict reject (table, json, --verdict)
	assert_ok wait_until 3 event_seen reject "$SRV_B" 443 no-rule rej
	assert_ok wait_until 3 event_seen reject "$SRV_A" 8080 port rej
	assert_fails event_seen drop "$SRV_B" 443 no-rule rej
	local j t
	j=$(agent_cli events --pod e2e/rej- --verdict reject -o json)
	jq -s -e --arg d "$SRV_B" 'length > 0 and all(.[]; .verdict == "reject")
		and any(.[]; .dst == $d and .dport == 443 and .reason == "no-rule")' <<<"$j" >/dev/null ||
		fail "--verdict reject -o json: $j"
	t=$(agent_cli events --pod e2e/rej- --verdict reject)
	e2e_log "table:"$'\n'"$t"
	e2e_log "json: $(tail -1 <<<"$j")"
	grep -Eq "reject +no-rule +tcp +$SRV_B +443" <<<"$t" || fail "--verdict reject table: $t"
}

# A UDP send to a denied address: the socket gets the ICMP error (v4 type 3
# code 13, v6 type 1 code 1), at once; nothing reached the server.
reject_udp_icmp_error() {
	[ -e "$TMP/pods/rej" ] || { policy_reject rej rej reject && policy_ready rej &&
		cni_add rej e2e rej-0 app=rej; }
	local out
	out=$(probe rej udp "$SRV_B" 9999 --timeout 8)
	e2e_log "udp $SRV_B:9999 -> $out"
	[[ $out == "icmp 3 13 "* ]] || fail "UDP to denied $SRV_B:9999: $out (want icmp 3 13)"
	fast "${out##* }" || fail "ICMP error after ${out##* } ms"
	out=$(probe rej udp "$SRV6_B" 9999 --timeout 8)
	e2e_log "udp [$SRV6_B]:9999 -> $out"
	[[ $out == "icmp 1 1 "* ]] || fail "UDP to denied [$SRV6_B]:9999: $out (want icmp 1 1)"
	fast "${out##* }" || fail "ICMPv6 error after ${out##* } ms"
	sleep 0.3
	assert_fails server_saw "$SRV_B" 9999 "$(pod_ip4 rej)"
	assert_ok wait_until 3 event_seen reject "$SRV_B" 9999 no-rule rej
}

# 300 denied SYNs as fast as a raw socket sends them: the pod receives at most
# the burst plus the rate for the time it took (captured in the pod), the rest
# dropped silently and counted (rejects_limited).
reject_flood_rate_limited() {
	policy_reject flood flood reject
	policy_ready flood
	cni_add flood e2e flood-0 app=flood
	local out sent rst secs lim lim0 lim1
	lim0=$(counter rejects_limited)
	out=$(probe flood flood "$(pod_ip4 flood)" "$SRV_B" 443 300 --wait 1)
	e2e_log "flood: $out"
	read -r _ sent _ rst _ secs <<<"$out"
	[ "$sent" = 300 ] || fail "flood: $out"
	lim=$(awk -v s="$secs" -v r="$REJ_RATE" -v b="$REJ_BURST" 'BEGIN {printf "%d", b + r * s + 1}')
	[ "$rst" -le "$lim" ] || fail "$rst RSTs for 300 SYNs in $secs s: over the limit $lim"
	[ "$rst" -ge $((REJ_BURST / 2)) ] || fail "only $rst RSTs (burst $REJ_BURST)"
	lim1=$(counter rejects_limited)
	[ $((lim1 - lim0)) -ge $((300 - lim)) ] ||
		fail "rejects_limited rose by $((lim1 - lim0)), want >= $((300 - lim))"
	sleep 0.3
	assert_fails server_saw "$SRV_B" 443 "$(pod_ip4 flood)"
}

# denyAction drop (here: the default) is silent: the connect times out, the
# UDP socket gets no error. Nothing left the node either.
drop_stays_silent() {
	policy_reject quiet quiet ""
	policy_ready quiet
	cni_add quiet e2e quiet-0 app=quiet
	local out
	assert_ok connect quiet "$SRV_A" 443
	out=$(probe quiet tcp "$SRV_B" 443 --timeout 1)
	e2e_log "drop policy: tcp $SRV_B:443 -> $out"
	[ "${out%% *}" = timeout ] || fail "drop policy: connect to $SRV_B:443: $out (want timeout)"
	out=$(probe quiet udp "$SRV_B" 9999 --timeout 1)
	[ "${out%% *}" = timeout ] || fail "drop policy: UDP to $SRV_B:9999: $out (want timeout)"
	sleep 0.3
	assert_fails server_saw "$SRV_B" 443 "$(pod_ip4 quiet)"
}

# Two enforce policies select the pod, one reject, one drop: drop (reject only
# when every selecting enforce policy says so). Removing the drop policy makes
# it reject, live.
mixed_policies_drop() {
	policy_reject mixr mix reject
	policy_reject mixd mix drop
	policy_ready mixr
	policy_ready mixd
	cni_add mix e2e mix-0 app=mix
	local out
	out=$(probe mix tcp "$SRV_B" 443 --timeout 1)
	e2e_log "reject + drop policies: $out"
	[ "${out%% *}" = timeout ] || fail "reject + drop policies: $out (want timeout)"
	policy_remove mixd
	wait_until 5 probe_is mix refused tcp "$SRV_B" 443 --timeout 1 ||
		fail "reject policy alone: still $(probe mix tcp "$SRV_B" 443 --timeout 1)"
}

CASES="reject_tcp_refused_fast reject_udp_icmp_error reject_flood_rate_limited drop_stays_silent
mixed_policies_drop"

# ============================================================ main

e2e_require
e2e_init
e2e_setup
echo "# e2e reject: prefix $PFX, node $NODE, temp $TMP, build $BUILD"

# REJECT_AGENT_ARGS replaces the agent options (to run this suite against an
# older build, which has neither).
agent_args=${REJECT_AGENT_ARGS-"--reject-per-sec $REJ_RATE --reject-burst $REJ_BURST"}
# shellcheck disable=SC2086
agent_start $agent_args || fail "agent did not start"
for c in $CASES; do
	selected "$c" || continue
	run_test "$c"
done
run_test sanitizers_clean
e2e_summary

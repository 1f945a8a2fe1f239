#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall end-to-end tests: real kernel, real TC programs, real CNI plugins,
# real dnsmasq, all inside network namespaces this script makes and removes.
#
# usage: tests/e2e/run.sh [--shell] [BUILD_DIR] [CASE...]
#   BUILD_DIR  where podwall and podwall-cni are (default $BUILD or build/asan)
#   CASE       run only these cases (the topology checks always run first)
#   --shell    set everything up (and start the agent), then open a shell in the
#              node namespace with the harness functions loaded; exit tears down
# env: PW_E2E_NO_CNI=1 (topology only), E2E_KEEP=1, E2E_TIMEOUT=secs, CI=true
set -u

# ============================================================ topology checks

topo_pods_get_addresses() {
	cni_add_plain t1 e2e topo-1 app=topo
	local ip4 ip6
	ip4=$(pod_ip4 t1)
	ip6=$(pod_ip6 t1)
	[[ $ip4 == 10.42.0.* ]] || fail "pod IPv4 '$ip4' not from host-local 10.42.0.0/24"
	[[ $ip6 == fd00:42::* ]] || fail "pod IPv6 '$ip6' not from host-local fd00:42::/64"
	grep -q "inet $ip4/24" <<<"$(in_pod t1 ip -4 addr show dev eth0)" || fail "eth0 lacks $ip4"
	grep -q "via $POD_GW4 dev eth0" <<<"$(in_pod t1 ip route show default)" || fail "no default route via $POD_GW4"
	in_node ip -j link show master cni0 | jq -e --arg v "$(pod_veth t1)" 'any(.[]; .ifname == $v)' >/dev/null ||
		fail "host veth $(pod_veth t1) is not a cni0 port"
	[ -f "$TMP/ipam/pwnet/$ip4" ] || fail "host-local did not record $ip4 in its dataDir"
}

topo_pod_reaches_internet() {
	assert_ok connect t1 "$SRV_A" 443
	assert_ok server_seen "$SRV_A" 443 "$(pod_ip4 t1)"
	assert_ok connect t1 "$SRV_B" 8080
	assert_ok udp_send t1 "$SRV_A" 9999
	assert_ok connect t1 "$SRV6_A" 443
	assert_ok server_seen "$SRV6_A" 443 "$(pod_ip6 t1)"
	# and back: the internet reaches a pod through the node
	bg_start t1-listen ip netns exec "$(pod_ns t1)" "$PY" "$NETSRV" listen --port 8080 --seconds 60 \
		>"$TMP/t1-listen.log"
	wait_until 5 grep -q ready "$TMP/t1-listen.log" || fail "listener did not start"
	assert_ok connect_from_inet "$(pod_ip4 t1)" 8080
	assert_ok connect_from_inet "$(pod_ip6 t1)" 8080
	bg_kill t1-listen
}

topo_pod_reaches_dns() {
	[ "$(dns_query t1 "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "A allowed.example.test via $DNS4"
	[ "$(dns_query t1 "$DNS6" allowed.example.test AAAA)" = "$SRV6_A" ] || fail "AAAA via $DNS6"
	[ "$(dns_query t1 "$DNS4" x.wild.example.test)" = "$SRV_C" ] || fail "wildcard"
	grep -q "query\[A\] allowed.example.test from $(pod_ip4 t1)" "$TMP/dnsmasq.log" ||
		fail "dnsmasq did not log the pod's query"
}

# No interface in any test namespace leads to the host: every veth's peer is in
# one of our namespaces, the node's only route out is the inet veth, and the
# inet namespace has no default route (route lookups only: no packet is sent).
topo_no_way_out() {
	local ns r
	r=$(ip -n "$NODE" -4 route show default)
	[ "$r" = "default via $UP_INET4 dev $UPL_NODE " ] || [ "$r" = "default via $UP_INET4 dev $UPL_NODE" ] ||
		fail "node default route: '$r'"
	ip -n "$NODE" -4 route show | grep -v -e "^default via $UP_INET4 dev $UPL_NODE" \
		-e "^198.51.100.0/24 dev $UPL_NODE" -e "^$POD_SUBNET4 dev cni0" |
		grep . && fail "unexpected node IPv4 route"
	ip -n "$INET" -4 route show default | grep . && fail "inet has a default route"
	ip -n "$INET" -6 route show default | grep . && fail "inet has an IPv6 default route"
	# Route lookups only (nothing is sent): an address outside every test range.
	ip -n "$INET" route get 100.64.0.1 >/dev/null 2>&1 && fail "inet can route to a real address"
	ip -n "$INET" -6 route get 2a00::1 >/dev/null 2>&1 && fail "inet can route to a real v6 address"
	for ns in $(ip netns list | awk '{print $1}' | grep "^$PFX-"); do
		ip -n "$ns" -j -d link show | jq -r '.[] | select(.ifname != "lo") |
			"\(.ifname) \(.linkinfo.info_kind // "none") \(.link_netnsid // "none")"' |
			while read -r ifn kind nsid; do
				case "$kind" in
				bridge) continue ;;
				veth) ;;
				*) fail "$ns: unexpected interface $ifn ($kind)" ;;
				esac
				[ "$nsid" != none ] || fail "$ns: veth $ifn has its peer in the same namespace"
				ip -n "$ns" -j netns list-id | jq -e --argjson id "$nsid" --arg p "$PFX-" \
					'any(.[]; .nsid == $id and ((.name // "") | startswith($p)))' >/dev/null ||
					fail "$ns: veth $ifn has its peer outside the test's namespaces"
			done
	done
	e2e_log "node routes: $(ip -n "$NODE" -4 route show | tr '\n' ';')"
}

# ============================================================ podwall cases

# podwall-cni runs on the host, whatever its libraries: it is static, and it
# runs in an empty chroot that holds only itself (VERSION, and an ADD that
# reaches its error path: a CNI error object on stdout).
cni_plugin_static() {
	local bin=$BUILD/static/podwall-cni root out rc
	[ -x "$bin" ] || bin=$PODWALL_CNI # an unsanitized build's plugin is the static one
	if ldd "$bin" >/dev/null 2>&1; then
		fail "$bin is dynamically linked: $(ldd "$bin" | tr '\n' ' ')"
	fi
	root=$TMP/chroot
	mkdir -p "$root"
	cp "$bin" "$root/podwall-cni"
	[ "$(ls -A "$root")" = podwall-cni ] || fail "the chroot holds more than the plugin"
	out=$(CNI_COMMAND=VERSION timeout 10 chroot "$root" /podwall-cni </dev/null 2>&1) ||
		fail "VERSION in an empty chroot failed: $out"
	e2e_log "VERSION in an empty chroot: $out"
	jq -e '.cniVersion and (.supportedVersions | index("1.0.0"))' <<<"$out" >/dev/null ||
		fail "VERSION output is not a CNI version object: $out"
	rc=0
	out=$(CNI_COMMAND=ADD CNI_CONTAINERID=c0ffee CNI_NETNS=/nonexistent CNI_IFNAME=eth0 CNI_PATH=/ \
		timeout 10 chroot "$root" /podwall-cni 2>/dev/null <<<'{"cniVersion":"1.0.0","name":"n","type":"podwall-cni","socket":"/no.sock"}') || rc=$?
	e2e_log "ADD in an empty chroot: exit $rc: $out"
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "ADD in an empty chroot: exit $rc"
	jq -e '(.code | type == "number") and (.msg | type == "string")' <<<"$out" >/dev/null ||
		fail "ADD in an empty chroot: no CNI error object: $out"
}

# Before the agent runs: a chained ADD must fail with a CNI error on stdout.
cni_add_without_agent() {
	agent_running && fail "agent is running"
	if cni_add noagent e2e noagent-0 app=noagent; then
		fail "podwall-cni ADD succeeded with no agent"
	fi
	local f=$TMP/pods/noagent.failed
	[ -f "$f" ] || fail "no ADD output recorded"
	cat "$f" >&2
	grep -q '^rc=0$' "$f" && fail "exit status 0"
	tail -n +2 "$f" | jq -e '(.code | type == "number") and (.msg | type == "string" and length > 0)' \
		>/dev/null || fail "stdout is not a CNI error object {code, msg}"
}

agent_starts() {
	assert_ok agent_start
	assert_ok agent_status
	assert_ok test -e "$PIN/pw_endpoints"
	assert_ok bpftool map show pinned "$PIN/pw_endpoints"
}

# wait until the agent lists the policy, so a following ADD sees it
policy_ready() {
	need_agent
	wait_until 5 policy_loaded "$1" || fail "policy $1 not listed by the agent within 5 s"
}

cidr_port_enforced() {
	policy_cidr web e2e app=web enforce "$SRV_A/32:443/TCP"
	policy_ready web
	cni_add web e2e web-0 app=web
	local ip
	ip=$(pod_ip4 web)
	assert_ok endpoint_in_map "$(pod_ifindex web)"
	assert_ok connect web "$SRV_A" 443
	assert_ok server_seen "$SRV_A" 443 "$ip"
	assert_fails connect web "$SRV_A" 8080
	assert_fails connect web "$SRV_B" 443
	assert_fails udp_send web "$SRV_A" 9999 1
	assert_fails connect web "$SRV6_A" 443 1
	sleep 0.5
	assert_fails server_saw "$SRV_A" 8080 "$ip"
	assert_fails server_saw "$SRV_B" 443 "$ip"
	assert_fails server_saw "$SRV_A" 9999 "$ip"
	assert_fails server_saw "$SRV6_A" 443 "$(pod_ip6 web)"
	assert_ok wait_until 3 event_seen drop "$SRV_A" 8080 port web
	assert_ok wait_until 3 event_seen drop "$SRV_B" 443 no-rule web
	assert_ok wait_until 3 event_seen drop "$SRV_A" 9999 port web
}

cidr_port_enforced_v6() {
	policy_cidr web6 e2e app=web6 enforce "$SRV6_A/128:443/TCP"
	policy_ready web6
	cni_add web6 e2e web6-0 app=web6
	local ip6
	ip6=$(pod_ip6 web6)
	assert_ok connect web6 "$SRV6_A" 443
	assert_ok server_seen "$SRV6_A" 443 "$ip6"
	assert_fails connect web6 "$SRV6_A" 8080
	assert_fails connect web6 "$SRV6_B" 443
	assert_fails connect web6 "$SRV_A" 443 1
	sleep 0.5
	assert_fails server_saw "$SRV6_A" 8080 "$ip6"
	assert_fails server_saw "$SRV6_B" 443 "$ip6"
	assert_ok wait_until 3 event_seen drop "$SRV6_B" 443 no-rule web6
	assert_ok wait_until 3 event_seen drop "$SRV6_A" 8080 port web6
}

# except, endPort ranges, UDP rules, a rule without ports (all ports).
cidr_rule_forms() {
	policy_write forms "$(policy_head forms e2e app=forms enforce)
    - toCIDRs: [{cidr: 192.0.2.0/24, except: [$SRV_B/32]}]
      ports: [{port: 8000, endPort: 8100, protocol: TCP}]
    - toCIDRs: [{cidr: $SRV_A/32}]
      ports: [{port: 9999, protocol: UDP}]
    - toCIDRs: [{cidr: 203.0.113.0/24}]"
	policy_ready forms
	cni_add forms e2e forms-0 app=forms
	assert_ok connect forms "$SRV_A" 8080
	assert_fails connect forms "$SRV_A" 443 1
	assert_fails connect forms "$SRV_B" 8080 1
	assert_ok udp_send forms "$SRV_A" 9999
	assert_fails udp_send forms "$SRV_A" 7 1
	assert_ok connect forms "$SRV_C" 80
	assert_ok connect forms "$SRV_C" 8443
	assert_ok udp_send forms "$SRV_C" 7
	assert_fails connect forms "$UP_INET4" 8080 1
}

unselected_pod_untouched() {
	policy_cidr web e2e app=web enforce "$SRV_A/32:443/TCP"
	policy_ready web
	cni_add free e2e free-0 app=nobody-selects-this
	# not enforced: either not in the endpoint map, or there in mode open (2)
	local mode
	mode=$(endpoint_mode "$(pod_ifindex free)")
	case "$mode" in none | 2) e2e_log "unselected pod's endpoint mode: $mode" ;; *) fail "unselected pod has endpoint mode $mode" ;; esac
	assert_ok connect free "$SRV_A" 443
	assert_ok connect free "$SRV_A" 8080
	assert_ok connect free "$SRV_B" 443
	assert_ok connect free "$UP_INET4" 80
	assert_ok udp_send free "$SRV_A" 7
	assert_ok connect free "$SRV6_B" 8443
	[ "$(dns_query free "$ROGUE_DNS" anything.test)" = "$SRV_B" ] || fail "unselected pod cannot use any DNS server"
}

# TC ingress on a bridge port runs before the bridge: pod-to-pod is governed too.
pod_to_pod_same_node() {
	cni_add p2psrv e2e p2p-srv app=nobody-selects-this
	local srv
	srv=$(pod_ip4 p2psrv)
	bg_start p2p-listen ip netns exec "$(pod_ns p2psrv)" "$PY" "$NETSRV" listen --port 8080 --seconds 300 \
		>"$TMP/p2p-listen.log"
	wait_until 5 grep -q ready "$TMP/p2p-listen.log" || fail "listener did not start"
	policy_cidr p2p e2e app=p2p enforce "$SRV_A/32:443/TCP"
	policy_ready p2p
	cni_add p2pa e2e p2p-a app=p2p
	cni_add p2pfree e2e p2p-free app=nobody-selects-this
	assert_ok connect p2pfree "$srv" 8080
	assert_fails connect p2pa "$srv" 8080
	assert_fails connect p2pa "$(pod_ip6 p2psrv)" 8080 1
	policy_cidr p2p e2e app=p2p enforce "$SRV_A/32:443/TCP $srv/32:8080/TCP"
	assert_ok wait_until 5 connect p2pa "$srv" 8080 1
}

# A selected pod serving: inbound connections from the internet get answers.
inbound_replies_pass() {
	policy_cidr inbound e2e app=inbound enforce "$SRV_A/32:443/TCP"
	policy_ready inbound
	cni_add srv e2e srv-0 app=inbound
	bg_start inbound-listen ip netns exec "$(pod_ns srv)" "$PY" "$NETSRV" listen --port 8080 --seconds 300 \
		>"$TMP/inbound-listen.log"
	wait_until 5 grep -q ready "$TMP/inbound-listen.log" || fail "listener did not start"
	assert_ok connect_from_inet "$(pod_ip4 srv)" 8080
	assert_ok connect_from_inet "$(pod_ip6 srv)" 8080
	assert_ok connect_from_inet "$(pod_ip4 srv)" 8080
	# ... but the pod still cannot open a connection of its own to that peer.
	assert_fails connect srv "$UP_INET4" 80
	assert_fails connect srv "$UP_INET6" 80 1
}

dns_trusted_resolver_only() {
	policy_cidr dnsonly e2e app=dnsonly enforce "$SRV_A/32:443/TCP"
	policy_ready dnsonly
	cni_add dnsc e2e dnsc-0 app=dnsonly
	[ "$(dns_query dnsc "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "query to the trusted resolver $DNS4"
	[ "$(dns_query dnsc "$DNS6" allowed.example.test AAAA)" = "$SRV6_A" ] || fail "query to the trusted resolver $DNS6"
	assert_fails dns_query dnsc "$ROGUE_DNS" allowed.example.test
	sleep 0.5
	assert_fails server_saw "$ROGUE_DNS" 53 "$(pod_ip4 dnsc)"
	assert_ok wait_until 3 event_seen drop "$ROGUE_DNS" 53 "" dnsc
}

spoofed_source_dropped() {
	policy_cidr spoof e2e app=spoof enforce "$SRV_A/32:443/TCP"
	policy_ready spoof
	cni_add spoof e2e spoof-0 app=spoof
	cni_add spopen e2e spoof-open app=nobody-selects-this
	cni_add_plain spplain e2e spoof-plain app=nobody-selects-this
	# Control: without podwall on the veth, a second address on eth0 gets through.
	in_pod spplain ip addr add 10.42.0.252/32 dev eth0
	assert_ok connect_from spplain 10.42.0.252 "$SRV_A" 443
	in_pod spoof ip addr add 10.42.0.250/32 dev eth0
	assert_ok connect spoof "$SRV_A" 443
	assert_fails connect_from spoof 10.42.0.250 "$SRV_A" 443
	# An unselected pod (open mode) may not forge its source either.
	in_pod spopen ip addr add 10.42.0.251/32 dev eth0
	assert_ok connect spopen "$SRV_B" 8080
	assert_fails connect_from spopen 10.42.0.251 "$SRV_A" 443 1
	sleep 0.5
	assert_fails server_saw "$SRV_A" 443 10.42.0.250
	assert_fails server_saw "$SRV_A" 443 10.42.0.251
	assert_ok wait_until 3 event_seen drop "$SRV_A" 443 spoof spoof
	assert_ok wait_until 3 event_seen drop "$SRV_A" 443 spoof spopen
}

audit_mode_passes_and_logs() {
	policy_cidr audit e2e app=audit audit "$SRV_A/32:443/TCP"
	policy_ready audit
	cni_add audit e2e audit-0 app=audit
	assert_ok connect audit "$SRV_B" 443
	assert_ok server_seen "$SRV_B" 443 "$(pod_ip4 audit)"
	assert_ok connect audit "$SRV_A" 443
	assert_ok wait_until 3 event_seen audit "$SRV_B" 443 no-rule audit
	grep '"audit"' "$TMP/agent.events" | tail -1 >&2
	if event_seen drop "$SRV_B" 443 "" audit; then fail "audit mode emitted a drop event"; fi
}

# allow_count POD [PORT]: allowed-flow events (visibility: allowed) of the pod
# in the agent's stdout, to that destination port if given.
allow_count() {
	local pod
	pod="$(cat "$TMP/pods/$1/k8s_ns")/$(cat "$TMP/pods/$1/k8s_name")"
	jq -R -n --arg pod "$pod" --argjson p "${2:-0}" \
		'[inputs | fromjson? | select(.verdict == "allow" and .reason == "allowed"
		  and ((.namespace // "") + "/" + (.pod // "")) == $pod and ($p == 0 or .dport == $p))]
		 | length' "$TMP/agent.events"
}
allow_count_is() { [ "$(allow_count "$1" "$2")" -ge "$3" ]; }

# visibility: [allowed]: one event per new allowed flow (not per packet), none
# for a pod whose policy does not ask, and a burst of new flows is rate limited
# per pod (the rest counted in events_suppressed), while denials keep theirs.
visibility_allowed_flows() {
	policy_write vis "apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: vis, namespace: e2e}
spec:
  podSelector: {matchLabels: {app: vis}}
  visibility: [allowed]
  egress:
    - toCIDRs: [{cidr: $SRV_A/32}]
      ports: [{port: 443, protocol: TCP}, {port: 9999, protocol: UDP}]"
	policy_cidr novis e2e app=novis enforce "$SRV_A/32:443/TCP"
	policy_ready vis
	policy_ready novis
	cni_add vis e2e vis-0 app=vis
	cni_add novis e2e novis-0 app=novis
	local ip sent got sup0 sup1
	ip=$(pod_ip4 vis)
	# two TCP connections (each many packets): two events, then a denial as a
	# marker (one ring buffer, in order): no third allow event before it
	assert_ok connect vis "$SRV_A" 443
	assert_ok connect vis "$SRV_A" 443
	assert_fails connect vis "$SRV_A" 8080 1
	assert_ok wait_until 5 event_seen drop "$SRV_A" 8080 port vis
	[ "$(allow_count vis 443)" = 2 ] || fail "want 2 allow events for 2 connections, got $(allow_count vis 443)"
	jq -c 'select(.verdict == "allow")' "$TMP/agent.events" | tail -1 >&2
	jq -e -s --arg ip "$ip" --arg d "$SRV_A" 'map(select(.verdict == "allow" and .pod == "vis-0"))
		| all(.src == $ip and .dst == $d and .proto == "tcp" and .dport == 443 and .sport > 0
		      and .policies == ["e2e/vis"] and .reason == "allowed")' "$TMP/agent.events" >/dev/null ||
		fail "allow events lack their fields"
	# the CLI selects them in every format
	got=$(agent_cli events --verdict allowed --pod e2e/vis- -o json | wc -l)
	[ "$got" = 2 ] || fail "events --verdict allowed -o json: $got lines, want 2"
	agent_cli events --verdict allowed --pod e2e/vis- | out_has -E "e2e/vis-0 +allow +allowed +tcp +$SRV_A +443" ||
		fail "events table: $(agent_cli events --verdict allowed --pod e2e/vis-)"
	agent_cli events --verdict allowed --pod e2e/vis- -o compact | out_has -F "e2e/vis-0 -> $SRV_A:443 allow allowed" ||
		fail "events compact: $(agent_cli events --verdict allowed -o compact)"
	e2e_log "$(agent_cli events --verdict allowed --pod e2e/vis-)"
	e2e_log "$(agent_cli events --verdict allowed --pod e2e/vis- -o compact)"
	e2e_log "$(agent_cli events --verdict allowed --pod e2e/vis- -o json --last 1)"
	# off by default: the same traffic from a pod whose policy does not ask
	assert_ok connect novis "$SRV_A" 443
	assert_fails connect novis "$SRV_A" 8080 1
	assert_ok wait_until 5 event_seen drop "$SRV_A" 8080 port novis
	[ "$(allow_count novis)" = 0 ] || fail "allow events without visibility: $(allow_count novis)"
	# a bounded burst of new flows (one datagram each from its own socket, all
	# open at once so that no source port repeats): at most the burst (200)
	# plus the refill (100/s) in events, the rest suppressed and counted; a
	# denial right after still has its event
	sent=400
	sup0=$(agent_cli status -o json | jq '.counters.events_suppressed')
	in_pod vis timeout 20 "$PY" -c '
import socket, sys
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(int(sys.argv[3]))]
for s in socks:
    s.sendto(b"v", (sys.argv[1], int(sys.argv[2])))
for s in socks:
    s.close()
' "$SRV_A" 9999 "$sent" || fail "burst sender failed"
	assert_fails connect vis "$SRV_A" 8443 1
	assert_ok wait_until 5 event_seen drop "$SRV_A" 8443 port vis
	got=$(allow_count vis 9999)
	sup1=$(agent_cli status -o json | jq '.counters.events_suppressed')
	e2e_log "burst of $sent new flows: $got allow events, events_suppressed +$((sup1 - sup0))"
	[ "$got" -ge 150 ] && [ "$got" -lt 300 ] || fail "burst of $sent flows gave $got allow events (want the burst of 200, plus refill)"
	[ $((sup1 - sup0)) -eq $((sent - got)) ] ||
		fail "events_suppressed rose by $((sup1 - sup0)), want $((sent - got))"
}

policy_edit_live() {
	policy_cidr edit e2e app=edit enforce "$SRV_A/32:443/TCP"
	policy_ready edit
	cni_add edit e2e edit-0 app=edit
	assert_ok connect edit "$SRV_A" 443
	assert_fails connect edit "$SRV_B" 443 1
	local t0=$SECONDS
	policy_cidr edit e2e app=edit enforce "$SRV_B/32:443/TCP"
	assert_ok wait_until 5 connect edit "$SRV_B" 443 0.5
	e2e_log "edit took effect in <= $((SECONDS - t0)) s"
	assert_fails connect edit "$SRV_A" 443 1
	# The policy goes away: the pod is selected by nothing, allow-all again.
	policy_remove edit
	assert_ok wait_until 5 connect edit "$SRV_C" 80 0.5
	assert_ok connect edit "$SRV_A" 443
}

stream_bytes() { awk '$1 ~ /^[0-9.]+$/ {b = $2} END {print b + 0}' "$1"; }
stream_started() { [ "$(stream_bytes "$1")" -gt 0 ]; }

agent_kill9_keeps_enforcing() {
	policy_cidr k9 e2e app=k9 enforce "$SRV_A/32:9000/TCP $SRV_A/32:443/TCP"
	policy_ready k9
	cni_add k9 e2e k9-0 app=k9
	local f=$TMP/k9.stream b0 b1 i
	bg_start k9-stream ip netns exec "$(pod_ns k9)" "$PY" "$NETSRV" stream "$SRV_A" 9000 --out "$f" --seconds $((20 * SLOW))
	wait_until 5 stream_started "$f" || fail "stream did not start: $(tail -3 "$f")"
	agent_kill9
	for i in 1 2 3; do
		b0=$(stream_bytes "$f")
		sleep 1
		b1=$(stream_bytes "$f")
		[ "$b1" -gt "$b0" ] || fail "stream stalled $i s after kill -9 ($b0 -> $b1): $(tail -3 "$f")"
	done
	e2e_log "stream after kill -9: $b1 bytes echoed"
	assert_fails connect k9 "$SRV_B" 443 1
	assert_fails connect k9 "$SRV_A" 8080 1
	assert_ok connect k9 "$SRV_A" 443
	assert_ok agent_start
	assert_ok endpoint_in_map "$(pod_ifindex k9)"
	assert_fails connect k9 "$SRV_B" 443 1
	assert_ok connect k9 "$SRV_A" 443
	b0=$(stream_bytes "$f")
	sleep 1
	b1=$(stream_bytes "$f")
	[ "$b1" -gt "$b0" ] || fail "stream stalled after the agent restarted ($b0 -> $b1)"
	# and the restarted agent serves the CNI again
	cni_add k9b e2e k9-1 app=k9
	assert_ok connect k9b "$SRV_A" 443
	assert_fails connect k9b "$SRV_B" 443 1
	grep -q '^error' "$f" && fail "stream error: $(grep '^error' "$f")"
	bg_kill k9-stream
}

pod_delete_removes_state() {
	policy_cidr gone e2e app=gone enforce "$SRV_A/32:443/TCP"
	policy_ready gone
	cni_add gone e2e gone-0 app=gone
	local idx cid
	idx=$(pod_ifindex gone)
	cid=$(cat "$TMP/pods/gone/id")
	assert_ok endpoint_in_map "$idx"
	grep -q gone-0 <<<"$(agent_cli endpoints -o json)" || fail "podwall endpoints does not list gone-0"
	assert_ok cni_del gone
	bpftool map show pinned "$PIN/pw_endpoints" >/dev/null || fail "endpoint map is gone"
	wait_until 5 eval '! endpoint_in_map '"$idx" || fail "ifindex $idx still in pw_endpoints after DEL"
	grep -q gone-0 <<<"$(agent_cli endpoints -o json)" && fail "podwall endpoints still lists gone-0"
	grep -rl "$cid" "$TMP/state" >&2 && fail "the agent's state dir still mentions container $cid"
	true
}

# Last: SIGTERM leaves programs and pins in place; clean exit, no sanitizer report.
agent_sigterm_keeps_enforcing() {
	policy_cidr term e2e app=term enforce "$SRV_A/32:443/TCP"
	policy_ready term
	cni_add term e2e term-0 app=term
	agent_stop || fail "agent did not exit on SIGTERM"
	local rc
	rc=$(cat "$TMP/agent.rc" 2>/dev/null || echo unknown)
	[ "$rc" = 0 ] || fail "agent exit status on SIGTERM: $rc"
	assert_ok endpoint_in_map "$(pod_ifindex term)"
	assert_ok connect term "$SRV_A" 443
	assert_fails connect term "$SRV_B" 443
	assert_fails connect term "$SRV_A" 8080 1
}

TOPO_CASES="topo_pods_get_addresses topo_pod_reaches_internet topo_pod_reaches_dns topo_no_way_out"
AGENT_CASES="cni_plugin_static cni_add_without_agent agent_starts cidr_port_enforced cidr_port_enforced_v6 cidr_rule_forms
unselected_pod_untouched pod_to_pod_same_node inbound_replies_pass dns_trusted_resolver_only
spoofed_source_dropped audit_mode_passes_and_logs visibility_allowed_flows policy_edit_live agent_kill9_keeps_enforcing
pod_delete_removes_state agent_sigterm_keeps_enforcing sanitizers_clean"

# ============================================================ main

SHELL_MODE=0
ONLY=()
for a in "$@"; do
	case "$a" in
	--shell) SHELL_MODE=1 ;;
	-h | --help)
		sed -n '3,12p' "$0"
		exit 0
		;;
	*) if [[ $a == *_* ]] && [[ $a != */* ]]; then ONLY+=("$a"); else BUILD=$a; fi ;;
	esac
done

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_require
e2e_init
e2e_setup
echo "# e2e: prefix $PFX, node $NODE, inet $INET, dns $DNS4 / $DNS6, temp $TMP, build $BUILD"

if [ "$SHELL_MODE" = 1 ]; then
	[ "$PW_E2E_NO_CNI" = 1 ] || agent_start || echo "!!! agent did not start" >&2
	e2e_shell
	exit 0
fi

for c in $TOPO_CASES; do run_test "$c"; done
if [ "$PW_E2E_NO_CNI" = 1 ]; then
	echo "# PW_E2E_NO_CNI=1: topology only, podwall cases not run"
else
	for c in $AGENT_CASES; do
		# the agent is started by agent_starts; selected subsets still need it
		if [ "$c" = agent_starts ] && ! selected agent_starts && ! agent_running; then
			agent_start >/dev/null 2>&1 || true
		fi
		selected "$c" || continue
		run_test "$c"
	done
fi
e2e_summary

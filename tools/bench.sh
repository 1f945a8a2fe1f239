#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall benchmarks: `make bench` (root). Every arm is measured in the same run,
# side by side with its peers, inside network namespaces this script makes and
# removes (the e2e topology of tests/e2e/lib.sh: servers on documentation
# addresses only, no route out). Prints one table; writes build/bench/results.json
# (and results.md, results.jsonl with every raw record).
#
# usage: tools/bench.sh [BUILD_DIR]      (BUILD_DIR holds podwall, podwall-cni, the
#                                          skeleton; default build/bench)
# env:   BENCH_ARMS="pkt hooks tput conn proxy dns react footprint dnsflood" (a subset runs only those)
#        BENCH_RUNS=5 (runs per cheap figure), BENCH_TPUT_RUNS=3 (5 s iperf3 runs per arm),
#        BENCH_PAIR_RUNS=6 (extra no-filter/podwall connection-rate pairs)
#        BENCH_PODS=110, BENCH_LEARNED_NAMES=23 (x 40 AAAA per name per pod)
#        BENCH_PKT_REPEAT=1000000, BENCH_TIMEOUT=1500 (hard cap, seconds)
#        BENCH_FLOOD_QUERIES=20000 (in 10 s), BENCH_FLOOD_NAMES=500 (x 32 AAAA)
#        BENCH_RT=1 (load generators SCHED_FIFO), BENCH_PROFILE=1 (perf profiles)
#        BENCH_RT_DNS=0 (1: the bench resolver and the agent SCHED_FIFO as well)
#        BENCH_PKT_BEFORE=PKTBENCH (arm pktcmp: an earlier tree's pktbench, side by side)
# Benchmarks never fail: exit 0 unless the harness itself broke.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-${BUILD:-build/bench}}
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
export BUILD
OUT=$REPO/build/bench
BT=$BUILD/benchtools
BENCH_ARMS=${BENCH_ARMS:-"pkt hooks tput conn proxy dns react footprint dnsflood"}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_TPUT_RUNS=${BENCH_TPUT_RUNS:-3}
BENCH_PAIR_RUNS=${BENCH_PAIR_RUNS:-6}
BENCH_PODS=${BENCH_PODS:-110}
BENCH_LEARNED_NAMES=${BENCH_LEARNED_NAMES:-23}
BENCH_PKT_REPEAT=${BENCH_PKT_REPEAT:-1000000}
BENCH_FLOOD_QUERIES=${BENCH_FLOOD_QUERIES:-20000} # in 10 s, from one pod (arm dnsflood)
BENCH_FLOOD_NAMES=${BENCH_FLOOD_NAMES:-500}       # x 32 AAAA each
# Load generators and servers (iperf3, connbench, squid) run SCHED_FIFO so that
# other work on a shared machine disturbs them less; the agent and the
# resolvers keep their normal priority (they are what the DNS arm measures).
BENCH_RT=${BENCH_RT:-1}
# BENCH_RT_DNS=1: the DNS clients, the resolver and the agent SCHED_FIFO (the
# DNS arms then measure their code more than how long a loaded machine makes
# them wait for a CPU); 0: all at normal priority, like the figures before.
BENCH_RT_DNS=${BENCH_RT_DNS:-0}
export E2E_TIMEOUT=${BENCH_TIMEOUT:-1500}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
REPORT=$REPO/tools/bench/report.py
CMDLINE="make BUILD=${BUILD#"$REPO"/} bench"
[ "${BENCH_ARMS}" = "pkt hooks tput conn proxy dns react footprint dnsflood" ] || CMDLINE="BENCH_ARMS=\"$BENCH_ARMS\" $CMDLINE"
[ "$BENCH_RT_DNS" = 1 ] && CMDLINE="BENCH_RT_DNS=1 $CMDLINE"

# Documentation addresses of the "internet" (lib.sh sets the same, after sourcing).
BENCH_SRV=192.0.2.10   # connbench server (conn 8081, fetch 8082) and iperf3 (5201)
REACT_SRV=192.0.2.20   # netsrv banner on 8080: the CIDR the reaction arm adds
CONN_PORT=8081
FETCH_PORT=8082
SQUID_PORT=3128
CLOSED_PORT=9 # nothing listens there on the node (dns floor: ICMP port unreachable)
DNS_TTL=600

T_START=$SECONDS
REC=""     # raw records (JSON lines), set once the temp dir exists
SQDIR=""   # squid's own directory (owned by the proxy user, outside $TMP)

RT=()
[ "$BENCH_RT" = 1 ] && RT=(chrt -f 10)
# The DNS clients too only with BENCH_RT_DNS=1: a SCHED_FIFO receiver thread
# woken on the other CPU costs an IPI, itself ~20 us on this VM.
RT_DNS=()
[ "$BENCH_RT_DNS" = 1 ] && RT_DNS=(chrt -f 10)
rt_pid() { [ "$BENCH_RT" = 1 ] && [ -n "$1" ] && chrt -a -f -p 10 "$1" >/dev/null 2>&1; return 0; }
rt_dns() { [ "$BENCH_RT_DNS" = 1 ] && [ -n "$1" ] && chrt -a -f -p 10 "$1" >/dev/null 2>&1; return 0; }
say() { printf '# [%4ds] %s\n' "$((SECONDS - T_START))" "$*" >&2; }
want() { [[ " $BENCH_ARMS " == *" $1 "* ]]; }
rec() { printf '%s\n' "$1" >>"$REC"; }
na() {
	say "n/a: $1: $2"
	rec "$(jq -cn --arg w "$1" --arg r "$2" '{arm:"na",what:$w,reason:$r}')"
}
harness_broke() {
	echo "bench: harness broke: $*" >&2
	exit 1
}

# ------------------------------------------------------------------ build

build_tools() {
	local cflags="-g -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I$REPO/include"
	mkdir -p "$BT" "$OUT"
	[ -f "$BUILD/podwall.skel.h" ] || harness_broke "no $BUILD/podwall.skel.h (make BUILD=${BUILD#"$REPO"/} all)"
	clang -g -O2 -target bpf -Wall -Werror -I"/usr/include/$(uname -m)-linux-gnu" \
		-c "$REPO/tools/bench/pktvary.bpf.c" -o "$BT/pktvary.bpf.o" &&
		bpftool gen skeleton "$BT/pktvary.bpf.o" >"$BT/pktvary.skel.h.tmp" &&
		mv "$BT/pktvary.skel.h.tmp" "$BT/pktvary.skel.h" || harness_broke "cannot build pktvary.bpf.o"
	# pktbench follows the map contract of the tree: if it no longer compiles,
	# that arm is n/a, the rest still runs.
	# shellcheck disable=SC2086
	gcc $cflags -I"$BUILD" -I"$BT" "$REPO/tools/bench/pktbench.c" -o "$BT/pktbench" \
		-lbpf -lelf -lz 2>"$BT/pktbench.build.log" || rm -f "$BT/pktbench"
	# shellcheck disable=SC2086
	gcc $cflags "$REPO/tools/bench/connbench.c" -o "$BT/connbench" -lbpf -lpthread ||
		harness_broke "cannot build connbench"
	# hookbench links the agent's own code (the Makefile builds it with the tests)
	make -s -C "$REPO" BUILD="${BUILD#"$REPO"/}" "${BUILD#"$REPO"/}/tools/hookbench" \
		>"$BT/hookbench.build.log" 2>&1 && cp "$BUILD/tools/hookbench" "$BT/hookbench" ||
		rm -f "$BT/hookbench"
}

# ------------------------------------------------------------------ 1b. hooks

# Attach time per veth, the reconcile's hook check, and a whole reconcile (hook
# check + drift check of 110 synced endpoints), tcx and legacy, 110 veths.
arm_hooks() {
	local line
	if [ ! -x "$BT/hookbench" ]; then
		na "hooks" "hookbench does not build: $(head -c 300 "$BT/hookbench.build.log" | tr '\n' ' ')"
		return
	fi
	say "hooks: hookbench, ${BENCH_PODS:-110} veths, tcx and legacy"
	timeout 600 "$BT/hookbench" --veths "${BENCH_PODS:-110}" >"$WORK/hooks.out" 2>&1 ||
		na "hooks" "hookbench failed: $(tail -3 "$WORK/hooks.out" | tr '\n' ' ')"
	while IFS= read -r line; do
		say "  $line"
		rec "$(jq -cn --arg l "$line" '{arm:"hooks",line:$l}')"
	done <"$WORK/hooks.out"
}

# ------------------------------------------------------------------ 1. per-packet

arm_pkt() {
	if [ ! -x "$BT/pktbench" ]; then
		na "per-packet" "pktbench does not build against this tree: $(head -c 300 "$BT/pktbench.build.log" | tr '\n' ' ')"
		return
	fi
	say "per-packet: pktbench, repeat $BENCH_PKT_REPEAT, $BENCH_RUNS runs, 10 / 10,000 / 1,000,000 learned"
	if ! timeout 600 "$BT/pktbench" --repeat "$BENCH_PKT_REPEAT" --runs "$BENCH_RUNS" \
		--sizes 10,10000,1000000 >"$WORK/pkt.jsonl" 2>"$WORK/pkt.err"; then
		na "per-packet" "pktbench failed: $(tail -3 "$WORK/pkt.err" | tr '\n' ' ')"
	fi
	cat "$WORK/pkt.jsonl" >>"$REC"
	if [ "${BENCH_PROFILE:-0}" = 1 ]; then
		local path
		for path in flow_hit learned_1st_same; do
			say "per-packet: perf profile of $path"
			perf record -q -e cpu-clock -F 10000 -g -o "$WORK/pkt.perf" -- "$BT/pktbench" \
				--runs 2 --sizes 10 --paths "$path" >/dev/null 2>&1
			echo "== $path: samples inside bpf_test_run, by leaf symbol (cpu-clock; this VM has no PMU)"
			perf script -i "$WORK/pkt.perf" -F ip,sym 2>/dev/null | awk '
				/^$/ { if (intr && leaf != "") c[leaf]++; if (intr) n++; leaf = ""; intr = 0; first = 1; next }
				{ if (first) { leaf = $2; first = 0 } if ($2 == "bpf_test_run") intr = 1 }
				END { for (k in c) printf "%6.1f%% %s\n", 100 * c[k] / n, k }' | sort -rn | head -14
			echo "== $path: hottest offsets inside pod_egress (samples land on the instruction"
			echo "   after the one that stalled; right after a helper call is its return)"
			perf script -i "$WORK/pkt.perf" -F ip,sym,symoff 2>/dev/null |
				grep -o 'pod_egress+0x[0-9a-f]*' | sort | uniq -c | sort -rn | head -8
		done >"$OUT/profile-pkt.txt"
	fi
	# The pod at its share of pw_flows (as shipped): first packets pass by the
	# rules and record nothing, the flooding pod's steady state (3 runs).
	timeout 300 "$BT/pktbench" --repeat "$BENCH_PKT_REPEAT" --runs 3 --sizes 10 --at-share \
		--paths learned_1st_same,cidr_1st,readmit_1st >"$WORK/pktshare.jsonl" 2>>"$WORK/pkt.err" &&
		grep '_at_share"' "$WORK/pktshare.jsonl" >>"$REC"
	# Diagnostic: the same paths with a cache-resident flow table (3 runs).
	timeout 300 "$BT/pktbench" --repeat "$BENCH_PKT_REPEAT" --runs 3 --sizes 10 --flows-max 4096 \
		--paths flow_hit,learned_1st_same,cidr_1st,deny >"$WORK/pktdiag.jsonl" 2>>"$WORK/pkt.err" &&
		grep -v '"floor"\|"unmanaged"\|"pktvary_overhead"' "$WORK/pktdiag.jsonl" >>"$REC"
}

# The same paths, this tree's pktbench against BENCH_PKT_BEFORE (a pktbench
# built from an earlier tree: it carries that tree's programs in its
# skeleton), alternating run by run so that the machine's drift falls on both.
arm_pktcmp() {
	local r tree bin paths=open,flow_hit,learned_1st_same,learned_1st,cidr_1st,deny
	if [ ! -x "${BENCH_PKT_BEFORE:-}" ] || [ ! -x "$BT/pktbench" ]; then
		na "per-packet, before/after" "set BENCH_PKT_BEFORE to a pktbench binary of the earlier tree"
		return
	fi
	say "per-packet: this tree against $BENCH_PKT_BEFORE, 3 rounds of 3 runs, 10 learned"
	for ((r = 1; r <= 3; r++)); do
		for tree in before after; do
			bin=$BT/pktbench
			[ "$tree" = before ] && bin=$BENCH_PKT_BEFORE
			timeout 300 "$bin" --repeat "$BENCH_PKT_REPEAT" --runs 3 --sizes 10 --paths "$paths" \
				2>>"$WORK/pkt.err" | jq -c --arg t "$tree" --argjson r "$r" \
				--arg load "$(cut -d' ' -f1 /proc/loadavg)" \
				'select(.path) | {arm:"pktcmp",tree:$t,round:$r,loadavg:($load|tonumber)} + del(.arm)' >>"$REC"
		done
	done
}

# ------------------------------------------------------------------ topology

bench_cleanup() {
	set +e
	# squid first (it is in the node namespace the harness will remove)
	[ -n "${TMP:-}" ] && [ -f "$TMP/pids/squid" ] && bg_kill squid
	if [ -n "${NODE:-}" ] && [ -e "/run/netns/$NODE" ]; then
		ip netns exec "$NODE" nft delete table ip filter 2>/dev/null
		ip netns exec "$NODE" ipset destroy pwb-allow 2>/dev/null
	fi
	[ -n "$SQDIR" ] && [ -d "$SQDIR" ] && rm -rf "$SQDIR"
}

bench_topology() {
	# shellcheck source=../tests/e2e/lib.sh
	. "$REPO/tests/e2e/lib.sh"
	e2e_require
	e2e_init
	trap 'rc=$?; bench_cleanup; (exit $rc); e2e_teardown' EXIT
	WORK=$TMP/bench
	mkdir -p "$WORK"
	mv "$REC" "$WORK/records.jsonl"
	REC=$WORK/records.jsonl
	e2e_setup

	# Our own resolver, in a pod of its own (bridge plugin only): the harness's
	# dnsmasq answers with TTL 0 and logs every query; this one answers with a
	# fixed TTL from a hosts file, and does not log.
	{
		local i j
		for ((i = 1; i <= 20; i++)); do echo "203.0.113.$((100 + i)) r$i.react.bench.test"; done
		for ((i = 1; i <= BENCH_LEARNED_NAMES; i++)); do
			for ((j = 1; j <= 40; j++)); do
				printf '2001:db8:fb:%x::%x f%d.fp.bench.test\n' "$i" "$j" "$i"
			done
		done
		if want dnsflood; then
			for ((i = 1; i <= BENCH_FLOOD_NAMES; i++)); do
				for ((j = 1; j <= 32; j++)); do
					printf '2001:db8:f1:%x::%x n%d.flood.bench.test\n' "$i" "$j" "$i"
				done
			done
		fi
	} >"$WORK/bench.hosts"
	cni_add_plain bdns bench bench-dns app=bench-dns || harness_broke "bench DNS pod"
	BDNS4=$(pod_ip4 bdns)
	bg_start bdnsmasq ip netns exec "$(pod_ns bdns)" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
		--bind-interfaces --listen-address="$BDNS4" --addn-hosts="$WORK/bench.hosts" \
		--address=/dns.bench.test/192.0.2.30 --local-ttl=$DNS_TTL --edns-packet-max=1232 \
		--dns-forward-max=1000 --log-facility="$WORK/bdnsmasq.log"
	wait_until 10 eval '[ "$(in_node dig +time=1 +tries=1 +short @'"$BDNS4"' x.dns.bench.test A)" = 192.0.2.30 ]' ||
		harness_broke "bench dnsmasq does not answer"

	# Policies first, so that each pod's CNI ADD finds its policy.
	policy_write bench-pw "apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: bench-pw, namespace: bench}
spec:
  podSelector: {matchLabels: {app: bench-pw}}
  mode: enforce
  egress:
    - toCIDRs: [{cidr: $BENCH_SRV/32}]
      ports: [{port: 5201, protocol: TCP}, {port: $CONN_PORT, protocol: TCP}, {port: $FETCH_PORT, protocol: TCP}]
    - toFQDNs: [{matchPattern: \"*.dns.bench.test\"}, {matchPattern: \"*.react.bench.test\"}]
      ports: [{port: 443, protocol: TCP}]"
	policy_write bench-fp "apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: bench-fp, namespace: bench}
spec:
  podSelector: {matchLabels: {app: bench-fp}}
  mode: enforce
  egress:
    - toFQDNs: [{matchPattern: \"*.fp.bench.test\"}]
      ports: [{port: 443, protocol: TCP}]"
	# The flooding pod's policy: its answers (32 AAAA each) are learned.
	policy_write bench-fl "apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: bench-fl, namespace: bench}
spec:
  podSelector: {matchLabels: {app: bench-fl}}
  mode: enforce
  egress:
    - toFQDNs: [{matchPattern: \"*.flood.bench.test\"}]
      ports: [{port: 443, protocol: TCP}]"
	agent_start --resolver "$BDNS4" --max-addrs-per-name 64 || harness_broke "the agent did not start"
	wait_until 5 policy_loaded bench-pw || harness_broke "policy bench-pw not loaded: $(tail -3 "$TMP/agent.log")"
	wait_until 5 policy_loaded bench-fp || harness_broke "policy bench-fp not loaded"
	wait_until 5 policy_loaded bench-fl || harness_broke "policy bench-fl not loaded"

	cni_add_plain bfree bench bench-free app=bench-free || harness_broke "pod bench-free"
	cni_add bpw bench bench-pw app=bench-pw || harness_broke "pod bench-pw (podwall-cni ADD failed)"
	endpoint_in_map "$(pod_ifindex bpw)" || harness_broke "bench-pw is not in pw_endpoints"
	if want dnsflood; then
		cni_add bfl bench bench-fl app=bench-fl || harness_broke "pod bench-fl (podwall-cni ADD failed)"
		local k
		for ((k = 1; k <= BENCH_FLOOD_NAMES; k++)); do echo "n$k.flood.bench.test AAAA"; done >"$WORK/flood.txt"
	fi
	FREE4=$(pod_ip4 bfree)

	bg_start bsrv ip netns exec "$INET" "$BT/connbench" serve --addr "$BENCH_SRV" \
		--conn-port $CONN_PORT --fetch-port $FETCH_PORT --seconds "$E2E_TIMEOUT"
	wait_until 5 in_pod bfree "$BT/connbench" conn --dst "$BENCH_SRV:$CONN_PORT" --count 1 --seconds 2 ||
		harness_broke "connbench server unreachable from the free pod"
	wait_until 5 in_pod bpw "$BT/connbench" conn --dst "$BENCH_SRV:$CONN_PORT" --count 1 --seconds 2 ||
		harness_broke "connbench server unreachable from the podwall pod (policy?)"
	rt_pid "$(cat "$TMP/pids/bsrv")"
	rt_pid "$(cat "$TMP/pids/iperf3")"
	# Conntrack (iptables arms) in the node namespace: short TIME_WAIT, so that
	# hundreds of thousands of connections do not fill the table.
	ip netns exec "$NODE" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 2>/dev/null
	AGENT_PID=$(cat "$TMP/pids/agent")
	rt_dns "$AGENT_PID"
	rt_dns "$(cat "$TMP/pids/bdnsmasq")"
	CLK_TCK=$(getconf CLK_TCK)
	IDLE_RSS=$(awk '/^VmRSS:/ {print $2}' "/proc/$AGENT_PID/status")
	say "topology up: node $NODE, free pod $FREE4, podwall pod $(pod_ip4 bpw), resolver $BDNS4, agent pid $AGENT_PID"
}

# ------------------------------------------------------------------ 2/3. arms

ipt_rules() { # N: the allowlist with N allow rules, the one that matches last
	local n=$1 k
	echo "*filter"
	echo ":INPUT ACCEPT [0:0]"
	echo ":FORWARD ACCEPT [0:0]"
	echo ":OUTPUT ACCEPT [0:0]"
	echo "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
	for ((k = 0; k < n - 1; k++)); do
		echo "-A FORWARD -i cni0 -s $FREE4/32 -d 203.0.113.$((k % 256))/32 -p tcp -m tcp --dport $((1000 + k / 256)) -j ACCEPT"
	done
	echo "-A FORWARD -i cni0 -s $FREE4/32 -d $BENCH_SRV/32 -p tcp -m multiport --dports 5201,$CONN_PORT,$FETCH_PORT -j ACCEPT"
	echo "-A FORWARD -i cni0 -s $FREE4/32 -j DROP"
	echo "COMMIT"
}

ipset_rules() { # one hash:ip,port set with 10,000 entries, one rule
	local k
	{
		echo "create pwb-allow hash:ip,port family inet hashsize 16384 maxelem 65536"
		echo "add pwb-allow $BENCH_SRV,tcp:5201"
		echo "add pwb-allow $BENCH_SRV,tcp:$CONN_PORT"
		echo "add pwb-allow $BENCH_SRV,tcp:$FETCH_PORT"
		for ((k = 0; k < 9997; k++)); do
			echo "add pwb-allow 203.0.113.$((k % 256)),tcp:$((1000 + k / 256))"
		done
	} >"$WORK/ipset.restore"
	{
		echo "*filter"
		echo ":INPUT ACCEPT [0:0]"
		echo ":FORWARD ACCEPT [0:0]"
		echo ":OUTPUT ACCEPT [0:0]"
		echo "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
		echo "-A FORWARD -i cni0 -s $FREE4/32 -m set --match-set pwb-allow dst,dst -j ACCEPT"
		echo "-A FORWARD -i cni0 -s $FREE4/32 -j DROP"
		echo "COMMIT"
	} >"$WORK/ipset.rules"
}

arm_setup() { # VARIANT -> sets ARM_POD
	ARM_POD=bfree
	case "$1" in
	nofilter) ;;
	podwall) ARM_POD=bpw ;;
	ipt*) ip netns exec "$NODE" iptables-restore <"$WORK/ipt${1#ipt}.rules" || return 1 ;;
	ipset)
		ip netns exec "$NODE" ipset restore <"$WORK/ipset.restore" &&
			ip netns exec "$NODE" iptables-restore <"$WORK/ipset.rules" || return 1
		;;
	esac
}

arm_teardown() {
	# The whole table goes, base chains included: no hook stays behind to tax
	# the next arm.
	ip netns exec "$NODE" nft delete table ip filter 2>/dev/null
	ip netns exec "$NODE" ipset destroy pwb-allow 2>/dev/null
	return 0
}

iperf_run() { # POD -> bits/s on stdout
	local out i
	for i in 1 2 3; do
		out=$(in_pod "$1" timeout 20 "${RT[@]}" iperf3 -c "$BENCH_SRV" -p 5201 -t 5 -J 2>/dev/null)
		if echo "$out" | jq -e '.end.sum_received.bits_per_second' >/dev/null 2>&1; then
			echo "$out" | jq '.end.sum_received.bits_per_second'
			return 0
		fi
		sleep 1 # the server may still be closing the previous test
	done
	return 1
}

arm_tput_conn() {
	local variants="nofilter podwall ipt10 ipt1000 ipt10000 ipset" v r bps out n
	for n in 10 1000 10000; do ipt_rules $n >"$WORK/ipt$n.rules"; done
	ipset_rules
	local rounds=$BENCH_RUNS
	want tput && [ "$BENCH_TPUT_RUNS" -gt "$rounds" ] && rounds=$BENCH_TPUT_RUNS
	# Rounds interleave the arms, so that drift on a shared machine spreads
	# over all of them instead of biasing one.
	for ((r = 1; r <= rounds; r++)); do
		for v in $variants; do
			if ! arm_setup "$v"; then
				na "$v" "cannot install its rules"
				arm_teardown
				continue
			fi
			# Every round measures the pair that carries the target (no filter,
			# podwall); the iptables/ipset peers BENCH_TPUT_RUNS times.
			if want tput && { [ "$r" -le "$BENCH_TPUT_RUNS" ] || [ "$v" = nofilter ] || [ "$v" = podwall ]; }; then
				local c0 c1 pk=null
				[ "$v" = podwall ] && c0=$(agent_json | jq '.counters.pass_flow + .counters.pass_cidr')
				if bps=$(iperf_run "$ARM_POD"); then
					if [ "$v" = podwall ]; then
						c1=$(agent_json | jq '.counters.pass_flow + .counters.pass_cidr')
						[ -n "$c0" ] && [ -n "$c1" ] && pk=$((c1 - c0))
					fi
					rec "{\"arm\":\"tput\",\"variant\":\"$v\",\"run\":$r,\"bps\":$bps,\"podwall_egress_pkts\":$pk}"
					say "tput  round $r $v: $(awk -v b="$bps" 'BEGIN {printf "%.2f Gbit/s", b / 1e9}')"
				else
					na "tput $v round $r" "iperf3 failed"
				fi
			fi
			if want conn && [ "$r" -le "$BENCH_RUNS" ]; then
				conn_run "$v" "$r"
			fi
			arm_teardown
		done
	done
	# The pair that carries the target, again, back to back: on a shared
	# machine the median of many short pairs is what resolves a few percent.
	if want conn; then
		for ((r = BENCH_RUNS + 1; r <= BENCH_RUNS + BENCH_PAIR_RUNS; r++)); do
			conn_run nofilter "$r"
			conn_run podwall "$r"
		done
	fi
}

# conn_run VARIANT RUN: 2 s of connect/close from the arm's pod (rules in place).
conn_run() {
	local v=$1 r=$2 pod=bfree out c0="" c1="" extra='{}'
	[ "$v" = podwall ] && pod=bpw
	[ "$v" = podwall ] && c0=$(agent_json | jq -c '{f: .counters.pass_flow, c: .counters.pass_cidr}')
	out=$(in_pod "$pod" timeout 10 "${RT[@]}" "$BT/connbench" conn --dst "$BENCH_SRV:$CONN_PORT" \
		--seconds 2 --count 500000)
	if [ "$v" = podwall ] && [ -n "$c0" ]; then
		c1=$(agent_json | jq -c '{f: .counters.pass_flow, c: .counters.pass_cidr}')
		[ -n "$c1" ] && extra=$(jq -cn --argjson a "$c0" --argjson b "$c1" \
			'{podwall_flow_pkts: ($b.f - $a.f), podwall_first_pkts: ($b.c - $a.c)}')
	fi
	if [ -n "$out" ]; then
		rec "$(echo "$out" | jq -c --arg v "$v" --argjson r "$r" --argjson x "$extra" '{arm:"conn",variant:$v,run:$r} + $x + .')"
		say "conn  round $r $v: $(echo "$out" | jq -r '"\(.rate|floor)/s, \(.fail) failed"')"
	else
		na "conn $v round $r" "connbench failed"
	fi
}

# ------------------------------------------------------------------ 4. proxy

squid_start() {
	SQDIR=$(mktemp -d /tmp/pwbench-squid.XXXXXX)
	chown proxy:proxy "$SQDIR" 2>/dev/null || chmod 0777 "$SQDIR"
	cat >"$SQDIR/squid.conf" <<-EOF
		# podwall bench: a private squid, CONNECT allowlist by destination.
		http_port $POD_GW4:$SQUID_PORT
		visible_hostname podwall-bench
		pid_filename $SQDIR/squid.pid
		cache_log $SQDIR/cache.log
		access_log stdio:$SQDIR/access.log
		cache_store_log none
		cache deny all
		cache_mem 8 MB
		coredump_dir $SQDIR
		pinger_enable off
		dns_nameservers 127.0.0.1
		netdb_filename none
		cache_effective_user proxy
		shutdown_lifetime 0 seconds
		acl bench_dst dst $BENCH_SRV/32
		acl bench_ports port $FETCH_PORT
		acl CONNECT method CONNECT
		http_access allow CONNECT bench_dst bench_ports
		http_access deny all
	EOF
	bg_start squid nsenter --net="/run/netns/$NODE" squid -N -f "$SQDIR/squid.conf"
	wait_until 15 grep -q "Accepting HTTP Socket" "$SQDIR/cache.log" || return 1
	rt_pid "$(cat "$TMP/pids/squid")"
}

fetch_rec() { # VARIANT KIND RUN POD [--proxy ..] ARGS..
	local v=$1 k=$2 r=$3 pod=$4 out
	shift 4
	out=$(in_pod "$pod" timeout 40 "${RT[@]}" "$BT/connbench" fetch "$@")
	if [ -n "$out" ]; then
		rec "$(echo "$out" | jq -c --arg v "$v" --arg k "$k" --argjson r "$r" '{arm:"proxy",variant:$v,kind:$k,run:$r} + .')"
		say "proxy round $r $v $k: $(echo "$out" | jq -r '"p50 \(.p50_us) us, p99 \(.p99_us) us, \(.rate|floor)/s, \(.bits_per_second/1e9*100|floor/100) Gbit/s, \(.fail) failed"')"
	else
		na "proxy $v $k round $r" "connbench fetch failed"
	fi
}

arm_proxy() {
	local r px="--proxy $POD_GW4:$SQUID_PORT" dst="--dst $BENCH_SRV:$FETCH_PORT"
	if ! squid_start; then
		na "forward proxy" "squid did not start: $(tail -3 "$SQDIR/cache.log" 2>/dev/null | tr '\n' ' ')"
		return
	fi
	# shellcheck disable=SC2086
	for ((r = 1; r <= BENCH_RUNS; r++)); do
		fetch_rec direct_nofilter small $r bfree $dst --size 1024 --count 2000 --seconds 10
		fetch_rec direct_podwall small $r bpw $dst --size 1024 --count 2000 --seconds 10
		fetch_rec squid small $r bfree $px $dst --size 1024 --count 2000 --seconds 10
	done
	# shellcheck disable=SC2086
	for ((r = 1; r <= BENCH_TPUT_RUNS; r++)); do
		fetch_rec direct_nofilter bulk $r bfree $dst --size 536870912 --count 1 --seconds 30
		fetch_rec direct_podwall bulk $r bpw $dst --size 536870912 --count 1 --seconds 30
		fetch_rec squid bulk $r bfree $px $dst --size 536870912 --count 1 --seconds 30
	done
	local denied
	denied=$(in_pod bfree timeout 10 "$BT/connbench" fetch --proxy "$POD_GW4:$SQUID_PORT" \
		--dst "$BENCH_SRV:$CONN_PORT" --size 10 --count 1 --seconds 5 | jq -r .fail)
	[ "$denied" = 1 ] || na "forward proxy" "squid's allowlist let a CONNECT to port $CONN_PORT through"
	bg_kill squid
}

# ------------------------------------------------------------------ 5. DNS

agent_json() { agent_cli status -o json 2>/dev/null; }
agent_cpu_ticks() { awk '{print $14 + $15}' "/proc/$AGENT_PID/stat" 2>/dev/null || echo 0; }

# The counters that say which path the DNS answers of a run took: the agent's
# own (held answers it saw, released) and the kernel's (learned inline, held,
# refused by name, over the pod's budget).
dns_counters() {
	agent_json | jq -c '{held_seen: (.agent.dns_held_seen // 0), released: (.agent.dns_released // 0),
		k_held: (.counters.dns_held // 0), inline: (.counters.dns_learned_inline // 0),
		not_simple: (.counters.dns_not_simple // 0), refused: (.counters["drop_dns-name"] // 0),
		log_full: (.counters.learn_log_full // 0), quota: (.counters.dns_learn_quota // 0),
		budget: (.counters["drop_dns-budget"] // 0), queries: (.counters.pass_dns_query // 0),
		qbudget: (.counters.dns_query_budget // 0),
		hold_ns: (.agent.dns_hold_ns.total // 0), hold_wake_ns: (.agent.dns_hold_ns.wake // 0),
		hold_parse_ns: (.agent.dns_hold_ns.parse // 0), hold_learn_ns: (.agent.dns_hold_ns.learn // 0),
		hold_release_ns: (.agent.dns_hold_ns.release // 0)}' 2>/dev/null ||
		echo '{}'
}

# dns_delta BEFORE AFTER: the counters' growth, and the path it shows: "inline"
# only if dns_learned_inline moved and nothing was held, "held" only if answers
# were held and none learned inline, "refused" if queries were answered by the
# node, "none" when no counter moved (no podwall on the path), else "mixed".
dns_delta() {
	jq -cn --argjson a "${1:-{\}}" --argjson b "${2:-{\}}" '
		($b | with_entries(.value -= ($a[.key] // 0))) as $d
		| $d + {path: (if $d.refused > 0 and $d.inline == 0 and $d.k_held == 0 then "refused"
			elif $d.inline > 0 and $d.k_held == 0 then "inline"
			elif $d.k_held > 0 and $d.inline == 0 then "held"
			elif $d.inline == 0 and $d.k_held == 0 then "none" else "mixed" end)}' 2>/dev/null ||
		echo '{"path":"unknown"}'
}

# dns_round LABEL POD RUN [SECONDS [QUERY_FILE [SERVER]]]: one dnsperf run at 1,000 q/s
# (5 s by default); the counters and the agent's CPU time around it.
dns_round() {
	local v=$1 pod=$2 r=$3 secs=${4:-5} qfile=${5:-$WORK/dnsperf.txt} srv=${6:-$BDNS4}
	local s0 s1 c0 c1 d line prof=""
	s0=$(dns_counters)
	c0=$(agent_cpu_ticks)
	# BENCH_PROFILE=1: the agent's profile in the first held and inline
	# rounds, and the whole machine's (kernel included: wake-ups, IPIs) in
	# the first inline one.
	if [ "${BENCH_PROFILE:-0}" = 1 ] && { [ "$v" = podwall_held ] || [ "$v" = podwall ]; } &&
		[ "$r" = 1 ]; then
		prof=$WORK/agent-dns-$v.perf
		perf record -q -e cpu-clock -F 500 --call-graph dwarf,8192 -p "$AGENT_PID" -o "$prof" \
			-- sleep 6 >/dev/null 2>&1 &
		[ "$v" = podwall ] && perf record -q -e cpu-clock -F 2000 -a -g -o "$WORK/sys-dns-$v.perf" \
			-- sleep 6 >/dev/null 2>&1 &
		sleep 0.3
	fi
	in_pod "$pod" timeout 40 "${RT_DNS[@]}" dnsperf -s "$srv" -d "$qfile" -Q 1000 -l "$secs" \
		-t 2 -v >"$WORK/dnsperf.$v.$r.out" 2>&1
	sleep 0.3
	[ -n "$prof" ] && wait
	c1=$(agent_cpu_ticks)
	s1=$(dns_counters)
	d=$(dns_delta "$s0" "$s1")
	line=$("$PY" "$REPORT" dnsperf "$WORK/dnsperf.$v.$r.out")
	rec "$(echo "$line" | jq -c --arg v "$v" --argjson r "$r" --argjson d "$d" \
		--argjson cpu "$(((c1 - c0) * 1000000 / CLK_TCK))" --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
		'{arm:"dns",variant:$v,run:$r,held:$d.held_seen,released:$d.released,agent_cpu_us:$cpu,
		  counters:$d,path:$d.path,loadavg:($load|tonumber)} + .')"
	say "dns   round $r $v: $(echo "$line" | jq -r '"p50 \(.p50_us) us, p99 \(.p99_us) us, sent \(.sent), lost \(.lost)"'), path $(echo "$d" | jq -r '"\(.path) (inline \(.inline), held \(.k_held), refused \(.refused))"'), agent CPU $(((c1 - c0) * 1000 / CLK_TCK)) ms ($(echo "$d" | jq -r --argjson cpu "$(((c1 - c0) * 1000000 / CLK_TCK))" '[(.inline // 0) + (.held_seen // 0) + (.refused // 0), 1] | max | $cpu / . | floor') us an answer), load $(cut -d' ' -f1 /proc/loadavg)"
	# the agent's own account of a held answer's time, mean by stage
	echo "$d" | jq -e '.released > 0' >/dev/null 2>&1 &&
		say "dns   round $r $v: hold $(echo "$d" | jq -r '(.released) as $n | [.hold_ns, .hold_wake_ns, .hold_parse_ns, .hold_learn_ns, .hold_release_ns] | map(. / $n / 1000 * 10 | floor / 10) | "\(.[0]) us a released answer: wake-up \(.[1]), parse \(.[2]), learn \(.[3]), release \(.[4])"')"
	if [ -n "$prof" ]; then
		perf report -i "$prof" --children --sort sym --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9]' | head -45 >"$OUT/profile-agent-dns${v#podwall}.txt"
		# the machine's: self time by task and symbol (other sessions'
		# work included), then the resolver's task alone (pod_ingress
		# and its helpers run there, on the answer's way to the pod)
		[ -f "$WORK/sys-dns-$v.perf" ] && {
			perf report -i "$WORK/sys-dns-$v.perf" --no-children --sort comm,sym --stdio \
				-g none 2>/dev/null | grep -E '^ +[0-9]' | head -60
			echo "# dnsmasq's samples"
			perf report -i "$WORK/sys-dns-$v.perf" --comm dnsmasq --no-children --sort sym \
				--stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -60
		} >"$OUT/profile-sys-dns${v#podwall}.txt"
	fi
}

# ping_round LABEL POD RUN THREADS SERVER QUERY_FILE: 3 s of connbench
# dnsping at 1,000 q/s (one query outstanding).
ping_round() {
	local v=$1 pod=$2 r=$3 th=$4 srv=$5 qfile=$6 s0 s1 d out
	s0=$(dns_counters)
	out=$(in_pod "$pod" timeout 20 "${RT_DNS[@]}" "$BT/connbench" dnsping --server "$srv" --names "$qfile" \
		--qps 1000 --seconds 3 --threads "$th")
	s1=$(dns_counters)
	d=$(dns_delta "$s0" "$s1")
	if [ -z "$out" ]; then
		na "dns floor $v threads $th round $r" "connbench dnsping failed"
		return
	fi
	rec "$(echo "$out" | jq -c --arg v "$v" --argjson r "$r" --argjson d "$d" \
		--arg load "$(cut -d' ' -f1 /proc/loadavg)" \
		'{arm:"dnsfloor",client:"dnsping",variant:$v,run:$r,counters:$d,path:$d.path,
		  loadavg:($load|tonumber)} + .')"
	say "dns floor round $r $v dnsping/$th: $(echo "$out" | jq -r '"p50 \(.p50_us) us, p99 \(.p99_us) us, \(.answers) answers \(.rcodes|tojson), \(.lost) lost"'), path $(echo "$d" | jq -r .path)"
}

# The agent's programs (those that use its pinned pw_endpoints; other
# sessions' podwall programs on the machine use other maps): "ID NAME" lines.
bpf_progs_of_agent() {
	local mid
	mid=$(bpftool -j map show pinned "$PIN/pw_endpoints" 2>/dev/null | jq '.id') || return 0
	[ -n "$mid" ] || return 0
	bpftool -j prog show 2>/dev/null | jq -r --argjson m "$mid" \
		'.[] | select((.map_ids // []) | index($m)) | select(.name == "pod_egress" or .name == "pod_ingress") | "\(.id) \(.name)"'
}
bpf_runtime() { # ID...: {"<name>":{"run_time_ns":..,"run_cnt":..}}
	local id o="{}"
	for id in "$@"; do
		o=$(bpftool -j prog show id "$id" 2>/dev/null |
			jq -c --argjson o "$o" '$o + {(.name): {run_time_ns: (.run_time_ns // 0), run_cnt: (.run_cnt // 0)}}' 2>/dev/null || echo "$o")
	done
	echo "$o"
}

# Where the refused name's ~30 µs go: the same REFUSED answers timed by dnsperf
# and by a client that waits for its answer itself (no wake-up of another
# thread) or, like dnsperf, in a receiver thread; next to the same answer from
# a responder on the pod's loopback (no veth, no podwall) and the resolver's
# round trip, and the node kernel's own answer to a datagram for a closed port
# (ICMP port unreachable). Then the BPF programs' time for a refusal (bpf_stats).
dns_floor() {
	local r th ids s0 s1 b0 b1
	# The kernel's own answer for comparison: ICMP port unreachable from the
	# node (a closed port on the pods' gateway), not rate limited in the node
	# namespace for this.
	ip netns exec "$NODE" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000 \
		net.ipv4.icmp_msgs_burst=10000 2>/dev/null
	bg_start bdnsecho ip netns exec "$(pod_ns bfree)" "$BT/connbench" dnsecho --addr 127.0.0.1 \
		--seconds 600
	wait_until 5 in_pod bfree "$BT/connbench" dnsping --server 127.0.0.1 --names "$WORK/dnsperf-refused.txt" \
		--qps 100 --count 1 --seconds 1 >/dev/null || {
		na "dns floor" "the loopback responder does not answer"
		bg_kill bdnsecho
		return
	}
	rt_dns "$(cat "$TMP/pids/bdnsecho")"
	for ((r = 1; r <= BENCH_TPUT_RUNS; r++)); do
		for th in 1 2; do
			ping_round podwall_refused bpw "$r" "$th" "$BDNS4" "$WORK/dnsperf-refused.txt"
			ping_round loopback_refused bfree "$r" "$th" 127.0.0.1 "$WORK/dnsperf-refused.txt"
			ping_round nofilter bfree "$r" "$th" "$BDNS4" "$WORK/dnsperf.txt"
			ping_round icmp_unreach bfree "$r" "$th" "$POD_GW4:$CLOSED_PORT" "$WORK/dnsperf.txt"
		done
		dns_round loopback_refused bfree "$r" 3 "$WORK/dnsperf-refused.txt" 127.0.0.1
	done
	bg_kill bdnsecho
	# The kernel's share: pod_egress (the query, answered REFUSED in place)
	# and pod_ingress (the answer on its way back through the host veth),
	# bpf_stats on for one 3 s round only (they cost every program on the
	# machine a clock read while on).
	mapfile -t ids < <(bpf_progs_of_agent | awk '{print $1}')
	if [ ${#ids[@]} -eq 0 ] || ! sysctl -qw kernel.bpf_stats_enabled=1 2>/dev/null; then
		na "dns floor: kernel time" "the agent's programs not found, or no bpf_stats"
		return
	fi
	b0=$(bpf_runtime "${ids[@]}")
	s0=$(dns_counters)
	in_pod bpw timeout 20 "$BT/connbench" dnsping --server "$BDNS4" --names "$WORK/dnsperf-refused.txt" \
		--qps 1000 --seconds 3 --threads 1 >/dev/null
	s1=$(dns_counters)
	b1=$(bpf_runtime "${ids[@]}")
	sysctl -qw kernel.bpf_stats_enabled=0
	rec "$(jq -cn --argjson a "$b0" --argjson b "$b1" --argjson d "$(dns_delta "$s0" "$s1")" \
		'{arm:"dnsfloor",kind:"bpf_stats",counters:$d,
		  progs:($b | with_entries(.value = {runs: (.value.run_cnt - ($a[.key].run_cnt // 0)),
		    ns: (.value.run_time_ns - ($a[.key].run_time_ns // 0))}))}')"
	say "dns floor: bpf_stats $(jq -cn --argjson a "$b0" --argjson b "$b1" '$b | with_entries(.value = ((.value.run_time_ns - ($a[.key].run_time_ns // 0)) / ([1, .value.run_cnt - ($a[.key].run_cnt // 0)] | max) | floor))') ns a run"
}

# The kernel's time for an answer learned inline: pod_egress (the query) and
# pod_ingress (the answer, parsed and learned there), bpf_stats on for one 3 s
# dnsping round of the names the pod's policy grants, as dns_floor for
# refusals. The agent's CPU time beside it (it reads pw_learn_log).
dns_inline_kernel() {
	local ids s0 s1 b0 b1 c0 c1 d
	mapfile -t ids < <(bpf_progs_of_agent | awk '{print $1}')
	if [ ${#ids[@]} -eq 0 ] || ! sysctl -qw kernel.bpf_stats_enabled=1 2>/dev/null; then
		na "dns inline: kernel time" "the agent's programs not found, or no bpf_stats"
		return
	fi
	b0=$(bpf_runtime "${ids[@]}")
	s0=$(dns_counters)
	c0=$(agent_cpu_ticks)
	in_pod bpw timeout 20 "$BT/connbench" dnsping --server "$BDNS4" --names "$WORK/dnsperf.txt" \
		--qps 1000 --seconds 3 --threads 1 >/dev/null
	sleep 0.3
	c1=$(agent_cpu_ticks)
	s1=$(dns_counters)
	b1=$(bpf_runtime "${ids[@]}")
	sysctl -qw kernel.bpf_stats_enabled=0
	d=$(dns_delta "$s0" "$s1")
	rec "$(jq -cn --argjson a "$b0" --argjson b "$b1" --argjson d "$d" \
		--argjson cpu "$(((c1 - c0) * 1000000 / CLK_TCK))" --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
		'{arm:"dnsinline",kind:"bpf_stats",counters:$d,agent_cpu_us:$cpu,loadavg:($load|tonumber),
		  progs:($b | with_entries(.value = {runs: (.value.run_cnt - ($a[.key].run_cnt // 0)),
		    ns: (.value.run_time_ns - ($a[.key].run_time_ns // 0))}))}')"
	say "dns inline: bpf_stats $(jq -cn --argjson a "$b0" --argjson b "$b1" '$b | with_entries(.value = ((.value.run_time_ns - ($a[.key].run_time_ns // 0)) / ([1, .value.run_cnt - ($a[.key].run_cnt // 0)] | max) | floor))') ns a run, path $(echo "$d" | jq -r '"\(.path) (inline \(.inline), held \(.k_held))"'), agent CPU $(((c1 - c0) * 1000 / CLK_TCK)) ms, load $(cut -d' ' -f1 /proc/loadavg)"
}

# agent_restart [ARGS]: the agent again, with the bench's options and ARGS; the
# pods' endpoints survive (pinned maps, state directory).
agent_restart() {
	agent_stop || return 1
	agent_start --resolver "$BDNS4" --max-addrs-per-name 64 "$@" || return 1
	wait_until 10 policy_loaded bench-pw || return 1
	AGENT_PID=$(cat "$TMP/pids/agent")
	rt_dns "$AGENT_PID"
	sleep 3 # its start-up work (reconcile, state, learn log) done before a round
}

agent_has_opt() { "$PODWALL" agent --help 2>&1 | grep -q -- "$1"; }

arm_dns() {
	local r i
	for ((i = 1; i <= 200; i++)); do echo "d$i.dns.bench.test A"; done >"$WORK/dnsperf.txt"
	# names no policy of bpw grants: answered REFUSED by the node itself
	for ((i = 1; i <= 200; i++)); do echo "x$i.refused.bench.test A"; done >"$WORK/dnsperf-refused.txt"
	# Simple answers learned in the kernel (an agent without the inline
	# learner: its one path). The counters say which path each run took.
	if agent_has_opt --dns-learn-inline && ! agent_restart --dns-learn-inline=1; then
		na "dns, inline path" "the agent did not restart with --dns-learn-inline=1"
		agent_restart || harness_broke "the agent did not restart with its default options"
	fi
	for ((r = 1; r <= BENCH_TPUT_RUNS; r++)); do
		dns_round nofilter bfree $r
		dns_round podwall bpw $r
		dns_round podwall_refused bpw $r 5 "$WORK/dnsperf-refused.txt"
	done
	dns_inline_kernel
	dns_floor
	# Every answer held for the agent (the path of answers that are not
	# simple, and of every answer before the inline learner).
	if agent_has_opt --dns-learn-inline; then
		if agent_restart --dns-learn-inline=0; then
			for ((r = 1; r <= BENCH_TPUT_RUNS; r++)); do
				dns_round nofilter_h bfree $r
				dns_round podwall_held bpw $r
			done
		else
			na "dns, held path" "the agent did not restart with --dns-learn-inline=0"
		fi
		agent_restart || harness_broke "the agent did not restart with its default options"
	else
		say "dns: this agent has no --dns-learn-inline: its default path is the held one"
	fi
}

# The bench resolver's own count of the queries it answered (SIGUSR1: it logs
# "queries forwarded F, queries answered locally L"; F + L), or -1.
bdns_queries() {
	local n0 i
	n0=$(grep -c 'queries answered locally' "$WORK/bdnsmasq.log" 2>/dev/null)
	kill -USR1 "$(cat "$TMP/pids/bdnsmasq")" 2>/dev/null || { echo -1; return; }
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c 'queries answered locally' "$WORK/bdnsmasq.log")" -gt "$n0" ] && break
		sleep 0.1
	done
	grep 'queries answered locally' "$WORK/bdnsmasq.log" | tail -1 |
		sed -n 's/.*queries forwarded \([0-9]*\), queries answered locally \([0-9]*\).*/\1 \2/p' |
		awk '{print $1 + $2; f = 1} END {if (!f) print -1}'
}

# During a bounded flood from one pod (BENCH_FLOOD_QUERIES in 10 s, answers of
# 32 AAAA each: every one held for the agent), another pod's lookups; next to
# the same lookups without the flood, run by run. The flooder's queries: sent
# (dnsperf), dropped in pod_egress over its budget (--dns-queries-per-sec,
# dns_query_budget), forwarded (the rest), and what the resolver itself counted
# in the round (its statistics, less the victim's queries).
arm_dnsflood() {
	local r s0 s1 d out fl n0 n1 vsent
	# The victim's answers learned in the kernel (its simple answers then
	# never queue behind the flooder's held ones), if the agent can.
	if agent_has_opt --dns-learn-inline && ! agent_restart --dns-learn-inline=1; then
		na "dns flood, inline" "the agent did not restart with --dns-learn-inline=1"
		agent_restart || harness_broke "the agent did not restart with its default options"
	fi
	for ((r = 1; r <= BENCH_TPUT_RUNS; r++)); do
		dns_round victim_alone bpw "$r" 10
		s0=$(dns_counters)
		n0=$(bdns_queries)
		in_pod bfl timeout 40 dnsperf -s "$BDNS4" -d "$WORK/flood.txt" -e -Q "$((BENCH_FLOOD_QUERIES / 10))" \
			-l 10 -t 1 -q 2000 >"$WORK/flood.$r.out" 2>&1 &
		fl=$!
		sleep 0.5
		dns_round victim_flood bpw "$r" 9
		wait "$fl"
		sleep 2 # the agent's backlog of held answers drains before the next round
		s1=$(dns_counters)
		n1=$(bdns_queries)
		d=$(dns_delta "$s0" "$s1")
		vsent=$(awk '/Queries sent:/ {print $3}' "$WORK/dnsperf.victim_flood.$r.out")
		out=$(awk '/Queries sent:/ {s = $3} /Queries completed:/ {c = $3} /Queries lost:/ {l = $3}
			END {printf "{\"sent\":%d,\"completed\":%d,\"lost\":%d}", s, c, l}' "$WORK/flood.$r.out")
		out=$(echo "$out" | jq -c --argjson d "$d" --argjson n0 "$n0" --argjson n1 "$n1" \
			--argjson v "${vsent:-0}" --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
			'. + {dropped_budget: ($d.qbudget // 0), forwarded: (.sent - ($d.qbudget // 0)),
			      resolver_counted: (if $n0 >= 0 and $n1 >= 0 then $n1 - $n0 - $v else null end),
			      loadavg: ($load|tonumber)}')
		rec "$(echo "$out" | jq -c --argjson r "$r" --argjson d "$d" \
			'{arm:"dnsflood",kind:"flooder",run:$r,counters:$d} + .')"
		say "dns flood round $r: flooder $(echo "$out" | jq -c .), counters $(echo "$d" | jq -c '{k_held,inline,budget,qbudget}')"
		# The same flood, the victim a pod without podwall: what the shared
		# resolver and the machine lose whatever podwall does.
		in_pod bfl timeout 40 dnsperf -s "$BDNS4" -d "$WORK/flood.txt" -e -Q "$((BENCH_FLOOD_QUERIES / 10))" \
			-l 10 -t 1 -q 2000 >"$WORK/flood.free.$r.out" 2>&1 &
		fl=$!
		sleep 0.5
		dns_round free_flood bfree "$r" 9
		wait "$fl"
		sleep 2
	done
}

# ------------------------------------------------------------------ 7. reaction

arm_react() {
	local i out pol=$TMP/policies/bench-react.yaml
	if in_pod bpw timeout 5 "$BT/connbench" probe --dst "$REACT_SRV:8080" --seconds 0.5 >/dev/null; then
		na "reaction (policy)" "$REACT_SRV:8080 is reachable before any rule allows it"
	else
		for ((i = 1; i <= 10; i++)); do
			cat >"$TMP/react.tmp" <<-EOF
				apiVersion: podwall.io/v1alpha1
				kind: EgressPolicy
				metadata: {name: bench-react, namespace: bench}
				spec:
				  podSelector: {matchLabels: {app: bench-pw}}
				  mode: enforce
				  egress:
				    - toCIDRs: [{cidr: $REACT_SRV/32}]
				      ports: [{port: 8080, protocol: TCP}]
			EOF
			out=$(in_pod bpw timeout 10 "$BT/connbench" probe --dst "$REACT_SRV:8080" \
				--rename "$TMP/react.tmp" "$pol" --seconds 5)
			[ -n "$out" ] || out='{"ok":false}'
			rec "$(echo "$out" | jq -c --argjson r "$i" '{arm:"react",kind:"policy",run:$r} + .')"
			say "react policy $i: $(echo "$out" | jq -r '"\(.ms) ms, \(.attempts) attempts"')"
			in_pod bpw timeout 10 "$BT/connbench" probe --dst "$REACT_SRV:8080" --unlink "$pol" \
				--until denied --seconds 5 >/dev/null
			sleep 0.2
		done
	fi
	for ((i = 1; i <= 20; i++)); do echo "r$i.react.bench.test 203.0.113.$((100 + i))"; done >"$WORK/react.names"
	out=$(timeout 60 "$BT/connbench" dnsreact --server "$BDNS4" --names "$WORK/react.names" \
		--netns "/run/netns/$(pod_ns bfree)")
	[ -n "$out" ] && rec "$(echo "$out" | jq -c '{arm:"react",kind:"dns",variant:"nofilter"} + .')"
	out=$(timeout 60 "$BT/connbench" dnsreact --server "$BDNS4" --names "$WORK/react.names" \
		--netns "/run/netns/$(pod_ns bpw)" --pin "$PIN" --ifindex "$(pod_ifindex bpw)" --ttl $DNS_TTL)
	if [ -n "$out" ]; then
		rec "$(echo "$out" | jq -c '{arm:"react",kind:"dns",variant:"podwall"} + .')"
		say "react dns: $(echo "$out" | jq -c '{q2l_p50_us,l2a_p50_us,q2a_p50_us,learned,not_learned,lost}')"
		[ "$(echo "$out" | jq .learned)" -gt 0 ] 2>/dev/null ||
			na "reaction (DNS answer -> entry)" "no answer was learned (pw_learned has none of the addresses)"
	else
		na "reaction (DNS answer -> entry)" "dnsreact failed"
	fi
}

# ------------------------------------------------------------------ 6. footprint

fp_pod() { # INDEX: one pod through the real CNI chain, then its queries
	local i=$1 t0 t1 t2
	t0=$(date +%s%N)
	cni_add "fp$i" bench "bench-fp-$i" app=bench-fp >/dev/null 2>&1 || return 1
	t1=$(date +%s%N)
	in_pod "fp$i" timeout 20 dnsperf -s "$BDNS4" -d "$WORK/fp.txt" -n 1 -e -t 2 -q 8 \
		>"$WORK/fp/$i.out" 2>&1
	# 40 datagrams to addresses no rule grants (dropped in pod_egress): the
	# pods fill the agent's event history (--events-keep, 4,096) as a node's
	# denials would, so the RSS below is measured with it full
	in_pod "fp$i" bash -c 'for ((k = 1; k <= 40; k++)); do echo x >/dev/udp/198.51.100.$k/9; done' \
		>/dev/null 2>&1 || true
	t2=$(date +%s%N)
	echo "$i $(((t1 - t0) / 1000000)) $(((t2 - t1) / 1000000))" >"$WORK/fp/$i.time"
}

arm_footprint() {
	local i made=0 failed=0 t0 lost st rss hwm maps total m f pids=()
	for ((i = 1; i <= BENCH_LEARNED_NAMES; i++)); do echo "f$i.fp.bench.test AAAA"; done >"$WORK/fp.txt"
	mkdir -p "$WORK/fp"
	say "footprint: $BENCH_PODS pods through bridge + host-local + podwall-cni, each learning $((BENCH_LEARNED_NAMES * 40)) addresses"
	t0=$SECONDS
	if [ "${BENCH_PROFILE:-0}" = 1 ]; then
		perf record -q -e cpu-clock -F 200 --call-graph dwarf,8192 -p "$AGENT_PID" \
			-o "$WORK/agent-fp.perf" -- sleep 20 >/dev/null 2>&1 &
	fi
	# Four at a time, as a runtime starting pods in parallel would.
	for ((i = 1; i <= BENCH_PODS; i++)); do
		fp_pod "$i" &
		pids+=($!)
		if [ ${#pids[@]} -ge 4 ]; then
			wait "${pids[0]}" && made=$((made + 1)) || failed=$((failed + 1))
			pids=("${pids[@]:1}")
		fi
		[ $((SECONDS - t0)) -lt 400 ] || break
	done
	for m in "${pids[@]}"; do wait "$m" && made=$((made + 1)) || failed=$((failed + 1)); done
	local tpods=$((SECONDS - t0)) adds evs
	local keep=4096 # the agent's --events-keep (its default: agent_start sets none)
	wait_until 30 eval '[ "$(agent_json | jq ".agent.events // 0")" -ge $((made * 40 < keep ? made * 40 : keep)) ]' ||
		say "footprint: fewer deny events than $((made * 40)) (or $keep) after 30 s"
	evs=$(agent_json | jq '.agent.events // 0')
	sleep 2 # a heartbeat tick: learned state flushed, caches settled
	# CNI ADD latency (bridge + host-local + podwall-cni) of the first and the
	# last ten pods, and of the DNS batch of each.
	adds=$(cat "$WORK"/fp/*.time 2>/dev/null | sort -n | awk -v n="$BENCH_PODS" '
		function med(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return k ? a[int((k + 1) / 2)] : 0 }
		{ all[NR] = $0; id[NR] = $1; add[NR] = $2; q[NR] = $3 }
		END { for (i = 1; i <= NR && i <= 10; i++) { fa[i] = add[i]; fq[i] = q[i] }
		      k = 0; for (i = NR - 9; i <= NR; i++) if (i >= 1) { k++; la[k] = add[i]; lq[k] = q[i] }
		      printf "{\"add_ms_first10\":%d,\"add_ms_last10\":%d,\"dns_ms_first10\":%d,\"dns_ms_last10\":%d}",
		             med(fa, (NR < 10 ? NR : 10)), med(la, k), med(fq, (NR < 10 ? NR : 10)), med(lq, k) }')
	[ -n "$adds" ] || adds="{}"
	if [ "${BENCH_PROFILE:-0}" = 1 ]; then
		wait
		perf report -i "$WORK/agent-fp.perf" --children --sort sym --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9]' | head -45 >"$OUT/profile-agent-footprint.txt"
	fi
	lost=0
	for f in "$WORK"/fp/*.out; do
		m=$(awk '/Queries lost:/ {print $3}' "$f")
		lost=$((lost + ${m:-0}))
	done
	st=$(agent_json)
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$AGENT_PID/status" 2>/dev/null)
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$AGENT_PID/status" 2>/dev/null)
	# Where it is: heap (RssAnon), the shared libraries (RssFile), and the
	# mapped ring and perf buffers (kernel pages, RssShmem or RssFile); the
	# agent's own mappings kept for a look (smaps-agent-footprint.txt).
	local split
	split=$(awk '/^Rss(Anon|File|Shmem):/ {printf "%s\"%s\":%s", n++ ? "," : "{", tolower(substr($1, 4, length($1) - 4)) "_kib", $2} END {print n ? "}" : "{}"}' \
		"/proc/$AGENT_PID/status" 2>/dev/null)
	[ -n "$split" ] || split="{}"
	cat "/proc/$AGENT_PID/smaps" >"$OUT/smaps-agent-footprint.txt" 2>/dev/null
	maps="{}"
	total=0
	for f in "$PIN"/*; do
		m=$(bpftool -j map show pinned "$f" 2>/dev/null | jq '.bytes_memlock // 0')
		[ -n "$m" ] || continue
		maps=$(echo "$maps" | jq -c --arg k "$(basename "$f")" --argjson v "$m" '. + {($k): $v}')
		total=$((total + m))
	done
	rec "$(jq -cn --argjson made "$made" --argjson failed "$failed" --argjson st "${st:-null}" \
		--argjson rss "${rss:-null}" --argjson hwm "${hwm:-null}" --argjson idle "${IDLE_RSS:-null}" \
		--argjson maps "$maps" --argjson total "$total" --argjson secs "$tpods" --argjson lost "$lost" \
		--argjson q "$((made * BENCH_LEARNED_NAMES))" --argjson adds "$adds" --argjson split "$split" \
		--argjson evs "${evs:-null}" \
		'$adds + $split + {arm:"footprint",pods_made:$made,pods_failed:$failed,
		  endpoints:($st.endpoints.total // null), enforced:($st.endpoints.enforced // null),
		  learned:($st.maps.pw_learned.entries // null), rss_kib:$rss, hwm_kib:$hwm,
		  idle_rss_kib:$idle, maps:$maps, memlock_total:$total, learn_seconds:$secs,
		  queries:$q, dns_lost:$lost, deny_events:$evs,
		  dns_learned_total:($st.agent.dns_learned // null)}')"
	say "footprint: $made pods made ($failed failed) in ${tpods}s; RSS ${rss} KiB (peak ${hwm}; $(echo "$split" | tr -d '{}"'); idle ${IDLE_RSS:-?}); maps ${total} B; learned $(echo "$st" | jq '.maps.pw_learned.entries // "?"'); deny events $evs ($keep kept); $adds"
	# DNS again, now that the maps are big: the agent's sweeps of them run on
	# the same event loop as held answers. 12 s: at least two of its 5 s
	# garbage-collection passes fall inside the run.
	if want dns; then
		dns_round nofilter_loaded bfree 1 12
		dns_round podwall_loaded bpw 1 12
	fi
}

# ------------------------------------------------------------------ main

[ "$(id -u)" = 0 ] || {
	echo "bench: must run as root (network namespaces, BPF); nothing measured" >&2
	exit 0
}
for c in jq iperf3 dnsperf squid ipset iptables-restore nft clang bpftool gcc; do
	command -v "$c" >/dev/null 2>&1 || harness_broke "missing tool: $c (make deps)"
done
build_tools
mkdir -p "$OUT"
REC=$(mktemp /tmp/pwbench-rec.XXXXXX)
WORK=$(mktemp -d /tmp/pwbench-work.XXXXXX)
trap 'rm -rf "$WORK" "$REC"' EXIT
rec "$(jq -cn --arg k "$(uname -r)" --arg d "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg c "$CMDLINE" \
	--arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" --arg n "$(nproc)" \
	--arg commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--arg dirty "$(git -C "$REPO" status --porcelain 2>/dev/null | grep -c . || true)" \
	--arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg rtdns "$BENCH_RT_DNS" \
	--arg mit "$(grep -H . /sys/devices/system/cpu/vulnerabilities/spec_rstack_overflow /sys/devices/system/cpu/vulnerabilities/spectre_v2 2>/dev/null | sed 's|.*/||' | tr '\n' ';')" \
	'{arm:"meta",loadavg_start:$load,kernel:$k,date:$d,command:$c,cpu:$cpu,cpus:($n|tonumber),commit:$commit,
	  dirty_files:($dirty|tonumber),mitigations:$mit,rt_dns:($rtdns == "1")}')"

want pkt && arm_pkt
want pktcmp && arm_pktcmp
want hooks && arm_hooks
PKTWORK=$WORK
if want tput || want conn || want proxy || want dns || want dnsflood || want react || want footprint; then
	rm -rf "$PKTWORK"
	trap - EXIT
	bench_topology
	if want tput || want conn; then arm_tput_conn; fi
	want proxy && arm_proxy
	want dns && arm_dns
	want react && arm_react
	want footprint && arm_footprint
	# After the footprint (whose RSS the flood's held answers would inflate).
	if want dnsflood; then
		[ -f "$WORK/dnsperf.txt" ] ||
			for ((i = 1; i <= 200; i++)); do echo "d$i.dns.bench.test A"; done >"$WORK/dnsperf.txt"
		arm_dnsflood
	fi
fi

echo
echo "podwall bench — $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)"
echo "command: $CMDLINE   (took $((SECONDS - T_START)) s; load average at the start $(jq -r 'select(.arm == "meta") | .loadavg_start' "$REC" | head -1), now $(cut -d' ' -f1-3 /proc/loadavg))"
echo
# A partial run (BENCH_ARMS) does not overwrite the full run's results.
NAME=results
[ "$BENCH_ARMS" = "pkt hooks tput conn proxy dns react footprint dnsflood" ] || NAME=results.partial
cp "$REC" "$OUT/$NAME.jsonl"
"$PY" "$REPORT" table "$REC" "$OUT/$NAME.json" "$OUT/$NAME.md" ||
	harness_broke "report failed"
echo
echo "results: $OUT/$NAME.json (table), $OUT/$NAME.jsonl (raw records), $OUT/$NAME.md"
exit 0

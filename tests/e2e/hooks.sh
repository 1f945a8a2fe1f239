#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall e2e: the hook is podwall's, whatever else the CNI chain installs
# (issue 10). Pods are made by the real chain bridge -> portmap -> bandwidth ->
# podwall-cni, in k3s's order, with runtimeConfig passed as a runtime does;
# every case runs on the tcx path (if the kernel has it) and on the legacy
# tc path (agent --hook legacy).
#
# usage: tests/e2e/hooks.sh [BUILD_DIR] [CASE...]
# Same topology as run.sh (tests/e2e/lib.sh). Every loop is bounded.
set -u

ONLY=()
for a in "$@"; do
	case "$a" in
	-h | --help)
		sed -n '3,10p' "$0"
		exit 0
		;;
	*) if [[ $a == *_* ]] && [[ $a != */* ]]; then ONLY+=("$a"); else BUILD=$a; fi ;;
	esac
done

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RECONCILE=2  # the agent's --reconcile-interval in this suite
# The shaping rate, bit/s: 20 Mbit/s natively, divided by SLOW. Shaping is
# proved by a shaped run staying near RATE while the other direction, not
# shaped, goes over 2 x RATE. An unshaped veth carries Gbit/s natively, but
# under qemu TCG (SLOW ~7-30) only ~40 Mbit/s with podwall's programs on it, so
# a fixed 20 Mbit/s could not tell the two apart there; RATE / SLOW keeps that
# margin on a slow machine and is the same 20 Mbit/s on a native one.
RATE=$((20000000 / SLOW))
[ "$RATE" -ge 500000 ] || RATE=500000
BURST=$((RATE / 20)) # bits: 50 ms at RATE (1 Mbit natively)

# ============================================================ helpers (this suite's own)

# HOOKS_AGENT_ARGS replaces the agent options (to run this suite against an
# older build, which has neither).
hooks_agent_start() {
	local args=${HOOKS_AGENT_ARGS-"--hook $MODE --reconcile-interval $RECONCILE"}
	# shellcheck disable=SC2086
	agent_start $args
}

# chain_add POD NAME EGRESS_RATE INGRESS_RATE: netns + bridge, then portmap,
# bandwidth and podwall-cni, each with the previous plugin's result, the
# runtimeConfig a runtime derives from the pod (port mappings, the
# kubernetes.io/{egress,ingress}-bandwidth annotations). 0 = not shaped.
chain_add() {
	local pod=$1 name=$2 egress=$3 ingress=$4 d=$TMP/pods/$1 bw rc=0
	chain_del "$pod" # left over by a failed case
	pod_create "$pod" e2e "$name" 0 app=chain || return 1
	jq -c --argjson prev "$(cat "$d/bridge.result")" \
		'{cniVersion:"1.0.0",name:"pwnet",type:"portmap",capabilities:{portMappings:true},
		  snat:true,runtimeConfig:{portMappings:[{hostPort:18080,containerPort:80,protocol:"tcp"}]},
		  prevResult:$prev}' <<<'{}' >"$d/portmap.conf"
	_cni_exec "$CNI_BIN_DIR/portmap" ADD "$pod" <"$d/portmap.conf" >"$d/portmap.result" ||
		fail "portmap ADD: $(cat "$d/portmap.result")"
	bw=$(jq -cn --argjson e "$egress" --argjson i "$ingress" --argjson b "$BURST" \
		'{} + (if $e > 0 then {egressRate:$e,egressBurst:$b} else {} end)
		    + (if $i > 0 then {ingressRate:$i,ingressBurst:$b} else {} end)')
	jq -cn --argjson prev "$(cat "$d/portmap.result")" --argjson bw "$bw" \
		'{cniVersion:"1.0.0",name:"pwnet",type:"bandwidth",capabilities:{bandwidth:true},
		  runtimeConfig:{bandwidth:$bw},prevResult:$prev}' >"$d/bandwidth.conf"
	_cni_exec "$CNI_BIN_DIR/bandwidth" ADD "$pod" <"$d/bandwidth.conf" >"$d/bandwidth.result" ||
		fail "bandwidth ADD: $(cat "$d/bandwidth.result")"
	[ -n "${CHAIN_HOOK:-}" ] && "$CHAIN_HOOK" "$pod"
	cni_podwall_conf "$(cat "$d/labels")" "$(cat "$d/bandwidth.result")" >"$d/podwall.conf"
	_cni_exec "$PODWALL_CNI" ADD "$pod" <"$d/podwall.conf" >"$d/podwall.result" || rc=$?
	if [ "$rc" != 0 ]; then
		cp "$d/podwall.result" "$TMP/pods/$pod.failed"
		chain_del "$pod"
		return 1
	fi
	echo 1 >"$d/enforced"
}

chain_del() {
	local pod=$1 d=$TMP/pods/$1 p
	[ -d "$d" ] || return 0
	_cni_exec "$PODWALL_CNI" DEL "$pod" <"$d/podwall.conf" >/dev/null 2>&1 || true
	rm -f "$d/enforced"
	for p in bandwidth portmap; do
		[ -f "$d/$p.conf" ] && _cni_exec "$CNI_BIN_DIR/$p" DEL "$pod" <"$d/$p.conf" >/dev/null 2>&1
	done
	cni_del "$pod"
}

chain_policy() {
	policy_cidr chain e2e app=chain enforce "$SRV_A/32:443/TCP $SRV_A/32:$IPERF_PORT/TCP"
	wait_until 5 policy_loaded chain || fail "policy chain not loaded"
}

# denied destinations are captured nowhere, the allowed one connects
assert_enforced() {
	local pod=$1
	assert_ok connect "$pod" "$SRV_A" 443
	server_mark
	assert_fails connect "$pod" "$SRV_B" 443 1
	assert_fails connect "$pod" "$SRV_C" 80 1
	assert_fails udp_send "$pod" "$SRV_B" 9999 1
	local ans
	ans=$(dns_query "$pod" "$ROGUE_DNS" allowed.example.test 2>/dev/null || true)
	! grep -q "^[0-9]" <<<"$ans" ||
		fail "$pod got an answer from the untrusted DNS server"
	sleep 0.5 # a leaked packet would be in the capture by now (they are all answered-or-not above)
	! server_saw "$SRV_B" 443 || fail "$SRV_B:443 saw $pod's SYN"
	! server_saw "$SRV_C" 80 || fail "$SRV_C:80 saw $pod's SYN"
	! server_saw "$SRV_B" 9999 || fail "$SRV_B:9999 saw $pod's datagram"
	! grep -q "$(pod_ip4 "$pod")" "$TMP/rogue-dns.log" 2>/dev/null || fail "the rogue DNS saw $pod"
}

# iperf_rate POD [-R]: bit/s received in a bounded 3 s run to SRV_A (the
# bound, for iperf3's start and its 3 s, times SLOW)
iperf_rate() {
	local out
	out=$(in_pod "$1" timeout $((15 * SLOW)) iperf3 -c "$SRV_A" -p "$IPERF_PORT" -t 3 ${2:-} -J 2>/dev/null) ||
		{ echo 0; return 0; }
	jq -r '.end.sum_received.bits_per_second // 0 | floor' <<<"$out"
}

# assert_shaped POD [-R]: the run stays near RATE (not the multi-Gbit/s of an
# unshaped veth)
assert_shaped() {
	local r
	r=$(iperf_rate "$@")
	e2e_log "iperf3 $1 ${2:-}: $r bit/s (shaped to $RATE)"
	[ "$r" -gt $((RATE / 4)) ] || fail "iperf3 $1 ${2:-}: $r bit/s, far below $RATE (blocked?)"
	[ "$r" -lt $((RATE * 3 / 2)) ] || fail "iperf3 $1 ${2:-}: $r bit/s: not shaped to $RATE"
}

assert_unshaped() {
	local r
	r=$(iperf_rate "$@")
	e2e_log "iperf3 $1 ${2:-}: $r bit/s (unshaped)"
	[ "$r" -gt $((RATE * 2)) ] || fail "iperf3 $1 ${2:-}: $r bit/s: shaped though not asked"
}

# podwall is first on both hooks of the pod's veth, by its own account
assert_first() {
	local st
	st=$(agent_cli status -o json) || fail "status"
	jq -e --arg m "$MODE" '.hooks.mode == $m' <<<"$st" >/dev/null ||
		fail "the agent does not say it hooks with $MODE: $(jq -c .hooks <<<"$st")"
	jq -e --arg v "$(pod_veth "$1")" '.endpoints.programs_missing | index($v) | not' <<<"$st" \
		>/dev/null || fail "status says podwall is not first on $(pod_veth "$1"): $(jq -c .hooks <<<"$st")"
	if [ "$MODE" = legacy ]; then
		local fin fout
		fin=$(in_node tc filter show dev "$(pod_veth "$1")" ingress)
		fout=$(in_node tc filter show dev "$(pod_veth "$1")" egress)
		[[ $(head -n 1 <<<"$fin") == *"pref 1 bpf"* ]] || fail "first ingress filter: $fin"
		grep -q "pod_egress" <<<"$fin" || fail "pod_egress is not on the ingress hook: $fin"
		grep -q "pod_ingress" <<<"$fout" || fail "pod_ingress is not on the egress hook: $fout"
	fi
}

hook_repairs() { agent_cli status -o json | jq -r '.hooks.repairs'; }
repairs_above() { [ "$(hook_repairs)" -gt "$1" ]; }

ifb_make() {
	in_node ip link show "$PFX-ifb" >/dev/null 2>&1 && return 0
	in_node ip link add "$PFX-ifb" type ifb && in_node ip link set "$PFX-ifb" up
}

# ============================================================ cases

chain_egress_shaped() {
	need_agent
	chain_policy
	chain_add ce ce-0 "$RATE" 0 || fail "chain ADD: $(cat "$TMP/pods/ce.failed" 2>/dev/null)"
	assert_first ce
	assert_enforced ce
	assert_shaped ce
	assert_unshaped ce -R
	chain_del ce
}

chain_ingress_shaped() {
	need_agent
	chain_policy
	chain_add ci ci-0 0 "$RATE" || fail "chain ADD: $(cat "$TMP/pods/ci.failed" 2>/dev/null)"
	assert_first ci
	assert_enforced ci
	assert_shaped ci -R
	assert_unshaped ci
	chain_del ci
}

chain_both_shaped() {
	need_agent
	chain_policy
	chain_add cb cb-0 "$RATE" "$RATE" || fail "chain ADD: $(cat "$TMP/pods/cb.failed" 2>/dev/null)"
	assert_first cb
	assert_enforced cb
	assert_shaped cb
	assert_shaped cb -R
	chain_del cb
}

# The issue's hostile filter: pref 1, redirect everything to an ifb (whose
# re-injection skips tc classification). On tcx it runs after podwall's link
# anyway; on the legacy path it can only get pref 1 by deleting podwall's filter
# first, and the reconcile moves it behind podwall's.
hostile_redirect_caught() {
	need_agent
	chain_policy
	chain_add hr hr-0 0 0 || fail "chain ADD: $(cat "$TMP/pods/hr.failed" 2>/dev/null)"
	assert_enforced hr
	ifb_make || fail "cannot make an ifb device"
	local v n0 end
	v=$(pod_veth hr)
	n0=$(hook_repairs)
	in_node tc qdisc add dev "$v" clsact 2>/dev/null || true
	if [ "$MODE" = legacy ]; then
		# podwall holds pref 1: the kernel refuses another kind there
		assert_fails in_node tc filter add dev "$v" ingress pref 1 protocol all u32 match u32 0 0 \
			action mirred egress redirect dev "$PFX-ifb"
		# delete podwall's filter and take pref 1 in one tc process, as a
		# hostile component would: two tc starts apart (~1 s each under qemu
		# TCG) the reconcile can put podwall's filter back in between. Even
		# in one process a reconcile can land between the two requests (seen
		# once on 5.10 under TCG): then the hostile one tries again, at most
		# 5 times.
		local try
		for ((try = 1; try <= 5; try++)); do
			in_node tc -batch - <<-EOF && break
				filter del dev $v ingress pref 1
				filter add dev $v ingress pref 1 protocol all u32 match u32 0 0 action mirred egress redirect dev $PFX-ifb
			EOF
			e2e_log "the reconcile put podwall's filter back in between (try $try)"
			n0=$(hook_repairs)
		done
		[ "$try" -le 5 ] || fail "cannot delete podwall's filter and add the hostile one (5 tries)"
	else
		in_node tc filter add dev "$v" ingress pref 1 protocol all u32 match u32 0 0 \
			action mirred egress redirect dev "$PFX-ifb" || fail "cannot add the hostile filter"
	fi
	in_node tc filter show dev "$v" ingress >&2
	# caught within one reconcile period (a wall-clock timer), and some slack
	# for the agent's repair and the CLI (times SLOW: the machine's pace)
	end=$((SECONDS + RECONCILE + 3 * SLOW))
	if [ "$MODE" = legacy ]; then
		wait_until $((RECONCILE + 3)) repairs_above "$n0" || fail "not repaired within a reconcile"
		jq -e -s 'any(.[]; .reason == "hook-order" and .verdict == "repaired")' \
			"$TMP/agent.events" >/dev/null || fail "no hook-order event"
	fi
	[ $SECONDS -le $end ] || fail "repair took longer than one reconcile period"
	in_node tc filter show dev "$v" ingress >&2
	assert_first hr
	assert_enforced hr
	# the hostile filter still works, behind podwall: allowed traffic flows via the ifb
	[[ $(in_node tc filter show dev "$v" ingress) == *mirred* ]] || fail "hostile filter gone"
	chain_del hr
}

# A program placed in front of podwall's (tcx: a link with BPF_F_BEFORE; tc:
# a bpf filter at pref 1, which the kernel puts at the head of podwall's
# classifier) that ends classification with "pass".
hostile_prog_first_caught() {
	need_agent
	chain_policy
	chain_add hp hp-0 0 0 || fail "chain ADD: $(cat "$TMP/pods/hp.failed" 2>/dev/null)"
	local v n0
	v=$(pod_veth hp)
	n0=$(hook_repairs)
	if [ "$MODE" = tcx ]; then
		in_node "$TMP/tcx_first" "$TMP/hostile.bpf.o" "$(pod_ifindex hp)" ingress \
			"$PIN/hostile_$RAND" || fail "cannot attach the hostile tcx program"
	else
		in_node tc filter add dev "$v" ingress pref 1 handle 0x77 bpf da obj "$TMP/hostile.bpf.o" \
			sec tc || fail "cannot add the hostile bpf filter"
	fi
	wait_until $((RECONCILE + 3)) repairs_above "$n0" || fail "not repaired within a reconcile"
	jq -e -s 'any(.[]; .reason == "hook-order" and .verdict == "repaired")' "$TMP/agent.events" \
		>/dev/null || fail "no hook-order event"
	assert_first hp
	assert_enforced hp
	rm -f "$PIN/hostile_$RAND"
	chain_del hp
}

# Legacy path: a filter podwall cannot move (a u32 key that jumps to another
# table) holds pref 1 before podwall-cni runs: ADD fails, naming it.
cannot_be_first_fails_closed() {
	need_agent
	chain_policy
	CHAIN_HOOK=block_pref1 chain_add fc fc-0 0 0 && fail "ADD succeeded though podwall cannot be first"
	cat "$TMP/pods/fc.failed" >&2
	jq -e '.code and (.details // .msg | test("u32 filter pref 1"))' "$TMP/pods/fc.failed" \
		>/dev/null || fail "the error does not name the filter in the way"
}

block_pref1() {
	local v
	v=$(pod_veth "$1")
	in_node tc qdisc add dev "$v" clsact 2>/dev/null || true
	in_node tc filter add dev "$v" ingress pref 1 handle 1: protocol all u32 divisor 1
	in_node tc filter add dev "$v" ingress pref 1 protocol all u32 link 1: match u32 0 0
}

# ---- state that repairs itself: map entries changed behind the agent's back

le32() { printf '0x%02x 0x%02x 0x%02x 0x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
	$((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
drift_total() { agent_cli status -o json | jq -r '.drift_repairs | add'; }
drift_above() { [ "$(drift_total)" -gt "$1" ]; }
ep_id_of() {
	agent_cli endpoints -o json | jq -r --arg v "$(pod_veth "$1")" \
		'.[] | select(.host_ifname == $v or .veth == $v) | .ep_id' | head -n 1
}
connects() { connect "$@" >/dev/null 2>&1; }
refused() { ! connect "$@" >/dev/null 2>&1; }

drift_repaired() {
	need_agent
	chain_policy
	chain_add dr dr-0 0 0 || fail "chain ADD: $(cat "$TMP/pods/dr.failed" 2>/dev/null)"
	assert_enforced dr
	local ifx key n id val ck cv
	ifx=$(pod_ifindex dr)
	key=$(le32 "$ifx")
	id=$(ep_id_of dr)
	[ -n "$id" ] || fail "no endpoint id for dr"

	# 1. the endpoint entry deleted: the pod would pass untouched
	n=$(drift_total)
	# shellcheck disable=SC2086
	bpftool map delete pinned "$PIN/pw_endpoints" key $key || fail "cannot delete the entry"
	wait_until $((RECONCILE + 3)) drift_above "$n" || fail "deleted entry not repaired in a reconcile"
	endpoint_in_map "$ifx" || fail "entry not back"
	assert_enforced dr

	# 2. the entry altered to open mode (allow-all)
	n=$(drift_total)
	# shellcheck disable=SC2086
	val=$(bpftool -j map lookup pinned "$PIN/pw_endpoints" key $key | jq -r '.value | .[8] = "0x02" | join(" ")')
	[ -n "$val" ] || fail "cannot read the entry"
	# shellcheck disable=SC2086
	bpftool map update pinned "$PIN/pw_endpoints" key $key value $val || fail "cannot alter"
	# a reconcile may already have put it back (a slow machine): then it counted
	[ "$(endpoint_mode "$ifx")" = 2 ] || drift_above "$n" || fail "the alteration did not take"
	wait_until $((RECONCILE + 3)) drift_above "$n" || fail "altered entry not repaired in a reconcile"
	[ "$(endpoint_mode "$ifx")" = 0 ] || fail "mode is $(endpoint_mode "$ifx"), not enforce"
	assert_enforced dr

	# 3. a rule deleted: the allowed destination is cut until the repair
	n=$(drift_total)
	ck=$(bpftool -j map dump pinned "$PIN/pw_cidr4" | jq -r --argjson id "$id" \
		'[.[] | select((.formatted.key.ep_id // -1) == $id)][0].key | join(" ")')
	[ -n "$ck" ] && [ "$ck" != null ] || fail "no pw_cidr4 rule of endpoint $id"
	cv=$(bpftool -j map dump pinned "$PIN/pw_cidr4" | jq -r --argjson id "$id" \
		'[.[] | select((.formatted.key.ep_id // -1) == $id)][0].value | join(" ")')
	# shellcheck disable=SC2086
	bpftool map delete pinned "$PIN/pw_cidr4" key $ck || fail "cannot delete the rule"
	wait_until $((RECONCILE + 3)) drift_above "$n" || fail "deleted rule not repaired in a reconcile"
	wait_until 3 connects dr "$SRV_A" 443 || fail "allowed destination still cut"

	# 4. a rule added: SRV_B/32 for this endpoint, with the rule's port set
	n=$(drift_total)
	# shellcheck disable=SC2086
	bpftool map update pinned "$PIN/pw_cidr4" key 0x40 0 0 0 $(le32 "$id") 192 0 2 20 value $cv ||
		fail "cannot add a rule"
	wait_until $((RECONCILE + 3)) drift_above "$n" || fail "extra rule not removed in a reconcile"
	assert_enforced dr
	chain_del dr
}

# ---- uninstall: `podwall cleanup` leaves no program, link or pin behind

prog_gone() { ! bpftool prog show id "$1" >/dev/null 2>&1; }

cleanup_leaves_nothing() {
	need_agent
	chain_policy
	chain_add cl1 cl1-0 "$RATE" 0 || fail "chain ADD cl1"
	chain_add cl2 cl2-0 0 0 || fail "chain ADD cl2"
	assert_enforced cl1
	local ids p v out
	# the programs now attached (tc or tcx), to check they are freed after
	ids=""
	for p in cl1 cl2; do
		v=$(pod_veth "$p")
		ids+=" $(in_node tc filter show dev "$v" ingress | { grep -o ' id [0-9]*' || true; } | awk '{print $2}')"
		ids+=" $(in_node tc filter show dev "$v" egress | { grep -o ' id [0-9]*' || true; } | awk '{print $2}')"
	done
	for p in "$PIN"/links/tcx_*; do
		[ -e "$p" ] && ids+=" $(bpftool -j link show pinned "$p" | jq -r .prog_id)"
	done
	[ "$MODE" = legacy ] || [[ $ids == *[0-9]* ]] || fail "no tcx link pinned"
	e2e_log "programs before cleanup: $ids"
	# refused while the agent runs
	out=$(in_node "$PODWALL" cleanup --pin-dir "$PIN" 2>&1) && fail "cleanup ran under a live agent: $out"
	grep -q "holds" <<<"$out" || fail "refusal does not say why: $out"
	agent_stop
	out=$(in_node "$PODWALL" cleanup --pin-dir "$PIN" 2>&1) || fail "cleanup failed: $out"
	e2e_log "$out"
	[ ! -e "$PIN" ] || fail "$PIN still exists: $(ls -R "$PIN")"
	for p in cl1 cl2; do
		v=$(pod_veth "$p")
		out=$(in_node tc filter show dev "$v" ingress; in_node tc filter show dev "$v" egress)
		! grep -q "pod_" <<<"$out" || fail "podwall filter left on $v: $out"
	done
	for p in $ids; do
		wait_until 5 prog_gone "$p" || fail "program $p still loaded after cleanup"
	done
	# the bandwidth plugin's shaping is still there, podwall's filters gone
	[[ $(in_node tc filter show dev "$(pod_veth cl1)" ingress) == *mirred* ]] ||
		fail "cleanup removed the bandwidth plugin's filter"
	chain_del cl1
	chain_del cl2
	hooks_agent_start || fail "agent did not start again after cleanup"
}

sanitizers_clean() {
	local f
	for f in "$TMP/agent.log" "$TMP/cni.log"; do
		if grep -E -n 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$f" >&2; then
			fail "sanitizer report in $(basename "$f")"
		fi
	done
}

CASES="chain_egress_shaped chain_ingress_shaped chain_both_shaped hostile_redirect_caught
hostile_prog_first_caught drift_repaired"
LEGACY_CASES="cannot_be_first_fails_closed"
LAST_CASES="cleanup_leaves_nothing"

# ============================================================ main

# The hostile test programs: `make kernels-bin` builds them into $BUILD/e2e/
# (the kernel tier's guests have no compiler); else, or when older than their
# source, built here.
prebuilt() { [ -f "$BUILD/e2e/$1" ] && [ ! "$E2E_DIR/$2" -nt "$BUILD/e2e/$1" ]; }
e2e_require
prebuilt hostile.bpf.o hostile.bpf.c && prebuilt tcx_first tcx_first.c ||
	command -v clang >/dev/null || e2e_cannot_run "missing clang (for the hostile test program)"
e2e_init
e2e_setup
echo "# e2e hooks: prefix $PFX, node $NODE, temp $TMP, build $BUILD"
if prebuilt hostile.bpf.o hostile.bpf.c; then
	cp "$BUILD/e2e/hostile.bpf.o" "$TMP/hostile.bpf.o"
else
	clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c "$E2E_DIR/hostile.bpf.c" \
		-o "$TMP/hostile.bpf.o" || fail "cannot build hostile.bpf.c"
fi
if prebuilt tcx_first tcx_first.c; then
	cp "$BUILD/e2e/tcx_first" "$TMP/tcx_first"
else
	${CC:-gcc} -O2 -Wall "$E2E_DIR/tcx_first.c" -o "$TMP/tcx_first" -lbpf || fail "cannot build tcx_first.c"
fi

MODES="tcx legacy"
if ! grep -q . <(bpftool feature probe kernel 2>/dev/null | grep -i "tcx") &&
	[ "$(uname -r | awk -F. '{print ($1 * 100 + $2 >= 606)}')" != 1 ]; then
	echo "# this kernel has no tcx (Linux < 6.6): only the legacy path is tested here"
	MODES=legacy
fi
for MODE in $MODES; do
	echo "# --- hook mode: $MODE"
	agent_stop >/dev/null 2>&1 || true
	hooks_agent_start || fail "agent did not start with --hook $MODE"
	cases=$CASES
	[ "$MODE" = legacy ] && cases+=" $LEGACY_CASES"
	cases+=" $LAST_CASES"
	for c in $cases; do
		selected "$c" || continue
		eval "${c}__$MODE() { $c; }"
		run_test "${c}__$MODE"
	done
done
run_test sanitizers_clean
e2e_summary

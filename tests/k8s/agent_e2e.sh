#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The real agent in Kubernetes mode, driven by the fake API server
# (tests/k8s/fake_apiserver.py), with netns pods made by the real CNI plugins
# (tests/e2e/lib.sh: bridge + host-local, podwall-cni chained after them).
#
#   tests/k8s/agent_e2e.sh [BUILD]      (default build/asan; root)
#
# The fake API server runs INSIDE the node network namespace and binds
# 127.0.0.1 there, so the agent's API traffic never leaves the test's
# namespaces; the "internet" is the harness's documentation addresses.
#
# Cases (one line each, then "N passed, M failed"; exit status 1 on failure):
#   policy_create_delete   a policy created through the API takes effect,
#                          a deleted one stops applying
#   label_change           a label change moves a pod into and out of a policy
#                          (the CNI's labels are ignored: the API's count)
#   watch_dropped          watches cut while changes happen (in the gap and
#                          right after): resync with nothing missed
#   gone_410_relist        compaction + cut watches: 410 (ERROR event, then
#                          HTTP 410) -> relist, the changes take effect
#   token_rotation         the server's token rotated, the kubeconfig's
#                          tokenFile rewritten: picked up, no endless 401s
#   dns_resolvers          trusted resolvers = kube-dns Service IPs +
#                          EndpointSlice addresses; learning; untrusted denied
#   cni_conflist           --cni-conflist: chained at start, re-chained
#                          within 2 s after k3s-style overwrites, valid JSON
#   pods_before_podwall    pods made before the agent: registered from the API
#                          before it is ready, enforced; a selected pod whose
#                          veth exists nowhere is reported; later ADD keeps it
#   restart_api_down       agent restarted (pinned maps) while the API is
#                          down: nothing changes (the guard's API prefixes
#                          kept too), ADD waits, status/readyz,
#                          then sync, ADD completes and is enforced
#   restart_stale_flow     an idle connection revoked by a policy change stays
#                          revoked across an agent restart
#   refused_kept           a refused version keeps the last good one in force,
#                          across an agent restart (state directory); a
#                          brand-new refused policy shows its error
#   api_lost               403, 401: status condition, metric, /readyz 200
#   cluster_deny           ClusterEgressPolicy deny beats a namespaced allow
#                          on the wire, narrower and broader (CVE-2024-47825)
#   cluster_deny_ports     a per-port deny: the denied port refused, another
#                          port of the same address connects, by CIDR and by
#                          a learned hostname (dnsmasq); the deny gone, back
#   cluster_policy         ClusterEgressPolicy by namespace labels: a label
#                          change moves the pod in and out; grants add up
#   policy_status          status subresource: node entry, Lease holder's
#                          summary, refusal + PolicyRefused Event, node2 merged
#   rebinding_guard_api    the guard's cluster ranges come from the API: another
#                          node's InternalIP, an address in a Node's podCIDR and
#                          the kubernetes Service ClusterIP (all outside the
#                          private ranges, so only the API can guard them) are
#                          answered but not learned (dns-private); a public
#                          answer is; a Node added and one changed (watch
#                          events) update the guard, a 410 relist keeps it in
#                          step; `podwall status` names each prefix's source
#   pod_events             Warning Events on pods the agent cannot enforce: a
#                          selected pod with no veth on the node gets exactly
#                          one PodNotEnforced Event, whose count then rises (a
#                          series, not an Event per reconcile); a hook podwall
#                          cannot take back (legacy tc: a u32 filter that
#                          links to another table at pref 1) one HookConflict
#   services               toServices: a policy naming a Service that does not
#                          exist yet grants nothing, then its ClusterIP (on the
#                          Service's port) and endpoints (on the slice's) once
#                          it appears, and its DNS name resolves; endpoints
#                          replaced (in one slice, and moved to another slice)
#                          and the grants follow with no window (sampled
#                          maps: the ClusterIP and an endpoint always
#                          granted); the old endpoint denied, the new one
#                          connects; a port change; a rule's own ports; the
#                          Service deleted: its grants go
#   entities               toEntities: kube-apiserver (default/kubernetes and
#                          its EndpointSlice, an endpoint change followed) and
#                          cluster-dns (the kube-dns Service's ports, its
#                          slices)
#   sanitizers_clean       the agents exited 0 on SIGTERM, no ASan/UBSan report
#
# K8S_CASES="a b" runs only those cases. E2E_KEEP=1 keeps the temp dir (logs: agent.log, agent.events, k8s/api*.err).
set -uo pipefail

BUILD=${1:-${BUILD:-build/asan}}
export BUILD
export E2E_TIMEOUT=${E2E_TIMEOUT:-1200}
. "$(cd "$(dirname "$0")" && pwd)/../e2e/lib.sh"

command -v curl >/dev/null || e2e_cannot_run "missing tool: curl"
e2e_require
e2e_init
e2e_setup

K=$TMP/k8s
mkdir -p "$K" "$TMP/netd"
NODE_NAME=node1
METRICS=127.0.0.1:9978 # the probes; /metrics is on the same listener here
CONFLIST=$TMP/netd/10-flannel.conflist
CONFLIST_ORIG=$REPO/tests/unit/testdata/k3s-flannel.conflist
SERVICE_IP=$DNS4 # the kube-dns Service's clusterIP: the harness's dnsmasq
SPARE_IP=10.42.0.250 # a pod-subnet address nothing answers on (a "moved" Service IP)

# ---------------------------------------------------------------- fake API

# api_start NAME [server args]: a fake API server in the node netns; sets API
# and CTL (ports) and writes $K/NAME.kubeconfig (tokenFile: $K/NAME.client-token).
api_start() {
	local name=$1
	shift
	echo "tok-$name-1" >"$K/$name.server-token"
	echo "tok-$name-1" >"$K/$name.client-token"
	rm -f "$K/$name.ports"
	bg_start "api-$name" ip netns exec "$NODE" "$PY" "$REPO/tests/k8s/fake_apiserver.py" \
		--port-file "$K/$name.ports" --token-file "$K/$name.server-token" --verbose "$@"
	wait_until 10 test -s "$K/$name.ports" || fail "fake API server $name did not start: $(tail -3 "$TMP/api-$name.err")"
	API=$(jq -r .api "$K/$name.ports")
	CTL=$(jq -r .control "$K/$name.ports")
	cat >"$K/$name.kubeconfig" <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		- name: fake
		  cluster:
		    server: http://127.0.0.1:$API
		users:
		- name: agent
		  user:
		    tokenFile: $K/$name.client-token
		contexts:
		- name: fake
		  context: {cluster: fake, user: agent}
		current-context: fake
	EOF
	API_NAME=$name
	# run_test runs each case in a subshell: the current server is a file
	echo "$name" >"$K/current"
}
# api_current: API, CTL and API_NAME of the server started last.
api_current() {
	API_NAME=$(cat "$K/current")
	API=$(jq -r .api "$K/$API_NAME.ports")
	CTL=$(jq -r .control "$K/$API_NAME.ports")
}

# ctl PATH [JSON]: the fake server's control API (inside the node netns).
ctl() {
	local body=${2:-}
	api_current
	[ -n "$body" ] || body='{}'
	in_node curl -sf -m 5 -X POST "http://127.0.0.1:$CTL/_test/$1" -d "$body" >>"$K/ctl.log" ||
		fail "control API /_test/$1 failed"
	echo >>"$K/ctl.log"
}
ctl_get() {
	api_current
	in_node curl -sf -m 5 "http://127.0.0.1:$CTL/_test/$1"
}
api_stats() { ctl_get stats; }

api_apply() { ctl apply "$(jq -cn --arg r "$1" --argjson o "$2" '{resource:$r,object:$o}')"; }
api_delete() { ctl delete "$(jq -cn --arg r "$1" --arg ns "$2" --arg n "$3" '{resource:$r,namespace:$ns,name:$n}')"; }

# pod_obj NS NAME k=v...: a Pod of this node.
pod_obj() {
	local ns=$1 name=$2 kv labels='{}'
	shift 2
	for kv in "$@"; do
		labels=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$labels")
	done
	jq -cn --arg ns "$ns" --arg n "$name" --arg node "$NODE_NAME" --argjson l "$labels" \
		'{apiVersion:"v1",kind:"Pod",metadata:{namespace:$ns,name:$n,labels:$l},
		  spec:{nodeName:$node,containers:[{name:"c",image:"busybox"}]},status:{phase:"Running"}}'
}
api_pod() { api_apply pods "$(pod_obj "$@")"; }

# api_policy_cidr NS NAME KEY=VALUE "CIDR:PORT ..." [MODE]: TCP rules.
api_policy_cidr() {
	local ns=$1 name=$2 sel=$3 rules=$4 mode=${5:-enforce} r eg='[]'
	for r in $rules; do
		eg=$(jq -c --arg c "${r%:*}" --argjson p "${r##*:}" \
			'. + [{toCIDRs:[{cidr:$c}],ports:[{port:$p,protocol:"TCP"}]}]' <<<"$eg")
	done
	api_apply egresspolicies "$(jq -cn --arg ns "$ns" --arg n "$name" --arg k "${sel%%=*}" \
		--arg v "${sel#*=}" --arg m "$mode" --argjson eg "$eg" \
		'{apiVersion:"podwall.io/v1alpha1",kind:"EgressPolicy",metadata:{namespace:$ns,name:$n},
		  spec:{podSelector:{matchLabels:{($k):$v}},mode:$m,egress:$eg}}')"
}

# api_policy_fqdn NS NAME KEY=VALUE HOSTNAME PORT
api_policy_fqdn() {
	api_apply egresspolicies "$(jq -cn --arg ns "$1" --arg n "$2" --arg k "${3%%=*}" \
		--arg v "${3#*=}" --arg h "$4" --argjson p "$5" \
		'{apiVersion:"podwall.io/v1alpha1",kind:"EgressPolicy",metadata:{namespace:$ns,name:$n},
		  spec:{podSelector:{matchLabels:{($k):$v}},
		        egress:[{toFQDNs:[{matchName:$h}],ports:[{port:$p,protocol:"TCP"}]}]}}')"
}

# api_dns_service IP: the kube-dns Service with that cluster IP. A ClusterIP is
# immutable (the fake refuses a change, as kube-apiserver does): to move it,
# the Service is deleted and created again, as a user has to.
api_dns_service() {
	local cur
	cur=$(ctl_get "state?resource=services&namespace=kube-system" |
		jq -r '.items["kube-system/kube-dns"].spec.clusterIP // ""')
	[ -z "$cur" ] || [ "$cur" = "$1" ] || api_delete services kube-system kube-dns
	api_apply services "$(jq -cn --arg ip "$1" \
		'{apiVersion:"v1",kind:"Service",metadata:{namespace:"kube-system",name:"kube-dns",
		  labels:{"k8s-app":"kube-dns"}},
		  spec:{clusterIP:$ip,clusterIPs:[$ip],type:"ClusterIP",
		        ports:[{name:"dns",port:53,protocol:"UDP"},{name:"dns-tcp",port:53,protocol:"TCP"}]}}')"
}

# api_dns_slice NAME ADDRESS_TYPE ADDR: an EndpointSlice of kube-dns.
api_dns_slice() {
	api_apply endpointslices "$(jq -cn --arg n "$1" --arg t "$2" --arg a "$3" \
		'{apiVersion:"discovery.k8s.io/v1",kind:"EndpointSlice",
		  metadata:{namespace:"kube-system",name:$n,labels:{"kubernetes.io/service-name":"kube-dns"}},
		  addressType:$t,endpoints:[{addresses:[$a],conditions:{ready:true}}],
		  ports:[{name:"dns",port:53,protocol:"UDP"}]}')"
}

# ---------------------------------------------------------------- agent

# k8s_agent_start KUBECONFIG [extra args]: the agent in Kubernetes mode in the
# node netns, no --resolver (the trusted resolvers must come from the API).
# Returns once the control socket answers (which it does before the sync).
k8s_agent_start() {
	local kc=$1 i end=$((SECONDS + 30))
	shift
	agent_running && fail "k8s_agent_start: agent already running"
	echo "== $(date +%T.%N) k8s_agent_start $kc $*" >>"$TMP/agent.log"
	rm -f "$TMP/agent.rc" "$TMP/pids/agent"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
		bg_start agent-wrap bash -c '
		nsenter --net="/run/netns/$1" "$2" agent "${@:6}" \
			--pin-dir "$4" --socket "$5" --state-dir "$3/state" \
			>>"$3/agent.events" 2>>"$3/agent.log" </dev/null &
		echo $! >"$3/pids/agent.tmp"
		mv "$3/pids/agent.tmp" "$3/pids/agent"
		wait $!
		echo $? >"$3/agent.rc"' agent-wrap "$NODE" "$PODWALL" "$TMP" "$PIN" "$SOCK" \
		--k8s --kubeconfig "$kc" --node-name "$NODE_NAME" --metrics-addr "$METRICS" --probe-addr "$METRICS" -v "$@"
	for ((i = 0; i < 150 && SECONDS < end; i++)); do
		timeout 2 "$PODWALL" status --socket "$SOCK" >/dev/null 2>&1
		case $? in 0 | 4) return 0 ;; esac # 4: degraded (not synced yet), but answering
		[ $i -gt 5 ] && ! agent_running && break
		sleep 0.2
	done
	echo "agent did not come up (exit status $(cat "$TMP/agent.rc" 2>/dev/null || echo '?'))" >&2
	grep -v 'libbpf:' "$TMP/agent.log" | tail -n 10 >&2
	return 1
}

k8s_synced() { [ "$(agent_cli status -o json 2>/dev/null | jq -r '.kubernetes.synced')" = true ]; }
readyz_code() { in_node curl -s -o /dev/null -m 3 -w '%{http_code}' "http://$METRICS/readyz"; }

# ---------------------------------------------------------------- checks

now_ms() { echo $(($(date +%s%N) / 1000000)); }

allowed() { connect "$1" "$2" "$3" 2 >/dev/null 2>&1; }
denied() { ! connect "$1" "$2" "$3" 1 >/dev/null 2>&1; }

# within SECS CMD...: CMD until it succeeds, at most SECS seconds and 300 tries.
within() {
	local end=$(($(now_ms) + $1 * 1000)) i
	shift
	for ((i = 0; i < 300; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.2
	done
	return 1
}

expect_allowed() { allowed "$@" || fail "$1 -> $2:$3 should connect (it did not)"; e2e_log "ok: $1 -> $2:$3 connects"; }
expect_denied() { denied "$@" || fail "$1 -> $2:$3 should be denied (it connected)"; e2e_log "ok: $1 -> $2:$3 denied"; }
# become_allowed/become_denied POD IP PORT [SECS]: a change takes effect in time.
become_allowed() {
	local t0
	t0=$(now_ms)
	within "${4:-10}" allowed "$1" "$2" "$3" || fail "$1 -> $2:$3 still denied after ${4:-10} s"
	e2e_log "ok: $1 -> $2:$3 connects (after $(($(now_ms) - t0)) ms)"
}
become_denied() {
	local t0
	t0=$(now_ms)
	within "${4:-10}" denied "$1" "$2" "$3" || fail "$1 -> $2:$3 still connects after ${4:-10} s"
	e2e_log "ok: $1 -> $2:$3 denied (after $(($(now_ms) - t0)) ms)"
	# and it stays so (not a lost packet)
	expect_denied "$1" "$2" "$3"
}

# dns_gets POD SERVER NAME ADDR: the answer holds ADDR.
dns_gets() { dns_query "$1" "$2" "$3" 2>/dev/null | out_has -xF "$4"; }
# dns_blocked POD SERVER NAME: no answer (1 s, one try: a denial costs a timeout).
dns_blocked() {
	! in_pod "$1" timeout 5 dig +time=1 +tries=1 +short @"$2" "$3" A 2>/dev/null | out_has -E '^[0-9a-f.:]+$'
}

# ep_policies POD: the policies the agent says select the pod (comma list).
ep_policies() {
	local n
	n="$(cat "$TMP/pods/$1/k8s_ns")/$(cat "$TMP/pods/$1/k8s_name")"
	agent_cli endpoints -o json 2>/dev/null | jq -r --arg n "$n" \
		'(if type == "array" then . else .endpoints end)[] | select((.pod // ((.namespace // "") + "/" + (.name // ""))) == $n) |
		 (.policies // []) | sort | join(",")'
}

# endpoint_gen POD: the policy generation in the pod's pinned endpoint entry.
endpoint_gen() {
	bpftool -j map dump pinned "$PIN/pw_endpoints" 2>/dev/null |
		jq -r --argjson k "$(pod_ifindex "$1")" '.[] | select(.formatted.key == $k) | .formatted.value.policy_gen'
}

# map_snapshot FILE: the pinned maps that define enforcement, normalised.
map_snapshot() {
	local m
	for m in pw_endpoints pw_cidr4 pw_cidr6 pw_ports pw_resolvers pw_guard4 pw_guard6; do
		echo "== $m"
		bpftool -j map dump pinned "$PIN/$m" 2>/dev/null | jq -S -c '.[]' | sort
	done >"$1"
}

# ================================================================= cases

case_policy_create_delete() {
	need_agent
	api_pod c1 p1 app=c1
	cni_add c1 c1 p1 || fail "CNI ADD c1 failed"
	# no policy selects it: allow-all
	expect_allowed c1 "$SRV_B" 443
	api_policy_cidr c1 base app=c1 "$SRV_A/32:443"
	become_denied c1 "$SRV_B" 443
	expect_allowed c1 "$SRV_A" 443
	event_seen drop "$SRV_B" 443 no-rule c1 || fail "no drop event for $SRV_B:443 from c1"
	# a second policy created through the API: denied -> allowed
	api_policy_cidr c1 extra app=c1 "$SRV_B/32:443"
	become_allowed c1 "$SRV_B" 443
	[ "$(ep_policies c1)" = "c1/base,c1/extra" ] || fail "policies of c1: '$(ep_policies c1)'"
	# deleted through the API: stops applying
	api_delete egresspolicies c1 extra
	become_denied c1 "$SRV_B" 443
	expect_allowed c1 "$SRV_A" 443
	# the last one deleted: back to allow-all
	api_delete egresspolicies c1 base
	become_allowed c1 "$SRV_B" 443
	expect_allowed c1 "$SRV_A" 80
}

case_label_change() {
	need_agent
	api_policy_cidr c2 locked app=c2-locked "$SRV_A/32:443"
	api_pod c2 p2 app=c2
	# the CNI request claims the selected label: the API's label counts
	cni_add c2 c2 p2 app=c2-locked || fail "CNI ADD c2 failed"
	expect_allowed c2 "$SRV_B" 443
	[ -z "$(ep_policies c2)" ] || fail "c2 selected by '$(ep_policies c2)' (labels from the CNI request?)"
	# into the policy
	api_pod c2 p2 app=c2-locked
	become_denied c2 "$SRV_B" 443
	expect_allowed c2 "$SRV_A" 443
	expect_denied c2 "$SRV_A" 80
	[ "$(ep_policies c2)" = c2/locked ] || fail "c2 policies: '$(ep_policies c2)'"
	# out of it again: allow-all
	api_pod c2 p2 app=c2 tier=x
	become_allowed c2 "$SRV_B" 443
	expect_allowed c2 "$SRV_A" 80
	[ -z "$(ep_policies c2)" ] || fail "c2 still selected by '$(ep_policies c2)'"
}

# owner_of POD DPORT: the owner field of the pod's drop events to that port.
owner_of() {
	local pod
	pod="$(cat "$TMP/pods/$1/k8s_ns")/$(cat "$TMP/pods/$1/k8s_name")"
	jq -R -n -c --arg pod "$pod" --argjson p "$2" '[inputs | fromjson? | select(.verdict == "drop"
		and .namespace + "/" + .pod == $pod and .dport == $p) | .owner] | last' "$TMP/agent.events"
}

# Events name the pod's workload, from the API's Pod: a ReplicaSet owner with
# the pod-template-hash label is its Deployment, a StatefulSet itself, a bare
# pod none; `podwall events --owner` selects them.
case_event_owner() {
	need_agent
	api_policy_cidr ow base app=ow "$SRV_A/32:443"
	api_apply pods "$(pod_obj ow web-7d4b9c8f5-x2x9q app=ow pod-template-hash=7d4b9c8f5 | jq -c '
		.metadata.ownerReferences = [{apiVersion:"apps/v1",kind:"ReplicaSet",
		  name:"web-7d4b9c8f5",uid:"u1",controller:true}]')"
	api_apply pods "$(pod_obj ow db-0 app=ow | jq -c '
		.metadata.ownerReferences = [{apiVersion:"apps/v1",kind:"StatefulSet",name:"db",
		  uid:"u2",controller:true}]')"
	api_pod ow bare app=ow
	cni_add owd ow web-7d4b9c8f5-x2x9q app=ow || fail "CNI ADD web failed"
	cni_add ows ow db-0 app=ow || fail "CNI ADD db failed"
	cni_add owb ow bare app=ow || fail "CNI ADD bare failed"
	local p
	for p in owd ows owb; do
		within 10 denied "$p" "$SRV_B" 443 || fail "$p -> $SRV_B:443 not denied"
		within 5 event_seen drop "$SRV_B" 443 no-rule "$p" || fail "no drop event from $p"
	done
	[ "$(owner_of owd 443)" = '{"kind":"Deployment","name":"web"}' ] ||
		fail "owner of the ReplicaSet's pod: $(owner_of owd 443)"
	[ "$(owner_of ows 443)" = '{"kind":"StatefulSet","name":"db"}' ] ||
		fail "owner of the StatefulSet's pod: $(owner_of ows 443)"
	[ "$(owner_of owb 443)" = null ] || fail "owner of a bare pod: $(owner_of owb 443)"
	agent_cli events --owner Deployment/web -o json | jq -e -s 'length > 0 and
		all(.pod == "web-7d4b9c8f5-x2x9q" and .owner.kind == "Deployment")' >/dev/null ||
		fail "events --owner Deployment/web: $(agent_cli events --owner Deployment/web -o json | tail -2)"
	[ -z "$(agent_cli events --owner statefulset/web -o json)" ] || fail "--owner matched another kind"
	agent_cli events --owner db | out_has -E "ow/db-0 +drop +no-rule +tcp +$SRV_B +443 +StatefulSet/db" ||
		fail "events table OWNER column: $(agent_cli events --owner db | tail -2)"
	agent_cli events --namespace ow -o compact | out_has -F "ow/web-7d4b9c8f5-x2x9q (Deployment/web) -> $SRV_B:443 drop no-rule" ||
		fail "events compact: $(agent_cli events --namespace ow -o compact | tail -3)"
	agent_cli events --namespace ow --reason no-rule --last 3 >&2
	agent_cli events --namespace ow --reason no-rule --last 3 -o compact >&2
	agent_cli events --owner Deployment/web -o json --last 1 >&2
}

case_watch_dropped() {
	need_agent
	local w0 w1
	api_pod c3 p3 app=c3
	api_policy_cidr c3 base app=c3 "$SRV_A/32:443"
	api_policy_cidr c3 port80 app=c3 "$SRV_A/32:80"
	cni_add c3 c3 p3 || fail "CNI ADD c3 failed"
	within 10 allowed c3 "$SRV_A" 80 || fail "c3 policies not in place"
	expect_denied c3 "$SRV_B" 443
	expect_denied c3 "$SRV_C" 443
	w0=$(api_stats | jq '.watches.egresspolicies // 0')
	# changes the open watches do not deliver (in the gap), then the cut
	ctl config '{"pause_watches": true}'
	api_policy_cidr c3 base app=c3 "$SRV_A/32:443 $SRV_B/32:443" # modified in the gap
	api_delete egresspolicies c3 port80                             # deleted in the gap
	ctl drop-watches
	ctl config '{"pause_watches": false}'
	# and a change right after the drop, while the agent reconnects
	api_policy_cidr c3 later app=c3 "$SRV_C/32:443"
	become_allowed c3 "$SRV_B" 443
	become_allowed c3 "$SRV_C" 443
	become_denied c3 "$SRV_A" 80
	expect_allowed c3 "$SRV_A" 443
	w1=$(api_stats | jq '.watches.egresspolicies // 0')
	[ "$w1" -gt "$w0" ] || fail "the agent did not watch egresspolicies again ($w0 -> $w1)"
	e2e_log "egresspolicies watches $w0 -> $w1"
	# pods watch resumed too: a label change after all this still works
	api_pod c3 p3 app=c3-free
	become_allowed c3 "$SRV_A" 80
}

case_gone_410_relist() {
	need_agent
	local s0 s1 g0 l0 round
	api_pod c4 p4 app=c4
	api_policy_cidr c4 base app=c4 "$SRV_A/32:443"
	api_policy_cidr c4 gap app=c4 "$SRV_A/32:80"
	cni_add c4 c4 p4 || fail "CNI ADD c4 failed"
	within 10 allowed c4 "$SRV_A" 80 || fail "c4 policies not in place"
	expect_denied c4 "$SRV_B" 443
	for round in event http; do
		s0=$(api_stats)
		g0=$(jq '.gone' <<<"$s0")
		l0=$(jq '.lists.egresspolicies // 0' <<<"$s0")
		[ "$round" = http ] && ctl config '{"gone_as_http": true}'
		# the agent's resourceVersion falls behind the compaction: watches
		# paused (no events, no bookmarks), a change, compact, cut
		ctl config '{"pause_watches": true}'
		if [ "$round" = event ]; then
			api_policy_cidr c4 base app=c4 "$SRV_A/32:443 $SRV_B/32:443"
			api_delete egresspolicies c4 gap
		else
			api_policy_cidr c4 base app=c4 "$SRV_A/32:443 $SRV_B/32:443 $SRV_C/32:443"
			api_policy_cidr c4 gap app=c4 "$SRV_A/32:80"
		fi
		ctl compact
		ctl drop-watches
		ctl config '{"pause_watches": false}'
		if [ "$round" = event ]; then
			api_policy_cidr c4 after app=c4 "$SRV_C/32:443"
			become_allowed c4 "$SRV_B" 443
			become_allowed c4 "$SRV_C" 443
			become_denied c4 "$SRV_A" 80
		else
			api_delete egresspolicies c4 after
			# SRV_C:443 now only through base (modified in the gap); port 80 back
			become_allowed c4 "$SRV_A" 80
			expect_allowed c4 "$SRV_C" 443
			api_pod c4 p4 app=c4-out
			become_allowed c4 "$SRV_B" 80
		fi
		s1=$(api_stats)
		[ "$(jq '.gone' <<<"$s1")" -gt "$g0" ] || fail "($round) the server answered no 410"
		[ "$(jq '.lists.egresspolicies // 0' <<<"$s1")" -gt "$l0" ] ||
			fail "($round) the agent did not list egresspolicies again after 410"
		e2e_log "($round) 410s $g0 -> $(jq .gone <<<"$s1"), egresspolicies lists $l0 -> $(jq '.lists.egresspolicies' <<<"$s1")"
	done
	ctl config '{"gone_as_http": false}'
}

case_token_rotation() {
	need_agent
	local u0 u1 u2 n401a n401b last
	api_pod c5 p5 app=c5
	api_policy_cidr c5 base app=c5 "$SRV_A/32:443"
	api_current
	cni_add c5 c5 p5 || fail "CNI ADD c5 failed"
	expect_denied c5 "$SRV_B" 443
	u0=$(api_stats | jq .unauthorized)
	# the server's token changes; the open watches are cut, so every new
	# request is refused until the agent has the new token
	ctl rotate-token '{"token": "tok-rotated-2"}'
	ctl drop-watches
	sleep 1
	# kubelet-style: the token file replaced (a new inode), not edited
	echo tok-rotated-2 >"$K/$API_NAME.client-token.tmp"
	mv -f "$K/$API_NAME.client-token.tmp" "$K/$API_NAME.client-token"
	api_policy_cidr c5 more app=c5 "$SRV_B/32:443"
	become_allowed c5 "$SRV_B" 443 40
	u1=$(api_stats | jq .unauthorized)
	n401a=$(grep -c '" 401 ' "$TMP/api-$API_NAME.err" || true)
	sleep 4
	u2=$(api_stats | jq .unauthorized)
	n401b=$(grep -c '" 401 ' "$TMP/api-$API_NAME.err" || true)
	last=$(api_stats | jq -r '.auth_tokens[-1]')
	e2e_log "401s: before $u0, when the change took effect $u1, 4 s later $u2 (server log: $n401a -> $n401b); last token presented: $last"
	[ "$u2" = "$u1" ] || fail "401s go on after the token file was rewritten ($u1 -> $u2 in 4 s)"
	[ "$n401b" = "$n401a" ] || fail "server log: 401s go on ($n401a -> $n401b)"
	[ $((u1 - u0)) -le 30 ] || fail "$((u1 - u0)) 401s for one rotation"
	[ "$last" = tok-rotated-2 ] || fail "last token presented: $last"
	# later changes still flow
	api_delete egresspolicies c5 more
	become_denied c5 "$SRV_B" 443
}

case_dns_resolvers() {
	need_agent
	api_pod c7 p7 app=c7
	api_policy_fqdn c7 fqdn app=c7 allowed.example.test 443
	cni_add c7 c7 p7 || fail "CNI ADD c7 failed"
	within 10 eval 'test -n "$(ep_policies c7)"' || fail "c7 not selected: '$(ep_policies c7)'"
	# nothing learned yet
	expect_denied c7 "$SRV_A" 443
	# DNS to the Service's IP: trusted, answered, learned from
	dns_gets c7 "$SERVICE_IP" allowed.example.test "$SRV_A" ||
		fail "DNS to the kube-dns Service IP $SERVICE_IP failed"
	e2e_log "ok: DNS via the Service IP $SERVICE_IP answered"
	expect_allowed c7 "$SRV_A" 443
	agent_cli fqdn --pod c7/p7 | out_has allowed.example.test || fail "nothing learned: $(agent_cli fqdn --pod c7/p7)"
	expect_denied c7 "$SRV_B" 443
	# another DNS server: denied
	dns_blocked c7 "$ROGUE_DNS" allowed.example.test || fail "DNS to $ROGUE_DNS answered"
	event_seen drop "$ROGUE_DNS" 53 dns-untrusted c7 || fail "no dns-untrusted event for $ROGUE_DNS"
	e2e_log "ok: DNS to $ROGUE_DNS denied (dns-untrusted)"
	# EndpointSlice addresses are trusted too: dnsmasq's IPv6 address
	dns_blocked c7 "$DNS6" allowed.example.test || fail "DNS to $DNS6 answered before any slice names it"
	api_dns_slice kube-dns-v6 IPv6 "$DNS6"
	within 10 dns_gets c7 "$DNS6" allowed.example.test "$SRV_A" ||
		fail "DNS to the EndpointSlice address $DNS6 still denied"
	e2e_log "ok: DNS via the EndpointSlice address $DNS6 answered"
	# the Service's IP removed from the API (moved to an address nothing uses)
	api_dns_service "$SPARE_IP"
	within 10 dns_blocked c7 "$SERVICE_IP" allowed.example.test ||
		fail "DNS to $SERVICE_IP still answered after the Service lost that IP"
	dns_blocked c7 "$SERVICE_IP" allowed.example.test || fail "DNS to $SERVICE_IP answered again"
	e2e_log "ok: DNS to $SERVICE_IP denied once the Service no longer has it"
	dns_gets c7 "$DNS6" allowed.example.test "$SRV_A" || fail "DNS to the slice address stopped"
	bpftool -j map dump pinned "$PIN/pw_resolvers" >&2 || true
	# the slice deleted: its address is no longer trusted
	api_delete endpointslices kube-system kube-dns-v6
	within 10 dns_blocked c7 "$DNS6" allowed.example.test || fail "DNS to $DNS6 still answered after the slice was deleted"
	# restore the Service for what follows
	api_dns_service "$SERVICE_IP"
	within 10 dns_gets c7 "$SERVICE_IP" allowed.example.test "$SRV_A" ||
		fail "DNS to $SERVICE_IP not trusted again after the Service got it back"
}

# resolver_trusted IPV4: the address is in pw_resolvers.
resolver_trusted() {
	bpftool -j map dump pinned "$PIN/pw_resolvers" 2>/dev/null |
		jq -e --argjson a "$(jq -cn --arg ip "$1" '$ip | split(".") | map(tonumber)')" \
			'any(.[]; .formatted.key.family == 4 and .formatted.key.addr.v6[0:4] == $a)' >/dev/null
}

# A failure in the middle of dns_resolvers must not leave the kube-dns Service
# moved or the extra slice behind (every later case trusts $SERVICE_IP).
cleanup_dns_resolvers() {
	(api_dns_service "$SERVICE_IP") >/dev/null 2>&1 || true
	(api_delete endpointslices kube-system kube-dns-v6) >/dev/null 2>&1 || true
	within 10 resolver_trusted "$SERVICE_IP" || echo "cleanup: $SERVICE_IP not trusted again" >&2
	true
}

# conflist_ok FILE: valid JSON, the k3s plugins in order, podwall-cni last, once.
conflist_ok() {
	jq -e '(.plugins | map(.type)) == ["flannel","portmap","bandwidth","podwall-cni"]
	       and .name == "cbr0" and .cniVersion == "1.0.0"' "$1" >/dev/null 2>&1
}

case_cni_conflist() {
	need_agent
	local t0 dt h1 h2 how
	[ -s "$K/conflist.at-start" ] || fail "no copy of the conflist taken at agent start"
	conflist_ok "$K/conflist.at-start" || fail "not chained at start: $(cat "$K/conflist.at-start")"
	e2e_log "ok: chained at start: $(jq -c '.plugins | map(.type)' "$K/conflist.at-start")"
	jq -e --arg s "$SOCK" '.plugins[-1].socket == $s' "$CONFLIST" >/dev/null ||
		e2e_log "note: podwall-cni entry has no socket $SOCK: $(jq -c '.plugins[-1]' "$CONFLIST")"
	for how in in-place rename in-place; do
		if [ "$how" = in-place ]; then
			cat "$CONFLIST_ORIG" >"$CONFLIST" # open(O_TRUNC) + write, as os.WriteFile
		else
			cp "$CONFLIST_ORIG" "$CONFLIST.new" && mv -f "$CONFLIST.new" "$CONFLIST"
		fi
		t0=$(now_ms)
		within 2 conflist_ok "$CONFLIST" ||
			fail "($how) not re-chained within 2 s: $(jq -c '.plugins | map(.type)' "$CONFLIST" 2>&1)"
		dt=$(($(now_ms) - t0))
		e2e_log "ok: ($how) re-chained after $dt ms"
		# stable: no rewrite loop, the file stays valid
		h1=$(sha256sum <"$CONFLIST")
		sleep 1
		h2=$(sha256sum <"$CONFLIST")
		[ "$h1" = "$h2" ] || fail "($how) the conflist keeps changing"
		conflist_ok "$CONFLIST" || fail "($how) broken after settling: $(cat "$CONFLIST")"
	done
	local f
	for f in "$TMP"/netd/* "$TMP"/netd/.[!.]*; do
		[ -e "$f" ] && [ "$f" != "$CONFLIST" ] && fail "stray file in net.d: $f"
	done
	return 0
}

# api_pod_ip POD K8S_NS K8S_NAME k=v...: the Pod object with the harness pod's IPs
# in status (as the kubelet reports them once the sandbox is up).
api_pod_ip() {
	local pod=$1
	shift
	api_apply pods "$(pod_obj "$@" | jq -c --arg a "$(pod_ip4 "$pod")" --arg b "$(pod_ip6 "$pod")" \
		'.status += {podIP: $a, podIPs: [{ip: $a}, {ip: $b}]}')"
}
# unlocated_json: the pods the agent lists as not located
unlocated_json() { agent_cli status -o json | jq -c '.pods_unlocated // []'; }
ep_listed() { # NS/NAME
	agent_cli endpoints -o json | jq -e --arg p "$1" \
		'(if type == "array" then . else .endpoints end) | any(.[]; .pod == $p and .attached)' >/dev/null
}
metric_value() { in_node curl -s -m 3 "http://$METRICS/metrics" | awk -v k="$1" '$1 == k {print $2}'; }

# Pods that were running before podwall: made first (the CNI alone, no
# podwall-cni), the agent started second, a policy applied: enforced. The API
# also lists a selected pod whose veth exists nowhere: reported (status,
# metric, warning), never silently open. A hostNetwork pod is not a pod to
# locate. A pod started later without podwall-cni is found at a reconcile.
case_pods_before_podwall() {
	need_agent
	local u
	agent_stop || fail "agent did not stop"
	cni_add_plain pb1 c10 pb1 || fail "pod pb1"
	cni_add_plain pb2 c10 pb2 || fail "pod pb2"
	api_pod_ip pb1 c10 pb1 app=c10
	api_pod_ip pb2 c10 pb2 app=c10-free
	api_apply pods "$(pod_obj c10 ghost app=c10 | jq -c '.status += {podIP: "10.42.0.241", podIPs: [{ip: "10.42.0.241"}]}')"
	api_apply pods "$(pod_obj c10 hostnet app=c10 | jq -c --arg ip "$UP_NODE4" \
		'.spec.hostNetwork = true | .status += {podIP: $ip, podIPs: [{ip: $ip}]}')"
	# before podwall: open
	expect_allowed pb1 "$SRV_B" 443
	api_current
	k8s_agent_start "$K/$API_NAME.kubeconfig" --cni-conflist "$CONFLIST" || fail "agent did not start"
	within 20 k8s_synced || fail "no sync"
	# registered before the agent says it is synced and ready (same loop step)
	ep_listed c10/pb1 || fail "pb1 not registered when the agent was ready: $(agent_cli endpoints -o json | jq -c '[.[] | .pod]')"
	ep_listed c10/pb2 || fail "pb2 not registered"
	[ "$(readyz_code)" = 200 ] || fail "/readyz $(readyz_code) after the sync"
	grep -q "pod c10/pb1 was running before podwall: registered from the API, host veth $(pod_veth pb1)" "$TMP/agent.log" ||
		fail "no log line for pb1's registration"
	# a policy, applied through the API
	api_policy_cidr c10 base app=c10 "$SRV_A/32:443"
	become_denied pb1 "$SRV_B" 443
	expect_allowed pb1 "$SRV_A" 443
	expect_allowed pb2 "$SRV_B" 443
	[ "$(endpoint_mode "$(pod_ifindex pb1)")" = 0 ] || fail "pb1's pw_endpoints entry is not enforce"
	# the selected pod nobody can find: listed, counted, warned
	within 5 eval 'unlocated_json | jq -e "any(.[]; .pod == \"c10/ghost\" and .selected)"' || true
	u=$(unlocated_json)
	e2e_log "unlocated: $u"
	jq -e 'any(.[]; .pod == "c10/ghost" and .selected == true and (.reason | test("10.42.0.241")))' <<<"$u" >/dev/null ||
		fail "c10/ghost not reported by podwall status: $u"
	jq -e 'any(.[]; .pod == "c10/hostnet") | not' <<<"$u" >/dev/null || fail "a hostNetwork pod was reported: $u"
	agent_cli status | out_has "NOT ENFORCED pod c10/ghost" || fail "podwall status (table) does not show c10/ghost"
	[ "$(metric_value 'podwall_pods_unlocated{selected="true"}')" = 1 ] ||
		fail "metric podwall_pods_unlocated{selected=\"true\"} = '$(metric_value 'podwall_pods_unlocated{selected="true"}')'"
	grep -q "pod c10/ghost of this node is selected by a policy but NOT ENFORCED" "$TMP/agent.log" ||
		fail "no warning for c10/ghost in agent.log"
	sleep 11 # one reconcile period later: said once, not at every reconcile
	[ "$(grep -c "pod c10/ghost of this node is selected by a policy but NOT ENFORCED" "$TMP/agent.log")" = 1 ] ||
		fail "the warning repeats at every reconcile"
	# the runtime's own ADD for pb1 (the conflist chained): the endpoint stays, under the ADD's id
	cni_podwall_conf "$(cat "$TMP/pods/pb1/labels")" "$(cat "$TMP/pods/pb1/bridge.result")" >"$TMP/pods/pb1/podwall.conf"
	_cni_exec "$PODWALL_CNI" ADD pb1 <"$TMP/pods/pb1/podwall.conf" >"$TMP/pods/pb1/podwall.result" ||
		fail "podwall-cni ADD for the registered pod pb1 failed: $(cat "$TMP/pods/pb1/podwall.result")"
	echo 1 >"$TMP/pods/pb1/enforced"
	expect_denied pb1 "$SRV_B" 443
	agent_cli endpoints -o json | jq -e --arg id "$(cat "$TMP/pods/pb1/id")" \
		'(if type == "array" then . else .endpoints end) | any(.[]; .pod == "c10/pb1" and .container_id == $id)' >/dev/null ||
		fail "pb1 is not under the runtime's container id after its ADD"
	# a pod that starts later without podwall-cni: found at a reconcile (every 10 s)
	cni_add_plain pb3 c10 pb3 || fail "pod pb3"
	api_pod_ip pb3 c10 pb3 app=c10
	become_denied pb3 "$SRV_B" 443 25
	expect_allowed pb3 "$SRV_A" 443
	api_delete pods c10 ghost
	api_delete pods c10 hostnet
	within 15 eval '[ "$(unlocated_json)" = "[]" ]' || fail "c10/ghost still listed after its deletion: $(unlocated_json)"
}
cleanup_pods_before_podwall() {
	local p
	for p in pb1 pb2 pb3; do
		[ -d "$TMP/pods/$p" ] && cni_del "$p"
	done
	# (ctl fails the shell on an object already gone: each in a subshell)
	(api_delete egresspolicies c10 base) >/dev/null 2>&1 || true
	for p in pb1 pb2 pb3 ghost hostnet; do (api_delete pods c10 "$p") >/dev/null 2>&1 || true; done
	# their endpoints go at the next reconcile (their veths are gone): wait, so
	# that the next case starts from a settled state
	within 15 eval 'agent_cli endpoints -o json >"$K/eps.json" && ! grep -q "\"c10/" "$K/eps.json"' ||
		echo "cleanup: c10 endpoints remain: $(grep -o '"c10/[a-z0-9]*' "$K/eps.json" | tr '\n' ' ')" >&2
	true
}

# soft: record a failed expectation and go on (a case that must show every
# deviation, not only the first); soft_done fails the case if any was recorded.
SOFT_FAILS=()
soft() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		e2e_log "ok: $what"
	else
		SOFT_FAILS+=("$what")
		printf 'FAILED: %s\n' "$what" >&2
	fi
}
soft_done() {
	[ ${#SOFT_FAILS[@]} = 0 ] && return 0
	fail "$(printf '%s; ' "${SOFT_FAILS[@]}")"
}

# check_c6 PHASE: what must hold before, during and after the outage. The
# checks run side by side (a denial costs a timeout), so the outage stays short.
check_c6() {
	local p=$1 i=0 pids=() f
	rm -f "$K"/chk.*
	_chk() { # FILE WHAT CMD...
		local f=$1 what=$2
		shift 2
		if "$@" >/dev/null 2>&1; then echo "ok: $what" >"$f"; else echo "FAILED: $what" >"$f"; fi
	}
	_chk "$K/chk.1" "$p: c6 -> $SRV_A:443 connects" allowed c6 "$SRV_A" 443 &
	pids+=($!)
	_chk "$K/chk.2" "$p: c6 -> $SRV_B:443 denied" denied c6 "$SRV_B" 443 &
	pids+=($!)
	_chk "$K/chk.3" "$p: c6 -> $SRV_A:80 denied" denied c6 "$SRV_A" 80 &
	pids+=($!)
	_chk "$K/chk.4" "$p: c6 DNS via the trusted resolver $SERVICE_IP answered" \
		dns_gets c6 "$SERVICE_IP" allowed.example.test "$SRV_A" &
	pids+=($!)
	_chk "$K/chk.5" "$p: c6 DNS to $ROGUE_DNS denied" dns_blocked c6 "$ROGUE_DNS" allowed.example.test &
	pids+=($!)
	_chk "$K/chk.6" "$p: c6o (no policy) -> $SRV_B:443 connects" allowed c6o "$SRV_B" 443 &
	pids+=($!)
	wait "${pids[@]}"
	for ((i = 1; i <= 6; i++)); do
		f=$K/chk.$i
		[ -s "$f" ] || echo "FAILED: $p: check $i gave no result" >"$f"
		if grep -q '^ok: ' "$f"; then
			e2e_log "$(cat "$f")"
		else
			cat "$f" >&2
			SOFT_FAILS+=("$(sed 's/^FAILED: //' "$f")")
		fi
	done
}

# maps_same A B: equal snapshots; otherwise the differing entries, shortened.
maps_same() {
	diff "$1" "$2" >"$2.diff" && return 0
	grep -E '^(<|>|==)' "$2.diff" | cut -c1-240 >&2
	return 1
}

case_restart_api_down() {
	need_agent
	local obj res i t_up t_sync t_agent add_t0 add_dt code s
	SOFT_FAILS=()
	# --- a previous agent run enforces a selected and an unselected pod
	api_pod c6 p6 app=c6
	api_pod c6 p6open app=none
	# the CIDR rule, and the name the DNS checks ask for (a name no rule
	# grants is answered REFUSED by the kernel and never reaches the resolver)
	api_apply egresspolicies "$(jq -cn --arg c "$SRV_A/32" \
		'{apiVersion:"podwall.io/v1alpha1",kind:"EgressPolicy",metadata:{namespace:"c6",name:"base"},
		  spec:{podSelector:{matchLabels:{app:"c6"}},mode:"enforce",
		        egress:[{toCIDRs:[{cidr:$c}],ports:[{port:443,protocol:"TCP"}]},
		                {toFQDNs:[{matchName:"allowed.example.test"}],ports:[{port:443,protocol:"TCP"}]}]}}')"
	cni_add c6 c6 p6 || fail "CNI ADD c6 failed"
	cni_add c6o c6 p6open || fail "CNI ADD c6o failed"
	within 10 eval 'test "$(ep_policies c6)" = c6/base' || fail "c6 policies: '$(ep_policies c6)'"
	check_c6 before
	soft_done # the baseline must hold, or the rest means nothing
	map_snapshot "$K/maps.before"
	# --- stop it (SIGTERM); the API goes away; a new API server, down
	agent_stop || fail "agent did not stop on SIGTERM"
	soft "first agent exited 0 on SIGTERM (status $(cat "$TMP/agent.rc" 2>/dev/null))" \
		test "$(cat "$TMP/agent.rc" 2>/dev/null)" = 0
	for res in pods services endpointslices egresspolicies nodes; do
		ctl_get "state?resource=$res" | jq -c '.items[]' >"$K/state.$res"
	done
	bg_kill "api-$API_NAME"
	api_start b --api-down
	for res in pods services endpointslices egresspolicies nodes; do
		while read -r obj; do
			api_apply "$res" "$(jq -c 'del(.metadata.resourceVersion, .metadata.managedFields)' <<<"$obj")"
		done <"$K/state.$res"
	done
	api_pod c6 p6new app=c6 # the pod whose ADD comes during the outage
	# --- the agent restarts before the API is reachable
	k8s_agent_start "$K/b.kubeconfig" || fail "agent did not start against a down API"
	t_agent=$(now_ms)
	s=$(agent_cli status -o json) || [ $? = 4 ] || fail "status failed during the outage"
	e2e_log "status during the outage: $(jq -c .kubernetes <<<"$s")"
	soft "down: kubernetes.synced false" test "$(jq -r .kubernetes.synced <<<"$s")" = false
	code=$(readyz_code)
	soft "down: /readyz 503 (got $code)" test "$code" = 503
	map_snapshot "$K/maps.down"
	if maps_same "$K/maps.before" "$K/maps.down"; then
		e2e_log "ok: down: pinned maps unchanged (pw_endpoints, pw_cidr4/6, pw_ports, pw_resolvers, pw_guard4/6)"
	else
		SOFT_FAILS+=("down: pinned maps changed (diff above)")
		echo "FAILED: down: pinned maps changed while the API was down (< before, > now)" >&2
	fi
	soft "down: node2's address kept in the guard until the sync (pinned)" test \
		"$(jq -r --arg p "$G_N2_IP/32" '[(.guard.prefixes // [])[] | select(.prefix == $p) | .source] | first' <<<"$s")" = \
		"pinned (until the first API sync)"
	check_c6 down
	# a new pod's CNI ADD, in the background: it must wait. (Issued late in
	# the outage: the agent's API retries back off, and the agent answers an
	# ADD within 10 s, so a long outage before it would test the backoff.)
	(
		rc=0
		cni_add c6n c6 p6new || rc=$?
		now_ms >"$K/c6n.done"
		echo $rc >"$K/c6n.rc"
	) >"$K/c6n.out" 2>&1 &
	within 10 grep -q 'ADD podwall-cni c6n' "$TMP/cni.log" || fail "podwall-cni ADD for c6n never started: $(tail -3 "$K/c6n.out")"
	add_t0=$(now_ms)
	sleep 1.5
	soft "down: CNI ADD still waiting $(($(now_ms) - add_t0)) ms after it started" test ! -e "$K/c6n.rc"
	[ -e "$K/c6n.rc" ] && e2e_log "ADD returned rc $(cat "$K/c6n.rc") after $(($(cat "$K/c6n.done") - add_t0)) ms: $(tail -3 "$K/c6n.out")"
	code=$(readyz_code)
	soft "down: /readyz still 503 before api-up (got $code)" test "$code" = 503
	soft "down: still not synced before api-up" test "$(agent_cli status -o json | jq -r .kubernetes.synced)" = false
	e2e_log "outage as seen by the agent: $(($(now_ms) - t_agent)) ms"
	# --- the API comes up
	t_up=$(now_ms)
	ctl api-up
	within 30 k8s_synced || fail "$(printf '%s; ' "${SOFT_FAILS[@]}")not synced 30 s after the API came up"
	t_sync=$(now_ms)
	e2e_log "synced $((t_sync - t_up)) ms after api-up ($(agent_cli status -o json | jq -c .kubernetes))"
	soft "up: /readyz 200" within 5 eval 'test "$(readyz_code)" = 200'
	for ((i = 0; i < 150; i++)); do
		[ -e "$K/c6n.rc" ] && break
		sleep 0.2
	done
	wait
	if [ -e "$K/c6n.rc" ]; then
		add_dt=$(($(cat "$K/c6n.done") - add_t0))
		e2e_log "CNI ADD returned rc $(cat "$K/c6n.rc") $add_dt ms after it started (api-up at $((t_up - add_t0)) ms, synced at $((t_sync - add_t0)) ms)"
		soft "up: CNI ADD completed ok" test "$(cat "$K/c6n.rc")" = 0
		[ "$(cat "$K/c6n.rc")" = 0 ] || e2e_log "ADD output: $(tr '\n' ' ' <"$TMP/pods/c6n.failed" 2>/dev/null)"
	else
		soft "up: CNI ADD returned within 30 s of api-up" false
	fi
	if [ -d "$TMP/pods/c6n" ]; then
		soft "up: new pod c6n -> $SRV_A:443 connects" allowed c6n "$SRV_A" 443
		soft "up: new pod c6n -> $SRV_B:443 denied" denied c6n "$SRV_B" 443
		soft "up: c6n selected by c6/base" test "$(ep_policies c6n)" = c6/base
	fi
	check_c6 after
	map_snapshot "$K/maps.after"
	diff "$K/maps.before" "$K/maps.after" >"$K/maps.after.diff" || true
	soft_done
}

# An idle connection allowed when it was opened, revoked by a policy change
# before its next packet, must stay revoked across an agent restart (flows
# are re-checked when the endpoint's policy generation differs from theirs).
case_restart_stale_flow() {
	need_agent
	local idle=$REPO/tests/k8s/agent_e2e_idle.py gen
	api_pod c9 p9 app=c9
	api_policy_cidr c9 base app=c9 "$SRV_A/32:443 $SRV_A/32:9000"
	cni_add c9 c9 p9 || fail "CNI ADD c9 failed"
	expect_allowed c9 "$SRV_A" 443
	# two idle echo connections, opened while port 9000 is granted
	in_pod c9 timeout 100 "$PY" "$idle" "$SRV_A" 9000 "$K/trig1" --seconds 90 >"$K/idle1.out" 2>&1 &
	in_pod c9 timeout 100 "$PY" "$idle" "$SRV_A" 9000 "$K/trig2" --seconds 90 >"$K/idle2.out" 2>&1 &
	within 5 grep -q established "$K/idle1.out" || fail "idle connection 1: $(cat "$K/idle1.out")"
	within 5 grep -q established "$K/idle2.out" || fail "idle connection 2: $(cat "$K/idle2.out")"
	gen=$(endpoint_gen c9)
	# port 9000 revoked through the API
	api_policy_cidr c9 base app=c9 "$SRV_A/32:443"
	within 10 eval 'test "$(endpoint_gen c9)" != "$gen"' || fail "policy change not applied"
	become_denied c9 "$SRV_A" 9000
	e2e_log "policy_gen: $gen when the connections opened, $(endpoint_gen c9) after the change"
	# the control: without a restart the idle connection is cut on its next packet
	touch "$K/trig1"
	within 5 grep -qE 'echoed|blocked' "$K/idle1.out" || fail "idle connection 1 gave no result"
	grep -q blocked "$K/idle1.out" || fail "idle connection 1 still passes after the policy change: $(cat "$K/idle1.out")"
	e2e_log "ok: idle connection 1 blocked after the change (no restart)"
	# restart the agent (SIGTERM, same API): nothing revoked may come back
	agent_stop || fail "agent did not stop"
	[ "$(cat "$TMP/agent.rc" 2>/dev/null)" = 0 ] || fail "agent exit status $(cat "$TMP/agent.rc" 2>/dev/null)"
	api_current
	k8s_agent_start "$K/$API_NAME.kubeconfig" || fail "agent did not restart"
	within 20 k8s_synced || fail "no sync after the restart"
	sleep 0.5
	e2e_log "policy_gen after the restart: $(endpoint_gen c9)"
	touch "$K/trig2"
	within 5 grep -qE 'echoed|blocked' "$K/idle2.out" || fail "idle connection 2 gave no result"
	wait
	expect_denied c9 "$SRV_A" 9000
	grep -q blocked "$K/idle2.out" ||
		fail "a connection revoked before the restart passes again after it: $(tail -1 "$K/idle2.out") (policy_gen $gen when opened, back to $(endpoint_gen c9) after the restart; new connections to $SRV_A:9000 are denied)"
	e2e_log "ok: idle connection 2 blocked after the restart"
}

# pol_error NS/NAME: the agent's error for that policy object ("" if none).
pol_error() {
	agent_cli policies -o json 2>/dev/null |
		jq -r --arg s "k8s:$1" '.errors[] | select(.source == $s) | .error'
}

# A version of a policy the agent refuses (host bits in a CIDR, an unknown
# field kept by the CRD) leaves the last good version in force, also after an
# agent restart: it is kept in the state directory. A brand-new refused
# policy shows its error too.
case_refused_kept() {
	need_agent
	local bad
	api_pod c10 p10 app=c10
	api_policy_cidr c10 base app=c10 "$SRV_A/32:443"
	cni_add c10 c10 p10 || fail "CNI ADD c10 failed"
	within 10 eval 'test "$(ep_policies c10)" = c10/base' || fail "c10 policies: '$(ep_policies c10)'"
	expect_denied c10 "$SRV_B" 443
	# refused: host bits set beyond the prefix (would open SRV_B's /24)
	api_policy_cidr c10 base app=c10 "$SRV_A/32:443 $SRV_B/24:443"
	within 10 eval 'test -n "$(pol_error c10/base)"' || fail "no error shown for the refused c10/base"
	e2e_log "refused: $(pol_error c10/base)"
	pol_error c10/base | out_has 'toCIDRs' || fail "the error names no field: $(pol_error c10/base)"
	expect_denied c10 "$SRV_B" 443
	expect_allowed c10 "$SRV_A" 443
	# brand-new and refused: a misspelt field the API server kept
	bad=$(jq -cn '{apiVersion:"podwall.io/v1alpha1",kind:"EgressPolicy",
		metadata:{namespace:"c10",name:"typo"},
		spec:{podSelector:{matchLabel:{app:"c10"}},egress:[]}}')
	api_apply egresspolicies "$bad"
	within 10 eval 'test -n "$(pol_error c10/typo)"' || fail "no error shown for the brand-new refused c10/typo"
	pol_error c10/typo | out_has 'matchLabel' || fail "c10/typo error: $(pol_error c10/typo)"
	e2e_log "brand-new refused: $(pol_error c10/typo)"
	agent_cli policies | out_has '^ERROR .*c10/typo' || fail "podwall policies shows no ERROR line for c10/typo"
	# restart: the refused version is what the API has; the last good one stays
	agent_stop || fail "agent did not stop"
	api_current
	k8s_agent_start "$K/$API_NAME.kubeconfig" || fail "agent did not restart"
	within 20 k8s_synced || fail "no sync after the restart"
	within 10 eval 'test "$(ep_policies c10)" = c10/base' || fail "after restart c10 policies: '$(ep_policies c10)' (fail-open)"
	expect_denied c10 "$SRV_B" 443
	expect_allowed c10 "$SRV_A" 443
	test -n "$(pol_error c10/base)" || fail "after restart no error shown for c10/base"
	test -n "$(pol_error c10/typo)" || fail "after restart no error shown for c10/typo"
	e2e_log "podwall policies after the restart:
$(agent_cli policies)"
	# a valid version replaces it and clears the error
	api_policy_cidr c10 base app=c10 "$SRV_A/32:443 $SRV_B/32:443"
	become_allowed c10 "$SRV_B" 443
	within 10 eval 'test -z "$(pol_error c10/base)"' || fail "error still shown: $(pol_error c10/base)"
	# deleted and re-created under the same name, refused: the old rules are
	# not the new object's (nothing selects the pod but what is valid)
	api_delete egresspolicies c10 base
	api_delete egresspolicies c10 typo
	become_allowed c10 "$SRV_C" 443
	ls "$TMP/state/policy-cache/k8s/" >&2 2>/dev/null
	test ! -e "$TMP/state/policy-cache/k8s/c10_base.json" || fail "cache of the deleted c10/base kept"
}

# metric NAME: the sample lines of that metric.
metric() { in_node curl -sf -m 3 "http://$METRICS/metrics" | grep -E "^$1(\{| )"; }
api_cond() { agent_cli status -o json | jq -r '.kubernetes.conditions[] | select(.type == "APIConnected") | "\(.status) \(.reason)"'; }
cond_is() { [ "$(api_cond)" = "$*" ]; }

# Losing the API (401, 403, unreachable) shows in status, a metric and a
# condition; /readyz stays 200 (the node enforces what it has).
case_api_lost() {
	need_agent
	api_current
	within 10 cond_is True Connected || fail "condition before: $(api_cond)"
	metric podwall_kubernetes_api_up | out_has ' 1$' || fail "metric before: $(metric podwall_kubernetes_api_up)"
	# 403 on egresspolicies (a Role that lost the permission)
	ctl config '{"forbid": ["egresspolicies"]}'
	ctl drop-watches
	within 15 cond_is False Forbidden || fail "403: condition $(api_cond)"
	e2e_log "403: $(agent_cli status | grep 'kubernetes API')"
	agent_cli status | out_has 'kubernetes API: Forbidden since' || fail "403 not in podwall status"
	metric podwall_kubernetes_api_up | out_has 'reason="Forbidden"} 0$' ||
		fail "403: metric $(metric podwall_kubernetes_api_up)"
	[ "$(readyz_code)" = 200 ] || fail "403: /readyz $(readyz_code)"
	ctl config '{"forbid": []}'
	# 401: the token no longer valid
	ctl rotate-token '{"token": "tok-nobody"}'
	ctl drop-watches
	within 15 cond_is False Unauthorized || fail "401: condition $(api_cond)"
	metric podwall_kubernetes_api_up | out_has 'reason="Unauthorized"} 0$' ||
		fail "401: metric $(metric podwall_kubernetes_api_up)"
	[ "$(readyz_code)" = 200 ] || fail "401: /readyz $(readyz_code)"
	e2e_log "401: $(agent_cli status | grep 'kubernetes API')"
	ctl rotate-token "$(jq -cn --arg t "$(cat "$K/$API_NAME.client-token")" '{token:$t}')"
	within 20 cond_is True Connected || fail "not connected again: $(api_cond)"
	metric podwall_kubernetes_api_up | out_has 'reason="Connected"} 1$' || fail "metric after: $(metric podwall_kubernetes_api_up)"
}

# egp_status NS NAME: the policy's status as the fake API server holds it.
egp_status() {
	ctl_get "state?resource=egresspolicies" |
		jq -c --arg ns "$1" --arg n "$2" '.items[] | select(.metadata.namespace == $ns and .metadata.name == $n) |
			{gen: .metadata.generation, status: (.status // {})}'
}
# status_is NS NAME JQ: the jq test holds on {gen, status}.
status_is() { egp_status "$1" "$2" | jq -e "$3" >/dev/null; }
cond() { # the condition TYPE's "status reason" in {gen, status}
	printf '.status.conditions[] | select(.type == "%s")' "$1"
}

# The status subresource: this node's entry, the Lease holder's summary
# (observedGeneration, Accepted, Enforced, selectedPods), a refused version
# (Accepted False with the field path, a PolicyRefused Event), another node's
# entry kept and counted.
case_policy_status() {
	need_agent
	api_pod c11 p11 app=c11
	api_policy_cidr c11 st app=c11 "$SRV_A/32:443"
	cni_add c11 c11 p11 || fail "CNI ADD c11 failed"
	within 20 status_is c11 st '.status.nodes.node1.pods == 1 and .status.nodes.node1.appliedGeneration == .gen' ||
		fail "no node entry: $(egp_status c11 st)"
	within 20 status_is c11 st "(.status.observedGeneration == .gen) and .status.selectedPods == 1 and
		($(cond Accepted) | .status == \"True\") and ($(cond Enforced) | .status == \"True\")" ||
		fail "no summary: $(egp_status c11 st)"
	e2e_log "status: $(egp_status c11 st)"
	ctl_get "state?resource=leases" | jq -e '.items[] | select(.metadata.name == "podwall-status") |
		.spec.holderIdentity == "node1"' >/dev/null || fail "no Lease held by node1: $(ctl_get "state?resource=leases")"
	# a refused version: Accepted False with the field, Enforced False, an Event
	api_policy_cidr c11 st app=c11 "$SRV_A/32:443 $SRV_B/24:443"
	within 20 status_is c11 st "(.status.observedGeneration == .gen) and ($(cond Accepted) |
		.status == \"False\" and .reason == \"Refused\" and (.message | test(\"toCIDRs\")))" ||
		fail "refusal not in status: $(egp_status c11 st)"
	status_is c11 st "$(cond Enforced) | .status == \"False\"" || fail "Enforced not False: $(egp_status c11 st)"
	within 10 eval 'ctl_get "state?resource=events" | jq -e ".items[] | select(.reason == \"PolicyRefused\" and
		.involvedObject.name == \"st\" and (.message | test(\"toCIDRs\")))" >/dev/null' ||
		fail "no PolicyRefused event: $(ctl_get "state?resource=events" | head -c 600)"
	e2e_log "refused: $(egp_status c11 st | jq -c "$(cond Accepted)")"
	expect_denied c11 "$SRV_B" 443
	# fixed: accepted again
	api_policy_cidr c11 st app=c11 "$SRV_A/32:443 $SRV_B/32:443"
	within 20 status_is c11 st "(.status.observedGeneration == .gen) and ($(cond Accepted) | .status == \"True\") and
		($(cond Enforced) | .status == \"True\") and .status.nodes.node1.appliedGeneration == .gen" ||
		fail "not accepted again: $(egp_status c11 st)"
	# another node's entry (its agent's own merge patch): kept, and counted
	in_node curl -sf -m 5 -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-H "Authorization: Bearer $(cat "$K/$API_NAME.client-token")" \
		"http://127.0.0.1:$API/apis/podwall.io/v1alpha1/namespaces/c11/egresspolicies/st/status" \
		-d '{"status":{"nodes":{"node2":{"observedGeneration":1,"appliedGeneration":1,"pods":2,"enforced":true}}}}' \
		>/dev/null || fail "PATCH of node2's entry failed"
	within 20 status_is c11 st ".status.selectedPods == 3 and .status.nodes.node2.pods == 2 and
		($(cond Enforced) | .status == \"False\" and (.message | test(\"node2\")))" ||
		fail "node2 not counted: $(egp_status c11 st)"
	e2e_log "with node2 behind: $(egp_status c11 st | jq -c '[.status.selectedPods, .status.conditions[1].message]')"
	# a label change moves the pod out: this node's count follows
	api_pod c11 p11 app=c11-out
	within 20 status_is c11 st '.status.nodes.node1.pods == 0 and .status.selectedPods == 2' ||
		fail "pods not updated: $(egp_status c11 st)"
}

case_sanitizers_clean() {
	local rc
	agent_stop || fail "agent did not stop on SIGTERM"
	rc=$(cat "$TMP/agent.rc" 2>/dev/null)
	[ "$rc" = 0 ] || fail "agent exit status $rc on SIGTERM"
	sanitizers_clean "$TMP/agent.log" "$TMP"/*.err "$TMP/cni.log"
}

# api_namespace NAME k=v...: a Namespace with those labels.
api_namespace() {
	local name=$1 kv labels='{}'
	shift
	for kv in "$@"; do
		labels=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$labels")
	done
	api_apply namespaces "$(jq -cn --arg n "$name" --argjson l "$labels" \
		'{apiVersion:"v1",kind:"Namespace",metadata:{name:$n,labels:$l}}')"
}

# A ClusterEgressPolicy selects the pods of the namespaces its
# namespaceSelector matches; a namespace label change moves them in and out at
# once; its grants add up with a namespaced policy's.
case_cluster_policy() {
	need_agent
	api_namespace c12 tier=agents
	api_pod c12 p12 app=x
	api_apply clusteregresspolicies "$(jq -cn --arg a "$SRV_A/32" \
		'{apiVersion:"podwall.io/v1alpha1",kind:"ClusterEgressPolicy",metadata:{name:"baseline"},
		  spec:{namespaceSelector:{matchLabels:{tier:"agents"}},
		        egress:[{toCIDRs:[{cidr:$a}],ports:[{port:443,protocol:"TCP"}]}]}}')"
	cni_add c12 c12 p12 || fail "CNI ADD c12 failed"
	within 10 eval 'test "$(ep_policies c12)" = "*/baseline"' || fail "c12 policies: '$(ep_policies c12)'"
	expect_denied c12 "$SRV_B" 443
	expect_allowed c12 "$SRV_A" 443
	# the namespace leaves the selector: allow-all
	api_namespace c12 tier=other
	become_allowed c12 "$SRV_B" 443
	[ -z "$(ep_policies c12)" ] || fail "c12 still selected: $(ep_policies c12)"
	# and comes back: default-deny again
	api_namespace c12 tier=agents
	become_denied c12 "$SRV_B" 443
	expect_allowed c12 "$SRV_A" 443
	# a namespaced policy adds its grants
	api_policy_cidr c12 more app=x "$SRV_B/32:443"
	become_allowed c12 "$SRV_B" 443
	expect_allowed c12 "$SRV_A" 443
	api_delete egresspolicies c12 more
	become_denied c12 "$SRV_B" 443
	# deleted: nothing selects the pod
	api_delete clusteregresspolicies "" baseline
	become_allowed c12 "$SRV_B" 443
}

# api_cluster_deny NAME KEY=VALUE DENY: a ClusterEgressPolicy of the namespaces
# labelled KEY=VALUE with spec.deny DENY (a jq expression) and no egress rules.
api_cluster_deny() {
	api_apply clusteregresspolicies "$(jq -cn --arg n "$1" --arg k "${2%%=*}" --arg v "${2#*=}" \
		'{apiVersion:"podwall.io/v1alpha1",kind:"ClusterEgressPolicy",metadata:{name:$n},
		  spec:{namespaceSelector:{matchLabels:{($k):$v}},deny:'"$3"'}}')"
}

# ClusterEgressPolicy deny beats every allow on the wire (CVE-2024-47825
# pattern): a narrower deny inside a namespaced allow, then a broader deny
# around a narrower allow.
case_cluster_deny() {
	need_agent
	api_namespace c15 tier=deny
	api_pod c15 p15 app=x
	api_policy_cidr c15 open app=x "192.0.2.0/24:443"
	api_cluster_deny deny15 tier=deny '[{toCIDRs:[{cidr:"192.0.2.16/28"}]}]'
	cni_add c15 c15 p15 || fail "CNI ADD c15 failed"
	within 10 eval 'test "$(ep_policies c15 | tr , "\n" | sort | paste -sd,)" = "*/deny15,c15/open"' ||
		fail "c15 policies: '$(ep_policies c15)'"
	expect_denied c15 "$SRV_B" 443  # 192.0.2.20: inside the deny
	expect_allowed c15 "$SRV_A" 443 # 192.0.2.10: outside it
	# a broader deny around a narrower allow
	api_policy_cidr c15 open app=x "$SRV_A/32:443"
	api_cluster_deny deny15 tier=deny '[{toCIDRs:[{cidr:"192.0.2.0/24"}]}]'
	become_denied c15 "$SRV_A" 443
	expect_denied c15 "$SRV_B" 443
	# the deny goes: the allow is back
	api_delete clusteregresspolicies "" deny15
	become_allowed c15 "$SRV_A" 443
	api_delete egresspolicies c15 open
}

# A ClusterEgressPolicy deny with ports takes only those: SRV_B (192.0.2.20) is
# granted 80 and 443 by CIDR, 8080 and 8443 by name (denied.example.test, learned
# from dnsmasq's answer); the deny of 192.0.2.16/28 on 443 and 8443 leaves 80
# and 8080.
case_cluster_deny_ports() {
	need_agent
	api_namespace c16 tier=portdeny
	api_pod c16 p16 app=x
	api_policy_cidr c16 open app=x "192.0.2.0/24:80 192.0.2.0/24:443"
	api_apply egresspolicies "$(jq -cn \
		'{apiVersion:"podwall.io/v1alpha1",kind:"EgressPolicy",metadata:{namespace:"c16",name:"name"},
		  spec:{podSelector:{matchLabels:{app:"x"}},
		        egress:[{toFQDNs:[{matchName:"denied.example.test"}],ports:[{port:8080},{port:8443}]}]}}')"
	api_cluster_deny deny16 tier=portdeny \
		'[{toCIDRs:[{cidr:"192.0.2.16/28"}],ports:[{port:443},{port:8443}]}]'
	cni_add c16 c16 p16 || fail "CNI ADD c16 failed"
	within 10 eval 'test "$(ep_policies c16 | tr , "\n" | sort | paste -sd,)" = "*/deny16,c16/name,c16/open"' ||
		fail "c16 policies: '$(ep_policies c16)'"
	expect_denied c16 "$SRV_B" 443  # the denied port
	expect_allowed c16 "$SRV_B" 80  # another port of the same address
	expect_allowed c16 "$SRV_A" 443 # 192.0.2.10: outside the deny
	expect_denied c16 "$SRV_B" 8080 # nothing learned yet
	dns_gets c16 "$SERVICE_IP" denied.example.test "$SRV_B" || fail "denied.example.test not answered"
	expect_allowed c16 "$SRV_B" 8080 # learned, a port the deny leaves
	expect_denied c16 "$SRV_B" 8443  # learned, but the deny takes that port
	# the deny goes: every granted port is back, the learned one included
	api_delete clusteregresspolicies "" deny16
	become_allowed c16 "$SRV_B" 443
	become_allowed c16 "$SRV_B" 8443
	api_delete egresspolicies c16 open
	api_delete egresspolicies c16 name
}

# ---- the rebinding guard from the API
# Addresses that only the API can guard (public documentation ranges, so no
# built-in private range covers them), and the names the cluster DNS answers.
G_N2_IP=203.0.113.77     # node2's InternalIP
G_N2_POD=198.51.100.140  # in node2's podCIDR 198.51.100.128/25
G_N2_POD2=198.51.100.70  # in node2's podCIDR once changed: 198.51.100.64/26
G_SVC_IP=203.0.113.201   # the kubernetes Service's ClusterIP
G_N3_IP=203.0.113.88     # node3 (added later)'s InternalIP
G_N3_IP2=203.0.113.89    # node3's InternalIP, changed while the watch was gone
guard_hosts() {
	cat >>"$TMP/dns.hosts" <<-EOF
		$G_N2_IP n2ip.guard.example.test
		$G_N2_POD n2pod.guard.example.test
		$G_N2_POD2 n2pod2.guard.example.test
		$G_SVC_IP kubesvc.guard.example.test
		$G_N3_IP n3ip.guard.example.test
		$G_N3_IP2 n3ip2.guard.example.test
		$SRV_A public.guard.example.test
	EOF
	kill -HUP "$(cat "$TMP/pids/dnsmasq")"
	wait_until 10 eval '[ "$(in_node dig +time=1 +tries=1 +short @"$DNS4" n3ip2.guard.example.test A)" = "$G_N3_IP2" ]' ||
		fail "dnsmasq did not reload its hosts"
}

# api_node NAME "POD_CIDR..." "TYPE=ADDR...": a Node.
api_node() {
	local cidrs addrs kv
	cidrs=$(printf '%s\n' $2 | jq -R . | jq -sc 'map(select(length > 0))')
	addrs='[]'
	for kv in $3; do
		addrs=$(jq -c --arg t "${kv%%=*}" --arg a "${kv#*=}" '. + [{type:$t,address:$a}]' <<<"$addrs")
	done
	api_apply nodes "$(jq -cn --arg n "$1" --argjson c "$cidrs" --argjson a "$addrs" \
		'{apiVersion:"v1",kind:"Node",metadata:{name:$n},
		  spec:({podCIDRs:$c} + (if ($c | length) > 0 then {podCIDR:$c[0]} else {} end)),
		  status:{addresses:($a + [{type:"Hostname",address:$n}])}}')"
}
api_kubernetes_service() {
	api_apply services "$(jq -cn --arg ip "$1" \
		'{apiVersion:"v1",kind:"Service",metadata:{namespace:"default",name:"kubernetes"},
		  spec:{clusterIP:$ip,clusterIPs:[$ip],type:"ClusterIP",ports:[{name:"https",port:443,protocol:"TCP"}]}}')"
}

# guard_source PREFIX: where `podwall status` says the guard's PREFIX came from.
guard_source() {
	agent_cli status -o json 2>/dev/null | jq -r --arg p "$1" '[(.guard.prefixes // [])[] | select(.prefix == $p) | .source] | first // ""'
}
guard_from() { [ "$(guard_source "$1")" = "$2" ]; }
# in_learned ADDR: pw_learned holds ADDR (for any pod), by the kernel map.
in_learned() {
	local hex
	hex=$("$PY" -c 'import socket,sys
a=sys.argv[1]
b=socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a)
print(",".join(str(x) for x in b.ljust(16, b"\0")))' "$1")
	bpftool -j map dump pinned "$PIN/pw_learned" 2>/dev/null | jq -e --arg h "$hex" \
		'any(.[]; ((.formatted.key.addr.v6 // []) | map(tostring) | join(",")) == $h)' >/dev/null
}
# refused NAME ADDR: the answer reaches the pod, ADDR is not learned, a dns-private event.
refused() {
	dns_gets c13 "$SERVICE_IP" "$1" "$2" || fail "$1: the answer $2 did not reach the pod"
	in_learned "$2" && fail "BYPASS: $1 -> $2 learned (the API's guard is missing it)"
	agent_cli fqdn --pod c13/p13 | out_has -F "$2" && fail "BYPASS: $1 -> $2 in the agent's learned set"
	within 5 event_seen drop "$2" 0 dns-private c13 || fail "$1 -> $2: no dns-private event"
	e2e_log "ok: $1 -> $2 answered, not learned (dns-private)"
}
# learned NAME ADDR: the answer reaches the pod and ADDR is learned.
learned() {
	dns_gets c13 "$SERVICE_IP" "$1" "$2" || fail "$1: the answer $2 did not reach the pod"
	within 5 in_learned "$2" || fail "$1 -> $2 was not learned"
	e2e_log "ok: $1 -> $2 learned"
}

case_rebinding_guard_api() {
	need_agent
	local l0 g0
	api_pod c13 p13 app=c13
	api_apply egresspolicies "$(jq -cn '{apiVersion:"podwall.io/v1alpha1",kind:"EgressPolicy",
		metadata:{namespace:"c13",name:"guard"},
		spec:{podSelector:{matchLabels:{app:"c13"}},
		      egress:[{toFQDNs:[{matchPattern:"*.guard.example.test"}],ports:[{port:443,protocol:"TCP"}]}]}}')"
	cni_add c13 c13 p13 || fail "CNI ADD c13 failed"
	within 10 eval 'test "$(ep_policies c13)" = c13/guard' || fail "c13 not selected: '$(ep_policies c13)'"
	refused n2ip.guard.example.test "$G_N2_IP"
	refused n2pod.guard.example.test "$G_N2_POD"
	refused kubesvc.guard.example.test "$G_SVC_IP"
	learned public.guard.example.test "$SRV_A"
	expect_allowed c13 "$SRV_A" 443
	# the ranges of the first list, with their sources
	guard_from "$G_N2_IP/32" api:node/node2 || fail "status: $G_N2_IP/32 from '$(guard_source "$G_N2_IP/32")'"
	guard_from 198.51.100.128/25 api:node/node2 || fail "status: node2's podCIDR from '$(guard_source 198.51.100.128/25)'"
	guard_from "$G_SVC_IP/32" api:service/default/kubernetes ||
		fail "status: the kubernetes ClusterIP from '$(guard_source "$G_SVC_IP/32")'"
	guard_from 10.42.0.0/24 api:node/node1 || fail "status: node1's podCIDR from '$(guard_source 10.42.0.0/24)'"
	# a Node added, and one changed, through the watch
	api_node node3 "" "InternalIP=$G_N3_IP"
	api_node node2 "198.51.100.64/26" "InternalIP=$G_N2_IP"
	within 10 guard_from "$G_N3_IP/32" api:node/node3 || fail "node3 (watch ADDED) not in the guard"
	within 10 guard_from 198.51.100.64/26 api:node/node2 || fail "node2's new podCIDR (watch MODIFIED) not in the guard"
	within 10 eval '[ -z "$(guard_source 198.51.100.128/25)" ]' || fail "node2's old podCIDR still guarded"
	refused n3ip.guard.example.test "$G_N3_IP"
	refused n2pod2.guard.example.test "$G_N2_POD2"
	learned n2pod.guard.example.test "$G_N2_POD" # no longer a pod CIDR
	# 410: changes in the gap (node3 moved, node2 deleted), the relist applies them
	l0=$(api_stats | jq '.lists.nodes // 0')
	g0=$(api_stats | jq '.gone')
	ctl config '{"pause_watches": true}'
	api_node node3 "" "InternalIP=$G_N3_IP2"
	api_delete nodes "" node2
	ctl compact
	ctl drop-watches
	ctl config '{"pause_watches": false}'
	within 15 guard_from "$G_N3_IP2/32" api:node/node3 || fail "node3's new address (in the 410 gap) not in the guard"
	within 10 eval '[ -z "$(guard_source "$G_N2_IP/32")" ]' || fail "deleted node2 still guarded after the relist"
	[ "$(api_stats | jq '.gone')" -gt "$g0" ] || fail "the server answered no 410"
	[ "$(api_stats | jq '.lists.nodes // 0')" -gt "$l0" ] || fail "the agent did not list nodes again after 410"
	guard_from "$G_SVC_IP/32" api:service/default/kubernetes || fail "the kubernetes ClusterIP lost in the relist"
	refused n3ip2.guard.example.test "$G_N3_IP2"
	refused kubesvc.guard.example.test "$G_SVC_IP"
	learned n2ip.guard.example.test "$G_N2_IP" # node2 is gone
	agent_cli status | grep -A6 '^rebinding guard' >&2
}

# pod_events_json POD REASON: the Events on that pod with that reason.
pod_events_json() {
	ctl_get "state?resource=events" | jq -c --arg p "$1" --arg r "$2" \
		'[.items[] | select(.involvedObject.kind == "Pod" and .involvedObject.name == $p and .reason == $r)]'
}
pod_events_are() { pod_events_json "$1" "$2" | jq -e "$3" >/dev/null; }

case_pod_events() {
	need_agent
	local v ev
	api_policy_cidr c17 ev app=c17 "$SRV_A/32:443"
	api_apply pods "$(pod_obj c17 ghost17 app=c17 | jq -c '.status += {podIP: "10.42.0.243", podIPs: [{ip: "10.42.0.243"}]}')"
	# after the grace (10 s) and a reconcile (10 s): one Warning Event
	within 40 pod_events_are ghost17 PodNotEnforced 'length == 1' ||
		fail "no PodNotEnforced Event: $(ctl_get "state?resource=events" | head -c 600)"
	ev=$(pod_events_json ghost17 PodNotEnforced)
	e2e_log "event: $ev"
	jq -e '.[0] | .type == "Warning" and .involvedObject.namespace == "c17" and .count >= 1 and
		(.message | test("NOT restricted")) and (.message | test("podwall-cni")) and
		.source.host == "node1"' <<<"$ev" >/dev/null || fail "the Event says the wrong thing: $ev"
	# seen again at later reconciles: the count rises, still one Event
	within 60 pod_events_are ghost17 PodNotEnforced "length == 1 and .[0].count > $(jq '.[0].count' <<<"$ev")" ||
		fail "no series: $(pod_events_json ghost17 PodNotEnforced)"
	pod_events_are ghost17 PodNotEnforced 'length == 1' || fail "more than one Event: $(pod_events_json ghost17 PodNotEnforced)"
	e2e_log "series: $(pod_events_json ghost17 PodNotEnforced | jq -c '[.[0].count, .[0].lastTimestamp]')"
	api_delete pods c17 ghost17
	# a hook podwall cannot take back: the legacy tc path, podwall's filter
	# replaced by a u32 filter at pref 1 that links to another table
	agent_stop || fail "agent did not stop"
	k8s_agent_start "$K/$API_NAME.kubeconfig" --cni-conflist "$CONFLIST" --hook legacy || fail "agent did not start"
	within 20 k8s_synced || fail "no sync"
	api_pod c17 p17 app=c17
	cni_add c17 c17 p17 || fail "CNI ADD c17 failed"
	expect_denied c17 "$SRV_B" 443
	v=$(pod_veth c17)
	in_node tc filter del dev "$v" ingress || fail "cannot delete podwall's filter"
	in_node tc filter add dev "$v" ingress pref 1 handle 1: protocol all u32 divisor 1 &&
		in_node tc filter add dev "$v" ingress pref 1 protocol all u32 link 1: match u32 0 0 ||
		fail "cannot add the u32 filter"
	within 30 pod_events_are p17 HookConflict 'length == 1' ||
		fail "no HookConflict Event: $(ctl_get "state?resource=events" | jq -c '[.items[] | [.reason, .involvedObject.name]]')"
	ev=$(pod_events_json p17 HookConflict)
	e2e_log "event: $ev"
	jq -e --arg v "$v" '.[0] | .type == "Warning" and (.message | test("not first")) and (.message | test($v))' \
		<<<"$ev" >/dev/null || fail "the Event says the wrong thing: $ev"
	sleep 12 # another reconcile: still one
	pod_events_are p17 HookConflict 'length == 1' || fail "more than one Event: $(pod_events_json p17 HookConflict)"
	in_node tc filter del dev "$v" ingress
	cni_del c17
	api_delete egresspolicies c17 ev
	agent_stop || fail "agent did not stop"
	k8s_agent_start "$K/$API_NAME.kubeconfig" --cni-conflist "$CONFLIST" || fail "agent did not restart"
	within 20 k8s_synced || fail "no sync after the restart"
}

# ---- in-cluster peers: toServices, toEntities
# Service ClusterIPs and endpoints are documentation addresses served in the
# inet namespace (a ClusterIP here is just an address the policy grants).
SVC_IP=192.0.2.40   # s16/web's ClusterIP
SVC_EP1=192.0.2.41  # its endpoints
SVC_EP2=192.0.2.42
SVC_EP3=192.0.2.43
APISRV_EP=203.0.113.202  # the kubernetes Service's endpoint (the API server)
APISRV_EP2=203.0.113.203
DNS_EP=192.0.2.44        # a cluster DNS endpoint outside the pod network
svc_servers() {
	local a
	for a in $SVC_IP $SVC_EP1 $SVC_EP2 $SVC_EP3 $APISRV_EP $APISRV_EP2 $DNS_EP $G_SVC_IP; do
		ip -n "$INET" addr add "$a/32" dev "$UPL_INET" 2>/dev/null
	done
	bg_start svc-srv ip netns exec "$INET" "$PY" "$NETSRV" serve --log "$TMP/svc-srv.log" \
		--iface "$UPL_INET" --addrs "$SVC_IP,$SVC_EP1,$SVC_EP2,$SVC_EP3,$APISRV_EP,$APISRV_EP2,$DNS_EP,$G_SVC_IP" \
		--tcp 80,443,6443,8080,9153 --echo "" --udp "" --seconds "${E2E_TIMEOUT:-1200}"
	# the DNS pod's metrics port (CoreDNS has 9153 in its Service)
	bg_start dns-metrics ip netns exec "$(pod_ns "$DNS_POD")" "$PY" "$NETSRV" serve \
		--log "$TMP/dns-metrics.log" --iface eth0 --addrs "$DNS4" --tcp 9153 --echo "" \
		--udp "" --seconds "${E2E_TIMEOUT:-1200}"
	wait_until 10 grep -q '^ready' "$TMP/svc-srv.log" || fail "service servers did not start: $(tail -3 "$TMP/svc-srv.err")"
	wait_until 10 grep -q '^ready' "$TMP/dns-metrics.log" || fail "DNS metrics server did not start"
}

# api_service NS NAME CLUSTER_IP "PORT[:TARGET][/PROTO] ...": a Service.
api_service() {
	local ports='[]' p pt proto
	for p in $4; do
		proto=TCP
		[[ $p == */* ]] && proto=${p#*/} && p=${p%/*}
		pt=${p#*:}
		ports=$(jq -c --argjson p "${p%%:*}" --argjson t "$pt" --arg pr "$proto" \
			'. + [{port:$p,targetPort:$t,protocol:$pr}]' <<<"$ports")
	done
	api_apply services "$(jq -cn --arg ns "$1" --arg n "$2" --arg ip "$3" --argjson p "$ports" \
		'{apiVersion:"v1",kind:"Service",metadata:{namespace:$ns,name:$n},
		  spec:{clusterIP:$ip,clusterIPs:[$ip],type:"ClusterIP",ports:$p}}')"
}
# api_slice NS NAME SERVICE "ADDR ..." "PORT[/PROTO] ...": an IPv4 EndpointSlice.
api_slice() {
	local eps ports='[]' p proto
	eps=$(printf '%s\n' $4 | jq -R . | jq -sc 'map(select(length > 0)) | map({addresses:[.],conditions:{ready:true}})')
	for p in $5; do
		proto=TCP
		[[ $p == */* ]] && proto=${p#*/} && p=${p%/*}
		ports=$(jq -c --argjson p "$p" --arg pr "$proto" '. + [{port:$p,protocol:$pr}]' <<<"$ports")
	done
	api_apply endpointslices "$(jq -cn --arg ns "$1" --arg n "$2" --arg s "$3" --argjson e "$eps" \
		--argjson p "$ports" \
		'{apiVersion:"discovery.k8s.io/v1",kind:"EndpointSlice",
		  metadata:{namespace:$ns,name:$n,labels:{"kubernetes.io/service-name":$s}},
		  addressType:"IPv4",endpoints:$e,ports:$p}')"
}
# api_policy_rule NS NAME KEY=VALUE RULE_JSON: a policy with that one rule.
api_policy_rule() {
	api_apply egresspolicies "$(jq -cn --arg ns "$1" --arg n "$2" --arg k "${3%%=*}" \
		--arg v "${3#*=}" --argjson r "$4" \
		'{apiVersion:"podwall.io/v1alpha1",kind:"EgressPolicy",metadata:{namespace:$ns,name:$n},
		  spec:{podSelector:{matchLabels:{($k):$v}},egress:[$r]}}')"
}

# cidr4_of POD: the pod's pw_cidr4 entries, "ADDR/LEN" per line.
cidr4_of() {
	local id
	id=$(bpftool -j map dump pinned "$PIN/pw_endpoints" 2>/dev/null |
		jq -r --argjson k "$(pod_ifindex "$1")" '.[] | select(.formatted.key == $k) | .formatted.value.ep_id')
	bpftool -j map dump pinned "$PIN/pw_cidr4" 2>/dev/null | jq -r --argjson id "${id:-0}" \
		'.[] | select(.formatted.key.ep_id == $id) | .formatted.key |
		 "\(.addr | map(tostring) | join("."))/\(.prefixlen - 32)"'
}
granted4() { cidr4_of "$1" | out_has -xF "$2/32"; }

# sampler_start POD FILE: the pod's pw_cidr4 sampled back to back until
# sampler_stop, one line per sample (its /32 entries, sorted, space-joined).
sampler_start() {
	rm -f "$2" "$TMP/sampler.stop"
	(
		local i
		for ((i = 0; i < 3000; i++)); do
			[ -e "$TMP/sampler.stop" ] && break
			cidr4_of "$1" | grep '/32$' | sort | paste -sd' ' >>"$2"
		done
	) </dev/null 2>/dev/null &
	echo $! >"$TMP/pids/sampler"
}
sampler_stop() {
	touch "$TMP/sampler.stop"
	wait "$(cat "$TMP/pids/sampler")" 2>/dev/null
	rm -f "$TMP/pids/sampler"
}
# no_window FILE ALWAYS ANY_OF...: every sample holds ALWAYS and one of ANY_OF.
no_window() {
	local f=$1 always=$2 line a ok n=0
	shift 2
	while IFS= read -r line; do
		n=$((n + 1))
		[[ " $line " == *" $always/32 "* ]] || { echo "sample $n: $always missing: '$line'"; return 1; }
		ok=
		for a in "$@"; do [[ " $line " == *" $a/32 "* ]] && ok=1; done
		[ -n "$ok" ] || { echo "sample $n: none of $* granted: '$line'"; return 1; }
	done <"$f"
	[ "$n" -ge 3 ] || { echo "only $n samples"; return 1; }
	e2e_log "no window over $n samples of pw_cidr4"
}

case_services() {
	need_agent
	local f=$TMP/sampler.services out
	cat >>"$TMP/dns.hosts" <<-EOF
		$SVC_IP web.s16.svc.cluster.local
		$SVC_EP3 other.s16.svc.cluster.local
	EOF
	kill -HUP "$(cat "$TMP/pids/dnsmasq")"
	api_pod s16 p16 app=s16
	cni_add s16 s16 p16 || fail "CNI ADD s16 failed"
	# a policy naming a Service that does not exist yet: default-deny, nothing granted
	api_policy_rule s16 peers app=s16 '{"toServices":[{"name":"web"}]}'
	within 10 eval 'test "$(ep_policies s16)" = s16/peers' || fail "s16 policies: '$(ep_policies s16)'"
	expect_denied s16 "$SVC_IP" 80
	expect_denied s16 "$SVC_EP1" 8080
	[ -z "$(cidr4_of s16)" ] || fail "grants before the Service exists: $(cidr4_of s16 | paste -sd' ')"
	# its DNS name resolves (resolve-only), another Service's does not
	within 10 dns_gets s16 "$DNS4" web.s16.svc.cluster.local "$SVC_IP" ||
		fail "web.s16.svc.cluster.local does not resolve for s16"
	dns_gets s16 "$DNS4" other.s16.svc.cluster.local "$SVC_EP3" && fail "other.s16.svc.cluster.local resolved"
	# the Service and its endpoints appear: granted on their ports
	api_service s16 web "$SVC_IP" "80:8080"
	api_slice s16 web-a web "$SVC_EP1" "8080"
	become_allowed s16 "$SVC_IP" 80
	become_allowed s16 "$SVC_EP1" 8080
	expect_denied s16 "$SVC_IP" 8080 # the ClusterIP: the Service's port only
	expect_denied s16 "$SVC_EP1" 80  # an endpoint: the slice's port only
	expect_denied s16 "$SVC_EP2" 8080
	# endpoints replaced in one slice (one MODIFIED): no window
	sampler_start s16 "$f"
	sleep 0.5
	api_slice s16 web-a web "$SVC_EP2" "8080"
	within 10 granted4 s16 "$SVC_EP2" || fail "$SVC_EP2 not granted"
	within 10 eval '! granted4 s16 "$SVC_EP1"' || fail "$SVC_EP1 still granted"
	sleep 0.5
	sampler_stop
	out=$(no_window "$f" "$SVC_IP" "$SVC_EP1" "$SVC_EP2") || fail "grant window: $out"
	become_denied s16 "$SVC_EP1" 8080
	expect_allowed s16 "$SVC_EP2" 8080
	expect_allowed s16 "$SVC_IP" 80
	# moved to another slice: the new slice added, then the old one deleted
	sampler_start s16 "$f"
	sleep 0.5
	api_slice s16 web-b web "$SVC_EP3" "8080"
	api_delete endpointslices s16 web-a
	within 10 eval 'granted4 s16 "$SVC_EP3" && ! granted4 s16 "$SVC_EP2"' ||
		fail "grants did not follow the slices: $(cidr4_of s16 | paste -sd' ')"
	sleep 0.5
	sampler_stop
	out=$(no_window "$f" "$SVC_IP" "$SVC_EP2" "$SVC_EP3") || fail "grant window (slice move): $out"
	become_allowed s16 "$SVC_EP3" 8080
	become_denied s16 "$SVC_EP2" 8080
	# the Service's port changes: the ClusterIP follows
	api_service s16 web "$SVC_IP" "8080:8080"
	become_allowed s16 "$SVC_IP" 8080
	become_denied s16 "$SVC_IP" 80
	# the rule's own ports instead of the Service's
	api_policy_rule s16 peers app=s16 '{"toServices":[{"name":"web","namespace":"s16"}],"ports":[{"port":443}]}'
	become_allowed s16 "$SVC_EP3" 443
	become_denied s16 "$SVC_IP" 8080
	expect_allowed s16 "$SVC_IP" 443
	api_policy_rule s16 peers app=s16 '{"toServices":[{"name":"web"}]}'
	become_allowed s16 "$SVC_IP" 8080
	# the Service deleted: its grants go (its slice is still in the API)
	api_delete services s16 web
	become_denied s16 "$SVC_IP" 8080
	become_denied s16 "$SVC_EP3" 8080
	[ -z "$(cidr4_of s16)" ] || fail "grants left after the Service went: $(cidr4_of s16 | paste -sd' ')"
	api_delete endpointslices s16 web-b
	api_delete egresspolicies s16 peers
}

case_entities() {
	need_agent
	api_pod s17 q17 app=s17
	cni_add s17 s17 q17 || fail "CNI ADD s17 failed"
	api_slice default kubernetes kubernetes "$APISRV_EP" "6443"
	api_policy_rule s17 api app=s17 '{"toEntities":["kube-apiserver"]}'
	within 10 eval 'test "$(ep_policies s17)" = s17/api' || fail "s17 policies: '$(ep_policies s17)'"
	# the kubernetes Service's ClusterIP on 443, the API server's endpoint on 6443
	become_allowed s17 "$G_SVC_IP" 443
	become_allowed s17 "$APISRV_EP" 6443
	expect_denied s17 "$APISRV_EP" 443
	expect_denied s17 "$DNS4" 9153
	# the API server moves: kept current
	api_slice default kubernetes kubernetes "$APISRV_EP2" "6443"
	become_allowed s17 "$APISRV_EP2" 6443
	become_denied s17 "$APISRV_EP" 6443
	expect_allowed s17 "$G_SVC_IP" 443
	# cluster-dns: the kube-dns Service's ports (CoreDNS's metrics port too) and
	# its endpoints'
	api_apply services "$(jq -cn --arg ip "$SERVICE_IP" \
		'{apiVersion:"v1",kind:"Service",metadata:{namespace:"kube-system",name:"kube-dns",
		  labels:{"k8s-app":"kube-dns"}},
		  spec:{clusterIP:$ip,clusterIPs:[$ip],type:"ClusterIP",
		        ports:[{name:"dns",port:53,protocol:"UDP"},{name:"dns-tcp",port:53,protocol:"TCP"},
		               {name:"metrics",port:9153,protocol:"TCP"}]}}')"
	api_policy_rule s17 api app=s17 '{"toEntities":["cluster-dns"]}'
	become_allowed s17 "$DNS4" 9153
	become_denied s17 "$G_SVC_IP" 443
	expect_denied s17 "$DNS_EP" 9153
	api_slice kube-system kube-dns-ext kube-dns "$DNS_EP" "53/UDP 9153"
	become_allowed s17 "$DNS_EP" 9153
	api_delete endpointslices kube-system kube-dns-ext
	become_denied s17 "$DNS_EP" 9153
	# both
	api_policy_rule s17 api app=s17 '{"toEntities":["kube-apiserver","cluster-dns"]}'
	become_allowed s17 "$G_SVC_IP" 443
	expect_allowed s17 "$DNS4" 9153
	api_dns_service "$SERVICE_IP"
	become_denied s17 "$DNS4" 9153
	api_delete endpointslices default kubernetes
	api_delete egresspolicies s17 api
}

# ================================================================= main

api_start a
api_dns_service "$SERVICE_IP"
api_kubernetes_service "$G_SVC_IP"
api_node "$NODE_NAME" "$POD_SUBNET4 $POD_SUBNET6" "InternalIP=$UP_NODE4 InternalIP=$UP_NODE6"
api_node node2 "198.51.100.128/25" "InternalIP=$G_N2_IP"
guard_hosts
svc_servers
cp "$CONFLIST_ORIG" "$CONFLIST"
k8s_agent_start "$K/a.kubeconfig" --cni-conflist "$CONFLIST" || fail "the agent did not start"
cp "$CONFLIST" "$K/conflist.at-start"
within 20 k8s_synced || fail "no first sync with the fake API: $(grep -v libbpf "$TMP/agent.log" | tail -5)"

# K8S_CASES="refused_kept api_lost": only those (and sanitizers_clean).
k8s_case() {
	local c=${1#case_}
	[ -z "${K8S_CASES:-}" ] || [ "$c" = sanitizers_clean ] || [[ " $K8S_CASES " == *" $c "* ]] ||
		return 0
	run_test "$1"
}
k8s_case case_policy_create_delete
k8s_case case_label_change
k8s_case case_event_owner
k8s_case case_watch_dropped
k8s_case case_gone_410_relist
k8s_case case_token_rotation
k8s_case case_dns_resolvers
[ -z "${K8S_CASES:-}" ] || [[ " $K8S_CASES " == *" dns_resolvers "* ]] && cleanup_dns_resolvers >/dev/null
k8s_case case_cni_conflist
k8s_case case_pods_before_podwall
[ -z "${K8S_CASES:-}" ] || [[ " $K8S_CASES " == *" pods_before_podwall "* ]] && cleanup_pods_before_podwall >/dev/null
k8s_case case_restart_api_down
k8s_case case_restart_stale_flow
k8s_case case_refused_kept
k8s_case case_api_lost
k8s_case case_policy_status
k8s_case case_cluster_policy
k8s_case case_cluster_deny
k8s_case case_cluster_deny_ports
k8s_case case_rebinding_guard_api
k8s_case case_pod_events
k8s_case case_services
k8s_case case_entities
k8s_case case_sanitizers_clean
e2e_summary

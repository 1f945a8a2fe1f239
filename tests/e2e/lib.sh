# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall e2e harness: sourced by tests/e2e/run.sh (and by later suites).
#
# Topology (every name randomised with the prefix pwXXXX, all of it removed on
# any exit):
#
#   pod netns ($PFX-<pod>)            node netns ($NODE)               inet netns ($INET)
#   eth0 10.42.0.x/24 ----veth---- cni0 10.42.0.1/24             $PFX-u 198.51.100.1/24 ====
#        fd00:42::x/64               fd00:42::1/64               2001:db8:1::1/64
#   (made by the real CNI bridge +   default via 198.51.100.2    ==== $PFX-d 198.51.100.2/24
#    host-local, podwall-cni          (the inet veth, nothing        192.0.2.10, 192.0.2.20,
#    chained after them)              else), forwarding on           203.0.113.10, 203.0.113.53,
#                                                                    2001:db8:1::2/64,
#   dns netns ($DNS): a pod made by the bridge plugin only           2001:db8:100::10, ::20
#   (not enforced), dnsmasq on its 10.42.0.x / fd00:42::x            servers: netsrv.py serve,
#                                                                    iperf3, rogue dnsmasq
#
# Nothing in any namespace the test makes is connected to the host's network:
# the inet namespace has no default route, so a packet to any other address
# dies there. The pod subnets are private and exist only inside these
# namespaces; the "internet" uses the documentation ranges only.
#
# Knobs: BUILD (binaries, default build/asan), PW_E2E_NO_CNI=1 (topology only,
# no podwall-cni step), E2E_KEEP=1 (keep the temp dir), E2E_TIMEOUT (whole-run
# watchdog, seconds), CI=true (anything that cannot run is an error, not a skip),
# PW_SLOWDOWN (see SLOW below).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
NETSRV="$E2E_DIR/netsrv.py"
CNI_BIN_DIR=${CNI_BIN_DIR:-/usr/lib/cni}

BUILD=${BUILD:-build/asan}
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
PODWALL="$BUILD/podwall"
PODWALL_CNI="$BUILD/podwall-cni"
PW_E2E_NO_CNI=${PW_E2E_NO_CNI:-0}

# SLOW: how many times slower than a native machine this one runs the suites
# (measured by slowdown.sh, or PW_SLOWDOWN as the caller measured it: ~10 in
# the kernel tier's qemu guests). What waits for the machine scales by it:
# wait_until deadlines, the agent's start, streams that must outlast a restart,
# the TTLs a case must beat. What must NOT happen (a denied connect) keeps its
# native timeout.
SLOW=$("$E2E_DIR/slowdown.sh")
case "$SLOW" in '' | *[!0-9]* | 0) SLOW=1 ;; esac
export PW_SLOWDOWN=$SLOW

# Addresses of the "internet" (documentation ranges only).
UP_NODE4=198.51.100.1
UP_INET4=198.51.100.2
UP_NODE6=2001:db8:1::1
UP_INET6=2001:db8:1::2
SRV_A=192.0.2.10           # allowed.example.test
SRV_B=192.0.2.20           # denied.example.test
SRV_C=203.0.113.10         # *.wild.example.test
ROGUE_DNS=203.0.113.53     # a DNS server that is not the trusted resolver
SRV6_A=2001:db8:100::10
SRV6_B=2001:db8:100::20
INET_ADDRS="$UP_INET4 $SRV_A $SRV_B $SRV_C $UP_INET6 $SRV6_A $SRV6_B"
TCP_PORTS="80,443,8080,8443"  # banner servers: "hello PORT"
ECHO_PORTS="9000"             # TCP echo (long-lived streams)
UDP_PORTS="7,9999"            # UDP echo
IPERF_PORT=5201
POD_SUBNET4=10.42.0.0/24
POD_SUBNET6=fd00:42::/64
POD_GW4=10.42.0.1
POD_GW6=fd00:42::1

E2E_PASSED=0
E2E_FAILED=0
E2E_FAILED_NAMES=()

e2e_log() { printf '# %s\n' "$*" >&2; }
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# sanitizers_clean [FILE...]: fail on an ASan, LSan or UBSan report in any FILE
# (default: the agent's and the CNI plugin's logs). The last case of each suite.
sanitizers_clean() {
	local f
	[ $# -gt 0 ] || set -- "$TMP/agent.log" "$TMP/cni.log"
	for f in "$@"; do
		if grep -E -n 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$f" >&2; then
			fail "sanitizer report in $(basename "$f")"
		fi
	done
}

# Cannot run here: an error under CI, a loud skip otherwise.
# E2E_MUST_RUN=1 (the demo): always a failure.
e2e_cannot_run() {
	if [ "${CI:-}" = true ] || [ "${E2E_MUST_RUN:-0}" = 1 ]; then
		printf '\n!!! %s: CANNOT RUN: %s\n!!! (this is a failure)\n\n' "${E2E_WHAT:-e2e}" "$*" >&2
		exit 1
	fi
	printf '\n!!! e2e: SKIPPED, NOTHING WAS TESTED: %s\n\n' "$*" >&2
	exit 0
}

e2e_require() {
	[ "$(id -u)" = 0 ] || e2e_cannot_run "must run as root (network namespaces, TC, bpffs)"
	local c
	for c in ip tc nsenter jq dig dnsmasq iperf3 bpftool timeout "$PY"; do
		command -v "$c" >/dev/null 2>&1 || e2e_cannot_run "missing tool: $c (make deps)"
	done
	for c in bridge host-local; do
		[ -x "$CNI_BIN_DIR/$c" ] || e2e_cannot_run "missing CNI plugin $CNI_BIN_DIR/$c (containernetworking-plugins)"
	done
	grep -qs ' /sys/fs/bpf bpf ' /proc/mounts || e2e_cannot_run "bpffs is not mounted at /sys/fs/bpf"
	if [ "$PW_E2E_NO_CNI" != 1 ]; then
		[ -x "$PODWALL" ] || e2e_cannot_run "no $PODWALL (build it: make BUILD=${BUILD#"$REPO"/} SANITIZE=1 all)"
		[ -x "$PODWALL_CNI" ] || e2e_cannot_run "no $PODWALL_CNI"
	fi
}

# ---------------------------------------------------------------- setup/teardown

e2e_init() {
	local i
	# a case named that the suite does not define would run nothing and pass
	for i in ${ONLY[@]+"${ONLY[@]}"}; do
		declare -F "$i" >/dev/null || fail "$(basename "$0") has no case $i"
	done
	for i in 1 2 3 4 5 6 7 8; do
		RAND=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
		PFX=pw$RAND
		[ -e "/run/netns/$PFX-node" ] || [ -e "/sys/fs/bpf/podwall-e2e-$RAND" ] || break
	done
	NODE=$PFX-node
	INET=$PFX-inet
	DNS_POD=dns
	UPL_NODE=${PFX}u # node side of the node<->inet veth
	UPL_INET=${PFX}d # inet side
	PIN=/sys/fs/bpf/podwall-e2e-$RAND
	TMP=$(mktemp -d "/tmp/$PFX.XXXXXX")
	SOCK=$TMP/podwall.sock
	mkdir -p "$TMP/pids" "$TMP/pods" "$TMP/policies" "$TMP/state" "$TMP/cases" "$TMP/ipam"
	: >"$TMP/agent.events"
	: >"$TMP/agent.log"
	: >"$TMP/cni.log"
	: >"$TMP/inet.log"
	echo 0 >"$TMP/server.mark"
	trap e2e_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# Whole-run watchdog: every step is bounded, this bounds the sum.
	local main=$$
	(
		sleep "${E2E_TIMEOUT:-1200}"
		echo "!!! e2e: watchdog: run exceeded ${E2E_TIMEOUT:-1200}s" >&2
		kill -TERM "$main"
	) </dev/null >/dev/null &
	echo $! >"$TMP/pids/watchdog"
	disown $!
}

# Start a background process and remember its pid for the teardown. Its
# stderr goes to $TMP/NAME.err: it must never hold a pipe of the caller's
# (a `$(...)` around the caller would wait for it forever).
bg_start() {
	local name=$1
	shift
	"$@" </dev/null 2>>"$TMP/$name.err" &
	echo $! >"$TMP/pids/$name"
	disown $! 2>/dev/null || true
}

bg_kill() {
	local f=$TMP/pids/$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$f"
}

e2e_teardown() {
	local rc=$? f pid ns i
	set +e
	trap - EXIT
	trap '' INT TERM # finish the teardown whatever happens
	[ -n "${TMP:-}" ] || exit "$rc"
	# The watchdog first (its sleep after it), so it cannot fire meanwhile.
	if [ -f "$TMP/pids/watchdog" ]; then
		pid=$(cat "$TMP/pids/watchdog")
		f=$(pgrep -P "$pid" 2>/dev/null)
		kill -KILL "$pid" 2>/dev/null
		[ -n "$f" ] && kill -KILL $f 2>/dev/null
		rm -f "$TMP/pids/watchdog"
	fi
	for f in "$TMP"/pids/*; do
		[ -f "$f" ] || continue
		bg_kill "$(basename "$f")"
	done
	# Anything still running inside our namespaces was started by this test.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${PIN:-}" ] && rm -rf "$PIN"
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "# e2e: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}

in_node() { nsenter --net="/run/netns/$NODE" "$@"; }
in_inet() { ip netns exec "$INET" "$@"; }

ns_sysctl() {
	local ns=$1
	shift
	ip netns exec "$ns" sysctl -qw "$@" >/dev/null
}

link_mac() { ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'; }

e2e_setup() {
	local a
	ip netns add "$NODE" || fail "ip netns add $NODE"
	ip netns add "$INET" || fail "ip netns add $INET"
	for a in "$NODE" "$INET"; do
		ip -n "$a" link set lo up
		ns_sysctl "$a" net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0
	done
	ns_sysctl "$NODE" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# Can this kernel do what the test needs? (TC clsact, a bpffs we may write)
	if ! { ip -n "$NODE" link add "${PFX}t" type veth peer name "${PFX}v" &&
		tc -n "$NODE" qdisc add dev "${PFX}t" clsact && ip -n "$NODE" link del "${PFX}t"; }; then
		e2e_cannot_run "cannot add a TC clsact qdisc in a network namespace"
	fi
	if ! { mkdir "$PIN" 2>/dev/null && rmdir "$PIN"; }; then
		e2e_cannot_run "cannot create $PIN on bpffs"
	fi
	ns_sysctl "$INET" net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0

	# node <-> inet: created directly inside the two namespaces, never in the host's.
	ip link add "$UPL_NODE" netns "$NODE" type veth peer name "$UPL_INET" netns "$INET" ||
		fail "veth node<->inet"
	ip -n "$NODE" addr add "$UP_NODE4/24" dev "$UPL_NODE"
	ip -n "$NODE" addr add "$UP_NODE6/64" dev "$UPL_NODE" nodad
	ip -n "$INET" addr add "$UP_INET4/24" dev "$UPL_INET"
	ip -n "$INET" addr add "$UP_INET6/64" dev "$UPL_INET" nodad
	ip -n "$INET" addr add "$SRV_A/24" dev "$UPL_INET"
	ip -n "$INET" addr add "$SRV_B/32" dev "$UPL_INET"
	ip -n "$INET" addr add "$SRV_C/24" dev "$UPL_INET"
	ip -n "$INET" addr add "$ROGUE_DNS/32" dev "$UPL_INET"
	ip -n "$INET" addr add "$SRV6_A/64" dev "$UPL_INET" nodad
	ip -n "$INET" addr add "$SRV6_B/128" dev "$UPL_INET" nodad
	ip -n "$NODE" link set "$UPL_NODE" up
	ip -n "$INET" link set "$UPL_INET" up
	# The node's only way out is the inet veth; the inet namespace knows only
	# its own addresses and the pod subnets behind the node.
	ip -n "$NODE" route add default via "$UP_INET4" dev "$UPL_NODE"
	ip -n "$NODE" -6 route add default via "$UP_INET6" dev "$UPL_NODE"
	ip -n "$INET" route add "$POD_SUBNET4" via "$UP_NODE4" dev "$UPL_INET"
	ip -n "$INET" -6 route add "$POD_SUBNET6" via "$UP_NODE6" dev "$UPL_INET"
	# Pinned neighbours on the uplink.
	local mn mi
	mn=$(link_mac "$NODE" "$UPL_NODE")
	mi=$(link_mac "$INET" "$UPL_INET")
	ip -n "$NODE" neigh replace "$UP_INET4" lladdr "$mi" dev "$UPL_NODE" nud permanent
	ip -n "$NODE" neigh replace "$UP_INET6" lladdr "$mi" dev "$UPL_NODE" nud permanent
	ip -n "$INET" neigh replace "$UP_NODE4" lladdr "$mn" dev "$UPL_INET" nud permanent
	ip -n "$INET" neigh replace "$UP_NODE6" lladdr "$mn" dev "$UPL_INET" nud permanent

	e2e_start_inet_servers
	e2e_start_dns
}

e2e_start_inet_servers() {
	local addrs
	addrs=$(echo "$INET_ADDRS" | tr ' ' ',')
	bg_start inet-srv ip netns exec "$INET" "$PY" "$NETSRV" serve --log "$TMP/inet.log" \
		--iface "$UPL_INET" --addrs "$addrs" --tcp "$TCP_PORTS" --echo "$ECHO_PORTS" \
		--udp "$UDP_PORTS" --seconds "${E2E_TIMEOUT:-1200}"
	bg_start iperf3 ip netns exec "$INET" iperf3 -s -p "$IPERF_PORT" --logfile "$TMP/iperf3.log"
	# A DNS server that is not trusted: pods must not reach it.
	bg_start rogue-dns ip netns exec "$INET" dnsmasq --keep-in-foreground --conf-file=/dev/null \
		--no-resolv --no-hosts --user=root --pid-file= --bind-interfaces \
		--listen-address="$ROGUE_DNS" --address=/#/"$SRV_B" --log-facility="$TMP/rogue-dns.log"
	wait_until 10 grep -q '^ready' "$TMP/inet.log" || fail "inet servers did not start: $(tail -5 "$TMP/inet.log")"
}

# Cluster DNS: dnsmasq in its own "pod", attached to cni0 by the bridge plugin
# (not by podwall-cni: the resolver is not enforced). A pod's query leaves
# through the pod's host veth towards this address, as with CoreDNS.
e2e_start_dns() {
	cat >"$TMP/dns.hosts" <<-EOF
		$SRV_A allowed.example.test
		$SRV6_A allowed.example.test
		$SRV_B denied.example.test
		$SRV6_B denied.example.test
		$SRV_C other.example.test
		$SRV6_A v6only.example.test
	EOF
	pod_create "$DNS_POD" kube-system coredns 0 k8s-app=kube-dns || fail "DNS pod: CNI ADD failed"
	DNS4=$(pod_ip4 "$DNS_POD")
	DNS6=$(pod_ip6 "$DNS_POD")
	bg_start dnsmasq ip netns exec "$(pod_ns "$DNS_POD")" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file= \
		--bind-interfaces --listen-address="$DNS4" --listen-address="$DNS6" \
		--addn-hosts="$TMP/dns.hosts" --address=/wild.example.test/"$SRV_C" \
		--address=/wild.example.test/"$SRV6_B" --log-queries \
		--log-facility="$TMP/dnsmasq.log"
	wait_until 10 dns_answers_in_node ||
		fail "dnsmasq did not answer: $(tail -5 "$TMP/dnsmasq.log" 2>/dev/null)"
}

dns_answers_in_node() {
	[ "$(in_node dig +time=1 +tries=1 +short @"$DNS4" allowed.example.test A)" = "$SRV_A" ]
}

# ---------------------------------------------------------------- CNI

cni_bridge_conf() {
	cat <<-EOF
		{"cniVersion":"1.0.0","name":"pwnet","type":"bridge","bridge":"cni0",
		 "isGateway":true,"ipMasq":false,"hairpinMode":true,
		 "ipam":{"type":"host-local","dataDir":"$TMP/ipam",
		   "ranges":[[{"subnet":"$POD_SUBNET4","gateway":"$POD_GW4"}],
		             [{"subnet":"$POD_SUBNET6","gateway":"$POD_GW6"}]],
		   "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}}
	EOF
}

# labels_json k=v ... -> [{"key":"k","value":"v"},...]
labels_json() {
	local kv out="["
	for kv in "$@"; do
		[ "$out" = "[" ] || out+=","
		out+=$(jq -cn --arg k "${kv%%=*}" --arg v "${kv#*=}" '{key:$k,value:$v}')
	done
	echo "$out]"
}

# podwall-cni netconf: its own entry of the conflist, plus prevResult.
cni_podwall_conf() {
	local labels=$1 prev=$2
	jq -cn --arg sock "$SOCK" --argjson labels "$labels" --argjson prev "$prev" \
		'{cniVersion:"1.0.0",name:"pwnet",type:"podwall-cni",socket:$sock,
		  args:{cni:{labels:$labels}},prevResult:$prev}'
}

# _cni_exec PLUGIN_PATH COMMAND POD < netconf: called the way a runtime does,
# from the node's network namespace.
_cni_exec() {
	local plugin=$1 cmd=$2 pod=$3 d=$TMP/pods/$3
	echo "== $(date +%T.%N) $cmd $(basename "$plugin") $pod" >>"$TMP/cni.log"
	timeout 60 nsenter --net="/run/netns/$NODE" env \
		CNI_COMMAND="$cmd" CNI_CONTAINERID="$(cat "$d/id")" \
		CNI_NETNS="/run/netns/$(cat "$d/netns")" CNI_IFNAME=eth0 \
		CNI_PATH="$CNI_BIN_DIR:$BUILD" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$(cat "$d/k8s_ns");K8S_POD_NAME=$(cat "$d/k8s_name");K8S_POD_INFRA_CONTAINER_ID=$(cat "$d/id");K8S_POD_UID=$(cat "$d/uid")" \
		"$plugin" 2>>"$TMP/cni.log"
}

# pod_create POD K8S_NS K8S_NAME ENFORCE(0|1) [k=v ...]: netns + bridge ADD
# [+ podwall-cni ADD]. On a podwall-cni failure the pod is cleaned up (as a
# runtime would: DEL) and its ADD output is kept in $TMP/pods/POD.failed.
pod_create() {
	local pod=$1 kns=$2 kname=$3 enforce=$4
	shift 4
	local d=$TMP/pods/$pod netns=$PFX-$pod rc
	[ ! -e "$d" ] || fail "pod $pod exists"
	mkdir -p "$d"
	echo "$netns" >"$d/netns"
	echo "$kns" >"$d/k8s_ns"
	echo "$kname" >"$d/k8s_name"
	od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$d/id"
	cat /proc/sys/kernel/random/uuid >"$d/uid"
	labels_json "$@" >"$d/labels"
	ip netns add "$netns" || fail "ip netns add $netns"
	ip -n "$netns" link set lo up
	ns_sysctl "$netns" net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0

	cni_bridge_conf >"$d/bridge.conf"
	if ! _cni_exec "$CNI_BIN_DIR/bridge" ADD "$pod" <"$d/bridge.conf" >"$d/bridge.result"; then
		echo "bridge ADD failed: $(cat "$d/bridge.result")" >&2
		ip netns del "$netns" || true
		rm -rf "$d"
		return 1
	fi
	if [ "$enforce" = 1 ] && [ "$PW_E2E_NO_CNI" != 1 ]; then
		cni_podwall_conf "$(cat "$d/labels")" "$(cat "$d/bridge.result")" >"$d/podwall.conf"
		rc=0
		_cni_exec "$PODWALL_CNI" ADD "$pod" <"$d/podwall.conf" >"$d/podwall.result" || rc=$?
		if [ "$rc" != 0 ]; then
			{
				echo "rc=$rc"
				cat "$d/podwall.result"
			} >"$TMP/pods/$pod.failed"
			echo "podwall-cni ADD $pod failed (rc=$rc): $(cat "$d/podwall.result")" >&2
			_cni_exec "$PODWALL_CNI" DEL "$pod" <"$d/podwall.conf" >/dev/null || true
			_cni_exec "$CNI_BIN_DIR/bridge" DEL "$pod" <"$d/bridge.conf" >/dev/null || true
			ip netns del "$netns" || true
			rm -rf "$d"
			return 1
		fi
		echo 1 >"$d/enforced"
	fi
	_pod_record "$pod"
}

_pod_record() {
	local pod=$1 d=$TMP/pods/$1 r=$TMP/pods/$1/bridge.result netns veth mac
	netns=$(cat "$d/netns")
	jq -r '.ips[].address | select(test(":")|not) | sub("/.*";"")' "$r" | head -1 >"$d/ip4"
	jq -r '.ips[].address | select(test(":")) | sub("/.*";"")' "$r" | head -1 >"$d/ip6"
	veth=$(jq -r '.interfaces[] | select((.sandbox // "") == "" and .name != "cni0") | .name' "$r" | head -1)
	echo "$veth" >"$d/veth"
	ip netns exec "$NODE" cat "/sys/class/net/$veth/ifindex" >"$d/ifindex"
	mac=$(jq -r '.interfaces[] | select((.sandbox // "") != "") | .mac' "$r" | head -1)
	echo "$mac" >"$d/mac"
	# Pinned neighbours both ways, no ARP/ND races.
	local gwmac
	gwmac=$(link_mac "$NODE" cni0)
	ip -n "$netns" neigh replace "$POD_GW4" lladdr "$gwmac" dev eth0 nud permanent
	ip -n "$netns" neigh replace "$POD_GW6" lladdr "$gwmac" dev eth0 nud permanent
	ip -n "$NODE" neigh replace "$(cat "$d/ip4")" lladdr "$mac" dev cni0 nud permanent
	ip -n "$NODE" neigh replace "$(cat "$d/ip6")" lladdr "$mac" dev cni0 nud permanent
}

# cni_add POD K8S_NS K8S_NAME [k=v ...]: a pod with podwall-cni chained.
cni_add() {
	local pod=$1 kns=$2 kname=$3
	shift 3
	pod_create "$pod" "$kns" "$kname" 1 "$@"
}

# cni_add_plain POD ...: a pod without podwall-cni (the CNI alone).
cni_add_plain() {
	local pod=$1 kns=$2 kname=$3
	shift 3
	pod_create "$pod" "$kns" "$kname" 0 "$@"
}

# cni_del POD: reverse order of the chain, each with the cached prevResult.
cni_del() {
	local pod=$1 d=$TMP/pods/$1 rc=0 conf
	[ -d "$d" ] || fail "cni_del: no pod $pod"
	if [ -f "$d/enforced" ]; then
		_cni_exec "$PODWALL_CNI" DEL "$pod" <"$d/podwall.conf" >"$d/podwall.del" || {
			echo "podwall-cni DEL $pod failed: $(cat "$d/podwall.del")" >&2
			rc=1
		}
	fi
	conf=$(jq -c --argjson prev "$(cat "$d/bridge.result")" '. + {prevResult:$prev}' "$d/bridge.conf")
	_cni_exec "$CNI_BIN_DIR/bridge" DEL "$pod" <<<"$conf" >"$d/bridge.del" || {
		echo "bridge DEL $pod failed: $(cat "$d/bridge.del")" >&2
		rc=1
	}
	ip -n "$NODE" neigh del "$(cat "$d/ip4")" dev cni0 2>/dev/null || true
	ip -n "$NODE" neigh del "$(cat "$d/ip6")" dev cni0 2>/dev/null || true
	ip netns del "$(cat "$d/netns")" || rc=1
	rm -rf "$d"
	return $rc
}

pod_ns() { cat "$TMP/pods/$1/netns"; }
pod_ip4() { cat "$TMP/pods/$1/ip4"; }
pod_ip6() { cat "$TMP/pods/$1/ip6"; }
pod_veth() { cat "$TMP/pods/$1/veth"; }
pod_ifindex() { cat "$TMP/pods/$1/ifindex"; }
in_pod() {
	local pod=$1
	shift
	ip netns exec "$(pod_ns "$pod")" "$@"
}

# ---------------------------------------------------------------- traffic

# connect POD IP PORT [TIMEOUT]: TCP connect from the pod and read the
# server's banner; 0 only if data came back.
connect() {
	in_pod "$1" timeout 20 "$PY" "$NETSRV" connect "$2" "$3" --timeout "${4:-2}" 2>&1
}
# connect_from POD SRC IP PORT [TIMEOUT]: same, bound to a source address.
connect_from() {
	in_pod "$1" timeout 20 "$PY" "$NETSRV" connect "$3" "$4" --src "$2" --timeout "${5:-2}" 2>&1
}
# udp_send POD IP PORT [TIMEOUT]: one datagram to a UDP echo server; 0 if echoed.
udp_send() {
	in_pod "$1" timeout 20 "$PY" "$NETSRV" udp "$2" "$3" --timeout "${4:-2}" 2>&1
}
# dns_query POD SERVER NAME [TYPE]: prints the answer addresses.
dns_query() {
	in_pod "$1" timeout 10 dig +time=2 +tries=1 +short @"$2" "$3" "${4:-A}"
}
# connect_from_inet IP PORT: TCP connect from the internet namespace.
connect_from_inet() {
	in_inet timeout 20 "$PY" "$NETSRV" connect "$1" "$2" --timeout "${3:-2}" 2>&1
}

# server_mark: from now on server_saw looks only at new log lines.
server_mark() { wc -l <"$TMP/inet.log" >"$TMP/server.mark"; }
# server_saw IP PORT [SRC]: did any packet (TCP SYN, UDP) for IP:PORT reach
# the inet namespace since the last server_mark?
server_saw() {
	local from
	from=$(($(cat "$TMP/server.mark") + 1))
	tail -n +"$from" "$TMP/inet.log" |
		awk -v d="$1" -v p="$2" -v s="${3:-}" \
			'$1=="pkt" && $4==d && $5==p && (s=="" || $3==s) {f=1} END {exit !f}'
}

# server_seen IP PORT [SRC]: server_saw, for packets that must arrive: polled
# for up to 5 s (the server's log is written asynchronously).
server_seen() { wait_until "${CAP_WAIT:-5}" server_saw "$@"; }

# wait_until TIMEOUT CMD...: poll CMD every 0.2 s until it succeeds or
# TIMEOUT seconds pass (bounded in count and time).
wait_until() { # SECONDS CMD...: SECONDS at native speed (times SLOW)
	local t=$1 n i
	shift
	n=$(awk -v t="$t" -v s="$SLOW" 'BEGIN {printf "%d", t * s * 5 + 1}')
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# the last lines of a command's output, libbpf's chatter left out
_out_tail() { grep -v 'libbpf:' <<<"$1" | tail -n 3 | tr '\n' ' '; }

assert_ok() {
	local out
	out=$("$@" 2>&1) || fail "expected success: $* ${out:+(output: $(_out_tail "$out"))}"
	e2e_log "ok: $*"
}
assert_fails() {
	local out
	if out=$("$@" 2>&1); then
		fail "expected failure: $* ${out:+(output: $(_out_tail "$out"))}"
	fi
	e2e_log "fails as expected: $*"
}

# ---------------------------------------------------------------- agent

agent_running() {
	[ -s "$TMP/pids/agent" ] && kill -0 "$(cat "$TMP/pids/agent")" 2>/dev/null
}

# agent_status: the agent answers (status exits 4 when degraded: still an answer).
agent_status() {
	local rc=0
	timeout 10 "$PODWALL" status --socket "$SOCK" || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 4 ]
}
agent_cli() { timeout 10 "$PODWALL" "$@" --socket "$SOCK"; }

# agent_start [extra args]: the agent in the node namespace (nsenter, not
# `ip netns exec`, which would remount /sys and hide /sys/fs/bpf).
agent_start() {
	if agent_running; then
		fail "agent_start: agent already running"
	fi
	# PW_E2E_AGENT_ARGS: options every agent of the run gets first (e.g.
	# --dns-learn-inline=1 to run a suite on the kernel learner)
	local extra=()
	read -r -a extra <<<"${PW_E2E_AGENT_ARGS:-}"
	echo "== $(date +%T.%N) agent_start ${extra[*]} $*" >>"$TMP/agent.log"
	rm -f "$TMP/agent.rc" "$TMP/pids/agent"
	# A small wrapper records the exit status; $TMP/pids/agent is the agent
	# itself (nsenter execs it), so agent_kill9 hits the agent, not the wrapper.
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
		bg_start agent-wrap bash -c '
		nsenter --net="/run/netns/$1" "$2" agent --policy-dir "$3/policies" \
			--pin-dir "$4" --socket "$5" --state-dir "$3/state" "${@:6}" \
			>>"$3/agent.events" 2>>"$3/agent.log" </dev/null &
		echo $! >"$3/pids/agent.tmp"
		mv "$3/pids/agent.tmp" "$3/pids/agent"
		wait $!
		echo $? >"$3/agent.rc"' agent-wrap "$NODE" "$PODWALL" "$TMP" "$PIN" "$SOCK" \
		--resolver "$DNS4" --resolver "$DNS6" -v "${extra[@]}" "$@" >>"$TMP/agent.log"
	local i end=$((SECONDS + 30 * SLOW))
	for ((i = 0; i < 150 * SLOW && SECONDS < end; i++)); do
		# status exits 4 when degraded: the agent answers. (|| keeps set -e
		# callers, such as the demo, from exiting on the first refused try.)
		local rc=0
		timeout 2 "$PODWALL" status --socket "$SOCK" >/dev/null 2>&1 || rc=$?
		case $rc in 0 | 4) return 0 ;; esac
		[ $i -gt 5 ] && ! agent_running && break
		sleep 0.2
	done
	echo "agent did not come up (exit status $(cat "$TMP/agent.rc" 2>/dev/null || echo '?')); agent.log tail:" >&2
	grep -v 'libbpf:' "$TMP/agent.log" | tail -n 10 >&2
	return 1
}

# agent_stop: SIGTERM, wait for the exit, return the agent's exit status.
agent_stop() {
	local pid i
	[ -f "$TMP/pids/agent" ] || return 0
	pid=$(cat "$TMP/pids/agent")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		rm -f "$TMP/pids/agent"
		echo "agent ignored SIGTERM for 10 s" >&2
		return 1
	fi
	rm -f "$TMP/pids/agent"
	# The wrapper writes the exit status to $TMP/agent.rc.
	for ((i = 0; i < 50; i++)); do
		[ -s "$TMP/agent.rc" ] && break
		sleep 0.1
	done
	echo "== $(date +%T.%N) agent exited on SIGTERM, status $(cat "$TMP/agent.rc" 2>/dev/null)" >>"$TMP/agent.log"
	return 0
}

agent_kill9() {
	local pid i
	[ -f "$TMP/pids/agent" ] || fail "agent_kill9: no agent"
	pid=$(cat "$TMP/pids/agent")
	kill -KILL "$pid"
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$TMP/pids/agent"
	echo "== $(date +%T.%N) agent killed with SIGKILL" >>"$TMP/agent.log"
}

# policy_write NAME YAML: atomically (rename into the watched directory).
# policy_head NAME NAMESPACE LABEL MODE: an EgressPolicy's YAML up to its
# "egress:" line, selecting the pods labelled LABEL (KEY=VALUE).
policy_head() {
	printf '%s' "apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: $1, namespace: $2}
spec:
  podSelector: {matchLabels: {${3%%=*}: ${3#*=}}}
  mode: $4
  egress:"
}

# fqdn_matches NAME...: the items of a toFQDNs list, one a line (a NAME that
# starts with '*' is a matchPattern), each after a newline.
fqdn_matches() {
	local n
	for n in "$@"; do
		case "$n" in
		\**) printf '\n        - matchPattern: "%s"' "$n" ;;
		*) printf '\n        - matchName: %s' "$n" ;;
		esac
	done
}

policy_write() {
	printf '%s\n' "$2" >"$TMP/policy.tmp"
	mv -f "$TMP/policy.tmp" "$TMP/policies/$1.yaml"
}
policy_remove() { rm -f "$TMP/policies/$1.yaml"; }
# CMD | out_has GREP-ARGS: CMD's output has a matching line. The whole output is
# read first: a bare `| grep -q` exits at the first match, and a CMD still
# writing (a long event list, metrics) dies of SIGPIPE, which pipefail turns
# into a failure.
out_has() {
	local in
	in=$(cat)
	grep -q "$@" <<<"$in"
}
# policy_loaded NAME: the agent lists a policy of that name.
policy_loaded() {
	local out # (no `| grep -q`: an early exit would SIGPIPE the CLI under pipefail)
	out=$(agent_cli policies -o json 2>/dev/null) && grep -q "\"$1\"" <<<"$out"
}

# policy_cidr NAME NS LABEL MODE "CIDR:PORT/PROTO ..." : a one-rule-per-entry
# EgressPolicy; PORT may be "any" (a rule without ports) or "LO-HI".
policy_cidr() {
	local name=$1 ns=$2 label=$3 mode=$4 spec=$5 r cidr port proto y
	y=$(policy_head "$name" "$ns" "$label" "$mode")
	for r in $spec; do
		cidr=${r%:*}
		port=${r##*:}
		proto=${port#*/}
		port=${port%/*}
		y+="
    - toCIDRs: [{cidr: \"$cidr\"}]"
		case "$port" in
		any) ;;
		*-*) y+="
      ports: [{port: ${port%-*}, endPort: ${port#*-}, protocol: $proto}]" ;;
		*) y+="
      ports: [{port: $port, protocol: $proto}]" ;;
		esac
	done
	# The test zone stays resolvable for these CIDR-only pods (a name no policy
	# grants is refused by the node; the DNS cases test that on purpose).
	y+="
  dns:
    resolveNames: [{matchPattern: \"**.example.test\"}]"
	policy_write "$name" "$y"
}

# event_seen VERDICT DST DPORT [REASON] [POD]: an event line in agent.events
# (REASON "" matches any; POD is the harness's pod name).
event_seen() {
	local pod=""
	[ -z "${5:-}" ] || pod="$(cat "$TMP/pods/$5/k8s_ns")/$(cat "$TMP/pods/$5/k8s_name")"
	jq -R -n -e --arg v "$1" --arg d "$2" --argjson p "$3" --arg r "${4:-}" --arg pod "$pod" \
		'[inputs | fromjson? | select(.verdict == $v and .dst == $d and .dport == $p
		  and ($r == "" or .reason == $r)
		  and ($pod == "" or .pod == $pod or ((.namespace // "") + "/" + (.pod // "")) == $pod))]
		 | length > 0' \
		"$TMP/agent.events" >/dev/null
}

# endpoint_in_map IFINDEX: the pinned endpoint map has that key (BTF or raw dump).
endpoint_in_map() {
	[ "$(endpoint_mode "$1")" != none ]
}

# endpoint_mode IFINDEX: the endpoint's mode (0 enforce, 1 audit, 2 open) or "none".
endpoint_mode() {
	local raw
	# Raw key bytes of a host-order __u32 (x86/arm64: little-endian).
	raw=$(printf '["0x%02x","0x%02x","0x%02x","0x%02x"]' $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255)))
	bpftool -j map dump pinned "$PIN/pw_endpoints" 2>/dev/null |
		jq -r --argjson k "$1" --argjson raw "$raw" '
			[.[] | select(.formatted.key == $k or .key == $k or .key == $raw) |
			 (.formatted.value.mode // (.value[8] | ltrimstr("0x") | tonumber? ) // .value[8])] |
			if length == 0 then "none" else .[0] | tostring end'
}

# ---------------------------------------------------------------- runner

# selected CASE: true when CASE is one the suite was asked to run (the
# CASE... arguments, in ONLY), or when none was named.
selected() {
	[ ${#ONLY[@]} = 0 ] && return 0
	local c
	for c in "${ONLY[@]}"; do [ "$c" = "$1" ] && return 0; done
	return 1
}

run_test() {
	local name=$1 log=$TMP/cases/$1.log rc alines
	shift
	server_mark
	alines=$(wc -l <"$TMP/agent.log")
	(
		set -e -o pipefail
		"$name" "$@"
	) >"$log" 2>&1 </dev/null
	rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok - $name"
		E2E_PASSED=$((E2E_PASSED + 1))
	else
		echo "not ok - $name"
		E2E_FAILED=$((E2E_FAILED + 1))
		E2E_FAILED_NAMES+=("$name")
		sed 's/^/#   /' "$log" | tail -n 25
		# what the agent said during this case (libbpf chatter left out)
		if tail -n +"$((alines + 1))" "$TMP/agent.log" | grep -v 'libbpf:' | grep -c . >/dev/null; then
			echo "#   --- agent.log during the case (tail)"
			tail -n +"$((alines + 1))" "$TMP/agent.log" | grep -v 'libbpf:' | tail -n 15 |
				sed 's/^/#   /'
		fi
	fi
}

# need_agent: a case that needs a live agent says so plainly when it is not.
need_agent() {
	agent_running && return 0
	fail "the agent is not running (exit status $(cat "$TMP/agent.rc" 2>/dev/null || echo '?');" \
		"last words: $(grep -v 'libbpf:' "$TMP/agent.log" | tail -n 2 | tr '\n' ' '))"
}

e2e_summary() {
	echo "$E2E_PASSED passed, $E2E_FAILED failed"
	[ "$E2E_FAILED" = 0 ]
}

e2e_shell() {
	{
		echo ". '$E2E_DIR/lib.sh'"
		declare -p TMP NODE INET PIN SOCK DNS4 DNS6 PFX RAND UPL_NODE UPL_INET DNS_POD \
			BUILD PODWALL PODWALL_CNI PW_E2E_NO_CNI | sed 's/^declare -[a-z-]* /declare -g /'
		# a failing helper must not end the shell (and with it the topology)
		echo 'fail() { printf "FAIL: %s\n" "$*" >&2; return 1; }'
		echo "PS1='[e2e node \$NODE] \\w# '"
		cat <<-'EOF'
			echo "node netns $NODE, inet $INET, resolver $DNS4 $DNS6, pods: $(ls "$TMP/pods" | tr '\n' ' ')"
			echo "temp dir $TMP (agent.log agent.events inet.log cni.log dnsmasq.log), pins $PIN"
			echo "helpers: cni_add POD NS NAME k=v.., cni_del POD, connect POD IP PORT, udp_send,"
			echo "  dns_query POD SERVER NAME, policy_cidr, agent_start, agent_kill9, in_pod POD cmd.."
			echo "exit: tear everything down"
		EOF
	} >"$TMP/shellrc"
	nsenter --net="/run/netns/$NODE" bash --rcfile "$TMP/shellrc" -i
}

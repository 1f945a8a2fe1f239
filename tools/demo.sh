#!/usr/bin/env bash
# podwall demo: a throwaway "node" on this machine, no cluster needed.
#
# Builds network namespaces (a node with no route to the real network, pods made
# by the real CNI bridge/host-local plugins with podwall-cni chained after them,
# dnsmasq as cluster DNS, and an "internet" namespace with servers on
# documentation addresses), starts the agent, and shows:
#   - a pod allowed one CIDR:port and denied everything else,
#   - a pod allowed by hostname (learned from its own DNS answers),
#   - the denials, with pod, destination, reason and hostname.
# Everything is removed on exit. Usage: tools/demo.sh [BUILD]
set -euo pipefail

BUILD=${1:-build}
export BUILD
# shellcheck source=../tests/e2e/lib.sh
. "$(dirname "$0")/../tests/e2e/lib.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
try() { # LABEL CMD...: run, print allowed/denied
	if "${@:2}" >/dev/null 2>&1; then
		printf '   %-52s \033[32mconnected\033[0m\n' "$1"
	else
		printf '   %-52s \033[31mdenied\033[0m\n' "$1"
	fi
}

# The demo either runs or fails: never a skip that exits 0.
E2E_MUST_RUN=1
E2E_WHAT=demo
[ "$(id -u)" = 0 ] || e2e_cannot_run "must run as root (network namespaces, TC, bpffs): sudo make demo"
# bpffs, as make test does: mounted here if the machine has none
if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
	mount -t bpf bpf /sys/fs/bpf || e2e_cannot_run "bpffs is not mounted at /sys/fs/bpf and mounting it failed"
	echo "demo: mounted bpffs at /sys/fs/bpf"
fi
e2e_require
e2e_init
say "Building the demo node (namespaces $PFX-*), pods and servers"
e2e_setup

policy_write demo "apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: web-egress, namespace: demo}
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
    - toCIDRs: [{cidr: $SRV_A/32}]
      ports: [{port: 443, protocol: TCP}]
---
apiVersion: podwall.io/v1alpha1
kind: EgressPolicy
metadata: {name: coding-agents, namespace: demo}
spec:
  podSelector: {matchLabels: {app: coding-agent}}
  egress:
    - toFQDNs:
        - matchName: allowed.example.test
        - matchPattern: \"*.wild.example.test\"
      ports: [{port: 443, protocol: TCP}]"
echo "   policies ($TMP/policies/demo.yaml):"
sed 's/^/     /' "$TMP/policies/demo.yaml"

say "Starting the agent (trusted resolver: dnsmasq at $DNS4)"
agent_start >/dev/null
cni_add web demo web-0 app=web >/dev/null
cni_add coder demo coder-0 app=coding-agent >/dev/null
cni_add other demo other-0 app=batch >/dev/null
agent_cli endpoints

say "web-0: allowed $SRV_A:443 only (a CIDR rule)"
try "web-0 -> $SRV_A:443" connect web "$SRV_A" 443
try "web-0 -> $SRV_A:80 (port not granted)" connect web "$SRV_A" 80
try "web-0 -> $SRV_B:443 (address not granted)" connect web "$SRV_B" 443

say "coder-0: allowed by hostname; addresses learned from its own DNS answers"
for name in allowed.example.test denied.example.test api.wild.example.test; do
	ip=$(dns_query coder "$DNS4" "$name" A | sed -n 1p)
	printf '   %-30s resolves to %s\n' "$name" "${ip:-?}"
	try "coder-0 -> $name ($ip):443" connect coder "$ip" 443
done

say "other-0: no policy selects it, so Kubernetes' allow-all default holds"
try "other-0 -> $SRV_B:443" connect other "$SRV_B" 443

say "podwall fqdn: what coder-0 learned"
agent_cli fqdn
say "podwall explain: what coder-0 would meet, and what it must do"
agent_cli explain --pod demo/coder-0 --to allowed.example.test:443 || true
agent_cli explain --pod demo/coder-0 --to allowed.example.test:80 || true
agent_cli explain --pod demo/coder-0 --to denied.example.test:443 || true
say "podwall events: what was denied, and why"
agent_cli events
say "podwall events --to-fqdn '*.example.test' -o json --last 1: one JSON object a line"
agent_cli events --to-fqdn '*.example.test' -o json --last 1
say "podwall events -o compact --pod demo/coder- --last 3"
agent_cli events -o compact --pod demo/coder- --last 3
say "The pinned maps are readable with bpftool, e.g. bpftool map dump pinned $PIN/pw_endpoints"
# the first entry only; the dump goes to a file first, so a long dump never
# meets a closed pipe (SIGPIPE under pipefail ended the demo once)
bpftool map dump pinned "$PIN/pw_endpoints" >"$TMP/endpoints.json"
head -n 20 "$TMP/endpoints.json"
say "Done; removing the demo namespaces"

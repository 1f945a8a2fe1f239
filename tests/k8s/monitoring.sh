#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# deploy/monitoring/ without a cluster: the PrometheusRule's rules pass
# `promtool check rules` and promtool's rule unit tests (rules_test.yaml); every
# metric the rules and the Grafana dashboard name is one the agent exports
# (agent/metrics.c); the PodMonitor scrapes the DaemonSet's metrics port, which
# is not 9090, while the probes stay on loopback. One line per case
# ("ok NAME" / "FAIL NAME"), run by validate.sh.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3
MON=deploy/monitoring
WORK=$(mktemp -d /tmp/podwall-monitoring.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

ok() { echo "ok monitoring/$1"; }
bad() { echo "FAIL monitoring/$1"; echo "     $2"; }

if ! command -v promtool >/dev/null; then
	bad promtool "promtool is missing (Debian: prometheus; run 'make deps')"
	exit 0
fi
# The PrometheusRule's spec is a plain rules file.
if "$PY" -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d["kind"] == "PrometheusRule", d["kind"]
yaml.safe_dump(d["spec"], open(sys.argv[2], "w"))' "$MON/prometheusrule.yaml" "$WORK/rules.yaml" 2>"$WORK/err"; then
	if out=$(promtool check rules "$WORK/rules.yaml" 2>&1); then ok check-rules; else bad check-rules "$out"; fi
	cp "$MON/rules_test.yaml" "$WORK/"
	if out=$(cd "$WORK" && promtool test rules rules_test.yaml 2>&1); then ok test-rules; else bad test-rules "$out"; fi
else
	bad check-rules "cannot read $MON/prometheusrule.yaml: $(cat "$WORK/err")"
fi

# Metric names used by the rules and the dashboard, against the agent's.
exported=$(grep -o '"podwall_[a-z0-9_]*"' agent/metrics.c | tr -d '"' | sort -u)
used=$( (cat "$WORK/rules.yaml"; jq -r '.. | .expr? // empty' "$MON/grafana-dashboard.json") |
	grep -o 'podwall_[a-z0-9_]*' | sed -E 's/_(bucket|sum|count)$//' | sort -u)
unknown=$(comm -23 <(echo "$used") <(echo "$exported"))
if [ -z "$used" ]; then
	bad metric-names "no podwall metric found in the rules or the dashboard"
elif [ -n "$unknown" ]; then
	bad metric-names "used but not exported by agent/metrics.c: $(echo $unknown)"
else
	ok metric-names
fi
if jq -e '.panels | length > 0 and all(.[]; (.targets | length) > 0)' "$MON/grafana-dashboard.json" >/dev/null; then
	ok dashboard-json
else
	bad dashboard-json "$MON/grafana-dashboard.json: not JSON, or a panel without a query"
fi

# The DaemonSet serves /metrics on the node address, on the port the
# PodMonitor scrapes by name; probes on loopback; never 9090.
if out=$("$PY" - "$ROOT/deploy/base/daemonset.yaml" "$MON/podmonitor.yaml" <<'PYEOF' 2>&1
import sys, yaml
ds = yaml.safe_load(open(sys.argv[1]))
pm = yaml.safe_load(open(sys.argv[2]))
c = ds["spec"]["template"]["spec"]["containers"][0]
args = c["args"]
addr = args[args.index("--metrics-addr") + 1]
port = int(addr.rsplit(":", 1)[1])
assert addr.startswith("$(NODE_IP):"), "metrics not on the node address: " + addr
assert port != 9090, "metrics on Prometheus' own port 9090"
ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
want = pm["spec"]["podMetricsEndpoints"][0]["port"]
assert ports.get(want) == port, "PodMonitor port %r is not the metrics port %d" % (want, port)
for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
    g = c[probe]["httpGet"]
    assert g["host"] == "127.0.0.1", probe + " not on loopback"
    assert g["port"] != port, probe + " on the metrics port"
sel = pm["spec"]["selector"]["matchLabels"]
labels = ds["spec"]["template"]["metadata"]["labels"]
assert all(labels.get(k) == v for k, v in sel.items()), "PodMonitor selects no agent pod"
PYEOF
); then
	ok daemonset-ports
else
	bad daemonset-ports "$out"
fi

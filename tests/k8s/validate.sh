#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# deploy/ without a cluster: `kubectl kustomize deploy/` renders; the CRD is a
# structural schema; every example passes the CRD schema and the agent's own
# parser; every negative example in tests/k8s/negative/ is refused by both (or,
# where its first line says so, by the agent alone); on generated hostnames and
# CIDRs the schema never accepts what the agent refuses; the DaemonSet's
# install-cni script works on fake k3s trees (install_cni_test.sh; needs
# BUILD/podwall, or PODWALL=path); deploy/monitoring/ passes promtool and
# matches the DaemonSet (monitoring.sh).
#
#   tests/k8s/validate.sh [BUILD]
#
# Uses BUILD/tests/policy_check when present (default build/asan), otherwise
# compiles it into a temporary directory. One line per case, then
# "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${1:-build/asan}
PY=/usr/bin/python3
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
WORK=$(mktemp -d /tmp/podwall-validate.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=tally.sh
. tests/k8s/tally.sh
fail() { # NAME MESSAGE
	failed=$((failed + 1))
	echo "FAIL validate/$1"
	echo "     $2"
}

if ! command -v kubectl >/dev/null; then
	fail kustomize "kubectl is missing (Debian: kubernetes-client; run 'make deps')"
	tally_end
	exit 1
fi
if ! "$PY" -c 'import yaml' 2>/dev/null; then
	fail schema "$PY cannot import yaml (Debian: python3-yaml; run 'make deps')"
	tally_end
	exit 1
fi

if kubectl kustomize deploy/ >"$WORK/rendered.yaml" 2>"$WORK/kustomize.err"; then
	passed=$((passed + 1))
	echo "ok   validate/kustomize"
else
	fail kustomize "$(head -c 600 "$WORK/kustomize.err")"
	tally_end
	exit 1
fi

# kubectl 1.20 (Debian's kubernetes-client) embeds kustomize v2.0.3: every
# kustomization must stick to the fields it knows (no `labels:`, no components).
for k in $(find deploy -name kustomization.yaml | sort); do
	if bad=$("$PY" -c '
import sys, yaml
known = {"apiVersion", "kind", "resources", "bases", "images", "namespace", "namePrefix",
         "nameSuffix", "commonLabels", "commonAnnotations", "patchesStrategicMerge",
         "patchesJson6902", "configMapGenerator", "secretGenerator", "generatorOptions",
         "vars", "crds"}
doc = yaml.safe_load(open(sys.argv[1]))
bad = sorted(set(doc) - known)
print(" ".join(bad))
sys.exit(1 if bad else 0)' "$k"); then
		passed=$((passed + 1))
		echo "ok   validate/kubectl-1.20/$k"
	else
		fail "kubectl-1.20/$k" "fields kubectl 1.20's kustomize does not know: $bad"
	fi
done

# The ClusterEgressPolicy CRD is generated from the EgressPolicy one.
"$PY" tools/gen-cluster-crd.py "$WORK/cluster-crd.yaml"
if cmp -s "$WORK/cluster-crd.yaml" deploy/base/clusterpolicy-crd.yaml; then
	passed=$((passed + 1))
	echo "ok   validate/cluster-crd-generated"
else
	fail cluster-crd-generated "deploy/base/clusterpolicy-crd.yaml is not what crd.yaml gives: run tools/render-manifests.sh"
fi

# The k3s one-step manifest is what deploy/ renders to (compared as data, so a
# kustomize version's formatting does not matter).
if why=$("$PY" -c '
import sys, yaml
def docs(p):
    with open(p) as f:
        return sorted((json_key(d), d) for d in yaml.safe_load_all(f) if d)
def json_key(d):
    return (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])
a, b = docs(sys.argv[1]), docs(sys.argv[2])
if a != b:
    ka, kb = [k for k, _ in a], [k for k, _ in b]
    diff = [k for k in ka if k not in kb] + [k for k in kb if k not in ka]
    if not diff:
        diff = [ka[i] for i in range(len(a)) if a[i][1] != b[i][1]]
    print("differs in %s: run tools/render-manifests.sh" % diff)
    sys.exit(1)' "$WORK/rendered.yaml" deploy/k3s/podwall.yaml 2>&1); then
	passed=$((passed + 1))
	echo "ok   validate/k3s-manifest-matches-deploy"
else
	fail k3s-manifest-matches-deploy "deploy/k3s/podwall.yaml $why"
fi

CHECK=$BUILD/tests/policy_check
if [ ! -x "$CHECK" ]; then
	CHECK=$WORK/policy_check
	gcc -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
		-Wno-missing-field-initializers -Wno-format-truncation -D_GNU_SOURCE \
		-fsanitize=address,undefined -Iinclude -Ilib/core -Ilib/sys tests/k8s/policy_check.c \
		lib/core/*.c -o "$CHECK" -ljansson -lyaml -lldns 2>"$WORK/cc.err" || {
		fail policy_check "cannot build: $(head -c 600 "$WORK/cc.err")"
		tally_end
		exit 1
	}
fi

kubectl kustomize deploy/overlays/k8s-1.31 >"$WORK/cel.yaml" 2>/dev/null || : >"$WORK/cel.yaml"
out=$("$PY" tests/k8s/crd_schema.py --crd deploy/base/crd.yaml --rendered "$WORK/rendered.yaml" \
	--cel-crd "$WORK/cel.yaml" --cluster-crd deploy/base/clusterpolicy-crd.yaml \
	--policy-check "$CHECK" --examples deploy/examples --negative tests/k8s/negative 2>&1)
rc=$?
tally_summary "$out" || fail schema "crd_schema.py ended without a summary (exit $rc)"
# The init container's script on fake k3s trees, with the real podwall binary.
PODWALL=${PODWALL:-$BUILD/podwall}
if [ -x "$PODWALL" ]; then
	tally_lines < <(tests/k8s/install_cni_test.sh "$WORK/rendered.yaml" "$PODWALL" 2>&1)
	# the overlays for other CNI layouts render, and their script works there
	for o in deploy/overlays/*/; do
		o=$(basename "$o")
		if ! kubectl kustomize "deploy/overlays/$o" >"$WORK/overlay-$o.yaml" 2>"$WORK/overlay-$o.err"; then
			fail "overlay/$o" "$(grep -v Warning "$WORK/overlay-$o.err" | head -c 600)"
			continue
		fi
		passed=$((passed + 1))
		echo "ok   validate/overlay/$o renders"
		tally_lines install-cni/ "install-cni/$o/" \
			< <(tests/k8s/install_cni_test.sh "$WORK/overlay-$o.yaml" "$PODWALL" 2>&1)
	done
elif [ "${CI:-}" = true ]; then
	fail install-cni "no podwall binary at $PODWALL (build it first); required under CI=true"
else
	echo "SKIP validate/install-cni: no podwall binary at $PODWALL (build it, or set PODWALL=);" \
		"fails under CI=true" >&2
fi
# deploy/monitoring/: rules (promtool), dashboard, PodMonitor and ports.
tally_lines < <(tests/k8s/monitoring.sh 2>&1)
# tools/kubectl-podwall against a fake kubectl.
tally_lines < <(tests/k8s/kubectl_plugin.sh 2>&1 | grep -v -E '^[0-9]+ passed, [0-9]+ failed$')

tally_end

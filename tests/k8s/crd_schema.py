#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Check deploy/ without a cluster: the CRD is a well-formed structural schema,
every example passes it and the agent's own parser, every negative example is
refused by both (or, where documented, by the agent alone), and on generated
hostnames and CIDRs the schema never accepts what the agent refuses.

    crd_schema.py --crd deploy/base/crd.yaml --rendered RENDERED.yaml \
        --policy-check BIN --examples deploy/examples --negative tests/k8s/negative

Prints "ok   validate/NAME" or "FAIL validate/NAME" per case and a final
"N passed, M failed"; exits 1 on any failure.

The validator covers the OpenAPI subset the CRD uses (type, properties,
required, items, enum, pattern, minimum/maximum, min/maxLength, min/maxItems,
additionalProperties as a schema, anyOf/oneOf/allOf/not) the way the API
server applies it, with kubectl's default strict field validation: a field the
structural schema does not declare is an error, except under
x-kubernetes-preserve-unknown-fields (the spec's objects: kept for the agent,
which refuses it). Null is refused (the agent
treats it as absent; refusing is the stricter side). The CEL rules
(x-kubernetes-validations) it knows are listed in CEL_RULES; an unknown rule is
a failure, never skipped.
"""

import argparse
import ipaddress
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import yaml

def _cidr(s):
    try:
        return ipaddress.ip_network(s, strict=False), ipaddress.ip_interface(s)
    except ValueError:
        return None


def _masked(o):
    c = _cidr(o["cidr"]) if isinstance(o.get("cidr"), str) else None
    return c is None or c[0].network_address == c[1].ip


def _excepts_inside(o):
    c = _cidr(o["cidr"]) if isinstance(o.get("cidr"), str) else None
    if "except" not in o or c is None:
        return True
    for e in o["except"]:
        x = _cidr(e) if isinstance(e, str) else None
        if x is None or x[0].version != c[0].version or not x[0].subnet_of(c[0]):
            return False
    return True


# The Kubernetes CEL rules of deploy/ (and deploy/overlays/k8s-1.31: the IP/CIDR
# library, isCIDR/cidr/masked/containsCIDR, as Kubernetes defines them).
CEL_RULES = {
    "!has(self.endPort) || (has(self.port) && self.endPort >= self.port)":
        lambda o: "endPort" not in o or ("port" in o and o["endPort"] >= o["port"]),
    "!isCIDR(self.cidr) || cidr(self.cidr) == cidr(self.cidr).masked()": _masked,
    "!has(self.except) || !isCIDR(self.cidr) || self.except.all(e, isCIDR(e) && "
    "cidr(self.cidr).containsCIDR(e))": _excepts_inside,
}

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
COMBINATORS = ("anyOf", "oneOf", "allOf")


# ---- validation -----------------------------------------------------------------

def type_ok(t, v):
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    raise ValueError("type %r not supported by this validator" % t)


def check(s, v, path, errs, structural=True):
    """Append to errs what is wrong with v under schema s. structural is False
    inside anyOf/oneOf/allOf/not, where a schema only adds value validations."""
    if v is None:
        errs.append("%s: null is not allowed" % path)
        return
    t = s.get("type")
    if t is not None and not type_ok(t, v):
        errs.append("%s: must be %s" % (path, t))
        return
    if "enum" in s and v not in s["enum"]:
        errs.append("%s: must be one of %s" % (path, ", ".join(map(str, s["enum"]))))
    if isinstance(v, str):
        if "maxLength" in s and len(v) > s["maxLength"]:
            errs.append("%s: longer than %d" % (path, s["maxLength"]))
        if "minLength" in s and len(v) < s["minLength"]:
            errs.append("%s: shorter than %d" % (path, s["minLength"]))
        if "pattern" in s and not re.search(s["pattern"], v):
            errs.append("%s: %r does not match the pattern" % (path, v))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            errs.append("%s: below %s" % (path, s["minimum"]))
        if "maximum" in s and v > s["maximum"]:
            errs.append("%s: above %s" % (path, s["maximum"]))
    if isinstance(v, list):
        if "maxItems" in s and len(v) > s["maxItems"]:
            errs.append("%s: more than %d items" % (path, s["maxItems"]))
        if "minItems" in s and len(v) < s["minItems"]:
            errs.append("%s: fewer than %d items" % (path, s["minItems"]))
        if "items" in s:
            for i, item in enumerate(v):
                check(s["items"], item, "%s[%d]" % (path, i), errs, structural)
    if isinstance(v, dict):
        props = s.get("properties")
        addl = s.get("additionalProperties")
        for k, val in v.items():
            p = "%s.%s" % (path, k) if path else k
            if props is not None and k in props:
                check(props[k], val, p, errs, structural)
            elif isinstance(addl, dict):
                check(addl, val, "%s[%r]" % (path, k), errs, structural)
            elif s.get("x-kubernetes-preserve-unknown-fields"):
                pass  # kept by the API server; the agent refuses it
            elif structural and t == "object" and (props is not None or addl is not None):
                errs.append("%s: unknown field" % p)
        for r in s.get("required", []):
            if r not in v:
                errs.append("%s: %s is required" % (path or "<root>", r))
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            errs.append("%s: more than %d fields" % (path, s["maxProperties"]))
        if "minProperties" in s and len(v) < s["minProperties"]:
            errs.append("%s: fewer than %d fields" % (path, s["minProperties"]))
    for c in COMBINATORS:
        if c not in s:
            continue
        results = []
        for sub in s[c]:
            e = []
            check(sub, v, path, e, structural=False)
            results.append(e)
        good = sum(1 for e in results if not e)
        if c == "anyOf" and not good:
            errs.append("%s: matches none of anyOf (%s)" % (path, "; ".join(results[0])))
        if c == "oneOf" and good != 1:
            errs.append("%s: matches %d of oneOf, must match exactly one" % (path, good))
        if c == "allOf":
            for e in results:
                errs.extend(e)
    if "not" in s:
        e = []
        check(s["not"], v, path, e, structural=False)
        if not e:
            errs.append("%s: matches a forbidden schema (not)" % path)
    for rule in s.get("x-kubernetes-validations", []):
        fn = CEL_RULES.get(rule["rule"])
        if fn is None:
            errs.append("%s: CEL rule unknown to this validator: %s" % (path, rule["rule"]))
        elif not fn(v):
            errs.append("%s: %s" % (path, rule.get("message", rule["rule"])))


def root_schema(crd):
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def validate_object(crd, obj):
    """Errors for one object, as the API server (strict field validation) would give them."""
    errs = []
    if not isinstance(obj, dict):
        return ["not a mapping"]
    g, vers = crd["spec"]["group"], crd["spec"]["versions"][0]["name"]
    if obj.get("apiVersion") != "%s/%s" % (g, vers):
        errs.append("apiVersion must be %s/%s" % (g, vers))
    if obj.get("kind") != crd["spec"]["names"]["kind"]:
        errs.append("kind must be %s" % crd["spec"]["names"]["kind"])
    md = obj.get("metadata") or {}
    # what the API server checks on every custom resource's metadata
    name = md.get("name", "")
    if not isinstance(name, str) or not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
        errs.append("metadata.name: %r is not a DNS subdomain" % (name,))
    ns = md.get("namespace", "default")
    if not isinstance(ns, str) or not DNS1123_LABEL.match(ns) or len(ns) > 63:
        errs.append("metadata.namespace: %r is not a DNS label" % (ns,))
    check(root_schema(crd), obj, "", errs)
    return errs


CLUSTER_CRD = None  # --cluster-crd: checks the ClusterEgressPolicy documents


def validate_file(crd, path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    errs = []
    for i, d in enumerate(docs):
        c = crd
        if CLUSTER_CRD and isinstance(d, dict) and d.get("kind") == "ClusterEgressPolicy":
            c = CLUSTER_CRD
        errs += ["document %d: %s" % (i + 1, e) for e in validate_object(c, d)]
    return errs


# ---- lint: is the CRD something the API server takes? ------------------------------

def lint(crd):
    p = []
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    if crd.get("apiVersion") != "apiextensions.k8s.io/v1":
        p.append("apiVersion must be apiextensions.k8s.io/v1")
    if crd.get("kind") != "CustomResourceDefinition":
        p.append("kind must be CustomResourceDefinition")
    if crd["metadata"]["name"] != "%s.%s" % (names.get("plural"), spec.get("group")):
        p.append("metadata.name must be PLURAL.GROUP")
    for k, want in (("kind", "EgressPolicy"), ("plural", "egresspolicies"),
                    ("singular", "egresspolicy"), ("listKind", "EgressPolicyList")):
        if names.get(k) != want:
            p.append("names.%s must be %s" % (k, want))
    if "egp" not in names.get("shortNames", []):
        p.append("short name egp missing")
    if spec.get("scope") != "Namespaced" or spec.get("group") != "podwall.io":
        p.append("group podwall.io, scope Namespaced expected")
    vers = spec.get("versions", [])
    if [v["name"] for v in vers] != ["v1alpha1"] or not vers[0].get("served") \
            or not vers[0].get("storage"):
        p.append("one version, v1alpha1, served and stored")
    cols = {c["name"]: c for c in vers[0].get("additionalPrinterColumns", [])}
    for want in ("Mode", "Age"):
        if want not in cols:
            p.append("printer column %s missing" % want)
    for c in cols.values():
        if not c["jsonPath"].startswith("."):
            p.append("printer column %s: jsonPath must start with '.'" % c["name"])
        if c["type"] not in ("string", "integer", "number", "boolean", "date"):
            p.append("printer column %s: bad type" % c["name"])
    root = root_schema(crd)
    md = root.get("properties", {}).get("metadata")
    if md is not None and md != {"type": "object"}:
        p.append("metadata: only {type: object} is allowed here")

    def walk(s, path, in_comb, parent_props):
        if not isinstance(s, dict):
            p.append("%s: not a schema" % path)
            return
        if path.startswith("openAPIV3Schema.spec") and not in_comb and "properties" in s \
                and s.get("x-kubernetes-preserve-unknown-fields") is not True:
            p.append("%s: needs x-kubernetes-preserve-unknown-fields: true (a pruned typo "
                     "would silently widen or narrow the policy)" % path)
        if "x-kubernetes-preserve-unknown-fields" in s and "properties" not in s:
            p.append("%s: x-kubernetes-preserve-unknown-fields only beside properties" % path)
        for bad in ("$ref", "x-kubernetes-int-or-string",
                    "uniqueItems", "default", "nullable"):
            if bad in s:
                p.append("%s: %s is not used by this CRD (or not allowed)" % (path, bad))
        if s.get("additionalProperties") is False:
            p.append("%s: additionalProperties: false is refused by the API server" % path)
        if "properties" in s and "additionalProperties" in s:
            p.append("%s: properties and additionalProperties are exclusive" % path)
        if in_comb:
            for bad in ("type", "description", "additionalProperties", "items"):
                if bad in s:
                    p.append("%s: %s inside anyOf/oneOf/allOf/not is not structural" % (path, bad))
            for k in s.get("properties", {}):
                if parent_props is None or k not in parent_props:
                    p.append("%s: property %s inside a combinator is not declared outside"
                             % (path, k))
        elif "type" not in s:
            p.append("%s: type is required in a structural schema" % path)
        for k in ("pattern",):
            if k in s:
                pat = s[k]
                if re.search(r"\(\?[=!<]|\\[1-9]", pat):
                    p.append("%s: pattern uses lookaround/backreferences (RE2 has none)" % path)
                re.compile(pat)
        for r in s.get("x-kubernetes-validations", []):
            if r.get("rule") not in CEL_RULES:
                p.append("%s: CEL rule unknown to the validator: %s" % (path, r.get("rule")))
        props = s.get("properties", {})
        for k, sub in props.items():
            walk(sub, "%s.%s" % (path, k), in_comb, None)
        if isinstance(s.get("additionalProperties"), dict):
            walk(s["additionalProperties"], path + "[*]", in_comb, None)
        if "items" in s:
            walk(s["items"], path + "[]", in_comb, None)
        for c in COMBINATORS:
            for i, sub in enumerate(s.get(c, [])):
                walk(sub, "%s.%s[%d]" % (path, c, i), True, s.get("properties", parent_props))
        if "not" in s:
            walk(s["not"], path + ".not", True, s.get("properties", parent_props))
    walk(root, "openAPIV3Schema", False, None)
    return p


# ---- rendered manifests ---------------------------------------------------------------

def check_rendered(docs):
    p = []
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    want = [("CustomResourceDefinition", "egresspolicies.podwall.io"),
            ("ServiceAccount", "podwall"), ("ClusterRole", "podwall-agent"),
            ("ClusterRoleBinding", "podwall-agent"), ("Role", "podwall-cluster-dns"),
            ("RoleBinding", "podwall-cluster-dns"), ("DaemonSet", "podwall")]
    for k in want:
        if k not in by:
            p.append("missing %s %s" % k)
    if p:
        return p
    for k in want[1:]:
        d = by[k]
        if d["kind"] not in ("ClusterRole", "ClusterRoleBinding") and \
                d["metadata"].get("namespace") != "kube-system":
            p.append("%s %s: not in kube-system" % k)
    # RBAC: what the agent reads, and the writes of its status (nothing more)
    cr = by[("ClusterRole", "podwall-agent")]["rules"]
    got = sorted((tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"])),
                  tuple(r.get("resourceNames", []))) for r in cr)
    if got != sorted([(("",), ("pods",), ("get", "list", "watch"), ()),
                      (("",), ("events",), ("create", "patch"), ()),
                      (("",), ("namespaces",), ("get", "list", "watch"), ()),
                      (("",), ("nodes",), ("get", "list", "watch"), ()),
                      (("",), ("services",), ("list", "watch"), ()),
                      (("discovery.k8s.io",), ("endpointslices",), ("list", "watch"), ()),
                      (("podwall.io",), ("egresspolicies", "clusteregresspolicies"),
                       ("get", "list", "watch"), ()),
                      (("podwall.io",), ("egresspolicies/status",), ("patch",), ())]):
        p.append("ClusterRole grants more (or other) than get/list/watch pods, namespaces, "
                 "nodes, egresspolicies; list/watch services, endpointslices; patch "
                 "egresspolicies/status; create, patch events: %s" % (got,))
    role = by[("Role", "podwall-cluster-dns")]["rules"]
    got = sorted((tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"])),
                  tuple(r.get("resourceNames", []))) for r in role)
    if got != sorted([(("",), ("services",), ("get", "list", "watch"), ("kube-dns",)),
                      (("discovery.k8s.io",), ("endpointslices",), ("get", "list", "watch"), ()),
                      (("coordination.k8s.io",), ("leases",), ("create",), ()),
                      (("coordination.k8s.io",), ("leases",), ("get", "update"),
                       ("podwall-status",))]):
        p.append("Role grants more (or other) than the kube-dns Service and EndpointSlices")
    # the rebinding guard reads the one Service default/kubernetes
    ks = by.get(("Role", "podwall-kubernetes-service"))
    if not ks or ks["metadata"].get("namespace") != "default":
        p.append("missing Role podwall-kubernetes-service in default")
    else:
        got = sorted((tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"])),
                      tuple(r.get("resourceNames", []))) for r in ks["rules"])
        if got != [(("",), ("services",), ("get", "list", "watch"), ("kubernetes",))]:
            p.append("Role podwall-kubernetes-service grants more than the kubernetes Service")
    for b in ("ClusterRoleBinding", "RoleBinding"):
        for d in [x for x in docs if x["kind"] == b]:
            if d["subjects"] != [{"kind": "ServiceAccount", "name": "podwall",
                                  "namespace": "kube-system"}]:
                p.append("%s %s: subject must be the podwall ServiceAccount" %
                         (b, d["metadata"]["name"]))
    # DaemonSet
    ds = by[("DaemonSet", "podwall")]["spec"]["template"]["spec"]
    if not ds.get("hostNetwork") or ds.get("hostPID"):
        p.append("DaemonSet: hostNetwork true, hostPID false expected")
    if ds.get("priorityClassName") != "system-node-critical":
        p.append("DaemonSet: priorityClassName system-node-critical expected")
    if {"operator": "Exists"} not in ds.get("tolerations", []):
        p.append("DaemonSet: must tolerate every taint (operator: Exists)")
    if ds.get("serviceAccountName") != "podwall":
        p.append("DaemonSet: serviceAccountName podwall expected")
    agent = [c for c in ds["containers"] if c["name"] == "agent"][0]
    if not agent.get("securityContext", {}).get("privileged"):
        p.append("agent: privileged expected")
    args = agent.get("args", [])
    if args[:4] != ["agent", "--k8s", "--node-name", "$(NODE_NAME)"]:
        p.append("agent: args must start with agent --k8s --node-name $(NODE_NAME)")
    env = {e["name"]: e for e in agent.get("env", [])}
    if env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") \
            != "spec.nodeName":
        p.append("agent: NODE_NAME from the downward API (spec.nodeName) expected")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        g = agent.get(probe, {}).get("httpGet", {})
        if (g.get("host"), g.get("port"), g.get("path")) != ("127.0.0.1", 9978, path):
            p.append("agent: %s must be httpGet 127.0.0.1:9978%s" % (probe, path))
    res = agent.get("resources", {})
    if not res.get("requests") or not res.get("limits"):
        p.append("agent: resource requests and limits expected")
    vols = {v["name"]: v for v in ds["volumes"]}
    mounts = {m["mountPath"]: m for m in agent["volumeMounts"]}

    def host(m):
        return vols[m["name"]]["hostPath"]["path"]
    want_mounts = {"/sys/fs/bpf": ("/sys/fs/bpf", "Bidirectional"),
                   "/var/run/netns": ("/var/run/netns", "HostToContainer"),
                   "/run/podwall": ("/run/podwall", None),
                   "/var/lib/rancher/k3s/agent/etc/cni/net.d":
                       ("/var/lib/rancher/k3s/agent/etc/cni/net.d", None)}
    for mp, (hp, prop) in want_mounts.items():
        m = mounts.get(mp)
        if not m or host(m) != hp:
            p.append("agent: %s must mount host %s" % (mp, hp))
        elif prop and m.get("mountPropagation") != prop:
            p.append("agent: %s needs mountPropagation %s" % (mp, prop))
    init = [c for c in ds.get("initContainers", []) if c["name"] == "install-cni"]
    if not init:
        p.append("DaemonSet: install-cni init container missing")
    else:
        script = " ".join(init[0].get("args", []))
        for need in ("podwall cni-chain", "podwall-cni", "/var/lib/rancher/k3s/data"):
            if need not in script:
                p.append("install-cni: script lacks %r" % need)
        imounts = {m["mountPath"]: host(m) for m in init[0]["volumeMounts"]}
        for mp in ("/var/lib/rancher/k3s/agent/etc/cni/net.d", "/var/lib/rancher/k3s/data"):
            if imounts.get(mp) != mp:
                p.append("install-cni: %s must be mounted at the same path" % mp)
    return p


# ---- differential: schema vs agent on generated input ------------------------------------

def fqdn_candidates(rng):
    c = {"example.com", "EXAMPLE.com.", "a", "a.", ".", "", "*", "**", "*.", "**.", "*.com",
         "**.s3.amazonaws.com", "***.a.com", "*.*.a.com", "a.*.com", "a*.com", "*a.com",
         "-a-.b_c.d", "a..b", ".a", "a b.com", "xn--bcher-kva.example", "é.com", "a/b",
         "a" * 63 + ".com", "a" * 64 + ".com", "*." + "a" * 63, "**." + "a" * 63}
    long = ".".join(["a" * 63] * 3) + "." + "b" * 61          # 253
    c |= {long, long + ".", long + "b", "*." + long[2:], "**." + long[3:], "**." + long[2:],
          "*." + long[1:], long[:-1] + ".."}
    alphabet = ["a", "Z", "0", "-", "_", ".", "*", "**.", "*.", " ", ":", "a.b"]
    for _ in range(1500):
        c.add("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))))
    return sorted(c)


def cidr_candidates(rng):
    c = {"10.0.0.0/8", "10.0.0.1/8", "0.0.0.0/0", "255.255.255.255/32", "1.2.3.4/33",
         "01.2.3.0/24", "1.2.3.0/024", "1.2.3/24", "1.2.3.0/", "/24", "1.2.3.0/-1",
         "1.2.3.0/+24", "1.2.3.0/ 24", "::/0", "::1/128", "2001:db8::/32", "2001:DB8::/32",
         "2001:db8::/129", "::ffff:10.0.0.0/104", "2001:db8::1.2.3.0/120", "1:2:3:4:5:6:7:8/128",
         "1:2:3:4:5:6:7:8:9/128", "1::2::3/64", ":::/0", "2001:db8:0:0:0:0:0:0/64",
         "fe80::%eth0/64", "10.0.0.0/8 ", " 10.0.0.0/8", "10.0.0.0/8/8"}
    for _ in range(1500):
        if rng.random() < 0.5:
            o = [str(rng.choice([0, 1, 10, 127, 255, 256, rng.randint(0, 300)])) for _ in range(4)]
            s = ".".join(o[:rng.choice([3, 4, 4, 4, 5])])
            s += "/" + str(rng.choice([0, 8, 16, 24, 30, 32, 33, rng.randint(0, 40)]))
        else:
            groups = [rng.choice(["0", "1", "db8", "2001", "ffff", "abcd", "12345", "g"])
                      for _ in range(rng.randint(1, 9))]
            i = rng.randint(0, len(groups))
            s = ":".join(groups[:i]) + rng.choice(["::", ":"]) + ":".join(groups[i:])
            s += "/" + str(rng.choice([0, 32, 48, 64, 128, 129, rng.randint(0, 140)]))
        c.add(s)
    return sorted(c)


def policy_doc(n, fqdn=None, pattern=None, cidr=None):
    if cidr is not None:
        rule = {"toCIDRs": [{"cidr": cidr}]}
    elif pattern is not None:
        rule = {"toFQDNs": [{"matchPattern": pattern}]}
    else:
        rule = {"toFQDNs": [{"matchName": fqdn}]}
    return {"apiVersion": "podwall.io/v1alpha1", "kind": "EgressPolicy",
            "metadata": {"name": "p%d" % n, "namespace": "default"},
            "spec": {"podSelector": {}, "egress": [rule]}}


# What the schema knowingly refuses although the agent accepts it (stricter is
# allowed, but only for these reasons), and what only the agent refuses.
def stricter_ok(kind, value):
    if kind == "cidr":
        return bool(re.search(r"/0[0-9]", value))          # leading zero in the prefix
    return len(value) == 254 and value.endswith(".")        # 253 characters + trailing dot


def agent_only_ok(kind, err):
    return kind == "cidr" and "bits set beyond the prefix" in err


# ---- main -------------------------------------------------------------------------

class Run:
    def __init__(self):
        self.passed = self.failed = 0

    def case(self, name, problems):
        if problems:
            self.failed += 1
            print("FAIL validate/%s" % name)
            for x in problems[:12]:
                print("     %s" % x)
            if len(problems) > 12:
                print("     ... %d more" % (len(problems) - 12))
        else:
            self.passed += 1
            print("ok   validate/%s" % name)
        sys.stdout.flush()


def agent_verdicts(policy_check, files):
    out = subprocess.run([policy_check] + files, capture_output=True, text=True)
    if out.returncode not in (0,):
        raise RuntimeError("policy_check failed: %s" % out.stderr)
    res = {}
    for line in out.stdout.splitlines():
        j = json.loads(line)
        res[j["file"]] = j
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crd", required=True)
    ap.add_argument("--rendered", required=True)
    ap.add_argument("--policy-check", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--negative", required=True)
    ap.add_argument("--cluster-crd", help="deploy/base/clusterpolicy-crd.yaml")
    ap.add_argument("--cel-crd", help="the CRD of deploy/overlays/k8s-1.31 (rendered)")
    ap.add_argument("--cel-refuses", default="cidr-host-bits,cidr-except-outside,cidr-except-family",
                    help="negative examples only the agent refuses, that the CEL CRD must refuse")
    a = ap.parse_args()
    run = Run()

    global CLUSTER_CRD
    with open(a.crd) as f:
        crd = yaml.safe_load(f)
    run.case("crd_structural", lint(crd))
    if a.cluster_crd:
        with open(a.cluster_crd) as f:
            CLUSTER_CRD = yaml.safe_load(f)
    with open(a.rendered) as f:
        rendered = [d for d in yaml.safe_load_all(f) if d]
    run.case("manifests", check_rendered(rendered))
    rcrd = [d for d in rendered if d["kind"] == "CustomResourceDefinition" and d["metadata"]["name"] == "egresspolicies.podwall.io"]
    run.case("rendered_crd_is_deploy_crd",
             [] if rcrd and root_schema(rcrd[0]) == root_schema(crd) else
             ["the CRD in the kustomize output differs from deploy/base/crd.yaml"])

    examples = sorted(os.path.join(a.examples, f) for f in os.listdir(a.examples)
                      if f.endswith(".yaml"))
    negatives = sorted(os.path.join(a.negative, f) for f in os.listdir(a.negative)
                       if f.endswith(".yaml"))
    agent = agent_verdicts(a.policy_check, examples + negatives)
    if len(examples) < 3:
        run.case("examples_present", ["expected at least 3 examples"])
    for f in examples:
        p = ["schema: " + e for e in validate_file(crd, f)]
        if not agent[f]["ok"]:
            p.append("agent: " + agent[f]["error"])
        run.case("example/" + os.path.basename(f), p)

    for f in negatives:
        with open(f) as fh:
            head = fh.readline().strip()
        expect = head.split(":", 1)[1].strip() if head.startswith("# expect:") else "?"
        errs = validate_file(crd, f)
        p = []
        if expect not in ("both", "agent-only"):
            p.append("first line must be '# expect: both' or '# expect: agent-only'")
        if agent[f]["ok"]:
            p.append("the agent accepts it")
        if expect == "both" and not errs:
            p.append("the CRD schema accepts it")
        if expect == "agent-only" and errs:
            p.append("the CRD now refuses it too (%s): mark it '# expect: both'" % errs[0])
        run.case("negative/" + os.path.basename(f)[:-5], p)

    if a.cel_crd:
        with open(a.cel_crd) as f:
            cel = [d for d in yaml.safe_load_all(f) if d and d["kind"] == "CustomResourceDefinition" and d["metadata"]["name"] == "egresspolicies.podwall.io"][0]
        run.case("cel_crd_structural", lint(cel))
        want = set(a.cel_refuses.split(","))
        for f in examples:
            run.case("cel/example/" + os.path.basename(f),
                     ["schema: " + e for e in validate_file(cel, f)])
        for f in negatives:
            name = os.path.basename(f)[:-5]
            errs = validate_file(cel, f)
            if name in want:
                run.case("cel/negative/" + name, [] if errs else
                         ["the Kubernetes 1.31 CRD accepts it (its CEL rule should refuse it)"])
        for n in want:
            if not os.path.exists(os.path.join(a.negative, n + ".yaml")):
                run.case("cel/negative/" + n, ["no such negative example"])

    # differential: generated hostnames and CIDRs through both
    rng = random.Random(5)
    cands = [("name", v) for v in fqdn_candidates(rng)] + \
            [("pattern", v) for v in fqdn_candidates(rng)] + \
            [("cidr", v) for v in cidr_candidates(rng)]
    with tempfile.TemporaryDirectory() as d:
        files = []
        for i, (kind, v) in enumerate(cands):
            doc = policy_doc(i, fqdn=v if kind == "name" else None,
                             pattern=v if kind == "pattern" else None,
                             cidr=v if kind == "cidr" else None)
            fn = os.path.join(d, "c%05d.yaml" % i)
            with open(fn, "w") as fh:
                yaml.safe_dump(doc, fh, allow_unicode=True)
            files.append(fn)
        verdicts = agent_verdicts(a.policy_check, files)
        problems = {"name": [], "pattern": [], "cidr": []}
        counts = {"name": [0, 0], "pattern": [0, 0], "cidr": [0, 0]}
        for (kind, v), fn in zip(cands, files):
            with open(fn) as fh:
                doc = yaml.safe_load(fh)
            s_ok = not validate_object(crd, doc)
            ag = verdicts[fn]
            counts[kind][0] += 1
            if s_ok and not ag["ok"] and not agent_only_ok(kind, ag["error"]):
                problems[kind].append("schema accepts, agent refuses %r: %s" % (v, ag["error"]))
            if not s_ok and ag["ok"]:
                counts[kind][1] += 1
                if not stricter_ok(kind, v):
                    problems[kind].append("schema refuses, agent accepts %r" % v)
        for kind in ("name", "pattern", "cidr"):
            run.case("differential/%s (%d inputs, %d known-stricter)"
                     % (kind, counts[kind][0], counts[kind][1]), problems[kind])

    print("%d passed, %d failed" % (run.passed, run.failed))
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())

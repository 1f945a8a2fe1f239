#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A protocol-faithful fake Kubernetes API server for podwall's client tests.

Python 3 standard library only. Binds 127.0.0.1 only, on free ports chosen by
the kernel, and writes them as JSON to --port-file:
    {"api": 40001, "control": 40002, "scheme": "https"}

The API side (what podwall's k8s client talks to) does what kube-apiserver does
for the few resources podwall uses:
  * LIST  GET /api/v1[/namespaces/NS]/PLURAL, /apis/G/V[/namespaces/NS]/PLURAL
          kind FooList, metadata.resourceVersion, limit/continue paging over a
          consistent snapshot (continue tokens of a compacted revision: 410
          Expired), items without apiVersion/kind for built-in types (custom
          resources keep them, as the real server does), labelSelector
          (k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b)) and fieldSelector
          (metadata.name, metadata.namespace, and spec.nodeName for pods; any
          other field is a 400, as on the real server).
  * WATCH ?watch=1&resourceVersion=RV[&allowWatchBookmarks=true][&timeoutSeconds=T]
          HTTP/1.1 chunked, one JSON event per line: ADDED/MODIFIED/DELETED
          (with selector transitions: an object that starts matching is ADDED,
          one that stops is DELETED), BOOKMARK every --bookmark-interval
          seconds, the stream ends cleanly after timeoutSeconds. A
          resourceVersion older than the retained window (see compact) gets
          an ERROR event {code 410, reason Expired}, or HTTP 410 with
          config gone_as_http. Event bytes are cut into chunks at random
          places, so the client must reassemble lines.
  * Services and EndpointSlices are defaulted and validated on every write
    as the real server does (type ClusterIP, ports' protocol TCP and
    targetPort, a ClusterIP allocated from 10.43.0.0/16 when none is asked
    for and immutable after, clusterIPs and ipFamilies; a slice's addressType
    required and immutable, its addresses of that type, 1..100 per endpoint,
    at most 1000 endpoints): 422 Invalid otherwise.
  * GET of one object: /.../PLURAL/NAME.
  * Writes: POST (create, generateName), PUT (replace; resourceVersion
    precondition, 409 Conflict), PATCH application/merge-patch+json (a
    precondition only when the patch names metadata.resourceVersion), also on
    NAME/status for EgressPolicies, whose status is a subresource: object
    writes keep the status and count spec changes in metadata.generation.
    Leases and Events are stored like the rest; stats["writes"] logs them.
  * Authentication: "Authorization: Bearer T" where T is the content of
    --token-file (re-read on every request), or, over TLS, a client
    certificate signed by --client-ca. Anything else: 401 Status.

The control side (plain HTTP on its own port, no auth, JSON in and out):
  POST /_test/apply        {"resource": "pods", "object": {...}} create/update
  POST /_test/delete       {"resource": "pods", "namespace": NS, "name": N}
  POST /_test/drop-watches {}   cut every open watch (no final chunk)
  POST /_test/compact      {}   forget history: older RVs now 410
  POST /_test/rotate-token {"token": T}  atomically replace --token-file
  POST /_test/config       {"gone_as_http": bool, "bookmark_interval": s,
                            "fail_continue": n, "compact_on_continue": n,
                            "garbage_next_watch": n, "fail_lists": n,
                            "pause_watches": bool, "split_chunks": bool,
                            "forbid": [PLURAL...]}  (403 for those resources,
                            as a Role without the permission)
                           (pause_watches: open watches send nothing, not even
                           bookmarks, until unpaused: changes made meanwhile are
                           "in the gap" for a client whose watch is then cut)
  POST /_test/api-up       {}   start accepting API connections (--api-down)
  GET  /_test/state?resource=R[&fieldSelector=..][&labelSelector=..]
  GET  /_test/stats
"""

import argparse
import base64
import copy
import http.server
import ipaddress
import json
import os
import random
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

# plural -> (group/version as in apiVersion, kind, namespaced, built-in)
RESOURCES = {
    ("", "v1", "pods"): ("v1", "Pod", True),
    ("", "v1", "services"): ("v1", "Service", True),
    ("", "v1", "namespaces"): ("v1", "Namespace", False),
    ("", "v1", "nodes"): ("v1", "Node", False),
    ("discovery.k8s.io", "v1", "endpointslices"): ("discovery.k8s.io/v1", "EndpointSlice", True),
    ("podwall.io", "v1alpha1", "egresspolicies"): ("podwall.io/v1alpha1", "EgressPolicy", True),
    ("podwall.io", "v1alpha1", "clusteregresspolicies"): ("podwall.io/v1alpha1",
                                                          "ClusterEgressPolicy", False),
    ("coordination.k8s.io", "v1", "leases"): ("coordination.k8s.io/v1", "Lease", True),
    ("", "v1", "events"): ("v1", "Event", True),
}
# Custom resources with a status subresource: metadata.generation counts spec
# changes; writes to the object keep its status, /status writes only status.
STATUS_SUBRESOURCE = {"egresspolicies"}
BY_NAME = {plural: key for key, (_, _, _) in RESOURCES.items() for plural in [key[2]]}
CUSTOM = {("podwall.io", "v1alpha1", "egresspolicies"),
          ("podwall.io", "v1alpha1", "clusteregresspolicies")}
FIELD_LABELS = {"pods": {"spec.nodeName"}}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class BadSelector(Exception):
    pass


class Invalid(Exception):
    """A write the real server refuses with 422 Invalid."""


def _ip(s):
    try:
        return ipaddress.ip_address(s)
    except ValueError:
        return None


def default_service(obj, old, alloc):
    """What kube-apiserver does to a Service on write: type ClusterIP, ports'
    protocol TCP and targetPort = port, a ClusterIP allocated from the
    service range when none is asked for (kept across updates, immutable),
    clusterIPs from clusterIP, ipFamilies from them; a headless Service
    (clusterIP None) keeps None; ExternalName gets none."""
    spec = obj.setdefault("spec", {})
    name = obj["metadata"]["name"]
    typ = spec.setdefault("type", "ClusterIP")
    if typ not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        raise Invalid('Service "%s" is invalid: spec.type: Unsupported value: "%s"' % (name, typ))
    ports = spec.get("ports") or []
    if not ports and typ != "ExternalName" and spec.get("clusterIP") != "None":
        raise Invalid('Service "%s" is invalid: spec.ports: Required value' % name)
    for i, p in enumerate(ports):
        if not isinstance(p.get("port"), int) or not 1 <= p["port"] <= 65535:
            raise Invalid('Service "%s" is invalid: spec.ports[%d].port: Invalid value' % (name, i))
        p.setdefault("protocol", "TCP")
        if p["protocol"] not in ("TCP", "UDP", "SCTP"):
            raise Invalid('Service "%s" is invalid: spec.ports[%d].protocol: Unsupported value'
                          % (name, i))
        p.setdefault("targetPort", p["port"])
    if typ == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
        return
    old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
    want = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
    if old_ip and want and want != old_ip:
        raise Invalid('Service "%s" is invalid: spec.clusterIPs[0]: Invalid value: []string{"%s"}:'
                      ' may not change once set' % (name, want))
    ip = want or old_ip or alloc()
    if ip != "None" and _ip(ip) is None:
        raise Invalid('Service "%s" is invalid: spec.clusterIP: Invalid value: "%s"' % (name, ip))
    spec["clusterIP"] = ip
    ips = spec.get("clusterIPs") or [ip]
    if ips[0] != ip:
        raise Invalid('Service "%s" is invalid: spec.clusterIPs[0]: must match clusterIP' % name)
    spec["clusterIPs"] = ips
    if ip != "None":
        spec["ipFamilies"] = ["IPv4" if _ip(a).version == 4 else "IPv6" for a in ips]


def default_slice(obj, old):
    """An EndpointSlice as the real server checks it: addressType required
    and immutable, at most 1000 endpoints of 1 to 100 addresses of that
    type, ports' protocol TCP by default."""
    name = obj["metadata"]["name"]
    typ = obj.get("addressType")
    if typ not in ("IPv4", "IPv6", "FQDN"):
        raise Invalid('EndpointSlice "%s" is invalid: addressType: Required value' % name)
    if old and old.get("addressType") != typ:
        raise Invalid('EndpointSlice "%s" is invalid: addressType: field is immutable' % name)
    eps = obj.get("endpoints") or []
    if len(eps) > 1000:
        raise Invalid('EndpointSlice "%s" is invalid: endpoints: Too many' % name)
    for i, ep in enumerate(eps):
        addrs = ep.get("addresses") or []
        if not 1 <= len(addrs) <= 100:
            raise Invalid('EndpointSlice "%s" is invalid: endpoints[%d].addresses: Invalid value'
                          % (name, i))
        for a in addrs:
            ip = _ip(a) if typ != "FQDN" else None
            if typ != "FQDN" and (ip is None or ip.version != (4 if typ == "IPv4" else 6)):
                raise Invalid('EndpointSlice "%s" is invalid: endpoints[%d].addresses: Invalid '
                              'value: "%s": must be a valid %s address' % (name, i, a, typ))
    obj["endpoints"] = eps
    for p in obj.get("ports") or []:
        p.setdefault("protocol", "TCP")


def parse_label_selector(s):
    """A list of predicates over a labels dict."""
    preds = []
    if not s:
        return preds
    # split on commas outside parentheses
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in (x.strip() for x in parts):
        if not p:
            raise BadSelector("empty requirement")
        words = p.split()
        if len(words) >= 3 and words[1] in ("in", "notin"):
            key, op = words[0], words[1]
            rest = p.split(None, 2)[2].strip()
            if not (rest.startswith("(") and rest.endswith(")")):
                raise BadSelector(p)
            vals = {v.strip() for v in rest[1:-1].split(",")}
            if op == "in":
                preds.append(lambda l, k=key, v=vals: l.get(k) in v)
            else:
                preds.append(lambda l, k=key, v=vals: l.get(k) not in v)
        elif "!=" in p:
            k, v = p.split("!=", 1)
            preds.append(lambda l, k=k.strip(), v=v.strip(): l.get(k) != v)
        elif "==" in p:
            k, v = p.split("==", 1)
            preds.append(lambda l, k=k.strip(), v=v.strip(): l.get(k) == v)
        elif "=" in p:
            k, v = p.split("=", 1)
            preds.append(lambda l, k=k.strip(), v=v.strip(): l.get(k) == v)
        elif p.startswith("!"):
            preds.append(lambda l, k=p[1:].strip(): k not in l)
        else:
            preds.append(lambda l, k=p: k in l)
    return preds


def field_value(obj, field):
    cur = obj
    for part in field.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    return "" if cur is None else str(cur)


def parse_field_selector(s, plural):
    preds = []
    if not s:
        return preds
    allowed = {"metadata.name", "metadata.namespace"} | FIELD_LABELS.get(plural, set())
    for p in s.split(","):
        if "!=" in p:
            f, v = p.split("!=", 1)
            neg = True
        elif "==" in p:
            f, v = p.split("==", 1)
            neg = False
        elif "=" in p:
            f, v = p.split("=", 1)
            neg = False
        else:
            raise BadSelector(p)
        if f not in allowed:
            raise BadSelector('"%s" is not a known field selector: only "%s"' %
                              (f, '", "'.join(sorted(allowed))))
        if neg:
            preds.append(lambda o, f=f, v=v: field_value(o, f) != v)
        else:
            preds.append(lambda o, f=f, v=v: field_value(o, f) == v)
    return preds


class Matcher:
    def __init__(self, plural, namespace, label_sel, field_sel):
        self.plural = plural
        self.namespace = namespace
        self.labels = parse_label_selector(label_sel)
        self.fields = parse_field_selector(field_sel, plural)

    def __call__(self, obj):
        if obj is None:
            return False
        md = obj.get("metadata", {})
        if self.namespace and md.get("namespace") != self.namespace:
            return False
        labels = md.get("labels") or {}
        return all(p(labels) for p in self.labels) and all(p(obj) for p in self.fields)


class Store:
    def __init__(self, args):
        self.lock = threading.Condition()
        self.rv = 100
        self.objects = {plural: {} for plural in BY_NAME}
        self.history = []  # (rv, plural, type, old, new)
        self.compacted = 0  # watches from an RV below this get 410
        self.snapshots = {}  # id -> (rv, [objects])
        self.drop_gen = 0
        self.config = {"gone_as_http": False, "bookmark_interval": args.bookmark_interval,
                       "fail_continue": 0, "compact_on_continue": 0, "garbage_next_watch": 0,
                       "fail_lists": 0, "split_chunks": True, "pause_watches": False,
                       "forbid": []}
        self.stats = {"requests": 0, "unauthorized": 0, "lists": {}, "continues": {},
                      "watches": {}, "watch_rvs": {}, "gone": 0, "open_watches": 0,
                      "auth_tokens": [], "client_certs": 0}

    def alloc_cluster_ip(self):
        """The next free address of the fake service range (10.43.0.0/16, as k3s)."""
        used = {(o.get("spec") or {}).get("clusterIP") for o in self.objects["services"].values()}
        for n in range(10, 65000):
            ip = "10.43.%d.%d" % (n // 256, n % 256)
            if ip not in used:
                return ip
        raise Invalid("the service range is full")

    def bump(self, key, plural):
        self.stats[key][plural] = self.stats[key].get(plural, 0) + 1

    def apply(self, plural, obj):
        with self.lock:
            api_version, kind, namespaced = RESOURCES[BY_NAME[plural]]
            obj = copy.deepcopy(obj)
            md = obj.setdefault("metadata", {})
            if namespaced:
                md.setdefault("namespace", "default")
            key = (md.get("namespace", ""), md["name"])
            old = self.objects[plural].get(key)
            if plural == "services":
                default_service(obj, old, self.alloc_cluster_ip)
            elif plural == "endpointslices":
                default_slice(obj, old)
            self.rv += 1
            md["resourceVersion"] = str(self.rv)
            if old:
                md["uid"] = old["metadata"]["uid"]
                md["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            else:
                md.setdefault("uid", str(uuid.uuid4()))
                md.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime()))
            md["managedFields"] = [{"manager": "fake", "operation": "Update"}]
            if plural in STATUS_SUBRESOURCE:
                if old:
                    same = old.get("spec") == obj.get("spec")
                    md["generation"] = old["metadata"].get("generation", 1) + (0 if same else 1)
                    if "status" in old:
                        obj["status"] = copy.deepcopy(old["status"])
                    else:
                        obj.pop("status", None)
                else:
                    md["generation"] = 1
                    obj.pop("status", None)
            obj["apiVersion"] = api_version
            obj["kind"] = kind
            self.objects[plural][key] = obj
            self.history.append((self.rv, plural, "MODIFIED" if old else "ADDED", old, obj))
            self.lock.notify_all()
            return obj

    def replace(self, plural, obj, status_only=False):
        """An API write (PUT, /status PATCH): resourceVersion precondition
        when the object names one; returns (code, object or Status)."""
        with self.lock:
            md = obj.get("metadata", {})
            key = (md.get("namespace", ""), md.get("name"))
            old = self.objects[plural].get(key)
            if old is None:
                return 404, status(404, "NotFound", '%s "%s" not found' % (plural, key[1]))
            want_rv = md.get("resourceVersion")
            if want_rv and want_rv != old["metadata"]["resourceVersion"]:
                self.stats["conflicts"] = self.stats.get("conflicts", 0) + 1
                return 409, status(409, "Conflict", "Operation cannot be fulfilled on %s \"%s\": "
                                   "the object has been modified; please apply your changes to "
                                   "the latest version and try again" % (plural, key[1]))
            new = copy.deepcopy(old)
            if status_only:
                new["status"] = copy.deepcopy(obj.get("status"))
            else:
                new = copy.deepcopy(obj)
                new["metadata"]["uid"] = old["metadata"]["uid"]
                new["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"]
                try:
                    if plural == "services":
                        default_service(new, old, self.alloc_cluster_ip)
                    elif plural == "endpointslices":
                        default_slice(new, old)
                except Invalid as e:
                    return 422, status(422, "Invalid", str(e))
            self.rv += 1
            new["metadata"]["resourceVersion"] = str(self.rv)
            new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
            self.objects[plural][key] = new
            self.history.append((self.rv, plural, "MODIFIED", old, new))
            self.lock.notify_all()
            return 200, copy.deepcopy(new)

    def delete(self, plural, namespace, name):
        with self.lock:
            old = self.objects[plural].pop((namespace or "", name), None)
            if old is None:
                return None
            self.rv += 1
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self.history.append((self.rv, plural, "DELETED", old, gone))
            self.lock.notify_all()
            return gone

    def compact(self):
        with self.lock:
            # History is kept (a watch already past this point must still see
            # what follows); only new watches from an older RV are refused.
            self.compacted = self.rv
            for sid in [s for s, (rv, _) in self.snapshots.items() if rv < self.compacted]:
                del self.snapshots[sid]
            self.lock.notify_all()

    def listing(self, plural, matcher):
        items = [o for (_, o) in sorted(self.objects[plural].items()) if matcher(o)]
        return copy.deepcopy(items)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = False


class ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver/1"

    def log_message(self, fmt, *a):
        if self.server.args.verbose:
            sys.stderr.write("fake-apiserver: " + (fmt % a) + "\n")

    # -- plumbing --
    def send_json(self, code, obj, extra=None):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_status(self, code, reason, message):
        self.send_json(code, status(code, reason, message))

    @property
    def store(self):
        return self.server.store

    def authenticated(self):
        st = self.store
        try:
            peer = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") \
                else None
        except (ValueError, OSError):
            peer = None
        if peer:
            with st.lock:
                st.stats["client_certs"] += 1
            return True
        auth = self.headers.get("Authorization", "")
        presented = auth[7:] if auth.startswith("Bearer ") else None
        want = None
        if self.server.args.token_file:
            try:
                with open(self.server.args.token_file) as f:
                    want = f.read().strip()
            except OSError:
                want = None
        with st.lock:
            st.stats["requests"] += 1
            if presented is not None:
                st.stats["auth_tokens"].append(presented)
                del st.stats["auth_tokens"][:-50]
            ok = want is not None and presented == want
            if not ok:
                st.stats["unauthorized"] += 1
        return ok

    def route(self, path):
        """(plural, namespace, name) or None."""
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        ns = None
        if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
            ns, rest = rest[1], rest[2:]
        sub = None
        if len(rest) == 3 and rest[2] == "status" and rest[0] in STATUS_SUBRESOURCE:
            sub, rest = "status", rest[:2]
        if not rest or len(rest) > 2:
            return None
        key = (group, version, rest[0])
        if key not in RESOURCES:
            return None
        self.subresource = sub
        return rest[0], ns, rest[1] if len(rest) == 2 else None

    # -- requests --
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        if not self.authenticated():
            self.send_status(401, "Unauthorized", "Unauthorized")
            return
        r = self.route(url.path)
        if r is None:
            self.send_status(404, "NotFound", "the server could not find the requested resource")
            return
        plural, ns, name = r
        if plural in self.store.config["forbid"]:
            self.send_status(403, "Forbidden",
                             '%s is forbidden: User "system:serviceaccount:podwall:podwall" '
                             'cannot list resource "%s"' % (plural, plural))
            return
        try:
            matcher = Matcher(plural, ns, q.get("labelSelector"), q.get("fieldSelector"))
        except BadSelector as e:
            self.send_status(400, "BadRequest", "unable to parse requirement: %s" % e)
            return
        if name:
            with self.store.lock:
                obj = self.store.objects[plural].get((ns or "", name))
            if obj is None:
                self.send_status(404, "NotFound", '%s "%s" not found' % (plural, name))
            else:
                self.send_json(200, obj)
            return
        if q.get("watch") in ("1", "true"):
            self.watch(plural, matcher, q)
        else:
            self.list(plural, matcher, q)

    # -- writes: POST (create), PUT (replace), PATCH (merge patch) --
    def write_target(self):
        if not self.authenticated():
            self.send_status(401, "Unauthorized", "Unauthorized")
            return None
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        r = self.route(urllib.parse.urlsplit(self.path).path)
        if r is None:
            self.send_status(404, "NotFound", "the server could not find the requested resource")
            return None
        if r[0] in self.store.config["forbid"]:
            self.send_status(403, "Forbidden", "%s is forbidden" % r[0])
            return None
        try:
            body = json.loads(raw.decode() or "null")
        except ValueError:
            self.send_status(400, "BadRequest", "invalid JSON")
            return None
        with self.store.lock:
            self.store.stats.setdefault("writes", []).append(
                [self.command, self.path, body])
            del self.store.stats["writes"][:-200]
        return r, body

    def do_POST(self):
        t = self.write_target()
        if t is None:
            return
        (plural, ns, name), body = t
        if name or not isinstance(body, dict):
            self.send_status(405, "MethodNotAllowed", "POST to a collection only")
            return
        md = body.setdefault("metadata", {})
        md["namespace"] = ns or md.get("namespace", "default")
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
        with self.store.lock:
            if (md["namespace"], md.get("name")) in self.store.objects[plural]:
                self.send_status(409, "AlreadyExists", '%s "%s" already exists' % (plural, md["name"]))
                return
        try:
            self.send_json(201, self.store.apply(plural, body))
        except Invalid as e:
            self.send_status(422, "Invalid", str(e))

    def do_PUT(self):
        t = self.write_target()
        if t is None:
            return
        (plural, ns, name), body = t
        body.setdefault("metadata", {}).update({"namespace": ns or "", "name": name})
        code, out = self.store.replace(plural, body, status_only=self.subresource == "status")
        self.send_json(code, out)

    def do_PATCH(self):
        t = self.write_target()
        if t is None:
            return
        (plural, ns, name), patch = t
        if self.headers.get("Content-Type", "").split(";")[0] != "application/merge-patch+json":
            self.send_status(415, "UnsupportedMediaType", "only merge patches here")
            return
        with self.store.lock:
            old = self.store.objects[plural].get((ns or "", name))
            cur = copy.deepcopy(old) if old else None
        if cur is None:
            self.send_status(404, "NotFound", '%s "%s" not found' % (plural, name))
            return

        def merge(target, p):  # RFC 7386
            if not isinstance(p, dict):
                return copy.deepcopy(p)
            out = dict(target) if isinstance(target, dict) else {}
            for k, v in p.items():
                if v is None:
                    out.pop(k, None)
                else:
                    out[k] = merge(out.get(k), v)
            return out
        new = merge(cur, patch)
        # a precondition only if the patch itself names a resourceVersion
        want_rv = (patch.get("metadata") or {}).get("resourceVersion")
        new["metadata"]["resourceVersion"] = want_rv or cur["metadata"]["resourceVersion"]
        code, out = self.store.replace(plural, new, status_only=self.subresource == "status")
        self.send_json(code, out)

    def list(self, plural, matcher, q):
        st = self.store
        api_version, kind, _ = RESOURCES[BY_NAME[plural]]
        custom = BY_NAME[plural] in CUSTOM
        try:
            limit = int(q.get("limit", "0") or "0")
        except ValueError:
            self.send_status(400, "BadRequest", "limit: not an integer")
            return
        cont = q.get("continue")
        with st.lock:
            if st.config["fail_lists"] > 0 and not cont:
                st.config["fail_lists"] -= 1
                self.send_status(500, "InternalError", "injected list failure")
                return
            if cont:
                st.bump("continues", plural)
                if st.config["compact_on_continue"] > 0:
                    st.config["compact_on_continue"] -= 1
                    st.rv += 1  # some write elsewhere, then a compaction past it
                    st.compact()  # (the lock is reentrant)
                if st.config["fail_continue"] > 0:
                    st.config["fail_continue"] -= 1
                    self.send_status(500, "InternalError", "injected failure of a continue page")
                    return
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont.encode()))
                    sid, offset, rv = tok["s"], int(tok["o"]), int(tok["rv"])
                except (ValueError, KeyError, TypeError):
                    self.send_status(400, "BadRequest", "continue key is not valid")
                    return
                if rv < st.compacted or sid not in st.snapshots:
                    st.stats["gone"] += 1
                    self.send_status(410, "Expired",
                                     "The provided continue parameter is too old to display a "
                                     "consistent list result. You can start a new list without "
                                     "the continue parameter.")
                    return
                snap_rv, items = st.snapshots[sid]
            else:
                st.bump("lists", plural)
                sid, offset, snap_rv = uuid.uuid4().hex, 0, st.rv
                items = st.listing(plural, matcher)
            page = items[offset:offset + limit] if limit > 0 else items[offset:]
            more = limit > 0 and offset + limit < len(items)
            md = {"resourceVersion": str(snap_rv)}
            if more:
                st.snapshots[sid] = (snap_rv, items)
                md["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"s": sid, "o": offset + limit, "rv": snap_rv}).encode()).decode()
                md["remainingItemCount"] = len(items) - offset - limit
            else:
                st.snapshots.pop(sid, None)
        out = []
        for o in page:
            o = copy.deepcopy(o)
            if not custom:  # the real server leaves these out of built-in list items
                o.pop("apiVersion", None)
                o.pop("kind", None)
            out.append(o)
        self.send_json(200, {"kind": kind + "List", "apiVersion": api_version, "metadata": md,
                             "items": out})

    def chunk(self, data):
        if not data:
            return
        if self.store.config.get("split_chunks"):
            pieces, i = [], 0
            while i < len(data):
                n = random.randint(1, max(1, min(len(data) - i, 700)))
                pieces.append(data[i:i + n])
                i += n
        else:
            pieces = [data]
        for p in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
        self.wfile.flush()

    def watch(self, plural, matcher, q):
        st = self.store
        api_version, kind, _ = RESOURCES[BY_NAME[plural]]
        rv_s = q.get("resourceVersion", "")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        try:
            timeout = float(q.get("timeoutSeconds", "1800") or "1800")
            from_rv = int(rv_s) if rv_s not in ("", "0") else None
        except ValueError:
            self.send_status(400, "BadRequest", "resourceVersion/timeoutSeconds: not a number")
            return
        with st.lock:
            st.bump("watches", plural)
            st.stats["watch_rvs"].setdefault(plural, []).append(rv_s)
            gone = from_rv is not None and from_rv < st.compacted
            if gone:
                st.stats["gone"] += 1
                as_http = st.config["gone_as_http"]
            garbage = st.config["garbage_next_watch"] > 0
            if garbage:
                st.config["garbage_next_watch"] -= 1
            gen = st.drop_gen
        msg = "too old resource version: %s (%d)" % (rv_s, st.compacted)
        if gone and as_http:
            self.send_status(410, "Expired", msg)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if gone:
            self.chunk((json.dumps({"type": "ERROR", "object": status(410, "Expired", msg)})
                        + "\n").encode())
            self.chunk(b"")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        if garbage:
            self.chunk(b'{"type": "ADDED", "object": {"metadata": \n')
        with st.lock:
            st.stats["open_watches"] += 1
        try:
            self.stream(plural, matcher, from_rv, timeout, bookmarks, gen, kind, api_version)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            with st.lock:
                st.stats["open_watches"] -= 1

    def stream(self, plural, matcher, from_rv, timeout, bookmarks, gen, kind, api_version):
        st = self.store
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + st.config["bookmark_interval"]
        with st.lock:
            if from_rv is None:  # "" / "0": synthetic ADDED for the current state
                pending = [{"type": "ADDED", "object": o}
                           for o in st.listing(plural, matcher)]
                pos_rv = st.rv
            else:
                pending, pos_rv = [], from_rv
        while True:
            out = []
            with st.lock:
                while True:
                    now = time.monotonic()
                    if st.drop_gen != gen:
                        self.close_connection = True
                        # cut the connection mid-stream: no terminating chunk
                        try:
                            self.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return
                    paused = st.config["pause_watches"]
                    new = [] if paused else [h for h in st.history
                                             if h[0] > pos_rv and h[1] == plural]
                    if pending or new or now >= deadline or \
                            (bookmarks and not paused and now >= next_bookmark):
                        break
                    st.lock.wait(max(0.001, min(deadline, next_bookmark if bookmarks
                                                else deadline) - now))
                for rv, _, typ, old, obj in new:
                    m_old, m_new = matcher(old), matcher(obj)
                    if typ == "ADDED" and m_new:
                        out.append({"type": "ADDED", "object": obj})
                    elif typ == "MODIFIED":
                        if m_old and m_new:
                            out.append({"type": "MODIFIED", "object": obj})
                        elif m_new:
                            out.append({"type": "ADDED", "object": obj})
                        elif m_old:
                            out.append({"type": "DELETED", "object": obj})
                    elif typ == "DELETED" and m_old:
                        out.append({"type": "DELETED", "object": obj})
                if new:
                    pos_rv = new[-1][0]
                out = pending + out
                pending = []
                now = time.monotonic()
                if bookmarks and not paused and now >= next_bookmark:
                    pos_rv = max(pos_rv, st.rv)
                    out.append({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": api_version,
                        "metadata": {"resourceVersion": str(st.rv)}}})
                    next_bookmark = now + st.config["bookmark_interval"]
                out = [json.loads(json.dumps(e)) for e in out]
            if out:
                self.chunk("".join(json.dumps(e) + "\n" for e in out).encode())
            if time.monotonic() >= deadline:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        if self.server.args.verbose:
            sys.stderr.write("fake-apiserver control: " + (fmt % a) + "\n")

    def reply(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.store
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/_test/stats":
            with st.lock:
                s = copy.deepcopy(st.stats)
                s["rv"] = st.rv
                s["compacted"] = st.compacted
            self.reply(200, s)
        elif url.path == "/_test/state":
            plural = q.get("resource", "")
            if plural not in BY_NAME:
                self.reply(404, {"error": "unknown resource"})
                return
            m = Matcher(plural, q.get("namespace"), q.get("labelSelector"),
                        q.get("fieldSelector"))
            with st.lock:
                items = {"%s/%s" % (o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                         for o in st.listing(plural, m)}
                rv = st.rv
            self.reply(200, {"resourceVersion": str(rv), "items": items})
        else:
            self.reply(404, {"error": "no such control endpoint"})

    def do_POST(self):
        st = self.server.store
        n = int(self.headers.get("Content-Length", "0") or "0")
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            self.reply(400, {"error": "body is not JSON"})
            return
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path == "/_test/apply":
                try:
                    self.reply(200, st.apply(req["resource"], req["object"]))
                except Invalid as e:
                    self.reply(422, status(422, "Invalid", str(e)))
            elif path == "/_test/delete":
                gone = st.delete(req["resource"], req.get("namespace"), req["name"])
                self.reply(200 if gone else 404, gone or {"error": "not found"})
            elif path == "/_test/drop-watches":
                with st.lock:
                    st.drop_gen += 1
                    st.lock.notify_all()
                self.reply(200, {})
            elif path == "/_test/compact":
                st.compact()
                self.reply(200, {"compacted": st.compacted})
            elif path == "/_test/rotate-token":
                tf = self.server.args.token_file
                tmp = tf + ".tmp"
                with open(tmp, "w") as f:
                    f.write(req["token"])
                os.replace(tmp, tf)
                self.reply(200, {})
            elif path == "/_test/config":
                with st.lock:
                    for k, v in req.items():
                        if k not in st.config:
                            raise KeyError(k)
                        st.config[k] = v
                    st.lock.notify_all()
                self.reply(200, st.config)
            elif path == "/_test/api-up":
                self.server.api_up()
                self.reply(200, {})
            else:
                self.reply(404, {"error": "no such control endpoint"})
        except (KeyError, TypeError) as e:
            self.reply(400, {"error": "bad request: %r" % (e,)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token-file", help="accepted bearer token (re-read on every request)")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca", help="accept client certificates signed by this CA")
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("--api-down", action="store_true",
                    help="reserve the API port but refuse connections until /_test/api-up")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    random.seed(args.seed)

    store = Store(args)
    api = Server(("127.0.0.1", 0), ApiHandler, bind_and_activate=False)
    api.args, api.store = args, store
    api.server_bind()
    scheme = "http"
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.load_verify_locations(args.client_ca)
        api.socket = ctx.wrap_socket(api.socket, server_side=True)
        scheme = "https"

    started = threading.Event()

    def api_up():
        if started.is_set():
            return
        started.set()
        api.server_activate()
        threading.Thread(target=api.serve_forever, daemon=True).start()

    ctl = Server(("127.0.0.1", 0), ControlHandler)
    ctl.args, ctl.store, ctl.api_up = args, store, api_up
    if not args.api_down:
        api_up()
    ports = {"api": api.server_address[1], "control": ctl.server_address[1], "scheme": scheme}
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.replace(tmp, args.port_file)
    try:
        ctl.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

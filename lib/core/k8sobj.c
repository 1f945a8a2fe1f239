// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * k8sobj: Kubernetes objects and list/watch envelopes, JSON to structs (see
 * k8sobj.h). Every field is type-checked before use: Pods are written by the
 * tenants whose egress podwall restricts.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipaddr.h"
#include "k8sobj.h"

int pw_k8s_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int pw_k8s_addr_cmp(const struct pw_k8s_addr *a, const struct pw_k8s_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(&a->ip, &b->ip, sizeof(a->ip));
}

static int addr_qcmp(const void *x, const void *y)
{
	return pw_k8s_addr_cmp(x, y);
}

/* ---- envelopes ------------------------------------------------------------------ */

static const char *const event_types[] = {
	[PW_K8S_EV_ADDED] = "ADDED",	 [PW_K8S_EV_MODIFIED] = "MODIFIED",
	[PW_K8S_EV_DELETED] = "DELETED", [PW_K8S_EV_BOOKMARK] = "BOOKMARK",
	[PW_K8S_EV_ERROR] = "ERROR",
};

void pw_k8s_event_free(struct pw_k8s_event *ev)
{
	json_decref(ev->doc);
	memset(ev, 0, sizeof(*ev));
}

int pw_k8s_event_decode(const char *line, size_t len, struct pw_k8s_event *ev, char *why,
			size_t whylen)
{
	const char *type, *reason;
	json_error_t jerr;
	size_t t;

	memset(ev, 0, sizeof(*ev));
	ev->doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!ev->doc)
		return pw_k8s_errf(why, whylen, "event is not JSON: %s", jerr.text);
	type = json_string_value(json_object_get(ev->doc, "type"));
	ev->object = json_object_get(ev->doc, "object");
	if (!type || !json_is_object(ev->object)) {
		pw_k8s_event_free(ev);
		return pw_k8s_errf(why, whylen, "event without type or object");
	}
	for (t = 0; t < sizeof(event_types) / sizeof(event_types[0]); t++)
		if (!strcmp(type, event_types[t]))
			break;
	if (t == sizeof(event_types) / sizeof(event_types[0])) {
		pw_k8s_errf(why, whylen, "unknown event type \"%.32s\"", type);
		pw_k8s_event_free(ev);
		return -EINVAL;
	}
	ev->type = (enum pw_k8s_event_type)t;
	if (ev->type != PW_K8S_EV_ERROR)
		return 0;
	ev->code = json_integer_value(json_object_get(ev->object, "code"));
	reason = json_string_value(json_object_get(ev->object, "reason"));
	ev->reason = reason ? reason : "";
	ev->message = json_string_value(json_object_get(ev->object, "message")) ?: "";
	ev->gone = ev->code == 410 ||
		   (!ev->code && reason && (!strcmp(reason, "Expired") || !strcmp(reason, "Gone")));
	return 0;
}

int pw_k8s_list_decode(const json_t *body, struct pw_k8s_list *out)
{
	const json_t *md = json_object_get(body, "metadata");
	const json_t *items = json_object_get(body, "items");

	memset(out, 0, sizeof(*out));
	if (!json_is_object(md) || (items && !json_is_array(items) && !json_is_null(items)))
		return -EINVAL;
	out->items = json_is_array(items) ? items : NULL;
	out->cont = json_string_value(json_object_get(md, "continue"));
	out->resource_version = json_string_value(json_object_get(md, "resourceVersion"));
	return 0;
}

const char *pw_k8s_object_rv(const json_t *obj)
{
	return json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

int pw_k8s_object_key(const json_t *obj, bool cluster_scoped, char *key, size_t keylen, char *why,
		      size_t whylen)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns, *name;

	if (!json_is_object(obj) || !json_is_object(md))
		return pw_k8s_errf(why, whylen, "object without metadata");
	ns = json_string_value(json_object_get(md, "namespace"));
	name = json_string_value(json_object_get(md, "name"));
	if (cluster_scoped && !ns)
		ns = ""; /* cluster-scoped: key "/NAME" */
	if (!ns || (!*ns && !cluster_scoped) || !name || !*name)
		return pw_k8s_errf(why, whylen, "object without metadata.namespace/name");
	if (strchr(ns, '/') || strchr(name, '/')) /* the API never has one: keys stay unique */
		return pw_k8s_errf(why, whylen, "object with a '/' in metadata.namespace/name");
	if ((size_t)snprintf(key, keylen, "%s/%s", ns, name) >= keylen)
		return pw_k8s_errf(why, whylen, "object name too long");
	return 0;
}

/* ---- labels ----------------------------------------------------------------------- */

/* metadata.labels of what (e.g. "pod ns/name") into *out: absent or null is none. */
static int labels_decode(const json_t *md, struct pw_labels *out, const char *what, char *err,
			 size_t errlen)
{
	const json_t *labels = json_object_get(md, "labels"), *v;
	const char *lk;
	int ret;

	if (!labels || json_is_null(labels))
		return 0;
	if (!json_is_object(labels))
		return pw_k8s_errf(err, errlen, "%s: metadata.labels: not a mapping", what);
	json_object_foreach((json_t *)labels, lk, v)
	{
		if (!json_is_string(v))
			return pw_k8s_errf(err, errlen,
					   "%s: metadata.labels[\"%.63s\"]: not a string", what,
					   lk);
		ret = pw_labels_set(out, lk, json_string_value(v));
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- pods ------------------------------------------------------------------------- */

void pw_k8s_pod_free(struct pw_k8s_pod *p)
{
	free(p->namespace);
	free(p->name);
	free(p->uid);
	free(p->node_name);
	free(p->phase);
	pw_labels_free(&p->labels);
	memset(p, 0, sizeof(*p));
}

static int pod_ip(struct pw_k8s_pod *p, const char *s, const char *field, char *err, size_t errlen)
{
	struct pw_k8s_addr a = {0};

	if (!s || pw_ip_parse(s, &a.family, &a.ip))
		return pw_k8s_errf(err, errlen, "pod %s/%s: %s: not an IP address", p->namespace,
				   p->name, field);
	for (size_t i = 0; i < p->n_ips; i++)
		if (!pw_k8s_addr_cmp(&p->ips[i], &a))
			return 0;
	if (p->n_ips == PW_K8S_MAX_POD_IPS)
		return pw_k8s_errf(err, errlen, "pod %s/%s: more than %d pod IPs", p->namespace,
				   p->name, PW_K8S_MAX_POD_IPS);
	p->ips[p->n_ips++] = a;
	return 0;
}

int pw_k8s_pod_info(const json_t *pod, struct pw_k8s_pod *out, char *err, size_t errlen)
{
	const json_t *md = json_object_get(pod, "metadata");
	const json_t *spec = json_object_get(pod, "spec");
	const json_t *status = json_object_get(pod, "status");
	const json_t *ips, *e, *hn, *v;
	struct pw_k8s_pod p = {0};
	const char *ns, *name, *kind;
	char field[64], what[340], dummy[1];
	size_t i;
	int ret;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	kind = json_string_value(json_object_get(pod, "kind"));
	if (!json_is_object(pod) || (kind && strcmp(kind, "Pod")))
		return pw_k8s_errf(err, errlen, "not a Pod object");
	ns = json_string_value(json_object_get(md, "namespace"));
	name = json_string_value(json_object_get(md, "name"));
	if (!ns || !*ns || !name || !*name)
		return pw_k8s_errf(err, errlen,
				   "pod: metadata.namespace and metadata.name are required");
	p.namespace = strdup(ns);
	p.name = strdup(name);
	p.uid = dup_or_empty(json_string_value(json_object_get(md, "uid")));
	p.node_name = dup_or_empty(json_string_value(json_object_get(spec, "nodeName")));
	p.phase = dup_or_empty(json_string_value(json_object_get(status, "phase")));
	if (!p.namespace || !p.name || !p.uid || !p.node_name || !p.phase) {
		ret = -ENOMEM;
		goto fail;
	}
	hn = json_object_get(spec, "hostNetwork");
	if (hn && !json_is_boolean(hn) && !json_is_null(hn)) {
		ret = pw_k8s_errf(err, errlen, "pod %s/%s: spec.hostNetwork: not a boolean", ns,
				  name);
		goto fail;
	}
	p.host_network = json_is_true(hn);
	v = json_object_get(md, "deletionTimestamp");
	p.terminating = v && !json_is_null(v);

	snprintf(what, sizeof(what), "pod %s/%s", ns, name);
	ret = labels_decode(md, &p.labels, what, err, errlen);
	if (ret)
		goto fail;

	ips = json_object_get(status, "podIPs");
	if (json_is_array(ips) && json_array_size(ips)) {
		json_array_foreach(ips, i, e)
		{
			snprintf(field, sizeof(field), "status.podIPs[%zu].ip", i);
			ret = pod_ip(&p, json_string_value(json_object_get(e, "ip")), field, err,
				     errlen);
			if (ret)
				goto fail;
		}
	} else if (json_is_string(json_object_get(status, "podIP")) &&
		   *json_string_value(json_object_get(status, "podIP"))) {
		ret = pod_ip(&p, json_string_value(json_object_get(status, "podIP")),
			     "status.podIP", err, errlen);
		if (ret)
			goto fail;
	}
	*out = p;
	return 0;
fail:
	if (ret == -ENOMEM)
		pw_k8s_errf(err, errlen, "out of memory");
	pw_k8s_pod_free(&p);
	return ret;
}

/* ---- namespaces and nodes ------------------------------------------------------------ */

/* metadata.name of a cluster-scoped object of kind (NULL: any kind). */
static const char *cluster_name(const json_t *obj, const char *kind, char *err, size_t errlen)
{
	const char *k = json_string_value(json_object_get(obj, "kind"));
	const char *name;

	if (!json_is_object(obj) || (k && strcmp(k, kind))) {
		pw_k8s_errf(err, errlen, "not a %s object", kind);
		return NULL;
	}
	name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	if (!name || !*name)
		pw_k8s_errf(err, errlen, "%s: metadata.name is required", kind);
	return name && *name ? name : NULL;
}

void pw_k8s_namespace_free(struct pw_k8s_namespace *ns)
{
	free(ns->name);
	pw_labels_free(&ns->labels);
	memset(ns, 0, sizeof(*ns));
}

int pw_k8s_namespace_info(const json_t *obj, struct pw_k8s_namespace *out, char *err, size_t errlen)
{
	struct pw_k8s_namespace ns = {0};
	const char *name = cluster_name(obj, "Namespace", err, errlen);
	char what[300];
	int ret;

	if (!name)
		return -EINVAL;
	ns.name = strdup(name);
	if (!ns.name) {
		pw_k8s_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(what, sizeof(what), "namespace %s", name);
	ret = labels_decode(json_object_get(obj, "metadata"), &ns.labels, what, err, errlen);
	if (ret) {
		if (ret == -ENOMEM)
			pw_k8s_errf(err, errlen, "out of memory");
		pw_k8s_namespace_free(&ns);
		return ret;
	}
	*out = ns;
	return 0;
}

void pw_k8s_node_free(struct pw_k8s_node *n)
{
	free(n->name);
	memset(n, 0, sizeof(*n));
}

static int node_cidr(struct pw_k8s_node *n, const json_t *v, const char *field, char *err,
		     size_t errlen)
{
	struct pw_cidr c = {0};
	const char *s = json_string_value(v), *why = NULL;

	if (!s || pw_cidr_parse(s, &c.family, &c.addr, &c.prefix, &why))
		return pw_k8s_errf(err, errlen, "node %s: %s: not a CIDR%s%s", n->name, field,
				   why ? ": " : "", why ? why : "");
	for (size_t i = 0; i < n->n_cidrs; i++)
		if (n->cidrs[i].family == c.family && n->cidrs[i].prefix == c.prefix &&
		    !memcmp(&n->cidrs[i].addr, &c.addr, sizeof(c.addr)))
			return 0;
	if (n->n_cidrs == PW_K8S_MAX_NODE_CIDRS)
		return pw_k8s_errf(err, errlen, "node %s: more than %d pod CIDRs", n->name,
				   PW_K8S_MAX_NODE_CIDRS);
	n->cidrs[n->n_cidrs++] = c;
	return 0;
}

int pw_k8s_node_walk(const json_t *node, pw_k8s_node_fn fn, void *ctx)
{
	const json_t *spec = json_object_get(node, "spec");
	const json_t *cidrs = json_object_get(spec, "podCIDRs");
	const json_t *addrs = json_object_get(json_object_get(node, "status"), "addresses");
	char field[64];
	const json_t *v;
	size_t i;
	int ret;

	if (cidrs && !json_is_array(cidrs) && !json_is_null(cidrs)) {
		ret = fn(ctx, PW_K8S_NODE_NOT_LIST, cidrs, "spec.podCIDRs");
		if (ret)
			return ret;
	}
	if (json_array_size(cidrs)) {
		json_array_foreach(cidrs, i, v)
		{
			snprintf(field, sizeof(field), "spec.podCIDRs[%zu]", i);
			ret = fn(ctx, PW_K8S_NODE_CIDR, v, field);
			if (ret)
				return ret;
		}
	} else if (json_object_get(spec, "podCIDR")) {
		ret = fn(ctx, PW_K8S_NODE_CIDR1, json_object_get(spec, "podCIDR"), "spec.podCIDR");
		if (ret)
			return ret;
	}
	if (addrs && !json_is_array(addrs) && !json_is_null(addrs)) {
		ret = fn(ctx, PW_K8S_NODE_NOT_LIST, addrs, "status.addresses");
		if (ret)
			return ret;
	}
	json_array_foreach(addrs, i, v)
	{
		const char *type = json_string_value(json_object_get(v, "type"));

		if (!type || (strcmp(type, "InternalIP") && strcmp(type, "ExternalIP")))
			continue; /* Hostname, InternalDNS, ExternalDNS: not addresses */
		snprintf(field, sizeof(field), "status.addresses[%zu].address", i);
		ret = fn(ctx, PW_K8S_NODE_ADDR, json_object_get(v, "address"), field);
		if (ret)
			return ret;
	}
	return 0;
}

struct node_ctx {
	struct pw_k8s_node *n;
	char *err;
	size_t errlen;
};

static int node_item(void *ctx, enum pw_k8s_node_item kind, const json_t *v, const char *field)
{
	struct node_ctx *c = ctx;
	struct pw_k8s_node *n = c->n;
	struct pw_k8s_addr a = {0};
	const char *s = json_string_value(v);

	switch (kind) {
	case PW_K8S_NODE_NOT_LIST:
		return pw_k8s_errf(c->err, c->errlen, "node %s: %s: not a list", n->name, field);
	case PW_K8S_NODE_CIDR1:
		if (json_is_null(v))
			return 0;
		/* fall through */
	case PW_K8S_NODE_CIDR:
		return node_cidr(n, v, field, c->err, c->errlen);
	case PW_K8S_NODE_ADDR:
		break;
	}
	if (!s || pw_ip_parse(s, &a.family, &a.ip))
		return pw_k8s_errf(c->err, c->errlen, "node %s: %s: not an IP address", n->name,
				   field);
	for (size_t j = 0; j < n->n_addrs; j++)
		if (!pw_k8s_addr_cmp(&n->addrs[j], &a))
			return 0;
	if (n->n_addrs == PW_K8S_MAX_NODE_ADDRS)
		return pw_k8s_errf(c->err, c->errlen, "node %s: more than %d addresses", n->name,
				   PW_K8S_MAX_NODE_ADDRS);
	n->addrs[n->n_addrs++] = a;
	return 0;
}

int pw_k8s_node_info(const json_t *obj, struct pw_k8s_node *out, char *err, size_t errlen)
{
	const char *name = cluster_name(obj, "Node", err, errlen);
	struct pw_k8s_node n = {0};
	struct node_ctx c = {.n = &n, .err = err, .errlen = errlen};
	int ret;

	if (!name)
		return -EINVAL;
	n.name = strdup(name);
	if (!n.name) {
		pw_k8s_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = pw_k8s_node_walk(obj, node_item, &c);
	if (ret) {
		pw_k8s_node_free(&n);
		return ret;
	}
	*out = n;
	return 0;
}

/* ---- policies and resolvers ----------------------------------------------------------- */

const char *pw_k8s_policy_source(const json_t *obj, bool cluster, char *buf, size_t len)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name")) ?: "?";

	if (cluster)
		snprintf(buf, len, "k8s:@cluster/%s", name);
	else
		snprintf(buf, len, "k8s:%s/%s",
			 json_string_value(json_object_get(md, "namespace")) ?: "?", name);
	return buf;
}

static void add_resolver(struct pw_k8s_addr *v, size_t *n, const char *s)
{
	struct pw_k8s_addr a = {0};

	if (!s || pw_ip_parse(s, &a.family, &a.ip))
		return;
	if (*n < PW_K8S_MAX_RESOLVERS)
		v[(*n)++] = a;
}

size_t pw_k8s_resolvers_of(const json_t *services, const json_t *slices, struct pw_k8s_addr *out,
			   size_t max)
{
	struct pw_k8s_addr v[PW_K8S_MAX_RESOLVERS];
	const json_t *obj, *ips, *ip, *eps, *ep, *addrs, *a;
	const char *key, *type;
	size_t n = 0, m = 0, i, j, l;

	json_object_foreach((json_t *)services, key, obj)
	{
		const json_t *spec = json_object_get(obj, "spec");

		ips = json_object_get(spec, "clusterIPs");
		if (json_is_array(ips)) {
			json_array_foreach(ips, i, ip)
			{
				add_resolver(v, &n, json_string_value(ip));
			}
		} else {
			add_resolver(v, &n, json_string_value(json_object_get(spec, "clusterIP")));
		}
	}
	json_object_foreach((json_t *)slices, key, obj)
	{
		type = json_string_value(json_object_get(obj, "addressType"));
		if (!type || (strcmp(type, "IPv4") && strcmp(type, "IPv6")))
			continue;
		eps = json_object_get(obj, "endpoints");
		json_array_foreach(eps, j, ep)
		{
			const json_t *cond = json_object_get(ep, "conditions");

			if (json_is_true(json_object_get(cond, "terminating")))
				continue;
			addrs = json_object_get(ep, "addresses");
			json_array_foreach(addrs, l, a)
			{
				add_resolver(v, &n, json_string_value(a));
			}
		}
	}
	qsort(v, n, sizeof(v[0]), addr_qcmp);
	for (i = 0; i < n; i++) {
		if (i && !pw_k8s_addr_cmp(&v[i - 1], &v[i]))
			continue;
		if (m < max)
			out[m] = v[i];
		m++;
	}
	return m;
}

/* ---- Services and EndpointSlices (toServices, toEntities) ------------------------------ */

/* metadata.namespace and .name of a namespaced object of kind. */
static int ns_name(const json_t *obj, const char *kind, char **ns, char **name, char *err,
		   size_t errlen)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *k = json_string_value(json_object_get(obj, "kind"));
	const char *n = json_string_value(json_object_get(md, "namespace"));
	const char *m = json_string_value(json_object_get(md, "name"));

	if (!json_is_object(obj) || (k && strcmp(k, kind)))
		return pw_k8s_errf(err, errlen, "not a %s object", kind);
	if (!n || !*n || !m || !*m)
		return pw_k8s_errf(err, errlen,
				   "%s: metadata.namespace and metadata.name are required", kind);
	*ns = strdup(n);
	*name = strdup(m);
	if (!*ns || !*name)
		return pw_k8s_errf(err, errlen, "out of memory"), -ENOMEM;
	return 0;
}

/* One entry of a Service's spec.ports or a slice's ports. */
static int port_entry(const json_t *v, bool port_required, struct pw_port *out)
{
	const json_t *jp = json_object_get(v, "port");
	const char *proto = json_string_value(json_object_get(v, "protocol"));
	json_int_t n;

	if (!json_is_object(v))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!proto || !strcmp(proto, "TCP"))
		out->proto = IPPROTO_TCP; /* the API's default */
	else if (!strcmp(proto, "UDP"))
		out->proto = IPPROTO_UDP;
	else if (!strcmp(proto, "SCTP"))
		out->proto = IPPROTO_SCTP;
	else
		return -EINVAL;
	if (!jp || json_is_null(jp))
		return port_required ? -EINVAL : 0; /* a slice: every port */
	if (!json_is_integer(jp))
		return -EINVAL;
	n = json_integer_value(jp);
	if (n < 1 || n > 65535)
		return -EINVAL;
	out->port = (uint16_t)n;
	return 0;
}

static int ports_decode(const json_t *arr, bool port_required, const char *what, const char *field,
			struct pw_port **out, size_t *n_out, char *err, size_t errlen)
{
	const json_t *v;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return pw_k8s_errf(err, errlen, "%s: %s: not a list", what, field);
	if (json_array_size(arr) > PW_K8S_MAX_SVC_PORTS)
		return pw_k8s_errf(err, errlen, "%s: %s: more than %d ports", what, field,
				   PW_K8S_MAX_SVC_PORTS);
	if (!json_array_size(arr))
		return 0;
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (!*out)
		return pw_k8s_errf(err, errlen, "out of memory"), -ENOMEM;
	json_array_foreach(arr, i, v)
	{
		if (port_entry(v, port_required, &(*out)[i]))
			return pw_k8s_errf(err, errlen,
					   "%s: %s[%zu]: not a port (port 1-65535, protocol "
					   "TCP, UDP or SCTP)",
					   what, field, i);
	}
	*n_out = json_array_size(arr);
	return 0;
}

void pw_k8s_service_free(struct pw_k8s_service *s)
{
	free(s->namespace);
	free(s->name);
	free(s->ports);
	memset(s, 0, sizeof(*s));
}

static int svc_ip(struct pw_k8s_service *s, const json_t *v, const char *field, char *err,
		  size_t errlen)
{
	const char *ip = json_string_value(v);
	struct pw_k8s_addr a = {0};

	if (!ip)
		return pw_k8s_errf(err, errlen, "service %s/%s: %s: not a string", s->namespace,
				   s->name, field);
	if (!*ip || !strcmp(ip, "None"))
		return 0; /* headless, or not allocated yet */
	if (pw_ip_parse(ip, &a.family, &a.ip))
		return pw_k8s_errf(err, errlen, "service %s/%s: %s: not an IP address",
				   s->namespace, s->name, field);
	for (size_t i = 0; i < s->n_ips; i++)
		if (!pw_k8s_addr_cmp(&s->ips[i], &a))
			return 0;
	if (s->n_ips == PW_K8S_MAX_SVC_IPS)
		return pw_k8s_errf(err, errlen, "service %s/%s: more than %d cluster IPs",
				   s->namespace, s->name, PW_K8S_MAX_SVC_IPS);
	s->ips[s->n_ips++] = a;
	return 0;
}

int pw_k8s_service_info(const json_t *obj, struct pw_k8s_service *out, char *err, size_t errlen)
{
	const json_t *spec = json_object_get(obj, "spec"), *ips, *v;
	struct pw_k8s_service s = {0};
	char what[340], field[48], dummy[1];
	size_t i;
	int ret;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	ret = ns_name(obj, "Service", &s.namespace, &s.name, err, errlen);
	if (ret)
		goto fail;
	snprintf(what, sizeof(what), "service %s/%s", s.namespace, s.name);
	if (spec && !json_is_object(spec)) {
		ret = pw_k8s_errf(err, errlen, "%s: spec: not a mapping", what);
		goto fail;
	}
	ips = json_object_get(spec, "clusterIPs");
	if (ips && !json_is_array(ips) && !json_is_null(ips)) {
		ret = pw_k8s_errf(err, errlen, "%s: spec.clusterIPs: not a list", what);
		goto fail;
	}
	if (json_array_size(ips)) {
		json_array_foreach(ips, i, v)
		{
			snprintf(field, sizeof(field), "spec.clusterIPs[%zu]", i);
			ret = svc_ip(&s, v, field, err, errlen);
			if (ret)
				goto fail;
		}
	} else if (json_object_get(spec, "clusterIP") &&
		   !json_is_null(json_object_get(spec, "clusterIP"))) {
		ret = svc_ip(&s, json_object_get(spec, "clusterIP"), "spec.clusterIP", err, errlen);
		if (ret)
			goto fail;
	}
	ret = ports_decode(json_object_get(spec, "ports"), true, what, "spec.ports", &s.ports,
			   &s.n_ports, err, errlen);
	if (ret)
		goto fail;
	*out = s;
	return 0;
fail:
	pw_k8s_service_free(&s);
	return ret;
}

void pw_k8s_slice_free(struct pw_k8s_slice *s)
{
	free(s->namespace);
	free(s->name);
	free(s->service);
	free(s->addrs);
	free(s->ports);
	memset(s, 0, sizeof(*s));
}

int pw_k8s_slice_info(const json_t *obj, struct pw_k8s_slice *out, char *err, size_t errlen)
{
	const json_t *md = json_object_get(obj, "metadata"), *eps, *ep, *addrs, *a;
	struct pw_k8s_slice s = {0};
	const char *type, *svc;
	char what[340], dummy[1];
	size_t i, j, cap = 0;
	int ret;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	ret = ns_name(obj, "EndpointSlice", &s.namespace, &s.name, err, errlen);
	if (ret)
		goto fail;
	snprintf(what, sizeof(what), "endpointslice %s/%s", s.namespace, s.name);
	svc = json_string_value(
		json_object_get(json_object_get(md, "labels"), "kubernetes.io/service-name"));
	s.service = strdup(svc ? svc : "");
	if (!s.service) {
		pw_k8s_errf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	type = json_string_value(json_object_get(obj, "addressType"));
	if (!type) {
		ret = pw_k8s_errf(err, errlen, "%s: addressType: required", what);
		goto fail;
	}
	if (strcmp(type, "IPv4") && strcmp(type, "IPv6")) {
		*out = s; /* FQDN (deprecated): names, not addresses */
		return 0;
	}
	s.family = !strcmp(type, "IPv4") ? PW_FAMILY_V4 : PW_FAMILY_V6;
	eps = json_object_get(obj, "endpoints");
	if (eps && !json_is_array(eps) && !json_is_null(eps)) {
		ret = pw_k8s_errf(err, errlen, "%s: endpoints: not a list", what);
		goto fail;
	}
	json_array_foreach(eps, i, ep)
	{
		addrs = json_object_get(ep, "addresses");
		if (!json_is_array(addrs)) {
			ret = pw_k8s_errf(err, errlen, "%s: endpoints[%zu].addresses: not a list",
					  what, i);
			goto fail;
		}
		json_array_foreach(addrs, j, a)
		{
			struct pw_k8s_addr x = {0};

			if (!json_is_string(a) ||
			    pw_ip_parse(json_string_value(a), &x.family, &x.ip) ||
			    x.family != s.family) {
				ret = pw_k8s_errf(
					err, errlen,
					"%s: endpoints[%zu].addresses[%zu]: not an %s address",
					what, i, j, type);
				goto fail;
			}
			if (s.n_addrs == PW_K8S_MAX_SLICE_ADDRS) {
				ret = pw_k8s_errf(err, errlen, "%s: more than %d addresses", what,
						  PW_K8S_MAX_SLICE_ADDRS);
				goto fail;
			}
			if (s.n_addrs == cap) {
				struct pw_k8s_addr *n;

				cap = cap ? cap * 2 : 8;
				n = realloc(s.addrs, cap * sizeof(*n));
				if (!n) {
					pw_k8s_errf(err, errlen, "out of memory");
					ret = -ENOMEM;
					goto fail;
				}
				s.addrs = n;
			}
			s.addrs[s.n_addrs++] = x;
		}
	}
	ret = ports_decode(json_object_get(obj, "ports"), false, what, "ports", &s.ports,
			   &s.n_ports, err, errlen);
	if (ret)
		goto fail;
	*out = s;
	return 0;
fail:
	pw_k8s_slice_free(&s);
	return ret;
}

/* Append one (address, ports) to out; pw_k8s_peers_done merges duplicates. */
static int peer_add(struct pw_peers *out, const struct pw_k8s_addr *a, const struct pw_port *ports,
		    size_t n_ports)
{
	struct pw_peer *n, *p;

	if (!n_ports || pw_ip_is_special(a->family, &a->ip))
		return 0; /* grants nothing / never granted by name */
	n = realloc(out->v, (out->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	out->v = n;
	p = &n[out->n];
	memset(p, 0, sizeof(*p));
	p->family = a->family;
	p->addr = a->ip;
	p->ports = malloc(n_ports * sizeof(*p->ports));
	if (!p->ports)
		return -ENOMEM;
	memcpy(p->ports, ports, n_ports * sizeof(*ports));
	p->n_ports = n_ports;
	out->n++;
	return 0;
}

int pw_k8s_service_peers(const struct pw_k8s_service *svc, const struct pw_k8s_slice *slices,
			 size_t n_slices, const struct pw_port *rule_ports, size_t n_rule_ports,
			 struct pw_peers *out)
{
	int ret = 0;

	if (!svc)
		return 0;
	for (size_t i = 0; !ret && i < svc->n_ips; i++)
		ret = peer_add(out, &svc->ips[i], n_rule_ports ? rule_ports : svc->ports,
			       n_rule_ports ? n_rule_ports : svc->n_ports);
	for (size_t i = 0; !ret && i < n_slices; i++) {
		const struct pw_k8s_slice *sl = &slices[i];

		if (strcmp(sl->namespace, svc->namespace) || strcmp(sl->service, svc->name))
			continue;
		for (size_t j = 0; !ret && j < sl->n_addrs; j++)
			ret = peer_add(out, &sl->addrs[j], n_rule_ports ? rule_ports : sl->ports,
				       n_rule_ports ? n_rule_ports : sl->n_ports);
	}
	return ret;
}

int pw_k8s_peers_add_name(struct pw_peers *out, const char *name)
{
	char **n;

	for (size_t i = 0; i < out->n_names; i++)
		if (!strcmp(out->names[i], name))
			return 0;
	n = realloc(out->names, (out->n_names + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	out->names = n;
	n[out->n_names] = strdup(name);
	if (!n[out->n_names])
		return -ENOMEM;
	out->n_names++;
	return 0;
}

static int port_cmp(const void *x, const void *y)
{
	const struct pw_port *a = x, *b = y;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return a->port < b->port ? -1 : a->port > b->port;
}

static int peer_cmp(const void *x, const void *y)
{
	const struct pw_peer *a = x, *b = y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sort ports and drop repeats: equal sets have equal arrays. */
static void ports_canon(struct pw_peer *p)
{
	size_t m = 0;

	qsort(p->ports, p->n_ports, sizeof(*p->ports), port_cmp);
	for (size_t i = 0; i < p->n_ports; i++)
		if (!m || port_cmp(&p->ports[m - 1], &p->ports[i]))
			p->ports[m++] = p->ports[i];
	p->n_ports = m;
}

int pw_k8s_peers_done(struct pw_peers *out)
{
	size_t m = 0;
	int cut = 0;

	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), peer_cmp);
	for (size_t i = 0; i < out->n; i++) {
		struct pw_peer *p = &out->v[i], *last = m ? &out->v[m - 1] : NULL;

		if (last && !peer_cmp(last, p)) {
			struct pw_port *n =
				realloc(last->ports, (last->n_ports + p->n_ports) * sizeof(*n));

			if (!n)
				return -ENOMEM;
			memcpy(n + last->n_ports, p->ports, p->n_ports * sizeof(*n));
			last->ports = n;
			last->n_ports += p->n_ports;
			free(p->ports);
			continue;
		}
		out->v[m++] = *p;
	}
	out->n = m;
	if (out->n > PW_K8S_MAX_PEERS) {
		for (size_t i = PW_K8S_MAX_PEERS; i < out->n; i++)
			free(out->v[i].ports);
		out->n = PW_K8S_MAX_PEERS;
		cut = 1;
	}
	for (size_t i = 0; i < out->n; i++)
		ports_canon(&out->v[i]);
	if (out->n_names > 1)
		qsort(out->names, out->n_names, sizeof(*out->names), name_cmp);
	return cut;
}

bool pw_peers_equal(const struct pw_peers *a, const struct pw_peers *b)
{
	if (a->n != b->n || a->n_names != b->n_names)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct pw_peer *x = &a->v[i], *y = &b->v[i];

		if (peer_cmp(x, y) || x->n_ports != y->n_ports ||
		    memcmp(x->ports, y->ports, x->n_ports * sizeof(*x->ports)))
			return false;
	}
	for (size_t i = 0; i < a->n_names; i++)
		if (strcmp(a->names[i], b->names[i]))
			return false;
	return true;
}

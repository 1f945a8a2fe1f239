// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kube: Kubernetes mode. EgressPolicies, the labels of this node's pods and
 * the cluster DNS (the trusted resolvers) come from the API server through
 * k8s.c. Nothing is applied and no CNI ADD is answered until every resource
 * has been listed once, so a restart never briefly opens or closes anything:
 * until then the kernel keeps enforcing what the maps already hold.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "fqdn.h"
#include "ipaddr.h"
#include "k8s.h"
#include "k8sguard.h"
#include "kube.h"
#include "log.h"
#include "owner.h"
#include "podlink.h"

static int watch_fd(int fd, int op, uint32_t events, void *ctx)
{
	struct pw_kube *kb = ctx;
	struct epoll_event ev = {.events = events, .data.u64 = PW_TAG_K8S_FD | (uint32_t)fd};

	if (epoll_ctl(kb->epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev)) {
		if (op == EPOLL_CTL_DEL && (errno == EBADF || errno == ENOENT))
			return 0;
		return -errno;
	}
	return 0;
}

static void on_pod(struct pw_kube *kb, const json_t *obj)
{
	struct pw_k8s_pod pod;
	char err[256];

	if (!obj || pw_k8s_pod_info(obj, &pod, err, sizeof(err)))
		return;
	kb->hooks.pod_labels(kb->hooks.ctx, pod.namespace, pod.name, &pod.labels);
	pw_k8s_pod_free(&pod);
}

/* Cached last good versions go only once both policy kinds are listed. */
static void prune_if_listed(struct pw_kube *kb)
{
	if (pw_k8s_kind_synced(kb->k8s, PW_K8S_POLICIES) &&
	    pw_k8s_kind_synced(kb->k8s, PW_K8S_CLUSTER_POLICIES))
		kb->hooks.policies_listed(kb->hooks.ctx);
}

/* The Namespaces the API has, decoded, to the agent (a bad one is left out). */
static void namespaces_changed(struct pw_kube *kb)
{
	const json_t *objs = pw_k8s_objects(kb->k8s, PW_K8S_NAMESPACES), *obj;
	size_t n = json_object_size(objs), k = 0;
	struct pw_k8s_namespace *v = calloc(n ? n : 1, sizeof(*v));
	char err[PW_ERR_LEN];
	const char *key;

	if (!v) {
		pw_warn("out of memory selecting namespaces");
		return;
	}
	json_object_foreach((json_t *)objs, key, obj)
	{
		if (pw_k8s_namespace_info(obj, &v[k], err, sizeof(err)))
			pw_warn("%s", err);
		else
			k++;
	}
	kb->hooks.namespaces(kb->hooks.ctx, v, k);
	for (size_t i = 0; i < k; i++)
		pw_k8s_namespace_free(&v[i]);
	free(v);
}

/* Keep kb->slices_of in step with one EndpointSlice change. */
static void slice_index(struct pw_kube *kb, const json_t *old_obj, const json_t *new_obj)
{
	const json_t *objs[2] = {old_obj, new_obj};
	char key[PW_K8S_KEY_MAX], svc[PW_K8S_KEY_MAX];

	if (!kb->slices_of)
		return;
	for (int i = 0; i < 2; i++) {
		const json_t *o = objs[i], *md = json_object_get(o, "metadata");
		const char *name = json_string_value(json_object_get(json_object_get(md, "labels"),
								     "kubernetes.io/service-name"));
		json_t *set;

		if (!o || !name || pw_k8s_object_key(o, false, key, sizeof(key), NULL, 0))
			continue;
		snprintf(svc, sizeof(svc), "%s/%s",
			 json_string_value(json_object_get(md, "namespace")), name);
		set = json_object_get(kb->slices_of, svc);
		if (i == 0) {
			json_object_del(set, key);
			if (set && !json_object_size(set))
				json_object_del(kb->slices_of, svc);
			continue;
		}
		if (!set) {
			set = json_object();
			if (!set || json_object_set_new(kb->slices_of, svc, set)) {
				pw_warn("out of memory indexing EndpointSlice %s", key);
				continue;
			}
		}
		if (json_object_set_new(set, key, json_null()))
			pw_warn("out of memory indexing EndpointSlice %s", key);
	}
}

/* An EgressPolicy or ClusterEgressPolicy added, changed or deleted, or the
 * end of a complete LIST of them. */
static void on_policy(struct pw_kube *kb, enum pw_k8s_change type, const json_t *old_obj,
		      const json_t *new_obj, bool cluster)
{
	const json_t *o = new_obj ? new_obj : old_obj;
	char source[600];

	if (type == PW_K8S_SYNCED) {
		/* A complete LIST: every object the API has was delivered. */
		prune_if_listed(kb);
		return;
	}
	if (!o)
		return;
	/* Only the status changed (our own writes come back this way). */
	if (type == PW_K8S_MODIFIED && old_obj && new_obj &&
	    json_equal(json_object_get(old_obj, "spec"), json_object_get(new_obj, "spec")) &&
	    json_equal(json_object_get(json_object_get(old_obj, "metadata"), "generation"),
		       json_object_get(json_object_get(new_obj, "metadata"), "generation")))
		return;
	pw_k8s_policy_source(o, cluster, source, sizeof(source));
	kb->hooks.policy(kb->hooks.ctx, source, type == PW_K8S_DELETED ? NULL : new_obj);
	if (cluster)
		namespaces_changed(kb); /* its namespaceSelector may move pods in or out */
}

static void on_change(enum pw_k8s_kind kind, enum pw_k8s_change type, const json_t *old_obj,
		      const json_t *new_obj, void *ctx)
{
	struct pw_kube *kb = ctx;
	void *hctx = kb->hooks.ctx;

	switch (kind) {
	case PW_K8S_PODS:
		if (type == PW_K8S_ADDED || type == PW_K8S_MODIFIED)
			on_pod(kb, new_obj);
		break;
	case PW_K8S_POLICIES:
	case PW_K8S_CLUSTER_POLICIES:
		on_policy(kb, type, old_obj, new_obj, kind == PW_K8S_CLUSTER_POLICIES);
		break;
	case PW_K8S_NAMESPACES:
		/* a label change moves the namespace's pods in or out at once */
		if (type != PW_K8S_SYNCED)
			namespaces_changed(kb);
		break;
	case PW_K8S_DNS_SERVICE:
	case PW_K8S_DNS_SLICES:
		if (kind == PW_K8S_DNS_SERVICE && type != PW_K8S_SYNCED)
			kb->guard_dirty = true;
		if (kb->synced)
			kb->hooks.resolvers(hctx);
		break;
	case PW_K8S_SLICES:
		if (type != PW_K8S_SYNCED)
			slice_index(kb, old_obj, new_obj);
		/* fall through */
	case PW_K8S_SERVICES:
		/* toServices/toEntities resolved again once per loop turn */
		if (type != PW_K8S_SYNCED)
			kb->peers_dirty = true;
		break;
	case PW_K8S_NODES:
	case PW_K8S_API_SERVICE:
		/* The guard is rebuilt once per loop turn (pw_kube_tick), so a
		 * relist of a thousand nodes writes the maps once. */
		if (type != PW_K8S_SYNCED &&
		    !(type == PW_K8S_MODIFIED && pw_guard_k8s_same(old_obj, new_obj)))
			kb->guard_dirty = true;
		break;
	default:
		break;
	}
	if (type == PW_K8S_SYNCED && !kb->synced && pw_k8s_synced(kb->k8s)) {
		kb->synced = true;
		namespaces_changed(kb);
		pw_info("Kubernetes API: first full sync done, enforcing");
		kb->guard_dirty = false; /* hooks.synced writes the guard first */
		kb->peers_dirty = false; /* and resolves the peers */
		kb->hooks.synced(hctx);
	}
}

/* ---- pods that predate podwall ------------------------------------------------ */

/* A state-file-safe container id from the pod's uid (or its name). */
static void adopted_id(const struct pw_k8s_pod *pod, char *buf, size_t len)
{
	const char *src = *pod->uid ? pod->uid : pod->name;
	size_t n = (size_t)snprintf(buf, len, "%s", PW_ADOPTED_PREFIX);

	for (; *src && n + 1 < len; src++)
		if ((*src >= 'a' && *src <= 'z') || (*src >= 'A' && *src <= 'Z') ||
		    (*src >= '0' && *src <= '9') || *src == '-')
			buf[n++] = *src;
	buf[n] = '\0';
	if (!*pod->uid && n + 1 < len) {  /* names are not unique across namespaces */
		uint32_t h = 2166136261u; /* FNV-1a of the namespace */

		for (const char *c = pod->namespace; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
		snprintf(buf + n, len - n, "-%08x", h);
	}
}

/* Locate the pod's host veth; NULL with why. Every pod IP the veth's pod end
 * carries is kept in *ips (the API's other IPs are left out). */
static const struct pw_podlink *locate(const struct pw_podlink *links, size_t n_links,
				       const struct pw_k8s_pod *pod, json_t *ips, char *why,
				       size_t whylen)
{
	const struct pw_podlink *hit = NULL;
	char ip[PW_IP_STRLEN];

	for (size_t i = 0; i < pod->n_ips; i++) {
		bool ambiguous;
		const struct pw_podlink *l = pw_podlink_find(links, n_links, pod->ips[i].family,
							     &pod->ips[i].ip, &ambiguous);

		pw_ip_str(pod->ips[i].family, &pod->ips[i].ip, ip);
		if (ambiguous || (l && hit && l->host_ifindex != hit->host_ifindex)) {
			snprintf(why, whylen,
				 "more than one veth of this node leads to a "
				 "namespace holding %s",
				 ip);
			return NULL;
		}
		if (!l)
			continue;
		hit = l;
		json_array_append_new(ips, json_string(ip));
	}
	if (!hit)
		snprintf(why, whylen, "no network namespace with a veth to this node holds %s",
			 pod->n_ips ? pw_ip_str(pod->ips[0].family, &pod->ips[0].ip, ip) : "-");
	return hit;
}

static json_t *adopt_request(const struct pw_k8s_pod *pod, const struct pw_podlink *l,
			     const char *host_ifname, json_t *ips)
{
	char id[128];

	adopted_id(pod, id, sizeof(id));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:O}", "cmd", "cni_add", "container_id",
			 id, "netns", l->netns, "ifname", l->pod_ifname, "host_ifname", host_ifname,
			 "namespace", pod->namespace, "name", pod->name, "labels", json_object(),
			 "ips", ips);
}

/* Said already (same pod, same selection)? Then not again at every reconcile. */
static bool was_unlocated(const json_t *list, const char *pod, bool selected)
{
	size_t i;
	json_t *v;

	json_array_foreach(
		list, i,
		v) if (!strcmp(json_string_value(json_object_get(v, "pod")) ?: "", pod) &&
		       json_is_true(json_object_get(v, "selected")) == selected) return true;
	return false;
}

void pw_kube_adopt(struct pw_kube *kb)
{
	const struct pw_kube_hooks *h = &kb->hooks;
	const json_t *pods = pw_k8s_objects(kb->k8s, PW_K8S_PODS);
	struct pw_podlink *links = NULL;
	json_t *unlocated = json_array(), *obj;
	size_t n_links = 0, n_sel = 0;
	bool scanned = false;
	const char *key;

	if (!unlocated)
		return;
	json_object_foreach((json_t *)pods, key, obj)
	{
		char err[PW_ERR_LEN] = "", pod_name[300], host_ifname[IF_NAMESIZE];
		const struct pw_podlink *l;
		struct pw_k8s_pod pod;
		json_t *ips, *req;
		bool sel;

		if (pw_k8s_pod_info(obj, &pod, err, sizeof(err)))
			continue;
		if (pod.host_network || !pod.n_ips || pod.terminating ||
		    strcmp(pod.node_name, kb->node_name) || !strcmp(pod.phase, "Succeeded") ||
		    !strcmp(pod.phase, "Failed") ||
		    h->has_endpoint(h->ctx, pod.namespace, pod.name))
			goto next;
		if (!scanned) {
			int ret = pw_podlink_scan(&links, &n_links);

			scanned = true;
			if (ret)
				pw_warn("cannot scan this node's network namespaces for pods: %s",
					strerror(-ret));
		}
		snprintf(pod_name, sizeof(pod_name), "%s/%s", pod.namespace, pod.name);
		sel = h->selected(h->ctx, pod.namespace, &pod.labels);
		ips = json_array();
		l = ips ? locate(links, n_links, &pod, ips, err, sizeof(err)) : NULL;
		if (l && !if_indextoname(l->host_ifindex, host_ifname)) {
			snprintf(err, sizeof(err), "its veth (ifindex %u) is gone",
				 l->host_ifindex);
			l = NULL;
		}
		if (l) {
			req = adopt_request(&pod, l, host_ifname, ips);
			if (req && !h->adopt(h->ctx, req, err, sizeof(err))) {
				kb->pods_adopted++;
				pw_info("pod %s was running before podwall: registered from the "
					"API, "
					"host veth %s (pod side %s in %s)",
					pod_name, host_ifname, l->pod_ifname, l->netns);
				json_decref(req);
				json_decref(ips);
				goto next;
			}
			json_decref(req);
		}
		json_decref(ips);
		if (!was_unlocated(kb->unlocated, pod_name, sel))
			pw_warn("pod %s of this node %s: %s", pod_name,
				sel ? "is selected by a policy but NOT ENFORCED"
				    : "is not registered",
				err);
		json_array_append_new(unlocated, json_pack("{s:s,s:s,s:b}", "pod", pod_name,
							   "reason", err, "selected", sel));
		n_sel += sel;
	next:
		pw_k8s_pod_free(&pod);
	}
	free(links);
	json_decref(kb->unlocated);
	kb->unlocated = unlocated;
	kb->n_unlocated_selected = n_sel;
}

int pw_kube_start(struct pw_kube *kb, const struct pw_kube_config *c)
{
	struct pw_k8s_config cfg = {
		.kubeconfig = c->kubeconfig,
		.context = c->context,
		.node_name = c->node_name,
		.dns_service = c->dns_service,
		/* Retry soon while a CNI ADD may be waiting for the first sync. */
		.backoff_max_ms = 5000,
		.on_change = on_change,
		.watch_fd = watch_fd,
		.ctx = kb,
	};
	char err[512];

	memset(kb, 0, sizeof(*kb));
	kb->epfd = c->epfd;
	kb->dns_service = c->dns_service ? c->dns_service : PW_K8S_DEFAULT_DNS;
	kb->slices_of = json_object();
	if (!kb->slices_of)
		return -ENOMEM;
	kb->node_name = c->node_name;
	kb->hooks = c->hooks;
	if (!c->node_name || !*c->node_name) {
		pw_err("--k8s needs --node-name (the DaemonSet passes the downward API's "
		       "spec.nodeName)");
		return -EINVAL;
	}
	if (pw_k8s_new(&cfg, &kb->k8s, err, sizeof(err))) {
		pw_err("Kubernetes API client: %s", err);
		return -EINVAL;
	}
	pw_info("Kubernetes mode: node %s, API %s; nothing applied until the first full sync",
		c->node_name, pw_k8s_server(kb->k8s));
	return 0;
}

/* A Node or Service changed: the guard is rebuilt before the loop handles
 * anything else (a DNS answer next in the same epoll batch sees the new table),
 * once for however many events one read delivered. */
static void guard_if_dirty(struct pw_kube *kb)
{
	if (kb->peers_dirty && kb->synced) {
		kb->peers_dirty = false;
		kb->hooks.peers(kb->hooks.ctx);
	}
	if (!kb->guard_dirty)
		return;
	kb->guard_dirty = false;
	kb->hooks.guard(kb->hooks.ctx);
}

void pw_kube_on_fd(struct pw_kube *kb, int fd, uint32_t events)
{
	if (!kb->k8s)
		return;
	pw_k8s_on_fd(kb->k8s, fd, events);
	guard_if_dirty(kb);
}

void pw_kube_tick(struct pw_kube *kb)
{
	if (!kb->k8s)
		return;
	pw_k8s_on_timeout(kb->k8s);
	guard_if_dirty(kb);
}

int pw_kube_timeout_ms(const struct pw_kube *kb, int max_ms)
{
	int t;

	if (!kb->k8s)
		return max_ms;
	t = pw_k8s_next_timeout_ms(kb->k8s);
	return t < 0 || t > max_ms ? max_ms : t;
}

void pw_kube_stop(struct pw_kube *kb)
{
	pw_k8s_free(kb->k8s);
	kb->k8s = NULL;
	json_decref(kb->unlocated);
	kb->unlocated = NULL;
	json_decref(kb->slices_of);
	kb->slices_of = NULL;
}

bool pw_kube_pod_labels(const struct pw_kube *kb, const char *ns, const char *name,
			struct pw_labels *out)
{
	const json_t *obj = kb->k8s ? pw_k8s_get(kb->k8s, PW_K8S_PODS, ns, name) : NULL;
	struct pw_k8s_pod pod;
	char err[256];

	if (!obj || pw_k8s_pod_info(obj, &pod, err, sizeof(err)))
		return false;
	*out = pod.labels;
	memset(&pod.labels, 0, sizeof(pod.labels));
	pw_k8s_pod_free(&pod);
	return true;
}

bool pw_kube_pod_owner(const struct pw_kube *kb, const char *ns, const char *name,
		       struct pw_owner *out)
{
	const json_t *obj =
		kb->k8s && ns && name ? pw_k8s_get(kb->k8s, PW_K8S_PODS, ns, name) : NULL;

	return obj && !pw_pod_owner(obj, out);
}

size_t pw_kube_resolvers(const struct pw_kube *kb, struct pw_addr_key *out, size_t max)
{
	struct pw_k8s_addr addrs[PW_K8S_MAX_RESOLVERS];
	size_t n;

	if (!kb->k8s || !kb->synced)
		return 0;
	n = pw_k8s_resolvers(kb->k8s, addrs, PW_K8S_MAX_RESOLVERS);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].family = addrs[i].family;
		out[i].addr = addrs[i].ip;
	}
	return n;
}

int pw_kube_guard(const struct pw_kube *kb, struct pw_guard *g, bool guess, size_t *skipped)
{
	static const enum pw_k8s_kind services[] = {PW_K8S_API_SERVICE, PW_K8S_DNS_SERVICE};
	const char *key;
	json_t *obj;
	int err;

	if (!kb->k8s)
		return 0;
	json_object_foreach((json_t *)pw_k8s_objects(kb->k8s, PW_K8S_NODES), key, obj)
	{
		err = pw_guard_add_k8s_node(g, obj, skipped);
		if (err)
			return err;
	}
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		json_object_foreach((json_t *)pw_k8s_objects(kb->k8s, services[i]), key, obj)
		{
			err = pw_guard_add_k8s_service(g, obj, guess, skipped);
			if (err)
				return err;
		}
	}
	return 0;
}

/* ---- toServices and toEntities ---------------------------------------------------- */

/* One Service (ns/name): its addresses and ports, and its DNS name. */
static int service_peers(const struct pw_kube *kb, const char *ns, const char *name,
			 const struct pw_rule *r, const char *domain, struct pw_peers *out)
{
	const json_t *obj = pw_k8s_get(kb->k8s, PW_K8S_SERVICES, ns, name), *set, *v;
	struct pw_k8s_service svc = {0};
	struct pw_k8s_slice *slices = NULL;
	char key[PW_K8S_KEY_MAX], err[PW_ERR_LEN], dns[PW_K8S_KEY_MAX], norm[PW_FQDN_MAX + 1];
	const char *sk, *why;
	size_t n = 0;
	int ret = 0;

	/* resolvable for the pod: NAME.NS.svc.DOMAIN (its search list gets there) */
	snprintf(dns, sizeof(dns), "%s.%s.svc.%s", name, ns, domain ? domain : "");
	if (domain && *domain && !pw_fqdn_normalize(dns, norm, &why)) {
		ret = pw_k8s_peers_add_name(out, norm);
		if (ret)
			return ret;
	}
	if (!obj)
		return 0; /* not (yet) in the API: nothing granted */
	if (pw_k8s_service_info(obj, &svc, err, sizeof(err))) {
		pw_warn("toServices: %s: grants nothing", err);
		return 0;
	}
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	set = json_object_get(kb->slices_of, key);
	slices = calloc(json_object_size(set) ? json_object_size(set) : 1, sizeof(*slices));
	if (!slices) {
		ret = -ENOMEM;
		goto out;
	}
	json_object_foreach((json_t *)set, sk, v)
	{
		const char *slash = strchr(sk, '/');
		char sns[PW_K8S_KEY_MAX];
		const json_t *so;

		if (!slash)
			continue;
		snprintf(sns, sizeof(sns), "%.*s", (int)(slash - sk), sk);
		so = pw_k8s_get(kb->k8s, PW_K8S_SLICES, sns, slash + 1);
		if (!so)
			continue;
		if (pw_k8s_slice_info(so, &slices[n], err, sizeof(err)))
			pw_warn("toServices %s: %s: left out", key, err);
		else
			n++;
	}
	ret = pw_k8s_service_peers(&svc, slices, n, r->ports, r->n_ports, out);
out:
	for (size_t i = 0; i < n; i++)
		pw_k8s_slice_free(&slices[i]);
	free(slices);
	pw_k8s_service_free(&svc);
	return ret;
}

int pw_kube_rule_peers(const struct pw_kube *kb, const struct pw_rule *r,
		       const char *cluster_domain, struct pw_peers *out)
{
	char ns[64], name[64];
	const char *slash;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!kb->k8s)
		return 0; /* standalone: nothing to resolve from */
	for (size_t i = 0; !ret && i < r->n_services; i++)
		ret = service_peers(kb, r->services[i].namespace, r->services[i].name, r,
				    cluster_domain, out);
	if (!ret && (r->entities & PW_ENTITY_KUBE_APISERVER))
		ret = service_peers(kb, "default", "kubernetes", r, cluster_domain, out);
	slash = strchr(kb->dns_service, '/');
	if (!ret && (r->entities & PW_ENTITY_CLUSTER_DNS) && slash &&
	    (size_t)(slash - kb->dns_service) < sizeof(ns) && strlen(slash + 1) < sizeof(name)) {
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - kb->dns_service), kb->dns_service);
		snprintf(name, sizeof(name), "%s", slash + 1);
		ret = service_peers(kb, ns, name, r, cluster_domain, out);
	}
	if (!ret) {
		ret = pw_k8s_peers_done(out);
		if (ret > 0)
			pw_warn("toServices/toEntities: more than %d addresses in one rule: the "
				"first %d (in address order) are granted",
				PW_K8S_MAX_PEERS, PW_K8S_MAX_PEERS);
		ret = ret < 0 ? ret : 0;
	}
	if (ret)
		pw_peers_free(out);
	return ret;
}

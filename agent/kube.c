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

#include "agent_int.h"
#include "ipaddr.h"
#include "k8s.h"
#include "k8sguard.h"
#include "log.h"
#include "owner.h"
#include "podlink.h"

static int watch_fd(int fd, int op, uint32_t events, void *ctx)
{
	struct pw_agent *a = ctx;
	struct epoll_event ev = {.events = events, .data.u64 = PW_TAG_K8S_FD | (uint32_t)fd};

	if (epoll_ctl(a->epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev)) {
		if (op == EPOLL_CTL_DEL && (errno == EBADF || errno == ENOENT))
			return 0;
		return -errno;
	}
	return 0;
}

static void on_pod(struct pw_agent *a, const json_t *obj)
{
	struct pw_k8s_pod pod;
	char err[256];

	if (!obj || pw_k8s_pod_info(obj, &pod, err, sizeof(err)))
		return;
	for (struct pw_ep *ep = a->eps; ep; ep = ep->next) {
		if (strcmp(ep->namespace, pod.namespace) || strcmp(ep->name, pod.name))
			continue;
		/* A label change re-evaluates which policies select the pod. */
		pw_labels_free(&ep->labels);
		ep->labels = pod.labels;
		memset(&pod.labels, 0, sizeof(pod.labels));
		a->dirty = true;
		break;
	}
	pw_k8s_pod_free(&pod);
}

/* Cached last good versions go only once both policy kinds are listed. */
static void prune_if_listed(struct pw_agent *a)
{
	if (pw_k8s_kind_synced(a->k8s, PW_K8S_POLICIES) &&
	    pw_k8s_kind_synced(a->k8s, PW_K8S_CLUSTER_POLICIES))
		pw_agent_policy_cache_prune(a);
}

static void on_change(enum pw_k8s_kind kind, enum pw_k8s_change type, const json_t *old_obj,
		      const json_t *new_obj, void *ctx)
{
	struct pw_agent *a = ctx;

	switch (kind) {
	case PW_K8S_PODS:
		if (type == PW_K8S_ADDED || type == PW_K8S_MODIFIED)
			on_pod(a, new_obj);
		break;
	case PW_K8S_POLICIES: {
		const json_t *o = new_obj ? new_obj : old_obj;
		const json_t *md = json_object_get(o, "metadata");
		char source[600];

		if (type == PW_K8S_SYNCED) {
			/* A complete LIST: every object the API has was delivered. */
			prune_if_listed(a);
			break;
		}
		if (!o)
			break;
		/* Only the status changed (our own writes come back this way). */
		if (type == PW_K8S_MODIFIED && old_obj && new_obj &&
		    json_equal(json_object_get(old_obj, "spec"),
			       json_object_get(new_obj, "spec")) &&
		    json_equal(json_object_get(json_object_get(old_obj, "metadata"), "generation"),
			       json_object_get(json_object_get(new_obj, "metadata"), "generation")))
			break;
		snprintf(source, sizeof(source), "k8s:%s/%s",
			 json_string_value(json_object_get(md, "namespace")) ?: "?",
			 json_string_value(json_object_get(md, "name")) ?: "?");
		pw_agent_policy_object(a, source, type == PW_K8S_DELETED ? NULL : new_obj);
		a->dirty = true;
		break;
	}
	case PW_K8S_CLUSTER_POLICIES: {
		const json_t *o = new_obj ? new_obj : old_obj;
		char source[600];

		if (type == PW_K8S_SYNCED) {
			prune_if_listed(a);
			break;
		}
		if (!o)
			break;
		snprintf(source, sizeof(source), "k8s:@cluster/%s",
			 json_string_value(json_object_get(json_object_get(o, "metadata"), "name"))
				 ?: "?");
		pw_agent_policy_object(a, source, type == PW_K8S_DELETED ? NULL : new_obj);
		pw_agent_resolve_cluster(a, pw_k8s_objects(a->k8s, PW_K8S_NAMESPACES));
		a->dirty = true;
		break;
	}
	case PW_K8S_NAMESPACES:
		/* a label change moves the namespace's pods in or out at once */
		if (type != PW_K8S_SYNCED) {
			pw_agent_resolve_cluster(a, pw_k8s_objects(a->k8s, PW_K8S_NAMESPACES));
			a->dirty = true;
		}
		break;
	case PW_K8S_DNS_SERVICE:
	case PW_K8S_DNS_SLICES:
		if (kind == PW_K8S_DNS_SERVICE && type != PW_K8S_SYNCED)
			a->guard_dirty = true;
		if (a->k8s_synced && pw_sync_resolvers(a))
			pw_warn("could not update the trusted resolvers from the DNS service");
		break;
	case PW_K8S_NODES:
	case PW_K8S_API_SERVICE:
		/* The guard is rebuilt once per read from the API (guard_if_dirty),
		 * so a relist of a thousand nodes writes the maps once. */
		if (type != PW_K8S_SYNCED &&
		    !(type == PW_K8S_MODIFIED && pw_guard_k8s_same(old_obj, new_obj)))
			a->guard_dirty = true;
		break;
	default:
		break;
	}
	if (type == PW_K8S_SYNCED && !a->k8s_synced && pw_k8s_synced(a->k8s)) {
		a->k8s_synced = true;
		pw_agent_resolve_cluster(a, pw_k8s_objects(a->k8s, PW_K8S_NAMESPACES));
		pw_info("Kubernetes API: first full sync done, enforcing");
		/* the cluster's ranges guard the first learned answer */
		a->guard_dirty = false;
		if (pw_guard_sync(a))
			pw_warn("rebinding guard: the table from the API could not be written");
		pw_sync_resolvers(a);
		pw_agent_start_enforcing(a);
	}
}

/* ---- pods that predate podwall ------------------------------------------------ */

static bool pod_has_endpoint(struct pw_agent *a, const struct pw_k8s_pod *pod)
{
	for (struct pw_ep *ep = a->eps; ep; ep = ep->next)
		if (!strcmp(ep->namespace, pod->namespace) && !strcmp(ep->name, pod->name))
			return true;
	return false;
}

static bool pod_selected(struct pw_agent *a, const struct pw_k8s_pod *pod)
{
	for (size_t i = 0; i < a->n_pols; i++)
		if (pw_policy_selects(&a->pols[i], pod->namespace, &pod->labels))
			return true;
	return false;
}

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

void pw_kube_adopt(struct pw_agent *a)
{
	const json_t *pods = pw_k8s_objects(a->k8s, PW_K8S_PODS);
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
		    strcmp(pod.node_name, a->o.node_name) || !strcmp(pod.phase, "Succeeded") ||
		    !strcmp(pod.phase, "Failed") || pod_has_endpoint(a, &pod))
			goto next;
		if (!scanned) {
			int ret = pw_podlink_scan(&links, &n_links);

			scanned = true;
			if (ret)
				pw_warn("cannot scan this node's network namespaces for pods: %s",
					strerror(-ret));
		}
		snprintf(pod_name, sizeof(pod_name), "%s/%s", pod.namespace, pod.name);
		sel = pod_selected(a, &pod);
		ips = json_array();
		l = ips ? locate(links, n_links, &pod, ips, err, sizeof(err)) : NULL;
		if (l && !if_indextoname(l->host_ifindex, host_ifname)) {
			snprintf(err, sizeof(err), "its veth (ifindex %u) is gone",
				 l->host_ifindex);
			l = NULL;
		}
		if (l) {
			req = adopt_request(&pod, l, host_ifname, ips);
			if (req && !pw_agent_register(a, req, err, sizeof(err))) {
				a->pods_adopted++;
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
		if (!was_unlocated(a->unlocated, pod_name, sel))
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
	json_decref(a->unlocated);
	a->unlocated = unlocated;
	a->n_unlocated_selected = n_sel;
}

int pw_kube_start(struct pw_agent *a)
{
	struct pw_k8s_config cfg = {
		.kubeconfig = a->o.kubeconfig,
		.context = a->o.kube_context,
		.node_name = a->o.node_name,
		.dns_service = a->o.dns_service,
		/* Retry soon while a CNI ADD may be waiting for the first sync. */
		.backoff_max_ms = 5000,
		.on_change = on_change,
		.watch_fd = watch_fd,
		.ctx = a,
	};
	char err[512];

	if (!a->o.node_name || !*a->o.node_name) {
		pw_err("--k8s needs --node-name (the DaemonSet passes the downward API's "
		       "spec.nodeName)");
		return -EINVAL;
	}
	if (pw_k8s_new(&cfg, &a->k8s, err, sizeof(err))) {
		pw_err("Kubernetes API client: %s", err);
		return -EINVAL;
	}
	if (pw_kstatus_start(a))
		return -ENOMEM;
	pw_info("Kubernetes mode: node %s, API %s; nothing applied until the first full sync",
		a->o.node_name, pw_k8s_server(a->k8s));
	return 0;
}

/* A Node or Service changed: the guard is rebuilt before the loop handles
 * anything else (a DNS answer next in the same epoll batch sees the new table),
 * once for however many events one read delivered. */
static void guard_if_dirty(struct pw_agent *a)
{
	if (!a->guard_dirty)
		return;
	a->guard_dirty = false;
	if (pw_guard_sync(a))
		pw_warn("rebinding guard: could not update the table from the API");
}

void pw_kube_on_fd(struct pw_agent *a, int fd, uint32_t events)
{
	if (!a->k8s)
		return;
	pw_k8s_on_fd(a->k8s, fd, events);
	guard_if_dirty(a);
}

void pw_kube_tick(struct pw_agent *a)
{
	if (!a->k8s)
		return;
	pw_k8s_on_timeout(a->k8s);
	guard_if_dirty(a);
	if (a->dirty && a->k8s_synced) {
		a->dirty = false;
		pw_sync_all(a);
		pw_kube_adopt(a); /* pods, labels or policies changed: who is missing now */
	}
	pw_kstatus_tick(a);
	if (a->k8s_synced)
		pw_agent_retry_deferred(a);
}

int pw_kube_timeout_ms(struct pw_agent *a, int max_ms)
{
	int t;

	if (!a->k8s)
		return max_ms;
	t = pw_k8s_next_timeout_ms(a->k8s);
	return t < 0 || t > max_ms ? max_ms : t;
}

void pw_kube_stop(struct pw_agent *a)
{
	pw_k8s_free(a->k8s);
	a->k8s = NULL;
	pw_kstatus_stop(a);
	json_decref(a->unlocated);
	a->unlocated = NULL;
}

bool pw_kube_pod_labels(struct pw_agent *a, const char *ns, const char *name, struct pw_labels *out)
{
	const json_t *obj = a->k8s ? pw_k8s_get(a->k8s, PW_K8S_PODS, ns, name) : NULL;
	struct pw_k8s_pod pod;
	char err[256];

	if (!obj || pw_k8s_pod_info(obj, &pod, err, sizeof(err)))
		return false;
	*out = pod.labels;
	memset(&pod.labels, 0, sizeof(pod.labels));
	pw_k8s_pod_free(&pod);
	return true;
}

bool pw_kube_pod_owner(struct pw_agent *a, const char *ns, const char *name, struct pw_owner *out)
{
	const json_t *obj = a->k8s && ns && name ? pw_k8s_get(a->k8s, PW_K8S_PODS, ns, name) : NULL;

	return obj && !pw_pod_owner(obj, out);
}

size_t pw_kube_resolvers(struct pw_agent *a, struct pw_addr_key *out, size_t max)
{
	struct pw_k8s_addr addrs[PW_K8S_MAX_RESOLVERS];
	size_t n;

	if (!a->k8s || !a->k8s_synced)
		return 0;
	n = pw_k8s_resolvers(a->k8s, addrs, PW_K8S_MAX_RESOLVERS);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].family = addrs[i].family;
		out[i].addr = addrs[i].ip;
	}
	return n;
}

/* The operator named the service CIDR: no guessing from the ClusterIP. */
static bool service_cidr_given(const struct pw_agent *a)
{
	for (int i = 0; i < a->o.n_guard; i++)
		if (a->o.guard[i].kind == PW_G_SERVICE)
			return true;
	return false;
}

int pw_kube_guard(struct pw_agent *a, struct pw_guard *g, size_t *skipped)
{
	static const enum pw_k8s_kind services[] = {PW_K8S_API_SERVICE, PW_K8S_DNS_SERVICE};
	bool guess = !service_cidr_given(a);
	const char *key;
	json_t *obj;
	int err;

	if (!a->k8s)
		return 0;
	json_object_foreach((json_t *)pw_k8s_objects(a->k8s, PW_K8S_NODES), key, obj)
	{
		err = pw_guard_add_k8s_node(g, obj, skipped);
		if (err)
			return err;
	}
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		json_object_foreach((json_t *)pw_k8s_objects(a->k8s, services[i]), key, obj)
		{
			err = pw_guard_add_k8s_service(g, obj, guess, skipped);
			if (err)
				return err;
		}
	}
	return 0;
}

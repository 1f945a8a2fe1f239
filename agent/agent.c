// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's event loop: policy directory (inotify), control socket (CNI and
 * CLI), deny events (ring buffer), held DNS answers (perf buffer), and a 1 s
 * timer for the heartbeat, state flushes, garbage collection and reconcile.
 *
 * Start-up never opens or closes anything: the pinned maps and attached
 * programs keep enforcing while we load; endpoints and policies are read back
 * first, and only then are the maps rewritten (idempotently) and the programs
 * replaced in place.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent_int.h"
#include "conflist.h"
#include "ctl.h"
#include "events_fmt.h"
#include "explain.h"
#include "suggest.h"
#include "fileio.h"
#include "ipaddr.h"
#include "k8s.h"
#include "kfeatures.h"
#include "lock.h"
#include "log.h"
#include "policyset.h"
#include "version.h"

#ifndef PW_COMMIT
#define PW_COMMIT "unknown"
#endif

static void heartbeat(struct pw_agent *a, bool alive);

enum {
	TAG_LISTEN = 1,
	TAG_INOTIFY,
	TAG_TIMER,
	TAG_SIGNAL,
	TAG_RING,
	TAG_PERF,
	TAG_METRICS,
	TAG_LEARN,
	TAG_DRAIN
};

/* mkdir -p with mode 0700 for what it creates. */
static int mkdir_p(const char *path)
{
	char buf[512];

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* --------------------------------------------------------------- endpoints */

static bool is_veth(const char *ifname)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ret = false;

	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		ret = !strcmp(info.driver, "veth");
	close(fd);
	return ret;
}

static void ep_remove(struct pw_agent *a, struct pw_ep *ep, bool detach)
{
	char pod[300];

	pw_info("endpoint %s (%s, ifindex %u) removed", pw_ep_pod(ep, pod, sizeof(pod)),
		ep->host_ifname, ep->ifindex);
	pw_sync_remove_ep(a, ep);
	if (detach)
		pw_bpf_detach(&a->bpf, (int)ep->ifindex);
	pw_ep_unlink(ep, a->o.state_dir);
	pw_eps_unlink(&a->eps, ep);
	pw_ep_free(ep);
}

/* Bring an endpoint under podwall: rules first, programs second. */
static int ep_activate(struct pw_agent *a, struct pw_ep *ep, char *err, size_t errlen)
{
	char why[PW_ERR_LEN];
	int ret = pw_sync_ep(a, ep);

	if (ret) {
		snprintf(err, errlen, "cannot apply policies: %s",
			 ep->compile_error ? ep->compile_error : strerror(-ret));
		return ret;
	}
	ret = pw_bpf_attach(&a->bpf, (int)ep->ifindex, why, sizeof(why));
	if (ret) {
		/* Fail closed: a pod podwall cannot be first for does not start. */
		snprintf(err, errlen, "podwall cannot be first on %s: %s", ep->host_ifname,
			 why[0] ? why : strerror(-ret));
		return ret;
	}
	return 0;
}

/* Read back endpoints from the state directory; keep those whose veth still
 * exists as recorded, forget the rest. */
static void endpoints_restore(struct pw_agent *a)
{
	struct dirent *de;
	DIR *d = opendir(a->o.state_dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[600], err[PW_ERR_LEN];
		size_t n = strlen(de->d_name);
		json_error_t jerr;
		struct pw_ep *ep;
		json_t *o;
		uint32_t ifindex;
		const json_t *ji;

		if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->o.state_dir, de->d_name);
		o = json_load_file(path, 0, &jerr);
		if (!o)
			continue;
		ep = pw_ep_from_json(o, err, sizeof(err));
		ji = json_object_get(o, "ifindex");
		ifindex = json_is_integer(ji) ? (uint32_t)json_integer_value(ji) : 0;
		json_decref(o);
		if (!ep) {
			pw_warn("%s: unreadable endpoint state (%s), ignored", path, err);
			continue;
		}
		ep->ifindex = if_nametoindex(ep->host_ifname);
		if (!ep->ifindex || ep->ifindex != ifindex) {
			pw_info("endpoint %s/%s: %s is gone, forgetting it", ep->namespace,
				ep->name, ep->host_ifname);
			ep->ifindex = ifindex;
			if (ifindex)
				pw_map_del_endpoints(a->maps, &ifindex);
			pw_ep_unlink(ep, a->o.state_dir);
			pw_ep_free(ep);
			continue;
		}
		pw_eps_id_seen(&a->eps, ep->ep_id);
		ep->may_have_learned = true; /* the kernel may hold its learned entries */
		{
			/* Continue the kernel's generation: a restart must not make a
			 * flow recorded before a policy change look current again. */
			struct pw_endpoint kv;

			if (!bpf_map_lookup_elem(a->bpf.endpoints_fd, &ep->ifindex, &kv) &&
			    kv.ep_id == ep->ep_id) {
				ep->policy_gen = kv.policy_gen;
				ep->managed = kv.mode != PW_MODE_OPEN;
			}
		}
		pw_eps_add(&a->eps, ep);
	}
	closedir(d);
}

/* Endpoint ids are never reused while the maps are pinned: continue after the
 * largest one the kernel knows. An entry the agent has no record of is
 * removed (its pod is unmanaged). */
static bool endpoint_unknown(const void *key, const void *value, void *ctx)
{
	const struct pw_endpoint *v = value;
	struct pw_agent *a = ctx;
	uint32_t ifindex = *(const uint32_t *)key;

	if (v)
		pw_eps_id_seen(&a->eps, v->ep_id);
	if (pw_eps_by_ifindex(&a->eps, ifindex))
		return false;
	pw_warn("pw_endpoints: ifindex %u has no endpoint state, removing", ifindex);
	return true;
}

static void endpoint_ids_from_kernel(struct pw_agent *a)
{
	struct pw_config cfg;

	/* Ids of endpoints deleted before a restart are in no map any more: the
	 * config map remembers the next one. */
	if (!pw_bpf_config_get(&a->bpf, &cfg) && cfg.next_ep_id > a->eps.next_id)
		a->eps.next_id = cfg.next_ep_id;
	pw_map_sweep_endpoints(a->maps, endpoint_unknown, a, NULL);
	if (!a->eps.next_id)
		a->eps.next_id = 1;
}

/* The real order and program ids on both hooks: podwall's current programs
 * must run first. Put right what can be, report what cannot. */
static void reconcile_hooks(struct pw_agent *a, struct pw_ep *ep)
{
	char what[PW_ERR_LEN], pod[300];
	int ret = pw_bpf_verify(&a->bpf, (int)ep->ifindex, true, what, sizeof(what));

	pw_ep_pod(ep, pod, sizeof(pod));
	if (ret > 0) {
		a->st.hook_repairs += (uint64_t)ret;
		pw_warn("%s (%s): hook repaired: %s", pod, ep->host_ifname, what);
		pw_events_emit_hook(a, ep, true, what);
	} else if (ret < 0 && (!ep->hook_problem || strcmp(ep->hook_problem, what))) {
		pw_err("%s (%s): podwall is not first and cannot be made first: %s", pod,
		       ep->host_ifname, what);
		pw_events_emit_hook(a, ep, false, what);
	}
	if (ret >= 0) {
		free(ep->hook_problem);
		ep->hook_problem = NULL;
	} else if (!ep->hook_problem || strcmp(ep->hook_problem, what)) {
		free(ep->hook_problem);
		ep->hook_problem = strdup(what);
	}
}

static bool ifindex_known(int ifindex, void *ctx)
{
	return pw_eps_by_ifindex(&((struct pw_agent *)ctx)->eps, (uint32_t)ifindex) != NULL;
}

/* An upgrade from maps of another layout ends once every endpoint's hooks run
 * this agent's programs: then the old pins go. Until then (an endpoint that
 * could not be switched) it is retried at each reconcile. */
static void upgrade_finish(struct pw_agent *a)
{
	char why[PW_ERR_LEN];
	int ret;

	if (!a->bpf.pins.upgrade)
		return;
	ret = pw_bpf_upgrade_finish(&a->bpf, ifindex_known, a, why, sizeof(why));
	if (ret >= 0)
		pw_info("upgrade to map layout %s done in %.1f ms since the agent started: %d old "
			"pin(s) replaced or removed",
			a->bpf.pins.layout, (double)(pw_now_ns() - a->start_ns) / 1e6, ret);
	else if (ret == -EBUSY)
		pw_warn("upgrade to map layout %s pending (old pins kept, retried each reconcile): "
			"%s",
			a->bpf.pins.layout, why);
	else
		pw_err("upgrade to map layout %s: cannot remove the old pins: %s (retried each "
		       "reconcile)",
		       a->bpf.pins.layout, strerror(-ret));
}

/* Kubernetes mode: the pods of this node the agent cannot enforce, seen by
 * this reconcile, for their Events (kstatus.c). */
static void pod_problems(struct pw_agent *a)
{
	const char *node = pw_k8s_node(a->kube.k8s);
	char msg[PW_ERR_LEN + 600];
	size_t i;
	json_t *v;

	json_array_foreach(a->kube.unlocated, i, v)
	{
		const char *pod = json_string_value(json_object_get(v, "pod"));
		const char *why = json_string_value(json_object_get(v, "reason"));
		const char *slash = pod ? strchr(pod, '/') : NULL;
		char ns[64];

		if (!slash || !json_is_true(json_object_get(v, "selected")) ||
		    (size_t)(slash - pod) >= sizeof(ns))
			continue;
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - pod), pod);
		snprintf(msg, sizeof(msg),
			 "selected by a policy, but podwall found no network interface for it on "
			 "%s (%s): its egress is NOT restricted. Check that podwall-cni is chained "
			 "in the node's CNI config (podwall status), then delete the pod so that "
			 "it starts again through the chain",
			 node, why ? why : "?");
		pw_kstatus_pod_problem(a, ns, slash + 1, "PodNotEnforced", msg, false);
	}
	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		if (!ep->hook_problem || !ep->namespace || !ep->name)
			continue;
		snprintf(msg, sizeof(msg),
			 "podwall is not first on the pod's host veth %s on %s and cannot be made "
			 "first (%s): its traffic may pass another program or filter before the "
			 "policy. Remove what holds the hook (tc filter show dev %s ingress; "
			 "bpftool net show dev %s); podwall re-checks at every reconcile",
			 ep->host_ifname, node, ep->hook_problem, ep->host_ifname, ep->host_ifname);
		pw_kstatus_pod_problem(a, ep->namespace, ep->name, "HookConflict", msg, true);
	}
}

static void reconcile(struct pw_agent *a)
{
	for (struct pw_ep *ep = a->eps.head, *next; ep; ep = next) {
		next = ep->next;
		if (if_nametoindex(ep->host_ifname) != ep->ifindex) {
			ep_remove(a, ep, false);
			continue;
		}
		reconcile_hooks(a, ep);
	}
	pw_guard_sync(a); /* the node's addresses may have changed */
	if (a->kube.k8s && a->kube.synced) {
		pw_kube_adopt(&a->kube);
		pod_problems(a);
	}
	upgrade_finish(a);
	if (a->ready)
		pw_drift_check(a);
	a->last_reconcile_ns = pw_now_ns();
}

/* ------------------------------------------------------------ control API */

static json_t *reply_err(const char *fmt, const char *arg)
{
	char buf[PW_ERR_LEN];

	snprintf(buf, sizeof(buf), fmt, arg);
	return json_pack("{s:b,s:s}", "ok", 0, "error", buf);
}

static json_t *cmd_cni_add(struct pw_agent *a, json_t *req)
{
	char err[PW_ERR_LEN], pod[300];
	struct pw_ep *ep, *old;
	int ret;

	ep = pw_ep_from_json(req, err, sizeof(err));
	if (!ep)
		return reply_err("invalid cni_add request: %s", err);
	if (a->o.k8s) {
		/* The pod's labels are the API's, never the request's. */
		struct pw_labels l;

		if (pw_kube_pod_labels(&a->kube, ep->namespace, ep->name, &l)) {
			pw_labels_free(&ep->labels);
			ep->labels = l;
		}
	}
	ep->ifindex = if_nametoindex(ep->host_ifname);
	if (!ep->ifindex || !is_veth(ep->host_ifname)) {
		snprintf(err, sizeof(err), "%s: no such veth on this node", ep->host_ifname);
		pw_ep_free(ep);
		return reply_err("%s", err);
	}
	old = pw_eps_by_container(&a->eps, ep->container_id);
	if (old && old->ifindex == ep->ifindex) {
		/* ADD again for the same pod: make sure, and say yes. */
		pw_ep_free(ep);
		ret = ep_activate(a, old, err, sizeof(err));
		return ret ? reply_err("%s", err) : json_pack("{s:b}", "ok", 1);
	}
	if (old)
		ep_remove(a, old, true);
	old = pw_eps_by_ifindex(&a->eps, ep->ifindex);
	if (old && !strcmp(old->host_ifname, ep->host_ifname) &&
	    !strncmp(old->container_id, PW_ADOPTED_PREFIX, strlen(PW_ADOPTED_PREFIX)) &&
	    !strcmp(old->namespace, ep->namespace) && !strcmp(old->name, ep->name)) {
		/* Registered from the API (it predated podwall), now the runtime's
		 * ADD: the endpoint stays as it is (no window), under the ADD's id. */
		pw_ep_unlink(old, a->o.state_dir);
		snprintf(old->container_id, sizeof(old->container_id), "%s", ep->container_id);
		snprintf(old->netns, sizeof(old->netns), "%s", ep->netns);
		pw_ep_free(ep);
		ret = ep_activate(a, old, err, sizeof(err));
		if (!ret)
			ret = pw_ep_save(old, a->o.state_dir);
		return ret ? reply_err("%s", err) : json_pack("{s:b}", "ok", 1);
	}
	if (old && !strcmp(old->host_ifname, ep->host_ifname) &&
	    if_nametoindex(old->host_ifname) == old->ifindex) {
		/* That veth is a live pod's: never hand it to another container. */
		snprintf(err, sizeof(err), "%s belongs to pod %s (container %s)", ep->host_ifname,
			 pw_ep_pod(old, pod, sizeof(pod)), old->container_id);
		pw_ep_free(ep);
		return reply_err("%s", err);
	}
	if (old) /* its veth is gone and the ifindex was reused */
		ep_remove(a, old, false);
	pthread_mutex_lock(&a->cfg_lock);
	ep->ep_id = a->eps.next_id++;
	pthread_mutex_unlock(&a->cfg_lock);
	heartbeat(a, true); /* persists next_ep_id in the pinned config map */
	pw_eps_add(&a->eps, ep);
	ret = ep_activate(a, ep, err, sizeof(err));
	if (!ret)
		ret = pw_ep_save(ep, a->o.state_dir);
	if (ret) {
		pw_err("cni ADD %s refused: %s", pw_ep_pod(ep, pod, sizeof(pod)), err);
		ep_remove(a, ep, true);
		return reply_err("%s", err);
	}
	pw_info("endpoint %s added: %s ifindex %u id %u, %s", pw_ep_pod(ep, pod, sizeof(pod)),
		ep->host_ifname, ep->ifindex, ep->ep_id,
		ep->managed ? (ep->compiled.mode == PW_MODE_AUDIT ? "audit" : "enforced")
			    : "no policy selects it");
	return json_pack("{s:b,s:i,s:b}", "ok", 1, "ep_id", ep->ep_id, "enforced", ep->managed);
}

static int pw_agent_register(struct pw_agent *a, json_t *req, char *err, size_t errlen)
{
	json_t *rep = cmd_cni_add(a, req);
	int ret = 0;

	if (!rep) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		snprintf(err, errlen, "%s",
			 json_string_value(json_object_get(rep, "error")) ?: "?");
		ret = -EINVAL;
	}
	json_decref(rep);
	return ret;
}

static json_t *cmd_cni_del(struct pw_agent *a, json_t *req)
{
	const char *id = json_string_value(json_object_get(req, "container_id"));
	struct pw_ep *ep = id ? pw_eps_by_container(&a->eps, id) : NULL;

	if (ep)
		ep_remove(a, ep, true);
	return json_pack("{s:b}", "ok", 1);
}

static json_t *cmd_cni_check(struct pw_agent *a, json_t *req)
{
	const char *id = json_string_value(json_object_get(req, "container_id"));
	struct pw_ep *ep = id ? pw_eps_by_container(&a->eps, id) : NULL;
	struct pw_endpoint v;

	if (!ep)
		return reply_err("container %s: not known to podwall", id ? id : "?");
	if (!pw_bpf_attached(&a->bpf, (int)ep->ifindex))
		return reply_err("%s: podwall programs are not attached first", ep->host_ifname);
	if (bpf_map_lookup_elem(a->bpf.endpoints_fd, &ep->ifindex, &v))
		return reply_err("%s: endpoint missing from pw_endpoints", ep->host_ifname);
	return json_pack("{s:b}", "ok", 1);
}

static const char *mode_name(const struct pw_ep *ep)
{
	if (!ep->managed)
		return "unselected";
	return ep->compiled.mode == PW_MODE_AUDIT ? "audit" : "enforce";
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

static json_t *cmd_endpoints(struct pw_agent *a)
{
	json_t *arr = json_array();

	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		json_t *o = pw_ep_to_json(ep);
		struct pw_ep_stats st;
		char pod[300];

		json_object_set_new(o, "pod", json_string(pw_ep_pod(ep, pod, sizeof(pod))));
		json_object_set_new(o, "mode", json_string(mode_name(ep)));
		json_object_set_new(
			o, "deny_action",
			json_string(ep->managed && ep->compiled.mode == PW_MODE_ENFORCE &&
						    ep->compiled.deny_action == PW_DENY_REJECT
					    ? "reject"
					    : "drop"));
		json_object_set_new(o, "policies",
				    strv_json(ep->compiled.policies, ep->compiled.n_policies));
		json_object_set_new(o, "attached", json_boolean(!ep->hook_problem));
		if (ep->hook_problem)
			json_object_set_new(o, "hook_problem", json_string(ep->hook_problem));
		if (ep->compile_error)
			json_object_set_new(o, "error", json_string(ep->compile_error));
		if (ep->managed && !pw_bpf_ep_stats(&a->bpf, ep->ep_id, &st)) {
			uint64_t drops = 0;

			for (int r = 0; r < PW_R_MAX; r++)
				drops += st.drop[r];
			json_object_set_new(
				o, "packets",
				json_pack("{s:I,s:I,s:I}", "allowed", (json_int_t)st.pass, "denied",
					  (json_int_t)drops, "audited", (json_int_t)st.audit));
		}
		json_array_append_new(arr, o);
	}
	return json_pack("{s:b,s:o}", "ok", 1, "endpoints", arr);
}

static json_t *cmd_policies(struct pw_agent *a)
{
	json_t *arr = json_array(), *errs = json_array();

	for (size_t i = 0; i < a->policies.n_files; i++) {
		const struct pw_policy_file *f = &a->policies.files[i];

		if (f->error)
			json_array_append_new(
				errs, json_pack("{s:s,s:s}", "source", f->path, "error", f->error));
		for (size_t j = 0; j < f->n_pols; j++) {
			const struct pw_policy *p = &f->pols[j];
			json_t *sel = json_array();
			char pod[300];

			for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next)
				if (pw_policy_selects(p, ep->namespace, &ep->labels))
					json_array_append_new(
						sel, json_string(pw_ep_pod(ep, pod, sizeof(pod))));
			json_array_append_new(
				arr,
				json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:o,s:b,s:s?}", "namespace",
					  p->namespace, "name", p->name, "source", p->source,
					  "mode", p->mode == PW_MODE_AUDIT ? "audit" : "enforce",
					  "denyAction",
					  p->deny_action == PW_DENY_REJECT ? "reject" : "drop",
					  "rules", (int)p->n_rules, "selects", sel, "stale",
					  f->error != NULL, "warning", p->warning));
		}
	}
	return json_pack("{s:b,s:o,s:o}", "ok", 1, "policies", arr, "errors", errs);
}

static json_t *cmd_fqdn(struct pw_agent *a, json_t *req)
{
	const char *want = json_string_value(json_object_get(req, "pod"));
	uint64_t now = pw_now_ns();
	json_t *arr = json_array();

	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		char pod[300], ip[PW_IP_STRLEN];

		pw_ep_pod(ep, pod, sizeof(pod));
		if (want && strcmp(want, pod))
			continue;
		for (size_t i = 0; i < ep->n_names; i++) {
			const struct pw_learned_name *n = &ep->names[i];
			json_t *addrs = json_array();

			for (size_t j = 0; j < n->n_addrs; j++) {
				int64_t left =
					(int64_t)(pw_learned_expires_ns(&n->addrs[j]) - now) /
					1000000000LL;

				json_array_append_new(addrs,
						      json_pack("{s:s,s:I}", "ip",
								pw_ip_str(n->addrs[j].family,
									  &n->addrs[j].ip, ip),
								"ttl_left", (json_int_t)left));
			}
			json_array_append_new(arr, json_pack("{s:s,s:s,s:o}", "pod", pod, "name",
							     n->name, "addrs", addrs));
		}
	}
	return json_pack("{s:b,s:o}", "ok", 1, "fqdn", arr);
}

/* What a connection from the pod to "to" would meet now; changes nothing. */
static json_t *cmd_explain(struct pw_agent *a, json_t *req)
{
	const char *want = json_string_value(json_object_get(req, "pod"));
	const char *to = json_string_value(json_object_get(req, "to"));
	struct pw_explain_in in = {0};
	char host[PW_FQDN_MAX + 1], pod[300];
	const char *why = NULL;
	struct pw_ep *ep;
	json_t *o, *pols;

	if (!want || !to)
		return reply_err("explain needs %s", "pod and to");
	for (ep = a->eps.head; ep; ep = ep->next)
		if (!strcmp(pw_ep_pod(ep, pod, sizeof(pod)), want))
			break;
	if (!ep)
		return reply_err("pod %s is not on this node (see podwall endpoints)", want);
	if (pw_explain_parse_to(to, host, &in.port, &in.proto, &why))
		return json_pack("{s:b,s:s+}", "ok", 0, "error", "--to: ", why);
	in.pod_namespace = ep->namespace;
	in.labels = &ep->labels;
	in.managed = ep->managed && ep->compiled.selected;
	in.compiled = &ep->compiled;
	in.pols = a->policies.pols;
	in.n_pols = a->policies.n_pols;
	in.names = ep->names;
	in.n_names = ep->n_names;
	in.now_ns = pw_now_ns();
	in.host = host;
	o = pw_explain(&in);
	if (!o)
		return reply_err("out of %s", "memory");
	pols = json_array();
	for (size_t i = 0; i < ep->compiled.n_policies; i++)
		json_array_append_new(pols, json_string(ep->compiled.policies[i]));
	json_object_set_new(o, "pod", json_string(want));
	json_object_set_new(o, "mode",
			    json_string(!in.managed			     ? "open"
					: ep->compiled.mode == PW_MODE_AUDIT ? "audit"
									     : "enforce"));
	json_object_set_new(o, "policies", pols);
	json_object_set_new(o, "to",
			    json_pack("{s:s,s:i,s:s}", "host", host, "port", in.port, "proto",
				      in.proto == IPPROTO_UDP	 ? "UDP"
				      : in.proto == IPPROTO_SCTP ? "SCTP"
								 : "TCP"));
	return json_pack("{s:b,s:o}", "ok", 1, "explain", o);
}

/* Does the endpoint carry every label of "k=v,k2=v2"? */
static bool labels_match(const struct pw_ep *ep, const char *sel)
{
	char *dup = strdup(sel), *save = NULL;
	bool ok = dup != NULL;

	for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; ok && t;
	     t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		const char *v;

		if (!eq) {
			ok = false;
			break;
		}
		*eq = '\0';
		v = pw_labels_get(&ep->labels, t);
		ok = v && !strcmp(v, eq + 1);
	}
	free(dup);
	return ok;
}

/* An EgressPolicy from what the pods reached or tried: the deny/audit
 * records since since_ns (with the name each resolved) and the names they
 * learned. */
static json_t *cmd_suggest(struct pw_agent *a, json_t *req)
{
	const char *want = json_string_value(json_object_get(req, "pod"));
	const char *sel = json_string_value(json_object_get(req, "selector"));
	const char *ns = json_string_value(json_object_get(req, "namespace"));
	json_int_t since = json_integer_value(json_object_get(req, "since_ns"));
	bool collapse = !json_is_false(json_object_get(req, "collapse"));
	struct pw_suggest sg;
	json_t *labels = json_object(), *pol, *pods = json_array();
	const char *pol_ns = NULL, *pol_name = NULL;
	char pod[300];

	if (!want == !sel)
		return reply_err("suggest needs %s", "--pod NS/NAME or --selector LABELS");
	pw_suggest_init(&sg);
	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		pw_ep_pod(ep, pod, sizeof(pod));
		if (want ? strcmp(want, pod)
			 : (!labels_match(ep, sel) || (ns && strcmp(ns, ep->namespace))))
			continue;
		json_array_append_new(pods, json_string(pod));
		if (!pol_ns) {
			pol_ns = ep->namespace;
			pol_name = ep->name;
		}
		if (want)
			for (size_t i = 0; i < ep->labels.n; i++)
				json_object_set_new(labels, ep->labels.v[i].key,
						    json_string(ep->labels.v[i].value));
		for (size_t i = 0; i < ep->n_names; i++) {
			const struct pw_learned_name *n = &ep->names[i];

			for (uint32_t r = 0; n->ports && r < n->ports->n; r++) {
				const struct pw_port_range *pr = &n->ports->r[r];

				if (pr->proto == PW_PROTO_ANY || pr->lo != pr->hi)
					continue; /* ranges: the records below name the ports used
						   */
				pw_suggest_add(&sg, n->name, NULL,
					       pr->proto == IPPROTO_UDP	   ? "udp"
					       : pr->proto == IPPROTO_SCTP ? "sctp"
									   : "tcp",
					       pr->lo);
			}
		}
		for (size_t i = 0; i < a->ev_count; i++) {
			struct pw_event_rec *r = &a->events[(a->ev_head + i) % a->o.events_keep];
			json_t *e;

			if (strcmp(r->pod, pod) || r->wall_ns < (uint64_t)since)
				continue;
			if (r->reason != PW_R_NO_RULE && r->reason != PW_R_PORT &&
			    r->reason != PW_R_EXPIRED)
				continue; /* spoofing, malformed, ...: nothing to allow */
			e = pw_event_rec_json(a, r);
			const char *dst = json_string_value(json_object_get(e, "dst"));
			const char *proto = json_string_value(json_object_get(e, "proto"));
			int dport = (int)json_integer_value(json_object_get(e, "dport"));
			bool named = false;

			/* every name the pod resolved to this address: a rule for
			 * each, so that each still resolves in enforce mode */
			for (size_t k = 0; dst && ep->seen && k < PW_EP_SEEN; k++) {
				char ipb[PW_IP_STRLEN];

				if (!ep->seen[k].name ||
				    strcmp(pw_ip_str(ep->seen[k].family, &ep->seen[k].ip, ipb),
					   dst))
					continue;
				pw_suggest_add(&sg, ep->seen[k].name, NULL, proto, dport);
				named = true;
			}
			pw_suggest_add(&sg, json_string_value(json_object_get(e, "hostname")),
				       named ? NULL : dst, proto, dport);
			json_decref(e);
		}
	}
	if (!pol_ns) {
		pw_suggest_free(&sg);
		json_decref(labels);
		json_decref(pods);
		return reply_err("no pod on this node matches %s", want ? want : sel);
	}
	if (sel) {
		char *dup = strdup(sel), *save = NULL;

		for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t;
		     t = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(t, '=');

			if (eq) {
				*eq = '\0';
				json_object_set_new(labels, t, json_string(eq + 1));
			}
		}
		free(dup);
	}
	{
		char name[300];

		snprintf(name, sizeof(name), "%s-suggested", pol_name);
		pol = pw_suggest_policy(&sg, pol_ns, name, labels, collapse);
	}
	pw_suggest_free(&sg);
	json_decref(labels);
	return json_pack("{s:b,s:o,s:o}", "ok", 1, "policy", pol, "pods", pods);
}

json_t *pw_agent_counters_json(struct pw_agent *a)
{
	uint64_t c[PW_C_MAX];
	json_t *o = json_object();
	char name[64];

	if (pw_bpf_counters(&a->bpf, c))
		return o;
	for (int i = 0; i < PW_C_DROP; i++)
		json_object_set_new(o, pw_counter_name(i), json_integer((json_int_t)c[i]));
	for (int r = 1; r < PW_R_MAX; r++) {
		snprintf(name, sizeof(name), "drop_%s", pw_reason_name((uint8_t)r));
		json_object_set_new(o, name, json_integer((json_int_t)c[PW_C_DROP + r]));
		snprintf(name, sizeof(name), "audit_%s", pw_reason_name((uint8_t)r));
		json_object_set_new(o, name, json_integer((json_int_t)c[PW_C_AUDIT + r]));
	}
	return o;
}

void pw_agent_maps(const struct pw_agent *a, struct pw_map_ref out[PW_AGENT_MAPS])
{
#define PW_MAP_REF(name, key, value, max, shown) {PW_MAP_NAME(name), a->bpf.name##_fd, max, shown},
	const struct pw_map_ref maps[] = {PW_MAPS(PW_MAP_REF)};
#undef PW_MAP_REF
	size_t n = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (maps[i].shown)
			out[n++] = maps[i];
}

static json_t *cmd_status(struct pw_agent *a)
{
	struct pw_map_ref maps[PW_AGENT_MAPS];
	json_t *jm = json_object(), *missing = json_array(), *errs = json_array();
	json_t *problems = json_array();
	size_t n_eps = 0, n_managed = 0, attached = 0, i_deg;
	json_t *v_deg;
	struct pw_agent_stats *s = &a->st;

	pw_agent_maps(a, maps);
	for (size_t i = 0; i < PW_AGENT_MAPS; i++)
		json_object_set_new(jm, maps[i].name,
				    json_pack("{s:I,s:I}", "entries",
					      (json_int_t)pw_bpf_map_count(maps[i].fd), "max",
					      (json_int_t)maps[i].max));
	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		n_eps++;
		n_managed += ep->managed;
		if (!ep->hook_problem && pw_bpf_attached(&a->bpf, (int)ep->ifindex)) {
			attached++;
		} else {
			char pod[300];

			json_array_append_new(missing, json_string(ep->host_ifname));
			json_array_append_new(
				problems,
				json_pack("{s:s,s:s,s:s}", "pod", pw_ep_pod(ep, pod, sizeof(pod)),
					  "veth", ep->host_ifname, "problem",
					  ep->hook_problem ? ep->hook_problem : "not first"));
		}
	}
	for (size_t i = 0; i < a->policies.n_files; i++)
		if (a->policies.files[i].error)
			json_array_append_new(errs, json_string(a->policies.files[i].error));
	json_t *st = json_pack(
		"{s:b,s:s,s:I,s:s,s:s?,s:{s:i,s:i,s:i,s:o},s:{s:i,s:i,s:o},s:o,s:o,s:{s:I,s:I,s:I,"
		"s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}",
		"ok", 1, "version", PW_VERSION, "uptime_s",
		(json_int_t)((pw_now_ns() - a->start_ns) / 1000000000ULL), "pin_dir", a->o.pin_dir,
		"policy_dir", a->o.policy_dir, "endpoints", "total", (int)n_eps, "enforced",
		(int)n_managed, "programs_attached", (int)attached, "programs_missing", missing,
		"policies", "loaded", (int)a->policies.n_pols, "files", (int)a->policies.n_files,
		"errors", errs, "maps", jm, "counters", pw_agent_counters_json(a), "agent",
		"dns_held_seen", (json_int_t)s->dns_samples, "dns_learned",
		(json_int_t)s->dns_learned, "dns_released", (json_int_t)s->dns_released,
		"dns_release_failed", (json_int_t)s->dns_release_fail, "dns_dropped_invalid",
		(json_int_t)s->dns_dropped_invalid, "dns_dropped_learn",
		(json_int_t)s->dns_dropped_learn, "dns_dropped_budget",
		(json_int_t)s->dns_dropped_budget, "learn_log_addrs", (json_int_t)s->learnlog_addrs,
		"dns_not_allowed", (json_int_t)s->dns_not_allowed, "dns_private",
		(json_int_t)s->dns_private, "perf_lost", (json_int_t)s->perf_lost, "policy_errors",
		(json_int_t)a->policies.errors, "events", (json_int_t)s->events_total);
	if (st) {
		json_t *ag = json_object_get(st, "agent");

		/* DNS-over-TCP answers over several segments (dnstcp.c) */
		json_object_set_new(ag, "dns_tcp_reassembled",
				    json_integer(s->dns_tcp_reassembled));
		json_object_set_new(ag, "dns_tcp_lost", json_integer(s->dns_tcp_lost));
		json_object_set_new(ag, "dns_tcp_expired", json_integer(s->dns_tcp_expired));
		/* where a released answer's hold time went, summed (ns) */
		json_object_set_new(ag, "dns_hold_ns",
				    json_pack("{s:I,s:I,s:I,s:I,s:I}", "total",
					      (json_int_t)s->dns_hold_sum_ns, "wake",
					      (json_int_t)s->dns_hold_stage_ns[0], "parse",
					      (json_int_t)s->dns_hold_stage_ns[1], "learn",
					      (json_int_t)s->dns_hold_stage_ns[2], "release",
					      (json_int_t)s->dns_hold_stage_ns[3]));
		json_t *deg = json_array();
		char obj[64];

		json_array_foreach(missing, i_deg, v_deg)
			json_array_append_new(deg, json_pack("s++", "programs missing on ",
							     json_string_value(v_deg), ""));
		if (!a->ready)
			json_array_append_new(deg, json_string("not enforcing yet (first policy "
							       "load or API sync pending)"));
		if (a->ready && a->bpf.pins.upgrade)
			json_array_append_new(deg, json_pack("s++", "upgrade to map layout ",
							     a->bpf.pins.layout,
							     " pending: the old pins are kept"));
		json_object_set_new(st, "map_layout", json_string(a->bpf.pins.layout));
		json_object_set_new(st, "upgrade_pending", json_boolean(a->bpf.pins.upgrade));
		json_object_set_new(st, "commit", json_string(PW_COMMIT));
		json_object_set_new(st, "bpf_object",
				    json_string(pw_bpf_object_id(obj, sizeof(obj))));
		json_object_set_new(st, "ready", json_boolean(a->ready));
		json_object_set_new(st, "degraded", deg);
	}
	if (st)
		json_object_set_new(st, "hooks",
				    json_pack("{s:s,s:I,s:o}", "mode",
					      a->bpf.hook == PW_HOOK_TCX ? "tcx" : "legacy",
					      "repairs", (json_int_t)s->hook_repairs, "problems",
					      problems));
	else
		json_decref(problems);
	if (st)
		json_object_set_new(
			st, "drift_repairs",
			json_pack("{s:I,s:I,s:I}", "pw_endpoints",
				  (json_int_t)s->drift_repairs[PW_DRIFT_ENDPOINT], "pw_cidr",
				  (json_int_t)s->drift_repairs[PW_DRIFT_RULES], "pw_ports",
				  (json_int_t)s->drift_repairs[PW_DRIFT_PORTS]));
	if (st) /* the rebinding guard: every prefix and where it came from */
		json_object_set_new(st, "guard", pw_guard_json(a));
	if (st && a->kube.k8s) {
		struct pw_k8s_health h;

		/* Losing the API is shown, never made a readiness failure: the
		 * node keeps enforcing what it has, and new pods wait. */
		pw_k8s_health(a->kube.k8s, &h);
		json_object_set_new(st, "kubernetes",
				    json_pack("{s:s,s:b,s:[{s:s,s:s,s:s,s:s,s:I}]}", "server",
					      pw_k8s_server(a->kube.k8s), "synced", a->kube.synced,
					      "conditions", "type", "APIConnected", "status",
					      h.state == PW_K8S_API_OK ? "True" : "False", "reason",
					      h.reason, "message", h.message, "since_unix_ms",
					      (json_int_t)h.since_ms));
		/* Pods of this node the API lists that podwall could not locate. */
		json_object_set_new(st, "pods_unlocated",
				    a->kube.unlocated ? json_incref(a->kube.unlocated)
						      : json_array());
		json_object_set_new(st, "pods_adopted",
				    json_integer((json_int_t)a->kube.pods_adopted));
	}
	return st;
}

static json_t *cmd_events(struct pw_agent *a, json_t *req, int fd, bool *keep)
{
	const char *pod = json_string_value(json_object_get(req, "pod"));
	const char *rs = json_string_value(json_object_get(req, "reason"));
	json_int_t since = json_integer_value(json_object_get(req, "since_ns"));
	int reason = -1;
	json_t *list;

	if (rs && (reason = pw_reason_from_name(rs)) < 0)
		return reply_err("unknown reason %s", rs);
	list = pw_events_query(a, pod, reason, since > 0 ? (uint64_t)since : 0);
	if (json_is_true(json_object_get(req, "follow"))) {
		json_t *r = json_pack("{s:b,s:o}", "ok", 1, "events", list);

		/* The backlog first, then the stream. */
		if (pw_ctl_send(fd, r) == 0 && pw_events_follow(a, fd, pod, reason) == 0)
			*keep = true;
		json_decref(r);
		return NULL;
	}
	return json_pack("{s:b,s:o}", "ok", 1, "events", list);
}

static bool pw_agent_add_ready(struct pw_agent *a, json_t *req, const char **why)
{
	const char *ns = json_string_value(json_object_get(req, "namespace"));
	const char *name = json_string_value(json_object_get(req, "name"));
	struct pw_labels l = {0};

	/* Standalone: policies are files already loaded, labels come with the
	 * request, so an ADD can always be answered at once. */
	if (!a->o.k8s)
		return true;
	if (!a->kube.synced) {
		*why = "waiting for the first full sync with the Kubernetes API";
		return false;
	}
	if (!ns || !name || !pw_kube_pod_labels(&a->kube, ns, name, &l)) {
		*why = "the pod is not (yet) known to the Kubernetes API on this node";
		return false;
	}
	pw_labels_free(&l);
	return true;
}

#define CLIENT_MAX_REQUEST (1 << 20)
#define CNI_ADD_WAIT_NS	   (10ULL * 1000000000ULL)

static void client_close(struct pw_agent *a, struct pw_client *c, bool close_fd)
{
	for (struct pw_client **pp = &a->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (close_fd)
		close(c->fd);
	json_decref(c->deferred);
	free(c->buf);
	free(c);
}

/* Replies go out blocking (bounded by a send timeout): they can be large. */
static void client_reply(struct pw_agent *a, struct pw_client *c, json_t *rep)
{
	struct timeval tv = {.tv_sec = 2};
	int fl = fcntl(c->fd, F_GETFL);

	if (fl >= 0)
		fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (rep)
		pw_ctl_send(c->fd, rep);
	json_decref(rep);
}

/* Returns the reply, or NULL when the request was kept (follow, deferred). */
static json_t *dispatch(struct pw_agent *a, struct pw_client *c, json_t *req, bool *keep)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!cmd)
		return reply_err("%s", "request without \"cmd\"");
	if (!strcmp(cmd, "cni_add")) {
		const char *why = NULL;

		if (!pw_agent_add_ready(a, req, &why)) {
			uint64_t now = pw_now_ns();

			if (!c->deferred_ns)
				c->deferred_ns = now;
			if (now - c->deferred_ns < CNI_ADD_WAIT_NS) {
				if (c->deferred != req) {
					json_decref(c->deferred);
					c->deferred = json_incref(req);
				}
				*keep = true;
				return NULL;
			}
			return reply_err("not ready to enforce this pod: %s", why ? why : "?");
		}
		return cmd_cni_add(a, req);
	}
	if (!strcmp(cmd, "cni_del"))
		return cmd_cni_del(a, req);
	if (!strcmp(cmd, "cni_check"))
		return cmd_cni_check(a, req);
	if (!strcmp(cmd, "status"))
		return cmd_status(a);
	if (!strcmp(cmd, "endpoints"))
		return cmd_endpoints(a);
	if (!strcmp(cmd, "policies"))
		return cmd_policies(a);
	if (!strcmp(cmd, "fqdn"))
		return cmd_fqdn(a, req);
	if (!strcmp(cmd, "explain"))
		return cmd_explain(a, req);
	if (!strcmp(cmd, "suggest"))
		return cmd_suggest(a, req);
	if (!strcmp(cmd, "events"))
		return cmd_events(a, req, c->fd, keep);
	return reply_err("unknown command %s", cmd);
}

static void client_request(struct pw_agent *a, struct pw_client *c, json_t *req)
{
	bool keep = false;
	json_t *rep = dispatch(a, c, req, &keep);

	if (keep && c->deferred)
		return; /* waits; retried by pw_agent_retry_deferred() */
	if (keep) {
		/* An events follower: the fd now belongs to the follower list. */
		client_close(a, c, false);
		return;
	}
	if (!rep)
		rep = reply_err("%s", "internal error: the reply could not be built");
	client_reply(a, c, rep);
	client_close(a, c, true);
}

static void pw_agent_retry_deferred(struct pw_agent *a)
{
	for (struct pw_client *c = a->clients, *next; c; c = next) {
		next = c->next;
		if (c->deferred) {
			json_t *req = json_incref(c->deferred);

			client_request(a, c, req);
			json_decref(req);
		}
	}
}

static void client_readable(struct pw_agent *a, struct pw_client *c)
{
	json_error_t jerr;
	char *nl;
	json_t *req;

	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 8192;
			char *nb;

			if (cap > CLIENT_MAX_REQUEST) {
				client_reply(a, c, reply_err("%s", "request too large"));
				client_close(a, c, true);
				return;
			}
			nb = realloc(c->buf, cap);
			if (!nb) {
				client_close(a, c, true);
				return;
			}
			c->buf = nb;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		client_close(a, c, true); /* EOF or error before a full request */
		return;
	}
	c->buf[c->len] = '\0';
	nl = memchr(c->buf, '\n', c->len);
	if (!nl)
		return; /* more to come */
	*nl = '\0';
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL); /* one request per connection */
	req = json_loads(c->buf, 0, &jerr);
	if (!req) {
		client_reply(a, c, reply_err("bad request: %s", jerr.text));
		client_close(a, c, true);
		return;
	}
	client_request(a, c, req);
	json_decref(req);
}

static void client_accept(struct pw_agent *a)
{
	int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN};
	struct pw_client *c;

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	ev.data.ptr = c;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		free(c);
		return;
	}
	c->next = a->clients;
	a->clients = c;
}

static int listen_ctl(struct pw_agent *a)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[sizeof(sun.sun_path)];
	char *slash;
	int fd;

	if (strlen(a->o.socket_path) >= sizeof(sun.sun_path)) {
		pw_err("--socket %s: path too long", a->o.socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, a->o.socket_path);
	strcpy(dir, a->o.socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir) == 0 && !strncmp(dir, "/run/podwall", 12))
			chmod(dir, 0700); /* our own directory: root only */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(a->o.socket_path);
	/* Root only: the socket is created 0600 and the directory is 0700. */
	mode_t old = umask(0177);

	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 64)) {
		int err = -errno;

		umask(old);
		pw_err("cannot listen on %s: %s", a->o.socket_path, strerror(-err));
		close(fd);
		return err;
	}
	umask(old);
	chmod(a->o.socket_path, 0600);
	return fd;
}

/* ------------------------------------------------------------------ loop */

/* k3s rewrites its conflist when it starts: chain podwall-cni in again. */
static void conflist_chain(struct pw_agent *a)
{
	char err[512], dir[512];
	bool changed = false;
	char *slash;

	if (!a->o.cni_conflist)
		return;
	if (a->conflist_wd < 0) {
		snprintf(dir, sizeof(dir), "%s", a->o.cni_conflist);
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		a->conflist_wd = inotify_add_watch(a->inotify_fd, dir,
						   IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
		if (a->conflist_wd < 0)
			pw_warn("cannot watch %s (%s): checked every %u s", dir, strerror(errno),
				a->o.reconcile_interval);
	}
	if (access(a->o.cni_conflist, F_OK))
		return; /* not written yet; the watch will tell */
	if (pw_conflist_chain_file(a->o.cni_conflist, a->o.socket_path, &changed, err, sizeof(err)))
		pw_err("cannot chain podwall-cni into %s: %s", a->o.cni_conflist, err);
	else if (changed)
		pw_info("%s: podwall-cni chained", a->o.cni_conflist);
}

static void heartbeat(struct pw_agent *a, bool alive)
{
	struct pw_config cfg = {
		.agent_timeout_ns = (uint64_t)a->o.agent_timeout_ms * 1000000ULL,
		.release_mark = a->o.release_mark,
		.flags = PW_CFG_HOLD_DNS | (a->o.dns_learn_inline ? PW_CFG_LEARN_INLINE : 0),
		.events_per_sec = a->o.events_per_sec,
		.events_burst = a->o.events_burst,
		.dns_hold_per_sec = a->o.dns_hold_per_sec,
		.dns_hold_burst = a->o.dns_hold_burst,
		.dns_query_per_sec = (uint16_t)a->o.dns_queries_per_sec,
		.dns_query_burst = (uint16_t)a->o.dns_queries_burst,
		.reject_per_sec = a->o.reject_per_sec,
		.reject_burst = a->o.reject_burst,
		.min_ttl_s = a->o.min_ttl,
		.max_ttl_s = a->o.max_ttl,
		.max_addrs_per_name = a->o.max_addrs_per_name,
	};

	pthread_mutex_lock(&a->cfg_lock);
	cfg.heartbeat_ns = alive ? pw_now_ns() : 0;
	cfg.next_ep_id = a->eps.next_id;
	if (pw_bpf_config_set(&a->bpf, &cfg))
		pw_warn("cannot write pw_config heartbeat: %s", strerror(errno));
	pthread_mutex_unlock(&a->cfg_lock);
}

/* The agent as a whole is alive while its loop makes progress, even when one
 * event takes long (a DNS flood, a policy change with full maps): a thread of
 * its own writes the heartbeat, so held answers wait (bounded by the perf
 * buffer, overflow counted) instead of passing unlearned. A loop that shows no
 * progress for PW_AGENT_HUNG_NS is hung: the heartbeat stops, and pod_ingress
 * passes DNS answers unheld. */
#define PW_AGENT_HUNG_NS (30ULL * 1000000000ULL)

static struct pw_agent *progress_agent;

static void note_progress(void)
{
	if (progress_agent)
		atomic_store(&progress_agent->progress_ns, pw_now_ns());
}

static void *heartbeat_thread(void *arg)
{
	struct pw_agent *a = arg;
	uint64_t stuck = PW_AGENT_HUNG_NS;
	struct timespec tick = {.tv_nsec = 250000000L};

	bool quiet = false;

	while (!atomic_load(&a->hb_stop)) {
		uint64_t idle = pw_now_ns() - atomic_load(&a->progress_ns);

		if (idle < stuck) {
			heartbeat(a, true);
			quiet = false;
		} else if (!quiet) {
			pw_warn("event loop hung for %llu ms: heartbeat withheld, DNS answers pass "
				"unheld until it moves again",
				(unsigned long long)(idle / 1000000));
			quiet = true;
		}
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static int heartbeat_start(struct pw_agent *a)
{
	progress_agent = a;
	pw_bpf_progress_hook = note_progress;
	note_progress();
	heartbeat(a, true);
	if (pthread_create(&a->hb_thread, NULL, heartbeat_thread, a))
		return -EAGAIN;
	a->hb_running = true;
	return 0;
}

static void heartbeat_stop(struct pw_agent *a)
{
	if (!a->hb_running)
		return;
	atomic_store(&a->hb_stop, true);
	pthread_join(a->hb_thread, NULL);
	a->hb_running = false;
}

static void on_timer(struct pw_agent *a)
{
	uint64_t now = pw_now_ns(), ticks;

	if (read(a->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	/* Learned names are saved every 5 s: what a crash loses meanwhile stays
	 * enforced until it expires (adopted on restart), it is only unnamed. */
	if (now - a->last_flush_ns >= 5000000000ULL) {
		for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next)
			if (ep->learned_dirty) {
				pw_ep_save(ep, a->o.state_dir);
				ep->learned_dirty = false;
			}
		a->last_flush_ns = now;
	}
	pw_metrics_run(a);
	pw_dnstcp_tick(a);
	if (a->ready && now - a->last_gc_ns >= 5000000000ULL)
		pw_sync_gc(a, now, false);
	if (a->ready &&
	    now - a->last_reconcile_ns >= (uint64_t)a->o.reconcile_interval * 1000000000ULL) {
		reconcile(a);
		conflist_chain(a);
		if (pw_policyset_scan(&a->policies))
			pw_sync_all(a);
	}
	pw_agent_retry_deferred(a);
}

/* Every PW_AGENT_DRAIN_MS: the records no wake-up announced (the kernel wakes
 * the agent only when a ring is filling), read in batches. */
static void on_drain(struct pw_agent *a)
{
	uint64_t ticks;

	if (read(a->drain_fd, &ticks, sizeof(ticks)) < 0)
		return;
	pw_learnlog_drain(a);
	ring_buffer__consume(a->rb);
}

static int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int setup_loop(struct pw_agent *a)
{
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	struct itimerspec drain = {.it_interval = {0, PW_AGENT_DRAIN_MS * 1000000L},
				   .it_value = {0, PW_AGENT_DRAIN_MS * 1000000L}};
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	a->drain_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	a->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->signal_fd < 0 || a->timer_fd < 0 || a->drain_fd < 0 || a->inotify_fd < 0 ||
	    a->epfd < 0)
		return -errno;
	if (a->o.policy_dir && inotify_add_watch(a->inotify_fd, a->o.policy_dir,
						 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
							 IN_DELETE | IN_CREATE | IN_ATTRIB) < 0)
		pw_warn("cannot watch %s (%s): changes are picked up every %u s", a->o.policy_dir,
			strerror(errno), a->o.reconcile_interval);
	timerfd_settime(a->timer_fd, 0, &its, NULL);
	timerfd_settime(a->drain_fd, 0, &drain, NULL);
	if (epoll_add(a->epfd, a->listen_fd, TAG_LISTEN) ||
	    epoll_add(a->epfd, a->inotify_fd, TAG_INOTIFY) ||
	    epoll_add(a->epfd, a->timer_fd, TAG_TIMER) ||
	    epoll_add(a->epfd, a->drain_fd, TAG_DRAIN) ||
	    epoll_add(a->epfd, a->signal_fd, TAG_SIGNAL) ||
	    epoll_add(a->epfd, ring_buffer__epoll_fd(a->rb), TAG_RING) ||
	    epoll_add(a->epfd, perf_buffer__epoll_fd(a->pb), TAG_PERF) ||
	    (a->learn_ok && epoll_add(a->epfd, ring_buffer__epoll_fd(a->learn_rb), TAG_LEARN)))
		return -errno;
	return 0;
}

static void on_inotify(struct pw_agent *a)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool policies = false, conflist = false;
	ssize_t n;

	while ((n = read(a->inotify_fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->wd == a->conflist_wd)
				conflist = true;
			else
				policies = true;
			p += sizeof(*ev) + ev->len;
		}
	if (conflist)
		conflist_chain(a);
	if (policies && pw_policyset_scan(&a->policies) && a->ready)
		pw_sync_all(a);
}

/* Kubernetes mode, after each round of the loop: what the API changed is
 * applied in one pass (every endpoint again, then the pods now missing). */
static void kube_tick(struct pw_agent *a)
{
	if (!a->kube.k8s)
		return;
	pw_kube_tick(&a->kube);
	if (a->dirty && a->kube.synced) {
		a->dirty = false;
		pw_sync_all(a);
		pw_kube_adopt(&a->kube); /* pods, labels or policies changed: who is missing now */
	}
	pw_kstatus_tick(a);
	if (a->kube.synced)
		pw_agent_retry_deferred(a);
}

static int loop(struct pw_agent *a)
{
	struct epoll_event evs[16];

	while (!a->stop) {
		int n = epoll_wait(a->epfd, evs, 16, pw_kube_timeout_ms(&a->kube, 1000));

		note_progress();
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint64_t t0 = pw_now_ns();

			if (evs[i].data.u64 & PW_TAG_K8S_FD) {
				pw_kube_on_fd(&a->kube, (int)(uint32_t)evs[i].data.u64,
					      evs[i].events);
				continue;
			}
			/* What the kernel learned, before anything that reads
			 * the agent's books: the names of events, the order of
			 * held answers, a client's `fqdn` or `status`; and the
			 * events before a client's request (`podwall events`).
			 * Nothing to read costs two loads (the rings are mapped). */
			if (evs[i].data.u64 != TAG_TIMER && evs[i].data.u64 != TAG_DRAIN &&
			    evs[i].data.u64 != TAG_SIGNAL)
				pw_learnlog_drain(a);
			if (evs[i].data.u64 == TAG_LISTEN || evs[i].data.u64 == TAG_METRICS ||
			    evs[i].data.u64 > TAG_DRAIN)
				ring_buffer__consume(a->rb);
			switch (evs[i].data.u64) {
			case TAG_LISTEN:
				client_accept(a);
				break;
			case TAG_INOTIFY:
				on_inotify(a);
				break;
			case TAG_TIMER:
				on_timer(a);
				break;
			case TAG_DRAIN:
				on_drain(a);
				break;
			case TAG_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(a->signal_fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						if (pw_policyset_scan(&a->policies) && a->ready)
							pw_sync_all(a);
					} else {
						pw_info("signal %u: stopping; programs and maps "
							"stay "
							"in place",
							si.ssi_signo);
						a->stop = true;
					}
				}
				break;
			}
			case TAG_RING:
				ring_buffer__consume(a->rb);
				break;
			case TAG_PERF:
				perf_buffer__consume(a->pb);
				break;
			case TAG_LEARN:
				pw_learnlog_drain(a);
				break;
			case TAG_METRICS:
				pw_metrics_run(a);
				break;
			default: /* a control-socket client */
				client_readable(a, evs[i].data.ptr);
				break;
			}
			/* Long work on the loop delays held DNS answers: say so. */
			if (pw_now_ns() - t0 > 500000000ULL)
				pw_warn("event loop: %llu ms on one event (tag %llu)",
					(unsigned long long)((pw_now_ns() - t0) / 1000000),
					(unsigned long long)(evs[i].data.u64 < 64 ? evs[i].data.u64
										  : 0));
		}
		kube_tick(a);
		pw_learnlog_counts(a);
	}
	return 0;
}

static void agent_free(struct pw_agent *a)
{
	heartbeat_stop(a);
	pw_bpf_progress_hook = NULL;
	progress_agent = NULL;
	pw_metrics_stop(a);
	pw_kube_stop(&a->kube);
	pw_kstatus_stop(a);
	while (a->clients)
		client_close(a, a->clients, true);
	pw_dnshold_close(a);
	pw_learnlog_close(a);
	pw_events_close(a);
	for (struct pw_ep *ep = a->eps.head, *next; ep; ep = next) {
		next = ep->next;
		if (ep->learned_dirty)
			pw_ep_save(ep, a->o.state_dir);
		pw_ep_free(ep);
	}
	pw_policyset_free(&a->policies);
	pw_portsets_free(&a->portsets);
	pw_guard_free(&a->guard);
	if (a->bpf.skel)
		pw_bpf_close(&a->bpf);
	for (int *fd = &a->epfd; fd <= &a->signal_fd; fd++)
		if (*fd > 0)
			close(*fd);
	if (a->listen_fd > 0) {
		close(a->listen_fd);
		unlink(a->o.socket_path);
	}
}

static void pw_agent_start_enforcing(struct pw_agent *a);

/* ---- what kube.c reports back (struct pw_kube_hooks) ---------------------------- */

static int kube_rule_peers(void *ctx, const struct pw_rule *r, struct pw_peers *out)
{
	struct pw_agent *a = ctx;

	return pw_kube_rule_peers(&a->kube, r, a->o.cluster_domain, out);
}

/* toServices/toEntities from the API's Services and EndpointSlices now; the
 * endpoints are compiled again only if some rule's addresses changed. */
static void resolve_peers(struct pw_agent *a)
{
	if (pw_policyset_resolve_peers(&a->policies, kube_rule_peers, a))
		a->dirty = true;
}

static void kube_policy(void *ctx, const char *source, const json_t *obj)
{
	struct pw_agent *a = ctx;

	pw_policyset_object(&a->policies, source, obj);
	if (a->kube.synced)
		resolve_peers(a); /* the new version's rules, before anything compiles them */
	a->dirty = true;
}

static void kube_peers(void *ctx)
{
	resolve_peers(ctx);
}

static void kube_namespaces(void *ctx, const struct pw_k8s_namespace *ns, size_t n)
{
	struct pw_agent *a = ctx;

	/* a label change moves the namespace's pods in or out at once */
	pw_policyset_resolve_cluster(&a->policies, ns, n);
	a->dirty = true;
}

static void kube_policies_listed(void *ctx)
{
	struct pw_agent *a = ctx;

	pw_policyset_prune_cache(&a->policies);
}

static void kube_pod_labels(void *ctx, const char *ns, const char *name, struct pw_labels *labels)
{
	struct pw_agent *a = ctx;

	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		if (strcmp(ep->namespace, ns) || strcmp(ep->name, name))
			continue;
		/* A label change re-evaluates which policies select the pod. */
		pw_labels_free(&ep->labels);
		ep->labels = *labels;
		memset(labels, 0, sizeof(*labels));
		a->dirty = true;
		break;
	}
}

static void kube_resolvers(void *ctx)
{
	if (pw_sync_resolvers(ctx))
		pw_warn("could not update the trusted resolvers from the DNS service");
}

static void kube_synced(void *ctx)
{
	/* the cluster's ranges guard the first learned answer */
	if (pw_guard_sync(ctx))
		pw_warn("rebinding guard: the table from the API could not be written");
	resolve_peers(ctx);
	pw_sync_resolvers(ctx);
	pw_agent_start_enforcing(ctx);
}

static void kube_guard(void *ctx)
{
	if (pw_guard_sync(ctx))
		pw_warn("rebinding guard: could not update the table from the API");
}

static bool kube_has_endpoint(void *ctx, const char *ns, const char *name)
{
	const struct pw_agent *a = ctx;

	return pw_eps_by_pod(&a->eps, ns, name) != NULL;
}

static bool kube_selected(void *ctx, const char *ns, const struct pw_labels *labels)
{
	const struct pw_agent *a = ctx;

	for (size_t i = 0; i < a->policies.n_pols; i++)
		if (pw_policy_selects(&a->policies.pols[i], ns, labels))
			return true;
	return false;
}

static int kube_adopt(void *ctx, json_t *req, char *err, size_t errlen)
{
	return pw_agent_register(ctx, req, err, errlen);
}

static int kube_start(struct pw_agent *a)
{
	const struct pw_kube_config cfg = {
		.kubeconfig = a->o.kubeconfig,
		.context = a->o.kube_context,
		.node_name = a->o.node_name,
		.dns_service = a->o.dns_service,
		.epfd = a->epfd,
		.hooks =
			{
				.policy = kube_policy,
				.namespaces = kube_namespaces,
				.policies_listed = kube_policies_listed,
				.pod_labels = kube_pod_labels,
				.resolvers = kube_resolvers,
				.peers = kube_peers,
				.synced = kube_synced,
				.guard = kube_guard,
				.has_endpoint = kube_has_endpoint,
				.selected = kube_selected,
				.adopt = kube_adopt,
				.ctx = a,
			},
	};

	if (pw_kube_start(&a->kube, &cfg))
		return -EINVAL;
	return pw_kstatus_start(a) ? -ENOMEM : 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* What an upgrade costs a veth: its rules written into the new maps, then its
 * programs swapped (one atomic step a hook). The median and the worst. */
static void upgrade_timing(uint64_t *fill, uint64_t *swap, size_t n)
{
	if (!n)
		return;
	qsort(fill, n, sizeof(*fill), cmp_u64);
	qsort(swap, n, sizeof(*swap), cmp_u64);
	pw_info("upgrade: %zu veth(s) switched to the new maps; per veth, rules written in %.2f ms "
		"(max %.2f), programs swapped in %.2f ms (max %.2f)",
		n, (double)fill[n / 2] / 1e6, (double)fill[n - 1] / 1e6, (double)swap[n / 2] / 1e6,
		(double)swap[n - 1] / 1e6);
}

static void pw_agent_start_enforcing(struct pw_agent *a)
{
	size_t n = 0, cap = a->bpf.pins.upgrade ? pw_eps_count(&a->eps) : 0;
	uint64_t *fill = cap ? calloc(cap, sizeof(*fill)) : NULL;
	uint64_t *swap = cap ? calloc(cap, sizeof(*swap)) : NULL;

	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		char err[PW_ERR_LEN];
		uint64_t t0 = pw_now_ns();

		a->bpf.attach_ns = 0;
		if (ep_activate(a, ep, err, sizeof(err)))
			pw_err("endpoint %s/%s: %s", ep->namespace, ep->name, err);
		else if (fill && swap && n < cap) {
			swap[n] = a->bpf.attach_ns;
			fill[n++] = pw_now_ns() - t0 - a->bpf.attach_ns;
		}
	}
	upgrade_timing(fill, swap, n);
	free(fill);
	free(swap);
	/* Every endpoint has its rules: what the kernel learned meanwhile (the
	 * agent away, or waiting for the API) can be checked against them. */
	if (!a->learn_ok && a->epfd >= 0 &&
	    epoll_add(a->epfd, ring_buffer__epoll_fd(a->learn_rb), TAG_LEARN))
		pw_err("cannot poll pw_learn_log: %s; read at each garbage collection only",
		       strerror(errno));
	a->learn_ok = true;
	pw_learnlog_drain(a);
	pw_sync_gc(a, pw_now_ns(), true);
	reconcile(a);
	a->dirty = false;
	a->ready = true;
}

/* One agent per node: the pin directory and the socket are locked before
 * anything is read or written, so a second agent refuses at once and touches
 * nothing (it would otherwise sweep pw_endpoints of entries it has no state
 * for, and unlink the first agent's socket). locks[0] pin dir, [1] socket. */
static int agent_lock(const struct pw_agent_opts *o, int locks[2])
{
	char path[512], dir[512], *slash;
	bool created = false;
	pid_t holder = 0;
	int fd;

	fd = pw_lock_dir(o->pin_dir, &created, &holder);
	if (fd == -EWOULDBLOCK) {
		pw_err("another podwall agent (pid %d) holds the pin directory %s: one agent per "
		       "node; this one exits and touches nothing",
		       (int)holder, o->pin_dir);
		return fd;
	}
	if (fd < 0) {
		pw_err("cannot lock the pin directory %s: %s (is bpffs mounted at /sys/fs/bpf? "
		       "mount -t bpf bpf /sys/fs/bpf)",
		       o->pin_dir, strerror(-fd));
		return fd;
	}
	locks[0] = fd;
	snprintf(dir, sizeof(dir), "%s", o->socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir) == 0 && !strncmp(dir, "/run/podwall", 12))
			chmod(dir, 0700); /* our own directory: root only */
	}
	snprintf(path, sizeof(path), "%s.lock", o->socket_path);
	fd = pw_lock_file(path, &holder);
	if (fd < 0) {
		if (fd == -EWOULDBLOCK)
			pw_err("another podwall agent (pid %d) holds the socket %s (lock %s): one "
			       "agent per node; this one exits and touches nothing",
			       (int)holder, o->socket_path, path);
		else
			pw_err("cannot lock %s: %s", path, strerror(-fd));
		if (created)
			rmdir(o->pin_dir); /* it was ours, and empty */
		return fd;
	}
	locks[1] = fd;
	return 0;
}

int pw_agent_run(const struct pw_agent_opts *o)
{
	int locks[2] = {-1, -1};
	struct pw_agent a = {.o = *o,
			     .pkt_fd = -1,
			     .pkt_gso_fd = -1,
			     .epfd = -1,
			     .listen_fd = -1,
			     .conflist_wd = -1,
			     .cfg_lock = PTHREAD_MUTEX_INITIALIZER};
	int ret = 1;

	a.start_ns = pw_now_ns();
	pw_policyset_init(&a.policies, a.o.policy_dir, a.o.state_dir);
	if (geteuid() != 0) {
		pw_err("the agent needs root (CAP_BPF, CAP_NET_ADMIN)");
		return 1;
	}
	if (agent_lock(o, locks)) {
		for (int i = 0; i < 2; i++)
			if (locks[i] >= 0)
				close(locks[i]);
		return 1;
	}
	if (mkdir_p(o->state_dir)) {
		pw_err("cannot create state directory %s: %s", o->state_dir, strerror(errno));
		goto out;
	}
	/* A kernel without what the data path needs: one clear line, and
	 * nothing loaded or attached (never a half-enforced policy). */
	{
		char why[256];

		if (pw_kernel_check(NULL, why, sizeof(why))) {
			pw_err("%s: podwall cannot enforce on this kernel, not starting", why);
			goto out;
		}
	}
	if (pw_bpf_open(&a.bpf, o->pin_dir) || pw_bpf_set_hook(&a.bpf, o->hook))
		goto out;
	a.maps = &a.bpf.maps;
	if (pw_portsets_load(&a.portsets, a.maps) || pw_sync_resolvers(&a) || pw_guard_sync(&a))
		goto out;
	if (!o->n_resolvers && !o->k8s)
		pw_warn("no --resolver given: pods' DNS is denied and no hostname can be learned");

	/* The event ring first: enforcing emits events (a hook that cannot be
	 * made first on a restored endpoint). */
	if (pw_events_open(&a) || pw_learnlog_open(&a))
		goto out;
	/* Read back what we enforced before, then the policies, then rewrite. */
	endpoints_restore(&a);
	endpoint_ids_from_kernel(&a);
	pw_policyset_scan(&a.policies);
	pw_policyset_rebuild(&a.policies);
	/* Kubernetes mode waits for the first full sync (kube.c). */
	if (!o->k8s)
		pw_agent_start_enforcing(&a);

	if (pw_dnshold_open(&a))
		goto out;
	a.listen_fd = listen_ctl(&a);
	if (a.listen_fd < 0 || setup_loop(&a))
		goto out;
	if (o->k8s && kube_start(&a))
		goto out;
	conflist_chain(&a);
	if (heartbeat_start(&a))
		goto out;
	{
		int mfd = pw_metrics_start(&a);

		if (mfd < 0 || epoll_add(a.epfd, mfd, TAG_METRICS))
			goto out;
	}
	pw_info("podwall %s agent ready: %zu endpoints, %zu policies, socket %s", PW_VERSION,
		pw_eps_count(&a.eps), a.policies.n_pols, o->socket_path);
	ret = loop(&a) ? 1 : 0;
	/* Answers pass unheld at once rather than after the heartbeat times out. */
	heartbeat_stop(&a);
	heartbeat(&a, false);
out:
	agent_free(&a);
	for (int i = 0; i < 2; i++)
		close(locks[i]); /* after the socket is gone */
	return ret;
}

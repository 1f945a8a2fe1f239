/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kube: Kubernetes mode, between the API client (lib/sys/k8s.c) and the agent.
 *
 * It keeps its own state (struct pw_kube) and knows nothing of the agent's:
 * what it learns from the API it reports back through the hooks the agent
 * (the loop's owner, agent.c) gives it, and what it needs to know of the
 * agent's state (is a pod an endpoint already? does a policy select it?) it
 * asks through them too. Every hook runs inside pw_kube_on_fd/pw_kube_tick/
 * pw_kube_adopt, on the agent's loop.
 */
#ifndef PODWALL_KUBE_H
#define PODWALL_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "guard.h"
#include "k8sobj.h"
#include "owner.h"
#include "podwall/maps.h"
#include "policy.h"

#define PW_ADOPTED_PREFIX "k8s-pod-"   /* container id of a pod registered from the API */
#define PW_TAG_K8S_FD	  (1ULL << 62) /* epoll data: this bit | fd */

struct pw_k8s;

struct pw_kube_hooks {
	/* An EgressPolicy ("k8s:ns/name") or ClusterEgressPolicy
	 * ("k8s:@cluster/name") changed: obj the object, NULL once deleted. */
	void (*policy)(void *ctx, const char *source, const json_t *obj);
	/* Resolve the ClusterEgressPolicies' namespaceSelector again against
	 * these Namespaces (every one the API has). */
	void (*namespaces)(void *ctx, const struct pw_k8s_namespace *ns, size_t n);
	/* Both policy kinds were listed completely: versions cached for objects
	 * the API no longer has can go. */
	void (*policies_listed)(void *ctx);
	/* A pod of this node was added or changed: its labels (the callee may
	 * take them: it leaves *labels empty then). */
	void (*pod_labels)(void *ctx, const char *ns, const char *name, struct pw_labels *labels);
	/* The DNS Service or its EndpointSlices changed (after the first sync). */
	void (*resolvers)(void *ctx);
	/* A Service or EndpointSlice changed (after the first sync): resolve
	 * toServices/toEntities again (pw_kube_rule_peers), once per loop turn. */
	void (*peers)(void *ctx);
	/* The first full sync is done: write the guard, apply everything,
	 * answer waiting ADDs. */
	void (*synced)(void *ctx);
	/* A Node or a guarded Service changed: rebuild the rebinding guard
	 * (pw_kube_guard), once per loop turn. */
	void (*guard)(void *ctx);
	/* Adoption (pw_kube_adopt): does an endpoint cover the pod, does a
	 * policy select it, and register it (a cni_add request; 0 or -errno
	 * with err). */
	bool (*has_endpoint)(void *ctx, const char *ns, const char *name);
	bool (*selected)(void *ctx, const char *ns, const struct pw_labels *labels);
	int (*adopt)(void *ctx, json_t *req, char *err, size_t errlen);
	void *ctx;
};

struct pw_kube_config {
	const char *kubeconfig; /* NULL: in-cluster */
	const char *context;
	const char *node_name; /* required */
	const char *dns_service;
	int epfd; /* the loop's epoll set: the client's sockets go in it */
	struct pw_kube_hooks hooks;
};

struct pw_kube {
	struct pw_k8s *k8s; /* NULL outside Kubernetes mode */
	bool synced;	    /* the first full sync is done */
	/* Pods of this node in the API that no endpoint covers and that could
	 * not be located on the node: [{pod, reason, selected}] */
	json_t *unlocated;
	size_t n_unlocated_selected;
	uint64_t pods_adopted; /* registered from the API (running before podwall) */
	/* kube.c's own */
	bool guard_dirty; /* a Node or guarded Service changed: hooks.guard */
	bool peers_dirty; /* a Service or EndpointSlice changed: hooks.peers */
	/* "ns/service" -> {"ns/slice": null, ...}: the EndpointSlices of each
	 * Service (label kubernetes.io/service-name), kept from the watch */
	json_t *slices_of;
	const char *dns_service; /* "ns/name" of the cluster DNS ("" none) */
	int epfd;
	const char *node_name;
	struct pw_kube_hooks hooks;
};

/* 0, or -EINVAL with the reason logged. kb is zeroed first. */
int pw_kube_start(struct pw_kube *kb, const struct pw_kube_config *cfg);
void pw_kube_on_fd(struct pw_kube *kb, int fd, uint32_t events);
/* Run what the client has due (retries, timeouts). */
void pw_kube_tick(struct pw_kube *kb);
int pw_kube_timeout_ms(const struct pw_kube *kb, int max_ms);
void pw_kube_stop(struct pw_kube *kb);
/* Labels of the pod from the API (k8s mode); false while unknown. */
bool pw_kube_pod_labels(const struct pw_kube *kb, const char *ns, const char *name,
			struct pw_labels *out);
/* The pod's workload (owner.h) from the API's Pod object (k8s mode); false for
 * a bare pod, an unknown one, or in standalone mode. */
bool pw_kube_pod_owner(const struct pw_kube *kb, const char *ns, const char *name,
		       struct pw_owner *out);
/* Register the pods of this node that the API lists and no endpoint covers
 * (running before podwall): located on the node, registered like a CNI ADD
 * (hooks.adopt); the ones that cannot be located are listed in kb->unlocated
 * and warned of. */
void pw_kube_adopt(struct pw_kube *kb);
/* Trusted resolvers from the cluster DNS service; returns how many. */
size_t pw_kube_resolvers(const struct pw_kube *kb, struct pw_addr_key *out, size_t max);
/* What a rule's toServices and toEntities stand for now, from the API's
 * Services and EndpointSlices: addresses with their ports (pw_k8s_service_peers)
 * and, with a cluster domain, each Service's name NAME.NS.svc.DOMAIN. 0 or
 * -ENOMEM. */
int pw_kube_rule_peers(const struct pw_kube *kb, const struct pw_rule *r,
		       const char *cluster_domain, struct pw_peers *out);
/* The rebinding guard's prefixes from the API: every Node's podCIDRs and
 * InternalIP/ExternalIP addresses, the ClusterIPs of default/kubernetes and of
 * the cluster DNS Service (and, when guess, the distribution default range
 * holding them: --service-cidr was not given). Counts what it left out in
 * *skipped; 0 or -ENOMEM. */
int pw_kube_guard(const struct pw_kube *kb, struct pw_guard *g, bool guess, size_t *skipped);

#endif

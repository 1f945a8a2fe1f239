/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8sobj: Kubernetes objects and API envelopes decoded into structs (pure:
 * jansson only; the HTTP client, lib/sys/k8s.c, and the agent use them).
 *
 * Pods are tenant-controlled (labels, annotations): every decoder checks the
 * types of what it reads, refuses the whole object with the field named, and
 * is fuzzed (tests/fuzz/fuzz_k8s.c).
 */
#ifndef PODWALL_K8SOBJ_H
#define PODWALL_K8SOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "podwall/maps.h"
#include "policy.h"

/* The k8s decoders' error: fmt into err (when err and errlen), returns -EINVAL. */
int pw_k8s_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define PW_K8S_MAX_POD_IPS     8
#define PW_K8S_MAX_RESOLVERS   64
#define PW_K8S_MAX_NODE_CIDRS  8
#define PW_K8S_MAX_NODE_ADDRS  16
#define PW_K8S_KEY_MAX	       512  /* "namespace/name": 63 + 1 + 253, with room */
#define PW_K8S_MAX_SVC_IPS     8    /* spec.clusterIPs (the API allows 2) */
#define PW_K8S_MAX_SVC_PORTS   256  /* spec.ports of a Service, ports of a slice */
#define PW_K8S_MAX_SLICE_ADDRS 2000 /* addresses of one EndpointSlice (the API: 1000 endpoints) */
#define PW_K8S_MAX_PEERS       4096 /* addresses one toServices/toEntities rule stands for */

struct pw_k8s_addr {
	uint8_t family; /* PW_FAMILY_V4 / PW_FAMILY_V6 */
	union pw_ip ip; /* network order */
};

/* ---- envelopes ------------------------------------------------------------------ */

enum pw_k8s_event_type {
	PW_K8S_EV_ADDED,
	PW_K8S_EV_MODIFIED,
	PW_K8S_EV_DELETED,
	PW_K8S_EV_BOOKMARK,
	PW_K8S_EV_ERROR,
};

/* One line of a watch stream: {"type": T, "object": {...}}. */
struct pw_k8s_event {
	json_t *doc; /* the whole event (owned: pw_k8s_event_free) */
	enum pw_k8s_event_type type;
	json_t *object; /* borrowed from doc; always a JSON object */
	/* ERROR events (a metav1.Status): */
	bool gone;	     /* 410 Gone / Expired: the watch must list again */
	long long code;	     /* status.code, 0 if absent */
	const char *reason;  /* "" if absent */
	const char *message; /* "" if absent */
};

/* 0, or -EINVAL with why ("event is not JSON: ...", "event without type or
 * object", "unknown event type \"X\""); -ENOMEM. */
int pw_k8s_event_decode(const char *line, size_t len, struct pw_k8s_event *ev, char *why,
			size_t whylen);
void pw_k8s_event_free(struct pw_k8s_event *ev);

/* A LIST answer ({"metadata": {...}, "items": [...]}); every pointer is
 * borrowed from body. */
struct pw_k8s_list {
	const json_t *items;	      /* an array, or NULL (no items) */
	const char *cont;	      /* metadata.continue: NULL or "" on the last page */
	const char *resource_version; /* metadata.resourceVersion, or NULL */
};
/* 0, or -EINVAL when body is not a list (metadata not an object, items not an array). */
int pw_k8s_list_decode(const json_t *body, struct pw_k8s_list *out);

/* metadata.resourceVersion of obj, or NULL. */
const char *pw_k8s_object_rv(const json_t *obj);
/* The cache key of obj, "namespace/name" ("/name" when cluster_scoped): 0, or
 * -EINVAL with why. */
int pw_k8s_object_key(const json_t *obj, bool cluster_scoped, char *key, size_t keylen, char *why,
		      size_t whylen);

/* ---- objects --------------------------------------------------------------------- */

/* What the agent needs of a Pod object. Every string is a copy. */
struct pw_k8s_pod {
	char *namespace;
	char *name;
	char *uid;
	char *node_name; /* "" while unscheduled */
	char *phase;	 /* status.phase, "" if absent */
	bool host_network;
	bool terminating; /* metadata.deletionTimestamp set */
	struct pw_labels labels;
	size_t n_ips; /* status.podIPs (status.podIP if absent); 0 before the sandbox is up */
	struct pw_k8s_addr ips[PW_K8S_MAX_POD_IPS];
};

/*
 * Extract namespace, name, uid, nodeName, phase, hostNetwork, labels and pod
 * IPs. Returns 0, or -EINVAL (out untouched, err names the field) when the
 * object is not a Pod with metadata.namespace and metadata.name, or a label or
 * IP is malformed; -ENOMEM.
 */
int pw_k8s_pod_info(const json_t *pod, struct pw_k8s_pod *out, char *err, size_t errlen);
void pw_k8s_pod_free(struct pw_k8s_pod *p); /* frees members, not p */

/* A Namespace: its name and labels (they select ClusterEgressPolicy pods). */
struct pw_k8s_namespace {
	char *name;
	struct pw_labels labels;
};
/* 0, or -EINVAL (err names the field), -ENOMEM. */
int pw_k8s_namespace_info(const json_t *obj, struct pw_k8s_namespace *out, char *err,
			  size_t errlen);
void pw_k8s_namespace_free(struct pw_k8s_namespace *ns);

/* A Node: spec.podCIDRs (spec.podCIDR when absent) and status.addresses
 * (InternalIP, ExternalIP; host names are left out). */
struct pw_k8s_node {
	char *name;
	size_t n_cidrs;
	struct pw_cidr cidrs[PW_K8S_MAX_NODE_CIDRS];
	size_t n_addrs;
	struct pw_k8s_addr addrs[PW_K8S_MAX_NODE_ADDRS];
};
/* 0, or -EINVAL (err names the field), -ENOMEM. */
/* The one walk of a Node's addresses: the pod CIDRs (spec.podCIDRs, else
 * spec.podCIDR, present even as null) and the InternalIP/ExternalIP addresses
 * (the value of each .address, any JSON type), and a podCIDRs or addresses that
 * is there but no list. fn's field is the path ("spec.podCIDRs[1]"); a non-zero
 * return from fn ends the walk with it. Strict or lenient is fn's choice:
 * pw_k8s_node_info refuses the Node, the rebinding guard skips the entry. */
enum pw_k8s_node_item {
	PW_K8S_NODE_CIDR,     /* an entry of spec.podCIDRs */
	PW_K8S_NODE_CIDR1,    /* spec.podCIDR (no podCIDRs) */
	PW_K8S_NODE_ADDR,     /* status.addresses[i].address of an InternalIP/ExternalIP */
	PW_K8S_NODE_NOT_LIST, /* spec.podCIDRs or status.addresses, not a list */
};
typedef int (*pw_k8s_node_fn)(void *ctx, enum pw_k8s_node_item kind, const json_t *v,
			      const char *field);
int pw_k8s_node_walk(const json_t *node, pw_k8s_node_fn fn, void *ctx);
int pw_k8s_node_info(const json_t *obj, struct pw_k8s_node *out, char *err, size_t errlen);
void pw_k8s_node_free(struct pw_k8s_node *n);

/* A Service: its ClusterIPs (spec.clusterIPs, else spec.clusterIP; "None" of
 * a headless one and "" left out) and spec.ports (port, protocol). */
struct pw_k8s_service {
	char *namespace;
	char *name;
	size_t n_ips;
	struct pw_k8s_addr ips[PW_K8S_MAX_SVC_IPS];
	struct pw_port *ports; /* end_port 0 */
	size_t n_ports;
};
/* 0, or -EINVAL (err names the field), -ENOMEM. */
int pw_k8s_service_info(const json_t *obj, struct pw_k8s_service *out, char *err, size_t errlen);
void pw_k8s_service_free(struct pw_k8s_service *s);

/* An EndpointSlice: its Service (label kubernetes.io/service-name; "" when
 * none), and, of addressType IPv4 or IPv6 (family 0 for FQDN: nothing
 * decoded), every address of its endpoints and its ports (port 0 when absent:
 * every port of that protocol, as the API defines it). */
struct pw_k8s_slice {
	char *namespace;
	char *name;
	char *service;
	uint8_t family;
	struct pw_k8s_addr *addrs;
	size_t n_addrs;
	struct pw_port *ports;
	size_t n_ports;
};
int pw_k8s_slice_info(const json_t *obj, struct pw_k8s_slice *out, char *err, size_t errlen);
void pw_k8s_slice_free(struct pw_k8s_slice *s);

/*
 * What a toServices entry grants, added to *out: the Service's ClusterIPs on
 * its ports and its slices' addresses on theirs, or all of them on
 * rule_ports when the rule names ports (n_rule_ports > 0). Addresses podwall
 * never grants by name (pw_ip_is_special: loopback, link-local, ...) are
 * left out. svc NULL (no such Service yet): nothing. Then pw_k8s_peers_done
 * sorts, merges and caps *out (PW_K8S_MAX_PEERS; returns 1 if it cut). 0, or
 * -ENOMEM.
 */
int pw_k8s_service_peers(const struct pw_k8s_service *svc, const struct pw_k8s_slice *slices,
			 size_t n_slices, const struct pw_port *rule_ports, size_t n_rule_ports,
			 struct pw_peers *out);
int pw_k8s_peers_add_name(struct pw_peers *out, const char *name);
int pw_k8s_peers_done(struct pw_peers *out);
bool pw_peers_equal(const struct pw_peers *a, const struct pw_peers *b);

/* The policy source of an EgressPolicy ("k8s:ns/name") or a ClusterEgressPolicy
 * ("k8s:@cluster/name"); "?" stands for a missing part. Returns buf. */
const char *pw_k8s_policy_source(const json_t *obj, bool cluster, char *buf, size_t len);

/*
 * Trusted resolvers: over the Services (spec.clusterIPs, spec.clusterIP when
 * clusterIPs is absent; "None" skipped) and EndpointSlices (addressType
 * IPv4/IPv6; endpoints with conditions.terminating true left out) of two
 * cache objects ("key" -> object). Sorted, without duplicates, at most
 * PW_K8S_MAX_RESOLVERS. Writes at most max and returns how many there are.
 */
size_t pw_k8s_resolvers_of(const json_t *services, const json_t *slices, struct pw_k8s_addr *out,
			   size_t max);
int pw_k8s_addr_cmp(const struct pw_k8s_addr *a, const struct pw_k8s_addr *b);

#endif

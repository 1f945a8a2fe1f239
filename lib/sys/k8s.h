/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * k8s: the agent's Kubernetes API client (libcurl multi + jansson).
 *
 * One reflector per watched resource keeps a local cache of the objects, keyed
 * "namespace/name", in step with the API server:
 *
 *   LIST (consistent read, paged with limit/continue) -> cache replaced whole
 *   WATCH ?watch=1&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=T
 *         newline-delimited JSON events: ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
 *   stream ended by the server (timeoutSeconds)   -> watch again from the last RV
 *   disconnect, HTTP error, 401/403, 5xx          -> watch again from the last RV
 *                                                   after a jittered, bounded backoff
 *   410 Gone / Expired (HTTP status or ERROR event),
 *   a malformed event                             -> LIST again; the new list is
 *                                                   diffed against the cache, so
 *                                                   every change in the gap is
 *                                                   delivered (deletes included)
 *
 * Pages of a LIST are collected aside and applied only once the last page is in:
 * nothing is delivered from a partial list, and a list that fails half way is
 * retried from the start. A reflector is "synced" after its first complete LIST;
 * pw_k8s_synced() is true once every reflector is.
 *
 * Resources (see enum pw_k8s_kind): the pods of this node
 * (fieldSelector=spec.nodeName=NODE), EgressPolicies in every namespace, the
 * cluster DNS Service (fieldSelector=metadata.name=NAME in its namespace, so it
 * can be listed and watched like the rest) and its EndpointSlices
 * (labelSelector=kubernetes.io/service-name=NAME). The Service's cluster IPs and
 * the slices' endpoint addresses are the trusted resolvers (pw_k8s_resolvers).
 * Every Node and the Service default/kubernetes (fieldSelector=metadata.name=
 * kubernetes): the rebinding guard's pod CIDRs, node addresses and service
 * addresses. Every Service and EndpointSlice (metadata.annotations dropped
 * from the cache): what toServices and toEntities grant.
 *
 * Credentials: in-cluster (KUBERNETES_SERVICE_HOST/PORT, the service account
 * token and ca.crt) or a kubeconfig (server, certificate-authority[-data],
 * client-certificate[-data] + client-key[-data], token or tokenFile,
 * insecure-skip-tls-verify, proxy-url). Inline *-data is handed to libcurl as
 * blobs: nothing is written to disk. A token file is stat()ed before every
 * request and re-read when its inode, size or mtime changed (kubelet rotates
 * projected tokens by swapping a symlink), and re-read after any 401.
 *
 * Event loop: the module never blocks and starts no thread. It tells the caller
 * which sockets to watch through cfg->watch_fd (called with epoll_ctl-style
 * operations) and when to call back through pw_k8s_next_timeout_ms():
 *
 *	for (;;) {
 *		int t = pw_k8s_next_timeout_ms(k);   (min with the loop's own timeout)
 *		n = epoll_wait(epfd, evs, N, t);
 *		for each event of a k8s fd: pw_k8s_on_fd(k, fd, ev.events);
 *		pw_k8s_on_timeout(k);                (cheap when nothing is due)
 *	}
 *
 * pw_k8s_new() does no I/O: the first LISTs start at the first
 * pw_k8s_on_timeout() (pw_k8s_next_timeout_ms() returns 0 until then).
 *
 * Callbacks (on_change, watch_fd) run inside pw_k8s_on_fd()/pw_k8s_on_timeout().
 * They may call the read-only accessors below, but must not call pw_k8s_on_fd,
 * pw_k8s_on_timeout or pw_k8s_free.
 */
#ifndef PODWALL_K8S_H
#define PODWALL_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "k8sobj.h"
#include "podwall/maps.h"
#include "policy.h"

#define PW_K8S_SA_DIR	       "/var/run/secrets/kubernetes.io/serviceaccount"
#define PW_K8S_DEFAULT_DNS     "kube-system/kube-dns"
#define PW_K8S_MAX_EVENT_BYTES (16u << 20)  /* one watch event (one line) */
#define PW_K8S_MAX_LIST_BYTES  (256u << 20) /* one LIST page */

enum pw_k8s_kind {
	PW_K8S_PODS,		 /* v1 Pod, spec.nodeName == cfg->node_name */
	PW_K8S_POLICIES,	 /* podwall.io/v1alpha1 EgressPolicy, all namespaces */
	PW_K8S_DNS_SERVICE,	 /* v1 Service cfg->dns_service (at most one object) */
	PW_K8S_DNS_SLICES,	 /* discovery.k8s.io/v1 EndpointSlices of that Service */
	PW_K8S_CLUSTER_POLICIES, /* podwall.io/v1alpha1 ClusterEgressPolicy (cluster-scoped) */
	PW_K8S_NAMESPACES,	 /* v1 Namespace (their labels select ClusterEgressPolicy pods) */
	PW_K8S_NODES,		 /* v1 Node, all of them (podCIDRs and addresses: the guard) */
	PW_K8S_API_SERVICE,	 /* v1 Service default/kubernetes (its ClusterIPs: the guard) */
	PW_K8S_SERVICES,	 /* v1 Service, all namespaces (toServices, toEntities) */
	PW_K8S_SLICES,		 /* discovery.k8s.io/v1 EndpointSlice, all namespaces (same) */
	PW_K8S_NKINDS,
};

enum pw_k8s_change {
	PW_K8S_ADDED,	 /* old NULL, new the object */
	PW_K8S_MODIFIED, /* old the previous version, new the current one */
	PW_K8S_DELETED,	 /* old the last known version, new NULL */
	PW_K8S_SYNCED,	 /* a complete LIST was applied (first sync or relist); both NULL */
};

/*
 * A change to one cached object, delivered after the cache holds it (a lookup
 * from inside the callback sees the new state). Objects are borrowed: valid
 * during the call only (json_incref to keep one). Every object carries
 * apiVersion and kind (filled in for LIST items, which lack them) and has no
 * metadata.managedFields.
 *
 * Before the first SYNCED of a kind, nothing of that kind is delivered; the
 * first SYNCED follows the ADDED of every listed object. A relist delivers only
 * the differences (ADDED / MODIFIED / DELETED against the cache), then SYNCED.
 * Until pw_k8s_synced() is true, treat changes as cache fill; when it becomes
 * true (at some SYNCED), compute the full picture from the accessors.
 */
typedef void (*pw_k8s_change_fn)(enum pw_k8s_kind kind, enum pw_k8s_change type,
				 const json_t *old_obj, const json_t *new_obj, void *ctx);

/*
 * Register a socket with the caller's poller: op is EPOLL_CTL_ADD, EPOLL_CTL_MOD
 * or EPOLL_CTL_DEL, events a mask of EPOLLIN | EPOLLOUT (0 for DEL). DEL comes
 * before libcurl closes the socket; EBADF/ENOENT from epoll_ctl on DEL can be
 * ignored. Return 0, or a negative errno (libcurl then fails the transfers
 * using it; they are retried with backoff). Not called from pw_k8s_free():
 * closing the sockets removes them from any epoll set.
 */
typedef int (*pw_k8s_fd_fn)(int fd, int op, uint32_t events, void *ctx);

struct pw_k8s_config {
	const char *kubeconfig;	      /* NULL: in-cluster */
	const char *context;	      /* kubeconfig context; NULL: its current-context */
	const char *sa_dir;	      /* in-cluster token and ca.crt; NULL: PW_K8S_SA_DIR */
	const char *node_name;	      /* required: this node (the downward API's spec.nodeName) */
	const char *dns_service;      /* "namespace/name"; NULL: PW_K8S_DEFAULT_DNS; "": none */
	unsigned int page_size;	      /* LIST limit; 0: 500 */
	unsigned int watch_timeout_s; /* each WATCH asks for T..2T seconds; 0: 300 */
	unsigned int list_timeout_s;  /* one LIST page; 0: 60 */
	unsigned int backoff_min_ms;  /* first retry delay; 0: 500 */
	unsigned int backoff_max_ms;  /* retry delay cap (jittered down to half); 0: 30000 */
	pw_k8s_change_fn on_change;   /* may be NULL */
	pw_k8s_fd_fn watch_fd;	      /* required */
	void *ctx;		      /* passed to both callbacks */
};

struct pw_k8s;

/* Counters and state of one reflector (for metrics, status and tests). */
struct pw_k8s_stats {
	uint64_t lists;		/* complete LISTs applied */
	uint64_t list_pages;	/* LIST requests answered 200 */
	uint64_t relists_gone;	/* relists forced by 410 Gone/Expired */
	uint64_t watches;	/* WATCH requests started */
	uint64_t events;	/* ADDED/MODIFIED/DELETED received on watches */
	uint64_t bookmarks;	/* BOOKMARK events received */
	uint64_t errors;	/* failed requests (network, HTTP, protocol) */
	uint64_t unauthorized;	/* 401 answers */
	uint64_t token_reloads; /* token file re-read */
	bool synced;
	bool watching; /* a WATCH stream is open (answered 200, not ended) */
	char resource_version[64];
	char last_error[256];	  /* "" if none since the last success */
	long last_http;		  /* HTTP status of the last failed request; 0: none or network */
	int64_t failing_since_ms; /* wall clock of the first failure in a row; 0: working */
};

/*
 * One request that is not a list or watch (a status PATCH, a Lease, an Event):
 * METHOD server+PATH with BODY (NULL: none) as CONTENT_TYPE. done(status, body,
 * err, ctx) runs inside pw_k8s_on_fd/on_timeout when it completes: status 0 on
 * a network error (err says why), else the HTTP status (err set unless 2xx),
 * body the parsed answer or NULL. pw_k8s_free() completes what is still in
 * flight with status 0 ("client shut down"), so a context can always be freed.
 * Returns 0, -EBUSY (PW_K8S_MAX_WRITES in flight) or -ENOMEM.
 */
#define PW_K8S_MAX_WRITES 64
typedef void (*pw_k8s_done_fn)(long status, const json_t *body, const char *err, void *ctx);
int pw_k8s_request(struct pw_k8s *k, const char *method, const char *path, const char *content_type,
		   const json_t *body, pw_k8s_done_fn done, void *ctx);
const char *pw_k8s_node(const struct pw_k8s *k);

/* Can the agent talk to the API? (status, metrics, a condition) */
enum pw_k8s_api_state {
	PW_K8S_API_OK,		 /* every resource listed or watched since its last failure */
	PW_K8S_API_UNREACHABLE,	 /* network error, timeout, 5xx */
	PW_K8S_API_UNAUTHORIZED, /* 401: the token or certificate is not accepted */
	PW_K8S_API_FORBIDDEN,	 /* 403: RBAC does not allow what podwall needs */
};
struct pw_k8s_health {
	enum pw_k8s_api_state state;
	const char *reason; /* "Connected", "Unreachable", "Unauthorized", "Forbidden" */
	char message[300];  /* "egresspolicies: watch: HTTP 403: ..." */
	int64_t since_ms;   /* wall clock of the first failure (0 when OK) */
};
/* The worst state over every resource: 401 over 403 over unreachable. */
void pw_k8s_health(const struct pw_k8s *k, struct pw_k8s_health *h);

/*
 * Read the configuration (kubeconfig or in-cluster environment and files) and
 * set up the client. No network I/O. Returns 0, or -EINVAL/-ENOENT/-ENOMEM
 * with the reason in err, e.g. "kubeconfig /x: user "admin": exec credential
 * plugins are not supported; use a token or a client certificate".
 */
int pw_k8s_new(const struct pw_k8s_config *cfg, struct pw_k8s **out, char *err, size_t errlen);
/* Stop every transfer and free everything. NULL is fine. */
void pw_k8s_free(struct pw_k8s *k);

/* The poller reported events (EPOLLIN/OUT/ERR/HUP) on a socket from watch_fd.
 * Returns 0 or a negative errno on an internal libcurl failure. */
int pw_k8s_on_fd(struct pw_k8s *k, int fd, uint32_t events);
/* Run what is due: libcurl timeouts, retries, next requests. Safe to call at
 * any time. Returns 0 or a negative errno. */
int pw_k8s_on_timeout(struct pw_k8s *k);
/* Milliseconds until pw_k8s_on_timeout() has work, 0 if now, -1 if nothing is
 * scheduled (only sockets can make progress). */
int pw_k8s_next_timeout_ms(const struct pw_k8s *k);

/* Every reflector completed a LIST at least once. Stays true across relists. */
bool pw_k8s_synced(const struct pw_k8s *k);
bool pw_k8s_kind_synced(const struct pw_k8s *k, enum pw_k8s_kind kind);

/*
 * The cache of a kind: a JSON object "namespace/name" -> object (borrowed; do
 * not modify; valid until the next pw_k8s_on_fd/on_timeout/free). Iterate it
 * with json_object_foreach. Empty before the first sync.
 */
const json_t *pw_k8s_objects(const struct pw_k8s *k, enum pw_k8s_kind kind);
/* One cached object, or NULL. Borrowed, as above. */
const json_t *pw_k8s_get(const struct pw_k8s *k, enum pw_k8s_kind kind, const char *ns,
			 const char *name);

/*
 * Trusted resolvers: the DNS Service's spec.clusterIPs (spec.clusterIP when
 * clusterIPs is absent; "None" skipped) and the addresses of its EndpointSlices'
 * endpoints (addressType IPv4/IPv6; endpoints with conditions.terminating true
 * are left out). Sorted, without duplicates, at most PW_K8S_MAX_RESOLVERS.
 * Writes at most max entries and returns how many there are (may be more than
 * max; pw_k8s_resolvers(k, NULL, 0) counts them).
 */
size_t pw_k8s_resolvers(const struct pw_k8s *k, struct pw_k8s_addr *out, size_t max);

void pw_k8s_stats(const struct pw_k8s *k, enum pw_k8s_kind kind, struct pw_k8s_stats *st);
/* The API server URL in use, e.g. "https://10.43.0.1:443". */
const char *pw_k8s_server(const struct pw_k8s *k);
const char *pw_k8s_kind_name(enum pw_k8s_kind kind);	 /* "pods", "egresspolicies", ... */
const char *pw_k8s_change_name(enum pw_k8s_change type); /* "ADDED", ... */

/* Pod, Namespace, Node objects: decoded by lib/core/k8sobj.h. */

#endif

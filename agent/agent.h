/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The podwall node agent: one process, one event loop. */
#ifndef PODWALL_AGENT_H
#define PODWALL_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "podwall/maps.h"

#define PW_MAX_RESOLVER_ARGS 16
#define PW_MAX_GUARD_ARGS    64

/* A rebinding-guard option: --pod-cidr, --service-cidr, --node-address,
 * --never-learn (kind of podwall/guard.h) or --may-learn (PW_G_EXEMPT). */
struct pw_guard_arg {
	uint8_t kind;
	const char *prefix;
};

struct pw_agent_opts {
	const char *policy_dir; /* NULL in Kubernetes mode: no policy files */
	const char *pin_dir;
	const char *socket_path;
	const char *state_dir;
	const char *metrics_addr; /* /metrics: "127.0.0.1:9977", "" = off */
	const char *probe_addr;	  /* /healthz, /readyz: "127.0.0.1:9978", "" = off */
	bool metrics_pod_labels;  /* per-pod families (source_namespace, source_pod) */
	const char *resolvers[PW_MAX_RESOLVER_ARGS];
	int n_resolvers;
	/* Pods' DNS search suffixes: a name under one that no rule grants gets
	 * NXDOMAIN (the client tries its next search domain), others REFUSED. */
	const char *search_domains[PW_MAX_RESOLVER_ARGS];
	int n_search_domains;
	uint32_t min_ttl, max_ttl; /* seconds */
	uint32_t max_addrs_per_name;
	uint32_t max_learned_per_pod; /* distinct addresses of one endpoint */
	uint32_t max_names_per_pod;
	uint32_t events_keep; /* events kept in memory for the CLI */
	uint32_t events_per_sec, events_burst;
	uint32_t dns_hold_per_sec, dns_hold_burst;	 /* per pod, 0 = no limit */
	uint32_t dns_queries_per_sec, dns_queries_burst; /* per pod, 0 = no limit */
	uint32_t dns_learn_inline; /* 1: pod_ingress learns simple answers (PW_CFG_LEARN_INLINE) */
	uint32_t reject_per_sec, reject_burst; /* denyAction reject, per pod; 0 = none */
	uint32_t events_dns; /* DNS lookup records a second on the node; 0 = none */
	uint32_t release_mark;
	uint32_t agent_timeout_ms;
	uint32_t learned_grace; /* seconds an expired entry is kept for flow re-checks */
	uint32_t flow_idle_tcp, flow_idle_other; /* seconds */
	uint32_t reconcile_interval;		 /* seconds */
	struct pw_guard_arg guard[PW_MAX_GUARD_ARGS];
	int n_guard;
	const char *cluster_domain; /* names under it may resolve in-cluster; "" = none */
	int hook;		    /* enum pw_hook_mode: 0 auto, 1 tcx, 2 legacy */
	bool verbose;

	/* Kubernetes mode: policies, pod labels and resolvers from the API. */
	bool k8s;
	const char *kubeconfig; /* NULL: in-cluster */
	const char *kube_context;
	const char *node_name;
	const char *dns_service;  /* "ns/name"; "" = only --resolver */
	const char *cni_conflist; /* chain podwall-cni into it, again whenever rewritten */
};

/* Runs until SIGTERM/SIGINT. Returns a process exit code. */
int pw_agent_run(const struct pw_agent_opts *o);

#endif

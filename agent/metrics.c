// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * metrics: /metrics (Prometheus text format) and the probes /healthz and
 * /readyz over HTTP, served by libmicrohttpd in "external epoll" mode from the
 * agent's own loop, so handlers read agent state with no locks and no second
 * thread.
 *
 * Two listeners: metrics on --metrics-addr (in the DaemonSet the node's
 * address, for Prometheus), probes on --probe-addr (loopback, for the
 * kubelet); one listener serves both when the addresses are equal. A listener
 * that cannot bind (port in use) is logged and retried every 5 s: the agent
 * never exits over it, since a node whose conflist chains podwall-cni cannot
 * start pods without the agent.
 *
 * Each family is written as one group (HELP, TYPE, all of its samples), which
 * strict parsers (OpenMetrics) require. Counters never mix kinds: what the
 * kernel did with a DNS answer and what the agent did with a held one are two
 * families, each partitioning its total.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agent_int.h"
#include "k8s.h"
#include "events_fmt.h"
#include "log.h"
#include "metrics_fmt.h"
#include "version.h"

#ifndef PW_COMMIT
#define PW_COMMIT "unknown"
#endif

#define ROUTE_METRICS 1u
#define ROUTE_PROBES  2u
#define RETRY_NS      5000000000ULL

struct pw_listener {
	const char *what; /* "metrics", "probes", "metrics and probes" */
	const char *addr; /* as given */
	struct sockaddr_storage ss;
	unsigned routes;
	struct MHD_Daemon *d;
	uint64_t next_try_ns;
	unsigned failures;
	struct pw_agent *a;
};

struct pw_metrics {
	int epfd; /* holds the listeners' epoll fds; the agent polls this one */
	struct pw_listener l[2];
	size_t n;
};

/* ------------------------------------------------------------ rendering */

static void fam(struct pw_metrics_buf *b, const char *name, const char *type, const char *help,
		const char *labels, unsigned long long v)
{
	pw_mb_help(b, name, type, help);
	pw_mb_sample(b, name, labels, v);
}

/* A family with one label whose values are given with their counter index. */
struct lv {
	const char *value;
	unsigned long long n;
};

static void fam_by(struct pw_metrics_buf *b, const char *name, const char *help, const char *label,
		   const struct lv *v, size_t n)
{
	char lab[128];

	pw_mb_help(b, name, "counter", help);
	for (size_t i = 0; i < n; i++) {
		snprintf(lab, sizeof(lab), "%s=\"%s\"", label, v[i].value);
		pw_mb_sample(b, name, lab, v[i].n);
	}
}

static void fam_reasons(struct pw_metrics_buf *b, const char *name, const char *help,
			const uint64_t *c, int base)
{
	char lab[96];

	pw_mb_help(b, name, "counter", help);
	for (int r = 1; r < PW_R_MAX; r++) {
		snprintf(lab, sizeof(lab), "reason=\"%s\"", pw_reason_name((uint8_t)r));
		pw_mb_sample(b, name, lab, c[base + r]);
	}
}

/*
 * Where each global counter goes: its family and the value of that family's
 * one label. Families are written in this table's order of first appearance,
 * all of a family's rows together. A counter added to PW_COUNTERS without a
 * row here still shows, in podwall_datapath_other_total{counter}.
 */
struct counter_row {
	const char *family, *label, *help, *value;
};

#define PASSED                                                                                     \
	"podwall_packets_passed_total", "path",                                                    \
		"Packets the data path passed (all pods), by the verdict step that passed them."
#define ANSWERS                                                                                    \
	"podwall_dns_answers_total", "path",                                                       \
		"DNS answers to enforced pods by what the data path did with them (each answer "   \
		"once)."
#define INSERT                                                                                     \
	"podwall_map_insert_failures_total", "map",                                                \
		"Entries the data path could not record (the packet still passed), by map."
#define EVDROP                                                                                     \
	"podwall_events_dropped_total", "cause",                                                   \
		"Deny/audit events the data path did not deliver, by cause."
#define REJECTS                                                                                    \
	"podwall_rejects_total", "result",                                                         \
		"Denied packets of denyAction: reject pods: answered (RST / ICMP), or dropped "    \
		"silently over the pod's reject rate, or when the reply could not be built."

static const struct counter_row counter_rows[PW_C_DROP] = {
	[PW_C_PASS_UNMANAGED] = {PASSED, "unmanaged"},
	[PW_C_PASS_L2] = {PASSED, "l2"},
	[PW_C_PASS_FLOW] = {PASSED, "flow"},
	[PW_C_PASS_DNS_QUERY] = {PASSED, "dns_query"},
	[PW_C_PASS_LEARNED] = {PASSED, "learned"},
	[PW_C_PASS_CIDR] = {PASSED, "cidr"},
	[PW_C_DNS_HELD] = {ANSWERS, "held"},
	[PW_C_DNS_UNMATCHED] = {ANSWERS, "unmatched"},
	[PW_C_DNS_AGENT_AWAY] = {ANSWERS, "agent_away"},
	[PW_C_DNS_TOO_BIG] = {ANSWERS, "too_big"},
	[PW_C_DNS_FRAGMENT] = {ANSWERS, "fragmented"},
	[PW_C_DNS_INLINE] = {ANSWERS, "learned_inline"},
	[PW_C_DNS_NOT_SIMPLE] = {"podwall_dns_not_simple_total", NULL,
				 "Answers the kernel learner left to the agent (held): not simple "
				 "enough to learn inline."},
	[PW_C_DNS_LEARN_QUOTA] = {"podwall_dns_learn_quota_total", NULL,
				  "Answers not learned inline because their pod held its cap of "
				  "learned addresses."},
	[PW_C_LEARN_LOG_FULL] = {"podwall_learn_log_full_total", NULL,
				 "Answers not learned inline because pw_learn_log was full (held "
				 "instead)."},
	[PW_C_DNS_TCP_SPLIT] =
		{"podwall_dns_tcp_split_total", NULL,
		 "DNS-over-TCP segments from a resolver whose data was not one whole "
		 "message (an answer split over segments, or several in one): "
		 "passed, nothing learned."},
	[PW_C_DNS_QUERY_BUDGET] = {"podwall_dns_queries_over_budget_total", NULL,
				   "DNS queries dropped because their pod was over its budget of "
				   "queries to the resolvers (--dns-queries-per-sec; also in "
				   "podwall_packets_denied_total{reason=\"dns-budget\"})."},
	[PW_C_DNS_TCP_COPIED] =
		{"podwall_dns_tcp_copied_total", NULL,
		 "Segments of a DNS-over-TCP answer over several segments copied to "
		 "the agent, which learns the message once the held last one is in."},
	[PW_C_DNS_TCP_GSO] = {"podwall_dns_tcp_gso_total", NULL,
			      "DNS-over-TCP answer data that came as one GSO packet (several "
			      "segments in one frame), followed as one segment; a held one is "
			      "released as a GSO packet again."},
	[PW_C_FLOW_INSERT_FAIL] = {INSERT, PW_MAP_NAME(flows)},
	[PW_C_PEND_INSERT_FAIL] = {INSERT, PW_MAP_NAME(dns_pend)},
	[PW_C_EVENT_LOST] = {EVDROP, "ring_full"},
	[PW_C_EVENT_SUPPRESSED] = {EVDROP, "rate_limit"},
	[PW_C_REJECT_SENT] = {REJECTS, "sent"},
	[PW_C_REJECT_LIMITED] = {REJECTS, "rate_limited"},
	[PW_C_REJECT_FAILED] = {REJECTS, "failed"},
	[PW_C_INGRESS_FLOW] = {"podwall_inbound_flows_total", NULL,
			       "Connections into pods noted so that their replies pass."},
	[PW_C_FLOW_REVALIDATE] = {"podwall_flow_revalidations_total", NULL,
				  "Flows re-checked against the policy after it changed."},
	[PW_C_FLOW_QUOTA] = {"podwall_flow_quota_hits_total", NULL,
			     "New flows not recorded because their pod held its share of the "
			     "flow table (the packets are still judged by the rules)."},
	[PW_C_FLOW_READMIT] = {"podwall_flow_readmits_total", NULL,
			       "TCP packets without SYN and without a flow (evicted or idle) "
			       "that the rules still grant: the flow is recorded again."},
	[PW_C_DNS_RELEASED] = {"podwall_dns_reinjected_total", NULL,
			       "Held DNS answers re-injected by the agent, as the data path saw "
			       "them pass."},
};

static void render_kernel(struct pw_metrics_buf *b, const uint64_t *c)
{
	bool done[PW_C_DROP] = {0}, other = false;
	char lab[128];

	for (int i = 0; i < PW_C_DROP; i++) {
		const struct counter_row *r = &counter_rows[i];

		if (done[i] || !r->family) {
			other |= !r->family;
			continue;
		}
		pw_mb_help(b, r->family, "counter", r->help);
		for (int j = i; j < PW_C_DROP; j++) {
			const struct counter_row *q = &counter_rows[j];

			if (done[j] || !q->family || strcmp(q->family, r->family))
				continue;
			done[j] = true;
			if (q->label)
				snprintf(lab, sizeof(lab), "%s=\"%s\"", q->label, q->value);
			else
				lab[0] = '\0';
			pw_mb_sample(b, q->family, lab, c[j]);
			/* what the data path dropped while handing an answer over
			 * is one of the answers' paths too */
			if (j == PW_C_DNS_TOO_BIG)
				pw_mb_sample(b, q->family, "path=\"capture_failed\"",
					     c[PW_C_DROP + PW_R_DNS_CAPTURE]);
		}
	}
	if (other) {
		pw_mb_help(b, "podwall_datapath_other_total", "counter",
			   "Data path counters without a family of their own yet, by name.");
		for (int i = 0; i < PW_C_DROP; i++) {
			if (counter_rows[i].family)
				continue;
			snprintf(lab, sizeof(lab), "counter=\"%s\"", pw_counter_name(i));
			pw_mb_sample(b, "podwall_datapath_other_total", lab, c[i]);
		}
	}
	fam_reasons(b, "podwall_packets_denied_total",
		    "Packets the data path dropped (all pods), by reason.", c, PW_C_DROP);
	fam_reasons(b, "podwall_packets_audited_total",
		    "Packets of audit-mode pods that enforce mode would drop, by reason.", c,
		    PW_C_AUDIT);
}

static void render_pods(struct pw_agent *a, struct pw_metrics_buf *b)
{
	static const char *const names[3] = {"podwall_pod_packets_allowed_total",
					     "podwall_pod_packets_denied_total",
					     "podwall_pod_packets_audited_total"};
	static const char *const helps[3] = {
		"Packets an enforced pod sent that passed.",
		"Packets an enforced pod sent that were dropped, by reason.",
		"Packets an audit-mode pod sent that enforce mode would drop.",
	};

	for (int f = 0; f < 3; f++) {
		pw_mb_help(b, names[f], "counter", helps[f]);
		for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
			char ns[256], pod[256], lab[700];
			struct pw_ep_stats st;

			if (!ep->managed || pw_bpf_ep_stats(&a->bpf, ep->ep_id, &st))
				continue;
			snprintf(lab, sizeof(lab), "source_namespace=\"%s\",source_pod=\"%s\"",
				 pw_mb_escape(ep->namespace, ns, sizeof(ns)),
				 pw_mb_escape(ep->name, pod, sizeof(pod)));
			if (f == 0) {
				pw_mb_sample(b, names[f], lab, st.pass);
			} else if (f == 2) {
				pw_mb_sample(b, names[f], lab, st.audit);
			} else {
				size_t l = strlen(lab);

				for (int r = 1; r < PW_R_MAX; r++) {
					snprintf(lab + l, sizeof(lab) - l, ",reason=\"%s\"",
						 pw_reason_name((uint8_t)r));
					pw_mb_sample(b, names[f], lab, st.drop[r]);
				}
			}
		}
	}
}

static char *render_metrics(struct pw_agent *a, bool openmetrics)
{
	const struct pw_agent_stats *s = &a->st;
	struct pw_map_ref maps[PW_AGENT_MAPS];
	struct pw_metrics_buf b = {.openmetrics = openmetrics};
	struct pw_config cfg;
	uint64_t c[PW_C_MAX];
	static char obj[64]; /* the embedded object's id, as `podwall version` shows it */
	char lab[128];

	if (!obj[0])
		pw_bpf_object_id(obj, sizeof(obj));
	pw_mb_help(&b, "podwall_build_info", "gauge",
		   "The agent's version, commit and BPF object (value 1).");
	pw_mb_printf(&b, "podwall_build_info{version=\"%s\",commit=\"%s\",bpf_object=\"%s\"} 1\n",
		     PW_VERSION, PW_COMMIT, obj);
	fam(&b, "podwall_agent_ready", "gauge",
	    "1 once the first policy load and endpoint sync are done.", "", a->ready);
	pw_mb_help(&b, "podwall_agent_heartbeat_age_seconds", "gauge",
		   "Age of the heartbeat in pw_config, as the data path sees it; past "
		   "--agent-timeout-ms DNS answers pass unheld.");
	if (!pw_bpf_config_get(&a->bpf, &cfg) && cfg.heartbeat_ns &&
	    cfg.heartbeat_ns <= pw_now_ns())
		pw_mb_sample_f(&b, "podwall_agent_heartbeat_age_seconds", "",
			       (double)(pw_now_ns() - cfg.heartbeat_ns) / 1e9);
	else
		pw_mb_printf(&b, "podwall_agent_heartbeat_age_seconds +Inf\n");

	if (!pw_bpf_counters(&a->bpf, c))
		render_kernel(&b, c);

	const struct lv held[] = {
		{"released", s->dns_released},
		{"dropped_invalid", s->dns_dropped_invalid},
		{"dropped_learn_failed", s->dns_dropped_learn},
		{"release_failed", s->dns_release_fail},
		{"dropped_budget", s->dns_dropped_budget},
	};
	fam_by(&b, "podwall_dns_held_answers_total",
	       "Held DNS answers by what the agent did with them (each answer once).", "outcome",
	       held, sizeof(held) / sizeof(held[0]));
	fam(&b, "podwall_dns_not_allowed_total", "counter",
	    "Held DNS answers for names no rule of the pod grants (released, nothing learned).", "",
	    s->dns_not_allowed);
	fam(&b, "podwall_dns_learned_addresses_total", "counter",
	    "Addresses learned from DNS answers.", "", s->dns_learned);
	fam(&b, "podwall_dns_private_refused_total", "counter",
	    "Answer addresses in the cluster or private, not learned (rebinding guard).", "",
	    s->dns_private);
	const struct lv learnlog[] = {
		{"learned", s->learnlog_addrs},
		{"refused", s->learnlog_refused},
		{"over_budget", s->learnlog_budget},
	};
	fam_by(&b, "podwall_learn_log_addresses_total",
	       "Addresses of the kernel learner's records (pw_learn_log) by what the agent did: "
	       "learned into its state, or refused by its rules or the pod's budget (the kernel's "
	       "entry put back).",
	       "outcome", learnlog, sizeof(learnlog) / sizeof(learnlog[0]));
	const struct lv learnrec[] = {
		{"read", s->learnlog_records},
		{"unknown_endpoint", s->learnlog_unknown_ep},
		{"invalid", s->learnlog_invalid},
	};
	fam_by(&b, "podwall_learn_log_records_total",
	       "Records of the kernel learner read by the agent; of endpoints it does not have, "
	       "or malformed (their entries deleted).",
	       "outcome", learnrec, sizeof(learnrec) / sizeof(learnrec[0]));
	pw_mb_histogram(&b, "podwall_dns_hold_seconds",
			"Time from capture in the data path to release, of released DNS answers.",
			pw_hold_bounds, PW_HOLD_BUCKETS, s->dns_hold_hist,
			(double)s->dns_hold_sum_ns / 1e9);
	fam(&b, "podwall_perf_samples_lost_total", "counter",
	    "Held DNS answers lost because the perf buffer was full (clients retry).", "",
	    s->perf_lost);

	pw_agent_maps(a, maps);
	pw_mb_help(&b, "podwall_map_entries", "gauge", "Entries in each pinned map.");
	for (size_t i = 0; i < PW_AGENT_MAPS; i++) {
		snprintf(lab, sizeof(lab), "map=\"%s\"", maps[i].name);
		pw_mb_printf(&b, "podwall_map_entries{%s} %ld\n", lab,
			     pw_bpf_map_count(maps[i].fd));
	}
	pw_mb_help(&b, "podwall_map_max_entries", "gauge", "Capacity of each pinned map.");
	for (size_t i = 0; i < PW_AGENT_MAPS; i++) {
		snprintf(lab, sizeof(lab), "map=\"%s\"", maps[i].name);
		pw_mb_printf(&b, "podwall_map_max_entries{%s} %ld\n", lab, maps[i].max);
	}

	fam(&b, "podwall_policy_loads_total", "counter", "Policy loads that were applied.", "",
	    a->policies.loads);
	fam(&b, "podwall_policy_load_errors_total", "counter",
	    "Policies refused (the previous version stayed in force).", "", a->policies.errors);
	fam(&b, "podwall_policy_compile_errors_total", "counter",
	    "Endpoint compiles that failed (the previous rules stayed in force).", "",
	    s->compile_errors);
	fam(&b, "podwall_events_total", "counter", "Deny/audit events the agent recorded.", "",
	    s->events_total);
	{
		unsigned long long not_first = 0;

		for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next)
			not_first += ep->hook_problem != NULL;
		fam(&b, "podwall_hook_repairs_total", "counter",
		    "Hooks a reconcile found podwall not first on (or not running the agent's "
		    "programs) and put right.",
		    "", s->hook_repairs);
		const struct lv drift[] = {
			{"pw_endpoints", s->drift_repairs[PW_DRIFT_ENDPOINT]},
			{"pw_cidr", s->drift_repairs[PW_DRIFT_RULES]},
			{"pw_ports", s->drift_repairs[PW_DRIFT_PORTS]},
		};

		fam_by(&b, "podwall_drift_repairs_total",
		       "Map entries a reconcile found missing, altered or extra and put right, by "
		       "map.",
		       "map", drift, sizeof(drift) / sizeof(drift[0]));
		fam(&b, "podwall_hook_not_first", "gauge",
		    "Endpoints where podwall is not first on a hook and could not be made first.",
		    "", not_first);
	}
	if (a->kube.k8s) {
		struct pw_k8s_health h;

		pw_k8s_health(a->kube.k8s, &h);
		pw_mb_help(&b, "podwall_kubernetes_api_up", "gauge",
			   "1 while every list/watch of the Kubernetes API works; 0 after a "
			   "failure (reason: Unreachable, Unauthorized, Forbidden).");
		pw_mb_printf(&b, "podwall_kubernetes_api_up{reason=\"%s\"} %d\n", h.reason,
			     h.state == PW_K8S_API_OK);
		pw_mb_help(
			&b, "podwall_kubernetes_api_down_since_seconds", "gauge",
			"Unix time of the first failure in a row talking to the API; 0 when up.");
		pw_mb_sample_f(&b, "podwall_kubernetes_api_down_since_seconds", "",
			       (double)h.since_ms / 1e3);
		{
			size_t n = a->kube.unlocated ? json_array_size(a->kube.unlocated) : 0;

			pw_mb_help(&b, "podwall_pods_unlocated", "gauge",
				   "Pods of this node in the API whose veth podwall cannot find "
				   "(selected=\"true\": a policy selects them and they are NOT "
				   "enforced).");
			pw_mb_sample(&b, "podwall_pods_unlocated", "selected=\"true\"",
				     a->kube.n_unlocated_selected);
			pw_mb_sample(&b, "podwall_pods_unlocated", "selected=\"false\"",
				     n - a->kube.n_unlocated_selected);
			fam(&b, "podwall_pods_adopted_total", "counter",
			    "Pods registered from the API (running before podwall), not by a CNI "
			    "ADD.",
			    "", a->kube.pods_adopted);
		}
	}
	if (a->o.metrics_pod_labels)
		render_pods(a, &b);
	return pw_mb_take(&b);
}

/* ------------------------------------------------------------ HTTP */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, char *body,
			       const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_size, void **req_cls)
{
	const struct pw_listener *l = cls;
	struct pw_agent *a = l->a;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("GET only\n"), "text/plain");
	if ((l->routes & ROUTE_METRICS) && !strcmp(url, "/metrics")) {
		const char *acc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
		bool om = acc && strstr(acc, "application/openmetrics-text");

		return respond(c, MHD_HTTP_OK, render_metrics(a, om),
			       om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				  : "text/plain; version=0.0.4; charset=utf-8");
	}
	if ((l->routes & ROUTE_PROBES) && !strcmp(url, "/healthz"))
		return respond(c, MHD_HTTP_OK, strdup("ok\n"), "text/plain");
	if ((l->routes & ROUTE_PROBES) && !strcmp(url, "/readyz"))
		return a->ready ? respond(c, MHD_HTTP_OK, strdup("ready\n"), "text/plain")
				: respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, strdup("starting\n"),
					  "text/plain");
	return respond(c, MHD_HTTP_NOT_FOUND, strdup("not found\n"), "text/plain");
}

/* "1.2.3.4:P" or "[v6]:P". 0 or -EINVAL. */
int pw_metrics_parse_addr(const char *s, struct sockaddr_storage *ss)
{
	const char *colon = strrchr(s, ':');
	char host[64], *end;
	size_t hl;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (!colon)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (!hl || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -EINVAL;
}

static void try_listen(struct pw_metrics *m, struct pw_listener *l, uint64_t now)
{
	struct epoll_event ev = {.events = EPOLLIN};
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL;
	int err;

	if (l->d || now < l->next_try_ns)
		return;
	if (l->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	l->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, l, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&l->ss, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_END);
	err = errno;
	info = l->d ? MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (info) {
		ev.data.fd = info->epoll_fd;
		if (!epoll_ctl(m->epfd, EPOLL_CTL_ADD, info->epoll_fd, &ev)) {
			pw_info("%s on http://%s%s%s", l->what, l->addr,
				(l->routes & ROUTE_METRICS) ? "/metrics" : "",
				(l->routes & ROUTE_PROBES) ? " /healthz /readyz" : "");
			l->failures = 0;
			return;
		}
		err = errno;
	}
	if (l->d)
		MHD_stop_daemon(l->d);
	l->d = NULL;
	l->next_try_ns = now + RETRY_NS;
	/* Said at once, then once a minute while it lasts. */
	if (l->failures++ % 12 == 0)
		pw_warn("cannot serve %s on %s: %s; retrying every 5 s (enforcement is not "
			"affected; is another process on that port?)",
			l->what, l->addr, err ? strerror(err) : "listen failed");
}

int pw_metrics_start(struct pw_agent *a)
{
	const char *maddr = a->o.metrics_addr ? a->o.metrics_addr : "";
	const char *paddr = a->o.probe_addr ? a->o.probe_addr : "";
	struct pw_metrics *m;
	struct {
		const char *addr, *what, *opt;
		unsigned routes;
	} want[2] = {{maddr, "metrics", "--metrics-addr", ROUTE_METRICS},
		     {paddr, "probes", "--probe-addr", ROUTE_PROBES}};
	size_t nwant = 2;

	if (*maddr && !strcmp(maddr, paddr)) {
		want[0].what = "metrics and probes";
		want[0].routes |= ROUTE_PROBES;
		nwant = 1;
	}
	for (size_t i = 0; i < nwant; i++) {
		struct sockaddr_storage ss;

		if (*want[i].addr && pw_metrics_parse_addr(want[i].addr, &ss)) {
			pw_err("%s %s: expected IPv4:PORT or [IPv6]:PORT, e.g. 127.0.0.1:9978",
			       want[i].opt, want[i].addr);
			return -EINVAL;
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0) {
		free(m);
		return -errno;
	}
	for (size_t i = 0; i < nwant; i++) {
		if (!*want[i].addr)
			continue;
		m->l[m->n] = (struct pw_listener){.what = want[i].what,
						  .addr = want[i].addr,
						  .routes = want[i].routes,
						  .a = a};
		pw_metrics_parse_addr(want[i].addr, &m->l[m->n].ss);
		m->n++;
	}
	a->metrics = m;
	for (size_t i = 0; i < m->n; i++)
		try_listen(m, &m->l[i], pw_now_ns());
	return m->epfd;
}

void pw_metrics_run(struct pw_agent *a)
{
	struct pw_metrics *m = a->metrics;
	uint64_t now;

	if (!m)
		return;
	now = pw_now_ns();
	for (size_t i = 0; i < m->n; i++) {
		if (m->l[i].d)
			MHD_run(m->l[i].d);
		else
			try_listen(m, &m->l[i], now);
	}
}

bool pw_metrics_serving(struct pw_agent *a, unsigned *down)
{
	struct pw_metrics *m = a->metrics;
	unsigned n = 0;

	for (size_t i = 0; m && i < m->n; i++)
		n += !m->l[i].d;
	if (down)
		*down = n;
	return m && !n;
}

void pw_metrics_stop(struct pw_agent *a)
{
	struct pw_metrics *m = a->metrics;

	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		if (m->l[i].d)
			MHD_stop_daemon(m->l[i].d);
	close(m->epfd);
	free(m);
	a->metrics = NULL;
}

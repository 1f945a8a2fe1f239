// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * metrics: /metrics (Prometheus text format), /healthz and /readyz over HTTP,
 * served by libmicrohttpd in "external epoll" mode from the agent's own loop,
 * so handlers read agent state with no locks and no second thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "agent_int.h"
#include "events_fmt.h"
#include "log.h"
#include "metrics_fmt.h"

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, char *body,
			       const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

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

static char *render_metrics(struct pw_agent *a)
{
	struct pw_metrics_buf b = {0};
	uint64_t c[PW_C_MAX];
	const struct pw_agent_stats *s = &a->st;
	struct pw_map_ref maps[PW_AGENT_MAPS];
	pw_mb_help(&b, "podwall_packets_allowed_total", "counter",
		   "Packets from enforced pods that passed, by pod.");
	pw_mb_help(&b, "podwall_packets_denied_total", "counter",
		   "Packets from enforced pods that were dropped, by pod and reason.");
	pw_mb_help(&b, "podwall_packets_audited_total", "counter",
		   "Packets an audit-mode pod sent that enforce mode would drop, by pod.");
	for (struct pw_ep *ep = a->eps; ep; ep = ep->next) {
		struct pw_ep_stats st;

		if (!ep->managed || pw_bpf_ep_stats(&a->bpf, ep->ep_id, &st))
			continue;
		pw_mb_printf(&b, "podwall_packets_allowed_total{namespace=\"%s\",pod=\"%s\"} %llu\n",
			     ep->namespace, ep->name, (unsigned long long)st.pass);
		pw_mb_printf(&b, "podwall_packets_audited_total{namespace=\"%s\",pod=\"%s\"} %llu\n",
			     ep->namespace, ep->name, (unsigned long long)st.audit);
		for (int r = 1; r < PW_R_MAX; r++)
			pw_mb_printf(&b,
				     "podwall_packets_denied_total{namespace=\"%s\",pod=\"%s\","
				     "reason=\"%s\"} %llu\n",
				     ep->namespace, ep->name, pw_reason_name((uint8_t)r),
				     (unsigned long long)st.drop[r]);
	}
	if (!pw_bpf_counters(&a->bpf, c)) {
		pw_mb_help(&b, "podwall_datapath_total", "counter",
			   "Data path counters of all pods (pw_counters), by kind.");
		json_t *cj = pw_agent_counters_json(a);
		const char *k;
		json_t *v;

		json_object_foreach(cj, k, v)
			pw_mb_printf(&b, "podwall_datapath_total{kind=\"%s\"} %lld\n", k,
				     (long long)json_integer_value(v));
		json_decref(cj);
		pw_mb_help(&b, "podwall_dns_answers_total", "counter",
			   "DNS answers by what happened to them.");
		pw_mb_printf(&b, "podwall_dns_answers_total{result=\"held\"} %llu\n",
			     (unsigned long long)c[PW_C_DNS_HELD]);
		pw_mb_printf(&b, "podwall_dns_answers_total{result=\"unmatched\"} %llu\n",
			     (unsigned long long)c[PW_C_DNS_UNMATCHED]);
		pw_mb_printf(&b, "podwall_dns_answers_total{result=\"agent_away\"} %llu\n",
			     (unsigned long long)c[PW_C_DNS_AGENT_AWAY]);
		pw_mb_printf(&b, "podwall_dns_answers_total{result=\"capture_failed\"} %llu\n",
			     (unsigned long long)c[PW_C_DROP + PW_R_DNS_CAPTURE]);
	}
	pw_mb_printf(&b, "podwall_dns_answers_total{result=\"released\"} %llu\n",
		     (unsigned long long)s->dns_released);
	pw_mb_printf(&b, "podwall_dns_answers_total{result=\"dropped_invalid\"} %llu\n",
		     (unsigned long long)s->dns_dropped_invalid);
	pw_mb_printf(&b, "podwall_dns_answers_total{result=\"dropped_learn_failed\"} %llu\n",
		     (unsigned long long)s->dns_dropped_learn);
	pw_mb_help(&b, "podwall_dns_learned_addresses_total", "counter",
		   "Addresses learned from DNS answers.");
	pw_mb_printf(&b, "podwall_dns_learned_addresses_total %llu\n",
		     (unsigned long long)s->dns_learned);
	pw_mb_help(&b, "podwall_perf_samples_lost_total", "counter",
		   "Held DNS answers lost because the perf buffer was full.");
	pw_mb_printf(&b, "podwall_perf_samples_lost_total %llu\n", (unsigned long long)s->perf_lost);
	pw_mb_help(&b, "podwall_map_entries", "gauge", "Entries in each pinned map.");
	pw_mb_help(&b, "podwall_map_max_entries", "gauge", "Capacity of each pinned map.");
	pw_agent_maps(a, maps);
	for (size_t i = 0; i < PW_AGENT_MAPS; i++) {
		pw_mb_printf(&b, "podwall_map_entries{map=\"%s\"} %ld\n", maps[i].name,
			     pw_bpf_map_count(maps[i].fd));
		pw_mb_printf(&b, "podwall_map_max_entries{map=\"%s\"} %ld\n", maps[i].name,
			     maps[i].max);
	}
	pw_mb_help(&b, "podwall_policy_load_errors_total", "counter",
		   "Policy files refused (the previous version stayed in force).");
	pw_mb_printf(&b, "podwall_policy_load_errors_total %llu\n",
		     (unsigned long long)s->policy_errors);
	pw_mb_help(&b, "podwall_agent_heartbeat_seconds", "gauge",
		   "Monotonic time of the agent's last heartbeat.");
	pw_mb_printf(&b, "podwall_agent_heartbeat_seconds %.3f\n", (double)pw_now_ns() / 1e9);
	return pw_mb_take(&b);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_size, void **req_cls)
{
	struct pw_agent *a = cls;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("GET only\n"), "text/plain");
	if (!strcmp(url, "/metrics")) {
		char *body = render_metrics(a);

		if (!body)
			return MHD_NO;
		return respond(c, MHD_HTTP_OK, body, "text/plain; version=0.0.4");
	}
	if (!strcmp(url, "/healthz"))
		return respond(c, MHD_HTTP_OK, strdup("ok\n"), "text/plain");
	if (!strcmp(url, "/readyz"))
		return a->ready ? respond(c, MHD_HTTP_OK, strdup("ready\n"), "text/plain")
				: respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, strdup("starting\n"),
					  "text/plain");
	return respond(c, MHD_HTTP_NOT_FOUND, strdup("not found\n"), "text/plain");
}

int pw_metrics_start(struct pw_agent *a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	const union MHD_DaemonInfo *info;
	char host[64];
	const char *colon = strrchr(a->o.metrics_addr, ':');
	long port;
	struct MHD_Daemon *d;

	if (!colon || (size_t)(colon - a->o.metrics_addr) >= sizeof(host)) {
		pw_err("--metrics-addr %s: expected HOST:PORT, e.g. 127.0.0.1:9090",
		       a->o.metrics_addr);
		return -EINVAL;
	}
	memcpy(host, a->o.metrics_addr, (size_t)(colon - a->o.metrics_addr));
	host[colon - a->o.metrics_addr] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port < 1 || port > 65535 || inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		pw_err("--metrics-addr %s: expected an IPv4 address and a port 1-65535",
		       a->o.metrics_addr);
		return -EINVAL;
	}
	sin.sin_port = htons((uint16_t)port);
	d = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, handler, a, MHD_OPTION_SOCK_ADDR,
			     (struct sockaddr *)&sin, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
			     MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_END);
	if (!d) {
		pw_err("cannot serve metrics on %s (port in use?)", a->o.metrics_addr);
		return -EADDRINUSE;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		MHD_stop_daemon(d);
		return -EINVAL;
	}
	a->metrics = d;
	pw_info("metrics and probes on http://%s/metrics, /healthz, /readyz", a->o.metrics_addr);
	return info->epoll_fd;
}

void pw_metrics_run(struct pw_agent *a)
{
	if (a->metrics)
		MHD_run(a->metrics);
}

void pw_metrics_stop(struct pw_agent *a)
{
	if (a->metrics)
		MHD_stop_daemon(a->metrics);
	a->metrics = NULL;
}

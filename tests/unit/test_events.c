// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Event records as JSON (every field, for v4, v6 and frames with no IP
 * header), reason and protocol names, RFC 3339 times, and the growing text
 * buffer behind /metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/table.h"

#include "events_fmt.h"
#include "ipaddr.h"
#include "metrics_fmt.h"

/* ---- helpers --------------------------------------------------------------------- */

/* row_name(), run_table(), RUN_TABLE(): tests/unit/table.h */

/* ---- pw_event_to_json --------------------------------------------------------------- */

#define T0    1700000000123456789ULL /* 2023-11-14T22:13:20.123Z */
#define T0STR "\"2023-11-14T22:13:20.123Z\""

struct event_row {
	const char *name;
	uint8_t family;
	const char *src, *dst; /* parsed into saddr/daddr when family is 4 or 6 */
	uint8_t proto;
	uint16_t sport, dport; /* host order here; network order in the event */
	uint8_t reason, verdict;
	uint32_t ifindex, suppressed;
	const char *pod;
	const char *policies[3];
	const char *hostname, *detail;
	const char *want; /* the whole record ("owner": null unless it says) */
	const struct pw_owner *owner;
};

static const struct pw_owner OWNER_DEPLOY = {"Deployment", "web"};

/* clang-format off */
static const struct event_row event_rows[] = {
	{"v4 tcp drop, hostname and one policy",
	 PW_FAMILY_V4, "192.0.2.10", "198.51.100.7", 6, 40000, 443, PW_R_NO_RULE,
	 PW_VERDICT_DROP, 42, 0, "shop/web-0", {"shop/egress"}, "api.example.com", NULL,
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":\"shop\",\"pod\":\"web-0\",\"verdict\":\"drop\",\"reason\":\"no-rule\","
	 "\"family\":\"ipv4\",\"proto\":\"tcp\",\"src\":\"192.0.2.10\",\"sport\":40000,"
	 "\"dst\":\"198.51.100.7\",\"dport\":443,\"hostname\":\"api.example.com\","
	 "\"policies\":[\"shop/egress\"],\"ifindex\":42,\"suppressed\":0}"},
	{"v6 udp audit, two policies, no hostname",
	 PW_FAMILY_V6, "2001:db8::10", "2001:db8:bad::53", 17, 5353, 53, PW_R_PORT,
	 PW_VERDICT_AUDIT, 7, 12, "shop/web-0", {"shop/a", "shop/b"}, NULL, NULL,
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":\"shop\",\"pod\":\"web-0\",\"verdict\":\"audit\",\"reason\":\"port\","
	 "\"family\":\"ipv6\",\"proto\":\"udp\",\"src\":\"2001:db8::10\",\"sport\":5353,"
	 "\"dst\":\"2001:db8:bad::53\",\"dport\":53,\"hostname\":null,"
	 "\"policies\":[\"shop/a\",\"shop/b\"],\"ifindex\":7,\"suppressed\":12}"},
	{"unknown family: no L3 fields, unknown pod",
	 0, NULL, NULL, 0, 0, 0, PW_R_L2, PW_VERDICT_DROP, 3, 0, NULL, {NULL}, NULL, NULL,
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":null,\"pod\":null,\"verdict\":\"drop\",\"reason\":\"l2\","
	 "\"family\":null,\"proto\":null,\"src\":null,\"sport\":0,"
	 "\"dst\":null,\"dport\":0,\"hostname\":null,"
	 "\"policies\":[],\"ifindex\":3,\"suppressed\":0}"},
	{"agent-side drop with detail",
	 PW_FAMILY_V4, "198.51.100.53", "192.0.2.10", 17, 53, 33000, PW_R_DNS_INVALID,
	 PW_VERDICT_DROP, 42, 0, "shop/web-0", {"shop/egress"}, NULL,
	 "answer does not match the query",
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":\"shop\",\"pod\":\"web-0\",\"verdict\":\"drop\","
	 "\"reason\":\"dns-invalid\",\"family\":\"ipv4\",\"proto\":\"udp\","
	 "\"src\":\"198.51.100.53\",\"sport\":53,\"dst\":\"192.0.2.10\",\"dport\":33000,"
	 "\"hostname\":null,\"policies\":[\"shop/egress\"],\"ifindex\":42,\"suppressed\":0,"
	 "\"detail\":\"answer does not match the query\"}"},
	{"v6 icmpv6, v4-mapped destination",
	 PW_FAMILY_V6, "2001:db8::10", "::ffff:203.0.113.9", 58, 0, 0, PW_R_V4MAPPED,
	 PW_VERDICT_DROP, 9, 1, "shop/web-0", {NULL}, NULL, NULL,
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":\"shop\",\"pod\":\"web-0\",\"verdict\":\"drop\","
	 "\"reason\":\"v4-mapped\",\"family\":\"ipv6\",\"proto\":\"icmpv6\","
	 "\"src\":\"2001:db8::10\",\"dst\":\"::ffff:203.0.113.9\",\"icmp\":{\"type\":1,\"code\":4},"
	 "\"hostname\":null,\"policies\":[],\"ifindex\":9,\"suppressed\":1}"},
	{"v4 icmp: type and code, not the echo id as a port",
	 PW_FAMILY_V4, "192.0.2.10", "203.0.113.9", 1, 777, 777, PW_R_NO_RULE,
	 PW_VERDICT_DROP, 9, 0, "shop/web-0", {NULL}, NULL, NULL,
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":\"shop\","
	 "\"pod\":\"web-0\",\"verdict\":\"drop\",\"reason\":\"no-rule\",\"family\":\"ipv4\","
	 "\"proto\":\"icmp\",\"src\":\"192.0.2.10\",\"dst\":\"203.0.113.9\","
	 "\"icmp\":{\"type\":1,\"code\":4},"
	 "\"hostname\":null,\"policies\":[],\"ifindex\":9,\"suppressed\":0}"},
	{"v4 tcp allowed flow (visibility: allowed): verdict allow, reason allowed",
	 PW_FAMILY_V4, "10.42.0.7", "198.51.100.7", 6, 40000, 443, PW_R_NONE,
	 PW_VERDICT_ALLOW, 42, 2, "shop/web-0", {"shop/egress"}, "api.example.com", NULL,
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":\"shop\",\"pod\":\"web-0\",\"verdict\":\"allow\",\"reason\":\"allowed\","
	 "\"family\":\"ipv4\",\"proto\":\"tcp\",\"src\":\"10.42.0.7\",\"sport\":40000,"
	 "\"dst\":\"198.51.100.7\",\"dport\":443,\"hostname\":\"api.example.com\","
	 "\"policies\":[\"shop/egress\"],\"ifindex\":42,\"suppressed\":2}"},
	{"owner workload: {kind, name}",
	 PW_FAMILY_V4, "10.42.0.7", "198.51.100.7", 6, 40000, 443, PW_R_NO_RULE,
	 PW_VERDICT_DROP, 42, 0, "shop/web-7d4b9c8f5-x2x9q", {NULL}, NULL, NULL,
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":\"shop\",\"pod\":\"web-7d4b9c8f5-x2x9q\","
	 "\"owner\":{\"kind\":\"Deployment\",\"name\":\"web\"},\"verdict\":\"drop\",\"reason\":\"no-rule\","
	 "\"family\":\"ipv4\",\"proto\":\"tcp\",\"src\":\"10.42.0.7\",\"sport\":40000,"
	 "\"dst\":\"198.51.100.7\",\"dport\":443,\"hostname\":null,"
	 "\"policies\":[],\"ifindex\":42,\"suppressed\":0}", &OWNER_DEPLOY},
	{"denyAction reject: verdict reject",
	 PW_FAMILY_V4, "10.42.0.7", "203.0.113.200", 6, 40000, 443, PW_R_NO_RULE,
	 PW_VERDICT_REJECT, 42, 0, "shop/web-0", {NULL}, NULL, NULL,
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":\"shop\",\"pod\":\"web-0\",\"verdict\":\"reject\","
	 "\"reason\":\"no-rule\",\"family\":\"ipv4\",\"proto\":\"tcp\",\"src\":\"10.42.0.7\",\"sport\":40000,"
	 "\"dst\":\"203.0.113.200\",\"dport\":443,\"hostname\":null,"
	 "\"policies\":[],\"ifindex\":42,\"suppressed\":0}"},
	{"unnamed protocol, top ports, reason out of range",
	 PW_FAMILY_V4, "192.0.2.10", "203.0.113.200", 47, 65535, 65535, 200,
	 PW_VERDICT_DROP, 4294967295U, 4294967295U, "shop/web-0", {NULL}, NULL, NULL,
	 "{\"id\":\"65a-7\",\"time\":" T0STR ",\"node\":\"node-1\",\"namespace\":\"shop\",\"pod\":\"web-0\",\"verdict\":\"drop\","
	 "\"reason\":\"unknown\",\"family\":\"ipv4\",\"proto\":\"47\","
	 "\"src\":\"192.0.2.10\",\"sport\":65535,\"dst\":\"203.0.113.200\",\"dport\":65535,"
	 "\"hostname\":null,\"policies\":[],\"ifindex\":4294967295,\"suppressed\":4294967295}"},
};
/* clang-format on */

static void test_event_row(void **state)
{
	const struct event_row *r = *state;
	struct pw_event e = {0};
	struct pw_event_ctx c = {0};
	char ns[64];
	json_error_t jerr;
	json_t *got, *want;
	uint8_t family;
	size_t n = 0;

	e.ts_ns = 99; /* monotonic: not what the record shows */
	e.ep_id = 5;
	e.family = r->family;
	if (r->src) {
		assert_int_equal(pw_ip_parse(r->src, &family, &e.saddr), 0);
		assert_int_equal(family, r->family);
		assert_int_equal(pw_ip_parse(r->dst, &family, &e.daddr), 0);
		assert_int_equal(family, r->family);
	}
	e.proto = r->proto;
	e.sport = htons(r->sport);
	e.dport = htons(r->dport);
	e.reason = r->reason;
	e.verdict = r->verdict;
	e.ifindex = r->ifindex;
	e.suppressed = r->suppressed;
	e.icmp_type = 1; /* shown for ICMP only */
	e.icmp_code = 4;
	while (n < 3 && r->policies[n])
		n++;
	c.wall_ns = T0;
	c.id = "65a-7";
	c.node = "node-1";
	if (r->pod) {
		const char *slash = strchr(r->pod, '/');

		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - r->pod), r->pod);
		c.namespace = ns;
		c.pod = slash + 1;
	}
	c.policies = r->policies;
	c.n_policies = n;
	c.hostname = r->hostname;
	c.detail = r->detail;
	c.owner = r->owner;

	want = json_loads(r->want, 0, &jerr);
	if (!want)
		fail_msg("bad JSON in test data: %s", jerr.text);
	if (!json_object_get(want, "owner"))
		json_object_set_new(want, "owner", json_null());
	got = pw_event_to_json(&e, &c);
	assert_non_null(got);
	if (!json_equal(got, want)) {
		char *s = json_dumps(got, JSON_SORT_KEYS);

		fail_msg("got %s\nwant %s", s, r->want);
	}
	json_decref(got);
	json_decref(want);
}

/* ---- owner workload -------------------------------------------------------------- */

struct owner_row {
	const char *name;
	const char *pod; /* the Pod object */
	int ret;
	const char *kind, *owner;
};

#define POD(md)	       "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"shop\"" md "}}"
#define REF(k, n, ctl) "{\"apiVersion\":\"apps/v1\",\"kind\":\"" k "\",\"name\":\"" n "\"" ctl "}"
#define CTL	       ",\"controller\":true"

/* clang-format off */
static const struct owner_row owner_rows[] = {
	{"bare pod: none", POD(""), -ENOENT, NULL, NULL},
	{"empty ownerReferences: none", POD(",\"ownerReferences\":[]"), -ENOENT, NULL, NULL},
	{"ReplicaSet with its pod-template-hash: Deployment",
	 POD(",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d4b9c8f5\"},"
	     "\"ownerReferences\":[" REF("ReplicaSet", "web-7d4b9c8f5", CTL) "]"),
	 0, "Deployment", "web"},
	{"Deployment name with dashes",
	 POD(",\"labels\":{\"pod-template-hash\":\"5f6c\"},"
	     "\"ownerReferences\":[" REF("ReplicaSet", "my-api-v2-5f6c", CTL) "]"),
	 0, "Deployment", "my-api-v2"},
	{"ReplicaSet without the label: ReplicaSet",
	 POD(",\"ownerReferences\":[" REF("ReplicaSet", "web-7d4b9c8f5", CTL) "]"),
	 0, "ReplicaSet", "web-7d4b9c8f5"},
	{"ReplicaSet whose name does not end in the hash: ReplicaSet",
	 POD(",\"labels\":{\"pod-template-hash\":\"abc\"},"
	     "\"ownerReferences\":[" REF("ReplicaSet", "handmade", CTL) "]"),
	 0, "ReplicaSet", "handmade"},
	{"ReplicaSet named just the hash: ReplicaSet",
	 POD(",\"labels\":{\"pod-template-hash\":\"abc\"},"
	     "\"ownerReferences\":[" REF("ReplicaSet", "-abc", CTL) "]"),
	 0, "ReplicaSet", "-abc"},
	{"StatefulSet", POD(",\"ownerReferences\":[" REF("StatefulSet", "db", CTL) "]"),
	 0, "StatefulSet", "db"},
	{"DaemonSet", POD(",\"ownerReferences\":[" REF("DaemonSet", "podwall", CTL) "]"),
	 0, "DaemonSet", "podwall"},
	{"Job", POD(",\"ownerReferences\":[" REF("Job", "migrate", CTL) "]"), 0, "Job", "migrate"},
	{"Job of a CronJob (name-<minutes>): CronJob",
	 POD(",\"ownerReferences\":[" REF("Job", "backup-29412345", CTL) "]"),
	 0, "CronJob", "backup"},
	{"Job with a short number: Job",
	 POD(",\"ownerReferences\":[" REF("Job", "run-42", CTL) "]"), 0, "Job", "run-42"},
	{"the controller reference wins over the first",
	 POD(",\"ownerReferences\":[" REF("ConfigMap", "x", "") "," REF("StatefulSet", "db", CTL) "]"),
	 0, "StatefulSet", "db"},
	{"no controller: the first", POD(",\"ownerReferences\":[" REF("Node", "n1", "") "]"),
	 0, "Node", "n1"},
	{"reference without a name: none",
	 POD(",\"ownerReferences\":[{\"kind\":\"StatefulSet\",\"controller\":true}]"),
	 -ENOENT, NULL, NULL},
	{"ownerReferences not a list: none", POD(",\"ownerReferences\":{\"kind\":\"Job\"}"),
	 -ENOENT, NULL, NULL},
};
/* clang-format on */

static void test_owner_row(void **state)
{
	const struct owner_row *r = *state;
	json_error_t jerr;
	json_t *pod = json_loads(r->pod, 0, &jerr), *j;
	struct pw_owner o;

	if (!pod)
		fail_msg("bad JSON in test data: %s", jerr.text);
	assert_int_equal(pw_pod_owner(pod, &o), r->ret);
	j = pw_owner_json(r->ret ? NULL : &o);
	if (r->ret) {
		assert_true(json_is_null(j));
	} else {
		assert_string_equal(o.kind, r->kind);
		assert_string_equal(o.name, r->owner);
		assert_string_equal(json_string_value(json_object_get(j, "kind")), r->kind);
		assert_string_equal(json_string_value(json_object_get(j, "name")), r->owner);
	}
	json_decref(j);
	json_decref(pod);
}

/* ---- names -------------------------------------------------------------------------- */

/* Reason names are what operators grep for and what `podwall events --reason`
 * takes: pinned here so a rename is a deliberate change. */
static const char *const want_reasons[PW_R_MAX] = {
	[PW_R_NONE] = "allowed",
	[PW_R_NO_RULE] = "no-rule",
	[PW_R_PORT] = "port",
	[PW_R_SPOOF] = "spoof",
	[PW_R_FRAGMENT] = "fragment",
	[PW_R_IP_OPTIONS] = "ip-options",
	[PW_R_IPV6_EXT] = "ipv6-ext",
	[PW_R_MALFORMED] = "malformed",
	[PW_R_L2] = "l2",
	[PW_R_EXPIRED] = "expired",
	[PW_R_DNS] = "dns-untrusted",
	[PW_R_V4MAPPED] = "v4-mapped",
	[PW_R_DNS_CAPTURE] = "dns-capture",
	[PW_R_DNS_LEARN] = "dns-learn",
	[PW_R_DNS_INVALID] = "dns-invalid",
	[PW_R_DNS_PRIVATE] = "dns-private",
	[PW_R_TUNNEL] = "tunnel",
	[PW_R_DNS_NAME] = "dns-name",
	[PW_R_DNS_BUDGET] = "dns-budget",
	[PW_R_DNS_FRAGMENT] = "dns-fragment",
	[PW_R_DNS_TCP_SPLIT] = "dns-tcp-split",
};

static void test_reason_names(void **state)
{
	for (int i = 0; i < PW_R_MAX; i++) {
		const char *name = pw_reason_name((uint8_t)i);

		assert_non_null(want_reasons[i]);
		assert_string_equal(name, want_reasons[i]);
		assert_true(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(name));
		for (int j = 0; j < i; j++)
			if (!strcmp(name, pw_reason_name((uint8_t)j)))
				fail_msg("reasons %d and %d are both \"%s\"", j, i, name);
		assert_int_equal(pw_reason_from_name(name), i);
	}
	assert_string_equal(pw_reason_name(PW_R_MAX), "unknown");
	assert_string_equal(pw_reason_name(255), "unknown");
	assert_int_equal(pw_reason_from_name("unknown"), -1);
	assert_int_equal(pw_reason_from_name(""), -1);
	assert_int_equal(pw_reason_from_name("No-Rule"), -1);
	assert_int_equal(pw_reason_from_name("no-rule "), -1);
	assert_int_equal(pw_reason_from_name("no"), -1);
}

/* The counter names are the keys of `podwall counters` and the kinds of
 * podwall_datapath_total: pinned here, as users and dashboards read them. */
static const char *const want_counters[PW_C_DROP] = {
	[PW_C_PASS_UNMANAGED] = "pass_unmanaged",
	[PW_C_PASS_L2] = "pass_l2",
	[PW_C_PASS_FLOW] = "pass_flow",
	[PW_C_PASS_DNS_QUERY] = "pass_dns_query",
	[PW_C_PASS_LEARNED] = "pass_learned",
	[PW_C_PASS_CIDR] = "pass_cidr",
	[PW_C_FLOW_INSERT_FAIL] = "flow_insert_fail",
	[PW_C_PEND_INSERT_FAIL] = "dns_pending_insert_fail",
	[PW_C_EVENT_LOST] = "events_lost",
	[PW_C_EVENT_SUPPRESSED] = "events_suppressed",
	[PW_C_DNS_HELD] = "dns_held",
	[PW_C_DNS_RELEASED] = "dns_released",
	[PW_C_DNS_UNMATCHED] = "dns_unmatched",
	[PW_C_DNS_AGENT_AWAY] = "dns_agent_away",
	[PW_C_DNS_TOO_BIG] = "dns_too_big",
	[PW_C_INGRESS_FLOW] = "ingress_flows",
	[PW_C_FLOW_REVALIDATE] = "flow_revalidate",
	[PW_C_DNS_FRAGMENT] = "dns_fragmented",
	[PW_C_L2_REDIRECT] = "l2_redirect",
	[PW_C_FLOW_QUOTA] = "flow_quota",
	[PW_C_FLOW_READMIT] = "flow_readmit",
	[PW_C_REJECT_SENT] = "rejects_sent",
	[PW_C_REJECT_LIMITED] = "rejects_limited",
	[PW_C_REJECT_FAILED] = "rejects_failed",
	[PW_C_DNS_INLINE] = "dns_learned_inline",
	[PW_C_DNS_NOT_SIMPLE] = "dns_not_simple",
	[PW_C_DNS_LEARN_QUOTA] = "dns_learn_quota",
	[PW_C_DNS_TCP_SPLIT] = "dns_tcp_split",
	[PW_C_DNS_TCP_COPIED] = "dns_tcp_copied",
	[PW_C_DNS_TCP_GSO] = "dns_tcp_gso",
	[PW_C_LEARN_LOG_FULL] = "learn_log_full",
	[PW_C_DNS_QUERY_BUDGET] = "dns_query_budget",
};

static void test_counter_names(void **state)
{
	for (int i = 0; i < PW_C_DROP; i++) {
		const char *name = pw_counter_name(i);

		assert_non_null(want_counters[i]);
		assert_non_null(name);
		assert_string_equal(name, want_counters[i]);
		for (int j = 0; j < i; j++)
			if (!strcmp(name, pw_counter_name(j)))
				fail_msg("counters %d and %d are both \"%s\"", j, i, name);
	}
	assert_null(pw_counter_name(-1));
	assert_null(pw_counter_name(PW_C_DROP));
	assert_null(pw_counter_name(PW_C_MAX));
}

static void test_proto_names(void **state)
{
	static const struct {
		uint8_t proto;
		const char *name;
	} rows[] = {
		{1, "icmp"}, {6, "tcp"}, {17, "udp"}, {58, "icmpv6"}, {132, "sctp"},
		{0, "0"},    {2, "2"},	 {47, "47"},  {255, "255"},
	};
	char buf[8];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_string_equal(pw_proto_name(rows[i].proto, buf, sizeof(buf)), rows[i].name);
}

static void test_time_str(void **state)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} rows[] = {
		{0, "1970-01-01T00:00:00.000Z"},
		{T0, "2023-11-14T22:13:20.123Z"},
		{1700000000999999999ULL, "2023-11-14T22:13:20.999Z"}, /* truncated, not rounded */
		{1700000000000999999ULL, "2023-11-14T22:13:20.000Z"},
		{4102444799000000000ULL, "2099-12-31T23:59:59.000Z"},
	};
	char buf[48];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_string_equal(pw_time_str(rows[i].ns, buf, sizeof(buf)), rows[i].want);
}

/* ---- metrics buffer ------------------------------------------------------------------ */

/* Many small writes past 4096 bytes: the text is exactly what was written. */
static void test_metrics_growth(void **state)
{
	struct pw_metrics_buf b = {0};
	size_t want_len = 0, want_cap = 64 * 1024;
	char *want = calloc(1, want_cap), *got;

	assert_non_null(want);
	pw_mb_help(&b, "podwall_packets_denied_total", "counter", "Packets denied, by reason.");
	want_len += (size_t)snprintf(want + want_len, want_cap - want_len,
				     "# HELP podwall_packets_denied_total Packets denied, by "
				     "reason.\n# TYPE podwall_packets_denied_total counter\n");
	for (unsigned i = 0; i < 500; i++) {
		pw_mb_printf(&b,
			     "podwall_packets_denied_total{pod=\"shop/web-%u\",reason=\"%s\"} %u\n",
			     i, pw_reason_name((uint8_t)(i % PW_R_MAX)), i * 7);
		want_len += (size_t)snprintf(
			want + want_len, want_cap - want_len,
			"podwall_packets_denied_total{pod=\"shop/web-%u\",reason=\"%s\"} %u\n", i,
			pw_reason_name((uint8_t)(i % PW_R_MAX)), i * 7);
		assert_int_equal(b.len, want_len);
		assert_true(b.cap > b.len);
	}
	assert_true(want_len > 4 * 4096);
	assert_false(b.failed);
	got = pw_mb_take(&b);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(got);
	free(want);
}

/* One write larger than twice the buffer; writes that end exactly at the edge. */
static void test_metrics_big_and_edges(void **state)
{
	struct pw_metrics_buf b = {0};
	char *big = malloc(10001), *got;
	char edge[4096];

	assert_non_null(big);
	memset(big, 'x', 10000);
	big[10000] = '\0';
	pw_mb_printf(&b, "%s", big);
	pw_mb_printf(&b, "%s\n", "!");
	got = pw_mb_take(&b);
	assert_non_null(got);
	assert_int_equal(strlen(got), 10002);
	assert_memory_equal(got, big, 10000);
	assert_string_equal(got + 10000, "!\n");
	free(got);

	/* 4095 bytes fit the first 4096 with the NUL; the next byte does not. */
	memset(edge, 'a', sizeof(edge) - 1);
	edge[sizeof(edge) - 1] = '\0';
	pw_mb_printf(&b, "%s", edge);
	assert_int_equal(b.len, 4095);
	assert_int_equal(b.cap, 4096);
	pw_mb_printf(&b, "b");
	pw_mb_printf(&b, "%s", "");
	assert_int_equal(b.len, 4096);
	assert_true(b.cap > 4096);
	got = pw_mb_take(&b);
	assert_non_null(got);
	assert_int_equal(strlen(got), 4096);
	assert_memory_equal(got, edge, 4095);
	assert_int_equal(got[4095], 'b');
	free(got);

	/* Exactly 4096 in the first write. */
	memset(big, 'c', 4096);
	big[4096] = '\0';
	pw_mb_printf(&b, "%s", big);
	got = pw_mb_take(&b);
	assert_non_null(got);
	assert_int_equal(strlen(got), 4096);
	free(got);
	free(big);
}

/* After a failure nothing is written and take gives NULL, freeing the text. */
static void test_metrics_failed(void **state)
{
	struct pw_metrics_buf b = {0};

	pw_mb_printf(&b, "podwall_up 1\n");
	b.failed = 1;
	pw_mb_printf(&b, "podwall_more 2\n");
	assert_int_equal(b.len, strlen("podwall_up 1\n"));
	assert_null(pw_mb_take(&b));
	assert_null(b.s);
	assert_int_equal(b.len, 0);
}

/* ---- pw_event_decode, pw_event_name_str ----------------------------------------------- */

struct name_row {
	const char *name;
	const char *raw; /* name_len bytes of the record's name */
	int len;
	const char *want;
};

/* clang-format off */
static const struct name_row name_rows[] = {
	{"a plain name", "secret.exfil.test", 17, "secret.exfil.test"},
	{"the root", "", 0, "."},
	{"underscore and hyphen as they are", "_dmarc.my-host.test", 19, "_dmarc.my-host.test"},
	{"a space, a backslash, control and high bytes as \\DDD",
	 "a b\\c\x01\xff", 7, "a\\032b\\\\c\\001\\255"},
	{"a NUL inside the name", "a\0b", 3, "a\\000b"},
	{"quote and star as they are (JSON escapes the quote)", "\"*", 2, "\"*"},
};
/* clang-format on */

static void test_name_row(void **state)
{
	const struct name_row *r = *state;
	struct pw_event_named n = {0};
	struct pw_event e;
	char got[PW_EVENT_NAME_STRLEN];

	n.ev.ep_id = 9;
	n.ev.reason = PW_R_DNS_NAME;
	n.ev.verdict = PW_VERDICT_DROP;
	n.name_len = (uint8_t)r->len;
	memcpy(n.name, r->raw, (size_t)r->len);
	assert_int_equal(pw_event_decode(&n, sizeof(n), &e, got, sizeof(got)), 1);
	assert_string_equal(got, r->want);
	assert_int_equal(e.ep_id, 9);
	assert_int_equal(e.reason, PW_R_DNS_NAME);
}

static void test_event_decode(void **state)
{
	struct pw_event_named n = {0};
	struct pw_event e, plain = {.ep_id = 3, .reason = PW_R_PORT, .verdict = PW_VERDICT_REJECT};
	char name[PW_EVENT_NAME_STRLEN] = "x", small[8];
	uint8_t big[sizeof(n) + 1] = {0};

	(void)state;
	/* a plain event: by its size */
	assert_int_equal(pw_event_decode(&plain, sizeof(plain), &e, name, sizeof(name)), 0);
	assert_memory_equal(&e, &plain, sizeof(e));
	assert_string_equal(name, "");
	/* sizes of neither kind, a name_len past the name: not ours */
	assert_int_equal(pw_event_decode(&plain, sizeof(plain) - 1, &e, name, sizeof(name)), -1);
	assert_int_equal(pw_event_decode(big, sizeof(big), &e, name, sizeof(name)), -1);
	n.name_len = PW_NAME_TEXT_MAX + 1;
	assert_int_equal(pw_event_decode(&n, sizeof(n), &e, name, sizeof(name)), -1);
	/* the longest name, all bytes escaped, fits the buffer */
	n.name_len = PW_NAME_TEXT_MAX;
	memset(n.name, 0x01, PW_NAME_TEXT_MAX);
	assert_int_equal(pw_event_decode(&n, sizeof(n), &e, name, sizeof(name)), 1);
	assert_int_equal(strlen(name), 4 * PW_NAME_TEXT_MAX);
	/* a short buffer cuts at a whole character */
	assert_int_equal(pw_event_decode(&n, sizeof(n), &e, small, sizeof(small)), 1);
	assert_string_equal(small, "\\001");
}

/* A refused name in JSON: hostname and query; as a lookup record too. */
static void test_named_json(void **state)
{
	struct pw_event e = {.reason = PW_R_DNS_NAME,
			     .verdict = PW_VERDICT_DROP,
			     .family = PW_FAMILY_V4,
			     .proto = 17};
	struct pw_event_ctx c = {
		.wall_ns = T0, .hostname = "a\\032b.test", .query = "a\\032b.test"};
	json_t *o = pw_event_to_json(&e, &c);

	(void)state;
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "hostname")), "a\\032b.test");
	assert_string_equal(json_string_value(json_object_get(o, "query")), "a\\032b.test");
	assert_null(json_object_get(o, "type"));
	json_decref(o);
	c.dns_path = "refused";
	o = pw_event_to_json(&e, &c);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "dns");
	assert_string_equal(json_string_value(json_object_get(o, "path")), "refused");
	assert_int_equal(json_array_size(json_object_get(o, "answers")), 0);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "drop");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),   cmocka_unit_test(test_counter_names),
		cmocka_unit_test(test_proto_names),    cmocka_unit_test(test_time_str),
		cmocka_unit_test(test_metrics_growth), cmocka_unit_test(test_metrics_big_and_edges),
		cmocka_unit_test(test_metrics_failed), cmocka_unit_test(test_event_decode),
		cmocka_unit_test(test_named_json),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("events", tests, NULL, NULL);
	failed += RUN_TABLE("pw_event_to_json", test_event_row, event_rows);
	failed += RUN_TABLE("pw_pod_owner", test_owner_row, owner_rows);
	failed += RUN_TABLE("pw_event_decode names", test_name_row, name_rows);
	return failed ? 1 : 0;
}

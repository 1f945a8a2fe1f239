// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `podwall events` filters (events_filter.c): durations, RFC 3339 times, each
 * filter over real records, refused filter arguments; and the metrics
 * helpers that strict parsers depend on (escaping, histograms, OpenMetrics).
 */
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

#include "events_filter.h"
#include "explain.h"
#include "suggest.h"
#include "metrics_fmt.h"

/* ---- durations ---- */

struct dur_row {
	const char *name, *in;
	int ret;
	uint64_t ns;
};

/* clang-format off */
static const struct dur_row dur_rows[] = {
	{"seconds", "90s", 0, 90000000000ULL},
	{"bare number is seconds", "45", 0, 45000000000ULL},
	{"hours and minutes", "1h30m", 0, 5400000000000ULL},
	{"days hours minutes seconds", "1d2h3m4s", 0, 93784000000000ULL},
	{"milliseconds", "250ms", 0, 250000000ULL},
	{"minutes then milliseconds", "1m5ms", 0, 60005000000ULL},
	{"fraction", "1.5h", 0, 5400000000000ULL},
	{"empty", "", -EINVAL, 0},
	{"unit only", "h", -EINVAL, 0},
	{"unknown unit", "5w", -EINVAL, 0},
	{"number after a part", "1h30", -EINVAL, 0},
	{"negative", "-5m", -EINVAL, 0},
	{"trailing junk", "5m!", -EINVAL, 0},
	{"over a year", "400d", -ERANGE, 0},
};
/* clang-format on */

static void test_dur_row(void **state)
{
	const struct dur_row *r = *state;
	uint64_t ns = 0;

	assert_int_equal(pw_duration_parse(r->in, &ns), r->ret);
	if (!r->ret)
		assert_int_equal(ns, r->ns);
}

static void test_time_parse(void **state)
{
	uint64_t t;

	assert_int_equal(pw_time_parse("2023-11-14T22:13:20.123Z", &t), 0);
	assert_int_equal(t, 1700000000123000000ULL);
	assert_int_equal(pw_time_parse("2023-11-14T22:13:20Z", &t), 0);
	assert_int_equal(t, 1700000000000000000ULL);
	assert_int_equal(pw_time_parse("2023-11-14T22:13:20+01:00", &t), -EINVAL);
	assert_int_equal(pw_time_parse("2023-11-14 22:13:20Z", &t), -EINVAL);
	assert_int_equal(pw_time_parse("2023-11-14T22:13:20.Z", &t), -EINVAL);
}

/* ---- filters over records ---- */

#define NOW 1700000600000000000ULL /* 10 minutes after the records' time */

static const char *const records[] = {
	/* 0: tcp drop to a learned name, 10 min before NOW */
	"{\"id\":\"a-1\",\"time\":\"2023-11-14T22:13:20.123Z\",\"node\":\"n1\",\"namespace\":"
	"\"shop\","
	"\"pod\":\"web-0\",\"verdict\":\"drop\",\"reason\":\"no-rule\",\"proto\":\"tcp\","
	"\"dst\":\"192.0.2.20\",\"dport\":443,\"hostname\":\"api.github.com\"}",
	/* 1: audit, v6, no hostname, 1 min before NOW */
	"{\"id\":\"a-2\",\"time\":\"2023-11-14T22:22:20.000Z\",\"node\":\"n1\",\"namespace\":"
	"\"ci\","
	"\"pod\":\"runner-7\",\"verdict\":\"audit\",\"reason\":\"port\",\"proto\":\"udp\","
	"\"dst\":\"2001:db8::53\",\"dport\":53,\"hostname\":null}",
	/* 2: icmp, no ports */
	"{\"id\":\"a-3\",\"time\":\"2023-11-14T22:22:50.000Z\",\"node\":\"n1\",\"namespace\":"
	"\"shop\","
	"\"pod\":\"worker-1\",\"verdict\":\"drop\",\"reason\":\"no-rule\",\"proto\":\"icmp\","
	"\"dst\":\"203.0.113.9\",\"icmp\":{\"type\":8,\"code\":0},\"hostname\":null}",
	/* 3: an allowed flow (visibility: allowed), 10 min 20 s before NOW */
	"{\"id\":\"a-4\",\"time\":\"2023-11-14T22:13:00.000Z\",\"node\":\"n1\",\"namespace\":"
	"\"ci\",\"pod\":\"runner-8\",\"verdict\":\"allow\",\"reason\":\"allowed\",\"proto\":"
	"\"tcp\","
	"\"dst\":\"198.51.100.7\",\"dport\":8443,\"hostname\":null,"
	"\"owner\":{\"kind\":\"Deployment\",\"name\":\"runner\"}}",
	/* 4: denyAction reject (no time, address or port) */
	"{\"id\":\"a-5\",\"namespace\":\"rj\",\"pod\":\"r-0\",\"verdict\":\"reject\","
	"\"reason\":\"port\",\"proto\":\"tcp\"}",
	/* 5: a name the node refused, the name from the kernel's event */
	"{\"id\":\"a-6\",\"namespace\":\"rj\",\"pod\":\"q-0\",\"verdict\":\"drop\","
	"\"reason\":\"dns-name\",\"proto\":\"udp\",\"hostname\":\"secret.exfil.test\","
	"\"query\":\"secret.exfil.test\"}",
};

struct filt_row {
	const char *name;
	const char *opt[3], *arg[3];
	unsigned want; /* bit i: records[i] matches */
};

/* clang-format off */
static const struct filt_row filt_rows[] = {
	{"no filter", {NULL}, {NULL}, 63},
	{"namespace", {"namespace"}, {"shop"}, 5},
	{"pod prefix in any namespace", {"pod"}, {"w"}, 5},
	{"namespace/prefix", {"pod"}, {"shop/wor"}, 4},
	{"namespace/ only", {"pod"}, {"ci/"}, 10},
	{"prefix is not a substring", {"pod"}, {"eb"}, 0},
	{"verdict audit", {"verdict"}, {"audit"}, 2},
	{"verdict allow: allowed flows", {"verdict"}, {"allow"}, 8},
	{"verdict allowed, the reason's word", {"verdict"}, {"allowed"}, 8},
	{"verdict drop", {"verdict"}, {"drop"}, 37},
	{"verdict reject: the pod was answered", {"verdict"}, {"reject"}, 16},
	{"fqdn: the name a refused query asked for", {"to-fqdn"}, {"*.exfil.test"}, 32},
	{"reason", {"reason"}, {"no-rule"}, 5},
	{"fqdn exact, any case", {"to-fqdn"}, {"API.github.com."}, 1},
	{"fqdn one label", {"to-fqdn"}, {"*.github.com"}, 1},
	{"fqdn one label is not two", {"to-fqdn"}, {"*.com"}, 0},
	{"fqdn any labels", {"to-fqdn"}, {"**.com"}, 1},
	{"ip exact", {"to-ip"}, {"192.0.2.20"}, 1},
	{"cidr v4", {"to-ip"}, {"192.0.2.0/24"}, 1},
	{"cidr v6", {"to-ip"}, {"2001:db8::/32"}, 2},
	{"cidr wide v4", {"to-ip"}, {"0.0.0.0/0"}, 13},
	{"port", {"to-port"}, {"53"}, 2},
	{"port of an allowed flow", {"to-port"}, {"8443"}, 8},
	{"owner by name", {"owner"}, {"runner"}, 8},
	{"owner by kind and name, any case", {"owner"}, {"deployment/runner"}, 8},
	{"owner of another kind", {"owner"}, {"StatefulSet/runner"}, 0},
	{"owner is not a prefix", {"owner"}, {"run"}, 0},
	{"port never matches icmp", {"to-port"}, {"0"}, 0},
	{"since 5m", {"since"}, {"5m"}, 6},
	{"until 5m", {"until"}, {"5m"}, 9},
	{"since 2m until 40s", {"since", "until"}, {"2m", "40s"}, 2},
	{"until is inclusive", {"until"}, {"30s"}, 15},
	{"since an RFC 3339 time", {"since"}, {"2023-11-14T22:22:30Z"}, 4},
	{"all together", {"namespace", "to-ip", "to-port"}, {"shop", "192.0.2.0/24", "443"}, 1},
};
/* clang-format on */

static void test_filt_row(void **state)
{
	const struct filt_row *r = *state;
	struct pw_ev_filter f;
	unsigned got = 0;

	pw_ev_filter_init(&f);
	for (int i = 0; i < 3 && r->opt[i]; i++) {
		const char *why = NULL;

		if (pw_ev_filter_set(&f, r->opt[i], r->arg[i], NOW, &why))
			fail_msg("--%s %s refused: %s", r->opt[i], r->arg[i], why);
	}
	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		json_t *ev = json_loads(records[i], 0, NULL);

		assert_non_null(ev);
		if (pw_ev_filter_match(&f, ev))
			got |= 1u << i;
		json_decref(ev);
	}
	assert_int_equal(got, r->want);
}

struct bad_row {
	const char *name, *opt, *arg;
};

static const struct bad_row bad_rows[] = {
	{"unknown reason", "reason", "nope"},
	{"allowed is not a deny reason", "reason", "allowed"},
	{"verdict", "verdict", "maybe"},
	{"mid-label wildcard", "to-fqdn", "a*.example.com"},
	{"bare star", "to-fqdn", "*"},
	{"cidr host bits", "to-ip", "192.0.2.1/24"},
	{"not an address", "to-ip", "example.com"},
	{"port too big", "to-port", "65536"},
	{"port text", "to-port", "https"},
	{"since junk", "since", "yesterday"},
	{"until in the future", "until", "-1m"},
	{"pod with empty namespace", "pod", "/web"},
	{"unknown filter", "colour", "red"},
	{"owner without a name", "owner", "Deployment/"},
	{"owner without a kind", "owner", "/web"},
};

static void test_bad_row(void **state)
{
	const struct bad_row *r = *state;
	struct pw_ev_filter f;
	const char *why = NULL;

	pw_ev_filter_init(&f);
	assert_int_equal(pw_ev_filter_set(&f, r->opt, r->arg, NOW, &why), -EINVAL);
	assert_non_null(why);
}

static void test_reason_list(void **state)
{
	char buf[512];

	pw_reason_list(buf, sizeof(buf));
	assert_non_null(strstr(buf, "no-rule port spoof"));
	assert_non_null(strstr(buf, "dns-invalid"));
	assert_null(strstr(buf, "allowed"));
}

/* ---- explain --to ---- */

struct to_row {
	const char *name, *in;
	int ret;
	const char *host;
	uint16_t port;
	uint8_t proto;
};

static const struct to_row to_rows[] = {
	{"name", "API.GitHub.com.", 0, "api.github.com", 0, 6},
	{"name and port", "api.github.com:443", 0, "api.github.com", 443, 6},
	{"name, port, udp", "dns.example:53/udp", 0, "dns.example", 53, 17},
	{"sctp", "x.example:9/SCTP", 0, "x.example", 9, 132},
	{"v4 and port", "192.0.2.1:80", 0, "192.0.2.1", 80, 6},
	{"bare v6", "2001:db8::1", 0, "2001:db8::1", 0, 6},
	{"bracketed v6 and port", "[2001:db8::1]:443/tcp", 0, "2001:db8::1", 443, 6},
	{"port 0", "a.example:0", -EINVAL, NULL, 0, 0},
	{"port too big", "a.example:65536", -EINVAL, NULL, 0, 0},
	{"unknown protocol", "a.example:1/icmp", -EINVAL, NULL, 0, 0},
	{"bad name", "a..example", -EINVAL, NULL, 0, 0},
	{"unclosed bracket", "[2001:db8::1:443", -EINVAL, NULL, 0, 0},
};

static void test_to_row(void **state)
{
	const struct to_row *r = *state;
	char host[PW_FQDN_MAX + 1];
	const char *why = NULL;
	uint16_t port;
	uint8_t proto;
	int ret = pw_explain_parse_to(r->in, host, &port, &proto, &why);

	assert_int_equal(ret, r->ret);
	if (ret) {
		assert_non_null(why);
		return;
	}
	assert_string_equal(host, r->host);
	assert_int_equal(port, r->port);
	assert_int_equal(proto, r->proto);
}

/* ---- suggest: grouping and collapsing ---- */

struct sg_row {
	const char *name;
	const char *names[6]; /* "host:port" */
	const char *want;     /* the egress rules' names, sorted, space separated */
};

static const struct sg_row sg_rows[] = {
	{"one name stays a name", {"api.example.com:443"}, "api.example.com"},
	{"two siblings, same ports",
	 {"a.x.example.com:443", "b.x.example.com:443"},
	 "*.x.example.com"},
	{"two siblings, other ports",
	 {"a.x.example.com:443", "b.x.example.com:80"},
	 "a.x.example.com b.x.example.com"},
	{"a deeper name is not one label",
	 {"a.x.e.com:443", "b.x.e.com:443", "c.d.x.e.com:443"},
	 "*.x.e.com c.d.x.e.com"},
	{"two sibling patterns, same ports",
	 {"a.x.e.com:443", "b.x.e.com:443", "a.y.e.com:443", "b.y.e.com:443"},
	 "**.e.com"},
	{"never one label wide", {"a.com:443", "b.com:443"}, "a.com b.com"},
	{"a sibling and a parent's other child",
	 {"a.x.e.com:443", "b.x.e.com:443", "e2.e.com:443"},
	 "*.x.e.com e2.e.com"},
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_sg_row(void **state)
{
	const struct sg_row *r = *state;
	struct pw_suggest sg;
	const char *got[16];
	char buf[512] = "";
	size_t n = 0, i, j;
	json_t *pol, *rule, *f, *labels = json_object();

	pw_suggest_init(&sg);
	for (i = 0; i < 6 && r->names[i]; i++) {
		char host[128];
		const char *colon = strchr(r->names[i], ':');

		snprintf(host, sizeof(host), "%.*s", (int)(colon - r->names[i]), r->names[i]);
		pw_suggest_add(&sg, host, NULL, "tcp", atoi(colon + 1));
	}
	pol = pw_suggest_policy(&sg, "ns", "p", labels, true);
	json_decref(labels);
	assert_non_null(pol);
	json_array_foreach(json_object_get(json_object_get(pol, "spec"), "egress"), i, rule)
		json_array_foreach(json_object_get(rule, "toFQDNs"), j, f) if (n < 16) got[n++] =
			json_string_value(json_object_get(f, "matchName"))
				?: json_string_value(json_object_get(f, "matchPattern"));
	qsort(got, n, sizeof(got[0]), cmp_str);
	for (i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "",
			 got[i]);
	assert_string_equal(buf, r->want);
	json_decref(pol);
	pw_suggest_free(&sg);
}

/* ---- metrics helpers ---- */

static void test_metrics_escape_hist_om(void **state)
{
	static const double bounds[2] = {0.001, 0.01};
	const uint64_t counts[3] = {2, 1, 4};
	struct pw_metrics_buf b = {.openmetrics = 1};
	char esc[64], *s;

	assert_string_equal(pw_mb_escape("a\"b\\c\nd", esc, sizeof(esc)), "a\\\"b\\\\c\\nd");
	pw_mb_help(&b, "x_total", "counter", "A counter.");
	pw_mb_sample(&b, "x_total", "", 3);
	pw_mb_histogram(&b, "h_seconds", "A histogram.", bounds, 2, counts, 0.5);
	s = pw_mb_take(&b);
	assert_non_null(s);
	assert_string_equal(s, "# HELP x A counter.\n# TYPE x counter\nx_total 3\n"
			       "# HELP h_seconds A histogram.\n# TYPE h_seconds histogram\n"
			       "h_seconds_bucket{le=\"0.001\"} 2\nh_seconds_bucket{le=\"0.01\"} 3\n"
			       "h_seconds_bucket{le=\"+Inf\"} 7\nh_seconds_sum 0.5\n"
			       "h_seconds_count 7\n# EOF\n");
	free(s);
	assert_int_equal(pw_hold_bucket(0), 0);
	assert_int_equal(pw_hold_bucket(100000), 0); /* 100 us: the first bound, inclusive */
	assert_int_equal(pw_hold_bucket(100001), 1);
	assert_int_equal(pw_hold_bucket(5000000000ULL), PW_HOLD_BUCKETS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_reason_list),
		cmocka_unit_test(test_metrics_escape_hist_om),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("events_filter", tests, NULL, NULL);
	failed += RUN_TABLE("pw_duration_parse", test_dur_row, dur_rows);
	failed += RUN_TABLE("pw_ev_filter", test_filt_row, filt_rows);
	failed += RUN_TABLE("pw_ev_filter refuses", test_bad_row, bad_rows);
	failed += RUN_TABLE("pw_explain_parse_to", test_to_row, to_rows);
	failed += RUN_TABLE("pw_suggest", test_sg_row, sg_rows);
	return failed ? 1 : 0;
}

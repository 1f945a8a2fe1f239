// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rebinding guard's table and classifier (lib/core/guard.c,
 * include/podwall/guard.h): which answer addresses a hostname rule never learns. */
#include <string.h>

#include "table.h"

#include "guard.h"
#include "ipaddr.h"
#include "k8sguard.h"

struct guard_row {
	const char *name;
	const char *addr;
	uint8_t want; /* enum pw_guard_kind; PW_G_EXEMPT = may be learned */
};

static const struct guard_row rows[] = {
	{"rfc1918 10/8", "10.1.2.3", PW_G_PRIVATE},
	{"rfc1918 172.16/12", "172.31.255.255", PW_G_PRIVATE},
	{"172.32 is public", "172.32.0.1", PW_G_EXEMPT},
	{"rfc1918 192.168/16", "192.168.1.1", PW_G_PRIVATE},
	{"cgnat 100.64/10", "100.127.0.1", PW_G_PRIVATE},
	{"100.128 is public", "100.128.0.1", PW_G_EXEMPT},
	{"pod cidr wins over 10/8", "10.42.7.9", PW_G_POD_CIDR},
	{"service cidr", "10.43.0.10", PW_G_SERVICE},
	{"node address", "198.51.100.1", PW_G_NODE},
	{"next to the node address", "198.51.100.2", PW_G_EXEMPT},
	{"node v6", "2001:db8:1::1", PW_G_NODE},
	{"public v4", "192.0.2.10", PW_G_EXEMPT},
	{"public v6", "2001:db8:100::10", PW_G_EXEMPT},
	{"ula", "fd00:42::1", PW_G_PRIVATE},
	{"ula fc", "fc00::1", PW_G_PRIVATE},
	{"nat64 wkp with a public v4", "64:ff9b::c000:20a", PW_G_PRIVATE},
	{"nat64 local use", "64:ff9b:1::1", PW_G_PRIVATE},
	{"mapped pod", "::ffff:10.42.0.5", PW_G_POD_CIDR},
	{"translated node", "::ffff:0:c633:6401", PW_G_NODE},
	{"compatible rfc1918", "::192.168.0.1", PW_G_PRIVATE},
	{"6to4 of the node", "2002:c633:6401::1", PW_G_NODE},
	{"6to4 of a public v4", "2002:c000:20a::1", PW_G_EXEMPT},
	{"teredo server rfc1918", "2001:0:a00:1::1", PW_G_PRIVATE},
	{"exempted corporate range", "10.200.1.1", PW_G_EXEMPT},
	{"guard wins inside the exemption", "10.200.9.9", PW_G_EXTRA},
};

static void build(struct pw_guard *g)
{
	const char *why;

	assert_int_equal(pw_guard_add_defaults(g), 0);
	assert_int_equal(pw_guard_add_str(g, "10.42.0.0/16", PW_G_POD_CIDR, &why), 0);
	assert_int_equal(pw_guard_add_str(g, "10.43.0.0/16", PW_G_SERVICE, &why), 0);
	assert_int_equal(pw_guard_add_str(g, "198.51.100.1", PW_G_NODE, &why), 0);
	assert_int_equal(pw_guard_add_str(g, "2001:db8:1::1", PW_G_NODE, &why), 0);
	assert_int_equal(pw_guard_add_str(g, "10.200.0.0/16", PW_G_EXEMPT, &why), 0);
	assert_int_equal(pw_guard_add_str(g, "10.200.9.0/24", PW_G_EXTRA, &why), 0);
}

static void test_row(void **state)
{
	const struct guard_row *r = *state;
	struct pw_guard g = {0};
	union pw_ip ip = {0};
	uint8_t family, host, want = PW_G_EXTRA;

	build(&g);
	assert_int_equal(pw_ip_parse(r->addr, &family, &ip), 0);
	assert_int_equal(pw_guard_match(&g, family, &ip), r->want); /* the scan */
	assert_int_equal(pw_guard_index(&g), 0);
	assert_int_equal(pw_guard_match(&g, family, &ip), r->want); /* the index */
	/* an add makes the index stale: the scan again, with the new prefix (the
	 * row's own address as a host; a host entry already there keeps its kind) */
	host = family == PW_FAMILY_V4 ? 32 : 128;
	for (size_t i = 0; i < g.n; i++)
		if (g.v[i].family == family && g.v[i].prefix == host &&
		    !memcmp(&g.v[i].addr, &ip, sizeof(ip)))
			want = g.v[i].kind;
	assert_int_equal(pw_guard_add_from(&g, family, &ip, host, PW_G_EXTRA, "test"), 0);
	assert_int_equal(pw_guard_match(&g, family, &ip), want);
	assert_int_equal(pw_guard_index(&g), 0);
	assert_int_equal(pw_guard_match(&g, family, &ip), want);
	pw_guard_free(&g);
}

static void test_bad_input(void **state)
{
	struct pw_guard g = {0};
	const char *why;

	assert_int_not_equal(pw_guard_add_str(&g, "10.0.0.1/8", PW_G_EXTRA, &why), 0);
	assert_non_null(why);
	assert_int_not_equal(pw_guard_add_str(&g, "nope", PW_G_EXTRA, &why), 0);
	assert_int_not_equal(pw_guard_add_str(&g, "10.0.0.0/33", PW_G_EXTRA, &why), 0);
	assert_int_equal(g.n, 0);
	pw_guard_free(&g);
}

static void test_cluster_domain(void **state)
{
	assert_true(pw_guard_cluster_name("kubernetes.default.svc.cluster.local", "cluster.local"));
	assert_true(pw_guard_cluster_name("cluster.local", "cluster.local"));
	assert_false(pw_guard_cluster_name("evilcluster.local", "cluster.local"));
	assert_false(pw_guard_cluster_name("cluster.local.evil.com", "cluster.local"));
	assert_false(pw_guard_cluster_name("a.cluster.local", ""));
}

/* The kind and source the table holds for s ("10.42.1.0/24"), or -1. */
static int kind_of(const struct pw_guard *g, const char *s, const char **source)
{
	union pw_ip ip = {0};
	uint8_t family, plen;
	const char *why;

	if (strchr(s, '/'))
		assert_int_equal(pw_cidr_parse(s, &family, &ip, &plen, &why), 0);
	else {
		assert_int_equal(pw_ip_parse(s, &family, &ip), 0);
		plen = family == PW_FAMILY_V4 ? 32 : 128;
	}
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].family == family && g->v[i].prefix == plen &&
		    !memcmp(&g->v[i].addr, &ip, sizeof(ip))) {
			*source = g->v[i].source;
			return g->v[i].kind;
		}
	return -1;
}

static void test_k8s_node(void **state)
{
	json_t *node = json_loads(
		"{\"kind\":\"Node\",\"metadata\":{\"name\":\"n2\"},"
		"\"spec\":{\"podCIDR\":\"198.51.100.128/25\","
		"\"podCIDRs\":[\"198.51.100.128/25\",\"2001:db8:77::/64\"]},"
		"\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"203.0.113.77\"},"
		"{\"type\":\"ExternalIP\",\"address\":\"2001:db8:100::77\"},"
		"{\"type\":\"Hostname\",\"address\":\"n2\"},"
		"{\"type\":\"InternalIP\",\"address\":\"not-an-ip\"},"
		"{\"type\":\"InternalIP\",\"address\":7}]}}",
		0, NULL);
	json_t *old_only = json_loads("{\"metadata\":{\"name\":\"n3\"},"
				      "\"spec\":{\"podCIDR\":\"192.0.2.128/26\"}}",
				      0, NULL);
	json_t *changed = json_deep_copy(node);
	struct pw_guard g = {0};
	const char *src = NULL;
	size_t skipped = 0;

	assert_int_equal(pw_guard_add_k8s_node(&g, node, &skipped), 0);
	assert_int_equal(skipped, 2); /* not-an-ip, 7; the Hostname is not an address */
	assert_int_equal(kind_of(&g, "198.51.100.128/25", &src), PW_G_POD_CIDR);
	assert_string_equal(src, "api:node/n2");
	assert_int_equal(kind_of(&g, "2001:db8:77::/64", &src), PW_G_POD_CIDR);
	assert_int_equal(kind_of(&g, "203.0.113.77", &src), PW_G_NODE);
	assert_int_equal(kind_of(&g, "2001:db8:100::77", &src), PW_G_NODE);
	assert_int_equal(g.n, 4);
	/* spec.podCIDR alone (clusters before dual-stack) */
	assert_int_equal(pw_guard_add_k8s_node(&g, old_only, &skipped), 0);
	assert_int_equal(kind_of(&g, "192.0.2.128/26", &src), PW_G_POD_CIDR);
	assert_string_equal(src, "api:node/n3");
	/* what counts as a change */
	assert_true(pw_guard_k8s_same(node, changed));
	json_object_set_new(json_object_get(changed, "metadata"), "resourceVersion",
			    json_string("9"));
	assert_true(pw_guard_k8s_same(node, changed));
	json_object_set_new(json_object_get(changed, "spec"), "podCIDRs", json_array());
	assert_false(pw_guard_k8s_same(node, changed));
	json_decref(node);
	json_decref(old_only);
	json_decref(changed);
	pw_guard_free(&g);
}

static void test_k8s_service(void **state)
{
	json_t *k3s =
		json_loads("{\"metadata\":{\"namespace\":\"default\",\"name\":\"kubernetes\"},"
			   "\"spec\":{\"clusterIP\":\"10.43.0.1\","
			   "\"clusterIPs\":[\"10.43.0.1\",\"2001:cafe:43::1\"]}}",
			   0, NULL);
	json_t *odd =
		json_loads("{\"metadata\":{\"namespace\":\"default\",\"name\":\"kubernetes\"},"
			   "\"spec\":{\"clusterIP\":\"203.0.113.201\"}}",
			   0, NULL);
	json_t *headless = json_loads("{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
				      "\"spec\":{\"clusterIP\":\"None\"}}",
				      0, NULL);
	struct pw_guard g = {0};
	const char *src = NULL;
	size_t skipped = 0;

	assert_int_equal(pw_guard_add_k8s_service(&g, k3s, true, &skipped), 0);
	assert_int_equal(kind_of(&g, "10.43.0.1", &src), PW_G_SERVICE);
	assert_string_equal(src, "api:service/default/kubernetes");
	assert_int_equal(kind_of(&g, "10.43.0.0/16", &src), PW_G_SERVICE);
	assert_string_equal(src, "api:service/default/kubernetes (k3s/RKE2 default range)");
	assert_int_equal(kind_of(&g, "2001:cafe:43::/112", &src), PW_G_SERVICE);
	assert_int_equal(g.n, 4);
	pw_guard_free(&g);
	/* --service-cidr given: the address only */
	assert_int_equal(pw_guard_add_k8s_service(&g, k3s, false, &skipped), 0);
	assert_int_equal(g.n, 2);
	pw_guard_free(&g);
	/* a cluster IP in no known default range: the address only */
	assert_int_equal(pw_guard_add_k8s_service(&g, odd, true, &skipped), 0);
	assert_int_equal(kind_of(&g, "203.0.113.201", &src), PW_G_SERVICE);
	assert_int_equal(g.n, 1);
	assert_int_equal(pw_guard_add_k8s_service(&g, headless, true, &skipped), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(skipped, 0);
	json_decref(k3s);
	json_decref(odd);
	json_decref(headless);
	pw_guard_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k8s_node),
		cmocka_unit_test(test_k8s_service),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_cluster_domain),
	};
	int failed = RUN_TABLE("guard", test_row, rows);

	return failed + cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lib/core/k8sobj: watch events and LIST answers, object keys, Namespaces,
 * Nodes, policy sources and the resolvers of the DNS Service, decoded without
 * an API server. (Pods: tests/unit/test_k8s.c test_pod_info.)
 */
#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include "ipaddr.h"
#include "k8sobj.h"
#include "table.h"

#define J(...) #__VA_ARGS__

/* ---- watch events ---------------------------------------------------------------- */

struct event_row {
	const char *name;
	const char *line;
	int want;
	const char *err_has;
	enum pw_k8s_event_type type;
	bool gone;
	long long code;
};

static const struct event_row event_rows[] = {
	{"added", J({"type" : "ADDED", "object" : {"metadata" : {"name" : "a"}}}), 0, NULL,
	 PW_K8S_EV_ADDED},
	{"modified", J({"type" : "MODIFIED", "object" : {}}), 0, NULL, PW_K8S_EV_MODIFIED},
	{"deleted", J({"type" : "DELETED", "object" : {}}), 0, NULL, PW_K8S_EV_DELETED},
	{"bookmark", J({"type" : "BOOKMARK", "object" : {"metadata" : {"resourceVersion" : "9"}}}),
	 0, NULL, PW_K8S_EV_BOOKMARK},
	{"error 410: gone",
	 J({"type" : "ERROR", "object" : {"code" : 410, "reason" : "Expired", "message" : "old"}}),
	 0, NULL, PW_K8S_EV_ERROR, true, 410},
	{"error, no code, reason Gone", J({"type" : "ERROR", "object" : {"reason" : "Gone"}}), 0,
	 NULL, PW_K8S_EV_ERROR, true, 0},
	{"error 500: not gone", J({"type" : "ERROR", "object" : {"code" : 500}}), 0, NULL,
	 PW_K8S_EV_ERROR, false, 500},
	{"not JSON", "{\"type\":", -EINVAL, "event is not JSON"},
	{"no object", J({"type" : "ADDED"}), -EINVAL, "without type or object"},
	{"object not an object", J({"type" : "ADDED", "object" : []}), -EINVAL,
	 "without type or object"},
	{"type not a string", J({"type" : 1, "object" : {}}), -EINVAL, "without type or object"},
	{"unknown type", J({"type" : "RENAMED", "object" : {}}), -EINVAL,
	 "unknown event type \"RENAMED\""},
	{"duplicate keys refused", J({"type" : "ADDED", "type" : "DELETED", "object" : {}}),
	 -EINVAL, "event is not JSON"},
};

static void test_event(void **state)
{
	const struct event_row *c = *state;
	struct pw_k8s_event ev;
	char why[160] = "";
	int ret = pw_k8s_event_decode(c->line, strlen(c->line), &ev, why, sizeof(why));

	if (ret != c->want)
		fail_msg("%d (%s), want %d", ret, why, c->want);
	if (c->err_has && !strstr(why, c->err_has))
		fail_msg("error \"%s\" lacks \"%s\"", why, c->err_has);
	if (ret) {
		assert_null(ev.doc);
		return;
	}
	assert_int_equal(ev.type, c->type);
	assert_true(json_is_object(ev.object));
	if (c->type == PW_K8S_EV_ERROR) {
		assert_int_equal(ev.gone, c->gone);
		assert_int_equal(ev.code, c->code);
		assert_non_null(ev.reason);
		assert_non_null(ev.message);
	}
	pw_k8s_event_free(&ev);
	assert_null(ev.doc);
}

/* ---- LIST answers ------------------------------------------------------------------ */

struct list_row {
	const char *name;
	const char *json;
	int want;
	size_t n_items;
	const char *cont, *rv;
};

static const struct list_row list_rows[] = {
	{"last page", J({"metadata" : {"resourceVersion" : "12"}, "items" : [ {}, {} ]}), 0, 2,
	 NULL, "12"},
	{"page with continue", J({"metadata" : {"continue" : "c1"}, "items" : [ {} ]}), 0, 1, "c1",
	 NULL},
	{"items null: empty", J({"metadata" : {"resourceVersion" : "3"}, "items" : null}), 0, 0,
	 NULL, "3"},
	{"items absent: empty", J({"metadata" : {}}), 0, 0, NULL, NULL},
	{"no metadata", J({"items" : []}), -EINVAL},
	{"items not a list", J({"metadata" : {}, "items" : {}}), -EINVAL},
	{"not an object", J([]), -EINVAL},
};

static void test_list(void **state)
{
	const struct list_row *c = *state;
	json_t *j = json_loads(c->json, 0, NULL);
	struct pw_k8s_list l;

	assert_non_null(j);
	assert_int_equal(pw_k8s_list_decode(j, &l), c->want);
	if (!c->want) {
		assert_int_equal(json_array_size(l.items), c->n_items);
		if (c->cont)
			assert_string_equal(l.cont, c->cont);
		else
			assert_null(l.cont);
		if (c->rv)
			assert_string_equal(l.resource_version, c->rv);
		else
			assert_null(l.resource_version);
	}
	json_decref(j);
}

/* ---- object keys ----------------------------------------------------------------- */

struct key_row {
	const char *name;
	const char *json;
	bool cluster;
	int want;
	const char *key; /* or the error's text */
};

static const struct key_row key_rows[] = {
	{"namespaced", J({"metadata" : {"namespace" : "ns", "name" : "a"}}), false, 0, "ns/a"},
	{"cluster-scoped", J({"metadata" : {"name" : "a"}}), true, 0, "/a"},
	{"namespaced without namespace", J({"metadata" : {"name" : "a"}}), false, -EINVAL,
	 "metadata.namespace/name"},
	{"empty namespace", J({"metadata" : {"namespace" : "", "name" : "a"}}), false, -EINVAL,
	 "metadata.namespace/name"},
	{"no name", J({"metadata" : {"namespace" : "ns"}}), false, -EINVAL,
	 "metadata.namespace/name"},
	{"name not a string", J({"metadata" : {"name" : 7}}), true, -EINVAL,
	 "metadata.namespace/name"},
	{"no metadata", J({"kind" : "Pod"}), false, -EINVAL, "without metadata"},
	{"a '/' in the name (keys stay unique)",
	 J({"metadata" : {"namespace" : "a", "name" : "b/c"}}), false, -EINVAL, "'/'"},
};

static void test_key(void **state)
{
	const struct key_row *c = *state;
	json_t *j = json_loads(c->json, 0, NULL);
	char key[PW_K8S_KEY_MAX] = "", why[160] = "";

	assert_non_null(j);
	assert_int_equal(pw_k8s_object_key(j, c->cluster, key, sizeof(key), why, sizeof(why)),
			 c->want);
	if (c->want)
		assert_non_null(strstr(why, c->key));
	else
		assert_string_equal(key, c->key);
	json_decref(j);
}

static void test_key_too_long(void **state)
{
	char name[600], key[PW_K8S_KEY_MAX], why[160] = "";
	json_t *j;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	j = json_pack("{s:{s:s,s:s}}", "metadata", "namespace", "ns", "name", name);
	assert_int_equal(pw_k8s_object_key(j, false, key, sizeof(key), why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "too long"));
	json_decref(j);
}

/* ---- Namespaces --------------------------------------------------------------------- */

struct ns_row {
	const char *name;
	const char *json;
	int want;
	const char *err_has;
	const char *team; /* labels["team"] */
};

static const struct ns_row ns_rows[] = {
	{"labels",
	 J({"kind" : "Namespace", "metadata" : {"name" : "a", "labels" : {"team" : "x"}}}), 0, NULL,
	 "x"},
	{"no labels", J({"metadata" : {"name" : "a"}}), 0, NULL, NULL},
	{"labels null", J({"metadata" : {"name" : "a", "labels" : null}}), 0, NULL, NULL},
	{"other kind", J({"kind" : "Pod", "metadata" : {"name" : "a"}}), -EINVAL,
	 "not a Namespace"},
	{"no name", J({"metadata" : {}}), -EINVAL, "metadata.name"},
	{"label not a string", J({"metadata" : {"name" : "a", "labels" : {"team" : 1}}}), -EINVAL,
	 "metadata.labels[\"team\"]"},
	{"labels not a mapping", J({"metadata" : {"name" : "a", "labels" : []}}), -EINVAL,
	 "not a mapping"},
};

static void test_namespace(void **state)
{
	const struct ns_row *c = *state;
	json_t *j = json_loads(c->json, 0, NULL);
	struct pw_k8s_namespace ns = {0};
	char err[256] = "";
	int ret;

	assert_non_null(j);
	ret = pw_k8s_namespace_info(j, &ns, err, sizeof(err));
	if (ret != c->want)
		fail_msg("%d (%s), want %d", ret, err, c->want);
	if (c->err_has && !strstr(err, c->err_has))
		fail_msg("error \"%s\" lacks \"%s\"", err, c->err_has);
	if (!ret) {
		assert_string_equal(ns.name, "a");
		if (c->team)
			assert_string_equal(pw_labels_get(&ns.labels, "team"), c->team);
		else
			assert_int_equal(ns.labels.n, 0);
		pw_k8s_namespace_free(&ns);
	}
	json_decref(j);
}

/* ---- Nodes ------------------------------------------------------------------------- */

struct node_row {
	const char *name;
	const char *json;
	int want;
	const char *err_has;
	const char *cidrs; /* "a b" as pw_ip_str/prefix */
	const char *addrs;
};

static const struct node_row node_rows[] = {
	{"dual stack", J({
		 "kind" : "Node",
		 "metadata" : {"name" : "n1"},
		 "spec" : {
			 "podCIDR" : "10.42.0.0/24",
			 "podCIDRs" : [ "10.42.0.0/24", "fd00:42::/64" ]
		 },
		 "status" : {
			 "addresses" : [
				 {"type" : "InternalIP", "address" : "192.0.2.10"},
				 {"type" : "Hostname", "address" : "n1"},
				 {"type" : "ExternalIP", "address" : "2001:db8::10"},
				 {"type" : "InternalIP", "address" : "192.0.2.10"}
			 ]
		 }
	 }),
	 0, NULL, "10.42.0.0/24 fd00:42::/64", "192.0.2.10 2001:db8::10"},
	{"podCIDR only (old servers)",
	 J({"metadata" : {"name" : "n1"}, "spec" : {"podCIDR" : "10.42.1.0/24"}}), 0, NULL,
	 "10.42.1.0/24", ""},
	{"nothing yet", J({"metadata" : {"name" : "n1"}, "spec" : {}}), 0, NULL, "", ""},
	{"bad CIDR", J({"metadata" : {"name" : "n1"}, "spec" : {"podCIDRs" : ["10.42.0.1/24"]}}),
	 -EINVAL, "spec.podCIDRs[0]"},
	{"CIDR not a string", J({"metadata" : {"name" : "n1"}, "spec" : {"podCIDR" : 5}}), -EINVAL,
	 "spec.podCIDR"},
	{"podCIDRs not a list", J({"metadata" : {"name" : "n1"}, "spec" : {"podCIDRs" : "x"}}),
	 -EINVAL, "not a list"},
	{"bad address", J({
		 "metadata" : {"name" : "n1"},
		 "status" : {"addresses" : [ {"type" : "InternalIP", "address" : "node-1"} ]}
	 }),
	 -EINVAL, "status.addresses[0].address"},
	{"addresses not a list", J({"metadata" : {"name" : "n1"}, "status" : {"addresses" : {}}}),
	 -EINVAL, "status.addresses"},
	{"other kind", J({"kind" : "Pod", "metadata" : {"name" : "n1"}}), -EINVAL, "not a Node"},
	{"no name", J({"kind" : "Node"}), -EINVAL, "metadata.name"},
};

static void join_cidrs(const struct pw_k8s_node *n, char *buf, size_t len)
{
	char ip[PW_IP_STRLEN];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n->n_cidrs; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s/%u", i ? " " : "",
					pw_ip_str(n->cidrs[i].family, &n->cidrs[i].addr, ip),
					n->cidrs[i].prefix);
}

static void join_addrs(const struct pw_k8s_addr *v, size_t n, char *buf, size_t len)
{
	char ip[PW_IP_STRLEN];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "",
					pw_ip_str(v[i].family, &v[i].ip, ip));
}

static void test_node(void **state)
{
	const struct node_row *c = *state;
	json_t *j = json_loads(c->json, 0, NULL);
	struct pw_k8s_node n = {0};
	char err[256] = "", got[512];
	int ret;

	assert_non_null(j);
	ret = pw_k8s_node_info(j, &n, err, sizeof(err));
	if (ret != c->want)
		fail_msg("%d (%s), want %d", ret, err, c->want);
	if (c->err_has && !strstr(err, c->err_has))
		fail_msg("error \"%s\" lacks \"%s\"", err, c->err_has);
	if (!ret) {
		assert_string_equal(n.name, "n1");
		join_cidrs(&n, got, sizeof(got));
		assert_string_equal(got, c->cidrs);
		join_addrs(n.addrs, n.n_addrs, got, sizeof(got));
		assert_string_equal(got, c->addrs);
		pw_k8s_node_free(&n);
	}
	json_decref(j);
}

/* ---- policy sources and resolvers ----------------------------------------------------- */

static void test_policy_source(void **state)
{
	json_t *ns = json_pack("{s:{s:s,s:s}}", "metadata", "namespace", "team-a", "name", "p1");
	json_t *cl = json_pack("{s:{s:s}}", "metadata", "name", "all");
	json_t *none = json_object();
	char buf[600];

	assert_string_equal(pw_k8s_policy_source(ns, false, buf, sizeof(buf)), "k8s:team-a/p1");
	assert_string_equal(pw_k8s_policy_source(cl, true, buf, sizeof(buf)), "k8s:@cluster/all");
	assert_string_equal(pw_k8s_policy_source(none, false, buf, sizeof(buf)), "k8s:?/?");
	json_decref(ns);
	json_decref(cl);
	json_decref(none);
}

static void test_resolvers(void **state)
{
	json_t *svcs = json_loads(
		J({
			"kube-system/kube-dns" : {
				"spec" : {
					"clusterIP" : "10.43.0.10",
					"clusterIPs" : [ "10.43.0.10", "fd00:43::a", "None" ]
				}
			}
		}),
		0, NULL);
	json_t *old = json_loads(J({"a" : {"spec" : {"clusterIP" : "10.43.0.11"}}}), 0, NULL);
	json_t *slices =
		json_loads(J({
				   "kube-system/s4" : {
					   "addressType" : "IPv4",
					   "endpoints" : [
						   {"addresses" : [ "10.42.0.7", "10.43.0.10" ]}, {
							   "addresses" : ["10.42.0.8"],
							   "conditions" : {"terminating" : true}
						   },
						   {"addresses" : [ 5, "x" ]}
					   ]
				   },
				   "kube-system/sf" : {
					   "addressType" : "FQDN",
					   "endpoints" : [ {"addresses" : ["10.42.0.9"]} ]
				   }
			   }),
			   0, NULL);
	struct pw_k8s_addr got[8];
	char buf[512];
	size_t n;

	assert_non_null(svcs);
	assert_non_null(old);
	assert_non_null(slices);
	n = pw_k8s_resolvers_of(svcs, slices, got, 8);
	join_addrs(got, n, buf, sizeof(buf));
	/* sorted (v4 first), the duplicate 10.43.0.10 once, terminating and FQDN left out */
	assert_string_equal(buf, "10.42.0.7 10.43.0.10 fd00:43::a");
	assert_int_equal(pw_k8s_resolvers_of(svcs, slices, NULL, 0), 3);
	n = pw_k8s_resolvers_of(old, NULL, got, 8);
	join_addrs(got, n, buf, sizeof(buf));
	assert_string_equal(buf, "10.43.0.11"); /* clusterIP when clusterIPs is absent */
	assert_int_equal(pw_k8s_resolvers_of(NULL, NULL, got, 8), 0);
	json_decref(svcs);
	json_decref(old);
	json_decref(slices);
}

/* A peer as "ADDR proto/port,..." (port 0: every port). */
static void peer_str(const struct pw_peer *p, char *buf, size_t len)
{
	char ip[PW_IP_STRLEN];
	size_t n = (size_t)snprintf(buf, len, "%s", pw_ip_str(p->family, &p->addr, ip));

	for (size_t i = 0; i < p->n_ports && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u/%u", i ? "," : " ", p->ports[i].proto,
				      p->ports[i].port);
}

/* Services and EndpointSlices: what toServices grants (ClusterIPs on the
 * Service's ports, endpoints on the slice's, or all on the rule's), never a
 * special address, sorted and merged; bad objects refused with the field. */
static void test_service_peers(void **state)
{
	json_t *svc = json_loads(
		J({
			"kind" : "Service",
			"metadata" : {"namespace" : "a", "name" : "gw"},
			"spec" : {
				"clusterIP" : "10.43.0.20",
				"clusterIPs" : [ "10.43.0.20", "fd00:43::20" ],
				"ports" : [ {"port" : 80}, {"port" : 53, "protocol" : "UDP"} ]
			}
		}),
		0, NULL);
	json_t *sl = json_loads(
		J({
			"kind" : "EndpointSlice",
			"metadata" : {
				"namespace" : "a",
				"name" : "gw-x1",
				"labels" : {"kubernetes.io/service-name" : "gw"}
			},
			"addressType" : "IPv4",
			"endpoints" : [
				{"addresses" : ["10.42.0.9"]}, {"addresses" : ["169.254.169.254"]},
				{"addresses" : ["10.43.0.20"]}
			],
			"ports" : [ {"port" : 8080, "protocol" : "TCP"}, {"protocol" : "SCTP"} ]
		}),
		0, NULL);
	json_t *other =
		json_loads(J({
				   "metadata" : {
					   "namespace" : "b",
					   "name" : "gw-y",
					   "labels" : {"kubernetes.io/service-name" : "gw"}
				   },
				   "addressType" : "IPv4",
				   "endpoints" : [ {"addresses" : ["10.42.0.99"]} ]
			   }),
			   0, NULL);
	json_t *bad_svc = json_loads(J({
					     "metadata" : {"namespace" : "a", "name" : "x"},
					     "spec" : {"ports" : [ {"port" : 0} ]}
				     }),
				     0, NULL);
	json_t *bad_sl = json_loads(J({
					    "metadata" : {"namespace" : "a", "name" : "s"},
					    "addressType" : "IPv4",
					    "endpoints" : [ {"addresses" : ["fd00::1"]} ]
				    }),
				    0, NULL);
	struct pw_k8s_service s = {0};
	struct pw_k8s_slice v[2] = {0};
	struct pw_port mine = {.proto = IPPROTO_TCP, .port = 443};
	struct pw_peers out = {0}, again = {0};
	char err[PW_ERR_LEN], buf[128];

	(void)state;
	assert_int_equal(pw_k8s_service_info(svc, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_ips, 2);
	assert_int_equal(s.n_ports, 2);
	assert_int_equal(s.ports[0].proto, IPPROTO_TCP); /* the API's default */
	assert_int_equal(pw_k8s_slice_info(sl, &v[0], err, sizeof(err)), 0);
	assert_string_equal(v[0].service, "gw");
	assert_int_equal(v[0].n_addrs, 3);
	assert_int_equal(v[0].ports[1].port, 0); /* no port: every port of SCTP */
	assert_int_equal(pw_k8s_slice_info(other, &v[1], err, sizeof(err)), 0);

	assert_int_equal(pw_k8s_service_peers(&s, v, 2, NULL, 0, &out), 0);
	assert_int_equal(pw_k8s_peers_add_name(&out, "gw.a.svc.cluster.local"), 0);
	assert_int_equal(pw_k8s_peers_add_name(&out, "gw.a.svc.cluster.local"), 0);
	assert_int_equal(pw_k8s_peers_done(&out), 0);
	/* 169.254.169.254 never; the other namespace's slice not; the ClusterIP
	 * that a slice lists too gets both port sets */
	assert_int_equal(out.n, 3);
	peer_str(&out.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.42.0.9 6/8080,132/0");
	peer_str(&out.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "10.43.0.20 6/80,6/8080,17/53,132/0");
	peer_str(&out.v[2], buf, sizeof(buf));
	assert_string_equal(buf, "fd00:43::20 6/80,17/53");
	assert_int_equal(out.n_names, 1);

	/* the rule's ports instead, on every address */
	assert_int_equal(pw_k8s_service_peers(&s, v, 2, &mine, 1, &again), 0);
	assert_int_equal(pw_k8s_peers_done(&again), 0);
	assert_false(pw_peers_equal(&out, &again));
	peer_str(&again.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "10.43.0.20 6/443");
	pw_peers_free(&again);
	assert_int_equal(pw_k8s_service_peers(&s, v, 2, NULL, 0, &again), 0);
	assert_int_equal(pw_k8s_peers_add_name(&again, "gw.a.svc.cluster.local"), 0);
	assert_int_equal(pw_k8s_peers_done(&again), 0);
	assert_true(pw_peers_equal(&out, &again));
	pw_peers_free(&again);
	assert_int_equal(pw_k8s_service_peers(NULL, v, 2, NULL, 0, &again), 0); /* no Service */
	assert_int_equal(again.n, 0);

	assert_int_equal(pw_k8s_service_info(bad_svc, &s, err, sizeof(err)) == 0, false);
	assert_string_equal(err, "service a/x: spec.ports[0]: not a port (port 1-65535, protocol "
				 "TCP, UDP or SCTP)");
	assert_int_equal(pw_k8s_slice_info(bad_sl, &v[0], err, sizeof(err)) == 0, false);
	assert_string_equal(err,
			    "endpointslice a/s: endpoints[0].addresses[0]: not an IPv4 address");

	pw_peers_free(&out);
	pw_k8s_service_free(&s);
	pw_k8s_slice_free(&v[0]);
	pw_k8s_slice_free(&v[1]);
	json_decref(svc);
	json_decref(sl);
	json_decref(other);
	json_decref(bad_svc);
	json_decref(bad_sl);
}

#define TABLE(group, fn, rows)                                                                     \
	run_table(group, fn, rows, sizeof(rows[0]), sizeof(rows) / sizeof(rows[0]))

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_too_long),
		cmocka_unit_test(test_policy_source),
		cmocka_unit_test(test_resolvers),
		cmocka_unit_test(test_service_peers),
	};
	int failed = 0;

	failed += TABLE("watch events", test_event, event_rows);
	failed += TABLE("list answers", test_list, list_rows);
	failed += TABLE("object keys", test_key, key_rows);
	failed += TABLE("namespaces", test_namespace, ns_rows);
	failed += TABLE("nodes", test_node, node_rows);
	failed += cmocka_run_group_tests(tests, NULL, NULL);
	return failed ? 1 : 0;
}

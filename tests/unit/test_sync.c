// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's map writes, on a recording fake of the typed map interface (no
 * root, no kernel): sync writes new entries, then deletes stale ones, then the
 * endpoint entry; a write that fails leaves the endpoint on its old rules; the
 * DNS hold step learns before it releases, and drops with a reason when the
 * learned entry cannot be written; the reconcile's drift check puts back an
 * entry changed behind the agent's back and removes a stray one, counting
 * each, and leaves correct entries alone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit/dnsmsg.h"
#include "unit/table.h"
#include "unit/fake_maps.h"

#include "agent_int.h"
#include "fqdn.h"
#include "policy.h"

_Static_assert(sizeof(struct pw_flow_key) <= FAKE_KEY_MAX, "fake key size");
_Static_assert(sizeof(struct pw_portset) <= FAKE_VAL_MAX, "fake value size");

#define IFINDEX 7
#define EP_ID	42

static const char *const policy_v1 =
	"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
	"metadata: {name: p, namespace: t}\n"
	"spec:\n  podSelector: {matchLabels: {app: a}}\n  egress:\n"
	"    - toCIDRs: [{cidr: 192.0.2.0/24}]\n      ports: [{port: 443, protocol: TCP}]\n"
	"    - toFQDNs: [{matchName: api.example.com}]\n      ports: [{port: 443, protocol: "
	"TCP}]\n";

/* v1 with the CIDR moved: 192.0.2.0/24 is stale, 198.51.100.0/24 new. */
static const char *const policy_v2 =
	"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
	"metadata: {name: p, namespace: t}\n"
	"spec:\n  podSelector: {matchLabels: {app: a}}\n  egress:\n"
	"    - toCIDRs: [{cidr: 198.51.100.0/24}]\n      ports: [{port: 80, protocol: TCP}]\n"
	"    - toFQDNs: [{matchName: api.example.com}]\n      ports: [{port: 443, protocol: "
	"TCP}]\n";

/* Selects other pods only. */
static const char *const policy_other = "apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
					"metadata: {name: p, namespace: t}\n"
					"spec:\n  podSelector: {matchLabels: {app: b}}\n  egress:\n"
					"    - toCIDRs: [{cidr: 192.0.2.0/24}]\n";

/* A ClusterEgressPolicy selecting namespace t: 203.0.113.0/24 (the answers'
 * address) denied on every port, or only on TCP 22. */
#define CLUSTER_DENY_HEAD                                                                          \
	"---\napiVersion: podwall.io/v1alpha1\nkind: ClusterEgressPolicy\n"                        \
	"metadata: {name: base}\n"                                                                 \
	"spec:\n  namespaceSelector: {}\n  deny:\n    - toCIDRs: [{cidr: 203.0.113.0/24}]\n"
static const char *const deny_all = CLUSTER_DENY_HEAD;
static const char *const deny_ssh = CLUSTER_DENY_HEAD "      ports: [{port: 22}]\n";

/* api.example.com on TCP 22 and 443. */
static const char *const policy_ssh = "apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
				      "metadata: {name: p, namespace: t}\n"
				      "spec:\n  podSelector: {matchLabels: {app: a}}\n  egress:\n"
				      "    - toFQDNs: [{matchName: api.example.com}]\n"
				      "      ports: [{port: 22}, {port: 443}]\n";

struct fixture {
	struct pw_agent a;
	struct fake_maps *f;
	struct pw_ep *ep;
};

/* The policies of yaml, then of more (NULL: none); cluster policies select
 * namespace t. */
static void set_policies(struct fixture *x, const char *yaml, const char *more)
{
	static const char *const ns = "t";
	char err[PW_ERR_LEN] = "", *both;

	pw_policies_free(x->a.policies.pols, x->a.policies.n_pols);
	x->a.policies.pols = NULL;
	x->a.policies.n_pols = 0;
	assert_true(asprintf(&both, "%s%s", yaml, more ? more : "") > 0);
	if (pw_policy_file_parse(both, strlen(both), "test.yaml", &x->a.policies.pols,
				 &x->a.policies.n_pols, err, sizeof(err)))
		fail_msg("policy: %s", err);
	free(both);
	for (size_t i = 0; i < x->a.policies.n_pols; i++)
		if (x->a.policies.pols[i].cluster)
			assert_int_equal(pw_policy_set_namespaces(&x->a.policies.pols[i], &ns, 1),
					 0);
}

static void set_policy(struct fixture *x, const char *yaml)
{
	set_policies(x, yaml, NULL);
}

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->f = fake_maps_new();
	x->a.maps = &x->f->m;
	x->a.o.min_ttl = 5;
	x->a.o.max_ttl = 3600;
	x->a.o.max_addrs_per_name = 16;
	x->a.o.max_learned_per_pod = 4096;
	x->a.o.max_names_per_pod = 1024;
	x->a.portsets.next_id = 1;
	x->ep = pw_ep_new();
	assert_non_null(x->ep);
	x->ep->ifindex = IFINDEX;
	x->ep->ep_id = EP_ID;
	x->ep->namespace = strdup("t");
	x->ep->name = strdup("pod");
	x->ep->flags = PW_EP_HAS_V4;
	inet_pton(AF_INET, DM_POD4, &x->ep->ip4);
	assert_int_equal(pw_labels_set(&x->ep->labels, "app", "a"), 0);
	x->a.eps.head = x->ep;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	pw_ep_free(x->ep);
	pw_policies_free(x->a.policies.pols, x->a.policies.n_pols);
	pw_portsets_free(&x->a.portsets);
	free(x->f);
	free(x);
	return 0;
}

/* Index of the first logged op of kind on map id whose key matches pred, or -1. */
static int op_index(struct fake_maps *f, size_t from, enum fake_op_kind kind, enum pw_map_id id,
		    const char *cidr)
{
	for (size_t i = from; i < f->n_ops; i++) {
		const struct fake_op *o = &f->ops[i];

		if (o->kind != kind || o->id != id)
			continue;
		if (cidr) {
			const struct pw_cidr4_key *k = (const void *)o->key;
			char want[32], got[32];

			inet_ntop(AF_INET, k->addr, got, sizeof(got));
			snprintf(want, sizeof(want), "%s/%u", got, k->prefixlen - 32);
			if (strcmp(want, cidr))
				continue;
		}
		return (int)i;
	}
	return -1;
}

static int last_index(struct fake_maps *f, enum fake_op_kind kind, enum pw_map_id id)
{
	for (size_t i = f->n_ops; i-- > 0;)
		if (f->ops[i].kind == kind && f->ops[i].id == id)
			return (int)i;
	return -1;
}

static const struct pw_endpoint *endpoint_written(struct fake_maps *f, int i)
{
	assert_true(i >= 0);
	assert_int_equal(f->ops[i].id, PW_MAPID_endpoints);
	assert_int_equal(*(const uint32_t *)f->ops[i].key, IFINDEX);
	return (const void *)f->ops[i].val;
}

static void flow_put(struct fake_maps *f, uint32_t ep_id, uint16_t lport, uint64_t last_seen_ns)
{
	struct pw_flow_key k = {.ep_id = ep_id, .family = PW_FAMILY_V4, .proto = 6};
	struct pw_flow_val v = {.last_seen_ns = last_seen_ns, .policy_gen = 1};

	k.lport = htons(lport);
	k.rport = htons(443);
	assert_int_equal(pw_map_put_flows(&f->m, &k, &v, PW_MAP_ANY), 0);
}

/* The walk of pw_flows gives back to each endpoint's share the flows that
 * went (here: one idle one deleted by the walk, seven evicted by the kernel
 * before it), keeps the quota, and drops the shares of endpoints that are gone. */
static void test_gc_flows_gives_back(void **state)
{
	struct fixture *x = *state;
	struct fake_maps *f = x->f;
	uint64_t now = 1000000000000ULL;
	struct pw_ep_flows share = {.added = 10, .gone = 0, .quota = 100}, got;
	uint32_t id = EP_ID, gone_ep = EP_ID + 50;

	x->a.o.flow_idle_tcp = 60;
	x->a.o.flow_idle_other = 60;
	assert_int_equal(pw_map_put_ep_flows(&f->m, &id, &share, PW_MAP_ANY), 0);
	assert_int_equal(pw_map_put_ep_flows(&f->m, &gone_ep, &share, PW_MAP_ANY), 0);
	flow_put(f, EP_ID, 40000, now - 1000000000ULL);
	flow_put(f, EP_ID, 40001, now - 2000000000ULL);
	flow_put(f, EP_ID, 40002, now - 120000000000ULL); /* idle 120 s */
	pw_sync_gc(&x->a, now, true);
	assert_int_equal(fake_count(f, PW_MAPID_flows), 2);
	assert_int_equal(fake_lookup(&f->m, PW_MAPID_ep_flows, &id, &got), 0);
	assert_int_equal(got.added, 10);
	assert_int_equal(got.gone, 8); /* 10 recorded, 2 live */
	assert_int_equal(got.quota, 100);
	assert_int_equal(fake_lookup(&f->m, PW_MAPID_ep_flows, &gone_ep, &got), -ENOENT);
}

static void test_first_sync(void **state)
{
	struct fixture *x = *state;
	struct fake_maps *f = x->f;
	int ports, cidr, ep;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	ports = op_index(f, 0, FAKE_PUT, PW_MAPID_ports, NULL);
	cidr = op_index(f, 0, FAKE_PUT, PW_MAPID_cidr4, "192.0.2.0/24");
	ep = last_index(f, FAKE_PUT, PW_MAPID_endpoints);
	/* the port set before the rule that names it, the rule before the endpoint */
	assert_true(ports >= 0 && cidr > ports && ep > cidr);
	/* and the endpoint entry is the last write of all */
	assert_int_equal(ep, (int)f->n_ops - 1);
	assert_int_equal(endpoint_written(f, ep)->mode, PW_MODE_ENFORCE);
	assert_int_equal(endpoint_written(f, ep)->ep_id, EP_ID);
	assert_int_equal(endpoint_written(f, ep)->policy_gen, 1);
	assert_true(x->ep->managed);
	assert_int_equal(fake_count(f, PW_MAPID_cidr4), 1);
}

/* The name table carries what the kernel learner needs: each toFQDNs
 * pattern's port set (the union over its rules, the id learned entries use),
 * PW_NAME_F_PRIVATE only when every rule of the pattern has allowPrivate;
 * resolve-only names no port set. A pod with cluster deny ranges is held only. */
static void name_val(struct fixture *x, uint8_t kind, const char *text, struct pw_name_val *v)
{
	struct pw_name_key k = {.ep_id = EP_ID, .kind = kind, .hash = pw_fqdn_hash(text)};

	assert_int_equal(fake_lookup(&x->f->m, PW_MAPID_names, &k, v), 0);
}

static void test_names_portsets(void **state)
{
	static const char *const yaml =
		"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: p, namespace: t}\n"
		"spec:\n  podSelector: {matchLabels: {app: a}}\n"
		"  dns:\n    resolveNames: [{matchName: resolve.example.com}]\n  egress:\n"
		"    - toFQDNs: [{matchName: api.example.com}, {matchPattern: \"*.mixed.test\"}]\n"
		"      ports: [{port: 443, protocol: TCP}]\n"
		"    - toFQDNs: [{matchName: api.example.com}]\n"
		"      ports: [{port: 8443, protocol: TCP}]\n"
		"    - toFQDNs: [{matchName: db.example.com}, {matchPattern: \"*.mixed.test\"}]\n"
		"      allowPrivate: true\n      ports: [{port: 5432, protocol: TCP}]\n";
	static const char *const deny =
		"apiVersion: podwall.io/v1alpha1\nkind: ClusterEgressPolicy\n"
		"metadata: {name: base}\n"
		"spec:\n  namespaceSelector: {}\n  deny:\n    - toCIDRs: [{cidr: 10.0.0.0/8}]\n";
	struct fixture *x = *state;
	struct pw_range_set want = {0};
	struct pw_name_val v;
	struct pw_ep_dns ed;
	uint32_t id, ep = EP_ID;
	char err[PW_ERR_LEN] = "";
	struct pw_policy *more = NULL;
	size_t n_more = 0;

	set_policy(x, yaml);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	name_val(x, PW_NK_EXACT, "api.example.com", &v);
	assert_int_equal(v.flags, PW_NAME_F_CONNECT);
	assert_int_equal(pw_rangeset_add(&want, IPPROTO_TCP, 443, 443), 0);
	assert_int_equal(pw_rangeset_add(&want, IPPROTO_TCP, 8443, 8443), 0);
	assert_int_equal(pw_portsets_id(&x->a.portsets, x->a.maps, &want, &id), 0);
	assert_int_equal(v.portset, id);
	name_val(x, PW_NK_EXACT, "db.example.com", &v);
	assert_int_equal(v.flags, PW_NAME_F_CONNECT | PW_NAME_F_PRIVATE);
	memset(&want, 0, sizeof(want));
	assert_int_equal(pw_rangeset_add(&want, IPPROTO_TCP, 5432, 5432), 0);
	assert_int_equal(pw_portsets_id(&x->a.portsets, x->a.maps, &want, &id), 0);
	assert_int_equal(v.portset, id);
	/* one rule with allowPrivate, one without: not PRIVATE (the agent decides) */
	name_val(x, PW_NK_ONE, "mixed.test", &v);
	assert_int_equal(v.flags, PW_NAME_F_CONNECT);
	assert_int_equal(pw_rangeset_add(&want, IPPROTO_TCP, 443, 443), 0);
	assert_int_equal(pw_portsets_id(&x->a.portsets, x->a.maps, &want, &id), 0);
	assert_int_equal(v.portset, id);
	name_val(x, PW_NK_EXACT, "resolve.example.com", &v);
	assert_int_equal(v.flags, PW_NAME_F_RESOLVE);
	assert_int_equal(v.portset, 0);
	assert_int_equal(fake_lookup(&x->f->m, PW_MAPID_ep_dns, &ep, &ed), 0);
	assert_false(ed.flags & PW_EPDNS_HOLD_ONLY);
	/* the port sets the names point to survive the port set GC */
	pw_sync_gc(&x->a, 1000000000000ULL, true);
	name_val(x, PW_NK_EXACT, "db.example.com", &v);
	assert_int_equal(fake_lookup(&x->f->m, PW_MAPID_ports, &v.portset, &(struct pw_portset){0}),
			 0);

	/* a ClusterEgressPolicy with deny ranges: every answer held */
	assert_int_equal(pw_policy_file_parse(deny, strlen(deny), "d.yaml", &more, &n_more, err,
					      sizeof(err)),
			 0);
	{
		const char *const ns[] = {"t"};

		assert_int_equal(pw_policy_set_namespaces(&more[0], ns, 1), 0);
	}
	x->a.policies.pols =
		realloc(x->a.policies.pols, (x->a.policies.n_pols + n_more) * sizeof(*more));
	assert_non_null(x->a.policies.pols);
	memcpy(x->a.policies.pols + x->a.policies.n_pols, more, n_more * sizeof(*more));
	x->a.policies.n_pols += n_more;
	free(more);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	assert_int_equal(fake_lookup(&x->f->m, PW_MAPID_ep_dns, &ep, &ed), 0);
	assert_true(ed.flags & PW_EPDNS_HOLD_ONLY);
}

static void test_change_new_then_stale_then_endpoint(void **state)
{
	struct fixture *x = *state;
	struct fake_maps *f = x->f;
	size_t from;
	int add, del, ep;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	from = f->n_ops;
	set_policy(x, policy_v2);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	add = op_index(f, from, FAKE_PUT, PW_MAPID_cidr4, "198.51.100.0/24");
	del = op_index(f, from, FAKE_DEL, PW_MAPID_cidr4, "192.0.2.0/24");
	ep = last_index(f, FAKE_PUT, PW_MAPID_endpoints);
	if (add < 0 || del < 0 || ep < 0)
		fail_msg("missing write: add %d, stale delete %d, endpoint %d", add, del, ep);
	if (!(add < del && del < ep))
		fail_msg("order: add %d, stale delete %d, endpoint %d (want add < delete < "
			 "endpoint)",
			 add, del, ep);
	assert_int_equal(ep, (int)f->n_ops - 1);
	/* the generation bump sends established flows back through the new rules */
	assert_int_equal(endpoint_written(f, ep)->policy_gen, 2);
	assert_int_equal(fake_count(f, PW_MAPID_cidr4), 1);
	assert_int_equal(fake_count(f, PW_MAPID_endpoints), 1);
}

static void test_failed_write_keeps_old_rules(void **state)
{
	struct fixture *x = *state;
	struct fake_maps *f = x->f;
	size_t from;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	from = f->n_ops;
	set_policy(x, policy_v2);
	f->fail_id = PW_MAPID_cidr4; /* the LPM trie is full */
	f->fail_err = -ENOSPC;
	assert_int_equal(pw_sync_ep(&x->a, x->ep), -ENOSPC);
	/* neither a stale delete nor an endpoint write: the old rules stay whole */
	assert_int_equal(op_index(f, from, FAKE_DEL, PW_MAPID_cidr4, NULL), -1);
	assert_int_equal(op_index(f, from, FAKE_PUT, PW_MAPID_endpoints, NULL), -1);
	assert_int_equal(fake_count(f, PW_MAPID_cidr4), 1);
	assert_int_equal(x->ep->policy_gen, 1);
	assert_non_null(x->ep->compile_error);
	/* once the map has room, the next sync applies v2 */
	f->fail_id = -1;
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	assert_true(op_index(f, from, FAKE_DEL, PW_MAPID_cidr4, "192.0.2.0/24") >= 0);
	assert_null(x->ep->compile_error);
}

static void test_unselected_opens_then_removes_rules(void **state)
{
	struct fixture *x = *state;
	struct fake_maps *f = x->f;
	size_t from;
	int ep, del;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	from = f->n_ops;
	set_policy(x, policy_other);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	ep = op_index(f, from, FAKE_PUT, PW_MAPID_endpoints, NULL);
	del = op_index(f, from, FAKE_DEL, PW_MAPID_cidr4, "192.0.2.0/24");
	/* open (allow-all, sources still checked) before the rules go */
	assert_true(ep >= 0 && del > ep);
	assert_int_equal(endpoint_written(f, ep)->mode, PW_MODE_OPEN);
	assert_false(x->ep->managed);
	assert_int_equal(fake_count(f, PW_MAPID_cidr4), 0);
}

static void test_remove_endpoint_first(void **state)
{
	struct fixture *x = *state;
	struct fake_maps *f = x->f;
	size_t from;
	int ep, del;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	from = f->n_ops;
	assert_int_equal(pw_sync_remove_ep(&x->a, x->ep), 0);
	ep = op_index(f, from, FAKE_DEL, PW_MAPID_endpoints, NULL);
	del = op_index(f, from, FAKE_DEL, PW_MAPID_cidr4, "192.0.2.0/24");
	/* unmanaged before its rules go */
	assert_true(ep >= 0 && del > ep);
	assert_int_equal(fake_count(f, PW_MAPID_endpoints), 0);
	assert_int_equal(fake_count(f, PW_MAPID_cidr4), 0);
}

/* ---- the DNS hold step ---- */

struct hold_rec {
	struct fake_maps *f;
	int released, dropped, reason;
	char why[128];
	uint8_t frame[2048]; /* the last frame released */
	size_t len;
};

static int rec_release(void *ctx, const struct pw_dns_meta *m, const uint8_t *frame, size_t len)
{
	struct hold_rec *r = ctx;

	fake_log(r->f, FAKE_RELEASE, PW_MAPID_endpoints, &m->ifindex, NULL);
	r->released++;
	r->len = len < sizeof(r->frame) ? len : sizeof(r->frame);
	memcpy(r->frame, frame, r->len);
	return 0;
}

static void rec_drop(void *ctx, const struct pw_ep *ep, uint8_t reason, const struct pw_dns_meta *m,
		     const char *qname, const char *why)
{
	struct hold_rec *r = ctx;

	fake_log(r->f, FAKE_DROP, PW_MAPID_endpoints, &m->ifindex, NULL)->reason = reason;
	r->dropped++;
	r->reason = reason;
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

/* A held answer as pod_ingress hands it over: meta, then the frame. */
static size_t held_sample(uint8_t *out, size_t cap, const char *qname, uint16_t query_id,
			  uint16_t answer_id)
{
	struct pw_dns_meta meta;
	struct dm_buf msg;
	uint8_t addr[4];
	size_t flen;

	inet_pton(AF_INET, "203.0.113.10", addr);
	dm_header(&msg, answer_id, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(&msg, qname, LDNS_RR_TYPE_A);
	dm_rr(&msg, qname, LDNS_RR_TYPE_A, 60, addr, 4);
	dm_meta(&meta, PW_FAMILY_V4, query_id);
	meta.ifindex = IFINDEX;
	meta.ep_id = EP_ID;
	flen = dm_frame(out + sizeof(meta), cap - sizeof(meta), PW_FAMILY_V4, DM_RESOLVER4, DM_POD4,
			53, DM_POD_PORT, msg.b, msg.n, 0);
	assert_true(flen > 0);
	meta.pkt_len = (uint32_t)flen;
	memcpy(out, &meta, sizeof(meta));
	return sizeof(meta) + flen;
}

/* The same answer over TCP: one segment, the message after its length. */
static size_t held_sample_tcp(uint8_t *out, size_t cap, const char *qname, uint16_t id,
			      int prefix_adj)
{
	struct pw_dns_meta meta;
	struct dm_buf msg;
	uint8_t addr[4];
	size_t flen;

	inet_pton(AF_INET, "203.0.113.10", addr);
	dm_header(&msg, id, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(&msg, qname, LDNS_RR_TYPE_A);
	dm_rr(&msg, qname, LDNS_RR_TYPE_A, 60, addr, 4);
	dm_meta(&meta, PW_FAMILY_V4, id);
	meta.proto = 6;
	meta.ifindex = IFINDEX;
	meta.ep_id = EP_ID;
	flen = dm_frame_tcp(out + sizeof(meta), cap - sizeof(meta), PW_FAMILY_V4, DM_RESOLVER4,
			    DM_POD4, 53, DM_POD_PORT, msg.b, msg.n, prefix_adj, 0xdead);
	assert_true(flen > 0);
	meta.pkt_len = (uint32_t)flen;
	memcpy(out, &meta, sizeof(meta));
	return sizeof(meta) + flen;
}

static int learned_put_index(struct fake_maps *f, size_t from, const char *addr)
{
	for (size_t i = from; i < f->n_ops; i++) {
		const struct pw_learned_key *k = (const void *)f->ops[i].key;
		char got[32];

		if (f->ops[i].kind != FAKE_PUT || f->ops[i].id != PW_MAPID_learned)
			continue;
		inet_ntop(AF_INET, &k->addr.v4, got, sizeof(got));
		if (k->ep_id == EP_ID && k->family == PW_FAMILY_V4 && !strcmp(got, addr))
			return (int)i;
	}
	return -1;
}

static void test_hold_learns_then_releases(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	const struct pw_hold_io io = {.release = rec_release, .drop = rec_drop, .ctx = &r};
	static uint8_t sample[PW_DNS_CAP_MAX + 256];
	size_t from, len;
	int put, rel;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	from = x->f->n_ops;
	len = held_sample(sample, sizeof(sample), "api.example.com", 0x1234, 0x1234);
	{
		struct pw_dns_meta m;

		memcpy(&m, sample, sizeof(m));
		m.ts_ns = pw_now_ns(); /* the kernel's copy, just now */
		memcpy(sample, &m, sizeof(m));
	}
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.dropped, 0);
	assert_int_equal(r.released, 1);
	/* the hold time, by stage (status: agent.dns_hold_ns): they add up to
	 * the whole, which is this call's, not the clock's since boot */
	{
		const uint64_t *st = x->a.st.dns_hold_stage_ns;

		assert_int_equal(st[0] + st[1] + st[2] + st[3], x->a.st.dns_hold_sum_ns);
		assert_true(x->a.st.dns_hold_sum_ns > 0);
		assert_true(x->a.st.dns_hold_sum_ns < 10000000000ULL);
	}
	put = learned_put_index(x->f, from, "203.0.113.10");
	rel = op_index(x->f, from, FAKE_RELEASE, PW_MAPID_endpoints, NULL);
	/* the allow entry exists before the pod sees the answer */
	if (put < 0 || rel < 0 || put > rel)
		fail_msg("learned write at %d, release at %d: want write first", put, rel);
	assert_int_equal(x->a.st.dns_learned, 1);
	assert_int_equal(x->a.st.dns_released, 1);
}

/* A TCP answer (after a truncated UDP one): learned before its release, and
 * released with a right TCP checksum; one not framed as one message is not. */
static void test_hold_tcp_learns_then_releases(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	const struct pw_hold_io io = {.release = rec_release, .drop = rec_drop, .ctx = &r};
	static uint8_t sample[PW_DNS_CAP_MAX + 256];
	size_t from, len;
	int put, rel;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	from = x->f->n_ops;
	len = held_sample_tcp(sample, sizeof(sample), "api.example.com", 0x1234, 0);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.dropped, 0);
	assert_int_equal(r.released, 1);
	put = learned_put_index(x->f, from, "203.0.113.10");
	rel = op_index(x->f, from, FAKE_RELEASE, PW_MAPID_endpoints, NULL);
	if (put < 0 || rel < 0 || put > rel)
		fail_msg("learned write at %d, release at %d: want write first", put, rel);
	assert_int_equal(r.len, len - sizeof(struct pw_dns_meta));
	assert_int_equal(dm_tcp_verify(r.frame, 34), 0xffff);

	/* the length prefix promises more than the segment holds */
	len = held_sample_tcp(sample, sizeof(sample), "api.example.com", 0x1234, 1);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 1);
	assert_int_equal(r.dropped, 1);
	assert_int_equal(r.reason, PW_R_DNS_INVALID);
	assert_non_null(strstr(r.why, "one whole DNS message"));
}

static void test_hold_write_fails_drops(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	const struct pw_hold_io io = {.release = rec_release, .drop = rec_drop, .ctx = &r};
	static uint8_t sample[PW_DNS_CAP_MAX + 256];
	size_t len;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	x->f->fail_id = PW_MAPID_learned; /* pw_learned is full */
	x->f->fail_err = -ENOSPC;
	len = held_sample(sample, sizeof(sample), "api.example.com", 0x1234, 0x1234);
	pw_dnshold_step(&x->a, sample, len, &io);
	/* never a release into a state that denies: dropped, with the reason */
	assert_int_equal(r.released, 0);
	assert_int_equal(r.dropped, 1);
	assert_int_equal(r.reason, PW_R_DNS_LEARN);
	assert_non_null(strstr(r.why, "pw_learned"));
	assert_int_equal(x->a.st.dns_dropped_learn, 1);
	assert_int_equal(x->a.st.dns_released, 0);
}

static void test_hold_mismatched_id_drops(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	const struct pw_hold_io io = {.release = rec_release, .drop = rec_drop, .ctx = &r};
	static uint8_t sample[PW_DNS_CAP_MAX + 256];
	size_t from, len;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	from = x->f->n_ops;
	/* an answer whose id is not the recorded query's */
	len = held_sample(sample, sizeof(sample), "api.example.com", 0x1234, 0x4321);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 0);
	assert_int_equal(r.dropped, 1);
	assert_int_equal(r.reason, PW_R_DNS_INVALID);
	assert_int_equal(learned_put_index(x->f, from, "203.0.113.10"), -1);
	assert_int_equal(x->a.st.dns_dropped_invalid, 1);
}

static void test_hold_unallowed_name_released_unlearned(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	const struct pw_hold_io io = {.release = rec_release, .drop = rec_drop, .ctx = &r};
	static uint8_t sample[PW_DNS_CAP_MAX + 256];
	size_t from, len;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	from = x->f->n_ops;
	len = held_sample(sample, sizeof(sample), "other.example.com", 7, 7);
	pw_dnshold_step(&x->a, sample, len, &io);
	/* released, and nothing learned: connections to it are denied like any other */
	assert_int_equal(r.released, 1);
	assert_int_equal(r.dropped, 0);
	assert_int_equal(learned_put_index(x->f, from, "203.0.113.10"), -1);
	assert_int_equal(x->a.st.dns_not_allowed, 1);
}

/* ---- the learner's half of a ClusterEgressPolicy deny ---- */

static struct pw_learned_key answer_key(void)
{
	struct pw_learned_key k = {.ep_id = EP_ID, .family = PW_FAMILY_V4};

	inet_pton(AF_INET, "203.0.113.10", &k.addr.v4);
	return k;
}

/* The ports of the learned entry for the answer's address (it must exist). */
static struct pw_portset learned_ports(struct fixture *x)
{
	struct pw_learned_key k = answer_key();
	struct pw_learned_val v;
	struct pw_portset ps;

	assert_int_equal(fake_lookup(&x->f->m, PW_MAPID_learned, &k, &v), 0);
	assert_int_equal(fake_lookup(&x->f->m, PW_MAPID_ports, &v.portset, &ps), 0);
	return ps;
}

static void hold_answer(struct fixture *x, struct hold_rec *r)
{
	const struct pw_hold_io io = {.release = rec_release, .drop = rec_drop, .ctx = r};
	static uint8_t sample[PW_DNS_CAP_MAX + 256];
	size_t len = held_sample(sample, sizeof(sample), "api.example.com", 0x1234, 0x1234);

	pw_dnshold_step(&x->a, sample, len, &io);
}

/* The same answer again, or the same entry synced again: the entry already
 * says what the agent would write, so it is not written again (the held
 * path's cost of a repeat lookup). One deleted behind the agent's back is. */
static void test_hold_same_answer_no_rewrite(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	const struct pw_hold_io io = {.release = rec_release, .drop = rec_drop, .ctx = &r};
	static uint8_t sample[PW_DNS_CAP_MAX + 256];
	struct pw_learned_key k;
	struct pw_learned_val first, now;
	size_t from, len;
	int put, rel;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	len = held_sample(sample, sizeof(sample), "api.example.com", 0x1234, 0x1234);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 1);
	k = answer_key();
	assert_int_equal(fake_lookup(&x->f->m, PW_MAPID_learned, &k, &first), 0);

	/* the agent's state unchanged: a sync of the address reads, never writes */
	from = x->f->n_ops;
	assert_int_equal(pw_sync_learned_addr(&x->a, x->ep, PW_FAMILY_V4, &k.addr), 0);
	assert_int_equal(learned_put_index(x->f, from, "203.0.113.10"), -1);

	/* the answer again: written only if its expiry moved (a second boundary
	 * crossed between the two), and released either way */
	from = x->f->n_ops;
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 2);
	assert_int_equal(r.dropped, 0);
	assert_int_equal(fake_lookup(&x->f->m, PW_MAPID_learned, &k, &now), 0);
	if (now.expires_ns == first.expires_ns)
		assert_int_equal(learned_put_index(x->f, from, "203.0.113.10"), -1);
	else
		assert_true(learned_put_index(x->f, from, "203.0.113.10") >= 0);

	/* deleted behind the agent: the next answer writes it before its release */
	assert_int_equal(fake_remove(&x->f->m, PW_MAPID_learned, &k), 0);
	from = x->f->n_ops;
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 3);
	put = learned_put_index(x->f, from, "203.0.113.10");
	rel = op_index(x->f, from, FAKE_RELEASE, PW_MAPID_endpoints, NULL);
	if (put < 0 || rel < 0 || put > rel)
		fail_msg("learned write at %d, release at %d: want write first", put, rel);
	assert_int_equal(fake_lookup(&x->f->m, PW_MAPID_learned, &k, &now), 0);
}

/* An answer into a deny range: released (names resolve), never learned, in
 * the agent's state neither; the address is only seen. */
static void test_hold_deny_range_not_learned(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	struct pw_learned_key k = answer_key();
	struct pw_learned_name *n;
	size_t from;

	set_policies(x, policy_v1, deny_all);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	from = x->f->n_ops;
	hold_answer(x, &r);
	assert_int_equal(r.released, 1);
	assert_int_equal(r.dropped, 0);
	assert_int_equal(learned_put_index(x->f, from, "203.0.113.10"), -1);
	assert_null(fake_find(x->f, PW_MAPID_learned, &k));
	assert_int_equal(x->a.st.dns_learned, 0);
	assert_int_equal(x->a.st.dns_private, 1);
	n = pw_ep_find_name(x->ep, "api.example.com");
	assert_true(!n || !n->n_addrs);
}

/* Learned before the deny came: the policy change deletes the entry. */
static void test_deny_deletes_learned(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	struct pw_learned_key k = answer_key();
	size_t from;

	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	hold_answer(x, &r);
	assert_non_null(fake_find(x->f, PW_MAPID_learned, &k));
	from = x->f->n_ops;
	set_policies(x, policy_v1, deny_all);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	assert_null(fake_find(x->f, PW_MAPID_learned, &k));
	assert_true(op_index(x->f, from, FAKE_DEL, PW_MAPID_learned, NULL) >= 0);
	/* and the deny gone, the name's address is granted again */
	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	assert_non_null(fake_find(x->f, PW_MAPID_learned, &k));
}

/* A per-port deny: the address is learned with the other ports only, and an
 * entry learned before loses the denied port on the policy change. */
static void test_deny_ports_learned(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	struct pw_portset ps;

	set_policies(x, policy_ssh, deny_ssh);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	hold_answer(x, &r);
	assert_int_equal(r.released, 1);
	assert_int_equal(x->a.st.dns_learned, 1);
	ps = learned_ports(x);
	assert_int_equal(ps.count, 1);
	assert_int_equal(ps.r[0].proto, IPPROTO_TCP);
	assert_int_equal(ps.r[0].lo, 443);
	assert_int_equal(ps.r[0].hi, 443);

	set_policy(x, policy_ssh); /* no deny: both ports */
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	ps = learned_ports(x);
	assert_int_equal(ps.count, 2);
	assert_int_equal(ps.r[0].lo, 22);
	assert_int_equal(ps.r[1].lo, 443);

	set_policies(x, policy_ssh, deny_ssh); /* the deny back: 22 goes again */
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	ps = learned_ports(x);
	assert_int_equal(ps.count, 1);
	assert_int_equal(ps.r[0].lo, 443);
}

/* ---- many names on one address (a CDN's) ---- */

/* Two rules for one pattern (one with allowPrivate), a name of its own, and
 * an in-cluster name: every one of them resolves to 203.0.113.10 below. */
static const char *const policy_cdn =
	"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
	"metadata: {name: p, namespace: t}\n"
	"spec:\n  podSelector: {matchLabels: {app: a}}\n  egress:\n"
	"    - toFQDNs: [{matchPattern: \"*.cdn.example\"}]\n"
	"      ports: [{port: 443, protocol: TCP}]\n"
	"    - toFQDNs: [{matchPattern: \"*.cdn.example\"}]\n      allowPrivate: true\n"
	"      ports: [{port: 8443, protocol: TCP}]\n"
	"    - toFQDNs: [{matchName: api.other.example}]\n"
	"      ports: [{port: 80, protocol: TCP}]\n"
	"    - toFQDNs: [{matchName: db.t.svc.cluster.local}]\n"
	"      ports: [{port: 5432, protocol: TCP}]\n";

static void hold_name(struct fixture *x, struct hold_rec *r, const char *qname, uint16_t id)
{
	const struct pw_hold_io io = {.release = rec_release, .drop = rec_drop, .ctx = r};
	static uint8_t sample[PW_DNS_CAP_MAX + 256];
	size_t len = held_sample(sample, sizeof(sample), qname, id, id);

	pw_dnshold_step(&x->a, sample, len, &io);
}

static void assert_ports(const struct pw_portset *ps, const uint16_t *want, uint32_t n)
{
	assert_int_equal(ps->count, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(ps->r[i].proto, IPPROTO_TCP);
		assert_int_equal(ps->r[i].lo, want[i]);
		assert_int_equal(ps->r[i].hi, want[i]);
	}
}

/* The entry of an address many names resolved to: the union of the ports of
 * every name's rules, each name counted (the first ones' ports do not stand
 * for a later name's). */
static void test_many_names_one_address(void **state)
{
	static const uint16_t cdn[] = {443, 8443}, all[] = {80, 443, 5432, 8443};
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	char name[64];

	x->a.o.cluster_domain = "cluster.local";
	set_policy(x, policy_cdn);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	for (int i = 1; i <= 40; i++) {
		snprintf(name, sizeof(name), "n%d.cdn.example", i);
		hold_name(x, &r, name, (uint16_t)i);
	}
	assert_int_equal(r.released, 40);
	assert_int_equal(x->a.st.dns_learned, 40);
	{
		struct pw_portset ps = learned_ports(x);

		assert_ports(&ps, cdn, 2);
	}
	hold_name(x, &r, "api.other.example", 41);
	hold_name(x, &r, "db.t.svc.cluster.local", 42);
	hold_name(x, &r, "n7.cdn.example", 43); /* again: nothing new */
	assert_int_equal(r.released, 43);
	{
		struct pw_portset ps = learned_ports(x);

		assert_ports(&ps, all, 4);
	}
}

/* The same address behind the rebinding guard: a name counts only its rules
 * with allowPrivate, a name the guard refuses (api.other.example) nothing,
 * and an in-cluster name (exempt) all its rules' ports. The guard prefix is
 * the address's, the exemption each name's. */
static void test_many_names_one_guarded_address(void **state)
{
	static const uint16_t priv[] = {8443}, with_db[] = {5432, 8443};
	struct fixture *x = *state;
	struct hold_rec r = {.f = x->f};
	const char *why;
	char name[64];

	x->a.o.cluster_domain = "cluster.local";
	assert_int_equal(pw_guard_add_str(&x->a.guard, "203.0.113.0/24", PW_G_EXTRA, &why), 0);
	set_policy(x, policy_cdn);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
	for (int i = 1; i <= 10; i++) {
		snprintf(name, sizeof(name), "n%d.cdn.example", i);
		hold_name(x, &r, name, (uint16_t)(i + 1));
	}
	{
		struct pw_portset ps = learned_ports(x);

		assert_ports(&ps, priv, 1);
	}
	hold_name(x, &r, "api.other.example", 20);
	hold_name(x, &r, "db.t.svc.cluster.local", 21);
	hold_name(x, &r, "n3.cdn.example", 22);
	assert_int_equal(r.released, 13);
	{
		struct pw_portset ps = learned_ports(x);

		assert_ports(&ps, with_db, 2);
	}
	assert_int_equal(x->a.st.dns_private, 1); /* api.other.example */
	pw_guard_free(&x->a.guard);
}

/* ---- drift: the reconcile's check of the kernel's entries (drift.c) ---- */

/* The fake's entry of map id under key, for changing it behind the agent's back. */
static void *entry_of(struct fake_maps *f, enum pw_map_id id, const void *key)
{
	struct fake_entry *e = fake_find(f, id, key);

	assert_non_null(e);
	return e->val;
}

static const struct pw_cidr4_key *the_cidr4_key(struct fake_maps *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].id == PW_MAPID_cidr4)
			return (const void *)f->e[i].key;
	fail_msg("no pw_cidr4 entry");
	return NULL;
}

/* The endpoint synced under policy_v1: the state a drift check compares with. */
static void synced_v1(struct fixture *x)
{
	set_policy(x, policy_v1);
	assert_int_equal(pw_sync_ep(&x->a, x->ep), 0);
}

/* One drift check; returns the index of its first write in the log. */
static size_t drift_check(struct fixture *x)
{
	size_t from = x->f->n_ops;

	pw_drift_check(&x->a);
	return from;
}

static uint64_t repairs(const struct fixture *x)
{
	uint64_t n = 0;

	for (int k = 0; k < PW_DRIFT_MAX; k++)
		n += x->a.st.drift_repairs[k];
	return n;
}

static void test_drift_none_no_write(void **state)
{
	struct fixture *x = *state;
	size_t from;

	synced_v1(x);
	from = drift_check(x);
	/* correct entries are read, not written */
	assert_int_equal(x->f->n_ops, from);
	assert_int_equal(repairs(x), 0);
}

/* One entry the agent wrote, changed or deleted behind its back: the drift
 * check puts it back as it was (the endpoint entry still last), counts one
 * repair of its kind, and the next check finds nothing. mutate changes the
 * entry of map id whose key it writes to key (FAKE_KEY_MAX bytes). */
struct drift_row {
	const char *name;
	enum pw_map_id id;
	enum pw_drift_kind kind;
	void (*mutate)(struct fixture *x, void *key);
	bool endpoint_after; /* the endpoint entry is rewritten after it */
	/* the entry written back against the one the agent wrote; NULL: the same bytes */
	void (*expect)(const void *got, const void *was);
};

static void endpoint_opened(struct fixture *x, void *key)
{
	uint32_t ifindex = IFINDEX;
	struct pw_endpoint *v = entry_of(x->f, PW_MAPID_endpoints, &ifindex);

	memcpy(key, &ifindex, sizeof(ifindex));
	v->mode = PW_MODE_OPEN; /* someone with bpftool opened the pod */
}

/* Put back with a new generation: established flows are checked again. */
static void endpoint_back(const void *got, const void *was)
{
	const struct pw_endpoint *g = got, *w = was;

	assert_int_equal(g->mode, PW_MODE_ENFORCE);
	assert_int_equal(g->mode, w->mode);
	assert_int_equal(g->ep_id, w->ep_id);
	assert_true(g->policy_gen > w->policy_gen);
}

static void rule_repointed(struct fixture *x, void *key)
{
	struct pw_cidr_val *v;

	memcpy(key, the_cidr4_key(x->f), sizeof(struct pw_cidr4_key));
	v = entry_of(x->f, PW_MAPID_cidr4, key);
	v->portset += 100; /* points to another port set */
}

static void rule_deleted(struct fixture *x, void *key)
{
	memcpy(key, the_cidr4_key(x->f), sizeof(struct pw_cidr4_key));
	fake_erase(x->f, fake_find(x->f, PW_MAPID_cidr4, key));
}

static void portset_widened(struct fixture *x, void *key)
{
	struct pw_portset *ps;

	assert_true(x->a.portsets.n > 0);
	memcpy(key, &x->a.portsets.v[0].id, sizeof(uint32_t));
	ps = entry_of(x->f, PW_MAPID_ports, key);
	ps->r[0].lo = 1; /* widened to every port */
	ps->r[0].hi = 65535;
}

/* clang-format off */
static const struct drift_row drift_rows[] = {
	{"endpoint opened", PW_MAPID_endpoints, PW_DRIFT_ENDPOINT, endpoint_opened, true,
	 endpoint_back},
	{"rule pointed to another port set", PW_MAPID_cidr4, PW_DRIFT_RULES, rule_repointed, true},
	{"rule deleted", PW_MAPID_cidr4, PW_DRIFT_RULES, rule_deleted, false},
	{"port set widened", PW_MAPID_ports, PW_DRIFT_PORTS, portset_widened, false},
};
/* clang-format on */

static void test_drift_row(void **state)
{
	const struct drift_row *r = *state;
	_Alignas(8) uint8_t key[FAKE_KEY_MAX] = {0};
	struct fake_maps *before;
	struct fixture *x;
	struct fake_entry *e, *was;
	size_t from;
	int put, ep;

	assert_int_equal(setup((void **)&x), 0);
	synced_v1(x);
	before = malloc(sizeof(*before)); /* the maps as the agent wrote them */
	assert_non_null(before);
	memcpy(before, x->f, sizeof(*before));
	r->mutate(x, key);
	from = drift_check(x);
	put = op_index(x->f, from, FAKE_PUT, r->id, NULL);
	if (put < 0)
		fail_msg("%s: not written back", r->name);
	/* the endpoint entry, when written, comes after the rules it enforces */
	ep = op_index(x->f, from, FAKE_PUT, PW_MAPID_endpoints, NULL);
	if (r->endpoint_after ? ep < put : ep >= 0 && ep < put)
		fail_msg("%s: repair written at %d, endpoint at %d", r->name, put, ep);
	e = fake_find(x->f, r->id, key);
	was = fake_find(before, r->id, key);
	assert_non_null(e);
	assert_non_null(was);
	if (r->expect)
		r->expect(e->val, was->val);
	else
		assert_memory_equal(e->val, was->val, sizeof(e->val));
	assert_int_equal(fake_count(x->f, r->id), fake_count(before, r->id));
	assert_int_equal(x->a.st.drift_repairs[r->kind], 1);
	assert_int_equal(repairs(x), 1);
	/* repaired: the next check finds nothing */
	from = drift_check(x);
	assert_int_equal(x->f->n_ops, from);
	assert_int_equal(repairs(x), 1);
	free(before);
	teardown((void **)&x);
}

static void test_drift_strays_removed(void **state)
{
	struct fixture *x = *state;
	struct pw_cidr4_key stray = {
		.prefixlen = 32 + 24, .ep_id = EP_ID, .addr = {203, 0, 113, 0}};
	struct pw_cidr4_key other = {.prefixlen = 32 + 8, .ep_id = EP_ID + 1, .addr = {10}};
	struct pw_cidr_val cv = {0};
	struct pw_endpoint ev = {.ep_id = 99, .mode = PW_MODE_OPEN};
	uint32_t unknown_ifindex = IFINDEX + 50, ifindex = IFINDEX;
	size_t from, kept;

	synced_v1(x);
	/* written by someone else: a prefix the policy does not grant, a rule of
	 * an endpoint the agent does not know, an endpoint of no veth it manages */
	assert_int_equal(pw_map_put_cidr4(&x->f->m, &stray, &cv, PW_MAP_ANY), 0);
	assert_int_equal(pw_map_put_cidr4(&x->f->m, &other, &cv, PW_MAP_ANY), 0);
	assert_int_equal(pw_map_put_endpoints(&x->f->m, &unknown_ifindex, &ev, PW_MAP_ANY), 0);
	kept = x->f->n;
	from = drift_check(x);
	assert_null(fake_find(x->f, PW_MAPID_cidr4, &stray));
	assert_null(fake_find(x->f, PW_MAPID_cidr4, &other));
	assert_null(fake_find(x->f, PW_MAPID_endpoints, &unknown_ifindex));
	/* the three deletes and nothing else: the agent's own entries untouched */
	assert_int_equal(x->f->n_ops - from, 3);
	for (size_t i = from; i < x->f->n_ops; i++)
		assert_int_equal(x->f->ops[i].kind, FAKE_DEL);
	assert_int_equal(x->f->n, kept - 3);
	assert_non_null(fake_find(x->f, PW_MAPID_endpoints, &ifindex));
	assert_int_equal(fake_count(x->f, PW_MAPID_cidr4), 1);
	assert_int_equal(x->a.st.drift_repairs[PW_DRIFT_RULES], 2);
	assert_int_equal(x->a.st.drift_repairs[PW_DRIFT_ENDPOINT], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_portsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_flows_gives_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_new_then_stale_then_endpoint, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_keeps_old_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unselected_opens_then_removes_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_remove_endpoint_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_learns_then_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_tcp_learns_then_releases, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hold_same_answer_no_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_write_fails_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_mismatched_id_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_unallowed_name_released_unlearned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hold_deny_range_not_learned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deny_deletes_learned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deny_ports_learned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_names_one_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_names_one_guarded_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_drift_none_no_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drift_strays_removed, setup, teardown),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	failed += RUN_TABLE("drift: put back", test_drift_row, drift_rows);
	return failed ? 1 : 0;
}

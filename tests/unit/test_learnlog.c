// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's reader of the kernel learner's records (agent/learnlog.c) and
 * the per-pod budgets, on the recording fake of the maps: a record becomes
 * the endpoint's learned state (names for events, the per-name cap and LRU,
 * an evicted address deleted from pw_learned); a record of an endpoint the
 * agent does not have, or of an address its rules refuse now, has its entry
 * deleted (or put back to what the agent's own state says), counted; a pod at
 * its cap of names or addresses keeps no more, in the records and in the hold
 * path (dns-budget, its own answer only); pw_ep_learn gets gone and quota;
 * a record that says what the agent's state gives costs no map write.
 */
#include <arpa/inet.h>
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
#include "unit/fake_maps.h"

#include "agent_int.h"
#include "policy.h"

#define IFINDEX	 7
#define EP_ID	 42
#define IFINDEX2 8
#define EP_ID2	 43
#define NS	 1000000000ULL

static const char *const policy =
	"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
	"metadata: {name: p, namespace: t}\n"
	"spec:\n  podSelector: {matchLabels: {app: a}}\n  egress:\n"
	"    - toFQDNs: [{matchName: api.example.com}, {matchPattern: '*.flood.test'}]\n"
	"      ports: [{port: 443, protocol: TCP}]\n";

/* The same pod, api.example.com no longer granted. */
static const char *const policy_flood_only =
	"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
	"metadata: {name: p, namespace: t}\n"
	"spec:\n  podSelector: {matchLabels: {app: a}}\n  egress:\n"
	"    - toFQDNs: [{matchPattern: '*.flood.test'}]\n"
	"      ports: [{port: 443, protocol: TCP}]\n";

struct fixture {
	struct pw_agent a;
	struct fake_maps *f;
	struct pw_ep *ep, *ep2;
};

static void set_policy(struct fixture *x, const char *yaml)
{
	char err[PW_ERR_LEN] = "";

	pw_policies_free(x->a.policies.pols, x->a.policies.n_pols);
	x->a.policies.pols = NULL;
	x->a.policies.n_pols = 0;
	if (pw_policy_file_parse(yaml, strlen(yaml), "test.yaml", &x->a.policies.pols,
				 &x->a.policies.n_pols, err, sizeof(err)))
		fail_msg("policy: %s", err);
	for (struct pw_ep *ep = x->a.eps.head; ep; ep = ep->next)
		assert_int_equal(pw_sync_ep(&x->a, ep), 0);
}

static struct pw_ep *new_ep(uint32_t ifindex, uint32_t ep_id, const char *name)
{
	struct pw_ep *ep = pw_ep_new();

	assert_non_null(ep);
	ep->ifindex = ifindex;
	ep->ep_id = ep_id;
	ep->namespace = strdup("t");
	ep->name = strdup(name);
	ep->flags = PW_EP_HAS_V4;
	inet_pton(AF_INET, DM_POD4, &ep->ip4);
	assert_int_equal(pw_labels_set(&ep->labels, "app", "a"), 0);
	return ep;
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
	x->ep = new_ep(IFINDEX, EP_ID, "pod");
	x->ep2 = new_ep(IFINDEX2, EP_ID2, "other");
	x->ep->next = x->ep2;
	x->a.eps.head = x->ep;
	set_policy(x, policy);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	pw_ep_free(x->ep);
	pw_ep_free(x->ep2);
	pw_policies_free(x->a.policies.pols, x->a.policies.n_pols);
	pw_portsets_free(&x->a.portsets);
	free(x->f);
	free(x);
	return 0;
}

static union pw_ip ip4(const char *s)
{
	union pw_ip ip = {0};

	assert_int_equal(inet_pton(AF_INET, s, &ip.v4), 1);
	return ip;
}

/* A record as pod_ingress writes it, addresses "a.b.c.d" expiring at exp_s. */
static void rec(struct pw_learn_rec *r, uint32_t ep_id, uint32_t ifindex, const char *name,
		uint64_t exp_s, int n, ...)
{
	va_list ap;

	memset(r, 0, sizeof(*r));
	r->ts_ns = 1 * NS;
	r->ep_id = ep_id;
	r->ifindex = ifindex;
	r->portset = 1;
	r->name_len = (uint8_t)strlen(name);
	memcpy(r->name, name, r->name_len);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		r->addrs[i].family = PW_FAMILY_V4;
		r->addrs[i].addr = ip4(va_arg(ap, const char *));
		r->addrs[i].expires_ns = exp_s * NS;
	}
	va_end(ap);
	r->n_addrs = (uint8_t)n;
}

/* What pod_ingress writes before the record: the kernel's entry (by default
 * what a record of rec() with exp_s 60 says: 60 s, portset 1). */
static void kernel_put_val(struct fixture *x, uint32_t ep_id, const char *addr, uint64_t exp_s,
			   uint32_t portset)
{
	struct pw_learned_key k = {.ep_id = ep_id, .family = PW_FAMILY_V4, .addr = ip4(addr)};
	struct pw_learned_val v = {.expires_ns = exp_s * NS, .portset = portset};

	assert_int_equal(pw_map_put_learned(x->a.maps, &k, &v, PW_MAP_ANY), 0);
}

static void kernel_put(struct fixture *x, uint32_t ep_id, const char *addr)
{
	kernel_put_val(x, ep_id, addr, 60, 1);
}

/* The portset the agent gives the addresses of name (the pod's rules). */
static uint32_t agent_portset(struct fixture *x, const char *name)
{
	struct pw_range_set ports;
	uint32_t id = 0;

	assert_true(pw_compiled_fqdn_ports(&x->ep->compiled, name, &ports) > 0);
	assert_int_equal(pw_portsets_id(&x->a.portsets, x->a.maps, &ports, &id), 0);
	assert_true(id != 0);
	return id;
}

/* Writes to pw_learned in the fake's log since op n. */
static size_t learned_writes(struct fixture *x, size_t n)
{
	size_t w = 0;

	for (size_t i = n; i < x->f->n_ops; i++)
		w += x->f->ops[i].id == PW_MAPID_learned;
	return w;
}

static bool kernel_has(struct fixture *x, uint32_t ep_id, const char *addr,
		       struct pw_learned_val *out)
{
	struct pw_learned_key k = {.ep_id = ep_id, .family = PW_FAMILY_V4, .addr = ip4(addr)};
	struct pw_learned_val v;

	if (pw_map_get_learned(x->a.maps, &k, &v))
		return false;
	if (out)
		*out = v;
	return true;
}

static size_t kernel_count(struct fixture *x, uint32_t ep_id)
{
	size_t n = 0;

	for (size_t i = 0; i < x->f->n; i++)
		if (x->f->e[i].id == PW_MAPID_learned &&
		    ((const struct pw_learned_key *)x->f->e[i].key)->ep_id == ep_id)
			n++;
	return n;
}

static void step(struct fixture *x, const struct pw_learn_rec *r)
{
	pw_learnlog_step(&x->a, r, sizeof(*r));
}

static void test_record_becomes_state(void **state)
{
	struct fixture *x = *state;
	struct pw_learn_rec r;
	struct pw_learned_name *n;
	struct pw_learned_val v;
	union pw_ip a = ip4("203.0.113.10");

	kernel_put(x, EP_ID, "203.0.113.10");
	kernel_put(x, EP_ID, "203.0.113.11");
	rec(&r, EP_ID, IFINDEX, "api.example.com", 60, 2, "203.0.113.10", "203.0.113.11");
	step(x, &r);
	n = pw_ep_find_name(x->ep, "api.example.com");
	assert_non_null(n);
	assert_int_equal(n->n_addrs, 2);
	assert_int_equal(pw_learned_expires_ns(&n->addrs[0]), 60 * NS);
	assert_int_equal(x->ep->n_addrs, 2);
	assert_true(x->ep->learned_dirty);
	/* the name of a deny event, `podwall fqdn` */
	assert_string_equal(pw_ep_name_for(x->ep, PW_FAMILY_V4, &a), "api.example.com");
	/* the kernel's entries, now as the agent's state says */
	assert_true(kernel_has(x, EP_ID, "203.0.113.10", &v));
	assert_int_equal(v.expires_ns, 60 * NS);
	assert_true(v.portset != 0);
	assert_int_equal(x->a.st.learnlog_records, 1);
	assert_int_equal(x->a.st.learnlog_addrs, 2);
	assert_int_equal(x->a.st.learnlog_refused + x->a.st.learnlog_unknown_ep, 0);
}

/* The common case costs no map write: the record says what the kernel's
 * entry holds, and that is the entry the agent's state gives. */
static void test_record_as_kernel_wrote_no_write(void **state)
{
	struct fixture *x = *state;
	uint32_t ps = agent_portset(x, "api.example.com");
	struct pw_learn_rec r;
	struct pw_learned_val v;
	size_t n;

	x->a.learned_wr_ns = 0; /* no write of the agent's since the kernel's */
	kernel_put_val(x, EP_ID, "203.0.113.10", 60, ps);
	kernel_put_val(x, EP_ID, "203.0.113.11", 60, ps);
	rec(&r, EP_ID, IFINDEX, "api.example.com", 60, 2, "203.0.113.10", "203.0.113.11");
	r.portset = ps;
	n = x->f->n_ops;
	step(x, &r);
	assert_int_equal(learned_writes(x, n), 0);
	assert_int_equal(x->a.st.learnlog_kept, 2);
	assert_int_equal(pw_ep_find_name(x->ep, "api.example.com")->n_addrs, 2);
	/* learned again, later expiry: still none */
	kernel_put_val(x, EP_ID, "203.0.113.10", 120, ps);
	rec(&r, EP_ID, IFINDEX, "api.example.com", 120, 1, "203.0.113.10");
	r.ts_ns = 2 * NS;
	r.portset = ps;
	n = x->f->n_ops;
	step(x, &r);
	assert_int_equal(learned_writes(x, n), 0);
	assert_int_equal(x->a.st.learnlog_kept, 3);

	/* another name holds the address until later: the agent's entry differs
	 * from the record's, it is written */
	kernel_put_val(x, EP_ID, "203.0.113.10", 300, ps);
	rec(&r, EP_ID, IFINDEX, "b.flood.test", 300, 1, "203.0.113.10");
	r.ts_ns = 3 * NS;
	r.portset = ps;
	step(x, &r);
	rec(&r, EP_ID, IFINDEX, "api.example.com", 130, 1, "203.0.113.10");
	r.ts_ns = 4 * NS;
	r.portset = ps;
	n = x->f->n_ops;
	step(x, &r);
	assert_int_equal(learned_writes(x, n), 1);
	assert_true(kernel_has(x, EP_ID, "203.0.113.10", &v));
	assert_int_equal(v.expires_ns, 300 * NS);
	assert_int_equal(v.portset, ps);

	/* the agent wrote to pw_learned after the kernel did: the record may
	 * no longer be what the entry holds, it is written */
	assert_int_equal(pw_sync_learned_addr(&x->a, x->ep, PW_FAMILY_V4, &r.addrs[0].addr), 0);
	kernel_put_val(x, EP_ID, "203.0.113.11", 60, 999); /* what the record cannot know */
	rec(&r, EP_ID, IFINDEX, "api.example.com", 60, 1, "203.0.113.11");
	r.ts_ns = 5 * NS; /* before learned_wr_ns (now) */
	r.portset = ps;
	n = x->f->n_ops;
	step(x, &r);
	assert_int_equal(learned_writes(x, n), 1);
	assert_true(kernel_has(x, EP_ID, "203.0.113.11", &v));
	assert_int_equal(v.portset, ps);
	/* and a record the agent refuses is put back all the same */
	x->a.learned_wr_ns = 0;
	kernel_put_val(x, EP_ID, "203.0.113.12", 60, ps);
	rec(&r, EP_ID, IFINDEX, "not.granted.test", 60, 1, "203.0.113.12");
	r.ts_ns = 6 * NS;
	r.portset = ps;
	step(x, &r);
	assert_false(kernel_has(x, EP_ID, "203.0.113.12", NULL));
}

/* The per-name cap: the least recently seen address goes, in pw_learned too. */
static void test_record_evicts_lru(void **state)
{
	struct fixture *x = *state;
	struct pw_learn_rec r;

	x->a.o.max_addrs_per_name = 2;
	rec(&r, EP_ID, IFINDEX, "a.flood.test", 60, 2, "198.51.100.1", "198.51.100.2");
	kernel_put(x, EP_ID, "198.51.100.1");
	kernel_put(x, EP_ID, "198.51.100.2");
	step(x, &r);
	rec(&r, EP_ID, IFINDEX, "a.flood.test", 60, 1, "198.51.100.3");
	r.ts_ns = 2 * NS;
	r.addrs[0].expires_ns = 70 * NS;
	kernel_put(x, EP_ID, "198.51.100.3");
	step(x, &r);
	assert_int_equal(pw_ep_find_name(x->ep, "a.flood.test")->n_addrs, 2);
	assert_false(kernel_has(x, EP_ID, "198.51.100.1", NULL));
	assert_true(kernel_has(x, EP_ID, "198.51.100.2", NULL));
	assert_true(kernel_has(x, EP_ID, "198.51.100.3", NULL));
	assert_int_equal(x->ep->n_addrs, 2);
}

static void test_record_unknown_endpoint(void **state)
{
	struct fixture *x = *state;
	struct pw_learn_rec r;

	kernel_put(x, 99, "203.0.113.10");
	kernel_put(x, EP_ID, "203.0.113.10"); /* another endpoint's: stays */
	rec(&r, 99, 77, "api.example.com", 60, 1, "203.0.113.10");
	step(x, &r);
	assert_false(kernel_has(x, 99, "203.0.113.10", NULL));
	assert_true(kernel_has(x, EP_ID, "203.0.113.10", NULL));
	assert_int_equal(x->a.st.learnlog_unknown_ep, 1);
	/* an id the agent has, on another veth: not that endpoint's */
	kernel_put(x, EP_ID2, "203.0.113.12");
	rec(&r, EP_ID2, IFINDEX, "api.example.com", 60, 1, "203.0.113.12");
	step(x, &r);
	assert_false(kernel_has(x, EP_ID2, "203.0.113.12", NULL));
	assert_null(pw_ep_find_name(x->ep2, "api.example.com"));
	assert_int_equal(x->a.st.learnlog_unknown_ep, 2);
}

/* A policy changed between the kernel's write and the agent's read. */
static void test_record_rule_now_refuses(void **state)
{
	struct fixture *x = *state;
	struct pw_learn_rec r;

	set_policy(x, policy_flood_only);
	kernel_put(x, EP_ID, "203.0.113.10");
	rec(&r, EP_ID, IFINDEX, "api.example.com", 60, 1, "203.0.113.10");
	step(x, &r);
	assert_false(kernel_has(x, EP_ID, "203.0.113.10", NULL));
	assert_null(pw_ep_find_name(x->ep, "api.example.com"));
	assert_int_equal(x->a.st.learnlog_refused, 1);
	assert_int_equal(x->a.st.learnlog_addrs, 0);
	/* a name the rules never granted, malformed names */
	kernel_put(x, EP_ID, "203.0.113.11");
	rec(&r, EP_ID, IFINDEX, "other.example.com", 60, 1, "203.0.113.11");
	step(x, &r);
	assert_false(kernel_has(x, EP_ID, "203.0.113.11", NULL));
	kernel_put(x, EP_ID, "203.0.113.12");
	rec(&r, EP_ID, IFINDEX, "A.flood.test", 60, 1, "203.0.113.12");
	step(x, &r);
	assert_false(kernel_has(x, EP_ID, "203.0.113.12", NULL));
	assert_int_equal(x->a.st.learnlog_invalid, 1);
	pw_learnlog_step(&x->a, &r, sizeof(r) - 1); /* short: skipped */
	assert_int_equal(x->a.st.learnlog_invalid, 2);
	assert_int_equal(x->ep->n_names, 0);
}

/* Refused for this name, but the pod holds the address under another: the
 * entry is put back to the agent's, not deleted. */
static void test_record_refused_keeps_other_name(void **state)
{
	struct fixture *x = *state;
	struct pw_learn_rec r;

	rec(&r, EP_ID, IFINDEX, "a.flood.test", 60, 1, "203.0.113.10");
	kernel_put(x, EP_ID, "203.0.113.10");
	step(x, &r);
	rec(&r, EP_ID, IFINDEX, "not.granted.test", 60, 1, "203.0.113.10");
	step(x, &r);
	assert_true(kernel_has(x, EP_ID, "203.0.113.10", NULL));
	assert_int_equal(x->a.st.learnlog_refused, 1);
}

/* --max-learned-per-pod and --max-names-per-pod on the kernel's records. */
static void test_record_over_budget(void **state)
{
	struct fixture *x = *state;
	struct pw_learn_rec r;

	x->a.o.max_learned_per_pod = 3;
	x->a.o.max_names_per_pod = 2;
	rec(&r, EP_ID, IFINDEX, "a.flood.test", 60, 4, "198.51.100.1", "198.51.100.2",
	    "198.51.100.3", "198.51.100.4");
	for (int i = 0; i < 4; i++)
		kernel_put(x, EP_ID,
			   (const char *[]){"198.51.100.1", "198.51.100.2", "198.51.100.3",
					    "198.51.100.4"}[i]);
	step(x, &r);
	assert_int_equal(x->ep->n_addrs, 3);
	assert_int_equal(kernel_count(x, EP_ID), 3);
	assert_false(kernel_has(x, EP_ID, "198.51.100.4", NULL));
	assert_int_equal(x->a.st.learnlog_budget, 1);
	/* an address it already has fits, under another name */
	rec(&r, EP_ID, IFINDEX, "b.flood.test", 60, 1, "198.51.100.1");
	step(x, &r);
	assert_int_equal(pw_ep_find_name(x->ep, "b.flood.test")->n_addrs, 1);
	assert_int_equal(x->ep->n_addrs, 3);
	/* a third name does not */
	x->a.o.max_learned_per_pod = 100;
	kernel_put(x, EP_ID, "198.51.100.9");
	rec(&r, EP_ID, IFINDEX, "c.flood.test", 60, 1, "198.51.100.9");
	step(x, &r);
	assert_null(pw_ep_find_name(x->ep, "c.flood.test"));
	assert_false(kernel_has(x, EP_ID, "198.51.100.9", NULL));
	assert_int_equal(x->a.st.learnlog_budget, 2);
	/* the other pod has its own budget */
	kernel_put(x, EP_ID2, "198.51.100.9");
	rec(&r, EP_ID2, IFINDEX2, "c.flood.test", 60, 1, "198.51.100.9");
	step(x, &r);
	assert_true(kernel_has(x, EP_ID2, "198.51.100.9", NULL));
}

/* pw_ep_learn: added - gone is the pod's distinct learned addresses. */
static void test_counts_written(void **state)
{
	struct fixture *x = *state;
	struct pw_learn_rec r;
	struct pw_ep_flows v = {.added = 10};

	assert_int_equal(pw_map_put_ep_learn(x->a.maps, &x->ep->ep_id, &v, PW_MAP_ANY), 0);
	rec(&r, EP_ID, IFINDEX, "a.flood.test", 60, 2, "198.51.100.1", "198.51.100.2");
	step(x, &r);
	rec(&r, EP_ID, IFINDEX, "b.flood.test", 60, 2, "198.51.100.2", "198.51.100.3");
	step(x, &r);
	pw_learnlog_counts(&x->a);
	assert_int_equal(pw_map_get_ep_learn(x->a.maps, &x->ep->ep_id, &v), 0);
	assert_int_equal(v.added - v.gone, 3);
	assert_int_equal(v.quota, 4096);
	/* the other pod: no kernel count yet, its quota all the same */
	assert_int_equal(pw_map_get_ep_learn(x->a.maps, &x->ep2->ep_id, &v), 0);
	assert_int_equal(v.added - v.gone, 0);
	assert_int_equal(v.quota, 4096);
	/* expiry gives them back */
	pw_ep_expire(x->ep, 61 * NS, NULL);
	pw_learnlog_counts(&x->a);
	assert_int_equal(pw_map_get_ep_learn(x->a.maps, &x->ep->ep_id, &v), 0);
	assert_int_equal(v.added - v.gone, 0);
	assert_false(x->ep->learn_count_dirty);
}

/* ---- the hold path (dnshold.c learn()) ---- */

struct hold_rec {
	int released, dropped, reason;
	char why[128];
};

static int rec_release(void *ctx, const struct pw_dns_meta *m, const uint8_t *frame, size_t len)
{
	((struct hold_rec *)ctx)->released++;
	return 0;
}

static void rec_drop(void *ctx, const struct pw_ep *ep, uint8_t reason, const struct pw_dns_meta *m,
		     const char *qname, const char *why)
{
	struct hold_rec *r = ctx;

	r->dropped++;
	r->reason = reason;
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

/* A held answer of pod (ifindex, ep_id) for qname with n addresses 203.0.113.<first + i>. */
static size_t held(uint8_t *out, size_t cap, uint32_t ifindex, uint32_t ep_id, const char *qname,
		   int first, int n)
{
	struct pw_dns_meta meta;
	struct dm_buf msg;
	size_t flen;

	dm_header(&msg, 7, DM_FLAGS_RESPONSE, 1, (uint16_t)n, 0, 0);
	dm_question(&msg, qname, LDNS_RR_TYPE_A);
	for (int i = 0; i < n; i++) {
		uint8_t addr[4] = {203, 0, 113, (uint8_t)(first + i)};

		dm_rr(&msg, qname, LDNS_RR_TYPE_A, 60, addr, 4);
	}
	dm_meta(&meta, PW_FAMILY_V4, 7);
	meta.ifindex = ifindex;
	meta.ep_id = ep_id;
	flen = dm_frame(out + sizeof(meta), cap - sizeof(meta), PW_FAMILY_V4, DM_RESOLVER4, DM_POD4,
			53, DM_POD_PORT, msg.b, msg.n, 0);
	assert_true(flen > 0);
	meta.pkt_len = (uint32_t)flen;
	memcpy(out, &meta, sizeof(meta));
	return sizeof(meta) + flen;
}

static void test_hold_over_budget_drops_own_answer(void **state)
{
	struct fixture *x = *state;
	struct hold_rec r = {0};
	const struct pw_hold_io io = {.release = rec_release, .drop = rec_drop, .ctx = &r};
	static uint8_t sample[PW_DNS_CAP_MAX + 256];
	size_t len;

	x->a.o.max_learned_per_pod = 4;
	x->a.o.max_names_per_pod = 2;
	/* 6 addresses, room for 4: the first 4 learned, the answer released */
	len = held(sample, sizeof(sample), IFINDEX, EP_ID, "a.flood.test", 1, 6);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 1);
	assert_int_equal(x->ep->n_addrs, 4);
	assert_int_equal(kernel_count(x, EP_ID), 4);
	/* full: the next new address costs the pod its answer */
	len = held(sample, sizeof(sample), IFINDEX, EP_ID, "b.flood.test", 20, 1);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 1);
	assert_int_equal(r.dropped, 1);
	assert_int_equal(r.reason, PW_R_DNS_BUDGET);
	assert_non_null(strstr(r.why, "--max-learned-per-pod"));
	assert_int_equal(x->a.st.dns_dropped_budget, 1);
	assert_int_equal(kernel_count(x, EP_ID), 4);
	/* an address it has, again: released */
	len = held(sample, sizeof(sample), IFINDEX, EP_ID, "a.flood.test", 1, 1);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 2);
	/* a third name: over --max-names-per-pod */
	len = held(sample, sizeof(sample), IFINDEX, EP_ID, "b.flood.test", 1, 1);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 3); /* b.flood.test is the second name */
	len = held(sample, sizeof(sample), IFINDEX, EP_ID, "c.flood.test", 1, 1);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.dropped, 2);
	assert_non_null(strstr(r.why, "--max-names-per-pod"));
	/* never another pod's */
	len = held(sample, sizeof(sample), IFINDEX2, EP_ID2, "c.flood.test", 20, 4);
	pw_dnshold_step(&x->a, sample, len, &io);
	assert_int_equal(r.released, 4);
	assert_int_equal(kernel_count(x, EP_ID2), 4);
}

/* ---- the distinct count (lib/core/endpoint.c) ---- */

static void test_distinct_count(void **state)
{
	struct pw_ep *ep = pw_ep_new();
	union pw_ip a = ip4("192.0.2.1"), b = ip4("192.0.2.2"), c = ip4("192.0.2.3");
	struct pw_learned_addr ev;

	(void)state;
	pw_ep_learn(ep, "x.test", PW_FAMILY_V4, &a, 10 * NS, 1, 2, NULL);
	pw_ep_learn(ep, "y.test", PW_FAMILY_V4, &a, 20 * NS, 2, 2, NULL);
	assert_int_equal(ep->n_addrs, 1);
	pw_ep_learn(ep, "x.test", PW_FAMILY_V4, &b, 10 * NS, 3, 2, NULL);
	assert_int_equal(ep->n_addrs, 2);
	/* x.test full: c evicts a (least recently seen), which y.test still has */
	pw_ep_learn(ep, "x.test", PW_FAMILY_V4, &c, 10 * NS, 4, 2, &ev);
	assert_int_equal(ev.family, PW_FAMILY_V4);
	assert_int_equal(ep->n_addrs, 3);
	assert_int_equal(pw_ep_count_addrs(ep), 3);
	/* b evicted, no other name has it */
	pw_ep_learn(ep, "x.test", PW_FAMILY_V4, &a, 10 * NS, 5, 2, &ev);
	assert_int_equal(ep->n_addrs, 2);
	assert_int_equal(pw_ep_count_addrs(ep), 2);
	pw_ep_expire(ep, 15 * NS, NULL); /* x.test's go; y.test keeps a */
	assert_int_equal(ep->n_addrs, 1);
	assert_int_equal(pw_ep_learn_room(ep, "z.test", PW_FAMILY_V4, &b, 2, 1, 10),
			 PW_EP_FULL_NAMES);
	assert_int_equal(pw_ep_learn_room(ep, "y.test", PW_FAMILY_V4, &b, 2, 1, 1),
			 PW_EP_FULL_ADDRS);
	assert_int_equal(pw_ep_learn_room(ep, "y.test", PW_FAMILY_V4, &a, 2, 1, 1), PW_EP_ROOM);
	pw_ep_forget_names(ep);
	assert_int_equal(ep->n_addrs, 0);
	/* usable again after forgetting */
	assert_int_equal(pw_ep_learn(ep, "x.test", PW_FAMILY_V4, &a, 10 * NS, 1, 2, NULL), 0);
	pw_ep_free(ep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_becomes_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_as_kernel_wrote_no_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_record_evicts_lru, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_unknown_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_rule_now_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_refused_keeps_other_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_record_over_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_over_budget_drops_own_answer, setup,
						teardown),
		cmocka_unit_test(test_distinct_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

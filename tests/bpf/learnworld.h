/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One pod, two learners: what tests/bpf/test_learn_diff.c and
 * tests/fuzz/fuzz_bpf_answer.c share.
 *
 * The world is one policy (LW_POLICY), compiled with lib/core's pw_compile,
 * and the rebinding guard's defaults plus a pod CIDR, a service CIDR and an
 * operator's exempt hole. It is loaded both ways:
 *   - into the real BPF object (bpf/loader.h): pw_endpoints, pw_resolvers,
 *     pw_names with each name's portset and PW_NAME_F_PRIVATE, pw_ports,
 *     pw_ep_dns, pw_guard4/6, pw_config with the TTL clamp and the cap;
 *   - into the agent's rules: the same pw_compiled, pw_guard and options given
 *     to pw_learn_plan (lib/core/learnrules.c), after the frame went through
 *     pw_dns_frame_payload and pw_dns_parse_answer (ldns), as agent/dnshold.c
 *     does with a held answer.
 *
 * lw_run() records a query in pw_dns_pend for the answer's id, runs
 * pod_ingress on the answer with BPF_PROG_TEST_RUN, and collects what the
 * kernel did: verdict, counters, the records of pw_learn_log, the entries of
 * pw_learned (then emptied), the held copies on pw_dns_cap. lw_ldns() runs the
 * same frame through the ldns path; lw_compare() says whether they agree:
 *   - the kernel wrote pw_learned or pw_learn_log only with a pass verdict and
 *     PW_C_DNS_INLINE counted, one record for the answer;
 *   - then ldns parsed the answer, its question name is the record's name, and
 *     the set of (family, address, expiry - record time) in pw_learned, in the
 *     record and in the plan's learned items are one set; every entry's
 *     portset holds exactly the ports the agent would grant;
 *   - an answer held (TC_ACT_SHOT) or passed without PW_C_DNS_INLINE wrote
 *     nothing.
 */
#ifndef PODWALL_TESTS_BPF_LEARNWORLD_H
#define PODWALL_TESTS_BPF_LEARNWORLD_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/pkt_cls.h>

#include "bpf/loader.h"
#include "compile.h"
#include "dns.h"
#include "guard.h"
#include "ipaddr.h"
#include "learnrules.h"
#include "policy.h"
#include "unit/dnsmsg.h"

#define LW_EP_ID     7
#define LW_MIN_TTL   5
#define LW_MAX_TTL   3600
#define LW_MAX_ADDRS 4 /* --max-addrs-per-name: small, so that the cap is reached */

/* Names: api.example.com (443), *.example.test (443), the patterns of the fuzz
 * corpus (**.github.example, **.s3.example), db.example.org and
 * *.priv.example.test (allowPrivate), *.both.example (80) overlapped by
 * x.both.example (8443, so its answers need the union), **.cluster.local
 * (5432, in the cluster domain), *.mixed.example.test (5432 allowPrivate and
 * 443 not: guarded addresses get only 5432), a resolve-only
 * resolve.example.net. */
static const char LW_POLICY[] =
	"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
	"metadata: {name: diff, namespace: shop}\nspec:\n  podSelector: {}\n  egress:\n"
	"  - toFQDNs: [{matchName: api.example.com}]\n"
	"    ports: [{port: 443, protocol: TCP}]\n"
	"  - toFQDNs: [{matchPattern: \"*.example.test\"}, {matchPattern: \"**.github.example\"},\n"
	"              {matchPattern: \"**.s3.example\"}]\n"
	"    ports: [{port: 443, protocol: TCP}]\n"
	"  - toFQDNs: [{matchName: db.example.org}, {matchPattern: \"*.priv.example.test\"}]\n"
	"    allowPrivate: true\n"
	"    ports: [{port: 5432, protocol: TCP}]\n"
	"  - toFQDNs: [{matchPattern: \"*.both.example\"}]\n"
	"    ports: [{port: 80, protocol: TCP}]\n"
	"  - toFQDNs: [{matchName: x.both.example}]\n"
	"    ports: [{port: 8443, protocol: TCP}]\n"
	"  - toFQDNs: [{matchPattern: \"*.mixed.example.test\"}]\n"
	"    allowPrivate: true\n"
	"    ports: [{port: 5432, protocol: TCP}]\n"
	"  - toFQDNs: [{matchPattern: \"*.mixed.example.test\"}]\n"
	"    ports: [{port: 443, protocol: TCP}]\n"
	"  - toFQDNs: [{matchPattern: \"**.cluster.local\"}]\n"
	"    ports: [{port: 5432, protocol: TCP}]\n"
	"  dns:\n    resolveNames: [{matchName: resolve.example.net}]\n";

static const char *const LW_GUARD_EXTRA[] = {"10.42.0.0/16", "10.43.0.0/16", "fd42::/48"};
#define LW_GUARD_HOLE "10.99.0.0/16" /* an operator's exemption inside 10/8 */

struct lw_kaddr {
	uint8_t family;
	union pw_ip addr;
	uint64_t expires_ns;
	uint32_t portset;
};

#define LW_MAX_SEEN 64

/* What the kernel did with one answer. */
struct lw_result {
	int verdict;
	int err; /* of bpf_prog_test_run_opts */
	uint64_t d_inline, d_held, d_not_simple, d_quota, d_log_full;
	struct lw_kaddr learned[LW_MAX_SEEN]; /* pw_learned after the run */
	size_t n_learned;
	struct pw_learn_rec rec; /* the first record */
	size_t n_recs;
	size_t n_captured; /* copies on pw_dns_cap */
	uint8_t frame[2048];
	size_t flen;
	uint8_t family;
	uint16_t dns_id; /* network order */
};

/* What the agent's path makes of the same frame. */
struct lw_ldns {
	int err; /* of pw_dns_frame_payload / pw_dns_parse_answer */
	const char *why;
	struct pw_dns_answer ans;
	struct pw_learn_plan plan;
};

struct lw {
	struct podwall_bpf *skel;
	struct ring_buffer *events;
	struct ring_buffer *learn_log;
	struct perf_buffer *cap;
	int ifindex;
	char pin_root[64];
	struct pw_policy *pols;
	size_t n_pols;
	struct pw_compiled c;
	struct pw_guard guard;
	struct pw_learn_rules rules;
	uint32_t cfg_flags;   /* PW_CFG_* */
	uint32_t epdns_flags; /* PW_EPDNS_* beyond HAS_ONE / HAS_MANY */
	uint32_t max_addrs;
	bool learner_present;  /* pod_ingress uses pw_learn_log */
	struct lw_result *cur; /* filled by the ring and perf callbacks */
};

static inline int lw_on_event(void *ctx, void *data, size_t len)
{
	return 0;
}

static inline int lw_on_learn(void *ctx, void *data, size_t len)
{
	struct lw *w = ctx;

	if (!w->cur)
		return 0;
	if (!w->cur->n_recs++)
		memcpy(&w->cur->rec, data, len < sizeof(w->cur->rec) ? len : sizeof(w->cur->rec));
	return 0;
}

static inline void lw_on_cap(void *ctx, int cpu, void *data, __u32 size)
{
	struct lw *w = ctx;

	if (w->cur)
		w->cur->n_captured++;
}

static inline int lw_put(struct bpf_map *m, const void *k, const void *v, const char **why)
{
	if (bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY)) {
		*why = bpf_map__name(m);
		return -errno;
	}
	return 0;
}

static inline void lw_ip(const char *s, uint8_t *family, union pw_ip *ip)
{
	if (pw_ip_parse(s, family, ip))
		memset(ip, 0, sizeof(*ip));
}

/* The config as the agent's heartbeat writes it (agent/agent.c). */
static inline int lw_config(struct lw *w)
{
	struct pw_config c;
	__u32 zero = 0;
	const char *why;

	memset(&c, 0, sizeof(c));
	c.heartbeat_ns = bpft_now_ns();
	c.agent_timeout_ns = 3600 * 1000000000ull;
	c.release_mark = 0x50570001u;
	c.flags = w->cfg_flags;
	c.events_per_sec = 1000000;
	c.events_burst = 1000000;
	c.min_ttl_s = LW_MIN_TTL;
	c.max_ttl_s = LW_MAX_TTL;
	c.max_addrs_per_name = w->max_addrs;
	w->rules.max_addrs = w->max_addrs;
	return lw_put(w->skel->maps.pw_config, &zero, &c, &why);
}

/* pw_names as the agent writes them (agent/sync.c names_write): for a
 * PW_NAME_F_CONNECT entry, the ports of its toFQDNs entry
 * (pw_compiled_name_fqdn, which the agent uses too) in pw_ports under id
 * i + 1, and PW_NAME_F_PRIVATE when all of its ports are allowPrivate ones. */
static inline int lw_write_names(struct lw *w, const char **why)
{
	struct pw_ep_dns ed = {.flags = w->epdns_flags};
	__u32 id = LW_EP_ID;
	int err;

	for (size_t i = 0; i < w->c.n_names; i++) {
		const struct pw_name_entry *n = &w->c.names[i];
		const struct pw_fqdn_entry *f;
		struct pw_name_key k;
		struct pw_name_val v;
		bool private;

		bpft_name_entry(LW_EP_ID, n->kind, n->text, NULL, n->flags, &k, &v);
		f = n->flags & PW_NAME_F_CONNECT ? pw_compiled_name_fqdn(&w->c, n, &private) : NULL;
		if (f) {
			struct pw_portset ps = {.count = f->ports.n};
			__u32 pid = (__u32)i + 1;

			if (private)
				v.flags |= PW_NAME_F_PRIVATE;
			memcpy(ps.r, f->ports.r, sizeof(ps.r));
			err = lw_put(w->skel->maps.pw_ports, &pid, &ps, why);
			if (err)
				return err;
			v.portset = pid;
		}
		err = lw_put(w->skel->maps.pw_names, &k, &v, why);
		if (err)
			return err;
		if (n->kind == PW_NK_ONE)
			ed.flags |= PW_EPDNS_HAS_ONE;
		if (n->kind == PW_NK_MANY)
			ed.flags |= PW_EPDNS_HAS_MANY;
	}
	return lw_put(w->skel->maps.pw_ep_dns, &id, &ed, why);
}

/* pw_guard4/6 as agent/guard.c writes them. */
static inline int lw_write_guard(struct lw *w, const char **why)
{
	for (size_t i = 0; i < w->guard.n; i++) {
		const struct pw_guard_prefix *p = &w->guard.v[i];
		struct pw_guard_val v = {.kind = p->kind};
		int err;

		if (p->family == PW_FAMILY_V4) {
			struct pw_guard4_key k = {.prefixlen = p->prefix};

			memcpy(k.addr, &p->addr.v4, 4);
			err = lw_put(w->skel->maps.pw_guard4, &k, &v, why);
		} else {
			struct pw_guard6_key k = {.prefixlen = p->prefix};

			memcpy(k.addr, p->addr.v6, 16);
			err = lw_put(w->skel->maps.pw_guard6, &k, &v, why);
		}
		if (err)
			return err;
	}
	return 0;
}

/* Does pod_ingress use pw_learn_log? Then the kernel learner is built in. */
static inline bool lw_learner_in_object(struct lw *w)
{
	struct bpf_prog_info info;
	struct bpf_map_info mi;
	__u32 ids[64], len = sizeof(info), mlen = sizeof(mi);
	int fd = bpf_program__fd(w->skel->progs.pod_ingress);

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return false;
	memset(&mi, 0, sizeof(mi));
	if (bpf_obj_get_info_by_fd(bpf_map__fd(w->skel->maps.pw_learn_log), &mi, &mlen))
		return false;
	for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++)
		if (ids[i] == mi.id)
			return true;
	return false;
}

/* Everything set up; *why says what failed. 0 or negative errno. */
static inline int lw_open(struct lw *w, const char **why)
{
	struct pw_labels labels = {0};
	char err_buf[512] = "";
	struct pw_endpoint ep;
	__u32 k, one = 1;
	uint8_t fam;
	union pw_ip ip;
	int err, peer;

	memset(w, 0, sizeof(*w));
	w->cfg_flags = PW_CFG_HOLD_DNS | PW_CFG_LEARN_INLINE;
	w->max_addrs = LW_MAX_ADDRS;
	snprintf(w->pin_root, sizeof(w->pin_root), "/sys/fs/bpf/pwlw-%d", (int)getpid());
	*why = "network namespace with a veth pair";
	err = bpft_netns_veth("pwl0", "pwl1", &w->ifindex, &peer);
	if (err)
		return err;
	*why = "loading the podwall BPF object";
	err = bpft_load(w->pin_root, lw_on_event, &w->skel, &w->events);
	if (err)
		return err;
	*why = "pw_learn_log ring buffer";
	w->learn_log =
		ring_buffer__new(bpf_map__fd(w->skel->maps.pw_learn_log), lw_on_learn, w, NULL);
	if (!w->learn_log)
		return -errno;
	*why = "pw_dns_cap perf buffer";
	w->cap = perf_buffer__new(bpf_map__fd(w->skel->maps.pw_dns_cap), 8, lw_on_cap, NULL, w,
				  NULL);
	if (!w->cap)
		return -errno;
	w->learner_present = lw_learner_in_object(w);

	*why = "the policy (LW_POLICY)";
	if (pw_policy_file_parse(LW_POLICY, sizeof(LW_POLICY) - 1, "diff.yaml", &w->pols,
				 &w->n_pols, err_buf, sizeof(err_buf)) ||
	    pw_compile(w->pols, w->n_pols, "shop", &labels, &w->c, err_buf, sizeof(err_buf))) {
		fprintf(stderr, "%s\n", err_buf);
		return -EINVAL;
	}
	*why = "the rebinding guard";
	if (pw_guard_add_defaults(&w->guard))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(LW_GUARD_EXTRA) / sizeof(LW_GUARD_EXTRA[0]); i++)
		if (pw_guard_add_str(&w->guard, LW_GUARD_EXTRA[i], i ? PW_G_SERVICE : PW_G_POD_CIDR,
				     why))
			return -EINVAL;
	if (pw_guard_add_str(&w->guard, LW_GUARD_HOLE, PW_G_EXEMPT, why) ||
	    pw_guard_index(&w->guard))
		return -EINVAL;
	w->rules = (struct pw_learn_rules){
		.min_ttl_s = LW_MIN_TTL,
		.max_ttl_s = LW_MAX_TTL,
		.max_addrs = w->max_addrs,
		.guard = &w->guard,
		.cluster_domain = "cluster.local",
	};

	memset(&ep, 0, sizeof(ep));
	ep.ep_id = LW_EP_ID;
	ep.policy_gen = 1;
	ep.mode = PW_MODE_ENFORCE;
	ep.flags = PW_EP_HAS_V4 | PW_EP_HAS_V6;
	lw_ip(DM_POD4, &fam, &ip);
	memcpy(ep.ip4, &ip.v4, 4);
	lw_ip(DM_POD6, &fam, &ip);
	memcpy(ep.ip6, ip.v6, 16);
	k = (__u32)w->ifindex;
	err = lw_put(w->skel->maps.pw_endpoints, &k, &ep, why);
	for (int f = 0; !err && f < 2; f++) {
		struct pw_addr_key rk;

		memset(&rk, 0, sizeof(rk));
		lw_ip(f ? DM_RESOLVER6 : DM_RESOLVER4, &rk.family, &rk.addr);
		err = lw_put(w->skel->maps.pw_resolvers, &rk, &one, why);
	}
	if (!err)
		err = lw_write_guard(w, why);
	if (!err)
		err = lw_write_names(w, why);
	if (!err)
		err = lw_config(w);
	return err;
}

static inline void lw_close(struct lw *w)
{
	perf_buffer__free(w->cap);
	ring_buffer__free(w->learn_log);
	bpft_unload(&w->skel, &w->events);
	pw_compiled_free(&w->c);
	pw_policies_free(w->pols, w->n_pols);
	pw_guard_free(&w->guard);
}

static inline uint64_t lw_counter(struct lw *w, __u32 id)
{
	int n = libbpf_num_possible_cpus();
	__u64 v[n > 0 ? n : 1], sum = 0;

	if (n <= 0 || bpf_map_lookup_elem(bpf_map__fd(w->skel->maps.pw_counters), &id, v))
		return 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	return sum;
}

/* Collect the entries of pw_learned, then empty it. */
static inline void lw_take_learned(struct lw *w, struct lw_result *r)
{
	int fd = bpf_map__fd(w->skel->maps.pw_learned);
	struct pw_learned_key k;
	struct pw_learned_val v;

	while (!bpf_map_get_next_key(fd, NULL, &k)) {
		if (!bpf_map_lookup_elem(fd, &k, &v) && r && r->n_learned < LW_MAX_SEEN) {
			struct lw_kaddr *a = &r->learned[r->n_learned++];

			a->family = k.family;
			a->addr = k.addr;
			a->expires_ns = v.expires_ns;
			a->portset = v.portset;
		}
		if (bpf_map_delete_elem(fd, &k))
			break;
	}
}

/* The UDP checksum of a dm_frame frame (IPv6 needs one; IPv4's is left 0). */
static inline void lw_udp_csum(uint8_t *f, size_t len)
{
	size_t udp = f[12] == 0x08 ? 14 + 20 : 14 + 40;
	uint16_t c;

	if (f[12] == 0x08 || len < udp + 8)
		return;
	f[udp + 6] = f[udp + 7] = 0;
	c = (uint16_t)~dm_udp_verify(f, udp);
	if (!c)
		c = 0xffff;
	f[udp + 6] = (uint8_t)(c >> 8);
	f[udp + 7] = (uint8_t)c;
}

/* Run one answer (the DNS message msg) through pod_ingress, from the
 * resolver of `family` to the pod, after recording the query it answers. */
static inline void lw_run(struct lw *w, uint8_t family, const uint8_t *msg, size_t len,
			  struct lw_result *r)
{
	struct pw_dns_pend_key pk;
	struct pw_dns_pend_val pv = {.sent_ns = bpft_now_ns()};
	struct __sk_buff ctx;
	uint8_t out[4096];
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	uint64_t c_inline, c_held, c_ns, c_quota, c_full;
	const char *why;

	memset(r, 0, sizeof(*r));
	r->family = family;
	if (len >= 2)
		memcpy(&r->dns_id, msg, 2);
	r->flen =
		dm_frame(r->frame, sizeof(r->frame), family,
			 family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6,
			 family == PW_FAMILY_V4 ? DM_POD4 : DM_POD6, 53, DM_POD_PORT, msg, len, 0);
	if (!r->flen) {
		r->err = -E2BIG;
		return;
	}
	lw_udp_csum(r->frame, r->flen);
	/* nothing left over from the answer before */
	w->cur = NULL;
	ring_buffer__consume(w->learn_log);
	perf_buffer__consume(w->cap);
	ring_buffer__consume(w->events);
	lw_take_learned(w, NULL);

	memset(&pk, 0, sizeof(pk));
	pk.ep_id = LW_EP_ID;
	pk.family = family;
	pk.pod_port = htons(DM_POD_PORT);
	pk.dns_id = r->dns_id;
	lw_ip(family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6, &pk.family, &pk.resolver);
	if (lw_put(w->skel->maps.pw_dns_pend, &pk, &pv, &why)) {
		r->err = -errno;
		return;
	}
	c_inline = lw_counter(w, PW_C_DNS_INLINE);
	c_held = lw_counter(w, PW_C_DNS_HELD);
	c_ns = lw_counter(w, PW_C_DNS_NOT_SIMPLE);
	c_quota = lw_counter(w, PW_C_DNS_LEARN_QUOTA);
	c_full = lw_counter(w, PW_C_LEARN_LOG_FULL);

	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = w->ifindex;
	o.data_in = r->frame;
	o.data_size_in = (__u32)r->flen;
	r->err = bpf_prog_test_run_opts(bpf_program__fd(w->skel->progs.pod_ingress), &o);
	r->verdict = (int)o.retval;

	r->d_inline = lw_counter(w, PW_C_DNS_INLINE) - c_inline;
	r->d_held = lw_counter(w, PW_C_DNS_HELD) - c_held;
	r->d_not_simple = lw_counter(w, PW_C_DNS_NOT_SIMPLE) - c_ns;
	r->d_quota = lw_counter(w, PW_C_DNS_LEARN_QUOTA) - c_quota;
	r->d_log_full = lw_counter(w, PW_C_LEARN_LOG_FULL) - c_full;
	w->cur = r;
	ring_buffer__consume(w->learn_log);
	perf_buffer__consume(w->cap);
	w->cur = NULL;
	ring_buffer__consume(w->events);
	lw_take_learned(w, r);
	/* the query is answered or still pending: either way, gone */
	bpf_map_delete_elem(bpf_map__fd(w->skel->maps.pw_dns_pend), &pk);
}

/* The agent's path over the same frame: agent/dnshold.c pw_dnshold_step's
 * checks and parse, then learn()'s decisions. */
static inline void lw_ldns(struct lw *w, const struct lw_result *r, struct lw_ldns *l)
{
	struct pw_dns_meta m;
	const uint8_t *payload;
	size_t plen, l4_off;

	memset(l, 0, sizeof(*l));
	memset(&m, 0, sizeof(m));
	m.ifindex = (__u32)w->ifindex;
	m.ep_id = LW_EP_ID;
	m.pkt_len = (__u32)r->flen;
	m.family = r->family;
	m.proto = 17; /* UDP: the learner differs only there */
	m.pod_port = htons(DM_POD_PORT);
	m.dns_id = r->dns_id;
	lw_ip(r->family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6, &m.family, &m.resolver);
	l->err = pw_dns_frame_payload(r->frame, r->flen, &m, &payload, &plen, &l4_off, &l->why);
	if (!l->err)
		l->err = pw_dns_parse_answer(payload, plen, m.dns_id, &l->ans, &l->why);
	if (!l->err)
		pw_learn_plan(&w->rules, &w->c, &l->ans, &l->plan);
}

static inline bool lw_pass(int verdict)
{
	return verdict == TC_ACT_OK || verdict == TC_ACT_UNSPEC;
}

/* Did the kernel learn inline (or write anything as if it had)? */
static inline bool lw_wrote(const struct lw_result *r)
{
	return r->d_inline || r->n_recs || r->n_learned;
}

static inline bool lw_same_ports(struct lw *w, uint32_t id, const struct pw_range_set *want)
{
	struct pw_portset ps;

	if (bpf_map_lookup_elem(bpf_map__fd(w->skel->maps.pw_ports), &id, &ps))
		return false;
	return ps.count == want->n && !memcmp(ps.r, want->r, want->n * sizeof(ps.r[0]));
}

static inline int lw_fail(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return 1;
}

static inline const struct pw_learn_item *lw_plan_find(const struct pw_learn_plan *p,
						       uint8_t family, const union pw_ip *a)
{
	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].why == PW_LW_LEARN && p->items[i].family == family &&
		    !memcmp(&p->items[i].addr, a, sizeof(*a)))
			return &p->items[i];
	return NULL;
}

/*
 * 0 if the two learners agree on this answer, else 1 with why. Agreement:
 * the kernel wrote nothing (held or passed unlearned; what the agent then
 * learns is its own business), or it learned inline exactly what the agent's
 * rules learn from the same bytes.
 */
static inline int lw_compare(struct lw *w, const struct lw_result *r, const struct lw_ldns *l,
			     char *why, size_t cap)
{
	char ip[PW_IP_STRLEN];
	const struct pw_learn_rec *rec = &r->rec;

	if (r->err)
		return lw_fail(why, cap, "bpf_prog_test_run_opts: %s", strerror(-r->err));
	if (!lw_pass(r->verdict) && r->verdict != TC_ACT_SHOT)
		return lw_fail(why, cap, "verdict %d", r->verdict);
	if (!lw_wrote(r))
		return 0;
	if (!lw_pass(r->verdict))
		return lw_fail(why, cap, "wrote pw_learned/pw_learn_log but verdict %d",
			       r->verdict);
	if (r->d_inline != 1 || r->n_recs > 1 || r->n_captured)
		return lw_fail(why, cap, "inline counter +%llu, %zu records, %zu held copies",
			       (unsigned long long)r->d_inline, r->n_recs, r->n_captured);
	if (l->err)
		return lw_fail(why, cap, "passed inline what ldns refuses (%s)",
			       l->why ? l->why : "?");
	if (!r->n_recs && !r->n_learned) {
		/* passed inline with nothing to learn */
		if (l->plan.n_learn)
			return lw_fail(why, cap, "passed inline unlearned, ldns learns %zu",
				       l->plan.n_learn);
		return 0;
	}
	if (!r->n_recs)
		return lw_fail(why, cap, "pw_learned written without a pw_learn_log record");
	if (l->plan.matched != 1)
		return lw_fail(why, cap, "learned inline for %s, no rule of the pod grants it",
			       l->ans.qname[0] ? l->ans.qname : "(no usable name)");
	if (rec->ep_id != LW_EP_ID || rec->ifindex != (__u32)w->ifindex || rec->dns_id != r->dns_id)
		return lw_fail(why, cap, "record ep %u ifindex %u id %04x", rec->ep_id,
			       rec->ifindex, ntohs(rec->dns_id));
	if (rec->name_len != strlen(l->ans.qname) || memcmp(rec->name, l->ans.qname, rec->name_len))
		return lw_fail(why, cap, "record name \"%.*s\", ldns \"%s\"", (int)rec->name_len,
			       rec->name, l->ans.qname);
	if (rec->n_addrs != l->plan.n_learn || r->n_learned != l->plan.n_learn ||
	    rec->n_addrs > PW_LEARN_REC_ADDRS)
		return lw_fail(why, cap, "kernel learned %zu (record %u), ldns %zu addresses",
			       r->n_learned, rec->n_addrs, l->plan.n_learn);
	for (size_t i = 0; i < r->n_learned; i++) {
		const struct lw_kaddr *k = &r->learned[i];
		const struct pw_learn_item *it = lw_plan_find(&l->plan, k->family, &k->addr);
		bool in_rec = false;

		pw_ip_str(k->family, &k->addr, ip);
		if (!it)
			return lw_fail(why, cap, "kernel learned %s, ldns does not", ip);
		for (size_t j = 0; j < rec->n_addrs; j++) {
			const struct pw_learn_addr *ra = &rec->addrs[j];

			if (ra->family == k->family &&
			    !memcmp(&ra->addr, &k->addr, sizeof(k->addr)))
				in_rec = ra->expires_ns == k->expires_ns;
		}
		if (!in_rec)
			return lw_fail(why, cap, "%s in pw_learned, not in the record as such", ip);
		if (k->expires_ns - rec->ts_ns != it->expires_ns)
			return lw_fail(why, cap, "%s expires in %.3f s, ldns %.3f s", ip,
				       (double)(int64_t)(k->expires_ns - rec->ts_ns) / 1e9,
				       (double)it->expires_ns / 1e9);
		if (k->portset != rec->portset ||
		    !lw_same_ports(w, k->portset,
				   it->guard != PW_G_EXEMPT ? &l->plan.ports_private
							    : &l->plan.ports))
			return lw_fail(why, cap, "%s: portset %u is not the ports the agent grants",
				       ip, k->portset);
	}
	return 0;
}

#endif

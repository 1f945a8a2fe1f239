// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * drift: on every reconcile, what the kernel holds is compared with the
 * agent's own state and put back where they differ: each endpoint's entry in
 * pw_endpoints, the CIDR rules of each enforced endpoint (missing, altered,
 * or extra), the port sets the rules point to, and entries of endpoints the
 * agent does not know. Each repair is logged and counted
 * (podwall_drift_repairs_total). The hooks are checked by reconcile_hooks().
 * Every read and write goes through the typed map interface (mapops.h), so
 * tests/unit/test_sync.c runs it on the recording fake.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"
#include "log.h"

static void repaired(struct pw_agent *a, enum pw_drift_kind kind, const char *what)
{
	a->st.drift_repairs[kind]++;
	pw_warn("drift repaired: %s", what);
}

/* The entry endpoint_write() last wrote for ep, or why the kernel's differs. */
static bool endpoint_drifted(struct pw_agent *a, const struct pw_ep *ep, char *why, size_t len)
{
	uint8_t mode = ep->managed ? ep->compiled.mode : PW_MODE_OPEN;
	uint8_t act = mode == PW_MODE_ENFORCE ? ep->compiled.deny_action : PW_DENY_DROP;
	struct pw_endpoint v;

	if (pw_map_get_endpoints(a->maps, &ep->ifindex, &v)) {
		snprintf(why, len, "pw_endpoints has no entry for ifindex %u", ep->ifindex);
		return true;
	}
	if (v.ep_id != ep->ep_id || v.mode != mode || v.flags != pw_sync_ep_flags(ep, mode) ||
	    v.deny_action != act || v.policy_gen != ep->policy_gen || memcmp(v.ip4, &ep->ip4, 4) ||
	    memcmp(v.ip6, ep->ip6, 16)) {
		snprintf(
			why, len,
			"pw_endpoints entry of ifindex %u altered (id %u mode %u gen %u; agent: id "
			"%u mode %u gen %u)",
			ep->ifindex, v.ep_id, v.mode, v.policy_gen, ep->ep_id, mode,
			ep->policy_gen);
		return true;
	}
	return false;
}

static void cidr_key(uint32_t ep_id, const struct pw_cidr_entry *e, void *k4, void *k6)
{
	struct pw_cidr4_key *a = k4;
	struct pw_cidr6_key *b = k6;

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	if (e->family == PW_FAMILY_V4) {
		a->prefixlen = 32 + e->prefix;
		a->ep_id = ep_id;
		memcpy(a->addr, &e->addr.v4, 4);
	} else {
		b->prefixlen = 32 + e->prefix;
		b->ep_id = ep_id;
		memcpy(b->addr, e->addr.v6, 16);
	}
}

/* Each rule of an enforced endpoint is in its LPM map with its port set. */
static bool rules_drifted(struct pw_agent *a, struct pw_ep *ep, char *why, size_t len)
{
	if (!ep->managed)
		return false;
	for (size_t i = 0; i < ep->compiled.n_cidrs; i++) {
		const struct pw_cidr_entry *e = &ep->compiled.cidrs[i];
		struct pw_cidr4_key k4;
		struct pw_cidr6_key k6;
		struct pw_cidr_val v;
		uint32_t want;
		int err;

		cidr_key(ep->ep_id, e, &k4, &k6);
		if (pw_portsets_id(&a->portsets, a->maps, &e->ports, &want))
			continue; /* cannot tell: pw_ports full, already reported */
		err = e->family == PW_FAMILY_V4 ? pw_map_get_cidr4(a->maps, &k4, &v)
						: pw_map_get_cidr6(a->maps, &k6, &v);
		if (err) {
			snprintf(why, len, "pw_cidr%c: rule %zu of endpoint %u is missing",
				 e->family == PW_FAMILY_V4 ? '4' : '6', i, ep->ep_id);
			return true;
		}
		if (v.portset != want) {
			snprintf(why, len,
				 "pw_cidr%c: rule %zu of endpoint %u points to port set %u, "
				 "not %u",
				 e->family == PW_FAMILY_V4 ? '4' : '6', i, ep->ep_id, v.portset,
				 want);
			return true;
		}
	}
	return false;
}

struct stale_ctx {
	struct pw_agent *a;
	uint8_t family;
};

/* A rule no endpoint of the agent wants: another endpoint's id, or a prefix
 * the endpoint's policies do not have. */
static bool cidr_unwanted(const void *key, const void *value, void *ctx)
{
	const struct stale_ctx *c = ctx;
	const struct pw_cidr4_key *k = key; /* ep_id at the same offset in both */
	struct pw_ep *ep = pw_eps_by_id(&c->a->eps, k->ep_id);
	size_t ksz = c->family == PW_FAMILY_V4 ? sizeof(struct pw_cidr4_key)
					       : sizeof(struct pw_cidr6_key);

	if (!ep || !ep->managed)
		return true;
	for (size_t i = 0; i < ep->compiled.n_cidrs; i++) {
		struct pw_cidr4_key k4;
		struct pw_cidr6_key k6;

		if (ep->compiled.cidrs[i].family != c->family)
			continue;
		cidr_key(ep->ep_id, &ep->compiled.cidrs[i], &k4, &k6);
		if (!memcmp(c->family == PW_FAMILY_V4 ? (void *)&k4 : (void *)&k6, key, ksz))
			return false;
	}
	return true;
}

static bool endpoint_unknown(const void *key, const void *value, void *ctx)
{
	return !pw_eps_by_ifindex(&((struct pw_agent *)ctx)->eps, *(const uint32_t *)key);
}

static void portsets_check(struct pw_agent *a)
{
	for (size_t i = 0; i < a->portsets.n; i++) {
		const struct pw_portset_ent *e = &a->portsets.v[i];
		struct pw_portset want, got;
		char what[96];

		pw_portset_value(e, &want);
		if (!pw_map_get_ports(a->maps, &e->id, &got) && !memcmp(&got, &want, sizeof(want)))
			continue;
		if (pw_map_put_ports(a->maps, &e->id, &want, PW_MAP_ANY))
			continue;
		snprintf(what, sizeof(what), "pw_ports: port set %u rewritten", e->id);
		repaired(a, PW_DRIFT_PORTS, what);
	}
}

void pw_drift_check(struct pw_agent *a)
{
	long deleted = 0;

	/* Port sets first: the rules written next point to them. */
	portsets_check(a);
	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		char why[PW_ERR_LEN], pod[300], what[PW_ERR_LEN + 320];
		enum pw_drift_kind kind;

		if (endpoint_drifted(a, ep, why, sizeof(why)))
			kind = PW_DRIFT_ENDPOINT;
		else if (rules_drifted(a, ep, why, sizeof(why)))
			kind = PW_DRIFT_RULES;
		else
			continue;
		/* Rewrites every entry of the endpoint, its entry last. */
		if (pw_sync_ep(a, ep)) {
			pw_err("%s: %s; rewriting it failed", pw_ep_pod(ep, pod, sizeof(pod)), why);
			continue;
		}
		snprintf(what, sizeof(what), "%s: %s", pw_ep_pod(ep, pod, sizeof(pod)), why);
		repaired(a, kind, what);
	}
	for (int i = 0; i < 2; i++) {
		uint8_t f = i ? PW_FAMILY_V6 : PW_FAMILY_V4;
		struct stale_ctx c = {a, f};

		deleted = 0;
		if (f == PW_FAMILY_V4)
			pw_map_sweep_cidr4(a->maps, cidr_unwanted, &c, &deleted);
		else
			pw_map_sweep_cidr6(a->maps, cidr_unwanted, &c, &deleted);
		while (deleted-- > 0)
			repaired(a, PW_DRIFT_RULES,
				 f == PW_FAMILY_V4 ? "pw_cidr4: a rule no policy "
						     "grants removed"
						   : "pw_cidr6: a rule no policy "
						     "grants removed");
	}
	deleted = 0;
	pw_map_sweep_endpoints(a->maps, endpoint_unknown, a, &deleted);
	while (deleted-- > 0)
		repaired(a, PW_DRIFT_ENDPOINT,
			 "pw_endpoints: an entry for a veth the agent does "
			 "not manage removed");
}

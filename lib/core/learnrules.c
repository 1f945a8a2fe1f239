// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>

#include "learnrules.h"

uint64_t pw_learn_ttl_ns(const struct pw_learn_rules *r, uint32_t ttl)
{
	if (ttl < r->min_ttl_s)
		ttl = r->min_ttl_s;
	if (ttl > r->max_ttl_s)
		ttl = r->max_ttl_s;
	return (uint64_t)ttl * 1000000000ULL;
}

/* The guarding kind of addr for qname, or PW_G_EXEMPT. */
static uint8_t guard_kind(const struct pw_learn_rules *r, const char *qname, uint8_t family,
			  const union pw_ip *addr)
{
	if (!r->guard)
		return PW_G_EXEMPT;
	if (r->cluster_domain && pw_guard_cluster_name(qname, r->cluster_domain))
		return PW_G_EXEMPT;
	return pw_guard_match(r->guard, family, addr);
}

int pw_learn_plan(const struct pw_learn_rules *r, const struct pw_compiled *c,
		  const struct pw_dns_answer *ans, struct pw_learn_plan *plan)
{
	int priv = -1; /* pw_compiled_fqdn_ports_private, asked once when needed */

	memset(plan, 0, sizeof(*plan));
	plan->matched = pw_compiled_fqdn_ports(c, ans->qname, &plan->ports);
	if (plan->matched <= 0)
		return plan->matched;
	for (size_t i = 0; i < ans->n_addrs && i < PW_DNS_MAX_ADDRS; i++) {
		const struct pw_dns_addr *d = &ans->addrs[i];
		struct pw_learn_item *it = &plan->items[plan->n_items++];

		it->family = d->family;
		it->addr = d->addr;
		if (plan->n_learn >= r->max_addrs) {
			it->why = PW_LW_OVER_CAP;
			continue;
		}
		if (pw_compiled_denies(c, d->family, &d->addr, &plan->ports)) {
			it->why = PW_LW_DENIED;
			plan->n_refused++;
			continue;
		}
		it->guard = guard_kind(r, ans->qname, d->family, &d->addr);
		if (it->guard != PW_G_EXEMPT) {
			if (priv < 0)
				priv = pw_compiled_fqdn_ports_private(c, ans->qname,
								      &plan->ports_private) > 0;
			if (!priv) {
				it->why = PW_LW_GUARDED;
				plan->n_refused++;
				continue;
			}
		}
		it->why = PW_LW_LEARN;
		it->expires_ns = pw_learn_ttl_ns(r, d->ttl);
		plan->n_learn++;
	}
	return plan->matched;
}

const char *pw_learn_why_name(uint8_t why)
{
	switch (why) {
	case PW_LW_LEARN:
		return "learn";
	case PW_LW_DENIED:
		return "denied";
	case PW_LW_GUARDED:
		return "guarded";
	case PW_LW_OVER_CAP:
		return "over-cap";
	}
	return "?";
}

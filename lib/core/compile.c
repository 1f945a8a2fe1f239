// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "fqdn.h"
#include "ipaddr.h"
#include "portsets.h"

static int range_cmp(const void *a, const void *b)
{
	const struct pw_port_range *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sort and merge overlapping or adjacent ranges of the same protocol in place;
 * returns the new count. */
static uint32_t ranges_merge(struct pw_port_range *v, uint32_t n)
{
	uint32_t out = 0;

	qsort(v, n, sizeof(*v), range_cmp);
	for (uint32_t i = 0; i < n; i++) {
		struct pw_port_range *last = out ? &v[out - 1] : NULL;

		if (last && last->proto == v[i].proto &&
		    (uint32_t)v[i].lo <= (uint32_t)last->hi + 1) {
			if (v[i].hi > last->hi)
				last->hi = v[i].hi;
			continue;
		}
		v[out++] = v[i];
	}
	return out;
}

int pw_rangeset_add(struct pw_range_set *s, uint8_t proto, uint16_t lo, uint16_t hi)
{
	struct pw_port_range tmp[PW_MAX_PORT_RANGES + 1];
	uint32_t n;

	if (s->n == 1 && s->r[0].proto == PW_PROTO_ANY)
		return 0; /* already everything */
	if (proto == PW_PROTO_ANY) {
		memset(s, 0, sizeof(*s));
		s->r[0].proto = PW_PROTO_ANY;
		s->r[0].hi = 65535;
		s->n = 1;
		return 0;
	}
	memcpy(tmp, s->r, s->n * sizeof(*tmp));
	tmp[s->n] = (struct pw_port_range){.lo = lo, .hi = hi, .proto = proto};
	n = ranges_merge(tmp, s->n + 1);
	if (n > PW_MAX_PORT_RANGES)
		return -E2BIG;
	memset(s, 0, sizeof(*s));
	memcpy(s->r, tmp, n * sizeof(*tmp));
	s->n = n;
	return 0;
}

int pw_rangeset_union(struct pw_range_set *dst, const struct pw_range_set *src)
{
	for (uint32_t i = 0; i < src->n; i++) {
		int err = pw_rangeset_add(dst, src->r[i].proto, src->r[i].lo, src->r[i].hi);

		if (err)
			return err;
	}
	return 0;
}

/* The union of ports (none: an empty set). */
static int rangeset_of_ports(struct pw_range_set *s, const struct pw_port *ports, size_t n)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		const struct pw_port *p = &ports[i];
		uint16_t lo = p->port, hi = p->end_port ? p->end_port : p->port;
		int err;

		if (!p->port)
			hi = 65535;
		err = pw_rangeset_add(s, p->proto, lo, hi);
		if (err)
			return err;
	}
	return 0;
}

int pw_rangeset_from_rule(struct pw_range_set *s, const struct pw_rule *rule)
{
	memset(s, 0, sizeof(*s));
	if (!rule->n_ports)
		return pw_rangeset_add(s, PW_PROTO_ANY, 0, 65535);
	return rangeset_of_ports(s, rule->ports, rule->n_ports);
}

bool pw_rangeset_allows(const struct pw_range_set *s, uint8_t proto, uint16_t port)
{
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->r[i].proto == PW_PROTO_ANY)
			return true;
		if (s->r[i].proto == proto && port >= s->r[i].lo && port <= s->r[i].hi)
			return true;
	}
	return false;
}

/* A contains B: same family, A no longer than B, B inside A. */
static bool cidr_contains(const struct pw_cidr *a, uint8_t family, const union pw_ip *addr,
			  uint8_t prefix)
{
	return a->family == family && a->prefix <= prefix &&
	       pw_ip_in_prefix(family, addr, &a->addr, a->prefix);
}

/* The prefix length of one address. */
static uint8_t host_bits(uint8_t family)
{
	return family == PW_FAMILY_V4 ? 32 : 128;
}

struct rule_ref {
	const struct pw_rule *rule;
	struct pw_range_set ports;
};

/* Add prefix p (no ports yet) to the entries *v unless it is there. */
static int add_prefix(struct pw_cidr_entry **v, size_t *n, const struct pw_cidr *p)
{
	struct pw_cidr_entry *grown;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].family == p->family && (*v)[i].prefix == p->prefix &&
		    !memcmp(&(*v)[i].addr, &p->addr, sizeof(p->addr)))
			return 0;
	grown = realloc(*v, (*n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	*v = grown;
	memset(&grown[*n], 0, sizeof(*grown));
	grown[*n].family = p->family;
	grown[*n].prefix = p->prefix;
	grown[*n].addr = p->addr;
	(*n)++;
	return 0;
}

/* The prefixes of rules (their cidrs and excepts) into *v. */
static int add_rule_prefixes(struct pw_cidr_entry **v, size_t *n, const struct rule_ref *refs,
			     size_t n_refs)
{
	for (size_t i = 0; i < n_refs; i++) {
		const struct pw_rule *r = refs[i].rule;

		for (size_t j = 0; j < r->n_cidrs; j++) {
			int err = add_prefix(v, n, &r->cidrs[j].cidr);

			for (size_t k = 0; !err && k < r->cidrs[j].n_except; k++)
				err = add_prefix(v, n, &r->cidrs[j].except[k]);
			if (err)
				return err;
		}
		/* toServices/toEntities: one host prefix per address */
		for (size_t j = 0; j < r->peers.n; j++) {
			const struct pw_peer *pe = &r->peers.v[j];
			struct pw_cidr one = {.family = pe->family,
					      .prefix = host_bits(pe->family),
					      .addr = pe->addr};
			int err;

			if (!pe->n_ports)
				continue; /* grants nothing */
			err = add_prefix(v, n, &one);
			if (err)
				return err;
		}
	}
	return 0;
}

static int add_fqdn(struct pw_compiled *c, const struct pw_fqdn_rule *f,
		    const struct pw_range_set *ports, bool allow_private)
{
	struct pw_fqdn_entry *n;
	int err;

	for (size_t i = 0; i < c->n_fqdns; i++) {
		if (strcmp(c->fqdns[i].pattern, f->pattern))
			continue;
		err = pw_rangeset_union(&c->fqdns[i].ports, ports);
		if (!err && allow_private)
			err = pw_rangeset_union(&c->fqdns[i].ports_private, ports);
		return err;
	}
	n = realloc(c->fqdns, (c->n_fqdns + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->fqdns = n;
	memset(&n[c->n_fqdns], 0, sizeof(*n));
	n[c->n_fqdns].kind = f->kind;
	n[c->n_fqdns].pattern = strdup(f->pattern);
	if (!n[c->n_fqdns].pattern)
		return -ENOMEM;
	n[c->n_fqdns].ports = *ports;
	if (allow_private)
		n[c->n_fqdns].ports_private = *ports;
	c->n_fqdns++;
	return 0;
}

const struct pw_fqdn_entry *pw_compiled_name_fqdn(const struct pw_compiled *c,
						  const struct pw_name_entry *n, bool *all_private)
{
	for (size_t i = 0; i < c->n_fqdns; i++) {
		const struct pw_fqdn_entry *f = &c->fqdns[i];
		const char *text;

		if (pw_fqdn_table_kind(f->pattern, &text) != n->kind || strcmp(text, n->text))
			continue;
		if (all_private)
			*all_private = f->ports_private.n &&
				       !memcmp(&f->ports_private, &f->ports, sizeof(f->ports));
		return f;
	}
	return NULL;
}

int pw_compiled_add_name(struct pw_compiled *c, const char *pattern, uint8_t flags)
{
	const char *text;
	uint8_t kind = pw_fqdn_table_kind(pattern, &text);
	size_t lo = 0, hi = c->n_names;
	struct pw_name_entry *n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = c->names[mid].kind != kind ? c->names[mid].kind - kind
						   : strcmp(c->names[mid].text, text);

		if (!d) {
			c->names[mid].flags |= flags;
			return 0;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	n = realloc(c->names, (c->n_names + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->names = n;
	memmove(n + lo + 1, n + lo, (c->n_names - lo) * sizeof(*n));
	n[lo].kind = kind;
	n[lo].flags = flags;
	n[lo].text = strdup(text);
	if (!n[lo].text) {
		memmove(n + lo, n + lo + 1, (c->n_names - lo) * sizeof(*n));
		return -ENOMEM;
	}
	c->n_names++;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct pw_cidr_entry *x = a, *y = b;
	int d;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	d = memcmp(&x->addr, &y->addr, sizeof(x->addr));
	if (d)
		return d;
	return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

/* ports(P) = union of the ports of every rule whose cidr contains P and none of
 * whose excepts contains P. */
static int cidr_ports(struct pw_cidr_entry *e, const struct rule_ref *refs, size_t n_refs)
{
	for (size_t i = 0; i < n_refs; i++) {
		const struct pw_rule *r = refs[i].rule;

		for (size_t j = 0; j < r->n_cidrs; j++) {
			const struct pw_cidr_rule *cr = &r->cidrs[j];
			bool excepted = false;
			int err;

			if (!cidr_contains(&cr->cidr, e->family, &e->addr, e->prefix))
				continue;
			for (size_t k = 0; k < cr->n_except && !excepted; k++)
				excepted = cidr_contains(&cr->except[k], e->family, &e->addr,
							 e->prefix);
			if (excepted)
				continue;
			err = pw_rangeset_union(&e->ports, &refs[i].ports);
			if (err)
				return err;
		}
		/* toServices/toEntities: exactly this address, on the peer's ports */
		for (size_t j = 0; j < r->peers.n; j++) {
			const struct pw_peer *pe = &r->peers.v[j];
			struct pw_range_set ps;
			int err;

			if (pe->family != e->family || e->prefix != host_bits(e->family) ||
			    memcmp(&pe->addr, &e->addr, sizeof(e->addr)))
				continue;
			err = rangeset_of_ports(&ps, pe->ports, pe->n_ports);
			if (!err)
				err = pw_rangeset_union(&e->ports, &ps);
			if (err)
				return err;
		}
	}
	return 0;
}

/* The longest entry of v holding addr/prefix, or NULL. */
static const struct pw_cidr_entry *longest(const struct pw_cidr_entry *v, size_t n, uint8_t family,
					   const union pw_ip *addr, uint8_t prefix)
{
	const struct pw_cidr_entry *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (v[i].family == family && v[i].prefix <= prefix &&
		    (!best || v[i].prefix > best->prefix) &&
		    pw_ip_in_prefix(family, addr, &v[i].addr, v[i].prefix))
			best = &v[i];
	return best;
}

/*
 * Apply the deny rules: every candidate prefix (allow cidrs and excepts, deny
 * cidrs and excepts are all in c->cidrs) loses the ports denied on it (a deny
 * without ports: all of them). For any address, every rule prefix holding it
 * also holds its longest candidate, so that candidate's verdict is the
 * address's. An empty entry whose longest holder is empty too (or absent)
 * changes no verdict and is dropped. c->deny gets the deny prefixes with the
 * ports denied on each, for the learner.
 */
static int apply_deny(struct pw_compiled *c, const struct rule_ref *deny, size_t n_deny)
{
	bool *drop;
	size_t out = 0;
	int err;

	err = add_rule_prefixes(&c->deny, &c->n_deny, deny, n_deny);
	if (err)
		return err;
	if (c->n_deny > 1)
		qsort(c->deny, c->n_deny, sizeof(*c->deny), entry_cmp);
	for (size_t i = 0; i < c->n_deny; i++) {
		err = cidr_ports(&c->deny[i], deny, n_deny);
		if (err)
			return err;
	}
	for (size_t i = 0; i < c->n_cidrs; i++) {
		struct pw_cidr_entry *e = &c->cidrs[i];
		const struct pw_cidr_entry *d =
			longest(c->deny, c->n_deny, e->family, &e->addr, e->prefix);

		/* no deny prefix lies strictly between d and e: d's ports are e's */
		if (d) {
			err = pw_rangeset_subtract(&e->ports, &d->ports);
			if (err)
				return err;
		}
	}
	drop = calloc(c->n_cidrs ? c->n_cidrs : 1, sizeof(*drop));
	if (!drop)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_cidrs; i++) {
		const struct pw_cidr_entry *e = &c->cidrs[i], *holder = NULL;

		if (e->ports.n)
			continue;
		for (size_t j = 0; j < c->n_cidrs; j++) {
			const struct pw_cidr_entry *h = &c->cidrs[j];
			struct pw_cidr hc = {
				.family = h->family, .prefix = h->prefix, .addr = h->addr};

			if (j != i && h->prefix < e->prefix &&
			    cidr_contains(&hc, e->family, &e->addr, e->prefix) &&
			    (!holder || h->prefix > holder->prefix))
				holder = h;
		}
		drop[i] = !holder || !holder->ports.n;
	}
	for (size_t i = 0; i < c->n_cidrs; i++)
		if (!drop[i])
			c->cidrs[out++] = c->cidrs[i];
	c->n_cidrs = out;
	free(drop);
	return 0;
}

/* Rules of policy p (spec.<field>) with the ports each grants (or denies), after *v. */
static int add_refs(struct rule_ref **v, size_t *n, const struct pw_policy *p,
		    const struct pw_rule *rules, size_t n_rules, const char *field, char *err,
		    size_t errlen)
{
	struct rule_ref *grown;

	if (!n_rules)
		return 0;
	grown = realloc(*v, (*n + n_rules) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	*v = grown;
	for (size_t j = 0; j < n_rules; j++) {
		int ret = pw_rangeset_from_rule(&grown[*n].ports, &rules[j]);

		if (ret) {
			snprintf(err, errlen, "%s/%s: spec.%s[%zu]: too many port ranges",
				 p->namespace, p->name, field, j);
			return ret;
		}
		grown[(*n)++].rule = &rules[j];
	}
	return 0;
}

/* Compile the selecting policies of mode only_mode (-1: every mode). */
static int compile_some(const struct pw_policy *pols, size_t n_pols, const char *pod_namespace,
			const struct pw_labels *labels, int only_mode, struct pw_compiled *out,
			char *err, size_t errlen)
{
	struct pw_compiled c = {.mode = PW_MODE_AUDIT};
	struct rule_ref *refs = NULL, *deny = NULL;
	bool any_enforce = false, all_reject = true;
	size_t n_refs = 0, n_deny = 0;
	int ret = 0;

	for (size_t i = 0; i < n_pols; i++) {
		const struct pw_policy *p = &pols[i];
		char **np;

		if ((only_mode >= 0 && p->mode != only_mode) ||
		    !pw_policy_selects(p, pod_namespace, labels))
			continue;
		c.selected = true;
		if (p->mode == PW_MODE_ENFORCE) {
			c.mode = PW_MODE_ENFORCE;
			any_enforce = true;
			all_reject &= p->deny_action == PW_DENY_REJECT;
		}
		c.dns_any_name |= p->dns.any_name;
		c.dns_nxdomain |= p->dns.nxdomain;
		c.visibility |= p->visibility;
		for (size_t j = 0; j < p->dns.n_names; j++) {
			ret = pw_compiled_add_name(&c, p->dns.names[j].pattern, PW_NAME_F_RESOLVE);
			if (ret)
				goto cleanup;
		}
		np = realloc(c.policies, (c.n_policies + 1) * sizeof(*np));
		if (!np) {
			ret = -ENOMEM;
			goto cleanup;
		}
		c.policies = np;
		if (asprintf(&np[c.n_policies], "%s/%s", p->namespace, p->name) < 0) {
			ret = -ENOMEM;
			goto cleanup;
		}
		c.n_policies++;
		ret = add_refs(&refs, &n_refs, p, p->rules, p->n_rules, "egress", err, errlen);
		if (!ret)
			ret = add_refs(&deny, &n_deny, p, p->deny, p->n_deny, "deny", err, errlen);
		if (ret)
			goto cleanup;
	}
	if (!c.selected)
		c.mode = PW_MODE_ENFORCE;
	c.deny_action = any_enforce && all_reject ? PW_DENY_REJECT : PW_DENY_DROP;

	ret = add_rule_prefixes(&c.cidrs, &c.n_cidrs, refs, n_refs);
	if (!ret)
		ret = add_rule_prefixes(&c.cidrs, &c.n_cidrs, deny, n_deny);
	if (ret)
		goto cleanup;
	for (size_t i = 0; i < n_refs; i++) {
		const struct pw_rule *r = refs[i].rule;

		for (size_t j = 0; j < r->peers.n_names; j++) {
			ret = pw_compiled_add_name(&c, r->peers.names[j], PW_NAME_F_RESOLVE);
			if (ret)
				goto cleanup;
		}
		for (size_t j = 0; j < r->n_fqdns; j++) {
			ret = pw_compiled_add_name(&c, r->fqdns[j].pattern, PW_NAME_F_CONNECT);
			if (ret)
				goto cleanup;
			ret = add_fqdn(&c, &r->fqdns[j], &refs[i].ports, r->allow_private);
			if (ret == -E2BIG)
				snprintf(err, errlen,
					 "hostname %s: more than %d port ranges in all",
					 r->fqdns[j].pattern, PW_MAX_PORT_RANGES);
			if (ret)
				goto cleanup;
		}
	}
	if (c.n_cidrs > 1)
		qsort(c.cidrs, c.n_cidrs, sizeof(*c.cidrs), entry_cmp);
	for (size_t i = 0; i < c.n_cidrs; i++) {
		ret = cidr_ports(&c.cidrs[i], refs, n_refs);
		if (ret) {
			char ip[PW_IP_STRLEN];

			snprintf(err, errlen, "%s/%u: more than %d port ranges in all",
				 pw_ip_str(c.cidrs[i].family, &c.cidrs[i].addr, ip),
				 c.cidrs[i].prefix, PW_MAX_PORT_RANGES);
			goto cleanup;
		}
	}
	if (n_deny) {
		ret = apply_deny(&c, deny, n_deny);
		if (ret == -E2BIG)
			snprintf(err, errlen, "spec.deny: more than %d port ranges in all",
				 PW_MAX_PORT_RANGES);
		if (ret)
			goto cleanup;
	}
	*out = c;
	memset(&c, 0, sizeof(c));
cleanup:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	pw_compiled_free(&c);
	free(refs);
	free(deny);
	return ret;
}

/*
 * Audit never grants: for a pod that an enforce policy selects, only the enforce
 * policies' rules reach the maps. The audit policies' rules are compiled apart
 * (c->audit) so that a drop they would have allowed shows as an audit event.
 */
int pw_compile(const struct pw_policy *pols, size_t n_pols, const char *pod_namespace,
	       const struct pw_labels *labels, struct pw_compiled *out, char *err, size_t errlen)
{
	struct pw_compiled c = {0}, *aud = NULL;
	bool enforce = false;
	int ret;

	for (size_t i = 0; i < n_pols && !enforce; i++)
		enforce = pols[i].mode == PW_MODE_ENFORCE &&
			  pw_policy_selects(&pols[i], pod_namespace, labels);
	if (!enforce)
		return compile_some(pols, n_pols, pod_namespace, labels, -1, out, err, errlen);
	ret = compile_some(pols, n_pols, pod_namespace, labels, PW_MODE_ENFORCE, &c, err, errlen);
	if (ret)
		return ret;
	aud = calloc(1, sizeof(*aud));
	if (!aud) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = compile_some(pols, n_pols, pod_namespace, labels, PW_MODE_AUDIT, aud, err, errlen);
	if (ret)
		goto fail;
	if (!aud->selected) {
		pw_compiled_free(aud);
		free(aud);
		*out = c;
		return 0;
	}
	/* Every selecting policy is listed, in policy order. */
	for (size_t i = 0; i < aud->n_policies; i++)
		free(aud->policies[i]);
	free(aud->policies);
	aud->policies = NULL;
	aud->n_policies = 0;
	for (size_t i = 0; i < c.n_policies; i++)
		free(c.policies[i]);
	c.n_policies = 0;
	for (size_t i = 0; i < n_pols; i++) {
		const struct pw_policy *p = &pols[i];
		char **np;

		if (!pw_policy_selects(p, pod_namespace, labels))
			continue;
		np = realloc(c.policies, (c.n_policies + 1) * sizeof(*np));
		if (!np) {
			ret = -ENOMEM;
			goto fail;
		}
		c.policies = np;
		if (asprintf(&np[c.n_policies], "%s/%s", p->namespace, p->name) < 0) {
			ret = -ENOMEM;
			goto fail;
		}
		c.n_policies++;
	}
	c.audit = aud;
	c.visibility |= aud->visibility; /* what the pod's events show: every selecting policy */
	*out = c;
	return 0;
fail:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (aud)
		pw_compiled_free(aud);
	free(aud);
	pw_compiled_free(&c);
	return ret;
}

bool pw_compiled_audit_allows(const struct pw_compiled *c, uint8_t family, const union pw_ip *addr,
			      uint8_t proto, uint16_t port, const char *hostname)
{
	const struct pw_compiled *a = c->audit;
	const struct pw_cidr_entry *best = NULL;
	struct pw_range_set s;

	if (!a)
		return false;
	for (size_t i = 0; i < a->n_cidrs; i++) {
		const struct pw_cidr_entry *e = &a->cidrs[i];

		if (e->family == family && (!best || e->prefix > best->prefix) &&
		    pw_ip_in_prefix(family, addr, &e->addr, e->prefix))
			best = e;
	}
	if (best && pw_rangeset_allows(&best->ports, proto, port))
		return true;
	return hostname && pw_compiled_fqdn_ports(a, hostname, &s) > 0 &&
	       pw_rangeset_allows(&s, proto, port);
}

void pw_compiled_free(struct pw_compiled *c)
{
	if (c->audit) {
		pw_compiled_free(c->audit);
		free(c->audit);
	}
	for (size_t i = 0; i < c->n_fqdns; i++)
		free(c->fqdns[i].pattern);
	for (size_t i = 0; i < c->n_policies; i++)
		free(c->policies[i]);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i].text);
	free(c->names);
	free(c->fqdns);
	free(c->cidrs);
	free(c->deny);
	free(c->policies);
	memset(c, 0, sizeof(*c));
}

int pw_compiled_deny_subtract(const struct pw_compiled *c, uint8_t family, const union pw_ip *addr,
			      struct pw_range_set *ports)
{
	const struct pw_cidr_entry *d = longest(c->deny, c->n_deny, family, addr, 128);

	return d ? pw_rangeset_subtract(ports, &d->ports) : 0;
}

bool pw_compiled_denies(const struct pw_compiled *c, uint8_t family, const union pw_ip *addr,
			const struct pw_range_set *grant)
{
	struct pw_range_set left = {0};

	if (grant)
		left = *grant;
	else
		pw_rangeset_add(&left, PW_PROTO_ANY, 0, 65535);
	/* a difference too large to hold is not empty */
	return !pw_compiled_deny_subtract(c, family, addr, &left) && !left.n;
}

int pw_compiled_fqdn_ports(const struct pw_compiled *c, const char *qname, struct pw_range_set *out)
{
	int matched = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->n_fqdns; i++) {
		int err;

		if (!pw_fqdn_match(c->fqdns[i].pattern, qname))
			continue;
		matched = 1;
		err = pw_rangeset_union(out, &c->fqdns[i].ports);
		if (err)
			return err;
	}
	return matched;
}

int pw_compiled_fqdn_ports_private(const struct pw_compiled *c, const char *qname,
				   struct pw_range_set *out)
{
	int matched = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->n_fqdns; i++) {
		int err;

		if (!c->fqdns[i].ports_private.n || !pw_fqdn_match(c->fqdns[i].pattern, qname))
			continue;
		matched = 1;
		err = pw_rangeset_union(out, &c->fqdns[i].ports_private);
		if (err)
			return err;
	}
	return matched;
}

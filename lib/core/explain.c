// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events_fmt.h"
#include "explain.h"
#include "fqdn.h"
#include "ipaddr.h"

int pw_explain_parse_to(const char *s, char *host, uint16_t *port, uint8_t *proto, const char **why)
{
	char buf[PW_FQDN_MAX + 32], *slash, *colon, *h = buf;

	if (strlen(s) >= sizeof(buf)) {
		*why = "too long";
		return -EINVAL;
	}
	strcpy(buf, s);
	*proto = IPPROTO_TCP;
	*port = 0;
	slash = strrchr(buf, '/');
	if (slash) {
		*slash++ = '\0';
		if (!strcasecmp(slash, "tcp"))
			*proto = IPPROTO_TCP;
		else if (!strcasecmp(slash, "udp"))
			*proto = IPPROTO_UDP;
		else if (!strcasecmp(slash, "sctp"))
			*proto = IPPROTO_SCTP;
		else {
			*why = "the protocol after / is TCP, UDP or SCTP";
			return -EINVAL;
		}
	}
	if (buf[0] == '[') { /* [v6]:port */
		char *end = strchr(buf, ']');

		if (!end) {
			*why = "unclosed [";
			return -EINVAL;
		}
		*end = '\0';
		h = buf + 1;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon) {
			*why = "expected [ADDRESS]:PORT";
			return -EINVAL;
		}
	} else {
		colon = strchr(buf, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
	}
	if (colon) {
		char *end;
		long v;

		*colon++ = '\0';
		v = strtol(colon, &end, 10);
		if (end == colon || *end || v < 1 || v > 65535) {
			*why = "the port is a number from 1 to 65535";
			return -EINVAL;
		}
		*port = (uint16_t)v;
	}
	{
		uint8_t fam;
		union pw_ip ip;

		if (!pw_ip_parse(h, &fam, &ip)) {
			snprintf(host, PW_FQDN_MAX + 1, "%s", h);
			return 0;
		}
	}
	return pw_fqdn_normalize(h, host, why);
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}

static bool allows(const struct pw_range_set *s, uint8_t proto, uint16_t port)
{
	if (port)
		return pw_rangeset_allows(s, proto, port);
	/* no port asked: does it grant anything on this protocol? */
	for (uint32_t i = 0; i < s->n; i++)
		if (s->r[i].proto == PW_PROTO_ANY || s->r[i].proto == proto)
			return true;
	return false;
}

static json_t *ports_json(const struct pw_range_set *s)
{
	json_t *a = json_array();
	char b[48];

	for (uint32_t i = 0; i < s->n; i++) {
		const struct pw_port_range *r = &s->r[i];

		if (r->proto == PW_PROTO_ANY)
			snprintf(b, sizeof(b), "any");
		else if (r->lo == 0 && r->hi == 65535)
			snprintf(b, sizeof(b), "%s/*", proto_name(r->proto));
		else if (r->lo == r->hi)
			snprintf(b, sizeof(b), "%s/%u", proto_name(r->proto), r->lo);
		else
			snprintf(b, sizeof(b), "%s/%u-%u", proto_name(r->proto), r->lo, r->hi);
		json_array_append_new(a, json_string(b));
	}
	return a;
}

/* The selecting policies with a hostname rule for pattern. */
static json_t *policies_with(const struct pw_explain_in *in, const char *pattern)
{
	json_t *a = json_array();
	char b[300];

	for (size_t i = 0; i < in->n_pols; i++) {
		const struct pw_policy *p = &in->pols[i];
		bool has = false;

		if (!pw_policy_selects(p, in->pod_namespace, in->labels))
			continue;
		for (size_t r = 0; r < p->n_rules && !has; r++)
			for (size_t f = 0; f < p->rules[r].n_fqdns && !has; f++)
				has = !strcmp(p->rules[r].fqdns[f].pattern, pattern);
		if (has) {
			snprintf(b, sizeof(b), "%s/%s", p->namespace, p->name);
			json_array_append_new(a, json_string(b));
		}
	}
	return a;
}

static json_t *answer(const char *verdict, const char *reason, const char *why, const char *advice)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "verdict", verdict, "reason", reason, "why", why,
			 "advice", advice);
}

static json_t *explain_ip(const struct pw_explain_in *in, uint8_t fam, const union pw_ip *ip)
{
	const struct pw_cidr_entry *best = NULL;
	char why[512], ipb[PW_IP_STRLEN], pfx[PW_IP_STRLEN];
	json_t *o;

	for (size_t i = 0; i < in->compiled->n_cidrs; i++) {
		const struct pw_cidr_entry *c = &in->compiled->cidrs[i];

		if (c->family == fam && pw_ip_in_prefix(fam, ip, &c->addr, c->prefix) &&
		    (!best || c->prefix > best->prefix))
			best = c;
	}
	if (best) {
		snprintf(pfx, sizeof(pfx), "%s", pw_ip_str(best->family, &best->addr, ipb));
		if (!best->ports.n) {
			snprintf(why, sizeof(why), "%s is in an except of a CIDR rule (%s/%u)",
				 pw_ip_str(fam, ip, ipb), pfx, best->prefix);
			o = answer("deny", "no-rule", why,
				   "the policy excludes this address on purpose; change the "
				   "rule's except list if it should be reachable");
		} else if (!allows(&best->ports, in->proto, in->port)) {
			snprintf(why, sizeof(why), "the CIDR rule %s/%u grants other ports", pfx,
				 best->prefix);
			o = answer("deny", "port", why,
				   "add this port to the rule's ports, or use a granted one");
		} else {
			snprintf(why, sizeof(why), "the CIDR rule %s/%u grants it", pfx,
				 best->prefix);
			o = answer("allow", "cidr", why, "nothing: it may connect");
		}
		json_object_set_new(o, "rules",
				    json_pack("[{s:s,s:i,s:o}]", "cidr", pfx, "prefix",
					      best->prefix, "ports", ports_json(&best->ports)));
		return o;
	}
	/* An address the pod learned for a name it may reach. */
	for (size_t i = 0; i < in->n_names; i++) {
		const struct pw_learned_name *n = &in->names[i];

		for (size_t j = 0; j < n->n_addrs; j++) {
			const struct pw_learned_addr *a = &n->addrs[j];

			if (a->family != fam || memcmp(&a->ip, ip, sizeof(*ip)))
				continue;
			if (pw_learned_expires_ns(a) <= in->now_ns) {
				snprintf(why, sizeof(why), "learned for %s, but its TTL ran out",
					 n->name);
				return answer("deny", "expired", why,
					      "resolve the name again before connecting");
			}
			if (n->ports && !allows(n->ports, in->proto, in->port)) {
				snprintf(why, sizeof(why),
					 "learned for %s, whose rules grant other "
					 "ports",
					 n->name);
				return answer(
					"deny", "port", why,
					"add this port to the name's rule, or use a granted one");
			}
			snprintf(why, sizeof(why), "learned for %s (%llds left)", n->name,
				 (long long)((pw_learned_expires_ns(a) - in->now_ns) /
					     1000000000ULL));
			return answer("allow", "learned", why, "nothing: it may connect");
		}
	}
	snprintf(why, sizeof(why), "no CIDR rule covers %s and the pod learned it for no name",
		 pw_ip_str(fam, ip, ipb));
	return answer("deny", "no-rule", why,
		      "add a toCIDRs rule, or reach it by a name a toFQDNs rule grants "
		      "(resolving it first)");
}

static json_t *explain_name(const struct pw_explain_in *in)
{
	const struct pw_learned_name *ln = NULL;
	struct pw_range_set ports;
	json_t *rules = json_array(), *learned = json_array(), *shared = json_array(), *o;
	char why[600], ipb[PW_IP_STRLEN];
	size_t live = 0;
	int m;

	for (size_t i = 0; i < in->compiled->n_fqdns; i++) {
		const struct pw_fqdn_entry *f = &in->compiled->fqdns[i];

		if (!pw_fqdn_match(f->pattern, in->host))
			continue;
		json_array_append_new(
			rules, json_pack("{s:s,s:s,s:o,s:o}", "kind",
					 f->kind == PW_FQDN_NAME ? "matchName" : "matchPattern",
					 "pattern", f->pattern, "ports", ports_json(&f->ports),
					 "policies", policies_with(in, f->pattern)));
	}
	m = pw_compiled_fqdn_ports(in->compiled, in->host, &ports);
	for (size_t i = 0; i < in->n_names; i++)
		if (!strcmp(in->names[i].name, in->host))
			ln = &in->names[i];
	for (size_t j = 0; ln && j < ln->n_addrs; j++) {
		const struct pw_learned_addr *a = &ln->addrs[j];
		int64_t left = (int64_t)(pw_learned_expires_ns(a) - in->now_ns) / 1000000000LL;
		json_t *others = json_array();

		live += pw_learned_expires_ns(a) > in->now_ns;
		pw_ip_str(a->family, &a->ip, ipb);
		json_array_append_new(
			learned, json_pack("{s:s,s:I}", "ip", ipb, "ttl_left", (json_int_t)left));
		/* the same address learned for other names: a CDN or shared host */
		for (size_t i = 0; i < in->n_names; i++) {
			const struct pw_learned_name *n = &in->names[i];

			if (n == ln)
				continue;
			for (size_t k = 0; k < n->n_addrs; k++)
				if (n->addrs[k].family == a->family &&
				    !memcmp(&n->addrs[k].ip, &a->ip, sizeof(a->ip)))
					json_array_append_new(others, json_string(n->name));
		}
		if (json_array_size(others))
			json_array_append_new(shared,
					      json_pack("{s:s,s:o}", "ip", ipb, "names", others));
		else
			json_decref(others);
	}
	if (m <= 0) {
		snprintf(why, sizeof(why), "no toFQDNs rule of the pod's policies matches %s",
			 in->host);
		o = answer("deny", "no-rule", why,
			   "add a toFQDNs rule (matchName or matchPattern) for it; until then "
			   "its addresses are not learned even if the pod resolves it");
	} else if (!allows(&ports, in->proto, in->port)) {
		snprintf(why, sizeof(why), "%s is granted, but not %s/%u", in->host,
			 proto_name(in->proto), in->port);
		o = answer("deny", "port", why,
			   "use a port the rule grants, or add this one to the rule's ports");
	} else if (live) {
		snprintf(why, sizeof(why),
			 "%s is granted and the pod learned %zu address(es) "
			 "for it",
			 in->host, live);
		o = answer("allow", "learned", why,
			   "nothing: connect to one of the learned addresses before its TTL runs "
			   "out (resolve again after)");
	} else if (ln && ln->n_addrs) {
		snprintf(why, sizeof(why),
			 "%s is granted, but every address learned for it has "
			 "expired",
			 in->host);
		o = answer("deny", "expired", why,
			   "resolve the name again (through the cluster DNS) before connecting");
	} else {
		snprintf(why, sizeof(why), "%s is granted, but the pod has not resolved it yet",
			 in->host);
		o = answer("deny", "not-resolved", why,
			   "resolve the name through the cluster DNS first: the pod's own lookup "
			   "is what grants the addresses it gets back");
	}
	json_object_set_new(o, "rules", rules);
	json_object_set_new(o, "learned", learned);
	json_object_set_new(o, "shared", shared);
	if (json_array_size(shared))
		json_object_set_new(
			o, "warning",
			json_string("an address of this name is also one of other "
				    "names the pod resolved (a CDN or shared host): "
				    "granting one grants the address for every name on it"));
	return o;
}

json_t *pw_explain(const struct pw_explain_in *in)
{
	uint8_t fam;
	union pw_ip ip;
	json_t *o;

	if (!in->managed)
		o = answer("allow", "open",
			   "no policy selects the pod: Kubernetes' allow-all "
			   "default holds",
			   "nothing; select the pod with an EgressPolicy to restrict it");
	else if (!pw_ip_parse(in->host, &fam, &ip))
		o = explain_ip(in, fam, &ip);
	else
		o = explain_name(in);
	if (o && in->managed && in->compiled->mode == PW_MODE_AUDIT &&
	    !strcmp(json_string_value(json_object_get(o, "verdict")), "deny"))
		json_object_set_new(o, "audit",
				    json_string("the pod is in audit mode: the "
						"packet passes and an audit event "
						"is recorded"));
	return o;
}

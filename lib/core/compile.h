/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * compile: (policies, endpoint) -> what the maps must hold for that endpoint.
 * Pure and idempotent: the same input always gives the same output in the
 * same order, so writing it to the maps twice changes nothing.
 *
 * CIDR rules with `except` become a set of prefixes, each carrying the union
 * of the ports granted to every address under it: for an address, the longest
 * prefix of the set that contains it carries exactly the ports the policies
 * grant it (an `except` is a longer prefix without that rule's ports).
 *
 * A ClusterEgressPolicy's deny prefixes join the same set and take their
 * ports (every port when the deny names none) off every entry inside them: an
 * allow prefix inside a whole deny is an empty entry (dropped when the entry
 * holding it is empty too), a deny inside an allow is a longer prefix with the
 * allow's ports minus the denied ones, so the longest match denies whatever
 * the order of policies.
 */
#ifndef PODWALL_COMPILE_H
#define PODWALL_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podwall/maps.h"
#include "policy.h"

/* Canonical list of (protocol, port range): sorted, merged; a PW_PROTO_ANY
 * entry stands alone. Equal sets have equal bytes. */
struct pw_range_set {
	uint32_t n;
	struct pw_port_range r[PW_MAX_PORT_RANGES];
};

struct pw_cidr_entry {
	uint8_t family;
	uint8_t prefix;
	union pw_ip addr;
	/* may be empty: an except. In pw_compiled.deny: the ports denied (empty:
	 * a hole in the deny, not a grant) */
	struct pw_range_set ports;
};

struct pw_fqdn_entry {
	enum pw_fqdn_kind kind;
	char *pattern;
	struct pw_range_set ports;
	struct pw_range_set ports_private; /* of the rules with allowPrivate */
};

/* One entry of the endpoint's name table (pw_names): kind PW_NK_*, the text
 * the kernel compares, PW_NAME_F_* (the union over every rule naming it). */
struct pw_name_entry {
	uint8_t kind;
	uint8_t flags;
	char *text;
};

struct pw_compiled {
	bool selected; /* some policy selects the endpoint: default deny */
	uint8_t mode;  /* enforce if any selecting policy enforces */
	/* enum pw_deny_action: reject only if every selecting enforce policy
	 * says reject (a policy that asks for silence gets it); else drop */
	uint8_t deny_action;
	struct pw_cidr_entry *cidrs;
	size_t n_cidrs;
	struct pw_fqdn_entry *fqdns;
	size_t n_fqdns;
	char **policies; /* "namespace/name" of each selecting policy */
	size_t n_policies;
	/* Enforced pod also selected by audit policies: their rules, which grant
	 * nothing (audit never grants); NULL otherwise. */
	struct pw_compiled *audit;
	/* DNS: the names the pod may ask for (toFQDNs, spec.dns.resolveNames,
	 * then the search suffixes the agent adds), sorted by (kind, text). */
	struct pw_name_entry *names;
	size_t n_names;
	/* ClusterEgressPolicy spec.deny of the selecting policies, the longest
	 * prefix holding an address carrying the ports denied to it: cidrs above
	 * already grant none of them; the learner takes them off what a hostname
	 * rule grants (pw_compiled_deny_subtract), whatever that rule says. */
	struct pw_cidr_entry *deny;
	size_t n_deny;
	bool dns_any_name;  /* some selecting policy has resolveAnyName */
	bool dns_nxdomain;  /* some selecting policy has refuseWith: NXDOMAIN */
	uint8_t visibility; /* PW_VIS_*: the union over the selecting policies */
};

/* Add (or merge the flags of) a name table entry for a normalized pattern
 * ("x", "*.x", "**.x"), keeping names sorted. 0 or -ENOMEM. */
int pw_compiled_add_name(struct pw_compiled *c, const char *pattern, uint8_t flags);
/* The toFQDNs entry with exactly the pattern of name table entry n, or NULL:
 * what the kernel learner takes for n (its ports). With all_private, whether
 * every one of its rules has allowPrivate (its private ports are all its
 * ports: the kernel may then learn a guarded address for it, PW_NAME_F_PRIVATE). */
const struct pw_fqdn_entry *pw_compiled_name_fqdn(const struct pw_compiled *c,
						  const struct pw_name_entry *n, bool *all_private);

/* Add (proto, lo..hi) keeping the set canonical. -E2BIG past PW_MAX_PORT_RANGES. */
int pw_rangeset_add(struct pw_range_set *s, uint8_t proto, uint16_t lo, uint16_t hi);
int pw_rangeset_union(struct pw_range_set *dst, const struct pw_range_set *src);
/* The ports a rule grants (no ports: every protocol and port). */
int pw_rangeset_from_rule(struct pw_range_set *s, const struct pw_rule *rule);
bool pw_rangeset_allows(const struct pw_range_set *s, uint8_t proto, uint16_t port);

int pw_compile(const struct pw_policy *pols, size_t n_pols, const char *pod_namespace,
	       const struct pw_labels *labels, struct pw_compiled *out, char *err, size_t errlen);
void pw_compiled_free(struct pw_compiled *c);
/* Take off ports what the selecting ClusterEgressPolicies deny on addr (the
 * deny prefixes holding it, outside their excepts). 0 or -E2BIG. */
int pw_compiled_deny_subtract(const struct pw_compiled *c, uint8_t family, const union pw_ip *addr,
			      struct pw_range_set *ports);
/* Do the denies on addr take every port of grant (NULL: every protocol and
 * port)? Then nothing may grant it, a learned name neither. */
bool pw_compiled_denies(const struct pw_compiled *c, uint8_t family, const union pw_ip *addr,
			const struct pw_range_set *grant);
/* Would the audit policies of an enforced pod (c->audit) allow this packet?
 * hostname: the name the pod last resolved to addr, or NULL. */
bool pw_compiled_audit_allows(const struct pw_compiled *c, uint8_t family, const union pw_ip *addr,
			      uint8_t proto, uint16_t port, const char *hostname);

/* Union of the ports of every hostname rule matching qname. Returns 1 if a
 * rule matched, 0 if none, -E2BIG if the union does not fit. */
int pw_compiled_fqdn_ports(const struct pw_compiled *c, const char *qname,
			   struct pw_range_set *out);
/* The same for an address the rebinding guard holds: only the rules with
 * allowPrivate count. Returns 1 if such a rule matched, 0, or -E2BIG. */
int pw_compiled_fqdn_ports_private(const struct pw_compiled *c, const char *qname,
				   struct pw_range_set *out);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The rebinding guard's table: which prefixes a hostname rule never grants
 * (include/podwall/guard.h says how the kernel reads the same table). Pure:
 * the agent builds it from its options (and, in Kubernetes mode, the API),
 * writes it whole into pw_guard4 / pw_guard6, and asks it before learning.
 */
#ifndef PODWALL_CORE_GUARD_H
#define PODWALL_CORE_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podwall/guard.h"
#include "podwall/maps.h"

struct pw_guard_prefix {
	uint8_t family; /* PW_FAMILY_V4 / PW_FAMILY_V6 */
	uint8_t prefix;
	uint8_t kind; /* enum pw_guard_kind */
	union pw_ip addr;
	char *source; /* where it came from: "default", "option", "interface",
		       * "api:node/NAME", "api:service/NS/NAME"... (owned; NULL: unknown) */
};

struct pw_guard_key {
	uint8_t family, prefix, kind;
	union pw_ip addr;
};

struct pw_guard {
	struct pw_guard_prefix *v;
	size_t n, cap;
	/* pw_guard_index(): the prefixes sorted by (family, length, address),
	 * and which lengths occur, so that a match is one binary search per
	 * length instead of a scan (a thousand nodes are 4000 prefixes). */
	struct pw_guard_key *sorted;
	size_t n_sorted; /* == n while the index is current */
	uint8_t has_len[2][129];
};

/* The fixed part: RFC 1918, 100.64.0.0/10, fc00::/7, 64:ff9b::/96, 64:ff9b:1::/48. */
int pw_guard_add_defaults(struct pw_guard *g);
/* Add one prefix (host bits are cleared). The same (family, prefix, address)
 * twice keeps the first kind unless the new one is PW_G_EXEMPT. -E2BIG past
 * PW_MAX_GUARD per family, -ENOMEM. */
int pw_guard_add(struct pw_guard *g, uint8_t family, const union pw_ip *addr, uint8_t prefix,
		 uint8_t kind);
/* The same, recording where the prefix came from (copied; NULL: unknown). */
int pw_guard_add_from(struct pw_guard *g, uint8_t family, const union pw_ip *addr, uint8_t prefix,
		      uint8_t kind, const char *source);
/* "10.42.0.0/16" or "10.43.0.1" (a host). -EINVAL with *why. */
int pw_guard_add_str(struct pw_guard *g, const char *s, uint8_t kind, const char **why);
int pw_guard_add_str_from(struct pw_guard *g, const char *s, uint8_t kind, const char *source,
			  const char **why);
/* Same prefixes, kinds and sources, in the same order. */
bool pw_guard_equal(const struct pw_guard *x, const struct pw_guard *y);
/* Longest match of the address and, for IPv6 forms carrying an IPv4 address,
 * of that address (pw_guard_embedded_v4). Returns the guarding kind, or
 * PW_G_EXEMPT (0) if the address may be learned. */
uint8_t pw_guard_match(const struct pw_guard *g, uint8_t family, const union pw_ip *addr);
/* Build the lookup index (after the last add; an add makes it stale and
 * pw_guard_match scans again). 0 or -ENOMEM (the scan still works). */
int pw_guard_index(struct pw_guard *g);
/* Is qname (normalized) in the cluster domain ("svc.cluster.local" under
 * "cluster.local")? An empty domain matches nothing. */
bool pw_guard_cluster_name(const char *qname, const char *domain);
const char *pw_guard_kind_name(uint8_t kind);
void pw_guard_free(struct pw_guard *g);

#endif

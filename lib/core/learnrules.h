/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * learnrules: what one parsed DNS answer lets a pod learn, decided once.
 *
 * The agent's learner (agent/dnshold.c) applies this plan to its state and the
 * maps; the differential test (tests/bpf/test_learn_diff.c) and the fuzz
 * target fuzz_bpf_answer compare the kernel learner against it. Pure: the
 * policy (compiled), the rebinding guard and the options come in, a list of
 * per-address decisions goes out; no maps, no agent state, no clock.
 */
#ifndef PODWALL_CORE_LEARNRULES_H
#define PODWALL_CORE_LEARNRULES_H

#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "dns.h"
#include "guard.h"

/* Why an address of the answer is (not) learned. */
enum pw_learn_why {
	PW_LW_LEARN = 0, /* learned: expires_ns after now */
	PW_LW_DENIED,	 /* a ClusterEgressPolicy denies every port the name grants on it */
	PW_LW_GUARDED,	 /* rebinding guard, no allowPrivate rule for the name */
	PW_LW_OVER_CAP,	 /* past the first max_addrs learnable addresses */
};

/* The agent's options and tables the rules read. */
struct pw_learn_rules {
	uint32_t min_ttl_s, max_ttl_s; /* --min-ttl / --max-ttl */
	uint32_t max_addrs;	       /* --max-addrs-per-name */
	const struct pw_guard *guard;  /* NULL: no guard */
	const char *cluster_domain;    /* names under it skip the guard; NULL/"": none */
};

struct pw_learn_item {
	uint8_t family; /* PW_FAMILY_V4 / PW_FAMILY_V6 */
	uint8_t why;	/* enum pw_learn_why */
	uint8_t guard;	/* PW_LW_GUARDED: the guarding kind (enum pw_guard_kind) */
	union pw_ip addr;
	uint64_t expires_ns; /* PW_LW_LEARN: clamp(TTL) in ns, to add to now */
};

struct pw_learn_plan {
	/* pw_compiled_fqdn_ports for the question name: 1 a hostname rule
	 * matched, 0 none (nothing learned, items empty), -E2BIG the union of
	 * its ports does not fit (nothing learned, items empty). */
	int matched;
	/* The ports an address learned for the name grants: ports (every
	 * matching rule), or ports_private (the allowPrivate rules) for an
	 * address the guard holds (items[].guard != PW_G_EXEMPT; filled once
	 * one is). */
	struct pw_range_set ports;
	struct pw_range_set ports_private;
	size_t n_items;	  /* the answer's addresses in order, until the cap is reached */
	size_t n_learn;	  /* items with PW_LW_LEARN */
	size_t n_refused; /* PW_LW_DENIED + PW_LW_GUARDED */
	struct pw_learn_item items[PW_DNS_MAX_ADDRS];
};

/* clamp(ttl, min_ttl_s, max_ttl_s) in nanoseconds. */
uint64_t pw_learn_ttl_ns(const struct pw_learn_rules *r, uint32_t ttl);

/*
 * Decide what ans lets the endpoint compiled as c learn. Addresses are taken in
 * answer order; the first max_addrs with PW_LW_LEARN are learned, the rest are
 * PW_LW_OVER_CAP (still listed). Refused, and not counted towards the cap: an
 * address on which the deny ranges take every port the name grants
 * (pw_compiled_denies), and one in the rebinding guard unless a rule for the
 * name has allowPrivate or the name is in the cluster domain. Returns
 * plan->matched.
 */
int pw_learn_plan(const struct pw_learn_rules *r, const struct pw_compiled *c,
		  const struct pw_dns_answer *ans, struct pw_learn_plan *plan);

const char *pw_learn_why_name(uint8_t why);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * explain: what would happen if a pod connected to HOST[:PORT][/PROTO], from
 * what the agent holds for it (the compiled rules it wrote to the maps, the
 * addresses the pod learned): the verdict the data path would give now, the
 * policy and rule behind it, what is learned for the name and for how long,
 * other names the pod resolved to the same addresses, and what the pod must
 * do. Pure: changes nothing.
 */
#ifndef PODWALL_EXPLAIN_H
#define PODWALL_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "compile.h"
#include "endpoint.h"
#include "policy.h"

struct pw_explain_in {
	const char *pod_namespace;
	const struct pw_labels *labels;
	bool managed; /* in the maps with rules (some policy selects it) */
	const struct pw_compiled *compiled;
	const struct pw_policy *pols; /* every loaded policy, to name the rule's */
	size_t n_pols;
	const struct pw_learned_name *names;
	size_t n_names;
	uint64_t now_ns; /* the clock of expires_ns */
	/* the destination */
	const char *host; /* a hostname or an address */
	uint8_t proto;	  /* IPPROTO_TCP/UDP/SCTP */
	uint16_t port;
};

/* "api.github.com:443/TCP", "192.0.2.1", "[2001:db8::1]:53/udp": host (out,
 * PW_FQDN_MAX + 1 bytes), port (0 when absent: the answer covers "any"),
 * proto (TCP when absent). -EINVAL with *why. */
int pw_explain_parse_to(const char *s, char *host, uint16_t *port, uint8_t *proto,
			const char **why);
/* {"verdict":"allow"|"deny","reason":...,"why":...,"rules":[...],"learned":[...],
 *  "shared":[...],"advice":...} */
json_t *pw_explain(const struct pw_explain_in *in);

#endif

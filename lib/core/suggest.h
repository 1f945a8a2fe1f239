/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * suggest: an EgressPolicy from what pods did. Each observation is a
 * destination the pod reached or tried (an audit/deny event, a name it
 * learned): a hostname with its port, or an address reached without a name.
 * Names become toFQDNs rules, grouped by the ports they need; sibling names
 * with the same ports collapse into a pattern when the pattern says exactly
 * their shape (all one label below a parent: "*.parent"; below it at several
 * depths: "**.parent"); addresses become /32 or /128 toCIDRs rules. Pure.
 */
#ifndef PODWALL_SUGGEST_H
#define PODWALL_SUGGEST_H

#include <stdbool.h>

#include <jansson.h>

struct pw_suggest {
	json_t *names; /* name -> {"TCP/443": true, ...} */
	json_t *addrs; /* address -> {"TCP/443": true, ...} */
};

void pw_suggest_init(struct pw_suggest *s);
void pw_suggest_free(struct pw_suggest *s);
/* proto "tcp"/"udp"/"sctp" (any case); port 0: every port of it. host NULL:
 * reached by address only. */
void pw_suggest_add(struct pw_suggest *s, const char *host, const char *addr, const char *proto,
		    int port);
/* The EgressPolicy object (apiVersion, kind, metadata, spec; mode enforce). */
json_t *pw_suggest_policy(const struct pw_suggest *s, const char *ns, const char *name,
			  json_t *match_labels, bool collapse);

#endif

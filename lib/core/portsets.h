/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * portsets: the port sets of pw_ports, content-addressed (one id a distinct
 * set of (protocol, port range)) and immutable while a rule references them.
 * The registry is the agent's copy of what the map holds; every write goes
 * through the typed map interface (mapops.h), so tests run it on a fake.
 */
#ifndef PODWALL_PORTSETS_H
#define PODWALL_PORTSETS_H

#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "mapops.h"

struct pw_portset_ent {
	uint32_t id;
	struct pw_range_set set;
};

struct pw_portsets {
	struct pw_portset_ent *v;
	size_t n;
	uint32_t next_id; /* 0 until loaded; ids start at 1 (0: any port) */
};

/* s minus m, canonical: 0, or -E2BIG (s unchanged) when the pieces do not
 * fit. A set of every protocol (PW_PROTO_ANY) minus some ports becomes TCP,
 * UDP, SCTP, ICMP and ICMPv6 without them: a port set cannot say "every
 * protocol but", so the other IP protocols are denied with the ports. */
int pw_rangeset_subtract(struct pw_range_set *s, const struct pw_range_set *m);

void pw_portsets_free(struct pw_portsets *p);
/* Adopt what pw_ports holds (after a restart): 0 or -errno. */
int pw_portsets_load(struct pw_portsets *p, struct pw_maps *m);
/* The id of set (0 for the empty set: any port), written to pw_ports first
 * when it is new: 0 or -errno (the map is full). */
int pw_portsets_id(struct pw_portsets *p, struct pw_maps *m, const struct pw_range_set *set,
		   uint32_t *id);
/* Mark and sweep: a port set that no pw_cidr4/6, pw_learned or pw_names
 * entry references is deleted. An incomplete mark sweeps nothing. */
void pw_portsets_gc(struct pw_portsets *p, struct pw_maps *m);
/* The map value an entry stands for. */
void pw_portset_value(const struct pw_portset_ent *e, struct pw_portset *out);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Turning a struct pw_event into the JSON record people and scripts read. Pure. */
#ifndef PODWALL_EVENTS_FMT_H
#define PODWALL_EVENTS_FMT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "owner.h"
#include "podwall/maps.h"

struct pw_event_ctx {
	uint64_t wall_ns;	     /* event time, CLOCK_REALTIME */
	const char *id;		     /* unique id of the record ("<agent start>-<seq>") */
	const char *node;	     /* the node the agent runs on */
	const char *namespace, *pod; /* NULL if the endpoint is unknown */
	const char *const *policies; /* selecting policies */
	size_t n_policies;
	const char *hostname;	      /* name the pod last resolved to the destination */
	const char *detail;	      /* free text (agent-side drops) */
	const struct pw_owner *owner; /* the pod's workload (owner.h); NULL: none known */
};

/* {"id","time","node","namespace","pod","owner":{"kind","name"}|null,"verdict",
 *  "reason","family","proto",
 *  "src","sport","dst","dport" | "icmp":{"type","code"},"hostname","policies",
 *  "ifindex","suppressed"[,"detail"]}: ports for TCP/UDP/SCTP, type and code
 *  for ICMP/ICMPv6 (never the echo id as a port). */
json_t *pw_event_to_json(const struct pw_event *e, const struct pw_event_ctx *c);

const char *pw_reason_name(uint8_t reason);
/* -1 if unknown. */
int pw_reason_from_name(const char *s);
/* Name of a counter below PW_C_DROP ("pass_flow"), NULL for the others. */
const char *pw_counter_name(int counter);
const char *pw_proto_name(uint8_t proto, char *buf, size_t len);
/* RFC 3339 UTC with milliseconds. */
const char *pw_time_str(uint64_t wall_ns, char *buf, size_t len);

#endif

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
	const char *query;	      /* a DNS query's name (struct pw_event_named) */
	const char *dns_path;	      /* also a DNS lookup record: its path ("refused") */
};

/* {"id","time","node","namespace","pod","owner":{"kind","name"}|null,"verdict",
 *  "reason","family","proto",
 *  "src","sport","dst","dport" | "icmp":{"type","code"},"hostname"[,"query"],
 *  "policies","ifindex","suppressed"[,"detail"][,"type":"dns","answers":[],"path"]}:
 *  ports for TCP/UDP/SCTP, type and code for ICMP/ICMPv6 (never the echo id as
 *  a port). verdict: drop, audit, pass, allow, reject (PW_VERDICT_*). */
json_t *pw_event_to_json(const struct pw_event *e, const struct pw_event_ctx *c);

/* Room for pw_event_name_str()'s text of any name of the kernel's. */
#define PW_EVENT_NAME_STRLEN (4 * 255 + 2)

/* A name's raw bytes as text: printable ASCII as it is, a backslash as "\\",
 * every other byte as \DDD (RFC 1035's presentation format); "." for the
 * root (len 0). out: PW_EVENT_NAME_STRLEN bytes, or the text is cut. */
const char *pw_event_name_str(const uint8_t *raw, size_t len, char *out, size_t outlen);

/* One record of the pw_events ring: a struct pw_event, or a struct
 * pw_event_named (by its size, maps.h). *e: the event; name: the question's
 * name as pw_event_name_str() writes it, "" for a plain event. 1: named, 0:
 * plain, -1: no record of ours (another size, a name_len past the name). */
int pw_event_decode(const void *data, size_t size, struct pw_event *e, char *name, size_t namelen);

const char *pw_reason_name(uint8_t reason);
/* -1 if unknown. */
int pw_reason_from_name(const char *s);
/* Name of a counter below PW_C_DROP ("pass_flow"), NULL for the others. */
const char *pw_counter_name(int counter);
const char *pw_proto_name(uint8_t proto, char *buf, size_t len);
/* RFC 3339 UTC with milliseconds. */
const char *pw_time_str(uint64_t wall_ns, char *buf, size_t len);

#endif

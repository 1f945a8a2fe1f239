/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* podwall's BPF maps. Layouts and sizes come from include/podwall/maps.h. */
#ifndef PODWALL_MAPS_BPF_H
#define PODWALL_MAPS_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>

#include "podwall/maps.h"
#include "podwall/guard.h"

/* Host veth ifindex -> endpoint. Full: the agent refuses the CNI ADD. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_endpoints SEC(".maps");

/* (endpoint, address) learned from the pod's own DNS answers -> expiry and
 * ports. Full: the agent drops the answer with PW_R_DNS_LEARN. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_LEARNED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_learned_key);
	__type(value, struct pw_learned_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_learned SEC(".maps");

/* (endpoint, IPv4 prefix) -> ports granted. Full: the policy is refused. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PW_MAX_CIDR);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_cidr4_key);
	__type(value, struct pw_cidr_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_cidr4 SEC(".maps");

/* (endpoint, IPv6 prefix) -> ports granted. Full: the policy is refused. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PW_MAX_CIDR);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_cidr6_key);
	__type(value, struct pw_cidr_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_cidr6 SEC(".maps");

/* The rebinding guard (podwall/guard.h): prefixes a hostname rule never
 * grants unless it opts in. Written whole by the agent; full: it refuses to
 * start. Read by the kernel's DNS learner through pw_guard_blocks(). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PW_MAX_GUARD);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_guard4_key);
	__type(value, struct pw_guard_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_guard4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PW_MAX_GUARD);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_guard6_key);
	__type(value, struct pw_guard_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_guard6 SEC(".maps");

/* Port set id -> immutable list of (protocol, port range). Full: policy refused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_PORTSETS);
	__type(key, __u32);
	__type(value, struct pw_portset);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ports SEC(".maps");

/* Allowed and inbound connections. Full: LRU eviction; the evicted flow's next
 * packet is checked against the rules again (never a pass by default). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_FLOWS);
	__type(key, struct pw_flow_key);
	__type(value, struct pw_flow_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_flows SEC(".maps");

/* DNS queries sent to trusted resolvers. Full: LRU eviction; the evicted
 * query's answer passes unlearned. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_DNS_PEND);
	__type(key, struct pw_dns_pend_key);
	__type(value, struct pw_dns_pend_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_dns_pend SEC(".maps");

/* Trusted resolvers (address, port 53). Full: the agent refuses to start. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_RESOLVERS);
	__type(key, struct pw_addr_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_resolvers SEC(".maps");

/* Heartbeat, release mark, flags, event rate. One entry. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_config SEC(".maps");

/* Global counters by enum pw_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_counters SEC(".maps");

/* Per-endpoint packet counts. Full: not counted per pod (global still is). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_ep_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_stats SEC(".maps");

/* Per-endpoint deny-event token bucket. Full: events are not rate limited
 * for the endpoints that do not fit (they are still counted). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_ep_rl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_rl SEC(".maps");

/* Per-endpoint allowed-flow event token bucket (visibility: allowed). Full:
 * no allowed events for the endpoints that do not fit (counted suppressed). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_ep_rl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_rl_allow SEC(".maps");

/* Deny and audit events. Full: PW_C_EVENT_LOST. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PW_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_events SEC(".maps");

/* Held DNS answers, whole frames, to the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_dns_cap SEC(".maps");

/* (endpoint, kind, name hash) -> a name or suffix the pod may resolve.
 * Full: the agent refuses the policy update (the old names stay). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_NAMES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_name_key);
	__type(value, struct pw_name_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_names SEC(".maps");

/* Endpoint id -> how its DNS queries are filtered. No entry: nothing granted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_ep_dns);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_dns SEC(".maps");

/* Per-endpoint budget of held DNS answers. Full: not limited for the
 * endpoints that do not fit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_ep_budget);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_budget SEC(".maps");

/* Each endpoint's share of pw_flows (see maps.h). Full: flows of the
 * endpoints that do not fit are recorded without a share. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_ep_flows);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_flows SEC(".maps");

/* Per-endpoint budget of DNS queries sent on to the resolvers. Full: not
 * limited for the endpoints that do not fit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_ep_budget);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_query SEC(".maps");

/* Per-endpoint budget of rejects (denyAction reject). Full: the endpoints
 * that do not fit get silent drops. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_ep_budget);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_reject SEC(".maps");

/* Each endpoint's cap of learned addresses (see maps.h). No entry: no cap in
 * the kernel; full: the endpoints that do not fit have none. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct pw_ep_flows);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_learn SEC(".maps");

/* What pod_ingress learned inline, for the agent. Full: PW_C_LEARN_LOG_FULL
 * (the answer is held instead). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PW_LEARN_LOG_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_learn_log SEC(".maps");

/* Pods' TCP connections to trusted resolvers, followed by sequence number.
 * Full: LRU eviction; the evicted connection's next data segment is dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_DNS_TCP);
	__type(key, struct pw_dns_pend_key);
	__type(value, struct pw_dns_tcp);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_dns_tcp SEC(".maps");

/* UDP checksum pseudo headers. */
struct pw_pseudo4 {
	__be32 saddr;
	__be32 daddr;
	__u8 zero;
	__u8 proto;
	__be16 len;
};

struct pw_pseudo6 {
	__u8 saddr[16];
	__u8 daddr[16];
	__be32 len;
	__u8 zero[3];
	__u8 next;
};

/* Per-CPU work area for DNS messages (too big for the 512-byte stack). Not
 * pinned: it holds nothing between two runs of a program. */
struct pw_dns_scratch {
	/* the headers of a reply being built: off the stack, which pod_egress
	 * and the function building it share (512 bytes in all) */
	__u8 hdr_pad[2];
	struct ethhdr eth; /* at 2: the IP header that follows is 4-byte aligned */
	union {
		struct iphdr ip;
		struct ipv6hdr ip6;
	};
	union {
		struct pw_pseudo4 ph4;
		struct pw_pseudo6 ph6;
	};
	/* the message as received: a query's header and question, or an answer
	 * the kernel learner reads whole (DNS_LMSG_MAX) */
	__u8 msg[1024];
	__u8 norm[256]; /* the question name: '.' + lower-case labels joined by '.' */
	__u8 out[320];	/* a reply being built: UDP header + DNS message, zero padded */
	/* A value passed through memory so that the verifier forgets it: a loop
	 * index copied out stays a known constant, and every later path would be
	 * verified once per possible value. */
	__u32 opaque[8];
	/* For each dot of norm, right to left: the hash of the text after it,
	 * that text's length and where it starts in norm. */
	__u64 dot_h[128];
	__u8 dot_len[128];
	__u8 dot_start[128];
	/* The kernel learner (learn.bpf.h): names of the answer expanded
	 * (compression followed, lower case, wire form, zero padded): 0..4 the
	 * CNAME chain from the question name, 7 the record being read. */
	__u8 flat[8][256];
	__u32 flen[8];	   /* their lengths */
	__u32 lopaque[16]; /* OPAQUE() slots of the learner (opaque[] is the query check's) */
	struct pw_learn_addr la[PW_LEARN_REC_ADDRS]; /* addresses found; expires_ns: the TTL */
	__u8 la_new[PW_LEARN_REC_ADDRS];	     /* no pw_learned entry yet */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_dns_scratch);
} pw_scratch SEC(".maps");

/*
 * The per-endpoint token buckets: pw_ep_rl and pw_ep_rl_allow (events),
 * pw_ep_budget (held DNS answers), pw_ep_query (DNS queries), pw_ep_reject
 * (rejects). Each value starts
 * with a struct pw_ep_budget (maps.h asserts it).
 *
 * bucket_get: the endpoint's bucket, made full (burst tokens) at its first
 * use from fresh, zeroed room for one value that the caller owns (its stack,
 * or pw_scratch for a frame that must stay small); NULL when the map is full.
 * bucket_take: the bucket refilled at per_sec tokens a second for the time
 * since it was last used (at most 100 s of it), up to burst; 1 if a token
 * was there and is now taken, 0 if not.
 */
static __always_inline struct pw_ep_budget *bucket_get(void *map, const __u32 *key, void *fresh,
						       __u64 now, __u32 burst)
{
	struct pw_ep_budget *b = bpf_map_lookup_elem(map, key);

	if (b)
		return b;
	((struct pw_ep_budget *)fresh)->last_ns = now;
	((struct pw_ep_budget *)fresh)->tokens_milli = (__u64)burst * 1000;
	bpf_map_update_elem(map, key, fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

static __always_inline int bucket_take(struct pw_ep_budget *b, __u64 now, __u32 per_sec,
				       __u32 burst)
{
	__u64 cap = (__u64)burst * 1000, elapsed = now - b->last_ns;

	if (elapsed > 100000000000ULL)
		elapsed = 100000000000ULL;
	b->last_ns = now;
	b->tokens_milli += elapsed / 1000 * per_sec / 1000;
	if (b->tokens_milli > cap)
		b->tokens_milli = cap;
	if (b->tokens_milli < 1000)
		return 0;
	b->tokens_milli -= 1000;
	return 1;
}

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&pw_counters, &idx);

	if (c)
		*c += 1;
}

#endif /* PODWALL_MAPS_BPF_H */

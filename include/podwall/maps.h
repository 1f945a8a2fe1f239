/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall: the one contract between the BPF data path and userspace.
 *
 * Every map key and value, the pin path, the map names, the deny-reason enum,
 * the counter enum (with their names, as X-macro lists) and the event records
 * live here and nowhere else. Only fixed-width types; every struct has explicit
 * zeroed padding and a size assertion so that the BPF object and the agent can
 * never disagree silently.
 *
 * Byte order: fields typed __be16/__be32 and address byte arrays are in network
 * order exactly as on the wire; everything else is host order.
 */
#ifndef PODWALL_MAPS_H
#define PODWALL_MAPS_H

#include <linux/types.h>

#define PW_PIN_DIR "/sys/fs/bpf/podwall"

/*
 * Every map, once: X(name, key type, value type, max_entries, shown). The BPF
 * definition is pw_<name> (bpf/maps.bpf.h), pinned as "pw_<name>" under
 * PW_PIN_DIR (PW_MAP_NAME) and reached from userspace as struct pw_bpf's
 * <name>_fd and through the typed map interface (lib/core/mapops.h), whose
 * functions take these key and value types. The loader takes each descriptor
 * from the skeleton's maps.pw_<name> and checks the key and value sizes, so a
 * map renamed or retyped on one side only fails the build or the load. shown:
 * 1 for the tables whose fill level `podwall status` and the metrics report.
 * pw_events (ring buffer) and pw_dns_cap (perf array) are read, never written.
 */
#define PW_MAPS(X)                                                                                 \
	X(endpoints, __u32, struct pw_endpoint, PW_MAX_ENDPOINTS, 1)                               \
	X(learned, struct pw_learned_key, struct pw_learned_val, PW_MAX_LEARNED, 1)                \
	X(cidr4, struct pw_cidr4_key, struct pw_cidr_val, PW_MAX_CIDR, 1)                          \
	X(cidr6, struct pw_cidr6_key, struct pw_cidr_val, PW_MAX_CIDR, 1)                          \
	X(ports, __u32, struct pw_portset, PW_MAX_PORTSETS, 1)                                     \
	X(flows, struct pw_flow_key, struct pw_flow_val, PW_MAX_FLOWS, 1)                          \
	X(dns_pend, struct pw_dns_pend_key, struct pw_dns_pend_val, PW_MAX_DNS_PEND, 1)            \
	X(resolvers, struct pw_addr_key, __u32, PW_MAX_RESOLVERS, 1)                               \
	X(config, __u32, struct pw_config, 1, 0)                                                   \
	X(counters, __u32, __u64, PW_C_MAX, 0)			    /* per CPU */                  \
	X(ep_stats, __u32, struct pw_ep_stats, PW_MAX_ENDPOINTS, 0) /* per CPU */                  \
	X(ep_rl, __u32, struct pw_ep_rl, PW_MAX_ENDPOINTS, 0)                                      \
	X(events, __u32, __u32, PW_EVENTS_BYTES, 0)                                                \
	X(dns_cap, __u32, __u32, 0, 0)                                                             \
	X(guard4, struct pw_guard4_key, struct pw_guard_val, PW_MAX_GUARD, 1)                      \
	X(guard6, struct pw_guard6_key, struct pw_guard_val, PW_MAX_GUARD, 1)                      \
	X(names, struct pw_name_key, struct pw_name_val, PW_MAX_NAMES, 1)                          \
	X(ep_dns, __u32, struct pw_ep_dns, PW_MAX_ENDPOINTS, 0)                                    \
	X(dns_tcp, struct pw_dns_pend_key, struct pw_dns_tcp, PW_MAX_DNS_TCP, 1)                   \
	X(ep_budget, __u32, struct pw_ep_budget, PW_MAX_ENDPOINTS, 0)                              \
	X(ep_flows, __u32, struct pw_ep_flows, PW_MAX_ENDPOINTS, 0)                                \
	X(ep_rl_allow, __u32, struct pw_ep_rl, PW_MAX_ENDPOINTS, 0)                                \
	X(ep_reject, __u32, struct pw_ep_budget, PW_MAX_ENDPOINTS, 0)                              \
	X(ep_learn, __u32, struct pw_ep_flows, PW_MAX_ENDPOINTS, 0)                                \
	X(learn_log, __u32, __u32, PW_LEARN_LOG_BYTES, 0)                                          \
	X(ep_query, __u32, struct pw_ep_budget, PW_MAX_ENDPOINTS, 0)

/* The pinned name of map <name>: "pw_<name>", at most 15 characters. */
#define PW_MAP_NAME(name) "pw_" #name
#define PW_MAP_NAME_FITS(name, key, value, max, shown)                                             \
	_Static_assert(sizeof(PW_MAP_NAME(name)) <= 16, PW_MAP_NAME(name) " is over 15 "           \
									  "characters");
PW_MAPS(PW_MAP_NAME_FITS)
#undef PW_MAP_NAME_FITS

/* Map sizes (max_entries). Documented with their full behaviour in README.md. */
#define PW_MAX_ENDPOINTS 1024
#define PW_MAX_LEARNED	 (1 << 20)
#define PW_MAX_CIDR	 65536
#define PW_MAX_PORTSETS	 16384
#ifdef PW_TEST_OLD_LAYOUT
#define PW_MAX_FLOWS 65536 /* the fault tier's "older podwall" */
#else
#define PW_MAX_FLOWS 131072
#endif
/* Flows one endpoint may hold in pw_flows unless the agent sets another share
 * (pw_ep_flows.quota): an eighth, so one pod's flood cannot evict the others'. */
#define PW_FLOW_QUOTA	   (PW_MAX_FLOWS / 8)
#define PW_MAX_DNS_PEND	   16384
#define PW_MAX_RESOLVERS   64
#define PW_EVENTS_BYTES	   (1 << 18)
#define PW_LEARN_LOG_BYTES (1 << 19) /* ~650 records; the agent maps it twice (RSS) */
/* Rebinding guard prefixes per family (podwall/guard.h). Full: the agent refuses to start. */
#define PW_MAX_GUARD   4096
#define PW_MAX_NAMES   65536
#define PW_MAX_DNS_TCP 4096

/* Port ranges one (endpoint, destination) can carry. */
#define PW_MAX_PORT_RANGES 32
/* Largest DNS answer frame the agent is handed; larger ones pass unheld. */
#define PW_DNS_CAP_MAX 8192

#define PW_FAMILY_V4 4
#define PW_FAMILY_V6 6

/* Protocol value meaning "every protocol, every port" (a rule with no ports). */
#define PW_PROTO_ANY 0

/* Endpoint modes. */
enum pw_mode {
	PW_MODE_ENFORCE = 0,
	PW_MODE_AUDIT = 1,
	/* No policy selects the pod: everything passes except a spoofed source
	 * address, so no pod on the node can forge a resolver's answer (or any
	 * other pod's traffic). */
	PW_MODE_OPEN = 2,
};

/* What an enforced endpoint does with a denied packet (pw_endpoint.deny_action). */
enum pw_deny_action {
	PW_DENY_DROP = 0,   /* silently */
	PW_DENY_REJECT = 1, /* answer the pod: TCP RST, ICMP administratively prohibited */
};

/* Endpoint flags. */
#define PW_EP_HAS_V4  (1u << 0)
#define PW_EP_HAS_V6  (1u << 1)
#define PW_EP_HAS_MAC (1u << 2) /* mac is the pod's interface address (from the CNI result) */
/* A selecting policy has `visibility: [allowed]`: pod_egress emits a
 * PW_VERDICT_ALLOW event for each flow entry it creates (first packet of a
 * flow only), rate limited per endpoint by its own bucket (pw_ep_rl_allow). */
#define PW_EP_VIS_ALLOWED (1u << 3)

/*
 * Why a packet was denied (or would have been, in audit mode). Shared by the
 * BPF side (events, counters) and the agent (DNS-side drops).
 *
 * X(ID, name): PW_R_<ID> is numbered in list order (the number is in event
 * records and counter slots: append only); name is what events, `podwall
 * events --reason`, the counters ("drop_<name>") and the metrics show.
 */
#define PW_REASONS(X)                                                                              \
	X(NONE, "allowed")	      /* allowed */                                                \
	X(NO_RULE, "no-rule")	      /* default deny: no rule grants this destination */          \
	X(PORT, "port")		      /* destination granted, but not this protocol/port */        \
	X(SPOOF, "spoof")	      /* source address is not one of the pod's */                 \
	X(FRAGMENT, "fragment")	      /* IP fragment whose ports cannot be checked */              \
	X(IP_OPTIONS, "ip-options")   /* IPv4 header with options */                               \
	X(IPV6_EXT, "ipv6-ext")	      /* IPv6 routing header or too many extension headers */      \
	X(MALFORMED, "malformed")     /* truncated or inconsistent headers */                      \
	X(L2, "l2")		      /* not IPv4/IPv6/ARP (VLAN tags, other ethertypes) */        \
	X(EXPIRED, "expired")	      /* learned address whose DNS TTL has run out */              \
	X(DNS, "dns-untrusted")	      /* DNS to a server that is not a trusted resolver */         \
	X(V4MAPPED, "v4-mapped")      /* IPv6 destination in ::ffff:0:0/96 */                      \
	X(DNS_CAPTURE, "dns-capture") /* DNS answer could not be handed to the agent */            \
	X(DNS_LEARN, "dns-learn")     /* agent could not write the learned entry */                \
	X(DNS_INVALID,                                                                             \
	  "dns-invalid") /* malformed query to a resolver; answer the agent refused */             \
	X(DNS_PRIVATE, "dns-private") /* answer address in the cluster: not learned (released) */  \
	X(TUNNEL, "tunnel")	    /* encapsulation to a node address no rule names explicitly */ \
	X(DNS_NAME, "dns-name")	    /* query for a name no policy of the pod lets it resolve */    \
	X(DNS_BUDGET, "dns-budget") /* the pod is over a DNS budget: queries or held answers */    \
	X(DNS_FRAGMENT, "dns-fragment")	  /* a DNS answer in IP fragments: passed, nothing learned \
					   */                                                      \
	X(DNS_TCP_SPLIT, "dns-tcp-split") /* a DNS answer over TCP not one segment of its own:     \
					   * passed, nothing learned */

#define PW_REASON_ENUM(id, name) PW_R_##id,
enum pw_reason {
	PW_REASONS(PW_REASON_ENUM) PW_R_MAX,
};
#undef PW_REASON_ENUM
_Static_assert(PW_R_NONE == 0, "reason 0 means allowed");

/*
 * Global per-CPU counters (pw_counters, PERCPU_ARRAY of __u64). Drops are
 * counted per reason at PW_C_DROP + reason, audit passes at PW_C_AUDIT + reason.
 *
 * X(ID, name): PW_C_<ID> in list order (append only); name is the key in
 * `podwall counters` and its row in agent/metrics.c
 * (counter_rows) says which metric family shows it.
 */
#define PW_COUNTERS(X)                                                                             \
	X(PASS_UNMANAGED, "pass_unmanaged")	/* ifindex not an endpoint */                      \
	X(PASS_L2, "pass_l2")			/* ARP, neighbour discovery, MLD */                \
	X(PASS_FLOW, "pass_flow")		/* flow table hit */                               \
	X(PASS_DNS_QUERY, "pass_dns_query")	/* DNS query to a trusted resolver */              \
	X(PASS_LEARNED, "pass_learned")		/* first packet to a learned address */            \
	X(PASS_CIDR, "pass_cidr")		/* first packet to a CIDR rule */                  \
	X(FLOW_INSERT_FAIL, "flow_insert_fail") /* flow not recorded (packet still passes) */      \
	X(PEND_INSERT_FAIL,                                                                        \
	  "dns_pending_insert_fail")		 /* query not recorded (answer not learned) */     \
	X(EVENT_LOST, "events_lost")		 /* ring buffer full */                            \
	X(EVENT_SUPPRESSED, "events_suppressed") /* per-endpoint rate limit */                     \
	X(DNS_HELD, "dns_held")			 /* answer copied to the agent and dropped */      \
	X(DNS_RELEASED, "dns_released")		 /* answer re-injected by the agent */             \
	X(DNS_UNMATCHED, "dns_unmatched")	 /* no recorded query: passed, not learned */      \
	X(DNS_AGENT_AWAY, "dns_agent_away")	 /* heartbeat stale: passed unheld */              \
	X(DNS_TOO_BIG, "dns_too_big")		 /* over PW_DNS_CAP_MAX: passed unheld */          \
	X(INGRESS_FLOW, "ingress_flows")	 /* inbound connection noted for replies */        \
	X(FLOW_REVALIDATE, "flow_revalidate")	 /* flow re-checked after a policy change */       \
	X(DNS_FRAGMENT, "dns_fragmented")	 /* answer in IP fragments: passed, not learned */ \
	X(L2_REDIRECT,                                                                             \
	  "l2_redirect") /* unicast frame to a MAC not the node's: readdressed to the node */      \
	X(FLOW_QUOTA, "flow_quota")	/* pod at its share of pw_flows: flow not recorded */      \
	X(FLOW_READMIT, "flow_readmit") /* mid-stream TCP without a flow, rules still grant it */  \
	X(REJECT_SENT, "rejects_sent")	/* denyAction reject: RST / ICMP sent to the pod */        \
	X(REJECT_LIMITED, "rejects_limited") /* over the pod's reject rate: dropped silently */    \
	X(REJECT_FAILED, "rejects_failed")   /* the reply could not be built: dropped */           \
	X(DNS_INLINE, "dns_learned_inline")  /* answer learned in the kernel and passed at once */ \
	X(DNS_NOT_SIMPLE, "dns_not_simple")  /* not simple enough to learn inline: held */         \
	X(DNS_LEARN_QUOTA,                                                                         \
	  "dns_learn_quota") /* pod at its cap of learned addresses: not learned inline */         \
	X(LEARN_LOG_FULL, "learn_log_full") /* pw_learn_log full: not learned inline (held) */     \
	X(DNS_TCP_SPLIT,                                                                           \
	  "dns_tcp_split") /* TCP answer data not one whole message in one frame: passed */        \
	X(DNS_QUERY_BUDGET,                                                                        \
	  "dns_query_budget") /* query over the pod's budget (dns-budget): not sent on */          \
	X(DNS_TCP_COPIED,                                                                          \
	  "dns_tcp_copied")	      /* segment of a TCP answer over several: copied, passed */   \
	X(DNS_TCP_GSO, "dns_tcp_gso") /* TCP answer data in one GSO packet: followed as one */

#define PW_COUNTER_ENUM(id, name) PW_C_##id,
enum pw_counter {
	PW_COUNTERS(PW_COUNTER_ENUM) PW_C_DROP, /* + enum pw_reason */
	PW_C_AUDIT = PW_C_DROP + PW_R_MAX,	/* + enum pw_reason */
	PW_C_MAX = PW_C_AUDIT + PW_R_MAX,
};
#undef PW_COUNTER_ENUM

/* An address of either family: v4 in the first 4 bytes, the rest zero. */
union pw_ip {
	__be32 v4;
	__u8 v6[16];
	__u32 w[4];
};
_Static_assert(sizeof(union pw_ip) == 16, "pw_ip size");

/* pw_endpoints: HASH, key __u32 host veth ifindex -> value. PW_MAX_ENDPOINTS;
 * when full the agent refuses the CNI ADD (the pod does not start). */
struct pw_endpoint {
	__u32 ep_id;	  /* agent-assigned, never reused while maps are pinned */
	__u32 policy_gen; /* bumped on every change of this endpoint's rules */
	__u8 mode;	  /* enum pw_mode */
	__u8 flags;	  /* PW_EP_HAS_V4 | PW_EP_HAS_V6 */
	__u8 deny_action; /* enum pw_deny_action */
	__u8 pad;
	__u8 ip4[4];  /* the pod's IPv4 address, network order */
	__u8 ip6[16]; /* the pod's IPv6 address, network order */
	/* L2: frames from the pod carry mac as source; unicast IP frames go to
	 * node_mac (the bridge the host veth is a port of) or veth_mac (the host
	 * veth itself, for CNIs without a bridge). Zero: unknown. */
	__u8 mac[6];
	__u8 node_mac[6];
	__u8 veth_mac[6];
	__u8 pad2[6];
#ifdef PW_TEST_OLD_LAYOUT
	__u8 old_layout[8]; /* the fault tier's "older podwall": another layout */
#endif
};
#ifdef PW_TEST_OLD_LAYOUT
_Static_assert(sizeof(struct pw_endpoint) == 64, "pw_endpoint size");
#else
_Static_assert(sizeof(struct pw_endpoint) == 56, "pw_endpoint size");
#endif

/* pw_learned: HASH (no prealloc), PW_MAX_LEARNED; key: addresses an endpoint
 * learned from its own DNS answers. When full, the agent drops the answer and
 * emits PW_R_DNS_LEARN (never releases into a denying state). */
struct pw_learned_key {
	__u32 ep_id;
	__u8 family; /* PW_FAMILY_V4 / PW_FAMILY_V6 */
	__u8 pad[3];
	union pw_ip addr; /* network order */
};
_Static_assert(sizeof(struct pw_learned_key) == 24, "pw_learned_key size");

struct pw_learned_val {
	__u64 expires_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 portset;	  /* id in pw_ports; the union of the rules' ports */
	__u32 pad;
};
_Static_assert(sizeof(struct pw_learned_val) == 16, "pw_learned_val size");

/* pw_cidr4 / pw_cidr6: LPM_TRIE (no prealloc), PW_MAX_CIDR each. Key prefix
 * covers ep_id (32 bits) and then the address. The agent writes every CIDR and
 * every `except` as its own prefix, each carrying the union of ports granted to
 * all addresses under it, so the longest match is the full answer. Full: the
 * policy for that endpoint is refused whole and the previous one stays. */
struct pw_cidr4_key {
	__u32 prefixlen; /* 32 + address prefix length */
	__u32 ep_id;	 /* always fully matched, so host order is fine */
	__u8 addr[4];	 /* network order */
};
_Static_assert(sizeof(struct pw_cidr4_key) == 12, "pw_cidr4_key size");

struct pw_cidr6_key {
	__u32 prefixlen; /* 32 + address prefix length */
	__u32 ep_id;	 /* always fully matched, so host order is fine */
	__u8 addr[16];	 /* network order */
};
_Static_assert(sizeof(struct pw_cidr6_key) == 24, "pw_cidr6_key size");

struct pw_cidr_val {
	__u32 portset; /* id in pw_ports; 0 = nothing granted (an except) */
	__u32 pad;
};
_Static_assert(sizeof(struct pw_cidr_val) == 8, "pw_cidr_val size");

/* pw_ports: HASH, PW_MAX_PORTSETS, key __u32 portset id (never 0). Contents of
 * an id never change while referenced, so a rule update is one atomic write of
 * the referencing entry. Full: the policy update is refused. */
struct pw_port_range {
	__u16 lo;   /* host order, inclusive */
	__u16 hi;   /* host order, inclusive */
	__u8 proto; /* IPPROTO_TCP/UDP/SCTP, or PW_PROTO_ANY (all protocols, all ports) */
	__u8 pad[3];
};
_Static_assert(sizeof(struct pw_port_range) == 8, "pw_port_range size");

struct pw_portset {
	__u32 count;
	__u32 pad;
	struct pw_port_range r[PW_MAX_PORT_RANGES];
};
_Static_assert(sizeof(struct pw_portset) == 8 + 8 * PW_MAX_PORT_RANGES, "pw_portset size");

/* pw_flows: LRU_HASH, PW_MAX_FLOWS. Seen from the pod: local = pod address.
 * For ICMP echo both ports hold the echo id. Each endpoint holds at most its
 * share (pw_ep_flows), so one pod cannot fill the table and evict another's
 * flows. When full all the same, the least recently used flow is evicted and
 * its next packet is checked against the rules again: a TCP packet without SYN
 * as a flow re-check (learned addresses count within their grace), anything
 * else as a new flow. */
struct pw_flow_key {
	__u32 ep_id;
	__u8 family;
	__u8 proto;
	__be16 lport;
	__be16 rport;
	__u8 pad[2];
	union pw_ip laddr;
	union pw_ip raddr;
};
_Static_assert(sizeof(struct pw_flow_key) == 44, "pw_flow_key size");

#define PW_FLOW_INBOUND (1u << 0) /* connection came into the pod: replies pass */
#define PW_FLOW_AUDIT	(1u << 1) /* passed only because the endpoint is in audit mode */

struct pw_flow_val {
	__u64 last_seen_ns;
	__u32 policy_gen; /* endpoint policy_gen when the flow was last checked */
	__u32 flags;	  /* PW_FLOW_* */
};
_Static_assert(sizeof(struct pw_flow_val) == 16, "pw_flow_val size");

/* pw_dns_pend: LRU_HASH, PW_MAX_DNS_PEND. A DNS query the pod sent to a
 * trusted resolver, over UDP or over a followed TCP connection (pw_dns_tcp);
 * only an answer matching one is held and learned from. When full the oldest
 * query is forgotten: its answer passes unlearned. */
struct pw_dns_pend_key {
	__u32 ep_id;
	__u8 family;
	__u8 tcp;	 /* 1: the query went over TCP (0 in pw_dns_tcp's keys) */
	__be16 pod_port; /* the query's UDP or TCP source port */
	__be16 dns_id;	 /* the DNS message id, as on the wire */
	__u8 pad2[2];
	union pw_ip resolver;
};
_Static_assert(sizeof(struct pw_dns_pend_key) == 28, "pw_dns_pend_key size");

struct pw_dns_pend_val {
	__u64 sent_ns;
};

/* pw_resolvers: HASH, PW_MAX_RESOLVERS: trusted DNS servers (port 53). */
struct pw_addr_key {
	__u8 family;
	__u8 pad[3];
	union pw_ip addr;
};
_Static_assert(sizeof(struct pw_addr_key) == 20, "pw_addr_key size");

/* pw_config: ARRAY of one. */
#define PW_CFG_HOLD_DNS (1u << 0) /* hold answers for learning (off: pass them) */
/* Learn simple answers in pod_ingress (pw_learned written there, the answer
 * passed at once, a struct pw_learn_rec to pw_learn_log); the rest are held. */
#define PW_CFG_LEARN_INLINE (1u << 1)

struct pw_config {
	__u64 heartbeat_ns;	/* agent's last heartbeat, CLOCK_MONOTONIC */
	__u64 agent_timeout_ns; /* heartbeat older than this: agent is away */
	__u32 release_mark;	/* skb->mark of frames the agent re-injects */
	__u32 flags;		/* PW_CFG_* */
	__u32 events_per_sec;	/* deny events per endpoint per second (0 = none) */
	__u32 events_burst;
	__u32 next_ep_id; /* agent only: endpoint ids are never reused */
	/* Rejects (RST / ICMP) one endpoint may be sent, per second and in a
	 * burst (pw_ep_reject); over it, denied packets are dropped silently.
	 * reject_per_sec 0: no rejects at all. */
	__u16 reject_per_sec;
	__u16 reject_burst;
	/* DNS answers one endpoint may have held for the agent, per second and
	 * in a burst: over it the endpoint loses its own answers (dns-budget),
	 * never another endpoint's share of the agent and its perf buffer.
	 * 0 = no limit. */
	__u32 dns_hold_per_sec;
	__u32 dns_hold_burst;
	/* The kernel learner's copy of the agent's --min-ttl, --max-ttl and
	 * --max-addrs-per-name: expiry = now + clamp(TTL, min, max) seconds, and
	 * the first max_addrs_per_name learnable addresses of an answer. */
	__u32 min_ttl_s;
	__u32 max_ttl_s;
	__u32 max_addrs_per_name;
	/* DNS queries one endpoint may send on to the trusted resolvers, per
	 * second and in a burst (a token bucket in pw_ep_query), taken in
	 * pod_egress once a query's name is granted (queries the node answers
	 * itself take none): over it the query is dropped (dns-budget), never
	 * reaching the resolver that every pod shares. 0 = no limit. */
	__u16 dns_query_per_sec;
	__u16 dns_query_burst;
};
_Static_assert(sizeof(struct pw_config) == 64, "pw_config size");

/* pw_ep_stats: PERCPU_HASH, PW_MAX_ENDPOINTS, key ep_id: per-pod packet counts. */
struct pw_ep_stats {
	__u64 pass;
	__u64 audit;
	__u64 drop[PW_R_MAX]; /* by enum pw_reason */
};

/* pw_ep_budget: HASH, PW_MAX_ENDPOINTS, key ep_id: the endpoint's budget of
 * held DNS answers (a token bucket, see pw_config.dns_hold_per_sec). Full: the
 * endpoints that do not fit are not limited (their answers still counted). */
struct pw_ep_budget {
	__u64 last_ns;
	__u64 tokens_milli; /* tokens * 1000 */
};

/*
 * pw_ep_flows: HASH, PW_MAX_ENDPOINTS, key ep_id: the endpoint's share of
 * pw_flows. The kernel adds one to `added` for every flow it records for the
 * endpoint (allowed, audited or inbound) and records none while
 * added - gone >= quota (PW_C_FLOW_QUOTA; the packet is still judged by the
 * rules, and re-admitted mid-stream while they grant it). The agent counts the
 * endpoint's live flows on each walk of pw_flows and sets gone = added (read
 * before the walk) - live: evicted and idle flows return to the share. So
 * added - gone is at least the live count (never less), and one endpoint can
 * hold at most its quota of the table. No entry: created at the first flow;
 * map full: the flow is recorded unlimited.
 */
struct pw_ep_flows {
	__u64 added; /* kernel only, atomic */
	__u64 gone;  /* agent only */
	__u32 quota; /* agent; 0 = PW_FLOW_QUOTA */
	__u32 pad;
};
_Static_assert(sizeof(struct pw_ep_flows) == 24, "pw_ep_flows size");
/* pw_ep_query: HASH, PW_MAX_ENDPOINTS, key ep_id: the endpoint's budget of
 * DNS queries sent on to the resolvers (struct pw_ep_budget, see
 * pw_config.dns_query_per_sec). Full: the endpoints that do not fit are not
 * limited. */
/* pw_ep_reject: HASH, PW_MAX_ENDPOINTS, key ep_id: the endpoint's budget of
 * rejects (struct pw_ep_budget, see pw_config.reject_per_sec). Full: the
 * endpoints that do not fit get no rejects (silent drops, rejects_limited). */

/* pw_ep_rl: HASH, PW_MAX_ENDPOINTS, key ep_id: deny-event token bucket.
 * pw_ep_rl_allow: the same for allowed-flow events (PW_EP_VIS_ALLOWED), apart
 * so that allowed traffic never uses up the denials' budget. Full: no allowed
 * events for the endpoints that do not fit (counted as suppressed). */
struct pw_ep_rl {
	__u64 last_ns;
	__u64 tokens_milli; /* tokens * 1000 */
	__u64 suppressed;   /* events not emitted since the last one that was */
};
/* Every token bucket starts as a struct pw_ep_budget (bpf/maps.bpf.h bucket_take). */
_Static_assert(__builtin_offsetof(struct pw_ep_rl, last_ns) ==
			       __builtin_offsetof(struct pw_ep_budget, last_ns) &&
		       __builtin_offsetof(struct pw_ep_rl, tokens_milli) ==
			       __builtin_offsetof(struct pw_ep_budget, tokens_milli),
	       "pw_ep_rl starts as a pw_ep_budget");

/* pw_events: RINGBUF of struct pw_event and struct pw_event_named records,
 * PW_EVENTS_BYTES, told apart by the record's length. Full: PW_C_EVENT_LOST.
 * 256 KiB: 3,640 plain or 780 named records, more than the per-pod rate limits
 * let through between two reads; the agent maps it twice (libbpf's consumer),
 * so each MiB of it was 2 MiB of the agent's RSS. */
#define PW_VERDICT_DROP	 1
#define PW_VERDICT_AUDIT 2
#define PW_VERDICT_PASS	 3 /* passed, with something to explain (dns-fragment) */
#define PW_VERDICT_ALLOW 4 /* a new flow the rules allowed (PW_EP_VIS_ALLOWED), reason 0 */
/* denyAction reject: dropped, and the pod was answered (TCP RST, ICMP
 * administratively prohibited). A reject over the pod's budget, or one that
 * could not be built, is a plain PW_VERDICT_DROP. */
#define PW_VERDICT_REJECT 5

struct pw_event {
	__u64 ts_ns;
	__u32 ep_id;
	__u32 ifindex;
	__u8 reason;  /* enum pw_reason */
	__u8 verdict; /* PW_VERDICT_* */
	__u8 family;
	__u8 proto;
	__be16 sport;
	__be16 dport;
	union pw_ip saddr;
	union pw_ip daddr;
	__u32 suppressed; /* events this endpoint had suppressed before this one */
	__u8 icmp_type;	  /* ICMP/ICMPv6: the message type and code (ports are 0) */
	__u8 icmp_code;
	__u16 pad;
};
_Static_assert(sizeof(struct pw_event) == 64, "pw_event size");

/*
 * The event of a DNS query whose question name pod_egress read: reason
 * dns-name (the node answered REFUSED or NXDOMAIN for the resolver), or
 * dns-invalid when the whole name was read but the rest of the query was not
 * (truncated after it). The same event as a struct pw_event, from the same
 * per-endpoint bucket (pw_ep_rl), with the name after it. A record of
 * sizeof(struct pw_event_named) bytes in pw_events is one of these; of
 * sizeof(struct pw_event), a plain event.
 */
struct pw_event_named {
	struct pw_event ev;
	__u8 name_len; /* bytes of name used, at most PW_NAME_TEXT_MAX (0: the root) */
	__u8 pad[7];
	/* The question name as dns_query_check() compared it: ASCII letters
	 * lower case, labels joined by '.', no trailing dot, zero padded. Raw
	 * bytes: a label on the wire may hold any byte (a '.' too). */
	char name[256];
};
_Static_assert(sizeof(struct pw_event_named) == 328, "pw_event_named size");

/* pw_dns_cap: PERF_EVENT_ARRAY. Each sample is this header followed by
 * pkt_len bytes of the frame, starting at the Ethernet header: a UDP answer, or
 * a TCP segment (not a GSO one) whose data is exactly one DNS message after
 * its 2-byte length. */
struct pw_dns_meta {
	__u64 ts_ns;
	__u32 ifindex;
	__u32 ep_id;
	__u32 pkt_len; /* bytes of frame that follow */
	__u8 family;
	__u8 proto; /* IPPROTO_UDP, or IPPROTO_TCP: one whole message after the length */
	__be16 pod_port;
	__be16 dns_id;
	/* TCP, a message over several segments (0: the frame holds one whole
	 * message): its length prefix and the sequence number of its first byte
	 * (host order). The segment that completes it is held, the others are
	 * copies of segments that passed (agent/dnstcp.c). */
	__u16 tcp_msg_len;
	__u32 tcp_msg_seq;
	union pw_ip resolver;
	/* TCP, a GSO packet (several segments in one frame, over the MTU: the
	 * resolver's TSO, or GRO on the node): its segment size, which the
	 * agent's release asks the kernel to keep (0: one segment). */
	__u16 gso_size;
	__u16 pad[3];
};
_Static_assert(sizeof(struct pw_dns_meta) == 56, "pw_dns_meta size");

/*
 * The name table: which names a pod may ask its resolvers for.
 *
 * pw_names: HASH (no prealloc), PW_MAX_NAMES. One entry per (endpoint, kind,
 * name): an exact name ("api.github.com", PW_NK_EXACT), or the suffix of a
 * "*." pattern (PW_NK_ONE: exactly one label before it) or of a "**." pattern
 * (PW_NK_MANY: one or more labels). The key holds a hash of the normalized
 * text (lower case, no trailing dot), the value the text itself, which the
 * kernel compares byte for byte: a hash collision can refuse a name, never
 * grant one. Full: the policy update is refused and the old one stays.
 *
 * The hash is FNV-1a 64 over the text's bytes taken last byte first, so that
 * pod_egress gets every suffix's hash in one right-to-left pass over a query
 * name: the hash at a dot is the hash of what follows it.
 */
#define PW_NAME_HASH_SEED  0xcbf29ce484222325ULL
#define PW_NAME_HASH_PRIME 0x100000001b3ULL
#define PW_NAME_TEXT_MAX   253 /* characters of a normalized name */

static inline __u64 pw_name_hash_step(__u64 h, __u8 c)
{
	return (h ^ c) * PW_NAME_HASH_PRIME;
}

enum pw_name_kind {
	PW_NK_EXACT = 1, /* matchName */
	PW_NK_ONE = 2,	 /* matchPattern "*.suffix" */
	PW_NK_MANY = 3,	 /* matchPattern "**.suffix" */
};

struct pw_name_key {
	__u32 ep_id;
	__u8 kind; /* enum pw_name_kind */
	__u8 pad[3];
	__u64 hash; /* of the text, see above */
};
_Static_assert(sizeof(struct pw_name_key) == 16, "pw_name_key size");

#define PW_NAME_F_CONNECT (1u << 0) /* a toFQDNs rule: resolvable, answers learned */
#define PW_NAME_F_RESOLVE (1u << 1) /* spec.dns.resolveNames: resolvable, nothing granted */
#define PW_NAME_F_SEARCH                                                                           \
	(1u << 2) /* a search-list suffix: names under it that no rule                             \
		   * grants get NXDOMAIN (so the client tries the next) */
/* A toFQDNs rule with exactly this pattern opted in to in-cluster addresses
 * (allowPrivate): the rebinding guard's ranges may be learned for it. */
#define PW_NAME_F_PRIVATE (1u << 3)

/* The kernel learner (pod_ingress) takes the ports of an answer's name from the
 * entries that match it: it learns inline only when every matching entry with
 * PW_NAME_F_CONNECT carries the same portset and the same PW_NAME_F_PRIVATE,
 * else the answer is held and the agent takes the union. */
struct pw_name_val {
	__u8 flags; /* PW_NAME_F_* */
	__u8 len;   /* of text, at most PW_NAME_TEXT_MAX */
	__u8 pad[2];
	__u32 portset;	/* id in pw_ports: the union of the ports of the pod's toFQDNs rules
			 * with exactly this pattern; 0 = none (resolve-only, search suffix) */
	char text[256]; /* normalized, zero padded */
};
_Static_assert(sizeof(struct pw_name_val) == 264, "pw_name_val size");

/* pw_ep_dns: HASH, PW_MAX_ENDPOINTS, key ep_id: how the endpoint's queries are
 * filtered. No entry for an enforced endpoint: no name is granted. */
#define PW_EPDNS_ANY_NAME (1u << 0) /* spec.dns.resolveAnyName: no name filter */
#define PW_EPDNS_NXDOMAIN (1u << 1) /* refused names get NXDOMAIN, not REFUSED */
#define PW_EPDNS_HAS_ONE  (1u << 2) /* pw_names holds PW_NK_ONE entries for it */
#define PW_EPDNS_HAS_MANY (1u << 3) /* ... PW_NK_MANY entries (incl. search suffixes) */
/* Never learn inline for this endpoint: every answer is held for the agent
 * (e.g. a ClusterEgressPolicy gives it deny ranges the kernel learner does not
 * read). */
#define PW_EPDNS_HOLD_ONLY (1u << 4)

struct pw_ep_dns {
	__u32 flags; /* PW_EPDNS_* */
	__u32 pad;
};
_Static_assert(sizeof(struct pw_ep_dns) == 8, "pw_ep_dns size");

/*
 * pw_dns_tcp: LRU_HASH, PW_MAX_DNS_TCP, key struct pw_dns_pend_key with dns_id
 * 0: a pod's TCP connection to a trusted resolver, followed so that every
 * byte the resolver reads belongs to a message pod_egress checked. A data
 * segment passes only at next_seq (new data) or as an exact repeat of the last
 * one (a retransmission, checked again); anything else (overlaps, gaps, a
 * connection not seen from its SYN) is dropped. A SYN starts a connection only
 * when there is none, or after the pod's FIN or RST at next_seq closed it.
 * Full: the oldest connection is forgotten and its next data segment dropped.
 * The ans_* fields follow the resolver's side from its SYN-ACK (pod_ingress),
 * message by message, so that an answer over several segments is learned
 * (README "Answers over TCP").
 */
#define PW_DNS_TCP_CLOSED (1u << 0)
/* ans_flags, the resolver's side (pod_ingress): followed by sequence number
 * from its SYN-ACK, and whether the message in flight answers a recorded
 * query (its segments are copied to the agent, the last one held). */
#define PW_DNS_TCPA_SYNC (1u << 0)
#define PW_DNS_TCPA_COPY (1u << 1)

struct pw_dns_tcp {
	__u32 next_seq; /* host order */
	__u32 last_seq;
	__u32 last_len;
	__u32 flags;	 /* PW_DNS_TCP_* (pod_egress) */
	__u32 ans_seq;	 /* resolver's next byte, host order */
	__u32 ans_left;	 /* bytes of the message in flight still to come (0: between) */
	__u16 ans_len;	 /* its 2-byte length prefix, host order */
	__be16 ans_id;	 /* its DNS id */
	__u32 ans_flags; /* PW_DNS_TCPA_* (pod_ingress) */
};
_Static_assert(sizeof(struct pw_dns_tcp) == 32, "pw_dns_tcp size");

/*
 * pw_ep_learn: HASH, PW_MAX_ENDPOINTS, key ep_id: the endpoint's cap of
 * learned addresses (pw_learned entries), kept like pw_ep_flows: the kernel
 * adds one to `added` (atomic) for every pw_learned entry it creates inline;
 * the agent sets `gone` so that added - gone is the endpoint's live entries
 * (its own writes included) and quota to its cap (--max-learned-per-pod).
 * At added - gone >= quota the kernel learns nothing inline for it
 * (PW_C_DNS_LEARN_QUOTA; the answer is held, and the agent drops it with
 * dns-budget): an answer is learned inline only if its new entries fit
 * (added - gone + new <= quota; extending an entry the pod holds costs
 * nothing). No entry, or quota 0: no cap in the kernel.
 */

/*
 * pw_learn_log: RINGBUF of struct pw_learn_rec, PW_LEARN_LOG_BYTES: each
 * answer pod_ingress learned inline, for the agent (the names of events,
 * `fqdn`, the per-name cap and LRU, its saved state). Reserved before anything
 * is written to pw_learned: full, the answer is not learned inline
 * (PW_C_LEARN_LOG_FULL) and takes the hold path, so the agent knows every
 * entry the kernel made. Pinned: what the kernel learned while the agent was
 * away is read by the next agent.
 */
#define PW_LEARN_REC_ADDRS 16 /* an answer with more learnable addresses is held */

struct pw_learn_addr {
	__u64 expires_ns; /* as written to pw_learned: now + clamp(TTL) */
	__u8 family;	  /* PW_FAMILY_V4 / PW_FAMILY_V6 */
	__u8 pad[7];
	union pw_ip addr; /* network order */
};
_Static_assert(sizeof(struct pw_learn_addr) == 32, "pw_learn_addr size");

struct pw_learn_rec {
	__u64 ts_ns; /* when learned, CLOCK_MONOTONIC */
	__u32 ep_id;
	__u32 ifindex;
	__u32 portset;	/* the portset written with every address */
	__u8 n_addrs;	/* entries of addrs[] used */
	__u8 name_len;	/* of name */
	__be16 dns_id;	/* the answer's message id */
	char name[256]; /* the question name, normalized (lower case, no trailing dot) */
	struct pw_learn_addr addrs[PW_LEARN_REC_ADDRS];
};
_Static_assert(sizeof(struct pw_learn_rec) == 792, "pw_learn_rec size");

#endif /* PODWALL_MAPS_H */

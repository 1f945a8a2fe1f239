// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall TC programs, attached to each enforced pod's host-side veth:
 *   pod_egress  on TC ingress: packets the pod sends (the allowlist).
 *   pod_ingress on TC egress:  packets to the pod (DNS hold, inbound flows).
 *
 * Identity is skb->ifindex, the host veth: never a packet field.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "podwall/maps.h"
#include "maps.bpf.h"
#include "parse.bpf.h"
#include "guard.bpf.h"
#include "dns.bpf.h"
#include "learn.bpf.h"
#include "l2.bpf.h"
#include "reject.bpf.h"

#define DNS_PORT	53
#define FLOW_REFRESH_NS 1000000000ULL

/* Every pass continues classification: TC_ACT_UNSPEC is tcx's TCX_NEXT and,
 * for a direct-action tc filter, "next filter". What runs after podwall's
 * verdict (the bandwidth plugin's shaping redirect) still runs; on the last
 * program of a hook it means "deliver". A drop (TC_ACT_SHOT) ends it. */
#define PW_PASS TC_ACT_UNSPEC

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void ep_count(const struct pw_endpoint *ep, __u8 reason, int audit)
{
	__u32 id = ep->ep_id;
	struct pw_ep_stats *st = bpf_map_lookup_elem(&pw_ep_stats, &id);

	if (!st)
		return;
	if (reason == PW_R_NONE)
		st->pass++;
	else if (audit)
		st->audit++;
	else if (reason < PW_R_MAX)
		st->drop[reason]++;
}

/* The flags of an event's bpf_ringbuf_submit(): no wake-up of the agent
 * unless pw_events is filling (EVENTS_WAKE unread bytes, ~1,000 events); the
 * agent reads the ring every PW_AGENT_DRAIN_MS (agent.c) all the same. A
 * wake-up is an irq_work, on a VM an IPI, paid by the packet that made the
 * event (a refused query: most of its time in the kernel). */
#define EVENTS_WAKE (PW_EVENTS_BYTES / 8)
static __always_inline __u64 events_wake(void)
{
	return bpf_ringbuf_query(&pw_events, BPF_RB_AVAIL_DATA) >= EVENTS_WAKE ? BPF_RB_FORCE_WAKEUP
									       : BPF_RB_NO_WAKEUP;
}

/* Token bucket per endpoint: a flood of denied packets costs a counter. rl:
 * pw_ep_rl (deny events) or pw_ep_rl_allow; full_ok: whether an endpoint
 * that finds the map full may emit anyway. */
static __always_inline int event_allowed(void *rl_map, int full_ok, __u32 ep_id, __u32 *suppressed)
{
	__u32 zero = 0;
	struct pw_config *cfg = bpf_map_lookup_elem(&pw_config, &zero);
	struct pw_ep_rl *rl, fresh = {};
	__u64 now = bpf_ktime_get_ns();

	if (!cfg || !cfg->events_per_sec)
		return 0;
	rl = (struct pw_ep_rl *)bucket_get(rl_map, &ep_id, &fresh, now, cfg->events_burst);
	if (!rl)
		return full_ok; /* map full: deny events not rate limited, still counted */
	if (!bucket_take((struct pw_ep_budget *)rl, now, cfg->events_per_sec, cfg->events_burst)) {
		__sync_fetch_and_add(&rl->suppressed, 1);
		return 0;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}

static __always_inline void emit_event(struct __sk_buff *skb, const struct pw_endpoint *ep,
				       const struct pw_pkt *p, __u8 reason, __u8 verdict)
{
	struct pw_event *ev;
	__u32 suppressed = 0;

	if (!event_allowed(&pw_ep_rl, 1, ep->ep_id, &suppressed)) {
		count(PW_C_EVENT_SUPPRESSED);
		return;
	}
	ev = bpf_ringbuf_reserve(&pw_events, sizeof(*ev), 0);
	if (!ev) {
		count(PW_C_EVENT_LOST);
		return;
	}
	ev->ts_ns = bpf_ktime_get_ns();
	ev->ep_id = ep->ep_id;
	ev->ifindex = skb->ifindex;
	ev->reason = reason;
	ev->verdict = verdict;
	ev->family = p->family;
	ev->proto = p->proto;
	ev->sport = p->sport;
	ev->dport = p->dport;
	ev->saddr = p->saddr;
	ev->daddr = p->daddr;
	ev->suppressed = suppressed;
	ev->icmp_type = p->icmp_type;
	ev->icmp_code = p->icmp_code;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, events_wake());
}

/*
 * visibility: allowed. One event for a flow the rules allowed, when its entry
 * is created (never per packet), from the endpoint's own bucket. A global
 * function, so the verifier checks it once, not on every path that reaches
 * it (a static one cost pod_egress 195k more instructions); it takes scalars
 * only (5.10 allows no pointers to stack in a global function's arguments):
 * l3 = family | proto << 8 | icmp type << 16 | icmp code << 24, ports = sport
 * | dport << 16 as on the wire, and reads the addresses from the IP header
 * again (pod_egress parsed it at ETH_HLEN: no VLAN tags, no IPv4 options).
 */
__noinline int pw_emit_allowed(struct __sk_buff *skb, __u32 ep_id, __u32 l3, __u32 ports)
{
	__u8 family = l3 & 0xff;
	struct pw_event *ev;
	__u32 suppressed = 0;
	int err;

	if (!event_allowed(&pw_ep_rl_allow, 0, ep_id, &suppressed)) {
		count(PW_C_EVENT_SUPPRESSED);
		return 0;
	}
	ev = bpf_ringbuf_reserve(&pw_events, sizeof(*ev), 0);
	if (!ev) {
		count(PW_C_EVENT_LOST);
		return 0;
	}
	__builtin_memset(&ev->saddr, 0, sizeof(ev->saddr) * 2);
	if (family == PW_FAMILY_V4)
		err = bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, saddr), &ev->saddr,
					 4) ||
		      bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, daddr), &ev->daddr,
					 4);
	else
		err = bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct ipv6hdr, saddr),
					 &ev->saddr, 32);
	if (err) {
		bpf_ringbuf_discard(ev, 0);
		count(PW_C_EVENT_LOST);
		return 0;
	}
	ev->ts_ns = bpf_ktime_get_ns();
	ev->ep_id = ep_id;
	ev->ifindex = skb->ifindex;
	ev->reason = PW_R_NONE;
	ev->verdict = PW_VERDICT_ALLOW;
	ev->family = family;
	ev->proto = (l3 >> 8) & 0xff;
	ev->sport = ports & 0xffff;
	ev->dport = ports >> 16;
	ev->suppressed = suppressed;
	ev->icmp_type = (l3 >> 16) & 0xff;
	ev->icmp_code = l3 >> 24;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, events_wake());
	return 0;
}

/*
 * The event of a DNS query whose name was read (struct pw_event_named in
 * maps.h): the name dns_query_check() left in pw_scratch.norm, from the deny
 * events' bucket. qlen: PW_DQ_QLEN() of its answer (the name's wire length +
 * 4). A global function like pw_emit_allowed (scalars only): l3 = family |
 * proto << 8 | reason << 16 | verdict << 24, ports = sport | dport << 16; the
 * addresses are read from the IP header again.
 */
__noinline int pw_emit_named(struct __sk_buff *skb, __u32 ep_id, __u32 l3, __u32 ports, __u32 qlen)
{
	__u8 family = l3 & 0xff;
	struct pw_event_named *ev;
	struct pw_dns_scratch *s;
	__u32 suppressed = 0, zero = 0, len;
	int err;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s)
		return 0;
	if (!event_allowed(&pw_ep_rl, 1, ep_id, &suppressed)) {
		count(PW_C_EVENT_SUPPRESSED);
		return 0;
	}
	ev = bpf_ringbuf_reserve(&pw_events, sizeof(*ev), 0);
	if (!ev) {
		count(PW_C_EVENT_LOST);
		return 0;
	}
	__builtin_memset(&ev->ev.saddr, 0, sizeof(ev->ev.saddr) * 2);
	if (family == PW_FAMILY_V4)
		err = bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, saddr),
					 &ev->ev.saddr, 4) ||
		      bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, daddr),
					 &ev->ev.daddr, 4);
	else
		err = bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct ipv6hdr, saddr),
					 &ev->ev.saddr, 32);
	if (err) {
		bpf_ringbuf_discard(ev, 0);
		count(PW_C_EVENT_LOST);
		return 0;
	}
	ev->ev.ts_ns = bpf_ktime_get_ns();
	ev->ev.ep_id = ep_id;
	ev->ev.ifindex = skb->ifindex;
	ev->ev.reason = (l3 >> 16) & 0xff;
	ev->ev.verdict = l3 >> 24;
	ev->ev.family = family;
	ev->ev.proto = (l3 >> 8) & 0xff;
	ev->ev.sport = ports & 0xffff;
	ev->ev.dport = ports >> 16;
	ev->ev.suppressed = suppressed;
	ev->ev.icmp_type = 0;
	ev->ev.icmp_code = 0;
	ev->ev.pad = 0;
	/* norm holds '.' and the labels, end (qlen - 5) bytes: the name is
	 * what follows the first '.' */
	len = qlen - 5;
	len = qlen > 5 && len <= PW_NAME_TEXT_MAX + 1 ? len - 1 : 0;
	ev->name_len = len;
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
	/* The length read back on each turn: a compare with the same register
	 * would narrow its range on one side, and the verifier would walk the
	 * rest of the loop once per turn it can end on. */
	OPAQUE_PUT(s, 0, len);
	for (__u32 i = 0; i < sizeof(ev->name); i++) {
		__u8 c = s->norm[(i + 1) & 0xff];

		if (i >= OPAQUE_GET(s, 0))
			c = 0;
		ev->name[i] = c;
	}
	bpf_ringbuf_submit(ev, events_wake());
	return 0;
}

static __always_inline void flow_key_egress(struct pw_flow_key *k, const struct pw_endpoint *ep,
					    const struct pw_pkt *p)
{
	k->ep_id = ep->ep_id;
	k->family = p->family;
	k->proto = p->proto;
	k->lport = p->sport;
	k->rport = p->dport;
	k->laddr = p->saddr;
	k->raddr = p->daddr;
}

static __always_inline int has_flow_key(const struct pw_pkt *p)
{
	return p->ports_known || p->icmp_echo_req;
}

/*
 * The endpoint's share of pw_flows (pw_ep_flows in maps.h): 1 if one more
 * flow may be recorded for it, and then counted; 0 at its quota. A count
 * taken for a write that then fails is given back by the agent's next walk.
 * A global function: the verifier checks it once, not on every path to it.
 */
__noinline int flow_share_take(__u32 ep_id)
{
	struct pw_ep_flows *s = bpf_map_lookup_elem(&pw_ep_flows, &ep_id);
	__u64 quota;

	if (!s) {
		struct pw_ep_flows fresh = {};

		bpf_map_update_elem(&pw_ep_flows, &ep_id, &fresh, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&pw_ep_flows, &ep_id);
		if (!s)
			return 1; /* map full: recorded without a share */
	}
	quota = s->quota ? s->quota : PW_FLOW_QUOTA;
	if ((__s64)(s->added - s->gone) >= (__s64)quota) {
		count(PW_C_FLOW_QUOTA);
		return 0;
	}
	__sync_fetch_and_add(&s->added, 1);
	return 1;
}

/* 0 once the flow has its entry; -1 if it has no flow key, is over the
 * endpoint's share or was not recorded. */
static __always_inline int flow_create(const struct pw_endpoint *ep, const struct pw_pkt *p,
				       __u32 flags)
{
	struct pw_flow_key k = {};
	struct pw_flow_val v = {};

	if (!has_flow_key(p) || !flow_share_take(ep->ep_id))
		return -1;
	flow_key_egress(&k, ep, p);
	v.last_seen_ns = bpf_ktime_get_ns();
	v.policy_gen = ep->policy_gen;
	v.flags = flags;
	if (bpf_map_update_elem(&pw_flows, &k, &v, BPF_ANY)) {
		count(PW_C_FLOW_INSERT_FAIL);
		return -1;
	}
	return 0;
}

/* Count a denial and report it (verdict: PW_VERDICT_DROP, or REJECT once
 * the pod was answered; audit mode says AUDIT); qlen: a DNS query's name was
 * read, the event carries it (pw_emit_named). The verdict: drop, or pass in
 * audit mode. */
static __always_inline int deny_as(struct __sk_buff *skb, const struct pw_endpoint *ep,
				   const struct pw_pkt *p, __u8 reason, __u8 verdict, __u32 qlen)
{
	int audit = ep->mode == PW_MODE_AUDIT;

	count((audit ? PW_C_AUDIT : PW_C_DROP) + reason);
	ep_count(ep, reason, audit);
	if (audit)
		verdict = PW_VERDICT_AUDIT;
	if (qlen)
		pw_emit_named(skb, ep->ep_id,
			      p->family | p->proto << 8 | (__u32)reason << 16 |
				      (__u32)verdict << 24,
			      p->sport | (__u32)p->dport << 16, qlen);
	else
		emit_event(skb, ep, p, reason, verdict);
	if (!audit)
		return TC_ACT_SHOT;
	/* Audit: remember the flow so one connection is one event, until the
	 * endpoint's rules (or mode) change. */
	if (reason == PW_R_NO_RULE || reason == PW_R_PORT || reason == PW_R_EXPIRED)
		flow_create(ep, p, PW_FLOW_AUDIT);
	return PW_PASS;
}

static __always_inline int deny(struct __sk_buff *skb, const struct pw_endpoint *ep,
				const struct pw_pkt *p, __u8 reason)
{
	return deny_as(skb, ep, p, reason, PW_VERDICT_DROP, 0);
}

/*
 * Encapsulation the node would take apart and forward: VXLAN (4789, flannel's
 * 8472), Geneve (6081), WireGuard (51820, 51821) over UDP; IPIP, IPv6-in-IPv4,
 * GRE and ESP. Sent to one of the node's own addresses it is a way to every
 * address the node can reach, whatever the rules say about the inner packet.
 */
#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
#define IPPROTO_GRE_  47
#define IPPROTO_ESP_  50

static __always_inline int is_tunnel_to_node(const struct pw_pkt *p)
{
	__u16 port = bpf_ntohs(p->dport);

	if (p->proto == IPPROTO_UDP) {
		if (p->ports_known && port != 4789 && port != 8472 && port != 6081 &&
		    port != 51820 && port != 51821)
			return 0;
	} else if (p->proto != IPPROTO_IPIP_ && p->proto != IPPROTO_IPV6_ &&
		   p->proto != IPPROTO_GRE_ && p->proto != IPPROTO_ESP_) {
		return 0;
	}
	return pw_guard_is_node(p->family, &p->daddr);
}

/*
 * Whether port set id grants (proto, port): port is in host order; ports_known
 * 0 for fragments and protocols without ports. tunnel: the packet is
 * encapsulation to the node; only a rule naming exactly that UDP port grants
 * it (no rule can name the IP protocols). A global function: the verifier
 * checks its loop once, not on every path of pod_egress that reaches it.
 */
__noinline int portset_allows(__u32 id, __u32 proto, __u32 port, __u32 ports_known, __u32 tunnel)
{
	struct pw_portset *ps;

	if (!id)
		return 0;
	ps = bpf_map_lookup_elem(&pw_ports, &id);
	if (!ps)
		return 0;
	for (int i = 0; i < PW_MAX_PORT_RANGES; i++) {
		struct pw_port_range *r = &ps->r[i];

		if (i >= ps->count)
			break;
		if (tunnel) {
			if (ports_known && r->proto == proto && r->lo == port && r->hi == port)
				return 1;
			continue;
		}
		if (r->proto == PW_PROTO_ANY)
			return 1;
		if (r->proto != proto)
			continue;
		if (!ports_known) {
			/* Fragments: only a grant of every port is safe. */
			if (r->lo == 0 && r->hi == 65535)
				return 1;
			continue;
		}
		if (port >= r->lo && port <= r->hi)
			return 1;
	}
	return 0;
}

static __always_inline int pkt_portset_allows(__u32 id, const struct pw_pkt *p, int tunnel)
{
	return portset_allows(id, p->proto, bpf_ntohs(p->dport), p->ports_known, tunnel);
}

static __always_inline __u32 cidr_portset(const struct pw_endpoint *ep, const struct pw_pkt *p)
{
	struct pw_cidr_val *v;

	if (p->family == PW_FAMILY_V4) {
		struct pw_cidr4_key k = {
			.prefixlen = 64,
			.ep_id = ep->ep_id,
		};
		__builtin_memcpy(k.addr, &p->daddr.v4, 4);
		v = bpf_map_lookup_elem(&pw_cidr4, &k);
	} else {
		struct pw_cidr6_key k = {
			.prefixlen = 32 + 128,
			.ep_id = ep->ep_id,
		};
		__builtin_memcpy(k.addr, p->daddr.v6, 16);
		v = bpf_map_lookup_elem(&pw_cidr6, &k);
	}
	return v ? v->portset : 0;
}

/*
 * The allow maps: learned hostname addresses, then CIDR rules. For a flow
 * being re-checked after a policy change, a learned entry counts even past its
 * expiry: established connections outlive the DNS TTL.
 */
static __always_inline __u8 rules_verdict(const struct pw_endpoint *ep, const struct pw_pkt *p,
					  int recheck)
{
	struct pw_learned_key lk = {
		.ep_id = ep->ep_id,
		.family = p->family,
		.addr = p->daddr,
	};
	struct pw_learned_val *lv;
	__u32 cps;
	int found = 0, expired = 0, tunnel = is_tunnel_to_node(p);

	lv = bpf_map_lookup_elem(&pw_learned, &lk);
	if (lv) {
		found = 1;
		if (!recheck && bpf_ktime_get_ns() > lv->expires_ns)
			expired = 1;
		else if (pkt_portset_allows(lv->portset, p, tunnel)) {
			count(PW_C_PASS_LEARNED);
			return PW_R_NONE;
		}
	}
	cps = cidr_portset(ep, p);
	if (cps) {
		found = 1;
		if (pkt_portset_allows(cps, p, tunnel)) {
			count(PW_C_PASS_CIDR);
			return PW_R_NONE;
		}
	}
	if (expired)
		return PW_R_EXPIRED;
	if (found && tunnel)
		return PW_R_TUNNEL; /* granted, but not encapsulation to the node by name */
	if (found && p->is_frag)
		return PW_R_FRAGMENT; /* granted, but not every port: ports unknowable */
	return found ? PW_R_PORT : PW_R_NO_RULE;
}

static __always_inline int is_resolver(const struct pw_pkt *p, const union pw_ip *addr)
{
	struct pw_addr_key k = {.family = p->family, .addr = *addr};

	return bpf_map_lookup_elem(&pw_resolvers, &k) != NULL;
}

static __always_inline int ip6_eq(const __u8 *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

static __always_inline int source_is_pod(const struct pw_endpoint *ep, const struct pw_pkt *p)
{
	if (p->family == PW_FAMILY_V4)
		return (ep->flags & PW_EP_HAS_V4) && p->saddr.v4 == *(const __u32 *)ep->ip4;
	return (ep->flags & PW_EP_HAS_V6) && ip6_eq(p->saddr.v6, ep->ip6);
}

/* Neighbour discovery to a unicast address: only on the pod's own /64. */
static __always_inline int same_v6_64(const struct pw_endpoint *ep, const union pw_ip *dst)
{
	const __u32 *a = (const __u32 *)ep->ip6;

	return (ep->flags & PW_EP_HAS_V6) && a[0] == dst->w[0] && a[1] == dst->w[1];
}

static __always_inline int is_v4mapped(const struct pw_pkt *p)
{
	return p->family == PW_FAMILY_V6 && p->daddr.w[0] == 0 && p->daddr.w[1] == 0 &&
	       p->daddr.w[2] == bpf_htonl(0xffff);
}

/* Record a DNS query so that only an answer to it is ever learned from: a
 * UDP datagram's, or the message of a TCP segment dns_verdict() checked (one
 * whole message after its 2-byte length; a segment without data records
 * nothing). */
static __always_inline void dns_record_query(struct __sk_buff *skb, const struct pw_endpoint *ep,
					     const struct pw_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 off = p->l4_off + sizeof(struct udphdr);
	struct pw_dns_pend_key k = {};
	struct pw_dns_pend_val v = {};
	__u8 *dns;

	if (p->l4_off > 512)
		return;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + p->l4_off;

		if ((void *)(th + 1) > data_end)
			return;
		off = p->l4_off + th->doff * 4 + 2;
		k.tcp = 1;
	}
	if (off > 1024)
		return;
	dns = data + off;
	if ((void *)(dns + DNS_HDR_LEN) > data_end)
		return; /* not a DNS message: passes to the resolver, nothing recorded */
	if (dns[2] & 0x80)
		return; /* QR set: a response, not a query */
	k.ep_id = ep->ep_id;
	k.family = p->family;
	k.pod_port = p->sport;
	__builtin_memcpy(&k.dns_id, dns, 2);
	k.resolver = p->daddr;
	v.sent_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&pw_dns_pend, &k, &v, BPF_ANY))
		count(PW_C_PEND_INSERT_FAIL);
}

/* A packet from the pod that passed parsing and the spoof check. */
static __always_inline __u8 egress_verdict(struct __sk_buff *skb, const struct pw_endpoint *ep,
					   const struct pw_pkt *p)
{
	struct pw_flow_key fk = {};
	struct pw_flow_val *fv = NULL;
	__u8 reason;
	int recheck;

	if (is_v4mapped(p))
		return PW_R_V4MAPPED;

	/* An echo reply creates no flow, but may answer an inbound echo request. */
	if (has_flow_key(p) || p->icmp_echo_reply) {
		flow_key_egress(&fk, ep, p);
		fv = bpf_map_lookup_elem(&pw_flows, &fk);
		if (fv && (fv->flags & PW_FLOW_INBOUND)) {
			count(PW_C_PASS_FLOW);
			return PW_R_NONE;
		}
		if (fv && fv->policy_gen == ep->policy_gen && !(fv->flags & PW_FLOW_AUDIT)) {
			__u64 now = bpf_ktime_get_ns();

			if (now - fv->last_seen_ns > FLOW_REFRESH_NS)
				fv->last_seen_ns = now;
			count(PW_C_PASS_FLOW);
			return PW_R_NONE;
		}
		if (fv && fv->policy_gen == ep->policy_gen && ep->mode == PW_MODE_AUDIT)
			return PW_R_NONE; /* audited flow, already reported once */
	}

	/*
	 * A re-check counts a learned address past its expiry (within its grace,
	 * while the agent keeps the entry): established connections outlive the
	 * DNS TTL. It is one for a flow whose rules changed since it was allowed
	 * (not for an audited one), and for a TCP packet without SYN and without
	 * a flow: a connection whose flow was evicted (or forgotten idle) goes on
	 * while the rules grant it. Never more than the rules grant: a denied
	 * destination stays denied. One call of rules_verdict() for both keeps
	 * the verifier's work down.
	 */
	if (fv) {
		count(PW_C_FLOW_REVALIDATE);
		recheck = !(fv->flags & PW_FLOW_AUDIT);
	} else {
		recheck = p->proto == IPPROTO_TCP && p->ports_known && !p->tcp_syn_only;
	}
	reason = rules_verdict(ep, p, recheck);
	if (fv) {
		if (reason == PW_R_NONE) {
			fv->policy_gen = ep->policy_gen;
			fv->flags = 0;
			return PW_R_NONE;
		}
		bpf_map_delete_elem(&pw_flows, &fk);
		return reason;
	}
	if (reason == PW_R_NONE) {
		if (recheck)
			count(PW_C_FLOW_READMIT);
		/* visibility: a new flow, not one re-admitted mid-stream */
		if (!flow_create(ep, p, 0) && !recheck && (ep->flags & PW_EP_VIS_ALLOWED))
			pw_emit_allowed(skb, ep->ep_id,
					p->family | p->proto << 8 | p->icmp_type << 16 |
						(__u32)p->icmp_code << 24,
					p->sport | (__u32)p->dport << 16);
	}
	return reason;
}

/* denyAction reject answers the denials that are about a destination; the
 * others (spoof, l2, malformed, fragments, DNS checks...) stay silent drops. */
static __always_inline int rejects(const struct pw_endpoint *ep, __u8 reason)
{
	return ep->deny_action == PW_DENY_REJECT &&
	       (reason == PW_R_NO_RULE || reason == PW_R_PORT || reason == PW_R_EXPIRED ||
		reason == PW_R_DNS || reason == PW_R_TUNNEL);
}

/* Port 53 over UDP or TCP: a DNS query, whatever the destination. */
static __always_inline int is_dns_query(const struct pw_pkt *p)
{
	return (p->proto == IPPROTO_UDP || p->proto == IPPROTO_TCP) && p->ports_known &&
	       p->dport == bpf_htons(DNS_PORT) && !is_v4mapped(p);
}

/*
 * Where the DNS message of a query is: after the UDP header (the UDP length
 * says how long), or after a TCP header and the 2-byte length, which must
 * cover the rest of the segment exactly (one whole message per segment: a
 * message that starts in one segment and ends in another, or two in one, could
 * carry a name nobody checked). *len 0: a TCP segment without data. -1: malformed.
 * For TCP, *seq and *flags: the segment's sequence number and TCP flags.
 */
static __always_inline int dns_locate(struct __sk_buff *skb, const struct pw_pkt *p, __u32 *off,
				      __u32 *len, __u32 *seq, __u8 *tflags)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 l4 = p->l4_off, pl;
	__be16 mlen;

	if (l4 > 512)
		return -1;
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = data + l4;
		__u32 ulen;

		if ((void *)(uh + 1) > data_end)
			return -1;
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || l4 + ulen > skb->len)
			return -1;
		*off = l4 + sizeof(*uh);
		*len = ulen - sizeof(*uh);
		return 0;
	} else {
		struct tcphdr *th = data + l4;

		if ((void *)(th + 1) > data_end)
			return -1;
		*seq = bpf_ntohl(th->seq);
		*tflags = ((__u8 *)th)[13];
		*off = l4 + th->doff * 4;
		if (*off > skb->len)
			return -1;
		pl = skb->len - *off;
		*len = 0;
		if (!pl)
			return 0;
		/* pl 2: a message of length 0, which the resolver would not frame
		 * as we do once our view of the stream stops moving */
		if (th->syn || pl <= 2 || bpf_skb_load_bytes(skb, *off, &mlen, 2) ||
		    bpf_ntohs(mlen) != pl - 2)
			return -1;
		*off += 2;
		*len = pl - 2;
		return 0;
	}
}

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

/*
 * Follow the pod's TCP stream to a resolver (see pw_dns_tcp in maps.h). len:
 * the segment's data (0: none). Returns 0 if the segment may pass as far as
 * the stream goes (its message, if any, is still checked), -1 to drop it.
 */
static __always_inline int dns_tcp_track(const struct pw_endpoint *ep, const struct pw_pkt *p,
					 __u32 seq, __u8 tflags, __u32 len)
{
	struct pw_dns_pend_key k = {
		.ep_id = ep->ep_id,
		.family = p->family,
		.pod_port = p->sport,
		.resolver = p->daddr,
	};
	struct pw_dns_tcp fresh = {}, *t;

	t = bpf_map_lookup_elem(&pw_dns_tcp, &k);
	if ((tflags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
		if (t && !(t->flags & PW_DNS_TCP_CLOSED) && t->next_seq != seq + 1)
			return -1; /* a SYN into a live connection would move our view */
		fresh.next_seq = seq + 1;
		fresh.last_seq = seq + 1;
		bpf_map_update_elem(&pw_dns_tcp, &k, &fresh, BPF_ANY);
		return 0;
	}
	if (!t)
		return len ? -1 : 0; /* not seen from its SYN: no data */
	if (!len) {
		if ((tflags & (TCPF_FIN | TCPF_RST)) && seq == t->next_seq)
			t->flags |= PW_DNS_TCP_CLOSED;
		return 0;
	}
	if (t->flags & PW_DNS_TCP_CLOSED)
		return -1;
	if (seq == t->next_seq || (seq == t->last_seq && len + 2 == t->last_len))
		return 0;
	return -1;
}

/* A checked data segment passed: the stream moves on. */
static __always_inline void dns_tcp_advance(const struct pw_endpoint *ep, const struct pw_pkt *p,
					    __u32 seq, __u8 tflags, __u32 len)
{
	struct pw_dns_pend_key k = {
		.ep_id = ep->ep_id,
		.family = p->family,
		.pod_port = p->sport,
		.resolver = p->daddr,
	};
	struct pw_dns_tcp *t = bpf_map_lookup_elem(&pw_dns_tcp, &k);

	if (!t || seq != t->next_seq)
		return; /* a repeat of the last segment: nothing new */
	t->last_seq = seq;
	t->last_len = len + 2;
	t->next_seq = seq + len + 2 + !!(tflags & TCPF_FIN);
	if (tflags & (TCPF_FIN | TCPF_RST))
		t->flags |= PW_DNS_TCP_CLOSED;
}

/*
 * A token of the endpoint's budget of queries sent on to the resolvers
 * (pw_config.dns_query_per_sec, pw_ep_query): 1 if there was one, or no
 * budget is set, or the budget map is full; 0 (counted dns_query_budget) if
 * the query is over it. In audit mode (audit 1) an over-budget query is
 * counted audited here, for the pod too, and goes on (1): no event. A global
 * function, verified once, that takes scalars only.
 */
__noinline int pw_query_budget_take(__u32 ep_id, __u32 audit)
{
	struct pw_ep_budget *b, fresh = {};
	struct pw_ep_stats *st;
	struct pw_config *cfg;
	__u32 zero = 0;
	__u64 now;

	cfg = bpf_map_lookup_elem(&pw_config, &zero);
	if (!cfg || !cfg->dns_query_per_sec)
		return 1;
	now = bpf_ktime_get_ns();
	b = bucket_get(&pw_ep_query, &ep_id, &fresh, now, cfg->dns_query_burst);
	if (!b)
		return 1; /* map full: not limited */
	if (bucket_take(b, now, cfg->dns_query_per_sec, cfg->dns_query_burst))
		return 1;
	count(PW_C_DNS_QUERY_BUDGET);
	if (!audit)
		return 0;
	count(PW_C_AUDIT + PW_R_DNS_BUDGET);
	st = bpf_map_lookup_elem(&pw_ep_stats, &ep_id);
	if (st)
		st->audit++;
	return 1;
}

/*
 * A DNS query from the pod: only to a trusted resolver, only well formed, only
 * for a name its policies let it resolve, and only within the pod's budget of
 * queries (one pod's flood must not take the resolver every pod shares; the
 * queries the node answers itself take none of it). *res: dns_query_check()'s
 * answer, for dns_refuse() and the event's name. The caller denies (one
 * deny() for every verdict, which keeps the verifier's work down).
 */
static __always_inline __u8 dns_verdict(struct __sk_buff *skb, const struct pw_endpoint *ep,
					const struct pw_pkt *p, __u32 *res)
{
	__u32 off = 0, len = 0, seq = 0;
	__u8 code, tflags = 0;
	int over;

	if (!is_resolver(p, &p->daddr))
		return PW_R_DNS;
	if (dns_locate(skb, p, &off, &len, &seq, &tflags))
		return PW_R_DNS_INVALID;
	if (p->proto == IPPROTO_TCP && dns_tcp_track(ep, p, seq, tflags, len))
		return PW_R_DNS_INVALID;
	if (!len) /* TCP without data; an empty UDP datagram is no query */
		return p->proto == IPPROTO_TCP ? PW_R_NONE : PW_R_DNS_INVALID;
	*res = dns_query_check(skb, ep->ep_id, off, len);
	code = PW_DQ_CODE(*res);
	if (code == PW_DQ_INVALID)
		return PW_R_DNS_INVALID;
	if (code != PW_DQ_PASS)
		return PW_R_DNS_NAME;
	/* Over budget, a TCP segment is dropped and the stream stays where it
	 * was: the pod's retransmission is checked (and budgeted) again. */
	over = !pw_query_budget_take(ep->ep_id, ep->mode == PW_MODE_AUDIT);
	if (p->proto == IPPROTO_TCP && !over)
		dns_tcp_advance(ep, p, seq, tflags, len);
	return over ? PW_R_DNS_BUDGET : PW_R_NONE;
}

/* A query passes (granted, or audited): remember it for its answer. */
static __always_inline void dns_query_passed(struct __sk_buff *skb, const struct pw_endpoint *ep,
					     const struct pw_pkt *p)
{
	dns_record_query(skb, ep, p);
	count(PW_C_PASS_DNS_QUERY);
}

/* ARP and neighbour discovery from the pod speak only for the pod. */
static __always_inline int l2_control_ok(struct __sk_buff *skb, const struct pw_endpoint *ep,
					 const struct pw_pkt *p)
{
	if (p->family != PW_FAMILY_V6)
		return arp_ok(skb, ep);
	if (p->nd_onlink_check && !same_v6_64(ep, &p->daddr))
		return 0;
	return nd_ok(skb, ep, p);
}

/* A pod no policy selects: Kubernetes' allow-all, minus forged sources and
 * forged L2 claims (no pod on the node can forge another's resolver). */
static __always_inline int open_egress(struct __sk_buff *skb, const struct pw_endpoint *ep,
				       struct pw_pkt *pkt)
{
	pull_headers(skb);
	if (!l2_source_ok(skb, ep))
		return deny(skb, ep, pkt, PW_R_L2);
	switch (parse_packet(skb, pkt)) {
	case PW_P_OK:
		if (!source_is_pod(ep, pkt))
			return deny(skb, ep, pkt, PW_R_SPOOF);
		if (!l2_dest_fix(skb, ep, pkt))
			return deny(skb, ep, pkt, PW_R_L2);
		break;
	case PW_P_L2:
		if (!l2_control_ok(skb, ep, pkt))
			return deny(skb, ep, pkt, PW_R_L2);
		break;
	}
	count(PW_C_PASS_UNMANAGED);
	return PW_PASS;
}

SEC("tc")
int pod_egress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct pw_endpoint *ep;
	struct pw_pkt pkt = {};
	__u32 res = 0;
	__u8 reason;
	int act, dns;

	ep = bpf_map_lookup_elem(&pw_endpoints, &ifindex);
	if (!ep) {
		count(PW_C_PASS_UNMANAGED);
		return PW_PASS;
	}
	if (ep->mode == PW_MODE_OPEN)
		return open_egress(skb, ep, &pkt);
	if (skb->vlan_present)
		return deny(skb, ep, &pkt, PW_R_L2);

	pull_headers(skb);
	if (!l2_source_ok(skb, ep))
		return deny(skb, ep, &pkt, PW_R_L2);
	switch (parse_packet(skb, &pkt)) {
	case PW_P_L2:
		if (!l2_control_ok(skb, ep, &pkt))
			return deny(skb, ep, &pkt, PW_R_L2);
		count(PW_C_PASS_L2);
		return PW_PASS;
	case PW_P_DROP:
		return deny(skb, ep, &pkt, pkt.reason);
	}
	if (!source_is_pod(ep, &pkt))
		return deny(skb, ep, &pkt, PW_R_SPOOF);
	dns = is_dns_query(&pkt);
	reason = dns ? dns_verdict(skb, ep, &pkt, &res) : egress_verdict(skb, ep, &pkt);
	if (reason != PW_R_NONE) {
		/* denyAction reject answers first, so that the event says whether
		 * the pod was answered (it reads the packet as parsed, and no
		 * rejected reason carries a name to read from the packet). */
		if (ep->mode != PW_MODE_AUDIT && rejects(ep, reason)) {
			act = pw_reject(skb, ep->ep_id, pkt.l4_off,
					PW_REJ_WHAT(pkt.family, pkt.proto, pkt.is_frag));
			deny_as(skb, ep, &pkt, reason,
				act == TC_ACT_REDIRECT ? PW_VERDICT_REJECT : PW_VERDICT_DROP, 0);
			return act;
		}
		act = deny_as(skb, ep, &pkt, reason, PW_VERDICT_DROP, PW_DQ_QLEN(res));
		/* A query over the pod's budget (dns-budget) is dropped: the pod's
		 * stub times out and retries, which slows a flood down, where an
		 * answer would speed it up. */
		if (reason != PW_R_DNS_NAME)
			return act;
		/* A name no policy grants: the kernel answers for the resolver
		 * (over TCP the segment is just dropped). Audit: it goes on. */
		if (act == TC_ACT_SHOT)
			return pkt.proto == IPPROTO_UDP
				       ? dns_refuse(skb, pkt.l4_off, pkt.family, PW_DQ_QLEN(res),
						    PW_DQ_CODE(res) == PW_DQ_NXDOMAIN
							    ? DNS_RCODE_NXDOMAIN
							    : DNS_RCODE_REFUSED)
				       : TC_ACT_SHOT;
		dns_query_passed(skb, ep, &pkt);
		return act;
	}
	if (!l2_dest_fix(skb, ep, &pkt))
		return deny(skb, ep, &pkt, PW_R_L2);
	if (dns)
		dns_query_passed(skb, ep, &pkt);
	ep_count(ep, PW_R_NONE, 0);
	return PW_PASS;
}

/* A token of the endpoint's budget of held answers; 1 if there was one (or
 * no budget is set, or the budget map is full). */
static __always_inline int hold_budget_take(const struct pw_config *cfg, __u32 ep_id, __u64 now)
{
	struct pw_ep_budget *b, fresh = {};

	if (!cfg->dns_hold_per_sec)
		return 1;
	b = bucket_get(&pw_ep_budget, &ep_id, &fresh, now, cfg->dns_hold_burst);
	if (!b)
		return 1;
	return bucket_take(b, now, cfg->dns_hold_per_sec, cfg->dns_hold_burst);
}

/* The kernel learner on the answer's DNS message (the UDP length says how
 * long). Returns enum pw_ln. */
static __always_inline int dns_learn_answer(struct __sk_buff *skb, const struct pw_endpoint *ep,
					    const struct pw_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct udphdr *uh;
	__u32 ulen;

	if (p->l4_off > 512)
		return PW_LN_NOT_SIMPLE;
	uh = data + p->l4_off;
	if ((void *)(uh + 1) > data_end)
		return PW_LN_NOT_SIMPLE;
	ulen = bpf_ntohs(uh->len);
	if (ulen < sizeof(*uh) || p->l4_off + ulen > skb->len)
		return PW_LN_NOT_SIMPLE;
	return dns_learn(skb, ep->ep_id, p->l4_off + sizeof(*uh), ulen - sizeof(*uh));
}

/* The metadata of a frame copied to the agent: the answer to the recorded
 * query k; msg_len, msg_seq: the message's over TCP when it spans several
 * segments (0: the frame holds one whole message). */
static __always_inline void dns_meta_fill(struct pw_dns_meta *meta, struct __sk_buff *skb,
					  const struct pw_endpoint *ep, const struct pw_pkt *p,
					  const struct pw_dns_pend_key *k, __u16 msg_len,
					  __u32 msg_seq, __u64 now)
{
	meta->ts_ns = now;
	meta->ifindex = skb->ifindex;
	meta->ep_id = ep->ep_id;
	meta->pkt_len = skb->len;
	meta->family = p->family;
	meta->proto = p->proto;
	meta->pod_port = p->dport;
	meta->dns_id = k->dns_id;
	meta->tcp_msg_len = msg_len;
	meta->tcp_msg_seq = msg_seq;
	meta->resolver = p->saddr;
	if (p->proto == IPPROTO_TCP && skb->gso_segs > 1)
		meta->gso_size = (__u16)skb->gso_size;
}

/*
 * Hold the answer to the recorded query k (just consumed) for the agent: copy
 * the frame out with its metadata and drop the original; or pass it unheld
 * when the agent is away or it is too big, or drop it when the pod is over its
 * budget. For a UDP answer and a TCP one alike.
 */
static __always_inline int dns_hold(struct __sk_buff *skb, const struct pw_endpoint *ep,
				    const struct pw_pkt *p, const struct pw_config *cfg,
				    const struct pw_dns_pend_key *k)
{
	struct pw_dns_meta meta = {};
	__u64 now = bpf_ktime_get_ns();

	if (now - cfg->heartbeat_ns > cfg->agent_timeout_ns) {
		count(PW_C_DNS_AGENT_AWAY);
		return PW_PASS;
	}
	if (skb->len > PW_DNS_CAP_MAX) {
		count(PW_C_DNS_TOO_BIG);
		return PW_PASS;
	}
	if (!hold_budget_take(cfg, ep->ep_id, now)) {
		/* Over its budget the pod loses its own answers (the client
		 * retries), not another pod's share of the agent. */
		count(PW_C_DROP + PW_R_DNS_BUDGET);
		ep_count(ep, PW_R_DNS_BUDGET, 0);
		emit_event(skb, ep, p, PW_R_DNS_BUDGET, PW_VERDICT_DROP);
		return TC_ACT_SHOT;
	}
	meta.ts_ns = now;
	meta.ifindex = skb->ifindex;
	meta.ep_id = ep->ep_id;
	meta.pkt_len = skb->len;
	meta.family = p->family;
	meta.proto = p->proto;
	meta.pod_port = p->dport;
	meta.dns_id = k->dns_id;
	meta.resolver = p->saddr;
	if (bpf_perf_event_output(skb, &pw_dns_cap, ((__u64)skb->len << 32) | BPF_F_CURRENT_CPU,
				  &meta, sizeof(meta))) {
		/* Never released unlearned: the client retries. */
		count(PW_C_DROP + PW_R_DNS_CAPTURE);
		emit_event(skb, ep, p, PW_R_DNS_CAPTURE, PW_VERDICT_DROP);
		return TC_ACT_SHOT;
	}
	count(PW_C_DNS_HELD);
	return TC_ACT_SHOT;
}

/*
 * dns_hold() for a TCP answer (in dns_tcp_answer(), a function of its own, so
 * that pod_ingress's own code stays as the old verifiers accept it); msg_len,
 * msg_seq: the segment that completes a TCP answer over several (its budget
 * was taken at its first segment), 0 for one whole message.
 */
static __always_inline int dns_hold_msg(struct __sk_buff *skb, const struct pw_endpoint *ep,
					const struct pw_pkt *p, const struct pw_config *cfg,
					const struct pw_dns_pend_key *k, __u16 msg_len,
					__u32 msg_seq)
{
	struct pw_dns_meta meta = {};
	__u64 now = bpf_ktime_get_ns();

	if (now - cfg->heartbeat_ns > cfg->agent_timeout_ns) {
		count(PW_C_DNS_AGENT_AWAY);
		return PW_PASS;
	}
	if (skb->len > PW_DNS_CAP_MAX) {
		count(PW_C_DNS_TOO_BIG);
		return PW_PASS;
	}
	if (!msg_len && !hold_budget_take(cfg, ep->ep_id, now)) {
		/* Over its budget the pod loses its own answers (the client
		 * retries), not another pod's share of the agent. */
		count(PW_C_DROP + PW_R_DNS_BUDGET);
		ep_count(ep, PW_R_DNS_BUDGET, 0);
		emit_event(skb, ep, p, PW_R_DNS_BUDGET, PW_VERDICT_DROP);
		return TC_ACT_SHOT;
	}
	dns_meta_fill(&meta, skb, ep, p, k, msg_len, msg_seq, now);
	if (bpf_perf_event_output(skb, &pw_dns_cap, ((__u64)skb->len << 32) | BPF_F_CURRENT_CPU,
				  &meta, sizeof(meta))) {
		/* Never released unlearned: the client retries. */
		count(PW_C_DROP + PW_R_DNS_CAPTURE);
		emit_event(skb, ep, p, PW_R_DNS_CAPTURE, PW_VERDICT_DROP);
		return TC_ACT_SHOT;
	}
	count(PW_C_DNS_HELD);
	return TC_ACT_SHOT;
}

/* Hold a DNS answer for the agent (or learn it here: dns_learn()): copy the
 * frame out, drop the original. */
static __always_inline int dns_answer(struct __sk_buff *skb, const struct pw_endpoint *ep,
				      const struct pw_pkt *p)
{
	__u32 off = p->l4_off + sizeof(struct udphdr);
	struct pw_dns_pend_key k = {};
	struct pw_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&pw_config, &zero);
	if (!cfg || !(cfg->flags & PW_CFG_HOLD_DNS))
		return PW_PASS;
	if (cfg->release_mark && skb->mark == cfg->release_mark) {
		count(PW_C_DNS_RELEASED);
		return PW_PASS;
	}
	/* (the id copied, not read through a packet pointer: the 5.10 and 6.1
	 * verifiers lose the bound of an offset the compiler spills) */
	if (off > 1024 || off + DNS_HDR_LEN > skb->len ||
	    bpf_skb_load_bytes(skb, off, &k.dns_id, 2))
		return PW_PASS;

	k.ep_id = ep->ep_id;
	k.family = p->family;
	k.pod_port = p->dport;
	k.resolver = p->saddr;
	if (!bpf_map_lookup_elem(&pw_dns_pend, &k)) {
		count(PW_C_DNS_UNMATCHED);
		return PW_PASS;
	}
	/* One answer per query: a second one passes unlearned. */
	bpf_map_delete_elem(&pw_dns_pend, &k);

	/* A simple answer is learned here and passes at once, the agent there
	 * or not; the rest go on as before. */
	if (cfg->flags & PW_CFG_LEARN_INLINE) {
		int ln = dns_learn_answer(skb, ep, p);

		if (ln == PW_LN_INLINE) {
			count(PW_C_DNS_INLINE);
			return PW_PASS;
		}
		if (ln == PW_LN_QUOTA)
			count(PW_C_DNS_LEARN_QUOTA);
		else if (ln == PW_LN_LOG_FULL)
			count(PW_C_LEARN_LOG_FULL);
		else if (ln != PW_LN_OFF)
			count(PW_C_DNS_NOT_SIMPLE);
	}
	return dns_hold(skb, ep, p, cfg, &k);
}

/*
 * A TCP segment from a trusted resolver's port 53 (not a SYN): the answers of
 * a connection pod_egress follows (pw_dns_tcp). The resolver's side is
 * followed too, by sequence number from its SYN-ACK, message by message (the
 * ans_* fields): a segment whose data is exactly one DNS message answering a
 * query recorded on the connection is held like a UDP answer (never learned
 * in the kernel): the agent strips the TCP header and the length, learns,
 * fixes the TCP checksum and re-injects the segment. A message over several
 * segments that answers a recorded query: each segment before the last passes
 * with a copy to the agent, and the one that completes it is held; the agent
 * puts the message together from the copies by sequence number, learns and
 * releases the held one (agent/dnstcp.c). Only segments at the stream's next
 * byte count: a retransmission of bytes already seen passes (one answer per
 * query); a gap, an overlap, two messages in one segment, or a connection
 * whose SYN-ACK was not seen loses the stream: its data passes,
 * nothing more is learned from it, counted (dns_tcp_split) with an event
 * saying why connections to its addresses will be denied. Segments without
 * data (ACK, FIN) pass. Nothing here moves pod_egress's view of the stream:
 * what the resolver sends cannot make a query pass unchecked. A GSO packet
 * (the resolver's TSO on the path, or GRO on the node: several segments in
 * one frame, over the MTU) is one segment of its whole length here; held, the
 * agent releases it as a GSO packet again (counted dns_tcp_gso).
 */
static __noinline int dns_tcp_answer(struct __sk_buff *skb, const struct pw_endpoint *ep,
				     const struct pw_pkt *p)
{
	struct pw_dns_pend_key k = {};
	struct pw_dns_meta meta = {};
	struct pw_config *cfg;
	struct pw_dns_tcp *t;
	struct tcphdr th;
	__u32 zero = 0, off, pl, seq, msg_seq;
	__u16 mlen;
	__be16 hdr[2];
	int synced;

	cfg = bpf_map_lookup_elem(&pw_config, &zero);
	if (!cfg || !(cfg->flags & PW_CFG_HOLD_DNS))
		return PW_PASS;
	if (cfg->release_mark && skb->mark == cfg->release_mark) {
		count(PW_C_DNS_RELEASED);
		return PW_PASS;
	}
	/* (a copy of the header, not packet pointers: this is a function of
	 * its own, which the 5.10 and 6.1 verifiers check with less context) */
	if (p->l4_off > 512 || bpf_skb_load_bytes(skb, p->l4_off, &th, sizeof(th)))
		return PW_PASS;
	k.ep_id = ep->ep_id;
	k.family = p->family;
	k.pod_port = p->dport;
	k.resolver = p->saddr;
	/* Only on a connection we follow: other TCP from port 53 is none of
	 * our business. */
	t = bpf_map_lookup_elem(&pw_dns_tcp, &k);
	if (!t)
		return PW_PASS;
	seq = bpf_ntohl(th.seq);
	if (th.syn) {
		/* The SYN-ACK: the resolver's stream starts after it (once a
		 * connection: a repeat cannot move a stream followed since;
		 * the pod's next SYN starts over, pod_egress) */
		if (!(t->ans_flags & PW_DNS_TCPA_SYNC)) {
			t->ans_seq = seq + 1;
			t->ans_left = 0;
			t->ans_flags = PW_DNS_TCPA_SYNC;
		}
		return PW_PASS;
	}
	off = p->l4_off + th.doff * 4;
	if (off >= skb->len)
		return PW_PASS; /* no data */
	pl = skb->len - off;
	synced = t->ans_flags & PW_DNS_TCPA_SYNC;
	if (skb->gso_segs > 1)
		count(PW_C_DNS_TCP_GSO);
	if (synced && seq != t->ans_seq) {
		/* (an overlap or a gap: the stream is lost) */
		if ((__s32)(seq + pl - t->ans_seq) > 0)
			goto lost;
		count(PW_C_DNS_UNMATCHED); /* a retransmission of what was seen */
		return PW_PASS;
	}
	if (synced && t->ans_left) { /* the next part of the message in flight */
		if (pl > t->ans_left)
			goto lost; /* another message starts in this segment */
		mlen = t->ans_len;
		msg_seq = t->ans_seq - (mlen + 2 - t->ans_left);
		t->ans_seq += pl;
		t->ans_left -= pl;
		if (!(t->ans_flags & PW_DNS_TCPA_COPY))
			return PW_PASS; /* answers no recorded query */
		k.tcp = 1;
		k.dns_id = t->ans_id;
		if (!t->ans_left) {
			t->ans_flags &= ~PW_DNS_TCPA_COPY;
			return dns_hold_msg(skb, ep, p, cfg, &k, mlen, msg_seq);
		}
		goto copy;
	}
	/* A message starts here. On a stream not followed from its SYN-ACK
	 * only one whole message in the segment is held. */
	if (pl < 2 + DNS_HDR_LEN || bpf_skb_load_bytes(skb, off, hdr, 4))
		goto lost;
	mlen = bpf_ntohs(hdr[0]);
	if (pl > mlen + 2 || (!synced && pl != mlen + 2))
		goto lost; /* two messages in one segment, or a split one not followed */
	k.tcp = 1;
	k.dns_id = hdr[1];
	if (!bpf_map_lookup_elem(&pw_dns_pend, &k)) {
		count(PW_C_DNS_UNMATCHED);
		if (!synced)
			return PW_PASS;
		if (pl == mlen + 2) {
			t->ans_seq += pl;
			return PW_PASS;
		}
		t->ans_flags &= ~PW_DNS_TCPA_COPY; /* followed, not copied */
		goto start;
	}
	if (pl == mlen + 2) {
		/* One answer per query: a second one (or the resolver's
		 * retransmission of this one) passes unlearned. */
		bpf_map_delete_elem(&pw_dns_pend, &k);
		if (synced)
			t->ans_seq += pl;
		return dns_hold_msg(skb, ep, p, cfg, &k, 0, 0);
	}
	if (!hold_budget_take(cfg, ep->ep_id, bpf_ktime_get_ns())) {
		/* as dns_hold(); the stream does not move: the resolver
		 * retransmits the segment */
		count(PW_C_DROP + PW_R_DNS_BUDGET);
		ep_count(ep, PW_R_DNS_BUDGET, 0);
		emit_event(skb, ep, p, PW_R_DNS_BUDGET, PW_VERDICT_DROP);
		return TC_ACT_SHOT;
	}
	bpf_map_delete_elem(&pw_dns_pend, &k);
	t->ans_flags |= PW_DNS_TCPA_COPY;
start:
	msg_seq = seq;
	t->ans_len = mlen;
	t->ans_id = hdr[1];
	t->ans_left = mlen + 2 - pl;
	t->ans_seq += pl;
	if (!(t->ans_flags & PW_DNS_TCPA_COPY))
		return PW_PASS;
copy:
	/* A copy; the segment passes (the pod's TCP cannot hand the message
	 * to the client before the held last segment). */
	if (skb->len > PW_DNS_CAP_MAX) {
		count(PW_C_DNS_TOO_BIG);
		goto lost;
	}
	dns_meta_fill(&meta, skb, ep, p, &k, mlen, msg_seq, bpf_ktime_get_ns());
	if (bpf_perf_event_output(skb, &pw_dns_cap, ((__u64)skb->len << 32) | BPF_F_CURRENT_CPU,
				  &meta, sizeof(meta)))
		goto lost;
	count(PW_C_DNS_TCP_COPIED);
	return PW_PASS;
lost:
	t->ans_flags = 0;
	count(PW_C_DNS_TCP_SPLIT);
	emit_event(skb, ep, p, PW_R_DNS_TCP_SPLIT, PW_VERDICT_PASS);
	return PW_PASS;
}

/* Note a connection coming into the pod, so that its replies pass. */
static __always_inline void note_inbound(const struct pw_endpoint *ep, const struct pw_pkt *p)
{
	struct pw_flow_key k = {};
	struct pw_flow_val v = {};

	if (p->proto == IPPROTO_TCP ? !p->tcp_syn_only : !has_flow_key(p))
		return;
	if (p->family == PW_FAMILY_V4
		    ? !(ep->flags & PW_EP_HAS_V4) || p->daddr.v4 != *(const __u32 *)ep->ip4
		    : !(ep->flags & PW_EP_HAS_V6) || !ip6_eq(p->daddr.v6, ep->ip6))
		return;
	k.ep_id = ep->ep_id;
	k.family = p->family;
	k.proto = p->proto;
	k.lport = p->dport;
	k.rport = p->sport;
	k.laddr = p->daddr;
	k.raddr = p->saddr;
	if (bpf_map_lookup_elem(&pw_flows, &k) || !flow_share_take(ep->ep_id))
		return;
	v.last_seen_ns = bpf_ktime_get_ns();
	v.policy_gen = ep->policy_gen;
	v.flags = PW_FLOW_INBOUND;
	if (bpf_map_update_elem(&pw_flows, &k, &v, BPF_NOEXIST) == 0)
		count(PW_C_INGRESS_FLOW);
}

SEC("tc")
int pod_ingress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct pw_endpoint *ep;
	struct pw_pkt pkt = {};

	ep = bpf_map_lookup_elem(&pw_endpoints, &ifindex);
	if (!ep || ep->mode == PW_MODE_OPEN)
		return PW_PASS;
	pull_headers(skb);
	if (parse_packet(skb, &pkt) != PW_P_OK)
		return PW_PASS; /* podwall governs egress; inbound is not filtered */

	if (pkt.proto == IPPROTO_UDP && pkt.ports_known && pkt.sport == bpf_htons(DNS_PORT) &&
	    is_resolver(&pkt, &pkt.saddr))
		return dns_answer(skb, ep, &pkt);
	if (pkt.proto == IPPROTO_TCP && pkt.ports_known && !pkt.tcp_syn_only &&
	    pkt.sport == bpf_htons(DNS_PORT) && is_resolver(&pkt, &pkt.saddr))
		return dns_tcp_answer(skb, ep, &pkt);
	/* An answer too big for one frame arrives in IP fragments: its ports and
	 * message cannot be read here, so nothing is learned from it. It passes
	 * (a resolve-only name still resolves), counted, with an event saying
	 * why a connection to its addresses will be denied. */
	if (pkt.proto == IPPROTO_UDP && pkt.is_frag && is_resolver(&pkt, &pkt.saddr)) {
		count(PW_C_DNS_FRAGMENT);
		emit_event(skb, ep, &pkt, PW_R_DNS_FRAGMENT, PW_VERDICT_PASS);
		return PW_PASS;
	}

	note_inbound(ep, &pkt);
	return PW_PASS;
}

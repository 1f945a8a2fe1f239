/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * denyAction reject: a denied packet is answered at once, so that the pod's
 * client fails fast instead of waiting for its timeout. A TCP SYN gets a RST
 * (from the destination it asked for, ACKing the SYN); any other packet gets
 * ICMP destination unreachable, administratively prohibited (type 3 code 13;
 * ICMPv6 type 1 code 1) quoting its first bytes. The reply is built in the
 * denied packet's own skb and sent back out of the host veth it came in on:
 * it can only ever reach the pod that sent the packet.
 *
 * Silent (a plain drop) instead: a TCP RST, an ICMP message other than an
 * echo request (never an error about an error), a fragment, a packet to a
 * multicast or broadcast address, one whose headers do not read back as
 * parse_packet() saw them, and any packet over the pod's budget of rejects
 * (a token bucket per endpoint in pw_ep_reject, pw_config.reject_per_sec and
 * reject_burst). The caller only asks for reasons about a destination, after
 * the spoof check: the pod's own address is the reply's destination.
 *
 * A global function (see dns.bpf.h): verified once, on its own, with
 * arguments it does not trust, and a frame of its own that the 512 bytes of
 * pod_egress's call chain can afford (its work area is pw_scratch).
 */
#ifndef PODWALL_REJECT_BPF_H
#define PODWALL_REJECT_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "podwall/maps.h"
#include "maps.bpf.h"
#include "dns.bpf.h"

/* Bytes of the denied packet (from its IP header) an ICMP error quotes. */
#define PW_REJ_QUOTE_MAX 128

/* pw_reject()'s what argument: family | proto << 8 | fragment << 16. */
#define PW_REJ_WHAT(fam, proto, frag) ((fam) | ((__u32)(proto) << 8) | ((__u32) !!(frag) << 16))

#define PW_ICMP_UNREACH	       3
#define PW_ICMP_PKT_FILTERED   13 /* communication administratively prohibited */
#define PW_ICMPV6_UNREACH      1
#define PW_ICMPV6_ADM_PROHIBIT 1

/* Slots of pw_scratch.opaque that pw_reject uses as memory-backed locals
 * (0 and 1 go through OPAQUE(), 2 holds map keys). */
#define RJ(s, i)  (*(volatile __u32 *)&(s)->opaque[i])
#define RJ_KEY	  2
#define RJ_FAMILY 3
#define RJ_PROTO  4
#define RJ_RST	  5
#define RJ_L4OFF  6

static __always_inline void count_s(struct pw_dns_scratch *s, __u32 idx)
{
	__u64 *c;

	RJ(s, RJ_KEY) = idx;
	c = bpf_map_lookup_elem(&pw_counters, &s->opaque[RJ_KEY]);
	if (c)
		*c += 1;
}

/* A token of the endpoint's reject budget: 1 if there was one. The keys and
 * the fresh entry live in the scratch area: pw_reject's frame stays small. */
static __always_inline int reject_token(struct pw_dns_scratch *s, __u32 ep_id)
{
	struct pw_ep_budget *b;
	struct pw_config *cfg;
	__u64 now = bpf_ktime_get_ns();

	s->opaque[RJ_KEY] = 0;
	cfg = bpf_map_lookup_elem(&pw_config, &s->opaque[RJ_KEY]);
	if (!cfg || !cfg->reject_per_sec)
		return 0;
	s->opaque[RJ_KEY] = ep_id;
	b = bucket_get(&pw_ep_reject, &s->opaque[RJ_KEY], s->msg, now, cfg->reject_burst);
	if (!b)
		return 0; /* map full: no budget, no rejects */
	return bucket_take(b, now, cfg->reject_per_sec, cfg->reject_burst);
}

/*
 * Answer the denied packet (see above): TC_ACT_REDIRECT with the reply in the
 * skb, or TC_ACT_SHOT (silent). l4_off: where its L4 header starts in the
 * frame; what: PW_REJ_WHAT(family, L4 protocol, fragment).
 */
__noinline int pw_reject(struct __sk_buff *skb, __u32 ep_id, __u32 l4_off, __u32 what)
{
	struct pw_dns_scratch *s;
	__u32 zero = 0, iplen, total, l4len;
	__u64 sum;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s)
		return TC_ACT_SHOT;
	/* The few values kept across helper calls live in the scratch area,
	 * not in spilled registers: the frame must fit beside pod_egress's. */
	RJ(s, RJ_FAMILY) = what & 0xff;
	RJ(s, RJ_PROTO) = (what >> 8) & 0xff;
	RJ(s, RJ_RST) = 0;
	RJ(s, RJ_L4OFF) = l4_off;
	if (what & (1u << 16))
		return TC_ACT_SHOT; /* a fragment: no L4 header to speak for */
	iplen = RJ(s, RJ_FAMILY) == PW_FAMILY_V4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	if (l4_off < sizeof(s->eth) + iplen || l4_off + 8 > sizeof(s->eth) + PW_REJ_QUOTE_MAX)
		return TC_ACT_SHOT;
	if (bpf_skb_load_bytes(skb, 0, &s->eth, sizeof(s->eth)) ||
	    bpf_skb_load_bytes(skb, sizeof(s->eth), &s->ip6, iplen))
		return TC_ACT_SHOT;

	/* The packet as parse_packet() saw it, its length, and no group address. */
	if (RJ(s, RJ_FAMILY) == PW_FAMILY_V4) {
		if (s->eth.h_proto != bpf_htons(ETH_P_IP) || s->ip.version != 4 || s->ip.ihl != 5 ||
		    s->ip.protocol != RJ(s, RJ_PROTO) ||
		    (s->ip.frag_off & bpf_htons(IP_MF | IP_OFFSET)) ||
		    (s->ip.daddr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000) ||
		    s->ip.daddr == 0xffffffff)
			return TC_ACT_SHOT;
		total = bpf_ntohs(s->ip.tot_len);
	} else if (RJ(s, RJ_FAMILY) == PW_FAMILY_V6) {
		if (s->eth.h_proto != bpf_htons(ETH_P_IPV6) || s->ip6.version != 6 ||
		    s->ip6.daddr.in6_u.u6_addr8[0] == 0xff)
			return TC_ACT_SHOT;
		total = sizeof(struct ipv6hdr) + bpf_ntohs(s->ip6.payload_len);
	} else {
		return TC_ACT_SHOT;
	}
	if (total > skb->len - sizeof(s->eth) || total < l4_off - sizeof(s->eth))
		return TC_ACT_SHOT;
	l4len = total - (l4_off - sizeof(s->eth));

	/* What the reply is: a RST for a SYN, an ICMP error for the rest. */
	__builtin_memset(s->out, 0, 8 + PW_REJ_QUOTE_MAX + 4);
	if (RJ(s, RJ_PROTO) == IPPROTO_TCP) {
		struct tcphdr *th = (struct tcphdr *)s->out;
		__u32 seq, dlen;

		if (l4len < sizeof(*th) || bpf_skb_load_bytes(skb, l4_off, th, sizeof(*th)))
			return TC_ACT_SHOT;
		if (th->rst || th->doff < 5 || th->doff * 4 > l4len)
			return TC_ACT_SHOT;
		RJ(s, RJ_RST) = th->syn && !th->ack;
		if (RJ(s, RJ_RST)) {
			dlen = l4len - th->doff * 4;
			seq = bpf_ntohl(th->seq) + 1 + dlen + th->fin;
			th->ack_seq = bpf_htonl(seq);
			th->seq = 0;
			seq = th->source;
			th->source = th->dest;
			th->dest = seq;
			((__u8 *)th)[12] = 5 << 4; /* doff 5, no reserved bits */
			((__u8 *)th)[13] = 0x14;   /* RST | ACK */
			th->window = 0;
			th->check = 0;
			th->urg_ptr = 0;
			l4len = sizeof(*th);
		}
	} else if (RJ(s, RJ_PROTO) == IPPROTO_ICMP || RJ(s, RJ_PROTO) == IPPROTO_ICMPV6) {
		if (bpf_skb_load_bytes(skb, l4_off, s->msg, 1))
			return TC_ACT_SHOT;
		if (s->msg[0] !=
		    (RJ(s, RJ_PROTO) == IPPROTO_ICMP ? ICMP_ECHO : ICMPV6_ECHO_REQUEST))
			return TC_ACT_SHOT; /* never an error about an error */
	}
	if (!RJ(s, RJ_RST)) {
		l4len = total < PW_REJ_QUOTE_MAX ? total : PW_REJ_QUOTE_MAX;
		if (l4len < 20 || l4len > PW_REJ_QUOTE_MAX)
			return TC_ACT_SHOT;
		/* 1..128 by construction, which every verifier sees (5.10's does
		 * not learn a lower bound from the compare above): here, the same */
		l4len = ((OPAQUE(s, 0, l4len) - 1) & (PW_REJ_QUOTE_MAX - 1)) + 1;
		if (bpf_skb_load_bytes(skb, sizeof(s->eth), s->out + 8, l4len))
			return TC_ACT_SHOT;
		*(__u32 *)(s->out + 4) = 0; /* unused (a TCP header read may have been there) */
		*(__u16 *)(s->out + 2) = 0; /* the checksum, summed as zero */
		s->out[0] = RJ(s, RJ_FAMILY) == PW_FAMILY_V4 ? PW_ICMP_UNREACH : PW_ICMPV6_UNREACH;
		s->out[1] = RJ(s, RJ_FAMILY) == PW_FAMILY_V4 ? PW_ICMP_PKT_FILTERED
							     : PW_ICMPV6_ADM_PROHIBIT;
		l4len += 8;
		RJ(s, RJ_PROTO) = RJ(s, RJ_FAMILY) == PW_FAMILY_V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	}

	if (!reject_token(s, ep_id)) {
		count_s(s, PW_C_REJECT_LIMITED);
		return TC_ACT_SHOT;
	}

	__builtin_memcpy(s->msg, s->eth.h_dest, ETH_ALEN);
	__builtin_memcpy(s->eth.h_dest, s->eth.h_source, ETH_ALEN);
	__builtin_memcpy(s->eth.h_source, s->msg, ETH_ALEN);
	sum = 0;
	if (RJ(s, RJ_FAMILY) == PW_FAMILY_V4) {
		struct iphdr *ip = &s->ip;
		__be32 a = ip->saddr;

		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->tos = 0;
		ip->tot_len = bpf_htons(sizeof(*ip) + l4len);
		ip->id = 0;
		ip->frag_off = 0;
		ip->ttl = 64;
		ip->protocol = RJ(s, RJ_PROTO);
		ip->check = 0;
		ip->check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)ip, sizeof(*ip), 0));
		if (RJ(s, RJ_RST)) {
			__builtin_memset(&s->ph4, 0, sizeof(s->ph4));
			s->ph4.saddr = ip->saddr;
			s->ph4.daddr = ip->daddr;
			s->ph4.proto = IPPROTO_TCP;
			s->ph4.len = bpf_htons(l4len);
			sum = bpf_csum_diff(NULL, 0, (__be32 *)&s->ph4, sizeof(s->ph4), 0);
		}
	} else {
		struct ipv6hdr *ip6 = &s->ip6;

		__builtin_memset(&s->ph6, 0, sizeof(s->ph6));
		__builtin_memcpy(s->ph6.saddr, &ip6->daddr, 16);
		__builtin_memcpy(s->ph6.daddr, &ip6->saddr, 16);
		__builtin_memcpy(&ip6->saddr, s->ph6.saddr, 16);
		__builtin_memcpy(&ip6->daddr, s->ph6.daddr, 16);
		((__u8 *)ip6)[0] = 0x60; /* version 6, traffic class and flow label 0 */
		((__u8 *)ip6)[1] = 0;
		((__u8 *)ip6)[2] = 0;
		((__u8 *)ip6)[3] = 0;
		ip6->payload_len = bpf_htons(l4len);
		ip6->nexthdr = RJ(s, RJ_PROTO);
		ip6->hop_limit = 64;
		s->ph6.len = bpf_htonl(l4len);
		s->ph6.next = RJ(s, RJ_PROTO);
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&s->ph6, sizeof(s->ph6), 0);
	}
	if (l4len < sizeof(struct tcphdr) || l4len > 8 + PW_REJ_QUOTE_MAX)
		return TC_ACT_SHOT;
	l4len = ((OPAQUE(s, 1, l4len) - 1) & 0xff) + 1; /* 1..256 to the verifier; the same */
	/* The out area is zero past l4len: a sum over whole words is the sum. */
	sum = bpf_csum_diff(NULL, 0, (__be32 *)s->out, (l4len + 3) & ~3u, (__u32)sum);
	if (RJ(s, RJ_RST))
		((struct tcphdr *)s->out)->check = csum_fold32(sum);
	else
		*(__u16 *)(s->out + 2) = csum_fold32(sum);
	if (bpf_skb_change_tail(skb, sizeof(s->eth) + iplen + l4len, 0) ||
	    bpf_skb_store_bytes(skb, 0, &s->eth, sizeof(s->eth) + iplen, 0) ||
	    bpf_skb_store_bytes(skb, sizeof(s->eth) + iplen, s->out, l4len, 0)) {
		count_s(s, PW_C_REJECT_FAILED);
		return TC_ACT_SHOT;
	}
	count_s(s, PW_C_REJECT_SENT);
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* PODWALL_REJECT_BPF_H */

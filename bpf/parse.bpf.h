/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing for podwall's TC programs: one pass from the Ethernet header
 * to the L4 ports, every access checked against data_end. */
#ifndef PODWALL_PARSE_BPF_H
#define PODWALL_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "podwall/maps.h"

#define IP_MF	  0x2000
#define IP_OFFSET 0x1fff

#define NEXTHDR_HOP	 0
#define NEXTHDR_ROUTING	 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH	 51
#define NEXTHDR_DEST	 60
#define PW_MAX_EXT_HDRS	 4

/* ICMP and ICMPv6 share the first 8 bytes that matter here. */
struct pw_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 seq;
};

#define ICMP_ECHOREPLY	    0
#define ICMP_ECHO	    8
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY   129

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* What parse_packet() decided about the frame before any policy is consulted. */
enum pw_parse {
	PW_P_OK = 0,   /* an IP packet with its 5-tuple in struct pw_pkt */
	PW_P_L2 = 1,   /* ARP, neighbour discovery, MLD: pass */
	PW_P_DROP = 2, /* pkt->reason says why */
};

struct pw_pkt {
	union pw_ip saddr;
	union pw_ip daddr;
	__be16 sport; /* for ICMP echo: the echo id */
	__be16 dport; /* for ICMP echo: the echo id */
	__u8 family;
	__u8 proto;
	__u8 ports_known;     /* 0 for fragments and protocols without ports */
	__u8 tcp_syn_only;    /* SYN without ACK */
	__u8 reason;	      /* enum pw_reason, when PW_P_DROP */
	__u8 nd_onlink_check; /* PW_P_L2 neighbour discovery to a unicast address */
	__u8 icmp_echo_req;
	__u16 l4_off; /* from the start of the frame */
	__u8 is_frag; /* IPv4 MF/offset set, or an IPv6 fragment header */
	__u8 icmp_echo_reply;
	__u8 icmp_type; /* ICMP/ICMPv6 message type and code, for events */
	__u8 icmp_code;
};

/* Make the headers we read linear; they usually are already. */
static __always_inline void pull_headers(struct __sk_buff *skb)
{
	__u32 want = sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + 8 * 8 + 64;
	__u32 have = skb->data_end - skb->data;

	if (have < want && skb->len > have)
		bpf_skb_pull_data(skb, skb->len < want ? skb->len : want);
}

static __always_inline int parse_l4(struct __sk_buff *skb, struct pw_pkt *p, __u32 off)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	p->l4_off = off;
	if (!p->ports_known)
		return PW_P_OK;

	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) > data_end || th->doff < 5)
			goto malformed;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_syn_only = th->syn && !th->ack;
		return PW_P_OK;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = data + off;

		if ((void *)(uh + 1) > data_end)
			goto malformed;
		p->sport = uh->source;
		p->dport = uh->dest;
		return PW_P_OK;
	}
	case IPPROTO_SCTP: {
		__be16 *ports = data + off;

		if ((void *)(ports + 2) > data_end)
			goto malformed;
		p->sport = ports[0];
		p->dport = ports[1];
		return PW_P_OK;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct pw_icmphdr *ih = data + off;

		if ((void *)(ih + 1) > data_end)
			goto malformed;
		p->icmp_type = ih->type;
		p->icmp_code = ih->code;
		if ((p->proto == IPPROTO_ICMP &&
		     (ih->type == ICMP_ECHO || ih->type == ICMP_ECHOREPLY)) ||
		    (p->proto == IPPROTO_ICMPV6 &&
		     (ih->type == ICMPV6_ECHO_REQUEST || ih->type == ICMPV6_ECHO_REPLY))) {
			p->sport = ih->id;
			p->dport = ih->id;
			p->icmp_echo_req = ih->type == ICMP_ECHO || ih->type == ICMPV6_ECHO_REQUEST;
			p->icmp_echo_reply = !p->icmp_echo_req;
		}
		p->ports_known = 0; /* ICMP is granted by protocol, never by port */
		return PW_P_OK;
	}
	default:
		p->ports_known = 0;
		return PW_P_OK;
	}
malformed:
	p->reason = PW_R_MALFORMED;
	return PW_P_DROP;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, struct pw_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	__u16 frag;

	if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5 ||
	    bpf_ntohs(iph->tot_len) < iph->ihl * 4) {
		p->reason = PW_R_MALFORMED;
		return PW_P_DROP;
	}
	/* Options (source routing among them) can change where a packet goes. */
	if (iph->ihl != 5) {
		p->reason = PW_R_IP_OPTIONS;
		return PW_P_DROP;
	}
	p->family = PW_FAMILY_V4;
	p->proto = iph->protocol;
	p->saddr.v4 = iph->saddr;
	p->daddr.v4 = iph->daddr;
	frag = bpf_ntohs(iph->frag_off);
	p->is_frag = !!(frag & (IP_MF | IP_OFFSET));
	p->ports_known = !p->is_frag;
	return parse_l4(skb, p, sizeof(struct ethhdr) + sizeof(struct iphdr));
}

static __always_inline int is_v6_l2_control(struct __sk_buff *skb, struct pw_pkt *p,
					    struct ipv6hdr *ip6h, int saw_ext)
{
	void *data_end = (void *)(long)skb->data_end;
	struct pw_icmphdr *ih = (void *)(long)skb->data + p->l4_off;

	if (p->proto != IPPROTO_ICMPV6 || (void *)(ih + 1) > data_end)
		return 0;
	/* Neighbour discovery from a pod: router and neighbour solicitations and
	 * neighbour advertisements only (never router advertisements or
	 * redirects), hop limit 255, no extension headers. Link-scope
	 * destinations pass here; a unicast one must be on the pod's own /64,
	 * which pod_egress checks (a router would forward it otherwise). */
	if (ih->type == 133 || ih->type == 135 || ih->type == 136) {
		if (saw_ext || ip6h->hop_limit != 255)
			return 0;
		p->nd_onlink_check =
			!((p->daddr.v6[0] == 0xfe && (p->daddr.v6[1] & 0xc0) == 0x80) ||
			  (p->daddr.v6[0] == 0xff && (p->daddr.v6[1] & 0x0f) == 0x02));
		return 1;
	}
	/* MLD reports/queries: link-scope multicast, hop limit 1. */
	if (ih->type == 130 || ih->type == 131 || ih->type == 132 || ih->type == 143)
		return ip6h->hop_limit == 1 && p->daddr.v6[0] == 0xff &&
		       (p->daddr.v6[1] & 0x0f) == 0x02;
	return 0;
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, struct pw_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6h = data + sizeof(struct ethhdr);
	__u32 off = sizeof(struct ethhdr) + sizeof(struct ipv6hdr);
	__u8 nexthdr;
	int saw_ext = 0;
	int ret;

	if ((void *)(ip6h + 1) > data_end || ip6h->version != 6) {
		p->reason = PW_R_MALFORMED;
		return PW_P_DROP;
	}
	p->family = PW_FAMILY_V6;
	__builtin_memcpy(p->saddr.v6, &ip6h->saddr, 16);
	__builtin_memcpy(p->daddr.v6, &ip6h->daddr, 16);
	p->ports_known = 1;
	nexthdr = ip6h->nexthdr;

#pragma unroll
	for (int i = 0; i < PW_MAX_EXT_HDRS; i++) {
		__u8 *hdr = data + off;

		if (nexthdr != NEXTHDR_HOP && nexthdr != NEXTHDR_DEST &&
		    nexthdr != NEXTHDR_FRAGMENT && nexthdr != NEXTHDR_ROUTING &&
		    nexthdr != NEXTHDR_AUTH)
			break;
		/* A routing header changes the final destination. */
		if (nexthdr == NEXTHDR_ROUTING) {
			p->reason = PW_R_IPV6_EXT;
			return PW_P_DROP;
		}
		if ((void *)(hdr + 8) > data_end) {
			p->reason = PW_R_MALFORMED;
			return PW_P_DROP;
		}
		saw_ext = 1;
		if (nexthdr == NEXTHDR_FRAGMENT) {
			p->is_frag = 1;
			p->ports_known = 0;
			nexthdr = hdr[0];
			off += 8;
		} else if (nexthdr == NEXTHDR_AUTH) {
			nexthdr = hdr[0];
			off += ((__u32)hdr[1] + 2) * 4;
		} else {
			nexthdr = hdr[0];
			off += ((__u32)hdr[1] + 1) * 8;
		}
		if (i == PW_MAX_EXT_HDRS - 1 &&
		    (nexthdr == NEXTHDR_HOP || nexthdr == NEXTHDR_DEST ||
		     nexthdr == NEXTHDR_FRAGMENT || nexthdr == NEXTHDR_ROUTING ||
		     nexthdr == NEXTHDR_AUTH)) {
			p->reason = PW_R_IPV6_EXT;
			return PW_P_DROP;
		}
	}
	p->proto = nexthdr;
	if (off > 512) {
		p->reason = PW_R_IPV6_EXT;
		return PW_P_DROP;
	}
	ret = parse_l4(skb, p, off);
	if (ret != PW_P_OK)
		return ret;
	if (is_v6_l2_control(skb, p, ip6h, saw_ext))
		return PW_P_L2;
	return PW_P_OK;
}

/* Classify a frame leaving the pod (or entering it, for pod_ingress). */
static __always_inline int parse_packet(struct __sk_buff *skb, struct pw_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end) {
		p->reason = PW_R_MALFORMED;
		return PW_P_DROP;
	}
	switch (bpf_ntohs(eth->h_proto)) {
	case ETH_P_ARP:
		return PW_P_L2;
	case ETH_P_IP:
		return parse_ipv4(skb, p);
	case ETH_P_IPV6:
		return parse_ipv6(skb, p);
	default:
		/* VLAN tags, PPPoE, anything else: no pass the policy did not grant. */
		p->reason = PW_R_L2;
		return PW_P_DROP;
	}
}

#endif /* PODWALL_PARSE_BPF_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * L2 rules for frames a pod sends (enforced and open pods alike): the pod
 * speaks only for itself. The Ethernet source is the pod's MAC; ARP's sender
 * (MAC and address) is the pod; neighbour discovery's source, NA target and
 * link-layer options are the pod's; ARP and ND frames carry nothing after
 * their last option; IP frames go to the node side (the bridge, or the host
 * veth), never by MAC to another pod, never to a group MAC with a unicast IP.
 */
#ifndef PODWALL_L2_BPF_H
#define PODWALL_L2_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "podwall/maps.h"
#include "parse.bpf.h"

#define ARPHRD_ETHER_ 1
#define ARP_LEN	      28 /* Ethernet/IPv4 ARP body */
#define ETH_MIN_LEN   60 /* shortest Ethernet frame without FCS: ARP pads up to it */
#define ND_MAX_BODY   32 /* NS/NA body (24) and one 8-byte option (link-layer or nonce) */
#define RS_MAX_BODY   16 /* RS body (8) and one option */

struct pw_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
	       a[5] == b[5];
}

static __always_inline int mac_zero(const __u8 *a)
{
	return !(a[0] | a[1] | a[2] | a[3] | a[4] | a[5]);
}

/* The Ethernet source is the pod's own MAC (when the CNI told us). */
static __always_inline int l2_source_ok(struct __sk_buff *skb, const struct pw_endpoint *ep)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return 0;
	return !(ep->flags & PW_EP_HAS_MAC) || mac_eq(eth->h_source, ep->mac);
}

static __always_inline int arp_ok(struct __sk_buff *skb, const struct pw_endpoint *ep)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct pw_arp *arp = data + sizeof(struct ethhdr);
	__u16 op;

	if ((void *)(arp + 1) > data_end)
		return 0;
	if (skb->len > ETH_MIN_LEN) /* trailing bytes: a channel */
		return 0;
	if (arp->htype != bpf_htons(ARPHRD_ETHER_) || arp->ptype != bpf_htons(ETH_P_IP) ||
	    arp->hlen != 6 || arp->plen != 4)
		return 0;
	op = bpf_ntohs(arp->op);
	if (op != 1 && op != 2)
		return 0;
	if ((ep->flags & PW_EP_HAS_MAC) && !mac_eq(arp->sha, ep->mac))
		return 0;
	if (!(ep->flags & PW_EP_HAS_V4))
		return 0;
	/* sender 0.0.0.0: an address probe (RFC 5227), a request only */
	if (op == 1 && !(arp->spa[0] | arp->spa[1] | arp->spa[2] | arp->spa[3]))
		return 1;
	return arp->spa[0] == ep->ip4[0] && arp->spa[1] == ep->ip4[1] &&
	       arp->spa[2] == ep->ip4[2] && arp->spa[3] == ep->ip4[3];
}

/* The pod's own addresses: its IPv6 address, or the link-local one its MAC
 * makes (EUI-64, the kernel's default). */
static __always_inline int v6_is_pod(const struct pw_endpoint *ep, const __u8 *a)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)ep->ip6;

	if ((ep->flags & PW_EP_HAS_V6) && x[0] == y[0] && x[1] == y[1] && x[2] == y[2] &&
	    x[3] == y[3])
		return 1;
	if (!(ep->flags & PW_EP_HAS_MAC))
		return 0;
	return a[0] == 0xfe && a[1] == 0x80 && !(a[2] | a[3] | a[4] | a[5] | a[6] | a[7]) &&
	       a[8] == (ep->mac[0] ^ 2) && a[9] == ep->mac[1] && a[10] == ep->mac[2] &&
	       a[11] == 0xff && a[12] == 0xfe && a[13] == ep->mac[3] && a[14] == ep->mac[4] &&
	       a[15] == ep->mac[5];
}

/* Router/neighbour solicitations and advertisements (parse_packet said PW_P_L2
 * with the ICMPv6 header at l4_off; MLD is not checked here). */
static __always_inline int nd_ok(struct __sk_buff *skb, const struct pw_endpoint *ep,
				 const struct pw_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6h = data + sizeof(struct ethhdr);
	__u32 off = p->l4_off;
	__u16 plen;
	__u8 *icmp, *opt;
	__u8 type, body;

	if ((void *)(ip6h + 1) > data_end || off > 512)
		return 0;
	icmp = data + off;
	if ((void *)(icmp + 8) > data_end)
		return 0;
	type = icmp[0];
	if (type != 133 && type != 135 && type != 136)
		return 1; /* MLD */
	/* (parse_ipv6 takes ND only without extension headers) */
	if (off != sizeof(struct ethhdr) + sizeof(struct ipv6hdr))
		return 0;
	plen = bpf_ntohs(ip6h->payload_len);
	body = type == 133 ? 8 : 24;
	if (plen < body || plen > (type == 133 ? RS_MAX_BODY : ND_MAX_BODY) ||
	    skb->len != off + plen)
		return 0;
	/* source: the pod, or unspecified for duplicate address detection */
	if (!v6_is_pod(ep, p->saddr.v6) &&
	    !(type == 135 && !(p->saddr.w[0] | p->saddr.w[1] | p->saddr.w[2] | p->saddr.w[3])))
		return 0;
	/* the target, read in place (a copy would cost pod_egress stack) */
	if (type == 136 && ((void *)(icmp + 24) > data_end || !v6_is_pod(ep, icmp + 8)))
		return 0;
	if (plen == body)
		return 1;
	opt = icmp + body;
	if ((void *)(opt + 8) > data_end || opt[1] != 1)
		return 0;
	if (opt[0] == 14) /* nonce (RFC 7527), DAD */
		return 1;
	if (opt[0] != 1 && opt[0] != 2) /* source / target link-layer address */
		return 0;
	return !(ep->flags & PW_EP_HAS_MAC) || mac_eq(opt + 2, ep->mac);
}

static __always_inline int ip_is_group(const struct pw_pkt *p)
{
	if (p->family == PW_FAMILY_V4)
		return (bpf_ntohl(p->daddr.v4) >> 28) == 0xe || p->daddr.v4 == 0xffffffff;
	return p->daddr.v6[0] == 0xff;
}

/*
 * IP frames: to the node side. A group MAC needs a group IP destination. A
 * unicast MAC that is not the node's (the pod resolved an on-link peer, or
 * aims at another pod's MAC) is rewritten to the node's: the node routes it,
 * so the IP destination the rules checked is the one reached and no frame
 * goes by MAC to another pod. Returns 0 to drop.
 */
static __always_inline int l2_dest_fix(struct __sk_buff *skb, const struct pw_endpoint *ep,
				       const struct pw_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	const __u8 *node;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_dest[0] & 1)
		return ip_is_group(p);
	node = mac_zero(ep->node_mac) ? ep->veth_mac : ep->node_mac;
	if (mac_zero(node) || mac_eq(eth->h_dest, node) || mac_eq(eth->h_dest, ep->veth_mac))
		return 1;
	if (bpf_skb_store_bytes(skb, 0, node, 6, 0))
		return 0;
	count(PW_C_L2_REDIRECT);
	return 1;
}

#endif /* PODWALL_L2_BPF_H */

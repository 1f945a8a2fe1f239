/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS in the kernel: the question of a pod's query checked against its name
 * table, and the kernel's own answer to a name no policy grants.
 *
 * Both are global (BPF-to-BPF) functions: the verifier checks each once, on
 * its own, whatever state the caller is in, which keeps pod_egress's budget
 * small on 5.10 and 6.1. Their arguments are the context and scalars only (all
 * that a 5.10 global function may take); they work on the per-CPU pw_scratch.
 * Every loop is bounded by a constant.
 */
#ifndef PODWALL_DNS_BPF_H
#define PODWALL_DNS_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "podwall/maps.h"
#include "maps.bpf.h"

#define DNS_HDR_LEN	   12
#define DNS_NAME_WIRE	   255 /* a name on the wire, with its length bytes and the root */
#define DNS_QMSG_MAX	   (DNS_HDR_LEN + DNS_NAME_WIRE + 4) /* header + one question */
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_REFUSED  5

/* What dns_query_check() found; the question's length rides in bits 8..23
 * (with PW_DQ_PASS too, for a granted query's dns-budget event; also with
 * PW_DQ_INVALID when the whole name was read: see pw_event_named). */
enum pw_dq {
	PW_DQ_PASS = 0,	    /* a granted name (or the pod may resolve any) */
	PW_DQ_REFUSE = 1,   /* answer REFUSED */
	PW_DQ_NXDOMAIN = 2, /* answer NXDOMAIN */
	PW_DQ_INVALID = 3,  /* malformed: drop */
};
#define PW_DQ_CODE(r) ((r)&0xff)
#define PW_DQ_QLEN(r) (((r) >> 8) & 0xffff)

/* v, passed through memory: the verifier forgets what it knew of it (a loop
 * index copied out is a known constant, and every later path would be verified
 * once per value it can take). Bounds must be checked again after. */
#define OPAQUE_PUT(s, slot, v) (*(volatile __u32 *)&(s)->opaque[slot] = (v))
#define OPAQUE_GET(s, slot)    (*(volatile __u32 *)&(s)->opaque[slot])
#define OPAQUE(s, slot, v)                                                                         \
	({                                                                                         \
		OPAQUE_PUT(s, slot, v);                                                            \
		OPAQUE_GET(s, slot);                                                               \
	})

static __always_inline int name_char_ok(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * The question name at DNS_HDR_LEN in pw_scratch.msg (n bytes of message
 * there), shared by the query check and the answer learner: labels of 1 to 63
 * bytes without compression, at most 255 bytes on the wire, copied lower case
 * to norm with a '.' for each length byte; then, right to left, for each dot
 * the hash of the text after it, its length and start (dot_h, dot_len,
 * dot_start; the count of dots in opaque[5]). Returns the root label's offset
 * in the name (0 for the root name), with PW_QN_BAD set when the name holds a
 * byte no policy name can hold; or -1: malformed (truncated, compressed, too
 * long).
 *
 * Verifier budget: a loop's bound and every index come from the loop counter
 * or are masked; values that decide a loop's exit pass through OPAQUE() first,
 * so that no comparison in a loop is decided by what the verifier knows (it
 * would then track each value apart, and the paths multiply).
 */
#define PW_QN_BAD (1 << 16)

__noinline int dns_qname_scan(__u32 n)
{
	struct pw_dns_scratch *s;
	__u32 zero = 0, end = DNS_NAME_WIRE, nxt, bad;
	__u64 h = PW_NAME_HASH_SEED;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s)
		return -1;
	n = OPAQUE(s, 3, n);
	/* Forward: labels checked, the name copied lower case to norm with a
	 * '.' for each length byte. nxt: where the next length byte is. */
	nxt = OPAQUE(s, 1, 0);
	OPAQUE_PUT(s, 4, 0); /* a byte no policy name holds */
	for (__u32 i = 0; i < DNS_NAME_WIRE; i++) {
		__u8 c;

		if (DNS_HDR_LEN + i >= n)
			return -1; /* truncated inside the name */
		c = s->msg[DNS_HDR_LEN + i];
		if (i == nxt) {
			if (!c) {
				end = i;
				break;
			}
			if (c > 63)
				return -1; /* compression, or an extended label type */
			nxt = OPAQUE(s, 1, i + 1 + c);
			s->norm[i] = '.';
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		/* through memory, not a branch that sets a flag: see above */
		OPAQUE_PUT(s, 4, OPAQUE_GET(s, 4) | !name_char_ok(c));
		s->norm[i] = c;
	}
	bad = OPAQUE_GET(s, 4);
	/* end: the root label's offset in the name; none within 255 bytes: too
	 * long. */
	end = OPAQUE(s, 0, end);
	if (end >= DNS_NAME_WIRE)
		return -1;

	/* Right to left: at each dot, h is the hash of the text after it, j its
	 * length; each dot's are kept. The loop only hashes: a loop whose body
	 * branches a lot costs the verifier each branch on each turn. */
	OPAQUE_PUT(s, 5, 0); /* dots seen */
	for (__u32 j = 0; j < DNS_NAME_WIRE; j++) {
		__u32 k, d;
		__u8 c;

		if (j >= end)
			break;
		k = end - 1 - j;
		c = s->norm[k & 0xff];
		if (c == '.') {
			d = OPAQUE_GET(s, 5);
			s->dot_h[d & 127] = h;
			s->dot_len[d & 127] = j;
			s->dot_start[d & 127] = k + 1;
			OPAQUE_PUT(s, 5, d + 1);
		}
		h = pw_name_hash_step(h, c);
	}
	end = OPAQUE(s, 0, end);
	if (end >= DNS_NAME_WIRE)
		return -1;
	return end | (bad ? PW_QN_BAD : 0);
}

/*
 * The endpoint's name table entry of kind for the suffix after dot d of the
 * name dns_qname_scan() left in pw_scratch: looked up by hash, then its text
 * compared byte for byte (a hash collision can refuse a name, never grant
 * one). Returns the entry's PW_NAME_F_* flags, its portset in opaque[7]; or -1:
 * no entry, or another name's.
 */
__noinline int dns_name_entry(__u32 ep_id, __u32 kind, __u32 d)
{
	struct pw_name_key key = {.ep_id = ep_id, .kind = kind};
	struct pw_dns_scratch *s;
	struct pw_name_val *v;
	__u32 zero = 0, len, start;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s)
		return -1;
	key.hash = s->dot_h[d & 127];
	v = bpf_map_lookup_elem(&pw_names, &key);
	if (!v)
		return -1;
	len = s->dot_len[d & 127];
	start = s->dot_start[d & 127];
	if (len != v->len)
		return -1;
	for (__u32 i = 0; i < PW_NAME_TEXT_MAX; i++) {
		if (i >= len)
			break;
		if (s->norm[(start + i) & 0xff] != (__u8)v->text[i])
			return -1;
	}
	OPAQUE_PUT(s, 7, v->portset);
	return v->flags;
}

/*
 * Check the DNS query of dns_len bytes at dns_off: one question (QDCOUNT 1, no
 * answer or authority records, opcode QUERY, QR clear), a name as
 * dns_qname_scan() takes it, then type and class. Then look the name up in the
 * endpoint's table: for each dot from the right the suffix after it
 * (PW_NK_MANY), then the exact name, and the suffix after the first label
 * (PW_NK_ONE). The first grant found is compared byte for byte
 * (dns_name_entry()); a name with a byte a policy name cannot hold is granted
 * by nothing. Leaves the message in pw_scratch.msg for dns_refuse().
 */
__noinline int dns_query_check(struct __sk_buff *skb, __u32 ep_id, __u32 dns_off, __u32 dns_len)
{
	struct pw_name_key key = {.ep_id = ep_id};
	struct pw_dns_scratch *s;
	struct pw_name_val *v;
	struct pw_ep_dns *ed;
	__u32 zero = 0, n, end, bad, ndots, hit;
	__u8 hit_kind = 0, epf;
	int code, scan, f;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s)
		return PW_DQ_INVALID;
	if (dns_len < DNS_HDR_LEN + 1 + 4)
		return PW_DQ_INVALID; /* truncated */
	n = dns_len;
	if (n > DNS_QMSG_MAX)
		n = DNS_QMSG_MAX;
	n = OPAQUE(s, 3, n); /* else the compiler may hand dns_len itself to the helper */
	if (n < DNS_HDR_LEN + 1 + 4 || n > DNS_QMSG_MAX ||
	    bpf_skb_load_bytes(skb, dns_off, s->msg, n))
		return PW_DQ_INVALID;
	/* QR, opcode; QDCOUNT 1; ANCOUNT and NSCOUNT 0. */
	if ((s->msg[2] & 0xf8) || s->msg[4] || s->msg[5] != 1 || s->msg[6] || s->msg[7] ||
	    s->msg[8] || s->msg[9])
		return PW_DQ_INVALID;
	scan = dns_qname_scan(n);
	if (scan < 0)
		return PW_DQ_INVALID;
	end = scan & 0xff;
	bad = scan & PW_QN_BAD;
	/* Then type and class; without them, the name was read: its length for
	 * the event (pw_event_named). */
	if (DNS_HDR_LEN + end + 5 > n)
		return PW_DQ_INVALID | ((end + 5) << 8);
	code = PW_DQ_REFUSE | ((end + 5) << 8);

	ed = bpf_map_lookup_elem(&pw_ep_dns, &ep_id);
	if (!ed)
		return code; /* nothing granted */
	epf = ed->flags;
	if (epf & PW_EPDNS_ANY_NAME)
		return PW_DQ_PASS | (code & ~0xff);
	if (epf & PW_EPDNS_NXDOMAIN)
		code = PW_DQ_NXDOMAIN | ((end + 5) << 8);
	if (bad || !end)
		return code;

	/* The suffixes of "**." rules are looked up from the shortest on, then
	 * the whole name and the "*." suffix. */
	ndots = OPAQUE_GET(s, 5);
	OPAQUE_PUT(s, 3, 0); /* a search suffix seen */
	if (epf & PW_EPDNS_HAS_MANY) {
		for (__u32 d = 0; d < 127; d++) {
			if (d + 1 >= ndots)
				break;
			key.kind = PW_NK_MANY;
			key.hash = s->dot_h[d];
			v = bpf_map_lookup_elem(&pw_names, &key);
			if (!v)
				continue;
			if (v->flags & (PW_NAME_F_CONNECT | PW_NAME_F_RESOLVE)) {
				hit_kind = PW_NK_MANY;
				OPAQUE_PUT(s, 6, d);
				break;
			}
			/* no branch: a flag set on one turn only would keep the
			 * verifier from merging the turns that follow */
			OPAQUE_PUT(s, 3, OPAQUE_GET(s, 3) | (v->flags & PW_NAME_F_SEARCH));
		}
	}
	if (OPAQUE_GET(s, 3))
		code = PW_DQ_NXDOMAIN | (code & ~0xff);
	if (!hit_kind && ndots >= 1) {
		key.kind = PW_NK_EXACT;
		key.hash = s->dot_h[(ndots - 1) & 127];
		v = bpf_map_lookup_elem(&pw_names, &key);
		if (v && (v->flags & (PW_NAME_F_CONNECT | PW_NAME_F_RESOLVE))) {
			hit_kind = PW_NK_EXACT;
			OPAQUE_PUT(s, 6, ndots - 1);
		} else if ((epf & PW_EPDNS_HAS_ONE) && ndots >= 2) {
			key.kind = PW_NK_ONE;
			key.hash = s->dot_h[(ndots - 2) & 127];
			v = bpf_map_lookup_elem(&pw_names, &key);
			if (v && (v->flags & (PW_NAME_F_CONNECT | PW_NAME_F_RESOLVE))) {
				hit_kind = PW_NK_ONE;
				OPAQUE_PUT(s, 6, ndots - 2);
			}
		}
	}
	if (!hit_kind)
		return code;
	hit = OPAQUE_GET(s, 6) & 127;
	f = dns_name_entry(ep_id, hit_kind, hit);
	if (f < 0 || !(f & (PW_NAME_F_CONNECT | PW_NAME_F_RESOLVE)))
		return code;
	return PW_DQ_PASS | (code & ~0xff);
}

/* One's complement sum of 32-bit words folded to 16 bits, inverted. */
static __always_inline __u16 csum_fold32(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * Turn the query (checked by dns_query_check(), still in pw_scratch.msg) into
 * the answer `rcode` from the resolver: addresses, ports and MACs swapped, the
 * header with QR and RA set and every count but QDCOUNT zero, the question as
 * the pod sent it (its case too), nothing after it; IPv6 without extension
 * headers. Sent back to the pod on the same veth. Returns the TC action.
 */
__noinline int dns_refuse(struct __sk_buff *skb, __u32 l4_off, __u32 family, __u32 qlen,
			  __u32 rcode)
{
	struct pw_dns_scratch *s;
	struct udphdr uh;
	__u8 mac[ETH_ALEN];
	__u32 zero = 0, mlen, ulen, plen, iplen;
	__u64 sum;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s || qlen < 1 + 4 || qlen > DNS_NAME_WIRE + 4)
		return TC_ACT_SHOT;
	mlen = DNS_HDR_LEN + qlen;
	ulen = sizeof(uh) + mlen;
	if (bpf_skb_load_bytes(skb, 0, &s->eth, sizeof(s->eth)) ||
	    bpf_skb_load_bytes(skb, l4_off, &uh, sizeof(uh)))
		return TC_ACT_SHOT;
	__builtin_memcpy(mac, s->eth.h_dest, ETH_ALEN);
	__builtin_memcpy(s->eth.h_dest, s->eth.h_source, ETH_ALEN);
	__builtin_memcpy(s->eth.h_source, mac, ETH_ALEN);

	/* UDP header and message, zero padded to whole 32-bit words. */
	__builtin_memset(s->out, 0, sizeof(s->out));
	uh.len = bpf_htons(ulen);
	uh.check = 0;
	{
		__be16 t = uh.source;

		uh.source = uh.dest;
		uh.dest = t;
	}
	__builtin_memcpy(s->out, &uh, sizeof(uh));
	mlen = OPAQUE(s, 0, mlen);
	for (__u32 i = 0; i < DNS_QMSG_MAX; i++) {
		if (i >= mlen)
			break;
		s->out[sizeof(uh) + i] = s->msg[i];
	}
	s->out[sizeof(uh) + 2] = 0x80 | (s->msg[2] & 0x01);	    /* QR, RD as asked */
	s->out[sizeof(uh) + 3] = 0x80 | (s->msg[3] & 0x10) | rcode; /* RA, CD as asked */
	for (int i = 6; i < DNS_HDR_LEN; i++)
		s->out[sizeof(uh) + i] = 0;
	ulen = OPAQUE(s, 2, ulen);
	plen = (ulen + 3) & ~3u;
	if (ulen < sizeof(uh) + DNS_HDR_LEN + 5 || ulen > sizeof(s->out) || plen > sizeof(s->out))
		return TC_ACT_SHOT;

	if (family == PW_FAMILY_V4) {
		struct iphdr *ip = &s->ip;
		__be32 a;

		if (bpf_skb_load_bytes(skb, sizeof(s->eth), ip, sizeof(*ip)))
			return TC_ACT_SHOT;
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->ihl = 5;
		ip->tos = 0;
		ip->tot_len = bpf_htons(sizeof(*ip) + ulen);
		ip->frag_off = 0;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->check = 0;
		ip->check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)ip, sizeof(*ip), 0));
		__builtin_memset(&s->ph4, 0, sizeof(s->ph4));
		s->ph4.saddr = ip->saddr;
		s->ph4.daddr = ip->daddr;
		s->ph4.proto = IPPROTO_UDP;
		s->ph4.len = bpf_htons(ulen);
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&s->ph4, sizeof(s->ph4), 0);
		iplen = sizeof(*ip);
	} else {
		struct ipv6hdr *ip6 = &s->ip6;

		if (bpf_skb_load_bytes(skb, sizeof(s->eth), ip6, sizeof(*ip6)))
			return TC_ACT_SHOT;
		__builtin_memset(&s->ph6, 0, sizeof(s->ph6));
		__builtin_memcpy(s->ph6.saddr, &ip6->daddr, 16);
		__builtin_memcpy(s->ph6.daddr, &ip6->saddr, 16);
		__builtin_memcpy(&ip6->saddr, s->ph6.saddr, 16);
		__builtin_memcpy(&ip6->daddr, s->ph6.daddr, 16);
		ip6->payload_len = bpf_htons(ulen);
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = 64;
		s->ph6.len = bpf_htonl(ulen);
		s->ph6.next = IPPROTO_UDP;
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&s->ph6, sizeof(s->ph6), 0);
		iplen = sizeof(*ip6);
	}
	sum = bpf_csum_diff(NULL, 0, (__be32 *)s->out, plen, (__u32)sum);
	uh.check = csum_fold32(sum);
	if (!uh.check)
		uh.check = 0xffff;
	__builtin_memcpy(s->out + 6, &uh.check, 2);
	if (bpf_skb_change_tail(skb, sizeof(s->eth) + iplen + ulen, 0) ||
	    bpf_skb_store_bytes(skb, 0, &s->eth, sizeof(s->eth) + iplen, 0) ||
	    bpf_skb_store_bytes(skb, sizeof(s->eth) + iplen, s->out, ulen, 0))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* PODWALL_DNS_BPF_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel learner: pod_ingress learns a *simple* DNS answer itself, writes
 * its addresses into pw_learned and passes it at once; anything else is held
 * for the agent as before (DESIGN.md, "DNS in the kernel").
 *
 * Simple: a response (QR, opcode QUERY, no TC, RCODE 0, no extended RCODE in
 * an OPT record) with one question of class IN and type A or AAAA whose name
 * the pod's name table grants with the query check's toFQDNs semantics
 * (dns_qname_scan() and dns_name_entry(), shared with dns_query_check()),
 * every matching entry with PW_NAME_F_CONNECT carrying one portset (non-zero)
 * and one PW_NAME_F_PRIVATE; an answer section of class IN records only:
 * CNAMEs that extend the chain from the question name (at most
 * LEARN_MAX_CHAIN links, no loop) and records of the question's type owned by
 * a name of that chain; owner names compared byte for byte, case folded, after
 * compression pointers are followed (only backwards, at most LEARN_MAX_HOPS a
 * name); authority and additional records of the types dns_learn_other()
 * reads; at most PW_LEARN_REC_ADDRS distinct learnable addresses (the never-
 * learned ones, pw_never_learned(), are left out as the agent leaves them);
 * none of the first max_addrs_per_name in the rebinding guard unless the name
 * is PW_NAME_F_PRIVATE; none already in pw_learned with another portset; the
 * pod under its pw_ep_learn cap; room in pw_learn_log.
 *
 * Everything is decided before anything is written: then the entries (a new
 * one BPF_NOEXIST, counted in pw_ep_learn; an existing one's expiry only ever
 * moved later) and the record for the agent, reserved first; it wakes the
 * agent only when the log is filling (LEARN_LOG_WAKE).
 *
 * Global functions taking the context and scalars only (5.10), working on the
 * per-CPU pw_scratch; every loop bounded by a constant.
 */
#ifndef PODWALL_LEARN_BPF_H
#define PODWALL_LEARN_BPF_H

#include "podwall/maps.h"
#include "maps.bpf.h"
#include "dns.bpf.h"
#include "guard.bpf.h"

#define DNS_LMSG_MAX	1024 /* largest answer read whole (pw_scratch.msg); larger: held */
#define DNS_T_A		1
#define DNS_T_NS	2
#define DNS_T_CNAME	5
#define DNS_T_SOA	6
#define DNS_T_AAAA	28
#define DNS_T_OPT	41
#define DNS_C_IN	1
#define LEARN_MAX_CHAIN 4  /* CNAME links followed from the question name */
#define LEARN_MAX_RR	32 /* records of all three sections */
#define LEARN_MAX_HOPS	8  /* compression pointers followed in one name */
#define LEARN_TMP	7  /* the flat[] slot of the record being read */
/* Unread bytes of pw_learn_log past which a record wakes the agent; below,
 * none does (BPF_RB_NO_WAKEUP): the agent drains the log on its own timer
 * (agent.c, every PW_AGENT_DRAIN_MS) and before anything that needs its books
 * whole. A wake-up is an irq_work, on a VM an IPI to the agent's CPU, on
 * the answer's path; a quarter of the log is ~300 records, a few tenths of a
 * second of a flood, so the log never fills while the agent is up. */
#define LEARN_LOG_WAKE (PW_LEARN_LOG_BYTES / 4)

/* What dns_learn() did with the answer. */
enum pw_ln {
	PW_LN_INLINE = 0,     /* learned and recorded: pass it */
	PW_LN_OFF = 1,	      /* the endpoint is PW_EPDNS_HOLD_ONLY */
	PW_LN_NOT_SIMPLE = 2, /* hold path */
	PW_LN_QUOTA = 3,      /* the pod is at its cap of learned addresses: hold path */
	PW_LN_LOG_FULL = 4,   /* pw_learn_log full: hold path */
	PW_LN_WRITE_FAIL = 5, /* an entry could not be written (what was, is recorded): hold path */
};

#define LPUT(s, slot, v) (*(volatile __u32 *)&(s)->lopaque[slot] = (v))
#define LGET(s, slot)	 (*(volatile __u32 *)&(s)->lopaque[slot])

static __always_inline __u32 msg16(const struct pw_dns_scratch *s, __u32 at)
{
	return (__u32)s->msg[at & (DNS_LMSG_MAX - 1)] << 8 | s->msg[(at + 1) & (DNS_LMSG_MAX - 1)];
}

/*
 * Expand the name at off of the message (n bytes in pw_scratch.msg) into
 * flat[slot], wire form, lower case: compression pointers followed, each to
 * before where reading began since the last jump (so never a loop) and past
 * the header, at most LEARN_MAX_HOPS; labels of 1 to 63 bytes, 255 bytes in
 * all. Returns where the record goes on after the name (after its first
 * pointer, or its root label) | the expanded length << 16; or -1.
 * lopaque 0..5 hold the walk (pos, seg, out, rem, next, hops).
 */
__noinline int dns_name_flat(__u32 off, __u32 slot, __u32 n)
{
	struct pw_dns_scratch *s;
	__u32 zero = 0;
	__u8 *f;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s || n > DNS_LMSG_MAX || off >= n)
		return -1;
	f = s->flat[slot & 7];
	LPUT(s, 0, off);
	LPUT(s, 1, off);
	LPUT(s, 2, 0);
	LPUT(s, 3, 0);
	LPUT(s, 4, 0);
	LPUT(s, 5, 0);
	for (__u32 i = 0; i < DNS_NAME_WIRE + LEARN_MAX_HOPS + 1; i++) {
		__u32 pos = LGET(s, 0), out = LGET(s, 2), rem = LGET(s, 3), ptr, hops, next;
		__u8 c;

		if (pos >= n || out >= DNS_NAME_WIRE)
			return -1;
		c = s->msg[pos & (DNS_LMSG_MAX - 1)];
		if (rem) {
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			f[out & 0xff] = c;
			LPUT(s, 0, pos + 1);
			LPUT(s, 2, out + 1);
			LPUT(s, 3, rem - 1);
			continue;
		}
		if (!c) {
			f[out & 0xff] = 0;
			next = LGET(s, 4);
			s->flen[slot & 7] = out + 1;
			return (next ? next : pos + 1) | (out + 1) << 16;
		}
		if ((c & 0xc0) == 0xc0) {
			ptr = (__u32)(c & 0x3f) << 8 | s->msg[(pos + 1) & (DNS_LMSG_MAX - 1)];
			hops = LGET(s, 5);
			if (pos + 1 >= n || ptr >= LGET(s, 1) || ptr < DNS_HDR_LEN ||
			    hops >= LEARN_MAX_HOPS)
				return -1; /* forward (or a loop), into the header, too many */
			if (!LGET(s, 4))
				LPUT(s, 4, pos + 2);
			LPUT(s, 5, hops + 1);
			LPUT(s, 0, ptr);
			LPUT(s, 1, ptr);
			continue;
		}
		if (c > 63 || out + c + 2 > DNS_NAME_WIRE)
			return -1; /* an extended label type, or over 255 bytes */
		f[out & 0xff] = c;
		LPUT(s, 0, pos + 1);
		LPUT(s, 2, out + 1);
		LPUT(s, 3, c);
	}
	return -1;
}

/* 1 if flat[a] and flat[b] are the same name (both expanded, lower case). */
__noinline int dns_flat_eq(__u32 a, __u32 b)
{
	struct pw_dns_scratch *s;
	__u32 zero = 0, len;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s)
		return 0;
	len = s->flen[a & 7];
	if (len != s->flen[b & 7])
		return 0;
	for (__u32 i = 0; i < DNS_NAME_WIRE; i++) {
		if (i >= len)
			break;
		if (s->flat[a & 7][i] != s->flat[b & 7][i])
			return 0;
	}
	return 1;
}

/* Which of the first n chain names (flat[0..n)) flat[slot] is, or -1. */
__noinline int dns_chain_find(__u32 slot, __u32 n)
{
	for (__u32 j = 0; j < LEARN_MAX_CHAIN + 1; j++) {
		if (j >= n)
			break;
		if (dns_flat_eq(slot, j))
			return j;
	}
	return -1;
}

/*
 * One address of the answer (alen bytes at rd): left out if never learned,
 * merged with an earlier equal one (the larger TTL kept, as the agent does),
 * else appended to la[] (expires_ns holds the TTL until written). lopaque[10]
 * counts them. 0, or -1 past PW_LEARN_REC_ADDRS.
 */
__noinline int dns_learn_addr(__u32 rd, __u32 alen, __u32 ttl)
{
	struct pw_dns_scratch *s;
	union pw_ip ip = {};
	__u32 zero = 0, n;
	__u8 fam = alen == 4 ? PW_FAMILY_V4 : PW_FAMILY_V6;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s)
		return -1;
	for (__u32 i = 0; i < 16; i++) {
		if (i >= alen)
			break;
		ip.v6[i] = s->msg[(rd + i) & (DNS_LMSG_MAX - 1)];
	}
	if (pw_never_learned(fam, ip.v6))
		return 0;
	n = LGET(s, 10);
	for (__u32 j = 0; j < PW_LEARN_REC_ADDRS; j++) {
		struct pw_learn_addr *a = &s->la[j];

		if (j >= n)
			break;
		if (a->family == fam && a->addr.w[0] == ip.w[0] && a->addr.w[1] == ip.w[1] &&
		    a->addr.w[2] == ip.w[2] && a->addr.w[3] == ip.w[3]) {
			if (ttl > a->expires_ns)
				a->expires_ns = ttl;
			return 0;
		}
	}
	if (n >= PW_LEARN_REC_ADDRS)
		return -1;
	s->la[n & (PW_LEARN_REC_ADDRS - 1)].expires_ns = ttl;
	s->la[n & (PW_LEARN_REC_ADDRS - 1)].family = fam;
	s->la[n & (PW_LEARN_REC_ADDRS - 1)].addr = ip;
	LPUT(s, 10, n + 1);
	return 0;
}

/*
 * A record of the authority or additional section (its rdata rdlen bytes at
 * rd): only a type whose rdata is read here the way ldns reads it, so that the
 * agent's parser never refuses an answer passed inline: A (4 bytes), AAAA
 * (16), NS (one name), SOA (two names and 20 bytes); OPT, opaque, is
 * dns_learn_rr()'s. Any other type (MX, MR, SRV, ... whose names ldns
 * decompresses) is not simple: held. 0, or -1.
 */
__noinline int dns_learn_other(__u32 type, __u32 rd, __u32 rdlen, __u32 n)
{
	int r;

	switch (type) {
	case DNS_T_A:
		return rdlen == 4 ? 0 : -1;
	case DNS_T_AAAA:
		return rdlen == 16 ? 0 : -1;
	case DNS_T_NS:
		r = dns_name_flat(rd, LEARN_TMP, n);
		return r >= 0 && (__u32)(r & 0xffff) == rd + rdlen ? 0 : -1;
	case DNS_T_SOA:
		r = dns_name_flat(rd, LEARN_TMP, n);
		if (r < 0)
			return -1;
		r = dns_name_flat(r & 0xffff, LEARN_TMP, n);
		return r >= 0 && (__u32)(r & 0xffff) + 20 == rd + rdlen ? 0 : -1;
	}
	return -1;
}

/*
 * Record i of the answer (at lopaque[8]; 9: names on the chain, flat[0..]):
 * in the answer section (i < an) as the top of this file says; in authority
 * and additional (the first ns, then the rest) only well formed and of a
 * type dns_learn_other() reads. 0, or -1: not simple. A function of its own: the loop that
 * calls it is then cheap for the verifier.
 */
__noinline int dns_learn_rr(__u32 i, __u32 an, __u32 ns, __u32 n, __u32 qtype)
{
	struct pw_dns_scratch *s;
	__u32 zero = 0, off, type, ttl, rdlen, rd, cn;
	int r, k;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s || n > DNS_LMSG_MAX)
		return -1;
	r = dns_name_flat(LGET(s, 8), LEARN_TMP, n);
	if (r < 0)
		return -1;
	off = r & 0xffff;
	if (off + 10 > n)
		return -1;
	type = msg16(s, off);
	ttl = msg16(s, off + 4) << 16 | msg16(s, off + 6);
	rdlen = msg16(s, off + 8);
	rd = off + 10;
	if (rd + rdlen > n)
		return -1;
	LPUT(s, 8, rd + rdlen);
	if (i >= an && type == DNS_T_OPT) /* EDNS: the upper bits of a 12-bit RCODE */
		return i >= an + ns && (ttl >> 24) ? -1 : 0;
	if (i >= an)
		return dns_learn_other(type, rd, rdlen, n);
	if (msg16(s, off + 2) != DNS_C_IN)
		return -1;
	cn = LGET(s, 9);
	k = dns_chain_find(LEARN_TMP, cn);
	if (type == DNS_T_CNAME) {
		/* owned by the chain's last name, one link more, no loop */
		if (k < 0 || (__u32)k + 1 != cn || cn > LEARN_MAX_CHAIN)
			return -1;
		r = dns_name_flat(rd, cn, n);
		if (r < 0 || (r & 0xffff) != rd + rdlen || dns_chain_find(cn, cn) >= 0)
			return -1;
		LPUT(s, 9, cn + 1);
		return 0;
	}
	if (type != qtype || k < 0 || rdlen != (qtype == DNS_T_A ? 4 : 16))
		return -1; /* another type, or an owner off the chain */
	if (ttl > 0x7fffffff)
		ttl = 0; /* RFC 2181 section 8 */
	return dns_learn_addr(rd, rdlen, ttl);
}

/* The records after the question (at qend) of the n-byte answer. Returns the
 * number of addresses in la[], or -1: not simple. */
__noinline int dns_learn_walk(__u32 n, __u32 qend, __u32 qtype)
{
	struct pw_dns_scratch *s;
	__u32 zero = 0, an, ns, total;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s || n > DNS_LMSG_MAX)
		return -1;
	an = msg16(s, 6);
	ns = msg16(s, 8);
	total = an + ns + msg16(s, 10);
	if (!an || total > LEARN_MAX_RR)
		return -1;
	if (dns_name_flat(DNS_HDR_LEN, 0, n) < 0)
		return -1;
	LPUT(s, 8, qend);
	LPUT(s, 9, 1);
	LPUT(s, 10, 0);
	for (__u32 i = 0; i < LEARN_MAX_RR; i++) {
		if (i >= total)
			break;
		if (dns_learn_rr(i, an, ns, n, qtype))
			return -1;
	}
	return LGET(s, 10);
}

/* One matching name table entry (dns_name_entry()'s f) into the portset and
 * PW_NAME_F_PRIVATE of the answer (lopaque 11, 12; 13: one seen). -1: two
 * that differ, or one without ports. */
static __always_inline int learn_take(struct pw_dns_scratch *s, int f)
{
	__u32 ps;

	if (f < 0 || !(f & PW_NAME_F_CONNECT))
		return 0;
	ps = OPAQUE_GET(s, 7);
	if (!ps)
		return -1;
	if (!LGET(s, 13)) {
		LPUT(s, 11, ps);
		LPUT(s, 12, f & PW_NAME_F_PRIVATE);
		LPUT(s, 13, 1);
		return 0;
	}
	return ps == LGET(s, 11) && (f & PW_NAME_F_PRIVATE) == LGET(s, 12) ? 0 : -1;
}

/* Every entry of the endpoint's table that grants the question name (the
 * candidates of dns_query_check(): the exact name, the "*." suffix, each
 * "**." suffix), each compared byte for byte: 0 with the portset in
 * lopaque[11] and PW_NAME_F_PRIVATE in lopaque[12], or -1. */
__noinline int dns_learn_names(__u32 ep_id, __u32 epf, __u32 ndots)
{
	struct pw_dns_scratch *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s || ndots < 1 || ndots > 127)
		return -1;
	LPUT(s, 13, 0);
	if (learn_take(s, dns_name_entry(ep_id, PW_NK_EXACT, ndots - 1)))
		return -1;
	if ((epf & PW_EPDNS_HAS_ONE) && ndots >= 2 &&
	    learn_take(s, dns_name_entry(ep_id, PW_NK_ONE, ndots - 2)))
		return -1;
	if (epf & PW_EPDNS_HAS_MANY) {
		for (__u32 d = 0; d < 127; d++) {
			if (d + 1 >= ndots)
				break;
			if (learn_take(s, dns_name_entry(ep_id, PW_NK_MANY, d)))
				return -1;
		}
	}
	return LGET(s, 13) ? 0 : -1;
}

static __always_inline __u64 learn_ttl_ns(const struct pw_config *cfg, __u64 ttl)
{
	if (ttl < cfg->min_ttl_s)
		ttl = cfg->min_ttl_s;
	if (ttl > cfg->max_ttl_s)
		ttl = cfg->max_ttl_s;
	return ttl * 1000000000ULL;
}

/* Address i of la[] may be learned with portset (priv: PW_NAME_F_PRIVATE)?
 * The rebinding guard, then an entry that exists with other names' ports (the
 * agent takes the union). 1: learnable, no entry yet; 0: learnable, its entry
 * extended; -1: not simple. */
__noinline int dns_learn_check(__u32 ep_id, __u32 i, __u32 portset, __u32 priv)
{
	struct pw_learned_key k = {.ep_id = ep_id};
	struct pw_dns_scratch *s;
	struct pw_learned_val *lv;
	struct pw_learn_addr *a;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s)
		return -1;
	a = &s->la[i & (PW_LEARN_REC_ADDRS - 1)];
	if (!priv && pw_guard_blocks(a->family, &a->addr))
		return -1; /* the agent decides (the cluster domain, its event) */
	k.family = a->family;
	k.addr = a->addr;
	lv = bpf_map_lookup_elem(&pw_learned, &k);
	if (lv && lv->portset != portset)
		return -1;
	return !lv;
}

/* Write address i of la[]: a new entry (1 if it is one, counted in le_ep's
 * pw_ep_learn if it has one), or an existing one whose ports are still
 * portset gets the later expiry. la[i].expires_ns becomes what the entry
 * holds. 0, or -1: not written (other ports now, or pw_learned full: -2). */
__noinline int dns_learn_write(__u32 ep_id, __u32 i, __u32 portset, __u64 now)
{
	struct pw_learned_key k = {.ep_id = ep_id};
	struct pw_learned_val v = {.portset = portset}, *lv;
	struct pw_dns_scratch *s;
	struct pw_learn_addr *a;
	struct pw_config *cfg;
	struct pw_ep_flows *le;
	__u32 zero = 0;
	__u64 exp;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	cfg = bpf_map_lookup_elem(&pw_config, &zero);
	if (!s || !cfg)
		return -2;
	a = &s->la[i & (PW_LEARN_REC_ADDRS - 1)];
	exp = now + learn_ttl_ns(cfg, a->expires_ns);
	k.family = a->family;
	k.addr = a->addr;
	if (s->la_new[i & (PW_LEARN_REC_ADDRS - 1)]) {
		v.expires_ns = exp;
		if (!bpf_map_update_elem(&pw_learned, &k, &v, BPF_NOEXIST)) {
			le = bpf_map_lookup_elem(&pw_ep_learn, &ep_id);
			if (le)
				__sync_fetch_and_add(&le->added, 1);
			a->expires_ns = exp;
			return 0;
		}
	}
	/* It exists (or came to exist since): its expiry only moves later,
	 * and only while its ports are still the name's. */
	lv = bpf_map_lookup_elem(&pw_learned, &k);
	if (!lv)
		return -2;
	if (lv->portset != portset)
		return -1;
	if (lv->expires_ns > exp)
		exp = lv->expires_ns;
	else
		lv->expires_ns = exp;
	a->expires_ns = exp;
	return 0;
}

/*
 * The decision's last checks and the writes, for the first nl of la[] (the
 * question name in norm, its length name_len): dns_learn_check() for each,
 * the pod's cap, a record reserved in pw_learn_log; then dns_learn_write() for
 * each and the record.
 */
__noinline int dns_learn_commit(struct __sk_buff *skb, __u32 ep_id, __u32 nl, __u32 name_len)
{
	struct pw_dns_scratch *s;
	struct pw_learn_rec *rec;
	struct pw_ep_flows *le;
	__u32 zero = 0, portset, priv, w;
	__u64 now;
	int r;

	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	if (!s || name_len > PW_NAME_TEXT_MAX)
		return PW_LN_NOT_SIMPLE;
	portset = LGET(s, 11);
	priv = LGET(s, 12);
	/* Counts pass through memory (lopaque 0..2): values the verifier knows
	 * would have it check what follows once per value. */
	LPUT(s, 0, 0); /* new entries */
	for (__u32 i = 0; i < PW_LEARN_REC_ADDRS; i++) {
		if (i >= nl)
			break;
		r = dns_learn_check(ep_id, i, portset, priv);
		if (r < 0)
			return PW_LN_NOT_SIMPLE;
		s->la_new[i] = r;
		LPUT(s, 0, LGET(s, 0) + r);
	}
	le = bpf_map_lookup_elem(&pw_ep_learn, &ep_id);
	if (le && le->quota && (__s64)(le->added - le->gone) + LGET(s, 0) > (__s64)le->quota)
		return PW_LN_QUOTA;
	rec = bpf_ringbuf_reserve(&pw_learn_log, sizeof(*rec), 0);
	if (!rec)
		return PW_LN_LOG_FULL;

	/* Decided: write. */
	__builtin_memset(rec, 0, sizeof(*rec));
	now = bpf_ktime_get_ns();
	rec->ts_ns = now;
	rec->ep_id = ep_id;
	rec->ifindex = skb->ifindex;
	rec->portset = portset;
	rec->name_len = name_len;
	__builtin_memcpy(&rec->dns_id, s->msg, 2);
	for (__u32 i = 0; i < PW_NAME_TEXT_MAX; i++) {
		if (i >= name_len)
			break;
		rec->name[i] = s->norm[(i + 1) & 0xff]; /* norm[0] is the leading '.' */
	}
	LPUT(s, 1, 0); /* written */
	for (__u32 i = 0; i < PW_LEARN_REC_ADDRS; i++) {
		if (i >= nl)
			break;
		if (dns_learn_write(ep_id, i, portset, now))
			continue;
		w = LGET(s, 1);
		rec->addrs[w & (PW_LEARN_REC_ADDRS - 1)] = s->la[i];
		LPUT(s, 1, w + 1);
	}
	w = LGET(s, 1);
	if (!w) {
		bpf_ringbuf_discard(rec, 0);
		return PW_LN_WRITE_FAIL;
	}
	rec->n_addrs = w;
	bpf_ringbuf_submit(rec,
			   bpf_ringbuf_query(&pw_learn_log, BPF_RB_AVAIL_DATA) >= LEARN_LOG_WAKE
				   ? BPF_RB_FORCE_WAKEUP
				   : BPF_RB_NO_WAKEUP);
	return w < nl ? PW_LN_WRITE_FAIL : PW_LN_INLINE;
}

/*
 * Learn the answer of dns_len bytes at dns_off for endpoint ep_id, if it is
 * simple (see the top of this file). Returns enum pw_ln.
 */
__noinline int dns_learn(struct __sk_buff *skb, __u32 ep_id, __u32 dns_off, __u32 dns_len)
{
	struct pw_dns_scratch *s;
	struct pw_config *cfg;
	struct pw_ep_dns *ed;
	__u32 zero = 0, n, end, qend, qtype, epf, na, max;
	int scan;

	ed = bpf_map_lookup_elem(&pw_ep_dns, &ep_id);
	if (!ed)
		return PW_LN_NOT_SIMPLE; /* no name granted */
	epf = ed->flags;
	if (epf & PW_EPDNS_HOLD_ONLY)
		return PW_LN_OFF;
	s = bpf_map_lookup_elem(&pw_scratch, &zero);
	cfg = bpf_map_lookup_elem(&pw_config, &zero);
	if (!s || !cfg || !cfg->max_ttl_s || !cfg->max_addrs_per_name)
		return PW_LN_NOT_SIMPLE;
	max = cfg->max_addrs_per_name;
	if (dns_len < DNS_HDR_LEN + 1 + 4 || dns_len > DNS_LMSG_MAX)
		return PW_LN_NOT_SIMPLE;
	LPUT(s, 14, dns_len);
	n = LGET(s, 14);
	if (n < DNS_HDR_LEN + 1 + 4 || n > DNS_LMSG_MAX ||
	    bpf_skb_load_bytes(skb, dns_off, s->msg, n))
		return PW_LN_NOT_SIMPLE;
	/* QR, opcode QUERY, not truncated; RCODE 0; one question. */
	if ((s->msg[2] & 0xfa) != 0x80 || (s->msg[3] & 0x0f) || msg16(s, 4) != 1)
		return PW_LN_NOT_SIMPLE;
	scan = dns_qname_scan(n);
	if (scan < 0 || (scan & PW_QN_BAD) || !(scan & 0xff))
		return PW_LN_NOT_SIMPLE;
	end = scan & 0xff;
	qend = DNS_HDR_LEN + end + 1 + 4;
	if (qend > n)
		return PW_LN_NOT_SIMPLE;
	qtype = msg16(s, qend - 4);
	if ((qtype != DNS_T_A && qtype != DNS_T_AAAA) || msg16(s, qend - 2) != DNS_C_IN)
		return PW_LN_NOT_SIMPLE;
	if (dns_learn_names(ep_id, epf, OPAQUE_GET(s, 5)))
		return PW_LN_NOT_SIMPLE;
	scan = dns_learn_walk(n, qend, qtype);
	if (scan <= 0)
		return PW_LN_NOT_SIMPLE; /* nothing to learn: the agent notes the name */
	na = scan;
	if (na > max)
		na = max; /* the first ones, as the agent keeps them */
	return dns_learn_commit(skb, ep_id, na, end - 1);
}

#endif /* PODWALL_LEARN_BPF_H */

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tests/bpf/test_bpf.c: the real podwall BPF object, run with
 * BPF_PROG_TEST_RUN on crafted frames.
 *
 * Each row of the table below is one cmocka test: a map seed (endpoint, CIDR
 * rules with ports, learned addresses, resolvers, config), then up to four
 * steps. A step is one frame run through pod_egress or pod_ingress with a
 * struct __sk_buff context (ifindex, mark), and states the TC verdict, the
 * counters that must rise by exactly one (every other counter must stay put)
 * and the single deny event the ring buffer must then hold, or none.
 *
 * The object is loaded once (verification takes about half a second); before
 * every row each map is emptied (hash, LRU, LPM: every key deleted; arrays:
 * zeroed; perf array: every slot deleted; ring buffer: drained) and checked
 * empty, so rows share no state. Map pinning (LIBBPF_PIN_BY_NAME) is switched
 * off per map before load and the object is opened with a private
 * pin_root_path, so the real /sys/fs/bpf/podwall is never touched. The test runs in its own network
 * namespace with a veth pair: test_run resolves ctx->ifindex as a device of the caller's namespace.
 *
 * Needs root. Without it, or when BPF cannot load, it says so and exits 77
 * (skipped); under CI=true it fails instead.
 *
 * Not reachable through test_run on this kernel (6.x): frames shorter than
 * their IP header (refused with EINVAL), frames over about 4 KiB (so no
 * DNS_TOO_BIG row) and skb->vlan_present (the ctx field must be zero; the
 * in-frame 0x8100 tag is tested instead).
 *
 * PW_TEST_VERBOSE=1 shows every step's counters and events, and libbpf's debug
 * output. A failing step always shows them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "podwall/maps.h"
#include "podwall/guard.h"
#include "podwall.skel.h"
#include "dns.h"
#include "dnstcp.h"
#include "fqdn.h"
#include "bpf/loader.h"

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* ---- the test world ------------------------------------------------------ */

#define EP_ID	   7
#define EP_GEN	   1
#define POD4	   "10.0.0.5"
#define POD6	   "2001:db8:10::5"
#define RES4	   "192.0.2.53"
#define RES6	   "2001:db8:53::53"
#define REL_MARK   0x50570001u
#define SPORT	   40000
#define DNS_SPORT  33333
#define DNS_ID	   0x1234
#define AGENT_TO_S 5

#define IP_MF	 0x2000
#define NH_HOP	 0
#define NH_ROUTE 43
#define NH_FRAG	 44
#define NH_DEST	 60

enum dev { DEV_POD = 0, DEV_OTHER, DEV_LO };
enum dns_bad {
	BAD_NONE = 0,
	BAD_QDCOUNT2,
	BAD_COMPRESSED,
	BAD_LABEL64,
	BAD_TRUNCATED,
	BAD_NO_TYPE,
	BAD_OPCODE,
	BAD_ANCOUNT,
	BAD_TOO_LONG
};
enum prog { EGRESS = 0, INGRESS };
enum { V_OK = 1, V_SHOT, V_REDIRECT }; /* expected verdict; 0 = step absent */

#define TF_FIN 0x01
#define TF_SYN 0x02
#define TF_RST 0x04
#define TF_ACK 0x10

/* A frame, built from packed header structs by build_frame(). */
struct pkt {
	__u8 fam;	 /* 4 or 6; 0 = bare L2 frame of eth_proto */
	__u16 eth_proto; /* L2 frames only */
	__u8 vlan;	 /* insert an 802.1Q tag (ethertype 0x8100) */
	const char *src; /* NULL: the pod's address */
	const char *dst; /* NULL: the pod's address */
	__u8 proto;
	__u16 sport; /* 0: SPORT */
	__u16 dport;
	__u8 tcp_flags; /* 0: SYN */
	__u8 tcp_doff;	/* 0: 5 */
	__u8 icmp_type;
	__u16 icmp_id;
	__u8 ttl;	    /* TTL / hop limit; 0: 64 */
	__u8 ip4_opt_words; /* IPv4 options, 4-byte words */
	__u8 ihl;	    /* IPv4 header length field; 0: from the options */
	__u8 ipver;	    /* IP version field; 0: from fam */
	__u16 tot_len;	    /* IPv4 total length field; 0: the real length */
	__u16 frag;	    /* IPv4 frag_off (IP_MF | offset in 8-byte units) */
	__u8 n_ext;	    /* IPv6 extension headers, in order */
	__u8 ext[6];
	__u16 frag6; /* IPv6 fragment header offset field (offset << 3 | M) */
	__u8 dns;    /* append a DNS message */
	__u16 dns_id;
	__u8 dns_qr;	   /* the message is an answer (one A record) */
	const char *qname; /* the question name; NULL: example.com */
	__u16 qtype;	   /* 0: A */
	__u8 dns_bad;	   /* enum dns_bad: a malformed query */
	__u8 edns;	   /* append an EDNS OPT record (ARCOUNT 1) */
	__s8 tcp_len_adj;  /* DNS over TCP: added to the 2-byte length prefix */
	__u32 tcp_seq;	   /* 0: 1000 */
	__u16 payload;	   /* extra zero bytes after the L4 header */
	__u16 cut;	   /* keep only this many bytes after the Ethernet header */
	__u16 gso_segs;	   /* the context's gso_segs (a GSO packet of that many segments) */
};

struct range {
	__u8 proto;
	__u16 lo, hi;
	__u8 valid;
};
#define R_TCP(l, h)                                                                                \
	{                                                                                          \
		IPPROTO_TCP, l, h, 1                                                               \
	}
#define R_UDP(l, h)                                                                                \
	{                                                                                          \
		IPPROTO_UDP, l, h, 1                                                               \
	}
#define R_SCTP(l, h)                                                                               \
	{                                                                                          \
		IPPROTO_SCTP, l, h, 1                                                              \
	}
#define R_ANY                                                                                      \
	{                                                                                          \
		PW_PROTO_ANY, 0, 0, 1                                                              \
	}

struct rule {
	const char *cidr; /* no ranges: an `except` (portset 0) */
	struct range r[6];
};

struct learned {
	const char *addr;
	int expiry_s; /* from now; negative = already expired */
	struct range r[4];
};

/* A name table entry: kind PW_NK_*, normalized text, PW_NAME_F_* (0: CONNECT). */
struct name_ent {
	__u8 kind;
	const char *text;
	__u8 flags;
	const char *hash_of; /* key hash of this text instead (a collision) */
};

struct seed {
	struct rule rules[16];
	struct learned learned[6];
	const char *resolvers[4];
	struct name_ent names[6]; /* none: example.com, exact */
	__u32 dns_flags;	  /* PW_EPDNS_ANY_NAME, PW_EPDNS_NXDOMAIN */
	__u8 no_ep_dns;		  /* no pw_ep_dns entry at all */
};

struct step {
	int prog;
	int dev;
	__u32 mark;
	struct pkt pkt;
	void (*before)(void); /* map change made before this step runs */
	int verdict;	      /* V_OK / V_SHOT */
	int ctr[4];	      /* CT(i): counters that rise by exactly one */
	struct {
		__u8 reason;
		__u8 verdict; /* PW_VERDICT_*; 0: no event */
	} ev;
	void (*check)(void); /* extra assertions after the step */
};

struct row {
	const char *name;
	const struct seed *seed;
	__u8 audit;    /* endpoint in audit mode */
	__u8 open;     /* endpoint no policy selects (PW_MODE_OPEN) */
	__u8 v4_only;  /* endpoint has no IPv6 address */
	__u8 hb_stale; /* agent heartbeat older than its timeout */
	__u8 hold_off; /* PW_CFG_HOLD_DNS not set */
	__u8 vis;      /* PW_EP_VIS_ALLOWED: an event per new allowed flow */
	__u8 reject;   /* endpoint's denyAction is reject */
	struct step steps[4];
};

#define CT(i)	   ((i) + 1)
#define DROPPED(r) CT(PW_C_DROP + (r))
#define AUDITED(r) CT(PW_C_AUDIT + (r))
#define EV_DROP(r)                                                                                 \
	{                                                                                          \
		.reason = (r), .verdict = PW_VERDICT_DROP                                          \
	}
#define EV_AUDIT(r)                                                                                \
	{                                                                                          \
		.reason = (r), .verdict = PW_VERDICT_AUDIT                                         \
	}
#define EV_REJECT(r)                                                                               \
	{                                                                                          \
		.reason = (r), .verdict = PW_VERDICT_REJECT                                        \
	}
#define EV_ALLOW                                                                                   \
	{                                                                                          \
		.reason = PW_R_NONE, .verdict = PW_VERDICT_ALLOW                                   \
	}

/* Frames. Extra designators (.frag = ..., .dev = ...) go in the variadic part. */
#define FRAME(f, p, d, dp, ...)                                                                    \
	{                                                                                          \
		.fam = (f), .dst = d, .proto = (p), .dport = dp, __VA_ARGS__                       \
	}
#define TCP4(d, dp, ...)  FRAME(4, IPPROTO_TCP, d, dp, __VA_ARGS__)
#define TCP6(d, dp, ...)  FRAME(6, IPPROTO_TCP, d, dp, __VA_ARGS__)
#define UDP4(d, dp, ...)  FRAME(4, IPPROTO_UDP, d, dp, __VA_ARGS__)
#define UDP6(d, dp, ...)  FRAME(6, IPPROTO_UDP, d, dp, __VA_ARGS__)
#define SCTP4(d, dp, ...) FRAME(4, IPPROTO_SCTP, d, dp, __VA_ARGS__)
#define SCTP6(d, dp, ...) FRAME(6, IPPROTO_SCTP, d, dp, __VA_ARGS__)
#define PING4(d, ...)                                                                              \
	{                                                                                          \
		.fam = 4, .dst = d, .proto = IPPROTO_ICMP, .icmp_type = 8, .icmp_id = 77,          \
		__VA_ARGS__                                                                        \
	}
#define PING6(d, ...)                                                                              \
	{                                                                                          \
		.fam = 6, .dst = d, .proto = IPPROTO_ICMPV6, .icmp_type = 128, .icmp_id = 77,      \
		__VA_ARGS__                                                                        \
	}
#define ICMP6(d, t, ...)                                                                           \
	{                                                                                          \
		.fam = 6, .dst = d, .proto = IPPROTO_ICMPV6, .icmp_type = t, __VA_ARGS__           \
	}
#define DNSQ4(d, ...) UDP4(d, 53, .sport = DNS_SPORT, .dns = 1, .dns_id = DNS_ID, __VA_ARGS__)
#define DNSQ6(d, ...) UDP6(d, 53, .sport = DNS_SPORT, .dns = 1, .dns_id = DNS_ID, __VA_ARGS__)
/* An answer to the pod: from s:53 to the pod's DNS_SPORT. */
#define DNSA4(s, ...)                                                                              \
	{                                                                                          \
		.fam = 4, .src = s, .proto = IPPROTO_UDP, .sport = 53, .dport = DNS_SPORT,         \
		.dns = 1, .dns_qr = 1, .dns_id = DNS_ID, __VA_ARGS__                               \
	}
#define DNSA6(s, ...)                                                                              \
	{                                                                                          \
		.fam = 6, .src = s, .proto = IPPROTO_UDP, .sport = 53, .dport = DNS_SPORT,         \
		.dns = 1, .dns_qr = 1, .dns_id = DNS_ID, __VA_ARGS__                               \
	}

/* ---- fixture ------------------------------------------------------------- */

#define MAX_EVENTS 64

static struct {
	int ifindex[3]; /* by enum dev */
	char pin_root[64];
	struct podwall_bpf *skel;
	struct ring_buffer *rb;
	struct ring_buffer *lrb; /* pw_learn_log */
	struct pw_learn_rec lrec[4];
	int n_lrec;
	struct pw_event ev[MAX_EVENTS];
	/* a struct pw_event_named record: its name part, as it came */
	__u8 named[MAX_EVENTS];
	struct pw_event_named ev_named[MAX_EVENTS];
	int n_ev;
	int ncpus;
	const struct row *row;
	__u8 out[2048]; /* the frame as the last step's program left it */
	__u32 out_len;
	__u8 in[2048]; /* and as it went in */
	__u32 in_len;
	__u64 t_row;	/* CLOCK_MONOTONIC when the row was seeded */
	__u64 t_step;	/* CLOCK_MONOTONIC before the current step */
	__u32 gso_segs; /* for the next frame's context */
} F;

static int on_learn(void *ctx, void *data, size_t len)
{
	if (len < sizeof(struct pw_learn_rec))
		return -EINVAL;
	if (F.n_lrec < 4)
		memcpy(&F.lrec[F.n_lrec], data, sizeof(struct pw_learn_rec));
	F.n_lrec++;
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	if (len != sizeof(struct pw_event) && len != sizeof(struct pw_event_named))
		return -EINVAL;
	if (F.n_ev < MAX_EVENTS) {
		memcpy(&F.ev[F.n_ev], data, sizeof(struct pw_event));
		F.named[F.n_ev] = len == sizeof(struct pw_event_named);
		memset(&F.ev_named[F.n_ev], 0, sizeof(F.ev_named[0]));
		if (F.named[F.n_ev])
			memcpy(&F.ev_named[F.n_ev], data, len);
	}
	F.n_ev++;
	return 0;
}

/* Empty every map, so that a row sees only what it seeds. */
static void fx_reset(void)
{
	struct bpf_map *m;
	__u8 key[64], *zero;
	int err;

	bpf_object__for_each_map(m, F.skel->obj)
	{
		int fd = bpf_map__fd(m);
		__u32 vsz = bpf_map__value_size(m);

		assert_true(bpf_map__key_size(m) <= sizeof(key));
		switch (bpf_map__type(m)) {
		case BPF_MAP_TYPE_HASH:
		case BPF_MAP_TYPE_LRU_HASH:
		case BPF_MAP_TYPE_PERCPU_HASH:
		case BPF_MAP_TYPE_LPM_TRIE:
			while ((err = bpf_map_get_next_key(fd, NULL, key)) == 0)
				assert_int_equal(bpf_map_delete_elem(fd, key), 0);
			assert_int_equal(err, -ENOENT);
			break;
		case BPF_MAP_TYPE_ARRAY:
		case BPF_MAP_TYPE_PERCPU_ARRAY:
			if (bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_ARRAY)
				vsz = ((vsz + 7) & ~7u) * F.ncpus;
			zero = calloc(1, vsz);
			assert_non_null(zero);
			for (__u32 i = 0; i < bpf_map__max_entries(m); i++)
				assert_int_equal(bpf_map_update_elem(fd, &i, zero, BPF_ANY), 0);
			free(zero);
			break;
		case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
			for (__u32 i = 0; i < bpf_map__max_entries(m); i++)
				bpf_map_delete_elem(fd, &i); /* -ENOENT when no reader: fine */
			break;
		case BPF_MAP_TYPE_RINGBUF:
			break;
		default:
			fail_msg("map %s: type %d not handled by fx_reset()", bpf_map__name(m),
				 bpf_map__type(m));
		}
	}
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	F.n_ev = 0;
	if (F.lrb)
		assert_true(ring_buffer__consume(F.lrb) >= 0);
	F.n_lrec = 0;
}

/* ---- address and map helpers --------------------------------------------- */

static int fam_of(const char *s)
{
	return strchr(s, ':') ? 6 : 4;
}

static union pw_ip ip_of(const char *s)
{
	union pw_ip a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(fam_of(s) == 6 ? AF_INET6 : AF_INET, s, &a) != 1)
		fail_msg("bad address in test table: %s", s);
	return a;
}

static int mfd(struct bpf_map *m)
{
	return bpf_map__fd(m);
}

static struct pw_endpoint ep_get(void)
{
	struct pw_endpoint ep;
	__u32 k = F.ifindex[DEV_POD];

	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_endpoints), &k, &ep), 0);
	return ep;
}

static void ep_put(const struct pw_endpoint *ep)
{
	__u32 k = F.ifindex[DEV_POD];

	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_endpoints), &k, ep, BPF_ANY), 0);
}

static __u32 next_portset = 1;

static __u32 portset_put(const struct range *r, int max)
{
	struct pw_portset ps;
	__u32 id;

	memset(&ps, 0, sizeof(ps));
	for (int i = 0; i < max && r[i].valid; i++) {
		ps.r[ps.count].proto = r[i].proto;
		ps.r[ps.count].lo = r[i].lo;
		ps.r[ps.count].hi = r[i].hi;
		ps.count++;
	}
	if (!ps.count)
		return 0; /* an except: nothing granted */
	id = next_portset++;
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_ports), &id, &ps, BPF_ANY), 0);
	return id;
}

static void cidr_key(const char *cidr, void *key, int *fam)
{
	char buf[64];
	char *slash;
	int plen;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = '\0';
	plen = atoi(slash + 1);
	*fam = fam_of(buf);
	if (*fam == 4) {
		struct pw_cidr4_key *k = key;

		memset(k, 0, sizeof(*k));
		k->prefixlen = 32 + plen;
		k->ep_id = EP_ID;
		memcpy(k->addr, ip_of(buf).v6, 4);
	} else {
		struct pw_cidr6_key *k = key;
		union pw_ip a = ip_of(buf);

		memset(k, 0, sizeof(*k));
		k->prefixlen = 32 + plen;
		k->ep_id = EP_ID;
		memcpy(k->addr, a.v6, 16);
	}
}

static void cidr_put(const struct rule *r)
{
	struct pw_cidr6_key key; /* large enough for both */
	struct pw_cidr_val v = {.portset = portset_put(r->r, 6)};
	int fam;

	cidr_key(r->cidr, &key, &fam);
	assert_int_equal(
		bpf_map_update_elem(mfd(fam == 4 ? F.skel->maps.pw_cidr4 : F.skel->maps.pw_cidr6),
				    &key, &v, BPF_ANY),
		0);
}

static void cidr_del(const char *cidr)
{
	struct pw_cidr6_key key;
	int fam;

	cidr_key(cidr, &key, &fam);
	assert_int_equal(
		bpf_map_delete_elem(mfd(fam == 4 ? F.skel->maps.pw_cidr4 : F.skel->maps.pw_cidr6),
				    &key),
		0);
}

static struct pw_learned_key learned_key(const char *addr)
{
	struct pw_learned_key k;

	memset(&k, 0, sizeof(k));
	k.ep_id = EP_ID;
	k.family = fam_of(addr);
	k.addr = ip_of(addr);
	return k;
}

static void learned_put(const struct learned *l)
{
	struct pw_learned_key k = learned_key(l->addr);
	struct pw_learned_val v = {.portset = portset_put(l->r, 4)};
	__u64 now = bpft_now_ns();

	v.expires_ns = l->expiry_s >= 0 ? now + (__u64)l->expiry_s * 1000000000ull
					: now - (__u64)(-l->expiry_s) * 1000000000ull;
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_learned), &k, &v, BPF_ANY), 0);
}

static void resolver_put(const char *addr)
{
	struct pw_addr_key k;
	__u32 one = 1;

	memset(&k, 0, sizeof(k));
	k.family = fam_of(addr);
	k.addr = ip_of(addr);
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_resolvers), &k, &one, BPF_ANY), 0);
}

static struct pw_config cfg_get(void)
{
	struct pw_config c;
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_config), &zero, &c), 0);
	return c;
}

static void cfg_put(const struct pw_config *c)
{
	__u32 zero = 0;

	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_config), &zero, c, BPF_ANY), 0);
}

static void name_put(const struct name_ent *n)
{
	struct pw_name_key k;
	struct pw_name_val v;

	bpft_name_entry(EP_ID, n->kind, n->text, n->hash_of,
			n->flags ? n->flags : PW_NAME_F_CONNECT, &k, &v);
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_names), &k, &v, BPF_ANY), 0);
}

static void names_seed(const struct seed *sd)
{
	static const struct name_ent dflt[] = {{PW_NK_EXACT, "example.com"}, {0}};
	const struct name_ent *n = sd->names[0].text ? sd->names : dflt;
	struct pw_ep_dns ed = {.flags = sd->dns_flags};
	__u32 id = EP_ID;

	for (int i = 0; i < 6 && n[i].text; i++) {
		name_put(&n[i]);
		if (n[i].kind == PW_NK_ONE)
			ed.flags |= PW_EPDNS_HAS_ONE;
		if (n[i].kind == PW_NK_MANY)
			ed.flags |= PW_EPDNS_HAS_MANY;
	}
	if (!sd->no_ep_dns)
		assert_int_equal(
			bpf_map_update_elem(mfd(F.skel->maps.pw_ep_dns), &id, &ed, BPF_ANY), 0);
}

static void seed(const struct row *row)
{
	struct pw_endpoint ep;
	struct pw_config c;

	memset(&ep, 0, sizeof(ep));
	ep.ep_id = EP_ID;
	ep.policy_gen = EP_GEN;
	ep.mode = row->open ? PW_MODE_OPEN : row->audit ? PW_MODE_AUDIT : PW_MODE_ENFORCE;
	ep.flags = PW_EP_HAS_V4 | (row->v4_only ? 0 : PW_EP_HAS_V6) |
		   (row->vis ? PW_EP_VIS_ALLOWED : 0);
	ep.deny_action = row->reject ? PW_DENY_REJECT : PW_DENY_DROP;
	memcpy(ep.ip4, ip_of(POD4).v6, 4);
	if (!row->v4_only)
		memcpy(ep.ip6, ip_of(POD6).v6, 16);
	ep_put(&ep);

	memset(&c, 0, sizeof(c));
	c.agent_timeout_ns = AGENT_TO_S * 1000000000ull;
	c.heartbeat_ns = bpft_now_ns() - (row->hb_stale ? 60 * 1000000000ull : 0);
	c.release_mark = REL_MARK;
	c.flags = row->hold_off ? 0 : PW_CFG_HOLD_DNS;
	c.events_per_sec = 1000000; /* rate limiting has rows of its own */
	c.events_burst = 1000000;
	c.reject_per_sec = 60000; /* as events: the rate limit has a test of its own */
	c.reject_burst = 60000;
	cfg_put(&c);

	next_portset = 1;
	if (!row->seed)
		return;
	for (int i = 0; i < 16 && row->seed->rules[i].cidr; i++)
		cidr_put(&row->seed->rules[i]);
	for (int i = 0; i < 6 && row->seed->learned[i].addr; i++)
		learned_put(&row->seed->learned[i]);
	for (int i = 0; i < 4 && row->seed->resolvers[i]; i++)
		resolver_put(row->seed->resolvers[i]);
	names_seed(row->seed);
}

static void counters_read(__u64 out[PW_C_MAX])
{
	__u64 *vals = calloc(F.ncpus, sizeof(__u64));

	assert_non_null(vals);
	for (__u32 i = 0; i < PW_C_MAX; i++) {
		out[i] = 0;
		assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_counters), &i, vals), 0);
		for (int c = 0; c < F.ncpus; c++)
			out[i] += vals[c];
	}
	free(vals);
}

static bool map_empty(struct bpf_map *m)
{
	__u8 key[64];

	return bpf_map_get_next_key(mfd(m), NULL, key) == -ENOENT;
}

/* ---- frames -------------------------------------------------------------- */

static size_t put(__u8 *buf, size_t off, const void *src, size_t len)
{
	memcpy(buf + off, src, len);
	return off + len;
}

/* The DNS message: header, one question (qname, default example.com; type A
 * or qtype; class IN), one answer if qr, an EDNS record if edns; or one of
 * the malformed variants of enum dns_bad. */
static size_t dns_msg(const struct pkt *p, __u8 *out)
{
	static const __u8 an[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 80};
	static const __u8 opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
	const char *name = p->qname ? p->qname : "example.com";
	__u16 hdr[6] = {htons(p->dns_id),
			htons(p->dns_qr ? 0x8180 : 0x0100),
			htons(1),
			htons(p->dns_qr ? 1 : 0),
			0,
			htons(p->edns ? 1 : 0)};
	__u16 qt = htons(p->qtype ? p->qtype : 1), qc = htons(1);
	size_t n = sizeof(hdr);

	if (p->dns_bad == BAD_QDCOUNT2)
		hdr[2] = htons(2);
	if (p->dns_bad == BAD_OPCODE)
		hdr[1] = htons(0x2900); /* UPDATE */
	if (p->dns_bad == BAD_ANCOUNT)
		hdr[3] = htons(1);
	memcpy(out, hdr, sizeof(hdr));
	/* name: dotted text to labels */
	for (const char *l = name; *l;) {
		const char *dot = strchr(l, '.');
		size_t len = dot ? (size_t)(dot - l) : strlen(l);

		out[n++] = len;
		memcpy(out + n, l, len);
		n += len;
		l += len + (dot ? 1 : 0);
	}
	if (p->dns_bad == BAD_COMPRESSED) {
		out[n++] = 0xc0; /* pointer to the header: a loop, or anything */
		out[n++] = 0x0c;
	} else if (p->dns_bad == BAD_LABEL64) {
		out[n++] = 64;
		memset(out + n, 'a', 64);
		n += 64;
		out[n++] = 0;
	} else if (p->dns_bad == BAD_TOO_LONG) {
		for (int i = 0; i < 5; i++) { /* 5 x 52 bytes: over 255 */
			out[n++] = 51;
			memset(out + n, 'b', 51);
			n += 51;
		}
		out[n++] = 0;
	} else {
		out[n++] = 0;
	}
	if (p->dns_bad == BAD_TRUNCATED)
		return n - 3; /* ends inside the name */
	if (p->dns_bad == BAD_NO_TYPE)
		return n + 2; /* type, no class */
	memcpy(out + n, &qt, 2);
	memcpy(out + n + 2, &qc, 2);
	n += 4;
	if (p->dns_qr) {
		memcpy(out + n, an, sizeof(an));
		n += sizeof(an);
	}
	if (p->edns) {
		memcpy(out + n, opt, sizeof(opt));
		n += sizeof(opt);
	}
	return n;
}

static size_t l4_bytes(const struct pkt *p, __u8 *out)
{
	__u16 sport = p->sport ? p->sport : SPORT;
	size_t n = 0;

	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr th;
		__u8 f = p->tcp_flags ? p->tcp_flags : TF_SYN;

		memset(&th, 0, sizeof(th));
		th.source = htons(sport);
		th.dest = htons(p->dport);
		th.seq = htonl(p->tcp_seq ? p->tcp_seq : 1000);
		th.ack_seq = htonl(f & TF_ACK ? 2000 : 0);
		th.doff = p->tcp_doff ? p->tcp_doff : 5;
		th.fin = !!(f & TF_FIN);
		th.syn = !!(f & TF_SYN);
		th.rst = !!(f & TF_RST);
		th.ack = !!(f & TF_ACK);
		th.window = htons(65535);
		memcpy(out, &th, sizeof(th));
		n = sizeof(th);
		if (p->dns) {
			size_t m = dns_msg(p, out + n + 2);
			__u16 len = htons(m + p->tcp_len_adj);

			memcpy(out + n, &len, 2);
			n += 2 + m;
		}
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr uh;
		size_t body = p->dns ? dns_msg(p, out + sizeof(uh)) : 0;

		memset(&uh, 0, sizeof(uh));
		uh.source = htons(sport);
		uh.dest = htons(p->dport);
		uh.len = htons(sizeof(uh) + body + p->payload);
		memcpy(out, &uh, sizeof(uh));
		n = sizeof(uh) + body;
		break;
	}
	case IPPROTO_SCTP: {
		struct {
			__be16 sport, dport;
			__be32 vtag, csum;
		} __attribute__((packed)) sh = {htons(sport), htons(p->dport), htonl(42), 0};

		memcpy(out, &sh, sizeof(sh));
		n = sizeof(sh);
		break;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct {
			__u8 type, code;
			__be16 csum, id, seq;
		} __attribute__((packed)) ih = {p->icmp_type, 0, 0, htons(p->icmp_id), htons(1)};

		memcpy(out, &ih, sizeof(ih));
		n = sizeof(ih);
		break;
	}
	default:
		memset(out, 0, 8);
		n = 8;
	}
	memset(out + n, 0, p->payload);
	/* A neighbour advertisement's target: the pod's own address. */
	if (p->proto == IPPROTO_ICMPV6 && p->icmp_type == 136 && p->payload >= 16)
		memcpy(out + n, ip_of(POD6).v6, 16);
	return n + p->payload;
}

/* IPv6 extension headers, 8 bytes each; the last one's next header is `last`. */
static size_t ext_bytes(const struct pkt *p, __u8 last, __u8 *out)
{
	size_t n = 0;

	for (int i = 0; i < p->n_ext; i++) {
		__u8 h[8] = {0};
		__u8 next = i + 1 < p->n_ext ? p->ext[i + 1] : last;

		h[0] = next;
		switch (p->ext[i]) {
		case NH_FRAG: {
			__u16 off = htons(p->frag6);
			__u32 id = htonl(0xabcd);

			memcpy(h + 2, &off, 2);
			memcpy(h + 4, &id, 4);
			break;
		}
		case NH_ROUTE:
			h[1] = 0; /* hdr ext len */
			h[2] = 4; /* segment routing */
			h[3] = 0; /* segments left */
			break;
		default:
			h[1] = 0;	    /* 8 bytes */
			h[2] = 1, h[3] = 4; /* PadN, 4 bytes */
		}
		memcpy(out + n, h, 8);
		n += 8;
	}
	return n;
}

static size_t build_frame(const struct pkt *p, __u8 *buf)
{
	struct ethhdr eth = {
		.h_dest = {0x02, 0x50, 0x57, 0, 0, 0x01},
		.h_source = {0x02, 0x50, 0x57, 0, 0, 0x02},
	};
	__u8 l4[512], ext[64];
	size_t off, l3, l4len, extlen = 0;
	__u16 l3proto;

	if (!p->fam) {
		/* A bare L2 frame: ARP request shape for ARP, zeros otherwise. */
		static const __u8 arp[28] = {0,	 1, 8, 0, 6, 4, 0, 1, 2, 0x50, 0x57, 0, 0, 2,
					     10, 0, 0, 5, 0, 0, 0, 0, 0, 0,    10,   0, 0, 1};

		eth.h_proto = htons(p->eth_proto);
		off = put(buf, 0, &eth, sizeof(eth));
		return put(buf, off, arp, sizeof(arp));
	}

	l3proto = p->fam == 4 ? ETH_P_IP : ETH_P_IPV6;
	if (p->vlan) {
		__be16 tag[2] = {htons(100), htons(l3proto)};

		eth.h_proto = htons(ETH_P_8021Q);
		off = put(buf, 0, &eth, sizeof(eth));
		off = put(buf, off, tag, sizeof(tag));
	} else {
		eth.h_proto = htons(l3proto);
		off = put(buf, 0, &eth, sizeof(eth));
	}
	l3 = off;
	l4len = l4_bytes(p, l4);

	if (p->fam == 4) {
		struct iphdr ip;
		__u8 opts[40];
		size_t optlen = p->ip4_opt_words * 4;

		memset(&ip, 0, sizeof(ip));
		ip.version = p->ipver ? p->ipver : 4;
		ip.ihl = p->ihl ? p->ihl : 5 + p->ip4_opt_words;
		ip.tot_len = htons(p->tot_len ? p->tot_len : sizeof(ip) + optlen + l4len);
		ip.id = htons(1);
		ip.frag_off = htons(p->frag);
		ip.ttl = p->ttl ? p->ttl : 64;
		ip.protocol = p->proto;
		ip.saddr = ip_of(p->src ? p->src : POD4).v4;
		ip.daddr = ip_of(p->dst ? p->dst : POD4).v4;
		off = put(buf, off, &ip, sizeof(ip));
		for (size_t i = 0; i < optlen; i += 4) {
			static const __u8 ra[4] = {0x94, 0x04, 0, 0}; /* router alert */

			memcpy(opts + i, ra, 4);
		}
		off = put(buf, off, opts, optlen);
	} else {
		struct ipv6hdr ip6;
		union pw_ip s = ip_of(p->src ? p->src : POD6);
		union pw_ip d = ip_of(p->dst ? p->dst : POD6);

		extlen = ext_bytes(p, p->proto, ext);
		memset(&ip6, 0, sizeof(ip6));
		ip6.version = p->ipver ? p->ipver : 6;
		ip6.payload_len = htons(extlen + l4len);
		ip6.nexthdr = p->n_ext ? p->ext[0] : p->proto;
		ip6.hop_limit = p->ttl ? p->ttl : 64;
		memcpy(&ip6.saddr, s.v6, 16);
		memcpy(&ip6.daddr, d.v6, 16);
		off = put(buf, off, &ip6, sizeof(ip6));
		off = put(buf, off, ext, extlen);
	}
	off = put(buf, off, l4, l4len);

	if (p->cut && l3 + p->cut < off) {
		/* Truncated: length fields say what is really there. */
		off = l3 + p->cut;
		if (p->fam == 4 && p->cut >= sizeof(struct iphdr)) {
			__be16 tl = htons(p->cut);

			memcpy(buf + l3 + offsetof(struct iphdr, tot_len), &tl, 2);
		} else if (p->fam == 6 && p->cut >= sizeof(struct ipv6hdr)) {
			__be16 pl = htons(p->cut - sizeof(struct ipv6hdr));

			memcpy(buf + l3 + offsetof(struct ipv6hdr, payload_len), &pl, 2);
		}
	}
	return off;
}

/* Run one frame; returns the TC verdict. */
static int run_frame(int prog, int dev, __u32 mark, const __u8 *frame, size_t len)
{
	struct __sk_buff ctx;
	struct bpf_program *bp =
		prog == INGRESS ? F.skel->progs.pod_ingress : F.skel->progs.pod_egress;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .data_out = F.out, .data_size_out = sizeof(F.out),
		    .repeat = 1);
	int err;

	memcpy(F.in, frame, len < sizeof(F.in) ? len : sizeof(F.in));
	F.in_len = len;
	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = F.ifindex[dev];
	ctx.mark = mark;
	ctx.gso_segs = F.gso_segs;
	err = bpf_prog_test_run_opts(bpf_program__fd(bp), &o);
	if (err)
		fail_msg("bpf_prog_test_run_opts: %s", strerror(-err));
	F.out_len = o.data_size_out;
	return o.retval;
}

static int run_pkt(int prog, int dev, __u32 mark, const struct pkt *p)
{
	__u8 frame[2048];
	size_t len = build_frame(p, frame);
	int v;

	F.gso_segs = p->gso_segs;
	v = run_frame(prog, dev, mark, frame, len);
	F.gso_segs = 0;
	return v;
}

static void events_drain(void)
{
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
}

static const char *ctr_name(int i)
{
#define PW_COUNTER_ID(id, name) #id,
	static const char *names[] = {PW_COUNTERS(PW_COUNTER_ID)};
#undef PW_COUNTER_ID
	static char buf[32];

	_Static_assert(sizeof(names) / sizeof(names[0]) == PW_C_DROP, "counter names");
	if (i < PW_C_DROP)
		return names[i];
	snprintf(buf, sizeof(buf), "%s+%d", i < PW_C_AUDIT ? "DROP" : "AUDIT",
		 i < PW_C_AUDIT ? i - PW_C_DROP : i - PW_C_AUDIT);
	return buf;
}

/* The name a named event must carry for p's question: lower case, no
 * trailing dot; -1: the event is a plain one. */
static int want_name(const struct pkt *p, __u8 reason, char *out)
{
	const char *q = p->qname ? p->qname : "example.com";
	size_t i;

	if (reason != PW_R_DNS_NAME && !(reason == PW_R_DNS_INVALID && p->dns_bad == BAD_NO_TYPE) &&
	    !(reason == PW_R_DNS_BUDGET && p->dns && !p->dns_qr)) /* a query over budget */
		return -1;
	for (i = 0; q[i] && i < 255; i++)
		out[i] = q[i] >= 'A' && q[i] <= 'Z' ? q[i] + 32 : q[i];
	out[i] = '\0';
	return (int)i;
}

/* A named event: the name, its length, zero after it, zero padding. */
static void check_named(const struct pw_event_named *n, const char *name, int len)
{
	static const __u8 zero[256];

	assert_int_equal(n->name_len, len);
	assert_memory_equal(n->name, name, len);
	assert_memory_equal(n->name + len, zero, sizeof(n->name) - len);
	assert_memory_equal(n->pad, zero, sizeof(n->pad));
	assert_int_equal(n->ev.pad, 0);
}

static void check_event(const struct step *s, const struct pw_event *e)
{
	const struct pkt *p = &s->pkt;
	long idx = e - F.ev;
	char name[256];
	int nlen = want_name(p, e->reason, name);

	assert_true(idx >= 0 && idx < MAX_EVENTS);
	assert_int_equal(F.named[idx], nlen >= 0);
	if (nlen >= 0)
		check_named(&F.ev_named[idx], name, nlen);

	assert_int_equal(e->reason, s->ev.reason);
	assert_int_equal(e->verdict, s->ev.verdict);
	assert_int_equal(e->ep_id, EP_ID);
	assert_int_equal(e->ifindex, (__u32)F.ifindex[s->dev]);
	assert_true(e->ts_ns >= F.t_step && e->ts_ns <= bpft_now_ns());
	switch (e->reason) {
	case PW_R_NONE: /* an allowed flow (visibility) */
		if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
			assert_int_equal(e->icmp_type, p->icmp_type);
			assert_int_equal(e->icmp_code, 0);
		}
		/* fall through */
	case PW_R_NO_RULE:
	case PW_R_PORT:
	case PW_R_EXPIRED:
	case PW_R_DNS:
	case PW_R_DNS_NAME:
	case PW_R_DNS_INVALID:
	case PW_R_SPOOF:
	case PW_R_V4MAPPED:
	case PW_R_FRAGMENT: {
		union pw_ip d = ip_of(p->dst ? p->dst : p->fam == 4 ? POD4 : POD6);
		union pw_ip sa = ip_of(p->src ? p->src : p->fam == 4 ? POD4 : POD6);

		assert_int_equal(e->family, p->fam);
		assert_int_equal(e->proto, p->proto);
		assert_memory_equal(&e->daddr, &d, sizeof(d));
		assert_memory_equal(&e->saddr, &sa, sizeof(sa));
		if ((p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ||
		     p->proto == IPPROTO_SCTP) &&
		    !p->frag && !p->frag6 && e->reason != PW_R_FRAGMENT) {
			assert_int_equal(ntohs(e->dport), p->dport);
			assert_int_equal(ntohs(e->sport), p->sport ? p->sport : SPORT);
		}
		break;
	}
	default:
		break;
	}
}

static int want_verdict(int v)
{
	return v == V_OK ? TC_ACT_UNSPEC : v == V_REDIRECT ? TC_ACT_REDIRECT : TC_ACT_SHOT;
}

static void run_step(const struct step *s, int idx)
{
	__u64 before[PW_C_MAX], after[PW_C_MAX];
	int want[PW_C_MAX] = {0};
	int verdict;
	bool bad;

	if (s->before)
		s->before();
	events_drain();
	counters_read(before);
	F.t_step = bpft_now_ns();
	verdict = run_pkt(s->prog, s->dev, s->mark, &s->pkt);
	counters_read(after);
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);

	for (int i = 0; i < 4 && s->ctr[i]; i++)
		want[s->ctr[i] - 1]++;
	bad = verdict != want_verdict(s->verdict) || F.n_ev != (s->ev.verdict ? 1 : 0);
	for (int i = 0; i < PW_C_MAX; i++)
		bad |= after[i] - before[i] != (__u64)want[i];
	if (bad || bpft_verbose) {
		/* What happened, in full, when it is not what the row says. */
		print_message("    step %d: %s -> %s, %d event(s)\n", idx + 1,
			      s->prog == INGRESS ? "pod_ingress" : "pod_egress",
			      verdict == TC_ACT_UNSPEC	   ? "TC_ACT_UNSPEC (pass, continue)"
			      : verdict == TC_ACT_SHOT	   ? "TC_ACT_SHOT"
			      : verdict == TC_ACT_REDIRECT ? "TC_ACT_REDIRECT"
							   : "?",
			      F.n_ev);
		for (int i = 0; i < PW_C_MAX; i++)
			if (after[i] != before[i])
				print_message("      counter %s +%llu\n", ctr_name(i),
					      (unsigned long long)(after[i] - before[i]));
		for (int i = 0; i < F.n_ev && i < MAX_EVENTS; i++)
			print_message("      event reason %u verdict %u\n", F.ev[i].reason,
				      F.ev[i].verdict);
	}

	assert_int_equal(verdict, want_verdict(s->verdict));
	for (int i = 0; i < PW_C_MAX; i++)
		if (after[i] - before[i] != (__u64)want[i])
			fail_msg("step %d: counter %s rose by %llu, expected %d", idx + 1,
				 ctr_name(i), (unsigned long long)(after[i] - before[i]), want[i]);
	if (!s->ev.verdict) {
		if (F.n_ev)
			fail_msg("step %d: expected no event, got %d (first: reason %u verdict %u)",
				 idx + 1, F.n_ev, F.ev[0].reason, F.ev[0].verdict);
	} else {
		assert_int_equal(F.n_ev, 1);
		check_event(s, &F.ev[0]);
	}
	if (s->check)
		s->check();
}

static int row_setup(void **state)
{
	const struct row *row = *state;

	fx_reset();
	F.row = row;
	F.t_row = bpft_now_ns();
	seed(row);
	return 0;
}

static void run_row(void **state)
{
	const struct row *row = *state;
	int n = 0;

	for (int i = 0; i < 4 && row->steps[i].verdict; i++, n++)
		run_step(&row->steps[i], i);
	if (!n)
		fail_msg("row \"%s\" has no step with an expected verdict", row->name);
}

/* ---- checks and map changes used by rows ---------------------------------- */

static int flow_get(int fam, __u8 proto, __u16 lport, __u16 rport, const char *raddr,
		    struct pw_flow_val *v)
{
	struct pw_flow_key k;

	memset(&k, 0, sizeof(k));
	k.ep_id = EP_ID;
	k.family = fam;
	k.proto = proto;
	k.lport = htons(lport);
	k.rport = htons(rport);
	k.laddr = ip_of(fam == 4 ? POD4 : POD6);
	k.raddr = ip_of(raddr);
	return bpf_map_lookup_elem(mfd(F.skel->maps.pw_flows), &k, v); /* 0 or -errno */
}

static void expect_flow(int fam, __u8 proto, __u16 lport, __u16 rport, const char *raddr, __u32 gen,
			__u32 flags)
{
	struct pw_flow_val v;

	assert_int_equal(flow_get(fam, proto, lport, rport, raddr, &v), 0);
	assert_int_equal(v.policy_gen, gen);
	assert_int_equal(v.flags, flags);
	assert_true(v.last_seen_ns >= F.t_row && v.last_seen_ns <= bpft_now_ns());
}

static void chk_flow_out4(void)
{
	expect_flow(4, IPPROTO_TCP, SPORT, 443, "192.0.2.10", EP_GEN, 0);
}

static void chk_flow_out6(void)
{
	expect_flow(6, IPPROTO_TCP, SPORT, 443, "2001:db8:100::10", EP_GEN, 0);
}

static void chk_flow_out4_gen2(void)
{
	expect_flow(4, IPPROTO_TCP, SPORT, 443, "192.0.2.10", EP_GEN + 1, 0);
}

static void chk_flow_learned4(void)
{
	expect_flow(4, IPPROTO_TCP, SPORT, 443, "203.0.113.180", EP_GEN, 0);
}

static void chk_flow_learned4_gen2(void)
{
	expect_flow(4, IPPROTO_TCP, SPORT, 443, "203.0.113.180", EP_GEN + 1, 0);
}

static void chk_flow_ping4(void)
{
	expect_flow(4, IPPROTO_ICMP, 77, 77, "198.51.100.7", EP_GEN, 0);
}

static void chk_no_flow_out4(void)
{
	struct pw_flow_val v;

	assert_int_equal(flow_get(4, IPPROTO_TCP, SPORT, 443, "192.0.2.10", &v), -ENOENT);
}

static void chk_no_flows(void)
{
	assert_true(map_empty(F.skel->maps.pw_flows));
}

static void chk_flow_audit4(void)
{
	expect_flow(4, IPPROTO_TCP, SPORT, 443, "203.0.113.200", EP_GEN, PW_FLOW_AUDIT);
}

static void chk_flow_in4(void)
{
	expect_flow(4, IPPROTO_TCP, 8080, SPORT, "203.0.113.200", EP_GEN, PW_FLOW_INBOUND);
}

static void chk_flow_in6(void)
{
	expect_flow(6, IPPROTO_TCP, 8080, SPORT, "2001:db8:400::7", EP_GEN, PW_FLOW_INBOUND);
}

static void chk_flow_in_udp4(void)
{
	expect_flow(4, IPPROTO_UDP, 5353, SPORT, "203.0.113.200", EP_GEN, PW_FLOW_INBOUND);
}

static void chk_flow_in_ping4(void)
{
	expect_flow(4, IPPROTO_ICMP, 77, 77, "203.0.113.200", EP_GEN, PW_FLOW_INBOUND);
}

static void expect_pend(int fam, const char *resolver)
{
	struct pw_dns_pend_key k;
	struct pw_dns_pend_val v;
	__u8 next[sizeof(k)];

	memset(&k, 0, sizeof(k));
	k.ep_id = EP_ID;
	k.family = fam;
	k.pod_port = htons(DNS_SPORT);
	k.dns_id = htons(DNS_ID);
	k.resolver = ip_of(resolver);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_dns_pend), &k, &v), 0);
	assert_true(v.sent_ns >= F.t_row && v.sent_ns <= bpft_now_ns());
	/* and it is the only one */
	assert_int_equal(bpf_map_get_next_key(mfd(F.skel->maps.pw_dns_pend), &k, next), -ENOENT);
}

static void chk_pend4(void)
{
	expect_pend(4, RES4);
}

static void chk_pend6(void)
{
	expect_pend(6, RES6);
}

/* A UDP query from the port TQ()'s TCP queries use: recorded as UDP. */
static void chk_pend4_sport(void)
{
	struct pw_dns_pend_key k;
	struct pw_dns_pend_val v;

	memset(&k, 0, sizeof(k));
	k.ep_id = EP_ID;
	k.family = 4;
	k.pod_port = htons(SPORT);
	k.dns_id = htons(DNS_ID);
	k.resolver = ip_of(RES4);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_dns_pend), &k, &v), 0);
}

static void chk_no_pend(void)
{
	assert_true(map_empty(F.skel->maps.pw_dns_pend));
}

/* The query of TQ(): recorded as one over TCP, from the pod's port SPORT. */
static void chk_tcp_pend(void)
{
	struct pw_dns_pend_key k;
	struct pw_dns_pend_val v;

	memset(&k, 0, sizeof(k));
	k.ep_id = EP_ID;
	k.family = 4;
	k.tcp = 1;
	k.pod_port = htons(SPORT);
	k.dns_id = htons(DNS_ID);
	k.resolver = ip_of(RES4);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_dns_pend), &k, &v), 0);
	assert_true(v.sent_ns >= F.t_row && v.sent_ns <= bpft_now_ns());
	k.tcp = 0; /* not also as a UDP one */
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_dns_pend), &k, &v), -ENOENT);
}

/* F.out is the kernel's answer `rcode` to the query in F.in: MACs, addresses
 * and ports swapped, lengths and checksums right, header QR|RA (RD as asked),
 * one question exactly as asked (case too), nothing else. */
static void expect_dns_reply(int rcode)
{
	const __u8 *q = F.in, *r = F.out;
	int v6 = q[12] == 0x86 && q[13] == 0xdd;
	size_t l3 = 14, l4 = v6 ? 54 : 34, qd = l4 + 8, qlen = 12, rlen;
	__u32 sum;

	assert_memory_equal(r, q + 6, 6);
	assert_memory_equal(r + 6, q, 6);
	assert_memory_equal(r + 12, q + 12, 2);
	while (q[qd + qlen])
		qlen += q[qd + qlen] + 1;
	qlen += 1 + 4;
	rlen = 8 + qlen;
	assert_int_equal(F.out_len, l4 + rlen);
	if (v6) {
		assert_int_equal((r[l3 + 4] << 8) | r[l3 + 5], rlen);
		assert_int_equal(r[l3 + 6], IPPROTO_UDP);
		assert_memory_equal(r + l3 + 8, q + l3 + 24, 16);
		assert_memory_equal(r + l3 + 24, q + l3 + 8, 16);
		sum = bpft_sum16(r + l3 + 8, 32, 0) + rlen + IPPROTO_UDP;
	} else {
		assert_int_equal(r[l3] & 0x0f, 5);
		assert_int_equal((r[l3 + 2] << 8) | r[l3 + 3], 20 + rlen);
		assert_int_equal(r[l3 + 9], IPPROTO_UDP);
		assert_memory_equal(r + l3 + 12, q + l3 + 16, 4);
		assert_memory_equal(r + l3 + 16, q + l3 + 12, 4);
		assert_int_equal(bpft_fold16(bpft_sum16(r + l3, 20, 0)), 0xffff);
		sum = bpft_sum16(r + l3 + 12, 8, 0) + rlen + IPPROTO_UDP;
	}
	assert_memory_equal(r + l4, q + l4 + 2, 2); /* source port: the resolver's 53 */
	assert_memory_equal(r + l4 + 2, q + l4, 2);
	assert_int_equal((r[l4 + 4] << 8) | r[l4 + 5], rlen);
	assert_int_equal(bpft_fold16(bpft_sum16(r + l4, rlen, sum)), 0xffff);
	assert_memory_equal(r + qd, q + qd, 2);			/* id */
	assert_int_equal(r[qd + 2], 0x80 | (q[qd + 2] & 0x01)); /* QR, RD as asked */
	assert_int_equal(r[qd + 3], 0x80 | rcode);		/* RA */
	assert_int_equal((r[qd + 4] << 8) | r[qd + 5], 1);
	for (int i = 6; i < 12; i++)
		assert_int_equal(r[qd + i], 0);
	assert_memory_equal(r + qd + 12, q + qd + 12, qlen - 12);
}

/*
 * Rejects. F.out must be the reply to F.in: MACs swapped, addresses swapped,
 * a fresh IP header (TTL 64, no fragment bits) with a right checksum, then a
 * RST that ACKs the SYN, or ICMP / ICMPv6 administratively prohibited that
 * quotes the first min(IP length, 128) bytes of the packet, checksum right.
 */
static size_t expect_reply_ip(__u8 proto, size_t l4len, __u32 *pseudo)
{
	const __u8 *q = F.in, *r = F.out;
	int v6 = q[12] == 0x86 && q[13] == 0xdd;
	size_t l3 = 14, l4 = v6 ? 54 : 34;

	assert_memory_equal(r, q + 6, 6);
	assert_memory_equal(r + 6, q, 6);
	assert_memory_equal(r + 12, q + 12, 2);
	assert_int_equal(F.out_len, l4 + l4len);
	if (v6) {
		assert_int_equal(r[l3], 0x60);
		assert_int_equal(r[l3 + 1] | r[l3 + 2] | r[l3 + 3], 0);
		assert_int_equal((r[l3 + 4] << 8) | r[l3 + 5], l4len);
		assert_int_equal(r[l3 + 6], proto);
		assert_int_equal(r[l3 + 7], 64);
		assert_memory_equal(r + l3 + 8, q + l3 + 24, 16);
		assert_memory_equal(r + l3 + 24, q + l3 + 8, 16);
		*pseudo = bpft_sum16(r + l3 + 8, 32, 0) + l4len + proto;
	} else {
		assert_int_equal(r[l3], 0x45);
		assert_int_equal((r[l3 + 2] << 8) | r[l3 + 3], 20 + l4len);
		assert_int_equal(r[l3 + 6] | r[l3 + 7], 0); /* no fragment bits */
		assert_int_equal(r[l3 + 8], 64);
		assert_int_equal(r[l3 + 9], proto);
		assert_memory_equal(r + l3 + 12, q + l3 + 16, 4);
		assert_memory_equal(r + l3 + 16, q + l3 + 12, 4);
		assert_int_equal(bpft_fold16(bpft_sum16(r + l3, 20, 0)), 0xffff);
		*pseudo = proto == IPPROTO_TCP ? bpft_sum16(r + l3 + 12, 8, 0) + l4len + proto : 0;
	}
	return l4;
}

static void chk_rst(void)
{
	const __u8 *q = F.in, *r = F.out;
	int v6 = q[12] == 0x86 && q[13] == 0xdd;
	size_t ql4 = v6 ? 54 : 34, total, dlen, l4;
	__u32 pseudo, qseq, ack;

	total = v6 ? 40 + ((q[18] << 8) | q[19]) : (q[16] << 8) | q[17];
	dlen = total - (ql4 - 14) - (q[ql4 + 12] >> 4) * 4;
	l4 = expect_reply_ip(IPPROTO_TCP, 20, &pseudo);
	assert_memory_equal(r + l4, q + ql4 + 2, 2); /* from the port it asked for */
	assert_memory_equal(r + l4 + 2, q + ql4, 2);
	memcpy(&qseq, q + ql4 + 4, 4);
	memcpy(&ack, r + l4 + 8, 4);
	assert_int_equal(r[l4 + 4] | r[l4 + 5] | r[l4 + 6] | r[l4 + 7], 0); /* seq 0 */
	assert_int_equal(ntohl(ack), ntohl(qseq) + 1 + dlen + (q[ql4 + 13] & TF_FIN));
	assert_int_equal(r[l4 + 12], 5 << 4);
	assert_int_equal(r[l4 + 13], TF_RST | TF_ACK);
	assert_int_equal(r[l4 + 14] | r[l4 + 15] | r[l4 + 18] | r[l4 + 19], 0);
	assert_int_equal(bpft_fold16(bpft_sum16(r + l4, 20, pseudo)), 0xffff);
}

static void chk_admin_prohibited(void)
{
	const __u8 *q = F.in, *r = F.out;
	int v6 = q[12] == 0x86 && q[13] == 0xdd;
	size_t total, qlen, l4;
	__u32 pseudo;

	total = v6 ? 40 + ((q[18] << 8) | q[19]) : (q[16] << 8) | q[17];
	qlen = total < 128 ? total : 128;
	l4 = expect_reply_ip(v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 8 + qlen, &pseudo);
	assert_int_equal(r[l4], v6 ? 1 : 3);
	assert_int_equal(r[l4 + 1], v6 ? 1 : 13);
	assert_int_equal(r[l4 + 4] | r[l4 + 5] | r[l4 + 6] | r[l4 + 7], 0);
	assert_memory_equal(r + l4 + 8, q + 14, qlen); /* the original, as sent */
	assert_int_equal(bpft_fold16(bpft_sum16(r + l4, 8 + qlen, pseudo)), 0xffff);
}

static void chk_refused(void)
{
	expect_dns_reply(5);
	chk_no_pend();
}

static void chk_nxdomain(void)
{
	expect_dns_reply(3);
	chk_no_pend();
}

static void bump_gen(void)
{
	struct pw_endpoint ep = ep_get();

	ep.policy_gen++;
	ep_put(&ep);
}

static void remove_rule_bump_gen(void)
{
	cidr_del("192.0.2.0/24");
	bump_gen();
}

static void expire_learned_bump_gen(void)
{
	struct learned l = {"203.0.113.180", -10, {R_TCP(443, 443)}};

	learned_put(&l);
	bump_gen();
}

/* The endpoint's share of pw_flows (pw_ep_flows), as the agent leaves it. */
static void flows_share(__u64 added, __u64 gone, __u32 quota)
{
	__u32 id = EP_ID;
	struct pw_ep_flows v = {.added = added, .gone = gone, .quota = quota};

	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_ep_flows), &id, &v, BPF_ANY), 0);
}

static void share_full(void)
{
	flows_share(2, 0, 2);
}

/* Five recorded, four gone since (evicted or idle, as the agent counted). */
static void share_given_back(void)
{
	flows_share(5, 4, 2);
}

static __u64 share_added(void)
{
	__u32 id = EP_ID;
	struct pw_ep_flows v;

	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_ep_flows), &id, &v), 0);
	return v.added;
}

static void chk_share_one(void)
{
	assert_int_equal(share_added(), 1);
}

static void chk_share_six(void)
{
	assert_int_equal(share_added(), 6);
	expect_flow(4, IPPROTO_TCP, SPORT, 443, "192.0.2.10", EP_GEN, 0);
}

static void chk_share_two(void)
{
	assert_int_equal(share_added(), 2);
}

static void set_enforce(void)
{
	struct pw_endpoint ep = ep_get();

	ep.mode = PW_MODE_ENFORCE;
	ep_put(&ep);
}

static void seed_ep_stats(void)
{
	__u32 id = EP_ID;
	struct pw_ep_stats *st = calloc(F.ncpus, sizeof(*st));

	assert_non_null(st);
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_ep_stats), &id, st, BPF_ANY), 0);
	free(st);
}

static void chk_ep_stats_port1(void)
{
	__u32 id = EP_ID;
	struct pw_ep_stats *st = calloc(F.ncpus, sizeof(*st));
	__u64 drop = 0, pass = 0;

	assert_non_null(st);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_ep_stats), &id, st), 0);
	for (int c = 0; c < F.ncpus; c++) {
		drop += st[c].drop[PW_R_PORT];
		pass += st[c].pass;
	}
	free(st);
	assert_int_equal(drop, 1);
	assert_int_equal(pass, 0);
}

/* ---- the table ----------------------------------------------------------- */
/* clang-format off */

/*
 * The standard policy. 192.0.2.0/24 and 2001:db8:100::/48 grant TCP 443,
 * TCP 8000-8080, UDP 5000-5001 and SCTP 9000, minus an `except` (longer prefix,
 * portset 0); 198.51.100.0/24 and 2001:db8:200::/48 grant everything (a rule
 * without ports); 203.0.113.0/25 and 2001:db8:300::/48 grant every TCP port.
 * 203.0.113.200 and 2001:db8:400::7 match nothing.
 */
#define STD_RULES                                                                              \
	{"192.0.2.0/24", {R_TCP(443, 443), R_TCP(8000, 8080), R_UDP(5000, 5001), R_SCTP(9000, 9000)}}, \
	{"192.0.2.64/26"},                                                                     \
	{"2001:db8:100::/48", {R_TCP(443, 443), R_TCP(8000, 8080), R_UDP(5000, 5001),          \
			       R_SCTP(9000, 9000)}},                                           \
	{"2001:db8:100:1::/64"},                                                               \
	{"198.51.100.0/24", {R_ANY}},                                                          \
	{"2001:db8:200::/48", {R_ANY}},                                                        \
	{"203.0.113.0/25", {R_TCP(0, 65535)}},                                                 \
	{"2001:db8:300::/48", {R_TCP(0, 65535)}}

static const struct seed STD = {
	.rules = {STD_RULES},
	.resolvers = {RES4, RES6},
};

static const struct seed STD_V6_ALL = {
	.rules = {STD_RULES, {"::/0", {R_ANY}}},
	.resolvers = {RES4, RES6},
};

static const struct seed LEARNED = {
	.rules = {STD_RULES},
	.learned = {
		{"203.0.113.180", 3600, {R_TCP(443, 443)}},
		{"203.0.113.181", -10, {R_TCP(443, 443)}},
		{"2001:db8:400::80", 3600, {R_TCP(443, 443), R_UDP(443, 443)}},
		{"198.51.100.81", -10, {R_TCP(443, 443)}}, /* expired, but a CIDR rule grants it */
		{"203.0.113.100", 3600, {R_TCP(443, 443)}}, /* also under an all-TCP CIDR rule */
	},
	.resolvers = {RES4, RES6},
};

/* The name table rows: patterns of each kind, a resolve-only name, a search
 * suffix, and a collision (an entry whose key hash is that of another name). */
static const struct seed NAMES = {
	.rules = {STD_RULES},
	.resolvers = {RES4, RES6},
	.names = {
		{PW_NK_EXACT, "api.example.com"},
		{PW_NK_ONE, "github.com"},
		{PW_NK_MANY, "s3.amazonaws.com"},
		{PW_NK_EXACT, "kubernetes.default.svc.cluster.local", PW_NAME_F_RESOLVE},
		{PW_NK_MANY, "cluster.local", PW_NAME_F_SEARCH},
		{PW_NK_EXACT, "example.org", 0, "evil.example.net"},
	},
};

static const struct seed NAMES_NX = {
	.rules = {STD_RULES},
	.resolvers = {RES4, RES6},
	.names = {{PW_NK_EXACT, "api.example.com"}},
	.dns_flags = PW_EPDNS_NXDOMAIN,
};

static const struct seed NAMES_ANY = {
	.rules = {STD_RULES},
	.resolvers = {RES4, RES6},
	.names = {{PW_NK_EXACT, "api.example.com"}},
	.dns_flags = PW_EPDNS_ANY_NAME,
};

static const struct seed NO_EP_DNS = {
	.rules = {STD_RULES},
	.resolvers = {RES4, RES6},
	.no_ep_dns = 1,
};

#define PASS(...)     .verdict = V_OK, .ctr = {__VA_ARGS__}
#define DNSOK(...)    .verdict = V_OK, .ctr = {CT(PW_C_PASS_DNS_QUERY), ##__VA_ARGS__}
#define REFUSED(chk)  .verdict = V_REDIRECT, .ctr = {DROPPED(PW_R_DNS_NAME)}, \
		      .ev = EV_DROP(PW_R_DNS_NAME), .check = chk
#define SHOT(r, ...)  .verdict = V_SHOT, .ctr = {DROPPED(r), ##__VA_ARGS__}, .ev = EV_DROP(r)
#define REJECTED(r, chk) .verdict = V_REDIRECT, .ctr = {DROPPED(r), CT(PW_C_REJECT_SENT)}, \
			 .ev = EV_REJECT(r), .check = chk
#define ONE(...)      .steps = {{__VA_ARGS__}}
#define PKT(...)      .pkt = __VA_ARGS__

/* Frame macros give defaults that a row may override (.icmp_type, .dns_id, ...). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const struct row rows[] = {
	/* denyAction reject: a RST for a SYN, ICMP admin-prohibited for the rest;
	 * silent for what is not about a destination, and never in audit mode. */
	{"reject: TCP SYN to a denied address gets a RST (v4)", &STD, .reject = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443)), REJECTED(PW_R_NO_RULE, chk_rst))},
	{"reject: TCP SYN to a denied port gets a RST (v6)", &STD, .reject = 1,
	 ONE(PKT(TCP6("2001:db8:100::7", 22)), REJECTED(PW_R_PORT, chk_rst))},
	{"reject: SYN with data and FIN: the RST ACKs all of it", &STD, .reject = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_SYN | TF_FIN, .payload = 10,
		      .tcp_seq = 0xfffffff0)), REJECTED(PW_R_NO_RULE, chk_rst))},
	{"reject: a TCP ACK (not a SYN) gets ICMP admin-prohibited", &STD, .reject = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_ACK)),
	     REJECTED(PW_R_NO_RULE, chk_admin_prohibited))},
	{"reject: UDP to a denied port gets ICMP 3/13 quoting it (v4)", &STD, .reject = 1,
	 ONE(PKT(UDP4("192.0.2.10", 9999, .payload = 40)),
	     REJECTED(PW_R_PORT, chk_admin_prohibited))},
	{"reject: UDP gets ICMPv6 1/1, the quote capped at 128 bytes (v6)", &STD, .reject = 1,
	 ONE(PKT(UDP6("2001:db8:400::7", 9999, .payload = 300)),
	     REJECTED(PW_R_NO_RULE, chk_admin_prohibited))},
	{"reject: a denied echo request gets ICMP admin-prohibited", &STD, .reject = 1,
	 ONE(PKT(PING4("203.0.113.200")), REJECTED(PW_R_NO_RULE, chk_admin_prohibited))},
	{"reject: a denied ICMPv6 echo request gets ICMPv6 admin-prohibited", &STD, .reject = 1,
	 ONE(PKT(PING6("2001:db8:400::7")), REJECTED(PW_R_NO_RULE, chk_admin_prohibited))},
	{"reject: DNS to an untrusted server gets ICMP admin-prohibited", &STD, .reject = 1,
	 ONE(PKT(DNSQ4("203.0.113.53")), REJECTED(PW_R_DNS, chk_admin_prohibited))},
	{"reject: SCTP to a denied port gets ICMP admin-prohibited", &STD, .reject = 1,
	 ONE(PKT(SCTP4("192.0.2.10", 9001)), REJECTED(PW_R_PORT, chk_admin_prohibited))},
	{"reject: spoofed source: silent drop, no reply", &STD, .reject = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443, .src = "10.0.0.99")), SHOT(PW_R_SPOOF))},
	{"reject: spoofed v6 source: silent drop, no reply", &STD, .reject = 1,
	 ONE(PKT(UDP6("2001:db8:400::7", 9999, .src = "2001:db8:10::99")), SHOT(PW_R_SPOOF))},
	{"reject: malformed TCP header: silent drop", &STD, .reject = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443, .tcp_doff = 3)), SHOT(PW_R_MALFORMED))},
	{"reject: a fragment: silent drop", &STD, .reject = 1,
	 ONE(PKT(UDP4("192.0.2.10", 5000, .frag = IP_MF)), SHOT(PW_R_FRAGMENT))},
	{"reject: a first fragment to a denied address: silent drop", &STD, .reject = 1,
	 ONE(PKT(UDP4("203.0.113.200", 9999, .frag = IP_MF)), SHOT(PW_R_NO_RULE))},
	{"reject: IP options: silent drop", &STD, .reject = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443, .ip4_opt_words = 1)), SHOT(PW_R_IP_OPTIONS))},
	{"reject: a denied RST is never answered", &STD, .reject = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_RST | TF_ACK)),
	     SHOT(PW_R_NO_RULE))},
	{"reject: an ICMP error from the pod is never answered", &STD, .reject = 1,
	 ONE(PKT(PING4("203.0.113.200", .icmp_type = 3)), SHOT(PW_R_NO_RULE))},
	{"reject: an ICMPv6 error from the pod is never answered", &STD, .reject = 1,
	 ONE(PKT(ICMP6("2001:db8:400::7", 1)), SHOT(PW_R_NO_RULE))},
	{"reject: to a multicast address: silent drop", &STD, .reject = 1,
	 ONE(PKT(UDP4("239.1.2.3", 9999)), SHOT(PW_R_NO_RULE))},
	{"reject: to the broadcast address: silent drop", &STD, .reject = 1,
	 ONE(PKT(UDP4("255.255.255.255", 9999)), SHOT(PW_R_NO_RULE))},
	{"reject: to a v6 multicast address: silent drop", &STD, .reject = 1,
	 ONE(PKT(UDP6("ff0e::1", 9999)), SHOT(PW_R_NO_RULE))},
	{"reject: a v4-mapped destination: silent drop", &STD_V6_ALL, .reject = 1,
	 ONE(PKT(TCP6("::ffff:203.0.113.200", 443)), SHOT(PW_R_V4MAPPED))},
	{"reject: an ungranted DNS name is still answered REFUSED, no reject", &NAMES, .reject = 1,
	 ONE(PKT(DNSQ4(RES4, .qname = "secret.exfil.test")), REFUSED(chk_refused))},
	{"reject: an allowed flow still passes", &STD, .reject = 1,
	 ONE(PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)), .check = chk_flow_out4)},
	{"reject: audit mode never rejects (passes, audit event)", &STD, .reject = 1, .audit = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443)), .verdict = V_OK,
	     .ctr = {AUDITED(PW_R_NO_RULE)}, .ev = EV_AUDIT(PW_R_NO_RULE))},
	{"reject: denyAction drop still drops silently", &STD,
	 ONE(PKT(TCP4("203.0.113.200", 443)), SHOT(PW_R_NO_RULE))},
	/* 1. unmanaged ifindex */
	{"unmanaged veth: TCP to a denied address passes", &STD,
	 ONE(.dev = DEV_OTHER, PKT(TCP4("203.0.113.200", 443)), PASS(CT(PW_C_PASS_UNMANAGED)))},
	{"unmanaged lo (ifindex 1): spoofed source passes", &STD,
	 ONE(.dev = DEV_LO, PKT(TCP4("203.0.113.200", 443, .src = "10.9.9.9")),
	     PASS(CT(PW_C_PASS_UNMANAGED)))},
	{"unmanaged veth: pod_ingress passes, nothing counted", &STD,
	 ONE(.prog = INGRESS, .dev = DEV_OTHER, PKT(TCP4(POD4, 8080, .src = "203.0.113.200")),
	     PASS(), .check = chk_no_flows)},

	/* 2. ARP and neighbour discovery */
	{"ARP passes", &STD, ONE(PKT({.eth_proto = ETH_P_ARP}), PASS(CT(PW_C_PASS_L2)))},
	{"v6 NS hop limit 255 to solicited-node passes", &STD,
	 ONE(PKT(ICMP6("ff02::1:ff00:1", 135, .ttl = 255, .payload = 16)), PASS(CT(PW_C_PASS_L2)))},
	{"v6 NA hop limit 255 passes", &STD,
	 ONE(PKT(ICMP6("fe80::1", 136, .ttl = 255, .payload = 16)), PASS(CT(PW_C_PASS_L2)))},
	{"v6 RS hop limit 255 passes", &STD,
	 ONE(PKT(ICMP6("ff02::2", 133, .ttl = 255)), PASS(CT(PW_C_PASS_L2)))},
	{"v6 NS to the gateway on the pod's own /64 passes (unicast NUD)", &STD,
	 ONE(PKT(ICMP6("2001:db8:10::1", 135, .ttl = 255, .payload = 16)), PASS(CT(PW_C_PASS_L2)))},
	{"v6 NS hop limit 255 to an off-link address: L2 (no ND exfiltration)", &STD,
	 ONE(PKT(ICMP6("2001:db8:dead::1", 135, .ttl = 255, .payload = 200)), SHOT(PW_R_L2))},
	{"v6 NA hop limit 255 to an off-link address: L2", &STD,
	 ONE(PKT(ICMP6("203:db8:dead::1", 136, .ttl = 255, .payload = 16)), SHOT(PW_R_L2))},
	{"v6 router advertisement from a pod is not ND: NO_RULE", &STD,
	 ONE(PKT(ICMP6("ff02::1", 134, .ttl = 255, .payload = 16)), SHOT(PW_R_NO_RULE))},
	{"v6 redirect from a pod is not ND: NO_RULE", &STD,
	 ONE(PKT(ICMP6("fe80::1", 137, .ttl = 255, .payload = 32)), SHOT(PW_R_NO_RULE))},
	{"v6 NS hop limit 64 is not ND: NO_RULE", &STD,
	 ONE(PKT(ICMP6("ff02::1:ff00:1", 135, .ttl = 64, .payload = 16)), SHOT(PW_R_NO_RULE))},
	{"v6 NS hop limit 255 behind a hop-by-hop header: NO_RULE", &STD,
	 ONE(PKT(ICMP6("ff02::1:ff00:1", 135, .ttl = 255, .payload = 16, .n_ext = 1,
		       .ext = {NH_HOP})),
	     SHOT(PW_R_NO_RULE))},
	{"v6 MLDv2 report (hop-by-hop, hop limit 1, ff02::16) passes", &STD,
	 ONE(PKT(ICMP6("ff02::16", 143, .ttl = 1, .n_ext = 1, .ext = {NH_HOP})),
	     PASS(CT(PW_C_PASS_L2)))},
	{"v6 MLD report to a global multicast group: NO_RULE", &STD,
	 ONE(PKT(ICMP6("ff0e::16", 143, .ttl = 1, .n_ext = 1, .ext = {NH_HOP})),
	     SHOT(PW_R_NO_RULE))},

	/* 3. L2 and spoofing */
	{"VLAN-tagged (0x8100) frame: L2", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .vlan = 1)), SHOT(PW_R_L2))},
	{"LLDP ethertype: L2", &STD, ONE(PKT({.eth_proto = 0x88cc}), SHOT(PW_R_L2))},
	{"v4 spoofed source: SPOOF", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .src = "10.0.0.6")), SHOT(PW_R_SPOOF))},
	{"v6 spoofed source: SPOOF", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .src = "2001:db8:10::6")), SHOT(PW_R_SPOOF))},
	{"v6 link-local source outside ND: SPOOF", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .src = "fe80::5")), SHOT(PW_R_SPOOF))},
	{"v6 from a pod with no v6 address: SPOOF", &STD, .v4_only = 1,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .src = "::")), SHOT(PW_R_SPOOF))},

	/* 4. CIDR rules and ports, v4 */
	{"v4 TCP 443 to allowed CIDR passes and creates a flow", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)), .check = chk_flow_out4)},
	{"v4 TCP 444: PORT", &STD, ONE(PKT(TCP4("192.0.2.10", 444)), SHOT(PW_R_PORT))},
	{"v4 TCP range lo 8000 passes", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 8000)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v4 TCP range hi 8080 passes", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 8080)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v4 TCP range hi+1 8081: PORT", &STD, ONE(PKT(TCP4("192.0.2.10", 8081)), SHOT(PW_R_PORT))},
	{"v4 TCP range lo-1 7999: PORT", &STD, ONE(PKT(TCP4("192.0.2.10", 7999)), SHOT(PW_R_PORT))},
	{"v4 UDP 5001 passes", &STD, ONE(PKT(UDP4("192.0.2.10", 5001)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v4 UDP 443 (TCP-only port): PORT", &STD, ONE(PKT(UDP4("192.0.2.10", 443)), SHOT(PW_R_PORT))},
	{"v4 SCTP 9000 passes", &STD, ONE(PKT(SCTP4("192.0.2.10", 9000)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v4 SCTP 9001: PORT", &STD, ONE(PKT(SCTP4("192.0.2.10", 9001)), SHOT(PW_R_PORT))},
	{"v4 other address: NO_RULE", &STD, ONE(PKT(TCP4("203.0.113.200", 443)), SHOT(PW_R_NO_RULE))},
	{"v4 except prefix (portset 0): NO_RULE", &STD,
	 ONE(PKT(TCP4("192.0.2.70", 443)), SHOT(PW_R_NO_RULE))},
	{"v4 next to the except prefix still passes", &STD,
	 ONE(PKT(TCP4("192.0.2.130", 443)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v4 rule without ports allows ICMP echo", &STD,
	 ONE(PKT(PING4("198.51.100.7")), PASS(CT(PW_C_PASS_CIDR)), .check = chk_flow_ping4)},
	{"v4 rule without ports allows GRE", &STD,
	 ONE(PKT({.fam = 4, .dst = "198.51.100.7", .proto = 47}), PASS(CT(PW_C_PASS_CIDR)))},
	{"v4 ICMP to a ports-only rule: PORT", &STD, ONE(PKT(PING4("192.0.2.10")), SHOT(PW_R_PORT))},
	{"v4 ep_stats: a PORT drop counts drop[PORT] for the pod", &STD,
	 ONE(.before = seed_ep_stats, PKT(TCP4("192.0.2.10", 444)), SHOT(PW_R_PORT),
	     .check = chk_ep_stats_port1)},

	/* 4. CIDR rules and ports, v6 */
	{"v6 TCP 443 to allowed CIDR passes and creates a flow", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443)), PASS(CT(PW_C_PASS_CIDR)), .check = chk_flow_out6)},
	{"v6 TCP 444: PORT", &STD, ONE(PKT(TCP6("2001:db8:100::10", 444)), SHOT(PW_R_PORT))},
	{"v6 TCP range lo 8000 passes", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 8000)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v6 TCP range hi 8080 passes", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 8080)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v6 TCP range hi+1 8081: PORT", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 8081)), SHOT(PW_R_PORT))},
	{"v6 UDP 5000 passes", &STD,
	 ONE(PKT(UDP6("2001:db8:100::10", 5000)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v6 UDP 5002: PORT", &STD, ONE(PKT(UDP6("2001:db8:100::10", 5002)), SHOT(PW_R_PORT))},
	{"v6 SCTP 9000 passes", &STD,
	 ONE(PKT(SCTP6("2001:db8:100::10", 9000)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v6 SCTP 8999: PORT", &STD, ONE(PKT(SCTP6("2001:db8:100::10", 8999)), SHOT(PW_R_PORT))},
	{"v6 other address: NO_RULE", &STD,
	 ONE(PKT(TCP6("2001:db8:400::7", 443)), SHOT(PW_R_NO_RULE))},
	{"v6 except prefix (portset 0): NO_RULE", &STD,
	 ONE(PKT(TCP6("2001:db8:100:1::10", 443)), SHOT(PW_R_NO_RULE))},
	{"v6 rule without ports allows ICMPv6 echo", &STD,
	 ONE(PKT(PING6("2001:db8:200::7")), PASS(CT(PW_C_PASS_CIDR)))},
	{"v6 ICMPv6 echo to a ports-only rule: PORT", &STD,
	 ONE(PKT(PING6("2001:db8:100::10")), SHOT(PW_R_PORT))},
	{"v6 ::/0 rule allows a global address", &STD_V6_ALL,
	 ONE(PKT(TCP6("2001:db8:400::7", 443)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v6 IPv4-mapped destination: V4MAPPED even with ::/0", &STD_V6_ALL,
	 ONE(PKT(TCP6("::ffff:192.0.2.10", 443)), SHOT(PW_R_V4MAPPED))},
	{"v6 IPv4-mapped destination of a denied v4 address: V4MAPPED", &STD_V6_ALL,
	 ONE(PKT(UDP6("::ffff:203.0.113.200", 53)), SHOT(PW_R_V4MAPPED))},

	/* 5. IPv4 options and fragments */
	{"v4 with options (router alert): IP_OPTIONS", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .ip4_opt_words = 1)), SHOT(PW_R_IP_OPTIONS))},
	{"v4 first fragment (MF) to a port rule: FRAGMENT", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .frag = IP_MF)), SHOT(PW_R_FRAGMENT))},
	{"v4 later fragment (offset 185) to a port rule: FRAGMENT", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .frag = 185)), SHOT(PW_R_FRAGMENT))},
	{"v4 last fragment to an unknown address: NO_RULE", &STD,
	 ONE(PKT(TCP4("203.0.113.200", 443, .frag = 185)), SHOT(PW_R_NO_RULE))},
	{"v4 fragment to a rule granting every TCP port passes, no flow", &STD,
	 ONE(PKT(TCP4("203.0.113.10", 443, .frag = IP_MF)), PASS(CT(PW_C_PASS_CIDR)),
	     .check = chk_no_flows)},
	{"v4 fragment to a rule without ports passes", &STD,
	 ONE(PKT(UDP4("198.51.100.7", 9999, .frag = IP_MF | 10)), PASS(CT(PW_C_PASS_CIDR)))},
	{"v4 UDP fragment to a TCP-all-ports rule: FRAGMENT", &STD,
	 ONE(PKT(UDP4("203.0.113.10", 443, .frag = IP_MF)), SHOT(PW_R_FRAGMENT))},
	{"v4 truncated TCP header (10 of 20 bytes): MALFORMED", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .cut = 30)), SHOT(PW_R_MALFORMED))},
	{"v4 TCP data offset 4: MALFORMED", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .tcp_doff = 4)), SHOT(PW_R_MALFORMED))},
	{"v4 truncated UDP header: MALFORMED", &STD,
	 ONE(PKT(UDP4("192.0.2.10", 5000, .cut = 24)), SHOT(PW_R_MALFORMED))},
	/* A frame shorter than its IP header cannot be fed to test_run: the
	 * kernel refuses it (EINVAL). These reach the same MALFORMED branch. */
	{"v4 header length 4 words: MALFORMED", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .ihl = 4)), SHOT(PW_R_MALFORMED))},
	{"v4 total length shorter than the header: MALFORMED", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .tot_len = 16)), SHOT(PW_R_MALFORMED))},
	{"v4 ethertype with IP version 6: MALFORMED", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .ipver = 6)), SHOT(PW_R_MALFORMED))},

	/* 6. IPv6 extension headers */
	{"v6 fragment header, TCP to a port rule: FRAGMENT", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .n_ext = 1, .ext = {NH_FRAG}, .frag6 = 1)),
	     SHOT(PW_R_FRAGMENT))},
	{"v6 fragment header, later fragment: FRAGMENT", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .n_ext = 1, .ext = {NH_FRAG}, .frag6 = 185 << 3)),
	     SHOT(PW_R_FRAGMENT))},
	{"v6 fragment header to a rule granting every TCP port passes", &STD,
	 ONE(PKT(TCP6("2001:db8:300::10", 443, .n_ext = 1, .ext = {NH_FRAG}, .frag6 = 1)),
	     PASS(CT(PW_C_PASS_CIDR)), .check = chk_no_flows)},
	{"v6 hop-by-hop then TCP 443 passes", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .n_ext = 1, .ext = {NH_HOP})),
	     PASS(CT(PW_C_PASS_CIDR)))},
	{"v6 hop-by-hop then TCP 444: PORT", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 444, .n_ext = 1, .ext = {NH_HOP})), SHOT(PW_R_PORT))},
	{"v6 hop-by-hop + destination options then TCP 443 passes", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .n_ext = 2, .ext = {NH_HOP, NH_DEST})),
	     PASS(CT(PW_C_PASS_CIDR)))},
	{"v6 routing header: IPV6_EXT", &STD_V6_ALL,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .n_ext = 1, .ext = {NH_ROUTE})),
	     SHOT(PW_R_IPV6_EXT))},
	{"v6 routing header after hop-by-hop: IPV6_EXT", &STD_V6_ALL,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .n_ext = 2, .ext = {NH_HOP, NH_ROUTE})),
	     SHOT(PW_R_IPV6_EXT))},
	{"v6 4 chained extension headers then TCP 443 passes", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .n_ext = 4,
		      .ext = {NH_HOP, NH_DEST, NH_DEST, NH_DEST})),
	     PASS(CT(PW_C_PASS_CIDR)))},
	{"v6 5 chained extension headers: IPV6_EXT", &STD_V6_ALL,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .n_ext = 5,
		      .ext = {NH_HOP, NH_DEST, NH_DEST, NH_DEST, NH_DEST})),
	     SHOT(PW_R_IPV6_EXT))},
	{"v6 truncated TCP header: MALFORMED", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .cut = 50)), SHOT(PW_R_MALFORMED))},
	{"v6 truncated extension header: MALFORMED", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .n_ext = 1, .ext = {NH_HOP}, .cut = 44)),
	     SHOT(PW_R_MALFORMED))},
	{"v6 ethertype with IP version 4: MALFORMED", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .ipver = 4)), SHOT(PW_R_MALFORMED))},

	/* 7. flow table */
	{"flow v4: first packet creates the flow, the next passes as PASS_FLOW", &STD,
	 .steps = {
		 {PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)), .check = chk_flow_out4},
		 {PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"flow v6: first packet creates the flow, the next passes as PASS_FLOW", &STD,
	 .steps = {
		 {PKT(TCP6("2001:db8:100::10", 443)), PASS(CT(PW_C_PASS_CIDR)), .check = chk_flow_out6},
		 {PKT(TCP6("2001:db8:100::10", 443, .tcp_flags = TF_ACK)), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"flow ICMP echo: the second echo passes as PASS_FLOW", &STD,
	 .steps = {
		 {PKT(PING4("198.51.100.7")), PASS(CT(PW_C_PASS_CIDR))},
		 {PKT(PING4("198.51.100.7")), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"flow: policy_gen bumped, still allowed: re-checked, passes, gen updated", &STD,
	 .steps = {
		 {PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR))},
		 {.before = bump_gen, PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)),
		  PASS(CT(PW_C_FLOW_REVALIDATE), CT(PW_C_PASS_CIDR)), .check = chk_flow_out4_gen2},
		 {PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"flow: rule removed and policy_gen bumped: NO_RULE, flow deleted", &STD,
	 .steps = {
		 {PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR))},
		 {.before = remove_rule_bump_gen, PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)),
		  SHOT(PW_R_NO_RULE, CT(PW_C_FLOW_REVALIDATE)), .check = chk_no_flow_out4},
		 {PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)), SHOT(PW_R_NO_RULE)},
	 }},
	{"flow: a fragment of an allowed flow is still checked as a fragment", &STD,
	 .steps = {
		 {PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR))},
		 {PKT(TCP4("192.0.2.10", 443, .frag = IP_MF)), SHOT(PW_R_FRAGMENT)},
	 }},

	/* 7b. the endpoint's share of pw_flows, and re-admission without a flow */
	{"flow share: the first flow creates the endpoint's share and counts one", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)), .check = chk_share_one)},
	{"flow share: at its quota a granted SYN passes, no flow recorded", &STD,
	 ONE(.before = share_full, PKT(TCP4("192.0.2.10", 443)),
	     PASS(CT(PW_C_PASS_CIDR), CT(PW_C_FLOW_QUOTA)), .check = chk_no_flows)},
	{"flow share: at its quota the next packet is re-admitted by the rules", &STD,
	 .steps = {
		 {.before = share_full, PKT(TCP4("192.0.2.10", 443)),
		  PASS(CT(PW_C_PASS_CIDR), CT(PW_C_FLOW_QUOTA))},
		 {PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)),
		  PASS(CT(PW_C_FLOW_READMIT), CT(PW_C_PASS_CIDR), CT(PW_C_FLOW_QUOTA)),
		  .check = chk_share_two},
	 }},
	{"flow share: at its quota a denied SYN is still denied", &STD,
	 ONE(.before = share_full, PKT(TCP4("203.0.113.200", 443)), SHOT(PW_R_NO_RULE))},
	{"flow share: flows the agent counted gone are given back", &STD,
	 ONE(.before = share_given_back, PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)),
	     .check = chk_share_six)},
	{"flow share: at its quota an inbound SYN is not noted; the reply: NO_RULE", &STD,
	 .steps = {
		 {.before = share_full, .prog = INGRESS,
		  PKT(TCP4(NULL, 8080, .src = "203.0.113.200")), PASS(CT(PW_C_FLOW_QUOTA)),
		  .check = chk_no_flows},
		 {PKT(TCP4("203.0.113.200", SPORT, .sport = 8080, .tcp_flags = TF_SYN | TF_ACK)),
		  SHOT(PW_R_NO_RULE)},
	 }},
	{"flow share: an inbound SYN counts against the receiving endpoint", &STD,
	 ONE(.prog = INGRESS, PKT(TCP4(NULL, 8080, .src = "203.0.113.200")),
	     PASS(CT(PW_C_INGRESS_FLOW)), .check = chk_share_one)},
	{"re-admit: TCP ACK without a flow to a granted CIDR passes, flow recorded", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)),
	     PASS(CT(PW_C_FLOW_READMIT), CT(PW_C_PASS_CIDR)), .check = chk_flow_out4)},
	{"re-admit: v6 TCP ACK without a flow to a granted CIDR passes", &STD,
	 ONE(PKT(TCP6("2001:db8:100::10", 443, .tcp_flags = TF_ACK)),
	     PASS(CT(PW_C_FLOW_READMIT), CT(PW_C_PASS_CIDR)), .check = chk_flow_out6)},
	{"re-admit: TCP ACK without a flow to a denied address: NO_RULE, no flow", &STD,
	 ONE(PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_ACK)), SHOT(PW_R_NO_RULE),
	     .check = chk_no_flows)},
	{"re-admit: TCP ACK without a flow to a port not granted: PORT", &STD,
	 ONE(PKT(TCP4("192.0.2.10", 444, .tcp_flags = TF_ACK)), SHOT(PW_R_PORT),
	     .check = chk_no_flows)},
	{"re-admit: FIN and RST without a flow to a denied address: NO_RULE", &STD,
	 .steps = {
		 {PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_FIN | TF_ACK)), SHOT(PW_R_NO_RULE)},
		 {PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_RST)), SHOT(PW_R_NO_RULE)},
	 }},
	{"re-admit: UDP without a flow is a new flow (no re-check)", &LEARNED,
	 ONE(PKT(UDP4("203.0.113.181", 443)), SHOT(PW_R_EXPIRED))},
	{"re-admit: TCP ACK to a learned address past its TTL, entry kept (grace): passes",
	 &LEARNED,
	 ONE(PKT(TCP4("203.0.113.181", 443, .tcp_flags = TF_ACK)),
	     PASS(CT(PW_C_FLOW_READMIT), CT(PW_C_PASS_LEARNED)))},
	{"re-admit: a SYN to the same learned address past its TTL: EXPIRED", &LEARNED,
	 ONE(PKT(TCP4("203.0.113.181", 443)), SHOT(PW_R_EXPIRED))},
	{"re-admit: TCP ACK to a learned address past its TTL, other port: PORT", &LEARNED,
	 ONE(PKT(TCP4("203.0.113.181", 80, .tcp_flags = TF_ACK)), SHOT(PW_R_PORT))},
	{"re-admit: TCP ACK, learned entry gone (grace over): NO_RULE", &STD,
	 ONE(PKT(TCP4("203.0.113.180", 443, .tcp_flags = TF_ACK)), SHOT(PW_R_NO_RULE))},
	{"re-admit: audit endpoint, ACK without a flow to a denied address: audited", &STD,
	 .audit = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_ACK)), PASS(AUDITED(PW_R_NO_RULE)),
	     .ev = EV_AUDIT(PW_R_NO_RULE), .check = chk_flow_audit4)},

	/* 8. learned (hostname) addresses */
	{"learned v4, future expiry, TCP 443 passes and creates a flow", &LEARNED,
	 ONE(PKT(TCP4("203.0.113.180", 443)), PASS(CT(PW_C_PASS_LEARNED)),
	     .check = chk_flow_learned4)},
	{"learned v4, future expiry, TCP 80: PORT", &LEARNED,
	 ONE(PKT(TCP4("203.0.113.180", 80)), SHOT(PW_R_PORT))},
	{"learned v4, past expiry: EXPIRED", &LEARNED,
	 ONE(PKT(TCP4("203.0.113.181", 443)), SHOT(PW_R_EXPIRED))},
	{"learned v4, past expiry but a CIDR rule grants it: passes", &LEARNED,
	 ONE(PKT(TCP4("198.51.100.81", 443)), PASS(CT(PW_C_PASS_CIDR)))},
	{"learned v6, future expiry, UDP 443 passes", &LEARNED,
	 ONE(PKT(UDP6("2001:db8:400::80", 443)), PASS(CT(PW_C_PASS_LEARNED)))},
	{"learned v6, future expiry, TCP 8443: PORT", &LEARNED,
	 ONE(PKT(TCP6("2001:db8:400::80", 8443)), SHOT(PW_R_PORT))},
	{"learned v4 TCP 22 (learned grants 443 only), CIDR grants all TCP: passes", &LEARNED,
	 ONE(PKT(TCP4("203.0.113.100", 22)), PASS(CT(PW_C_PASS_CIDR)))},
	{"learned: established flow outlives the TTL when re-checked", &LEARNED,
	 .steps = {
		 {PKT(TCP4("203.0.113.180", 443)), PASS(CT(PW_C_PASS_LEARNED))},
		 {.before = expire_learned_bump_gen,
		  PKT(TCP4("203.0.113.180", 443, .tcp_flags = TF_ACK)),
		  PASS(CT(PW_C_FLOW_REVALIDATE), CT(PW_C_PASS_LEARNED)),
		  .check = chk_flow_learned4_gen2},
		 {PKT(TCP4("203.0.113.180", 443, .sport = 40001)), SHOT(PW_R_EXPIRED)},
	 }},

	/* 8b. open mode: a pod no policy selects */
	{"open: any destination passes", &STD, .open = 1,
	 ONE(PKT(TCP4("203.0.113.200", 25)), PASS(CT(PW_C_PASS_UNMANAGED)))},
	{"open: spoofed v4 source drops (no forged resolver answers)", &STD, .open = 1,
	 ONE(PKT(UDP4(POD4, 40000, .src = "10.43.0.10", .sport = 53)), SHOT(PW_R_SPOOF))},
	{"open: spoofed v6 source drops", &STD, .open = 1,
	 ONE(PKT(TCP6("2001:db8:400::80", 443, .src = "2001:db8:10::99")), SHOT(PW_R_SPOOF))},
	{"open: a DNS query is not recorded and its answer is not held", &STD, .open = 1,
	 .steps = {
		 {PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_UNMANAGED))},
		 {.prog = INGRESS, PKT(DNSA4(RES4)), PASS()},
	 }},

	/* 8b. visibility: allowed (an event when a flow entry is created) */
	{"visibility: v4 TCP to a CIDR rule: one allow event on the first packet, none after",
	 &STD, .vis = 1,
	 .steps = {
		 {PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)), .ev = EV_ALLOW,
		  .check = chk_flow_out4},
		 {PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)), PASS(CT(PW_C_PASS_FLOW))},
		 {PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"visibility: v6 TCP to a CIDR rule: one allow event with both addresses", &STD, .vis = 1,
	 .steps = {
		 {PKT(TCP6("2001:db8:100::10", 443)), PASS(CT(PW_C_PASS_CIDR)), .ev = EV_ALLOW,
		  .check = chk_flow_out6},
		 {PKT(TCP6("2001:db8:100::10", 443, .tcp_flags = TF_ACK)), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"visibility: a second connection (another source port) is a new flow: a second event",
	 &STD, .vis = 1,
	 .steps = {
		 {PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)), .ev = EV_ALLOW},
		 {PKT(TCP4("192.0.2.10", 443, .sport = 40001)), PASS(CT(PW_C_PASS_CIDR)),
		  .ev = EV_ALLOW},
	 }},
	{"visibility: learned address, UDP: one allow event", &LEARNED, .vis = 1,
	 .steps = {
		 {PKT(UDP6("2001:db8:400::80", 443)), PASS(CT(PW_C_PASS_LEARNED)), .ev = EV_ALLOW},
		 {PKT(UDP6("2001:db8:400::80", 443)), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"visibility: ICMP echo: an allow event with type and code, not the echo id", &STD,
	 .vis = 1,
	 .steps = {
		 {PKT(PING4("198.51.100.7")), PASS(CT(PW_C_PASS_CIDR)), .ev = EV_ALLOW,
		  .check = chk_flow_ping4},
		 {PKT(PING4("198.51.100.7")), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"visibility: a denial is a drop event only", &STD, .vis = 1,
	 ONE(PKT(TCP4("192.0.2.10", 444)), SHOT(PW_R_PORT))},
	{"visibility: a DNS query (no flow entry) is no allow event", &STD, .vis = 1,
	 ONE(PKT(DNSQ4(RES4)), DNSOK())},
	{"visibility: GRE to a rule without ports (no flow key): no event", &STD, .vis = 1,
	 ONE(PKT({.fam = 4, .dst = "198.51.100.7", .proto = 47}), PASS(CT(PW_C_PASS_CIDR)))},
	{"visibility: audit mode: the audit event only, once per flow", &STD, .vis = 1, .audit = 1,
	 .steps = {
		 {PKT(TCP4("203.0.113.200", 443)), PASS(AUDITED(PW_R_NO_RULE)),
		  .ev = EV_AUDIT(PW_R_NO_RULE)},
		 {PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_ACK)), PASS()},
	 }},
	{"visibility: a flow re-checked after a policy change is not new: no event", &STD,
	 .vis = 1,
	 .steps = {
		 {PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)), .ev = EV_ALLOW},
		 {.before = bump_gen, PKT(TCP4("192.0.2.10", 443, .tcp_flags = TF_ACK)),
		  PASS(CT(PW_C_FLOW_REVALIDATE), CT(PW_C_PASS_CIDR))},
	 }},

	/* 9. audit mode */
	{"audit: NO_RULE passes with an audit event, then once per flow", &STD, .audit = 1,
	 .steps = {
		 {PKT(TCP4("203.0.113.200", 443)), PASS(AUDITED(PW_R_NO_RULE)),
		  .ev = EV_AUDIT(PW_R_NO_RULE), .check = chk_flow_audit4},
		 {PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_ACK)), PASS()},
		 {.before = set_enforce, PKT(TCP4("203.0.113.200", 443, .tcp_flags = TF_ACK)),
		  SHOT(PW_R_NO_RULE, CT(PW_C_FLOW_REVALIDATE)), .check = chk_no_flows},
	 }},
	{"audit: v6 PORT passes with an audit event", &STD, .audit = 1,
	 ONE(PKT(TCP6("2001:db8:100::10", 444)), PASS(AUDITED(PW_R_PORT)),
	     .ev = EV_AUDIT(PW_R_PORT))},
	{"audit: spoofed source passes with an audit event, no flow", &STD, .audit = 1,
	 ONE(PKT(TCP4("203.0.113.200", 443, .src = "10.0.0.6")), PASS(AUDITED(PW_R_SPOOF)),
	     .ev = EV_AUDIT(PW_R_SPOOF), .check = chk_no_flows)},
	{"audit: allowed traffic passes without an event", &STD, .audit = 1,
	 ONE(PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)))},

	/* 10. DNS queries */
	{"DNS v4 UDP/53 query to a resolver passes and is recorded", &STD,
	 ONE(PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_DNS_QUERY)), .check = chk_pend4)},
	{"DNS v6 UDP/53 query to a resolver passes and is recorded", &STD,
	 ONE(PKT(DNSQ6(RES6)), PASS(CT(PW_C_PASS_DNS_QUERY)), .check = chk_pend6)},
	{"DNS v4 UDP/53 to a non-resolver (CIDR allows all): DNS", &STD,
	 ONE(PKT(DNSQ4("198.51.100.53")), SHOT(PW_R_DNS), .check = chk_no_pend)},
	{"DNS v6 UDP/53 to a non-resolver: DNS", &STD,
	 ONE(PKT(DNSQ6("2001:db8:200::53")), SHOT(PW_R_DNS), .check = chk_no_pend)},
	{"DNS v4 TCP/53 to a resolver passes, nothing recorded", &STD,
	 ONE(PKT(TCP4(RES4, 53)), PASS(CT(PW_C_PASS_DNS_QUERY)), .check = chk_no_pend)},
	{"DNS v4 TCP/53 to a non-resolver: DNS", &STD,
	 ONE(PKT(TCP4("198.51.100.53", 53)), SHOT(PW_R_DNS))},
	{"DNS v4 UDP/53 to a resolver without a DNS header: DNS_INVALID", &STD,
	 ONE(PKT(UDP4(RES4, 53, .payload = 4)), SHOT(PW_R_DNS_INVALID), .check = chk_no_pend)},
	{"DNS v4 UDP/53 to a resolver, empty datagram: DNS_INVALID (fuzz_bpf_dns)", &STD,
	 ONE(PKT(UDP4(RES4, 53)), SHOT(PW_R_DNS_INVALID), .check = chk_no_pend)},
	{"DNS v4 TCP/53, a message of length 0 (prefix only): DNS_INVALID (fuzz_bpf_dns)", &STD,
	 .steps = {{PKT(TCP4(RES4, 53, .tcp_seq = 999)), DNSOK()},
		   {PKT(TCP4(RES4, 53, .tcp_flags = TF_ACK, .payload = 2)),
		    SHOT(PW_R_DNS_INVALID)}}},

	/* 10b. the name table: only names the pod's policies grant are asked */
	{"names: exact name passes and is recorded", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.example.com")), DNSOK(), .check = chk_pend4)},
	{"names: exact name in another case, EDNS record: passes", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "API.Example.COM", .edns = 1)), DNSOK())},
	{"names: the TXT exfil query <hex>.exfil.test is answered REFUSED by the kernel", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "4f70656e5365736d65.exfil.test", .qtype = 16, .edns = 1)),
	     REFUSED(chk_refused))},
	{"names: v6 ungranted name answered REFUSED (checksum, addresses)", &NAMES,
	 ONE(PKT(DNSQ6(RES6, .qname = "Secret.Exfil.Test")), REFUSED(chk_refused))},
	{"names: a sub-name of an exact name is refused", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "x.api.example.com")), REFUSED(chk_refused))},
	{"names: parent of an exact name is refused", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "example.com")), REFUSED(chk_refused))},
	{"names: *.github.com grants one label", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.github.com")), DNSOK())},
	{"names: *.github.com does not grant two labels", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "a.api.github.com")), REFUSED(chk_refused))},
	{"names: *.github.com does not grant github.com", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "github.com")), REFUSED(chk_refused))},
	{"names: *.github.com does not grant evilgithub.com", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.evilgithub.com")), REFUSED(chk_refused))},
	{"names: **.s3.amazonaws.com grants one label", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "b.s3.amazonaws.com")), DNSOK())},
	{"names: **.s3.amazonaws.com grants three labels", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "x.y.b.S3.amazonaws.com")), DNSOK())},
	{"names: **.s3.amazonaws.com does not grant s3.amazonaws.com", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "s3.amazonaws.com")), REFUSED(chk_refused))},
	{"names: a resolve-only name passes", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "kubernetes.default.svc.cluster.local")), DNSOK())},
	{"names: search-list expansion under cluster.local gets NXDOMAIN", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.github.com.agents.svc.cluster.local")),
	     REFUSED(chk_nxdomain))},
	{"names: a hash collision with a granted entry is refused (text compared)", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "evil.example.net")), REFUSED(chk_refused))},
	{"names: the collided entry's own name is not granted by its hash either", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "example.org")), REFUSED(chk_refused))},
	{"names: a byte no policy name holds ('*') is refused", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "*.github.com")), REFUSED(chk_refused))},
	{"names: the root name is refused", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "")), REFUSED(chk_refused))},
	{"names: policy asks NXDOMAIN for refused names", &NAMES_NX,
	 ONE(PKT(DNSQ4(RES4, .qname = "exfil.test")), REFUSED(chk_nxdomain))},
	{"names: resolve-any opt-out passes any name", &NAMES_ANY,
	 ONE(PKT(DNSQ4(RES4, .qname = "4f70656e.exfil.test")), DNSOK(), .check = chk_pend4)},
	{"names: no pw_ep_dns entry grants nothing", &NO_EP_DNS,
	 ONE(PKT(DNSQ4(RES4)), REFUSED(chk_refused))},
	{"names: audit mode passes a refused name with an audit event", &NAMES, .audit = 1,
	 ONE(PKT(DNSQ4(RES4, .qname = "exfil.test")),
	     .verdict = V_OK, .ctr = {AUDITED(PW_R_DNS_NAME), CT(PW_C_PASS_DNS_QUERY)},
	     .ev = EV_AUDIT(PW_R_DNS_NAME), .check = chk_pend4)},
	/* DNS over TCP: followed from the SYN (ISN 999, data from 1000). */
#define TSYN	 TCP4(RES4, 53, .tcp_seq = 999)
#define TQ(name, ...) TCP4(RES4, 53, .tcp_flags = TF_ACK, .dns = 1, .dns_id = DNS_ID, \
			   .qname = name, ##__VA_ARGS__)
	{"names: DNS over TCP: SYN, a granted query, its retransmission, the next query", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("api.example.com")), DNSOK(), .check = chk_tcp_pend},
		 {PKT(TQ("api.example.com")), DNSOK(), .check = chk_tcp_pend},
		 {PKT(TQ("api.github.com", .tcp_seq = 1000 + 2 + 33)), DNSOK()},
	 }},
	{"names: DNS over TCP: an ungranted name is dropped, the stream does not move", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("exfil.test")), SHOT(PW_R_DNS_NAME)},
		 {PKT(TQ("api.example.com")), DNSOK()},
	 }},
	{"names: DNS over TCP: a segment overlapping the last one (other length) is dropped",
	 &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {PKT(TQ("x.api.github.com")), SHOT(PW_R_DNS_INVALID)},
		 {PKT(TQ("api.github.com", .tcp_seq = 1002)), SHOT(PW_R_DNS_INVALID)},
	 }},
	{"names: DNS over TCP: a gap, data without a SYN, a SYN into a live stream: dropped",
	 &NAMES,
	 .steps = {
		 {PKT(TQ("api.example.com")), SHOT(PW_R_DNS_INVALID)},
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("api.example.com", .tcp_seq = 1100)), SHOT(PW_R_DNS_INVALID)},
		 {PKT(TCP4(RES4, 53, .tcp_seq = 5000)), SHOT(PW_R_DNS_INVALID)},
	 }},
	{"names: DNS over TCP: a FIN at the stream's end closes it; a new SYN reopens", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TCP4(RES4, 53, .tcp_flags = TF_FIN | TF_ACK, .tcp_seq = 1000)), DNSOK()},
		 {PKT(TQ("api.example.com", .tcp_seq = 1001)), SHOT(PW_R_DNS_INVALID)},
		 {PKT(TCP4(RES4, 53, .tcp_seq = 7000)), DNSOK()},
	 }},
	{"names: DNS over TCP, length prefix short of the segment: DNS_INVALID", &NAMES,
	 .steps = {{PKT(TSYN), DNSOK()},
		   {PKT(TQ("api.example.com", .tcp_len_adj = -4)), SHOT(PW_R_DNS_INVALID)}}},
	{"names: DNS over TCP, message longer than the segment: DNS_INVALID", &NAMES,
	 .steps = {{PKT(TSYN), DNSOK()},
		   {PKT(TQ("api.example.com", .tcp_len_adj = 9)), SHOT(PW_R_DNS_INVALID)}}},

	/* 10c. malformed queries to a resolver: dropped, never passed on a guess */
	{"query: QDCOUNT 2: DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.example.com", .dns_bad = BAD_QDCOUNT2)),
	     SHOT(PW_R_DNS_INVALID), .check = chk_no_pend)},
	{"query: compression pointer in the question: DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api", .dns_bad = BAD_COMPRESSED)), SHOT(PW_R_DNS_INVALID))},
	{"query: 64-byte label: DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api", .dns_bad = BAD_LABEL64)), SHOT(PW_R_DNS_INVALID))},
	{"query: name over 255 bytes: DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "a", .dns_bad = BAD_TOO_LONG)), SHOT(PW_R_DNS_INVALID))},
	{"query: truncated inside the name: DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.example.com", .dns_bad = BAD_TRUNCATED)),
	     SHOT(PW_R_DNS_INVALID))},
	{"query: no class after the name: DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.example.com", .dns_bad = BAD_NO_TYPE)),
	     SHOT(PW_R_DNS_INVALID))},
	{"query: opcode UPDATE: DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.example.com", .dns_bad = BAD_OPCODE)),
	     SHOT(PW_R_DNS_INVALID))},
	{"query: an answer record in a query: DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.example.com", .dns_bad = BAD_ANCOUNT)),
	     SHOT(PW_R_DNS_INVALID))},
	{"query: QR set (a response sent to the resolver): DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.example.com", .dns_qr = 1)), SHOT(PW_R_DNS_INVALID))},
	{"query: UDP length beyond the frame: DNS_INVALID", &NAMES,
	 ONE(PKT(DNSQ4(RES4, .qname = "api.example.com", .cut = 20 + 8 + 20)),
	     SHOT(PW_R_DNS_INVALID))},
	{"DNS v4 resolver address over v6 (::ffff:) is not a resolver: V4MAPPED", &STD,
	 ONE(PKT(DNSQ6("::ffff:192.0.2.53")), SHOT(PW_R_V4MAPPED))},

	/* 10d. DNS answers in IP fragments: passed, counted, explained */
	{"ingress: a UDP answer from a resolver in IP fragments passes, counted, event "
	 "dns-fragment (nothing can be learned from it)", &STD,
	 .steps = {
		 {PKT(DNSQ4(RES4)), DNSOK()},
		 {.prog = INGRESS, PKT(DNSA4(RES4, .frag = IP_MF)), .verdict = V_OK,
		  .ctr = {CT(PW_C_DNS_FRAGMENT)},
		  .ev = {.reason = PW_R_DNS_FRAGMENT, .verdict = PW_VERDICT_PASS}},
		 {.prog = INGRESS, PKT(DNSA4(RES4, .frag = 3)), .verdict = V_OK,
		  .ctr = {CT(PW_C_DNS_FRAGMENT)},
		  .ev = {.reason = PW_R_DNS_FRAGMENT, .verdict = PW_VERDICT_PASS}},
	 }},

	/* 11. pod_ingress: inbound flows */
	{"ingress v4 SYN creates an inbound flow; the pod's SYN-ACK passes", &STD,
	 .steps = {
		 {.prog = INGRESS, PKT(TCP4(NULL, 8080, .src = "203.0.113.200")),
		  PASS(CT(PW_C_INGRESS_FLOW)), .check = chk_flow_in4},
		 {PKT(TCP4("203.0.113.200", SPORT, .sport = 8080, .tcp_flags = TF_SYN | TF_ACK)),
		  PASS(CT(PW_C_PASS_FLOW))},
		 {PKT(TCP4("203.0.113.200", SPORT, .sport = 8080, .tcp_flags = TF_ACK)),
		  PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"ingress v6 SYN creates an inbound flow; the pod's SYN-ACK passes", &STD,
	 .steps = {
		 {.prog = INGRESS, PKT(TCP6(NULL, 8080, .src = "2001:db8:400::7")),
		  PASS(CT(PW_C_INGRESS_FLOW)), .check = chk_flow_in6},
		 {PKT(TCP6("2001:db8:400::7", SPORT, .sport = 8080, .tcp_flags = TF_SYN | TF_ACK)),
		  PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"ingress non-SYN TCP creates nothing; the pod's reply: NO_RULE", &STD,
	 .steps = {
		 {.prog = INGRESS, PKT(TCP4(NULL, 8080, .src = "203.0.113.200", .tcp_flags = TF_ACK)),
		  PASS(), .check = chk_no_flows},
		 {PKT(TCP4("203.0.113.200", SPORT, .sport = 8080, .tcp_flags = TF_ACK)),
		  SHOT(PW_R_NO_RULE)},
	 }},
	{"ingress SYN to another address than the pod's creates nothing", &STD,
	 ONE(.prog = INGRESS, PKT(TCP4("10.0.0.99", 8080, .src = "203.0.113.200")), PASS(),
	     .check = chk_no_flows)},
	{"ingress SYN-ACK (not SYN only) creates nothing", &STD,
	 ONE(.prog = INGRESS,
	     PKT(TCP4(NULL, 8080, .src = "203.0.113.200", .tcp_flags = TF_SYN | TF_ACK)), PASS(),
	     .check = chk_no_flows)},
	{"ingress UDP creates an inbound flow; the pod's reply passes", &STD,
	 .steps = {
		 {.prog = INGRESS, PKT(UDP4(NULL, 5353, .src = "203.0.113.200")),
		  PASS(CT(PW_C_INGRESS_FLOW)), .check = chk_flow_in_udp4},
		 {PKT(UDP4("203.0.113.200", SPORT, .sport = 5353)), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"ingress ICMP echo request; the pod's echo reply passes", &STD,
	 .steps = {
		 {.prog = INGRESS, PKT(PING4(NULL, .src = "203.0.113.200")),
		  PASS(CT(PW_C_INGRESS_FLOW)), .check = chk_flow_in_ping4},
		 {PKT(PING4("203.0.113.200", .icmp_type = 0)), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"ingress ICMPv6 echo request; the pod's echo reply passes", &STD,
	 .steps = {
		 {.prog = INGRESS, PKT(PING6(NULL, .src = "2001:db8:400::7")),
		  PASS(CT(PW_C_INGRESS_FLOW))},
		 {PKT(PING6("2001:db8:400::7", .icmp_type = 129)), PASS(CT(PW_C_PASS_FLOW))},
	 }},
	{"egress ICMP echo reply with no inbound request: NO_RULE", &STD,
	 ONE(PKT(PING4("203.0.113.200", .icmp_type = 0)), SHOT(PW_R_NO_RULE))},
	{"ingress: malformed or VLAN frames to the pod pass unfiltered", &STD,
	 .steps = {
		 {.prog = INGRESS, PKT(TCP4(NULL, 8080, .src = "203.0.113.200", .vlan = 1)), PASS(),
		  .check = chk_no_flows},
		 {.prog = INGRESS, PKT(TCP4(NULL, 8080, .src = "203.0.113.200", .cut = 30)), PASS(),
		  .check = chk_no_flows},
	 }},

	/* 12. DNS answers: hold, release */
	{"DNS answer v4 matching a query, agent alive, nobody on the perf buffer: "
	 "DNS_CAPTURE, dropped, query consumed",
	 &STD,
	 .steps = {
		 {PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_DNS_QUERY)), .check = chk_pend4},
		 {.prog = INGRESS, PKT(DNSA4(RES4)), SHOT(PW_R_DNS_CAPTURE), .check = chk_no_pend},
		 {.prog = INGRESS, PKT(DNSA4(RES4)), PASS(CT(PW_C_DNS_UNMATCHED))},
	 }},
	{"DNS answer v6 matching a query, nobody listening: DNS_CAPTURE, dropped", &STD,
	 .steps = {
		 {PKT(DNSQ6(RES6)), PASS(CT(PW_C_PASS_DNS_QUERY)), .check = chk_pend6},
		 {.prog = INGRESS, PKT(DNSA6(RES6)), SHOT(PW_R_DNS_CAPTURE), .check = chk_no_pend},
	 }},
	{"DNS answer with the release mark passes (DNS_RELEASED)", &STD,
	 .steps = {
		 {PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_DNS_QUERY))},
		 {.prog = INGRESS, .mark = REL_MARK, PKT(DNSA4(RES4)), PASS(CT(PW_C_DNS_RELEASED))},
	 }},
	{"DNS answer with another mark is not released: DNS_CAPTURE", &STD,
	 .steps = {
		 {PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_DNS_QUERY))},
		 {.prog = INGRESS, .mark = REL_MARK + 1, PKT(DNSA4(RES4)), SHOT(PW_R_DNS_CAPTURE)},
	 }},
	{"DNS answer with another id: DNS_UNMATCHED, passes, query kept", &STD,
	 .steps = {
		 {PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_DNS_QUERY))},
		 {.prog = INGRESS, PKT(DNSA4(RES4, .dns_id = DNS_ID + 1)),
		  PASS(CT(PW_C_DNS_UNMATCHED)), .check = chk_pend4},
	 }},
	{"DNS answer to another pod port: DNS_UNMATCHED", &STD,
	 .steps = {
		 {PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_DNS_QUERY))},
		 {.prog = INGRESS, PKT(DNSA4(RES4, .dport = DNS_SPORT + 1)),
		  PASS(CT(PW_C_DNS_UNMATCHED))},
	 }},
	{"DNS answer with no query at all: DNS_UNMATCHED", &STD,
	 ONE(.prog = INGRESS, PKT(DNSA4(RES4)), PASS(CT(PW_C_DNS_UNMATCHED)))},
	{"DNS answer, stale heartbeat: DNS_AGENT_AWAY, passes, query consumed", &STD,
	 .hb_stale = 1,
	 .steps = {
		 {PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_DNS_QUERY))},
		 {.prog = INGRESS, PKT(DNSA4(RES4)), PASS(CT(PW_C_DNS_AGENT_AWAY)),
		  .check = chk_no_pend},
	 }},
	{"DNS answer, holding switched off: passes untouched", &STD, .hold_off = 1,
	 .steps = {
		 {PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_DNS_QUERY))},
		 {.prog = INGRESS, PKT(DNSA4(RES4)), PASS(), .check = chk_pend4},
	 }},
	{"DNS 'answer' from a non-resolver is not held (inbound UDP flow)", &STD,
	 ONE(.prog = INGRESS, PKT(DNSA4("198.51.100.53")), PASS(CT(PW_C_INGRESS_FLOW)))},

	/* 12b. DNS answers over TCP (the client's retry after a truncated UDP
	 * answer): a segment that is one whole message answering a recorded
	 * query is held like a UDP answer; other data passes, counted. */
#define TA(...) {.fam = 4, .src = RES4, .proto = IPPROTO_TCP, .sport = 53, .dport = SPORT,       \
		 .tcp_flags = TF_ACK, .dns = 1, .dns_qr = 1, .dns_id = DNS_ID,                   \
		 .qname = "api.example.com", __VA_ARGS__}
#define TA_SPLIT .verdict = V_OK, .ctr = {CT(PW_C_DNS_TCP_SPLIT)},                              \
		 .ev = {.reason = PW_R_DNS_TCP_SPLIT, .verdict = PW_VERDICT_PASS}
	{"TCP answer to a recorded query, nobody listening: DNS_CAPTURE, query consumed; "
	 "a second one: DNS_UNMATCHED, passes", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("api.example.com")), DNSOK(), .check = chk_tcp_pend},
		 {.prog = INGRESS, PKT(TA()), SHOT(PW_R_DNS_CAPTURE), .check = chk_no_pend},
		 {.prog = INGRESS, PKT(TA()), PASS(CT(PW_C_DNS_UNMATCHED))},
	 }},
	{"TCP answer split over segments, or two in one: passes unlearned, "
	 "DNS_TCP_SPLIT, event dns-tcp-split; the query stays recorded", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {.prog = INGRESS, PKT(TA(.tcp_len_adj = 40)), TA_SPLIT, .check = chk_tcp_pend},
		 {.prog = INGRESS, PKT(TA(.tcp_len_adj = -2)), TA_SPLIT},
	 }},
	{"TCP answer in a GSO packet of 2 segments: one segment of its whole length, held "
	 "like the others (nobody listening: DNS_CAPTURE, query consumed), DNS_TCP_GSO",
	 &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {.prog = INGRESS, PKT(TA(.gso_segs = 2)),
		  SHOT(PW_R_DNS_CAPTURE, CT(PW_C_DNS_TCP_GSO)), .check = chk_no_pend},
	 }},
	{"A GSO packet that holds more than its message: DNS_TCP_GSO, DNS_TCP_SPLIT", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {.prog = INGRESS, PKT(TA(.gso_segs = 2, .tcp_len_adj = -2)), .verdict = V_OK,
		  .ctr = {CT(PW_C_DNS_TCP_GSO), CT(PW_C_DNS_TCP_SPLIT)},
		  .ev = {.reason = PW_R_DNS_TCP_SPLIT, .verdict = PW_VERDICT_PASS},
		  .check = chk_tcp_pend},
	 }},
	{"TCP answer with no recorded query (a UDP one, another id): DNS_UNMATCHED, passes unheld",
	 &NAMES,
	 .steps = {
		 {PKT(DNSQ4(RES4, .qname = "api.example.com", .sport = SPORT)), DNSOK(),
		  .check = chk_pend4_sport},
		 {PKT(TSYN), DNSOK()},
		 {.prog = INGRESS, PKT(TA()), PASS(CT(PW_C_DNS_UNMATCHED))},
		 {.prog = INGRESS, PKT(TA(.dns_id = DNS_ID + 1)), PASS(CT(PW_C_DNS_UNMATCHED))},
	 }},
	{"TCP from a resolver's port 53 on a connection not followed, or without data: passes, "
	 "nothing counted", &NAMES,
	 .steps = {
		 {.prog = INGRESS, PKT(TA(.tcp_len_adj = 40)), PASS()},
		 {PKT(TSYN), DNSOK()},
		 {.prog = INGRESS, PKT(TCP4(NULL, SPORT, .src = RES4, .sport = 53,
					    .tcp_flags = TF_ACK | TF_SYN)), PASS()},
		 {.prog = INGRESS, PKT(TCP4(NULL, SPORT, .src = RES4, .sport = 53,
					    .tcp_flags = TF_ACK | TF_FIN)), PASS()},
	 }},
	{"TCP answer with the release mark passes (DNS_RELEASED), query kept", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {.prog = INGRESS, .mark = REL_MARK, PKT(TA()), PASS(CT(PW_C_DNS_RELEASED)),
		  .check = chk_tcp_pend},
	 }},
	{"TCP answer, stale heartbeat: DNS_AGENT_AWAY, passes, query consumed", &NAMES,
	 .hb_stale = 1,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {.prog = INGRESS, PKT(TA()), PASS(CT(PW_C_DNS_AGENT_AWAY)), .check = chk_no_pend},
	 }},
	/* The resolver's side followed from its SYN-ACK (seq 4999: data from 5000). */
#define TSYNACK TA(.tcp_flags = TF_SYN | TF_ACK, .dns = 0, .tcp_seq = 4999)
	{"followed from the SYN-ACK: a whole answer at the stream's next byte is held "
	 "(DNS_CAPTURE, nobody listening)", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {.prog = INGRESS, PKT(TSYNACK), PASS()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {.prog = INGRESS, PKT(TA(.tcp_seq = 5000)), SHOT(PW_R_DNS_CAPTURE),
		  .check = chk_no_pend},
	 }},
	{"followed: a segment past the stream's next byte (a gap) loses the stream: "
	 "DNS_TCP_SPLIT, the query stays recorded", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {.prog = INGRESS, PKT(TSYNACK), PASS()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {.prog = INGRESS, PKT(TA(.tcp_seq = 5100)), TA_SPLIT, .check = chk_tcp_pend},
	 }},
	{"followed: two messages in one segment: DNS_TCP_SPLIT", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {.prog = INGRESS, PKT(TSYNACK), PASS()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {.prog = INGRESS, PKT(TA(.tcp_seq = 5000, .tcp_len_adj = -2)), TA_SPLIT},
	 }},
	{"followed: the first segment of a longer answer whose copy the perf buffer cannot "
	 "take (nobody listening): the stream is lost, DNS_TCP_SPLIT, query consumed", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {.prog = INGRESS, PKT(TSYNACK), PASS()},
		 {PKT(TQ("api.example.com")), DNSOK()},
		 {.prog = INGRESS, PKT(TA(.tcp_seq = 5000, .tcp_len_adj = 40)), TA_SPLIT,
		  .check = chk_no_pend},
	 }},
	{"followed: a longer answer to no recorded query passes, followed not copied; "
	 "its rest passes, nothing counted", &NAMES,
	 .steps = {
		 {PKT(TSYN), DNSOK()},
		 {.prog = INGRESS, PKT(TSYNACK), PASS()},
		 {.prog = INGRESS, PKT(TA(.tcp_seq = 5000, .tcp_len_adj = 40)),
		  PASS(CT(PW_C_DNS_UNMATCHED))},
	 }},
};
#pragma GCC diagnostic pop
/* clang-format on */

/* ---- rows that do not fit the table --------------------------------------- */

struct cap {
	int n;
	struct pw_dns_meta meta;
	__u8 frame[1024];
	__u32 size;
};

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	struct cap *c = ctx;

	if (c->n++ == 0 && size >= sizeof(c->meta)) {
		memcpy(&c->meta, data, sizeof(c->meta));
		c->size = size;
		memcpy(c->frame, (__u8 *)data + sizeof(c->meta),
		       size - sizeof(c->meta) < sizeof(c->frame) ? size - sizeof(c->meta)
								 : sizeof(c->frame));
	}
}

/* With the agent listening on pw_dns_cap, a matched answer is held: copied out
 * whole with its metadata, dropped, counted DNS_HELD, no deny event. */
static void test_dns_held(void **state)
{
	static const struct step query = {PKT(DNSQ4(RES4)), PASS(CT(PW_C_PASS_DNS_QUERY))};
	static const struct step answer = {
		.prog = INGRESS, PKT(DNSA4(RES4)), PASS(CT(PW_C_DNS_HELD))};
	struct pkt a = answer.pkt;
	struct cap cap = {0};
	struct perf_buffer *pb;
	__u8 frame[1024];
	size_t len = build_frame(&a, frame);
	__u64 before[PW_C_MAX], after[PW_C_MAX];
	union pw_ip res = ip_of(RES4);
	int verdict;

	pb = perf_buffer__new(mfd(F.skel->maps.pw_dns_cap), 8, on_sample, NULL, &cap, NULL);
	assert_non_null(pb);
	run_step(&query, 0);

	events_drain();
	counters_read(before);
	F.t_step = bpft_now_ns();
	verdict = run_frame(INGRESS, DEV_POD, 0, frame, len);
	counters_read(after);
	assert_int_equal(verdict, TC_ACT_SHOT);
	for (int i = 0; i < PW_C_MAX; i++)
		assert_int_equal(after[i] - before[i], i == PW_C_DNS_HELD ? 1 : 0);
	assert_true(perf_buffer__consume(pb) >= 0);
	perf_buffer__free(pb);
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	assert_int_equal(F.n_ev, 0);

	assert_int_equal(cap.n, 1);
	assert_true(cap.size >= sizeof(cap.meta) + len);
	assert_int_equal(cap.meta.pkt_len, len);
	assert_int_equal(cap.meta.ifindex, F.ifindex[DEV_POD]);
	assert_int_equal(cap.meta.ep_id, EP_ID);
	assert_int_equal(cap.meta.family, PW_FAMILY_V4);
	assert_int_equal(ntohs(cap.meta.pod_port), DNS_SPORT);
	assert_int_equal(ntohs(cap.meta.dns_id), DNS_ID);
	assert_memory_equal(&cap.meta.resolver, &res, sizeof(res));
	assert_true(cap.meta.ts_ns >= F.t_step && cap.meta.ts_ns <= bpft_now_ns());
	assert_memory_equal(cap.frame, frame, len);
	chk_no_pend();
}

/*
 * A TCP answer after the pod's query on a followed connection, with the agent
 * listening: held (DNS_HELD, dropped, no event) with a meta saying TCP, and
 * what the agent does with the sample (lib/core: frame, message, addresses,
 * checksum) learns the answer's address.
 */
static void test_dns_tcp_held(void **state)
{
	static const struct step syn = {PKT(TSYN), DNSOK()};
	static const struct step query = {PKT(TQ("api.example.com")), DNSOK()};
	static const struct pkt answer = TA();
	struct cap cap = {0};
	struct perf_buffer *pb;
	__u8 frame[1024];
	size_t len = build_frame(&answer, frame), plen, l4_off;
	__u64 before[PW_C_MAX], after[PW_C_MAX];
	union pw_ip res = ip_of(RES4), want = ip_of("192.0.2.80");
	struct pw_dns_answer ans;
	const __u8 *payload;
	const char *why = NULL;
	int verdict;

	pb = perf_buffer__new(mfd(F.skel->maps.pw_dns_cap), 8, on_sample, NULL, &cap, NULL);
	assert_non_null(pb);
	run_step(&syn, 0);
	run_step(&query, 1);

	events_drain();
	counters_read(before);
	F.t_step = bpft_now_ns();
	verdict = run_frame(INGRESS, DEV_POD, 0, frame, len);
	counters_read(after);
	assert_int_equal(verdict, TC_ACT_SHOT);
	for (int i = 0; i < PW_C_MAX; i++)
		assert_int_equal(after[i] - before[i], i == PW_C_DNS_HELD ? 1 : 0);
	assert_true(perf_buffer__consume(pb) >= 0);
	perf_buffer__free(pb);
	events_drain();
	assert_int_equal(F.n_ev, 0);
	chk_no_pend();

	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.meta.pkt_len, len);
	assert_int_equal(cap.meta.ifindex, F.ifindex[DEV_POD]);
	assert_int_equal(cap.meta.ep_id, EP_ID);
	assert_int_equal(cap.meta.family, PW_FAMILY_V4);
	assert_int_equal(cap.meta.proto, IPPROTO_TCP);
	assert_int_equal(ntohs(cap.meta.pod_port), SPORT);
	assert_int_equal(ntohs(cap.meta.dns_id), DNS_ID);
	assert_memory_equal(&cap.meta.resolver, &res, sizeof(res));
	assert_memory_equal(cap.frame, frame, len);

	/* the agent's half, on what it was handed */
	if (pw_dns_frame_payload(cap.frame, cap.meta.pkt_len, &cap.meta, &payload, &plen, &l4_off,
				 &why) ||
	    pw_dns_parse_answer(payload, plen, cap.meta.dns_id, &ans, &why))
		fail_msg("the agent refuses the held TCP answer: %s", why ? why : "?");
	assert_int_equal(l4_off, ETH_HLEN + sizeof(struct iphdr));
	assert_string_equal(ans.qname, "api.example.com");
	assert_int_equal(ans.n_addrs, 1);
	assert_int_equal(ans.addrs[0].family, PW_FAMILY_V4);
	assert_memory_equal(&ans.addrs[0].addr, &want, sizeof(want));
	assert_int_equal(pw_dns_fix_l4_checksum(cap.frame, cap.meta.pkt_len, l4_off), 0);
}

struct caps {
	int n;
	struct {
		struct pw_dns_meta meta;
		__u8 frame[1024];
	} s[4];
};

static void on_sample_n(void *ctx, int cpu, void *data, __u32 size)
{
	struct caps *c = ctx;

	if (c->n < 4 && size >= sizeof(c->s[0].meta)) {
		memcpy(&c->s[c->n].meta, data, sizeof(c->s[0].meta));
		memcpy(c->s[c->n].frame, (__u8 *)data + sizeof(c->s[0].meta),
		       size - sizeof(c->s[0].meta) < sizeof(c->s[0].frame)
			       ? size - sizeof(c->s[0].meta)
			       : sizeof(c->s[0].frame));
	}
	c->n++;
}

/* Run frame on pod_ingress; the verdict, and the counters it moved in d. */
static int ingress_counted(const __u8 *frame, size_t len, __u64 d[PW_C_MAX])
{
	__u64 before[PW_C_MAX];
	int verdict;

	counters_read(before);
	verdict = run_frame(INGRESS, DEV_POD, 0, frame, len);
	counters_read(d);
	for (int i = 0; i < PW_C_MAX; i++)
		d[i] -= before[i];
	return verdict;
}

static void only_counter(const __u64 d[PW_C_MAX], int want)
{
	for (int i = 0; i < PW_C_MAX; i++)
		if (d[i] != (i == want ? 1u : 0u))
			fail_msg("counter %s moved by %llu", ctr_name(i), (unsigned long long)d[i]);
}

/*
 * An answer over two segments on a stream followed from its SYN-ACK, with the
 * agent listening: the first passes with a copy (DNS_TCP_COPIED), the second,
 * which completes the message, is held (DNS_HELD, dropped); both metas carry
 * the message's length and first sequence number, and lib/core/dnstcp puts
 * the message back together from the two samples, held one first. A
 * retransmission of the first passes (DNS_UNMATCHED), nothing copied.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static void test_dns_tcp_segments(void **state)
{
	static const struct step syn = {PKT(TSYN), DNSOK()};
	static const struct step synack = {.prog = INGRESS, PKT(TSYNACK), PASS()};
	static const struct step query = {PKT(TQ("api.example.com")), DNSOK()};
	static const struct pkt first = TA(.tcp_seq = 5000, .tcp_len_adj = 40);
	struct pkt rest =
		TCP4(NULL, SPORT, .src = RES4, .sport = 53, .tcp_flags = TF_ACK, .payload = 40);
	__u8 f1[1024], f2[1024], *msg = NULL;
	size_t len1 = build_frame(&first, f1), len2, m, n;
	struct caps cap = {0};
	struct perf_buffer *pb;
	struct pw_dnstcp *r;
	struct pw_dnstcp_held held;
	__u64 d[PW_C_MAX];
	const char *why = NULL;

	m = len1 - ETH_HLEN - sizeof(struct iphdr) - sizeof(struct tcphdr) - 2;
	rest.tcp_seq = 5000 + 2 + m;
	len2 = build_frame(&rest, f2);
	pb = perf_buffer__new(mfd(F.skel->maps.pw_dns_cap), 8, on_sample_n, NULL, &cap, NULL);
	assert_non_null(pb);
	run_step(&syn, 0);
	run_step(&synack, 1);
	run_step(&query, 2);
	events_drain();
	assert_int_equal(ingress_counted(f1, len1, d), TC_ACT_UNSPEC);
	only_counter(d, PW_C_DNS_TCP_COPIED);
	chk_no_pend();
	assert_int_equal(ingress_counted(f2, len2, d), TC_ACT_SHOT);
	only_counter(d, PW_C_DNS_HELD);
	assert_int_equal(ingress_counted(f1, len1, d), TC_ACT_UNSPEC);
	only_counter(d, PW_C_DNS_UNMATCHED);
	assert_true(perf_buffer__consume(pb) >= 0);
	perf_buffer__free(pb);
	events_drain();
	assert_int_equal(F.n_ev, 0);

	assert_int_equal(cap.n, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(cap.s[i].meta.proto, IPPROTO_TCP);
		assert_int_equal(cap.s[i].meta.tcp_msg_len, m + 40);
		assert_int_equal(cap.s[i].meta.tcp_msg_seq, 5000);
		assert_int_equal(ntohs(cap.s[i].meta.dns_id), DNS_ID);
		assert_int_equal(ntohs(cap.s[i].meta.pod_port), SPORT);
	}
	assert_int_equal(cap.s[0].meta.pkt_len, len1);
	assert_int_equal(cap.s[1].meta.pkt_len, len2);
	assert_memory_equal(cap.s[0].frame, f1, len1);
	assert_memory_equal(cap.s[1].frame, f2, len2);

	/* the agent's half: the held one first, then the copy completes it */
	r = pw_dnstcp_new(4, 1 << 20, 1000000000ULL);
	assert_non_null(r);
	assert_int_equal(
		pw_dnstcp_add(r, &cap.s[1].meta, cap.s[1].frame, len2, 1, &msg, &n, &held, &why),
		PW_DT_KEPT);
	assert_int_equal(
		pw_dnstcp_add(r, &cap.s[0].meta, cap.s[0].frame, len1, 1, &msg, &n, &held, &why),
		PW_DT_DONE);
	assert_int_equal(n, m + 40);
	assert_memory_equal(msg, f1 + len1 - m, m);
	assert_non_null(held.frame);
	assert_memory_equal(held.frame, f2, len2);
	free(msg);
	pw_dnstcp_held_free(&held);
	pw_dnstcp_free(r);
}
#pragma GCC diagnostic pop

/* A burst of N+5 denies with events_burst = N produces N events and five
 * suppressions; the next event after a refill reports the five. */
static void test_event_rate_limit(void **state)
{
	enum { N = 4 };
	static const struct step deny = {PKT(TCP4("203.0.113.200", 443)), SHOT(PW_R_NO_RULE)};
	struct pw_config c = cfg_get();
	__u64 before[PW_C_MAX], after[PW_C_MAX];
	struct pw_ep_rl rl;
	__u32 id = EP_ID;
	int events = 0;

	c.events_per_sec = 1;
	c.events_burst = N;
	cfg_put(&c);

	events_drain();
	counters_read(before);
	F.t_step = bpft_now_ns();
	for (int i = 0; i < N + 5; i++)
		assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &deny.pkt), TC_ACT_SHOT);
	counters_read(after);
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	events = F.n_ev;
	if (bpft_verbose)
		print_message("    %d denies -> %d events, EVENT_SUPPRESSED +%llu\n", N + 5, events,
			      (unsigned long long)(after[PW_C_EVENT_SUPPRESSED] -
						   before[PW_C_EVENT_SUPPRESSED]));
	assert_int_equal(events, N);
	for (int i = 0; i < N; i++) {
		check_event(&deny, &F.ev[i]);
		assert_int_equal(F.ev[i].suppressed, 0);
	}
	assert_int_equal(after[PW_C_EVENT_SUPPRESSED] - before[PW_C_EVENT_SUPPRESSED], 5);
	assert_int_equal(after[PW_C_DROP + PW_R_NO_RULE] - before[PW_C_DROP + PW_R_NO_RULE], N + 5);
	assert_int_equal(after[PW_C_EVENT_LOST] - before[PW_C_EVENT_LOST], 0);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_ep_rl), &id, &rl), 0);
	assert_int_equal(rl.suppressed, 5);

	/* Refill: a high rate fills the bucket on the next packet. */
	c.events_per_sec = 1000000000;
	cfg_put(&c);
	F.t_step = bpft_now_ns();
	assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &deny.pkt), TC_ACT_SHOT);
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	assert_int_equal(F.n_ev, 1);
	check_event(&deny, &F.ev[0]);
	assert_int_equal(F.ev[0].suppressed, 5);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_ep_rl), &id, &rl), 0);
	assert_int_equal(rl.suppressed, 0);
}

/* 1 if the ring's epoll fd is readable within ms: a wake-up was sent, or
 * (level-triggered) one came before and the ring still holds data. */
static int ring_woken(struct ring_buffer *rb, int ms)
{
	struct epoll_event ev;

	return epoll_wait(ring_buffer__epoll_fd(rb), &ev, 1, ms) > 0;
}

/* Events wake the agent only once pw_events is filling (podwall.bpf.c
 * EVENTS_WAKE, PW_EVENTS_BYTES / 8 unread bytes): the agent reads the ring
 * on a timer; a wake-up is an irq_work (an IPI on a VM) on the packet's path. */
static void test_events_wake(void **state)
{
	static const struct step deny = {PKT(TCP4("203.0.113.200", 443)), SHOT(PW_R_NO_RULE)};
	const int wake_at = (PW_EVENTS_BYTES / 8) / (sizeof(struct pw_event) + 8);
	struct pw_config c = cfg_get();
	int i;

	c.events_per_sec = 1000000000;
	c.events_burst = 100000;
	cfg_put(&c);
	events_drain();
	ring_woken(F.rb, 0); /* a readiness left from before, dropped on the empty ring */
	F.t_step = bpft_now_ns();
	assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &deny.pkt), TC_ACT_SHOT);
	assert_false(ring_woken(F.rb, 100)); /* one event: no wake-up */
	for (i = 1; i < 2 * wake_at && !ring_woken(F.rb, 0); i++)
		assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &deny.pkt), TC_ACT_SHOT);
	if (bpft_verbose)
		print_message("    woken after %d events (%d expected)\n", i, wake_at);
	assert_true(i >= wake_at - 1);
	assert_true(ring_woken(F.rb, 200));
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	assert_true(F.n_ev >= wake_at - 1);
	assert_false(ring_woken(F.rb, 0)); /* read: nothing pending */
}

/* The budget of held answers is per endpoint: with 1 a second and a burst of
 * 1, the pod's second answer is dropped (dns-budget) before it reaches the
 * perf buffer, and another pod's answer is still handed on (here, with no
 * reader, that is a DNS_CAPTURE drop: it got past the budget). */
static void test_dns_hold_budget(void **state)
{
	static const struct step q = {PKT(DNSQ4(RES4)), DNSOK()};
	static const struct step a = {.prog = INGRESS, PKT(DNSA4(RES4)), SHOT(PW_R_DNS_CAPTURE)};
	static const struct step over = {.prog = INGRESS, PKT(DNSA4(RES4)), SHOT(PW_R_DNS_BUDGET)};
	struct pw_config c = cfg_get();
	struct pw_endpoint ep = ep_get();
	struct pw_ep_dns ed = {0};
	__u64 before[PW_C_MAX], after[PW_C_MAX];
	__u32 k = F.ifindex[DEV_OTHER], id = EP_ID + 1;

	c.dns_hold_per_sec = 1;
	c.dns_hold_burst = 1;
	cfg_put(&c);
	run_step(&q, 0);
	run_step(&a, 1);
	run_step(&q, 2);
	run_step(&over, 3);

	/* Another pod, on the other veth: its own budget. */
	ep.ep_id = id;
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_endpoints), &k, &ep, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_ep_dns), &id, &ed, BPF_ANY), 0);
	{
		struct name_ent n = {PW_NK_EXACT, "example.com"};
		struct pw_name_key nk = {
			.ep_id = id, .kind = PW_NK_EXACT, .hash = pw_fqdn_hash(n.text)};
		struct pw_name_val nv = {.flags = PW_NAME_F_CONNECT, .len = 11};

		memcpy(nv.text, n.text, 11);
		assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_names), &nk, &nv, BPF_ANY),
				 0);
	}
	counters_read(before);
	assert_int_equal(run_pkt(EGRESS, DEV_OTHER, 0, &q.pkt), TC_ACT_UNSPEC);
	assert_int_equal(run_pkt(INGRESS, DEV_OTHER, 0, &a.pkt), TC_ACT_SHOT);
	counters_read(after);
	assert_int_equal(after[PW_C_DROP + PW_R_DNS_CAPTURE] - before[PW_C_DROP + PW_R_DNS_CAPTURE],
			 1);
	assert_int_equal(after[PW_C_DROP + PW_R_DNS_BUDGET] - before[PW_C_DROP + PW_R_DNS_BUDGET],
			 0);
	events_drain();
}

/* pod_egress: a UDP query of the pod recorded for its answer (DNS_SPORT, DNS_ID). */
static int pend4_recorded(void)
{
	struct pw_dns_pend_key k;
	struct pw_dns_pend_val v;

	memset(&k, 0, sizeof(k));
	k.ep_id = EP_ID;
	k.family = 4;
	k.pod_port = htons(DNS_SPORT);
	k.dns_id = htons(DNS_ID);
	k.resolver = ip_of(RES4);
	return bpf_map_lookup_elem(mfd(F.skel->maps.pw_dns_pend), &k, &v) == 0;
}

static void pend4_forget(void)
{
	struct pw_dns_pend_key k;

	memset(&k, 0, sizeof(k));
	k.ep_id = EP_ID;
	k.family = 4;
	k.pod_port = htons(DNS_SPORT);
	k.dns_id = htons(DNS_ID);
	k.resolver = ip_of(RES4);
	bpf_map_delete_elem(mfd(F.skel->maps.pw_dns_pend), &k);
}

static void chk_not_recorded(void)
{
	assert_false(pend4_recorded());
}

static void chk_recorded(void)
{
	assert_true(pend4_recorded());
}

/* The budget of queries sent on to the resolvers, per endpoint: at 1 a second
 * and a burst of 2, refused names take none of it; two granted queries pass,
 * the third is dropped (dns-budget, an event with its name,
 * dns_query_budget), not recorded; another pod's query still passes; a refill
 * brings them back. Over TCP the dropped segment does not move the stream (the
 * next one is a gap; its retransmission passes once refilled). Audit: an
 * over-budget query passes, counted audited (no event), and is recorded.
 * Rate 0: no limit. */
static void test_dns_query_budget(void **state)
{
	static const struct step refused = {PKT(DNSQ4(RES4, .qname = "exfil.test")), REFUSED(NULL)};
	static const struct step q = {PKT(DNSQ4(RES4, .qname = "api.example.com")), DNSOK(),
				      .check = chk_recorded};
	static const struct step over = {PKT(DNSQ4(RES4, .qname = "api.example.com")),
					 SHOT(PW_R_DNS_BUDGET, CT(PW_C_DNS_QUERY_BUDGET)),
					 .before = pend4_forget, .check = chk_not_recorded};
	static const struct step over_audit = {
		PKT(DNSQ4(RES4, .qname = "api.example.com")), .verdict = V_OK,
		.ctr = {AUDITED(PW_R_DNS_BUDGET), CT(PW_C_DNS_QUERY_BUDGET),
			CT(PW_C_PASS_DNS_QUERY)},
		/* counted, no event */
		.before = pend4_forget, .check = chk_recorded};
	static const struct step tsyn = {PKT(TSYN), DNSOK()};
	static const struct step tq = {PKT(TQ("api.example.com")), DNSOK()};
	/* the next message (api.example.com: 33 bytes after its length) */
	static const struct step tq2 = {PKT(TQ("api.github.com", .tcp_seq = 1000 + 2 + 33)),
					DNSOK()};
	static const struct step tq2_over = {PKT(TQ("api.github.com", .tcp_seq = 1000 + 2 + 33)),
					     SHOT(PW_R_DNS_BUDGET, CT(PW_C_DNS_QUERY_BUDGET))};
	/* the one after it (api.github.com: 32 bytes): a gap while tq2 is not through */
	static const struct step tq3_gap = {
		PKT(TQ("api.example.com", .tcp_seq = 1000 + 2 + 33 + 2 + 32)),
		SHOT(PW_R_DNS_INVALID)};
	struct pw_config c = cfg_get();
	struct pw_endpoint ep = ep_get();
	struct pw_ep_dns ed = {0};
	__u32 k = F.ifindex[DEV_OTHER], id = EP_ID + 1, me = EP_ID;
	struct pw_name_key nk = {.ep_id = id, .kind = PW_NK_EXACT};
	struct pw_name_val nv = {.flags = PW_NAME_F_CONNECT, .len = 15};
	struct pw_ep_budget b;

	c.dns_query_per_sec = 1;
	c.dns_query_burst = 2;
	cfg_put(&c);
	for (int i = 0; i < 3; i++)
		run_step(&refused, i);
	run_step(&q, 3);
	run_step(&q, 4);
	run_step(&over, 5);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_ep_query), &me, &b), 0);
	assert_true(b.tokens_milli < 1000);

	/* Another pod, on the other veth: its own budget. */
	ep.ep_id = id;
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_endpoints), &k, &ep, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_ep_dns), &id, &ed, BPF_ANY), 0);
	nk.hash = pw_fqdn_hash("api.example.com");
	memcpy(nv.text, "api.example.com", 15);
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_names), &nk, &nv, BPF_ANY), 0);
	assert_int_equal(run_pkt(EGRESS, DEV_OTHER, 0, &q.pkt), TC_ACT_UNSPEC);
	run_step(&over, 6);

	/* A refill (65535 a second: tokens again within microseconds). */
	c.dns_query_per_sec = 65535;
	cfg_put(&c);
	run_step(&q, 7);

	/* TCP: one token for the first message, none for the second. */
	c.dns_query_per_sec = 1;
	c.dns_query_burst = 1;
	cfg_put(&c);
	bpf_map_delete_elem(mfd(F.skel->maps.pw_ep_query), &me);
	run_step(&tsyn, 8);
	run_step(&tq, 9);
	run_step(&tq2_over, 10);
	c.dns_query_per_sec = 65535;
	cfg_put(&c);
	run_step(&tq3_gap, 11);
	run_step(&tq2, 12);

	/* Audit mode: over budget, the query goes on and is recorded. */
	c.dns_query_per_sec = 1;
	cfg_put(&c);
	bpf_map_delete_elem(mfd(F.skel->maps.pw_ep_query), &me);
	ep = ep_get();
	ep.mode = PW_MODE_AUDIT;
	ep_put(&ep);
	run_step(&q, 13);
	run_step(&over_audit, 14);

	/* Rate 0: no limit, no bucket taken. */
	c.dns_query_per_sec = 0;
	cfg_put(&c);
	ep.mode = PW_MODE_ENFORCE;
	ep_put(&ep);
	for (int i = 0; i < 4; i++)
		run_step(&q, 15 + i);
	events_drain();
}

/* visibility: a burst of N+3 new allowed flows with events_burst = N gives N
 * allow events and 3 suppressions, from the allowed bucket (pw_ep_rl_allow):
 * the denials' bucket is untouched, and a deny right after still has its event. */
static void test_allow_rate_limit(void **state)
{
	enum { N = 3 };
	static const struct step deny = {PKT(TCP4("203.0.113.200", 443)), SHOT(PW_R_NO_RULE)};
	struct step allow = {PKT(TCP4("192.0.2.10", 443)), PASS(CT(PW_C_PASS_CIDR)),
			     .ev = EV_ALLOW};
	struct pw_endpoint ep = ep_get();
	struct pw_config c = cfg_get();
	__u64 before[PW_C_MAX], after[PW_C_MAX];
	struct pw_ep_rl rl;
	__u32 id = EP_ID;

	ep.flags |= PW_EP_VIS_ALLOWED;
	ep_put(&ep);
	c.events_per_sec = 1;
	c.events_burst = N;
	cfg_put(&c);

	events_drain();
	counters_read(before);
	F.t_step = bpft_now_ns();
	for (int i = 0; i < N + 3; i++) {
		allow.pkt.sport = 41000 + i; /* each a new flow */
		assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &allow.pkt), TC_ACT_UNSPEC);
	}
	counters_read(after);
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	assert_int_equal(F.n_ev, N);
	for (int i = 0; i < N; i++) {
		allow.pkt.sport = 41000 + i;
		check_event(&allow, &F.ev[i]);
		assert_int_equal(F.ev[i].suppressed, 0);
	}
	assert_int_equal(after[PW_C_EVENT_SUPPRESSED] - before[PW_C_EVENT_SUPPRESSED], 3);
	assert_int_equal(after[PW_C_PASS_CIDR] - before[PW_C_PASS_CIDR], N + 3);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_ep_rl_allow), &id, &rl), 0);
	assert_int_equal(rl.suppressed, 3);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_ep_rl), &id, &rl), -ENOENT);

	/* the denials' own bucket is full */
	run_step(&deny, 0);
	/* the allowed bucket, refilled, reports the three it suppressed */
	c.events_per_sec = 1000000000;
	cfg_put(&c);
	allow.pkt.sport = 42000;
	F.t_step = bpft_now_ns();
	assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &allow.pkt), TC_ACT_UNSPEC);
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	assert_int_equal(F.n_ev, 1);
	check_event(&allow, &F.ev[0]);
	assert_int_equal(F.ev[0].suppressed, 3);
}

/* events_per_sec = 0 means no events: every deny is counted as suppressed. */
static void test_events_off(void **state)
{
	static const struct step deny = {
		PKT(TCP4("203.0.113.200", 443)), .verdict = V_SHOT,
		.ctr = {DROPPED(PW_R_NO_RULE), CT(PW_C_EVENT_SUPPRESSED)}, /* no .ev: none */
	};
	struct pw_config c = cfg_get();

	c.events_per_sec = 0;
	cfg_put(&c);
	run_step(&deny, 0);
}

/* The maps of a test object are never pinned, least of all in PW_PIN_DIR. */
/* The reject budget is per endpoint: with a burst of N and 1 a second, N+4
 * denied SYNs get N RSTs and 4 silent drops (rejects_limited); another pod
 * still gets its RST; a refill brings them back; reject_per_sec 0: none. */
static void test_reject_rate_limit(void **state)
{
	enum { N = 3 };
	static const struct pkt syn = TCP4("203.0.113.200", 443);
	struct pw_config c = cfg_get();
	struct pw_endpoint other = ep_get();
	__u64 before[PW_C_MAX], after[PW_C_MAX];
	__u32 ifx = F.ifindex[DEV_OTHER];
	int sent = 0;

	c.reject_per_sec = 1;
	c.reject_burst = N;
	cfg_put(&c);
	counters_read(before);
	for (int i = 0; i < N + 4; i++) {
		int v = run_pkt(EGRESS, DEV_POD, 0, &syn);

		assert_true(v == TC_ACT_REDIRECT || v == TC_ACT_SHOT);
		if (v == TC_ACT_REDIRECT) {
			chk_rst();
			sent++;
		}
	}
	counters_read(after);
	assert_int_equal(sent, N);
	/* The event says which were answered: N rejects, then 4 plain drops. */
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	assert_int_equal(F.n_ev, N + 4);
	for (int i = 0; i < N + 4; i++) {
		assert_int_equal(F.ev[i].reason, PW_R_NO_RULE);
		assert_int_equal(F.ev[i].verdict, i < N ? PW_VERDICT_REJECT : PW_VERDICT_DROP);
	}
	assert_int_equal(after[PW_C_REJECT_SENT] - before[PW_C_REJECT_SENT], N);
	assert_int_equal(after[PW_C_REJECT_LIMITED] - before[PW_C_REJECT_LIMITED], 4);
	assert_int_equal(after[PW_C_DROP + PW_R_NO_RULE] - before[PW_C_DROP + PW_R_NO_RULE], N + 4);

	/* Another endpoint (the other veth) has a budget of its own. */
	other.ep_id = EP_ID + 1;
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_endpoints), &ifx, &other, BPF_ANY),
			 0);
	assert_int_equal(run_pkt(EGRESS, DEV_OTHER, 0, &syn), TC_ACT_REDIRECT);
	chk_rst();
	assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &syn), TC_ACT_SHOT);

	/* Refill: a high rate fills the bucket on the next packet. */
	c.reject_per_sec = 65535;
	cfg_put(&c);
	usleep(2000);
	assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &syn), TC_ACT_REDIRECT);
	chk_rst();

	/* reject_per_sec 0: no rejects at all. */
	c.reject_per_sec = 0;
	cfg_put(&c);
	counters_read(before);
	assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &syn), TC_ACT_SHOT);
	counters_read(after);
	assert_int_equal(after[PW_C_REJECT_LIMITED] - before[PW_C_REJECT_LIMITED], 1);
	assert_int_equal(after[PW_C_REJECT_SENT] - before[PW_C_REJECT_SENT], 0);
	events_drain();
}

/* A refused name's event carries the name (struct pw_event_named), from
 * the deny events' bucket: a burst of N+3 refused queries with events_burst
 * = N gives N named events and 3 suppressions, a plain deny after them is
 * suppressed too (one bucket), and the next one after a refill reports the 4. */
static void test_named_rate_limit(void **state)
{
	enum { N = 3 };
	static const struct step refused = {PKT(DNSQ4(RES4, .qname = "Secret.Exfil.Test")),
					    REFUSED(NULL)};
	static const struct step deny = {PKT(TCP4("203.0.113.200", 443)), SHOT(PW_R_NO_RULE)};
	struct pw_config c = cfg_get();
	__u64 before[PW_C_MAX], after[PW_C_MAX];

	c.events_per_sec = 1;
	c.events_burst = N;
	cfg_put(&c);
	events_drain();
	counters_read(before);
	F.t_step = bpft_now_ns();
	for (int i = 0; i < N + 3; i++)
		assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &refused.pkt), TC_ACT_REDIRECT);
	assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &deny.pkt), TC_ACT_SHOT);
	counters_read(after);
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	assert_int_equal(F.n_ev, N);
	for (int i = 0; i < N; i++) {
		check_event(&refused, &F.ev[i]);
		assert_string_equal(F.ev_named[i].name, "secret.exfil.test");
		assert_int_equal(F.ev[i].suppressed, 0);
	}
	assert_int_equal(after[PW_C_EVENT_SUPPRESSED] - before[PW_C_EVENT_SUPPRESSED], 4);
	assert_int_equal(after[PW_C_DROP + PW_R_DNS_NAME] - before[PW_C_DROP + PW_R_DNS_NAME],
			 N + 3);

	c.events_per_sec = 1000000000;
	cfg_put(&c);
	F.t_step = bpft_now_ns();
	assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &refused.pkt), TC_ACT_REDIRECT);
	F.n_ev = 0;
	assert_true(ring_buffer__consume(F.rb) >= 0);
	assert_int_equal(F.n_ev, 1);
	check_event(&refused, &F.ev[0]);
	assert_int_equal(F.ev[0].suppressed, 4);
}

static void test_no_pinning(void **state)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, F.skel->obj)
	{
		assert_false(bpf_map__is_pinned(m));
		assert_null(bpf_map__pin_path(m));
	}
	assert_int_equal(access(F.pin_root, F_OK), -1);
}

static const struct row custom_row = {"custom", &STD};
static const struct row names_row = {"custom names", &NAMES};
static const struct row reject_row = {"custom reject", &STD, .reject = 1};

/* ---- main ---------------------------------------------------------------- */

/* ---- the kernel learner (bpf/learn.bpf.h) ---------------------------------- */

/* A DNS message, byte by byte. */
struct dnsb {
	__u8 b[1024];
	size_t n;
};

static void db_u8(struct dnsb *d, __u8 v)
{
	assert_true(d->n < sizeof(d->b));
	d->b[d->n++] = v;
}

static void db_u16(struct dnsb *d, __u16 v)
{
	db_u8(d, v >> 8);
	db_u8(d, v & 0xff);
}

static void db_u32(struct dnsb *d, __u32 v)
{
	db_u16(d, v >> 16);
	db_u16(d, v & 0xffff);
}

/* Dotted name to labels and the root; returns where it starts. With tail,
 * the name ends in a pointer to tail instead of the root. */
static __u16 db_name_to(struct dnsb *d, const char *name, int tail)
{
	__u16 at = d->n;

	for (const char *l = name; *l;) {
		const char *dot = strchr(l, '.');
		size_t len = dot ? (size_t)(dot - l) : strlen(l);

		db_u8(d, len);
		for (size_t i = 0; i < len; i++)
			db_u8(d, l[i]);
		l += len + (dot ? 1 : 0);
	}
	if (tail >= 0)
		db_u16(d, 0xc000 | tail);
	else
		db_u8(d, 0);
	return at;
}

static __u16 db_name(struct dnsb *d, const char *name)
{
	return db_name_to(d, name, -1);
}

static void db_ptr(struct dnsb *d, __u16 off)
{
	db_u16(d, 0xc000 | off);
}

/* Header (id DNS_ID, QR RD RA, RCODE 0 unless flags), the question at 12. */
static void db_start(struct dnsb *d, const char *q, __u16 qtype, __u16 an, __u16 ar, __u16 flags)
{
	d->n = 0;
	db_u16(d, DNS_ID);
	db_u16(d, flags ? flags : 0x8180);
	db_u16(d, 1);
	db_u16(d, an);
	db_u16(d, 0);
	db_u16(d, ar);
	assert_int_equal(db_name(d, q), 12);
	db_u16(d, qtype);
	db_u16(d, 1);
}

/* Type, class IN, TTL, RDLENGTH after an owner name. */
static void db_rr(struct dnsb *d, __u16 type, __u32 ttl, __u16 rdlen)
{
	db_u16(d, type);
	db_u16(d, 1);
	db_u32(d, ttl);
	db_u16(d, rdlen);
}

static void db_addr(struct dnsb *d, __u32 ttl, const char *ip)
{
	union pw_ip a = ip_of(ip);
	int n = fam_of(ip) == 4 ? 4 : 16;

	db_rr(d, n == 4 ? 1 : 28, ttl, n);
	for (int i = 0; i < n; i++)
		db_u8(d, a.v6[i]);
}

/* An EDNS OPT record (extended RCODE bits ext). */
static void db_opt(struct dnsb *d, __u8 ext)
{
	db_u8(d, 0);
	db_u16(d, 41);
	db_u16(d, 1232);
	db_u32(d, (__u32)ext << 24);
	db_u16(d, 0);
}

#define Q_A    1
#define Q_AAAA 28

/* The answer frame from the resolver of family fam to the pod's DNS_SPORT. */
static size_t answer_frame(int fam, const struct dnsb *d, __u8 *frame)
{
	struct pkt p = {.fam = fam,
			.src = fam == 4 ? RES4 : RES6,
			.proto = IPPROTO_UDP,
			.sport = 53,
			.dport = DNS_SPORT,
			.payload = d->n};
	size_t len = build_frame(&p, frame);

	memcpy(frame + len - d->n, d->b, d->n);
	return len;
}

enum { L_INLINE = 1, L_HELD, L_QUOTA, L_FULL, L_OFF, L_AWAY };

struct lcase {
	const char *name;
	const char *q; /* the question (and the query) */
	__u16 qtype;   /* 0: A */
	void (*build)(struct dnsb *d, const struct lcase *c);
	int expect;	      /* L_* */
	const char *addrs[4]; /* what is learned, in order (L_INLINE) */
	__u32 ttl_s;	      /* the record's TTL; 0: 60 */
	__u32 want_ttl_s;     /* the learned life; 0: ttl_s */
	__u32 portset;	      /* the learned portset; 0: P_HTTPS */
	void (*before)(void);
	__u8 hb_stale;
	__u8 v6; /* over IPv6 */
};

/* The name table of the learner's rows; the portsets as the agent writes
 * them: one id per union of ports of the rules with that exact pattern. */
#define P_HTTPS 1 /* TCP 443 */
#define P_HTTP	2 /* TCP 80 */
static const struct {
	__u8 kind;
	const char *text;
	__u8 flags;
	__u32 portset;
} learn_names[] = {
	{PW_NK_EXACT, "api.example.com", PW_NAME_F_CONNECT, P_HTTPS},
	{PW_NK_ONE, "github.com", PW_NAME_F_CONNECT, P_HTTPS},
	{PW_NK_EXACT, "api.github.com", PW_NAME_F_CONNECT, P_HTTP}, /* and *.github.com */
	{PW_NK_MANY, "s3.amazonaws.com", PW_NAME_F_CONNECT, P_HTTPS},
	{PW_NK_EXACT, "db.example.com", PW_NAME_F_CONNECT | PW_NAME_F_PRIVATE, P_HTTPS},
	{PW_NK_EXACT, "resolve.example.com", PW_NAME_F_RESOLVE, 0},
	{PW_NK_EXACT, "noports.example.com", PW_NAME_F_CONNECT, 0},
};

static const struct seed LEARN_SEED = {
	.rules = {STD_RULES},
	.resolvers = {RES4, RES6},
	.names = {{PW_NK_EXACT, "unused.example"}},
};
static const struct row learn_row = {"learn", &LEARN_SEED};

static void ep_dns_put(__u32 flags)
{
	struct pw_ep_dns ed = {.flags = flags};
	__u32 id = EP_ID;

	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_ep_dns), &id, &ed, BPF_ANY), 0);
}

static int learn_setup(void **state)
{
	static const struct range https[] = {R_TCP(443, 443), {0}}, http[] = {R_TCP(80, 80), {0}};
	struct pw_config c;

	(void)state;
	fx_reset();
	F.row = &learn_row;
	F.t_row = bpft_now_ns();
	seed(&learn_row);
	next_portset = 1;
	assert_int_equal(portset_put(https, 1), P_HTTPS);
	assert_int_equal(portset_put(http, 1), P_HTTP);
	for (size_t i = 0; i < sizeof(learn_names) / sizeof(learn_names[0]); i++) {
		struct pw_name_key k;
		struct pw_name_val v;

		bpft_name_entry(EP_ID, learn_names[i].kind, learn_names[i].text, NULL,
				learn_names[i].flags, &k, &v);
		v.portset = learn_names[i].portset;
		assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_names), &k, &v, BPF_ANY),
				 0);
	}
	ep_dns_put(PW_EPDNS_HAS_ONE | PW_EPDNS_HAS_MANY);
	c = cfg_get();
	c.flags |= PW_CFG_LEARN_INLINE;
	c.min_ttl_s = 5;
	c.max_ttl_s = 3600;
	c.max_addrs_per_name = 32;
	cfg_put(&c);
	return 0;
}

/* Answers: A (or AAAA) records of the question owned by a pointer to it. */
static void b_simple(struct dnsb *d, const struct lcase *c)
{
	int n = 0;

	while (n < 4 && c->addrs[n])
		n++;
	db_start(d, c->q, c->qtype ? c->qtype : Q_A, n, 0, 0);
	for (int i = 0; i < n; i++) {
		db_ptr(d, 12);
		db_addr(d, c->ttl_s ? c->ttl_s : 60, c->addrs[i]);
	}
}

/* www.github.com CNAME edge.cdn.test, edge.cdn.test CNAME e1.edge.cdn.test
 * (its tail a pointer back), A on e1, owners compressed, an EDNS record;
 * owner case differs from the question's. */
static void b_cname(struct dnsb *d, const struct lcase *c)
{
	__u16 edge, e1;

	db_start(d, c->q, Q_A, 3, 1, 0);
	db_ptr(d, 12);
	db_rr(d, 5, 300, 15);
	edge = db_name(d, "edge.cdn.test"); /* 15 bytes */
	db_ptr(d, edge);
	db_rr(d, 5, 300, 5);
	e1 = d->n;
	db_name_to(d, "e1", edge); /* 3 + 2 */
	db_ptr(d, e1);
	db_addr(d, 60, "203.0.113.20");
	db_opt(d, 0);
}

/* The chain's first owner in upper case, spelled out (no pointer). */
static void b_case(struct dnsb *d, const struct lcase *c)
{
	db_start(d, c->q, Q_A, 1, 0, 0);
	db_name(d, "WWW.GitHub.COM");
	db_addr(d, 60, "203.0.113.21");
}

/* The owner a pointer forward, to a copy of the name after the record. */
static void b_fwd(struct dnsb *d, const struct lcase *c)
{
	__u16 at;

	db_start(d, c->q, Q_A, 1, 0, 0);
	at = d->n;
	db_ptr(d, at + 16); /* past the record: 2 + 10 + 4 */
	db_addr(d, 60, "203.0.113.22");
	db_name(d, c->q);
}

/* The owner's pointer to itself: a loop. */
static void b_loop(struct dnsb *d, const struct lcase *c)
{
	__u16 at;

	db_start(d, c->q, Q_A, 1, 0, 0);
	at = d->n;
	db_u8(d, 1);
	db_u8(d, 'x');
	db_ptr(d, at);
	db_addr(d, 60, "203.0.113.23");
}

/* A chain of `links` CNAMEs, c1.cdn.test .. cN.cdn.test, then the A record. */
static void db_chain(struct dnsb *d, const struct lcase *c, int links, const char *addr)
{
	__u16 owner = 12;
	char t[16];

	db_start(d, c->q, Q_A, links + 1, 0, 0);
	for (int i = 1; i <= links; i++) {
		snprintf(t, sizeof(t), "c%d.cdn.test", i);
		db_ptr(d, owner);
		db_rr(d, 5, 300, strlen(t) + 2);
		owner = db_name(d, t);
	}
	db_ptr(d, owner);
	db_addr(d, 60, addr);
}

/* Five CNAME links: one more than the kernel follows. */
static void b_long(struct dnsb *d, const struct lcase *c)
{
	db_chain(d, c, 5, "203.0.113.24");
}

/* A chain of four links is followed. */
static void b_four(struct dnsb *d, const struct lcase *c)
{
	db_chain(d, c, 4, "203.0.113.25");
}

/* An A record owned by a name that is not on the chain. */
static void b_offchain(struct dnsb *d, const struct lcase *c)
{
	db_start(d, c->q, Q_A, 2, 0, 0);
	db_ptr(d, 12);
	db_addr(d, 60, "203.0.113.26");
	db_name(d, "evil.test");
	db_addr(d, 60, "203.0.113.27");
}

/* A CNAME loop: a -> b -> a. */
static void b_cname_loop(struct dnsb *d, const struct lcase *c)
{
	__u16 b;

	db_start(d, c->q, Q_A, 3, 0, 0);
	db_ptr(d, 12);
	db_rr(d, 5, 300, 12);
	b = db_name(d, "b.cdn.test");
	db_ptr(d, b);
	db_rr(d, 5, 300, 2);
	db_ptr(d, 12);
	db_ptr(d, 12);
	db_addr(d, 60, "203.0.113.28");
}

/* An extended RCODE in the OPT record (BADVERS). */
static void b_badvers(struct dnsb *d, const struct lcase *c)
{
	db_start(d, c->q, Q_A, 1, 1, 0);
	db_ptr(d, 12);
	db_addr(d, 60, "203.0.113.29");
	db_opt(d, 1);
}

/* TC set. */
static void b_tc(struct dnsb *d, const struct lcase *c)
{
	db_start(d, c->q, Q_A, 1, 0, 0x8380);
	db_ptr(d, 12);
	db_addr(d, 60, "203.0.113.30");
}

/* A loopback and a link-local address beside a public one, the public one twice. */
static void b_special(struct dnsb *d, const struct lcase *c)
{
	db_start(d, c->q, Q_A, 4, 0, 0);
	db_ptr(d, 12);
	db_addr(d, 60, "127.0.0.1");
	db_ptr(d, 12);
	db_addr(d, 30, "203.0.113.31");
	db_ptr(d, 12);
	db_addr(d, 60, "169.254.169.254");
	db_ptr(d, 12);
	db_addr(d, 90, "203.0.113.31");
}

/* Seventeen addresses: one more than a record holds. */
static void b_many(struct dnsb *d, const struct lcase *c)
{
	char ip[32];

	db_start(d, c->q, Q_A, 17, 0, 0);
	for (int i = 0; i < 17; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", 100 + i);
		db_ptr(d, 12);
		db_addr(d, 60, ip);
	}
}

/* An authority section of one record: NSCOUNT 1 in the header. */
static void db_ns_count(struct dnsb *d, __u16 ns)
{
	d->b[8] = ns >> 8;
	d->b[9] = ns & 0xff;
}

/* The answer, then in authority: example.com NS ns1.example.com, both
 * names compressed (the zone at 16, in the question). */
static void b_auth_ns(struct dnsb *d, const struct lcase *c)
{
	db_start(d, c->q, Q_A, 1, 0, 0);
	db_ns_count(d, 1);
	db_ptr(d, 12);
	db_addr(d, 60, "203.0.113.32");
	db_ptr(d, 16);
	db_rr(d, 2, 300, 6);
	db_name_to(d, "ns1", 16);
}

/* In additional: an MR record whose rdata is a pointer out of the message.
 * Its owner and rdlen are well formed; ldns decompresses the rdata name. */
static void b_ar_mr(struct dnsb *d, const struct lcase *c)
{
	db_start(d, c->q, Q_A, 1, 1, 0);
	db_ptr(d, 12);
	db_addr(d, 60, "203.0.113.33");
	db_ptr(d, 12);
	db_rr(d, 9, 300, 2);
	db_ptr(d, 0x3fff);
}

/* In additional: an NS record whose rdata name runs past its rdlen, to the
 * end of the message. */
static void b_ar_ns_short(struct dnsb *d, const struct lcase *c)
{
	db_start(d, c->q, Q_A, 1, 1, 0);
	db_ptr(d, 12);
	db_addr(d, 60, "203.0.113.34");
	db_ptr(d, 12);
	db_rr(d, 2, 300, 2);
	db_u8(d, 3);
	db_u8(d, 'n');
}

static void guard_put(const char *net, int plen, __u32 kind)
{
	struct pw_guard4_key k = {.prefixlen = plen};
	struct pw_guard_val v = {.kind = kind};

	memcpy(k.addr, ip_of(net).v6, 4);
	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_guard4), &k, &v, BPF_ANY), 0);
}

static void bf_guard(void)
{
	guard_put("10.0.0.0", 8, PW_G_PRIVATE);
}

static void bf_quota(void)
{
	struct pw_ep_flows q = {.added = 9, .gone = 4, .quota = 5};
	__u32 id = EP_ID;

	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_ep_learn), &id, &q, BPF_ANY), 0);
}

static void bf_other_ports(void)
{
	static const struct learned l = {"203.0.113.10", 600, {R_TCP(22, 22)}};

	learned_put(&l);
}

static void bf_two_max(void)
{
	struct pw_config c = cfg_get();

	c.max_addrs_per_name = 2;
	cfg_put(&c);
}

static void bf_hold_only(void)
{
	ep_dns_put(PW_EPDNS_HAS_ONE | PW_EPDNS_HAS_MANY | PW_EPDNS_HOLD_ONLY);
}

static void bf_inline_off(void)
{
	struct pw_config c = cfg_get();

	c.flags &= ~PW_CFG_LEARN_INLINE;
	cfg_put(&c);
}

static const struct lcase lcases[] = {
	{"learn: a simple A answer is learned inline and passed",
	 "api.example.com",
	 .build = b_simple,
	 L_INLINE,
	 {"203.0.113.10"}},
	{"learn: a simple AAAA answer over IPv6 is learned inline",
	 "api.example.com",
	 Q_AAAA,
	 b_simple,
	 L_INLINE,
	 {"2001:db8:400::10"},
	 .v6 = 1},
	{"learn: *.github.com, two addresses, TTL 1 -> --min-ttl",
	 "www.github.com",
	 .build = b_simple,
	 L_INLINE,
	 {"203.0.113.11", "203.0.113.12"},
	 .ttl_s = 1,
	 .want_ttl_s = 5},
	{"learn: **.s3.amazonaws.com, TTL over --max-ttl is clamped",
	 "x.y.s3.amazonaws.com",
	 .build = b_simple,
	 L_INLINE,
	 {"203.0.113.13"},
	 .ttl_s = 100000,
	 .want_ttl_s = 3600},
	{"learn: CNAME chain of two links, backward pointers, EDNS record",
	 "www.github.com",
	 .build = b_cname,
	 L_INLINE,
	 {"203.0.113.20"}},
	{"learn: a chain of four links is followed",
	 "www.github.com",
	 .build = b_four,
	 L_INLINE,
	 {"203.0.113.25"}},
	{"learn: owner names compared case-insensitively",
	 "www.github.com",
	 .build = b_case,
	 L_INLINE,
	 {"203.0.113.21"}},
	{"learn: never-learned addresses left out, a repeat merged (largest TTL)",
	 "api.example.com",
	 .build = b_special,
	 L_INLINE,
	 {"203.0.113.31"},
	 .want_ttl_s = 90},
	{"learn: --max-addrs-per-name 2 keeps the first two",
	 "api.example.com",
	 .build = b_simple,
	 L_INLINE,
	 {"203.0.113.40", "203.0.113.41", "203.0.113.42"},
	 .before = bf_two_max},
	{"learn: a guarded address with allowPrivate (PW_NAME_F_PRIVATE)",
	 "db.example.com",
	 .build = b_simple,
	 L_INLINE,
	 {"10.1.2.3"},
	 .before = bf_guard},
	{"learn: agent away: a simple answer is still learned inline",
	 "api.example.com",
	 .build = b_simple,
	 L_INLINE,
	 {"203.0.113.10"},
	 .hb_stale = 1},
	{"learn: an NS record in authority, names compressed",
	 "api.example.com",
	 .build = b_auth_ns,
	 L_INLINE,
	 {"203.0.113.32"}},
	{"held: a forward compression pointer", "api.example.com", .build = b_fwd, L_HELD},
	{"held: an MR record in additional, its rdata a pointer out of the message",
	 "api.example.com", .build = b_ar_mr, L_HELD},
	{"held: an NS record in additional, its name past its rdlen", "api.example.com",
	 .build = b_ar_ns_short, L_HELD},
	{"held: a compression pointer loop", "api.example.com", .build = b_loop, L_HELD},
	{"held: a CNAME chain of five links", "www.github.com", .build = b_long, L_HELD},
	{"held: a CNAME loop", "www.github.com", .build = b_cname_loop, L_HELD},
	{"held: an A record owned by a name off the chain", "api.example.com", .build = b_offchain,
	 L_HELD},
	{"held: an address in a rebinding guard range, no allowPrivate",
	 "api.example.com",
	 .build = b_simple,
	 L_HELD,
	 {"10.1.2.3"},
	 .before = bf_guard},
	{"held: two matching entries with different portsets (api.github.com, *.github.com)",
	 "api.github.com",
	 .build = b_simple,
	 L_HELD,
	 {"203.0.113.10"}},
	{"held: the address exists with another portset",
	 "api.example.com",
	 .build = b_simple,
	 L_HELD,
	 {"203.0.113.10"},
	 .before = bf_other_ports},
	{"held: a resolve-only name",
	 "resolve.example.com",
	 .build = b_simple,
	 L_HELD,
	 {"203.0.113.10"}},
	{"held: a name whose entry has no ports",
	 "noports.example.com",
	 .build = b_simple,
	 L_HELD,
	 {"203.0.113.10"}},
	{"held: 17 addresses, more than a record holds", "api.example.com", .build = b_many,
	 L_HELD},
	{"held: an extended RCODE in the OPT record", "api.example.com", .build = b_badvers,
	 L_HELD},
	{"held: TC set", "api.example.com", .build = b_tc, L_HELD},
	{"held: the pod at its cap of learned addresses (dns_learn_quota)",
	 "api.example.com",
	 .build = b_simple,
	 L_QUOTA,
	 {"203.0.113.10"},
	 .before = bf_quota},
	{"held: agent away, not simple: passes unheld as before", "api.example.com",
	 .build = b_offchain, L_AWAY, .hb_stale = 1},
	{"held: PW_EPDNS_HOLD_ONLY endpoint: held, not counted",
	 "api.example.com",
	 .build = b_simple,
	 L_OFF,
	 {"203.0.113.10"},
	 .before = bf_hold_only},
	{"held: learning inline switched off: held, not counted",
	 "api.example.com",
	 .build = b_simple,
	 L_OFF,
	 {"203.0.113.10"},
	 .before = bf_inline_off},
};
#define N_LCASES (sizeof(lcases) / sizeof(lcases[0]))

static void learn_query(const struct lcase *c, __u16 id)
{
	struct pkt q = c->v6 ? (struct pkt)DNSQ6(RES6, .qname = c->q, .qtype = c->qtype)
			     : (struct pkt)DNSQ4(RES4, .qname = c->q, .qtype = c->qtype);

	q.dns_id = id;
	assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &q), TC_ACT_UNSPEC);
}

/* Run the answer; the counters that rose must be exactly want[] (0-ended). */
static int learn_answer(const struct lcase *c, const struct dnsb *d, const int *want)
{
	__u64 before[PW_C_MAX], after[PW_C_MAX];
	__u8 frame[2048];
	size_t len = answer_frame(c->v6 ? 6 : 4, d, frame);
	int verdict, w[PW_C_MAX] = {0};

	for (int i = 0; want[i]; i++)
		w[want[i] - 1]++;
	counters_read(before);
	F.t_step = bpft_now_ns();
	verdict = run_frame(INGRESS, DEV_POD, 0, frame, len);
	counters_read(after);
	for (int i = 0; i < PW_C_MAX; i++)
		if (after[i] - before[i] != (__u64)w[i])
			fail_msg("counter %s rose by %llu, expected %d", ctr_name(i),
				 (unsigned long long)(after[i] - before[i]), w[i]);
	F.n_lrec = 0;
	assert_true(ring_buffer__consume(F.lrb) >= 0);
	events_drain();
	return verdict;
}

static long learned_count(void)
{
	struct pw_learned_key k, next;
	long n = 0;
	int err = bpf_map_get_next_key(mfd(F.skel->maps.pw_learned), NULL, &next);

	while (!err) {
		n++;
		k = next;
		err = bpf_map_get_next_key(mfd(F.skel->maps.pw_learned), &k, &next);
	}
	return n;
}

static void test_learn_case(void **state)
{
	const struct lcase *c = *state;
	__u32 ttl = c->want_ttl_s ? c->want_ttl_s : c->ttl_s ? c->ttl_s : 60;
	__u32 ps = c->portset ? c->portset : P_HTTPS;
	int want[4] = {0}, verdict, n = 0;
	long seeded;
	struct dnsb d;

	if (c->hb_stale) {
		struct pw_config cf = cfg_get();

		cf.heartbeat_ns = bpft_now_ns() - 60 * 1000000000ull;
		cfg_put(&cf);
	}
	if (c->before)
		c->before();
	seeded = learned_count();
	learn_query(c, DNS_ID);
	c->build(&d, c);
	switch (c->expect) {
	case L_INLINE:
		want[0] = CT(PW_C_DNS_INLINE);
		break;
	case L_HELD:
		want[0] = CT(PW_C_DNS_NOT_SIMPLE);
		want[1] = DROPPED(PW_R_DNS_CAPTURE);
		break;
	case L_QUOTA:
		want[0] = CT(PW_C_DNS_LEARN_QUOTA);
		want[1] = DROPPED(PW_R_DNS_CAPTURE);
		break;
	case L_OFF:
		want[0] = DROPPED(PW_R_DNS_CAPTURE);
		break;
	case L_AWAY:
		want[0] = CT(PW_C_DNS_NOT_SIMPLE);
		want[1] = CT(PW_C_DNS_AGENT_AWAY);
		break;
	}
	verdict = learn_answer(c, &d, want);
	if (c->expect != L_INLINE) {
		/* today's path: held (no reader here: a capture drop), or passed */
		assert_int_equal(verdict, c->expect == L_AWAY ? TC_ACT_UNSPEC : TC_ACT_SHOT);
		assert_int_equal(F.n_lrec, 0);
		assert_int_equal(learned_count(), seeded);
		return;
	}
	assert_int_equal(verdict, TC_ACT_UNSPEC);
	assert_int_equal(F.n_lrec, 1);
	while (n < 4 && c->addrs[n])
		n++;
	if (c->before == bf_two_max)
		n = 2;
	{
		const struct pw_learn_rec *r = &F.lrec[0];
		size_t ql = strlen(c->q);

		assert_int_equal(r->ep_id, EP_ID);
		assert_int_equal(r->ifindex, F.ifindex[DEV_POD]);
		assert_int_equal(r->portset, ps);
		assert_int_equal(ntohs(r->dns_id), DNS_ID);
		assert_int_equal(r->name_len, ql);
		assert_memory_equal(r->name, c->q, ql);
		assert_int_equal(r->name[ql], 0);
		assert_true(r->ts_ns >= F.t_step && r->ts_ns <= bpft_now_ns());
		assert_int_equal(r->n_addrs, n);
		assert_int_equal(learned_count(), n);
		for (int i = 0; i < n; i++) {
			struct pw_learned_key k = learned_key(c->addrs[i]);
			struct pw_learned_val v;
			union pw_ip a = ip_of(c->addrs[i]);

			assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_learned), &k, &v),
					 0);
			assert_int_equal(v.portset, ps);
			assert_true(v.expires_ns >= F.t_step + ttl * 1000000000ull);
			assert_true(v.expires_ns <= bpft_now_ns() + ttl * 1000000000ull);
			assert_int_equal(r->addrs[i].family, fam_of(c->addrs[i]));
			assert_memory_equal(&r->addrs[i].addr, &a, sizeof(a));
			assert_int_equal(r->addrs[i].expires_ns, v.expires_ns);
		}
	}
	/* The pod can connect at once: the entry grants its ports. */
	if (fam_of(c->addrs[0]) == 4) {
		struct pkt syn = TCP4(c->addrs[0], 443);

		assert_int_equal(run_pkt(EGRESS, DEV_POD, 0, &syn), TC_ACT_UNSPEC);
	}
}

static void test_learn_extend(void **state)
{
	const struct lcase *c = *state; /* api.example.com -> 203.0.113.10 */
	struct lcase c2 = *c;
	struct pw_learned_key k = learned_key("203.0.113.10");
	struct pw_learned_val v1, v2, v3;
	int want[] = {CT(PW_C_DNS_INLINE), 0};
	struct dnsb d;

	c2.ttl_s = 600;
	learn_query(c, DNS_ID);
	b_simple(&d, &c2);
	assert_int_equal(learn_answer(c, &d, want), TC_ACT_UNSPEC);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_learned), &k, &v1), 0);
	/* a shorter TTL later: the entry keeps its expiry, the record says so */
	c2.ttl_s = 60;
	learn_query(c, DNS_ID + 1);
	b_simple(&d, &c2);
	d.b[1] = (DNS_ID + 1) & 0xff;
	assert_int_equal(learn_answer(c, &d, want), TC_ACT_UNSPEC);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_learned), &k, &v2), 0);
	assert_int_equal(v2.expires_ns, v1.expires_ns);
	assert_int_equal(F.n_lrec, 1);
	assert_int_equal(F.lrec[0].addrs[0].expires_ns, v1.expires_ns);
	/* a longer one: it moves later */
	c2.ttl_s = 1200;
	learn_query(c, DNS_ID + 2);
	b_simple(&d, &c2);
	d.b[1] = (DNS_ID + 2) & 0xff;
	assert_int_equal(learn_answer(c, &d, want), TC_ACT_UNSPEC);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_learned), &k, &v3), 0);
	assert_true(v3.expires_ns >= v1.expires_ns + 590 * 1000000000ull);
	assert_int_equal(v3.portset, P_HTTPS);
	assert_int_equal(learned_count(), 1);
}

/* Fill pw_learn_log (PW_LEARN_LOG_BYTES / 800 records: ~650), nobody
 * reading it: the next simple answer is held, nothing new written. */
static void test_learn_log_full(void **state)
{
	const struct lcase *c = *state;
	int want_in[] = {CT(PW_C_DNS_INLINE), 0};
	int want_full[] = {CT(PW_C_LEARN_LOG_FULL), DROPPED(PW_R_DNS_CAPTURE), 0};
	struct lcase c2 = *c;
	__u8 frame[2048];
	struct dnsb d;
	/* learn.bpf.h LEARN_LOG_WAKE: records wake the reader from a quarter */
	const int wake_at = (PW_LEARN_LOG_BYTES / 4) / (sizeof(struct pw_learn_rec) + 8);
	const int fits = PW_LEARN_LOG_BYTES / (sizeof(struct pw_learn_rec) + 8);
	int i, woke = 0, verdict = TC_ACT_UNSPEC;

	ring_woken(F.lrb, 0); /* a readiness left from before, dropped on the empty ring */
	for (i = 0; i < 2000 && verdict == TC_ACT_UNSPEC; i++) {
		size_t len;

		learn_query(c, 0x4000 + i);
		b_simple(&d, c);
		d.b[0] = (0x4000 + i) >> 8;
		d.b[1] = (0x4000 + i) & 0xff;
		len = answer_frame(4, &d, frame);
		verdict = run_frame(INGRESS, DEV_POD, 0, frame, len);
		/* No wake-up for the first records: the agent reads on a timer. */
		if (!i)
			assert_false(ring_woken(F.lrb, 100));
		if (!woke && ring_woken(F.lrb, 0))
			woke = i + 1;
	}
	assert_int_equal(verdict, TC_ACT_SHOT); /* held: it was full */
	assert_true(i >= fits);			/* every record that fits was taken */
	if (bpft_verbose)
		print_message("    woken after %d records (%d expected)\n", woke, wake_at);
	assert_true(woke >= wake_at - 1 && woke < i);
	/* Still full: a new address is not written. */
	c2.addrs[0] = "203.0.113.99";
	learn_query(&c2, DNS_ID);
	b_simple(&d, &c2);
	{
		__u64 before[PW_C_MAX], after[PW_C_MAX];
		size_t len = answer_frame(4, &d, frame);

		counters_read(before);
		assert_int_equal(run_frame(INGRESS, DEV_POD, 0, frame, len), TC_ACT_SHOT);
		counters_read(after);
		for (int j = 0; j < PW_C_MAX; j++) {
			int w = 0;

			for (int x = 0; want_full[x]; x++)
				w += want_full[x] - 1 == j;
			assert_int_equal(after[j] - before[j], w);
		}
	}
	assert_int_equal(learned_count(), 1);
	/* Read, the log takes records again. */
	assert_true(ring_buffer__consume(F.lrb) >= fits);
	learn_query(&c2, DNS_ID);
	assert_int_equal(learn_answer(&c2, &d, want_in), TC_ACT_UNSPEC);
	assert_int_equal(learned_count(), 2);
}

static void test_learn_quota_count(void **state)
{
	const struct lcase *c = *state;
	struct pw_ep_flows q = {.added = 3, .gone = 1, .quota = 3}, got;
	int want_in[] = {CT(PW_C_DNS_INLINE), 0};
	int want_q[] = {CT(PW_C_DNS_LEARN_QUOTA), DROPPED(PW_R_DNS_CAPTURE), 0};
	struct lcase c2 = *c;
	__u32 id = EP_ID;
	struct dnsb d;

	assert_int_equal(bpf_map_update_elem(mfd(F.skel->maps.pw_ep_learn), &id, &q, BPF_ANY), 0);
	learn_query(c, DNS_ID);
	b_simple(&d, c);
	assert_int_equal(learn_answer(c, &d, want_in), TC_ACT_UNSPEC);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_ep_learn), &id, &got), 0);
	assert_int_equal(got.added, 4);
	/* the same address: extended, not counted, though at the cap */
	learn_query(c, DNS_ID);
	assert_int_equal(learn_answer(c, &d, want_in), TC_ACT_UNSPEC);
	assert_int_equal(bpf_map_lookup_elem(mfd(F.skel->maps.pw_ep_learn), &id, &got), 0);
	assert_int_equal(got.added, 4);
	/* a new one: over the cap */
	c2.addrs[0] = "203.0.113.98";
	learn_query(&c2, DNS_ID);
	b_simple(&d, &c2);
	assert_int_equal(learn_answer(&c2, &d, want_q), TC_ACT_SHOT);
	assert_int_equal(learned_count(), 1);
}

#define cannot_run(...) bpft_cannot_run("test_bpf", __VA_ARGS__)

int main(void)
{
	size_t nrows = sizeof(rows) / sizeof(rows[0]);
	struct CMUnitTest *tests;
	size_t n = 0;
	int err, ret;

	bpft_verbose = getenv("PW_TEST_VERBOSE") != NULL;
	libbpf_set_print(bpft_libbpf_print);
	snprintf(F.pin_root, sizeof(F.pin_root), "/sys/fs/bpf/pwtest-%d", (int)getpid());

	if (geteuid() != 0)
		return cannot_run("needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for unshare)");
	F.ifindex[DEV_LO] = 1;
	err = bpft_netns_veth("pwt0", "pwt1", &F.ifindex[DEV_POD], &F.ifindex[DEV_OTHER]);
	if (err)
		return cannot_run("cannot make a network namespace with a veth pair (%s); "
				  "is iproute2 installed and veth available?",
				  strerror(-err));
	F.ncpus = libbpf_num_possible_cpus();
	if (F.ncpus <= 0)
		return cannot_run("cannot count CPUs: %s", strerror(-F.ncpus));
	err = bpft_load(F.pin_root, on_event, &F.skel, &F.rb);
	if (err)
		return cannot_run("cannot load the podwall BPF object: %s (kernel with BTF and "
				  "BPF_PROG_TEST_RUN needed; PW_TEST_VERBOSE=1 for libbpf's log)",
				  strerror(-err));

	F.lrb = ring_buffer__new(mfd(F.skel->maps.pw_learn_log), on_learn, NULL, NULL);
	if (!F.lrb)
		return cannot_run("cannot open pw_learn_log: %s", strerror(errno));

	tests = calloc(nrows + 12 + N_LCASES + 3, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < nrows; i++)
		tests[n++] = (struct CMUnitTest){rows[i].name, run_row, row_setup, NULL,
						 (void *)&rows[i]};
	tests[n++] = (struct CMUnitTest){"DNS answer held with the agent listening: DNS_HELD, "
					 "frame and metadata copied out",
					 test_dns_held, row_setup, NULL, (void *)&custom_row};
	tests[n++] = (struct CMUnitTest){"DNS answer over TCP held with the agent listening: "
					 "DNS_HELD, meta says TCP, the agent's parser learns it",
					 test_dns_tcp_held, row_setup, NULL, (void *)&names_row};
	tests[n++] =
		(struct CMUnitTest){"DNS answer over two TCP segments with the agent "
				    "listening: the first copied and passed, the last held; "
				    "lib/core/dnstcp puts the message back together",
				    test_dns_tcp_segments, row_setup, NULL, (void *)&names_row};
	tests[n++] =
		(struct CMUnitTest){"event rate limit: burst N=4, N+5 denies -> N events, "
				    "5 suppressed, next event reports them",
				    test_event_rate_limit, row_setup, NULL, (void *)&custom_row};
	tests[n++] =
		(struct CMUnitTest){"DNS hold budget: a pod over it loses its own answers "
				    "(dns-budget), another pod's still pass to the agent",
				    test_dns_hold_budget, row_setup, NULL, (void *)&custom_row};
	tests[n++] = (struct CMUnitTest){
		"DNS query budget: refused names take none; over it the pod's own queries are "
		"dropped (dns-budget, named event), another pod's pass; TCP stream stays; audit",
		test_dns_query_budget, row_setup, NULL, (void *)&names_row};
	tests[n++] =
		(struct CMUnitTest){"visibility rate limit: burst N=3, N+3 new flows -> N "
				    "allow events, 3 suppressed; denials keep their bucket",
				    test_allow_rate_limit, row_setup, NULL, (void *)&custom_row};
	tests[n++] = (struct CMUnitTest){"events wake the reader only once pw_events is filling "
					 "(the agent reads it on a timer)",
					 test_events_wake, row_setup, NULL, (void *)&custom_row};
	tests[n++] = (struct CMUnitTest){"events_per_sec 0: no events, EVENT_SUPPRESSED",
					 test_events_off, row_setup, NULL, (void *)&custom_row};
	tests[n++] =
		(struct CMUnitTest){"reject rate limit: burst N=3, N+4 denied SYNs -> N RSTs, "
				    "4 rejects_limited; per endpoint; refill; rate 0: none",
				    test_reject_rate_limit, row_setup, NULL, (void *)&reject_row};
	tests[n++] =
		(struct CMUnitTest){"named events: a refused name's event carries it; burst N=3, "
				    "N+3 refused -> N named events, the deny bucket's",
				    test_named_rate_limit, row_setup, NULL, (void *)&names_row};
	tests[n++] = (struct CMUnitTest){"test object pins nothing", test_no_pinning, row_setup,
					 NULL, (void *)&custom_row};

	for (size_t i = 0; i < N_LCASES; i++)
		tests[n++] = (struct CMUnitTest){lcases[i].name, test_learn_case, learn_setup, NULL,
						 (void *)&lcases[i]};
	tests[n++] = (struct CMUnitTest){"learn: the same address learned again: its expiry moves "
					 "later, never earlier; the record says what it holds",
					 test_learn_extend, learn_setup, NULL, (void *)&lcases[0]};
	tests[n++] =
		(struct CMUnitTest){"learn: pw_learn_log wakes its reader only from a quarter "
				    "full; full: the answer is held (learn_log_full), nothing "
				    "written",
				    test_learn_log_full, learn_setup, NULL, (void *)&lcases[0]};
	tests[n++] =
		(struct CMUnitTest){"learn: a new entry is counted in pw_ep_learn.added; "
				    "an extended one is not",
				    test_learn_quota_count, learn_setup, NULL, (void *)&lcases[0]};

	ret = _cmocka_run_group_tests("podwall BPF data path", tests, n, NULL, NULL);
	ring_buffer__free(F.lrb);
	F.lrb = NULL;
	free(tests);
	bpft_unload(&F.skel, &F.rb);
	if (rmdir(F.pin_root) && errno != ENOENT)
		fprintf(stderr, "test_bpf: could not remove %s: %s\n", F.pin_root, strerror(errno));
	return ret;
}

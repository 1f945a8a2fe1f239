// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the kernel's DNS query parser: the real podwall BPF
 * object (pod_egress, bpf/dns.bpf.h) run with BPF_PROG_TEST_RUN on a frame
 * from the pod to its trusted resolver carrying the fuzzed DNS message.
 *
 * Input layout:
 *   byte 0   transport (modulo 4): UDP/IPv4, UDP/IPv6, TCP/IPv4, TCP/IPv6
 *            (TCP: a SYN first, then the message with its 2-byte length prefix)
 *   rest     the DNS message (at most MSG_MAX bytes)
 *
 * The pod's name table (seeded once, as tests/bpf/test_bpf.c's NAMES row):
 * api.example.com, *.github.com, **.s3.amazonaws.com, a resolve-only
 * kubernetes.default.svc.cluster.local, a search suffix cluster.local (no
 * grant) and an entry with the key hash of evil.example.net but the text
 * example.org (a collision: grants neither).
 *
 * Invariants (abort() on violation), the question parsed with ldns, never by
 * this file:
 *   - the program never errors; its verdict is OK/UNSPEC, SHOT or REDIRECT;
 *   - a query passes (TC_ACT_OK or UNSPEC: on to the resolver) only if ldns reads it and its
 * question's name is one the table grants;
 *   - a kernel answer (REDIRECT) is UDP, addressed back to the pod (MACs,
 *     addresses and ports swapped) and, read with ldns, a response with the
 *     query's id and question and rcode REFUSED or NXDOMAIN;
 *   - a well-formed query (ldns reads it; QR clear, opcode QUERY, one
 *     question, no answer or authority records, the name uncompressed) for a
 *     granted name passes.
 *
 * Needs root (BPF, a network namespace with a veth pair for the ifindex).
 * Without it, it says so and exits 77 (skipped); under CI=true it fails.
 * Run: tools/run-tests.sh BUILD fuzz (or FUZZ_SECONDS=300 make fuzz).
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
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ldns/ldns.h>

#include "podwall/maps.h"
#include "podwall.skel.h"
#include "fqdn.h"
#include "bpf/loader.h"

#define EP_ID	  7
#define POD4	  "10.0.0.5"
#define POD6	  "2001:db8:10::5"
#define RES4	  "192.0.2.53"
#define RES6	  "2001:db8:53::53"
#define DNS_SPORT 33333
#define MSG_MAX	  1400
#define TCP_ISN	  999

enum mode { M_UDP4 = 0, M_UDP6, M_TCP4, M_TCP6 };

static struct {
	struct podwall_bpf *skel;
	struct ring_buffer *rb;
	int ifindex;
	char pin_root[64];
	__u8 out[4096];
	__u32 out_len;
	__u64 hb_at;
} F;

static const __u8 POD_MAC[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x05};
static const __u8 GW_MAC[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};

#define cannot_run(...) exit(bpft_cannot_run("fuzz_bpf_dns", __VA_ARGS__))
#define die(...)	bpft_die("fuzz_bpf_dns", __VA_ARGS__)

static int on_event(void *ctx, void *data, size_t len)
{
	return 0;
}

static void put_or_die(struct bpf_map *m, const void *k, const void *v)
{
	if (bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY))
		cannot_run("cannot seed map %s: %s", bpf_map__name(m), strerror(errno));
}

static void ip_parse(const char *s, int *fam, union pw_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	*fam = strchr(s, ':') ? PW_FAMILY_V6 : PW_FAMILY_V4;
	inet_pton(*fam == PW_FAMILY_V6 ? AF_INET6 : AF_INET, s, ip->v6);
}

/* ---- the seeded world ---------------------------------------------------- */

struct name_ent {
	__u8 kind;
	const char *text;
	__u8 flags;
	const char *hash_of;
};

static const struct name_ent NAMES[] = {
	{PW_NK_EXACT, "api.example.com", PW_NAME_F_CONNECT},
	{PW_NK_ONE, "github.com", PW_NAME_F_CONNECT},
	{PW_NK_MANY, "s3.amazonaws.com", PW_NAME_F_CONNECT},
	{PW_NK_EXACT, "kubernetes.default.svc.cluster.local", PW_NAME_F_RESOLVE},
	{PW_NK_MANY, "cluster.local", PW_NAME_F_SEARCH},
	{PW_NK_EXACT, "example.org", PW_NAME_F_CONNECT, "evil.example.net"},
};

static void heartbeat(void)
{
	struct pw_config c;
	__u32 zero = 0;

	memset(&c, 0, sizeof(c));
	c.agent_timeout_ns = 3600 * 1000000000ull;
	c.heartbeat_ns = bpft_now_ns();
	c.release_mark = 0x50570001u;
	c.flags = PW_CFG_HOLD_DNS;
	c.events_per_sec = 1000000;
	c.events_burst = 1000000;
	put_or_die(F.skel->maps.pw_config, &zero, &c);
	F.hb_at = c.heartbeat_ns;
}

static void seed(void)
{
	struct pw_endpoint ep;
	struct pw_ep_dns ed = {0};
	__u32 k = F.ifindex, id = EP_ID, one = 1;
	const char *res[] = {RES4, RES6};
	union pw_ip ip;
	int fam;

	memset(&ep, 0, sizeof(ep));
	ep.ep_id = EP_ID;
	ep.policy_gen = 1;
	ep.mode = PW_MODE_ENFORCE;
	ep.flags = PW_EP_HAS_V4 | PW_EP_HAS_V6;
	ip_parse(POD4, &fam, &ip);
	memcpy(ep.ip4, ip.v6, 4);
	ip_parse(POD6, &fam, &ip);
	memcpy(ep.ip6, ip.v6, 16);
	put_or_die(F.skel->maps.pw_endpoints, &k, &ep);
	heartbeat();
	for (size_t i = 0; i < 2; i++) {
		struct pw_addr_key rk;

		memset(&rk, 0, sizeof(rk));
		ip_parse(res[i], &fam, &rk.addr);
		rk.family = fam;
		put_or_die(F.skel->maps.pw_resolvers, &rk, &one);
	}
	for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
		const struct name_ent *n = &NAMES[i];
		struct pw_name_key nk;
		struct pw_name_val nv;

		bpft_name_entry(EP_ID, n->kind, n->text, n->hash_of, n->flags, &nk, &nv);
		put_or_die(F.skel->maps.pw_names, &nk, &nv);
		if (n->kind == PW_NK_ONE)
			ed.flags |= PW_EPDNS_HAS_ONE;
		if (n->kind == PW_NK_MANY)
			ed.flags |= PW_EPDNS_HAS_MANY;
	}
	put_or_die(F.skel->maps.pw_ep_dns, &id, &ed);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err, peer;

	libbpf_set_print(bpft_libbpf_print);
	snprintf(F.pin_root, sizeof(F.pin_root), "/sys/fs/bpf/pwfuzz-%d", (int)getpid());
	if (geteuid() != 0)
		cannot_run("needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for unshare)");
	if (bpft_netns_veth("pwf0", "pwf1", &F.ifindex, &peer))
		cannot_run("cannot make a network namespace with a veth pair");
	err = bpft_load(F.pin_root, on_event, &F.skel, &F.rb);
	if (err)
		cannot_run("cannot load the podwall BPF object: %s", strerror(-err));
	seed();
	return 0;
}

/* ---- frames -------------------------------------------------------------- */

/* The checksum to write over sum (bpf/loader.h). */
static __u16 fold16(__u32 sum)
{
	return (__u16)~bpft_fold16(sum);
}

/* Ethernet + IP + UDP/TCP(+length prefix) + msg; returns the frame length. */
static size_t build_frame(int mode, const __u8 *msg, size_t mlen, bool syn, __u8 *buf)
{
	bool v6 = mode == M_UDP6 || mode == M_TCP6, tcp = mode >= M_TCP4;
	size_t l3 = ETH_HLEN, l4 = l3 + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
	size_t l4len =
		tcp ? sizeof(struct tcphdr) + (syn ? 0 : 2 + mlen) : sizeof(struct udphdr) + mlen;
	struct ethhdr eth;
	__u16 check;
	union pw_ip src, dst;
	__u32 sum;
	int fam;

	memset(buf, 0, l4 + l4len);
	memcpy(eth.h_dest, GW_MAC, ETH_ALEN);
	memcpy(eth.h_source, POD_MAC, ETH_ALEN);
	eth.h_proto = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	memcpy(buf, &eth, sizeof(eth));
	ip_parse(v6 ? POD6 : POD4, &fam, &src);
	ip_parse(v6 ? RES6 : RES4, &fam, &dst);
	if (v6) {
		struct ipv6hdr ip6 = {.version = 6, .hop_limit = 64};

		ip6.payload_len = htons(l4len);
		ip6.nexthdr = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(&ip6.saddr, src.v6, 16);
		memcpy(&ip6.daddr, dst.v6, 16);
		memcpy(buf + l3, &ip6, sizeof(ip6));
		sum = bpft_sum16(buf + l3 + 8, 32, 0);
	} else {
		struct iphdr ip = {.version = 4, .ihl = 5, .ttl = 64};

		ip.tot_len = htons(sizeof(ip) + l4len);
		ip.protocol = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(&ip.saddr, src.v6, 4);
		memcpy(&ip.daddr, dst.v6, 4);
		ip.check = htons(fold16(bpft_sum16((const __u8 *)&ip, sizeof(ip), 0)));
		memcpy(buf + l3, &ip, sizeof(ip));
		sum = bpft_sum16(buf + l3 + 12, 8, 0);
	}
	sum += l4len + (tcp ? IPPROTO_TCP : IPPROTO_UDP);
	if (tcp) {
		struct tcphdr th = {.doff = 5};

		th.source = htons(DNS_SPORT);
		th.dest = htons(53);
		th.seq = htonl(syn ? TCP_ISN : TCP_ISN + 1);
		th.ack_seq = htonl(syn ? 0 : 1);
		th.window = htons(65535);
		if (syn) {
			th.syn = 1;
		} else {
			th.ack = 1;
			th.psh = 1;
			buf[l4 + sizeof(th)] = mlen >> 8;
			buf[l4 + sizeof(th) + 1] = mlen & 0xff;
			memcpy(buf + l4 + sizeof(th) + 2, msg, mlen);
		}
		memcpy(buf + l4, &th, sizeof(th));
		check = htons(fold16(bpft_sum16(buf + l4, l4len, sum)));
		memcpy(buf + l4 + offsetof(struct tcphdr, check), &check, 2);
	} else {
		struct udphdr uh = {0};

		uh.source = htons(DNS_SPORT);
		uh.dest = htons(53);
		uh.len = htons(l4len);
		memcpy(buf + l4, &uh, sizeof(uh));
		memcpy(buf + l4 + sizeof(uh), msg, mlen);
		check = htons(fold16(bpft_sum16(buf + l4, l4len, sum)));
		if (!check)
			check = 0xffff;
		memcpy(buf + l4 + offsetof(struct udphdr, check), &check, 2);
	}
	return l4 + l4len;
}

static int run(const __u8 *frame, size_t len)
{
	struct __sk_buff ctx;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .data_out = F.out, .data_size_out = sizeof(F.out),
		    .repeat = 1);
	int err;

	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = F.ifindex;
	err = bpf_prog_test_run_opts(bpf_program__fd(F.skel->progs.pod_egress), &o);
	if (err)
		die("bpf_prog_test_run_opts: %s", strerror(-err));
	F.out_len = o.data_size_out;
	return o.retval;
}

/* The TCP stream state of the last input goes: each input opens its own. */
static void tcp_state_clear(void)
{
	int fd = bpf_map__fd(F.skel->maps.pw_dns_tcp);
	struct pw_dns_pend_key k;

	while (!bpf_map_get_next_key(fd, NULL, &k))
		if (bpf_map_delete_elem(fd, &k))
			die("cannot clear pw_dns_tcp: %s", strerror(errno));
}

/* ---- the oracle: ldns reads the question, the table's rules decide ------- */

static bool name_char_ok(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The name in lower case, dotted, from ldns's labels; false if some byte is
 * one no policy name can hold (or the name is the root). */
static bool dname_text(const ldns_rdf *d, char *out, size_t cap)
{
	uint8_t nl = ldns_dname_label_count(d);
	size_t n = 0;

	if (!nl)
		return false;
	for (uint8_t i = 0; i < nl; i++) {
		ldns_rdf *l = ldns_dname_label(d, i);
		const uint8_t *p;
		size_t ll;

		if (!l)
			return false;
		p = ldns_rdf_data(l);
		ll = p[0];
		if (n + ll + 2 > cap) {
			ldns_rdf_deep_free(l);
			return false;
		}
		if (i)
			out[n++] = '.';
		for (size_t j = 0; j < ll; j++) {
			__u8 c = p[1 + j];

			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (!name_char_ok(c)) {
				ldns_rdf_deep_free(l);
				return false;
			}
			out[n++] = c;
		}
		ldns_rdf_deep_free(l);
	}
	out[n] = 0;
	return true;
}

static bool suffix_is(const char *name, const char *suf)
{
	size_t n = strlen(name), s = strlen(suf);

	return n > s + 1 && name[n - s - 1] == '.' && !strcmp(name + n - s, suf);
}

static bool granted(const char *name)
{
	const char *dot = strchr(name, '.');

	if (!strcmp(name, "api.example.com") ||
	    !strcmp(name, "kubernetes.default.svc.cluster.local"))
		return true;
	if (dot && dot != name && !strcmp(dot + 1, "github.com"))
		return true;
	return suffix_is(name, "s3.amazonaws.com");
}

struct query {
	bool parsed;	 /* ldns read header and question (ARCOUNT zeroed) */
	bool wellformed; /* ldns read the whole message, and it is a plain query */
	bool grant;	 /* the question's name is granted */
	ldns_pkt *pkt;
};

static ldns_pkt *wire2pkt(const __u8 *msg, size_t len)
{
	ldns_pkt *p = NULL;

	if (ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK)
		return NULL;
	return p;
}

static void query_read(const __u8 *msg, size_t len, struct query *q)
{
	__u8 z[MSG_MAX];
	ldns_pkt *full;
	ldns_rr *qr;
	char name[512];

	memset(q, 0, sizeof(*q));
	if (len < LDNS_HEADER_SIZE)
		return;
	/* The kernel reads no further than the question: neither does the
	 * reading that decides the grant. */
	memcpy(z, msg, len);
	z[10] = z[11] = 0;
	q->pkt = wire2pkt(z, len);
	if (!q->pkt || ldns_pkt_qdcount(q->pkt) != 1 ||
	    ldns_rr_list_rr_count(ldns_pkt_question(q->pkt)) != 1)
		return;
	q->parsed = true;
	qr = ldns_rr_list_rr(ldns_pkt_question(q->pkt), 0);
	q->grant = dname_text(ldns_rr_owner(qr), name, sizeof(name)) && granted(name);

	full = wire2pkt(msg, len);
	if (full && !ldns_pkt_qr(full) && ldns_pkt_get_opcode(full) == LDNS_PACKET_QUERY &&
	    ldns_pkt_ancount(full) == 0 && ldns_pkt_nscount(full) == 0) {
		/* uncompressed: the owner as ldns writes it is the message's bytes */
		const ldns_rdf *o = ldns_rr_owner(qr);

		q->wellformed = LDNS_HEADER_SIZE + ldns_rdf_size(o) + 4 <= len &&
				!memcmp(msg + LDNS_HEADER_SIZE, ldns_rdf_data(o), ldns_rdf_size(o));
	}
	ldns_pkt_free(full);
}

/* The kernel's answer to the frame `in`: back to the pod, REFUSED/NXDOMAIN. */
static void check_answer(const __u8 *in, const struct query *q)
{
	const __u8 *r = F.out;
	bool v6 = in[12] == 0x86 && in[13] == 0xdd;
	size_t l3 = ETH_HLEN, l4 = l3 + (v6 ? 40 : 20), dns = l4 + 8;
	ldns_pkt *a;
	ldns_rr *qa, *qq;
	ldns_pkt_rcode rc;

	if (!q->parsed)
		die("answered a query ldns cannot read");
	if (F.out_len < dns + LDNS_HEADER_SIZE)
		die("answer of %u bytes", F.out_len);
	if (memcmp(r, in + 6, 6) || memcmp(r + 6, in, 6) || memcmp(r + 12, in + 12, 2))
		die("answer's Ethernet header is not the query's swapped");
	if (v6) {
		if (r[l3 + 6] != IPPROTO_UDP || memcmp(r + l3 + 8, in + l3 + 24, 16) ||
		    memcmp(r + l3 + 24, in + l3 + 8, 16))
			die("answer's IPv6 header is not back to the pod");
		if (((r[l3 + 4] << 8) | r[l3 + 5]) != F.out_len - l4)
			die("answer's IPv6 payload length");
	} else {
		if (r[l3 + 9] != IPPROTO_UDP || memcmp(r + l3 + 12, in + l3 + 16, 4) ||
		    memcmp(r + l3 + 16, in + l3 + 12, 4))
			die("answer's IPv4 header is not back to the pod");
		if (((r[l3 + 2] << 8) | r[l3 + 3]) != F.out_len - l3 ||
		    fold16(bpft_sum16(r + l3, 20, 0)) != 0)
			die("answer's IPv4 length or checksum");
	}
	if (memcmp(r + l4, in + l4 + 2, 2) || memcmp(r + l4 + 2, in + l4, 2))
		die("answer's ports are not the query's swapped");
	if (((r[l4 + 4] << 8) | r[l4 + 5]) != F.out_len - l4)
		die("answer's UDP length");
	a = wire2pkt(r + dns, F.out_len - dns);
	if (!a)
		die("ldns cannot read the kernel's answer");
	rc = ldns_pkt_get_rcode(a);
	if (!ldns_pkt_qr(a) || ldns_pkt_id(a) != ldns_pkt_id(q->pkt) ||
	    (rc != LDNS_RCODE_REFUSED && rc != LDNS_RCODE_NXDOMAIN))
		die("answer: qr %d id %u (query %u) rcode %d", ldns_pkt_qr(a), ldns_pkt_id(a),
		    ldns_pkt_id(q->pkt), rc);
	if (ldns_pkt_qdcount(a) != 1 || ldns_pkt_ancount(a) || ldns_pkt_nscount(a) ||
	    ldns_pkt_arcount(a))
		die("answer's counts");
	qa = ldns_rr_list_rr(ldns_pkt_question(a), 0);
	qq = ldns_rr_list_rr(ldns_pkt_question(q->pkt), 0);
	if (ldns_rr_compare(qa, qq) ||
	    ldns_rdf_size(ldns_rr_owner(qa)) != ldns_rdf_size(ldns_rr_owner(qq)) ||
	    memcmp(ldns_rdf_data(ldns_rr_owner(qa)), ldns_rdf_data(ldns_rr_owner(qq)),
		   ldns_rdf_size(ldns_rr_owner(qq))))
		die("answer's question is not the query's");
	ldns_pkt_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static __u8 frame[2048];
	struct query q;
	size_t mlen, len;
	int mode, v;

	if (size < 1)
		return 0;
	mode = data[0] % 4;
	mlen = size - 1 > MSG_MAX ? MSG_MAX : size - 1;
	if (bpft_now_ns() - F.hb_at > 1000000000ull)
		heartbeat();
	ring_buffer__consume(F.rb);
	query_read(data + 1, mlen, &q);

	if (mode >= M_TCP4) {
		tcp_state_clear();
		len = build_frame(mode, NULL, 0, true, frame);
		v = run(frame, len);
		if (v != TC_ACT_OK && v != TC_ACT_UNSPEC)
			die("the SYN to the resolver: verdict %d", v);
	}
	len = build_frame(mode, data + 1, mlen, false, frame);
	v = run(frame, len);
	switch (v) {
	case TC_ACT_UNSPEC: /* a pass that lets the next classifier run */
	case TC_ACT_OK:
		if (!q.parsed)
			die("passed a query ldns cannot read (mode %d)", mode);
		if (!q.grant)
			die("passed a query for a name not granted (mode %d)", mode);
		break;
	case TC_ACT_SHOT:
		if (q.wellformed && q.grant)
			die("dropped a well-formed query for a granted name (mode %d)", mode);
		break;
	case TC_ACT_REDIRECT:
		if (mode >= M_TCP4)
			die("answered a TCP query in the kernel");
		if (q.grant)
			die("answered a query for a granted name");
		check_answer(frame, &q);
		break;
	default:
		die("verdict %d", v);
	}
	ldns_pkt_free(q.pkt);
	return 0;
}

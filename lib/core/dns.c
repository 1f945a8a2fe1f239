// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The learn step for held DNS answers. Everything here reads bytes a hostile
 * pod or a hostile path may have chosen: every length is checked before use,
 * DNS names and record data are decoded by ldns only, and every path frees what
 * it took (one cleanup label per function).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns.h"
#include "ipaddr.h"

#define ETH_HDR_LEN    14
#define ETH_MIN_FRAME  60 /* without FCS: shorter frames are padded up to this */
#define ETHERTYPE_IP4  0x0800
#define ETHERTYPE_IP6  0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define IP4_HDR_LEN    20
#define IP6_HDR_LEN    40
#define UDP_HDR_LEN    8
#define TCP_HDR_LEN    20
#define PROTO_TCP      6
#define PROTO_UDP      17
#define TCP_FLAG_SYN   0x02
#define TCP_FLAG_RST   0x04
#define DNS_PORT       53
#define IP4_FRAG_MASK  0x3fff /* MF flag and fragment offset */

/* Fixed part of a resource record after its owner name: type, class, TTL, RDLENGTH. */
#define RR_FIXED_LEN 10

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The TCP segment at l4 (l4_len bytes): from port 53 to the query's port, its
 * data exactly one DNS message after the 2-byte length. */
static int tcp_payload(const uint8_t *frame, size_t l4, size_t l4_len,
		       const struct pw_dns_meta *meta, const uint8_t **payload, size_t *plen,
		       const char **why)
{
	const uint8_t *tcp = frame + l4;
	size_t doff, dlen;

	if (l4_len < TCP_HDR_LEN) {
		*why = "truncated TCP header";
		return -EINVAL;
	}
	if (rd16(tcp) != DNS_PORT) {
		*why = "TCP source port is not 53";
		return -EINVAL;
	}
	if (memcmp(tcp + 2, &meta->pod_port, 2)) {
		*why = "TCP destination port is not the query's source port";
		return -EINVAL;
	}
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < TCP_HDR_LEN || doff > l4_len) {
		*why = "TCP data offset inconsistent with the IP length";
		return -EINVAL;
	}
	if (tcp[13] & (TCP_FLAG_SYN | TCP_FLAG_RST)) {
		*why = "TCP segment with SYN or RST";
		return -EINVAL;
	}
	dlen = l4_len - doff;
	if (dlen < 2 || rd16(tcp + doff) != dlen - 2) {
		*why = "TCP data is not one whole DNS message (length prefix)";
		return -EINVAL;
	}
	*payload = tcp + doff + 2;
	*plen = dlen - 2;
	return 0;
}

int pw_dns_frame_payload(const uint8_t *frame, size_t len, const struct pw_dns_meta *meta,
			 const uint8_t **payload, size_t *plen, size_t *l4_off, const char **why)
{
	const uint8_t *ip, *udp;
	size_t avail, ip_len, l4_len, l4;
	uint16_t ethertype;
	uint8_t family, proto;
	int ret = -EINVAL;

	*why = NULL;
	proto = meta->proto;
	if (proto != PROTO_UDP && proto != PROTO_TCP) {
		*why = "held answer is neither UDP nor TCP";
		goto out;
	}
	if (len < ETH_HDR_LEN) {
		*why = "frame shorter than an Ethernet header";
		goto out;
	}
	ethertype = rd16(frame + 12);
	if (ethertype == ETHERTYPE_IP4) {
		family = PW_FAMILY_V4;
	} else if (ethertype == ETHERTYPE_IP6) {
		family = PW_FAMILY_V6;
	} else if (ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ) {
		*why = "VLAN-tagged frame";
		goto out;
	} else {
		*why = "ethertype is neither IPv4 nor IPv6";
		goto out;
	}
	if (family != meta->family) {
		*why = "address family differs from the recorded query";
		goto out;
	}
	ip = frame + ETH_HDR_LEN;
	avail = len - ETH_HDR_LEN;
	if (family == PW_FAMILY_V4) {
		if (avail < IP4_HDR_LEN) {
			*why = "truncated IPv4 header";
			goto out;
		}
		if (ip[0] >> 4 != 4) {
			*why = "IPv4 ethertype but IP version is not 4";
			goto out;
		}
		if ((ip[0] & 0x0f) != IP4_HDR_LEN / 4) {
			*why = "IPv4 header with options (IHL is not 5)";
			goto out;
		}
		ip_len = rd16(ip + 2);
		if (ip_len < IP4_HDR_LEN + UDP_HDR_LEN || ip_len > avail ||
		    (ip_len < avail && len > ETH_MIN_FRAME)) {
			*why = "IPv4 total length inconsistent with the frame";
			goto out;
		}
		if (rd16(ip + 6) & IP4_FRAG_MASK) {
			*why = "IPv4 fragment";
			goto out;
		}
		if (ip[9] != proto) {
			*why = proto == PROTO_UDP ? "IPv4 protocol is not UDP"
						  : "IPv4 protocol is not TCP";
			goto out;
		}
		if (memcmp(ip + 12, &meta->resolver.v4, 4)) {
			*why = "source address is not the resolver the query went to";
			goto out;
		}
		l4 = ETH_HDR_LEN + IP4_HDR_LEN;
		l4_len = ip_len - IP4_HDR_LEN;
	} else {
		if (avail < IP6_HDR_LEN) {
			*why = "truncated IPv6 header";
			goto out;
		}
		if (ip[0] >> 4 != 6) {
			*why = "IPv6 ethertype but IP version is not 6";
			goto out;
		}
		l4_len = rd16(ip + 4);
		ip_len = IP6_HDR_LEN + l4_len;
		if (l4_len < UDP_HDR_LEN || ip_len > avail ||
		    (ip_len < avail && len > ETH_MIN_FRAME)) {
			*why = "IPv6 payload length inconsistent with the frame";
			goto out;
		}
		if (ip[6] != proto) {
			*why = proto == PROTO_UDP ? "IPv6 next header is not UDP (extension "
						    "headers are refused)"
						  : "IPv6 next header is not TCP (extension "
						    "headers are refused)";
			goto out;
		}
		if (memcmp(ip + 8, meta->resolver.v6, 16)) {
			*why = "source address is not the resolver the query went to";
			goto out;
		}
		l4 = ETH_HDR_LEN + IP6_HDR_LEN;
	}
	if (proto == PROTO_TCP) {
		ret = tcp_payload(frame, l4, l4_len, meta, payload, plen, why);
		if (!ret)
			*l4_off = l4;
		goto out;
	}
	udp = frame + l4;
	if (rd16(udp) != DNS_PORT) {
		*why = "UDP source port is not 53";
		goto out;
	}
	if (memcmp(udp + 2, &meta->pod_port, 2)) {
		*why = "UDP destination port is not the query's source port";
		goto out;
	}
	if (rd16(udp + 4) != l4_len) {
		*why = "UDP length inconsistent with the IP length";
		goto out;
	}
	*payload = udp + UDP_HDR_LEN;
	*plen = l4_len - UDP_HDR_LEN;
	*l4_off = l4;
	ret = 0;
out:
	return ret;
}

static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += rd16(p);
	if (n)
		sum += (uint64_t)p[0] << 8;
	return sum;
}

/* The checksum in place: whole, or (partial) only the pseudo-header's sum,
 * for the kernel to complete (TCP only). */
static int l4_checksum(uint8_t *frame, size_t len, size_t l4_off, bool partial)
{
	const uint8_t *ip;
	uint64_t sum;
	uint16_t ethertype, csum;
	size_t l4_len, at;
	uint8_t *l4, proto;
	int ret = -EINVAL;

	/* l4_off is one of two fixed offsets, so the IP header is in bounds too */
	if (len < ETH_HDR_LEN || l4_off > len || len - l4_off < UDP_HDR_LEN)
		goto out;
	ip = frame + ETH_HDR_LEN;
	ethertype = rd16(frame + 12);
	if (ethertype == ETHERTYPE_IP4 && l4_off == ETH_HDR_LEN + IP4_HDR_LEN) {
		if (ip[0] != 0x45)
			goto out;
		proto = ip[9];
		l4_len = rd16(ip + 2);
		if (l4_len < IP4_HDR_LEN)
			goto out;
		l4_len -= IP4_HDR_LEN;
		sum = csum_add(0, ip + 12, 8); /* source and destination address */
	} else if (ethertype == ETHERTYPE_IP6 && l4_off == ETH_HDR_LEN + IP6_HDR_LEN) {
		if (ip[0] >> 4 != 6)
			goto out;
		proto = ip[6];
		l4_len = rd16(ip + 4);
		sum = csum_add(0, ip + 8, 32);
	} else {
		goto out;
	}
	if (proto == PROTO_UDP) {
		/* the UDP length, which pw_dns_frame_payload checked against the IP's */
		l4_len = rd16(frame + l4_off + 4);
		if (l4_len < UDP_HDR_LEN)
			goto out;
		at = 6;
	} else if (proto == PROTO_TCP) {
		if (l4_len < TCP_HDR_LEN)
			goto out;
		at = 16;
	} else {
		goto out;
	}
	if (partial && proto != PROTO_TCP)
		goto out;
	if (l4_len > len - l4_off)
		goto out;
	l4 = frame + l4_off;
	ret = 0;
	/* IPv4 lets a UDP sender go without a checksum (0); IPv6 and TCP do not. */
	if (proto == PROTO_UDP && ethertype == ETHERTYPE_IP4 && !l4[6] && !l4[7])
		goto out;
	sum += proto + l4_len; /* rest of the pseudo-header */
	l4[at] = 0;
	l4[at + 1] = 0;
	if (!partial)
		sum = csum_add(sum, l4, l4_len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	csum = partial ? (uint16_t)sum : (uint16_t)~sum;
	if (!csum && proto == PROTO_UDP)
		csum = 0xffff; /* 0 would mean "no checksum" */
	l4[at] = (uint8_t)(csum >> 8);
	l4[at + 1] = (uint8_t)csum;
out:
	return ret;
}

int pw_dns_fix_l4_checksum(uint8_t *frame, size_t len, size_t l4_off)
{
	return l4_checksum(frame, len, l4_off, false);
}

int pw_dns_partial_l4_checksum(uint8_t *frame, size_t len, size_t l4_off)
{
	return l4_checksum(frame, len, l4_off, true);
}

/* A cursor over the message; ldns decodes, the cursor only keeps the place. */
struct dns_walk {
	const uint8_t *msg;
	size_t len;
	size_t pos;
	bool tc; /* truncated answer: records may end before the counts say */
};

enum { RR_TAKEN, RR_SKIPPED, RR_END };

static const char *ldns_why(ldns_status st)
{
	switch (st) {
	case LDNS_STATUS_INVALID_POINTER:
		return "name compression pointer loops or points outside the message";
	case LDNS_STATUS_DOMAINNAME_OVERFLOW:
		return "name longer than 255 bytes (or a compression loop)";
	case LDNS_STATUS_MEM_ERR:
		return "out of memory";
	default:
		return "message truncated or malformed";
	}
}

/*
 * Decode the next record of section sec with ldns. Returns RR_TAKEN with *out
 * set, RR_SKIPPED when the record is well framed but not one ldns decodes to
 * exactly its RDLENGTH (then ldns and the pod's resolver would disagree on where
 * the next record starts, so the walk resumes at RDLENGTH, as the pod does), or
 * an A/AAAA record whose data is not 4/16 bytes; RR_END when a truncated (TC)
 * answer ends cleanly at a record boundary; -EINVAL/-ENOMEM with *why.
 */
static int walk_rr(struct dns_walk *w, ldns_pkt_section sec, ldns_rr **out, const char **why)
{
	ldns_rdf *owner = NULL;
	ldns_rr *rr = NULL;
	size_t p = w->pos, end;
	uint16_t type, rdlen;
	ldns_status st;
	int ret = -EINVAL;

	*out = NULL;
	if (sec == LDNS_SECTION_QUESTION) {
		st = ldns_wire2rr(&rr, w->msg, w->len, &w->pos, sec);
		if (st != LDNS_STATUS_OK) {
			*why = ldns_why(st);
			ret = st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;
			goto out;
		}
		*out = rr;
		rr = NULL;
		ret = RR_TAKEN;
		goto out;
	}
	if (w->pos == w->len && w->tc) {
		ret = RR_END;
		goto out;
	}
	/* Find this record's RDLENGTH: ldns for the owner name, then the fixed part. */
	st = ldns_wire2dname(&owner, w->msg, w->len, &p);
	if (st != LDNS_STATUS_OK) {
		*why = ldns_why(st);
		ret = st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;
		goto out;
	}
	if (w->len - p < RR_FIXED_LEN) {
		*why = "message truncated inside a record";
		goto out;
	}
	type = ldns_read_uint16(w->msg + p);
	rdlen = ldns_read_uint16(w->msg + p + 8);
	p += RR_FIXED_LEN;
	if (w->len - p < rdlen) {
		*why = "record data runs past the end of the message";
		goto out;
	}
	end = p + rdlen;
	if ((type == LDNS_RR_TYPE_A && rdlen != 4) || (type == LDNS_RR_TYPE_AAAA && rdlen != 16)) {
		w->pos = end;
		ret = RR_SKIPPED;
		goto out;
	}
	p = w->pos;
	st = ldns_wire2rr(&rr, w->msg, w->len, &p, sec);
	if (st != LDNS_STATUS_OK) {
		*why = ldns_why(st);
		ret = st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;
		goto out;
	}
	w->pos = end;
	if (p != end) {
		ret = RR_SKIPPED;
		goto out;
	}
	*out = rr;
	rr = NULL;
	ret = RR_TAKEN;
out:
	ldns_rdf_deep_free(owner);
	ldns_rr_free(rr);
	return ret;
}

/* Same name? Wire form, ASCII case folded (label length bytes are < 64, so
 * folding never touches them); no locale, unlike ldns_dname_compare. */
static bool dname_eq(const ldns_rdf *a, const ldns_rdf *b)
{
	const uint8_t *x = ldns_rdf_data(a), *y = ldns_rdf_data(b);
	size_t n = ldns_rdf_size(a);

	if (ldns_rdf_get_type(a) != LDNS_RDF_TYPE_DNAME ||
	    ldns_rdf_get_type(b) != LDNS_RDF_TYPE_DNAME || n != ldns_rdf_size(b))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = x[i], d = y[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (d >= 'A' && d <= 'Z')
			d = (uint8_t)(d - 'A' + 'a');
		if (c != d)
			return false;
	}
	return true;
}

struct dns_chain {
	const ldns_rdf *name[PW_DNS_MAX_CHAIN + 1]; /* name[0] is the question name */
	const ldns_rr *cname[PW_DNS_MAX_CHAIN];	    /* the records followed */
	size_t n_names;
	bool broken; /* CNAME loop, or longer than PW_DNS_MAX_CHAIN */
};

static bool on_chain(const struct dns_chain *c, const ldns_rdf *name)
{
	for (size_t i = 0; i < c->n_names; i++)
		if (dname_eq(c->name[i], name))
			return true;
	return false;
}

static bool chain_cname(const struct dns_chain *c, const ldns_rr *rr)
{
	for (size_t i = 0; i + 1 < c->n_names; i++)
		if (c->cname[i] == rr)
			return true;
	return false;
}

/* The first IN CNAME in the answer section owned by name, or NULL. */
static const ldns_rr *find_cname(const ldns_rr_list *answer, const ldns_rdf *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);
		const ldns_rdf *target = ldns_rr_rdf(rr, 0);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN && ldns_rr_rd_count(rr) == 1 &&
		    target && ldns_rdf_get_type(target) == LDNS_RDF_TYPE_DNAME &&
		    dname_eq(ldns_rr_owner(rr), name))
			return rr;
	}
	return NULL;
}

/* Follow CNAMEs from the question name through the answer section only. */
static void follow_chain(const ldns_rr_list *answer, const ldns_rdf *qname, struct dns_chain *c)
{
	const ldns_rr *rr;

	c->name[0] = qname;
	c->n_names = 1;
	while ((rr = find_cname(answer, c->name[c->n_names - 1]))) {
		const ldns_rdf *target = ldns_rr_rdf(rr, 0);

		if (on_chain(c, target) || c->n_names == PW_DNS_MAX_CHAIN + 1) {
			c->broken = true;
			return;
		}
		c->cname[c->n_names - 1] = rr;
		c->name[c->n_names++] = target;
	}
}

static void add_addr(struct pw_dns_answer *out, uint8_t family, const union pw_ip *ip, uint32_t ttl)
{
	struct pw_dns_addr *a;

	if (pw_ip_is_special(family, ip)) {
		out->n_ignored++;
		return;
	}
	for (size_t i = 0; i < out->n_addrs; i++) {
		a = &out->addrs[i];
		if (a->family == family && !memcmp(&a->addr, ip, sizeof(*ip))) {
			if (ttl > a->ttl)
				a->ttl = ttl;
			return;
		}
	}
	if (out->n_addrs == PW_DNS_MAX_ADDRS) {
		out->n_ignored++;
		return;
	}
	a = &out->addrs[out->n_addrs++];
	a->family = family;
	a->addr = *ip;
	a->ttl = ttl;
}

/* Take the A (or AAAA) records, of the question's type, owned by a chain name. */
static void collect(const ldns_rr_list *answer, const struct dns_chain *c,
		    struct pw_dns_answer *out)
{
	uint8_t family = out->qtype == LDNS_RR_TYPE_A ? PW_FAMILY_V4 : PW_FAMILY_V6;
	size_t alen = family == PW_FAMILY_V4 ? 4 : 16;

	for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);
		const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		union pw_ip ip = {0};
		uint32_t ttl = ldns_rr_ttl(rr);

		if (chain_cname(c, rr))
			continue;
		if (ldns_rr_get_type(rr) != out->qtype ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || ldns_rr_rd_count(rr) != 1 || !rd ||
		    ldns_rdf_size(rd) != alen || !on_chain(c, ldns_rr_owner(rr))) {
			out->n_ignored++;
			continue;
		}
		memcpy(&ip, ldns_rdf_data(rd), alen);
		if (ttl > INT32_MAX)
			ttl = 0; /* RFC 2181 section 8 */
		add_addr(out, family, &ip, ttl);
	}
}

/* A byte that ldns_rdf2str writes as it is and a hostname may hold. */
static bool plain_label_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/*
 * The text ldns_rdf2str gives a name ("api.example.com."), without its
 * allocations and per-character formatting (a tenth of the agent's time per
 * held answer), for a name whose every label byte is plain_label_byte: ldns
 * writes those bytes unchanged, so the text is the same. false for any other
 * name (the root, a byte ldns escapes or that no hostname holds): the caller
 * asks ldns. ldns decoded d (labels of at most 63 bytes, at most 255 bytes in
 * all): the walk only re-checks what it relies on.
 */
static bool dname_plain_text(const ldns_rdf *d, char out[LDNS_MAX_DOMAINLEN + 1])
{
	const uint8_t *p = ldns_rdf_data(d);
	size_t n = ldns_rdf_size(d), i = 0, o = 0;

	if (ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME || n < 2 || n > LDNS_MAX_DOMAINLEN)
		return false;
	while (i < n - 1) {
		size_t l = p[i++];

		if (!l || l > LDNS_MAX_LABELLEN || l > n - 1 - i)
			return false;
		for (size_t j = 0; j < l; j++) {
			if (!plain_label_byte(p[i]))
				return false;
			out[o++] = (char)p[i++];
		}
		out[o++] = '.';
	}
	if (p[n - 1])
		return false;
	out[o] = '\0';
	return true;
}

int pw_dns_parse_answer(const uint8_t *msg, size_t len, uint16_t expect_id,
			struct pw_dns_answer *out, const char **why)
{
	static const ldns_pkt_section rest[] = {LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL};
	struct dns_walk w = {.msg = msg, .len = len, .pos = LDNS_HEADER_SIZE};
	struct dns_chain chain = {0};
	ldns_rr_list *answer = NULL;
	ldns_rr *question = NULL, *rr = NULL;
	const char *qwhy, *qstr;
	char *qtext = NULL, plain[LDNS_MAX_DOMAINLEN + 1];
	bool have_opt = false;
	size_t count;
	int ret = -EINVAL, r;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (len < LDNS_HEADER_SIZE) {
		*why = "shorter than a DNS header";
		goto out;
	}
	if (memcmp(msg, &expect_id, sizeof(expect_id))) {
		*why = "DNS id differs from the recorded query";
		goto out;
	}
	if (!LDNS_QR_WIRE(msg)) {
		*why = "not a response (QR bit clear)";
		goto out;
	}
	if (LDNS_OPCODE_WIRE(msg) != LDNS_PACKET_QUERY) {
		*why = "opcode is not QUERY";
		goto out;
	}
	if (LDNS_QDCOUNT(msg) != 1) {
		*why = "not exactly one question";
		goto out;
	}
	w.tc = LDNS_TC_WIRE(msg);
	out->rcode = LDNS_RCODE_WIRE(msg);

	r = walk_rr(&w, LDNS_SECTION_QUESTION, &question, why);
	if (r < 0) {
		ret = r;
		goto out;
	}
	if (ldns_rr_get_class(question) != LDNS_RR_CLASS_IN) {
		*why = "question class is not IN";
		goto out;
	}
	out->qtype = (uint16_t)ldns_rr_get_type(question);

	answer = ldns_rr_list_new();
	if (!answer) {
		*why = "out of memory";
		ret = -ENOMEM;
		goto out;
	}
	count = LDNS_ANCOUNT(msg);
	for (size_t i = 0; i < count; i++) {
		r = walk_rr(&w, LDNS_SECTION_ANSWER, &rr, why);
		if (r < 0) {
			ret = r;
			goto out;
		}
		if (r == RR_END)
			break;
		if (r == RR_SKIPPED) {
			out->n_ignored++;
			continue;
		}
		if (!ldns_rr_list_push_rr(answer, rr)) {
			*why = "out of memory";
			ret = -ENOMEM;
			goto out;
		}
		rr = NULL;
	}
	/* Authority and additional: checked to be well formed, never learned from. */
	for (size_t s = 0; s < sizeof(rest) / sizeof(rest[0]); s++) {
		count = rest[s] == LDNS_SECTION_AUTHORITY ? LDNS_NSCOUNT(msg) : LDNS_ARCOUNT(msg);
		for (size_t i = 0; i < count; i++) {
			r = walk_rr(&w, rest[s], &rr, why);
			if (r < 0) {
				ret = r;
				goto out;
			}
			if (r == RR_END)
				break;
			out->n_ignored++;
			if (r == RR_TAKEN && ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT &&
			    !have_opt && rest[s] == LDNS_SECTION_ADDITIONAL) {
				/* EDNS: the upper 8 bits of the 12-bit RCODE */
				out->rcode |= (uint16_t)((ldns_rr_ttl(rr) >> 24) << 4);
				have_opt = true;
			}
			ldns_rr_free(rr);
			rr = NULL;
		}
	}
	ret = 0;

	/* A well-formed answer from here on: it is released, whatever is learned. */
	count = ldns_rr_list_rr_count(answer);
	if (dname_plain_text(ldns_rr_owner(question), plain)) {
		qstr = plain;
	} else {
		qtext = ldns_rdf2str(ldns_rr_owner(question));
		if (!qtext) {
			*why = "out of memory";
			ret = -ENOMEM;
			goto out;
		}
		qstr = qtext;
	}
	if (pw_fqdn_normalize(qstr, out->qname, &qwhy)) {
		/* Not a hostname a policy can name ("\\000", "*", root): nothing to learn. */
		out->qname[0] = '\0';
		out->n_ignored += count;
		goto out;
	}
	if ((out->qtype != LDNS_RR_TYPE_A && out->qtype != LDNS_RR_TYPE_AAAA) ||
	    out->rcode != LDNS_RCODE_NOERROR) {
		out->n_ignored += count;
		goto out;
	}
	follow_chain(answer, ldns_rr_owner(question), &chain);
	if (chain.broken) {
		out->chain_broken = true;
		out->n_ignored += count;
		goto out;
	}
	collect(answer, &chain, out);
out:
	if (ret) {
		out->n_addrs = 0;
		out->chain_broken = false;
	}
	free(qtext);
	ldns_rr_free(rr);
	ldns_rr_free(question);
	ldns_rr_list_deep_free(answer);
	return ret;
}

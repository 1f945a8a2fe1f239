/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test helpers: DNS messages built with ldns (well-formed ones), by hand
 * (malformed ones), and Ethernet/IP/UDP frames around them. Header-only, for
 * tests and the fuzz corpus generator. Documentation addresses only.
 */
#ifndef PODWALL_TESTS_DNSMSG_H
#define PODWALL_TESTS_DNSMSG_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "podwall/maps.h"

#define DM_MAX_RR 24

/* A response built with ldns: one question (or two with question2), records
 * given as zone-file lines. QR, RD and RA set; everything else clear. */
struct dm_spec {
	uint16_t id;	       /* host order */
	const char *question;  /* "api.example.com. IN A" */
	const char *question2; /* optional second question */
	const char *an[DM_MAX_RR];
	const char *ns[DM_MAX_RR];
	const char *ar[DM_MAX_RR];
	bool edns;		/* add an OPT record */
	uint8_t edns_ext_rcode; /* non-zero: add an OPT record carrying it */
};

static inline int dm_push(ldns_pkt *pkt, ldns_pkt_section sec, const char *const *lines)
{
	for (size_t i = 0; i < DM_MAX_RR && lines[i]; i++) {
		ldns_rr *rr = NULL;

		if (ldns_rr_new_frm_str(&rr, lines[i], 0, NULL, NULL) != LDNS_STATUS_OK)
			return -1;
		if (!ldns_pkt_push_rr(pkt, sec, rr)) {
			ldns_rr_free(rr);
			return -1;
		}
	}
	return 0;
}

static inline int dm_push_question(ldns_pkt *pkt, const char *line)
{
	ldns_rr *rr = NULL;

	if (ldns_rr_new_question_frm_str(&rr, line, NULL, NULL) != LDNS_STATUS_OK)
		return -1;
	if (!ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/* Wire form of spec in *wire (free() it). Returns 0 or -1. */
static inline int dm_build(const struct dm_spec *spec, uint8_t **wire, size_t *len)
{
	ldns_pkt *pkt = ldns_pkt_new();
	int ret = -1;

	*wire = NULL;
	if (!pkt)
		return -1;
	ldns_pkt_set_id(pkt, spec->id);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_rd(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	if (dm_push_question(pkt, spec->question))
		goto out;
	if (spec->question2 && dm_push_question(pkt, spec->question2))
		goto out;
	if (dm_push(pkt, LDNS_SECTION_ANSWER, spec->an) ||
	    dm_push(pkt, LDNS_SECTION_AUTHORITY, spec->ns) ||
	    dm_push(pkt, LDNS_SECTION_ADDITIONAL, spec->ar))
		goto out;
	if (spec->edns || spec->edns_ext_rcode) {
		ldns_pkt_set_edns_udp_size(pkt, 1232);
		ldns_pkt_set_edns_extended_rcode(pkt, spec->edns_ext_rcode);
	}
	if (ldns_pkt2wire(wire, pkt, len) != LDNS_STATUS_OK)
		goto out;
	ret = 0;
out:
	ldns_pkt_free(pkt);
	return ret;
}

/* Hand-made messages, byte by byte, for what ldns refuses to write. */
struct dm_buf {
	uint8_t b[8192];
	size_t n;
};

static inline void dm_u8(struct dm_buf *m, uint8_t v)
{
	if (m->n < sizeof(m->b))
		m->b[m->n++] = v;
}

static inline void dm_u16(struct dm_buf *m, uint16_t v)
{
	dm_u8(m, (uint8_t)(v >> 8));
	dm_u8(m, (uint8_t)v);
}

static inline void dm_u32(struct dm_buf *m, uint32_t v)
{
	dm_u16(m, (uint16_t)(v >> 16));
	dm_u16(m, (uint16_t)v);
}

static inline void dm_bytes(struct dm_buf *m, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dm_u8(m, ((const uint8_t *)p)[i]);
}

/* "api.example.com" as uncompressed labels, root label included. */
static inline void dm_name(struct dm_buf *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		dm_u8(m, (uint8_t)l);
		dm_bytes(m, name, l);
		name += l + (dot ? 1 : 0);
	}
	dm_u8(m, 0);
}

#define DM_FLAGS_RESPONSE 0x8180 /* QR, RD, RA, NOERROR */

static inline void dm_header(struct dm_buf *m, uint16_t id, uint16_t flags, uint16_t qd,
			     uint16_t an, uint16_t ns, uint16_t ar)
{
	m->n = 0;
	dm_u16(m, id);
	dm_u16(m, flags);
	dm_u16(m, qd);
	dm_u16(m, an);
	dm_u16(m, ns);
	dm_u16(m, ar);
}

static inline void dm_question(struct dm_buf *m, const char *name, uint16_t type)
{
	dm_name(m, name);
	dm_u16(m, type);
	dm_u16(m, LDNS_RR_CLASS_IN);
}

/* A record after its owner name (written by the caller, maybe compressed). */
static inline void dm_rr_tail(struct dm_buf *m, uint16_t type, uint32_t ttl, const void *rdata,
			      uint16_t rdlen)
{
	dm_u16(m, type);
	dm_u16(m, LDNS_RR_CLASS_IN);
	dm_u32(m, ttl);
	dm_u16(m, rdlen);
	dm_bytes(m, rdata, rdlen);
}

static inline void dm_rr(struct dm_buf *m, const char *owner, uint16_t type, uint32_t ttl,
			 const void *rdata, uint16_t rdlen)
{
	dm_name(m, owner);
	dm_rr_tail(m, type, ttl, rdata, rdlen);
}

/* Frames. The resolver answers the pod: resolver:53 -> pod:pod_port. */
#define DM_RESOLVER4 "192.0.2.53"
#define DM_POD4	     "198.51.100.7"
#define DM_RESOLVER6 "2001:db8::53"
#define DM_POD6	     "2001:db8:1::7"
#define DM_POD_PORT  40000

static inline uint16_t dm_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline uint64_t dm_sum(uint64_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint64_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint64_t)p[n - 1] << 8;
	return sum;
}

/*
 * Ethernet + IPv4/IPv6 + UDP around payload, into out (cap bytes). The UDP
 * checksum field is left as csum (tests set it to garbage or 0). Returns the
 * frame length, or 0 if it does not fit.
 */
static inline size_t dm_frame(uint8_t *out, size_t cap, uint8_t family, const char *src,
			      const char *dst, uint16_t sport, uint16_t dport,
			      const uint8_t *payload, size_t plen, uint16_t csum)
{
	size_t iphl = family == PW_FAMILY_V4 ? 20 : 40, total = 14 + iphl + 8 + plen;
	uint8_t *ip = out + 14, *udp = ip + iphl;
	uint16_t ulen = (uint16_t)(8 + plen);

	if (total > cap || plen > 65000)
		return 0;
	memset(out, 0, total);
	memcpy(out, "\x02\x00\x00\x00\x00\x07\x02\x00\x00\x00\x00\x53", 12);
	if (family == PW_FAMILY_V4) {
		uint16_t tot = (uint16_t)(20 + ulen), hc;

		out[12] = 0x08;
		out[13] = 0x00;
		ip[0] = 0x45;
		ip[2] = (uint8_t)(tot >> 8);
		ip[3] = (uint8_t)tot;
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = 17;
		inet_pton(AF_INET, src, ip + 12);
		inet_pton(AF_INET, dst, ip + 16);
		hc = (uint16_t)~dm_fold(dm_sum(0, ip, 20));
		ip[10] = (uint8_t)(hc >> 8);
		ip[11] = (uint8_t)hc;
	} else {
		out[12] = 0x86;
		out[13] = 0xdd;
		ip[0] = 0x60;
		ip[4] = (uint8_t)(ulen >> 8);
		ip[5] = (uint8_t)ulen;
		ip[6] = 17;
		ip[7] = 64;
		inet_pton(AF_INET6, src, ip + 8);
		inet_pton(AF_INET6, dst, ip + 24);
	}
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	udp[6] = (uint8_t)(csum >> 8);
	udp[7] = (uint8_t)csum;
	memcpy(udp + 8, payload, plen);
	return total;
}

/* The meta pod_ingress would record for a frame made by dm_frame. */
static inline void dm_meta(struct pw_dns_meta *meta, uint8_t family, uint16_t dns_id)
{
	memset(meta, 0, sizeof(*meta));
	meta->family = family;
	meta->proto = 17; /* UDP; dm_frame_tcp's frames: 6 */
	meta->pod_port = htons(DM_POD_PORT);
	meta->dns_id = htons(dns_id);
	if (family == PW_FAMILY_V4)
		inet_pton(AF_INET, DM_RESOLVER4, &meta->resolver.v4);
	else
		inet_pton(AF_INET6, DM_RESOLVER6, meta->resolver.v6);
}

/*
 * Ethernet + IPv4/IPv6 + TCP (ACK|PSH, a 20-byte header) around a DNS message
 * over TCP: the 2-byte length prefix (prefix_adj added to it), then msg. The
 * TCP checksum field is left as csum. Returns the frame length, or 0 if it
 * does not fit.
 */
static inline size_t dm_frame_tcp(uint8_t *out, size_t cap, uint8_t family, const char *src,
				  const char *dst, uint16_t sport, uint16_t dport,
				  const uint8_t *msg, size_t mlen, int prefix_adj, uint16_t csum)
{
	size_t iphl = family == PW_FAMILY_V4 ? 20 : 40, l4len = 20 + 2 + mlen;
	size_t total = 14 + iphl + l4len;
	uint8_t *ip = out + 14, *tcp = ip + iphl;
	uint16_t prefix = (uint16_t)(mlen + prefix_adj);

	if (total > cap || mlen > 65000)
		return 0;
	memset(out, 0, total);
	memcpy(out, "\x02\x00\x00\x00\x00\x07\x02\x00\x00\x00\x00\x53", 12);
	if (family == PW_FAMILY_V4) {
		uint16_t tot = (uint16_t)(20 + l4len), hc;

		out[12] = 0x08;
		ip[0] = 0x45;
		ip[2] = (uint8_t)(tot >> 8);
		ip[3] = (uint8_t)tot;
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = 6;
		inet_pton(AF_INET, src, ip + 12);
		inet_pton(AF_INET, dst, ip + 16);
		hc = (uint16_t)~dm_fold(dm_sum(0, ip, 20));
		ip[10] = (uint8_t)(hc >> 8);
		ip[11] = (uint8_t)hc;
	} else {
		out[12] = 0x86;
		out[13] = 0xdd;
		ip[0] = 0x60;
		ip[4] = (uint8_t)(l4len >> 8);
		ip[5] = (uint8_t)l4len;
		ip[6] = 6;
		ip[7] = 64;
		inet_pton(AF_INET6, src, ip + 8);
		inet_pton(AF_INET6, dst, ip + 24);
	}
	memset(tcp, 0, 20);
	tcp[0] = (uint8_t)(sport >> 8);
	tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[4] = 0x11;	/* seq */
	tcp[11] = 0x22; /* ack */
	tcp[12] = 5 << 4;
	tcp[13] = 0x18; /* ACK, PSH */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	tcp[16] = (uint8_t)(csum >> 8);
	tcp[17] = (uint8_t)csum;
	tcp[20] = (uint8_t)(prefix >> 8);
	tcp[21] = (uint8_t)prefix;
	memcpy(tcp + 22, msg, mlen);
	return total;
}

/* Sum of the TCP pseudo-header and segment, checksum included: 0xffff when
 * the checksum is right. Independent of lib/core/dns.c on purpose. */
static inline uint16_t dm_tcp_verify(const uint8_t *frame, size_t tcp_off)
{
	uint64_t sum;
	size_t tlen;

	if (frame[12] == 0x08) {
		tlen = (size_t)(frame[14 + 2] << 8 | frame[14 + 3]) - 20;
		sum = dm_sum(0, frame + 14 + 12, 8);
	} else {
		tlen = (size_t)(frame[14 + 4] << 8 | frame[14 + 5]);
		sum = dm_sum(0, frame + 14 + 8, 32);
	}
	sum += 6 + tlen;
	return dm_fold(dm_sum(sum, frame + tcp_off, tlen));
}

/* Sum of the UDP pseudo-header and datagram, checksum field included: a valid
 * checksum makes this 0xffff. Independent of lib/core/dns.c on purpose. */
static inline uint16_t dm_udp_verify(const uint8_t *frame, size_t l4_off)
{
	const uint8_t *udp = frame + l4_off;
	uint16_t ulen = (uint16_t)(udp[4] << 8 | udp[5]);
	uint64_t sum;

	if (frame[12] == 0x08)
		sum = dm_sum(0, frame + 14 + 12, 8);
	else
		sum = dm_sum(0, frame + 14 + 8, 32);
	sum += 17 + ulen;
	return dm_fold(dm_sum(sum, udp, ulen));
}

#endif

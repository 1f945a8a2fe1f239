/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test helpers for DNS answers over TCP in several segments (lib/core/dnstcp):
 * one segment of the resolver's stream (any data at any sequence number) in
 * an Ethernet/IP/TCP frame, and the metadata pod_ingress sends with it.
 * Header-only, for the unit test and the fuzz target. Documentation addresses.
 */
#ifndef PODWALL_TESTS_TCPSEG_H
#define PODWALL_TESTS_TCPSEG_H

#include "dnsmsg.h"

/* resolver:53 -> pod:DM_POD_PORT, ACK|PSH, seq, data; 0 if it does not fit. */
static inline size_t ts_frame(uint8_t *out, size_t cap, uint8_t family, const char *src,
			      uint32_t seq, const uint8_t *data, size_t dlen)
{
	size_t iphl = family == PW_FAMILY_V4 ? 20 : 40, l4len = 20 + dlen;
	size_t total = 14 + iphl + l4len;
	uint8_t *ip = out + 14, *tcp = ip + iphl;

	if (total > cap || dlen > 65000)
		return 0;
	memset(out, 0, total);
	memcpy(out, "\x02\x00\x00\x00\x00\x07\x02\x00\x00\x00\x00\x53", 12);
	if (family == PW_FAMILY_V4) {
		out[12] = 0x08;
		ip[0] = 0x45;
		ip[2] = (uint8_t)((20 + l4len) >> 8);
		ip[3] = (uint8_t)(20 + l4len);
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = 6;
		inet_pton(AF_INET, src, ip + 12);
		inet_pton(AF_INET, DM_POD4, ip + 16);
	} else {
		out[12] = 0x86;
		out[13] = 0xdd;
		ip[0] = 0x60;
		ip[4] = (uint8_t)(l4len >> 8);
		ip[5] = (uint8_t)l4len;
		ip[6] = 6;
		ip[7] = 64;
		inet_pton(AF_INET6, src, ip + 8);
		inet_pton(AF_INET6, DM_POD6, ip + 24);
	}
	tcp[1] = 53;
	tcp[2] = (uint8_t)(DM_POD_PORT >> 8);
	tcp[3] = (uint8_t)DM_POD_PORT;
	tcp[4] = (uint8_t)(seq >> 24);
	tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8);
	tcp[7] = (uint8_t)seq;
	tcp[12] = 5 << 4;
	tcp[13] = 0x18; /* ACK, PSH */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	memcpy(tcp + 20, data, dlen);
	return total;
}

/* The meta pod_ingress sends with a segment of a message of msg_len bytes
 * (after its prefix) that starts at msg_seq. */
static inline void ts_meta(struct pw_dns_meta *m, uint8_t family, uint16_t dns_id, uint16_t msg_len,
			   uint32_t msg_seq, size_t frame_len)
{
	dm_meta(m, family, dns_id);
	m->proto = 6;
	m->ifindex = 7;
	m->ep_id = 3;
	m->tcp_msg_len = msg_len;
	m->tcp_msg_seq = msg_seq;
	m->pkt_len = (uint32_t)frame_len;
}

/* An answer with n AAAA records for big.example.test (2001:db8:100::<i>),
 * owners compressed to the question: about 28 bytes a record. */
static inline void ts_big_answer(struct dm_buf *m, uint16_t id, unsigned n)
{
	dm_header(m, id, DM_FLAGS_RESPONSE, 1, (uint16_t)n, 0, 0);
	dm_question(m, "big.example.test", LDNS_RR_TYPE_AAAA);
	for (unsigned i = 1; i <= n; i++) {
		uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00};

		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
		dm_u16(m, 0xc00c);
		dm_rr_tail(m, LDNS_RR_TYPE_AAAA, 300, a, 16);
	}
}

#endif

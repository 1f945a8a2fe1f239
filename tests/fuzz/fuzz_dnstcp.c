// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for DNS-over-TCP answers over several segments
 * (lib/core/dnstcp.c): segments of a resolver's stream at any offsets, in any
 * order, overlapping or not, some from the wrong address or with SYN/RST, for
 * two messages at once, then the reassembled message through the ldns parser.
 *
 * Input layout:
 *   byte 0    bit 0: IPv6; bit 1: a 4 KiB byte budget (else 1 MiB); bit 2: the
 *             rest also read as one raw frame tagged as a segment
 *   bytes 1-2 the message's length (12 + value % 8192)
 *   bytes 3-6 its first sequence number
 *   byte 7    n: how many segment ops follow (at most 32), 5 bytes each:
 *             offset (2, modulo the stream), length (2, modulo 2048), flags
 *             (0x01 the second message, 0x02 from another address, 0x04 SYN,
 *             0x08 the meta's length one off: a third message, never whole)
 *   rest      the message's bytes (repeated to its length)
 *
 * Invariants (abort on violation): a message is handed out only when every
 * byte of it was added exactly once since it was last dropped, and it is then
 * exactly the stream's bytes; the held segment comes with it; the counts stay
 * within the bounds; everything expires; no leaks (ASan).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dnstcp.h"
#include "../unit/tcpseg.h"

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__,         \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define MAX_OPS	 32
#define MAX_MSGS 2
#define ID	 0x5151

static uint8_t stream[8192 + 14];
static uint8_t cnt[3][sizeof(stream)]; /* bytes added, by message */
static uint8_t frame[2048 + 128];

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_dnstcp *r;
	uint8_t family, nops;
	uint16_t mlen;
	uint32_t seq0, total;
	size_t max_bytes, body, at;

	if (size < 8)
		return 0;
	family = data[0] & 1 ? PW_FAMILY_V6 : PW_FAMILY_V4;
	max_bytes = data[0] & 2 ? 4096 : 1 << 20;
	mlen = (uint16_t)(12 + rd16(data + 1) % 8192);
	seq0 = (uint32_t)data[3] << 24 | (uint32_t)data[4] << 16 | (uint32_t)data[5] << 8 | data[6];
	nops = data[7] % (MAX_OPS + 1);
	at = 8 + (size_t)nops * 5;
	if (at > size)
		return 0;
	body = size - at;
	total = (uint32_t)mlen + 2;
	stream[0] = (uint8_t)(mlen >> 8);
	stream[1] = (uint8_t)mlen;
	for (uint32_t i = 2; i < total; i++)
		stream[i] = body ? data[at + (i - 2) % body] : 0;
	memset(cnt, 0, sizeof(cnt));
	r = pw_dnstcp_new(MAX_MSGS, max_bytes, 1000);
	if (!r)
		return 0;

	for (uint8_t k = 0; k < nops; k++) {
		const uint8_t *op = data + 8 + (size_t)k * 5;
		uint32_t off = rd16(op) % total, len = rd16(op + 2) % 2048 + 1;
		uint8_t fl = op[4], w = fl & 8 ? 2 : fl & 1;
		struct pw_dns_meta meta;
		struct pw_dnstcp_held held;
		enum pw_dnstcp_res res;
		const char *why = NULL;
		uint8_t *msg = NULL;
		size_t flen, n;
		const char *src = family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6;

		if (len > total - off)
			len = total - off;
		if (fl & 2)
			src = family == PW_FAMILY_V4 ? "192.0.2.54" : "2001:db8::54";
		flen = ts_frame(frame, sizeof(frame), family, src, seq0 + off, stream + off, len);
		check(flen);
		if (fl & 4)
			frame[14 + (family == PW_FAMILY_V4 ? 20 : 40) + 13] |= 0x02;
		ts_meta(&meta, family, ID, (uint16_t)(mlen + !!(fl & 8)), seq0, flen);
		memcpy(&meta.dns_id, stream + 2, 2);
		meta.ifindex += fl & 1;
		res = pw_dnstcp_add(r, &meta, frame, flen, k, &msg, &n, &held, &why);
		check(pw_dnstcp_count(r) <= MAX_MSGS);
		check(pw_dnstcp_bytes(r) <= max_bytes);
		if (res == PW_DT_KEPT) {
			check(!msg && !held.frame);
			for (uint32_t i = off; i < off + len; i++)
				cnt[w][i]++;
			continue;
		}
		if (res == PW_DT_DONE) {
			struct pw_dns_answer *ans = calloc(1, sizeof(*ans));

			for (uint32_t i = off; i < off + len; i++)
				cnt[w][i]++;
			check(!(fl & 0x06));
			for (uint32_t i = 0; i < total; i++)
				check(cnt[w][i] == 1);
			check(msg && n == mlen && !memcmp(msg, stream + 2, n));
			check(held.frame && held.meta.tcp_msg_len == mlen &&
			      held.len <= sizeof(frame));
			if (ans) {
				(void)pw_dns_parse_answer(msg, n, meta.dns_id, ans, &why);
				check(ans->n_addrs <= PW_DNS_MAX_ADDRS);
			}
			free(ans);
		} else {
			check(!msg && why);
		}
		/* done or dropped: the message starts over */
		memset(cnt[w], 0, sizeof(cnt[w]));
		free(msg);
		pw_dnstcp_held_free(&held);
	}
	if (data[0] & 4) {
		struct pw_dns_meta meta;
		struct pw_dnstcp_held held;
		const char *why;
		uint8_t *msg;
		size_t n;

		ts_meta(&meta, family, ID, mlen, seq0, size);
		(void)pw_dnstcp_add(r, &meta, data, size, 0, &msg, &n, &held, &why);
		free(msg);
		pw_dnstcp_held_free(&held);
	}
	(void)pw_dnstcp_expire(r, 1 << 20, NULL, NULL);
	check(pw_dnstcp_count(r) == 0 && pw_dnstcp_bytes(r) == 0);
	pw_dnstcp_free(r);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DNS answers over TCP in several segments (lib/core/dnstcp.c): put back
 * together by sequence number whatever order the copies arrive in, handed out
 * only when every byte came exactly once, then parsed by the ldns path; a
 * message that does not fit together is dropped whole, its held segment
 * handed back; bounds and expiry.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "dns.h"
#include "dnstcp.h"
#include "table.h"
#include "tcpseg.h"

#define ID	  0x4242
#define MAX_STEPS 8
#define AGE	  1000000000ULL

enum tamper { T_NONE, T_PREFIX, T_ID, T_SRC, T_OUTSIDE };

struct row {
	const char *name;
	uint8_t family;
	unsigned records;	  /* AAAA records in the answer */
	size_t mss;		  /* bytes of stream a segment */
	uint32_t seq0;		  /* the message's first sequence number */
	int order[MAX_STEPS + 1]; /* segments in the order they arrive; -1 ends */
	enum tamper tamper;
	int tamper_seg; /* T_SRC: which segment comes from elsewhere */
	enum pw_dnstcp_res want[MAX_STEPS];
	bool want_held; /* the failing step hands back a held segment */
};

static const struct row rows[] = {
	{"in order, 3 segments: kept, kept, done",
	 PW_FAMILY_V4,
	 100,
	 1200,
	 1000,
	 {0, 1, 2, -1},
	 .want = {PW_DT_KEPT, PW_DT_KEPT, PW_DT_DONE}},
	{"held segment first (copies from other CPUs later): done on the last copy",
	 PW_FAMILY_V4,
	 100,
	 1200,
	 1000,
	 {2, 0, 1, -1},
	 .want = {PW_DT_KEPT, PW_DT_KEPT, PW_DT_DONE}},
	{"reverse order, IPv6",
	 PW_FAMILY_V6,
	 100,
	 1000,
	 77,
	 {2, 1, 0, -1},
	 .want = {PW_DT_KEPT, PW_DT_KEPT, PW_DT_DONE}},
	{"sequence numbers wrap inside the message",
	 PW_FAMILY_V4,
	 100,
	 710,
	 0xfffffc00u,
	 {0, 1, 2, 3, -1},
	 .want = {PW_DT_KEPT, PW_DT_KEPT, PW_DT_KEPT, PW_DT_DONE}},
	{"two segments, first one only 3 bytes (the prefix split)",
	 PW_FAMILY_V4,
	 60,
	 3,
	 5,
	 {1, 0, -1},
	 .want = {PW_DT_KEPT, PW_DT_KEPT}},
	{"a copy twice: the message is dropped, nothing learned",
	 PW_FAMILY_V4,
	 100,
	 1200,
	 1000,
	 {0, 0, -1},
	 .want = {PW_DT_KEPT, PW_DT_BAD}},
	{"held segment, then a copy twice: dropped, the held one handed back",
	 PW_FAMILY_V4,
	 100,
	 1200,
	 1000,
	 {2, 1, 1, -1},
	 .want = {PW_DT_KEPT, PW_DT_KEPT, PW_DT_BAD},
	 .want_held = true},
	{"length prefix not the one recorded: dropped when whole, held handed back",
	 PW_FAMILY_V4,
	 100,
	 1200,
	 1000,
	 {0, 1, 2, -1},
	 T_PREFIX,
	 .want = {PW_DT_KEPT, PW_DT_KEPT, PW_DT_BAD},
	 .want_held = true},
	{"DNS id not the one recorded: dropped when whole",
	 PW_FAMILY_V6,
	 100,
	 1200,
	 1000,
	 {0, 1, 2, -1},
	 T_ID,
	 .want = {PW_DT_KEPT, PW_DT_KEPT, PW_DT_BAD},
	 .want_held = true},
	{"a segment from another address: its message dropped",
	 PW_FAMILY_V4,
	 100,
	 1200,
	 1000,
	 {2, 1, -1},
	 T_SRC,
	 1,
	 .want = {PW_DT_KEPT, PW_DT_BAD},
	 .want_held = true},
	{"a segment past the message's end: refused, the message dropped",
	 PW_FAMILY_V4,
	 100,
	 1200,
	 1000,
	 {0, 2, -1},
	 T_OUTSIDE,
	 .want = {PW_DT_KEPT, PW_DT_BAD}},
};

struct stream {
	uint8_t bytes[8192]; /* the length prefix, then the message */
	size_t len;
	uint16_t msg_len;
};

static void make_stream(struct stream *s, unsigned records, enum tamper t)
{
	struct dm_buf m;

	ts_big_answer(&m, ID, records);
	assert_true(m.n + 2 <= sizeof(s->bytes));
	s->msg_len = (uint16_t)m.n;
	s->bytes[0] = (uint8_t)(m.n >> 8);
	s->bytes[1] = (uint8_t)m.n;
	if (t == T_PREFIX)
		s->bytes[1] ^= 1;
	memcpy(s->bytes + 2, m.b, m.n);
	s->len = m.n + 2;
}

/* Segment i of the stream cut every mss bytes, in frame (len returned). */
static size_t seg(const struct row *r, const struct stream *s, int i, uint8_t *frame, size_t cap,
		  struct pw_dns_meta *meta)
{
	size_t off = (size_t)i * r->mss, n = s->len - off < r->mss ? s->len - off : r->mss;
	const char *src = r->family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6;
	size_t len;

	if (r->tamper == T_SRC && i == r->tamper_seg)
		src = r->family == PW_FAMILY_V4 ? "192.0.2.54" : "2001:db8::54";
	len = ts_frame(frame, cap, r->family, src, r->seq0 + (uint32_t)off, s->bytes + off, n);
	assert_int_not_equal(len, 0);
	ts_meta(meta, r->family, r->tamper == T_ID ? ID + 1 : ID, s->msg_len,
		r->tamper == T_OUTSIDE ? r->seq0 - 100 : r->seq0, len);
	return len;
}

static void run_row(void **state)
{
	const struct row *r = *state;
	struct pw_dnstcp *t = pw_dnstcp_new(4, 1 << 20, AGE);
	struct stream s;
	uint8_t frame[2048], last_frame[2048];
	size_t last_len = 0;
	int n_segs, step;

	assert_non_null(t);
	make_stream(&s, r->records, r->tamper);
	n_segs = (int)((s.len + r->mss - 1) / r->mss);
	for (step = 0; step < MAX_STEPS && r->order[step] >= 0; step++) {
		struct pw_dns_meta meta;
		struct pw_dnstcp_held held;
		enum pw_dnstcp_res res;
		const char *why = NULL;
		uint8_t *msg = NULL;
		size_t mlen = 0, len;

		assert_true(r->order[step] < n_segs);
		len = seg(r, &s, r->order[step], frame, sizeof(frame), &meta);
		if (r->order[step] == n_segs - 1) {
			memcpy(last_frame, frame, len);
			last_len = len;
		}
		res = pw_dnstcp_add(t, &meta, frame, len, 10, &msg, &mlen, &held, &why);
		if (res != r->want[step])
			fail_msg("step %d (segment %d): result %d, want %d (%s)", step,
				 r->order[step], res, r->want[step], why ? why : "-");
		if (res == PW_DT_DONE) {
			struct pw_dns_answer *ans = calloc(1, sizeof(*ans));

			assert_int_equal(mlen, s.msg_len);
			assert_memory_equal(msg, s.bytes + 2, mlen);
			assert_non_null(held.frame);
			assert_int_equal(held.len, last_len);
			assert_memory_equal(held.frame, last_frame, last_len);
			assert_int_equal(held.meta.tcp_msg_seq, r->seq0);
			assert_int_equal(held.l4_off, r->family == PW_FAMILY_V4 ? 34 : 54);
			assert_int_equal(pw_dns_parse_answer(msg, mlen, htons(ID), ans, &why), 0);
			assert_string_equal(ans->qname, "big.example.test");
			assert_int_equal(ans->n_addrs, r->records < PW_DNS_MAX_ADDRS
							       ? r->records
							       : PW_DNS_MAX_ADDRS);
			free(ans);
			assert_int_equal(pw_dnstcp_count(t), 0);
			assert_int_equal(pw_dnstcp_bytes(t), 0);
		} else if (res != PW_DT_KEPT) {
			assert_non_null(why);
			assert_null(msg);
			if (r->want_held != (held.frame != NULL))
				fail_msg("step %d: held segment %s, want %s", step,
					 held.frame ? "handed back" : "none",
					 r->want_held ? "handed back" : "none");
			if (held.frame)
				assert_memory_equal(held.frame, last_frame, last_len);
			/* the message is gone whole: nothing more of it completes */
			assert_int_equal(pw_dnstcp_count(t), 0);
		} else {
			assert_null(msg);
			assert_null(held.frame);
		}
		free(msg);
		pw_dnstcp_held_free(&held);
	}
	pw_dnstcp_free(t);
}

static int held_seen;

static void on_held(void *ctx, const struct pw_dnstcp_held *h)
{
	assert_non_null(h->frame);
	held_seen++;
}

/* A message whose other segments never come: dropped after max_age, its held
 * segment handed to the callback; younger ones stay. */
static void test_expire(void **state)
{
	static const struct row r = {"", PW_FAMILY_V4, 100, 1200, 1000};
	struct pw_dnstcp *t = pw_dnstcp_new(4, 1 << 20, AGE);
	struct pw_dns_meta meta;
	struct pw_dnstcp_held held;
	struct stream s;
	uint8_t frame[2048], *msg;
	const char *why;
	size_t len, mlen;

	make_stream(&s, 100, T_NONE);
	len = seg(&r, &s, 2, frame, sizeof(frame), &meta); /* the held one */
	assert_int_equal(pw_dnstcp_add(t, &meta, frame, len, 100, &msg, &mlen, &held, &why),
			 PW_DT_KEPT);
	len = seg(&r, &s, 0, frame, sizeof(frame), &meta);
	meta.dns_id = htons(ID + 7);
	assert_int_equal(pw_dnstcp_add(t, &meta, frame, len, 100 + AGE, &msg, &mlen, &held, &why),
			 PW_DT_KEPT);
	assert_int_equal(pw_dnstcp_count(t), 2);
	held_seen = 0;
	assert_int_equal(pw_dnstcp_expire(t, 100 + AGE, on_held, NULL), 0);
	assert_int_equal(pw_dnstcp_expire(t, 101 + AGE, on_held, NULL), 1);
	assert_int_equal(held_seen, 1);
	assert_int_equal(pw_dnstcp_count(t), 1);
	assert_int_equal(pw_dnstcp_expire(t, 101 + 2 * AGE, NULL, NULL), 1);
	assert_int_equal(pw_dnstcp_count(t), 0);
	assert_int_equal(pw_dnstcp_bytes(t), 0);
	pw_dnstcp_free(t);
}

/* Over max_msgs or max_bytes a new message is refused (the held segment of
 * the refused one handed back); the ones in progress go on. */
static void test_bounds(void **state)
{
	static const struct row r = {"", PW_FAMILY_V4, 100, 1200, 1000};
	struct pw_dnstcp *t = pw_dnstcp_new(2, 1 << 20, AGE), *small;
	struct pw_dns_meta meta;
	struct pw_dnstcp_held held;
	struct stream s;
	uint8_t frame[2048], *msg;
	const char *why;
	size_t len, mlen;

	make_stream(&s, 100, T_NONE);
	for (uint32_t i = 0; i < 3; i++) {
		len = seg(&r, &s, 0, frame, sizeof(frame), &meta);
		meta.ifindex = 7 + i; /* another pod's stream */
		assert_int_equal(pw_dnstcp_add(t, &meta, frame, len, 1, &msg, &mlen, &held, &why),
				 i < 2 ? PW_DT_KEPT : PW_DT_FULL);
		assert_null(held.frame);
	}
	assert_int_equal(pw_dnstcp_count(t), 2);
	len = seg(&r, &s, 2, frame, sizeof(frame), &meta);
	meta.ifindex = 20;
	assert_int_equal(pw_dnstcp_add(t, &meta, frame, len, 1, &msg, &mlen, &held, &why),
			 PW_DT_FULL);
	assert_non_null(held.frame); /* the held segment of the refused message */
	pw_dnstcp_held_free(&held);
	pw_dnstcp_free(t);

	small = pw_dnstcp_new(8, 1000, AGE); /* smaller than one message's buffer */
	len = seg(&r, &s, 0, frame, sizeof(frame), &meta);
	assert_int_equal(pw_dnstcp_add(small, &meta, frame, len, 1, &msg, &mlen, &held, &why),
			 PW_DT_FULL);
	assert_null(held.frame);
	assert_int_equal(pw_dnstcp_bytes(small), 0);
	pw_dnstcp_free(small);
}

/* Frames pw_dnstcp_segment refuses: each one, and every truncation of a good
 * one, never read past its end (ASan). */
static void test_segment_refused(void **state)
{
	uint8_t frame[256], data[40] = {0, 38};
	struct pw_dns_meta meta;
	const uint8_t *d;
	const char *why;
	size_t len, dlen, l4;
	uint32_t seq;

	len = ts_frame(frame, sizeof(frame), PW_FAMILY_V4, DM_RESOLVER4, 9, data, sizeof(data));
	ts_meta(&meta, PW_FAMILY_V4, ID, 38, 9, len);
	assert_int_equal(pw_dnstcp_segment(frame, len, &meta, &seq, &d, &dlen, &l4, &why), 0);
	assert_int_equal(seq, 9);
	assert_int_equal(dlen, sizeof(data));
	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, frame, n);
		assert_int_equal(pw_dnstcp_segment(cut, n, &meta, &seq, &d, &dlen, &l4, &why),
				 -EINVAL);
		assert_non_null(why);
		free(cut);
	}
	frame[14 + 20 + 13] |= 0x04; /* RST */
	assert_int_equal(pw_dnstcp_segment(frame, len, &meta, &seq, &d, &dlen, &l4, &why), -EINVAL);
	frame[14 + 20 + 13] &= (uint8_t)~0x04;
	frame[14 + 20 + 3] ^= 1; /* another pod port */
	assert_int_equal(pw_dnstcp_segment(frame, len, &meta, &seq, &d, &dlen, &l4, &why), -EINVAL);
	frame[14 + 20 + 3] ^= 1;
	meta.family = PW_FAMILY_V6; /* not the query's family */
	assert_int_equal(pw_dnstcp_segment(frame, len, &meta, &seq, &d, &dlen, &l4, &why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_segment_refused),
	};
	int failed = run_table("dnstcp rows", run_row, rows, sizeof(rows[0]),
			       sizeof(rows) / sizeof(rows[0]));

	return failed + cmocka_run_group_tests(tests, NULL, NULL);
}

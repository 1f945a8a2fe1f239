// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The DNS learn step: held frames to payload, answers to addresses, checksum.
 * Messages are real wire format: built with ldns where ldns will write them,
 * by hand (dnsmsg.h) where the point is that they are malformed.
 *
 * PW_DNS_WRITE_CORPUS=DIR also writes the fuzz seed corpus into DIR.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "dns.h"
#include "ipaddr.h"
#include "dnsmsg.h"

#define ID 0x4242

#include "dnsrows.h"

static void check_addrs(const struct pw_dns_answer *ans, const struct want_addr *want,
			const char *desc)
{
	size_t n = 0;

	while (n < 8 && want[n].ip)
		n++;
	if (ans->n_addrs != n)
		fail_msg("%s: %zu addresses, want %zu", desc, ans->n_addrs, n);
	for (size_t i = 0; i < n; i++) {
		uint8_t family;
		union pw_ip ip;

		assert_int_equal(pw_ip_parse(want[i].ip, &family, &ip), 0);
		if (ans->addrs[i].family != family || memcmp(&ans->addrs[i].addr, &ip, sizeof(ip)))
			fail_msg("%s: address %zu differs from %s", desc, i, want[i].ip);
		if (ans->addrs[i].ttl != want[i].ttl)
			fail_msg("%s: %s ttl %u, want %u", desc, want[i].ip, ans->addrs[i].ttl,
				 want[i].ttl);
	}
}

static void test_parse_table(void **state)
{
	for (size_t r = 0; r < sizeof(parse_rows) / sizeof(parse_rows[0]); r++) {
		const struct parse_row *row = &parse_rows[r];
		struct dm_spec spec = row->spec;
		struct pw_dns_answer ans;
		const char *why = NULL;
		uint16_t flags, id = row->expect_id ? row->expect_id : ID;
		uint8_t *wire;
		size_t len;
		int ret;

		spec.id = ID;
		if (dm_build(&spec, &wire, &len))
			fail_msg("%s: ldns could not build the message", row->desc);
		flags = (uint16_t)(wire[2] << 8 | wire[3]);
		flags = (uint16_t)((flags | row->set_flags) & ~row->clr_flags);
		wire[2] = (uint8_t)(flags >> 8);
		wire[3] = (uint8_t)flags;
		ret = pw_dns_parse_answer(wire, len, htons(id), &ans, &why);
		free(wire);
		if (ret != row->ret)
			fail_msg("%s: returned %d (%s), want %d", row->desc, ret, why ? why : "-",
				 row->ret);
		if (ret) {
			if (!why || !*why)
				fail_msg("%s: no reason given", row->desc);
			assert_int_equal(ans.n_addrs, 0);
			continue;
		}
		if (strcmp(ans.qname, row->qname))
			fail_msg("%s: qname \"%s\", want \"%s\"", row->desc, ans.qname, row->qname);
		if (ans.qtype != row->qtype || ans.rcode != row->rcode)
			fail_msg("%s: qtype %u rcode %u, want %u %u", row->desc, ans.qtype,
				 ans.rcode, row->qtype, row->rcode);
		check_addrs(&ans, row->addrs, row->desc);
		if (row->n_ignored != ANY && ans.n_ignored != row->n_ignored)
			fail_msg("%s: n_ignored %zu, want %zu", row->desc, ans.n_ignored,
				 row->n_ignored);
		if (ans.chain_broken != row->chain_broken)
			fail_msg("%s: chain_broken %d", row->desc, ans.chain_broken);
	}
}

static int parse_buf(const struct dm_buf *m, struct pw_dns_answer *ans, const char **why)
{
	return pw_dns_parse_answer(m->b, m->n, htons(ID), ans, why);
}

/* The question name's text, from its wire labels: plain names as they are
 * (lowercased), any byte a hostname cannot hold (which ldns escapes or
 * writes as is) makes it no hostname, and so do the root and an empty label. */
static void test_qname_text(void **state)
{
	static const struct {
		const char *wire; /* labels, each after its length; the final 0 implied */
		size_t len;
		const char *want;
	} rows[] = {
#define W(s) s, sizeof(s) - 1
		{W("\x03"
		   "API"
		   "\x07"
		   "Example"
		   "\x03"
		   "COM"),
		 "api.example.com"},
		{W("\x04"
		   "_srv"
		   "\x03"
		   "x-y"
		   "\x07"
		   "example"),
		 "_srv.x-y.example"},
		{W("\x03"
		   "a.b"
		   "\x07"
		   "example"),
		 ""}, /* a dot in a label */
		{W("\x03"
		   "a\\b"
		   "\x07"
		   "example"),
		 ""}, /* a backslash */
		{W("\x03"
		   "a b"
		   "\x07"
		   "example"),
		 ""}, /* a space */
		{W("\x01"
		   "*"
		   "\x07"
		   "example"),
		 ""},
		{W("\x02"
		   "a\x00"
		   "\x07"
		   "example"),
		 ""},
		{W("\x02"
		   "\xc3\xa9"
		   "\x07"
		   "example"),
		 ""},
		{W(""), ""}, /* the root */
#undef W
	};
	struct pw_dns_answer ans;
	const char *why;
	struct dm_buf m;
	char lab63[64], want[256], name[256];

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 0, 0, 0);
		dm_bytes(&m, rows[r].wire, rows[r].len);
		dm_u8(&m, 0);
		dm_u16(&m, LDNS_RR_TYPE_A);
		dm_u16(&m, LDNS_RR_CLASS_IN);
		assert_int_equal(parse_buf(&m, &ans, &why), 0);
		if (strcmp(ans.qname, rows[r].want))
			fail_msg("row %zu: qname \"%s\", want \"%s\"", r, ans.qname, rows[r].want);
	}
	/* the longest label, and the longest name (4 x 63 bytes: 255 on the
	 * wire, 254 characters with its dot, 253 without: PW_FQDN_MAX) */
	memset(lab63, 'X', 63);
	lab63[63] = '\0';
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", lab63, lab63, lab63, lab63);
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 0, 0, 0);
	dm_question(&m, name, LDNS_RR_TYPE_A);
	assert_int_equal(parse_buf(&m, &ans, &why), 0);
	for (size_t i = 0; name[i]; i++)
		want[i] = name[i] == 'X' ? 'x' : name[i];
	want[strlen(name)] = '\0';
	assert_int_equal(strlen(want), PW_FQDN_MAX);
	assert_string_equal(ans.qname, want);
}

/* 200 A records: capped at PW_DNS_MAX_ADDRS, the rest counted, nothing overflows. */
static void test_cap(void **state)
{
	struct pw_dns_answer ans;
	const char *why;
	struct dm_buf m;

	for (int v6 = 0; v6 <= 1; v6++) {
		dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 200, 0, 0);
		dm_question(&m, "many.example.com", v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A);
		for (int i = 1; i <= 200; i++) {
			uint8_t a4[4] = {192, 0, 2, (uint8_t)i};
			uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)i};

			/* owner: pointer to the question name */
			dm_u16(&m, 0xc00c);
			if (v6)
				dm_rr_tail(&m, LDNS_RR_TYPE_AAAA, 60, a6, 16);
			else
				dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, a4, 4);
		}
		assert_int_equal(parse_buf(&m, &ans, &why), 0);
		assert_int_equal(ans.n_addrs, PW_DNS_MAX_ADDRS);
		assert_int_equal(ans.n_ignored, 200 - PW_DNS_MAX_ADDRS);
		assert_int_equal(ans.addrs[PW_DNS_MAX_ADDRS - 1].addr.v6[v6 ? 15 : 3],
				 PW_DNS_MAX_ADDRS);
	}
}

/* The same address 200 times is one address, not a full table. */
static void test_cap_duplicates(void **state)
{
	static const uint8_t a4[4] = {192, 0, 2, 1};
	struct pw_dns_answer ans;
	const char *why;
	struct dm_buf m;

	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 201, 0, 0);
	dm_question(&m, "many.example.com", LDNS_RR_TYPE_A);
	for (uint32_t i = 1; i <= 200; i++) {
		dm_u16(&m, 0xc00c);
		dm_rr_tail(&m, LDNS_RR_TYPE_A, i, a4, 4);
	}
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 5, "\xc0\x00\x02\x02", 4);
	assert_int_equal(parse_buf(&m, &ans, &why), 0);
	assert_int_equal(ans.n_addrs, 2);
	assert_int_equal(ans.addrs[0].ttl, 200);
	assert_int_equal(ans.n_ignored, 0);
}

struct bad_row {
	const char *desc;
	void (*build)(struct dm_buf *m);
};

static void ptr_self_question(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 0, 0, 0);
	dm_u16(m, 0xc00c); /* the name at offset 12 points at itself */
	dm_u16(m, LDNS_RR_TYPE_A);
	dm_u16(m, LDNS_RR_CLASS_IN);
}

static void ptr_pair_question(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 0, 0, 0);
	dm_u16(m, 0xc00e); /* 12 -> 14 */
	dm_u16(m, 0xc00c); /* 14 -> 12 */
	dm_u16(m, LDNS_RR_TYPE_A);
	dm_u16(m, LDNS_RR_CLASS_IN);
}

static void ptr_label_loop_question(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 0, 0, 0);
	dm_bytes(m, "\003api", 4); /* api.<back to api> ... */
	dm_u16(m, 0xc00c);
	dm_u16(m, LDNS_RR_TYPE_A);
	dm_u16(m, LDNS_RR_CLASS_IN);
}

static void ptr_loop_owner(struct dm_buf *m)
{
	size_t at;

	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(m, "api.example.com", LDNS_RR_TYPE_A);
	at = m->n;
	dm_u16(m, (uint16_t)(0xc000 | at)); /* owner points at itself */
	dm_rr_tail(m, LDNS_RR_TYPE_A, 60, "\xc0\x00\x02\x01", 4);
}

static void ptr_loop_cname_target(struct dm_buf *m)
{
	size_t at;

	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(m, 0xc00c);
	dm_u16(m, LDNS_RR_TYPE_CNAME);
	dm_u16(m, LDNS_RR_CLASS_IN);
	dm_u32(m, 60);
	dm_u16(m, 2);
	at = m->n;
	dm_u16(m, (uint16_t)(0xc000 | at));
}

static void ptr_loop_additional(struct dm_buf *m)
{
	size_t at;

	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 1);
	dm_question(m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(m, 0xc00c);
	dm_rr_tail(m, LDNS_RR_TYPE_A, 60, "\xc0\x00\x02\x01", 4);
	at = m->n;
	dm_bytes(m, "\x01x", 2);
	dm_u16(m, (uint16_t)(0xc000 | at));
	dm_rr_tail(m, LDNS_RR_TYPE_A, 60, "\xc0\x00\x02\x02", 4);
}

static void ptr_outside(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 0, 0, 0);
	dm_u16(m, 0xc000 | 0x3fff);
	dm_u16(m, LDNS_RR_TYPE_A);
	dm_u16(m, LDNS_RR_CLASS_IN);
}

static void ptr_to_header(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(m, 0xc000); /* offset 0: "compression pointer to 0" */
	dm_rr_tail(m, LDNS_RR_TYPE_A, 60, "\xc0\x00\x02\x01", 4);
}

static void name_too_long(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 0, 0, 0);
	for (int i = 0; i < 5; i++) {
		dm_u8(m, 63);
		for (int j = 0; j < 63; j++)
			dm_u8(m, 'a');
	}
	dm_u8(m, 0);
	dm_u16(m, LDNS_RR_TYPE_A);
	dm_u16(m, LDNS_RR_CLASS_IN);
}

static void label_reserved_bits(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 0, 0, 0);
	dm_u8(m, 0x41); /* 01xxxxxx: extended label type */
	dm_bytes(m, "api", 3);
	dm_u8(m, 0);
	dm_u16(m, LDNS_RR_TYPE_A);
	dm_u16(m, LDNS_RR_CLASS_IN);
}

static void header_only(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
}

static void short_header(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 0, 0, 0);
	m->n = 11;
}

static void no_question(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 0, 1, 0, 0);
	dm_rr(m, "api.example.com", LDNS_RR_TYPE_A, 60, "\xc0\x00\x02\x01", 4);
}

static void counts_lie(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 3, 0, 0);
	dm_question(m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(m, 0xc00c);
	dm_rr_tail(m, LDNS_RR_TYPE_A, 60, "\xc0\x00\x02\x01", 4);
}

static void rdata_past_end(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(m, 0xc00c);
	dm_u16(m, LDNS_RR_TYPE_A);
	dm_u16(m, LDNS_RR_CLASS_IN);
	dm_u32(m, 60);
	dm_u16(m, 40);
	dm_bytes(m, "\xc0\x00\x02\x01", 4);
}

static void cut_in_fixed_part(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE | 0x0200, 1, 1, 0, 0); /* even with TC */
	dm_question(m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(m, 0xc00c);
	dm_u16(m, LDNS_RR_TYPE_A);
	dm_u16(m, LDNS_RR_CLASS_IN);
}

static void question_cut(struct dm_buf *m)
{
	dm_header(m, ID, DM_FLAGS_RESPONSE | 0x0200, 1, 0, 0, 0);
	dm_name(m, "api.example.com");
	dm_u16(m, LDNS_RR_TYPE_A);
}

/* clang-format off */
static const struct bad_row bad_rows[] = {
	{"compression pointer to itself (question)", ptr_self_question},
	{"two compression pointers pointing at each other", ptr_pair_question},
	{"label then a pointer back to it", ptr_label_loop_question},
	{"answer owner pointing at itself", ptr_loop_owner},
	{"CNAME target pointing at itself", ptr_loop_cname_target},
	{"loop in the additional section", ptr_loop_additional},
	{"pointer outside the message", ptr_outside},
	{"pointer to offset 0", ptr_to_header},
	{"name longer than 255 bytes", name_too_long},
	{"label type 01 (reserved)", label_reserved_bits},
	{"header only, counts promise records", header_only},
	{"shorter than a header", short_header},
	{"no question", no_question},
	{"more answers counted than present, TC clear", counts_lie},
	{"RDLENGTH past the end", rdata_past_end},
	{"cut inside a record's fixed part, TC set", cut_in_fixed_part},
	{"question cut, TC set", question_cut},
};
/* clang-format on */

static void test_malformed(void **state)
{
	for (size_t r = 0; r < sizeof(bad_rows) / sizeof(bad_rows[0]); r++) {
		struct pw_dns_answer ans;
		const char *why = NULL;
		struct dm_buf m;
		int ret;

		bad_rows[r].build(&m);
		ret = parse_buf(&m, &ans, &why);
		if (ret != -EINVAL || !why)
			fail_msg("%s: returned %d, want -EINVAL with a reason", bad_rows[r].desc,
				 ret);
		assert_int_equal(ans.n_addrs, 0);
	}
}

/* Counts that promise more than a TC answer carries: what is there is used. */
static void test_tc_counts(void **state)
{
	struct pw_dns_answer ans;
	const char *why;
	struct dm_buf m;

	counts_lie(&m);
	m.b[2] |= 0x02; /* TC */
	assert_int_equal(parse_buf(&m, &ans, &why), 0);
	assert_int_equal(ans.n_addrs, 1);
}

/* RDLENGTH is what the pod's resolver follows: a record ldns would decode to a
 * different length is skipped, and the next one is read where the pod reads it. */
static void test_rdlength(void **state)
{
	static const uint8_t five[5] = {198, 51, 100, 1, 0};
	static const uint8_t root_then_junk[2] = {0x00, 0x04};
	static const uint8_t runs_on[2] = {0x03, 'a'};
	struct pw_dns_answer ans;
	const char *why;
	struct dm_buf m;

	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 7, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, five, 5); /* too long */
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, five, 3); /* too short */
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, five, 0); /* empty */
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_AAAA, 60, five, 4); /* AAAA of 4 bytes */
	/* CNAMEs whose name ends before / runs past their RDLENGTH (2) */
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_CNAME, 60, root_then_junk, 2);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_CNAME, 60, runs_on, 2);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, "\xc0\x00\x02\x01", 4);
	assert_int_equal(parse_buf(&m, &ans, &why), 0);
	assert_int_equal(ans.n_addrs, 1);
	assert_memory_equal(&ans.addrs[0].addr, "\xc0\x00\x02\x01", 4);
	assert_int_equal(ans.n_ignored, 6);
}

/* clang-format off */
static const struct dm_spec rich = {
	.id = ID,
	.question = "api.example.com. IN A",
	.an = {"api.example.com. 300 IN CNAME edge.example.net.",
	       "edge.example.net. 300 IN CNAME lb.example.org.",
	       "lb.example.org. 60 IN A 203.0.113.5", "lb.example.org. 60 IN A 203.0.113.6",
	       "evil.example.net. 60 IN A 198.51.100.66"},
	.ns = {"example.org. 3600 IN NS ns1.example.org."},
	.ar = {"ns1.example.org. 3600 IN A 198.51.100.53",
	       "ns1.example.org. 3600 IN AAAA 2001:db8::53"},
	.edns_ext_rcode = 0,
};
/* clang-format on */

static bool is_subset(const struct pw_dns_answer *part, const struct pw_dns_answer *full)
{
	for (size_t i = 0; i < part->n_addrs; i++) {
		bool found = false;

		for (size_t j = 0; j < full->n_addrs && !found; j++)
			found = part->addrs[i].family == full->addrs[j].family &&
				!memcmp(&part->addrs[i].addr, &full->addrs[j].addr,
					sizeof(union pw_ip));
		if (!found)
			return false;
	}
	return true;
}

/* Every prefix of a valid message: -EINVAL, or (TC) a subset; never a crash. */
static void test_truncated_everywhere(void **state)
{
	struct pw_dns_answer full, ans;
	const char *why;
	uint8_t *wire, *cut;
	size_t len, ok_cuts = 0;

	assert_int_equal(dm_build(&rich, &wire, &len), 0);
	assert_int_equal(pw_dns_parse_answer(wire, len, htons(ID), &full, &why), 0);
	assert_int_equal(full.n_addrs, 2);
	for (int tc = 0; tc <= 1; tc++) {
		if (tc)
			wire[2] |= 0x02;
		for (size_t l = 0; l < len; l++) {
			int ret;

			/* a fresh allocation of exactly l bytes: ASan sees any overread */
			cut = malloc(l ? l : 1);
			assert_non_null(cut);
			memcpy(cut, wire, l);
			ret = pw_dns_parse_answer(cut, l, htons(ID), &ans, &why);
			free(cut);
			if (ret == 0) {
				if (!tc)
					fail_msg("cut at %zu of %zu parsed without TC", l, len);
				assert_true(is_subset(&ans, &full));
				ok_cuts++;
			} else {
				assert_int_equal(ret, -EINVAL);
				assert_int_equal(ans.n_addrs, 0);
			}
		}
	}
	/* with TC, cuts at record boundaries parse */
	assert_true(ok_cuts >= 5);
	free(wire);
}

/* Trailing bytes after the last record change nothing (the pod ignores them too). */
static void test_trailing_bytes(void **state)
{
	struct pw_dns_answer ans;
	const char *why;
	uint8_t *wire, *big;
	size_t len;

	assert_int_equal(dm_build(&rich, &wire, &len), 0);
	big = calloc(1, len + 7);
	assert_non_null(big);
	memcpy(big, wire, len);
	assert_int_equal(pw_dns_parse_answer(big, len + 7, htons(ID), &ans, &why), 0);
	assert_int_equal(ans.n_addrs, 2);
	free(big);
	free(wire);
}

/* ---- frames ---- */

struct frame_row {
	const char *desc;
	uint8_t family;	       /* of the frame */
	uint8_t meta_family;   /* 0: same */
	const char *src;       /* NULL: the resolver */
	uint16_t sport, dport; /* 0: 53 / DM_POD_PORT */
	void (*mutate)(uint8_t *f, size_t *len);
	int ret;
	const char *why; /* substring */
};

static void mut_ihl6(uint8_t *f, size_t *len)
{
	/* a real 24-byte header: options inserted, lengths kept consistent */
	memmove(f + 14 + 24, f + 14 + 20, *len - 34);
	memset(f + 14 + 20, 1, 4); /* NOP options */
	f[14] = 0x46;
	*len += 4;
	f[14 + 3] = (uint8_t)(f[14 + 3] + 4);
}

static void mut_mf(uint8_t *f, size_t *len)
{
	f[14 + 6] = 0x20;
}

static void mut_frag_off(uint8_t *f, size_t *len)
{
	f[14 + 6] = 0x00;
	f[14 + 7] = 0x10;
}

static void mut_vlan(uint8_t *f, size_t *len)
{
	f[12] = 0x81;
	f[13] = 0x00;
}

static void mut_qinq(uint8_t *f, size_t *len)
{
	f[12] = 0x88;
	f[13] = 0xa8;
}

static void mut_arp(uint8_t *f, size_t *len)
{
	f[12] = 0x08;
	f[13] = 0x06;
}

static void mut_short(uint8_t *f, size_t *len)
{
	*len = 10;
}

static void mut_short_ip4(uint8_t *f, size_t *len)
{
	*len = 14 + 19;
}

static void mut_short_ip6(uint8_t *f, size_t *len)
{
	*len = 14 + 39;
}

static void mut_cut_payload(uint8_t *f, size_t *len)
{
	*len -= 1;
}

static void mut_trailing(uint8_t *f, size_t *len)
{
	f[*len] = 0;
	*len += 4;
}

static void mut_ulen(uint8_t *f, size_t *len)
{
	size_t udp = f[12] == 0x08 ? 34 : 54;

	f[udp + 5] = (uint8_t)(f[udp + 5] - 1);
}

static void mut_ulen_small(uint8_t *f, size_t *len)
{
	size_t udp = f[12] == 0x08 ? 34 : 54;

	f[udp + 4] = 0;
	f[udp + 5] = 4;
}

static void mut_proto_tcp(uint8_t *f, size_t *len)
{
	if (f[12] == 0x08)
		f[14 + 9] = 6;
	else
		f[14 + 6] = 6;
}

static void mut_ext_hdr(uint8_t *f, size_t *len)
{
	f[14 + 6] = 0; /* hop-by-hop options */
}

static void mut_ver(uint8_t *f, size_t *len)
{
	f[14] = (uint8_t)((f[14] & 0x0f) | (f[12] == 0x08 ? 0x60 : 0x40));
}

static void mut_totlen_big(uint8_t *f, size_t *len)
{
	f[14 + 2] = 0xff;
}

static void mut_totlen_small(uint8_t *f, size_t *len)
{
	f[14 + 2] = 0;
	f[14 + 3] = 20;
}

static void mut_v6_plen(uint8_t *f, size_t *len)
{
	f[14 + 5] = (uint8_t)(f[14 + 5] + 1);
}

/* clang-format off */
static const struct frame_row frame_rows[] = {
	{"valid IPv4", PW_FAMILY_V4, .ret = 0},
	{"valid IPv6", PW_FAMILY_V6, .ret = 0},
	{"IPv4 with DF is fine", PW_FAMILY_V4, .ret = 0},
	{"wrong resolver v4", PW_FAMILY_V4, .src = "192.0.2.54", .ret = -EINVAL,
	 .why = "resolver"},
	{"wrong resolver v6", PW_FAMILY_V6, .src = "2001:db8::54", .ret = -EINVAL,
	 .why = "resolver"},
	{"source port not 53", PW_FAMILY_V4, .sport = 5353, .ret = -EINVAL, .why = "53"},
	{"wrong destination port", PW_FAMILY_V4, .dport = DM_POD_PORT + 1, .ret = -EINVAL,
	 .why = "destination port"},
	{"wrong destination port v6", PW_FAMILY_V6, .dport = 53, .ret = -EINVAL,
	 .why = "destination port"},
	{"frame v4, query v6", PW_FAMILY_V4, .meta_family = PW_FAMILY_V6, .ret = -EINVAL,
	 .why = "family"},
	{"frame v6, query v4", PW_FAMILY_V6, .meta_family = PW_FAMILY_V4, .ret = -EINVAL,
	 .why = "family"},
	{"IPv4 options", PW_FAMILY_V4, .mutate = mut_ihl6, .ret = -EINVAL, .why = "options"},
	{"IPv4 more-fragments", PW_FAMILY_V4, .mutate = mut_mf, .ret = -EINVAL,
	 .why = "fragment"},
	{"IPv4 fragment offset", PW_FAMILY_V4, .mutate = mut_frag_off, .ret = -EINVAL,
	 .why = "fragment"},
	{"VLAN ethertype", PW_FAMILY_V4, .mutate = mut_vlan, .ret = -EINVAL, .why = "VLAN"},
	{"QinQ ethertype", PW_FAMILY_V4, .mutate = mut_qinq, .ret = -EINVAL, .why = "VLAN"},
	{"ARP ethertype", PW_FAMILY_V4, .mutate = mut_arp, .ret = -EINVAL, .why = "ethertype"},
	{"short frame", PW_FAMILY_V4, .mutate = mut_short, .ret = -EINVAL, .why = "Ethernet"},
	{"truncated IPv4 header", PW_FAMILY_V4, .mutate = mut_short_ip4, .ret = -EINVAL,
	 .why = "truncated"},
	{"truncated IPv6 header", PW_FAMILY_V6, .mutate = mut_short_ip6, .ret = -EINVAL,
	 .why = "truncated"},
	{"frame shorter than IPv4 total length", PW_FAMILY_V4, .mutate = mut_cut_payload,
	 .ret = -EINVAL, .why = "total length"},
	{"frame shorter than IPv6 payload length", PW_FAMILY_V6, .mutate = mut_cut_payload,
	 .ret = -EINVAL, .why = "payload length"},
	{"bytes after the IPv4 packet", PW_FAMILY_V4, .mutate = mut_trailing, .ret = -EINVAL,
	 .why = "total length"},
	{"bytes after the IPv6 packet", PW_FAMILY_V6, .mutate = mut_trailing, .ret = -EINVAL,
	 .why = "payload length"},
	{"IPv4 total length past the frame", PW_FAMILY_V4, .mutate = mut_totlen_big,
	 .ret = -EINVAL, .why = "total length"},
	{"IPv4 total length below a UDP header", PW_FAMILY_V4, .mutate = mut_totlen_small,
	 .ret = -EINVAL, .why = "total length"},
	{"IPv6 payload length past the frame", PW_FAMILY_V6, .mutate = mut_v6_plen,
	 .ret = -EINVAL, .why = "payload length"},
	{"UDP length one short", PW_FAMILY_V4, .mutate = mut_ulen, .ret = -EINVAL,
	 .why = "UDP length"},
	{"UDP length one short v6", PW_FAMILY_V6, .mutate = mut_ulen, .ret = -EINVAL,
	 .why = "UDP length"},
	{"UDP length below its header", PW_FAMILY_V4, .mutate = mut_ulen_small, .ret = -EINVAL,
	 .why = "UDP length"},
	{"IPv4 TCP", PW_FAMILY_V4, .mutate = mut_proto_tcp, .ret = -EINVAL, .why = "UDP"},
	{"IPv6 TCP", PW_FAMILY_V6, .mutate = mut_proto_tcp, .ret = -EINVAL, .why = "UDP"},
	{"IPv6 extension header", PW_FAMILY_V6, .mutate = mut_ext_hdr, .ret = -EINVAL,
	 .why = "extension"},
	{"IPv4 ethertype, version 6", PW_FAMILY_V4, .mutate = mut_ver, .ret = -EINVAL,
	 .why = "version"},
	{"IPv6 ethertype, version 4", PW_FAMILY_V6, .mutate = mut_ver, .ret = -EINVAL,
	 .why = "version"},
};
/* clang-format on */

static size_t rich_frame(uint8_t *buf, size_t cap, uint8_t family, const char *src, uint16_t sport,
			 uint16_t dport, uint8_t **wire, size_t *wlen)
{
	assert_int_equal(dm_build(&rich, wire, wlen), 0);
	return dm_frame(buf, cap, family, src, family == PW_FAMILY_V4 ? DM_POD4 : DM_POD6, sport,
			dport, *wire, *wlen, 0x1234);
}

static void test_frame_table(void **state)
{
	for (size_t r = 0; r < sizeof(frame_rows) / sizeof(frame_rows[0]); r++) {
		const struct frame_row *row = &frame_rows[r];
		const char *src = row->src			? row->src
				  : row->family == PW_FAMILY_V4 ? DM_RESOLVER4
								: DM_RESOLVER6;
		struct pw_dns_meta meta;
		const uint8_t *payload = NULL;
		const char *why = NULL;
		size_t len, plen = 0, l4_off = 0, wlen;
		uint8_t buf[2048], *wire, *frame;
		int ret;

		len = rich_frame(buf, sizeof(buf) - 64, row->family, src,
				 row->sport ? row->sport : 53,
				 row->dport ? row->dport : DM_POD_PORT, &wire, &wlen);
		assert_true(len > 0);
		dm_meta(&meta, row->meta_family ? row->meta_family : row->family, ID);
		if (row->mutate)
			row->mutate(buf, &len);
		frame = malloc(len); /* exact size: ASan catches any overread */
		assert_non_null(frame);
		memcpy(frame, buf, len);
		ret = pw_dns_frame_payload(frame, len, &meta, &payload, &plen, &l4_off, &why);
		if (ret != row->ret)
			fail_msg("%s: returned %d (%s), want %d", row->desc, ret, why ? why : "-",
				 row->ret);
		if (ret) {
			if (!why || !strstr(why, row->why))
				fail_msg("%s: reason \"%s\" lacks \"%s\"", row->desc,
					 why ? why : "", row->why);
		} else {
			assert_int_equal(l4_off, row->family == PW_FAMILY_V4 ? 34 : 54);
			assert_int_equal(plen, wlen);
			assert_ptr_equal(payload, frame + l4_off + 8);
			assert_memory_equal(payload, wire, wlen);
		}
		free(frame);
		free(wire);
	}
}

/* A minimum-size Ethernet frame may carry padding after the IP packet. */
static void test_frame_padding(void **state)
{
	struct pw_dns_meta meta;
	const uint8_t *payload;
	const char *why;
	uint8_t f[64], msg[12] = {0x42, 0x42, 0x81, 0x80};
	size_t len, plen, l4_off;

	len = dm_frame(f, sizeof(f), PW_FAMILY_V4, DM_RESOLVER4, DM_POD4, 53, DM_POD_PORT, msg,
		       sizeof(msg), 0);
	assert_int_equal(len, 54);
	dm_meta(&meta, PW_FAMILY_V4, ID);
	memset(f + len, 0, 60 - len);
	assert_int_equal(pw_dns_frame_payload(f, 60, &meta, &payload, &plen, &l4_off, &why), 0);
	assert_int_equal(plen, 12);
	/* padding beyond the minimum frame size is not padding */
	assert_int_equal(pw_dns_frame_payload(f, 61, &meta, &payload, &plen, &l4_off, &why),
			 -EINVAL);
}

/* Frame to addresses, as the agent runs it. */
static void test_frame_then_parse(void **state)
{
	for (uint8_t family = PW_FAMILY_V4; family <= PW_FAMILY_V6; family += 2) {
		struct pw_dns_answer ans;
		struct pw_dns_meta meta;
		const uint8_t *payload;
		const char *why;
		size_t len, plen, l4_off, wlen;
		uint8_t buf[2048], *wire;

		len = rich_frame(buf, sizeof(buf), family,
				 family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6, 53,
				 DM_POD_PORT, &wire, &wlen);
		dm_meta(&meta, family, ID);
		assert_int_equal(
			pw_dns_frame_payload(buf, len, &meta, &payload, &plen, &l4_off, &why), 0);
		assert_int_equal(pw_dns_parse_answer(payload, plen, meta.dns_id, &ans, &why), 0);
		assert_string_equal(ans.qname, "api.example.com");
		assert_int_equal(ans.n_addrs, 2);
		assert_int_equal(pw_dns_fix_l4_checksum(buf, len, l4_off), 0);
		assert_int_equal(dm_udp_verify(buf, l4_off), 0xffff);
		free(wire);
	}
}

/* ---- checksum ---- */

static void test_checksum(void **state)
{
	static const uint16_t garbage[] = {0x1234, 0xffff, 0x0001, 0xbeef};
	/* even and odd payload lengths */
	static const size_t plens[] = {12, 13, 33, 512, 1401};

	for (uint8_t family = PW_FAMILY_V4; family <= PW_FAMILY_V6; family += 2) {
		for (size_t p = 0; p < sizeof(plens) / sizeof(plens[0]); p++) {
			for (size_t g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++) {
				uint8_t payload[1500], f[1600], *frame;
				size_t len, l4_off = family == PW_FAMILY_V4 ? 34 : 54;

				for (size_t i = 0; i < plens[p]; i++)
					payload[i] = (uint8_t)(i * 37 + g);
				len = dm_frame(f, sizeof(f), family,
					       family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6,
					       family == PW_FAMILY_V4 ? DM_POD4 : DM_POD6, 53,
					       DM_POD_PORT, payload, plens[p], garbage[g]);
				frame = malloc(len);
				assert_non_null(frame);
				memcpy(frame, f, len);
				assert_int_equal(pw_dns_fix_l4_checksum(frame, len, l4_off), 0);
				assert_int_equal(dm_udp_verify(frame, l4_off), 0xffff);
				/* a second pass leaves a correct checksum as it is */
				memcpy(f, frame, len);
				assert_int_equal(pw_dns_fix_l4_checksum(frame, len, l4_off), 0);
				assert_memory_equal(f, frame, len);
				free(frame);
			}
		}
	}
}

/* IPv4 "no checksum" stays 0; a datagram whose sum is 0 gets 0xffff. */
static void test_checksum_zero(void **state)
{
	uint8_t f[128], payload[16] = {0};
	size_t len;

	len = dm_frame(f, sizeof(f), PW_FAMILY_V4, DM_RESOLVER4, DM_POD4, 53, DM_POD_PORT, payload,
		       sizeof(payload), 0);
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, 34), 0);
	assert_int_equal(f[34 + 6] | f[34 + 7], 0);

	/* IPv6: 0 is not allowed, it is computed */
	len = dm_frame(f, sizeof(f), PW_FAMILY_V6, DM_RESOLVER6, DM_POD6, 53, DM_POD_PORT, payload,
		       sizeof(payload), 0);
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, 54), 0);
	assert_int_equal(dm_udp_verify(f, 54), 0xffff);

	/* Choose two payload bytes so that the one's complement sum is 0xffff:
	 * the computed checksum is then 0, which must be sent as 0xffff. */
	len = dm_frame(f, sizeof(f), PW_FAMILY_V4, DM_RESOLVER4, DM_POD4, 53, DM_POD_PORT, payload,
		       sizeof(payload), 1);
	{
		uint16_t s;

		f[34 + 6] = 0;
		f[34 + 7] = 0;
		s = dm_udp_verify(f, 34); /* sum with checksum 0 and payload zero */
		s = (uint16_t)(0xffff - s);
		f[42] = (uint8_t)(s >> 8);
		f[43] = (uint8_t)s;
		assert_int_equal(dm_udp_verify(f, 34), 0xffff);
		f[34 + 7] = 1; /* non-zero: must be recomputed */
	}
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, 34), 0);
	assert_int_equal(f[34 + 6], 0xff);
	assert_int_equal(f[34 + 7], 0xff);
	assert_int_equal(dm_udp_verify(f, 34), 0xffff);
}

static void test_checksum_bounds(void **state)
{
	uint8_t f[128], payload[16] = {0};
	size_t len;

	len = dm_frame(f, sizeof(f), PW_FAMILY_V4, DM_RESOLVER4, DM_POD4, 53, DM_POD_PORT, payload,
		       sizeof(payload), 7);
	/* UDP length says more than the frame holds */
	assert_int_equal(pw_dns_fix_l4_checksum(f, len - 1, 34), -EINVAL);
	/* l4_off not where the IP header says */
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, 38), -EINVAL);
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, 54), -EINVAL);
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, SIZE_MAX), -EINVAL);
	assert_int_equal(pw_dns_fix_l4_checksum(f, 10, 34), -EINVAL);
	/* UDP length below its header */
	f[34 + 4] = 0;
	f[34 + 5] = 7;
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, 34), -EINVAL);
	/* not UDP or TCP */
	f[34 + 5] = 24;
	f[14 + 9] = 1; /* neither UDP nor TCP */
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, 34), -EINVAL);
	/* IPv4 options */
	f[14 + 9] = 17;
	f[14] = 0x46;
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, 34), -EINVAL);
	/* VLAN */
	f[14] = 0x45;
	f[12] = 0x81;
	assert_int_equal(pw_dns_fix_l4_checksum(f, len, 34), -EINVAL);
}

/* ---- DNS over TCP: one whole message after its length, in one segment ---- */

struct tcp_row {
	const char *desc;
	int prefix_adj;			       /* added to the length prefix */
	void (*mutate)(uint8_t *f, size_t l4); /* then this */
	uint8_t meta_proto;		       /* 0: TCP */
	int ret;
	const char *why;
};

static void tmut_syn(uint8_t *f, size_t l4)
{
	f[l4 + 13] |= 0x02;
}

static void tmut_rst(uint8_t *f, size_t l4)
{
	f[l4 + 13] |= 0x04;
}

static void tmut_fin(uint8_t *f, size_t l4)
{
	f[l4 + 13] |= 0x01; /* an answer with the resolver's FIN: fine */
}

static void tmut_sport(uint8_t *f, size_t l4)
{
	f[l4 + 1] = 54;
}

static void tmut_dport(uint8_t *f, size_t l4)
{
	f[l4 + 3] ^= 1;
}

static void tmut_doff_big(uint8_t *f, size_t l4)
{
	f[l4 + 12] = 15 << 4; /* 60 bytes of header */
}

static void tmut_doff_small(uint8_t *f, size_t l4)
{
	f[l4 + 12] = 4 << 4;
}

static void tmut_doff_opts(uint8_t *f, size_t l4)
{
	f[l4 + 12] = 6 << 4; /* 4 bytes of options: the prefix is read as one */
}

/* clang-format off */
static const struct tcp_row tcp_rows[] = {
	{"one whole message", 0, NULL, 0, 0, NULL},
	{"FIN with the answer", 0, tmut_fin, 0, 0, NULL},
	{"length prefix one short: two messages, or trailing bytes", -1, NULL, 0, -EINVAL,
	 "one whole DNS message"},
	{"length prefix one long: the rest in a later segment", 1, NULL, 0, -EINVAL,
	 "one whole DNS message"},
	{"SYN", 0, tmut_syn, 0, -EINVAL, "SYN or RST"},
	{"RST", 0, tmut_rst, 0, -EINVAL, "SYN or RST"},
	{"source port not 53", 0, tmut_sport, 0, -EINVAL, "TCP source port"},
	{"destination port not the query's", 0, tmut_dport, 0, -EINVAL, "TCP destination port"},
	{"data offset 15 words: the prefix read inside the message", 0, tmut_doff_big, 0, -EINVAL,
	 "one whole DNS message"},
	{"data offset under 5 words", 0, tmut_doff_small, 0, -EINVAL, "data offset"},
	{"options eat the prefix", 0, tmut_doff_opts, 0, -EINVAL, "one whole DNS message"},
	{"a TCP frame for a UDP query", 0, NULL, 17, -EINVAL, "not UDP"},
	{"meta with no protocol", 0, NULL, 255, -EINVAL, "neither UDP nor TCP"},
};
/* clang-format on */

static void test_frame_tcp_table(void **state)
{
	for (size_t r = 0; r < sizeof(tcp_rows) / sizeof(tcp_rows[0]); r++) {
		const struct tcp_row *row = &tcp_rows[r];

		for (uint8_t family = PW_FAMILY_V4; family <= PW_FAMILY_V6; family += 2) {
			size_t l4 = family == PW_FAMILY_V4 ? 34 : 54, len, plen = 0, l4_off = 0;
			struct pw_dns_meta meta;
			const uint8_t *payload = NULL;
			const char *why = NULL;
			uint8_t buf[2048], *wire, *frame;
			size_t wlen;
			int ret;

			assert_int_equal(dm_build(&rich, &wire, &wlen), 0);
			len = dm_frame_tcp(buf, sizeof(buf), family,
					   family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6,
					   family == PW_FAMILY_V4 ? DM_POD4 : DM_POD6, 53,
					   DM_POD_PORT, wire, wlen, row->prefix_adj, 0x1234);
			assert_true(len > 0);
			if (row->mutate)
				row->mutate(buf, l4);
			dm_meta(&meta, family, ID);
			meta.proto = row->meta_proto == 255 ? 0
				     : row->meta_proto	    ? row->meta_proto
							    : 6;
			frame = malloc(len); /* exact size: ASan catches any overread */
			assert_non_null(frame);
			memcpy(frame, buf, len);
			ret = pw_dns_frame_payload(frame, len, &meta, &payload, &plen, &l4_off,
						   &why);
			if (ret != row->ret)
				fail_msg("%s (IPv%u): returned %d (%s), want %d", row->desc, family,
					 ret, why ? why : "-", row->ret);
			if (ret) {
				if (!why || !strstr(why, row->why))
					fail_msg("%s: reason \"%s\" lacks \"%s\"", row->desc,
						 why ? why : "", row->why);
			} else {
				struct pw_dns_answer ans;

				assert_int_equal(l4_off, l4);
				assert_int_equal(plen, wlen);
				assert_ptr_equal(payload, frame + l4 + 20 + 2);
				assert_memory_equal(payload, wire, wlen);
				assert_int_equal(
					pw_dns_parse_answer(payload, plen, meta.dns_id, &ans, &why),
					0);
				assert_string_equal(ans.qname, "api.example.com");
				assert_int_equal(ans.n_addrs, 2);
				assert_int_equal(pw_dns_fix_l4_checksum(frame, len, l4_off), 0);
				assert_int_equal(dm_tcp_verify(frame, l4_off), 0xffff);
			}
			free(frame);
			free(wire);
		}
	}
}

/* The TCP checksum is always computed (0 is a checksum like any other), over
 * even and odd lengths, and a second pass changes nothing. */
static void test_checksum_tcp(void **state)
{
	static const uint16_t garbage[] = {0x1234, 0, 0xffff};
	static const size_t mlens[] = {12, 13, 511, 1400};

	for (uint8_t family = PW_FAMILY_V4; family <= PW_FAMILY_V6; family += 2) {
		for (size_t m = 0; m < sizeof(mlens) / sizeof(mlens[0]); m++) {
			for (size_t g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++) {
				uint8_t msg[1500], f[1600], *frame;
				size_t len, l4 = family == PW_FAMILY_V4 ? 34 : 54;

				for (size_t i = 0; i < mlens[m]; i++)
					msg[i] = (uint8_t)(i * 41 + g);
				len = dm_frame_tcp(f, sizeof(f), family,
						   family == PW_FAMILY_V4 ? DM_RESOLVER4
									  : DM_RESOLVER6,
						   family == PW_FAMILY_V4 ? DM_POD4 : DM_POD6, 53,
						   DM_POD_PORT, msg, mlens[m], 0, garbage[g]);
				frame = malloc(len);
				assert_non_null(frame);
				memcpy(frame, f, len);
				assert_int_equal(pw_dns_fix_l4_checksum(frame, len, l4), 0);
				assert_int_equal(dm_tcp_verify(frame, l4), 0xffff);
				memcpy(f, frame, len);
				assert_int_equal(pw_dns_fix_l4_checksum(frame, len, l4), 0);
				assert_memory_equal(f, frame, len);
				/* the IP length says more than the frame holds */
				assert_int_equal(pw_dns_fix_l4_checksum(frame, len - 1, l4),
						 -EINVAL);
				free(frame);
			}
		}
	}
}

/* A GSO answer's partial checksum: the pseudo-header's sum, which, completed
 * as the kernel completes it (the one's complement sum from the TCP header to
 * the end, complemented, in the field), gives the segment's right checksum.
 * Not for UDP. */
static void test_checksum_partial(void **state)
{
	static const size_t mlens[] = {13, 1400, 2900};

	for (uint8_t family = PW_FAMILY_V4; family <= PW_FAMILY_V6; family += 2) {
		for (size_t m = 0; m < sizeof(mlens) / sizeof(mlens[0]); m++) {
			uint8_t msg[3000], f[3200];
			size_t len, l4 = family == PW_FAMILY_V4 ? 34 : 54;
			uint16_t c;

			for (size_t i = 0; i < mlens[m]; i++)
				msg[i] = (uint8_t)(i * 43 + m);
			len = dm_frame_tcp(f, sizeof(f), family,
					   family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6,
					   family == PW_FAMILY_V4 ? DM_POD4 : DM_POD6, 53,
					   DM_POD_PORT, msg, mlens[m], 0, 0x4321);
			assert_int_equal(pw_dns_partial_l4_checksum(f, len, l4), 0);
			assert_int_not_equal(dm_tcp_verify(f, l4), 0xffff);
			c = (uint16_t)~dm_fold(dm_sum(0, f + l4, len - l4));
			f[l4 + 16] = (uint8_t)(c >> 8);
			f[l4 + 17] = (uint8_t)c;
			assert_int_equal(dm_tcp_verify(f, l4), 0xffff);
			assert_int_equal(pw_dns_partial_l4_checksum(f, len - 1, l4), -EINVAL);
		}
	}
	{
		uint8_t f[128], payload[16] = {1};
		size_t len = dm_frame(f, sizeof(f), PW_FAMILY_V4, DM_RESOLVER4, DM_POD4, 53,
				      DM_POD_PORT, payload, sizeof(payload), 0x1234);

		assert_int_equal(pw_dns_partial_l4_checksum(f, len, 34), -EINVAL);
	}
}

/* ---- seed corpus for tests/fuzz/fuzz_dns.c ---- */

static void write_seed(const char *dir, const char *name, uint8_t sel, uint8_t mode,
		       const uint8_t *msg, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputc(sel, f);
	fputc(mode, f);
	fwrite(msg, 1, len, f);
	fclose(f);
}

static void write_corpus(const char *dir)
{
	/* clang-format off */
	static const struct {
		const char *name;
		struct dm_spec spec;
	} seeds[] = {
		{"a", {.question = "api.example.com. IN A",
		       .an = {"api.example.com. 300 IN A 192.0.2.10"}}},
		{"aaaa", {.question = "api.example.com. IN AAAA",
			  .an = {"api.example.com. 300 IN AAAA 2001:db8::10",
				 "api.example.com. 300 IN AAAA ::ffff:192.0.2.1"}}},
		{"chain", {.question = "x.github.example. IN A",
			   .an = {"x.github.example. 300 IN CNAME edge.example.net.",
				  "edge.example.net. 300 IN CNAME lb.example.org.",
				  "lb.example.org. 60 IN A 203.0.113.5",
				  "evil.example.net. 60 IN A 198.51.100.66"},
			   .ns = {"example.org. 3600 IN NS ns1.example.org."},
			   .ar = {"ns1.example.org. 3600 IN A 198.51.100.53"}}},
		{"loop", {.question = "a.s3.example. IN A",
			  .an = {"a.s3.example. 300 IN CNAME b.example.net.",
				 "b.example.net. 300 IN CNAME a.s3.example.",
				 "b.example.net. 300 IN A 192.0.2.10"}}},
		{"special", {.question = "api.example.com. IN A",
			     .an = {"api.example.com. 300 IN A 127.0.0.1",
				    "api.example.com. 300 IN A 169.254.169.254",
				    "api.example.com. 300 IN A 192.0.2.10",
				    "api.example.com. 300 IN A 192.0.2.10"}}},
		{"mx", {.question = "example.com. IN MX",
			.an = {"example.com. 300 IN MX 10 mail.example.com."},
			.ar = {"mail.example.com. 300 IN A 192.0.2.25"}}},
		{"dname", {.question = "api.example.com. IN A",
			   .an = {"example.com. 300 IN DNAME example.net.",
				  "api.example.com. 300 IN CNAME api.example.net.",
				  "api.example.net. 300 IN A 192.0.2.40"}}},
	};
	/* clang-format on */
	/* plain, v4 frame, v6 frame, names + raw frame; TCP v4 and v6 segments,
	 * and one with its length prefix off */
	static const uint8_t modes[] = {0x00, 0x01, 0x03, 0x14, 0x21, 0x23, 0x61};
	struct dm_buf m;

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct dm_spec spec = seeds[i].spec;
		char name[64];
		uint8_t *wire;
		size_t len;

		spec.id = ID;
		assert_int_equal(dm_build(&spec, &wire, &len), 0);
		for (size_t k = 0; k < sizeof(modes); k++) {
			snprintf(name, sizeof(name), "%s-%02x", seeds[i].name, modes[k]);
			write_seed(dir, name, (uint8_t)i, modes[k], wire, len);
		}
		/* the same message inside a captured frame, for the raw-frame mode */
		for (uint8_t family = PW_FAMILY_V4; family <= PW_FAMILY_V6; family += 2) {
			uint8_t frame[2048];
			size_t flen;

			/* raw frames are checked against a query with id 0x4242 */
			flen = dm_frame(frame, sizeof(frame), family,
					family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6,
					family == PW_FAMILY_V4 ? DM_POD4 : DM_POD6, 53, DM_POD_PORT,
					wire, len, 0);
			assert_true(flen > 0);
			snprintf(name, sizeof(name), "%s-frame%u", seeds[i].name, family);
			write_seed(dir, name, (uint8_t)i, 0x04, frame, flen);
			flen = dm_frame_tcp(frame, sizeof(frame), family,
					    family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6,
					    family == PW_FAMILY_V4 ? DM_POD4 : DM_POD6, 53,
					    DM_POD_PORT, wire, len, 0, 0);
			assert_true(flen > 0);
			snprintf(name, sizeof(name), "%s-tcpframe%u", seeds[i].name, family);
			write_seed(dir, name, (uint8_t)i, 0x04, frame, flen);
		}
		free(wire);
	}
	ptr_label_loop_question(&m);
	write_seed(dir, "ptrloop", 0, 0, m.b, m.n);
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 2, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, "\xc6\x33\x64\x01\x00", 5);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, "\xc0\x00\x02\x01", 4);
	write_seed(dir, "rdlen", 0, 1, m.b, m.n);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_qname_text),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_cap_duplicates),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_tc_counts),
		cmocka_unit_test(test_rdlength),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_frame_table),
		cmocka_unit_test(test_frame_padding),
		cmocka_unit_test(test_frame_then_parse),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_checksum_zero),
		cmocka_unit_test(test_checksum_bounds),
		cmocka_unit_test(test_frame_tcp_table),
		cmocka_unit_test(test_checksum_tcp),
		cmocka_unit_test(test_checksum_partial),
	};
	/* clang-format on */
	const char *corpus = getenv("PW_DNS_WRITE_CORPUS");

	if (corpus)
		write_corpus(corpus);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

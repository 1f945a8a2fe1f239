// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Hostnames and hostname patterns: normalize, validate, match. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fqdn.h"
#include "podwall/maps.h"

struct match_row {
	const char *pattern;
	const char *name;
	bool match;
};

/* clang-format off */
static const struct match_row match_rows[] = {
	/* exact */
	{"api.example.com", "api.example.com", true},
	{"api.example.com", "API.Example.COM", true},
	{"API.EXAMPLE.COM", "api.example.com", true},
	{"api.example.com", "api.example.com.", true},
	{"api.example.com.", "api.example.com", true},
	{"api.example.com", "x.api.example.com", false},
	{"api.example.com", "example.com", false},
	{"api.example.com", "api.example.co", false},
	{"api.example.com", "api.example.com.evil.net", false},
	{"api.example.com", "api.example.com..", false},
	{"api.example.com", "", false},
	{"", "", false},
	{"", "api.example.com", false},
	{"api.example.com", "apiXexample.com", false},
	/* "*." exactly one label */
	{"*.a.com", "x.a.com", true},
	{"*.a.com", "X.A.COM", true},
	{"*.a.com", "x.a.com.", true},
	{"*.a.com.", "x.a.com", true},
	{"*.a.com", "a.com", false},
	{"*.a.com", "x.y.a.com", false},
	{"*.a.com", ".a.com", false},
	{"*.a.com", "xa.com", false},
	{"*.a.com", "evila.com", false},
	{"*.a.com", "x.a.com.evil.net", false},
	{"*.a.com", "x.a.co", false},
	{"*.a.com", "x.a.comm", false},
	{"*.a.com", "*.a.com", false},
	{"*.a.com", "", false},
	{"*.", ".a.com", false},
	{"*.", "a", false},
	{"*.", "", false},
	{"*.github.com", "api.github.com", true},
	{"*.github.com", "github.com", false},
	{"*.github.com", "raw.api.github.com", false},
	{"*.github.com", "notgithub.com", false},
	{"*.github.com", "x.github.com.attacker.example", false},
	/* "**." one or more labels */
	{"**.a.com", "a.com", false},
	{"**.a.com", "x.a.com", true},
	{"**.a.com", "x.y.a.com", true},
	{"**.a.com", "v.w.x.y.z.a.com", true},
	{"**.a.com", "X.Y.A.COM.", true},
	{"**.a.com.", "x.a.com", true},
	{"**.a.com", "evila.com", false},
	{"**.a.com", "xa.com", false},
	{"**.a.com", ".a.com", false},
	{"**.a.com", "..a.com", false},
	{"**.a.com", "a.com.", false},
	{"**.a.com", "x.a.com.evil.net", false},
	{"**.a.com", "a.com.x", false},
	{"**.a.com", "*.a.com", false},
	{"**.a.com", "", false},
	{"**.", "a", false},
	{"**.", ".", false},
	{"**.s3.amazonaws.com", "bucket.s3.amazonaws.com", true},
	{"**.s3.amazonaws.com", "a.b.s3.amazonaws.com", true},
	{"**.s3.amazonaws.com", "s3.amazonaws.com", false},
	{"**.s3.amazonaws.com", "evils3.amazonaws.com", false},
	{"**.s3.amazonaws.com", "bucket.s3-amazonaws.com", false},
	/* a pattern is never matched as text against a name with '*' */
	{"*.a.com", "x*.a.com", false},
	{"x.a.com", "*.a.com", false},
};
/* clang-format on */

static void test_match_table(void **state)
{
	assert_true(sizeof(match_rows) / sizeof(match_rows[0]) >= 45);
	for (size_t i = 0; i < sizeof(match_rows) / sizeof(match_rows[0]); i++) {
		const struct match_row *r = &match_rows[i];

		if (pw_fqdn_match(r->pattern, r->name) != r->match)
			fail_msg("row %zu: match(\"%s\", \"%s\") should be %s", i, r->pattern,
				 r->name, r->match ? "true" : "false");
	}
}

struct valid_row {
	const char *in;
	bool is_pattern;
	const char *out; /* normalized form; NULL: refused */
};

#define L63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"
#define L64 L63 "4"

/* clang-format off */
static const struct valid_row valid_rows[] = {
	/* refused patterns */
	{"*", true, NULL},
	{"**", true, NULL},
	{"***", true, NULL},
	{"*.", true, NULL},
	{"**.", true, NULL},
	{"a.*.com", true, NULL},
	{"*a.com", true, NULL},
	{"a*.com", true, NULL},
	{"a.com*", true, NULL},
	{"*.*.com", true, NULL},
	{"**.*.com", true, NULL},
	{"*.**.com", true, NULL},
	{"***.a.com", true, NULL},
	{"* .a.com", true, NULL},
	{"*..a.com", true, NULL},
	{"**..a.com", true, NULL},
	{".a.com", true, NULL},
	{"a..com", true, NULL},
	{"a.com..", true, NULL},
	{"", true, NULL},
	{".", true, NULL},
	{"a b.com", true, NULL},
	{"a/b.com", true, NULL},
	{"a\\.b.com", true, NULL},
	{"\xc3\xa9.com", true, NULL},
	{"a.com\n", true, NULL},
	{"a:b.com", true, NULL},
	{L64 ".com", true, NULL},
	{"*." L64 ".com", true, NULL},
	/* names: matchName takes no wildcard */
	{"*.a.com", false, NULL},
	{"**.a.com", false, NULL},
	{"a.*.com", false, NULL},
	{"*", false, NULL},
	{"", false, NULL},
	{"a..com", false, NULL},
	{L64 ".com", false, NULL},
	{"a%.com", false, NULL},
	/* accepted, with their normalized form */
	{"api.example.com", false, "api.example.com"},
	{"API.Example.COM.", false, "api.example.com"},
	{"localhost", false, "localhost"},
	{"_svc._tcp.example.com", false, "_svc._tcp.example.com"},
	{"xn--bcher-kva.example", false, "xn--bcher-kva.example"},
	{"a-b.c-d.com", false, "a-b.c-d.com"},
	{"123.example.com", false, "123.example.com"},
	{L63 ".com", false, L63 ".com"},
	{"*.github.com", true, "*.github.com"},
	{"*.GitHub.Com.", true, "*.github.com"},
	{"**.s3.amazonaws.com", true, "**.s3.amazonaws.com"},
	{"**.S3.AmazonAWS.com.", true, "**.s3.amazonaws.com"},
	{"api.example.com", true, "api.example.com"},
	{"*.com", true, "*.com"},
	{"*." L63 ".com", true, "*." L63 ".com"},
};
/* clang-format on */

static void check_valid(const struct valid_row *r)
{
	char out[PW_FQDN_MAX + 1 + 16];
	const char *why = NULL;
	int ret;

	memset(out, 0x5a, sizeof(out));
	ret = pw_fqdn_pattern_normalize(r->in, r->is_pattern, out, &why);
	if (!r->out) {
		if (ret != -EINVAL || !why || !*why)
			fail_msg("\"%s\" (%s) should be refused with a reason, got %d", r->in,
				 r->is_pattern ? "pattern" : "name", ret);
		/* nothing past the documented buffer is ever written */
		for (size_t i = PW_FQDN_MAX + 1; i < sizeof(out); i++)
			assert_int_equal(out[i], 0x5a);
		return;
	}
	if (ret)
		fail_msg("\"%s\" refused: %s", r->in, why);
	if (strcmp(out, r->out))
		fail_msg("\"%s\" normalized to \"%s\", want \"%s\"", r->in, out, r->out);
	for (size_t i = PW_FQDN_MAX + 1; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x5a);
}

static void test_validate_table(void **state)
{
	for (size_t i = 0; i < sizeof(valid_rows) / sizeof(valid_rows[0]); i++)
		check_valid(&valid_rows[i]);
}

/* A name of exactly len characters: labels of 62 (the last up to 63), never a
 * leading, trailing or doubled dot. */
static const char *make_name(char *buf, const char *prefix, size_t len)
{
	size_t p = strlen(prefix);

	memcpy(buf, prefix, p);
	for (size_t i = 0; i < len; i++)
		buf[p + i] = (i + 1) % 63 == 0 && i + 1 != len ? '.' : 'a';
	buf[p + len] = '\0';
	return buf;
}

static void check_guard(const char *out)
{
	for (size_t i = PW_FQDN_MAX + 1; i < PW_FQDN_MAX + 1 + 16; i++)
		if (out[i] != 0x5a)
			fail_msg("byte %zu past the %d-byte output was written", i,
				 PW_FQDN_MAX + 1);
}

/* Length limits at their edges: 253 characters for a name and for a whole
 * pattern, and the output buffer (PW_FQDN_MAX + 1) is never overrun. */
static void test_lengths(void **state)
{
	/* clang-format off */
	static const struct {
		const char *prefix;
		size_t len;
		bool is_pattern;
		int ret;
	} rows[] = {
		{"", 253, false, 0},   {"", 254, false, -EINVAL}, {"", 253, true, 0},
		{"*.", 251, true, 0},  {"*.", 252, true, -EINVAL}, {"*.", 253, true, -EINVAL},
		{"**.", 250, true, 0}, {"**.", 251, true, -EINVAL}, {"**.", 253, true, -EINVAL},
		{"**.", 300, true, -EINVAL},
	};
	/* clang-format on */
	char name[400], out[PW_FQDN_MAX + 1 + 16];
	const char *why;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int ret;

		make_name(name, rows[i].prefix, rows[i].len);
		memset(out, 0x5a, sizeof(out));
		ret = pw_fqdn_pattern_normalize(name, rows[i].is_pattern, out, &why);
		if (ret != rows[i].ret)
			fail_msg("%s + %zu characters: %d, want %d", rows[i].prefix, rows[i].len,
				 ret, rows[i].ret);
		if (!ret && strcmp(out, name))
			fail_msg("%s + %zu characters: normalized differently", rows[i].prefix,
				 rows[i].len);
		check_guard(out);
	}
	/* plain names, with and without a trailing dot */
	make_name(name, "", 253);
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(pw_fqdn_normalize(name, out, &why), 0);
	check_guard(out);
	strcat(name, ".");
	assert_int_equal(pw_fqdn_normalize(name, out, &why), 0);
	assert_int_equal(strlen(out), 253);
	make_name(name, "", 254);
	assert_int_equal(pw_fqdn_normalize(name, out, &why), -EINVAL);
	assert_non_null(strstr(why, "253"));
}

/* Names normalize the way the agent uses them on DNS answers. */
static void test_normalize(void **state)
{
	/* clang-format off */
	static const struct {
		const char *in, *out;
	} rows[] = {
		{"Example.COM.", "example.com"}, {"a", "a"},	{"A.", "a"},
		{"a-.b", "a-.b"},		 {"_a.b", "_a.b"}, {"0.1.2.3", "0.1.2.3"},
		{"", NULL},			 {".", NULL},	  {"..", NULL},
		{"a..", NULL},			 {"a.b..", NULL}, {"a\\032b", NULL},
		{"a*b", NULL},			 {"\xff", NULL},  {"a.b\t", NULL},
	};
	/* clang-format on */
	char out[PW_FQDN_MAX + 1];
	const char *why;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int ret = pw_fqdn_normalize(rows[i].in, out, &why);

		if (!rows[i].out) {
			if (ret != -EINVAL)
				fail_msg("\"%s\" should be refused", rows[i].in);
			continue;
		}
		if (ret || strcmp(out, rows[i].out))
			fail_msg("\"%s\" -> \"%s\", want \"%s\"", rows[i].in, ret ? "" : out,
				 rows[i].out);
	}
}

/* Every accepted pattern matches what it should after normalization. */
static void test_normalize_then_match(void **state)
{
	char p[PW_FQDN_MAX + 1], n[PW_FQDN_MAX + 1];
	const char *why;

	assert_int_equal(pw_fqdn_pattern_normalize("*.GitHub.com.", true, p, &why), 0);
	assert_int_equal(pw_fqdn_normalize("API.GITHUB.COM.", n, &why), 0);
	assert_true(pw_fqdn_match(p, n));
	assert_int_equal(pw_fqdn_pattern_normalize("**.Example.com", true, p, &why), 0);
	assert_int_equal(pw_fqdn_normalize("Example.com", n, &why), 0);
	assert_false(pw_fqdn_match(p, n));
}

/* The name table view: kind and text, and the hash pod_egress computes
 * (FNV-1a 64 over the text, last byte first). */
static void test_table_kind_and_hash(void **state)
{
	static const char text[] = "b.c";
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *t;

	assert_int_equal(pw_fqdn_table_kind("**.s3.amazonaws.com", &t), PW_NK_MANY);
	assert_string_equal(t, "s3.amazonaws.com");
	assert_int_equal(pw_fqdn_table_kind("*.github.com", &t), PW_NK_ONE);
	assert_string_equal(t, "github.com");
	assert_int_equal(pw_fqdn_table_kind("api.example.com", &t), PW_NK_EXACT);
	assert_string_equal(t, "api.example.com");
	for (int i = 2; i >= 0; i--)
		h = (h ^ (uint8_t)text[i]) * 0x100000001b3ULL;
	assert_true(pw_fqdn_hash("b.c") == h);
	assert_true(pw_fqdn_hash("b.c") != pw_fqdn_hash("c.b"));
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_validate_table),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_normalize_then_match),
		cmocka_unit_test(test_table_kind_and_hash),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}

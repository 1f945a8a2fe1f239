// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Addresses and prefixes: parse, CIDR (host bits refused), prefix membership,
 * the special addresses podwall never learns. One cmocka test per table row.
 * Test data uses the documentation ranges 192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24 and 2001:db8::/32 wherever the address itself does not matter.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/table.h"

#include "ipaddr.h"

/* row_name(), run_table(), RUN_TABLE(): tests/unit/table.h */

/* The address as libc reads it, for comparing against pw_ip_parse. */
static void libc_addr(const char *s, uint8_t family, union pw_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	assert_int_equal(inet_pton(family == PW_FAMILY_V4 ? AF_INET : AF_INET6, s, ip), 1);
}

/* ---- pw_ip_parse --------------------------------------------------------------- */

struct parse_row {
	const char *name;
	const char *in;
	uint8_t family; /* 0: refused */
};

/* clang-format off */
static const struct parse_row parse_rows[] = {
	{"v4", "192.0.2.1", PW_FAMILY_V4},
	{"v4 network", "198.51.100.0", PW_FAMILY_V4},
	{"v4 top", "203.0.113.255", PW_FAMILY_V4},
	{"v4 zero", "0.0.0.0", PW_FAMILY_V4},
	{"v4 broadcast", "255.255.255.255", PW_FAMILY_V4},
	{"v6", "2001:db8::1", PW_FAMILY_V6},
	{"v6 full", "2001:0db8:0000:0000:0000:0000:0000:0001", PW_FAMILY_V6},
	{"v6 upper case", "2001:DB8::ABCD", PW_FAMILY_V6},
	{"v6 unspecified", "::", PW_FAMILY_V6},
	{"v6 dotted tail", "2001:db8::192.0.2.1", PW_FAMILY_V6},
	{"v6 v4-mapped", "::ffff:192.0.2.1", PW_FAMILY_V6},
	{"empty", "", 0},
	{"three octets", "192.0.2", 0},
	{"five octets", "192.0.2.1.5", 0},
	{"octet over 255", "192.0.2.256", 0},
	{"leading zero octet", "192.0.2.01", 0},
	{"hex octet", "0xc0.0.2.1", 0},
	{"leading space", " 192.0.2.1", 0},
	{"trailing space", "192.0.2.1 ", 0},
	{"with prefix", "192.0.2.0/24", 0},
	{"hostname", "example.com", 0},
	{"v6 two ::", "2001:db8::1::2", 0},
	{"v6 bad hex", "2001:db8::g", 0},
	{"v6 nine groups", "2001:db8:0:0:0:0:0:0:1", 0},
	{"v6 group too long", "2001:db8::12345", 0},
	{"v6 zone id", "fe80::1%eth0", 0},
	{"v6 brackets", "[2001:db8::1]", 0},
	{"v6 with prefix", "2001:db8::/32", 0},
};
/* clang-format on */

static void test_parse_row(void **state)
{
	const struct parse_row *r = *state;
	union pw_ip ip, want;
	char buf[PW_IP_STRLEN];
	uint8_t family = 0;
	int ret;

	memset(&ip, 0xa5, sizeof(ip));
	ret = pw_ip_parse(r->in, &family, &ip);
	if (!r->family) {
		if (ret != -EINVAL)
			fail_msg("\"%s\": want -EINVAL, got %d", r->in, ret);
		return;
	}
	if (ret)
		fail_msg("\"%s\": want accepted, got %d", r->in, ret);
	assert_int_equal(family, r->family);
	libc_addr(r->in, r->family, &want);
	/* v4 in the first 4 bytes, the rest zero: map keys depend on it. */
	assert_memory_equal(&ip, &want, sizeof(ip));
	/* pw_ip_str gives text that parses back to the same address. */
	assert_int_equal(pw_ip_parse(pw_ip_str(family, &ip, buf), &family, &want), 0);
	assert_int_equal(family, r->family);
	assert_memory_equal(&ip, &want, sizeof(ip));
}

static void test_ip_str(void **state)
{
	union pw_ip ip;
	char buf[PW_IP_STRLEN];
	uint8_t family;

	assert_int_equal(pw_ip_parse("2001:0DB8:0:0:0:0:0:1", &family, &ip), 0);
	assert_string_equal(pw_ip_str(family, &ip, buf), "2001:db8::1");
	assert_ptr_equal(pw_ip_str(family, &ip, buf), buf);
	assert_int_equal(pw_ip_parse("203.0.113.7", &family, &ip), 0);
	assert_string_equal(pw_ip_str(family, &ip, buf), "203.0.113.7");
	/* The longest text fits PW_IP_STRLEN. */
	assert_int_equal(pw_ip_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &family, &ip),
			 0);
	assert_string_equal(pw_ip_str(family, &ip, buf), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

/* ---- pw_cidr_parse ------------------------------------------------------------- */

enum why {
	OK,
	SYNTAX, /* "expected ADDRESS/PREFIX ..." */
	RANGE,	/* "prefix length out of range" */
	HOST,	/* "address has bits set beyond the prefix length" */
};

struct cidr_row {
	const char *name;
	const char *in;
	enum why want;
	uint8_t family;
	uint8_t prefix;
};

/* clang-format off */
static const struct cidr_row cidr_rows[] = {
	{"v4 /24", "192.0.2.0/24", OK, PW_FAMILY_V4, 24},
	{"v4 /25 upper half", "198.51.100.128/25", OK, PW_FAMILY_V4, 25},
	{"v4 /32 host", "203.0.113.7/32", OK, PW_FAMILY_V4, 32},
	{"v4 /0 default", "0.0.0.0/0", OK, PW_FAMILY_V4, 0},
	{"v4 /31", "203.0.113.254/31", OK, PW_FAMILY_V4, 31},
	{"v4 /23 even", "198.51.100.0/23", OK, PW_FAMILY_V4, 23},
	{"v6 /32", "2001:db8::/32", OK, PW_FAMILY_V6, 32},
	{"v6 /48", "2001:db8:1::/48", OK, PW_FAMILY_V6, 48},
	{"v6 /33", "2001:db8:8000::/33", OK, PW_FAMILY_V6, 33},
	{"v6 /128", "2001:db8::1/128", OK, PW_FAMILY_V6, 128},
	{"v6 /127", "2001:db8::2/127", OK, PW_FAMILY_V6, 127},
	{"v6 /0", "::/0", OK, PW_FAMILY_V6, 0},
	{"v4 host bits /24", "192.0.2.1/24", HOST},
	{"v4 host bits /16", "10.20.0.1/16", HOST},
	{"v4 host bits /25", "198.51.100.64/25", HOST},
	{"v4 host bits /23 odd", "198.51.101.0/23", HOST},
	{"v4 host bits /31", "203.0.113.255/31", HOST},
	{"v4 host bits /0", "192.0.2.0/0", HOST},
	{"v6 host bits /32", "2001:db8::1/32", HOST},
	{"v6 host bits /33", "2001:db8:4000::/33", HOST},
	{"v6 host bits /127", "2001:db8::3/127", HOST},
	{"v6 host bits /0", "2001:db8::/0", HOST},
	{"v4 /33", "203.0.113.0/33", RANGE},
	{"v6 /129", "2001:db8::/129", RANGE},
	{"prefix overflows long", "192.0.2.0/99999999999999999999", RANGE},
	{"prefix trailing junk", "192.0.2.0/24x", RANGE},
	{"two slashes", "192.0.2.0/24/", RANGE},
	{"no slash", "192.0.2.0", SYNTAX},
	{"no address", "/24", SYNTAX},
	{"empty", "", SYNTAX},
	{"no prefix", "192.0.2.0/", SYNTAX},
	{"negative prefix", "192.0.2.0/-1", SYNTAX},
	{"plus prefix", "192.0.2.0/+24", SYNTAX},
	{"space before prefix", "192.0.2.0/ 24", SYNTAX},
	{"tab before prefix", "192.0.2.0/\t24", SYNTAX},
	{"space before slash", "192.0.2.0 /24", SYNTAX},
	{"hostname", "example.com/24", SYNTAX},
	{"bad address", "192.0.2.256/32", SYNTAX},
	{"address too long",
	 "2001:0db8:0000:0000:0000:0000:0000:0000:0000:0000/32", SYNTAX},
};
/* clang-format on */

static void test_cidr_row(void **state)
{
	const struct cidr_row *r = *state;
	const char *why = NULL;
	char addr[PW_IP_STRLEN];
	union pw_ip ip, want;
	uint8_t family = 0, prefix = 0;
	int ret;

	ret = pw_cidr_parse(r->in, &family, &ip, &prefix, &why);
	if (r->want == OK) {
		if (ret)
			fail_msg("\"%s\": want accepted, got %d (%s)", r->in, ret, why);
		assert_null(why);
		assert_int_equal(family, r->family);
		assert_int_equal(prefix, r->prefix);
		snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(r->in, "/"), r->in);
		libc_addr(addr, r->family, &want);
		assert_memory_equal(&ip, &want, sizeof(ip));
		return;
	}
	if (ret != -EINVAL)
		fail_msg("\"%s\": want -EINVAL, got %d", r->in, ret);
	assert_non_null(why);
	switch (r->want) {
	case SYNTAX:
		if (!strstr(why, "expected ADDRESS/PREFIX"))
			fail_msg("\"%s\": want a syntax error, got \"%s\"", r->in, why);
		break;
	case RANGE:
		if (!strstr(why, "out of range"))
			fail_msg("\"%s\": want a range error, got \"%s\"", r->in, why);
		break;
	case HOST:
		if (!strstr(why, "bits set beyond the prefix"))
			fail_msg("\"%s\": want a host-bits error, got \"%s\"", r->in, why);
		break;
	case OK:
		break;
	}
}

/* ---- pw_ip_in_prefix ----------------------------------------------------------- */

struct in_prefix_row {
	const char *name;
	const char *addr;
	const char *cidr;
	bool in;
};

/* clang-format off */
static const struct in_prefix_row in_prefix_rows[] = {
	{"v4 inside /24", "192.0.2.5", "192.0.2.0/24", true},
	{"v4 first of /24", "192.0.2.0", "192.0.2.0/24", true},
	{"v4 last of /24", "192.0.2.255", "192.0.2.0/24", true},
	{"v4 next /24", "192.0.3.0", "192.0.2.0/24", false},
	{"v4 previous /24", "192.0.1.255", "192.0.2.0/24", false},
	{"v4 upper /25 in", "198.51.100.200", "198.51.100.128/25", true},
	{"v4 upper /25 out", "198.51.100.127", "198.51.100.128/25", false},
	{"v4 /23 second half", "198.51.101.9", "198.51.100.0/23", true},
	{"v4 /32 same", "203.0.113.9", "203.0.113.9/32", true},
	{"v4 /32 neighbour", "203.0.113.8", "203.0.113.9/32", false},
	{"v4 /0 any", "203.0.113.1", "0.0.0.0/0", true},
	{"v4 /1 low half", "127.255.255.255", "0.0.0.0/1", true},
	{"v4 /1 high half", "128.0.0.0", "0.0.0.0/1", false},
	{"v6 inside /32", "2001:db8:1:2::3", "2001:db8::/32", true},
	{"v6 outside /32", "2001:db9::1", "2001:db8::/32", false},
	{"v6 /33 lower", "2001:db8:7fff::1", "2001:db8::/33", true},
	{"v6 /33 upper", "2001:db8:8000::1", "2001:db8::/33", false},
	{"v6 /127 pair", "2001:db8::3", "2001:db8::2/127", true},
	{"v6 /127 outside", "2001:db8::4", "2001:db8::2/127", false},
	{"v6 /128 same", "2001:db8::1", "2001:db8::1/128", true},
	{"v6 /128 last bit", "2001:db8::", "2001:db8::1/128", false},
	{"v6 /0 any", "2001:db8::1", "::/0", true},
};
/* clang-format on */

static void test_in_prefix_row(void **state)
{
	const struct in_prefix_row *r = *state;
	uint8_t af, pf, len;
	union pw_ip a, p;
	const char *why;

	assert_int_equal(pw_ip_parse(r->addr, &af, &a), 0);
	assert_int_equal(pw_cidr_parse(r->cidr, &pf, &p, &len, &why), 0);
	assert_int_equal(af, pf);
	if (pw_ip_in_prefix(af, &a, &p, len) != r->in)
		fail_msg("%s in %s: want %s", r->addr, r->cidr, r->in ? "true" : "false");
}

/* ---- pw_ip_is_special ---------------------------------------------------------- */

struct special_row {
	const char *name;
	const char *addr;
	bool special;
};

/* clang-format off */
static const struct special_row special_rows[] = {
	{"v4 unspecified", "0.0.0.0", true},
	{"v4 this network", "0.1.2.3", true},
	{"v4 loopback", "127.0.0.1", true},
	{"v4 loopback top", "127.255.255.254", true},
	{"v4 link-local", "169.254.0.1", true},
	{"v4 cloud metadata", "169.254.169.254", true},
	{"v4 multicast", "224.0.0.1", true},
	{"v4 multicast top", "239.255.255.250", true},
	{"v4 reserved", "240.0.0.1", true},
	{"v4 broadcast", "255.255.255.255", true},
	{"v4 TEST-NET-1", "192.0.2.1", false},
	{"v4 TEST-NET-2", "198.51.100.1", false},
	{"v4 TEST-NET-3", "203.0.113.1", false},
	{"v4 private", "10.0.0.1", false},
	{"v4 below link-local", "169.253.255.255", false},
	{"v4 above link-local", "169.255.0.0", false},
	{"v4 below loopback", "126.255.255.255", false},
	{"v4 above loopback", "128.0.0.0", false},
	{"v4 below multicast", "223.255.255.255", false},
	{"v4 first public", "1.0.0.0", false},
	{"v6 unspecified", "::", true},
	{"v6 loopback", "::1", true},
	{"v6 v4-mapped", "::ffff:192.0.2.1", true},
	{"v6 v4-mapped zero", "::ffff:0.0.0.0", true},
	{"v6 v4-compatible", "::192.0.2.1", true},
	{"v6 ::2", "::2", true},
	{"v6 link-local", "fe80::1", true},
	{"v6 link-local top", "febf:ffff::1", true},
	{"v6 multicast", "ff02::1", true},
	{"v6 multicast global", "ff0e::101", true},
	{"v6 documentation", "2001:db8::1", false},
	{"v6 documentation v4 tail", "2001:db8::ffff:c000:201", false},
	{"v6 site-local (not link-local)", "fec0::1", false},
	{"v6 below link-local", "fe7f::1", false},
	{"v6 just past ::/96", "::1:0:0:0", false},
	{"v6 v4-translated is not mapped", "::ffff:0:c000:201", false},
	{"v6 unique local", "fd00::1", false},
};
/* clang-format on */

static void test_special_row(void **state)
{
	const struct special_row *r = *state;
	union pw_ip ip;
	uint8_t family;

	assert_int_equal(pw_ip_parse(r->addr, &family, &ip), 0);
	if (pw_ip_is_special(family, &ip) != r->special)
		fail_msg("%s: want %s", r->addr, r->special ? "special" : "not special");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_str),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("ipaddr", tests, NULL, NULL);
	failed += RUN_TABLE("pw_ip_parse", test_parse_row, parse_rows);
	failed += RUN_TABLE("pw_cidr_parse", test_cidr_row, cidr_rows);
	failed += RUN_TABLE("pw_ip_in_prefix", test_in_prefix_row, in_prefix_rows);
	failed += RUN_TABLE("pw_ip_is_special", test_special_row, special_rows);
	return failed ? 1 : 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The table of DNS answers test_dns.c parses with ldns, each with what it must
 * yield; tests/bpf/test_learn_diff.c also runs every message through the
 * kernel learner. Messages built with dnsmsg.h (ldns), id ID unless said.
 */
#ifndef PODWALL_TESTS_DNSROWS_H
#define PODWALL_TESTS_DNSROWS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "dnsmsg.h"

#ifndef ID
#define ID 0x4242
#endif

struct want_addr {
	const char *ip;
	uint32_t ttl;
};

#define ANY SIZE_MAX

struct parse_row {
	const char *desc;
	struct dm_spec spec;
	uint16_t expect_id; /* host order; 0 means ID */
	uint16_t set_flags; /* OR into the flags word after building */
	uint16_t clr_flags; /* AND NOT */
	int ret;
	const char *qname; /* expected normalized qname (on success) */
	uint16_t qtype;
	uint16_t rcode;
	struct want_addr addrs[8];
	size_t n_ignored; /* ANY: not checked */
	bool chain_broken;
};

/* clang-format off */
/* 16 CNAMEs (the bound) and one more. */
#define CHAIN16                                                                                   \
	"c0.example.com. 60 IN CNAME c1.example.com.", "c1.example.com. 60 IN CNAME c2.example.com.", \
	"c2.example.com. 60 IN CNAME c3.example.com.", "c3.example.com. 60 IN CNAME c4.example.com.", \
	"c4.example.com. 60 IN CNAME c5.example.com.", "c5.example.com. 60 IN CNAME c6.example.com.", \
	"c6.example.com. 60 IN CNAME c7.example.com.", "c7.example.com. 60 IN CNAME c8.example.com.", \
	"c8.example.com. 60 IN CNAME c9.example.com.",                                                \
	"c9.example.com. 60 IN CNAME c10.example.com.",                                               \
	"c10.example.com. 60 IN CNAME c11.example.com.",                                              \
	"c11.example.com. 60 IN CNAME c12.example.com.",                                              \
	"c12.example.com. 60 IN CNAME c13.example.com.",                                              \
	"c13.example.com. 60 IN CNAME c14.example.com.",                                              \
	"c14.example.com. 60 IN CNAME c15.example.com.",                                              \
	"c15.example.com. 60 IN CNAME c16.example.com."
/* clang-format on */

/* clang-format off */
static const struct parse_row parse_rows[] = {
	{"plain A",
	 {.question = "api.example.com. IN A", .an = {"api.example.com. 300 IN A 192.0.2.10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 0},
	{"plain AAAA",
	 {.question = "api.example.com. IN AAAA",
	  .an = {"api.example.com. 120 IN AAAA 2001:db8::10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_AAAA,
	 .addrs = {{"2001:db8::10", 120}}, .n_ignored = 0},
	{"several A records",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN A 192.0.2.10", "api.example.com. 200 IN A 192.0.2.11",
		 "api.example.com. 100 IN A 198.51.100.12"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}, {"192.0.2.11", 200}, {"198.51.100.12", 100}},
	 .n_ignored = 0},
	{"CNAME chain allowed -> other -> A",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN CNAME edge.example.net.",
		 "edge.example.net. 300 IN CNAME lb.example.org.",
		 "lb.example.org. 60 IN A 203.0.113.5"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"203.0.113.5", 60}}, .n_ignored = 0},
	{"CNAME chain in reverse record order",
	 {.question = "api.example.com. IN A",
	  .an = {"lb.example.org. 60 IN A 203.0.113.5",
		 "edge.example.net. 300 IN CNAME lb.example.org.",
		 "api.example.com. 300 IN CNAME edge.example.net."}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"203.0.113.5", 60}}, .n_ignored = 0},
	{"names compared case-insensitively, qname normalized",
	 {.question = "API.Example.COM. IN A",
	  .an = {"api.EXAMPLE.com. 300 IN CNAME Edge.Example.Net.",
		 "EDGE.example.NET. 300 IN A 192.0.2.20"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.20", 300}}, .n_ignored = 0},
	{"other names' A records in the answer are ignored",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN A 192.0.2.10",
		 "evil.example.net. 300 IN A 198.51.100.66",
		 "example.com. 300 IN A 198.51.100.67",
		 "x.api.example.com. 300 IN A 198.51.100.68"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 3},
	{"CNAME from another name to the question name is not followed backwards",
	 {.question = "api.example.com. IN A",
	  .an = {"evil.example.net. 300 IN CNAME api.example.com.",
		 "evil.example.net. 300 IN A 198.51.100.66",
		 "api.example.com. 300 IN A 192.0.2.10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 2},
	{"CNAME from another name only: nothing learned",
	 {.question = "api.example.com. IN A",
	  .an = {"evil.example.net. 300 IN CNAME api.example.com.",
		 "evil.example.net. 300 IN A 198.51.100.66"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A, .n_ignored = 2},
	{"side branch off the chain is ignored",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN CNAME edge.example.net.",
		 "other.example.net. 300 IN CNAME side.example.org.",
		 "side.example.org. 300 IN A 198.51.100.70",
		 "edge.example.net. 300 IN A 192.0.2.30"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.30", 300}}, .n_ignored = 2},
	{"additional-section A for the question name is ignored",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN A 192.0.2.10"},
	  .ar = {"api.example.com. 300 IN A 198.51.100.9"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 1},
	{"additional-section A only: nothing learned",
	 {.question = "api.example.com. IN A", .ar = {"api.example.com. 300 IN A 198.51.100.9"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A, .n_ignored = 1},
	{"authority and glue are ignored",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN A 192.0.2.10"},
	  .ns = {"example.com. 3600 IN NS ns1.example.com.",
		 "api.example.com. 3600 IN A 198.51.100.1"},
	  .ar = {"ns1.example.com. 3600 IN A 198.51.100.53"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 3},
	{"CNAME in the authority section is not followed",
	 {.question = "api.example.com. IN A",
	  .ns = {"api.example.com. 300 IN CNAME edge.example.net."},
	  .an = {"edge.example.net. 300 IN A 198.51.100.1"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A, .n_ignored = 2},
	{"wrong id", {.question = "api.example.com. IN A",
		      .an = {"api.example.com. 300 IN A 192.0.2.10"}},
	 .expect_id = ID + 1, .ret = -EINVAL},
	{"QR clear (a query, not an answer)",
	 {.question = "api.example.com. IN A", .an = {"api.example.com. 300 IN A 192.0.2.10"}},
	 .clr_flags = 0x8000, .ret = -EINVAL},
	{"opcode NOTIFY",
	 {.question = "api.example.com. IN A", .an = {"api.example.com. 300 IN A 192.0.2.10"}},
	 .set_flags = 4 << 11, .ret = -EINVAL},
	{"opcode UPDATE",
	 {.question = "api.example.com. IN A", .an = {"api.example.com. 300 IN A 192.0.2.10"}},
	 .set_flags = 5 << 11, .ret = -EINVAL},
	{"two questions",
	 {.question = "api.example.com. IN A", .question2 = "evil.example.net. IN A",
	  .an = {"evil.example.net. 300 IN A 198.51.100.66"}},
	 .ret = -EINVAL},
	{"question class CH",
	 {.question = "api.example.com. CH A", .an = {"api.example.com. 300 CH A 192.0.2.10"}},
	 .ret = -EINVAL},
	{"qtype MX: nothing to learn, still valid",
	 {.question = "example.com. IN MX",
	  .an = {"example.com. 300 IN MX 10 mail.example.com."},
	  .ar = {"mail.example.com. 300 IN A 192.0.2.25"}},
	 .qname = "example.com", .qtype = LDNS_RR_TYPE_MX, .n_ignored = 2},
	{"qtype TXT with an A record for the name: not learned",
	 {.question = "api.example.com. IN TXT",
	  .an = {"api.example.com. 300 IN A 192.0.2.10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_TXT, .n_ignored = 1},
	{"AAAA in an A answer is not taken",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN AAAA 2001:db8::10",
		 "api.example.com. 300 IN A 192.0.2.10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 1},
	{"TTL 0 is kept as 0",
	 {.question = "api.example.com. IN A", .an = {"api.example.com. 0 IN A 192.0.2.10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A, .addrs = {{"192.0.2.10", 0}},
	 .n_ignored = 0},
	{"TTL with the top bit set counts as 0",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 2147483648 IN A 192.0.2.10",
		 "api.example.com. 2147483647 IN A 192.0.2.11"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 0}, {"192.0.2.11", 2147483647}}, .n_ignored = 0},
	{"special IPv4 addresses are never learned",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN A 127.0.0.1", "api.example.com. 300 IN A 169.254.169.254",
		 "api.example.com. 300 IN A 224.0.0.1", "api.example.com. 300 IN A 0.0.0.0",
		 "api.example.com. 300 IN A 255.255.255.255", "api.example.com. 300 IN A 127.1.2.3",
		 "api.example.com. 300 IN A 192.0.2.10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 6},
	{"special IPv6 addresses are never learned",
	 {.question = "api.example.com. IN AAAA",
	  .an = {"api.example.com. 300 IN AAAA ::ffff:192.0.2.1",
		 "api.example.com. 300 IN AAAA ::1", "api.example.com. 300 IN AAAA fe80::1",
		 "api.example.com. 300 IN AAAA ff02::1", "api.example.com. 300 IN AAAA ::",
		 "api.example.com. 300 IN AAAA ::192.0.2.1",
		 "api.example.com. 300 IN AAAA febf::1",
		 "api.example.com. 300 IN AAAA 2001:db8::10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_AAAA,
	 .addrs = {{"2001:db8::10", 300}}, .n_ignored = 7},
	{"duplicates merged, largest TTL kept",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 60 IN CNAME edge.example.net.",
		 "api.example.com. 60 IN A 192.0.2.10", "edge.example.net. 600 IN A 192.0.2.10",
		 "edge.example.net. 30 IN A 192.0.2.10", "edge.example.net. 30 IN A 192.0.2.11"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 600}, {"192.0.2.11", 30}}, .n_ignored = 0},
	{"CNAME loop: nothing learned",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN CNAME b.example.net.",
		 "b.example.net. 300 IN CNAME api.example.com.",
		 "b.example.net. 300 IN A 192.0.2.10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A, .n_ignored = 3,
	 .chain_broken = true},
	{"CNAME to itself: nothing learned",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 IN CNAME API.example.com.",
		 "api.example.com. 300 IN A 192.0.2.10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A, .n_ignored = 2,
	 .chain_broken = true},
	{"chain of exactly PW_DNS_MAX_CHAIN CNAMEs is followed",
	 {.question = "c0.example.com. IN A",
	  .an = {CHAIN16, "c16.example.com. 60 IN A 192.0.2.16"}},
	 .qname = "c0.example.com", .qtype = LDNS_RR_TYPE_A, .addrs = {{"192.0.2.16", 60}},
	 .n_ignored = 0},
	{"chain one longer than the bound: nothing learned",
	 {.question = "c0.example.com. IN A",
	  .an = {CHAIN16, "c16.example.com. 60 IN CNAME c17.example.com.",
		 "c17.example.com. 60 IN A 192.0.2.17"}},
	 .qname = "c0.example.com", .qtype = LDNS_RR_TYPE_A, .n_ignored = 18,
	 .chain_broken = true},
	{"DNAME is ignored, its synthesized CNAME followed",
	 {.question = "api.example.com. IN A",
	  .an = {"example.com. 300 IN DNAME example.net.",
		 "api.example.com. 300 IN CNAME api.example.net.",
		 "api.example.net. 300 IN A 192.0.2.40"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.40", 300}}, .n_ignored = 1},
	{"DNAME alone is not followed",
	 {.question = "api.example.com. IN A",
	  .an = {"example.com. 300 IN DNAME example.net.",
		 "api.example.net. 300 IN A 192.0.2.40"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A, .n_ignored = 2},
	{"records not of class IN are ignored",
	 {.question = "api.example.com. IN A",
	  .an = {"api.example.com. 300 CH A 198.51.100.80",
		 "api.example.com. 300 HS CNAME edge.example.net.",
		 "edge.example.net. 300 IN A 198.51.100.81",
		 "api.example.com. 300 IN A 192.0.2.10"}},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 3},
	{"NXDOMAIN: nothing learned even if records are present",
	 {.question = "api.example.com. IN A", .an = {"api.example.com. 300 IN A 192.0.2.10"}},
	 .set_flags = LDNS_RCODE_NXDOMAIN, .qname = "api.example.com",
	 .qtype = LDNS_RR_TYPE_A, .rcode = LDNS_RCODE_NXDOMAIN, .n_ignored = 1},
	{"NXDOMAIN with no records",
	 {.question = "nope.example.com. IN A",
	  .ns = {"example.com. 300 IN SOA ns1.example.com. host.example.com. 1 2 3 4 5"}},
	 .set_flags = LDNS_RCODE_NXDOMAIN, .qname = "nope.example.com",
	 .qtype = LDNS_RR_TYPE_A, .rcode = LDNS_RCODE_NXDOMAIN, .n_ignored = 1},
	{"EDNS extended rcode (BADVERS): nothing learned",
	 {.question = "api.example.com. IN A", .an = {"api.example.com. 300 IN A 192.0.2.10"},
	  .edns_ext_rcode = 1},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A, .rcode = 16, .n_ignored = ANY},
	{"EDNS OPT with extended rcode 0 is fine",
	 {.question = "api.example.com. IN A", .an = {"api.example.com. 300 IN A 192.0.2.10"},
	  .ar = {"ns.example.com. 300 IN A 198.51.100.3"}, .edns = true},
	 .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 2},
	{"TC set, complete records: parsed",
	 {.question = "api.example.com. IN A", .an = {"api.example.com. 300 IN A 192.0.2.10"}},
	 .set_flags = 0x0200, .qname = "api.example.com", .qtype = LDNS_RR_TYPE_A,
	 .addrs = {{"192.0.2.10", 300}}, .n_ignored = 0},
	{"root question: nothing to learn",
	 {.question = ". IN A"}, .qname = "", .qtype = LDNS_RR_TYPE_A, .n_ignored = 0},
	{"question label with a dot byte is not a hostname",
	 {.question = "api\\.example.com. IN A",
	  .an = {"api\\.example.com. 300 IN A 198.51.100.90"}},
	 .qname = "", .qtype = LDNS_RR_TYPE_A, .n_ignored = 1},
	{"question label with a NUL byte is not a hostname",
	 {.question = "api\\000.example.com. IN A",
	  .an = {"api\\000.example.com. 300 IN A 198.51.100.91"}},
	 .qname = "", .qtype = LDNS_RR_TYPE_A, .n_ignored = 1},
	{"wildcard label in the question is not a hostname",
	 {.question = "*.example.com. IN A", .an = {"*.example.com. 300 IN A 198.51.100.92"}},
	 .qname = "", .qtype = LDNS_RR_TYPE_A, .n_ignored = 1},
	{"underscore names are hostnames here",
	 {.question = "_svc.example.com. IN A", .an = {"_svc.example.com. 300 IN A 192.0.2.93"}},
	 .qname = "_svc.example.com", .qtype = LDNS_RR_TYPE_A, .addrs = {{"192.0.2.93", 300}},
	 .n_ignored = 0},
};
/* clang-format on */

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * compile: canonical port range sets, and policies -> CIDR prefixes and
 * hostname patterns for one endpoint.
 *
 * Policies are built by hand from short specs (no YAML: the decoder has its own
 * tests). Every compile case checks the entries exactly, then checks what they
 * mean end to end: for each probe (destination, protocol, port) a tiny
 * longest-prefix match over the output must give the expected verdict, the
 * way the pw_cidr4/pw_cidr6 tries will in the kernel. Each case is compiled
 * again with its policies in reverse order and must give the same entries.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/table.h"

#include "compile.h"
#include "portsets.h"
#include "ipaddr.h"
#include "policy.h"

#define MAX_POLS    3
#define MAX_RULES   4
#define MAX_ENTRIES 8
#define MAX_PROBES  16

/* ---- helpers --------------------------------------------------------------------- */

/* row_name(), run_table(), RUN_TABLE(): tests/unit/table.h */

static uint8_t proto_of(const char *s, size_t len)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} protos[] = {
		{"any", PW_PROTO_ANY}, {"icmp", IPPROTO_ICMP}, {"tcp", IPPROTO_TCP},
		{"udp", IPPROTO_UDP},  {"sctp", IPPROTO_SCTP}, {"icmpv6", IPPROTO_ICMPV6},
	};

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strlen(protos[i].name) == len && !strncmp(protos[i].name, s, len))
			return protos[i].proto;
	fail_msg("bad protocol in test data: %.*s", (int)len, s);
	return 0;
}

static const char *proto_str(uint8_t proto)
{
	switch (proto) {
	case PW_PROTO_ANY:
		return "any";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	return "?";
}

/* "tcp:443", "tcp:8000-8100" or "any" -> proto, lo, hi (hi = lo without '-'). */
static void port_tok(const char *tok, uint8_t *proto, uint16_t *lo, uint16_t *hi)
{
	const char *colon = strchr(tok, ':');
	unsigned long a, b;
	char *end;

	if (!strcmp(tok, "any")) {
		*proto = PW_PROTO_ANY;
		*lo = 0;
		*hi = 65535;
		return;
	}
	if (!colon)
		fail_msg("bad port in test data: %s", tok);
	*proto = proto_of(tok, (size_t)(colon - tok));
	a = strtoul(colon + 1, &end, 10);
	b = a;
	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (*end || a > 65535 || b > 65535)
		fail_msg("bad port in test data: %s", tok);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
}

/* A range set as text: "tcp:80,tcp:8000-8100,udp:53", "any", or "-" if empty. */
static const char *set_str(const struct pw_range_set *s, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (!s->n)
		snprintf(buf, len, "-");
	for (uint32_t i = 0; i < s->n && off < len; i++) {
		const struct pw_port_range *r = &s->r[i];
		const char *sep = i ? "," : "";

		if (r->proto == PW_PROTO_ANY)
			off += (size_t)snprintf(buf + off, len - off, "%sany", sep);
		else if (r->lo == r->hi)
			off += (size_t)snprintf(buf + off, len - off, "%s%s:%u", sep,
						proto_str(r->proto), r->lo);
		else
			off += (size_t)snprintf(buf + off, len - off, "%s%s:%u-%u", sep,
						proto_str(r->proto), r->lo, r->hi);
	}
	return buf;
}

/* Apply "tcp:80 udp:53-60 any ..." to s with pw_rangeset_add. */
static int set_add_all(struct pw_range_set *s, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;
	int ret = 0;

	assert_non_null(copy);
	for (char *t = strtok_r(copy, " ", &save); t && !ret; t = strtok_r(NULL, " ", &save)) {
		uint16_t lo, hi;
		uint8_t proto;

		port_tok(t, &proto, &lo, &hi);
		ret = pw_rangeset_add(s, proto, lo, hi);
	}
	free(copy);
	return ret;
}

static void labels_from(struct pw_labels *l, const char *spec)
{
	char *copy, *save = NULL;

	if (!spec)
		return;
	copy = strdup(spec);
	assert_non_null(copy);
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(pw_labels_set(l, kv, eq + 1), 0);
	}
	free(copy);
}

static struct pw_cidr cidr_of(const char *text)
{
	struct pw_cidr c = {0};
	const char *why;

	if (pw_cidr_parse(text, &c.family, &c.addr, &c.prefix, &why))
		fail_msg("bad CIDR in test data: %s: %s", text, why);
	return c;
}

/* ---- policies from specs ------------------------------------------------------------ */

struct rule_spec {
	/* Space separated destinations: "10.20.0.0/16!10.20.9.0/24" is a CIDR with
	 * its excepts, "api.example.com" a matchName, "*.example.org" a matchPattern. */
	const char *to;
	const char *ports; /* "tcp:443 udp:53 tcp:8000-8100 tcp:0"; NULL: no ports */
};

struct pol_spec {
	const char *id; /* "namespace/name"; NULL ends the list */
	uint8_t mode;
	const char *select; /* matchLabels "app=web,tier=fe"; NULL: every pod */
	struct rule_spec rules[MAX_RULES];
	/* spec.deny of a ClusterEgressPolicy (id "*\/name", selecting namespace
	 * "shop"): "192.0.2.0/24!192.0.2.8/29 2001:db8::/32" */
	const char *deny;
	const char *deny_ports; /* the ports of that deny entry; NULL: every port */
};

static void add_cidr(struct pw_rule *r, char *tok)
{
	struct pw_cidr_rule *cr;
	char *save = NULL, *part;

	r->cidrs = realloc(r->cidrs, (r->n_cidrs + 1) * sizeof(*r->cidrs));
	assert_non_null(r->cidrs);
	cr = &r->cidrs[r->n_cidrs++];
	memset(cr, 0, sizeof(*cr));
	part = strtok_r(tok, "!", &save);
	cr->cidr = cidr_of(part);
	while ((part = strtok_r(NULL, "!", &save))) {
		cr->except = realloc(cr->except, (cr->n_except + 1) * sizeof(*cr->except));
		assert_non_null(cr->except);
		cr->except[cr->n_except++] = cidr_of(part);
	}
}

static void add_fqdn(struct pw_rule *r, const char *tok)
{
	struct pw_fqdn_rule *f;

	r->fqdns = realloc(r->fqdns, (r->n_fqdns + 1) * sizeof(*r->fqdns));
	assert_non_null(r->fqdns);
	f = &r->fqdns[r->n_fqdns++];
	f->kind = tok[0] == '*' ? PW_FQDN_PATTERN : PW_FQDN_NAME;
	f->pattern = strdup(tok);
	assert_non_null(f->pattern);
}

static void add_ports(struct pw_rule *r, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;

	assert_non_null(copy);
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		struct pw_port *p;
		uint16_t lo, hi;
		uint8_t proto;

		port_tok(t, &proto, &lo, &hi);
		r->ports = realloc(r->ports, (r->n_ports + 1) * sizeof(*r->ports));
		assert_non_null(r->ports);
		p = &r->ports[r->n_ports++];
		p->proto = proto;
		p->port = lo;
		p->end_port = hi != lo ? hi : 0;
	}
	free(copy);
}

static void build_rule(struct pw_rule *r, const struct rule_spec *rs)
{
	char *copy = strdup(rs->to ? rs->to : ""), *save = NULL;

	assert_non_null(copy);
	memset(r, 0, sizeof(*r));
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (strchr(t, '/'))
			add_cidr(r, t);
		else
			add_fqdn(r, t);
	}
	if (rs->ports)
		add_ports(r, rs->ports);
	free(copy);
}

static void build_policy(struct pw_policy *p, const struct pol_spec *ps)
{
	const char *slash = strchr(ps->id, '/');

	assert_non_null(slash);
	memset(p, 0, sizeof(*p));
	p->namespace = strndup(ps->id, (size_t)(slash - ps->id));
	p->name = strdup(slash + 1);
	p->source = strdup("test");
	assert_true(p->namespace && p->name && p->source);
	p->mode = ps->mode;
	labels_from(&p->selector.match_labels, ps->select);
	if (!strcmp(p->namespace, "*")) {
		const char *ns = "shop";

		p->cluster = true;
		assert_int_equal(pw_policy_set_namespaces(p, &ns, 1), 0);
	}
	if (ps->deny) {
		struct rule_spec rs = {ps->deny, ps->deny_ports};

		p->deny = calloc(1, sizeof(*p->deny));
		assert_non_null(p->deny);
		build_rule(p->deny, &rs);
		p->n_deny = 1;
	}
	while (p->n_rules < MAX_RULES && (ps->rules[p->n_rules].to || ps->rules[p->n_rules].ports))
		p->n_rules++;
	if (!p->n_rules)
		return;
	p->rules = calloc(p->n_rules, sizeof(*p->rules));
	assert_non_null(p->rules);
	for (size_t i = 0; i < p->n_rules; i++)
		build_rule(&p->rules[i], &ps->rules[i]);
}

/* Policies of specs[0..n), in reverse order if asked. */
static struct pw_policy *build_policies(const struct pol_spec *specs, size_t n, bool reverse)
{
	struct pw_policy *v = calloc(n ? n : 1, sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		build_policy(&v[reverse ? n - 1 - i : i], &specs[i]);
	return v;
}

/* ---- the oracle: longest prefix match, as the LPM trie does it ------------------------ */

static bool bits_match(const union pw_ip *a, const union pw_ip *b, unsigned bits)
{
	for (unsigned i = 0; i < bits; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;

		if (((a->v6[byte] >> bit) & 1) != ((b->v6[byte] >> bit) & 1))
			return false;
	}
	return true;
}

static const struct pw_cidr_entry *lpm(const struct pw_compiled *c, uint8_t family,
				       const union pw_ip *ip)
{
	const struct pw_cidr_entry *best = NULL;

	for (size_t i = 0; i < c->n_cidrs; i++) {
		const struct pw_cidr_entry *e = &c->cidrs[i];

		if (e->family == family && bits_match(&e->addr, ip, e->prefix) &&
		    (!best || e->prefix > best->prefix))
			best = e;
	}
	return best;
}

/* ---- pw_range_set ------------------------------------------------------------------ */

struct set_row {
	const char *name;
	const char *add; /* tokens added one by one, in this order */
	const char *want;
};

/* clang-format off */
static const struct set_row set_rows[] = {
	{"empty", "", "-"},
	{"single port", "tcp:443", "tcp:443"},
	{"adjacent merge", "tcp:80 tcp:81", "tcp:80-81"},
	{"adjacent merge, other order", "tcp:81 tcp:80", "tcp:80-81"},
	{"adjacent ranges", "tcp:80-89 tcp:90-99", "tcp:80-99"},
	{"overlapping", "tcp:80-90 tcp:85-100", "tcp:80-100"},
	{"contained", "tcp:80-100 tcp:85", "tcp:80-100"},
	{"containing", "tcp:85 tcp:80-100", "tcp:80-100"},
	{"duplicate", "tcp:443 tcp:443", "tcp:443"},
	{"gap of one stays", "tcp:80 tcp:82", "tcp:80,tcp:82"},
	{"bridge closes the gap", "tcp:80 tcp:82 tcp:81", "tcp:80-82"},
	{"bridge spans several", "tcp:1 tcp:3 tcp:5 tcp:7 tcp:2-6", "tcp:1-7"},
	{"per protocol", "tcp:80 udp:81 udp:80", "tcp:80,udp:80-81"},
	{"same port, two protocols", "udp:53 tcp:53", "tcp:53,udp:53"},
	{"protocol order", "sctp:1 udp:1 tcp:1", "tcp:1,udp:1,sctp:1"},
	{"sorted by port", "tcp:443 tcp:22 tcp:8080", "tcp:22,tcp:443,tcp:8080"},
	{"whole range from pieces", "tcp:0 tcp:65535 tcp:1-65534", "tcp:0-65535"},
	{"top edge merges", "tcp:65535 tcp:65534", "tcp:65534-65535"},
	{"top edge no wrap", "tcp:65535 tcp:0", "tcp:0,tcp:65535"},
	{"any subsumes", "tcp:80 udp:53 any", "any"},
	{"any absorbs later", "any tcp:80 sctp:9", "any"},
	{"any twice", "any any", "any"},
};
/* clang-format on */

static void test_set_row(void **state)
{
	const struct set_row *r = *state;
	struct pw_range_set s = {0};
	char buf[512];

	assert_int_equal(set_add_all(&s, r->add), 0);
	set_str(&s, buf, sizeof(buf));
	if (strcmp(buf, r->want))
		fail_msg("add \"%s\": want %s, got %s", r->add, r->want, buf);
	for (uint32_t i = s.n; i < PW_MAX_PORT_RANGES; i++)
		assert_true(!s.r[i].lo && !s.r[i].hi && !s.r[i].proto);
	for (uint32_t i = 0; i < s.n; i++)
		assert_memory_equal(s.r[i].pad, "\0\0\0", 3);
}

/* Full with 32 ranges: one more that stays apart is refused and changes
 * nothing; one that merges (even bridging two) is accepted. */
static void test_set_e2big_merges_first(void **state)
{
	struct pw_range_set s = {0}, before;
	char buf[512];

	for (uint16_t p = 2; p <= 2 * PW_MAX_PORT_RANGES; p += 2)
		assert_int_equal(pw_rangeset_add(&s, IPPROTO_TCP, p, p), 0);
	assert_int_equal(s.n, PW_MAX_PORT_RANGES);
	before = s;

	assert_int_equal(pw_rangeset_add(&s, IPPROTO_TCP, 100, 100), -E2BIG);
	assert_memory_equal(&s, &before, sizeof(s));
	assert_int_equal(pw_rangeset_add(&s, IPPROTO_UDP, 2, 2), -E2BIG);
	assert_memory_equal(&s, &before, sizeof(s));
	assert_int_equal(pw_rangeset_add(&s, IPPROTO_TCP, 0, 0), -E2BIG);
	assert_memory_equal(&s, &before, sizeof(s));

	/* Already there, or adjacent to an end: no new range. */
	assert_int_equal(pw_rangeset_add(&s, IPPROTO_TCP, 2, 2), 0);
	assert_int_equal(pw_rangeset_add(&s, IPPROTO_TCP, 65, 65), 0);
	assert_int_equal(s.n, PW_MAX_PORT_RANGES);
	assert_int_equal(s.r[PW_MAX_PORT_RANGES - 1].hi, 65);
	/* Bridging 2 and 4 frees one slot, which the next distinct range takes. */
	assert_int_equal(pw_rangeset_add(&s, IPPROTO_TCP, 3, 3), 0);
	assert_int_equal(s.n, PW_MAX_PORT_RANGES - 1);
	assert_int_equal(pw_rangeset_add(&s, IPPROTO_UDP, 53, 53), 0);
	assert_int_equal(s.n, PW_MAX_PORT_RANGES);
	assert_int_equal(pw_rangeset_add(&s, IPPROTO_UDP, 99, 99), -E2BIG);
	/* One range covering all of them. */
	assert_int_equal(pw_rangeset_add(&s, IPPROTO_TCP, 1, 1000), 0);
	assert_string_equal(set_str(&s, buf, sizeof(buf)), "tcp:1-1000,udp:53");

	/* ANY always fits. */
	s = before;
	assert_int_equal(pw_rangeset_add(&s, PW_PROTO_ANY, 0, 65535), 0);
	assert_string_equal(set_str(&s, buf, sizeof(buf)), "any");
}

static void swap_str(const char **a, const char **b)
{
	const char *t = *a;

	*a = *b;
	*b = t;
}

/* Heap's algorithm: every insertion order of toks gives the same bytes. */
static void permute_check(const char **toks, size_t n, size_t k, const struct pw_range_set *want,
			  size_t *count)
{
	if (k == 1) {
		struct pw_range_set s;
		uint16_t lo, hi;
		uint8_t proto;

		memset(&s, 0, sizeof(s));
		for (size_t i = 0; i < n; i++) {
			port_tok(toks[i], &proto, &lo, &hi);
			assert_int_equal(pw_rangeset_add(&s, proto, lo, hi), 0);
		}
		if (memcmp(&s, want, sizeof(s))) {
			char got[512], exp[512];

			fail_msg("order %s %s %s %s %s %s %s: got %s, want %s", toks[0], toks[1],
				 toks[2], toks[3], toks[4], toks[5], toks[6],
				 set_str(&s, got, sizeof(got)), set_str(want, exp, sizeof(exp)));
		}
		(*count)++;
		return;
	}
	for (size_t i = 0; i < k - 1; i++) {
		permute_check(toks, n, k - 1, want, count);
		swap_str(k % 2 ? &toks[0] : &toks[i], &toks[k - 1]);
	}
	permute_check(toks, n, k - 1, want, count);
}

static void test_set_canonical_any_order(void **state)
{
	const char *toks[] = {"tcp:80-90", "udp:53", "tcp:91",	 "tcp:443",
			      "tcp:85-86", "sctp:9", "udp:54-60"};
	struct pw_range_set want = {0}, u1 = {0}, u2 = {0}, a = {0}, b = {0};
	char buf[512];
	size_t count = 0;

	assert_int_equal(set_add_all(&want, "tcp:80-91 tcp:443 udp:53-60 sctp:9"), 0);
	assert_string_equal(set_str(&want, buf, sizeof(buf)), "tcp:80-91,tcp:443,udp:53-60,sctp:9");
	permute_check(toks, 7, 7, &want, &count);
	assert_int_equal(count, 5040);

	/* Union is order-free too. */
	assert_int_equal(set_add_all(&a, "tcp:80-90 udp:53 sctp:9"), 0);
	assert_int_equal(set_add_all(&b, "tcp:91 tcp:443 tcp:85-86 udp:54-60"), 0);
	assert_int_equal(pw_rangeset_union(&u1, &a), 0);
	assert_int_equal(pw_rangeset_union(&u1, &b), 0);
	assert_int_equal(pw_rangeset_union(&u2, &b), 0);
	assert_int_equal(pw_rangeset_union(&u2, &a), 0);
	assert_memory_equal(&u1, &want, sizeof(want));
	assert_memory_equal(&u2, &want, sizeof(want));
}

static void test_set_union(void **state)
{
	struct pw_range_set a = {0}, b = {0}, any = {0}, empty = {0}, before;
	char buf[512];

	assert_int_equal(set_add_all(&a, "tcp:80 udp:53"), 0);
	assert_int_equal(set_add_all(&any, "any"), 0);
	assert_int_equal(pw_rangeset_union(&a, &empty), 0);
	assert_string_equal(set_str(&a, buf, sizeof(buf)), "tcp:80,udp:53");
	assert_int_equal(pw_rangeset_union(&a, &any), 0);
	assert_string_equal(set_str(&a, buf, sizeof(buf)), "any");
	assert_int_equal(set_add_all(&b, "tcp:1"), 0);
	assert_int_equal(pw_rangeset_union(&any, &b), 0);
	assert_string_equal(set_str(&any, buf, sizeof(buf)), "any");

	/* Two sets of 20 apart: the union does not fit. */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (uint16_t i = 0; i < 20; i++) {
		assert_int_equal(pw_rangeset_add(&a, IPPROTO_TCP, 10 * i, 10 * i), 0);
		assert_int_equal(pw_rangeset_add(&b, IPPROTO_UDP, 10 * i, 10 * i), 0);
	}
	before = a;
	assert_int_equal(pw_rangeset_union(&a, &b), -E2BIG);
	assert_true(a.n <= PW_MAX_PORT_RANGES);
	/* Whatever was added is still canonical: a's own ranges are all there. */
	for (uint32_t i = 0; i < before.n; i++)
		assert_true(pw_rangeset_allows(&a, IPPROTO_TCP, before.r[i].lo));
}

struct allows_row {
	const char *name;
	const char *set;
	const char *probe; /* "tcp:80" */
	bool allow;
};

/* clang-format off */
static const struct allows_row allows_rows[] = {
	{"below range", "tcp:80-90 udp:53", "tcp:79", false},
	{"range start", "tcp:80-90 udp:53", "tcp:80", true},
	{"range end", "tcp:80-90 udp:53", "tcp:90", true},
	{"above range", "tcp:80-90 udp:53", "tcp:91", false},
	{"other protocol same port", "tcp:80-90 udp:53", "udp:80", false},
	{"udp port", "tcp:80-90 udp:53", "udp:53", true},
	{"sctp not granted", "tcp:80-90 udp:53", "sctp:80", false},
	{"icmp not granted", "tcp:80-90 udp:53", "icmp:0", false},
	{"any: tcp", "any", "tcp:1", true},
	{"any: icmp", "any", "icmp:0", true},
	{"any: udp top", "any", "udp:65535", true},
	{"empty: nothing", "", "tcp:80", false},
	{"port 0", "tcp:0", "tcp:0", true},
	{"port 65535", "tcp:65535", "tcp:65535", true},
	{"whole tcp, not udp", "tcp:0-65535", "udp:1", false},
};
/* clang-format on */

static void test_allows_row(void **state)
{
	const struct allows_row *r = *state;
	struct pw_range_set s = {0};
	uint16_t port, hi;
	uint8_t proto;

	assert_int_equal(set_add_all(&s, r->set), 0);
	port_tok(r->probe, &proto, &port, &hi);
	if (pw_rangeset_allows(&s, proto, port) != r->allow)
		fail_msg("{%s} %s: want %s", r->set, r->probe, r->allow ? "allow" : "deny");
}

struct subtract_row {
	const char *name;
	const char *set, *minus, *want;
};

/* clang-format off */
static const struct subtract_row subtract_rows[] = {
	{"nothing from nothing", "", "tcp:22", "-"},
	{"nothing taken", "tcp:80", "", "tcp:80"},
	{"other protocol", "tcp:22", "udp:22", "tcp:22"},
	{"all of it", "tcp:22", "tcp:0-65535", "-"},
	{"any takes all", "tcp:22 udp:53", "any", "-"},
	{"a hole in the middle", "tcp:0-65535", "tcp:22", "tcp:0-21,tcp:23-65535"},
	{"the ends", "tcp:10-20", "tcp:5-10 tcp:20-30", "tcp:11-19"},
	{"port 0 and 65535", "udp:0-65535", "udp:0 udp:65535", "udp:1-65534"},
	{"several holes", "tcp:1-100", "tcp:10 tcp:20-30 tcp:99-200", "tcp:1-9,tcp:11-19,tcp:31-98"},
	{"any minus a port: per protocol, ICMP kept", "any", "tcp:22",
	 "icmp:0-65535,tcp:0-21,tcp:23-65535,udp:0-65535,icmpv6:0-65535,sctp:0-65535"},
	{"several ranges, several protocols", "tcp:80 tcp:443 udp:53 sctp:9", "tcp:443 udp:0-65535",
	 "tcp:80,sctp:9"},
};
/* clang-format on */

static void test_subtract_row(void **state)
{
	const struct subtract_row *r = *state;
	struct pw_range_set s = {0}, m = {0};
	char buf[512];

	assert_int_equal(set_add_all(&s, r->set), 0);
	assert_int_equal(set_add_all(&m, r->minus), 0);
	assert_int_equal(pw_rangeset_subtract(&s, &m), 0);
	assert_string_equal(set_str(&s, buf, sizeof(buf)), r->want);
}

/* 17 holes in a range: 18 pieces fit, 33 do not, and the set is left as it was. */
static void test_subtract_e2big(void **state)
{
	struct pw_range_set s = {0}, m = {0}, before;

	assert_int_equal(set_add_all(&s, "tcp:0-65535"), 0);
	for (uint16_t i = 1; i <= 17; i++)
		assert_int_equal(pw_rangeset_add(&m, IPPROTO_TCP, 10 * i, 10 * i), 0);
	assert_int_equal(pw_rangeset_subtract(&s, &m), 0);
	assert_int_equal(s.n, 18);
	memset(&s, 0, sizeof(s));
	memset(&m, 0, sizeof(m));
	assert_int_equal(set_add_all(&s, "tcp:0-65535"), 0);
	for (uint16_t i = 1; i <= 32; i++)
		assert_int_equal(pw_rangeset_add(&m, IPPROTO_TCP, 10 * i, 10 * i), 0);
	before = s;
	assert_int_equal(pw_rangeset_subtract(&s, &m), -E2BIG);
	assert_memory_equal(&s, &before, sizeof(s));
}

/* The learner's half: an address a hostname rule grants loses what a per-port
 * deny holding it denies (pw_compiled_deny_subtract), and pw_compiled_denies
 * says when nothing is left. */
static void test_deny_learned(void **state)
{
	static const struct pol_spec pols[] = {
		{"*/base", PW_MODE_ENFORCE, NULL, {{NULL}}, "192.0.2.0/24!192.0.2.0/28", "tcp:22"},
		{"*/meta", PW_MODE_ENFORCE, NULL, {{NULL}}, "198.51.100.0/24"},
		{"shop/app", PW_MODE_ENFORCE, NULL, {{"api.example.com", "tcp:22 tcp:443"}}},
	};
	struct pw_policy *v = build_policies(pols, 3, false);
	struct pw_range_set grant, ssh = {0};
	struct pw_compiled out = {0};
	struct pw_labels labels = {0};
	char err[PW_ERR_LEN] = "", buf[512];
	union pw_ip ip;
	uint8_t family;

	assert_int_equal(pw_compile(v, 3, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_int_equal(pw_compiled_fqdn_ports(&out, "api.example.com", &grant), 1);
	assert_int_equal(set_add_all(&ssh, "tcp:22"), 0);

	/* inside the per-port deny: only tcp:22 goes */
	assert_int_equal(pw_ip_parse("192.0.2.77", &family, &ip), 0);
	assert_false(pw_compiled_denies(&out, family, &ip, &grant));
	assert_true(pw_compiled_denies(&out, family, &ip, &ssh));
	assert_false(pw_compiled_denies(&out, family, &ip, NULL));
	assert_int_equal(pw_compiled_deny_subtract(&out, family, &ip, &grant), 0);
	assert_string_equal(set_str(&grant, buf, sizeof(buf)), "tcp:443");

	/* in its except: everything the rule grants */
	assert_int_equal(pw_compiled_fqdn_ports(&out, "api.example.com", &grant), 1);
	assert_int_equal(pw_ip_parse("192.0.2.3", &family, &ip), 0);
	assert_int_equal(pw_compiled_deny_subtract(&out, family, &ip, &grant), 0);
	assert_string_equal(set_str(&grant, buf, sizeof(buf)), "tcp:22,tcp:443");

	/* inside a whole deny: nothing */
	assert_int_equal(pw_ip_parse("198.51.100.5", &family, &ip), 0);
	assert_true(pw_compiled_denies(&out, family, &ip, &grant));
	assert_true(pw_compiled_denies(&out, family, &ip, NULL));
	assert_int_equal(pw_compiled_deny_subtract(&out, family, &ip, &grant), 0);
	assert_int_equal(grant.n, 0);

	/* outside every deny */
	assert_int_equal(pw_compiled_fqdn_ports(&out, "api.example.com", &grant), 1);
	assert_int_equal(pw_ip_parse("203.0.113.5", &family, &ip), 0);
	assert_false(pw_compiled_denies(&out, family, &ip, &ssh));
	assert_int_equal(pw_compiled_deny_subtract(&out, family, &ip, &grant), 0);
	assert_string_equal(set_str(&grant, buf, sizeof(buf)), "tcp:22,tcp:443");

	pw_compiled_free(&out);
	pw_policies_free(v, 3);
}

struct from_rule_row {
	const char *name;
	const char *ports; /* NULL: a rule with no ports */
	const char *want;
};

/* clang-format off */
static const struct from_rule_row from_rule_rows[] = {
	{"no ports: any", NULL, "any"},
	{"one port", "tcp:443", "tcp:443"},
	{"port 0: every port of the protocol", "udp:0", "udp:0-65535"},
	{"end_port", "tcp:8000-8100", "tcp:8000-8100"},
	{"several merged", "tcp:443 udp:53 tcp:442 tcp:444-500", "tcp:442-500,udp:53"},
	{"all three protocols", "sctp:9 udp:9 tcp:9", "tcp:9,udp:9,sctp:9"},
};
/* clang-format on */

static void test_from_rule_row(void **state)
{
	const struct from_rule_row *r = *state;
	struct pw_range_set s;
	struct pw_rule rule = {0};
	char buf[512];

	if (r->ports)
		add_ports(&rule, r->ports);
	memset(&s, 0x5a, sizeof(s)); /* from_rule starts from nothing */
	assert_int_equal(pw_rangeset_from_rule(&s, &rule), 0);
	assert_string_equal(set_str(&s, buf, sizeof(buf)), r->want);
	free(rule.ports);
}

/* ---- pw_compile -------------------------------------------------------------------- */

#define E PW_MODE_ENFORCE
#define A PW_MODE_AUDIT

struct compile_case {
	const char *name;
	struct pol_spec pols[MAX_POLS];
	const char *pod_ns;
	const char *pod_labels;
	bool selected;
	uint8_t mode;
	const char *policies;		/* "ns/a ns/b", in policy order */
	const char *cidrs[MAX_ENTRIES]; /* "10.20.0.0/16 tcp:443", in output order */
	const char *fqdns[MAX_ENTRIES]; /* "api.example.com tcp:443", in output order */
	/* "10.20.9.1 tcp:443 deny": longest prefix containing the address; or
	 * "api.example.com tcp:443 allow": pw_compiled_fqdn_ports for the name. */
	const char *probes[MAX_PROBES];
};

/* clang-format off */
static const struct compile_case compile_cases[] = {
	{"unselected: labels differ",
	 {{"shop/api", E, "app=api", {{"192.0.2.0/24", "tcp:443"}}}},
	 "shop", "app=web", false, E, "", {NULL}, {NULL},
	 {"192.0.2.1 tcp:443 deny"}},
	{"unselected: namespace mismatch",
	 {{"prod/web", E, NULL, {{"192.0.2.0/24", "tcp:443"}}},
	  {"prod/web2", E, "app=web", {{"198.51.100.0/24", "tcp:443"}}}},
	 "shop", "app=web", false, E, "", {NULL}, {NULL},
	 {"192.0.2.1 tcp:443 deny", "198.51.100.1 tcp:443 deny"}},
	{"unselected: matchLabels needs every label",
	 {{"shop/fe", E, "app=web,tier=fe", {{"192.0.2.0/24", NULL}}}},
	 "shop", "app=web", false, E, "", {NULL}, {NULL}, {NULL}},
	{"selected: matchLabels subset of pod labels",
	 {{"shop/fe", E, "app=web,tier=fe", {{"192.0.2.0/24", NULL}}}},
	 "shop", "tier=fe,x=y,app=web", true, E, "shop/fe",
	 {"192.0.2.0/24 any"}, {NULL}, {"192.0.2.1 tcp:1 allow"}},
	{"empty selector selects every pod of its namespace",
	 {{"shop/all", E, NULL, {{"192.0.2.0/24", "tcp:443"}}}},
	 "shop", NULL, true, E, "shop/all",
	 {"192.0.2.0/24 tcp:443"}, {NULL},
	 {"192.0.2.9 tcp:443 allow", "192.0.2.9 tcp:80 deny", "192.0.2.9 udp:443 deny",
	  "198.51.100.1 tcp:443 deny", "2001:db8::1 tcp:443 deny"}},
	{"selected, no rules: everything denied",
	 {{"shop/lockdown", E, "app=web", {{NULL}}}},
	 "shop", "app=web", true, E, "shop/lockdown", {NULL}, {NULL},
	 {"192.0.2.1 tcp:443 deny", "2001:db8::1 udp:53 deny", "api.example.com tcp:443 deny"}},
	{"audit only: audit",
	 {{"shop/a", A, NULL, {{"192.0.2.0/24", "tcp:443"}}},
	  {"shop/b", A, "app=web", {{"198.51.100.0/24", "tcp:443"}}}},
	 "shop", "app=web", true, A, "shop/a shop/b",
	 {"192.0.2.0/24 tcp:443", "198.51.100.0/24 tcp:443"}, {NULL}, {NULL}},
	/* audit never grants: the audit policies' rules are not in the maps */
	{"enforce wins over audit",
	 {{"shop/a", A, NULL, {{"192.0.2.0/24", "tcp:443"}}},
	  {"shop/e", E, "app=web", {{"198.51.100.0/24", "tcp:443"}}},
	  {"shop/a2", A, NULL, {{"203.0.113.0/24", "tcp:443"}}}},
	 "shop", "app=web", true, E, "shop/a shop/e shop/a2",
	 {"198.51.100.0/24 tcp:443"}, {NULL},
	 {"192.0.2.1 tcp:443 deny", "198.51.100.1 tcp:443 allow", "203.0.113.1 tcp:443 deny"}},
	{"only selecting policies count: mode, rules, names",
	 {{"shop/a", A, "app=web", {{"192.0.2.0/24", "tcp:443"}}},
	  {"shop/db", E, "app=db", {{"198.51.100.0/24", "tcp:443"}}},
	  {"prod/x", E, NULL, {{"203.0.113.0/24", NULL}}}},
	 "shop", "app=web", true, A, "shop/a",
	 {"192.0.2.0/24 tcp:443"}, {NULL},
	 {"192.0.2.1 tcp:443 allow", "198.51.100.1 tcp:443 deny", "203.0.113.1 tcp:443 deny"}},
	/* ClusterEgressPolicy deny: no policy re-opens it (CVE-2024-47825: a broad
	 * deny next to a narrower allow must still deny). */
	{"deny contains allow (CVE-2024-47825 pattern): allow dropped",
	 {{"*/base", E, NULL, {{NULL}}, "192.0.2.0/24"},
	  {"shop/app", E, NULL, {{"192.0.2.10/32", "tcp:443"}, {"198.51.100.0/24", "tcp:443"}}}},
	 "shop", NULL, true, E, "*/base shop/app",
	 {"198.51.100.0/24 tcp:443"}, {NULL},
	 {"192.0.2.10 tcp:443 denied", "192.0.2.200 tcp:443 denied", "198.51.100.1 tcp:443 allow"}},
	{"deny contains allow, same policy",
	 {{"*/base", E, NULL, {{"192.0.2.10/32", "tcp:443"}}, "192.0.2.0/24"}},
	 "shop", NULL, true, E, "*/base", {NULL}, {NULL},
	 {"192.0.2.10 tcp:443 denied"}},
	{"allow contains deny: deny is its own empty prefix",
	 {{"shop/app", E, NULL, {{"192.0.2.0/24", "tcp:443"}}},
	  {"*/base", E, NULL, {{NULL}}, "192.0.2.128/25"}},
	 "shop", NULL, true, E, "shop/app */base",
	 {"192.0.2.0/24 tcp:443", "192.0.2.128/25 -"}, {NULL},
	 {"192.0.2.10 tcp:443 allow", "192.0.2.127 tcp:443 allow", "192.0.2.128 tcp:443 denied",
	  "192.0.2.200 tcp:443 denied", "192.0.2.255 udp:53 denied"}},
	{"deny equal to allow: deny wins",
	 {{"shop/app", E, NULL, {{"192.0.2.0/24", NULL}}},
	  {"*/base", E, NULL, {{NULL}}, "192.0.2.0/24"}},
	 "shop", NULL, true, E, "shop/app */base", {NULL}, {NULL},
	 {"192.0.2.0 tcp:443 denied", "192.0.2.255 icmp:0 denied", "198.51.100.1 tcp:443 deny"}},
	{"v6: deny inside one allow, around another",
	 {{"shop/app", E, NULL, {{"2001:db8::/32", "tcp:443"}, {"2001:db8:1:2::/64", NULL}}},
	  {"*/base", E, NULL, {{NULL}}, "2001:db8:1::/48"}},
	 "shop", NULL, true, E, "shop/app */base",
	 {"2001:db8::/32 tcp:443", "2001:db8:1::/48 -"}, {NULL},
	 {"2001:db8::1 tcp:443 allow", "2001:db8:1::5 tcp:443 denied",
	  "2001:db8:1:2::1 udp:53 denied", "2001:db8:2::1 tcp:443 allow"}},
	{"allow except next to a deny",
	 {{"shop/app", E, NULL, {{"192.0.2.0/24!192.0.2.0/28", "tcp:443"}}},
	  {"*/base", E, NULL, {{NULL}}, "192.0.2.128/25"}},
	 "shop", NULL, true, E, "shop/app */base",
	 {"192.0.2.0/24 tcp:443", "192.0.2.0/28 -", "192.0.2.128/25 -"}, {NULL},
	 {"192.0.2.1 tcp:443 deny", "192.0.2.20 tcp:443 allow", "192.0.2.130 tcp:443 denied"}},
	{"deny except: a hole in the deny, not a grant",
	 {{"*/base", E, NULL, {{"198.51.100.0/24", NULL}}, "192.0.2.0/24!192.0.2.0/28"},
	  {"shop/app", E, NULL, {{"192.0.2.0/25", "tcp:443"}}}},
	 "shop", NULL, true, E, "*/base shop/app",
	 {"192.0.2.0/28 tcp:443", "198.51.100.0/24 any"}, {NULL},
	 {"192.0.2.1 tcp:443 allow", "192.0.2.1 tcp:80 deny", "192.0.2.20 tcp:443 denied",
	  "192.0.2.200 tcp:443 denied", "198.51.100.1 udp:53 allow"}},
	{"deny of an audit policy denies nothing (audit never changes a verdict)",
	 {{"*/trial", A, NULL, {{NULL}}, "192.0.2.0/24"},
	  {"shop/app", E, NULL, {{"192.0.2.0/24", "tcp:443"}}}},
	 "shop", NULL, true, E, "*/trial shop/app",
	 {"192.0.2.0/24 tcp:443"}, {NULL}, {"192.0.2.1 tcp:443 allow"}},
	{"deny of a cluster policy not selecting the namespace",
	 {{"*/base", E, NULL, {{NULL}}, "192.0.2.0/24"},
	  {"prod/app", E, NULL, {{"192.0.2.0/24", "tcp:443"}}}},
	 "prod", NULL, true, E, "prod/app",
	 {"192.0.2.0/24 tcp:443"}, {NULL}, {"192.0.2.1 tcp:443 allow"}},
	/* Per-port denies: only those ports go, the others of every rule stay. */
	{"per-port deny inside an allow: the deny prefix keeps the allow's other ports",
	 {{"shop/app", E, NULL, {{"192.0.2.0/24", "tcp:22 tcp:443"}}},
	  {"*/base", E, NULL, {{NULL}}, "192.0.2.128/25", "tcp:22"}},
	 "shop", NULL, true, E, "shop/app */base",
	 {"192.0.2.0/24 tcp:22,tcp:443", "192.0.2.128/25 tcp:443"}, {NULL},
	 {"192.0.2.1 tcp:22 allow", "192.0.2.130 tcp:22 deny", "192.0.2.130 tcp:443 allow",
	  "192.0.2.255 tcp:443 allow"}},
	{"per-port deny contains allow (CVE-2024-47825 pattern): the allow loses those ports",
	 {{"*/base", E, NULL, {{NULL}}, "192.0.2.0/24", "tcp:22"},
	  {"shop/app", E, NULL, {{"192.0.2.10/32", "tcp:22 tcp:443"}, {"198.51.100.0/24", "tcp:22"}}}},
	 "shop", NULL, true, E, "*/base shop/app",
	 {"192.0.2.10/32 tcp:443", "198.51.100.0/24 tcp:22"}, {NULL},
	 {"192.0.2.10 tcp:22 deny", "192.0.2.10 tcp:443 allow", "192.0.2.11 tcp:443 deny",
	  "198.51.100.1 tcp:22 allow"}},
	{"per-port deny on a grant of every protocol: the other ports and ICMP stay",
	 {{"shop/app", E, NULL, {{"192.0.2.0/24", NULL}}},
	  {"*/base", E, NULL, {{NULL}}, "192.0.2.0/24", "tcp:22 udp:53"}},
	 "shop", NULL, true, E, "shop/app */base",
	 {"192.0.2.0/24 icmp:0-65535,tcp:0-21,tcp:23-65535,udp:0-52,udp:54-65535,"
	  "icmpv6:0-65535,sctp:0-65535"}, {NULL},
	 {"192.0.2.1 tcp:22 deny", "192.0.2.1 tcp:21 allow", "192.0.2.1 tcp:23 allow",
	  "192.0.2.1 udp:53 deny", "192.0.2.1 udp:54 allow", "192.0.2.1 icmp:0 allow",
	  "192.0.2.1 sctp:22 allow"}},
	{"per-port deny except: a hole for those ports, not a grant",
	 {{"*/base", E, NULL, {{NULL}}, "192.0.2.0/24!192.0.2.0/28", "tcp:443"},
	  {"shop/app", E, NULL, {{"192.0.2.0/24", "tcp:80 tcp:443"}}}},
	 "shop", NULL, true, E, "*/base shop/app",
	 {"192.0.2.0/24 tcp:80", "192.0.2.0/28 tcp:80,tcp:443"}, {NULL},
	 {"192.0.2.1 tcp:443 allow", "192.0.2.20 tcp:443 deny", "192.0.2.20 tcp:80 allow",
	  "192.0.3.1 tcp:80 deny"}},
	{"per-port deny of every allowed port: denied as a whole",
	 {{"shop/app", E, NULL, {{"192.0.2.0/24", "tcp:443"}}},
	  {"*/base", E, NULL, {{NULL}}, "192.0.2.0/25", "tcp:400-500"}},
	 "shop", NULL, true, E, "shop/app */base",
	 {"192.0.2.0/24 tcp:443", "192.0.2.0/25 -"}, {NULL},
	 {"192.0.2.1 tcp:443 deny", "192.0.2.129 tcp:443 allow"}},
	{"rule with no ports: every protocol and port",
	 {{"shop/p", E, NULL, {{"192.0.2.0/24", NULL}}}},
	 "shop", "app=web", true, E, "shop/p",
	 {"192.0.2.0/24 any"}, {NULL},
	 {"192.0.2.1 tcp:1 allow", "192.0.2.1 udp:65535 allow", "192.0.2.1 icmp:0 allow",
	  "192.0.2.255 sctp:9 allow", "192.0.3.0 tcp:1 deny", "192.0.1.255 udp:53 deny"}},
	{"ports merged and canonical",
	 {{"shop/p", E, NULL,
	   {{"192.0.2.0/24", "udp:53 tcp:8000-8100 tcp:8050-8200 tcp:8201 tcp:443"}}}},
	 "shop", "app=web", true, E, "shop/p",
	 {"192.0.2.0/24 tcp:443,tcp:8000-8201,udp:53"}, {NULL},
	 {"192.0.2.1 tcp:8201 allow", "192.0.2.1 tcp:8202 deny", "192.0.2.1 tcp:7999 deny",
	  "192.0.2.1 udp:8000 deny", "192.0.2.1 udp:53 allow", "192.0.2.1 tcp:53 deny",
	  "192.0.2.1 tcp:443 allow"}},
	{"port 0: every port of its protocol",
	 {{"shop/p", E, NULL, {{"192.0.2.0/24", "tcp:0 udp:53"}}}},
	 "shop", "app=web", true, E, "shop/p",
	 {"192.0.2.0/24 tcp:0-65535,udp:53"}, {NULL},
	 {"192.0.2.1 tcp:1 allow", "192.0.2.1 tcp:65535 allow", "192.0.2.1 udp:54 deny",
	  "192.0.2.1 icmp:0 deny"}},
	{"two policies add up",
	 {{"shop/a", E, NULL, {{"198.51.100.0/24", "tcp:443"}}},
	  {"shop/b", E, NULL, {{"198.51.100.0/24 203.0.113.0/24", "tcp:80"},
			       {"203.0.113.0/24", "udp:53"}}}},
	 "shop", "app=web", true, E, "shop/a shop/b",
	 {"198.51.100.0/24 tcp:80,tcp:443", "203.0.113.0/24 tcp:80,udp:53"}, {NULL},
	 {"198.51.100.7 tcp:443 allow", "198.51.100.7 tcp:80 allow", "198.51.100.7 udp:53 deny",
	  "203.0.113.7 tcp:80 allow", "203.0.113.7 udp:53 allow", "203.0.113.7 tcp:443 deny",
	  "192.0.2.7 tcp:80 deny"}},
	{"overlapping rules: the longer prefix carries both",
	 {{"shop/p", E, NULL, {{"192.0.2.0/24", "tcp:80"}, {"192.0.2.128/25", "tcp:443"}}}},
	 "shop", "app=web", true, E, "shop/p",
	 {"192.0.2.0/24 tcp:80", "192.0.2.128/25 tcp:80,tcp:443"}, {NULL},
	 {"192.0.2.1 tcp:443 deny", "192.0.2.1 tcp:80 allow", "192.0.2.127 tcp:443 deny",
	  "192.0.2.128 tcp:443 allow", "192.0.2.255 tcp:80 allow"}},
	{"except: the /16 carries the ports, the /24 none",
	 {{"shop/p", E, NULL, {{"10.20.0.0/16!10.20.9.0/24", "tcp:443"}}}},
	 "shop", "app=web", true, E, "shop/p",
	 {"10.20.0.0/16 tcp:443", "10.20.9.0/24 -"}, {NULL},
	 {"10.20.1.1 tcp:443 allow", "10.20.9.1 tcp:443 deny", "10.20.9.255 tcp:443 deny",
	  "10.20.9.0 tcp:443 deny", "10.20.8.255 tcp:443 allow", "10.20.10.0 tcp:443 allow",
	  "10.20.1.1 tcp:80 deny", "10.21.0.1 tcp:443 deny", "10.19.255.255 tcp:443 deny"}},
	{"except covered by another policy's rule: only that rule's ports",
	 {{"shop/a", E, NULL, {{"10.20.0.0/16!10.20.9.0/24", "tcp:443"}}},
	  {"shop/b", E, NULL, {{"10.20.9.0/24", "tcp:80"}}}},
	 "shop", "app=web", true, E, "shop/a shop/b",
	 {"10.20.0.0/16 tcp:443", "10.20.9.0/24 tcp:80"}, {NULL},
	 {"10.20.9.5 tcp:80 allow", "10.20.9.5 tcp:443 deny", "10.20.1.1 tcp:443 allow",
	  "10.20.1.1 tcp:80 deny"}},
	{"except inside a wider rule of another policy",
	 {{"shop/a", E, NULL, {{"10.20.0.0/16!10.20.9.0/24", "tcp:443"}}},
	  {"shop/b", E, NULL, {{"10.20.8.0/22", "tcp:80"}}}},
	 "shop", "app=web", true, E, "shop/a shop/b",
	 {"10.20.0.0/16 tcp:443", "10.20.8.0/22 tcp:80,tcp:443", "10.20.9.0/24 tcp:80"}, {NULL},
	 {"10.20.9.5 tcp:80 allow", "10.20.9.5 tcp:443 deny", "10.20.10.1 tcp:80 allow",
	  "10.20.10.1 tcp:443 allow", "10.20.8.0 tcp:443 allow", "10.20.12.1 tcp:80 deny",
	  "10.20.12.1 tcp:443 allow", "10.20.7.255 tcp:80 deny"}},
	{"except covered by a rule with no ports",
	 {{"shop/a", E, NULL, {{"10.20.0.0/16!10.20.9.0/24", "tcp:443"}}},
	  {"shop/b", E, NULL, {{"10.0.0.0/8", NULL}}}},
	 "shop", "app=web", true, E, "shop/a shop/b",
	 {"10.0.0.0/8 any", "10.20.0.0/16 any", "10.20.9.0/24 any"}, {NULL},
	 {"10.20.9.1 udp:53 allow", "10.20.1.1 tcp:1 allow", "11.0.0.1 tcp:443 deny"}},
	{"same except in two policies stays empty",
	 {{"shop/a", E, NULL, {{"10.20.0.0/16!10.20.9.0/24", "tcp:443"}}},
	  {"shop/b", E, NULL, {{"10.20.0.0/16!10.20.9.0/24", "tcp:80"}}}},
	 "shop", "app=web", true, E, "shop/a shop/b",
	 {"10.20.0.0/16 tcp:80,tcp:443", "10.20.9.0/24 -"}, {NULL},
	 {"10.20.9.1 tcp:80 deny", "10.20.9.1 tcp:443 deny", "10.20.1.1 tcp:80 allow"}},
	{"except of one rule granted by another rule of the same policy",
	 {{"shop/a", E, NULL, {{"10.20.0.0/16!10.20.9.0/24", "tcp:443"},
			       {"10.20.9.0/24", "udp:53"}}}},
	 "shop", "app=web", true, E, "shop/a",
	 {"10.20.0.0/16 tcp:443", "10.20.9.0/24 udp:53"}, {NULL},
	 {"10.20.9.1 udp:53 allow", "10.20.9.1 tcp:443 deny", "10.20.1.1 udp:53 deny"}},
	{"nested excepts across rules",
	 {{"shop/a", E, NULL, {{"10.0.0.0/8!10.1.0.0/16", "tcp:443"},
			       {"10.1.0.0/16!10.1.1.0/24", "tcp:80"},
			       {"10.1.1.128/25", "udp:53"}}}},
	 "shop", "app=web", true, E, "shop/a",
	 {"10.0.0.0/8 tcp:443", "10.1.0.0/16 tcp:80", "10.1.1.0/24 -", "10.1.1.128/25 udp:53"},
	 {NULL},
	 {"10.2.0.1 tcp:443 allow", "10.2.0.1 tcp:80 deny", "10.1.2.3 tcp:80 allow",
	  "10.1.2.3 tcp:443 deny", "10.1.1.1 tcp:80 deny", "10.1.1.1 tcp:443 deny",
	  "10.1.1.1 udp:53 deny", "10.1.1.200 udp:53 allow", "10.1.1.200 tcp:80 deny",
	  "10.1.1.127 udp:53 deny"}},
	{"nested excepts in one rule",
	 {{"shop/a", E, NULL, {{"10.0.0.0/8!10.1.0.0/16!10.1.1.0/24", "tcp:443"}}}},
	 "shop", "app=web", true, E, "shop/a",
	 {"10.0.0.0/8 tcp:443", "10.1.0.0/16 -", "10.1.1.0/24 -"}, {NULL},
	 {"10.1.1.1 tcp:443 deny", "10.1.2.1 tcp:443 deny", "10.2.0.0 tcp:443 allow"}},
	{"default route with excepts",
	 {{"shop/a", E, NULL, {{"0.0.0.0/0!10.0.0.0/8!192.168.0.0/16", "tcp:443"}}}},
	 "shop", "app=web", true, E, "shop/a",
	 {"0.0.0.0/0 tcp:443", "10.0.0.0/8 -", "192.168.0.0/16 -"}, {NULL},
	 {"203.0.113.1 tcp:443 allow", "10.9.9.9 tcp:443 deny", "192.168.1.1 tcp:443 deny",
	  "192.169.0.1 tcp:443 allow", "192.0.2.1 tcp:80 deny", "2001:db8::1 tcp:443 deny"}},
	{"IPv6 with except",
	 {{"shop/a", E, NULL, {{"2001:db8::/32!2001:db8:bad::/48", "tcp:443"}}}},
	 "shop", "app=web", true, E, "shop/a",
	 {"2001:db8::/32 tcp:443", "2001:db8:bad::/48 -"}, {NULL},
	 {"2001:db8:1::1 tcp:443 allow", "2001:db8:bad::1 tcp:443 deny",
	  "2001:db8:bad:1::1 tcp:443 deny", "2001:db8:bae::1 tcp:443 allow",
	  "2001:db8:bac:ffff::1 tcp:443 allow", "2001:db9::1 tcp:443 deny",
	  "2001:db8:1::1 tcp:80 deny"}},
	{"IPv6 nested across policies",
	 {{"shop/a", E, NULL, {{"2001:db8::/32!2001:db8:1::/48", "tcp:443"}}},
	  {"shop/b", E, NULL, {{"2001:db8:1::/48!2001:db8:1:1::/64", "tcp:80"}}}},
	 "shop", "app=web", true, E, "shop/a shop/b",
	 {"2001:db8::/32 tcp:443", "2001:db8:1::/48 tcp:80", "2001:db8:1:1::/64 -"}, {NULL},
	 {"2001:db8:2::1 tcp:443 allow", "2001:db8:1::1 tcp:80 allow",
	  "2001:db8:1::1 tcp:443 deny", "2001:db8:1:1::1 tcp:80 deny",
	  "2001:db8:1:1::1 tcp:443 deny", "2001:db8:1:2::1 tcp:80 allow"}},
	{"IPv4 and IPv6 kept apart",
	 {{"shop/a", E, NULL, {{"::/0", "udp:53"}, {"192.0.2.0/24", "tcp:80"}}}},
	 "shop", "app=web", true, E, "shop/a",
	 {"192.0.2.0/24 tcp:80", "::/0 udp:53"}, {NULL},
	 {"192.0.2.1 udp:53 deny", "192.0.2.1 tcp:80 allow", "198.51.100.1 udp:53 deny",
	  "2001:db8::1 udp:53 allow", "2001:db8::1 tcp:80 deny",
	  "::ffff:192.0.2.1 tcp:80 deny", "c000:201:: tcp:80 deny"}},
	{"hostnames merged per pattern with port unions",
	 {{"shop/a", E, NULL, {{"api.example.com *.example.org", "tcp:443"},
			       {"api.example.com", "tcp:8443"}}},
	  {"shop/b", E, NULL, {{"api.example.com", "tcp:444"}, {"**.example.net", NULL}}}},
	 "shop", "app=web", true, E, "shop/a shop/b",
	 {NULL},
	 {"api.example.com tcp:443-444,tcp:8443", "*.example.org tcp:443", "**.example.net any"},
	 {"api.example.com tcp:444 allow", "api.example.com tcp:445 deny",
	  "api.example.com tcp:8443 allow", "x.example.org tcp:443 allow",
	  "x.example.org tcp:8443 deny", "example.org tcp:443 deny",
	  "x.y.example.org tcp:443 deny", "a.b.example.net udp:9 allow",
	  "example.net tcp:1 deny", "www.example.com tcp:443 deny"}},
	{"hostname patterns overlap: ports of every match",
	 {{"shop/a", E, NULL, {{"*.example.com", "tcp:443"}, {"api.example.com", "tcp:80"}}}},
	 "shop", "app=web", true, E, "shop/a",
	 {NULL}, {"*.example.com tcp:443", "api.example.com tcp:80"},
	 {"api.example.com tcp:443 allow", "api.example.com tcp:80 allow",
	  "www.example.com tcp:80 deny", "www.example.com tcp:443 allow"}},
	{"hostname and CIDR in one rule share its ports",
	 {{"shop/a", E, NULL, {{"api.example.com 192.0.2.0/24", "tcp:443"}}}},
	 "shop", "app=web", true, E, "shop/a",
	 {"192.0.2.0/24 tcp:443"}, {"api.example.com tcp:443"},
	 {"api.example.com tcp:443 allow", "192.0.2.1 tcp:443 allow",
	  "api.example.com tcp:80 deny"}},
};
/* clang-format on */

static size_t count_pols(const struct compile_case *c)
{
	size_t n = 0;

	while (n < MAX_POLS && c->pols[n].id)
		n++;
	return n;
}

static void check_probe(const struct compile_case *c, const struct pw_compiled *out,
			const char *probe)
{
	char dst[300], port[32], verdict[8];
	const struct pw_cidr_entry *e;
	struct pw_range_set fq;
	bool allow = false, want;
	uint16_t lo, hi;
	union pw_ip ip;
	uint8_t family, proto;

	if (sscanf(probe, "%299s %31s %7s", dst, port, verdict) != 3)
		fail_msg("bad probe in test data: %s", probe);
	want = !strcmp(verdict, "allow");
	port_tok(port, &proto, &lo, &hi);
	if (!pw_ip_parse(dst, &family, &ip)) {
		e = lpm(out, family, &ip);
		allow = e && pw_rangeset_allows(&e->ports, proto, lo);
		/* "denied": a cluster deny holds it, the learner must not learn it either */
		if (pw_compiled_denies(out, family, &ip, NULL) != !strcmp(verdict, "denied"))
			fail_msg("%s: probe %s: pw_compiled_denies says %s", c->name, probe,
				 pw_compiled_denies(out, family, &ip, NULL) ? "denied"
									    : "not denied");
	} else {
		int m = pw_compiled_fqdn_ports(out, dst, &fq);

		assert_true(m == 0 || m == 1);
		allow = m == 1 && pw_rangeset_allows(&fq, proto, lo);
	}
	if (allow != want)
		fail_msg("%s: probe %s: got %s", c->name, probe, allow ? "allow" : "deny");
}

static void check_compiled(const struct compile_case *c, const struct pw_compiled *out)
{
	char got[600], buf[512], ip[PW_IP_STRLEN];
	size_t n, off;

	assert_int_equal(out->selected, c->selected);
	assert_int_equal(out->mode, c->mode);

	got[0] = '\0';
	off = 0;
	for (size_t i = 0; i < out->n_policies; i++)
		off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s", i ? " " : "",
					out->policies[i]);
	assert_string_equal(got, c->policies);

	for (n = 0; n < MAX_ENTRIES && c->cidrs[n]; n++)
		;
	for (size_t i = 0; i < out->n_cidrs; i++) {
		const struct pw_cidr_entry *e = &out->cidrs[i];

		snprintf(got, sizeof(got), "%s/%u %s", pw_ip_str(e->family, &e->addr, ip),
			 e->prefix, set_str(&e->ports, buf, sizeof(buf)));
		if (i >= n || strcmp(got, c->cidrs[i]))
			fail_msg("%s: cidrs[%zu]: got \"%s\", want \"%s\"", c->name, i, got,
				 i < n ? c->cidrs[i] : "(none)");
	}
	if (out->n_cidrs != n)
		fail_msg("%s: %zu cidr entries, want %zu", c->name, out->n_cidrs, n);

	for (n = 0; n < MAX_ENTRIES && c->fqdns[n]; n++)
		;
	for (size_t i = 0; i < out->n_fqdns; i++) {
		const struct pw_fqdn_entry *f = &out->fqdns[i];

		off = (size_t)snprintf(got, sizeof(got), "%s ", f->pattern);
		set_str(&f->ports, got + off, sizeof(got) - off);
		if (i >= n || strcmp(got, c->fqdns[i]))
			fail_msg("%s: fqdns[%zu]: got \"%s\", want \"%s\"", c->name, i, got,
				 i < n ? c->fqdns[i] : "(none)");
		assert_int_equal(f->kind, f->pattern[0] == '*' ? PW_FQDN_PATTERN : PW_FQDN_NAME);
	}
	if (out->n_fqdns != n)
		fail_msg("%s: %zu hostname entries, want %zu", c->name, out->n_fqdns, n);

	for (size_t i = 0; i < MAX_PROBES && c->probes[i]; i++)
		check_probe(c, out, c->probes[i]);
}

static void compile_case(const struct compile_case *c, bool reverse, struct pw_compiled *out)
{
	size_t n = count_pols(c);
	struct pw_policy *pols = build_policies(c->pols, n, reverse);
	struct pw_labels labels = {0};
	char err[PW_ERR_LEN] = "";
	int ret;

	labels_from(&labels, c->pod_labels);
	ret = pw_compile(pols, n, c->pod_ns, &labels, out, err, sizeof(err));
	if (ret)
		fail_msg("%s: pw_compile: %d (%s)", c->name, ret, err);
	pw_labels_free(&labels);
	pw_policies_free(pols, n);
}

static void test_compile_case(void **state)
{
	const struct compile_case *c = *state;
	struct pw_compiled fwd = {0}, rev = {0}, again = {0};

	compile_case(c, false, &fwd);
	check_compiled(c, &fwd);

	/* Same input, same output. */
	compile_case(c, false, &again);
	assert_int_equal(again.n_cidrs, fwd.n_cidrs);
	if (fwd.n_cidrs)
		assert_memory_equal(again.cidrs, fwd.cidrs, fwd.n_cidrs * sizeof(*fwd.cidrs));

	/* Policy order changes the order of names only. */
	compile_case(c, true, &rev);
	assert_int_equal(rev.selected, fwd.selected);
	assert_int_equal(rev.mode, fwd.mode);
	assert_int_equal(rev.n_cidrs, fwd.n_cidrs);
	if (fwd.n_cidrs)
		assert_memory_equal(rev.cidrs, fwd.cidrs, fwd.n_cidrs * sizeof(*fwd.cidrs));
	assert_int_equal(rev.n_policies, fwd.n_policies);
	for (size_t i = 0; i < fwd.n_policies; i++)
		assert_string_equal(rev.policies[i], fwd.policies[fwd.n_policies - 1 - i]);
	assert_int_equal(rev.n_fqdns, fwd.n_fqdns);
	for (size_t i = 0; i < rev.n_fqdns; i++) {
		size_t j = 0;

		while (j < fwd.n_fqdns && strcmp(fwd.fqdns[j].pattern, rev.fqdns[i].pattern))
			j++;
		assert_true(j < fwd.n_fqdns);
		assert_int_equal(rev.fqdns[i].kind, fwd.fqdns[j].kind);
		assert_memory_equal(&rev.fqdns[i].ports, &fwd.fqdns[j].ports,
				    sizeof(rev.fqdns[i].ports));
	}
	for (size_t i = 0; i < MAX_PROBES && c->probes[i]; i++)
		check_probe(c, &rev, c->probes[i]);

	pw_compiled_free(&fwd);
	pw_compiled_free(&again);
	pw_compiled_free(&rev);
}

/* n policies of one rule each: dst with port base + step * i. */
static struct pw_policy *port_policies(size_t n, const char *dst, uint16_t base, uint16_t step)
{
	struct pol_spec *specs = calloc(n, sizeof(*specs));
	char(*ports)[16] = calloc(n, sizeof(*ports));
	char(*ids)[32] = calloc(n, sizeof(*ids));
	struct pw_policy *v;

	assert_true(specs && ports && ids);
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "shop/p%zu", i);
		snprintf(ports[i], sizeof(ports[i]), "tcp:%u", (unsigned)(base + step * i));
		specs[i].id = ids[i];
		specs[i].mode = E;
		specs[i].rules[0].to = dst;
		specs[i].rules[0].ports = ports[i];
	}
	v = build_policies(specs, n, false);
	free(specs);
	free(ports);
	free(ids);
	return v;
}

struct e2big_row {
	const char *name;
	const char *dst;
	size_t n_pols;
	uint16_t step; /* 1: adjacent ports merge; 2: apart */
	int ret;
	const char *err;  /* substring of err */
	const char *want; /* on success: the only entry */
};

/* clang-format off */
static const struct e2big_row e2big_rows[] = {
	{"cidr: 32 ranges fit", "192.0.2.0/24", PW_MAX_PORT_RANGES, 2, 0, NULL,
	 "192.0.2.0/24 tcp:1000,tcp:1002"},
	{"cidr: 33 ranges refused", "192.0.2.0/24", PW_MAX_PORT_RANGES + 1, 2, -E2BIG,
	 "192.0.2.0/24: more than 32 port ranges in all", NULL},
	{"cidr: 40 adjacent ports merge first", "192.0.2.0/24", 40, 1, 0, NULL,
	 "192.0.2.0/24 tcp:1000-1039"},
	{"cidr v6: 33 ranges refused", "2001:db8::/32", PW_MAX_PORT_RANGES + 1, 2, -E2BIG,
	 "2001:db8::/32: more than 32 port ranges in all", NULL},
	{"hostname: 32 ranges fit", "api.example.com", PW_MAX_PORT_RANGES, 2, 0, NULL,
	 "api.example.com tcp:1000,tcp:1002"},
	{"hostname: 33 ranges refused", "api.example.com", PW_MAX_PORT_RANGES + 1, 2, -E2BIG,
	 "hostname api.example.com: more than 32 port ranges in all", NULL},
	{"hostname: 40 adjacent ports merge first", "api.example.com", 40, 1, 0, NULL,
	 "api.example.com tcp:1000-1039"},
};
/* clang-format on */

static void test_e2big_row(void **state)
{
	const struct e2big_row *r = *state;
	struct pw_policy *pols = port_policies(r->n_pols, r->dst, 1000, r->step);
	struct pw_compiled out = {0};
	struct pw_labels labels = {0};
	char err[PW_ERR_LEN] = "", got[1024], ip[PW_IP_STRLEN];
	int ret;

	memset(&out, 0x5a, sizeof(out));
	ret = pw_compile(pols, r->n_pols, "shop", &labels, &out, err, sizeof(err));
	assert_int_equal(ret, r->ret);
	if (ret) {
		if (!strstr(err, r->err))
			fail_msg("err \"%s\", want it to contain \"%s\"", err, r->err);
		/* Refused whole: out untouched. */
		for (size_t i = 0; i < sizeof(out); i++)
			assert_int_equal(((unsigned char *)&out)[i], 0x5a);
	} else {
		assert_int_equal(out.n_cidrs + out.n_fqdns, 1);
		if (out.n_cidrs)
			snprintf(got, sizeof(got), "%s/%u ",
				 pw_ip_str(out.cidrs[0].family, &out.cidrs[0].addr, ip),
				 out.cidrs[0].prefix);
		else
			snprintf(got, sizeof(got), "%s ", out.fqdns[0].pattern);
		set_str(out.n_cidrs ? &out.cidrs[0].ports : &out.fqdns[0].ports, got + strlen(got),
			sizeof(got) - strlen(got));
		if (strncmp(got, r->want, strlen(r->want)))
			fail_msg("got \"%s\", want it to start with \"%s\"", got, r->want);
		assert_int_equal(out.n_policies, r->n_pols);
		pw_compiled_free(&out);
	}
	pw_policies_free(pols, r->n_pols);
}

/* Each pattern fits, the union for a name matching both does not. */
static void test_fqdn_ports_e2big(void **state)
{
	struct pw_policy *pols = port_policies(40, NULL, 1000, 2);
	struct pw_compiled out = {0};
	struct pw_labels labels = {0};
	struct pw_range_set s;
	char err[PW_ERR_LEN] = "";

	for (size_t i = 0; i < 40; i++)
		add_fqdn(&pols[i].rules[0], i < 20 ? "*.example.com" : "api.example.com");
	assert_int_equal(pw_compile(pols, 40, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_int_equal(out.n_fqdns, 2);
	assert_int_equal(out.fqdns[0].ports.n, 20);
	assert_int_equal(out.fqdns[1].ports.n, 20);
	assert_int_equal(pw_compiled_fqdn_ports(&out, "www.example.com", &s), 1);
	assert_int_equal(s.n, 20);
	assert_int_equal(pw_compiled_fqdn_ports(&out, "api.example.com", &s), -E2BIG);
	assert_int_equal(pw_compiled_fqdn_ports(&out, "example.com", &s), 0);
	assert_int_equal(s.n, 0);
	pw_compiled_free(&out);
	pw_compiled_free(&out); /* freeing twice is harmless */
	pw_policies_free(pols, 40);
}

/* allowPrivate: only the opting-in rules' ports count for guarded addresses. */
static void test_fqdn_ports_private(void **state)
{
	static const char yaml[] =
		"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: p, namespace: shop}\nspec:\n  podSelector: {}\n  egress:\n"
		"  - toFQDNs: [{matchPattern: \"*.example.com\"}]\n"
		"    ports: [{port: 443, protocol: TCP}]\n"
		"  - toFQDNs: [{matchName: db.example.com}]\n    allowPrivate: true\n"
		"    ports: [{port: 5432, protocol: TCP}]\n";
	struct pw_policy *pols = NULL;
	struct pw_compiled out = {0};
	struct pw_labels labels = {0};
	struct pw_range_set s;
	char err[PW_ERR_LEN] = "";
	size_t n = 0;

	assert_int_equal(
		pw_policy_file_parse(yaml, sizeof(yaml) - 1, "t.yaml", &pols, &n, err, sizeof(err)),
		0);
	assert_true(pols[0].rules[1].allow_private);
	assert_false(pols[0].rules[0].allow_private);
	assert_int_equal(pw_compile(pols, n, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_int_equal(pw_compiled_fqdn_ports(&out, "db.example.com", &s), 1);
	assert_int_equal(s.n, 2);
	assert_int_equal(pw_compiled_fqdn_ports_private(&out, "db.example.com", &s), 1);
	assert_int_equal(s.n, 1);
	assert_true(pw_rangeset_allows(&s, 6, 5432));
	assert_false(pw_rangeset_allows(&s, 6, 443));
	assert_int_equal(pw_compiled_fqdn_ports_private(&out, "www.example.com", &s), 0);
	pw_compiled_free(&out);
	pw_policies_free(pols, n);
}

/* Audit never grants: an enforced pod gets only the enforce policies' rules. */
static void test_audit_never_grants(void **state)
{
	static const char yaml[] =
		"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: enf, namespace: shop}\nspec:\n  podSelector: {}\n  egress:\n"
		"  - toCIDRs: [{cidr: 192.0.2.10/32}]\n    ports: [{port: 443}]\n"
		"---\napiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: aud, namespace: shop}\nspec:\n  podSelector: {}\n"
		"  mode: audit\n  egress:\n"
		"  - toCIDRs: [{cidr: 192.0.2.20/32}]\n    ports: [{port: 443}]\n"
		"  - toFQDNs: [{matchName: audit.example.com}]\n";
	struct pw_policy *pols = NULL;
	struct pw_compiled out = {0};
	struct pw_labels labels = {0};
	union pw_ip a10 = {0}, a20 = {0};
	char err[PW_ERR_LEN] = "";
	uint8_t fam;
	size_t n = 0;

	assert_int_equal(
		pw_policy_file_parse(yaml, sizeof(yaml) - 1, "t.yaml", &pols, &n, err, sizeof(err)),
		0);
	assert_int_equal(pw_compile(pols, n, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_int_equal(out.mode, PW_MODE_ENFORCE);
	assert_int_equal(out.n_cidrs, 1); /* 192.0.2.10 only */
	assert_int_equal(out.n_fqdns, 0);
	assert_int_equal(out.n_policies, 2);
	assert_string_equal(out.policies[1], "shop/aud");
	assert_non_null(out.audit);
	pw_ip_parse("192.0.2.10", &fam, &a10);
	pw_ip_parse("192.0.2.20", &fam, &a20);
	assert_true(pw_compiled_audit_allows(&out, fam, &a20, 6, 443, NULL));
	assert_false(pw_compiled_audit_allows(&out, fam, &a20, 6, 80, NULL));
	assert_true(pw_compiled_audit_allows(&out, fam, &a10, 6, 80, "audit.example.com"));
	assert_false(pw_compiled_audit_allows(&out, fam, &a10, 6, 80, "other.example.com"));
	pw_compiled_free(&out);
	/* Audit only: everything counts (nothing is dropped anyway). */
	assert_int_equal(pw_compile(pols + 1, 1, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_int_equal(out.mode, PW_MODE_AUDIT);
	assert_int_equal(out.n_cidrs, 1);
	assert_null(out.audit);
	pw_compiled_free(&out);
	pw_policies_free(pols, n);
}

/* The name table: every toFQDNs name (CONNECT) and spec.dns.resolveNames
 * name (RESOLVE), one entry per (kind, text) with the flags merged, sorted;
 * resolveAnyName and refuseWith from any selecting policy. */
static void test_compile_names(void **state)
{
	static const char yaml[] =
		"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: a, namespace: shop}\n"
		"spec:\n  podSelector: {}\n  egress:\n"
		"  - toFQDNs: [{matchName: API.example.com.}, {matchPattern: \"*.github.com\"},\n"
		"              {matchPattern: \"**.s3.amazonaws.com\"}]\n"
		"  dns:\n    resolveNames: [{matchName: api.example.com},\n"
		"                   {matchPattern: \"**.svc.cluster.local\"}]\n"
		"    refuseWith: NXDOMAIN\n"
		"---\n"
		"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: b, namespace: other}\n"
		"spec:\n  podSelector: {}\n  dns: {resolveAnyName: true}\n";
	struct pw_policy *v;
	struct pw_compiled c = {0};
	struct pw_labels labels = {0};
	char err[PW_ERR_LEN] = "";
	size_t n;

	assert_int_equal(
		pw_policy_file_parse(yaml, sizeof(yaml) - 1, "t.yaml", &v, &n, err, sizeof(err)),
		0);
	assert_int_equal(pw_compile(v, n, "shop", &labels, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_names, 4);
	assert_int_equal(c.names[0].kind, PW_NK_EXACT);
	assert_string_equal(c.names[0].text, "api.example.com");
	assert_int_equal(c.names[0].flags, PW_NAME_F_CONNECT | PW_NAME_F_RESOLVE);
	assert_int_equal(c.names[1].kind, PW_NK_ONE);
	assert_string_equal(c.names[1].text, "github.com");
	assert_int_equal(c.names[1].flags, PW_NAME_F_CONNECT);
	assert_int_equal(c.names[2].kind, PW_NK_MANY);
	assert_string_equal(c.names[2].text, "s3.amazonaws.com");
	assert_int_equal(c.names[3].kind, PW_NK_MANY);
	assert_string_equal(c.names[3].text, "svc.cluster.local");
	assert_int_equal(c.names[3].flags, PW_NAME_F_RESOLVE);
	assert_true(c.dns_nxdomain);
	assert_false(c.dns_any_name); /* policy b is in another namespace */
	assert_int_equal(pw_compiled_add_name(&c, "**.cluster.local", PW_NAME_F_SEARCH), 0);
	assert_int_equal(c.n_names, 5);
	assert_string_equal(c.names[2].text, "cluster.local");
	pw_compiled_free(&c);

	assert_int_equal(pw_compile(v, n, "other", &labels, &c, err, sizeof(err)), 0);
	assert_true(c.dns_any_name);
	assert_false(c.dns_nxdomain);
	assert_int_equal(c.n_names, 0);
	pw_compiled_free(&c);
	pw_policies_free(v, n);
}

/* toServices/toEntities: each resolved address is a host prefix carrying the
 * peer's ports (added to what a CIDR rule around it grants), the Services'
 * names are resolve-only, a ClusterEgressPolicy deny still wins, and an
 * unresolved rule grants nothing. */
static void test_compile_peers(void **state)
{
	static const char yaml[] =
		"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: a, namespace: shop}\n"
		"spec:\n  podSelector: {}\n  egress:\n"
		"  - toServices: [{name: gw}]\n"
		"  - toCIDRs: [{cidr: 192.0.2.0/24}]\n    ports: [{port: 22}]\n"
		"---\n"
		"apiVersion: podwall.io/v1alpha1\nkind: ClusterEgressPolicy\n"
		"metadata: {name: d}\n"
		"spec:\n  namespaceSelector: {}\n  deny: [{toCIDRs: [{cidr: 198.51.100.0/24}]}]\n";
	struct pw_port p80 = {.proto = IPPROTO_TCP, .port = 80},
		       p53 = {.proto = IPPROTO_UDP, .port = 53};
	struct pw_policy *v;
	struct pw_compiled c = {0};
	struct pw_labels labels = {0};
	struct pw_peers peers = {0};
	const struct pw_cidr_entry *e;
	const char *shop = "shop";
	char err[PW_ERR_LEN] = "";
	struct pw_cidr a = cidr_of("192.0.2.7/32"), b = cidr_of("198.51.100.7/32");
	size_t n;

	(void)state;
	assert_int_equal(
		pw_policy_file_parse(yaml, sizeof(yaml) - 1, "t.yaml", &v, &n, err, sizeof(err)),
		0);
	assert_int_equal(pw_policy_set_namespaces(&v[1], &shop, 1), 0);
	/* unresolved: only the CIDR rule */
	assert_int_equal(pw_compile(v, n, "shop", &labels, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_cidrs, 1); /* the /24 (the deny around nothing is dropped) */
	assert_int_equal(c.n_names, 0);
	pw_compiled_free(&c);

	peers.v = calloc(2, sizeof(*peers.v));
	peers.names = calloc(1, sizeof(*peers.names));
	assert_non_null(peers.v);
	assert_non_null(peers.names);
	peers.n = 2;
	peers.v[0] = (struct pw_peer){.family = a.family, .addr = a.addr, .n_ports = 2};
	peers.v[0].ports = calloc(2, sizeof(struct pw_port));
	peers.v[0].ports[0] = p80;
	peers.v[0].ports[1] = p53;
	peers.v[1] = (struct pw_peer){.family = b.family, .addr = b.addr, .n_ports = 1};
	peers.v[1].ports = calloc(1, sizeof(struct pw_port));
	peers.v[1].ports[0] = p80;
	peers.names[0] = strdup("gw.shop.svc.cluster.local");
	peers.n_names = 1;
	pw_rule_set_peers(&v[0].rules[0], &peers);
	assert_int_equal(peers.n, 0);

	assert_int_equal(pw_compile(v, n, "shop", &labels, &c, err, sizeof(err)), 0);
	e = lpm(&c, a.family, &a.addr);
	assert_non_null(e);
	assert_int_equal(e->prefix, 32);
	assert_true(pw_rangeset_allows(&e->ports, IPPROTO_TCP, 80));
	assert_true(pw_rangeset_allows(&e->ports, IPPROTO_UDP, 53));
	assert_true(pw_rangeset_allows(&e->ports, IPPROTO_TCP, 22)); /* the /24 around it */
	assert_false(pw_rangeset_allows(&e->ports, IPPROTO_TCP, 443));
	e = lpm(&c, b.family, &b.addr);
	assert_true(!e || !pw_rangeset_allows(&e->ports, IPPROTO_TCP, 80)); /* deny beats it */
	assert_int_equal(c.n_names, 1);
	assert_string_equal(c.names[0].text, "gw.shop.svc.cluster.local");
	assert_int_equal(c.names[0].flags, PW_NAME_F_RESOLVE);
	pw_compiled_free(&c);
	pw_policies_free(v, n);
}

/* spec.visibility: the union over every selecting policy, the audit ones of
 * an enforced pod too; nothing for a pod the policy does not select. */
static void test_compile_visibility(void **state)
{
	static const char yaml[] = "apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
				   "metadata: {name: a, namespace: shop}\n"
				   "spec:\n  podSelector: {matchLabels: {app: web}}\n  visibility: "
				   "[allowed, allowed]\n"
				   "---\n"
				   "apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
				   "metadata: {name: b, namespace: shop}\n"
				   "spec:\n  podSelector: {matchLabels: {tier: x}}\n  mode: "
				   "audit\n  visibility: [dns]\n"
				   "---\n"
				   "apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
				   "metadata: {name: c, namespace: shop}\n"
				   "spec:\n  podSelector: {matchLabels: {app: db}}\n";
	static const struct {
		const char *app, *tier;
		uint8_t want;
	} cases[] = {
		{"web", NULL, PW_VIS_ALLOWED},
		{"web", "x", PW_VIS_ALLOWED | PW_VIS_DNS}, /* enforce + audit */
		{NULL, "x", PW_VIS_DNS},
		{"db", NULL, 0},
		{"other", NULL, 0},
	};
	struct pw_policy *v;
	char err[PW_ERR_LEN] = "";
	size_t n;

	assert_int_equal(
		pw_policy_file_parse(yaml, sizeof(yaml) - 1, "t.yaml", &v, &n, err, sizeof(err)),
		0);
	assert_int_equal(v[0].visibility, PW_VIS_ALLOWED);
	assert_int_equal(v[1].visibility, PW_VIS_DNS);
	assert_int_equal(v[2].visibility, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pw_labels labels = {0};
		struct pw_compiled c = {0};

		if (cases[i].app)
			assert_int_equal(pw_labels_set(&labels, "app", cases[i].app), 0);
		if (cases[i].tier)
			assert_int_equal(pw_labels_set(&labels, "tier", cases[i].tier), 0);
		assert_int_equal(pw_compile(v, n, "shop", &labels, &c, err, sizeof(err)), 0);
		if (c.visibility != cases[i].want)
			fail_msg("case %zu: visibility %u, want %u", i, c.visibility,
				 cases[i].want);
		pw_compiled_free(&c);
		pw_labels_free(&labels);
	}
	pw_policies_free(v, n);
}

/* denyAction: reject only when every selecting enforce policy says reject;
 * audit policies have no say (audit never rejects), drop is the default. */
static void test_compile_deny_action(void **state)
{
	static const char yaml[] =
		"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: rej, namespace: shop}\nspec:\n  podSelector: {}\n"
		"  denyAction: reject\n"
		"---\napiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: rej2, namespace: shop}\nspec:\n  podSelector: {}\n"
		"  denyAction: reject\n"
		"---\napiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: aud, namespace: shop}\nspec:\n  podSelector: {}\n"
		"  mode: audit\n"
		"---\napiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: drop, namespace: shop}\nspec:\n  podSelector: {}\n"
		"  denyAction: drop\n"
		"---\napiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		"metadata: {name: audrej, namespace: shop}\nspec:\n  podSelector: {}\n"
		"  mode: audit\n  denyAction: reject\n";
	struct pw_policy *pols = NULL;
	struct pw_compiled out = {0};
	struct pw_labels labels = {0};
	char err[PW_ERR_LEN] = "";
	size_t n = 0;

	assert_int_equal(
		pw_policy_file_parse(yaml, sizeof(yaml) - 1, "t.yaml", &pols, &n, err, sizeof(err)),
		0);
	assert_int_equal(n, 5);
	assert_int_equal(pols[0].deny_action, PW_DENY_REJECT);
	assert_int_equal(pols[2].deny_action, PW_DENY_DROP); /* the default */
	assert_int_equal(pols[3].deny_action, PW_DENY_DROP);
	/* rej + rej2 */
	assert_int_equal(pw_compile(pols, 2, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_int_equal(out.deny_action, PW_DENY_REJECT);
	pw_compiled_free(&out);
	/* rej + rej2 + aud: the audit policy has no say */
	assert_int_equal(pw_compile(pols, 3, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_int_equal(out.mode, PW_MODE_ENFORCE);
	assert_int_equal(out.deny_action, PW_DENY_REJECT);
	pw_compiled_free(&out);
	/* ... + drop: one enforce policy asks for silence */
	assert_int_equal(pw_compile(pols, 4, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_int_equal(out.deny_action, PW_DENY_DROP);
	pw_compiled_free(&out);
	/* audit only, even one saying reject: never rejects */
	assert_int_equal(pw_compile(pols + 4, 1, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_int_equal(out.mode, PW_MODE_AUDIT);
	assert_int_equal(out.deny_action, PW_DENY_DROP);
	pw_compiled_free(&out);
	/* not selected: nothing to deny */
	assert_int_equal(pw_compile(pols, 2, "other", &labels, &out, err, sizeof(err)), 0);
	assert_false(out.selected);
	assert_int_equal(out.deny_action, PW_DENY_DROP);
	pw_compiled_free(&out);
	pw_policies_free(pols, n);
}

static void test_compile_nothing(void **state)
{
	struct pw_compiled out;
	struct pw_labels labels = {0};
	char err[PW_ERR_LEN] = "";

	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(pw_compile(NULL, 0, "shop", &labels, &out, err, sizeof(err)), 0);
	assert_false(out.selected);
	assert_int_equal(out.mode, PW_MODE_ENFORCE);
	assert_int_equal(out.n_cidrs + out.n_fqdns + out.n_policies, 0);
	pw_compiled_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_e2big_merges_first),
		cmocka_unit_test(test_compile_deny_action),
		cmocka_unit_test(test_set_canonical_any_order),
		cmocka_unit_test(test_set_union),
		cmocka_unit_test(test_fqdn_ports_e2big),
		cmocka_unit_test(test_fqdn_ports_private),
		cmocka_unit_test(test_audit_never_grants),
		cmocka_unit_test(test_compile_nothing),
		cmocka_unit_test(test_compile_peers),
		cmocka_unit_test(test_compile_names),
		cmocka_unit_test(test_compile_visibility),
		cmocka_unit_test(test_subtract_e2big),
		cmocka_unit_test(test_deny_learned),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("compile", tests, NULL, NULL);
	failed += RUN_TABLE("pw_rangeset_add", test_set_row, set_rows);
	failed += RUN_TABLE("pw_rangeset_allows", test_allows_row, allows_rows);
	failed += RUN_TABLE("pw_rangeset_from_rule", test_from_rule_row, from_rule_rows);
	failed += RUN_TABLE("pw_rangeset_subtract", test_subtract_row, subtract_rows);
	failed += RUN_TABLE("pw_compile", test_compile_case, compile_cases);
	failed += RUN_TABLE("pw_compile limits", test_e2big_row, e2big_rows);
	return failed ? 1 : 0;
}

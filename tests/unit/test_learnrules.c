// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What a parsed answer lets a pod learn (lib/core/learnrules.c): the rules the
 * agent's learner applies and the kernel learner is compared against. */
#include <stdio.h>
#include <string.h>

#include "table.h"

#include "guard.h"
#include "ipaddr.h"
#include "learnrules.h"

struct lr_row {
	const char *name;
	const char *qname;
	const char *addrs[6]; /* "address/ttl" */
	int matched;
	const char *want; /* one letter an item: L learn, D denied, G guarded, C over cap */
	uint32_t ttl0;	  /* the first learned item's clamped TTL, seconds */
};

static const struct lr_row rows[] = {
	{"not allowed", "other.test", {"192.0.2.1/60"}, 0, "", 0},
	{"learned, ttl kept", "a.example.test", {"192.0.2.1/60", "2001:db8::1/60"}, 1, "LL", 60},
	{"ttl 0 raised to min", "a.example.test", {"192.0.2.1/0"}, 1, "L", 5},
	{"huge ttl cut to max", "a.example.test", {"192.0.2.1/4000000000"}, 1, "L", 3600},
	{"first ones under the cap",
	 "a.example.test",
	 {"192.0.2.1/60", "192.0.2.2/60", "192.0.2.3/60", "192.0.2.4/60"},
	 1,
	 "LLCC",
	 60},
	{"guarded don't count",
	 "a.example.test",
	 {"10.0.0.1/60", "192.0.2.1/60", "192.0.2.2/60"},
	 1,
	 "GLL",
	 60},
	{"deny range", "a.example.test", {"203.0.113.9/60", "192.0.2.1/60"}, 1, "DL", 60},
	{"private opt-in", "priv.example.org", {"10.0.0.1/30", "192.168.1.1/30"}, 1, "LL", 30},
	{"deny beats private", "priv.example.org", {"203.0.113.1/30"}, 1, "D", 0},
	{"cluster name exempt", "db.ns.svc.cluster.local", {"10.43.0.10/30"}, 1, "L", 30},
	{"guard v6 ula", "a.example.test", {"fd00::1/60"}, 1, "G", 0},
};

static void add_ports(struct pw_range_set *s, uint16_t port)
{
	assert_int_equal(pw_rangeset_add(s, 6, port, port), 0);
}

static void test_row(void **state)
{
	const struct lr_row *row = *state;
	struct pw_fqdn_entry fq[3] = {
		{.kind = PW_FQDN_PATTERN, .pattern = "*.example.test"},
		{.kind = PW_FQDN_NAME, .pattern = "priv.example.org"},
		{.kind = PW_FQDN_PATTERN, .pattern = "**.cluster.local"},
	};
	struct pw_cidr_entry deny = {.family = PW_FAMILY_V4, .prefix = 24};
	struct pw_compiled c = {
		.selected = true, .fqdns = fq, .n_fqdns = 3, .deny = &deny, .n_deny = 1};
	struct pw_guard g = {0};
	struct pw_learn_rules r = {.min_ttl_s = 5,
				   .max_ttl_s = 3600,
				   .max_addrs = 2,
				   .guard = &g,
				   .cluster_domain = "cluster.local"};
	struct pw_dns_answer ans = {0};
	struct pw_learn_plan plan;
	uint8_t fam;

	add_ports(&fq[0].ports, 443);
	add_ports(&fq[1].ports, 443);
	add_ports(&fq[1].ports_private, 443);
	add_ports(&fq[2].ports, 5432);
	assert_int_equal(pw_rangeset_add(&deny.ports, PW_PROTO_ANY, 0, 65535), 0);
	assert_int_equal(pw_ip_parse("203.0.113.0", &fam, &deny.addr), 0);
	assert_int_equal(pw_guard_add_defaults(&g), 0);
	snprintf(ans.qname, sizeof(ans.qname), "%s", row->qname);
	for (size_t i = 0; i < 6 && row->addrs[i]; i++) {
		char ip[64];
		unsigned long ttl;

		assert_int_equal(sscanf(row->addrs[i], "%63[^/]/%lu", ip, &ttl), 2);
		assert_int_equal(pw_ip_parse(ip, &ans.addrs[i].family, &ans.addrs[i].addr), 0);
		ans.addrs[i].ttl = (uint32_t)ttl;
		ans.n_addrs++;
	}
	assert_int_equal(pw_learn_plan(&r, &c, &ans, &plan), row->matched);
	assert_int_equal(plan.n_items, strlen(row->want));
	for (size_t i = 0; i < plan.n_items; i++) {
		const char *letters = "LDGC";

		assert_int_equal(letters[plan.items[i].why], row->want[i]);
		assert_int_equal(plan.items[i].family, ans.addrs[i].family);
		assert_memory_equal(&plan.items[i].addr, &ans.addrs[i].addr, sizeof(union pw_ip));
	}
	for (size_t i = 0; i < plan.n_items; i++) {
		if (plan.items[i].why == PW_LW_LEARN) {
			assert_int_equal(plan.items[i].expires_ns, row->ttl0 * 1000000000ULL);
			break;
		}
	}
	if (!strcmp(row->name, "guarded don't count"))
		assert_int_equal(plan.items[0].guard, PW_G_PRIVATE);
	pw_guard_free(&g);
}

int main(void)
{
	return RUN_TABLE("learnrules", test_row, rows);
}

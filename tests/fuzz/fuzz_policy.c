// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: arbitrary bytes as a policy file.
 *
 * Besides the sanitizers, it checks the contract: an error returns nothing and
 * names the source; a success returns only policies that satisfy every rule
 * the decoder promises (so the compiler can rely on them).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fqdn.h"
#include "ipaddr.h"
#include "policy.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static void check_policy(const struct pw_policy *p)
{
	static const struct pw_labels none;

	CHECK(p->name && p->namespace && p->source && !strcmp(p->source, "fuzz.yaml"));
	CHECK(p->mode == PW_MODE_ENFORCE || p->mode == PW_MODE_AUDIT);
	CHECK(p->n_rules <= PW_POLICY_MAX_RULES);
	for (size_t i = 0; i < p->selector.n_exprs; i++) {
		const struct pw_sel_expr *e = &p->selector.exprs[i];
		bool set = e->op == PW_SEL_IN || e->op == PW_SEL_NOT_IN;

		CHECK(e->key && (set ? e->n_values > 0 : e->n_values == 0));
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pw_rule *r = &p->rules[i];

		CHECK(r->n_fqdns || r->n_cidrs);
		CHECK(r->n_fqdns <= PW_POLICY_MAX_FQDNS && r->n_cidrs <= PW_POLICY_MAX_CIDRS);
		CHECK(r->n_ports <= PW_POLICY_MAX_PORTS);
		for (size_t j = 0; j < r->n_fqdns; j++) {
			const char *pat = r->fqdns[j].pattern;

			CHECK(strlen(pat) <= PW_FQDN_MAX);
			CHECK(!strchr(pat + (pat[0] == '*' ? 3 : 0), '*'));
			CHECK(r->fqdns[j].kind == PW_FQDN_PATTERN || !strchr(pat, '*'));
		}
		for (size_t j = 0; j < r->n_cidrs; j++) {
			const struct pw_cidr_rule *c = &r->cidrs[j];

			CHECK(c->n_except <= PW_POLICY_MAX_EXCEPT);
			for (size_t k = 0; k < c->n_except; k++) {
				const struct pw_cidr *ex = &c->except[k];

				CHECK(ex->family == c->cidr.family && ex->prefix > c->cidr.prefix);
				CHECK(pw_ip_in_prefix(ex->family, &ex->addr, &c->cidr.addr,
						      c->cidr.prefix));
			}
		}
		for (size_t j = 0; j < r->n_ports; j++) {
			const struct pw_port *pt = &r->ports[j];

			CHECK(pt->proto == IPPROTO_TCP || pt->proto == IPPROTO_UDP ||
			      pt->proto == IPPROTO_SCTP);
			CHECK(!pt->end_port || (pt->port && pt->end_port >= pt->port));
		}
	}
	/* selection must not crash, whatever the labels */
	pw_policy_selects(p, p->namespace, &none);
	pw_policy_selects(p, "other", &p->selector.match_labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_policy *v = (void *)1;
	char err[PW_ERR_LEN];
	size_t n = 1;
	int ret;

	ret = pw_policy_file_parse((const char *)data, size, "fuzz.yaml", &v, &n, err, sizeof(err));
	if (ret) {
		CHECK(ret == -EINVAL || ret == -ENOMEM);
		CHECK(!v && !n);
		CHECK(!strncmp(err, "fuzz.yaml", 9));
		return 0;
	}
	CHECK(n ? v != NULL : v == NULL);
	for (size_t i = 0; i < n; i++)
		check_policy(&v[i]);
	pw_policies_free(v, n);
	return 0;
}

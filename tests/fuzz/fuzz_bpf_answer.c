// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the kernel's DNS answer parser and learner: the real
 * podwall BPF object (pod_ingress, bpf/dns.bpf.h) run with BPF_PROG_TEST_RUN
 * on a frame from the pod's resolver carrying the fuzzed answer to a query
 * recorded in pw_dns_pend (the answer's own id), the same answer read by the
 * agent's path (ldns, pw_learn_plan). The world (policy, name table, guard,
 * TTL clamp, cap) is tests/bpf/learnworld.h's, as in test_learn_diff.
 *
 * Input layout:
 *   byte 0   bit 0: the answer comes over IPv6 (else IPv4)
 *   rest     the DNS message (at most MSG_MAX bytes)
 *
 * Invariants (abort() on violation), decided by ldns and lib/core, never by
 * this file's reading of the bytes:
 *   - the program never errors; its verdict is OK/UNSPEC or SHOT;
 *   - pw_learned and pw_learn_log are written only on a pass verdict with
 *     PW_C_DNS_INLINE counted (held answers write nothing);
 *   - whatever is learned inline, the ldns path learns too, for the same name,
 *     with the same expiry and ports, and nothing else (lw_compare);
 *   - nothing in a rebinding guard range is learned unless a rule for the
 *     name has allowPrivate or the name is in the cluster domain.
 *
 * Needs root (BPF, a network namespace with a veth pair for the ifindex).
 * Without it, it says so and exits 77 (skipped); under CI=true it fails.
 * Run: tools/run-tests.sh BUILD fuzz (or FUZZ_SECONDS=300 make fuzz).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/learnworld.h"

#define MSG_MAX 1400

static struct lw W;
static __u64 hb_at;

#define cannot_run(...) exit(bpft_cannot_run("fuzz_bpf_answer", __VA_ARGS__))
#define die(...)	bpft_die("fuzz_bpf_answer", __VA_ARGS__)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *why = "";
	int err;

	libbpf_set_print(bpft_libbpf_print);
	if (geteuid() != 0)
		cannot_run("needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for unshare)");
	err = lw_open(&W, &why);
	if (err)
		cannot_run("%s: %s", why, strerror(-err));
	hb_at = bpft_now_ns();
	return 0;
}

/* An address the guard holds, learned for a name with no opt-in. */
static void check_guard(const struct lw_result *r, const struct lw_ldns *l)
{
	char ip[PW_IP_STRLEN];

	for (size_t i = 0; i < r->n_learned; i++) {
		const struct lw_kaddr *k = &r->learned[i];
		struct pw_range_set priv;

		if (pw_guard_match(&W.guard, k->family, &k->addr) == PW_G_EXEMPT ||
		    pw_guard_cluster_name(l->ans.qname, W.rules.cluster_domain) ||
		    pw_compiled_fqdn_ports_private(&W.c, l->ans.qname, &priv) > 0)
			continue;
		die("learned %s for %s: a guarded address, no allowPrivate",
		    pw_ip_str(k->family, &k->addr, ip), l->ans.qname);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lw_result r;
	static struct lw_ldns l;
	uint8_t family;
	size_t mlen;
	char why[256];

	if (size < 1)
		return 0;
	family = data[0] & 1 ? PW_FAMILY_V6 : PW_FAMILY_V4;
	mlen = size - 1 > MSG_MAX ? MSG_MAX : size - 1;
	if (bpft_now_ns() - hb_at > 1000000000ull) {
		if (lw_config(&W))
			die("cannot write pw_config");
		hb_at = bpft_now_ns();
	}
	lw_run(&W, family, data + 1, mlen, &r);
	if (r.err)
		die("bpf_prog_test_run_opts: %s", strerror(-r.err));
	lw_ldns(&W, &r, &l);
	if (lw_compare(&W, &r, &l, why, sizeof(why)))
		die("%s (IPv%c, %zu bytes)", why, family == PW_FAMILY_V4 ? '4' : '6', mlen);
	check_guard(&r, &l);
	return 0;
}

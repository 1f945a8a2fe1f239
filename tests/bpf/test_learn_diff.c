// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kernel learner against the agent's: every answer of a corpus runs
 * through pod_ingress (BPF_PROG_TEST_RUN) and through the ldns path
 * (pw_dns_frame_payload, pw_dns_parse_answer, pw_learn_plan), the same policy,
 * name table and rebinding guard loaded both ways (tests/bpf/learnworld.h).
 * Wherever the kernel learned inline, both learned exactly the same
 * (address, name, expiry) set, with the ports the agent grants; wherever it
 * held or passed an answer unlearned, it wrote nothing.
 *
 * The corpus: the answers of tests/unit/test_dns.c (dnsrows.h), the answer
 * seeds of tests/fuzz/corpus/dns and tests/fuzz/corpus/bpf_answer, the
 * attack suite's crafted answers (tests/attack/frames.py xdns, rebuilt here)
 * and hand-made ones (CNAME chains of 1..8 links, pointers forward, backward
 * and looping, owners off the chain, mixed case, trailing junk, guarded
 * addresses, more addresses than the cap, TTL 0 and huge), each over IPv4 and
 * over IPv6. Three passes: inline learning on; off (PW_CFG_LEARN_INLINE
 * clear); the endpoint marked PW_EPDNS_HOLD_ONLY. The last two must write
 * nothing.
 *
 * The kernel learner is detected by pod_ingress using pw_learn_log and by
 * PW_C_DNS_INLINE moving for the simplest answer; without it, only the ldns
 * half (expected counts of the hand-made cases) and "nothing written" are
 * checked, and the summary says "kernel learner absent". With it, the
 * simplest answer must be learned inline.
 *
 * Needs root; exit 77 without (1 under CI=true). PW_SRC: the source tree
 * (default .), for the corpus folders. PW_TEST_VERBOSE=1: every answer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/learnworld.h"
#include "unit/dnsrows.h"

#define MAX_CASES 512
#define SHOWN	  25 /* disagreements printed in full */

struct dcase {
	char name[96];
	uint8_t *msg;
	size_t len;
	int ldns_learn; /* the plan's learned addresses over IPv4, -1: not checked */
};

static struct dcase cases[MAX_CASES];
static size_t n_cases;
static int setup_failures;

static void add_case(const char *name, const uint8_t *msg, size_t len, int ldns_learn)
{
	struct dcase *c;

	if (n_cases == MAX_CASES) {
		fprintf(stderr, "learn_diff: corpus over %d answers: %s not run\n", MAX_CASES,
			name);
		setup_failures++;
		return;
	}
	c = &cases[n_cases++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->msg = malloc(len ? len : 1);
	memcpy(c->msg, msg, len);
	c->len = len;
	c->ldns_learn = ldns_learn;
}

static void add_spec(const char *name, const struct dm_spec *spec, int ldns_learn)
{
	struct dm_spec s = *spec;
	uint8_t *wire;
	size_t len;

	if (!s.id)
		s.id = ID;
	if (dm_build(&s, &wire, &len)) {
		fprintf(stderr, "learn_diff: %s: ldns cannot build it\n", name);
		setup_failures++;
		return;
	}
	add_case(name, wire, len, ldns_learn);
	free(wire);
}

/* ---- from the unit tests ---- */

static void add_unit_rows(void)
{
	for (size_t i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const struct parse_row *row = &parse_rows[i];
		struct dm_spec s = row->spec;
		char name[96];
		uint8_t *wire;
		size_t len;

		s.id = ID;
		if (dm_build(&s, &wire, &len))
			continue; /* rows ldns cannot write are not answers */
		if (row->set_flags || row->clr_flags) {
			uint16_t f = (uint16_t)(wire[2] << 8 | wire[3]);

			f = (uint16_t)((f | row->set_flags) & ~row->clr_flags);
			wire[2] = (uint8_t)(f >> 8);
			wire[3] = (uint8_t)f;
		}
		snprintf(name, sizeof(name), "unit/%s", row->desc);
		add_case(name, wire, len, -1);
		free(wire);
	}
}

/* ---- from the fuzz corpora ---- */

/* dir/<file>: skip bytes of the file's head, then the message; files whose
 * byte 1 has mode bit 0x04 (fuzz_dns: a whole frame) are skipped. */
static void add_corpus(const char *src, const char *sub, size_t skip, bool dns_modes)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	size_t found = 0;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", src, sub);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "learn_diff: no corpus %s (set PW_SRC to the source tree)\n", path);
		setup_failures++;
		return;
	}
	while ((de = readdir(d))) {
		uint8_t buf[8192];
		char file[800], name[96];
		size_t n;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		f = fopen(file, "rb");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (n < skip || (dns_modes && n >= 2 && (buf[1] & 0x04)))
			continue;
		snprintf(name, sizeof(name), "fuzz-%s/%s", sub, de->d_name);
		add_case(name, buf + skip, n - skip, -1);
		found++;
	}
	closedir(d);
	if (!found) {
		fprintf(stderr, "learn_diff: corpus %s holds no answer\n", path);
		setup_failures++;
	}
}

/* ---- the attack suite's crafted answers (frames.py xdns), A = 192.0.2.10,
 * B = 198.51.100.20, C = 203.0.113.30 ---- */

/* clang-format off */
static const struct {
	const char *name;
	struct dm_spec spec;
	int ldns_learn;
} attack[] = {
	{"attack/addl", {.question = "addl.example.test. IN A",
	 .an = {"addl.example.test. 30 IN A 192.0.2.10"},
	 .ns = {"allowed.example.test. 30 IN A 198.51.100.20", "addl.example.test. 30 IN A 198.51.100.20"},
	 .ar = {"allowed.example.test. 30 IN A 198.51.100.20", "addl.example.test. 30 IN A 198.51.100.20"}}, 1},
	{"attack/stray", {.question = "stray.example.test. IN A",
	 .an = {"stray.example.test. 30 IN A 192.0.2.10", "denied.example.test. 30 IN A 198.51.100.20",
		"other.example.test. 30 IN CNAME stray.example.test.",
		"other.example.test. 30 IN A 198.51.100.20"}}, 1},
	{"attack/cnx", {.question = "cnx.example.test. IN A",
	 .an = {"cnx.example.test. 30 IN CNAME allowed.example.test.",
		"allowed.example.test. 30 IN A 198.51.100.20"}}, 1},
	{"attack/chain", {.question = "chain.example.test. IN A",
	 .an = {"chain.example.test. 30 IN CNAME x.wild.example.test.",
		"x.wild.example.test. 30 IN A 203.0.113.30"}}, 1},
	{"attack/mix", {.question = "mix.example.test. IN A",
	 .an = {"mix.example.test. 30 IN A 127.0.0.1", "mix.example.test. 30 IN A 169.254.169.254",
		"mix.example.test. 30 IN A 224.0.0.1", "mix.example.test. 30 IN A 0.0.0.0",
		"mix.example.test. 30 IN A 255.255.255.255", "mix.example.test. 30 IN A 192.0.2.10"}}, 1},
	{"attack/mapped", {.question = "mapped.example.test. IN AAAA",
	 .an = {"mapped.example.test. 30 IN AAAA ::ffff:198.51.100.20",
		"mapped.example.test. 30 IN AAAA ::198.51.100.20", "mapped.example.test. 30 IN AAAA ::1",
		"mapped.example.test. 30 IN AAAA fe80::1", "mapped.example.test. 30 IN AAAA ff02::1"}}, -1},
	{"attack/long", {.question = "long.example.test. IN A",
	 .an = {"long.example.test. 600 IN A 203.0.113.30"}}, 1},
	{"attack/slow", {.question = "slow.wild.example.test. IN A",
	 .an = {"slow.wild.example.test. 30 IN A 203.0.113.30"}}, 0},
	{"attack/nxdomain", {.question = "nothing.example.test. IN A"}, 0},
	{"attack/forged", {.question = "allowed.example.test. IN A",
	 .an = {"allowed.example.test. 600 IN A 203.0.113.66", "allowed.example.test. 600 IN A 203.0.113.67"}}, 2},
};

/* ---- hand-made ---- */

static const struct {
	const char *name;
	struct dm_spec spec;
	int ldns_learn;
} hand[] = {
	{"hand/simplest", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 300 IN A 192.0.2.10"}}, 1},
	{"hand/aaaa", {.question = "api.example.com. IN AAAA",
	 .an = {"api.example.com. 300 IN AAAA 2001:db8::10", "api.example.com. 300 IN AAAA 2001:db8::11"}}, 2},
	{"hand/a in an aaaa answer", {.question = "api.example.com. IN AAAA",
	 .an = {"api.example.com. 300 IN A 192.0.2.10"}}, 0},
	{"hand/mixed case", {.question = "Api.EXAMPLE.com. IN A",
	 .an = {"API.example.COM. 300 IN A 192.0.2.10"}}, 1},
	{"hand/owner not on chain", {.question = "api.example.com. IN A",
	 .an = {"www.example.com. 300 IN A 192.0.2.10"}}, 0},
	{"hand/owner not on chain, then on", {.question = "api.example.com. IN A",
	 .an = {"www.example.com. 300 IN A 192.0.2.10", "api.example.com. 300 IN A 192.0.2.11"}}, 1},
	{"hand/not granted", {.question = "other.example.net. IN A",
	 .an = {"other.example.net. 300 IN A 192.0.2.10"}}, 0},
	{"hand/resolve only", {.question = "resolve.example.net. IN A",
	 .an = {"resolve.example.net. 300 IN A 192.0.2.10"}}, 0},
	{"hand/two patterns, union of ports", {.question = "x.both.example. IN A",
	 .an = {"x.both.example. 300 IN A 192.0.2.12"}}, 1},
	{"hand/one pattern of two", {.question = "y.both.example. IN A",
	 .an = {"y.both.example. 300 IN A 192.0.2.13"}}, 1},
	{"hand/ttl 0", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 0 IN A 192.0.2.10"}}, 1},
	{"hand/ttl 1", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 1 IN A 192.0.2.10"}}, 1},
	{"hand/ttl at max", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 3600 IN A 192.0.2.10"}}, 1},
	{"hand/ttl over max", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 3601 IN A 192.0.2.10"}}, 1},
	{"hand/ttl 2^31-1", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 2147483647 IN A 192.0.2.10"}}, 1},
	{"hand/ttls differ per address", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 10 IN A 192.0.2.10", "api.example.com. 100 IN A 192.0.2.11",
		"api.example.com. 1000 IN A 192.0.2.12"}}, 3},
	{"hand/duplicate address, two ttls", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 10 IN A 192.0.2.10", "api.example.com. 900 IN A 192.0.2.10"}}, 1},
	{"hand/cap: 6 addresses", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 60 IN A 192.0.2.1", "api.example.com. 60 IN A 192.0.2.2",
		"api.example.com. 60 IN A 192.0.2.3", "api.example.com. 60 IN A 192.0.2.4",
		"api.example.com. 60 IN A 192.0.2.5", "api.example.com. 60 IN A 192.0.2.6"}}, 4},
	{"hand/cap: guarded ones first", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 60 IN A 10.1.1.1", "api.example.com. 60 IN A 10.42.0.7",
		"api.example.com. 60 IN A 192.0.2.1", "api.example.com. 60 IN A 192.0.2.2",
		"api.example.com. 60 IN A 192.0.2.3", "api.example.com. 60 IN A 192.0.2.4",
		"api.example.com. 60 IN A 192.0.2.5"}}, 4},
	{"hand/guard: rfc1918", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 60 IN A 10.1.2.3", "api.example.com. 60 IN A 172.16.0.1",
		"api.example.com. 60 IN A 192.168.1.1", "api.example.com. 60 IN A 100.64.0.1"}}, 0},
	{"hand/guard: pod and service cidr", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 60 IN A 10.42.3.4", "api.example.com. 60 IN A 10.43.0.10",
		"api.example.com. 60 IN A 192.0.2.10"}}, 1},
	{"hand/guard: operator's hole", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 60 IN A 10.99.1.1"}}, 1},
	{"hand/guard: v6 forms", {.question = "api.example.com. IN AAAA",
	 .an = {"api.example.com. 60 IN AAAA fd42::1", "api.example.com. 60 IN AAAA fc00::1",
		"api.example.com. 60 IN AAAA 64:ff9b::a00:1", "api.example.com. 60 IN AAAA 2002:a00:1::1",
		"api.example.com. 60 IN AAAA 2001:db8::99"}}, 1},
	{"hand/guard: private opt-in", {.question = "db.example.org. IN A",
	 .an = {"db.example.org. 60 IN A 10.1.2.3", "db.example.org. 60 IN A 192.0.2.7"}}, 2},
	{"hand/guard: private pattern", {.question = "x.priv.example.test. IN A",
	 .an = {"x.priv.example.test. 60 IN A 10.42.0.9"}}, 1},
	{"hand/guard: mixed private and not", {.question = "a.mixed.example.test. IN A",
	 .an = {"a.mixed.example.test. 60 IN A 10.1.2.3", "a.mixed.example.test. 60 IN A 192.0.2.7"}}, 2},
	{"hand/mixed, public only", {.question = "a.mixed.example.test. IN A",
	 .an = {"a.mixed.example.test. 60 IN A 192.0.2.8"}}, 1},
	{"hand/guard: cluster name", {.question = "db.ns.svc.cluster.local. IN A",
	 .an = {"db.ns.svc.cluster.local. 5 IN A 10.43.0.10"}}, 1},
	{"hand/cluster name, public", {.question = "db.ns.svc.cluster.local. IN A",
	 .an = {"db.ns.svc.cluster.local. 5 IN A 192.0.2.88"}}, 1},
	{"hand/special addresses", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 60 IN A 127.0.0.1", "api.example.com. 60 IN A 0.0.0.0",
		"api.example.com. 60 IN A 169.254.169.254", "api.example.com. 60 IN A 192.0.2.10"}}, 1},
	{"hand/cname 1", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "l1.example.net. 60 IN A 192.0.2.21"}}, 1},
	{"hand/cname 2", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "l1.example.net. 60 IN CNAME l2.example.net.",
		"l2.example.net. 60 IN A 192.0.2.22"}}, 1},
	{"hand/cname 3", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "l1.example.net. 60 IN CNAME l2.example.net.",
		"l2.example.net. 60 IN CNAME l3.example.net.", "l3.example.net. 60 IN A 192.0.2.23"}}, 1},
	{"hand/cname 4", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "l1.example.net. 60 IN CNAME l2.example.net.",
		"l2.example.net. 60 IN CNAME l3.example.net.", "l3.example.net. 60 IN CNAME l4.example.net.",
		"l4.example.net. 60 IN A 192.0.2.24"}}, 1},
	{"hand/cname 5", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "l1.example.net. 60 IN CNAME l2.example.net.",
		"l2.example.net. 60 IN CNAME l3.example.net.", "l3.example.net. 60 IN CNAME l4.example.net.",
		"l4.example.net. 60 IN CNAME l5.example.net.", "l5.example.net. 60 IN A 192.0.2.25"}}, 1},
	{"hand/cname 6", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "l1.example.net. 60 IN CNAME l2.example.net.",
		"l2.example.net. 60 IN CNAME l3.example.net.", "l3.example.net. 60 IN CNAME l4.example.net.",
		"l4.example.net. 60 IN CNAME l5.example.net.", "l5.example.net. 60 IN CNAME l6.example.net.",
		"l6.example.net. 60 IN A 192.0.2.26"}}, 1},
	{"hand/cname 8", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "l1.example.net. 60 IN CNAME l2.example.net.",
		"l2.example.net. 60 IN CNAME l3.example.net.", "l3.example.net. 60 IN CNAME l4.example.net.",
		"l4.example.net. 60 IN CNAME l5.example.net.", "l5.example.net. 60 IN CNAME l6.example.net.",
		"l6.example.net. 60 IN CNAME l7.example.net.", "l7.example.net. 60 IN CNAME l8.example.net.",
		"l8.example.net. 60 IN A 192.0.2.28"}}, 1},
	{"hand/cname, addresses at both ends", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN A 192.0.2.31", "c.example.test. 60 IN CNAME l1.example.net.",
		"l1.example.net. 60 IN A 192.0.2.32"}}, -1},
	{"hand/cname in reverse order", {.question = "c.example.test. IN A",
	 .an = {"l2.example.net. 60 IN A 192.0.2.22", "l1.example.net. 60 IN CNAME l2.example.net.",
		"c.example.test. 60 IN CNAME l1.example.net."}}, 1},
	{"hand/cname loop", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "l1.example.net. 60 IN CNAME c.example.test.",
		"l1.example.net. 60 IN A 192.0.2.40"}}, 0},
	{"hand/cname side branch", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "x.example.net. 60 IN CNAME l1.example.net.",
		"x.example.net. 60 IN A 192.0.2.41", "l1.example.net. 60 IN A 192.0.2.42"}}, 1},
	{"hand/cname mixed case", {.question = "C.Example.Test. IN A",
	 .an = {"c.EXAMPLE.test. 60 IN CNAME L1.Example.NET.", "l1.example.net. 60 IN A 192.0.2.43"}}, 1},
	{"hand/cname to a guarded address", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "l1.example.net. 60 IN A 10.43.0.1"}}, 0},
	{"hand/two cnames from one owner", {.question = "c.example.test. IN A",
	 .an = {"c.example.test. 60 IN CNAME l1.example.net.", "c.example.test. 60 IN CNAME l2.example.net.",
		"l1.example.net. 60 IN A 192.0.2.44", "l2.example.net. 60 IN A 192.0.2.45"}}, -1},
	{"hand/dname", {.question = "api.example.com. IN A",
	 .an = {"example.com. 300 IN DNAME example.net.", "api.example.com. 300 IN CNAME api.example.net.",
		"api.example.net. 300 IN A 192.0.2.40"}}, 1},
	{"hand/class CH record", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 300 CH A 192.0.2.10"}}, 0},
	{"hand/qdcount 2", {.question = "api.example.com. IN A", .question2 = "www.example.com. IN A",
	 .an = {"api.example.com. 300 IN A 192.0.2.10"}}, -1},
	{"hand/edns", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 300 IN A 192.0.2.10"}, .edns = true}, 1},
	{"hand/edns extended rcode", {.question = "api.example.com. IN A",
	 .an = {"api.example.com. 300 IN A 192.0.2.10"}, .edns_ext_rcode = 1}, 0},
	{"hand/authority and additional only", {.question = "api.example.com. IN A",
	 .ns = {"api.example.com. 300 IN A 192.0.2.10"}, .ar = {"api.example.com. 300 IN A 192.0.2.11"}}, 0},
	{"hand/empty answer", {.question = "api.example.com. IN A"}, 0},
	{"hand/mx question", {.question = "api.example.com. IN MX",
	 .an = {"api.example.com. 300 IN MX 10 mail.example.com."},
	 .ar = {"mail.example.com. 300 IN A 192.0.2.25"}}, 0},
	{"hand/long name", {.question = "a123456789012345678901234567890123456789012345678901234567890.b123456789012345678901234567890123456789012345678901234567890.c123456789012345678901234567890123456789012345678901234567890.d1234567890123456789012345678901234567890.example.test. IN A",
	 .an = {"a123456789012345678901234567890123456789012345678901234567890.b123456789012345678901234567890123456789012345678901234567890.c123456789012345678901234567890123456789012345678901234567890.d1234567890123456789012345678901234567890.example.test. 60 IN A 192.0.2.50"}}, 0},
	{"hand/one label under a *. pattern", {.question = "deep.x.example.test. IN A",
	 .an = {"deep.x.example.test. 60 IN A 192.0.2.51"}}, 0},
	{"hand/many labels under a **. pattern", {.question = "a.b.c.github.example. IN A",
	 .an = {"a.b.c.github.example. 60 IN A 192.0.2.52"}}, 1},
};
/* clang-format on */

/* Rebuilt from a spec with some bytes changed after ldns wrote it. */
static void add_mutated(const char *name, const struct dm_spec *spec, uint16_t set_flags,
			uint16_t clr_flags, const char *junk, int ldns_learn)
{
	struct dm_spec s = *spec;
	uint8_t *wire, buf[8192];
	size_t len, jl = junk ? strlen(junk) : 0;
	uint16_t f;

	s.id = ID;
	if (dm_build(&s, &wire, &len) || len + jl > sizeof(buf)) {
		setup_failures++;
		return;
	}
	memcpy(buf, wire, len);
	free(wire);
	f = (uint16_t)(buf[2] << 8 | buf[3]);
	f = (uint16_t)((f | set_flags) & ~clr_flags);
	buf[2] = (uint8_t)(f >> 8);
	buf[3] = (uint8_t)f;
	if (jl)
		memcpy(buf + len, junk, jl);
	add_case(name, buf, len + jl, ldns_learn);
}

static const uint8_t A1[4] = {192, 0, 2, 10}, A2[4] = {192, 0, 2, 11};

/* Messages ldns will not write: pointers of every direction. */
static void add_raw(void)
{
	struct dm_buf m;
	size_t q_off = 12, rr2;

	/* owner compressed backwards to the question (what resolvers send) */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc000 | q_off);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	add_case("raw/pointer backwards", m.b, m.n, 1);

	/* owner pointing at the question's second label, prefixed: "api" + ptr */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u8(&m, 3);
	dm_bytes(&m, "api", 3);
	dm_u16(&m, 0xc000 | (q_off + 4));
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	add_case("raw/label then pointer", m.b, m.n, 1);

	/* first record's owner points forward to the second record's owner */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 2, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	rr2 = m.n + 2 + 10 + 4;
	dm_u16(&m, 0xc000 | rr2);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	dm_name(&m, "api.example.com");
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A2, 4);
	add_case("raw/pointer forwards", m.b, m.n, -1);

	/* owner pointing at itself */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc000 | m.n);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	add_case("raw/pointer loop (itself)", m.b, m.n, -1);

	/* two labels pointing at each other */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u8(&m, 1);
	dm_u8(&m, 'x');
	dm_u16(&m, 0xc000 | (m.n + 2));
	dm_u8(&m, 1);
	dm_u8(&m, 'y');
	dm_u16(&m, 0xc000 | (m.n - 4));
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	add_case("raw/pointer loop (pair)", m.b, m.n, -1);

	/* pointer to the header */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc000);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	add_case("raw/pointer to the header", m.b, m.n, -1);

	/* pointer past the end */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc000 | 0x3ff);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	add_case("raw/pointer past the end", m.b, m.n, -1);

	/* a compressed question name */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_u8(&m, 3);
	dm_bytes(&m, "api", 3);
	dm_u16(&m, 0xc000 | 12);
	dm_u16(&m, LDNS_RR_TYPE_A);
	dm_u16(&m, LDNS_RR_CLASS_IN);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	add_case("raw/compressed question", m.b, m.n, -1);

	/* an A record of 5 bytes, then a good one */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 2, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, "\xc6\x33\x64\x01\x00", 5);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A2, 4);
	add_case("raw/rdlength 5", m.b, m.n, 1);

	/* the counts promise a record that is not there */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 2, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	add_case("raw/ancount lies", m.b, m.n, -1);

	/* cut in the middle of the record */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 1, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 60, A1, 4);
	add_case("raw/cut record", m.b, m.n - 2, -1);

	/* TTL with the top bit: 0 (RFC 2181), clamped up */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 1, 2, 0, 0);
	dm_question(&m, "api.example.com", LDNS_RR_TYPE_A);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 0x80000000u, A1, 4);
	dm_u16(&m, 0xc00c);
	dm_rr_tail(&m, LDNS_RR_TYPE_A, 0xffffffffu, A2, 4);
	add_case("raw/ttl top bit", m.b, m.n, 2);

	/* header only */
	dm_header(&m, ID, DM_FLAGS_RESPONSE, 0, 0, 0, 0);
	add_case("raw/header only", m.b, m.n, -1);
	add_case("raw/short header", m.b, 7, -1);
}

static void add_hand(void)
{
	char lines[20][64];
	struct dm_spec big = {.question = "api.example.com. IN A"};

	for (size_t i = 0; i < sizeof(hand) / sizeof(hand[0]); i++)
		add_spec(hand[i].name, &hand[i].spec, hand[i].ldns_learn);
	for (size_t i = 0; i < sizeof(attack) / sizeof(attack[0]); i++)
		add_spec(attack[i].name, &attack[i].spec, attack[i].ldns_learn);
	/* more addresses than PW_LEARN_REC_ADDRS */
	for (int i = 0; i < 20; i++) {
		snprintf(lines[i], sizeof(lines[i]), "api.example.com. %d IN A 203.0.113.%d",
			 100 + i, i + 1);
		big.an[i] = lines[i];
	}
	add_spec("hand/20 addresses", &big, LW_MAX_ADDRS);
	add_mutated("hand/trailing junk", &hand[0].spec, 0, 0, "\x01\x02\x03", 1);
	add_mutated("hand/nxdomain with an answer", &hand[0].spec, 3, 0, NULL, 0);
	add_mutated("hand/servfail with an answer", &hand[0].spec, 2, 0, NULL, 0);
	add_mutated("hand/truncated (TC)", &hand[0].spec, 0x0200, 0, NULL, 1);
	add_mutated("hand/authoritative", &hand[0].spec, 0x0400, 0, NULL, 1);
	add_mutated("hand/qr clear", &hand[0].spec, 0, 0x8000, NULL, -1);
	add_mutated("hand/opcode notify", &hand[0].spec, 4 << 11, 0, NULL, -1);
	add_raw();
}

/* ---- the runs ---- */

struct tally {
	size_t answers, inline_, held, passed, agreed;
	size_t disagreed, ldns_wrong;
};

static bool verbose;

static void run_pass(struct lw *w, const char *pass, bool may_learn, struct tally *t)
{
	static struct lw_result r;
	static struct lw_ldns l;
	char why[256];

	for (size_t i = 0; i < n_cases; i++) {
		for (uint8_t fam = PW_FAMILY_V4; fam <= PW_FAMILY_V6; fam += 2) {
			const struct dcase *c = &cases[i];
			int bad;

			lw_run(w, fam, c->msg, c->len, &r);
			lw_ldns(w, &r, &l);
			bad = lw_compare(w, &r, &l, why, sizeof(why));
			if (!bad && !may_learn && lw_wrote(&r))
				bad = lw_fail(why, sizeof(why), "learned inline in pass %s", pass);
			t->answers++;
			if (lw_wrote(&r))
				t->inline_++;
			else if (r.verdict == TC_ACT_SHOT)
				t->held++;
			else
				t->passed++;
			if (bad) {
				if (t->disagreed++ < SHOWN)
					fprintf(stderr, "DISAGREE [%s] %s (IPv%c): %s\n", pass,
						c->name, fam == PW_FAMILY_V4 ? '4' : '6', why);
			} else {
				t->agreed++;
			}
			if (fam == PW_FAMILY_V4 && c->ldns_learn >= 0 &&
			    (l.err ? 0 : (int)l.plan.n_learn) != c->ldns_learn) {
				t->ldns_wrong++;
				fprintf(stderr, "LDNS [%s] %s: learns %zu, the case says %d (%s)\n",
					pass, c->name, l.err ? 0 : l.plan.n_learn, c->ldns_learn,
					l.err ? l.why : "parsed");
			}
			if (verbose)
				printf("  [%s] %-50s v%c verdict %d inline %llu held %llu "
				       "learned %zu ldns %zu%s\n",
				       pass, c->name, fam == PW_FAMILY_V4 ? '4' : '6', r.verdict,
				       (unsigned long long)r.d_inline, (unsigned long long)r.d_held,
				       r.n_learned, l.err ? 0 : l.plan.n_learn,
				       bad ? " DISAGREE" : "");
		}
	}
}

/* The comparison must be able to fail: a kernel that learned an address the
 * agent's rules refuse (a guarded one), or with another expiry. */
static int self_check(struct lw *w)
{
	static struct lw_result r;
	static struct lw_ldns l;
	const struct dm_spec *s = &hand[0].spec;
	uint8_t *wire;
	size_t len;
	char why[256];
	int fails = 0;

	if (dm_build(&(struct dm_spec){.id = ID, .question = s->question, .an = {s->an[0]}}, &wire,
		     &len))
		return 1;
	memset(&r, 0, sizeof(r));
	r.family = PW_FAMILY_V4;
	r.dns_id = htons(ID);
	r.flen = dm_frame(r.frame, sizeof(r.frame), PW_FAMILY_V4, DM_RESOLVER4, DM_POD4, 53,
			  DM_POD_PORT, wire, len, 0);
	free(wire);
	lw_ldns(w, &r, &l);
	/* the kernel as ldns would have it */
	r.verdict = TC_ACT_OK;
	r.d_inline = 1;
	r.n_recs = 1;
	r.n_learned = 1;
	r.rec.ts_ns = 1000;
	r.rec.ep_id = LW_EP_ID;
	r.rec.ifindex = (__u32)w->ifindex;
	r.rec.dns_id = r.dns_id;
	r.rec.n_addrs = 1;
	r.rec.name_len = (uint8_t)strlen(l.ans.qname);
	memcpy(r.rec.name, l.ans.qname, r.rec.name_len);
	r.learned[0].family = PW_FAMILY_V4;
	memcpy(&r.learned[0].addr.v4, A1, 4);
	r.learned[0].expires_ns = 1000 + l.plan.items[0].expires_ns;
	r.rec.addrs[0].family = PW_FAMILY_V4;
	r.rec.addrs[0].addr = r.learned[0].addr;
	r.rec.addrs[0].expires_ns = r.learned[0].expires_ns;
	/* portset: the one lw_write_names gave api.example.com */
	for (size_t i = 0; i < w->c.n_names; i++)
		if (!strcmp(w->c.names[i].text, "api.example.com"))
			r.learned[0].portset = r.rec.portset = (__u32)i + 1;
	if (lw_compare(w, &r, &l, why, sizeof(why))) {
		fprintf(stderr, "self-check: the faithful kernel disagrees: %s\n", why);
		fails++;
	}
	r.learned[0].expires_ns += 1000000000ull;
	r.rec.addrs[0].expires_ns = r.learned[0].expires_ns;
	if (!lw_compare(w, &r, &l, why, sizeof(why))) {
		fprintf(stderr, "self-check: an expiry 1 s off agrees\n");
		fails++;
	}
	r.learned[0].expires_ns -= 1000000000ull;
	r.rec.addrs[0].expires_ns = r.learned[0].expires_ns;
	memcpy(&r.learned[0].addr.v4, "\x0a\x01\x02\x03", 4); /* 10.1.2.3: guarded */
	r.rec.addrs[0].addr = r.learned[0].addr;
	if (!lw_compare(w, &r, &l, why, sizeof(why))) {
		fprintf(stderr, "self-check: a guarded address learned inline agrees\n");
		fails++;
	}
	r.n_learned = 0;
	r.n_recs = 0;
	r.d_inline = 0;
	r.verdict = TC_ACT_SHOT;
	r.n_learned = 1; /* held, yet written */
	if (!lw_compare(w, &r, &l, why, sizeof(why))) {
		fprintf(stderr, "self-check: a held answer with a pw_learned entry agrees\n");
		fails++;
	}
	return fails;
}

/* PW_LEARN_DIFF_WRITE_CORPUS=DIR: the hand-made and attack answers (the
 * first n) as seeds of tests/fuzz/fuzz_bpf_answer.c (byte 0: transport). */
static void write_corpus(const char *dir, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char path[512], name[96];
		FILE *f;

		snprintf(name, sizeof(name), "%s", cases[i].name);
		for (char *p = name; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
				*p = '-';
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		f = fopen(path, "wb");
		if (!f) {
			setup_failures++;
			return;
		}
		fputc(i % 3 == 2 ? 1 : 0, f); /* every third over IPv6 */
		fwrite(cases[i].msg, 1, cases[i].len, f);
		fclose(f);
	}
}

#define cannot_run(...) bpft_cannot_run("test_learn_diff", __VA_ARGS__)

int main(void)
{
	static struct lw w;
	static struct lw_result r;
	static struct lw_ldns l;
	const char *src = getenv("PW_SRC") ? getenv("PW_SRC") : ".";
	struct tally on = {0}, off = {0}, hold_only = {0};
	const char *why = "";
	bool present;
	int err, fails = 0;

	verbose = getenv("PW_TEST_VERBOSE") != NULL;
	bpft_verbose = verbose;
	libbpf_set_print(bpft_libbpf_print);
	if (geteuid() != 0)
		return cannot_run("needs root (BPF, a network namespace)");
	err = lw_open(&w, &why);
	if (err) {
		int ret = cannot_run("%s: %s", why, strerror(-err));

		lw_close(&w);
		return ret;
	}

	add_hand();
	if (getenv("PW_LEARN_DIFF_WRITE_CORPUS"))
		write_corpus(getenv("PW_LEARN_DIFF_WRITE_CORPUS"), n_cases);
	add_unit_rows();
	add_corpus(src, "dns", 2, true);
	add_corpus(src, "bpf_answer", 1, false);

	fails += self_check(&w);

	/* the simplest answer says whether the kernel learns at all */
	lw_run(&w, PW_FAMILY_V4, cases[0].msg, cases[0].len, &r);
	lw_ldns(&w, &r, &l);
	if (l.err || l.plan.n_learn != 1) {
		fprintf(stderr, "the ldns path does not learn the simplest answer (%s)\n",
			l.err ? l.why : "no address");
		fails++;
	}
	present = w.learner_present || r.d_inline;
	if (w.learner_present && !r.d_inline) {
		fprintf(stderr,
			"kernel learner present (pod_ingress uses pw_learn_log) but the "
			"simplest answer was not learned inline (verdict %d)\n",
			r.verdict);
		fails++;
	}

	run_pass(&w, "inline", true, &on);
	w.cfg_flags = PW_CFG_HOLD_DNS;
	if (lw_config(&w))
		fails++;
	run_pass(&w, "inline-off", false, &off);
	w.cfg_flags = PW_CFG_HOLD_DNS | PW_CFG_LEARN_INLINE;
	w.epdns_flags = PW_EPDNS_HOLD_ONLY;
	if (lw_config(&w) || lw_write_names(&w, &why))
		fails++;
	run_pass(&w, "hold-only", false, &hold_only);

	printf("learn_diff: kernel learner %s\n",
	       present ? "present"
		       : "absent (pod_ingress does not use pw_learn_log and PW_C_DNS_INLINE did "
			 "not move for the simplest answer): checked only the ldns half and "
			 "held => nothing written");
	printf("learn_diff: %zu answers (%zu messages x IPv4/IPv6): %zu inline, %zu held, "
	       "%zu passed unlearned; %zu agreed, %zu disagreed; ldns half: %zu wrong\n",
	       on.answers, n_cases, on.inline_, on.held, on.passed, on.agreed, on.disagreed,
	       on.ldns_wrong);
	printf("learn_diff: inline off: %zu answers, %zu inline, %zu disagreed; hold-only "
	       "endpoint: %zu answers, %zu inline, %zu disagreed\n",
	       off.answers, off.inline_, off.disagreed, hold_only.answers, hold_only.inline_,
	       hold_only.disagreed);
	fails += (int)(on.disagreed + on.ldns_wrong + off.disagreed + hold_only.disagreed) +
		 setup_failures;
	if (present && !on.inline_)
		fails++;
	printf("%d passed, %d failed\n", fails ? 0 : 1, fails ? 1 : 0);
	for (size_t i = 0; i < n_cases; i++)
		free(cases[i].msg);
	lw_close(&w);
	return fails ? 1 : 0;
}

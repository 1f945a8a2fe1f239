// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the whole DNS learn step: held frame -> payload -> ldns
 * parse -> qname against a policy's patterns -> checksum fix before release.
 *
 * Input layout:
 *   byte 0   policy: which pattern set the pod has (index modulo the table)
 *   byte 1   mode bits:
 *              0x01 wrap the message in a frame and go through pw_dns_frame_payload
 *              0x02 that frame is IPv6 (else IPv4)
 *              0x04 also read the message bytes as a whole captured frame
 *              0x08 expect id 0x4242 instead of the message's own id
 *              0x10 also run the message bytes through the name/pattern validators
 *              0x20 the frame of 0x01 is a TCP segment (the message after its
 *                   2-byte length, as a held DNS-over-TCP answer)
 *              0x40 with 0x20: the length prefix one off (two messages, or a
 *                   split one): the frame must be refused
 *   rest     a DNS message
 *
 * Invariants checked (abort on violation): at most PW_DNS_MAX_ADDRS addresses,
 * never a special address, only the question's family, no duplicates, nothing
 * learned from an unusable answer, the qname is normalized, pw_fqdn_match
 * agrees with a label-by-label reference, the released frame's UDP or TCP
 * checksum is right, a TCP segment is taken only when its data is exactly one
 * message, outputs never pass their buffers. Raw frames are read as held UDP
 * and held TCP answers both.
 *
 * Build: clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iinclude -Ilib/core
 * -Ilib/sys \ tests/fuzz/fuzz_dns.c lib/core/dns.c lib/core/fqdn.c lib/core/ipaddr.c lib/core/log.c
 * -lldns Run:   fuzz_dns -max_len=8192 tests/fuzz/corpus/dns
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "fqdn.h"
#include "ipaddr.h"
#include "../unit/dnsmsg.h"

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__,         \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define MAX_PATTERNS 4

/* clang-format off */
static const char *const policies[][MAX_PATTERNS] = {
	{"api.example.com", "*.github.example", "**.s3.example", NULL},
	{"**.example.com", NULL},
	{"*.example.net", "a.s3.example", "x.github.example", NULL},
	{"*.com", "**.org", "example.com", NULL},
	{"_svc._tcp.example.com", "**.a", NULL},
	{NULL},
};
/* clang-format on */
#define N_POLICIES (sizeof(policies) / sizeof(policies[0]))

static char normalized[N_POLICIES][MAX_PATTERNS][PW_FQDN_MAX + 1];

static void init_policies(void)
{
	static bool done;
	const char *why;

	if (done)
		return;
	for (size_t p = 0; p < N_POLICIES; p++)
		for (size_t i = 0; i < MAX_PATTERNS && policies[p][i]; i++)
			check(!pw_fqdn_pattern_normalize(policies[p][i], true, normalized[p][i],
							 &why));
	done = true;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Reference matcher over labels, written differently from fqdn.c on purpose. */
static size_t split(const char *s, const char **label, size_t *len, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		const char *dot = strchr(s, '.');

		label[n] = s;
		len[n] = dot ? (size_t)(dot - s) : strlen(s);
		n++;
		if (!dot)
			break;
		s = dot + 1;
	}
	return n;
}

static bool ref_match(const char *pattern, const char *name)
{
	const char *pl[130], *nl[130];
	size_t plen[130], nlen[130], np, nn, min_extra = 0, exact = 1;

	if (!strncmp(pattern, "**.", 3)) {
		pattern += 3;
		min_extra = 1;
		exact = 0;
	} else if (!strncmp(pattern, "*.", 2)) {
		pattern += 2;
		min_extra = 1;
	}
	if (!*name)
		return false;
	np = split(pattern, pl, plen, 130);
	nn = split(name, nl, nlen, 130);
	if (nn < np + min_extra || (exact && nn != np + min_extra))
		return false;
	for (size_t i = 0; i < np; i++) {
		const char *a = pl[np - 1 - i], *b = nl[nn - 1 - i];

		if (plen[np - 1 - i] != nlen[nn - 1 - i])
			return false;
		for (size_t j = 0; j < plen[np - 1 - i]; j++)
			if (lower(a[j]) != lower(b[j]))
				return false;
	}
	return true;
}

static void check_answer(const struct pw_dns_answer *ans, int ret, const char *why, uint8_t policy)
{
	char again[PW_FQDN_MAX + 1];
	const char *w;

	if (ret) {
		check(ret == -EINVAL || ret == -ENOMEM);
		check(why && *why);
		check(ans->n_addrs == 0);
		return;
	}
	check(ans->n_addrs <= PW_DNS_MAX_ADDRS);
	check(strnlen(ans->qname, sizeof(ans->qname)) <= PW_FQDN_MAX);
	if (ans->qname[0]) {
		check(!pw_fqdn_normalize(ans->qname, again, &w));
		check(!strcmp(again, ans->qname));
	}
	if (!ans->qname[0] || ans->chain_broken || ans->rcode ||
	    (ans->qtype != LDNS_RR_TYPE_A && ans->qtype != LDNS_RR_TYPE_AAAA))
		check(ans->n_addrs == 0);
	for (size_t i = 0; i < ans->n_addrs; i++) {
		const struct pw_dns_addr *a = &ans->addrs[i];

		check(a->family == (ans->qtype == LDNS_RR_TYPE_A ? PW_FAMILY_V4 : PW_FAMILY_V6));
		check(!pw_ip_is_special(a->family, &a->addr));
		if (a->family == PW_FAMILY_V4)
			check(!a->addr.w[1] && !a->addr.w[2] && !a->addr.w[3]);
		check(a->ttl <= INT32_MAX);
		for (size_t j = 0; j < i; j++)
			check(ans->addrs[j].family != a->family ||
			      memcmp(&ans->addrs[j].addr, &a->addr, sizeof(a->addr)));
	}
	/* the agent's decision: learn only if the qname matches a pattern */
	policy %= N_POLICIES;
	for (size_t i = 0; i < MAX_PATTERNS && policies[policy][i]; i++)
		check(pw_fqdn_match(normalized[policy][i], ans->qname) ==
		      ref_match(normalized[policy][i], ans->qname));
}

static uint16_t msg_id(const uint8_t *msg, size_t len, uint8_t mode)
{
	uint16_t id = htons(0x4242);

	if (!(mode & 0x08) && len >= 2)
		memcpy(&id, msg, 2);
	return id;
}

static void fuzz_frame_variant(const uint8_t *msg, size_t len, uint8_t policy, uint8_t mode)
{
	static uint8_t frame[PW_DNS_CAP_MAX + 128];
	uint8_t family = mode & 0x02 ? PW_FAMILY_V6 : PW_FAMILY_V4;
	bool tcp = mode & 0x20;
	int adj = tcp && (mode & 0x40) ? (len & 1 ? 1 : -1) : 0;
	const char *src = family == PW_FAMILY_V4 ? DM_RESOLVER4 : DM_RESOLVER6;
	const char *dst = family == PW_FAMILY_V4 ? DM_POD4 : DM_POD6;
	struct pw_dns_answer ans;
	struct pw_dns_meta meta;
	const uint8_t *payload;
	const char *why = NULL;
	size_t flen, plen, l4_off;
	uint16_t id = msg_id(msg, len, mode);
	int ret;

	if (tcp)
		flen = dm_frame_tcp(frame, sizeof(frame), family, src, dst, 53, DM_POD_PORT, msg,
				    len, adj, (uint16_t)(len * 31));
	else
		flen = dm_frame(frame, sizeof(frame), family, src, dst, 53, DM_POD_PORT, msg, len,
				(uint16_t)(len * 31));
	if (!flen)
		return;
	dm_meta(&meta, family, ntohs(id));
	meta.proto = tcp ? 6 : 17;
	ret = pw_dns_frame_payload(frame, flen, &meta, &payload, &plen, &l4_off, &why);
	if (adj) {
		check(ret == -EINVAL && why);
		return;
	}
	check(ret == 0);
	check(plen == len && payload == frame + l4_off + (tcp ? 22 : 8) &&
	      !memcmp(payload, msg, len));
	ret = pw_dns_parse_answer(payload, plen, meta.dns_id, &ans, &why);
	check_answer(&ans, ret, why, policy);
	check(pw_dns_fix_l4_checksum(frame, flen, l4_off) == 0);
	if (tcp)
		check(dm_tcp_verify(frame, l4_off) == 0xffff);
	else if (family == PW_FAMILY_V6 || frame[l4_off + 6] || frame[l4_off + 7])
		check(dm_udp_verify(frame, l4_off) == 0xffff);
}

/* The bytes as a whole captured frame, for both families of recorded query,
 * held as a UDP answer and as a TCP one. */
static void fuzz_raw_frame(const uint8_t *data, size_t len, uint8_t policy)
{
	for (int i = 0; i < 4; i++) {
		uint8_t family = i & 1 ? PW_FAMILY_V6 : PW_FAMILY_V4, proto = i & 2 ? 6 : 17;
		struct pw_dns_answer ans;
		struct pw_dns_meta meta;
		const uint8_t *payload;
		const char *why = NULL;
		size_t plen, l4_off;
		uint8_t *copy;
		int ret;

		dm_meta(&meta, family, 0x4242);
		meta.proto = proto;
		ret = pw_dns_frame_payload(data, len, &meta, &payload, &plen, &l4_off, &why);
		if (ret) {
			check(ret == -EINVAL && why);
			continue;
		}
		check(payload >= data && payload + plen <= data + len);
		check(l4_off + (proto == 6 ? 22 : 8) + plen <= len);
		if (proto == 6)
			check((payload[-2] << 8 | payload[-1]) == (int)plen);
		ret = pw_dns_parse_answer(payload, plen, meta.dns_id, &ans, &why);
		check_answer(&ans, ret, why, policy);
		copy = malloc(len);
		check(copy);
		memcpy(copy, data, len);
		check(pw_dns_fix_l4_checksum(copy, len, l4_off) == 0);
		if (proto == 6)
			check(dm_tcp_verify(copy, l4_off) == 0xffff);
		else if (family == PW_FAMILY_V6 || copy[l4_off + 6] || copy[l4_off + 7])
			check(dm_udp_verify(copy, l4_off) == 0xffff);
		free(copy);
	}
}

/* The message bytes as a hostname or pattern: validators never overrun, accepted
 * forms are normalized and stable. */
static void fuzz_names(const uint8_t *data, size_t len, uint8_t policy)
{
	char in[400], out[PW_FQDN_MAX + 1 + 16], again[PW_FQDN_MAX + 1 + 16];
	const char *why, *rest;
	size_t n = len < sizeof(in) - 1 ? len : sizeof(in) - 1;

	memcpy(in, data, n);
	in[n] = '\0';
	for (int is_pattern = 0; is_pattern <= 1; is_pattern++) {
		memset(out, 0x5a, sizeof(out));
		if (pw_fqdn_pattern_normalize(in, is_pattern, out, &why)) {
			check(why && *why);
		} else {
			check(strlen(out) <= PW_FQDN_MAX);
			check(!pw_fqdn_pattern_normalize(out, is_pattern, again, &why));
			check(!strcmp(out, again));
			rest = out;
			if (!strncmp(out, "**.", 3))
				rest += 3;
			else if (!strncmp(out, "*.", 2))
				rest += 2;
			check(!strchr(rest, '*'));
			check(is_pattern || rest == out);
			if (!strchr(out, '*'))
				check(pw_fqdn_match(out, out));
			policy %= N_POLICIES;
			for (size_t i = 0; i < MAX_PATTERNS && policies[policy][i]; i++)
				if (!strchr(out, '*'))
					check(pw_fqdn_match(normalized[policy][i], out) ==
					      ref_match(normalized[policy][i], out));
		}
		for (size_t i = PW_FQDN_MAX + 1; i < sizeof(out); i++)
			check(out[i] == 0x5a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_dns_answer ans;
	const char *why = NULL;
	const uint8_t *msg;
	uint8_t policy, mode;
	uint8_t *copy;
	size_t len;
	int ret;

	init_policies();
	if (size < 2)
		return 0;
	policy = data[0];
	mode = data[1];
	msg = data + 2;
	len = size - 2;

	/* an exact-size copy so ASan sees any read past the message */
	copy = malloc(len ? len : 1);
	check(copy);
	memcpy(copy, msg, len);
	ret = pw_dns_parse_answer(copy, len, msg_id(copy, len, mode), &ans, &why);
	check_answer(&ans, ret, why, policy);
	if (mode & 0x01)
		fuzz_frame_variant(copy, len, policy, mode);
	if (mode & 0x04)
		fuzz_raw_frame(copy, len, policy);
	if (mode & 0x10)
		fuzz_names(copy, len, policy);
	free(copy);
	return 0;
}

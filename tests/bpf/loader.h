/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the programs that run the real podwall BPF object through
 * BPF_PROG_TEST_RUN share (tests/bpf/test_bpf.c, tests/fuzz/fuzz_bpf_dns.c):
 * the object loaded with no pinning and its event ring buffer, a network
 * namespace with a veth pair for the ifindexes, the "cannot run" exit (77,
 * skipped; 1 under CI=true), a fuzz target's "invariant broken" abort, libbpf's messages, the clock
 * the programs read, the Internet checksum, and a pw_names entry as the agent writes it.
 */
#ifndef PODWALL_TESTS_BPF_LOADER_H
#define PODWALL_TESTS_BPF_LOADER_H

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fqdn.h"
#include "podwall/maps.h"
#include "podwall.skel.h"

/* libbpf's debug messages are shown when this is set (PW_TEST_VERBOSE). */
static bool bpft_verbose;

static inline bool bpft_ci(void)
{
	const char *ci = getenv("CI");

	return ci && !strcmp(ci, "true");
}

/* Says loudly why `who` cannot run; returns its exit code: 77 (skipped), or 1
 * under CI=true, where a test that cannot run fails. */
static inline int bpft_vcannot_run(const char *who, const char *fmt, va_list ap)
{
	fprintf(stderr, "\n*** %s: CANNOT RUN: ", who);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " ***\n");
	if (bpft_ci()) {
		fprintf(stderr, "*** CI=true: this is a failure, not a skip ***\n");
		return 1;
	}
	fprintf(stderr, "*** SKIPPED (exit 77); with CI=true this fails ***\n");
	return 77;
}

static inline int __attribute__((format(printf, 2, 3)))
bpft_cannot_run(const char *who, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = bpft_vcannot_run(who, fmt, ap);
	va_end(ap);
	return ret;
}

/* A fuzz target's invariant broke: says which, and aborts (the fuzzer keeps
 * the input). */
static inline void __attribute__((noreturn, format(printf, 2, 3)))
bpft_die(const char *who, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n*** %s: INVARIANT BROKEN: ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " ***\n");
	abort();
}

static inline __u64 bpft_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* what bpf_ktime_get_ns() reads */
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline int bpft_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !bpft_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Enters a new network namespace holding the veth pair a, b; their ifindexes
 * in *ia, *ib. 0 or negative errno. */
static inline int bpft_netns_veth(const char *a, const char *b, int *ia, int *ib)
{
	char cmd[128];

	if (unshare(CLONE_NEWNET))
		return -errno;
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s >/dev/null 2>&1", a, b);
	if (system(cmd))
		return -ENODEV;
	*ia = (int)if_nametoindex(a);
	*ib = (int)if_nametoindex(b);
	return *ia && *ib ? 0 : -ENODEV;
}

/* Opens and loads the object with no map pinned (pin_root only names where
 * nothing must appear), and opens the event ring buffer with on_event.
 * 0 or negative errno (nothing left open). */
static inline int bpft_load(const char *pin_root, ring_buffer_sample_fn on_event,
			    struct podwall_bpf **skel, struct ring_buffer **rb)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_root);
	struct bpf_map *m;
	int err;

	*skel = podwall_bpf__open_opts(&oo);
	if (!*skel)
		return -errno;
	bpf_object__for_each_map(m, (*skel)->obj)
	{
		err = bpf_map__set_pin_path(m, NULL);
		if (err)
			goto fail;
	}
	err = podwall_bpf__load(*skel);
	if (err)
		goto fail;
	*rb = ring_buffer__new(bpf_map__fd((*skel)->maps.pw_events), on_event, NULL, NULL);
	if (!*rb) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	podwall_bpf__destroy(*skel);
	*skel = NULL;
	return err;
}

static inline void bpft_unload(struct podwall_bpf **skel, struct ring_buffer **rb)
{
	ring_buffer__free(*rb);
	*rb = NULL;
	podwall_bpf__destroy(*skel);
	*skel = NULL;
}

/* The Internet checksum: bpft_sum16 over the bytes (big-endian 16-bit words),
 * bpft_fold16 folds the carries (0xffff over a correct checksum; the value to
 * write is its complement). */
static inline __u32 bpft_sum16(const __u8 *b, size_t n, __u32 sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (n & 1)
		sum += b[n - 1] << 8;
	return sum;
}

static inline __u16 bpft_fold16(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The pw_names entry of endpoint ep_id for a name pattern (kind, text), keyed
 * by the hash of hash_of (a collision test) or of text. */
static inline void bpft_name_entry(__u32 ep_id, __u8 kind, const char *text, const char *hash_of,
				   __u8 flags, struct pw_name_key *k, struct pw_name_val *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->ep_id = ep_id;
	k->kind = kind;
	k->hash = pw_fqdn_hash(hash_of ? hash_of : text);
	v->flags = flags;
	v->len = strlen(text);
	memcpy(v->text, text, v->len);
}

#endif

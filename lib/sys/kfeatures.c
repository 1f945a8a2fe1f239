// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lib/sys/kfeatures.c: does this kernel have what podwall needs? Probed with
 * libbpf's feature probes (a tiny map or program each), so a distribution
 * kernel with backports passes on what it has, not on its version number.
 * Bounded loops (5.3) and the 1M-instruction verifier limit (5.2) cannot be
 * probed this way: the kernels with ring buffers have both.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <bpf/libbpf.h>

#include "kfeatures.h"

const struct pw_kfeature pw_kfeatures[] = {
	{"TC classifier programs (BPF_PROG_TYPE_SCHED_CLS)", "4.1", PW_KF_PROG,
	 BPF_PROG_TYPE_SCHED_CLS},
	{"hash maps", "3.19", PW_KF_MAP, BPF_MAP_TYPE_HASH},
	{"per-CPU hash and array maps", "4.6", PW_KF_MAP, BPF_MAP_TYPE_PERCPU_HASH},
	{"perf event array maps", "4.3", PW_KF_MAP, BPF_MAP_TYPE_PERF_EVENT_ARRAY},
	{"LRU hash maps (BPF_MAP_TYPE_LRU_HASH)", "4.10", PW_KF_MAP, BPF_MAP_TYPE_LRU_HASH},
	{"longest-prefix-match maps (BPF_MAP_TYPE_LPM_TRIE)", "4.11", PW_KF_MAP,
	 BPF_MAP_TYPE_LPM_TRIE},
	{"BPF ring buffer maps (BPF_MAP_TYPE_RINGBUF)", "5.8", PW_KF_MAP, BPF_MAP_TYPE_RINGBUF},
	{"bpf_skb_pull_data() in TC programs", "4.9", PW_KF_HELPER, BPF_FUNC_skb_pull_data},
	{"bpf_perf_event_output() in TC programs", "4.5", PW_KF_HELPER, BPF_FUNC_perf_event_output},
	{"bpf_ringbuf_reserve() in TC programs", "5.8", PW_KF_HELPER, BPF_FUNC_ringbuf_reserve},
};
const size_t pw_n_kfeatures = sizeof(pw_kfeatures) / sizeof(pw_kfeatures[0]);

int pw_kf_probe_libbpf(const struct pw_kfeature *f)
{
	switch (f->kind) {
	case PW_KF_PROG:
		return libbpf_probe_bpf_prog_type(f->id, NULL);
	case PW_KF_MAP:
		return libbpf_probe_bpf_map_type(f->id, NULL);
	case PW_KF_HELPER:
		return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, f->id, NULL);
	}
	return -EINVAL;
}

int pw_kernel_check(pw_kf_probe_fn probe, char *msg, size_t len)
{
	struct utsname u;

	if (!probe)
		probe = pw_kf_probe_libbpf;
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	for (size_t i = 0; i < pw_n_kfeatures; i++) {
		const struct pw_kfeature *f = &pw_kfeatures[i];

		if (probe(f) == 0) {
			snprintf(msg, len, "kernel %s lacks %s (Linux %s and later have it)",
				 u.release, f->what, f->since);
			return -ENOTSUP;
		}
	}
	if (len)
		msg[0] = '\0';
	return 0;
}

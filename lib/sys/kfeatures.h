// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The kernel features podwall's data path needs, each with the Linux version
 * that brought it, probed before anything is loaded or attached. */
#ifndef PODWALL_KFEATURES_H
#define PODWALL_KFEATURES_H

#include <stddef.h>

enum pw_kf_kind { PW_KF_PROG, PW_KF_MAP, PW_KF_HELPER };

struct pw_kfeature {
	const char *what;  /* "BPF ring buffer maps (BPF_MAP_TYPE_RINGBUF)" */
	const char *since; /* the mainline version that has it: "5.8" */
	enum pw_kf_kind kind;
	int id; /* enum bpf_prog_type / bpf_map_type / bpf_func_id */
};

extern const struct pw_kfeature pw_kfeatures[];
extern const size_t pw_n_kfeatures;

/* 1: the kernel has it, 0: it does not, <0: cannot tell (-errno). */
typedef int (*pw_kf_probe_fn)(const struct pw_kfeature *f);
int pw_kf_probe_libbpf(const struct pw_kfeature *f);

/* Probe every feature with probe (NULL: libbpf's probes). Returns 0 when all
 * are there; else -ENOTSUP with msg set to one line naming the first missing
 * feature, the kernel it is missing on, and the version that has it. A probe
 * that cannot tell is not counted as missing (the load then decides). */
int pw_kernel_check(pw_kf_probe_fn probe, char *msg, size_t len);

#endif

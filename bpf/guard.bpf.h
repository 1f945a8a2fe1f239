/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The rebinding guard, kernel side: the same maps and classifier the agent's
 * learner uses (include/podwall/guard.h), so both learners refuse alike. */
#ifndef PODWALL_GUARD_BPF_H
#define PODWALL_GUARD_BPF_H

#include "podwall/guard.h"
#include "maps.bpf.h"

static __always_inline int pw_guard_v4(const __u8 *v4)
{
	struct pw_guard4_key k = {.prefixlen = 32};
	struct pw_guard_val *v;

	__builtin_memcpy(k.addr, v4, 4);
	v = bpf_map_lookup_elem(&pw_guard4, &k);
	return v && v->kind != PW_G_EXEMPT;
}

/* 1 if addr is one of the node's own addresses (kind PW_G_NODE). */
static __always_inline int pw_guard_is_node(__u8 family, const union pw_ip *addr)
{
	struct pw_guard_val *v;

	if (family == PW_FAMILY_V4) {
		struct pw_guard4_key k = {.prefixlen = 32};

		__builtin_memcpy(k.addr, &addr->v4, 4);
		v = bpf_map_lookup_elem(&pw_guard4, &k);
	} else {
		struct pw_guard6_key k = {.prefixlen = 128};

		__builtin_memcpy(k.addr, addr->v6, 16);
		v = bpf_map_lookup_elem(&pw_guard6, &k);
	}
	return v && v->kind == PW_G_NODE;
}

/* 1 if a hostname rule without allowPrivate must never learn this address. */
static __always_inline int pw_guard_blocks(__u8 family, const union pw_ip *addr)
{
	struct pw_guard6_key k = {.prefixlen = 128};
	struct pw_guard_val *v;
	__u8 v4[4];

	if (family == PW_FAMILY_V4)
		return pw_guard_v4((const __u8 *)&addr->v4);
	__builtin_memcpy(k.addr, addr->v6, 16);
	v = bpf_map_lookup_elem(&pw_guard6, &k);
	if (v && v->kind != PW_G_EXEMPT)
		return 1;
	return pw_guard_embedded_v4(addr->v6, v4) && pw_guard_v4(v4);
}

#endif /* PODWALL_GUARD_BPF_H */

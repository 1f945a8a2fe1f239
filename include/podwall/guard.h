/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The rebinding guard: addresses a hostname rule never grants, whichever
 * learner (the agent's ldns learner, or the kernel's inline one) reads the
 * answer. One definition, two readers:
 *
 *   - the prefixes are the LPM maps pw_guard4 / pw_guard6, written by the agent
 *     (its defaults, the pod and service CIDRs, the node's own addresses, what
 *     the operator adds or exempts); the agent keeps the same table in memory
 *     (lib/core/guard.c) and writes it whole;
 *   - the classifier below, shared by BPF and userspace, turns an address into
 *     the keys to look up: the address itself and, for IPv6 forms that carry
 *     an IPv4 address (mapped, translated, compatible, NAT64, 6to4, Teredo),
 *     that IPv4 address too.
 *
 * Longest prefix wins. A value of kind PW_G_EXEMPT is an operator's hole in a
 * wider guarded prefix (a corporate 10.0.0.0/8 reached by name); any other kind
 * means "never learned unless the rule opts in (allowPrivate) or the name is in
 * the cluster domain".
 */
#ifndef PODWALL_GUARD_H
#define PODWALL_GUARD_H

#include <linux/types.h>

#include "podwall/maps.h" /* the maps pw_guard4 / pw_guard6 and PW_MAX_GUARD */

/* Why an address is guarded (the value of pw_guard4 / pw_guard6). */
enum pw_guard_kind {
	PW_G_EXEMPT = 0,   /* not guarded: an operator's exemption */
	PW_G_PRIVATE = 1,  /* RFC 1918, CGNAT 100.64/10, ULA fc00::/7, NAT64 */
	PW_G_POD_CIDR = 2, /* a pod CIDR of the cluster */
	PW_G_SERVICE = 3,  /* the service CIDR, a service address */
	PW_G_NODE = 4,	   /* one of the node's own addresses */
	PW_G_EXTRA = 5,	   /* added by the operator (--never-learn) */
	PW_G_MAX = 6,
};

struct pw_guard4_key {
	__u32 prefixlen; /* 0..32 */
	__u8 addr[4];	 /* network order */
};
_Static_assert(sizeof(struct pw_guard4_key) == 8, "pw_guard4_key size");

struct pw_guard6_key {
	__u32 prefixlen; /* 0..128 */
	__u8 addr[16];	 /* network order */
};
_Static_assert(sizeof(struct pw_guard6_key) == 20, "pw_guard6_key size");

struct pw_guard_val {
	__u32 kind; /* enum pw_guard_kind */
	__u32 pad;
};
_Static_assert(sizeof(struct pw_guard_val) == 8, "pw_guard_val size");

#ifndef PW_GUARD_INLINE
#ifdef __bpf__
#define PW_GUARD_INLINE static __always_inline
#else
#define PW_GUARD_INLINE static inline
#endif
#endif

/*
 * The IPv4 address an IPv6 address carries, if it is one of the forms that a
 * translator, a relay or the stack itself turns back into IPv4:
 *   ::ffff:0:0/96     IPv4-mapped             (last 32 bits)
 *   ::ffff:0:0:0/96   IPv4-translated (SIIT)  (last 32 bits)
 *   ::/96             IPv4-compatible         (last 32 bits)
 *   64:ff9b::/96      NAT64 well-known prefix (last 32 bits)
 *   64:ff9b:1::/48    NAT64 local use         (last 32 bits, the /96 layout)
 *   2002::/16         6to4                    (bits 16..47)
 *   2001:0::/32       Teredo                  (server, bits 32..63)
 * Returns 1 and writes v4 (network order), or 0.
 */
PW_GUARD_INLINE int pw_guard_embedded_v4(const __u8 *a, __u8 *v4)
{
	int off = -1;

	if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0 && a[4] == 0 && a[5] == 0 &&
	    a[6] == 0 && a[7] == 0) {
		if ((a[8] == 0 && a[9] == 0 && a[10] == 0xff && a[11] == 0xff) ||
		    (a[8] == 0xff && a[9] == 0xff && a[10] == 0 && a[11] == 0) ||
		    (a[8] == 0 && a[9] == 0 && a[10] == 0 && a[11] == 0))
			off = 12;
	} else if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) {
		if ((a[4] == 0 && a[5] == 0) || (a[4] == 0 && a[5] == 1))
			off = 12;
	} else if (a[0] == 0x20 && a[1] == 0x02) {
		off = 2;
	} else if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
		off = 4;
	}
	if (off < 0)
		return 0;
	v4[0] = a[off];
	v4[1] = a[off + 1];
	v4[2] = a[off + 2];
	v4[3] = a[off + 3];
	return 1;
}

/*
 * Addresses no hostname rule ever learns, whatever it opts in to: IPv4
 * 0.0.0.0/8, loopback, link-local (cloud metadata), multicast, reserved and
 * broadcast; IPv6 :: and ::1, IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96,
 * link-local fe80::/10, multicast. a: the address, network order (4 or 16
 * bytes). One definition for both learners (lib/core's pw_ip_is_special and
 * pod_ingress's). Returns 1 if never learned.
 */
PW_GUARD_INLINE int pw_never_learned(__u8 family, const __u8 *a)
{
	int zero12 = 1;

	if (family == PW_FAMILY_V4)
		return a[0] == 0 || a[0] == 127 || (a[0] == 169 && a[1] == 254) || a[0] >= 224;
	for (int i = 0; i < 10; i++)
		zero12 &= a[i] == 0;
	if (zero12 && a[10] == 0xff && a[11] == 0xff)
		return 1; /* IPv4-mapped */
	zero12 &= a[10] == 0 && a[11] == 0;
	if (zero12)
		return 1; /* ::/96: ::, ::1 and IPv4-compatible */
	return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff;
}

#endif /* PODWALL_GUARD_H */

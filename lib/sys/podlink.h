/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Find the host veths of pods that no CNI ADD told us about (pods that were
 * running before podwall): every veth whose one end is in the caller's network
 * namespace and whose other end is in another one, with the addresses on that
 * other end. The peer is proven by the kernel (the pod end's link-netnsid is
 * the id of our namespace as the pod's namespace sees it), never guessed from
 * names, index numbers or addresses alone.
 */
#ifndef PW_PODLINK_H
#define PW_PODLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

#define PW_PODLINK_MAX_ADDRS 8

struct pw_podlink {
	uint32_t host_ifindex;	      /* the veth's end in the caller's namespace */
	char pod_ifname[IF_NAMESIZE]; /* its end in the pod's namespace */
	char netns[280];	      /* a path naming the pod's namespace */
	size_t n_addrs;
	struct {
		uint8_t family; /* PW_FAMILY_V4 / PW_FAMILY_V6 */
		union pw_ip ip;
	} addrs[PW_PODLINK_MAX_ADDRS];
};

/* Scan the network namespaces under /run/netns (and /var/run/netns) and of
 * every process in /proc, each once. On success *out (free() it) holds *n
 * links; a namespace that cannot be entered is skipped. Runs in a thread of
 * its own, so the caller's thread never changes namespace. 0 or -errno. */
int pw_podlink_scan(struct pw_podlink **out, size_t *n);

/* The link whose pod end carries (family, ip); NULL if none. *ambiguous is set
 * when more than one link carries it (then NULL is returned: never a guess). */
const struct pw_podlink *pw_podlink_find(const struct pw_podlink *v, size_t n, uint8_t family,
					 const union pw_ip *ip, bool *ambiguous);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An endpoint: one pod's host-side veth as the agent knows it, what it has
 * learned from DNS, and its persistence in the state directory (one JSON file
 * per container id) so that a restarted agent knows every pod it enforced.
 */
#ifndef PODWALL_ENDPOINT_H
#define PODWALL_ENDPOINT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "compile.h"
#include "fqdn.h"
#include "policy.h"

/*
 * What the agent keeps of each learned address, compactly (100,000 of them on
 * a busy node): 28 bytes. Times are CLOCK_MONOTONIC seconds; an expiry is
 * rounded up (an address never leaves before its TTL), a time seen rounded
 * down. A name's addresses are kept least recently seen first.
 */
struct pw_learned_addr {
	union pw_ip ip;
	uint32_t expires_s;
	uint32_t seen_s; /* last answer that carried it (LRU) */
	uint8_t family;
};
_Static_assert(sizeof(struct pw_learned_addr) == 28, "pw_learned_addr: 28 bytes");

#define PW_NS_PER_S 1000000000ULL
static inline uint32_t pw_sec_up(uint64_t ns)
{
	uint64_t s = ns / PW_NS_PER_S + (ns % PW_NS_PER_S != 0);

	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}
static inline uint32_t pw_sec_down(uint64_t ns)
{
	uint64_t s = ns / PW_NS_PER_S;

	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}
static inline uint64_t pw_learned_expires_ns(const struct pw_learned_addr *a)
{
	return (uint64_t)a->expires_s * PW_NS_PER_S;
}
static inline uint64_t pw_learned_seen_ns(const struct pw_learned_addr *a)
{
	return (uint64_t)a->seen_s * PW_NS_PER_S;
}

/* A name this pod resolved and a rule allowed: 40 bytes, its text and its
 * addresses. */
struct pw_learned_name {
	char *name; /* allocated to its length */
	uint64_t resolved_ns;
	struct pw_learned_addr *addrs;
	uint32_t n_addrs, cap_addrs;
	/* The ports the endpoint's hostname rules grant this name, cached when
	 * the rules are compiled or the name is learned (sync.c): one of the
	 * endpoint's shared sets (pw_ep_ports_share), NULL until computed. */
	const struct pw_range_set *ports;
};

/* A name the pod resolved but may not reach: kept only to say, in a deny
 * event, what the pod was trying to reach. Never grants anything. A ring of
 * PW_EP_SEEN, allocated when the pod first resolves such a name. */
#define PW_EP_SEEN 32
struct pw_seen_name {
	union pw_ip ip;
	uint64_t seen_ns;
	char *name; /* NULL: slot unused */
	uint8_t family;
};

struct pw_ep {
	uint32_t ifindex;
	uint32_t ep_id;
	char host_ifname[IF_NAMESIZE];
	char container_id[128];
	char netns[256];
	char ifname[IF_NAMESIZE];
	char *namespace;
	char *name;
	struct pw_labels labels;
	uint8_t flags; /* PW_EP_HAS_V4 | PW_EP_HAS_V6 */
	__be32 ip4;
	uint8_t ip6[16];
	uint8_t mac[6]; /* the pod interface's MAC (flags PW_EP_HAS_MAC) */

	/* Derived state, rebuilt from policies. */
	struct pw_compiled compiled;
	bool managed;	     /* written to pw_endpoints (some policy selects it) */
	uint32_t policy_gen; /* last generation written */
	char *compile_error; /* last compile failure; previous rules stay */
	char *hook_problem;  /* podwall is not first on a hook and cannot fix it */

	struct pw_learned_name *names;
	size_t n_names, cap_names;
	size_t n_addrs;		   /* distinct addresses over all names */
	bool learn_count_dirty;	   /* pw_ep_learn (the kernel's count) to rewrite */
	bool may_have_learned;	   /* pw_learned may hold entries of this endpoint */
	bool learned_dirty;	   /* names changed since the state file was written */
	struct pw_seen_name *seen; /* ring of PW_EP_SEEN, or NULL */
	unsigned int seen_next;
	/* The distinct port sets of the names' rules (names point at them). */
	struct pw_range_set **port_sets;
	size_t n_port_sets;

	/* Its share of pw_flows, during a walk of the table (agent/sync.c):
	 * the kernel's count before the walk, and the live flows the walk saw. */
	uint64_t flows_added0;
	uint32_t flows_live;
	bool flows_counted; /* flows_added0 was read for this walk */

	struct pw_ep *next;
};

/* The endpoint registry: every endpoint the agent knows, and the next id to
 * hand out (ids are never reused while the maps are pinned). */
struct pw_eps {
	struct pw_ep *head;
	uint32_t next_id;
};
void pw_eps_add(struct pw_eps *s, struct pw_ep *ep);	/* first in the list */
void pw_eps_unlink(struct pw_eps *s, struct pw_ep *ep); /* not freed */
struct pw_ep *pw_eps_by_id(const struct pw_eps *s, uint32_t ep_id);
struct pw_ep *pw_eps_by_ifindex(const struct pw_eps *s, uint32_t ifindex);
struct pw_ep *pw_eps_by_container(const struct pw_eps *s, const char *container_id);
struct pw_ep *pw_eps_by_pod(const struct pw_eps *s, const char *ns, const char *name);
size_t pw_eps_count(const struct pw_eps *s);
/* An id in use (restored, or found in the kernel): next_id goes beyond it. */
void pw_eps_id_seen(struct pw_eps *s, uint32_t ep_id);

struct pw_ep *pw_ep_new(void);
void pw_ep_free(struct pw_ep *ep);

/* JSON form used by the state directory and the CLI. */
json_t *pw_ep_to_json(const struct pw_ep *ep);
/* Returns a new endpoint or NULL with err set. */
struct pw_ep *pw_ep_from_json(const json_t *obj, char *err, size_t errlen);

int pw_ep_save(const struct pw_ep *ep, const char *state_dir);
int pw_ep_unlink(const struct pw_ep *ep, const char *state_dir);

/* "ns/name" into buf. */
const char *pw_ep_pod(const struct pw_ep *ep, char *buf, size_t len);

/* Learned names of this endpoint. Adding an address to a name keeps at most
 * max_per_name addresses, evicting the least recently seen into *evicted
 * (family 0 if none; may be NULL). */
int pw_ep_learn(struct pw_ep *ep, const char *name, uint8_t family, const union pw_ip *ip,
		uint64_t expires_ns, uint64_t now_ns, size_t max_per_name,
		struct pw_learned_addr *evicted);
/* Drop addresses expired before now (and names left empty). Returns how many
 * addresses were dropped; with out, also hands them over (caller frees *out). */
size_t pw_ep_expire(struct pw_ep *ep, uint64_t now_ns, struct pw_learned_addr **out);
struct pw_learned_name *pw_ep_find_name(struct pw_ep *ep, const char *name);
/* Whether some name of the endpoint holds the address. */
bool pw_ep_has_addr(const struct pw_ep *ep, uint8_t family, const union pw_ip *ip);
/* Count the distinct addresses again (after names were dropped): ep->n_addrs. */
size_t pw_ep_count_addrs(struct pw_ep *ep);
/* The per-pod budgets (--max-names-per-pod, --max-learned-per-pod): whether
 * learning (name, address) keeps the pod within max_names names and
 * max_addrs distinct addresses. An address the pod already has always fits,
 * and so does a new one of a name at max_per_name (it replaces the name's
 * least recently seen). */
enum pw_ep_room { PW_EP_ROOM, PW_EP_FULL_NAMES, PW_EP_FULL_ADDRS };
enum pw_ep_room pw_ep_learn_room(struct pw_ep *ep, const char *name, uint8_t family,
				 const union pw_ip *ip, size_t max_per_name, size_t max_names,
				 size_t max_addrs);
/* Remember that name resolved to ip for this pod (not learned). */
void pw_ep_note_seen(struct pw_ep *ep, const char *name, uint8_t family, const union pw_ip *ip,
		     uint64_t now_ns);
/* The name this pod most recently resolved to ip (learned, or else only
 * seen), or NULL. */
const char *pw_ep_name_for(const struct pw_ep *ep, uint8_t family, const union pw_ip *ip);
void pw_ep_forget_names(struct pw_ep *ep);
/* The endpoint's copy of a port set, shared by every name whose rules grant
 * the same ports (NULL: out of memory). Valid until pw_ep_ports_reset(),
 * which also clears every name's cached ports (the rules changed). */
const struct pw_range_set *pw_ep_ports_share(struct pw_ep *ep, const struct pw_range_set *s);
void pw_ep_ports_reset(struct pw_ep *ep);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sync: write what compile decided into the maps, in an order that never opens
 * a window: new entries first, then stale ones removed, then the endpoint
 * entry (whose policy_gen bump makes established flows re-check the new rules).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent_int.h"
#include "ipaddr.h"
#include "log.h"

struct pw_ep *pw_agent_ep_by_id(struct pw_agent *a, uint32_t ep_id)
{
	for (struct pw_ep *ep = a->eps; ep; ep = ep->next)
		if (ep->ep_id == ep_id)
			return ep;
	return NULL;
}

struct pw_ep *pw_agent_ep_by_ifindex(struct pw_agent *a, uint32_t ifindex)
{
	for (struct pw_ep *ep = a->eps; ep; ep = ep->next)
		if (ep->ifindex == ifindex)
			return ep;
	return NULL;
}

/* ---- port sets: content-addressed, immutable while referenced ---- */

int pw_portsets_load(struct pw_agent *a)
{
	uint32_t key, next, *pk = NULL;
	struct pw_portset ps;

	while (!bpf_map_get_next_key(a->bpf.ports_fd, pk, &next)) {
		key = next;
		pk = &key;
		if (bpf_map_lookup_elem(a->bpf.ports_fd, &key, &ps))
			continue;
		struct pw_portset_ent *n = realloc(a->portsets, (a->n_portsets + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		a->portsets = n;
		memset(&n[a->n_portsets], 0, sizeof(*n));
		n[a->n_portsets].id = key;
		n[a->n_portsets].set.n = ps.count > PW_MAX_PORT_RANGES ? PW_MAX_PORT_RANGES : ps.count;
		memcpy(n[a->n_portsets].set.r, ps.r, sizeof(ps.r));
		a->n_portsets++;
		if (key >= a->next_portset_id)
			a->next_portset_id = key + 1;
	}
	if (!a->next_portset_id)
		a->next_portset_id = 1;
	return 0;
}

int pw_portset_id(struct pw_agent *a, const struct pw_range_set *set, uint32_t *id)
{
	struct pw_portset_ent *n;
	struct pw_portset ps = {};

	if (!set->n) {
		*id = 0;
		return 0;
	}
	for (size_t i = 0; i < a->n_portsets; i++)
		if (!memcmp(&a->portsets[i].set, set, sizeof(*set))) {
			*id = a->portsets[i].id;
			return 0;
		}
	n = realloc(a->portsets, (a->n_portsets + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	a->portsets = n;
	ps.count = set->n;
	memcpy(ps.r, set->r, sizeof(ps.r));
	if (bpf_map_update_elem(a->bpf.ports_fd, &a->next_portset_id, &ps, BPF_NOEXIST)) {
		int err = -errno;

		pw_err("pw_ports: cannot add port set: %s (map holds %d)", strerror(-err),
		       PW_MAX_PORTSETS);
		return err;
	}
	n[a->n_portsets].id = a->next_portset_id;
	n[a->n_portsets].set = *set;
	a->n_portsets++;
	*id = a->next_portset_id++;
	return 0;
}

/* ---- CIDR entries ---- */

struct cidr_key {
	uint8_t family;
	union {
		struct pw_cidr4_key k4;
		struct pw_cidr6_key k6;
	};
};

static void cidr_key_make(struct cidr_key *k, uint32_t ep_id, const struct pw_cidr_entry *e)
{
	memset(k, 0, sizeof(*k));
	k->family = e->family;
	if (e->family == PW_FAMILY_V4) {
		k->k4.prefixlen = 32 + e->prefix;
		k->k4.ep_id = ep_id;
		memcpy(k->k4.addr, &e->addr.v4, 4);
	} else {
		k->k6.prefixlen = 32 + e->prefix;
		k->k6.ep_id = ep_id;
		memcpy(k->k6.addr, e->addr.v6, 16);
	}
}

static bool cidr_wanted(const struct pw_compiled *c, uint8_t family, const void *key,
			uint32_t ep_id)
{
	struct cidr_key k;

	for (size_t i = 0; i < c->n_cidrs; i++) {
		if (c->cidrs[i].family != family)
			continue;
		cidr_key_make(&k, ep_id, &c->cidrs[i]);
		if (family == PW_FAMILY_V4 ? !memcmp(&k.k4, key, sizeof(k.k4))
					   : !memcmp(&k.k6, key, sizeof(k.k6)))
			return true;
	}
	return false;
}

/* Delete this endpoint's entries of one LPM map that c does not want
 * (c == NULL: all of them). */
static void cidr_delete_stale(int fd, uint8_t family, uint32_t ep_id, const struct pw_compiled *c)
{
	size_t ksz = family == PW_FAMILY_V4 ? sizeof(struct pw_cidr4_key)
					    : sizeof(struct pw_cidr6_key);
	uint8_t key[sizeof(struct pw_cidr6_key)], next[sizeof(struct pw_cidr6_key)];
	uint8_t *victims = NULL;
	size_t n = 0;
	void *pk = NULL;

	while (!bpf_map_get_next_key(fd, pk, next)) {
		uint32_t id;

		memcpy(key, next, ksz);
		pk = key;
		memcpy(&id, key + 4, 4);
		if (id != ep_id || (c && cidr_wanted(c, family, key, ep_id)))
			continue;
		uint8_t *nv = realloc(victims, (n + 1) * ksz);

		if (!nv)
			break;
		victims = nv;
		memcpy(victims + n * ksz, key, ksz);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, victims + i * ksz);
	free(victims);
}

static int cidr_write(struct pw_agent *a, struct pw_ep *ep, const struct pw_compiled *c)
{
	for (size_t i = 0; i < c->n_cidrs; i++) {
		struct pw_cidr_val v = {};
		struct cidr_key k;
		int err, fd;

		err = pw_portset_id(a, &c->cidrs[i].ports, &v.portset);
		if (err)
			return err;
		cidr_key_make(&k, ep->ep_id, &c->cidrs[i]);
		fd = k.family == PW_FAMILY_V4 ? a->bpf.cidr4_fd : a->bpf.cidr6_fd;
		if (bpf_map_update_elem(fd, k.family == PW_FAMILY_V4 ? (void *)&k.k4 : (void *)&k.k6,
					&v, BPF_ANY)) {
			err = -errno;
			pw_err("pw_cidr%c: cannot write rule for endpoint %u: %s (map holds %d)",
			       k.family == PW_FAMILY_V4 ? '4' : '6', ep->ep_id, strerror(-err),
			       PW_MAX_CIDR);
			return err;
		}
	}
	return 0;
}

/* ---- learned entries ---- */

/* What the kernel entry for (ep, addr) must be: the union of the ports of the
 * rules matching every name that resolved to addr, and the latest expiry. */
static int learned_value(struct pw_agent *a, const struct pw_ep *ep, const struct pw_compiled *c,
			 uint8_t family, const union pw_ip *ip, struct pw_learned_val *out)
{
	struct pw_range_set ports = {};
	uint64_t expires = 0;
	bool any = false;

	for (size_t i = 0; i < ep->n_names; i++) {
		const struct pw_learned_name *n = &ep->names[i];
		struct pw_range_set np;

		for (size_t j = 0; j < n->n_addrs; j++) {
			if (n->addrs[j].family != family || memcmp(&n->addrs[j].ip, ip, sizeof(*ip)))
				continue;
			if (pw_compiled_fqdn_ports(c, n->name, &np) <= 0)
				break;
			if (pw_rangeset_union(&ports, &np))
				return -E2BIG;
			if (n->addrs[j].expires_ns > expires)
				expires = n->addrs[j].expires_ns;
			any = true;
			break;
		}
	}
	if (!any)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->expires_ns = expires;
	return pw_portset_id(a, &ports, &out->portset);
}

int pw_sync_learned_addr(struct pw_agent *a, struct pw_ep *ep, uint8_t family,
			 const union pw_ip *ip)
{
	struct pw_learned_key k = {.ep_id = ep->ep_id, .family = family, .addr = *ip};
	struct pw_learned_val v;
	int err;

	err = learned_value(a, ep, &ep->compiled, family, ip, &v);
	if (err == -ENOENT)
		return bpf_map_delete_elem(a->bpf.learned_fd, &k) && errno != ENOENT ? -errno : 0;
	if (err)
		return err;
	if (bpf_map_update_elem(a->bpf.learned_fd, &k, &v, BPF_ANY))
		return -errno;
	return 0;
}

/* Drop names no rule allows any more; rewrite the endpoint's learned entries. */
static int learned_resync(struct pw_agent *a, struct pw_ep *ep)
{
	struct pw_learned_key key, next, *pk = NULL;
	struct pw_learned_key *victims = NULL;
	size_t n_victims = 0, out = 0;
	int ret = 0;

	for (size_t i = 0; i < ep->n_names; i++) {
		struct pw_range_set ports;

		if (pw_compiled_fqdn_ports(&ep->compiled, ep->names[i].name, &ports) > 0) {
			ep->names[out++] = ep->names[i];
			continue;
		}
		free(ep->names[i].addrs);
	}
	ep->n_names = out;

	/* Entries in the map this endpoint no longer wants. Entries the agent has
	 * no name for (it restarted) are kept until they expire. */
	while (!bpf_map_get_next_key(a->bpf.learned_fd, pk, &next)) {
		bool known = false;

		key = next;
		pk = &key;
		if (key.ep_id != ep->ep_id)
			continue;
		for (size_t i = 0; i < ep->n_names && !known; i++)
			for (size_t j = 0; j < ep->names[i].n_addrs && !known; j++)
				known = ep->names[i].addrs[j].family == key.family &&
					!memcmp(&ep->names[i].addrs[j].ip, &key.addr,
						sizeof(key.addr));
		/* Learned before a crash and not yet saved: it expires on its own
		 * while the endpoint has hostname rules at all. */
		if (known || ep->compiled.n_fqdns)
			continue;
		struct pw_learned_key *nv = realloc(victims, (n_victims + 1) * sizeof(*nv));

		if (!nv)
			break;
		victims = nv;
		victims[n_victims++] = key;
	}
	for (size_t i = 0; i < n_victims; i++)
		bpf_map_delete_elem(a->bpf.learned_fd, &victims[i]);
	free(victims);

	for (size_t i = 0; i < ep->n_names && !ret; i++)
		for (size_t j = 0; j < ep->names[i].n_addrs && !ret; j++)
			ret = pw_sync_learned_addr(a, ep, ep->names[i].addrs[j].family,
						   &ep->names[i].addrs[j].ip);
	return ret;
}

static void learned_delete_all(struct pw_agent *a, uint32_t ep_id)
{
	struct pw_learned_key key, next, *pk = NULL, *victims = NULL;
	size_t n = 0;

	while (!bpf_map_get_next_key(a->bpf.learned_fd, pk, &next)) {
		key = next;
		pk = &key;
		if (key.ep_id != ep_id)
			continue;
		struct pw_learned_key *nv = realloc(victims, (n + 1) * sizeof(*nv));

		if (!nv)
			break;
		victims = nv;
		victims[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(a->bpf.learned_fd, &victims[i]);
	free(victims);
}

static void flows_delete_ep(struct pw_agent *a, uint32_t ep_id)
{
	struct pw_flow_key key, next, *pk = NULL, *victims = NULL;
	size_t n = 0;

	while (!bpf_map_get_next_key(a->bpf.flows_fd, pk, &next)) {
		key = next;
		pk = &key;
		if (key.ep_id != ep_id)
			continue;
		struct pw_flow_key *nv = realloc(victims, (n + 1) * sizeof(*nv));

		if (!nv)
			break;
		victims = nv;
		victims[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(a->bpf.flows_fd, &victims[i]);
	free(victims);
}

/* ---- endpoints ---- */

/* Write the endpoint entry: PW_MODE_OPEN for a pod no policy selects. */
static int endpoint_write(struct pw_agent *a, struct pw_ep *ep, uint8_t mode)
{
	struct pw_endpoint v = {
		.ep_id = ep->ep_id,
		.policy_gen = ep->policy_gen + 1,
		.mode = mode,
		.flags = ep->flags,
	};

	memcpy(v.ip4, &ep->ip4, 4);
	memcpy(v.ip6, ep->ip6, 16);
	if (!ep->managed && mode != PW_MODE_OPEN) {
		/* Per-pod counters exist before the first packet is governed. */
		struct pw_ep_stats *zero;
		int ncpu = libbpf_num_possible_cpus();

		zero = calloc(ncpu > 0 ? (size_t)ncpu : 1, sizeof(*zero));
		if (zero) {
			bpf_map_update_elem(a->bpf.ep_stats_fd, &ep->ep_id, zero, BPF_NOEXIST);
			free(zero);
		}
	}
	if (bpf_map_update_elem(a->bpf.endpoints_fd, &ep->ifindex, &v, BPF_ANY)) {
		int err = -errno;

		pw_err("pw_endpoints: cannot write endpoint %u (ifindex %u): %s (map holds %d)",
		       ep->ep_id, ep->ifindex, strerror(-err), PW_MAX_ENDPOINTS);
		return err;
	}
	ep->policy_gen = v.policy_gen;
	ep->managed = mode != PW_MODE_OPEN;
	return 0;
}

/* Everything the endpoint was granted (its entry must already be gone or open). */
static void rules_remove(struct pw_agent *a, struct pw_ep *ep)
{
	cidr_delete_stale(a->bpf.cidr4_fd, PW_FAMILY_V4, ep->ep_id, NULL);
	cidr_delete_stale(a->bpf.cidr6_fd, PW_FAMILY_V6, ep->ep_id, NULL);
	learned_delete_all(a, ep->ep_id);
	flows_delete_ep(a, ep->ep_id);
	bpf_map_delete_elem(a->bpf.ep_stats_fd, &ep->ep_id);
	bpf_map_delete_elem(a->bpf.ep_rl_fd, &ep->ep_id);
	ep->managed = false;
}

int pw_sync_remove_ep(struct pw_agent *a, struct pw_ep *ep)
{
	/* The endpoint entry goes first: the pod is unmanaged before its rules go. */
	if (bpf_map_delete_elem(a->bpf.endpoints_fd, &ep->ifindex) && errno != ENOENT)
		pw_warn("pw_endpoints: cannot delete ifindex %u: %s", ep->ifindex, strerror(errno));
	rules_remove(a, ep);
	return 0;
}

int pw_sync_ep(struct pw_agent *a, struct pw_ep *ep)
{
	struct pw_compiled c = {};
	char err[PW_ERR_LEN] = "";
	int ret;

	ret = pw_compile(a->pols, a->n_pols, ep->namespace, &ep->labels, &c, err, sizeof(err));
	if (ret) {
		char pod[300];

		pw_err("%s: cannot compile its policies, keeping the previous rules: %s",
		       pw_ep_pod(ep, pod, sizeof(pod)), err);
		free(ep->compile_error);
		ep->compile_error = strdup(err);
		a->st.compile_errors++;
		return ret;
	}
	if (!c.selected) {
		bool was = ep->managed;

		/* Open first (allow-all, sources still checked), then drop the rules. */
		ret = endpoint_write(a, ep, PW_MODE_OPEN);
		if (ret) {
			pw_compiled_free(&c);
			return ret;
		}
		if (was)
			rules_remove(a, ep);
		pw_compiled_free(&ep->compiled);
		ep->compiled = c;
		pw_ep_forget_names(ep);
		free(ep->compile_error);
		ep->compile_error = NULL;
		return 0;
	}
	/* New rules in, stale rules out, then the endpoint (its generation bump
	 * sends established flows back through the new rules). */
	ret = cidr_write(a, ep, &c);
	if (ret)
		goto fail;
	cidr_delete_stale(a->bpf.cidr4_fd, PW_FAMILY_V4, ep->ep_id, &c);
	cidr_delete_stale(a->bpf.cidr6_fd, PW_FAMILY_V6, ep->ep_id, &c);
	pw_compiled_free(&ep->compiled);
	ep->compiled = c;
	ret = learned_resync(a, ep);
	if (ret)
		pw_warn("endpoint %u: learned entries not fully rewritten: %s", ep->ep_id,
			strerror(-ret));
	ret = endpoint_write(a, ep, ep->compiled.mode);
	if (ret)
		return ret;
	free(ep->compile_error);
	ep->compile_error = NULL;
	return 0;
fail:
	snprintf(err, sizeof(err), "cannot write rules to the maps: %s", strerror(-ret));
	free(ep->compile_error);
	ep->compile_error = strdup(err);
	pw_compiled_free(&c);
	/* Entries already written grant a subset of the new policy; put back the
	 * old endpoint's rules to be exact. */
	if (cidr_write(a, ep, &ep->compiled) == 0) {
		cidr_delete_stale(a->bpf.cidr4_fd, PW_FAMILY_V4, ep->ep_id, &ep->compiled);
		cidr_delete_stale(a->bpf.cidr6_fd, PW_FAMILY_V6, ep->ep_id, &ep->compiled);
	}
	return ret;
}

int pw_sync_all(struct pw_agent *a)
{
	int ret = 0;

	for (struct pw_ep *ep = a->eps; ep; ep = ep->next) {
		int err = pw_sync_ep(a, ep);

		if (err && !ret)
			ret = err;
	}
	pw_sync_gc(a, pw_now_ns());
	return ret;
}

int pw_sync_resolvers(struct pw_agent *a)
{
	struct pw_addr_key want[PW_MAX_RESOLVER_ARGS] = {}, key, next, *pk = NULL;
	struct pw_addr_key victims[PW_MAX_RESOLVERS];
	size_t n_victims = 0;
	uint32_t one = 1;

	for (int i = 0; i < a->o.n_resolvers; i++) {
		if (pw_ip_parse(a->o.resolvers[i], &want[i].family, &want[i].addr)) {
			pw_err("--resolver %s: not an IPv4 or IPv6 address", a->o.resolvers[i]);
			return -EINVAL;
		}
		if (bpf_map_update_elem(a->bpf.resolvers_fd, &want[i], &one, BPF_ANY)) {
			pw_err("pw_resolvers: cannot add %s: %s", a->o.resolvers[i], strerror(errno));
			return -errno;
		}
	}
	while (!bpf_map_get_next_key(a->bpf.resolvers_fd, pk, &next) &&
	       n_victims < PW_MAX_RESOLVERS) {
		bool keep = false;

		key = next;
		pk = &key;
		for (int i = 0; i < a->o.n_resolvers; i++)
			keep |= !memcmp(&want[i], &key, sizeof(key));
		if (!keep)
			victims[n_victims++] = key;
	}
	for (size_t i = 0; i < n_victims; i++)
		bpf_map_delete_elem(a->bpf.resolvers_fd, &victims[i]);
	return 0;
}

/* ---- garbage collection ---- */

static void gc_learned(struct pw_agent *a, uint64_t now)
{
	uint64_t grace = (uint64_t)a->o.learned_grace * 1000000000ULL;
	struct pw_learned_key key, next, *pk = NULL, *victims = NULL;
	size_t n = 0;

	for (struct pw_ep *ep = a->eps; ep; ep = ep->next)
		if (now > grace)
			pw_ep_expire(ep, now - grace);
	while (!bpf_map_get_next_key(a->bpf.learned_fd, pk, &next)) {
		struct pw_learned_val v;
		struct pw_ep *ep;

		key = next;
		pk = &key;
		if (bpf_map_lookup_elem(a->bpf.learned_fd, &key, &v))
			continue;
		ep = pw_agent_ep_by_id(a, key.ep_id);
		if (ep && ep->managed && v.expires_ns + grace > now)
			continue;
		struct pw_learned_key *nv = realloc(victims, (n + 1) * sizeof(*nv));

		if (!nv)
			break;
		victims = nv;
		victims[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(a->bpf.learned_fd, &victims[i]);
	free(victims);
}

static void gc_flows(struct pw_agent *a, uint64_t now)
{
	struct pw_flow_key key, next, *pk = NULL, *victims = NULL;
	size_t n = 0;

	while (!bpf_map_get_next_key(a->bpf.flows_fd, pk, &next)) {
		struct pw_flow_val v;
		uint64_t idle;

		key = next;
		pk = &key;
		if (bpf_map_lookup_elem(a->bpf.flows_fd, &key, &v))
			continue;
		idle = key.proto == 6 ? a->o.flow_idle_tcp : a->o.flow_idle_other;
		if (pw_agent_ep_by_id(a, key.ep_id) && v.last_seen_ns + idle * 1000000000ULL > now)
			continue;
		struct pw_flow_key *nv = realloc(victims, (n + 1) * sizeof(*nv));

		if (!nv)
			break;
		victims = nv;
		victims[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(a->bpf.flows_fd, &victims[i]);
	free(victims);
}

static void gc_pending(struct pw_agent *a, uint64_t now)
{
	struct pw_dns_pend_key key, next, *pk = NULL, *victims = NULL;
	size_t n = 0;

	while (!bpf_map_get_next_key(a->bpf.dns_pend_fd, pk, &next)) {
		struct pw_dns_pend_val v;

		key = next;
		pk = &key;
		if (bpf_map_lookup_elem(a->bpf.dns_pend_fd, &key, &v) ||
		    v.sent_ns + 30000000000ULL > now)
			continue;
		struct pw_dns_pend_key *nv = realloc(victims, (n + 1) * sizeof(*nv));

		if (!nv)
			break;
		victims = nv;
		victims[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(a->bpf.dns_pend_fd, &victims[i]);
	free(victims);
}

static void mark_used(struct pw_agent *a, uint8_t *used, uint32_t id)
{
	for (size_t i = 0; i < a->n_portsets; i++)
		if (a->portsets[i].id == id)
			used[i] = 1;
}

/* Mark and sweep: a port set no map entry references is deleted. */
static void gc_portsets(struct pw_agent *a)
{
	uint8_t *used = calloc(a->n_portsets ? a->n_portsets : 1, 1);
	size_t out = 0;

	if (!used)
		return;
	{
		struct pw_cidr6_key k, nk;
		struct pw_cidr4_key k4, nk4;
		struct pw_learned_key lk, nlk;
		struct pw_cidr_val cv;
		struct pw_learned_val lv;
		void *pk = NULL;

		while (!bpf_map_get_next_key(a->bpf.cidr4_fd, pk, &nk4)) {
			k4 = nk4;
			pk = &k4;
			if (!bpf_map_lookup_elem(a->bpf.cidr4_fd, &k4, &cv))
				mark_used(a, used, cv.portset);
		}
		pk = NULL;
		while (!bpf_map_get_next_key(a->bpf.cidr6_fd, pk, &nk)) {
			k = nk;
			pk = &k;
			if (!bpf_map_lookup_elem(a->bpf.cidr6_fd, &k, &cv))
				mark_used(a, used, cv.portset);
		}
		pk = NULL;
		while (!bpf_map_get_next_key(a->bpf.learned_fd, pk, &nlk)) {
			lk = nlk;
			pk = &lk;
			if (!bpf_map_lookup_elem(a->bpf.learned_fd, &lk, &lv))
				mark_used(a, used, lv.portset);
		}
	}
	for (size_t i = 0; i < a->n_portsets; i++) {
		if (!used[i]) {
			bpf_map_delete_elem(a->bpf.ports_fd, &a->portsets[i].id);
			continue;
		}
		a->portsets[out++] = a->portsets[i];
	}
	a->n_portsets = out;
	free(used);
}

void pw_sync_gc(struct pw_agent *a, uint64_t now)
{
	gc_learned(a, now);
	gc_flows(a, now);
	gc_pending(a, now);
	gc_portsets(a);
	a->last_gc_ns = now;
}

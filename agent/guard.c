// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The rebinding guard, agent side: one table (lib/core/guard.c) built from the
 * defaults, the options, the node's own interface addresses and (Kubernetes
 * mode) what the API says, written whole into pw_guard4 / pw_guard6 so that the
 * kernel's learner refuses exactly what this one refuses.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "agent_int.h"
#include "guard.h"
#include "ipaddr.h"
#include "log.h"

/* Every address of every interface of the node's network namespace: the bridge,
 * the uplink, tunnels. Loopback and link-local are never learned anyway. */
static int add_node_interfaces(struct pw_guard *g)
{
	struct ifaddrs *ifa = NULL;
	int err = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (struct ifaddrs *i = ifa; i && !err; i = i->ifa_next) {
		union pw_ip ip = {0};
		char source[64];

		if (!i->ifa_addr)
			continue;
		snprintf(source, sizeof(source), "interface:%s", i->ifa_name);
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(&ip.v4, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			err = pw_guard_add_from(g, PW_FAMILY_V4, &ip, 32, PW_G_NODE, source);
			if (!err && i->ifa_broadaddr && (i->ifa_flags & 0x2 /* IFF_BROADCAST */)) {
				memcpy(&ip.v4, &((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr,
				       4);
				err = pw_guard_add_from(g, PW_FAMILY_V4, &ip, 32, PW_G_NODE,
							source);
			}
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			memcpy(ip.v6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			/* link-local (every veth has one) is never learned anyway */
			if (!pw_ip_is_special(PW_FAMILY_V6, &ip))
				err = pw_guard_add_from(g, PW_FAMILY_V6, &ip, 128, PW_G_NODE,
							source);
		}
	}
	freeifaddrs(ifa);
	return err;
}

struct pinned_ctx {
	struct pw_guard *g;
	uint8_t family;
	size_t n;
	int err;
};

static bool keep_pinned(const void *key, const void *value, void *ctx)
{
	struct pinned_ctx *c = ctx;
	const struct pw_guard_val *v = value;
	union pw_ip ip = {0};
	uint32_t plen;
	size_t before = c->g->n;
	int err;

	if (v->kind == PW_G_EXEMPT)
		return false; /* an exemption waits for the new table */
	if (c->family == PW_FAMILY_V4) {
		plen = ((const struct pw_guard4_key *)key)->prefixlen;
		memcpy(&ip.v4, ((const struct pw_guard4_key *)key)->addr, 4);
	} else {
		plen = ((const struct pw_guard6_key *)key)->prefixlen;
		memcpy(ip.v6, ((const struct pw_guard6_key *)key)->addr, 16);
	}
	err = pw_guard_add_from(c->g, c->family, &ip, (uint8_t)plen, (uint8_t)v->kind,
				"pinned (until the first API sync)");
	if (err == -ENOMEM)
		c->err = err;
	c->n += c->g->n - before;
	return false; /* keep it */
}

/*
 * Kubernetes mode before the first full sync: the cluster's ranges are not
 * known yet, but the pinned maps still hold the last run's. Keep them (in the
 * table, so neither learner forgets them) until the API says what they are now.
 */
static int add_pinned(struct pw_agent *a, struct pw_guard *g)
{
	struct pinned_ctx c4 = {.g = g, .family = PW_FAMILY_V4};
	struct pinned_ctx c6 = {.g = g, .family = PW_FAMILY_V6};

	pw_map_sweep_guard4(a->maps, keep_pinned, &c4, NULL);
	pw_map_sweep_guard6(a->maps, keep_pinned, &c6, NULL);
	a->guard_kept = c4.n + c6.n;
	return c4.err ? c4.err : c6.err;
}

/* The operator named the service CIDR: no guessing from the ClusterIP. */
static bool service_cidr_given(const struct pw_agent *a)
{
	for (int i = 0; i < a->o.n_guard; i++)
		if (a->o.guard[i].kind == PW_G_SERVICE)
			return true;
	return false;
}

/* Order matters only for what `podwall status` names as a prefix's source:
 * the first to add a prefix keeps it. */
static int build(struct pw_agent *a, struct pw_guard *g, size_t *skipped)
{
	const char *why;
	int err;

	err = pw_guard_add_defaults(g);
	for (int i = 0; !err && i < a->o.n_guard; i++) {
		err = pw_guard_add_str_from(g, a->o.guard[i].prefix, a->o.guard[i].kind, "option",
					    &why);
		if (err)
			pw_err("rebinding guard: %s: %s", a->o.guard[i].prefix, why);
	}
	if (!err)
		err = pw_kube_guard(&a->kube, g, !service_cidr_given(a), skipped);
	if (!err)
		err = add_node_interfaces(g);
	a->guard_kept = 0;
	if (!err && a->o.k8s && !a->kube.synced)
		err = add_pinned(a, g);
	return err;
}

struct guard_sweep {
	const struct pw_guard *g;
	uint8_t family;
};

static bool guard_stale(const void *key, const void *value, void *ctx)
{
	const struct guard_sweep *s = ctx;
	union pw_ip ip = {0};
	uint32_t plen;

	if (s->family == PW_FAMILY_V4) {
		const struct pw_guard4_key *k = key;

		plen = k->prefixlen;
		memcpy(&ip.v4, k->addr, 4);
	} else {
		const struct pw_guard6_key *k = key;

		plen = k->prefixlen;
		memcpy(ip.v6, k->addr, 16);
	}
	for (size_t i = 0; i < s->g->n; i++) {
		const struct pw_guard_prefix *p = &s->g->v[i];

		if (p->family == s->family && p->prefix == plen &&
		    !memcmp(&p->addr, &ip, sizeof(ip)))
			return false;
	}
	return true;
}

static int write_maps(struct pw_agent *a, const struct pw_guard *g)
{
	struct guard_sweep s4 = {.g = g, .family = PW_FAMILY_V4};
	struct guard_sweep s6 = {.g = g, .family = PW_FAMILY_V6};
	char buf[PW_IP_STRLEN];

	/* New and changed entries first, then the stale ones: never a moment
	 * in which an address guarded before and after is unguarded. */
	for (size_t i = 0; i < g->n; i++) {
		const struct pw_guard_prefix *p = &g->v[i];
		struct pw_guard_val v = {.kind = p->kind};
		int err;

		if (p->family == PW_FAMILY_V4) {
			struct pw_guard4_key k = {.prefixlen = p->prefix};

			memcpy(k.addr, &p->addr.v4, 4);
			err = pw_map_put_guard4(a->maps, &k, &v, PW_MAP_ANY);
		} else {
			struct pw_guard6_key k = {.prefixlen = p->prefix};

			memcpy(k.addr, p->addr.v6, 16);
			err = pw_map_put_guard6(a->maps, &k, &v, PW_MAP_ANY);
		}
		if (err) {
			pw_err("pw_guard%c: cannot write %s/%u: %s",
			       p->family == PW_FAMILY_V4 ? '4' : '6',
			       pw_ip_str(p->family, &p->addr, buf), p->prefix, strerror(-err));
			return err;
		}
	}
	pw_map_sweep_guard4(a->maps, guard_stale, &s4, NULL);
	pw_map_sweep_guard6(a->maps, guard_stale, &s6, NULL);
	return 0;
}

static size_t count_api(const struct pw_guard *g)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n; i++)
		n += g->v[i].source && !strncmp(g->v[i].source, "api:", 4);
	return n;
}

int pw_guard_sync(struct pw_agent *a)
{
	struct pw_guard g = {0};
	size_t skipped = 0;
	int err;

	err = build(a, &g, &skipped);
	if (err == -E2BIG)
		pw_err("rebinding guard: more than %d prefixes of one family", PW_MAX_GUARD);
	if (!err && skipped != a->guard_skipped && skipped)
		pw_warn("rebinding guard: %zu prefixes from the API left out (malformed, or more "
			"than %d of one family)",
			skipped, PW_MAX_GUARD);
	if (!err)
		a->guard_skipped = skipped;
	if (!err && a->guard_written && pw_guard_equal(&g, &a->guard))
		goto out;
	if (!err && pw_guard_index(&g))
		pw_warn("rebinding guard: no memory for the lookup index (scanning instead)");
	if (!err)
		err = write_maps(a, &g);
	if (!err) {
		pw_guard_free(&a->guard);
		a->guard = g;
		memset(&g, 0, sizeof(g));
		a->guard_written = true;
		pw_debug("rebinding guard: %zu prefixes", a->guard.n);
		if (a->o.k8s)
			pw_info("rebinding guard: %zu prefixes (%zu from the API)", a->guard.n,
				count_api(&a->guard));
	}
out:
	pw_guard_free(&g);
	return err;
}

uint8_t pw_guard_refuses(const struct pw_agent *a, const char *qname, uint8_t family,
			 const union pw_ip *addr)
{
	if (pw_guard_cluster_name(qname, a->o.cluster_domain))
		return PW_G_EXEMPT;
	return pw_guard_match(&a->guard, family, addr);
}

json_t *pw_guard_json(const struct pw_agent *a)
{
	json_t *list = json_array();
	char buf[PW_IP_STRLEN + 8];

	for (size_t i = 0; list && i < a->guard.n; i++) {
		const struct pw_guard_prefix *p = &a->guard.v[i];
		char ip[PW_IP_STRLEN];

		snprintf(buf, sizeof(buf), "%s/%u", pw_ip_str(p->family, &p->addr, ip), p->prefix);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "prefix", buf, "kind",
						      pw_guard_kind_name(p->kind), "source",
						      p->source ? p->source : "?"));
	}
	return json_pack("{s:I,s:I,s:I,s:o}", "total", (json_int_t)a->guard.n, "api_skipped",
			 (json_int_t)a->guard_skipped, "kept_until_sync", (json_int_t)a->guard_kept,
			 "prefixes", list ? list : json_array());
}

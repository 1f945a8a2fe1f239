// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sync: write what compile decided into the maps, in an order that never opens
 * a window: new entries first, then stale ones removed, then the endpoint
 * entry (whose policy_gen bump makes established flows re-check the new rules).
 */
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"
#include "fqdn.h"
#include "ipaddr.h"
#include "log.h"

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

struct cidr_sweep {
	uint8_t family;
	uint32_t ep_id;
	const struct pw_compiled *keep; /* NULL: delete all of the endpoint's */
};

/* Is key one of this endpoint's prefixes that keep does not want? */
static bool cidr_stale(const void *key, const void *value, void *ctx)
{
	const struct cidr_sweep *cs = ctx;
	const struct pw_cidr4_key *k4 = key; /* ep_id sits at the same offset in both */
	struct cidr_key want;

	if (k4->ep_id != cs->ep_id)
		return false;
	for (size_t i = 0; cs->keep && i < cs->keep->n_cidrs; i++) {
		if (cs->keep->cidrs[i].family != cs->family)
			continue;
		cidr_key_make(&want, cs->ep_id, &cs->keep->cidrs[i]);
		if (cs->family == PW_FAMILY_V4 ? !memcmp(&want.k4, key, sizeof(want.k4))
					       : !memcmp(&want.k6, key, sizeof(want.k6)))
			return false;
	}
	return true;
}

/* Delete this endpoint's entries of one LPM map that c does not want
 * (c == NULL: all of them). */
static void cidr_delete_stale(struct pw_maps *m, uint8_t family, uint32_t ep_id,
			      const struct pw_compiled *c)
{
	struct cidr_sweep cs = {.family = family, .ep_id = ep_id, .keep = c};

	if (family == PW_FAMILY_V4)
		pw_map_sweep_cidr4(m, cidr_stale, &cs, NULL);
	else
		pw_map_sweep_cidr6(m, cidr_stale, &cs, NULL);
}

static int cidr_write(struct pw_agent *a, struct pw_ep *ep, const struct pw_compiled *c)
{
	for (size_t i = 0; i < c->n_cidrs; i++) {
		struct pw_cidr_val v = {};
		struct cidr_key k;
		int err;

		err = pw_portsets_id(&a->portsets, a->maps, &c->cidrs[i].ports, &v.portset);
		if (err)
			return err;
		cidr_key_make(&k, ep->ep_id, &c->cidrs[i]);
		err = k.family == PW_FAMILY_V4 ? pw_map_put_cidr4(a->maps, &k.k4, &v, PW_MAP_ANY)
					       : pw_map_put_cidr6(a->maps, &k.k6, &v, PW_MAP_ANY);
		if (err) {
			pw_err("pw_cidr%c: cannot write rule for endpoint %u: %s (map holds %d)",
			       k.family == PW_FAMILY_V4 ? '4' : '6', ep->ep_id, strerror(-err),
			       PW_MAX_CIDR);
			return err;
		}
	}
	return 0;
}

/* ---- the name table ---- */

static void name_key_make(struct pw_name_key *k, uint32_t ep_id, const struct pw_name_entry *n)
{
	memset(k, 0, sizeof(*k));
	k->ep_id = ep_id;
	k->kind = n->kind;
	k->hash = pw_fqdn_hash(n->text);
}

struct names_sweep {
	uint32_t ep_id;
	const struct pw_compiled *keep; /* NULL: delete all of the endpoint's */
};

static bool name_stale(const void *key, const void *value, void *ctx)
{
	const struct pw_name_key *k = key;
	const struct names_sweep *ns = ctx;
	struct pw_name_key want;

	if (k->ep_id != ns->ep_id)
		return false;
	for (size_t i = 0; ns->keep && i < ns->keep->n_names; i++) {
		name_key_make(&want, ns->ep_id, &ns->keep->names[i]);
		if (!memcmp(&want, k, sizeof(want)))
			return false;
	}
	return true;
}

static void names_delete_stale(struct pw_agent *a, uint32_t ep_id, const struct pw_compiled *c)
{
	struct names_sweep ns = {.ep_id = ep_id, .keep = c};

	pw_map_sweep_names(a->maps, name_stale, &ns, NULL);
}

/*
 * What the kernel learner takes from a name entry with PW_NAME_F_CONNECT: the
 * portset of the union of the ports of the toFQDNs rules with exactly this
 * pattern (as learned entries' portsets are made), and PW_NAME_F_PRIVATE when
 * every one of them has allowPrivate (their private ports are all their
 * ports). Mixed rules: no PW_NAME_F_PRIVATE, so a guarded address is left to
 * the agent, which takes only the private rules' ports for it.
 */
static int name_entry_ports(struct pw_agent *a, const struct pw_compiled *c,
			    const struct pw_name_entry *n, struct pw_name_val *v)
{
	bool private;
	const struct pw_fqdn_entry *f = pw_compiled_name_fqdn(c, n, &private);

	if (!f)
		return 0;
	if (private)
		v->flags |= PW_NAME_F_PRIVATE;
	return pw_portsets_id(&a->portsets, a->maps, &f->ports, &v->portset);
}

/* The names the endpoint may resolve. Two entries with one key (a hash
 * collision) keep the first: the other name is refused, never granted. */
static int names_write(struct pw_agent *a, struct pw_ep *ep, const struct pw_compiled *c)
{
	for (size_t i = 0; i < c->n_names; i++) {
		const struct pw_name_entry *n = &c->names[i];
		struct pw_name_val v = {.flags = n->flags};
		struct pw_name_key k;
		size_t len = strlen(n->text);
		int err;

		if (len > PW_NAME_TEXT_MAX)
			continue; /* the policy decoder refuses these */
		if ((n->flags & PW_NAME_F_CONNECT) && (err = name_entry_ports(a, c, n, &v)))
			return err;
		name_key_make(&k, ep->ep_id, n);
		v.len = (uint8_t)len;
		memcpy(v.text, n->text, len);
		err = pw_map_put_names(a->maps, &k, &v, PW_MAP_ANY);
		if (err) {
			pw_err("pw_names: cannot write name %s for endpoint %u: %s (map holds %d)",
			       n->text, ep->ep_id, strerror(-err), PW_MAX_NAMES);
			return err;
		}
	}
	return 0;
}

/* How the endpoint's queries are filtered; written after its names. */
static int ep_dns_write(struct pw_agent *a, struct pw_ep *ep, const struct pw_compiled *c)
{
	struct pw_ep_dns v = {};
	int err;

	if (c->dns_any_name)
		v.flags |= PW_EPDNS_ANY_NAME;
	if (c->dns_nxdomain)
		v.flags |= PW_EPDNS_NXDOMAIN;
	/* The kernel learner does not read ClusterEgressPolicy deny ranges: the
	 * agent learns every answer of such a pod (pw_compiled_denies). */
	if (c->n_deny)
		v.flags |= PW_EPDNS_HOLD_ONLY;
	for (size_t i = 0; i < c->n_names; i++)
		v.flags |= c->names[i].kind == PW_NK_ONE    ? PW_EPDNS_HAS_ONE
			   : c->names[i].kind == PW_NK_MANY ? PW_EPDNS_HAS_MANY
							    : 0;
	err = pw_map_put_ep_dns(a->maps, &ep->ep_id, &v, PW_MAP_ANY);
	if (err) {
		pw_err("pw_ep_dns: cannot write endpoint %u: %s", ep->ep_id, strerror(-err));
		return err;
	}
	return 0;
}

/* Search suffixes: a name under one that no rule grants is answered
 * NXDOMAIN, so that the client goes on to its next search domain. */
static int names_add_search(struct pw_agent *a, struct pw_compiled *c)
{
	char pat[PW_FQDN_MAX + 4], norm[PW_FQDN_MAX + 1];
	const char *why;

	for (int i = 0; i < a->o.n_search_domains; i++) {
		if (pw_fqdn_normalize(a->o.search_domains[i], norm, &why))
			continue; /* main refuses these */
		snprintf(pat, sizeof(pat), "**.%s", norm);
		if (pw_compiled_add_name(c, pat, PW_NAME_F_SEARCH))
			return -ENOMEM;
	}
	return 0;
}

/* ---- learned entries ---- */

/* What the kernel entry for (ep, addr) must be: the union of the ports of the
 * rules matching every name that resolved to addr, and the latest expiry. */
/* The ports the rules grant a learned name: cached per name (the rules are
 * matched once per name, not once per address), one of the endpoint's shared
 * sets, so names of one rule have the same pointer. Computed into scratch
 * (and returned there) only when no memory is left to share it. NULL: no
 * rule matches. */
static const struct pw_range_set *name_ports(struct pw_ep *ep, const struct pw_compiled *c,
					     struct pw_learned_name *n,
					     struct pw_range_set *scratch)
{
	if (!n->ports) {
		if (pw_compiled_fqdn_ports(c, n->name, scratch) <= 0)
			return NULL;
		n->ports = pw_ep_ports_share(ep, scratch);
		return n->ports ? n->ports : scratch;
	}
	return n->ports;
}

static bool rangeset_same(const struct pw_range_set *x, const struct pw_range_set *y)
{
	if (x->n != y->n)
		return false;
	for (uint32_t i = 0; i < x->n; i++)
		if (x->r[i].lo != y->r[i].lo || x->r[i].hi != y->r[i].hi ||
		    x->r[i].proto != y->r[i].proto)
			return false;
	return true;
}

static int learned_value(struct pw_agent *a, struct pw_ep *ep, const struct pw_compiled *c,
			 uint8_t family, const union pw_ip *ip, struct pw_learned_val *out)
{
	struct pw_range_set ports = {}, last = {}, scratch;
	const struct pw_range_set *lastp = NULL; /* a shared set last added */
	uint64_t expires = 0;
	bool any = false, guarded;

	/* The rebinding guard's verdict on the address, once: only its
	 * cluster-domain exemption depends on the name (pw_guard_refuses). */
	guarded = pw_guard_match(&a->guard, family, ip) != PW_G_EXEMPT;
	for (size_t i = 0; i < ep->n_names; i++) {
		struct pw_learned_name *n = &ep->names[i];
		const struct pw_range_set *np;

		for (size_t j = 0; j < n->n_addrs; j++) {
			if (n->addrs[j].family != family ||
			    memcmp(&n->addrs[j].ip, ip, sizeof(*ip)))
				continue;
			if (guarded && !pw_guard_cluster_name(n->name, a->o.cluster_domain)) {
				/* rebinding guard: only rules with allowPrivate count */
				if (pw_compiled_fqdn_ports_private(c, n->name, &scratch) <= 0)
					break;
				np = &scratch;
			} else if (!(np = name_ports(ep, c, n, &scratch))) {
				break;
			}
			/* Names of one rule share its ports (one pointer, a
			 * compare for each of many names of one address): one
			 * union for them. */
			if (!any || (np != lastp && !rangeset_same(np, &last))) {
				if (pw_rangeset_union(&ports, np))
					return -E2BIG;
				last = *np;
			}
			lastp = np == &scratch ? NULL : np;
			if (pw_learned_expires_ns(&n->addrs[j]) > expires)
				expires = pw_learned_expires_ns(&n->addrs[j]);
			any = true;
			break;
		}
	}
	/* a cluster deny: no hostname rule re-opens the ports it denies */
	if (any && pw_compiled_deny_subtract(c, family, ip, &ports))
		return -E2BIG;
	if (!any || !ports.n)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->expires_ns = expires;
	return pw_portsets_id(&a->portsets, a->maps, &ports, &out->portset);
}

int pw_sync_learned_addr_if(struct pw_agent *a, struct pw_ep *ep, uint8_t family,
			    const union pw_ip *ip, const struct pw_learned_val *have,
			    uint64_t have_ns)
{
	struct pw_learned_key k = {.ep_id = ep->ep_id, .family = family, .addr = *ip};
	struct pw_learned_val v;
	int err;

	err = learned_value(a, ep, &ep->compiled, family, ip, &v);
	if (err == -ENOENT) {
		err = pw_map_del_learned(a->maps, &k);
		a->learned_wr_ns = pw_now_ns();
		return err == -ENOENT ? 0 : err;
	}
	if (err)
		return err;
	/* The kernel wrote have after the agent's last write: it stands. */
	if (have && have_ns > a->learned_wr_ns && have->expires_ns == v.expires_ns &&
	    have->portset == v.portset)
		return 1;
	/* The same answer again (a repeat within the second expiry counts in, a
	 * caching resolver's countdown): the entry already says it. A lookup is
	 * cheaper than an update, and it does not reset the LRU order of the
	 * others. */
	if (!have) {
		struct pw_learned_val cur;

		if (!pw_map_get_learned(a->maps, &k, &cur) && !memcmp(&cur, &v, sizeof(v)))
			return 1;
	}
	err = pw_map_put_learned(a->maps, &k, &v, PW_MAP_ANY);
	a->learned_wr_ns = pw_now_ns();
	return err;
}

int pw_sync_learned_addr(struct pw_agent *a, struct pw_ep *ep, uint8_t family,
			 const union pw_ip *ip)
{
	int err = pw_sync_learned_addr_if(a, ep, family, ip, NULL, 0);

	return err > 0 ? 0 : err;
}

/* Drop names no rule allows any more; rewrite the endpoint's learned entries. */
/* A learned entry of this endpoint for an address none of its names has. */
static bool learned_unknown(const void *key, const void *value, void *ctx)
{
	const struct pw_learned_key *k = key;
	const struct pw_ep *ep = ctx;

	if (k->ep_id != ep->ep_id)
		return false;
	for (size_t i = 0; i < ep->n_names; i++)
		for (size_t j = 0; j < ep->names[i].n_addrs; j++)
			if (ep->names[i].addrs[j].family == k->family &&
			    !memcmp(&ep->names[i].addrs[j].ip, &k->addr, sizeof(k->addr)))
				return false;
	return true;
}

static int learned_resync(struct pw_agent *a, struct pw_ep *ep)
{
	size_t out = 0;
	int ret = 0;

	pw_ep_ports_reset(ep); /* the rules changed */
	for (size_t i = 0; i < ep->n_names; i++) {
		struct pw_range_set scratch;

		if (name_ports(ep, &ep->compiled, &ep->names[i], &scratch)) {
			ep->names[out++] = ep->names[i];
			continue;
		}
		free(ep->names[i].name);
		free(ep->names[i].addrs);
	}
	if (ep->n_names != out) {
		ep->n_names = out;
		pw_ep_count_addrs(ep);
	}

	/* Entries in the map this endpoint no longer wants. Entries the agent has
	 * no name for (learned just before a crash, not yet saved) expire on their
	 * own while the endpoint has hostname rules at all. A new endpoint has
	 * none: no walk of the whole map for it. */
	if (!ep->compiled.n_fqdns && ep->may_have_learned) {
		/* What the kernel learned first: its record may name this
		 * endpoint (and be put back or deleted with the new rules). */
		pw_learnlog_drain(a);
		if (pw_map_sweep_learned(a->maps, learned_unknown, ep, NULL) >= 0 && !ep->n_names)
			ep->may_have_learned = false;
		a->learned_wr_ns = pw_now_ns();
	}

	for (size_t i = 0; i < ep->n_names && !ret; i++)
		for (size_t j = 0; j < ep->names[i].n_addrs && !ret; j++)
			ret = pw_sync_learned_addr(a, ep, ep->names[i].addrs[j].family,
						   &ep->names[i].addrs[j].ip);
	return ret;
}

/* Keys of pw_learned, pw_flows, pw_dns_pend and pw_dns_tcp all start with the endpoint id. */
static bool of_endpoint(const void *key, const void *value, void *ctx)
{
	return *(const uint32_t *)key == *(const uint32_t *)ctx;
}

static void ep_entries_delete(struct pw_maps *m, enum pw_map_id id, uint32_t ep_id)
{
	m->ops->sweep(m, id, of_endpoint, &ep_id, NULL);
}

/* ---- endpoints ---- */

/* Write the endpoint entry: PW_MODE_OPEN for a pod no policy selects. */
/* The MAC of an interface of the agent's network namespace (SIOCGIFHWADDR:
 * sysfs may belong to another namespace). Zero if unknown. */
static void if_mac(const char *ifname, uint8_t out[6])
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(out, 0, 6);
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!ioctl(fd, SIOCGIFHWADDR, &ifr) && ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER)
		memcpy(out, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* IFLA_MASTER of ifindex (the bridge it is a port of), 0 if none. */
static unsigned int if_master(unsigned int ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = {.nlmsg_len = sizeof(req),
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST},
		.ifi = {.ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex},
	};
	char buf[8192];
	unsigned int master = 0;
	struct timeval tv = {.tv_sec = 1};
	ssize_t n;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &req, sizeof(req), 0) < 0)
		goto out;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0)
		goto out;
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
	     nh = NLMSG_NEXT(nh, n)) {
		struct ifinfomsg *ifi = NLMSG_DATA(nh);
		int len = (int)IFLA_PAYLOAD(nh);

		if (nh->nlmsg_type != RTM_NEWLINK)
			break;
		for (struct rtattr *rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
			if (rta->rta_type == IFLA_MASTER && RTA_PAYLOAD(rta) >= sizeof(__u32))
				memcpy(&master, RTA_DATA(rta), sizeof(master));
	}
out:
	close(fd);
	return master;
}

/* The node side of the pod's link: the bridge the host veth is a port of (its
 * MAC is the pods' gateway) and the host veth itself. */
void pw_sync_node_macs(const char *host_ifname, uint8_t node_mac[6], uint8_t veth_mac[6])
{
	unsigned int master = if_master(if_nametoindex(host_ifname));
	char name[IF_NAMESIZE];

	memset(node_mac, 0, 6);
	if (master && if_indextoname(master, name))
		if_mac(name, node_mac);
	if_mac(host_ifname, veth_mac);
}

uint8_t pw_sync_ep_flags(const struct pw_ep *ep, uint8_t mode)
{
	uint8_t f = ep->flags;

	if (mode != PW_MODE_OPEN && (ep->compiled.visibility & PW_VIS_ALLOWED))
		f |= PW_EP_VIS_ALLOWED;
	return f;
}

static int endpoint_write(struct pw_agent *a, struct pw_ep *ep, uint8_t mode)
{
	struct pw_endpoint v = {
		.ep_id = ep->ep_id,
		.policy_gen = ep->policy_gen + 1,
		.mode = mode,
		.flags = pw_sync_ep_flags(ep, mode),
		/* audit never rejects (it passes); open pods are not denied */
		.deny_action = mode == PW_MODE_ENFORCE ? ep->compiled.deny_action : PW_DENY_DROP,
	};
	int err;

	memcpy(v.ip4, &ep->ip4, 4);
	memcpy(v.ip6, ep->ip6, 16);
	memcpy(v.mac, ep->mac, 6);
	pw_sync_node_macs(ep->host_ifname, v.node_mac, v.veth_mac);
	if (!ep->managed && mode != PW_MODE_OPEN) {
		/* Per-pod counters exist before the first packet is governed. */
		const struct pw_ep_stats zero = {0};

		pw_map_put_ep_stats(a->maps, &ep->ep_id, &zero, PW_MAP_NOEXIST);
	}
	err = pw_map_put_endpoints(a->maps, &ep->ifindex, &v, PW_MAP_ANY);
	if (err) {
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
	cidr_delete_stale(a->maps, PW_FAMILY_V4, ep->ep_id, NULL);
	cidr_delete_stale(a->maps, PW_FAMILY_V6, ep->ep_id, NULL);
	ep_entries_delete(a->maps, PW_MAPID_learned, ep->ep_id);
	a->learned_wr_ns = pw_now_ns();
	ep_entries_delete(a->maps, PW_MAPID_flows, ep->ep_id);
	ep_entries_delete(a->maps, PW_MAPID_dns_pend, ep->ep_id);
	ep_entries_delete(a->maps, PW_MAPID_dns_tcp, ep->ep_id);
	pw_map_del_ep_dns(a->maps, &ep->ep_id);
	pw_map_del_ep_budget(a->maps, &ep->ep_id);
	pw_map_del_ep_query(a->maps, &ep->ep_id);
	pw_map_del_ep_reject(a->maps, &ep->ep_id);
	names_delete_stale(a, ep->ep_id, NULL);
	pw_map_del_ep_stats(a->maps, &ep->ep_id);
	pw_map_del_ep_rl(a->maps, &ep->ep_id);
	pw_map_del_ep_flows(a->maps, &ep->ep_id);
	pw_map_del_ep_learn(a->maps, &ep->ep_id);
	ep->managed = false;
}

int pw_sync_remove_ep(struct pw_agent *a, struct pw_ep *ep)
{
	/* The endpoint entry goes first: the pod is unmanaged before its rules go. */
	int err = pw_map_del_endpoints(a->maps, &ep->ifindex);

	if (err && err != -ENOENT)
		pw_warn("pw_endpoints: cannot delete ifindex %u: %s", ep->ifindex, strerror(-err));
	rules_remove(a, ep);
	return 0;
}

int pw_sync_ep(struct pw_agent *a, struct pw_ep *ep)
{
	struct pw_compiled c = {};
	char err[PW_ERR_LEN] = "";
	int ret;

	ret = pw_compile(a->policies.pols, a->policies.n_pols, ep->namespace, &ep->labels, &c, err,
			 sizeof(err));
	if (!ret && c.selected && names_add_search(a, &c)) {
		pw_compiled_free(&c);
		snprintf(err, sizeof(err), "out of memory");
		ret = -ENOMEM;
	}
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
	if (!ret)
		ret = names_write(a, ep, &c);
	if (ret)
		goto fail;
	cidr_delete_stale(a->maps, PW_FAMILY_V4, ep->ep_id, &c);
	cidr_delete_stale(a->maps, PW_FAMILY_V6, ep->ep_id, &c);
	names_delete_stale(a, ep->ep_id, &c);
	ret = ep_dns_write(a, ep, &c);
	if (ret)
		goto fail;
	pw_compiled_free(&ep->compiled);
	ep->compiled = c;
	ret = learned_resync(a, ep);
	if (ret)
		pw_warn("endpoint %u: learned entries not fully rewritten: %s", ep->ep_id,
			strerror(-ret));
	ret = endpoint_write(a, ep, ep->compiled.mode);
	if (ret)
		return ret;
	ep->learn_count_dirty = true; /* its cap in pw_ep_learn */
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
		cidr_delete_stale(a->maps, PW_FAMILY_V4, ep->ep_id, &ep->compiled);
		cidr_delete_stale(a->maps, PW_FAMILY_V6, ep->ep_id, &ep->compiled);
	}
	if (names_write(a, ep, &ep->compiled) == 0) {
		names_delete_stale(a, ep->ep_id, &ep->compiled);
		ep_dns_write(a, ep, &ep->compiled);
	}
	return ret;
}

int pw_sync_all(struct pw_agent *a)
{
	int ret = 0;

	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		int err = pw_sync_ep(a, ep);

		pw_bpf_progress();
		if (err && !ret)
			ret = err;
	}
	pw_sync_gc(a, pw_now_ns(), true);
	return ret;
}

struct resolver_sweep {
	const struct pw_addr_key *want;
	int n;
};

static bool resolver_unwanted(const void *key, const void *value, void *ctx)
{
	const struct resolver_sweep *rs = ctx;

	for (int i = 0; i < rs->n; i++)
		if (!memcmp(&rs->want[i], key, sizeof(rs->want[i])))
			return false;
	return true;
}

/* --resolver addresses, plus the cluster DNS service's in Kubernetes mode. */
int pw_sync_resolvers(struct pw_agent *a)
{
	struct pw_addr_key want[PW_MAX_RESOLVERS] = {};
	struct resolver_sweep rs = {.want = want};
	char buf[PW_IP_STRLEN];
	uint32_t one = 1;

	for (int i = 0; i < a->o.n_resolvers; i++, rs.n++)
		if (pw_ip_parse(a->o.resolvers[i], &want[i].family, &want[i].addr)) {
			pw_err("--resolver %s: not an IPv4 or IPv6 address", a->o.resolvers[i]);
			return -EINVAL;
		}
	rs.n += (int)pw_kube_resolvers(&a->kube, want + rs.n, PW_MAX_RESOLVERS - (size_t)rs.n);
	/* Kubernetes mode before the first sync: add, never remove (the pinned
	 * map still holds the cluster DNS the API will confirm). */
	if (a->o.k8s && !a->kube.synced)
		rs.n = -1;
	for (int i = 0; i < (rs.n < 0 ? a->o.n_resolvers : rs.n); i++) {
		int err = pw_map_put_resolvers(a->maps, &want[i], &one, PW_MAP_ANY);

		if (err) {
			pw_err("pw_resolvers: cannot add %s: %s",
			       pw_ip_str(want[i].family, &want[i].addr, buf), strerror(-err));
			return err;
		}
	}
	if (rs.n >= 0)
		pw_map_sweep_resolvers(a->maps, resolver_unwanted, &rs, NULL);
	return 0;
}

/* ---- garbage collection ---- */

struct gc_ctx {
	struct pw_agent *a;
	uint64_t now;
	uint64_t grace_ns;
};

/* Expired (past the grace that lets established flows be re-checked), or of
 * an endpoint that is gone or no longer enforced. */
static bool learned_dead(const void *key, const void *value, void *ctx)
{
	const struct pw_learned_key *k = key;
	const struct pw_learned_val *v = value;
	struct gc_ctx *g = ctx;
	struct pw_ep *ep = pw_eps_by_id(&g->a->eps, k->ep_id);

	return v && !(ep && ep->managed && v->expires_ns + g->grace_ns > g->now);
}

static bool flow_idle(const void *key, const void *value, void *ctx)
{
	const struct pw_flow_key *k = key;
	const struct pw_flow_val *v = value;
	struct gc_ctx *g = ctx;
	uint64_t idle = k->proto == 6 ? g->a->o.flow_idle_tcp : g->a->o.flow_idle_other;
	struct pw_ep *ep = pw_eps_by_id(&g->a->eps, k->ep_id);

	if (!v)
		return false;
	if (!ep || v->last_seen_ns + idle * 1000000000ULL <= g->now)
		return true;
	ep->flows_live++;
	return false;
}

/*
 * Each endpoint's share of pw_flows (pw_ep_flows in maps.h). The kernel only
 * counts flows it records; the agent gives back the ones that went (evicted,
 * idle, of a changed policy): before the walk of pw_flows it reads each
 * count, the walk counts the live flows, and after it gone = count before -
 * live. Flows recorded during the walk stay counted, so the kernel's
 * added - gone is not below the live count (short of the few recorded
 * between the last read of an entry and its write, which the next walk
 * counts again): one endpoint cannot hold much more than its share.
 */
struct ep_flows_out {
	uint32_t ep_id;
	struct pw_ep_flows v;
};

struct ep_flows_walk {
	struct gc_ctx *g;
	struct ep_flows_out *out; /* after the walk: the entries to write */
	size_t n, cap;
};

static bool ep_flows_before(const void *key, const void *value, void *ctx)
{
	const struct pw_ep_flows *v = value;
	struct pw_ep *ep = pw_eps_by_id(&((struct gc_ctx *)ctx)->a->eps, *(const uint32_t *)key);

	if (!v)
		return false;
	if (!ep)
		return true; /* of an endpoint that is gone */
	ep->flows_added0 = v->added;
	ep->flows_counted = true;
	return false;
}

static bool ep_flows_after(const void *key, const void *value, void *ctx)
{
	struct ep_flows_walk *w = ctx;
	const struct pw_ep_flows *v = value;
	struct pw_ep *ep = pw_eps_by_id(&w->g->a->eps, *(const uint32_t *)key);
	struct ep_flows_out *o;

	if (!v || !ep || !ep->flows_counted)
		return false;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct ep_flows_out *out = realloc(w->out, cap * sizeof(*out));

		if (!out)
			return false;
		w->out = out;
		w->cap = cap;
	}
	o = &w->out[w->n++];
	o->ep_id = *(const uint32_t *)key;
	o->v = *v; /* the kernel's latest count, rewritten as read */
	o->v.gone = ep->flows_added0 - ep->flows_live;
	return false;
}

static void gc_flows(struct gc_ctx *g)
{
	struct ep_flows_walk w = {.g = g};
	struct pw_agent *a = g->a;

	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		ep->flows_live = 0;
		ep->flows_counted = false;
	}
	if (pw_map_sweep_ep_flows(a->maps, ep_flows_before, g, NULL) < 0 ||
	    pw_map_sweep_flows(a->maps, flow_idle, g, NULL) < 0)
		return; /* an incomplete count gives nothing back */
	if (pw_map_sweep_ep_flows(a->maps, ep_flows_after, &w, NULL) >= 0)
		for (size_t i = 0; i < w.n; i++)
			pw_map_put_ep_flows(a->maps, &w.out[i].ep_id, &w.out[i].v, PW_MAP_ANY);
	free(w.out);
}

/* A query never answered within 30 s will not be. */
static bool pending_stale(const void *key, const void *value, void *ctx)
{
	const struct pw_dns_pend_val *v = value;
	struct gc_ctx *g = ctx;

	return v && v->sent_ns + 30000000000ULL <= g->now;
}

#define SEC_NS(s) ((uint64_t)(s)*1000000000ULL)

/*
 * Expiry of learned addresses comes from the agent's own state, cheaply, every
 * call; whole-map walks (which stall the loop that releases DNS answers for as
 * long as they take) run on their own, longer periods, or at once with full:
 * flows every 60 s, pending queries every 30 s, pw_learned (orphans of gone
 * endpoints, entries adopted across a crash) and port sets every 300 s.
 */
/* Time one garbage-collection step; a slow one is worth a line in the log. */
#define GC_STEP(name, stmt)                                                                        \
	do {                                                                                       \
		uint64_t _t = pw_now_ns();                                                         \
		stmt;                                                                              \
		pw_bpf_progress();                                                                 \
		if (pw_now_ns() - _t > 300000000ULL)                                               \
			pw_warn("gc: %s took %llu ms", name,                                       \
				(unsigned long long)((pw_now_ns() - _t) / 1000000));               \
	} while (0)

void pw_sync_gc(struct pw_agent *a, uint64_t now, bool full)
{
	struct gc_ctx g = {.a = a, .now = now, .grace_ns = SEC_NS(a->o.learned_grace)};

	GC_STEP(
		"expiry",
		for (struct pw_ep *ep = a->eps.head; ep && now > g.grace_ns; ep = ep->next) {
			struct pw_learned_addr *gone = NULL;
			size_t n = pw_ep_expire(ep, now - g.grace_ns, &gone);

			for (size_t i = 0; i < n; i++)
				pw_sync_learned_addr(a, ep, gone[i].family, &gone[i].ip);
			free(gone);
		});
	if (full || now - a->gc_flows_ns >= SEC_NS(60)) {
		GC_STEP("pw_flows", gc_flows(&g));
		a->gc_flows_ns = now;
	}
	if (full || now - a->gc_pending_ns >= SEC_NS(30)) {
		GC_STEP("pw_dns_pend", pw_map_sweep_dns_pend(a->maps, pending_stale, &g, NULL));
		a->gc_pending_ns = now;
	}
	if (full || now - a->gc_maps_ns >= SEC_NS(300)) {
		/* The kernel's records first: the walk then sees every entry
		 * the agent's state accounts for. */
		GC_STEP("pw_learn_log", pw_learnlog_drain(a));
		GC_STEP("pw_learned", pw_map_sweep_learned(a->maps, learned_dead, &g, NULL));
		a->learned_wr_ns = pw_now_ns();
		GC_STEP("pw_ports", pw_portsets_gc(&a->portsets, a->maps));
		GC_STEP("trim", malloc_trim(0)); /* give the walks' buffers back */
		a->gc_maps_ns = now;
	}
	a->last_gc_ns = now;
}

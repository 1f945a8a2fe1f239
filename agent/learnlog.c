// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * learnlog: the agent's reader of pw_learn_log, what pod_ingress learned
 * inline (maps.h). Each record becomes the agent's own state as if it had held
 * and learned the answer itself: the name and its addresses in the endpoint's
 * per-name table (the per-name cap and LRU, an evicted address re-synced in
 * pw_learned), the names of deny events and `podwall fqdn`, the saved state,
 * a DNS event (path "kernel"). The agent is never on the answer's path: the
 * answer was passed before the record is read.
 *
 * The kernel wakes the agent for a record only when the log is filling
 * (learn.bpf.h, LEARN_LOG_WAKE): the agent reads it in batches, every
 * PW_AGENT_DRAIN_MS and before what needs its books whole (the other rings, a
 * client's request, a sweep of pw_learned).
 *
 * The entry the kernel wrote is rewritten only when the agent's state gives
 * another (the ports of several names, an expiry, an eviction) or the agent
 * wrote to pw_learned since the kernel did (learned_wr_ns): the record's
 * addresses, expiry and portset are what the kernel's entry held then.
 *
 * The rules are checked again: a record of an endpoint the agent no longer
 * has, of an address it would not learn now (a policy changed meanwhile, the
 * pod's budget of names or addresses is used up), or that does not parse, has
 * its pw_learned entries put back to what the agent's state says (deleted
 * when no name of the pod holds the address), and is counted.
 *
 * The per-pod budget in the kernel (pw_ep_learn): the agent keeps `gone` so
 * that added - gone is the endpoint's distinct learned addresses as its state
 * counts them (its own writes included), read after the ring was drained, so
 * an entry whose record is not read yet counts against the pod, never for it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "agent_int.h"
#include "fqdn.h"
#include "ipaddr.h"
#include "log.h"

/* Why the agent would not learn addr for name now, or NULL; ports: what the
 * pod's rules grant the name (granted: some rule matched it), once a record. */
static const char *refused(struct pw_agent *a, struct pw_ep *ep, const char *name, bool granted,
			   const struct pw_range_set *ports, uint8_t family,
			   const union pw_ip *addr)
{
	struct pw_range_set priv;

	if (!granted)
		return "no rule of the pod grants the name";
	if (pw_compiled_denies(&ep->compiled, family, addr, ports))
		return "a ClusterEgressPolicy denies the address on every port of the name";
	if (pw_guard_refuses(a, name, family, addr) != PW_G_EXEMPT &&
	    pw_compiled_fqdn_ports_private(&ep->compiled, name, &priv) <= 0)
		return "rebinding guard: an in-cluster address and no rule with allowPrivate";
	return NULL;
}

/* The kernel's entry of (ep_id, addr) back to what the agent's state says. */
static void put_back(struct pw_agent *a, struct pw_ep *ep, uint32_t ep_id, uint8_t family,
		     const union pw_ip *addr)
{
	struct pw_learned_key k = {.ep_id = ep_id, .family = family, .addr = *addr};

	if (ep) {
		pw_sync_learned_addr(a, ep, family, addr);
	} else {
		pw_map_del_learned(a->maps, &k);
		a->learned_wr_ns = pw_now_ns();
	}
}

void pw_learnlog_step(struct pw_agent *a, const void *data, size_t size)
{
	const struct pw_learn_rec *r = data;
	char name[PW_FQDN_MAX + 1], raw[sizeof(r->name) + 1];
	const char *why = NULL, *bad = NULL;
	struct pw_range_set ports;
	struct pw_ep *ep;
	size_t n_addrs;
	json_t *answers = NULL;
	bool wanted, granted;

	a->st.learnlog_records++;
	pw_bpf_progress();
	if (size < sizeof(*r)) {
		a->st.learnlog_invalid++;
		pw_warn("pw_learn_log: a record of %zu bytes, not %zu: skipped", size, sizeof(*r));
		return;
	}
	n_addrs = r->n_addrs < PW_LEARN_REC_ADDRS ? r->n_addrs : PW_LEARN_REC_ADDRS;
	ep = pw_eps_by_id(&a->eps, r->ep_id);
	if (ep && ep->ifindex != r->ifindex)
		ep = NULL;
	memcpy(raw, r->name, sizeof(r->name));
	raw[r->name_len] = '\0'; /* name_len is at most 255 */
	if (!ep)
		bad = "endpoint unknown";
	else if (pw_fqdn_normalize(raw, name, &why) || strcmp(name, raw))
		bad = "name not normalized";
	if (bad) {
		if (ep)
			a->st.learnlog_invalid++;
		else
			a->st.learnlog_unknown_ep++;
		pw_warn("pw_learn_log: record of endpoint %u (ifindex %u): %s; its %zu "
			"entries put back",
			r->ep_id, r->ifindex, bad, n_addrs);
		for (size_t i = 0; i < n_addrs; i++)
			put_back(a, ep, r->ep_id, r->addrs[i].family, &r->addrs[i].addr);
		return;
	}
	granted = ep->managed && pw_compiled_fqdn_ports(&ep->compiled, name, &ports) > 0;
	/* No JSON for an event no one would see (no DNS visibility, or the
	 * node's budget of DNS records spent this second). */
	wanted = pw_events_dns_wanted(a, ep) && pw_events_dns_room(a);
	if (wanted)
		answers = json_array();
	for (size_t i = 0; i < n_addrs; i++) {
		const struct pw_learn_addr *d = &r->addrs[i];
		struct pw_learned_addr evicted = {0};
		struct pw_learned_val have = {0};
		enum pw_ep_room room;
		char ipb[PW_IP_STRLEN];

		if (d->family != PW_FAMILY_V4 && d->family != PW_FAMILY_V6) {
			a->st.learnlog_invalid++;
			continue;
		}
		if (answers)
			json_array_append_new(answers,
					      json_string(pw_ip_str(d->family, &d->addr, ipb)));
		why = refused(a, ep, name, granted, &ports, d->family, &d->addr);
		room = why ? PW_EP_ROOM
			   : pw_ep_learn_room(ep, name, d->family, &d->addr,
					      a->o.max_addrs_per_name, a->o.max_names_per_pod,
					      a->o.max_learned_per_pod);
		if (why || room != PW_EP_ROOM) {
			if (why)
				a->st.learnlog_refused++;
			else
				a->st.learnlog_budget++;
			pw_ep_note_seen(ep, name, d->family, &d->addr, r->ts_ns);
			put_back(a, ep, ep->ep_id, d->family, &d->addr);
			continue;
		}
		if (pw_ep_learn(ep, name, d->family, &d->addr, d->expires_ns, r->ts_ns,
				a->o.max_addrs_per_name, &evicted)) {
			a->st.learnlog_refused++;
			put_back(a, ep, ep->ep_id, d->family, &d->addr);
			continue;
		}
		a->st.learnlog_addrs++;
		/* The entry as the agent's state has it: the union of the ports of
		 * every name that resolved to it, the latest expiry; no write
		 * when that is what the kernel wrote (the common case). */
		have.expires_ns = d->expires_ns;
		have.portset = r->portset;
		if (pw_sync_learned_addr_if(a, ep, d->family, &d->addr, &have, r->ts_ns) > 0)
			a->st.learnlog_kept++;
		if (evicted.family)
			pw_sync_learned_addr(a, ep, evicted.family, &evicted.ip);
		ep->learned_dirty = true;
	}
	if (wanted)
		pw_events_emit_dns(a, ep, name, answers, "kernel", PW_R_NONE);
}

/* The kernel's count of each endpoint whose learned addresses changed. */
void pw_learnlog_counts(struct pw_agent *a)
{
	for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
		struct pw_ep_flows v = {0};

		if (!ep->learn_count_dirty)
			continue;
		if (pw_map_get_ep_learn(a->maps, &ep->ep_id, &v))
			memset(&v, 0, sizeof(v));
		/* Modulo 2^64: added - gone is the live count even when the
		 * agent's own writes make it more than the kernel added. */
		v.gone = v.added - (uint64_t)ep->n_addrs;
		v.quota = a->o.max_learned_per_pod;
		if (!pw_map_put_ep_learn(a->maps, &ep->ep_id, &v, PW_MAP_ANY))
			ep->learn_count_dirty = false;
	}
}

static int on_record(void *ctx, void *data, size_t size)
{
	pw_learnlog_step(ctx, data, size);
	return 0;
}

void pw_learnlog_drain(struct pw_agent *a)
{
	if (a->learn_rb && a->learn_ok)
		ring_buffer__consume(a->learn_rb);
}

int pw_learnlog_open(struct pw_agent *a)
{
	a->learn_rb = ring_buffer__new(a->bpf.learn_log_fd, on_record, a, NULL);
	if (!a->learn_rb) {
		pw_err("cannot open the pw_learn_log ring buffer: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

void pw_learnlog_close(struct pw_agent *a)
{
	ring_buffer__free(a->learn_rb);
	a->learn_rb = NULL;
}

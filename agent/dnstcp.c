// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * dnstcp: DNS answers over TCP that span several segments. pod_ingress copies
 * each segment of such an answer here as it passes, and holds the one that
 * completes the message; the segments are put back together by sequence
 * number (lib/core/dnstcp.c) and the whole message goes on to the hold path
 * (dnshold.c: parse, learn, release the held segment). A message that cannot
 * be put together (a copy lost, bytes seen twice, over the bounds below) is
 * never learned: its held segment is dropped with an event `dns-tcp-split`,
 * the resolver retransmits it, and pod_ingress passes the retransmission
 * unlearned (the connection that follows is denied, and the event says why).
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "agent_int.h"
#include "dnstcp.h"
#include "log.h"

#define DNSTCP_MAX_MSGS	  256		/* messages being put together at once */
#define DNSTCP_MAX_BYTES  (4u << 20)	/* their buffers, together */
#define DNSTCP_MAX_AGE_NS 2000000000ULL /* a message not whole by then is dropped */

struct expire_ctx {
	struct pw_agent *a;
	const struct pw_hold_io *io;
};

static void lost(struct pw_agent *a, const struct pw_hold_io *io, const struct pw_dns_meta *m,
		 const char *why)
{
	struct pw_ep *ep = pw_eps_by_ifindex(&a->eps, m->ifindex);

	a->st.dns_tcp_lost++;
	pw_debug("DNS-over-TCP answer on ifindex %u not learned: %s", m->ifindex, why);
	if (ep && ep->ep_id == m->ep_id)
		io->drop(io->ctx, ep, PW_R_DNS_TCP_SPLIT, m, NULL, why);
}

static void on_expired(void *ctx, const struct pw_dnstcp_held *h)
{
	const struct expire_ctx *x = ctx;

	lost(x->a, x->io, &h->meta, "the answer's other TCP segments did not all reach the agent");
}

static void expire(struct pw_agent *a, const struct pw_hold_io *io)
{
	struct expire_ctx x = {a, io};

	if (a->dnstcp)
		a->st.dns_tcp_expired += pw_dnstcp_expire(a->dnstcp, pw_now_ns(), on_expired, &x);
}

int pw_dnstcp_take(struct pw_agent *a, const struct pw_hold_io *io, struct pw_dns_meta *m,
		   uint8_t **frame, uint8_t **msg, const uint8_t **payload, size_t *plen,
		   size_t *l4_off)
{
	struct pw_dnstcp_held held;
	enum pw_dnstcp_res res;
	const char *why = NULL;

	expire(a, io);
	if (!a->dnstcp) {
		a->dnstcp = pw_dnstcp_new(DNSTCP_MAX_MSGS, DNSTCP_MAX_BYTES, DNSTCP_MAX_AGE_NS);
		if (!a->dnstcp) {
			pw_warn("out of memory for DNS-over-TCP reassembly");
			return 1; /* a held segment is not released: the resolver retransmits */
		}
	}
	res = pw_dnstcp_add(a->dnstcp, m, *frame, m->pkt_len, pw_now_ns(), msg, plen, &held, &why);
	switch (res) {
	case PW_DT_DONE:
		a->st.dns_tcp_reassembled++;
		free(*frame);
		*frame = held.frame;
		*m = held.meta;
		*l4_off = held.l4_off;
		*payload = *msg;
		return 0;
	case PW_DT_KEPT:
		return 1;
	default:
		/* Nothing learned from this message. Its held segment (this one,
		 * or one kept before) is dropped, with an event; a copy is
		 * nothing more to the pod (it passed). */
		if (held.frame)
			lost(a, io, &held.meta, why ? why : "cannot reassemble the answer");
		else
			a->st.dns_tcp_lost++;
		pw_dnstcp_held_free(&held);
		return 1;
	}
}

/* The real drop, for what expires between answers (the agent's timer). */
static void drop_event(void *ctx, const struct pw_ep *ep, uint8_t reason,
		       const struct pw_dns_meta *m, const char *qname, const char *why)
{
	pw_events_emit_agent(ctx, ep, reason, m->family, &m->resolver, ntohs(m->pod_port), qname,
			     why);
}

void pw_dnstcp_tick(struct pw_agent *a)
{
	const struct pw_hold_io io = {.drop = drop_event, .ctx = a};

	expire(a, &io);
}

void pw_dnstcp_close(struct pw_agent *a)
{
	pw_dnstcp_free(a->dnstcp);
	a->dnstcp = NULL;
}

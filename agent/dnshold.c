// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * dnshold: the agent's half of hold, learn, release. pod_ingress copied a DNS
 * answer here and dropped the original; we check it, write what the pod may
 * learn into pw_learned, and only then put the frame back on the same veth
 * with the release mark. If the entry cannot be written the answer is dropped
 * (the client retries) and an event says why: never a release into a state
 * that denies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent_int.h"
#include "dns.h"
#include "ipaddr.h"
#include "learnrules.h"
#include "log.h"

#define PERF_PAGES 64 /* per CPU: 256 KiB, ~30 held answers of 8 KiB each */

/* A GSO answer (m->gso_size: several TCP segments in one frame, over the
 * MTU) goes back as what it was: a virtio_net_hdr asks the kernel to keep it
 * one GSO packet of that segment size, its TCP checksum to be completed
 * (pw_dns_partial_l4_checksum left the pseudo-header's sum in it). The frame
 * passed pw_dns_frame_payload: an IPv4 header of 20 bytes or an IPv6 one of 40. */
static void gso_hdr(const struct pw_dns_meta *m, const uint8_t *frame, size_t len,
		    struct virtio_net_hdr *vh)
{
	uint16_t l4 = m->family == PW_FAMILY_V4 ? ETH_HLEN + 20 : ETH_HLEN + 40;

	*vh = (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = m->family == PW_FAMILY_V4 ? VIRTIO_NET_HDR_GSO_TCPV4
						      : VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = (uint16_t)(l4 + (len > l4 + 12u ? (frame[l4 + 12] >> 4) * 4 : 20)),
		.gso_size = m->gso_size,
		.csum_start = l4,
		.csum_offset = 16,
	};
}

/* The real release: the frame back out of the pod's host veth, with the release
 * mark (SO_MARK of pkt_fd), so pod_ingress lets it through. */
static int release_sendto(void *ctx, const struct pw_dns_meta *m, const uint8_t *frame, size_t len)
{
	const struct pw_agent *a = ctx;
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = (int)m->ifindex,
		.sll_halen = ETH_ALEN,
	};
	const struct ethhdr *eth = (const struct ethhdr *)frame;
	struct virtio_net_hdr vh;
	struct iovec iov[2] = {{&vh, sizeof(vh)}, {(void *)frame, len}};
	struct msghdr mh = {
		.msg_name = &sll, .msg_namelen = sizeof(sll), .msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	sll.sll_protocol = eth->h_proto;
	memcpy(sll.sll_addr, eth->h_dest, ETH_ALEN);
	if (m->gso_size) {
		if (a->pkt_gso_fd < 0)
			return -EOPNOTSUPP;
		gso_hdr(m, frame, len, &vh);
		n = sendmsg(a->pkt_gso_fd, &mh, 0);
		len += sizeof(vh);
	} else {
		n = sendto(a->pkt_fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	}
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

/* The real drop: an event in the same form as the kernel's. */
static void drop_event(void *ctx, const struct pw_ep *ep, uint8_t reason,
		       const struct pw_dns_meta *m, const char *qname, const char *why)
{
	pw_events_emit_agent(ctx, ep, reason, m->family, &m->resolver, ntohs(m->pod_port), qname,
			     why);
}

/* The agent's options and tables as the learn rules read them. */
static void learn_rules(const struct pw_agent *a, struct pw_learn_rules *r)
{
	*r = (struct pw_learn_rules){
		.min_ttl_s = a->o.min_ttl,
		.max_ttl_s = a->o.max_ttl,
		.max_addrs = a->o.max_addrs_per_name,
		.guard = &a->guard,
		.cluster_domain = a->o.cluster_domain,
	};
}

/* Learn what the answer grants (the decisions: pw_learn_plan). Returns 0
 * (release), or a pw_reason to drop. */
static uint8_t learn(struct pw_agent *a, struct pw_ep *ep, const struct pw_dns_answer *ans,
		     const char **why)
{
	struct pw_learn_plan plan;
	struct pw_learn_rules rules;
	uint64_t now = pw_now_ns();

	learn_rules(a, &rules);
	pw_learn_plan(&rules, &ep->compiled, ans, &plan);
	if (plan.matched < 0) {
		*why = "too many port ranges for this name";
		return PW_R_DNS_LEARN;
	}
	if (!plan.matched || !ans->n_addrs) {
		/* Not a name this pod may reach: release unlearned; connections to it
		 * are denied like any other destination, and the deny event can say
		 * which name the pod was after. */
		if (!plan.matched)
			a->st.dns_not_allowed++;
		for (size_t i = 0; i < ans->n_addrs; i++)
			pw_ep_note_seen(ep, ans->qname, ans->addrs[i].family, &ans->addrs[i].addr,
					now);
		return PW_R_NONE;
	}
	/* An answer with more addresses than --max-addrs-per-name: its first
	 * ones are learned (the ones clients try first); learning all of them
	 * would have each evict the one before and keep the last ones. */
	for (size_t i = 0, n = 0; i < plan.n_items; i++) {
		const struct pw_learn_item *it = &plan.items[i];
		struct pw_learned_addr evicted = {0};
		enum pw_ep_room room;
		int err;

		switch (it->why) {
		case PW_LW_OVER_CAP:
			continue;
		case PW_LW_DENIED:
		case PW_LW_GUARDED:
			/* A ClusterEgressPolicy denies every port the name grants
			 * on it (nothing opts in to that; some of them: the entry,
			 * pw_sync_learned_addr, carries the others), or the
			 * rebinding guard: an in-cluster address, no rule opted in. */
			a->st.dns_private++;
			pw_events_emit_private(a, ep, ans->qname, it->family, &it->addr,
					       it->why == PW_LW_DENIED ? PW_G_MAX : it->guard);
			pw_ep_note_seen(ep, ans->qname, it->family, &it->addr, now);
			continue;
		}
		room = pw_ep_learn_room(ep, ans->qname, it->family, &it->addr,
					a->o.max_addrs_per_name, a->o.max_names_per_pod,
					a->o.max_learned_per_pod);
		if (room != PW_EP_ROOM) {
			/* The pod's budget: it loses its own answer (the first
			 * addresses learned, if any, are released with it). */
			if (n)
				break;
			*why = room == PW_EP_FULL_NAMES
				       ? "the pod holds --max-names-per-pod learned names"
				       : "the pod holds --max-learned-per-pod learned addresses";
			return PW_R_DNS_BUDGET;
		}
		a->st.dns_learned++;
		n++;
		err = pw_ep_learn(ep, ans->qname, it->family, &it->addr, now + it->expires_ns, now,
				  a->o.max_addrs_per_name, &evicted);
		if (!err)
			err = pw_sync_learned_addr(a, ep, it->family, &it->addr);
		if (!err && evicted.family)
			err = pw_sync_learned_addr(a, ep, evicted.family, &evicted.ip);
		if (err) {
			*why = err == -E2BIG ? "too many port ranges for this address"
					     : "cannot write pw_learned (full?)";
			return PW_R_DNS_LEARN;
		}
	}
	ep->learned_dirty = true;
	return PW_R_NONE;
}

/* The answer as a DNS event, for the pods (or the agent) that want them. */
static void dns_event(struct pw_agent *a, const struct pw_ep *ep, const struct pw_dns_answer *ans,
		      uint8_t reason)
{
	json_t *answers;
	char ipb[PW_IP_STRLEN];
	struct pw_range_set rs;

	if (!pw_events_dns_wanted(a, ep))
		return;
	answers = json_array();
	for (size_t i = 0; i < ans->n_addrs; i++)
		json_array_append_new(answers, json_string(pw_ip_str(ans->addrs[i].family,
								     &ans->addrs[i].addr, ipb)));
	pw_events_emit_dns(a, ep, ans->qname, answers,
			   pw_compiled_fqdn_ports(&ep->compiled, ans->qname, &rs) > 0 &&
					   reason == PW_R_NONE
				   ? "held"
				   : "passed",
			   reason);
}

void pw_dnshold_step(struct pw_agent *a, const void *data, size_t size, const struct pw_hold_io *io)
{
	struct pw_dns_meta m;
	struct pw_dns_answer *ans = NULL;
	const uint8_t *payload;
	size_t plen, l4_off;
	const char *why = NULL;
	uint8_t *frame = NULL, *msg = NULL;
	struct pw_ep *ep;
	uint8_t reason;
	uint64_t t[4] = {pw_now_ns()};
	int err;

	a->st.dns_samples++;
	pw_bpf_progress(); /* a flood is work, not a hang */
	if (size < sizeof(m))
		return;
	memcpy(&m, data, sizeof(m));
	if (m.pkt_len > size - sizeof(m) || m.pkt_len > PW_DNS_CAP_MAX)
		return;
	ep = pw_eps_by_ifindex(&a->eps, m.ifindex);
	if (!ep || ep->ep_id != m.ep_id) {
		a->st.dns_dropped_invalid++;
		pw_warn("held DNS answer for unknown endpoint (ifindex %u, id %u): dropped",
			m.ifindex, m.ep_id);
		return;
	}
	/* Our own copy: the checksum is rewritten in place before release. */
	frame = malloc(m.pkt_len);
	ans = calloc(1, sizeof(*ans));
	if (!frame || !ans) {
		reason = PW_R_DNS_LEARN;
		why = "out of memory";
		goto drop;
	}
	memcpy(frame, (const uint8_t *)data + sizeof(m), m.pkt_len);
	/* A TCP answer over several segments: on once whole (dnstcp.c). */
	if (m.tcp_msg_len && pw_dnstcp_take(a, io, &m, &frame, &msg, &payload, &plen, &l4_off))
		goto out;
	if ((!msg && pw_dns_frame_payload(frame, m.pkt_len, &m, &payload, &plen, &l4_off, &why)) ||
	    pw_dns_parse_answer(payload, plen, m.dns_id, ans, &why)) {
		reason = PW_R_DNS_INVALID;
		a->st.dns_dropped_invalid++;
		goto drop;
	}
	t[1] = pw_now_ns();
	reason = learn(a, ep, ans, &why);
	t[2] = pw_now_ns();
	if (reason == PW_R_NONE) {
		/* Released first: the event below is off the answer's path. */
		err = (m.gso_size ? pw_dns_partial_l4_checksum(frame, m.pkt_len, l4_off)
				  : pw_dns_fix_l4_checksum(frame, m.pkt_len, l4_off))
			      ? -EINVAL
			      : io->release(io->ctx, &m, frame, m.pkt_len);
		if (err) {
			a->st.dns_release_fail++;
			pw_warn("cannot release DNS answer to ifindex %u: %s", m.ifindex,
				strerror(-err));
		} else {
			uint64_t now = pw_now_ns(), held = now > m.ts_ns ? now - m.ts_ns : 0;

			t[3] = now;
			a->st.dns_hold_stage_ns[0] += t[0] > m.ts_ns ? t[0] - m.ts_ns : 0;
			for (int i = 1; i < 4; i++)
				a->st.dns_hold_stage_ns[i] += t[i] - t[i - 1];
			a->st.dns_released++;
			a->st.dns_hold_hist[pw_hold_bucket(held)]++;
			a->st.dns_hold_sum_ns += held;
		}
	}
	dns_event(a, ep, ans, reason);
	if (reason == PW_R_DNS_BUDGET) {
		a->st.dns_dropped_budget++;
		goto drop;
	}
	if (reason != PW_R_NONE) {
		a->st.dns_dropped_learn++;
		goto drop;
	}
	goto out;
drop:
	io->drop(io->ctx, ep, reason, &m, ans && ans->qname[0] ? ans->qname : NULL, why);
out:
	free(msg);
	free(frame);
	free(ans);
}

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	const struct pw_hold_io io = {.release = release_sendto, .drop = drop_event, .ctx = ctx};

	pw_dnshold_step(ctx, data, size, &io);
}

static void on_lost(void *ctx, int cpu, __u64 cnt)
{
	struct pw_agent *a = ctx;

	a->st.perf_lost += cnt;
	pw_warn("lost %llu held DNS answers on CPU %d (perf buffer full); clients will retry",
		(unsigned long long)cnt, cpu);
}

int pw_dnshold_open(struct pw_agent *a)
{
	int mark = (int)a->o.release_mark;

	a->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (a->pkt_fd < 0) {
		pw_err("cannot open the AF_PACKET socket that releases DNS answers: %s",
		       strerror(errno));
		return -errno;
	}
	if (setsockopt(a->pkt_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
		pw_err("cannot set SO_MARK on the release socket (needs CAP_NET_ADMIN): %s",
		       strerror(errno));
		return -errno;
	}
	/* GSO answers: a socket of their own, as every send on it takes a
	 * virtio_net_hdr. Without it they are dropped (and counted), not passed. */
	a->pkt_gso_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (a->pkt_gso_fd < 0 ||
	    setsockopt(a->pkt_gso_fd, SOL_PACKET, PACKET_VNET_HDR, &(int){1}, sizeof(int)) ||
	    setsockopt(a->pkt_gso_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
		pw_warn("cannot open the release socket for GSO answers (PACKET_VNET_HDR): %s; "
			"DNS-over-TCP answers in GSO packets will be dropped",
			strerror(errno));
		if (a->pkt_gso_fd >= 0)
			close(a->pkt_gso_fd);
		a->pkt_gso_fd = -1;
	}
	a->pb = perf_buffer__new(a->bpf.dns_cap_fd, PERF_PAGES, on_sample, on_lost, a, NULL);
	if (!a->pb) {
		pw_err("cannot open the pw_dns_cap perf buffer: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

void pw_dnshold_close(struct pw_agent *a)
{
	pw_dnstcp_close(a);
	perf_buffer__free(a->pb);
	a->pb = NULL;
	if (a->pkt_fd >= 0)
		close(a->pkt_fd);
	a->pkt_fd = -1;
	if (a->pkt_gso_fd >= 0)
		close(a->pkt_gso_fd);
	a->pkt_gso_fd = -1;
}

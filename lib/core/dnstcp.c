// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DNS answers over TCP that span several segments, put back together in
 * sequence order (dnstcp.h). Every length here comes from bytes the network
 * chose: each is checked before use, and every path frees what it took.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnstcp.h"

#define ETH_HDR_LEN   14
#define ETH_MIN_FRAME 60
#define ETHERTYPE_IP4 0x0800
#define ETHERTYPE_IP6 0x86dd
#define IP4_HDR_LEN   20
#define IP6_HDR_LEN   40
#define TCP_HDR_LEN   20
#define PROTO_TCP     6
#define TCP_SYN_RST   0x06
#define IP4_FRAG_MASK 0x3fff
#define DNS_PORT      53
#define DNS_HDR_LEN   12

struct dt_msg {
	struct dt_msg *next;
	uint32_t ifindex, ep_id, msg_seq;
	uint8_t family;
	uint16_t pod_port, dns_id; /* as on the wire */
	union pw_ip resolver;
	uint16_t msg_len;
	uint32_t total, have; /* bytes of the message and its length prefix; seen */
	uint64_t first_ns;
	uint8_t *buf, *seen; /* total bytes; a bit a byte */
	size_t cost;	     /* what it counts against max_bytes */
	struct pw_dnstcp_held held;
};

struct pw_dnstcp {
	struct dt_msg *msgs;
	size_t n, bytes, max_msgs, max_bytes;
	uint64_t max_age_ns;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int pw_dnstcp_segment(const uint8_t *frame, size_t len, const struct pw_dns_meta *meta,
		      uint32_t *seq, const uint8_t **data, size_t *dlen, size_t *l4_off,
		      const char **why)
{
	const uint8_t *ip = frame + ETH_HDR_LEN, *tcp;
	size_t avail, l4, l4_len, doff;
	uint16_t et;

	*why = NULL;
	if (len < ETH_HDR_LEN) {
		*why = "frame shorter than an Ethernet header";
		return -EINVAL;
	}
	avail = len - ETH_HDR_LEN;
	et = rd16(frame + 12);
	if (et == ETHERTYPE_IP4 && meta->family == PW_FAMILY_V4) {
		size_t ip_len;

		if (avail < IP4_HDR_LEN || ip[0] != 0x45) {
			*why = "not an IPv4 header without options";
			return -EINVAL;
		}
		ip_len = rd16(ip + 2);
		if (ip_len < IP4_HDR_LEN + TCP_HDR_LEN || ip_len > avail ||
		    (ip_len < avail && len > ETH_MIN_FRAME)) {
			*why = "IPv4 total length inconsistent with the frame";
			return -EINVAL;
		}
		if (rd16(ip + 6) & IP4_FRAG_MASK) {
			*why = "IPv4 fragment";
			return -EINVAL;
		}
		if (ip[9] != PROTO_TCP || memcmp(ip + 12, &meta->resolver.v4, 4)) {
			*why = "not TCP from the resolver the query went to";
			return -EINVAL;
		}
		l4 = ETH_HDR_LEN + IP4_HDR_LEN;
		l4_len = ip_len - IP4_HDR_LEN;
	} else if (et == ETHERTYPE_IP6 && meta->family == PW_FAMILY_V6) {
		if (avail < IP6_HDR_LEN || ip[0] >> 4 != 6) {
			*why = "not an IPv6 header";
			return -EINVAL;
		}
		l4_len = rd16(ip + 4);
		if (l4_len < TCP_HDR_LEN || IP6_HDR_LEN + l4_len > avail ||
		    (IP6_HDR_LEN + l4_len < avail && len > ETH_MIN_FRAME)) {
			*why = "IPv6 payload length inconsistent with the frame";
			return -EINVAL;
		}
		if (ip[6] != PROTO_TCP || memcmp(ip + 8, meta->resolver.v6, 16)) {
			*why = "not TCP (no extension headers) from the resolver the query went to";
			return -EINVAL;
		}
		l4 = ETH_HDR_LEN + IP6_HDR_LEN;
	} else {
		*why = "not IPv4 or IPv6 of the recorded query's family";
		return -EINVAL;
	}
	tcp = frame + l4;
	if (rd16(tcp) != DNS_PORT || memcmp(tcp + 2, &meta->pod_port, 2)) {
		*why = "TCP ports are not the resolver's 53 and the query's port";
		return -EINVAL;
	}
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < TCP_HDR_LEN || doff > l4_len) {
		*why = "TCP data offset inconsistent with the IP length";
		return -EINVAL;
	}
	if (tcp[13] & TCP_SYN_RST) {
		*why = "TCP segment with SYN or RST";
		return -EINVAL;
	}
	*seq = rd32(tcp + 4);
	*data = tcp + doff;
	*dlen = l4_len - doff;
	*l4_off = l4;
	return 0;
}

void pw_dnstcp_held_free(struct pw_dnstcp_held *h)
{
	free(h->frame);
	h->frame = NULL;
	h->len = 0;
}

struct pw_dnstcp *pw_dnstcp_new(size_t max_msgs, size_t max_bytes, uint64_t max_age_ns)
{
	struct pw_dnstcp *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->max_msgs = max_msgs;
	r->max_bytes = max_bytes;
	r->max_age_ns = max_age_ns;
	return r;
}

static void msg_free(struct dt_msg *m)
{
	free(m->buf);
	free(m->seen);
	pw_dnstcp_held_free(&m->held);
	free(m);
}

/* Unlink *pp; its held segment moves to *held (if held is not NULL). */
static void msg_drop(struct pw_dnstcp *r, struct dt_msg **pp, struct pw_dnstcp_held *held)
{
	struct dt_msg *m = *pp;

	*pp = m->next;
	r->n--;
	r->bytes -= m->cost;
	if (held && m->held.frame) {
		*held = m->held;
		m->held.frame = NULL;
	}
	msg_free(m);
}

void pw_dnstcp_free(struct pw_dnstcp *r)
{
	if (!r)
		return;
	while (r->msgs)
		msg_drop(r, &r->msgs, NULL);
	free(r);
}

size_t pw_dnstcp_count(const struct pw_dnstcp *r)
{
	return r->n;
}

size_t pw_dnstcp_bytes(const struct pw_dnstcp *r)
{
	return r->bytes;
}

static bool msg_is(const struct dt_msg *m, const struct pw_dns_meta *meta)
{
	return m->ifindex == meta->ifindex && m->ep_id == meta->ep_id &&
	       m->family == meta->family && m->pod_port == meta->pod_port &&
	       m->dns_id == meta->dns_id && m->msg_seq == meta->tcp_msg_seq &&
	       m->msg_len == meta->tcp_msg_len && !memcmp(&m->resolver, &meta->resolver, 16);
}

static struct dt_msg **msg_find(struct pw_dnstcp *r, const struct pw_dns_meta *meta)
{
	struct dt_msg **pp;

	for (pp = &r->msgs; *pp; pp = &(*pp)->next)
		if (msg_is(*pp, meta))
			return pp;
	return NULL;
}

/* A new message at the head of the list, or NULL (*res: FULL or NOMEM). */
static struct dt_msg *msg_new(struct pw_dnstcp *r, const struct pw_dns_meta *meta, uint64_t now,
			      enum pw_dnstcp_res *res)
{
	uint32_t total = (uint32_t)meta->tcp_msg_len + 2;
	size_t cost = total + (total + 7) / 8 + sizeof(struct dt_msg);
	struct dt_msg *m;

	if (r->n >= r->max_msgs || r->bytes + cost > r->max_bytes) {
		*res = PW_DT_FULL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m) {
		m->buf = malloc(total);
		m->seen = calloc(1, (total + 7) / 8);
	}
	if (!m || !m->buf || !m->seen) {
		if (m)
			msg_free(m);
		*res = PW_DT_NOMEM;
		return NULL;
	}
	m->ifindex = meta->ifindex;
	m->ep_id = meta->ep_id;
	m->family = meta->family;
	m->pod_port = meta->pod_port;
	m->dns_id = meta->dns_id;
	m->msg_seq = meta->tcp_msg_seq;
	m->msg_len = meta->tcp_msg_len;
	memcpy(&m->resolver, &meta->resolver, sizeof(m->resolver));
	m->total = total;
	m->first_ns = now;
	m->cost = cost;
	m->next = r->msgs;
	r->msgs = m;
	r->n++;
	r->bytes += cost;
	return m;
}

enum pw_dnstcp_res pw_dnstcp_add(struct pw_dnstcp *r, const struct pw_dns_meta *meta,
				 const uint8_t *frame, size_t len, uint64_t now_ns, uint8_t **msg,
				 size_t *msg_len, struct pw_dnstcp_held *held, const char **why)
{
	enum pw_dnstcp_res res = PW_DT_BAD;
	const uint8_t *data;
	struct dt_msg **pp, *m;
	size_t dlen, l4_off;
	uint32_t seq, off, total = (uint32_t)meta->tcp_msg_len + 2;
	bool last;

	*msg = NULL;
	*msg_len = 0;
	memset(held, 0, sizeof(*held));
	*why = NULL;
	last = false;
	pp = msg_find(r, meta);
	if (pw_dnstcp_segment(frame, len, meta, &seq, &data, &dlen, &l4_off, why))
		goto poison;
	off = seq - meta->tcp_msg_seq;
	if (meta->tcp_msg_len < DNS_HDR_LEN || !dlen || off >= total || dlen > total - off) {
		*why = "TCP segment outside the DNS message it is tagged with";
		goto poison;
	}
	last = off + dlen == total;
	if (!pp) {
		m = msg_new(r, meta, now_ns, &res);
		if (!m) {
			*why = res == PW_DT_FULL ? "too many DNS-over-TCP answers being reassembled"
						 : "out of memory";
			goto refuse;
		}
		pp = &r->msgs;
	}
	m = *pp;
	for (uint32_t i = off; i < off + dlen; i++) {
		if (m->seen[i / 8] & (1u << (i % 8))) {
			*why = "TCP segments of a DNS answer overlap";
			goto poison_msg;
		}
		m->seen[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	memcpy(m->buf + off, data, dlen);
	m->have += (uint32_t)dlen;
	if (last) {
		m->held.frame = malloc(len);
		if (!m->held.frame) {
			*why = "out of memory";
			res = PW_DT_NOMEM;
			goto refuse_msg;
		}
		memcpy(m->held.frame, frame, len);
		m->held.len = len;
		m->held.l4_off = l4_off;
		m->held.meta = *meta;
	}
	if (m->have < m->total)
		return PW_DT_KEPT;
	if (rd16(m->buf) != m->msg_len || memcmp(m->buf + 2, &m->dns_id, 2)) {
		*why = "the DNS message's length prefix or id is not the recorded one";
		goto poison_msg;
	}
	*msg = malloc(m->total - 2);
	if (!*msg) {
		*why = "out of memory";
		res = PW_DT_NOMEM;
		goto refuse_msg;
	}
	memcpy(*msg, m->buf + 2, m->total - 2);
	*msg_len = m->total - 2;
	msg_drop(r, pp, held);
	return PW_DT_DONE;

poison:
	if (!pp)
		return PW_DT_BAD; /* nothing kept of its message */
poison_msg:
	res = PW_DT_BAD;
refuse_msg:
	msg_drop(r, pp, held);
refuse:
	if (last && !held->frame) {
		/* this one is the held segment: the caller's */
		held->frame = malloc(len);
		if (held->frame) {
			memcpy(held->frame, frame, len);
			held->len = len;
			held->l4_off = l4_off;
			held->meta = *meta;
		}
	}
	return res;
}

size_t pw_dnstcp_expire(struct pw_dnstcp *r, uint64_t now_ns,
			void (*on_held)(void *ctx, const struct pw_dnstcp_held *held), void *ctx)
{
	struct dt_msg **pp = &r->msgs;
	size_t n = 0;

	while (*pp) {
		struct pw_dnstcp_held h = {0};

		if (now_ns - (*pp)->first_ns <= r->max_age_ns) {
			pp = &(*pp)->next;
			continue;
		}
		msg_drop(r, pp, &h);
		if (h.frame && on_held)
			on_held(ctx, &h);
		pw_dnstcp_held_free(&h);
		n++;
	}
	return n;
}

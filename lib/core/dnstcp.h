/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS answers over TCP that span several segments, put back together from
 * what pod_ingress handed over: a copy of each segment before the last (those
 * passed to the pod), and the last one itself (held: it is released only once
 * the message is learned). pod_ingress sends only segments it saw in order at
 * the stream's next byte, on the pod's followed connection to a trusted
 * resolver, and tags each with the message's length and first sequence
 * number (pw_dns_meta.tcp_msg_len, tcp_msg_seq); the copies may still arrive
 * here in any order (one perf buffer per CPU), so each is placed by its
 * sequence number. A message is handed out only when every one of its bytes
 * came, exactly once; bytes seen twice, a segment outside its message, or a
 * first segment whose length prefix or id is not the one the kernel recorded
 * poison the message (dropped whole, nothing learned from it).
 *
 * Bounded: at most max_msgs messages and max_bytes buffered bytes at once (a
 * new message beyond them is refused), each at most 65535 bytes (the 2-byte
 * length), and a message not complete within max_age_ns is dropped.
 *
 * Pure: no maps, no sockets; the frames are bytes the tests and the fuzzer
 * make up as they like.
 */
#ifndef PODWALL_DNSTCP_H
#define PODWALL_DNSTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podwall/maps.h"

/* The TCP data of a captured segment: the frame checked against meta as
 * pw_dns_frame_payload checks a held one (IPv4 without options or IPv6
 * without extension headers, no fragment, TCP from meta->resolver port 53 to
 * meta->pod_port, no SYN or RST, lengths consistent). *seq: its sequence
 * number (host order); *l4_off: the TCP header's offset in the frame.
 * Returns 0 or -EINVAL with *why set. */
int pw_dnstcp_segment(const uint8_t *frame, size_t len, const struct pw_dns_meta *meta,
		      uint32_t *seq, const uint8_t **data, size_t *dlen, size_t *l4_off,
		      const char **why);

/* The held last segment of a message, its frame as pod_ingress captured it. */
struct pw_dnstcp_held {
	struct pw_dns_meta meta;
	uint8_t *frame; /* malloc'd; NULL: none */
	size_t len;
	size_t l4_off;
};

void pw_dnstcp_held_free(struct pw_dnstcp_held *h);

struct pw_dnstcp;

struct pw_dnstcp *pw_dnstcp_new(size_t max_msgs, size_t max_bytes, uint64_t max_age_ns);
void pw_dnstcp_free(struct pw_dnstcp *r);
size_t pw_dnstcp_count(const struct pw_dnstcp *r);
size_t pw_dnstcp_bytes(const struct pw_dnstcp *r);

enum pw_dnstcp_res {
	PW_DT_DONE = 0,	 /* *msg: the whole message (without its length), *held */
	PW_DT_KEPT = 1,	 /* kept: more segments to come */
	PW_DT_BAD = 2,	 /* a segment that does not fit its message (*why): the
			  * message is dropped; *held: its held segment, if in */
	PW_DT_FULL = 3,	 /* over max_msgs / max_bytes: not kept; *held as for BAD */
	PW_DT_NOMEM = 4, /* out of memory: as FULL */
};

/*
 * Add the segment in frame (len bytes, meta as pod_ingress sent it, with
 * meta->tcp_msg_len set). The segment that completes the message (its end is
 * the message's end) is the held one: it is kept (copied) until the message
 * is whole. On PW_DT_DONE, *msg (malloc'd, the caller frees) holds the
 * message's *msg_len bytes after its 2-byte length; *held is the held
 * segment, the caller's to release (then pw_dnstcp_held_free). On BAD, FULL
 * and NOMEM, *held is the held segment if it is this one or was kept before
 * (frame NULL otherwise): the caller releases it unlearned or drops it.
 */
enum pw_dnstcp_res pw_dnstcp_add(struct pw_dnstcp *r, const struct pw_dns_meta *meta,
				 const uint8_t *frame, size_t len, uint64_t now_ns, uint8_t **msg,
				 size_t *msg_len, struct pw_dnstcp_held *held, const char **why);

/* Drop the messages older than max_age_ns at now_ns; for each one whose held
 * segment came, on_held(ctx, held) (the callee releases or drops it; the
 * frame is freed after). Returns how many were dropped. */
size_t pw_dnstcp_expire(struct pw_dnstcp *r, uint64_t now_ns,
			void (*on_held)(void *ctx, const struct pw_dnstcp_held *held), void *ctx);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The learn step for held DNS answers: the frame pod_ingress captured, checked
 * against the query it recorded, parsed with ldns.
 *
 * Pure functions over bytes: no maps, no sockets, so they are unit tested and
 * fuzzed directly. The agent (dnshold.c) decides what the pod may learn from
 * the result (qname against its patterns) and writes the maps.
 */
#ifndef PODWALL_DNS_H
#define PODWALL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podwall/maps.h"
#include "fqdn.h"

/* At most this many addresses are taken from one answer; the rest are ignored
 * (counted in n_ignored). */
#define PW_DNS_MAX_ADDRS 64
/* Longest CNAME chain followed from the question name. */
#define PW_DNS_MAX_CHAIN 16

struct pw_dns_addr {
	uint8_t family; /* PW_FAMILY_V4 / PW_FAMILY_V6 */
	union pw_ip addr;
	uint32_t ttl; /* seconds, as in the record */
};

struct pw_dns_answer {
	char qname[PW_FQDN_MAX + 1]; /* normalized question name */
	uint16_t qtype;
	uint16_t rcode;
	struct pw_dns_addr addrs[PW_DNS_MAX_ADDRS];
	size_t n_addrs;
	size_t n_ignored;  /* records off the chain, special addresses, over the cap */
	bool chain_broken; /* CNAME loop or chain longer than PW_DNS_MAX_CHAIN: nothing taken */
};

/*
 * Locate the DNS payload in a captured Ethernet frame and check the frame
 * against the recorded query: IPv4/IPv6 without options or extension headers,
 * meta->proto (UDP, or TCP) from meta->resolver port 53 to meta->pod_port,
 * family as recorded, no fragments, lengths consistent. Over TCP: no SYN or
 * RST, and the segment's data is exactly one DNS message after its 2-byte
 * length (RFC 7766), which is what *payload, *plen then are. On success
 * *payload, *plen is the DNS message and *l4_off the offset of the UDP or TCP
 * header in the frame. Returns 0 or -EINVAL with *why set.
 */
int pw_dns_frame_payload(const uint8_t *frame, size_t len, const struct pw_dns_meta *meta,
			 const uint8_t **payload, size_t *plen, size_t *l4_off, const char **why);

/*
 * Parse a DNS response with ldns and collect what may be learned: it must be a
 * response (QR) to a standard query with id expect_id (network order, as in
 * pw_dns_meta.dns_id), exactly one question of class IN and type A or AAAA.
 * Only A and AAAA records in the answer section on the CNAME chain that starts
 * at the question name are taken; never IPv4-mapped IPv6, loopback,
 * link-local, unspecified, multicast or broadcast addresses (pw_ip_is_special).
 * Returns 0 (possibly with no addresses, e.g. NXDOMAIN) or -EINVAL with *why.
 *
 * Details of the contract:
 * - 0 with no addresses (the answer is still released) when: qtype is not A or
 *   AAAA; rcode (with the EDNS extension) is not NOERROR; the question name is
 *   not a hostname pw_fqdn_normalize accepts (qname is then ""); the CNAME chain
 *   loops or is too long (chain_broken).
 * - Only records of the question's own type are taken (A for A, AAAA for AAAA);
 *   CNAMEs, A and AAAA must be class IN. TTLs with the top bit set count as 0
 *   (RFC 2181 section 8). Duplicates are merged keeping the largest TTL.
 * - TC set: records missing at the end of the message are accepted (the counts
 *   may promise more); a record cut in the middle is still -EINVAL.
 * - A record whose RDATA ldns does not decode to exactly RDLENGTH bytes (or an
 *   A/AAAA whose RDATA is not 4/16 bytes) is skipped and counted in n_ignored;
 *   the walk resumes after RDLENGTH, where the pod's own resolver resumes.
 * - -ENOMEM if ldns cannot allocate. On any error n_addrs is 0.
 */
int pw_dns_parse_answer(const uint8_t *msg, size_t len, uint16_t expect_id,
			struct pw_dns_answer *out, const char **why);

/* Recompute the UDP or TCP checksum of the frame in place (the protocol from
 * the IP header; IPv4 UDP: may be left 0 only if it was 0; IPv6 UDP and TCP:
 * always computed). Frames captured at TC can carry a partial, offloaded
 * checksum. Returns 0 or -EINVAL for a frame it cannot fix. */
int pw_dns_fix_l4_checksum(uint8_t *frame, size_t len, size_t l4_off);
/* The same for a TCP frame the kernel will cut into segments (a GSO packet,
 * released with virtio_net_hdr's NEEDS_CSUM): its checksum field set to the
 * pseudo-header's sum (the IP length's), which the kernel completes for each
 * segment. -EINVAL for a frame it cannot fix or one not TCP. */
int pw_dns_partial_l4_checksum(uint8_t *frame, size_t len, size_t l4_off);

#endif

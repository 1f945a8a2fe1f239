/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which event records `podwall events` shows: the filters of `hubble
 * observe` over the JSON records of events_fmt.h, and the durations and
 * times they take. Pure.
 */
#ifndef PODWALL_EVENTS_FILTER_H
#define PODWALL_EVENTS_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "fqdn.h"
#include "podwall/maps.h"

struct pw_ev_filter {
	const char *namespace;	/* exact, or NULL */
	const char *pod_prefix; /* prefix of the pod's name, or NULL */
	const char *verdict;	/* "drop", "reject", "audit", "allow", "pass", or NULL */
	int reason;		/* enum pw_reason, or -1 */
	bool has_fqdn;
	char fqdn[PW_FQDN_MAX + 1]; /* a matchName or matchPattern, normalized */
	bool has_cidr;
	uint8_t family, prefix;
	union pw_ip addr;
	int port;		     /* destination port, or -1 */
	uint64_t since_ns, until_ns; /* wall clock; 0 = open */
	char ns_buf[254];	     /* the namespace part of --pod NS/PREFIX */
	const char *owner;	     /* --owner [KIND/]NAME: the name part, or NULL */
	char owner_kind[64];	     /* its kind ("" any), compared without case */
};

void pw_ev_filter_init(struct pw_ev_filter *f);
/* Set one filter from its option's text; -EINVAL with *why if it is wrong.
 * --pod takes [NAMESPACE/]NAME-PREFIX. --to-fqdn a name or a *. / **. pattern.
 * --to-ip an address or a CIDR. --owner [KIND/]NAME the pod's workload
 * (Deployment/web, or web of any kind). --since / --until a duration back from now_ns
 * (1h30m, 90s, 2d, 250ms) or an RFC 3339 time (2026-12-01T09:00:00Z). */
int pw_ev_filter_set(struct pw_ev_filter *f, const char *opt, const char *arg, uint64_t now_ns,
		     const char **why);
bool pw_ev_filter_match(const struct pw_ev_filter *f, const json_t *ev);

/* "1h30m", "90s", "1.5h", "250ms", "2d"; a bare number is seconds. Up to a year. */
int pw_duration_parse(const char *s, uint64_t *ns);
/* "2026-12-01T09:00:00Z" or with ".123Z" (UTC only) -> ns since the epoch. */
int pw_time_parse(const char *s, uint64_t *wall_ns);
/* The valid --reason names, space separated, into buf. */
const char *pw_reason_list(char *buf, size_t len);

#endif

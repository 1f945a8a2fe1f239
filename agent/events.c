// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * events: deny and audit records from the pw_events ring buffer (and the
 * agent's own DNS drops), enriched with the pod, its policies and the hostname
 * the pod last resolved to the destination; written as JSON lines to stdout,
 * kept in a bounded ring for `podwall events`, streamed to followers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent_int.h"
#include "ctl.h"
#include "events_fmt.h"
#include "ipaddr.h"
#include "log.h"

static void store(struct pw_agent *a, json_t *ev, const char *pod, uint8_t reason,
		  uint64_t wall_ns)
{
	struct pw_event_rec *r;
	char *line;

	a->st.events_total++;
	line = json_dumps(ev, JSON_COMPACT);
	if (line) {
		fprintf(stdout, "%s\n", line);
		fflush(stdout);
	}
	/* Followers that match get the line; a follower that fails is dropped. */
	for (struct pw_follower **fp = &a->followers; *fp;) {
		struct pw_follower *f = *fp;

		if ((f->pod && strcmp(f->pod, pod)) || (f->reason >= 0 && f->reason != reason)) {
			fp = &f->next;
			continue;
		}
		if (line && pw_ctl_send(f->fd, ev) < 0) {
			*fp = f->next;
			close(f->fd);
			free(f->pod);
			free(f);
			continue;
		}
		fp = &f->next;
	}
	free(line);
	if (!a->o.events_keep) {
		json_decref(ev);
		return;
	}
	r = &a->events[(a->ev_head + a->ev_count) % a->o.events_keep];
	if (a->ev_count == a->o.events_keep) {
		json_decref(r->json);
		a->ev_head = (a->ev_head + 1) % a->o.events_keep;
	} else {
		a->ev_count++;
	}
	r->json = ev;
	r->reason = reason;
	r->wall_ns = wall_ns;
	snprintf(r->pod, sizeof(r->pod), "%s", pod);
}

static uint64_t wall_from_mono(uint64_t mono_ns)
{
	struct timespec rt;
	uint64_t now_wall, now_mono = pw_now_ns();

	clock_gettime(CLOCK_REALTIME, &rt);
	now_wall = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
	return mono_ns <= now_mono ? now_wall - (now_mono - mono_ns) : now_wall;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct pw_agent *a = ctx;
	const struct pw_event *e = data;
	struct pw_event_ctx ec = {0};
	struct pw_ep *ep;
	char pod[300] = "?/?";
	json_t *ev;

	if (size < sizeof(*e))
		return 0;
	ep = pw_agent_ep_by_id(a, e->ep_id);
	if (ep) {
		pw_ep_pod(ep, pod, sizeof(pod));
		ec.pod = pod;
		ec.policies = (const char *const *)ep->compiled.policies;
		ec.n_policies = ep->compiled.n_policies;
		ec.hostname = pw_ep_name_for(ep, e->family, &e->daddr);
	}
	ec.wall_ns = wall_from_mono(e->ts_ns);
	ev = pw_event_to_json(e, &ec);
	if (ev)
		store(a, ev, pod, e->reason, ec.wall_ns);
	return 0;
}

void pw_events_emit_agent(struct pw_agent *a, const struct pw_ep *ep, uint8_t reason,
			  uint8_t family, const union pw_ip *resolver, uint16_t pod_port,
			  const char *qname, const char *why)
{
	struct pw_event e = {.ts_ns = pw_now_ns(), .reason = reason,
			     .verdict = PW_VERDICT_DROP, .family = family, .proto = 17};
	struct pw_event_ctx ec = {0};
	char pod[300] = "?/?";
	json_t *ev;

	if (ep) {
		e.ep_id = ep->ep_id;
		e.ifindex = ep->ifindex;
		if (family == PW_FAMILY_V4)
			e.daddr.v4 = ep->ip4;
		else
			memcpy(e.daddr.v6, ep->ip6, 16);
		pw_ep_pod(ep, pod, sizeof(pod));
		ec.pod = pod;
		ec.policies = (const char *const *)ep->compiled.policies;
		ec.n_policies = ep->compiled.n_policies;
	}
	/* The held answer went resolver:53 -> pod:port. */
	e.saddr = *resolver;
	e.sport = htons(53);
	e.dport = htons(pod_port);
	ec.hostname = qname;
	ec.detail = why;
	ec.wall_ns = wall_from_mono(e.ts_ns);
	ev = pw_event_to_json(&e, &ec);
	if (ev)
		store(a, ev, pod, reason, ec.wall_ns);
}

json_t *pw_events_query(struct pw_agent *a, const char *pod, int reason, uint64_t since_wall_ns)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->ev_count; i++) {
		struct pw_event_rec *r = &a->events[(a->ev_head + i) % a->o.events_keep];

		if ((pod && strcmp(pod, r->pod)) || (reason >= 0 && r->reason != reason) ||
		    r->wall_ns < since_wall_ns)
			continue;
		json_array_append(arr, r->json);
	}
	return arr;
}

int pw_events_follow(struct pw_agent *a, int fd, const char *pod, int reason)
{
	struct pw_follower *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->fd = fd;
	f->reason = reason;
	if (pod && !(f->pod = strdup(pod))) {
		free(f);
		return -ENOMEM;
	}
	f->next = a->followers;
	a->followers = f;
	return 0;
}

int pw_events_open(struct pw_agent *a)
{
	if (a->o.events_keep) {
		a->events = calloc(a->o.events_keep, sizeof(*a->events));
		if (!a->events)
			return -ENOMEM;
	}
	a->rb = ring_buffer__new(a->bpf.events_fd, on_event, a, NULL);
	if (!a->rb) {
		pw_err("cannot open the pw_events ring buffer: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

void pw_events_close(struct pw_agent *a)
{
	ring_buffer__free(a->rb);
	a->rb = NULL;
	for (size_t i = 0; i < a->ev_count; i++)
		json_decref(a->events[(a->ev_head + i) % a->o.events_keep].json);
	free(a->events);
	a->events = NULL;
	a->ev_count = 0;
	while (a->followers) {
		struct pw_follower *f = a->followers;

		a->followers = f->next;
		close(f->fd);
		free(f->pod);
		free(f);
	}
}

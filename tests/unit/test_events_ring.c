// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's ring of events for the CLI (agent/events.c): each record kept
 * as its JSON line (deflated), the oldest replaced when full, parsed again
 * when asked for, filtered by pod and reason, freed on close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "agent_int.h"

static struct pw_ep *new_ep(const char *name)
{
	struct pw_ep *ep = pw_ep_new();

	assert_non_null(ep);
	ep->ifindex = 7;
	strcpy(ep->host_ifname, "veth7");
	ep->namespace = strdup("t");
	ep->name = strdup(name);
	assert_true(ep->namespace && ep->name);
	return ep;
}

static const char *detail(json_t *arr, size_t i)
{
	return json_string_value(json_object_get(json_array_get(arr, i), "detail"));
}

static void test_ring_keeps_lines(void **state)
{
	struct pw_agent *a = calloc(1, sizeof(*a));
	struct pw_ep *p = new_ep("p"), *q = new_ep("q");
	char what[32];
	json_t *got;

	assert_non_null(a);
	/* A record is its line and the pod it is about: no jansson tree. */
	assert_true(sizeof(struct pw_event_rec) <= 32);
	a->o.events_keep = 3;
	a->events = calloc(a->o.events_keep, sizeof(*a->events));
	assert_non_null(a->events);

	for (int i = 0; i < 5; i++) {
		snprintf(what, sizeof(what), "event %d", i);
		pw_events_emit_hook(a, i == 3 ? q : p, false, what);
	}
	assert_int_equal(a->ev_count, 3);
	assert_int_equal(a->st.events_total, 5);
	assert_string_equal(a->events[(a->ev_head + 1) % 3].pod, "t/q");

	/* The last three, oldest first, as the objects they were. */
	got = pw_events_query(a, NULL, -1, 0);
	assert_int_equal(json_array_size(got), 3);
	assert_string_equal(detail(got, 0), "event 2");
	assert_string_equal(detail(got, 1), "event 3");
	assert_string_equal(detail(got, 2), "event 4");
	assert_string_equal(json_string_value(json_object_get(json_array_get(got, 1), "pod")),
			    "t/q");
	assert_string_equal(json_string_value(json_object_get(json_array_get(got, 0), "reason")),
			    "hook-order");
	json_decref(got);

	/* By pod, by reason. */
	got = pw_events_query(a, "t/q", -1, 0);
	assert_int_equal(json_array_size(got), 1);
	assert_string_equal(detail(got, 0), "event 3");
	json_decref(got);
	got = pw_events_query(a, NULL, PW_R_NO_RULE, 0);
	assert_int_equal(json_array_size(got), 0);
	json_decref(got);
	got = pw_events_query(a, NULL, PW_R_MAX, 0);
	assert_int_equal(json_array_size(got), 3);
	json_decref(got);

	/* None kept: written out, never held. */
	pw_events_close(a); /* frees every line: the sanitizer says if not */
	a->o.events_keep = 0;
	pw_events_emit_hook(a, p, true, "not kept");
	assert_int_equal(a->ev_count, 0);
	got = pw_events_query(a, NULL, -1, 0);
	assert_int_equal(json_array_size(got), 0);
	json_decref(got);

	pw_ep_free(p);
	pw_ep_free(q);
	free(a);
}

/* A deny record as the data path's are: kept deflated, in well under half
 * its length, and read back as the very line that was written. */
static void test_ring_deflates(void **state)
{
	struct pw_agent *a = calloc(1, sizeof(*a));
	struct pw_ep *p = new_ep("coder-7d4b9c8f5-x2x9q");
	union pw_ip rs = {0};
	size_t len = 0, zlen = 0;
	char q[64];
	json_t *got, *ev;

	assert_non_null(a);
	a->o.events_keep = 256;
	a->events = calloc(a->o.events_keep, sizeof(*a->events));
	assert_non_null(a->events);
	snprintf(a->node, sizeof(a->node), "node-1");
	snprintf(a->ev_prefix, sizeof(a->ev_prefix), "1a2319d938d");
	rs.v4 = htonl(0x0a2a0002);
	for (int i = 0; i < 300; i++) {
		snprintf(q, sizeof(q), "%x.exfil.example.test", i * 7919);
		pw_events_emit_agent(a, p, PW_R_DNS_NAME, PW_FAMILY_V4, &rs, (uint16_t)(40000 + i),
				     q, "no rule of the pod grants the name");
	}
	assert_int_equal(a->ev_count, 256);
	for (size_t i = 0; i < a->ev_count; i++) {
		len += a->events[i].len;
		zlen += a->events[i].zlen;
	}
	print_message("kept %zu bytes of lines in %zu (%.0f %%)\n", len, zlen, 100.0 * zlen / len);
	assert_true(zlen * 2 < len);

	got = pw_events_query(a, NULL, PW_R_DNS_NAME, 0);
	assert_int_equal(json_array_size(got), 256);
	ev = json_array_get(got, 255);
	assert_string_equal(json_string_value(json_object_get(ev, "hostname")),
			    "242125.exfil.example.test"); /* 299 * 7919 */
	assert_string_equal(json_string_value(json_object_get(ev, "pod")), p->name);
	assert_string_equal(json_string_value(json_object_get(ev, "id")), "1a2319d938d-300");
	json_decref(got);

	pw_events_close(a);
	pw_ep_free(p);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_keeps_lines),
		cmocka_unit_test(test_ring_deflates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

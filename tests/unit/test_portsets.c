// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lib/core/portsets on the recording fake maps: one id per distinct set,
 * written before it is handed out; ids adopted back after a restart; the
 * mark and sweep deletes only what no rule references, and nothing when the
 * mark could not be completed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "fake_maps.h"
#include "portsets.h"
#include "table.h"

static struct pw_range_set set_of(uint16_t lo, uint16_t hi)
{
	struct pw_range_set s = {.n = 1};

	s.r[0].lo = lo;
	s.r[0].hi = hi;
	s.r[0].proto = IPPROTO_TCP;
	return s;
}

static void cidr_ref(struct fake_maps *f, uint8_t last, uint32_t portset)
{
	struct pw_cidr4_key k = {.prefixlen = 64, .ep_id = 1, .addr = {192, 0, 2, last}};
	struct pw_cidr_val v = {.portset = portset};

	assert_int_equal(pw_map_put_cidr4(&f->m, &k, &v, PW_MAP_ANY), 0);
}

static void test_ids(void **state)
{
	struct fake_maps *f = fake_maps_new();
	struct pw_portsets p = {.next_id = 1};
	struct pw_range_set a = set_of(443, 443), b = set_of(80, 80), none = {0};
	struct pw_portset got;
	uint32_t id1, id2, id3, id0 = 7;

	assert_int_equal(pw_portsets_id(&p, &f->m, &none, &id0), 0);
	assert_int_equal(id0, 0); /* the empty set: any port, no entry */
	assert_int_equal(fake_count(f, PW_MAPID_ports), 0);
	assert_int_equal(pw_portsets_id(&p, &f->m, &a, &id1), 0);
	assert_int_equal(pw_portsets_id(&p, &f->m, &b, &id2), 0);
	assert_int_equal(pw_portsets_id(&p, &f->m, &a, &id3), 0);
	assert_int_equal(id1, id3); /* content-addressed */
	assert_int_not_equal(id1, id2);
	assert_int_equal(fake_count(f, PW_MAPID_ports), 2);
	/* the entry is in the map before its id is handed out */
	assert_int_equal(f->ops[0].kind, FAKE_PUT);
	assert_int_equal(pw_map_get_ports(&f->m, &id2, &got), 0);
	assert_int_equal(got.count, 1);
	assert_int_equal(got.r[0].lo, 80);

	/* a full map: refused, nothing registered */
	f->fail_id = PW_MAPID_ports;
	f->fail_err = -E2BIG;
	b = set_of(22, 22);
	assert_int_equal(pw_portsets_id(&p, &f->m, &b, &id3), -E2BIG);
	assert_int_equal(p.n, 2);
	pw_portsets_free(&p);
	free(f);
}

static void test_load(void **state)
{
	struct fake_maps *f = fake_maps_new();
	struct pw_portsets p = {.next_id = 1}, q = {0};
	struct pw_range_set a = set_of(443, 443), b = set_of(80, 80);
	uint32_t id1, id2, again, fresh;

	assert_int_equal(pw_portsets_id(&p, &f->m, &a, &id1), 0);
	assert_int_equal(pw_portsets_id(&p, &f->m, &b, &id2), 0);
	/* a restarted agent: the same ids for the same sets, new ones after */
	assert_int_equal(pw_portsets_load(&q, &f->m), 0);
	assert_int_equal(q.n, 2);
	assert_int_equal(pw_portsets_id(&q, &f->m, &a, &again), 0);
	assert_int_equal(again, id1);
	a = set_of(53, 53);
	assert_int_equal(pw_portsets_id(&q, &f->m, &a, &fresh), 0);
	assert_true(fresh > id1 && fresh > id2);
	pw_portsets_free(&p);
	pw_portsets_free(&q);
	free(f);
}

static void test_gc(void **state)
{
	struct fake_maps *f = fake_maps_new();
	struct pw_portsets p = {.next_id = 1};
	struct pw_range_set a = set_of(443, 443), b = set_of(80, 80);
	struct pw_portset got;
	uint32_t used, unused;

	assert_int_equal(pw_portsets_id(&p, &f->m, &a, &used), 0);
	assert_int_equal(pw_portsets_id(&p, &f->m, &b, &unused), 0);
	cidr_ref(f, 1, used);
	cidr_ref(f, 2, 0); /* an except: references no set */
	pw_portsets_gc(&p, &f->m);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].id, used);
	assert_int_equal(pw_map_get_ports(&f->m, &used, &got), 0);
	assert_int_not_equal(pw_map_get_ports(&f->m, &unused, &got), 0);
	pw_portsets_free(&p);
	free(f);
}

static long failing_sweep(struct pw_maps *m, enum pw_map_id id, pw_map_visit_fn fn, void *ctx,
			  long *deleted)
{
	if (id == PW_MAPID_learned)
		return -EIO;
	return fake_sweep(m, id, fn, ctx, deleted);
}

static void test_gc_incomplete_mark(void **state)
{
	static struct pw_maps_ops ops;
	struct fake_maps *f = fake_maps_new();
	struct pw_portsets p = {.next_id = 1};
	struct pw_range_set a = set_of(443, 443);
	uint32_t id;

	ops = fake_maps_ops;
	ops.sweep = failing_sweep;
	assert_int_equal(pw_portsets_id(&p, &f->m, &a, &id), 0);
	f->m.ops = &ops; /* pw_learned cannot be read: its references are unknown */
	pw_portsets_gc(&p, &f->m);
	assert_int_equal(p.n, 1);
	assert_int_equal(fake_count(f, PW_MAPID_ports), 1);
	pw_portsets_free(&p);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_gc_incomplete_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

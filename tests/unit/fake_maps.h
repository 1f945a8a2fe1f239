/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A recording fake of the typed map interface (lib/core/mapops.h): an
 * in-memory store of every map, and the log of the writes that changed it, in
 * order. Tests of the agent's logic hand it in place of the kernel's maps and
 * assert the order ("new entries, then stale deletes, then the endpoint").
 * One write can be made to fail (fail_id/fail_err), to test what is not done.
 */
#ifndef PODWALL_TESTS_FAKE_MAPS_H
#define PODWALL_TESTS_FAKE_MAPS_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mapops.h"

#define FAKE_KEY_MAX 48
#define FAKE_VAL_MAX 272
#define FAKE_ENTRIES 256
#define FAKE_OPS     256

#define FAKE_FITS(name, K, V, max, shown)                                                          \
	_Static_assert(sizeof(K) <= FAKE_KEY_MAX && sizeof(V) <= FAKE_VAL_MAX,                     \
		       #name " fits the fake");
PW_MAPS(FAKE_FITS)
#undef FAKE_FITS

enum fake_op_kind { FAKE_PUT = 'P', FAKE_DEL = 'D', FAKE_RELEASE = 'R', FAKE_DROP = 'X' };

struct fake_entry {
	enum pw_map_id id;
	_Alignas(8) uint8_t key[FAKE_KEY_MAX];
	_Alignas(8) uint8_t val[FAKE_VAL_MAX];
};

struct fake_op {
	enum fake_op_kind kind;
	enum pw_map_id id;
	_Alignas(8) uint8_t key[FAKE_KEY_MAX];
	_Alignas(8) uint8_t val[FAKE_VAL_MAX];
	int reason; /* FAKE_DROP */
};

struct fake_maps {
	struct pw_maps m;
	struct fake_entry e[FAKE_ENTRIES];
	size_t n;
	struct fake_op ops[FAKE_OPS];
	size_t n_ops;
	int fail_id; /* updates of this map fail with fail_err (-1: none) */
	int fail_err;
};

static inline struct fake_op *fake_log(struct fake_maps *f, enum fake_op_kind kind,
				       enum pw_map_id id, const void *key, const void *val)
{
	struct fake_op *o;

	if (f->n_ops == FAKE_OPS)
		abort();
	o = &f->ops[f->n_ops++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->id = id;
	if (key)
		memcpy(o->key, key, pw_map_key_size[id]);
	if (val)
		memcpy(o->val, val, pw_map_value_size[id]);
	return o;
}

static inline struct fake_entry *fake_find(struct fake_maps *f, enum pw_map_id id, const void *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].id == id && !memcmp(f->e[i].key, key, pw_map_key_size[id]))
			return &f->e[i];
	return NULL;
}

/* A read: not logged (the log is of the writes). */
static inline int fake_lookup(struct pw_maps *m, enum pw_map_id id, const void *key, void *value)
{
	struct fake_entry *e = fake_find(m->ctx, id, key);

	if (!e)
		return -ENOENT;
	memcpy(value, e->val, pw_map_value_size[id]);
	return 0;
}

static inline int fake_update(struct pw_maps *m, enum pw_map_id id, const void *key,
			      const void *value, uint64_t flags)
{
	struct fake_maps *f = m->ctx;
	struct fake_entry *e = fake_find(f, id, key);

	if ((int)id == f->fail_id)
		return f->fail_err;
	if (e && flags == PW_MAP_NOEXIST)
		return -EEXIST;
	if (!e) {
		if (f->n == FAKE_ENTRIES)
			return -E2BIG;
		e = &f->e[f->n++];
		memset(e, 0, sizeof(*e));
		e->id = id;
		memcpy(e->key, key, pw_map_key_size[id]);
	}
	memcpy(e->val, value, pw_map_value_size[id]);
	fake_log(f, FAKE_PUT, id, key, value);
	return 0;
}

static inline void fake_erase(struct fake_maps *f, struct fake_entry *e)
{
	fake_log(f, FAKE_DEL, e->id, e->key, NULL);
	*e = f->e[--f->n];
}

static inline int fake_remove(struct pw_maps *m, enum pw_map_id id, const void *key)
{
	struct fake_maps *f = m->ctx;
	struct fake_entry *e = fake_find(f, id, key);

	if (!e)
		return -ENOENT;
	fake_erase(f, e);
	return 0;
}

static inline long fake_sweep(struct pw_maps *m, enum pw_map_id id, pw_map_visit_fn fn, void *ctx,
			      long *deleted)
{
	struct fake_maps *f = m->ctx;
	bool victim[FAKE_ENTRIES] = {0};
	long seen = 0, gone = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->e[i].id == id) {
			seen++;
			victim[i] = fn && fn(f->e[i].key, f->e[i].val, ctx);
		}
	/* after the walk, as the real sweep; from the end so indexes stay valid */
	for (size_t i = f->n; i-- > 0;)
		if (victim[i]) {
			fake_erase(f, &f->e[i]);
			gone++;
		}
	if (deleted)
		*deleted = gone;
	return seen;
}

static const struct pw_maps_ops fake_maps_ops = {
	.lookup = fake_lookup,
	.update = fake_update,
	.remove = fake_remove,
	.sweep = fake_sweep,
};

static inline struct fake_maps *fake_maps_new(void)
{
	struct fake_maps *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	f->m.ops = &fake_maps_ops;
	f->m.ctx = f;
	f->fail_id = -1;
	return f;
}

static inline size_t fake_count(struct fake_maps *f, enum pw_map_id id)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += f->e[i].id == id;
	return n;
}

#endif

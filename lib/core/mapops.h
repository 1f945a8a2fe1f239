/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The typed map interface: every map write of the agent's logic goes through a
 * struct pw_maps, so a unit test can hand it a recording fake and assert the
 * order of the writes (tests/unit/fake_maps.h). The real one is struct
 * pw_bpf's (lib/sys/bpfglue.c, the bpf() syscalls).
 *
 * For each map of PW_MAPS (podwall/maps.h) there are
 *   pw_map_get_<name>(m, const K *key, V *value)                0, -ENOENT, -errno
 *   pw_map_put_<name>(m, const K *key, const V *value, flags)   0 or -errno
 *   pw_map_del_<name>(m, const K *key)                          0, -ENOENT, -errno
 *   pw_map_sweep_<name>(m, fn, ctx, deleted)                    as pw_maps_ops.sweep
 * with that map's key type K and value type V, so a key of the wrong map does
 * not compile. A per-CPU map's value is written to every CPU.
 */
#ifndef PODWALL_MAPOPS_H
#define PODWALL_MAPOPS_H

#include <stdbool.h>
#include <stdint.h>

#include "podwall/guard.h"
#include "podwall/maps.h"

#define PW_MAP_ID(name, key, value, max, shown) PW_MAPID_##name,
enum pw_map_id { PW_MAPS(PW_MAP_ID) PW_MAPID_COUNT };
#undef PW_MAP_ID

/* Update flags, the values of BPF_ANY and BPF_NOEXIST. */
#define PW_MAP_ANY     0
#define PW_MAP_NOEXIST 1

/* Visit one entry (value NULL if it vanished meanwhile); true deletes it after
 * the walk. */
typedef bool (*pw_map_visit_fn)(const void *key, const void *value, void *ctx);

struct pw_maps;

struct pw_maps_ops {
	/* Copies the value of key out: 0, -ENOENT, or -errno (-EOPNOTSUPP for a
	 * per-CPU map). */
	int (*lookup)(struct pw_maps *m, enum pw_map_id id, const void *key, void *value);
	int (*update)(struct pw_maps *m, enum pw_map_id id, const void *key, const void *value,
		      uint64_t flags);
	int (*remove)(struct pw_maps *m, enum pw_map_id id, const void *key);
	/* fn sees every entry (fn NULL: count only); the ones it returns true for
	 * are deleted after the walk (*deleted: how many, if not NULL). Returns
	 * the number of entries seen, or -errno. */
	long (*sweep)(struct pw_maps *m, enum pw_map_id id, pw_map_visit_fn fn, void *ctx,
		      long *deleted);
};

struct pw_maps {
	const struct pw_maps_ops *ops;
	void *ctx; /* the implementation's */
};

#define PW_MAP_TYPED(name, K, V, max, shown)                                                       \
	static inline int pw_map_get_##name(struct pw_maps *m, const K *key, V *value)             \
	{                                                                                          \
		return m->ops->lookup(m, PW_MAPID_##name, key, value);                             \
	}                                                                                          \
	static inline int pw_map_put_##name(struct pw_maps *m, const K *key, const V *value,       \
					    uint64_t flags)                                        \
	{                                                                                          \
		return m->ops->update(m, PW_MAPID_##name, key, value, flags);                      \
	}                                                                                          \
	static inline int pw_map_del_##name(struct pw_maps *m, const K *key)                       \
	{                                                                                          \
		return m->ops->remove(m, PW_MAPID_##name, key);                                    \
	}                                                                                          \
	static inline long pw_map_sweep_##name(struct pw_maps *m, pw_map_visit_fn fn, void *ctx,   \
					       long *deleted)                                      \
	{                                                                                          \
		return m->ops->sweep(m, PW_MAPID_##name, fn, ctx, deleted);                        \
	}
PW_MAPS(PW_MAP_TYPED)
#undef PW_MAP_TYPED

/* Key and value sizes by map id (what the loader checks the object against). */
#define PW_MAP_KSZ(name, K, V, max, shown) [PW_MAPID_##name] = sizeof(K),
#define PW_MAP_VSZ(name, K, V, max, shown) [PW_MAPID_##name] = sizeof(V),
static const uint32_t pw_map_key_size[PW_MAPID_COUNT] = {PW_MAPS(PW_MAP_KSZ)};
static const uint32_t pw_map_value_size[PW_MAPID_COUNT] = {PW_MAPS(PW_MAP_VSZ)};
#undef PW_MAP_KSZ
#undef PW_MAP_VSZ
#define PW_MAP_STR(name, K, V, max, shown) [PW_MAPID_##name] = PW_MAP_NAME(name),
static const char *const pw_map_names[PW_MAPID_COUNT] = {PW_MAPS(PW_MAP_STR)};
#undef PW_MAP_STR

#endif

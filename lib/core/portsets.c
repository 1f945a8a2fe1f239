// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* portsets: the registry of pw_ports (see portsets.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "portsets.h"

int pw_rangeset_subtract(struct pw_range_set *s, const struct pw_range_set *m)
{
	static const uint8_t every[] = {IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6,
					IPPROTO_SCTP};
	struct pw_range_set in = *s, out = {0};

	if (!m->n || !s->n)
		return 0;
	if (m->r[0].proto == PW_PROTO_ANY) {
		memset(s, 0, sizeof(*s));
		return 0;
	}
	if (in.r[0].proto == PW_PROTO_ANY) {
		memset(&in, 0, sizeof(in));
		for (size_t i = 0; i < sizeof(every); i++)
			in.r[in.n++] =
				(struct pw_port_range){.lo = 0, .hi = 65535, .proto = every[i]};
	}
	for (uint32_t i = 0; i < in.n; i++) {
		const struct pw_port_range *a = &in.r[i];
		uint32_t lo = a->lo; /* the first port of a not yet taken or kept */
		int err = 0;

		for (uint32_t j = 0; j < m->n && lo <= a->hi; j++) {
			const struct pw_port_range *b = &m->r[j];

			if (b->proto != a->proto || b->hi < lo || b->lo > a->hi)
				continue;
			if (b->lo > lo)
				err = pw_rangeset_add(&out, a->proto, (uint16_t)lo, b->lo - 1);
			if (err)
				return err;
			lo = (uint32_t)b->hi + 1;
		}
		if (lo <= a->hi && pw_rangeset_add(&out, a->proto, (uint16_t)lo, a->hi))
			return -E2BIG;
	}
	*s = out;
	return 0;
}

void pw_portsets_free(struct pw_portsets *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

void pw_portset_value(const struct pw_portset_ent *e, struct pw_portset *out)
{
	memset(out, 0, sizeof(*out));
	out->count = e->set.n;
	memcpy(out->r, e->set.r, sizeof(out->r));
}

static bool adopt(const void *key, const void *value, void *ctx)
{
	const struct pw_portset *ps = value;
	struct pw_portsets *p = ctx;
	uint32_t id = *(const uint32_t *)key;
	struct pw_portset_ent *n;

	if (!ps)
		return false;
	n = realloc(p->v, (p->n + 1) * sizeof(*n));
	if (!n)
		return false;
	p->v = n;
	n += p->n++;
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->set.n = ps->count > PW_MAX_PORT_RANGES ? PW_MAX_PORT_RANGES : ps->count;
	memcpy(n->set.r, ps->r, n->set.n * sizeof(ps->r[0]));
	if (id >= p->next_id)
		p->next_id = id + 1;
	return false;
}

int pw_portsets_load(struct pw_portsets *p, struct pw_maps *m)
{
	long n = pw_map_sweep_ports(m, adopt, p, NULL);

	if (!p->next_id)
		p->next_id = 1;
	return n < 0 ? (int)n : 0;
}

int pw_portsets_id(struct pw_portsets *p, struct pw_maps *m, const struct pw_range_set *set,
		   uint32_t *id)
{
	struct pw_portset_ent *n;
	struct pw_portset ps = {};
	int err;

	if (!set->n) {
		*id = 0;
		return 0;
	}
	for (size_t i = 0; i < p->n; i++)
		if (!memcmp(&p->v[i].set, set, sizeof(*set))) {
			*id = p->v[i].id;
			return 0;
		}
	n = realloc(p->v, (p->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->v = n;
	ps.count = set->n;
	memcpy(ps.r, set->r, sizeof(ps.r));
	err = pw_map_put_ports(m, &p->next_id, &ps, PW_MAP_NOEXIST);
	if (err) {
		pw_err("pw_ports: cannot add port set: %s (map holds %d)", strerror(-err),
		       PW_MAX_PORTSETS);
		return err;
	}
	n[p->n].id = p->next_id;
	n[p->n].set = *set;
	p->n++;
	*id = p->next_id++;
	return 0;
}

struct mark {
	const struct pw_portsets *p;
	uint8_t *used; /* which p->v[] are referenced */
};

static bool mark_id(uint32_t id, struct mark *mk)
{
	for (size_t i = 0; i < mk->p->n; i++)
		if (mk->p->v[i].id == id)
			mk->used[i] = 1;
	return false;
}

static bool mark_cidr(const void *key, const void *value, void *ctx)
{
	return value && mark_id(((const struct pw_cidr_val *)value)->portset, ctx);
}

static bool mark_learned(const void *key, const void *value, void *ctx)
{
	return value && mark_id(((const struct pw_learned_val *)value)->portset, ctx);
}

/* The kernel learner writes a name's portset into pw_learned itself. */
static bool mark_name(const void *key, const void *value, void *ctx)
{
	return value && mark_id(((const struct pw_name_val *)value)->portset, ctx);
}

void pw_portsets_gc(struct pw_portsets *p, struct pw_maps *m)
{
	struct mark mk = {.p = p, .used = calloc(p->n ? p->n : 1, 1)};
	size_t out = 0;

	if (!mk.used)
		return;
	if (pw_map_sweep_cidr4(m, mark_cidr, &mk, NULL) < 0 ||
	    pw_map_sweep_cidr6(m, mark_cidr, &mk, NULL) < 0 ||
	    pw_map_sweep_learned(m, mark_learned, &mk, NULL) < 0 ||
	    pw_map_sweep_names(m, mark_name, &mk, NULL) < 0)
		goto out; /* an incomplete mark must not sweep */
	for (size_t i = 0; i < p->n; i++) {
		if (!mk.used[i]) {
			pw_map_del_ports(m, &p->v[i].id);
			continue;
		}
		p->v[out++] = p->v[i];
	}
	p->n = out;
out:
	free(mk.used);
}

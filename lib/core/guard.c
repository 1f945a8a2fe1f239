// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard.h"
#include "ipaddr.h"

static const char *const default_prefixes[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
	"fc00::/7",   "64:ff9b::/96",  "64:ff9b:1::/48",
};

static void clear_host_bits(uint8_t family, union pw_ip *a, uint8_t prefix)
{
	size_t bytes = family == PW_FAMILY_V4 ? 4 : 16;

	for (size_t i = 0; i < bytes; i++) {
		int bits = (int)prefix - (int)i * 8;

		if (bits >= 8)
			continue;
		a->v6[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

int pw_guard_add(struct pw_guard *g, uint8_t family, const union pw_ip *addr, uint8_t prefix,
		 uint8_t kind)
{
	return pw_guard_add_from(g, family, addr, prefix, kind, NULL);
}

int pw_guard_add_from(struct pw_guard *g, uint8_t family, const union pw_ip *addr, uint8_t prefix,
		      uint8_t kind, const char *source)
{
	struct pw_guard_prefix p = {.family = family, .prefix = prefix, .kind = kind};
	size_t same_family = 0;

	if ((family != PW_FAMILY_V4 && family != PW_FAMILY_V6) ||
	    prefix > (family == PW_FAMILY_V4 ? 32 : 128) || kind >= PW_G_MAX)
		return -EINVAL;
	g->n_sorted = 0; /* the index is stale */
	p.addr = *addr;
	if (family == PW_FAMILY_V4)
		memset(p.addr.v6 + 4, 0, 12);
	clear_host_bits(family, &p.addr, prefix);
	for (size_t i = 0; i < g->n; i++) {
		struct pw_guard_prefix *q = &g->v[i];

		if (q->family != family)
			continue;
		same_family++;
		if (q->prefix == prefix && !memcmp(&q->addr, &p.addr, sizeof(p.addr))) {
			if (kind == PW_G_EXEMPT && q->kind != kind) {
				char *src = source ? strdup(source) : NULL;

				if (source && !src)
					return -ENOMEM;
				free(q->source);
				q->source = src;
				q->kind = kind;
			}
			return 0;
		}
	}
	if (same_family >= PW_MAX_GUARD)
		return -E2BIG;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct pw_guard_prefix *v = realloc(g->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	if (source && !(p.source = strdup(source)))
		return -ENOMEM;
	g->v[g->n++] = p;
	return 0;
}

int pw_guard_add_str(struct pw_guard *g, const char *s, uint8_t kind, const char **why)
{
	return pw_guard_add_str_from(g, s, kind, NULL, why);
}

int pw_guard_add_str_from(struct pw_guard *g, const char *s, uint8_t kind, const char *source,
			  const char **why)
{
	union pw_ip ip = {0};
	uint8_t family, prefix;
	int err;

	*why = NULL;
	if (strchr(s, '/')) {
		err = pw_cidr_parse(s, &family, &ip, &prefix, why);
		if (err)
			return err;
	} else {
		if (pw_ip_parse(s, &family, &ip)) {
			*why = "not an IPv4 or IPv6 address or prefix";
			return -EINVAL;
		}
		prefix = family == PW_FAMILY_V4 ? 32 : 128;
	}
	err = pw_guard_add_from(g, family, &ip, prefix, kind, source);
	if (err == -E2BIG)
		*why = "too many prefixes of one family (at most 4096)";
	else if (err)
		*why = "cannot add the prefix";
	return err;
}

int pw_guard_add_defaults(struct pw_guard *g)
{
	for (size_t i = 0; i < sizeof(default_prefixes) / sizeof(default_prefixes[0]); i++) {
		const char *why;
		int err = pw_guard_add_str_from(g, default_prefixes[i], PW_G_PRIVATE, "default",
						&why);

		if (err)
			return err;
	}
	return 0;
}

/* Longest prefix of the table holding addr: its kind, or -1 if none. */
static int longest(const struct pw_guard *g, uint8_t family, const union pw_ip *addr)
{
	int best = -1, kind = -1;

	for (size_t i = 0; i < g->n; i++) {
		const struct pw_guard_prefix *p = &g->v[i];

		if (p->family != family || (int)p->prefix <= best ||
		    !pw_ip_in_prefix(family, addr, &p->addr, p->prefix))
			continue;
		best = p->prefix;
		kind = p->kind;
	}
	return kind;
}

static int key_cmp(const void *x, const void *y)
{
	const struct pw_guard_key *a = x, *b = y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static int fam_slot(uint8_t family)
{
	return family == PW_FAMILY_V4 ? 0 : 1;
}

int pw_guard_index(struct pw_guard *g)
{
	struct pw_guard_key *k = NULL;

	g->n_sorted = 0;
	memset(g->has_len, 0, sizeof(g->has_len));
	free(g->sorted);
	g->sorted = NULL;
	if (!g->n)
		return 0;
	k = malloc(g->n * sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].family = g->v[i].family;
		k[i].prefix = g->v[i].prefix;
		k[i].kind = g->v[i].kind;
		k[i].addr = g->v[i].addr;
		g->has_len[fam_slot(k[i].family)][k[i].prefix] = 1;
	}
	qsort(k, g->n, sizeof(*k), key_cmp);
	g->sorted = k;
	g->n_sorted = g->n;
	return 0;
}

/* longest(), through the index: from the longest length down, the first hit. */
static int longest_indexed(const struct pw_guard *g, uint8_t family, const union pw_ip *addr)
{
	int max = family == PW_FAMILY_V4 ? 32 : 128;

	for (int len = max; len >= 0; len--) {
		struct pw_guard_key want = {.family = family, .prefix = (uint8_t)len};
		const struct pw_guard_key *hit;

		if (!g->has_len[fam_slot(family)][len])
			continue;
		want.addr = *addr;
		if (family == PW_FAMILY_V4)
			memset(want.addr.v6 + 4, 0, 12);
		clear_host_bits(family, &want.addr, (uint8_t)len);
		hit = bsearch(&want, g->sorted, g->n_sorted, sizeof(want), key_cmp);
		if (hit)
			return hit->kind;
	}
	return -1;
}

static int lookup(const struct pw_guard *g, uint8_t family, const union pw_ip *addr)
{
	if (g->sorted && g->n_sorted == g->n)
		return longest_indexed(g, family, addr);
	return longest(g, family, addr);
}

uint8_t pw_guard_match(const struct pw_guard *g, uint8_t family, const union pw_ip *addr)
{
	union pw_ip v4 = {0};
	int k;

	k = lookup(g, family, addr);
	if (k > 0)
		return (uint8_t)k;
	if (family == PW_FAMILY_V6 && pw_guard_embedded_v4(addr->v6, v4.v6)) {
		k = lookup(g, PW_FAMILY_V4, &v4);
		if (k > 0)
			return (uint8_t)k;
	}
	return PW_G_EXEMPT;
}

bool pw_guard_cluster_name(const char *qname, const char *domain)
{
	size_t n, d;

	if (!domain || !*domain)
		return false;
	n = strlen(qname);
	d = strlen(domain);
	if (n > d && qname[n - d - 1] == '.' && !strcasecmp(qname + n - d, domain))
		return true;
	return n == d && !strcasecmp(qname, domain);
}

const char *pw_guard_kind_name(uint8_t kind)
{
	static const char *const names[PW_G_MAX] = {
		[PW_G_EXEMPT] = "exempt",	    [PW_G_PRIVATE] = "private range",
		[PW_G_POD_CIDR] = "pod CIDR",	    [PW_G_SERVICE] = "service CIDR",
		[PW_G_NODE] = "the node's address", [PW_G_EXTRA] = "--never-learn",
	};

	return kind < PW_G_MAX ? names[kind] : "?";
}

bool pw_guard_equal(const struct pw_guard *x, const struct pw_guard *y)
{
	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++) {
		const struct pw_guard_prefix *p = &x->v[i], *q = &y->v[i];

		if (p->family != q->family || p->prefix != q->prefix || p->kind != q->kind ||
		    memcmp(&p->addr, &q->addr, sizeof(p->addr)) ||
		    strcmp(p->source ? p->source : "", q->source ? q->source : ""))
			return false;
	}
	return true;
}

void pw_guard_free(struct pw_guard *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i].source);
	free(g->v);
	free(g->sorted);
	memset(g, 0, sizeof(*g));
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipaddr.h"
#include "k8sguard.h"
#include "k8sobj.h"

/* The service CIDRs distributions use when the operator sets none. */
static const struct {
	const char *cidr;
	const char *distro;
} default_service_ranges[] = {
	{"10.43.0.0/16", "k3s/RKE2"},
	{"2001:cafe:43::/112", "k3s/RKE2"},
	{"10.96.0.0/12", "kubeadm"},
};

static int add(struct pw_guard *g, const char *s, uint8_t kind, const char *source, size_t *skipped)
{
	const char *why;
	int err;

	if (!s || !*s) {
		(*skipped)++;
		return 0;
	}
	err = pw_guard_add_str_from(g, s, kind, source, &why);
	if (err == -ENOMEM)
		return err;
	if (err)
		(*skipped)++;
	return 0;
}

struct node_ctx {
	struct pw_guard *g;
	const char *source;
	size_t *skipped;
};

/* Lenient: an entry that is no prefix or address is skipped (and counted). */
static int node_item(void *ctx, enum pw_k8s_node_item kind, const json_t *v, const char *field)
{
	struct node_ctx *c = ctx;

	if (kind == PW_K8S_NODE_NOT_LIST)
		return 0; /* as absent */
	return add(c->g, json_string_value(v), kind == PW_K8S_NODE_ADDR ? PW_G_NODE : PW_G_POD_CIDR,
		   c->source, c->skipped);
}

int pw_guard_add_k8s_node(struct pw_guard *g, const json_t *node, size_t *skipped)
{
	const char *name =
		json_string_value(json_object_get(json_object_get(node, "metadata"), "name"));
	char source[300];
	struct node_ctx c = {.g = g, .source = source, .skipped = skipped};

	snprintf(source, sizeof(source), "api:node/%s", name ? name : "?");
	return pw_k8s_node_walk(node, node_item, &c);
}

static int add_service_ip(struct pw_guard *g, const char *ip, bool default_ranges,
			  const char *source, size_t *skipped)
{
	union pw_ip addr = {0};
	uint8_t family;
	int err;

	if (!ip || !strcmp(ip, "None") || !*ip)
		return 0; /* headless */
	if (pw_ip_parse(ip, &family, &addr)) {
		(*skipped)++;
		return 0;
	}
	err = add(g, ip, PW_G_SERVICE, source, skipped);
	for (size_t i = 0; !err && default_ranges &&
			   i < sizeof(default_service_ranges) / sizeof(default_service_ranges[0]);
	     i++) {
		union pw_ip net = {0};
		uint8_t f, plen;
		const char *why;
		char src[400];

		if (pw_cidr_parse(default_service_ranges[i].cidr, &f, &net, &plen, &why) ||
		    f != family || !pw_ip_in_prefix(family, &addr, &net, plen))
			continue;
		snprintf(src, sizeof(src), "%s (%s default range)", source,
			 default_service_ranges[i].distro);
		err = add(g, default_service_ranges[i].cidr, PW_G_SERVICE, src, skipped);
	}
	return err;
}

int pw_guard_add_k8s_service(struct pw_guard *g, const json_t *svc, bool default_ranges,
			     size_t *skipped)
{
	const json_t *md = json_object_get(svc, "metadata");
	const json_t *spec = json_object_get(svc, "spec");
	const json_t *ips = json_object_get(spec, "clusterIPs");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	char source[300];
	const json_t *v;
	size_t i;
	int err = 0;

	snprintf(source, sizeof(source), "api:service/%s/%s", ns ? ns : "?", name ? name : "?");
	if (json_is_array(ips) && json_array_size(ips)) {
		json_array_foreach(ips, i, v)
		{
			if (!json_is_string(v)) {
				(*skipped)++;
				continue;
			}
			err = add_service_ip(g, json_string_value(v), default_ranges, source,
					     skipped);
			if (err)
				return err;
		}
		return 0;
	}
	v = json_object_get(spec, "clusterIP");
	if (v && !json_is_string(v)) {
		(*skipped)++;
		return 0;
	}
	return add_service_ip(g, json_string_value(v), default_ranges, source, skipped);
}

/* json_equal, with two absent values equal */
static bool same(const json_t *x, const json_t *y)
{
	return (!x && !y) || json_equal(x, y);
}

bool pw_guard_k8s_same(const json_t *old_obj, const json_t *new_obj)
{
	static const char *const spec_fields[] = {"podCIDR", "podCIDRs", "clusterIP", "clusterIPs"};
	const json_t *os = json_object_get(old_obj, "spec"), *ns = json_object_get(new_obj, "spec");

	for (size_t i = 0; i < sizeof(spec_fields) / sizeof(spec_fields[0]); i++)
		if (!same(json_object_get(os, spec_fields[i]), json_object_get(ns, spec_fields[i])))
			return false;
	return same(json_object_get(json_object_get(old_obj, "status"), "addresses"),
		    json_object_get(json_object_get(new_obj, "status"), "addresses"));
}

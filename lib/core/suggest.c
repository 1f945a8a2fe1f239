// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipaddr.h"
#include "suggest.h"

void pw_suggest_init(struct pw_suggest *s)
{
	s->names = json_object();
	s->addrs = json_object();
}

void pw_suggest_free(struct pw_suggest *s)
{
	json_decref(s->names);
	json_decref(s->addrs);
	s->names = s->addrs = NULL;
}

void pw_suggest_add(struct pw_suggest *s, const char *host, const char *addr, const char *proto,
		    int port)
{
	json_t *set, *where = host ? s->names : s->addrs;
	const char *key = host ? host : addr;
	char pk[32], up[8];
	size_t i;

	if (!key || !proto || port < 0 || port > 65535)
		return;
	for (i = 0; i + 1 < sizeof(up) && proto[i]; i++)
		up[i] = (char)toupper((unsigned char)proto[i]);
	up[i] = '\0';
	if (strcmp(up, "TCP") && strcmp(up, "UDP") && strcmp(up, "SCTP"))
		return; /* ICMP and others: granted by no port rule */
	snprintf(pk, sizeof(pk), "%s/%d", up, port);
	set = json_object_get(where, key);
	if (!set) {
		set = json_object();
		json_object_set_new(where, key, set);
	}
	json_object_set_new(set, pk, json_true());
}

/* The ports set as a canonical string ("TCP/443,UDP/53"), for grouping. */
static char *ports_key(json_t *set)
{
	const char **keys;
	size_t n = json_object_size(set), len = 1, i = 0;
	const char *k;
	json_t *v;
	char *out;

	keys = calloc(n ? n : 1, sizeof(*keys));
	if (!keys)
		return NULL;
	json_object_foreach(set, k, v)
	{
		keys[i++] = k;
		len += strlen(k) + 1;
	}
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++)
			if (strcmp(keys[a], keys[b]) > 0) {
				const char *t = keys[a];

				keys[a] = keys[b];
				keys[b] = t;
			}
	out = calloc(1, len);
	for (i = 0; out && i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, keys[i]);
	}
	free(keys);
	return out;
}

static json_t *ports_json(const char *key)
{
	json_t *a = json_array();
	char *dup = strdup(key), *save = NULL;

	for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(t, '/');
		int port = slash ? atoi(slash + 1) : 0;

		if (!slash)
			continue;
		*slash = '\0';
		if (port)
			json_array_append_new(a,
					      json_pack("{s:i,s:s}", "port", port, "protocol", t));
		else
			json_array_append_new(a, json_pack("{s:s}", "protocol", t));
	}
	free(dup);
	return a;
}

static const char *parent_of(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot && strchr(dot + 1, '.') ? dot + 1 : NULL; /* keep at least 2 labels */
}

static size_t labels(const char *n)
{
	size_t c = 1;

	for (; *n; n++)
		c += *n == '.';
	return c;
}

/* Is n below p ("x.p", "y.x.p")? */
static bool below(const char *n, const char *p)
{
	size_t l = strlen(n), pl = strlen(p);

	return l > pl + 1 && n[l - pl - 1] == '.' && !strcmp(n + l - pl, p);
}

/*
 * One pass over by_name (name or pattern -> ports key). direct: the names
 * one label below a parent P become "*.P" when there are at least two and
 * they need the same ports (deeper names stay: "*." is one label). !direct:
 * when patterns "*.X.P" exist for at least two X and everything below P
 * needs the same ports, all of it becomes "**.P". Never for a parent of one
 * label ("*.com" is never suggested).
 */
static void collapse_pass(json_t *by_name, bool direct)
{
	json_t *parents = json_object();
	const char *k, *k2;
	json_t *v, *v2;
	void *tmp;

	json_object_foreach(by_name, k, v)
	{
		const char *p = k[0] == '*' ? strchr(k, '.') + 1 : k;

		p = direct ? parent_of(p) : (k[0] == '*' && k[1] == '.' ? parent_of(p) : NULL);
		if (p && !json_object_get(parents, p))
			json_object_set_new(parents, p, json_true());
	}
	json_object_foreach(parents, k, v)
	{
		size_t n = 0, want = labels(k) + (direct ? 1 : 2);
		const char *ports = NULL;
		bool same = true;
		char pat[300];
		json_t *pv;

		json_object_foreach(by_name, k2, v2)
		{
			/* "*.P" matches only the names one label below P */
			if (!below(k2, k) || (direct && (k2[0] == '*' || labels(k2) != want)))
				continue;
			if (!ports)
				ports = json_string_value(v2);
			else if (strcmp(ports, json_string_value(v2)))
				same = false;
			if (direct ? (k2[0] != '*' && labels(k2) == want)
				   : (k2[0] == '*' && k2[1] == '.' && labels(k2) == want))
				n++;
		}
		if (n < 2 || !same)
			continue;
		snprintf(pat, sizeof(pat), "%s.%s", direct ? "*" : "**", k);
		pv = json_string(ports);
		json_object_foreach_safe(by_name, tmp, k2,
					 v2) if (below(k2, k) &&
						 (!direct || (k2[0] != '*' && labels(k2) == want)))
			json_object_del(by_name, k2);
		json_object_set_new(by_name, pat, pv);
	}
	json_decref(parents);
}

static void collapse(json_t *by_name)
{
	collapse_pass(by_name, true);
	collapse_pass(by_name, false);
}

json_t *pw_suggest_policy(const struct pw_suggest *s, const char *ns, const char *name,
			  json_t *match_labels, bool collapse_names)
{
	json_t *egress = json_array(), *by_name = json_object(), *groups = json_object();
	const char *k, *pk;
	json_t *v, *g;

	json_object_foreach(s->names, k, v)
	{
		char *key = ports_key(v);

		if (key)
			json_object_set_new(by_name, k, json_string(key));
		free(key);
	}
	if (collapse_names)
		collapse(by_name);
	/* one rule per set of ports: its names, then its patterns */
	json_object_foreach(by_name, k, v)
	{
		g = json_object_get(groups, json_string_value(v));
		if (!g) {
			g = json_array();
			json_object_set_new(groups, json_string_value(v), g);
		}
		json_array_append_new(g, k[0] == '*' ? json_pack("{s:s}", "matchPattern", k)
						     : json_pack("{s:s}", "matchName", k));
	}
	json_object_foreach(groups, pk, g) json_array_append_new(
		egress, json_pack("{s:O,s:o}", "toFQDNs", g, "ports", ports_json(pk)));
	json_object_foreach(s->addrs, k, v)
	{
		char *key = ports_key(v), cidr[64];
		uint8_t fam;
		union pw_ip ip;

		if (!key || pw_ip_parse(k, &fam, &ip)) {
			free(key);
			continue;
		}
		snprintf(cidr, sizeof(cidr), "%s/%d", k, fam == PW_FAMILY_V4 ? 32 : 128);
		json_array_append_new(egress, json_pack("{s:[{s:s}],s:o}", "toCIDRs", "cidr", cidr,
							"ports", ports_json(key)));
		free(key);
	}
	json_decref(by_name);
	json_decref(groups);
	return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:{s:O},s:s,s:o}}", "apiVersion",
			 "podwall.io/v1alpha1", "kind", "EgressPolicy", "metadata", "name", name,
			 "namespace", ns, "spec", "podSelector", "matchLabels", match_labels,
			 "mode", "enforce", "egress", egress);
}

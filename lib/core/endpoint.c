// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "fqdn.h"
#include "ipaddr.h"
#include "log.h"

static void learned_from_json(struct pw_ep *ep, const json_t *arr);

struct pw_ep *pw_ep_new(void)
{
	return calloc(1, sizeof(struct pw_ep));
}

static void name_free(struct pw_learned_name *n)
{
	free(n->name);
	free(n->addrs);
}

void pw_ep_forget_names(struct pw_ep *ep)
{
	for (size_t i = 0; i < ep->n_names; i++)
		name_free(&ep->names[i]);
	free(ep->names);
	ep->names = NULL;
	ep->n_names = 0;
	ep->cap_names = 0;
	ep->n_addrs = 0;
	ep->learn_count_dirty = true;
	pw_ep_ports_reset(ep);
}

static bool same_ports(const struct pw_range_set *a, const struct pw_range_set *b)
{
	return a->n == b->n && !memcmp(a->r, b->r, a->n * sizeof(a->r[0]));
}

const struct pw_range_set *pw_ep_ports_share(struct pw_ep *ep, const struct pw_range_set *s)
{
	struct pw_range_set **nv, *copy;

	for (size_t i = 0; i < ep->n_port_sets; i++)
		if (same_ports(ep->port_sets[i], s))
			return ep->port_sets[i];
	nv = realloc(ep->port_sets, (ep->n_port_sets + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	ep->port_sets = nv;
	copy = malloc(sizeof(*copy));
	if (!copy)
		return NULL;
	*copy = *s;
	ep->port_sets[ep->n_port_sets++] = copy;
	return copy;
}

void pw_ep_ports_reset(struct pw_ep *ep)
{
	for (size_t i = 0; i < ep->n_names; i++)
		ep->names[i].ports = NULL;
	for (size_t i = 0; i < ep->n_port_sets; i++)
		free(ep->port_sets[i]);
	free(ep->port_sets);
	ep->port_sets = NULL;
	ep->n_port_sets = 0;
}

static void seen_free(struct pw_ep *ep)
{
	for (size_t i = 0; ep->seen && i < PW_EP_SEEN; i++)
		free(ep->seen[i].name);
	free(ep->seen);
	ep->seen = NULL;
}

void pw_ep_free(struct pw_ep *ep)
{
	if (!ep)
		return;
	free(ep->namespace);
	free(ep->name);
	free(ep->compile_error);
	free(ep->hook_problem);
	pw_labels_free(&ep->labels);
	pw_compiled_free(&ep->compiled);
	pw_ep_forget_names(ep);
	seen_free(ep);
	free(ep);
}

const char *pw_ep_pod(const struct pw_ep *ep, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ep->namespace ? ep->namespace : "?", ep->name ? ep->name : "?");
	return buf;
}

json_t *pw_ep_to_json(const struct pw_ep *ep)
{
	json_t *o = json_object(), *labels = json_object(), *ips = json_array();
	char buf[PW_IP_STRLEN];

	for (size_t i = 0; i < ep->labels.n; i++)
		json_object_set_new(labels, ep->labels.v[i].key,
				    json_string(ep->labels.v[i].value));
	if (ep->flags & PW_EP_HAS_V4)
		json_array_append_new(
			ips,
			json_string(pw_ip_str(PW_FAMILY_V4, (const union pw_ip *)&ep->ip4, buf)));
	if (ep->flags & PW_EP_HAS_V6)
		json_array_append_new(
			ips,
			json_string(pw_ip_str(PW_FAMILY_V6, (const union pw_ip *)ep->ip6, buf)));
	json_object_set_new(o, "container_id", json_string(ep->container_id));
	json_object_set_new(o, "namespace", json_string(ep->namespace ? ep->namespace : ""));
	json_object_set_new(o, "name", json_string(ep->name ? ep->name : ""));
	json_object_set_new(o, "netns", json_string(ep->netns));
	json_object_set_new(o, "ifname", json_string(ep->ifname));
	json_object_set_new(o, "host_ifname", json_string(ep->host_ifname));
	json_object_set_new(o, "ifindex", json_integer(ep->ifindex));
	json_object_set_new(o, "ep_id", json_integer(ep->ep_id));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "ips", ips);
	if (ep->flags & PW_EP_HAS_MAC) {
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", ep->mac[0], ep->mac[1],
			 ep->mac[2], ep->mac[3], ep->mac[4], ep->mac[5]);
		json_object_set_new(o, "mac", json_string(mac));
	}
	return o;
}

static int copy_str(char *dst, size_t len, const json_t *obj, const char *key, bool required)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v) {
		dst[0] = '\0';
		return required ? -EINVAL : 0;
	}
	s = json_string_value(v);
	if (!s || strlen(s) >= len)
		return -EINVAL;
	strcpy(dst, s);
	return 0;
}

struct pw_ep *pw_ep_from_json(const json_t *obj, char *err, size_t errlen)
{
	struct pw_ep *ep = pw_ep_new();
	const json_t *labels, *ips, *v;
	const char *key, *ns, *name;
	size_t i;

	if (!ep) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "not a JSON object");
		goto fail;
	}
	if (copy_str(ep->container_id, sizeof(ep->container_id), obj, "container_id", true) ||
	    !ep->container_id[0]) {
		snprintf(err, errlen, "container_id: missing or too long");
		goto fail;
	}
	if (copy_str(ep->netns, sizeof(ep->netns), obj, "netns", false) ||
	    copy_str(ep->ifname, sizeof(ep->ifname), obj, "ifname", false)) {
		snprintf(err, errlen, "netns/ifname: not a string or too long");
		goto fail;
	}
	if (copy_str(ep->host_ifname, sizeof(ep->host_ifname), obj, "host_ifname", true) ||
	    !ep->host_ifname[0]) {
		snprintf(err, errlen, "host_ifname: missing or longer than %d", IF_NAMESIZE - 1);
		goto fail;
	}
	ns = json_string_value(json_object_get(obj, "namespace"));
	name = json_string_value(json_object_get(obj, "name"));
	if (!ns || !*ns || !name || !*name) {
		snprintf(err, errlen,
			 "namespace and name: required (K8S_POD_NAMESPACE/K8S_POD_NAME)");
		goto fail;
	}
	ep->namespace = strdup(ns);
	ep->name = strdup(name);
	if (!ep->namespace || !ep->name)
		goto oom;
	v = json_object_get(obj, "ep_id");
	if (json_is_integer(v))
		ep->ep_id = (uint32_t)json_integer_value(v);
	labels = json_object_get(obj, "labels");
	if (labels && !json_is_object(labels)) {
		snprintf(err, errlen, "labels: must be an object of strings");
		goto fail;
	}
	if (labels && json_object_size(labels)) {
		ep->labels.v = calloc(json_object_size(labels), sizeof(*ep->labels.v));
		if (!ep->labels.v)
			goto oom;
		json_object_foreach((json_t *)labels, key, v)
		{
			struct pw_label *l = &ep->labels.v[ep->labels.n];

			if (!json_is_string(v)) {
				snprintf(err, errlen, "labels.%s: must be a string", key);
				goto fail;
			}
			l->key = strdup(key);
			l->value = strdup(json_string_value(v));
			ep->labels.n++;
			if (!l->key || !l->value)
				goto oom;
		}
	}
	ips = json_object_get(obj, "ips");
	if (!json_is_array(ips) || !json_array_size(ips)) {
		snprintf(err, errlen, "ips: at least one address required");
		goto fail;
	}
	json_array_foreach(ips, i, v)
	{
		const char *s = json_string_value(v);
		char addr[PW_IP_STRLEN + 1];
		union pw_ip ip;
		uint8_t family;
		size_t n;

		if (!s) {
			snprintf(err, errlen, "ips[%zu]: must be a string", i);
			goto fail;
		}
		n = strcspn(s, "/");
		if (n > PW_IP_STRLEN) {
			snprintf(err, errlen, "ips[%zu]: not an address: %s", i, s);
			goto fail;
		}
		memcpy(addr, s, n);
		addr[n] = '\0';
		if (pw_ip_parse(addr, &family, &ip)) {
			snprintf(err, errlen, "ips[%zu]: not an address: %s", i, s);
			goto fail;
		}
		if (family == PW_FAMILY_V4 && !(ep->flags & PW_EP_HAS_V4)) {
			ep->ip4 = ip.v4;
			ep->flags |= PW_EP_HAS_V4;
		} else if (family == PW_FAMILY_V6 && !(ep->flags & PW_EP_HAS_V6)) {
			memcpy(ep->ip6, ip.v6, 16);
			ep->flags |= PW_EP_HAS_V6;
		} else {
			snprintf(err, errlen, "ips[%zu]: one address per family is supported", i);
			goto fail;
		}
	}
	v = json_object_get(obj, "mac");
	if (v) {
		const char *s = json_string_value(v);
		unsigned int m[6];
		char end;

		if (!s ||
		    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
			   &end) != 6 ||
		    strlen(s) != 17 || (m[0] & 1)) {
			snprintf(err, errlen, "mac: not a unicast MAC address (aa:bb:cc:dd:ee:ff)");
			goto fail;
		}
		for (int k = 0; k < 6; k++)
			ep->mac[k] = (uint8_t)m[k];
		ep->flags |= PW_EP_HAS_MAC;
	}
	learned_from_json(ep, json_object_get(obj, "learned"));
	return ep;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	pw_ep_free(ep);
	return NULL;
}

static void state_path(char *buf, size_t len, const char *dir, const struct pw_ep *ep)
{
	snprintf(buf, len, "%s/%s.json", dir, ep->container_id);
}

/* Learned names survive an agent restart (same boot: monotonic times hold).
 * The file keeps nanoseconds (an older agent's file loads, rounded to the
 * second) and each name's addresses least recently seen first. */
static json_t *name_to_json(const struct pw_learned_name *n)
{
	json_t *addrs = json_array();
	char buf[PW_IP_STRLEN];

	for (size_t j = 0; j < n->n_addrs; j++)
		json_array_append_new(
			addrs,
			json_pack("{s:s,s:I,s:I}", "ip",
				  pw_ip_str(n->addrs[j].family, &n->addrs[j].ip, buf), "expires_ns",
				  (json_int_t)pw_learned_expires_ns(&n->addrs[j]), "seen_ns",
				  (json_int_t)pw_learned_seen_ns(&n->addrs[j])));
	return json_pack("{s:s,s:I,s:o}", "name", n->name, "resolved_ns",
			 (json_int_t)n->resolved_ns, "addrs", addrs);
}

static void learned_from_json(struct pw_ep *ep, const json_t *arr)
{
	const json_t *n, *a;
	size_t i, j;

	json_array_foreach(arr, i, n)
	{
		const char *name = json_string_value(json_object_get(n, "name"));
		json_int_t resolved = json_integer_value(json_object_get(n, "resolved_ns"));
		struct pw_learned_name *ln;
		char norm[PW_FQDN_MAX + 1];
		const char *why;

		if (!name || pw_fqdn_normalize(name, norm, &why))
			continue;
		json_array_foreach(json_object_get(n, "addrs"), j, a)
		{
			const char *ip = json_string_value(json_object_get(a, "ip"));
			json_int_t exp = json_integer_value(json_object_get(a, "expires_ns"));
			json_int_t seen = json_integer_value(json_object_get(a, "seen_ns"));
			union pw_ip addr;
			uint8_t family;

			if (!ip || pw_ip_parse(ip, &family, &addr) || exp <= 0)
				continue;
			pw_ep_learn(ep, norm, family, &addr, (uint64_t)exp, (uint64_t)seen,
				    SIZE_MAX, NULL);
		}
		/* pw_ep_learn set it to the last address's seen_ns: restore it. */
		ln = pw_ep_find_name(ep, norm);
		if (ln && resolved > 0)
			ln->resolved_ns = (uint64_t)resolved;
	}
}

/*
 * The endpoint's JSON object with its learned names, written one name at a
 * time: a JSON tree of every learned address would cost ~600 B an address
 * while it is written (jansson's objects), ten times the state itself.
 */
static int save_to(FILE *f, const struct pw_ep *ep)
{
	json_t *o = pw_ep_to_json(ep);
	char *head = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len = head ? strlen(head) : 0;
	int ret = 0;

	json_decref(o);
	if (len < 2 || head[len - 1] != '}') {
		free(head);
		return -ENOMEM;
	}
	head[len - 1] = '\0'; /* the object stays open for "learned" */
	if (fprintf(f, "%s,\"learned\":[", head) < 0)
		ret = -EIO;
	free(head);
	for (size_t i = 0; i < ep->n_names && !ret; i++) {
		json_t *n = name_to_json(&ep->names[i]);

		if (!n || (i && fputc(',', f) == EOF) || json_dumpf(n, f, JSON_COMPACT))
			ret = -EIO;
		json_decref(n);
	}
	if (!ret && fputs("]}\n", f) == EOF)
		ret = -EIO;
	return ret;
}

int pw_ep_save(const struct pw_ep *ep, const char *state_dir)
{
	char path[512], tmp[520];
	FILE *f;
	int ret;

	state_path(path, sizeof(path), state_dir, ep);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		ret = -errno;
		pw_err("cannot write endpoint state %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = save_to(f, ep);
	if (fclose(f) && !ret)
		ret = -errno ? -errno : -EIO;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		pw_err("cannot write endpoint state %s: %s", path, strerror(-ret));
		unlink(tmp);
	}
	return ret;
}

int pw_ep_unlink(const struct pw_ep *ep, const char *state_dir)
{
	char path[512];

	state_path(path, sizeof(path), state_dir, ep);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

struct pw_learned_name *pw_ep_find_name(struct pw_ep *ep, const char *name)
{
	for (size_t i = 0; i < ep->n_names; i++)
		if (!strcmp(ep->names[i].name, name))
			return &ep->names[i];
	return NULL;
}

int pw_ep_learn(struct pw_ep *ep, const char *name, uint8_t family, const union pw_ip *ip,
		uint64_t expires_ns, uint64_t now_ns, size_t max_per_name,
		struct pw_learned_addr *evicted)
{
	struct pw_learned_name *n = pw_ep_find_name(ep, name);
	struct pw_learned_addr *a;
	bool elsewhere;

	if (evicted)
		memset(evicted, 0, sizeof(*evicted)); /* family 0: nothing evicted */
	ep->may_have_learned = true;
	if (family != PW_FAMILY_V4 && family != PW_FAMILY_V6)
		return -EINVAL;
	if (max_per_name > UINT32_MAX)
		max_per_name = UINT32_MAX;
	if (!max_per_name)
		max_per_name = 1;
	if (!n) {
		char *text = strdup(name);

		if (!text)
			return -ENOMEM;
		if (ep->n_names == ep->cap_names) {
			size_t cap = ep->cap_names ? ep->cap_names * 2 : 4;
			struct pw_learned_name *nv = realloc(ep->names, cap * sizeof(*nv));

			if (!nv) {
				free(text);
				return -ENOMEM;
			}
			ep->names = nv;
			ep->cap_names = cap;
		}
		n = &ep->names[ep->n_names++];
		memset(n, 0, sizeof(*n));
		n->name = text;
	}
	n->resolved_ns = now_ns;
	for (size_t i = 0; i < n->n_addrs; i++) {
		struct pw_learned_addr seen;

		if (n->addrs[i].family != family || memcmp(&n->addrs[i].ip, ip, sizeof(*ip)))
			continue;
		/* Seen again: a longer TTL extends it, a shorter one does not
		 * shorten it; it moves to the end (the most recently seen). */
		seen = n->addrs[i];
		if (pw_sec_up(expires_ns) > seen.expires_s)
			seen.expires_s = pw_sec_up(expires_ns);
		seen.seen_s = pw_sec_down(now_ns);
		memmove(&n->addrs[i], &n->addrs[i + 1], (n->n_addrs - i - 1) * sizeof(seen));
		n->addrs[n->n_addrs - 1] = seen;
		return 0;
	}
	elsewhere = pw_ep_has_addr(ep, family, ip); /* not in n: checked above */
	if (n->n_addrs >= max_per_name) {
		/* Evict the least recently seen address of this name: the
		 * earliest time seen, the first of those (kept in order). */
		struct pw_learned_addr old;
		size_t lru = 0;

		for (size_t i = 1; i < n->n_addrs; i++)
			if (n->addrs[i].seen_s < n->addrs[lru].seen_s)
				lru = i;
		old = n->addrs[lru];
		if (evicted)
			*evicted = old;
		memmove(&n->addrs[lru], &n->addrs[lru + 1], (n->n_addrs - lru - 1) * sizeof(old));
		n->n_addrs--;
		if (!pw_ep_has_addr(ep, old.family, &old.ip))
			ep->n_addrs--;
	} else if (n->n_addrs == n->cap_addrs) {
		/* Small steps: most names have a handful of addresses, and
		 * memory is per pod per name: 1, 2, 4, 8, then 8 more each time. */
		size_t cap = n->cap_addrs < 8 ? (n->cap_addrs ? (size_t)n->cap_addrs * 2 : 1)
					      : (size_t)n->cap_addrs + 8;
		struct pw_learned_addr *av;

		if (cap > max_per_name)
			cap = max_per_name;
		av = realloc(n->addrs, cap * sizeof(*av));
		if (!av) {
			if (!n->n_addrs) { /* the name just added: not kept empty */
				name_free(n);
				ep->n_names--;
			}
			return -ENOMEM;
		}
		n->addrs = av;
		n->cap_addrs = (uint32_t)cap;
	}
	a = &n->addrs[n->n_addrs++];
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->ip = *ip;
	a->expires_s = pw_sec_up(expires_ns);
	a->seen_s = pw_sec_down(now_ns);
	if (!elsewhere)
		ep->n_addrs++;
	ep->learn_count_dirty = true;
	return 0;
}

bool pw_ep_has_addr(const struct pw_ep *ep, uint8_t family, const union pw_ip *ip)
{
	for (size_t i = 0; i < ep->n_names; i++)
		for (size_t j = 0; j < ep->names[i].n_addrs; j++)
			if (ep->names[i].addrs[j].family == family &&
			    !memcmp(&ep->names[i].addrs[j].ip, ip, sizeof(*ip)))
				return true;
	return false;
}

static int addr_cmp(const void *x, const void *y)
{
	const struct pw_learned_addr *a = x, *b = y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(&a->ip, &b->ip, sizeof(a->ip));
}

size_t pw_ep_count_addrs(struct pw_ep *ep)
{
	struct pw_learned_addr *v;
	size_t total = 0, n = 0;

	for (size_t i = 0; i < ep->n_names; i++)
		total += ep->names[i].n_addrs;
	v = total ? malloc(total * sizeof(*v)) : NULL;
	if (!v) {
		ep->n_addrs = total; /* an upper bound */
		ep->learn_count_dirty = true;
		return total;
	}
	for (size_t i = 0; i < ep->n_names; i++)
		for (size_t j = 0; j < ep->names[i].n_addrs; j++) {
			struct pw_learned_addr *a = &v[n++];

			memset(a, 0, sizeof(*a));
			a->family = ep->names[i].addrs[j].family;
			a->ip = ep->names[i].addrs[j].ip;
		}
	qsort(v, n, sizeof(*v), addr_cmp);
	total = 0;
	for (size_t i = 0; i < n; i++)
		if (!i || addr_cmp(&v[i - 1], &v[i]))
			total++;
	free(v);
	ep->n_addrs = total;
	ep->learn_count_dirty = true;
	return total;
}

enum pw_ep_room pw_ep_learn_room(struct pw_ep *ep, const char *name, uint8_t family,
				 const union pw_ip *ip, size_t max_per_name, size_t max_names,
				 size_t max_addrs)
{
	struct pw_learned_name *n = pw_ep_find_name(ep, name);

	if (!n && ep->n_names >= max_names)
		return PW_EP_FULL_NAMES;
	if (ep->n_addrs < max_addrs || pw_ep_has_addr(ep, family, ip))
		return PW_EP_ROOM;
	if (n && n->n_addrs >= max_per_name)
		return PW_EP_ROOM; /* replaces one of the name's */
	return PW_EP_FULL_ADDRS;
}

size_t pw_ep_expire(struct pw_ep *ep, uint64_t now_ns, struct pw_learned_addr **out)
{
	size_t dropped = 0, out_names = 0, cap = 0;

	if (out)
		*out = NULL;
	for (size_t i = 0; i < ep->n_names; i++) {
		struct pw_learned_name *n = &ep->names[i];
		size_t kept = 0;

		for (size_t j = 0; j < n->n_addrs; j++) {
			if (pw_learned_expires_ns(&n->addrs[j]) > now_ns) {
				n->addrs[kept++] = n->addrs[j];
				continue;
			}
			if (out && dropped == cap) {
				struct pw_learned_addr *nv;

				cap = cap ? cap * 2 : 16;
				nv = realloc(*out, cap * sizeof(*nv));
				if (!nv) { /* keep it: collected at the next pass */
					n->addrs[kept++] = n->addrs[j];
					cap = dropped;
					continue;
				}
				*out = nv;
			}
			if (out)
				(*out)[dropped] = n->addrs[j];
			dropped++;
		}
		n->n_addrs = (uint32_t)kept;
		if (!kept) {
			name_free(n);
			continue;
		}
		if (kept <= n->cap_addrs / 2) { /* give the room back */
			struct pw_learned_addr *av = realloc(n->addrs, kept * sizeof(*av));

			if (av) {
				n->addrs = av;
				n->cap_addrs = (uint32_t)kept;
			}
		}
		ep->names[out_names++] = *n;
	}
	ep->n_names = out_names;
	if (dropped)
		pw_ep_count_addrs(ep);
	return dropped;
}

void pw_ep_note_seen(struct pw_ep *ep, const char *name, uint8_t family, const union pw_ip *ip,
		     uint64_t now_ns)
{
	struct pw_seen_name *s;
	char *text;

	if (!ep->seen) {
		ep->seen = calloc(PW_EP_SEEN, sizeof(*ep->seen));
		if (!ep->seen)
			return; /* only the deny events' hostname is lost */
	}
	text = strdup(name);
	if (!text)
		return;
	s = &ep->seen[ep->seen_next++ % PW_EP_SEEN];
	free(s->name);
	s->name = text;
	s->family = family;
	s->ip = *ip;
	s->seen_ns = now_ns;
}

const char *pw_ep_name_for(const struct pw_ep *ep, uint8_t family, const union pw_ip *ip)
{
	const char *best = NULL;
	uint64_t best_ns = 0;

	for (size_t i = 0; i < ep->n_names; i++) {
		const struct pw_learned_name *n = &ep->names[i];

		for (size_t j = 0; j < n->n_addrs; j++)
			if (n->addrs[j].family == family &&
			    !memcmp(&n->addrs[j].ip, ip, sizeof(*ip)) &&
			    pw_learned_seen_ns(&n->addrs[j]) >= best_ns) {
				best = n->name;
				best_ns = pw_learned_seen_ns(&n->addrs[j]);
			}
	}
	if (best)
		return best;
	for (size_t i = 0; ep->seen && i < PW_EP_SEEN; i++) {
		const struct pw_seen_name *s = &ep->seen[i];

		if (s->name && s->family == family && !memcmp(&s->ip, ip, sizeof(*ip)) &&
		    s->seen_ns >= best_ns) {
			best = s->name;
			best_ns = s->seen_ns;
		}
	}
	return best;
}

/* ---- the registry ---- */

void pw_eps_add(struct pw_eps *s, struct pw_ep *ep)
{
	ep->next = s->head;
	s->head = ep;
}

void pw_eps_unlink(struct pw_eps *s, struct pw_ep *ep)
{
	for (struct pw_ep **pp = &s->head; *pp; pp = &(*pp)->next)
		if (*pp == ep) {
			*pp = ep->next;
			ep->next = NULL;
			return;
		}
}

struct pw_ep *pw_eps_by_id(const struct pw_eps *s, uint32_t ep_id)
{
	for (struct pw_ep *ep = s->head; ep; ep = ep->next)
		if (ep->ep_id == ep_id)
			return ep;
	return NULL;
}

struct pw_ep *pw_eps_by_ifindex(const struct pw_eps *s, uint32_t ifindex)
{
	for (struct pw_ep *ep = s->head; ep; ep = ep->next)
		if (ep->ifindex == ifindex)
			return ep;
	return NULL;
}

struct pw_ep *pw_eps_by_container(const struct pw_eps *s, const char *container_id)
{
	for (struct pw_ep *ep = s->head; ep; ep = ep->next)
		if (!strcmp(ep->container_id, container_id))
			return ep;
	return NULL;
}

struct pw_ep *pw_eps_by_pod(const struct pw_eps *s, const char *ns, const char *name)
{
	for (struct pw_ep *ep = s->head; ep; ep = ep->next)
		if (!strcmp(ep->namespace, ns) && !strcmp(ep->name, name))
			return ep;
	return NULL;
}

size_t pw_eps_count(const struct pw_eps *s)
{
	size_t n = 0;

	for (const struct pw_ep *ep = s->head; ep; ep = ep->next)
		n++;
	return n;
}

void pw_eps_id_seen(struct pw_eps *s, uint32_t ep_id)
{
	if (ep_id >= s->next_id)
		s->next_id = ep_id + 1;
}

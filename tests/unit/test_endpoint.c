// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Endpoints: JSON round trip (with learned names, through the state
 * directory), what pw_ep_from_json refuses, learning with a per-name LRU cap,
 * expiry, and which name an address is reported under.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>

#include <cmocka.h>

#include "unit/table.h"

#include "endpoint.h"
#include "ipaddr.h"

/* ---- helpers --------------------------------------------------------------------- */

/* row_name(), run_table(), RUN_TABLE(): tests/unit/table.h */

static union pw_ip ip_of(const char *s, uint8_t *family)
{
	union pw_ip ip;
	uint8_t f;

	if (pw_ip_parse(s, family ? family : &f, &ip))
		fail_msg("bad address in test data: %s", s);
	return ip;
}

static json_t *json_of(const char *text)
{
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);

	if (!o)
		fail_msg("bad JSON in test data: %s: %s", jerr.text, text);
	return o;
}

#define NS 1000000000ULL

/* Learn s for name (times in seconds); returns the evicted address (family 0
 * if none). */
static struct pw_learned_addr learn(struct pw_ep *ep, const char *name, const char *s,
				    uint64_t expires, uint64_t now, size_t cap)
{
	struct pw_learned_addr ev;
	union pw_ip ip;
	uint8_t family;

	ip = ip_of(s, &family);
	/* Stale contents from an earlier call must not read as an eviction. */
	memset(&ev, 0x5a, sizeof(ev));
	ev.family = PW_FAMILY_V4;
	assert_int_equal(pw_ep_learn(ep, name, family, &ip, expires * NS, now * NS, cap, &ev), 0);
	return ev;
}

static const struct pw_learned_name *name_of(const struct pw_ep *ep, const char *name)
{
	for (size_t i = 0; i < ep->n_names; i++)
		if (!strcmp(ep->names[i].name, name))
			return &ep->names[i];
	return NULL;
}

static const struct pw_learned_addr *addr_of(const struct pw_ep *ep, const char *name,
					     const char *s)
{
	const struct pw_learned_name *n = name_of(ep, name);
	union pw_ip ip;
	uint8_t family;

	ip = ip_of(s, &family);
	for (size_t i = 0; n && i < n->n_addrs; i++)
		if (n->addrs[i].family == family && !memcmp(&n->addrs[i].ip, &ip, sizeof(ip)))
			return &n->addrs[i];
	return NULL;
}

static const char *name_for(const struct pw_ep *ep, const char *s)
{
	union pw_ip ip;
	uint8_t family;

	ip = ip_of(s, &family);
	return pw_ep_name_for(ep, family, &ip);
}

static struct pw_ep *sample_ep(void)
{
	struct pw_ep *ep = pw_ep_new();
	union pw_ip ip;

	assert_non_null(ep);
	ep->ifindex = 42;
	ep->ep_id = 7;
	strcpy(ep->host_ifname, "veth1a2b3c4d");
	strcpy(ep->container_id,
	       "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0");
	strcpy(ep->netns, "/var/run/netns/cni-5e1c0f3a-0000-4000-8000-000000000001");
	strcpy(ep->ifname, "eth0");
	ep->namespace = strdup("shop");
	ep->name = strdup("web-0");
	assert_true(ep->namespace && ep->name);
	assert_int_equal(pw_labels_set(&ep->labels, "app", "web"), 0);
	assert_int_equal(pw_labels_set(&ep->labels, "app.kubernetes.io/tier", "front end"), 0);
	ep->flags = PW_EP_HAS_V4 | PW_EP_HAS_V6;
	ip = ip_of("192.0.2.10", NULL);
	ep->ip4 = ip.v4;
	ip = ip_of("2001:db8::10", NULL);
	memcpy(ep->ip6, ip.v6, 16);
	return ep;
}

static void assert_same_ep(const struct pw_ep *a, const struct pw_ep *b)
{
	assert_int_equal(a->ep_id, b->ep_id);
	assert_string_equal(a->host_ifname, b->host_ifname);
	assert_string_equal(a->container_id, b->container_id);
	assert_string_equal(a->netns, b->netns);
	assert_string_equal(a->ifname, b->ifname);
	assert_string_equal(a->namespace, b->namespace);
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->flags, b->flags);
	if (a->flags & PW_EP_HAS_V4)
		assert_memory_equal(&a->ip4, &b->ip4, sizeof(a->ip4));
	if (a->flags & PW_EP_HAS_V6)
		assert_memory_equal(a->ip6, b->ip6, sizeof(a->ip6));
	assert_int_equal(a->labels.n, b->labels.n);
	for (size_t i = 0; i < a->labels.n; i++) {
		const char *v = pw_labels_get(&b->labels, a->labels.v[i].key);

		assert_non_null(v);
		assert_string_equal(v, a->labels.v[i].value);
	}
}

static void assert_same_names(const struct pw_ep *a, const struct pw_ep *b)
{
	assert_int_equal(a->n_names, b->n_names);
	for (size_t i = 0; i < a->n_names; i++) {
		const struct pw_learned_name *x = &a->names[i], *y = &b->names[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->resolved_ns, y->resolved_ns);
		assert_int_equal(x->n_addrs, y->n_addrs);
		for (size_t j = 0; j < x->n_addrs; j++) {
			assert_int_equal(x->addrs[j].family, y->addrs[j].family);
			assert_memory_equal(&x->addrs[j].ip, &y->addrs[j].ip,
					    sizeof(x->addrs[j].ip));
			assert_int_equal(x->addrs[j].expires_s, y->addrs[j].expires_s);
			assert_int_equal(x->addrs[j].seen_s, y->addrs[j].seen_s);
		}
	}
}

/* ---- JSON round trip --------------------------------------------------------------- */

static void test_json_round_trip(void **state)
{
	struct pw_ep *ep = sample_ep(), *back;
	char err[256] = "", pod[64];
	json_t *o;

	o = pw_ep_to_json(ep);
	assert_non_null(o);
	/* The agent reads ifindex itself and checks it against host_ifname. */
	assert_int_equal(json_integer_value(json_object_get(o, "ifindex")), 42);
	assert_int_equal(json_array_size(json_object_get(o, "ips")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "ips"), 0)),
			    "192.0.2.10");
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "ips"), 1)),
			    "2001:db8::10");
	back = pw_ep_from_json(o, err, sizeof(err));
	if (!back)
		fail_msg("pw_ep_from_json: %s", err);
	assert_same_ep(ep, back);
	assert_string_equal(pw_ep_pod(back, pod, sizeof(pod)), "shop/web-0");
	pw_ep_free(back);
	json_decref(o);

	/* One family only. */
	ep->flags = PW_EP_HAS_V6;
	o = pw_ep_to_json(ep);
	back = pw_ep_from_json(o, err, sizeof(err));
	assert_non_null(back);
	assert_same_ep(ep, back);
	pw_ep_free(back);
	json_decref(o);
	pw_ep_free(ep);
}

static json_t *load_state(const char *dir, const struct pw_ep *ep)
{
	char path[512];
	json_error_t jerr;
	json_t *o;

	snprintf(path, sizeof(path), "%s/%s.json", dir, ep->container_id);
	o = json_load_file(path, 0, &jerr);
	if (!o)
		fail_msg("%s: %s", path, jerr.text);
	return o;
}

/* Learned names survive a save and a load: every address, expiry and time. */
static void test_state_round_trip_learned(void **state)
{
	char dir[] = "/tmp/pw-test-endpoint.XXXXXX", path[512], err[256] = "";
	struct pw_ep *ep = sample_ep(), *back;
	json_t *o;

	assert_non_null(mkdtemp(dir));
	learn(ep, "api.example.com", "192.0.2.1", 10000, 100, 8);
	learn(ep, "api.example.com", "2001:db8::1", 20000, 200, 8);
	learn(ep, "cdn.example.org", "198.51.100.7", 30000, 250, 8);
	/* Refreshed last: resolved_ns is no longer the last address's seen_ns. */
	learn(ep, "api.example.com", "192.0.2.1", 40000, 300, 8);
	assert_int_equal(name_of(ep, "api.example.com")->resolved_ns, 300 * NS);

	assert_int_equal(pw_ep_save(ep, dir), 0);
	o = load_state(dir, ep);
	back = pw_ep_from_json(o, err, sizeof(err));
	if (!back)
		fail_msg("pw_ep_from_json: %s", err);
	assert_same_ep(ep, back);
	assert_same_names(ep, back);
	assert_string_equal(name_for(back, "192.0.2.1"), "api.example.com");
	json_decref(o);

	/* Saving over an existing file replaces it (no .tmp left behind). */
	learn(ep, "cdn.example.org", "198.51.100.8", 50000, 400, 8);
	assert_int_equal(pw_ep_save(ep, dir), 0);
	o = load_state(dir, ep);
	pw_ep_free(back);
	back = pw_ep_from_json(o, err, sizeof(err));
	assert_non_null(back);
	assert_same_names(ep, back);
	json_decref(o);
	snprintf(path, sizeof(path), "%s/%s.json.tmp", dir, ep->container_id);
	assert_int_equal(access(path, F_OK), -1);

	assert_int_equal(pw_ep_unlink(ep, dir), 0);
	snprintf(path, sizeof(path), "%s/%s.json", dir, ep->container_id);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(pw_ep_unlink(ep, dir), 0); /* already gone: fine */
	assert_int_equal(rmdir(dir), 0);
	pw_ep_free(back);
	pw_ep_free(ep);
}

/* A state file edited by hand or from an older agent: bad learned entries are
 * skipped, names are normalized, the endpoint itself still loads. */
static void test_learned_junk_skipped(void **state)
{
	char err[256] = "";
	struct pw_ep *ep;
	json_t *o;

	o = json_of("{\"container_id\":\"c1\",\"host_ifname\":\"veth0\",\"namespace\":\"shop\","
		    "\"name\":\"web\",\"ips\":[\"192.0.2.10\"],\"learned\":["
		    "{\"name\":\"API.Example.COM.\",\"resolved_ns\":5,\"addrs\":["
		    "{\"ip\":\"192.0.2.1\",\"expires_ns\":100,\"seen_ns\":5},"
		    "{\"ip\":\"not-an-ip\",\"expires_ns\":100,\"seen_ns\":5},"
		    "{\"ip\":\"192.0.2.2\",\"expires_ns\":0,\"seen_ns\":5},"
		    "{\"ip\":\"192.0.2.3\",\"seen_ns\":5},"
		    "{\"expires_ns\":100},"
		    "\"192.0.2.4\"]},"
		    "{\"name\":\"bad name!\",\"addrs\":[{\"ip\":\"192.0.2.5\",\"expires_ns\":9}]},"
		    "{\"addrs\":[{\"ip\":\"192.0.2.6\",\"expires_ns\":9}]},"
		    "{\"name\":\"empty.example.org\",\"addrs\":[]},"
		    "42]}");
	ep = pw_ep_from_json(o, err, sizeof(err));
	if (!ep)
		fail_msg("pw_ep_from_json: %s", err);
	assert_int_equal(ep->n_names, 1);
	assert_string_equal(ep->names[0].name, "api.example.com");
	assert_int_equal(ep->names[0].n_addrs, 1);
	assert_non_null(addr_of(ep, "api.example.com", "192.0.2.1"));
	pw_ep_free(ep);
	json_decref(o);

	/* "learned" of the wrong type is ignored as a whole. */
	o = json_of("{\"container_id\":\"c1\",\"host_ifname\":\"veth0\",\"namespace\":\"shop\","
		    "\"name\":\"web\",\"ips\":[\"192.0.2.10\"],\"learned\":{\"a\":1}}");
	ep = pw_ep_from_json(o, err, sizeof(err));
	assert_non_null(ep);
	assert_int_equal(ep->n_names, 0);
	pw_ep_free(ep);
	json_decref(o);
}

/* ---- pw_ep_from_json: accepted and refused ------------------------------------------- */

#define A16  "aaaaaaaaaaaaaaaa"
#define A127 A16 A16 A16 A16 A16 A16 A16 "aaaaaaaaaaaaaaa"
#define TAIL "\"namespace\":\"shop\",\"name\":\"web\""

struct from_json_row {
	const char *name;
	const char *json;
	const char *err; /* substring of the error; NULL: accepted */
	uint8_t flags;	 /* when accepted */
};

/* clang-format off */
static const struct from_json_row from_json_rows[] = {
	{"minimal v4", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"192.0.2.10\"]}", NULL, PW_EP_HAS_V4},
	{"v6 only", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"2001:db8::10\"]}", NULL, PW_EP_HAS_V6},
	{"v6 then v4", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"2001:db8::10\",\"192.0.2.10\"]}", NULL, PW_EP_HAS_V4 | PW_EP_HAS_V6},
	{"CNI address with prefix length", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\","
	 TAIL ",\"ips\":[\"192.0.2.10/24\",\"2001:db8::10/64\"]}", NULL,
	 PW_EP_HAS_V4 | PW_EP_HAS_V6},
	{"container_id of 127", "{\"container_id\":\"" A127 "\",\"host_ifname\":\"veth0\"," TAIL
	 ",\"ips\":[\"192.0.2.10\"]}", NULL, PW_EP_HAS_V4},
	{"host_ifname of 15", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0123456789a\","
	 TAIL ",\"ips\":[\"192.0.2.10\"]}", NULL, PW_EP_HAS_V4},
	{"empty labels", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"labels\":{},\"ips\":[\"192.0.2.10\"]}", NULL, PW_EP_HAS_V4},
	{"not an object", "[]", "not a JSON object"},
	{"missing container_id", "{\"host_ifname\":\"veth0\"," TAIL ",\"ips\":[\"192.0.2.10\"]}",
	 "container_id"},
	{"empty container_id", "{\"container_id\":\"\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"192.0.2.10\"]}", "container_id"},
	{"container_id not a string", "{\"container_id\":7,\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"192.0.2.10\"]}", "container_id"},
	{"container_id of 128", "{\"container_id\":\"" A127 "a\",\"host_ifname\":\"veth0\"," TAIL
	 ",\"ips\":[\"192.0.2.10\"]}", "container_id"},
	{"missing host_ifname", "{\"container_id\":\"c1\"," TAIL ",\"ips\":[\"192.0.2.10\"]}",
	 "host_ifname"},
	{"host_ifname of 16", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0123456789ab\","
	 TAIL ",\"ips\":[\"192.0.2.10\"]}", "host_ifname"},
	{"netns not a string", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\",\"netns\":1,"
	 TAIL ",\"ips\":[\"192.0.2.10\"]}", "netns"},
	{"ifname too long", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\","
	 "\"ifname\":\"eth0123456789abcd\"," TAIL ",\"ips\":[\"192.0.2.10\"]}", "ifname"},
	{"missing namespace", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\","
	 "\"name\":\"web\",\"ips\":[\"192.0.2.10\"]}", "namespace"},
	{"namespace not a string", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\","
	 "\"namespace\":[],\"name\":\"web\",\"ips\":[\"192.0.2.10\"]}", "namespace"},
	{"empty name", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\","
	 "\"namespace\":\"shop\",\"name\":\"\",\"ips\":[\"192.0.2.10\"]}", "name"},
	{"missing name", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\","
	 "\"namespace\":\"shop\",\"ips\":[\"192.0.2.10\"]}", "name"},
	{"labels not an object", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"labels\":[\"app=web\"],\"ips\":[\"192.0.2.10\"]}", "labels: must be an object"},
	{"label value a number", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"labels\":{\"app\":\"web\",\"replicas\":3},\"ips\":[\"192.0.2.10\"]}",
	 "labels.replicas: must be a string"},
	{"label value null", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"labels\":{\"app\":null},\"ips\":[\"192.0.2.10\"]}", "labels.app: must be a string"},
	{"ips missing", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL "}",
	 "ips: at least one"},
	{"ips empty", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ",\"ips\":[]}",
	 "ips: at least one"},
	{"ips not an array", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":\"192.0.2.10\"}", "ips: at least one"},
	{"ips[0] not a string", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[3221225994]}", "ips[0]: must be a string"},
	{"bad address", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"192.0.2.300\"]}", "ips[0]: not an address"},
	{"hostname as address", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"192.0.2.10\",\"web.example.com\"]}", "ips[1]: not an address"},
	{"empty address", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"\"]}", "ips[0]: not an address"},
	{"address too long", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"2001:0db8:0000:0000:0000:0000:0000:0000:0000:0010\"]}",
	 "ips[0]: not an address"},
	{"two v4 addresses", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"192.0.2.10\",\"192.0.2.11\"]}", "ips[1]: one address per family"},
	{"two v6 addresses", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"2001:db8::10\",\"192.0.2.10\",\"2001:db8::11\"]}",
	 "ips[2]: one address per family"},
	{"same v4 twice", "{\"container_id\":\"c1\",\"host_ifname\":\"veth0\"," TAIL ","
	 "\"ips\":[\"192.0.2.10\",\"192.0.2.10\"]}", "ips[1]: one address per family"},
};
/* clang-format on */

static void test_from_json_row(void **state)
{
	const struct from_json_row *r = *state;
	char err[256];
	struct pw_ep *ep;
	json_t *o = json_of(r->json);

	strcpy(err, "(unset)");
	ep = pw_ep_from_json(o, err, sizeof(err));
	json_decref(o);
	if (!r->err) {
		if (!ep)
			fail_msg("want accepted, got \"%s\"", err);
		assert_int_equal(ep->flags, r->flags);
		pw_ep_free(ep);
		return;
	}
	if (ep) {
		pw_ep_free(ep);
		fail_msg("want refused with \"%s\", got accepted", r->err);
	}
	if (!strstr(err, r->err))
		fail_msg("error \"%s\", want it to contain \"%s\"", err, r->err);
}

/* ---- learning, LRU, expiry, name_for ------------------------------------------------- */

static void test_learn_lru(void **state)
{
	struct pw_ep *ep = pw_ep_new();
	const struct pw_learned_addr *a;
	struct pw_learned_addr ev;
	char buf[PW_IP_STRLEN];

	assert_non_null(ep);
	ev = learn(ep, "api.example.com", "192.0.2.1", 1000, 10, 3);
	assert_int_equal(ev.family, 0);
	ev = learn(ep, "api.example.com", "192.0.2.2", 1000, 20, 3);
	assert_int_equal(ev.family, 0);
	ev = learn(ep, "api.example.com", "2001:db8::3", 1000, 30, 3);
	assert_int_equal(ev.family, 0);
	assert_int_equal(name_of(ep, "api.example.com")->n_addrs, 3);
	assert_int_equal(name_of(ep, "api.example.com")->resolved_ns, 30 * NS);

	/* Full: the least recently seen (192.0.2.1) goes, and is handed back. */
	ev = learn(ep, "api.example.com", "192.0.2.4", 1000, 40, 3);
	assert_int_equal(ev.family, PW_FAMILY_V4);
	assert_string_equal(pw_ip_str(ev.family, &ev.ip, buf), "192.0.2.1");
	assert_int_equal(ev.seen_s, 10);
	assert_int_equal(ev.expires_s, 1000);
	assert_int_equal(name_of(ep, "api.example.com")->n_addrs, 3);
	assert_null(addr_of(ep, "api.example.com", "192.0.2.1"));
	assert_null(name_for(ep, "192.0.2.1"));

	/* Seen again: it becomes the most recent; a shorter TTL does not shorten. */
	ev = learn(ep, "api.example.com", "192.0.2.2", 500, 50, 3);
	assert_int_equal(ev.family, 0);
	a = addr_of(ep, "api.example.com", "192.0.2.2");
	assert_non_null(a);
	assert_int_equal(a->seen_s, 50);
	assert_int_equal(a->expires_s, 1000);
	learn(ep, "api.example.com", "192.0.2.2", 5000, 55, 3);
	assert_int_equal(addr_of(ep, "api.example.com", "192.0.2.2")->expires_s, 5000);

	/* So the next eviction takes 2001:db8::3 (seen 30), not 192.0.2.2. */
	ev = learn(ep, "api.example.com", "192.0.2.5", 1000, 60, 3);
	assert_int_equal(ev.family, PW_FAMILY_V6);
	assert_string_equal(pw_ip_str(ev.family, &ev.ip, buf), "2001:db8::3");
	assert_non_null(addr_of(ep, "api.example.com", "192.0.2.2"));
	assert_non_null(addr_of(ep, "api.example.com", "192.0.2.4"));
	assert_non_null(addr_of(ep, "api.example.com", "192.0.2.5"));

	/* The cap is per name: another name fills its own. */
	for (int i = 0; i < 3; i++) {
		char s[32];

		snprintf(s, sizeof(s), "198.51.100.%d", i + 1);
		ev = learn(ep, "cdn.example.org", s, 1000, 70 + (uint64_t)i, 3);
		assert_int_equal(ev.family, 0);
	}
	assert_int_equal(ep->n_names, 2);
	assert_int_equal(name_of(ep, "api.example.com")->n_addrs, 3);
	assert_int_equal(name_of(ep, "cdn.example.org")->n_addrs, 3);

	/* Same bytes, other family: a different address. */
	learn(ep, "v.example.net", "192.0.2.9", 1000, 80, 3);
	learn(ep, "v.example.net", "c000:209::", 1000, 81, 3);
	assert_int_equal(name_of(ep, "v.example.net")->n_addrs, 2);

	/* Cap 1: each new address replaces the last; NULL evicted is allowed. */
	{
		union pw_ip ip;
		uint8_t family;

		learn(ep, "one.example.net", "203.0.113.1", 1000, 90, 1);
		ip = ip_of("203.0.113.2", &family);
		assert_int_equal(pw_ep_learn(ep, "one.example.net", family, &ip, 1000 * NS, 91 * NS,
					     1, NULL),
				 0);
		assert_int_equal(name_of(ep, "one.example.net")->n_addrs, 1);
		assert_non_null(addr_of(ep, "one.example.net", "203.0.113.2"));
	}

	pw_ep_forget_names(ep);
	assert_int_equal(ep->n_names, 0);
	assert_null(ep->names);
	assert_null(name_for(ep, "192.0.2.2"));
	pw_ep_free(ep);
}

static void test_expire(void **state)
{
	struct pw_ep *ep = pw_ep_new();

	assert_non_null(ep);
	assert_int_equal(pw_ep_expire(ep, 1000 * NS, NULL), 0);
	learn(ep, "a.example.com", "192.0.2.1", 100, 1, 8);
	learn(ep, "a.example.com", "192.0.2.2", 200, 1, 8);
	learn(ep, "b.example.com", "198.51.100.1", 150, 1, 8);
	learn(ep, "c.example.com", "2001:db8::1", 300, 1, 8);
	learn(ep, "c.example.com", "2001:db8::2", 300, 1, 8);

	assert_int_equal(pw_ep_expire(ep, 99 * NS, NULL), 0);
	assert_int_equal(ep->n_names, 3);
	/* Expiring exactly now counts as expired. */
	assert_int_equal(pw_ep_expire(ep, 100 * NS, NULL), 1);
	assert_null(addr_of(ep, "a.example.com", "192.0.2.1"));
	assert_non_null(addr_of(ep, "a.example.com", "192.0.2.2"));
	/* A name left with no address goes; the others keep their order. */
	assert_int_equal(pw_ep_expire(ep, 150 * NS, NULL), 1);
	assert_int_equal(ep->n_names, 2);
	assert_string_equal(ep->names[0].name, "a.example.com");
	assert_string_equal(ep->names[1].name, "c.example.com");
	assert_null(name_for(ep, "198.51.100.1"));
	assert_int_equal(pw_ep_expire(ep, 150 * NS, NULL), 0);
	/* Several at once, across names. */
	assert_int_equal(pw_ep_expire(ep, 1000 * NS, NULL), 3);
	assert_int_equal(ep->n_names, 0);

	/* Learning works again after everything expired. */
	learn(ep, "d.example.com", "203.0.113.4", 2000, 1500, 8);
	assert_int_equal(ep->n_names, 1);
	assert_string_equal(name_for(ep, "203.0.113.4"), "d.example.com");
	pw_ep_free(ep);
}

static void test_name_for(void **state)
{
	struct pw_ep *ep = pw_ep_new();

	assert_non_null(ep);
	assert_null(name_for(ep, "192.0.2.1"));
	learn(ep, "a.example.com", "192.0.2.1", 1000, 100, 8);
	learn(ep, "b.example.com", "192.0.2.1", 1000, 200, 8);
	learn(ep, "c.example.com", "192.0.2.1", 1000, 150, 8);
	assert_string_equal(name_for(ep, "192.0.2.1"), "b.example.com");
	/* a resolves to it again, later: a is now the name to report. */
	learn(ep, "a.example.com", "192.0.2.1", 1000, 300, 8);
	assert_string_equal(name_for(ep, "192.0.2.1"), "a.example.com");
	/* Other addresses and families do not match. */
	assert_null(name_for(ep, "192.0.2.2"));
	assert_null(name_for(ep, "c000:201::"));
	assert_null(name_for(ep, "::ffff:192.0.2.1"));
	learn(ep, "six.example.com", "2001:db8::1", 1000, 400, 8);
	assert_string_equal(name_for(ep, "2001:db8::1"), "six.example.com");
	assert_string_equal(name_for(ep, "192.0.2.1"), "a.example.com");
	pw_ep_free(ep);
}

/* ---- the compact layout ------------------------------------------------------------- */

/* Times are kept to the second: an expiry rounds up (an address never leaves
 * before its TTL), a time seen rounds down; a state file of an older agent (in
 * nanoseconds) loads the same way, and the file says nanoseconds again. */
static void test_learn_seconds(void **state)
{
	char err[256] = "";
	struct pw_ep *ep = pw_ep_new(), *back;
	const struct pw_learned_addr *a;
	union pw_ip ip;
	uint8_t family;
	json_t *o, *addr;

	assert_non_null(ep);
	assert_int_equal(sizeof(struct pw_learned_addr), 28);
	assert_true(sizeof(struct pw_learned_name) <= 40);
	ip = ip_of("192.0.2.1", &family);
	assert_int_equal(pw_ep_learn(ep, "a.example.com", family, &ip, 1500000000ULL, 1900000000ULL,
				     8, NULL),
			 0);
	a = addr_of(ep, "a.example.com", "192.0.2.1");
	assert_non_null(a);
	assert_int_equal(a->expires_s, 2);
	assert_int_equal(a->seen_s, 1);
	assert_int_equal(pw_learned_expires_ns(a), 2 * NS);
	/* Still there past its TTL's nanosecond, gone at the rounded second. */
	assert_int_equal(pw_ep_expire(ep, 1500000001ULL, NULL), 0);
	assert_int_equal(pw_ep_expire(ep, 1999999999ULL, NULL), 0);
	assert_int_equal(pw_ep_expire(ep, 2 * NS, NULL), 1);
	/* A whole second stays what it is; a longer TTL by a fraction extends. */
	assert_int_equal(pw_ep_learn(ep, "a.example.com", family, &ip, 60 * NS, 10 * NS, 8, NULL),
			 0);
	assert_int_equal(addr_of(ep, "a.example.com", "192.0.2.1")->expires_s, 60);
	assert_int_equal(
		pw_ep_learn(ep, "a.example.com", family, &ip, 60 * NS + 1, 11 * NS, 8, NULL), 0);
	assert_int_equal(addr_of(ep, "a.example.com", "192.0.2.1")->expires_s, 61);
	/* Only the two families: anything else is refused, nothing added. */
	assert_int_equal(pw_ep_learn(ep, "b.example.com", 0, &ip, 60 * NS, 10 * NS, 8, NULL),
			 -EINVAL);
	assert_null(name_of(ep, "b.example.com"));
	pw_ep_free(ep);

	o = json_of("{\"container_id\":\"c1\",\"host_ifname\":\"veth0\",\"namespace\":\"shop\","
		    "\"name\":\"web\",\"ips\":[\"192.0.2.10\"],\"learned\":["
		    "{\"name\":\"a.example.com\",\"resolved_ns\":1900000000,\"addrs\":["
		    "{\"ip\":\"192.0.2.1\",\"expires_ns\":1500000000,\"seen_ns\":1900000000},"
		    "{\"ip\":\"2001:db8::1\",\"expires_ns\":7000000000,\"seen_ns\":100}]}]}");
	ep = pw_ep_from_json(o, err, sizeof(err));
	json_decref(o);
	if (!ep)
		fail_msg("pw_ep_from_json: %s", err);
	assert_int_equal(addr_of(ep, "a.example.com", "192.0.2.1")->expires_s, 2);
	assert_int_equal(addr_of(ep, "a.example.com", "192.0.2.1")->seen_s, 1);
	assert_int_equal(addr_of(ep, "a.example.com", "2001:db8::1")->expires_s, 7);
	assert_int_equal(addr_of(ep, "a.example.com", "2001:db8::1")->seen_s, 0);
	assert_int_equal(name_of(ep, "a.example.com")->resolved_ns, 1900000000ULL);
	assert_int_equal(ep->n_addrs, 2);
	/* Written back in nanoseconds, in the order kept. */
	{
		char dir[] = "/tmp/pw-test-endpoint.XXXXXX";

		assert_non_null(mkdtemp(dir));
		assert_int_equal(pw_ep_save(ep, dir), 0);
		o = load_state(dir, ep);
		addr = json_array_get(
			json_object_get(json_array_get(json_object_get(o, "learned"), 0), "addrs"),
			0);
		assert_string_equal(json_string_value(json_object_get(addr, "ip")), "192.0.2.1");
		assert_int_equal(json_integer_value(json_object_get(addr, "expires_ns")), 2 * NS);
		assert_int_equal(json_integer_value(json_object_get(addr, "seen_ns")), NS);
		back = pw_ep_from_json(o, err, sizeof(err));
		assert_non_null(back);
		assert_same_names(ep, back);
		pw_ep_free(back);
		json_decref(o);
		assert_int_equal(pw_ep_unlink(ep, dir), 0);
		assert_int_equal(rmdir(dir), 0);
	}
	pw_ep_free(ep);
}

/* Seen to the second, an LRU still knows the order within one: a name's
 * addresses are kept least recently seen first, so of three seen in the same
 * second the one refreshed last is not the one evicted. */
static void test_lru_within_a_second(void **state)
{
	struct pw_ep *ep = pw_ep_new();
	struct pw_learned_addr ev;
	char buf[PW_IP_STRLEN];
	const struct pw_learned_name *n;

	assert_non_null(ep);
	learn(ep, "a.example.com", "192.0.2.1", 100, 5, 3);
	learn(ep, "a.example.com", "192.0.2.2", 100, 5, 3);
	learn(ep, "a.example.com", "192.0.2.3", 100, 5, 3);
	learn(ep, "a.example.com", "192.0.2.1", 100, 5, 3); /* refreshed: now the latest */
	n = name_of(ep, "a.example.com");
	assert_string_equal(pw_ip_str(n->addrs[0].family, &n->addrs[0].ip, buf), "192.0.2.2");
	assert_string_equal(pw_ip_str(n->addrs[2].family, &n->addrs[2].ip, buf), "192.0.2.1");
	ev = learn(ep, "a.example.com", "192.0.2.4", 100, 5, 3);
	assert_string_equal(pw_ip_str(ev.family, &ev.ip, buf), "192.0.2.2");
	ev = learn(ep, "a.example.com", "192.0.2.5", 100, 5, 3);
	assert_string_equal(pw_ip_str(ev.family, &ev.ip, buf), "192.0.2.3");
	ev = learn(ep, "a.example.com", "192.0.2.6", 100, 5, 3);
	assert_string_equal(pw_ip_str(ev.family, &ev.ip, buf), "192.0.2.1");
	/* An older time seen still goes first, wherever it is. */
	learn(ep, "a.example.com", "192.0.2.4", 100, 9, 3);
	learn(ep, "a.example.com", "192.0.2.6", 100, 2, 3); /* a late record, an earlier time */
	ev = learn(ep, "a.example.com", "192.0.2.7", 100, 9, 3);
	assert_string_equal(pw_ip_str(ev.family, &ev.ip, buf), "192.0.2.6");
	assert_int_equal(name_of(ep, "a.example.com")->n_addrs, 3);
	assert_int_equal(ep->n_addrs, 3);
	pw_ep_free(ep);
}

/* The names of a pod whose rules grant the same ports share one copy of the
 * set; a change of rules drops every cached set. */
static void test_ports_shared(void **state)
{
	struct pw_ep *ep = pw_ep_new();
	struct pw_range_set p443 = {0}, p80 = {0};
	const struct pw_range_set *x, *y, *z;

	assert_non_null(ep);
	assert_int_equal(pw_rangeset_add(&p443, IPPROTO_TCP, 443, 443), 0);
	assert_int_equal(pw_rangeset_add(&p80, IPPROTO_TCP, 80, 80), 0);
	learn(ep, "a.example.com", "192.0.2.1", 100, 5, 8);
	learn(ep, "b.example.com", "192.0.2.2", 100, 5, 8);
	learn(ep, "c.example.com", "192.0.2.3", 100, 5, 8);
	x = pw_ep_ports_share(ep, &p443);
	y = pw_ep_ports_share(ep, &p443);
	z = pw_ep_ports_share(ep, &p80);
	assert_non_null(x);
	assert_non_null(z);
	assert_ptr_equal(x, y);
	assert_ptr_not_equal(x, z);
	assert_int_equal(ep->n_port_sets, 2);
	assert_true(pw_rangeset_allows(x, IPPROTO_TCP, 443));
	assert_false(pw_rangeset_allows(x, IPPROTO_TCP, 80));
	ep->names[0].ports = x;
	ep->names[1].ports = y;
	ep->names[2].ports = z;
	pw_ep_ports_reset(ep);
	for (size_t i = 0; i < ep->n_names; i++)
		assert_null(ep->names[i].ports);
	assert_int_equal(ep->n_port_sets, 0);
	z = pw_ep_ports_share(ep, &p80);
	assert_int_equal(ep->n_port_sets, 1);
	assert_ptr_equal(z, ep->port_sets[0]);
	pw_ep_free(ep); /* frees the sets: the sanitizer says if not */
}

/* The ring of names seen but not learned costs nothing until used, and keeps
 * the last PW_EP_SEEN. */
static void test_seen_ring(void **state)
{
	struct pw_ep *ep = pw_ep_new();
	union pw_ip ip;
	uint8_t family;
	char name[64];

	assert_non_null(ep);
	assert_null(ep->seen);
	assert_null(name_for(ep, "198.51.100.1"));
	ip = ip_of("198.51.100.1", &family);
	pw_ep_note_seen(ep, "first.example.com", family, &ip, 10);
	assert_non_null(ep->seen);
	assert_string_equal(name_for(ep, "198.51.100.1"), "first.example.com");
	for (int i = 0; i < PW_EP_SEEN; i++) {
		union pw_ip other = ip_of("203.0.113.9", NULL);

		snprintf(name, sizeof(name), "n%d.example.com", i);
		pw_ep_note_seen(ep, name, family, &other, 20 + (uint64_t)i);
	}
	/* The first slot was reused: 198.51.100.1 is forgotten. */
	assert_null(name_for(ep, "198.51.100.1"));
	snprintf(name, sizeof(name), "n%d.example.com", PW_EP_SEEN - 1);
	assert_string_equal(name_for(ep, "203.0.113.9"), name);
	/* A learned name wins over one only seen. */
	learn(ep, "learned.example.com", "203.0.113.9", 100, 1, 8);
	assert_string_equal(name_for(ep, "203.0.113.9"), "learned.example.com");
	pw_ep_free(ep);
}

static void test_pod_name(void **state)
{
	struct pw_ep *ep = pw_ep_new();
	char buf[16];

	assert_non_null(ep);
	assert_string_equal(pw_ep_pod(ep, buf, sizeof(buf)), "?/?");
	ep->namespace = strdup("shop");
	ep->name = strdup("a-very-long-pod-name");
	assert_string_equal(pw_ep_pod(ep, buf, sizeof(buf)), "shop/a-very-lon");
	pw_ep_free(ep);
	pw_ep_free(NULL);
}

/* The registry: lookups by id, ifindex, container and pod; ids never go back. */
static void test_registry(void **state)
{
	struct pw_eps s = {.next_id = 1};
	struct pw_ep *a = pw_ep_new(), *b = pw_ep_new();

	assert_non_null(a);
	assert_non_null(b);
	a->ep_id = 3;
	a->ifindex = 30;
	a->namespace = strdup("ns");
	a->name = strdup("a");
	b->ep_id = 4;
	b->ifindex = 40;
	b->namespace = strdup("ns");
	b->name = strdup("b");
	strcpy(a->container_id, "ca");
	strcpy(b->container_id, "cb");
	pw_eps_add(&s, a);
	pw_eps_add(&s, b);
	assert_int_equal(pw_eps_count(&s), 2);
	assert_ptr_equal(pw_eps_by_id(&s, 3), a);
	assert_ptr_equal(pw_eps_by_ifindex(&s, 40), b);
	assert_ptr_equal(pw_eps_by_container(&s, "ca"), a);
	assert_ptr_equal(pw_eps_by_pod(&s, "ns", "b"), b);
	assert_null(pw_eps_by_pod(&s, "other", "b"));
	assert_null(pw_eps_by_id(&s, 5));
	pw_eps_id_seen(&s, 4);
	assert_int_equal(s.next_id, 5);
	pw_eps_id_seen(&s, 2); /* an older id never moves it back */
	assert_int_equal(s.next_id, 5);
	pw_eps_unlink(&s, b);
	assert_int_equal(pw_eps_count(&s), 1);
	assert_null(pw_eps_by_ifindex(&s, 40));
	assert_ptr_equal(s.head, a);
	pw_eps_unlink(&s, a);
	assert_null(s.head);
	pw_ep_free(a);
	pw_ep_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_state_round_trip_learned),
		cmocka_unit_test(test_learned_junk_skipped),
		cmocka_unit_test(test_learn_lru),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_name_for),
		cmocka_unit_test(test_learn_seconds),
		cmocka_unit_test(test_lru_within_a_second),
		cmocka_unit_test(test_ports_shared),
		cmocka_unit_test(test_seen_ring),
		cmocka_unit_test(test_pod_name),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("endpoint", tests, NULL, NULL);
	failed += RUN_TABLE("pw_ep_from_json", test_from_json_row, from_json_rows);
	return failed ? 1 : 0;
}

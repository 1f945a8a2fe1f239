// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Drives the real k8s client (lib/sys/k8s.c) against tests/k8s/fake_apiserver.py.
 *
 *   k8s_driver CASE --control URL (--kubeconfig FILE | --incluster SA_DIR) --workdir DIR
 *
 * run.sh starts a fresh fake server for each case (TLS or not, API up or
 * down, as the case needs) and prints the verdict. The driver runs its own
 * epoll loop exactly as the agent will, keeps a mirror of every object built
 * only from the delivered changes, and checks on each change that:
 *   - ADDED has no old and a new object, for a key the mirror lacks;
 *   - MODIFIED's old equals the mirror's copy; DELETED's old too;
 *   - the client's cache already holds the new state;
 *   - nothing of a kind is delivered before it is listed, and SYNCED comes when
 *     the mirror equals the cache.
 * "In step" below means: mirror == client cache == the server's state (keys and
 * resourceVersions), per kind.
 *
 * Exit status 0 when the case passed; failures are explained on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ipaddr.h"
#include "k8s.h"
#include "log.h"
#include "policy.h"

#define NODE "node-a"

struct t {
	struct pw_k8s *k;
	struct pw_k8s_config cfg;
	int epfd;
	const char *control;
	const char *workdir;
	const char *kubeconfig;
	const char *sa_dir;
	json_t *mirror[PW_K8S_NKINDS];
	json_t *log; /* "pods ADDED default/n1", ... */
	bool seen_synced[PW_K8S_NKINDS];
	size_t before_sync[PW_K8S_NKINDS];	 /* changes delivered before the first SYNCED */
	uint64_t errors_at_first[PW_K8S_NKINDS]; /* client errors when the first change came */
	bool got_first[PW_K8S_NKINDS];
	int failures;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define CHECK(t, cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			(t)->failures++;                                                           \
		}                                                                                  \
	} while (0)

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	fputs("  ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the control API of the fake server ------------------------------------------------ */

struct body {
	char *p;
	size_t n;
};

static size_t on_data(char *d, size_t s, size_t n, void *u)
{
	struct body *b = u;
	char *np = realloc(b->p, b->n + s * n + 1);

	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, d, s * n);
	b->n += s * n;
	b->p[b->n] = '\0';
	return s * n;
}

/* GET (req NULL) or POST req (stolen) to the control API; the JSON reply or NULL. */
static json_t *http_json(const char *url, json_t *req, const char *bearer, long *status)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct body b = {0};
	char *payload = NULL, auth[256];
	json_t *reply = NULL;
	CURL *c = curl_easy_init();
	CURLcode res;

	if (bearer) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	if (req) {
		payload = json_dumps(req, JSON_COMPACT);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	}
	res = curl_easy_perform(c);
	if (status)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (res == CURLE_OK && b.p)
		reply = json_loads(b.p, 0, NULL);
	else if (res != CURLE_OK)
		fprintf(stderr, "  control %s: %s\n", url, curl_easy_strerror(res));
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(payload);
	free(b.p);
	json_decref(req);
	return reply;
}

static json_t *ctl(struct t *t, const char *path, json_t *req)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", t->control, path);
	return http_json(url, req, NULL, NULL);
}

static void ctl_do(struct t *t, const char *path, json_t *req)
{
	json_decref(ctl(t, path, req));
}

static void apply(struct t *t, const char *resource, json_t *obj)
{
	json_t *r =
		ctl(t, "/_test/apply", json_pack("{s:s,s:o}", "resource", resource, "object", obj));

	CHECK(t, r != NULL, "apply %s", resource);
	json_decref(r);
}

static void del(struct t *t, const char *resource, const char *ns, const char *name)
{
	ctl_do(t, "/_test/delete",
	       json_pack("{s:s,s:s,s:s}", "resource", resource, "namespace", ns, "name", name));
}

static void config(struct t *t, json_t *cfg)
{
	ctl_do(t, "/_test/config", cfg);
}

static json_int_t stat_int(struct t *t, const char *key, const char *sub)
{
	json_t *s = ctl(t, "/_test/stats", NULL);
	json_t *v = json_object_get(s, key);
	json_int_t n;

	if (sub)
		v = json_object_get(v, sub);
	n = json_integer_value(v);
	json_decref(s);
	return n;
}

/* ---- objects ------------------------------------------------------------------------ */

static json_t *pod(const char *ns, const char *name, const char *node, const char *app,
		   const char *ip4, const char *ip6, bool host_network)
{
	json_t *ips = json_array();

	if (ip4)
		json_array_append_new(ips, json_pack("{s:s}", "ip", ip4));
	if (ip6)
		json_array_append_new(ips, json_pack("{s:s}", "ip", ip6));
	return json_pack("{s:{s:s,s:s,s:{s:s}},s:{s:s,s:b,s:[{s:s}]},s:{s:s,s:s?,s:o}}", "metadata",
			 "name", name, "namespace", ns, "labels", "app", app, "spec", "nodeName",
			 node, "hostNetwork", host_network, "containers", "name", "c", "status",
			 "phase", "Running", "podIP", ip4, "podIPs", ips);
}

static json_t *policy(const char *ns, const char *name, const char *app, const char *host)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:{s:{s:s}},s:s,s:[{s:[{s:s}],s:[{s:i,s:s}]}]}}",
			 "apiVersion", "podwall.io/v1alpha1", "kind", "EgressPolicy", "metadata",
			 "name", name, "namespace", ns, "spec", "podSelector", "matchLabels", "app",
			 app, "mode", "enforce", "egress", "toFQDNs", "matchName", host, "ports",
			 "port", 443, "protocol", "TCP");
}

static json_t *dns_service(const char *ip4, const char *ip6)
{
	return json_pack("{s:{s:s,s:s,s:{s:s}},s:{s:s,s:s,s:[s,s],s:[{s:s,s:i,s:s}]}}", "metadata",
			 "name", "kube-dns", "namespace", "kube-system", "labels", "k8s-app",
			 "kube-dns", "spec", "type", "ClusterIP", "clusterIP", ip4, "clusterIPs",
			 ip4, ip6, "ports", "name", "dns", "port", 53, "protocol", "UDP");
}

/* An EndpointSlice of service svc with endpoints "ip" or "ip!" (terminating). */
static json_t *slice(const char *name, const char *svc, const char *family, int n, ...)
{
	json_t *eps = json_array();
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *ip = va_arg(ap, const char *);
		size_t len = strlen(ip);
		bool term = ip[len - 1] == '!';
		char buf[64];

		snprintf(buf, sizeof(buf), "%.*s", (int)(term ? len - 1 : len), ip);
		json_array_append_new(eps, json_pack("{s:[s],s:{s:b,s:b,s:b}}", "addresses", buf,
						     "conditions", "ready", !term, "serving", 1,
						     "terminating", term));
	}
	va_end(ap);
	return json_pack("{s:{s:s,s:s,s:{s:s}},s:s,s:o,s:[{s:s,s:i,s:s}]}", "metadata", "name",
			 name, "namespace", "kube-system", "labels", "kubernetes.io/service-name",
			 svc, "addressType", family, "endpoints", eps, "ports", "name", "dns",
			 "port", 53, "protocol", "UDP");
}

/* ---- the client under test ------------------------------------------------------------------ */

static int on_fd_cb(int fd, int op, uint32_t events, void *ctx)
{
	struct t *t = ctx;
	struct epoll_event ev = {.events = events, .data.fd = fd};

	if (epoll_ctl(t->epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev)) {
		if (op == EPOLL_CTL_DEL && (errno == EBADF || errno == ENOENT))
			return 0;
		return -errno;
	}
	return 0;
}

static const char *okey(const json_t *o, char *buf, size_t len)
{
	const json_t *md = json_object_get(o, "metadata");

	snprintf(buf, len, "%s/%s", json_string_value(json_object_get(md, "namespace")) ?: "",
		 json_string_value(json_object_get(md, "name")));
	return buf;
}

static const char *orv(const json_t *o)
{
	return json_string_value(
		json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
}

/* Same keys and resourceVersions. */
static bool same_set(const json_t *a, const json_t *b, char *why, size_t len)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)a, key, v)
	{
		const json_t *w = json_object_get(b, key);

		if (!w) {
			snprintf(why, len, "%s only on one side", key);
			return false;
		}
		if (!orv(v) || !orv(w) || strcmp(orv(v), orv(w))) {
			snprintf(why, len, "%s: resourceVersion %s vs %s", key, orv(v), orv(w));
			return false;
		}
	}
	if (json_object_size(a) != json_object_size(b)) {
		snprintf(why, len, "%zu vs %zu objects", json_object_size(a), json_object_size(b));
		return false;
	}
	return true;
}

static void on_change(enum pw_k8s_kind kind, enum pw_k8s_change type, const json_t *old_obj,
		      const json_t *new_obj, void *ctx)
{
	struct t *t = ctx;
	json_t *m = t->mirror[kind];
	const json_t *o = new_obj ? new_obj : old_obj;
	char key[512], line[640], why[256];
	struct pw_k8s_stats st;
	const json_t *cached;

	if (type == PW_K8S_SYNCED) {
		CHECK(t, !old_obj && !new_obj, "SYNCED carries objects");
		CHECK(t, same_set(m, pw_k8s_objects(t->k, kind), why, sizeof(why)),
		      "%s: at SYNCED the mirror differs from the cache: %s", pw_k8s_kind_name(kind),
		      why);
		CHECK(t, pw_k8s_kind_synced(t->k, kind), "SYNCED but not kind_synced");
		t->seen_synced[kind] = true;
		snprintf(line, sizeof(line), "%s SYNCED", pw_k8s_kind_name(kind));
		json_array_append_new(t->log, json_string(line));
		return;
	}
	okey(o, key, sizeof(key));
	snprintf(line, sizeof(line), "%s %s %s", pw_k8s_kind_name(kind), pw_k8s_change_name(type),
		 key);
	json_array_append_new(t->log, json_string(line));
	if (!t->got_first[kind]) {
		t->got_first[kind] = true;
		pw_k8s_stats(t->k, kind, &st);
		t->errors_at_first[kind] = st.errors;
	}
	if (!t->seen_synced[kind]) {
		t->before_sync[kind]++;
		CHECK(t, type == PW_K8S_ADDED, "%s: %s before the first sync", line,
		      pw_k8s_change_name(type));
	}
	CHECK(t,
	      json_is_string(json_object_get(o, "apiVersion")) &&
		      json_is_string(json_object_get(o, "kind")),
	      "%s: object without apiVersion/kind", line);
	CHECK(t, !json_object_get(json_object_get(o, "metadata"), "managedFields"),
	      "%s: managedFields kept", line);
	cached = pw_k8s_get(
		t->k, kind,
		json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace")),
		json_string_value(json_object_get(json_object_get(o, "metadata"), "name")));
	switch (type) {
	case PW_K8S_ADDED:
		CHECK(t, !old_obj && new_obj, "%s: ADDED with old or without new", line);
		CHECK(t, !json_object_get(m, key), "%s: ADDED but already known", line);
		CHECK(t, cached == new_obj, "%s: cache does not hold the new object", line);
		json_object_set(m, key, (json_t *)new_obj);
		break;
	case PW_K8S_MODIFIED:
		CHECK(t, old_obj && new_obj, "%s: MODIFIED without old or new", line);
		CHECK(t, json_equal(json_object_get(m, key), old_obj),
		      "%s: MODIFIED's old differs from what was delivered before", line);
		CHECK(t, cached == new_obj, "%s: cache does not hold the new object", line);
		json_object_set(m, key, (json_t *)new_obj);
		break;
	case PW_K8S_DELETED:
		CHECK(t, old_obj && !new_obj, "%s: DELETED without old or with new", line);
		CHECK(t, json_equal(json_object_get(m, key), old_obj),
		      "%s: DELETED's old differs from what was delivered before", line);
		CHECK(t, !cached, "%s: still cached", line);
		json_object_del(m, key);
		break;
	default:
		CHECK(t, 0, "unknown change %d", type);
	}
}

static int client_start(struct t *t)
{
	char err[512];
	int ret;

	t->cfg.kubeconfig = t->kubeconfig;
	t->cfg.sa_dir = t->sa_dir;
	t->cfg.node_name = NODE;
	t->cfg.on_change = on_change;
	t->cfg.watch_fd = on_fd_cb;
	t->cfg.ctx = t;
	if (!t->cfg.backoff_min_ms)
		t->cfg.backoff_min_ms = 50;
	if (!t->cfg.backoff_max_ms)
		t->cfg.backoff_max_ms = 800;
	ret = pw_k8s_new(&t->cfg, &t->k, err, sizeof(err));
	if (ret)
		fprintf(stderr, "  pw_k8s_new: %s (%d)\n", err, ret);
	return ret;
}

/* Run the loop for at most max_ms. */
static void pump(struct t *t, int max_ms)
{
	struct epoll_event evs[16];
	int to = pw_k8s_next_timeout_ms(t->k), n;

	if (to < 0 || to > max_ms)
		to = max_ms;
	n = epoll_wait(t->epfd, evs, 16, to);
	for (int i = 0; i < n; i++)
		pw_k8s_on_fd(t->k, evs[i].data.fd, evs[i].events);
	pw_k8s_on_timeout(t->k);
}

static void run_for(struct t *t, int ms)
{
	int64_t end = mono_ms() + ms;

	while (mono_ms() < end)
		pump(t, (int)(end - mono_ms()) > 0 ? (int)(end - mono_ms()) : 0);
}

#define WAIT_FOR(t, cond, ms)                                                                      \
	({                                                                                         \
		int64_t end_ = mono_ms() + (ms);                                                   \
		bool ok_;                                                                          \
		while (!(ok_ = (cond)) && mono_ms() < end_)                                        \
			pump(t, 20);                                                               \
		ok_;                                                                               \
	})

static bool log_has(struct t *t, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(t->log, i, v)
	{
		if (!strcmp(json_string_value(v), s))
			return true;
	}
	return false;
}

static size_t log_count(struct t *t, const char *prefix)
{
	size_t i, n = 0;
	json_t *v;

	json_array_foreach(t->log, i, v)
	{
		if (!strncmp(json_string_value(v), prefix, strlen(prefix)))
			n++;
	}
	return n;
}

static const char *const state_query[PW_K8S_NKINDS] = {
	[PW_K8S_PODS] = "resource=pods&fieldSelector=spec.nodeName%3D" NODE,
	[PW_K8S_POLICIES] = "resource=egresspolicies",
	[PW_K8S_DNS_SERVICE] =
		"resource=services&namespace=kube-system&fieldSelector=metadata.name%3Dkube-dns",
	[PW_K8S_DNS_SLICES] = "resource=endpointslices&namespace=kube-system&labelSelector="
			      "kubernetes.io%2Fservice-name%3Dkube-dns",
	[PW_K8S_CLUSTER_POLICIES] = "resource=clusteregresspolicies",
	[PW_K8S_NAMESPACES] = "resource=namespaces",
	[PW_K8S_NODES] = "resource=nodes",
	[PW_K8S_API_SERVICE] =
		"resource=services&namespace=default&fieldSelector=metadata.name%3Dkubernetes",
	[PW_K8S_SERVICES] = "resource=services",
	[PW_K8S_SLICES] = "resource=endpointslices",
};

/* mirror == cache == server, for one kind. */
static bool in_step(struct t *t, enum pw_k8s_kind kind, char *why, size_t len)
{
	char path[512];
	json_t *st;
	bool ok;

	snprintf(path, sizeof(path), "/_test/state?%s", state_query[kind]);
	st = ctl(t, path, NULL);
	if (!st) {
		snprintf(why, len, "no server state");
		return false;
	}
	ok = same_set(t->mirror[kind], pw_k8s_objects(t->k, kind), why, len) &&
	     same_set(json_object_get(st, "items"), t->mirror[kind], why, len);
	json_decref(st);
	return ok;
}

static bool all_in_step(struct t *t, char *why, size_t len)
{
	for (int i = 0; i < PW_K8S_NKINDS; i++) {
		if (!in_step(t, (enum pw_k8s_kind)i, why, len)) {
			size_t n = strlen(why);

			snprintf(why + n, len - n, " (%s)", pw_k8s_kind_name((enum pw_k8s_kind)i));
			return false;
		}
	}
	return true;
}

static void expect_all_in_step(struct t *t, int ms)
{
	char why[512] = "";
	bool ok = WAIT_FOR(t, all_in_step(t, why, sizeof(why)), ms);

	CHECK(t, ok, "not in step with the server after %d ms: %s", ms, why);
}

static struct pw_k8s_stats kstats(struct t *t, enum pw_k8s_kind kind)
{
	struct pw_k8s_stats st;

	pw_k8s_stats(t->k, kind, &st);
	return st;
}

static uint64_t sum_stat(struct t *t, size_t offset)
{
	uint64_t n = 0;

	for (int i = 0; i < PW_K8S_NKINDS; i++) {
		struct pw_k8s_stats st = kstats(t, (enum pw_k8s_kind)i);

		n += *(uint64_t *)((char *)&st + offset);
	}
	return n;
}

#define SUM(t, field) sum_stat(t, offsetof(struct pw_k8s_stats, field))

static void expect_synced(struct t *t, int ms)
{
	bool ok = WAIT_FOR(t, pw_k8s_synced(t->k), ms);
	struct pw_k8s_stats st = kstats(t, PW_K8S_PODS);

	CHECK(t, ok, "not synced after %d ms (pods: %s)", ms, st.last_error);
}

/* Wait until every kind has an open watch (so that a drop really cuts one). */
static void expect_watching(struct t *t, int ms)
{
	bool ok = WAIT_FOR(t,
			   kstats(t, PW_K8S_PODS).watching && kstats(t, PW_K8S_POLICIES).watching &&
				   kstats(t, PW_K8S_DNS_SERVICE).watching &&
				   kstats(t, PW_K8S_DNS_SLICES).watching &&
				   stat_int(t, "open_watches", NULL) >= 4,
			   ms);

	CHECK(t, ok, "watches not open after %d ms", ms);
}

/* Every watch open, answered by the server: no request of the client is in
 * flight (a case that changes the server under the client needs that). */
static bool all_watching(struct t *t)
{
	for (int i = 0; i < PW_K8S_NKINDS; i++)
		if (!kstats(t, (enum pw_k8s_kind)i).watching)
			return false;
	return stat_int(t, "open_watches", NULL) >= PW_K8S_NKINDS;
}

/* The usual world: pods on two nodes, policies in three namespaces, cluster DNS. */
static void seed(struct t *t, int n_policies)
{
	static const char *const nss[] = {"agents", "ci", "default"};
	char name[32];

	apply(t, "pods", pod("agents", "a1", NODE, "coding-agent", "10.42.0.11", NULL, false));
	apply(t, "pods",
	      pod("agents", "a2", NODE, "coding-agent", "10.42.0.12", "fd00:42::12", false));
	apply(t, "pods", pod("ci", "a3", NODE, "runner", "10.42.0.13", NULL, false));
	apply(t, "pods",
	      pod("kube-system", "a4", NODE, "node-exporter", "192.168.1.10", NULL, true));
	apply(t, "pods", pod("agents", "b1", "node-b", "coding-agent", "10.42.1.11", NULL, false));
	apply(t, "pods", pod("ci", "b2", "node-b", "runner", "10.42.1.12", NULL, false));
	apply(t, "pods", pod("ci", "b3", "node-b", "runner", "10.42.1.13", NULL, false));
	for (int i = 0; i < n_policies; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		apply(t, "egresspolicies",
		      policy(nss[i % 3], name, "coding-agent", "api.github.com"));
	}
	apply(t, "namespaces",
	      json_pack("{s:{s:s,s:{s:s}}}", "metadata", "name", "agents", "labels", "tier",
			"agents"));
	apply(t, "clusteregresspolicies",
	      json_pack("{s:s,s:s,s:{s:s},s:{s:{},s:[]}}", "apiVersion", "podwall.io/v1alpha1",
			"kind", "ClusterEgressPolicy", "metadata", "name", "baseline", "spec",
			"namespaceSelector", "egress"));
	apply(t, "services", dns_service("10.43.0.10", "fd00:43::a"));
	apply(t, "services",
	      json_pack("{s:{s:s,s:s},s:{s:s,s:[{s:i,s:s}]}}", "metadata", "name", "metrics",
			"namespace", "kube-system", "spec", "clusterIP", "10.43.0.99", "ports",
			"port", 9153, "protocol", "TCP"));
	apply(t, "endpointslices",
	      slice("kube-dns-v4", "kube-dns", "IPv4", 2, "10.42.0.5", "10.42.0.9!"));
	apply(t, "endpointslices", slice("kube-dns-v6", "kube-dns", "IPv6", 1, "fd00:42::5"));
	apply(t, "endpointslices", slice("metrics-x", "metrics", "IPv4", 1, "10.42.0.77"));
	/* the rebinding guard's: every node (cluster-scoped), the kubernetes Service */
	apply(t, "nodes",
	      json_pack("{s:{s:s},s:{s:s},s:{s:[{s:s,s:s}]}}", "metadata", "name", NODE, "spec",
			"podCIDR", "10.42.0.0/24", "status", "addresses", "type", "InternalIP",
			"address", "192.168.1.10"));
	apply(t, "nodes",
	      json_pack("{s:{s:s},s:{s:s}}", "metadata", "name", "node-b", "spec", "podCIDR",
			"10.42.1.0/24"));
	apply(t, "services",
	      json_pack("{s:{s:s,s:s},s:{s:s,s:[{s:s,s:i,s:s}]}}", "metadata", "name", "kubernetes",
			"namespace", "default", "spec", "clusterIP", "10.43.0.1", "ports", "name",
			"https", "port", 443, "protocol", "TCP"));
}

static bool resolvers_are(struct t *t, const char *const *want, size_t n)
{
	struct pw_k8s_addr got[16];
	size_t m = pw_k8s_resolvers(t->k, got, 16);
	char buf[PW_IP_STRLEN];

	if (m != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < m; j++)
			if (!strcmp(pw_ip_str(got[j].family, &got[j].ip, buf), want[i]))
				found = true;
		if (!found)
			return false;
	}
	return true;
}

static void dump_resolvers(struct t *t)
{
	struct pw_k8s_addr got[16];
	size_t m = pw_k8s_resolvers(t->k, got, 16);
	char buf[PW_IP_STRLEN];

	for (size_t j = 0; j < m && j < 16; j++)
		note("resolver %s", pw_ip_str(got[j].family, &got[j].ip, buf));
}

/* ---- cases ---------------------------------------------------------------------------- */

/* First LIST (paged) of every kind; everything the agent reads from it. */
static void case_initial_sync(struct t *t)
{
	static const char *const want[] = {"10.43.0.10", "fd00:43::a", "10.42.0.5", "fd00:42::5"};
	struct pw_k8s_pod p;
	char err[512];
	const char *key;
	json_t *obj;

	seed(t, 7);
	t->cfg.page_size = 2;
	if (client_start(t))
		return;
	CHECK(t, !pw_k8s_synced(t->k), "synced before any request");
	CHECK(t, pw_k8s_next_timeout_ms(t->k) == 0, "first requests not due at once");
	expect_synced(t, 10000);
	expect_all_in_step(t, 3000);
	for (int i = 0; i < PW_K8S_NKINDS; i++)
		CHECK(t, t->before_sync[i] == json_object_size(pw_k8s_objects(t->k, i)),
		      "%s: %zu changes before SYNCED for %zu objects",
		      pw_k8s_kind_name((enum pw_k8s_kind)i), t->before_sync[i],
		      json_object_size(pw_k8s_objects(t->k, i)));
	CHECK(t, json_object_size(pw_k8s_objects(t->k, PW_K8S_PODS)) == 4, "pods of this node");
	CHECK(t, json_object_size(pw_k8s_objects(t->k, PW_K8S_POLICIES)) == 7, "policies");
	CHECK(t, json_object_size(pw_k8s_objects(t->k, PW_K8S_DNS_SERVICE)) == 1, "dns service");
	CHECK(t, json_object_size(pw_k8s_objects(t->k, PW_K8S_DNS_SLICES)) == 2, "dns slices");
	CHECK(t, stat_int(t, "continues", "egresspolicies") >= 3, "paging was not used");
	CHECK(t, !log_has(t, "pods ADDED agents/b1"), "a pod of another node was delivered");
	if (!resolvers_are(t, want, 4)) {
		dump_resolvers(t);
		CHECK(t, 0, "resolvers");
	}
	CHECK(t, pw_k8s_resolvers(t->k, NULL, 0) == 4, "resolver count without output");

	/* what the agent reads from pods */
	CHECK(t,
	      pw_k8s_pod_info(pw_k8s_get(t->k, PW_K8S_PODS, "agents", "a2"), &p, err,
			      sizeof(err)) == 0,
	      "pod_info a2: %s", err);
	CHECK(t, p.n_ips == 2 && p.ips[0].family == PW_FAMILY_V4 && p.ips[1].family == PW_FAMILY_V6,
	      "a2 addresses");
	CHECK(t, !strcmp(pw_labels_get(&p.labels, "app") ?: "", "coding-agent"), "a2 labels");
	CHECK(t, !strcmp(p.node_name, NODE) && p.uid[0] && !p.host_network, "a2 fields");
	pw_k8s_pod_free(&p);
	CHECK(t,
	      pw_k8s_pod_info(pw_k8s_get(t->k, PW_K8S_PODS, "kube-system", "a4"), &p, err,
			      sizeof(err)) == 0 &&
		      p.host_network,
	      "a4 hostNetwork");
	pw_k8s_pod_free(&p);

	/* what it reads from policies: the agent's own decoder takes API objects */
	json_object_foreach((json_t *)pw_k8s_objects(t->k, PW_K8S_POLICIES), key, obj)
	{
		struct pw_policy pol;

		CHECK(t, pw_policy_from_json(obj, "k8s", &pol, err, sizeof(err)) == 0,
		      "policy %s: %s", key, err);
		pw_policy_free(&pol);
	}
	expect_watching(t, 3000);
}

/* Changes after the sync arrive as ADDED / MODIFIED / DELETED with the right
 * old and new objects; selector transitions too. */
static void case_events(struct t *t)
{
	static const char *const want[] = {"10.43.0.10", "fd00:43::a", "10.42.0.5", "fd00:42::5",
					   "10.42.2.2"};
	const json_t *o;

	seed(t, 2);
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	expect_watching(t, 3000);

	apply(t, "pods", pod("agents", "n1", NODE, "x", "10.42.0.21", NULL, false));
	CHECK(t, WAIT_FOR(t, log_has(t, "pods ADDED agents/n1"), 3000), "ADDED n1");
	apply(t, "pods", pod("agents", "n1", NODE, "y", "10.42.0.21", NULL, false));
	CHECK(t, WAIT_FOR(t, log_has(t, "pods MODIFIED agents/n1"), 3000), "MODIFIED n1");
	o = pw_k8s_get(t->k, PW_K8S_PODS, "agents", "n1");
	CHECK(t,
	      o && !strcmp(json_string_value(json_object_get(
				   json_object_get(json_object_get(o, "metadata"), "labels"),
				   "app"))
				   ?: "",
			   "y"),
	      "label change not in the cache");

	/* another node's pod: never delivered */
	apply(t, "pods", pod("agents", "other", "node-b", "x", "10.42.1.21", NULL, false));
	/* unscheduled, then bound here: ADDED when it starts matching the selector */
	apply(t, "pods", pod("agents", "u1", "", "x", NULL, NULL, false));
	apply(t, "pods", pod("agents", "u1", NODE, "x", "10.42.0.22", NULL, false));
	CHECK(t, WAIT_FOR(t, log_has(t, "pods ADDED agents/u1"), 3000), "bound pod not ADDED");

	del(t, "pods", "agents", "n1");
	CHECK(t, WAIT_FOR(t, log_has(t, "pods DELETED agents/n1"), 3000), "DELETED n1");

	apply(t, "egresspolicies", policy("agents", "new", "x", "api.anthropic.com"));
	CHECK(t, WAIT_FOR(t, log_has(t, "egresspolicies ADDED agents/new"), 3000), "policy ADDED");
	apply(t, "egresspolicies", policy("agents", "new", "y", "api.anthropic.com"));
	CHECK(t, WAIT_FOR(t, log_has(t, "egresspolicies MODIFIED agents/new"), 3000),
	      "policy MODIFIED");
	del(t, "egresspolicies", "agents", "new");
	CHECK(t, WAIT_FOR(t, log_has(t, "egresspolicies DELETED agents/new"), 3000),
	      "policy DELETED");

	apply(t, "endpointslices",
	      slice("kube-dns-v4", "kube-dns", "IPv4", 3, "10.42.0.5", "10.42.0.9!", "10.42.2.2"));
	CHECK(t, WAIT_FOR(t, resolvers_are(t, want, 5), 3000), "new DNS endpoint not trusted");

	expect_all_in_step(t, 3000);
	CHECK(t, !log_has(t, "pods ADDED agents/other"), "a pod of another node was delivered");
	CHECK(t, SUM(t, lists) == PW_K8S_NKINDS, "unexpected relist (%llu lists)",
	      (unsigned long long)SUM(t, lists));
}

/* Changes made while the watches are down, then the watches cut: the client
 * watches again from its resourceVersion and misses nothing, without a LIST. */
static void case_watch_drop(struct t *t)
{
	uint64_t lists, watches;

	seed(t, 3);
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	expect_watching(t, 3000);
	lists = SUM(t, lists);
	watches = SUM(t, watches);

	config(t, json_pack("{s:b}", "pause_watches", 1));
	apply(t, "pods", pod("agents", "x1", NODE, "x", "10.42.0.31", NULL, false));
	apply(t, "pods", pod("agents", "a1", NODE, "changed", "10.42.0.11", NULL, false));
	del(t, "pods", "ci", "a3");
	apply(t, "egresspolicies", policy("ci", "gap", "runner", "registry.npmjs.org"));
	del(t, "egresspolicies", "agents", "p0");
	ctl_do(t, "/_test/drop-watches", json_object());
	config(t, json_pack("{s:b}", "pause_watches", 0));

	expect_all_in_step(t, 5000);
	CHECK(t, log_has(t, "pods DELETED ci/a3"), "delete in the gap not delivered");
	CHECK(t, log_has(t, "pods MODIFIED agents/a1"), "modify in the gap not delivered");
	CHECK(t, log_has(t, "egresspolicies DELETED agents/p0"), "policy delete not delivered");
	CHECK(t, SUM(t, lists) == lists, "relisted after a plain disconnect");
	CHECK(t, SUM(t, watches) > watches, "no new watch");
	CHECK(t, SUM(t, relists_gone) == 0, "410 without compaction");
}

/* Same, but the history is compacted meanwhile: the watch answers 410 (as an
 * ERROR event, or as HTTP 410), the client lists again and delivers the
 * difference, deletions included. */
static void gone(struct t *t, bool as_http)
{
	uint64_t lists;

	seed(t, 3);
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	expect_watching(t, 3000);
	lists = SUM(t, lists);
	config(t, json_pack("{s:b,s:b}", "pause_watches", 1, "gone_as_http", as_http));
	apply(t, "pods", pod("agents", "x1", NODE, "x", "10.42.0.31", NULL, false));
	apply(t, "pods", pod("agents", "a1", NODE, "changed", "10.42.0.11", NULL, false));
	del(t, "pods", "ci", "a3");
	apply(t, "egresspolicies", policy("ci", "gap", "runner", "registry.npmjs.org"));
	del(t, "egresspolicies", "agents", "p0");
	apply(t, "endpointslices", slice("kube-dns-v4", "kube-dns", "IPv4", 1, "10.42.0.6"));
	ctl_do(t, "/_test/compact", json_object());
	ctl_do(t, "/_test/drop-watches", json_object());
	config(t, json_pack("{s:b}", "pause_watches", 0));

	CHECK(t, WAIT_FOR(t, SUM(t, relists_gone) >= 4 && SUM(t, lists) >= lists + 4, 5000),
	      "no relist after 410 (relists_gone %llu, lists %llu)",
	      (unsigned long long)SUM(t, relists_gone), (unsigned long long)SUM(t, lists));
	expect_all_in_step(t, 5000);
	CHECK(t, log_has(t, "pods DELETED ci/a3"), "delete in the gap not delivered by the relist");
	CHECK(t, log_has(t, "pods MODIFIED agents/a1"), "modify in the gap not delivered");
	CHECK(t, log_has(t, "pods ADDED agents/x1"), "add in the gap not delivered");
	CHECK(t, log_has(t, "egresspolicies DELETED agents/p0"), "policy delete not delivered");
	CHECK(t, !log_has(t, "pods MODIFIED agents/a2"), "unchanged object delivered again");
	CHECK(t, stat_int(t, "gone", NULL) >= 4, "server saw no 410");
	expect_watching(t, 3000);
}

static void case_gone_event(struct t *t)
{
	gone(t, false);
}

static void case_gone_http(struct t *t)
{
	gone(t, true);
}

static bool all_at_rv(struct t *t, const char *rv)
{
	for (int i = 0; i < PW_K8S_NKINDS; i++)
		if (strcmp(kstats(t, (enum pw_k8s_kind)i).resource_version, rv))
			return false;
	return true;
}

/* Bookmarks move the resourceVersion on when nothing the client watches
 * changes: after a compaction it can still watch again without a LIST. */
static void case_bookmarks(struct t *t)
{
	char name[16];
	json_t *s;
	char rv[32];
	uint64_t lists;

	seed(t, 1);
	config(t, json_pack("{s:f}", "bookmark_interval", 0.2));
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	expect_watching(t, 3000);
	lists = SUM(t, lists);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "bg%d", i);
		apply(t, "pods", pod("ci", name, "node-b", "x", NULL, NULL, false));
	}
	s = ctl(t, "/_test/stats", NULL);
	snprintf(rv, sizeof(rv), "%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(s, "rv")));
	json_decref(s);
	/* every reflector: one left behind would watch from a compacted version */
	CHECK(t, WAIT_FOR(t, all_at_rv(t, rv), 3000),
	      "bookmarks did not bring every resourceVersion to %s (pods at %s, namespaces at %s)",
	      rv, kstats(t, PW_K8S_PODS).resource_version,
	      kstats(t, PW_K8S_NAMESPACES).resource_version);
	CHECK(t, SUM(t, bookmarks) > 0, "no bookmark counted");
	config(t, json_pack("{s:b}", "pause_watches", 1));
	ctl_do(t, "/_test/compact", json_object());
	ctl_do(t, "/_test/drop-watches", json_object());
	config(t, json_pack("{s:b}", "pause_watches", 0));
	apply(t, "pods", pod("agents", "after", NODE, "x", NULL, NULL, false));
	CHECK(t, WAIT_FOR(t, log_has(t, "pods ADDED agents/after"), 5000),
	      "no event after rewatch");
	expect_all_in_step(t, 3000);
	CHECK(t, SUM(t, relists_gone) == 0, "410 although bookmarks were followed");
	CHECK(t, SUM(t, lists) == lists, "relisted although bookmarks were followed");
}

/* The server ends each watch after timeoutSeconds: the client watches again
 * at once, from where it was, without a LIST and without counting an error. */
static void case_watch_timeout(struct t *t)
{
	seed(t, 1);
	t->cfg.watch_timeout_s = 1;
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	run_for(t, 4500);
	for (int i = 0; i < PW_K8S_NKINDS; i++) {
		struct pw_k8s_stats st = kstats(t, (enum pw_k8s_kind)i);

		CHECK(t, st.watches >= 3, "%s: %llu watches in 4.5 s with 1-2 s timeouts",
		      pw_k8s_kind_name((enum pw_k8s_kind)i), (unsigned long long)st.watches);
		CHECK(t, st.lists == 1, "%s: relisted", pw_k8s_kind_name((enum pw_k8s_kind)i));
		CHECK(t, st.errors == 0, "%s: error %s", pw_k8s_kind_name((enum pw_k8s_kind)i),
		      st.last_error);
	}
	apply(t, "pods", pod("agents", "late", NODE, "x", NULL, NULL, false));
	CHECK(t, WAIT_FOR(t, log_has(t, "pods ADDED agents/late"), 3000), "no event");
	expect_all_in_step(t, 3000);
}

static int write_atomic(const char *path, const char *content)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fputs(content, f);
	fclose(f);
	return rename(tmp, path) ? -errno : 0;
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "r"), *out = in ? fopen(to, "w") : NULL;
	char buf[4096];
	size_t n;

	if (!in || !out) {
		if (in)
			fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)))
		fwrite(buf, 1, n, out);
	fclose(in);
	return fclose(out) ? -1 : 0;
}

/* Kubelet's projected volume: DIR/token -> ..data/token, ..data -> ..<stamp>;
 * rotation writes a new ..<stamp> and swaps ..data atomically. */
static int sa_rotate(const char *sa_dir, const char *token, int gen)
{
	char dir[512], file[600], link[512], tmp[512], target[64];
	FILE *f;

	snprintf(target, sizeof(target), "..gen%d", gen);
	snprintf(dir, sizeof(dir), "%s/%s", sa_dir, target);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	snprintf(file, sizeof(file), "%s/token", dir);
	f = fopen(file, "w");
	if (!f)
		return -errno;
	fputs(token, f);
	fclose(f);
	/* every file of the volume is in each generation: carry ca.crt over */
	snprintf(file, sizeof(file), "%s/ca.crt", dir);
	snprintf(link, sizeof(link), "%s/ca.crt", sa_dir);
	if (copy_file(link, file))
		return -EIO;
	snprintf(link, sizeof(link), "%s/..data", sa_dir);
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", sa_dir);
	unlink(tmp);
	if (symlink(target, tmp) || rename(tmp, link))
		return -errno;
	return 0;
}

static void rotate_client(struct t *t, const char *token, int gen)
{
	char path[512];
	int ret;

	if (t->sa_dir) {
		ret = sa_rotate(t->sa_dir, token, gen);
	} else {
		snprintf(path, sizeof(path), "%s/client-token", t->workdir);
		ret = write_atomic(path, token);
	}
	CHECK(t, ret == 0, "rotating the client token: %s", strerror(-ret));
}

/* The token rotates (server and file): the client reads the new one before its
 * next request, so the server never refuses it; the old one is refused. */
static void case_token_rotation(struct t *t)
{
	json_int_t unauth;
	char url[512];
	long status = 0;

	seed(t, 1);
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	/* a request still on its way when the server's token changes would be
	 * refused through no fault of the client */
	CHECK(t, WAIT_FOR(t, all_watching(t), 5000), "not every watch open after 5000 ms");
	ctl_do(t, "/_test/rotate-token", json_pack("{s:s}", "token", "token-2"));
	rotate_client(t, "token-2", 2);
	unauth = stat_int(t, "unauthorized", NULL);
	ctl_do(t, "/_test/drop-watches", json_object());
	apply(t, "pods", pod("agents", "rot", NODE, "x", NULL, NULL, false));
	CHECK(t, WAIT_FOR(t, log_has(t, "pods ADDED agents/rot"), 5000),
	      "no event after the rotation (%s)", kstats(t, PW_K8S_PODS).last_error);
	expect_all_in_step(t, 3000);
	CHECK(t, stat_int(t, "unauthorized", NULL) == unauth,
	      "the server refused %lld requests: the new token was not picked up before use",
	      (long long)(stat_int(t, "unauthorized", NULL) - unauth));
	CHECK(t, kstats(t, PW_K8S_PODS).token_reloads >= 1, "no token reload counted");
	snprintf(url, sizeof(url), "%s/api/v1/pods", pw_k8s_server(t->k));
	json_decref(http_json(url, NULL, "token-1", &status));
	CHECK(t, status == 401, "the old token is still accepted (HTTP %ld)", status);
}

/* The server's token changes before the client's file: requests fail with 401
 * and back off; once the file has the new token, the client recovers and
 * misses nothing. */
static void case_token_401(struct t *t)
{
	seed(t, 1);
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	expect_watching(t, 3000);
	ctl_do(t, "/_test/rotate-token", json_pack("{s:s}", "token", "token-3"));
	ctl_do(t, "/_test/drop-watches", json_object());
	apply(t, "pods", pod("agents", "during", NODE, "x", NULL, NULL, false));
	CHECK(t, WAIT_FOR(t, SUM(t, unauthorized) >= 4, 3000), "no 401 seen by the client");
	CHECK(t, !log_has(t, "pods ADDED agents/during"), "delivered without authentication?");
	rotate_client(t, "token-3", 3);
	CHECK(t, WAIT_FOR(t, log_has(t, "pods ADDED agents/during"), 5000),
	      "not recovered after the token file was updated (%s)",
	      kstats(t, PW_K8S_PODS).last_error);
	expect_all_in_step(t, 3000);
}

/* The API is unreachable when the client starts: it retries with a bounded
 * backoff, reports nothing and is not synced; once the API is up it syncs. */
static void case_unreachable_start(struct t *t)
{
	t->cfg.backoff_max_ms = 400;
	if (client_start(t))
		return;
	run_for(t, 1500);
	CHECK(t, !pw_k8s_synced(t->k), "synced while the API is down");
	CHECK(t, json_array_size(t->log) == 0, "%zu changes delivered while the API is down",
	      json_array_size(t->log));
	CHECK(t, SUM(t, errors) >= 4, "no failed attempts counted");
	CHECK(t, strstr(kstats(t, PW_K8S_PODS).last_error, "onnect") != NULL,
	      "last error does not say why: %s", kstats(t, PW_K8S_PODS).last_error);
	seed(t, 3);
	ctl_do(t, "/_test/api-up", json_object());
	expect_synced(t, 5000);
	expect_all_in_step(t, 3000);
	for (int i = 0; i < PW_K8S_NKINDS; i++)
		CHECK(t,
		      t->errors_at_first[i] >= 1 &&
			      t->before_sync[i] == json_object_size(pw_k8s_objects(t->k, i)),
		      "%s: changes before the sync (errors at the first %u, before the sync %u, "
		      "objects %zu)",
		      pw_k8s_kind_name((enum pw_k8s_kind)i), (unsigned)t->errors_at_first[i],
		      (unsigned)t->before_sync[i], json_object_size(pw_k8s_objects(t->k, i)));
}

/* A LIST fails half way (at its second page): nothing from the first page is
 * delivered; the list starts over and the sync delivers each object once. The
 * failure hits whichever paged LIST asks for a second page first. */
static void page_failure(struct t *t, json_t *cfg, bool one_kind)
{
	int hit = 0;

	seed(t, 7);
	config(t, cfg);
	t->cfg.page_size = 2;
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	expect_all_in_step(t, 3000);
	for (int i = 0; i < PW_K8S_NKINDS; i++) {
		const char *kn = pw_k8s_kind_name((enum pw_k8s_kind)i);

		if (!kstats(t, (enum pw_k8s_kind)i).errors)
			continue;
		hit++;
		CHECK(t, t->errors_at_first[i] >= 1,
		      "%s: delivered before the failed list was retried", kn);
		CHECK(t, t->before_sync[i] == json_object_size(pw_k8s_objects(t->k, i)),
		      "%s: %zu changes for %zu objects", kn, t->before_sync[i],
		      json_object_size(pw_k8s_objects(t->k, i)));
	}
	CHECK(t, one_kind ? hit == 1 : hit >= 1, "the injected failure was seen by %d kinds", hit);
	CHECK(t, log_count(t, "egresspolicies ADDED") == 7, "duplicate ADDED");
	CHECK(t, log_count(t, "pods ADDED") == 4, "duplicate ADDED");
}

static void case_list_page_failure(struct t *t)
{
	page_failure(t, json_pack("{s:i}", "fail_continue", 1), true);
}

static void case_continue_expired(struct t *t)
{
	/* a compaction expires every continue token in flight, pods' too */
	page_failure(t, json_pack("{s:i}", "compact_on_continue", 1), false);
	CHECK(t, stat_int(t, "gone", NULL) >= 1, "the continue token did not expire");
}

/* A malformed event: the client drops the stream, lists again, recovers. */
static void case_bad_stream(struct t *t)
{
	uint64_t lists;

	seed(t, 2);
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	expect_watching(t, 3000);
	lists = SUM(t, lists);
	config(t, json_pack("{s:i}", "garbage_next_watch", PW_K8S_NKINDS));
	ctl_do(t, "/_test/drop-watches", json_object());
	apply(t, "pods", pod("agents", "z", NODE, "x", NULL, NULL, false));
	CHECK(t, WAIT_FOR(t, log_has(t, "pods ADDED agents/z"), 5000), "not recovered");
	expect_all_in_step(t, 3000);
	CHECK(t, WAIT_FOR(t, SUM(t, lists) > lists, 5000), "no relist after a malformed stream");
	CHECK(t, SUM(t, errors) >= 1, "malformed stream not counted as an error");
}

/* In-cluster credentials over TLS, then a kubelet-style token rotation. */
static void case_tls_incluster(struct t *t)
{
	seed(t, 2);
	if (client_start(t))
		return;
	CHECK(t, !strncmp(pw_k8s_server(t->k), "https://127.0.0.1:", 18), "server %s",
	      pw_k8s_server(t->k));
	expect_synced(t, 10000);
	expect_all_in_step(t, 3000);
	expect_watching(t, 3000);
	ctl_do(t, "/_test/rotate-token", json_pack("{s:s}", "token", "token-2"));
	rotate_client(t, "token-2", 2);
	ctl_do(t, "/_test/drop-watches", json_object());
	apply(t, "pods", pod("agents", "tls", NODE, "x", NULL, NULL, false));
	CHECK(t, WAIT_FOR(t, log_has(t, "pods ADDED agents/tls"), 5000), "no event (%s)",
	      kstats(t, PW_K8S_PODS).last_error);
	CHECK(t, SUM(t, unauthorized) == 0, "401 after a kubelet-style rotation");
	expect_all_in_step(t, 3000);
}

/* A k3s kubeconfig: inline CA, client certificate and key; no token. */
static void case_tls_client_cert(struct t *t)
{
	seed(t, 2);
	if (client_start(t))
		return;
	expect_synced(t, 10000);
	expect_all_in_step(t, 3000);
	CHECK(t, stat_int(t, "client_certs", NULL) >= 4, "no request authenticated by certificate");
	apply(t, "pods", pod("agents", "cert", NODE, "x", NULL, NULL, false));
	CHECK(t, WAIT_FOR(t, log_has(t, "pods ADDED agents/cert"), 5000), "no event");
}

/* A CA that did not sign the server's certificate: nothing is trusted. */
static void case_tls_wrong_ca(struct t *t)
{
	seed(t, 1);
	if (client_start(t))
		return;
	run_for(t, 1500);
	CHECK(t, !pw_k8s_synced(t->k), "synced with an untrusted server certificate");
	CHECK(t, json_array_size(t->log) == 0, "changes delivered from an untrusted server");
	CHECK(t, strcasestr(kstats(t, PW_K8S_PODS).last_error, "certificate") != NULL,
	      "error does not mention the certificate: %s", kstats(t, PW_K8S_PODS).last_error);
}

static const struct {
	const char *name;
	void (*fn)(struct t *t);
} cases[] = {
	{"initial_sync", case_initial_sync},
	{"events", case_events},
	{"watch_drop", case_watch_drop},
	{"gone_event", case_gone_event},
	{"gone_http", case_gone_http},
	{"bookmarks", case_bookmarks},
	{"watch_timeout", case_watch_timeout},
	{"token_rotation", case_token_rotation},
	{"token_401", case_token_401},
	{"unreachable_start", case_unreachable_start},
	{"list_page_failure", case_list_page_failure},
	{"continue_expired", case_continue_expired},
	{"bad_stream", case_bad_stream},
	{"tls_incluster", case_tls_incluster},
	{"tls_client_cert", case_tls_client_cert},
	{"tls_wrong_ca", case_tls_wrong_ca},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"control", required_argument, NULL, 'c'},
		{"kubeconfig", required_argument, NULL, 'k'},
		{"incluster", required_argument, NULL, 'i'},
		{"workdir", required_argument, NULL, 'w'},
		{"verbose", no_argument, NULL, 'v'},
		{"list", no_argument, NULL, 'l'},
		{},
	};
	struct t t = {.epfd = -1};
	const char *name;
	size_t i;
	int c;

	pw_log_level = PW_LOG_WARN;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			t.control = optarg;
			break;
		case 'k':
			t.kubeconfig = optarg;
			break;
		case 'i':
			t.sa_dir = optarg;
			break;
		case 'w':
			t.workdir = optarg;
			break;
		case 'v':
			pw_log_level = PW_LOG_DEBUG;
			break;
		case 'l':
			for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
				puts(cases[i].name);
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc || !t.control || !t.workdir) {
		fprintf(stderr, "usage: k8s_driver CASE --control URL (--kubeconfig F | "
				"--incluster SA_DIR) --workdir DIR\n       k8s_driver --list\n");
		return 2;
	}
	name = argv[optind];
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].name, name))
			break;
	if (i == sizeof(cases) / sizeof(cases[0])) {
		fprintf(stderr, "unknown case %s\n", name);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t.epfd = epoll_create1(EPOLL_CLOEXEC);
	t.log = json_array();
	for (int k = 0; k < PW_K8S_NKINDS; k++)
		t.mirror[k] = json_object();

	cases[i].fn(&t);
	if (!t.k)
		t.failures++;

	pw_k8s_free(t.k);
	for (int k = 0; k < PW_K8S_NKINDS; k++)
		json_decref(t.mirror[k]);
	json_decref(t.log);
	close(t.epfd);
	curl_global_cleanup();
	return t.failures ? 1 : 0;
}

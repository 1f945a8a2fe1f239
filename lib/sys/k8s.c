// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kubernetes API client: list+watch reflectors over the libcurl multi
 * interface, driven by the caller's epoll loop. See k8s.h for the protocol and
 * the contract with the caller.
 *
 * Layout of this file: helpers; credentials (token file, kubeconfig,
 * in-cluster); the cache and change delivery; one request (URL, options, body
 * and watch stream parsing, completion); the libcurl multi glue and the loop
 * API; accessors; pw_k8s_pod_info.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fileio.h"
#include "ipaddr.h"
#include "k8s.h"
#include "k8sname.h"
#include "log.h"
#include "version.h"

#define DEF_PAGE_SIZE	    500
#define DEF_WATCH_TIMEOUT_S 300
#define DEF_LIST_TIMEOUT_S  60
#define DEF_BACKOFF_MIN_MS  500
#define DEF_BACKOFF_MAX_MS  30000
#define CONNECT_TIMEOUT_S   10
#define WATCH_GRACE_S	    60	       /* hard transfer timeout beyond timeoutSeconds */
#define QUICK_END_MS	    1000       /* a watch ending sooner, empty, counts as a failure */
#define ERROR_BODY_MAX	    (64 << 10) /* kept of a non-200 answer, for the message */
#define TOKEN_MAX	    (64 << 10)
#define KUBECONFIG_MAX	    (4 << 20)
#define DRIVE_ROUNDS	    16

/* ---- helpers ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The API answered: whatever failed before, it is reachable and lets us in. */
static void api_ok(struct pw_k8s_stats *st)
{
	st->failing_since_ms = 0;
	st->last_http = 0;
}

/* Standard base64 (RFC 4648), whitespace ignored, padding optional. */
static int b64_decode(const char *in, unsigned char **out, size_t *out_len)
{
	size_t len = strlen(in), n = 0;
	unsigned int acc = 0, bits = 0;
	unsigned char *o;
	bool pad = false;

	o = malloc(len / 4 * 3 + 4);
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		if (pad)
			goto bad; /* data after padding */
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else
			goto bad;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (bits >= 6 || !n)
		goto bad; /* a lone trailing character, or nothing */
	*out = o;
	*out_len = n;
	return 0;
bad:
	free(o);
	return -EINVAL;
}

/* ---- state -------------------------------------------------------------------- */

struct blob {
	unsigned char *data;
	size_t len;
};

struct auth {
	char *server; /* scheme://host[:port][/prefix], no trailing '/' */
	char *ca_file;
	struct blob ca;
	char *cert_file, *key_file;
	struct blob cert, key;
	bool insecure;
	char *proxy; /* "" = no proxy (environment ignored) */
	char *token;
	char *token_file;
	bool tok_known;
	dev_t tok_dev;
	ino_t tok_ino;
	off_t tok_size;
	struct timespec tok_mtime;
	uint64_t token_reloads;
};

enum req_type { REQ_LIST, REQ_WATCH, REQ_WRITE };

enum req_outcome {
	OUT_NONE,
	OUT_GONE,     /* ERROR event with code 410 */
	OUT_ERROR,    /* ERROR event, other code */
	OUT_PROTOCOL, /* malformed stream or body */
	OUT_NOMEM,
};

struct reflector;

struct request {
	struct reflector *r;
	enum req_type type;
	CURL *easy;
	struct curl_slist *hdrs;
	char *url;
	long status;
	char *buf; /* LIST or error body; WATCH: the partial line */
	size_t len, cap, scan;
	enum req_outcome outcome;
	char why[256];
	int64_t started_ms;
	uint64_t n_events;
	char errbuf[CURL_ERROR_SIZE];
	/* REQ_WRITE (r is NULL): the caller's completion, the list of writes */
	pw_k8s_done_fn done;
	void *done_ctx;
	char *body;
	struct request *next;
};

struct reflector {
	struct pw_k8s *k;
	enum pw_k8s_kind kind;
	const char *api_version; /* of the objects */
	const char *kind_name;
	char *path;	 /* "/api/v1/pods" */
	char *selector;	 /* "fieldSelector=..." (escaped), or NULL */
	json_t *cache;	 /* "ns/name" -> object */
	json_t *pending; /* items of the LIST in progress */
	char *cont;	 /* continue token of the next page */
	char *rv;	 /* last resourceVersion seen */
	bool need_list;
	bool synced;
	int64_t due_ms;		  /* next request; -1: none scheduled */
	unsigned int failures;	  /* consecutive failed requests */
	unsigned int gone_streak; /* consecutive watches answered 410 at once */
	struct request *req;
	struct pw_k8s_stats st;
};

struct pw_k8s {
	struct pw_k8s_config cfg;
	char *node_name;
	struct auth auth;
	CURLM *multi;
	int64_t curl_due_ms; /* -1: no libcurl timer */
	bool freeing;
	uint64_t rng;
	struct reflector refl[PW_K8S_NKINDS];
	struct request *writes; /* PATCH/POST/PUT/GET in flight */
	unsigned int n_writes;
};

static const char *const kind_names[PW_K8S_NKINDS] = {
	[PW_K8S_PODS] = "pods",
	[PW_K8S_POLICIES] = "egresspolicies",
	[PW_K8S_DNS_SERVICE] = "dns-service",
	[PW_K8S_DNS_SLICES] = "dns-endpointslices",
	[PW_K8S_CLUSTER_POLICIES] = "clusteregresspolicies",
	[PW_K8S_NAMESPACES] = "namespaces",
	[PW_K8S_NODES] = "nodes",
	[PW_K8S_API_SERVICE] = "kubernetes-service",
	[PW_K8S_SERVICES] = "services",
	[PW_K8S_SLICES] = "endpointslices",
};

const char *pw_k8s_kind_name(enum pw_k8s_kind kind)
{
	return (unsigned int)kind < PW_K8S_NKINDS ? kind_names[kind] : "?";
}

const char *pw_k8s_change_name(enum pw_k8s_change type)
{
	switch (type) {
	case PW_K8S_ADDED:
		return "ADDED";
	case PW_K8S_MODIFIED:
		return "MODIFIED";
	case PW_K8S_DELETED:
		return "DELETED";
	case PW_K8S_SYNCED:
		return "SYNCED";
	}
	return "?";
}

static uint64_t rnd(struct pw_k8s *k)
{
	/* xorshift64*: jitter only, nothing secret */
	k->rng ^= k->rng >> 12;
	k->rng ^= k->rng << 25;
	k->rng ^= k->rng >> 27;
	return k->rng * 2685821657736338717ULL;
}

/* ---- credentials ------------------------------------------------------------------ */

static void blob_free(struct blob *b)
{
	if (b->data)
		memset(b->data, 0, b->len); /* key material */
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

static void token_set(struct auth *a, char *tok)
{
	if (a->token) {
		memset(a->token, 0, strlen(a->token));
		free(a->token);
	}
	a->token = tok;
}

static void auth_free(struct auth *a)
{
	free(a->server);
	free(a->ca_file);
	blob_free(&a->ca);
	free(a->cert_file);
	free(a->key_file);
	blob_free(&a->cert);
	blob_free(&a->key);
	free(a->proxy);
	token_set(a, NULL);
	free(a->token_file);
	memset(a, 0, sizeof(*a));
}

/* Re-read the token file if it changed since the last read (or always, with
 * force). A failure keeps the previous token. */
static int token_refresh(struct pw_k8s *k, bool force)
{
	struct auth *a = &k->auth;
	struct stat st;
	size_t len;
	char *buf;
	int ret;

	if (!a->token_file)
		return 0;
	if (stat(a->token_file, &st)) {
		ret = -errno;
		pw_warn("k8s: token file %s: %s", a->token_file, strerror(errno));
		return ret;
	}
	if (!force && a->tok_known && st.st_dev == a->tok_dev && st.st_ino == a->tok_ino &&
	    st.st_size == a->tok_size && st.st_mtim.tv_sec == a->tok_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == a->tok_mtime.tv_nsec)
		return 0;
	ret = pw_read_file(a->token_file, TOKEN_MAX, &buf, &len);
	if (ret) {
		pw_warn("k8s: cannot read token file %s: %s", a->token_file, strerror(-ret));
		return ret;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		buf[--len] = '\0';
	if (!len || strlen(buf) != len || strpbrk(buf, "\r\n")) {
		pw_warn("k8s: token file %s is empty or not one line; keeping the previous token",
			a->token_file);
		free(buf);
		return -EINVAL;
	}
	if (a->token && !strcmp(a->token, buf)) {
		memset(buf, 0, len);
		free(buf);
	} else {
		if (a->tok_known)
			pw_info("k8s: token file %s changed; using the new token", a->token_file);
		token_set(a, buf);
		a->token_reloads++;
	}
	a->tok_known = true;
	a->tok_dev = st.st_dev;
	a->tok_ino = st.st_ino;
	a->tok_size = st.st_size;
	a->tok_mtime = st.st_mtim;
	return 0;
}

/* Path as given if absolute, else relative to the kubeconfig's directory. */
static char *config_path(const char *kubeconfig, const char *p)
{
	const char *slash = strrchr(kubeconfig, '/');
	char *out;

	if (p[0] == '/' || !slash)
		return strdup(p);
	if (asprintf(&out, "%.*s/%s", (int)(slash - kubeconfig), kubeconfig, p) < 0)
		return NULL;
	return out;
}

/* The entry of a kubeconfig list ("clusters", "users", "contexts") named name,
 * and its member called item ("cluster", "user", "context"). */
static const json_t *named_entry(const json_t *root, const char *list, const char *name,
				 const char *item)
{
	const json_t *arr = json_object_get(root, list), *e;
	size_t i;

	if (!json_is_array(arr))
		return NULL;
	json_array_foreach(arr, i, e)
	{
		const json_t *n = json_object_get(e, "name");

		if (json_is_string(n) && !strcmp(json_string_value(n), name))
			return json_object_get(e, item);
	}
	return NULL;
}

/* A string member of obj: 0 and *out (NULL when absent), or -EINVAL. */
static int opt_string(const json_t *obj, const char *key, const char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -EINVAL;
	*out = json_string_value(v);
	return 0;
}

struct kc {
	const char *path;
	char *err;
	size_t errlen;
};

static int kc_string(struct kc *c, const json_t *obj, const char *where, const char *key,
		     const char **out)
{
	if (opt_string(obj, key, out))
		return pw_k8s_errf(c->err, c->errlen, "kubeconfig %s: %s: %s must be a string",
				   c->path, where, key);
	if (*out && !**out)
		*out = NULL;
	return 0;
}

/* "*-data" (base64) or the file named by key. */
static int kc_material(struct kc *c, const json_t *obj, const char *where, const char *key,
		       char **file, struct blob *data)
{
	char data_key[64];
	const char *f, *d;
	int ret;

	snprintf(data_key, sizeof(data_key), "%s-data", key);
	ret = kc_string(c, obj, where, key, &f);
	if (!ret)
		ret = kc_string(c, obj, where, data_key, &d);
	if (ret)
		return ret;
	if (d) {
		ret = b64_decode(d, &data->data, &data->len);
		if (ret == -ENOMEM)
			return ret;
		if (ret)
			return pw_k8s_errf(c->err, c->errlen,
					   "kubeconfig %s: %s: %s is not valid base64", c->path,
					   where, data_key);
		return 0;
	}
	if (f) {
		*file = config_path(c->path, f);
		if (!*file)
			return -ENOMEM;
		if (access(*file, R_OK))
			return pw_k8s_errf(c->err, c->errlen, "kubeconfig %s: %s: %s %s: %s",
					   c->path, where, key, *file, strerror(errno));
	}
	return 0;
}

static int kc_cluster(struct kc *c, const json_t *cl, const char *name, struct auth *a)
{
	char where[160];
	const char *server, *proxy, *sni;
	const json_t *ins;
	size_t n;
	int ret;

	snprintf(where, sizeof(where), "cluster \"%s\"", name);
	if (!json_is_object(cl))
		return pw_k8s_errf(c->err, c->errlen, "kubeconfig %s: no %s in clusters", c->path,
				   where);
	ret = kc_string(c, cl, where, "server", &server);
	if (!ret)
		ret = kc_string(c, cl, where, "proxy-url", &proxy);
	if (!ret)
		ret = kc_string(c, cl, where, "tls-server-name", &sni);
	if (ret)
		return ret;
	if (!server)
		return pw_k8s_errf(c->err, c->errlen, "kubeconfig %s: %s: server is required",
				   c->path, where);
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
		return pw_k8s_errf(c->err, c->errlen,
				   "kubeconfig %s: %s: server must be an https:// (or http://) URL",
				   c->path, where);
	if (sni)
		pw_warn("k8s: kubeconfig %s: %s: tls-server-name is not supported; the "
			"certificate must match the server's host",
			c->path, where);
	a->server = strdup(server);
	a->proxy = strdup(proxy ? proxy : "");
	if (!a->server || !a->proxy)
		return -ENOMEM;
	n = strlen(a->server);
	while (n > 8 && a->server[n - 1] == '/')
		a->server[--n] = '\0';
	ins = json_object_get(cl, "insecure-skip-tls-verify");
	if (ins && !json_is_boolean(ins) && !json_is_null(ins))
		return pw_k8s_errf(
			c->err, c->errlen,
			"kubeconfig %s: %s: insecure-skip-tls-verify must be true or false",
			c->path, where);
	a->insecure = json_is_true(ins);
	if (a->insecure)
		pw_warn("k8s: kubeconfig %s: %s: insecure-skip-tls-verify is set: the API "
			"server's certificate is NOT verified",
			c->path, where);
	return kc_material(c, cl, where, "certificate-authority", &a->ca_file, &a->ca);
}

static int kc_user(struct kc *c, const json_t *u, const char *name, struct auth *a)
{
	char where[160];
	const char *tok, *tokfile, *s;
	int ret;

	snprintf(where, sizeof(where), "user \"%s\"", name);
	if (!json_is_object(u))
		return pw_k8s_errf(c->err, c->errlen, "kubeconfig %s: no %s in users", c->path,
				   where);
	if (json_object_get(u, "exec") || json_object_get(u, "auth-provider"))
		return pw_k8s_errf(
			c->err, c->errlen,
			"kubeconfig %s: %s: exec and auth-provider credential plugins are "
			"not supported; use a token or a client certificate",
			c->path, where);
	if (opt_string(u, "username", &s) || s)
		return pw_k8s_errf(c->err, c->errlen,
				   "kubeconfig %s: %s: basic authentication (username/password) is "
				   "not supported; use a token or a client certificate",
				   c->path, where);
	ret = kc_string(c, u, where, "token", &tok);
	if (!ret)
		ret = kc_string(c, u, where, "tokenFile", &tokfile);
	if (!ret)
		ret = kc_material(c, u, where, "client-certificate", &a->cert_file, &a->cert);
	if (!ret)
		ret = kc_material(c, u, where, "client-key", &a->key_file, &a->key);
	if (ret)
		return ret;
	if ((a->cert_file || a->cert.data) != (a->key_file || a->key.data))
		return pw_k8s_errf(
			c->err, c->errlen,
			"kubeconfig %s: %s: a client certificate needs its key, and a key "
			"its certificate",
			c->path, where);
	if (tok) {
		a->token = strdup(tok);
		if (!a->token)
			return -ENOMEM;
	} else if (tokfile) {
		a->token_file = config_path(c->path, tokfile);
		if (!a->token_file)
			return -ENOMEM;
	}
	return 0;
}

static int kubeconfig_load(const char *path, const char *context, struct auth *a, char *err,
			   size_t errlen)
{
	struct kc c = {.path = path, .err = err, .errlen = errlen};
	const char *ctx_name, *cluster, *user;
	const json_t *root, *ctx;
	char yerr[PW_ERR_LEN];
	json_t *docs = NULL;
	char *buf = NULL;
	size_t len;
	int ret;

	ret = pw_read_file(path, KUBECONFIG_MAX, &buf, &len);
	if (ret) {
		pw_k8s_errf(err, errlen, "kubeconfig %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = pw_yaml_to_json(buf, len, &docs, yerr, sizeof(yerr));
	if (ret) {
		pw_k8s_errf(err, errlen, "kubeconfig %s: %s", path, yerr);
		goto out;
	}
	root = json_array_get(docs, 0);
	if (!json_is_object(root)) {
		ret = pw_k8s_errf(err, errlen, "kubeconfig %s: not a kubeconfig (no mapping)",
				  path);
		goto out;
	}
	ctx_name = context;
	if (!ctx_name) {
		ret = kc_string(&c, root, "top level", "current-context", &ctx_name);
		if (ret)
			goto out;
		if (!ctx_name) {
			ret = pw_k8s_errf(
				err, errlen,
				"kubeconfig %s: no current-context; name one with --context", path);
			goto out;
		}
	}
	ctx = named_entry(root, "contexts", ctx_name, "context");
	if (!json_is_object(ctx)) {
		ret = pw_k8s_errf(err, errlen, "kubeconfig %s: no context \"%s\" in contexts", path,
				  ctx_name);
		goto out;
	}
	ret = kc_string(&c, ctx, "context", "cluster", &cluster);
	if (!ret)
		ret = kc_string(&c, ctx, "context", "user", &user);
	if (ret)
		goto out;
	if (!cluster) {
		ret = pw_k8s_errf(err, errlen, "kubeconfig %s: context \"%s\" names no cluster",
				  path, ctx_name);
		goto out;
	}
	ret = kc_cluster(&c, named_entry(root, "clusters", cluster, "cluster"), cluster, a);
	if (ret)
		goto out;
	if (user)
		ret = kc_user(&c, named_entry(root, "users", user, "user"), user, a);
	else
		pw_warn("k8s: kubeconfig %s: context \"%s\" names no user: anonymous requests",
			path, ctx_name);
out:
	if (ret == -ENOMEM)
		pw_k8s_errf(err, errlen, "kubeconfig %s: out of memory", path);
	json_decref(docs);
	free(buf);
	return ret;
}

static int incluster_load(const char *sa_dir, struct auth *a, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	bool v6;

	if (!host || !*host || !port || !*port) {
		pw_k8s_errf(err, errlen,
			    "KUBERNETES_SERVICE_HOST/PORT are not set: not running in a pod? Use "
			    "--kubeconfig outside a cluster");
		return -ENOENT;
	}
	if (strspn(port, "0123456789") != strlen(port) || strpbrk(host, "/@?#[] "))
		return pw_k8s_errf(err, errlen,
				   "KUBERNETES_SERVICE_HOST/PORT (%.64s, %.16s) are malformed",
				   host, port);
	v6 = strchr(host, ':') != NULL;
	if (asprintf(&a->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port) <
	    0) {
		a->server = NULL;
		return -ENOMEM;
	}
	if (asprintf(&a->token_file, "%s/token", sa_dir) < 0) {
		a->token_file = NULL;
		return -ENOMEM;
	}
	if (asprintf(&a->ca_file, "%s/ca.crt", sa_dir) < 0) {
		a->ca_file = NULL;
		return -ENOMEM;
	}
	a->proxy = strdup("");
	if (!a->proxy)
		return -ENOMEM;
	if (access(a->token_file, R_OK) || access(a->ca_file, R_OK)) {
		pw_k8s_errf(err, errlen,
			    "cannot read the service account credentials in %s (%s): is "
			    "automountServiceAccountToken disabled for the pod?",
			    sa_dir, strerror(errno));
		return -ENOENT;
	}
	return 0;
}

/* ---- the cache and change delivery ------------------------------------------------- */

static void deliver(struct reflector *r, enum pw_k8s_change t, const json_t *old_obj,
		    const json_t *new_obj)
{
	struct pw_k8s *k = r->k;

	if (k->cfg.on_change)
		k->cfg.on_change(r->kind, t, old_obj, new_obj, k->cfg.ctx);
}

static int set_rv(struct reflector *r, const char *rv)
{
	char *c;

	if (!rv || !*rv)
		return 0;
	if (r->rv && !strcmp(r->rv, rv))
		return 0;
	c = strdup(rv);
	if (!c)
		return -ENOMEM;
	free(r->rv);
	r->rv = c;
	return 0;
}

/*
 * Check an object from the server and bring it to the form the cache keeps:
 * apiVersion and kind set, no managedFields. Writes "ns/name" into key.
 */
static int normalize(struct reflector *r, json_t *obj, char *key, size_t keylen, char *why,
		     size_t whylen)
{
	bool cluster = r->kind == PW_K8S_CLUSTER_POLICIES || r->kind == PW_K8S_NAMESPACES ||
		       r->kind == PW_K8S_NODES;
	int ret = pw_k8s_object_key(obj, cluster, key, keylen, why, whylen);

	if (ret)
		return ret;
	if (!json_is_string(json_object_get(obj, "apiVersion")) &&
	    json_object_set_new(obj, "apiVersion", json_string(r->api_version)))
		return -ENOMEM;
	if (!json_is_string(json_object_get(obj, "kind")) &&
	    json_object_set_new(obj, "kind", json_string(r->kind_name)))
		return -ENOMEM;
	json_object_del(json_object_get(obj, "metadata"), "managedFields");
	/* every Service and slice of the cluster is cached: keep what matters */
	if (r->kind == PW_K8S_SERVICES || r->kind == PW_K8S_SLICES)
		json_object_del(json_object_get(obj, "metadata"), "annotations");
	return 0;
}

#define KEY_MAX PW_K8S_KEY_MAX

/* A watch event or a relisted object: store it, tell the caller. */
static int cache_put(struct reflector *r, const char *key, json_t *obj)
{
	json_t *old = json_incref(json_object_get(r->cache, key));
	const char *orv = old ? pw_k8s_object_rv(old) : NULL, *nrv = pw_k8s_object_rv(obj);

	if (old && ((orv && nrv && !strcmp(orv, nrv)) || json_equal(old, obj))) {
		json_decref(old);
		return 0; /* unchanged (a relist of an object we already have) */
	}
	if (json_object_set(r->cache, key, obj)) {
		json_decref(old);
		return -ENOMEM;
	}
	deliver(r, old ? PW_K8S_MODIFIED : PW_K8S_ADDED, old, obj);
	json_decref(old);
	return 0;
}

static void cache_del(struct reflector *r, const char *key)
{
	json_t *old = json_incref(json_object_get(r->cache, key));

	if (!old)
		return;
	json_object_del(r->cache, key);
	deliver(r, PW_K8S_DELETED, old, NULL);
	json_decref(old);
}

/* A complete LIST: make the cache equal to it, delivering the differences
 * (deletions first, so that an address freed by one pod and taken by another
 * is never held by both). */
static int cache_replace(struct reflector *r, json_t *fresh)
{
	const char *key;
	json_t *obj;
	void *tmp;
	int ret;

	json_object_foreach_safe(r->cache, tmp, key, obj)
	{
		if (!json_object_get(fresh, key))
			cache_del(r, key);
	}
	json_object_foreach(fresh, key, obj)
	{
		ret = cache_put(r, key, obj);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- scheduling ------------------------------------------------------------------------ */

static void schedule(struct reflector *r, int64_t delay_ms)
{
	r->due_ms = now_ms() + delay_ms;
}

/* Delay before retry number attempts + 1: min << attempts, capped, jittered. */
static int64_t backoff_ms(struct reflector *r, unsigned int attempts)
{
	const struct pw_k8s_config *c = &r->k->cfg;
	unsigned int shift = attempts < 20 ? attempts : 20;
	int64_t d = (int64_t)c->backoff_min_ms << shift;

	if (d > c->backoff_max_ms || d <= 0)
		d = c->backoff_max_ms;
	/* jitter: [d/2, d] */
	return d / 2 + (int64_t)(rnd(r->k) % (uint64_t)(d / 2 + 1));
}

static void failed(struct reflector *r, bool relist, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A request failed: record why, retry after a backoff. */
static void failed(struct reflector *r, bool relist, const char *fmt, ...)
{
	int64_t delay;
	va_list ap;

	if (!r->st.failing_since_ms)
		r->st.failing_since_ms = wall_ms();
	va_start(ap, fmt);
	vsnprintf(r->st.last_error, sizeof(r->st.last_error), fmt, ap);
	va_end(ap);
	pw_sanitize(r->st.last_error);
	r->st.errors++;
	if (relist)
		r->need_list = true;
	delay = backoff_ms(r, r->failures);
	if (r->failures < 3 || !(r->failures & (r->failures - 1)))
		pw_warn("k8s: %s: %s; retrying in %lld ms", kind_names[r->kind], r->st.last_error,
			(long long)delay);
	else
		pw_debug("k8s: %s: %s; retrying in %lld ms", kind_names[r->kind], r->st.last_error,
			 (long long)delay);
	if (r->failures < UINT_MAX)
		r->failures++;
	schedule(r, delay);
}

/* ---- one request ---------------------------------------------------------------------- */

static void request_free(struct pw_k8s *k, struct request *q)
{
	if (!q)
		return;
	if (q->easy) {
		curl_multi_remove_handle(k->multi, q->easy);
		curl_easy_cleanup(q->easy);
	}
	curl_slist_free_all(q->hdrs);
	free(q->url);
	free(q->buf);
	free(q->body);
	free(q);
}

static int buf_append(struct request *q, const char *data, size_t n, size_t max)
{
	if (q->len + n > max)
		return -EFBIG;
	if (q->len + n + 1 > q->cap) {
		size_t ncap = q->cap ? q->cap : 16384;
		char *nb;

		while (ncap < q->len + n + 1)
			ncap *= 2;
		nb = realloc(q->buf, ncap);
		if (!nb)
			return -ENOMEM;
		q->buf = nb;
		q->cap = ncap;
	}
	memcpy(q->buf + q->len, data, n);
	q->len += n;
	q->buf[q->len] = '\0';
	return 0;
}

static void set_why(struct request *q, enum req_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_why(struct request *q, enum req_outcome o, const char *fmt, ...)
{
	va_list ap;

	q->outcome = o;
	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
}

/* One line of a watch stream. Returns false to end the stream. */
static bool watch_event(struct request *q, const char *line, size_t len)
{
	static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
	struct reflector *r = q->r;
	struct pw_k8s_event ev;
	char key[KEY_MAX], why[160];
	bool ok = false;
	int ret;

	ret = pw_k8s_event_decode(line, len, &ev, why, sizeof(why));
	if (ret) {
		if (ret == -ENOMEM)
			set_why(q, OUT_NOMEM, "out of memory");
		else
			set_why(q, OUT_PROTOCOL, "watch: %s", why);
		return false;
	}
	switch (ev.type) {
	case PW_K8S_EV_BOOKMARK:
		r->st.bookmarks++;
		if (set_rv(r, pw_k8s_object_rv(ev.object))) {
			set_why(q, OUT_NOMEM, "out of memory");
			goto out;
		}
		ok = true;
		goto out;
	case PW_K8S_EV_ERROR:
		if (ev.gone)
			set_why(q, OUT_GONE, "watch: %s: %.160s", *ev.reason ? ev.reason : "Gone",
				ev.message);
		else
			set_why(q, OUT_ERROR, "watch: ERROR event %lld %s: %.160s", ev.code,
				ev.reason, ev.message);
		goto out;
	default:
		break;
	}
	ret = normalize(r, ev.object, key, sizeof(key), why, sizeof(why));
	if (ret) {
		if (ret == -ENOMEM)
			set_why(q, OUT_NOMEM, "out of memory");
		else
			set_why(q, OUT_PROTOCOL, "watch: %s event: %s", names[ev.type], why);
		goto out;
	}
	r->st.events++;
	q->n_events++;
	if (ev.type == PW_K8S_EV_DELETED)
		cache_del(r, key);
	else if (cache_put(r, key, ev.object)) {
		set_why(q, OUT_NOMEM, "out of memory");
		goto out;
	}
	if (set_rv(r, pw_k8s_object_rv(ev.object))) {
		set_why(q, OUT_NOMEM, "out of memory");
		goto out;
	}
	ok = true;
out:
	pw_k8s_event_free(&ev);
	return ok;
}

/* Bytes of a 200 watch stream: split into lines, one event each. */
static bool watch_feed(struct request *q, const char *data, size_t n)
{
	size_t start = 0;
	char *nl;
	int ret;

	ret = buf_append(q, data, n, PW_K8S_MAX_EVENT_BYTES + n);
	if (ret) {
		set_why(q, OUT_NOMEM, "out of memory");
		return false;
	}
	while ((nl = memchr(q->buf + q->scan, '\n', q->len - q->scan))) {
		size_t end = (size_t)(nl - q->buf), i = start;

		while (i < end && (q->buf[i] == ' ' || q->buf[i] == '\r' || q->buf[i] == '\t'))
			i++;
		if (i < end && !watch_event(q, q->buf + start, end - start))
			return false;
		start = end + 1;
		q->scan = start;
	}
	memmove(q->buf, q->buf + start, q->len - start);
	q->len -= start;
	q->scan = q->len;
	if (q->len > PW_K8S_MAX_EVENT_BYTES) {
		set_why(q, OUT_PROTOCOL, "watch: event longer than %u bytes",
			PW_K8S_MAX_EVENT_BYTES);
		return false;
	}
	return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct request *q = userp;
	size_t n = size * nmemb;
	int ret;

	if (!q->status) {
		curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &q->status);
		if (q->type == REQ_WATCH && q->status == 200) {
			q->r->st.watching = true;
			api_ok(&q->r->st);
		}
	}
	if (q->type == REQ_WATCH && q->status == 200)
		return watch_feed(q, data, n) ? n : 0;
	if (q->status != 200) {
		/* an error answer: keep the start of it for the message */
		if (q->len < ERROR_BODY_MAX)
			buf_append(q, data,
				   n < ERROR_BODY_MAX - q->len ? n : ERROR_BODY_MAX - q->len,
				   ERROR_BODY_MAX);
		return n;
	}
	ret = buf_append(q, data, n, PW_K8S_MAX_LIST_BYTES);
	if (ret) {
		set_why(q, ret == -ENOMEM ? OUT_NOMEM : OUT_PROTOCOL, "list: %s",
			ret == -ENOMEM ? "out of memory" : "page larger than the limit");
		return 0;
	}
	return n;
}

/* "HTTP 403: pods is forbidden: ..." from a Status body, or the body's start. */
static void http_error(const struct request *q, long status, char *out, size_t outlen)
{
	json_t *st = q->buf ? json_loadb(q->buf, q->len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(st, "message"));

	if (msg)
		snprintf(out, outlen, "HTTP %ld: %.200s", status, msg);
	else
		snprintf(out, outlen, "HTTP %ld: %.120s", status, q->buf ? q->buf : "");
	json_decref(st);
	pw_sanitize(out);
}

static char *escape(const char *s)
{
	return curl_easy_escape(NULL, s, 0);
}

static int build_url(struct reflector *r, enum req_type type, char **url)
{
	struct pw_k8s *k = r->k;
	const char *sep = r->selector ? "&" : "";
	const char *sel = r->selector ? r->selector : "";
	char *esc = NULL;
	int n;

	if (type == REQ_LIST) {
		if (r->cont) {
			esc = escape(r->cont);
			if (!esc)
				return -ENOMEM;
		}
		n = asprintf(url, "%s%s?%s%slimit=%u%s%s", k->auth.server, r->path, sel, sep,
			     k->cfg.page_size, esc ? "&continue=" : "", esc ? esc : "");
	} else {
		unsigned int t = k->cfg.watch_timeout_s;

		esc = escape(r->rv);
		if (!esc)
			return -ENOMEM;
		t += (unsigned int)(rnd(k) % ((uint64_t)t + 1));
		n = asprintf(url,
			     "%s%s?%s%swatch=1&allowWatchBookmarks=true&resourceVersion=%s"
			     "&timeoutSeconds=%u",
			     k->auth.server, r->path, sel, sep, esc, t);
	}
	curl_free(esc);
	if (n < 0) {
		*url = NULL;
		return -ENOMEM;
	}
	return 0;
}

#define SETOPT(e, opt, val)                                                                        \
	do {                                                                                       \
		CURLcode c_ = curl_easy_setopt(e, opt, val);                                       \
		if (c_ != CURLE_OK) {                                                              \
			snprintf(why, whylen, "libcurl: %s: %s", #opt, curl_easy_strerror(c_));    \
			return -EINVAL;                                                            \
		}                                                                                  \
	} while (0)

static int set_blob(CURL *e, CURLoption opt, const char *name, const struct blob *b, char *why,
		    size_t whylen)
{
	struct curl_blob cb = {.data = b->data, .len = b->len, .flags = CURL_BLOB_COPY};
	CURLcode c = curl_easy_setopt(e, opt, &cb);

	if (c != CURLE_OK) {
		snprintf(why, whylen, "libcurl cannot take %s from memory: %s", name,
			 curl_easy_strerror(c));
		return -EINVAL;
	}
	return 0;
}

static int setup_easy(struct pw_k8s *k, struct request *q, char *why, size_t whylen)
{
	const struct auth *a = &k->auth;
	CURL *e = q->easy;
	long timeout_ms;
	int ret;

	if (q->type == REQ_WATCH)
		timeout_ms = ((long)k->cfg.watch_timeout_s * 2 + WATCH_GRACE_S) * 1000L;
	else
		timeout_ms = (long)k->cfg.list_timeout_s * 1000L;

	SETOPT(e, CURLOPT_URL, q->url);
	SETOPT(e, CURLOPT_PRIVATE, q);
	SETOPT(e, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(e, CURLOPT_WRITEDATA, q);
	SETOPT(e, CURLOPT_ERRORBUFFER, q->errbuf);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_HTTPHEADER, q->hdrs);
	SETOPT(e, CURLOPT_USERAGENT, "podwall/" PW_VERSION);
	SETOPT(e, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(e, CURLOPT_PROXY, a->proxy);
	SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(e, CURLOPT_TCP_KEEPIDLE, 30L);
	SETOPT(e, CURLOPT_TCP_KEEPINTVL, 10L);
	SETOPT(e, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	SETOPT(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, a->insecure ? 0L : 1L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, a->insecure ? 0L : 2L);
	if (a->ca.data) {
		ret = set_blob(e, CURLOPT_CAINFO_BLOB, "certificate-authority-data", &a->ca, why,
			       whylen);
		if (ret)
			return ret;
	} else if (a->ca_file) {
		SETOPT(e, CURLOPT_CAINFO, a->ca_file);
	}
	if (a->cert.data) {
		ret = set_blob(e, CURLOPT_SSLCERT_BLOB, "client-certificate-data", &a->cert, why,
			       whylen);
		if (ret)
			return ret;
		SETOPT(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (a->cert_file) {
		SETOPT(e, CURLOPT_SSLCERT, a->cert_file);
	}
	if (a->key.data) {
		ret = set_blob(e, CURLOPT_SSLKEY_BLOB, "client-key-data", &a->key, why, whylen);
		if (ret)
			return ret;
		SETOPT(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (a->key_file) {
		SETOPT(e, CURLOPT_SSLKEY, a->key_file);
	}
	return 0;
}

static int start_request(struct reflector *r)
{
	struct pw_k8s *k = r->k;
	enum req_type type = r->need_list || !r->rv ? REQ_LIST : REQ_WATCH;
	char why[256] = "out of memory";
	struct curl_slist *h;
	struct request *q = NULL;
	char *auth = NULL;
	CURLMcode mc;
	int ret;

	token_refresh(k, false);
	if (type == REQ_LIST && !r->cont) {
		/* the first page: collect a fresh set */
		json_decref(r->pending);
		r->pending = json_object();
		if (!r->pending)
			goto fail;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		goto fail;
	q->r = r;
	q->type = type;
	q->started_ms = now_ms();
	if (build_url(r, type, &q->url))
		goto fail;
	h = curl_slist_append(NULL, "Accept: application/json");
	if (!h)
		goto fail;
	q->hdrs = h;
	if (k->auth.token) {
		if (asprintf(&auth, "Authorization: Bearer %s", k->auth.token) < 0) {
			auth = NULL;
			goto fail;
		}
		h = curl_slist_append(q->hdrs, auth);
		memset(auth, 0, strlen(auth));
		free(auth);
		if (!h)
			goto fail;
		q->hdrs = h;
	}
	q->easy = curl_easy_init();
	if (!q->easy)
		goto fail;
	ret = setup_easy(k, q, why, sizeof(why));
	if (ret)
		goto fail;
	mc = curl_multi_add_handle(k->multi, q->easy);
	if (mc != CURLM_OK) {
		snprintf(why, sizeof(why), "libcurl: %s", curl_multi_strerror(mc));
		curl_easy_cleanup(q->easy);
		q->easy = NULL;
		goto fail;
	}
	if (type == REQ_WATCH)
		r->st.watches++;
	pw_debug("k8s: %s: GET %s", kind_names[r->kind], q->url);
	r->req = q;
	r->due_ms = -1;
	return 0;
fail:
	request_free(k, q);
	r->due_ms = -1;
	failed(r, false, "cannot start a request: %s", why);
	return -ENOMEM;
}

static void list_done(struct reflector *r, struct request *q, CURLcode res, long status)
{
	struct pw_k8s_list list;
	json_t *body = NULL, *item;
	const char *cont, *rv;
	char why[256], key[KEY_MAX];
	json_error_t jerr;
	size_t i, n;
	int ret;

	if (res != CURLE_OK || status != 200) {
		r->st.last_http = res == CURLE_OK ? status : 0;
		json_decref(r->pending);
		r->pending = NULL;
		free(r->cont);
		r->cont = NULL;
		if (q->outcome != OUT_NONE)
			failed(r, true, "%s", q->why);
		else if (res != CURLE_OK)
			failed(r, true, "list: %s",
			       q->errbuf[0] ? q->errbuf : curl_easy_strerror(res));
		else {
			http_error(q, status, why, sizeof(why));
			if (status == 401) {
				r->st.unauthorized++;
				token_refresh(r->k, true);
			}
			failed(r, true, "list: %s%s", why,
			       status == 403   ? " (check the podwall ClusterRole/Role bindings)"
			       : status == 410 ? " (continue token expired; listing again)"
					       : "");
		}
		return;
	}
	r->st.list_pages++;
	body = json_loadb(q->buf ? q->buf : "", q->len, 0, &jerr);
	if (pw_k8s_list_decode(body, &list)) {
		snprintf(why, sizeof(why), "list: answer is not a %sList%s%s", r->kind_name,
			 body ? "" : ": ", body ? "" : jerr.text);
		goto bad;
	}
	n = json_array_size(list.items);
	for (i = 0; i < n; i++) {
		item = json_array_get(list.items, i);
		ret = normalize(r, item, key, sizeof(key), why, sizeof(why));
		if (ret == -ENOMEM || (!ret && json_object_set(r->pending, key, item))) {
			strcpy(why, "out of memory");
			goto bad;
		}
		if (ret)
			goto bad;
	}
	cont = list.cont;
	if (cont && *cont) {
		char *c = strdup(cont);

		if (!c) {
			strcpy(why, "out of memory");
			goto bad;
		}
		free(r->cont);
		r->cont = c;
		schedule(r, 0);
		json_decref(body);
		return;
	}
	rv = list.resource_version;
	if (!rv || !*rv) {
		snprintf(why, sizeof(why), "list: answer without metadata.resourceVersion");
		goto bad;
	}
	free(r->cont);
	r->cont = NULL;
	if (set_rv(r, rv) || cache_replace(r, r->pending)) {
		/* the cache is partly updated: the next list brings it in line */
		strcpy(why, "out of memory");
		goto bad;
	}
	json_decref(r->pending);
	r->pending = NULL;
	r->need_list = false;
	r->failures = 0;
	r->st.lists++;
	r->st.last_error[0] = '\0';
	api_ok(&r->st);
	if (!r->synced)
		pw_info("k8s: %s: synced, %zu objects at resourceVersion %s", kind_names[r->kind],
			json_object_size(r->cache), r->rv);
	else
		pw_info("k8s: %s: relisted, %zu objects at resourceVersion %s", kind_names[r->kind],
			json_object_size(r->cache), r->rv);
	r->synced = true;
	deliver(r, PW_K8S_SYNCED, NULL, NULL);
	schedule(r, 0);
	json_decref(body);
	return;
bad:
	json_decref(body);
	json_decref(r->pending);
	r->pending = NULL;
	free(r->cont);
	r->cont = NULL;
	failed(r, true, "%s", why);
}

static void watch_done(struct reflector *r, struct request *q, CURLcode res, long status)
{
	bool quick = now_ms() - q->started_ms < QUICK_END_MS && !q->n_events;
	char why[256];

	r->st.watching = false;
	r->st.last_http = res == CURLE_OK && status != 200 ? status : 0;
	if (q->outcome == OUT_GONE || (q->outcome == OUT_NONE && status == 410)) {
		r->st.relists_gone++;
		r->need_list = true;
		pw_info("k8s: %s: resourceVersion %s is gone (%s); listing again",
			kind_names[r->kind], r->rv,
			q->outcome == OUT_GONE ? "410 ERROR event" : "HTTP 410");
		/* 410 again and again at once (a server that keeps compacting, a
		 * proxy): relist, but no faster than the backoff */
		r->gone_streak = quick ? r->gone_streak + 1 : 0;
		schedule(r, r->gone_streak > 1 ? backoff_ms(r, r->gone_streak - 2) : 0);
		return;
	}
	if (q->outcome == OUT_PROTOCOL || q->outcome == OUT_NOMEM) {
		failed(r, true, "%s; listing again", q->why);
		return;
	}
	if (q->outcome == OUT_ERROR) {
		failed(r, false, "%s", q->why);
		return;
	}
	if (status == 200 && (res == CURLE_OK || res == CURLE_OPERATION_TIMEDOUT)) {
		/* the server ended the stream (timeoutSeconds), or our own bound did */
		if (quick) {
			failed(r, false, "watch: stream ended at once, without an event");
			return;
		}
		r->failures = 0;
		r->st.last_error[0] = '\0';
		schedule(r, 0);
		return;
	}
	if (res != CURLE_OK && status == 200) {
		failed(r, false, "watch: stream broken: %s",
		       q->errbuf[0] ? q->errbuf : curl_easy_strerror(res));
		return;
	}
	if (res != CURLE_OK) {
		failed(r, false, "watch: %s", q->errbuf[0] ? q->errbuf : curl_easy_strerror(res));
		return;
	}
	http_error(q, status, why, sizeof(why));
	if (status == 401) {
		r->st.unauthorized++;
		token_refresh(r->k, true);
	}
	failed(r, false, "watch: %s%s", why,
	       status == 403 ? " (check the podwall ClusterRole/Role bindings)" : "");
}

/* ---- libcurl multi glue ---------------------------------------------------------------- */

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct pw_k8s *k = userp;
	uint32_t events = 0;
	int op, ret;

	if (k->freeing)
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if (socketp) {
			k->cfg.watch_fd(s, EPOLL_CTL_DEL, 0, k->cfg.ctx);
			curl_multi_assign(k->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	ret = k->cfg.watch_fd(s, op, events, k->cfg.ctx);
	if (ret) {
		pw_warn("k8s: cannot watch socket %d: %s", (int)s, strerror(-ret));
		return -1; /* libcurl fails the transfers of this socket */
	}
	if (!socketp)
		curl_multi_assign(k->multi, s, (void *)1);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct pw_k8s *k = userp;

	k->curl_due_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	return 0;
}

/* Finished transfers. Returns whether there were any. */
/* ---- writes (status, leases, events) ------------------------------------------------- */

static void write_unlink(struct pw_k8s *k, struct request *q)
{
	for (struct request **pp = &k->writes; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			k->n_writes--;
			return;
		}
}

static void write_done(struct pw_k8s *k, struct request *q, CURLcode res, long status)
{
	json_t *body = q->buf ? json_loadb(q->buf, q->len, 0, NULL) : NULL;
	char why[300] = "";

	write_unlink(k, q);
	if (res != CURLE_OK) {
		snprintf(why, sizeof(why), "%s",
			 q->errbuf[0] ? q->errbuf : curl_easy_strerror(res));
		status = 0;
	} else if (status < 200 || status > 299) {
		http_error(q, status, why, sizeof(why));
		if (status == 401)
			token_refresh(k, true);
	}
	pw_debug("k8s: %s -> %ld %s", q->url, status, why);
	if (q->done)
		q->done(status, body, why[0] ? why : NULL, q->done_ctx);
	json_decref(body);
	request_free(k, q);
}

int pw_k8s_request(struct pw_k8s *k, const char *method, const char *path, const char *content_type,
		   const json_t *body, pw_k8s_done_fn done, void *ctx)
{
	struct request *q;
	struct curl_slist *h;
	char *hdr = NULL, why[256];
	int ret = -ENOMEM;

	if (k->n_writes >= PW_K8S_MAX_WRITES)
		return -EBUSY;
	token_refresh(k, false);
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->type = REQ_WRITE;
	q->started_ms = now_ms();
	q->done = done;
	q->done_ctx = ctx;
	if (asprintf(&q->url, "%s%s", k->auth.server, path) < 0) {
		q->url = NULL;
		goto fail;
	}
	if (body && !(q->body = json_dumps(body, JSON_COMPACT)))
		goto fail;
	if (!(q->hdrs = curl_slist_append(NULL, "Accept: application/json")))
		goto fail;
	if (content_type) {
		if (asprintf(&hdr, "Content-Type: %s", content_type) < 0)
			goto fail;
		h = curl_slist_append(q->hdrs, hdr);
		free(hdr);
		if (!h)
			goto fail;
		q->hdrs = h;
	}
	if (k->auth.token) {
		if (asprintf(&hdr, "Authorization: Bearer %s", k->auth.token) < 0)
			goto fail;
		h = curl_slist_append(q->hdrs, hdr);
		memset(hdr, 0, strlen(hdr));
		free(hdr);
		if (!h)
			goto fail;
		q->hdrs = h;
	}
	if (!(q->easy = curl_easy_init()))
		goto fail;
	ret = setup_easy(k, q, why, sizeof(why));
	if (ret)
		goto fail;
	ret = -EIO;
	if (curl_easy_setopt(q->easy, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
	    (q->body && curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->body) != CURLE_OK))
		goto fail;
	if (curl_multi_add_handle(k->multi, q->easy) != CURLM_OK) {
		curl_easy_cleanup(q->easy);
		q->easy = NULL;
		goto fail;
	}
	q->next = k->writes;
	k->writes = q;
	k->n_writes++;
	pw_debug("k8s: %s %s", method, q->url);
	return 0;
fail:
	request_free(k, q);
	return ret;
}

static bool process_done(struct pw_k8s *k)
{
	bool any = false;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(k->multi, &left))) {
		struct request *q = NULL;
		struct reflector *r;
		CURLcode res;
		long status = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		res = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		if (!q)
			continue;
		any = true;
		if (q->type == REQ_WRITE) {
			write_done(k, q, res, status);
			continue;
		}
		r = q->r;
		r->req = NULL;
		if (q->type == REQ_LIST)
			list_done(r, q, res, status);
		else
			watch_done(r, q, res, status);
		request_free(k, q);
	}
	return any;
}

/* Start the requests that are due. Returns whether any was started. */
static bool run_due(struct pw_k8s *k)
{
	int64_t now = now_ms();
	bool any = false;

	for (int i = 0; i < PW_K8S_NKINDS; i++) {
		struct reflector *r = &k->refl[i];

		if (!r->path || r->req || r->due_ms < 0 || r->due_ms > now)
			continue;
		start_request(r);
		any = true;
	}
	return any;
}

static int drive(struct pw_k8s *k)
{
	int running, ret = 0;

	for (int i = 0; i < DRIVE_ROUNDS; i++) {
		bool work = false;

		if (k->curl_due_ms >= 0 && k->curl_due_ms <= now_ms()) {
			CURLMcode mc;

			k->curl_due_ms = -1;
			mc = curl_multi_socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0, &running);
			if (mc != CURLM_OK) {
				pw_err("k8s: libcurl: %s", curl_multi_strerror(mc));
				ret = -EIO;
			}
			work = true;
		}
		if (process_done(k))
			work = true;
		if (run_due(k))
			work = true;
		if (!work)
			break;
	}
	return ret;
}

int pw_k8s_on_fd(struct pw_k8s *k, int fd, uint32_t events)
{
	int mask = 0, running, ret;
	CURLMcode mc;

	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	mc = curl_multi_socket_action(k->multi, fd, mask, &running);
	ret = drive(k);
	/* an event of the same epoll_wait batch for a socket libcurl closed since */
	if (mc == CURLM_BAD_SOCKET)
		return ret;
	if (mc != CURLM_OK) {
		pw_err("k8s: libcurl: %s", curl_multi_strerror(mc));
		return -EIO;
	}
	return ret;
}

int pw_k8s_on_timeout(struct pw_k8s *k)
{
	return drive(k);
}

int pw_k8s_next_timeout_ms(const struct pw_k8s *k)
{
	int64_t due = k->curl_due_ms, now;

	for (int i = 0; i < PW_K8S_NKINDS; i++) {
		const struct reflector *r = &k->refl[i];

		if (r->path && !r->req && r->due_ms >= 0 && (due < 0 || r->due_ms < due))
			due = r->due_ms;
	}
	if (due < 0)
		return -1;
	now = now_ms();
	if (due <= now)
		return 0;
	return due - now > INT_MAX ? INT_MAX : (int)(due - now);
}

/* ---- setup and teardown ---------------------------------------------------------------- */

static int refl_init(struct pw_k8s *k, enum pw_k8s_kind kind, const char *api_version,
		     const char *kind_name, const char *path, const char *sel_name,
		     const char *sel_value)
{
	struct reflector *r = &k->refl[kind];
	char *esc = NULL;

	r->k = k;
	r->kind = kind;
	r->api_version = api_version;
	r->kind_name = kind_name;
	r->due_ms = now_ms();
	r->cache = json_object();
	r->path = strdup(path);
	if (!r->cache || !r->path)
		return -ENOMEM;
	if (sel_name) {
		esc = escape(sel_value);
		if (!esc || asprintf(&r->selector, "%s=%s", sel_name, esc) < 0) {
			r->selector = NULL;
			curl_free(esc);
			return -ENOMEM;
		}
		curl_free(esc);
	}
	return 0;
}

static void refl_free(struct pw_k8s *k, struct reflector *r)
{
	request_free(k, r->req);
	json_decref(r->cache);
	json_decref(r->pending);
	free(r->path);
	free(r->selector);
	free(r->cont);
	free(r->rv);
	memset(r, 0, sizeof(*r));
}

static int setup_reflectors(struct pw_k8s *k, const char *dns, char *err, size_t errlen)
{
	char ns[64], name[64], path[160], sel[320];
	const char *slash;
	int ret;

	snprintf(sel, sizeof(sel), "spec.nodeName=%s", k->node_name);
	ret = refl_init(k, PW_K8S_PODS, "v1", "Pod", "/api/v1/pods", "fieldSelector", sel);
	if (!ret)
		ret = refl_init(k, PW_K8S_POLICIES, PW_POLICY_API_VERSION, PW_POLICY_KIND,
				"/apis/podwall.io/v1alpha1/egresspolicies", NULL, NULL);
	if (!ret)
		ret = refl_init(k, PW_K8S_CLUSTER_POLICIES, PW_POLICY_API_VERSION,
				PW_CLUSTER_POLICY_KIND,
				"/apis/podwall.io/v1alpha1/clusteregresspolicies", NULL, NULL);
	if (!ret)
		ret = refl_init(k, PW_K8S_NAMESPACES, "v1", "Namespace", "/api/v1/namespaces", NULL,
				NULL);
	/* the rebinding guard's cluster ranges (agent/guard.c) */
	if (!ret)
		ret = refl_init(k, PW_K8S_NODES, "v1", "Node", "/api/v1/nodes", NULL, NULL);
	if (!ret)
		ret = refl_init(k, PW_K8S_API_SERVICE, "v1", "Service",
				"/api/v1/namespaces/default/services", "fieldSelector",
				"metadata.name=kubernetes");
	/* toServices and toEntities: every Service and EndpointSlice */
	if (!ret)
		ret = refl_init(k, PW_K8S_SERVICES, "v1", "Service", "/api/v1/services", NULL,
				NULL);
	if (!ret)
		ret = refl_init(k, PW_K8S_SLICES, "discovery.k8s.io/v1", "EndpointSlice",
				"/apis/discovery.k8s.io/v1/endpointslices", NULL, NULL);
	if (ret)
		return ret;
	if (!*dns) {
		/* no DNS reflectors: their caches stay empty, and they count as synced */
		k->refl[PW_K8S_DNS_SERVICE].cache = json_object();
		k->refl[PW_K8S_DNS_SLICES].cache = json_object();
		if (!k->refl[PW_K8S_DNS_SERVICE].cache || !k->refl[PW_K8S_DNS_SLICES].cache)
			return -ENOMEM;
		return 0;
	}
	/* namespace and name: each an RFC 1123 label (k8sname.h) */
	slash = strchr(dns, '/');
	if (slash && (size_t)(slash - dns) < sizeof(ns))
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - dns), dns);
	if (!slash || (size_t)(slash - dns) >= sizeof(ns) || pw_k8s_dns1123_problem(ns, false) ||
	    pw_k8s_dns1123_problem(slash + 1, false))
		return pw_k8s_errf(
			err, errlen,
			"DNS service \"%.80s\": expected namespace/name, e.g. kube-system/kube-dns",
			dns);
	snprintf(name, sizeof(name), "%s", slash + 1);

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services", ns);
	snprintf(sel, sizeof(sel), "metadata.name=%s", name);
	ret = refl_init(k, PW_K8S_DNS_SERVICE, "v1", "Service", path, "fieldSelector", sel);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ns);
	snprintf(sel, sizeof(sel), "kubernetes.io/service-name=%s", name);
	return refl_init(k, PW_K8S_DNS_SLICES, "discovery.k8s.io/v1", "EndpointSlice", path,
			 "labelSelector", sel);
}

int pw_k8s_new(const struct pw_k8s_config *cfg, struct pw_k8s **out, char *err, size_t errlen)
{
	struct pw_k8s *k;
	char dummy[1];
	int ret;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	*out = NULL;
	if (!cfg->node_name || !*cfg->node_name || strlen(cfg->node_name) > 253)
		return pw_k8s_errf(err, errlen,
				   "the node name is required (set NODE_NAME from the "
				   "downward API: spec.nodeName)");
	if (!cfg->watch_fd)
		return pw_k8s_errf(err, errlen, "k8s: watch_fd callback is required");
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return pw_k8s_errf(err, errlen, "libcurl initialisation failed");
	k = calloc(1, sizeof(*k));
	if (!k) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	k->cfg = *cfg;
	k->curl_due_ms = -1;
	k->rng = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)k;
	if (!k->rng)
		k->rng = 1;
	if (!k->cfg.page_size)
		k->cfg.page_size = DEF_PAGE_SIZE;
	if (!k->cfg.watch_timeout_s)
		k->cfg.watch_timeout_s = DEF_WATCH_TIMEOUT_S;
	if (!k->cfg.list_timeout_s)
		k->cfg.list_timeout_s = DEF_LIST_TIMEOUT_S;
	if (!k->cfg.backoff_min_ms)
		k->cfg.backoff_min_ms = DEF_BACKOFF_MIN_MS;
	if (!k->cfg.backoff_max_ms)
		k->cfg.backoff_max_ms = DEF_BACKOFF_MAX_MS;
	if (k->cfg.backoff_max_ms < k->cfg.backoff_min_ms)
		k->cfg.backoff_max_ms = k->cfg.backoff_min_ms;
	/* the caller's strings are not kept beyond this call */
	k->cfg.kubeconfig = k->cfg.context = k->cfg.sa_dir = k->cfg.node_name = NULL;
	k->cfg.dns_service = NULL;
	for (int i = 0; i < PW_K8S_NKINDS; i++)
		k->refl[i].due_ms = -1;
	k->node_name = strdup(cfg->node_name);
	if (!k->node_name) {
		ret = -ENOMEM;
		goto fail;
	}

	if (cfg->kubeconfig)
		ret = kubeconfig_load(cfg->kubeconfig, cfg->context, &k->auth, err, errlen);
	else
		ret = incluster_load(cfg->sa_dir ? cfg->sa_dir : PW_K8S_SA_DIR, &k->auth, err,
				     errlen);
	if (ret)
		goto fail;
	if (k->auth.token_file) {
		ret = token_refresh(k, true);
		if (ret) {
			pw_k8s_errf(err, errlen, "cannot read the token file %s: %s",
				    k->auth.token_file, strerror(-ret));
			goto fail;
		}
		k->auth.token_reloads = 0;
	}

	ret = setup_reflectors(k, cfg->dns_service ? cfg->dns_service : PW_K8S_DEFAULT_DNS, err,
			       errlen);
	if (ret)
		goto fail;

	k->multi = curl_multi_init();
	if (!k->multi) {
		ret = -ENOMEM;
		goto fail;
	}
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k);
	pw_info("k8s: API server %s (%s), node %s", k->auth.server,
		cfg->kubeconfig ? cfg->kubeconfig : "in-cluster", k->node_name);
	*out = k;
	return 0;
fail:
	if (ret == -ENOMEM && !err[0])
		pw_k8s_errf(err, errlen, "out of memory");
	pw_k8s_free(k);
	return ret;
}

void pw_k8s_free(struct pw_k8s *k)
{
	if (!k)
		return;
	k->freeing = true;
	for (int i = 0; i < PW_K8S_NKINDS; i++)
		refl_free(k, &k->refl[i]);
	while (k->writes) {
		struct request *q = k->writes;

		k->writes = q->next;
		if (q->done) /* so the caller can free its context */
			q->done(0, NULL, "client shut down", q->done_ctx);
		request_free(k, q);
	}
	if (k->multi)
		curl_multi_cleanup(k->multi);
	auth_free(&k->auth);
	free(k->node_name);
	free(k);
	curl_global_cleanup();
}

/* ---- accessors ------------------------------------------------------------------------- */

bool pw_k8s_kind_synced(const struct pw_k8s *k, enum pw_k8s_kind kind)
{
	if ((unsigned int)kind >= PW_K8S_NKINDS)
		return false;
	return !k->refl[kind].path || k->refl[kind].synced;
}

bool pw_k8s_synced(const struct pw_k8s *k)
{
	for (int i = 0; i < PW_K8S_NKINDS; i++)
		if (!pw_k8s_kind_synced(k, (enum pw_k8s_kind)i))
			return false;
	return true;
}

const json_t *pw_k8s_objects(const struct pw_k8s *k, enum pw_k8s_kind kind)
{
	if ((unsigned int)kind >= PW_K8S_NKINDS)
		return NULL;
	return k->refl[kind].cache;
}

const json_t *pw_k8s_get(const struct pw_k8s *k, enum pw_k8s_kind kind, const char *ns,
			 const char *name)
{
	char key[KEY_MAX];

	if ((unsigned int)kind >= PW_K8S_NKINDS || !k->refl[kind].cache)
		return NULL;
	if ((size_t)snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name) >= sizeof(key))
		return NULL;
	return json_object_get(k->refl[kind].cache, key);
}

void pw_k8s_stats(const struct pw_k8s *k, enum pw_k8s_kind kind, struct pw_k8s_stats *st)
{
	const struct reflector *r;

	memset(st, 0, sizeof(*st));
	if ((unsigned int)kind >= PW_K8S_NKINDS)
		return;
	r = &k->refl[kind];
	*st = r->st;
	st->synced = pw_k8s_kind_synced(k, kind);
	st->token_reloads = k->auth.token_reloads;
	snprintf(st->resource_version, sizeof(st->resource_version), "%s", r->rv ? r->rv : "");
}

void pw_k8s_health(const struct pw_k8s *k, struct pw_k8s_health *h)
{
	static const char *const reasons[] = {"Connected", "Unreachable", "Unauthorized",
					      "Forbidden"};
	static const int rank[] = {0, 1, 3, 2}; /* 401 over 403 over unreachable */

	memset(h, 0, sizeof(*h));
	for (int i = 0; i < PW_K8S_NKINDS; i++) {
		const struct reflector *r = &k->refl[i];
		enum pw_k8s_api_state s;

		if (!r->path || !r->st.failing_since_ms)
			continue;
		s = r->st.last_http == 401   ? PW_K8S_API_UNAUTHORIZED
		    : r->st.last_http == 403 ? PW_K8S_API_FORBIDDEN
					     : PW_K8S_API_UNREACHABLE;
		if (!h->since_ms || r->st.failing_since_ms < h->since_ms)
			h->since_ms = r->st.failing_since_ms;
		if (rank[s] > rank[h->state]) {
			h->state = s;
			snprintf(h->message, sizeof(h->message), "%s: %s", kind_names[i],
				 r->st.last_error);
		}
	}
	h->reason = reasons[h->state];
}

const char *pw_k8s_node(const struct pw_k8s *k)
{
	return k->node_name;
}

const char *pw_k8s_server(const struct pw_k8s *k)
{
	return k->auth.server;
}

size_t pw_k8s_resolvers(const struct pw_k8s *k, struct pw_k8s_addr *out, size_t max)
{
	return pw_k8s_resolvers_of(pw_k8s_objects(k, PW_K8S_DNS_SERVICE),
				   pw_k8s_objects(k, PW_K8S_DNS_SLICES), out, max);
}

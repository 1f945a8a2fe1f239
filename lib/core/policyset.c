// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * policyset: the agent's policy sources, their last good versions and the
 * merged view (see policyset.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "ipaddr.h"
#include "log.h"
#include "policyset.h"

static void policy_file_free(struct pw_policy_file *f)
{
	pw_policies_free(f->pols, f->n_pols);
	json_decref(f->good_json);
	free(f->path);
	free(f->error);
	free(f->uid);
}

static void cache_path(const struct pw_policyset *ps, const char *path, char *buf, size_t len)
{
	const char *base = strrchr(path, '/');

	snprintf(buf, len, "%s/policy-cache/%s.json", ps->state_dir, base ? base + 1 : path);
}

/* Last good version of a file from before a restart, if the file is bad now. */
static int policy_cache_load(struct pw_policyset *ps, struct pw_policy_file *f)
{
	char cpath[600], err[PW_ERR_LEN];
	json_t *docs, *doc;
	json_error_t jerr;
	size_t i, n = 0;
	struct pw_policy *v;

	cache_path(ps, f->path, cpath, sizeof(cpath));
	docs = json_load_file(cpath, 0, &jerr);
	if (!docs)
		return -ENOENT;
	v = calloc(json_array_size(docs) + 1, sizeof(*v));
	if (!v) {
		json_decref(docs);
		return -ENOMEM;
	}
	json_array_foreach(docs, i, doc)
	{
		if (pw_policy_from_json(doc, f->path, &v[n], err, sizeof(err))) {
			pw_policies_free(v, n);
			json_decref(docs);
			return -EINVAL;
		}
		n++;
	}
	f->pols = v;
	f->n_pols = n;
	f->good_json = docs;
	pw_warn("%s: using its last good version from %s", f->path, cpath);
	return 0;
}

static void policy_cache_save(struct pw_policyset *ps, const struct pw_policy_file *f)
{
	char cpath[600], dir[520];

	snprintf(dir, sizeof(dir), "%s/policy-cache", ps->state_dir);
	mkdir(dir, 0700);
	cache_path(ps, f->path, cpath, sizeof(cpath));
	if (json_dump_file(f->good_json, cpath, JSON_COMPACT))
		pw_warn("cannot write policy cache %s", cpath);
}

static void policy_cache_remove(struct pw_policyset *ps, const char *path)
{
	char cpath[600];

	cache_path(ps, path, cpath, sizeof(cpath));
	unlink(cpath);
}

static bool policy_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

/* Standalone mode has no Services to resolve: say so (the rule grants nothing). */
static void warn_no_api(struct pw_policy *p)
{
	char *w = NULL;

	for (size_t k = 0; k < p->n_rules; k++) {
		const struct pw_rule *r = &p->rules[k];

		if (!r->n_services && !r->entities)
			continue;
		if (asprintf(&w,
			     "%s%s%s: policy %s/%s: spec.egress[%zu].%s: standalone mode has no "
			     "Kubernetes API to resolve it from: grants nothing (run the agent "
			     "with --k8s, or name the addresses in toCIDRs)",
			     p->warning ? p->warning : "", p->warning ? "; " : "", p->source,
			     p->namespace, p->name, k,
			     r->n_services ? "toServices" : "toEntities") < 0)
			return;
		free(p->warning);
		p->warning = w;
		return; /* once per policy */
	}
}

/* (Re)load one file. Returns 1 if its policies changed. */
static int policy_file_load(struct pw_policyset *ps, struct pw_policy_file *f,
			    const struct stat *st)
{
	char err[PW_ERR_LEN] = "", *buf = NULL;
	struct pw_policy *pols = NULL;
	size_t len = 0, n = 0;
	json_t *docs = NULL;
	int ret;

	f->mtime = st->st_mtim;
	ret = pw_read_file(f->path, PW_POLICY_FILE_MAX, &buf, &len);
	if (ret) {
		snprintf(err, sizeof(err), "%s: cannot read: %s", f->path, strerror(-ret));
		goto bad;
	}
	ret = pw_policy_file_parse(buf, len, f->path, &pols, &n, err, sizeof(err));
	if (!ret)
		ret = pw_yaml_to_json(buf, len, &docs, err, sizeof(err));
	free(buf);
	if (ret)
		goto bad;
	pw_policies_free(f->pols, f->n_pols);
	json_decref(f->good_json);
	f->pols = pols;
	f->n_pols = n;
	f->good_json = docs;
	free(f->error);
	f->error = NULL;
	policy_cache_save(ps, f);
	ps->loads++;
	pw_info("%s: loaded %zu polic%s", f->path, n, n == 1 ? "y" : "ies");
	for (size_t i = 0; i < n; i++)
		warn_no_api(&pols[i]);
	for (size_t i = 0; i < n; i++)
		if (pols[i].warning)
			pw_warn("%s", pols[i].warning);
	return 1;
bad:
	pw_policies_free(pols, n);
	ps->errors++;
	pw_err("policy refused, previous version stays in force: %s", err);
	free(f->error);
	f->error = strdup(err);
	if (!f->pols && !f->good_json && policy_cache_load(ps, f) == 0)
		return 1;
	return 0;
}

void pw_policyset_rebuild(struct pw_policyset *ps)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->n_files; i++)
		n += ps->files[i].n_pols;
	free(ps->pols);
	ps->pols = calloc(n ? n : 1, sizeof(*ps->pols));
	ps->n_pols = 0;
	if (!ps->pols)
		return;
	for (size_t i = 0; i < ps->n_files; i++)
		for (size_t j = 0; j < ps->files[i].n_pols; j++)
			ps->pols[ps->n_pols++] = ps->files[i].pols[j]; /* borrowed */
}

/*
 * Kubernetes mode: the last good version of each EgressPolicy object, in
 * STATE/policy-cache/k8s/NAMESPACE_NAME.json, as file mode keeps the last good
 * version of each file. When the API holds a version the agent refuses, the
 * cached one stays in force, across agent restarts and until a valid version
 * arrives (fail-closed: a refused edit never unselects pods). The cache is
 * keyed by the object's uid: a deleted and re-created object never inherits
 * the rules of the old one.
 */
static int k8s_cache_path(const struct pw_policyset *ps, const char *source, char *buf, size_t len)
{
	const char *p = source + 4, *slash; /* after "k8s:" */
	int n;

	if (strncmp(source, "k8s:", 4))
		return -EINVAL;
	slash = strchr(p, '/');
	/* NAMESPACE/NAME as the API validates them; anything else is never cached. */
	if (!strncmp(p, "@cluster/", 9)) /* ClusterEgressPolicy: no namespace has an '@' */
		p++;
	if (!slash || slash == p || strchr(slash + 1, '/') || p[0] == '.' || strstr(p, "..") ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-./") != strlen(p))
		return -EINVAL;
	p = source + 4;
	/* '_' for the '/': namespaces are DNS labels, they never hold one. */
	n = snprintf(buf, len, "%s/policy-cache/k8s/%.*s_%s.json", ps->state_dir, (int)(slash - p),
		     p, slash + 1);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void k8s_cache_save(struct pw_policyset *ps, const char *source, const json_t *obj)
{
	char path[700], tmp[720], dir[600];

	if (k8s_cache_path(ps, source, path, sizeof(path)))
		return;
	snprintf(dir, sizeof(dir), "%s/policy-cache", ps->state_dir);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/policy-cache/k8s", ps->state_dir);
	mkdir(dir, 0700);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(obj, tmp, JSON_COMPACT) || rename(tmp, path)) {
		pw_warn("%s: cannot keep its last good version in %s: %s", source, path,
			strerror(errno));
		unlink(tmp);
	}
}

static void k8s_cache_remove(struct pw_policyset *ps, const char *source)
{
	char path[700];

	if (!k8s_cache_path(ps, source, path, sizeof(path)))
		unlink(path);
}

static const char *obj_uid(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid")) ?: "";
}

static long long obj_generation(const json_t *obj)
{
	return json_integer_value(json_object_get(json_object_get(obj, "metadata"), "generation"));
}

/* The cached last good version of the object the API now holds (same uid). */
static struct pw_policy *k8s_cache_load(struct pw_policyset *ps, const char *source,
					const json_t *now, long long *gen)
{
	char path[700], err[PW_ERR_LEN];
	struct pw_policy *pol;
	json_error_t jerr;
	json_t *obj;

	if (k8s_cache_path(ps, source, path, sizeof(path)))
		return NULL;
	obj = json_load_file(path, 0, &jerr);
	if (!obj)
		return NULL;
	pol = calloc(1, sizeof(*pol));
	if (pol && strcmp(obj_uid(obj), obj_uid(now))) {
		pw_info("%s: the cached version belongs to an older object (uid %s), not used",
			source, obj_uid(obj));
		free(pol);
		pol = NULL;
	} else if (pol && pw_policy_from_json(obj, source, pol, err, sizeof(err))) {
		pw_warn("%s: cached version in %s is not valid: %s", source, path, err);
		free(pol);
		pol = NULL;
	}
	if (pol)
		*gen = obj_generation(obj);
	json_decref(obj);
	if (pol)
		pw_warn("%s: using its last good version from %s", source, path);
	return pol;
}

/* After a full LIST: forget the cached versions of objects the API no longer has. */
void pw_policyset_prune_cache(struct pw_policyset *ps)
{
	char dir[600], path[700], source[600];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/policy-cache/k8s", ps->state_dir);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char *us;
		bool known = false;

		if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json"))
			continue;
		snprintf(source, sizeof(source), "k8s:%.*s", (int)(n - 5), de->d_name);
		us = strchr(source, '_');
		if (us)
			*us = '/';
		for (size_t i = 0; i < ps->n_files && !known; i++)
			known = !strcmp(ps->files[i].path, source);
		if (known)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		pw_info("%s: gone from the API, its cached version removed", source);
		unlink(path);
	}
	closedir(d);
}

/* ClusterEgressPolicies: which namespaces each selects, from the labels of the
 * Namespaces the API has. */
void pw_policyset_resolve_cluster(struct pw_policyset *ps, const struct pw_k8s_namespace *ns,
				  size_t n)
{
	for (size_t i = 0; i < ps->n_files; i++)
		for (size_t j = 0; j < ps->files[i].n_pols; j++) {
			struct pw_policy *p = &ps->files[i].pols[j];
			const char **sel = calloc(n ? n : 1, sizeof(*sel));
			size_t m = 0;

			if (!p->cluster || !sel) {
				free(sel);
				continue;
			}
			for (size_t x = 0; x < n; x++)
				if (pw_selector_matches(&p->ns_selector, &ns[x].labels))
					sel[m++] = ns[x].name;
			if (pw_policy_set_namespaces(p, sel, m))
				pw_warn("%s: out of memory selecting namespaces", p->source);
			free(sel);
		}
	pw_policyset_rebuild(ps); /* the view holds copies of the policies */
}

/* "ns/name: spec.egress[2]: 3 addresses: 10.43.0.20, 10.42.0.9, ..." */
static void peers_log(const struct pw_policy *p, size_t k, const struct pw_peers *now)
{
	char list[256] = "", ip[PW_IP_STRLEN];
	size_t len = 0;

	for (size_t i = 0; i < now->n && i < 4 && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : ": ",
					pw_ip_str(now->v[i].family, &now->v[i].addr, ip));
	pw_info("%s/%s: spec.egress[%zu]: toServices/toEntities now %zu address%s%s%s",
		p->namespace, p->name, k, now->n, now->n == 1 ? "" : "es", list,
		now->n > 4 ? ", ..." : "");
}

bool pw_policyset_resolve_peers(struct pw_policyset *ps, pw_rule_peers_fn fn, void *ctx)
{
	bool changed = false;

	for (size_t i = 0; i < ps->n_files; i++)
		for (size_t j = 0; j < ps->files[i].n_pols; j++) {
			struct pw_policy *p = &ps->files[i].pols[j];

			for (size_t k = 0; k < p->n_rules; k++) {
				struct pw_rule *r = &p->rules[k];
				struct pw_peers now = {0};

				if (!r->n_services && !r->entities)
					continue;
				if (fn(ctx, r, &now)) {
					pw_peers_free(&now);
					continue;
				}
				if (pw_peers_equal(&now, &r->peers)) {
					pw_peers_free(&now);
					continue;
				}
				peers_log(p, k, &now);
				pw_rule_set_peers(r, &now);
				changed = true;
			}
		}
	return changed;
}

void pw_policyset_object(struct pw_policyset *ps, const char *source, const json_t *obj)
{
	struct pw_policy_file *f = NULL;
	char err[PW_ERR_LEN];
	struct pw_policy *pol;

	for (size_t i = 0; i < ps->n_files && !f; i++)
		if (!strcmp(ps->files[i].path, source))
			f = &ps->files[i];
	if (!obj) {
		k8s_cache_remove(ps, source);
		if (f) {
			pw_info("%s: deleted, its rules no longer apply", source);
			policy_file_free(f);
			memmove(f, f + 1, (size_t)(ps->files + ps->n_files - f - 1) * sizeof(*f));
			ps->n_files--;
			pw_policyset_rebuild(ps);
		}
		return;
	}
	if (!f) {
		/* Known from now on, even refused: `podwall policies` and status
		 * show the error of a brand-new policy too. */
		struct pw_policy_file *nf = realloc(ps->files, (ps->n_files + 1) * sizeof(*nf));

		if (!nf)
			return;
		ps->files = nf;
		f = &nf[ps->n_files++];
		memset(f, 0, sizeof(*f));
		f->path = strdup(source);
		if (!f->path) {
			ps->n_files--;
			return;
		}
	}
	pol = calloc(1, sizeof(*pol));
	if (!pol)
		return;
	if (pw_policy_from_json(obj, source, pol, err, sizeof(err))) {
		free(pol);
		ps->errors++;
		free(f->error);
		f->error = strdup(err);
		if (f->pols && strcmp(obj_uid(obj), f->uid ?: "")) {
			/* Re-created under the same name: the old rules are not its. */
			pw_policies_free(f->pols, f->n_pols);
			f->pols = NULL;
			f->n_pols = 0;
		}
		if (!f->pols && (f->pols = k8s_cache_load(ps, source, obj, &f->good_gen))) {
			f->n_pols = 1;
			free(f->uid);
			f->uid = strdup(obj_uid(obj));
		}
		if (f->pols)
			pw_err("policy refused, previous version stays in force: %s", err);
		else
			pw_err("policy refused (no earlier version to keep): %s", err);
		pw_policyset_rebuild(ps);
		return;
	}
	pw_policies_free(f->pols, f->n_pols);
	f->pols = pol;
	f->n_pols = 1;
	free(f->error);
	f->error = NULL;
	free(f->uid);
	f->uid = strdup(obj_uid(obj));
	f->good_gen = obj_generation(obj);
	k8s_cache_save(ps, source, obj);
	ps->loads++;
	pw_policyset_rebuild(ps);
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Scan the policy directory. Returns 1 if anything changed. */
int pw_policyset_scan(struct pw_policyset *ps)
{
	char **names = NULL;
	size_t n_names = 0;
	struct dirent *de;
	bool changed = false;
	DIR *d;

	if (!ps->policy_dir)
		return 0;
	d = opendir(ps->policy_dir);
	if (!d) {
		pw_err("cannot read policy directory %s: %s", ps->policy_dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d))) {
		char **nn;

		if (!policy_name_ok(de->d_name))
			continue;
		nn = realloc(names, (n_names + 1) * sizeof(*nn));
		if (!nn)
			break;
		names = nn;
		if (asprintf(&names[n_names], "%s/%s", ps->policy_dir, de->d_name) < 0)
			break;
		n_names++;
	}
	closedir(d);
	if (n_names)
		qsort(names, n_names, sizeof(*names), name_cmp);

	/* Files that are gone: their policies go. */
	for (size_t i = 0; i < ps->n_files;) {
		bool present = !strncmp(ps->files[i].path, "k8s:", 4); /* not a file */

		for (size_t j = 0; j < n_names && !present; j++)
			present = !strcmp(names[j], ps->files[i].path);
		if (present) {
			i++;
			continue;
		}
		pw_info("%s: removed, its policies no longer apply", ps->files[i].path);
		policy_cache_remove(ps, ps->files[i].path);
		policy_file_free(&ps->files[i]);
		memmove(&ps->files[i], &ps->files[i + 1],
			(ps->n_files - i - 1) * sizeof(*ps->files));
		ps->n_files--;
		changed = true;
	}
	for (size_t j = 0; j < n_names; j++) {
		struct pw_policy_file *f = NULL;
		struct stat st;

		if (stat(names[j], &st) || !S_ISREG(st.st_mode))
			continue;
		for (size_t i = 0; i < ps->n_files && !f; i++)
			if (!strcmp(ps->files[i].path, names[j]))
				f = &ps->files[i];
		if (!f) {
			struct pw_policy_file *nf =
				realloc(ps->files, (ps->n_files + 1) * sizeof(*nf));

			if (!nf)
				continue;
			ps->files = nf;
			f = &nf[ps->n_files++];
			memset(f, 0, sizeof(*f));
			f->path = strdup(names[j]);
		} else if (f->mtime.tv_sec == st.st_mtim.tv_sec &&
			   f->mtime.tv_nsec == st.st_mtim.tv_nsec) {
			continue;
		}
		if (policy_file_load(ps, f, &st))
			changed = true;
	}
	for (size_t j = 0; j < n_names; j++)
		free(names[j]);
	free(names);
	if (changed)
		pw_policyset_rebuild(ps);
	return changed;
}

void pw_policyset_init(struct pw_policyset *ps, const char *policy_dir, const char *state_dir)
{
	memset(ps, 0, sizeof(*ps));
	ps->policy_dir = policy_dir;
	ps->state_dir = state_dir;
}

void pw_policyset_free(struct pw_policyset *ps)
{
	for (size_t i = 0; i < ps->n_files; i++)
		policy_file_free(&ps->files[i]);
	free(ps->files);
	free(ps->pols);
	ps->files = NULL;
	ps->pols = NULL;
	ps->n_files = ps->n_pols = 0;
}

struct pw_policy_file *pw_policyset_file(struct pw_policyset *ps, const char *path)
{
	for (size_t i = 0; i < ps->n_files; i++)
		if (!strcmp(ps->files[i].path, path))
			return &ps->files[i];
	return NULL;
}

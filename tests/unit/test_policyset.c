// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lib/core/policyset: policy sources keep their last good version (a refused
 * edit changes nothing enforced), across restarts through the state
 * directory's cache; Kubernetes objects likewise, keyed by uid; the merged
 * view follows; ClusterEgressPolicies select namespaces by their labels.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "policyset.h"

static char root[64], pdir[96], sdir[96];

#define GOOD(name, mode)                                                                           \
	"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\nmetadata: {name: " name              \
	", namespace: ns}\nspec:\n  podSelector: {}\n  mode: " mode                                \
	"\n  egress:\n  - toFQDNs: [{matchName: api.example.org}]\n"
#define BAD "apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\nmetadata: {name: p}\nspec: {}\n"

static int setup(void **state)
{
	strcpy(root, "/tmp/pw-test-policyset.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(pdir, sizeof(pdir), "%s/policies", root);
	snprintf(sdir, sizeof(sdir), "%s/state", root);
	assert_int_equal(mkdir(pdir, 0700), 0);
	assert_int_equal(mkdir(sdir, 0700), 0);
	pw_log_level = PW_LOG_ERROR;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void unlink_policy(const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", pdir, name);
	unlink(path);
}

/* Write a policy file with a new mtime (a rescan compares mtimes). */
static void put(const char *name, const char *text)
{
	static long tick = 1;
	struct timespec ts[2];
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", pdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	ts[0].tv_sec = ts[1].tv_sec = 1000000 + tick++;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static const char *mode_of(const struct pw_policyset *ps, size_t i)
{
	return ps->pols[i].mode == PW_MODE_AUDIT ? "audit" : "enforce";
}

static void test_files(void **state)
{
	struct pw_policyset ps;
	char path[160];

	pw_policyset_init(&ps, pdir, sdir);
	assert_int_equal(pw_policyset_scan(&ps), 0); /* empty directory */
	put("a.yaml", GOOD("a", "enforce"));
	put(".hidden.yaml", GOOD("h", "enforce"));
	put("notes.txt", "not a policy");
	assert_int_equal(pw_policyset_scan(&ps), 1);
	assert_int_equal(ps.n_pols, 1);
	assert_int_equal(ps.loads, 1);
	assert_int_equal(pw_policyset_scan(&ps), 0); /* nothing changed */

	/* A bad edit is refused whole: the good version stays, the error is kept. */
	put("a.yaml", BAD);
	assert_int_equal(pw_policyset_scan(&ps), 0);
	assert_int_equal(ps.n_pols, 1);
	assert_int_equal(ps.errors, 1);
	snprintf(path, sizeof(path), "%s/a.yaml", pdir);
	assert_non_null(pw_policyset_file(&ps, path));
	assert_non_null(pw_policyset_file(&ps, path)->error);
	assert_non_null(strstr(pw_policyset_file(&ps, path)->error, "spec.podSelector"));
	pw_policyset_free(&ps);

	/* A restart with the file still bad: the cached good version is used. */
	pw_policyset_init(&ps, pdir, sdir);
	assert_int_equal(pw_policyset_scan(&ps), 1);
	assert_int_equal(ps.n_pols, 1);
	assert_string_equal(ps.pols[0].name, "a");

	/* A good edit replaces it; a removed file takes its policies along. */
	put("a.yaml", GOOD("a", "audit"));
	assert_int_equal(pw_policyset_scan(&ps), 1);
	assert_string_equal(mode_of(&ps, 0), "audit");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(pw_policyset_scan(&ps), 1);
	assert_int_equal(ps.n_pols, 0);
	assert_null(pw_policyset_file(&ps, path));
	pw_policyset_free(&ps);

	/* Removed means its cache went too: a restart does not bring it back. */
	pw_policyset_init(&ps, pdir, sdir);
	assert_int_equal(pw_policyset_scan(&ps), 0);
	assert_int_equal(ps.n_pols, 0);
	pw_policyset_free(&ps);
}

static int fixed_peers(void *ctx, const struct pw_rule *r, struct pw_peers *out)
{
	int *calls = ctx;

	(*calls)++;
	memset(out, 0, sizeof(*out));
	return pw_k8s_peers_add_name(out, "gw.ns.svc.cluster.local");
}

/* Standalone mode: a toServices rule is accepted, grants nothing, and the
 * policy says why; resolving peers touches only such rules and reports a
 * change once. */
static void test_services_standalone(void **state)
{
	struct pw_policyset ps;
	int calls = 0;

	pw_policyset_init(&ps, pdir, sdir);
	put("s.yaml", "apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\nmetadata: {name: s, "
		      "namespace: ns}\nspec:\n  podSelector: {}\n  egress:\n  - toFQDNs: "
		      "[{matchName: a.example.org}]\n  - toServices: [{name: gw}]\n");
	assert_int_equal(pw_policyset_scan(&ps), 1);
	assert_int_equal(ps.n_pols, 1);
	assert_non_null(ps.pols[0].warning);
	assert_non_null(strstr(ps.pols[0].warning, "policy ns/s: spec.egress[1].toServices: "
						   "standalone mode has no Kubernetes API"));
	assert_int_equal(ps.pols[0].rules[1].peers.n, 0);
	assert_true(pw_policyset_resolve_peers(&ps, fixed_peers, &calls));
	assert_int_equal(calls, 1); /* the toFQDNs rule is not asked */
	assert_int_equal(ps.pols[0].rules[1].peers.n_names, 1);
	assert_false(pw_policyset_resolve_peers(&ps, fixed_peers, &calls)); /* unchanged */
	pw_policyset_free(&ps);
	unlink_policy("s.yaml");
}

static json_t *object(const char *uid, const char *mode, bool valid)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:i},s:{s:{},s:s,s:[{s:[{s:s}]}]}}", "apiVersion",
			 "podwall.io/v1alpha1", "kind", "EgressPolicy", "metadata", "namespace",
			 "ns", "name", "p", "uid", uid, "generation", 1, "spec",
			 valid ? "podSelector" : "podSelectr", "mode", mode, "egress", "toFQDNs",
			 "matchName", "api.example.org");
}

static void test_objects(void **state)
{
	struct pw_policyset ps;
	json_t *o;

	pw_policyset_init(&ps, NULL, sdir); /* Kubernetes mode: no directory */
	assert_int_equal(pw_policyset_scan(&ps), 0);
	o = object("u1", "enforce", true);
	pw_policyset_object(&ps, "k8s:ns/p", o);
	json_decref(o);
	assert_int_equal(ps.n_pols, 1);
	assert_string_equal(pw_policyset_file(&ps, "k8s:ns/p")->uid, "u1");

	/* Refused: the previous version stays in force. */
	o = object("u1", "audit", false);
	pw_policyset_object(&ps, "k8s:ns/p", o);
	json_decref(o);
	assert_int_equal(ps.n_pols, 1);
	assert_string_equal(mode_of(&ps, 0), "enforce");
	assert_non_null(pw_policyset_file(&ps, "k8s:ns/p")->error);
	pw_policyset_free(&ps);

	/* A restart while the API holds the bad version: the cache, same uid. */
	pw_policyset_init(&ps, NULL, sdir);
	o = object("u1", "audit", false);
	pw_policyset_object(&ps, "k8s:ns/p", o);
	assert_int_equal(ps.n_pols, 1);
	pw_policyset_free(&ps);
	/* ... but not for a re-created object (another uid). */
	pw_policyset_init(&ps, NULL, sdir);
	json_object_set_new(json_object_get(o, "metadata"), "uid", json_string("u2"));
	pw_policyset_object(&ps, "k8s:ns/p", o);
	json_decref(o);
	assert_int_equal(ps.n_pols, 0);
	assert_non_null(pw_policyset_file(&ps, "k8s:ns/p")); /* known, with its error */

	/* Deleted: gone, and the cache with it. */
	pw_policyset_object(&ps, "k8s:ns/p", NULL);
	assert_null(pw_policyset_file(&ps, "k8s:ns/p"));
	pw_policyset_free(&ps);
	pw_policyset_init(&ps, NULL, sdir);
	o = object("u1", "audit", false);
	pw_policyset_object(&ps, "k8s:ns/p", o);
	json_decref(o);
	assert_int_equal(ps.n_pols, 0);
	pw_policyset_free(&ps);
}

static void test_prune(void **state)
{
	char path[200];
	struct pw_policyset ps;
	json_t *o = object("u9", "enforce", true);

	pw_policyset_init(&ps, NULL, sdir);
	pw_policyset_object(&ps, "k8s:ns/p", o);
	pw_policyset_free(&ps);
	snprintf(path, sizeof(path), "%s/policy-cache/k8s/ns_p.json", sdir);
	assert_int_equal(access(path, F_OK), 0);
	/* A new agent whose full LIST had no such object: the cache goes. */
	pw_policyset_init(&ps, NULL, sdir);
	pw_policyset_prune_cache(&ps);
	assert_int_equal(access(path, F_OK), -1);
	/* One it knows stays. */
	pw_policyset_object(&ps, "k8s:ns/p", o);
	pw_policyset_prune_cache(&ps);
	assert_int_equal(access(path, F_OK), 0);
	pw_policyset_free(&ps);
	json_decref(o);
}

static void test_cluster(void **state)
{
	struct pw_k8s_namespace ns[2] = {{.name = "team-a"}, {.name = "team-b"}};
	struct pw_policyset ps;
	json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:{s:{s:s}},s:[{s:[{s:s}]}]}}", "apiVersion",
			      "podwall.io/v1alpha1", "kind", "ClusterEgressPolicy", "metadata",
			      "name", "c", "uid", "c1", "spec", "namespaceSelector", "matchLabels",
			      "tier", "sandbox", "egress", "toFQDNs", "matchName", "x.example.org");
	struct pw_labels want = {0};

	assert_int_equal(pw_labels_set(&ns[1].labels, "tier", "sandbox"), 0);
	assert_int_equal(pw_labels_set(&want, "app", "x"), 0);
	pw_policyset_init(&ps, NULL, sdir);
	pw_policyset_object(&ps, "k8s:@cluster/c", o);
	assert_int_equal(ps.n_pols, 1);
	pw_policyset_resolve_cluster(&ps, ns, 2);
	assert_false(pw_policy_selects(&ps.pols[0], "team-a", &want));
	assert_true(pw_policy_selects(&ps.pols[0], "team-b", &want));
	/* team-b loses its label: selected no more */
	pw_labels_free(&ns[1].labels);
	pw_policyset_resolve_cluster(&ps, ns, 2);
	assert_false(pw_policy_selects(&ps.pols[0], "team-b", &want));
	pw_policyset_free(&ps);
	pw_labels_free(&want);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_services_standalone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

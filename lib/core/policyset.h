/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policyset: the agent's policies, one module that owns them. Each source (a
 * file of the policy directory, or a Kubernetes object "k8s:ns/name",
 * "k8s:@cluster/name") keeps its last valid version: a refused edit never
 * changes what is enforced, and the last good version is cached in the state
 * directory (policy-cache/) so that a restart with a bad source keeps it too.
 * pols is the merged view of every source's good policies, what compile and
 * selection read.
 */
#ifndef PODWALL_POLICYSET_H
#define PODWALL_POLICYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "k8sobj.h"
#include "policy.h"

/* A policy file larger than this is refused (the previous version stays). */
#define PW_POLICY_FILE_MAX (4 << 20)

/* One policy source and the last version of it that was valid. */
struct pw_policy_file {
	char *path; /* the file, or "k8s:ns/name" */
	struct pw_policy *pols;
	size_t n_pols;
	char *error; /* last load error; pols is the last good version */
	struct timespec mtime;
	json_t *good_json;  /* documents of the last good version (cached in state) */
	char *uid;	    /* k8s: metadata.uid of the object pols came from */
	long long good_gen; /* k8s: metadata.generation of that version */
};

struct pw_policyset {
	const char *policy_dir; /* NULL in Kubernetes mode: no policy files */
	const char *state_dir;
	struct pw_policy_file *files;
	size_t n_files;
	struct pw_policy *pols; /* merged view of all files' good policies (borrowed) */
	size_t n_pols;
	uint64_t loads;	 /* versions applied */
	uint64_t errors; /* versions refused (the previous one stayed in force) */
};

void pw_policyset_init(struct pw_policyset *ps, const char *policy_dir, const char *state_dir);
void pw_policyset_free(struct pw_policyset *ps);
/* Scan the policy directory: new, changed and removed files. Returns 1 if
 * anything changed (the view is rebuilt then), else 0. */
int pw_policyset_scan(struct pw_policyset *ps);
/* Replace the policies of one source ("k8s:ns/name") with those decoded from
 * obj, or remove them (obj NULL). A bad object keeps the previous version. */
void pw_policyset_object(struct pw_policyset *ps, const char *source, const json_t *obj);
/* ClusterEgressPolicies: which namespaces each selects, from the labels of
 * the Namespaces the API has. */
void pw_policyset_resolve_cluster(struct pw_policyset *ps, const struct pw_k8s_namespace *ns,
				  size_t n);
/* toServices and toEntities: fn fills what one rule stands for now (0, or a
 * negative errno: that rule's previous peers stay). Every rule naming a
 * Service or an entity is resolved again; returns true if any changed. */
typedef int (*pw_rule_peers_fn)(void *ctx, const struct pw_rule *r, struct pw_peers *out);
bool pw_policyset_resolve_peers(struct pw_policyset *ps, pw_rule_peers_fn fn, void *ctx);
/* After a full LIST of both policy kinds: forget the cached versions of
 * objects the API no longer has. */
void pw_policyset_prune_cache(struct pw_policyset *ps);
/* The merged view again, from every source's good policies. */
void pw_policyset_rebuild(struct pw_policyset *ps);
/* The source named path, or NULL. */
struct pw_policy_file *pw_policyset_file(struct pw_policyset *ps, const char *path);

#endif

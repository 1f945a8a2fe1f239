// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "owner.h"

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* name is "<base>-<suffix>": the length of base, or 0. */
static size_t strip_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (!s || n < s + 2 || name[n - s - 1] != '-' || strcmp(name + n - s, suffix))
		return 0;
	return n - s - 1;
}

/* name is "<base>-<8 or more digits>": the length of base, or 0. */
static size_t strip_digits(const char *name)
{
	size_t n = strlen(name), d = 0;

	while (d < n && name[n - 1 - d] >= '0' && name[n - 1 - d] <= '9')
		d++;
	if (d < 8 || n < d + 2 || name[n - d - 1] != '-')
		return 0;
	return n - d - 1;
}

int pw_pod_owner(const json_t *pod, struct pw_owner *out)
{
	const json_t *md = json_object_get(pod, "metadata");
	const json_t *refs = json_object_get(md, "ownerReferences"), *ref = NULL, *r;
	const char *kind, *name, *hash;
	size_t i, base = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(refs))
		return -ENOENT;
	json_array_foreach(refs, i, r)
	{
		if (json_is_true(json_object_get(r, "controller"))) {
			ref = r;
			break;
		}
		if (!ref)
			ref = r;
	}
	kind = jstr(ref, "kind");
	name = jstr(ref, "name");
	if (!kind || !name || !*kind || !*name || strlen(kind) >= sizeof(out->kind) ||
	    strlen(name) >= sizeof(out->name))
		return -ENOENT;
	if (!strcmp(kind, "ReplicaSet")) {
		hash = jstr(json_object_get(md, "labels"), "pod-template-hash");
		if (hash && (base = strip_suffix(name, hash)))
			kind = "Deployment";
	} else if (!strcmp(kind, "Job") && (base = strip_digits(name))) {
		kind = "CronJob";
	}
	snprintf(out->kind, sizeof(out->kind), "%s", kind);
	snprintf(out->name, sizeof(out->name), "%.*s", base ? (int)base : (int)strlen(name), name);
	return 0;
}

json_t *pw_owner_json(const struct pw_owner *o)
{
	if (!o || !o->kind[0])
		return json_null();
	return json_pack("{s:s,s:s}", "kind", o->kind, "name", o->name);
}

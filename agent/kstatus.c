// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kstatus: what podwall did with each EgressPolicy, written back to the API.
 *
 * One writer per field, and agents never fight:
 *   status.nodes.<node>   each agent writes only its own node's entry
 *                         (observedGeneration, appliedGeneration, pods,
 *                         enforced) with a JSON merge patch of that one map
 *                         key: merge patches of different keys never conflict,
 *                         so no precondition is needed and no agent can erase
 *                         another's entry.
 *   status.{observedGeneration, selectedPods, conditions}
 *                         only the holder of the Lease kube-system/podwall-status
 *                         (coordination.k8s.io, 15 s, renewed every 5 s) writes
 *                         them, as a summary of the node entries and its own
 *                         verdict on the spec, with metadata.resourceVersion
 *                         as a precondition (409 on a concurrent write: computed
 *                         again from the newer object). The holder also posts
 *                         the PolicyRefused Event, once per (uid, generation).
 *   Pod Events            each agent for its own node's pods that it cannot
 *                         enforce (PodNotEnforced, HookConflict): one Event a
 *                         (pod, reason), its count raised (an Event series).
 * Writes happen only when what is there differs from what should be, so a
 * status change (which comes back through the watch) settles at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_int.h"
#include "k8s.h"
#include "log.h"

#define LEASE_NAME	 "podwall-status"
#define LEASE_SECONDS	 15
#define LEASE_RENEW_NS	 (5ULL * 1000000000ULL)
#define STATUS_PERIOD_NS (1ULL * 1000000000ULL)

struct pod_event;

struct pw_kstatus {
	char *ns; /* the agent's namespace: the Lease lives there */
	bool leader;
	uint64_t leader_until_ns, next_lease_ns, next_ns;
	bool lease_busy;
	json_t *inflight;	      /* "node:SRC" / "top:SRC" -> true while a PATCH is out */
	json_t *evented;	      /* "uid/generation" -> true: PolicyRefused posted */
	struct pod_event *pod_events; /* Pod Events, below */
	size_t n_pod_events;
	uint64_t tokens_ns; /* the write bucket: full when now - tokens_ns is a burst */
	bool no_patch;	    /* RBAC without patch on events: no series, one Event each */
};

struct write_ctx {
	struct pw_agent *a;
	char key[640];
};

static void iso_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static long long obj_gen(const json_t *obj)
{
	return json_integer_value(json_object_get(json_object_get(obj, "metadata"), "generation"));
}

static const char *md_str(const json_t *obj, const char *k)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), k));
}

/* ---------------------------------------------------------------- Lease */

static void lease_done(long status, const json_t *body, const char *err, void *ctx)
{
	struct pw_agent *a = ctx;
	struct pw_kstatus *ks = a->kstatus;
	const char *me = pw_k8s_node(a->kube.k8s);

	ks->lease_busy = false;
	if (status == 200 || status == 201) {
		const char *holder = json_string_value(
			json_object_get(json_object_get(body, "spec"), "holderIdentity"));

		if (holder && !strcmp(holder, me)) {
			if (!ks->leader)
				pw_info("status: this agent (%s) writes the EgressPolicy status "
					"summaries "
					"(Lease %s/%s)",
					me, ks->ns, LEASE_NAME);
			ks->leader = true;
			ks->leader_until_ns = pw_now_ns() + (LEASE_SECONDS - 2) * 1000000000ULL;
		}
		return;
	}
	if (status == 409)
		return; /* another agent renewed or took it first */
	pw_debug("status: lease: %s", err ?: "?");
}

static json_t *lease_spec(const char *me, const json_t *old)
{
	char now[40];
	const json_t *os = json_object_get(old, "spec");
	const char *holder = json_string_value(json_object_get(os, "holderIdentity"));
	json_int_t trans = json_integer_value(json_object_get(os, "leaseTransitions"));
	const char *acq = json_string_value(json_object_get(os, "acquireTime"));

	iso_now(now, sizeof(now));
	/* MicroTime: RFC 3339 with microseconds */
	now[strlen(now) - 1] = '\0';
	strcat(now, ".000000Z");
	if (holder && strcmp(holder, me)) {
		trans++;
		acq = NULL;
	}
	return json_pack("{s:s,s:i,s:s,s:s,s:I}", "holderIdentity", me, "leaseDurationSeconds",
			 LEASE_SECONDS, "acquireTime", acq ?: now, "renewTime", now,
			 "leaseTransitions", trans);
}

/* Parse "2026-12-01T09:12:05.123456Z" (seconds are enough). */
static time_t micro_time(const char *s)
{
	struct tm tm = {0};

	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return timegm(&tm);
}

static void lease_got(long status, const json_t *body, const char *err, void *ctx)
{
	struct pw_agent *a = ctx;
	struct pw_kstatus *ks = a->kstatus;
	const char *me = pw_k8s_node(a->kube.k8s);
	char path[400];
	json_t *obj;
	int ret;

	ks->lease_busy = false;
	snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases", ks->ns);
	if (status == 404) {
		obj = json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "apiVersion", "coordination.k8s.io/v1",
				"kind", "Lease", "metadata", "name", LEASE_NAME, "namespace",
				ks->ns, "spec", lease_spec(me, NULL));
		ret = pw_k8s_request(a->kube.k8s, "POST", path, "application/json", obj, lease_done,
				     a);
		json_decref(obj);
		ks->lease_busy = !ret;
		return;
	}
	if (status != 200) {
		pw_debug("status: lease: %s", err ?: "?");
		return;
	}
	const json_t *sp = json_object_get(body, "spec");
	const char *holder = json_string_value(json_object_get(sp, "holderIdentity"));
	json_int_t dur = json_integer_value(json_object_get(sp, "leaseDurationSeconds"));
	time_t renew = micro_time(json_string_value(json_object_get(sp, "renewTime")));

	if (holder && *holder && strcmp(holder, me) &&
	    renew + (dur ? dur : LEASE_SECONDS) > time(NULL)) {
		if (ks->leader)
			pw_info("status: %s holds the Lease now", holder);
		ks->leader = false;
		return;
	}
	/* ours, or expired: renew or take it, with its resourceVersion as precondition */
	obj = json_deep_copy(body);
	json_object_set_new(obj, "spec", lease_spec(me, body));
	json_object_del(json_object_get(obj, "metadata"), "managedFields");
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", LEASE_NAME);
	ret = pw_k8s_request(a->kube.k8s, "PUT", path, "application/json", obj, lease_done, a);
	json_decref(obj);
	ks->lease_busy = !ret;
}

static void lease_step(struct pw_agent *a, uint64_t now)
{
	struct pw_kstatus *ks = a->kstatus;
	char path[400];

	if (ks->leader && now > ks->leader_until_ns) {
		pw_warn("status: Lease not renewed in time; no longer writing status summaries");
		ks->leader = false;
	}
	if (ks->lease_busy || now < ks->next_lease_ns)
		return;
	ks->next_lease_ns = now + LEASE_RENEW_NS;
	snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", ks->ns,
		 LEASE_NAME);
	ks->lease_busy = !pw_k8s_request(a->kube.k8s, "GET", path, NULL, NULL, lease_got, a);
}

/* ---------------------------------------------------------------- writes */

static void patch_done(long status, const json_t *body, const char *err, void *ctx)
{
	struct write_ctx *w = ctx;

	if (w->a->kstatus)
		json_object_del(w->a->kstatus->inflight, w->key);
	if (status < 200 || status > 299)
		pw_debug("status: %s: %s", w->key, err ?: "?");
	free(w);
}

static void patch_status(struct pw_agent *a, const char *key, const json_t *obj, json_t *patch)
{
	struct pw_kstatus *ks = a->kstatus;
	struct write_ctx *w;
	char path[600];

	if (json_object_get(ks->inflight, key) || !(w = calloc(1, sizeof(*w)))) {
		json_decref(patch);
		return;
	}
	w->a = a;
	snprintf(w->key, sizeof(w->key), "%s", key);
	snprintf(path, sizeof(path),
		 "/apis/podwall.io/v1alpha1/namespaces/%s/egresspolicies/%s/status",
		 md_str(obj, "namespace"), md_str(obj, "name"));
	if (pw_k8s_request(a->kube.k8s, "PATCH", path, "application/merge-patch+json", patch,
			   patch_done, w))
		free(w);
	else
		json_object_set_new(ks->inflight, key, json_true());
	json_decref(patch);
}

static void post_refused_event(struct pw_agent *a, const json_t *obj, const char *msg)
{
	struct pw_kstatus *ks = a->kstatus;
	char key[200], path[400], now[40], gen[80];
	json_t *ev;

	snprintf(key, sizeof(key), "%s/%lld", md_str(obj, "uid") ?: "", obj_gen(obj));
	if (json_object_get(ks->evented, key))
		return;
	json_object_set_new(ks->evented, key, json_true());
	iso_now(now, sizeof(now));
	snprintf(gen, sizeof(gen), "%s.", md_str(obj, "name"));
	ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s?,s:s?},s:s,s:s,s:s,"
		       "s:{s:s,s:s},s:s,s:s,s:i,s:s,s:s}",
		       "apiVersion", "v1", "kind", "Event", "metadata", "generateName", gen,
		       "namespace", md_str(obj, "namespace"), "involvedObject", "apiVersion",
		       "podwall.io/v1alpha1", "kind", "EgressPolicy", "namespace",
		       md_str(obj, "namespace"), "name", md_str(obj, "name"), "uid",
		       md_str(obj, "uid"), "resourceVersion", md_str(obj, "resourceVersion"),
		       "reason", "PolicyRefused", "message", msg, "type", "Warning", "source",
		       "component", "podwall", "host", pw_k8s_node(a->kube.k8s), "firstTimestamp",
		       now, "lastTimestamp", now, "count", 1, "reportingComponent",
		       "podwall.io/agent", "reportingInstance", pw_k8s_node(a->kube.k8s));
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", md_str(obj, "namespace"));
	if (ev && pw_k8s_request(a->kube.k8s, "POST", path, "application/json", ev, NULL, NULL))
		json_object_del(ks->evented, key); /* try again next time */
	json_decref(ev);
}

/* ---------------------------------------------------------------- Pod Events */

/*
 * A pod of this node that the agent cannot enforce gets one Warning Event per
 * (pod, reason), like the kubelet's: the first sighting after a grace creates
 * it, later sightings raise its count (an Event series: count and
 * lastTimestamp patched, at most once per POD_EVENT_SERIES_NS), so a pod
 * stuck for an hour is one Event "x360", not 360 Events. Every agent posts for
 * its own node's pods. Writes are bounded by a token bucket over all pods.
 */
#define POD_EVENT_GRACE_NS  (10ULL * 1000000000ULL) /* a CNI ADD in flight is no problem */
#define POD_EVENT_SERIES_NS (20ULL * 1000000000ULL) /* one write per Event at most this often */
#define POD_EVENT_FORGET_NS (60ULL * 1000000000ULL) /* not seen that long: over */
#define POD_EVENT_BURST	    20
#define POD_EVENT_REFILL_NS (3ULL * 1000000000ULL) /* a write token every 3 s */
#define POD_EVENT_MAX	    1024

struct pod_event {
	struct pod_event *next;
	struct pw_agent *a;
	char ns[64], name[254], reason[32];
	char evname[254]; /* the Event object's name */
	char *msg;
	uint32_t count, written; /* sightings; the count the API has */
	uint64_t first_ns, seen_ns, next_write_ns;
	bool created, inflight;
};

static struct pod_event *pod_event_find(struct pw_kstatus *ks, const char *ns, const char *name,
					const char *reason)
{
	for (struct pod_event *e = ks->pod_events; e; e = e->next)
		if (!strcmp(e->ns, ns) && !strcmp(e->name, name) && !strcmp(e->reason, reason))
			return e;
	return NULL;
}

void pw_kstatus_pod_problem(struct pw_agent *a, const char *ns, const char *name,
			    const char *reason, const char *msg, bool at_once)
{
	struct pw_kstatus *ks = a->kstatus;
	uint64_t now = pw_now_ns();
	struct pod_event *e;

	if (!ks || !a->kube.k8s)
		return;
	e = pod_event_find(ks, ns, name, reason);
	if (!e) {
		if (ks->n_pod_events >= POD_EVENT_MAX || !(e = calloc(1, sizeof(*e))))
			return;
		e->a = a;
		snprintf(e->ns, sizeof(e->ns), "%s", ns);
		snprintf(e->name, sizeof(e->name), "%s", name);
		snprintf(e->reason, sizeof(e->reason), "%s", reason);
		/* the kubelet's form: the object's name and the time in hex */
		snprintf(e->evname, sizeof(e->evname), "%.200s.%llx", name,
			 (unsigned long long)time(NULL) * 1000000000ULL + now % 1000000000ULL);
		e->first_ns = at_once ? now - POD_EVENT_GRACE_NS : now;
		e->next = ks->pod_events;
		ks->pod_events = e;
		ks->n_pod_events++;
	}
	if (!e->msg || strcmp(e->msg, msg)) {
		char *m = strdup(msg);

		if (m) {
			free(e->msg);
			e->msg = m;
		}
	}
	e->count++;
	e->seen_ns = now;
}

static void pod_event_done(long status, const json_t *body, const char *err, void *ctx)
{
	struct pod_event *e = ctx;

	e->inflight = false;
	if (status >= 200 && status <= 299) {
		e->created = true;
		e->written = (uint32_t)json_integer_value(json_object_get(body, "count"));
		return;
	}
	if (status == 403 && e->created && !e->a->kstatus->no_patch) {
		pw_warn("Pod Events: no patch on events (RBAC of an older podwall?): their count "
			"stays at the first sighting");
		e->a->kstatus->no_patch = true;
	}
	if (status == 404)
		e->created = false; /* deleted (Events expire after an hour): a new one */
	else if (status == 409)
		e->created = true; /* created, the answer lost: patch it next time */
	pw_debug("pod %s/%s: Event %s: %s", e->ns, e->name, e->reason, err ?: "?");
}

static json_t *pod_event_object(struct pw_agent *a, const struct pod_event *e, const char *now)
{
	const json_t *pod = pw_k8s_get(a->kube.k8s, PW_K8S_PODS, e->ns, e->name);

	return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s?},s:s,s:s,s:s,"
			 "s:{s:s,s:s},s:s,s:s,s:i,s:s,s:s,s:s}",
			 "apiVersion", "v1", "kind", "Event", "metadata", "name", e->evname,
			 "namespace", e->ns, "involvedObject", "apiVersion", "v1", "kind", "Pod",
			 "namespace", e->ns, "name", e->name, "uid", md_str(pod, "uid"), "reason",
			 e->reason, "message", e->msg, "type", "Warning", "source", "component",
			 "podwall", "host", pw_k8s_node(a->kube.k8s), "firstTimestamp", now,
			 "lastTimestamp", now, "count", (int)e->count, "reportingComponent",
			 "podwall.io/agent", "reportingInstance", pw_k8s_node(a->kube.k8s),
			 "action", "Enforce");
}

/* Post what is due, forget what is over. */
static void pod_events_step(struct pw_agent *a, uint64_t now)
{
	struct pw_kstatus *ks = a->kstatus;
	char now_s[40], path[600];

	if (!ks->tokens_ns)
		ks->tokens_ns = now - POD_EVENT_BURST * POD_EVENT_REFILL_NS;
	if (now - ks->tokens_ns > POD_EVENT_BURST * POD_EVENT_REFILL_NS)
		ks->tokens_ns = now - POD_EVENT_BURST * POD_EVENT_REFILL_NS;
	iso_now(now_s, sizeof(now_s));
	for (struct pod_event **pp = &ks->pod_events, *e; (e = *pp);) {
		json_t *body;
		int ret;

		if (!e->inflight && now - e->seen_ns > POD_EVENT_FORGET_NS) {
			*pp = e->next;
			ks->n_pod_events--;
			free(e->msg);
			free(e);
			continue;
		}
		pp = &e->next;
		/* seen again after the grace, before the first write */
		if (e->inflight || now < e->next_write_ns || e->count == e->written ||
		    e->seen_ns - e->first_ns < POD_EVENT_GRACE_NS || (e->created && ks->no_patch))
			continue;
		if (now - ks->tokens_ns < POD_EVENT_REFILL_NS)
			break; /* no write token: the rest waits */
		if (e->created) {
			body = json_pack("{s:i,s:s,s:s}", "count", (int)e->count, "lastTimestamp",
					 now_s, "message", e->msg);
			snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events/%s", e->ns,
				 e->evname);
			ret = body ? pw_k8s_request(a->kube.k8s, "PATCH", path,
						    "application/merge-patch+json", body,
						    pod_event_done, e)
				   : -ENOMEM;
		} else {
			body = pod_event_object(a, e, now_s);
			snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", e->ns);
			ret = body ? pw_k8s_request(a->kube.k8s, "POST", path, "application/json",
						    body, pod_event_done, e)
				   : -ENOMEM;
			if (!ret)
				pw_warn("pod %s/%s: Event %s posted: %s", e->ns, e->name, e->reason,
					e->msg);
		}
		json_decref(body);
		if (ret)
			break;
		e->inflight = true;
		e->next_write_ns = now + POD_EVENT_SERIES_NS;
		ks->tokens_ns += POD_EVENT_REFILL_NS;
	}
}

/* ---------------------------------------------------------------- what to write */

static const struct pw_policy_file *file_of(struct pw_agent *a, const char *source)
{
	return pw_policyset_file(&a->policies, source);
}

/* This node's entry: the generation seen and applied, its pods, all enforced? */
static json_t *node_entry(struct pw_agent *a, const struct pw_policy_file *f, const json_t *obj)
{
	int pods = 0;
	bool enforced = true;

	for (size_t j = 0; f && j < f->n_pols; j++)
		for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
			if (!pw_policy_selects(&f->pols[j], ep->namespace, &ep->labels))
				continue;
			pods++;
			if (!ep->managed || ep->compile_error)
				enforced = false;
		}
	return json_pack("{s:I,s:I,s:i,s:b}", "observedGeneration", (json_int_t)obj_gen(obj),
			 "appliedGeneration", (json_int_t)(f && f->n_pols ? f->good_gen : 0),
			 "pods", pods, "enforced", enforced);
}

/* The condition TYPE with lastTransitionTime kept while its status holds. */
static json_t *condition(const json_t *old_status, const char *type, bool ok, const char *reason,
			 const char *msg, long long gen)
{
	const json_t *c;
	size_t i;
	char now[40];
	const char *since = NULL;

	json_array_foreach(json_object_get(old_status, "conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *st = json_string_value(json_object_get(c, "status"));

		if (t && !strcmp(t, type) && st && !strcmp(st, ok ? "True" : "False"))
			since = json_string_value(json_object_get(c, "lastTransitionTime"));
	}
	iso_now(now, sizeof(now));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "type", type, "status", ok ? "True" : "False",
			 "reason", reason, "message", msg, "lastTransitionTime", since ?: now,
			 "observedGeneration", (json_int_t)gen);
}

/* The summary only the Lease holder writes. */
static json_t *summary(struct pw_agent *a, const struct pw_policy_file *f, const json_t *obj)
{
	const json_t *st = json_object_get(obj, "status"), *e;
	long long gen = obj_gen(obj);
	const char *node, *err = f ? f->error : "not decoded", *msg;
	char behind[300] = "", text[400];
	json_int_t pods = 0;
	bool enforced = true;

	json_object_foreach((json_t *)json_object_get(st, "nodes"), node, e)
	{
		json_int_t n = json_integer_value(json_object_get(e, "pods"));

		pods += n;
		if (n > 0 && (json_integer_value(json_object_get(e, "appliedGeneration")) != gen ||
			      !json_is_true(json_object_get(e, "enforced")))) {
			enforced = false;
			if (strlen(behind) + strlen(node) + 2 < sizeof(behind))
				snprintf(behind + strlen(behind), sizeof(behind) - strlen(behind),
					 "%s%s", behind[0] ? ", " : "", node);
		}
	}
	/* the field path and problem, without the "k8s:ns/name: " prefix */
	msg = err && f ? err + (strncmp(err, f->path, strlen(f->path)) ? 0 : strlen(f->path)) : "";
	if (*msg == ':')
		msg += 2;
	if (err)
		snprintf(text, sizeof(text), "%s",
			 f && f->n_pols ? "the previous valid version stays in force"
					: "not applied (no earlier valid version)");
	else if (!enforced)
		snprintf(text, sizeof(text), "not yet applied on: %s", behind);
	else
		snprintf(text, sizeof(text), "applied on every node that runs a selected pod");
	return json_pack("{s:I,s:I,s:[o,o]}", "observedGeneration", (json_int_t)gen, "selectedPods",
			 pods, "conditions",
			 condition(st, "Accepted", !err, err ? "Refused" : "Valid",
				   err ? msg : "the agent accepts this version", gen),
			 condition(st, "Enforced", !err && enforced,
				   err	      ? "Refused"
				   : enforced ? "Applied"
					      : "Pending",
				   text, gen));
}

/* Equal, ignoring lastTransitionTime (kept anyway while the status holds). */
static bool summary_same(const json_t *want, const json_t *st)
{
	return json_equal(json_object_get(want, "observedGeneration"),
			  json_object_get(st, "observedGeneration")) &&
	       json_equal(json_object_get(want, "selectedPods"),
			  json_object_get(st, "selectedPods")) &&
	       json_equal(json_object_get(want, "conditions"), json_object_get(st, "conditions"));
}

void pw_kstatus_tick(struct pw_agent *a)
{
	struct pw_kstatus *ks = a->kstatus;
	const json_t *objs, *obj;
	const char *key, *me;
	uint64_t now = pw_now_ns();

	if (!ks || !a->kube.k8s || !a->kube.synced)
		return;
	lease_step(a, now);
	if (now < ks->next_ns)
		return;
	ks->next_ns = now + STATUS_PERIOD_NS;
	pod_events_step(a, now);
	me = pw_k8s_node(a->kube.k8s);
	objs = pw_k8s_objects(a->kube.k8s, PW_K8S_POLICIES);
	json_object_foreach((json_t *)objs, key, obj)
	{
		const json_t *st = json_object_get(obj, "status");
		const struct pw_policy_file *f;
		char source[600], wkey[700];
		json_t *want;

		snprintf(source, sizeof(source), "k8s:%s/%s", md_str(obj, "namespace") ?: "?",
			 md_str(obj, "name") ?: "?");
		f = file_of(a, source);
		want = node_entry(a, f, obj);
		/* an entry only on nodes that run a selected pod, or had one */
		if (want &&
		    (json_integer_value(json_object_get(want, "pods")) > 0 ||
		     json_object_get(json_object_get(st, "nodes"), me)) &&
		    !json_equal(want, json_object_get(json_object_get(st, "nodes"), me))) {
			snprintf(wkey, sizeof(wkey), "node:%s", source);
			patch_status(a, wkey, obj,
				     json_pack("{s:{s:{s:O}}}", "status", "nodes", me, want));
		}
		json_decref(want);
		if (!ks->leader)
			continue;
		if (f && f->error)
			post_refused_event(a, obj, f->error);
		want = summary(a, f, obj);
		if (want && !summary_same(want, st)) {
			json_t *patch =
				json_pack("{s:{s:s},s:O}", "metadata", "resourceVersion",
					  md_str(obj, "resourceVersion") ?: "", "status", want);

			snprintf(wkey, sizeof(wkey), "top:%s", source);
			patch_status(a, wkey, obj, patch);
		}
		json_decref(want);
	}
}

int pw_kstatus_start(struct pw_agent *a)
{
	struct pw_kstatus *ks = calloc(1, sizeof(*ks));
	const char *ns = getenv("POD_NAMESPACE");

	if (!ks)
		return -ENOMEM;
	ks->ns = strdup(ns && *ns ? ns : "kube-system");
	ks->inflight = json_object();
	ks->evented = json_object();
	if (!ks->ns || !ks->inflight || !ks->evented) {
		free(ks->ns);
		json_decref(ks->inflight);
		json_decref(ks->evented);
		free(ks);
		return -ENOMEM;
	}
	a->kstatus = ks;
	return 0;
}

/* After pw_k8s_free (no callback can come any more). */
void pw_kstatus_stop(struct pw_agent *a)
{
	struct pw_kstatus *ks = a->kstatus;

	if (!ks)
		return;
	free(ks->ns);
	json_decref(ks->inflight);
	json_decref(ks->evented);
	while (ks->pod_events) {
		struct pod_event *e = ks->pod_events;

		ks->pod_events = e->next;
		free(e->msg);
		free(e);
	}
	free(ks);
	a->kstatus = NULL;
}

bool pw_kstatus_leader(const struct pw_agent *a)
{
	return a->kstatus && a->kstatus->leader;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * events: deny and audit records from the pw_events ring buffer (and the
 * agent's own DNS drops), enriched with the pod, its policies and the hostname
 * the pod last resolved to the destination; written as JSON lines to stdout,
 * kept in a bounded ring for `podwall events`, streamed to followers.
 *
 * The ring survives a restart: every record is appended to
 * <state-dir>/events.jsonl, which is rewritten from the ring whenever it has
 * grown to twice --events-keep lines, and read back at start. Each record has
 * an id unique across restarts: the agent's start time, then a sequence.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <zlib.h>

#include "agent_int.h"
#include "ctl.h"
#include "events_filter.h"
#include "events_fmt.h"
#include "ipaddr.h"
#include "log.h"

#define EV_FILE "events.jsonl"

/*
 * The kept lines are deflated (raw, a 2 KiB window) against this dictionary:
 * what every record repeats, the commonest last (zlib finds near strings in
 * fewer bits). A deny record of ~380 bytes keeps ~150 (its id, time, names
 * and addresses: what is its own); 4,096 records are ~0.8 MiB of the agent's
 * RSS, not 1.8. The streams are the agent's, made at the first record and
 * reset for each.
 */
#define EV_ZBITS 11
static const char ev_dict[] =
	"\"type\":\"dns\",\"answers\":[],\"path\":\"held\",\"inline\",\"detail\":\""
	"\"icmp\":{\"type\":,\"code\":},\"family\":\"ipv6\",\"owner\":{\"kind\":\"Deployment"
	"\",\"name\":\"StatefulSet\"},\"verdict\":\"allow\",\"reason\":\"allowed\""
	"\"verdict\":\"audit\",\"reason\":\"dns-budget\",\"dns-invalid\",\"dns-name\""
	",\"query\":\"\",\"hostname\":null,\"policies\":[\"\"],\"ifindex\":,\"suppressed\":0}"
	"{\"id\":\"1a23-\",\"time\":\"2026-12-01T00:00:00.000Z\",\"node\":\"\",\"namespace\":"
	"\"\",\"pod\":\"\",\"owner\":null,\"verdict\":\"drop\",\"reason\":\"no-rule\","
	"\"family\":\"ipv4\",\"proto\":\"udp\",\"proto\":\"tcp\",\"src\":\"10.42.0.\","
	"\"sport\":,\"dst\":\"\",\"dport\":53,\"dport\":443,\"hostname\":\"\",\"policies\":[\""
	"\"],\"ifindex\":,\"suppressed\":0}";

static void ev_zfree(struct pw_agent *a)
{
	if (a->ev_zd)
		deflateEnd(a->ev_zd);
	if (a->ev_zi)
		inflateEnd(a->ev_zi);
	free(a->ev_zd);
	free(a->ev_zi);
	a->ev_zd = a->ev_zi = NULL;
}

/* A stream ready for the next line: made once, then reset. */
static z_stream *ev_zstream(struct pw_agent *a, bool inflating)
{
	struct z_stream_s **zp = inflating ? &a->ev_zi : &a->ev_zd;
	z_stream *z = *zp;
	int ret;

	if (z) {
		ret = inflating ? inflateReset(z) : deflateReset(z);
	} else {
		z = calloc(1, sizeof(*z));
		if (!z)
			return NULL;
		ret = inflating ? inflateInit2(z, -EV_ZBITS)
				: deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -EV_ZBITS, 2,
					       Z_DEFAULT_STRATEGY);
		if (ret != Z_OK) {
			free(z);
			return NULL;
		}
		*zp = z;
	}
	if (ret == Z_OK)
		ret = inflating
			      ? inflateSetDictionary(z, (const Bytef *)ev_dict, sizeof(ev_dict) - 1)
			      : deflateSetDictionary(z, (const Bytef *)ev_dict,
						     sizeof(ev_dict) - 1);
	return ret == Z_OK ? z : NULL;
}

/* The record's line, inflated: a string to free, or NULL (out of memory). */
static char *rec_line(struct pw_agent *a, const struct pw_event_rec *r)
{
	z_stream *z = ev_zstream(a, true);
	char *line = malloc((size_t)r->len + 1);

	if (!z || !line) {
		free(line);
		return NULL;
	}
	z->next_in = (Bytef *)r->pod + strlen(r->pod) + 1;
	z->avail_in = r->zlen;
	z->next_out = (Bytef *)line;
	z->avail_out = r->len;
	if (inflate(z, Z_FINISH) != Z_STREAM_END || z->avail_out) {
		free(line);
		return NULL;
	}
	line[r->len] = '\0';
	return line;
}

/* The record as the object it was; NULL if it cannot be had. */
json_t *pw_event_rec_json(struct pw_agent *a, const struct pw_event_rec *r)
{
	char *line = rec_line(a, r);
	json_t *ev = line ? json_loads(line, 0, NULL) : NULL;

	free(line);
	return ev;
}

/* Keep a record in the ring: its pod and its line deflated. */
static void ring_put(struct pw_agent *a, const char *line, const char *pod, uint8_t reason,
		     uint64_t wall_ns)
{
	size_t lpod = strlen(pod), lline = strlen(line), zcap;
	struct pw_event_rec *r;
	char *text, *small;
	z_stream *z;

	if (!a->o.events_keep || lline > UINT32_MAX / 2)
		return;
	z = ev_zstream(a, false);
	if (!z)
		return; /* written to stdout and the file; not kept for the CLI */
	zcap = deflateBound(z, lline);
	text = malloc(lpod + 1 + zcap);
	if (!text)
		return;
	memcpy(text, pod, lpod + 1);
	z->next_in = (Bytef *)line;
	z->avail_in = (uInt)lline;
	z->next_out = (Bytef *)text + lpod + 1;
	z->avail_out = (uInt)zcap;
	if (deflate(z, Z_FINISH) != Z_STREAM_END) {
		free(text);
		return;
	}
	small = realloc(text, lpod + 1 + z->total_out);
	if (small)
		text = small;
	r = &a->events[(a->ev_head + a->ev_count) % a->o.events_keep];
	if (a->ev_count == a->o.events_keep) {
		free(r->pod);
		a->ev_head = (a->ev_head + 1) % a->o.events_keep;
	} else {
		a->ev_count++;
	}
	r->pod = text;
	r->len = (uint32_t)lline;
	r->zlen = (uint32_t)z->total_out;
	r->reason = reason;
	r->wall_ns = wall_ns;
}

static void file_path(const struct pw_agent *a, char *buf, size_t len, const char *suffix)
{
	snprintf(buf, len, "%s/%s%s", a->o.state_dir, EV_FILE, suffix);
}

/* Rewrite the file from the ring: at most events_keep lines again. */
static void file_compact(struct pw_agent *a)
{
	char path[512], tmp[520];
	FILE *f;

	file_path(a, path, sizeof(path), "");
	file_path(a, tmp, sizeof(tmp), ".tmp");
	f = fopen(tmp, "we");
	if (!f)
		return;
	for (size_t i = 0; i < a->ev_count; i++) {
		char *line = rec_line(a, &a->events[(a->ev_head + i) % a->o.events_keep]);

		if (line)
			fprintf(f, "%s\n", line);
		free(line);
	}
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return;
	}
	if (a->ev_file)
		fclose(a->ev_file);
	a->ev_file = fopen(path, "ae");
	a->ev_file_lines = a->ev_count;
}

static void store(struct pw_agent *a, json_t *ev, const char *pod, uint8_t reason, uint64_t wall_ns)
{
	char *line;

	a->st.events_total++;
	line = json_dumps(ev, JSON_COMPACT);
	if (line) {
		fprintf(stdout, "%s\n", line);
		fflush(stdout);
		if (a->ev_file) {
			fprintf(a->ev_file, "%s\n", line);
			fflush(a->ev_file);
			a->ev_file_lines++;
		}
	}
	/* Followers that match get the line; a follower that fails is dropped. */
	for (struct pw_follower **fp = &a->followers; *fp;) {
		struct pw_follower *f = *fp;

		if ((f->pod && strcmp(f->pod, pod)) || (f->reason >= 0 && f->reason != reason)) {
			fp = &f->next;
			continue;
		}
		if (line && pw_ctl_send(f->fd, ev) < 0) {
			*fp = f->next;
			close(f->fd);
			free(f->pod);
			free(f);
			continue;
		}
		fp = &f->next;
	}
	if (line)
		ring_put(a, line, pod, reason, wall_ns);
	free(line);
	json_decref(ev);
	if (a->ev_file && a->ev_file_lines >= 2 * (size_t)a->o.events_keep)
		file_compact(a);
}

/* The record's id, node and pod names, and the pod's workload (k8s mode;
 * *ow is where it is kept). */
static void ctx_names(struct pw_agent *a, const struct pw_ep *ep, struct pw_event_ctx *ec, char *id,
		      size_t idlen, struct pw_owner *ow)
{
	snprintf(id, idlen, "%s-%llu", a->ev_prefix, (unsigned long long)++a->ev_seq);
	ec->id = id;
	ec->node = a->node;
	if (ep) {
		ec->namespace = ep->namespace;
		ec->pod = ep->name;
		ec->policies = (const char *const *)ep->compiled.policies;
		ec->n_policies = ep->compiled.n_policies;
		if (pw_kube_pod_owner(&a->kube, ep->namespace, ep->name, ow))
			ec->owner = ow;
	}
}

static uint64_t wall_from_mono(uint64_t mono_ns)
{
	struct timespec rt;
	uint64_t now_wall, now_mono = pw_now_ns();

	clock_gettime(CLOCK_REALTIME, &rt);
	now_wall = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
	return mono_ns <= now_mono ? now_wall - (now_mono - mono_ns) : now_wall;
}

/* A DNS lookup record's share of the node's visibility budget
 * (--events-dns, or PW_EVENTS_DNS_VISIBILITY a second). */
static bool dns_ev_take(struct pw_agent *a)
{
	uint64_t sec = pw_now_ns() / 1000000000ULL;
	uint32_t cap = a->o.events_dns ? a->o.events_dns : PW_EVENTS_DNS_VISIBILITY;

	if (sec != a->dns_ev_sec) {
		a->dns_ev_sec = sec;
		a->dns_ev_used = 0;
	}
	if (a->dns_ev_used >= cap)
		return false;
	a->dns_ev_used++;
	return true;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct pw_agent *a = ctx;
	struct pw_event ev_buf, *e = &ev_buf;
	struct pw_event_ctx ec = {0};
	struct pw_owner ow;
	struct pw_ep *ep;
	char pod[300] = "?/?", id[64], name[PW_EVENT_NAME_STRLEN];
	int named = pw_event_decode(data, size, e, name, sizeof(name));
	json_t *ev;

	if (named < 0)
		return 0;
	ep = pw_eps_by_id(&a->eps, e->ep_id);
	ctx_names(a, ep, &ec, id, sizeof(id), &ow);
	if (ep) {
		pw_ep_pod(ep, pod, sizeof(pod));
		ec.hostname = pw_ep_name_for(ep, e->family, &e->daddr);
	}
	if (named) {
		/* A query's name (dns-name, dns-invalid): the name it asked for.
		 * Refused by the node, it is a DNS lookup record too for the pods
		 * with DNS visibility (within its budget). */
		ec.hostname = name;
		ec.query = name;
		if (e->reason == PW_R_DNS_NAME && e->verdict == PW_VERDICT_DROP &&
		    pw_events_dns_wanted(a, ep) && dns_ev_take(a))
			ec.dns_path = "refused";
	}
	ec.wall_ns = wall_from_mono(e->ts_ns);
	ev = pw_event_to_json(e, &ec);
	if (ev)
		store(a, ev, pod, e->reason, ec.wall_ns);
	/* Audit never grants, but what an audit policy would allow is shown. */
	if (ep && (e->verdict == PW_VERDICT_DROP || e->verdict == PW_VERDICT_REJECT) &&
	    ep->compiled.audit &&
	    (e->reason == PW_R_NO_RULE || e->reason == PW_R_PORT || e->reason == PW_R_EXPIRED) &&
	    pw_compiled_audit_allows(&ep->compiled, e->family, &e->daddr, e->proto, ntohs(e->dport),
				     ec.hostname)) {
		struct pw_event au = *e;

		au.verdict = PW_VERDICT_AUDIT;
		ec.dns_path = NULL;
		ec.detail = "an audit policy allows this, but audit never grants: an enforce "
			    "policy selects the pod, so it was dropped";
		ev = pw_event_to_json(&au, &ec);
		if (ev)
			store(a, ev, pod, e->reason, ec.wall_ns);
	}
	return 0;
}

void pw_events_emit_hook(struct pw_agent *a, const struct pw_ep *ep, bool repaired,
			 const char *what)
{
	uint64_t wall = wall_from_mono(pw_now_ns());
	char pod[300], ts[64];
	json_t *ev;

	pw_ep_pod(ep, pod, sizeof(pod));
	pw_time_str(wall, ts, sizeof(ts));
	ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "time", ts, "pod", pod, "verdict",
		       repaired ? "repaired" : "exposed", "reason", "hook-order", "veth",
		       ep->host_ifname, "ifindex", (int)ep->ifindex, "detail", what);
	if (ev)
		store(a, ev, pod, PW_R_MAX, wall);
}

void pw_events_emit_agent(struct pw_agent *a, const struct pw_ep *ep, uint8_t reason,
			  uint8_t family, const union pw_ip *resolver, uint16_t pod_port,
			  const char *qname, const char *why)
{
	struct pw_event e = {.ts_ns = pw_now_ns(),
			     .reason = reason,
			     .verdict = PW_VERDICT_DROP,
			     .family = family,
			     .proto = 17};
	struct pw_event_ctx ec = {0};
	struct pw_owner ow;
	char pod[300] = "?/?", id[64];
	json_t *ev;

	ctx_names(a, ep, &ec, id, sizeof(id), &ow);
	if (ep) {
		e.ep_id = ep->ep_id;
		e.ifindex = ep->ifindex;
		if (family == PW_FAMILY_V4)
			e.daddr.v4 = ep->ip4;
		else
			memcpy(e.daddr.v6, ep->ip6, 16);
		pw_ep_pod(ep, pod, sizeof(pod));
	}
	/* The held answer went resolver:53 -> pod:port. */
	e.saddr = *resolver;
	e.sport = htons(53);
	e.dport = htons(pod_port);
	ec.hostname = qname;
	ec.detail = why;
	ec.wall_ns = wall_from_mono(e.ts_ns);
	ev = pw_event_to_json(&e, &ec);
	if (ev)
		store(a, ev, pod, reason, ec.wall_ns);
}

void pw_events_emit_private(struct pw_agent *a, const struct pw_ep *ep, const char *qname,
			    uint8_t family, const union pw_ip *addr, uint8_t kind)
{
	struct pw_event e = {.ts_ns = pw_now_ns(),
			     .reason = PW_R_DNS_PRIVATE,
			     .verdict = PW_VERDICT_DROP,
			     .family = family};
	struct pw_event_ctx ec = {0};
	char pod[300] = "?/?", detail[160];
	struct pw_owner ow;
	json_t *ev;

	if (pw_kube_pod_owner(&a->kube, ep->namespace, ep->name, &ow))
		ec.owner = &ow;
	e.ep_id = ep->ep_id;
	e.ifindex = ep->ifindex;
	if (family == PW_FAMILY_V4)
		e.saddr.v4 = ep->ip4;
	else
		memcpy(e.saddr.v6, ep->ip6, 16);
	e.daddr = *addr;
	pw_ep_pod(ep, pod, sizeof(pod));
	ec.pod = pod;
	ec.policies = (const char *const *)ep->compiled.policies;
	ec.n_policies = ep->compiled.n_policies;
	ec.hostname = qname;
	if (kind == PW_G_MAX) /* the learner's "a cluster deny holds it" */
		snprintf(detail, sizeof(detail),
			 "answer address in a ClusterEgressPolicy deny range: not learned "
			 "(no rule re-opens a deny), answer released");
	else
		snprintf(detail, sizeof(detail),
			 "answer address in %s: not learned (rebinding guard; the rule needs "
			 "allowPrivate), answer released",
			 pw_guard_kind_name(kind));
	ec.detail = detail;
	ec.wall_ns = wall_from_mono(e.ts_ns);
	ev = pw_event_to_json(&e, &ec);
	if (ev)
		store(a, ev, pod, PW_R_DNS_PRIVATE, ec.wall_ns);
}

bool pw_events_dns_room(const struct pw_agent *a)
{
	uint32_t cap = a->o.events_dns ? a->o.events_dns : PW_EVENTS_DNS_VISIBILITY;

	return a->dns_ev_sec != pw_now_ns() / 1000000000ULL || a->dns_ev_used < cap;
}

bool pw_events_dns_wanted(const struct pw_agent *a, const struct pw_ep *ep)
{
	return a->o.events_dns || (ep && (ep->compiled.visibility & PW_VIS_DNS));
}

void pw_events_emit_dns(struct pw_agent *a, const struct pw_ep *ep, const char *qname,
			json_t *answers, const char *path, uint8_t reason)
{
	struct pw_event_ctx ec = {0};
	struct timespec rt;
	char pod[300] = "?/?", id[64], t[48];
	struct pw_owner ow;
	json_t *ev, *pols;

	if (!pw_events_dns_wanted(a, ep) || !qname || !dns_ev_take(a)) {
		json_decref(answers);
		return;
	}
	pols = json_array();
	ctx_names(a, ep, &ec, id, sizeof(id), &ow);
	if (ep)
		pw_ep_pod(ep, pod, sizeof(pod));
	for (size_t i = 0; i < ec.n_policies; i++)
		json_array_append_new(pols, json_string(ec.policies[i]));
	clock_gettime(CLOCK_REALTIME, &rt);
	ec.wall_ns = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
	ev = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:o,s:s,s:s,s:s,s:s,s:o,s:s,s:o}", "id", id, "time",
		       pw_time_str(ec.wall_ns, t, sizeof(t)), "node", a->node, "namespace",
		       ec.namespace, "pod", ec.pod, "owner", pw_owner_json(ec.owner), "type", "dns",
		       "verdict", reason ? "drop" : "allow", "reason", pw_reason_name(reason),
		       "query", qname, "answers", answers ? answers : json_array(), "path", path,
		       "policies", pols);
	if (ev)
		store(a, ev, pod, reason, ec.wall_ns);
}

json_t *pw_events_query(struct pw_agent *a, const char *pod, int reason, uint64_t since_wall_ns)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->ev_count; i++) {
		struct pw_event_rec *r = &a->events[(a->ev_head + i) % a->o.events_keep];

		if ((pod && strcmp(pod, r->pod)) || (reason >= 0 && r->reason != reason) ||
		    r->wall_ns < since_wall_ns)
			continue;
		json_array_append_new(arr, pw_event_rec_json(a, r));
	}
	return arr;
}

int pw_events_follow(struct pw_agent *a, int fd, const char *pod, int reason)
{
	struct pw_follower *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->fd = fd;
	f->reason = reason;
	if (pod && !(f->pod = strdup(pod))) {
		free(f);
		return -ENOMEM;
	}
	f->next = a->followers;
	a->followers = f;
	return 0;
}

/* The records a previous agent kept, back into the ring. */
static void file_load(struct pw_agent *a)
{
	char path[512], *line = NULL;
	size_t cap = 0, n = 0;
	FILE *f;

	file_path(a, path, sizeof(path), "");
	f = fopen(path, "re");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		json_t *ev = json_loads(line, 0, NULL);
		const char *ns, *name, *rs, *t;
		uint64_t wall = 0;
		char pod[300];
		int reason;

		if (!json_is_object(ev)) {
			json_decref(ev);
			continue;
		}
		ns = json_string_value(json_object_get(ev, "namespace"));
		name = json_string_value(json_object_get(ev, "pod"));
		rs = json_string_value(json_object_get(ev, "reason"));
		t = json_string_value(json_object_get(ev, "time"));
		reason = rs ? pw_reason_from_name(rs) : -1;
		if (!t || pw_time_parse(t, &wall) || reason < 0) {
			json_decref(ev); /* not a record of ours: skipped */
			continue;
		}
		snprintf(pod, sizeof(pod), "%s/%s", ns ? ns : "?", name ? name : "?");
		line[strcspn(line, "\n")] = '\0';
		ring_put(a, line, pod, (uint8_t)reason, wall);
		json_decref(ev);
		n++;
	}
	free(line);
	fclose(f);
	if (n)
		pw_info("%zu events kept from before the restart (%s), %zu in the ring", n, path,
			a->ev_count);
}

int pw_events_open(struct pw_agent *a)
{
	struct timespec rt;
	char path[512];

	clock_gettime(CLOCK_REALTIME, &rt);
	snprintf(a->ev_prefix, sizeof(a->ev_prefix), "%llx",
		 (unsigned long long)rt.tv_sec * 1000ULL +
			 (unsigned long long)rt.tv_nsec / 1000000);
	if (a->o.node_name && *a->o.node_name)
		snprintf(a->node, sizeof(a->node), "%s", a->o.node_name);
	else if (gethostname(a->node, sizeof(a->node) - 1))
		snprintf(a->node, sizeof(a->node), "unknown");
	if (a->o.events_keep) {
		a->events = calloc(a->o.events_keep, sizeof(*a->events));
		if (!a->events)
			return -ENOMEM;
		file_load(a);
		/* Start the file again from the ring: bounded from the first line. */
		mkdir(a->o.state_dir, 0700);
		file_compact(a);
		if (!a->ev_file) {
			file_path(a, path, sizeof(path), "");
			pw_warn("cannot write %s: %s; events will not survive a restart", path,
				strerror(errno));
		}
	}
	a->rb = ring_buffer__new(a->bpf.events_fd, on_event, a, NULL);
	if (!a->rb) {
		pw_err("cannot open the pw_events ring buffer: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

void pw_events_close(struct pw_agent *a)
{
	ring_buffer__free(a->rb);
	a->rb = NULL;
	if (a->ev_file)
		fclose(a->ev_file);
	a->ev_file = NULL;
	for (size_t i = 0; i < a->ev_count; i++)
		free(a->events[(a->ev_head + i) % a->o.events_keep].pod);
	free(a->events);
	a->events = NULL;
	a->ev_count = 0;
	ev_zfree(a);
	while (a->followers) {
		struct pw_follower *f = a->followers;

		a->followers = f->next;
		close(f->fd);
		free(f->pod);
		free(f);
	}
}

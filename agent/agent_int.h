/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* State shared by the agent's modules (agent.c, sync.c, dnshold.c, events.c). */
#ifndef PODWALL_AGENT_INT_H
#define PODWALL_AGENT_INT_H

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "agent.h"
#include "bpfglue.h"
#include "endpoint.h"
#include "metrics_fmt.h"
#include "owner.h"
#include "guard.h"
#include "kube.h"
#include "policy.h"
#include "policyset.h"
#include "portsets.h"

struct ring_buffer;
struct pw_metrics;
struct perf_buffer;

/* A deny/audit record kept for the CLI: its pod, then its line (compact
 * JSON) deflated against a dictionary of the keys every record has (~150 B
 * of ~380; as jansson trees a full ring of 4,096 was 14 MiB), in one
 * allocation; inflated and parsed again when asked for. */
struct pw_event_rec {
	uint64_t wall_ns;
	char *pod;    /* "ns/name", NUL, then zlen bytes: the line deflated */
	uint32_t len; /* the line's length */
	uint32_t zlen;
	uint8_t reason;
};

/* A control-socket connection: one request line, one reply. */
struct pw_client {
	int fd;
	char *buf;
	size_t len, cap;
	json_t *deferred;     /* a cni_add waiting for the pod's policy (k8s mode) */
	uint64_t deferred_ns; /* when it started waiting */
	struct pw_client *next;
};

struct pw_follower {
	int fd;
	char *pod;  /* filter: "ns/name" or NULL */
	int reason; /* filter: enum pw_reason or -1 */
	struct pw_follower *next;
};

/* Agent-side counters (the kernel's are in pw_counters). */
/* What a reconcile found changed behind the agent's back (drift.c). */
enum pw_drift_kind { PW_DRIFT_ENDPOINT, PW_DRIFT_RULES, PW_DRIFT_PORTS, PW_DRIFT_MAX };

struct pw_agent_stats {
	uint64_t dns_samples, dns_learned, dns_released, dns_release_fail, dns_dropped_invalid,
		dns_dropped_learn, dns_not_allowed, dns_private, perf_lost, compile_errors,
		events_total;
	uint64_t dns_dropped_budget; /* held answers of a pod at its names/addresses cap */
	/* DNS-over-TCP answers over several segments (dnstcp.c): put together
	 * and handed to the hold path; not learned (held segment dropped, or a
	 * copy that fit nothing); dropped unfinished after their time. */
	uint64_t dns_tcp_reassembled, dns_tcp_lost, dns_tcp_expired;
	/* pw_learn_log records read (learnlog.c), addresses learned from them,
	 * addresses refused by the rules or the pod's budget, records of unknown
	 * endpoints and malformed ones (their entries put back). */
	uint64_t learnlog_records, learnlog_addrs, learnlog_refused, learnlog_budget,
		learnlog_unknown_ep, learnlog_invalid;
	uint64_t learnlog_kept; /* of learnlog_addrs: the kernel's entry was right, not rewritten */
	uint64_t dns_hold_hist[PW_HOLD_BUCKETS + 1]; /* released answers, by hold time */
	uint64_t dns_hold_sum_ns;
	/* Of dns_hold_sum_ns, by stage: from the kernel's copy to the agent's
	 * first look (the wake-up and the queue), the parse, the learning
	 * (pw_learned written), the release's sendto. */
	uint64_t dns_hold_stage_ns[4];
	uint64_t hook_repairs;		      /* hooks found wrong by a reconcile and put right */
	uint64_t drift_repairs[PW_DRIFT_MAX]; /* map entries put back by a reconcile */
};

struct pw_agent {
	struct pw_agent_opts o;
	struct pw_bpf bpf;
	struct pw_maps *maps;	      /* every map write: &bpf.maps, or a test's fake */
	struct pw_policyset policies; /* every source's policies and the merged view */
	struct pw_eps eps;	      /* the endpoint registry (endpoint.h) */
	struct pw_portsets portsets;  /* pw_ports as the agent knows it */

	int epfd, listen_fd, inotify_fd, timer_fd, drain_fd, signal_fd, pkt_fd;
	int pkt_gso_fd; /* the same with PACKET_VNET_HDR: GSO answers (dnshold.c) */
	struct ring_buffer *rb;
	struct ring_buffer *learn_rb; /* pw_learn_log (learnlog.c) */
	bool learn_ok;		      /* every endpoint has its rules: read pw_learn_log */
	uint64_t learned_wr_ns;	      /* the agent's last write or delete in pw_learned */
	struct perf_buffer *pb;
	struct pw_dnstcp *dnstcp; /* TCP answers being put together (dnstcp.c) */

	struct pw_event_rec *events;	  /* ring of o.events_keep */
	struct z_stream_s *ev_zd, *ev_zi; /* its deflate and inflate streams */
	size_t ev_head, ev_count;
	uint64_t ev_seq;     /* records made since start: the id's second half */
	char ev_prefix[24];  /* the id's first half: the agent's start time */
	char node[256];	     /* --node-name, or the host name */
	FILE *ev_file;	     /* <state-dir>/events.jsonl: the ring across restarts */
	uint64_t dns_ev_sec; /* --events-dns budget: the current second, used */
	uint32_t dns_ev_used;
	size_t ev_file_lines;
	struct pw_follower *followers;
	struct pw_client *clients;

	struct pw_agent_stats st;
	uint64_t start_ns, last_gc_ns, last_reconcile_ns, last_flush_ns;
	uint64_t gc_flows_ns, gc_pending_ns, gc_maps_ns; /* last whole-map walks */
	bool stop;
	struct pw_metrics *metrics; /* metrics.c: the HTTP listeners */
	bool ready;		    /* first policy load and endpoint sync done */
	/* The heartbeat thread writes pw_config while the loop makes progress. */
	pthread_t hb_thread;
	bool hb_running;
	atomic_bool hb_stop;
	pthread_mutex_t cfg_lock;     /* pw_config writes, next_ep_id */
	_Atomic uint64_t progress_ns; /* the loop's last sign of life */
	bool dirty;		      /* policies or labels changed: sync every endpoint */
	struct pw_kube kube;	      /* kube.c: the API client and what it found */
	struct pw_kstatus *kstatus;   /* kstatus.c: EgressPolicy status, Lease, Events */
	int conflist_wd;	      /* inotify watch on the conflist's directory, or -1 */
	struct pw_guard guard;	      /* the rebinding guard, as written to pw_guard4/6 */
	bool guard_written;
	size_t guard_skipped; /* API prefixes left out (malformed, or past PW_MAX_GUARD) */
	size_t guard_kept;    /* pinned prefixes kept until the first API sync */
};

/* sync.c: the maps as the agent wants them. */
int pw_sync_ep(struct pw_agent *a, struct pw_ep *ep); /* compile + write */
/* The pw_endpoint flags endpoint_write() sets: the endpoint's own (PW_EP_HAS_*)
 * and, for a selected pod whose policies ask for it, PW_EP_VIS_ALLOWED. */
uint8_t pw_sync_ep_flags(const struct pw_ep *ep, uint8_t mode);
int pw_sync_all(struct pw_agent *a);			     /* every endpoint */
int pw_sync_remove_ep(struct pw_agent *a, struct pw_ep *ep); /* unmanage + delete */
int pw_sync_learned_addr(struct pw_agent *a, struct pw_ep *ep, uint8_t family,
			 const union pw_ip *ip);
/* The same, but no write when have, what the kernel wrote at have_ns (a
 * pw_learn_rec), is the entry the agent's state gives and the agent wrote no
 * entry of pw_learned since (learned_wr_ns), or, have NULL, when the map's
 * entry already holds exactly the value the agent would write: 1 then. */
int pw_sync_learned_addr_if(struct pw_agent *a, struct pw_ep *ep, uint8_t family,
			    const union pw_ip *ip, const struct pw_learned_val *have,
			    uint64_t have_ns);
int pw_sync_resolvers(struct pw_agent *a);
void pw_sync_node_macs(const char *host_ifname, uint8_t node_mac[6], uint8_t veth_mac[6]);
void pw_sync_gc(struct pw_agent *a, uint64_t now, bool full); /* expiry, idle flows, portsets */

/* guard.c: the rebinding guard (podwall/guard.h). Rebuild the table (options,
 * node interfaces, the API) and write the maps if it changed. */
int pw_guard_sync(struct pw_agent *a);
/* The guard kind that keeps qname's answer addr from being learned by a rule
 * without allowPrivate, or PW_G_EXEMPT (cluster-domain names never are). */
uint8_t pw_guard_refuses(const struct pw_agent *a, const char *qname, uint8_t family,
			 const union pw_ip *addr);
/* The table for `podwall status`: {prefixes: [{prefix, kind, source}], ...}. */
json_t *pw_guard_json(const struct pw_agent *a);

/* dnshold.c */
int pw_dnshold_open(struct pw_agent *a);
void pw_dnshold_close(struct pw_agent *a);
/* What one held answer needs from outside the agent's state; the real one
 * sends on the release socket and emits an event, tests record. */
struct pw_hold_io {
	/* Put frame (checksum already fixed) back on m->ifindex: 0 or -errno. */
	int (*release)(void *ctx, const struct pw_dns_meta *m, const uint8_t *frame, size_t len);
	/* The answer is dropped for reason (why: the detail; qname may be NULL). */
	void (*drop)(void *ctx, const struct pw_ep *ep, uint8_t reason, const struct pw_dns_meta *m,
		     const char *qname, const char *why);
	void *ctx;
};
/* One held answer (a pw_dns_cap sample: struct pw_dns_meta, then the frame):
 * parse it, check it against the recorded query, learn (pw_learned written
 * through a->maps), and only then release it; drop it (io->drop) when any
 * step fails. */
void pw_dnshold_step(struct pw_agent *a, const void *data, size_t size,
		     const struct pw_hold_io *io);

/* dnstcp.c: a segment of a DNS-over-TCP answer over several (m->tcp_msg_len
 * set; *frame its malloc'd frame). 0: the message is whole: *m, *frame and
 * *l4_off are now the held segment's (the old frame freed), *msg (the caller
 * frees) = *payload, *plen the message. 1: nothing to do (kept for the rest of
 * its message, or not learnable: then dropped here with an event). */
int pw_dnstcp_take(struct pw_agent *a, const struct pw_hold_io *io, struct pw_dns_meta *m,
		   uint8_t **frame, uint8_t **msg, const uint8_t **payload, size_t *plen,
		   size_t *l4_off);
/* Drop what was not whole in time (the agent's timer). */
void pw_dnstcp_tick(struct pw_agent *a);
void pw_dnstcp_close(struct pw_agent *a);

/* learnlog.c: what pod_ingress learned inline (pw_learn_log). The kernel
 * wakes the agent for a record only when the log is filling (learn.bpf.h,
 * LEARN_LOG_WAKE): the agent reads it every PW_AGENT_DRAIN_MS (drain_fd), and
 * first thing before the other rings, a client's request and a sweep. */
#define PW_AGENT_DRAIN_MS 100
int pw_learnlog_open(struct pw_agent *a);
void pw_learnlog_close(struct pw_agent *a);
/* Read every record in the ring now (before a walk of pw_learned that deletes
 * what the agent's state does not account for). */
void pw_learnlog_drain(struct pw_agent *a);
/* One record (struct pw_learn_rec): into the endpoint's state, or its
 * entries put back (deleted) when the agent would not learn them. */
void pw_learnlog_step(struct pw_agent *a, const void *data, size_t size);
/* Rewrite pw_ep_learn (gone, quota) of the endpoints whose count changed. */
void pw_learnlog_counts(struct pw_agent *a);

/* events.c */
int pw_events_open(struct pw_agent *a);
void pw_events_close(struct pw_agent *a);
/* An agent-side deny (DNS answer dropped) in the same form as the kernel's. */
/* drift.c: compare the maps with the agent's state, repair and count. */
void pw_drift_check(struct pw_agent *a);

/* A hook of ep found not podwall's first by a reconcile: repaired or not. */
void pw_events_emit_hook(struct pw_agent *a, const struct pw_ep *ep, bool repaired,
			 const char *what);
void pw_events_emit_agent(struct pw_agent *a, const struct pw_ep *ep, uint8_t reason,
			  uint8_t family, const union pw_ip *resolver, uint16_t pod_port,
			  const char *qname, const char *why);
/* An answer address the rebinding guard kept from being learned (kind
 * PW_G_MAX: a ClusterEgressPolicy deny range holds it). */
void pw_events_emit_private(struct pw_agent *a, const struct pw_ep *ep, const char *qname,
			    uint8_t family, const union pw_ip *addr, uint8_t kind);
/* A DNS lookup record (--events-dns): the name, the answer's addresses and
 * the path it took: "held" (the agent learned it, then released the answer),
 * "kernel" (learned in the data path), "refused" (a name no rule grants,
 * answered REFUSED in the kernel), "passed" (released, nothing learned).
 * verdict "allow" or "drop" (with reason). For every pod with --events-dns N,
 * or for the pods whose policies have `visibility: [dns]`; bounded: N a second
 * on the node (PW_EVENTS_DNS_VISIBILITY without --events-dns). */
#define PW_EVENTS_DNS_VISIBILITY 100
bool pw_events_dns_wanted(const struct pw_agent *a, const struct pw_ep *ep);
/* Room in this second's budget of DNS lookup records (none is taken). */
bool pw_events_dns_room(const struct pw_agent *a);
void pw_events_emit_dns(struct pw_agent *a, const struct pw_ep *ep, const char *qname,
			json_t *answers, const char *path, uint8_t reason);
/* A kept record (a->events) as the object it was; NULL if it cannot be had. */
json_t *pw_event_rec_json(struct pw_agent *a, const struct pw_event_rec *r);
json_t *pw_events_query(struct pw_agent *a, const char *pod, int reason, uint64_t since_wall_ns);
int pw_events_follow(struct pw_agent *a, int fd, const char *pod, int reason);

/* kstatus.c: write what the agent did with each EgressPolicy to its status. */
int pw_kstatus_start(struct pw_agent *a);
void pw_kstatus_tick(struct pw_agent *a);
void pw_kstatus_stop(struct pw_agent *a);
bool pw_kstatus_leader(const struct pw_agent *a);
/* A pod of this node the agent cannot enforce, seen (again) now: reason
 * "PodNotEnforced" or "HookConflict", msg what and what to do. A Warning Event
 * on the pod after a grace (at_once: none), then its count raised. */
void pw_kstatus_pod_problem(struct pw_agent *a, const char *ns, const char *name,
			    const char *reason, const char *msg, bool at_once);

/* metrics.c: Prometheus text and probes over HTTP (libmicrohttpd), run from
 * the agent's own loop so it reads agent state without locks. */
struct sockaddr_storage;
/* Returns an fd to poll, or -EINVAL for a bad address. A listener that cannot
 * bind is retried from pw_metrics_run, never an error. */
int pw_metrics_start(struct pw_agent *a);
void pw_metrics_run(struct pw_agent *a); /* on the fd, and from the 1 s timer */
/* true when every configured listener is up; *down: how many are not. */
bool pw_metrics_serving(struct pw_agent *a, unsigned *down);
int pw_metrics_parse_addr(const char *s, struct sockaddr_storage *ss);
void pw_metrics_stop(struct pw_agent *a);

/* agent.c */
json_t *pw_agent_counters_json(struct pw_agent *a);

/* The maps whose fill level status and metrics report. */
struct pw_map_ref {
	const char *name;
	int fd;
	long max;
	int shown;
};
#define PW_MAP_SHOWN(name, key, value, max, shown) +(shown)
#define PW_AGENT_MAPS				   (0 PW_MAPS(PW_MAP_SHOWN))
void pw_agent_maps(const struct pw_agent *a, struct pw_map_ref out[PW_AGENT_MAPS]);

#endif

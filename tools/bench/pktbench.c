// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pktbench: per-packet cost of podwall's pod_egress, measured with
 * BPF_PROG_TEST_RUN (repeat >= 1,000,000) on the real object (the generated
 * skeleton), at several sizes of the learned-address map.
 *
 * Paths, each a TCP SYN from the pod (10.42.0.7) to port 443:
 *   floor        an empty TC program: what test_run's own loop costs
 *   unmanaged    ifindex not in pw_endpoints (a veth podwall-cni never saw)
 *   open         a pod no policy selects (PW_MODE_OPEN: source check only)
 *   flow_hit     an allowed connection's next packet (pw_flows hit)
 *   learned_1st_same  first packet of a new connection to one learned
 *                hostname address (new source port each time): flow miss,
 *                pw_learned hit, port check, flow insert
 *   learned_1st  the same, each connection to a different learned address
 *                (scattered over all of them: the table's cache misses count)
 *   cidr_1st     first packet to an address under a CIDR rule: flow miss,
 *                pw_learned miss, pw_cidr4 hit, port check, flow insert
 *   deny         first packet to an address no rule grants: every lookup
 *                misses, counters, rate-limited event
 *   cal_*        calibration, net of the floor: one bpf_ktime_get_ns() call,
 *                one hash-map lookup (what a helper call costs here)
 *
 * The first-packet paths and deny run through pktvary (pktvary.bpf.c), which
 * rewrites the destination and source port on every iteration and then
 * tail-calls pod_egress, so every iteration is a real flow miss on a different
 * allow-map entry (cache behaviour grows with the map, as on a real node). Its
 * own cost, measured as (pktvary -> pod_egress on the unmanaged path) minus
 * (pod_egress on the unmanaged path), is subtracted; both figures are printed.
 *
 * Runs in a private network namespace with a veth pair (test_run resolves
 * ctx->ifindex in the caller's namespace); every map is unpinned. Prints one
 * JSON object per line on stdout.
 *
 * usage: pktbench [--repeat N] [--runs N] [--sizes A,B,C] [--paths P,..]
 *                 [--flows-max N] [--at-share] [-v]
 *
 * readmit_1st: a mid-stream TCP ACK whose flow is gone (evicted), re-admitted by
 * the rules and recorded again. The pod's share of pw_flows is unlimited, so
 * that every first packet inserts (and evicts) as before shares existed;
 * --at-share keeps the share as shipped (PW_FLOW_QUOTA): the warm-up leaves the
 * pod at it, and the first-packet paths (named *_at_share) record nothing.
 *
 * --flows-max is a diagnostic: pw_flows resized (before load) so that the flow
 * table stays in cache, which separates the cost of the code path from the
 * cost of cache misses in a full 131,072-flow table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "podwall/maps.h"
#include "podwall.skel.h"
#include "pktvary.skel.h"

#define POD_IP	     0x0a2a0007u /* 10.42.0.7 */
#define EP_ID	     7
#define PORTSET_443  1
#define PORTSET_WIDE 2		 /* 443 and 8000-8015: learned_1st_same cycles the port */
#define LEARNED_BASE 0x64400000u /* 100.64.0.0/10: keys only, never on a wire */
#define CIDR_BASE    0xc6336400u /* 198.51.100.0/24 */
#define DENY_BASE    0x647f0000u /* 100.127.0.0/16 */
#define DENY_COUNT   65536
#define OTHER_EPS    109
#define STRIDE	     2654435761u
#define MAX_RUNS     64
#define MAX_SIZES    8
#define MIN_REPEAT   1000000
#define IF_LO	     1 /* test_run's loopback: an ifindex with no endpoint */

enum path {
	P_FLOOR,
	P_UNMANAGED,
	P_OPEN,
	P_WRAP,
	P_FLOW_HIT,
	P_LEARNED_SAME,
	P_LEARNED,
	P_CIDR,
	P_DENY,
	P_READMIT,
	P_CAL_KTIME,
	P_CAL_LOOKUP,
	P_MAX
};

static const char *path_name[P_MAX] = {
    [P_FLOOR] = "floor",
    [P_UNMANAGED] = "unmanaged",
    [P_OPEN] = "open",
    [P_WRAP] = "pktvary_overhead",
    [P_FLOW_HIT] = "flow_hit",
    [P_LEARNED_SAME] = "learned_1st_same",
    [P_LEARNED] = "learned_1st",
    [P_CIDR] = "cidr_1st",
    [P_CAL_KTIME] = "cal_ktime_call",
    [P_CAL_LOOKUP] = "cal_hash_lookup",
    [P_DENY] = "deny",
    [P_READMIT] = "readmit_1st",
};

static struct {
	struct podwall_bpf *pw;
	struct pktvary_bpf *pv;
	int if_pod, if_other;
	int ncpus;
	bool verbose;
	unsigned int paths; /* bit per enum path; the calibration paths always run */
	__u32 flows_max;    /* diagnostic: resize pw_flows before load (0: as shipped) */
	__u32 repeat;
	int runs;
	bool at_share; /* the pod's share of pw_flows as shipped (else unlimited) */
	bool ack;      /* frame(): a mid-stream ACK, not a SYN */
} B;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !B.verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pktbench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static int mfd(const struct bpf_map *m)
{
	return bpf_map__fd(m);
}

static void setup_netns(void)
{
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET): %s (run as root)", strerror(errno));
	if (system("ip link add pwb0 type veth peer name pwb1 >/dev/null 2>&1"))
		die("cannot make a veth pair in the private namespace");
	B.if_pod = (int)if_nametoindex("pwb0");
	B.if_other = (int)if_nametoindex("pwb1");
	if (!B.if_pod || !B.if_other)
		die("veth pair has no ifindex");
}

static void load(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = "/sys/fs/bpf/pktbench-unused");
	struct bpf_map *m;
	__u32 zero = 0;
	int fd;

	B.pw = podwall_bpf__open_opts(&oo);
	if (!B.pw)
		die("open podwall object: %s", strerror(errno));
	bpf_object__for_each_map(m, B.pw->obj) if (bpf_map__set_pin_path(m, NULL))
	    die("unpin %s", bpf_map__name(m));
	if (B.flows_max && bpf_map__set_max_entries(B.pw->maps.pw_flows, B.flows_max))
		die("resize pw_flows");
	if (podwall_bpf__load(B.pw))
		die("load podwall object (-v for the verifier log)");
	B.pv = pktvary_bpf__open_and_load();
	if (!B.pv)
		die("load pktvary object");
	fd = bpf_program__fd(B.pw->progs.pod_egress);
	if (bpf_map_update_elem(mfd(B.pv->maps.pv_next), &zero, &fd, BPF_ANY))
		die("pv_next: %s", strerror(errno));
	{
		__u32 one = 1;
		__u64 v = 1;

		if (bpf_map_update_elem(mfd(B.pv->maps.pv_hash), &one, &v, BPF_ANY))
			die("pv_hash: %s", strerror(errno));
	}
}

/* The state an agent would write: config, resolver, port set, endpoints with
 * their stats slots, a few CIDR rules each. */
static void seed(void)
{
	struct pw_config cfg = {
	    .heartbeat_ns = 0,
	    .agent_timeout_ns = 3000000000ULL,
	    .release_mark = 0x70770001,
	    .flags = PW_CFG_HOLD_DNS,
	    .events_per_sec = 100,
	    .events_burst = 200,
	};
	struct pw_portset ps = {.count = 1, .r = {{.lo = 443, .hi = 443, .proto = IPPROTO_TCP}}};
	struct pw_addr_key rk = {.family = PW_FAMILY_V4};
	__u32 resolver = htonl(0x0a2a0002);
	struct pw_cidr_val cv = {.portset = PORTSET_443};
	size_t stsz = ((sizeof(struct pw_ep_stats) + 7) & ~7ul) * (size_t)B.ncpus;
	void *st = calloc(1, stsz);
	struct pw_portset ps2 = {.count = 2,
				 .r = {{.lo = 443, .hi = 443, .proto = IPPROTO_TCP},
				       {.lo = 8000, .hi = 8015, .proto = IPPROTO_TCP}}};
	__u32 zero = 0, one = 1, id = PORTSET_443, id2 = PORTSET_WIDE;

	if (!st)
		die("out of memory");
	memcpy(&rk.addr, &resolver, 4);
	if (bpf_map_update_elem(mfd(B.pw->maps.pw_config), &zero, &cfg, BPF_ANY) ||
	    bpf_map_update_elem(mfd(B.pw->maps.pw_resolvers), &rk, &one, BPF_ANY) ||
	    bpf_map_update_elem(mfd(B.pw->maps.pw_ports), &id, &ps, BPF_ANY) ||
	    bpf_map_update_elem(mfd(B.pw->maps.pw_ports), &id2, &ps2, BPF_ANY))
		die("seed config/resolvers/ports: %s", strerror(errno));
	for (int i = 0; i <= OTHER_EPS + 1; i++) {
		/* 0: the enforced pod; 1: a pod no policy selects (open mode) on
		 * the other veth; the rest: other enforced pods on this node. */
		__u32 ifx = i == 0   ? (__u32)B.if_pod
			    : i == 1 ? (__u32)B.if_other
				     : 10000u + (__u32)i;
		__u32 ip4 = htonl(i == 0 ? POD_IP : 0x0a2b0000u + (__u32)i);
		struct pw_endpoint ep;
		struct pw_cidr4_key ck;
		__u32 a;

		memset(&ep, 0, sizeof(ep));
		ep.ep_id = i == 0 ? EP_ID : 100u + (__u32)i;
		ep.policy_gen = 1;
		ep.mode = i == 1 ? PW_MODE_OPEN : PW_MODE_ENFORCE;
		ep.flags = PW_EP_HAS_V4;
		memcpy(&ep.ip4, &ip4, 4);
		if (bpf_map_update_elem(mfd(B.pw->maps.pw_endpoints), &ifx, &ep, BPF_ANY) ||
		    bpf_map_update_elem(mfd(B.pw->maps.pw_ep_stats), &ep.ep_id, st, BPF_ANY))
			die("seed endpoint: %s", strerror(errno));
		if (i == 1)
			continue;
		/* 198.51.100.0/24, 203.0.113.0/24, 192.0.2.0/25 for every enforced pod */
		for (int j = 0; j < 3; j++) {
			static const __u32 net[3] = {CIDR_BASE, 0xcb007100u, 0xc0000200u};

			memset(&ck, 0, sizeof(ck));
			ck.prefixlen = 32 + (j == 2 ? 25 : 24);
			ck.ep_id = ep.ep_id;
			a = htonl(net[j]);
			memcpy(&ck.addr, &a, 4);
			if (bpf_map_update_elem(mfd(B.pw->maps.pw_cidr4), &ck, &cv, BPF_ANY))
				die("seed cidr: %s", strerror(errno));
		}
	}
	free(st);
	/* The pod's share of pw_flows: unlimited unless --at-share, so that the
	 * first-packet paths insert (and evict) as before shares existed. */
	if (!B.at_share) {
		struct pw_ep_flows share = {.quota = UINT32_MAX};
		__u32 ep = EP_ID;

		if (bpf_map_update_elem(mfd(B.pw->maps.pw_ep_flows), &ep, &share, BPF_ANY))
			die("seed pw_ep_flows: %s", strerror(errno));
	}
}

/* Grow pw_learned to n entries, all of this endpoint (the lookups of the
 * first-packet path then spread over the whole table). */
static void learned_fill(__u32 *have, __u32 n)
{
	enum { CHUNK = 8192 };
	static struct pw_learned_key keys[CHUNK];
	static struct pw_learned_val vals[CHUNK];
	LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);

	while (*have < n) {
		__u32 a, cnt = n - *have < CHUNK ? n - *have : CHUNK;

		for (__u32 i = 0; i < cnt; i++) {
			memset(&keys[i], 0, sizeof(keys[i]));
			keys[i].ep_id = EP_ID;
			keys[i].family = PW_FAMILY_V4;
			a = htonl(LEARNED_BASE + *have + i);
			memcpy(&keys[i].addr, &a, 4);
			vals[i].expires_ns = UINT64_MAX >> 1;
			vals[i].portset = *have + i == 3 ? PORTSET_WIDE : PORTSET_443;
			vals[i].pad = 0;
		}
		if (bpf_map_update_batch(mfd(B.pw->maps.pw_learned), keys, vals, &cnt, &bo))
			die("pw_learned batch update at %u: %s", *have, strerror(errno));
		*have += cnt;
	}
}

/* A TCP SYN (B.ack: an ACK) from the pod; destination and ports as given (host order). */
static size_t frame(__u8 *buf, __u32 dst, __u16 sport, __u16 dport, __u32 src)
{
	struct ethhdr *eth = (void *)buf;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *th = (void *)(ip + 1);
	size_t len = sizeof(*eth) + sizeof(*ip) + sizeof(*th);

	memset(buf, 0, len);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x07", 6);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*th));
	ip->saddr = htonl(src);
	ip->daddr = htonl(dst);
	th->source = htons(sport);
	th->dest = htons(dport);
	th->doff = 5;
	th->syn = !B.ack;
	th->ack = B.ack;
	th->window = htons(64240);
	return len;
}

static __u64 counter(enum pw_counter c)
{
	__u64 *v = calloc((size_t)B.ncpus, sizeof(*v)), sum = 0;
	__u32 k = c;

	if (!v || bpf_map_lookup_elem(mfd(B.pw->maps.pw_counters), &k, v))
		die("pw_counters: %s", strerror(errno));
	for (int i = 0; i < B.ncpus; i++)
		sum += v[i];
	free(v);
	return sum;
}

/* One test_run of `repeat` iterations; returns the kernel's ns per iteration. */
static __u32 run(int prog_fd, int ifindex, const __u8 *pkt, size_t len, __u32 repeat,
		 int want_verdict)
{
	struct __sk_buff ctx;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);

	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = (__u32)ifindex;
	if (bpf_prog_test_run_opts(prog_fd, &o))
		die("bpf_prog_test_run_opts: %s", strerror(errno));
	if ((int)o.retval != want_verdict)
		die("unexpected verdict %d (want %d)", (int)o.retval, want_verdict);
	return o.duration;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static double median(const __u32 *v, int n)
{
	__u32 s[MAX_RUNS];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_u32);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

#define WANT(p) (!!(B.paths & (1u << (p))))
#define CALIBRATION                                                                                \
	((1u << P_FLOOR) | (1u << P_UNMANAGED) | (1u << P_WRAP) | (1u << P_CAL_KTIME) |            \
	 (1u << P_CAL_LOOKUP))

static void vary_ports(__u32 lo, __u32 count)
{
	B.pv->bss->pv_dport_lo = lo;
	B.pv->bss->pv_dport_count = count;
}

static void vary(__u32 base, __u32 count)
{
	vary_ports(0, 0);
	B.pv->bss->pv_addr_base = base;
	B.pv->bss->pv_addr_count = count;
	B.pv->bss->pv_stride = STRIDE;
}

static void bench_size(__u32 size)
{
	int egress = bpf_program__fd(B.pw->progs.pod_egress);
	int varyp = bpf_program__fd(B.pv->progs.pv_vary);
	int empty = bpf_program__fd(B.pv->progs.pv_empty);
	__u32 ns[P_MAX][MAX_RUNS];
	__u64 c0[3], c1[3];
	__u8 pkt[128];
	size_t len;
	double wrap, floor_med;

	/* The allowed connection of flow_hit exists before timing. */
	len = frame(pkt, CIDR_BASE + 10, 40000, 443, POD_IP);
	run(egress, B.if_pod, pkt, len, 1, TC_ACT_UNSPEC);

	/* Warm-up, untimed: the flow table reaches its steady state (full, every
	 * new flow evicting the least recently used one) before the first run. */
	if (WANT(P_LEARNED) || WANT(P_LEARNED_SAME) || WANT(P_CIDR) || WANT(P_READMIT)) {
		vary(CIDR_BASE, 256);
		run(varyp, B.if_pod, pkt, len, B.flows_max ? 4 * B.flows_max : 2 * PW_MAX_FLOWS,
		    TC_ACT_UNSPEC);
		run(egress, B.if_pod, pkt, len, 1, TC_ACT_UNSPEC);
	}
	c0[0] = counter(PW_C_PASS_FLOW);
	c0[1] = counter(PW_C_PASS_LEARNED);
	c0[2] = counter(PW_C_PASS_CIDR);
	for (int r = 0; r < B.runs; r++) {
		len = frame(pkt, CIDR_BASE + 10, 40000, 443, POD_IP);
		ns[P_FLOOR][r] = run(empty, IF_LO, pkt, len, B.repeat, TC_ACT_OK);
		ns[P_UNMANAGED][r] = run(egress, IF_LO, pkt, len, B.repeat, TC_ACT_UNSPEC);
		vary(0, 0);
		ns[P_WRAP][r] = run(varyp, IF_LO, pkt, len, B.repeat, TC_ACT_UNSPEC);
		ns[P_CAL_KTIME][r] = run(bpf_program__fd(B.pv->progs.pv_ktime), IF_LO, pkt, len,
					 B.repeat, TC_ACT_OK);
		ns[P_CAL_LOOKUP][r] = run(bpf_program__fd(B.pv->progs.pv_lookup), IF_LO, pkt, len,
					  B.repeat, TC_ACT_OK);
		if (WANT(P_OPEN)) {
			len = frame(pkt, CIDR_BASE + 10, 40000, 443, 0x0a2b0001u);
			ns[P_OPEN][r] = run(egress, B.if_other, pkt, len, B.repeat, TC_ACT_UNSPEC);
			len = frame(pkt, CIDR_BASE + 10, 40000, 443, POD_IP);
		}
		if (WANT(P_FLOW_HIT))
			ns[P_FLOW_HIT][r] = run(egress, B.if_pod, pkt, len, B.repeat, TC_ACT_UNSPEC);
		if (WANT(P_LEARNED_SAME)) {
			len = frame(pkt, LEARNED_BASE + 3, 40000, 8000, POD_IP);
			vary(0, 0);
			vary_ports(8000, 16);
			ns[P_LEARNED_SAME][r] = run(varyp, B.if_pod, pkt, len, B.repeat, TC_ACT_UNSPEC);
			len = frame(pkt, CIDR_BASE + 10, 40000, 443, POD_IP);
		}
		if (WANT(P_LEARNED)) {
			vary(LEARNED_BASE, size);
			ns[P_LEARNED][r] = run(varyp, B.if_pod, pkt, len, B.repeat, TC_ACT_UNSPEC);
		}
		if (WANT(P_CIDR)) {
			vary(CIDR_BASE, 256);
			ns[P_CIDR][r] = run(varyp, B.if_pod, pkt, len, B.repeat, TC_ACT_UNSPEC);
		}
		if (WANT(P_DENY)) {
			vary(DENY_BASE, DENY_COUNT);
			ns[P_DENY][r] = run(varyp, B.if_pod, pkt, len, B.repeat, TC_ACT_SHOT);
		}
		if (WANT(P_READMIT)) {
			/* mid-stream segments whose flows are gone (evicted) */
			B.ack = true;
			len = frame(pkt, CIDR_BASE + 10, 40000, 443, POD_IP);
			vary(CIDR_BASE, 256);
			ns[P_READMIT][r] = run(varyp, B.if_pod, pkt, len, B.repeat, TC_ACT_UNSPEC);
			B.ack = false;
			len = frame(pkt, CIDR_BASE + 10, 40000, 443, POD_IP);
		}
	}
	c1[0] = counter(PW_C_PASS_FLOW);
	c1[1] = counter(PW_C_PASS_LEARNED);
	c1[2] = counter(PW_C_PASS_CIDR);

	floor_med = median(ns[P_FLOOR], B.runs);
	wrap = median(ns[P_WRAP], B.runs) - median(ns[P_UNMANAGED], B.runs);
	if (wrap < 0)
		wrap = 0;
	for (int p = 0; p < P_MAX; p++) {
		bool wrapped = p == P_LEARNED || p == P_LEARNED_SAME || p == P_CIDR || p == P_DENY ||
			       p == P_READMIT;

		if (!WANT(p))
			continue;
		double net[MAX_RUNS], mn = 1e18, mx = 0, med;

		printf("{\"arm\":\"pkt\",\"path\":\"%s%s\",\"learned\":%u,\"flows_max\":%u,"
		       "\"repeat\":%u,\"raw_ns\":[",
		       path_name[p], B.at_share && wrapped ? "_at_share" : "", size, B.flows_max,
		       B.repeat);
		for (int r = 0; r < B.runs; r++)
			printf("%s%u", r ? "," : "", ns[p][r]);
		printf("],\"ns\":[");
		for (int r = 0; r < B.runs; r++) {
			net[r] = p == P_WRAP ? ns[p][r] - median(ns[P_UNMANAGED], B.runs)
				 : p == P_CAL_KTIME || p == P_CAL_LOOKUP
				     ? ns[p][r] - floor_med
				     : ns[p][r] - (wrapped ? wrap : 0);
			printf("%s%.1f", r ? "," : "", net[r]);
			if (net[r] < mn)
				mn = net[r];
			if (net[r] > mx)
				mx = net[r];
		}
		med = median(ns[p], B.runs) - (wrapped ? wrap : 0);
		if (p == P_WRAP)
			med = wrap;
		if (p == P_CAL_KTIME || p == P_CAL_LOOKUP)
			med = median(ns[p], B.runs) - floor_med;
		printf("],\"median\":%.1f,\"min\":%.1f,\"max\":%.1f,\"wrapper_ns\":%.1f}\n", med,
		       mn, mx, wrapped ? wrap : 0.0);
	}
	/* Did every first-packet iteration miss the flow table? Flow passes
	 * beyond flow_hit's own (plus one per run when LRU evicted its flow)
	 * are first packets that hit an old flow instead. */
	{
		long long each = (long long)B.runs * B.repeat;
		long long flow = (long long)(c1[0] - c0[0]) - (WANT(P_FLOW_HIT) ? each : 0);
		long long lrn = (long long)(c1[1] - c0[1]);
		long long lrn_want = each * (WANT(P_LEARNED) + WANT(P_LEARNED_SAME));

		printf("{\"arm\":\"pkt\",\"check\":\"misses\",\"learned\":%u,\"flows_max\":%u,"
		       "\"flow_pass_extra\":%lld,\"learned_pass\":%lld,\"learned_want\":%lld,"
		       "\"cidr_pass\":%llu,\"cidr_want\":%lld}\n",
		       size, B.flows_max, flow, lrn, lrn_want, (unsigned long long)(c1[2] - c0[2]),
		       WANT(P_CIDR) ? each : 0);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"repeat", required_argument, NULL, 'r'},
	    {"runs", required_argument, NULL, 'n'},
	    {"sizes", required_argument, NULL, 's'},
	    {"paths", required_argument, NULL, 'p'},
	    {"flows-max", required_argument, NULL, 'f'},
	    {"at-share", no_argument, NULL, 'a'},
	    {"verbose", no_argument, NULL, 'v'},
	    {},
	};
	__u32 sizes[MAX_SIZES] = {10, 10000, 1000000}, have = 0;
	int nsizes = 3, c;

	B.repeat = MIN_REPEAT;
	B.paths = (1u << P_MAX) - 1;
	B.runs = 5;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			B.repeat = (__u32)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			B.runs = atoi(optarg);
			break;
		case 's': {
			char *s = optarg, *end;

			for (nsizes = 0; *s && nsizes < MAX_SIZES; nsizes++) {
				sizes[nsizes] = (__u32)strtoul(s, &end, 10);
				s = *end == ',' ? end + 1 : end;
				if (end == s && *s)
					die("--sizes: bad list");
			}
			break;
		}
		case 'p': {
			char *list = strdup(optarg), *save = NULL, *tok;

			B.paths = CALIBRATION;
			for (tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				int p;

				for (p = 0; p < P_MAX && strcmp(tok, path_name[p]); p++)
					;
				if (p == P_MAX)
					die("--paths: unknown path %s", tok);
				B.paths |= 1u << p;
			}
			free(list);
			break;
		}
		case 'f':
			B.flows_max = (__u32)strtoul(optarg, NULL, 10);
			break;
		case 'a':
			B.at_share = true;
			break;
		case 'v':
			B.verbose = true;
			break;
		default:
			fprintf(stderr, "usage: pktbench [--repeat N] [--runs N] [--sizes A,B,C] "
					"[--paths P,..]\n"
					"                [--flows-max N] [--at-share] [-v]\n");
			return 2;
		}
	}
	if (B.runs < 1 || B.runs > MAX_RUNS)
		die("--runs must be 1..%d", MAX_RUNS);
	if (B.repeat < 1)
		die("--repeat must be positive");
	for (int i = 0; i < nsizes; i++)
		if (sizes[i] > PW_MAX_LEARNED || (i && sizes[i] < sizes[i - 1]))
			die("--sizes must grow and stay within %d", PW_MAX_LEARNED);
	libbpf_set_print(print_fn);
	B.ncpus = libbpf_num_possible_cpus();
	if (B.ncpus <= 0)
		die("cannot count CPUs");
	setup_netns();
	load();
	seed();
	for (int i = 0; i < nsizes; i++) {
		learned_fill(&have, sizes[i]);
		bench_size(sizes[i]);
	}
	pktvary_bpf__destroy(B.pv);
	podwall_bpf__destroy(B.pw);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * hookbench: what owning the hook costs. In a private network namespace with
 * N veth pairs (some with the bandwidth plugin's `ingress` qdisc and u32
 * redirect, as egress shaping leaves them), time pw_bpf_attach() per veth and
 * one reconcile pass (pw_bpf_verify() with repair on every veth), for the tcx
 * and the legacy tc path; then a whole reconcile as the agent's loop makes it
 * (each endpoint's veth looked up and its hooks checked, then the drift check
 * of pw_endpoints, pw_cidr4/6 and pw_ports: agent/drift.c) with one endpoint a
 * veth, each synced by the agent's own code (agent/sync.c) under a policy of
 * CIDR rules with ports and hostname rules. Maps are pinned in a private
 * directory, removed at the end.
 *
 *   hookbench [--veths 110] [--mode tcx|legacy|both] [--shaped-every 3]
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>

#include "agent_int.h"
#include "bpfglue.h"
#include "log.h"
#include "policy.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The policy of every bench pod: what a typical workload's allowlist holds. */
static const char bench_policy[] =
	"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
	"metadata: {name: bench, namespace: bench}\n"
	"spec:\n  podSelector: {matchLabels: {app: bench}}\n  egress:\n"
	"    - toCIDRs: [{cidr: 192.0.2.0/24, except: [192.0.2.128/25]}]\n"
	"      ports: [{port: 443, protocol: TCP}, {port: 8000, endPort: 8100, protocol: TCP}]\n"
	"    - toCIDRs: [{cidr: 198.51.100.0/24}, {cidr: 2001:db8::/32}]\n"
	"      ports: [{port: 53, protocol: UDP}]\n"
	"    - toCIDRs: [{cidr: 203.0.113.0/24}]\n"
	"    - toFQDNs: [{matchName: api.example.com}, {matchPattern: '*.example.org'}]\n"
	"      ports: [{port: 443, protocol: TCP}]\n";

#define ROUNDS 9

static int reconcile_bench(struct pw_agent *a, const int *ifx, int n, const char *mode)
{
	double look[ROUNDS], hooks[ROUNDS], drift[ROUNDS], total[ROUNDS], t0, t1, t2;
	char err[PW_ERR_LEN] = "";
	uint64_t repairs = 0;

	a->maps = &a->bpf.maps;
	a->o.min_ttl = 5;
	a->o.max_ttl = 3600;
	a->o.max_addrs_per_name = 32;
	a->o.max_learned_per_pod = 4096;
	a->o.max_names_per_pod = 1024;
	a->portsets.next_id = 1;
	if (pw_policy_file_parse(bench_policy, strlen(bench_policy), "bench.yaml", &a->policies.pols,
				 &a->policies.n_pols, err, sizeof(err))) {
		fprintf(stderr, "hookbench: policy: %s\n", err);
		return 1;
	}
	for (int i = n - 1; i >= 0; i--) {
		struct pw_ep *ep = pw_ep_new();
		char name[32];

		if (!ep)
			return 1;
		ep->ifindex = (uint32_t)ifx[i];
		ep->ep_id = (uint32_t)i + 1;
		snprintf(ep->host_ifname, sizeof(ep->host_ifname), "hb%d", i);
		snprintf(name, sizeof(name), "pod-%d", i);
		ep->namespace = strdup("bench");
		ep->name = strdup(name);
		ep->flags = PW_EP_HAS_V4;
		ep->ip4 = htonl(0x0a2a0000u | (uint32_t)(i + 2)); /* 10.42.x.y */
		pw_eps_add(&a->eps, ep);
		if (!ep->namespace || !ep->name || pw_labels_set(&ep->labels, "app", "bench") ||
		    pw_sync_ep(a, ep)) {
			fprintf(stderr, "hookbench: cannot sync endpoint %d\n", i);
			return 1;
		}
	}
	a->ready = true;
	for (int r = 0; r < ROUNDS; r++) {
		bool gone = false;

		/* agent.c reconcile(): is each endpoint's veth still there, are its
		 * hooks podwall's first, then the drift check */
		t0 = now_ms();
		for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next)
			gone |= if_nametoindex(ep->host_ifname) != ep->ifindex;
		t1 = now_ms();
		for (struct pw_ep *ep = a->eps.head; ep; ep = ep->next) {
			if (pw_bpf_verify(&a->bpf, (int)ep->ifindex, true, err, sizeof(err)) < 0) {
				fprintf(stderr, "hookbench: reconcile %s: %s\n", ep->host_ifname, err);
				return 1;
			}
		}
		t2 = now_ms();
		pw_drift_check(a);
		drift[r] = now_ms() - t2;
		hooks[r] = t2 - t1;
		look[r] = t1 - t0;
		total[r] = now_ms() - t0;
		if (gone) {
			fprintf(stderr, "hookbench: a veth is gone\n");
			return 1;
		}
	}
	for (int k = 0; k < PW_DRIFT_MAX; k++)
		repairs += a->st.drift_repairs[k];
	qsort(look, ROUNDS, sizeof(double), cmp_d);
	qsort(hooks, ROUNDS, sizeof(double), cmp_d);
	qsort(drift, ROUNDS, sizeof(double), cmp_d);
	qsort(total, ROUNDS, sizeof(double), cmp_d);
	printf("%-6s reconcile, %d endpoints: %.1f ms median of %d (%.1f-%.1f ms; veth lookups "
	       "%.1f ms, hook check %.1f ms, drift check %.1f ms; %.3f ms per endpoint; %zu CIDR "
	       "rules each, %llu repairs)\n",
	       mode, n, total[ROUNDS / 2], ROUNDS, total[0], total[ROUNDS - 1], look[ROUNDS / 2],
	       hooks[ROUNDS / 2], drift[ROUNDS / 2], total[ROUNDS / 2] / n,
	       a->eps.head->compiled.n_cidrs, (unsigned long long)repairs);
	return repairs ? 1 : 0; /* nothing drifted: a repair is a bench bug */
}

static void agent_free(struct pw_agent *a)
{
	for (struct pw_ep *ep = a->eps.head, *next; ep; ep = next) {
		next = ep->next;
		pw_ep_free(ep);
	}
	pw_policies_free(a->policies.pols, a->policies.n_pols);
	pw_portsets_free(&a->portsets);
	free(a);
}

static int run(const char *pin, int mode, int n, int shaped_every)
{
	struct pw_agent *a = calloc(1, sizeof(*a));
	struct pw_bpf *bp = a ? &a->bpf : NULL;
	double *t = calloc((size_t)n, sizeof(*t)), t0, verify_ms[3];
	int *ifx = calloc((size_t)n, sizeof(*ifx)), ret = 1;
	char err[512];

	if (!a || !t || !ifx || pw_bpf_open(bp, pin) || pw_bpf_set_hook(bp, mode))
		goto out;
	sh("ip link add hbifb type ifb 2>/dev/null; ip link set hbifb up");
	for (int i = 0; i < n; i++) {
		char name[IF_NAMESIZE];

		snprintf(name, sizeof(name), "hb%d", i);
		if (sh("ip link add %s type veth peer name %sp && ip link set %s up && "
		       "ip link set %sp up", name, name, name, name)) {
			fprintf(stderr, "hookbench: cannot make veth %s\n", name);
			goto out;
		}
		if (shaped_every && i % shaped_every == 0)
			sh("tc qdisc add dev %s ingress && tc filter add dev %s parent ffff: "
			   "protocol all prio 1 u32 match u32 0 0 action mirred egress redirect "
			   "dev hbifb", name, name);
		ifx[i] = (int)if_nametoindex(name);
	}
	for (int i = 0; i < n; i++) {
		t0 = now_ms();
		if (pw_bpf_attach(bp, ifx[i], err, sizeof(err))) {
			fprintf(stderr, "hookbench: attach hb%d: %s\n", i, err);
			goto out;
		}
		t[i] = now_ms() - t0;
	}
	if (getenv("HOOKBENCH_SHOW"))
		sh("tc qdisc show dev hb0; tc filter show dev hb0 ingress; tc filter show dev hb0 egress");
	for (int r = 0; r < 3; r++) {
		t0 = now_ms();
		for (int i = 0; i < n; i++)
			if (pw_bpf_verify(bp, ifx[i], true, err, sizeof(err))) {
				fprintf(stderr, "hookbench: verify hb%d: %s\n", i, err);
				goto out;
			}
		verify_ms[r] = now_ms() - t0;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_d);
	qsort(verify_ms, 3, sizeof(double), cmp_d);
	printf("%-6s attach per veth: median %.2f ms, p90 %.2f ms, max %.2f ms (%d veths, every "
	       "%d-th with the bandwidth plugin's ingress qdisc)\n",
	       mode == PW_HOOK_TCX ? "tcx" : "legacy", t[n / 2], t[n * 9 / 10], t[n - 1], n,
	       shaped_every);
	printf("%-6s reconcile hook check, %d veths: %.1f ms (median of 3; %.3f ms per veth)\n",
	       mode == PW_HOOK_TCX ? "tcx" : "legacy", n, verify_ms[1], verify_ms[1] / n);
	ret = reconcile_bench(a, ifx, n, mode == PW_HOOK_TCX ? "tcx" : "legacy");
out:
	for (int i = 0; i < n; i++)
		sh("ip link del hb%d 2>/dev/null", i);
	sh("ip link del hbifb 2>/dev/null");
	if (a && a->bpf.skel)
		pw_bpf_close(bp);
	sh("rm -rf %s", pin);
	if (a)
		agent_free(a);
	free(t);
	free(ifx);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"veths", required_argument, NULL, 'n'},
					     {"mode", required_argument, NULL, 'm'},
					     {"shaped-every", required_argument, NULL, 's'},
					     {}};
	const char *mode = "both";
	int n = 110, every = 3, c, ret = 0;
	char pin[64];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'm')
			mode = optarg;
		else if (c == 's')
			every = atoi(optarg);
		else
			return 2;
	}
	if (n < 1 || n > 1000)
		return 2;
	if (unshare(CLONE_NEWNET)) {
		perror("hookbench: unshare(CLONE_NEWNET)");
		return 1;
	}
	sh("ip link set lo up");
	pw_log_level = PW_LOG_WARN;
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/hookbench-%d", (int)getpid());
	if (strcmp(mode, "legacy")) {
		if (pw_bpf_tcx_supported())
			ret |= run(pin, PW_HOOK_TCX, n, every);
		else
			printf("tcx    not available on this kernel\n");
	}
	if (strcmp(mode, "tcx"))
		ret |= run(pin, PW_HOOK_LEGACY, n, every);
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * hookbench: what owning the hook costs. In a private network namespace with
 * N veth pairs (some with the bandwidth plugin's `ingress` qdisc and u32
 * redirect, as egress shaping leaves them), time pw_bpf_attach() per veth and
 * one reconcile pass (pw_bpf_verify() with repair on every veth), for the tcx
 * and the legacy tc path. Maps are pinned in a private directory, removed at
 * the end.
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

#include <net/if.h>

#include "bpfglue.h"
#include "log.h"

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

static int run(const char *pin, int mode, int n, int shaped_every)
{
	struct pw_bpf b;
	double *t = calloc((size_t)n, sizeof(*t)), t0, verify_ms[3];
	int *ifx = calloc((size_t)n, sizeof(*ifx)), ret = 1;
	char err[512];

	if (!t || !ifx || pw_bpf_open(&b, pin) || pw_bpf_set_hook(&b, mode))
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
		if (pw_bpf_attach(&b, ifx[i], err, sizeof(err))) {
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
			if (pw_bpf_verify(&b, ifx[i], true, err, sizeof(err))) {
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
	ret = 0;
out:
	for (int i = 0; i < n; i++)
		sh("ip link del hb%d 2>/dev/null", i);
	sh("ip link del hbifb 2>/dev/null");
	if (b.skel)
		pw_bpf_close(&b);
	sh("rm -rf %s", pin);
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

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* podwall: the agent and the operator CLI, as a table of subcommands. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "bpfglue.h"
#include "cli.h"
#include "fqdn.h"
#include "conflist.h"
#include "ctl.h"
#include "guard.h"
#include "lock.h"
#include "log.h"
#include "policy.h"
#include "version.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static int cmd_agent(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_validate(int argc, char **argv);
static int cmd_cni_chain(int argc, char **argv);
static int cmd_cleanup(int argc, char **argv);

static const struct cmd cmds[] = {
	{"agent", cmd_agent, "run the node agent (foreground)"},
	{"status", pw_cli_status, "agent health, programs, map fill levels, counters"},
	{"endpoints", pw_cli_endpoints, "pods, veths, addresses, policies, mode"},
	{"policies", pw_cli_policies, "loaded policies, the pods each selects, load errors"},
	{"fqdn", pw_cli_fqdn, "learned hostnames and addresses with time left"},
	{"events", pw_cli_events, "what was denied (or audited), and why"},
	{"suggest", pw_cli_suggest, "an EgressPolicy from what pods resolved and reached"},
	{"explain", pw_cli_explain, "would the pod reach HOST[:PORT]? which rule, what to do"},
	{"validate", cmd_validate, "check EgressPolicy files with the agent's parser (CI)"},
	{"cni-chain", cmd_cni_chain, "chain podwall-cni into a CNI conflist (k3s install)"},
	{"cni-unchain", cmd_cni_chain, "remove podwall-cni from a CNI conflist"},
	{"cleanup", cmd_cleanup, "uninstall: detach every podwall program, remove every pin"},
	{"version", cmd_version, "print the version"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: podwall COMMAND [OPTIONS]\n\n"
		     "Default-deny egress for Kubernetes pods, with hostname, CIDR and port\n"
		     "allowlists enforced by TC BPF programs.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out, "\nRun 'podwall COMMAND --help' for a command's options and examples.\n");
}

#ifndef PW_COMMIT
#define PW_COMMIT "unknown"
#endif

static const char version_usage[] =
	"usage: podwall version [-o json] [--socket PATH]\n\n"
	"This binary's version, commit and built-in BPF object, and those of the\n"
	"running agent when it answers on the control socket.\n\n"
	"EXAMPLES\n"
	"  podwall version\n"
	"  podwall version -o json | jq -r .agent.commit\n";

static int cmd_version(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *sock = getenv("PODWALL_SOCKET") ? getenv("PODWALL_SOCKET") : PW_CTL_SOCKET;
	bool json = false;
	json_t *out, *rep = NULL, *agent = json_null(), *req;
	char obj[64];
	int c;

	optind = 1;
	while (argv && (c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
				fprintf(stderr, "-o %s: expected json or table\n", optarg);
				return 2;
			}
			json = !strcmp(optarg, "json");
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(version_usage, stdout);
			return 0;
		default:
			fputs(version_usage, stderr);
			return 2;
		}
	}
	/* The agent's, if one answers at once; its absence is not an error. */
	req = json_pack("{s:s}", "cmd", "status");
	if (!pw_ctl_call(sock, req, &rep, 2000) && json_is_true(json_object_get(rep, "ok")))
		agent = json_pack("{s:O?,s:O?,s:O?}", "version", json_object_get(rep, "version"),
				  "commit", json_object_get(rep, "commit"), "bpf_object",
				  json_object_get(rep, "bpf_object"));
	json_decref(req);
	json_decref(rep);
	out = json_pack("{s:s,s:s,s:s,s:o}", "version", PW_VERSION, "commit", PW_COMMIT,
			"bpf_object", pw_bpf_object_id(obj, sizeof(obj)), "agent", agent);
	if (json) {
		char *t = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);

		puts(t ? t : "{}");
		free(t);
	} else {
		printf("podwall %s (commit %s, BPF object %s)\n", PW_VERSION, PW_COMMIT, obj);
		if (json_is_object(agent))
			printf("agent   %s (commit %s, BPF object %s)\n",
			       json_string_value(json_object_get(agent, "version")) ?: "?",
			       json_string_value(json_object_get(agent, "commit")) ?: "?",
			       json_string_value(json_object_get(agent, "bpf_object")) ?: "?");
		else
			printf("agent   not running (no answer on %s)\n", sock);
	}
	json_decref(out);
	return 0;
}

static const char validate_usage[] =
	"usage: podwall validate [-o json] FILE...\n\n"
	"Check EgressPolicy YAML files with the agent's own parser, as the agent would\n"
	"load them: every document, every field. For CI and GitOps: exits 0 when every\n"
	"file is accepted, 1 when one is refused (the message names the field). Needs\n"
	"no agent.\n\n"
	"EXAMPLES\n"
	"  podwall validate policies/*.yaml\n"
	"  podwall validate -o json deploy/examples/ai-agents.yaml | jq .files[].policies\n";

static int cmd_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	json_t *files = json_array();
	bool json = false;
	int c, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
				fprintf(stderr, "-o %s: expected json or table\n", optarg);
				json_decref(files);
				return 2;
			}
			json = !strcmp(optarg, "json");
			break;
		case 'h':
			fputs(validate_usage, stdout);
			json_decref(files);
			return 0;
		default:
			fputs(validate_usage, stderr);
			json_decref(files);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(validate_usage, stderr);
		json_decref(files);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		struct pw_policy *pols = NULL;
		size_t n = 0, len = 0;
		char err[1024] = "", *buf = NULL;
		json_t *names = json_array();
		FILE *f = fopen(argv[i], "re");
		int ret = -EIO;

		if (f) {
			buf = malloc(1 << 20);
			len = buf ? fread(buf, 1, 1 << 20, f) : 0;
			if (buf && !ferror(f) && feof(f))
				ret = pw_policy_file_parse(buf, len, argv[i], &pols, &n, err,
							   sizeof(err));
			else
				snprintf(err, sizeof(err), "%s: cannot read it (over 1 MiB?)",
					 argv[i]);
			fclose(f);
		} else {
			snprintf(err, sizeof(err), "%s: %s", argv[i], strerror(errno));
		}
		for (size_t k = 0; !ret && k < n; k++)
			json_array_append_new(
				names, json_pack("s++", pols[k].namespace, "/", pols[k].name));
		if (ret)
			bad++;
		if (json)
			json_array_append_new(files, json_pack("{s:s,s:b,s:o,s:s?}", "file",
							       argv[i], "ok", !ret, "policies",
							       names, "error", ret ? err : NULL));
		else if (ret)
			printf("REFUSED %s\n", err);
		else {
			printf("%s: ok, %zu polic%s:", argv[i], n, n == 1 ? "y" : "ies");
			for (size_t k = 0; k < n; k++)
				printf(" %s/%s", pols[k].namespace, pols[k].name);
			printf("\n");
		}
		if (!json)
			json_decref(names);
		pw_policies_free(pols, n);
		free(buf);
	}
	if (json) {
		json_t *o = json_pack("{s:b,s:o}", "ok", !bad, "files", files);
		char *t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

		puts(t ? t : "{}");
		free(t);
		json_decref(o);
	} else {
		json_decref(files);
	}
	return bad ? 1 : 0;
}

static const char cni_chain_usage[] =
	"usage: podwall cni-chain --conflist PATH [--socket PATH]\n"
	"       podwall cni-unchain --conflist PATH\n\n"
	"Append podwall-cni to the plugins of a CNI conflist (after the CNI's own\n"
	"plugins), or remove it. Idempotent; the file is replaced atomically and left\n"
	"untouched when nothing changes.\n\n"
	"EXAMPLES\n"
	"  podwall cni-chain --conflist "
	"/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist\n"
	"  podwall cni-unchain --conflist "
	"/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist\n";

static const char cleanup_usage[] =
	"usage: podwall cleanup [--pin-dir DIR]\n\n"
	"Uninstall podwall from this node: detach podwall's programs from every\n"
	"interface of this network namespace (tc filters by handle, tcx links and\n"
	"programs by name), then remove every pin under DIR (maps, links, older\n"
	"layouts) and DIR itself. Refused while an agent holds DIR. Enforcement ends:\n"
	"unchain podwall-cni first (podwall cni-unchain), or new pods cannot start.\n"
	"Exits 1 if a podwall program is still attached afterwards.\n\n"
	"EXAMPLES\n"
	"  podwall cleanup\n"
	"  podwall cleanup --pin-dir /sys/fs/bpf/podwall\n";

static int cmd_cleanup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pin-dir", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *pin = PW_PIN_DIR;
	struct pw_cleanup r;
	bool created;
	pid_t holder = 0;
	int c, fd, ret, left;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			pin = optarg;
			break;
		case 'h':
			fputs(cleanup_usage, stdout);
			return 0;
		default:
			fputs(cleanup_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fputs(cleanup_usage, stderr);
		return 2;
	}
	fd = pw_lock_dir(pin, &created, &holder);
	if (fd == -EWOULDBLOCK) {
		fprintf(stderr, "podwall cleanup: an agent (PID %d) holds %s: stop it first\n",
			(int)holder, pin);
		return 1;
	}
	if (fd < 0 && fd != -ENOENT && fd != -ENOTDIR)
		fprintf(stderr, "podwall cleanup: cannot lock %s: %s (going on)\n", pin,
			strerror(-fd));
	ret = pw_bpf_cleanup(pin, &r);
	if (fd >= 0)
		close(fd);
	left = pw_bpf_leftovers();
	printf("podwall cleanup: %d tc filter(s) and %d tcx link(s) detached from %d "
	       "interface(s); %d pin(s) removed with %s\n",
	       r.tc_filters, r.tcx_links, r.interfaces, r.pins, pin);
	if (ret)
		fprintf(stderr, "podwall cleanup: removing %s: %s\n", pin, strerror(-ret));
	if (left) {
		fprintf(stderr, "podwall cleanup: %d podwall program(s) still attached\n", left);
		return 1;
	}
	return ret ? 1 : 0;
}

static int cmd_cni_chain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"conflist", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	bool unchain = !strcmp(argv[0], "cni-unchain"), changed = false;
	const char *path = NULL, *sock = NULL;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(cni_chain_usage, stdout);
			return 0;
		default:
			fputs(cni_chain_usage, stderr);
			return 2;
		}
	}
	if (!path || optind < argc || (unchain && sock)) {
		fputs(cni_chain_usage, stderr);
		return 2;
	}
	ret = unchain ? pw_conflist_unchain_file(path, &changed, err, sizeof(err))
		      : pw_conflist_chain_file(path, sock, &changed, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "podwall %s: %s: %s\n", argv[0], path, err);
		return 1;
	}
	printf("%s: %s\n", path,
	       changed ? (unchain ? "podwall-cni removed" : "podwall-cni chained") : "unchanged");
	return 0;
}

static void agent_usage(FILE *out)
{
	fprintf(out,
		"usage: podwall agent [OPTIONS]\n\n"
		"Run the node agent: load the TC programs, keep the pinned maps in step with\n"
		"the policies and pods, learn hostnames from pods' DNS answers, report denials.\n"
		"Deny/audit events go to stdout as JSON lines; logs go to stderr.\n\n"
		"options:\n"
		"  --policy-dir DIR        EgressPolicy YAML files (default "
		"/etc/podwall/policies)\n"
		"  --pin-dir DIR           bpffs directory for the maps (default %s)\n"
		"  --socket PATH           control socket, root only (default %s)\n"
		"  --state-dir DIR         endpoint state (default /run/podwall/state)\n"
		"  --resolver IP           trusted DNS resolver; repeat for several\n"
		"  --search-domain D       pods' DNS search suffix: a query under it for a name\n"
		"                          no policy grants gets NXDOMAIN (the pod tries its\n"
		"                          next suffix), others REFUSED; repeat for several\n"
		"                          (default: the --cluster-domain)\n"
		"  --dns-hold-per-sec N    DNS answers one pod may have held for the agent per\n"
		"                          second; over it (and --dns-hold-burst, default 2000)\n"
		"                          the pod loses its own answers, event dns-budget\n"
		"                          (default 1000; 0 = no limit)\n"
		"  --dns-hold-burst N      see --dns-hold-per-sec\n"
		"  --min-ttl SECONDS       shortest life of a learned address (default 5)\n"
		"  --max-ttl SECONDS       longest life of a learned address (default 3600)\n"
		"  --max-addrs-per-name N  addresses kept per (pod, name), LRU (default 32)\n"
		"  --events-keep N         deny events kept for 'podwall events' (default 4096)\n"
		"  --events-per-sec N      deny events per pod per second (default 100)\n"
		"  --events-burst N        deny event burst per pod (default 200)\n"
		"  --events-dns N          also record DNS lookups (name, answers, path), at\n"
		"                          most N a second on the node (default 0: off)\n"
		"  --metrics-addr H:P      Prometheus /metrics (default 127.0.0.1:9977; [::1]:P\n"
		"                          for IPv6; '' to disable). Busy port: retried every 5 s\n"
		"  --probe-addr H:P        /healthz and /readyz (default 127.0.0.1:9978)\n"
		"  --metrics-pod-labels    also per-pod families, labelled source_namespace and\n"
		"                          source_pod (one series per pod and reason)\n"
		"  --release-mark N        skb mark of released DNS answers (default 0x70770001)\n"
		"  --agent-timeout-ms N    heartbeat age after which DNS answers pass unheld\n"
		"                          (default 3000)\n"
		"  --flow-idle-tcp S       idle TCP flows are forgotten after S seconds (21600)\n"
		"  --flow-idle-other S     idle UDP/other flows, likewise (60)\n"
		"  --hook auto|tcx|legacy  how programs are hooked: tcx links placed first\n"
		"                          (Linux 6.6+), or tc filters on clsact verified\n"
		"                          first (older kernels); auto picks (default auto)\n"
		"  --reconcile-interval S  check hooks, maps and veths every S seconds (10)\n"
		"  --k8s                   Kubernetes mode: EgressPolicies, pod labels and the\n"
		"                          cluster DNS (trusted resolvers) from the API server;\n"
		"                          nothing applied, no CNI ADD answered before the\n"
		"                          first full sync. --policy-dir is then optional.\n"
		"  --kubeconfig PATH       outside the cluster (default: in-cluster config)\n"
		"  --context NAME          kubeconfig context (default: current-context)\n"
		"  --node-name NAME        this node (default: $NODE_NAME)\n"
		"  --dns-service NS/NAME   cluster DNS service (default kube-system/kube-dns;\n"
		"                          '' to trust only --resolver)\n"
		"  --cni-conflist PATH     chain podwall-cni into this conflist, and again\n"
		"                          whenever it is rewritten (k3s does at start)\n"
		"  --pod-cidr CIDR         rebinding guard: a hostname rule never learns an\n"
		"  --service-cidr CIDR     address in these (repeat each as needed), nor in\n"
		"  --node-address IP       RFC 1918, 100.64/10, fc00::/7, NAT64 or the node's\n"
		"  --never-learn CIDR      own addresses, unless the rule has allowPrivate\n"
		"  --may-learn CIDR        exempt a prefix from the guard (longest match wins)\n"
		"  --cluster-domain D      names under D may resolve in-cluster (default\n"
		"                          cluster.local; '' for none)\n"
		"  -v, --verbose           debug logs, including libbpf's\n\n"
		"EXAMPLES\n"
		"  podwall agent --policy-dir /etc/podwall/policies --resolver 10.43.0.10\n"
		"  podwall agent --policy-dir ./policies --resolver 10.43.0.10 \\\n"
		"      --min-ttl 30 --max-ttl 600 --metrics-addr \"$NODE_IP:9977\"\n"
		"  podwall agent --k8s --node-name \"$NODE_NAME\" \\\n"
		"      --cni-conflist "
		"/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist\n",
		PW_PIN_DIR, PW_CTL_SOCKET);
}

static int parse_u32(const char *opt, const char *arg, unsigned long min, unsigned long max,
		     uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || !*arg || *end || arg[0] == '-' || v < min || v > max) {
		fprintf(stderr, "podwall agent: %s %s: expected a number from %lu to %lu\n", opt,
			arg, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int cmd_agent(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"policy-dir", required_argument, NULL, 'p'},
		{"pin-dir", required_argument, NULL, 'P'},
		{"socket", required_argument, NULL, 's'},
		{"state-dir", required_argument, NULL, 'S'},
		{"resolver", required_argument, NULL, 'r'},
		{"min-ttl", required_argument, NULL, 1},
		{"max-ttl", required_argument, NULL, 2},
		{"max-addrs-per-name", required_argument, NULL, 3},
		{"events-keep", required_argument, NULL, 4},
		{"events-per-sec", required_argument, NULL, 5},
		{"events-burst", required_argument, NULL, 6},
		{"metrics-addr", required_argument, NULL, 7},
		{"release-mark", required_argument, NULL, 8},
		{"agent-timeout-ms", required_argument, NULL, 9},
		{"flow-idle-tcp", required_argument, NULL, 10},
		{"flow-idle-other", required_argument, NULL, 11},
		{"k8s", no_argument, NULL, 12},
		{"kubeconfig", required_argument, NULL, 13},
		{"context", required_argument, NULL, 14},
		{"node-name", required_argument, NULL, 15},
		{"dns-service", required_argument, NULL, 16},
		{"cni-conflist", required_argument, NULL, 17},
		{"probe-addr", required_argument, NULL, 18},
		{"metrics-pod-labels", no_argument, NULL, 19},
		{"events-dns", required_argument, NULL, 40},
		{"pod-cidr", required_argument, NULL, 30},
		{"service-cidr", required_argument, NULL, 31},
		{"node-address", required_argument, NULL, 32},
		{"never-learn", required_argument, NULL, 33},
		{"may-learn", required_argument, NULL, 34},
		{"cluster-domain", required_argument, NULL, 35},
		{"search-domain", required_argument, NULL, 20},
		{"dns-hold-per-sec", required_argument, NULL, 21},
		{"dns-hold-burst", required_argument, NULL, 22},
		{"hook", required_argument, NULL, 23},
		{"reconcile-interval", required_argument, NULL, 24},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct pw_agent_opts o;
	int c, err = 0;

	pw_agent_default_opts(&o);
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.policy_dir = optarg;
			break;
		case 'P':
			o.pin_dir = optarg;
			break;
		case 's':
			o.socket_path = optarg;
			break;
		case 'S':
			o.state_dir = optarg;
			break;
		case 'r':
			if (o.n_resolvers == PW_MAX_RESOLVER_ARGS) {
				fprintf(stderr, "podwall agent: at most %d --resolver\n",
					PW_MAX_RESOLVER_ARGS);
				return 2;
			}
			o.resolvers[o.n_resolvers++] = optarg;
			break;
		case 1:
			err = parse_u32("--min-ttl", optarg, 0, 86400, &o.min_ttl);
			break;
		case 2:
			err = parse_u32("--max-ttl", optarg, 1, 7 * 86400, &o.max_ttl);
			break;
		case 3:
			err = parse_u32("--max-addrs-per-name", optarg, 1, 4096,
					&o.max_addrs_per_name);
			break;
		case 4:
			err = parse_u32("--events-keep", optarg, 0, 1000000, &o.events_keep);
			break;
		case 5:
			err = parse_u32("--events-per-sec", optarg, 0, 1000000, &o.events_per_sec);
			break;
		case 6:
			err = parse_u32("--events-burst", optarg, 1, 1000000, &o.events_burst);
			break;
		case 7:
			o.metrics_addr = optarg;
			break;
		case 8:
			err = parse_u32("--release-mark", optarg, 1, 0xffffffffUL, &o.release_mark);
			break;
		case 9:
			err = parse_u32("--agent-timeout-ms", optarg, 100, 600000,
					&o.agent_timeout_ms);
			break;
		case 10:
			err = parse_u32("--flow-idle-tcp", optarg, 1, 7 * 86400, &o.flow_idle_tcp);
			break;
		case 11:
			err = parse_u32("--flow-idle-other", optarg, 1, 7 * 86400,
					&o.flow_idle_other);
			break;
		case 12:
			o.k8s = true;
			break;
		case 13:
			o.kubeconfig = optarg;
			break;
		case 14:
			o.kube_context = optarg;
			break;
		case 15:
			o.node_name = optarg;
			break;
		case 16:
			if (*optarg && !strchr(optarg, '/')) {
				fprintf(stderr,
					"podwall agent: --dns-service %s: expected "
					"NAMESPACE/NAME, or '' for none\n",
					optarg);
				return 2;
			}
			o.dns_service = optarg;
			break;
		case 17:
			o.cni_conflist = optarg;
			break;
		case 18:
			o.probe_addr = optarg;
			break;
		case 19:
			o.metrics_pod_labels = true;
			break;
		case 40:
			err = parse_u32("--events-dns", optarg, 0, 10000, &o.events_dns);
			break;
		case 30:
		case 31:
		case 32:
		case 33:
		case 34: {
			static const uint8_t kinds[] = {PW_G_POD_CIDR, PW_G_SERVICE, PW_G_NODE,
							PW_G_EXTRA, PW_G_EXEMPT};
			static const char *const names[] = {"pod-cidr", "service-cidr",
							    "node-address", "never-learn",
							    "may-learn"};
			struct pw_guard scratch = {0};
			const char *why;

			if (o.n_guard == PW_MAX_GUARD_ARGS) {
				fprintf(stderr,
					"podwall agent: at most %d prefixes in --pod-cidr, "
					"--service-cidr, --node-address, --never-learn and "
					"--may-learn together\n",
					PW_MAX_GUARD_ARGS);
				return 2;
			}
			if (pw_guard_add_str(&scratch, optarg, kinds[c - 30], &why)) {
				fprintf(stderr, "podwall agent: --%s %s: %s\n", names[c - 30],
					optarg, why);
				pw_guard_free(&scratch);
				return 2;
			}
			pw_guard_free(&scratch);
			o.guard[o.n_guard].kind = kinds[c - 30];
			o.guard[o.n_guard++].prefix = optarg;
			break;
		}
		case 35:
			o.cluster_domain = optarg;
			break;
		case 20: {
			char norm[PW_FQDN_MAX + 1];
			const char *why;

			if (o.n_search_domains == PW_MAX_RESOLVER_ARGS) {
				fprintf(stderr, "podwall agent: at most %d --search-domain\n",
					PW_MAX_RESOLVER_ARGS);
				return 2;
			}
			if (pw_fqdn_normalize(optarg, norm, &why) ||
			    strlen(norm) > PW_FQDN_MAX - 3) {
				fprintf(stderr, "podwall agent: --search-domain %s: %s\n", optarg,
					pw_fqdn_normalize(optarg, norm, &why) ? why : "too long");
				return 2;
			}
			o.search_domains[o.n_search_domains++] = optarg;
			break;
		}
		case 21:
			err = parse_u32("--dns-hold-per-sec", optarg, 0, 1000000,
					&o.dns_hold_per_sec);
			break;
		case 22:
			err = parse_u32("--dns-hold-burst", optarg, 1, 1000000, &o.dns_hold_burst);
			break;
		case 23:
			if (!strcmp(optarg, "auto") || !strcmp(optarg, "tcx") ||
			    !strcmp(optarg, "legacy")) {
				o.hook = optarg[0] == 'a' ? 0 : optarg[0] == 't' ? 1 : 2;
				break;
			}
			fprintf(stderr, "podwall agent: --hook %s: expected auto, tcx or legacy\n",
				optarg);
			return 2;
		case 24:
			err = parse_u32("--reconcile-interval", optarg, 1, 3600,
					&o.reconcile_interval);
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			agent_usage(stdout);
			return 0;
		default:
			agent_usage(stderr);
			return 2;
		}
		if (err)
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "podwall agent: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	if (!o.n_search_domains && o.cluster_domain && *o.cluster_domain)
		o.search_domains[o.n_search_domains++] = o.cluster_domain;
	if (!o.k8s && !o.policy_dir)
		o.policy_dir = "/etc/podwall/policies";
	if (o.k8s && !o.node_name)
		o.node_name = getenv("NODE_NAME");
	if ((o.kubeconfig || o.node_name || o.dns_service) && !o.k8s) {
		fprintf(stderr, "podwall agent: --kubeconfig, --node-name and --dns-service "
				"go with --k8s\n");
		return 2;
	}
	if (o.min_ttl > o.max_ttl) {
		fprintf(stderr, "podwall agent: --min-ttl must not exceed --max-ttl\n");
		return 2;
	}
	if (o.verbose)
		pw_log_level = PW_LOG_DEBUG;
	pw_bpf_setup_logging(o.verbose);
	return pw_agent_run(&o);
}

int main(int argc, char **argv)
{
	/* The image's entrypoint is podwall: `docker run IMAGE podwall version`
	 * and `docker run IMAGE version` both work. */
	if (argc > 1 && !strcmp(argv[1], "podwall")) {
		argv++;
		argc--;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "podwall: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}

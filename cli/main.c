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
#include "options.h"
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

/* The options, their defaults and their help: agent/options.h. */
static int cmd_agent(int argc, char **argv)
{
	struct pw_agent_opts o;
	int ret = pw_agent_parse_opts(argc, argv, &o, stdout, stderr);

	if (ret)
		return ret > 0 ? 0 : 2;
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

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The operator CLI: each command asks the agent over its control socket and
 * prints a table for people or the agent's JSON for scripts (-o json).
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ctl.h"
#include "events_filter.h"
#include "events_fmt.h"
#include "words.h"
#include "yamlout.h"

struct cli_opts {
	const char *socket;
	bool json;
	const char *pod;
	uint64_t wait_ns; /* status --wait */
};

/* Output switches every command shares: -o yaml, --no-headers. */
static bool out_yaml, no_headers;

/* ---- a small table printer ---- */

#define MAX_COLS 10

struct table {
	size_t ncols, nrows;
	char **cells; /* nrows * ncols, owned */
};

static void table_add(struct table *t, ...)
{
	va_list ap;
	char **n = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*n));

	if (!n)
		return;
	t->cells = n;
	va_start(ap, t);
	for (size_t c = 0; c < t->ncols; c++) {
		const char *s = va_arg(ap, const char *);

		n[t->nrows * t->ncols + c] = strdup(s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

static void table_print(struct table *t)
{
	size_t w[MAX_COLS] = {0};

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = no_headers ? 1 : 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++)
			printf(c + 1 < t->ncols ? "%-*s  " : "%-*s",
			       c + 1 < t->ncols ? (int)w[c] : 0, t->cells[r * t->ncols + c]);
		putchar('\n');
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

/* ---- option parsing shared by all commands ---- */

/* The options every command takes, first in each command's option table. */
#define COMMON_LONGOPTS                                                                            \
	{"socket", required_argument, NULL, 's'}, {"output", required_argument, NULL, 'o'},        \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

static const char *default_socket(void)
{
	return getenv("PODWALL_SOCKET") ?: PW_CTL_SOCKET;
}

/*
 * One option of a command's getopt loop that the commands share: --socket,
 * -o (one of the words of formats, "table|json|yaml": its index in *format),
 * --pod NAMESPACE/NAME, --no-headers, --help, or any other (refused with the
 * usage). Returns 0 when taken, 1 after the help (exit 0), 2 after a message
 * (exit 2).
 */
static int common_opt(int c, const char *usage, const char *formats, struct cli_opts *o,
		      int *format)
{
	char words[64];

	switch (c) {
	case 's':
		o->socket = optarg;
		return 0;
	case 'o':
		*format = pw_word_index(formats, optarg);
		if (*format < 0) {
			fprintf(stderr, "-o %s: expected %s\n", optarg,
				pw_word_list(formats, words, sizeof(words)));
			return 2;
		}
		return 0;
	case 'p':
		if (!strchr(optarg, '/')) {
			fprintf(stderr, "--pod %s: expected NAMESPACE/NAME\n", optarg);
			return 2;
		}
		o->pod = optarg;
		return 0;
	case 'H':
		no_headers = true;
		return 0;
	case 'h':
		fputs(usage, stdout);
		return 1;
	}
	fputs(usage, stderr);
	return 2;
}

/* After the loop: words that are no option are refused. */
static int no_arguments(int argc, char **argv, const char *usage)
{
	if (optind < argc) {
		fprintf(stderr, "unexpected argument %s\n\n%s", argv[optind], usage);
		return 2;
	}
	return 0;
}

/* The options of status, endpoints, policies and fqdn; flags: which of
 * --pod (p) and --wait (w) the command takes. */
static int parse_common(int argc, char **argv, const char *usage, const char *flags,
			struct cli_opts *o)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{"pod", required_argument, NULL, 'p'},
		{"wait", optional_argument, NULL, 'w'},
		{"no-headers", no_argument, NULL, 'H'},
		{},
	};
	int c, format = 0, ret;

	memset(o, 0, sizeof(*o));
	o->socket = default_socket();
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		if (c != 'h' && c != '?' && c != 's' && c != 'o' && c != 'H' && !strchr(flags, c)) {
			fprintf(stderr, "%s: option not taken here\n\n%s", argv[0], usage);
			return 2;
		}
		if (c == 'w') {
			o->wait_ns = 60000000000ULL;
			if (optarg && (pw_duration_parse(optarg, &o->wait_ns) || !o->wait_ns)) {
				fprintf(stderr, "--wait=%s: expected a duration like 30s or 5m\n",
					optarg);
				return 2;
			}
			continue;
		}
		if ((ret = common_opt(c, usage, "table|json|yaml", o, &format)))
			return ret;
		if (c == 'o') {
			o->json = format != 0;
			out_yaml = format == 2;
		}
	}
	return no_arguments(argc, argv, usage);
}

static int call(const struct cli_opts *o, json_t *req, json_t **rep)
{
	int err = pw_ctl_call(o->socket, req, rep, 10000);

	json_decref(req);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		fprintf(stderr,
			"podwall: the agent is not running (no answer on %s). Start it with "
			"'podwall agent', or pass --socket PATH.\n",
			o->socket);
		return 1;
	}
	if (err == -EACCES) {
		fprintf(stderr,
			"podwall: permission denied on %s: the control socket is root only\n",
			o->socket);
		return 1;
	}
	if (err) {
		fprintf(stderr, "podwall: no answer from the agent on %s: %s\n", o->socket,
			strerror(-err));
		return 1;
	}
	if (!json_is_true(json_object_get(*rep, "ok"))) {
		fprintf(stderr, "podwall: %s\n",
			json_string_value(json_object_get(*rep, "error")) ?: "agent error");
		json_decref(*rep);
		return 1;
	}
	return 0;
}

static void print_json(json_t *v)
{
	char *s = out_yaml ? pw_json_to_yaml(v) : json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s)
		fputs(s, stdout);
	if (s && !out_yaml)
		putchar('\n');
	free(s);
}

/* A command of no options but the common ones: parse_common, then the
 * request {"cmd": cmd}. 0 with the answer in *rep, or the exit code (-1 after
 * --help: exit 0). */
static int ask(int argc, char **argv, const char *usage, const char *cmd, struct cli_opts *o,
	       json_t **rep)
{
	int ret = parse_common(argc, argv, usage, "", o);

	if (ret)
		return ret == 1 ? -1 : ret;
	return call(o, json_pack("{s:s}", "cmd", cmd), rep);
}

/* -o json: what of the agent's answer rep the command shows; frees rep. */
static int print_reply(json_t *rep, json_t *what, int ret)
{
	print_json(what);
	json_decref(rep);
	return ret;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static char *join(json_t *arr, const char *sep)
{
	size_t i, len = 1;
	json_t *v;
	char *s;

	json_array_foreach(arr, i, v) len += strlen(json_string_value(v) ?: "") + strlen(sep);
	s = calloc(1, len);
	if (!s)
		return NULL;
	json_array_foreach(arr, i, v)
	{
		if (i)
			strcat(s, sep);
		strcat(s, json_string_value(v) ?: "");
	}
	return s;
}

/* ---- status ---- */

/* The rebinding guard's prefixes, the built-in private ranges left out. */
static void print_guard(json_t *g)
{
	size_t i, shown = 0;
	json_t *p;

	if (!g)
		return;
	printf("rebinding guard: %lld prefixes never learned from a name (the private ranges "
	       "and:)\n",
	       (long long)json_integer_value(json_object_get(g, "total")));
	json_array_foreach(json_object_get(g, "prefixes"), i, p)
	{
		if (!strcmp(jstr(p, "source") ?: "", "default") || ++shown > 24)
			continue;
		printf("  %-43s %-19s %s\n", jstr(p, "prefix"), jstr(p, "kind"), jstr(p, "source"));
	}
	if (shown > 24)
		printf("  ... %zu more (podwall status -o json: .guard)\n", shown - 24);
	if (json_integer_value(json_object_get(g, "api_skipped")))
		printf("  %lld prefixes from the API LEFT OUT (malformed, or past the map size)\n",
		       (long long)json_integer_value(json_object_get(g, "api_skipped")));
}

static const char status_usage[] =
	"usage: podwall status [--wait[=DURATION]] [-o json] [--socket PATH]\n\n"
	"Agent health, programs attached, map fill levels and counters. Exits 0 when\n"
	"the node is healthy, 4 when degraded (programs missing on a pod's veth, not\n"
	"enforcing yet, ...: the DEGRADED lines say what), 1 when the agent does not\n"
	"answer. --wait polls once a second until healthy, for DURATION (default 60s).\n\n"
	"EXAMPLES\n"
	"  podwall status\n"
	"  podwall status --wait=2m && kubectl apply -f workload.yaml\n"
	"  podwall status -o json | jq .counters\n";

int pw_cli_status(int argc, char **argv)
{
	struct cli_opts o;
	json_t *rep, *maps, *v, *counters;
	const char *k;
	int ret = parse_common(argc, argv, status_usage, "w", &o), degraded;
	char buf[64];

	if (ret)
		return ret == 1 ? 0 : ret;
	for (uint64_t waited = 0;; waited += 1000000000ULL) {
		json_t *req = json_pack("{s:s}", "cmd", "status");

		if (o.wait_ns) {
			/* quiet while waiting: only the last answer is printed */
			int err = pw_ctl_call(o.socket, req, &rep, 5000);

			json_decref(req);
			ret = err ? 1 : 0;
			if (!err && !json_is_true(json_object_get(rep, "ok"))) {
				json_decref(rep);
				ret = 1;
			}
		} else {
			ret = call(&o, req, &rep);
		}
		degraded = !ret && json_array_size(json_object_get(rep, "degraded")) > 0;
		if (!o.wait_ns || (!ret && !degraded) || waited >= o.wait_ns)
			break;
		if (!ret)
			json_decref(rep);
		sleep(1);
	}
	if (ret) {
		if (o.wait_ns)
			ret = call(&o, json_pack("{s:s}", "cmd", "status"), &rep);
		if (ret)
			return ret;
		degraded = json_array_size(json_object_get(rep, "degraded")) > 0;
	}
	if (o.json)
		return print_reply(rep, rep, degraded ? 4 : 0);
	json_t *eps = json_object_get(rep, "endpoints"), *pols = json_object_get(rep, "policies");

	size_t di;

	json_array_foreach(json_object_get(rep, "degraded"), di, v)
		printf("DEGRADED: %s\n", json_string_value(v));
	printf("podwall %s, up %llds, pins in %s, policies from %s\n", jstr(rep, "version"),
	       (long long)json_integer_value(json_object_get(rep, "uptime_s")),
	       jstr(rep, "pin_dir"), jstr(rep, "policy_dir") ?: "the Kubernetes API");
	if (json_object_get(rep, "kubernetes"))
		printf("kubernetes: %s, first sync %s\n",
		       jstr(json_object_get(rep, "kubernetes"), "server"),
		       json_is_true(json_object_get(json_object_get(rep, "kubernetes"), "synced"))
			       ? "done"
			       : "NOT DONE (nothing applied yet)");
	size_t ci;
	json_t *cond;

	json_array_foreach(json_object_get(json_object_get(rep, "kubernetes"), "conditions"), ci,
			   cond)
	{
		time_t since =
			(time_t)(json_integer_value(json_object_get(cond, "since_unix_ms")) / 1000);
		char when[32] = "";

		if (!strcmp(jstr(cond, "status") ?: "", "True"))
			continue;
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&since));
		printf("kubernetes API: %s since %s (enforcing what was last synced): %s\n",
		       jstr(cond, "reason"), when, jstr(cond, "message"));
	}
	print_guard(json_object_get(rep, "guard"));
	printf("endpoints: %lld (%lld enforced), programs attached first on %lld\n",
	       (long long)json_integer_value(json_object_get(eps, "total")),
	       (long long)json_integer_value(json_object_get(eps, "enforced")),
	       (long long)json_integer_value(json_object_get(eps, "programs_attached")));
	size_t i;
	json_t *hooks = json_object_get(rep, "hooks");

	json_array_foreach(json_object_get(eps, "programs_missing"), i, v)
		printf("  MISSING programs on %s\n", json_string_value(v));
	json_array_foreach(json_object_get(rep, "pods_unlocated"), i, v) printf(
		"  %s pod %s: %s\n",
		json_is_true(json_object_get(v, "selected")) ? "NOT ENFORCED" : "unregistered",
		jstr(v, "pod"), jstr(v, "reason"));
	if (hooks)
		printf("hooks: %s, %lld repaired since start\n", jstr(hooks, "mode"),
		       (long long)json_integer_value(json_object_get(hooks, "repairs")));
	if (json_object_get(rep, "drift_repairs")) {
		json_t *d = json_object_get(rep, "drift_repairs");

		printf("drift repaired since start: pw_endpoints %lld, pw_cidr %lld, pw_ports "
		       "%lld\n",
		       (long long)json_integer_value(json_object_get(d, "pw_endpoints")),
		       (long long)json_integer_value(json_object_get(d, "pw_cidr")),
		       (long long)json_integer_value(json_object_get(d, "pw_ports")));
	}
	json_array_foreach(json_object_get(hooks, "problems"), i, v) printf(
		"  NOT FIRST %s (%s): %s\n", jstr(v, "pod"), jstr(v, "veth"), jstr(v, "problem"));
	printf("policies: %lld loaded from %lld files\n",
	       (long long)json_integer_value(json_object_get(pols, "loaded")),
	       (long long)json_integer_value(json_object_get(pols, "files")));
	json_array_foreach(json_object_get(pols, "errors"), i, v)
		printf("  ERROR %s\n", json_string_value(v));

	struct table t = {.ncols = 3};

	printf("\n");
	table_add(&t, "MAP", "ENTRIES", "MAX");
	maps = json_object_get(rep, "maps");
	json_object_foreach(maps, k, v)
	{
		char e[32], m[32];

		snprintf(e, sizeof(e), "%lld",
			 (long long)json_integer_value(json_object_get(v, "entries")));
		snprintf(m, sizeof(m), "%lld",
			 (long long)json_integer_value(json_object_get(v, "max")));
		table_add(&t, k, e, m);
	}
	table_print(&t);
	printf("\n");
	t.ncols = 2;
	table_add(&t, "COUNTER", "VALUE");
	counters = json_object_get(rep, "counters");
	json_object_foreach(counters, k, v)
	{
		if (!json_integer_value(v))
			continue; /* the JSON output has them all */
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		table_add(&t, k, buf);
	}
	json_object_foreach(json_object_get(rep, "agent"), k, v)
	{
		char name[80];

		snprintf(name, sizeof(name), "agent_%s", k);
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		table_add(&t, name, buf);
	}
	table_print(&t);
	json_decref(rep);
	return degraded ? 4 : 0;
}

/* ---- endpoints ---- */

static const char endpoints_usage[] =
	"usage: podwall endpoints [-o json] [--socket PATH]\n\n"
	"Pods the agent knows: host veth, addresses, selecting policies, mode, packets.\n\n"
	"EXAMPLES\n"
	"  podwall endpoints\n"
	"  podwall endpoints -o json | jq '.[] | select(.mode==\"enforce\") | .pod'\n";

int pw_cli_endpoints(int argc, char **argv)
{
	struct cli_opts o;
	struct table t = {.ncols = 7};
	json_t *rep, *ep;
	size_t i;
	int ret = ask(argc, argv, endpoints_usage, "endpoints", &o, &rep);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (o.json)
		return print_reply(rep, json_object_get(rep, "endpoints"), 0);
	table_add(&t, "POD", "VETH", "IFINDEX", "ADDRESSES", "MODE", "POLICIES", "ALLOWED/DENIED");
	json_array_foreach(json_object_get(rep, "endpoints"), i, ep)
	{
		char *ips = join(json_object_get(ep, "ips"), ","),
		     *pols = join(json_object_get(ep, "policies"), ",");
		json_t *pk = json_object_get(ep, "packets");
		char idx[16], pkts[64] = "-";

		snprintf(idx, sizeof(idx), "%lld",
			 (long long)json_integer_value(json_object_get(ep, "ifindex")));
		if (pk)
			snprintf(pkts, sizeof(pkts), "%lld/%lld",
				 (long long)json_integer_value(json_object_get(pk, "allowed")),
				 (long long)json_integer_value(json_object_get(pk, "denied")));
		table_add(&t, jstr(ep, "pod"), jstr(ep, "host_ifname"), idx, ips, jstr(ep, "mode"),
			  pols && *pols ? pols : "-", pkts);
		free(ips);
		free(pols);
		if (jstr(ep, "error"))
			fprintf(stderr, "%s: %s\n", jstr(ep, "pod"), jstr(ep, "error"));
	}
	table_print(&t);
	json_decref(rep);
	return 0;
}

/* ---- policies ---- */

static const char policies_usage[] =
	"usage: podwall policies [-o json] [--socket PATH]\n\n"
	"Loaded EgressPolicies, the pods each selects, and the last load error of each\n"
	"file (a refused file keeps its previous version in force).\n\n"
	"EXAMPLES\n"
	"  podwall policies\n"
	"  podwall policies -o json | jq .errors\n";

int pw_cli_policies(int argc, char **argv)
{
	struct cli_opts o;
	struct table t = {.ncols = 5};
	json_t *rep, *p;
	size_t i;
	int ret = ask(argc, argv, policies_usage, "policies", &o, &rep);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (o.json) {
		json_object_del(rep, "ok");
		return print_reply(rep, rep, 0);
	}
	table_add(&t, "POLICY", "MODE", "RULES", "SELECTS", "SOURCE");
	json_array_foreach(json_object_get(rep, "policies"), i, p)
	{
		char name[300], rules[16], *sel = join(json_object_get(p, "selects"), ",");

		snprintf(name, sizeof(name), "%s/%s", jstr(p, "namespace"), jstr(p, "name"));
		snprintf(rules, sizeof(rules), "%lld",
			 (long long)json_integer_value(json_object_get(p, "rules")));
		table_add(&t, name, jstr(p, "mode"), rules, sel && *sel ? sel : "-",
			  jstr(p, "source"));
		free(sel);
	}
	table_print(&t);
	json_array_foreach(json_object_get(rep, "policies"), i,
			   p) if (json_is_string(json_object_get(p, "warning")))
		printf("WARNING %s\n", jstr(p, "warning"));
	json_array_foreach(json_object_get(rep, "errors"), i, p)
		printf("ERROR %s\n", jstr(p, "error"));
	json_decref(rep);
	return 0;
}

/* ---- fqdn ---- */

static const char fqdn_usage[] =
	"usage: podwall fqdn [--pod NAMESPACE/NAME] [-o json] [--socket PATH]\n\n"
	"Hostnames each pod resolved and a rule allowed, with the addresses learned\n"
	"and the seconds each has left (negative: expired, kept for established flows).\n\n"
	"EXAMPLES\n"
	"  podwall fqdn\n"
	"  podwall fqdn --pod agents/coder-0 -o json\n";

int pw_cli_fqdn(int argc, char **argv)
{
	struct cli_opts o;
	struct table t = {.ncols = 4};
	json_t *rep, *req, *n, *ad;
	size_t i, j;
	int ret = parse_common(argc, argv, fqdn_usage, "p", &o);

	if (ret)
		return ret == 1 ? 0 : ret;
	req = json_pack("{s:s}", "cmd", "fqdn");
	if (o.pod)
		json_object_set_new(req, "pod", json_string(o.pod));
	if ((ret = call(&o, req, &rep)))
		return ret;
	if (o.json)
		return print_reply(rep, json_object_get(rep, "fqdn"), 0);
	table_add(&t, "POD", "NAME", "ADDRESS", "TTL-LEFT");
	json_array_foreach(json_object_get(rep, "fqdn"), i, n)
	{
		json_array_foreach(json_object_get(n, "addrs"), j, ad)
		{
			char ttl[32];

			snprintf(ttl, sizeof(ttl), "%llds",
				 (long long)json_integer_value(json_object_get(ad, "ttl_left")));
			table_add(&t, jstr(n, "pod"), jstr(n, "name"), jstr(ad, "ip"), ttl);
		}
	}
	table_print(&t);
	json_decref(rep);
	return 0;
}

/* ---- events ---- */

static const char events_usage[] =
	"usage: podwall events [--follow] [--last N] [FILTERS] [-o table|json|compact]\n"
	"                      [--no-headers] [--socket PATH]\n\n"
	"What pods tried to reach and were denied (or would have been, in audit mode),\n"
	"with the reason and the hostname the pod last resolved to that address; for\n"
	"pods whose policy has visibility: [allowed] or [dns], also each new allowed\n"
	"flow and each DNS lookup. The agent keeps the last --events-keep records,\n"
	"also across its restarts; --follow prints them, then each new one, and\n"
	"reconnects when the agent restarts.\n\n"
	"filters (all must match):\n"
	"  --namespace NS          the pod's namespace\n"
	"  --pod [NS/]PREFIX       pods whose name starts with PREFIX\n"
	"  --owner [KIND/]NAME     the pod's workload: Deployment/web, StatefulSet/db,\n"
	"                          or a name of any kind (Kubernetes mode)\n"
	"  --verdict V             drop, reject (denyAction reject: the pod was sent a\n"
	"                          RST or ICMP), audit, pass, or allow (allowed flows\n"
	"                          and DNS lookups: policy visibility, --events-dns)\n"
	"  --reason R              one of: no-rule port spoof fragment ip-options ipv6-ext\n"
	"                          malformed l2 expired dns-untrusted v4-mapped dns-capture\n"
	"                          dns-learn dns-invalid dns-name dns-budget dns-fragment\n"
	"                          dns-tcp-split\n"
	"  --to-fqdn PATTERN       the hostname (or the name a refused query asked\n"
	"                          for): a name, *.one.label or **.any.labels\n"
	"  --to-ip ADDR|CIDR       the destination address\n"
	"  --to-port N             the destination port\n"
	"  --since WHEN            newer than WHEN: a duration back (30s, 5m, 1h30m, 2d)\n"
	"  --until WHEN            or an RFC 3339 time (2026-12-01T09:00:00Z)\n"
	"  --last N                only the last N records (before following)\n\n"
	"output: table (default; the same with and without --follow), json (one JSON\n"
	"object a line, the same with and without --follow), compact (one short line).\n\n"
	"EXAMPLES\n"
	"  podwall events --since 10m\n"
	"  podwall events --pod agents/coder- --reason no-rule --last 20\n"
	"  podwall events --to-fqdn '**.github.com' --verdict audit\n"
	"  podwall events --verdict allowed --pod agents/ -o compact\n"
	"  podwall events --to-ip 192.0.2.0/24 --to-port 443 --since 1h30m --until 1h\n"
	"  podwall events --follow -o json | jq -c '{pod, dst, dport, hostname, reason}'\n";

enum ev_out { EV_TABLE, EV_JSON, EV_COMPACT };

#define EV_ROW_FMT "%-24s  %-32s  %-7s  %-13s  %-6s  %-40s  %-14s  %s\n"

/* "Deployment/web", or "-" for a bare pod (and in standalone mode). */
static const char *event_owner(json_t *e, char *buf, size_t len)
{
	json_t *o = json_object_get(e, "owner");
	const char *k = jstr(o, "kind"), *n = jstr(o, "name");

	if (!k || !n)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s/%s", k, n);
	return buf;
}

static void event_dest(json_t *e, char *dst, size_t dlen, char *port, size_t plen)
{
	const char *host = jstr(e, "hostname");
	json_t *icmp = json_object_get(e, "icmp");

	snprintf(dst, dlen, "%s%s%s%s", jstr(e, "dst") ?: "-", host ? " (" : "", host ? host : "",
		 host ? ")" : "");
	if (icmp)
		snprintf(port, plen, "type %lld code %lld",
			 (long long)json_integer_value(json_object_get(icmp, "type")),
			 (long long)json_integer_value(json_object_get(icmp, "code")));
	else
		snprintf(port, plen, "%lld",
			 (long long)json_integer_value(json_object_get(e, "dport")));
}

static void event_print(json_t *e, enum ev_out out)
{
	char dst[400], port[48], pod[300], owner[330], cpod[340];

	if (out == EV_JSON) {
		char *s = json_dumps(e, JSON_COMPACT);

		if (s)
			puts(s);
		free(s);
		return;
	}
	event_dest(e, dst, sizeof(dst), port, sizeof(port));
	snprintf(pod, sizeof(pod), "%s/%s", jstr(e, "namespace") ?: "?", jstr(e, "pod") ?: "?");
	/* compact: the pod, then its workload in brackets when there is one */
	if (strcmp(event_owner(e, owner, sizeof(owner)), "-"))
		snprintf(cpod, sizeof(cpod), "%s (%s)", pod, owner);
	else
		snprintf(cpod, sizeof(cpod), "%s", pod);
	if (!strcmp(jstr(e, "type") ?: "", "dns")) {
		/* a lookup (--events-dns): the name, its answers, the path */
		char *ans = join(json_object_get(e, "answers"), ",");

		snprintf(dst, sizeof(dst), "%s -> %s (%s)", jstr(e, "query") ?: "?",
			 ans && *ans ? ans : "no address", jstr(e, "path") ?: "?");
		snprintf(port, sizeof(port), "53");
		free(ans);
		if (out == EV_COMPACT) {
			printf("%s [%s] %s dns %s %s\n", jstr(e, "time") ?: "-",
			       jstr(e, "node") ?: "-", cpod, dst, jstr(e, "verdict") ?: "-");
			return;
		}
		printf(EV_ROW_FMT, jstr(e, "time") ?: "-", pod, jstr(e, "verdict") ?: "-",
		       jstr(e, "reason") ?: "-", "dns", dst, port, owner);
		return;
	}
	if (out == EV_COMPACT) {
		printf("%s [%s] %s -> %s:%s %s %s\n", jstr(e, "time") ?: "-",
		       jstr(e, "node") ?: "-", cpod, dst, port, jstr(e, "verdict") ?: "-",
		       jstr(e, "reason") ?: "-");
		return;
	}
	printf(EV_ROW_FMT, jstr(e, "time") ?: "-", pod, jstr(e, "verdict") ?: "-",
	       jstr(e, "reason") ?: "-", jstr(e, "proto") ?: "-", dst, port, owner);
}

/* Ids of the records printed lately: after a reconnect the backlog repeats. */
#define EV_SEEN 256
struct ev_seen {
	char id[EV_SEEN][48];
	unsigned next;
};

static bool ev_seen_add(struct ev_seen *s, json_t *e)
{
	const char *id = jstr(e, "id");

	if (!id)
		return true;
	for (unsigned i = 0; i < EV_SEEN; i++)
		if (!strcmp(s->id[i], id))
			return false;
	snprintf(s->id[s->next++ % EV_SEEN], sizeof(s->id[0]), "%s", id);
	return true;
}

static void event_header(void)
{
	printf(EV_ROW_FMT, "TIME", "POD", "VERDICT", "REASON", "PROTO", "DESTINATION", "PORT",
	       "OWNER");
}

static int events_follow(const char *sock, const struct pw_ev_filter *f, long last, enum ev_out out,
			 bool headers)
{
	struct ev_seen *seen = calloc(1, sizeof(*seen));
	bool first = true;
	int ret = 0;

	if (!seen)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int tries = 0;;) {
		json_t *req = json_pack("{s:s,s:b}", "cmd", "events", "follow", 1), *rep = NULL, *e;
		int fd = pw_ctl_connect(sock);
		size_t i, n, skip = 0;

		if (fd < 0) {
			json_decref(req);
			if (first) {
				fprintf(stderr,
					"podwall: the agent is not running (no answer on %s)\n",
					sock);
				ret = 1;
				break;
			}
			if (tries++ % 10 == 0)
				fprintf(stderr, "podwall: waiting for the agent on %s ...\n", sock);
			sleep(1);
			continue;
		}
		if (pw_ctl_send(fd, req) || pw_ctl_recv(fd, &rep, 10000) ||
		    !json_is_true(json_object_get(rep, "ok"))) {
			json_decref(req);
			json_decref(rep);
			close(fd);
			if (first) {
				fprintf(stderr, "podwall: events --follow refused\n");
				ret = 1;
				break;
			}
			sleep(1);
			continue;
		}
		json_decref(req);
		if (!first)
			fprintf(stderr, "podwall: reconnected to the agent on %s\n", sock);
		else if (out == EV_TABLE && headers)
			event_header();
		/* The backlog: filtered, the last N, what was not printed yet. */
		n = 0;
		json_array_foreach(json_object_get(rep, "events"), i, e) n +=
			pw_ev_filter_match(f, e);
		if (first && last >= 0 && (size_t)last < n)
			skip = n - (size_t)last;
		json_array_foreach(json_object_get(rep, "events"), i, e)
		{
			if (!pw_ev_filter_match(f, e))
				continue;
			if (skip) {
				skip--;
				ev_seen_add(seen, e);
				continue;
			}
			if (ev_seen_add(seen, e))
				event_print(e, out);
		}
		json_decref(rep);
		first = false;
		tries = 0;
		while (!pw_ctl_recv(fd, &e, -1)) {
			if (pw_ev_filter_match(f, e) && ev_seen_add(seen, e))
				event_print(e, out);
			json_decref(e);
		}
		close(fd);
		fprintf(stderr, "podwall: the agent went away; reconnecting\n");
	}
	free(seen);
	return ret;
}

int pw_cli_events(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{"follow", no_argument, NULL, 'f'},
		{"no-headers", no_argument, NULL, 'H'},
		{"last", required_argument, NULL, 'l'},
		{"namespace", required_argument, NULL, 1},
		{"pod", required_argument, NULL, 1},
		{"verdict", required_argument, NULL, 1},
		{"reason", required_argument, NULL, 1},
		{"to-fqdn", required_argument, NULL, 1},
		{"to-ip", required_argument, NULL, 1},
		{"to-port", required_argument, NULL, 1},
		{"since", required_argument, NULL, 1},
		{"until", required_argument, NULL, 1},
		{"owner", required_argument, NULL, 1},
		{},
	};
	struct cli_opts o = {.socket = default_socket()};
	bool follow = false;
	int format = EV_TABLE; /* the words below are in enum ev_out's order */
	struct pw_ev_filter f;
	struct timespec rt;
	uint64_t now;
	long last = -1;
	json_t *rep, *e;
	int c, li, ret;
	size_t i, n, skip = 0;

	clock_gettime(CLOCK_REALTIME, &rt);
	now = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
	pw_ev_filter_init(&f);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:fh", longopts, &li)) != -1) {
		const char *why = NULL;
		char list[512];

		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'l':
			if (pw_cli_parse_long("--last", optarg, 0, 1000000, &last))
				return 2;
			break;
		case 1:
			if (pw_ev_filter_set(&f, longopts[li].name, optarg, now, &why)) {
				if (!strcmp(longopts[li].name, "reason"))
					fprintf(stderr, "--reason %s: unknown reason; one of: %s\n",
						optarg, pw_reason_list(list, sizeof(list)));
				else
					fprintf(stderr, "--%s %s: %s\n", longopts[li].name, optarg,
						why ? why : "invalid");
				return 2;
			}
			break;
		default:
			ret = common_opt(c, events_usage, "table|json|compact", &o, &format);
			if (ret)
				return ret == 1 ? 0 : ret;
		}
	}
	if ((ret = no_arguments(argc, argv, events_usage)))
		return ret;
	if (follow)
		return events_follow(o.socket, &f, last, format, !no_headers);
	if ((ret = call(&o, json_pack("{s:s}", "cmd", "events"), &rep)))
		return ret;
	if (format == EV_TABLE && !no_headers)
		event_header();
	n = 0;
	json_array_foreach(json_object_get(rep, "events"), i, e) n += pw_ev_filter_match(&f, e);
	if (last >= 0 && (size_t)last < n)
		skip = n - (size_t)last;
	json_array_foreach(json_object_get(rep, "events"), i, e)
	{
		if (!pw_ev_filter_match(&f, e))
			continue;
		if (skip) {
			skip--;
			continue;
		}
		event_print(e, format);
	}
	json_decref(rep);
	return 0;
}

int pw_cli_parse_long(const char *opt, const char *arg, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "%s %s: expected a number from %ld to %ld\n", opt, arg, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* ---- explain ---- */

static const char explain_usage[] =
	"usage: podwall explain --pod NAMESPACE/NAME --to HOST[:PORT][/PROTO] [-o json]\n"
	"                       [--socket PATH]\n\n"
	"What a connection from the pod to HOST would meet now: allowed or denied, by\n"
	"which policy and rule, what the pod learned for the name and for how long,\n"
	"other names it resolved to the same addresses (a CDN or shared host), and what\n"
	"the pod must do. HOST is a name or an address; PROTO is TCP (default), UDP or\n"
	"SCTP. Reads the agent's state; changes nothing. Exits 0 when it would be\n"
	"allowed, 3 when denied.\n\n"
	"EXAMPLES\n"
	"  podwall explain --pod agents/coder-0 --to api.github.com:443\n"
	"  podwall explain --pod agents/coder-0 --to 10.20.1.5:5432/tcp\n"
	"  podwall explain --pod ci/runner-0 --to registry.npmjs.org -o json | jq .advice\n";

int pw_cli_explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{"pod", required_argument, NULL, 'p'},
		{"to", required_argument, NULL, 't'},
		{},
	};
	struct cli_opts o = {.socket = default_socket()};
	const char *to = NULL;
	json_t *rep, *x, *v;
	size_t i;
	int c, ret, format = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		if (c == 't')
			to = optarg;
		else if ((ret = common_opt(c, explain_usage, "json|table", &o, &format)))
			return ret == 1 ? 0 : ret;
	}
	o.json = format == 0;
	if (!o.pod || !to || optind < argc) {
		fprintf(stderr, "podwall explain: --pod and --to are needed\n\n%s", explain_usage);
		return 2;
	}
	if ((ret = call(&o, json_pack("{s:s,s:s,s:s}", "cmd", "explain", "pod", o.pod, "to", to),
			&rep)))
		return ret;
	x = json_object_get(rep, "explain");
	ret = strcmp(jstr(x, "verdict") ?: "", "allow") ? 3 : 0;
	if (o.json)
		return print_reply(rep, x, ret);
	json_t *t = json_object_get(x, "to");
	char port[16] = "any port";

	if (json_integer_value(json_object_get(t, "port")))
		snprintf(port, sizeof(port), "%lld",
			 (long long)json_integer_value(json_object_get(t, "port")));
	printf("%s -> %s %s/%s: %s (%s)\n", jstr(x, "pod"), jstr(t, "host"), port, jstr(t, "proto"),
	       !ret ? "ALLOWED" : "DENIED", jstr(x, "reason"));
	printf("  why:      %s\n", jstr(x, "why"));
	{
		char *p = join(json_object_get(x, "policies"), ", ");

		printf("  pod:      mode %s, policies %s\n", jstr(x, "mode"), p && *p ? p : "none");
		free(p);
	}
	json_array_foreach(json_object_get(x, "rules"), i, v)
	{
		char *ports = join(json_object_get(v, "ports"), " "),
		     *pols = join(json_object_get(v, "policies"), ", ");

		if (jstr(v, "cidr"))
			printf("  rule:     toCIDRs %s/%lld, ports %s\n", jstr(v, "cidr"),
			       (long long)json_integer_value(json_object_get(v, "prefix")),
			       ports && *ports ? ports : "none (an except)");
		else
			printf("  rule:     %s %s, ports %s%s%s\n", jstr(v, "kind"),
			       jstr(v, "pattern"), ports && *ports ? ports : "-",
			       pols && *pols ? ", in " : "", pols ? pols : "");
		free(ports);
		free(pols);
	}
	json_array_foreach(json_object_get(x, "learned"), i, v)
		printf("  learned:  %s, %llds left\n", jstr(v, "ip"),
		       (long long)json_integer_value(json_object_get(v, "ttl_left")));
	json_array_foreach(json_object_get(x, "shared"), i, v)
	{
		char *n = join(json_object_get(v, "names"), ", ");

		printf("  shared:   %s is also %s\n", jstr(v, "ip"), n ? n : "");
		free(n);
	}
	if (jstr(x, "warning"))
		printf("  WARNING:  %s\n", jstr(x, "warning"));
	if (jstr(x, "audit"))
		printf("  audit:    %s\n", jstr(x, "audit"));
	printf("  do:       %s\n", jstr(x, "advice"));
	json_decref(rep);
	return ret;
}

/* ---- suggest ---- */

static const char suggest_usage[] =
	"usage: podwall suggest (--pod NAMESPACE/NAME | --selector K=V[,K=V] [--namespace NS])\n"
	"                       [--since DURATION] [--no-collapse] [-o yaml|json] [--socket "
	"PATH]\n\n"
	"An EgressPolicy (mode: enforce) from what the pods reached or tried: the names\n"
	"they resolved and connected to, and the addresses they reached without a name\n"
	"(run them in audit mode first: every destination is then a record). Names are\n"
	"grouped by the ports they need; siblings with the same ports become *.parent\n"
	"(all one label below it) or **.parent (at several depths) unless --no-collapse;\n"
	"addresses become /32 or /128 toCIDRs rules. Check it, then apply it.\n\n"
	"EXAMPLES\n"
	"  podwall suggest --pod agents/coder-0 --since 1h > coder.yaml\n"
	"  podwall suggest --selector app=ci-runner --namespace ci | podwall validate /dev/stdin\n"
	"  podwall suggest --pod ci/runner-0 --no-collapse -o json | jq .spec.egress\n";

int pw_cli_suggest(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{"pod", required_argument, NULL, 'p'},
		{"selector", required_argument, NULL, 'l'},
		{"namespace", required_argument, NULL, 'n'},
		{"since", required_argument, NULL, 'S'},
		{"no-collapse", no_argument, NULL, 'C'},
		{},
	};
	struct cli_opts o = {.socket = default_socket()};
	const char *sel = NULL, *ns = NULL;
	bool collapse = true;
	uint64_t since = 0;
	json_t *req, *rep;
	int c, ret, format = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (!strchr(optarg, '=')) {
				fprintf(stderr, "--selector %s: expected KEY=VALUE[,KEY=VALUE]\n",
					optarg);
				return 2;
			}
			sel = optarg;
			break;
		case 'n':
			ns = optarg;
			break;
		case 'S': {
			struct timespec rt;
			uint64_t d;

			if (pw_duration_parse(optarg, &d)) {
				fprintf(stderr, "--since %s: expected a duration like 30m, 1h30m\n",
					optarg);
				return 2;
			}
			clock_gettime(CLOCK_REALTIME, &rt);
			since = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec - d;
			break;
		}
		case 'C':
			collapse = false;
			break;
		default:
			if ((ret = common_opt(c, suggest_usage, "yaml|json", &o, &format)))
				return ret == 1 ? 0 : ret;
		}
	}
	if (!o.pod == !sel || optind < argc) {
		fprintf(stderr, "podwall suggest: --pod or --selector (one of them)\n\n%s",
			suggest_usage);
		return 2;
	}
	req = json_pack("{s:s,s:b}", "cmd", "suggest", "collapse", collapse);
	if (o.pod)
		json_object_set_new(req, "pod", json_string(o.pod));
	if (sel)
		json_object_set_new(req, "selector", json_string(sel));
	if (ns)
		json_object_set_new(req, "namespace", json_string(ns));
	if (since)
		json_object_set_new(req, "since_ns", json_integer((json_int_t)since));
	if ((ret = call(&o, req, &rep)))
		return ret;
	out_yaml = format == 0;
	print_json(json_object_get(rep, "policy"));
	json_decref(rep);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's option table (agent/options.h): the defaults every option had
 * before the table, values parsed and refused (with the option and its range
 * named), every row in the usage text, unknown options refused; the word
 * lists of choices.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit/table.h"

#include "options.h"
#include "words.h"

/* What one parse returned and wrote. */
struct parsed {
	int ret;
	struct pw_agent_opts o;
	char *out, *err;
};

/* Parses "agent" + the words of args (NULL-terminated). */
static struct parsed *parse(const char *const *args)
{
	struct parsed *p = calloc(1, sizeof(*p));
	char *argv[64] = {"agent"};
	size_t out_len, err_len;
	FILE *out, *err;
	int argc = 1;

	assert_non_null(p);
	for (; args && *args; args++)
		argv[argc++] = (char *)*args;
	out = open_memstream(&p->out, &out_len);
	err = open_memstream(&p->err, &err_len);
	assert_non_null(out);
	assert_non_null(err);
	p->ret = pw_agent_parse_opts(argc, argv, &p->o, out, err);
	fclose(out);
	fclose(err);
	return p;
}

static void parsed_free(struct parsed *p)
{
	free(p->out);
	free(p->err);
	free(p);
}

/* The defaults of cli/main.c and agent.c before the table: unchanged. */
static void test_defaults(void **state)
{
	struct parsed *p;

	unsetenv("NODE_NAME");
	p = parse(NULL);
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->err, "");
	assert_string_equal(p->o.policy_dir, "/etc/podwall/policies");
	assert_string_equal(p->o.pin_dir, "/sys/fs/bpf/podwall");
	assert_string_equal(p->o.socket_path, "/run/podwall/podwall.sock");
	assert_string_equal(p->o.state_dir, "/run/podwall/state");
	assert_string_equal(p->o.metrics_addr, "127.0.0.1:9977");
	assert_string_equal(p->o.probe_addr, "127.0.0.1:9978");
	assert_false(p->o.metrics_pod_labels);
	assert_int_equal(p->o.n_resolvers, 0);
	assert_int_equal(p->o.n_search_domains, 1); /* the cluster domain */
	assert_string_equal(p->o.search_domains[0], "cluster.local");
	assert_int_equal(p->o.min_ttl, 5);
	assert_int_equal(p->o.max_ttl, 3600);
	assert_int_equal(p->o.max_addrs_per_name, 32);
	assert_int_equal(p->o.max_learned_per_pod, 4096);
	assert_int_equal(p->o.max_names_per_pod, 1024);
	assert_int_equal(p->o.events_keep, 4096);
	assert_int_equal(p->o.events_per_sec, 100);
	assert_int_equal(p->o.events_burst, 200);
	assert_int_equal(p->o.dns_hold_per_sec, 1000);
	assert_int_equal(p->o.dns_hold_burst, 2000);
	assert_int_equal(p->o.dns_queries_per_sec, 1000);
	assert_int_equal(p->o.dns_queries_burst, 2000);
	assert_int_equal(p->o.events_dns, 0);
	assert_int_equal(p->o.release_mark, 0x70770001);
	assert_int_equal(p->o.agent_timeout_ms, 3000);
	assert_int_equal(p->o.learned_grace, 300);
	assert_int_equal(p->o.flow_idle_tcp, 21600);
	assert_int_equal(p->o.flow_idle_other, 60);
	assert_int_equal(p->o.reconcile_interval, 10);
	assert_int_equal(p->o.n_guard, 0);
	assert_string_equal(p->o.cluster_domain, "cluster.local");
	assert_int_equal(p->o.hook, PW_HOOK_AUTO);
	assert_false(p->o.verbose);
	assert_false(p->o.k8s);
	assert_null(p->o.kubeconfig);
	assert_null(p->o.kube_context);
	assert_null(p->o.node_name);
	assert_null(p->o.dns_service);
	assert_null(p->o.cni_conflist);
	parsed_free(p);
}

/* Kubernetes mode: no policy directory unless given, the node from $NODE_NAME. */
static void test_k8s_defaults(void **state)
{
	const char *const k8s[] = {"--k8s", NULL};
	const char *const k8s_dir[] = {"--k8s", "--policy-dir", "/p", NULL};
	struct parsed *p;

	setenv("NODE_NAME", "node-1", 1);
	p = parse(k8s);
	assert_int_equal(p->ret, 0);
	assert_null(p->o.policy_dir);
	assert_string_equal(p->o.node_name, "node-1");
	parsed_free(p);
	p = parse(k8s_dir);
	assert_int_equal(p->ret, 0);
	assert_string_equal(p->o.policy_dir, "/p");
	parsed_free(p);
	unsetenv("NODE_NAME");
}

/* Every type of row sets its field. */
static void test_values(void **state)
{
	const char *const args[] = {"--min-ttl",
				    "30",
				    "--max-ttl",
				    "600",
				    "--release-mark",
				    "0x10",
				    "--hook",
				    "legacy",
				    "--resolver",
				    "10.43.0.10",
				    "--resolver",
				    "10.43.0.11",
				    "--search-domain",
				    "svc.example",
				    "--pod-cidr",
				    "10.42.0.0/16",
				    "--may-learn",
				    "10.42.9.0/24",
				    "--metrics-pod-labels",
				    "-v",
				    "--metrics-addr",
				    "",
				    "--cluster-domain",
				    "",
				    NULL};
	struct parsed *p = parse(args);

	assert_int_equal(p->ret, 0);
	assert_int_equal(p->o.min_ttl, 30);
	assert_int_equal(p->o.max_ttl, 600);
	assert_int_equal(p->o.release_mark, 0x10);
	assert_int_equal(p->o.hook, PW_HOOK_LEGACY);
	assert_int_equal(p->o.n_resolvers, 2);
	assert_string_equal(p->o.resolvers[1], "10.43.0.11");
	assert_int_equal(p->o.n_search_domains, 1);
	assert_string_equal(p->o.search_domains[0], "svc.example");
	assert_int_equal(p->o.n_guard, 2);
	assert_int_equal(p->o.guard[0].kind, PW_G_POD_CIDR);
	assert_string_equal(p->o.guard[0].prefix, "10.42.0.0/16");
	assert_int_equal(p->o.guard[1].kind, PW_G_EXEMPT);
	assert_true(p->o.metrics_pod_labels);
	assert_true(p->o.verbose);
	assert_string_equal(p->o.metrics_addr, "");
	assert_string_equal(p->o.cluster_domain, "");
	parsed_free(p);
}

struct refused_row {
	const char *name;
	const char *args[8];
	const char *message; /* what stderr must hold */
};

static const struct refused_row refused_rows[] = {
	{"above the range",
	 {"--min-ttl", "86401"},
	 "podwall agent: --min-ttl 86401: expected a number from 0 to 86400\n"},
	{"below the range",
	 {"--agent-timeout-ms", "99"},
	 "podwall agent: --agent-timeout-ms 99: expected a number from 100 to 600000\n"},
	{"negative",
	 {"--events-keep", "-1"},
	 "podwall agent: --events-keep -1: expected a number from 0 to 1000000\n"},
	{"not a number",
	 {"--max-ttl", "10s"},
	 "podwall agent: --max-ttl 10s: expected a number from 1 to 604800\n"},
	{"hex range",
	 {"--release-mark", "0"},
	 "podwall agent: --release-mark 0: expected a number from 0x1 to 0xffffffff\n"},
	{"unknown option",
	 {"--no-such-option"},
	 "podwall agent: unknown option --no-such-option (see 'podwall agent --help')\n"},
	{"unknown short option",
	 {"-x"},
	 "podwall agent: unknown option -x (see 'podwall agent --help')\n"},
	{"missing value",
	 {"--min-ttl"},
	 "podwall agent: --min-ttl needs a value (see 'podwall agent --help')\n"},
	{"bad choice",
	 {"--hook", "ebpf"},
	 "podwall agent: --hook ebpf: expected auto, tcx or legacy\n"},
	{"bad guard prefix", {"--never-learn", "10.0.0.0/33"}, "podwall agent: --never-learn "},
	{"bad dns service",
	 {"--k8s", "--dns-service", "kube-dns"},
	 "podwall agent: --dns-service kube-dns: expected NAMESPACE/NAME, or '' for none\n"},
	{"bad search domain", {"--search-domain", "a..b"}, "podwall agent: --search-domain a..b: "},
	{"k8s only",
	 {"--node-name", "n"},
	 "podwall agent: --kubeconfig, --node-name and --dns-service go with --k8s\n"},
	{"ttl order",
	 {"--min-ttl", "60", "--max-ttl", "30"},
	 "podwall agent: --min-ttl must not exceed --max-ttl\n"},
	{"argument", {"extra"}, "podwall agent: unexpected argument extra\n"},
};

static void test_refused(void **state)
{
	const struct refused_row *r = *state;
	struct parsed *p = parse(r->args);
	size_t n = strlen(r->message);

	assert_int_equal(p->ret, -EINVAL);
	/* a message that ends in ": " is a prefix (the reason is lib/core's) */
	if (r->message[n - 1] == ' ')
		assert_memory_equal(p->err, r->message, n);
	else
		assert_string_equal(p->err, r->message);
	parsed_free(p);
}

/* A repeatable option refuses one more than its room. */
static void test_list_full(void **state)
{
	const char *args[2 * PW_MAX_RESOLVER_ARGS + 3];
	struct parsed *p;
	char msg[64];
	int n = 0;

	for (int i = 0; i <= PW_MAX_RESOLVER_ARGS; i++) {
		args[n++] = "--resolver";
		args[n++] = "192.0.2.53";
	}
	args[n] = NULL;
	p = parse(args);
	assert_int_equal(p->ret, -EINVAL);
	snprintf(msg, sizeof(msg), "podwall agent: at most %d --resolver\n", PW_MAX_RESOLVER_ARGS);
	assert_string_equal(p->err, msg);
	parsed_free(p);
}

/* --help: the usage text on out, every row of the table in it, with its
 * default where it has one. */
static void test_usage_lists_every_option(void **state)
{
	const char *const help[] = {"--help", NULL};
	struct parsed *p = parse(help);

	assert_int_equal(p->ret, 1);
	assert_string_equal(p->err, "");
	assert_non_null(strstr(p->out, "usage: podwall agent [OPTIONS]"));
	for (size_t i = 0; i < pw_agent_n_opts; i++) {
		const struct pw_opt_spec *s = &pw_agent_opt_specs[i];
		char want[96];

		/* "  --name ARG" at the start of a line */
		if (s->sh)
			snprintf(want, sizeof(want), "\n  -%c, --%s%s%s", s->sh, s->name,
				 *s->arg ? " " : "", s->arg);
		else
			snprintf(want, sizeof(want), "\n  --%s%s%s", s->name, *s->arg ? " " : "",
				 s->arg);
		if (!strstr(p->out, want))
			fail_msg("usage text lacks '%s'", want);
	}
	assert_non_null(strstr(p->out, "\n  --events-burst N        deny event burst per pod "
				       "(default 200, 1 to 1000000)\n"));
	assert_non_null(strstr(p->out, "(default 0x70770001,"));
	assert_non_null(strstr(p->out, "(default auto)"));
	/* no option's line wider than 79 columns (an example may be) */
	for (const char *l = p->out; *l && strncmp(l, "EXAMPLES", 8);) {
		size_t len = strcspn(l, "\n");

		if (len > 79)
			fail_msg("usage line of %zu columns: %.*s", len, (int)len, l);
		l += len + !!l[len];
	}
	parsed_free(p);
}

/* The word lists of CHOICE rows and of the CLI's -o (lib/core/words.h). */
static void test_words(void **state)
{
	char buf[64];
	int len = 0;

	assert_int_equal(pw_word_index("auto|tcx|legacy", "tcx"), 1);
	assert_int_equal(pw_word_index("auto|tcx|legacy", "tc"), -1);
	assert_int_equal(pw_word_index("auto|tcx|legacy", ""), -1);
	assert_string_equal(pw_word_list("auto|tcx|legacy", buf, sizeof(buf)),
			    "auto, tcx or legacy");
	assert_string_equal(pw_word_list("json|table", buf, sizeof(buf)), "json or table");
	assert_string_equal(pw_word_list("json", buf, sizeof(buf)), "json");
	assert_non_null(pw_word_at("auto|tcx|legacy", 2, &len));
	assert_int_equal(len, 6);
	assert_null(pw_word_at("auto|tcx|legacy", 3, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_k8s_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_list_full),
		cmocka_unit_test(test_usage_lists_every_option),
		cmocka_unit_test(test_words),
	};
	int failed = cmocka_run_group_tests_name("options", tests, NULL, NULL);

	return failed + RUN_TABLE("options_refused", test_refused, refused_rows);
}

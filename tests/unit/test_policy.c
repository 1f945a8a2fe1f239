// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * EgressPolicy decoding, validation, YAML typing and pod selection.
 *
 * Valid policies live in tests/unit/testdata/policies/ (run from the repository
 * root, or set PW_TESTDATA to the testdata directory); error, typing and
 * selector cases are tables below, one cmocka test per row.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipaddr.h"
#include "policy.h"

/* ---- helpers ----------------------------------------------------------------- */

/* $PW_TESTDATA (default tests/unit/testdata, relative to the repository root,
 * as tools/run-tests.sh runs it) holds policies/. */
static const char *testdata_dir(void)
{
	static char dir[4096];
	const char *env = getenv("PW_TESTDATA");

	snprintf(dir, sizeof(dir), "%s/policies", env ? env : "tests/unit/testdata");
	return dir;
}

static char *read_testdata(const char *name, size_t *len)
{
	char path[4200];
	char *buf = NULL;
	FILE *f;
	long size;

	snprintf(path, sizeof(path), "%s/%s", testdata_dir(), name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s: %s (run from the repository root or set PW_TESTDATA)",
			 path, strerror(errno));
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	assert_true(size >= 0);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, (size_t)size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static struct pw_policy *parse_ok(const char *yaml, size_t len, const char *source, size_t *n)
{
	char err[PW_ERR_LEN] = "";
	struct pw_policy *v = NULL;
	int ret;

	ret = pw_policy_file_parse(yaml, len, source, &v, n, err, sizeof(err));
	if (ret)
		fail_msg("%s: unexpected error %d: %s", source, ret, err);
	return v;
}

static struct pw_policy *parse_file_ok(const char *name, size_t *n)
{
	struct pw_policy *v;
	size_t len;
	char *buf;

	buf = read_testdata(name, &len);
	v = parse_ok(buf, len, name, n);
	free(buf);
	return v;
}

static void assert_cidr(const struct pw_cidr *c, const char *text)
{
	union pw_ip addr;
	uint8_t family, prefix;
	const char *why;

	assert_int_equal(pw_cidr_parse(text, &family, &addr, &prefix, &why), 0);
	assert_int_equal(c->family, family);
	assert_int_equal(c->prefix, prefix);
	assert_memory_equal(&c->addr, &addr, sizeof(addr));
}

static void assert_port(const struct pw_port *p, uint8_t proto, uint16_t port, uint16_t end)
{
	assert_int_equal(p->proto, proto);
	assert_int_equal(p->port, port);
	assert_int_equal(p->end_port, end);
}

static void assert_fqdn(const struct pw_fqdn_rule *f, enum pw_fqdn_kind kind, const char *pat)
{
	assert_int_equal(f->kind, kind);
	assert_string_equal(f->pattern, pat);
}

/* "a=b,c=d" (or "" for none) into labels. */
static void labels_from(struct pw_labels *l, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;

	assert_non_null(copy);
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(pw_labels_set(l, kv, eq + 1), 0);
	}
	free(copy);
}

/* Run one table: each row its own cmocka test, named after the row. */
static int run_table(const char *group, CMUnitTestFunction fn, void *rows, size_t row_size,
		     size_t n, const char *(*name_of)(const void *row))
{
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int failed;

	assert_non_null(tests);
	for (size_t i = 0; i < n; i++) {
		void *row = (char *)rows + i * row_size;

		tests[i].name = name_of(row);
		tests[i].test_func = fn;
		tests[i].initial_state = row;
	}
	failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(tests);
	return failed;
}

/* ---- valid policies ------------------------------------------------------------ */

static void check_design_example(const struct pw_policy *p, const char *source)
{
	const struct pw_rule *r;

	assert_string_equal(p->name, "coding-agents");
	assert_string_equal(p->namespace, "agents");
	assert_string_equal(p->source, source);
	assert_int_equal(p->mode, PW_MODE_ENFORCE);
	assert_int_equal(p->selector.match_labels.n, 1);
	assert_string_equal(p->selector.match_labels.v[0].key, "app");
	assert_string_equal(p->selector.match_labels.v[0].value, "coding-agent");
	assert_int_equal(p->selector.n_exprs, 0);
	assert_int_equal(p->n_rules, 2);

	r = &p->rules[0];
	assert_int_equal(r->n_fqdns, 3);
	assert_fqdn(&r->fqdns[0], PW_FQDN_NAME, "api.anthropic.com");
	assert_fqdn(&r->fqdns[1], PW_FQDN_PATTERN, "*.github.com");
	assert_fqdn(&r->fqdns[2], PW_FQDN_PATTERN, "**.s3.amazonaws.com");
	assert_int_equal(r->n_cidrs, 0);
	assert_int_equal(r->n_ports, 1);
	assert_port(&r->ports[0], IPPROTO_TCP, 443, 0);

	r = &p->rules[1];
	assert_int_equal(r->n_fqdns, 0);
	assert_int_equal(r->n_cidrs, 1);
	assert_cidr(&r->cidrs[0].cidr, "10.20.0.0/16");
	assert_int_equal(r->cidrs[0].n_except, 1);
	assert_cidr(&r->cidrs[0].except[0], "10.20.9.0/24");
	assert_int_equal(r->n_ports, 1);
	assert_port(&r->ports[0], IPPROTO_TCP, 5432, 5440);
}

static void test_design_example(void **state)
{
	struct pw_policy *v;
	size_t n;

	v = parse_file_ok("design-example.yaml", &n);
	assert_int_equal(n, 1);
	check_design_example(&v[0], "design-example.yaml");
	pw_policies_free(v, n);
}

/* The same object as the API server hands it over: JSON, decoded directly. */
static void test_design_example_json(void **state)
{
	static const char json[] =
		"{\"apiVersion\": \"podwall.io/v1alpha1\", \"kind\": \"EgressPolicy\","
		" \"metadata\": {\"name\": \"coding-agents\", \"namespace\": \"agents\","
		"  \"uid\": \"6f1c\", \"resourceVersion\": \"42\", \"labels\": {\"x\": \"y\"}},"
		" \"spec\": {\"podSelector\": {\"matchLabels\": {\"app\": \"coding-agent\"}},"
		"  \"mode\": \"enforce\", \"egress\": ["
		"   {\"toFQDNs\": [{\"matchName\": \"api.anthropic.com\"},"
		"     {\"matchPattern\": \"*.github.com\"}, {\"matchPattern\": "
		"\"**.s3.amazonaws.com\"}],"
		"    \"ports\": [{\"port\": 443, \"protocol\": \"TCP\"}]},"
		"   {\"toCIDRs\": [{\"cidr\": \"10.20.0.0/16\", \"except\": [\"10.20.9.0/24\"]}],"
		"    \"ports\": [{\"port\": 5432, \"endPort\": 5440, \"protocol\": \"TCP\"}]}]},"
		" \"status\": {}}";
	char err[PW_ERR_LEN];
	struct pw_policy p;
	json_error_t jerr;
	json_t *obj;

	obj = json_loads(json, 0, &jerr);
	assert_non_null(obj);
	assert_int_equal(pw_policy_from_json(obj, "k8s", &p, err, sizeof(err)), 0);
	check_design_example(&p, "k8s");
	pw_policy_free(&p);
	json_decref(obj);
}

static void test_multi_document(void **state)
{
	const struct pw_sel_expr *e;
	struct pw_policy *v;
	size_t n;

	v = parse_file_ok("multi-doc.yaml", &n);
	assert_int_equal(n, 3);

	assert_string_equal(v[0].name, "web");
	assert_string_equal(v[0].namespace, "shop");
	assert_string_equal(v[0].source, "multi-doc.yaml");
	assert_int_equal(v[0].mode, PW_MODE_ENFORCE);
	assert_int_equal(v[0].selector.match_labels.n, 2);
	assert_string_equal(pw_labels_get(&v[0].selector.match_labels, "app.kubernetes.io/name"),
			    "web");
	assert_string_equal(pw_labels_get(&v[0].selector.match_labels, "tier"), "frontend");
	assert_int_equal(v[0].n_rules, 1);
	assert_int_equal(v[0].rules[0].n_fqdns, 1);
	/* normalized: lower case, trailing dot dropped */
	assert_fqdn(&v[0].rules[0].fqdns[0], PW_FQDN_NAME, "payments.example.com");
	assert_int_equal(v[0].rules[0].n_ports, 1);
	assert_port(&v[0].rules[0].ports[0], IPPROTO_TCP, 443, 0);

	assert_string_equal(v[1].name, "batch");
	assert_string_equal(v[1].namespace, "default");
	assert_int_equal(v[1].mode, PW_MODE_AUDIT);
	assert_int_equal(v[1].selector.match_labels.n, 0);
	assert_int_equal(v[1].selector.n_exprs, 2);
	e = &v[1].selector.exprs[0];
	assert_string_equal(e->key, "role");
	assert_int_equal(e->op, PW_SEL_IN);
	assert_int_equal(e->n_values, 2);
	assert_string_equal(e->values[0], "worker");
	assert_string_equal(e->values[1], "cron");
	e = &v[1].selector.exprs[1];
	assert_string_equal(e->key, "canary");
	assert_int_equal(e->op, PW_SEL_DOES_NOT_EXIST);
	assert_int_equal(e->n_values, 0);
	assert_int_equal(v[1].n_rules, 1);
	assert_int_equal(v[1].rules[0].n_cidrs, 1);
	assert_cidr(&v[1].rules[0].cidrs[0].cidr, "0.0.0.0/0");
	assert_int_equal(v[1].rules[0].cidrs[0].n_except, 2);
	assert_cidr(&v[1].rules[0].cidrs[0].except[0], "10.0.0.0/8");
	assert_cidr(&v[1].rules[0].cidrs[0].except[1], "192.168.0.0/16");
	assert_int_equal(v[1].rules[0].n_ports, 0); /* every protocol, every port */

	assert_string_equal(v[2].name, "lockdown");
	assert_string_equal(v[2].namespace, "shop");
	assert_int_equal(v[2].selector.match_labels.n, 0);
	assert_int_equal(v[2].selector.n_exprs, 0);
	assert_int_equal(v[2].n_rules, 0);
	pw_policies_free(v, n);
}

static void test_ipv6_and_ports(void **state)
{
	const struct pw_rule *r;
	struct pw_policy *v;
	size_t n;

	v = parse_file_ok("ipv6-ports.yaml", &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "v6.ranges");
	assert_string_equal(v[0].namespace, "net-test");
	assert_int_equal(v[0].selector.n_exprs, 1);
	assert_int_equal(v[0].selector.exprs[0].op, PW_SEL_NOT_IN);
	assert_int_equal(v[0].n_rules, 2);

	r = &v[0].rules[0];
	assert_int_equal(r->n_cidrs, 2);
	assert_cidr(&r->cidrs[0].cidr, "2001:db8::/32");
	assert_int_equal(r->cidrs[0].cidr.family, PW_FAMILY_V6);
	assert_int_equal(r->cidrs[0].n_except, 2);
	assert_cidr(&r->cidrs[0].except[0], "2001:db8:ff::/48");
	assert_cidr(&r->cidrs[0].except[1], "2001:db8:0:1::5/128");
	assert_cidr(&r->cidrs[1].cidr, "fd00::/8");
	assert_int_equal(r->cidrs[1].n_except, 0);
	assert_null(r->cidrs[1].except);
	assert_int_equal(r->n_ports, 4);
	assert_port(&r->ports[0], IPPROTO_TCP, 8000, 8099); /* protocol defaults to TCP */
	assert_port(&r->ports[1], IPPROTO_UDP, 0, 0);	    /* every UDP port */
	assert_port(&r->ports[2], IPPROTO_SCTP, 9999, 0);
	assert_port(&r->ports[3], IPPROTO_UDP, 65535, 65535);

	r = &v[0].rules[1];
	assert_int_equal(r->n_cidrs, 1);
	assert_cidr(&r->cidrs[0].cidr, "198.51.100.7/32");
	assert_int_equal(r->cidrs[0].cidr.family, PW_FAMILY_V4);
	assert_int_equal(r->n_ports, 0);
	assert_null(r->ports);
	pw_policies_free(v, n);
}

/* Every file in testdata/policies/ must parse: examples added later are covered. */
static void test_all_testdata_parse(void **state)
{
	struct dirent *de;
	int files = 0;
	DIR *dir;

	dir = opendir(testdata_dir());
	if (!dir)
		fail_msg("cannot open %s: %s (run from the repository root or set PW_TESTDATA)",
			 testdata_dir(), strerror(errno));
	while ((de = readdir(dir))) {
		struct pw_policy *v;
		size_t n;

		if (!strstr(de->d_name, ".yaml"))
			continue;
		v = parse_file_ok(de->d_name, &n);
		assert_true(n > 0);
		pw_policies_free(v, n);
		files++;
	}
	closedir(dir);
	assert_true(files >= 3);
}

static void test_audit_mode_and_defaults(void **state)
{
	static const char yaml[] = "apiVersion: podwall.io/v1alpha1\n"
				   "kind: EgressPolicy\n"
				   "metadata: {name: quiet}\n"
				   "spec:\n"
				   "  podSelector: {}\n"
				   "  mode: audit\n"
				   "  egress:\n"
				   "  - toFQDNs: [{matchPattern: api.example.org}]\n"
				   "    ports: [{}]\n"
				   "  - toCIDRs: [{cidr: 192.0.2.0/24, except: []}]\n"
				   "    ports: []\n";
	struct pw_policy *v;
	size_t n;

	v = parse_ok(yaml, sizeof(yaml) - 1, "a.yaml", &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].mode, PW_MODE_AUDIT);
	assert_string_equal(v[0].namespace, "default");
	/* a matchPattern without a wildcard is an exact name, kept as a pattern */
	assert_fqdn(&v[0].rules[0].fqdns[0], PW_FQDN_PATTERN, "api.example.org");
	assert_int_equal(v[0].rules[0].n_ports, 1);
	assert_port(&v[0].rules[0].ports[0], IPPROTO_TCP, 0, 0); /* every TCP port */
	assert_int_equal(v[0].rules[1].cidrs[0].n_except, 0);
	assert_int_equal(v[0].rules[1].n_ports, 0);
	pw_policies_free(v, n);
}

/* Explicit nulls read as absent fields, as in Kubernetes. */
static void test_nulls_are_absent(void **state)
{
	static const char yaml[] = "apiVersion: podwall.io/v1alpha1\n"
				   "kind: EgressPolicy\n"
				   "metadata: {name: n, namespace: ~}\n"
				   "spec:\n"
				   "  podSelector: {matchLabels: null, matchExpressions: ~}\n"
				   "  mode:\n"
				   "  egress:\n"
				   "  - toCIDRs: [{cidr: 10.0.0.0/8, except: null}]\n"
				   "    ports: [{port: 80, protocol: null, endPort: ~}]\n";
	struct pw_policy *v;
	size_t n;

	v = parse_ok(yaml, sizeof(yaml) - 1, "n.yaml", &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].namespace, "default");
	assert_int_equal(v[0].mode, PW_MODE_ENFORCE);
	assert_int_equal(v[0].rules[0].cidrs[0].n_except, 0);
	assert_port(&v[0].rules[0].ports[0], IPPROTO_TCP, 80, 0);
	pw_policies_free(v, n);
}

/* A file with no document is refused, never read as "no policies": a
 * truncated file must not open the pods its policies selected. */
static void test_empty_file(void **state)
{
	static const char *const inputs[] = {"",      "# only a comment\n", "\n\n  \n",
					     "---\n", "---\n...\n---\n",    "--- # c\n---\n"};
	char err[PW_ERR_LEN];
	struct pw_policy *v = (void *)1;
	size_t n = 7;

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		assert_int_equal(pw_policy_file_parse(inputs[i], strlen(inputs[i]), "e.yaml", &v,
						      &n, err, sizeof(err)),
				 -EINVAL);
		assert_null(v);
		assert_int_equal(n, 0);
		assert_string_equal(err, "e.yaml: holds no document (an empty file is refused; "
					 "delete the file to remove its policies)");
	}
}

/* No metadata.namespace: valid, in "default", with a warning naming the file
 * and the document; a document that names its namespace has none. */
static void test_namespace_missing_warns(void **state)
{
	static const char yaml[] = "apiVersion: podwall.io/v1alpha1\n"
				   "kind: EgressPolicy\n"
				   "metadata: {name: a, namespace: e2e}\n"
				   "spec: {podSelector: {}, egress: []}\n"
				   "---\n"
				   "apiVersion: podwall.io/v1alpha1\n"
				   "kind: EgressPolicy\n"
				   "metadata: {name: b}\n"
				   "spec: {podSelector: {}, egress: []}\n";
	struct pw_policy *v;
	size_t n;

	v = parse_ok(yaml, sizeof(yaml) - 1, "w.yaml", &n);
	assert_int_equal(n, 2);
	assert_null(v[0].warning);
	assert_string_equal(v[1].namespace, "default");
	assert_non_null(v[1].warning);
	assert_string_equal(v[1].warning, "w.yaml (document 2): metadata.namespace: missing, "
					  "policy b applies to namespace \"default\"");
	pw_policies_free(v, n);
}

/* The quoted "443" stays a string through YAML and is refused as a port. */
static void test_quoted_port_refused(void **state)
{
	static const char yaml[] = "apiVersion: podwall.io/v1alpha1\n"
				   "kind: EgressPolicy\n"
				   "metadata: {name: q}\n"
				   "spec:\n"
				   "  podSelector: {}\n"
				   "  egress:\n"
				   "  - toFQDNs: [{matchName: example.com}]\n"
				   "    ports: [{port: \"443\"}]\n";
	char err[PW_ERR_LEN];
	struct pw_policy *v;
	json_t *docs, *port;
	size_t n;

	assert_int_equal(pw_yaml_to_json(yaml, sizeof(yaml) - 1, &docs, err, sizeof(err)), 0);
	assert_int_equal(json_unpack(json_array_get(docs, 0), "{s:{s:[{s:[{s:o}]}]}}", "spec",
				     "egress", "ports", "port", &port),
			 0);
	assert_true(json_is_string(port));
	assert_string_equal(json_string_value(port), "443");
	json_decref(docs);

	assert_int_equal(
		pw_policy_file_parse(yaml, sizeof(yaml) - 1, "q.yaml", &v, &n, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "q.yaml: spec.egress[0].ports[0].port: must be an integer from 1 "
				 "to 65535, not the string \"443\" (remove the quotes)");
}

/* On error, pw_policy_from_json leaves *out exactly as it was. */
static void test_from_json_error_leaves_out(void **state)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{
			"{\"apiVersion\": \"podwall.io/v1alpha1\", \"kind\": \"EgressPolicy\","
			" \"metadata\": {\"name\": \"p\"}, \"spec\": {\"podSelector\": {},"
			" \"egress\": [{\"toCIDRs\": [{\"cidr\": \"10.0.0.0/8\"}],"
			" \"ports\": [{\"port\": 443.0}]}]}}",
			"k8s: spec.egress[0].ports[0].port: must be an integer from 1 to 65535, "
			"not a "
			"number",
		},
		{
			"{\"apiVersion\": \"podwall.io/v1alpha1\", \"kind\": \"EgressPolicy\","
			" \"metadata\": {\"name\": \"p\\u0000x\"}, \"spec\": {\"podSelector\": "
			"{}}}",
			"k8s: metadata.name: contains a NUL character",
		},
		{"[1, 2]", "k8s: must be a mapping (an EgressPolicy object), not a list"},
	};
	struct pw_policy out, before;
	char err[PW_ERR_LEN];
	json_error_t jerr;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *obj = json_loads(cases[i].json, JSON_ALLOW_NUL, &jerr);

		assert_non_null(obj);
		memset(&out, 0xa5, sizeof(out));
		before = out;
		assert_int_equal(pw_policy_from_json(obj, "k8s", &out, err, sizeof(err)), -EINVAL);
		assert_memory_equal(&out, &before, sizeof(out));
		assert_string_equal(err, cases[i].want);
		json_decref(obj);
	}
	assert_int_equal(pw_policy_from_json(NULL, "k8s", &out, err, sizeof(err)), -EINVAL);
}

/* A short or missing error buffer truncates the message and nothing else. */
static void test_small_err_buffer(void **state)
{
	static const char yaml[] = "kind: EgressPolicy\n";
	struct pw_policy *v;
	char err[8];
	size_t n;

	assert_int_equal(pw_policy_file_parse(yaml, sizeof(yaml) - 1, "long-source-name.yaml", &v,
					      &n, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "long-so");
	assert_int_equal(pw_policy_file_parse(yaml, sizeof(yaml) - 1, "s.yaml", &v, &n, NULL, 0),
			 -EINVAL);
	assert_null(v);
}

static void test_labels_set_get(void **state)
{
	struct pw_labels l = {0};

	assert_null(pw_labels_get(&l, "app"));
	assert_int_equal(pw_labels_set(&l, "app", "web"), 0);
	assert_int_equal(pw_labels_set(&l, "tier", ""), 0);
	assert_int_equal(pw_labels_set(&l, "app", "api"), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(pw_labels_get(&l, "app"), "api");
	assert_string_equal(pw_labels_get(&l, "tier"), "");
	assert_null(pw_labels_get(NULL, "app"));
	pw_labels_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

/* ClusterEgressPolicy spec.deny: an entry each, its toCIDRs with their excepts and
 * its ports (none: every port). */
static void test_cluster_deny(void **state)
{
	static const char yaml[] =
		"apiVersion: podwall.io/v1alpha1\n"
		"kind: ClusterEgressPolicy\n"
		"metadata: {name: base}\n"
		"spec:\n"
		"  namespaceSelector: {}\n"
		"  deny:\n"
		"  - toCIDRs: [{cidr: 169.254.0.0/16}, {cidr: 'fd00:ec2::/32'}]\n"
		"  - toCIDRs: [{cidr: 10.0.0.0/8, except: [10.20.0.0/16]}]\n"
		"    ports: [{port: 22}, {port: 5000, endPort: 5100, protocol: UDP}]\n";
	static const char bad[] = "apiVersion: podwall.io/v1alpha1\n"
				  "kind: ClusterEgressPolicy\n"
				  "metadata: {name: base}\n"
				  "spec:\n"
				  "  namespaceSelector: {}\n"
				  "  deny:\n"
				  "  - toCIDRs: [{cidr: 169.254.0.0/16}]\n"
				  "  - toCIDRs: []\n";
	char err[PW_ERR_LEN] = "";
	struct pw_policy *v = NULL;
	size_t n = 0;

	v = parse_ok(yaml, sizeof(yaml) - 1, "d.yaml", &n);
	assert_int_equal(n, 1);
	assert_true(v[0].cluster);
	assert_int_equal(v[0].n_deny, 2);
	assert_int_equal(v[0].deny[0].n_cidrs, 2);
	assert_cidr(&v[0].deny[0].cidrs[0].cidr, "169.254.0.0/16");
	assert_cidr(&v[0].deny[0].cidrs[1].cidr, "fd00:ec2::/32");
	assert_int_equal(v[0].deny[0].n_ports, 0);
	assert_int_equal(v[0].deny[1].n_cidrs, 1);
	assert_cidr(&v[0].deny[1].cidrs[0].cidr, "10.0.0.0/8");
	assert_int_equal(v[0].deny[1].cidrs[0].n_except, 1);
	assert_cidr(&v[0].deny[1].cidrs[0].except[0], "10.20.0.0/16");
	assert_int_equal(v[0].deny[1].n_ports, 2);
	assert_int_equal(v[0].deny[1].ports[0].port, 22);
	assert_int_equal(v[0].deny[1].ports[0].proto, IPPROTO_TCP);
	assert_int_equal(v[0].deny[1].ports[1].port, 5000);
	assert_int_equal(v[0].deny[1].ports[1].end_port, 5100);
	assert_int_equal(v[0].deny[1].ports[1].proto, IPPROTO_UDP);
	pw_policies_free(v, n);
	v = NULL;
	assert_int_equal(
		pw_policy_file_parse(bad, sizeof(bad) - 1, "d.yaml", &v, &n, err, sizeof(err)),
		-EINVAL);
	assert_null(v);
	assert_string_equal(err, "d.yaml: spec.deny[1]: needs at least one prefix in toCIDRs (a "
				 "deny names CIDRs only)");
}

/* toServices (namespace defaults to the policy's; a ClusterEgressPolicy must
 * name one) and toEntities. */
static void test_services_entities(void **state)
{
	static const char yaml[] =
		"apiVersion: podwall.io/v1alpha1\n"
		"kind: EgressPolicy\n"
		"metadata: {name: p, namespace: agents}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  egress:\n"
		"  - toServices: [{name: gw}, {name: db, namespace: data}]\n"
		"    ports: [{port: 5432}]\n"
		"  - toEntities: [kube-apiserver, cluster-dns, kube-apiserver]\n";
	static const char cluster[] = "apiVersion: podwall.io/v1alpha1\n"
				      "kind: ClusterEgressPolicy\n"
				      "metadata: {name: c}\n"
				      "spec:\n"
				      "  namespaceSelector: {}\n"
				      "  egress:\n"
				      "  - toServices: [{name: gw}]\n";
	char err[PW_ERR_LEN] = "";
	struct pw_policy *v = NULL;
	size_t n = 0;

	(void)state;
	v = parse_ok(yaml, sizeof(yaml) - 1, "s.yaml", &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].rules[0].n_services, 2);
	assert_string_equal(v[0].rules[0].services[0].namespace, "agents");
	assert_string_equal(v[0].rules[0].services[0].name, "gw");
	assert_string_equal(v[0].rules[0].services[1].namespace, "data");
	assert_string_equal(v[0].rules[0].services[1].name, "db");
	assert_int_equal(v[0].rules[0].n_ports, 1);
	assert_int_equal(v[0].rules[0].entities, 0);
	assert_int_equal(v[0].rules[1].entities, PW_ENTITY_KUBE_APISERVER | PW_ENTITY_CLUSTER_DNS);
	assert_int_equal(v[0].rules[1].peers.n, 0); /* nothing until the caller resolves it */
	pw_policies_free(v, n);
	v = NULL;
	assert_int_equal(pw_policy_file_parse(cluster, sizeof(cluster) - 1, "c.yaml", &v, &n, err,
					      sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "c.yaml: spec.egress[0].toServices[0]: needs namespace (a "
				 "ClusterEgressPolicy has none to default to)");
}

/* ---- validation errors ------------------------------------------------------- */

#define HEAD	"apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
#define META	HEAD "metadata: {name: p}\n"
#define SPEC	META "spec:\n  podSelector: {}\n"
#define EGRESS	SPEC "  egress:\n"
#define RULE	EGRESS "  - toFQDNs: [{matchName: example.com}]\n"
#define SEL(x)	META "spec:\n  podSelector: " x "\n"
#define FQDN(x) EGRESS "  - toFQDNs: [" x "]\n"
#define CIDR(x) EGRESS "  - toCIDRs: [" x "]\n"
#define PORT(x) RULE "    ports: [" x "]\n"

#define R4(x)	x x x x
#define R16(x)	R4(R4(x))
#define R64(x)	R4(R16(x))
#define R256(x) R4(R64(x))
#define LABEL62 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LABEL64 LABEL62 "aa"

struct err_case {
	const char *name;
	const char *yaml;
	const char *want; /* substring of the message, starting with the source */
};

/* clang-format off */
static const struct err_case err_cases[] = {
	/* YAML */
	{"yaml syntax", "a: [1, 2\n", "t.yaml: line 2 column 1: not valid YAML: did not find "
				      "expected ',' or ']'"},
	{"yaml bad indent", HEAD "metadata:\n  name: p\n namespace: x\n",
	 "t.yaml: line 5 column 2: not valid YAML"},
	{"yaml anchor", HEAD "metadata: &m {name: p}\n",
	 "t.yaml: line 3 column 11: metadata: YAML anchors (&m) are not supported"},
	{"yaml alias", META "spec: *m\n", "t.yaml: line 4 column 7: spec: YAML aliases are not "
					  "supported"},
	{"yaml merge key", SPEC "  <<: *base\n", "t.yaml: line 6 column 7: spec.<<: YAML aliases"},
	{"yaml duplicate key", META "metadata: {name: q}\n",
	 "t.yaml: line 4 column 1: duplicate key \"metadata\""},
	{"yaml duplicate nested key", RULE "    ports: []\n    ports: [{port: 1}]\n",
	 "t.yaml: line 9 column 5: spec.egress[0]: duplicate key \"ports\""},
	{"yaml integer key", EGRESS "  - 443: x\n",
	 "spec.egress[0]: mapping key \"443\" is not a string; quote it"},
	{"yaml null key", SPEC "  ~: x\n", "t.yaml: line 6 column 3: spec: mapping key \"~\" is "
					   "not a string"},
	{"yaml complex key", "? [a]\n: b\n", "t.yaml: line 1 column 3: mapping key must be a "
					     "string, not a list"},
	{"yaml leading zero", PORT("{port: 0443}"),
	 "spec.egress[0].ports[0].port: 0443: integer with a leading zero is ambiguous"},
	{"yaml integer overflow", PORT("{port: 99999999999999999999}"),
	 "spec.egress[0].ports[0].port: 99999999999999999999: integer out of range"},
	{"yaml int tag", PORT("{port: !!int 443}"),
	 "spec.egress[0].ports[0].port: YAML tag tag:yaml.org,2002:int is not supported"},
	{"yaml NUL escape", HEAD "metadata: {name: \"p\\0q\"}\n",
	 "metadata.name: string contains a NUL character"},
	{"yaml too deep", "a: " R64("[") "]\n", "nested more than 64 levels deep"},
	/* document */
	{"not a mapping", "- a\n- b\n",
	 "t.yaml: must be a mapping (an EgressPolicy object), not a list"},
	{"apiVersion missing", "kind: EgressPolicy\n",
	 "t.yaml: apiVersion: required (podwall.io/v1alpha1)"},
	{"apiVersion wrong", "apiVersion: podwall.io/v1\nkind: EgressPolicy\n",
	 "t.yaml: apiVersion: must be podwall.io/v1alpha1, not \"podwall.io/v1\""},
	{"kind wrong", "apiVersion: podwall.io/v1alpha1\nkind: NetworkPolicy\n",
	 "t.yaml: kind: must be EgressPolicy, not \"NetworkPolicy\""},
	{"kind not a string", "apiVersion: podwall.io/v1alpha1\nkind: [EgressPolicy]\n",
	 "t.yaml: kind: must be a string, not a list"},
	{"unknown top-level field", SPEC "Spec: {}\n",
	 "t.yaml: Spec: unknown field (expected apiVersion, kind, metadata, spec or status)"},
	{"metadata missing", HEAD "spec: {podSelector: {}}\n", "t.yaml: metadata: required"},
	{"metadata not a mapping", HEAD "metadata: p\n",
	 "t.yaml: metadata: must be a mapping, not a string"},
	{"name missing", HEAD "metadata: {namespace: x}\n", "t.yaml: metadata.name: required"},
	{"name integer", HEAD "metadata: {name: 42}\n",
	 "t.yaml: metadata.name: must be a string, not an integer (quote it)"},
	{"name upper case", HEAD "metadata: {name: My_Policy}\n",
	 "t.yaml: metadata.name: \"My_Policy\" is not a valid name (DNS subdomain): may contain "
	 "only lower-case letters, digits, '-' and '.'"},
	{"name leading dash", HEAD "metadata: {name: -p}\n",
	 "metadata.name: \"-p\" is not a valid name (DNS subdomain): must start with"},
	{"name empty part", HEAD "metadata: {name: a..b}\n",
	 "metadata.name: \"a..b\" is not a valid name (DNS subdomain): each dot-separated part"},
	{"name too long", HEAD "metadata: {name: " R4(LABEL64 ".") "a}\n",
	 "is not a valid name (DNS subdomain): must be at most 253 characters"},
	{"namespace with dot", HEAD "metadata: {name: p, namespace: a.b}\n",
	 "t.yaml: metadata.namespace: \"a.b\" is not a valid namespace (DNS label): may contain "
	 "only lower-case letters, digits and '-'"},
	{"namespace empty", HEAD "metadata: {name: p, namespace: \"\"}\n",
	 "metadata.namespace: \"\" is not a valid namespace (DNS label): must not be empty"},
	{"spec missing", META, "t.yaml: spec: required"},
	{"spec not a mapping", META "spec: [a]\n", "t.yaml: spec: must be a mapping, not a list"},
	{"allowPrivate not a boolean", RULE "    allowPrivate: \"yes\"\n",
	 "t.yaml: spec.egress[0].allowPrivate: must be true or false, not a string"},
	{"allowPrivate on a CIDR rule", CIDR("{cidr: 10.0.0.0/8}") "    allowPrivate: true\n",
	 "t.yaml: spec.egress[0].allowPrivate: only applies to toFQDNs"},
	{"spec unknown field", SPEC "  egres: []\n",
	 "t.yaml: spec.egres: unknown field (expected podSelector, mode, denyAction, egress, dns "
	 "or visibility)"},
	{"visibility unknown entry", SPEC "  visibility: [allowed, flows]\n",
	 "t.yaml: spec.visibility[1]: must be allowed or dns, not \"flows\""},
	{"visibility not a list", SPEC "  visibility: allowed\n",
	 "t.yaml: spec.visibility: must be a list, not a string"},
	{"visibility entry not a string", SPEC "  visibility: [{allowed: true}]\n",
	 "t.yaml: spec.visibility[0]: must be a string, not a mapping"},
	{"denyAction unknown", SPEC "  denyAction: Reject\n",
	 "t.yaml: spec.denyAction: must be drop or reject, not \"Reject\""},
	{"denyAction not a string", SPEC "  denyAction: true\n",
	 "t.yaml: spec.denyAction: must be a string"},
	{"dns unknown field", SPEC "  dns: {resolveName: []}\n",
	 "t.yaml: spec.dns.resolveName: unknown field (expected resolveNames, resolveAnyName or "
	 "refuseWith)"},
	{"dns not a mapping", SPEC "  dns: []\n", "t.yaml: spec.dns: must be a mapping, not a list"},
	{"dns refuseWith invalid", SPEC "  dns: {refuseWith: refused}\n",
	 "t.yaml: spec.dns.refuseWith: must be REFUSED or NXDOMAIN, not \"refused\""},
	{"dns resolveAnyName not boolean", SPEC "  dns: {resolveAnyName: \"yes\"}\n",
	 "t.yaml: spec.dns.resolveAnyName: must be true or false, not a string"},
	{"dns resolveNames bad pattern", SPEC "  dns: {resolveNames: [{matchPattern: \"a.*.com\"}]}\n",
	 "t.yaml: spec.dns.resolveNames[0].matchPattern: \"a.*.com\": '*' is allowed only as a "
	 "leading \"*.\" or \"**.\""},
	{"dns resolveNames matchName with wildcard", SPEC "  dns: {resolveNames: [{matchName: \"*.x.com\"}]}\n",
	 "t.yaml: spec.dns.resolveNames[0].matchName: \"*.x.com\": matchName takes no wildcard; use "
	 "matchPattern"},
	{"spec podSelector missing", META "spec: {egress: []}\n",
	 "t.yaml: spec.podSelector: required (podSelector: {} selects every pod"},
	{"mode invalid", SPEC "  mode: Audit\n",
	 "t.yaml: spec.mode: must be enforce or audit, not \"Audit\""},
	{"mode boolean", SPEC "  mode: true\n",
	 "t.yaml: spec.mode: must be a string, not a boolean (quote it)"},
	/* selector */
	{"selector not a mapping", SEL("app=web"),
	 "t.yaml: spec.podSelector: must be a mapping, not a string"},
	{"selector unknown field", SEL("{matchLabel: {app: web}}"),
	 "t.yaml: spec.podSelector.matchLabel: unknown field (expected matchLabels or "
	 "matchExpressions)"},
	{"matchLabels integer value", SEL("{matchLabels: {tier: 1}}"),
	 "t.yaml: spec.podSelector.matchLabels[\"tier\"]: must be a string, not an integer "
	 "(quote it)"},
	{"matchLabels list", SEL("{matchLabels: [app]}"),
	 "t.yaml: spec.podSelector.matchLabels: must be a mapping, not a list"},
	{"matchLabels bad key", SEL("{matchLabels: {\"bad key\": x}}"),
	 "spec.podSelector.matchLabels[\"bad key\"]: label key \"bad key\": may contain only "
	 "letters, digits, '-', '_' and '.'"},
	{"matchLabels bad prefix", SEL("{matchLabels: {\"Example.com/app\": x}}"),
	 "label key \"Example.com/app\": prefix before '/' must be a DNS subdomain"},
	{"matchLabels empty name", SEL("{matchLabels: {\"example.com/\": x}}"),
	 "label key \"example.com/\": name part must not be empty"},
	{"matchLabels two slashes", SEL("{matchLabels: {\"a/b/c\": x}}"),
	 "label key \"a/b/c\": may contain only letters"},
	{"matchLabels long key", SEL("{matchLabels: {" LABEL64 ": x}}"),
	 "must be at most 63 characters"},
	{"matchLabels bad value", SEL("{matchLabels: {app: -web}}"),
	 "spec.podSelector.matchLabels[\"app\"]: label value \"-web\": must start and end with "
	 "a letter or digit"},
	{"expression not a list", SEL("{matchExpressions: {key: a}}"),
	 "t.yaml: spec.podSelector.matchExpressions: must be a list, not a mapping"},
	{"expression key missing", SEL("{matchExpressions: [{operator: Exists}]}"),
	 "t.yaml: spec.podSelector.matchExpressions[0].key: required"},
	{"expression operator missing", SEL("{matchExpressions: [{key: a}]}"),
	 "t.yaml: spec.podSelector.matchExpressions[0].operator: required"},
	{"expression operator unknown", SEL("{matchExpressions: [{key: a, operator: Equals}]}"),
	 "t.yaml: spec.podSelector.matchExpressions[0].operator: must be In, NotIn, Exists or "
	 "DoesNotExist, not \"Equals\""},
	{"expression unknown field",
	 SEL("{matchExpressions: [{key: a, operator: In, value: [x]}]}"),
	 "spec.podSelector.matchExpressions[0].value: unknown field (expected key, operator or "
	 "values)"},
	{"In without values", SEL("{matchExpressions: [{key: a, operator: Exists}, {key: b, "
				  "operator: In}]}"),
	 "t.yaml: spec.podSelector.matchExpressions[1].values: operator In needs at least one "
	 "value"},
	{"NotIn with empty values",
	 SEL("{matchExpressions: [{key: a, operator: NotIn, values: []}]}"),
	 "matchExpressions[0].values: operator NotIn needs at least one value"},
	{"Exists with values",
	 SEL("{matchExpressions: [{key: a, operator: Exists, values: [x]}]}"),
	 "matchExpressions[0].values: must be empty for operator Exists"},
	{"DoesNotExist with values",
	 SEL("{matchExpressions: [{key: a, operator: DoesNotExist, values: [x]}]}"),
	 "matchExpressions[0].values: must be empty for operator DoesNotExist"},
	{"expression bad value", SEL("{matchExpressions: [{key: a, operator: In, values: [ok, "
				     "\"no way\"]}]}"),
	 "spec.podSelector.matchExpressions[0].values[1]: label value \"no way\": may contain "
	 "only"},
	/* rules */
	{"egress not a list", SPEC "  egress: {toFQDNs: []}\n",
	 "t.yaml: spec.egress: must be a list, not a mapping"},
	{"rule not a mapping", EGRESS "  - example.com\n",
	 "t.yaml: spec.egress[0]: must be a mapping, not a string"},
	{"rule typo toCIDR", RULE "  - toCIDR: [{cidr: 10.0.0.0/8}]\n",
	 "t.yaml: spec.egress[1].toCIDR: unknown field (expected toFQDNs, toCIDRs, toServices, "
	 "toEntities, ports or allowPrivate)"},
	{"rule without destination", EGRESS "  - ports: [{port: 443}]\n",
	 "t.yaml: spec.egress[0]: needs at least one destination in toFQDNs, toCIDRs, toServices "
	 "or toEntities"},
	{"rule with empty destinations", EGRESS "  - {toFQDNs: [], toCIDRs: []}\n",
	 "t.yaml: spec.egress[0]: needs at least one destination in toFQDNs, toCIDRs, toServices "
	 "or toEntities"},
	{"empty toServices", EGRESS "  - {toServices: [], toEntities: []}\n",
	 "t.yaml: spec.egress[0]: needs at least one destination in toFQDNs, toCIDRs, toServices "
	 "or toEntities"},
	{"toServices without name", EGRESS "  - toServices: [{namespace: a}]\n",
	 "t.yaml: spec.egress[0].toServices[0].name: required (the Service's metadata.name)"},
	{"toServices bad name", EGRESS "  - toServices: [{name: 1gw}]\n",
	 "t.yaml: spec.egress[0].toServices[0].name: \"1gw\" is not a valid Service name: must "
	 "start with a lower case letter (a DNS-1035 label)"},
	{"toServices bad namespace", EGRESS "  - toServices: [{name: gw, namespace: A.b}]\n",
	 "t.yaml: spec.egress[0].toServices[0].namespace: \"A.b\" is not a valid namespace"},
	{"toServices typo", EGRESS "  - toServices: [{name: gw, namepsace: x}]\n",
	 "t.yaml: spec.egress[0].toServices[0].namepsace: unknown field (expected name or "
	 "namespace)"},
	{"toServices not a list", EGRESS "  - toServices: {name: gw}\n",
	 "t.yaml: spec.egress[0].toServices: must be a list, not a mapping"},
	{"toEntities unknown", EGRESS "  - toEntities: [kube-apiserver, world]\n",
	 "t.yaml: spec.egress[0].toEntities[1]: must be kube-apiserver or cluster-dns, not "
	 "\"world\""},
	{"toFQDNs not a list", EGRESS "  - toFQDNs: example.com\n",
	 "t.yaml: spec.egress[0].toFQDNs: must be a list, not a string"},
	/* toFQDNs */
	{"fqdn both", FQDN("{matchName: a.com, matchPattern: \"*.a.com\"}"),
	 "t.yaml: spec.egress[0].toFQDNs[0]: has both matchName and matchPattern"},
	{"fqdn neither", FQDN("{matchName: a.com}, {}"),
	 "t.yaml: spec.egress[0].toFQDNs[1]: needs matchName or matchPattern"},
	{"fqdn bare string", FQDN("example.com"),
	 "t.yaml: spec.egress[0].toFQDNs[0]: must be a mapping, not a string"},
	{"fqdn unknown field", FQDN("{matchNames: a.com}"),
	 "t.yaml: spec.egress[0].toFQDNs[0].matchNames: unknown field (expected matchName or "
	 "matchPattern)"},
	{"fqdn name with wildcard", FQDN("{matchName: \"*.a.com\"}"),
	 "t.yaml: spec.egress[0].toFQDNs[0].matchName: \"*.a.com\": matchName takes no wildcard"},
	{"fqdn mid-label wildcard", FQDN("{matchPattern: \"api*.a.com\"}"),
	 "spec.egress[0].toFQDNs[0].matchPattern: \"api*.a.com\": '*' is allowed only as a "
	 "leading"},
	{"fqdn bare wildcard", FQDN("{matchPattern: \"*\"}"),
	 "spec.egress[0].toFQDNs[0].matchPattern: \"*\": '*' is allowed only as a leading"},
	{"fqdn wildcard later", FQDN("{matchPattern: \"a.*.com\"}"),
	 "spec.egress[0].toFQDNs[0].matchPattern: \"a.*.com\": '*' is allowed only"},
	{"fqdn empty label", FQDN("{matchName: a..com}"),
	 "spec.egress[0].toFQDNs[0].matchName: \"a..com\": empty label"},
	{"fqdn empty", FQDN("{matchName: \"\"}"),
	 "spec.egress[0].toFQDNs[0].matchName: \"\": empty name"},
	{"fqdn long label", FQDN("{matchName: " LABEL64 ".com}"),
	 "spec.egress[0].toFQDNs[0].matchName: \"" LABEL64 ".com\": label longer than 63 "
	 "characters"},
	{"fqdn bad character", FQDN("{matchName: \"exa mple.com\"}"),
	 "\"exa mple.com\": character not allowed in a name"},
	/* the name part is 253 characters, the pattern 256 */
	{"fqdn pattern too long", FQDN("{matchPattern: \"**." R4(LABEL62 ".") "c\"}"),
	 "longer than 253 characters"},
	{"fqdn integer", FQDN("{matchName: 1}"),
	 "spec.egress[0].toFQDNs[0].matchName: must be a string, not an integer (quote it)"},
	/* toCIDRs */
	{"cidr host bits", RULE "  - toCIDRs: [{cidr: 10.0.0.1/8}]\n",
	 "t.yaml: spec.egress[1].toCIDRs[0].cidr: \"10.0.0.1/8\": address has bits set beyond "
	 "the prefix length"},
	{"cidr missing", CIDR("{except: [10.0.0.0/9]}"),
	 "t.yaml: spec.egress[0].toCIDRs[0].cidr: required, e.g. cidr: 10.0.0.0/8"},
	{"cidr not an address", CIDR("{cidr: 10.0.0.0/8}, {cidr: example.com/8}"),
	 "t.yaml: spec.egress[0].toCIDRs[1].cidr: \"example.com/8\": expected ADDRESS/PREFIX"},
	{"cidr no prefix", CIDR("{cidr: 10.0.0.0}"),
	 "spec.egress[0].toCIDRs[0].cidr: \"10.0.0.0\": expected ADDRESS/PREFIX"},
	{"cidr prefix too long", CIDR("{cidr: 10.0.0.0/33}"),
	 "spec.egress[0].toCIDRs[0].cidr: \"10.0.0.0/33\": prefix length out of range"},
	{"cidr v6 prefix too long", CIDR("{cidr: \"fd00::/129\"}"),
	 "spec.egress[0].toCIDRs[0].cidr: \"fd00::/129\": prefix length out of range"},
	{"cidr bare string", CIDR("10.0.0.0/8"),
	 "t.yaml: spec.egress[0].toCIDRs[0]: must be a mapping, not a string"},
	{"cidr unknown field", CIDR("{cidr: 10.0.0.0/8, exclude: [10.1.0.0/16]}"),
	 "spec.egress[0].toCIDRs[0].exclude: unknown field (expected cidr or except)"},
	{"except not a list", CIDR("{cidr: 10.0.0.0/8, except: 10.1.0.0/16}"),
	 "spec.egress[0].toCIDRs[0].except: must be a list, not a string"},
	{"except other family", CIDR("{cidr: 10.0.0.0/8, except: [\"fd00::/16\"]}"),
	 "t.yaml: spec.egress[0].toCIDRs[0].except[0]: \"fd00::/16\" is IPv6 but cidr "
	 "10.0.0.0/8 is IPv4"},
	{"except outside", CIDR("{cidr: 10.20.0.0/16, except: [10.20.9.0/24, 10.30.0.0/24]}"),
	 "t.yaml: spec.egress[0].toCIDRs[0].except[1]: \"10.30.0.0/24\" is not strictly inside "
	 "cidr 10.20.0.0/16"},
	{"except equal", CIDR("{cidr: 10.20.0.0/16, except: [10.20.0.0/16]}"),
	 "except[0]: \"10.20.0.0/16\" is not strictly inside cidr 10.20.0.0/16"},
	{"except wider", CIDR("{cidr: 10.20.0.0/16, except: [10.0.0.0/8]}"),
	 "except[0]: \"10.0.0.0/8\" is not strictly inside cidr 10.20.0.0/16"},
	{"except v6 outside", CIDR("{cidr: \"2001:db8::/32\", except: [\"2001:db9::/48\"]}"),
	 "except[0]: \"2001:db9::/48\" is not strictly inside cidr 2001:db8::/32"},
	{"except host bits", CIDR("{cidr: 10.0.0.0/8, except: [10.1.0.1/16]}"),
	 "except[0]: \"10.1.0.1/16\": address has bits set beyond the prefix length"},
	/* ports */
	{"port quoted", PORT("{port: \"443\"}"),
	 "t.yaml: spec.egress[0].ports[0].port: must be an integer from 1 to 65535, not the "
	 "string \"443\" (remove the quotes)"},
	{"port named", PORT("{port: https}"),
	 "spec.egress[0].ports[0].port: must be an integer from 1 to 65535, not the string "
	 "\"https\" (named ports are not supported)"},
	{"port float", PORT("{port: 443.5}"),
	 "spec.egress[0].ports[0].port: must be an integer from 1 to 65535, not the string "
	 "\"443.5\""},
	{"port zero", PORT("{port: 0}"), "spec.egress[0].ports[0].port: must be from 1 to 65535, "
					 "not 0"},
	{"port too big", PORT("{port: 80}, {port: 65536}"),
	 "t.yaml: spec.egress[0].ports[1].port: must be from 1 to 65535, not 65536"},
	{"port negative", PORT("{port: -1}"), "ports[0].port: must be from 1 to 65535, not -1"},
	{"port list", PORT("{port: [80]}"),
	 "ports[0].port: must be an integer from 1 to 65535, not a list"},
	{"endPort without port", PORT("{endPort: 80}"),
	 "t.yaml: spec.egress[0].ports[0].endPort: needs port (the start of the range)"},
	{"endPort below port", PORT("{port: 443, endPort: 80}"),
	 "t.yaml: spec.egress[0].ports[0].endPort: 80 is below port 443"},
	{"endPort too big", PORT("{port: 443, endPort: 70000}"),
	 "spec.egress[0].ports[0].endPort: must be from 1 to 65535, not 70000"},
	{"protocol lower case", PORT("{port: 53, protocol: udp}"),
	 "t.yaml: spec.egress[0].ports[0].protocol: must be TCP, UDP or SCTP, not \"udp\""},
	{"protocol ICMP", PORT("{protocol: ICMP}"),
	 "spec.egress[0].ports[0].protocol: must be TCP, UDP or SCTP, not \"ICMP\""},
	{"port unknown field", PORT("{port: 443, proto: TCP}"),
	 "t.yaml: spec.egress[0].ports[0].proto: unknown field (expected port, endPort or "
	 "protocol)"},
	{"ports bare integer", PORT("443"),
	 "t.yaml: spec.egress[0].ports[0]: must be a mapping, not an integer"},
	/* limits */
	{"too many rules", SPEC "  egress: [" R256("{},") "{}]\n",
	 "t.yaml: spec.egress: too many entries (257, at most 256)"},
	{"too many fqdns", FQDN(R256("{},") "{}"),
	 "t.yaml: spec.egress[0].toFQDNs: too many entries (257, at most 256)"},
	{"too many cidrs", CIDR(R256("{},") "{}"),
	 "t.yaml: spec.egress[0].toCIDRs: too many entries (257, at most 256)"},
	{"too many excepts", CIDR("{cidr: 10.0.0.0/8, except: [" R64("x,") "x]}"),
	 "t.yaml: spec.egress[0].toCIDRs[0].except: too many entries (65, at most 64)"},
	{"too many ports", PORT(R16("{},{},") "{}"),
	 "t.yaml: spec.egress[0].ports: too many entries (33, at most 32)"},
	/* files */
	{"second document", RULE "---\n" SPEC "  mode: strict\n",
	 "t.yaml (document 2): spec.mode: must be enforce or audit, not \"strict\""},
	{"document number counts empty ones", "---\n" RULE "---\n---\n" HEAD "spec: {}\n",
	 "t.yaml (document 3): metadata: required"},
	{"duplicate policy", RULE "---\n" RULE,
	 "t.yaml (document 2): metadata.name: policy default/p is defined twice in this file"},
	{"other kind in file", RULE "---\napiVersion: v1\nkind: ConfigMap\n",
	 "t.yaml (document 2): apiVersion: must be podwall.io/v1alpha1, not \"v1\""},
	{"scalar document", "just text\n",
	 "t.yaml: must be a mapping (an EgressPolicy object), not a string"},
};
/* clang-format on */

static const char *err_case_name(const void *row)
{
	return ((const struct err_case *)row)->name;
}

static void test_err_case(void **state)
{
	const struct err_case *c = *state;
	struct pw_policy *v = (void *)1;
	char err[PW_ERR_LEN] = "";
	size_t n = 99;
	int ret;

	ret = pw_policy_file_parse(c->yaml, strlen(c->yaml), "t.yaml", &v, &n, err, sizeof(err));
	if (ret != -EINVAL || !strstr(err, c->want))
		fail_msg("%s: got %d \"%s\", want -EINVAL and \"%s\"", c->name, ret, err, c->want);
	/* "<source>...: " first, and nothing returned */
	assert_true(!strncmp(err, "t.yaml", 6));
	assert_null(v);
	assert_int_equal(n, 0);
}

/* ---- YAML to JSON typing ----------------------------------------------------- */

struct typing_case {
	const char *scalar; /* as written after "v: " */
	json_type type;
	json_int_t i;	 /* JSON_INTEGER */
	const char *str; /* JSON_STRING */
};

/* clang-format off */
static const struct typing_case typing_cases[] = {
	{"443", JSON_INTEGER, 443, NULL},
	{"-5", JSON_INTEGER, -5, NULL},
	{"+5", JSON_INTEGER, 5, NULL},
	{"0", JSON_INTEGER, 0, NULL},
	{"9223372036854775807", JSON_INTEGER, 9223372036854775807LL, NULL},
	{"\"443\"", JSON_STRING, 0, "443"},
	{"'443'", JSON_STRING, 0, "443"},
	{"!!str 443", JSON_STRING, 0, "443"},
	{"! 443", JSON_STRING, 0, "443"},
	{"|\n  443\n", JSON_STRING, 0, "443\n"},
	{"true", JSON_TRUE, 0, NULL},
	{"True", JSON_TRUE, 0, NULL},
	{"FALSE", JSON_FALSE, 0, NULL},
	{"\"true\"", JSON_STRING, 0, "true"},
	{"null", JSON_NULL, 0, NULL},
	{"~", JSON_NULL, 0, NULL},
	{"", JSON_NULL, 0, NULL},
	{"'null'", JSON_STRING, 0, "null"},
	{"yes", JSON_STRING, 0, "yes"}, /* YAML 1.1 booleans stay strings */
	{"off", JSON_STRING, 0, "off"},
	{"1.5", JSON_STRING, 0, "1.5"}, /* no floats in the schema */
	{"0x1bb", JSON_STRING, 0, "0x1bb"},
	{"1e3", JSON_STRING, 0, "1e3"},
	{"+", JSON_STRING, 0, "+"},
	{"-x", JSON_STRING, 0, "-x"},
	{"10.20.0.0/16", JSON_STRING, 0, "10.20.0.0/16"},
	{"\"caf\\u00e9\"", JSON_STRING, 0, "caf\xc3\xa9"},
};
/* clang-format on */

static const char *typing_case_name(const void *row)
{
	static char names[sizeof(typing_cases) / sizeof(typing_cases[0])][48];
	size_t i = (size_t)((const struct typing_case *)row - typing_cases);

	snprintf(names[i], sizeof(names[i]), "typing v: %s", typing_cases[i].scalar);
	for (char *p = names[i]; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return names[i];
}

static void test_typing_case(void **state)
{
	const struct typing_case *c = *state;
	char yaml[128], err[PW_ERR_LEN];
	json_t *docs, *v;

	snprintf(yaml, sizeof(yaml), "v: %s\n", c->scalar);
	if (pw_yaml_to_json(yaml, strlen(yaml), &docs, err, sizeof(err)))
		fail_msg("%s: %s", c->scalar, err);
	assert_int_equal(json_array_size(docs), 1);
	v = json_object_get(json_array_get(docs, 0), "v");
	assert_non_null(v);
	assert_int_equal(json_typeof(v), c->type);
	if (c->type == JSON_INTEGER)
		assert_true(json_integer_value(v) == c->i);
	if (c->type == JSON_STRING)
		assert_string_equal(json_string_value(v), c->str);
	json_decref(docs);
}

static void test_yaml_structure(void **state)
{
	static const char yaml[] = "# leading comment\n"
				   "a: {b: [1, \"x\", {c: null}], d: []}\n"
				   "---\n"
				   "---\n"
				   "- 1\n"
				   "- [2, 3]\n"
				   "...\n";
	char err[PW_ERR_LEN], *s;
	json_t *docs;

	assert_int_equal(pw_yaml_to_json(yaml, sizeof(yaml) - 1, &docs, err, sizeof(err)), 0);
	s = json_dumps(docs, JSON_COMPACT);
	assert_string_equal(s, "[{\"a\":{\"b\":[1,\"x\",{\"c\":null}],\"d\":[]}},[1,[2,3]]]");
	free(s);
	json_decref(docs);

	assert_int_equal(pw_yaml_to_json("", 0, &docs, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);

	/* not NUL-terminated: only len bytes are read */
	assert_int_equal(pw_yaml_to_json("a: 1zzz", 4, &docs, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 0), "a")), 1);
	json_decref(docs);

	docs = (void *)1;
	assert_int_equal(pw_yaml_to_json("a: [", 4, &docs, err, sizeof(err)), -EINVAL);
	assert_null(docs);
	assert_non_null(strstr(err, "not valid YAML"));
}

/* ---- selectors --------------------------------------------------------------- */

struct sel_case {
	const char *name;
	const char *selector; /* flow YAML for spec.podSelector; the policy is in "team" */
	const char *ns;	      /* the pod's namespace */
	const char *labels;   /* the pod's labels, "k=v,k2=v2" */
	bool want;
};

/* clang-format off */
static const struct sel_case sel_cases[] = {
	{"empty selects all", "{}", "team", "app=web", true},
	{"empty selects unlabelled", "{}", "team", "", true},
	{"empty selector other namespace", "{}", "other", "app=web", false},
	{"empty lists select all", "{matchLabels: {}, matchExpressions: []}", "team", "a=b", true},
	{"matchLabels equal", "{matchLabels: {app: web}}", "team", "app=web,tier=fe", true},
	{"matchLabels value differs", "{matchLabels: {app: web}}", "team", "app=api", false},
	{"matchLabels key absent", "{matchLabels: {app: web}}", "team", "tier=web", false},
	{"matchLabels no labels", "{matchLabels: {app: web}}", "team", "", false},
	{"matchLabels case matters", "{matchLabels: {app: web}}", "team", "app=Web", false},
	{"matchLabels two, both", "{matchLabels: {app: web, tier: fe}}", "team", "tier=fe,app=web",
	 true},
	{"matchLabels two, one", "{matchLabels: {app: web, tier: fe}}", "team", "app=web", false},
	{"matchLabels empty value", "{matchLabels: {canary: \"\"}}", "team", "canary=", true},
	{"matchLabels namespace mismatch", "{matchLabels: {app: web}}", "other", "app=web", false},
	{"In value listed", "{matchExpressions: [{key: env, operator: In, values: [dev, qa]}]}",
	 "team", "env=qa", true},
	{"In value not listed", "{matchExpressions: [{key: env, operator: In, values: [dev, qa]}]}",
	 "team", "env=prod", false},
	{"In key absent", "{matchExpressions: [{key: env, operator: In, values: [dev]}]}", "team",
	 "app=web", false},
	{"NotIn value listed", "{matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}",
	 "team", "env=prod", false},
	{"NotIn value not listed",
	 "{matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}", "team", "env=dev",
	 true},
	{"NotIn key absent", "{matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}",
	 "team", "app=web", true},
	{"Exists present", "{matchExpressions: [{key: gpu, operator: Exists}]}", "team",
	 "gpu=a100", true},
	{"Exists empty value", "{matchExpressions: [{key: gpu, operator: Exists}]}", "team", "gpu=",
	 true},
	{"Exists absent", "{matchExpressions: [{key: gpu, operator: Exists, values: []}]}", "team",
	 "app=web", false},
	{"DoesNotExist absent", "{matchExpressions: [{key: canary, operator: DoesNotExist}]}",
	 "team", "app=web", true},
	{"DoesNotExist present", "{matchExpressions: [{key: canary, operator: DoesNotExist}]}",
	 "team", "canary=", false},
	{"labels and expressions", "{matchLabels: {app: web}, matchExpressions: [{key: env, "
				   "operator: In, values: [dev]}, {key: canary, operator: "
				   "DoesNotExist}]}",
	 "team", "app=web,env=dev", true},
	{"labels ok, expression fails", "{matchLabels: {app: web}, matchExpressions: [{key: env, "
					"operator: In, values: [dev]}]}",
	 "team", "app=web,env=prod", false},
	{"expression ok, labels fail", "{matchLabels: {app: web}, matchExpressions: [{key: env, "
				       "operator: In, values: [dev]}]}",
	 "team", "app=api,env=dev", false},
	{"expressions are ANDed", "{matchExpressions: [{key: a, operator: Exists}, {key: b, "
				  "operator: Exists}]}",
	 "team", "a=1", false},
	{"prefixed key", "{matchLabels: {app.kubernetes.io/name: web}}", "team",
	 "app.kubernetes.io/name=web", true},
	{"everything, other namespace", "{matchExpressions: [{key: a, operator: NotIn, values: "
					"[x]}]}",
	 "kube-system", "", false},
};
/* clang-format on */

static const char *sel_case_name(const void *row)
{
	return ((const struct sel_case *)row)->name;
}

static void test_sel_case(void **state)
{
	const struct sel_case *c = *state;
	struct pw_labels labels = {0};
	char yaml[1024];
	struct pw_policy *v;
	size_t n;

	snprintf(yaml, sizeof(yaml),
		 "apiVersion: podwall.io/v1alpha1\nkind: EgressPolicy\n"
		 "metadata: {name: s, namespace: team}\nspec:\n  podSelector: %s\n",
		 c->selector);
	v = parse_ok(yaml, strlen(yaml), c->name, &n);
	assert_int_equal(n, 1);
	labels_from(&labels, c->labels);
	if (pw_policy_selects(&v[0], c->ns, &labels) != c->want)
		fail_msg("%s: selector %s, pod %s/{%s}: want %s", c->name, c->selector, c->ns,
			 c->labels, c->want ? "selected" : "not selected");
	pw_labels_free(&labels);
	pw_policies_free(v, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_cluster_deny),
		cmocka_unit_test(test_services_entities),
		cmocka_unit_test(test_design_example_json),
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_ipv6_and_ports),
		cmocka_unit_test(test_all_testdata_parse),
		cmocka_unit_test(test_audit_mode_and_defaults),
		cmocka_unit_test(test_nulls_are_absent),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_namespace_missing_warns),
		cmocka_unit_test(test_quoted_port_refused),
		cmocka_unit_test(test_from_json_error_leaves_out),
		cmocka_unit_test(test_small_err_buffer),
		cmocka_unit_test(test_labels_set_get),
		cmocka_unit_test(test_yaml_structure),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("policy", tests, NULL, NULL);
	failed += run_table("policy errors", test_err_case, (void *)err_cases, sizeof(err_cases[0]),
			    sizeof(err_cases) / sizeof(err_cases[0]), err_case_name);
	failed += run_table("yaml typing", test_typing_case, (void *)typing_cases,
			    sizeof(typing_cases[0]), sizeof(typing_cases) / sizeof(typing_cases[0]),
			    typing_case_name);
	failed += run_table("selectors", test_sel_case, (void *)sel_cases, sizeof(sel_cases[0]),
			    sizeof(sel_cases) / sizeof(sel_cases[0]), sel_case_name);
	return failed ? 1 : 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall-cni logic: netconf, CNI_ARGS, prevResult, agent requests, CNI
 * errors, and whole commands against a fake agent on a unix socket.
 *
 * testdata/bridge-v4-result.json and bridge-v4-0.3.1-result.json are what the
 * real CNI bridge plugin (host-local IPAM) printed; bridge-dualstack-result.json
 * is written in the same shape. Test data is read from $PW_TESTDATA, by default
 * tests/unit/testdata (run from the repository root).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cni.h"
#include "cni_io.h"
#include "ctl.h"
#include "log.h"

/* ---- helpers ---- */

static char *testdata(const char *name)
{
	const char *dir = getenv("PW_TESTDATA");
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/unit/testdata", name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (run from the repo root or set PW_TESTDATA)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static json_t *load_json(const char *name)
{
	char *s = testdata(name);
	json_t *j = json_loads(s, 0, NULL);

	free(s);
	assert_non_null(j);
	return j;
}

/* A netconf as the runtime hands it to a chained plugin. */
static char *netconf(const char *version, const char *prev_file, const char *extra_json)
{
	json_t *c = json_pack("{s:s, s:s, s:s}", "cniVersion", version, "name", "cbr0", "type",
			      "podwall-cni");
	char *s;

	assert_non_null(c);
	if (prev_file)
		json_object_set_new(c, "prevResult", load_json(prev_file));
	if (extra_json) {
		json_t *x = json_loads(extra_json, 0, NULL);

		assert_non_null(x);
		json_object_update(c, x);
		json_decref(x);
	}
	s = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	return s;
}

static void assert_json_str_equal(const char *got, const char *want)
{
	json_t *g = json_loads(got, 0, NULL), *w = json_loads(want, 0, NULL);

	assert_non_null(g);
	assert_non_null(w);
	if (!json_equal(g, w))
		fail_msg("JSON differs:\n got:  %s\n want: %s", got, want);
	json_decref(g);
	json_decref(w);
}

/* Fake classifier: a table of host interfaces. */
struct fake_if {
	const char *name;
	int kind;
};

static int fake_classify(const char *name, void *ctx)
{
	for (const struct fake_if *f = ctx; f->name; f++)
		if (!strcmp(f->name, name))
			return f->kind;
	return PW_IFACE_MISSING;
}

static const struct fake_if host_v4[] = {
	{"pwbr0", PW_IFACE_BRIDGE},
	{"veth25e8d44f", PW_IFACE_VETH},
	{"vetha79f7701", PW_IFACE_VETH},
	{NULL, 0},
};
static const struct fake_if host_ds[] = {
	{"cni0", PW_IFACE_BRIDGE},
	{"veth5f2c9a1b", PW_IFACE_VETH},
	{NULL, 0},
};

/* ---- versions and commands ---- */

static void test_versions(void **state)
{
	enum pw_cni_cmd cmd;
	struct pw_cni_error e = {0};

	assert_true(pw_cni_version_supported("1.0.0"));
	assert_true(pw_cni_version_supported("0.4.0"));
	assert_true(pw_cni_version_supported("0.3.1"));
	assert_false(pw_cni_version_supported("0.2.0"));
	assert_false(pw_cni_version_supported("1.1.0"));
	assert_false(pw_cni_version_supported(NULL));
	assert_true(pw_cni_version_cmp("0.3.1", "0.4.0") < 0);
	assert_true(pw_cni_version_cmp("1.0.0", "0.4.0") > 0);
	assert_int_equal(pw_cni_version_cmp("0.4.0", "0.4.0"), 0);
	assert_true(pw_cni_version_cmp("0.10.0", "0.4.0") > 0);
	assert_true(pw_cni_version_cmp("x", "0.1.0") < 0);

	assert_int_equal(pw_cni_cmd_parse("ADD", &cmd, &e), 0);
	assert_int_equal(cmd, PW_CNI_ADD);
	assert_int_equal(pw_cni_cmd_parse("VERSION", &cmd, &e), 0);
	assert_int_equal(cmd, PW_CNI_VERSION);
	assert_int_equal(pw_cni_cmd_parse("add", &cmd, &e), -EINVAL);
	assert_int_equal(e.code, PW_CNI_E_ENV);
	assert_int_equal(pw_cni_cmd_parse(NULL, &cmd, &e), -EINVAL);
	assert_string_equal(e.msg, "CNI_COMMAND: not set");
}

static void test_env_check(void **state)
{
	static const struct {
		const char *id, *netns, *ifname;
		enum pw_cni_cmd cmd;
		int ret;
		const char *msg;
	} rows[] = {
		{"abc123", "/var/run/netns/p", "eth0", PW_CNI_ADD, 0, NULL},
		{"a_b.c-d", "/proc/42/ns/net", "net1", PW_CNI_CHECK, 0, NULL},
		{"abc123", NULL, NULL, PW_CNI_DEL, 0, NULL},
		{NULL, "/var/run/netns/p", "eth0", PW_CNI_ADD, -EINVAL, "CNI_CONTAINERID: not set"},
		{NULL, NULL, NULL, PW_CNI_DEL, -EINVAL, "CNI_CONTAINERID: not set"},
		{"-abc", "/n", "eth0", PW_CNI_ADD, -EINVAL, "CNI_CONTAINERID: invalid \"-abc\""},
		{"a b", "/n", "eth0", PW_CNI_ADD, -EINVAL, "CNI_CONTAINERID: invalid \"a b\""},
		{"abc", NULL, "eth0", PW_CNI_ADD, -EINVAL, "CNI_NETNS: not set"},
		{"abc", "netns", "eth0", PW_CNI_ADD, -EINVAL, "CNI_NETNS: invalid \"netns\""},
		{"abc", "/n/x", NULL, PW_CNI_ADD, -EINVAL, "CNI_IFNAME: not set"},
		{"abc", "/n/x", "eth0/1", PW_CNI_ADD, -EINVAL, NULL},
		{"abc", "/n/x", "averyveryverylongname", PW_CNI_ADD, -EINVAL, NULL},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pw_cni_env env = {.container_id = rows[i].id,
					 .netns = rows[i].netns,
					 .ifname = rows[i].ifname};
		struct pw_cni_error e = {0};
		int ret = pw_cni_env_check(&env, rows[i].cmd, &e);

		if (ret != rows[i].ret)
			fail_msg("row %zu: ret %d, want %d (%s)", i, ret, rows[i].ret, e.msg);
		if (ret)
			assert_int_equal(e.code, PW_CNI_E_ENV);
		if (rows[i].msg)
			assert_string_equal(e.msg, rows[i].msg);
	}
}

/* ---- netconf ---- */

static void test_conf_valid(void **state)
{
	char *s = netconf("1.0.0", "bridge-v4-result.json",
			  "{\"socket\":\"/tmp/pw.sock\",\"timeoutSeconds\":3,\"args\":{\"cni\":{"
			  "\"labels\":[{\"key\":\"app\",\"value\":\"coding-agent\"},"
			  "{\"key\":\"podwall.io/tier\",\"value\":\"\"}],\"ips\":[\"10.1.1.1\"]}},"
			  "\"runtimeConfig\":{\"portMappings\":[]}}");
	struct pw_cni_conf conf;
	struct pw_cni_error e = {0};

	assert_int_equal(pw_cni_conf_parse(s, strlen(s), PW_CNI_ADD, &conf, &e), 0);
	assert_string_equal(conf.cni_version, "1.0.0");
	assert_string_equal(conf.name, "cbr0");
	assert_string_equal(conf.type, "podwall-cni");
	assert_string_equal(conf.socket, "/tmp/pw.sock");
	assert_int_equal(conf.timeout_s, 3);
	assert_non_null(conf.prev_result);
	assert_int_equal(json_object_size(conf.labels), 2);
	assert_string_equal(json_string_value(json_object_get(conf.labels, "app")), "coding-agent");
	assert_string_equal(json_string_value(json_object_get(conf.labels, "podwall.io/tier")), "");
	pw_cni_conf_free(&conf);
	pw_cni_conf_free(&conf); /* idempotent */
	free(s);
}

static void test_conf_defaults(void **state)
{
	char *s = netconf("0.4.0", NULL, NULL);
	struct pw_cni_conf conf;
	struct pw_cni_error e = {0};

	/* DEL needs no prevResult. */
	assert_int_equal(pw_cni_conf_parse(s, strlen(s), PW_CNI_DEL, &conf, &e), 0);
	assert_string_equal(conf.socket, PW_CTL_SOCKET);
	assert_int_equal(conf.timeout_s, PW_CNI_DEFAULT_TIMEOUT_S);
	assert_null(conf.prev_result);
	assert_non_null(conf.labels);
	assert_int_equal(json_object_size(conf.labels), 0);
	pw_cni_conf_free(&conf);
	free(s);
}

static void test_conf_missing_prev(void **state)
{
	char *s = netconf("1.0.0", NULL, NULL);
	struct pw_cni_conf conf;
	struct pw_cni_error e = {0};

	assert_int_equal(pw_cni_conf_parse(s, strlen(s), PW_CNI_ADD, &conf, &e), -EINVAL);
	assert_int_equal(e.code, PW_CNI_E_CONFIG);
	assert_string_equal(e.msg, "prevResult: missing");
	assert_non_null(strstr(e.details, "chained plugin"));
	assert_null(conf.root);
	/* The version was readable: errors are reported in it. */
	assert_string_equal(conf.cni_version, "1.0.0");
	assert_int_equal(pw_cni_conf_parse(s, strlen(s), PW_CNI_CHECK, &conf, &e), -EINVAL);
	assert_string_equal(e.msg, "prevResult: missing");
	free(s);
}

static void test_conf_bad_json(void **state)
{
	static const char *const bad[] = {"", "{", "{\"cniVersion\":\"1.0.0\",}", "nul", "\xff"};
	struct pw_cni_conf conf;
	struct pw_cni_error e = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pw_cni_conf_parse(bad[i], strlen(bad[i]), PW_CNI_ADD, &conf, &e),
				 -EINVAL);
		assert_int_equal(e.code, PW_CNI_E_DECODE);
		assert_non_null(strstr(e.msg, "not valid JSON"));
		assert_string_equal(conf.cni_version, "");
	}
	assert_int_equal(pw_cni_conf_parse("[1]", 3, PW_CNI_ADD, &conf, &e), -EINVAL);
	assert_int_equal(e.code, PW_CNI_E_DECODE);
	assert_string_equal(e.msg, "network configuration on stdin is not a JSON object");
}

struct conf_row {
	const char *json;
	int code;
	const char *msg;
};

static void run_conf_rows(const struct conf_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pw_cni_conf conf;
		struct pw_cni_error e = {0};
		int ret = pw_cni_conf_parse(rows[i].json, strlen(rows[i].json), PW_CNI_DEL, &conf,
					    &e);

		if (!ret) {
			pw_cni_conf_free(&conf);
			fail_msg("row %zu accepted: %s", i, rows[i].json);
		}
		if (e.code != rows[i].code || strcmp(e.msg, rows[i].msg))
			fail_msg("row %zu: code %d \"%s\", want %d \"%s\"", i, e.code, e.msg,
				 rows[i].code, rows[i].msg);
		assert_null(conf.root);
		assert_null(conf.labels);
	}
}

#define HDR "\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"podwall-cni\""

static void test_conf_bad_fields(void **state)
{
	static const struct conf_row rows[] = {
		{"{\"name\":\"n\",\"type\":\"t\"}", PW_CNI_E_CONFIG, "cniVersion: missing"},
		{"{\"cniVersion\":1,\"name\":\"n\",\"type\":\"t\"}", PW_CNI_E_CONFIG,
		 "cniVersion: must be a non-empty string"},
		{"{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"type\":\"t\"}", PW_CNI_E_VERSION,
		 "incompatible CNI version \"0.2.0\""},
		{"{\"cniVersion\":\"1.0.0\",\"type\":\"t\"}", PW_CNI_E_CONFIG, "name: missing"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"\",\"type\":\"t\"}", PW_CNI_E_CONFIG,
		 "name: must be a non-empty string"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", PW_CNI_E_CONFIG, "type: missing"},
		{"{" HDR ",\"socket\":\"run/pw.sock\"}", PW_CNI_E_CONFIG,
		 "socket: invalid \"run/pw.sock\""},
		{"{" HDR ",\"socket\":7}", PW_CNI_E_CONFIG, "socket: must be a non-empty string"},
		{"{" HDR ",\"timeoutSeconds\":0}", PW_CNI_E_CONFIG,
		 "timeoutSeconds: must be an integer from 1 to 300"},
		{"{" HDR ",\"timeoutSeconds\":301}", PW_CNI_E_CONFIG,
		 "timeoutSeconds: must be an integer from 1 to 300"},
		{"{" HDR ",\"timeoutSeconds\":\"10\"}", PW_CNI_E_CONFIG,
		 "timeoutSeconds: must be an integer from 1 to 300"},
		{"{" HDR ",\"timeoutSeconds\":2.5}", PW_CNI_E_CONFIG,
		 "timeoutSeconds: must be an integer from 1 to 300"},
		{"{" HDR ",\"prevResult\":[]}", PW_CNI_E_CONFIG, "prevResult: not an object"},
		{"{" HDR ",\"name\":\"m\"}", PW_CNI_E_DECODE,
		 "network configuration on stdin is not valid JSON (line 1, column 60)"},
	};

	run_conf_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_conf_bad_labels(void **state)
{
	static const struct conf_row rows[] = {
		{"{" HDR ",\"args\":[]}", PW_CNI_E_CONFIG, "args: not an object"},
		{"{" HDR ",\"args\":{\"cni\":1}}", PW_CNI_E_CONFIG, "args.cni: not an object"},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":{\"app\":\"x\"}}}}", PW_CNI_E_CONFIG,
		 "args.cni.labels: not an array"},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":[\"app=x\"]}}}", PW_CNI_E_CONFIG,
		 "args.cni.labels[0]: needs string \"key\" and \"value\""},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"app\"}]}}}", PW_CNI_E_CONFIG,
		 "args.cni.labels[0]: needs string \"key\" and \"value\""},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"app\",\"value\":1}]}}}",
		 PW_CNI_E_CONFIG, "args.cni.labels[0]: needs string \"key\" and \"value\""},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"a\",\"value\":\"1\"},"
		 "{\"key\":\"-app\",\"value\":\"x\"}]}}}",
		 PW_CNI_E_CONFIG, "args.cni.labels[1].key: invalid \"-app\""},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"\",\"value\":\"x\"}]}}}",
		 PW_CNI_E_CONFIG, "args.cni.labels[0].key: invalid \"\""},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"Bad_Prefix/app\","
		 "\"value\":\"x\"}]}}}",
		 PW_CNI_E_CONFIG, "args.cni.labels[0].key: invalid \"Bad_Prefix/app\""},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"a\",\"value\":"
		 "\"0123456789012345678901234567890123456789012345678901234567890123\"}]}}}",
		 PW_CNI_E_CONFIG,
		 "args.cni.labels[0].value: invalid "
		 "\"0123456789012345678901234567890123456789012345678901234567890123\""},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"a\",\"value\":\"x y\"}]}}}",
		 PW_CNI_E_CONFIG, "args.cni.labels[0].value: invalid \"x y\""},
		{"{" HDR ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"a\",\"value\":\"x\"},"
		 "{\"key\":\"a\",\"value\":\"y\"}]}}}",
		 PW_CNI_E_CONFIG, "args.cni.labels[1].key: \"a\" given twice"},
	};

	run_conf_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* ---- CNI_ARGS ---- */

static void test_args_table(void **state)
{
	static const struct {
		const char *in;
		bool need_pod;
		int ret;
		const char *ns, *name, *uid, *msg;
	} rows[] = {
		{"IgnoreUnknown=1;K8S_POD_NAMESPACE=agents;K8S_POD_NAME=coder-7f9c;"
		 "K8S_POD_INFRA_CONTAINER_ID=4f1d0c3a9b;K8S_POD_UID=1b4e28ba-2fa1-11d2-883f-"
		 "0016d3cca427",
		 true, 0, "agents", "coder-7f9c", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", NULL},
		{"K8S_POD_NAMESPACE=agents;K8S_POD_NAME=a.b-c", true, 0, "agents", "a.b-c", "",
		 NULL},
		{"IgnoreUnknown=true;FOO=bar;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p", true, 0, "ns",
		 "p", "", NULL},
		{"FOO=bar;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;IgnoreUnknown=1", true, 0, "ns", "p",
		 "", NULL},
		{"", false, 0, "", "", "", NULL},
		{NULL, false, 0, "", "", "", NULL},
		{"IgnoreUnknown=1", false, 0, "", "", "", NULL},
		{"K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;FOO=bar", true, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: unknown key \"FOO\""},
		{"IgnoreUnknown=0;FOO=bar", false, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: unknown key \"FOO\""},
		{"IgnoreUnknown=1;K8S_POD_NAMESPACE=ns", true, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: K8S_POD_NAME missing"},
		{"IgnoreUnknown=1;K8S_POD_NAME=p", true, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: K8S_POD_NAMESPACE missing"},
		{"", true, -EINVAL, NULL, NULL, NULL, "CNI_ARGS: K8S_POD_NAMESPACE missing"},
		{"IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=", true, -EINVAL, NULL, NULL,
		 NULL, "CNI_ARGS: invalid K8S_POD_NAME \"\""},
		{"garbage", false, -EINVAL, NULL, NULL, NULL, "CNI_ARGS: invalid pair \"garbage\""},
		{"IgnoreUnknown=1;;K8S_POD_NAME=p", false, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: invalid pair \"\""},
		{"IgnoreUnknown=1;K8S_POD_NAME=p;", false, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: invalid pair \"\""},
		{"=x", false, -EINVAL, NULL, NULL, NULL, "CNI_ARGS: invalid pair \"=x\""},
		{"K8S_POD_NAME=a=b", false, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: invalid pair \"K8S_POD_NAME=a=b\""},
		{"IgnoreUnknown=yes", false, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: invalid IgnoreUnknown \"yes\""},
		{"K8S_POD_NAMESPACE=Agents;K8S_POD_NAME=p", true, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: invalid K8S_POD_NAMESPACE \"Agents\""},
		{"K8S_POD_NAMESPACE=a.b;K8S_POD_NAME=p", true, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: invalid K8S_POD_NAMESPACE \"a.b\""},
		{"K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p-", true, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: invalid K8S_POD_NAME \"p-\""},
		{"K8S_POD_NAMESPACE=ns;K8S_POD_NAME=a..b", true, -EINVAL, NULL, NULL, NULL,
		 "CNI_ARGS: invalid K8S_POD_NAME \"a..b\""},
		{"K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=a b", true, -EINVAL, NULL, NULL,
		 NULL, "CNI_ARGS: invalid K8S_POD_UID \"a b\""},
		{"K8S_POD_NAMESPACE=ns;K8S_POD_NAMESPACE=ns2;K8S_POD_NAME=p", true, -EINVAL, NULL,
		 NULL, NULL, "CNI_ARGS: K8S_POD_NAMESPACE given twice"},
		{"K8S_POD_NAMESPACE="
		 "0123456789012345678901234567890123456789012345678901234567890123;"
		 "K8S_POD_NAME=p",
		 true, -EINVAL, NULL, NULL, NULL, NULL},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pw_cni_args a;
		struct pw_cni_error e = {0};
		int ret = pw_cni_args_parse(rows[i].in, rows[i].need_pod, &a, &e);

		if (ret != rows[i].ret)
			fail_msg("row %zu (%s): ret %d, want %d (%s)", i, rows[i].in, ret,
				 rows[i].ret, e.msg);
		if (ret) {
			assert_int_equal(e.code, PW_CNI_E_ENV);
			if (rows[i].msg && strcmp(e.msg, rows[i].msg))
				fail_msg("row %zu: \"%s\", want \"%s\"", i, e.msg, rows[i].msg);
			continue;
		}
		assert_string_equal(a.pod_namespace, rows[i].ns);
		assert_string_equal(a.pod_name, rows[i].name);
		assert_string_equal(a.pod_uid, rows[i].uid);
	}
}

/* ---- prevResult ---- */

static void test_prev_bridge_v4(void **state)
{
	json_t *prev = load_json("bridge-v4-result.json");
	struct pw_cni_prev p;
	struct pw_cni_error e = {0};

	assert_int_equal(pw_cni_prev_parse(prev, "eth0", fake_classify, (void *)host_v4, &p, &e),
			 0);
	assert_string_equal(p.host_ifname, "veth25e8d44f");
	assert_string_equal(p.cont_ifname, "eth0");
	assert_int_equal(p.n_ips, 1);
	assert_string_equal(p.ips[0], "10.99.0.2/24");
	json_decref(prev);

	/* 0.3.1 shape: ips carry "version". */
	prev = load_json("bridge-v4-0.3.1-result.json");
	assert_int_equal(pw_cni_prev_parse(prev, "eth0", fake_classify, (void *)host_v4, &p, &e),
			 0);
	assert_string_equal(p.host_ifname, "vetha79f7701");
	assert_int_equal(p.n_ips, 1);
	assert_string_equal(p.ips[0], "10.99.0.3/24");
	json_decref(prev);
}

static void test_prev_dual_stack(void **state)
{
	json_t *prev = load_json("bridge-dualstack-result.json");
	struct pw_cni_prev p;
	struct pw_cni_error e = {0};

	assert_int_equal(pw_cni_prev_parse(prev, "eth0", fake_classify, (void *)host_ds, &p, &e),
			 0);
	assert_string_equal(p.host_ifname, "veth5f2c9a1b");
	assert_int_equal(p.n_ips, 2);
	assert_string_equal(p.ips[0], "10.42.0.5/24");
	assert_string_equal(p.ips[1], "2001:db8:42::5/64"); /* canonical text */
	json_decref(prev);
}

/* prevResult edits on the real bridge result. */
static json_t *bridge_prev_with(const char *ifaces_json, const char *ips_json)
{
	json_t *prev = load_json("bridge-v4-result.json");

	if (ifaces_json)
		json_object_set_new(prev, "interfaces", json_loads(ifaces_json, 0, NULL));
	if (ips_json)
		json_object_set_new(prev, "ips", json_loads(ips_json, 0, NULL));
	return prev;
}

static void test_prev_errors(void **state)
{
	static const struct {
		const char *ifaces, *ips, *ifname;
		int ret, code;
		const char *msg;
	} rows[] = {
		/* no host-side interface at all (macvlan-like) */
		{"[{\"name\":\"eth0\",\"sandbox\":\"/var/run/netns/p\"}]",
		 "[{\"interface\":0,\"address\":\"10.99.0.2/24\"}]", "eth0", -ENODEV,
		 PW_CNI_E_NO_VETH, "no host-side veth for eth0 found"},
		/* only the bridge is on the host side */
		{"[{\"name\":\"pwbr0\"},{\"name\":\"eth0\",\"sandbox\":\"/n\"}]", NULL, "eth0",
		 -ENODEV, PW_CNI_E_NO_VETH, "no host-side veth for eth0 found"},
		/* the veth named in prevResult is not in this namespace */
		{"[{\"name\":\"pwbr0\"},{\"name\":\"vethgone\"},{\"name\":\"eth0\",\"sandbox\":\"/"
		 "n\"}]",
		 NULL, "eth0", -ENODEV, PW_CNI_E_NO_VETH, "no host-side veth for eth0 found"},
		/* two veths: refuse rather than guess */
		{"[{\"name\":\"veth25e8d44f\"},{\"name\":\"vetha79f7701\"},{\"name\":\"eth0\","
		 "\"sandbox\":\"/n\"}]",
		 "[{\"address\":\"10.99.0.2/24\"}]", "eth0", -ENODEV, PW_CNI_E_NO_VETH,
		 "ambiguous prevResult: 2 host-side veths (veth25e8d44f, vetha79f7701) for eth0"},
		{NULL, NULL, "net1", -EINVAL, PW_CNI_E_CONFIG,
		 "prevResult.interfaces: no container interface named net1"},
		/* eth0 without a sandbox is not the container side */
		{"[{\"name\":\"veth25e8d44f\"},{\"name\":\"eth0\"}]", NULL, "eth0", -EINVAL,
		 PW_CNI_E_CONFIG, "prevResult.interfaces: no container interface named eth0"},
		{"[]", NULL, "eth0", -EINVAL, PW_CNI_E_CONFIG,
		 "prevResult.interfaces: missing or empty"},
		{"{}", NULL, "eth0", -EINVAL, PW_CNI_E_CONFIG,
		 "prevResult.interfaces: missing or empty"},
		{"[{\"name\":\"a/b\"},{\"name\":\"eth0\",\"sandbox\":\"/n\"}]", NULL, "eth0",
		 -EINVAL, PW_CNI_E_CONFIG, "prevResult.interfaces[0]: malformed"},
		{"[{\"mac\":\"x\"},{\"name\":\"eth0\",\"sandbox\":\"/n\"}]", NULL, "eth0", -EINVAL,
		 PW_CNI_E_CONFIG, "prevResult.interfaces[0]: malformed"},
		{"[{\"name\":\"veth25e8d44f\",\"sandbox\":1},{\"name\":\"eth0\",\"sandbox\":\"/"
		 "n\"}]",
		 NULL, "eth0", -EINVAL, PW_CNI_E_CONFIG, "prevResult.interfaces[0]: malformed"},
		/* only the gateway address of the bridge: nothing for the pod */
		{NULL, "[{\"interface\":0,\"address\":\"10.99.0.1/24\"}]", "eth0", -EINVAL,
		 PW_CNI_E_CONFIG, "prevResult.ips: no address for eth0"},
		{NULL, "[]", "eth0", -EINVAL, PW_CNI_E_CONFIG,
		 "prevResult.ips: no address for eth0"},
		{NULL, "{}", "eth0", -EINVAL, PW_CNI_E_CONFIG, "prevResult.ips: not an array"},
		{NULL, "[{\"interface\":3,\"address\":\"10.99.0.2/24\"}]", "eth0", -EINVAL,
		 PW_CNI_E_CONFIG,
		 "prevResult.ips[0].interface: not an index into prevResult.interfaces"},
		{NULL, "[{\"interface\":-1,\"address\":\"10.99.0.2/24\"}]", "eth0", -EINVAL,
		 PW_CNI_E_CONFIG,
		 "prevResult.ips[0].interface: not an index into prevResult.interfaces"},
		{NULL, "[{\"interface\":2}]", "eth0", -EINVAL, PW_CNI_E_CONFIG,
		 "prevResult.ips[0].address: missing"},
		{NULL, "[{\"interface\":2,\"address\":\"10.99.0.2\"}]", "eth0", -EINVAL,
		 PW_CNI_E_CONFIG, "prevResult.ips[0].address: invalid \"10.99.0.2\""},
		{NULL, "[{\"interface\":2,\"address\":\"10.99.0.2/33\"}]", "eth0", -EINVAL,
		 PW_CNI_E_CONFIG, "prevResult.ips[0].address: invalid \"10.99.0.2/33\""},
		{NULL, "[{\"interface\":2,\"address\":\"10.99.0.2/+4\"}]", "eth0", -EINVAL,
		 PW_CNI_E_CONFIG, "prevResult.ips[0].address: invalid \"10.99.0.2/+4\""},
		{NULL, "[{\"interface\":2,\"address\":\"pod/24\"}]", "eth0", -EINVAL,
		 PW_CNI_E_CONFIG, "prevResult.ips[0].address: invalid \"pod/24\""},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *prev = bridge_prev_with(rows[i].ifaces, rows[i].ips);
		struct pw_cni_prev p;
		struct pw_cni_error e = {0};
		int ret = pw_cni_prev_parse(prev, rows[i].ifname, fake_classify, (void *)host_v4,
					    &p, &e);

		if (ret != rows[i].ret || e.code != rows[i].code || strcmp(e.msg, rows[i].msg))
			fail_msg("row %zu: ret %d code %d \"%s\", want %d %d \"%s\"", i, ret,
				 e.code, e.msg, rows[i].ret, rows[i].code, rows[i].msg);
		assert_string_equal(p.host_ifname, "");
		json_decref(prev);
	}
}

static void test_prev_details(void **state)
{
	json_t *prev = bridge_prev_with("[{\"name\":\"pwbr0\"},{\"name\":\"vethgone\"},"
					"{\"name\":\"eth0\",\"sandbox\":\"/n\"}]",
					NULL);
	struct pw_cni_prev p;
	struct pw_cni_error e = {0};

	assert_int_equal(pw_cni_prev_parse(prev, "eth0", fake_classify, (void *)host_v4, &p, &e),
			 -ENODEV);
	assert_string_equal(e.details,
			    "host-side interfaces in prevResult: pwbr0 (bridge), vethgone (not "
			    "found in the host network namespace); podwall-cni needs a veth-based "
			    "CNI and runs in the host network namespace");
	json_decref(prev);
}

static void test_prev_ip_selection(void **state)
{
	/* IPs of other interfaces are skipped; IPs without an index count. */
	json_t *prev = bridge_prev_with(NULL, "[{\"interface\":0,\"address\":\"10.99.0.1/24\"},"
					      "{\"interface\":2,\"address\":\"10.99.0.2/24\"},"
					      "{\"address\":\"10.99.0.9/24\"}]");
	struct pw_cni_prev p;
	struct pw_cni_error e = {0};

	assert_int_equal(pw_cni_prev_parse(prev, "eth0", fake_classify, (void *)host_v4, &p, &e),
			 0);
	assert_int_equal(p.n_ips, 2);
	assert_string_equal(p.ips[0], "10.99.0.2/24");
	assert_string_equal(p.ips[1], "10.99.0.9/24");
	json_decref(prev);
}

static void test_classify_real(void **state)
{
	/* Runs unprivileged: ETHTOOL_GDRVINFO needs no capability. */
	assert_int_equal(pw_iface_classify("lo", NULL), PW_IFACE_OTHER);
	assert_int_equal(pw_iface_classify("pwnosuchif0", NULL), PW_IFACE_MISSING);
	assert_int_equal(pw_iface_classify("a/b", NULL), -EINVAL);
	assert_int_equal(pw_iface_classify("", NULL), -EINVAL);
	assert_string_equal(pw_iface_kind_str(PW_IFACE_BRIDGE), "bridge");
	assert_string_equal(pw_iface_kind_str(-EPERM), "cannot be inspected");
}

/* ---- requests, replies, stdout ---- */

static const char want_add[] =
	"{\"cmd\":\"cni_add\",\"container_id\":\"4f1d0c3a9b\",\"netns\":\"/var/run/netns/"
	"cni-7d1e\",\"ifname\":\"eth0\",\"host_ifname\":\"veth5f2c9a1b\",\"namespace\":\"agents\","
	"\"name\":\"coder-0\",\"labels\":{\"app\":\"coding-agent\"},\"ips\":[\"10.42.0.5/24\","
	"\"2001:db8:42::5/64\"],\"mac\":\"0a:58:0a:2a:00:05\"}";

static void test_add_request(void **state)
{
	struct pw_cni_env env = {
		.container_id = "4f1d0c3a9b", .netns = "/var/run/netns/cni-7d1e", .ifname = "eth0"};
	char *s = netconf("1.0.0", "bridge-dualstack-result.json",
			  "{\"args\":{\"cni\":{\"labels\":[{\"key\":\"app\",\"value\":"
			  "\"coding-agent\"}]}}}");
	struct pw_cni_conf conf;
	struct pw_cni_args args;
	struct pw_cni_prev prev;
	struct pw_cni_error e = {0};
	json_t *req;
	char *got;

	assert_int_equal(pw_cni_conf_parse(s, strlen(s), PW_CNI_ADD, &conf, &e), 0);
	assert_int_equal(pw_cni_args_parse("IgnoreUnknown=1;K8S_POD_NAMESPACE=agents;"
					   "K8S_POD_NAME=coder-0",
					   true, &args, &e),
			 0);
	assert_int_equal(pw_cni_prev_parse(conf.prev_result, "eth0", fake_classify, (void *)host_ds,
					   &prev, &e),
			 0);
	req = pw_cni_add_request(&env, &conf, &args, &prev);
	assert_non_null(req);
	got = json_dumps(req, JSON_COMPACT);
	/* Key order is part of what the agent logs: compare the bytes too. */
	assert_string_equal(got, want_add);
	free(got);
	json_decref(req);

	req = pw_cni_del_request("4f1d0c3a9b");
	got = json_dumps(req, JSON_COMPACT);
	assert_string_equal(got, "{\"cmd\":\"cni_del\",\"container_id\":\"4f1d0c3a9b\"}");
	free(got);
	json_decref(req);
	req = pw_cni_check_request("4f1d0c3a9b");
	got = json_dumps(req, JSON_COMPACT);
	assert_string_equal(got, "{\"cmd\":\"cni_check\",\"container_id\":\"4f1d0c3a9b\"}");
	free(got);
	json_decref(req);
	pw_cni_conf_free(&conf);
	free(s);
}

static void test_reply_check(void **state)
{
	static const struct {
		const char *reply;
		int ret;
		const char *details;
	} rows[] = {
		{"{\"ok\":true}", 0, NULL},
		{"{\"ok\":true,\"endpoint\":7}", 0, NULL},
		{"{\"ok\":false,\"error\":\"endpoint map full\"}", -EPERM, "endpoint map full"},
		{"{\"ok\":false}", -EPERM, "no reason given"},
		{"{\"ok\":\"true\"}", -EBADMSG, NULL},
		{"{}", -EBADMSG, NULL},
		{"[true]", -EBADMSG, NULL},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *r = json_loads(rows[i].reply, 0, NULL);
		struct pw_cni_error e = {0};

		assert_int_equal(pw_cni_reply_check(r, "cni_add for pod a/b", &e), rows[i].ret);
		if (rows[i].ret)
			assert_int_equal(e.code, PW_CNI_E_AGENT);
		if (rows[i].ret == -EPERM)
			assert_string_equal(e.msg, "podwall agent refused cni_add for pod a/b");
		if (rows[i].details)
			assert_string_equal(e.details, rows[i].details);
		json_decref(r);
	}
}

static void test_error_json(void **state)
{
	struct pw_cni_error e;
	char *s;

	pw_cni_error_set(&e, PW_CNI_E_TRY_AGAIN, "connect: No such file or directory",
			 "podwall agent unreachable at %s", PW_CTL_SOCKET);
	s = pw_cni_error_json("0.4.0", &e);
	assert_string_equal(s, "{\"cniVersion\":\"0.4.0\",\"code\":11,\"msg\":\"podwall agent "
			       "unreachable at /run/podwall/podwall.sock\",\"details\":\"connect: "
			       "No such file or directory\"}\n");
	free(s);

	/* No details: no field. Unknown version: ours. Control bytes never reach JSON. */
	pw_cni_error_set(&e, PW_CNI_E_CONFIG, NULL, "bad \"%s\"", "a\n\x01\xff");
	s = pw_cni_error_json(NULL, &e);
	assert_string_equal(s,
			    "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"bad \\\"a???\\\"\"}\n");
	free(s);
	s = pw_cni_error_json("", &e);
	assert_non_null(strstr(s, "\"cniVersion\":\"1.0.0\""));
	free(s);
}

static void test_version_and_result_json(void **state)
{
	char *s = pw_cni_version_json(), *c, *want;
	struct pw_cni_conf conf;
	struct pw_cni_error e = {0};
	json_t *prev, *nc, *got;

	assert_string_equal(s, "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.1\","
			       "\"0.4.0\",\"1.0.0\"]}\n");
	free(s);

	/* Pass-through: the result is prevResult. */
	c = netconf("1.0.0", "bridge-v4-result.json", NULL);
	assert_int_equal(pw_cni_conf_parse(c, strlen(c), PW_CNI_ADD, &conf, &e), 0);
	s = pw_cni_result_json(&conf);
	assert_non_null(s);
	assert_int_equal(s[strlen(s) - 1], '\n');
	prev = load_json("bridge-v4-result.json");
	want = testdata("bridge-v4-result.json");
	assert_json_str_equal(s, want);
	free(want);
	free(s);
	pw_cni_conf_free(&conf);
	free(c);

	/* A prevResult without cniVersion gets the netconf's. */
	json_object_del(prev, "cniVersion");
	nc = json_pack("{s:s, s:s, s:s, s:O}", "cniVersion", "0.4.0", "name", "n", "type",
		       "podwall-cni", "prevResult", prev);
	c = json_dumps(nc, 0);
	json_decref(nc);
	assert_int_equal(pw_cni_conf_parse(c, strlen(c), PW_CNI_ADD, &conf, &e), 0);
	s = pw_cni_result_json(&conf);
	json_object_set_new(prev, "cniVersion", json_string("0.4.0"));
	got = json_loads(s, 0, NULL);
	assert_true(json_equal(got, prev));
	json_decref(got);
	free(s);
	pw_cni_conf_free(&conf);
	free(c);
	json_decref(prev);
}

/* ---- whole commands against a fake agent ---- */

struct fake_agent {
	char dir[64];
	char sock[128];
	int lfd;
	const char *reply; /* NULL: read the request and never answer */
	char request[4096];
	pthread_t thread;
};

static void *agent_main(void *arg)
{
	struct fake_agent *a = arg;
	size_t len = 0;
	char c;
	int fd;

	fd = accept(a->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	while (len + 1 < sizeof(a->request) && read(fd, &c, 1) == 1 && c != '\n')
		a->request[len++] = c;
	a->request[len] = '\0';
	if (a->reply) {
		if (write(fd, a->reply, strlen(a->reply)) < 0 || write(fd, "\n", 1) < 0)
			a->request[0] = '\0';
	} else {
		while (read(fd, &c, 1) > 0) /* until the plugin gives up */
			;
	}
	close(fd);
	return NULL;
}

static void agent_start(struct fake_agent *a, const char *reply)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	memset(a, 0, sizeof(*a));
	strcpy(a->dir, "/tmp/pw-cni-test.XXXXXX");
	assert_non_null(mkdtemp(a->dir));
	snprintf(a->sock, sizeof(a->sock), "%s/agent.sock", a->dir);
	a->reply = reply;
	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(a->lfd >= 0);
	strcpy(sun.sun_path, a->sock);
	assert_int_equal(bind(a->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(a->lfd, 4), 0);
	assert_int_equal(pthread_create(&a->thread, NULL, agent_main, a), 0);
}

/* No listener at all: the socket path does not exist. */
static void agent_absent(struct fake_agent *a)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->dir, "/tmp/pw-cni-test.XXXXXX");
	assert_non_null(mkdtemp(a->dir));
	snprintf(a->sock, sizeof(a->sock), "%s/agent.sock", a->dir);
	a->lfd = -1;
}

static void agent_stop(struct fake_agent *a)
{
	if (a->lfd >= 0) {
		shutdown(a->lfd, SHUT_RDWR); /* unblocks accept() if nobody came */
		pthread_join(a->thread, NULL);
		close(a->lfd);
	}
	unlink(a->sock);
	rmdir(a->dir);
}

static char *agent_netconf(const struct fake_agent *a, const char *version, const char *extra)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "{\"socket\":\"%s\",\"timeoutSeconds\":1%s%s}", a->sock,
		 extra ? "," : "", extra ? extra : "");
	return netconf(version, "bridge-v4-result.json", buf);
}

static const struct pw_cni_env env_add = {
	.command = "ADD",
	.container_id = "0123456789abcdef",
	.netns = "/var/run/netns/pwpod1",
	.ifname = "eth0",
	.args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=agents;K8S_POD_NAME=coder-0;"
		"K8S_POD_INFRA_CONTAINER_ID=0123456789abcdef;K8S_POD_UID=1b4e28ba",
	.path = "/opt/cni/bin",
};

static int run(const struct pw_cni_env *env, const char *conf, char **out)
{
	return pw_cni_exec(env, conf, strlen(conf), fake_classify, (void *)host_v4, out);
}

static void assert_cni_error(const char *out, int code, const char *msg_part)
{
	json_t *j = json_loads(out, 0, NULL);

	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "code")), code);
	assert_non_null(json_string_value(json_object_get(j, "cniVersion")));
	if (!strstr(json_string_value(json_object_get(j, "msg")), msg_part))
		fail_msg("msg \"%s\" lacks \"%s\"", json_string_value(json_object_get(j, "msg")),
			 msg_part);
	json_decref(j);
}

static void test_exec_add_ok(void **state)
{
	struct fake_agent a;
	char *conf, *out;
	json_t *prev = load_json("bridge-v4-result.json"), *got;

	agent_start(&a, "{\"ok\":true}");
	conf = agent_netconf(&a, "1.0.0",
			     "\"args\":{\"cni\":{\"labels\":[{\"key\":\"app\",\"value\":\"x\"}]}}");
	assert_int_equal(run(&env_add, conf, &out), 0);
	agent_stop(&a);
	{
		/* The container interface's MAC is the real veth's: random. */
		char *m = strstr(a.request, ",\"mac\":\"");

		assert_non_null(m);
		assert_int_equal(strlen(m), strlen(",\"mac\":\"00:00:00:00:00:00\"}"));
		strcpy(m, "}");
	}
	assert_string_equal(a.request,
			    "{\"cmd\":\"cni_add\",\"container_id\":\"0123456789abcdef\",\"netns\":"
			    "\"/var/run/netns/pwpod1\",\"ifname\":\"eth0\",\"host_ifname\":"
			    "\"veth25e8d44f\",\"namespace\":\"agents\",\"name\":\"coder-0\","
			    "\"labels\":{\"app\":\"x\"},\"ips\":[\"10.99.0.2/24\"]}");
	got = json_loads(out, 0, NULL);
	assert_true(json_equal(got, prev));
	json_decref(got);
	json_decref(prev);
	free(out);
	free(conf);
}

static void test_exec_add_refused(void **state)
{
	struct fake_agent a;
	char *conf, *out;

	agent_start(&a, "{\"ok\":false,\"error\":\"endpoint map full\"}");
	conf = agent_netconf(&a, "0.4.0", NULL);
	assert_int_equal(run(&env_add, conf, &out), -EPERM);
	agent_stop(&a);
	assert_cni_error(out, PW_CNI_E_AGENT, "refused cni_add for pod agents/coder-0");
	assert_non_null(strstr(out, "\"cniVersion\":\"0.4.0\""));
	assert_non_null(strstr(out, "endpoint map full"));
	free(out);
	free(conf);

	/* A reply that is not a reply never counts as confirmation. */
	agent_start(&a, "ok");
	conf = agent_netconf(&a, "1.0.0", NULL);
	assert_true(run(&env_add, conf, &out) < 0);
	agent_stop(&a);
	assert_cni_error(out, PW_CNI_E_AGENT, "unreadable reply");
	free(out);
	free(conf);
}

static void test_exec_add_unreachable(void **state)
{
	struct fake_agent a;
	char *conf, *out, want[256];

	agent_absent(&a);
	conf = agent_netconf(&a, "1.0.0", NULL);
	assert_int_equal(run(&env_add, conf, &out), -ENOENT);
	snprintf(want, sizeof(want), "podwall agent unreachable at %s", a.sock);
	assert_cni_error(out, PW_CNI_E_TRY_AGAIN, want);
	agent_stop(&a);
	free(out);
	free(conf);
}

static void test_exec_add_timeout(void **state)
{
	struct fake_agent a;
	char *conf, *out;

	agent_start(&a, NULL);
	conf = agent_netconf(&a, "1.0.0", NULL);
	assert_int_equal(run(&env_add, conf, &out), -ETIMEDOUT);
	agent_stop(&a);
	assert_cni_error(out, PW_CNI_E_TRY_AGAIN,
			 "did not answer cni_add for pod agents/coder-0 "
			 "within 1 s");
	free(out);
	free(conf);
}

static void test_exec_add_bad_input(void **state)
{
	struct fake_agent a;
	struct pw_cni_env env = env_add;
	char *conf, *out;

	agent_start(&a, "{\"ok\":true}");
	conf = agent_netconf(&a, "1.0.0", NULL);
	env.args = "K8S_POD_NAMESPACE=agents";
	assert_int_equal(run(&env, conf, &out), -EINVAL);
	assert_cni_error(out, PW_CNI_E_ENV, "K8S_POD_NAME missing");
	free(out);
	env = env_add;
	env.ifname = "net1";
	assert_int_equal(run(&env, conf, &out), -EINVAL);
	assert_cni_error(out, PW_CNI_E_CONFIG, "no container interface named net1");
	free(out);
	assert_int_equal(run(&env_add, "{\"cniVersion\":", &out), -EINVAL);
	assert_cni_error(out, PW_CNI_E_DECODE, "not valid JSON");
	free(out);
	agent_stop(&a);
	assert_string_equal(a.request, ""); /* the agent was never asked */
	free(conf);
}

static void test_exec_del(void **state)
{
	struct pw_cni_env env = {.command = "DEL", .container_id = "0123456789abcdef"};
	struct fake_agent a;
	char *conf, *out;

	agent_start(&a, "{\"ok\":true}");
	conf = agent_netconf(&a, "1.0.0", NULL);
	assert_int_equal(run(&env, conf, &out), 0);
	assert_null(out);
	agent_stop(&a);
	assert_string_equal(a.request,
			    "{\"cmd\":\"cni_del\",\"container_id\":\"0123456789abcdef\"}");
	free(conf);

	/* Unknown endpoint, or no agent at all: DEL still succeeds, silently. */
	agent_start(&a, "{\"ok\":false,\"error\":\"unknown container\"}");
	conf = agent_netconf(&a, "1.0.0", NULL);
	assert_int_equal(run(&env, conf, &out), 0);
	assert_null(out);
	agent_stop(&a);
	free(conf);
	agent_absent(&a);
	conf = agent_netconf(&a, "1.0.0", NULL);
	assert_int_equal(run(&env, conf, &out), 0);
	assert_null(out);
	agent_stop(&a);
	free(conf);

	/* Only a missing container id fails DEL. */
	env.container_id = NULL;
	assert_int_equal(run(&env, "{}", &out), -EINVAL);
	assert_cni_error(out, PW_CNI_E_ENV, "CNI_CONTAINERID");
	free(out);
}

static void test_exec_check(void **state)
{
	struct pw_cni_env env = env_add;
	struct fake_agent a;
	char *conf, *out;

	env.command = "CHECK";
	agent_start(&a, "{\"ok\":true}");
	conf = agent_netconf(&a, "1.0.0", NULL);
	assert_int_equal(run(&env, conf, &out), 0);
	assert_null(out);
	agent_stop(&a);
	assert_string_equal(a.request,
			    "{\"cmd\":\"cni_check\",\"container_id\":\"0123456789abcdef\"}");
	free(conf);

	agent_start(&a, "{\"ok\":false,\"error\":\"not enforced\"}");
	conf = agent_netconf(&a, "1.0.0", NULL);
	assert_int_equal(run(&env, conf, &out), -EPERM);
	agent_stop(&a);
	assert_cni_error(out, PW_CNI_E_AGENT, "refused cni_check");
	free(out);
	free(conf);

	agent_absent(&a);
	conf = agent_netconf(&a, "0.3.1", NULL);
	assert_int_equal(run(&env, conf, &out), -EINVAL);
	assert_cni_error(out, PW_CNI_E_VERSION, "does not allow CHECK");
	free(out);
	free(conf);
	conf = agent_netconf(&a, "1.0.0", NULL);
	assert_int_equal(run(&env, conf, &out), -ENOENT);
	assert_cni_error(out, PW_CNI_E_TRY_AGAIN, "unreachable");
	agent_stop(&a);
	free(out);
	free(conf);
}

static void test_exec_version_and_unknown(void **state)
{
	struct pw_cni_env env = {.command = "VERSION"};
	char *out;

	assert_int_equal(run(&env, "", &out), 0);
	assert_non_null(strstr(out, "\"supportedVersions\""));
	free(out);
	env.command = "GC";
	assert_int_equal(run(&env, "", &out), -EINVAL);
	assert_cni_error(out, PW_CNI_E_ENV, "CNI_COMMAND: unknown command \"GC\"");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_env_check),
		cmocka_unit_test(test_conf_valid),
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_conf_missing_prev),
		cmocka_unit_test(test_conf_bad_json),
		cmocka_unit_test(test_conf_bad_fields),
		cmocka_unit_test(test_conf_bad_labels),
		cmocka_unit_test(test_args_table),
		cmocka_unit_test(test_prev_bridge_v4),
		cmocka_unit_test(test_prev_dual_stack),
		cmocka_unit_test(test_prev_errors),
		cmocka_unit_test(test_prev_details),
		cmocka_unit_test(test_prev_ip_selection),
		cmocka_unit_test(test_classify_real),
		cmocka_unit_test(test_add_request),
		cmocka_unit_test(test_reply_check),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_version_and_result_json),
		cmocka_unit_test(test_exec_add_ok),
		cmocka_unit_test(test_exec_add_refused),
		cmocka_unit_test(test_exec_add_unreachable),
		cmocka_unit_test(test_exec_add_timeout),
		cmocka_unit_test(test_exec_add_bad_input),
		cmocka_unit_test(test_exec_del),
		cmocka_unit_test(test_exec_check),
		cmocka_unit_test(test_exec_version_and_unknown),
	};

	/* The failing commands log their errors to stderr, as in real use. */
	pw_log_level = PW_LOG_ERROR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

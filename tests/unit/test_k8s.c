// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * k8s client, the parts that need no API server: reading kubeconfigs and the
 * in-cluster environment (pw_k8s_new does no I/O beyond files), and
 * pw_k8s_pod_info. The list/watch protocol is tested against the fake API
 * server by tests/k8s/run.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ipaddr.h"
#include "k8s.h"
#include "log.h"

static char dir[64];

static int fd_cb(int fd, int op, uint32_t events, void *ctx)
{
	return 0;
}

static void write_file(const char *name, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/pw-test-k8s.XXXXXX");
	assert_non_null(mkdtemp(dir));
	pw_log_level = PW_LOG_ERROR;
	write_file("token", "sa-token\n");
	write_file("ca.crt", "-----BEGIN CERTIFICATE-----\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* "LS0tLS1CRUdJTi..." of "-----BEGIN X-----\n" */
#define PEM_B64 "LS0tLS1CRUdJTiBYLS0tLS0K"

struct kc_case {
	const char *name;
	const char *yaml; /* written to DIR/kubeconfig */
	const char *context;
	int want; /* 0 or the negative errno */
	const char *err_has;
	const char *server; /* expected pw_k8s_server() */
};

#define KC_HEAD                                                                                    \
	"apiVersion: v1\nkind: Config\ncurrent-context: default\n"                                 \
	"contexts:\n- name: default\n  context: {cluster: c, user: u}\n"                           \
	"- name: other\n  context: {cluster: c2, user: u}\n"

static const struct kc_case kc_cases[] = {
	{"k3s: inline CA, client certificate and key",
	 KC_HEAD "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443/\n"
		 "    certificate-authority-data: " PEM_B64 "\n"
		 "users:\n- name: u\n  user:\n    client-certificate-data: " PEM_B64 "\n"
		 "    client-key-data: " PEM_B64 "\n",
	 NULL, 0, NULL, "https://127.0.0.1:6443"},
	{"token, path prefix kept",
	 KC_HEAD
	 "clusters:\n- name: c\n  cluster: {server: 'https://rancher.example/k8s/clusters/c-1'}\n"
	 "users:\n- name: u\n  user: {token: abc}\n",
	 NULL, 0, NULL, "https://rancher.example/k8s/clusters/c-1"},
	{"tokenFile relative to the kubeconfig",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:8080'}\n"
		 "users:\n- name: u\n  user: {tokenFile: token}\n",
	 NULL, 0, NULL, "http://127.0.0.1:8080"},
	{"CA file relative to the kubeconfig",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h:6443', "
		 "certificate-authority: ca.crt}\n"
		 "users:\n- name: u\n  user: {token: abc}\n",
	 NULL, 0, NULL, "https://h:6443"},
	{"base64 wrapped over lines",
	 KC_HEAD "clusters:\n- name: c\n  cluster:\n    server: https://h\n"
		 "    certificate-authority-data: |\n      LS0tLS1CRUdJ\n      TiBYLS0tLS0K\n"
		 "users:\n- name: u\n  user: {token: abc}\n",
	 NULL, 0, NULL, "https://h"},
	{"--context picks another cluster",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'https://one'}\n"
		 "- name: c2\n  cluster: {server: 'https://two'}\n"
		 "users:\n- name: u\n  user: {token: abc}\n",
	 "other", 0, NULL, "https://two"},
	{"insecure-skip-tls-verify is read (warned about)",
	 KC_HEAD
	 "clusters:\n- name: c\n  cluster: {server: 'https://h', insecure-skip-tls-verify: true}\n"
	 "users:\n- name: u\n  user: {token: abc}\n",
	 NULL, 0, NULL, "https://h"},
	{"no current-context", "apiVersion: v1\nkind: Config\nclusters: []\n", NULL, -EINVAL,
	 "current-context", NULL},
	{"unknown context", KC_HEAD "clusters: []\n", "nope", -EINVAL, "no context \"nope\"", NULL},
	{"unknown cluster", KC_HEAD "clusters: []\nusers: []\n", NULL, -EINVAL,
	 "no cluster \"c\" in clusters", NULL},
	{"exec plugin refused",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		 "users:\n- name: u\n  user:\n    exec: {command: aws}\n",
	 NULL, -EINVAL, "exec and auth-provider", NULL},
	{"basic auth refused",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		 "users:\n- name: u\n  user: {username: a, password: b}\n",
	 NULL, -EINVAL, "basic authentication", NULL},
	{"bad base64",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h', "
		 "certificate-authority-data: 'no!'}\n"
		 "users:\n- name: u\n  user: {token: abc}\n",
	 NULL, -EINVAL, "certificate-authority-data is not valid base64", NULL},
	{"certificate without key",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		 "users:\n- name: u\n  user: {client-certificate-data: " PEM_B64 "}\n",
	 NULL, -EINVAL, "needs its key", NULL},
	{"server not a URL",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'h:6443'}\n"
		 "users:\n- name: u\n  user: {token: abc}\n",
	 NULL, -EINVAL, "https://", NULL},
	{"server missing",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {}\nusers:\n- name: u\n  user: {token: abc}\n",
	 NULL, -EINVAL, "server is required", NULL},
	{"CA file missing",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h', certificate-authority: "
		 "/nonexistent/ca}\n"
		 "users:\n- name: u\n  user: {token: abc}\n",
	 NULL, -EINVAL, "/nonexistent/ca", NULL},
	{"tokenFile missing",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		 "users:\n- name: u\n  user: {tokenFile: missing-token}\n",
	 NULL, -ENOENT, "missing-token", NULL},
	{"token not a string",
	 KC_HEAD "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		 "users:\n- name: u\n  user: {token: 12345}\n",
	 NULL, -EINVAL, "token must be a string", NULL},
	{"not YAML", "a: [\n", NULL, -EINVAL, "line", NULL},
};

static void new_client(const char *kubeconfig, const char *context, const char *dns, int want,
		       const char *err_has, const char *server)
{
	struct pw_k8s_config cfg = {.kubeconfig = kubeconfig,
				    .context = context,
				    .sa_dir = dir,
				    .node_name = "node-a",
				    .dns_service = dns,
				    .watch_fd = fd_cb};
	struct pw_k8s *k = NULL;
	char err[512] = "";
	int ret;

	ret = pw_k8s_new(&cfg, &k, err, sizeof(err));
	if (ret != want)
		fail_msg("pw_k8s_new: %d (%s), want %d", ret, err, want);
	if (err_has && !strstr(err, err_has))
		fail_msg("error \"%s\" lacks \"%s\"", err, err_has);
	if (want) {
		assert_null(k);
		return;
	}
	assert_non_null(k);
	if (server)
		assert_string_equal(pw_k8s_server(k), server);
	/* no I/O yet: the first lists are due, nothing is synced or cached */
	assert_int_equal(pw_k8s_next_timeout_ms(k), 0);
	assert_false(pw_k8s_synced(k));
	assert_int_equal(json_object_size(pw_k8s_objects(k, PW_K8S_PODS)), 0);
	assert_null(pw_k8s_get(k, PW_K8S_PODS, "a", "b"));
	assert_int_equal(pw_k8s_resolvers(k, NULL, 0), 0);
	pw_k8s_free(k);
}

static void test_kubeconfig(void **state)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	for (size_t i = 0; i < sizeof(kc_cases) / sizeof(kc_cases[0]); i++) {
		const struct kc_case *c = &kc_cases[i];

		print_message("kubeconfig: %s\n", c->name);
		write_file("kubeconfig", c->yaml);
		new_client(path, c->context, NULL, c->want, c->err_has, c->server);
	}
}

static void test_incluster(void **state)
{
	char sa[128];

	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	new_client(NULL, NULL, NULL, -ENOENT, "KUBERNETES_SERVICE_HOST", NULL);

	setenv("KUBERNETES_SERVICE_HOST", "10.43.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	new_client(NULL, NULL, NULL, 0, NULL, "https://10.43.0.1:443");
	setenv("KUBERNETES_SERVICE_HOST", "fd00:43::1", 1);
	new_client(NULL, NULL, NULL, 0, NULL, "https://[fd00:43::1]:443");
	setenv("KUBERNETES_SERVICE_PORT", "443/x", 1);
	new_client(NULL, NULL, NULL, -EINVAL, "malformed", NULL);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);

	/* a service account directory without a token */
	snprintf(sa, sizeof(sa), "%s/empty-sa", dir);
	mkdir(sa, 0700);
	{
		struct pw_k8s_config cfg = {.sa_dir = sa, .node_name = "n", .watch_fd = fd_cb};
		struct pw_k8s *k = NULL;
		char err[512];

		assert_int_equal(pw_k8s_new(&cfg, &k, err, sizeof(err)), -ENOENT);
		assert_non_null(strstr(err, "automountServiceAccountToken"));
		assert_null(k);
	}
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_config_checks(void **state)
{
	struct pw_k8s_config cfg = {.sa_dir = dir, .watch_fd = fd_cb};
	struct pw_k8s *k = NULL;
	char err[512];

	setenv("KUBERNETES_SERVICE_HOST", "10.43.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	/* the node name is required */
	assert_int_equal(pw_k8s_new(&cfg, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "node name"));
	cfg.node_name = "node-a";
	cfg.watch_fd = NULL;
	assert_int_equal(pw_k8s_new(&cfg, &k, err, sizeof(err)), -EINVAL);
	cfg.watch_fd = fd_cb;

	/* DNS service: namespace/name, or "" for none (then the DNS kinds count as synced) */
	new_client(NULL, NULL, "kube-dns", -EINVAL, "namespace/name", NULL);
	new_client(NULL, NULL, "kube-system/Kube_DNS", -EINVAL, "namespace/name", NULL);
	new_client(NULL, NULL, "dns/coredns", 0, NULL, NULL);
	cfg.dns_service = "";
	assert_int_equal(pw_k8s_new(&cfg, &k, err, sizeof(err)), 0);
	assert_true(pw_k8s_kind_synced(k, PW_K8S_DNS_SERVICE));
	assert_true(pw_k8s_kind_synced(k, PW_K8S_DNS_SLICES));
	assert_false(pw_k8s_kind_synced(k, PW_K8S_PODS));
	assert_non_null(pw_k8s_objects(k, PW_K8S_DNS_SLICES));
	assert_null(pw_k8s_objects(k, PW_K8S_NKINDS));
	assert_string_equal(pw_k8s_kind_name(PW_K8S_POLICIES), "egresspolicies");
	assert_string_equal(pw_k8s_change_name(PW_K8S_DELETED), "DELETED");
	pw_k8s_free(k);
	pw_k8s_free(NULL);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

struct pod_case {
	const char *name;
	const char *json;
	int want;
	const char *err_has;
	size_t n_ips;
	const char *ip0, *ip1;
	bool host_network, terminating;
	const char *app; /* labels["app"] */
};

static const struct pod_case pod_cases[] = {
	{"dual stack",
	 "{\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\",\"uid\":\"u-1\","
	 "\"labels\":{\"app\":\"web\",\"tier\":\"x\"}},\"spec\":{\"nodeName\":\"n1\"},"
	 "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.42.0.5\",\"podIPs\":[{\"ip\":\"10.42.0."
	 "5\"},"
	 "{\"ip\":\"fd00::5\"}]}}",
	 0, NULL, 2, "10.42.0.5", "fd00::5", false, false, "web"},
	{"podIP only (old servers)",
	 "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\"},\"status\":{\"podIP\":\"10.42.0.6\"}"
	 "}",
	 0, NULL, 1, "10.42.0.6", NULL, false, false, NULL},
	{"pending: no IPs, no node",
	 "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\"},\"spec\":{},\"status\":{\"phase\":"
	 "\"Pending\"}}",
	 0, NULL, 0, NULL, NULL, false, false, NULL},
	{"host network, terminating",
	 "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\",\"deletionTimestamp\":\"2024-01-01T00:"
	 "00:"
	 "00Z\"},\"spec\":{\"hostNetwork\":true},\"status\":{\"podIPs\":[{\"ip\":\"192.168.1.2\"}]}"
	 "}",
	 0, NULL, 1, "192.168.1.2", NULL, true, true, NULL},
	{"duplicate IPs counted once",
	 "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\"},\"status\":{\"podIPs\":[{\"ip\":\"10."
	 "0.0."
	 "1\"},{\"ip\":\"10.0.0.1\"}]}}",
	 0, NULL, 1, "10.0.0.1", NULL, false, false, NULL},
	{"not a pod", "{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\"}}",
	 -EINVAL, "not a Pod", 0, NULL, NULL, false, false, NULL},
	{"no namespace", "{\"metadata\":{\"name\":\"p\"}}", -EINVAL, "metadata.namespace", 0, NULL,
	 NULL, false, false, NULL},
	{"bad IP",
	 "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\"},\"status\":{\"podIPs\":[{\"ip\":\"10."
	 "0.0."
	 "300\"}]}}",
	 -EINVAL, "status.podIPs[0].ip", 0, NULL, NULL, false, false, NULL},
	{"label value not a string",
	 "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\",\"labels\":{\"a\":1}}}", -EINVAL,
	 "metadata.labels", 0, NULL, NULL, false, false, NULL},
	{"hostNetwork not a boolean",
	 "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\"},\"spec\":{\"hostNetwork\":\"yes\"}}",
	 -EINVAL, "hostNetwork", 0, NULL, NULL, false, false, NULL},
};

static void test_pod_info(void **state)
{
	for (size_t i = 0; i < sizeof(pod_cases) / sizeof(pod_cases[0]); i++) {
		const struct pod_case *c = &pod_cases[i];
		struct pw_k8s_pod p = {0};
		char err[256] = "", buf[PW_IP_STRLEN];
		json_t *j = json_loads(c->json, 0, NULL);
		int ret;

		print_message("pod_info: %s\n", c->name);
		assert_non_null(j);
		ret = pw_k8s_pod_info(j, &p, err, sizeof(err));
		if (ret != c->want)
			fail_msg("%s: %d (%s), want %d", c->name, ret, err, c->want);
		if (c->err_has && !strstr(err, c->err_has))
			fail_msg("%s: error \"%s\" lacks \"%s\"", c->name, err, c->err_has);
		if (!ret) {
			assert_string_equal(p.namespace, "ns");
			assert_string_equal(p.name, "p");
			assert_int_equal(p.n_ips, c->n_ips);
			if (c->ip0)
				assert_string_equal(pw_ip_str(p.ips[0].family, &p.ips[0].ip, buf),
						    c->ip0);
			if (c->ip1)
				assert_string_equal(pw_ip_str(p.ips[1].family, &p.ips[1].ip, buf),
						    c->ip1);
			assert_int_equal(p.host_network, c->host_network);
			assert_int_equal(p.terminating, c->terminating);
			if (c->app)
				assert_string_equal(pw_labels_get(&p.labels, "app"), c->app);
			pw_k8s_pod_free(&p);
		}
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubeconfig),
		cmocka_unit_test(test_incluster),
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test(test_pod_info),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

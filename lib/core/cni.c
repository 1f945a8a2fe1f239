// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* podwall-cni logic: see cni.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni.h"
#include "ctl.h"
#include "fileio.h"
#include "k8sname.h"
#include "log.h"

const char *const pw_cni_supported_versions[] = {"0.3.1", "0.4.0", "1.0.0", NULL};

/* ---- errors ---- */

void pw_cni_error_set(struct pw_cni_error *e, int code, const char *details, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	snprintf(e->details, sizeof(e->details), "%s", details ? details : "");
	pw_sanitize(e->msg);
	pw_sanitize(e->details);
}

/* ---- versions, commands, environment ---- */

static int version_parse(const char *s, unsigned int v[3])
{
	int n = -1;

	if (!s || sscanf(s, "%u.%u.%u%n", &v[0], &v[1], &v[2], &n) != 3 || n < 0 || s[n])
		return -EINVAL;
	return 0;
}

int pw_cni_version_cmp(const char *a, const char *b)
{
	unsigned int va[3], vb[3];
	int ea = version_parse(a, va), eb = version_parse(b, vb);

	if (ea || eb)
		return ea && eb ? 0 : ea ? -1 : 1;
	for (int i = 0; i < 3; i++)
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	return 0;
}

bool pw_cni_version_supported(const char *version)
{
	for (const char *const *v = pw_cni_supported_versions; *v; v++)
		if (version && !strcmp(*v, version))
			return true;
	return false;
}

int pw_cni_cmd_parse(const char *s, enum pw_cni_cmd *cmd, struct pw_cni_error *e)
{
	static const struct {
		const char *name;
		enum pw_cni_cmd cmd;
	} cmds[] = {
		{"ADD", PW_CNI_ADD},
		{"DEL", PW_CNI_DEL},
		{"CHECK", PW_CNI_CHECK},
		{"VERSION", PW_CNI_VERSION},
	};

	if (!s || !*s) {
		pw_cni_error_set(e, PW_CNI_E_ENV, "podwall-cni is run by the container runtime",
				 "CNI_COMMAND: not set");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(s, cmds[i].name)) {
			*cmd = cmds[i].cmd;
			return 0;
		}
	}
	pw_cni_error_set(e, PW_CNI_E_ENV, "expected ADD, DEL, CHECK or VERSION",
			 "CNI_COMMAND: unknown command \"%.32s\"", s);
	return -EINVAL;
}

/* CNI spec: alphanumeric first, then alphanumerics, '_', '.', '-'. */
static bool container_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 1024 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* The kernel's dev_valid_name(). */
bool pw_cni_ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]) ||
		    (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static bool path_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n >= 4096 || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

int pw_cni_env_check(const struct pw_cni_env *env, enum pw_cni_cmd cmd, struct pw_cni_error *e)
{
	bool full = cmd == PW_CNI_ADD || cmd == PW_CNI_CHECK;

	if (cmd == PW_CNI_VERSION)
		return 0;
	if (!env->container_id || !*env->container_id) {
		pw_cni_error_set(e, PW_CNI_E_ENV, NULL, "CNI_CONTAINERID: not set");
		return -EINVAL;
	}
	if (!container_id_valid(env->container_id)) {
		pw_cni_error_set(
			e, PW_CNI_E_ENV,
			"must start with a letter or digit, then letters, digits, '_', '.', '-'",
			"CNI_CONTAINERID: invalid \"%.64s\"", env->container_id);
		return -EINVAL;
	}
	if (!full)
		return 0;
	if (!env->netns || !*env->netns) {
		pw_cni_error_set(e, PW_CNI_E_ENV, NULL, "CNI_NETNS: not set");
		return -EINVAL;
	}
	if (!path_valid(env->netns)) {
		pw_cni_error_set(e, PW_CNI_E_ENV,
				 "expected an absolute path such as /var/run/netns/x",
				 "CNI_NETNS: invalid \"%.64s\"", env->netns);
		return -EINVAL;
	}
	if (!env->ifname || !*env->ifname) {
		pw_cni_error_set(e, PW_CNI_E_ENV, NULL, "CNI_IFNAME: not set");
		return -EINVAL;
	}
	if (!pw_cni_ifname_valid(env->ifname)) {
		pw_cni_error_set(e, PW_CNI_E_ENV, "1 to 15 bytes, no '/', ':' or white space",
				 "CNI_IFNAME: invalid interface name \"%.32s\"", env->ifname);
		return -EINVAL;
	}
	return 0;
}

/* ---- Kubernetes names (k8sname.h) ---- */

static bool label_key_valid(const char *k)
{
	return !pw_k8s_label_key_problem(k);
}

static bool label_value_valid(const char *v)
{
	return !pw_k8s_label_name_problem(v, strlen(v), true);
}

/* ---- netconf ---- */

static int parse_labels(const json_t *args, json_t **out, struct pw_cni_error *e)
{
	json_t *cni, *labels, *obj;
	size_t i;
	int ret = -EINVAL;

	obj = json_object();
	if (!obj) {
		pw_cni_error_set(e, PW_CNI_E_IO, NULL, "out of memory");
		return -ENOMEM;
	}
	if (!args)
		goto done;
	if (!json_is_object(args)) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL, "args: not an object");
		goto cleanup;
	}
	cni = json_object_get(args, "cni");
	if (!cni)
		goto done;
	if (!json_is_object(cni)) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL, "args.cni: not an object");
		goto cleanup;
	}
	labels = json_object_get(cni, "labels");
	if (!labels)
		goto done;
	if (!json_is_array(labels)) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG,
				 "expected [{\"key\":\"app\",\"value\":\"x\"}, ...]",
				 "args.cni.labels: not an array");
		goto cleanup;
	}
	for (i = 0; i < json_array_size(labels); i++) {
		const json_t *it = json_array_get(labels, i);
		const char *k = json_string_value(json_object_get(it, "key"));
		const char *v = json_string_value(json_object_get(it, "value"));

		if (!json_is_object(it) || !k || !v) {
			pw_cni_error_set(
				e, PW_CNI_E_CONFIG, "expected {\"key\":\"app\",\"value\":\"x\"}",
				"args.cni.labels[%zu]: needs string \"key\" and \"value\"", i);
			goto cleanup;
		}
		if (!label_key_valid(k)) {
			pw_cni_error_set(e, PW_CNI_E_CONFIG,
					 "a Kubernetes label key: [prefix/]name, name 1-63 of "
					 "[A-Za-z0-9-_.], alphanumeric at both ends",
					 "args.cni.labels[%zu].key: invalid \"%.64s\"", i, k);
			goto cleanup;
		}
		if (!label_value_valid(v)) {
			pw_cni_error_set(
				e, PW_CNI_E_CONFIG,
				"a Kubernetes label value: empty, or 1-63 of [A-Za-z0-9-_.], "
				"alphanumeric at both ends",
				"args.cni.labels[%zu].value: invalid \"%.64s\"", i, v);
			goto cleanup;
		}
		if (json_object_get(obj, k)) {
			pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL,
					 "args.cni.labels[%zu].key: \"%.64s\" given twice", i, k);
			goto cleanup;
		}
		if (json_object_set_new(obj, k, json_string(v))) {
			pw_cni_error_set(e, PW_CNI_E_IO, NULL, "out of memory");
			ret = -ENOMEM;
			goto cleanup;
		}
	}
done:
	*out = obj;
	return 0;
cleanup:
	json_decref(obj);
	return ret;
}

static int conf_string(json_t *root, const char *key, bool required, const char **out,
		       struct pw_cni_error *e)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (!v && !required)
		return 0;
	if (!json_is_string(v) || !*json_string_value(v)) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL, "%s: %s", key,
				 v ? "must be a non-empty string" : "missing");
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

int pw_cni_conf_parse(const char *buf, size_t len, enum pw_cni_cmd cmd, struct pw_cni_conf *conf,
		      struct pw_cni_error *e)
{
	const char *version = NULL;
	json_error_t jerr;
	json_t *root, *v;
	int ret = -EINVAL;

	memset(conf, 0, sizeof(*conf));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		pw_cni_error_set(
			e, PW_CNI_E_DECODE, jerr.text,
			"network configuration on stdin is not valid JSON (line %d, column %d)",
			jerr.line, jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		pw_cni_error_set(e, PW_CNI_E_DECODE, NULL,
				 "network configuration on stdin is not a JSON object");
		goto cleanup;
	}
	conf->root = root;
	if (conf_string(root, "cniVersion", true, &version, e))
		goto cleanup;
	if (!pw_cni_version_supported(version)) {
		pw_cni_error_set(e, PW_CNI_E_VERSION, "podwall-cni supports 0.3.1, 0.4.0 and 1.0.0",
				 "incompatible CNI version \"%.16s\"", version);
		goto cleanup;
	}
	snprintf(conf->cni_version, sizeof(conf->cni_version), "%s", version);
	if (conf_string(root, "name", true, &conf->name, e) ||
	    conf_string(root, "type", true, &conf->type, e) ||
	    conf_string(root, "socket", false, &conf->socket, e))
		goto cleanup;
	if (conf->socket && (!path_valid(conf->socket) || strlen(conf->socket) >= 108)) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG, "an absolute path shorter than 108 bytes",
				 "socket: invalid \"%.64s\"", conf->socket);
		goto cleanup;
	}
	if (!conf->socket)
		conf->socket = PW_CTL_SOCKET;

	conf->timeout_s = PW_CNI_DEFAULT_TIMEOUT_S;
	v = json_object_get(root, "timeoutSeconds");
	if (v) {
		json_int_t t = json_integer_value(v);

		if (!json_is_integer(v) || t < 1 || t > PW_CNI_MAX_TIMEOUT_S) {
			pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL,
					 "timeoutSeconds: must be an integer from 1 to %d",
					 PW_CNI_MAX_TIMEOUT_S);
			goto cleanup;
		}
		conf->timeout_s = (int)t;
	}

	v = json_object_get(root, "prevResult");
	if (v && !json_is_object(v)) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL, "prevResult: not an object");
		goto cleanup;
	}
	if (!v && (cmd == PW_CNI_ADD || cmd == PW_CNI_CHECK)) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG,
				 "podwall-cni is a chained plugin: list it after the CNI's own "
				 "plugins in a .conflist",
				 "prevResult: missing");
		goto cleanup;
	}
	conf->prev_result = v;

	ret = parse_labels(json_object_get(root, "args"), &conf->labels, e);
	if (ret)
		goto cleanup;
	return 0;
cleanup:
	json_decref(root);
	conf->root = NULL;
	conf->name = conf->type = conf->socket = NULL;
	conf->prev_result = NULL;
	return ret;
}

void pw_cni_conf_free(struct pw_cni_conf *conf)
{
	json_decref(conf->labels);
	json_decref(conf->root);
	conf->labels = conf->root = conf->prev_result = NULL;
	conf->name = conf->type = conf->socket = NULL;
}

/* ---- CNI_ARGS ---- */

static bool arg_id_valid(const char *s)
{
	return !*s || container_id_valid(s);
}

static bool arg_ns_valid(const char *s)
{
	return !pw_k8s_dns1123_problem(s, false);
}

static bool arg_name_valid(const char *s)
{
	return !pw_k8s_dns1123_problem(s, true);
}

#define ARG_FIELD(f) offsetof(struct pw_cni_args, f), sizeof(((struct pw_cni_args *)0)->f)

static const struct {
	const char *key;
	size_t off;
	size_t size;
	bool (*valid)(const char *);
	const char *what;
} arg_keys[] = {
	{"K8S_POD_NAMESPACE", ARG_FIELD(pod_namespace), arg_ns_valid, "a DNS-1123 label"},
	{"K8S_POD_NAME", ARG_FIELD(pod_name), arg_name_valid, "a DNS-1123 subdomain"},
	{"K8S_POD_INFRA_CONTAINER_ID", ARG_FIELD(infra_id), arg_id_valid, "a container id"},
	{"K8S_POD_UID", ARG_FIELD(pod_uid), arg_id_valid, "a UID"},
};

static int arg_bool(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "0") || !strcasecmp(v, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int pw_cni_args_parse(const char *s, bool need_pod, struct pw_cni_args *a, struct pw_cni_error *e)
{
	char *copy = NULL, *p, *pair, unknown[64] = "";
	unsigned int seen = 0;
	bool seen_ignore = false;
	int ret = -EINVAL;

	memset(a, 0, sizeof(*a));
	if (!s || !*s)
		goto check;
	copy = strdup(s);
	if (!copy) {
		pw_cni_error_set(e, PW_CNI_E_IO, NULL, "out of memory");
		return -ENOMEM;
	}
	for (p = copy; (pair = strsep(&p, ";"));) {
		char *eq = strchr(pair, '='), *val;
		size_t i;

		if (!eq || eq == pair || strchr(eq + 1, '=')) {
			pw_cni_error_set(e, PW_CNI_E_ENV,
					 "expected KEY=VALUE pairs separated by ';'",
					 "CNI_ARGS: invalid pair \"%.64s\"", pair);
			goto cleanup;
		}
		*eq = '\0';
		val = eq + 1;
		if (!strcmp(pair, "IgnoreUnknown")) {
			if (seen_ignore || arg_bool(val, &a->ignore_unknown)) {
				pw_cni_error_set(e, PW_CNI_E_ENV, "expected IgnoreUnknown=1 once",
						 "CNI_ARGS: invalid IgnoreUnknown \"%.16s\"", val);
				goto cleanup;
			}
			seen_ignore = true;
			continue;
		}
		for (i = 0; i < sizeof(arg_keys) / sizeof(arg_keys[0]); i++)
			if (!strcmp(pair, arg_keys[i].key))
				break;
		if (i == sizeof(arg_keys) / sizeof(arg_keys[0])) {
			if (!unknown[0])
				snprintf(unknown, sizeof(unknown), "%s", pair);
			continue;
		}
		if (seen & (1u << i)) {
			pw_cni_error_set(e, PW_CNI_E_ENV, NULL, "CNI_ARGS: %s given twice",
					 arg_keys[i].key);
			goto cleanup;
		}
		seen |= 1u << i;
		if (strlen(val) >= arg_keys[i].size || !arg_keys[i].valid(val)) {
			pw_cni_error_set(e, PW_CNI_E_ENV, arg_keys[i].what,
					 "CNI_ARGS: invalid %s \"%.64s\"", arg_keys[i].key, val);
			goto cleanup;
		}
		strcpy((char *)a + arg_keys[i].off, val);
	}
	if (unknown[0] && !a->ignore_unknown) {
		pw_cni_error_set(
			e, PW_CNI_E_ENV,
			"runtimes prefix CNI_ARGS with IgnoreUnknown=1 to allow extra keys",
			"CNI_ARGS: unknown key \"%.48s\"", unknown);
		goto cleanup;
	}
check:
	if (need_pod && (!a->pod_namespace[0] || !a->pod_name[0])) {
		pw_cni_error_set(e, PW_CNI_E_ENV,
				 "the runtime passes K8S_POD_NAMESPACE and K8S_POD_NAME; without "
				 "Kubernetes, set them yourself",
				 "CNI_ARGS: %s missing",
				 a->pod_namespace[0] ? "K8S_POD_NAME" : "K8S_POD_NAMESPACE");
		goto cleanup;
	}
	ret = 0;
cleanup:
	free(copy);
	return ret;
}

/* ---- host interfaces ---- */

const char *pw_iface_kind_str(int kind)
{
	switch (kind) {
	case PW_IFACE_MISSING:
		return "not found in the host network namespace";
	case PW_IFACE_VETH:
		return "veth";
	case PW_IFACE_BRIDGE:
		return "bridge";
	case PW_IFACE_OTHER:
		return "not a veth";
	default:
		return "cannot be inspected";
	}
}

/* "10.42.0.5/24" -> canonical text. The host part is the pod's address, so
 * host bits are expected (unlike a policy CIDR). */
static int ip_with_prefix(const char *s, char *out, size_t outlen)
{
	char addr[PW_IP_STRLEN + 1], txt[PW_IP_STRLEN];
	const char *slash = strchr(s, '/');
	union pw_ip ip;
	uint8_t family;
	size_t n;
	int len = 0;

	if (!slash || slash == s || (n = (size_t)(slash - s)) > PW_IP_STRLEN)
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (pw_ip_parse(addr, &family, &ip))
		return -EINVAL;
	if (!slash[1] || strlen(slash + 1) > 3)
		return -EINVAL;
	for (const char *d = slash + 1; *d; d++) {
		if (!isdigit((unsigned char)*d))
			return -EINVAL;
		len = len * 10 + (*d - '0');
	}
	if (len > (family == PW_FAMILY_V4 ? 32 : 128))
		return -EINVAL;
	snprintf(out, outlen, "%s/%d", pw_ip_str(family, &ip, txt), len);
	return 0;
}

static bool has_sandbox(const json_t *iface)
{
	const char *sb = json_string_value(json_object_get(iface, "sandbox"));

	return sb && *sb;
}

static int prev_ips(const json_t *prev, size_t n_ifaces, size_t cont, struct pw_cni_prev *out,
		    struct pw_cni_error *e)
{
	const json_t *ips = json_object_get(prev, "ips");
	size_t i;

	if (ips && !json_is_array(ips)) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL, "prevResult.ips: not an array");
		return -EINVAL;
	}
	for (i = 0; i < json_array_size(ips); i++) {
		const json_t *it = json_array_get(ips, i);
		const char *addr = json_string_value(json_object_get(it, "address"));
		const json_t *idx = json_object_get(it, "interface");

		if (!addr) {
			pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL,
					 "prevResult.ips[%zu].address: missing", i);
			return -EINVAL;
		}
		if (idx) {
			json_int_t x = json_integer_value(idx);

			if (!json_is_integer(idx) || x < 0 || (size_t)x >= n_ifaces) {
				pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL,
						 "prevResult.ips[%zu].interface: not an index "
						 "into prevResult.interfaces",
						 i);
				return -EINVAL;
			}
			if ((size_t)x != cont)
				continue;
		}
		if (out->n_ips == PW_CNI_MAX_IPS) {
			pw_cni_error_set(e, PW_CNI_E_CONFIG, NULL,
					 "prevResult.ips: more than %d addresses for %s",
					 PW_CNI_MAX_IPS, out->cont_ifname);
			return -E2BIG;
		}
		if (ip_with_prefix(addr, out->ips[out->n_ips], sizeof(out->ips[0]))) {
			pw_cni_error_set(e, PW_CNI_E_CONFIG, "expected ADDRESS/PREFIX",
					 "prevResult.ips[%zu].address: invalid \"%.64s\"", i, addr);
			return -EINVAL;
		}
		out->n_ips++;
	}
	if (!out->n_ips) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG,
				 "podwall enforces by source address: the pod needs one",
				 "prevResult.ips: no address for %s", out->cont_ifname);
		return -EINVAL;
	}
	return 0;
}

int pw_cni_prev_parse(const json_t *prev, const char *ifname, pw_iface_classify_fn cls, void *ctx,
		      struct pw_cni_prev *out, struct pw_cni_error *e)
{
	const json_t *ifaces = json_object_get(prev, "interfaces");
	char seen[320] = "", other[IFNAMSIZ] = "";
	size_t i, cont = (size_t)-1, n_host = 0;
	int n_veth = 0, ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(ifaces) || !json_array_size(ifaces)) {
		pw_cni_error_set(
			e, PW_CNI_E_CONFIG,
			"podwall-cni must be chained after a veth-based plugin (bridge, ptp, "
			"flannel)",
			"prevResult.interfaces: missing or empty");
		return -EINVAL;
	}
	for (i = 0; i < json_array_size(ifaces); i++) {
		const json_t *it = json_array_get(ifaces, i);
		const char *name = json_string_value(json_object_get(it, "name"));
		const json_t *sb = json_object_get(it, "sandbox");

		if (!json_is_object(it) || !name || !pw_cni_ifname_valid(name) ||
		    (sb && !json_is_string(sb))) {
			pw_cni_error_set(e, PW_CNI_E_CONFIG, "needs a valid \"name\"",
					 "prevResult.interfaces[%zu]: malformed", i);
			return -EINVAL;
		}
		if (has_sandbox(it) && !strcmp(name, ifname) && cont == (size_t)-1)
			cont = i;
	}
	if (cont == (size_t)-1) {
		pw_cni_error_set(e, PW_CNI_E_CONFIG, "the container side has a \"sandbox\"",
				 "prevResult.interfaces: no container interface named %s", ifname);
		return -EINVAL;
	}
	snprintf(out->cont_ifname, sizeof(out->cont_ifname), "%s", ifname);
	{
		const char *mac =
			json_string_value(json_object_get(json_array_get(ifaces, cont), "mac"));

		if (mac && strlen(mac) == 17)
			snprintf(out->mac, sizeof(out->mac), "%s", mac);
	}

	for (i = 0; i < json_array_size(ifaces); i++) {
		const json_t *it = json_array_get(ifaces, i);
		const char *name = json_string_value(json_object_get(it, "name"));
		size_t used = strlen(seen);
		int kind;

		if (has_sandbox(it))
			continue;
		n_host++;
		kind = cls(name, ctx);
		snprintf(seen + used, sizeof(seen) - used, "%s%s (%s)", used ? ", " : "", name,
			 pw_iface_kind_str(kind));
		if (kind != PW_IFACE_VETH)
			continue;
		if (!n_veth++)
			snprintf(out->host_ifname, sizeof(out->host_ifname), "%s", name);
		else if (!other[0])
			snprintf(other, sizeof(other), "%s", name);
	}
	if (n_veth != 1) {
		char details[sizeof(e->details)];

		snprintf(details, sizeof(details), "host-side interfaces in prevResult: %s%s",
			 n_host ? seen : "none",
			 n_veth ? ""
				: "; podwall-cni needs a veth-based CNI and runs in the "
				  "host network namespace");
		if (n_veth)
			pw_cni_error_set(e, PW_CNI_E_NO_VETH, details,
					 "ambiguous prevResult: %d host-side veths (%s, %s) for %s",
					 n_veth, out->host_ifname, other, ifname);
		else
			pw_cni_error_set(e, PW_CNI_E_NO_VETH, details,
					 "no host-side veth for %s found", ifname);
		out->host_ifname[0] = '\0';
		return -ENODEV;
	}
	ret = prev_ips(prev, json_array_size(ifaces), cont, out, e);
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

/* ---- agent requests and replies ---- */

json_t *pw_cni_add_request(const struct pw_cni_env *env, const struct pw_cni_conf *conf,
			   const struct pw_cni_args *args, const struct pw_cni_prev *prev)
{
	json_t *ips = json_array(), *req = NULL;

	if (!ips)
		return NULL;
	for (int i = 0; i < prev->n_ips; i++)
		if (json_array_append_new(ips, json_string(prev->ips[i])))
			goto cleanup;
	req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:O}", "cmd", "cni_add",
			"container_id", env->container_id, "netns", env->netns, "ifname",
			env->ifname, "host_ifname", prev->host_ifname, "namespace",
			args->pod_namespace, "name", args->pod_name, "labels", conf->labels, "ips",
			ips);
	if (req && prev->mac[0])
		json_object_set_new(req, "mac", json_string(prev->mac));
cleanup:
	json_decref(ips);
	return req;
}

json_t *pw_cni_del_request(const char *container_id)
{
	return json_pack("{s:s, s:s}", "cmd", "cni_del", "container_id", container_id);
}

json_t *pw_cni_check_request(const char *container_id)
{
	return json_pack("{s:s, s:s}", "cmd", "cni_check", "container_id", container_id);
}

int pw_cni_reply_check(const json_t *reply, const char *what, struct pw_cni_error *e)
{
	const json_t *ok = json_object_get(reply, "ok");
	const char *why;

	if (!json_is_object(reply) || !json_is_boolean(ok)) {
		pw_cni_error_set(e, PW_CNI_E_AGENT, "expected {\"ok\":true} or {\"ok\":false,...}",
				 "podwall agent sent a malformed reply to %s", what);
		return -EBADMSG;
	}
	if (json_is_true(ok))
		return 0;
	why = json_string_value(json_object_get(reply, "error"));
	pw_cni_error_set(e, PW_CNI_E_AGENT, why ? why : "no reason given",
			 "podwall agent refused %s", what);
	return -EPERM;
}

/* ---- stdout ---- */

static char *dump_line(const json_t *j)
{
	char *s, *line;
	size_t n;

	if (!j)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

char *pw_cni_error_json(const char *cni_version, const struct pw_cni_error *e)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:i, s:s}", "cniVersion",
		      cni_version && *cni_version ? cni_version : PW_CNI_SPEC_VERSION, "code",
		      e->code, "msg", e->msg);
	if (o && e->details[0] && json_object_set_new(o, "details", json_string(e->details))) {
		json_decref(o);
		return NULL;
	}
	s = dump_line(o);
	json_decref(o);
	return s;
}

char *pw_cni_version_json(void)
{
	json_t *o, *v = json_array();
	char *s = NULL;

	if (!v)
		return NULL;
	for (const char *const *p = pw_cni_supported_versions; *p; p++)
		if (json_array_append_new(v, json_string(*p)))
			goto cleanup;
	o = json_pack("{s:s, s:O}", "cniVersion", PW_CNI_SPEC_VERSION, "supportedVersions", v);
	s = dump_line(o);
	json_decref(o);
cleanup:
	json_decref(v);
	return s;
}

char *pw_cni_result_json(const struct pw_cni_conf *conf)
{
	json_t *r;
	char *s;

	if (json_is_string(json_object_get(conf->prev_result, "cniVersion")))
		return dump_line(conf->prev_result);
	r = json_copy(conf->prev_result);
	if (!r || json_object_set_new(r, "cniVersion", json_string(conf->cni_version))) {
		json_decref(r);
		return NULL;
	}
	s = dump_line(r);
	json_decref(r);
	return s;
}

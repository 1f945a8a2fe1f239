// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: arbitrary bytes as what the API server sends, a watch
 * event line or a LIST page, through every Kubernetes object decoder
 * (lib/core/k8sobj.c). Pods are tenant-controlled (labels, annotations).
 *
 * Besides the sanitizers, it checks the contract: a refusal leaves nothing
 * behind and says why; a success returns only what the decoder promises
 * (names set, counts within their bounds, no duplicate addresses).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ipaddr.h"
#include "k8sobj.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static bool valid_family(uint8_t f)
{
	return f == PW_FAMILY_V4 || f == PW_FAMILY_V6;
}

static void check_unique(const struct pw_k8s_addr *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(valid_family(v[i].family));
		for (size_t j = 0; j < i; j++)
			CHECK(pw_k8s_addr_cmp(&v[i], &v[j]));
	}
}

/* As a Service and as one of its EndpointSlices: what toServices grants is
 * sorted, unique, never a special address, and names only ports it may. */
static void check_service(const json_t *obj)
{
	struct pw_k8s_service svc = {0};
	struct pw_k8s_slice sl = {0};
	struct pw_port rule = {.proto = 6, .port = 443};
	struct pw_peers peers = {0};
	char err[PW_ERR_LEN] = "";
	bool have_svc, have_sl;
	int ret;

	ret = pw_k8s_service_info(obj, &svc, err, sizeof(err));
	CHECK(ret == 0 || ((ret == -EINVAL || ret == -ENOMEM) && *err && !svc.name));
	have_svc = !ret;
	if (have_svc) {
		CHECK(svc.n_ips <= PW_K8S_MAX_SVC_IPS && svc.n_ports <= PW_K8S_MAX_SVC_PORTS);
		check_unique(svc.ips, svc.n_ips);
		for (size_t i = 0; i < svc.n_ports; i++)
			CHECK(svc.ports[i].port >= 1);
	}
	err[0] = '\0';
	ret = pw_k8s_slice_info(obj, &sl, err, sizeof(err));
	CHECK(ret == 0 || ((ret == -EINVAL || ret == -ENOMEM) && *err && !sl.name));
	have_sl = !ret;
	if (have_sl) {
		CHECK(sl.service && sl.n_addrs <= PW_K8S_MAX_SLICE_ADDRS);
		for (size_t i = 0; i < sl.n_addrs; i++)
			CHECK(sl.addrs[i].family == sl.family);
	}
	for (int with_rule = 0; have_svc && with_rule < 2; with_rule++) {
		ret = pw_k8s_service_peers(&svc, have_sl ? &sl : NULL, have_sl, &rule,
					   (size_t)with_rule, &peers);
		if (!ret)
			ret = pw_k8s_peers_done(&peers);
		CHECK(ret >= 0 || ret == -ENOMEM);
		CHECK(peers.n <= PW_K8S_MAX_PEERS);
		for (size_t i = 0; i < peers.n; i++) {
			CHECK(valid_family(peers.v[i].family) && peers.v[i].n_ports);
			CHECK(!pw_ip_is_special(peers.v[i].family, &peers.v[i].addr));
			CHECK(!i || memcmp(&peers.v[i - 1].addr, &peers.v[i].addr, 16) ||
			      peers.v[i - 1].family != peers.v[i].family);
			if (with_rule)
				CHECK(peers.v[i].n_ports == 1 && peers.v[i].ports[0].port == 443);
		}
		pw_peers_free(&peers);
	}
	if (have_svc)
		pw_k8s_service_free(&svc);
	if (have_sl)
		pw_k8s_slice_free(&sl);
}

static void decode_object(const json_t *obj)
{
	struct pw_k8s_pod pod = {0};
	struct pw_k8s_namespace ns = {0};
	struct pw_k8s_node node = {0};
	struct pw_k8s_addr res[PW_K8S_MAX_RESOLVERS];
	char err[256], key[PW_K8S_KEY_MAX], src[600];
	json_t *wrap;
	size_t n;
	int ret;

	ret = pw_k8s_pod_info(obj, &pod, err, sizeof(err));
	if (ret) {
		CHECK(ret == -EINVAL || ret == -ENOMEM);
		CHECK(*err && !pod.namespace && !pod.labels.n);
	} else {
		CHECK(pod.namespace && *pod.namespace && pod.name && *pod.name);
		CHECK(pod.uid && pod.node_name && pod.phase);
		CHECK(pod.n_ips <= PW_K8S_MAX_POD_IPS);
		check_unique(pod.ips, pod.n_ips);
		for (size_t i = 0; i < pod.labels.n; i++)
			CHECK(pod.labels.v[i].key && pod.labels.v[i].value);
		pw_k8s_pod_free(&pod);
	}

	ret = pw_k8s_namespace_info(obj, &ns, err, sizeof(err));
	if (ret)
		CHECK((ret == -EINVAL || ret == -ENOMEM) && *err && !ns.name);
	else {
		CHECK(ns.name && *ns.name);
		pw_k8s_namespace_free(&ns);
	}

	ret = pw_k8s_node_info(obj, &node, err, sizeof(err));
	if (ret)
		CHECK((ret == -EINVAL || ret == -ENOMEM) && *err && !node.name);
	else {
		CHECK(node.name && *node.name);
		CHECK(node.n_cidrs <= PW_K8S_MAX_NODE_CIDRS &&
		      node.n_addrs <= PW_K8S_MAX_NODE_ADDRS);
		for (size_t i = 0; i < node.n_cidrs; i++)
			CHECK(valid_family(node.cidrs[i].family) &&
			      node.cidrs[i].prefix <=
				      (node.cidrs[i].family == PW_FAMILY_V4 ? 32 : 128));
		check_unique(node.addrs, node.n_addrs);
		pw_k8s_node_free(&node);
	}

	for (int cluster = 0; cluster < 2; cluster++) {
		ret = pw_k8s_object_key(obj, cluster, key, sizeof(key), err, sizeof(err));
		CHECK(ret == 0 || (ret == -EINVAL && *err));
		if (!ret) { /* "ns/name", or "/name" cluster-scoped: one '/', a name after it */
			const char *slash = strchr(key, '/');

			CHECK(slash && slash[1] && !strchr(slash + 1, '/') &&
			      (cluster || slash != key));
		}
		pw_k8s_policy_source(obj, cluster, src, sizeof(src));
		CHECK(!strncmp(src, "k8s:", 4));
	}
	pw_k8s_object_rv(obj);
	check_service(obj);

	/* As the DNS Service and as one of its EndpointSlices. */
	wrap = json_pack("{s:O}", "x/y", obj);
	if (wrap) {
		n = pw_k8s_resolvers_of(wrap, wrap, res, PW_K8S_MAX_RESOLVERS);
		CHECK(n <= PW_K8S_MAX_RESOLVERS);
		check_unique(res, n);
		for (size_t i = 1; i < n; i++)
			CHECK(pw_k8s_addr_cmp(&res[i - 1], &res[i]) < 0);
		json_decref(wrap);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_k8s_event ev;
	struct pw_k8s_list list;
	char why[160] = "";
	json_t *body, *item;
	size_t i;
	int ret;

	ret = pw_k8s_event_decode((const char *)data, size, &ev, why, sizeof(why));
	if (ret) {
		CHECK((ret == -EINVAL || ret == -ENOMEM) && *why && !ev.doc && !ev.object);
	} else {
		CHECK(ev.doc && json_is_object(ev.object) && ev.type <= PW_K8S_EV_ERROR);
		if (ev.type == PW_K8S_EV_ERROR)
			CHECK(ev.reason && ev.message);
		decode_object(ev.object);
		pw_k8s_event_free(&ev);
	}

	/* The same bytes as a LIST page. */
	body = json_loadb((const char *)data, size, 0, NULL);
	if (body && !pw_k8s_list_decode(body, &list)) {
		CHECK(!list.items || json_is_array(list.items));
		json_array_foreach(list.items, i, item)
		{
			decode_object(item);
		}
	}
	json_decref(body);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target over what reaches podwall from the container runtime and,
 * through the control socket, the agent: the CNI netconf with its prevResult,
 * CNI_ARGS, and the agent's decoding of a cni_add request into an endpoint.
 * Input: "ARGS\nNETCONF" (no newline: the whole input is the netconf).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"
#include "endpoint.h"

static int fake_classify(const char *name, void *ctx)
{
	/* Deterministic: names starting with 'v' are veths, 'c' bridges. */
	return name[0] == 'v' ? PW_IFACE_VETH : name[0] == 'c' ? PW_IFACE_BRIDGE : PW_IFACE_MISSING;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	struct pw_cni_env env = {.command = "ADD",
				 .container_id = "0123456789ab",
				 .netns = "/run/netns/x",
				 .ifname = "eth0"};
	struct pw_cni_conf conf;
	struct pw_cni_error e;
	struct pw_cni_args args;
	struct pw_cni_prev prev;
	char *argstr = NULL;
	const char *conf_buf = (const char *)data;
	size_t conf_len = size;

	memset(&e, 0, sizeof(e));
	if (nl) {
		size_t n = (size_t)(nl - (const char *)data);

		argstr = strndup((const char *)data, n);
		if (!argstr)
			return 0;
		conf_buf = nl + 1;
		conf_len = size - n - 1;
		env.args = argstr;
	}
	if (pw_cni_args_parse(env.args, true, &args, &e) == 0 &&
	    pw_cni_conf_parse(conf_buf, conf_len, PW_CNI_ADD, &conf, &e) == 0) {
		if (conf.prev_result && pw_cni_prev_parse(conf.prev_result, env.ifname,
							  fake_classify, NULL, &prev, &e) == 0) {
			json_t *req = pw_cni_add_request(&env, &conf, &args, &prev);

			if (req) {
				char err[256];
				struct pw_ep *ep = pw_ep_from_json(req, err, sizeof(err));

				pw_ep_free(ep);
				json_decref(req);
			}
		}
		pw_cni_conf_free(&conf);
	}
	/* The agent also decodes arbitrary JSON from the socket. */
	{
		json_error_t jerr;
		json_t *j = json_loadb(conf_buf, conf_len, 0, &jerr);

		if (j) {
			char err[256];

			pw_ep_free(pw_ep_from_json(j, err, sizeof(err)));
			json_decref(j);
		}
	}
	free(argstr);
	return 0;
}

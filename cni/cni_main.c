// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall-cni: chained CNI plugin. The container runtime runs it with CNI_*
 * in the environment and the network configuration on stdin; it prints the
 * result (or a CNI error object) on stdout and logs to stderr only.
 *
 * EXAMPLES
 *   CNI_COMMAND=VERSION podwall-cni </dev/null
 *   CNI_COMMAND=ADD CNI_CONTAINERID=abc CNI_NETNS=/var/run/netns/p1 CNI_IFNAME=eth0 \
 *   CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAMESPACE=agents;K8S_POD_NAME=p1' \
 *   CNI_PATH=/opt/cni/bin podwall-cni <netconf-with-prevResult.json
 *
 * PODWALL_CNI_DEBUG=1 in the environment turns on debug logging.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni.h"
#include "cni_io.h"
#include "fileio.h"
#include "log.h"

/* Printed if even the error object cannot be formatted. */
#define FALLBACK_ERROR                                                                             \
	"{\"cniVersion\":\"" PW_CNI_SPEC_VERSION                                                   \
	"\",\"code\":5,\"msg\":\"podwall-cni: out of memory\"}\n"

int main(void)
{
	struct pw_cni_env env = {
		.command = getenv("CNI_COMMAND"),
		.container_id = getenv("CNI_CONTAINERID"),
		.netns = getenv("CNI_NETNS"),
		.ifname = getenv("CNI_IFNAME"),
		.args = getenv("CNI_ARGS"),
		.path = getenv("CNI_PATH"),
	};
	char *in = NULL, *out = NULL;
	size_t len = 0;
	bool version;
	int ret;

	if (getenv("PODWALL_CNI_DEBUG"))
		pw_log_level = PW_LOG_DEBUG;
	/* VERSION needs no input: never hang on a terminal, never fail on stdin. */
	version = env.command && !strcmp(env.command, "VERSION");
	ret = version && isatty(STDIN_FILENO)
		      ? 0
		      : pw_read_fd(STDIN_FILENO, PW_CNI_MAX_STDIN, &in, &len);
	if (ret && !version) {
		struct pw_cni_error e;

		pw_cni_error_set(&e, PW_CNI_E_IO, strerror(-ret),
				 "cannot read the network configuration from stdin");
		pw_err("%s", e.msg);
		out = pw_cni_error_json(NULL, &e);
		goto out;
	}
	ret = pw_cni_exec(&env, in ? in : "", len, pw_iface_classify, NULL, &out);
out:
	if (ret && !out) {
		pw_write_all(STDOUT_FILENO, FALLBACK_ERROR, strlen(FALLBACK_ERROR));
	} else if (out) {
		int err = pw_write_all(STDOUT_FILENO, out, strlen(out));

		if (err) {
			pw_err("cannot write the result to stdout: %s", strerror(-err));
			ret = err;
		}
	}
	free(out);
	free(in);
	return ret ? 1 : 0;
}

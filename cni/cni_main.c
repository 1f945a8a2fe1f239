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
#include "log.h"

/* Printed if even the error object cannot be formatted. */
#define FALLBACK_ERROR                                                                             \
	"{\"cniVersion\":\"" PW_CNI_SPEC_VERSION                                                   \
	"\",\"code\":5,\"msg\":\"podwall-cni: out of memory\"}\n"

static int read_all(int fd, char **out, size_t *outlen)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap), *nb;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap >= PW_CNI_MAX_STDIN) {
				ret = -EFBIG;
				goto cleanup;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				ret = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	return 0;
cleanup:
	free(buf);
	return ret;
}

static int write_all(const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, s + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

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
	ret = version && isatty(STDIN_FILENO) ? 0 : read_all(STDIN_FILENO, &in, &len);
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
		write_all(FALLBACK_ERROR);
	} else if (out) {
		int err = write_all(out);

		if (err) {
			pw_err("cannot write the result to stdout: %s", strerror(-err));
			ret = err;
		}
	}
	free(out);
	free(in);
	return ret ? 1 : 0;
}

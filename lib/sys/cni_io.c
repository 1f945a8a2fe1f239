// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* podwall-cni's I/O: the interface classifier (ioctl), the agent call (the
 * control socket) and the commands that use them. The parsing is lib/core/cni.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "cni_io.h"
#include "ctl.h"
#include "log.h"

/* ---- host interfaces ---- */

int pw_iface_classify(const char *name, void *ctx)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr;
	int fd, ret;

	if (!pw_cni_ifname_valid(name))
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_data = (char *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr)) {
		if (errno == ENODEV)
			ret = PW_IFACE_MISSING;
		else if (errno == EOPNOTSUPP)
			ret = PW_IFACE_OTHER;
		else
			ret = -errno;
		goto out;
	}
	info.driver[sizeof(info.driver) - 1] = '\0';
	if (!strcmp(info.driver, "veth"))
		ret = PW_IFACE_VETH;
	else if (!strcmp(info.driver, "bridge"))
		ret = PW_IFACE_BRIDGE;
	else
		ret = PW_IFACE_OTHER;
out:
	close(fd);
	return ret;
}

/* ---- the agent ---- */

int pw_cni_agent_call(const char *sock, const json_t *req, int timeout_s, const char *what,
		      struct pw_cni_error *e)
{
	json_t *reply = NULL;
	char details[sizeof(e->details)];
	int fd, ret;

	fd = pw_ctl_connect(sock);
	if (fd < 0) {
		snprintf(details, sizeof(details),
			 "connect: %s; is the podwall agent running on this node?", strerror(-fd));
		pw_cni_error_set(e, PW_CNI_E_TRY_AGAIN, details, "podwall agent unreachable at %s",
				 sock);
		return fd;
	}
	ret = pw_ctl_send(fd, req);
	if (ret) {
		snprintf(details, sizeof(details), "send: %s", strerror(-ret));
		pw_cni_error_set(e, PW_CNI_E_TRY_AGAIN, details, "podwall agent unreachable at %s",
				 sock);
		goto out;
	}
	ret = pw_ctl_recv(fd, &reply, timeout_s * 1000);
	if (ret == -ETIMEDOUT) {
		pw_cni_error_set(e, PW_CNI_E_TRY_AGAIN,
				 "raise timeoutSeconds in the netconf if the "
				 "agent is just slow",
				 "podwall agent at %s did not answer %s within %d s", sock, what,
				 timeout_s);
	} else if (ret == -EBADMSG || ret == -EMSGSIZE) {
		pw_cni_error_set(e, PW_CNI_E_AGENT, strerror(-ret),
				 "podwall agent at %s sent an unreadable reply to %s", sock, what);
	} else if (ret) {
		snprintf(details, sizeof(details), "recv: %s", strerror(-ret));
		pw_cni_error_set(e, PW_CNI_E_TRY_AGAIN, details,
				 "podwall agent at %s hung up without answering %s", sock, what);
	} else {
		ret = pw_cni_reply_check(reply, what, e);
	}
out:
	json_decref(reply);
	close(fd);
	return ret;
}

/* ---- commands ---- */

static int cni_add(const struct pw_cni_env *env, const char *in, size_t len,
		   pw_iface_classify_fn cls, void *ctx, struct pw_cni_conf *conf, char **out,
		   struct pw_cni_error *e)
{
	struct pw_cni_args args;
	struct pw_cni_prev prev;
	json_t *req = NULL;
	char what[400];
	int ret;

	ret = pw_cni_conf_parse(in, len, PW_CNI_ADD, conf, e);
	if (ret)
		goto out;
	ret = pw_cni_env_check(env, PW_CNI_ADD, e);
	if (ret)
		goto out;
	ret = pw_cni_args_parse(env->args, true, &args, e);
	if (ret)
		goto out;
	ret = pw_cni_prev_parse(conf->prev_result, env->ifname, cls, ctx, &prev, e);
	if (ret)
		goto out;
	req = pw_cni_add_request(env, conf, &args, &prev);
	if (!req) {
		pw_cni_error_set(e, PW_CNI_E_IO, NULL, "cannot build the agent request");
		ret = -ENOMEM;
		goto out;
	}
	snprintf(what, sizeof(what), "cni_add for pod %s/%s", args.pod_namespace, args.pod_name);
	ret = pw_cni_agent_call(conf->socket, req, conf->timeout_s, what, e);
	if (ret)
		goto out;
	*out = pw_cni_result_json(conf);
	if (!*out) {
		pw_cni_error_set(e, PW_CNI_E_IO, NULL, "cannot format the result");
		ret = -ENOMEM;
		goto out;
	}
	pw_info("ADD %s/%s container %.12s: enforced on %s (%s%s)", args.pod_namespace,
		args.pod_name, env->container_id, prev.host_ifname, prev.ips[0],
		prev.n_ips > 1 ? ", ..." : "");
out:
	json_decref(req);
	return ret;
}

/* DEL never fails on what it cannot clean up: the agent's reconcile scan
 * removes endpoints whose veth is gone. Only a missing container id fails. */
static int cni_del(const struct pw_cni_env *env, const char *in, size_t len,
		   struct pw_cni_conf *conf, struct pw_cni_error *e)
{
	const char *sock = PW_CTL_SOCKET;
	int timeout_s = PW_CNI_DEFAULT_TIMEOUT_S, ret;
	struct pw_cni_error soft;
	json_t *req = NULL;
	char what[128];

	ret = pw_cni_env_check(env, PW_CNI_DEL, e);
	if (ret)
		goto out;
	if (pw_cni_conf_parse(in, len, PW_CNI_DEL, conf, &soft)) {
		pw_warn("DEL container %.12s: %s (%s); trying the default socket",
			env->container_id, soft.msg, soft.details);
	} else {
		sock = conf->socket;
		timeout_s = conf->timeout_s;
	}
	req = pw_cni_del_request(env->container_id);
	if (!req) {
		pw_warn("DEL container %.12s: out of memory", env->container_id);
		goto out;
	}
	snprintf(what, sizeof(what), "cni_del for container %.64s", env->container_id);
	if (pw_cni_agent_call(sock, req, timeout_s, what, &soft))
		pw_warn("DEL container %.12s: %s (%s); the agent's reconcile cleans up",
			env->container_id, soft.msg, soft.details);
	else
		pw_debug("DEL container %.12s: done", env->container_id);
out:
	json_decref(req);
	return ret;
}

static int cni_check(const struct pw_cni_env *env, const char *in, size_t len,
		     pw_iface_classify_fn cls, void *ctx, struct pw_cni_conf *conf,
		     struct pw_cni_error *e)
{
	struct pw_cni_args args;
	struct pw_cni_prev prev;
	json_t *req = NULL;
	char what[128];
	int ret;

	ret = pw_cni_conf_parse(in, len, PW_CNI_CHECK, conf, e);
	if (ret)
		goto out;
	if (pw_cni_version_cmp(conf->cni_version, "0.4.0") < 0) {
		pw_cni_error_set(e, PW_CNI_E_VERSION, "CHECK exists from cniVersion 0.4.0 on",
				 "config version %s does not allow CHECK", conf->cni_version);
		ret = -EINVAL;
		goto out;
	}
	ret = pw_cni_env_check(env, PW_CNI_CHECK, e);
	if (ret)
		goto out;
	ret = pw_cni_args_parse(env->args, false, &args, e);
	if (ret)
		goto out;
	ret = pw_cni_prev_parse(conf->prev_result, env->ifname, cls, ctx, &prev, e);
	if (ret)
		goto out;
	req = pw_cni_check_request(env->container_id);
	if (!req) {
		pw_cni_error_set(e, PW_CNI_E_IO, NULL, "cannot build the agent request");
		ret = -ENOMEM;
		goto out;
	}
	snprintf(what, sizeof(what), "cni_check for container %.64s", env->container_id);
	ret = pw_cni_agent_call(conf->socket, req, conf->timeout_s, what, e);
out:
	json_decref(req);
	return ret;
}

int pw_cni_exec(const struct pw_cni_env *env, const char *stdin_buf, size_t len,
		pw_iface_classify_fn cls, void *ctx, char **out)
{
	struct pw_cni_conf conf = {0};
	struct pw_cni_error e = {0};
	enum pw_cni_cmd cmd;
	int ret;

	*out = NULL;
	ret = pw_cni_cmd_parse(env->command, &cmd, &e);
	if (ret)
		goto out;
	switch (cmd) {
	case PW_CNI_VERSION:
		*out = pw_cni_version_json();
		if (!*out) {
			pw_cni_error_set(&e, PW_CNI_E_IO, NULL, "out of memory");
			ret = -ENOMEM;
		}
		break;
	case PW_CNI_ADD:
		ret = cni_add(env, stdin_buf, len, cls, ctx, &conf, out, &e);
		break;
	case PW_CNI_DEL:
		ret = cni_del(env, stdin_buf, len, &conf, &e);
		break;
	case PW_CNI_CHECK:
		ret = cni_check(env, stdin_buf, len, cls, ctx, &conf, &e);
		break;
	}
out:
	if (ret) {
		if (!e.code)
			pw_cni_error_set(&e, PW_CNI_E_IO, NULL, "internal error: %s",
					 strerror(-ret));
		pw_err("%s%s%.12s: %s%s%s", env->command ? env->command : "CNI",
		       env->container_id ? " container " : "",
		       env->container_id ? env->container_id : "", e.msg, e.details[0] ? ": " : "",
		       e.details);
		free(*out);
		*out = pw_cni_error_json(conf.cni_version, &e);
	}
	pw_cni_conf_free(&conf);
	return ret;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall-cni's I/O, over the pure parsing of cni.h: the interface classifier
 * (an ioctl), the call to the agent's control socket, and the commands.
 * Free of process state (no getenv, no stdin/stdout, no exit) so that it can
 * be unit-tested with a classifier of the test's own and a fake agent socket.
 */
#ifndef PODWALL_CNI_IO_H
#define PODWALL_CNI_IO_H

#include "cni.h"

/* The real classifier: asks the kernel for the interface's driver
 * (SIOCETHTOOL/ETHTOOL_GDRVINFO: "veth", "bridge"). ctx is unused. */
int pw_iface_classify(const char *name, void *ctx);

/* Send req to the agent at sock and check the reply: 0 once it said ok.
 * Unreachable, timed out or hung up: -errno with code 11. */
int pw_cni_agent_call(const char *sock, const json_t *req, int timeout_s, const char *what,
		      struct pw_cni_error *e);

/* Run one CNI command. stdin is the netconf (len bytes). On return *out is what
 * to print on stdout, or NULL for nothing: the result (ADD), the version
 * document (VERSION), or, when the return is negative, the CNI error object.
 * Returns 0 (exit 0) or -errno (exit 1). cls/ctx: pw_iface_classify in real use. */
int pw_cni_exec(const struct pw_cni_env *env, const char *stdin_buf, size_t len,
		pw_iface_classify_fn cls, void *ctx, char **out);

#endif

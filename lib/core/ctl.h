/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's control socket: a unix stream socket, mode 0600 in a 0700
 * directory (root only). Each request is one JSON object on one line; each
 * reply is one JSON object on one line ({"ok":true,...} or
 * {"ok":false,"error":"..."}). `events` with "follow":true keeps streaming one
 * JSON event per line until the client closes.
 *
 * Requests ("cmd"):
 *   cni_add   {container_id, netns, ifname, host_ifname, namespace, name,
 *              labels:{k:v}, ips:["10.42.0.5/24", ...]}
 *             -> ok once the endpoint's programs and map entries are in place.
 *   cni_del   {container_id}          (idempotent)
 *   cni_check {container_id}          -> ok if the endpoint is enforced as recorded
 *   status, endpoints, policies, fqdn {pod?}, events {pod?, reason?, since_ns?, follow?}
 */
#ifndef PODWALL_CTL_H
#define PODWALL_CTL_H

#include <jansson.h>

#define PW_CTL_SOCKET	"/run/podwall/podwall.sock"
#define PW_CTL_MAX_LINE (1 << 20)

/* Connect to the agent; returns a socket fd or -errno. */
int pw_ctl_connect(const char *path);
/* Send one request line (takes no reference on req). */
int pw_ctl_send(int fd, const json_t *req);
/* Read one reply line; *out is a new reference. -ECONNRESET on EOF. */
int pw_ctl_recv(int fd, json_t **out, int timeout_ms);
/* connect + send + recv + close. */
int pw_ctl_call(const char *path, const json_t *req, json_t **out, int timeout_ms);

#endif

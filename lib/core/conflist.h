/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Chaining podwall-cni into a CNI network configuration list (.conflist), such
 * as the one k3s writes for flannel (PW_CONFLIST_K3S, rewritten by k3s at each
 * start: chain again after it).
 *
 * chain appends {"type":"podwall-cni"} (with "socket" when one is given) to the
 * "plugins" array unless an entry of that type is already there, in which case
 * only its "socket" is brought in line; every other field is kept. unchain
 * removes every entry of type "podwall-cni". Both refuse invalid JSON and
 * documents without a non-empty "plugins" array of objects that have a "type".
 *
 * Output is jansson's 2-space indented form with a trailing newline: chaining
 * an already chained document gives back the same bytes.
 */
#ifndef PODWALL_CONFLIST_H
#define PODWALL_CONFLIST_H

#include <stdbool.h>
#include <stddef.h>

#define PW_CONFLIST_K3S	     "/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist"
#define PW_CONFLIST_MAX_SIZE (1 << 20)

/* 0 and *out_json (malloc'd) or -errno with a reason in err. */
int pw_conflist_chain(const char *in_json, char **out_json, char *err, size_t errlen);
/* The same with "socket": socket (NULL: no "socket" field, the plugin's default). */
int pw_conflist_chain_sock(const char *in_json, const char *socket, char **out_json, char *err,
			   size_t errlen);
int pw_conflist_unchain(const char *in_json, char **out_json, char *err, size_t errlen);

/* Rewrite the file at path atomically (temporary file in the same directory,
 * same mode and owner, fsync, rename). The file is left alone when its bytes
 * would not change; *changed (may be NULL) says whether it was rewritten. */
int pw_conflist_chain_file(const char *path, const char *socket, bool *changed, char *err,
			   size_t errlen);
int pw_conflist_unchain_file(const char *path, bool *changed, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The rebinding guard's prefixes from Kubernetes objects (pure: jansson in,
 * lib/core/guard.c table out). The agent (agent/kube.c) calls these for every
 * cached Node and for the Services it watches.
 *
 *   Node     spec.podCIDRs (spec.podCIDR when absent)     PW_G_POD_CIDR
 *            status.addresses of type InternalIP, ExternalIP  PW_G_NODE
 *            source "api:node/NAME"
 *   Service  spec.clusterIPs (spec.clusterIP when absent; "None" and "" are
 *            headless, skipped)                             PW_G_SERVICE
 *            source "api:service/NS/NAME"
 *
 * The API does not publish the service CIDR. pw_guard_add_k8s_service() with
 * default_ranges also adds the distribution default range that holds a cluster
 * IP, if one does (k3s/RKE2 10.43.0.0/16 and 2001:cafe:43::/112, kubeadm
 * 10.96.0.0/12), source "api:service/NS/NAME (DISTRO default range)": the agent
 * asks for that only when --service-cidr is not given.
 *
 * A malformed or unparsable field of the object is skipped and counted in
 * *skipped (an object from the API never fails the whole table), as is a
 * prefix that does not fit (-E2BIG from the table). Returns 0 or -ENOMEM.
 */
#ifndef PODWALL_CORE_K8SGUARD_H
#define PODWALL_CORE_K8SGUARD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "guard.h"

int pw_guard_add_k8s_node(struct pw_guard *g, const json_t *node, size_t *skipped);
int pw_guard_add_k8s_service(struct pw_guard *g, const json_t *svc, bool default_ranges,
			     size_t *skipped);
/* The guard-relevant parts of two versions of a Node or Service are equal
 * (a MODIFIED that changes neither needs no rebuild). */
bool pw_guard_k8s_same(const json_t *old_obj, const json_t *new_obj);

#endif

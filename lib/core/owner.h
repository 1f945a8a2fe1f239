/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The workload that owns a pod, for events: from the Pod object's
 * metadata.ownerReferences (the controller reference, else the first). A
 * ReplicaSet whose name is "<name>-<pod-template-hash label>" is reported as
 * Deployment <name> (the Deployment controller names its ReplicaSets so); a
 * Job named "<name>-<8 or more digits>" as CronJob <name> (the CronJob
 * controller names its Jobs after the scheduled time in minutes);
 * StatefulSet, DaemonSet and any other kind as they are. Informational: the
 * pod's creator chooses its ownerReferences, so it never decides a verdict.
 * Pure.
 */
#ifndef PODWALL_OWNER_H
#define PODWALL_OWNER_H

#include <jansson.h>

struct pw_owner {
	char kind[64];
	char name[254];
};

/* 0 with *out set; -ENOENT for a pod with no (usable) owner reference. */
int pw_pod_owner(const json_t *pod, struct pw_owner *out);

/* {"kind","name"}, or JSON null for no owner (NULL or an empty kind). */
json_t *pw_owner_json(const struct pw_owner *o);

#endif

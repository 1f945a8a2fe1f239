// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target over what reaches the rebinding guard from the Kubernetes
 * API: a Node or Service object (JSON, as a watch event's object) decoded into
 * the guard's table (lib/core/k8sguard.c), then an address matched against it.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "guard.h"
#include "k8sguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *obj = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct pw_guard g = {0};
	union pw_ip ip = {0};
	size_t skipped = 0;

	if (!obj)
		return 0;
	pw_guard_add_k8s_node(&g, obj, &skipped);
	pw_guard_add_k8s_service(&g, obj, size & 1, &skipped);
	(void)pw_guard_k8s_same(obj, obj);
	memcpy(ip.v6, data, size < 16 ? size : 16);
	(void)pw_guard_match(&g, PW_FAMILY_V6, &ip);
	(void)pw_guard_match(&g, PW_FAMILY_V4, &ip);
	pw_guard_free(&g);
	json_decref(obj);
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Kubernetes object names and labels, as the API server validates them. Each
 * returns NULL when s is valid, else what is wrong with it (an English phrase
 * to follow the name in an error message).
 */
#ifndef PODWALL_K8SNAME_H
#define PODWALL_K8SNAME_H

#include <stdbool.h>
#include <stddef.h>

/* IsDNS1123Label (namespaces, Service names; subdomain false, at most 63) or
 * IsDNS1123Subdomain (object names; subdomain true, at most 253). */
const char *pw_k8s_dns1123_problem(const char *s, bool subdomain);
/* A label name part or label value of len bytes:
 * ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63; empty only if empty_ok. */
const char *pw_k8s_label_name_problem(const char *s, size_t len, bool empty_ok);
/* A label key: [DNS subdomain prefix '/'] name part. */
const char *pw_k8s_label_key_problem(const char *s);

#endif

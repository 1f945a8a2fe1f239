// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Kubernetes names: the one validator the policy decoder, the CNI plugin and
 * the API client share. See k8sname.h. */
#include <stdbool.h>
#include <string.h>

#include "k8sname.h"

/* Kubernetes IsDNS1123Label (subdomain false) or IsDNS1123Subdomain. */
const char *pw_k8s_dns1123_problem(const char *s, bool subdomain)
{
	size_t len = strlen(s), label = 0;

	if (!len)
		return "must not be empty";
	if (len > (subdomain ? 253u : 63u))
		return subdomain ? "must be at most 253 characters"
				 : "must be at most 63 characters";
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (c == '.' && subdomain) {
			if (!label || s[i - 1] == '-')
				return "each dot-separated part must start and end with a "
				       "lower-case "
				       "letter or digit";
			label = 0;
			continue;
		}
		if (!alnum && c != '-')
			return subdomain
				       ? "may contain only lower-case letters, digits, '-' and '.'"
				       : "may contain only lower-case letters, digits and '-'";
		if (c == '-' && !label)
			return "must start with a lower-case letter or digit";
		label++;
	}
	if (s[len - 1] == '-' || s[len - 1] == '.')
		return "must end with a lower-case letter or digit";
	return NULL;
}

/* Kubernetes label name part and value: ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
const char *pw_k8s_label_name_problem(const char *s, size_t len, bool empty_ok)
{
	if (!len)
		return empty_ok ? NULL : "name part must not be empty";
	if (len > 63)
		return "must be at most 63 characters";
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && c != '-' && c != '_' && c != '.')
			return "may contain only letters, digits, '-', '_' and '.'";
		if (!alnum && (i == 0 || i == len - 1))
			return "must start and end with a letter or digit";
	}
	return NULL;
}

const char *pw_k8s_label_key_problem(const char *s)
{
	const char *slash = strchr(s, '/');
	char prefix[254];
	const char *why;
	size_t plen;

	if (!slash)
		return pw_k8s_label_name_problem(s, strlen(s), false);
	plen = (size_t)(slash - s);
	if (!plen)
		return "prefix before '/' must not be empty";
	if (plen > 253)
		return "prefix must be at most 253 characters";
	memcpy(prefix, s, plen);
	prefix[plen] = '\0';
	why = pw_k8s_dns1123_problem(prefix, true);
	if (why)
		return "prefix before '/' must be a DNS subdomain (lower-case letters, digits, "
		       "'-', '.')";
	return pw_k8s_label_name_problem(slash + 1, strlen(slash + 1), false);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "fqdn.h"

static bool label_char_ok(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

int pw_fqdn_normalize(const char *in, char *out, const char **why)
{
	size_t len = strlen(in), label = 0;

	if (len && in[len - 1] == '.')
		len--;
	if (!len) {
		*why = "empty name";
		return -EINVAL;
	}
	if (len > PW_FQDN_MAX) {
		*why = "name longer than 253 characters";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '.') {
			if (!label) {
				*why = "empty label";
				return -EINVAL;
			}
			label = 0;
		} else if (!label_char_ok(c)) {
			*why = "character not allowed in a name (letters, digits, '-', '_')";
			return -EINVAL;
		} else if (++label > 63) {
			*why = "label longer than 63 characters";
			return -EINVAL;
		}
		out[i] = (char)tolower((unsigned char)c);
	}
	if (!label) {
		*why = "empty label";
		return -EINVAL;
	}
	out[len] = '\0';
	return 0;
}

int pw_fqdn_pattern_normalize(const char *in, bool is_pattern, char *out, const char **why)
{
	size_t skip = 0;
	int ret;

	if (is_pattern) {
		if (!strncmp(in, "**.", 3))
			skip = 3;
		else if (!strncmp(in, "*.", 2))
			skip = 2;
	}
	ret = pw_fqdn_normalize(in + skip, out + skip, why);
	if (ret) {
		if (strchr(in, '*'))
			*why = is_pattern ? "'*' is allowed only as a leading \"*.\" or \"**.\""
					  : "matchName takes no wildcard; use matchPattern";
		return ret;
	}
	memcpy(out, in, skip);
	return 0;
}

bool pw_fqdn_match(const char *pattern, const char *name)
{
	size_t plen, nlen = strlen(name);
	const char *suffix;

	if (!strncmp(pattern, "**.", 3)) {
		suffix = pattern + 2; /* ".example.com" */
		plen = strlen(suffix);
		return nlen > plen && !strcmp(name + nlen - plen, suffix);
	}
	if (!strncmp(pattern, "*.", 2)) {
		const char *dot = strchr(name, '.');

		/* exactly one label: the first dot of name starts the suffix */
		return dot && dot != name && !strcmp(dot, pattern + 1);
	}
	return !strcmp(pattern, name);
}

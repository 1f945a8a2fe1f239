// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "fqdn.h"
#include "podwall/maps.h"

/* ASCII only, on purpose: <ctype.h> follows the locale, and a name must mean the
 * same thing to the policy, to the DNS answer and to the BPF maps. */
static bool label_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
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
		out[i] = ascii_lower(c);
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
	char rest[PW_FQDN_MAX + 1];
	size_t skip = 0, n;
	int ret;

	if (is_pattern) {
		if (!strncmp(in, "**.", 3))
			skip = 3;
		else if (!strncmp(in, "*.", 2))
			skip = 2;
	}
	ret = pw_fqdn_normalize(in + skip, rest, why);
	if (ret) {
		if (strchr(in + skip, '*') || (!skip && strchr(in, '*')))
			*why = is_pattern ? "'*' is allowed only as a leading \"*.\" or \"**.\""
					  : "matchName takes no wildcard; use matchPattern";
		else if (skip && !in[skip])
			*why = "a wildcard needs a domain after it, e.g. \"*.example.com\"";
		return ret;
	}
	/* The whole pattern, wildcard included, fits in a name: out is
	 * PW_FQDN_MAX + 1 bytes, and "*." + 252 characters matches no name anyway. */
	n = strlen(rest);
	if (skip + n > PW_FQDN_MAX) {
		*why = "pattern longer than 253 characters";
		return -EINVAL;
	}
	memcpy(out, in, skip);
	memcpy(out + skip, rest, n + 1);
	return 0;
}

/* Length of s without one trailing dot. */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);

	return n && s[n - 1] == '.' ? n - 1 : n;
}

static bool ascii_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

/*
 * Inputs are expected normalized, but the match stays safe on any string: case
 * and one trailing dot do not matter, an empty name or pattern matches nothing,
 * a '*' in the name matches nothing, and a wildcard always stands for whole,
 * non-empty labels.
 */
bool pw_fqdn_match(const char *pattern, const char *name)
{
	size_t nlen = name_len(name), slen;
	const char *suffix;

	if (!nlen || strchr(name, '*'))
		return false;
	if (!strncmp(pattern, "**.", 3)) {
		suffix = pattern + 3; /* "example.com": name is LABELS "." suffix */
		slen = name_len(suffix);
		return slen && nlen >= slen + 2 && name[nlen - slen - 1] == '.' &&
		       name[nlen - slen - 2] != '.' && name[0] != '.' &&
		       ascii_eq(name + nlen - slen, suffix, slen);
	}
	if (!strncmp(pattern, "*.", 2)) {
		const char *dot = strchr(name, '.');

		suffix = pattern + 2;
		slen = name_len(suffix);
		/* exactly one label: the first dot of name starts the suffix */
		return slen && dot && dot != name && (size_t)(dot - name) + 1 + slen == nlen &&
		       ascii_eq(dot + 1, suffix, slen);
	}
	slen = name_len(pattern);
	return slen && slen == nlen && ascii_eq(pattern, name, nlen);
}

uint8_t pw_fqdn_table_kind(const char *pattern, const char **text)
{
	if (!strncmp(pattern, "**.", 3)) {
		*text = pattern + 3;
		return PW_NK_MANY;
	}
	if (!strncmp(pattern, "*.", 2)) {
		*text = pattern + 2;
		return PW_NK_ONE;
	}
	*text = pattern;
	return PW_NK_EXACT;
}

uint64_t pw_fqdn_hash(const char *text)
{
	uint64_t h = PW_NAME_HASH_SEED;

	for (size_t i = strlen(text); i > 0; i--)
		h = pw_name_hash_step(h, (uint8_t)text[i - 1]);
	return h;
}

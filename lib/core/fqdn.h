/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Hostnames and hostname patterns.
 *
 * Names are case-insensitive, a trailing dot is ignored, a name is at most 253
 * characters and a label 1 to 63. In a pattern, a leading "*." matches exactly
 * one label and a leading "**." one or more labels; no other wildcard is
 * accepted (no mid-label "*", no bare "*", no "*" after the first label).
 */
#ifndef PODWALL_FQDN_H
#define PODWALL_FQDN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PW_FQDN_MAX 253

/* Lower-case, strip one trailing dot, check lengths and characters
 * (letters, digits, '-', '_'). out holds PW_FQDN_MAX + 1 bytes.
 * Returns 0, or -EINVAL with *why set. */
int pw_fqdn_normalize(const char *in, char *out, const char **why);

/* Validate and normalize a matchName (is_pattern false) or a matchPattern. */
int pw_fqdn_pattern_normalize(const char *in, bool is_pattern, char *out, const char **why);

/* Does normalized name match normalized pattern (exact, "*.", "**.")? */
bool pw_fqdn_match(const char *pattern, const char *name);

/* The name table's view of a normalized matchName/matchPattern: the kind
 * (PW_NK_EXACT, PW_NK_ONE for "*.", PW_NK_MANY for "**.") and the text the
 * kernel compares (the pattern without its wildcard). */
uint8_t pw_fqdn_table_kind(const char *pattern, const char **text);

/* The pw_names key hash of a normalized text (see include/podwall/maps.h). */
uint64_t pw_fqdn_hash(const char *text);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* JSON values written as YAML with libyaml's emitter (block style, quoting
 * done by libyaml). Pure. */
#ifndef PODWALL_YAMLOUT_H
#define PODWALL_YAMLOUT_H

#include <jansson.h>

/* The YAML text (caller frees), or NULL. Object keys keep their order. */
char *pw_json_to_yaml(const json_t *v);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yamlout.h"

struct out {
	char *s;
	size_t len, cap;
	int failed;
};

static int write_cb(void *data, unsigned char *buf, size_t size)
{
	struct out *o = data;

	if (o->len + size + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 1024;
		char *s;

		while (cap < o->len + size + 1)
			cap *= 2;
		s = realloc(o->s, cap);
		if (!s) {
			o->failed = 1;
			return 0;
		}
		o->s = s;
		o->cap = cap;
	}
	memcpy(o->s + o->len, buf, size);
	o->len += size;
	o->s[o->len] = '\0';
	return 1;
}

static int scalar(yaml_emitter_t *e, const char *text, int plain_ok)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
				     plain_ok, 1, YAML_ANY_SCALAR_STYLE);
	return yaml_emitter_emit(e, &ev);
}

static int emit(yaml_emitter_t *e, const json_t *v)
{
	yaml_event_t ev;
	char buf[64];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;

		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return 0;
		json_object_foreach((json_t *)v, k,
				    x) if (!scalar(e, k, 1) || !emit(e, x)) return 0;
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev);
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;

		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return 0;
		json_array_foreach(v, i, x) if (!emit(e, x)) return 0;
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev);
	}
	case JSON_STRING: {
		/* A string that would read back as another type is quoted. */
		const char *s = json_string_value(v);
		yaml_event_t q;
		char *end;
		int looks_other = !*s || !strcmp(s, "true") || !strcmp(s, "false") ||
				  !strcmp(s, "null") || !strcmp(s, "~") ||
				  (strtod(s, &end), *end == '\0');

		yaml_scalar_event_initialize(
			&q, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), !looks_other, 1,
			looks_other ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
		return yaml_emitter_emit(e, &q);
	}
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return scalar(e, buf, 1);
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return scalar(e, buf, 1);
	case JSON_TRUE:
		return scalar(e, "true", 1);
	case JSON_FALSE:
		return scalar(e, "false", 1);
	default:
		return scalar(e, "null", 1);
	}
}

char *pw_json_to_yaml(const json_t *v)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	struct out o = {0};
	int ok;

	if (!yaml_emitter_initialize(&e))
		return NULL;
	yaml_emitter_set_output(&e, write_cb, &o);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, 100);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	ok = yaml_emitter_emit(&e, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	ok = ok && yaml_emitter_emit(&e, &ev) && emit(&e, v);
	yaml_document_end_event_initialize(&ev, 1);
	ok = ok && yaml_emitter_emit(&e, &ev);
	yaml_stream_end_event_initialize(&ev);
	ok = ok && yaml_emitter_emit(&e, &ev) && yaml_emitter_flush(&e);
	yaml_emitter_delete(&e);
	if (!ok || o.failed) {
		free(o.s);
		return NULL;
	}
	return o.s;
}

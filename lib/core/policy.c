// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * EgressPolicy: YAML to JSON, decoding and validation, pod selection.
 *
 * The YAML side uses libyaml's event API with an explicit stack (no recursion
 * on input depth) and builds a jansson tree; the decoder only ever sees that
 * tree, so Kubernetes API objects and files take the same path. The decoder
 * fills a local struct pw_policy and hands it over only once every field is
 * valid; any error frees it whole.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "fqdn.h"
#include "ipaddr.h"
#include "k8sname.h"
#include "policy.h"

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_MAP "tag:yaml.org,2002:map"
#define TAG_SEQ "tag:yaml.org,2002:seq"

#define SHOWN_LEN 72 /* user text quoted in an error: at most this, with "..." */

/*
 * Copy user text for an error message: control and non-ASCII bytes become '?'
 * (an error message must not carry terminal escapes or broken UTF-8), and long
 * text is cut short.
 */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* ---- YAML to JSON ---------------------------------------------------------- */

struct yframe {
	json_t *node; /* borrowed: owned by its parent, or by yconv.root */
	char *key;    /* mapping: key read, value still to come */
	char *name;   /* key of this node in its parent mapping */
	size_t index; /* index of this node in its parent sequence */
};

struct yconv {
	json_t *docs; /* array of finished documents */
	json_t *root; /* document being built */
	struct yframe f[PW_YAML_MAX_DEPTH];
	int depth;
	size_t *doc_nos; /* for each entry of docs, its number in the stream */
	size_t n_stream; /* documents in the stream, empty ones included */
	char *err;
	size_t errlen;
};

/* Path of the node being read: "spec.egress[0].ports". With element, also the
 * entry about to be added to the innermost collection. */
static void ypath(const struct yconv *c, bool element, char *buf, size_t size)
{
	size_t len = 0;
	int n = 0;

	buf[0] = '\0';
	for (int i = 1; i <= c->depth && len < size; i++) {
		const struct yframe *parent = &c->f[i - 1];

		if (i == c->depth) {
			if (!element)
				break;
			if (json_is_array(parent->node))
				n = snprintf(buf + len, size - len, "[%zu]",
					     json_array_size(parent->node));
			else if (parent->key)
				n = snprintf(buf + len, size - len, "%s%s", len ? "." : "",
					     parent->key);
			else
				break;
		} else if (json_is_array(parent->node)) {
			n = snprintf(buf + len, size - len, "[%zu]", c->f[i].index);
		} else {
			n = snprintf(buf + len, size - len, "%s%s", len ? "." : "", c->f[i].name);
		}
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

static int __attribute__((format(printf, 4, 5)))
yfail(struct yconv *c, const yaml_mark_t *m, bool element, const char *fmt, ...)
{
	char path[128], shown_path[128], msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ypath(c, element, path, sizeof(path));
	shown(path, shown_path, sizeof(shown_path));
	snprintf(c->err, c->errlen, "line %zu column %zu: %s%s%s", m->line + 1, m->column + 1,
		 shown_path, shown_path[0] ? ": " : "", msg);
	return -EINVAL;
}

static int yoom(struct yconv *c)
{
	snprintf(c->err, c->errlen, "out of memory");
	return -ENOMEM;
}

static int ysyntax(struct yconv *c, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return yoom(c);
	case YAML_READER_ERROR:
		snprintf(c->err, c->errlen, "byte %zu: not valid YAML: %s", p->problem_offset,
			 problem);
		break;
	default:
		if (p->context)
			snprintf(c->err, c->errlen,
				 "line %zu column %zu: not valid YAML: %s (%s at line %zu column "
				 "%zu)",
				 p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
				 p->context, p->context_mark.line + 1, p->context_mark.column + 1);
		else
			snprintf(c->err, c->errlen, "line %zu column %zu: not valid YAML: %s",
				 p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
		break;
	}
	return -EINVAL;
}

enum plain_kind { PK_STR, PK_NULL, PK_TRUE, PK_FALSE, PK_INT, PK_INT_ZERO, PK_INT_RANGE };

static bool is_one_of(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == len && !memcmp(s, *words, len))
			return true;
	return false;
}

/* How a plain (unquoted, untagged) scalar reads, YAML 1.2 core schema but with
 * integers in decimal only. */
static enum plain_kind plain_kind(const char *s, size_t len, json_int_t *iv)
{
	static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", NULL};
	size_t i = 0;
	char *end;

	if (!len || is_one_of(s, len, nulls))
		return PK_NULL;
	if (is_one_of(s, len, trues))
		return PK_TRUE;
	if (is_one_of(s, len, falses))
		return PK_FALSE;
	if (s[0] == '-' || s[0] == '+')
		i++;
	if (i == len)
		return PK_STR;
	for (size_t j = i; j < len; j++)
		if (s[j] < '0' || s[j] > '9')
			return PK_STR;
	if (s[i] == '0' && len - i > 1)
		return PK_INT_ZERO;
	errno = 0;
	*iv = strtoll(s, &end, 10);
	if (errno || end != s + len)
		return PK_INT_RANGE;
	return PK_INT;
}

/* Attach v (reference stolen) where the stream is: document root, next entry of
 * a sequence, or value of the pending key. The key goes to *key_out if given. */
static int add_value(struct yconv *c, json_t *v, const yaml_mark_t *m, char **key_out)
{
	struct yframe *top = c->depth ? &c->f[c->depth - 1] : NULL;
	int ret = 0;

	if (!top) {
		c->root = v;
	} else if (json_is_array(top->node)) {
		if (json_array_append_new(top->node, v))
			ret = yoom(c);
	} else {
		if (json_object_set_new(top->node, top->key, v))
			ret = yfail(c, m, false, "mapping key is not valid UTF-8");
		if (key_out) {
			*key_out = top->key;
			top->key = NULL;
		}
		free(top->key);
		top->key = NULL;
	}
	return ret;
}

static int on_key(struct yconv *c, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	struct yframe *top = &c->f[c->depth - 1];
	char sb[SHOWN_LEN];
	json_int_t iv;

	if (ev->data.scalar.tag == NULL && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    plain_kind(s, len, &iv) != PK_STR)
		return yfail(c, &ev->start_mark, false,
			     "mapping key \"%s\" is not a string; quote it if it is meant as one",
			     shown(s, sb, sizeof(sb)));
	if (memchr(s, '\0', len))
		return yfail(c, &ev->start_mark, false, "mapping key contains a NUL character");
	if (json_object_get(top->node, s))
		return yfail(c, &ev->start_mark, false, "duplicate key \"%s\"",
			     shown(s, sb, sizeof(sb)));
	top->key = strdup(s);
	if (!top->key)
		return yoom(c);
	return 0;
}

static int on_scalar(struct yconv *c, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t len = ev->data.scalar.length;
	const yaml_mark_t *m = &ev->start_mark;
	bool want_key =
		c->depth && json_is_object(c->f[c->depth - 1].node) && !c->f[c->depth - 1].key;
	char sb[SHOWN_LEN];
	json_int_t iv = 0;
	json_t *v;

	if (ev->data.scalar.anchor)
		return yfail(c, m, !want_key, "YAML anchors (&%s) are not supported",
			     shown((const char *)ev->data.scalar.anchor, sb, sizeof(sb)));
	if (tag && strcmp(tag, "!") && strcmp(tag, TAG_STR))
		return yfail(c, m, !want_key, "YAML tag %s is not supported (only !!str)",
			     shown(tag, sb, sizeof(sb)));
	if (want_key)
		return on_key(c, ev);
	if (memchr(s, '\0', len))
		return yfail(c, m, true, "string contains a NUL character");

	if (tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		v = json_stringn(s, len);
	} else {
		switch (plain_kind(s, len, &iv)) {
		case PK_NULL:
			v = json_null();
			break;
		case PK_TRUE:
			v = json_true();
			break;
		case PK_FALSE:
			v = json_false();
			break;
		case PK_INT:
			v = json_integer(iv);
			break;
		case PK_INT_ZERO:
			return yfail(c, m, true,
				     "%s: integer with a leading zero is ambiguous (octal in YAML "
				     "1.1); drop the zeros, or quote it if it is a string",
				     shown(s, sb, sizeof(sb)));
		case PK_INT_RANGE:
			return yfail(c, m, true, "%s: integer out of range",
				     shown(s, sb, sizeof(sb)));
		default:
			v = json_stringn(s, len);
			break;
		}
	}
	if (!v)
		return yfail(c, m, true, "cannot store scalar (not valid UTF-8?)");
	return add_value(c, v, m, NULL);
}

static int on_start(struct yconv *c, const yaml_event_t *ev)
{
	bool map = ev->type == YAML_MAPPING_START_EVENT;
	const char *anchor = (const char *)(map ? ev->data.mapping_start.anchor
						: ev->data.sequence_start.anchor);
	const char *tag =
		(const char *)(map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
	struct yframe *top = c->depth ? &c->f[c->depth - 1] : NULL;
	bool want_key = top && json_is_object(top->node) && !top->key;
	const yaml_mark_t *m = &ev->start_mark;
	struct yframe *f;
	char sb[SHOWN_LEN];
	char *name = NULL;
	size_t index = 0;
	json_t *v;
	int ret;

	if (want_key)
		return yfail(c, m, false, "mapping key must be a string, not a %s",
			     map ? "mapping" : "list");
	if (anchor)
		return yfail(c, m, true, "YAML anchors (&%s) are not supported",
			     shown(anchor, sb, sizeof(sb)));
	if (tag && strcmp(tag, map ? TAG_MAP : TAG_SEQ))
		return yfail(c, m, true, "YAML tag %s is not supported here",
			     shown(tag, sb, sizeof(sb)));
	if (c->depth == PW_YAML_MAX_DEPTH)
		return yfail(c, m, true, "nested more than %d levels deep", PW_YAML_MAX_DEPTH);
	v = map ? json_object() : json_array();
	if (!v)
		return yoom(c);
	if (top && json_is_array(top->node))
		index = json_array_size(top->node);
	ret = add_value(c, v, m, &name);
	if (ret) {
		free(name);
		return ret;
	}
	f = &c->f[c->depth++];
	f->node = v;
	f->key = NULL;
	f->name = name;
	f->index = index;
	return 0;
}

static void on_end(struct yconv *c)
{
	struct yframe *f = &c->f[--c->depth];

	free(f->key);
	free(f->name);
	memset(f, 0, sizeof(*f));
}

static int on_document_end(struct yconv *c)
{
	size_t *nos;
	json_t *doc = c->root;

	c->root = NULL;
	if (!doc || json_is_null(doc)) {
		json_decref(doc);
		return 0;
	}
	nos = realloc(c->doc_nos, (json_array_size(c->docs) + 1) * sizeof(*nos));
	if (!nos) {
		json_decref(doc);
		return yoom(c);
	}
	c->doc_nos = nos;
	nos[json_array_size(c->docs)] = c->n_stream;
	if (json_array_append_new(c->docs, doc))
		return yoom(c);
	return 0;
}

static int on_event(struct yconv *c, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		c->n_stream++;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		return on_document_end(c);
	case YAML_ALIAS_EVENT:
		return yfail(c, &ev->start_mark, true, "YAML aliases are not supported");
	case YAML_SCALAR_EVENT:
		return on_scalar(c, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return on_start(c, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_end(c);
		return 0;
	default:
		return 0;
	}
}

static int yaml_to_json(const char *buf, size_t len, json_t **out, size_t **doc_nos,
			size_t *n_stream, char *err, size_t errlen)
{
	struct yconv c = {.err = err, .errlen = errlen};
	yaml_parser_t parser;
	bool parser_ok = false, done = false;
	yaml_event_t ev;
	int ret = 0;

	*out = NULL;
	c.docs = json_array();
	if (!c.docs) {
		ret = yoom(&c);
		goto cleanup;
	}
	if (!yaml_parser_initialize(&parser)) {
		ret = yoom(&c);
		goto cleanup;
	}
	parser_ok = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			ret = ysyntax(&c, &parser);
			goto cleanup;
		}
		ret = on_event(&c, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (ret)
			goto cleanup;
	}
	*out = c.docs;
	c.docs = NULL;
	if (doc_nos) {
		*doc_nos = c.doc_nos;
		c.doc_nos = NULL;
	}
	if (n_stream)
		*n_stream = c.n_stream;
cleanup:
	while (c.depth)
		on_end(&c);
	json_decref(c.root);
	json_decref(c.docs);
	free(c.doc_nos);
	if (parser_ok)
		yaml_parser_delete(&parser);
	return ret;
}

int pw_yaml_to_json(const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	char dummy[1];

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	return yaml_to_json(buf, len, out, NULL, NULL, err, errlen);
}

/* ---- decoding ---------------------------------------------------------------- */

struct dec {
	const char *source; /* for the message */
	size_t doc_no;	    /* document number in the file, 0 to leave it out */
	char *err;
	size_t errlen;
	char path[160];
	size_t plen;
};

static size_t path_add(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append to the path; returns the previous length for path_pop. */
static size_t path_add(struct dec *d, const char *fmt, ...)
{
	size_t old = d->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(d->path + old, sizeof(d->path) - old, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->plen = old + (size_t)n < sizeof(d->path) ? old + (size_t)n : sizeof(d->path) - 1;
	return old;
}

static size_t path_key(struct dec *d, const char *key)
{
	return path_add(d, "%s%s", d->plen ? "." : "", key);
}

static size_t path_idx(struct dec *d, size_t i)
{
	return path_add(d, "[%zu]", i);
}

static void path_pop(struct dec *d, size_t old)
{
	d->plen = old;
	d->path[old] = '\0';
}

static int __attribute__((format(printf, 2, 3))) fail(struct dec *d, const char *fmt, ...)
{
	char where[48] = "", msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->doc_no)
		snprintf(where, sizeof(where), " (document %zu)", d->doc_no);
	if (d->plen)
		snprintf(d->err, d->errlen, "%s%s: %s: %s", d->source, where, d->path, msg);
	else
		snprintf(d->err, d->errlen, "%s%s: %s", d->source, where, msg);
	return -EINVAL;
}

static int oom(struct dec *d)
{
	snprintf(d->err, d->errlen, "%s: out of memory", d->source);
	return -ENOMEM;
}

static const char *jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* A field's value; an absent field and an explicit null read the same, as in
 * Kubernetes. */
static const json_t *field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static int want_object(struct dec *d, const json_t *v)
{
	if (!json_is_object(v))
		return fail(d, "must be a mapping, not %s", jtype(v));
	return 0;
}

static int want_array(struct dec *d, const json_t *v, size_t max)
{
	if (!json_is_array(v))
		return fail(d, "must be a list, not %s", jtype(v));
	if (json_array_size(v) > max)
		return fail(d, "too many entries (%zu, at most %zu)", json_array_size(v), max);
	return 0;
}

static int want_string(struct dec *d, const json_t *v, const char **out)
{
	if (!json_is_string(v)) {
		if (json_is_number(v) || json_is_boolean(v))
			return fail(d, "must be a string, not %s (quote it)", jtype(v));
		return fail(d, "must be a string, not %s", jtype(v));
	}
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v))
		return fail(d, "contains a NUL character");
	return 0;
}

/* "a, b or c" */
static void join_fields(const char *const *known, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (const char *const *k = known; *k && len < size; k++) {
		const char *sep = k == known ? "" : ", ";
		int n;

		if (k != known && !k[1])
			sep = " or ";
		n = snprintf(buf + len, size - len, "%s%s", sep, *k);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* Refuse any key of obj not in known (NULL-terminated): a misspelt field must
 * not silently widen or narrow a policy. */
static int check_fields(struct dec *d, const json_t *obj, const char *const *known)
{
	char expected[160], sb[SHOWN_LEN];

	for (void *it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const char *key = json_object_iter_key(it);
		const char *const *k;

		for (k = known; *k; k++)
			if (!strcmp(*k, key))
				break;
		if (*k)
			continue;
		join_fields(known, expected, sizeof(expected));
		path_key(d, key[0] ? shown(key, sb, sizeof(sb)) : "\"\"");
		return fail(d, "unknown field (expected %s)", expected);
	}
	return 0;
}

/* v must be a mapping with no key outside known. */
static int want_fields(struct dec *d, const json_t *v, const char *const *known)
{
	int ret = want_object(d, v);

	return ret ? ret : check_fields(d, v, known);
}

static int check_label_key(struct dec *d, const char *s)
{
	const char *why = pw_k8s_label_key_problem(s);
	char sb[SHOWN_LEN];

	if (why)
		return fail(d, "label key \"%s\": %s", shown(s, sb, sizeof(sb)), why);
	return 0;
}

static int label_value(struct dec *d, const json_t *v, const char **out)
{
	const char *why;
	char sb[SHOWN_LEN];
	int ret;

	ret = want_string(d, v, out);
	if (ret)
		return ret;
	why = pw_k8s_label_name_problem(*out, strlen(*out), true);
	if (why)
		return fail(d, "label value \"%s\": %s", shown(*out, sb, sizeof(sb)), why);
	return 0;
}

static int dup_str(struct dec *d, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : oom(d);
}

/* calloc(n, size), or NULL for n == 0. */
static int alloc_array(struct dec *d, size_t n, size_t size, void *out)
{
	void *p = NULL;

	if (n) {
		p = calloc(n, size);
		if (!p)
			return oom(d);
	}
	memcpy(out, &p, sizeof(p));
	return 0;
}

typedef int (*decode_elem_fn)(struct dec *d, const json_t *v, void *elem, void *ctx);

/* obj[key], when present, must be an array of at most max elements, each
 * decoded by fn into a new zeroed array *out (elem_size each) of *n. On error
 * *out and *n describe what was allocated, so the caller's free handles it. */
static int decode_list(struct dec *d, const json_t *obj, const char *key, size_t max,
		       size_t elem_size, void *out, size_t *n, decode_elem_fn fn, void *ctx)
{
	const json_t *arr = field(obj, key);
	size_t old, cnt;
	char *base;
	int ret;

	if (!arr)
		return 0;
	old = path_key(d, key);
	ret = want_array(d, arr, max);
	if (ret)
		return ret;
	cnt = json_array_size(arr);
	ret = alloc_array(d, cnt, elem_size, out);
	if (ret)
		return ret;
	*n = cnt;
	memcpy(&base, out, sizeof(base));
	for (size_t i = 0; i < cnt; i++) {
		size_t o2 = path_idx(d, i);

		ret = fn(d, json_array_get(arr, i), base + i * elem_size, ctx);
		if (ret)
			return ret;
		path_pop(d, o2);
	}
	path_pop(d, old);
	return 0;
}

/* v, a string, must be one of names (NULL-terminated): *out its index. */
static int want_choice(struct dec *d, const json_t *v, const char *const *names, int *out)
{
	char expected[160], sb[SHOWN_LEN];
	const char *s;
	int ret;

	ret = want_string(d, v, &s);
	if (ret)
		return ret;
	for (int i = 0; names[i]; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	join_fields(names, expected, sizeof(expected));
	return fail(d, "must be %s, not \"%s\"", expected, shown(s, sb, sizeof(sb)));
}

/* obj[key], when present, decoded by want_choice; *out is left alone when absent. */
static int decode_choice(struct dec *d, const json_t *obj, const char *key,
			 const char *const *names, int *out)
{
	const json_t *v = field(obj, key);
	size_t old;
	int ret;

	if (!v)
		return 0;
	old = path_key(d, key);
	ret = want_choice(d, v, names, out);
	if (ret)
		return ret;
	path_pop(d, old);
	return 0;
}

static int decode_match_labels(struct dec *d, const json_t *obj, struct pw_labels *out)
{
	char sb[SHOWN_LEN];
	size_t i = 0;
	const char *v;
	int ret;

	ret = want_object(d, obj);
	if (!ret)
		ret = alloc_array(d, json_object_size(obj), sizeof(*out->v), &out->v);
	if (ret)
		return ret;
	out->n = json_object_size(obj);
	for (void *it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t old = path_add(d, "[\"%s\"]", shown(key, sb, sizeof(sb)));

		ret = check_label_key(d, key);
		if (!ret)
			ret = label_value(d, json_object_iter_value(it), &v);
		if (!ret)
			ret = dup_str(d, key, &out->v[i].key);
		if (!ret)
			ret = dup_str(d, v, &out->v[i].value);
		if (ret)
			return ret;
		path_pop(d, old);
		i++;
	}
	return 0;
}

static const char *const sel_op_names[] = {
	[PW_SEL_IN] = "In",
	[PW_SEL_NOT_IN] = "NotIn",
	[PW_SEL_EXISTS] = "Exists",
	[PW_SEL_DOES_NOT_EXIST] = "DoesNotExist",
	[PW_SEL_DOES_NOT_EXIST + 1] = NULL, /* the end, for want_choice */
};

static int value_elem(struct dec *d, const json_t *v, void *elem, void *ctx)
{
	const char *s;
	int ret = label_value(d, v, &s);

	return ret ? ret : dup_str(d, s, elem);
}

static int decode_expr(struct dec *d, const json_t *obj, struct pw_sel_expr *e)
{
	static const char *const fields[] = {"key", "operator", "values", NULL};
	const json_t *jkey, *jvals;
	const char *s;
	size_t old, n;
	int ret, op;

	ret = want_fields(d, obj, fields);
	if (ret)
		return ret;

	jkey = field(obj, "key");
	old = path_key(d, "key");
	if (!jkey)
		return fail(d, "required");
	ret = want_string(d, jkey, &s);
	if (!ret)
		ret = check_label_key(d, s);
	if (!ret)
		ret = dup_str(d, s, &e->key);
	if (ret)
		return ret;
	path_pop(d, old);

	if (!field(obj, "operator")) {
		path_key(d, "operator");
		return fail(d, "required (In, NotIn, Exists or DoesNotExist)");
	}
	ret = decode_choice(d, obj, "operator", sel_op_names, &op);
	if (ret)
		return ret;
	e->op = (enum pw_sel_op)op;

	jvals = field(obj, "values");
	n = json_array_size(jvals); /* 0 when absent or not a list (decode_list says which) */
	if (!jvals || json_is_array(jvals)) {
		old = path_key(d, "values");
		if ((e->op == PW_SEL_IN || e->op == PW_SEL_NOT_IN) && !n)
			return fail(d, "operator %s needs at least one value", sel_op_names[e->op]);
		if ((e->op == PW_SEL_EXISTS || e->op == PW_SEL_DOES_NOT_EXIST) && n)
			return fail(d, "must be empty for operator %s", sel_op_names[e->op]);
		path_pop(d, old);
	}
	return decode_list(d, obj, "values", SIZE_MAX, sizeof(*e->values), &e->values, &e->n_values,
			   value_elem, NULL);
}

static int expr_elem(struct dec *d, const json_t *v, void *elem, void *ctx)
{
	return decode_expr(d, v, elem);
}

static int decode_selector(struct dec *d, const json_t *obj, struct pw_selector *sel)
{
	static const char *const fields[] = {"matchLabels", "matchExpressions", NULL};
	const json_t *jl;
	size_t old;
	int ret;

	ret = want_fields(d, obj, fields);
	if (ret)
		return ret;

	jl = field(obj, "matchLabels");
	if (jl) {
		old = path_key(d, "matchLabels");
		ret = decode_match_labels(d, jl, &sel->match_labels);
		if (ret)
			return ret;
		path_pop(d, old);
	}

	ret = decode_list(d, obj, "matchExpressions", SIZE_MAX, sizeof(*sel->exprs), &sel->exprs,
			  &sel->n_exprs, expr_elem, NULL);
	if (ret)
		return ret;
	return 0;
}

static int decode_fqdn(struct dec *d, const json_t *obj, struct pw_fqdn_rule *f)
{
	static const char *const fields[] = {"matchName", "matchPattern", NULL};
	/* pw_fqdn_pattern_normalize writes the wildcard prefix and then up to
	 * PW_FQDN_MAX characters and a NUL after it. */
	char buf[PW_FQDN_MAX + 4], sb[SHOWN_LEN];
	const json_t *name, *pat;
	const char *s, *why = NULL;
	bool is_pattern;
	int ret;

	ret = want_fields(d, obj, fields);
	if (ret)
		return ret;
	name = field(obj, "matchName");
	pat = field(obj, "matchPattern");
	if (name && pat)
		return fail(d, "has both matchName and matchPattern; use one per entry");
	if (!name && !pat)
		return fail(d, "needs matchName or matchPattern");
	is_pattern = pat != NULL;
	path_key(d, is_pattern ? "matchPattern" : "matchName");
	ret = want_string(d, is_pattern ? pat : name, &s);
	if (ret)
		return ret;
	if (pw_fqdn_pattern_normalize(s, is_pattern, buf, &why))
		return fail(d, "\"%s\": %s", shown(s, sb, sizeof(sb)), why);
	if (strlen(buf) > PW_FQDN_MAX)
		return fail(d, "\"%s\": longer than %d characters, can never match",
			    shown(s, sb, sizeof(sb)), PW_FQDN_MAX);
	f->kind = is_pattern ? PW_FQDN_PATTERN : PW_FQDN_NAME;
	return dup_str(d, buf, &f->pattern);
}

static const char *family_name(uint8_t family)
{
	return family == PW_FAMILY_V4 ? "IPv4" : "IPv6";
}

static int decode_cidr(struct dec *d, const json_t *v, struct pw_cidr *c, const char **text)
{
	char sb[SHOWN_LEN];
	const char *why;
	int ret;

	ret = want_string(d, v, text);
	if (ret)
		return ret;
	if (pw_cidr_parse(*text, &c->family, &c->addr, &c->prefix, &why))
		return fail(d, "\"%s\": %s", shown(*text, sb, sizeof(sb)), why);
	return 0;
}

struct except_ctx {
	const struct pw_cidr_rule *rule;
	const char *ctext; /* the rule's cidr as written */
};

/* One entry of a cidr rule's except: of its family, strictly inside it. */
static int except_elem(struct dec *d, const json_t *v, void *elem, void *arg)
{
	const struct except_ctx *ctx = arg;
	const struct pw_cidr *c = &ctx->rule->cidr;
	char sb[SHOWN_LEN], sb2[SHOWN_LEN];
	struct pw_cidr *ex = elem;
	const char *etext;
	int ret;

	ret = decode_cidr(d, v, ex, &etext);
	if (ret)
		return ret;
	if (ex->family != c->family)
		return fail(d, "\"%s\" is %s but cidr %s is %s", shown(etext, sb, sizeof(sb)),
			    family_name(ex->family), shown(ctx->ctext, sb2, sizeof(sb2)),
			    family_name(c->family));
	if (ex->prefix <= c->prefix || !pw_ip_in_prefix(ex->family, &ex->addr, &c->addr, c->prefix))
		return fail(d, "\"%s\" is not strictly inside cidr %s",
			    shown(etext, sb, sizeof(sb)), shown(ctx->ctext, sb2, sizeof(sb2)));
	return 0;
}

static int decode_cidr_rule(struct dec *d, const json_t *obj, struct pw_cidr_rule *r)
{
	static const char *const fields[] = {"cidr", "except", NULL};
	struct except_ctx ctx;
	const json_t *jc;
	size_t old;
	int ret;

	ret = want_fields(d, obj, fields);
	if (ret)
		return ret;

	jc = field(obj, "cidr");
	old = path_key(d, "cidr");
	if (!jc)
		return fail(d, "required, e.g. cidr: 10.0.0.0/8");
	ret = decode_cidr(d, jc, &r->cidr, &ctx.ctext);
	if (ret)
		return ret;
	path_pop(d, old);

	ctx.rule = r;
	return decode_list(d, obj, "except", PW_POLICY_MAX_EXCEPT, sizeof(*r->except), &r->except,
			   &r->n_except, except_elem, &ctx);
}

static int want_port(struct dec *d, const json_t *v, uint16_t *out)
{
	char sb[SHOWN_LEN];
	json_int_t n;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		bool numeric = s[0] && strspn(s, "0123456789") == strlen(s);
		bool name = (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z');

		return fail(d, "must be an integer from 1 to 65535, not the string \"%s\"%s",
			    shown(s, sb, sizeof(sb)),
			    numeric ? " (remove the quotes)"
			    : name  ? " (named ports are not supported)"
				    : "");
	}
	if (!json_is_integer(v))
		return fail(d, "must be an integer from 1 to 65535, not %s", jtype(v));
	n = json_integer_value(v);
	if (n < 1 || n > 65535)
		return fail(d, "must be from 1 to 65535, not %" JSON_INTEGER_FORMAT, n);
	*out = (uint16_t)n;
	return 0;
}

static int decode_port(struct dec *d, const json_t *obj, struct pw_port *p)
{
	static const char *const fields[] = {"port", "endPort", "protocol", NULL};
	static const char *const protos[] = {"TCP", "UDP", "SCTP", NULL};
	const json_t *jport, *jend;
	int ret, proto = 0;
	size_t old;

	ret = want_fields(d, obj, fields);
	if (ret)
		return ret;

	ret = decode_choice(d, obj, "protocol", protos, &proto);
	if (ret)
		return ret;
	p->proto = proto == 2 ? IPPROTO_SCTP : proto == 1 ? IPPROTO_UDP : IPPROTO_TCP;

	jport = field(obj, "port");
	if (jport) {
		old = path_key(d, "port");
		ret = want_port(d, jport, &p->port);
		if (ret)
			return ret;
		path_pop(d, old);
	}

	jend = field(obj, "endPort");
	if (jend) {
		old = path_key(d, "endPort");
		if (!jport)
			return fail(d, "needs port (the start of the range)");
		ret = want_port(d, jend, &p->end_port);
		if (ret)
			return ret;
		if (p->end_port < p->port)
			return fail(d, "%u is below port %u", p->end_port, p->port);
		path_pop(d, old);
	}
	return 0;
}

static int fqdn_elem(struct dec *d, const json_t *v, void *elem, void *ctx)
{
	return decode_fqdn(d, v, elem);
}

static int cidr_rule_elem(struct dec *d, const json_t *v, void *elem, void *ctx)
{
	return decode_cidr_rule(d, v, elem);
}

static int port_elem(struct dec *d, const json_t *v, void *elem, void *ctx)
{
	return decode_port(d, v, elem);
}

/* One entry of toServices: {name, namespace}; namespace defaults to the
 * policy's (a ClusterEgressPolicy has none: it must name one). */
static int service_elem(struct dec *d, const json_t *v, void *elem, void *ctx)
{
	static const char *const fields[] = {"name", "namespace", NULL};
	const struct pw_policy *p = ctx;
	struct pw_service_ref *ref = elem;
	const json_t *jname, *jns;
	const char *name, *ns, *why;
	char sb[SHOWN_LEN];
	size_t old;
	int ret;

	ret = want_fields(d, v, fields);
	if (ret)
		return ret;
	jname = field(v, "name");
	old = path_key(d, "name");
	if (!jname)
		return fail(d, "required (the Service's metadata.name)");
	ret = want_string(d, jname, &name);
	if (ret)
		return ret;
	why = pw_k8s_dns1123_problem(name, false);
	if (!why && !(name[0] >= 'a' && name[0] <= 'z'))
		why = "must start with a lower case letter (a DNS-1035 label)";
	if (why)
		return fail(d, "\"%s\" is not a valid Service name: %s",
			    shown(name, sb, sizeof(sb)), why);
	path_pop(d, old);
	jns = field(v, "namespace");
	if (jns) {
		old = path_key(d, "namespace");
		ret = want_string(d, jns, &ns);
		if (ret)
			return ret;
		why = pw_k8s_dns1123_problem(ns, false);
		if (why)
			return fail(d, "\"%s\" is not a valid namespace (DNS label): %s",
				    shown(ns, sb, sizeof(sb)), why);
		path_pop(d, old);
	} else if (p->cluster) {
		return fail(d, "needs namespace (a ClusterEgressPolicy has none to default to)");
	} else {
		ns = p->namespace;
	}
	ret = dup_str(d, ns, &ref->namespace);
	return ret ? ret : dup_str(d, name, &ref->name);
}

static int decode_entities(struct dec *d, const json_t *arr, uint8_t *out)
{
	static const char *const names[] = {"kube-apiserver", "cluster-dns", NULL};
	int ret, which;

	ret = want_array(d, arr, 8);
	if (ret)
		return ret;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		size_t old = path_idx(d, i);

		ret = want_choice(d, json_array_get(arr, i), names, &which);
		if (ret)
			return ret;
		*out |= which ? PW_ENTITY_CLUSTER_DNS : PW_ENTITY_KUBE_APISERVER;
		path_pop(d, old);
	}
	return 0;
}

static int decode_rule(struct dec *d, const json_t *obj, struct pw_rule *r,
		       const struct pw_policy *p)
{
	static const char *const fields[] = {"toFQDNs", "toCIDRs",	"toServices", "toEntities",
					     "ports",	"allowPrivate", NULL};
	const json_t *jpriv, *jent;
	size_t old;
	int ret;

	ret = want_fields(d, obj, fields);
	if (ret)
		return ret;

	ret = decode_list(d, obj, "toFQDNs", PW_POLICY_MAX_FQDNS, sizeof(*r->fqdns), &r->fqdns,
			  &r->n_fqdns, fqdn_elem, NULL);
	if (ret)
		return ret;

	ret = decode_list(d, obj, "toCIDRs", PW_POLICY_MAX_CIDRS, sizeof(*r->cidrs), &r->cidrs,
			  &r->n_cidrs, cidr_rule_elem, NULL);
	if (ret)
		return ret;

	ret = decode_list(d, obj, "toServices", PW_POLICY_MAX_SERVICES, sizeof(*r->services),
			  &r->services, &r->n_services, service_elem, (void *)p);
	if (ret)
		return ret;

	jent = field(obj, "toEntities");
	if (jent) {
		old = path_key(d, "toEntities");
		ret = decode_entities(d, jent, &r->entities);
		if (ret)
			return ret;
		path_pop(d, old);
	}

	ret = decode_list(d, obj, "ports", PW_POLICY_MAX_PORTS, sizeof(*r->ports), &r->ports,
			  &r->n_ports, port_elem, NULL);
	if (ret)
		return ret;

	if (!r->n_fqdns && !r->n_cidrs && !r->n_services && !r->entities)
		return fail(d, "needs at least one destination in toFQDNs, toCIDRs, toServices or "
			       "toEntities");

	jpriv = field(obj, "allowPrivate");
	if (jpriv) {
		old = path_key(d, "allowPrivate");
		if (!json_is_boolean(jpriv))
			return fail(d, "must be true or false, not %s", jtype(jpriv));
		if (!r->n_fqdns)
			return fail(d, "only applies to toFQDNs (a CIDR rule names its addresses)");
		r->allow_private = json_is_true(jpriv);
		path_pop(d, old);
	}
	return 0;
}

static int rule_elem(struct dec *d, const json_t *v, void *elem, void *ctx)
{
	return decode_rule(d, v, elem, ctx);
}

/* One entry of spec.deny: {toCIDRs: [...], ports: [...]}; no ports: every
 * protocol and port of its prefixes. */
static int deny_elem(struct dec *d, const json_t *v, void *elem, void *ctx)
{
	static const char *const fields[] = {"toCIDRs", "ports", NULL};
	struct pw_rule *r = elem;
	int ret;

	ret = want_object(d, v);
	if (!ret)
		ret = check_fields(d, v, fields);
	if (!ret)
		ret = decode_list(d, v, "toCIDRs", PW_POLICY_MAX_CIDRS, sizeof(*r->cidrs),
				  &r->cidrs, &r->n_cidrs, cidr_rule_elem, NULL);
	if (!ret && !r->n_cidrs)
		ret = fail(d, "needs at least one prefix in toCIDRs (a deny names CIDRs only)");
	if (!ret)
		ret = decode_list(d, v, "ports", PW_POLICY_MAX_PORTS, sizeof(*r->ports), &r->ports,
				  &r->n_ports, port_elem, NULL);
	return ret;
}

static int want_bool(struct dec *d, const json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return fail(d, "must be true or false, not %s", jtype(v));
	*out = json_is_true(v);
	return 0;
}

static int decode_dns(struct dec *d, const json_t *obj, struct pw_policy_dns *dns)
{
	static const char *const fields[] = {"resolveNames", "resolveAnyName", "refuseWith", NULL};
	static const char *const refusals[] = {"REFUSED", "NXDOMAIN", NULL};
	int ret, refuse = 0;
	const json_t *v;
	size_t old;

	ret = want_fields(d, obj, fields);
	if (ret)
		return ret;
	ret = decode_list(d, obj, "resolveNames", PW_POLICY_MAX_RESOLVE, sizeof(*dns->names),
			  &dns->names, &dns->n_names, fqdn_elem, NULL);
	if (ret)
		return ret;
	v = field(obj, "resolveAnyName");
	if (v) {
		old = path_key(d, "resolveAnyName");
		ret = want_bool(d, v, &dns->any_name);
		if (ret)
			return ret;
		path_pop(d, old);
	}
	ret = decode_choice(d, obj, "refuseWith", refusals, &refuse);
	dns->nxdomain = refuse == 1;
	return ret;
}

/* spec.visibility: a list of "allowed" (an event per new allowed flow) and
 * "dns" (a record per DNS lookup); repeats are harmless. */
static int decode_visibility(struct dec *d, const json_t *arr, uint8_t *out)
{
	char sb[SHOWN_LEN];
	const char *s;
	size_t old;
	int ret = want_array(d, arr, 8);

	if (ret)
		return ret;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		old = path_idx(d, i);
		ret = want_string(d, json_array_get(arr, i), &s);
		if (ret)
			return ret;
		if (!strcmp(s, "allowed"))
			*out |= PW_VIS_ALLOWED;
		else if (!strcmp(s, "dns"))
			*out |= PW_VIS_DNS;
		else
			return fail(d, "must be allowed or dns, not \"%s\"",
				    shown(s, sb, sizeof(sb)));
		path_pop(d, old);
	}
	return 0;
}

static int decode_spec(struct dec *d, const json_t *spec, struct pw_policy *p)
{
	static const char *const fields[] = {"podSelector", "mode",	  "denyAction", "egress",
					     "dns",	    "visibility", NULL};
	static const char *const cluster_fields[] = {
		"namespaceSelector", "podSelector", "mode", "denyAction", "egress", "deny", "dns",
		"visibility",	     NULL};
	static const char *const modes[] = {"enforce", "audit", NULL};
	static const char *const actions[] = {"drop", "reject", NULL};
	int ret, mode = 0, action = 0;
	const json_t *jsel;
	size_t old;

	if (!spec)
		return fail(d, "required");
	ret = want_object(d, spec);
	if (!ret && !p->cluster && field(spec, "deny")) {
		path_key(d, "deny");
		return fail(d, "only a ClusterEgressPolicy may deny (an EgressPolicy grants)");
	}
	if (!ret)
		ret = check_fields(d, spec, p->cluster ? cluster_fields : fields);
	if (ret)
		return ret;

	if (p->cluster) {
		jsel = field(spec, "namespaceSelector");
		old = path_key(d, "namespaceSelector");
		if (!jsel)
			return fail(d, "required (namespaceSelector: {} selects every namespace)");
		ret = decode_selector(d, jsel, &p->ns_selector);
		if (ret)
			return ret;
		path_pop(d, old);
	}
	jsel = field(spec, "podSelector");
	old = path_key(d, "podSelector");
	if (!jsel && !p->cluster)
		return fail(d, "required (podSelector: {} selects every pod in the namespace)");
	ret = jsel ? decode_selector(d, jsel, &p->selector) : 0; /* cluster: every pod */
	if (ret)
		return ret;
	path_pop(d, old);

	ret = decode_choice(d, spec, "mode", modes, &mode);
	if (ret)
		return ret;
	p->mode = mode ? PW_MODE_AUDIT : PW_MODE_ENFORCE;
	ret = decode_choice(d, spec, "denyAction", actions, &action);
	if (ret)
		return ret;
	p->deny_action = action ? PW_DENY_REJECT : PW_DENY_DROP;

	ret = decode_list(d, spec, "egress", PW_POLICY_MAX_RULES, sizeof(*p->rules), &p->rules,
			  &p->n_rules, rule_elem, p);
	if (ret)
		return ret;
	if (p->cluster) {
		ret = decode_list(d, spec, "deny", PW_POLICY_MAX_DENY, sizeof(*p->deny), &p->deny,
				  &p->n_deny, deny_elem, NULL);
		if (ret)
			return ret;
	}
	if (field(spec, "dns")) {
		old = path_key(d, "dns");
		ret = decode_dns(d, field(spec, "dns"), &p->dns);
		if (ret)
			return ret;
		path_pop(d, old);
	}
	if (field(spec, "visibility")) {
		old = path_key(d, "visibility");
		ret = decode_visibility(d, field(spec, "visibility"), &p->visibility);
		if (ret)
			return ret;
		path_pop(d, old);
	}
	return 0;
}

static int decode_metadata(struct dec *d, const json_t *md, struct pw_policy *p)
{
	const json_t *jname, *jns;
	const char *s, *why;
	char sb[SHOWN_LEN];
	size_t old;
	int ret;

	if (!md)
		return fail(d, "required");
	ret = want_object(d, md);
	if (ret)
		return ret;

	/* Other metadata (labels, annotations, uid, ...) is the API server's business. */
	jname = field(md, "name");
	old = path_key(d, "name");
	if (!jname)
		return fail(d, "required");
	ret = want_string(d, jname, &s);
	if (ret)
		return ret;
	why = pw_k8s_dns1123_problem(s, true);
	if (why)
		return fail(d, "\"%s\" is not a valid name (DNS subdomain): %s",
			    shown(s, sb, sizeof(sb)), why);
	ret = dup_str(d, s, &p->name);
	if (ret)
		return ret;
	path_pop(d, old);

	jns = field(md, "namespace");
	old = path_key(d, "namespace");
	s = "default";
	if (jns) {
		ret = want_string(d, jns, &s);
		if (ret)
			return ret;
		why = pw_k8s_dns1123_problem(s, false);
		if (why)
			return fail(d, "\"%s\" is not a valid namespace (DNS label): %s",
				    shown(s, sb, sizeof(sb)), why);
	}
	ret = dup_str(d, s, &p->namespace);
	if (ret)
		return ret;
	if (!jns) {
		/* Valid (kubectl would apply it to the current namespace), but a
		 * file on disk has no current namespace: say which one it got. */
		char where[48] = "";

		if (d->doc_no)
			snprintf(where, sizeof(where), " (document %zu)", d->doc_no);
		if (asprintf(&p->warning,
			     "%s%s: metadata.namespace: missing, policy %s applies to namespace "
			     "\"default\"",
			     d->source, where, p->name) < 0) {
			p->warning = NULL;
			return oom(d);
		}
	}
	path_pop(d, old);
	return 0;
}

/* Check that field key of obj is the string want. */
static int want_exact(struct dec *d, const json_t *obj, const char *key, const char *want)
{
	const json_t *v = field(obj, key);
	char sb[SHOWN_LEN];
	const char *s;
	size_t old;
	int ret;

	old = path_key(d, key);
	if (!v)
		return fail(d, "required (%s)", want);
	ret = want_string(d, v, &s);
	if (ret)
		return ret;
	if (strcmp(s, want))
		return fail(d, "must be %s, not \"%s\"", want, shown(s, sb, sizeof(sb)));
	path_pop(d, old);
	return 0;
}

static int decode(struct dec *d, const json_t *obj, const char *source, struct pw_policy *out)
{
	static const char *const fields[] = {"apiVersion", "kind",   "metadata",
					     "spec",	   "status", NULL};
	struct pw_policy p = {0};
	size_t old;
	int ret;

	if (!json_is_object(obj)) {
		ret = fail(d, "must be a mapping (an EgressPolicy object), not %s",
			   obj ? jtype(obj) : "nothing");
		goto cleanup;
	}
	ret = want_exact(d, obj, "apiVersion", PW_POLICY_API_VERSION);
	if (!ret) {
		const char *k = json_string_value(field(obj, "kind"));

		p.cluster = k && !strcmp(k, PW_CLUSTER_POLICY_KIND);
		if (!p.cluster)
			ret = want_exact(d, obj, "kind", PW_POLICY_KIND);
	}
	if (!ret)
		ret = check_fields(d, obj, fields);
	if (ret)
		goto cleanup;

	old = path_key(d, "metadata");
	ret = decode_metadata(d, field(obj, "metadata"), &p);
	if (ret)
		goto cleanup;
	path_pop(d, old);
	if (p.cluster) {
		/* cluster-scoped: a namespace means nothing (the API has none) */
		free(p.namespace);
		free(p.warning);
		p.warning = NULL;
		ret = dup_str(d, "*", &p.namespace);
		if (ret)
			goto cleanup;
	}

	old = path_key(d, "spec");
	ret = decode_spec(d, field(obj, "spec"), &p);
	if (ret)
		goto cleanup;
	path_pop(d, old);

	ret = dup_str(d, source, &p.source);
	if (ret)
		goto cleanup;
	*out = p;
	memset(&p, 0, sizeof(p));
cleanup:
	pw_policy_free(&p);
	return ret;
}

int pw_policy_from_json(const json_t *obj, const char *source, struct pw_policy *out, char *err,
			size_t errlen)
{
	struct dec d = {.source = source ? source : "<policy>", .err = err, .errlen = errlen};
	char dummy[1];

	if (!err || !errlen) {
		d.err = dummy;
		d.errlen = sizeof(dummy);
	}
	d.err[0] = '\0';
	return decode(&d, obj, d.source, out);
}

int pw_policy_file_parse(const char *buf, size_t len, const char *source, struct pw_policy **out,
			 size_t *n_out, char *err, size_t errlen)
{
	struct dec d = {.source = source ? source : "<policy>", .err = err, .errlen = errlen};
	char yerr[PW_ERR_LEN], dummy[1];
	struct pw_policy *v = NULL;
	size_t *doc_nos = NULL;
	size_t n = 0, n_stream = 0;
	json_t *docs = NULL;
	int ret;

	*out = NULL;
	*n_out = 0;
	if (!err || !errlen) {
		d.err = dummy;
		d.errlen = sizeof(dummy);
	}
	d.err[0] = '\0';

	ret = yaml_to_json(buf, len, &docs, &doc_nos, &n_stream, yerr, sizeof(yerr));
	if (ret) {
		snprintf(d.err, d.errlen, "%s: %s", d.source, yerr);
		goto cleanup;
	}
	if (!json_array_size(docs)) {
		/* A truncated or half-written file is not "no policies". */
		snprintf(d.err, d.errlen,
			 "%s: holds no document (an empty file is refused; delete the file to "
			 "remove its policies)",
			 d.source);
		ret = -EINVAL;
		goto cleanup;
	}
	ret = alloc_array(&d, json_array_size(docs), sizeof(*v), &v);
	if (ret)
		goto cleanup;
	for (size_t i = 0; i < json_array_size(docs); i++) {
		struct pw_policy *p = &v[n];

		d.doc_no = n_stream > 1 ? doc_nos[i] : 0;
		ret = decode(&d, json_array_get(docs, i), d.source, p);
		if (ret)
			goto cleanup;
		n++;
		for (size_t j = 0; j + 1 < n; j++) {
			if (strcmp(v[j].name, p->name) || strcmp(v[j].namespace, p->namespace))
				continue;
			path_key(&d, "metadata.name");
			ret = fail(&d, "policy %s/%s is defined twice in this file", p->namespace,
				   p->name);
			goto cleanup;
		}
	}
	*out = v;
	*n_out = n;
	v = NULL;
	n = 0;
cleanup:
	pw_policies_free(v, n);
	free(doc_nos);
	json_decref(docs);
	return ret;
}

/* ---- freeing ----------------------------------------------------------------- */

void pw_labels_free(struct pw_labels *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void selector_free(struct pw_selector *sel)
{
	pw_labels_free(&sel->match_labels);
	for (size_t i = 0; i < sel->n_exprs; i++) {
		struct pw_sel_expr *e = &sel->exprs[i];

		free(e->key);
		for (size_t j = 0; j < e->n_values; j++)
			free(e->values[j]);
		free(e->values);
	}
	free(sel->exprs);
}

static void rule_free(struct pw_rule *r)
{
	for (size_t j = 0; j < r->n_fqdns; j++)
		free(r->fqdns[j].pattern);
	free(r->fqdns);
	for (size_t j = 0; j < r->n_cidrs; j++)
		free(r->cidrs[j].except);
	free(r->cidrs);
	free(r->ports);
	for (size_t j = 0; j < r->n_services; j++) {
		free(r->services[j].namespace);
		free(r->services[j].name);
	}
	free(r->services);
	pw_peers_free(&r->peers);
}

void pw_policy_free(struct pw_policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->namespace);
	free(p->source);
	free(p->warning);
	selector_free(&p->selector);
	selector_free(&p->ns_selector);
	for (size_t i = 0; i < p->n_cluster_ns; i++)
		free(p->cluster_ns[i]);
	free(p->cluster_ns);
	for (size_t i = 0; i < p->n_rules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->n_deny; i++)
		rule_free(&p->deny[i]);
	free(p->deny);
	for (size_t j = 0; j < p->dns.n_names; j++)
		free(p->dns.names[j].pattern);
	free(p->dns.names);
	memset(p, 0, sizeof(*p));
}

void pw_peers_free(struct pw_peers *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].ports);
	free(p->v);
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	memset(p, 0, sizeof(*p));
}

void pw_rule_set_peers(struct pw_rule *r, struct pw_peers *peers)
{
	pw_peers_free(&r->peers);
	r->peers = *peers;
	memset(peers, 0, sizeof(*peers));
}

void pw_policies_free(struct pw_policy *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		pw_policy_free(&v[i]);
	free(v);
}

/* ---- labels and selection ---------------------------------------------------- */

int pw_labels_set(struct pw_labels *l, const char *key, const char *value)
{
	char *k = NULL, *val = NULL;
	struct pw_label *v;
	int ret = -ENOMEM;

	val = strdup(value);
	if (!val)
		goto cleanup;
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].key, key))
			continue;
		free(l->v[i].value);
		l->v[i].value = val;
		val = NULL;
		ret = 0;
		goto cleanup;
	}
	k = strdup(key);
	if (!k)
		goto cleanup;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		goto cleanup;
	l->v = v;
	v[l->n].key = k;
	v[l->n].value = val;
	l->n++;
	k = val = NULL;
	ret = 0;
cleanup:
	free(k);
	free(val);
	return ret;
}

const char *pw_labels_get(const struct pw_labels *l, const char *key)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (!strcmp(l->v[i].key, key))
			return l->v[i].value;
	return NULL;
}

static bool expr_matches(const struct pw_sel_expr *e, const struct pw_labels *labels)
{
	const char *v = pw_labels_get(labels, e->key);
	bool in = false;

	switch (e->op) {
	case PW_SEL_EXISTS:
		return v != NULL;
	case PW_SEL_DOES_NOT_EXIST:
		return v == NULL;
	case PW_SEL_IN:
	case PW_SEL_NOT_IN:
		for (size_t i = 0; v && !in && i < e->n_values; i++)
			in = !strcmp(v, e->values[i]);
		/* NotIn also matches a pod without the label, as in Kubernetes. */
		return e->op == PW_SEL_IN ? in : !in;
	}
	return false;
}

bool pw_selector_matches(const struct pw_selector *sel, const struct pw_labels *labels)
{
	for (size_t i = 0; i < sel->match_labels.n; i++) {
		const struct pw_label *want = &sel->match_labels.v[i];
		const char *have = pw_labels_get(labels, want->key);

		if (!have || strcmp(have, want->value))
			return false;
	}
	for (size_t i = 0; i < sel->n_exprs; i++)
		if (!expr_matches(&sel->exprs[i], labels))
			return false;
	return true;
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int pw_policy_set_namespaces(struct pw_policy *p, const char *const *names, size_t n)
{
	char **v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(names[i]))) {
			while (i--)
				free(v[i]);
			free(v);
			return -ENOMEM;
		}
	qsort(v, n, sizeof(*v), str_cmp);
	for (size_t i = 0; i < p->n_cluster_ns; i++)
		free(p->cluster_ns[i]);
	free(p->cluster_ns);
	p->cluster_ns = v;
	p->n_cluster_ns = n;
	return 0;
}

bool pw_policy_selects(const struct pw_policy *p, const char *pod_namespace,
		       const struct pw_labels *labels)
{
	if (!pod_namespace)
		return false;
	if (p->cluster) {
		if (!p->n_cluster_ns || !bsearch(&pod_namespace, p->cluster_ns, p->n_cluster_ns,
						 sizeof(*p->cluster_ns), str_cmp))
			return false;
	} else if (strcmp(p->namespace, pod_namespace)) {
		return false;
	}
	return pw_selector_matches(&p->selector, labels);
}

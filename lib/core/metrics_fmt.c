// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_fmt.h"

void pw_mb_printf(struct pw_metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;

		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *s = realloc(b->s, cap);

		if (!s) {
			b->failed = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

void pw_mb_help(struct pw_metrics_buf *b, const char *name, const char *type, const char *help)
{
	size_t n = strlen(name);
	int fam_len = (int)n;

	if (b->openmetrics && !strcmp(type, "counter") && n > 6 && !strcmp(name + n - 6, "_total"))
		fam_len -= 6;
	pw_mb_printf(b, "# HELP %.*s %s\n# TYPE %.*s %s\n", fam_len, name, help, fam_len, name,
		     type);
}

const char *pw_mb_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return "";
	for (; in && *in && o + 3 < outlen; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
	return out;
}

void pw_mb_sample(struct pw_metrics_buf *b, const char *name, const char *labels,
		  unsigned long long value)
{
	if (labels && *labels)
		pw_mb_printf(b, "%s{%s} %llu\n", name, labels, value);
	else
		pw_mb_printf(b, "%s %llu\n", name, value);
}

void pw_mb_sample_f(struct pw_metrics_buf *b, const char *name, const char *labels, double value)
{
	if (labels && *labels)
		pw_mb_printf(b, "%s{%s} %.9g\n", name, labels, value);
	else
		pw_mb_printf(b, "%s %.9g\n", name, value);
}

void pw_mb_histogram(struct pw_metrics_buf *b, const char *name, const char *help,
		     const double *bounds, size_t n, const uint64_t *counts, double sum)
{
	unsigned long long cum = 0;

	pw_mb_help(b, name, "histogram", help);
	for (size_t i = 0; i < n; i++) {
		cum += counts[i];
		pw_mb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], cum);
	}
	cum += counts[n];
	pw_mb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
	pw_mb_printf(b, "%s_sum %.9g\n", name, sum);
	pw_mb_printf(b, "%s_count %llu\n", name, cum);
}

const double pw_hold_bounds[PW_HOLD_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
						0.01,	0.025,	 0.05,	 0.1,	0.25,	1};

size_t pw_hold_bucket(uint64_t ns)
{
	size_t i = 0;

	while (i < PW_HOLD_BUCKETS && (double)ns > pw_hold_bounds[i] * 1e9)
		i++;
	return i;
}

char *pw_mb_take(struct pw_metrics_buf *b)
{
	char *s;

	if (b->openmetrics)
		pw_mb_printf(b, "# EOF\n");
	s = b->s;
	if (b->failed || !s) {
		free(s);
		s = NULL;
	}
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

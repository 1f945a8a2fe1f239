/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A growing text buffer for the Prometheus exposition format. */
#ifndef PODWALL_METRICS_FMT_H
#define PODWALL_METRICS_FMT_H

#include <stddef.h>

struct pw_metrics_buf {
	char *s;
	size_t len, cap;
	int failed; /* an allocation failed: pw_mb_take returns NULL */
};

void pw_mb_printf(struct pw_metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pw_mb_help(struct pw_metrics_buf *b, const char *name, const char *type, const char *help);
/* The text (caller frees), or NULL if anything failed. */
char *pw_mb_take(struct pw_metrics_buf *b);

#endif

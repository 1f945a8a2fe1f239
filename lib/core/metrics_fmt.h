/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Prometheus text exposition format (0.0.4), written so that strict
 * parsers (prometheus_client's text and OpenMetrics parsers, promtool) accept
 * it: each family is one group (HELP, TYPE, then all of its samples), label
 * values are escaped, histograms have cumulative buckets ending in +Inf.
 * With openmetrics set, the same page in OpenMetrics 1.0 (what Prometheus asks
 * for first): a counter family is named without its samples' _total suffix,
 * and the page ends with "# EOF".
 */
#ifndef PODWALL_METRICS_FMT_H
#define PODWALL_METRICS_FMT_H

#include <stddef.h>
#include <stdint.h>

struct pw_metrics_buf {
	char *s;
	size_t len, cap;
	int failed;	 /* an allocation failed: pw_mb_take returns NULL */
	int openmetrics; /* OpenMetrics 1.0: counter families without _total, "# EOF" */
};

void pw_mb_printf(struct pw_metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Start a family: its HELP and TYPE lines. Every sample of the family must
 * follow before the next family starts. */
void pw_mb_help(struct pw_metrics_buf *b, const char *name, const char *type, const char *help);
/* A label value escaped as the format wants (\\, \", \n), into out. */
const char *pw_mb_escape(const char *in, char *out, size_t outlen);
/* One sample: name{labels} value. labels is "" or 'k="v",k2="v2"' (already escaped). */
void pw_mb_sample(struct pw_metrics_buf *b, const char *name, const char *labels,
		  unsigned long long value);
void pw_mb_sample_f(struct pw_metrics_buf *b, const char *name, const char *labels, double value);
/* A whole histogram family. counts[i] are the observations in (bounds[i-1],
 * bounds[i]]; counts[n] those above the last bound. sum in the base unit. */
void pw_mb_histogram(struct pw_metrics_buf *b, const char *name, const char *help,
		     const double *bounds, size_t n, const uint64_t *counts, double sum);
/* The text (caller frees), or NULL if anything failed. */
char *pw_mb_take(struct pw_metrics_buf *b);

/* Bucket bounds of the DNS hold-time histogram, in seconds. */
#define PW_HOLD_BUCKETS 12
extern const double pw_hold_bounds[PW_HOLD_BUCKETS];
/* Index of the bucket a hold of ns nanoseconds falls in (PW_HOLD_BUCKETS = +Inf). */
size_t pw_hold_bucket(uint64_t ns);

#endif

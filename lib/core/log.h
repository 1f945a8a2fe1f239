/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Levelled logging to stderr. */
#ifndef PODWALL_LOG_H
#define PODWALL_LOG_H

enum pw_log_level { PW_LOG_ERROR = 0, PW_LOG_WARN, PW_LOG_INFO, PW_LOG_DEBUG };

extern enum pw_log_level pw_log_level;

void pw_log(enum pw_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pw_err(...)   pw_log(PW_LOG_ERROR, __VA_ARGS__)
#define pw_warn(...)  pw_log(PW_LOG_WARN, __VA_ARGS__)
#define pw_info(...)  pw_log(PW_LOG_INFO, __VA_ARGS__)
#define pw_debug(...) pw_log(PW_LOG_DEBUG, __VA_ARGS__)

#endif

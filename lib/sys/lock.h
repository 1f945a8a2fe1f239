/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Exclusive, non-blocking locks that end with the process (flock). */
#ifndef PW_LOCK_H
#define PW_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

/* Lock directory dir (created 0700 if missing; *created says so). Returns the
 * locked fd (keep it open), -EWOULDBLOCK with *holder the PID that holds it
 * (0 if it cannot be told), or -errno. */
int pw_lock_dir(const char *dir, bool *created, pid_t *holder);

/* Lock file path (created 0600 if missing) and write our PID into it. Same
 * returns as pw_lock_dir. */
int pw_lock_file(const char *path, pid_t *holder);

#endif

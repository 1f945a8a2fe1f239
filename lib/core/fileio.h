/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Whole-file reads, complete writes, and text made safe for a log line or a JSON
 * string: the one copy every program uses. */
#ifndef PODWALL_FILEIO_H
#define PODWALL_FILEIO_H

#include <stddef.h>

/* Read fd to its end: *buf (caller frees) holds the *len bytes read plus a
 * terminating NUL (there may be NULs inside). 0, or -EFBIG when there are more
 * than max bytes, -ENOMEM, -errno of read(). EINTR is retried. */
int pw_read_fd(int fd, size_t max, char **buf, size_t *len);
/* The same for a file, opened read-only (-errno of open()). */
int pw_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Write all len bytes, retrying short writes and EINTR. 0 or -errno. */
int pw_write_all(int fd, const void *data, size_t len);

/* Replace every byte outside printable ASCII (0x20..0x7e) with '?', in place. */
void pw_sanitize(char *s);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Whole-file reads, complete writes, sanitized text: see fileio.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fileio.h"

int pw_read_fd(int fd, size_t max, char **buf, size_t *len)
{
	size_t n = 0, cap = 0;
	char *b = NULL;
	int ret = 0;

	for (;;) {
		ssize_t got;

		/* Room for max bytes, one more (to tell "more than max"), and the NUL. */
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb;

			if (ncap > max + 2)
				ncap = max + 2;
			nb = realloc(b, ncap);
			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			b = nb;
			cap = ncap;
		}
		got = read(fd, b + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			goto out;
		}
		if (!got)
			break;
		n += (size_t)got;
		if (n > max) {
			ret = -EFBIG;
			goto out;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
out:
	free(b);
	return ret;
}

int pw_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = pw_read_fd(fd, max, buf, len);
	close(fd);
	return ret;
}

int pw_write_all(int fd, const void *data, size_t len)
{
	const char *s = data;
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

void pw_sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

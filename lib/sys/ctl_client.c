// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

int pw_ctl_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int pw_ctl_send(int fd, const json_t *req)
{
	char *line = json_dumps(req, JSON_COMPACT);
	size_t len, off = 0;
	int ret = 0;

	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len] = '\n'; /* json_dumps leaves room only for the NUL: reuse it */
	len++;
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		off += (size_t)n;
	}
	free(line);
	return ret;
}

int pw_ctl_recv(int fd, json_t **out, int timeout_ms)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	json_error_t jerr;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;
		char c;

		if (timeout_ms >= 0) {
			n = poll(&pfd, 1, timeout_ms);
			if (n == 0) {
				ret = -ETIMEDOUT;
				goto out;
			}
			if (n < 0 && errno != EINTR) {
				ret = -errno;
				goto out;
			}
		}
		n = recv(fd, &c, 1, 0);
		if (n == 0) {
			ret = -ECONNRESET;
			goto out;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (c == '\n')
			break;
		if (len + 1 >= cap) {
			char *nb;

			if (cap >= PW_CTL_MAX_LINE) {
				ret = -EMSGSIZE;
				goto out;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		buf[len++] = c;
	}
	buf[len] = '\0';
	*out = json_loads(buf, 0, &jerr);
	if (!*out)
		ret = -EBADMSG;
out:
	free(buf);
	return ret;
}

int pw_ctl_call(const char *path, const json_t *req, json_t **out, int timeout_ms)
{
	int fd = pw_ctl_connect(path), ret;

	if (fd < 0)
		return fd;
	ret = pw_ctl_send(fd, req);
	if (!ret)
		ret = pw_ctl_recv(fd, out, timeout_ms);
	close(fd);
	return ret;
}

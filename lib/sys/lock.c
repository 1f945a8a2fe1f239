// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One agent per node: an exclusive flock() on the pin directory itself (bpffs
 * holds no regular files, but a directory inode takes a lock) and on a lock
 * file beside the control socket. flock() locks go away with the process, so
 * a crashed agent never leaves a stale lock; the holder's PID comes from
 * /proc/locks (and, for the file, from its contents).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lock.h"

/* The PID holding a flock() on (dev, ino), from /proc/locks; 0 if unknown. */
static pid_t flock_holder(dev_t dev, ino_t ino)
{
	char line[256];
	pid_t pid = 0;
	FILE *fp = fopen("/proc/locks", "re");

	if (!fp)
		return 0;
	while (!pid && fgets(line, sizeof(line), fp)) {
		char kind[16], type[16];
		unsigned int maj, min;
		unsigned long i;
		int p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF" (a "->" marks waiters) */
		if (strstr(line, "->"))
			continue;
		if (sscanf(line, "%*d: %15s %*s %15s %d %x:%x:%lu", kind, type, &p, &maj, &min,
			   &i) != 6)
			continue;
		if (!strcmp(kind, "FLOCK") && !strcmp(type, "WRITE") && maj == major(dev) &&
		    min == minor(dev) && i == ino && p > 0)
			pid = p;
	}
	fclose(fp);
	return pid;
}

static pid_t pid_in_file(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 0 && v < (1L << 22) ? (pid_t)v : 0;
}

static int lock_fd(int fd, pid_t *holder)
{
	struct stat st;

	if (!flock(fd, LOCK_EX | LOCK_NB))
		return 0;
	if (errno != EWOULDBLOCK)
		return -errno;
	if (holder && !fstat(fd, &st))
		*holder = flock_holder(st.st_dev, st.st_ino);
	return -EWOULDBLOCK;
}

int pw_lock_dir(const char *dir, bool *created, pid_t *holder)
{
	int fd, ret;

	*created = false;
	if (holder)
		*holder = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
		*created = errno != EEXIST;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	ret = lock_fd(fd, holder);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int pw_lock_file(const char *path, pid_t *holder)
{
	char buf[32];
	int fd, ret, n;

	if (holder)
		*holder = 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	ret = lock_fd(fd, holder);
	if (ret) {
		if (ret == -EWOULDBLOCK && holder && !*holder)
			*holder = pid_in_file(fd);
		close(fd);
		return ret;
	}
	/* For people (cat podwall.sock.lock): the lock itself is the flock. */
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n) {
		/* harmless: the flock is what counts */
	}
	return fd;
}

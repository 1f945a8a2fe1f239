// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* One agent per node: the locks of lib/sys/lock.c (flock per open file
 * description, so a second open in this process is refused like a second
 * agent), and the holder's PID found for the message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lock.h"

static void test_dir_lock(void **state)
{
	char tmpl[] = "/tmp/pw-lock-XXXXXX", dir[64];
	bool created;
	pid_t holder = -1;
	int fd, fd2;

	assert_non_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/pins", tmpl);
	fd = pw_lock_dir(dir, &created, &holder);
	assert_true(fd >= 0);
	assert_true(created);
	assert_int_equal(holder, 0);
	fd2 = pw_lock_dir(dir, &created, &holder);
	assert_int_equal(fd2, -EWOULDBLOCK);
	assert_false(created);
	assert_int_equal(holder, getpid());
	close(fd);
	/* released with its fd (and with the process) */
	fd2 = pw_lock_dir(dir, &created, &holder);
	assert_true(fd2 >= 0);
	close(fd2);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(rmdir(tmpl), 0);
}

static void test_file_lock(void **state)
{
	char tmpl[] = "/tmp/pw-lock-XXXXXX", path[64], buf[32] = "";
	pid_t holder = -1;
	FILE *fp;
	int fd, fd2;

	assert_non_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/podwall.sock.lock", tmpl);
	fd = pw_lock_file(path, &holder);
	assert_true(fd >= 0);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_int_equal(atoi(buf), getpid());
	fd2 = pw_lock_file(path, &holder);
	assert_int_equal(fd2, -EWOULDBLOCK);
	assert_int_equal(holder, getpid());
	close(fd);
	fd2 = pw_lock_file(path, &holder);
	assert_true(fd2 >= 0);
	close(fd2);
	/* a symlink planted at the lock path is not followed */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(pw_lock_file(path, &holder), -ELOOP);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(tmpl), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_lock),
		cmocka_unit_test(test_file_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

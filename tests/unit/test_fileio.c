// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The shared file helpers (fileio.h) and Kubernetes name validator (k8sname.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "unit/table.h"

#include "fileio.h"
#include "k8sname.h"

/* A temporary file holding n bytes of 'x' (with a NUL at nul_at if >= 0). */
static int tmp_with(size_t n, long nul_at)
{
	char path[] = "/tmp/pw-fileio-XXXXXX";
	int fd = mkstemp(path);
	char *b = malloc(n + 1);

	assert_true(fd >= 0);
	assert_non_null(b);
	unlink(path);
	memset(b, 'x', n);
	if (nul_at >= 0)
		b[nul_at] = '\0';
	assert_int_equal(pw_write_all(fd, b, n), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	free(b);
	return fd;
}

struct read_row {
	const char *name;
	size_t size, max;
	long nul_at;
	int want; /* 0 or -errno */
};

static const struct read_row read_rows[] = {
	{"empty file reads as an empty string", 0, 16, -1, 0},
	{"one byte", 1, 16, -1, 0},
	{"exactly max bytes is allowed", 16, 16, -1, 0},
	{"one byte over max is EFBIG", 17, 16, -1, -EFBIG},
	{"far over max is EFBIG", 100000, 4096, -1, -EFBIG},
	{"larger than the first buffer, under max", 100000, 1 << 20, -1, 0},
	{"exactly max across buffer growth", 8192, 8192, -1, 0},
	{"a NUL inside is kept and the length says so", 10, 16, 3, 0},
};

static void test_read(void **state)
{
	const struct read_row *r = *state;
	int fd = tmp_with(r->size, r->nul_at);
	char *buf = (char *)1;
	size_t len = 12345;
	int ret = pw_read_fd(fd, r->max, &buf, &len);

	close(fd);
	assert_int_equal(ret, r->want);
	if (ret) {
		assert_ptr_equal(buf, (char *)1); /* untouched on error */
		return;
	}
	assert_int_equal(len, r->size);
	assert_int_equal(buf[len], '\0');
	for (size_t i = 0; i < len; i++)
		assert_int_equal(buf[i], (long)i == r->nul_at ? '\0' : 'x');
	free(buf);
}

static void test_read_file_errors(void **state)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(pw_read_file("/nonexistent/podwall", 16, &buf, &len), -ENOENT);
	assert_int_equal(pw_read_file("/", 16, &buf, &len), -EISDIR);
	assert_null(buf);
}

static void test_sanitize(void **state)
{
	char s[] = "ok \x01\x1f\x7f\x80\xff~ end\n";

	pw_sanitize(s);
	assert_string_equal(s, "ok ?????~ end?");
}

struct name_row {
	const char *name, *s;
	int kind; /* 0 DNS label, 1 DNS subdomain, 2 label key, 3 label value */
	bool ok;
};

static const struct name_row name_rows[] = {
	{"label: kube-system", "kube-system", 0, true},
	{"label: one character", "a", 0, true},
	{"label: 63 characters", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 0, true},
	{"label: 64 characters", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 0, false},
	{"label: empty", "", 0, false},
	{"label: upper case", "Kube", 0, false},
	{"label: leading dash", "-a", 0, false},
	{"label: trailing dash", "a-", 0, false},
	{"label: a dot", "a.b", 0, false},
	{"subdomain: dots", "a.b-c.d", 1, true},
	{"subdomain: leading dot", ".a", 1, false},
	{"subdomain: trailing dot", "a.", 1, false},
	{"subdomain: two dots", "a..b", 1, false},
	{"subdomain: dash before dot", "a-.b", 1, false},
	{"subdomain: dash after dot", "a.-b", 1, false},
	{"subdomain: underscore", "a_b", 1, false},
	{"key: plain", "app", 2, true},
	{"key: prefixed", "example.com/App_1.x", 2, true},
	{"key: empty prefix", "/app", 2, false},
	{"key: bad prefix", "Example.com/app", 2, false},
	{"key: empty name", "example.com/", 2, false},
	{"key: name ends in a dot", "app.", 2, false},
	{"value: empty is allowed", "", 3, true},
	{"value: mixed", "v1.2_B-c", 3, true},
	{"value: starts with a dash", "-v", 3, false},
	{"value: a slash", "a/b", 3, false},
};

static void test_names(void **state)
{
	const struct name_row *r = *state;
	const char *why;

	switch (r->kind) {
	case 0:
		why = pw_k8s_dns1123_problem(r->s, false);
		break;
	case 1:
		why = pw_k8s_dns1123_problem(r->s, true);
		break;
	case 2:
		why = pw_k8s_label_key_problem(r->s);
		break;
	default:
		why = pw_k8s_label_name_problem(r->s, strlen(r->s), true);
		break;
	}
	if (r->ok && why)
		fail_msg("\"%s\" refused: %s", r->s, why);
	if (!r->ok && !why)
		fail_msg("\"%s\" accepted", r->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_file_errors),
		cmocka_unit_test(test_sanitize),
	};
	int failed = 0;

	failed += RUN_TABLE("read", test_read, read_rows);
	failed += RUN_TABLE("k8s names", test_names, name_rows);
	failed += cmocka_run_group_tests(tests, NULL, NULL);
	return failed ? 1 : 0;
}

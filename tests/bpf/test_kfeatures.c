// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tests/bpf/test_kfeatures.c: the kernel check the agent makes before it
 * loads anything. On this kernel every feature must probe as present (the
 * kernel tier runs this on 6.1 and 5.10 too); with a probe that says one is
 * missing, the check must fail with one line naming it and the version that
 * has it. Needs root (the probes load tiny programs); without it exits 77,
 * under CI=true fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <bpf/libbpf.h>

#include "kfeatures.h"

static void test_this_kernel_has_everything(void **state)
{
	char msg[256] = "unset";

	for (size_t i = 0; i < pw_n_kfeatures; i++) {
		int r = pw_kf_probe_libbpf(&pw_kfeatures[i]);

		printf("# %-55s (Linux %s): %s\n", pw_kfeatures[i].what, pw_kfeatures[i].since,
		       r == 1	? "yes"
		       : r == 0 ? "NO"
				: "cannot tell");
		if (r != 1)
			fail_msg("probe of %s: %d", pw_kfeatures[i].what, r);
	}
	assert_int_equal(pw_kernel_check(NULL, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
}

static int no_ringbuf(const struct pw_kfeature *f)
{
	return !(f->kind == PW_KF_MAP && f->id == BPF_MAP_TYPE_RINGBUF);
}

static int cannot_tell(const struct pw_kfeature *f)
{
	return -EPERM;
}

static void test_missing_feature_named(void **state)
{
	char msg[256];

	assert_int_equal(pw_kernel_check(no_ringbuf, msg, sizeof(msg)), -ENOTSUP);
	printf("# %s\n", msg);
	assert_non_null(strstr(msg, "lacks BPF ring buffer maps (BPF_MAP_TYPE_RINGBUF)"));
	assert_non_null(strstr(msg, "(Linux 5.8 and later have it)"));
	assert_null(strchr(msg, '\n'));
	/* a probe that cannot tell is not a missing feature */
	assert_int_equal(pw_kernel_check(cannot_tell, msg, sizeof(msg)), 0);
}

int main(void)
{
	const char *ci = getenv("CI");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_this_kernel_has_everything),
		cmocka_unit_test(test_missing_feature_named),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "\n*** test_kfeatures: CANNOT RUN: needs root (BPF probes) ***\n");
		if (ci && !strcmp(ci, "true")) {
			fprintf(stderr, "*** CI=true: this is a failure, not a skip ***\n");
			return 1;
		}
		return 77;
	}
	return cmocka_run_group_tests_name("kernel features podwall needs", tests, NULL, NULL);
}

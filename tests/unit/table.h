/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Table-driven cmocka: every row of a table runs as its own named test. */
#ifndef PODWALL_TEST_TABLE_H
#define PODWALL_TEST_TABLE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* Every row struct starts with its name. */
static inline const char *row_name(const void *row)
{
	return *(const char *const *)row;
}

/* Run one table: each row its own cmocka test, named after the row, with the
 * row as the test's state. Returns the number of failures. */
static inline int run_table(const char *group, CMUnitTestFunction fn, const void *rows,
			    size_t row_size, size_t n)
{
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int failed;

	if (!tests)
		return 1;
	for (size_t i = 0; i < n; i++) {
		const void *row = (const char *)rows + i * row_size;

		tests[i].name = row_name(row);
		tests[i].test_func = fn;
		tests[i].initial_state = (void *)row;
	}
	failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(tests);
	return failed;
}

#define RUN_TABLE(group, fn, rows)                                                                 \
	run_table(group, fn, rows, sizeof((rows)[0]), sizeof(rows) / sizeof((rows)[0]))

#endif

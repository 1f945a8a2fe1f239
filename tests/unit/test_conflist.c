// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Chaining podwall-cni into a conflist. testdata/k3s-flannel.conflist is the
 * file k3s writes to /var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist
 * (its template, byte for byte). Test data is read from $PW_TESTDATA, by
 * default tests/unit/testdata (run from the repository root).
 */
#include <dirent.h>
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
#include <jansson.h>

#include "conflist.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s (run from the repo root or set PW_TESTDATA)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static char *k3s_conflist(void)
{
	const char *dir = getenv("PW_TESTDATA");
	char path[512];

	snprintf(path, sizeof(path), "%s/k3s-flannel.conflist", dir ? dir : "tests/unit/testdata");
	return slurp(path);
}

static void assert_same_json(const char *a, const char *b)
{
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);

	assert_non_null(ja);
	assert_non_null(jb);
	if (!json_equal(ja, jb))
		fail_msg("JSON differs:\n%s\n%s", a, b);
	json_decref(ja);
	json_decref(jb);
}

static void test_chain_k3s(void **state)
{
	char *in = k3s_conflist(), *out, err[256] = "";
	json_t *orig = json_loads(in, 0, NULL), *got, *plugins, *last;

	assert_non_null(orig);
	assert_int_equal(pw_conflist_chain(in, &out, err, sizeof(err)), 0);
	got = json_loads(out, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(got);
	assert_int_equal(out[strlen(out) - 1], '\n');

	/* Everything else kept: name, cniVersion, flannel, portmap, bandwidth. */
	assert_string_equal(json_string_value(json_object_get(got, "name")), "cbr0");
	assert_string_equal(json_string_value(json_object_get(got, "cniVersion")), "1.0.0");
	assert_int_equal(json_object_size(got), json_object_size(orig));
	plugins = json_object_get(got, "plugins");
	assert_int_equal(json_array_size(plugins), 4);
	for (size_t i = 0; i < 3; i++)
		assert_true(json_equal(json_array_get(plugins, i),
				       json_array_get(json_object_get(orig, "plugins"), i)));
	assert_true(json_boolean_value(json_object_get(
		json_object_get(json_array_get(plugins, 0), "delegate"), "hairpinMode")));

	/* podwall last, nothing but its type. */
	last = json_array_get(plugins, 3);
	assert_string_equal(json_string_value(json_object_get(last, "type")), "podwall-cni");
	assert_int_equal(json_object_size(last), 1);

	json_decref(got);
	json_decref(orig);
	free(out);
	free(in);
}

static void test_chain_socket(void **state)
{
	char *in = k3s_conflist(), *a, *b, *c, err[256];
	json_t *j, *last;

	assert_int_equal(
		pw_conflist_chain_sock(in, "/run/podwall/podwall.sock", &a, err, sizeof(err)), 0);
	j = json_loads(a, 0, NULL);
	last = json_array_get(json_object_get(j, "plugins"), 3);
	assert_string_equal(json_string_value(json_object_get(last, "socket")),
			    "/run/podwall/podwall.sock");
	json_decref(j);

	/* A new socket path replaces the old one in place; no second entry. */
	assert_int_equal(pw_conflist_chain_sock(a, "/var/run/pw.sock", &b, err, sizeof(err)), 0);
	j = json_loads(b, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "plugins")), 4);
	last = json_array_get(json_object_get(j, "plugins"), 3);
	assert_string_equal(json_string_value(json_object_get(last, "socket")), "/var/run/pw.sock");
	json_decref(j);

	/* No socket: back to the plain entry, same bytes as a plain chain. */
	assert_int_equal(pw_conflist_chain(b, &c, err, sizeof(err)), 0);
	free(b);
	assert_int_equal(pw_conflist_chain(in, &b, err, sizeof(err)), 0);
	assert_string_equal(b, c);
	free(b);

	assert_int_equal(pw_conflist_chain_sock(in, "run/pw.sock", &b, err, sizeof(err)), -EINVAL);
	assert_null(b);
	assert_non_null(strstr(err, "socket"));
	free(a);
	free(c);
	free(in);
}

static void test_chain_idempotent(void **state)
{
	char *in = k3s_conflist(), *once, *twice, *thrice, err[256];

	assert_int_equal(pw_conflist_chain(in, &once, err, sizeof(err)), 0);
	assert_int_equal(pw_conflist_chain(once, &twice, err, sizeof(err)), 0);
	assert_string_equal(once, twice);
	free(twice);

	assert_int_equal(pw_conflist_chain_sock(in, "/run/x.sock", &twice, err, sizeof(err)), 0);
	assert_int_equal(pw_conflist_chain_sock(twice, "/run/x.sock", &thrice, err, sizeof(err)),
			 0);
	assert_string_equal(twice, thrice);
	free(once);
	free(twice);
	free(thrice);
	free(in);
}

static void test_unchain(void **state)
{
	char *in = k3s_conflist(), *chained, *back, *again, err[256];

	assert_int_equal(pw_conflist_chain_sock(in, "/run/x.sock", &chained, err, sizeof(err)), 0);
	assert_int_equal(pw_conflist_unchain(chained, &back, err, sizeof(err)), 0);
	assert_same_json(back, in);
	/* Unchaining what is not chained changes nothing, and is idempotent. */
	assert_int_equal(pw_conflist_unchain(back, &again, err, sizeof(err)), 0);
	assert_string_equal(again, back);
	free(again);
	assert_int_equal(pw_conflist_unchain(in, &again, err, sizeof(err)), 0);
	assert_same_json(again, in);
	free(again);
	free(back);
	free(chained);
	free(in);

	/* Every podwall entry goes, wherever it is; the others keep their order. */
	assert_int_equal(
		pw_conflist_unchain("{\"name\":\"n\",\"plugins\":[{\"type\":\"podwall-cni\"},"
				    "{\"type\":\"bridge\"},{\"type\":\"podwall-cni\","
				    "\"socket\":\"/s\"},{\"type\":\"portmap\"}]}",
				    &back, err, sizeof(err)),
		0);
	assert_same_json(back, "{\"name\":\"n\",\"plugins\":[{\"type\":\"bridge\"},"
			       "{\"type\":\"portmap\"}]}");
	free(back);
}

static void test_chain_keeps_unknown_fields(void **state)
{
	const char *in = "{\"cniVersion\":\"0.4.0\",\"name\":\"x\",\"disableCheck\":true,"
			 "\"plugins\":[{\"type\":\"bridge\",\"mtu\":1450,\"ipam\":{\"type\":"
			 "\"host-local\",\"ranges\":[[{\"subnet\":\"10.42.0.0/24\"}]]}}],"
			 "\"x-vendor\":{\"a\":[1,2.5,null]}}";
	char *out, *back, err[256];

	assert_int_equal(pw_conflist_chain(in, &out, err, sizeof(err)), 0);
	assert_int_equal(pw_conflist_unchain(out, &back, err, sizeof(err)), 0);
	assert_same_json(back, in);
	free(out);
	free(back);
}

static void test_refuses_garbage(void **state)
{
	static const struct {
		const char *in;
		const char *why;
	} rows[] = {
		{"", "not valid JSON"},
		{"{\"plugins\":[", "not valid JSON"},
		{"[]", "not a JSON object"},
		{"\"plugins\"", "not valid JSON"}, /* jansson refuses bare strings by default */
		{"{}", "plugins: missing"},
		{"{\"name\":\"cbr0\",\"type\":\"bridge\"}", "plugins: missing"},
		{"{\"plugins\":{}}", "plugins: not a non-empty array"},
		{"{\"plugins\":[]}", "plugins: not a non-empty array"},
		{"{\"plugins\":[\"flannel\"]}", "plugins[0]: not an object"},
		{"{\"plugins\":[{\"type\":\"flannel\"},{\"delegate\":{}}]}",
		 "plugins[1]: not an object"},
		{"{\"plugins\":[{\"type\":\"a\"}],\"plugins\":[{\"type\":\"b\"}]}",
		 "not valid JSON"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *out = (char *)1, err[256] = "";

		assert_int_equal(pw_conflist_chain(rows[i].in, &out, err, sizeof(err)), -EINVAL);
		assert_null(out);
		if (!strstr(err, rows[i].why))
			fail_msg("row %zu: \"%s\" lacks \"%s\"", i, err, rows[i].why);
		out = (char *)1;
		assert_int_equal(pw_conflist_unchain(rows[i].in, &out, err, sizeof(err)), -EINVAL);
		assert_null(out);
	}
}

/* ---- files ---- */

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *data, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(data, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_chain_file(void **state)
{
	char dir[] = "/tmp/pw-conflist-test.XXXXXX", path[128], err[256] = "";
	char *in = k3s_conflist(), *want, *got;
	struct stat st1, st2;
	bool changed = false;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/10-flannel.conflist", dir);
	write_file(path, in, 0640);

	assert_int_equal(pw_conflist_chain_file(path, "/run/podwall/podwall.sock", &changed, err,
						sizeof(err)),
			 0);
	assert_true(changed);
	assert_int_equal(
		pw_conflist_chain_sock(in, "/run/podwall/podwall.sock", &want, err, sizeof(err)),
		0);
	got = slurp(path);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 07777, 0640);
	assert_int_equal(count_entries(dir), 1); /* no temporary file left behind */

	/* Already chained: the file is not touched (same inode). */
	assert_int_equal(pw_conflist_chain_file(path, "/run/podwall/podwall.sock", &changed, err,
						sizeof(err)),
			 0);
	assert_false(changed);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);

	assert_int_equal(pw_conflist_unchain_file(path, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	got = slurp(path);
	assert_same_json(got, in);
	free(got);
	assert_int_equal(count_entries(dir), 1);

	/* Garbage is refused and left exactly as it was. */
	write_file(path, "{\"plugins\":", 0600);
	assert_int_equal(pw_conflist_chain_file(path, NULL, &changed, err, sizeof(err)), -EINVAL);
	assert_false(changed);
	assert_non_null(strstr(err, path));
	got = slurp(path);
	assert_string_equal(got, "{\"plugins\":");
	free(got);
	assert_int_equal(count_entries(dir), 1);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(pw_conflist_chain_file(path, NULL, NULL, err, sizeof(err)), -ENOENT);
	assert_int_equal(pw_conflist_chain_file(dir, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(rmdir(dir), 0);
	free(want);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_k3s),
		cmocka_unit_test(test_chain_socket),
		cmocka_unit_test(test_chain_idempotent),
		cmocka_unit_test(test_unchain),
		cmocka_unit_test(test_chain_keeps_unknown_fields),
		cmocka_unit_test(test_refuses_garbage),
		cmocka_unit_test(test_chain_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

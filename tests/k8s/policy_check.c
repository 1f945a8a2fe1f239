// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Feed policy files through the agent's own parser (pw_policy_file_parse), so
 * that tests/k8s/validate.sh can check that the CRD schema and the agent agree.
 *
 *   policy_check FILE...
 *
 * One JSON line per file: {"file": F, "ok": true, "policies": N} or
 * {"file": F, "ok": false, "error": "..."}. Exit 0 once every file was read (a
 * refused policy is a result, not a failure), 2 on usage or I/O errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy.h"

static int slurp(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n = 0, got;
	char *b = NULL, *nb;

	if (!f)
		return -errno;
	do {
		if (n + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				fclose(f);
				return -ENOMEM;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
	} while (got);
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

int main(int argc, char **argv)
{
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: policy_check FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct pw_policy *pols = NULL;
		char err[PW_ERR_LEN] = "";
		size_t len = 0, n = 0;
		char *buf = NULL, *line;
		json_t *out;
		int ret;

		ret = slurp(argv[i], &buf, &len);
		if (ret) {
			fprintf(stderr, "policy_check: %s: %s\n", argv[i], strerror(-ret));
			status = 2;
			continue;
		}
		ret = pw_policy_file_parse(buf, len, argv[i], &pols, &n, err, sizeof(err));
		if (ret)
			out = json_pack("{s:s,s:b,s:s}", "file", argv[i], "ok", 0, "error", err);
		else
			out = json_pack("{s:s,s:b,s:I}", "file", argv[i], "ok", 1, "policies",
					(json_int_t)n);
		line = json_dumps(out, JSON_COMPACT);
		puts(line ? line : "{}");
		free(line);
		json_decref(out);
		pw_policies_free(pols, n);
		free(buf);
	}
	return status;
}

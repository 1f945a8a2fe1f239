// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * verifier_stats OBJECT: load every program of a BPF object into this kernel
 * (maps created, nothing pinned, nothing attached) with the verifier's
 * statistics on (log level 4, BPF_LOG_STATS) and print, per program, the
 * instructions the verifier processed (of its 1,000,000 limit) and how long it
 * took and the stack depth of each of its functions (main+subprogs, bytes;
 * the verifier's limit: 512 along any call chain); then "total N". On
 * failure: the end of the failing program's log.
 * Exit 0 when everything loaded. Used by the kernel tier on each kernel.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#define LOG_SZ (16u << 20)

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static long stat_of(const char *log, const char *what)
{
	const char *p = strstr(log, what);

	return p ? strtol(p + strlen(what), NULL, 10) : -1;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	struct bpf_map *m;
	struct timespec t0, t1;
	long total = 0;
	int n = 0, err;

	if (argc != 2) {
		fprintf(stderr, "usage: verifier_stats OBJECT.bpf.o\n");
		return 2;
	}
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "verifier_stats: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_map(m, obj) bpf_map__set_pin_path(m, NULL);
	bpf_object__for_each_program(p, obj)
	{
		char *buf = calloc(1, LOG_SZ);

		if (!buf)
			return 1;
		bpf_program__set_log_buf(p, buf, LOG_SZ);
		bpf_program__set_log_level(p, 4);
		n++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = bpf_object__load(obj);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	bpf_object__for_each_program(p, obj)
	{
		size_t sz = 0;
		const char *log = bpf_program__log_buf(p, &sz);
		long insns = log ? stat_of(log, "processed ") : -1;

		if (insns > 0)
			total += insns;
		const char *sd = log ? strstr(log, "stack depth ") : NULL;

		printf("%-16s %s insns processed %ld, verification %ld us, stack depth %.*s\n",
		       bpf_program__name(p), bpf_program__fd(p) >= 0 ? "loaded" : "NOT LOADED",
		       insns, log ? stat_of(log, "verification time ") : -1,
		       sd ? (int)strcspn(sd + 12, "\n") : 1, sd ? sd + 12 : "?");
		if (err && log && *log) {
			size_t len = strlen(log);

			printf("--- end of the verifier log of %s:\n%s\n", bpf_program__name(p),
			       log + (len > 4000 ? len - 4000 : 0));
		}
	}
	printf("total %ld insns processed (%d programs, limit 1000000 each), load %.1f s\n", total,
	       n, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (err)
		printf("LOAD FAILED: %s\n", strerror(-err));
	bpf_object__close(obj);
	return err ? 1 : 0;
}

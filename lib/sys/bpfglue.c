// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <zlib.h>

#include "bpfglue.h"
#include "log.h"
#include "podwall.skel.h"

/* podwall's tc filters: fixed handle and priority so a restart replaces them. */
#define PW_TC_HANDLE   0x9a11
#define PW_TC_PRIORITY 0x9a11

static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (level == LIBBPF_DEBUG && !libbpf_verbose)
		return 0;
	if (level == LIBBPF_INFO && !libbpf_verbose)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* bpf_tc_hook_create() on an existing clsact: expected, not a warning. */
	if (strstr(buf, "Exclusivity flag on") && !libbpf_verbose)
		return 0;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	pw_log(level == LIBBPF_WARN ? PW_LOG_WARN : PW_LOG_DEBUG, "libbpf: %s", buf);
	return 0;
}

void pw_bpf_setup_logging(bool verbose)
{
	libbpf_verbose = verbose;
	libbpf_set_print(libbpf_print);
}

uint64_t pw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int check_bpffs(const char *pin_dir)
{
	char parent[256];
	struct statfs st;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &st) || st.f_type != BPF_FS_MAGIC) {
		pw_err("%s is not on a bpf filesystem: is bpffs mounted at /sys/fs/bpf? "
		       "(mount -t bpf bpf /sys/fs/bpf)",
		       parent);
		return -ENOTDIR;
	}
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		pw_err("cannot create pin directory %s: %s", pin_dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* A map pinned by another podwall version cannot be reused: say which and what
 * to do, before libbpf fails the whole load. */
static int check_pinned(struct bpf_object *obj, const char *pin_dir)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		char path[512];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* not pinned yet: created at load */
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.type != (uint32_t)bpf_map__type(map) ||
		    info.key_size != bpf_map__key_size(map) ||
		    info.value_size != bpf_map__value_size(map) ||
		    (bpf_map__max_entries(map) && /* 0: sized at load (one per CPU) */
		     info.max_entries != bpf_map__max_entries(map)) ||
		    info.map_flags != bpf_map__map_flags(map)) {
			pw_err("%s was pinned by another podwall version (type %u, key %u B, value "
			       "%u B, %u entries; this one needs type %u, key %u B, value %u B, %u "
			       "entries). Stop the agent, remove %s (enforcement stops until the "
			       "agent is back) and start it again",
			       path, info.type, info.key_size, info.value_size, info.max_entries,
			       bpf_map__type(map), bpf_map__key_size(map), bpf_map__value_size(map),
			       bpf_map__max_entries(map), pin_dir);
			close(fd);
			return -EEXIST;
		}
		close(fd);
	}
	return 0;
}

int pw_bpf_open(struct pw_bpf *b, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct podwall_bpf *skel;
	int err;

	memset(b, 0, sizeof(*b));
	snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", pin_dir);
	err = check_bpffs(pin_dir);
	if (err)
		return err;
	skel = podwall_bpf__open_opts(&opts);
	if (!skel) {
		err = -errno;
		pw_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	err = check_pinned(skel->obj, pin_dir);
	if (err) {
		podwall_bpf__destroy(skel);
		return err;
	}
	err = podwall_bpf__load(skel);
	if (err) {
		pw_err("cannot load the BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		podwall_bpf__destroy(skel);
		return err;
	}
	b->skel = skel;
#define PW_MAP_FD(name, max, shown) b->name##_fd = bpf_map__fd(skel->maps.pw_##name);
	PW_MAPS(PW_MAP_FD)
#undef PW_MAP_FD
	b->egress_prog_fd = bpf_program__fd(skel->progs.pod_egress);
	b->ingress_prog_fd = bpf_program__fd(skel->progs.pod_ingress);
	return 0;
}

void pw_bpf_close(struct pw_bpf *b)
{
	/* Maps stay pinned and programs stay attached: enforcement continues. */
	podwall_bpf__destroy(b->skel);
	b->skel = NULL;
}

static int attach_one(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PW_TC_HANDLE, .priority = PW_TC_PRIORITY,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

int pw_bpf_attach(struct pw_bpf *b, int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err;

	/* One clsact qdisc serves both hooks; it may exist already (EEXIST). */
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pw_err("cannot create the clsact qdisc on ifindex %d: %s", ifindex, strerror(-err));
		return err;
	}

	/* Egress first: a pod's packets are governed from the first one. */
	err = attach_one(ifindex, BPF_TC_INGRESS, b->egress_prog_fd);
	if (err) {
		pw_err("cannot attach pod_egress to ifindex %d: %s", ifindex, strerror(-err));
		return err;
	}
	err = attach_one(ifindex, BPF_TC_EGRESS, b->ingress_prog_fd);
	if (err) {
		pw_err("cannot attach pod_ingress to ifindex %d: %s", ifindex, strerror(-err));
		return err;
	}
	return 0;
}

static int detach_one(int ifindex, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PW_TC_HANDLE, .priority = PW_TC_PRIORITY);
	int err = bpf_tc_detach(&hook, &opts);

	return err == -ENOENT || err == -ENODEV || err == -EINVAL ? 0 : err;
}

int pw_bpf_detach(struct pw_bpf *b, int ifindex)
{
	int e1 = detach_one(ifindex, BPF_TC_INGRESS);
	int e2 = detach_one(ifindex, BPF_TC_EGRESS);

	return e1 ? e1 : e2;
}

static int query_one(int ifindex, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PW_TC_HANDLE, .priority = PW_TC_PRIORITY);
	int err = bpf_tc_query(&hook, &opts);

	if (!err)
		return 1;
	return err == -ENOENT || err == -EINVAL ? 0 : err;
}

int pw_bpf_attached(int ifindex)
{
	int a = query_one(ifindex, BPF_TC_INGRESS), e;

	if (a <= 0)
		return a;
	e = query_one(ifindex, BPF_TC_EGRESS);
	return e;
}

int pw_bpf_counters(struct pw_bpf *b, uint64_t out[PW_C_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < PW_C_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(b->counters_fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

int pw_bpf_ep_stats(struct pw_bpf *b, uint32_t ep_id, struct pw_ep_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pw_ep_stats *vals;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(b->ep_stats_fd, &ep_id, vals)) {
		ret = -errno;
		goto out;
	}
	for (int c = 0; c < ncpu; c++) {
		out->pass += vals[c].pass;
		out->audit += vals[c].audit;
		for (int r = 0; r < PW_R_MAX; r++)
			out->drop[r] += vals[c].drop[r];
	}
out:
	free(vals);
	return ret;
}

int pw_bpf_config_get(struct pw_bpf *b, struct pw_config *cfg)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(b->config_fd, &zero, cfg) ? -errno : 0;
}

int pw_bpf_config_set(struct pw_bpf *b, const struct pw_config *cfg)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(b->config_fd, &zero, cfg, BPF_ANY) ? -errno : 0;
}

#define SWEEP_BATCH 1024

struct victims {
	uint8_t *v;
	size_t n, cap, ksz;
};

static int victim_add(struct victims *vs, const void *key)
{
	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? vs->cap * 2 : 64;
		uint8_t *nv = realloc(vs->v, cap * vs->ksz);

		if (!nv)
			return -ENOMEM;
		vs->v = nv;
		vs->cap = cap;
	}
	memcpy(vs->v + vs->n++ * vs->ksz, key, vs->ksz);
	return 0;
}

/* Test knob: act as a kernel without batch map operations. */
bool pw_bpf_no_batch;

/* What a kernel does for a map type without batch ops (5.10's LPM tries; 6.1
 * has them): -ENOTSUPP, and libbpf hands back the caller's count unchanged. */
#define ENOTSUPP_KERNEL 524

static int lookup_batch(int fd, void *in, void *out, void *keys, void *vals, __u32 *count)
{
	if (pw_bpf_no_batch) {
		errno = ENOTSUPP_KERNEL;
		return -ENOTSUPP_KERNEL;
	}
	return bpf_map_lookup_batch(fd, in, out, keys, vals, count, NULL);
}

static int delete_batch(int fd, const void *keys, __u32 *count)
{
	if (pw_bpf_no_batch) {
		errno = ENOTSUPP_KERNEL;
		return -ENOTSUPP_KERNEL;
	}
	return bpf_map_delete_batch(fd, keys, count, NULL);
}

/* The whole map, SWEEP_BATCH entries a syscall (hash and array maps). Returns
 * the number seen, -EOPNOTSUPP if the first call fails (no batch lookup for
 * this map on this kernel: nothing visited yet, the caller walks key by key).
 * The count of a failed call is only read where the kernel defines it: at the
 * end of the map (ENOENT). */
static long sweep_batched(int fd, const struct bpf_map_info *info, pw_map_visit_fn fn, void *ctx,
			  struct victims *vs)
{
	uint8_t *keys = calloc(SWEEP_BATCH, info->key_size);
	uint8_t *vals = calloc(SWEEP_BATCH, info->value_size ? info->value_size : 1);
	/* The cursor is opaque: a bucket index for hash maps, a whole key for
	 * maps using the generic batch code. Key-sized, or larger. */
	size_t tsz = info->key_size > 8 ? info->key_size : 8;
	uint8_t *token_in = calloc(1, tsz), *token_out = calloc(1, tsz);
	bool first = true, done = false;
	long seen = 0;

	if (!keys || !vals || !token_in || !token_out) {
		seen = -ENOMEM;
		goto out;
	}
	while (!done) {
		__u32 count = SWEEP_BATCH;
		int err = lookup_batch(fd, first ? NULL : token_in, token_out, keys, vals, &count);

		if (err) {
			if (errno != ENOENT) {
				seen = first ? -EOPNOTSUPP : -errno;
				goto out;
			}
			done = true; /* the last batch (count may still be > 0) */
		}
		if (count > SWEEP_BATCH) {
			seen = -EIO;
			goto out;
		}
		first = false;
		memcpy(token_in, token_out, tsz);
		for (__u32 i = 0; i < count; i++) {
			seen++;
			if (fn && fn(keys + (size_t)i * info->key_size,
				     vals + (size_t)i * info->value_size, ctx) &&
			    victim_add(vs, keys + (size_t)i * info->key_size)) {
				seen = -ENOMEM;
				goto out;
			}
		}
		pw_bpf_progress();
	}
out:
	free(keys);
	free(vals);
	free(token_in);
	free(token_out);
	return seen;
}

static long sweep_by_key(int fd, const struct bpf_map_info *info, pw_map_visit_fn fn, void *ctx,
			 struct victims *vs)
{
	uint8_t *key = calloc(1, info->key_size), *next = calloc(1, info->key_size);
	uint8_t *val = calloc(1, info->value_size ? info->value_size : 1);
	long seen = 0;
	int err;

	if (!key || !next || !val) {
		seen = -ENOMEM;
		goto out;
	}
	err = bpf_map_get_next_key(fd, NULL, next);
	while (!err) {
		memcpy(key, next, info->key_size);
		if (!(++seen & 4095))
			pw_bpf_progress();
		if (fn && fn(key, bpf_map_lookup_elem(fd, key, val) ? NULL : val, ctx) &&
		    victim_add(vs, key)) {
			seen = -ENOMEM;
			goto out;
		}
		err = bpf_map_get_next_key(fd, key, next);
	}
out:
	free(key);
	free(next);
	free(val);
	return seen;
}

/* Delete the victims, a batch a syscall where the kernel can (a million
 * orphans take seconds one by one). Only a batch call that succeeded for every
 * key it was given is believed: after a failure libbpf may hand back the
 * caller's own count (no batch op: 5.10's LPM tries), so from the first
 * failure on every key is deleted by itself. Returns the keys gone afterwards
 * (deleted now, or already gone: ENOENT). */
static long delete_victims(int fd, const struct victims *vs)
{
	bool batch = true;
	long gone = 0;

	for (size_t i = 0; i < vs->n;) {
		const uint8_t *key = vs->v + i * vs->ksz;

		if (batch) {
			__u32 want = vs->n - i < SWEEP_BATCH ? (__u32)(vs->n - i) : SWEEP_BATCH;
			__u32 count = want;

			if (!delete_batch(fd, key, &count) && count == want) {
				i += want;
				gone += want;
				pw_bpf_progress();
				continue;
			}
			batch = false; /* from key i on, one by one */
		}
		if (!bpf_map_delete_elem(fd, key) || errno == ENOENT)
			gone++;
		if (!(++i & 4095))
			pw_bpf_progress();
	}
	return gone;
}

long pw_bpf_map_sweep(int fd, pw_map_visit_fn fn, void *ctx, long *deleted)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	struct victims vs = {0};
	long seen;

	if (deleted)
		*deleted = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		return -EINVAL; /* values are per CPU: not for this helper */
	vs.ksz = info.key_size;
	seen = sweep_batched(fd, &info, fn, ctx, &vs);
	if (seen == -EOPNOTSUPP)
		seen = sweep_by_key(fd, &info, fn, ctx, &vs);
	/* Deleting while walking would restart hash iteration: delete after. */
	if (seen >= 0 && vs.n) {
		long gone = delete_victims(fd, &vs);

		if (deleted)
			*deleted = gone;
	}
	free(vs.v);
	return seen;
}

/* Set by the agent: called while long walks make progress (heartbeat). */
void (*pw_bpf_progress_hook)(void);

void pw_bpf_progress(void)
{
	if (pw_bpf_progress_hook)
		pw_bpf_progress_hook();
}

long pw_bpf_map_count(int fd)
{
	return pw_bpf_map_sweep(fd, NULL, NULL, NULL);
}

const char *pw_bpf_object_id(char *buf, size_t len)
{
	size_t sz = 0;
	const void *elf = podwall_bpf__elf_bytes(&sz);

	snprintf(buf, len, "crc32:%08lx/%zu", crc32(0L, elf, (uInt)sz), sz);
	return buf;
}

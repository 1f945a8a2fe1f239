// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <ldns/sha2.h>

#include "bpfglue.h"
#include "log.h"
#include "pins.h"
#include "podwall.skel.h"
#include "tc.h"

/* podwall's tc filters (legacy path): a fixed handle, and priority 1, so that
 * no filter can have a lower one; a restart replaces them in place. */
#define PW_TC_HANDLE   0x9a11
#define PW_TC_PRIORITY 1

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

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* ---- the typed map interface (mapops.h) over the bpf() syscalls ---- */

static int map_fd(struct pw_maps *m, enum pw_map_id id)
{
	const struct pw_bpf *b = m->ctx;

	return id < PW_MAPID_COUNT ? b->fd[id] : -1;
}

static int maps_lookup(struct pw_maps *m, enum pw_map_id id, const void *key, void *value)
{
	const struct pw_bpf *b = m->ctx;

	if (id >= PW_MAPID_COUNT)
		return -EINVAL;
	if (b->percpu[id])
		return -EOPNOTSUPP; /* one value per CPU: not for this interface */
	return bpf_map_lookup_elem(map_fd(m, id), key, value) ? -errno : 0;
}

static int maps_update(struct pw_maps *m, enum pw_map_id id, const void *key, const void *value,
		       uint64_t flags)
{
	const struct pw_bpf *b = m->ctx;
	int ncpu, ret;
	size_t vsz;
	char *vals;

	if (id >= PW_MAPID_COUNT)
		return -EINVAL;
	if (!b->percpu[id])
		return bpf_map_update_elem(map_fd(m, id), key, value, flags) ? -errno : 0;
	/* per CPU: the same value on every CPU, each in an 8-byte aligned slot */
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vsz = (pw_map_value_size[id] + 7) & ~(size_t)7;
	vals = calloc((size_t)ncpu, vsz);
	if (!vals)
		return -ENOMEM;
	for (int i = 0; i < ncpu; i++)
		memcpy(vals + (size_t)i * vsz, value, pw_map_value_size[id]);
	ret = bpf_map_update_elem(map_fd(m, id), key, vals, flags) ? -errno : 0;
	free(vals);
	return ret;
}

static int maps_remove(struct pw_maps *m, enum pw_map_id id, const void *key)
{
	return bpf_map_delete_elem(map_fd(m, id), key) ? -errno : 0;
}

static long maps_sweep(struct pw_maps *m, enum pw_map_id id, pw_map_visit_fn fn, void *ctx,
		       long *deleted)
{
	return pw_bpf_map_sweep(map_fd(m, id), fn, ctx, deleted);
}

static const struct pw_maps_ops bpf_maps_ops = {
	.lookup = maps_lookup,
	.update = maps_update,
	.remove = maps_remove,
	.sweep = maps_sweep,
};

/* Each map's fd, and a check that the object's key and value sizes are the
 * contract's (a ring buffer has none). */
static int maps_setup(struct pw_bpf *b, struct podwall_bpf *skel)
{
	const struct bpf_map *map;

#define PW_MAP_FD(name, key, value, max, shown)                                                    \
	map = skel->maps.pw_##name;                                                                \
	b->fd[PW_MAPID_##name] = b->name##_fd = bpf_map__fd(map);                                  \
	b->percpu[PW_MAPID_##name] = bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY ||            \
				     bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH;               \
	if (bpf_map__key_size(map) && (bpf_map__key_size(map) != sizeof(key) ||                    \
				       bpf_map__value_size(map) != sizeof(value))) {               \
		pw_err("%s: key %u B, value %u B in the BPF object, but %zu B and %zu B in "       \
		       "podwall/maps.h: rebuild both from the same tree",                          \
		       PW_MAP_NAME(name), bpf_map__key_size(map), bpf_map__value_size(map),        \
		       sizeof(key), sizeof(value));                                                \
		return -EPROTO;                                                                    \
	}
	PW_MAPS(PW_MAP_FD)
#undef PW_MAP_FD
	b->maps.ops = &bpf_maps_ops;
	b->maps.ctx = b;
	return 0;
}

int pw_bpf_open(struct pw_bpf *b, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct podwall_bpf *skel;
	char path[300];
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
	err = pw_pins_plan(skel->obj, pin_dir, &b->pins);
	if (err) {
		podwall_bpf__destroy(skel);
		return err;
	}
	if (b->pins.upgrade)
		pw_info("map layout %s: upgrading from the maps pinned in %s: new %s (in %s until "
			"every veth runs this agent's programs), %d other layout director%s, %d "
			"pin(s) no map has; the programs attached keep enforcing meanwhile",
			b->pins.layout, pin_dir, b->pins.staged ? b->pins.staged_names : "none",
			b->pins.staging, b->pins.old_dirs, b->pins.old_dirs == 1 ? "y" : "ies",
			b->pins.old_maps);
	else
		pw_info("map layout %s: the maps pinned in %s are reused", b->pins.layout, pin_dir);
	err = podwall_bpf__load(skel);
	if (err) {
		pw_err("cannot load the BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		podwall_bpf__destroy(skel);
		return err;
	}
	err = maps_setup(b, skel);
	if (err) {
		podwall_bpf__destroy(skel);
		return err;
	}
	b->skel = skel;
	b->egress_prog_fd = bpf_program__fd(skel->progs.pod_egress);
	b->ingress_prog_fd = bpf_program__fd(skel->progs.pod_ingress);
	b->egress_prog_id = prog_id(b->egress_prog_fd);
	b->ingress_prog_id = prog_id(b->ingress_prog_fd);
	snprintf(path, sizeof(path), "%s/links", pin_dir);
	if (mkdir(path, 0700) && errno != EEXIST)
		pw_warn("cannot create %s: %s", path, strerror(errno));
	return pw_bpf_set_hook(b, PW_HOOK_AUTO);
}

void pw_bpf_close(struct pw_bpf *b)
{
	/* Maps stay pinned and programs stay attached: enforcement continues. */
	podwall_bpf__destroy(b->skel);
	b->skel = NULL;
	podwall_bpf__destroy(b->clone);
	b->clone = NULL;
}

/* ------------------------------------------------------------ the hooks */

/* tcx (6.6+): the UAPI headers of older distributions lack these. */
#ifndef BPF_F_BEFORE
#define BPF_F_BEFORE (1U << 3)
#endif
#define PW_BPF_TCX_INGRESS   46 /* enum bpf_attach_type BPF_TCX_INGRESS */
#define PW_BPF_TCX_EGRESS    47
#define PW_BPF_LINK_TYPE_TCX 11

/* The BPF_LINK_CREATE and BPF_PROG_QUERY attributes with tcx's fields, as in
 * the 6.6 UAPI (libbpf 1.1 has no wrapper). */
union pw_tcx_attr {
	struct {
		__u32 prog_fd, target_ifindex, attach_type, flags;
		__u32 relative_fd, : 32;
		__u64 expected_revision;
	} link;
	struct {
		__u32 target_ifindex, attach_type, query_flags, attach_flags;
		__u64 prog_ids;
		__u32 count, : 32;
		__u64 prog_attach_flags, link_ids, link_attach_flags, revision;
	} query;
	__u8 pad[128];
};

/* bpf_link_info with the tcx member (offset 16). */
struct pw_tcx_link_info {
	__u32 type, id, prog_id, : 32;
	__u32 ifindex, attach_type;
	__u8 pad[48];
};

#define PW_TCX_MAX 64

static const char *const hook_name[2] = {"ingress", "egress"};
static const __u32 tcx_type[2] = {PW_BPF_TCX_INGRESS, PW_BPF_TCX_EGRESS};
static const __u32 tc_parent[2] = {TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
				   TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)};

static int tcx_query(int ifindex, int hook, __u32 *prog_ids, __u32 *link_ids, __u32 *count)
{
	union pw_tcx_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_ifindex = (__u32)ifindex;
	attr.query.attach_type = tcx_type[hook];
	attr.query.prog_ids = (__u64)(uintptr_t)prog_ids;
	attr.query.link_ids = (__u64)(uintptr_t)link_ids;
	attr.query.count = *count;
	if (syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) < 0)
		return -errno;
	*count = attr.query.count < *count ? attr.query.count : *count;
	return 0;
}

bool pw_bpf_tcx_supported(void)
{
	__u32 ids[1], links[1], n = 1;

	/* Loopback always exists; a kernel without tcx refuses the type. */
	return tcx_query(1, 0, ids, links, &n) == 0;
}

int pw_bpf_set_hook(struct pw_bpf *b, enum pw_hook_mode mode)
{
	bool tcx = pw_bpf_tcx_supported();

	if (mode == PW_HOOK_TCX && !tcx) {
		pw_err("--hook tcx: this kernel has no tcx (Linux 6.6 or newer)");
		return -EOPNOTSUPP;
	}
	b->tcx_kernel = tcx;
	b->hook = mode == PW_HOOK_AUTO ? (tcx ? PW_HOOK_TCX : PW_HOOK_LEGACY) : mode;
	pw_info("hooks: %s%s",
		b->hook == PW_HOOK_TCX ? "tcx links, placed first"
				       : "tc filters (clsact), verified first",
		b->hook == PW_HOOK_LEGACY && tcx ? " (forced: the kernel has tcx)" : "");
	return 0;
}

static void link_path(const struct pw_bpf *b, int ifindex, int hook, char *buf, size_t len)
{
	snprintf(buf, len, "%s/links/tcx_%d_%s", b->pin_dir, ifindex, hook ? "eg" : "in");
}

static int tcx_link_info(int fd, struct pw_tcx_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static int prog_fd_of(const struct pw_bpf *b, int hook)
{
	return hook ? b->ingress_prog_fd : b->egress_prog_fd;
}

static __u32 prog_id_of(const struct pw_bpf *b, int hook)
{
	return hook ? b->ingress_prog_id : b->egress_prog_id;
}

static void prog_name(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(buf, len, "?");
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(buf, len, "%s", info.name[0] ? info.name : "(no name)");
	close(fd);
}

/* Is podwall's pinned link the first program on the tcx hook? 0 yes, else a
 * reason in why. */
static int tcx_check(const struct pw_bpf *b, int ifindex, int hook, char *why, size_t len)
{
	__u32 ids[PW_TCX_MAX], links[PW_TCX_MAX], n = PW_TCX_MAX;
	struct pw_tcx_link_info li;
	char path[512], name[32];
	int fd, err;

	link_path(b, ifindex, hook, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(why, len, "tcx %s: podwall's link is not pinned (%s)", hook_name[hook],
			 path);
		return -ENOENT;
	}
	err = tcx_link_info(fd, &li);
	close(fd);
	if (err || li.ifindex != (__u32)ifindex) {
		snprintf(why, len, "tcx %s: podwall's link is detached", hook_name[hook]);
		return -ENOENT;
	}
	if (li.prog_id != prog_id_of(b, hook)) {
		snprintf(why, len, "tcx %s: podwall's link runs program id %u, not this agent's %u",
			 hook_name[hook], li.prog_id, prog_id_of(b, hook));
		return -ESTALE;
	}
	err = tcx_query(ifindex, hook, ids, links, &n);
	if (err) {
		snprintf(why, len, "tcx %s: cannot query: %s", hook_name[hook], strerror(-err));
		return err;
	}
	if (!n || ids[0] != li.prog_id || links[0] != li.id) {
		prog_name(n ? ids[0] : 0, name, sizeof(name));
		snprintf(why, len, "tcx %s: program id %u (%s, %s %u) runs before podwall's",
			 hook_name[hook], n ? ids[0] : 0, name, n && links[0] ? "link" : "no link",
			 n ? links[0] : 0);
		return -EPERM;
	}
	return 0;
}

/* A second instance of a hook's program (same instructions, same maps): tcx
 * refuses one program twice on a hook, and a link cannot move, so putting
 * podwall's link back in front takes a new link with another program. It is
 * loaded by libbpf like the first (with its BTF: without the function info the
 * verifier walks every subprogram inline and refuses pod_egress as too big),
 * once, on the first repair, and kept until pw_bpf_close(). The fd is b's. */
static int prog_clone(struct pw_bpf *b, int hook)
{
	struct bpf_map *m, *orig;
	struct podwall_bpf *c;
	int err;

	if (!b->clone) {
		c = podwall_bpf__open();
		if (!c)
			return -errno;
		orig = bpf_object__next_map(b->skel->obj, NULL);
		bpf_object__for_each_map(m, c->obj)
		{
			/* The same object: the maps come in the same order.
			 * Each is the agent's own fd, never pinned again. */
			err = orig ? bpf_map__reuse_fd(m, bpf_map__fd(orig)) : -ENOENT;
			if (!err)
				err = bpf_map__set_pin_path(m, NULL);
			if (err) {
				podwall_bpf__destroy(c);
				return err;
			}
			orig = bpf_object__next_map(b->skel->obj, orig);
		}
		err = podwall_bpf__load(c);
		if (err) {
			podwall_bpf__destroy(c);
			return err;
		}
		b->clone = c;
	}
	return bpf_program__fd(hook ? b->clone->progs.pod_ingress : b->clone->progs.pod_egress);
}

static int tcx_link_create(int prog_fd, int ifindex, int hook)
{
	union pw_tcx_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.link.prog_fd = (__u32)prog_fd;
	attr.link.target_ifindex = (__u32)ifindex;
	attr.link.attach_type = tcx_type[hook];
	attr.link.flags = BPF_F_BEFORE; /* no relative fd: before all */
	return (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

/* Pin fd at path, replacing what was pinned there in one step. */
static int pin_replace(int fd, const char *path)
{
	char tmp[520];
	int ret = 0;

	snprintf(tmp, sizeof(tmp), "%s_new", path); /* bpffs refuses dots */
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp) || rename(tmp, path)) {
		ret = -errno;
		unlink(tmp);
	}
	return ret;
}

static int tcx_attach_one(struct pw_bpf *b, int ifindex, int hook, char *err, size_t errlen)
{
	char path[512], why[256];
	struct pw_tcx_link_info li;
	int old, fd = -1, clone = -1, ret;
	bool ours = false;

	link_path(b, ifindex, hook, path, sizeof(path));
	old = bpf_obj_get(path);
	if (old >= 0 && !tcx_link_info(old, &li) && li.ifindex == (__u32)ifindex &&
	    li.attach_type == tcx_type[hook]) {
		/* Ours already: swap the program atomically, keep the place. */
		ours = true;
		if (li.prog_id == prog_id_of(b, hook) ||
		    !bpf_link_update(old, prog_fd_of(b, hook), NULL)) {
			if (!tcx_check(b, ifindex, hook, why, sizeof(why))) {
				close(old);
				return 0;
			}
		}
	}
	/* A new link in front of everything, then the old one goes. While both
	 * are attached the new one runs a clone of the program (tcx takes a
	 * program once per hook), switched to the real one once alone. */
	if (ours) {
		clone = prog_clone(b, hook);
		if (clone < 0) {
			ret = clone;
			snprintf(err, errlen, "cannot load a second %s program: %s",
				 hook ? "pod_ingress" : "pod_egress", strerror(-ret));
			goto out;
		}
	}
	fd = tcx_link_create(clone >= 0 ? clone : prog_fd_of(b, hook), ifindex, hook);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot attach a tcx %s link: %s", hook_name[hook],
			 strerror(-ret));
		goto out;
	}
	ret = pin_replace(fd, path);
	if (ret) {
		snprintf(err, errlen, "cannot pin the tcx %s link at %s: %s", hook_name[hook], path,
			 strerror(-ret));
		bpf_link_detach(fd);
		goto out;
	}
	if (old >= 0)
		bpf_link_detach(old);
	if (clone >= 0 && bpf_link_update(fd, prog_fd_of(b, hook), NULL)) {
		ret = -errno;
		snprintf(err, errlen,
			 "cannot switch the new tcx %s link to the agent's program: %s",
			 hook_name[hook], strerror(-ret));
	}
out:
	if (fd >= 0)
		close(fd);
	if (old >= 0)
		close(old);
	return ret;
}

static void tcx_detach_one(struct pw_bpf *b, int ifindex, int hook)
{
	char path[512];
	int fd;

	link_path(b, ifindex, hook, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	unlink(path);
}

/* podwall's own tc filter: kind bpf, podwall's handle, one of its programs. */
static bool tc_is_ours(const struct pw_tc_filter *f)
{
	return !strcmp(f->kind, "bpf") && f->handle == PW_TC_HANDLE &&
	       !strncmp(f->bpf_name, "pod_", 4);
}

static int tc_check(const struct pw_bpf *b, int ifindex, int hook, char *why, size_t len)
{
	struct pw_tc_list l;
	char what[160];
	int err;

	if (b->tcx_kernel) {
		__u32 ids[1], links[1], n = 1;

		if (!tcx_query(ifindex, hook, ids, links, &n) && n) {
			prog_name(ids[0], what, sizeof(what));
			snprintf(why, len,
				 "tcx %s: program id %u (%s) runs before podwall's tc filter",
				 hook_name[hook], ids[0], what);
			return -EPERM;
		}
	}
	err = pw_tc_filters(ifindex, tc_parent[hook], &l);
	if (err) {
		snprintf(why, len, "tc %s: cannot list filters: %s", hook_name[hook],
			 strerror(-err));
		return err;
	}
	if (!l.n || !tc_is_ours(&l.f[0]) || l.f[0].prio != PW_TC_PRIORITY) {
		size_t i = 0;

		while (i < l.n && !tc_is_ours(&l.f[i]))
			i++;
		if (!l.n || i == l.n) {
			snprintf(why, len, "tc %s: podwall's filter is missing", hook_name[hook]);
			err = -ENOENT;
		} else {
			pw_tc_describe(&l.f[0], what, sizeof(what));
			snprintf(why, len, "tc %s: %s runs before podwall's", hook_name[hook],
				 what);
			err = -EPERM;
		}
	} else if (l.f[0].bpf_id != prog_id_of(b, hook)) {
		snprintf(why, len,
			 "tc %s: podwall's filter runs program id %u, not this agent's %u",
			 hook_name[hook], l.f[0].bpf_id, prog_id_of(b, hook));
		err = -ESTALE;
	} else if (!(l.f[0].bpf_flags & TCA_BPF_FLAG_ACT_DIRECT)) {
		snprintf(why, len, "tc %s: podwall's filter is not in direct-action mode",
			 hook_name[hook]);
		err = -ESTALE;
	}
	pw_tc_list_free(&l);
	return err;
}

static int tc_attach_prog(struct pw_bpf *b, int ifindex, int hook)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
			    .attach_point = hook ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PW_TC_HANDLE, .priority = PW_TC_PRIORITY,
			    .prog_fd = prog_fd_of(b, hook), .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&h, &opts);
}

/* Move every foreign filter that holds priority 1 (and those right behind it,
 * keeping their order) one priority down: copy first, then delete, so each
 * keeps working throughout. */
static int tc_make_room(int ifindex, int hook, const struct pw_tc_list *l, char *err, size_t errlen)
{
	uint32_t top = 0;
	int ret;

	/* The run of occupied priorities 1, 2, ... top. */
	for (size_t i = 0; i < l->n; i++) {
		if (tc_is_ours(&l->f[i]) && l->f[i].prio != PW_TC_PRIORITY)
			continue;
		if (l->f[i].prio == top + 1)
			top++;
		else if (l->f[i].prio > top + 1)
			break;
	}
	if (top >= 0xffff) {
		snprintf(err, errlen, "tc %s: no free priority to move filters to",
			 hook_name[hook]);
		return -ENOSPC;
	}
	for (uint32_t p = top; p >= 1; p--) {
		bool mixed = false;

		for (size_t i = 0; i < l->n; i++) {
			const struct pw_tc_filter *f = &l->f[i];

			if (f->prio != p)
				continue;
			if (tc_is_ours(f)) {
				mixed = true;
				continue;
			}
			ret = pw_tc_filter_copy(ifindex, tc_parent[hook], f, p + 1, true, err,
						errlen);
			if (ret)
				return ret;
		}
		for (size_t i = 0; i < l->n; i++) {
			const struct pw_tc_filter *f = &l->f[i];

			if (f->prio != p || tc_is_ours(f))
				continue;
			ret = mixed ? pw_tc_filter_del(ifindex, tc_parent[hook], f)
				    : pw_tc_prio_del(ifindex, tc_parent[hook], p, f->protocol);
			if (ret) {
				char what[160];

				pw_tc_describe(f, what, sizeof(what));
				snprintf(err, errlen, "cannot move %s: %s", what, strerror(-ret));
				return ret;
			}
			if (!mixed)
				break; /* the whole classifier went */
		}
	}
	return 0;
}

/* Remove podwall filters left at other priorities (older versions used 0x9a11). */
static void tc_drop_stale(int ifindex, int hook)
{
	struct pw_tc_list l;

	if (pw_tc_filters(ifindex, tc_parent[hook], &l))
		return;
	for (size_t i = 0; i < l.n; i++)
		if (tc_is_ours(&l.f[i]) && l.f[i].prio != PW_TC_PRIORITY)
			pw_tc_filter_del(ifindex, tc_parent[hook], &l.f[i]);
	pw_tc_list_free(&l);
}

static int tc_attach_one(struct pw_bpf *b, int ifindex, int hook, char *err, size_t errlen)
{
	struct pw_tc_list l;
	int ret;

	ret = pw_tc_filters(ifindex, tc_parent[hook], &l);
	if (ret) {
		snprintf(err, errlen, "tc %s: cannot list filters: %s", hook_name[hook],
			 strerror(-ret));
		return ret;
	}
	if (!(l.n && tc_is_ours(&l.f[0]) && l.f[0].prio == PW_TC_PRIORITY))
		ret = tc_make_room(ifindex, hook, &l, err, errlen);
	pw_tc_list_free(&l);
	if (ret)
		return ret;
	ret = tc_attach_prog(b, ifindex, hook);
	if (ret) {
		snprintf(err, errlen, "cannot attach the tc %s filter: %s", hook_name[hook],
			 strerror(-ret));
		return ret;
	}
	tc_drop_stale(ifindex, hook);
	return 0;
}

/* The bandwidth plugin's egress shaping puts an `ingress` qdisc on the veth,
 * which leaves no TC egress hook and cannot coexist with clsact: swap it for a
 * clsact carrying the same filters behind podwall's. Only at CNI ADD, before
 * the pod runs: its filters are gone for the few milliseconds this takes. */
static int tc_adopt_ingress_qdisc(struct pw_bpf *b, int ifindex, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	struct pw_tc_list l;
	uint32_t shift = 0;
	char what[160];
	int ret;

	ret = pw_tc_filters(ifindex, TC_H_MAKE(TC_H_INGRESS, 0), &l);
	if (ret) {
		snprintf(err, errlen, "ingress qdisc: cannot list its filters: %s", strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (l.f[i].prio == PW_TC_PRIORITY)
			shift = 1;
		if (!strcmp(l.f[i].kind, "bpf") &&
		    (l.f[i].bpf_fd = bpf_prog_get_fd_by_id(l.f[i].bpf_id)) < 0) {
			ret = -errno;
			pw_tc_describe(&l.f[i], what, sizeof(what));
			snprintf(err, errlen, "ingress qdisc: cannot hold the program of %s: %s",
				 what, strerror(-ret));
			goto out;
		}
		if (l.f[i].prio + shift > 0xffff) {
			ret = -ENOSPC;
			snprintf(err, errlen, "ingress qdisc: no priority free behind podwall");
			goto out;
		}
	}
	ret = pw_tc_ingress_qdisc_del(ifindex);
	if (!ret)
		ret = bpf_tc_hook_create(&h);
	if (ret) {
		snprintf(err, errlen, "cannot replace the ingress qdisc by clsact: %s",
			 strerror(-ret));
		goto out;
	}
	ret = tc_attach_prog(b, ifindex, 0);
	if (ret) {
		snprintf(err, errlen, "cannot attach the tc ingress filter: %s", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		ret = pw_tc_filter_copy(ifindex, tc_parent[0], &l.f[i], l.f[i].prio + shift, false,
					err, errlen);
		if (ret)
			goto out;
	}
	pw_info("ifindex %d: ingress qdisc replaced by clsact, its %zu filter(s) kept behind "
		"podwall's",
		ifindex, l.n);
out:
	pw_tc_list_free(&l);
	return ret;
}

/* The clsact qdisc podwall's filters hang on: made when missing (at ADD, or
 * at a repair after someone deleted it), adopted from an `ingress` qdisc. */
static int tc_clsact_ensure(struct pw_bpf *b, int ifindex, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	char kind[16];
	int ret;

	ret = pw_tc_ingress_qdisc(ifindex, kind);
	if (ret) {
		snprintf(err, errlen, "cannot list qdiscs: %s", strerror(-ret));
		return ret;
	}
	if (!strcmp(kind, "ingress")) {
		ret = tc_adopt_ingress_qdisc(b, ifindex, err, errlen);
	} else if (!kind[0]) {
		ret = bpf_tc_hook_create(&h);
		if (ret == -EEXIST)
			ret = 0;
		if (ret)
			snprintf(err, errlen, "cannot create the clsact qdisc: %s", strerror(-ret));
	} else if (strcmp(kind, "clsact")) {
		snprintf(err, errlen, "a %s qdisc holds the ingress slot: podwall needs clsact",
			 kind);
		ret = -EBUSY;
	}
	return ret;
}

static int tc_attach(struct pw_bpf *b, int ifindex, char *err, size_t errlen)
{
	int ret = tc_clsact_ensure(b, ifindex, err, errlen);

	if (ret)
		return ret;
	/* Egress first: a pod's packets are governed from the first one. */
	ret = tc_attach_one(b, ifindex, 0, err, errlen);
	if (!ret)
		ret = tc_attach_one(b, ifindex, 1, err, errlen);
	return ret;
}

static void tc_detach_one(int ifindex, int hook)
{
	struct pw_tc_list l;

	if (pw_tc_filters(ifindex, tc_parent[hook], &l))
		return;
	for (size_t i = 0; i < l.n; i++)
		if (tc_is_ours(&l.f[i]))
			pw_tc_filter_del(ifindex, tc_parent[hook], &l.f[i]);
	pw_tc_list_free(&l);
}

int pw_bpf_attach(struct pw_bpf *b, int ifindex, char *err, size_t errlen)
{
	uint64_t t0 = pw_now_ns();
	int ret = 0;

	err[0] = '\0';
	if (b->hook == PW_HOOK_TCX) {
		for (int hook = 0; hook < 2 && !ret; hook++)
			ret = tcx_attach_one(b, ifindex, hook, err, errlen);
		if (!ret) {
			/* Filters of older versions or of the legacy mode: now redundant. */
			tc_detach_one(ifindex, 0);
			tc_detach_one(ifindex, 1);
		}
	} else {
		ret = tc_attach(b, ifindex, err, errlen);
		if (!ret && b->tcx_kernel) {
			/* Links of the tcx mode would run before the filters. */
			tcx_detach_one(b, ifindex, 0);
			tcx_detach_one(b, ifindex, 1);
		}
		if (!ret)
			ret = pw_bpf_verify(b, ifindex, false, err, errlen);
	}
	b->attach_ns = pw_now_ns() - t0;
	return ret;
}

int pw_bpf_detach(struct pw_bpf *b, int ifindex)
{
	for (int hook = 0; hook < 2; hook++) {
		if (b->tcx_kernel)
			tcx_detach_one(b, ifindex, hook);
		tc_detach_one(ifindex, hook);
	}
	return 0;
}

static int hook_check(const struct pw_bpf *b, int ifindex, int hook, char *why, size_t len)
{
	return b->hook == PW_HOOK_TCX ? tcx_check(b, ifindex, hook, why, len)
				      : tc_check(b, ifindex, hook, why, len);
}

static int hook_repair(struct pw_bpf *b, int ifindex, int hook, char *err, size_t len)
{
	int ret;

	if (b->hook == PW_HOOK_TCX)
		return tcx_attach_one(b, ifindex, hook, err, len);
	/* the qdisc itself may be what was deleted (tc qdisc del dev VETH clsact) */
	ret = tc_clsact_ensure(b, ifindex, err, len);
	if (!ret)
		ret = tc_attach_one(b, ifindex, hook, err, len);
	if (!ret && b->tcx_kernel)
		tcx_detach_one(b, ifindex, hook); /* podwall's own links of tcx mode */
	return ret;
}

static void append(char *buf, size_t len, const char *sep, const char *s)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? sep : "", s);
}

int pw_bpf_verify(struct pw_bpf *b, int ifindex, bool repair, char *what, size_t len)
{
	int ret = 0, repaired = 0;

	what[0] = '\0';
	for (int hook = 0; hook < 2; hook++) {
		char why[256], err[256] = "";
		int bad = hook_check(b, ifindex, hook, why, sizeof(why));

		if (!bad)
			continue;
		append(what, len, "; ", why);
		if (!repair) {
			ret = ret ? ret : bad;
			continue;
		}
		if (!hook_repair(b, ifindex, hook, err, sizeof(err)) &&
		    !hook_check(b, ifindex, hook, err, sizeof(err))) {
			append(what, len, "", " (repaired)");
			repaired++;
			continue;
		}
		append(what, len, "", ": repair failed: ");
		append(what, len, "", err);
		ret = -EPERM;
	}
	return ret ? ret : repaired;
}

int pw_bpf_attached(struct pw_bpf *b, int ifindex)
{
	char what[512];

	return pw_bpf_verify(b, ifindex, false, what, sizeof(what)) == 0;
}

/* ---------------------------------------------------------------- cleanup */

static bool is_podwall_prog(__u32 id)
{
	char name[32];

	prog_name(id, name, sizeof(name));
	return !strcmp(name, "pod_egress") || !strcmp(name, "pod_ingress");
}

/* podwall's tcx programs on ifindex: detach their links (or the programs). */
static int tcx_cleanup(int ifindex)
{
	int n = 0;

	for (int hook = 0; hook < 2; hook++) {
		__u32 ids[PW_TCX_MAX], links[PW_TCX_MAX], cnt = PW_TCX_MAX;

		if (tcx_query(ifindex, hook, ids, links, &cnt))
			continue;
		for (__u32 i = 0; i < cnt; i++) {
			int fd;

			if (!is_podwall_prog(ids[i]))
				continue;
			if (links[i]) {
				fd = bpf_link_get_fd_by_id(links[i]);
				if (fd >= 0 && !bpf_link_detach(fd))
					n++;
			} else {
				fd = bpf_prog_get_fd_by_id(ids[i]);
				if (fd >= 0 && !bpf_prog_detach2(fd, ifindex, tcx_type[hook]))
					n++;
			}
			if (fd >= 0)
				close(fd);
		}
	}
	return n;
}

static int tc_cleanup(int ifindex)
{
	int n = 0;

	for (int hook = 0; hook < 2; hook++) {
		struct pw_tc_list l;

		if (pw_tc_filters(ifindex, tc_parent[hook], &l))
			continue;
		for (size_t i = 0; i < l.n; i++)
			if (tc_is_ours(&l.f[i]) &&
			    !pw_tc_filter_del(ifindex, tc_parent[hook], &l.f[i]))
				n++;
		pw_tc_list_free(&l);
	}
	return n;
}

static int unpin_tree(const char *dir, int *pins)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[600];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			ret = unpin_tree(path, pins) ?: ret;
		else if (unlink(path))
			ret = -errno;
		else
			(*pins)++;
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		ret = -errno;
	return ret;
}

int pw_bpf_cleanup(const char *pin_dir, struct pw_cleanup *r)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	bool tcx = pw_bpf_tcx_supported();

	memset(r, 0, sizeof(*r));
	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++) {
		int t = tc_cleanup((int)i->if_index), x = tcx ? tcx_cleanup((int)i->if_index) : 0;

		r->tc_filters += t;
		r->tcx_links += x;
		r->interfaces += t + x > 0;
	}
	if_freenameindex(ifs);
	return unpin_tree(pin_dir, &r->pins);
}

int pw_bpf_leftovers(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	bool tcx = pw_bpf_tcx_supported();
	int n = 0;

	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++) {
		for (int hook = 0; hook < 2; hook++) {
			struct pw_tc_list l;
			__u32 ids[PW_TCX_MAX], links[PW_TCX_MAX], cnt = PW_TCX_MAX;

			if (!pw_tc_filters((int)i->if_index, tc_parent[hook], &l)) {
				for (size_t k = 0; k < l.n; k++)
					n += tc_is_ours(&l.f[k]);
				pw_tc_list_free(&l);
			}
			if (tcx && !tcx_query((int)i->if_index, hook, ids, links, &cnt))
				for (__u32 k = 0; k < cnt; k++)
					n += is_podwall_prog(ids[k]);
		}
	}
	if_freenameindex(ifs);
	return n;
}

/* ---------------------------------------------------------------- upgrade */

static bool prog_is_ours(const struct pw_bpf *b, __u32 id)
{
	if (id == b->egress_prog_id || id == b->ingress_prog_id)
		return true;
	return b->clone && (id == prog_id(bpf_program__fd(b->clone->progs.pod_egress)) ||
			    id == prog_id(bpf_program__fd(b->clone->progs.pod_ingress)));
}

/* A program of the maps being replaced (a podwall program, not this agent's,
 * using one of the old maps; another podwall's on other pins is left alone),
 * on a hook of ifindex. On a veth of a known endpoint it must be swapped first
 * (counted in *blocked, described in why); elsewhere it is detached (*gone). */
static void old_progs(struct pw_bpf *b, int ifindex, bool known, int *blocked, int *gone, char *why,
		      size_t len)
{
	char name[IF_NAMESIZE] = "?";

	if_indextoname((unsigned int)ifindex, name);
	for (int hook = 0; hook < 2; hook++) {
		__u32 ids[PW_TCX_MAX], links[PW_TCX_MAX], cnt = PW_TCX_MAX;
		struct pw_tc_list l;

		if (!pw_tc_filters(ifindex, tc_parent[hook], &l)) {
			for (size_t k = 0; k < l.n; k++) {
				if (!tc_is_ours(&l.f[k]) || prog_is_ours(b, l.f[k].bpf_id) ||
				    !pw_pins_prog_is_old(&b->pins, l.f[k].bpf_id))
					continue;
				if (known && !(*blocked)++)
					snprintf(why, len, "%s: tc %s filter runs program id %u",
						 name, hook_name[hook], l.f[k].bpf_id);
				else if (!known &&
					 !pw_tc_filter_del(ifindex, tc_parent[hook], &l.f[k]))
					(*gone)++;
			}
			pw_tc_list_free(&l);
		}
		if (!b->tcx_kernel || tcx_query(ifindex, hook, ids, links, &cnt))
			continue;
		for (__u32 k = 0; k < cnt; k++) {
			char path[512];
			int fd;

			if (!is_podwall_prog(ids[k]) || prog_is_ours(b, ids[k]) ||
			    !pw_pins_prog_is_old(&b->pins, ids[k]))
				continue;
			if (known) {
				if (!(*blocked)++)
					snprintf(why, len, "%s: tcx %s runs program id %u", name,
						 hook_name[hook], ids[k]);
				continue;
			}
			fd = links[k] ? bpf_link_get_fd_by_id(links[k])
				      : bpf_prog_get_fd_by_id(ids[k]);
			if (fd < 0)
				continue;
			if (links[k] ? !bpf_link_detach(fd)
				     : !bpf_prog_detach2(fd, ifindex, tcx_type[hook]))
				(*gone)++;
			close(fd);
			link_path(b, ifindex, hook, path, sizeof(path));
			unlink(path);
		}
	}
}

int pw_bpf_upgrade_finish(struct pw_bpf *b, bool (*known)(int ifindex, void *ctx), void *ctx,
			  char *why, size_t len)
{
	struct if_nameindex *ifs, *i;
	int blocked = 0, gone = 0;

	why[0] = '\0';
	if (!b->pins.upgrade)
		return 0;
	ifs = if_nameindex();
	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++)
		old_progs(b, (int)i->if_index, known((int)i->if_index, ctx), &blocked, &gone, why,
			  len);
	if_freenameindex(ifs);
	if (gone)
		pw_warn("upgrade: %d program(s) of the old maps detached from interfaces no "
			"endpoint "
			"of this agent is on (unmanaged, like an endpoint without state)",
			gone);
	if (blocked) {
		size_t n = strlen(why);

		snprintf(why + n, len - n, " (%d hook(s) of endpoints still on the old maps)",
			 blocked);
		return -EBUSY;
	}
	return pw_pins_commit(b->skel->obj, b->pin_dir, &b->pins);
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
			if (fn &&
			    fn(keys + (size_t)i * info->key_size,
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
	unsigned char md[LDNS_SHA256_DIGEST_LENGTH];
	size_t sz = 0, n = 0;
	const void *elf = podwall_bpf__elf_bytes(&sz);

	ldns_sha256(elf, (unsigned int)sz, md);
	n = (size_t)snprintf(buf, len, "sha256:");
	for (int i = 0; i < PW_BPF_OBJECT_ID_BYTES && n + 2 < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%02x", md[i]);
	return buf;
}

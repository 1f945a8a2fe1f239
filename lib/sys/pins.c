// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <zlib.h>

#include "log.h"
#include "pins.h"

/* What a map's layout is made of. max_entries 0 in the object: sized at load
 * (the perf event array, one slot a CPU), not compared. */
struct shape {
	__u32 type, key, value, max, flags;
	__u32 btf; /* 0: a pinned map made without BTF (a kernel that refused it) */
	uLong kshape, vshape;
};

/* A BTF type's shape: kinds, sizes, member names and offsets, array lengths,
 * through typedefs and qualifiers (their names are not the layout). */
static uLong btf_shape(const struct btf *btf, __u32 id, uLong h, int depth)
{
	const struct btf_type *t = NULL;
	__u32 w[4] = {0};

	while (btf && id && (t = btf__type_by_id(btf, id)) && (btf_is_mod(t) || btf_is_typedef(t)))
		id = t->type;
	if (!btf || !id || !t || depth > 8) {
		w[0] = 0xffffffffu; /* void, or no BTF */
		return crc32(h, (const Bytef *)w, sizeof(w));
	}
	w[0] = btf_kind(t);
	w[1] = btf_vlen(t);
	if (btf_is_int(t) || btf_is_composite(t) || btf_is_enum(t))
		w[2] = t->size;
	if (btf_is_int(t))
		w[3] = btf_int_bits(t) | (__u32)btf_int_encoding(t) << 16;
	h = crc32(h, (const Bytef *)w, sizeof(w));
	if (btf_is_composite(t)) {
		const struct btf_member *m = btf_members(t);

		for (__u32 i = 0; i < btf_vlen(t); i++) {
			const char *name = btf__name_by_offset(btf, m[i].name_off);
			__u32 off = btf_member_bit_offset(t, i);

			name = name ? name : "";
			h = crc32(h, (const Bytef *)name, (uInt)strlen(name) + 1);
			h = crc32(h, (const Bytef *)&off, sizeof(off));
			h = btf_shape(btf, m[i].type, h, depth + 1);
		}
	} else if (btf_is_array(t)) {
		const struct btf_array *a = btf_array(t);

		h = crc32(h, (const Bytef *)&a->nelems, sizeof(a->nelems));
		h = btf_shape(btf, a->type, h, depth + 1);
	}
	return h;
}

static void obj_shape(struct bpf_object *obj, const struct bpf_map *m, struct shape *s)
{
	const struct btf *btf = bpf_object__btf(obj);

	memset(s, 0, sizeof(*s));
	s->type = (__u32)bpf_map__type(m);
	s->key = bpf_map__key_size(m);
	s->value = bpf_map__value_size(m);
	s->max = bpf_map__max_entries(m);
	s->flags = bpf_map__map_flags(m);
	s->kshape = btf_shape(btf, bpf_map__btf_key_type_id(m), 0, 0);
	s->vshape = btf_shape(btf, bpf_map__btf_value_type_id(m), 0, 0);
	s->btf = 1;
}

/* Is fd a map (not a program or link pinned under a map's name)? */
static bool fd_is_map(int fd)
{
	char path[64], line[128];
	bool map = false;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	fp = fopen(path, "re");
	if (!fp)
		return false;
	while (!map && fgets(line, sizeof(line), fp))
		map = !strncmp(line, "map_type:", 9);
	fclose(fp);
	return map;
}

/* The pinned map at path: its shape; 0, or -errno and why it is not a map
 * podwall made (libbpf names each map as it pins it: the kernel's name is the
 * file's, up to 15 characters). */
static int pin_shape(const char *path, const char *fname, struct shape *s, char *why, size_t len)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	struct btf *btf = NULL;
	int fd, ret = 0;

	memset(s, 0, sizeof(*s));
	fd = bpf_obj_get(path);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, len, "cannot open it: %s", strerror(errno));
		return ret;
	}
	if (!fd_is_map(fd) || bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		snprintf(why, len, "it is not a BPF map");
		ret = -EPROTO;
		goto out;
	}
	if (strncmp(info.name, fname, sizeof(info.name) - 1)) {
		snprintf(why, len, "its kernel name is \"%s\", so podwall did not pin it",
			 info.name);
		ret = -EPROTO;
		goto out;
	}
	s->type = info.type;
	s->key = info.key_size;
	s->value = info.value_size;
	s->max = info.max_entries;
	s->flags = info.map_flags;
	s->btf = info.btf_id != 0;
	if (info.btf_id)
		btf = btf__load_from_kernel_by_id(info.btf_id);
	s->kshape = btf_shape(btf, info.btf_key_type_id, 0, 0);
	s->vshape = btf_shape(btf, info.btf_value_type_id, 0, 0);
	btf__free(btf);
out:
	close(fd);
	return ret;
}

static bool same_shape(const struct shape *want, const struct shape *have)
{
	return want->type == have->type && want->key == have->key && want->value == have->value &&
	       (!want->max || want->max == have->max) && want->flags == have->flags &&
	       want->kshape == have->kshape && want->vshape == have->vshape;
}

/* A flat pin is reused if it has the object's layout; one pinned without BTF
 * (by a kernel that refused it) is compared by its sizes alone. */
static bool flat_compatible(const struct shape *want, const struct shape *have)
{
	struct shape w = *want;

	if (!have->btf) {
		w.kshape = have->kshape;
		w.vshape = have->vshape;
	}
	return same_shape(&w, have);
}

const char *pw_pins_layout(struct bpf_object *obj, char *buf, size_t len)
{
	const struct bpf_map *m;
	uLong h = crc32(0L, Z_NULL, 0);

	bpf_object__for_each_map(m, obj)
	{
		struct shape s;

		if (!bpf_map__pin_path(m))
			continue; /* not pinned: not part of the layout */
		obj_shape(obj, m, &s);
		h = crc32(h, (const Bytef *)bpf_map__name(m), (uInt)strlen(bpf_map__name(m)) + 1);
		h = crc32(h, (const Bytef *)&s, sizeof(s));
	}
	snprintf(buf, len, "maps-%08lx", h & 0xffffffffUL);
	return buf;
}

/* A map that refers into another one: its entries mean nothing without that
 * one's (port set ids, policy generations, endpoint ids). When the other one
 * starts empty, so must it, rather than carry references into nothing. The
 * maps referred to are also the first ones renamed at commit, so after a crash
 * a staged referent means its dependents were not renamed yet. */
static const struct {
	const char *map, *needs;
} pin_deps[] = {
	{"pw_learned", "pw_ports"},	 {"pw_cidr4", "pw_ports"},
	{"pw_cidr6", "pw_ports"},	 {"pw_flows", "pw_endpoints"},
	{"pw_learned", "pw_config"},	 {"pw_flows", "pw_config"},
	{"pw_dns_pend", "pw_config"},	 {"pw_dns_tcp", "pw_config"},
	{"pw_names", "pw_config"},	 {"pw_ep_dns", "pw_config"},
	{"pw_ep_stats", "pw_config"},	 {"pw_ep_rl", "pw_config"},
	{"pw_ep_budget", "pw_config"},	 {"pw_cidr4", "pw_config"},
	{"pw_cidr6", "pw_config"},	 {"pw_ep_flows", "pw_flows"},
	{"pw_ep_flows", "pw_config"},	 {"pw_ep_reject", "pw_config"},
	{"pw_ep_rl_allow", "pw_config"}, {"pw_ep_query", "pw_config"},
};

static bool is_referent(const char *name)
{
	for (size_t i = 0; i < sizeof(pin_deps) / sizeof(pin_deps[0]); i++)
		if (!strcmp(pin_deps[i].needs, name))
			return true;
	return false;
}

enum pin_plan { PIN_FLAT_NEW, PIN_FLAT_REUSE, PIN_STAGED_NEW, PIN_STAGED_REUSE };

#define PINS_MAX 64

static int plan_index(struct bpf_object *obj, const char *name)
{
	const struct bpf_map *m;
	int i = 0;

	bpf_object__for_each_map(m, obj)
	{
		if (!bpf_map__pin_path(m))
			continue;
		if (!strcmp(bpf_map__name(m), name))
			return i;
		i++;
	}
	return -1;
}

static bool pw_pin_name(const char *name)
{
	return !strncmp(name, "pw_", 3);
}

static void note_old(struct pw_pins *p, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    p->n_old_ids < (int)(sizeof(p->old_ids) / sizeof(p->old_ids[0])))
		p->old_ids[p->n_old_ids++] = info.id;
	close(fd);
}

bool pw_pins_prog_is_old(const struct pw_pins *p, uint32_t prog_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[64];
	int fd = bpf_prog_get_fd_by_id(prog_id);
	bool old = false;

	if (fd < 0)
		return false;
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (__u64)(uintptr_t)ids;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		for (__u32 i = 0; i < info.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++)
			for (int j = 0; j < p->n_old_ids; j++)
				old |= ids[i] == p->old_ids[j];
	close(fd);
	return old;
}

/* Every pin in an old layout's directory must be a map podwall made. */
static int check_old_dir(struct pw_pins *p, const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 0;

	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		char path[600], why[160];
		struct shape s;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (pin_shape(path, de->d_name, &s, why, sizeof(why))) {
			pw_err("%s: %s; no podwall layout made it. Move it out of %s (nothing was "
			       "changed: the programs attached keep enforcing from their maps) and "
			       "start the agent again",
			       path, why, dir);
			ret = -EEXIST;
		}
		note_old(p, path);
	}
	closedir(d);
	return ret;
}

int pw_pins_plan(struct bpf_object *obj, const char *pin_dir, struct pw_pins *p)
{
	enum pin_plan plan[PINS_MAX];
	struct bpf_map *m;
	struct dirent *de;
	bool changed;
	DIR *d;
	int n = 0, ret = 0;

	memset(p, 0, sizeof(*p));
	pw_pins_layout(obj, p->layout, sizeof(p->layout));
	snprintf(p->staging, sizeof(p->staging), "%s/%s", pin_dir, p->layout);

	/* What is there: other layouts' directories, flat pins no map has. */
	d = opendir(pin_dir);
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		char path[600], why[160];
		struct shape s;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, p->layout))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (!strncmp(de->d_name, "maps-", 5)) {
			ret = check_old_dir(p, path);
			p->old_dirs++;
		} else if (pw_pin_name(de->d_name)) {
			if (pin_shape(path, de->d_name, &s, why, sizeof(why))) {
				pw_err("%s: %s; no podwall layout made it. Move it out of %s "
				       "(nothing was changed: the programs attached keep enforcing "
				       "from their maps) and start the agent again",
				       path, why, pin_dir);
				ret = -EEXIST;
			} else if (plan_index(obj, de->d_name) < 0) {
				p->old_maps++; /* a map this version no longer has */
				note_old(p, path);
			}
		}
	}
	closedir(d);
	if (ret)
		return ret;

	/* The staging directory holds only maps of this layout. */
	d = opendir(p->staging);
	while (d && !ret && (de = readdir(d))) {
		char path[600], why[160];
		struct shape want, have;
		int i;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->staging, de->d_name);
		i = plan_index(obj, de->d_name);
		if (i < 0) {
			snprintf(why, sizeof(why), "layout %s has no map of that name", p->layout);
			ret = -EEXIST;
		} else if (!(ret = pin_shape(path, de->d_name, &have, why, sizeof(why)))) {
			bpf_object__for_each_map(m, obj) if (!strcmp(bpf_map__name(m), de->d_name))
				obj_shape(obj, m, &want);
			if (!same_shape(&want, &have)) {
				snprintf(why, sizeof(why),
					 "type %u, key %u B, value %u B, %u entries, BTF "
					 "%08lx/%08lx: "
					 "not the layout %s names (type %u, key %u B, value %u B, "
					 "%u "
					 "entries, BTF %08lx/%08lx)",
					 have.type, have.key, have.value, have.max,
					 have.kshape & 0xffffffffUL, have.vshape & 0xffffffffUL,
					 p->layout, want.type, want.key, want.value, want.max,
					 want.kshape & 0xffffffffUL, want.vshape & 0xffffffffUL);
				ret = -EEXIST;
			}
		}
		if (ret)
			pw_err("%s: %s. This podwall did not make it: move it out of %s (nothing "
			       "was changed: the programs attached keep enforcing from their maps) "
			       "and start the agent again",
			       path, why, p->staging);
	}
	if (d)
		closedir(d);
	if (ret)
		return ret;

	/* Each map: staged (a run of this agent made it) before flat. */
	bpf_object__for_each_map(m, obj)
	{
		char path[600], why[160];
		struct shape want, have;

		if (!bpf_map__pin_path(m))
			continue;
		if (n == PINS_MAX)
			return -E2BIG;
		obj_shape(obj, m, &want);
		snprintf(path, sizeof(path), "%s/%s", p->staging, bpf_map__name(m));
		if (!access(path, F_OK)) {
			plan[n++] = PIN_STAGED_REUSE;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(m));
		if (access(path, F_OK))
			plan[n++] = PIN_FLAT_NEW;
		else if (!pin_shape(path, bpf_map__name(m), &have, why, sizeof(why)) &&
			 flat_compatible(&want, &have))
			plan[n++] = PIN_FLAT_REUSE;
		else
			plan[n++] = PIN_STAGED_NEW; /* beside the old one, in use */
	}
	/* A map kept while one it refers into starts anew starts anew too. */
	do {
		changed = false;
		for (size_t k = 0; k < sizeof(pin_deps) / sizeof(pin_deps[0]); k++) {
			int i = plan_index(obj, pin_deps[k].map),
			    j = plan_index(obj, pin_deps[k].needs);

			if (i < 0 || j < 0 || plan[i] != PIN_FLAT_REUSE ||
			    plan[j] == PIN_FLAT_REUSE)
				continue;
			plan[i] = PIN_STAGED_NEW;
			changed = true;
		}
	} while (changed);

	n = 0;
	bpf_object__for_each_map(m, obj)
	{
		char path[600];
		bool staged;

		if (!bpf_map__pin_path(m))
			continue;
		staged = plan[n] == PIN_STAGED_NEW || plan[n] == PIN_STAGED_REUSE;
		if (staged) {
			/* the flat pin of that name, if any, is the old map */
			snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(m));
			note_old(p, path);
			size_t l = strlen(p->staged_names);

			snprintf(p->staged_names + l, sizeof(p->staged_names) - l, "%s%s",
				 l ? " " : "", bpf_map__name(m));
			p->staged++;
			if (mkdir(p->staging, 0700) && errno != EEXIST)
				return -errno;
		}
		snprintf(path, sizeof(path), "%s/%s", staged ? p->staging : pin_dir,
			 bpf_map__name(m));
		ret = bpf_map__set_pin_path(m, path);
		if (ret)
			return ret;
		n++;
	}
	p->upgrade = p->staged || p->old_dirs || p->old_maps;
	return 0;
}

static int unpin_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[600];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!unlink(path))
			n++;
	}
	closedir(d);
	rmdir(dir);
	return n;
}

/* Test knob (the fault tier's upgrade_crash_resumes): die as a crash would,
 * after this many renames of the commit (0: before the first). */
static void crash_point(int renamed)
{
	const char *at = getenv("PODWALL_TEST_UPGRADE_CRASH");

	if (at && *at && atoi(at) == renamed) {
		pw_warn("PODWALL_TEST_UPGRADE_CRASH=%s: killing the agent half-way through the "
			"upgrade",
			at);
		raise(SIGKILL);
	}
}

int pw_pins_commit(struct bpf_object *obj, const char *pin_dir, struct pw_pins *p)
{
	const struct bpf_map *m;
	struct dirent *de;
	DIR *d;
	int n = 0;

	crash_point(0);

	/* Referents first: a staged referent then means no dependent moved yet. */
	for (int pass = 0; pass < 2 && p->staged; pass++) {
		bpf_object__for_each_map(m, obj)
		{
			char from[600], to[600];

			if (!bpf_map__pin_path(m) || is_referent(bpf_map__name(m)) != !pass)
				continue;
			snprintf(from, sizeof(from), "%s/%s", p->staging, bpf_map__name(m));
			if (access(from, F_OK))
				continue; /* renamed by an earlier run, or flat */
			snprintf(to, sizeof(to), "%s/%s", pin_dir, bpf_map__name(m));
			if (rename(from, to)) {
				pw_err("cannot rename %s to %s: %s (the next start retries)", from,
				       to, strerror(errno));
				return -errno;
			}
			crash_point(++n);
		}
	}
	if (rmdir(p->staging) && errno != ENOENT) {
		pw_warn("cannot remove %s: %s", p->staging, strerror(errno));
		return -errno;
	}
	d = opendir(pin_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[600];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (!strncmp(de->d_name, "maps-", 5)) {
			int k = unpin_dir(path);

			n += k > 0 ? k : 0;
		} else if (pw_pin_name(de->d_name) && plan_index(obj, de->d_name) < 0 &&
			   !unlink(path))
			n++;
	}
	closedir(d);
	p->upgrade = false;
	p->staged = p->old_dirs = p->old_maps = 0;
	return n;
}

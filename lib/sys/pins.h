/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where each map of the BPF object is pinned, and the upgrade from maps of
 * another layout without a window (README: "Upgrade and uninstall").
 *
 * The maps in force are pinned at PIN/pw_<name>, always (bpftool paths stay).
 * A map whose pinned instance has the object's layout (type, key and value
 * size, max_entries, flags and the BTF shape of key and value) is reused as
 * it is, as on a plain restart. A map whose pinned instance has another
 * layout, or that must start empty because a map it refers to does, is
 * created in the staging directory PIN/maps-<layout id>, beside the old one
 * that the running programs still use. Once the agent's programs run on every
 * hook, pw_pins_commit() renames each staged map over the old pin and removes
 * what is left of other layouts (other maps-* directories, pw_* pins no map
 * of this object has). A crash at any point leaves a state that the next run
 * of the same agent finishes: a staged map is always preferred to a flat one.
 */
#ifndef PW_PINS_H
#define PW_PINS_H

#include <stdbool.h>
#include <stdint.h>

struct bpf_object;

struct pw_pins {
	char layout[16];   /* "maps-<crc32 hex>": this object's map layout */
	char staging[320]; /* PIN/<layout> */
	int staged;	   /* maps of this object pinned in staging */
	int old_maps;	   /* pins at PIN/pw_* that the staged ones replace or no map has */
	int old_dirs;	   /* maps-* directories of other layouts */
	/* Something to remove once the programs are this agent's everywhere. */
	bool upgrade;
	char staged_names[512]; /* "pw_endpoints pw_flows" (for the log) */
	/* The kernel ids of the maps going away: a program using one of them
	 * is a program of the old maps (and no other podwall's). */
	uint32_t old_ids[128];
	int n_old_ids;
};

/* The layout id of obj's pinned maps, "maps-<8 hex digits>" in buf. */
const char *pw_pins_layout(struct bpf_object *obj, char *buf, size_t len);

/* Before the load: check what is pinned under pin_dir and give every pinned
 * map of obj its pin path (reused flat, reused staged, or new). Refuses (an
 * error logged naming the path and what to do, nothing touched) when a pin
 * under pin_dir is not a map podwall made, or the staging directory holds a
 * map this layout did not make. */
int pw_pins_plan(struct bpf_object *obj, const char *pin_dir, struct pw_pins *p);

/* Does program prog_id use one of the maps going away? */
bool pw_pins_prog_is_old(const struct pw_pins *p, uint32_t prog_id);

/* After the take-over (no program of another layout runs): staged maps
 * replace the old pins (rename), the rest of other layouts is unpinned.
 * Returns the number of pins removed or replaced, or -errno. */
int pw_pins_commit(struct bpf_object *obj, const char *pin_dir, struct pw_pins *p);

#endif

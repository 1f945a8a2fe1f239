/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Thin libbpf glue: load the TC object with its maps pinned under a pin
 * directory (reusing maps already pinned there, so a restarted agent adopts
 * the state the kernel kept enforcing), attach/detach the programs on a host
 * veth, and small typed map helpers. No policy logic lives here.
 */
#ifndef PODWALL_BPFGLUE_H
#define PODWALL_BPFGLUE_H

#include <stdbool.h>
#include <stdint.h>

#include "mapops.h"
#include "pins.h"
#include "podwall/maps.h"

struct podwall_bpf;

struct pw_bpf {
	struct podwall_bpf *skel;
	/* A second instance of the programs on the same maps, for tcx repairs
	 * (loaded at the first one, kept: the verifier takes seconds). */
	struct podwall_bpf *clone;
	char pin_dir[256];
	/* endpoints_fd, learned_fd, ...: one <name>_fd a map of PW_MAPS. */
#define PW_MAP_FD_FIELD(name, key, value, max, shown) int name##_fd;
	PW_MAPS(PW_MAP_FD_FIELD)
#undef PW_MAP_FD_FIELD
	int fd[PW_MAPID_COUNT]; /* the same, by map id */
	bool percpu[PW_MAPID_COUNT];
	struct pw_maps maps; /* the typed map interface over these fds (mapops.h) */
	int egress_prog_fd, ingress_prog_fd;
	uint32_t egress_prog_id, ingress_prog_id;
	int hook;	     /* enum pw_hook_mode: PW_HOOK_TCX or PW_HOOK_LEGACY */
	bool tcx_kernel;     /* the kernel has tcx (6.6+) */
	struct pw_pins pins; /* where the maps are pinned; an upgrade in progress */
	uint64_t attach_ns;  /* how long the last pw_bpf_attach() took */
};

enum pw_hook_mode { PW_HOOK_AUTO, PW_HOOK_TCX, PW_HOOK_LEGACY };

/* Route libbpf's messages through pw_log; shown with -v. */
void pw_bpf_setup_logging(bool verbose);

/* Load and pin (or reuse pinned) maps under pin_dir. Returns 0 or -errno with
 * an operator-facing log line saying what to check. */
int pw_bpf_open(struct pw_bpf *b, const char *pin_dir);
void pw_bpf_close(struct pw_bpf *b);

/* How programs are hooked: tcx links placed first (Linux 6.6+, pinned under
 * PIN_DIR/links), or tc filters at priority 1 on a clsact qdisc, verified
 * first (older kernels, or forced). pw_bpf_open() picks AUTO. */
bool pw_bpf_tcx_supported(void);
int pw_bpf_set_hook(struct pw_bpf *b, enum pw_hook_mode mode);

/* Attach pod_egress to the TC ingress hook and pod_ingress to the TC egress
 * hook of ifindex, first on each, replacing an earlier podwall attachment in
 * place (tcx: bpf_link_update; tc: same handle). Foreign tc filters that held
 * priority 1 move behind podwall's (an `ingress` qdisc becomes a clsact with
 * the same filters). 0, or -errno with err naming what is in the way. */
int pw_bpf_attach(struct pw_bpf *b, int ifindex, char *err, size_t errlen);
/* Remove podwall's links and filters from ifindex (qdiscs stay). */
int pw_bpf_detach(struct pw_bpf *b, int ifindex);
/* Check the real order and program ids on both hooks: 0 if podwall's current
 * programs run first on both; else -errno and what says why. With repair,
 * what it can be fixed is: returns the number of hooks repaired (>= 0), or
 * -EPERM if something is still wrong (what says what was found). */
int pw_bpf_verify(struct pw_bpf *b, int ifindex, bool repair, char *what, size_t len);
/* true if podwall's programs run first on both hooks of ifindex. */
int pw_bpf_attached(struct pw_bpf *b, int ifindex);

/* An upgrade from maps of another layout (pins.h): once no hook of a known
 * endpoint (known(ifindex)) runs a podwall program other than this agent's,
 * detach such programs from the other interfaces and replace the old pins by
 * the new maps. Returns the pins removed or replaced (0: no upgrade pending),
 * -EBUSY with why naming a hook still on the old maps, or -errno. */
int pw_bpf_upgrade_finish(struct pw_bpf *b, bool (*known)(int ifindex, void *ctx), void *ctx,
			  char *why, size_t len);

/* Uninstall: detach podwall's programs (tc filters by handle and name, tcx
 * links or programs by name) from every interface of this network namespace,
 * then remove every pin under pin_dir and the directory. */
struct pw_cleanup {
	int tc_filters, tcx_links, interfaces, pins;
};
int pw_bpf_cleanup(const char *pin_dir, struct pw_cleanup *r);
/* podwall programs still attached to any interface here (after a cleanup: 0). */
int pw_bpf_leftovers(void);

/* Sum a per-CPU counter array entry / per-endpoint stats over CPUs. */
int pw_bpf_counters(struct pw_bpf *b, uint64_t out[PW_C_MAX]);
int pw_bpf_ep_stats(struct pw_bpf *b, uint32_t ep_id, struct pw_ep_stats *out);

/* Read-modify-write the config entry. */
int pw_bpf_config_get(struct pw_bpf *b, struct pw_config *cfg);
int pw_bpf_config_set(struct pw_bpf *b, const struct pw_config *cfg);

/* Fill level of a hash/LRU/LPM map (iterates keys). */
long pw_bpf_map_count(int fd);

/* Walk every entry of a (non per-CPU) map: fn(key, value, ctx) sees each one
 * (value NULL if it vanished meanwhile); the entries for which it returns true
 * are deleted after the walk. fn may be NULL (just count). Returns the number
 * of entries seen, or -errno. */
long pw_bpf_map_sweep(int fd, pw_map_visit_fn fn, void *ctx, long *deleted);

/* Test knob: when set, the map walks act as on a kernel without batch map
 * operations (5.10's LPM tries: -ENOTSUPP, count unchanged) and take their
 * key-by-key paths. */
extern bool pw_bpf_no_batch;

/* Long walks call this as they go, so a watchdog can tell "busy" from "stuck". */
extern void (*pw_bpf_progress_hook)(void);
void pw_bpf_progress(void);

uint64_t pw_now_ns(void); /* CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns() */

/* The BPF object built into this binary: "sha256:<hex>", the first
 * PW_BPF_OBJECT_ID_BYTES of the SHA-256 of its ELF bytes (ldns' sha256). */
#define PW_BPF_OBJECT_ID_BYTES 8
const char *pw_bpf_object_id(char *buf, size_t len);

#endif

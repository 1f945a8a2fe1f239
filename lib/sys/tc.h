/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The legacy TC hook as netlink sees it (libmnl): which qdisc holds a
 * device's ingress/clsact slot, the filters of a hook in the order the kernel
 * runs them, and moving a foreign filter to another priority (copy first,
 * then delete the original: the hook is never without it). No policy here.
 */
#ifndef PODWALL_TC_H
#define PODWALL_TC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One filter of a hook's chain 0, as dumped (in run order). */
struct pw_tc_filter {
	uint32_t prio, protocol; /* protocol in network byte order */
	uint32_t handle, chain;
	uint32_t bpf_id, bpf_flags; /* kind "bpf" only: program id, TCA_BPF_FLAGS */
	char kind[16];
	char bpf_name[64];
	int bpf_fd; /* kind "bpf": a held reference to its program, or -1 */
	void *msg;  /* the dumped message, for moving it */
	size_t len;
};

struct pw_tc_list {
	struct pw_tc_filter *f;
	size_t n;
};

/* The kernel's own words (extended ack) on the last failed request, or "". */
const char *pw_tc_last_error(void);
/* Kind of the qdisc at ffff: ("clsact", "ingress") or "" if none. */
int pw_tc_ingress_qdisc(int ifindex, char kind[16]);
/* Delete the qdisc at ffff: (and with it every filter on it). */
int pw_tc_ingress_qdisc_del(int ifindex);
/* Filters of chain 0 of the hook (parent ffff:fff2 ingress, ffff:fff3 egress),
 * in the order the kernel runs them. */
int pw_tc_filters(int ifindex, uint32_t parent, struct pw_tc_list *out);
void pw_tc_list_free(struct pw_tc_list *l);
/* Add a copy of f on (ifindex, parent) at prio. same_block: the original is
 * still in the same block (u32 keys then go into the new tp's own table). */
int pw_tc_filter_copy(int ifindex, uint32_t parent, const struct pw_tc_filter *f, uint32_t prio,
		      bool same_block, char *err, size_t errlen);
int pw_tc_filter_del(int ifindex, uint32_t parent, const struct pw_tc_filter *f);
/* Delete the whole classifier at prio (every filter in it). */
int pw_tc_prio_del(int ifindex, uint32_t parent, uint32_t prio, uint32_t protocol);
/* "u32 filter pref 1 handle 800::800", "bpf filter pref 1 handle 0x1 (prog 42 evil)" */
void pw_tc_describe(const struct pw_tc_filter *f, char *buf, size_t len);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A hostile TC program for the hook-ownership tests: it passes every packet
 * and ends classification (TC_ACT_OK = TCX_PASS), so whatever runs after it
 * on the hook (podwall, if it were not first) never sees the packet. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

__attribute__((section("tc"), used)) int hostile_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] __attribute__((section("license"), used)) = "GPL";

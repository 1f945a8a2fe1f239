// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pktvary: a benchmark-only TC program that gives every BPF_PROG_TEST_RUN
 * iteration a new 5-tuple, then tail-calls podwall's real pod_egress.
 *
 * test_run feeds the same frame `repeat` times; on the first-packet paths
 * (learned hit, CIDR hit) pod_egress inserts a flow, so from the second
 * iteration on every run would be a flow hit. Rewriting the destination
 * address (stepping through pv_addr_count addresses from pv_addr_base in a
 * scattered order) and the TCP source port before the tail call makes every
 * iteration a genuine flow miss that looks up a different allow-map entry.
 * pktbench measures this program's own cost (rewrite + tail call) on the
 * unmanaged path and subtracts it.
 *
 * Keys repeat only after lcm(pv_addr_count, 64511) iterations (64511 *
 * pv_dport_count when the address stays), far more than the 131072 flows
 * pw_flows keeps, so an old flow is evicted before its key comes back.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Slot 0: the program to continue in (podwall's pod_egress). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} pv_next SEC(".maps");

/* Set by pktbench between runs (.bss, read on every iteration). */
__u64 pv_iter;
__u32 pv_addr_base;   /* host order */
__u32 pv_addr_count;  /* destinations cycled through; 0 = leave the address */
__u32 pv_stride;      /* odd, coprime with pv_addr_count: a scattered order */
__u32 pv_dport_lo;    /* host order */
__u32 pv_dport_count; /* destination ports cycled through; 0 = leave the port */

#define SPORT_LO    1024
#define SPORT_CYCLE 64511 /* odd: coprime with every power-of-two address count */

SEC("tc")
int pv_vary(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct tcphdr *th = (void *)(iph + 1);
	__u64 i = pv_iter++;

	if ((void *)(th + 1) > data_end)
		return TC_ACT_SHOT;
	if (pv_addr_count)
		iph->daddr = bpf_htonl(pv_addr_base + (__u32)((i * pv_stride) % pv_addr_count));
	th->source = bpf_htons(SPORT_LO + (__u16)(i % SPORT_CYCLE));
	if (pv_dport_count)
		th->dest = bpf_htons((__u16)(pv_dport_lo + (i / SPORT_CYCLE) % pv_dport_count));
	bpf_tail_call(skb, &pv_next, 0);
	return TC_ACT_SHOT; /* the tail call failed: pktbench checks the verdict */
}

/* A tiny hash map for the calibration program below. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} pv_hash SEC(".maps");

__u64 pv_sink;

/* Calibration: what one helper call costs on this machine (x86 JIT: a call
 * and a return, both paying the kernel's Spectre/SRSO mitigations). */
SEC("tc")
int pv_ktime(struct __sk_buff *skb)
{
	pv_sink += bpf_ktime_get_ns();
	return TC_ACT_OK;
}

/* Calibration: one hash lookup (a hit on a 4-byte key, bucket in cache). */
SEC("tc")
int pv_lookup(struct __sk_buff *skb)
{
	__u32 k = 1;
	__u64 *v = bpf_map_lookup_elem(&pv_hash, &k);

	if (v)
		pv_sink += *v;
	return TC_ACT_OK;
}

/* The test_run floor: what the harness loop costs around any program. */
SEC("tc")
int pv_empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tcx_first OBJ IFINDEX ingress|egress PIN: attach OBJ's first program as a
 * tcx link placed before every other program on the hook and pin the link,
 * as a hostile node component with CAP_NET_ADMIN could (bpftool 7.1 cannot).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	union {
		struct {
			__u32 prog_fd, ifindex, attach_type, flags, relative_fd, pad;
			__u64 revision;
		} l;
		char pad[128];
	} attr;
	struct bpf_object *obj;
	struct bpf_program *p;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: tcx_first OBJ IFINDEX ingress|egress PIN\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "tcx_first: cannot load %s\n", argv[1]);
		return 1;
	}
	p = bpf_object__next_program(obj, NULL);
	memset(&attr, 0, sizeof(attr));
	attr.l.prog_fd = bpf_program__fd(p);
	attr.l.ifindex = (__u32)atoi(argv[2]);
	attr.l.attach_type = strcmp(argv[3], "egress") ? 46 : 47; /* BPF_TCX_INGRESS/EGRESS */
	attr.l.flags = 1U << 3;					  /* BPF_F_BEFORE: first */
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	if (fd < 0 || bpf_obj_pin(fd, argv[4])) {
		fprintf(stderr, "tcx_first: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "tc.h"

struct nl {
	struct mnl_socket *sk;
	uint32_t portid, seq;
};

static int nl_open(struct nl *nl)
{
	nl->sk = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sk)
		return -errno;
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl->sk);
		return err;
	}
	{
		int one = 1; /* the kernel's reason with each error */

		mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
}

/* The kernel's extended ack message of the last failed request. */
static __thread char last_extack[160];

const char *pw_tc_last_error(void)
{
	return last_extack;
}

static int err_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return MNL_CB_ERROR;
	if (!e->error)
		return MNL_CB_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_for_each(attr, nlh,
				  off) if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
					   mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			snprintf(last_extack, sizeof(last_extack), "%s", mnl_attr_get_str(attr));
	errno = -e->error;
	return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

/* Send one request and read replies until done; cb sees each message. */
static int nl_talk(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {[NLMSG_ERROR] = err_cb, [NLMSG_DONE] = done_cb};
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int ret;

	last_extack[0] = '\0';
	req->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sk, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		ret = mnl_cb_run2(buf, (size_t)n, req->nlmsg_seq, nl->portid, cb, data, ctl,
				  NLMSG_MIN_TYPE);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
}

static struct nlmsghdr *tc_req(char *buf, uint16_t type, uint16_t flags, int ifindex,
			       uint32_t parent, struct tcmsg **tcm_out)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	if (tcm_out)
		*tcm_out = tcm;
	return nlh;
}

/* ---------------------------------------------------------------- qdiscs */

struct qdisc_ctx {
	int ifindex;
	char *kind;
};

static int qdisc_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct qdisc_ctx *c = data;
	struct nlattr *attr;

	if (tcm->tcm_ifindex != c->ifindex || tcm->tcm_parent != TC_H_INGRESS)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*tcm)) if (mnl_attr_get_type(attr) == TCA_KIND)
		snprintf(c->kind, 16, "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

int pw_tc_ingress_qdisc(int ifindex, char kind[16])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct qdisc_ctx c = {ifindex, kind};
	struct nl nl;
	int err;

	kind[0] = '\0';
	err = nl_open(&nl);
	if (err)
		return err;
	err = nl_talk(&nl, tc_req(buf, RTM_GETQDISC, NLM_F_DUMP, ifindex, 0, NULL), qdisc_cb, &c);
	nl_close(&nl);
	return err;
}

int pw_tc_ingress_qdisc_del(int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct tcmsg *tcm;
	struct nlmsghdr *nlh;
	struct nl nl;
	int err;

	err = nl_open(&nl);
	if (err)
		return err;
	nlh = tc_req(buf, RTM_DELQDISC, NLM_F_ACK, ifindex, TC_H_INGRESS, &tcm);
	tcm->tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
	err = nl_talk(&nl, nlh, NULL, NULL);
	nl_close(&nl);
	return err;
}

/* --------------------------------------------------------------- filters */

static int bpf_opts_cb(const struct nlattr *attr, void *data)
{
	struct pw_tc_filter *f = data;

	switch (mnl_attr_get_type(attr)) {
	case TCA_BPF_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			f->bpf_id = mnl_attr_get_u32(attr);
		break;
	case TCA_BPF_FLAGS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			f->bpf_flags = mnl_attr_get_u32(attr);
		break;
	case TCA_BPF_NAME:
		snprintf(f->bpf_name, sizeof(f->bpf_name), "%s", mnl_attr_get_str(attr));
		break;
	}
	return MNL_CB_OK;
}

static int filter_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct pw_tc_list *l = data;
	struct pw_tc_filter f = {.bpf_fd = -1}, *nf;
	struct nlattr *attr, *opts = NULL;

	f.prio = TC_H_MAJ(tcm->tcm_info) >> 16;
	f.protocol = TC_H_MIN(tcm->tcm_info);
	f.handle = tcm->tcm_handle;
	mnl_attr_for_each(attr, nlh, sizeof(*tcm))
	{
		switch (mnl_attr_get_type(attr)) {
		case TCA_KIND:
			snprintf(f.kind, sizeof(f.kind), "%s", mnl_attr_get_str(attr));
			break;
		case TCA_CHAIN:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
				f.chain = mnl_attr_get_u32(attr);
			break;
		case TCA_OPTIONS:
			opts = attr;
			break;
		}
	}
	/* A classifier with no filter yet is dumped once with no options. */
	if (f.chain || !opts)
		return MNL_CB_OK;
	if (!strcmp(f.kind, "bpf"))
		mnl_attr_parse_nested(opts, bpf_opts_cb, &f);
	f.msg = malloc(nlh->nlmsg_len);
	nf = realloc(l->f, (l->n + 1) * sizeof(*l->f));
	if (!f.msg || !nf) {
		free(f.msg);
		if (nf)
			l->f = nf;
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	memcpy(f.msg, nlh, nlh->nlmsg_len);
	f.len = nlh->nlmsg_len;
	l->f = nf;
	l->f[l->n++] = f;
	return MNL_CB_OK;
}

void pw_tc_list_free(struct pw_tc_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->f[i].msg);
		if (l->f[i].bpf_fd >= 0)
			close(l->f[i].bpf_fd);
	}
	free(l->f);
	l->f = NULL;
	l->n = 0;
}

int pw_tc_filters(int ifindex, uint32_t parent, struct pw_tc_list *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nl nl;
	int err;

	out->f = NULL;
	out->n = 0;
	err = nl_open(&nl);
	if (err)
		return err;
	err = nl_talk(&nl, tc_req(buf, RTM_GETTFILTER, NLM_F_DUMP, ifindex, parent, NULL),
		      filter_cb, out);
	nl_close(&nl);
	if (err)
		pw_tc_list_free(out);
	return err;
}

void pw_tc_describe(const struct pw_tc_filter *f, char *buf, size_t len)
{
	if (!strcmp(f->kind, "u32"))
		snprintf(buf, len, "u32 filter pref %u handle %x:%x:%x", f->prio,
			 TC_U32_USERHTID(f->handle), TC_U32_HASH(f->handle),
			 TC_U32_NODE(f->handle));
	else if (!strcmp(f->kind, "bpf"))
		snprintf(buf, len, "bpf filter pref %u handle 0x%x (prog id %u%s%s)", f->prio,
			 f->handle, f->bpf_id, f->bpf_name[0] ? " " : "", f->bpf_name);
	else
		snprintf(buf, len, "%s filter pref %u handle 0x%x", f->kind, f->prio, f->handle);
}

/* A u32 key that jumps to another table (TCA_U32_LINK). */
static bool u32_links(const struct nlattr *opts)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, opts) if (mnl_attr_get_type(a) == TCA_U32_LINK) return true;
	return false;
}

int pw_tc_filter_copy(int ifindex, uint32_t parent, const struct pw_tc_filter *f, uint32_t prio,
		      bool same_block, char *err, size_t errlen)
{
	const struct nlmsghdr *orig = f->msg;
	const struct tcmsg *otcm = mnl_nlmsg_get_payload(orig);
	char *buf = calloc(1, MNL_SOCKET_BUFFER_SIZE);
	bool is_bpf = !strcmp(f->kind, "bpf"), is_u32 = !strcmp(f->kind, "u32");
	struct nlattr *attr, *nest;
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	int prog_fd = -1, ret = 0;
	struct nl nl = {0};
	char what[128];

	pw_tc_describe(f, what, sizeof(what));
	if (!buf)
		return -ENOMEM;
	nlh = tc_req(buf, RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, ifindex, parent,
		     &tcm);
	tcm->tcm_info = TC_H_MAKE(prio << 16, f->protocol);
	tcm->tcm_handle = otcm->tcm_handle;
	if (is_u32 && same_block) {
		/* u32 tables are shared by the block: a key moved to a new
		 * priority gets a fresh handle in that priority's own root. Only
		 * the single-table form (one root, keys in it) is moved. */
		if (!TC_U32_KEY(f->handle)) {
			ret = 0; /* the root table: made with the new classifier */
			goto out;
		}
		tcm->tcm_handle = 0;
	}
	if (is_bpf) {
		prog_fd = f->bpf_fd >= 0 ? dup(f->bpf_fd) : bpf_prog_get_fd_by_id(f->bpf_id);
		if (prog_fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: cannot open its program: %s", what,
				 strerror(-ret));
			goto out;
		}
	}
	mnl_attr_for_each(attr, orig, sizeof(*otcm))
	{
		uint16_t type = mnl_attr_get_type(attr);
		const struct nlattr *a;

		if (type == TCA_KIND) {
			mnl_attr_put_strz(nlh, TCA_KIND, f->kind);
			continue;
		}
		if (type != TCA_OPTIONS)
			continue; /* stats, offload flags: not for a new filter */
		if (!is_bpf && !is_u32) {
			mnl_attr_put(nlh, TCA_OPTIONS, mnl_attr_get_payload_len(attr),
				     mnl_attr_get_payload(attr));
			continue;
		}
		if (is_u32 && same_block && u32_links(attr)) {
			ret = -EOPNOTSUPP;
			goto out;
		}
		nest = mnl_attr_nest_start(nlh, TCA_OPTIONS);
		mnl_attr_for_each_nested(a, attr)
		{
			uint16_t t = mnl_attr_get_type(a);

			if (is_bpf && (t == TCA_BPF_ID || t == TCA_BPF_TAG))
				continue;
			if (is_u32 && (t == TCA_U32_PCNT || (same_block && t == TCA_U32_HASH)))
				continue; /* counters; the table of the new classifier */
			if (((is_u32 && t == TCA_U32_FLAGS) ||
			     (is_bpf && t == TCA_BPF_FLAGS_GEN)) &&
			    mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
				/* dumps add state bits (not in hardware): not input */
				mnl_attr_put_u32(nlh, t,
						 mnl_attr_get_u32(a) & (TCA_CLS_FLAGS_SKIP_HW |
									TCA_CLS_FLAGS_SKIP_SW));
				continue;
			}
			mnl_attr_put(nlh, t, mnl_attr_get_payload_len(a), mnl_attr_get_payload(a));
		}
		if (is_bpf)
			mnl_attr_put_u32(nlh, TCA_BPF_FD, (uint32_t)prog_fd);
		mnl_attr_nest_end(nlh, nest);
	}
	ret = nl_open(&nl);
	if (!ret)
		ret = nl_talk(&nl, nlh, NULL, NULL);
	if (ret == -EEXIST && is_u32 && !TC_U32_KEY(f->handle))
		ret = 0; /* a table the new classifier already made */
out:
	if (ret == -EOPNOTSUPP)
		snprintf(err, errlen, "%s links to another u32 table: cannot move it", what);
	else if (ret && !err[0])
		snprintf(err, errlen, "cannot copy %s to pref %u: %s%s%s", what, prio,
			 strerror(-ret), last_extack[0] ? ": " : "", last_extack);
	nl_close(&nl);
	if (prog_fd >= 0)
		close(prog_fd);
	free(buf);
	return ret;
}

static int filter_del(int ifindex, uint32_t parent, uint32_t prio, uint32_t protocol,
		      uint32_t handle, const char *kind)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	struct nl nl;
	int err;

	err = nl_open(&nl);
	if (err)
		return err;
	nlh = tc_req(buf, RTM_DELTFILTER, NLM_F_ACK, ifindex, parent, &tcm);
	tcm->tcm_info = TC_H_MAKE(prio << 16, protocol);
	tcm->tcm_handle = handle;
	if (kind)
		mnl_attr_put_strz(nlh, TCA_KIND, kind);
	err = nl_talk(&nl, nlh, NULL, NULL);
	nl_close(&nl);
	return err == -ENOENT ? 0 : err;
}

int pw_tc_filter_del(int ifindex, uint32_t parent, const struct pw_tc_filter *f)
{
	return filter_del(ifindex, parent, f->prio, f->protocol, f->handle, f->kind);
}

int pw_tc_prio_del(int ifindex, uint32_t parent, uint32_t prio, uint32_t protocol)
{
	return filter_del(ifindex, parent, prio, protocol, 0, NULL);
}

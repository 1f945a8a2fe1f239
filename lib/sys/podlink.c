// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podlink: the host veths of pods the agent was never told about. For each
 * network namespace on the node (bind mounts in /run/netns, the namespaces of
 * the processes in /proc), a thread of our own enters it and asks the kernel
 * (rtnetlink, through libmnl) for its veths, their peers and their addresses,
 * and for the id our namespace has there. A veth whose peer's link-netnsid is
 * that id has its other end in our namespace: that end (IFLA_LINK) is the
 * pod's host veth. The caller's thread never leaves its namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>

#include "log.h"
#include "podlink.h"

#define MAX_NETNS 4096 /* distinct namespaces looked at in one scan */

struct link {
	uint32_t ifindex, peer_ifindex;
	int32_t peer_nsid;
	char ifname[IF_NAMESIZE];
};

struct scan {
	int self_fd; /* our namespace, for RTM_GETNSID */
	struct stat self;
	struct pw_podlink *v;
	size_t n, cap;
	struct {
		dev_t dev;
		ino_t ino;
	} seen[MAX_NETNS];
	size_t n_seen;
	int ret;
	/* one namespace at a time */
	struct link *links;
	size_t n_links, cap_links;
	int32_t our_nsid;
};

/* ---- rtnetlink ---------------------------------------------------------------- */

static int request(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t portid = mnl_socket_get_portid(nl), seq = (uint32_t)time(NULL);
	ssize_t len;
	int ret;

	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)len, seq, portid, cb, data);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

static int linkinfo_kind_cb(const struct nlattr *attr, void *data)
{
	const char **kind = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && !mnl_attr_validate(attr, MNL_TYPE_STRING))
		*kind = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

struct link_attrs {
	const char *ifname, *kind;
	uint32_t peer;
	bool has_peer, has_nsid;
	int32_t nsid;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_attrs *la = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (!mnl_attr_validate(attr, MNL_TYPE_STRING))
			la->ifname = mnl_attr_get_str(attr);
		break;
	case IFLA_LINK:
		if (!mnl_attr_validate(attr, MNL_TYPE_U32)) {
			la->peer = mnl_attr_get_u32(attr);
			la->has_peer = true;
		}
		break;
	case IFLA_LINK_NETNSID:
		if (!mnl_attr_validate(attr, MNL_TYPE_U32)) {
			la->nsid = (int32_t)mnl_attr_get_u32(attr);
			la->has_nsid = true;
		}
		break;
	case IFLA_LINKINFO:
		if (!mnl_attr_validate(attr, MNL_TYPE_NESTED))
			mnl_attr_parse_nested(attr, linkinfo_kind_cb, &la->kind);
		break;
	}
	return MNL_CB_OK;
}

/* Veths whose peer is in another namespace. */
static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_attrs la = {0};
	struct scan *s = data;
	struct link *l;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, &la);
	if (!la.kind || strcmp(la.kind, "veth") || !la.has_peer || !la.has_nsid || !la.ifname ||
	    la.nsid < 0 || ifi->ifi_index <= 0)
		return MNL_CB_OK;
	if (s->n_links == s->cap_links) {
		size_t cap = s->cap_links ? s->cap_links * 2 : 8;
		struct link *nl = realloc(s->links, cap * sizeof(*nl));

		if (!nl)
			return MNL_CB_ERROR;
		s->links = nl;
		s->cap_links = cap;
	}
	l = &s->links[s->n_links++];
	l->ifindex = (uint32_t)ifi->ifi_index;
	l->peer_ifindex = la.peer;
	l->peer_nsid = la.nsid;
	snprintf(l->ifname, sizeof(l->ifname), "%s", la.ifname);
	return MNL_CB_OK;
}

static int nsid_attr_cb(const struct nlattr *attr, void *data)
{
	int32_t *nsid = data;

	if (mnl_attr_get_type(attr) == NETNSA_NSID && !mnl_attr_validate(attr, MNL_TYPE_U32))
		*nsid = (int32_t)mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int nsid_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWNSID)
		mnl_attr_parse(nlh, sizeof(struct rtgenmsg), nsid_attr_cb, data);
	return MNL_CB_OK;
}

struct addr_attrs {
	const void *local, *address;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	struct addr_attrs *aa = data;

	if (mnl_attr_get_type(attr) == IFA_LOCAL)
		aa->local = mnl_attr_get_payload(attr);
	else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
		aa->address = mnl_attr_get_payload(attr);
	return MNL_CB_OK;
}

struct addr_ctx {
	struct scan *s;
	size_t first; /* this namespace's links in s->v start here */
};

/* Addresses of the pod ends found in this namespace. */
static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_attrs aa = {0};
	struct addr_ctx *c = data;
	const void *p;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	if (ifa->ifa_family == AF_INET)
		alen = 4;
	else if (ifa->ifa_family == AF_INET6)
		alen = 16;
	else
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, &aa);
	/* IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on
	 * point-to-point links); IPv6 has only IFA_ADDRESS. */
	p = aa.local ? aa.local : aa.address;
	if (!p)
		return MNL_CB_OK;
	for (size_t i = 0; i < c->s->n_links; i++) {
		struct pw_podlink *pl;

		if (c->s->links[i].ifindex != ifa->ifa_index)
			continue;
		for (size_t j = c->first; j < c->s->n; j++) {
			pl = &c->s->v[j];
			if (strcmp(pl->pod_ifname, c->s->links[i].ifname) ||
			    pl->n_addrs == PW_PODLINK_MAX_ADDRS)
				continue;
			memset(&pl->addrs[pl->n_addrs].ip, 0, sizeof(pl->addrs[0].ip));
			pl->addrs[pl->n_addrs].family = alen == 4 ? PW_FAMILY_V4 : PW_FAMILY_V6;
			memcpy(&pl->addrs[pl->n_addrs].ip, p, alen);
			pl->n_addrs++;
		}
	}
	return MNL_CB_OK;
}

static struct nlmsghdr *msg(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

/* The thread is in the namespace to look at: what of it is a pod end of ours? */
static int look(struct scan *s, const char *path)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh;
	struct addr_ctx ac = {.s = s, .first = s->n};
	struct rtgenmsg *rt;
	size_t found = 0;
	int ret;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	s->n_links = 0;
	nlh = msg(buf, RTM_GETLINK, NLM_F_DUMP);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	ret = request(nl, nlh, link_cb, s);
	if (ret || !s->n_links)
		goto out;
	/* Asked after the dump: reporting a peer allocates the id. */
	s->our_nsid = -1;
	nlh = msg(buf, RTM_GETNSID, NLM_F_ACK); /* the ACK ends the reply */
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)s->self_fd);
	ret = request(nl, nlh, nsid_cb, &s->our_nsid);
	if (ret || s->our_nsid < 0)
		goto out;
	for (size_t i = 0; i < s->n_links; i++) {
		struct pw_podlink *pl;

		if (s->links[i].peer_nsid != s->our_nsid)
			continue;
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 32;
			struct pw_podlink *nv = realloc(s->v, cap * sizeof(*nv));

			if (!nv) {
				ret = -ENOMEM;
				goto out;
			}
			s->v = nv;
			s->cap = cap;
		}
		pl = &s->v[s->n++];
		memset(pl, 0, sizeof(*pl));
		pl->host_ifindex = s->links[i].peer_ifindex;
		snprintf(pl->pod_ifname, sizeof(pl->pod_ifname), "%s", s->links[i].ifname);
		snprintf(pl->netns, sizeof(pl->netns), "%s", path);
		found++;
	}
	if (!found)
		goto out;
	nlh = msg(buf, RTM_GETADDR, NLM_F_DUMP);
	((struct ifaddrmsg *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifaddrmsg)))
		->ifa_family = AF_UNSPEC;
	ret = request(nl, nlh, addr_cb, &ac);
out:
	mnl_socket_close(nl);
	return ret;
}

/* Each namespace once; ours is not a pod's. */
static bool first_time(struct scan *s, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return false;
	if (st.st_dev == s->self.st_dev && st.st_ino == s->self.st_ino)
		return false;
	for (size_t i = 0; i < s->n_seen; i++)
		if (s->seen[i].dev == st.st_dev && s->seen[i].ino == st.st_ino)
			return false;
	if (s->n_seen == MAX_NETNS)
		return false;
	s->seen[s->n_seen].dev = st.st_dev;
	s->seen[s->n_seen].ino = st.st_ino;
	s->n_seen++;
	return true;
}

static void visit(struct scan *s, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (first_time(s, fd) && !setns(fd, CLONE_NEWNET)) {
		int ret = look(s, path);

		if (ret == -ENOMEM)
			s->ret = ret;
		else if (ret)
			pw_debug("podlink: %s: %s", path, strerror(-ret));
	}
	close(fd);
}

static void *scan_thread(void *arg)
{
	static const char *const dirs[] = {"/run/netns", "/var/run/netns"};
	struct scan *s = arg;
	char path[300];
	struct dirent *de;
	DIR *d;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !s->ret; i++) {
		d = opendir(dirs[i]);
		if (!d)
			continue;
		while ((de = readdir(d)) && !s->ret) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], de->d_name);
			visit(s, path);
		}
		closedir(d);
	}
	d = opendir("/proc");
	if (!d)
		return NULL;
	while ((de = readdir(d)) && !s->ret) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		visit(s, path);
	}
	closedir(d);
	return NULL;
}

int pw_podlink_scan(struct pw_podlink **out, size_t *n)
{
	struct scan *s = calloc(1, sizeof(*s));
	pthread_t t;
	int ret;

	*out = NULL;
	*n = 0;
	if (!s)
		return -ENOMEM;
	s->self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->self_fd < 0 || fstat(s->self_fd, &s->self)) {
		ret = -errno;
		goto out;
	}
	ret = -pthread_create(&t, NULL, scan_thread, s);
	if (ret)
		goto out;
	pthread_join(t, NULL);
	ret = s->ret;
	if (!ret) {
		*out = s->v;
		*n = s->n;
		s->v = NULL;
	}
out:
	if (s->self_fd >= 0)
		close(s->self_fd);
	free(s->links);
	free(s->v);
	free(s);
	return ret;
}

const struct pw_podlink *pw_podlink_find(const struct pw_podlink *v, size_t n, uint8_t family,
					 const union pw_ip *ip, bool *ambiguous)
{
	const struct pw_podlink *hit = NULL;
	size_t alen = family == PW_FAMILY_V4 ? 4 : 16;

	*ambiguous = false;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < v[i].n_addrs; j++) {
			if (v[i].addrs[j].family != family || memcmp(&v[i].addrs[j].ip, ip, alen))
				continue;
			if (hit && hit->host_ifindex != v[i].host_ifindex) {
				*ambiguous = true;
				return NULL;
			}
			hit = &v[i];
		}
	return hit;
}

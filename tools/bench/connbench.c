// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * connbench: the small clients and the server of podwall's benchmarks. Every
 * loop is bounded in count and in time; results are one JSON object on stdout.
 *
 *   serve    --addr IP --conn-port P --fetch-port P [--seconds S]
 *            conn port: accept and close at once (the server closes first, so
 *            the client keeps no TIME_WAIT); fetch port: read "GET <bytes>\n",
 *            send that many bytes, close.
 *   conn     --dst IP:PORT [--count N] [--seconds S]
 *            connect, wait for the server's close, close; new connections/s.
 *            (conn and fetch exit 1 when nothing succeeded.)
 *   fetch    --dst IP:PORT [--proxy IP:PORT] --size BYTES [--count N] [--seconds S]
 *            one request per connection (through an HTTP CONNECT proxy if
 *            given); request latency percentiles, requests/s, bits/s.
 *   probe    --dst IP:PORT [--rename SRC DST | --unlink PATH] [--seconds S]
 *            [--until ok|denied]
 *            rename (or remove) a policy file, then try a new connection every
 *            0.5 ms until one succeeds (or, --until denied, until one gets no
 *            answer within 100 ms); prints the time from the file operation.
 *   dnsreact --server IP --names FILE [--netns PATH] [--pin DIR --ifindex N --ttl S]
 *            one A query per line of FILE ("name address"), from the given
 *            network namespace; query -> answer time, and with --pin the
 *            agent's learn time read back from pw_learned (expiry - TTL).
 *   dnsping  --server IP[:PORT] --names FILE [--qps Q] [--count N] [--seconds S]
 *            [--threads 1|2]
 *            A queries at Q a second, one outstanding; query -> answer time by
 *            rcode. --threads 1: the sender waits for the answer itself, so an
 *            answer made inside send() (the kernel's REFUSED) costs no wake-up;
 *            --threads 2: a receiver thread blocked in poll(), as dnsperf's. To
 *            a closed port, the kernel's ICMP port unreachable is the answer.
 *   dnsecho  --addr IP [--seconds S]
 *            a UDP responder on IP:53 that answers every query REFUSED (header
 *            and question only, as the kernel's answer): the client's floor
 *            with a responder in userspace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "podwall/maps.h"

#define MAX_SAMPLES   2000000
#define IO_TIMEOUT_MS 5000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "connbench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return sa->sin_port ? 0 : -1;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ------------------------------------------------------------ statistics */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

static void print_lat(const char *prefix, double *v, size_t n)
{
	double sum = 0;

	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	printf("\"%sp50_us\":%.1f,\"%sp90_us\":%.1f,\"%sp99_us\":%.1f,\"%smean_us\":%.1f,"
	       "\"%smax_us\":%.1f",
	       prefix, pct(v, n, 50), prefix, pct(v, n, 90), prefix, pct(v, n, 99), prefix,
	       n ? sum / (double)n : 0, prefix, n ? v[n - 1] : 0);
}

/* ------------------------------------------------------------ serve */

static char payload[65536];

static void serve_fetch(int fd)
{
	char req[128];
	size_t got = 0;
	unsigned long long want, sent = 0;

	set_timeouts(fd, IO_TIMEOUT_MS);
	while (got < sizeof(req) - 1) {
		ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);

		if (n <= 0)
			return;
		got += (size_t)n;
		if (memchr(req, '\n', got))
			break;
	}
	req[got] = '\0';
	if (sscanf(req, "GET %llu", &want) != 1)
		return;
	while (sent < want) {
		size_t chunk =
		    want - sent < sizeof(payload) ? (size_t)(want - sent) : sizeof(payload);
		ssize_t n = write(fd, payload, chunk);

		if (n <= 0)
			return;
		sent += (unsigned long long)n;
	}
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		die("bad listen address %s", addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096))
		die("cannot listen on %s", addr);
	return fd;
}

static int cmd_serve(const char *addr, int cport, int fport, double seconds)
{
	struct pollfd p[2];
	double end = now_s() + seconds;

	memset(payload, 'x', sizeof(payload));
	p[0].fd = listen_on(addr, cport);
	p[1].fd = listen_on(addr, fport);
	p[0].events = p[1].events = POLLIN;
	printf("ready\n");
	fflush(stdout);
	while (now_s() < end) {
		if (poll(p, 2, 200) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			int fd;

			while ((fd = accept4(p[0].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
				close(fd);
		}
		if (p[1].revents & POLLIN) {
			int fd;

			while ((fd = accept4(p[1].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				serve_fetch(fd);
				close(fd);
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------ conn */

static int cmd_conn(const struct sockaddr_in *dst, long count, double seconds)
{
	double *lat = calloc(MAX_SAMPLES, sizeof(*lat));
	double t0 = now_s(), end = t0 + seconds, t;
	long ok = 0, fail = 0;
	char buf[64];

	if (!lat)
		die("%s", "out of memory");
	while (ok + fail < count && (t = now_s()) < end) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool good = false;

		if (fd < 0) {
			fail++;
			continue;
		}
		set_timeouts(fd, 1000);
		if (!connect(fd, (const struct sockaddr *)dst, sizeof(*dst)))
			good = read(fd, buf, sizeof(buf)) == 0; /* the server's close */
		close(fd);
		if (good) {
			if (ok < MAX_SAMPLES)
				lat[ok] = (now_s() - t) * 1e6;
			ok++;
		} else {
			fail++;
		}
	}
	t = now_s() - t0;
	printf("{\"ok\":%ld,\"fail\":%ld,\"seconds\":%.3f,\"rate\":%.1f,", ok, fail, t,
	       (double)ok / t);
	print_lat("", lat, ok < MAX_SAMPLES ? (size_t)ok : MAX_SAMPLES);
	printf("}\n");
	free(lat);
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------ fetch */

/* Read an HTTP response head; 0 if it says 200. */
static int proxy_head(int fd)
{
	char buf[2048];
	size_t got = 0;

	while (got < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + got, 1); /* byte by byte: no tunnel bytes eaten */

		if (n <= 0)
			return -1;
		got++;
		buf[got] = '\0';
		if (got >= 4 && !memcmp(buf + got - 4, "\r\n\r\n", 4))
			return strncmp(buf, "HTTP/1.1 200", 12) && strncmp(buf, "HTTP/1.0 200", 12);
	}
	return -1;
}

static long long fetch_one(const struct sockaddr_in *dst, const struct sockaddr_in *proxy,
			   unsigned long long size)
{
	static char buf[65536];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	long long got = 0;
	char req[160], ip[32];
	ssize_t n;

	if (fd < 0)
		return -1;
	set_timeouts(fd, IO_TIMEOUT_MS);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)(proxy ? proxy : dst), sizeof(*dst)))
		goto fail;
	if (proxy) {
		inet_ntop(AF_INET, &dst->sin_addr, ip, sizeof(ip));
		n = snprintf(req, sizeof(req), "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n\r\n", ip,
			     ntohs(dst->sin_port), ip, ntohs(dst->sin_port));
		if (write(fd, req, (size_t)n) != n || proxy_head(fd))
			goto fail;
	}
	n = snprintf(req, sizeof(req), "GET %llu\n", size);
	if (write(fd, req, (size_t)n) != n)
		goto fail;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		got += n;
	if (n < 0 || (unsigned long long)got != size)
		goto fail;
	close(fd);
	return got;
fail:
	close(fd);
	return -1;
}

static int cmd_fetch(const struct sockaddr_in *dst, const struct sockaddr_in *proxy,
		     unsigned long long size, long count, double seconds)
{
	double *lat = calloc(MAX_SAMPLES, sizeof(*lat));
	double t0 = now_s(), end = t0 + seconds, t;
	long ok = 0, fail = 0;
	long long bytes = 0;

	if (!lat)
		die("%s", "out of memory");
	while (ok + fail < count && (t = now_s()) < end) {
		long long n = fetch_one(dst, proxy, size);

		if (n < 0) {
			fail++;
			continue;
		}
		if (ok < MAX_SAMPLES)
			lat[ok] = (now_s() - t) * 1e6;
		ok++;
		bytes += n;
	}
	t = now_s() - t0;
	printf("{\"ok\":%ld,\"fail\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"bytes\":%lld,"
	       "\"bits_per_second\":%.0f,",
	       ok, fail, t, (double)ok / t, bytes, (double)bytes * 8 / t);
	print_lat("", lat, ok < MAX_SAMPLES ? (size_t)ok : MAX_SAMPLES);
	printf("}\n");
	free(lat);
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------ probe */

#define PROBE_SLOTS 64

static int cmd_probe(const struct sockaddr_in *dst, const char *src, const char *dstpath,
		     const char *unlink_path, double seconds, bool until_denied)
{
	struct pollfd p[PROBE_SLOTS];
	double started[PROBE_SLOTS];
	double t0, end, next = 0;
	long attempts = 0;

	for (int i = 0; i < PROBE_SLOTS; i++)
		p[i].fd = -1;
	t0 = now_s();
	if (src && rename(src, dstpath))
		die("rename %s", src);
	if (unlink_path && unlink(unlink_path))
		die("unlink %s", unlink_path);
	end = t0 + seconds;
	while (now_s() < end) {
		double t = now_s();

		if (until_denied) {
			/* One attempt at a time; a SYN that gets no answer in
			 * 100 ms was dropped. */
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			struct pollfd q = {.fd = fd, .events = POLLOUT};
			int err = 0;
			socklen_t el = sizeof(err);

			attempts++;
			if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) &&
			    errno != EINPROGRESS) {
				close(fd);
				continue;
			}
			if (poll(&q, 1, 100) == 0) {
				close(fd);
				printf("{\"ok\":true,\"ms\":%.3f,\"attempts\":%ld}\n",
				       (now_s() - t0) * 1e3 - 100, attempts);
				return 0;
			}
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			close(fd);
			usleep(2000);
			continue;
		}
		if (t >= next) {
			int slot = (int)(attempts % PROBE_SLOTS);

			if (p[slot].fd >= 0)
				close(p[slot].fd);
			p[slot].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			p[slot].events = POLLOUT;
			started[slot] = t;
			attempts++;
			if (connect(p[slot].fd, (const struct sockaddr *)dst, sizeof(*dst)) &&
			    errno != EINPROGRESS) {
				close(p[slot].fd);
				p[slot].fd = -1;
			}
			next = t + 0.0005;
		}
		if (poll(p, PROBE_SLOTS, 0) > 0) {
			for (int i = 0; i < PROBE_SLOTS; i++) {
				int err = 0;
				socklen_t el = sizeof(err);

				if (p[i].fd < 0 || !(p[i].revents & (POLLOUT | POLLERR | POLLHUP)))
					continue;
				getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (!err && (p[i].revents & POLLOUT)) {
					double done = now_s();

					printf(
					    "{\"ok\":true,\"ms\":%.3f,\"attempt_started_ms\":%.3f,"
					    "\"attempts\":%ld}\n",
					    (done - t0) * 1e3, (started[i] - t0) * 1e3, attempts);
					for (int j = 0; j < PROBE_SLOTS; j++)
						if (p[j].fd >= 0)
							close(p[j].fd);
					return 0;
				}
				close(p[i].fd);
				p[i].fd = -1;
			}
		}
		usleep(50);
	}
	for (int j = 0; j < PROBE_SLOTS; j++)
		if (p[j].fd >= 0)
			close(p[j].fd);
	printf("{\"ok\":false,\"attempts\":%ld}\n", attempts);
	return 1;
}

/* ------------------------------------------------------------ dnsreact */

static size_t dns_query(uint8_t *buf, uint16_t id, const char *name)
{
	size_t off = 12;
	const char *s = name;

	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		buf[off++] = (uint8_t)l;
		memcpy(buf + off, s, l);
		off += l;
		s += l + (dot ? 1 : 0);
	}
	buf[off++] = 0;
	buf[off++] = 0;
	buf[off++] = 1; /* A */
	buf[off++] = 0;
	buf[off++] = 1; /* IN */
	return off;
}

static int cmd_dnsreact(const char *server, const char *names, const char *netns, const char *pin,
			unsigned ifindex, unsigned ttl)
{
	char line[512], name[300], addr[64], path[600];
	double q2a[1024], q2l[1024], l2a[1024];
	size_t n = 0, nl = 0, lost = 0, missing = 0;
	int learned_fd = -1, fd;
	uint32_t ep_id = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	FILE *f = fopen(names, "re");

	if (!f)
		die("cannot read %s", names);
	if (pin) {
		int ep_fd;
		struct pw_endpoint ep;

		snprintf(path, sizeof(path), "%s/%s", pin, PW_MAP_NAME(endpoints));
		ep_fd = bpf_obj_get(path);
		snprintf(path, sizeof(path), "%s/%s", pin, PW_MAP_NAME(learned));
		learned_fd = bpf_obj_get(path);
		if (ep_fd < 0 || learned_fd < 0 || bpf_map_lookup_elem(ep_fd, &ifindex, &ep))
			die("cannot read the endpoint from the maps under %s", pin);
		ep_id = ep.ep_id;
		close(ep_fd);
	}
	if (netns) {
		int nfd = open(netns, O_RDONLY | O_CLOEXEC);

		if (nfd < 0 || setns(nfd, CLONE_NEWNET))
			die("cannot enter %s", netns);
		close(nfd);
	}
	if (inet_pton(AF_INET, server, &sa.sin_addr) != 1)
		die("bad server %s", server);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("cannot reach %s", server);
	srand((unsigned)now_ns());
	while (fgets(line, sizeof(line), f) && n < 1024) {
		uint8_t q[512], r[1500];
		uint16_t id = (uint16_t)rand();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t t0, t1 = 0;
		size_t ql;

		if (sscanf(line, "%299s %63s", name, addr) != 2)
			continue;
		ql = dns_query(q, id, name);
		t0 = now_ns();
		if (send(fd, q, ql, 0) != (ssize_t)ql) {
			lost++;
			continue;
		}
		while (poll(&p, 1, 2000) > 0) {
			ssize_t m = recv(fd, r, sizeof(r), 0);

			if (m >= 12 && r[0] == (uint8_t)(id >> 8) && r[1] == (uint8_t)id) {
				t1 = now_ns();
				break;
			}
		}
		if (!t1) {
			lost++;
			continue;
		}
		q2a[n] = (double)(t1 - t0) / 1e3;
		if (learned_fd >= 0) {
			struct pw_learned_key k;
			struct pw_learned_val v;
			uint32_t a4;

			memset(&k, 0, sizeof(k));
			k.ep_id = ep_id;
			k.family = PW_FAMILY_V4;
			inet_pton(AF_INET, addr, &a4);
			memcpy(&k.addr, &a4, 4);
			if (bpf_map_lookup_elem(learned_fd, &k, &v)) {
				missing++;
			} else {
				uint64_t learn = v.expires_ns - (uint64_t)ttl * 1000000000ULL;

				q2l[nl] = ((double)learn - (double)t0) / 1e3;
				l2a[nl] = ((double)t1 - (double)learn) / 1e3;
				nl++;
			}
		}
		n++;
		usleep(20000); /* one at a time, nothing queued behind */
	}
	fclose(f);
	printf("{\"answers\":%zu,\"lost\":%zu,\"not_learned\":%zu,", n, lost, missing);
	print_lat("q2a_", q2a, n);
	if (learned_fd >= 0) {
		printf(",\"learned\":%zu,", nl);
		print_lat("q2l_", q2l, nl);
		printf(",");
		print_lat("l2a_", l2a, nl);
	}
	printf("}\n");
	return 0;
}

/* ------------------------------------------------------------ dnsping */

#define PING_MAX   200000
#define RC_UNREACH 15 /* not an rcode: ICMP port unreachable (ECONNREFUSED) */

struct ping {
	int fd;
	size_t n;	   /* queries sent */
	uint64_t *t0;	   /* send time, by query index (the DNS id) */
	double *lat;	   /* query -> answer, µs, by query index; < 0: none yet */
	uint8_t *rcode;	   /* by query index */
	volatile int done; /* the sender is finished (2 threads) */
};

/* One answer: its id is the query's index (mod 65536, one outstanding). */
static int ping_recv(struct ping *p, int timeout_ms)
{
	struct pollfd pf = {.fd = p->fd, .events = POLLIN};
	uint8_t r[1500];

	while (poll(&pf, 1, timeout_ms) > 0) {
		uint64_t t1 = now_ns();
		ssize_t m = recv(p->fd, r, sizeof(r), MSG_DONTWAIT);
		size_t i, n;

		n = __atomic_load_n(&p->n, __ATOMIC_ACQUIRE);
		if (m < 0 && errno == ECONNREFUSED && n && p->lat[n - 1] < 0) {
			/* ICMP port unreachable: the kernel's own answer */
			p->rcode[n - 1] = RC_UNREACH;
			p->lat[n - 1] = (double)(t1 - p->t0[n - 1]) / 1e3;
			return 1;
		}
		if (m < 12)
			continue;
		i = (size_t)(r[0] << 8 | r[1]);
		if (!n || ((n - 1) & 0xffff) != i)
			continue; /* a late answer to an earlier query: not timed */
		i = n - 1;
		if (p->lat[i] >= 0)
			continue;
		p->rcode[i] = r[3] & 0x0f;
		p->lat[i] = (double)(t1 - p->t0[i]) / 1e3;
		return 1;
	}
	return 0;
}

static void *ping_receiver(void *arg)
{
	struct ping *p = arg;

	while (!p->done)
		ping_recv(p, 100);
	return NULL;
}

static int cmd_dnsping(const char *server, const char *names, long qps, long count, double seconds,
		       int threads)
{
	static const char *rc_name[16] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
					  "REFUSED", [RC_UNREACH] = "port_unreachable"};
	char (*name)[256] = calloc(4096, sizeof(*name)), line[512];
	size_t nn = 0, ok = 0, lost = 0, by_rc[16] = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	struct ping p = {0};
	pthread_t rx;
	double *v, t_end;
	uint64_t start, gap;
	FILE *f = fopen(names, "re");

	if (!f || !name)
		die("cannot read %s", names);
	while (nn < 4096 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s", name[nn]) == 1)
			nn++;
	fclose(f);
	if (!nn)
		die("no names in %s", names);
	if (qps < 1 || qps > 100000 || (threads != 1 && threads != 2))
		die("%s", "--qps must be in [1, 100000], --threads 1 or 2");
	if (count > PING_MAX)
		count = PING_MAX;
	if (strchr(server, ':') ? parse_addr(server, &sa) : inet_pton(AF_INET, server, &sa.sin_addr) != 1)
		die("bad server %s (IP or IP:PORT)", server);
	p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p.fd < 0 || connect(p.fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("cannot reach %s", server);
	p.t0 = calloc((size_t)count, sizeof(*p.t0));
	p.lat = malloc((size_t)count * sizeof(*p.lat));
	p.rcode = calloc((size_t)count, 1);
	v = malloc((size_t)count * sizeof(*v));
	if (!p.t0 || !p.lat || !p.rcode || !v)
		die("%s", "out of memory");
	for (long i = 0; i < count; i++)
		p.lat[i] = -1;
	if (threads == 2 && pthread_create(&rx, NULL, ping_receiver, &p))
		die("%s", "cannot start the receiver thread");
	gap = 1000000000ULL / (uint64_t)qps;
	start = now_ns();
	t_end = now_s() + seconds;
	for (long i = 0; i < count && now_s() < t_end; i++) {
		uint8_t q[512];
		size_t ql = dns_query(q, (uint16_t)i, name[(size_t)i % nn]);
		uint64_t due = start + (uint64_t)i * gap, t;

		while ((t = now_ns()) < due) {
			struct timespec ts = {0, (long)(due - t)};

			nanosleep(&ts, NULL);
		}
		p.t0[i] = now_ns();
		__atomic_store_n(&p.n, (size_t)i + 1, __ATOMIC_RELEASE);
		if (send(p.fd, q, ql, 0) != (ssize_t)ql)
			continue;
		if (threads == 1) {
			ping_recv(&p, 1000);
		} else {
			/* one outstanding: wait (bounded) for the receiver */
			uint64_t lim = now_ns() + 1000000000ULL;

			while (p.lat[i] < 0 && now_ns() < lim) {
				struct timespec ts = {0, 20000};

				nanosleep(&ts, NULL);
			}
		}
	}
	p.done = 1;
	if (threads == 2)
		pthread_join(rx, NULL);
	for (size_t i = 0; i < p.n; i++) {
		if (p.lat[i] < 0) {
			lost++;
			continue;
		}
		v[ok++] = p.lat[i];
		by_rc[p.rcode[i]]++;
	}
	printf("{\"threads\":%d,\"sent\":%zu,\"answers\":%zu,\"lost\":%zu,\"rcodes\":{", threads,
	       p.n, ok, lost);
	for (int r = 0, first = 1; r < 16; r++) {
		if (!by_rc[r])
			continue;
		if (rc_name[r])
			printf("%s\"%s\":%zu", first ? "" : ",", rc_name[r], by_rc[r]);
		else
			printf("%s\"rcode%d\":%zu", first ? "" : ",", r, by_rc[r]);
		first = 0;
	}
	printf("},");
	print_lat("", v, ok);
	printf("}\n");
	close(p.fd);
	free(p.t0);
	free(p.lat);
	free(p.rcode);
	free(v);
	free(name);
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------ dnsecho */

static int cmd_dnsecho(const char *addr, double seconds)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	double t_end = now_s() + seconds;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("cannot bind %s:53", addr);
	while (now_s() < t_end) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		uint8_t m[1500];
		ssize_t n;
		size_t off = 12;

		if (poll(&pf, 1, 200) <= 0)
			continue;
		n = recvfrom(fd, m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 12 + 5)
			continue;
		while (off < (size_t)n && m[off] && m[off] < 64)
			off += 1 + m[off];
		off += 1 + 4; /* root label, type, class */
		if (off > (size_t)n)
			continue;
		m[2] = (uint8_t)(0x80 | (m[2] & 0x01));
		m[3] = (uint8_t)(0x80 | 5); /* RA, REFUSED */
		memset(m + 6, 0, 6);
		sendto(fd, m, off, 0, (struct sockaddr *)&from, fl);
	}
	close(fd);
	return 0;
}

/* ------------------------------------------------------------ main */

static void usage(void)
{
	fprintf(stderr,
		"usage: connbench serve --addr IP --conn-port P --fetch-port P [--seconds S]\n"
		"       connbench conn --dst IP:PORT [--count N] [--seconds S]\n"
		"       connbench fetch --dst IP:PORT [--proxy IP:PORT] --size BYTES [--count N]\n"
		"                       [--seconds S]\n"
		"       connbench probe --dst IP:PORT [--rename SRC DST | --unlink PATH]\n"
		"                       [--seconds S] [--until ok|denied]\n"
		"       connbench dnsreact --server IP --names FILE [--netns PATH]\n"
		"                       [--pin DIR --ifindex N --ttl S]\n"
		"       connbench dnsping --server IP[:PORT] --names FILE [--qps Q] [--count N]\n"
		"                       [--seconds S] [--threads 1|2]\n"
		"       connbench dnsecho --addr IP [--seconds S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"addr", required_argument, NULL, 'a'},
	    {"conn-port", required_argument, NULL, 'c'},
	    {"fetch-port", required_argument, NULL, 'f'},
	    {"seconds", required_argument, NULL, 's'},
	    {"dst", required_argument, NULL, 'd'},
	    {"proxy", required_argument, NULL, 'p'},
	    {"count", required_argument, NULL, 'n'},
	    {"size", required_argument, NULL, 'z'},
	    {"rename", required_argument, NULL, 'r'},
	    {"unlink", required_argument, NULL, 'u'},
	    {"until", required_argument, NULL, 'U'},
	    {"server", required_argument, NULL, 'S'},
	    {"names", required_argument, NULL, 'N'},
	    {"netns", required_argument, NULL, 'e'},
	    {"pin", required_argument, NULL, 'P'},
	    {"ifindex", required_argument, NULL, 'i'},
	    {"ttl", required_argument, NULL, 't'},
	    {"qps", required_argument, NULL, 'q'},
	    {"threads", required_argument, NULL, 'T'},
	    {},
	};
	const char *cmd, *addr = NULL, *rename_src = NULL, *rename_dst = NULL, *unl = NULL;
	const char *server = NULL, *names = NULL, *netns = NULL, *pin = NULL;
	struct sockaddr_in dst, proxy;
	bool have_dst = false, have_proxy = false, until_denied = false;
	int cport = 0, fport = 0, c, threads = 1;
	long qps = 1000;
	unsigned ifindex = 0, ttl = 0;
	unsigned long long size = 0;
	long count = 1000000;
	double seconds = 10;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'c':
			cport = atoi(optarg);
			break;
		case 'f':
			fport = atoi(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'd':
			if (parse_addr(optarg, &dst))
				die("bad --dst %s", optarg);
			have_dst = true;
			break;
		case 'p':
			if (parse_addr(optarg, &proxy))
				die("bad --proxy %s", optarg);
			have_proxy = true;
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'z':
			size = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			rename_src = optarg;
			if (optind >= argc)
				usage();
			rename_dst = argv[optind++];
			break;
		case 'u':
			unl = optarg;
			break;
		case 'U':
			until_denied = !strcmp(optarg, "denied");
			break;
		case 'S':
			server = optarg;
			break;
		case 'N':
			names = optarg;
			break;
		case 'e':
			netns = optarg;
			break;
		case 'P':
			pin = optarg;
			break;
		case 'i':
			ifindex = (unsigned)atoi(optarg);
			break;
		case 't':
			ttl = (unsigned)atoi(optarg);
			break;
		case 'q':
			qps = atol(optarg);
			break;
		case 'T':
			threads = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (seconds <= 0 || seconds > 3600 || count < 1)
		die("%s", "--seconds must be in (0, 3600], --count positive");
	if (!strcmp(cmd, "serve") && addr && cport && fport)
		return cmd_serve(addr, cport, fport, seconds);
	if (!strcmp(cmd, "conn") && have_dst)
		return cmd_conn(&dst, count, seconds);
	if (!strcmp(cmd, "fetch") && have_dst && size)
		return cmd_fetch(&dst, have_proxy ? &proxy : NULL, size, count, seconds);
	if (!strcmp(cmd, "probe") && have_dst)
		return cmd_probe(&dst, rename_src, rename_dst, unl, seconds, until_denied);
	if (!strcmp(cmd, "dnsreact") && server && names && (!pin || (ifindex && ttl)))
		return cmd_dnsreact(server, names, netns, pin, ifindex, ttl);
	if (!strcmp(cmd, "dnsping") && server && names)
		return cmd_dnsping(server, names, qps, count, seconds, threads);
	if (!strcmp(cmd, "dnsecho") && addr)
		return cmd_dnsecho(addr, seconds);
	usage();
	return 2;
}

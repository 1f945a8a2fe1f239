// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "events_filter.h"
#include "events_fmt.h"
#include "ipaddr.h"

void pw_ev_filter_init(struct pw_ev_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->reason = -1;
	f->port = -1;
}

int pw_duration_parse(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9}};
	double total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		char *end;
		double v;
		size_t i, ul = 0;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v = strtod(p, &end);
		if (errno || end == p)
			return -EINVAL;
		if (!*end) {
			if (p != s) /* "1h30": a unit is needed after the first part */
				return -EINVAL;
			total += v * 1e9;
			break;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			ul = strlen(units[i].unit);
			if (!strncmp(end, units[i].unit, ul) &&
			    !(ul == 1 && units[i].unit[0] == 'm' && end[1] == 's'))
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		total += v * units[i].ns;
		p = end + ul;
	}
	if (total > 366 * 86400e9)
		return -ERANGE;
	*ns = (uint64_t)total;
	return 0;
}

int pw_time_parse(const char *s, uint64_t *wall_ns)
{
	struct tm tm = {0};
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	uint64_t frac = 0, scale = 1000000000ULL;
	time_t t;

	if (!rest)
		return -EINVAL;
	if (*rest == '.') {
		rest++;
		if (*rest < '0' || *rest > '9')
			return -EINVAL;
		for (; *rest >= '0' && *rest <= '9'; rest++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*rest - '0') * scale;
			}
	}
	if (strcmp(rest, "Z"))
		return -EINVAL;
	t = timegm(&tm);
	if (t < 0)
		return -EINVAL;
	*wall_ns = (uint64_t)t * 1000000000ULL + frac;
	return 0;
}

const char *pw_reason_list(char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int r = 1; r < PW_R_MAX && o < len; r++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", r > 1 ? " " : "",
				      pw_reason_name((uint8_t)r));
	return buf;
}

static int when(const char *arg, uint64_t now_ns, uint64_t *out)
{
	uint64_t d;

	if (strchr(arg, 'T'))
		return pw_time_parse(arg, out);
	if (pw_duration_parse(arg, &d) || d > now_ns)
		return -EINVAL;
	*out = now_ns - d;
	return 0;
}

int pw_ev_filter_set(struct pw_ev_filter *f, const char *opt, const char *arg, uint64_t now_ns,
		     const char **why)
{
	if (!strcmp(opt, "namespace")) {
		f->namespace = arg;
	} else if (!strcmp(opt, "pod")) {
		const char *slash = strchr(arg, '/');

		if (slash) {
			/* NAMESPACE/PREFIX: the namespace is the text before the slash */
			if ((size_t)(slash - arg) >= sizeof(f->ns_buf) || slash == arg) {
				*why = "expected [NAMESPACE/]NAME-PREFIX";
				return -EINVAL;
			}
			snprintf(f->ns_buf, sizeof(f->ns_buf), "%.*s", (int)(slash - arg), arg);
			f->namespace = f->ns_buf;
			arg = slash + 1;
		}
		f->pod_prefix = *arg ? arg : NULL;
	} else if (!strcmp(opt, "verdict")) {
		if (!strcmp(arg, "allowed"))
			arg = "allow"; /* as the reason of an allowed flow says */
		if (strcmp(arg, "drop") && strcmp(arg, "audit") && strcmp(arg, "allow") &&
		    strcmp(arg, "pass") && strcmp(arg, "reject")) {
			*why = "expected drop, reject, audit, allow (or allowed) or pass";
			return -EINVAL;
		}
		f->verdict = arg;
	} else if (!strcmp(opt, "owner")) {
		const char *slash = strchr(arg, '/');

		f->owner_kind[0] = '\0';
		if (slash) {
			if (slash == arg || (size_t)(slash - arg) >= sizeof(f->owner_kind)) {
				*why = "expected [KIND/]NAME, e.g. Deployment/web";
				return -EINVAL;
			}
			snprintf(f->owner_kind, sizeof(f->owner_kind), "%.*s", (int)(slash - arg),
				 arg);
			arg = slash + 1;
		}
		if (!*arg) {
			*why = "expected [KIND/]NAME, e.g. Deployment/web";
			return -EINVAL;
		}
		f->owner = arg;
	} else if (!strcmp(opt, "reason")) {
		f->reason = pw_reason_from_name(arg);
		if (f->reason <= 0) {
			*why = "unknown reason";
			return -EINVAL;
		}
	} else if (!strcmp(opt, "to-fqdn")) {
		bool pat = arg[0] == '*';

		if (pw_fqdn_pattern_normalize(arg, pat, f->fqdn, why))
			return -EINVAL;
		f->has_fqdn = true;
	} else if (!strcmp(opt, "to-ip")) {
		if (strchr(arg, '/')) {
			if (pw_cidr_parse(arg, &f->family, &f->addr, &f->prefix, why))
				return -EINVAL;
		} else {
			if (pw_ip_parse(arg, &f->family, &f->addr)) {
				*why = "expected an address or a CIDR";
				return -EINVAL;
			}
			f->prefix = f->family == PW_FAMILY_V4 ? 32 : 128;
		}
		f->has_cidr = true;
	} else if (!strcmp(opt, "to-port")) {
		char *end;
		long v;

		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < 0 || v > 65535) {
			*why = "expected a port from 0 to 65535";
			return -EINVAL;
		}
		f->port = (int)v;
	} else if (!strcmp(opt, "since") || !strcmp(opt, "until")) {
		uint64_t *t = opt[0] == 's' ? &f->since_ns : &f->until_ns;

		if (when(arg, now_ns, t)) {
			*why = "expected a duration like 30s, 5m, 1h30m, 2d or a time like "
			       "2026-12-01T09:00:00Z";
			return -EINVAL;
		}
	} else {
		*why = "unknown filter";
		return -EINVAL;
	}
	return 0;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

bool pw_ev_filter_match(const struct pw_ev_filter *f, const json_t *ev)
{
	const char *s;

	if (f->namespace && (!(s = jstr(ev, "namespace")) || strcmp(s, f->namespace)))
		return false;
	if (f->pod_prefix &&
	    (!(s = jstr(ev, "pod")) || strncmp(s, f->pod_prefix, strlen(f->pod_prefix))))
		return false;
	if (f->verdict && (!(s = jstr(ev, "verdict")) || strcmp(s, f->verdict)))
		return false;
	if (f->owner) {
		const json_t *o = json_object_get(ev, "owner");

		if (!(s = jstr(o, "name")) || strcmp(s, f->owner))
			return false;
		if (f->owner_kind[0] && (!(s = jstr(o, "kind")) || strcasecmp(s, f->owner_kind)))
			return false;
	}
	if (f->reason >= 0 && (!(s = jstr(ev, "reason")) || pw_reason_from_name(s) != f->reason))
		return false;
	if (f->has_fqdn) {
		char name[PW_FQDN_MAX + 1];
		const char *why;

		s = jstr(ev, "hostname");
		if (!s)
			s = jstr(ev, "query"); /* DNS lookup records */
		if (!s || pw_fqdn_normalize(s, name, &why) || !pw_fqdn_match(f->fqdn, name))
			return false;
	}
	if (f->has_cidr) {
		uint8_t fam;
		union pw_ip ip;

		if (!(s = jstr(ev, "dst")) || pw_ip_parse(s, &fam, &ip) || fam != f->family ||
		    !pw_ip_in_prefix(fam, &ip, &f->addr, f->prefix))
			return false;
	}
	if (f->port >= 0) {
		json_t *p = json_object_get(ev, "dport");

		if (!json_is_integer(p) || json_integer_value(p) != f->port)
			return false;
	}
	if (f->since_ns || f->until_ns) {
		uint64_t t;

		if (!(s = jstr(ev, "time")) || pw_time_parse(s, &t))
			return false;
		if ((f->since_ns && t < f->since_ns) || (f->until_ns && t > f->until_ns))
			return false;
	}
	return true;
}

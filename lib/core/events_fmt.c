// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "events_fmt.h"
#include "ipaddr.h"

#define PW_REASON_NAME(id, name) [PW_R_##id] = name,
static const char *const reason_names[PW_R_MAX] = {PW_REASONS(PW_REASON_NAME)};
#undef PW_REASON_NAME

#define PW_COUNTER_NAME(id, name) [PW_C_##id] = name,
static const char *const counter_names[PW_C_DROP] = {PW_COUNTERS(PW_COUNTER_NAME)};
#undef PW_COUNTER_NAME

const char *pw_reason_name(uint8_t reason)
{
	return reason < PW_R_MAX && reason_names[reason] ? reason_names[reason] : "unknown";
}

int pw_reason_from_name(const char *s)
{
	for (int i = 0; i < PW_R_MAX; i++)
		if (reason_names[i] && !strcmp(reason_names[i], s))
			return i;
	return -1;
}

const char *pw_counter_name(int counter)
{
	return counter >= 0 && counter < PW_C_DROP ? counter_names[counter] : NULL;
}

const char *pw_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmpv6";
	case 132:
		return "sctp";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

const char *pw_time_str(uint64_t wall_ns, char *buf, size_t len)
{
	time_t s = (time_t)(wall_ns / 1000000000ULL);
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", base, (unsigned)(wall_ns / 1000000ULL % 1000));
	return buf;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *pw_event_to_json(const struct pw_event *e, const struct pw_event_ctx *c)
{
	char t[48], src[PW_IP_STRLEN], dst[PW_IP_STRLEN], pb[8];
	json_t *o, *pols;
	int has_l3 = e->family == PW_FAMILY_V4 || e->family == PW_FAMILY_V6;
	int icmp = has_l3 && (e->proto == 1 || e->proto == 58);

	o = json_object();
	pols = json_array();
	if (!o || !pols) {
		json_decref(o);
		json_decref(pols);
		return NULL;
	}
	for (size_t i = 0; i < c->n_policies; i++)
		json_array_append_new(pols, json_string(c->policies[i]));
	json_object_set_new(o, "id", str_or_null(c->id));
	json_object_set_new(o, "time", json_string(pw_time_str(c->wall_ns, t, sizeof(t))));
	json_object_set_new(o, "node", str_or_null(c->node));
	json_object_set_new(o, "namespace", str_or_null(c->namespace));
	json_object_set_new(o, "pod", str_or_null(c->pod));
	json_object_set_new(o, "owner", pw_owner_json(c->owner));
	json_object_set_new(o, "verdict",
			    json_string(e->verdict == PW_VERDICT_AUDIT	  ? "audit"
					: e->verdict == PW_VERDICT_PASS	  ? "pass"
					: e->verdict == PW_VERDICT_ALLOW  ? "allow"
					: e->verdict == PW_VERDICT_REJECT ? "reject"
									  : "drop"));
	json_object_set_new(o, "reason", json_string(pw_reason_name(e->reason)));
	json_object_set_new(o, "family",
			    has_l3 ? json_string(e->family == PW_FAMILY_V4 ? "ipv4" : "ipv6")
				   : json_null());
	json_object_set_new(o, "proto",
			    has_l3 ? json_string(pw_proto_name(e->proto, pb, sizeof(pb)))
				   : json_null());
	json_object_set_new(
		o, "src", has_l3 ? json_string(pw_ip_str(e->family, &e->saddr, src)) : json_null());
	if (!icmp)
		json_object_set_new(o, "sport", json_integer(ntohs(e->sport)));
	json_object_set_new(
		o, "dst", has_l3 ? json_string(pw_ip_str(e->family, &e->daddr, dst)) : json_null());
	if (icmp)
		json_object_set_new(
			o, "icmp",
			json_pack("{s:i,s:i}", "type", e->icmp_type, "code", e->icmp_code));
	else
		json_object_set_new(o, "dport", json_integer(ntohs(e->dport)));
	json_object_set_new(o, "hostname", str_or_null(c->hostname));
	if (c->query)
		json_object_set_new(o, "query", json_string(c->query));
	json_object_set_new(o, "policies", pols);
	json_object_set_new(o, "ifindex", json_integer(e->ifindex));
	json_object_set_new(o, "suppressed", json_integer(e->suppressed));
	if (c->detail)
		json_object_set_new(o, "detail", json_string(c->detail));
	if (c->dns_path) {
		json_object_set_new(o, "type", json_string("dns"));
		json_object_set_new(o, "answers", json_array());
		json_object_set_new(o, "path", json_string(c->dns_path));
	}
	return o;
}

const char *pw_event_name_str(const uint8_t *raw, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return out;
	out[0] = '\0';
	if (!len) {
		snprintf(out, outlen, ".");
		return out;
	}
	for (size_t i = 0; i < len; i++) {
		char t[8];
		size_t n;

		if (raw[i] == '\\')
			n = (size_t)snprintf(t, sizeof(t), "\\\\");
		else if (raw[i] > 0x20 && raw[i] < 0x7f)
			n = (size_t)snprintf(t, sizeof(t), "%c", raw[i]);
		else
			n = (size_t)snprintf(t, sizeof(t), "\\%03u", raw[i]);
		if (o + n >= outlen)
			break; /* cut at a whole character */
		memcpy(out + o, t, n);
		o += n;
		out[o] = '\0';
	}
	return out;
}

int pw_event_decode(const void *data, size_t size, struct pw_event *e, char *name, size_t namelen)
{
	struct pw_event_named n;

	if (namelen)
		name[0] = '\0';
	if (size == sizeof(struct pw_event)) {
		memcpy(e, data, sizeof(*e));
		return 0;
	}
	if (size != sizeof(n))
		return -1;
	memcpy(&n, data, sizeof(n));
	if (n.name_len > PW_NAME_TEXT_MAX)
		return -1;
	*e = n.ev;
	pw_event_name_str((const uint8_t *)n.name, n.name_len, name, namelen);
	return 1;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipaddr.h"
#include "podwall/guard.h"

int pw_ip_parse(const char *s, uint8_t *family, union pw_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, &ip->v4) == 1) {
		*family = PW_FAMILY_V4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->v6) == 1) {
		*family = PW_FAMILY_V6;
		return 0;
	}
	return -EINVAL;
}

static bool host_bits_zero(uint8_t family, const union pw_ip *ip, uint8_t len)
{
	size_t bytes = family == PW_FAMILY_V4 ? 4 : 16;

	for (size_t i = 0; i < bytes; i++) {
		int bits = (int)len - (int)i * 8;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

		if (ip->v6[i] & (uint8_t)~mask)
			return false;
	}
	return true;
}

int pw_cidr_parse(const char *s, uint8_t *family, union pw_ip *ip, uint8_t *prefix,
		  const char **why)
{
	char addr[PW_IP_STRLEN + 1];
	const char *slash = strchr(s, '/');
	char *end;
	long len;
	size_t n;

	*why = "expected ADDRESS/PREFIX, e.g. 192.0.2.0/24";
	if (!slash || slash == s)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n > PW_IP_STRLEN)
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (pw_ip_parse(addr, family, ip))
		return -EINVAL;
	/* Digits only: strtol alone would take " 24", "+24" and "-0". */
	if (!isdigit((unsigned char)slash[1]))
		return -EINVAL;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || *end || len < 0 || len > (*family == PW_FAMILY_V4 ? 32 : 128)) {
		*why = "prefix length out of range";
		return -EINVAL;
	}
	*prefix = (uint8_t)len;
	{
		/* The address must equal its own network: 10.20.0.1/16 is a typo. */
		if (!host_bits_zero(*family, ip, *prefix)) {
			*why = "address has bits set beyond the prefix length";
			return -EINVAL;
		}
	}
	*why = NULL;
	return 0;
}

const char *pw_ip_str(uint8_t family, const union pw_ip *ip, char *buf)
{
	if (!inet_ntop(family == PW_FAMILY_V4 ? AF_INET : AF_INET6, ip, buf, PW_IP_STRLEN))
		strcpy(buf, "?");
	return buf;
}

bool pw_ip_in_prefix(uint8_t family, const union pw_ip *addr, const union pw_ip *prefix,
		     uint8_t len)
{
	size_t bytes = family == PW_FAMILY_V4 ? 4 : 16;

	for (size_t i = 0; i < bytes; i++) {
		int bits = (int)len - (int)i * 8;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

		if ((addr->v6[i] & mask) != (prefix->v6[i] & mask))
			return false;
	}
	return true;
}

bool pw_ip_is_special(uint8_t family, const union pw_ip *ip)
{
	return pw_never_learned(family, ip->v6); /* shared with pod_ingress's learner */
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Addresses and prefixes as podwall stores them (union pw_ip, network order). */
#ifndef PODWALL_IPADDR_H
#define PODWALL_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podwall/maps.h"

#define PW_IP_STRLEN 46 /* INET6_ADDRSTRLEN */

/* "192.0.2.1" or "2001:db8::1" -> family (PW_FAMILY_V4/V6) and address. -EINVAL if not. */
int pw_ip_parse(const char *s, uint8_t *family, union pw_ip *ip);
/* "192.0.2.0/24": refuses host bits set beyond the prefix (-EINVAL, with why). */
int pw_cidr_parse(const char *s, uint8_t *family, union pw_ip *ip, uint8_t *prefix,
		  const char **why);
/* Writes the address as text into buf (PW_IP_STRLEN bytes). Returns buf. */
const char *pw_ip_str(uint8_t family, const union pw_ip *ip, char *buf);
/* True if addr (of family) lies within prefix/len. */
bool pw_ip_in_prefix(uint8_t family, const union pw_ip *addr, const union pw_ip *prefix,
		     uint8_t len);
/* Addresses podwall never learns from DNS: loopback, link-local, unspecified,
 * multicast, broadcast, IPv4-mapped/compatible IPv6. */
bool pw_ip_is_special(uint8_t family, const union pw_ip *ip);

#endif

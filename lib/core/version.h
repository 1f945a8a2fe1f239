/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef PODWALL_VERSION_H
#define PODWALL_VERSION_H
#define PW_VERSION "0.1.0"
#endif

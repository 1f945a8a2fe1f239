/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Operator subcommands of `podwall` that talk to the agent. */
#ifndef PODWALL_CLI_H
#define PODWALL_CLI_H

#include <stdbool.h>
#include <stdint.h>

int pw_cli_status(int argc, char **argv);
int pw_cli_endpoints(int argc, char **argv);
int pw_cli_policies(int argc, char **argv);
int pw_cli_fqdn(int argc, char **argv);
int pw_cli_events(int argc, char **argv);
int pw_cli_explain(int argc, char **argv);
int pw_cli_suggest(int argc, char **argv);
/* A number from min to max, or a message on stderr naming the option. */
int pw_cli_parse_long(const char *opt, const char *arg, long min, long max, long *out);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's options, once: PW_AGENT_OPTIONS is the one table from which the
 * defaults (pw_agent_default_opts), the getopt_long parser
 * (pw_agent_parse_opts) and the usage text (pw_agent_usage, `podwall agent
 * --help`) are made, so an option cannot be parsed without being documented,
 * nor documented with a default it does not have.
 *
 * X(field, name, sh, type, arg, lo, hi, def, check, help)
 *   field  the member of struct pw_agent_opts (agent.h) it sets
 *   name   the long option, without "--"
 *   sh     its short letter, or 0
 *   type   STR     a string kept as given (check: NULL or a validator)
 *          U32     a number in lo..hi (decimal, or 0x hex)
 *          HEX     likewise, shown in hex in the usage text
 *          FLAG    no argument: sets field to true
 *          CHOICE  one of the words of arg ("a|b|c"); field holds its index
 *          LIST    repeatable: appended to field[], counted in n_<field>
 *          GUARD   repeatable: a rebinding-guard prefix of kind lo, appended
 *                  to guard[] (all GUARD options share its room)
 *   arg    the argument's name in the usage text ("" for FLAG)
 *   lo, hi U32, HEX: the range, both included
 *   def    STR, U32, HEX, FLAG, CHOICE: the default (a NULL string: unset)
 *   check  STR, LIST: NULL, or a function that returns why arg is refused
 *   help   one sentence; the usage text wraps it and adds the default and
 *          the range
 * Rules between options (--k8s-only options, --min-ttl <= --max-ttl, the
 * defaults that depend on --k8s or --cluster-domain) are in options.c.
 */
#ifndef PODWALL_AGENT_OPTIONS_H
#define PODWALL_AGENT_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "agent.h"
#include "bpfglue.h"
#include "ctl.h"
#include "k8s.h"
#include "podwall/guard.h"

/* --dns-learn-inline's default: on. The agent reads pw_learn_log (agent/learnlog.c),
 * so what the kernel learned is in its state like what it learned itself. */
#define PW_DNS_LEARN_INLINE_DEFAULT 1

/* clang-format off */
#define PW_AGENT_OPTIONS(X)                                                                        \
X(policy_dir, "policy-dir", 0, STR, "DIR", 0, 0, "/etc/podwall/policies", NULL,                   \
  "EgressPolicy YAML files; with --k8s, read only if given")                                          \
X(pin_dir, "pin-dir", 0, STR, "DIR", 0, 0, PW_PIN_DIR, NULL, "bpffs directory for the maps")      \
X(socket_path, "socket", 0, STR, "PATH", 0, 0, PW_CTL_SOCKET, NULL, "control socket, root only")  \
X(state_dir, "state-dir", 0, STR, "DIR", 0, 0, "/run/podwall/state", NULL, "endpoint state")      \
X(resolvers, "resolver", 0, LIST, "IP", 0, 0, 0, NULL, "trusted DNS resolver; repeat for several") \
X(search_domains, "search-domain", 0, LIST, "D", 0, 0, 0, pw_opt_check_domain,                   \
  "pods' DNS search suffix: a query under it for a name no policy grants gets NXDOMAIN (the "    \
  "pod tries its next suffix), others REFUSED; repeat for several (default: the "                 \
  "--cluster-domain)")                                                                             \
X(dns_hold_per_sec, "dns-hold-per-sec", 0, U32, "N", 0, 1000000, 1000, NULL,                      \
  "DNS answers one pod may have held for the agent per second; over it (and --dns-hold-burst) "  \
  "the pod loses its own answers, event dns-budget; 0: no limit")                                \
X(dns_hold_burst, "dns-hold-burst", 0, U32, "N", 1, 1000000, 2000, NULL,                          \
  "burst of --dns-hold-per-sec")                                                                   \
X(dns_queries_per_sec, "dns-queries-per-sec", 0, U32, "N", 0, 65535, 1000, NULL,                \
  "DNS queries one pod may send on to the trusted resolvers per second (queries the node "       \
  "refuses itself do not count); over it (and --dns-queries-burst) its queries are dropped, "     \
  "event dns-budget; 0: no limit")                                                                 \
X(dns_queries_burst, "dns-queries-burst", 0, U32, "N", 1, 65535, 2000, NULL,                      \
  "burst of --dns-queries-per-sec")                                                                \
X(dns_learn_inline, "dns-learn-inline", 0, U32, "0|1", 0, 1, PW_DNS_LEARN_INLINE_DEFAULT, NULL,   \
  "1: the kernel learns simple DNS answers itself and passes them at once, the agent there or "  \
  "not (README: DNS in the kernel); 0: every answer of a hostname rule is held for the agent")    \
X(reject_per_sec, "reject-per-sec", 0, U32, "N", 0, 65535, 20, NULL,                               \
  "rejects (RST, ICMP) one pod of a denyAction: reject policy is sent per second; over it (and "  \
  "--reject-burst) its denied packets are dropped silently; 0: never reject")                     \
X(reject_burst, "reject-burst", 0, U32, "N", 1, 65535, 40, NULL, "burst of --reject-per-sec")      \
X(min_ttl, "min-ttl", 0, U32, "SECONDS", 0, 86400, 5, NULL,                                       \
  "shortest life of a learned address")                                                            \
X(max_ttl, "max-ttl", 0, U32, "SECONDS", 1, 7 * 86400, 3600, NULL,                                \
  "longest life of a learned address")                                                             \
X(max_addrs_per_name, "max-addrs-per-name", 0, U32, "N", 1, 4096, 32, NULL,                       \
  "addresses kept per (pod, name), LRU")                                                           \
X(max_learned_per_pod, "max-learned-per-pod", 0, U32, "N", 1, PW_MAX_LEARNED, 4096, NULL,         \
  "learned addresses one pod may hold (pw_learned entries, the kernel's and the agent's); at it " \
  "the pod loses its own answers for new addresses, event dns-budget")                            \
X(max_names_per_pod, "max-names-per-pod", 0, U32, "N", 1, 65536, 1024, NULL,                      \
  "learned names one pod may hold; at it the pod loses its own answers for new names, event "    \
  "dns-budget")                                                                                    \
X(events_keep, "events-keep", 0, U32, "N", 0, 1000000, 4096, NULL,                                \
  "deny events kept for 'podwall events'")                                                         \
X(events_per_sec, "events-per-sec", 0, U32, "N", 0, 1000000, 100, NULL,                           \
  "deny events per pod per second (and apart, allowed flows of visibility: [allowed])")           \
X(events_burst, "events-burst", 0, U32, "N", 1, 1000000, 200, NULL, "deny event burst per pod")   \
X(events_dns, "events-dns", 0, U32, "N", 0, 10000, 0, NULL,                                       \
  "record every pod's DNS lookups (name, answers, path), at most N a second on the node; 0: "     \
  "only pods whose policy has visibility: [dns], 100 a second")                                  \
X(metrics_addr, "metrics-addr", 0, STR, "H:P", 0, 0, "127.0.0.1:9977", NULL,                      \
  "Prometheus /metrics, [::1]:P for IPv6, '' to disable; a busy port is retried every 5 s")      \
X(probe_addr, "probe-addr", 0, STR, "H:P", 0, 0, "127.0.0.1:9978", NULL,                          \
  "/healthz and /readyz; '' to disable")                                                          \
X(metrics_pod_labels, "metrics-pod-labels", 0, FLAG, "", 0, 0, false, NULL,                       \
  "also per-pod families, labelled source_namespace and source_pod (one series per pod and "      \
  "reason)")                                                                                       \
X(release_mark, "release-mark", 0, HEX, "N", 1, 0xffffffffUL, 0x70770001, NULL,                   \
  "skb mark of released DNS answers")                                                              \
X(agent_timeout_ms, "agent-timeout-ms", 0, U32, "N", 100, 600000, 3000, NULL,                     \
  "heartbeat age (ms) after which DNS answers pass unheld")                                       \
X(flow_idle_tcp, "flow-idle-tcp", 0, U32, "S", 1, 7 * 86400, 21600, NULL,                         \
  "idle TCP flows are forgotten after S seconds")                                                  \
X(flow_idle_other, "flow-idle-other", 0, U32, "S", 1, 7 * 86400, 60, NULL,                        \
  "idle UDP/other flows, likewise")                                                                \
X(hook, "hook", 0, CHOICE, "auto|tcx|legacy", 0, 0, PW_HOOK_AUTO, NULL,                           \
  "how programs are hooked: tcx links placed first (Linux 6.6+), or tc filters on clsact "        \
  "verified first (older kernels); auto picks")                                                    \
X(reconcile_interval, "reconcile-interval", 0, U32, "S", 1, 3600, 10, NULL,                       \
  "check hooks, maps and veths every S seconds")                                                   \
X(k8s, "k8s", 0, FLAG, "", 0, 0, false, NULL,                                                     \
  "Kubernetes mode: EgressPolicies, pod labels and the cluster DNS (trusted resolvers) from the " \
  "API server; nothing applied, no CNI ADD answered before the first full sync")                  \
X(kubeconfig, "kubeconfig", 0, STR, "PATH", 0, 0, NULL, NULL,                                     \
  "outside the cluster (default: in-cluster config)")                                             \
X(kube_context, "context", 0, STR, "NAME", 0, 0, NULL, NULL,                                      \
  "kubeconfig context (default: current-context)")                                                \
X(node_name, "node-name", 0, STR, "NAME", 0, 0, NULL, NULL, "this node (default: $NODE_NAME)")    \
X(dns_service, "dns-service", 0, STR, "NS/NAME", 0, 0, NULL, pw_opt_check_ns_name,                \
  "cluster DNS service (default " PW_K8S_DEFAULT_DNS "; '' to trust only --resolver)")            \
X(cni_conflist, "cni-conflist", 0, STR, "PATH", 0, 0, NULL, NULL,                                 \
  "chain podwall-cni into this conflist, and again whenever it is rewritten (k3s does at start)") \
X(guard, "pod-cidr", 0, GUARD, "CIDR", PW_G_POD_CIDR, 0, 0, NULL,                                 \
  "rebinding guard: a hostname rule never learns an address of the pod network (nor of "          \
  "RFC 1918, 100.64/10, fc00::/7, NAT64, unless the rule has allowPrivate); repeat as needed")    \
X(guard, "service-cidr", 0, GUARD, "CIDR", PW_G_SERVICE, 0, 0, NULL,                              \
  "likewise the service network (--k8s: else the kubernetes Service's default range)")             \
X(guard, "node-address", 0, GUARD, "IP", PW_G_NODE, 0, 0, NULL,                                   \
  "likewise the node's own addresses")                                                             \
X(guard, "never-learn", 0, GUARD, "CIDR", PW_G_EXTRA, 0, 0, NULL, "likewise any other prefix")    \
X(guard, "may-learn", 0, GUARD, "CIDR", PW_G_EXEMPT, 0, 0, NULL,                                  \
  "exempt a prefix from the guard (longest match wins)")                                           \
X(cluster_domain, "cluster-domain", 0, STR, "D", 0, 0, "cluster.local", NULL,                     \
  "names under D may resolve in-cluster; '' for none")                                           \
X(verbose, "verbose", 'v', FLAG, "", 0, 0, false, NULL, "debug logs, including libbpf's")
/* clang-format on */

enum pw_opt_type {
	PW_OPT_STR,
	PW_OPT_U32,
	PW_OPT_HEX,
	PW_OPT_FLAG,
	PW_OPT_CHOICE,
	PW_OPT_LIST,
	PW_OPT_GUARD
};

/* One row of the table, as the parser and the usage text read it. */
struct pw_opt_spec {
	const char *name;
	char sh;
	enum pw_opt_type type;
	const char *arg;
	unsigned long lo, hi;
	const char *(*check)(const char *arg); /* NULL, or why arg is refused */
	const char *help;
	size_t off;   /* offsetof the field */
	size_t n_off; /* LIST, GUARD: offsetof the count */
	size_t cap;   /* LIST, GUARD: room in the array */
};

/* Validators of the table's check column: NULL if arg is good, else why not. */
const char *pw_opt_check_domain(const char *arg);
const char *pw_opt_check_ns_name(const char *arg);

extern const struct pw_opt_spec pw_agent_opt_specs[];
extern const size_t pw_agent_n_opts;

/* Every field at its table default (and what no option sets). */
void pw_agent_default_opts(struct pw_agent_opts *o);
/* argv[0] is the command ("agent"). Fills o (strings point into argv).
 * Returns 0 to run, 1 when --help was printed to out (exit 0), or -EINVAL
 * after a message naming the option on err (exit 2). */
int pw_agent_parse_opts(int argc, char **argv, struct pw_agent_opts *o, FILE *out, FILE *err);
/* `podwall agent --help` */
void pw_agent_usage(FILE *out);

#endif

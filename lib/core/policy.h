/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * EgressPolicy: the data model, decoding and validation, and pod selection.
 *
 * Decoding works on a jansson tree, so the same code serves YAML files
 * (standalone mode, converted with pw_yaml_to_json) and Kubernetes API objects
 * (JSON). A document that fails validation is refused whole, and the error
 * names the source and the field, e.g.
 *   "policies/a.yaml: spec.egress[0].toCIDRs[1].cidr: address has bits set ..."
 */
#ifndef PODWALL_POLICY_H
#define PODWALL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "podwall/maps.h"

#define PW_ERR_LEN 512

#define PW_POLICY_API_VERSION  "podwall.io/v1alpha1"
#define PW_POLICY_KIND	       "EgressPolicy"
#define PW_CLUSTER_POLICY_KIND "ClusterEgressPolicy" /* cluster-scoped */

/* Limits on one EgressPolicy; a document over any of them is refused whole. */
#define PW_POLICY_MAX_RULES    256 /* spec.egress */
#define PW_POLICY_MAX_FQDNS    256 /* toFQDNs of one rule */
#define PW_POLICY_MAX_CIDRS    256 /* toCIDRs of one rule */
#define PW_POLICY_MAX_EXCEPT   64  /* except of one toCIDRs entry */
#define PW_POLICY_MAX_PORTS    32  /* ports of one rule */
#define PW_POLICY_MAX_RESOLVE  256 /* spec.dns.resolveNames */
#define PW_POLICY_MAX_DENY     64  /* spec.deny of a ClusterEgressPolicy */
#define PW_POLICY_MAX_SERVICES 64  /* toServices of one rule */

/* YAML nesting deeper than this is refused (EgressPolicy needs about 8). */
#define PW_YAML_MAX_DEPTH 64

struct pw_label {
	char *key;
	char *value;
};

struct pw_labels {
	struct pw_label *v;
	size_t n;
};

enum pw_sel_op {
	PW_SEL_IN,
	PW_SEL_NOT_IN,
	PW_SEL_EXISTS,
	PW_SEL_DOES_NOT_EXIST,
};

struct pw_sel_expr {
	char *key;
	enum pw_sel_op op;
	char **values;
	size_t n_values;
};

/* A Kubernetes LabelSelector. Empty (no labels, no expressions) selects every
 * pod of the policy's namespace. */
struct pw_selector {
	struct pw_labels match_labels;
	struct pw_sel_expr *exprs;
	size_t n_exprs;
};

/* One entry of `ports`. proto is IPPROTO_TCP/UDP/SCTP. port == 0 means every
 * port of that protocol (lo 0, hi 65535 once compiled); end_port == 0 means
 * just `port`. */
struct pw_port {
	uint8_t proto;
	uint16_t port;
	uint16_t end_port;
};

struct pw_cidr {
	uint8_t family; /* PW_FAMILY_V4 / PW_FAMILY_V6 */
	uint8_t prefix;
	union pw_ip addr;
};

struct pw_cidr_rule {
	struct pw_cidr cidr;
	struct pw_cidr *except; /* each strictly inside cidr, same family */
	size_t n_except;
};

enum pw_fqdn_kind {
	PW_FQDN_NAME,	 /* matchName: exact */
	PW_FQDN_PATTERN, /* matchPattern: "*.x" one label, "**.x" one or more */
};

struct pw_fqdn_rule {
	enum pw_fqdn_kind kind;
	char *pattern; /* normalized: lower case, no trailing dot, at most PW_FQDN_MAX chars */
};

/* toEntities: in-cluster peers by role (the Service each stands for is the
 * agent's to know: default/kubernetes, and its cluster DNS Service). */
#define PW_ENTITY_KUBE_APISERVER (1u << 0) /* "kube-apiserver" */
#define PW_ENTITY_CLUSTER_DNS	 (1u << 1) /* "cluster-dns" */

/* One entry of toServices: a Service by name (namespace defaults to the
 * policy's). */
struct pw_service_ref {
	char *namespace;
	char *name;
};

/* One address a toServices/toEntities entry stands for now, with the ports it
 * is granted on (the rule's, or the Service's: port on a ClusterIP, the
 * EndpointSlice's on an endpoint; port 0 is every port of proto). */
struct pw_peer {
	uint8_t family;
	union pw_ip addr;
	struct pw_port *ports;
	size_t n_ports;
};

/* What a rule's toServices and toEntities resolve to: Services live outside
 * the core, so the caller fills this (pw_rule_set_peers) from the API's
 * Services and EndpointSlices whenever they change. Empty until then, and in
 * standalone mode: such a rule grants nothing. names: the Services' DNS
 * names, resolvable for the selected pods (nothing is learned from them). */
struct pw_peers {
	struct pw_peer *v;
	size_t n;
	char **names; /* normalized */
	size_t n_names;
};

/* One entry of spec.egress. A rule with no ports grants every protocol and
 * every port on its destinations (on toServices/toEntities: the Services'
 * ports). */
struct pw_rule {
	struct pw_fqdn_rule *fqdns;
	size_t n_fqdns;
	struct pw_cidr_rule *cidrs;
	size_t n_cidrs;
	struct pw_port *ports;
	size_t n_ports;
	/* allowPrivate: its hostnames may resolve to in-cluster and private
	 * addresses (the rebinding guard, podwall/guard.h, lets them be learned). */
	bool allow_private;
	struct pw_service_ref *services; /* toServices */
	size_t n_services;
	uint8_t entities; /* toEntities: PW_ENTITY_* */
	struct pw_peers peers;
};

/* spec.dns: what the selected pods may ask their resolvers. Every name a
 * toFQDNs rule names may be resolved; resolveNames adds names that may be
 * resolved without granting a connection; resolveAnyName turns the name
 * filter off; refuseWith is the answer to any other name. */
struct pw_policy_dns {
	struct pw_fqdn_rule *names; /* resolveNames */
	size_t n_names;
	bool any_name; /* resolveAnyName: true */
	bool nxdomain; /* refuseWith: NXDOMAIN (default REFUSED) */
};

/* spec.visibility: what the selected pods' events show beyond denials (off
 * by default, rate limited): "allowed", an event for each new flow the rules
 * allow (the first packet only); "dns", a record for each DNS lookup. */
#define PW_VIS_ALLOWED (1u << 0)
#define PW_VIS_DNS     (1u << 1)

struct pw_policy {
	char *name;
	char *namespace; /* "default" when the document names none */
	char *source;	 /* file path, or "k8s" */
	char *warning;	 /* valid but worth saying (no metadata.namespace), or NULL */
	uint8_t mode;	 /* enum pw_mode */
	/* enum pw_deny_action: spec.denyAction, drop (the default) or reject */
	uint8_t deny_action;
	struct pw_selector selector;
	struct pw_rule *rules;
	size_t n_rules;
	struct pw_policy_dns dns;
	uint8_t visibility; /* spec.visibility: PW_VIS_* */
	/* ClusterEgressPolicy: namespace is "*"; it selects the pods (selector,
	 * {} when absent) of the namespaces whose labels ns_selector matches.
	 * Namespace labels live outside the core: the caller resolves them into
	 * cluster_ns (pw_policy_set_namespaces) whenever they change. */
	bool cluster;
	struct pw_selector ns_selector;
	char **cluster_ns; /* sorted names of the selected namespaces */
	size_t n_cluster_ns;
	/* ClusterEgressPolicy spec.deny, an entry each: prefixes (cidrs, an
	 * except a hole in its deny, not a grant) and the ports denied on them
	 * (none: every protocol and port) that no rule of any policy grants the
	 * selected pods, hostname rules included. fqdns stay empty. */
	struct pw_rule *deny;
	size_t n_deny;
};

/* The namespaces a ClusterEgressPolicy selects now (copied, sorted). 0 or -ENOMEM
 * (then the old list stays). */
int pw_policy_set_namespaces(struct pw_policy *p, const char *const *names, size_t n);

/* Replace the rule's resolved peers with *peers (taken: *peers is zeroed). */
void pw_rule_set_peers(struct pw_rule *r, struct pw_peers *peers);
void pw_peers_free(struct pw_peers *p);

/* Decode one EgressPolicy object. On error returns -EINVAL, leaves *out
 * untouched and writes "<source>: <field path>: <problem>" into err. */
int pw_policy_from_json(const json_t *obj, const char *source, struct pw_policy *out, char *err,
			size_t errlen);

/* Parse a YAML stream (one or more documents) into a JSON array of documents.
 * Plain scalars that read as integers, true/false or null become those JSON
 * types; quoted scalars stay strings. Anchors/aliases are refused. So are
 * duplicate or non-string mapping keys, tags other than !!str, integers with a
 * leading zero (octal in YAML 1.1, decimal in 1.2), integers beyond 64 bits,
 * NUL characters and nesting deeper than PW_YAML_MAX_DEPTH. Empty documents
 * are skipped. On error *out is NULL and err reads "line L column C: ...". */
int pw_yaml_to_json(const char *buf, size_t len, json_t **out, char *err, size_t errlen);

/* Parse a whole policy file: every document must be a valid EgressPolicy, or
 * nothing is returned (-EINVAL, err names the file, document and field).
 * Empty documents are skipped; a file with none (zero bytes, only comments,
 * only "---") is refused: removing a policy is deleting its file. Two
 * documents with the same namespace/name are refused. A document without
 * metadata.namespace gets "default" and a warning naming the file. */
int pw_policy_file_parse(const char *buf, size_t len, const char *source, struct pw_policy **out,
			 size_t *n_out, char *err, size_t errlen);

void pw_policy_free(struct pw_policy *p); /* frees members, not p itself */
void pw_policies_free(struct pw_policy *v, size_t n);

void pw_labels_free(struct pw_labels *l);
/* Add key=value, or replace the value of key. 0 or -ENOMEM (l unchanged). */
int pw_labels_set(struct pw_labels *l, const char *key, const char *value);
/* Value of key, or NULL. */
const char *pw_labels_get(const struct pw_labels *l, const char *key);

bool pw_selector_matches(const struct pw_selector *sel, const struct pw_labels *labels);
/* Namespace and selector. */
bool pw_policy_selects(const struct pw_policy *p, const char *pod_namespace,
		       const struct pw_labels *labels);

#endif

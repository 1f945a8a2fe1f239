/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall-cni: the chained CNI plugin (CNI spec 1.0.0; 0.4.0 and 0.3.1 accepted).
 *
 * The plugin runs after the CNI's own plugins (bridge, ptp, flannel's bridge
 * delegate), finds the pod's host-side veth in prevResult and asks the agent,
 * over its control socket (ctl.h), to put the pod's programs and map entries in
 * place. ADD succeeds only once the agent confirmed enforcement; DEL always
 * succeeds (best effort, the agent also reconciles); CHECK asks the agent.
 *
 * This part is pure (no sockets, no ioctl, no process state): the netconf,
 * CNI_ARGS, prevResult, the agent requests and the texts for stdout. The I/O
 * (interface classifier, agent call, the commands) is lib/sys/cni_io.h;
 * cni_main.c only gathers the environment and stdin, calls pw_cni_exec() and
 * prints what it returns.
 */
#ifndef PODWALL_CNI_H
#define PODWALL_CNI_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ipaddr.h"

#define PW_CNI_TYPE		 "podwall-cni"
#define PW_CNI_SPEC_VERSION	 "1.0.0" /* the version this plugin speaks natively */
#define PW_CNI_DEFAULT_TIMEOUT_S 10
#define PW_CNI_MAX_TIMEOUT_S	 300
#define PW_CNI_MAX_IPS		 16
#define PW_CNI_MAX_STDIN	 (4 << 20)
#define PW_CNI_CIDR_STRLEN	 (PW_IP_STRLEN + 4) /* "addr/128" */

/* CNI spec "Well-known error codes" (0-99), then podwall's own (100+). */
enum pw_cni_code {
	PW_CNI_E_VERSION = 1,	   /* incompatible CNI version */
	PW_CNI_E_UNSUPPORTED = 2,  /* unsupported field in network configuration */
	PW_CNI_E_NO_CONTAINER = 3, /* container unknown or does not exist */
	PW_CNI_E_ENV = 4,	   /* invalid necessary environment variables */
	PW_CNI_E_IO = 5,	   /* I/O failure */
	PW_CNI_E_DECODE = 6,	   /* failed to decode content */
	PW_CNI_E_CONFIG = 7,	   /* invalid network config */
	PW_CNI_E_TRY_AGAIN = 11,   /* transient: the agent is unreachable or slow */
	PW_CNI_E_AGENT = 100,	   /* the agent refused, or answered garbage */
	PW_CNI_E_NO_VETH = 101,	   /* no usable host-side veth in the host netns */
};

enum pw_cni_cmd { PW_CNI_ADD = 1, PW_CNI_DEL, PW_CNI_CHECK, PW_CNI_VERSION };

/* A CNI error result: {"cniVersion","code","msg","details"}. */
struct pw_cni_error {
	int code;
	char msg[256];
	char details[512];
};

void pw_cni_error_set(struct pw_cni_error *e, int code, const char *details, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* NULL-terminated, oldest first. */
extern const char *const pw_cni_supported_versions[];
bool pw_cni_version_supported(const char *version);
/* Compare two "MAJOR.MINOR.PATCH" versions like strcmp; unparsable sorts first. */
int pw_cni_version_cmp(const char *a, const char *b);

/* "ADD" -> PW_CNI_ADD, ... ; -EINVAL (error code 4) for anything else. */
int pw_cni_cmd_parse(const char *s, enum pw_cni_cmd *cmd, struct pw_cni_error *e);

/* The CNI_* environment variables, as the runtime passed them (NULL if unset). */
struct pw_cni_env {
	const char *command;	  /* CNI_COMMAND */
	const char *container_id; /* CNI_CONTAINERID */
	const char *netns;	  /* CNI_NETNS */
	const char *ifname;	  /* CNI_IFNAME */
	const char *args;	  /* CNI_ARGS */
	const char *path;	  /* CNI_PATH (unused: podwall-cni delegates to nobody) */
};

/* What cmd needs: ADD and CHECK need CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME;
 * DEL needs CNI_CONTAINERID. Checks the spec's syntax for the container id and
 * the kernel's for the interface name. -EINVAL with code 4. */
int pw_cni_env_check(const struct pw_cni_env *env, enum pw_cni_cmd cmd, struct pw_cni_error *e);

/* The network configuration podwall-cni receives on stdin. */
struct pw_cni_conf {
	json_t *root;	      /* the whole document; owns the borrowed strings below */
	char cni_version[16]; /* kept after a failed parse if it was readable */
	const char *name;
	const char *type;
	const char *socket;  /* PW_CTL_SOCKET unless "socket" is set */
	int timeout_s;	     /* "timeoutSeconds", 1..PW_CNI_MAX_TIMEOUT_S, default 10 */
	json_t *prev_result; /* borrowed from root; NULL when absent (DEL) */
	json_t *labels;	     /* own reference: {key: value} from args.cni.labels */
};

/* Parse and validate the netconf; prevResult is required for ADD and CHECK.
 * On error conf holds nothing to free (cni_version may still be set). */
int pw_cni_conf_parse(const char *buf, size_t len, enum pw_cni_cmd cmd, struct pw_cni_conf *conf,
		      struct pw_cni_error *e);
void pw_cni_conf_free(struct pw_cni_conf *conf);

/* CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=n;..." */
struct pw_cni_args {
	bool ignore_unknown;
	char pod_namespace[64]; /* DNS-1123 label */
	char pod_name[254];	/* DNS-1123 subdomain */
	char infra_id[254];	/* K8S_POD_INFRA_CONTAINER_ID */
	char pod_uid[129];	/* K8S_POD_UID */
};

/* Parse CNI_ARGS (NULL or "" is empty) the way the stock plugins do: every pair
 * is KEY=VALUE, unknown keys are refused unless IgnoreUnknown is true, no key
 * twice. need_pod: K8S_POD_NAMESPACE and K8S_POD_NAME must be present.
 * -EINVAL with code 4. */
int pw_cni_args_parse(const char *s, bool need_pod, struct pw_cni_args *a, struct pw_cni_error *e);

/* What an interface named in prevResult is in the host network namespace. */
enum pw_iface_kind {
	PW_IFACE_MISSING = 0, /* no such interface here */
	PW_IFACE_VETH,
	PW_IFACE_BRIDGE,
	PW_IFACE_OTHER,
};

/* Returns an enum pw_iface_kind, or -errno when the question cannot be answered.
 * The real one is pw_iface_classify (cni_io.h); tests pass their own. */
typedef int (*pw_iface_classify_fn)(const char *name, void *ctx);

const char *pw_iface_kind_str(int kind);
/* An interface name the kernel accepts (dev_valid_name()). */
bool pw_cni_ifname_valid(const char *s);

/* What podwall needs from prevResult. */
struct pw_cni_prev {
	char host_ifname[IFNAMSIZ]; /* the pod's host-side veth */
	char cont_ifname[IFNAMSIZ]; /* CNI_IFNAME, as found in prevResult */
	char mac[18];		    /* its "mac", or "" if the plugin gave none */
	int n_ips;
	char ips[PW_CNI_MAX_IPS][PW_CNI_CIDR_STRLEN]; /* "10.42.0.5/24", canonical text */
};

/* Container interface: the entry with a sandbox whose name is ifname. Host veth:
 * among entries without a sandbox, the only one cls says is a veth (the bridge
 * plugin reports [bridge, host veth, container interface]). IPs: those whose
 * "interface" index is the container interface, or that have no index.
 * -EINVAL (code 7) for a malformed prevResult, -ENODEV (code 101) when no
 * sandbox-less entry is a veth present in the host namespace, or more than one. */
int pw_cni_prev_parse(const json_t *prev, const char *ifname, pw_iface_classify_fn cls, void *ctx,
		      struct pw_cni_prev *out, struct pw_cni_error *e);

/* Agent requests (ctl.h). New references, NULL on allocation failure. */
json_t *pw_cni_add_request(const struct pw_cni_env *env, const struct pw_cni_conf *conf,
			   const struct pw_cni_args *args, const struct pw_cni_prev *prev);
json_t *pw_cni_del_request(const char *container_id);
json_t *pw_cni_check_request(const char *container_id);

/* 0 if the agent's reply is {"ok":true,...}; otherwise -EPERM (ok:false, code
 * 100, what names the request in the message) or -EBADMSG (malformed, code 100). */
int pw_cni_reply_check(const json_t *reply, const char *what, struct pw_cni_error *e);

/* Texts for stdout (malloc'd, ending in a newline; NULL on allocation failure). */
char *pw_cni_error_json(const char *cni_version, const struct pw_cni_error *e);
char *pw_cni_version_json(void);
/* prevResult passed through unchanged (cniVersion added if it lacks one). */
char *pw_cni_result_json(const struct pw_cni_conf *conf);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's options from their one table (options.h): the defaults, the
 * getopt_long parser with range checks, and the usage text. Only the rules
 * between options are written by hand, in finish().
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fqdn.h"
#include "guard.h"
#include "options.h"
#include "words.h"

#define ARRAY_LEN(a)  (sizeof(a) / sizeof((a)[0]))
#define OPTS_FIELD(f) (((struct pw_agent_opts *)0)->f)

/* ---- what each type means for the table's columns ---- */

/* the C type of the field (of its elements for LIST and GUARD) */
#define CTYPE_STR      const char *
#define CTYPE_U32      uint32_t
#define CTYPE_HEX      uint32_t
#define CTYPE_FLAG     bool
#define CTYPE_CHOICE   int
#define CTYPE_LIST     const char *
#define CTYPE_GUARD    struct pw_guard_arg
#define ELEM_STR(f)    OPTS_FIELD(f)
#define ELEM_U32(f)    OPTS_FIELD(f)
#define ELEM_HEX(f)    OPTS_FIELD(f)
#define ELEM_FLAG(f)   OPTS_FIELD(f)
#define ELEM_CHOICE(f) OPTS_FIELD(f)
#define ELEM_LIST(f)   OPTS_FIELD(f)[0]
#define ELEM_GUARD(f)  OPTS_FIELD(f)[0]

/* where the count of a repeatable option is, and the room it has */
#define N_OFF_STR(f)	0
#define N_OFF_U32(f)	0
#define N_OFF_HEX(f)	0
#define N_OFF_FLAG(f)	0
#define N_OFF_CHOICE(f) 0
#define N_OFF_LIST(f)	offsetof(struct pw_agent_opts, n_##f)
#define N_OFF_GUARD(f)	offsetof(struct pw_agent_opts, n_guard)
#define CAP_STR(f)	0
#define CAP_U32(f)	0
#define CAP_HEX(f)	0
#define CAP_FLAG(f)	0
#define CAP_CHOICE(f)	0
#define CAP_LIST(f)	ARRAY_LEN(OPTS_FIELD(f))
#define CAP_GUARD(f)	ARRAY_LEN(OPTS_FIELD(f))

/* the default: repeatable options start empty */
#define DEF_STR(o, f, d)    (o)->f = (d);
#define DEF_U32(o, f, d)    (o)->f = (d);
#define DEF_HEX(o, f, d)    (o)->f = (d);
#define DEF_FLAG(o, f, d)   (o)->f = (d);
#define DEF_CHOICE(o, f, d) (o)->f = (d);
#define DEF_LIST(o, f, d)
#define DEF_GUARD(o, f, d)

/* A field of the wrong type for its row does not compile. */
#define TYPE_CHECK(field, name, sh, type, arg, lo, hi, def, check, help)                           \
	_Static_assert(__builtin_types_compatible_p(__typeof__(ELEM_##type(field)), CTYPE_##type), \
		       "--" name ": the field's type is not " #type);
PW_AGENT_OPTIONS(TYPE_CHECK)
#undef TYPE_CHECK

#define SPEC(field, name_, sh_, type_, arg_, lo_, hi_, def, check_, help_)                         \
	{                                                                                          \
		.name = name_,                                                                     \
		.sh = sh_,                                                                         \
		.type = PW_OPT_##type_,                                                            \
		.arg = arg_,                                                                       \
		.lo = lo_,                                                                         \
		.hi = hi_,                                                                         \
		.check = check_,                                                                   \
		.help = help_,                                                                     \
		.off = offsetof(struct pw_agent_opts, field),                                      \
		.n_off = N_OFF_##type_(field),                                                     \
		.cap = CAP_##type_(field),                                                         \
	},
const struct pw_opt_spec pw_agent_opt_specs[] = {PW_AGENT_OPTIONS(SPEC)};
#undef SPEC
const size_t pw_agent_n_opts = ARRAY_LEN(pw_agent_opt_specs);

void pw_agent_default_opts(struct pw_agent_opts *o)
{
	memset(o, 0, sizeof(*o));
#define DEFAULT(field, name, sh, type, arg, lo, hi, def, check, help) DEF_##type(o, field, def)
	PW_AGENT_OPTIONS(DEFAULT)
#undef DEFAULT
	/* not an option: seconds an expired entry is kept for flow re-checks */
	o->learned_grace = 300;
}

/* ---- validators of the check column ---- */

const char *pw_opt_check_domain(const char *arg)
{
	char norm[PW_FQDN_MAX + 1];
	const char *why;

	if (pw_fqdn_normalize(arg, norm, &why))
		return why;
	/* room for the shortest name under it */
	return strlen(norm) > PW_FQDN_MAX - 3 ? "too long" : NULL;
}

const char *pw_opt_check_ns_name(const char *arg)
{
	return *arg && !strchr(arg, '/') ? "expected NAMESPACE/NAME, or '' for none" : NULL;
}

/* ---- the parser ---- */

#define PFX "podwall agent: "

static void *field_of(struct pw_agent_opts *o, size_t off)
{
	return (char *)o + off;
}

static int parse_number(const struct pw_opt_spec *s, const char *arg, uint32_t *out, FILE *err)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || !*arg || *end || arg[0] == '-' || v < s->lo || v > s->hi) {
		if (s->type == PW_OPT_HEX)
			fprintf(err, PFX "--%s %s: expected a number from %#lx to %#lx\n", s->name,
				arg, s->lo, s->hi);
		else
			fprintf(err, PFX "--%s %s: expected a number from %lu to %lu\n", s->name,
				arg, s->lo, s->hi);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int guard_full(FILE *err)
{
	const char *last = NULL;
	int n = 0;

	fprintf(err, PFX "at most %zu prefixes in ", ARRAY_LEN(OPTS_FIELD(guard)));
	for (size_t i = 0; i < pw_agent_n_opts; i++) {
		if (pw_agent_opt_specs[i].type != PW_OPT_GUARD)
			continue;
		if (last)
			fprintf(err, "%s--%s", n++ ? ", " : "", last);
		last = pw_agent_opt_specs[i].name;
	}
	fprintf(err, " and --%s together\n", last);
	return -EINVAL;
}

static int set_opt(const struct pw_opt_spec *s, const char *arg, struct pw_agent_opts *o, FILE *err)
{
	const char *why = s->check && arg ? s->check(arg) : NULL;
	void *field = field_of(o, s->off);
	int *n = field_of(o, s->n_off);
	int idx;

	if (why) {
		fprintf(err, PFX "--%s %s: %s\n", s->name, arg, why);
		return -EINVAL;
	}
	switch (s->type) {
	case PW_OPT_STR:
		*(const char **)field = arg;
		return 0;
	case PW_OPT_U32:
	case PW_OPT_HEX:
		return parse_number(s, arg, field, err);
	case PW_OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case PW_OPT_CHOICE:
		idx = pw_word_index(s->arg, arg);
		if (idx < 0) {
			char words[256];

			fprintf(err, PFX "--%s %s: expected %s\n", s->name, arg,
				pw_word_list(s->arg, words, sizeof(words)));
			return -EINVAL;
		}
		*(int *)field = idx;
		return 0;
	case PW_OPT_LIST:
		if ((size_t)*n == s->cap) {
			fprintf(err, PFX "at most %zu --%s\n", s->cap, s->name);
			return -EINVAL;
		}
		((const char **)field)[(*n)++] = arg;
		return 0;
	case PW_OPT_GUARD: {
		struct pw_guard scratch = {0};
		struct pw_guard_arg *g = field;
		int bad;

		if ((size_t)*n == s->cap)
			return guard_full(err);
		bad = pw_guard_add_str(&scratch, arg, (uint8_t)s->lo, &why);
		pw_guard_free(&scratch);
		if (bad) {
			fprintf(err, PFX "--%s %s: %s\n", s->name, arg, why);
			return -EINVAL;
		}
		g[*n].kind = (uint8_t)s->lo;
		g[(*n)++].prefix = arg;
		return 0;
	}
	}
	return -EINVAL;
}

static bool given(const bool *seen, const char *name)
{
	for (size_t i = 0; i < pw_agent_n_opts; i++)
		if (!strcmp(pw_agent_opt_specs[i].name, name))
			return seen[i];
	return false;
}

/* The rules between options. */
static int finish(struct pw_agent_opts *o, const bool *seen, FILE *err)
{
	if (!o->n_search_domains && o->cluster_domain && *o->cluster_domain)
		o->search_domains[o->n_search_domains++] = o->cluster_domain;
	if (o->k8s && !given(seen, "policy-dir"))
		o->policy_dir = NULL; /* policies come from the API */
	if (o->k8s && !o->node_name)
		o->node_name = getenv("NODE_NAME");
	if ((o->kubeconfig || o->node_name || o->dns_service) && !o->k8s) {
		fprintf(err, PFX "--kubeconfig, --node-name and --dns-service go with --k8s\n");
		return -EINVAL;
	}
	if (o->min_ttl > o->max_ttl) {
		fprintf(err, PFX "--min-ttl must not exceed --max-ttl\n");
		return -EINVAL;
	}
	return 0;
}

static int short_index(int c)
{
	for (size_t i = 0; i < pw_agent_n_opts; i++)
		if (pw_agent_opt_specs[i].sh == c)
			return (int)i;
	return -1;
}

#define HINT "see 'podwall agent --help'"

int pw_agent_parse_opts(int argc, char **argv, struct pw_agent_opts *o, FILE *out, FILE *err)
{
	struct option longopts[ARRAY_LEN(pw_agent_opt_specs) + 2];
	char shorts[2 * ARRAY_LEN(pw_agent_opt_specs) + 4], *p = shorts;
	bool seen[ARRAY_LEN(pw_agent_opt_specs)] = {0};
	int c, i;

	pw_agent_default_opts(o);
	*p++ = ':'; /* a missing value returns ':' */
	for (i = 0; i < (int)pw_agent_n_opts; i++) {
		const struct pw_opt_spec *s = &pw_agent_opt_specs[i];
		int has_arg = s->type == PW_OPT_FLAG ? no_argument : required_argument;

		longopts[i] = (struct option){s->name, has_arg, NULL, s->sh ? s->sh : 256 + i};
		if (s->sh) {
			*p++ = s->sh;
			if (has_arg)
				*p++ = ':';
		}
	}
	longopts[i++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[i] = (struct option){0};
	*p++ = 'h';
	*p = 0;

	optind = 0; /* glibc: start over (the unit tests parse many times) */
	opterr = 0; /* the messages are ours */
	while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
		if (c == 'h') {
			pw_agent_usage(out);
			return 1;
		}
		if (c == '?') {
			if (optopt)
				fprintf(err, PFX "unknown option -%c (" HINT ")\n", optopt);
			else
				fprintf(err, PFX "unknown option %s (" HINT ")\n",
					argv[optind - 1]);
			return -EINVAL;
		}
		if (c == ':') {
			fprintf(err, PFX "%s needs a value (" HINT ")\n", argv[optind - 1]);
			return -EINVAL;
		}
		i = c >= 256 ? c - 256 : short_index(c);
		if (i < 0 || i >= (int)pw_agent_n_opts ||
		    set_opt(&pw_agent_opt_specs[i], optarg, o, err))
			return -EINVAL;
		seen[i] = true;
	}
	if (optind < argc) {
		fprintf(err, PFX "unexpected argument %s\n", argv[optind]);
		return -EINVAL;
	}
	return finish(o, seen, err);
}

/* ---- the usage text ---- */

#define HELP_COL   26 /* where the help of an option starts */
#define HELP_WIDTH 79

/* text from column col, words wrapped at HELP_WIDTH, each line indented. */
static void wrap(FILE *out, const char *text, int col)
{
	int at = col;

	while (*text) {
		size_t wl = strcspn(text, " ");

		if (at > col && at + 1 + (int)wl > HELP_WIDTH) {
			fprintf(out, "\n%*s", col, "");
			at = col;
		}
		at += fprintf(out, "%s%.*s", at > col ? " " : "", (int)wl, text);
		text += wl;
		text += strspn(text, " ");
	}
	fputc('\n', out);
}

static void usage_opt(FILE *out, const struct pw_opt_spec *s, const struct pw_agent_opts *def)
{
	const void *field = (const char *)def + s->off;
	char text[1024], left[64];
	int n;

	if (s->sh)
		n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", s->sh, s->name,
			     *s->arg ? " " : "", s->arg);
	else
		n = snprintf(left, sizeof(left), "  --%s%s%s", s->name, *s->arg ? " " : "", s->arg);
	switch (s->type) {
	case PW_OPT_STR:
		if (*(const char *const *)field)
			snprintf(text, sizeof(text), "%s (default %s)", s->help,
				 **(const char *const *)field ? *(const char *const *)field : "''");
		else
			snprintf(text, sizeof(text), "%s", s->help);
		break;
	case PW_OPT_U32:
		snprintf(text, sizeof(text), "%s (default %u, %lu to %lu)", s->help,
			 *(const uint32_t *)field, s->lo, s->hi);
		break;
	case PW_OPT_HEX:
		snprintf(text, sizeof(text), "%s (default %#x, %#lx to %#lx)", s->help,
			 *(const uint32_t *)field, s->lo, s->hi);
		break;
	case PW_OPT_CHOICE: {
		int wl = 0;
		const char *w = pw_word_at(s->arg, *(const int *)field, &wl);

		snprintf(text, sizeof(text), "%s (default %.*s)", s->help, wl, w ? w : "");
		break;
	}
	default:
		snprintf(text, sizeof(text), "%s", s->help);
		break;
	}
	if (n >= HELP_COL - 1)
		fprintf(out, "%s\n%*s", left, HELP_COL, "");
	else
		fprintf(out, "%-*s", HELP_COL, left);
	wrap(out, text, HELP_COL);
}

void pw_agent_usage(FILE *out)
{
	struct pw_agent_opts def;

	pw_agent_default_opts(&def);
	fputs("usage: podwall agent [OPTIONS]\n\n"
	      "Run the node agent: load the TC programs, keep the pinned maps in step with\n"
	      "the policies and pods, learn hostnames from pods' DNS answers, report denials.\n"
	      "Deny/audit events go to stdout as JSON lines; logs go to stderr.\n\n"
	      "options:\n",
	      out);
	for (size_t i = 0; i < pw_agent_n_opts; i++)
		usage_opt(out, &pw_agent_opt_specs[i], &def);
	fprintf(out, "%-*s", HELP_COL, "  -h, --help");
	wrap(out, "this text", HELP_COL);
	fputs("\nEXAMPLES\n"
	      "  podwall agent --policy-dir /etc/podwall/policies --resolver 10.43.0.10\n"
	      "  podwall agent --policy-dir ./policies --resolver 10.43.0.10 \\\n"
	      "      --min-ttl 30 --max-ttl 600 --metrics-addr \"$NODE_IP:9977\"\n"
	      "  podwall agent --k8s --node-name \"$NODE_NAME\" \\\n"
	      "      --cni-conflist /var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist\n",
	      out);
}

/*
 * idp/policy.c — the assurance policy: a file of ordered [rule NAME]
 * sections, each matching requests on client, scope, the user's groups and
 * the source network, and requiring a level, methods, a maximum
 * authentication age and source networks; enforce or report-only.
 *
 * Semantics (docs/assurance.md): every matching enforce rule applies and
 * the strictest requirement wins; the decision names the rule responsible.
 * Report-only rules are evaluated as if they were enforced and reported.
 *
 * Extension point: a condition is one entry in policy_keys[] below (its
 * parser and, for match.* keys, its matcher) plus, if it needs new input,
 * a field in struct idp_policy_ctx.  Issue 9 adds risk and device.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cm.h"
#include "idp/assurance.h"

#define POLICY_DESC_MAX	200

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];
	unsigned	prefix;
};

struct strlist {
	char		**v;
	size_t		  n;
};

struct netlist {
	struct cidr	*v;
	size_t		 n;
};

/* One bit per key, for "repeated key" and "has a requirement". */
enum {
	K_CLIENT	= 1u << 0,
	K_SCOPE		= 1u << 1,
	K_GROUP		= 1u << 2,
	K_NETWORK	= 1u << 3,
	K_NOT_NETWORK	= 1u << 4,
	K_LEVEL		= 1u << 5,
	K_METHODS	= 1u << 6,
	K_MAX_AGE	= 1u << 7,
	K_ALLOW_NET	= 1u << 8,
	K_MODE		= 1u << 9,
	K_DESCRIPTION	= 1u << 10,
	K_HOST		= 1u << 11,
	K_PATH		= 1u << 12,
	K_RISK		= 1u << 13,
	K_DEVICE	= 1u << 14,
	K_DENY		= 1u << 15,
	K_IAL		= 1u << 16,
	K_DEV_PROOFED	= 1u << 17
};
#define K_REQUIREMENTS	(K_LEVEL | K_METHODS | K_MAX_AGE | K_ALLOW_NET | \
	K_DENY | K_IAL)

struct rule {
	char		 name[IDP_POLICY_NAME_MAX + 1];
	size_t		 line;
	unsigned	 present;	/* K_* */
	int		 report_only;
	char		*description;
	struct strlist	 clients, scopes, groups, hosts, paths;
	struct netlist	 networks, not_networks, allow_networks;
	enum idp_risk	 risk;		/* match.risk: at least this */
	int		 ial;		/* require.ial: 1..3 */
	int		 dev_proofed;	/* match.device_proofed: 0 or 1 */
	unsigned	 devices;	/* match.device: 1 << idp_device_state */
	enum idp_aal	 level;		/* NONE: no requirement */
	uint32_t	 methods;	/* 0: no requirement */
	int64_t		 max_age;	/* -1: no requirement */
};

struct idp_policy {
	struct rule	*rules;
	size_t		 n;
};

/* The request, prepared once per evaluation. */
struct eval_in {
	const struct idp_policy_ctx	*ctx;
	struct cidr			 src;	/* prefix unused */
};

/* ---- the key table: parsers and matchers ---------------------------- */

struct pstate {
	const char	*name;
	size_t		 line;
	char		*err;
	size_t		 errsz;
};

/* A whole value, or (list keys) one trimmed item of a comma list. */
typedef int (*key_parse_fn)(struct pstate *, struct rule *, char *);
typedef int (*key_match_fn)(const struct rule *, const struct eval_in *);

static int item_client(struct pstate *, struct rule *, char *);
static int item_scope(struct pstate *, struct rule *, char *);
static int item_group(struct pstate *, struct rule *, char *);
static int item_network(struct pstate *, struct rule *, char *);
static int item_not_network(struct pstate *, struct rule *, char *);
static int parse_level(struct pstate *, struct rule *, char *);
static int item_method(struct pstate *, struct rule *, char *);
static int parse_max_age(struct pstate *, struct rule *, char *);
static int item_allow_network(struct pstate *, struct rule *, char *);
static int parse_mode(struct pstate *, struct rule *, char *);
static int item_host(struct pstate *, struct rule *, char *);
static int item_path(struct pstate *, struct rule *, char *);
static int parse_risk(struct pstate *, struct rule *, char *);
static int item_device(struct pstate *, struct rule *, char *);
static int parse_deny(struct pstate *, struct rule *, char *);
static int parse_ial(struct pstate *, struct rule *, char *);
static int parse_dev_proofed(struct pstate *, struct rule *, char *);
static int match_dev_proofed(const struct rule *, const struct eval_in *);
static int match_host(const struct rule *, const struct eval_in *);
static int match_path(const struct rule *, const struct eval_in *);
static int match_risk(const struct rule *, const struct eval_in *);
static int match_device(const struct rule *, const struct eval_in *);
static int parse_description(struct pstate *, struct rule *, char *);
static int match_client(const struct rule *, const struct eval_in *);
static int match_scope(const struct rule *, const struct eval_in *);
static int match_group(const struct rule *, const struct eval_in *);
static int match_network(const struct rule *, const struct eval_in *);
static int match_not_network(const struct rule *, const struct eval_in *);

static const struct policy_key {
	const char	*key;
	unsigned	 bit;
	key_parse_fn	 parse;		/* the value */
	key_parse_fn	 item;		/* or each item of a comma list */
	key_match_fn	 match;		/* NULL: not a condition */
} policy_keys[] = {
	{ "match.client",	K_CLIENT,	NULL, item_client,	match_client },
	{ "match.scope",	K_SCOPE,	NULL, item_scope,	match_scope },
	{ "match.group",	K_GROUP,	NULL, item_group,	match_group },
	{ "match.network",	K_NETWORK,	NULL, item_network,
	    match_network },
	{ "match.not_network",	K_NOT_NETWORK,	NULL, item_not_network,
	    match_not_network },
	{ "match.host",		K_HOST,		NULL, item_host,	match_host },
	{ "match.path",		K_PATH,		NULL, item_path,	match_path },
	{ "match.risk",		K_RISK,		parse_risk, NULL,	match_risk },
	{ "match.device",	K_DEVICE,	NULL, item_device,	match_device },
	{ "match.device_proofed", K_DEV_PROOFED, parse_dev_proofed, NULL,
	    match_dev_proofed },
	{ "deny",		K_DENY,		parse_deny, NULL,	NULL },
	{ "require.ial",	K_IAL,		parse_ial, NULL,	NULL },
	{ "require.level",	K_LEVEL,	parse_level, NULL,	NULL },
	{ "require.methods",	K_METHODS,	NULL, item_method,	NULL },
	{ "require.max_age",	K_MAX_AGE,	parse_max_age, NULL,	NULL },
	{ "allow.networks",	K_ALLOW_NET,	NULL, item_allow_network, NULL },
	{ "mode",		K_MODE,		parse_mode, NULL,	NULL },
	{ "description",	K_DESCRIPTION,	parse_description, NULL, NULL },
};
#define POLICY_NKEYS	(sizeof(policy_keys) / sizeof(policy_keys[0]))

/* ---- errors ---------------------------------------------------------- */

static int
perr(struct pstate *ps, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct pstate *ps, int r, const char *fmt, ...)
{
	char msg[IDP_POLICY_ERR_MAX];
	va_list ap;

	if (ps->err != NULL && ps->errsz > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		(void)snprintf(ps->err, ps->errsz, "%s:%zu: %s", ps->name,
		    ps->line, msg);
	}
	return r;
}

/* A value quoted in a message: printable, at most 64 bytes. */
static const char *
q(char *dst, size_t dstsz, const char *s)
{
	size_t n = strlen(s);

	return cm_log_sanitize(dst, dstsz < 65 ? dstsz : 65, s, n);
}

/* ---- small helpers --------------------------------------------------- */

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Split a comma-separated list in place; calls fn for every trimmed,
 * non-empty item.  Empty items and lists over IDP_POLICY_LIST_MAX fail. */
static int
split_list(struct pstate *ps, char *val,
    int (*fn)(struct pstate *, struct rule *, char *), struct rule *ru)
{
	char *item, *comma;
	size_t n = 0;
	int r;

	for (item = val;; item = comma + 1) {
		comma = strchr(item, ',');
		if (comma != NULL)
			*comma = '\0';
		item = trim(item);
		if (*item == '\0')
			return perr(ps, CM_ERR_INVAL, "empty list item");
		if (++n > IDP_POLICY_LIST_MAX)
			return perr(ps, CM_ERR_RANGE, "more than %d list items",
			    IDP_POLICY_LIST_MAX);
		if ((r = fn(ps, ru, item)) != 0)
			return r;
		if (comma == NULL)
			return 0;
	}
}

static int
strlist_add(struct strlist *l, const char *s)
{
	char **v, *d;

	if ((d = strdup(s)) == NULL)
		return CM_ERR_NOMEM;
	if ((v = reallocarray(l->v, l->n + 1, sizeof(*v))) == NULL) {
		free(d);
		return CM_ERR_NOMEM;
	}
	l->v = v;
	l->v[l->n++] = d;
	return 0;
}

static void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
netlist_add(struct netlist *l, const struct cidr *c)
{
	struct cidr *v;

	if ((v = reallocarray(l->v, l->n + 1, sizeof(*v))) == NULL)
		return CM_ERR_NOMEM;
	l->v = v;
	l->v[l->n++] = *c;
	return 0;
}

static void
rule_free(struct rule *ru)
{
	strlist_free(&ru->clients);
	strlist_free(&ru->scopes);
	strlist_free(&ru->groups);
	free(ru->networks.v);
	free(ru->not_networks.v);
	strlist_free(&ru->hosts);
	strlist_free(&ru->paths);
	free(ru->allow_networks.v);
	free(ru->description);
	memset(ru, 0, sizeof(*ru));
}

/* An address: IPv4-mapped IPv6 becomes IPv4. */
static int
addr_parse(const char *s, struct cidr *c)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	uint8_t a6[16];

	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, s, c->addr) == 1) {
		c->family = AF_INET;
		c->prefix = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a6) == 1) {
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			c->family = AF_INET;
			memcpy(c->addr, a6 + 12, 4);
			c->prefix = 32;
		} else {
			c->family = AF_INET6;
			memcpy(c->addr, a6, 16);
			c->prefix = 128;
		}
		return 0;
	}
	return CM_ERR_INVAL;
}

static int
cidr_contains(const struct cidr *net, const struct cidr *a)
{
	unsigned full, rest;

	if (net->family != a->family)
		return 0;
	full = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(net->addr, a->addr, full) != 0)
		return 0;
	if (rest != 0 && ((net->addr[full] ^ a->addr[full]) &
	    (uint8_t)(0xff << (8 - rest))) != 0)
		return 0;
	return 1;
}

static int
netlist_contains(const struct netlist *l, const struct cidr *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_contains(&l->v[i], a))
			return 1;
	return 0;
}

/* "addr" or "addr/prefix"; host bits must be zero (a typo otherwise). */
static int
cidr_parse(struct pstate *ps, const char *s, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], qb[80];
	const char *slash;
	long long pl;
	unsigned max, i;
	size_t al;

	slash = strchr(s, '/');
	al = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (al == 0 || al >= sizeof(buf))
		return perr(ps, CM_ERR_INVAL, "bad network \"%s\"",
		    q(qb, sizeof(qb), s));
	memcpy(buf, s, al);
	buf[al] = '\0';
	/* no mapped-address rewriting for networks: write IPv4 as IPv4 */
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return perr(ps, CM_ERR_INVAL, "bad network address \"%s\"",
		    q(qb, sizeof(qb), s));
	if (slash == NULL)
		pl = max;
	else if (cm_parse_ll(slash + 1, 0, max, &pl) != 0)
		return perr(ps, CM_ERR_INVAL, "bad prefix length in \"%s\"",
		    q(qb, sizeof(qb), s));
	c->prefix = (unsigned)pl;
	for (i = c->prefix; i < max; i++) {
		if (c->addr[i / 8] & (0x80 >> (i % 8)))
			return perr(ps, CM_ERR_INVAL,
			    "host bits set in \"%s\"", q(qb, sizeof(qb), s));
	}
	return 0;
}

/* ---- parsers ---------------------------------------------------------- */

static int
item_client(struct pstate *ps, struct rule *ru, char *s)
{
	char qb[80];
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return perr(ps, CM_ERR_INVAL, "bad client id \"%s\"",
			    q(qb, sizeof(qb), s));
	}
	return strlist_add(&ru->clients, s) != 0 ?
	    perr(ps, CM_ERR_NOMEM, "out of memory") : 0;
}

/* RFC 6749 §3.3 scope-token. */
static int
item_scope(struct pstate *ps, struct rule *ru, char *s)
{
	char qb[80];
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return perr(ps, CM_ERR_INVAL, "bad scope \"%s\"",
			    q(qb, sizeof(qb), s));
	}
	return strlist_add(&ru->scopes, s) != 0 ?
	    perr(ps, CM_ERR_NOMEM, "out of memory") : 0;
}

static int
item_group(struct pstate *ps, struct rule *ru, char *s)
{
	return strlist_add(&ru->groups, s) != 0 ?
	    perr(ps, CM_ERR_NOMEM, "out of memory") : 0;
}

static int
item_net(struct pstate *ps, struct netlist *l, const char *s)
{
	struct cidr c;
	int r;

	if ((r = cidr_parse(ps, s, &c)) != 0)
		return r;
	return netlist_add(l, &c) != 0 ?
	    perr(ps, CM_ERR_NOMEM, "out of memory") : 0;
}

static int
item_network(struct pstate *ps, struct rule *ru, char *s)
{
	return item_net(ps, &ru->networks, s);
}

static int
item_not_network(struct pstate *ps, struct rule *ru, char *s)
{
	return item_net(ps, &ru->not_networks, s);
}

static int
item_allow_network(struct pstate *ps, struct rule *ru, char *s)
{
	return item_net(ps, &ru->allow_networks, s);
}

static int
item_method(struct pstate *ps, struct rule *ru, char *s)
{
	char qb[80];
	uint32_t bit;

	if (idp_amr_parse(s, strlen(s), &bit) != 0)
		return perr(ps, CM_ERR_INVAL,
		    "unknown method \"%s\" (an RFC 8176 amr value)",
		    q(qb, sizeof(qb), s));
	ru->methods |= bit;
	return 0;
}

static int
parse_level(struct pstate *ps, struct rule *ru, char *v)
{
	char qb[80];

	if (strcmp(v, "aal1") == 0)
		ru->level = IDP_AAL1;
	else if (strcmp(v, "aal2") == 0)
		ru->level = IDP_AAL2;
	else if (strcmp(v, "aal3") == 0)
		ru->level = IDP_AAL3;
	else
		return perr(ps, CM_ERR_INVAL,
		    "require.level must be aal1, aal2 or aal3, not \"%s\"",
		    q(qb, sizeof(qb), v));
	return 0;
}

static int
parse_max_age(struct pstate *ps, struct rule *ru, char *v)
{
	char qb[80];
	long long n;

	if (cm_parse_ll(v, 0, IDP_POLICY_MAX_AGE_MAX, &n) != 0)
		return perr(ps, CM_ERR_INVAL,
		    "require.max_age must be seconds in 0..%lld, not \"%s\"",
		    (long long)IDP_POLICY_MAX_AGE_MAX, q(qb, sizeof(qb), v));
	ru->max_age = n;
	return 0;
}

/* Host names: DNS labels, compared case-insensitively. */
static int
item_host(struct pstate *ps, struct rule *ru, char *s)
{
	char qb[80];
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':'))
			return perr(ps, CM_ERR_INVAL, "bad host \"%s\"",
			    q(qb, sizeof(qb), s));
	}
	return strlist_add(&ru->hosts, s) != 0 ?
	    perr(ps, CM_ERR_NOMEM, "out of memory") : 0;
}

/* Path prefixes: absolute, no query, no dot segments. */
static int
item_path(struct pstate *ps, struct rule *ru, char *s)
{
	char qb[80];
	size_t i;

	if (s[0] != '/' || strstr(s, "/../") != NULL ||
	    strstr(s, "/./") != NULL || strchr(s, '?') != NULL ||
	    strchr(s, '#') != NULL)
		return perr(ps, CM_ERR_INVAL, "bad path prefix \"%s\" (absolute, "
		    "no query, no dot segments)", q(qb, sizeof(qb), s));
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return perr(ps, CM_ERR_INVAL, "bad path prefix \"%s\"",
			    q(qb, sizeof(qb), s));
	return strlist_add(&ru->paths, s) != 0 ?
	    perr(ps, CM_ERR_NOMEM, "out of memory") : 0;
}

int
idp_risk_parse(const char *s, enum idp_risk *out)
{
	if (strcmp(s, "low") == 0)
		*out = IDP_RISK_LOW;
	else if (strcmp(s, "medium") == 0)
		*out = IDP_RISK_MEDIUM;
	else if (strcmp(s, "high") == 0)
		*out = IDP_RISK_HIGH;
	else
		return CM_ERR_INVAL;
	return 0;
}

const char *
idp_risk_name(enum idp_risk r)
{
	return r == IDP_RISK_HIGH ? "high" : r == IDP_RISK_MEDIUM ? "medium" :
	    "low";
}

static int
parse_risk(struct pstate *ps, struct rule *ru, char *v)
{
	char qb[80];

	if (idp_risk_parse(v, &ru->risk) != 0 || ru->risk == IDP_RISK_LOW)
		return perr(ps, CM_ERR_INVAL, "match.risk must be medium or "
		    "high (at least), not \"%s\"", q(qb, sizeof(qb), v));
	return 0;
}

static int
item_device(struct pstate *ps, struct rule *ru, char *s)
{
	char qb[80];

	if (strcmp(s, "compliant") == 0)
		ru->devices |= 1u << IDP_DEVICE_COMPLIANT;
	else if (strcmp(s, "not-compliant") == 0)
		ru->devices |= 1u << IDP_DEVICE_NOT_COMPLIANT;
	else if (strcmp(s, "unknown") == 0)
		ru->devices |= 1u << IDP_DEVICE_UNKNOWN;
	else if (strcmp(s, "none") == 0)
		ru->devices |= 1u << IDP_DEVICE_NONE;
	else
		return perr(ps, CM_ERR_INVAL, "match.device takes compliant, "
		    "not-compliant, unknown or none, not \"%s\"",
		    q(qb, sizeof(qb), s));
	return 0;
}

static int
parse_deny(struct pstate *ps, struct rule *ru, char *v)
{
	(void)ru;
	if (strcmp(v, "yes") != 0)
		return perr(ps, CM_ERR_INVAL, "deny takes only yes (omit the "
		    "key otherwise)");
	return 0;
}

static int
parse_ial(struct pstate *ps, struct rule *ru, char *v)
{
	char qb[80];

	if (strcmp(v, "ial1") == 0)
		ru->ial = 1;
	else if (strcmp(v, "ial2") == 0)
		ru->ial = 2;
	else if (strcmp(v, "ial3") == 0)
		ru->ial = 3;
	else
		return perr(ps, CM_ERR_INVAL, "require.ial must be ial1, ial2 "
		    "or ial3, not \"%s\"", q(qb, sizeof(qb), v));
	return 0;
}

static int
parse_dev_proofed(struct pstate *ps, struct rule *ru, char *v)
{
	if (strcmp(v, "yes") == 0)
		ru->dev_proofed = 1;
	else if (strcmp(v, "no") == 0)
		ru->dev_proofed = 0;
	else
		return perr(ps, CM_ERR_INVAL, "match.device_proofed takes yes "
		    "or no");
	return 0;
}

/* A request without an identified device is never "proofed". */
static int
match_dev_proofed(const struct rule *ru, const struct eval_in *in)
{
	return (in->ctx->device_proofed > 0) == (ru->dev_proofed != 0);
}

static int
match_host(const struct rule *ru, const struct eval_in *in)
{
	size_t i;

	if (in->ctx->host == NULL)
		return 0;
	for (i = 0; i < ru->hosts.n; i++)
		if (strcasecmp(ru->hosts.v[i], in->ctx->host) == 0)
			return 1;
	return 0;
}

/* "/admin" matches "/admin", "/admin/" and "/admin/x", not "/admins". */
static int
match_path(const struct rule *ru, const struct eval_in *in)
{
	const char *p = in->ctx->path;
	size_t i, n;

	if (p == NULL)
		return 0;
	for (i = 0; i < ru->paths.n; i++) {
		n = strlen(ru->paths.v[i]);
		if (strncmp(p, ru->paths.v[i], n) == 0 &&
		    (p[n] == '\0' || p[n] == '/' || p[n] == '?' ||
		    ru->paths.v[i][n - 1] == '/'))
			return 1;
	}
	return 0;
}

static int
match_risk(const struct rule *ru, const struct eval_in *in)
{
	return in->ctx->risk >= ru->risk;
}

static int
match_device(const struct rule *ru, const struct eval_in *in)
{
	return (ru->devices & (1u << in->ctx->device)) != 0;
}

static int
parse_mode(struct pstate *ps, struct rule *ru, char *v)
{
	char qb[80];

	if (strcmp(v, "enforce") == 0)
		ru->report_only = 0;
	else if (strcmp(v, "report-only") == 0)
		ru->report_only = 1;
	else
		return perr(ps, CM_ERR_INVAL,
		    "mode must be enforce or report-only, not \"%s\"",
		    q(qb, sizeof(qb), v));
	return 0;
}

static int
parse_description(struct pstate *ps, struct rule *ru, char *v)
{
	if (strlen(v) > POLICY_DESC_MAX)
		return perr(ps, CM_ERR_RANGE, "description over %d bytes",
		    POLICY_DESC_MAX);
	if ((ru->description = strdup(v)) == NULL)
		return perr(ps, CM_ERR_NOMEM, "out of memory");
	return 0;
}

/* ---- the file --------------------------------------------------------- */

static int
rule_name_check(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > IDP_POLICY_NAME_MAX)
		return CM_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return CM_ERR_INVAL;
	}
	if (strcmp(s, "default") == 0)	/* the decision's "no rule" name */
		return CM_ERR_INVAL;
	return 0;
}

/* Checks when a rule is complete (at the next section or the end). */
static int
rule_finish(struct pstate *ps, const struct rule *ru)
{
	size_t saved = ps->line;
	int r = 0;

	ps->line = ru->line;
	if ((ru->present & K_REQUIREMENTS) == 0)
		r = perr(ps, CM_ERR_INVAL, "rule %s has no require.* or "
		    "allow.networks line", ru->name);
	ps->line = saved;
	return r;
}

static int
section_parse(struct pstate *ps, struct idp_policy *p, char *s)
{
	struct rule *v, *ru;
	char *e, *name, qb[80];
	size_t i;

	e = s + strlen(s) - 1;		/* s starts with '[' */
	if (*e != ']')
		return perr(ps, CM_ERR_INVAL, "section header without ']'");
	*e = '\0';
	s = trim(s + 1);
	if (strncmp(s, "rule", 4) != 0 || (s[4] != ' ' && s[4] != '\t'))
		return perr(ps, CM_ERR_INVAL,
		    "expected [rule NAME], not [%s]", q(qb, sizeof(qb), s));
	name = trim(s + 4);
	if (rule_name_check(name) != 0)
		return perr(ps, CM_ERR_INVAL, "bad rule name \"%s\" (1..%d of "
		    "A-Z a-z 0-9 . _ -; not \"default\")",
		    q(qb, sizeof(qb), name), IDP_POLICY_NAME_MAX);
	for (i = 0; i < p->n; i++) {
		if (strcmp(p->rules[i].name, name) == 0)
			return perr(ps, CM_ERR_INVAL,
			    "duplicate rule name \"%s\" (first at line %zu)",
			    name, p->rules[i].line);
	}
	if (p->n >= IDP_POLICY_RULES_MAX)
		return perr(ps, CM_ERR_RANGE, "more than %d rules",
		    IDP_POLICY_RULES_MAX);
	if ((v = reallocarray(p->rules, p->n + 1, sizeof(*v))) == NULL)
		return perr(ps, CM_ERR_NOMEM, "out of memory");
	p->rules = v;
	ru = &p->rules[p->n++];
	memset(ru, 0, sizeof(*ru));
	memcpy(ru->name, name, strlen(name) + 1);
	ru->line = ps->line;
	ru->max_age = -1;
	return 0;
}

static int
keyval_parse(struct pstate *ps, struct idp_policy *p, char *s)
{
	struct rule *ru;
	char *eq, *key, *val, qb[80];
	size_t i;

	if (p->n == 0)
		return perr(ps, CM_ERR_INVAL, "setting outside a [rule NAME] "
		    "section");
	ru = &p->rules[p->n - 1];
	if ((eq = strchr(s, '=')) == NULL)
		return perr(ps, CM_ERR_INVAL, "expected \"key = value\"");
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	for (i = 0; i < POLICY_NKEYS; i++)
		if (strcmp(key, policy_keys[i].key) == 0)
			break;
	if (i == POLICY_NKEYS)
		return perr(ps, CM_ERR_INVAL, "unknown key \"%s\"",
		    q(qb, sizeof(qb), key));
	if (ru->present & policy_keys[i].bit)
		return perr(ps, CM_ERR_INVAL, "repeated key \"%s\" in rule %s",
		    key, ru->name);
	if (*val == '\0')
		return perr(ps, CM_ERR_INVAL, "empty value for \"%s\"", key);
	ru->present |= policy_keys[i].bit;
	if (policy_keys[i].item != NULL)
		return split_list(ps, val, policy_keys[i].item, ru);
	return policy_keys[i].parse(ps, ru, val);
}

static int
line_parse(struct pstate *ps, struct idp_policy *p, char *s)
{
	int r;

	s = trim(s);
	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		if (p->n > 0 && (r = rule_finish(ps, &p->rules[p->n - 1])) != 0)
			return r;
		return section_parse(ps, p, s);
	}
	return keyval_parse(ps, p, s);
}

void
idp_policy_free(idp_policy **pp)
{
	idp_policy *p;
	size_t i;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	for (i = 0; i < p->n; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p);
	*pp = NULL;
}

int
idp_policy_parse(const uint8_t *buf, size_t len, const char *name,
    idp_policy **out, char *err, size_t errsz)
{
	struct pstate ps;
	idp_policy *p = NULL;
	char line[IDP_POLICY_LINE_MAX + 1];
	size_t pos = 0, ll, i;
	const uint8_t *nl;
	int r = CM_ERR_INTERNAL;

	ps.name = name != NULL ? name : "policy";
	ps.line = 0;
	ps.err = err;
	ps.errsz = errsz;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (buf == NULL && len > 0)
		return perr(&ps, CM_ERR_INVAL, "no input");
	if (len > IDP_POLICY_FILE_MAX)
		return perr(&ps, CM_ERR_RANGE, "larger than %d bytes",
		    IDP_POLICY_FILE_MAX);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return perr(&ps, CM_ERR_NOMEM, "out of memory");
	while (pos < len) {
		ps.line++;
		nl = memchr(buf + pos, '\n', len - pos);
		ll = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
		if (ll > IDP_POLICY_LINE_MAX) {
			r = perr(&ps, CM_ERR_RANGE, "line longer than %d bytes",
			    IDP_POLICY_LINE_MAX);
			goto out;
		}
		memcpy(line, buf + pos, ll);
		pos += ll + (nl != NULL ? 1 : 0);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		line[ll] = '\0';
		/* text only: no NULs or control characters but tab */
		for (i = 0; i < ll; i++) {
			unsigned char c = (unsigned char)line[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				r = perr(&ps, CM_ERR_INVAL,
				    "control character 0x%02x", c);
				goto out;
			}
		}
		if ((r = line_parse(&ps, p, line)) != 0)
			goto out;
	}
	if (p->n > 0 && (r = rule_finish(&ps, &p->rules[p->n - 1])) != 0)
		goto out;
	*out = p;
	p = NULL;	/* transferred */
	r = 0;
 out:
	idp_policy_free(&p);
	return r;
}

int
idp_policy_load(const char *path, idp_policy **out, char *err, size_t errsz)
{
	struct cm_buf b;
	struct stat st;
	uint8_t chunk[4096];
	ssize_t n;
	int fd = -1, r = CM_ERR_INTERNAL;

	cm_buf_init(&b, IDP_POLICY_FILE_MAX, 0);
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (path == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		r = errno == ENOENT ? CM_ERR_NOTFOUND : CM_ERR_IO;
		if (err != NULL && errsz > 0)
			(void)snprintf(err, errsz, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		r = CM_ERR_IO;
		if (err != NULL && errsz > 0)
			(void)snprintf(err, errsz, "%s: not a regular file",
			    path);
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = CM_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if ((r = cm_buf_append(&b, chunk, (size_t)n)) != 0) {
			if (err != NULL && errsz > 0)
				(void)snprintf(err, errsz,
				    "%s: larger than %d bytes", path,
				    IDP_POLICY_FILE_MAX);
			goto out;
		}
	}
	r = idp_policy_parse(b.data, b.len, path, out, err, errsz);
 out:
	if (fd != -1)
		close(fd);
	cm_buf_free(&b);
	return r;
}

size_t
idp_policy_rule_count(const idp_policy *p)
{
	return p != NULL ? p->n : 0;
}

/* ---- matchers ---------------------------------------------------------- */

static int
match_client(const struct rule *ru, const struct eval_in *in)
{
	size_t i;

	for (i = 0; i < ru->clients.n; i++)
		if (strcmp(ru->clients.v[i], in->ctx->client_id) == 0)
			return 1;
	return 0;
}

static int
match_scope(const struct rule *ru, const struct eval_in *in)
{
	size_t i, j;

	for (i = 0; i < ru->scopes.n; i++)
		for (j = 0; j < in->ctx->nscopes; j++)
			if (in->ctx->scopes[j] != NULL &&
			    strcmp(ru->scopes.v[i], in->ctx->scopes[j]) == 0)
				return 1;
	return 0;
}

/* Group names compare like LDAP cn (caseIgnoreMatch, ASCII here). */
static int
match_group(const struct rule *ru, const struct eval_in *in)
{
	size_t i, j;

	for (i = 0; i < ru->groups.n; i++)
		for (j = 0; j < in->ctx->ngroups; j++)
			if (in->ctx->groups[j] != NULL &&
			    strcasecmp(ru->groups.v[i], in->ctx->groups[j]) == 0)
				return 1;
	return 0;
}

static int
match_network(const struct rule *ru, const struct eval_in *in)
{
	return netlist_contains(&ru->networks, &in->src);
}

static int
match_not_network(const struct rule *ru, const struct eval_in *in)
{
	return !netlist_contains(&ru->not_networks, &in->src);
}

static int
rule_matches(const struct rule *ru, const struct eval_in *in)
{
	size_t i;

	for (i = 0; i < POLICY_NKEYS; i++) {
		if (policy_keys[i].match == NULL ||
		    !(ru->present & policy_keys[i].bit))
			continue;
		if (!policy_keys[i].match(ru, in))
			return 0;
	}
	return 1;
}

/* ---- evaluation --------------------------------------------------------- */

/* The combined requirements, and which rule imposed each. */
struct acc {
	const struct rule *deny;	/* first rule refusing the network */
	int		 deny_explicit;	/* ... or refusing outright (deny) */
	const struct rule *ial_rule;	/* an unmet require.ial */
	enum idp_aal	 level;
	const char	*level_by;
	const struct rule *level_rule;	/* NULL when level_by is the client */
	uint32_t	 methods;	/* acceptable for the next factor */
	const struct rule *methods_rule;
	int64_t		 max_age;
	const char	*age_by;
	const struct rule *first;	/* first matching rule */
};

static void
acc_init(struct acc *a)
{
	memset(a, 0, sizeof(*a));
	a->max_age = -1;
}

static void
acc_fold(struct acc *a, const struct rule *ru, const struct eval_in *in)
{
	if (a->first == NULL)
		a->first = ru;
	if ((ru->present & K_IAL) && in->ctx->ial < ru->ial &&
	    (a->ial_rule == NULL || ru->ial > a->ial_rule->ial))
		a->ial_rule = ru;
	if ((ru->present & K_DENY) && (a->deny == NULL ||
	    !a->deny_explicit)) {
		a->deny = ru;
		a->deny_explicit = 1;
	}
	if ((ru->present & K_ALLOW_NET) && a->deny == NULL &&
	    !netlist_contains(&ru->allow_networks, &in->src))
		a->deny = ru;
	if (ru->level > a->level) {
		a->level = ru->level;
		a->level_by = ru->name;
		a->level_rule = ru;
	}
	/* methods: each rule must see one of its methods in the session's
	 * amr; while unsatisfied, offer what satisfies all unsatisfied
	 * rules at once, else the first one's (re-evaluate after). */
	if (ru->methods != 0 && (in->ctx->amr & ru->methods) == 0) {
		if (a->methods == 0) {
			a->methods = ru->methods;
			a->methods_rule = ru;
		} else if ((a->methods & ru->methods) != 0)
			a->methods &= ru->methods;
	}
	if (ru->max_age >= 0 && (a->max_age < 0 || ru->max_age < a->max_age)) {
		a->max_age = ru->max_age;
		a->age_by = ru->name;
	}
}

/* acr_values: any recognised value is acceptable (OIDC Core §3.1.2.1),
 * so the lowest recognised level is the requirement; unknown values are
 * ignored (acr is a voluntary claim, §5.5.1.1).  max_age likewise. */
static void
acc_fold_client(struct acc *a, const struct idp_policy_ctx *ctx)
{
	enum idp_aal want = IDP_AAL_NONE, l;
	size_t i;

	for (i = 0; i < ctx->nacr_values; i++) {
		const char *v = ctx->acr_values[i];

		if (v == NULL || idp_aal_from_acr(v, strlen(v), &l) != 0)
			continue;
		if (want == IDP_AAL_NONE || l < want)
			want = l;
	}
	if (want > a->level) {
		a->level = want;
		a->level_by = "client:acr_values";
		a->level_rule = NULL;
	}
	if (ctx->max_age >= 0 && (a->max_age < 0 || ctx->max_age < a->max_age)) {
		a->max_age = ctx->max_age;
		a->age_by = "client:max_age";
	}
}

static void
set_str(char *dst, size_t dstsz, const char *src)
{
	(void)snprintf(dst, dstsz, "%s", src);
}

static void
methods_text(uint32_t m, char *buf, size_t sz)
{
	const char *names[IDP_AMR_MAX];
	size_t n, i, off = 0;
	int w;

	buf[0] = '\0';
	n = idp_amr_list(m, names);
	for (i = 0; i < n && off < sz; i++) {
		w = snprintf(buf + off, sz - off, "%s%s", i ? ", " : "",
		    names[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static const char *
desc_of(const struct rule *ru)
{
	return ru != NULL && ru->description != NULL ? ru->description : "";
}

/* The effective result of combined requirements a for the session. */
static void
acc_decide(const struct acc *a, const struct idp_policy_ctx *ctx,
    enum idp_policy_effect *effect, enum idp_aal *level, uint32_t *methods,
    char *rule, char *reason)
{
	enum idp_aal eff, need;
	char mt[128];
	int64_t age;

	*methods = 0;
	need = a->level;
	*level = need;
	if (a->ial_rule != NULL && a->deny == NULL) {
		/* proofing cannot happen at login: an officer must do it */
		*effect = IDP_POLICY_DENY;
		set_str(rule, IDP_POLICY_NAME_MAX + 1, a->ial_rule->name);
		(void)snprintf(reason, IDP_POLICY_REASON_MAX,
		    "rule %s requires identity proofing at IAL%d; the subject "
		    "has IAL%d%s%s", a->ial_rule->name, a->ial_rule->ial,
		    ctx->ial > 0 ? ctx->ial : 0,
		    a->ial_rule->description ? ": " : "",
		    desc_of(a->ial_rule));
		return;
	}
	if (a->deny != NULL) {
		*effect = IDP_POLICY_DENY;
		set_str(rule, IDP_POLICY_NAME_MAX + 1, a->deny->name);
		(void)snprintf(reason, IDP_POLICY_REASON_MAX,
		    a->deny_explicit ? "refused by rule %s%s%s" :
		    "source address is not in allow.networks of rule %s%s%s",
		    a->deny->name, a->deny->description ? ": " : "",
		    desc_of(a->deny));
		return;
	}
	eff = ctx->aal;
	if (eff < IDP_AAL_NONE || eff > IDP_AAL3)
		eff = IDP_AAL_NONE;
	if (eff != IDP_AAL_NONE)
		eff = idp_aal_effective(eff, ctx->auth_time, ctx->now);
	if (ctx->aal == IDP_AAL_NONE || ctx->auth_time <= 0) {
		*effect = IDP_POLICY_STEP_UP;
		if (need < IDP_AAL1)
			*level = need = IDP_AAL1;
		*methods = a->methods;
		set_str(rule, IDP_POLICY_NAME_MAX + 1,
		    a->level_by != NULL ? a->level_by : "default");
		(void)snprintf(reason, IDP_POLICY_REASON_MAX,
		    "not authenticated; %s required", idp_aal_name(need));
		return;
	}
	age = ctx->now > ctx->auth_time ? ctx->now - ctx->auth_time : 0;
	if (a->max_age >= 0 && age > a->max_age) {
		*effect = IDP_POLICY_REAUTHENTICATE;
		if (need < IDP_AAL1)
			*level = IDP_AAL1;
		*methods = a->methods;
		set_str(rule, IDP_POLICY_NAME_MAX + 1, a->age_by);
		(void)snprintf(reason, IDP_POLICY_REASON_MAX,
		    "authenticated %lld s ago; %s allows at most %lld s",
		    (long long)age, a->age_by, (long long)a->max_age);
		return;
	}
	if (eff < ctx->aal && (eff < need || eff == IDP_AAL_NONE)) {
		*effect = IDP_POLICY_REAUTHENTICATE;
		*level = need > IDP_AAL1 ? need : IDP_AAL1;
		*methods = a->methods;
		set_str(rule, IDP_POLICY_NAME_MAX + 1, "builtin:aal-lifetime");
		(void)snprintf(reason, IDP_POLICY_REASON_MAX,
		    "%s session is %lld s old, past the SP 800-63B "
		    "reauthentication limit of %lld s", idp_aal_name(ctx->aal),
		    (long long)age, (long long)idp_aal_max_lifetime(ctx->aal));
		return;
	}
	if (eff < need) {
		*effect = IDP_POLICY_STEP_UP;
		*methods = a->methods;
		set_str(rule, IDP_POLICY_NAME_MAX + 1, a->level_by);
		(void)snprintf(reason, IDP_POLICY_REASON_MAX,
		    "%s requires %s, the session has %s%s%s", a->level_by,
		    idp_aal_name(need), idp_aal_name(eff),
		    a->level_rule && a->level_rule->description ? ": " : "",
		    desc_of(a->level_rule));
		return;
	}
	if (a->methods != 0) {
		*effect = IDP_POLICY_STEP_UP;
		*methods = a->methods;
		*level = need > eff ? need : eff;
		methods_text(a->methods, mt, sizeof(mt));
		set_str(rule, IDP_POLICY_NAME_MAX + 1, a->methods_rule->name);
		(void)snprintf(reason, IDP_POLICY_REASON_MAX,
		    "rule %s requires one of: %s%s%s", a->methods_rule->name,
		    mt, a->methods_rule->description ? ": " : "",
		    desc_of(a->methods_rule));
		return;
	}
	*effect = IDP_POLICY_ALLOW;
	set_str(rule, IDP_POLICY_NAME_MAX + 1,
	    a->first != NULL ? a->first->name : "default");
	if (a->first == NULL)
		set_str(reason, IDP_POLICY_REASON_MAX, "no rule matched");
	else
		set_str(reason, IDP_POLICY_REASON_MAX,
		    "every matching rule is satisfied");
}

static void
matched_add(char *buf, size_t sz, const char *name)
{
	size_t off = strlen(buf), need = strlen(name) + (off ? 1 : 0);

	if (off >= 3 && strcmp(buf + off - 3, "...") == 0)
		return;			/* already truncated */
	if (off + need + 1 > sz) {
		if (off + 4 <= sz)
			memcpy(buf + off, "...", 4);
		return;
	}
	(void)snprintf(buf + off, sz - off, "%s%s", off ? "," : "", name);
}

const char *
idp_policy_effect_name(enum idp_policy_effect e)
{
	switch (e) {
	case IDP_POLICY_ALLOW:
		return "allow";
	case IDP_POLICY_STEP_UP:
		return "step_up";
	case IDP_POLICY_REAUTHENTICATE:
		return "reauthenticate";
	case IDP_POLICY_DENY:
		return "deny";
	}
	return "unknown";
}

static void
decision_deny(struct idp_policy_decision *d, const char *why)
{
	memset(d, 0, sizeof(*d));
	d->effect = IDP_POLICY_DENY;
	d->max_age = -1;
	set_str(d->rule, sizeof(d->rule), "default");
	set_str(d->reason, sizeof(d->reason), why);
}

int
idp_policy_evaluate(const idp_policy *p, const struct idp_policy_ctx *ctx,
    struct idp_policy_decision *out)
{
	struct eval_in in;
	struct acc a, ra;
	struct idp_policy_report *rep;
	const struct rule *ru;
	size_t i;

	if (out == NULL)
		return CM_ERR_INVAL;
	decision_deny(out, "invalid evaluation input");
	if (p == NULL || ctx == NULL || ctx->client_id == NULL ||
	    ctx->source_ip == NULL ||
	    (ctx->nscopes > 0 && ctx->scopes == NULL) ||
	    (ctx->ngroups > 0 && ctx->groups == NULL) ||
	    (ctx->nacr_values > 0 && ctx->acr_values == NULL))
		return CM_ERR_INVAL;
	in.ctx = ctx;
	if (addr_parse(ctx->source_ip, &in.src) != 0) {
		set_str(out->reason, sizeof(out->reason),
		    "unparsable source address");
		return CM_ERR_INVAL;
	}
	acc_init(&a);
	for (i = 0; i < p->n; i++) {
		ru = &p->rules[i];
		if (ru->report_only || !rule_matches(ru, &in))
			continue;
		acc_fold(&a, ru, &in);
		matched_add(out->matched, sizeof(out->matched), ru->name);
	}
	/* report-only: as if this rule were enforced with the others */
	for (i = 0; i < p->n; i++) {
		ru = &p->rules[i];
		if (!ru->report_only || !rule_matches(ru, &in))
			continue;
		if (out->nreports == IDP_POLICY_REPORTS_MAX) {
			out->reports_dropped++;
			continue;
		}
		rep = &out->reports[out->nreports++];
		ra = a;
		acc_fold(&ra, ru, &in);
		acc_fold_client(&ra, ctx);
		acc_decide(&ra, ctx, &rep->effect, &rep->level, &rep->methods,
		    rep->rule, rep->reason);
		/* the report is about this rule, whatever decided */
		set_str(rep->rule, sizeof(rep->rule), ru->name);
	}
	acc_fold_client(&a, ctx);
	acc_decide(&a, ctx, &out->effect, &out->level, &out->methods,
	    out->rule, out->reason);
	out->max_age = a.max_age;
	return 0;
}

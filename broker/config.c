/*
 * broker/config.c — "key = value" configuration, validated completely.
 *
 * Format: one "key = value" per line; '#' starts a comment line; blank lines
 * are ignored; values run to the end of the line with surrounding blanks
 * removed (no quoting).  A key may appear once.  Relative paths are taken
 * relative to the directory of the configuration file.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "broker.h"

enum ktype { K_STR, K_PATH, K_UINT, K_SIZE, K_BOOL, K_LISTEN, K_LEVEL,
    K_ISSUER };

struct keydef {
	const char	*name;
	enum ktype	 type;
	size_t		 off;
	size_t		 size;		/* for strings */
	long long	 min, max;	/* for numbers */
};

#define S(f)	offsetof(struct brk_config, f), sizeof(((struct brk_config *)0)->f)
#define N(f)	offsetof(struct brk_config, f), 0

static const struct keydef keys[] = {
	{ "listen",		K_LISTEN, S(listen_addr), 0, 0 },
	{ "issuer",		K_ISSUER, S(issuer), 0, 0 },
	{ "tls_cert",		K_PATH, S(tls_cert), 0, 0 },
	{ "tls_key",		K_PATH, S(tls_key), 0, 0 },
	{ "tls_client_ca",	K_PATH, S(tls_client_ca), 0, 0 },
	{ "dev_plain_http",	K_BOOL, N(dev_plain_http), 0, 1 },
	{ "max_body",		K_SIZE, N(max_body), 256, 16 * 1024 * 1024 },
	{ "max_header_bytes",	K_SIZE, N(max_header_bytes), 4096,
				  1024 * 1024 },
	{ "max_headers",	K_UINT, N(max_headers), 8, 1000 },
	{ "max_connections",	K_UINT, N(max_connections), 1, 65535 },
	{ "max_in_flight",	K_UINT, N(max_in_flight), 1, 65535 },
	{ "connection_timeout",	K_UINT, N(connection_timeout), 1, 3600 },
	{ "threads",		K_UINT, N(threads), 0, 256 },
	{ "drain_timeout",	K_UINT, N(drain_timeout), 0, 3600 },
	{ "state_prune_interval", K_UINT, N(state_prune_interval), 0, 86400 },
	{ "log_file",		K_PATH, S(log_file), 0, 0 },
	{ "log_level",		K_LEVEL, N(log_level), 0, 0 },
	{ "audit_file",		K_PATH, S(audit_file), 0, 0 },
	{ "key_dir",		K_PATH, S(key_dir), 0, 0 },
};

#undef S
#undef N

void
brk_config_defaults(struct brk_config *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->listen_addr, "127.0.0.1", sizeof(c->listen_addr));
	c->listen_port = 8443;
	c->max_body = 64 * 1024;
	c->max_header_bytes = 32 * 1024;
	c->max_headers = 64;
	c->max_connections = 1024;
	c->max_in_flight = 512;
	c->connection_timeout = 30;
	c->threads = 0;
	c->drain_timeout = 30;
	c->state_prune_interval = 60;
	strlcpy(c->log_file, "-", sizeof(c->log_file));
	c->log_level = CM_LOG_INFO;
	dir_config_defaults(&c->dir);
}

static int
set_path(const char *base, const char *val, char *dst, size_t dstsz)
{
	if (strcmp(val, "-") == 0 || val[0] == '/' || base[0] == '\0')
		return strlcpy(dst, val, dstsz) < dstsz ? 0 : CM_ERR_RANGE;
	if ((size_t)snprintf(dst, dstsz, "%s/%s", base, val) >= dstsz)
		return CM_ERR_RANGE;
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "0") == 0)
		*out = 0;
	else
		return CM_ERR_INVAL;
	return 0;
}

/* Apply one key; err gets the message without the file:line prefix. */
static int
apply(struct brk_config *c, const char *base, const char *key,
    const char *val, const struct brk_config_ext *ext, size_t next,
    char *err, size_t errlen)
{
	const struct keydef *k = NULL;
	char *p = (char *)c;
	long long n;
	size_t i;
	int r;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, key) == 0)
			k = &keys[i];
	if (k == NULL) {
		char path[BRK_CONFIG_MAX_PATH];
		size_t kl = strlen(key);

		r = dir_config_set(&c->dir, key, val, err, errlen);
		/* every *_file, *_dir and *_root is relative to the
		 * configuration's directory */
		if ((kl > 5 && strcmp(key + kl - 5, "_file") == 0) ||
		    (kl > 4 && strcmp(key + kl - 4, "_dir") == 0) ||
		    (kl > 5 && strcmp(key + kl - 5, "_root") == 0)) {
			if (set_path(base, val, path, sizeof(path)) != 0)
				goto toolong;
			val = path;
		}
		for (i = 0; r == CM_ERR_NOTFOUND && i < next; i++)
			r = ext[i].set(ext[i].obj, key, val, err, errlen);
		if (r == CM_ERR_NOTFOUND)
			snprintf(err, errlen, "unknown key '%s'", key);
		return r;
	}
	switch (k->type) {
	case K_STR:
		if (strlcpy(p + k->off, val, k->size) >= k->size)
			goto toolong;
		return 0;
	case K_PATH:
		if (set_path(base, val, p + k->off, k->size) != 0)
			goto toolong;
		return 0;
	case K_UINT:
	case K_SIZE:
		if (cm_parse_ll(val, k->min, k->max, &n) != 0) {
			snprintf(err, errlen, "%s: expected a whole number "
			    "from %lld to %lld", key, k->min, k->max);
			return CM_ERR_INVAL;
		}
		if (k->type == K_UINT)
			*(unsigned *)(void *)(p + k->off) = (unsigned)n;
		else
			*(size_t *)(void *)(p + k->off) = (size_t)n;
		return 0;
	case K_BOOL:
		if (parse_bool(val, (int *)(void *)(p + k->off)) != 0) {
			snprintf(err, errlen, "%s: expected yes or no", key);
			return CM_ERR_INVAL;
		}
		return 0;
	case K_LEVEL:
		if (cm_log_level_parse(val, &c->log_level) != 0) {
			snprintf(err, errlen, "%s: expected debug, info, warn "
			    "or error", key);
			return CM_ERR_INVAL;
		}
		return 0;
	case K_LISTEN: {
		const char *colon = strrchr(val, ':');
		size_t alen;

		if (colon == NULL || cm_parse_ll(colon + 1, 1, 65535,
		    &n) != 0 || (alen = (size_t)(colon - val)) == 0 ||
		    alen >= sizeof(c->listen_addr)) {
			snprintf(err, errlen, "%s: expected IPv4ADDRESS:PORT",
			    key);
			return CM_ERR_INVAL;
		}
		memcpy(c->listen_addr, val, alen);
		c->listen_addr[alen] = '\0';
		c->listen_port = (uint16_t)n;
		{
			unsigned a, b, cc, d;
			char x;

			if (sscanf(c->listen_addr, "%u.%u.%u.%u%c", &a, &b,
			    &cc, &d, &x) != 4 || a > 255 || b > 255 ||
			    cc > 255 || d > 255) {
				snprintf(err, errlen, "%s: '%s' is not an "
				    "IPv4 address", key, c->listen_addr);
				return CM_ERR_INVAL;
			}
		}
		return 0;
	}
	case K_ISSUER:
		if ((strncmp(val, "https://", 8) != 0 &&
		    strncmp(val, "http://", 7) != 0) ||
		    strchr(val, '?') != NULL || strchr(val, '#') != NULL) {
			snprintf(err, errlen, "%s: expected an https:// URL "
			    "without query or fragment", key);
			return CM_ERR_INVAL;
		}
		if (strlcpy(c->issuer, val, sizeof(c->issuer)) >=
		    sizeof(c->issuer))
			goto toolong;
		/* no trailing slash: iss must compare exactly */
		if (c->issuer[strlen(c->issuer) - 1] == '/')
			c->issuer[strlen(c->issuer) - 1] = '\0';
		return 0;
	}
 toolong:
	snprintf(err, errlen, "%s: value too long", key);
	return CM_ERR_RANGE;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* After the whole file: what is given must be consistent. */
static int
check(struct brk_config *c, char *err, size_t errlen)
{
	if (c->issuer[0] != '\0' && !c->dev_plain_http &&
	    strncmp(c->issuer, "https://", 8) != 0) {
		snprintf(err, errlen, "issuer must be https:// "
		    "(dev_plain_http is off)");
		return CM_ERR_INVAL;
	}
	if (c->threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		/*
		 * Handlers block on the directory and on the audit group
		 * commit (a thread waits for its record's fdatasync), so
		 * throughput is threads / latency long before the CPUs are
		 * busy: 8 threads gave 6,849 client_credentials tokens/s
		 * with half the CPU idle, 32 gave 11,578 (bench/ab_cc.py).
		 * Since the token endpoint no longer holds its thread for
		 * the audit fdatasync (brk_audit_emit), 16, 32 and 64
		 * threads give the same within noise (16,427 / 16,719 /
		 * 15,939 on 2 CPUs); a thread costs about 12 KiB of RSS.
		 */
		c->threads = (unsigned)(n > 0 ? n : 1) * 16;
		if (c->threads > 128)
			c->threads = 128;
	}
	return dir_config_check(&c->dir, err, errlen);
}

int
brk_config_check_serve(const struct brk_config *c, char *err, size_t errlen)
{
	const char *what = NULL;

	if (c->issuer[0] == '\0')
		what = "issuer is required";
	else if (!c->dev_plain_http &&
	    (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0'))
		what = "tls_cert and tls_key are required (or dev_plain_http = "
		    "yes for development)";
	else if (c->key_dir[0] == '\0')
		what = "key_dir is required";
	else if (c->audit_file[0] == '\0')
		what = "audit_file is required";
	if (what == NULL)
		return 0;
	snprintf(err, errlen, "%s: %s", c->path, what);
	return CM_ERR_INVAL;
}

int
brk_config_load(struct brk_config *c, const char *path,
    const struct brk_config_ext *ext, size_t next, char *err, size_t errlen)
{
	char line[BRK_CONFIG_MAX_LINE + 2], msg[512], base[BRK_CONFIG_MAX_PATH];
	char seen[64][64];
	size_t nseen = 0, i;
	FILE *f;
	unsigned lineno = 0;
	int r = CM_ERR_INVAL;
	char *slash;

	brk_config_defaults(c);
	if (strlcpy(c->path, path, sizeof(c->path)) >= sizeof(c->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return CM_ERR_RANGE;
	}
	strlcpy(base, path, sizeof(base));
	if ((slash = strrchr(base, '/')) != NULL)
		*slash = '\0';
	else
		strlcpy(base, ".", sizeof(base));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return CM_ERR_IO;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *key, *val;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path,
			    lineno);
			goto out;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'",
			    path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (*key == '\0' || strlen(key) >= sizeof(seen[0])) {
			snprintf(err, errlen, "%s:%u: bad key", path, lineno);
			goto out;
		}
		if (*val == '\0') {
			snprintf(err, errlen, "%s:%u: %s: empty value", path,
			    lineno, key);
			goto out;
		}
		for (i = 0; i < nseen; i++) {
			if (strcmp(seen[i], key) == 0) {
				snprintf(err, errlen, "%s:%u: %s: given twice",
				    path, lineno, key);
				goto out;
			}
		}
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			strlcpy(seen[nseen++], key, sizeof(seen[0]));
		msg[0] = '\0';
		if (apply(c, base, key, val, ext, next, msg,
		    sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	msg[0] = '\0';
	if (check(c, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	for (i = 0; i < next; i++) {
		if (ext[i].check != NULL &&
		    ext[i].check(ext[i].obj, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s: %s", path, msg);
			goto out;
		}
	}
	r = 0;
 out:
	fclose(f);
	return r;
}

const char *
brk_config_path(const char *explicit_path)
{
	const char *e;

	if (explicit_path != NULL)
		return explicit_path;
	if ((e = getenv("SEKIMORI_CONF")) != NULL && *e != '\0')
		return e;
	if (access(BRK_DEV_CONFIG, R_OK) == 0)
		return BRK_DEV_CONFIG;
	return BRK_DEFAULT_CONFIG;
}

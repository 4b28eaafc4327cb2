/* directory/dir_config.c — the ldap_* and password_* configuration keys. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "directory.h"

#define DIR_DEFAULT_POOL	4
#define DIR_DEFAULT_TIMEOUT_MS	3000
#define DIR_DEFAULT_BACKOFF_MS	2000
#define DIR_DEFAULT_PW_MAX	128
#define DIR_DEFAULT_BLOCKLIST	"/usr/share/dict/words"

void
dir_config_defaults(struct dir_config *c)
{
	memset(c, 0, sizeof(*c));
	c->pool_size = DIR_DEFAULT_POOL;
	c->timeout_ms = DIR_DEFAULT_TIMEOUT_MS;
	c->backoff_max_ms = DIR_DEFAULT_BACKOFF_MS;
	c->pw_min_len = DIR_PW_MIN_SINGLE;
	c->pw_min_len_mfa = DIR_PW_MIN_MFA;
	c->pw_max_len = DIR_DEFAULT_PW_MAX;
	c->pw_mfa_always = 0;
	snprintf(c->pw_blocklist, sizeof(c->pw_blocklist), "%s",
	    DIR_DEFAULT_BLOCKLIST);
}

static int
set_str(char *dst, size_t dstlen, const char *key, const char *val,
    char *err, size_t errlen)
{
	size_t n = strlen(val);

	if (n == 0) {
		snprintf(err, errlen, "%s: empty value", key);
		return CM_ERR_INVAL;
	}
	if (n >= dstlen) {
		snprintf(err, errlen, "%s: longer than %zu bytes", key,
		    dstlen - 1);
		return CM_ERR_RANGE;
	}
	memcpy(dst, val, n + 1);
	return 0;
}

static int
set_uint(unsigned *dst, const char *key, const char *val, long long min,
    long long max, char *err, size_t errlen)
{
	long long v;

	if (cm_parse_ll(val, min, max, &v) != 0) {
		snprintf(err, errlen, "%s: expected an integer in [%lld, %lld]",
		    key, min, max);
		return CM_ERR_RANGE;
	}
	*dst = (unsigned)v;
	return 0;
}

static int
set_bool(int *dst, const char *key, const char *val, char *err,
    size_t errlen)
{
	if (strcasecmp(val, "yes") == 0 || strcasecmp(val, "true") == 0 ||
	    strcmp(val, "1") == 0)
		*dst = 1;
	else if (strcasecmp(val, "no") == 0 || strcasecmp(val, "false") == 0 ||
	    strcmp(val, "0") == 0)
		*dst = 0;
	else {
		snprintf(err, errlen, "%s: expected yes or no", key);
		return CM_ERR_INVAL;
	}
	return 0;
}

int
dir_config_set(struct dir_config *c, const char *key, const char *val,
    char *err, size_t errlen)
{
	if (strcmp(key, "ldap_uri") == 0)
		return set_str(c->uri, sizeof(c->uri), key, val, err, errlen);
	if (strcmp(key, "ldap_base") == 0)
		return set_str(c->base_dn, sizeof(c->base_dn), key, val, err,
		    errlen);
	if (strcmp(key, "ldap_bind_dn") == 0)
		return set_str(c->bind_dn, sizeof(c->bind_dn), key, val, err,
		    errlen);
	if (strcmp(key, "ldap_bind_password_file") == 0)
		return set_str(c->bind_pw_file, sizeof(c->bind_pw_file), key,
		    val, err, errlen);
	if (strcmp(key, "ldap_ca_file") == 0)
		return set_str(c->ca_file, sizeof(c->ca_file), key, val, err,
		    errlen);
	if (strcmp(key, "ldap_dummy_dn") == 0)
		return set_str(c->dummy_dn, sizeof(c->dummy_dn), key, val,
		    err, errlen);
	if (strcmp(key, "ldap_pool_size") == 0)
		return set_uint(&c->pool_size, key, val, 1, DIR_POOL_MAX, err,
		    errlen);
	if (strcmp(key, "ldap_timeout_ms") == 0)
		return set_uint(&c->timeout_ms, key, val, 100, 60000, err,
		    errlen);
	if (strcmp(key, "ldap_backoff_max_ms") == 0)
		return set_uint(&c->backoff_max_ms, key, val, 100, 60000, err,
		    errlen);
	if (strcmp(key, "password_min_len") == 0)
		return set_uint(&c->pw_min_len, key, val, DIR_PW_MIN_SINGLE,
		    DIR_PW_MAX_FLOOR, err, errlen);
	if (strcmp(key, "password_min_len_mfa") == 0)
		return set_uint(&c->pw_min_len_mfa, key, val, DIR_PW_MIN_MFA,
		    DIR_PW_MAX_FLOOR, err, errlen);
	if (strcmp(key, "password_max_len") == 0)
		return set_uint(&c->pw_max_len, key, val, DIR_PW_MAX_FLOOR,
		    DIR_PW_MAX_CEIL, err, errlen);
	if (strcmp(key, "password_mfa_always") == 0)
		return set_bool(&c->pw_mfa_always, key, val, err, errlen);
	if (strcmp(key, "password_blocklist_file") == 0)
		return set_str(c->pw_blocklist, sizeof(c->pw_blocklist), key,
		    val, err, errlen);
	return CM_ERR_NOTFOUND;
}

int
dir_config_check(const struct dir_config *c, char *err, size_t errlen)
{
	if (c->uri[0] == '\0') {
		snprintf(err, errlen, "ldap_uri is required "
		    "(ldapi://... or ldap://host with StartTLS)");
		return CM_ERR_INVAL;
	}
	if (strncasecmp(c->uri, "ldapi://", 8) != 0 &&
	    strncasecmp(c->uri, "ldap://", 7) != 0 &&
	    strncasecmp(c->uri, "ldaps://", 8) != 0) {
		snprintf(err, errlen, "ldap_uri: expected ldapi://, ldap:// "
		    "(StartTLS is then required) or ldaps://");
		return CM_ERR_INVAL;
	}
	if (strchr(c->uri, ' ') != NULL) {
		snprintf(err, errlen, "ldap_uri: one URI only");
		return CM_ERR_INVAL;
	}
	if (c->base_dn[0] == '\0') {
		snprintf(err, errlen, "ldap_base is required");
		return CM_ERR_INVAL;
	}
	if (c->bind_dn[0] == '\0') {
		snprintf(err, errlen, "ldap_bind_dn is required");
		return CM_ERR_INVAL;
	}
	if (c->bind_pw_file[0] == '\0') {
		snprintf(err, errlen, "ldap_bind_password_file is required");
		return CM_ERR_INVAL;
	}
	if (c->pool_size < 1 || c->pool_size > DIR_POOL_MAX ||
	    c->timeout_ms < 100) {
		snprintf(err, errlen, "ldap_pool_size or ldap_timeout_ms out "
		    "of range");
		return CM_ERR_RANGE;
	}
	if (c->pw_min_len < DIR_PW_MIN_SINGLE ||
	    c->pw_min_len_mfa < DIR_PW_MIN_MFA ||
	    c->pw_min_len_mfa > c->pw_min_len) {
		snprintf(err, errlen, "password_min_len must be >= %d and "
		    "password_min_len_mfa >= %d and not above it",
		    DIR_PW_MIN_SINGLE, DIR_PW_MIN_MFA);
		return CM_ERR_RANGE;
	}
	if (c->pw_max_len < DIR_PW_MAX_FLOOR || c->pw_max_len < c->pw_min_len) {
		snprintf(err, errlen, "password_max_len must be >= %d and >= "
		    "password_min_len", DIR_PW_MAX_FLOOR);
		return CM_ERR_RANGE;
	}
	if (c->pw_blocklist[0] == '\0') {
		snprintf(err, errlen, "password_blocklist_file is required");
		return CM_ERR_INVAL;
	}
	return 0;
}

/*
 * directory/dir_pool.c — the bounded connection pool, timeouts, reconnect
 * with backoff, and the generic operations (search, add, modify, Password
 * Modify) that the typed API is built on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dir_private.h"

#define DIR_BACKOFF_MIN_MS	100
#define DIR_PW_FILE_MAX		1024

const char *
dir_strerror(int r)
{
	if (r == DIR_ERR_MUST_CHANGE)
		return "password must be changed";
	return cm_strerror(r);
}

const char *
dir_status_str(enum dir_status s)
{
	switch (s) {
	case DIR_STATUS_ACTIVE:
		return "active";
	case DIR_STATUS_SUSPENDED:
		return "suspended";
	case DIR_STATUS_DISABLED:
		return "disabled";
	}
	return "disabled";
}

int
dir_status_parse(const char *s, enum dir_status *out)
{
	if (s == NULL)
		return CM_ERR_INVAL;
	if (strcasecmp(s, "active") == 0)
		*out = DIR_STATUS_ACTIVE;
	else if (strcasecmp(s, "suspended") == 0)
		*out = DIR_STATUS_SUSPENDED;
	else if (strcasecmp(s, "disabled") == 0)
		*out = DIR_STATUS_DISABLED;
	else
		return CM_ERR_INVAL;
	return 0;
}

int
dir_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return CM_ERR_RANGE;
	return 0;
}

void
dir_gentime(char out[16])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%SZ", &tm);
}

int
dir_ldap_err(int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return 0;
	case LDAP_NO_SUCH_OBJECT:
		return CM_ERR_NOTFOUND;
	case LDAP_ALREADY_EXISTS:
		return CM_ERR_EXISTS;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_UNAVAILABLE:
	case LDAP_BUSY:
	case LDAP_UNWILLING_TO_PERFORM:
		return CM_ERR_UNAVAIL;
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
		return CM_ERR_TIMEOUT;
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
		return CM_ERR_DENIED;
	case LDAP_CONSTRAINT_VIOLATION:
		return CM_ERR_POLICY;
	case LDAP_NO_SUCH_ATTRIBUTE:
	case LDAP_ASSERTION_FAILED:
	case LDAP_TYPE_OR_VALUE_EXISTS:
		return CM_ERR_CONFLICT;
	case LDAP_SIZELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
		return CM_ERR_RANGE;
	case LDAP_FILTER_ERROR:
	case LDAP_INVALID_DN_SYNTAX:
	case LDAP_INVALID_SYNTAX:
	case LDAP_OBJECT_CLASS_VIOLATION:
	case LDAP_UNDEFINED_TYPE:
	case LDAP_NAMING_VIOLATION:
	case LDAP_PARAM_ERROR:
		return CM_ERR_INVAL;
	case LDAP_NO_MEMORY:
		return CM_ERR_NOMEM;
	default:
		return CM_ERR_INTERNAL;
	}
}

int
dir_ldap_broken(int rc)
{
	/* client-side errors (negative) leave the handle in an unknown
	 * state; a server that answered leaves it usable */
	return rc < 0 || rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY ||
	    rc == LDAP_OTHER || rc == LDAP_PROTOCOL_ERROR;
}

/* ---- configuration ---- */

static int
read_pw_file(const char *path, char **out, size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t len = 0;
	int fd = -1, r = CM_ERR_INTERNAL;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		r = CM_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		r = CM_ERR_IO;
		goto out;
	}
	if ((st.st_mode & 0077) != 0) {
		/* like ssh: a secret readable by others is refused */
		r = CM_ERR_DENIED;
		goto out;
	}
	if ((buf = calloc(1, DIR_PW_FILE_MAX + 1)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		n = read(fd, buf + len, DIR_PW_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = CM_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > DIR_PW_FILE_MAX) {
			r = CM_ERR_RANGE;
			goto out;
		}
	}
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0 || memchr(buf, '\0', len) != NULL ||
	    memchr(buf, '\n', len) != NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	*out = buf;
	*outlen = len;
	buf = NULL;	/* transferred */
	r = 0;
 out:
	if (buf != NULL)
		cm_freezero(buf, DIR_PW_FILE_MAX + 1);
	if (fd != -1)
		close(fd);
	return r;
}

int
dir_pool_new(const struct dir_config *c, struct dir_pool **out)
{
	struct dir_pool *p = NULL;
	char err[256];
	int r = CM_ERR_INTERNAL, mu = 0, cv = 0;
	pthread_condattr_t ca;

	*out = NULL;
	/*
	 * libldap writes to sockets with write(2): when slapd goes away a
	 * write raises SIGPIPE, whose default action kills the process.  An
	 * unavailable directory must be an error, not an exit, so a default
	 * disposition is changed to "ignore" (a handler set by the program
	 * is left alone).
	 */
	{
		struct sigaction sa;

		if (sigaction(SIGPIPE, NULL, &sa) == 0 &&
		    sa.sa_handler == SIG_DFL && !(sa.sa_flags & SA_SIGINFO)) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = SIG_IGN;
			(void)sigaction(SIGPIPE, &sa, NULL);
		}
	}
	if ((r = dir_config_check(c, err, sizeof(err))) != 0) {
		cm_err(NULL, "dir.config", "{s:s}", "error", err);
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	p->cfg = *c;
	if (p->cfg.dummy_dn[0] == '\0' &&
	    (r = dir_fmt(p->cfg.dummy_dn, sizeof(p->cfg.dummy_dn),
	    "cn=dummy,ou=services,%s", c->base_dn)) != 0)
		goto out;
	if ((r = dir_fmt(p->people_dn, sizeof(p->people_dn), "ou=people,%s",
	    c->base_dn)) != 0 ||
	    (r = dir_fmt(p->groups_dn, sizeof(p->groups_dn), "ou=groups,%s",
	    c->base_dn)) != 0 ||
	    (r = dir_fmt(p->devices_dn, sizeof(p->devices_dn),
	    "ou=devices,%s", c->base_dn)) != 0 ||
	    (r = dir_fmt(p->rpa_dn, sizeof(p->rpa_dn), "ou=rpa,%s",
	    c->base_dn)) != 0)
		goto out;
	p->tls = strncasecmp(c->uri, "ldap://", 7) == 0;
	if ((r = read_pw_file(c->bind_pw_file, &p->bind_pw,
	    &p->bind_pw_len)) != 0) {
		cm_err(NULL, "dir.config", "{s:s,s:s}", "error",
		    "cannot read ldap_bind_password_file (must be a regular "
		    "file, mode 0600 or stricter, one line)", "detail",
		    cm_strerror(r));
		goto out;
	}
	if ((r = dir_pwpolicy_new(c, &p->pwpol)) != 0) {
		cm_err(NULL, "dir.config", "{s:s,s:s}", "error",
		    "cannot load password_blocklist_file", "path",
		    c->pw_blocklist);
		goto out;
	}
	p->nconns = 2 * (size_t)c->pool_size;
	if ((p->conns = calloc(p->nconns, sizeof(*p->conns))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->nconns; i++)
		p->conns[i].kind = i < c->pool_size ? DIR_CONN_SVC :
		    DIR_CONN_AUTH;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		r = CM_ERR_INTERNAL;
		goto out;
	}
	mu = 1;
	if (pthread_condattr_init(&ca) != 0) {
		r = CM_ERR_INTERNAL;
		goto out;
	}
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&p->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		r = CM_ERR_INTERNAL;
		goto out;
	}
	pthread_condattr_destroy(&ca);
	cv = 1;
	*out = p;
	p = NULL;	/* transferred */
	r = 0;
 out:
	if (p != NULL) {
		if (cv)
			pthread_cond_destroy(&p->cv);
		if (mu)
			pthread_mutex_destroy(&p->mu);
		free(p->conns);
		dir_pwpolicy_free(&p->pwpol);
		if (p->bind_pw != NULL)
			cm_freezero(p->bind_pw, DIR_PW_FILE_MAX + 1);
		free(p);
	}
	return r;
}

void
dir_pool_free(struct dir_pool **pp)
{
	struct dir_pool *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	for (size_t i = 0; i < p->nconns; i++)
		if (p->conns[i].ld != NULL)
			ldap_unbind_ext(p->conns[i].ld, NULL, NULL);
	free(p->conns);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	dir_pwpolicy_free(&p->pwpol);
	cm_freezero(p->bind_pw, DIR_PW_FILE_MAX + 1);
	free(p);
	*pp = NULL;
}

/* ---- connections ---- */

static void
ms_to_tv(unsigned ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* Open and prepare one handle (outside the pool lock). */
static int
conn_open(struct dir_pool *p, int kind, LDAP **out)
{
	LDAP *ld = NULL;
	struct timeval tv;
	struct berval cred;
	int v, rc, r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((rc = ldap_initialize(&ld, p->cfg.uri)) != LDAP_SUCCESS) {
		r = CM_ERR_INVAL;
		goto out;
	}
	v = LDAP_VERSION3;
	ms_to_tv(p->cfg.timeout_ms, &tv);
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != 0)
		goto out;
	v = (int)((p->cfg.timeout_ms + 999) / 1000);
	if (ldap_set_option(ld, LDAP_OPT_TIMELIMIT, &v) != 0)
		goto out;
	v = DIR_SEARCH_MAX;
	if (ldap_set_option(ld, LDAP_OPT_SIZELIMIT, &v) != 0)
		goto out;
	if (p->tls || strncasecmp(p->cfg.uri, "ldaps://", 8) == 0) {
		v = LDAP_OPT_X_TLS_HARD;
		if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &v) != 0)
			goto out;
		v = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
		if (ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &v) != 0)
			goto out;
		if (p->cfg.ca_file[0] != '\0' &&
		    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE,
		    p->cfg.ca_file) != 0)
			goto out;
		v = 0;
		if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &v) != 0)
			goto out;
	}
	if (p->tls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		cm_warn(NULL, "dir.starttls_failed", "{s:s}", "error",
		    ldap_err2string(rc));
		r = rc == LDAP_TIMEOUT ? CM_ERR_TIMEOUT : CM_ERR_UNAVAIL;
		goto out;
	}
	if (kind == DIR_CONN_SVC) {
		cred.bv_val = p->bind_pw;
		cred.bv_len = p->bind_pw_len;
		rc = ldap_sasl_bind_s(ld, p->cfg.bind_dn, LDAP_SASL_SIMPLE,
		    &cred, NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			r = dir_ldap_err(rc);
			if (r == CM_ERR_DENIED)
				cm_err(NULL, "dir.bind_failed", "{s:s,s:s}",
				    "bind_dn", p->cfg.bind_dn, "error",
				    ldap_err2string(rc));
			goto out;
		}
	} else {
		/* force the connection now so that a dead server shows
		 * here, not in the middle of a user's bind */
		if ((rc = ldap_connect(ld)) != LDAP_SUCCESS) {
			r = dir_ldap_err(rc);
			goto out;
		}
	}
	*out = ld;
	ld = NULL;	/* transferred */
	r = 0;
 out:
	if (ld != NULL)
		ldap_unbind_ext(ld, NULL, NULL);
	return r;
}

int
dir_conn_get(struct dir_pool *p, int kind, struct dir_conn **out)
{
	struct dir_conn *c = NULL;
	struct timespec deadline;
	uint64_t now;
	LDAP *ld = NULL;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += p->cfg.timeout_ms / 1000;
	deadline.tv_nsec += (long)(p->cfg.timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	for (;;) {
		/* prefer a connected slot, then an empty one */
		for (size_t i = 0; i < p->nconns; i++) {
			struct dir_conn *s = &p->conns[i];

			if (s->kind != kind || s->busy)
				continue;
			if (c == NULL || (c->ld == NULL && s->ld != NULL))
				c = s;
		}
		if (c != NULL)
			break;
		if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) ==
		    ETIMEDOUT) {
			pthread_mutex_unlock(&p->mu);
			cm_warn(NULL, "dir.pool_exhausted", NULL);
			return CM_ERR_TIMEOUT;
		}
	}
	c->busy = 1;
	if (c->ld != NULL) {
		pthread_mutex_unlock(&p->mu);
		*out = c;
		return 0;
	}
	now = cm_now_ms();
	if (now < p->retry_at_ms) {
		/* in backoff after a failure: answer at once */
		c->busy = 0;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return CM_ERR_UNAVAIL;
	}
	pthread_mutex_unlock(&p->mu);

	r = conn_open(p, kind, &ld);

	pthread_mutex_lock(&p->mu);
	if (r == 0) {
		c->ld = ld;
		p->backoff_ms = 0;
		p->retry_at_ms = 0;
		*out = c;
	} else {
		c->busy = 0;
		if (r == CM_ERR_UNAVAIL || r == CM_ERR_TIMEOUT) {
			p->backoff_ms = p->backoff_ms == 0 ? DIR_BACKOFF_MIN_MS :
			    p->backoff_ms * 2;
			if (p->backoff_ms > p->cfg.backoff_max_ms)
				p->backoff_ms = p->cfg.backoff_max_ms;
			p->retry_at_ms = cm_now_ms() + p->backoff_ms;
			cm_warn(NULL, "dir.unavailable", "{s:s,s:i}", "error",
			    cm_strerror(r), "retry_ms", (int)p->backoff_ms);
		}
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}

void
dir_conn_put(struct dir_pool *p, struct dir_conn *c, int broken)
{
	LDAP *old = NULL;

	if (c == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	if (broken) {
		old = c->ld;
		c->ld = NULL;
	}
	c->busy = 0;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (old != NULL)
		ldap_unbind_ext(old, NULL, NULL);
}

/* ---- results ---- */

void
dir_result_clear(struct dir_result *res)
{
	for (size_t i = 0; i < res->n; i++) {
		struct dir_entry *e = &res->v[i];

		for (size_t j = 0; j < e->nattrs; j++) {
			free(e->attrs[j].name);
			ber_bvecfree(e->attrs[j].vals);
		}
		free(e->attrs);
		free(e->dn);
	}
	free(res->v);
	res->v = NULL;
	res->n = 0;
}

struct berval **
dir_entry_vals(const struct dir_entry *e, const char *attr)
{
	for (size_t i = 0; i < e->nattrs; i++)
		if (strcasecmp(e->attrs[i].name, attr) == 0)
			return e->attrs[i].vals;
	return NULL;
}

int
dir_entry_str(const struct dir_entry *e, const char *attr, char **out)
{
	struct berval **v = dir_entry_vals(e, attr);
	char *s;

	*out = NULL;
	if (v == NULL || v[0] == NULL)
		return 0;
	if (v[0]->bv_len > DIR_JWKS_MAX ||
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) != NULL)
		return CM_ERR_INVAL;
	if ((s = malloc(v[0]->bv_len + 1)) == NULL)
		return CM_ERR_NOMEM;
	memcpy(s, v[0]->bv_val, v[0]->bv_len);
	s[v[0]->bv_len] = '\0';
	*out = s;
	return 0;
}

/* Copy one LDAP entry (while the connection is held). */
static int
copy_entry(LDAP *ld, LDAPMessage *m, struct dir_entry *e)
{
	BerElement *ber = NULL;
	char *a, *dn = NULL;
	int r = CM_ERR_INTERNAL;

	memset(e, 0, sizeof(*e));
	if ((dn = ldap_get_dn(ld, m)) == NULL)
		goto out;
	if ((e->dn = strdup(dn)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (a = ldap_first_attribute(ld, m, &ber); a != NULL;
	    a = ldap_next_attribute(ld, m, ber)) {
		struct dir_attr *na;
		struct berval **vals = ldap_get_values_len(ld, m, a);

		na = reallocarray(e->attrs, e->nattrs + 1, sizeof(*na));
		if (na == NULL) {
			ldap_value_free_len(vals);
			ldap_memfree(a);
			r = CM_ERR_NOMEM;
			goto out;
		}
		e->attrs = na;
		na[e->nattrs].name = strdup(a);
		na[e->nattrs].vals = vals;
		ldap_memfree(a);
		if (na[e->nattrs].name == NULL) {
			ldap_value_free_len(vals);
			r = CM_ERR_NOMEM;
			goto out;
		}
		e->nattrs++;
	}
	r = 0;
 out:
	if (ber != NULL)
		ber_free(ber, 0);
	if (dn != NULL)
		ldap_memfree(dn);
	return r;
}

/* ---- operations as the broker ---- */

enum dir_op { OP_SEARCH, OP_MODIFY, OP_ADD, OP_DELETE, OP_PASSWD };

struct dir_opargs {
	enum dir_op		 op;
	const char		*dn;
	int			 scope;
	const char		*filter;
	const char *const	*attrs;
	size_t			 max;
	LDAPMod			**mods;
	const char		*pw;
	size_t			 pwlen;
	struct dir_result	*res;
	char			*why;
	size_t			 whylen;
	unsigned		 timeout_ms;
	const char		*assertion;	/* delete: RFC 4528 filter */
};

static int
run_search(LDAP *ld, struct dir_opargs *a, int *ldrc)
{
	LDAPMessage *msg = NULL, *m;
	struct timeval tv;
	int rc, cnt, r = CM_ERR_INTERNAL;

	ms_to_tv(a->timeout_ms, &tv);
	rc = ldap_search_ext_s(ld, a->dn, a->scope, a->filter,
	    (char **)(uintptr_t)a->attrs, 0, NULL, NULL, &tv,
	    (int)a->max + 1, &msg);
	*ldrc = rc;
	if (rc == LDAP_NO_SUCH_OBJECT) {
		r = 0;		/* an empty result */
		goto out;
	}
	if (rc != LDAP_SUCCESS) {
		r = dir_ldap_err(rc);
		goto out;
	}
	if ((cnt = ldap_count_entries(ld, msg)) < 0)
		goto out;
	if ((size_t)cnt > a->max) {
		r = CM_ERR_RANGE;
		goto out;
	}
	if (cnt > 0 && (a->res->v = calloc((size_t)cnt,
	    sizeof(*a->res->v))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (m = ldap_first_entry(ld, msg); m != NULL;
	    m = ldap_next_entry(ld, m)) {
		if (a->res->n >= (size_t)cnt)
			goto out;
		if ((r = copy_entry(ld, m, &a->res->v[a->res->n])) != 0) {
			a->res->n++;	/* free what was copied */
			goto out;
		}
		a->res->n++;
	}
	r = 0;
 out:
	if (msg != NULL)
		ldap_msgfree(msg);
	if (r != 0)
		dir_result_clear(a->res);
	return r;
}

static int
run_passwd(LDAP *ld, struct dir_opargs *a, int *ldrc)
{
	struct berval user, npw;
	char *matched = NULL, *text = NULL;
	LDAPMessage *res = NULL;
	struct timeval tv;
	int msgid, rc, err = LDAP_OTHER, r = CM_ERR_INTERNAL;

	user.bv_val = (char *)(uintptr_t)a->dn;
	user.bv_len = strlen(a->dn);
	npw.bv_val = (char *)(uintptr_t)a->pw;
	npw.bv_len = a->pwlen;
	ms_to_tv(a->timeout_ms, &tv);
	rc = ldap_passwd(ld, &user, NULL, &npw, NULL, NULL, &msgid);
	if (rc != LDAP_SUCCESS) {
		*ldrc = rc;
		r = dir_ldap_err(rc);
		goto out;
	}
	rc = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &res);
	if (rc == 0) {
		*ldrc = LDAP_TIMEOUT;
		r = CM_ERR_TIMEOUT;
		goto out;
	}
	if (rc < 0 || res == NULL) {
		(void)ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
		*ldrc = err;
		r = dir_ldap_err(err);
		goto out;
	}
	rc = ldap_parse_result(ld, res, &err, &matched, &text, NULL, NULL, 0);
	*ldrc = rc != LDAP_SUCCESS ? rc : err;
	if (rc != LDAP_SUCCESS) {
		r = dir_ldap_err(rc);
		goto out;
	}
	if (err != LDAP_SUCCESS) {
		if (a->why != NULL && a->whylen > 0 && text != NULL &&
		    text[0] != '\0')
			cm_log_sanitize(a->why, a->whylen, text, strlen(text));
		r = dir_ldap_err(err);
		goto out;
	}
	r = 0;
 out:
	if (matched != NULL)
		ldap_memfree(matched);
	if (text != NULL)
		ldap_memfree(text);
	if (res != NULL)
		ldap_msgfree(res);
	return r;
}

/* A delete, with the assertion control (RFC 4528, critical) when
 * a->assertion is set: the server deletes only if the entry matches it,
 * else LDAP_ASSERTION_FAILED. */
static int
run_delete(LDAP *ld, struct dir_opargs *a, int *ldrc)
{
	LDAPControl *ctl = NULL, *ctls[2] = { NULL, NULL };
	char *f;

	if (a->assertion != NULL) {
		/* libldap takes the filter as char * */
		if ((f = strdup(a->assertion)) == NULL) {
			*ldrc = LDAP_NO_MEMORY;
			return CM_ERR_NOMEM;
		}
		*ldrc = ldap_create_assertion_control(ld, f, 1, &ctl);
		free(f);
		if (*ldrc != LDAP_SUCCESS)
			return *ldrc == LDAP_NO_MEMORY ? CM_ERR_NOMEM :
			    CM_ERR_INTERNAL;
		ctls[0] = ctl;
	}
	*ldrc = ldap_delete_ext_s(ld, a->dn, ctl != NULL ? ctls : NULL, NULL);
	ldap_control_free(ctl);
	return dir_ldap_err(*ldrc);
}

static int
run_op(struct dir_pool *p, struct dir_opargs *a, int *ldrc_out)
{
	struct dir_conn *c = NULL;
	int attempt, rc = LDAP_OTHER, r = CM_ERR_INTERNAL;

	a->timeout_ms = p->cfg.timeout_ms;
	if (a->op != OP_SEARCH)
		dir_scope_forget_dn(a->dn);
	for (attempt = 0; attempt < 2; attempt++) {
		if ((r = dir_conn_get(p, DIR_CONN_SVC, &c)) != 0) {
			rc = r == CM_ERR_TIMEOUT ? LDAP_TIMEOUT :
			    LDAP_SERVER_DOWN;
			break;
		}
		switch (a->op) {
		case OP_SEARCH:
			r = run_search(c->ld, a, &rc);
			break;
		case OP_MODIFY:
			rc = ldap_modify_ext_s(c->ld, a->dn, a->mods, NULL,
			    NULL);
			r = dir_ldap_err(rc);
			break;
		case OP_ADD:
			rc = ldap_add_ext_s(c->ld, a->dn, a->mods, NULL, NULL);
			r = dir_ldap_err(rc);
			break;
		case OP_DELETE:
			r = run_delete(c->ld, a, &rc);
			break;
		case OP_PASSWD:
			r = run_passwd(c->ld, a, &rc);
			break;
		}
		dir_conn_put(p, c, dir_ldap_broken(rc));
		c = NULL;
		/* a pooled connection that died while idle (slapd
		 * restarted): try once more on a fresh one.  A write that
		 * was applied before the failure then fails as EXISTS or
		 * CONFLICT: closed, never doubled. */
		if (rc == LDAP_SERVER_DOWN && attempt == 0)
			continue;
		break;
	}
	if (r != 0 && (rc == LDAP_TIMEOUT || rc == LDAP_SERVER_DOWN))
		cm_warn(NULL, "dir.op_failed", "{s:s}", "error",
		    cm_strerror(r));
	if (ldrc_out != NULL)
		*ldrc_out = rc;
	return r;
}

/*
 * ---- request scope ----
 * Per thread: the answers of the searches made since dir_scope_begin(),
 * keyed by pool, base, scope, filter, attribute list and limit.  A write
 * or bind naming an entry forgets the answers whose base and scope could
 * hold that entry (whatever the filter: a write may make an entry match);
 * the others stay.  DNs are compared in one normal form (ldap_str2dn, then
 * ldap_dn2str LDAPv3, case-insensitively), so a DN spelt with other case
 * or spacing still matches; one that does not parse forgets everything.
 * Matching too much only costs a search; too little would serve a stale
 * answer, so every doubt forgets.
 */
#define DIR_SCOPE_MAX	DIR_SCOPE_ANSWERS_MAX
/* only small answers (a user, its groups, its keys) are worth keeping */
#define DIR_SCOPE_ENTRIES_MAX	8

struct scope_ent {
	const struct dir_pool	*p;
	const char *const	*attrs;
	char			*key;	/* scope NUL base NUL filter, max */
	size_t			 klen;
	char			*base;	/* normal form (dn_norm) */
	int			 scope;
	struct dir_result	 res;
};

static __thread struct {
	unsigned		 depth;
	size_t			 n;
	struct scope_ent	 e[DIR_SCOPE_MAX];
	struct dir_scope_stats	 st;
} scope_tls;

/* the copies may hold secrets (TOTP seeds, secret hashes): wiped */
static void
scope_ent_clear(struct scope_ent *e)
{
	struct dir_result *res = &e->res;

	for (size_t j = 0; j < res->n; j++)
		for (size_t k = 0; k < res->v[j].nattrs; k++) {
			struct berval **v = res->v[j].attrs[k].vals;

			for (; v != NULL && *v != NULL; v++)
				if ((*v)->bv_val != NULL)
					OPENSSL_cleanse((*v)->bv_val,
					    (*v)->bv_len);
		}
	free(e->key);
	free(e->base);
	dir_result_clear(res);
	memset(e, 0, sizeof(*e));
}

static void
scope_clear(void)
{
	for (size_t i = 0; i < scope_tls.n; i++)
		scope_ent_clear(&scope_tls.e[i]);
	scope_tls.n = 0;
}

void
dir_scope_begin(void)
{
	if (scope_tls.depth++ == 0) {
		scope_clear();
		memset(&scope_tls.st, 0, sizeof(scope_tls.st));
	}
}

void
dir_scope_end(void)
{
	if (scope_tls.depth == 0)
		return;
	if (--scope_tls.depth == 0)
		scope_clear();
}

void
dir_scope_stats(struct dir_scope_stats *out)
{
	*out = scope_tls.st;
}

/* forget everything: what was read may have changed */
void
dir_scope_forget(void)
{
	if (scope_tls.n > 0) {
		scope_clear();
		scope_tls.st.invalidated++;
	}
}

/*
 * dn in one normal form (malloc'd), or NULL if it does not parse.  The form
 * is exact for DNs spelt as slapd returns them and as the typed API builds
 * them (one value per RDN, the schema's short attribute names): it folds
 * spacing and escaping, and strcasecmp() folds ASCII case.  It does not
 * order the values of a multi-valued RDN, so one with an unescaped '+' is
 * NULL too, and forgets everything.
 */
static char *
dn_norm(const char *dn)
{
	LDAPDN parsed = NULL;
	char *str = NULL, *out = NULL;

	if (dn == NULL || ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) !=
	    LDAP_SUCCESS)
		return NULL;
	if (parsed == NULL)
		out = strdup("");	/* the root DSE */
	else if (ldap_dn2str(parsed, &str, LDAP_DN_FORMAT_LDAPV3) ==
	    LDAP_SUCCESS && str != NULL) {
		const char *c;

		for (c = str; *c != '\0' && *c != '+'; c++)
			if (*c == '\\' && c[1] != '\0')
				c++;
		if (*c == '\0')
			out = strdup(str);
	}
	if (str != NULL)
		ldap_memfree(str);
	ldap_dnfree(parsed);
	return out;
}

/*
 * Could a search of base (normal form) with scope hold the entry dn (normal
 * form)?  Base scope: dn is base.  One level: dn is base or a child of it
 * (base too, in case the base itself goes).  Subtree and anything else: dn
 * is base or below it.
 */
static int
dn_covered(const char *base, int scope, const char *dn)
{
	size_t bl = strlen(base);
	int depth = 0;

	if (strcasecmp(dn, base) == 0)
		return 1;
	if (scope == LDAP_SCOPE_BASE)
		return 0;
	if (bl == 0)
		return 1;	/* below the root: everything */
	/* each unescaped comma of dn starts a suffix: is one of them base? */
	for (const char *c = dn; *c != '\0'; c++) {
		if (*c == '\\') {
			if (c[1] == '\0')
				break;
			c++;
			continue;
		}
		if (*c != ',')
			continue;
		depth++;
		if (strcasecmp(c + 1, base) == 0)
			return scope == LDAP_SCOPE_ONELEVEL ? depth == 1 : 1;
	}
	return 0;
}

int
dir_scope_covers(const char *base, int scope, const char *dn)
{
	char *b = dn_norm(base), *d = dn_norm(dn);
	int r = b == NULL || d == NULL ? -1 : dn_covered(b, scope, d);

	free(b);
	free(d);
	return r;
}

/*
 * A write or bind of the entry dn: forget the answers that could hold it.
 * NULL, or a DN that does not parse, forgets everything.
 */
void
dir_scope_forget_dn(const char *dn)
{
	char *n;
	size_t i, j;
	int gone = 0;

	if (scope_tls.n == 0)
		return;
	if ((n = dn_norm(dn)) == NULL) {
		dir_scope_forget();
		return;
	}
	for (i = j = 0; i < scope_tls.n; i++) {
		struct scope_ent *e = &scope_tls.e[i];

		if (e->base == NULL || dn_covered(e->base, e->scope, n)) {
			scope_ent_clear(e);
			gone = 1;
			continue;
		}
		if (i != j) {
			scope_tls.e[j] = *e;
			memset(e, 0, sizeof(*e));
		}
		j++;
	}
	scope_tls.n = j;
	if (gone)
		scope_tls.st.invalidated++;
	free(n);
}

static char *
scope_key(const char *base, int scope, const char *filter, size_t max,
    size_t *klen)
{
	char *k;
	int n;

	n = asprintf(&k, "%d%c%s%c%s%c%zu", scope, 0, base, 0, filter, 0,
	    max);
	if (n < 0)
		return NULL;
	*klen = (size_t)n;
	return k;
}

static int
copy_result(const struct dir_result *src, struct dir_result *dst)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return 0;
	if ((dst->v = calloc(src->n, sizeof(*dst->v))) == NULL)
		return CM_ERR_NOMEM;
	for (size_t i = 0; i < src->n; i++) {
		const struct dir_entry *se = &src->v[i];
		struct dir_entry *de = &dst->v[i];

		dst->n++;
		if ((de->dn = strdup(se->dn)) == NULL)
			goto fail;
		if (se->nattrs > 0 && (de->attrs = calloc(se->nattrs,
		    sizeof(*de->attrs))) == NULL)
			goto fail;
		for (size_t j = 0; j < se->nattrs; j++) {
			size_t nv = 0;

			de->nattrs++;
			if ((de->attrs[j].name = strdup(se->attrs[j].name)) ==
			    NULL)
				goto fail;
			if (se->attrs[j].vals == NULL)
				continue;
			while (se->attrs[j].vals[nv] != NULL)
				nv++;
			if ((de->attrs[j].vals = ber_memcalloc(nv + 1,
			    sizeof(struct berval *))) == NULL)
				goto fail;
			for (size_t k = 0; k < nv; k++)
				if ((de->attrs[j].vals[k] =
				    ber_dupbv(NULL, se->attrs[j].vals[k])) ==
				    NULL)
					goto fail;
		}
	}
	return 0;
 fail:
	dir_result_clear(dst);
	return CM_ERR_NOMEM;
}

int
dir_search(struct dir_pool *p, const char *base, int scope,
    const char *filter, const char *const *attrs, size_t max,
    struct dir_result *out)
{
	struct dir_opargs a;
	char *key = NULL;
	size_t klen = 0;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	a.op = OP_SEARCH;
	a.dn = base;
	a.scope = scope;
	a.filter = filter;
	a.attrs = attrs;
	a.max = max > DIR_SEARCH_MAX ? DIR_SEARCH_MAX : max;
	a.res = out;
	if (scope_tls.depth == 0)
		return run_op(p, &a, NULL);
	if ((key = scope_key(base, scope, filter, a.max, &klen)) != NULL) {
		for (size_t i = 0; i < scope_tls.n; i++) {
			struct scope_ent *e = &scope_tls.e[i];

			if (e->p != p || e->attrs != attrs || e->klen != klen ||
			    memcmp(e->key, key, klen) != 0)
				continue;
			free(key);
			if ((r = copy_result(&e->res, out)) == 0)
				scope_tls.st.hits++;
			return r;
		}
	}
	scope_tls.st.misses++;
	r = run_op(p, &a, NULL);
	if (r == 0 && key != NULL && scope_tls.depth > 0 &&
	    out->n <= DIR_SCOPE_ENTRIES_MAX) {
		struct scope_ent *e;

		/* full: the oldest answer (e[0]; order is kept) makes room */
		if (scope_tls.n == DIR_SCOPE_MAX) {
			scope_ent_clear(&scope_tls.e[0]);
			memmove(&scope_tls.e[0], &scope_tls.e[1],
			    (DIR_SCOPE_MAX - 1) * sizeof(scope_tls.e[0]));
			scope_tls.n--;
		}
		e = &scope_tls.e[scope_tls.n];
		memset(e, 0, sizeof(*e));	/* the last slot's old copy */
		if (copy_result(out, &e->res) == 0) {
			e->p = p;
			e->attrs = attrs;
			e->key = key;
			e->klen = klen;
			e->base = dn_norm(base);
			e->scope = scope;
			scope_tls.n++;
			key = NULL;
		}
	}
	free(key);
	return r;
}

int
dir_modify(struct dir_pool *p, const char *dn, LDAPMod **mods, int *ldrc)
{
	struct dir_opargs a;

	memset(&a, 0, sizeof(a));
	a.op = OP_MODIFY;
	a.dn = dn;
	a.mods = mods;
	return run_op(p, &a, ldrc);
}

int
dir_add(struct dir_pool *p, const char *dn, LDAPMod **mods, int *ldrc)
{
	struct dir_opargs a;

	memset(&a, 0, sizeof(a));
	a.op = OP_ADD;
	a.dn = dn;
	a.mods = mods;
	return run_op(p, &a, ldrc);
}

int
dir_delete(struct dir_pool *p, const char *dn, int *ldrc)
{
	return dir_delete_if(p, dn, NULL, ldrc);
}

int
dir_delete_if(struct dir_pool *p, const char *dn, const char *assertion,
    int *ldrc)
{
	struct dir_opargs a;

	memset(&a, 0, sizeof(a));
	a.op = OP_DELETE;
	a.dn = dn;
	a.assertion = assertion;
	return run_op(p, &a, ldrc);
}

int
dir_passwd_exop(struct dir_pool *p, const char *dn, const char *pw,
    size_t pwlen, int *ldrc, char *why, size_t whylen)
{
	struct dir_opargs a;

	memset(&a, 0, sizeof(a));
	a.op = OP_PASSWD;
	a.dn = dn;
	a.pw = pw;
	a.pwlen = pwlen;
	a.why = why;
	a.whylen = whylen;
	return run_op(p, &a, ldrc);
}

int
dir_pool_ping(struct dir_pool *p)
{
	static const char *const attrs[] = { "1.1", NULL };
	struct dir_result res;
	int r;

	if (p == NULL)
		return CM_ERR_INVAL;
	r = dir_search(p, p->cfg.base_dn, LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, 1, &res);
	if (r == 0 && res.n != 1)
		r = CM_ERR_UNAVAIL;	/* bound, but the base is invisible */
	dir_result_clear(&res);
	return r;
}

/* One olmMDB* counter of e (a page count). */
static int
map_count(const struct dir_entry *e, const char *attr, uint64_t *out)
{
	char *v = NULL;
	long long n;
	int r;

	if ((r = dir_entry_str(e, attr, &v)) != 0)
		return r;
	r = v == NULL ? CM_ERR_NOTFOUND :
	    cm_parse_ll(v, 0, INT64_MAX, &n) != 0 ? CM_ERR_INVAL : 0;
	if (r == 0)
		*out = (uint64_t)n;
	free(v);
	return r;
}

int
dir_map_usage(struct dir_pool *p, struct dir_map_usage *u)
{
	static const char *const attrs[] = { "olmMDBPagesMax",
	    "olmMDBPagesUsed", "olmMDBPagesFree", NULL };
	struct dir_result res;
	char filter[DIR_MAX_DN * 3 + 32], *esc = NULL;
	int r;

	memset(u, 0, sizeof(*u));
	if ((r = dir_escape_filter(p->cfg.base_dn, strlen(p->cfg.base_dn),
	    &esc)) != 0)
		return r;
	r = dir_fmt(filter, sizeof(filter), "(namingContexts=%s)", esc);
	free(esc);
	if (r != 0)
		return r;
	if ((r = dir_search(p, "cn=Databases,cn=Monitor", LDAP_SCOPE_ONELEVEL,
	    filter, attrs, 2, &res)) != 0)
		return r;
	if (res.n != 1)
		r = CM_ERR_NOTFOUND;	/* no monitor, or not ours to read */
	else if ((r = map_count(&res.v[0], "olmMDBPagesMax",
	    &u->pages_max)) == 0 &&
	    (r = map_count(&res.v[0], "olmMDBPagesUsed", &u->pages_used)) == 0)
		r = map_count(&res.v[0], "olmMDBPagesFree", &u->pages_free);
	if (r == 0 && (u->pages_max == 0 || u->pages_free > u->pages_used ||
	    u->pages_used > u->pages_max))
		r = CM_ERR_INVAL;
	dir_result_clear(&res);
	if (r != 0)
		memset(u, 0, sizeof(*u));
	return r;
}

/* ---- DN helpers ---- */

int
dir_make_dn(char *buf, size_t len, const char *rdnattr, const char *value,
    const char *parent)
{
	char *esc = NULL;
	int r;

	if ((r = dir_escape_dn(value, strlen(value), &esc)) != 0)
		return r;
	r = dir_fmt(buf, len, "%s=%s,%s", rdnattr, esc, parent);
	free(esc);
	return r;
}

int
dir_find_one(struct dir_pool *p, const char *base, const char *oc,
    const char *attr, const char *value, const char *const *attrs,
    struct dir_result *out)
{
	char filter[DIR_VALUE_MAX * 4];
	char *esc = NULL;
	int r = CM_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (value == NULL)
		return CM_ERR_INVAL;
	if (strlen(value) > DIR_VALUE_MAX)
		return CM_ERR_NOTFOUND;	/* nothing that long exists */
	if ((r = dir_escape_filter(value, strlen(value), &esc)) != 0)
		goto out;
	if ((r = dir_fmt(filter, sizeof(filter), "(&(objectClass=%s)(%s=%s))",
	    oc, attr, esc)) != 0)
		goto out;
	if ((r = dir_search(p, base, LDAP_SCOPE_ONELEVEL, filter, attrs, 2,
	    out)) != 0) {
		if (r == CM_ERR_RANGE)
			r = CM_ERR_CONFLICT;
		goto out;
	}
	if (out->n == 0) {
		r = CM_ERR_NOTFOUND;
		goto out;
	}
	if (out->n > 1) {
		r = CM_ERR_CONFLICT;
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		dir_result_clear(out);
	free(esc);
	return r;
}

int
dir_dn_child_value(const char *dn, const char *rdnattr, const char *parent,
    char **value)
{
	LDAPDN ldn = NULL, lpar = NULL;
	char *v = NULL;
	int r = CM_ERR_INVAL, n, m;

	*value = NULL;
	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL)
		goto out;
	if (ldap_str2dn(parent, &lpar, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    lpar == NULL)
		goto out;
	for (n = 0; ldn[n] != NULL; n++)
		;
	for (m = 0; lpar[m] != NULL; m++)
		;
	if (n != m + 1 || ldn[0][0] == NULL || ldn[0][1] != NULL)
		goto out;	/* not a direct child, or a multi-valued RDN */
	if (strncasecmp(ldn[0][0]->la_attr.bv_val, rdnattr,
	    ldn[0][0]->la_attr.bv_len) != 0 ||
	    strlen(rdnattr) != ldn[0][0]->la_attr.bv_len)
		goto out;
	for (int i = 0; i < m; i++) {
		LDAPAVA *x = ldn[i + 1][0], *y = lpar[i][0];

		if (x == NULL || y == NULL || ldn[i + 1][1] != NULL ||
		    lpar[i][1] != NULL ||
		    x->la_attr.bv_len != y->la_attr.bv_len ||
		    x->la_value.bv_len != y->la_value.bv_len ||
		    strncasecmp(x->la_attr.bv_val, y->la_attr.bv_val,
		    x->la_attr.bv_len) != 0 ||
		    strncasecmp(x->la_value.bv_val, y->la_value.bv_val,
		    x->la_value.bv_len) != 0)
			goto out;
	}
	if (memchr(ldn[0][0]->la_value.bv_val, '\0',
	    ldn[0][0]->la_value.bv_len) != NULL)
		goto out;
	if ((v = strndup(ldn[0][0]->la_value.bv_val,
	    ldn[0][0]->la_value.bv_len)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	*value = v;
	r = 0;
 out:
	if (ldn != NULL)
		ldap_dnfree(ldn);
	if (lpar != NULL)
		ldap_dnfree(lpar);
	return r;
}

int
dir_dn_under(const char *dn, const char *base)
{
	LDAPDN ldn = NULL, lb = NULL;
	int n, m, ok = 0;

	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldap_str2dn(base, &lb, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL || lb == NULL)
		goto out;
	for (n = 0; ldn[n] != NULL; n++)
		;
	for (m = 0; lb[m] != NULL; m++)
		;
	if (n < m)
		goto out;
	for (int i = 0; i < m; i++) {
		LDAPAVA *x = ldn[n - m + i][0], *y = lb[i][0];

		if (x == NULL || y == NULL || ldn[n - m + i][1] != NULL ||
		    lb[i][1] != NULL ||
		    x->la_attr.bv_len != y->la_attr.bv_len ||
		    x->la_value.bv_len != y->la_value.bv_len ||
		    strncasecmp(x->la_attr.bv_val, y->la_attr.bv_val,
		    x->la_attr.bv_len) != 0 ||
		    strncasecmp(x->la_value.bv_val, y->la_value.bv_val,
		    x->la_value.bv_len) != 0)
			goto out;
	}
	ok = 1;
 out:
	if (ldn != NULL)
		ldap_dnfree(ldn);
	if (lb != NULL)
		ldap_dnfree(lb);
	return ok;
}

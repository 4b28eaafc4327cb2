/*
 * broker/http.c — the HTTPS server (libmicrohttpd with its GnuTLS backend).
 *
 * Threads: libmicrohttpd runs a pool of cfg->threads polling threads (epoll);
 * each connection lives on one of them and a handler runs on that thread.
 * State shared between threads: the metrics (atomics), the TLS credentials
 * (an RCU-like pointer swapped under a lock; retired pairs are kept until
 * shutdown because a handshake may still hold them), and app (read-only once
 * started).
 *
 * Limits: total request head (connection memory) -> 431 by libmicrohttpd;
 * header count -> 431; Content-Length or received body over max_body -> 413,
 * answered early; requests in flight over max_in_flight -> 503; accepted
 * connections over max_connections are closed by libmicrohttpd.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <bsd/string.h>

#include "broker.h"
#include "broker_int.h"

/*
 * IPA TLS guideline "high security" profile: TLS 1.3, and TLS 1.2 with ECDHE
 * and AEAD suites only; SHA-2 signatures; no compression, no renegotiation
 * without RFC 5746.
 */
#define BRK_TLS_PRIORITIES \
	"NONE:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AES-256-CCM:+AES-128-CCM:" \
	"+AEAD:+ECDHE-ECDSA:+ECDHE-RSA:" \
	"+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:" \
	"+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384:" \
	"+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:" \
	"+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-PSS-RSAE-SHA384:" \
	"+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-EDDSA-ED25519:" \
	"+COMP-NULL:+CTYPE-X509:%SAFE_RENEGOTIATION"

#define BRK_CSP \
	"default-src 'none'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self'; form-action 'self'; " \
	"frame-ancestors 'none'; base-uri 'none'"

#define BRK_DISCARD_FACTOR	4

struct brk_tls_pair {
	gnutls_pcert_st		*pcerts;
	unsigned		 npcerts;
	gnutls_privkey_t	 key;
	struct brk_tls_pair	*retired_next;
};

struct brk_http {
	struct MHD_Daemon	*mhd;
	pthread_mutex_t		 tls_mtx;
	struct brk_tls_pair	*tls;		/* current */
	struct brk_tls_pair	*tls_retired;	/* freed at stop */
	atomic_int		 draining;
	gnutls_datum_t		 client_ca;	/* tls_client_ca (PEM) */
	/* requests suspended until their audit batch is durable */
	pthread_mutex_t		 wait_mtx;
	struct brk_req		*waiting;
	int			 stopping;	/* set under wait_mtx, atomic */
};

struct brk_req {
	char			 rid[CM_RID_LEN + 1];
	struct MHD_Connection	*conn;
	struct brk_app		*app;
	const char		*method;
	char			 path[512];
	char			 client_ip[INET6_ADDRSTRLEN];
	uint64_t		 start_ms;
	int			 route;		/* index, or -1 */
	unsigned		 route_flags;
	int			 counted;	/* holds an in-flight slot */
	int			 responded;
	int			 tls;
	int			 too_large;	/* body over max_body */
	size_t			 discarded;
	struct cm_buf		 body;
	/* response */
	int			 status;
	char			*out;
	size_t			 outlen;
	char			 ctype[96];
	struct { char *name, *value; } hdrs[16];
	size_t			 nhdrs;
	size_t			 sent_bytes;
	/* brk_audit_emit: the batch the response waits for */
	uint64_t		 audit_ticket;
	int			 audit_res;	/* read by the hook at resume */
	int			 suspended;
	struct brk_req		*wait_next;	/* under wait_mtx */
};

/* ---------------------------------------------------------------------- */
/* TLS credentials                                                         */

static void
tls_pair_free(struct brk_tls_pair *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < p->npcerts; i++)
		gnutls_pcert_deinit(&p->pcerts[i]);
	free(p->pcerts);
	if (p->key != NULL)
		gnutls_privkey_deinit(p->key);
	free(p);
}

static int
tls_pair_load(const char *cert_path, const char *key_path,
    struct brk_tls_pair **out)
{
	struct brk_tls_pair *p = NULL;
	gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
	gnutls_x509_crt_t *crts = NULL;
	unsigned ncrts = 0, i;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if (gnutls_load_file(cert_path, &cert) < 0 ||
	    gnutls_load_file(key_path, &key) < 0) {
		r = CM_ERR_IO;
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (gnutls_x509_crt_list_import2(&crts, &ncrts, &cert,
	    GNUTLS_X509_FMT_PEM, 0) < 0 || ncrts == 0) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((p->pcerts = calloc(ncrts, sizeof(*p->pcerts))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < ncrts; i++) {
		if (gnutls_pcert_import_x509(&p->pcerts[i], crts[i], 0) < 0) {
			r = CM_ERR_INVAL;
			goto out;
		}
		p->npcerts++;
	}
	if (gnutls_privkey_init(&p->key) < 0 ||
	    gnutls_privkey_import_x509_raw(p->key, &key,
	    GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
		r = CM_ERR_INVAL;
		goto out;
	}
	*out = p;
	p = NULL;
	r = 0;
 out:
	for (i = 0; i < ncrts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	gnutls_free(cert.data);
	if (key.data != NULL) {
		OPENSSL_cleanse(key.data, key.size);
		gnutls_free(key.data);
	}
	tls_pair_free(p);
	return r;
}

static struct brk_http *cert_cb_http;	/* set once before start */

static int
cert_cb(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn,
    int nreqs, const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
    gnutls_pcert_st **pcert, unsigned int *pcert_length,
    gnutls_privkey_t *pkey)
{
	struct brk_http *h = cert_cb_http;

	(void)session; (void)req_ca_rdn; (void)nreqs;
	(void)pk_algos; (void)pk_algos_length;
	if (h == NULL)
		return -1;
	pthread_mutex_lock(&h->tls_mtx);
	*pcert = h->tls->pcerts;
	*pcert_length = h->tls->npcerts;
	*pkey = h->tls->key;
	pthread_mutex_unlock(&h->tls_mtx);
	return 0;
}

int
brk_http_reload_tls(struct brk_app *app)
{
	struct brk_http *h = app->http;
	struct brk_tls_pair *p = NULL;
	int r;

	if (h == NULL || app->cfg->dev_plain_http)
		return 0;
	if ((r = tls_pair_load(app->cfg->tls_cert, app->cfg->tls_key, &p)) != 0)
		return r;
	pthread_mutex_lock(&h->tls_mtx);
	h->tls->retired_next = h->tls_retired;
	h->tls_retired = h->tls;
	h->tls = p;
	pthread_mutex_unlock(&h->tls_mtx);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Request accessors and responses                                         */

const char *brk_req_id(const struct brk_req *r) { return r->rid; }
const char *brk_req_method(const struct brk_req *r) { return r->method; }
const char *brk_req_path(const struct brk_req *r) { return r->path; }
const char *brk_req_client_ip(const struct brk_req *r) { return r->client_ip; }
int brk_req_is_tls(const struct brk_req *r) { return r->tls; }

int
brk_req_client_cert(const struct brk_req *r, char *serial, size_t seriallen,
    char *cn, size_t cnlen)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crt = NULL;
	unsigned int npeers = 0, status = 0;
	size_t len;
	int rc = CM_ERR_NOTFOUND;

	if (serial != NULL && seriallen > 0)
		serial[0] = '\0';
	if (cn != NULL && cnlen > 0)
		cn[0] = '\0';
	if (!r->tls || r->app->http == NULL ||
	    r->app->http->client_ca.data == NULL ||
	    (ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION)) == NULL ||
	    ci->tls_session == NULL ||
	    (peers = gnutls_certificate_get_peers(ci->tls_session,
	    &npeers)) == NULL || npeers == 0)
		return CM_ERR_NOTFOUND;
	/* the chain must verify against tls_client_ca (no host name) */
	if (gnutls_certificate_verify_peers2(ci->tls_session, &status) < 0 ||
	    status != 0)
		return CM_ERR_DENIED;
	if (gnutls_x509_crt_init(&crt) < 0)
		return CM_ERR_NOMEM;
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0) {
		rc = CM_ERR_DENIED;
		goto out;
	}
	if (serial != NULL && seriallen > 0) {
		len = seriallen;
		if (gnutls_x509_crt_get_dn_by_oid(crt, "2.5.4.5", 0, 0, serial,
		    &len) < 0) {
			serial[0] = '\0';
			if (len >= seriallen) {
				rc = CM_ERR_RANGE;
				goto out;
			}
		}
	}
	if (cn != NULL && cnlen > 0) {
		len = cnlen;
		if (gnutls_x509_crt_get_dn_by_oid(crt,
		    GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len) < 0)
			cn[0] = '\0';
	}
	rc = 0;
 out:
	gnutls_x509_crt_deinit(crt);
	return rc;
}

const char *
brk_req_header(const struct brk_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
brk_req_cookie(const struct brk_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

struct query_find {
	const char	*name;
	const char	*value;
	int		 count;
};

static enum MHD_Result
query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct query_find *q = cls;

	(void)kind;
	if (key != NULL && strcmp(key, q->name) == 0) {
		q->count++;
		q->value = value ? value : "";
	}
	return MHD_YES;
}

int
brk_req_query(const struct brk_req *r, const char *name, const char **out)
{
	struct query_find q = { name, NULL, 0 };

	*out = NULL;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_iter,
	    &q);
	if (q.count == 0)
		return CM_ERR_NOTFOUND;
	if (q.count > 1)
		return CM_ERR_INVAL;
	*out = q.value;
	return 0;
}

const uint8_t *
brk_req_body(const struct brk_req *r, size_t *len)
{
	*len = r->body.len;
	return r->body.data;
}

int
brk_resp_header(struct brk_req *r, const char *name, const char *value)
{
	char *n, *v;

	if (r->nhdrs >= sizeof(r->hdrs) / sizeof(r->hdrs[0]))
		return CM_ERR_RANGE;
	/* header injection: no CR/LF ever reaches the wire */
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return CM_ERR_INVAL;
	/* an empty field carries nothing, and libmicrohttpd refuses it
	 * (failing the whole response): leave it out */
	if (*value == '\0')
		return 0;
	if ((n = strdup(name)) == NULL || (v = strdup(value)) == NULL) {
		free(n);
		return CM_ERR_NOMEM;
	}
	r->hdrs[r->nhdrs].name = n;
	r->hdrs[r->nhdrs].value = v;
	r->nhdrs++;
	return 0;
}

void
brk_resp_body(struct brk_req *r, int status, const char *ctype,
    const void *body, size_t len)
{
	free(r->out);
	r->out = NULL;
	r->outlen = 0;
	if (len > 0) {
		if ((r->out = malloc(len)) == NULL) {
			status = 500;
			len = 0;
			ctype = "text/plain; charset=utf-8";
		} else
			memcpy(r->out, body, len);
	}
	r->outlen = len;
	r->status = status;
	snprintf(r->ctype, sizeof(r->ctype), "%s", ctype);
	r->responded = 1;
}

void
brk_resp_text(struct brk_req *r, int status, const char *text)
{
	brk_resp_body(r, status, "text/plain; charset=utf-8", text,
	    strlen(text));
}

void
brk_resp_json(struct brk_req *r, int status, json_t *o)
{
	char *s;

	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		brk_resp_text(r, 500, "internal error\n");
		return;
	}
	json_decref(o);
	brk_resp_body(r, status, "application/json", s, strlen(s));
	free(s);
}

void
brk_resp_error(struct brk_req *r, enum cm_eid id, const char *detail)
{
	const struct cm_errdef *e = cm_errcat_get(id);
	char *html = NULL;
	int status = e->http_status;

	if (r->route_flags & BRK_ROUTE_HTML) {
		if (brk_page_error(r, e, &html) == 0) {
			brk_resp_body(r, status, "text/html; charset=utf-8",
			    html, strlen(html));
			free(html);
			return;
		}
		brk_resp_text(r, 500, "internal error\n");
		return;
	}
	brk_resp_json(r, status, json_pack("{s:s, s:s, s:s, s:s}",
	    "error", e->oauth_error ? e->oauth_error : "error",
	    "error_description", detail ? detail : e->msg_en,
	    "code", e->code, "request_id", r->rid));
	if (status == 401 && e->oauth_error != NULL &&
	    strcmp(e->oauth_error, "invalid_token") == 0)
		(void)brk_resp_header(r, "WWW-Authenticate",
		    "Bearer error=\"invalid_token\"");
}

/* ---------------------------------------------------------------------- */
/* Request life cycle                                                      */

static unsigned
method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)	return BRK_M_GET;
	if (strcmp(m, "HEAD") == 0)	return BRK_M_HEAD;
	if (strcmp(m, "POST") == 0)	return BRK_M_POST;
	if (strcmp(m, "PUT") == 0)	return BRK_M_PUT;
	if (strcmp(m, "DELETE") == 0)	return BRK_M_DELETE;
	if (strcmp(m, "OPTIONS") == 0)	return BRK_M_OPTIONS;
	return 0;
}

static void
req_free(struct brk_req *r)
{
	size_t i;

	if (r == NULL)
		return;
	/* bodies may carry passwords and codes */
	cm_buf_free(&r->body);
	for (i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->out);
	free(r);
}

static int
add_std_headers(struct brk_req *r, struct MHD_Response *resp)
{
	struct brk_http *h = r->app->http;
	size_t i;
	int csp = 0, cache = 0;

	for (i = 0; i < r->nhdrs; i++) {
		if (strcasecmp(r->hdrs[i].name, "Content-Security-Policy") == 0)
			csp = 1;
		if (strcasecmp(r->hdrs[i].name, "Cache-Control") == 0)
			cache = 1;
		if (MHD_add_response_header(resp, r->hdrs[i].name,
		    r->hdrs[i].value) != MHD_YES)
			return CM_ERR_INTERNAL;
	}
	if (MHD_add_response_header(resp, "X-Request-Id", r->rid) != MHD_YES ||
	    (r->ctype[0] != '\0' && MHD_add_response_header(resp,
	    MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype) != MHD_YES) ||
	    MHD_add_response_header(resp, "X-Content-Type-Options",
	    "nosniff") != MHD_YES ||
	    MHD_add_response_header(resp, "Referrer-Policy",
	    "no-referrer") != MHD_YES ||
	    MHD_add_response_header(resp, "X-Frame-Options", "DENY") != MHD_YES ||
	    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy",
	    "same-origin") != MHD_YES ||
	    (!csp && MHD_add_response_header(resp, "Content-Security-Policy",
	    BRK_CSP) != MHD_YES) ||
	    (!cache && MHD_add_response_header(resp, "Cache-Control",
	    "no-store") != MHD_YES) ||
	    (!cache && MHD_add_response_header(resp, "Pragma",
	    "no-cache") != MHD_YES))
		return CM_ERR_INTERNAL;
	/* HSTS only means something over TLS (RFC 6797 §7.2) */
	if (r->tls && MHD_add_response_header(resp,
	    "Strict-Transport-Security",
	    "max-age=31536000; includeSubDomains") != MHD_YES)
		return CM_ERR_INTERNAL;
	if (atomic_load(&h->draining) &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
	    "close") != MHD_YES)
		return CM_ERR_INTERNAL;
	return 0;
}

int
brk_audit_emit(struct brk_req *r, const char *event, const char *fmt, ...)
{
	uint64_t t = 0;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cm_audit_vappend(r->rid, event, &t, fmt, ap);
	va_end(ap);
	if (rc == 0 && t > r->audit_ticket)
		r->audit_ticket = t;
	return rc;
}

/* Give r back to libmicrohttpd with its batch's result (an error when
 * the server stops before the batch is done). */
static void
resume_held(struct brk_req *r)
{
	r->wait_next = NULL;
	/* the result now, while the batch is the last one flushed: the
	 * worker may run much later, after the results ring has moved on
	 * (which would read as a failure) */
	if (!cm_audit_ticket_done(r->audit_ticket, &r->audit_res))
		r->audit_res = CM_ERR_UNAVAIL;	/* stopping */
	MHD_resume_connection(r->conn);		/* r belongs to it again */
}

/*
 * The flusher finished batch done: resume every request waiting for it or
 * an earlier one.  Runs on the flusher thread (one run at a time), and once
 * from brk_http_stop.  wait_mtx is held only to take the list and to put
 * back the requests of later batches, never across a libmicrohttpd call:
 * held across the resumes, 32 HTTP threads queued on it behind the flusher
 * (two thirds of the futex calls on the token path, strace -k,
 * bench/notes.md).
 */
static void
audit_resume_hook(void *arg, uint64_t done)
{
	struct brk_http *h = arg;
	struct brk_req *r, *next, *keep = NULL, *tail = NULL;
	int stopping;

	pthread_mutex_lock(&h->wait_mtx);
	r = h->waiting;
	h->waiting = NULL;
	stopping = h->stopping;
	pthread_mutex_unlock(&h->wait_mtx);
	for (; r != NULL; r = next) {
		next = r->wait_next;
		if (r->audit_ticket > done && !stopping) {
			if (keep == NULL)
				tail = r;
			r->wait_next = keep;
			keep = r;
		} else
			resume_held(r);
	}
	if (keep == NULL)
		return;
	pthread_mutex_lock(&h->wait_mtx);
	if (!h->stopping) {
		tail->wait_next = h->waiting;
		h->waiting = keep;
		keep = NULL;
	}
	pthread_mutex_unlock(&h->wait_mtx);
	for (r = keep; r != NULL; r = next) {	/* the server stopped meanwhile */
		next = r->wait_next;
		resume_held(r);
	}
}

/*
 * Hold the response until the request's audit batch is durable: 1 when the
 * connection is suspended (resume_held resumes it), 0 when the batch is
 * done (*res has its result) or the server is stopping (*res an error).
 */
static int
audit_hold(struct brk_app *app, struct brk_req *r, int *res)
{
	struct brk_http *h = app->http;
	int later;		/* resume_held reads the result again */

	if (cm_audit_ticket_done(r->audit_ticket, res))
		return 0;
	if (__atomic_load_n(&h->stopping, __ATOMIC_ACQUIRE)) {
		*res = CM_ERR_UNAVAIL;		/* no new suspensions */
		return 0;
	}
	/* suspended before the hook can see it: its resume never comes
	 * first */
	MHD_suspend_connection(r->conn);
	r->suspended = 1;
	pthread_mutex_lock(&h->wait_mtx);
	/* again under the lock: a hook that ran since has not seen r */
	if (!h->stopping && !cm_audit_ticket_done(r->audit_ticket, &later)) {
		r->wait_next = h->waiting;
		h->waiting = r;
		pthread_mutex_unlock(&h->wait_mtx);
		return 1;
	}
	pthread_mutex_unlock(&h->wait_mtx);
	resume_held(r);		/* done, or stopping, since the first look */
	return 1;
}

static enum MHD_Result send_response(struct brk_req *);

/*
 * Send the handler's response, once its audit record (if any) is durable.
 * resumed: the hook has put the batch's result in r->audit_res.
 */
static enum MHD_Result
finish(struct brk_app *app, struct brk_req *r, int resumed)
{
	int res = 0;

	if (r->audit_ticket != 0) {
		if (resumed)
			res = r->audit_res;
		else if (audit_hold(app, r, &res))
			return MHD_YES;
		if (res != 0) {
			cm_err(r->rid, "http.audit_failed", "{s:s}", "error",
			    cm_strerror(res));
			brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		}
		r->audit_ticket = 0;
	}
	return send_response(r);
}

static enum MHD_Result
send_response(struct brk_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int head = strcmp(r->method, "HEAD") == 0;

	if (!r->responded)
		brk_resp_error(r, CM_E_INTERNAL, NULL);
	resp = MHD_create_response_from_buffer(r->outlen, r->out,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		return MHD_NO;
	r->out = NULL;		/* transferred */
	r->sent_bytes = head ? 0 : r->outlen;
	if (add_std_headers(r, resp) != 0) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
count_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	(void)kind; (void)key; (void)value;
	(*(unsigned *)cls)++;
	return MHD_YES;
}

static void
client_ip(struct MHD_Connection *c, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, outsz, "-");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, out, (socklen_t)outsz);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, out, (socklen_t)outsz);
}

/* First call for a request: headers are in; decide early refusals. */
static struct brk_req *
req_begin(struct brk_app *app, struct MHD_Connection *c, const char *url,
    const char *method)
{
	const struct brk_config *cfg = app->cfg;
	struct brk_req *r;
	size_t i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if (cm_random_rid(r->rid) != 0) {
		free(r);
		return NULL;
	}
	r->conn = c;
	r->app = app;
	r->method = method;
	r->start_ms = cm_now_ms();
	r->route = -1;
	r->tls = !cfg->dev_plain_http;
	r->status = 500;
	/* libmicrohttpd hands us the path without the query string */
	cm_log_sanitize(r->path, sizeof(r->path), url, strlen(url));
	client_ip(c, r->client_ip, sizeof(r->client_ip));
	cm_buf_init(&r->body, cfg->max_body, 1);
	for (i = 0; i < app->nroutes; i++) {
		if (strcmp(app->routes[i].path, url) == 0) {
			r->route = (int)i;
			r->route_flags = app->routes[i].flags;
			break;
		}
	}
	return r;
}

/* Returns 1 when the request was refused (a response is set). */
static int
req_check_limits(struct brk_app *app, struct brk_req *r)
{
	const struct brk_config *cfg = app->cfg;
	const char *cl;
	unsigned nhdr = 0;
	long long len;

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_iter, &nhdr);
	if (nhdr > cfg->max_headers) {
		brk_resp_error(r, CM_E_HEADERS_TOO_LARGE, NULL);
		return 1;
	}
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && (cm_parse_ll(cl, 0, (long long)cfg->max_body,
	    &len) != 0)) {
		brk_resp_error(r, CM_E_BODY_TOO_LARGE, NULL);
		return 1;
	}
	if (atomic_load(&app->http->draining)) {
		brk_resp_error(r, CM_E_SHUTTING_DOWN, NULL);
		return 1;
	}
	if (brk_metrics_inflight_acquire(app->metrics,
	    cfg->max_in_flight) != 0) {
		brk_resp_error(r, CM_E_OVERLOADED, NULL);
		return 1;
	}
	r->counted = 1;
	return 0;
}

static void
req_dispatch(struct brk_app *app, struct brk_req *r)
{
	const struct brk_route *rt;
	unsigned m = method_bit(r->method);

	if (r->route < 0) {
		brk_resp_error(r, CM_E_NOT_FOUND, NULL);
		return;
	}
	rt = &app->routes[r->route];
	if ((m & rt->methods) == 0 &&
	    !(m == BRK_M_HEAD && (rt->methods & BRK_M_GET))) {
		char allow[64] = "";

		if (rt->methods & BRK_M_GET)
			strlcat(allow, "GET, HEAD, ", sizeof(allow));
		if (rt->methods & BRK_M_POST)
			strlcat(allow, "POST, ", sizeof(allow));
		if (rt->methods & BRK_M_PUT)
			strlcat(allow, "PUT, ", sizeof(allow));
		if (rt->methods & BRK_M_DELETE)
			strlcat(allow, "DELETE, ", sizeof(allow));
		if (strlen(allow) >= 2)
			allow[strlen(allow) - 2] = '\0';
		(void)brk_resp_header(r, "Allow", allow);
		brk_resp_error(r, CM_E_METHOD, NULL);
		return;
	}
	/* one read of each directory entry per request (directory.h) */
	dir_scope_begin();
	rt->h(app, r, rt->ctx);
	dir_scope_end();
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct brk_app *app = cls;
	struct brk_req *r = *con_cls;

	(void)version;
	if (r == NULL) {
		if ((r = req_begin(app, c, url, method)) == NULL)
			return MHD_NO;
		*con_cls = r;
		if (req_check_limits(app, r))
			return send_response(r);	/* early, closes */
		return MHD_YES;
	}
	if (r->suspended) {	/* resumed: its audit batch is done */
		r->suspended = 0;
		return finish(app, r, 1);
	}
	if (r->responded)	/* an early answer is queued; drop the rest */
		return MHD_YES;
	if (*upload_data_size != 0) {
		/*
		 * libmicrohttpd accepts a response only after the head or
		 * the whole body, so a body that grows past the limit
		 * (chunked) is discarded up to BRK_DISCARD_FACTOR times
		 * the limit and answered with 413 at its end; past that
		 * the connection is closed.
		 */
		if (!r->too_large && cm_buf_append(&r->body, upload_data,
		    *upload_data_size) != 0) {
			r->too_large = 1;
			cm_buf_free(&r->body);
		}
		if (r->too_large) {
			r->discarded += *upload_data_size;
			if (r->discarded > app->cfg->max_body *
			    BRK_DISCARD_FACTOR)
				return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->too_large)
		brk_resp_error(r, CM_E_BODY_TOO_LARGE, NULL);
	else
		req_dispatch(app, r);
	return finish(app, r, 0);
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct brk_app *app = cls;
	struct brk_req *r = *con_cls;
	uint64_t ms;

	(void)c;
	if (r == NULL)
		return;
	ms = cm_now_ms() - r->start_ms;
	brk_metrics_request(app->metrics, r->route, r->status, ms);
	if (r->counted)
		brk_metrics_inflight_release(app->metrics);
	cm_info(r->rid, "http.request",
	    "{s:s, s:s, s:i, s:I, s:s, s:I, s:b}",
	    "method", r->method, "path", r->path, "status", r->status,
	    "duration_ms", (json_int_t)ms, "client_ip", r->client_ip,
	    "bytes", (json_int_t)r->sent_bytes,
	    "completed", toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	req_free(r);
	*con_cls = NULL;
}

static void mhd_log(void *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	cm_warn(NULL, "http.mhd", "{s:s}", "message", msg);
}

/* ---------------------------------------------------------------------- */

int
brk_route_add(struct brk_app *app, unsigned methods, const char *path,
    unsigned flags, brk_handler h, void *ctx)
{
	struct brk_route *rt;

	if (app->nroutes >= BRK_ROUTE_MAX)
		return CM_ERR_RANGE;
	rt = &app->routes[app->nroutes];
	if (strlcpy(rt->path, path, sizeof(rt->path)) >= sizeof(rt->path))
		return CM_ERR_RANGE;
	rt->methods = methods;
	rt->flags = flags;
	rt->h = h;
	rt->ctx = ctx;
	app->nroutes++;
	return 0;
}

int
brk_ready_add(struct brk_app *app, const char *name, brk_ready_fn fn,
    void *ctx)
{
	struct brk_ready *rd;

	if (app->nready >= sizeof(app->ready) / sizeof(app->ready[0]))
		return CM_ERR_RANGE;
	rd = &app->ready[app->nready];
	if (strlcpy(rd->name, name, sizeof(rd->name)) >= sizeof(rd->name))
		return CM_ERR_RANGE;
	rd->fn = fn;
	rd->ctx = ctx;
	app->nready++;
	return 0;
}

int
brk_http_start(struct brk_app *app)
{
	const struct brk_config *cfg = app->cfg;
	struct brk_http *h;
	struct sockaddr_in sin;
	unsigned flags;
	int r = CM_ERR_INTERNAL;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return CM_ERR_NOMEM;
	pthread_mutex_init(&h->tls_mtx, NULL);
	pthread_mutex_init(&h->wait_mtx, NULL);
	app->http = h;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(cfg->listen_port);
	if (inet_pton(AF_INET, cfg->listen_addr, &sin.sin_addr) != 1) {
		r = CM_ERR_INVAL;
		goto out;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	if (!cfg->dev_plain_http) {
		if ((r = tls_pair_load(cfg->tls_cert, cfg->tls_key,
		    &h->tls)) != 0)
			goto out;
		cert_cb_http = h;
		flags |= MHD_USE_TLS;
		/* mutual TLS: ask for (never require) a client certificate */
		if (cfg->tls_client_ca[0] != '\0' &&
		    gnutls_load_file(cfg->tls_client_ca, &h->client_ca) < 0) {
			r = CM_ERR_IO;
			goto out;
		}
	}
	{
		struct MHD_OptionItem tlsopts[] = {
			{ MHD_OPTION_HTTPS_PRIORITIES, 0,
			  (void *)(uintptr_t)BRK_TLS_PRIORITIES },
			{ MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
			  (void *)(uintptr_t)cert_cb },
			{ h->client_ca.data != NULL ?
			  MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
			  h->client_ca.data },
			{ MHD_OPTION_END, 0, NULL },
		};
		struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };

		/* before any request can be suspended */
		cm_audit_set_hook(audit_resume_hook, h);
		h->mhd = MHD_start_daemon(flags, 0, NULL, NULL,
		    access_cb, app,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		    MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
		    MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
		    MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->max_header_bytes,
		    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, app,
		    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
		    MHD_OPTION_ARRAY, cfg->dev_plain_http ? none : tlsopts,
		    MHD_OPTION_END);
	}
	if (h->mhd == NULL) {
		r = CM_ERR_IO;
		goto out;
	}
	r = 0;
 out:
	if (r != 0) {
		cm_audit_set_hook(NULL, NULL);
		tls_pair_free(h->tls);
		gnutls_free(h->client_ca.data);
		pthread_mutex_destroy(&h->tls_mtx);
		pthread_mutex_destroy(&h->wait_mtx);
		free(h);
		app->http = NULL;
		cert_cb_http = NULL;
	}
	return r;
}

void
brk_http_drain_stop(struct brk_app *app, unsigned timeout_s)
{
	struct brk_http *h = app->http;
	uint64_t deadline;
	MHD_socket lsock;
	struct brk_tls_pair *p;

	if (h == NULL)
		return;
	atomic_store(&h->draining, 1);
	lsock = MHD_quiesce_daemon(h->mhd);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	deadline = cm_now_ms() + (uint64_t)timeout_s * 1000;
	while (brk_metrics_inflight(app->metrics) > 0 &&
	    cm_now_ms() < deadline)
		usleep(20 * 1000);
	cm_info(NULL, "http.drained", "{s:I}", "in_flight_left",
	    (json_int_t)brk_metrics_inflight(app->metrics));
	/* anything still held for the audit is answered with the error */
	pthread_mutex_lock(&h->wait_mtx);
	__atomic_store_n(&h->stopping, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&h->wait_mtx);
	audit_resume_hook(h, 0);
	cm_audit_set_hook(NULL, NULL);
	MHD_stop_daemon(h->mhd);
	tls_pair_free(h->tls);
	while ((p = h->tls_retired) != NULL) {
		h->tls_retired = p->retired_next;
		tls_pair_free(p);
	}
	cert_cb_http = NULL;
	gnutls_free(h->client_ca.data);
	pthread_mutex_destroy(&h->tls_mtx);
	pthread_mutex_destroy(&h->wait_mtx);
	free(h);
	app->http = NULL;
}

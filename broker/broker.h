/*
 * broker/broker.h — the Sekimori daemon: configuration, HTTP server,
 * routing, readiness, metrics, and the brokerctl command framework.
 *
 * Configuration is "key = value" lines (see docs/configuration.md).  Each
 * component owns its keys: the broker offers every key it does not know to
 * the components' X_config_set(), which return CM_ERR_NOTFOUND for keys that
 * are not theirs.  Errors are reported as "file:line: message".
 */
#ifndef BROKER_H
#define BROKER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/cm.h"
#include "directory/directory.h"

#define BRK_CONFIG_MAX_LINE	4096
#define BRK_CONFIG_MAX_PATH	1024
#define BRK_DEFAULT_CONFIG	"conf/sekimori.conf"
#define BRK_DEV_CONFIG		"var/sekimori.conf"

struct brk_config {
	/* [http] */
	char		listen_addr[64];	/* listen = 127.0.0.1:8443 */
	uint16_t	listen_port;
	char		issuer[512];		/* https://host[:port] */
	char		tls_cert[BRK_CONFIG_MAX_PATH];
	char		tls_key[BRK_CONFIG_MAX_PATH];
	char		tls_client_ca[BRK_CONFIG_MAX_PATH];	/* mTLS, optional */
	int		dev_plain_http;		/* dev only: no TLS */
	size_t		max_body;		/* bytes, 413 above */
	size_t		max_header_bytes;	/* total request head, 431 */
	unsigned	max_headers;		/* count, 431 above */
	unsigned	max_connections;	/* accepted sockets */
	unsigned	max_in_flight;		/* 503 above */
	unsigned	connection_timeout;	/* seconds idle */
	unsigned	request_timeout;	/* seconds per request */
	unsigned	threads;		/* 0 = number of CPUs */
	unsigned	drain_timeout;		/* seconds on SIGTERM */
	unsigned	state_prune_interval;	/* seconds; 0 = never */
	/* [logs] */
	char		log_file[BRK_CONFIG_MAX_PATH];	/* "-" = stderr */
	enum cm_log_level log_level;
	char		audit_file[BRK_CONFIG_MAX_PATH];
	/* [tokens] */
	char		key_dir[BRK_CONFIG_MAX_PATH];
	/* components */
	struct dir_config dir;
	/* where it came from (for relative paths and messages) */
	char		path[BRK_CONFIG_MAX_PATH];
};

/*
 * Keys of components above the broker (the IdP) are handled by extensions:
 * set() returns 0 when it took the key, CM_ERR_NOTFOUND when the key is
 * not its own, another error (with err) for a bad value; check() runs after
 * the whole file.  brokerd and brokerctl pass the same extensions, so they
 * accept the same files.
 */
struct brk_config_ext {
	const char	*name;
	int		(*set)(void *obj, const char *key, const char *val,
			    char *err, size_t errlen);
	int		(*check)(void *obj, char *err, size_t errlen);
	void		*obj;
};

void	brk_config_defaults(struct brk_config *c);
/* Load and validate completely.  On error, err holds "file:line: what". */
int	brk_config_load(struct brk_config *c, const char *path,
	    const struct brk_config_ext *ext, size_t next, char *err,
	    size_t errlen) CM_WUR;
/* What serving needs (brokerd, brokerd -t): issuer, TLS unless
 * dev_plain_http, key_dir, audit_file.  brokerctl does not require them;
 * each of its commands checks what it uses. */
int	brk_config_check_serve(const struct brk_config *c, char *err,
	    size_t errlen) CM_WUR;
/* Which config file to use: explicit path, else $SEKIMORI_CONF, else the
 * dev config if present (var/sekimori.conf), else the default. */
const char *brk_config_path(const char *explicit_path);

/*
 * HTTP requests and responses.  A handler runs once the whole request
 * (head and body, within the limits) has arrived; it must set a response
 * with one of the brk_resp_* calls (none set: 500).  Everything on a
 * brk_req is owned by the server and valid until the handler returns.
 */
struct brk_app;
struct brk_req;

typedef void (*brk_handler)(struct brk_app *app, struct brk_req *req,
    void *ctx);

#define BRK_M_GET	0x01
#define BRK_M_HEAD	0x02
#define BRK_M_POST	0x04
#define BRK_M_PUT	0x08
#define BRK_M_DELETE	0x10
#define BRK_M_OPTIONS	0x20

#define BRK_ROUTE_HTML	0x01	/* errors rendered as HTML pages */
#define BRK_ROUTE_MAX	64

/* Register before brk_http_start(); exact path match. */
int	brk_route_add(struct brk_app *app, unsigned methods, const char *path,
	    unsigned flags, brk_handler h, void *ctx) CM_WUR;

/* Readiness checks for /readyz: return 0 when ready; set *why. */
typedef int (*brk_ready_fn)(struct brk_app *app, void *ctx, const char **why);
int	brk_ready_add(struct brk_app *app, const char *name, brk_ready_fn fn,
	    void *ctx) CM_WUR;

/* Request accessors. */
const char	*brk_req_id(const struct brk_req *r);
const char	*brk_req_method(const struct brk_req *r);
const char	*brk_req_path(const struct brk_req *r);
const char	*brk_req_client_ip(const struct brk_req *r);
const char	*brk_req_header(const struct brk_req *r, const char *name);
/* Query parameter; CM_ERR_NOTFOUND when absent, CM_ERR_INVAL when
 * repeated (RFC 6749 §3.1). */
int		 brk_req_query(const struct brk_req *r, const char *name,
		    const char **out) CM_WUR;
const uint8_t	*brk_req_body(const struct brk_req *r, size_t *len);
const char	*brk_req_cookie(const struct brk_req *r, const char *name);

/*
 * application/x-www-form-urlencoded.  brk_req_form() checks the content
 * type (CM_ERR_UNSUPPORTED otherwise) and parses the body strictly: bad
 * percent escapes, NUL, non-UTF-8 or more than BRK_FORM_MAX_FIELDS fields
 * give CM_ERR_INVAL/CM_ERR_RANGE.  brk_form_get() returns CM_ERR_NOTFOUND
 * when absent and CM_ERR_INVAL when the field was given more than once.
 * Values are wiped when the form is freed.
 */
#define BRK_FORM_MAX_FIELDS	64
struct brk_form;
int	 brk_form_parse(const uint8_t *p, size_t len, struct brk_form **out)
	    CM_WUR;
int	 brk_req_form(struct brk_req *r, struct brk_form **out) CM_WUR;
int	 brk_form_get(const struct brk_form *f, const char *name,
	    const char **out) CM_WUR;
void	 brk_form_free(struct brk_form **f);
/* Percent-decode ('+' is a space) into a new string; UTF-8 required. */
int	 brk_urldecode(const char *p, size_t len, char **out, size_t *outlen)
	    CM_WUR;
/* 1 when p[0..len) is well-formed UTF-8 without NUL. */
int	 brk_utf8_valid(const uint8_t *p, size_t len);
/* Append s to b with & < > " ' escaped. */
int	 brk_html_escape(struct cm_buf *b, const char *s) CM_WUR;
int		 brk_req_is_tls(const struct brk_req *r);
/*
 * Mutual TLS (tls_client_ca set: client certificates are requested, not
 * required).  The peer's certificate, verified against tls_client_ca:
 * its subject serialNumber (OID 2.5.4.5, the device serial as in
 * IEEE 802.1AR device certificates) into serial and its subject CN into
 * cn (either may be NULL).  CM_ERR_NOTFOUND: no certificate presented;
 * CM_ERR_DENIED: it does not verify; CM_ERR_RANGE: a value too long.
 */
int		 brk_req_client_cert(const struct brk_req *r, char *serial,
		    size_t seriallen, char *cn, size_t cnlen) CM_WUR;

/* Responses. Headers added with brk_resp_header are sent as given; the
 * security headers and X-Request-Id are always added by the server. */
int	brk_resp_header(struct brk_req *r, const char *name,
	    const char *value);
void	brk_resp_body(struct brk_req *r, int status, const char *ctype,
	    const void *body, size_t len);
void	brk_resp_text(struct brk_req *r, int status, const char *text);
/* Consumes the reference to o. */
void	brk_resp_json(struct brk_req *r, int status, json_t *o);
/* The catalogue error as JSON ({error, error_description, code,
 * request_id}) or, on HTML routes, as a page showing code and request id.
 * detail (may be NULL) replaces error_description and is never shown in
 * HTML (it may be technical). */
void	brk_resp_error(struct brk_req *r, enum cm_eid id, const char *detail);
/*
 * An audit record for this request without holding the thread: the record
 * joins the open batch and the response the handler sets is held back
 * (the connection is suspended, the thread serves others) until that batch
 * is on disk; if the batch fails, the response is replaced by SKM audit
 * error (503).  So, as with cm_audit_emit(), nothing the response carries
 * reaches the client unless its record is durable.  Only for a record
 * that is the handler's last step: the handler does not learn the outcome.
 * 0, or the cm_audit_append() error (then refuse as after
 * cm_audit_emit()).
 */
int	brk_audit_emit(struct brk_req *r, const char *event, const char *fmt,
	    ...) CM_WUR;

/* Metrics: authentication results by method ("password", "totp", ...). */
void	brk_metrics_auth(struct brk_app *app, const char *method, int ok);
/* The outbox: a delivery settled (set: a SET, else a logout token), the
 * number queued changed by delta, the number of receivers held down
 * changed by delta. */
void	brk_metrics_outbox(struct brk_app *app, int set, int delivered);
void	brk_metrics_outbox_queued(struct brk_app *app, long delta);
void	brk_metrics_outbox_down(struct brk_app *app, long delta);
/* Read the directory's map use (dir_map_usage) into the gauges; logs
 * directory.map_filling on crossing 80 % (warn) and 95 % (err), and
 * directory.map_ok back under 80 %.  brokerd calls it every minute and
 * GET /metrics before it renders. */
void	brk_metrics_dir_map(struct brk_app *app);

/* The running daemon. */
struct brk_app {
	const struct brk_config	*cfg;
	struct dir_pool		*dir;
	void			*signer;	/* struct tok_signer * */
	struct brk_http		*http;
	struct brk_metrics	*metrics;
	struct brk_route {
		unsigned	 methods;
		char		 path[128];
		unsigned	 flags;
		brk_handler	 h;
		void		*ctx;
	}			 routes[BRK_ROUTE_MAX];
	size_t			 nroutes;
	struct brk_ready {
		char		 name[32];
		brk_ready_fn	 fn;
		void		*ctx;
	}			 ready[16];
	size_t			 nready;
};

int	brk_http_start(struct brk_app *app) CM_WUR;
/* Stop accepting, wait for in-flight requests (bounded), then stop. */
void	brk_http_drain_stop(struct brk_app *app, unsigned timeout_s);
/* Re-read the TLS certificate and key; the old pair stays on error. */
int	brk_http_reload_tls(struct brk_app *app) CM_WUR;

int	brk_metrics_new(struct brk_metrics **out) CM_WUR;
void	brk_metrics_free(struct brk_metrics **m);
/* Built-in routes: /healthz, /readyz, /metrics. */
int	brk_routes_builtin(struct brk_app *app) CM_WUR;

/*
 * brokerctl: each command group is a function in broker/ctl_<group>.c.
 * argv[0] is the group name ("user"), argv[1] the verb.  Output goes to
 * stdout (JSON with --json), errors to stderr as "brokerctl: message";
 * return 0 on success, 1 on a usage error or a refused operation, 2 when a
 * dependency (the directory) is unavailable.
 */
struct idp_config;
struct brk_ctl {
	const struct brk_config	*cfg;
	int			 json;	/* --json given anywhere */
	struct dir_pool		*dir;	/* opened lazily by brk_ctl_dir() */
	const char		*kek_file;	/* the IdP's, "" if none */
	const char		*admin_group;	/* the IdP's admin_group */
	const struct idp_config	*idp_cfg;	/* the IdP's keys (proofing) */
};

/* Open the directory pool on first use; prints the error itself. */
struct dir_pool	*brk_ctl_dir(struct brk_ctl *ctl);
/* Print a json_t to stdout (pretty), consuming the reference. */
void		 brk_ctl_print_json(json_t *o);
/* Print "brokerctl: msg" to stderr. */
void		 brk_ctl_errx(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

typedef int (*brk_ctl_fn)(struct brk_ctl *ctl, int argc, char **argv);

int	brk_ctl_user(struct brk_ctl *, int, char **);
int	brk_ctl_group(struct brk_ctl *, int, char **);
int	brk_ctl_device(struct brk_ctl *, int, char **);
int	brk_ctl_rpa(struct brk_ctl *, int, char **);
int	brk_ctl_errors(struct brk_ctl *, int, char **);
int	brk_ctl_config(struct brk_ctl *, int, char **);
int	brk_ctl_client(struct brk_ctl *, int, char **);
int	brk_ctl_key(struct brk_ctl *, int, char **);
int	brk_ctl_token(struct brk_ctl *, int, char **);
int	brk_ctl_kek(struct brk_ctl *, int, char **);
int	brk_ctl_webauthn(struct brk_ctl *, int, char **);
int	brk_ctl_proofing(struct brk_ctl *, int, char **);

#endif /* BROKER_H */

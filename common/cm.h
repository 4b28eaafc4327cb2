/*
 * common/cm.h — the small library every Sekimori component may use:
 * error codes, the user-facing error catalogue, structured logs and the
 * audit stream, bounded buffers, secret memory, randomness, base64url and
 * bounded number parsing.
 *
 * Ownership: functions returning allocated memory say so; free it with the
 * matching cm_*_free() or free().  Secret buffers are wiped on free.
 */
#ifndef CM_H
#define CM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define CM_WUR __attribute__((warn_unused_result))

/*
 * Internal error codes: 0 is success, a negative CM_ERR_* a failure.
 * Components may define their own codes below CM_ERR_COMPONENT_BASE with
 * their own strerror; cm_strerror() names the common ones.
 */
#define CM_ERR_INTERNAL		(-1)	/* broken invariant, library failure */
#define CM_ERR_NOMEM		(-2)
#define CM_ERR_INVAL		(-3)	/* malformed input */
#define CM_ERR_RANGE		(-4)	/* too large, too long, out of bounds */
#define CM_ERR_NOTFOUND		(-5)
#define CM_ERR_EXISTS		(-6)
#define CM_ERR_IO		(-7)
#define CM_ERR_CRYPTO		(-8)
#define CM_ERR_UNAVAIL		(-9)	/* a dependency (directory) is down */
#define CM_ERR_TIMEOUT		(-10)
#define CM_ERR_DENIED		(-11)	/* authentication or authorisation */
#define CM_ERR_CONFLICT		(-12)	/* lost a compare-and-swap */
#define CM_ERR_LOCKED		(-13)
#define CM_ERR_EXPIRED		(-14)
#define CM_ERR_DISABLED		(-15)
#define CM_ERR_POLICY		(-16)	/* refused by policy */
#define CM_ERR_UNSUPPORTED	(-17)
#define CM_ERR_COMPONENT_BASE	(-100)

const char *cm_strerror(int r);

/* Must be called once, before threads start. */
int cm_init(void) CM_WUR;

/*
 * The error catalogue: every error a user or a client can see.  Each has a
 * stable code ("SKM-1203"), an HTTP status, the OAuth error where one applies
 * and a short message in English and Japanese.  docs/errors.md is generated
 * from this table (brokerctl errors --markdown) and checked by make test.
 *
 * Ranges: 1xxx HTTP/broker, 2xxx directory, 3xxx tokens, 4xxx OAuth/OIDC,
 * 5xxx MFA and assurance, 6xxx WebAuthn, 7xxx proofing, 8xxx risk/signals.
 */
enum cm_eid {
	CM_E_OK = 0,
	/* 1xxx broker */
	CM_E_NOT_FOUND,
	CM_E_METHOD,
	CM_E_BODY_TOO_LARGE,
	CM_E_HEADERS_TOO_LARGE,
	CM_E_OVERLOADED,
	CM_E_INTERNAL,
	CM_E_NOT_READY,
	CM_E_BAD_REQUEST,
	CM_E_UNSUPPORTED_MEDIA,
	CM_E_SHUTTING_DOWN,
	CM_E_AUDIT_UNAVAILABLE,
	/* 2xxx directory */
	CM_E_DIR_UNAVAILABLE,
	CM_E_DIR_TIMEOUT,
	CM_E_DIR_CONFLICT,
	CM_E_DIR_INVALID_NAME,
	/* 3xxx tokens */
	CM_E_TOK_INVALID,
	CM_E_TOK_EXPIRED,
	CM_E_TOK_SIGNER_UNAVAILABLE,
	/* 4xxx OAuth / OIDC */
	CM_E_OAUTH_INVALID_REQUEST,
	CM_E_OAUTH_INVALID_CLIENT,
	CM_E_OAUTH_INVALID_GRANT,
	CM_E_OAUTH_UNAUTHORIZED_CLIENT,
	CM_E_OAUTH_UNSUPPORTED_GRANT,
	CM_E_OAUTH_INVALID_SCOPE,
	CM_E_OAUTH_INVALID_TOKEN,
	CM_E_LOGIN_FAILED,
	CM_E_ACCOUNT_LOCKED,
	CM_E_ACCOUNT_DISABLED,
	CM_E_PASSWORD_EXPIRED,
	CM_E_PASSWORD_POLICY,
	CM_E_CSRF,
	CM_E_LOGIN_EXPIRED,
	CM_E_RPA_OWNER_INACTIVE,
	CM_E_OAUTH_LOGIN_REQUIRED,
	/* 5xxx MFA and assurance */
	CM_E_NETWORK_DENIED,
	CM_E_MFA_REQUIRED,
	CM_E_HWK_REQUIRED,
	CM_E_OTP_WRONG,
	CM_E_OTP_LOCKED,
	CM_E_OTP_REPLAY,
	CM_E_REAUTH_REQUIRED,
	CM_E_MFA_UNAVAILABLE,
	CM_E_FACTOR_EXISTS,
	CM_E_STEP_UP_REQUIRED,
	/* 6xxx WebAuthn */
	CM_E_WA_UNKNOWN_KEY,
	CM_E_WA_CLONE,
	CM_E_WA_PENDING,
	CM_E_WA_OWN_APPROVAL,
	CM_E_WA_SUSPENDED,
	CM_E_WA_ATTESTATION,
	CM_E_WA_FAILED,
	CM_E_WA_KEY_EXISTS,
	CM_E_WA_AAL2_REQUIRED,
	CM_E_WA_ADMIN_ONLY,
	CM_E_WA_PROOFING,
	CM_E_WA_BOOTSTRAP,
	CM_E_WA_UNAVAILABLE,
	/* 7xxx identity proofing */
	CM_E_PRF_REQUIRED,
	CM_E_PRF_RECOVERY_DENIED,
	CM_E_PRF_OFFICER_ONLY,
	CM_E_PRF_SELF,
	CM_E_PRF_INVALID,
	CM_E_PRF_UNAVAILABLE,
	CM_E_PRF_DEVICE_MISMATCH,
	CM_E_PRF_DEVICE_CERT,
	CM_E_PRF_DUPLICATE,
	/* 8xxx risk and signals */
	CM_E_SET_INVALID,
	CM_E_SET_ISSUER,
	CM_E_SET_AUDIENCE,
	CM_E_SET_KEY,
	CM_E_SET_REPLAY,
	CM_E_MAX
};

struct cm_errdef {
	enum cm_eid	 id;
	const char	*code;		/* "SKM-1001" */
	int		 http_status;
	const char	*oauth_error;	/* NULL where none applies */
	const char	*msg_en;
	const char	*msg_ja;
};

/* Never NULL: an unknown id yields the CM_E_INTERNAL entry. */
const struct cm_errdef *cm_errcat_get(enum cm_eid id);
/* The whole table (n entries, CM_E_OK excluded). */
const struct cm_errdef *cm_errcat_all(size_t *n);

/*
 * Logs: one JSON object per line: ts, level, event, request_id, src, and the
 * fields built from a jansson json_pack() format (e.g. "{s:s, s:i}") or
 * NULL.  String values are truncated to CM_LOG_MAX_VALUE bytes; jansson
 * escapes control characters, so a value can never forge a line.  Values
 * that come from the network and may not be UTF-8 go through
 * cm_log_sanitize() first.  Never pass secrets.
 */
#define CM_LOG_MAX_VALUE	512

enum cm_log_level { CM_LOG_DEBUG, CM_LOG_INFO, CM_LOG_WARN, CM_LOG_ERR };

/* path NULL or "-" logs to stderr.  Reopen on SIGHUP by calling again. */
int	 cm_log_open(const char *path, enum cm_log_level min) CM_WUR;
void	 cm_log_close(void);
int	 cm_log_level_parse(const char *s, enum cm_log_level *out) CM_WUR;
void	 cm_log_emit(enum cm_log_level lvl, const char *file, int line,
	    const char *rid, const char *event, const char *fmt, ...);
/* Copy at most dstsz-1 bytes of src, replacing non-printable ASCII and
 * bytes >= 0x80 by '?'.  Returns dst. */
char	*cm_log_sanitize(char *dst, size_t dstsz, const char *src,
	    size_t srclen);

#define cm_log(lvl, rid, ev, ...) \
	cm_log_emit((lvl), __FILE__, __LINE__, (rid), (ev), __VA_ARGS__)
#define cm_debug(rid, ev, ...)	cm_log(CM_LOG_DEBUG, rid, ev, __VA_ARGS__)
#define cm_info(rid, ev, ...)	cm_log(CM_LOG_INFO, rid, ev, __VA_ARGS__)
#define cm_warn(rid, ev, ...)	cm_log(CM_LOG_WARN, rid, ev, __VA_ARGS__)
#define cm_err(rid, ev, ...)	cm_log(CM_LOG_ERR, rid, ev, __VA_ARGS__)

/*
 * Audit stream: append-only JSON lines for security events (login, factor,
 * token, admin action, policy decision), each written with one write(2) and
 * fsync(2)'ed before cm_audit_emit() returns 0.  A caller must refuse the
 * security-relevant operation when it fails (the record would be lost).
 */
int	 cm_audit_open(const char *path) CM_WUR;
void	 cm_audit_close(void);
int	 cm_audit_emit(const char *rid, const char *event, const char *fmt,
	    ...) CM_WUR;
/*
 * The same record without waiting: it is appended to the open batch and
 * *ticket names that batch.  Whoever releases the result of the operation
 * (the HTTP layer, brk_audit_emit) must hold it back until
 * cm_audit_ticket_done() says the batch is durable, and refuse it if the
 * batch failed.  0, or CM_ERR_UNAVAIL (no stream), CM_ERR_NOMEM.
 */
int	 cm_audit_append(const char *rid, const char *event, uint64_t *ticket,
	    const char *fmt, ...) CM_WUR;
int	 cm_audit_vappend(const char *rid, const char *event, uint64_t *ticket,
	    const char *fmt, va_list ap) CM_WUR;
/* 1 when the ticket's batch is flushed (*result 0, or CM_ERR_IO when it
 * failed or is too old to know), 0 while it is not. */
int	 cm_audit_ticket_done(uint64_t ticket, int *result);
/* fn(arg, done) runs on the flusher thread after every batch, without the
 * audit lock; done is the id of the last batch flushed.  One hook. */
void	 cm_audit_set_hook(void (*fn)(void *, uint64_t), void *arg);

/* Growable buffer with a hard maximum; secret buffers wipe on free/grow. */
struct cm_buf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	int	 secret;
};
void	 cm_buf_init(struct cm_buf *b, size_t max, int secret);
int	 cm_buf_append(struct cm_buf *b, const void *p, size_t n) CM_WUR;
int	 cm_buf_appendf(struct cm_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3))) CM_WUR;
/* NUL-terminate without counting it in len. */
int	 cm_buf_cstr(struct cm_buf *b) CM_WUR;
void	 cm_buf_free(struct cm_buf *b);

/* Secret memory. */
void	 cm_freezero(void *p, size_t n);	/* wipe then free; NULL ok */
void	 cm_strfree(char **s);			/* wipe a C string, free, NULL */
int	 cm_ct_equal(const void *a, const void *b, size_t n);	/* 1 equal */
int	 cm_ct_streq(const char *a, const char *b);		/* 1 equal */

/* Randomness (OpenSSL RAND_bytes). */
int	 cm_random(void *buf, size_t n) CM_WUR;
/* 128-bit random request id as 32 lowercase hex characters + NUL. */
#define CM_RID_LEN	32
int	 cm_random_rid(char out[CM_RID_LEN + 1]) CM_WUR;
/* nbytes random bytes as unpadded base64url in a new string. */
int	 cm_random_b64url(size_t nbytes, char **out) CM_WUR;

/* base64url without padding (RFC 4648 §5, RFC 7515 §2), strict decoding:
 * any character outside the alphabet, padding or non-zero trailing bits is
 * an error.  Results are allocated (NUL-terminated for encode). */
int	 cm_b64url_encode(const uint8_t *in, size_t inlen, char **out) CM_WUR;
int	 cm_b64url_decode(const char *in, size_t inlen, uint8_t **out,
	    size_t *outlen) CM_WUR;
/* Lowercase hex. out must hold 2*inlen+1. */
void	 cm_hex_encode(const uint8_t *in, size_t inlen, char *out);

/* Bounded integer parsing (strtonum style): the whole string must be a
 * decimal number within [min, max]. */
int	 cm_parse_ll(const char *s, long long min, long long max,
	    long long *out) CM_WUR;

/* Monotonic and wall clocks. */
uint64_t cm_now_ms(void);	/* CLOCK_MONOTONIC, milliseconds */
int64_t	 cm_time(void);		/* CLOCK_REALTIME, seconds */

#endif /* CM_H */

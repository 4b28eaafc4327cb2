/* idp/idp_int.h — private to idp/. */
#ifndef IDP_INT_H
#define IDP_INT_H

#include <jansson.h>

#include "idp.h"

struct idp {
	struct brk_app		*app;
	const struct idp_config	*cfg;
	tok_signer		*signer;
	struct dir_pool		*dir;
	char			 issuer[512];
	char			 token_endpoint[600];
	struct idp_mfa		*mfa;
};

/* mfa.c */
struct idp_policy_decision;
int	idp_mfa_init(struct idp *idp) CM_WUR;
void	idp_mfa_free(struct idp *idp);
int	idp_mfa_totp_enabled(struct idp *idp);
int	idp_mfa_wrap(struct idp *idp, const char *uid, const uint8_t *sec,
	    size_t len, char **out) CM_WUR;
int	idp_mfa_unwrap(struct idp *idp, const char *uid, const char *wrapped,
	    uint8_t **sec, size_t *len) CM_WUR;
int	idp_mfa_totp_check(struct idp *idp, struct brk_req *r, const char *uid,
	    const char *code, int *recovery) CM_WUR;
/* Evaluate the policy (logs and audits the decision and report-only
 * results); a failure to evaluate or audit denies. */
int	idp_policy_decide(struct idp *idp, struct brk_req *r,
	    const char *client_id, const json_t *req, const char *uid, int aal,
	    const json_t *amr, int64_t auth_time,
	    struct idp_policy_decision *d);

/* State kinds in the directory (dir_state_*). */
#define IDP_ST_TX	"tx"		/* login transaction */
#define IDP_ST_SESS	"sess"		/* SSO session */
#define IDP_ST_CODE	"code"		/* authorization code */
#define IDP_ST_RT	"rt"		/* refresh token */
#define IDP_ST_JTI	"jti"		/* client assertion jti (replay) */
#define IDP_ST_REVOKED	"revoked"	/* revoked access-token jti */

#define IDP_COOKIE_SESSION	"__Host-skm_session"
#define IDP_COOKIE_TX		"__Host-skm_tx"

/* Pages. */
enum idp_lang { IDP_LANG_JA = 0, IDP_LANG_EN };
enum idp_str {
	IDP_S_SIGNIN, IDP_S_TO_CONTINUE, IDP_S_USERNAME, IDP_S_PASSWORD,
	IDP_S_SUBMIT, IDP_S_OTHER_LANG, IDP_S_ERROR_CODE, IDP_S_REQUEST_ID,
	IDP_S_SIGNED_OUT, IDP_S_SIGNOUT, IDP_S_SIGNOUT_Q, IDP_S_ACCOUNT,
	IDP_S_SIGNED_IN_AS, IDP_S_LEVEL, IDP_S_OTP_TITLE, IDP_S_OTP_LEAD,
	IDP_S_OTP_CODE, IDP_S_VERIFY, IDP_S_FACTORS, IDP_S_TOTP,
	IDP_S_TOTP_SETUP, IDP_S_TOTP_REMOVE, IDP_S_TOTP_ACTIVE, IDP_S_TOTP_NONE,
	IDP_S_TOTP_SCAN, IDP_S_TOTP_KEY, IDP_S_QR_ALT, IDP_S_RECOVERY_TITLE,
	IDP_S_RECOVERY_LEAD, IDP_S_CONTINUE, IDP_S_MAX
};
const char	*idp_str(enum idp_lang lang, enum idp_str id);
enum idp_lang	 idp_lang_pick(const char *explicit_lang, const char *ui_locales,
		    const char *accept_language);

struct idp_login_page {
	enum idp_lang		 lang;
	const char		*client_name;
	const char		*tx;
	const char		*csrf;
	const char		*username;	/* prefill (login_hint) */
	const struct cm_errdef	*error;		/* NULL: none */
	const char		*request_id;
};
int	idp_page_login(const struct idp_login_page *pg, char **html) CM_WUR;
int	idp_page_message(enum idp_lang lang, const char *title,
	    const char *msg, char **html) CM_WUR;
int	idp_page_logout_confirm(enum idp_lang lang, const char *csrf,
	    const char *uri, const char *state, const char *client_id,
	    char **html) CM_WUR;
/* access.c: signature, typ, iss, exp, revocation, live session. */
int	idp_access_verify(struct idp *idp, const char *tok, json_t **claims)
	    CM_WUR;
extern const char idp_stylesheet[];
int	idp_page_otp(enum idp_lang lang, const char *tx, const char *csrf,
	    const struct cm_errdef *error, const char *rid, char **html) CM_WUR;
struct idp_account_page {
	enum idp_lang		 lang;
	const char		*uid;
	const char		*level;		/* acr URI */
	const char		*csrf;
	int			 totp_enabled;	/* a KEK is configured */
	int			 totp_active;
	const struct cm_errdef	*error;
	const char		*request_id;
};
int	idp_page_account(const struct idp_account_page *pg, char **html)
	    CM_WUR;
int	idp_page_totp_enrol(enum idp_lang lang, const char *csrf,
	    const char *svg, const char *key, const char *uri,
	    const struct cm_errdef *error, const char *rid, char **html) CM_WUR;
int	idp_page_recovery(enum idp_lang lang, const char *const *codes,
	    size_t n, char **html) CM_WUR;

/* Handlers (authorize.c, token.c, session.c, ...). */
void	idp_h_authorize(struct brk_app *, struct brk_req *, void *);
void	idp_h_login_get(struct brk_app *, struct brk_req *, void *);
void	idp_h_login_post(struct brk_app *, struct brk_req *, void *);
void	idp_h_login_otp(struct brk_app *, struct brk_req *, void *);
void	idp_h_account(struct brk_app *, struct brk_req *, void *);
void	idp_h_account_totp(struct brk_app *, struct brk_req *, void *);
/* Start a password login for req, or for a local page (ret). */
void	idp_login_start(struct idp *idp, struct brk_req *r, json_t *req,
	    const char *ret, enum idp_lang lang);
void	idp_h_token(struct brk_app *, struct brk_req *, void *);
void	idp_h_userinfo(struct brk_app *, struct brk_req *, void *);
void	idp_h_introspect(struct brk_app *, struct brk_req *, void *);
void	idp_h_revoke(struct brk_app *, struct brk_req *, void *);
void	idp_h_logout(struct brk_app *, struct brk_req *, void *);

/* Helpers (util.c). */
/* SHA-256 of s as unpadded base64url: the directory key of a bearer value. */
int	idp_hash_key(const char *s, char out[44]) CM_WUR;
/* A 256-bit random value, base64url (43 characters). */
int	idp_random_token(char **out) CM_WUR;
/* Append name=value (percent-encoded) to a URL with ? or &. */
int	idp_url_add(struct cm_buf *b, const char *name, const char *value)
	    CM_WUR;
/* 303 See Other to url. */
void	idp_redirect(struct brk_req *r, const char *url);
/* Set-Cookie for a __Host- cookie (Secure; HttpOnly; Path=/; SameSite). */
int	idp_set_cookie(struct brk_req *r, const char *name, const char *value,
	    long max_age, const char *samesite);
/* OAuth JSON error with our catalogue code. */
void	idp_oauth_error(struct brk_req *r, enum cm_eid id, const char *oauth,
	    const char *desc);
/* Space-separated scope list: 1 when every token of want is in allowed. */
int	idp_scope_subset(const char *want, char *const *allowed, size_t n);
int	idp_scope_has(const char *scopes, const char *one);

/* Revocation (token.c). */
size_t	idp_family_revoke(struct idp *idp, const char *rid, const char *family,
	    const char *why);
/* Mark an access-token jti revoked until at least `until`. */
int	idp_jti_revoke(struct idp *idp, const char *jti, int64_t until);

/* Clients (client.c): OAuth clients and RPA accounts behind one view. */
struct idp_client {
	char	*client_id;
	char	*name;
	char	**redirect_uris;
	size_t	 nredirect_uris;
	char	**grant_types;
	size_t	 ngrant_types;
	char	**scopes;
	size_t	 nscopes;
	char	*auth_method;		/* client_secret_basic|private_key_jwt */
	char	*secret_hash;
	char	*jwks;
	char	*backchannel_logout_uri;
	char	*rpa_owner;		/* RPA accounts: accountable owner */
	int	 is_rpa;
	int	 active;
};
int	idp_client_load(struct idp *idp, const char *client_id,
	    struct idp_client **out) CM_WUR;
void	idp_client_free(struct idp_client **c);
int	idp_client_redirect_ok(const struct idp_client *c, const char *uri);
int	idp_client_grant_ok(const struct idp_client *c, const char *grant);
/* Authenticate the client of a token/introspection/revocation request:
 * client_secret_basic or private_key_jwt (RFC 7523, jti replay-checked).
 * On failure the error response is set and non-zero returned. */
int	idp_client_authenticate(struct idp *idp, struct brk_req *r,
	    const struct brk_form *f, struct idp_client **out) CM_WUR;

/* Sessions (session.c). */
struct idp_session {
	char	 key[44];		/* SHA-256 of the cookie value */
	char	*sid;			/* public id (sid claim) */
	char	*uid;
	int64_t	 auth_time;
	int64_t	 created;
	int64_t	 last_seen;
	int	 aal;
	json_t	*amr;			/* array of strings */
	char	*version;		/* for compare-and-swap */
	json_t	*data;			/* the stored object */
};
/* The live session of the request's cookie, or CM_ERR_NOTFOUND. */
int	idp_session_current(struct idp *idp, struct brk_req *r,
	    struct idp_session **out) CM_WUR;
int	idp_session_create(struct idp *idp, struct brk_req *r, const char *uid,
	    int aal, json_t *amr, struct idp_session **out) CM_WUR;
int	idp_session_get(struct idp *idp, const char *key,
	    struct idp_session **out) CM_WUR;
/* Write s->data back (compare-and-swap on s->version). */
int	idp_session_save(struct idp *idp, struct idp_session *s) CM_WUR;
/* Remember that client_id received a code in this session (logout). */
int	idp_session_add_client(struct idp *idp, struct idp_session *s,
	    const char *client_id) CM_WUR;
/* Delete the session; r (may be NULL) gets a cookie-clearing header. */
int	idp_session_end(struct idp *idp, struct brk_req *r,
	    struct idp_session *s) CM_WUR;
void	idp_session_free(struct idp_session **s);
const char *idp_acr_uri(int aal);

#endif /* IDP_INT_H */

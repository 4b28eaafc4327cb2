/* idp/idp_int.h — private to idp/. */
#ifndef IDP_INT_H
#define IDP_INT_H

#include <jansson.h>

#include "idp.h"
#include "fido/fido.h"

struct idp {
	struct brk_app		*app;
	const struct idp_config	*cfg;
	tok_signer		*signer;
	struct dir_pool		*dir;
	char			 issuer[512];
	char			 token_endpoint[600];
	struct idp_mfa		*mfa;
	struct idp_wa		*wa;		/* webauthn.c */
	struct idp_ssf		*ssf;
	struct idp_outbox	*outbox;	/* outbox.c */
	struct idp_client_cache	*clients;	/* client.c; NULL: no cache */
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
/* Evaluate the policy for a login or an authorization (the user's groups
 * and risk are looked up; audits the decision and report-only results);
 * a failure to evaluate or audit denies. */
int	idp_policy_decide(struct idp *idp, struct brk_req *r,
	    const char *client_id, const json_t *req, const char *uid, int aal,
	    const json_t *amr, int64_t auth_time,
	    struct idp_policy_decision *d);
struct idp_policy_ctx;
int	idp_policy_decide_ctx(struct idp *idp, struct brk_req *r,
	    const struct idp_policy_ctx *ctx, const char *uid, int audit_allow,
	    struct idp_policy_decision *d);

/* signals.c: risk (our own signals and the PDPs'), Shared Signals. */
#define IDP_RISK_REASONS_MAX	8
struct idp_risk_view {
	int		 level;		/* enum idp_risk */
	size_t		 nreasons;
	char		 reasons[IDP_RISK_REASONS_MAX][96];
};
/* Current risk of a user and/or a device (either may be NULL). */
int	idp_risk_get(struct idp *idp, const char *uid, const char *device,
	    struct idp_risk_view *out) CM_WUR;
/* Add our own signals of this login (new network, failure bursts). */
int	idp_risk_login_signals(struct idp *idp, struct brk_req *r,
	    const char *uid, struct idp_risk_view *v) CM_WUR;
/* After a successful login: remember the network as known. */
void	idp_risk_login_ok(struct idp *idp, struct brk_req *r, const char *uid);
/* Raise a subject's risk ("user:<uid>" or "device:<id>") for ttl s. */
int	idp_risk_raise(struct idp *idp, const char *rid, const char *subject,
	    int level, const char *signal, const char *source, int64_t ttl)
	    CM_WUR;
/* Emit a CAEP event (signed SET) to the configured receivers. */
void	idp_ssf_emit(struct idp *idp, const char *rid, const char *event,
	    json_t *subject, json_t *fields);
int	idp_ssf_init(struct idp *idp) CM_WUR;
int	idp_ssf_reload(struct idp *idp) CM_WUR;
void	idp_ssf_free(struct idp *idp);
void	idp_h_ssf_events(struct brk_app *, struct brk_req *, void *);
void	idp_h_ssf_config(struct brk_app *, struct brk_req *, void *);
void	idp_h_forward_auth(struct brk_app *, struct brk_req *, void *);
/* forward.c: devices.  idp_device_lookup returns an enum
 * idp_device_state (compliance); *proofed -1 no device, 0 no, 1 yes. */
int	idp_device_lookup(struct idp *idp, const char *id, int *proofed);
int	idp_device_of_request(struct idp *idp, struct brk_req *r, char *id,
	    size_t idsz);
/* End every session and refresh family of uid (revocation). */
size_t	idp_revoke_user(struct idp *idp, const char *rid, const char *uid,
	    const char *why);

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
	IDP_S_RECOVERY_LEAD, IDP_S_CONTINUE,
	/* WebAuthn (idp/webauthn.c) */
	IDP_S_WA_PASSKEY_SIGNIN, IDP_S_WA_TITLE, IDP_S_WA_LEAD,
	IDP_S_WA_HW_LEAD, IDP_S_WA_USE, IDP_S_WA_KEYS, IDP_S_WA_NONE,
	IDP_S_WA_ADD_PASSKEY, IDP_S_WA_ADD_KEY, IDP_S_WA_REMOVE,
	IDP_S_WA_LABEL, IDP_S_WA_CREATED, IDP_S_WA_LAST_USED, IDP_S_WA_STATE,
	IDP_S_WA_PENDING, IDP_S_WA_ACTIVE, IDP_S_WA_SUSPENDED, IDP_S_WA_NOJS,
	IDP_S_WA_APPROVALS, IDP_S_WA_APPROVE, IDP_S_WA_APPROVALS_NONE,
	IDP_S_WA_OWNER, IDP_S_WA_CODE, IDP_S_WA_APPROVED, IDP_S_WA_NEVER,
	IDP_S_MAX
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
	const char		*wa_section;	/* HTML (webauthn.c) or NULL */
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
/* Building blocks for pages rendered elsewhere (webauthn.c): the card
 * with its heading and error box, escaped text, a hidden field, and the
 * end (sets *html, or frees b and fails when r or the buffer failed). */
int	idp_page_begin(struct cm_buf *b, enum idp_lang lang, const char *title,
	    const struct cm_errdef *error, const char *rid) CM_WUR;
int	idp_page_text(struct cm_buf *b, const char *s) CM_WUR;
int	idp_page_hidden(struct cm_buf *b, const char *name,
	    const char *value) CM_WUR;
int	idp_page_end(struct cm_buf *b, int r, char **html) CM_WUR;

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
/* 1 when the amr array names this method. */
int	idp_amr_has(const json_t *amr, const char *name);
/* CSP allowing a form on this page to end at the client's origin. */
int	idp_csp_form_target(struct brk_req *r, const char *redirect_uri);
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
int	idp_client_cache_init(struct idp *idp) CM_WUR;
void	idp_client_cache_free(struct idp *idp);
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
/* A new session for uid at aal/amr (its cookie set on r); client_id (may
 * be NULL) is recorded as its first client in the same write.  from (may
 * be NULL) is the live session of uid that this login steps up: the new
 * one keeps its sid and clients (the caller then ends from).  The caller
 * applies idp_session_limit() once the login is final. */
int	idp_session_create(struct idp *idp, struct brk_req *r, const char *uid,
	    int aal, json_t *amr, const char *client_id,
	    const struct idp_session *from, struct idp_session **out) CM_WUR;
int	idp_session_get(struct idp *idp, const char *key,
	    struct idp_session **out) CM_WUR;
/* Write s->data back (compare-and-swap on s->version). */
int	idp_session_save(struct idp *idp, struct idp_session *s) CM_WUR;
/* Remember that client_id received a code in this session (logout). */
int	idp_session_add_client(struct idp *idp, struct idp_session *s,
	    const char *client_id) CM_WUR;
/* Past max_sessions_per_user live sessions of uid, end the oldest ones that
 * are older than keep (the key of the session a login just made); at most
 * IDP_EVICT_PER_LOGIN (idp/session.c). */
void	idp_session_limit(struct idp *idp, struct brk_req *r, const char *uid,
	    const char *keep);
/* Deliveries off the request thread (outbox.c): a back-channel logout
 * token (body: the form; event: its sid, and jti, for the audit when not
 * delivered) or a SET (body: the JWS; event and jti for the signal.sent
 * audit).  Copies everything; 0 queued, CM_ERR_RANGE when the
 * queue is full (logged, and audited for a SET), CM_ERR_NOMEM (logged):
 * the caller has nothing more to do.  _free
 * drains what is queued (bounded) and stops the workers. */
enum idp_out_kind { IDP_OUT_BCL, IDP_OUT_SET };
int	idp_outbox_init(struct idp *idp) CM_WUR;
void	idp_outbox_free(struct idp *idp);
int	idp_outbox_put(struct idp *idp, const char *rid, enum idp_out_kind kind,
	    const char *url, const char *body, const char *event,
	    const char *jti);
/* A session has ended (logout, or evicted past max_sessions_per_user):
 * back-channel logout to its clients, CAEP session-revoked (idp/logout.c).
 * The caller has deleted it and audited why. */
void	idp_session_ended(struct idp *idp, struct brk_req *r,
	    struct idp_session *s);
/* The stepped-up session s takes over from old (same sid): a client that
 * joined old since it was read is added to s, then old's entry goes.
 * CM_ERR_NOTFOUND when old has ended meanwhile and no other step-up took
 * it over (the caller ends s). */
int	idp_session_replace(struct idp *idp, const struct idp_session *old,
	    struct idp_session *s) CM_WUR;
/* Whether the SSO session a grant is bound to lives: by its key, or, once
 * a step-up has replaced it (new key, same sid, same uid), by sid.  0 when
 * it lives (*live, if live is not NULL: the live key, malloc'd, when it is
 * not key), CM_ERR_NOTFOUND when it has ended, another error when the
 * directory did not answer. */
int	idp_session_alive(struct idp *idp, const char *key, const char *sid,
	    const char *uid, char **live) CM_WUR;
/* A logout: the session and every other entry of its sid and user (a
 * step-up racing the logout), then as idp_session_end. */
int	idp_session_end_sid(struct idp *idp, struct brk_req *r,
	    struct idp_session *s) CM_WUR;
/* Delete the session; r (may be NULL) gets a cookie-clearing header. */
int	idp_session_end(struct idp *idp, struct brk_req *r,
	    struct idp_session *s) CM_WUR;
void	idp_session_free(struct idp_session **s);
const char *idp_acr_uri(int aal);

/* WebAuthn (webauthn.c, wa_account.c, wa_admin.c; docs/webauthn.md). */
#define IDP_ST_WA	"wa"		/* WebAuthn challenge, bootstrap code */
#define IDP_WA_PROOFING_LEVEL	"ial2"	/* administrators' keys */
const char *idp_wa_rp_id(struct idp *idp);
int	idp_wa_reg_verify(struct idp *idp, wa_challenge_t *ch,
	    const char *session, const struct wa_reg_req *req, wa_cred_t **out)
	    CM_WUR;
/* State key "purpose:bound" hashed; take (read + delete) and put. */
int	idp_wa_state_key(const char *purpose, const char *bound, char out[44])
	    CM_WUR;
int	idp_wa_take(struct idp *idp, const char *key, json_t **out) CM_WUR;
int	idp_wa_put(struct idp *idp, const char *key, const char *subject,
	    json_t *data, int64_t expires) CM_WUR;
/* Suspend a credential (audited); end_sessions: its owner's too. */
int	idp_wa_suspend(struct idp *idp, const char *rid, struct dir_wa_cred *c,
	    const char *reason, int end_sessions) CM_WUR;
enum cm_eid idp_wa_error(int r);
int	idp_wa_active(const struct dir_wa_cred *c, int hw);
int	idp_wa_user_handle(struct idp *idp, const char *uid, uint8_t *out,
	    size_t *len) CM_WUR;
int	idp_wa_b64_member(const json_t *o, const char *name, size_t max,
	    uint8_t **out, size_t *len) CM_WUR;
void	idp_wa_send_html(struct brk_req *r, int status, char *html);
/* The account page's key list and buttons (HTML, free()). */
int	idp_wa_account_section(struct idp *idp, const struct idp_session *s,
	    enum idp_lang lang, char **html) CM_WUR;
/* Any active trusted hardware key of an administrator (bootstrap over)? */
int	idp_wa_admin_key_exists(struct idp *idp);
int	idp_wa_init(struct idp *idp) CM_WUR;
void	idp_wa_free(struct idp *idp);
/* SIGHUP: a new MDS BLOB suspends the keys of compromised models. */
int	idp_wa_reload(struct idp *idp);
/* Active credentials of uid (hw: trusted hardware keys only); -1 on
 * directory trouble. */
int	idp_wa_count(struct idp *idp, const char *uid, int hw);
/* A "webauthn" login stage (like otp_start; hw: AAL3 hardware key). */
void	idp_wa_stage_start(struct idp *idp, struct brk_req *r,
	    const json_t *base, const char *uid, int aal, const json_t *amr,
	    int64_t first_auth, const char *upgrade, int hw, enum idp_lang lang);
/* Administrators (admin_group) need AAL3 with a hardware key for
 * everything: raises d to a step-up when aal/amr fall short (audited).
 * Non-zero only when the audit or the directory fails. */
int	idp_wa_admin_floor(struct idp *idp, struct brk_req *r, const char *uid,
	    const char *client_id, int aal, const json_t *amr,
	    struct idp_policy_decision *d) CM_WUR;
/* 1 member of admin_group, 0 not, negative on directory trouble. */
int	idp_is_admin(struct idp *idp, const char *uid);
/* 0 when uid has a valid, unexpired identity proofing record at `level`
 * ("ial2") or higher (idp/proofing.c); CM_ERR_NOTFOUND when not,
 * another error on directory trouble. */
int	idp_proofing_ok(struct idp *idp, const char *uid, const char *level);
void	idp_h_wa_register_options(struct brk_app *, struct brk_req *, void *);
void	idp_h_wa_login_options(struct brk_app *, struct brk_req *, void *);
void	idp_h_login_webauthn(struct brk_app *, struct brk_req *, void *);
void	idp_h_account_webauthn(struct brk_app *, struct brk_req *, void *);
void	idp_h_admin_approvals(struct brk_app *, struct brk_req *, void *);
void	idp_h_wa_js(struct brk_app *, struct brk_req *, void *);
/* authorize.c helpers shared with the WebAuthn stage. */
void	idp_login_finish(struct idp *idp, struct brk_req *r, const char *tx,
	    json_t *txo, const char *uid, int aal, json_t *amr,
	    const char *method);
void	idp_tx_start(struct idp *idp, struct brk_req *r, json_t *txo,
	    const char *path, enum idp_lang lang);
int	idp_tx_load(struct idp *idp, struct brk_req *r, const char *tx,
	    const char *stage, json_t **out) CM_WUR;
int	idp_tx_form(struct idp *idp, struct brk_req *r, struct brk_form *f,
	    const char *stage, const char **tx, json_t **txo) CM_WUR;
enum idp_lang idp_tx_lang(struct brk_req *r, const json_t *txo,
	    const char *explicit_lang);
const char *idp_tx_client(const json_t *txo);

/* Identity proofing (proofing.c, recovery_flow.c; docs/proofing.md). */
#define IDP_ST_VC	"vc"		/* userinfo verified_claims request */
/* The level an account must be proofed at (admins: proofing_admin_ial);
 * negative on directory trouble. */
int	idp_proofing_required(struct idp *idp, const char *uid);
/* The current IAL of uid (0 when none or on trouble), for tokens. */
int	idp_proofing_ial(struct idp *idp, const char *uid);
/* Enrolment of an authenticator beyond the first needs a valid record at
 * the account's level made within proofing_recovery_window; audits a
 * refusal.  CM_E_OK, CM_E_PRF_REQUIRED, CM_E_DIR_UNAVAILABLE or
 * CM_E_AUDIT_UNAVAILABLE. */
enum cm_eid idp_proofing_enrol_check(struct idp *idp, struct brk_req *r,
	    const char *uid, const char *method);
/* May this session act as a proofing officer for subject (NULL: no
 * subject yet)?  Pure: member of proofing_officer_group, AAL3 with a
 * hardware key (amr hwk), never the subject.  CM_E_OK,
 * CM_E_PRF_OFFICER_ONLY, CM_E_HWK_REQUIRED or CM_E_PRF_SELF. */
enum cm_eid idp_proofing_officer_ok(int member, int aal, int hwk,
	    const char *officer, const char *subject);
/* verified_claims for the claims-request member (id_token/userinfo
 * object) when it asks for them and client_id is allowed
 * (verified_claims_clients); *out NULL when nothing is to be sent. */
int	idp_proofing_vc(struct idp *idp, const char *uid, const char *client_id,
	    const json_t *member, json_t **out) CM_WUR;
/* Remember the userinfo member's verified_claims request for the access
 * token jti (until expires); nothing when it asks for none. */
int	idp_proofing_vc_remember(struct idp *idp, const char *client_id,
	    const char *jti, const json_t *member, int64_t expires) CM_WUR;
int	idp_proofing_vc_userinfo(struct idp *idp, const char *uid,
	    const char *client_id, const char *jti, json_t **out) CM_WUR;
void	idp_h_proofing(struct brk_app *, struct brk_req *, void *);
void	idp_h_proofing_device(struct brk_app *, struct brk_req *, void *);
void	idp_h_recovery(struct brk_app *, struct brk_req *, void *);

#endif /* IDP_INT_H */

/*
 * idp/authorize.c — the authorization endpoint and the login pages.
 *
 *   GET|POST /authorize  validate the request (OIDC Core §3.1.2.1, PKCE
 *                        S256 required); reuse a live SSO session, else
 *                        record a login transaction and 303 to /login
 *   GET  /login?tx=      the login page of a transaction
 *   POST /login          password check, session, code, 303 to the client
 *
 * Errors before client_id and redirect_uri are validated are shown to the
 * user as a page and never redirected (RFC 6749 §4.1.2.1); after that they
 * go back to the client with error, state and iss (RFC 9207).
 *
 * A login transaction ("tx" state, login_timeout) holds the validated
 * request (or, for the account pages, a local return path), a CSRF token
 * and the stage reached.  The browser carries its id both in the
 * __Host-skm_tx cookie and in the form; every POST requires both to agree
 * and the CSRF token to match (constant time).  Stages:
 *
 *   password   GET/POST /login      the first factor
 *   otp        GET/POST /login/otp  a second factor (TOTP or recovery
 *                                   code), after the password or as a
 *                                   step-up of a live session
 *
 * After the password the assurance policy decides (idp/assurance.h): a
 * user with an active TOTP factor always gives it (AAL2); a rule or the
 * client's acr_values may require it; a network rule may deny.  A session
 * below what the request needs is stepped up, not logged out; the stepped-
 * up session has a new cookie and keeps the sid and clients, the entry
 * under the old cookie ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idp_int.h"
#include "assurance.h"

/* Request parameters kept in the transaction and the code. */
static const char *const kept[] = {
	"client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "max_age", "acr_values", "claims", "ui_locales",
	"login_hint", "prompt", NULL
};

struct areq {
	struct brk_req		*r;
	struct brk_form		*form;		/* POST */
	json_t			*req;		/* validated parameters */
	struct idp_client	*client;
};

/* One parameter from the query (GET) or the form (POST). */
static int
param(struct areq *a, const char *name, const char **out)
{
	int rc;

	if (a->form != NULL)
		rc = brk_form_get(a->form, name, out);
	else
		rc = brk_req_query(a->r, name, out);
	if (rc == 0 && strlen(*out) > IDP_PARAM_MAX)
		rc = CM_ERR_RANGE;
	if (rc == 0 && !brk_utf8_valid((const uint8_t *)*out, strlen(*out)))
		rc = CM_ERR_INVAL;
	return rc;
}

static void
show_error(struct brk_req *r, enum cm_eid id, const char *why)
{
	cm_info(brk_req_id(r), "authorize.refused", "{s:s}", "reason", why);
	brk_resp_error(r, id, why);
}

/* Error back to the client (redirect URI already validated). */
static void
redirect_error(struct idp *idp, struct areq *a, const char *error,
    const char *desc)
{
	const char *uri = json_string_value(json_object_get(a->req,
	    "redirect_uri"));
	const char *state = json_string_value(json_object_get(a->req,
	    "state"));
	struct cm_buf b;

	cm_info(brk_req_id(a->r), "authorize.error", "{s:s, s:s, s:s}",
	    "client_id", a->client->client_id, "error", error,
	    "description", desc);
	cm_buf_init(&b, 8192, 0);
	if (cm_buf_append(&b, uri, strlen(uri)) != 0 ||
	    idp_url_add(&b, "error", error) != 0 ||
	    idp_url_add(&b, "error_description", desc) != 0 ||
	    (state != NULL && idp_url_add(&b, "state", state) != 0) ||
	    idp_url_add(&b, "iss", idp->issuer) != 0 ||
	    cm_buf_cstr(&b) != 0) {
		cm_buf_free(&b);
		brk_resp_error(a->r, CM_E_INTERNAL, NULL);
		return;
	}
	idp_redirect(a->r, (char *)b.data);
	cm_buf_free(&b);
}

/* Validate client_id and redirect_uri; on failure the page is set. */
static int
check_client(struct idp *idp, struct areq *a)
{
	const char *cid = NULL, *uri = NULL;
	int rc;

	if (param(a, "client_id", &cid) != 0) {
		show_error(a->r, CM_E_OAUTH_INVALID_REQUEST,
		    "client_id missing, repeated or malformed");
		return -1;
	}
	if ((rc = idp_client_load(idp, cid, &a->client)) != 0) {
		if (rc == CM_ERR_UNAVAIL || rc == CM_ERR_TIMEOUT)
			show_error(a->r, CM_E_DIR_UNAVAILABLE, "directory");
		else
			show_error(a->r, CM_E_OAUTH_INVALID_CLIENT,
			    "unknown client");
		return -1;
	}
	if (!a->client->active || a->client->is_rpa) {
		show_error(a->r, CM_E_OAUTH_UNAUTHORIZED_CLIENT,
		    "client disabled or not a relying party");
		return -1;
	}
	if (param(a, "redirect_uri", &uri) != 0 ||
	    !idp_client_redirect_ok(a->client, uri)) {
		show_error(a->r, CM_E_OAUTH_INVALID_REQUEST,
		    "redirect_uri missing or not registered for this client");
		return -1;
	}
	/* from here on, errors are redirected to this (validated) URI */
	if ((a->req = json_pack("{s:s, s:s}", "client_id", cid,
	    "redirect_uri", uri)) == NULL) {
		brk_resp_error(a->r, CM_E_INTERNAL, NULL);
		return -1;
	}
	return 0;
}

/* Validate everything else; fills a->req.  Returns 0, or -1 with the
 * error redirect set. */
static int
check_request(struct idp *idp, struct areq *a)
{
	const char *v = NULL, *scope = NULL;
	const char *const *k;
	long long n;
	int rc;

	for (k = kept; *k != NULL; k++) {
		rc = param(a, *k, &v);
		if (rc == CM_ERR_NOTFOUND)
			continue;
		if (rc != 0) {
			redirect_error(idp, a, "invalid_request",
			    "a parameter is repeated or malformed");
			return -1;
		}
		json_object_set_new(a->req, *k, json_string(v));
	}
	if (param(a, "request", &v) != CM_ERR_NOTFOUND) {
		redirect_error(idp, a, "request_not_supported",
		    "request objects are not supported");
		return -1;
	}
	if (param(a, "request_uri", &v) != CM_ERR_NOTFOUND) {
		redirect_error(idp, a, "request_uri_not_supported",
		    "request_uri is not supported");
		return -1;
	}
	if (param(a, "response_type", &v) != 0) {
		redirect_error(idp, a, "invalid_request",
		    "response_type is required");
		return -1;
	}
	if (strcmp(v, "code") != 0) {
		redirect_error(idp, a, "unsupported_response_type",
		    "only response_type=code is supported");
		return -1;
	}
	if (param(a, "response_mode", &v) == 0 && strcmp(v, "query") != 0) {
		redirect_error(idp, a, "invalid_request",
		    "only response_mode=query is supported");
		return -1;
	}
	if (!idp_client_grant_ok(a->client, "authorization_code")) {
		redirect_error(idp, a, "unauthorized_client",
		    "this client may not use the authorization code grant");
		return -1;
	}
	scope = json_string_value(json_object_get(a->req, "scope"));
	if (scope == NULL || !idp_scope_has(scope, "openid")) {
		redirect_error(idp, a, "invalid_scope",
		    "scope must include openid");
		return -1;
	}
	if (!idp_scope_subset(scope, a->client->scopes, a->client->nscopes)) {
		redirect_error(idp, a, "invalid_scope",
		    "a requested scope is not allowed for this client");
		return -1;
	}
	/* PKCE: S256 required for every client (RFC 7636, RFC 9700) */
	v = json_string_value(json_object_get(a->req, "code_challenge"));
	if (v == NULL) {
		redirect_error(idp, a, "invalid_request",
		    "code_challenge is required (PKCE)");
		return -1;
	}
	if (param(a, "code_challenge_method", &v) != 0 ||
	    strcmp(v, "S256") != 0) {
		redirect_error(idp, a, "invalid_request",
		    "code_challenge_method must be S256");
		return -1;
	}
	v = json_string_value(json_object_get(a->req, "code_challenge"));
	if (strlen(v) != 43 || !idp_pkce_valid(v)) {
		redirect_error(idp, a, "invalid_request",
		    "code_challenge is malformed");
		return -1;
	}
	if ((v = json_string_value(json_object_get(a->req, "max_age"))) !=
	    NULL) {
		if (cm_parse_ll(v, 0, 100L * 365 * 86400, &n) != 0) {
			redirect_error(idp, a, "invalid_request",
			    "max_age must be a non-negative integer");
			return -1;
		}
		json_object_set_new(a->req, "max_age", json_integer(n));
	}
	if ((v = json_string_value(json_object_get(a->req, "prompt"))) !=
	    NULL) {
		int none = idp_scope_has(v, "none");

		if (none && strcmp(v, "none") != 0) {
			redirect_error(idp, a, "invalid_request",
			    "prompt=none cannot be combined");
			return -1;
		}
	}
	if ((v = json_string_value(json_object_get(a->req, "claims"))) !=
	    NULL) {
		json_error_t jerr;
		json_t *c = json_loads(v, JSON_REJECT_DUPLICATES, &jerr);

		if (!json_is_object(c)) {
			json_decref(c);
			redirect_error(idp, a, "invalid_request",
			    "claims is not a JSON object");
			return -1;
		}
		json_object_set_new(a->req, "claims", c);
	}
	return 0;
}

/* Does the live session satisfy the request (prompt, max_age)? */
static int
session_fits(const json_t *req, const struct idp_session *s, int64_t now)
{
	const char *prompt = json_string_value(json_object_get(req, "prompt"));
	json_t *ma = json_object_get(req, "max_age");

	if (prompt != NULL && idp_scope_has(prompt, "login"))
		return 0;
	if (json_is_integer(ma) && now - s->auth_time > json_integer_value(ma))
		return 0;
	return 1;
}

static enum cm_eid
dir_error(int rc)
{
	return rc == CM_ERR_TIMEOUT ? CM_E_DIR_TIMEOUT :
	    rc == CM_ERR_UNAVAIL ? CM_E_DIR_UNAVAILABLE : CM_E_INTERNAL;
}

/*
 * Issue an authorization code for the request in this session and send the
 * browser back to the client.
 */
static void
issue_code(struct idp *idp, struct brk_req *r, json_t *req,
    struct idp_session *s, const char *client_id)
{
	const char *uri = json_string_value(json_object_get(req,
	    "redirect_uri"));
	const char *state = json_string_value(json_object_get(req, "state"));
	char *code = NULL, *data = NULL, key[44];
	struct cm_buf b;
	json_t *o;
	int64_t now = cm_time();
	int rc;

	cm_buf_init(&b, 8192, 0);
	o = json_pack("{s:O, s:s, s:s, s:s, s:I, s:i, s:O, s:b}",
	    "req", req, "uid", s->uid, "sid", s->sid, "session", s->key,
	    "auth_time", (json_int_t)s->auth_time, "aal", s->aal,
	    "amr", s->amr, "used", 0);
	if (o != NULL && json_object_get(s->data, "device") != NULL) {
		json_object_set(o, "device", json_object_get(s->data,
		    "device"));
		json_object_set(o, "device_proofed", json_object_get(s->data,
		    "device_proofed"));
	}
	if (o == NULL || (data = json_dumps(o, JSON_COMPACT)) == NULL ||
	    idp_random_token(&code) != 0 || idp_hash_key(code, key) != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	if ((rc = dir_state_add(idp->dir, IDP_ST_CODE, key, s->uid, s->sid,
	    data, now + idp->cfg->code_ttl)) != 0) {
		brk_resp_error(r, dir_error(rc), NULL);
		goto out;
	}
	if (idp_session_add_client(idp, s, client_id) != 0)
		cm_warn(brk_req_id(r), "session.client_not_recorded",
		    "{s:s}", "client_id", client_id);
	if (cm_buf_append(&b, uri, strlen(uri)) != 0 ||
	    idp_url_add(&b, "code", code) != 0 ||
	    (state != NULL && idp_url_add(&b, "state", state) != 0) ||
	    idp_url_add(&b, "iss", idp->issuer) != 0 || cm_buf_cstr(&b) != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	if (cm_audit_emit(brk_req_id(r), "code.issued", "{s:s, s:s, s:s, s:i}",
	    "client_id", client_id, "uid", s->uid, "sid", s->sid,
	    "aal", s->aal) != 0) {
		if (dir_state_delete(idp->dir, IDP_ST_CODE, key) != 0)
			cm_err(brk_req_id(r), "code.delete_failed", NULL);
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		goto out;
	}
	idp_redirect(r, (char *)b.data);
 out:
	cm_buf_free(&b);
	cm_strfree(&code);
	free(data);
	json_decref(o);
}

static enum idp_lang
req_lang(struct brk_req *r, const json_t *req, const char *explicit_lang)
{
	return idp_lang_pick(explicit_lang,
	    json_string_value(json_object_get(req, "ui_locales")),
	    brk_req_header(r, "Accept-Language"));
}

/*
 * Store a new login transaction (txo gets a fresh CSRF token), set its
 * cookie and 303 to path?tx=...&lang=...  Consumes nothing.
 */
static void
tx_start(struct idp *idp, struct brk_req *r, json_t *txo, const char *path,
    enum idp_lang lang)
{
	char *tx = NULL, *csrf = NULL, *data = NULL;
	struct cm_buf b;
	int rc;

	cm_buf_init(&b, 1024, 0);
	if (idp_random_token(&tx) != 0 || idp_random_token(&csrf) != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	json_object_set_new(txo, "csrf", json_string(csrf));
	json_object_set_new(txo, "lang", json_string(lang == IDP_LANG_EN ?
	    "en" : "ja"));
	if ((data = json_dumps(txo, JSON_COMPACT)) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	if ((rc = dir_state_add(idp->dir, IDP_ST_TX, tx, NULL, NULL, data,
	    cm_time() + idp->cfg->login_ttl)) != 0) {
		brk_resp_error(r, dir_error(rc), NULL);
		goto out;
	}
	if (idp_set_cookie(r, IDP_COOKIE_TX, tx, (long)idp->cfg->login_ttl,
	    "Lax") != 0 || cm_buf_append(&b, path, strlen(path)) != 0 ||
	    idp_url_add(&b, "tx", tx) != 0 ||
	    idp_url_add(&b, "lang", lang == IDP_LANG_EN ? "en" : "ja") != 0 ||
	    cm_buf_cstr(&b) != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	idp_redirect(r, (char *)b.data);
 out:
	cm_buf_free(&b);
	free(tx);
	cm_strfree(&csrf);
	free(data);
}

/* A password login for an authorization request (req) or for a local page
 * (ret, e.g. "/account"). */
void
idp_login_start(struct idp *idp, struct brk_req *r, json_t *req,
    const char *ret, enum idp_lang lang)
{
	json_t *txo = json_pack("{s:s}", "stage", "password");

	if (txo == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	if (req != NULL)
		json_object_set(txo, "req", req);
	else
		json_object_set_new(txo, "return", json_string(ret));
	tx_start(idp, r, txo, "/login", lang);
	json_decref(txo);
}

/* A second-factor stage for uid, who has proved aal/amr so far; upgrade is
 * the key of the session being stepped up (NULL after a password). */
static void
otp_start(struct idp *idp, struct brk_req *r, const json_t *base,
    const char *uid, int aal, const json_t *amr, int64_t first_auth,
    const char *upgrade, enum idp_lang lang)
{
	json_t *txo = json_pack("{s:s, s:s, s:i, s:O, s:I}", "stage", "otp",
	    "uid", uid, "aal", aal, "amr", amr, "first_auth",
	    (json_int_t)first_auth);

	if (txo == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	if (json_object_get(base, "req") != NULL)
		json_object_set(txo, "req", json_object_get(base, "req"));
	if (json_object_get(base, "return") != NULL)
		json_object_set(txo, "return", json_object_get(base, "return"));
	if (upgrade != NULL)
		json_object_set_new(txo, "upgrade", json_string(upgrade));
	tx_start(idp, r, txo, "/login/otp", lang);
	json_decref(txo);
}

/* The transaction is spent; its cookie goes too (tx is NULL when the
 * password stage already deleted it). */
static void
tx_spend(struct idp *idp, struct brk_req *r, const char *tx)
{
	int rc;

	if (tx != NULL &&
	    (rc = dir_state_delete(idp->dir, IDP_ST_TX, tx)) != 0 &&
	    rc != CM_ERR_NOTFOUND)
		cm_warn(brk_req_id(r), "login.tx_delete_failed", NULL);
	(void)idp_set_cookie(r, IDP_COOKIE_TX, "", 0, "Lax");
}

/* The session a step-up raised ended meanwhile (a logout, a revocation):
 * the new session s is over too, so its sid and clients do not come
 * back. */
static void
step_up_ended(struct idp *idp, struct brk_req *r, const char *uid,
    struct idp_session *s)
{
	if (cm_audit_emit(brk_req_id(r), "session.step_up_ended",
	    "{s:s, s:s}", "uid", uid, "sid", s->sid) != 0)
		cm_err(brk_req_id(r), "audit.write_failed", NULL);
	if (idp_session_end(idp, r, s) != 0)
		cm_err(brk_req_id(r), "session.end_failed", NULL);
	idp_session_ended(idp, r, s);
}

/* Login complete: (new) session, audit, then back to the client with a
 * code, or to the local page. */
static void
finish_login(struct idp *idp, struct brk_req *r, const char *tx,
    json_t *txo, const char *uid, int aal, json_t *amr, const char *method)
{
	struct idp_session *s = NULL, *old = NULL;
	json_t *req = json_object_get(txo, "req");
	const char *cid = json_string_value(json_object_get(req, "client_id"));
	const char *upgrade = json_string_value(json_object_get(txo,
	    "upgrade"));
	const char *ret = json_string_value(json_object_get(txo, "return"));
	int rc;

	/* the client goes into the session's first write: issue_code's
	 * idp_session_add_client then finds it there and writes nothing.  If
	 * the code's write then fails, the session still lists the client,
	 * and its back-channel logout names a sid the client never got: the
	 * client finds no session of that sid and ends nothing */
	/* a step-up raises the session it started from: the new session
	 * (new cookie) keeps its sid and clients, so their tokens and their
	 * back-channel logout go on with it.  Gone meanwhile: a new sid */
	if (upgrade != NULL && idp_session_get(idp, upgrade, &old) != 0)
		old = NULL;
	if ((rc = idp_session_create(idp, r, uid, aal, amr, cid, old,
	    &s)) != 0) {
		brk_resp_error(r, dir_error(rc), NULL);
		goto out;
	}
	if (cm_audit_emit(brk_req_id(r), "login.success",
	    "{s:s, s:s, s:s?, s:s, s:i, s:O, s:b}", "uid", uid, "method",
	    method, "client_id", cid, "sid", s->sid, "aal", aal, "amr", amr,
	    "step_up", upgrade != NULL) != 0) {
		if (idp_session_end(idp, r, s) != 0)
			cm_err(brk_req_id(r), "session.end_failed", NULL);
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		goto out;
	}
	idp_risk_login_ok(idp, r, uid);
	/* the stepped-up session replaces the old one: old cookie gone.  If
	 * the old one ended meanwhile (a logout, a revocation), the session
	 * this login raised is over, and so is the new one: its sid and
	 * clients must not come back */
	if (old != NULL && (rc = idp_session_replace(idp, old, s)) != 0) {
		if (rc == CM_ERR_NOTFOUND) {
			step_up_ended(idp, r, uid, s);
			tx_spend(idp, r, tx);	/* spent all the same */
			brk_resp_error(r, CM_E_LOGIN_EXPIRED, NULL);
			goto out;
		}
		cm_warn(brk_req_id(r), "session.end_failed", NULL);
	}
	/* the login is final (audited, a replaced session gone): past the
	 * user's session limit, the oldest end */
	idp_session_limit(idp, r, uid, s->key);
	tx_spend(idp, r, tx);
	if (req != NULL)
		issue_code(idp, r, req, s, cid);
	else
		idp_redirect(r, ret != NULL && ret[0] == '/' && ret[1] != '/' ?
		    ret : "/account");
 out:
	idp_session_free(&old);
	idp_session_free(&s);
}

/* The client of a transaction, for the policy ("" for account pages). */
static const char *
tx_client(const json_t *txo)
{
	const char *c = json_string_value(json_object_get(json_object_get(txo,
	    "req"), "client_id"));

	return c != NULL ? c : "sekimori-account";
}

/* Is there an active TOTP factor for uid?  -1 on directory trouble. */
static int
has_totp(struct idp *idp, const char *uid)
{
	struct dir_totp *t = NULL;
	int rc, on;

	rc = dir_totp_get(idp->dir, uid, &t);
	if (rc == CM_ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return -1;
	on = t->state == DIR_AUTHN_ACTIVE;
	dir_totp_free(&t);
	return on;
}

/* Refuse the transaction with an error page (and the reason audited). */
static void
refuse(struct brk_req *r, enum cm_eid id, const char *why)
{
	cm_info(brk_req_id(r), "login.refused", "{s:s}", "reason", why);
	brk_resp_error(r, id, NULL);
}

/*
 * The password is right: decide what else is needed.  The user's groups,
 * the source network and the client go into the policy; the result names
 * the rule in the audit stream.  The caller has deleted the password
 * stage's transaction; a further stage starts its own.
 */
static void
after_password(struct idp *idp, struct brk_req *r, json_t *txo,
    const char *uid, enum idp_lang lang)
{
	struct idp_policy_decision d;
	json_t *amr = json_pack("[s]", "pwd");
	int64_t now = cm_time();
	int totp, need, wa = 0, hwk = 0;

	if (amr == NULL || idp_policy_decide(idp, r, tx_client(txo),
	    json_object_get(txo, "req"), uid, IDP_AAL1, amr, now, &d) != 0) {
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		goto out;
	}
	if (d.effect == IDP_POLICY_DENY) {
		refuse(r, CM_E_NETWORK_DENIED, d.reason);
		goto out;
	}
	if ((totp = has_totp(idp, uid)) < 0 ||
	    idp_wa_admin_floor(idp, r, uid, tx_client(txo), IDP_AAL1, amr,
	    &d) != 0 || (wa = idp_wa_count(idp, uid, 0)) < 0 ||
	    (hwk = idp_wa_count(idp, uid, 1)) < 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	need = d.effect != IDP_POLICY_ALLOW && d.level >= IDP_AAL2;
	if (need && d.level >= IDP_AAL3) {
		/* AAL3: an active hardware key (idp/webauthn.c) */
		if (hwk > 0) {
			idp_wa_stage_start(idp, r, txo, uid, IDP_AAL1, amr, now,
			    NULL, 1, lang);
			goto out;
		}
		refuse(r, CM_E_HWK_REQUIRED, d.reason);
		goto out;
	}
	if (totp || need) {
		if (!totp && wa > 0) {
			/* a WebAuthn key is a second factor too */
			idp_wa_stage_start(idp, r, txo, uid, IDP_AAL1, amr, now,
			    NULL, 0, lang);
			goto out;
		}
		if (!totp) {
			refuse(r, CM_E_MFA_REQUIRED, d.reason);
			goto out;
		}
		otp_start(idp, r, txo, uid, IDP_AAL1, amr, now, NULL, lang);
		goto out;
	}
	if (wa > 0) {
		/* like TOTP: a user with a key always gives it */
		idp_wa_stage_start(idp, r, txo, uid, IDP_AAL1, amr, now, NULL,
		    0, lang);
		goto out;
	}
	/* the password stage deleted the transaction already */
	finish_login(idp, r, NULL, txo, uid, IDP_AAL1, amr, "password");
 out:
	json_decref(amr);
}

void
idp_h_authorize(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct idp_policy_decision d;
	struct areq a;
	struct idp_session *s = NULL;
	const char *prompt;
	enum idp_lang lang;
	int rc, totp, wa;

	(void)app;
	memset(&a, 0, sizeof(a));
	a.r = r;
	if (strcmp(brk_req_method(r), "POST") == 0 &&
	    (rc = brk_req_form(r, &a.form)) != 0) {
		show_error(r, CM_E_OAUTH_INVALID_REQUEST,
		    "malformed form body");
		return;
	}
	if (check_client(idp, &a) != 0 || check_request(idp, &a) != 0)
		goto out;
	lang = req_lang(r, a.req, NULL);
	prompt = json_string_value(json_object_get(a.req, "prompt"));
	rc = idp_session_current(idp, r, &s);
	if (rc != 0 && rc != CM_ERR_NOTFOUND) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	if (rc == 0 && session_fits(a.req, s, cm_time())) {
		/* a live session: does it meet the policy for this request? */
		if (idp_policy_decide(idp, r, a.client->client_id, a.req,
		    s->uid, s->aal, s->amr, s->auth_time, &d) != 0 ||
		    idp_wa_admin_floor(idp, r, s->uid, a.client->client_id,
		    s->aal, s->amr, &d) != 0) {
			brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
			goto out;
		}
		if (d.effect == IDP_POLICY_ALLOW) {
			issue_code(idp, r, a.req, s, a.client->client_id);
			goto out;
		}
		if (d.effect == IDP_POLICY_DENY) {
			redirect_error(idp, &a, "access_denied", d.reason);
			goto out;
		}
		if (prompt != NULL && strcmp(prompt, "none") == 0) {
			redirect_error(idp, &a, d.effect ==
			    IDP_POLICY_STEP_UP ? "interaction_required" :
			    "login_required", d.reason);
			goto out;
		}
		if (d.effect == IDP_POLICY_STEP_UP && d.level == IDP_AAL2 &&
		    (totp = has_totp(idp, s->uid)) != 0) {
			json_t *base;

			if (totp < 0) {
				brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
				goto out;
			}
			/* step up: only the missing factor is asked for */
			base = json_pack("{s:O}", "req", a.req);
			otp_start(idp, r, base, s->uid, s->aal, s->amr,
			    s->auth_time, s->key, lang);
			json_decref(base);
			goto out;
		}
		if (d.effect == IDP_POLICY_STEP_UP &&
		    (wa = idp_wa_count(idp, s->uid, d.level >= IDP_AAL3)) > 0) {
			/* step up with a WebAuthn key (hardware for AAL3) */
			json_t *base = json_pack("{s:O}", "req", a.req);

			idp_wa_stage_start(idp, r, base, s->uid, s->aal, s->amr,
			    s->auth_time, s->key, d.level >= IDP_AAL3, lang);
			json_decref(base);
			goto out;
		}
		if (d.effect == IDP_POLICY_STEP_UP) {
			/* the user has no factor that reaches the level */
			redirect_error(idp, &a,
			    "unmet_authentication_requirements", d.reason);
			goto out;
		}
		/* REAUTHENTICATE: a full login */
		idp_login_start(idp, r, a.req, NULL, lang);
		goto out;
	}
	if (prompt != NULL && strcmp(prompt, "none") == 0) {
		redirect_error(idp, &a, "login_required",
		    "no session that satisfies the request");
		goto out;
	}
	idp_login_start(idp, r, a.req, NULL, lang);
 out:
	idp_session_free(&s);
	idp_client_free(&a.client);
	json_decref(a.req);
	brk_form_free(&a.form);
}

/* The transaction named by the form or query, checked against the cookie
 * and against the stage expected. */
static int
load_tx(struct idp *idp, struct brk_req *r, const char *tx,
    const char *stage, json_t **out)
{
	const char *cookie = brk_req_cookie(r, IDP_COOKIE_TX);
	struct dir_state *st = NULL;
	json_error_t jerr;
	const char *have;
	int rc;

	*out = NULL;
	if (tx == NULL || cookie == NULL || strlen(tx) != 43 ||
	    !cm_ct_streq(tx, cookie))
		return CM_ERR_DENIED;
	if ((rc = dir_state_get(idp->dir, IDP_ST_TX, tx, cm_time(), &st)) != 0)
		return rc;
	*out = json_loads(st->data, JSON_REJECT_DUPLICATES, &jerr);
	dir_state_free(&st);
	if (*out == NULL)
		return CM_ERR_INVAL;
	have = json_string_value(json_object_get(*out, "stage"));
	if (have == NULL || strcmp(have, stage) != 0) {
		json_decref(*out);
		*out = NULL;
		return CM_ERR_DENIED;
	}
	return 0;
}

static enum cm_eid
tx_error(int rc)
{
	return rc == CM_ERR_UNAVAIL || rc == CM_ERR_TIMEOUT ?
	    CM_E_DIR_UNAVAILABLE : rc == CM_ERR_DENIED ? CM_E_CSRF :
	    CM_E_LOGIN_EXPIRED;
}

static void
render_login(struct idp *idp, struct brk_req *r, const char *tx,
    json_t *txo, enum idp_lang lang, const char *username, enum cm_eid err)
{
	struct idp_login_page pg;
	struct idp_client *c = NULL;
	json_t *req = json_object_get(txo, "req");
	char *html = NULL;
	int status = 200;

	memset(&pg, 0, sizeof(pg));
	pg.lang = lang;
	pg.tx = tx;
	pg.csrf = json_string_value(json_object_get(txo, "csrf"));
	pg.username = username ? username :
	    json_string_value(json_object_get(req, "login_hint"));
	pg.request_id = brk_req_id(r);
	if (req == NULL)
		pg.client_name = idp_str(lang, IDP_S_ACCOUNT);
	else if (idp_client_load(idp, json_string_value(json_object_get(req,
	    "client_id")), &c) == 0)
		pg.client_name = c->name ? c->name : c->client_id;
	else
		pg.client_name = "?";
	if (err != CM_E_OK) {
		pg.error = cm_errcat_get(err);
		status = pg.error->http_status;
	}
	if (idp_page_login(&pg, &html) != 0)
		brk_resp_error(r, CM_E_INTERNAL, NULL);
	else {
		(void)brk_resp_header(r, "Content-Language",
		    lang == IDP_LANG_EN ? "en" : "ja");
		(void)idp_csp_form_target(r, json_string_value(
		    json_object_get(req, "redirect_uri")));
		brk_resp_body(r, status, "text/html; charset=utf-8", html,
		    strlen(html));
	}
	free(html);
	idp_client_free(&c);
}

static enum idp_lang
tx_lang(struct brk_req *r, const json_t *txo, const char *explicit_lang)
{
	const char *l = explicit_lang ? explicit_lang :
	    json_string_value(json_object_get(txo, "lang"));

	return req_lang(r, json_object_get(txo, "req"), l);
}

void
idp_h_login_get(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	const char *tx = NULL, *lang = NULL;
	json_t *txo = NULL;
	int rc;

	(void)app;
	if (brk_req_query(r, "tx", &tx) != 0) {
		brk_resp_error(r, CM_E_OAUTH_INVALID_REQUEST, "tx");
		return;
	}
	if (brk_req_query(r, "lang", &lang) != 0)
		lang = NULL;
	if ((rc = load_tx(idp, r, tx, "password", &txo)) != 0) {
		brk_resp_error(r, tx_error(rc) == CM_E_CSRF ?
		    CM_E_LOGIN_EXPIRED : tx_error(rc), NULL);
		return;
	}
	render_login(idp, r, tx, txo, tx_lang(r, txo, lang), NULL, CM_E_OK);
	json_decref(txo);
}

static enum cm_eid
login_error(int rc)
{
	switch (rc) {
	case CM_ERR_LOCKED:	return CM_E_ACCOUNT_LOCKED;
	case CM_ERR_DISABLED:	return CM_E_ACCOUNT_DISABLED;
	case CM_ERR_EXPIRED:
	case DIR_ERR_MUST_CHANGE: return CM_E_PASSWORD_EXPIRED;
	case CM_ERR_UNAVAIL:
	case CM_ERR_TIMEOUT:	return CM_E_DIR_UNAVAILABLE;
	default:		return CM_E_LOGIN_FAILED;
	}
}

/* Read tx and csrf from the form and check them; a response is set and
 * non-zero returned when they do not hold. */
static int
form_tx(struct idp *idp, struct brk_req *r, struct brk_form *f,
    const char *stage, const char **tx, json_t **txo)
{
	const char *csrf = NULL;
	int rc;

	*txo = NULL;
	if (brk_form_get(f, "tx", tx) != 0 ||
	    brk_form_get(f, "csrf", &csrf) != 0) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		return -1;
	}
	if ((rc = load_tx(idp, r, *tx, stage, txo)) != 0) {
		brk_resp_error(r, tx_error(rc), NULL);
		return -1;
	}
	if (!cm_ct_streq(csrf, json_string_value(json_object_get(*txo,
	    "csrf")))) {
		cm_warn(brk_req_id(r), "login.csrf_mismatch", NULL);
		json_decref(*txo);
		*txo = NULL;
		brk_resp_error(r, CM_E_CSRF, NULL);
		return -1;
	}
	return 0;
}

void
idp_h_login_post(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct brk_form *f = NULL;
	const char *tx = NULL, *user = NULL, *pw = NULL, *lang = NULL;
	json_t *txo = NULL;
	enum idp_lang l;
	int rc;

	if (brk_req_form(r, &f) != 0) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		goto out;
	}
	if (form_tx(idp, r, f, "password", &tx, &txo) != 0)
		goto out;
	if (brk_form_get(f, "lang", &lang) != 0)
		lang = NULL;
	l = tx_lang(r, txo, lang);
	if (brk_form_get(f, "username", &user) != 0 ||
	    brk_form_get(f, "password", &pw) != 0 || *pw == '\0' ||
	    dir_name_check(user) != 0) {
		brk_metrics_auth(app, "password", 0);
		render_login(idp, r, tx, txo, l, user, CM_E_LOGIN_FAILED);
		goto out;
	}
	rc = dir_user_passwd_verify(idp->dir, user, pw, strlen(pw));
	brk_metrics_auth(app, "password", rc == 0);
	if (rc != 0) {
		enum cm_eid e = login_error(rc);

		if (cm_audit_emit(brk_req_id(r), "login.failure",
		    "{s:s, s:s, s:s, s:s}", "uid", user, "method", "password",
		    "client_id", tx_client(txo), "reason",
		    cm_strerror(rc)) != 0)
			e = CM_E_AUDIT_UNAVAILABLE;
		render_login(idp, r, tx, txo, l, user, e);
		goto out;
	}
	/* the password stage is spent whatever follows; of two posts of one
	 * transaction, the one whose delete finds it goes on */
	if ((rc = dir_state_delete(idp->dir, IDP_ST_TX, tx)) ==
	    CM_ERR_NOTFOUND) {
		cm_info(brk_req_id(r), "login.tx_spent", "{s:s}", "uid", user);
		brk_resp_error(r, CM_E_LOGIN_EXPIRED, NULL);
		goto out;
	}
	if (rc != 0)
		cm_warn(brk_req_id(r), "login.tx_delete_failed", NULL);
	after_password(idp, r, txo, user, l);
 out:
	json_decref(txo);
	brk_form_free(&f);
}

static void
render_otp(struct brk_req *r, const char *tx, json_t *txo, enum idp_lang l,
    enum cm_eid err)
{
	const struct cm_errdef *e = err != CM_E_OK ? cm_errcat_get(err) : NULL;
	char *html = NULL;

	if (idp_page_otp(l, tx, json_string_value(json_object_get(txo,
	    "csrf")), e, brk_req_id(r), &html) != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	(void)idp_csp_form_target(r, json_string_value(json_object_get(
	    json_object_get(txo, "req"), "redirect_uri")));
	brk_resp_body(r, e ? e->http_status : 200, "text/html; charset=utf-8",
	    html, strlen(html));
	free(html);
}

/* GET|POST /login/otp: the second factor. */
void
idp_h_login_otp(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct brk_form *f = NULL;
	const char *tx = NULL, *code = NULL, *lang = NULL, *uid;
	json_t *txo = NULL, *amr = NULL;
	struct idp_factor fac[4];
	struct idp_assurance as;
	const char *names[IDP_AMR_MAX];
	enum idp_lang l;
	size_t n, i;
	int rc, recovery = 0;

	if (strcmp(brk_req_method(r), "GET") == 0) {
		if (brk_req_query(r, "tx", &tx) != 0 ||
		    (rc = load_tx(idp, r, tx, "otp", &txo)) != 0) {
			brk_resp_error(r, CM_E_LOGIN_EXPIRED, NULL);
			goto out;
		}
		if (brk_req_query(r, "lang", &lang) != 0)
			lang = NULL;
		render_otp(r, tx, txo, tx_lang(r, txo, lang), CM_E_OK);
		goto out;
	}
	if (brk_req_form(r, &f) != 0) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		goto out;
	}
	if (form_tx(idp, r, f, "otp", &tx, &txo) != 0)
		goto out;
	if (brk_form_get(f, "lang", &lang) != 0)
		lang = NULL;
	l = tx_lang(r, txo, lang);
	uid = json_string_value(json_object_get(txo, "uid"));
	if (uid == NULL || brk_form_get(f, "code", &code) != 0) {
		render_otp(r, tx, txo, l, CM_E_OTP_WRONG);
		goto out;
	}
	rc = idp_mfa_totp_check(idp, r, uid, code, &recovery);
	brk_metrics_auth(app, recovery ? "recovery_code" : "totp", rc == 0);
	if (rc != 0) {
		enum cm_eid e = rc == CM_ERR_LOCKED ? CM_E_OTP_LOCKED :
		    rc == IDP_ERR_TOTP_REPLAY ? CM_E_OTP_REPLAY :
		    rc == CM_ERR_DENIED || rc == CM_ERR_INVAL ||
		    rc == CM_ERR_NOTFOUND ? CM_E_OTP_WRONG : dir_error(rc);

		if (cm_audit_emit(brk_req_id(r), "factor.failure",
		    "{s:s, s:s, s:s}", "uid", uid, "method", "totp",
		    "reason", idp_assurance_strerror(rc)) != 0)
			e = CM_E_AUDIT_UNAVAILABLE;
		render_otp(r, tx, txo, l, e);
		goto out;
	}
	/* what the user has proved: the factors so far plus this one */
	n = 0;
	json_array_foreach(json_object_get(txo, "amr"), i, amr) {
		if (n < 2 && json_is_string(amr) &&
		    strcmp(json_string_value(amr), "pwd") == 0)
			fac[n++].type = IDP_FACTOR_PASSWORD;
	}
	fac[n].type = recovery ? IDP_FACTOR_RECOVERY : IDP_FACTOR_TOTP;
	fac[n++].flags = 0;
	for (i = 0; i < n; i++)
		if (fac[i].type == IDP_FACTOR_PASSWORD)
			fac[i].flags = 0;
	if (idp_assurance_compute(fac, n, &as) != 0 ||
	    (amr = json_array()) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	n = idp_amr_list(as.amr, names);
	for (i = 0; i < n; i++)
		json_array_append_new(amr, json_string(names[i]));
	finish_login(idp, r, tx, txo, uid, (int)as.aal, amr,
	    recovery ? "recovery_code" : "totp");
	json_decref(amr);
	if (recovery && cm_audit_emit(brk_req_id(r), "factor.recovery_used",
	    "{s:s}", "uid", uid) != 0)
		cm_err(brk_req_id(r), "audit.write_failed", NULL);
 out:
	json_decref(txo);
	brk_form_free(&f);
}

/* For the other login stages (idp/webauthn.c): the helpers above. */
void
idp_login_finish(struct idp *idp, struct brk_req *r, const char *tx,
    json_t *txo, const char *uid, int aal, json_t *amr, const char *method)
{
	finish_login(idp, r, tx, txo, uid, aal, amr, method);
}

void
idp_tx_start(struct idp *idp, struct brk_req *r, json_t *txo,
    const char *path, enum idp_lang lang)
{
	tx_start(idp, r, txo, path, lang);
}

int
idp_tx_load(struct idp *idp, struct brk_req *r, const char *tx,
    const char *stage, json_t **out)
{
	return load_tx(idp, r, tx, stage, out);
}

int
idp_tx_form(struct idp *idp, struct brk_req *r, struct brk_form *f,
    const char *stage, const char **tx, json_t **txo)
{
	return form_tx(idp, r, f, stage, tx, txo);
}

enum idp_lang
idp_tx_lang(struct brk_req *r, const json_t *txo, const char *explicit_lang)
{
	return tx_lang(r, txo, explicit_lang);
}

const char *
idp_tx_client(const json_t *txo)
{
	return tx_client(txo);
}

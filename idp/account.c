/*
 * idp/account.c — the signed-in account page and self-service TOTP.
 *
 *   GET  /account                      level reached, factors, sign-out
 *   POST /account/totp action=start    a fresh 160-bit seed, pending
 *                                      (KEK-wrapped in the directory); the
 *                                      page shows it as a QR code (SVG,
 *                                      no external service) and as text
 *   POST /account/totp action=confirm  a valid code activates the factor
 *                                      and shows ten recovery codes once
 *   POST /account/totp action=remove   only within five minutes of a
 *                                      sign-in; otherwise sign in again
 *
 * Every form carries the session's CSRF token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <openssl/crypto.h>

#include "idp_int.h"
#include "assurance.h"

#define IDP_REAUTH_WINDOW	300	/* seconds: "recently signed in" */
#define IDP_TOTP_ISSUER		"Sekimori"

static enum idp_lang
lang_of(struct brk_req *r)
{
	const char *l = NULL;

	if (brk_req_query(r, "lang", &l) != 0)
		l = NULL;
	return idp_lang_pick(l, NULL, brk_req_header(r, "Accept-Language"));
}

static void
send_html(struct brk_req *r, int status, char *html)
{
	if (html == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	brk_resp_body(r, status, "text/html; charset=utf-8", html,
	    strlen(html));
	free(html);
}

static void
account_page(struct idp *idp, struct brk_req *r, struct idp_session *s,
    enum idp_lang lang, enum cm_eid err)
{
	struct idp_account_page pg;
	struct dir_totp *t = NULL;
	char *html = NULL, *wa = NULL;

	memset(&pg, 0, sizeof(pg));
	pg.lang = lang;
	pg.uid = s->uid;
	pg.level = idp_acr_uri(s->aal);
	pg.csrf = json_string_value(json_object_get(s->data, "csrf"));
	pg.totp_enabled = idp_mfa_totp_enabled(idp);
	if (dir_totp_get(idp->dir, s->uid, &t) == 0)
		pg.totp_active = t->state == DIR_AUTHN_ACTIVE;
	dir_totp_free(&t);
	pg.error = err != CM_E_OK ? cm_errcat_get(err) : NULL;
	pg.request_id = brk_req_id(r);
	if (idp_wa_account_section(idp, s, lang, &wa) == 0)
		pg.wa_section = wa;		/* keys (webauthn.c) */
	if (idp_page_account(&pg, &html) != 0)
		html = NULL;
	free(wa);
	send_html(r, pg.error ? pg.error->http_status : 200, html);
}

void
idp_h_account(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct idp_session *s = NULL;
	int rc;

	(void)app;
	if ((rc = idp_session_current(idp, r, &s)) != 0) {
		if (rc != CM_ERR_NOTFOUND)
			brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		else
			idp_login_start(idp, r, NULL, "/account", lang_of(r));
		return;
	}
	account_page(idp, r, s, lang_of(r), CM_E_OK);
	idp_session_free(&s);
}

/* The enrolment page for the pending seed sec. */
static void
enrol_page(struct brk_req *r, struct idp_session *s, enum idp_lang lang,
    const uint8_t *sec, size_t seclen, enum cm_eid err)
{
	char *uri = NULL, *svg = NULL, *b32 = NULL, *html = NULL;
	size_t b32len = 0;
	const struct cm_errdef *e = err != CM_E_OK ? cm_errcat_get(err) : NULL;

	if (idp_totp_uri(IDP_TOTP_ISSUER, s->uid, sec, seclen, IDP_TOTP_SHA1,
	    6, &uri) != 0 || idp_totp_qr_svg(uri, strlen(uri), &svg) != 0 ||
	    oath_base32_encode((const char *)sec, seclen, &b32,
	    &b32len) != OATH_OK ||
	    idp_page_totp_enrol(lang, json_string_value(json_object_get(
	    s->data, "csrf")), svg, b32, uri, e, brk_req_id(r), &html) != 0)
		html = NULL;
	send_html(r, e ? e->http_status : 200, html);
	cm_strfree(&uri);
	free(svg);
	cm_strfree(&b32);
}

static void
totp_start(struct idp *idp, struct brk_req *r, struct idp_session *s,
    enum idp_lang lang)
{
	uint8_t sec[20];
	char *wrapped = NULL;
	enum cm_eid e;
	int rc;

	/* an authenticator beyond the first needs identity proofing */
	if ((e = idp_proofing_enrol_check(idp, r, s->uid, "totp")) !=
	    CM_E_OK) {
		account_page(idp, r, s, lang, e);
		return;
	}
	if ((rc = idp_totp_secret_new(sec)) != 0 ||
	    (rc = idp_mfa_wrap(idp, s->uid, sec, sizeof(sec), &wrapped)) != 0) {
		brk_resp_error(r, rc == CM_ERR_UNSUPPORTED ?
		    CM_E_MFA_UNAVAILABLE : CM_E_INTERNAL, NULL);
		goto out;
	}
	if ((rc = dir_totp_put_pending(idp->dir, s->uid, wrapped)) != 0) {
		if (rc == CM_ERR_EXISTS)
			account_page(idp, r, s, lang, CM_E_FACTOR_EXISTS);
		else
			brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	if (cm_audit_emit(brk_req_id(r), "factor.enrolment_started",
	    "{s:s, s:s}", "uid", s->uid, "method", "totp") != 0) {
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		goto out;
	}
	enrol_page(r, s, lang, sec, sizeof(sec), CM_E_OK);
 out:
	OPENSSL_cleanse(sec, sizeof(sec));
	free(wrapped);
}

static void
totp_confirm(struct idp *idp, struct brk_req *r, struct idp_session *s,
    const struct brk_form *f, enum idp_lang lang)
{
	struct idp_recovery_code rc_codes[IDP_RECOVERY_COUNT];
	const char *hashes[IDP_RECOVERY_COUNT], *codes[IDP_RECOVERY_COUNT];
	struct dir_totp *t = NULL;
	uint8_t *sec = NULL;
	size_t seclen = 0, i;
	const char *code = NULL;
	int64_t step = 0;
	char *html = NULL;
	int rc, have_codes = 0;

	if ((rc = dir_totp_get(idp->dir, s->uid, &t)) != 0 ||
	    t->state != DIR_AUTHN_PENDING) {
		account_page(idp, r, s, lang, rc == 0 || rc == CM_ERR_NOTFOUND ?
		    CM_E_LOGIN_EXPIRED : CM_E_DIR_UNAVAILABLE);
		goto out;
	}
	if ((rc = idp_mfa_unwrap(idp, s->uid, t->secret, &sec,
	    &seclen)) != 0) {
		brk_resp_error(r, CM_E_MFA_UNAVAILABLE, NULL);
		goto out;
	}
	if (brk_form_get(f, "code", &code) != 0 ||
	    idp_totp_verify(sec, seclen, IDP_TOTP_SHA1, 6, code, strlen(code),
	    cm_time(), -1, &step) != 0) {
		/* not active until a valid code: show the same seed again */
		enrol_page(r, s, lang, sec, seclen, CM_E_OTP_WRONG);
		goto out;
	}
	if (idp_recovery_generate(rc_codes, IDP_RECOVERY_COUNT) != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	have_codes = 1;
	for (i = 0; i < IDP_RECOVERY_COUNT; i++) {
		hashes[i] = rc_codes[i].hash;
		codes[i] = rc_codes[i].code;
	}
	if ((rc = dir_totp_activate(idp->dir, t, step, hashes,
	    IDP_RECOVERY_COUNT)) != 0) {
		brk_resp_error(r, rc == CM_ERR_CONFLICT ? CM_E_DIR_CONFLICT :
		    CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	if (cm_audit_emit(brk_req_id(r), "factor.enrolled", "{s:s, s:s}",
	    "uid", s->uid, "method", "totp") != 0)
		cm_err(brk_req_id(r), "audit.write_failed", NULL);
	if (idp_page_recovery(lang, codes, IDP_RECOVERY_COUNT, &html) != 0)
		html = NULL;
	send_html(r, 200, html);
 out:
	if (have_codes)
		idp_recovery_wipe(rc_codes, IDP_RECOVERY_COUNT);
	idp_kek_secret_free(&sec, seclen);
	dir_totp_free(&t);
}

static void
totp_remove(struct idp *idp, struct brk_req *r, struct idp_session *s,
    enum idp_lang lang)
{
	int rc;

	/* removing a factor needs a recent sign-in (ASVS V7) */
	if (cm_time() - s->auth_time > IDP_REAUTH_WINDOW) {
		idp_login_start(idp, r, NULL, "/account", lang);
		return;
	}
	if ((rc = dir_totp_delete(idp->dir, s->uid)) != 0 &&
	    rc != CM_ERR_NOTFOUND) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		return;
	}
	if (cm_audit_emit(brk_req_id(r), "factor.removed", "{s:s, s:s}",
	    "uid", s->uid, "method", "totp") != 0)
		cm_err(brk_req_id(r), "audit.write_failed", NULL);
	idp_redirect(r, "/account");
}

void
idp_h_account_totp(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct idp_session *s = NULL;
	struct brk_form *f = NULL;
	const char *csrf = NULL, *action = NULL;
	enum idp_lang lang = lang_of(r);
	int rc;

	(void)app;
	if ((rc = idp_session_current(idp, r, &s)) != 0) {
		brk_resp_error(r, rc == CM_ERR_NOTFOUND ? CM_E_REAUTH_REQUIRED :
		    CM_E_DIR_UNAVAILABLE, NULL);
		return;
	}
	if (brk_req_form(r, &f) != 0 || brk_form_get(f, "csrf", &csrf) != 0 ||
	    !cm_ct_streq(csrf, json_string_value(json_object_get(s->data,
	    "csrf"))) || brk_form_get(f, "action", &action) != 0) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		goto out;
	}
	if (!idp_mfa_totp_enabled(idp)) {
		brk_resp_error(r, CM_E_MFA_UNAVAILABLE, NULL);
		goto out;
	}
	if (strcmp(action, "start") == 0)
		totp_start(idp, r, s, lang);
	else if (strcmp(action, "confirm") == 0)
		totp_confirm(idp, r, s, f, lang);
	else if (strcmp(action, "remove") == 0)
		totp_remove(idp, r, s, lang);
	else
		brk_resp_error(r, CM_E_BAD_REQUEST, NULL);
 out:
	brk_form_free(&f);
	idp_session_free(&s);
}

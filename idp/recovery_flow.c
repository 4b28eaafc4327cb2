/*
 * idp/recovery_flow.c — credential recovery (forgotten password, lost
 * key, TOTP reset), gated by identity proofing (docs/proofing.md).
 *
 *   GET  /recovery               user name and recovery code form
 *   POST /recovery step=start    uid, code: needs a valid proofing record
 *                                at the account's level made within
 *                                proofing_recovery_window whose one-time
 *                                code (handed over by the officer,
 *                                Argon2id-hashed, short-lived) matches;
 *                                the code is spent (compare-and-swap)
 *   POST /recovery step=finish   password (policy-checked), reset_totp,
 *                                remove_keys: applied, every session of
 *                                the account ended, audited
 *
 * Unknown users, missing or stale proofing and wrong codes get the same
 * answer (SKM-7002) after the same Argon2id work.  The recovery state is
 * a "tx" state entry (stage "recovery", ten minutes) bound to the
 * browser by the __Host-skm_rec cookie and to the form by a CSRF token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "idp_int.h"
#include "assurance.h"
#include "proofing/proofing.h"

#define REC_COOKIE	"__Host-skm_rec"
#define REC_TTL		600	/* seconds to finish */

#define T(l, en, ja)	((l) == IDP_LANG_JA ? (ja) : (en))

static enum idp_lang
lang_of(struct brk_req *r)
{
	const char *l = NULL;

	if (brk_req_query(r, "lang", &l) != 0)
		l = NULL;
	return idp_lang_pick(l, NULL, brk_req_header(r, "Accept-Language"));
}

static void
start_page(struct brk_req *r, enum idp_lang l, const char *csrf,
    enum cm_eid err)
{
	const struct cm_errdef *e = err != CM_E_OK ? cm_errcat_get(err) : NULL;
	struct cm_buf b;
	char *html = NULL;
	int rc = 0;

	cm_buf_init(&b, 64 * 1024, 0);
	rc |= idp_page_begin(&b, l, T(l, "Recover your account",
	    "アカウントの回復"), e, brk_req_id(r));
	rc |= cm_buf_appendf(&b, "<p class=\"lead\">");
	rc |= idp_page_text(&b, T(l, "Forgotten password or lost key: an "
	    "identity proofing officer checks your identity in person and "
	    "gives you a one-time recovery code.", "パスワードを忘れた場合や"
	    "キーを紛失した場合は、身元確認担当者が対面で本人確認を行い、一回"
	    "限りの回復コードを渡します。"));
	rc |= cm_buf_appendf(&b, "</p><form method=\"post\" action=\"/recovery\""
	    " autocomplete=\"off\">");
	rc |= idp_page_hidden(&b, "csrf", csrf);
	rc |= idp_page_hidden(&b, "step", "start");
	rc |= cm_buf_appendf(&b, "<label for=\"uid\">");
	rc |= idp_page_text(&b, idp_str(l, IDP_S_USERNAME));
	rc |= cm_buf_appendf(&b, "</label><input id=\"uid\" name=\"uid\" "
	    "autocomplete=\"username\" required><label for=\"code\">");
	rc |= idp_page_text(&b, T(l, "Recovery code", "回復コード"));
	rc |= cm_buf_appendf(&b, "</label><input id=\"code\" name=\"code\" "
	    "autocomplete=\"one-time-code\" required><button type=\"submit\">");
	rc |= idp_page_text(&b, idp_str(l, IDP_S_CONTINUE));
	rc |= cm_buf_appendf(&b, "</button></form>");
	if (idp_page_end(&b, rc, &html) != 0)
		html = NULL;
	idp_wa_send_html(r, e ? e->http_status : 200, html);
}

static void
finish_page(struct brk_req *r, enum idp_lang l, const char *csrf,
    const char *uid, enum cm_eid err, const char *why)
{
	const struct cm_errdef *e = err != CM_E_OK ? cm_errcat_get(err) : NULL;
	struct cm_buf b;
	char *html = NULL;
	int rc = 0;

	cm_buf_init(&b, 64 * 1024, 0);
	rc |= idp_page_begin(&b, l, T(l, "Reset your credentials",
	    "認証情報の再設定"), e, brk_req_id(r));
	if (why != NULL && why[0] != '\0') {
		rc |= cm_buf_appendf(&b, "<p class=\"lead\" id=\"why\">");
		rc |= idp_page_text(&b, why);
		rc |= cm_buf_appendf(&b, "</p>");
	}
	rc |= cm_buf_appendf(&b, "<p id=\"recovery-user\">");
	rc |= idp_page_text(&b, uid);
	rc |= cm_buf_appendf(&b, "</p><form method=\"post\" action=\"/recovery\""
	    " autocomplete=\"off\" id=\"finish\">");
	rc |= idp_page_hidden(&b, "csrf", csrf);
	rc |= idp_page_hidden(&b, "step", "finish");
	rc |= cm_buf_appendf(&b, "<label for=\"password\">");
	rc |= idp_page_text(&b, T(l, "New password (leave empty to keep it)",
	    "新しいパスワード（変更しない場合は空欄）"));
	rc |= cm_buf_appendf(&b, "</label><input id=\"password\" "
	    "name=\"password\" type=\"password\" autocomplete=\"new-password\">"
	    "<label><input type=\"checkbox\" name=\"reset_totp\" value=\"1\"> ");
	rc |= idp_page_text(&b, T(l, "Remove my authenticator app (TOTP)",
	    "認証アプリ (TOTP) を削除する"));
	rc |= cm_buf_appendf(&b, "</label><label><input type=\"checkbox\" "
	    "name=\"remove_keys\" value=\"1\"> ");
	rc |= idp_page_text(&b, T(l, "Remove my security keys and passkeys "
	    "(lost)", "セキュリティキーとパスキーを削除する（紛失）"));
	rc |= cm_buf_appendf(&b, "</label><button type=\"submit\">");
	rc |= idp_page_text(&b, idp_str(l, IDP_S_CONTINUE));
	rc |= cm_buf_appendf(&b, "</button></form>");
	if (idp_page_end(&b, rc, &html) != 0)
		html = NULL;
	idp_wa_send_html(r, e ? e->http_status : 200, html);
}

static void
h_get(struct idp *idp, struct brk_req *r, enum idp_lang l)
{
	char *csrf = NULL;

	(void)idp;
	/* double-submit: the cookie and the form carry the same value */
	if (idp_random_token(&csrf) != 0 ||
	    idp_set_cookie(r, REC_COOKIE, csrf, REC_TTL, "Strict") != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	start_page(r, l, csrf, CM_E_OK);
 out:
	cm_strfree(&csrf);
}

/* Find the record whose code matches and spend the code.  0 and *rec on
 * success; CM_ERR_DENIED otherwise; other errors for trouble. */
static int
spend_code(struct idp *idp, const char *uid, const char *code,
    struct prf_record *rec)
{
	struct prf_entry *v = NULL;
	struct idp_recovery_code dummy;
	size_t n = 0, i, matched = 0;
	int64_t now = cm_time();
	int need, r, tried = 0;

	if (dir_name_check(uid) != 0)
		r = CM_ERR_NOTFOUND;
	else
		r = prf_history(idp->dir, PRF_KIND_PERSON, uid, &v, &n);
	if (r != 0 && r != CM_ERR_NOTFOUND)
		return r;
	need = n > 0 ? idp_proofing_required(idp, uid) : PRF_IAL3;
	if (need < 0) {
		prf_history_free(&v, n);
		return CM_ERR_UNAVAIL;
	}
	r = CM_ERR_DENIED;
	for (i = 0; i < n; i++) {
		const struct prf_record *p = &v[i].rec;
		const struct dir_proofing *d = v[i].dir;

		if (p->status != PRF_ST_VALID || (int)p->ial < need ||
		    p->expires <= now || now - p->time >
		    (int64_t)idp->cfg->prf_window || d->ncode_hashes == 0 ||
		    d->code_expires <= now)
			continue;
		tried = 1;
		if (idp_recovery_verify(code, strlen(code),
		    (const char *const *)d->code_hashes, d->ncode_hashes,
		    &matched) != 0)
			continue;
		/* single use: one deleter of the hash wins */
		r = dir_proofing_use_code(idp->dir, d, d->code_hashes[matched]);
		if (r == CM_ERR_CONFLICT)
			r = CM_ERR_DENIED;
		if (r == 0)
			*rec = *p;
		break;
	}
	/* the same Argon2id work whether or not there was a candidate */
	if (!tried && idp_recovery_generate(&dummy, 1) == 0)
		idp_recovery_wipe(&dummy, 1);
	prf_history_free(&v, n);
	return r;
}

static void
h_start(struct idp *idp, struct brk_req *r, const struct brk_form *f,
    enum idp_lang l, const char *cookie)
{
	struct prf_record *rec = NULL;
	const char *uid = NULL, *code = NULL;
	char *tx = NULL, *csrf = NULL, *data = NULL, key[44];
	json_t *o = NULL;
	int rc;

	if (brk_form_get(f, "uid", &uid) != 0 ||
	    brk_form_get(f, "code", &code) != 0 ||
	    strlen(code) > IDP_RECOVERY_INPUT_MAX || strlen(uid) > 256) {
		start_page(r, l, cookie, CM_E_PRF_RECOVERY_DENIED);
		return;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	rc = spend_code(idp, uid, code, rec);
	if (rc != 0) {
		char safe[80];

		cm_log_sanitize(safe, sizeof(safe), uid, strlen(uid));
		if (rc != CM_ERR_DENIED && rc != CM_ERR_NOTFOUND) {
			brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
			goto out;
		}
		if (cm_audit_emit(brk_req_id(r), "recovery.refused",
		    "{s:s, s:s, s:s}", "uid", safe, "ip",
		    brk_req_client_ip(r), "reason", "no valid proofing or "
		    "code") != 0) {
			brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
			goto out;
		}
		start_page(r, l, cookie, CM_E_PRF_RECOVERY_DENIED);
		goto out;
	}
	if (idp_random_token(&tx) != 0 || idp_random_token(&csrf) != 0 ||
	    idp_hash_key(tx, key) != 0 ||
	    (o = json_pack("{s:s, s:s, s:s, s:s}", "stage", "recovery", "uid",
	    uid, "csrf", csrf, "record", rec->id)) == NULL ||
	    (data = json_dumps(o, JSON_COMPACT)) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	if (cm_audit_emit(brk_req_id(r), "recovery.started", "{s:s, s:s, s:s}",
	    "uid", uid, "record", rec->id, "ial", prf_ial_name(rec->ial)) != 0) {
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		goto out;
	}
	if (dir_state_add(idp->dir, IDP_ST_TX, key, uid, NULL, data,
	    cm_time() + REC_TTL) != 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	if (idp_set_cookie(r, REC_COOKIE, tx, REC_TTL, "Strict") != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	finish_page(r, l, csrf, uid, CM_E_OK, NULL);
 out:
	OPENSSL_cleanse(rec, sizeof(*rec));
	free(rec);
	cm_strfree(&tx);
	cm_strfree(&csrf);
	cm_strfree(&data);
	json_decref(o);
}

static size_t
remove_keys(struct idp *idp, const char *uid, int *fail)
{
	struct dir_wa_cred **v = NULL;
	size_t n = 0, i, gone = 0;

	*fail = 0;
	if (dir_wa_list(idp->dir, uid, &v, &n) != 0) {
		*fail = 1;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (dir_wa_delete(idp->dir, v[i]) == 0)
			gone++;
		else
			*fail = 1;
	}
	dir_wa_list_free(&v, n);
	return gone;
}

static void
h_finish(struct idp *idp, struct brk_req *r, const struct brk_form *f,
    enum idp_lang l, const char *cookie)
{
	struct dir_state *st = NULL;
	const char *csrf = NULL, *pw = NULL, *uid, *rid = brk_req_id(r);
	char key[44], why[256] = "";
	json_t *o = NULL;
	int totp, keys, rc, kfail = 0;
	size_t removed = 0;

	if (strlen(cookie) != 43 || idp_hash_key(cookie, key) != 0 ||
	    (rc = dir_state_get(idp->dir, IDP_ST_TX, key, cm_time(),
	    &st)) != 0 || (o = json_loads(st->data, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || strcmp(json_string_value(json_object_get(o,
	    "stage")) ? json_string_value(json_object_get(o, "stage")) : "",
	    "recovery") != 0) {
		brk_resp_error(r, CM_E_LOGIN_EXPIRED, NULL);
		goto out;
	}
	uid = json_string_value(json_object_get(o, "uid"));
	if (uid == NULL || brk_form_get(f, "csrf", &csrf) != 0 ||
	    !cm_ct_streq(csrf, json_string_value(json_object_get(o,
	    "csrf")))) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		goto out;
	}
	if (brk_form_get(f, "password", &pw) != 0)
		pw = "";
	totp = brk_form_get(f, "reset_totp", &csrf) == 0;
	keys = brk_form_get(f, "remove_keys", &csrf) == 0;
	if (pw[0] == '\0' && !totp && !keys) {
		finish_page(r, l, json_string_value(json_object_get(o, "csrf")),
		    uid, CM_E_BAD_REQUEST, T(l, "Choose what to reset.",
		    "再設定する項目を選んでください。"));
		goto out;
	}
	if (cm_audit_emit(rid, "recovery.applying", "{s:s, s:s?, s:b, s:b,"
	    " s:b}", "uid", uid, "record", json_string_value(json_object_get(o,
	    "record")), "password", pw[0] != '\0', "reset_totp", totp,
	    "remove_keys", keys) != 0) {
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		goto out;
	}
	if (pw[0] != '\0' && (rc = dir_user_passwd_set(idp->dir, uid, pw,
	    strlen(pw), why, sizeof(why))) != 0) {
		if (rc == CM_ERR_POLICY || rc == CM_ERR_INVAL) {
			/* the state stays: try another password */
			finish_page(r, l, json_string_value(json_object_get(o,
			    "csrf")), uid, CM_E_PASSWORD_POLICY, why);
			goto out;
		}
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	/* single use from here on */
	if (dir_state_delete(idp->dir, IDP_ST_TX, key) != 0)
		cm_warn(rid, "recovery.state_gone", "{s:s}", "uid", uid);
	if (totp && (rc = dir_totp_delete(idp->dir, uid)) != 0 &&
	    rc != CM_ERR_NOTFOUND)
		kfail = 1;
	if (keys)
		removed = remove_keys(idp, uid, &kfail);
	if (pw[0] != '\0' && dir_user_unlock(idp->dir, uid) != 0)
		cm_warn(rid, "recovery.unlock_failed", "{s:s}", "uid", uid);
	/* credentials were re-issued: every old session goes */
	(void)idp_revoke_user(idp, rid, uid, "credential recovery");
	if (cm_audit_emit(rid, "recovery.completed", "{s:s, s:b, s:b, s:I,"
	    " s:b}", "uid", uid, "password", pw[0] != '\0', "reset_totp",
	    totp, "keys_removed", (json_int_t)removed, "errors", kfail) != 0)
		cm_err(rid, "audit.write_failed", NULL);
	(void)idp_set_cookie(r, REC_COOKIE, "", 0, "Strict");
	if (kfail) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	{
		char *html = NULL;

		if (idp_page_message(l, T(l, "Account recovered",
		    "アカウントを回復しました"), T(l, "Your credentials were "
		    "reset. Sign in to your account and set up a new "
		    "authenticator.", "認証情報を再設定しました。アカウントに"
		    "サインインし、新しい認証器を設定してください。"),
		    &html) != 0)
			html = NULL;
		idp_wa_send_html(r, 200, html);
	}
 out:
	json_decref(o);
	dir_state_free(&st);
}

void
idp_h_recovery(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct brk_form *f = NULL;
	const char *step = NULL, *csrf = NULL;
	const char *cookie = brk_req_cookie(r, REC_COOKIE);
	enum idp_lang l = lang_of(r);

	(void)app;
	if (strcmp(brk_req_method(r), "GET") == 0) {
		h_get(idp, r, l);
		return;
	}
	if (cookie == NULL || brk_req_form(r, &f) != 0 ||
	    brk_form_get(f, "step", &step) != 0) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		goto out;
	}
	if (strcmp(step, "start") == 0) {
		if (brk_form_get(f, "csrf", &csrf) != 0 ||
		    !cm_ct_streq(csrf, cookie)) {
			brk_resp_error(r, CM_E_CSRF, NULL);
			goto out;
		}
		h_start(idp, r, f, l, cookie);
	} else if (strcmp(step, "finish") == 0)
		h_finish(idp, r, f, l, cookie);
	else
		brk_resp_error(r, CM_E_BAD_REQUEST, NULL);
 out:
	brk_form_free(&f);
}

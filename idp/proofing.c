/*
 * idp/proofing.c — identity proofing in the IdP (docs/proofing.md):
 * the gates (administrators' keys, enrolment beyond the first
 * authenticator), the officer pages, verified_claims for tokens and
 * userinfo, and the level for access tokens.
 *
 *   GET  /proofing[?uid=U]   officers: search a subject, its history, the
 *                            form to add a record
 *   POST /proofing           csrf, action=add (the record's fields) |
 *                            action=revoke (uid, id, reason)
 *
 * Officers: members of proofing_officer_group, signed in at AAL3 with a
 * hardware key (amr hwk), never proofing themselves.  An officer session
 * below that is stepped up with the officer's hardware key (GET) or
 * refused.  Adding a record shows, once, the one-time recovery code the
 * officer hands to the person (credential recovery, recovery_flow.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <openssl/crypto.h>

#include "idp_int.h"
#include "assurance.h"
#include "proofing/proofing.h"

int
idp_proofing_ok(struct idp *idp, const char *uid, const char *level)
{
	enum prf_ial l;

	if (uid == NULL || prf_ial_parse(level, &l) != 0)
		return CM_ERR_INVAL;
	return prf_valid(idp->dir, PRF_KIND_PERSON, uid, l, 0, cm_time(),
	    NULL);
}

int
idp_proofing_required(struct idp *idp, const char *uid)
{
	int admin = idp_is_admin(idp, uid);

	if (admin < 0)
		return -1;
	return admin ? idp->cfg->prf_admin_ial : idp->cfg->prf_required_ial;
}

int
idp_proofing_ial(struct idp *idp, const char *uid)
{
	int l = prf_current_ial(idp->dir, PRF_KIND_PERSON, uid, cm_time());

	return l < 0 ? 0 : l;
}

enum cm_eid
idp_proofing_enrol_check(struct idp *idp, struct brk_req *r, const char *uid,
    const char *method)
{
	struct dir_totp *t = NULL;
	int have = 0, wa, need, rc;

	/* authenticators the account has already */
	if ((rc = dir_totp_get(idp->dir, uid, &t)) == 0)
		have += t->state == DIR_AUTHN_ACTIVE;
	else if (rc != CM_ERR_NOTFOUND)
		return CM_E_DIR_UNAVAILABLE;
	dir_totp_free(&t);
	if ((wa = idp_wa_count(idp, uid, 0)) < 0)
		return CM_E_DIR_UNAVAILABLE;
	have += wa;
	if (have == 0)
		return CM_E_OK;		/* the first: bound at registration */
	if ((need = idp_proofing_required(idp, uid)) < 0)
		return CM_E_DIR_UNAVAILABLE;
	rc = prf_valid(idp->dir, PRF_KIND_PERSON, uid, (enum prf_ial)need,
	    (int64_t)idp->cfg->prf_window, cm_time(), NULL);
	if (rc == 0)
		return CM_E_OK;
	if (rc != CM_ERR_NOTFOUND)
		return CM_E_DIR_UNAVAILABLE;
	if (cm_audit_emit(brk_req_id(r), "proofing.enrolment_refused",
	    "{s:s, s:s, s:s, s:i}", "uid", uid, "method", method, "required",
	    prf_ial_name((enum prf_ial)need), "authenticators", have) != 0)
		return CM_E_AUDIT_UNAVAILABLE;
	return CM_E_PRF_REQUIRED;
}

enum cm_eid
idp_proofing_officer_ok(int member, int aal, int hwk, const char *officer,
    const char *subject)
{
	if (member <= 0 || officer == NULL)
		return CM_E_PRF_OFFICER_ONLY;
	if (aal < IDP_AAL3 || !hwk)
		return CM_E_HWK_REQUIRED;
	if (subject != NULL && strcmp(officer, subject) == 0)
		return CM_E_PRF_SELF;
	return CM_E_OK;
}

/* ---- verified_claims ---- */

static int
vc_client_ok(struct idp *idp, const char *client_id)
{
	const char *p = idp->cfg->vc_clients;
	size_t n;

	if (client_id == NULL)
		return 0;
	n = strlen(client_id);
	while (*p != '\0') {
		size_t k = strcspn(p, " ,");

		if (k == n && strncmp(p, client_id, n) == 0)
			return 1;
		p += k;
		p += strspn(p, " ,");
	}
	return 0;
}

int
idp_proofing_vc(struct idp *idp, const char *uid, const char *client_id,
    const json_t *member, json_t **out)
{
	struct prf_record rec;
	const json_t *req = json_object_get(member, "verified_claims");
	int r;

	*out = NULL;
	if (uid == NULL || req == NULL)
		return 0;
	if (!vc_client_ok(idp, client_id)) {
		cm_info(NULL, "proofing.vc_not_allowed", "{s:s}", "client_id",
		    client_id ? client_id : "");
		return 0;
	}
	r = prf_valid(idp->dir, PRF_KIND_PERSON, uid, PRF_IAL1, 0, cm_time(),
	    &rec);
	if (r == CM_ERR_NOTFOUND)
		return 0;		/* nothing verified: omitted */
	if (r != 0)
		return r;
	r = prf_verified_claims(&rec, req, cm_time(), out);
	OPENSSL_cleanse(&rec, sizeof(rec));
	return r == CM_ERR_INVAL ? 0 : r;
}

int
idp_proofing_vc_remember(struct idp *idp, const char *client_id,
    const char *jti, const json_t *member, int64_t expires)
{
	const json_t *req = json_object_get(member, "verified_claims");
	char *data = NULL;
	int r;

	if (req == NULL || !vc_client_ok(idp, client_id))
		return 0;
	if ((data = json_dumps(req, JSON_COMPACT)) == NULL)
		return CM_ERR_NOMEM;
	r = dir_state_add(idp->dir, IDP_ST_VC, jti, NULL, client_id, data,
	    expires);
	free(data);
	return r;
}

int
idp_proofing_vc_userinfo(struct idp *idp, const char *uid,
    const char *client_id, const char *jti, json_t **out)
{
	struct dir_state *st = NULL;
	json_t *req = NULL, *member = NULL;
	int r;

	*out = NULL;
	if (jti == NULL || client_id == NULL || !vc_client_ok(idp, client_id))
		return 0;
	r = dir_state_get(idp->dir, IDP_ST_VC, jti, cm_time(), &st);
	if (r == CM_ERR_NOTFOUND || r == CM_ERR_INVAL)
		return 0;
	if (r != 0)
		return r;
	if (st->ref == NULL || strcmp(st->ref, client_id) != 0 ||
	    (req = json_loads(st->data, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL || (member = json_pack("{s:O}", "verified_claims",
	    req)) == NULL) {
		r = 0;
		goto out;
	}
	r = idp_proofing_vc(idp, uid, client_id, member, out);
 out:
	json_decref(member);
	json_decref(req);
	dir_state_free(&st);
	return r;
}

/* ---- the officer pages ---- */

static enum idp_lang
lang_of(struct brk_req *r)
{
	const char *l = NULL;

	if (brk_req_query(r, "lang", &l) != 0)
		l = NULL;
	return idp_lang_pick(l, NULL, brk_req_header(r, "Accept-Language"));
}

#define T(l, en, ja)	((l) == IDP_LANG_JA ? (ja) : (en))

static int
field(struct cm_buf *b, const char *name, const char *label,
    const char *type, const char *value)
{
	int rc = 0;

	rc |= cm_buf_appendf(b, "<label for=\"%s\">", name);
	rc |= idp_page_text(b, label);
	rc |= cm_buf_appendf(b, "</label><input id=\"%s\" name=\"%s\" "
	    "type=\"%s\" autocomplete=\"off\" value=\"", name, name, type);
	rc |= idp_page_text(b, value != NULL ? value : "");
	rc |= cm_buf_appendf(b, "\">");
	return rc;
}

static int
select_box(struct cm_buf *b, const char *name, const char *label,
    const char *const *opts, size_t n)
{
	size_t i;
	int rc = 0;

	rc |= cm_buf_appendf(b, "<label for=\"%s\">", name);
	rc |= idp_page_text(b, label);
	rc |= cm_buf_appendf(b, "</label><select id=\"%s\" name=\"%s\">", name,
	    name);
	for (i = 0; i < n; i++) {
		rc |= cm_buf_appendf(b, "<option value=\"");
		rc |= idp_page_text(b, opts[i]);
		rc |= cm_buf_appendf(b, "\">");
		rc |= idp_page_text(b, opts[i]);
		rc |= cm_buf_appendf(b, "</option>");
	}
	rc |= cm_buf_appendf(b, "</select>");
	return rc;
}

static int
history_html(struct idp *idp, struct cm_buf *b, enum idp_lang l,
    const char *csrf, const char *uid)
{
	struct prf_entry *v = NULL;
	size_t n = 0, i;
	char when[32];
	int rc = 0, e;

	e = prf_history(idp->dir, PRF_KIND_PERSON, uid, &v, &n);
	if (e == CM_ERR_NOTFOUND) {
		rc |= cm_buf_appendf(b, "<p id=\"unknown\">");
		rc |= idp_page_text(b, T(l, "No such user.",
		    "該当する利用者はいません。"));
		return rc | cm_buf_appendf(b, "</p>");
	}
	if (e != 0)
		return e;
	rc |= cm_buf_appendf(b, "<h2>");
	rc |= idp_page_text(b, T(l, "History", "履歴"));
	rc |= cm_buf_appendf(b, "</h2><ul class=\"keys\" id=\"history\">");
	for (i = 0; i < n; i++) {
		const struct prf_record *p = &v[i].rec;
		time_t t = (time_t)p->time;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		rc |= cm_buf_appendf(b, "<li data-id=\"%s\" data-status=\"%s\">"
		    "<code>%s</code> %s %s %s ", p->id,
		    prf_status_name(p->status), p->id, prf_ial_name(p->ial),
		    prf_method_name(p->method), prf_status_name(p->status));
		rc |= idp_page_text(b, p->officer);
		rc |= cm_buf_appendf(b, " %s", when);
		if (p->reason[0] != '\0') {
			rc |= cm_buf_appendf(b, " — ");
			rc |= idp_page_text(b, p->reason);
		}
		if (p->status == PRF_ST_VALID) {
			rc |= cm_buf_appendf(b, "<form method=\"post\" "
			    "action=\"/proofing\">");
			rc |= idp_page_hidden(b, "csrf", csrf);
			rc |= idp_page_hidden(b, "action", "revoke");
			rc |= idp_page_hidden(b, "uid", uid);
			rc |= idp_page_hidden(b, "id", p->id);
			rc |= field(b, "reason", T(l, "Reason", "理由"), "text",
			    NULL);
			rc |= cm_buf_appendf(b, "<button type=\"submit\">");
			rc |= idp_page_text(b, T(l, "Revoke", "取り消す"));
			rc |= cm_buf_appendf(b, "</button></form>");
		}
		rc |= cm_buf_appendf(b, "</li>");
	}
	rc |= cm_buf_appendf(b, "</ul>");
	prf_history_free(&v, n);
	return rc;
}

static int
add_form_html(struct cm_buf *b, enum idp_lang l, const char *csrf,
    const char *uid)
{
	static const char *const ials[] = { "2", "3", "1" };
	static const char *const methods[] = { "in_person",
	    "supervised_remote", "remote_signature", "remote_document" };
	static const char *const docs[] = { "jp_individual_number_card",
	    "passport", "jp_drivers_license",
	    "jp_residency_card_for_foreigner" };
	int rc = 0;

	rc |= cm_buf_appendf(b, "<h2>");
	rc |= idp_page_text(b, T(l, "Record a proofing", "身元確認を記録"));
	rc |= cm_buf_appendf(b, "</h2><form method=\"post\" action=\"/proofing\""
	    " autocomplete=\"off\" id=\"add\">");
	rc |= idp_page_hidden(b, "csrf", csrf);
	rc |= idp_page_hidden(b, "action", "add");
	rc |= idp_page_hidden(b, "uid", uid);
	rc |= select_box(b, "ial", T(l, "Level (IAL)", "保証レベル (IAL)"),
	    ials, 3);
	rc |= select_box(b, "method", T(l, "Method", "方法"), methods, 4);
	rc |= field(b, "name", T(l, "Name (as verified)", "氏名（確認済み）"),
	    "text", NULL);
	rc |= field(b, "birthdate", T(l, "Date of birth (YYYY-MM-DD)",
	    "生年月日 (YYYY-MM-DD)"), "text", NULL);
	rc |= field(b, "address", T(l, "Address", "住所"), "text", NULL);
	rc |= select_box(b, "evidence_type", T(l, "Evidence", "本人確認書類"),
	    docs, 4);
	rc |= field(b, "issuer", T(l, "Issuer", "発行者"), "text", NULL);
	rc |= field(b, "country", T(l, "Issuing country (JP)",
	    "発行国 (JP)"), "text", "JP");
	rc |= field(b, "document_number", T(l, "Document number",
	    "書類の番号"), "password", NULL);
	rc |= field(b, "issued", T(l, "Issued on (YYYY-MM-DD, optional)",
	    "発行日（任意）"), "text", NULL);
	rc |= field(b, "valid_until", T(l, "Valid until (YYYY-MM-DD)",
	    "有効期限 (YYYY-MM-DD)"), "text", NULL);
	rc |= field(b, "expires", T(l, "Re-proof by (YYYY-MM-DD, optional)",
	    "再確認期限（任意）"), "text", NULL);
	rc |= cm_buf_appendf(b, "<button type=\"submit\">");
	rc |= idp_page_text(b, T(l, "Record", "記録する"));
	rc |= cm_buf_appendf(b, "</button></form>");
	return rc;
}

static void
officer_page(struct idp *idp, struct brk_req *r, struct idp_session *s,
    enum idp_lang l, const char *uid, enum cm_eid err, const char *note,
    const char *record_id, const char *code)
{
	const struct cm_errdef *e = err != CM_E_OK ? cm_errcat_get(err) : NULL;
	const char *csrf = json_string_value(json_object_get(s->data, "csrf"));
	struct cm_buf b;
	char *html = NULL;
	int rc = 0;

	/* a recovery code may be on it: the buffer wipes itself */
	cm_buf_init(&b, 256 * 1024, 1);
	rc |= idp_page_begin(&b, l, T(l, "Identity proofing", "身元確認"), e,
	    brk_req_id(r));
	if (note != NULL && note[0] != '\0') {
		rc |= cm_buf_appendf(&b, "<p class=\"lead\" id=\"why\">");
		rc |= idp_page_text(&b, note);
		rc |= cm_buf_appendf(&b, "</p>");
	}
	if (record_id != NULL) {
		rc |= cm_buf_appendf(&b, "<p class=\"lead\" role=\"status\" "
		    "id=\"recorded\" data-id=\"%s\">", record_id);
		rc |= idp_page_text(&b, T(l, "Recorded.", "記録しました。"));
		rc |= cm_buf_appendf(&b, "</p>");
	}
	if (code != NULL) {
		rc |= cm_buf_appendf(&b, "<p>");
		rc |= idp_page_text(&b, T(l, "One-time recovery code for the "
		    "person (shown once):", "本人に渡す一回限りの回復コード"
		    "（一度だけ表示）:"));
		rc |= cm_buf_appendf(&b, " <code id=\"recovery-code\">%s</code>"
		    "</p>", code);
	}
	rc |= cm_buf_appendf(&b, "<form method=\"get\" action=\"/proofing\">");
	rc |= field(&b, "uid", T(l, "User", "利用者"), "text", uid);
	rc |= cm_buf_appendf(&b, "<button type=\"submit\">");
	rc |= idp_page_text(&b, T(l, "Search", "検索"));
	rc |= cm_buf_appendf(&b, "</button></form>");
	if (uid != NULL && dir_name_check(uid) == 0) {
		int h = history_html(idp, &b, l, csrf, uid);

		if (h < 0 && h != CM_ERR_NOMEM && h != CM_ERR_RANGE) {
			cm_buf_free(&b);
			brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
			return;
		}
		rc |= h;
		if (strcmp(uid, s->uid) != 0)
			rc |= add_form_html(&b, l, csrf, uid);
	}
	if (idp_page_end(&b, rc, &html) != 0)
		html = NULL;
	idp_wa_send_html(r, e ? e->http_status : 200, html);
}

/* The session may act as an officer (for subject).  Otherwise the
 * response is set (a step-up to the hardware key when possible). */
static int
officer_session(struct idp *idp, struct brk_req *r, struct idp_session *s,
    enum idp_lang l, const char *subject)
{
	enum cm_eid e;
	json_t *base;
	int member, hw, rc;

	rc = dir_group_is_member(idp->dir, idp->cfg->prf_officer_group,
	    s->uid, 1);
	if (rc != 0 && rc != CM_ERR_NOTFOUND) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		return -1;
	}
	member = rc == 0;
	e = idp_proofing_officer_ok(member, s->aal, idp_amr_has(s->amr, "hwk"),
	    s->uid, subject);
	if (e == CM_E_OK)
		return 0;
	if (cm_audit_emit(brk_req_id(r), "proofing.officer_refused",
	    "{s:s, s:s?, s:s, s:i}", "uid", s->uid, "subject", subject,
	    "reason", cm_errcat_get(e)->code, "aal", s->aal) != 0) {
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		return -1;
	}
	if (e != CM_E_HWK_REQUIRED || strcmp(brk_req_method(r), "GET") != 0) {
		brk_resp_error(r, e, NULL);
		return -1;
	}
	if ((hw = idp_wa_count(idp, s->uid, 1)) < 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		return -1;
	}
	if (hw == 0) {
		brk_resp_error(r, CM_E_HWK_REQUIRED, NULL);
		return -1;
	}
	if ((base = json_pack("{s:s}", "return", "/proofing")) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return -1;
	}
	idp_wa_stage_start(idp, r, base, s->uid, s->aal, s->amr, s->auth_time,
	    s->key, 1, l);
	json_decref(base);
	return -1;
}

static const char *
fget(const struct brk_form *f, const char *name)
{
	const char *v = NULL;

	return brk_form_get(f, name, &v) == 0 ? v : NULL;
}

static int
fset(char *dst, size_t sz, const char *v)
{
	if (v == NULL) {
		dst[0] = '\0';
		return 0;
	}
	return strlcpy(dst, v, sz) >= sz ? -1 : 0;
}

static void
add_record(struct idp *idp, struct brk_req *r, struct idp_session *s,
    const struct brk_form *f, enum idp_lang l, const char *uid)
{
	struct prf_record *rec = NULL;
	struct idp_recovery_code code;
	prf_key *key = NULL;
	const char *num = fget(f, "document_number"), *ex = fget(f, "expires");
	char why[PRF_REASON_MAX] = "", officer[PRF_OFFICER_MAX];
	enum cm_eid e = CM_E_PRF_INVALID;
	int64_t now = cm_time(), exp;
	int rc, have_code = 0;

	memset(&code, 0, sizeof(code));
	if ((rec = calloc(1, sizeof(*rec))) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	if ((rc = prf_key_load(idp->cfg->prf_key_file, &key)) != 0) {
		cm_err(brk_req_id(r), "proofing.key_unavailable", "{s:s}",
		    "error", cm_strerror(rc));
		e = CM_E_PRF_UNAVAILABLE;
		goto fail;
	}
	snprintf(officer, sizeof(officer), "uid:%s", s->uid);
	rec->kind = PRF_KIND_PERSON;
	rec->status = PRF_ST_VALID;
	rec->time = now;
	rec->expires = now + (int64_t)idp->cfg->prf_validity * 86400;
	if (prf_ial_parse(fget(f, "ial"), &rec->ial) != 0 ||
	    prf_method_parse(fget(f, "method"), &rec->method) != 0 ||
	    fset(rec->subject, sizeof(rec->subject), uid) != 0 ||
	    fset(rec->officer, sizeof(rec->officer), officer) != 0 ||
	    fset(rec->name, sizeof(rec->name), fget(f, "name")) != 0 ||
	    fset(rec->birthdate, sizeof(rec->birthdate),
	    fget(f, "birthdate")) != 0 ||
	    fset(rec->address, sizeof(rec->address), fget(f, "address")) != 0) {
		strlcpy(why, "level, method or a field", sizeof(why));
		goto fail;
	}
	if (num != NULL && num[0] != '\0') {
		struct prf_evidence *ev = &rec->ev[0];

		if (fset(ev->type, sizeof(ev->type),
		    fget(f, "evidence_type")) != 0 ||
		    fset(ev->issuer, sizeof(ev->issuer), fget(f, "issuer")) ||
		    fset(ev->country, sizeof(ev->country),
		    fget(f, "country")) != 0 ||
		    fset(ev->issued, sizeof(ev->issued), fget(f, "issued")) ||
		    fset(ev->expiry, sizeof(ev->expiry),
		    fget(f, "valid_until")) != 0 ||
		    prf_doc_hash(key, ev->type, num, strlen(num),
		    ev->number_hash, ev->number_last4) != 0) {
			strlcpy(why, "evidence: type, document number (4-64 "
			    "letters and digits), country", sizeof(why));
			goto fail;
		}
		rec->nev = 1;
	}
	if (ex != NULL && ex[0] != '\0') {
		if (prf_date_epoch(ex, &exp) != 0 || exp <= now) {
			strlcpy(why, "re-proof by: a future date", sizeof(why));
			goto fail;
		}
		rec->expires = exp;
	}
	if (idp_recovery_generate(&code, 1) != 0) {
		e = CM_E_INTERNAL;
		goto fail;
	}
	have_code = 1;
	rc = prf_add(idp->dir, rec, code.hash, now + idp->cfg->prf_code_ttl,
	    brk_req_id(r), why, sizeof(why));
	if (rc != 0) {
		e = rc == CM_ERR_EXISTS && why[0] != '\0' ? CM_E_PRF_DUPLICATE :
		    rc == CM_ERR_POLICY && strstr(why, "subject") != NULL ?
		    CM_E_PRF_SELF : rc == CM_ERR_INVAL || rc == CM_ERR_POLICY ||
		    rc == CM_ERR_RANGE ? CM_E_PRF_INVALID : rc == CM_ERR_IO ?
		    CM_E_AUDIT_UNAVAILABLE : CM_E_DIR_UNAVAILABLE;
		goto fail;
	}
	officer_page(idp, r, s, l, uid, CM_E_OK, NULL, rec->id, code.code);
	goto out;
 fail:
	officer_page(idp, r, s, l, uid, e, why, NULL, NULL);
 out:
	if (have_code)
		idp_recovery_wipe(&code, 1);
	prf_key_free(&key);
	OPENSSL_cleanse(rec, sizeof(*rec));
	free(rec);
}

static void
revoke_record(struct idp *idp, struct brk_req *r, struct idp_session *s,
    const struct brk_form *f, enum idp_lang l, const char *uid)
{
	const char *id = fget(f, "id"), *reason = fget(f, "reason");
	char by[PRF_OFFICER_MAX];
	enum cm_eid e = CM_E_OK;
	int rc;

	snprintf(by, sizeof(by), "uid:%s", s->uid);
	if (id == NULL || reason == NULL || reason[0] == '\0')
		e = CM_E_PRF_INVALID;
	else if ((rc = prf_revoke(idp->dir, PRF_KIND_PERSON, uid, id, reason,
	    by, brk_req_id(r))) != 0)
		e = rc == CM_ERR_NOTFOUND || rc == CM_ERR_INVAL ?
		    CM_E_PRF_INVALID : rc == CM_ERR_CONFLICT ?
		    CM_E_DIR_CONFLICT : rc == CM_ERR_IO ?
		    CM_E_AUDIT_UNAVAILABLE : CM_E_DIR_UNAVAILABLE;
	officer_page(idp, r, s, l, uid, e, NULL, NULL, NULL);
}

void
idp_h_proofing(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct idp_session *s = NULL;
	struct brk_form *f = NULL;
	const char *csrf = NULL, *action = NULL, *uid = NULL;
	enum idp_lang l = lang_of(r);
	int rc;

	(void)app;
	if ((rc = idp_session_current(idp, r, &s)) != 0) {
		if (rc != CM_ERR_NOTFOUND)
			brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		else if (strcmp(brk_req_method(r), "GET") == 0)
			idp_login_start(idp, r, NULL, "/proofing", l);
		else
			brk_resp_error(r, CM_E_REAUTH_REQUIRED, NULL);
		return;
	}
	if (strcmp(brk_req_method(r), "POST") == 0) {
		if (brk_req_form(r, &f) != 0 ||
		    brk_form_get(f, "csrf", &csrf) != 0 ||
		    !cm_ct_streq(csrf, json_string_value(json_object_get(
		    s->data, "csrf")))) {
			brk_resp_error(r, CM_E_CSRF, NULL);
			goto out;
		}
		if (brk_form_get(f, "action", &action) != 0 ||
		    brk_form_get(f, "uid", &uid) != 0 ||
		    dir_name_check(uid) != 0) {
			brk_resp_error(r, CM_E_BAD_REQUEST, NULL);
			goto out;
		}
	} else if (brk_req_query(r, "uid", &uid) != 0)
		uid = NULL;
	/* separation of duties: the subject check applies to changes */
	if (officer_session(idp, r, s, l, f != NULL ? uid : NULL) != 0)
		goto out;
	if (f == NULL)
		officer_page(idp, r, s, l, uid, CM_E_OK, NULL, NULL, NULL);
	else if (strcmp(action, "add") == 0)
		add_record(idp, r, s, f, l, uid);
	else if (strcmp(action, "revoke") == 0)
		revoke_record(idp, r, s, f, l, uid);
	else
		brk_resp_error(r, CM_E_BAD_REQUEST, NULL);
 out:
	brk_form_free(&f);
	idp_session_free(&s);
}

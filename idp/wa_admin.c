/*
 * idp/wa_admin.c — administrators and their hardware keys.
 *
 * Members of admin_group (default "administrators", nested groups count)
 * need AAL3 with an attested hardware key (amr "hwk") for every action.
 * This is a built-in rule in code, not a policy-file rule, so that no
 * policy file can weaken it: idp_wa_admin_floor() raises whatever the
 * policy decided to a step-up to AAL3/hwk ("builtin:admin-hwk").  The one
 * exception is the account page of an administrator who has no active
 * hardware key yet: AAL2 is enough there ("builtin:admin-enrol"), so the
 * key can be registered (it then waits for a second administrator).
 *
 *   GET  /admin/approvals   pending administrator keys (AAL3 + hwk)
 *   POST /admin/approvals   csrf, uid, key: approve another
 *                           administrator's pending key (two-person rule:
 *                           approving one's own key is refused)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "idp_int.h"
#include "assurance.h"

/* idp_proofing_ok(): idp/proofing.c (identity proofing records). */

int
idp_is_admin(struct idp *idp, const char *uid)
{
	int r;

	if (uid == NULL || idp->cfg->admin_group[0] == '\0')
		return 0;
	r = dir_group_is_member(idp->dir, idp->cfg->admin_group, uid, 1);
	if (r == 0)
		return 1;
	return r == CM_ERR_NOTFOUND ? 0 : -1;
}

int
idp_wa_admin_floor(struct idp *idp, struct brk_req *r, const char *uid,
    const char *client_id, int aal, const json_t *amr,
    struct idp_policy_decision *d)
{
	enum idp_aal need = IDP_AAL3;
	const char *rule = "builtin:admin-hwk";
	int admin, hw;

	if (d->effect == IDP_POLICY_DENY)
		return 0;
	if ((admin = idp_is_admin(idp, uid)) < 0)
		return CM_ERR_UNAVAIL;
	if (!admin || (aal >= IDP_AAL3 && idp_amr_has(amr, "hwk")))
		return 0;
	if (client_id != NULL && strcmp(client_id, "sekimori-account") == 0) {
		if ((hw = idp_wa_count(idp, uid, 1)) < 0)
			return CM_ERR_UNAVAIL;
		if (hw == 0) {
			/* enrolment of the first key: AAL2 on the account
			 * page only */
			need = IDP_AAL2;
			rule = "builtin:admin-enrol";
			if (aal >= IDP_AAL2)
				return 0;
		}
	}
	if (d->effect != IDP_POLICY_ALLOW && d->level >= need &&
	    (need < IDP_AAL3 || d->methods == IDP_AMR_HWK))
		return 0;
	if (d->effect == IDP_POLICY_ALLOW)
		d->effect = IDP_POLICY_STEP_UP;
	d->level = need;
	d->methods = need == IDP_AAL3 ? IDP_AMR_HWK : 0;
	strlcpy(d->rule, rule, sizeof(d->rule));
	strlcpy(d->reason, need == IDP_AAL3 ? "administrators need AAL3 with "
	    "a hardware key" : "administrators enrol keys at AAL2",
	    sizeof(d->reason));
	if (cm_audit_emit(brk_req_id(r), "policy.admin_floor",
	    "{s:s, s:s, s:s, s:i, s:i}", "uid", uid, "client_id",
	    client_id != NULL ? client_id : "", "rule", rule, "level",
	    (int)need, "aal", aal) != 0)
		return CM_ERR_IO;
	return 0;
}

int
idp_wa_admin_key_exists(struct idp *idp)
{
	struct dir_wa_cred **v = NULL;
	size_t n = 0, i;
	int found = 0, a;

	if (dir_wa_list_state(idp->dir, DIR_AUTHN_ACTIVE, &v, &n) != 0)
		return -1;
	for (i = 0; i < n && !found; i++) {
		if (!idp_wa_active(v[i], 1))
			continue;
		if ((a = idp_is_admin(idp, v[i]->uid)) < 0) {
			found = -1;
			break;
		}
		found = a;
	}
	dir_wa_list_free(&v, n);
	return found;
}

static enum idp_lang
lang_of(struct brk_req *r)
{
	const char *l = NULL;

	if (brk_req_query(r, "lang", &l) != 0)
		l = NULL;
	return idp_lang_pick(l, NULL, brk_req_header(r, "Accept-Language"));
}

static void
approvals_page(struct idp *idp, struct brk_req *r, struct idp_session *s,
    enum idp_lang l, enum cm_eid err, int approved)
{
	const struct cm_errdef *e = err != CM_E_OK ? cm_errcat_get(err) : NULL;
	const char *csrf = json_string_value(json_object_get(s->data, "csrf"));
	struct dir_wa_cred **v = NULL;
	struct cm_buf b;
	size_t n = 0, i, shown = 0;
	char *html = NULL;
	int rc = 0;

	if (dir_wa_list_state(idp->dir, DIR_AUTHN_PENDING, &v, &n) != 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		return;
	}
	cm_buf_init(&b, 256 * 1024, 0);
	rc |= idp_page_begin(&b, l, idp_str(l, IDP_S_WA_APPROVALS), e,
	    brk_req_id(r));
	if (approved) {
		rc |= cm_buf_appendf(&b, "<p class=\"lead\" role=\"status\" "
		    "id=\"approved\">");
		rc |= idp_page_text(&b, idp_str(l, IDP_S_WA_APPROVED));
		rc |= cm_buf_appendf(&b, "</p>");
	}
	rc |= cm_buf_appendf(&b, "<ul class=\"keys\" id=\"pending\">");
	for (i = 0; i < n; i++) {
		rc |= cm_buf_appendf(&b, "<li data-uid=\"");
		rc |= idp_page_text(&b, v[i]->uid);
		rc |= cm_buf_appendf(&b, "\" data-key=\"%s\"><dl class=\"trace\">"
		    "<dt>", v[i]->cn);
		rc |= idp_page_text(&b, idp_str(l, IDP_S_WA_OWNER));
		rc |= cm_buf_appendf(&b, "</dt><dd>");
		rc |= idp_page_text(&b, v[i]->uid);
		rc |= cm_buf_appendf(&b, "</dd><dt>");
		rc |= idp_page_text(&b, idp_str(l, IDP_S_WA_LABEL));
		rc |= cm_buf_appendf(&b, "</dt><dd>");
		rc |= idp_page_text(&b, v[i]->label ? v[i]->label : "-");
		rc |= cm_buf_appendf(&b, "</dd><dt>AAGUID</dt><dd><code>");
		rc |= idp_page_text(&b, v[i]->aaguid ? v[i]->aaguid : "-");
		rc |= cm_buf_appendf(&b, "</code></dd></dl>");
		if (strcmp(v[i]->uid, s->uid) != 0) {
			rc |= cm_buf_appendf(&b, "<form method=\"post\" "
			    "action=\"/admin/approvals\">");
			rc |= idp_page_hidden(&b, "csrf", csrf);
			rc |= idp_page_hidden(&b, "uid", v[i]->uid);
			rc |= idp_page_hidden(&b, "key", v[i]->cn);
			rc |= cm_buf_appendf(&b, "<button type=\"submit\">");
			rc |= idp_page_text(&b, idp_str(l, IDP_S_WA_APPROVE));
			rc |= cm_buf_appendf(&b, "</button></form>");
		}
		rc |= cm_buf_appendf(&b, "</li>");
		shown++;
	}
	rc |= cm_buf_appendf(&b, "</ul>");
	if (shown == 0) {
		rc |= cm_buf_appendf(&b, "<p id=\"none\">");
		rc |= idp_page_text(&b, idp_str(l, IDP_S_WA_APPROVALS_NONE));
		rc |= cm_buf_appendf(&b, "</p>");
	}
	rc |= cm_buf_appendf(&b, "<p><a href=\"/account\">");
	rc |= idp_page_text(&b, idp_str(l, IDP_S_ACCOUNT));
	rc |= cm_buf_appendf(&b, "</a></p>");
	dir_wa_list_free(&v, n);
	if (idp_page_end(&b, rc, &html) != 0)
		html = NULL;
	idp_wa_send_html(r, e ? e->http_status : 200, html);
}

/* The session may act as an administrator: a member at AAL3 with a
 * hardware key.  Otherwise the response is set (a step-up to the key
 * when there is one) and non-zero returned. */
static int
admin_session(struct idp *idp, struct brk_req *r, struct idp_session *s,
    enum idp_lang l)
{
	int admin, hw;
	json_t *base;

	if ((admin = idp_is_admin(idp, s->uid)) < 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		return -1;
	}
	if (!admin) {
		if (cm_audit_emit(brk_req_id(r), "admin.refused",
		    "{s:s, s:s}", "uid", s->uid, "reason", "not an "
		    "administrator") != 0)
			cm_err(brk_req_id(r), "audit.write_failed", NULL);
		brk_resp_error(r, CM_E_WA_ADMIN_ONLY, NULL);
		return -1;
	}
	if (s->aal >= IDP_AAL3 && idp_amr_has(s->amr, "hwk"))
		return 0;
	if (cm_audit_emit(brk_req_id(r), "admin.step_up_required",
	    "{s:s, s:i}", "uid", s->uid, "aal", s->aal) != 0) {
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		return -1;
	}
	if ((hw = idp_wa_count(idp, s->uid, 1)) < 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		return -1;
	}
	if (hw == 0 || strcmp(brk_req_method(r), "GET") != 0) {
		brk_resp_error(r, CM_E_HWK_REQUIRED, NULL);
		return -1;
	}
	/* step up this session with the hardware key, then come back */
	if ((base = json_pack("{s:s}", "return", "/admin/approvals")) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return -1;
	}
	idp_wa_stage_start(idp, r, base, s->uid, s->aal, s->amr, s->auth_time,
	    s->key, 1, l);
	json_decref(base);
	return -1;
}

static void
approve(struct idp *idp, struct brk_req *r, struct idp_session *s,
    const struct brk_form *f, enum idp_lang l)
{
	struct dir_wa_cred *c = NULL;
	const char *owner = NULL, *key = NULL;
	enum cm_eid e = CM_E_OK;
	int rc, adm;

	if (brk_form_get(f, "uid", &owner) != 0 ||
	    brk_form_get(f, "key", &key) != 0 || dir_name_check(owner) != 0) {
		brk_resp_error(r, CM_E_BAD_REQUEST, NULL);
		return;
	}
	/* two-person rule: never one's own key */
	if (strcmp(owner, s->uid) == 0)
		e = CM_E_WA_OWN_APPROVAL;
	else if ((rc = dir_wa_get(idp->dir, owner, key, &c)) != 0)
		e = rc == CM_ERR_NOTFOUND || rc == CM_ERR_INVAL ?
		    CM_E_WA_UNKNOWN_KEY : CM_E_DIR_UNAVAILABLE;
	else if (c->state != DIR_AUTHN_PENDING)
		e = CM_E_DIR_CONFLICT;
	else if ((adm = idp_is_admin(idp, owner)) <= 0)
		e = adm < 0 ? CM_E_DIR_UNAVAILABLE : CM_E_WA_ADMIN_ONLY;
	else if (c->trust == NULL || strcmp(c->trust, "trusted_hardware") != 0)
		e = CM_E_WA_ATTESTATION;
	else if ((rc = dir_wa_approve(idp->dir, c, s->uid)) != 0)
		e = rc == CM_ERR_CONFLICT ? CM_E_DIR_CONFLICT :
		    CM_E_DIR_UNAVAILABLE;
	if (cm_audit_emit(brk_req_id(r), e == CM_E_OK ? "webauthn.approved" :
	    "webauthn.approval_refused", "{s:s, s:s, s:s, s:s?}", "approver",
	    s->uid, "uid", owner, "credential", key, "reason", e == CM_E_OK ?
	    NULL : cm_errcat_get(e)->code) != 0)
		e = CM_E_AUDIT_UNAVAILABLE;
	approvals_page(idp, r, s, l, e, e == CM_E_OK);
	dir_wa_free(&c);
}

void
idp_h_admin_approvals(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct idp_session *s = NULL;
	struct brk_form *f = NULL;
	const char *csrf = NULL;
	enum idp_lang l = lang_of(r);
	int rc;

	(void)app;
	if ((rc = idp_session_current(idp, r, &s)) != 0) {
		if (rc != CM_ERR_NOTFOUND)
			brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		else if (strcmp(brk_req_method(r), "GET") == 0)
			idp_login_start(idp, r, NULL, "/admin/approvals", l);
		else
			brk_resp_error(r, CM_E_REAUTH_REQUIRED, NULL);
		return;
	}
	if (strcmp(brk_req_method(r), "POST") == 0 &&
	    (brk_req_form(r, &f) != 0 || brk_form_get(f, "csrf", &csrf) != 0 ||
	    !cm_ct_streq(csrf, json_string_value(json_object_get(s->data,
	    "csrf"))))) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		goto out;
	}
	if (admin_session(idp, r, s, l) != 0)
		goto out;
	if (f != NULL)
		approve(idp, r, s, f, l);
	else
		approvals_page(idp, r, s, l, CM_E_OK, 0);
 out:
	brk_form_free(&f);
	idp_session_free(&s);
}

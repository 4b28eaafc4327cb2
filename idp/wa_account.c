/*
 * idp/wa_account.c — registering and removing WebAuthn credentials from
 * the account page.
 *
 *   POST /webauthn/register/options  csrf (the session's), kind:
 *                                    "passkey" (discoverable, UV) or "key"
 *                                    (security key, direct attestation)
 *   POST /account/webauthn           action=register: credential (the
 *                                    script's JSON), label, code
 *                                    action=remove: key (within five
 *                                    minutes of a sign-in)
 *
 * Administrators (wa_admin.c) may register only attested hardware keys,
 * only when signed in at AAL2 or higher with a valid identity proofing
 * record; the key stays pending until a second administrator approves it,
 * except for the first administrator's key registered with a one-time
 * bootstrap code (brokerctl webauthn bootstrap).  Every step is audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idp_int.h"
#include "assurance.h"

#define IDP_REAUTH_WINDOW	300	/* seconds, as for TOTP removal */

static enum idp_lang
lang_of(struct brk_req *r)
{
	const char *l = NULL;

	if (brk_req_query(r, "lang", &l) != 0)
		l = NULL;
	return idp_lang_pick(l, NULL, brk_req_header(r, "Accept-Language"));
}

/* The session and its CSRF token from the form; a response is set on
 * failure. */
static int
session_form(struct idp *idp, struct brk_req *r, struct idp_session **s,
    struct brk_form **f)
{
	const char *csrf = NULL;
	int rc;

	*s = NULL;
	*f = NULL;
	if ((rc = idp_session_current(idp, r, s)) != 0) {
		brk_resp_error(r, rc == CM_ERR_NOTFOUND ? CM_E_REAUTH_REQUIRED :
		    CM_E_DIR_UNAVAILABLE, NULL);
		return -1;
	}
	if (brk_req_form(r, f) != 0 || brk_form_get(*f, "csrf", &csrf) != 0 ||
	    !cm_ct_streq(csrf, json_string_value(json_object_get((*s)->data,
	    "csrf")))) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		idp_session_free(s);
		brk_form_free(f);
		return -1;
	}
	return 0;
}

/* May uid register now?  Administrators: AAL2+ and identity proofing. */
static enum cm_eid
may_register(struct idp *idp, const struct idp_session *s, int *admin)
{
	*admin = idp_is_admin(idp, s->uid);
	if (*admin < 0)
		return CM_E_DIR_UNAVAILABLE;
	if (!*admin)
		return CM_E_OK;
	if (s->aal < IDP_AAL2)
		return CM_E_WA_AAL2_REQUIRED;
	if (idp_proofing_ok(idp, s->uid, IDP_WA_PROOFING_LEVEL) != 0)
		return CM_E_WA_PROOFING;
	return CM_E_OK;
}

void
idp_h_wa_register_options(struct brk_app *app, struct brk_req *r, void *ctx)
{
	static const int algs[] = { WA_ALG_ES256, WA_ALG_EDDSA, WA_ALG_RS256 };
	struct idp *idp = ctx;
	struct idp_session *s = NULL;
	struct brk_form *f = NULL;
	struct dir_wa_cred **v = NULL;
	wa_challenge_t *ch = NULL;
	uint8_t handle[WA_USER_HANDLE_MAX_LEN];
	size_t hlen = 0, n = 0, i;
	const char *kind = NULL;
	char key[44], *ser = NULL, *chb = NULL, *hb = NULL;
	json_t *st = NULL, *params = NULL, *excl = NULL, *o = NULL;
	enum cm_eid e;
	int admin = 0, passkey, hw, rc;

	(void)app;
	if (session_form(idp, r, &s, &f) != 0)
		return;
	if (brk_form_get(f, "kind", &kind) != 0 ||
	    (strcmp(kind, "passkey") != 0 && strcmp(kind, "key") != 0)) {
		brk_resp_error(r, CM_E_BAD_REQUEST, "kind: passkey or key");
		goto out;
	}
	if ((e = may_register(idp, s, &admin)) != CM_E_OK ||
	    (e = idp_proofing_enrol_check(idp, r, s->uid, "webauthn")) !=
	    CM_E_OK) {
		if (cm_audit_emit(brk_req_id(r), "webauthn.enrolment_refused",
		    "{s:s, s:s}", "uid", s->uid, "reason",
		    cm_errcat_get(e)->code) != 0)
			e = CM_E_AUDIT_UNAVAILABLE;
		brk_resp_error(r, e, NULL);
		goto out;
	}
	/* administrators: an attested, device-bound hardware key only */
	hw = admin;
	passkey = !hw && strcmp(kind, "passkey") == 0;
	if ((rc = idp_wa_user_handle(idp, s->uid, handle, &hlen)) != 0 ||
	    (rc = dir_wa_list(idp->dir, s->uid, &v, &n)) != 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	if (n >= DIR_WA_MAX_PER_USER) {
		brk_resp_error(r, CM_E_FACTOR_EXISTS, NULL);
		goto out;
	}
	if ((rc = wa_challenge_new(WA_PURPOSE_REGISTER, handle, hlen, s->key,
	    0, &ch)) != 0 || wa_challenge_serialize(ch, &ser) != 0 ||
	    wa_challenge_b64url(ch, &chb) != 0 ||
	    cm_b64url_encode(handle, hlen, &hb) != 0 ||
	    idp_wa_state_key("reg", s->key, key) != 0 ||
	    (params = json_array()) == NULL || (excl = json_array()) == NULL ||
	    (st = json_pack("{s:s, s:s, s:b, s:b}", "ch", ser, "kind", kind,
	    "hw", hw, "uv", passkey || hw)) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		json_array_append_new(params, json_pack("{s:s, s:i}", "type",
		    "public-key", "alg", algs[i]));
	for (i = 0; i < n; i++)
		json_array_append_new(excl, json_pack("{s:s, s:s}", "type",
		    "public-key", "id", v[i]->cred_id));
	if ((rc = idp_wa_put(idp, key, s->uid, st, cm_time() +
	    WA_CHALLENGE_DEF_TTL)) != 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	o = json_pack("{s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:O, s:i,"
	    " s:s, s:{s:s, s:b, s:s}, s:O}}", "publicKey",
	    "rp", "id", idp_wa_rp_id(idp), "name", "Sekimori",
	    "user", "id", hb, "name", s->uid, "displayName", s->uid,
	    "challenge", chb, "pubKeyCredParams", params,
	    "timeout", WA_CHALLENGE_DEF_TTL * 1000,
	    "attestation", passkey ? "none" : "direct",
	    "authenticatorSelection", "residentKey",
	    passkey ? "required" : "discouraged", "requireResidentKey",
	    passkey, "userVerification", passkey || hw ? "required" :
	    "preferred", "excludeCredentials", excl);
	if (o == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	brk_resp_json(r, 200, o);
 out:
	free(ser);
	free(chb);
	free(hb);
	json_decref(st);
	json_decref(params);
	json_decref(excl);
	wa_challenge_free(&ch);
	dir_wa_list_free(&v, n);
	brk_form_free(&f);
	idp_session_free(&s);
}

/* A bootstrap code for uid, still valid, while no administrator has an
 * active hardware key: the state key to delete, else an error. */
static enum cm_eid
bootstrap_check(struct idp *idp, const char *uid, const char *code,
    char key[44])
{
	struct dir_state *st = NULL;
	json_error_t jerr;
	json_t *o = NULL;
	const char *purpose = NULL, *who = NULL;
	enum cm_eid e = CM_E_WA_BOOTSTRAP;
	int rc;

	if (strlen(code) != 43 || dir_wa_key(code, key) != 0)
		return CM_E_WA_BOOTSTRAP;
	if ((rc = dir_state_get(idp->dir, IDP_ST_WA, key, cm_time(),
	    &st)) != 0)
		return rc == CM_ERR_NOTFOUND ? CM_E_WA_BOOTSTRAP :
		    CM_E_DIR_UNAVAILABLE;
	o = json_loads(st->data, JSON_REJECT_DUPLICATES, &jerr);
	if (o != NULL && json_unpack_ex(o, &jerr, 0, "{s:s, s:s}", "purpose",
	    &purpose, "uid", &who) == 0 && strcmp(purpose, "bootstrap") == 0 &&
	    strcmp(who, uid) == 0) {
		rc = idp_wa_admin_key_exists(idp);
		e = rc < 0 ? CM_E_DIR_UNAVAILABLE : rc > 0 ?
		    CM_E_WA_BOOTSTRAP : CM_E_OK;
	}
	json_decref(o);
	dir_state_free(&st);
	return e;
}

/* The registration response the script sends. */
static int
attestation_parse(const char *s, char **id, uint8_t **cd, size_t *cdlen,
    uint8_t **ao, size_t *aolen, const char **tr, size_t *ntr, json_t **keep)
{
	json_error_t jerr;
	json_t *o, *resp = NULL, *t, *v;
	const char *i1 = NULL, *i2 = NULL, *type = NULL;
	size_t k;

	*id = NULL;
	*cd = *ao = NULL;
	*ntr = 0;
	*keep = NULL;
	o = json_loadb(s, strlen(s), JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || json_unpack_ex(o, &jerr, 0, "{s:s, s:s, s:s, s:o}",
	    "id", &i1, "rawId", &i2, "type", &type, "response", &resp) != 0 ||
	    !json_is_object(resp) || strcmp(i1, i2) != 0 ||
	    strcmp(type, "public-key") != 0 || strlen(i2) > DIR_WA_ID_MAX ||
	    idp_wa_b64_member(resp, "clientDataJSON", WA_CLIENTDATA_MAX_LEN,
	    cd, cdlen) != 0 ||
	    idp_wa_b64_member(resp, "attestationObject", WA_ATTOBJ_MAX_LEN, ao,
	    aolen) != 0 || (*id = strdup(i2)) == NULL) {
		free(*cd);
		free(*ao);
		*cd = *ao = NULL;
		json_decref(o);
		return CM_ERR_INVAL;
	}
	t = json_object_get(resp, "transports");
	json_array_foreach(t, k, v)
		if (json_is_string(v) && *ntr < 8)
			tr[(*ntr)++] = json_string_value(v);
	*keep = o;		/* the transports borrow from it */
	return 0;
}

static void
wa_register(struct idp *idp, struct brk_req *r, struct idp_session *s,
    const struct brk_form *f)
{
	struct dir_wa_cred_new nc;
	struct wa_reg_req req;
	wa_challenge_t *ch = NULL;
	wa_cred_t *cred = NULL;
	const char *credential = NULL, *label = NULL, *code = NULL, *chs;
	const char *tr[8];
	size_t ntr = 0, cdlen = 0, aolen = 0;
	uint8_t *cd = NULL, *ao = NULL;
	char key[44], codekey[44], *id = NULL, *rec = NULL, *pk = NULL;
	char aag[37];
	json_t *st = NULL, *keep = NULL;
	enum cm_eid e;
	int admin = 0, hw, rc, boot = 0;

	if ((e = may_register(idp, s, &admin)) != CM_E_OK)
		goto refuse;
	/* the stored challenge goes first, whatever follows */
	if (idp_wa_state_key("reg", s->key, key) != 0 ||
	    (rc = idp_wa_take(idp, key, &st)) != 0 ||
	    (chs = json_string_value(json_object_get(st, "ch"))) == NULL ||
	    wa_challenge_parse(chs, strlen(chs), &ch) != 0) {
		e = CM_E_LOGIN_EXPIRED;
		goto refuse;
	}
	hw = json_is_true(json_object_get(st, "hw"));
	if (admin && !hw) {
		e = CM_E_WA_ATTESTATION;	/* became an admin meanwhile */
		goto refuse;
	}
	if (brk_form_get(f, "credential", &credential) != 0 ||
	    attestation_parse(credential, &id, &cd, &cdlen, &ao, &aolen, tr,
	    &ntr, &keep) != 0) {
		e = CM_E_WA_FAILED;
		goto refuse;
	}
	if (brk_form_get(f, "label", &label) != 0 || label[0] == '\0')
		label = NULL;
	if (label != NULL && (strlen(label) > DIR_WA_LABEL_MAX ||
	    !brk_utf8_valid((const uint8_t *)label, strlen(label)))) {
		e = CM_E_BAD_REQUEST;
		goto refuse;
	}
	if (admin && brk_form_get(f, "code", &code) == 0 && code[0] != '\0') {
		if ((e = bootstrap_check(idp, s->uid, code, codekey)) !=
		    CM_E_OK)
			goto refuse;
		boot = 1;
	}
	memset(&req, 0, sizeof(req));
	req.clientdata = cd;
	req.clientdata_len = cdlen;
	req.attobj = ao;
	req.attobj_len = aolen;
	req.transports = tr;
	req.ntransports = ntr;
	req.flags = (hw ? WA_F_REQUIRE_HARDWARE : 0) |
	    (json_is_true(json_object_get(st, "uv")) ? WA_F_REQUIRE_UV : 0);
	if ((rc = idp_wa_reg_verify(idp, ch, s->key, &req, &cred)) != 0) {
		cm_info(brk_req_id(r), "webauthn.registration_refused",
		    "{s:s, s:s}", "uid", s->uid, "reason", wa_strerror(rc));
		e = idp_wa_error(rc);
		goto refuse;
	}
	if (wa_cred_to_json(cred, &rec) != 0 ||
	    cm_b64url_encode(wa_cred_pubkey_ptr(cred),
	    wa_cred_pubkey_len(cred), &pk) != 0) {
		e = CM_E_INTERNAL;
		goto refuse;
	}
	if (boot) {
		/* single use: of two registrations with one code, one wins */
		if ((rc = dir_state_delete(idp->dir, IDP_ST_WA, codekey)) != 0) {
			e = rc == CM_ERR_NOTFOUND ? CM_E_WA_BOOTSTRAP :
			    CM_E_DIR_UNAVAILABLE;
			goto refuse;
		}
	}
	wa_aaguid_format(wa_cred_aaguid_ptr(cred), aag);
	memset(&nc, 0, sizeof(nc));
	nc.uid = s->uid;
	nc.cred_id = id;
	nc.public_key = pk;
	nc.record = rec;
	nc.sign_count = wa_cred_sign_count(cred);
	nc.aaguid = aag;
	nc.transports = tr;
	nc.ntransports = ntr;
	nc.label = label;
	nc.trust = wa_trust_name(wa_cred_trust(cred));
	/* an administrator's key waits for a second administrator */
	nc.state = admin && !boot ? DIR_AUTHN_PENDING : DIR_AUTHN_ACTIVE;
	if ((rc = dir_wa_add(idp->dir, &nc)) != 0) {
		e = rc == CM_ERR_EXISTS ? CM_E_WA_KEY_EXISTS :
		    rc == CM_ERR_INVAL ? CM_E_BAD_REQUEST : CM_E_DIR_UNAVAILABLE;
		goto refuse;
	}
	if (cm_audit_emit(brk_req_id(r), admin && !boot ?
	    "webauthn.enrolment_pending" : "factor.enrolled",
	    "{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "uid", s->uid,
	    "method", "webauthn", "aaguid", aag, "trust", nc.trust, "state",
	    dir_authn_state_str(nc.state), "admin", admin, "bootstrap", boot,
	    "backup_eligible", wa_cred_be(cred)) != 0) {
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		goto out;
	}
	idp_redirect(r, "/account");
	goto out;
 refuse:
	if (cm_audit_emit(brk_req_id(r), "webauthn.enrolment_refused",
	    "{s:s, s:s, s:b}", "uid", s->uid, "reason",
	    cm_errcat_get(e)->code, "admin", admin > 0) != 0)
		e = CM_E_AUDIT_UNAVAILABLE;
	brk_resp_error(r, e, NULL);
 out:
	free(id);
	free(cd);
	free(ao);
	free(rec);
	free(pk);
	json_decref(st);
	json_decref(keep);
	wa_challenge_free(&ch);
	wa_cred_free(&cred);
}

static void
wa_remove(struct idp *idp, struct brk_req *r, struct idp_session *s,
    const struct brk_form *f)
{
	struct dir_wa_cred *c = NULL;
	const char *key = NULL;
	int rc;

	/* removing a factor needs a recent sign-in (ASVS V7) */
	if (cm_time() - s->auth_time > IDP_REAUTH_WINDOW) {
		idp_login_start(idp, r, NULL, "/account", lang_of(r));
		return;
	}
	if (brk_form_get(f, "key", &key) != 0 ||
	    (rc = dir_wa_get(idp->dir, s->uid, key, &c)) != 0) {
		brk_resp_error(r, CM_E_WA_UNKNOWN_KEY, NULL);
		return;
	}
	if ((rc = dir_wa_delete(idp->dir, c)) != 0 && rc != CM_ERR_NOTFOUND) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	if (cm_audit_emit(brk_req_id(r), "factor.removed",
	    "{s:s, s:s, s:s}", "uid", s->uid, "method", "webauthn",
	    "credential", c->cn) != 0)
		cm_err(brk_req_id(r), "audit.write_failed", NULL);
	idp_redirect(r, "/account");
 out:
	dir_wa_free(&c);
}

void
idp_h_account_webauthn(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct idp_session *s = NULL;
	struct brk_form *f = NULL;
	const char *action = NULL;

	(void)app;
	if (session_form(idp, r, &s, &f) != 0)
		return;
	if (brk_form_get(f, "action", &action) != 0)
		brk_resp_error(r, CM_E_BAD_REQUEST, NULL);
	else if (strcmp(action, "register") == 0)
		wa_register(idp, r, s, f);
	else if (strcmp(action, "remove") == 0)
		wa_remove(idp, r, s, f);
	else
		brk_resp_error(r, CM_E_BAD_REQUEST, NULL);
	brk_form_free(&f);
	idp_session_free(&s);
}

/* GeneralizedTime "YYYYmmddHHMMSSZ" as "YYYY-mm-dd HH:MM UTC". */
static void
show_time(const char *g, char out[32])
{
	if (g == NULL || strlen(g) < 14) {
		out[0] = '\0';
		return;
	}
	snprintf(out, 32, "%.4s-%.2s-%.2s %.2s:%.2s UTC", g, g + 4, g + 6,
	    g + 8, g + 10);
}

static int
register_form(struct cm_buf *b, enum idp_lang l, const char *csrf,
    const char *kind, enum idp_str label, int admin)
{
	int r = 0;

	r |= cm_buf_appendf(b, "<form method=\"post\" action=\"/account/"
	    "webauthn\" id=\"wa-register-%s\" data-wa=\"register\" "
	    "data-options=\"/webauthn/register/options\" hidden>", kind);
	r |= idp_page_hidden(b, "csrf", csrf);
	r |= idp_page_hidden(b, "action", "register");
	r |= idp_page_hidden(b, "kind", kind);
	r |= idp_page_hidden(b, "credential", "");
	r |= cm_buf_appendf(b, "<label for=\"wa-label-%s\">", kind);
	r |= idp_page_text(b, idp_str(l, IDP_S_WA_LABEL));
	r |= cm_buf_appendf(b, "</label><input type=\"text\" id=\"wa-label-%s\""
	    " name=\"label\" maxlength=\"64\" autocomplete=\"off\">", kind);
	if (admin) {
		r |= cm_buf_appendf(b, "<label for=\"wa-code\">");
		r |= idp_page_text(b, idp_str(l, IDP_S_WA_CODE));
		r |= cm_buf_appendf(b, "</label><input type=\"text\" "
		    "id=\"wa-code\" name=\"code\" maxlength=\"64\" "
		    "autocomplete=\"off\" spellcheck=\"false\">");
	}
	r |= cm_buf_appendf(b, "<button type=\"submit\" id=\"wa-add-%s\">",
	    kind);
	r |= idp_page_text(b, idp_str(l, label));
	r |= cm_buf_appendf(b, "</button><p class=\"hint\" role=\"status\" "
	    "data-wa-status></p></form>");
	return r ? CM_ERR_RANGE : 0;
}

int
idp_wa_account_section(struct idp *idp, const struct idp_session *s,
    enum idp_lang l, char **html)
{
	struct dir_wa_cred **v = NULL;
	const char *csrf = json_string_value(json_object_get(s->data, "csrf"));
	size_t n = 0, i;
	struct cm_buf b;
	char t1[32], t2[32];
	int r = 0, admin;

	*html = NULL;
	if ((admin = idp_is_admin(idp, s->uid)) < 0 ||
	    dir_wa_list(idp->dir, s->uid, &v, &n) != 0) {
		dir_wa_list_free(&v, n);
		return CM_ERR_UNAVAIL;
	}
	cm_buf_init(&b, 64 * 1024, 0);
	r |= cm_buf_appendf(&b, "<h2>");
	r |= idp_page_text(&b, idp_str(l, IDP_S_WA_KEYS));
	r |= cm_buf_appendf(&b, "</h2>");
	if (n == 0) {
		r |= cm_buf_appendf(&b, "<p id=\"wa-none\">");
		r |= idp_page_text(&b, idp_str(l, IDP_S_WA_NONE));
		r |= cm_buf_appendf(&b, "</p>");
	}
	r |= cm_buf_appendf(&b, "<ul class=\"keys\" id=\"wa-keys\">");
	for (i = 0; i < n; i++) {
		show_time(v[i]->created, t1);
		show_time(v[i]->last_used, t2);
		r |= cm_buf_appendf(&b, "<li data-key=\"%s\" data-state=\"%s\">"
		    "<strong>", v[i]->cn, dir_authn_state_str(v[i]->state));
		r |= idp_page_text(&b, v[i]->label != NULL ? v[i]->label :
		    v[i]->cn);
		r |= cm_buf_appendf(&b, "</strong><dl class=\"trace\"><dt>");
		r |= idp_page_text(&b, idp_str(l, IDP_S_WA_STATE));
		r |= cm_buf_appendf(&b, "</dt><dd class=\"wa-state\">");
		r |= idp_page_text(&b, idp_str(l, v[i]->state ==
		    DIR_AUTHN_ACTIVE ? IDP_S_WA_ACTIVE : v[i]->state ==
		    DIR_AUTHN_PENDING ? IDP_S_WA_PENDING : IDP_S_WA_SUSPENDED));
		r |= cm_buf_appendf(&b, "</dd><dt>");
		r |= idp_page_text(&b, idp_str(l, IDP_S_WA_CREATED));
		r |= cm_buf_appendf(&b, "</dt><dd>%s</dd><dt>", t1);
		r |= idp_page_text(&b, idp_str(l, IDP_S_WA_LAST_USED));
		r |= cm_buf_appendf(&b, "</dt><dd>");
		r |= idp_page_text(&b, t2[0] ? t2 : idp_str(l, IDP_S_WA_NEVER));
		r |= cm_buf_appendf(&b, "</dd></dl><form method=\"post\" "
		    "action=\"/account/webauthn\">");
		r |= idp_page_hidden(&b, "csrf", csrf);
		r |= idp_page_hidden(&b, "action", "remove");
		r |= idp_page_hidden(&b, "key", v[i]->cn);
		r |= cm_buf_appendf(&b, "<button type=\"submit\" "
		    "class=\"secondary\">");
		r |= idp_page_text(&b, idp_str(l, IDP_S_WA_REMOVE));
		r |= cm_buf_appendf(&b, "</button></form></li>");
	}
	r |= cm_buf_appendf(&b, "</ul>");
	if (!admin)
		r |= register_form(&b, l, csrf, "passkey",
		    IDP_S_WA_ADD_PASSKEY, 0);
	r |= register_form(&b, l, csrf, "key", IDP_S_WA_ADD_KEY, admin);
	r |= cm_buf_appendf(&b, "<p class=\"hint\" id=\"wa-nojs\">");
	r |= idp_page_text(&b, idp_str(l, IDP_S_WA_NOJS));
	r |= cm_buf_appendf(&b, "</p><script src=\"/static/webauthn.js\" "
	    "defer></script>");
	dir_wa_list_free(&v, n);
	if (r != 0 || cm_buf_cstr(&b) != 0) {
		cm_buf_free(&b);
		return CM_ERR_RANGE;
	}
	*html = (char *)b.data;
	return 0;
}

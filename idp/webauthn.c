/*
 * idp/webauthn.c — WebAuthn in the IdP: the relying-party configuration
 * (fido/ does the ceremonies), the JSON endpoints the page script calls,
 * registration from the account page, the "webauthn" login stage (second
 * factor, AAL3 hardware key, step-up) and usernameless passkey sign-in.
 *
 *   POST /webauthn/register/options  signed in; csrf, kind (passkey|key)
 *                                    -> PublicKeyCredentialCreationOptions
 *   POST /account/webauthn           action=register (credential, label,
 *                                    kind, code) | action=remove (key)
 *   POST /webauthn/login/options     tx, csrf -> ...RequestOptions (the
 *                                    stage's user, or usernameless on the
 *                                    password stage)
 *   GET  /login/webauthn?tx=         the stage page (a button)
 *   POST /login/webauthn             tx, csrf, credential: verify, then
 *                                    finish the login like the OTP stage
 *   GET  /static/webauthn.js         the page script (no inline script)
 *
 * Challenges live in "wa" state entries keyed by a hash of what they are
 * bound to (the SSO session for registration, the login transaction for
 * authentication), so a new options call replaces the old one; they are
 * deleted before a response is verified (take-and-delete), and the fido/
 * challenge object is bound to the same session string.
 *
 * Credentials are directory children of their user (dir_webauthn.c).  A
 * sign-count regression suspends the credential (audited).  Administrators
 * (wa_admin.c) need an attested hardware key, pending until a second
 * administrator approves it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "idp_int.h"
#include "assurance.h"

struct idp_wa {
	pthread_rwlock_t	 lock;		/* rp and mds (MDS reload) */
	wa_rp_t			*rp;
	wa_mds_t		*mds;		/* NULL: no MDS configured */
	char			 rp_id[WA_RP_ID_MAX_LEN + 1];
	char			 origin[WA_ORIGIN_MAX_LEN + 1];
};

/* ---- configuration and MDS --------------------------------------------- */

/* The host of an https://host[:port][/path] URL. */
static int
url_host(const char *url, char *out, size_t len)
{
	const char *h = strstr(url, "://"), *e;
	size_t n;

	if (h == NULL)
		return CM_ERR_INVAL;
	h += 3;
	e = h + strcspn(h, ":/");
	n = (size_t)(e - h);
	if (n == 0 || n >= len)
		return CM_ERR_INVAL;
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

/* scheme://host[:port] of a URL. */
static int
url_origin(const char *url, char *out, size_t len)
{
	const char *h = strstr(url, "://");
	size_t n;

	if (h == NULL)
		return CM_ERR_INVAL;
	n = (size_t)(h + 3 - url) + strcspn(h + 3, "/?#");
	if (n >= len)
		return CM_ERR_INVAL;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

static int
read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f;
	uint8_t *b;
	size_t n;

	*out = NULL;
	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return CM_ERR_NOTFOUND;
	if ((b = malloc(65536 + 1)) == NULL) {
		fclose(f);
		return CM_ERR_NOMEM;
	}
	n = fread(b, 1, 65536 + 1, f);
	fclose(f);
	if (n == 0 || n > 65536) {
		free(b);
		return CM_ERR_RANGE;
	}
	*out = b;
	*len = n;
	return 0;
}

/* A relying party from the configuration (and the MDS, borrowed). */
static int
build_rp(struct idp *idp, const wa_mds_t *mds, wa_rp_t **out)
{
	struct idp_wa *w = idp->wa;
	char list[sizeof(idp->cfg->wa_aaguids)], *save = NULL, *t;
	uint8_t aag[WA_AAGUID_LEN];
	wa_rp_t *rp;
	int r;

	*out = NULL;
	if ((rp = wa_rp_new()) == NULL)
		return CM_ERR_NOMEM;
	if ((r = wa_rp_set_id(rp, w->rp_id)) != 0 ||
	    (r = wa_rp_add_origin(rp, w->origin)) != 0) {
		cm_err(NULL, "webauthn.config", "{s:s, s:s, s:s, s:s}", "rp_id",
		    w->rp_id, "origin", w->origin, "error", wa_strerror(r),
		    "hint", "WebAuthn needs an https origin (or http://localhost)"
		    " and a domain as RP ID: set webauthn_origin and "
		    "webauthn_rp_id");
		fprintf(stderr, "brokerd: WebAuthn: origin %s / RP ID %s: %s "
		    "(set webauthn_origin and webauthn_rp_id)\n", w->origin,
		    w->rp_id, wa_strerror(r));
		goto fail;
	}
	if (idp->cfg->wa_roots_dir[0] != '\0' &&
	    (r = wa_rp_load_roots(rp, idp->cfg->wa_roots_dir)) != 0) {
		cm_err(NULL, "webauthn.roots_load_failed", "{s:s, s:s}", "dir",
		    idp->cfg->wa_roots_dir, "error", wa_strerror(r));
		goto fail;
	}
	strlcpy(list, idp->cfg->wa_aaguids, sizeof(list));
	for (t = strtok_r(list, ", ", &save); t != NULL;
	    t = strtok_r(NULL, ", ", &save)) {
		if ((r = wa_aaguid_parse(t, strlen(t), aag)) != 0 ||
		    (r = wa_rp_add_aaguid(rp, aag)) != 0) {
			cm_err(NULL, "webauthn.config", "{s:s, s:s}",
			    "webauthn_aaguids", t, "error", wa_strerror(r));
			goto fail;
		}
	}
	if (mds != NULL && (r = wa_rp_set_mds(rp, mds)) != 0)
		goto fail;
	*out = rp;
	return 0;
 fail:
	wa_rp_free(&rp);
	return r != 0 ? r : CM_ERR_INVAL;
}

static int
load_mds(struct idp *idp, wa_mds_t **out)
{
	uint8_t *root = NULL;
	size_t len = 0;
	wa_mds_t *m = NULL;
	int r;

	*out = NULL;
	if (idp->cfg->wa_mds_file[0] == '\0')
		return 0;
	if (idp->cfg->wa_mds_root[0] == '\0') {
		cm_err(NULL, "webauthn.mds_no_root", NULL);
		return CM_ERR_INVAL;
	}
	if ((r = read_file(idp->cfg->wa_mds_root, &root, &len)) != 0)
		goto out;
	if ((m = wa_mds_new()) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = wa_mds_set_root_pem(m, root, len)) != 0 ||
	    (r = wa_mds_load_file(m, idp->cfg->wa_mds_file)) != 0)
		goto out;
	*out = m;
	m = NULL;
 out:
	if (r != 0)
		cm_err(NULL, "webauthn.mds_load_failed", "{s:s, s:s}", "file",
		    idp->cfg->wa_mds_file, "error", wa_strerror(r));
	wa_mds_free(&m);
	free(root);
	return r;
}

/* End every SSO session of uid (a suspended key may have made them). */
static size_t
sessions_end(struct idp *idp, const char *uid)
{
	char **keys = NULL;
	size_t n = 0, i, gone = 0;

	if (dir_state_find(idp->dir, IDP_ST_SESS, DIR_STATE_BY_SUBJECT, uid,
	    &keys, &n) != 0)
		return 0;
	for (i = 0; i < n; i++)
		if (dir_state_delete(idp->dir, IDP_ST_SESS, keys[i]) == 0)
			gone++;
	dir_names_free(&keys, n);
	return gone;
}

int
idp_wa_suspend(struct idp *idp, const char *rid, struct dir_wa_cred *c,
    const char *reason, int end_sessions)
{
	size_t gone = 0;
	int r;

	if (c->state == DIR_AUTHN_SUSPENDED)
		return 0;
	if ((r = dir_wa_set_state(idp->dir, c, c->state,
	    DIR_AUTHN_SUSPENDED)) != 0 && r != CM_ERR_CONFLICT)
		return r;
	if (r == 0)
		c->state = DIR_AUTHN_SUSPENDED;
	if (end_sessions)
		gone = sessions_end(idp, c->uid);
	if (cm_audit_emit(rid, "webauthn.suspended",
	    "{s:s, s:s, s:s, s:s?, s:I}", "uid", c->uid, "credential", c->cn,
	    "reason", reason, "aaguid", c->aaguid, "sessions_ended",
	    (json_int_t)gone) != 0)
		return CM_ERR_IO;
	/* tell the receivers (PEPs, the SIEM): CAEP credential-change */
	{
		json_t *sub = json_pack("{s:s, s:s, s:s}", "format", "iss_sub",
		    "iss", idp->issuer, "sub", c->uid);
		json_t *f = json_pack("{s:s, s:s, s:s, s:s?}", "credential_type",
		    "fido2-roaming", "change_type", "revoke", "reason_admin",
		    reason, "fido2_aaguid", c->aaguid);

		idp_ssf_emit(idp, rid, "credential-change", sub, f);
		json_decref(sub);
		json_decref(f);
	}
	return 0;
}

/* After a new BLOB: suspend every key of a revoked or compromised model
 * and end its owner's sessions. */
static void
mds_sweep(struct idp *idp, const wa_mds_t *m)
{
	uint8_t *aag = NULL;
	size_t n = 0, i, k, nc;
	struct dir_wa_cred **v;
	char s[37];

	if (m == NULL || wa_mds_compromised_aaguids(m, &aag, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		wa_aaguid_format(aag + i * WA_AAGUID_LEN, s);
		v = NULL;
		nc = 0;
		if (dir_wa_find_aaguid(idp->dir, s, &v, &nc) != 0) {
			cm_err(NULL, "webauthn.mds_sweep_failed", "{s:s}",
			    "aaguid", s);
			continue;
		}
		for (k = 0; k < nc; k++)
			if (v[k]->state != DIR_AUTHN_SUSPENDED &&
			    idp_wa_suspend(idp, NULL, v[k], "mds", 1) != 0)
				cm_err(NULL, "webauthn.suspend_failed",
				    "{s:s, s:s}", "uid", v[k]->uid,
				    "credential", v[k]->cn);
		dir_wa_list_free(&v, nc);
	}
	free(aag);
}

int
idp_wa_init(struct idp *idp)
{
	struct idp_wa *w;
	int r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CM_ERR_NOMEM;
	pthread_rwlock_init(&w->lock, NULL);
	idp->wa = w;
	if (idp->cfg->wa_rp_id[0] != '\0')
		strlcpy(w->rp_id, idp->cfg->wa_rp_id, sizeof(w->rp_id));
	else if (url_host(idp->issuer, w->rp_id, sizeof(w->rp_id)) != 0)
		goto bad;
	if (idp->cfg->wa_origin[0] != '\0')
		strlcpy(w->origin, idp->cfg->wa_origin, sizeof(w->origin));
	else if (url_origin(idp->issuer, w->origin, sizeof(w->origin)) != 0)
		goto bad;
	if ((r = load_mds(idp, &w->mds)) != 0 ||
	    (r = build_rp(idp, w->mds, &w->rp)) != 0) {
		idp_wa_free(idp);
		return r;
	}
	cm_info(NULL, "webauthn.ready", "{s:s, s:s, s:b, s:I}", "rp_id",
	    w->rp_id, "origin", w->origin, "mds", w->mds != NULL,
	    "mds_serial", (json_int_t)(w->mds ? wa_mds_serial(w->mds) : 0));
	mds_sweep(idp, w->mds);
	return 0;
 bad:
	cm_err(NULL, "webauthn.config", "{s:s}", "issuer", idp->issuer);
	idp_wa_free(idp);
	return CM_ERR_INVAL;
}

void
idp_wa_free(struct idp *idp)
{
	struct idp_wa *w = idp->wa;

	if (w == NULL)
		return;
	wa_rp_free(&w->rp);
	wa_mds_free(&w->mds);
	pthread_rwlock_destroy(&w->lock);
	free(w);
	idp->wa = NULL;
}

int
idp_wa_reload(struct idp *idp)
{
	struct idp_wa *w = idp->wa;
	wa_mds_t *m = NULL, *oldm = NULL;
	wa_rp_t *rp = NULL, *oldrp = NULL;
	int64_t have;
	int r;

	if (w == NULL || idp->cfg->wa_mds_file[0] == '\0')
		return 0;
	if ((r = load_mds(idp, &m)) != 0)
		return r;		/* the old BLOB stays */
	pthread_rwlock_rdlock(&w->lock);
	have = w->mds != NULL ? wa_mds_serial(w->mds) : 0;
	pthread_rwlock_unlock(&w->lock);
	if (wa_mds_serial(m) <= have) {
		/* the same BLOB again, or an older one (replay): keep */
		if (wa_mds_serial(m) < have)
			cm_warn(NULL, "webauthn.mds_older", "{s:I, s:I}",
			    "loaded", (json_int_t)have, "file",
			    (json_int_t)wa_mds_serial(m));
		wa_mds_free(&m);
		return 0;
	}
	if ((r = build_rp(idp, m, &rp)) != 0) {
		wa_mds_free(&m);
		return r;
	}
	pthread_rwlock_wrlock(&w->lock);
	oldrp = w->rp;
	oldm = w->mds;
	w->rp = rp;
	w->mds = m;
	pthread_rwlock_unlock(&w->lock);
	wa_rp_free(&oldrp);
	wa_mds_free(&oldm);
	cm_info(NULL, "webauthn.mds_loaded", "{s:I}", "serial",
	    (json_int_t)wa_mds_serial(m));
	/* read-only use of m outside the lock: only a later reload frees
	 * it, and reloads run on the main thread one at a time */
	mds_sweep(idp, m);
	return 0;
}

/* ---- small helpers ------------------------------------------------------ */

const char *
idp_wa_rp_id(struct idp *idp)
{
	return idp->wa->rp_id;		/* fixed after start-up */
}

int
idp_wa_reg_verify(struct idp *idp, wa_challenge_t *ch, const char *session,
    const struct wa_reg_req *req, wa_cred_t **out)
{
	int r;

	pthread_rwlock_rdlock(&idp->wa->lock);
	r = wa_reg_verify(idp->wa->rp, ch, session, req, out);
	pthread_rwlock_unlock(&idp->wa->lock);
	return r;
}

int
idp_wa_state_key(const char *purpose, const char *bound, char out[44])
{
	char buf[256];

	if (snprintf(buf, sizeof(buf), "%s:%s", purpose, bound) >=
	    (int)sizeof(buf))
		return CM_ERR_RANGE;
	return idp_hash_key(buf, out);
}

/* Take a stored challenge: read, then delete (one taker wins). */
int
idp_wa_take(struct idp *idp, const char *key, json_t **out)
{
	struct dir_state *st = NULL;
	json_error_t jerr;
	int r;

	*out = NULL;
	if ((r = dir_state_get(idp->dir, IDP_ST_WA, key, cm_time(),
	    &st)) != 0)
		return r;
	if ((r = dir_state_delete(idp->dir, IDP_ST_WA, key)) != 0) {
		dir_state_free(&st);
		return r;
	}
	*out = json_loads(st->data, JSON_REJECT_DUPLICATES, &jerr);
	dir_state_free(&st);
	return *out != NULL ? 0 : CM_ERR_INVAL;
}

/* Store a challenge (replacing an earlier one for the same binding). */
int
idp_wa_put(struct idp *idp, const char *key, const char *subject,
    json_t *data, int64_t expires)
{
	char *s;
	int r;

	if ((s = json_dumps(data, JSON_COMPACT)) == NULL)
		return CM_ERR_NOMEM;
	r = dir_state_delete(idp->dir, IDP_ST_WA, key);
	if (r == 0 || r == CM_ERR_NOTFOUND)
		r = dir_state_add(idp->dir, IDP_ST_WA, key, subject, NULL, s,
		    expires);
	free(s);
	return r;
}

int
idp_wa_active(const struct dir_wa_cred *c, int hw)
{
	return c->state == DIR_AUTHN_ACTIVE && (!hw || (c->trust != NULL &&
	    strcmp(c->trust, "trusted_hardware") == 0));
}

int
idp_wa_count(struct idp *idp, const char *uid, int hw)
{
	struct dir_wa_cred **v = NULL;
	size_t n = 0, i;
	int k = 0, r;

	r = dir_wa_list(idp->dir, uid, &v, &n);
	if (r == CM_ERR_NOTFOUND)
		return 0;
	if (r != 0)
		return -1;
	for (i = 0; i < n; i++)
		k += idp_wa_active(v[i], hw);
	dir_wa_list_free(&v, n);
	return k;
}

/* The WebAuthn user handle of uid: the one of their existing credentials
 * (authenticators key discoverable credentials by RP and user handle), or
 * 32 fresh random bytes. */
int
idp_wa_user_handle(struct idp *idp, const char *uid, uint8_t *out, size_t *len)
{
	struct dir_wa_cred **v = NULL;
	size_t n = 0, i;
	wa_cred_t *c = NULL;
	int r;

	*len = 0;
	if ((r = dir_wa_list(idp->dir, uid, &v, &n)) != 0)
		return r;
	for (i = 0; i < n && *len == 0; i++) {
		if (wa_cred_from_json(v[i]->record, strlen(v[i]->record),
		    &c) != 0)
			continue;
		if (wa_cred_user_len(c) <= WA_USER_HANDLE_MAX_LEN) {
			memcpy(out, wa_cred_user_ptr(c), wa_cred_user_len(c));
			*len = wa_cred_user_len(c);
		}
		wa_cred_free(&c);
	}
	dir_wa_list_free(&v, n);
	if (*len == 0) {
		if ((r = cm_random(out, 32)) != 0)
			return r;
		*len = 32;
	}
	return 0;
}

/* Strict base64url member of o into a new buffer. */
int
idp_wa_b64_member(const json_t *o, const char *name, size_t max, uint8_t **out,
    size_t *len)
{
	const char *s = json_string_value(json_object_get(o, name));

	*out = NULL;
	*len = 0;
	if (s == NULL)
		return CM_ERR_NOTFOUND;
	if (strlen(s) > (max * 4 + 2) / 3)
		return CM_ERR_RANGE;
	return cm_b64url_decode(s, strlen(s), out, len);
}

/* The catalogue entry for a fido/ rejection. */
enum cm_eid
idp_wa_error(int r)
{
	switch (r) {
	case WA_ERR_SIGN_COUNT:		return CM_E_WA_CLONE;
	case WA_ERR_ATT_CHAIN:
	case WA_ERR_AAGUID_NOT_ALLOWED:
	case WA_ERR_NOT_DEVICE_BOUND:
	case WA_ERR_ATT_NOT_HARDWARE:
	case WA_ERR_CRED_NOT_HARDWARE:
	case WA_ERR_MDS_REVOKED:
	case WA_ERR_MDS_COMPROMISED:	return CM_E_WA_ATTESTATION;
	case CM_ERR_UNAVAIL:
	case CM_ERR_TIMEOUT:		return CM_E_DIR_UNAVAILABLE;
	case CM_ERR_NOMEM:
	case CM_ERR_INTERNAL:		return CM_E_INTERNAL;
	default:			return CM_E_WA_FAILED;
	}
}

/* ---- pages -------------------------------------------------------------- */

void
idp_wa_send_html(struct brk_req *r, int status, char *html)
{
	if (html == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	brk_resp_body(r, status, "text/html; charset=utf-8", html,
	    strlen(html));
	free(html);
}

/* The stage page: a form the script completes (tx, csrf, credential). */
static void
stage_page(struct brk_req *r, const char *tx, const json_t *txo,
    enum idp_lang l, enum cm_eid err)
{
	const struct cm_errdef *e = err != CM_E_OK ? cm_errcat_get(err) : NULL;
	const char *stage = json_string_value(json_object_get(txo, "stage"));
	int hw = json_is_true(json_object_get(txo, "hw"));
	int usernameless = stage != NULL && strcmp(stage, "password") == 0;
	struct cm_buf b;
	char *html = NULL;
	int rc = 0;

	cm_buf_init(&b, 32 * 1024, 0);
	rc |= idp_page_begin(&b, l, idp_str(l, usernameless ?
	    IDP_S_WA_PASSKEY_SIGNIN : IDP_S_WA_TITLE), e, brk_req_id(r));
	rc |= cm_buf_appendf(&b, "<p class=\"lead\">");
	rc |= idp_page_text(&b, idp_str(l, hw ? IDP_S_WA_HW_LEAD :
	    IDP_S_WA_LEAD));
	rc |= cm_buf_appendf(&b, "</p><form method=\"post\" action=\"/login/"
	    "webauthn\" id=\"wa-form\" data-wa=\"login\" data-options=\""
	    "/webauthn/login/options\" hidden>");
	rc |= idp_page_hidden(&b, "tx", tx);
	rc |= idp_page_hidden(&b, "csrf", json_string_value(json_object_get(
	    txo, "csrf")));
	rc |= idp_page_hidden(&b, "lang", l == IDP_LANG_EN ? "en" : "ja");
	rc |= idp_page_hidden(&b, "credential", "");
	rc |= cm_buf_appendf(&b, "<button type=\"submit\" id=\"wa-use\" "
	    "autofocus>");
	rc |= idp_page_text(&b, idp_str(l, usernameless ?
	    IDP_S_WA_PASSKEY_SIGNIN : IDP_S_WA_USE));
	rc |= cm_buf_appendf(&b, "</button><p class=\"hint\" role=\"status\" "
	    "data-wa-status></p></form><p class=\"hint\" id=\"wa-nojs\">");
	rc |= idp_page_text(&b, idp_str(l, IDP_S_WA_NOJS));
	rc |= cm_buf_appendf(&b, "</p><script src=\"/static/webauthn.js\" "
	    "defer></script>");
	if (idp_page_end(&b, rc, &html) != 0)
		html = NULL;
	(void)idp_csp_form_target(r, json_string_value(json_object_get(
	    json_object_get(txo, "req"), "redirect_uri")));
	idp_wa_send_html(r, e ? e->http_status : 200, html);
}

void
idp_wa_stage_start(struct idp *idp, struct brk_req *r, const json_t *base,
    const char *uid, int aal, const json_t *amr, int64_t first_auth,
    const char *upgrade, int hw, enum idp_lang lang)
{
	json_t *txo = json_pack("{s:s, s:s, s:i, s:O, s:I, s:b}", "stage",
	    "webauthn", "uid", uid, "aal", aal, "amr", amr, "first_auth",
	    (json_int_t)first_auth, "hw", hw);

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
	idp_tx_start(idp, r, txo, "/login/webauthn", lang);
	json_decref(txo);
}

/* ---- the page script ----------------------------------------------------- */

static const char wa_js[] =
"// Sekimori: WebAuthn glue for the sign-in and account pages.\n"
"// Served as a file (the CSP forbids inline script); no framework.\n"
"// A form with data-wa=\"login\" or \"register\" gets its options from\n"
"// data-options (POST of the form's fields), runs\n"
"// navigator.credentials.get/create, puts the base64url-encoded result\n"
"// into the hidden \"credential\" field and submits the form.\n"
"'use strict';\n"
"(function () {\n"
"  function b64u(buf) {\n"
"    const b = new Uint8Array(buf); let s = '';\n"
"    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);\n"
"    return btoa(s).replace(/\\+/g, '-').replace(/\\//g, '_')\n"
"      .replace(/=+$/, '');\n"
"  }\n"
"  function unb64u(s) {\n"
"    const t = s.replace(/-/g, '+').replace(/_/g, '/');\n"
"    const r = atob(t + '==='.slice((t.length + 3) % 4));\n"
"    const b = new Uint8Array(r.length);\n"
"    for (let i = 0; i < r.length; i++) b[i] = r.charCodeAt(i);\n"
"    return b.buffer;\n"
"  }\n"
"  function say(form, text) {\n"
"    const st = form.querySelector('[data-wa-status]');\n"
"    if (st) st.textContent = text;\n"
"  }\n"
"  async function run(form) {\n"
"    const body = new URLSearchParams();\n"
"    for (const el of form.elements) {\n"
"      if (el.name && el.name !== 'credential' && el.type !== 'submit')\n"
"        body.append(el.name, el.value);\n"
"    }\n"
"    const res = await fetch(form.dataset.options, { method: 'POST',\n"
"      body: body, credentials: 'same-origin',\n"
"      headers: { 'Accept': 'application/json' } });\n"
"    const o = await res.json();\n"
"    if (!res.ok) throw new Error((o.code || res.status) + ' ' +\n"
"      (o.error_description || o.error || ''));\n"
"    const pk = o.publicKey;\n"
"    pk.challenge = unb64u(pk.challenge);\n"
"    let out;\n"
"    if (form.dataset.wa === 'register') {\n"
"      pk.user.id = unb64u(pk.user.id);\n"
"      for (const c of pk.excludeCredentials || []) c.id = unb64u(c.id);\n"
"      const cred = await navigator.credentials.create({ publicKey: pk });\n"
"      const rs = cred.response;\n"
"      out = { id: cred.id, rawId: b64u(cred.rawId), type: cred.type,\n"
"        response: { clientDataJSON: b64u(rs.clientDataJSON),\n"
"          attestationObject: b64u(rs.attestationObject),\n"
"          transports: rs.getTransports ? rs.getTransports() : [] } };\n"
"    } else {\n"
"      for (const c of pk.allowCredentials || []) c.id = unb64u(c.id);\n"
"      const cred = await navigator.credentials.get({ publicKey: pk });\n"
"      const rs = cred.response;\n"
"      out = { id: cred.id, rawId: b64u(cred.rawId), type: cred.type,\n"
"        response: { clientDataJSON: b64u(rs.clientDataJSON),\n"
"          authenticatorData: b64u(rs.authenticatorData),\n"
"          signature: b64u(rs.signature) } };\n"
"      if (rs.userHandle) out.response.userHandle = b64u(rs.userHandle);\n"
"    }\n"
"    form.elements.namedItem('credential').value = JSON.stringify(out);\n"
"    form.submit();\n"
"  }\n"
"  function init() {\n"
"    const forms = document.querySelectorAll('form[data-wa]');\n"
"    if (!window.PublicKeyCredential || !window.fetch) return;\n"
"    const nojs = document.getElementById('wa-nojs');\n"
"    if (nojs) nojs.hidden = true;\n"
"    for (const form of forms) {\n"
"      form.hidden = false;\n"
"      form.addEventListener('submit', function (ev) {\n"
"        ev.preventDefault();\n"
"        say(form, '');\n"
"        run(form).catch(function (e) { say(form, e.message); });\n"
"      });\n"
"    }\n"
"  }\n"
"  if (document.readyState === 'loading')\n"
"    document.addEventListener('DOMContentLoaded', init);\n"
"  else init();\n"
"})();\n";

void
idp_h_wa_js(struct brk_app *app, struct brk_req *r, void *ctx)
{
	(void)app; (void)ctx;
	if (brk_resp_header(r, "Cache-Control", "public, max-age=3600") != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	brk_resp_body(r, 200, "text/javascript; charset=utf-8", wa_js,
	    strlen(wa_js));
}

/* ---- authentication -------------------------------------------------------- */

/* tx + csrf of a login form: the webauthn stage, or the password stage
 * for a usernameless passkey sign-in.  On failure the response is set. */
static int
login_tx(struct idp *idp, struct brk_req *r, const struct brk_form *f,
    const char **tx, json_t **txo)
{
	const char *csrf = NULL;
	int rc;

	*txo = NULL;
	if (brk_form_get(f, "tx", tx) != 0 ||
	    brk_form_get(f, "csrf", &csrf) != 0) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		return -1;
	}
	rc = idp_tx_load(idp, r, *tx, "webauthn", txo);
	if (rc == CM_ERR_DENIED)
		rc = idp_tx_load(idp, r, *tx, "password", txo);
	if (rc != 0) {
		brk_resp_error(r, rc == CM_ERR_UNAVAIL || rc == CM_ERR_TIMEOUT ?
		    CM_E_DIR_UNAVAILABLE : rc == CM_ERR_DENIED ? CM_E_CSRF :
		    CM_E_LOGIN_EXPIRED, NULL);
		return -1;
	}
	if (!cm_ct_streq(csrf, json_string_value(json_object_get(*txo,
	    "csrf")))) {
		json_decref(*txo);
		*txo = NULL;
		brk_resp_error(r, CM_E_CSRF, NULL);
		return -1;
	}
	return 0;
}

void
idp_h_wa_login_options(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct brk_form *f = NULL;
	struct dir_wa_cred **v = NULL;
	wa_challenge_t *ch = NULL;
	const char *tx = NULL, *uid;
	char key[44], *ser = NULL, *chb = NULL;
	uint8_t handle[WA_USER_HANDLE_MAX_LEN], *id = NULL;
	size_t hlen = 0, n = 0, i, idlen = 0;
	json_t *txo = NULL, *allow = NULL, *st = NULL, *pk = NULL;
	int hw, uv, rc;

	(void)app;
	if (brk_req_form(r, &f) != 0) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		goto out;
	}
	if (login_tx(idp, r, f, &tx, &txo) != 0)
		goto out;
	uid = json_string_value(json_object_get(txo, "uid"));
	hw = json_is_true(json_object_get(txo, "hw"));
	/* usernameless: UV makes the passkey multi-factor by itself */
	uv = hw || uid == NULL;
	if ((allow = json_array()) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	if (uid != NULL) {
		if ((rc = idp_wa_user_handle(idp, uid, handle, &hlen)) != 0 ||
		    (rc = dir_wa_list(idp->dir, uid, &v, &n)) != 0) {
			brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
			goto out;
		}
	}
	if ((rc = wa_challenge_new(WA_PURPOSE_AUTHENTICATE,
	    uid != NULL ? handle : NULL, uid != NULL ? hlen : 0, tx, 0,
	    &ch)) != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!idp_wa_active(v[i], hw))
			continue;
		free(id);
		id = NULL;
		if (cm_b64url_decode(v[i]->cred_id, strlen(v[i]->cred_id), &id,
		    &idlen) != 0 || wa_challenge_add_allow(ch, id, idlen) != 0)
			continue;
		json_array_append_new(allow, json_pack("{s:s, s:s}", "type",
		    "public-key", "id", v[i]->cred_id));
	}
	if (uid != NULL && json_array_size(allow) == 0) {
		brk_resp_error(r, hw ? CM_E_HWK_REQUIRED : CM_E_WA_UNKNOWN_KEY,
		    NULL);
		goto out;
	}
	if (wa_challenge_serialize(ch, &ser) != 0 ||
	    wa_challenge_b64url(ch, &chb) != 0 ||
	    idp_wa_state_key("auth", tx, key) != 0 ||
	    (st = json_pack("{s:s, s:b, s:b, s:s?}", "ch", ser, "hw", hw,
	    "uv", uv, "uid", uid)) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	if ((rc = idp_wa_put(idp, key, uid, st, cm_time() +
	    WA_CHALLENGE_DEF_TTL)) != 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	pk = json_pack("{s:{s:s, s:s, s:i, s:s, s:O}}", "publicKey",
	    "challenge", chb, "rpId", idp->wa->rp_id, "timeout",
	    WA_CHALLENGE_DEF_TTL * 1000, "userVerification",
	    uv ? "required" : "preferred", "allowCredentials", allow);
	if (pk == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	brk_resp_json(r, 200, pk);
 out:
	free(id);
	free(ser);
	free(chb);
	json_decref(st);
	json_decref(allow);
	json_decref(txo);
	wa_challenge_free(&ch);
	dir_wa_list_free(&v, n);
	brk_form_free(&f);
}

/* The parsed assertion the script sends. */
struct wa_assertion {
	char	*id;			/* rawId, base64url */
	uint8_t	*raw, *cd, *ad, *sig, *uh;
	size_t	 raw_len, cd_len, ad_len, sig_len, uh_len;
};

static void
assertion_clear(struct wa_assertion *a)
{
	free(a->id);
	free(a->raw);
	free(a->cd);
	free(a->ad);
	free(a->sig);
	free(a->uh);
	memset(a, 0, sizeof(*a));
}

static int
assertion_parse(const char *s, struct wa_assertion *a)
{
	json_error_t jerr;
	json_t *o, *resp = NULL;
	const char *id = NULL, *raw = NULL, *type = NULL;
	int r = CM_ERR_INVAL;

	memset(a, 0, sizeof(*a));
	o = json_loadb(s, strlen(s), JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || json_unpack_ex(o, &jerr, 0, "{s:s, s:s, s:s, s:o}",
	    "id", &id, "rawId", &raw, "type", &type, "response", &resp) != 0 ||
	    !json_is_object(resp) || strcmp(id, raw) != 0 ||
	    strcmp(type, "public-key") != 0 || strlen(raw) > DIR_WA_ID_MAX)
		goto out;
	if ((a->id = strdup(raw)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (cm_b64url_decode(raw, strlen(raw), &a->raw, &a->raw_len) != 0 ||
	    idp_wa_b64_member(resp, "clientDataJSON", WA_CLIENTDATA_MAX_LEN, &a->cd,
	    &a->cd_len) != 0 ||
	    idp_wa_b64_member(resp, "authenticatorData", WA_AUTHDATA_MAX_LEN, &a->ad,
	    &a->ad_len) != 0 ||
	    idp_wa_b64_member(resp, "signature", WA_SIG_MAX_LEN, &a->sig,
	    &a->sig_len) != 0)
		goto out;
	if (json_object_get(resp, "userHandle") != NULL &&
	    !json_is_null(json_object_get(resp, "userHandle")) &&
	    idp_wa_b64_member(resp, "userHandle", WA_USER_HANDLE_MAX_LEN, &a->uh,
	    &a->uh_len) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0)
		assertion_clear(a);
	json_decref(o);
	return r;
}

/* Refuse a WebAuthn login step: audited, the stage page again. */
static void
wa_refuse(struct brk_app *app, struct brk_req *r, const char *tx,
    const json_t *txo, enum idp_lang l, const char *uid, enum cm_eid e,
    const char *why)
{
	brk_metrics_auth(app, "webauthn", 0);
	if (cm_audit_emit(brk_req_id(r), "factor.failure",
	    "{s:s?, s:s, s:s}", "uid", uid, "method", "webauthn", "reason",
	    why) != 0)
		e = CM_E_AUDIT_UNAVAILABLE;
	stage_page(r, tx, txo, l, e);
}

/* Counter regression: suspend the credential, audit, refuse. */
static void
clone_refuse(struct idp *idp, struct brk_app *app, struct brk_req *r,
    const char *tx, const json_t *txo, enum idp_lang l,
    struct dir_wa_cred *c, uint32_t presented)
{
	enum cm_eid e = CM_E_WA_CLONE;

	if (cm_audit_emit(brk_req_id(r), "webauthn.clone_suspected",
	    "{s:s, s:s, s:I, s:I}", "uid", c->uid, "credential", c->cn,
	    "stored", (json_int_t)c->sign_count_n, "presented",
	    (json_int_t)presented) != 0 ||
	    idp_wa_suspend(idp, brk_req_id(r), c, "sign_count", 0) != 0)
		e = CM_E_AUDIT_UNAVAILABLE;
	wa_refuse(app, r, tx, txo, l, c->uid, e, "possible cloned "
	    "authenticator");
}

/* Is the account allowed to sign in (passkey login skips the bind)? */
static int
account_ok(struct idp *idp, const char *uid)
{
	struct dir_user *u = NULL;
	int r;

	if ((r = dir_user_find(idp->dir, uid, &u)) != 0)
		return r;
	r = u->status == DIR_STATUS_ACTIVE && !u->locked ? 0 :
	    CM_ERR_DISABLED;
	dir_user_free(&u);
	return r;
}

/* POST /login/webauthn (GET: the stage page). */
void
idp_h_login_webauthn(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct brk_form *f = NULL;
	struct dir_wa_cred *c = NULL;
	struct wa_assertion as;
	struct wa_auth_req req;
	struct wa_auth_res res;
	struct idp_factor fac[4];
	struct idp_assurance aal;
	struct idp_policy_decision d;
	const char *tx = NULL, *lang = NULL, *cred = NULL, *uid, *chs;
	const char *names[IDP_AMR_MAX];
	wa_challenge_t *ch = NULL;
	wa_cred_t *wc = NULL;
	json_t *txo = NULL, *st = NULL, *amr = NULL, *v;
	char key[44], *rec = NULL;
	enum idp_lang l;
	size_t n, i;
	int rc, hw, tries;

	memset(&as, 0, sizeof(as));
	if (strcmp(brk_req_method(r), "GET") == 0) {
		if (brk_req_query(r, "tx", &tx) != 0 ||
		    (rc = idp_tx_load(idp, r, tx, "webauthn", &txo)) != 0) {
			brk_resp_error(r, CM_E_LOGIN_EXPIRED, NULL);
			goto out;
		}
		if (brk_req_query(r, "lang", &lang) != 0)
			lang = NULL;
		stage_page(r, tx, txo, idp_tx_lang(r, txo, lang), CM_E_OK);
		goto out;
	}
	if (brk_req_form(r, &f) != 0) {
		brk_resp_error(r, CM_E_CSRF, NULL);
		goto out;
	}
	if (login_tx(idp, r, f, &tx, &txo) != 0)
		goto out;
	if (brk_form_get(f, "lang", &lang) != 0)
		lang = NULL;
	l = idp_tx_lang(r, txo, lang);
	uid = json_string_value(json_object_get(txo, "uid"));
	hw = json_is_true(json_object_get(txo, "hw"));
	/* the challenge is taken before anything is verified */
	if (idp_wa_state_key("auth", tx, key) != 0 ||
	    (rc = idp_wa_take(idp, key, &st)) != 0) {
		wa_refuse(app, r, tx, txo, l, uid, CM_E_WA_FAILED,
		    "no challenge");
		goto out;
	}
	if (brk_form_get(f, "credential", &cred) != 0 ||
	    assertion_parse(cred, &as) != 0) {
		wa_refuse(app, r, tx, txo, l, uid, CM_E_WA_FAILED,
		    "malformed response");
		goto out;
	}
	rc = dir_wa_find(idp->dir, as.id, &c);
	if (rc == CM_ERR_NOTFOUND || rc == CM_ERR_CONFLICT ||
	    (rc == 0 && uid != NULL && strcmp(c->uid, uid) != 0)) {
		wa_refuse(app, r, tx, txo, l, uid, CM_E_WA_UNKNOWN_KEY,
		    "credential not registered to this user");
		goto out;
	}
	if (rc != 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	if (c->state != DIR_AUTHN_ACTIVE) {
		wa_refuse(app, r, tx, txo, l, c->uid, c->state ==
		    DIR_AUTHN_PENDING ? CM_E_WA_PENDING : CM_E_WA_SUSPENDED,
		    c->state == DIR_AUTHN_PENDING ? "credential pending "
		    "approval" : "credential suspended");
		goto out;
	}
	if (uid == NULL && account_ok(idp, c->uid) != 0) {
		wa_refuse(app, r, tx, txo, l, c->uid, CM_E_ACCOUNT_DISABLED,
		    "account not active");
		goto out;
	}
	chs = json_string_value(json_object_get(st, "ch"));
	if (chs == NULL ||
	    wa_cred_from_json(c->record, strlen(c->record), &wc) != 0 ||
	    wa_challenge_parse(chs, strlen(chs), &ch) != 0) {
		wa_refuse(app, r, tx, txo, l, c->uid, CM_E_WA_FAILED,
		    "stored record or challenge malformed");
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.cred_id = as.raw;
	req.cred_id_len = as.raw_len;
	req.clientdata = as.cd;
	req.clientdata_len = as.cd_len;
	req.authdata = as.ad;
	req.authdata_len = as.ad_len;
	req.sig = as.sig;
	req.sig_len = as.sig_len;
	req.user_handle = as.uh;
	req.user_handle_len = as.uh_len;
	req.flags = (hw ? WA_F_REQUIRE_HARDWARE : 0) |
	    (json_is_true(json_object_get(st, "uv")) ? WA_F_REQUIRE_UV : 0);
	memset(&res, 0, sizeof(res));
	pthread_rwlock_rdlock(&idp->wa->lock);
	rc = wa_auth_verify(idp->wa->rp, ch, tx, &req, wc, &res);
	pthread_rwlock_unlock(&idp->wa->lock);
	if (rc == WA_ERR_SIGN_COUNT) {
		/* the counter presented (authData bytes 33..36, big-endian;
		 * the signature over it has verified) for the audit record */
		clone_refuse(idp, app, r, tx, txo, l, c, as.ad_len >= 37 ?
		    (uint32_t)as.ad[33] << 24 | (uint32_t)as.ad[34] << 16 |
		    (uint32_t)as.ad[35] << 8 | as.ad[36] : 0);
		goto out;
	}
	if (rc != 0) {
		if (dir_wa_record_failure(idp->dir, c, cm_time()) != 0)
			cm_warn(brk_req_id(r), "webauthn.failure_not_recorded",
			    NULL);
		wa_refuse(app, r, tx, txo, l, c->uid, idp_wa_error(rc),
		    wa_strerror(rc));
		goto out;
	}
	/* the counter moves by compare-and-swap: of two nodes, one wins;
	 * the loser re-reads and checks the counter again */
	for (tries = 0; ; tries++) {
		if (wa_cred_update(wc, &res) != 0 ||
		    wa_cred_to_json(wc, &rec) != 0) {
			brk_resp_error(r, CM_E_INTERNAL, NULL);
			goto out;
		}
		rc = dir_wa_use(idp->dir, c, res.sign_count, rec);
		free(rec);
		rec = NULL;
		if (rc != CM_ERR_CONFLICT || tries > 0)
			break;
		dir_wa_free(&c);
		if ((rc = dir_wa_find(idp->dir, as.id, &c)) != 0)
			break;
		if (c->state != DIR_AUTHN_ACTIVE) {
			rc = CM_ERR_CONFLICT;
			break;
		}
		if ((res.sign_count != 0 || c->sign_count_n != 0) &&
		    (long long)res.sign_count <= c->sign_count_n) {
			clone_refuse(idp, app, r, tx, txo, l, c,
			    res.sign_count);
			goto out;
		}
	}
	if (rc != 0) {
		wa_refuse(app, r, tx, txo, l, c != NULL ? c->uid : uid,
		    rc == CM_ERR_CONFLICT ? CM_E_WA_FAILED : idp_wa_error(rc),
		    "sign count not stored");
		goto out;
	}
	/* what the user has proved: earlier factors plus this key */
	n = 0;
	json_array_foreach(json_object_get(txo, "amr"), i, v) {
		const char *s = json_string_value(v);

		if (s != NULL && n < 2 && strcmp(s, "pwd") == 0)
			fac[n++].type = IDP_FACTOR_PASSWORD;
		else if (s != NULL && n < 2 && strcmp(s, "otp") == 0)
			fac[n++].type = IDP_FACTOR_TOTP;
	}
	for (i = 0; i < n; i++)
		fac[i].flags = 0;
	fac[n].type = IDP_FACTOR_WEBAUTHN;
	fac[n].flags = IDP_FACTOR_UP | (res.uv ? IDP_FACTOR_UV : 0) |
	    (wa_cred_trust(wc) == WA_TRUST_HARDWARE && !res.be ?
	    IDP_FACTOR_HW : 0) | (res.be || res.bs ? IDP_FACTOR_SYNCED : 0);
	n++;
	if (idp_assurance_compute(fac, n, &aal) != 0 ||
	    (amr = json_array()) == NULL) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		goto out;
	}
	/* AAL3 needs UV (STANDARDS §5): without it, two factors are AAL2 */
	if (aal.aal == IDP_AAL3 && !res.uv)
		aal.aal = IDP_AAL2;
	n = idp_amr_list(aal.amr, names);
	for (i = 0; i < n; i++)
		json_array_append_new(amr, json_string(names[i]));
	if (hw && aal.aal < IDP_AAL3) {
		wa_refuse(app, r, tx, txo, l, c->uid, CM_E_HWK_REQUIRED,
		    "AAL3 not reached");
		goto out;
	}
	if (uid == NULL) {
		/* a passkey alone: does it meet the policy for the client? */
		if (idp_policy_decide(idp, r, idp_tx_client(txo),
		    json_object_get(txo, "req"), c->uid, (int)aal.aal, amr,
		    cm_time(), &d) != 0 ||
		    idp_wa_admin_floor(idp, r, c->uid, idp_tx_client(txo),
		    (int)aal.aal, amr, &d) != 0) {
			brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
			goto out;
		}
		if (d.effect == IDP_POLICY_DENY) {
			wa_refuse(app, r, tx, txo, l, c->uid,
			    CM_E_NETWORK_DENIED, d.reason);
			goto out;
		}
		if (d.effect != IDP_POLICY_ALLOW &&
		    ((int)d.level > (int)aal.aal || (d.level >= IDP_AAL3 &&
		    !idp_amr_has(amr, "hwk")))) {
			wa_refuse(app, r, tx, txo, l, c->uid,
			    d.level >= IDP_AAL3 ? CM_E_HWK_REQUIRED :
			    CM_E_MFA_REQUIRED, d.reason);
			goto out;
		}
	}
	brk_metrics_auth(app, "webauthn", 1);
	if (cm_audit_emit(brk_req_id(r), "webauthn.used",
	    "{s:s, s:s, s:I, s:b, s:b}", "uid", c->uid, "credential", c->cn,
	    "sign_count", (json_int_t)res.sign_count, "uv", res.uv,
	    "usernameless", uid == NULL) != 0) {
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		goto out;
	}
	idp_login_finish(idp, r, tx, txo, c->uid, (int)aal.aal, amr,
	    uid == NULL ? "passkey" : "webauthn");
 out:
	assertion_clear(&as);
	json_decref(amr);
	json_decref(st);
	json_decref(txo);
	wa_challenge_free(&ch);
	wa_cred_free(&wc);
	dir_wa_free(&c);
	brk_form_free(&f);
}

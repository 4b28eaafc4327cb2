/*
 * idp/token.c — the token endpoint (RFC 6749 §3.2) and the tokens it mints.
 *
 *   authorization_code  code single-use (compare-and-swap on its state
 *                       entry), bound to client, redirect URI and PKCE
 *                       verifier; a replayed code revokes what it issued
 *   refresh_token       rotated on every use; reuse of a rotated token
 *                       revokes the whole family (RFC 9700 §4.14.2)
 *   client_credentials  confidential clients and RPA accounts; for an RPA
 *                       account the accountable owner must be active
 *
 * Access tokens: RFC 9068 JWTs (typ at+jwt).  ID tokens: OIDC Core §2.
 * Refresh tokens: 256-bit opaque values; the directory holds their SHA-256.
 * A refresh-token entry ("rt" state) carries the family (ref), the grant,
 * and the jti of the access token issued with it, so revoking a family
 * revokes those access tokens too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idp_int.h"
#include "assurance.h"

struct grant {
	const char	*uid;		/* NULL for client_credentials */
	const char	*sid;		/* NULL when not session-bound */
	const char	*session;	/* session key, NULL if unbound */
	const char	*scope;
	const char	*nonce;
	int64_t		 auth_time;
	int		 aal;
	json_t		*amr;
	json_t		*claims_req;	/* the claims request parameter */
	const char	*family;	/* refresh family */
	int64_t		 family_exp;	/* absolute end of the family */
	char		 jti[44];	/* of the access token, drawn early */
	const char	*device;	/* the session's device, if any */
	int		 device_proofed;
};

static json_t *
user_groups(struct idp *idp, const char *uid)
{
	char **names = NULL;
	size_t n = 0, i;
	json_t *a = json_array();

	if (dir_user_groups(idp->dir, uid, 1, &names, &n) == 0) {
		for (i = 0; i < n; i++)
			json_array_append_new(a, json_string(names[i]));
		dir_names_free(&names, n);
	}
	return a;
}

static int
grant_new_jti(struct grant *g)
{
	char *jti = NULL;
	int r;

	if ((r = cm_random_b64url(32, &jti)) != 0)
		return r;
	snprintf(g->jti, sizeof(g->jti), "%s", jti);
	free(jti);
	return 0;
}

/* RFC 9068 access token with jti g->jti. */
static int
mint_access(struct idp *idp, const struct idp_client *c,
    const struct grant *g, int64_t now, char **out)
{
	json_t *cl;
	int r;

	*out = NULL;
	cl = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s}",
	    "iss", idp->issuer, "sub", g->uid ? g->uid : c->client_id,
	    "aud", c->client_id, "iat", (json_int_t)now,
	    "nbf", (json_int_t)now,
	    "exp", (json_int_t)(now + idp->cfg->access_ttl), "jti", g->jti,
	    "client_id", c->client_id, "scope", g->scope ? g->scope : "");
	if (cl == NULL)
		return CM_ERR_NOMEM;
	if (g->uid != NULL) {
		json_object_set_new(cl, "acr", json_string(idp_acr_uri(g->aal)));
		json_object_set(cl, "amr", g->amr);
		json_object_set_new(cl, "auth_time",
		    json_integer(g->auth_time));
		json_object_set_new(cl, "groups", user_groups(idp, g->uid));
		if (g->sid != NULL)
			json_object_set_new(cl, "sid", json_string(g->sid));
		/* identity assurance level (docs/proofing.md) */
		json_object_set_new(cl, "ial", json_integer(
		    idp_proofing_ial(idp, g->uid)));
		/* the device and its state now (RFC 9068 allows more) */
		if (g->device != NULL) {
			int proofed;
			enum idp_device_state st = (enum idp_device_state)
			    idp_device_lookup(idp, g->device, &proofed);

			json_object_set_new(cl, "device",
			    json_string(g->device));
			json_object_set_new(cl, "device_proofed",
			    json_boolean(proofed > 0));
			json_object_set_new(cl, "device_compliance",
			    json_string(st == IDP_DEVICE_COMPLIANT ?
			    "compliant" : st == IDP_DEVICE_NOT_COMPLIANT ?
			    "not-compliant" : "unknown"));
		}
		if ((r = idp_proofing_vc_remember(idp, c->client_id, g->jti,
		    json_object_get(g->claims_req, "userinfo"),
		    now + idp->cfg->access_ttl)) != 0) {
			json_decref(cl);
			return r;
		}
	}
	if (c->is_rpa && c->rpa_owner != NULL)
		json_object_set_new(cl, "owner", json_string(c->rpa_owner));
	r = tok_jwt_sign_at(idp->signer, "at+jwt", cl, now, out);
	json_decref(cl);
	return r;
}

static int
mint_id(struct idp *idp, const struct idp_client *c, const struct grant *g,
    int64_t now, char **out)
{
	struct dir_user *u = NULL;
	json_t *cl, *vc = NULL;
	int r;

	*out = NULL;
	cl = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:O}",
	    "iss", idp->issuer, "sub", g->uid, "aud", c->client_id,
	    "iat", (json_int_t)now,
	    "exp", (json_int_t)(now + idp->cfg->id_ttl),
	    "auth_time", (json_int_t)g->auth_time,
	    "acr", idp_acr_uri(g->aal), "amr", g->amr);
	if (cl == NULL)
		return CM_ERR_NOMEM;
	if (g->nonce != NULL)
		json_object_set_new(cl, "nonce", json_string(g->nonce));
	if (g->sid != NULL)
		json_object_set_new(cl, "sid", json_string(g->sid));
	/* verified_claims when asked for (claims parameter) and allowed */
	if ((r = idp_proofing_vc(idp, g->uid, c->client_id,
	    json_object_get(g->claims_req, "id_token"), &vc)) != 0) {
		json_decref(cl);
		return r;
	}
	if (vc != NULL)
		json_object_set_new(cl, "verified_claims", vc);
	/* profile and email claims in the ID token when asked for them */
	if (g->scope != NULL && (idp_scope_has(g->scope, "profile") ||
	    idp_scope_has(g->scope, "email")) &&
	    dir_user_find(idp->dir, g->uid, &u) == 0) {
		if (idp_scope_has(g->scope, "profile") && u->name != NULL)
			json_object_set_new(cl, "name", json_string(u->name));
		if (idp_scope_has(g->scope, "email") && u->mail != NULL)
			json_object_set_new(cl, "email", json_string(u->mail));
		dir_user_free(&u);
	}
	r = tok_jwt_sign_at(idp->signer, "JWT", cl, now, out);
	json_decref(cl);
	return r;
}

/* A new refresh token in family g->family. */
static int
mint_refresh(struct idp *idp, const struct idp_client *c,
    const struct grant *g, char **out)
{
	char *tok = NULL, *data = NULL, key[44];
	json_t *o;
	int r;

	*out = NULL;
	o = json_pack("{s:s, s:s, s:s, s:s*, s:s*, s:s, s:I, s:i, s:O,"
	    " s:I, s:s, s:b}",
	    "client_id", c->client_id, "uid", g->uid, "scope", g->scope,
	    "sid", g->sid, "session", g->session, "family", g->family,
	    "auth_time", (json_int_t)g->auth_time,
	    "aal", g->aal, "amr", g->amr,
	    "family_exp", (json_int_t)g->family_exp, "jti", g->jti, "used", 0);
	if (o != NULL && g->device != NULL)
		json_object_set_new(o, "device", json_string(g->device));
	if (o != NULL && g->claims_req != NULL)
		json_object_set(o, "claims", g->claims_req);
	if (o == NULL || (data = json_dumps(o, JSON_COMPACT)) == NULL ||
	    (r = idp_random_token(&tok)) != 0 ||
	    (r = idp_hash_key(tok, key)) != 0) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = dir_state_add(idp->dir, IDP_ST_RT, key, g->uid, g->family,
	    data, g->family_exp)) != 0)
		goto out;
	*out = tok;
	tok = NULL;
 out:
	cm_strfree(&tok);
	free(data);
	json_decref(o);
	return r;
}

/* Revoke every refresh token of a family and the access tokens issued
 * with them.  Returns how many entries went. */
size_t
idp_family_revoke(struct idp *idp, const char *rid, const char *family,
    const char *why)
{
	char **keys = NULL;
	size_t n = 0, i, gone = 0;

	if (dir_state_find(idp->dir, IDP_ST_RT, DIR_STATE_BY_REF, family,
	    &keys, &n) != 0) {
		cm_err(rid, "token.family_revoke_failed", "{s:s}", "family",
		    family);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct dir_state *st = NULL;

		if (dir_state_get(idp->dir, IDP_ST_RT, keys[i], 0, &st) == 0) {
			json_t *o = json_loads(st->data, 0, NULL);
			const char *jti = json_string_value(json_object_get(o,
			    "jti"));

			if (jti != NULL)
				(void)idp_jti_revoke(idp, jti, st->expires);
			json_decref(o);
			dir_state_free(&st);
		}
		if (dir_state_delete(idp->dir, IDP_ST_RT, keys[i]) == 0)
			gone++;
	}
	dir_names_free(&keys, n);
	if (cm_audit_emit(rid, "token.family_revoked", "{s:s, s:s, s:I}",
	    "family", family, "reason", why, "tokens", (json_int_t)gone) != 0)
		cm_err(rid, "audit.write_failed", NULL);
	return gone;
}

int
idp_jti_revoke(struct idp *idp, const char *jti, int64_t until)
{
	int64_t floor = cm_time() + idp->cfg->access_ttl;
	int r;

	/* keep the mark while any token with this jti can be valid */
	r = dir_state_add(idp->dir, IDP_ST_REVOKED, jti, NULL, NULL, "{}",
	    until > floor ? until : floor);
	return r == CM_ERR_EXISTS ? 0 : r;
}

/* Answer with the tokens of grant g. */
static void
respond_tokens(struct idp *idp, struct brk_req *r,
    const struct idp_client *c, struct grant *g, int want_id,
    int want_refresh)
{
	char *at = NULL, *idt = NULL, *rt = NULL;
	int64_t now = cm_time();
	json_t *o;
	int rc;

	if (g->jti[0] == '\0' && grant_new_jti(g) != 0) {
		idp_oauth_error(r, CM_E_INTERNAL, NULL, NULL);
		goto out;
	}
	if ((rc = mint_access(idp, c, g, now, &at)) != 0 ||
	    (want_id && (rc = mint_id(idp, c, g, now, &idt)) != 0)) {
		idp_oauth_error(r, CM_E_TOK_SIGNER_UNAVAILABLE, NULL, NULL);
		goto out;
	}
	if (want_refresh && (rc = mint_refresh(idp, c, g, &rt)) != 0) {
		idp_oauth_error(r, CM_E_DIR_UNAVAILABLE, NULL, NULL);
		goto out;
	}
	/* the last step: the response waits for the record, not the thread */
	if (brk_audit_emit(r, "token.issued",
	    "{s:s, s:s?, s:s, s:s, s:b, s:b, s:s?}", "client_id",
	    c->client_id, "uid", g->uid, "jti", g->jti, "scope",
	    g->scope ? g->scope : "", "id_token", idt != NULL,
	    "refresh_token", rt != NULL, "family", g->family) != 0) {
		idp_oauth_error(r, CM_E_AUDIT_UNAVAILABLE, NULL, NULL);
		goto out;
	}
	o = json_pack("{s:s, s:s, s:I, s:s}", "access_token", at,
	    "token_type", "Bearer", "expires_in",
	    (json_int_t)idp->cfg->access_ttl, "scope",
	    g->scope ? g->scope : "");
	if (idt != NULL)
		json_object_set_new(o, "id_token", json_string(idt));
	if (rt != NULL)
		json_object_set_new(o, "refresh_token", json_string(rt));
	brk_resp_json(r, 200, o);
 out:
	cm_strfree(&at);
	cm_strfree(&idt);
	cm_strfree(&rt);
}

static void
grant_code(struct idp *idp, struct brk_req *r, const struct brk_form *f,
    const struct idp_client *c)
{
	const char *code = NULL, *uri = NULL, *verifier = NULL;
	struct dir_state *st = NULL;
	json_t *o = NULL, *req;
	char key[44], *data = NULL, *family = NULL;
	struct grant g;
	int rc;

	if (brk_form_get(f, "code", &code) != 0 ||
	    brk_form_get(f, "redirect_uri", &uri) != 0 ||
	    brk_form_get(f, "code_verifier", &verifier) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL,
		    "code, redirect_uri and code_verifier are required");
		return;
	}
	if (strlen(code) != 43 || idp_hash_key(code, key) != 0 ||
	    (rc = dir_state_get(idp->dir, IDP_ST_CODE, key, cm_time(),
	    &st)) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "unknown or expired code");
		return;
	}
	o = json_loads(st->data, JSON_REJECT_DUPLICATES, NULL);
	req = json_object_get(o, "req");
	if (o == NULL || req == NULL) {
		idp_oauth_error(r, CM_E_INTERNAL, NULL, NULL);
		goto out;
	}
	if (json_is_true(json_object_get(o, "used"))) {
		/* replay: revoke what this code issued (RFC 6749 §4.1.2) */
		const char *fam = json_string_value(json_object_get(o,
		    "family"));
		const char *jti = json_string_value(json_object_get(o, "jti"));

		cm_warn(brk_req_id(r), "token.code_replay", "{s:s}",
		    "client_id", c->client_id);
		if (jti != NULL)
			(void)idp_jti_revoke(idp, jti, 0);
		if (fam != NULL)
			(void)idp_family_revoke(idp, brk_req_id(r), fam,
			    "authorization code replayed");
		if (cm_audit_emit(brk_req_id(r), "token.code_replay",
		    "{s:s}", "client_id", c->client_id) != 0)
			cm_err(brk_req_id(r), "audit.write_failed", NULL);
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "code already used");
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(req, "client_id")),
	    c->client_id) != 0 ||
	    strcmp(json_string_value(json_object_get(req, "redirect_uri")),
	    uri) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "code was issued to another client or redirect_uri");
		goto out;
	}
	if (!idp_pkce_s256_check(verifier, json_string_value(
	    json_object_get(req, "code_challenge")))) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "code_verifier does not match");
		goto out;
	}
	memset(&g, 0, sizeof(g));
	if (cm_random_b64url(16, &family) != 0 || grant_new_jti(&g) != 0) {
		idp_oauth_error(r, CM_E_INTERNAL, NULL, NULL);
		goto out;
	}
	/* single use: mark used (compare-and-swap) before minting, with
	 * what it will issue, so that a replay can revoke exactly that */
	json_object_set_new(o, "used", json_true());
	json_object_set_new(o, "family", json_string(family));
	json_object_set_new(o, "jti", json_string(g.jti));
	if ((data = json_dumps(o, JSON_COMPACT)) == NULL ||
	    (rc = dir_state_update(idp->dir, IDP_ST_CODE, key, st->version,
	    data, st->expires + 600, NULL)) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "code already used");
		goto out;
	}
	g.uid = json_string_value(json_object_get(o, "uid"));
	g.sid = json_string_value(json_object_get(o, "sid"));
	g.session = json_string_value(json_object_get(o, "session"));
	g.scope = json_string_value(json_object_get(req, "scope"));
	g.nonce = json_string_value(json_object_get(req, "nonce"));
	g.auth_time = json_integer_value(json_object_get(o, "auth_time"));
	g.aal = (int)json_integer_value(json_object_get(o, "aal"));
	g.amr = json_object_get(o, "amr");
	g.claims_req = json_object_get(req, "claims");
	g.family = family;
	g.family_exp = cm_time() + idp->cfg->refresh_ttl;
	g.device = json_string_value(json_object_get(o, "device"));
	if (idp_scope_has(g.scope, "offline_access"))
		g.session = NULL;	/* survives the SSO session */
	respond_tokens(idp, r, c, &g, 1,
	    idp_client_grant_ok(c, "refresh_token"));
 out:
	free(family);
	free(data);
	json_decref(o);
	dir_state_free(&st);
}

static void
grant_refresh(struct idp *idp, struct brk_req *r, const struct brk_form *f,
    const struct idp_client *c)
{
	const char *tok = NULL, *scope = NULL;
	struct dir_state *st = NULL;
	struct dir_user *u = NULL;
	json_t *o = NULL;
	char key[44], *data = NULL, *live = NULL;
	struct grant g;
	int rc;

	if (brk_form_get(f, "refresh_token", &tok) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL,
		    "refresh_token is required");
		return;
	}
	if (strlen(tok) != 43 || idp_hash_key(tok, key) != 0 ||
	    dir_state_get(idp->dir, IDP_ST_RT, key, cm_time(), &st) != 0 ||
	    (o = json_loads(st->data, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "unknown, expired or revoked refresh token");
		goto out;
	}
	memset(&g, 0, sizeof(g));
	g.family = json_string_value(json_object_get(o, "family"));
	if (strcmp(json_string_value(json_object_get(o, "client_id")),
	    c->client_id) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "refresh token of another client");
		goto out;
	}
	if (json_is_true(json_object_get(o, "used"))) {
		char subject[128];

		brk_metrics_auth(idp->app, "refresh_token", 0);
		(void)idp_family_revoke(idp, brk_req_id(r), g.family,
		    "refresh token reused");
		/* a stolen token is likely: the user's risk goes up */
		snprintf(subject, sizeof(subject), "user:%s",
		    json_string_value(json_object_get(o, "uid")) ?
		    json_string_value(json_object_get(o, "uid")) : "?");
		if (idp_risk_raise(idp, brk_req_id(r), subject, 2,
		    "refresh_reuse", "sekimori", 3600) != 0)
			cm_warn(brk_req_id(r), "risk.raise_failed", NULL);
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "refresh token reused: the whole grant is revoked");
		goto out;
	}
	g.uid = json_string_value(json_object_get(o, "uid"));
	g.sid = json_string_value(json_object_get(o, "sid"));
	g.session = json_string_value(json_object_get(o, "session"));
	g.scope = json_string_value(json_object_get(o, "scope"));
	g.auth_time = json_integer_value(json_object_get(o, "auth_time"));
	g.aal = (int)json_integer_value(json_object_get(o, "aal"));
	g.amr = json_object_get(o, "amr");
	g.claims_req = json_object_get(o, "claims");
	g.family_exp = json_integer_value(json_object_get(o, "family_exp"));
	g.device = json_string_value(json_object_get(o, "device"));
	/* a narrower scope may be asked for, never a wider one */
	if (brk_form_get(f, "scope", &scope) == 0) {
		char *copy = strdup(g.scope), *save = NULL, *t;
		char *allowed[IDP_SCOPES_MAX];
		size_t n = 0;

		for (t = strtok_r(copy, " ", &save); t != NULL &&
		    n < IDP_SCOPES_MAX; t = strtok_r(NULL, " ", &save))
			allowed[n++] = t;
		rc = copy != NULL && idp_scope_subset(scope, allowed, n);
		free(copy);
		if (!rc) {
			idp_oauth_error(r, CM_E_OAUTH_INVALID_SCOPE, NULL,
			    "scope wider than the original grant");
			goto out;
		}
		g.scope = scope;
	}
	/* the session it is bound to must still be alive (stepped up: the
	 * rotated token is bound to the session's new key) */
	if (g.session != NULL &&
	    (rc = idp_session_alive(idp, g.session, g.sid, g.uid,
	    &live)) != 0) {
		if (rc != CM_ERR_NOTFOUND) {
			idp_oauth_error(r, CM_E_DIR_UNAVAILABLE, NULL, NULL);
			goto out;
		}
		(void)idp_family_revoke(idp, brk_req_id(r), g.family,
		    "session ended");
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "the session of this grant has ended");
		goto out;
	}
	if (live != NULL)
		g.session = live;
	/* the user must still be active */
	if (dir_user_find(idp->dir, g.uid, &u) != 0 ||
	    u->status != DIR_STATUS_ACTIVE) {
		(void)idp_family_revoke(idp, brk_req_id(r), g.family,
		    "user not active");
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "the user is not active");
		goto out;
	}
	/* rotate: mark this one used (compare-and-swap), then mint */
	json_object_set_new(o, "used", json_true());
	if ((data = json_dumps(o, JSON_COMPACT)) == NULL ||
	    dir_state_update(idp->dir, IDP_ST_RT, key, st->version, data,
	    st->expires, NULL) != 0) {
		(void)idp_family_revoke(idp, brk_req_id(r), g.family,
		    "concurrent refresh");
		idp_oauth_error(r, CM_E_OAUTH_INVALID_GRANT, NULL,
		    "refresh token already used");
		goto out;
	}
	brk_metrics_auth(idp->app, "refresh_token", 1);
	respond_tokens(idp, r, c, &g, 1, 1);
 out:
	dir_user_free(&u);
	free(live);
	free(data);
	json_decref(o);
	dir_state_free(&st);
}

static void
grant_client_credentials(struct idp *idp, struct brk_req *r,
    const struct brk_form *f, const struct idp_client *c)
{
	const char *scope = NULL;
	struct cm_buf all;
	struct grant g;
	size_t i;

	memset(&g, 0, sizeof(g));
	cm_buf_init(&all, 4096, 0);
	if (brk_form_get(f, "scope", &scope) == 0) {
		if (!idp_scope_subset(scope, c->scopes, c->nscopes) ||
		    idp_scope_has(scope, "openid")) {
			idp_oauth_error(r, CM_E_OAUTH_INVALID_SCOPE, NULL,
			    "a requested scope is not registered for this "
			    "client");
			return;
		}
		g.scope = scope;
	} else {
		/* no scope asked: all registered scopes (RFC 6749 §3.3) */
		for (i = 0; i < c->nscopes; i++)
			if (cm_buf_appendf(&all, "%s%s", i ? " " : "",
			    c->scopes[i]) != 0)
				break;
		if (cm_buf_cstr(&all) != 0) {
			idp_oauth_error(r, CM_E_INTERNAL, NULL, NULL);
			return;
		}
		g.scope = (const char *)all.data;
	}
	respond_tokens(idp, r, c, &g, 0, 0);
	cm_buf_free(&all);
}

void
idp_h_token(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct brk_form *f = NULL;
	struct idp_client *c = NULL;
	const char *gt = NULL;

	(void)app;
	if (brk_req_form(r, &f) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL,
		    "expected a valid application/x-www-form-urlencoded body");
		return;
	}
	if (brk_form_get(f, "grant_type", &gt) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL,
		    "grant_type missing or repeated");
		goto out;
	}
	if (idp_client_authenticate(idp, r, f, &c) != 0)
		goto out;	/* response set */
	if (strcmp(gt, "authorization_code") != 0 &&
	    strcmp(gt, "refresh_token") != 0 &&
	    strcmp(gt, "client_credentials") != 0) {
		idp_oauth_error(r, CM_E_OAUTH_UNSUPPORTED_GRANT, NULL, NULL);
		goto out;
	}
	if (!idp_client_grant_ok(c, gt)) {
		idp_oauth_error(r, CM_E_OAUTH_UNAUTHORIZED_CLIENT, NULL, NULL);
		goto out;
	}
	if (strcmp(gt, "authorization_code") == 0)
		grant_code(idp, r, f, c);
	else if (strcmp(gt, "refresh_token") == 0)
		grant_refresh(idp, r, f, c);
	else
		grant_client_credentials(idp, r, f, c);
 out:
	idp_client_free(&c);
	brk_form_free(&f);
}

/*
 * idp/access.c — our own access tokens seen from our own endpoints:
 * userinfo (OIDC Core §5.3), introspection (RFC 7662) and revocation
 * (RFC 7009).  Unlike a PEP, these reflect the current state: a token whose
 * jti was revoked, or whose session ended, is inactive here at once (PEPs
 * that verify locally see it at the latest when the token expires, after
 * access_token_lifetime).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "idp_int.h"

/* Signature, typ at+jwt, iss, exp, nbf; then revocation and session.
 * *claims on success. */
int
idp_access_verify(struct idp *idp, const char *tok, json_t **claims)
{
	char *jwks = NULL;
	tok_keyset *ks = NULL;
	const tok_key *key;
	uint8_t *hdr = NULL, *payload = NULL;
	size_t hlen = 0, plen = 0;
	const char *dot, *typ, *kid, *iss, *jti, *sid;
	json_t *h = NULL, *o = NULL;
	json_int_t exp = 0, nbf = 0;
	struct dir_state *st = NULL;
	int64_t now = cm_time();
	int r = CM_ERR_DENIED;

	*claims = NULL;
	if (tok == NULL || strlen(tok) > TOK_JWT_MAX_LEN ||
	    (dot = strchr(tok, '.')) == NULL ||
	    cm_b64url_decode(tok, (size_t)(dot - tok), &hdr, &hlen) != 0)
		goto out;
	h = json_loadb((const char *)hdr, hlen, JSON_REJECT_DUPLICATES, NULL);
	if (json_unpack(h, "{s:s, s:s}", "typ", &typ, "kid", &kid) != 0 ||
	    strcmp(typ, "at+jwt") != 0)
		goto out;
	if (tok_signer_jwks(idp->signer, now, &jwks) != 0 ||
	    tok_keyset_parse((const uint8_t *)jwks, strlen(jwks), &ks) != 0) {
		r = CM_ERR_UNAVAIL;
		goto out;
	}
	if ((key = tok_keyset_find(ks, kid, strlen(kid))) == NULL ||
	    tok_jws_verify_compact(key, tok, strlen(tok), &payload,
	    &plen) != 0)
		goto out;
	o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES,
	    NULL);
	if (json_unpack(o, "{s:s, s:s, s:I}", "iss", &iss, "jti", &jti,
	    "exp", &exp) != 0 || strcmp(iss, idp->issuer) != 0 ||
	    exp <= now)
		goto out;
	if (json_unpack(o, "{s:I}", "nbf", &nbf) == 0 && nbf > now + 5)
		goto out;
	/* revoked? */
	if ((r = dir_state_get(idp->dir, IDP_ST_REVOKED, jti, now,
	    &st)) == 0) {
		r = CM_ERR_DENIED;
		goto out;
	}
	if (r != CM_ERR_NOTFOUND)
		goto out;
	/* session still alive? */
	if ((sid = json_string_value(json_object_get(o, "sid"))) != NULL) {
		char **keys = NULL;
		size_t n = 0;

		if ((r = dir_state_find(idp->dir, IDP_ST_SESS,
		    DIR_STATE_BY_REF, sid, &keys, &n)) != 0)
			goto out;
		dir_names_free(&keys, n);
		if (n == 0) {
			r = CM_ERR_DENIED;
			goto out;
		}
	}
	*claims = o;
	o = NULL;
	r = 0;
 out:
	dir_state_free(&st);
	json_decref(h);
	json_decref(o);
	free(hdr);
	free(payload);
	free(jwks);
	tok_keyset_free(&ks);
	return r;
}

static const char *
bearer(struct brk_req *r)
{
	const char *h = brk_req_header(r, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

static void
bearer_error(struct brk_req *r, const char *err, const char *desc)
{
	char h[256];

	snprintf(h, sizeof(h), "Bearer error=\"%s\", error_description="
	    "\"%s\"", err, desc);
	(void)brk_resp_header(r, "WWW-Authenticate", h);
	idp_oauth_error(r, CM_E_OAUTH_INVALID_TOKEN, err, desc);
}

void
idp_h_userinfo(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	const char *tok = bearer(r), *uid, *scope;
	struct dir_user *u = NULL;
	json_t *cl = NULL, *o, *vc = NULL;
	int rc;

	(void)app;
	if (tok == NULL) {
		(void)brk_resp_header(r, "WWW-Authenticate",
		    "Bearer realm=\"sekimori\"");
		idp_oauth_error(r, CM_E_OAUTH_INVALID_TOKEN, "invalid_token",
		    "a bearer access token is required");
		return;
	}
	if ((rc = idp_access_verify(idp, tok, &cl)) != 0) {
		if (rc == CM_ERR_UNAVAIL || rc == CM_ERR_TIMEOUT)
			idp_oauth_error(r, CM_E_DIR_UNAVAILABLE, NULL, NULL);
		else
			bearer_error(r, "invalid_token",
			    "invalid, expired or revoked access token");
		return;
	}
	scope = json_string_value(json_object_get(cl, "scope"));
	uid = json_string_value(json_object_get(cl, "sub"));
	if (scope == NULL || !idp_scope_has(scope, "openid") ||
	    json_object_get(cl, "auth_time") == NULL) {
		json_decref(cl);
		bearer_error(r, "insufficient_scope",
		    "the token was not issued for openid");
		return;
	}
	if ((rc = dir_user_find(idp->dir, uid, &u)) != 0 ||
	    u->status != DIR_STATUS_ACTIVE) {
		json_decref(cl);
		dir_user_free(&u);
		if (rc == CM_ERR_UNAVAIL || rc == CM_ERR_TIMEOUT)
			idp_oauth_error(r, CM_E_DIR_UNAVAILABLE, NULL, NULL);
		else
			bearer_error(r, "invalid_token", "user not active");
		return;
	}
	o = json_pack("{s:s}", "sub", uid);
	if (idp_scope_has(scope, "profile") && u->name != NULL)
		json_object_set_new(o, "name", json_string(u->name));
	if (idp_scope_has(scope, "email") && u->mail != NULL) {
		json_object_set_new(o, "email", json_string(u->mail));
		json_object_set_new(o, "email_verified", json_false());
	}
	dir_user_free(&u);
	/* verified_claims asked for in claims.userinfo (docs/proofing.md) */
	if (idp_proofing_vc_userinfo(idp, uid, json_string_value(
	    json_object_get(cl, "client_id")), json_string_value(
	    json_object_get(cl, "jti")), &vc) != 0) {
		json_decref(cl);
		json_decref(o);
		idp_oauth_error(r, CM_E_DIR_UNAVAILABLE, NULL, NULL);
		return;
	}
	if (vc != NULL)
		json_object_set_new(o, "verified_claims", vc);
	json_decref(cl);
	brk_resp_json(r, 200, o);
}

static void
inactive(struct brk_req *r)
{
	brk_resp_json(r, 200, json_pack("{s:b}", "active", 0));
}

/* A refresh token's state entry for the calling client, or NULL. */
static json_t *
refresh_lookup(struct idp *idp, const char *tok, const char *client_id,
    char key[44], int64_t *expires)
{
	struct dir_state *st = NULL;
	json_t *o;

	if (strlen(tok) != 43 || idp_hash_key(tok, key) != 0 ||
	    dir_state_get(idp->dir, IDP_ST_RT, key, cm_time(), &st) != 0)
		return NULL;
	o = json_loads(st->data, JSON_REJECT_DUPLICATES, NULL);
	*expires = st->expires;
	dir_state_free(&st);
	if (o == NULL || strcmp(json_string_value(json_object_get(o,
	    "client_id")) ? json_string_value(json_object_get(o,
	    "client_id")) : "", client_id) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* May this client see this access token?  Its own, or one for it. */
static int
access_permitted(const json_t *cl, const char *client_id)
{
	const char *cid = json_string_value(json_object_get(cl, "client_id"));
	json_t *aud = json_object_get(cl, "aud"), *v;
	size_t i;

	if (cid != NULL && strcmp(cid, client_id) == 0)
		return 1;
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), client_id) == 0;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), client_id) == 0)
			return 1;
	return 0;
}

void
idp_h_introspect(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct brk_form *f = NULL;
	struct idp_client *c = NULL;
	const char *tok = NULL, *hint = NULL;
	json_t *cl = NULL, *o;
	char key[44];
	int64_t exp = 0;

	(void)app;
	if (brk_req_form(r, &f) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL,
		    "expected a form body");
		return;
	}
	if (idp_client_authenticate(idp, r, f, &c) != 0)
		goto out;
	if (brk_form_get(f, "token", &tok) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL,
		    "token is required");
		goto out;
	}
	if (brk_form_get(f, "token_type_hint", &hint) != 0)
		hint = NULL;
	if (strchr(tok, '.') != NULL) {
		if (idp_access_verify(idp, tok, &cl) != 0 ||
		    !access_permitted(cl, c->client_id)) {
			inactive(r);
			goto out;
		}
		json_object_set_new(cl, "active", json_true());
		json_object_set_new(cl, "token_type", json_string("Bearer"));
		if (json_object_get(cl, "sub") != NULL &&
		    json_object_get(cl, "auth_time") != NULL)
			json_object_set(cl, "username",
			    json_object_get(cl, "sub"));
		brk_resp_json(r, 200, cl);
		cl = NULL;
		goto out;
	}
	if ((o = refresh_lookup(idp, tok, c->client_id, key, &exp)) == NULL ||
	    json_is_true(json_object_get(o, "used"))) {
		json_decref(o);
		inactive(r);
		goto out;
	}
	/* bound to a session (not offline_access): alive only with it, as
	 * the refresh grant itself judges */
	if (json_string_value(json_object_get(o, "session")) != NULL &&
	    idp_session_alive(idp, json_string_value(json_object_get(o,
	    "session")), json_string_value(json_object_get(o, "sid")),
	    json_string_value(json_object_get(o, "uid")), NULL) != 0) {
		json_decref(o);
		inactive(r);
		goto out;
	}
	brk_resp_json(r, 200, json_pack("{s:b, s:s, s:O, s:O, s:O, s:s, s:I,"
	    " s:s, s:O}",
	    "active", 1, "token_type", "refresh_token",
	    "client_id", json_object_get(o, "client_id"),
	    "sub", json_object_get(o, "uid"),
	    "scope", json_object_get(o, "scope"),
	    "iss", idp->issuer, "exp", (json_int_t)exp,
	    "acr", idp_acr_uri((int)json_integer_value(
	    json_object_get(o, "aal"))),
	    "auth_time", json_object_get(o, "auth_time")));
	json_decref(o);
 out:
	json_decref(cl);
	idp_client_free(&c);
	brk_form_free(&f);
}

void
idp_h_revoke(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct brk_form *f = NULL;
	struct idp_client *c = NULL;
	const char *tok = NULL;
	json_t *cl = NULL, *o = NULL;
	char key[44];
	int64_t exp = 0;

	(void)app;
	if (brk_req_form(r, &f) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL,
		    "expected a form body");
		return;
	}
	if (idp_client_authenticate(idp, r, f, &c) != 0)
		goto out;
	if (brk_form_get(f, "token", &tok) != 0) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL,
		    "token is required");
		goto out;
	}
	if (strchr(tok, '.') != NULL) {
		/* an access token of this client: revoke its jti */
		if (idp_access_verify(idp, tok, &cl) == 0 &&
		    strcmp(json_string_value(json_object_get(cl,
		    "client_id")), c->client_id) == 0) {
			(void)idp_jti_revoke(idp, json_string_value(
			    json_object_get(cl, "jti")),
			    json_integer_value(json_object_get(cl, "exp")));
			if (cm_audit_emit(brk_req_id(r), "token.revoked",
			    "{s:s, s:s, s:O}", "client_id", c->client_id,
			    "type", "access_token", "jti",
			    json_object_get(cl, "jti")) != 0)
				cm_err(brk_req_id(r), "audit.write_failed",
				    NULL);
		}
	} else if ((o = refresh_lookup(idp, tok, c->client_id, key,
	    &exp)) != NULL) {
		/* a refresh token: the whole grant goes (RFC 7009 §2.1) */
		(void)idp_family_revoke(idp, brk_req_id(r),
		    json_string_value(json_object_get(o, "family")),
		    "revoked by the client");
	}
	/* 200 whatever the token was (RFC 7009 §2.2) */
	brk_resp_body(r, 200, "application/json", "{}", 2);
 out:
	json_decref(o);
	json_decref(cl);
	idp_client_free(&c);
	brk_form_free(&f);
}

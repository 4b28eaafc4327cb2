/*
 * idp/logout.c — RP-initiated logout (OpenID Connect RP-Initiated Logout
 * 1.0) and back-channel logout (OpenID Connect Back-Channel Logout 1.0).
 *
 *   GET|POST /logout?id_token_hint&post_logout_redirect_uri&state&client_id
 *
 * With an id_token_hint of the current session the session ends at once;
 * otherwise the user confirms on a page (a form with the session's CSRF
 * token).  post_logout_redirect_uri must be one of the client's registered
 * redirect URIs (exact match) and the client must be known from client_id
 * or the hint.  Every client that received a code in the session and
 * registered a back-channel logout URI is sent a logout token (typ
 * logout+jwt) over HTTPS (http:// only to loopback addresses, for tests),
 * through the outbox (outbox.c): the logout does not wait for the clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "idp_int.h"

#define BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"

static int
uri_allowed(const char *uri)
{
	if (strncmp(uri, "https://", 8) == 0)
		return 1;
	/* plain http only to this machine (tests, local development) */
	return strncmp(uri, "http://127.0.0.1:", 17) == 0 ||
	    strncmp(uri, "http://127.0.0.1/", 17) == 0 ||
	    strncmp(uri, "http://[::1]:", 13) == 0;
}

/* Queue the logout token for uri (outbox.c posts it). */
static void
queue_logout_token(struct idp *idp, const char *rid, const char *uri,
    const char *token, const char *sid, const char *jti)
{
	char *esc = NULL, *body = NULL;
	size_t n;

	/* the token is base64url and dots: nothing to escape, but the
	 * form is built the way a form is */
	if ((esc = curl_easy_escape(NULL, token, 0)) == NULL ||
	    (body = malloc((n = strlen(esc) + sizeof("logout_token=")))) ==
	    NULL) {
		cm_err(rid, "logout.backchannel_undelivered", "{s:s, s:s}",
		    "uri", uri, "error", cm_strerror(CM_ERR_NOMEM));
		goto out;
	}
	snprintf(body, n, "logout_token=%s", esc);
	idp_outbox_put(idp, rid, IDP_OUT_BCL, uri, body, sid, jti);
 out:
	if (esc != NULL) {
		OPENSSL_cleanse(esc, strlen(esc));
		curl_free(esc);
	}
	cm_strfree(&body);
}

static void
backchannel(struct idp *idp, struct brk_req *r, struct idp_session *s)
{
	json_t *clients = json_object_get(s->data, "clients"), *v;
	int64_t now = cm_time();
	size_t i;

	if (!idp->cfg->backchannel_logout)
		return;
	json_array_foreach(clients, i, v) {
		struct idp_client *c = NULL;
		char *jti = NULL, *tok = NULL;
		json_t *cl;

		if (!json_is_string(v) || idp_client_load(idp,
		    json_string_value(v), &c) != 0)
			continue;
		if (c->backchannel_logout_uri == NULL ||
		    !uri_allowed(c->backchannel_logout_uri) ||
		    cm_random_b64url(16, &jti) != 0) {
			idp_client_free(&c);
			free(jti);
			continue;
		}
		cl = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:{s:{}}}",
		    "iss", idp->issuer, "aud", c->client_id,
		    "iat", (json_int_t)now, "exp", (json_int_t)(now + 120),
		    "jti", jti, "sub", s->uid, "sid", s->sid,
		    "events", BCL_EVENT);
		if (cl != NULL &&
		    tok_jwt_sign_at(idp->signer, "logout+jwt", cl, now,
		    &tok) == 0)
			queue_logout_token(idp, brk_req_id(r),
			    c->backchannel_logout_uri, tok, s->sid, jti);
		json_decref(cl);
		cm_strfree(&tok);
		free(jti);
		idp_client_free(&c);
	}
}

void
idp_session_ended(struct idp *idp, struct brk_req *r, struct idp_session *s)
{
	json_t *sub;

	backchannel(idp, r, s);
	sub = json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s}}", "format",
	    "complex", "user", "format", "iss_sub", "iss", idp->issuer, "sub",
	    s->uid, "session", "format", "opaque", "id", s->sid);
	if (sub != NULL)
		idp_ssf_emit(idp, brk_req_id(r), "session-revoked", sub, NULL);
	json_decref(sub);
}

/* An ID token we issued (signature and iss; expiry is not required of a
 * hint).  Returns the claims or NULL. */
static json_t *
verify_hint(struct idp *idp, const char *hint)
{
	char *jwks = NULL;
	tok_keyset *ks = NULL;
	uint8_t *payload = NULL;
	size_t plen = 0, i;
	json_t *o = NULL;

	if (hint == NULL || tok_signer_jwks(idp->signer, cm_time(),
	    &jwks) != 0 ||
	    tok_keyset_parse((const uint8_t *)jwks, strlen(jwks), &ks) != 0)
		goto out;
	/* try each published key: the hint's kid is only a hint too */
	for (i = 0; i < tok_keyset_count(ks); i++) {
		if (tok_jws_verify_compact(tok_keyset_get(ks, i), hint,
		    strlen(hint), &payload, &plen) == 0)
			break;
	}
	if (payload == NULL)
		goto out;
	o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES,
	    NULL);
	if (o == NULL || json_string_value(json_object_get(o, "iss")) == NULL ||
	    strcmp(json_string_value(json_object_get(o, "iss")),
	    idp->issuer) != 0 || json_object_get(o, "auth_time") == NULL) {
		json_decref(o);
		o = NULL;
	}
 out:
	free(payload);
	free(jwks);
	tok_keyset_free(&ks);
	return o;
}

static void
done_page(struct brk_req *r, enum idp_lang lang)
{
	char *html = NULL;

	if (idp_page_message(lang, idp_str(lang, IDP_S_SIGNOUT),
	    idp_str(lang, IDP_S_SIGNED_OUT), &html) != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	brk_resp_body(r, 200, "text/html; charset=utf-8", html, strlen(html));
	free(html);
}

void
idp_h_logout(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct brk_form *f = NULL;
	struct idp_session *s = NULL;
	struct idp_client *c = NULL;
	const char *hint = NULL, *uri = NULL, *state = NULL, *cid = NULL;
	const char *csrf = NULL, *uil = NULL;
	json_t *hc = NULL;
	enum idp_lang lang;
	int post = strcmp(brk_req_method(r), "POST") == 0, confirmed = 0;
	struct cm_buf b;

	(void)app;
	cm_buf_init(&b, 8192, 0);
#define P(name, var) \
	(post ? brk_form_get(f, name, &var) : brk_req_query(r, name, &var))
	if (post && brk_req_form(r, &f) != 0) {
		brk_resp_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL);
		goto out;
	}
	if (P("id_token_hint", hint) == CM_ERR_INVAL ||
	    P("post_logout_redirect_uri", uri) == CM_ERR_INVAL ||
	    P("state", state) == CM_ERR_INVAL ||
	    P("client_id", cid) == CM_ERR_INVAL ||
	    P("ui_locales", uil) == CM_ERR_INVAL) {
		brk_resp_error(r, CM_E_OAUTH_INVALID_REQUEST,
		    "a parameter is repeated");
		goto out;
	}
#undef P
	lang = idp_lang_pick(NULL, uil, brk_req_header(r, "Accept-Language"));
	hc = verify_hint(idp, hint);
	if (hint != NULL && hc == NULL) {
		brk_resp_error(r, CM_E_OAUTH_INVALID_REQUEST,
		    "id_token_hint is not an ID token of this issuer");
		goto out;
	}
	if (cid == NULL && hc != NULL)
		cid = json_string_value(json_object_get(hc, "aud"));
	if (uri != NULL) {
		if (cid == NULL || idp_client_load(idp, cid, &c) != 0 ||
		    !idp_client_redirect_ok(c, uri)) {
			brk_resp_error(r, CM_E_OAUTH_INVALID_REQUEST,
			    "post_logout_redirect_uri not registered");
			goto out;
		}
	}
	if (idp_session_current(idp, r, &s) == 0) {
		const char *hsid = hc ? json_string_value(json_object_get(hc,
		    "sid")) : NULL;

		if (hsid != NULL && strcmp(hsid, s->sid) == 0)
			confirmed = 1;
		else if (post && brk_form_get(f, "csrf", &csrf) == 0 &&
		    cm_ct_streq(csrf, json_string_value(json_object_get(
		    s->data, "csrf"))))
			confirmed = 1;
		if (!confirmed) {
			char *html = NULL;

			if (idp_page_logout_confirm(lang, json_string_value(
			    json_object_get(s->data, "csrf")), uri, state,
			    c ? c->client_id : NULL, &html) != 0) {
				brk_resp_error(r, CM_E_INTERNAL, NULL);
				goto out;
			}
			(void)idp_csp_form_target(r, uri);
			brk_resp_body(r, 200, "text/html; charset=utf-8", html,
			    strlen(html));
			free(html);
			goto out;
		}
		if (idp_session_end_sid(idp, r, s) != 0) {
			brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
			goto out;
		}
		if (cm_audit_emit(brk_req_id(r), "logout", "{s:s, s:s, s:s?}",
		    "uid", s->uid, "sid", s->sid, "client_id", cid) != 0)
			cm_err(brk_req_id(r), "audit.write_failed", NULL);
		idp_session_ended(idp, r, s);
	}
	if (uri != NULL) {
		if (cm_buf_append(&b, uri, strlen(uri)) != 0 ||
		    (state != NULL && idp_url_add(&b, "state", state) != 0) ||
		    cm_buf_cstr(&b) != 0) {
			brk_resp_error(r, CM_E_INTERNAL, NULL);
			goto out;
		}
		idp_redirect(r, (char *)b.data);
	} else
		done_page(r, lang);
 out:
	cm_buf_free(&b);
	json_decref(hc);
	idp_client_free(&c);
	idp_session_free(&s);
	brk_form_free(&f);
}

/*
 * idp/core.c — the provider object, its routes, discovery (OpenID Connect
 * Discovery 1.0), the JWKS and the stylesheet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "idp_int.h"

/* A JSON array of the NULL-terminated strings v. */
static json_t *
strs(const char *const *v)
{
	json_t *a = json_array();

	while (a != NULL && *v != NULL)
		json_array_append_new(a, json_string(*v++));
	return a;
}

static void
h_discovery(struct brk_app *app, struct brk_req *r, void *ctx)
{
	static const char *const grants[] = { "authorization_code",
	    "refresh_token", "client_credentials", NULL };
	static const char *const auth_methods[] = { "client_secret_basic",
	    "private_key_jwt", NULL };
	static const char *const auth_algs[] = { "ES256", "EdDSA", "Ed25519",
	    "PS256", "RS256", NULL };
	static const char *const scopes[] = { "openid", "profile", "email",
	    "offline_access", NULL };
	static const char *const claims[] = { "sub", "iss", "aud", "exp",
	    "iat", "auth_time", "nonce", "acr", "amr", "sid", "name", "email",
	    NULL };
	static const char *const code[] = { "code", NULL };
	static const char *const query[] = { "query", NULL };
	static const char *const s256[] = { "S256", NULL };
	static const char *const pub[] = { "public", NULL };
	static const char *const normal[] = { "normal", NULL };
	static const char *const locales[] = { "ja", "en", NULL };
	static const char *const prompts[] = { "none", "login", NULL };
	const char *acrs[] = { idp_acr_uri(1), idp_acr_uri(2), idp_acr_uri(3),
	    NULL };
	const char *algs[] = { NULL, NULL };
	struct idp *idp = ctx;
	char ep[7][640], kid[TOK_KID_MAX_LEN + 1];
	static const char *const paths[] = { "/authorize", "/token",
	    "/userinfo", "/jwks.json", "/logout", "/introspect", "/revoke" };
	enum tok_alg alg = TOK_ALG_ES256;
	json_t *o;
	size_t i;

	(void)app;
	for (i = 0; i < 7; i++)
		snprintf(ep[i], sizeof(ep[i]), "%s%s", idp->issuer, paths[i]);
	if (tok_signer_current_kid(idp->signer, cm_time(), kid, sizeof(kid),
	    &alg) != 0) {
		brk_resp_error(r, CM_E_TOK_SIGNER_UNAVAILABLE, NULL);
		return;
	}
	algs[0] = tok_alg_name(alg);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
	    " s:o, s:o, s:o, s:o, s:o,"
	    " s:b, s:b, s:b, s:b, s:b, s:b}",
	    "issuer", idp->issuer,
	    "authorization_endpoint", ep[0],
	    "token_endpoint", ep[1],
	    "userinfo_endpoint", ep[2],
	    "jwks_uri", ep[3],
	    "end_session_endpoint", ep[4],
	    "introspection_endpoint", ep[5],
	    "revocation_endpoint", ep[6],
	    "response_types_supported", strs(code),
	    "response_modes_supported", strs(query),
	    "grant_types_supported", strs(grants),
	    "subject_types_supported", strs(pub),
	    "id_token_signing_alg_values_supported", strs(algs),
	    "token_endpoint_auth_methods_supported", strs(auth_methods),
	    "token_endpoint_auth_signing_alg_values_supported",
	    strs(auth_algs),
	    "code_challenge_methods_supported", strs(s256),
	    "scopes_supported", strs(scopes),
	    "claims_supported", strs(claims),
	    "claim_types_supported", strs(normal),
	    "ui_locales_supported", strs(locales),
	    "prompt_values_supported", strs(prompts),
	    "acr_values_supported", strs(acrs),
	    "introspection_endpoint_auth_methods_supported",
	    strs(auth_methods),
	    "revocation_endpoint_auth_methods_supported", strs(auth_methods),
	    "introspection_endpoint_auth_signing_alg_values_supported",
	    strs(auth_algs),
	    "claims_parameter_supported", 1,
	    "request_parameter_supported", 0,
	    "request_uri_parameter_supported", 0,
	    "backchannel_logout_supported", 1,
	    "backchannel_logout_session_supported", 1,
	    "authorization_response_iss_parameter_supported", 1);
	if (brk_resp_header(r, "Cache-Control", "public, max-age=300") != 0) {
		json_decref(o);
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	brk_resp_json(r, 200, o);
}

static void
h_jwks(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	char *jwks = NULL;

	(void)app;
	if (tok_signer_jwks(idp->signer, cm_time(), &jwks) != 0) {
		brk_resp_error(r, CM_E_TOK_SIGNER_UNAVAILABLE, NULL);
		return;
	}
	/*
	 * A next key is published key_publish_ahead before it signs (see
	 * docs/tokens.md); caching for five minutes is safe as long as that
	 * period is longer, which tok_keystore_rotate enforces.
	 */
	if (brk_resp_header(r, "Cache-Control", "public, max-age=300") != 0) {
		free(jwks);
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	brk_resp_body(r, 200, "application/jwk-set+json", jwks, strlen(jwks));
	free(jwks);
}

static void
h_css(struct brk_app *app, struct brk_req *r, void *ctx)
{
	(void)app; (void)ctx;
	if (brk_resp_header(r, "Cache-Control", "public, max-age=86400") != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	brk_resp_body(r, 200, "text/css; charset=utf-8", idp_stylesheet,
	    strlen(idp_stylesheet));
}

static void
h_login(struct brk_app *app, struct brk_req *r, void *ctx)
{
	if (strcmp(brk_req_method(r), "POST") == 0)
		idp_h_login_post(app, r, ctx);
	else
		idp_h_login_get(app, r, ctx);
}

static int
ready_keys(struct brk_app *app, void *ctx, const char **why)
{
	struct idp *idp = ctx;
	char kid[TOK_KID_MAX_LEN + 1];
	enum tok_alg alg;

	(void)app;
	if (tok_signer_current_kid(idp->signer, cm_time(), kid, sizeof(kid),
	    &alg) != 0) {
		*why = "no signing key (run: brokerctl key rotate)";
		return CM_ERR_NOTFOUND;
	}
	return 0;
}

int
idp_new(struct brk_app *app, const struct idp_config *cfg,
    tok_signer *signer, struct idp **out)
{
	struct idp *idp;
	int r;

	*out = NULL;
	if ((idp = calloc(1, sizeof(*idp))) == NULL)
		return CM_ERR_NOMEM;
	idp->app = app;
	idp->cfg = cfg;
	idp->signer = signer;
	idp->dir = app->dir;
	strlcpy(idp->issuer, app->cfg->issuer, sizeof(idp->issuer));
	snprintf(idp->token_endpoint, sizeof(idp->token_endpoint), "%s/token",
	    idp->issuer);
	/* each part's _free accepts what was never set up: one way out */
	if ((r = idp_mfa_init(idp)) != 0 || (r = idp_ssf_init(idp)) != 0 ||
	    (r = idp_outbox_init(idp)) != 0 ||
	    (r = idp_client_cache_init(idp)) != 0 ||
	    (r = idp_wa_init(idp)) != 0)
		goto fail;
	if ((r = brk_route_add(app, BRK_M_GET,
	    "/.well-known/openid-configuration", 0, h_discovery, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET, "/jwks.json", 0, h_jwks,
	    idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET, "/static/sekimori.css", 0,
	    h_css, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET | BRK_M_POST, "/authorize",
	    BRK_ROUTE_HTML, idp_h_authorize, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET | BRK_M_POST, "/login",
	    BRK_ROUTE_HTML, h_login, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET | BRK_M_POST, "/login/otp",
	    BRK_ROUTE_HTML, idp_h_login_otp, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET, "/account", BRK_ROUTE_HTML,
	    idp_h_account, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_POST, "/account/totp",
	    BRK_ROUTE_HTML, idp_h_account_totp, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_POST, "/account/webauthn",
	    BRK_ROUTE_HTML, idp_h_account_webauthn, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_POST, "/webauthn/register/options",
	    0, idp_h_wa_register_options, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_POST, "/webauthn/login/options", 0,
	    idp_h_wa_login_options, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET | BRK_M_POST, "/login/webauthn",
	    BRK_ROUTE_HTML, idp_h_login_webauthn, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET | BRK_M_POST, "/proofing",
	    BRK_ROUTE_HTML, idp_h_proofing, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_POST, "/proofing/device", 0,
	    idp_h_proofing_device, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET | BRK_M_POST, "/recovery",
	    BRK_ROUTE_HTML, idp_h_recovery, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET | BRK_M_POST, "/admin/approvals",
	    BRK_ROUTE_HTML, idp_h_admin_approvals, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET, "/static/webauthn.js", 0,
	    idp_h_wa_js, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET, "/forward-auth", 0,
	    idp_h_forward_auth, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_POST, "/ssf/events", 0,
	    idp_h_ssf_events, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET, "/.well-known/ssf-configuration",
	    0, idp_h_ssf_config, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_POST, "/token", 0, idp_h_token,
	    idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET | BRK_M_POST, "/userinfo", 0,
	    idp_h_userinfo, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_POST, "/introspect", 0,
	    idp_h_introspect, idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_POST, "/revoke", 0, idp_h_revoke,
	    idp)) != 0 ||
	    (r = brk_route_add(app, BRK_M_GET | BRK_M_POST, "/logout",
	    BRK_ROUTE_HTML, idp_h_logout, idp)) != 0 ||
	    (r = brk_ready_add(app, "keys", ready_keys, idp)) != 0)
		goto fail;
	*out = idp;
	return 0;
 fail:
	idp_free(&idp);
	return r;
}

void
idp_free(struct idp **p)
{
	if (p == NULL || *p == NULL)
		return;
	/* first: what is queued goes out while everything else still is */
	idp_outbox_free(*p);
	idp_wa_free(*p);
	idp_client_cache_free(*p);
	idp_ssf_free(*p);
	idp_mfa_free(*p);
	free(*p);
	*p = NULL;
}

#define IDP_PRUNE_BUDGET_MS	2000	/* a pass starts no kind after this */

int
idp_prune_state(struct idp *idp, int64_t now, size_t *removed)
{
	static const char *const kinds[] = {
		IDP_ST_TX, IDP_ST_SESS, IDP_ST_CODE, IDP_ST_RT, IDP_ST_JTI,
		IDP_ST_REVOKED, IDP_ST_WA, IDP_ST_VC, "risk", "setjti",
	};
	size_t i, n, total = 0;
	int r, first = 0;

	uint64_t budget = cm_now_ms() + IDP_PRUNE_BUDGET_MS;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		/* brokerd prunes on its signal thread: keep each pass
		 * short, a backlog goes over several passes */
		if (cm_now_ms() > budget)
			break;
		n = 0;
		r = dir_state_prune(idp->dir, kinds[i], now, &n);
		total += n;
		if (r != 0 && first == 0)
			first = r;
		if (r != 0)
			cm_warn(NULL, "state.prune_failed", "{s:s, s:s}",
			    "kind", kinds[i], "error", cm_strerror(r));
	}
	if (total > 0)
		cm_info(NULL, "state.pruned", "{s:I}", "removed",
		    (json_int_t)total);
	if (removed != NULL)
		*removed = total;
	return first;
}

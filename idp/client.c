/*
 * idp/client.c — relying parties and RPA accounts behind one view, and
 * client authentication at the token, introspection and revocation
 * endpoints.
 *
 *   client_secret_basic  RFC 6749 §2.3.1: Basic with form-urlencoded id and
 *                        secret; the directory holds SHA-256 of a 256-bit
 *                        secret, compared in constant time
 *   private_key_jwt      RFC 7523 / OIDC Core §9: a JWT signed with a key
 *                        of the client's JWKS (algorithm from the key);
 *                        iss = sub = client_id, aud = issuer or token
 *                        endpoint, exp required and near, jti required and
 *                        never seen before (an add-only directory entry)
 *
 * RPA accounts authenticate with private_key_jwt only and may use only
 * client_credentials; their accountable owner must be active.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <pthread.h>

#include "idp_int.h"

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

static char **
strv_dup(char *const *v, size_t n)
{
	char **o;
	size_t i;

	if ((o = calloc(n + 1, sizeof(*o))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((o[i] = strdup(v[i])) == NULL) {
			while (i > 0)
				free(o[--i]);
			free(o);
			return NULL;
		}
	}
	return o;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
idp_client_free(struct idp_client **cp)
{
	struct idp_client *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	free(c->client_id);
	free(c->name);
	strv_free(c->redirect_uris, c->nredirect_uris);
	strv_free(c->grant_types, c->ngrant_types);
	strv_free(c->scopes, c->nscopes);
	free(c->auth_method);
	free(c->secret_hash);
	free(c->jwks);
	free(c->backchannel_logout_uri);
	free(c->rpa_owner);
	free(c);
	*cp = NULL;
}

static char *
sdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int
from_rpa(struct idp *idp, const char *client_id, struct idp_client **out)
{
	char cct[] = "client_credentials";
	char *const cc[] = { cct };
	struct dir_rpa *a = NULL;
	struct idp_client *c;
	int r;

	if ((r = dir_rpa_find(idp->dir, client_id, &a)) != 0)
		return r;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		dir_rpa_free(&a);
		return CM_ERR_NOMEM;
	}
	c->is_rpa = 1;
	c->client_id = sdup(a->client_id);
	c->name = sdup(a->description ? a->description : a->id);
	c->auth_method = sdup("private_key_jwt");
	c->jwks = sdup(a->jwks);
	c->rpa_owner = sdup(a->owner_uid);
	c->grant_types = strv_dup(cc, 1);
	c->ngrant_types = 1;
	c->scopes = strv_dup(a->scopes, a->nscopes);
	c->nscopes = a->nscopes;
	c->active = a->status == DIR_STATUS_ACTIVE &&
	    a->owner_status == DIR_STATUS_ACTIVE;
	dir_rpa_free(&a);
	if (c->client_id == NULL || c->grant_types == NULL ||
	    c->scopes == NULL || c->auth_method == NULL) {
		idp_client_free(&c);
		return CM_ERR_NOMEM;
	}
	*out = c;
	return 0;
}

/*
 * The client cache: every token, introspection and forward-auth request
 * names a client, and reading it from the directory costs a round trip
 * and ~110 µs of slapd CPU (bench/RESULTS.md).  Entries live
 * client_cache_ttl seconds (bounded staleness: a client or an RPA owner
 * disabled elsewhere is refused within that time); a fixed number of
 * slots, no negative entries (unknown ids cannot fill it).
 */
#define IDP_CLIENT_CACHE_SLOTS	256

struct idp_client_cache {
	pthread_mutex_t	 mu;
	struct {
		struct idp_client	*c;
		int64_t			 expires;
	}		 slot[IDP_CLIENT_CACHE_SLOTS];
};

static char **
strv_dup_n(char **v, size_t n)
{
	return strv_dup(v, n);
}

static struct idp_client *
client_dup(const struct idp_client *c)
{
	struct idp_client *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->client_id = sdup(c->client_id);
	d->name = sdup(c->name);
	d->redirect_uris = strv_dup_n(c->redirect_uris, c->nredirect_uris);
	d->nredirect_uris = c->nredirect_uris;
	d->grant_types = strv_dup_n(c->grant_types, c->ngrant_types);
	d->ngrant_types = c->ngrant_types;
	d->scopes = strv_dup_n(c->scopes, c->nscopes);
	d->nscopes = c->nscopes;
	d->auth_method = sdup(c->auth_method);
	d->secret_hash = sdup(c->secret_hash);
	d->jwks = sdup(c->jwks);
	d->backchannel_logout_uri = sdup(c->backchannel_logout_uri);
	d->rpa_owner = sdup(c->rpa_owner);
	d->is_rpa = c->is_rpa;
	d->active = c->active;
	if (d->client_id == NULL || d->redirect_uris == NULL ||
	    d->grant_types == NULL || d->scopes == NULL ||
	    d->auth_method == NULL ||
	    (c->secret_hash != NULL && d->secret_hash == NULL) ||
	    (c->jwks != NULL && d->jwks == NULL)) {
		idp_client_free(&d);
		return NULL;
	}
	return d;
}

static size_t
slot_of(const char *id)
{
	uint32_t h = 2166136261u;	/* FNV-1a: spread, not security */

	while (*id != '\0')
		h = (h ^ (uint8_t)*id++) * 16777619u;
	return h % IDP_CLIENT_CACHE_SLOTS;
}

int
idp_client_cache_init(struct idp *idp)
{
	struct idp_client_cache *cc;

	if (idp->cfg->client_cache_ttl == 0)
		return 0;
	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return CM_ERR_NOMEM;
	pthread_mutex_init(&cc->mu, NULL);
	idp->clients = cc;
	return 0;
}

void
idp_client_cache_free(struct idp *idp)
{
	struct idp_client_cache *cc = idp->clients;
	size_t i;

	if (cc == NULL)
		return;
	for (i = 0; i < IDP_CLIENT_CACHE_SLOTS; i++)
		idp_client_free(&cc->slot[i].c);
	pthread_mutex_destroy(&cc->mu);
	free(cc);
	idp->clients = NULL;
}

static struct idp_client *
cache_get(struct idp *idp, const char *id)
{
	struct idp_client_cache *cc = idp->clients;
	struct idp_client *c = NULL;
	size_t i;

	if (cc == NULL)
		return NULL;
	i = slot_of(id);
	pthread_mutex_lock(&cc->mu);
	if (cc->slot[i].c != NULL && cc->slot[i].expires > cm_time() &&
	    strcmp(cc->slot[i].c->client_id, id) == 0)
		c = client_dup(cc->slot[i].c);
	pthread_mutex_unlock(&cc->mu);
	return c;
}

static void
cache_put(struct idp *idp, const struct idp_client *c)
{
	struct idp_client_cache *cc = idp->clients;
	struct idp_client *d;
	size_t i;

	if (cc == NULL || (d = client_dup(c)) == NULL)
		return;
	i = slot_of(c->client_id);
	pthread_mutex_lock(&cc->mu);
	idp_client_free(&cc->slot[i].c);
	cc->slot[i].c = d;
	cc->slot[i].expires = cm_time() + idp->cfg->client_cache_ttl;
	pthread_mutex_unlock(&cc->mu);
}

static int
client_load_dir(struct idp *idp, const char *client_id,
    struct idp_client **out);

int
idp_client_load(struct idp *idp, const char *client_id,
    struct idp_client **out)
{
	int r;

	*out = NULL;
	if (client_id == NULL || dir_name_check(client_id) != 0)
		return CM_ERR_NOTFOUND;
	if ((*out = cache_get(idp, client_id)) != NULL)
		return 0;
	if ((r = client_load_dir(idp, client_id, out)) == 0)
		cache_put(idp, *out);
	return r;
}

static int
client_load_dir(struct idp *idp, const char *client_id,
    struct idp_client **out)
{
	struct dir_client *d = NULL;
	struct idp_client *c;
	int r;

	*out = NULL;
	if (client_id == NULL || dir_name_check(client_id) != 0)
		return CM_ERR_NOTFOUND;
	r = dir_client_find(idp->dir, client_id, &d);
	if (r == CM_ERR_NOTFOUND)
		return from_rpa(idp, client_id, out);
	if (r != 0)
		return r;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		dir_client_free(&d);
		return CM_ERR_NOMEM;
	}
	c->client_id = sdup(d->client_id);
	c->name = sdup(d->name);
	c->redirect_uris = strv_dup(d->redirect_uris, d->nredirect_uris);
	c->nredirect_uris = d->nredirect_uris;
	c->grant_types = strv_dup(d->grant_types, d->ngrant_types);
	c->ngrant_types = d->ngrant_types;
	c->scopes = strv_dup(d->scopes, d->nscopes);
	c->nscopes = d->nscopes;
	c->auth_method = sdup(d->auth_method);
	c->secret_hash = sdup(d->secret_hash);
	c->jwks = sdup(d->jwks);
	c->backchannel_logout_uri = sdup(d->backchannel_logout_uri);
	c->active = d->status == DIR_STATUS_ACTIVE;
	dir_client_free(&d);
	if (c->client_id == NULL || c->redirect_uris == NULL ||
	    c->grant_types == NULL || c->scopes == NULL ||
	    c->auth_method == NULL) {
		idp_client_free(&c);
		return CM_ERR_NOMEM;
	}
	*out = c;
	return 0;
}

int
idp_client_redirect_ok(const struct idp_client *c, const char *uri)
{
	size_t i;

	/* exact string comparison, nothing else (RFC 9700 §2.1) */
	for (i = 0; i < c->nredirect_uris; i++)
		if (strcmp(c->redirect_uris[i], uri) == 0)
			return 1;
	return 0;
}

int
idp_client_grant_ok(const struct idp_client *c, const char *grant)
{
	size_t i;

	for (i = 0; i < c->ngrant_types; i++)
		if (strcmp(c->grant_types[i], grant) == 0)
			return 1;
	return 0;
}

/* "Basic <b64(urlenc(id):urlenc(secret))>" -> id and secret. */
static int
parse_basic(const char *h, char **id, char **secret)
{
	uint8_t buf[1024];
	size_t n = 0;
	const char *end = NULL;
	char *colon;
	size_t ignore;
	int r = CM_ERR_INVAL;

	*id = *secret = NULL;
	if (strncasecmp(h, "Basic ", 6) != 0)
		return CM_ERR_NOTFOUND;
	h += 6;
	while (*h == ' ')
		h++;
	if (strlen(h) > 1300 || sodium_base642bin(buf, sizeof(buf) - 1, h,
	    strlen(h), NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    *end != '\0')
		goto out;
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL ||
	    (colon = strchr((char *)buf, ':')) == NULL)
		goto out;
	if (brk_urldecode((char *)buf, (size_t)(colon - (char *)buf), id,
	    &ignore) != 0 || brk_urldecode(colon + 1, strlen(colon + 1),
	    secret, &ignore) != 0) {
		free(*id);
		*id = NULL;
		goto out;
	}
	r = 0;
 out:
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/* The kid of a compact JWS header, if any (new string). */
static int
jws_header_kid(const char *jwt, char **kid)
{
	const char *dot = strchr(jwt, '.');
	uint8_t *hdr = NULL;
	size_t hlen = 0;
	json_t *o;
	const char *k;

	*kid = NULL;
	if (dot == NULL || cm_b64url_decode(jwt, (size_t)(dot - jwt), &hdr,
	    &hlen) != 0)
		return CM_ERR_INVAL;
	o = json_loadb((const char *)hdr, hlen, JSON_REJECT_DUPLICATES, NULL);
	free(hdr);
	if (!json_is_object(o)) {
		json_decref(o);
		return CM_ERR_INVAL;
	}
	if ((k = json_string_value(json_object_get(o, "kid"))) != NULL &&
	    (*kid = strdup(k)) == NULL) {
		json_decref(o);
		return CM_ERR_NOMEM;
	}
	json_decref(o);
	return 0;
}

static int
aud_ok(struct idp *idp, json_t *aud)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), idp->issuer) == 0 ||
		    strcmp(json_string_value(aud), idp->token_endpoint) == 0;
	if (!json_is_array(aud))
		return 0;
	json_array_foreach(aud, i, v)
		if (aud_ok(idp, v))
			return 1;
	return 0;
}

/* RFC 7523 client assertion; returns a short reason on failure. */
static const char *
check_assertion(struct idp *idp, const struct idp_client *c,
    const char *jwt)
{
	tok_keyset *ks = NULL;
	const tok_key *key = NULL;
	uint8_t *payload = NULL;
	size_t plen = 0;
	char *kid = NULL, rkey[44], *idjti = NULL;
	const char *why = NULL, *iss, *sub, *jti;
	json_t *o = NULL;
	json_int_t exp = 0, iat = 0, nbf = 0;
	int64_t now = cm_time();
	int rc;

	if (c->jwks == NULL ||
	    tok_keyset_parse((const uint8_t *)c->jwks, strlen(c->jwks),
	    &ks) != 0)
		return "client has no usable JWKS";
	if (jws_header_kid(jwt, &kid) != 0) {
		why = "malformed assertion";
		goto out;
	}
	if (kid != NULL)
		key = tok_keyset_find(ks, kid, strlen(kid));
	else if (tok_keyset_count(ks) == 1)
		key = tok_keyset_get(ks, 0);
	if (key == NULL) {
		why = "assertion key not in the client's JWKS";
		goto out;
	}
	if (tok_jws_verify_compact(key, jwt, strlen(jwt), &payload,
	    &plen) != 0) {
		why = "assertion signature or header invalid";
		goto out;
	}
	o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES,
	    NULL);
	if (!json_is_object(o) ||
	    json_unpack(o, "{s:s, s:s, s:s, s:I}", "iss", &iss, "sub", &sub,
	    "jti", &jti, "exp", &exp) != 0) {
		why = "assertion lacks iss, sub, jti or exp";
		goto out;
	}
	if (strcmp(iss, c->client_id) != 0 || strcmp(sub, c->client_id) != 0) {
		why = "assertion iss/sub is not the client";
		goto out;
	}
	if (!aud_ok(idp, json_object_get(o, "aud"))) {
		why = "assertion audience is not this issuer";
		goto out;
	}
	if (exp <= now - 30) {
		why = "assertion expired";
		goto out;
	}
	if (exp > now + (int64_t)idp->cfg->assertion_max_age) {
		why = "assertion lives too long";
		goto out;
	}
	if (json_unpack(o, "{s:I}", "iat", &iat) == 0 && iat > now + 30) {
		why = "assertion issued in the future";
		goto out;
	}
	if (json_unpack(o, "{s:I}", "nbf", &nbf) == 0 && nbf > now + 30) {
		why = "assertion not yet valid";
		goto out;
	}
	if (strlen(jti) == 0 || strlen(jti) > 256) {
		why = "assertion jti unusable";
		goto out;
	}
	/* replay: one add per (client, jti), on any node */
	if ((idjti = malloc(strlen(c->client_id) + strlen(jti) + 2)) == NULL) {
		why = "internal error";
		goto out;
	}
	snprintf(idjti, strlen(c->client_id) + strlen(jti) + 2, "%s %s",
	    c->client_id, jti);
	if (idp_hash_key(idjti, rkey) != 0) {
		why = "internal error";
		goto out;
	}
	rc = dir_state_add(idp->dir, IDP_ST_JTI, rkey, c->client_id, NULL,
	    "{}", exp + 60);
	if (rc == CM_ERR_EXISTS)
		why = "assertion replayed (jti seen before)";
	else if (rc != 0)
		why = "directory unavailable";
 out:
	free(idjti);
	free(kid);
	free(payload);
	json_decref(o);
	tok_keyset_free(&ks);
	return why;
}

int
idp_client_authenticate(struct idp *idp, struct brk_req *r,
    const struct brk_form *f, struct idp_client **out)
{
	const char *auth = brk_req_header(r, "Authorization");
	const char *atype = NULL, *assertion = NULL, *form_id = NULL;
	const char *method = NULL, *why = NULL;
	char *id = NULL, *secret = NULL;
	struct idp_client *c = NULL;
	int rc, has_assertion;

	*out = NULL;
	has_assertion = brk_form_get(f, "client_assertion", &assertion) == 0;
	if (brk_form_get(f, "client_id", &form_id) == CM_ERR_INVAL) {
		idp_oauth_error(r, CM_E_OAUTH_INVALID_REQUEST, NULL,
		    "client_id repeated");
		return -1;
	}
	if (auth != NULL && has_assertion) {
		why = "more than one client authentication method";
		goto fail;
	}
	if (auth != NULL) {
		method = "client_secret";
		if (parse_basic(auth, &id, &secret) != 0) {
			why = "malformed Basic credentials";
			goto fail;
		}
	} else if (has_assertion) {
		method = "private_key_jwt";
		if (brk_form_get(f, "client_assertion_type", &atype) != 0 ||
		    strcmp(atype, ASSERTION_TYPE) != 0) {
			why = "client_assertion_type must be jwt-bearer";
			goto fail;
		}
		if (strlen(assertion) > TOK_JWT_MAX_LEN) {
			why = "assertion too long";
			goto fail;
		}
		/* the client is named by the assertion (or client_id) */
		if (form_id != NULL)
			id = strdup(form_id);
		else {
			uint8_t *p = NULL;
			size_t plen = 0;
			const char *d1 = strchr(assertion, '.'), *d2;
			json_t *o;

			if (d1 != NULL && (d2 = strchr(d1 + 1, '.')) != NULL &&
			    cm_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &p,
			    &plen) == 0) {
				o = json_loadb((const char *)p, plen, 0, NULL);
				if (json_string_value(json_object_get(o,
				    "iss")) != NULL)
					id = strdup(json_string_value(
					    json_object_get(o, "iss")));
				json_decref(o);
				free(p);
			}
		}
		if (id == NULL) {
			why = "cannot tell which client this is";
			goto fail;
		}
	} else {
		why = "client authentication required";
		goto fail;
	}
	if (form_id != NULL && strcmp(form_id, id) != 0) {
		why = "client_id does not match the credentials";
		goto fail;
	}
	if ((rc = idp_client_load(idp, id, &c)) != 0) {
		if (rc == CM_ERR_UNAVAIL || rc == CM_ERR_TIMEOUT) {
			idp_oauth_error(r, CM_E_DIR_UNAVAILABLE, NULL, NULL);
			goto out;
		}
		why = "unknown client";
		goto fail;
	}
	if (strcmp(method, "client_secret") == 0) {
		if (strcmp(c->auth_method, "client_secret_basic") != 0 ||
		    !idp_secret_check(secret, c->secret_hash)) {
			why = "wrong client secret or method";
			goto fail;
		}
	} else {
		if (strcmp(c->auth_method, "private_key_jwt") != 0) {
			why = "client is not registered for private_key_jwt";
			goto fail;
		}
		if ((why = check_assertion(idp, c, assertion)) != NULL)
			goto fail;
	}
	if (!c->active) {
		brk_metrics_auth(idp->app, method, 0);
		if (c->is_rpa) {
			cm_warn(brk_req_id(r), "client.rpa_owner_inactive",
			    "{s:s, s:s}", "client_id", c->client_id, "owner",
			    c->rpa_owner ? c->rpa_owner : "");
			idp_oauth_error(r, CM_E_RPA_OWNER_INACTIVE, NULL,
			    "the service account or its accountable owner is "
			    "not active");
		} else
			idp_oauth_error(r, CM_E_OAUTH_INVALID_CLIENT, NULL,
			    "client disabled");
		goto out;
	}
	brk_metrics_auth(idp->app, method, 1);
	*out = c;
	c = NULL;
	cm_strfree(&secret);
	free(id);
	return 0;
 fail:
	if (method != NULL)
		brk_metrics_auth(idp->app, method, 0);
	{
		char safe[80];

		cm_log_sanitize(safe, sizeof(safe), id ? id : "-",
		    id ? strlen(id) : 1);
		cm_info(brk_req_id(r), "client.auth_failed", "{s:s, s:s}",
		    "client_id", safe, "reason", why);
	}
	idp_oauth_error(r, CM_E_OAUTH_INVALID_CLIENT, NULL, why);
 out:
	idp_client_free(&c);
	cm_strfree(&secret);
	free(id);
	return -1;
}

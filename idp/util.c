/* idp/util.c — small helpers shared by the IdP handlers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "idp_int.h"

int
idp_hash_key(const char *s, char out[44])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	char *b = NULL;
	int r;

	if (SHA256((const uint8_t *)s, strlen(s), md) == NULL)
		return CM_ERR_CRYPTO;
	if ((r = cm_b64url_encode(md, sizeof(md), &b)) != 0)
		return r;
	memcpy(out, b, 43);
	out[43] = '\0';
	free(b);
	return 0;
}

int
idp_random_token(char **out)
{
	return cm_random_b64url(32, out);
}

int
idp_url_add(struct cm_buf *b, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	int r;

	if ((r = cm_buf_append(b, memchr(b->data, '?', b->len) ? "&" : "?",
	    1)) != 0 || (r = cm_buf_append(b, name, strlen(name))) != 0 ||
	    (r = cm_buf_append(b, "=", 1)) != 0)
		return r;
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			r = cm_buf_append(b, p, 1);
		else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			r = cm_buf_append(b, e, 3);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

void
idp_redirect(struct brk_req *r, const char *url)
{
	if (brk_resp_header(r, "Location", url) != 0) {
		brk_resp_error(r, CM_E_INTERNAL, NULL);
		return;
	}
	brk_resp_body(r, 303, "text/plain; charset=utf-8", "", 0);
}

int
idp_set_cookie(struct brk_req *r, const char *name, const char *value,
    long max_age, const char *samesite)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf), "%s=%s; Path=/; Secure; HttpOnly; "
	    "SameSite=%s; Max-Age=%ld", name, value, samesite, max_age);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return CM_ERR_RANGE;
	return brk_resp_header(r, "Set-Cookie", buf);
}

void
idp_oauth_error(struct brk_req *r, enum cm_eid id, const char *oauth,
    const char *desc)
{
	const struct cm_errdef *e = cm_errcat_get(id);

	brk_resp_json(r, e->http_status, json_pack("{s:s, s:s, s:s, s:s}",
	    "error", oauth ? oauth : (e->oauth_error ? e->oauth_error :
	    "server_error"), "error_description", desc ? desc : e->msg_en,
	    "code", e->code, "request_id", brk_req_id(r)));
	if (e->http_status == 401 && id == CM_E_OAUTH_INVALID_CLIENT)
		(void)brk_resp_header(r, "WWW-Authenticate",
		    "Basic realm=\"sekimori\"");
}

int
idp_scope_has(const char *scopes, const char *one)
{
	size_t n = strlen(one);
	const char *p = scopes;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, " ");

		if (len == n && strncmp(p, one, n) == 0)
			return 1;
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

int
idp_scope_subset(const char *want, char *const *allowed, size_t n)
{
	const char *p = want;
	size_t i;

	while (*p != '\0') {
		size_t len = strcspn(p, " ");
		int ok = 0;

		for (i = 0; i < n && !ok; i++)
			ok = strlen(allowed[i]) == len &&
			    strncmp(allowed[i], p, len) == 0;
		if (len > 0 && !ok)
			return 0;
		p += len;
		while (*p == ' ')
			p++;
	}
	return 1;
}

int
idp_pkce_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 43 || n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~'))
			return 0;
	}
	return 1;
}

int
idp_pkce_s256_check(const char *verifier, const char *challenge)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	char *enc = NULL;
	int ok;

	if (!idp_pkce_valid(verifier) || strlen(challenge) != 43)
		return 0;
	if (SHA256((const uint8_t *)verifier, strlen(verifier), md) == NULL ||
	    cm_b64url_encode(md, sizeof(md), &enc) != 0)
		return 0;
	ok = cm_ct_streq(enc, challenge);
	free(enc);
	return ok;
}

int
idp_secret_new(char **secret, char **hash)
{
	char key[44], *s = NULL, *h = NULL;
	int r;

	*secret = *hash = NULL;
	if ((r = idp_random_token(&s)) != 0)
		return r;
	if ((r = idp_hash_key(s, key)) != 0 ||
	    (h = malloc(strlen("sha256:") + 44)) == NULL) {
		cm_strfree(&s);
		return r ? r : CM_ERR_NOMEM;
	}
	snprintf(h, strlen("sha256:") + 44, "sha256:%s", key);
	*secret = s;
	*hash = h;
	return 0;
}

int
idp_secret_check(const char *secret, const char *hash)
{
	char key[44];

	if (secret == NULL || hash == NULL || strncmp(hash, "sha256:", 7) != 0)
		return 0;
	if (idp_hash_key(secret, key) != 0)
		return 0;
	return cm_ct_streq(key, hash + 7);
}

/*
 * The CSP of a page whose form POST ends in a redirect to a client:
 * browsers apply form-action to every redirect of the submission (CSP 3),
 * so the client's origin must be allowed next to 'self'.  uri is a
 * registered, validated redirect URI; its origin is taken up to the first
 * '/' after the scheme.  Anything unexpected in it: 'self' only.
 */
int
idp_csp_form_target(struct brk_req *r, const char *uri)
{
	char csp[1024], origin[512];
	const char *p, *end;
	size_t n, i;

	origin[0] = '\0';
	if (uri != NULL && ((p = strstr(uri, "://")) != NULL)) {
		end = strchr(p + 3, '/');
		n = end ? (size_t)(end - uri) : strlen(uri);
		if (n < sizeof(origin)) {
			memcpy(origin, uri, n);
			origin[n] = '\0';
			for (i = 0; i < n; i++) {
				char c = origin[i];

				if (!((c >= 'a' && c <= 'z') ||
				    (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9') ||
				    strchr(".-:/[]", c) != NULL)) {
					origin[0] = '\0';
					break;
				}
			}
		}
	}
	snprintf(csp, sizeof(csp), "default-src 'none'; script-src 'self'; "
	    "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
	    "form-action 'self'%s%s; frame-ancestors 'none'; base-uri 'none'",
	    origin[0] ? " " : "", origin);
	return brk_resp_header(r, "Content-Security-Policy", csp);
}

int
idp_amr_has(const json_t *amr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(amr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return 1;
	return 0;
}

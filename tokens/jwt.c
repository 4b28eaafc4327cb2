/* tokens/jwt.c — JWT signing (RFC 7519 compact JWS, RFC 9068 at+jwt). */
#include <stdlib.h>
#include <string.h>

#include "tokens/tok_int.h"

static int
b64_json(const json_t *o, char **out)
{
	char *s;
	int r;

	*out = NULL;
	/* compact, member order as built: the bytes we sign are the bytes
	 * we send */
	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		return CM_ERR_NOMEM;
	if (strlen(s) > TOK_JWT_MAX_LEN)
		r = CM_ERR_RANGE;
	else
		r = cm_b64url_encode((const uint8_t *)s, strlen(s), out);
	free(s);
	return r;
}

static int
jwt_sign_once(tok_signer *s, const char *typ, const json_t *claims,
    int64_t now, char **out)
{
	char kid[TOK_KID_MAX_LEN + 1];
	enum tok_alg alg = TOK_ALG_UNKNOWN;
	json_t *hdr = NULL;
	char *h64 = NULL, *p64 = NULL, *s64 = NULL, *tok = NULL;
	uint8_t sig[TOK_SIG_MAX_LEN];
	size_t siglen = 0, inlen, toklen;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((r = tok_signer_current_kid(s, now, kid, sizeof(kid), &alg)) != 0)
		goto out;
	if ((hdr = json_pack("{s:s, s:s, s:s}", "alg", tok_alg_name(alg),
	    "typ", typ, "kid", kid)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = b64_json(hdr, &h64)) != 0 || (r = b64_json(claims, &p64)) != 0)
		goto out;
	inlen = strlen(h64) + 1 + strlen(p64);
	if (inlen > TOK_SIGN_INPUT_MAX) {
		r = CM_ERR_RANGE;
		goto out;
	}
	/* room for "h.p.s": the signature part is at most 4/3 of the max */
	toklen = inlen + 1 + (TOK_SIG_MAX_LEN / 3 + 1) * 4 + 1;
	if ((tok = malloc(toklen)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	memcpy(tok, h64, strlen(h64));
	tok[strlen(h64)] = '.';
	memcpy(tok + strlen(h64) + 1, p64, strlen(p64) + 1);
	if ((r = tok_signer_sign_at(s, kid, now, (const uint8_t *)tok, inlen,
	    sig, sizeof(sig), &siglen)) != 0)
		goto out;
	if ((r = cm_b64url_encode(sig, siglen, &s64)) != 0)
		goto out;
	if (inlen + 1 + strlen(s64) > TOK_JWT_MAX_LEN) {
		r = CM_ERR_RANGE;
		goto out;
	}
	tok[inlen] = '.';
	memcpy(tok + inlen + 1, s64, strlen(s64) + 1);
	*out = tok;
	tok = NULL;	/* transferred */
	r = 0;
out:
	free(tok);
	free(s64);
	free(p64);
	free(h64);
	json_decref(hdr);
	return r;
}

int
tok_jwt_sign_at(tok_signer *s, const char *typ, const json_t *claims,
    int64_t now, char **out)
{
	int r;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || out == NULL || !tok_typ_valid(typ) ||
	    !json_is_object(claims))
		return CM_ERR_INVAL;
	/* the key may rotate between choosing the kid and signing: retry
	 * once with the new current key */
	if ((r = jwt_sign_once(s, typ, claims, now, out)) == CM_ERR_NOTFOUND)
		r = jwt_sign_once(s, typ, claims, now, out);
	return r;
}

int
tok_jwt_sign(tok_signer *s, const char *typ, const json_t *claims,
    char **out)
{
	return tok_jwt_sign_at(s, typ, claims, cm_time(), out);
}

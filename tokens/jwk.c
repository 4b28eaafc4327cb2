/* tokens/jwk.c — JWK import/export, RFC 7638 thumbprints, JWKS key sets. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "tokens/tok_int.h"

#define P256_COORD_LEN	32
#define ED25519_LEN	32

static int
set_b64(json_t *o, const char *name, const uint8_t *p, size_t n)
{
	char *s = NULL;
	int r;

	if ((r = cm_b64url_encode(p, n, &s)) != 0)
		return r;
	r = json_object_set_new(o, name, json_string(s)) == 0 ?
	    0 : CM_ERR_NOMEM;
	free(s);
	return r;
}

static int
set_bn(json_t *o, const char *name, EVP_PKEY *pkey, const char *param,
    int padlen)
{
	BIGNUM *bn = NULL;
	uint8_t *buf = NULL;
	int n, r = CM_ERR_INTERNAL;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
		r = CM_ERR_CRYPTO;
		goto out;
	}
	n = padlen > 0 ? padlen : BN_num_bytes(bn);
	if (n <= 0 || n > TOK_RSA_MAX_BITS / 8) {
		r = CM_ERR_RANGE;
		goto out;
	}
	if ((buf = malloc((size_t)n)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (BN_bn2binpad(bn, buf, n) != n) {
		r = CM_ERR_CRYPTO;
		goto out;
	}
	r = set_b64(o, name, buf, (size_t)n);
out:
	free(buf);
	BN_free(bn);
	return r;
}

/* The members RFC 7638 §3.2 requires, and nothing else. */
static int
jwk_required_members(const tok_key *k, json_t **out)
{
	json_t *o = NULL;
	uint8_t raw[ED25519_LEN];
	size_t rawlen = sizeof(raw);
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((o = json_object()) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	switch (EVP_PKEY_get_base_id(k->pkey)) {
	case EVP_PKEY_EC:
		if (json_object_set_new(o, "kty", json_string("EC")) != 0 ||
		    json_object_set_new(o, "crv", json_string("P-256")) != 0) {
			r = CM_ERR_NOMEM;
			goto out;
		}
		if ((r = set_bn(o, "x", k->pkey, OSSL_PKEY_PARAM_EC_PUB_X,
		    P256_COORD_LEN)) != 0 ||
		    (r = set_bn(o, "y", k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
		    P256_COORD_LEN)) != 0)
			goto out;
		break;
	case EVP_PKEY_ED25519:
		if (json_object_set_new(o, "kty", json_string("OKP")) != 0 ||
		    json_object_set_new(o, "crv",
		    json_string("Ed25519")) != 0) {
			r = CM_ERR_NOMEM;
			goto out;
		}
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1 ||
		    rawlen != ED25519_LEN) {
			r = CM_ERR_CRYPTO;
			goto out;
		}
		if ((r = set_b64(o, "x", raw, rawlen)) != 0)
			goto out;
		break;
	case EVP_PKEY_RSA:
		if (json_object_set_new(o, "kty", json_string("RSA")) != 0) {
			r = CM_ERR_NOMEM;
			goto out;
		}
		if ((r = set_bn(o, "n", k->pkey, OSSL_PKEY_PARAM_RSA_N,
		    0)) != 0 ||
		    (r = set_bn(o, "e", k->pkey, OSSL_PKEY_PARAM_RSA_E,
		    0)) != 0)
			goto out;
		break;
	default:
		r = CM_ERR_UNSUPPORTED;
		goto out;
	}
	*out = o;
	o = NULL;	/* transferred */
	r = 0;
out:
	json_decref(o);
	return r;
}

int
tok_key_thumbprint(const tok_key *key, char **out)
{
	json_t *o = NULL;
	char *s = NULL;
	uint8_t md[32];
	unsigned int mdlen = 0;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((r = jwk_required_members(key, &o)) != 0)
		goto out;
	/* Sorted member names, no whitespace: RFC 7638 §3.3 for these
	 * members (all ASCII, nothing to escape). */
	if ((s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md)) {
		r = CM_ERR_CRYPTO;
		goto out;
	}
	r = cm_b64url_encode(md, sizeof(md), out);
out:
	free(s);
	json_decref(o);
	return r;
}

int
tok_key_to_jwk(const tok_key *key, json_t **out)
{
	json_t *o = NULL;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((r = jwk_required_members(key, &o)) != 0)
		goto out;
	if (json_object_set_new(o, "kid", json_string(key->kid)) != 0 ||
	    json_object_set_new(o, "alg",
	    json_string(tok_alg_name(key->alg))) != 0 ||
	    json_object_set_new(o, "use", json_string("sig")) != 0) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	*out = o;
	o = NULL;	/* transferred */
	r = 0;
out:
	json_decref(o);
	return r;
}

/* A base64url string member of exactly `want` bytes (0: any, up to max). */
static int
get_b64(const json_t *jwk, const char *name, size_t want, size_t max,
    uint8_t **out, size_t *outlen)
{
	const json_t *v;
	int r;

	*out = NULL;
	*outlen = 0;
	if ((v = json_object_get(jwk, name)) == NULL || !json_is_string(v))
		return CM_ERR_INVAL;
	if (json_string_length(v) > (max / 3 + 1) * 4)
		return CM_ERR_RANGE;
	if ((r = cm_b64url_decode(json_string_value(v), json_string_length(v),
	    out, outlen)) != 0)
		return r;
	if ((want != 0 && *outlen != want) || *outlen == 0 || *outlen > max) {
		free(*out);
		*out = NULL;
		*outlen = 0;
		return CM_ERR_INVAL;
	}
	return 0;
}

static int
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		r = CM_ERR_INVAL;
		goto out;
	}
	/* point on the curve / sane modulus and exponent */
	if ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(cctx) != 1) {
		r = CM_ERR_INVAL;
		goto out;
	}
	*out = pkey;
	pkey = NULL;	/* transferred */
	r = 0;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

static int
pkey_from_ec(const json_t *jwk, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	uint8_t *x = NULL, *y = NULL, pt[1 + 2 * P256_COORD_LEN];
	size_t xl = 0, yl = 0;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((r = get_b64(jwk, "x", P256_COORD_LEN, P256_COORD_LEN, &x,
	    &xl)) != 0 ||
	    (r = get_b64(jwk, "y", P256_COORD_LEN, P256_COORD_LEN, &y,
	    &yl)) != 0)
		goto out;
	pt[0] = 0x04;	/* uncompressed point */
	memcpy(pt + 1, x, P256_COORD_LEN);
	memcpy(pt + 1 + P256_COORD_LEN, y, P256_COORD_LEN);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    sizeof(pt)) != 1) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	r = pkey_fromdata("EC", bld, out);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return r;
}

static int
pkey_from_rsa(const json_t *jwk, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t *nb = NULL, *eb = NULL;
	size_t nl = 0, el = 0;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((r = get_b64(jwk, "n", 0, TOK_RSA_MAX_BITS / 8 + 1, &nb,
	    &nl)) != 0 ||
	    (r = get_b64(jwk, "e", 0, 8, &eb, &el)) != 0)
		goto out;
	if ((n = BN_bin2bn(nb, (int)nl, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, (int)el, NULL)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (BN_num_bits(n) < TOK_RSA_MIN_BITS ||
	    BN_num_bits(n) > TOK_RSA_MAX_BITS) {
		r = CM_ERR_POLICY;
		goto out;
	}
	if (!BN_is_odd(e) || BN_is_one(e)) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	r = pkey_fromdata("RSA", bld, out);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return r;
}

static int
pkey_from_okp(const json_t *jwk, EVP_PKEY **out)
{
	uint8_t *x = NULL;
	size_t xl = 0;
	int r;

	*out = NULL;
	if ((r = get_b64(jwk, "x", ED25519_LEN, ED25519_LEN, &x, &xl)) != 0)
		return r;
	if ((*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x,
	    xl)) == NULL)
		r = CM_ERR_INVAL;
	free(x);
	return r;
}

static int
str_member(const json_t *o, const char *name, const char **out)
{
	const json_t *v;

	*out = NULL;
	if ((v = json_object_get(o, name)) == NULL)
		return 0;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return CM_ERR_INVAL;
	*out = json_string_value(v);
	return 0;
}

/*
 * CM_ERR_UNSUPPORTED means "not a key we can use" (another kty/curve/alg,
 * use=enc): a JWKS parser skips it.  Anything else is malformed.
 */
int
tok_key_from_jwk(const json_t *jwk, tok_key **out)
{
	static const char *const private_members[] = {
		"d", "p", "q", "dp", "dq", "qi", "oth", "k"
	};
	const char *kty, *crv, *use, *algs, *kid;
	enum tok_alg alg = TOK_ALG_UNKNOWN;
	EVP_PKEY *pkey = NULL;
	size_t i;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if (!json_is_object(jwk)) {
		r = CM_ERR_INVAL;
		goto out;
	}
	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]);
	    i++) {
		if (json_object_get(jwk, private_members[i]) != NULL) {
			r = CM_ERR_POLICY;	/* a secret where none belongs */
			goto out;
		}
	}
	if ((r = str_member(jwk, "kty", &kty)) != 0 ||
	    (r = str_member(jwk, "crv", &crv)) != 0 ||
	    (r = str_member(jwk, "use", &use)) != 0 ||
	    (r = str_member(jwk, "alg", &algs)) != 0 ||
	    (r = str_member(jwk, "kid", &kid)) != 0)
		goto out;
	if (kty == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if (kid != NULL && !tok_kid_valid(kid, strlen(kid))) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((use != NULL && strcmp(use, "sig") != 0) ||
	    (algs != NULL && tok_alg_parse(algs, strlen(algs), &alg) != 0)) {
		r = CM_ERR_UNSUPPORTED;
		goto out;
	}
	if (strcmp(kty, "EC") == 0) {
		if (crv == NULL || strcmp(crv, "P-256") != 0) {
			r = CM_ERR_UNSUPPORTED;
			goto out;
		}
		if (alg == TOK_ALG_UNKNOWN)
			alg = TOK_ALG_ES256;
		r = pkey_from_ec(jwk, &pkey);
	} else if (strcmp(kty, "OKP") == 0) {
		if (crv == NULL || strcmp(crv, "Ed25519") != 0) {
			r = CM_ERR_UNSUPPORTED;
			goto out;
		}
		if (alg == TOK_ALG_UNKNOWN)
			alg = TOK_ALG_EDDSA;
		r = pkey_from_okp(jwk, &pkey);
	} else if (strcmp(kty, "RSA") == 0) {
		if (alg == TOK_ALG_UNKNOWN) {
			/* RS256 or PS256: one alg per key, so say which */
			r = CM_ERR_UNSUPPORTED;
			goto out;
		}
		r = pkey_from_rsa(jwk, &pkey);
	} else {
		r = CM_ERR_UNSUPPORTED;
		goto out;
	}
	if (r != 0)
		goto out;
	if (tok_key_check_alg(pkey, alg) != 0) {
		r = CM_ERR_INVAL;	/* alg does not fit the key type */
		goto out;
	}
	if ((r = tok_key_wrap(pkey, alg, 0, kid, out)) != 0)
		goto out;
	pkey = NULL;	/* transferred */
	r = 0;
out:
	EVP_PKEY_free(pkey);
	return r;
}

/* Key sets. */

void
tok_keyset_free(tok_keyset **ks)
{
	size_t i;

	if (ks == NULL || *ks == NULL)
		return;
	for (i = 0; i < (*ks)->n; i++)
		tok_key_free(&(*ks)->keys[i]);
	free((*ks)->keys);
	free(*ks);
	*ks = NULL;
}

int
tok_keyset_parse(const uint8_t *p, size_t len, tok_keyset **out)
{
	json_error_t jerr;
	json_t *doc = NULL, *keys, *jwk;
	tok_keyset *ks = NULL;
	tok_key *k = NULL;
	size_t i, j;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if (p == NULL || len == 0 || len > TOK_JWKS_MAX_LEN) {
		r = len > TOK_JWKS_MAX_LEN ? CM_ERR_RANGE : CM_ERR_INVAL;
		goto out;
	}
	if ((doc = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(doc)) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((keys = json_object_get(doc, "keys")) == NULL ||
	    !json_is_array(keys)) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if (json_array_size(keys) > TOK_JWKS_MAX_KEYS) {
		r = CM_ERR_RANGE;
		goto out;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL ||
	    (json_array_size(keys) > 0 && (ks->keys = calloc(
	    json_array_size(keys), sizeof(*ks->keys))) == NULL)) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(keys, i, jwk) {
		r = tok_key_from_jwk(jwk, &k);
		if (r == CM_ERR_UNSUPPORTED)
			continue;	/* not ours to use */
		if (r != 0)
			goto out;
		for (j = 0; j < ks->n; j++) {
			if (strcmp(ks->keys[j]->kid, k->kid) == 0) {
				r = CM_ERR_EXISTS;	/* kid must be unique */
				goto out;
			}
		}
		ks->keys[ks->n++] = k;
		k = NULL;	/* transferred */
	}
	*out = ks;
	ks = NULL;	/* transferred */
	r = 0;
out:
	tok_key_free(&k);
	tok_keyset_free(&ks);
	json_decref(doc);
	return r;
}

const tok_key *
tok_keyset_find(const tok_keyset *ks, const char *kid, size_t kidlen)
{
	size_t i;

	if (ks == NULL || kid == NULL || kidlen == 0 ||
	    kidlen > TOK_KID_MAX_LEN)
		return NULL;
	for (i = 0; i < ks->n; i++) {
		if (strlen(ks->keys[i]->kid) == kidlen &&
		    memcmp(ks->keys[i]->kid, kid, kidlen) == 0)
			return ks->keys[i];
	}
	return NULL;
}

size_t
tok_keyset_count(const tok_keyset *ks)
{
	return ks == NULL ? 0 : ks->n;
}

const tok_key *
tok_keyset_get(const tok_keyset *ks, size_t i)
{
	if (ks == NULL || i >= ks->n)
		return NULL;
	return ks->keys[i];
}

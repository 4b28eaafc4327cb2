/* tokens/jws.c — JWS signatures (RFC 7515/7518) and compact parsing. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tokens/pep.h"
#include "tokens/tok_int.h"

#define ES256_HALF	32
#define ES256_SIG_LEN	(2 * ES256_HALF)
#define ED25519_SIG_LEN	64

static int
digest_init(EVP_MD_CTX *mctx, const tok_key *key, int sign)
{
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = EVP_sha256();
	int ok;

	if (key->alg == TOK_ALG_EDDSA || key->alg == TOK_ALG_ED25519)
		md = NULL;	/* PureEdDSA: no prehash */
	ok = sign ? EVP_DigestSignInit(mctx, &pctx, md, NULL, key->pkey) :
	    EVP_DigestVerifyInit(mctx, &pctx, md, NULL, key->pkey);
	if (ok != 1)
		return CM_ERR_CRYPTO;
	switch (key->alg) {
	case TOK_ALG_PS256:
		/* RFC 7518 §3.5: MGF1 with SHA-256, salt as long as the hash */
		if (EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST) != 1)
			return CM_ERR_CRYPTO;
		break;
	case TOK_ALG_RS256:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
			return CM_ERR_CRYPTO;
		break;
	default:
		break;
	}
	return 0;
}

/* DER ECDSA-Sig-Value to R||S, each left-padded to 32 bytes. */
static int
es256_der_to_raw(const uint8_t *der, size_t derlen, uint8_t *raw)
{
	const unsigned char *p = der;
	const BIGNUM *br = NULL, *bs = NULL;
	ECDSA_SIG *es = NULL;
	int r = CM_ERR_CRYPTO;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &br, &bs);
	if (BN_bn2binpad(br, raw, ES256_HALF) != ES256_HALF ||
	    BN_bn2binpad(bs, raw + ES256_HALF, ES256_HALF) != ES256_HALF)
		goto out;
	r = 0;
out:
	ECDSA_SIG_free(es);
	return r;
}

/* R||S to DER; *der is OPENSSL_malloc()ed. */
static int
es256_raw_to_der(const uint8_t *raw, uint8_t **der, size_t *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *d = NULL;
	int n, r = CM_ERR_CRYPTO;

	*der = NULL;
	*derlen = 0;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(raw, ES256_HALF, NULL)) == NULL ||
	    (bs = BN_bin2bn(raw + ES256_HALF, ES256_HALF, NULL)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (ECDSA_SIG_set0(es, br, bs) != 1)
		goto out;
	br = bs = NULL;	/* transferred */
	if ((n = i2d_ECDSA_SIG(es, &d)) <= 0)
		goto out;
	*der = d;
	*derlen = (size_t)n;
	r = 0;
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

/* A context through Digest{Sign,Verify}Init for key, kept in *tmpl (PureEdDSA
 * is one-shot: nothing to keep). */
static int
prepare(tok_key *key, int sign, EVP_MD_CTX **tmpl)
{
	EVP_MD_CTX *m;
	int r;

	if (key->alg == TOK_ALG_EDDSA || key->alg == TOK_ALG_ED25519)
		return 0;
	if ((m = EVP_MD_CTX_new()) == NULL)
		return CM_ERR_NOMEM;
	if ((r = digest_init(m, key, sign)) != 0) {
		EVP_MD_CTX_free(m);
		return r;
	}
	*tmpl = m;
	return 0;
}

int
tok_jws_sign_prepare(tok_key *key)
{
	return prepare(key, 1, &key->sign_tmpl);
}

int
tok_jws_verify_prepare(tok_key *key)
{
	return prepare(key, 0, &key->verify_tmpl);
}

int
tok_jws_sign_raw(const tok_key *key, const uint8_t *in, size_t len,
    uint8_t *sig, size_t sigsz, size_t *siglen)
{
	EVP_MD_CTX *mctx = NULL;
	uint8_t der[TOK_SIG_MAX_LEN + 16];
	size_t n = sizeof(der);
	int r = CM_ERR_INTERNAL;

	if (siglen != NULL)
		*siglen = 0;
	if (key == NULL || !key->priv || in == NULL || sig == NULL ||
	    siglen == NULL || len > TOK_SIGN_INPUT_MAX) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (key->sign_tmpl != NULL) {
		if (EVP_MD_CTX_copy_ex(mctx, key->sign_tmpl) != 1) {
			r = CM_ERR_CRYPTO;
			goto out;
		}
	} else if ((r = digest_init(mctx, key, 1)) != 0)
		goto out;
	/* this context signs once: no copy inside DigestSignFinal */
	EVP_MD_CTX_set_flags(mctx, EVP_MD_CTX_FLAG_FINALISE);
	/* der holds the largest signature of any key we accept (RSA-8192,
	 * DER ECDSA), so one call; a larger one fails, never truncates */
	if (EVP_DigestSign(mctx, der, &n, in, len) != 1 || n == 0 ||
	    n > TOK_SIG_MAX_LEN) {
		r = CM_ERR_CRYPTO;
		goto out;
	}
	if (key->alg == TOK_ALG_ES256) {
		if (sigsz < ES256_SIG_LEN) {
			r = CM_ERR_RANGE;
			goto out;
		}
		if ((r = es256_der_to_raw(der, n, sig)) != 0)
			goto out;
		n = ES256_SIG_LEN;
	} else {
		if (sigsz < n) {
			r = CM_ERR_RANGE;
			goto out;
		}
		memcpy(sig, der, n);
	}
	*siglen = n;
	r = 0;
out:
	OPENSSL_cleanse(der, sizeof(der));
	EVP_MD_CTX_free(mctx);
	return r;
}

int
tok_jws_verify_raw(const tok_key *key, enum tok_alg hdr_alg,
    const uint8_t *in, size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *mctx = NULL;
	uint8_t *der = NULL;
	size_t derlen = 0;
	int r = CM_ERR_INTERNAL;

	if (key == NULL || in == NULL || sig == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if (!tok_alg_compatible(key->alg, hdr_alg)) {
		r = CM_ERR_POLICY;
		goto out;
	}
	switch (key->alg) {
	case TOK_ALG_ES256:
		if (siglen != ES256_SIG_LEN) {
			r = CM_ERR_DENIED;
			goto out;
		}
		if ((r = es256_raw_to_der(sig, &der, &derlen)) != 0)
			goto out;
		break;
	case TOK_ALG_EDDSA:
	case TOK_ALG_ED25519:
		if (siglen != ED25519_SIG_LEN) {
			r = CM_ERR_DENIED;
			goto out;
		}
		break;
	case TOK_ALG_PS256:
	case TOK_ALG_RS256:
		if (EVP_PKEY_get_size(key->pkey) <= 0 ||
		    siglen != (size_t)EVP_PKEY_get_size(key->pkey)) {
			r = CM_ERR_DENIED;
			goto out;
		}
		break;
	default:
		r = CM_ERR_UNSUPPORTED;
		goto out;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (key->verify_tmpl != NULL) {
		/* a copy of the prepared context; used once, so no copy of
		 * the copy at the final step */
		if (EVP_MD_CTX_copy_ex(mctx, key->verify_tmpl) != 1) {
			r = CM_ERR_CRYPTO;
			goto out;
		}
		EVP_MD_CTX_set_flags(mctx, EVP_MD_CTX_FLAG_FINALISE);
	} else if ((r = digest_init(mctx, key, 0)) != 0)
		goto out;
	if (der != NULL)
		r = EVP_DigestVerify(mctx, der, derlen, in, len);
	else
		r = EVP_DigestVerify(mctx, sig, siglen, in, len);
	r = (r == 1) ? 0 : CM_ERR_DENIED;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	return r;
}

int
tok_jws_split(const char *tok, size_t len, struct tok_jws_parts *p)
{
	const char *d1, *d2;

	memset(p, 0, sizeof(*p));
	if (tok == NULL || len == 0)
		return PEP_ERR_PARTS;
	if (len > TOK_JWT_MAX_LEN)
		return PEP_ERR_TOO_LONG;
	if ((d1 = memchr(tok, '.', len)) == NULL)
		return PEP_ERR_PARTS;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
	if (d2 == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
		return PEP_ERR_PARTS;	/* two dots exactly */
	p->hdr = tok;
	p->hdrlen = (size_t)(d1 - tok);
	p->pay = d1 + 1;
	p->paylen = (size_t)(d2 - p->pay);
	p->sig = d2 + 1;
	p->siglen = len - (size_t)(p->sig - tok);
	return 0;
}

int
tok_jws_b64json(const char *p, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *o = NULL;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int r = PEP_ERR_INTERNAL;

	*out = NULL;
	if (len == 0) {
		r = PEP_ERR_JSON;
		goto out;
	}
	if ((r = cm_b64url_decode(p, len, &raw, &rawlen)) != 0) {
		r = (r == CM_ERR_NOMEM) ? PEP_ERR_NOMEM : PEP_ERR_B64;
		goto out;
	}
	if ((o = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		r = json_error_code(&jerr) == json_error_duplicate_key ?
		    PEP_ERR_JSON_DUP : (json_error_code(&jerr) ==
		    json_error_out_of_memory ? PEP_ERR_NOMEM : PEP_ERR_JSON);
		goto out;
	}
	if (!json_is_object(o)) {
		r = PEP_ERR_JSON;
		goto out;
	}
	*out = o;
	o = NULL;	/* transferred */
	r = 0;
out:
	json_decref(o);
	free(raw);
	return r;
}

int
tok_jws_hdr_check(const json_t *hdr, enum tok_alg *alg)
{
	const json_t *v;
	const char *s;
	size_t len;

	*alg = TOK_ALG_UNKNOWN;
	if ((v = json_object_get(hdr, "alg")) == NULL)
		return PEP_ERR_ALG_MISSING;
	if (!json_is_string(v))
		return PEP_ERR_HDR;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 4 && strncasecmp(s, "none", 4) == 0)
		return PEP_ERR_ALG_NONE;
	if (len >= 2 && strncasecmp(s, "HS", 2) == 0)
		return PEP_ERR_ALG_HMAC;
	if (tok_alg_parse(s, len, alg) != 0)
		return PEP_ERR_ALG_NOT_ALLOWED;
	/* RFC 8725 §3.10 / ASVS V9: never fetch or trust keys named by the
	 * token itself */
	if (json_object_get(hdr, "jku") != NULL)
		return PEP_ERR_HDR_JKU;
	if (json_object_get(hdr, "x5u") != NULL)
		return PEP_ERR_HDR_X5U;
	if (json_object_get(hdr, "jwk") != NULL)
		return PEP_ERR_HDR_JWK;
	if (json_object_get(hdr, "x5c") != NULL)
		return PEP_ERR_HDR_X5C;
	/* RFC 7515 §4.1.11: we understand no extension, so any crit (even an
	 * empty or malformed one) is refused */
	if (json_object_get(hdr, "crit") != NULL)
		return PEP_ERR_CRIT;
	return 0;
}

int
tok_jws_verify_compact(const tok_key *key, const char *tok, size_t len,
    uint8_t **payload, size_t *plen)
{
	struct tok_jws_parts p;
	json_t *hdr = NULL;
	enum tok_alg alg = TOK_ALG_UNKNOWN;
	uint8_t *sig = NULL, *pay = NULL;
	size_t siglen = 0, paylen = 0;
	int r = CM_ERR_INTERNAL;

	if (payload != NULL)
		*payload = NULL;
	if (plen != NULL)
		*plen = 0;
	if (key == NULL || payload == NULL || plen == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if (tok_jws_split(tok, len, &p) != 0 ||
	    tok_jws_b64json(p.hdr, p.hdrlen, &hdr) != 0 ||
	    tok_jws_hdr_check(hdr, &alg) != 0) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if (!tok_alg_compatible(key->alg, alg)) {
		r = CM_ERR_POLICY;
		goto out;
	}
	if (cm_b64url_decode(p.sig, p.siglen, &sig, &siglen) != 0 ||
	    cm_b64url_decode(p.pay, p.paylen, &pay, &paylen) != 0) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((r = tok_jws_verify_raw(key, alg, (const uint8_t *)tok,
	    p.hdrlen + 1 + p.paylen, sig, siglen)) != 0)
		goto out;
	*payload = pay;
	*plen = paylen;
	pay = NULL;	/* transferred */
	r = 0;
out:
	free(pay);
	free(sig);
	json_decref(hdr);
	return r;
}

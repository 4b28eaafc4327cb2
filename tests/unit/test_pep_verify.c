/* tests/unit/test_pep_verify.c — pep_verify(): one test per rejection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "common/cm.h"
#include "tokens/pep.h"
#include "tokens/tokens.h"

#define ISS	"https://idp.example.com"
#define AUD	"https://api.example.com"
#define NOW	1700000000LL

struct fx {
	tok_key		*es;	/* ES256 signing key, in the JWKS */
	tok_key		*ed;	/* EdDSA */
	tok_key		*ps;	/* PS256 */
	tok_key		*rs;	/* RS256 */
	tok_key		*evil;	/* ES256, not in the JWKS */
	char		*jwks;
	pep_verifier	*v;
};

static struct fx F;

static char *
jwks_of(tok_key **keys, size_t n)
{
	json_t *doc = json_object(), *arr = json_array(), *jwk;
	char *s;
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(tok_key_to_jwk(keys[i], &jwk), 0);
		assert_int_equal(json_array_append_new(arr, jwk), 0);
	}
	assert_int_equal(json_object_set_new(doc, "keys", arr), 0);
	s = json_dumps(doc, JSON_COMPACT);
	assert_non_null(s);
	json_decref(doc);
	return s;
}

static pep_verifier *
mk_verifier(const char *const *algs, size_t nalgs, const char *min_acr)
{
	static const char *const acrs[] = {
		"urn:sekimori:acr:pwd", "urn:sekimori:acr:mfa",
		"urn:sekimori:acr:hwk"
	};
	struct pep_config cfg;
	pep_verifier *v = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = ISS;
	cfg.audience = AUD;
	cfg.algs = algs;
	cfg.nalgs = nalgs;
	cfg.skew = 60;
	cfg.acr_values = acrs;
	cfg.nacr = 3;
	cfg.min_acr = min_acr;
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_OK);
	assert_int_equal(pep_verifier_set_jwks(v, (const uint8_t *)F.jwks,
	    strlen(F.jwks)), PEP_OK);
	return v;
}

static int
setup(void **state)
{
	static const char *const algs[] = {
		"ES256", "EdDSA", "Ed25519", "PS256", "RS256"
	};
	tok_key *pub[4];

	(void)state;
	assert_int_equal(cm_init(), 0);
	assert_int_equal(tok_key_generate(TOK_ALG_ES256, &F.es), 0);
	assert_int_equal(tok_key_generate(TOK_ALG_EDDSA, &F.ed), 0);
	assert_int_equal(tok_key_generate(TOK_ALG_PS256, &F.ps), 0);
	assert_int_equal(tok_key_generate(TOK_ALG_RS256, &F.rs), 0);
	assert_int_equal(tok_key_generate(TOK_ALG_ES256, &F.evil), 0);
	pub[0] = F.es;
	pub[1] = F.ed;
	pub[2] = F.ps;
	pub[3] = F.rs;
	F.jwks = jwks_of(pub, 4);
	F.v = mk_verifier(algs, 5, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pep_verifier_free(&F.v);
	assert_null(F.v);
	free(F.jwks);
	tok_key_free(&F.es);
	tok_key_free(&F.ed);
	tok_key_free(&F.ps);
	tok_key_free(&F.rs);
	tok_key_free(&F.evil);
	return 0;
}

static char *
b64(const void *p, size_t n)
{
	char *s = NULL;

	assert_int_equal(cm_b64url_encode(p, n, &s), 0);
	return s;
}

/* "hdr_b64.pay_b64.sig_b64" with a real signature by key over the first
 * two parts exactly as given. */
static char *
sign_parts(const tok_key *key, const char *h64, const char *p64)
{
	uint8_t sig[TOK_SIG_MAX_LEN];
	size_t siglen = 0, n;
	char *in, *s64, *out;

	n = strlen(h64) + 1 + strlen(p64);
	in = malloc(n + 1);
	assert_non_null(in);
	snprintf(in, n + 1, "%s.%s", h64, p64);
	assert_int_equal(tok_jws_sign_raw(key, (const uint8_t *)in, n, sig,
	    sizeof(sig), &siglen), 0);
	s64 = b64(sig, siglen);
	out = malloc(n + 1 + strlen(s64) + 1);
	assert_non_null(out);
	snprintf(out, n + 1 + strlen(s64) + 1, "%s.%s", in, s64);
	free(in);
	free(s64);
	return out;
}

static char *
mk_raw(const tok_key *key, const char *hdr, const char *pay)
{
	char *h64 = b64(hdr, strlen(hdr)), *p64 = b64(pay, strlen(pay)), *t;

	t = sign_parts(key, h64, p64);
	free(h64);
	free(p64);
	return t;
}

/* A token with the usual header for key and the given extra header JSON
 * members and claims JSON members. */
static char *
mk(const tok_key *key, const char *alg, const char *hdr_extra,
    const char *claims)
{
	char hdr[1024], pay[2048];

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\"%s%s}", alg ? alg : tok_alg_name(tok_key_alg(key)),
	    tok_key_kid(key), hdr_extra ? "," : "", hdr_extra ? hdr_extra : "");
	if (claims == NULL)
		snprintf(pay, sizeof(pay), "{\"iss\":\"%s\",\"aud\":\"%s\","
		    "\"sub\":\"alice\",\"client_id\":\"c1\",\"iat\":%lld,"
		    "\"exp\":%lld,\"jti\":\"j1\"}", ISS, AUD, NOW - 10,
		    NOW + 300);
	else
		snprintf(pay, sizeof(pay), "%s", claims);
	return mk_raw(key, hdr, pay);
}

static int
verify(pep_verifier *v, const char *tok)
{
	json_t *claims = (json_t *)0x1;
	int r;

	r = pep_verify(v, tok, strlen(tok), NOW, &claims);
	if (r == 0) {
		assert_non_null(claims);
		json_decref(claims);
	} else
		assert_null(claims);
	return r;
}

static void
expect(const char *tok, int want)
{
	assert_int_equal(verify(F.v, tok), want);
}

static void
expect_free(char *tok, int want)
{
	expect(tok, want);
	free(tok);
}

/* ---- positive ---- */

static void
roundtrip(tok_key *key)
{
	json_t *claims = NULL;
	char *t = mk(key, NULL, NULL, NULL);

	assert_int_equal(pep_verify(F.v, t, strlen(t), NOW, &claims), PEP_OK);
	assert_string_equal(json_string_value(json_object_get(claims, "sub")),
	    "alice");
	json_decref(claims);
	free(t);
}

static void test_pep_roundtrip_es256(void **s) { (void)s; roundtrip(F.es); }
static void test_pep_roundtrip_eddsa(void **s) { (void)s; roundtrip(F.ed); }
static void test_pep_roundtrip_ps256(void **s) { (void)s; roundtrip(F.ps); }
static void test_pep_roundtrip_rs256(void **s) { (void)s; roundtrip(F.rs); }

static void
test_pep_ed25519_name_accepted_for_eddsa_key(void **state)
{
	(void)state;
	expect_free(mk(F.ed, "Ed25519", NULL, NULL), PEP_OK);
}

static void
test_pep_typ_application_prefix_accepted(void **state)
{
	char hdr[512];
	char *t;

	(void)state;
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":"
	    "\"application/at+JWT\",\"kid\":\"%s\"}", tok_key_kid(F.es));
	t = mk_raw(F.es, hdr, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	    "\"exp\":1700000100}");
	expect_free(t, PEP_OK);
}

static void
test_pep_aud_array_accepted(void **state)
{
	(void)state;
	expect_free(mk(F.es, NULL, NULL, "{\"iss\":\"" ISS "\",\"aud\":"
	    "[\"other\",\"" AUD "\"],\"exp\":1700000100}"), PEP_OK);
}

static void
test_pep_skew_tolerated(void **state)
{
	(void)state;
	/* expired 30 s ago, skew 60 s */
	expect_free(mk(F.es, NULL, NULL, "{\"iss\":\"" ISS "\",\"aud\":\""
	    AUD "\",\"exp\":1699999970,\"nbf\":1700000030}"), PEP_OK);
}

/* ---- algorithm ---- */

static void
test_pep_alg_none_rejected(void **state)
{
	char hdr[256], *h64, *p64, tok[1024];

	(void)state;
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"none\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\"}", tok_key_kid(F.es));
	h64 = b64(hdr, strlen(hdr));
	p64 = b64("{\"iss\":\"" ISS "\"}", strlen("{\"iss\":\"" ISS "\"}"));
	snprintf(tok, sizeof(tok), "%s.%s.", h64, p64);
	expect(tok, PEP_ERR_ALG_NONE);
	free(h64);
	free(p64);
}

static void
test_pep_alg_none_uppercase_rejected(void **state)
{
	char *h64 = b64("{\"alg\":\"NONE\"}", 14), tok[256];

	(void)state;
	snprintf(tok, sizeof(tok), "%s.e30.", h64);
	expect(tok, PEP_ERR_ALG_NONE);
	free(h64);
}

/* HS256 keyed with the public key bytes (the JWK text and the raw point)
 * — the classic algorithm confusion. */
static void
hs256_case(const void *k, size_t klen)
{
	char hdr[256], *h64, *p64, *s64, in[1024], tok[2048];
	const char *pay = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	    "\"exp\":1700000100}";
	uint8_t mac[32];
	size_t maclen = 0;

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\"}", tok_key_kid(F.es));
	h64 = b64(hdr, strlen(hdr));
	p64 = b64(pay, strlen(pay));
	snprintf(in, sizeof(in), "%s.%s", h64, p64);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, klen,
	    (const uint8_t *)in, strlen(in), mac, sizeof(mac), &maclen));
	s64 = b64(mac, maclen);
	snprintf(tok, sizeof(tok), "%s.%s", in, s64);
	expect(tok, PEP_ERR_ALG_HMAC);
	free(s64);
	free(h64);
	free(p64);
}

static void
test_pep_alg_hs256_public_key_confusion_rejected(void **state)
{
	json_t *jwk = NULL;
	uint8_t *x = NULL, *y = NULL, pt[65];
	size_t xl = 0, yl = 0;
	char *js;

	(void)state;
	assert_int_equal(tok_key_to_jwk(F.es, &jwk), 0);
	js = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	hs256_case(js, strlen(js));
	assert_int_equal(cm_b64url_decode(json_string_value(json_object_get(jwk,
	    "x")), 43, &x, &xl), 0);
	assert_int_equal(cm_b64url_decode(json_string_value(json_object_get(jwk,
	    "y")), 43, &y, &yl), 0);
	pt[0] = 4;
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	hs256_case(pt, sizeof(pt));
	free(x);
	free(y);
	free(js);
	json_decref(jwk);
}

static void
test_pep_alg_not_allowed_rejected(void **state)
{
	static const char *const only_es[] = { "ES256" };
	pep_verifier *v = mk_verifier(only_es, 1, NULL);
	char *t = mk(F.rs, NULL, NULL, NULL);

	(void)state;
	assert_int_equal(verify(v, t), PEP_ERR_ALG_NOT_ALLOWED);
	free(t);
	pep_verifier_free(&v);
}

static void
test_pep_alg_unknown_rejected(void **state)
{
	(void)state;
	expect_free(mk(F.es, "ES384", NULL, NULL), PEP_ERR_ALG_NOT_ALLOWED);
}

static void
test_pep_alg_case_rejected(void **state)
{
	(void)state;
	expect_free(mk(F.es, "es256", NULL, NULL), PEP_ERR_ALG_NOT_ALLOWED);
}

static void
test_pep_alg_mismatch_rejected(void **state)
{
	(void)state;
	/* RS256 header naming the ES256 key (both algs allowed) */
	expect_free(mk(F.es, "RS256", NULL, NULL), PEP_ERR_ALG_MISMATCH);
	/* PS256 header on the RS256 key: same key type, other alg */
	expect_free(mk(F.rs, "PS256", NULL, NULL), PEP_ERR_ALG_MISMATCH);
}

static void
test_pep_alg_missing_rejected(void **state)
{
	char hdr[256];

	(void)state;
	snprintf(hdr, sizeof(hdr), "{\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
	    tok_key_kid(F.es));
	expect_free(mk_raw(F.es, hdr, "{}"), PEP_ERR_ALG_MISSING);
}

static void
test_pep_config_refuses_none_and_hmac(void **state)
{
	static const char *const bad1[] = { "none" };
	static const char *const bad2[] = { "ES256", "HS256" };
	struct pep_config cfg;
	pep_verifier *v = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = ISS;
	cfg.audience = AUD;
	cfg.algs = bad1;
	cfg.nalgs = 1;
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_ERR_INVAL);
	assert_null(v);
	cfg.algs = bad2;
	cfg.nalgs = 2;
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_ERR_INVAL);
	cfg.nalgs = 0;
	cfg.issuer = NULL;
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_ERR_INVAL);
	assert_null(v);
}

/* ---- kid ---- */

static void
kid_case(const char *kid, int want)
{
	char hdr[512];

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\"}", kid);
	expect_free(mk_raw(F.es, hdr, "{}"), want);
}

static void
test_pep_kid_unknown_rejected(void **state)
{
	(void)state;
	kid_case("no-such-key", PEP_ERR_KID_UNKNOWN);
}

static void
test_pep_kid_traversal_rejected(void **state)
{
	(void)state;
	kid_case("../../../../etc/passwd", PEP_ERR_KID_INVALID);
	kid_case("..\\\\..\\\\x", PEP_ERR_KID_INVALID);
}

static void
test_pep_kid_quote_rejected(void **state)
{
	(void)state;
	kid_case("a' OR '1'='1", PEP_ERR_KID_INVALID);
}

static void
test_pep_kid_paren_rejected(void **state)
{
	(void)state;
	kid_case("(objectClass=*)", PEP_ERR_KID_INVALID);
}

static void
test_pep_kid_star_rejected(void **state)
{
	(void)state;
	kid_case("*", PEP_ERR_KID_INVALID);
}

static void
test_pep_kid_too_long_rejected(void **state)
{
	char kid[PEP_KID_MAX_LEN + 2];

	(void)state;
	memset(kid, 'a', sizeof(kid) - 1);
	kid[sizeof(kid) - 1] = '\0';
	kid_case(kid, PEP_ERR_KID_INVALID);
}

static void
test_pep_kid_not_string_rejected(void **state)
{
	(void)state;
	expect_free(mk_raw(F.es, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":7}", "{}"), PEP_ERR_KID_INVALID);
}

static void
test_pep_kid_missing_rejected(void **state)
{
	(void)state;
	expect_free(mk_raw(F.es, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}",
	    "{}"), PEP_ERR_KID_MISSING);
}

/* ---- signature ---- */

static void
test_pep_payload_bit_flip_rejected(void **state)
{
	char *t = mk(F.es, NULL, NULL, NULL), *d1, *d2, *p64, *nt;
	uint8_t *pay = NULL;
	size_t plen = 0, n;

	(void)state;
	d1 = strchr(t, '.');
	d2 = strchr(d1 + 1, '.');
	assert_int_equal(cm_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &pay,
	    &plen), 0);
	pay[plen / 2] ^= 0x01;	/* one bit, still valid JSON text */
	p64 = b64(pay, plen);
	n = (size_t)(d1 - t) + 1 + strlen(p64) + strlen(d2) + 1;
	nt = malloc(n);
	snprintf(nt, n, "%.*s.%s%s", (int)(d1 - t), t, p64, d2);
	expect(nt, PEP_ERR_SIG);
	free(nt);
	free(p64);
	free(pay);
	free(t);
}

static void
test_pep_signature_bit_flip_rejected(void **state)
{
	tok_key *keys[] = { F.es, F.ed, F.ps, F.rs };
	char *t, *d2, *s64, *nt;
	uint8_t *sig = NULL;
	size_t slen = 0, n, i;

	(void)state;
	for (i = 0; i < 4; i++) {
		t = mk(keys[i], NULL, NULL, NULL);
		d2 = strrchr(t, '.');
		assert_int_equal(cm_b64url_decode(d2 + 1, strlen(d2 + 1), &sig,
		    &slen), 0);
		sig[slen - 1] ^= 0x80;
		s64 = b64(sig, slen);
		n = (size_t)(d2 - t) + 1 + strlen(s64) + 1;
		nt = malloc(n);
		snprintf(nt, n, "%.*s.%s", (int)(d2 - t), t, s64);
		expect(nt, PEP_ERR_SIG);
		free(nt);
		free(s64);
		free(sig);
		free(t);
	}
}

static void
test_pep_signature_by_other_key_rejected(void **state)
{
	char hdr[256];

	(void)state;
	/* signed by evil, names the good kid */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\"}", tok_key_kid(F.es));
	expect_free(mk_raw(F.evil, hdr, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"exp\":1700000100}"), PEP_ERR_SIG);
}

static void
test_pep_es256_der_signature_rejected(void **state)
{
	/* a DER signature (70-72 bytes) is not an ES256 JWS signature */
	char *t = mk(F.es, NULL, NULL, NULL), *d2, *s64, nt[2048];
	uint8_t der[80];

	(void)state;
	memset(der, 0x30, sizeof(der));
	d2 = strrchr(t, '.');
	s64 = b64(der, 71);
	snprintf(nt, sizeof(nt), "%.*s.%s", (int)(d2 - t), t, s64);
	expect(nt, PEP_ERR_SIG);
	free(s64);
	free(t);
}

static void
test_pep_empty_signature_rejected(void **state)
{
	char *t = mk(F.es, NULL, NULL, NULL), *d2;

	(void)state;
	d2 = strrchr(t, '.');
	d2[1] = '\0';
	expect(t, PEP_ERR_SIG);
	free(t);
}

/* ---- forbidden header members ---- */

static void
test_pep_hdr_embedded_jwk_rejected(void **state)
{
	json_t *jwk = NULL;
	char *js, extra[1024], hdr[1400];

	(void)state;
	/* the attacker signs with their key and embeds it */
	assert_int_equal(tok_key_to_jwk(F.evil, &jwk), 0);
	js = json_dumps(jwk, JSON_COMPACT);
	snprintf(extra, sizeof(extra), "\"jwk\":%s", js);
	expect_free(mk(F.evil, NULL, extra, NULL), PEP_ERR_HDR_JWK);
	/* and with our kid */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\",%s}", tok_key_kid(F.es), extra);
	expect_free(mk_raw(F.evil, hdr, "{}"), PEP_ERR_HDR_JWK);
	free(js);
	json_decref(jwk);
}

static void
test_pep_hdr_jku_rejected(void **state)
{
	(void)state;
	expect_free(mk(F.es, NULL, "\"jku\":\"https://evil.example/jwks\"",
	    NULL), PEP_ERR_HDR_JKU);
}

static void
test_pep_hdr_x5u_rejected(void **state)
{
	(void)state;
	expect_free(mk(F.es, NULL, "\"x5u\":\"https://evil.example/c.pem\"",
	    NULL), PEP_ERR_HDR_X5U);
}

static void
test_pep_hdr_x5c_rejected(void **state)
{
	(void)state;
	expect_free(mk(F.es, NULL, "\"x5c\":[\"MIIB\"]", NULL),
	    PEP_ERR_HDR_X5C);
}

static void
test_pep_crit_unknown_rejected(void **state)
{
	(void)state;
	expect_free(mk(F.es, NULL, "\"crit\":[\"exp\"],\"exp\":1",
	    NULL), PEP_ERR_CRIT);
	expect_free(mk(F.es, NULL, "\"crit\":[\"b64\"],\"b64\":false",
	    NULL), PEP_ERR_CRIT);
	expect_free(mk(F.es, NULL, "\"crit\":[]", NULL), PEP_ERR_CRIT);
}

/* ---- typ ---- */

static void
test_pep_typ_wrong_rejected(void **state)
{
	char hdr[256];

	(void)state;
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"JWT\","
	    "\"kid\":\"%s\"}", tok_key_kid(F.es));
	expect_free(mk_raw(F.es, hdr, "{}"), PEP_ERR_TYP);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":"
	    "\"dpop+jwt\",\"kid\":\"%s\"}", tok_key_kid(F.es));
	expect_free(mk_raw(F.es, hdr, "{}"), PEP_ERR_TYP);
}

static void
test_pep_typ_missing_rejected(void **state)
{
	char hdr[256];

	(void)state;
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}",
	    tok_key_kid(F.es));
	expect_free(mk_raw(F.es, hdr, "{}"), PEP_ERR_TYP);
}

/* ---- claims ---- */

static void
claims_case(const char *claims, int want)
{
	expect_free(mk(F.es, NULL, NULL, claims), want);
}

static void
test_pep_expired_rejected(void **state)
{
	(void)state;
	claims_case("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	    "\"exp\":1699999900}", PEP_ERR_EXPIRED);
}

static void
test_pep_exp_missing_rejected(void **state)
{
	(void)state;
	claims_case("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}",
	    PEP_ERR_EXP_MISSING);
}

static void
test_pep_exp_not_number_rejected(void **state)
{
	(void)state;
	claims_case("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	    "\"exp\":\"1800000000\"}", PEP_ERR_CLAIM_TYPE);
}

static void
test_pep_nbf_future_rejected(void **state)
{
	(void)state;
	claims_case("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	    "\"exp\":1700000300,\"nbf\":1700000100}", PEP_ERR_NBF);
}

static void
test_pep_iat_future_rejected(void **state)
{
	(void)state;
	claims_case("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	    "\"exp\":1700000300,\"iat\":1700000100}", PEP_ERR_IAT);
}

static void
test_pep_iss_wrong_rejected(void **state)
{
	(void)state;
	claims_case("{\"iss\":\"https://evil.example.com\",\"aud\":\"" AUD
	    "\",\"exp\":1700000300}", PEP_ERR_ISS);
	claims_case("{\"iss\":\"" ISS "/\",\"aud\":\"" AUD
	    "\",\"exp\":1700000300}", PEP_ERR_ISS);
	claims_case("{\"aud\":\"" AUD "\",\"exp\":1700000300}", PEP_ERR_ISS);
}

static void
test_pep_aud_wrong_rejected(void **state)
{
	(void)state;
	claims_case("{\"iss\":\"" ISS "\",\"aud\":\"https://other.example\","
	    "\"exp\":1700000300}", PEP_ERR_AUD);
	claims_case("{\"iss\":\"" ISS "\",\"aud\":[\"a\",\"b\"],"
	    "\"exp\":1700000300}", PEP_ERR_AUD);
	claims_case("{\"iss\":\"" ISS "\",\"aud\":[],\"exp\":1700000300}",
	    PEP_ERR_AUD);
	claims_case("{\"iss\":\"" ISS "\",\"exp\":1700000300}", PEP_ERR_AUD);
}

static void
acr_case(const char *acr, int want)
{
	static const char *const algs[] = { "ES256" };
	pep_verifier *v = mk_verifier(algs, 1, "urn:sekimori:acr:mfa");
	char claims[512], *t;

	if (acr != NULL)
		snprintf(claims, sizeof(claims), "{\"iss\":\"" ISS "\",\"aud\":\""
		    AUD "\",\"exp\":1700000300,\"acr\":\"%s\"}", acr);
	else
		snprintf(claims, sizeof(claims), "{\"iss\":\"" ISS "\",\"aud\":\""
		    AUD "\",\"exp\":1700000300}");
	t = mk(F.es, NULL, NULL, claims);
	assert_int_equal(verify(v, t), want);
	free(t);
	pep_verifier_free(&v);
}

static void
test_pep_acr_below_minimum_rejected(void **state)
{
	(void)state;
	acr_case("urn:sekimori:acr:pwd", PEP_ERR_ACR);
}

static void
test_pep_acr_missing_rejected(void **state)
{
	(void)state;
	acr_case(NULL, PEP_ERR_ACR);
}

static void
test_pep_acr_unknown_rejected(void **state)
{
	(void)state;
	acr_case("urn:evil:acr:best", PEP_ERR_ACR);
}

static void
test_pep_acr_minimum_met(void **state)
{
	(void)state;
	acr_case("urn:sekimori:acr:mfa", PEP_OK);
	acr_case("urn:sekimori:acr:hwk", PEP_OK);
}

static void
test_pep_config_min_acr_not_in_list_refused(void **state)
{
	static const char *const acrs[] = { "a", "b" };
	struct pep_config cfg;
	pep_verifier *v = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = ISS;
	cfg.audience = AUD;
	cfg.acr_values = acrs;
	cfg.nacr = 2;
	cfg.min_acr = "c";
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_ERR_INVAL);
	assert_null(v);
}

/* ---- structure and encoding ---- */

static void
test_pep_oversized_token_rejected(void **state)
{
	size_t n = PEP_TOKEN_MAX_LEN + 1;
	char *t = malloc(n + 1);

	(void)state;
	memset(t, 'a', n);
	t[10] = '.';
	t[20] = '.';
	t[n] = '\0';
	expect(t, PEP_ERR_TOO_LONG);
	free(t);
}

static void
test_pep_two_parts_rejected(void **state)
{
	char *t = mk(F.es, NULL, NULL, NULL);

	(void)state;
	*strrchr(t, '.') = '\0';
	expect(t, PEP_ERR_PARTS);
	expect("", PEP_ERR_PARTS);
	expect("abc", PEP_ERR_PARTS);
	free(t);
}

static void
test_pep_four_parts_rejected(void **state)
{
	char *t = mk(F.es, NULL, NULL, NULL), nt[4096];

	(void)state;
	snprintf(nt, sizeof(nt), "%s.", t);
	expect(nt, PEP_ERR_PARTS);
	snprintf(nt, sizeof(nt), "%s.AAAA", t);
	expect(nt, PEP_ERR_PARTS);
	free(t);
}

static char *
hdr64(void)
{
	char hdr[256];

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\"}", tok_key_kid(F.es));
	return b64(hdr, strlen(hdr));
}

static void
test_pep_b64_padding_rejected(void **state)
{
	/* "{}" is e30 unpadded; e30= is padded */
	char *h = hdr64(), *t;
	char p[] = "eyJpc3MiOiJ4In0=";	/* {"iss":"x"} with '=' */

	(void)state;
	t = sign_parts(F.es, h, p);
	expect_free(t, PEP_ERR_B64);
	free(h);
	/* padded header */
	t = sign_parts(F.es, "eyJhbGciOiJFUzI1NiJ9==", "e30");
	expect_free(t, PEP_ERR_B64);
}

static void
test_pep_b64_plus_slash_rejected(void **state)
{
	char *h = hdr64(), hdr[512], *t;
	size_t i;
	int done = 0;

	(void)state;
	/* standard-alphabet characters in an otherwise valid header */
	snprintf(hdr, sizeof(hdr), "%s", h);
	for (i = 0; hdr[i] != '\0' && !done; i++) {
		if (hdr[i] == '-' || hdr[i] == '_') {
			hdr[i] = hdr[i] == '-' ? '+' : '/';
			done = 1;
		}
	}
	if (!done)
		hdr[0] = '+';
	t = sign_parts(F.es, hdr, "e30");
	expect_free(t, PEP_ERR_B64);
	t = sign_parts(F.es, h, "e3+/");
	expect_free(t, PEP_ERR_B64);
	free(h);
}

static void
test_pep_b64_trailing_bits_rejected(void **state)
{
	char hdr[256], *h, *t;
	size_t len;

	(void)state;
	/* make the header length 1 mod 3: 4 unused bits in the last char */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\"}", tok_key_kid(F.es));
	while (strlen(hdr) % 3 != 1) {
		memmove(hdr + 1, hdr, strlen(hdr) + 1);
		hdr[0] = ' ';
	}
	h = b64(hdr, strlen(hdr));
	len = strlen(h);
	assert_int_equal(len % 4, 2);
	/* "}" = 0x7d -> last char encodes 01 + 0000; set a low bit */
	assert_int_equal(h[len - 1], 'Q');
	h[len - 1] = 'R';
	t = sign_parts(F.es, h, "e30");
	expect_free(t, PEP_ERR_B64);
	free(h);
}

static void
test_pep_b64_bad_char_in_signature_rejected(void **state)
{
	char *t = mk(F.es, NULL, NULL, NULL), nt[4096];

	(void)state;
	snprintf(nt, sizeof(nt), "%s=", t);
	expect(nt, PEP_ERR_B64);
	free(t);
}

static void
test_pep_embedded_nul_rejected(void **state)
{
	char *t = mk(F.es, NULL, NULL, NULL);
	json_t *claims = NULL;

	(void)state;
	t[3] = '\0';
	assert_int_equal(pep_verify(F.v, t, strlen(t + 4) + 4, NOW, &claims),
	    PEP_ERR_B64);
	assert_null(claims);
	free(t);
}

static void
test_pep_dup_header_member_rejected(void **state)
{
	char hdr[512];

	(void)state;
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\",\"alg\":\"none\"}", tok_key_kid(F.es));
	expect_free(mk_raw(F.es, hdr, "{}"), PEP_ERR_JSON_DUP);
}

static void
test_pep_dup_payload_member_rejected(void **state)
{
	(void)state;
	claims_case("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":"
	    "1700000300,\"sub\":\"alice\",\"sub\":\"admin\"}",
	    PEP_ERR_JSON_DUP);
}

static void
test_pep_header_not_object_rejected(void **state)
{
	(void)state;
	expect_free(mk_raw(F.es, "[\"ES256\"]", "{}"), PEP_ERR_JSON);
	expect_free(mk_raw(F.es, "{\"alg\":", "{}"), PEP_ERR_JSON);
}

static void
test_pep_payload_not_object_rejected(void **state)
{
	(void)state;
	claims_case("[1,2]", PEP_ERR_JSON);
}

/* ---- key set handling ---- */

struct fetch_ctx {
	const char	*body;
	int		 calls;
};

static int
fetch_cb(void *arg, const char *url, uint8_t **body, size_t *len)
{
	struct fetch_ctx *fc = arg;

	assert_string_equal(url, "https://idp.example.com/jwks");
	fc->calls++;
	*len = strlen(fc->body);
	*body = malloc(*len);
	memcpy(*body, fc->body, *len);
	return 0;
}

static void
test_pep_jwks_refresh_on_unknown_kid_rate_limited(void **state)
{
	struct fetch_ctx fc = { "{\"keys\":[]}", 0 };
	struct pep_config cfg;
	pep_verifier *v = NULL;
	tok_key *one[1] = { F.es };
	char *jwks1 = jwks_of(one, 1), *t = mk(F.es, NULL, NULL, NULL);
	json_t *c = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = ISS;
	cfg.audience = AUD;
	cfg.jwks_url = "https://idp.example.com/jwks";
	cfg.fetch = fetch_cb;
	cfg.fetch_arg = &fc;
	cfg.refresh_min_interval = 60;
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_OK);
	/* first use fetches; the key is not there yet */
	assert_int_equal(pep_verify(v, t, strlen(t), NOW, &c),
	    PEP_ERR_KID_UNKNOWN);
	assert_int_equal(fc.calls, 1);
	/* published now, but the rate limit holds */
	fc.body = jwks1;
	assert_int_equal(pep_verify(v, t, strlen(t), NOW + 10, &c),
	    PEP_ERR_KID_UNKNOWN);
	assert_int_equal(fc.calls, 1);
	/* after the interval the unknown kid triggers a refresh */
	assert_int_equal(pep_verify(v, t, strlen(t), NOW + 61, &c), PEP_OK);
	assert_int_equal(fc.calls, 2);
	json_decref(c);
	free(t);
	free(jwks1);
	pep_verifier_free(&v);
}

static void
test_pep_jwks_file(void **state)
{
	char path[] = "/tmp/test_pep_jwks_XXXXXX", *t;
	struct pep_config cfg;
	pep_verifier *v = NULL;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, F.jwks, strlen(F.jwks)),
	    (ssize_t)strlen(F.jwks));
	close(fd);
	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = ISS;
	cfg.audience = AUD;
	cfg.jwks_file = path;
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_OK);
	t = mk(F.es, NULL, NULL, NULL);
	assert_int_equal(verify(v, t), PEP_OK);
	free(t);
	pep_verifier_free(&v);
	cfg.jwks_file = "/nonexistent/jwks.json";
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_ERR_FETCH);
	assert_null(v);
	unlink(path);
}

static void
test_pep_no_keys_rejected(void **state)
{
	struct pep_config cfg;
	pep_verifier *v = NULL;
	char *t = mk(F.es, NULL, NULL, NULL);

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = ISS;
	cfg.audience = AUD;
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_OK);
	assert_int_equal(verify(v, t), PEP_ERR_NO_KEYS);
	assert_int_equal(pep_verifier_set_jwks(v, (const uint8_t *)"{\"keys\":",
	    8), PEP_ERR_JWKS);
	assert_int_equal(verify(v, t), PEP_ERR_NO_KEYS);
	free(t);
	pep_verifier_free(&v);
}

static void
test_pep_strerror_distinct(void **state)
{
	int i, j;

	(void)state;
	for (i = PEP_ERR_TOO_LONG; i > PEP_ERR_LAST_; i--) {
		assert_string_not_equal(pep_strerror(i), "unknown error");
		for (j = i - 1; j > PEP_ERR_LAST_; j--)
			assert_string_not_equal(pep_strerror(i),
			    pep_strerror(j));
	}
	assert_string_equal(pep_strerror(PEP_ERR_LAST_), "unknown error");
	assert_string_equal(pep_strerror(12345), "unknown error");
}

/* ---- threads ---- */

static void *
verify_thread(void *arg)
{
	const char *t = arg;
	json_t *c = NULL;
	int i, bad = 0;

	for (i = 0; i < 200; i++) {
		if (pep_verify(F.v, t, strlen(t), NOW, &c) != 0)
			bad++;
		json_decref(c);
		c = NULL;
	}
	return (void *)(intptr_t)bad;
}

static void
test_pep_concurrent_verify_and_set_jwks(void **state)
{
	pthread_t th[4];
	void *ret;
	char *t = mk(F.ed, NULL, NULL, NULL);
	int i, bad = 0;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, verify_thread, t),
		    0);
	for (i = 0; i < 50; i++)
		assert_int_equal(pep_verifier_set_jwks(F.v,
		    (const uint8_t *)F.jwks, strlen(F.jwks)), PEP_OK);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		bad += (int)(intptr_t)ret;
	}
	assert_int_equal(bad, 0);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pep_roundtrip_es256),
		cmocka_unit_test(test_pep_roundtrip_eddsa),
		cmocka_unit_test(test_pep_roundtrip_ps256),
		cmocka_unit_test(test_pep_roundtrip_rs256),
		cmocka_unit_test(test_pep_ed25519_name_accepted_for_eddsa_key),
		cmocka_unit_test(test_pep_typ_application_prefix_accepted),
		cmocka_unit_test(test_pep_aud_array_accepted),
		cmocka_unit_test(test_pep_skew_tolerated),
		cmocka_unit_test(test_pep_alg_none_rejected),
		cmocka_unit_test(test_pep_alg_none_uppercase_rejected),
		cmocka_unit_test(test_pep_alg_hs256_public_key_confusion_rejected),
		cmocka_unit_test(test_pep_alg_not_allowed_rejected),
		cmocka_unit_test(test_pep_alg_unknown_rejected),
		cmocka_unit_test(test_pep_alg_case_rejected),
		cmocka_unit_test(test_pep_alg_mismatch_rejected),
		cmocka_unit_test(test_pep_alg_missing_rejected),
		cmocka_unit_test(test_pep_config_refuses_none_and_hmac),
		cmocka_unit_test(test_pep_kid_unknown_rejected),
		cmocka_unit_test(test_pep_kid_traversal_rejected),
		cmocka_unit_test(test_pep_kid_quote_rejected),
		cmocka_unit_test(test_pep_kid_paren_rejected),
		cmocka_unit_test(test_pep_kid_star_rejected),
		cmocka_unit_test(test_pep_kid_too_long_rejected),
		cmocka_unit_test(test_pep_kid_not_string_rejected),
		cmocka_unit_test(test_pep_kid_missing_rejected),
		cmocka_unit_test(test_pep_payload_bit_flip_rejected),
		cmocka_unit_test(test_pep_signature_bit_flip_rejected),
		cmocka_unit_test(test_pep_signature_by_other_key_rejected),
		cmocka_unit_test(test_pep_es256_der_signature_rejected),
		cmocka_unit_test(test_pep_empty_signature_rejected),
		cmocka_unit_test(test_pep_hdr_embedded_jwk_rejected),
		cmocka_unit_test(test_pep_hdr_jku_rejected),
		cmocka_unit_test(test_pep_hdr_x5u_rejected),
		cmocka_unit_test(test_pep_hdr_x5c_rejected),
		cmocka_unit_test(test_pep_crit_unknown_rejected),
		cmocka_unit_test(test_pep_typ_wrong_rejected),
		cmocka_unit_test(test_pep_typ_missing_rejected),
		cmocka_unit_test(test_pep_expired_rejected),
		cmocka_unit_test(test_pep_exp_missing_rejected),
		cmocka_unit_test(test_pep_exp_not_number_rejected),
		cmocka_unit_test(test_pep_nbf_future_rejected),
		cmocka_unit_test(test_pep_iat_future_rejected),
		cmocka_unit_test(test_pep_iss_wrong_rejected),
		cmocka_unit_test(test_pep_aud_wrong_rejected),
		cmocka_unit_test(test_pep_acr_below_minimum_rejected),
		cmocka_unit_test(test_pep_acr_missing_rejected),
		cmocka_unit_test(test_pep_acr_unknown_rejected),
		cmocka_unit_test(test_pep_acr_minimum_met),
		cmocka_unit_test(test_pep_config_min_acr_not_in_list_refused),
		cmocka_unit_test(test_pep_oversized_token_rejected),
		cmocka_unit_test(test_pep_two_parts_rejected),
		cmocka_unit_test(test_pep_four_parts_rejected),
		cmocka_unit_test(test_pep_b64_padding_rejected),
		cmocka_unit_test(test_pep_b64_plus_slash_rejected),
		cmocka_unit_test(test_pep_b64_trailing_bits_rejected),
		cmocka_unit_test(test_pep_b64_bad_char_in_signature_rejected),
		cmocka_unit_test(test_pep_embedded_nul_rejected),
		cmocka_unit_test(test_pep_dup_header_member_rejected),
		cmocka_unit_test(test_pep_dup_payload_member_rejected),
		cmocka_unit_test(test_pep_header_not_object_rejected),
		cmocka_unit_test(test_pep_payload_not_object_rejected),
		cmocka_unit_test(test_pep_jwks_refresh_on_unknown_kid_rate_limited),
		cmocka_unit_test(test_pep_jwks_file),
		cmocka_unit_test(test_pep_no_keys_rejected),
		cmocka_unit_test(test_pep_strerror_distinct),
		cmocka_unit_test(test_pep_concurrent_verify_and_set_jwks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

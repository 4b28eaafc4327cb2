/* tests/unit/test_tok_jws.c — keys, JWK, JWKS, JWS and RFC vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/cm.h"
#include "tokens/tokens.h"

/* RFC 8037 A.1 key, A.4 signing input and signature, A.3 thumbprint. */
#define RFC8037_D	"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define RFC8037_X	"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define RFC8037_INPUT	"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define RFC8037_SIG	"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4" \
			"iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
#define RFC8037_TP	"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

/* RFC 7515 A.3 (ES256). */
#define RFC7515_A3_X	"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define RFC7515_A3_Y	"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define RFC7515_A3_JWS	"eyJhbGciOiJFUzI1NiJ9" \
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" \
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ" \
	".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA" \
	"pmWQxfKTUJqPP3-Kg6NU1Q"
#define RFC7515_PAYLOAD	"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n " \
	"\"http://example.com/is_root\":true}"

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(cm_init(), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_tok_jws_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static json_t *
jparse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);

	assert_non_null(j);
	return j;
}

/* Write the RFC 8037 private key as PEM with mode `mode`. */
static void
write_rfc8037_pem(const char *path, mode_t mode)
{
	uint8_t *d = NULL;
	size_t dl = 0;
	EVP_PKEY *pk;
	FILE *f;

	assert_int_equal(cm_b64url_decode(RFC8037_D, strlen(RFC8037_D), &d,
	    &dl), 0);
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, dl);
	assert_non_null(pk);
	(void)unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	EVP_PKEY_free(pk);
	cm_freezero(d, dl);
}

static void
test_tok_rfc8037_a4_ed25519_sign_exact(void **state)
{
	char path[128], *s64 = NULL, *tp = NULL;
	uint8_t sig[TOK_SIG_MAX_LEN];
	size_t siglen = 0;
	tok_key *k = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/rfc8037.pem", tmpdir);
	write_rfc8037_pem(path, 0600);
	assert_int_equal(tok_key_load_pem(path, TOK_ALG_UNKNOWN, &k), 0);
	assert_int_equal(tok_key_alg(k), TOK_ALG_EDDSA);
	assert_true(tok_key_has_private(k));
	assert_int_equal(tok_jws_sign_raw(k, (const uint8_t *)RFC8037_INPUT,
	    strlen(RFC8037_INPUT), sig, sizeof(sig), &siglen), 0);
	assert_int_equal(siglen, 64);
	assert_int_equal(cm_b64url_encode(sig, siglen, &s64), 0);
	assert_string_equal(s64, RFC8037_SIG);
	/* RFC 7638 thumbprint, used as kid */
	assert_int_equal(tok_key_thumbprint(k, &tp), 0);
	assert_string_equal(tp, RFC8037_TP);
	assert_string_equal(tok_key_kid(k), RFC8037_TP);
	free(tp);
	free(s64);
	tok_key_free(&k);
	assert_null(k);
}

static void
test_tok_rfc8037_a4_ed25519_verify(void **state)
{
	json_t *jwk = jparse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\""
	    RFC8037_X "\"}");
	tok_key *k = NULL;
	uint8_t *pay = NULL;
	size_t plen = 0;
	char *tp = NULL;
	const char *tok = RFC8037_INPUT "." RFC8037_SIG;
	char bad[256];

	(void)state;
	assert_int_equal(tok_key_from_jwk(jwk, &k), 0);
	assert_false(tok_key_has_private(k));
	assert_int_equal(tok_key_thumbprint(k, &tp), 0);
	assert_string_equal(tp, RFC8037_TP);
	assert_int_equal(tok_jws_verify_compact(k, tok, strlen(tok), &pay,
	    &plen), 0);
	assert_int_equal(plen, strlen("Example of Ed25519 signing"));
	assert_memory_equal(pay, "Example of Ed25519 signing", plen);
	free(pay);
	/* one character of the signature changed */
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(tok_jws_verify_compact(k, bad, strlen(bad), &pay,
	    &plen), CM_ERR_DENIED);
	assert_null(pay);
	free(tp);
	tok_key_free(&k);
	json_decref(jwk);
}

static void
test_tok_rfc7515_a3_es256_verify(void **state)
{
	json_t *jwk = jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\""
	    RFC7515_A3_X "\",\"y\":\"" RFC7515_A3_Y "\"}");
	tok_key *k = NULL;
	uint8_t *pay = NULL;
	size_t plen = 0;

	(void)state;
	assert_int_equal(tok_key_from_jwk(jwk, &k), 0);
	assert_int_equal(tok_key_alg(k), TOK_ALG_ES256);
	assert_int_equal(tok_jws_verify_compact(k, RFC7515_A3_JWS,
	    strlen(RFC7515_A3_JWS), &pay, &plen), 0);
	assert_int_equal(plen, strlen(RFC7515_PAYLOAD));
	assert_memory_equal(pay, RFC7515_PAYLOAD, plen);
	free(pay);
	tok_key_free(&k);
	json_decref(jwk);
}

static void
test_tok_es256_signature_is_64_bytes_raw(void **state)
{
	tok_key *k = NULL;
	uint8_t sig[TOK_SIG_MAX_LEN];
	size_t siglen = 0;
	int i;

	(void)state;
	assert_int_equal(tok_key_generate(TOK_ALG_ES256, &k), 0);
	for (i = 0; i < 32; i++) {
		assert_int_equal(tok_jws_sign_raw(k, (const uint8_t *)"a.b", 3,
		    sig, sizeof(sig), &siglen), 0);
		assert_int_equal(siglen, 64);	/* never DER (0x30 ...) */
		assert_int_equal(tok_jws_verify_raw(k, TOK_ALG_ES256,
		    (const uint8_t *)"a.b", 3, sig, siglen), 0);
	}
	/* a too small buffer is an error, not an overflow */
	assert_int_equal(tok_jws_sign_raw(k, (const uint8_t *)"a.b", 3, sig,
	    63, &siglen), CM_ERR_RANGE);
	tok_key_free(&k);
}

static void
test_tok_pem_mode_0644_refused(void **state)
{
	char path[128];
	tok_key *k = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/open.pem", tmpdir);
	write_rfc8037_pem(path, 0644);
	assert_int_equal(tok_key_load_pem(path, TOK_ALG_UNKNOWN, &k),
	    CM_ERR_POLICY);
	assert_null(k);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(tok_key_load_pem(path, TOK_ALG_UNKNOWN, &k),
	    CM_ERR_POLICY);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(tok_key_load_pem(path, TOK_ALG_UNKNOWN, &k), 0);
	tok_key_free(&k);
}

static void
test_tok_pem_symlink_refused(void **state)
{
	char path[128], link[128];
	tok_key *k = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/target.pem", tmpdir);
	snprintf(link, sizeof(link), "%s/link.pem", tmpdir);
	write_rfc8037_pem(path, 0600);
	(void)unlink(link);
	assert_int_equal(symlink(path, link), 0);
	assert_int_not_equal(tok_key_load_pem(link, TOK_ALG_UNKNOWN, &k), 0);
	assert_null(k);
}

static void
test_tok_pem_alg_must_fit_key(void **state)
{
	char path[128];
	tok_key *k = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/ed.pem", tmpdir);
	write_rfc8037_pem(path, 0600);
	assert_int_equal(tok_key_load_pem(path, TOK_ALG_ES256, &k),
	    CM_ERR_UNSUPPORTED);
	assert_int_equal(tok_key_load_pem(path, TOK_ALG_RS256, &k),
	    CM_ERR_UNSUPPORTED);
	assert_null(k);
}

static void
test_tok_pem_save_load_roundtrip(void **state)
{
	static const enum tok_alg algs[] = {
		TOK_ALG_ES256, TOK_ALG_EDDSA, TOK_ALG_RS256
	};
	char path[128];
	tok_key *k = NULL, *k2 = NULL;
	struct stat st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		snprintf(path, sizeof(path), "%s/rt%zu.pem", tmpdir, i);
		assert_int_equal(tok_key_generate(algs[i], &k), 0);
		assert_int_equal(tok_key_save_pem(k, path), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		/* never replaces a file */
		assert_int_equal(tok_key_save_pem(k, path), CM_ERR_EXISTS);
		assert_int_equal(tok_key_load_pem(path, algs[i], &k2), 0);
		assert_string_equal(tok_key_kid(k), tok_key_kid(k2));
		tok_key_free(&k);
		tok_key_free(&k2);
	}
	/* RSA without an explicit alg is ambiguous */
	snprintf(path, sizeof(path), "%s/rt2.pem", tmpdir);
	assert_int_equal(tok_key_load_pem(path, TOK_ALG_UNKNOWN, &k),
	    CM_ERR_INVAL);
}

static void
test_tok_jwk_roundtrip_and_members(void **state)
{
	static const enum tok_alg algs[] = {
		TOK_ALG_ES256, TOK_ALG_EDDSA, TOK_ALG_PS256
	};
	tok_key *k = NULL, *pub = NULL;
	json_t *jwk = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(tok_key_generate(algs[i], &k), 0);
		assert_int_equal(tok_key_to_jwk(k, &jwk), 0);
		assert_string_equal(json_string_value(json_object_get(jwk,
		    "use")), "sig");
		assert_string_equal(json_string_value(json_object_get(jwk,
		    "alg")), tok_alg_name(algs[i]));
		assert_null(json_object_get(jwk, "d"));
		assert_null(json_object_get(jwk, "p"));
		assert_int_equal(tok_key_from_jwk(jwk, &pub), 0);
		assert_string_equal(tok_key_kid(pub), tok_key_kid(k));
		assert_int_equal(tok_key_alg(pub), algs[i]);
		tok_key_free(&pub);
		json_decref(jwk);
		tok_key_free(&k);
	}
}

static void
test_tok_jwk_private_member_refused(void **state)
{
	json_t *jwk = jparse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\""
	    RFC8037_X "\",\"d\":\"" RFC8037_D "\"}");
	tok_key *k = NULL;

	(void)state;
	assert_int_equal(tok_key_from_jwk(jwk, &k), CM_ERR_POLICY);
	assert_null(k);
	json_decref(jwk);
}

static void
test_tok_jwk_point_not_on_curve_refused(void **state)
{
	/* RFC 7515 A.3 x with y changed */
	json_t *jwk = jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\""
	    RFC7515_A3_X "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1\"}");
	tok_key *k = NULL;

	(void)state;
	assert_int_not_equal(tok_key_from_jwk(jwk, &k), 0);
	assert_null(k);
	json_decref(jwk);
}

static void
test_tok_jwk_alg_kty_mismatch_refused(void **state)
{
	json_t *jwk = jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":"
	    "\"RS256\",\"x\":\"" RFC7515_A3_X "\",\"y\":\"" RFC7515_A3_Y "\"}");
	tok_key *k = NULL;

	(void)state;
	assert_int_equal(tok_key_from_jwk(jwk, &k), CM_ERR_INVAL);
	json_decref(jwk);
}

static void
test_tok_jwks_parse_and_find(void **state)
{
	const char *doc = "{\"keys\":["
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":\""
	    RFC8037_X "\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\",\"x\":\""
	    RFC7515_A3_X "\",\"y\":\"" RFC7515_A3_Y "\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"p384\",\"x\":\"AA\","
	    "\"y\":\"AA\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"enc\",\"use\":\"enc\","
	    "\"x\":\"" RFC7515_A3_X "\",\"y\":\"" RFC7515_A3_Y "\"},"
	    "{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"AAAA\"}"
	    "]}";
	tok_keyset *ks = NULL;

	(void)state;
	/* "oct" with "k" is a secret in a public document: refused */
	assert_int_equal(tok_keyset_parse((const uint8_t *)doc, strlen(doc),
	    &ks), CM_ERR_POLICY);
	assert_null(ks);
	/* without the secret: P-384 and use=enc are skipped */
	assert_int_equal(tok_keyset_parse((const uint8_t *)doc,
	    strstr(doc, ",{\"kty\":\"oct\"") - doc, &ks), CM_ERR_INVAL);
	{
		char buf[2048];

		snprintf(buf, sizeof(buf), "%.*s]}",
		    (int)(strstr(doc, ",{\"kty\":\"oct\"") - doc), doc);
		assert_int_equal(tok_keyset_parse((const uint8_t *)buf,
		    strlen(buf), &ks), 0);
	}
	assert_int_equal(tok_keyset_count(ks), 2);
	assert_non_null(tok_keyset_find(ks, "ed", 2));
	assert_non_null(tok_keyset_find(ks, "ec", 2));
	assert_null(tok_keyset_find(ks, "e", 1));
	assert_null(tok_keyset_find(ks, "enc", 3));
	assert_null(tok_keyset_find(ks, "p384", 4));
	assert_int_equal(tok_key_alg(tok_keyset_find(ks, "ed", 2)),
	    TOK_ALG_EDDSA);
	tok_keyset_free(&ks);
	assert_null(ks);
}

static void
test_tok_jwks_duplicate_kid_refused(void **state)
{
	const char *doc = "{\"keys\":["
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"k\",\"x\":\""
	    RFC8037_X "\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k\",\"x\":\""
	    RFC7515_A3_X "\",\"y\":\"" RFC7515_A3_Y "\"}]}";
	tok_keyset *ks = NULL;

	(void)state;
	assert_int_equal(tok_keyset_parse((const uint8_t *)doc, strlen(doc),
	    &ks), CM_ERR_EXISTS);
	assert_null(ks);
}

static void
test_tok_jwks_duplicate_member_refused(void **state)
{
	const char *doc = "{\"keys\":[],\"keys\":[]}";
	tok_keyset *ks = NULL;

	(void)state;
	assert_int_equal(tok_keyset_parse((const uint8_t *)doc, strlen(doc),
	    &ks), CM_ERR_INVAL);
}

static void
test_tok_jwks_rsa_without_alg_skipped(void **state)
{
	tok_key *k = NULL;
	json_t *jwk = NULL, *doc;
	tok_keyset *ks = NULL;
	char *s;

	(void)state;
	assert_int_equal(tok_key_generate(TOK_ALG_RS256, &k), 0);
	assert_int_equal(tok_key_to_jwk(k, &jwk), 0);
	assert_int_equal(json_object_del(jwk, "alg"), 0);
	doc = json_pack("{s:[o]}", "keys", jwk);
	s = json_dumps(doc, JSON_COMPACT);
	assert_int_equal(tok_keyset_parse((const uint8_t *)s, strlen(s), &ks),
	    0);
	assert_int_equal(tok_keyset_count(ks), 0);
	tok_keyset_free(&ks);
	free(s);
	json_decref(doc);
	tok_key_free(&k);
}

static void
test_tok_jwks_small_rsa_refused(void **state)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[128], eb[3];
	char *n64, *e64, doc[1024];
	tok_keyset *ks = NULL;

	(void)state;
	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, "n", &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, "e", &e), 1);
	assert_int_equal(BN_bn2binpad(n, nb, sizeof(nb)), 128);
	assert_int_equal(BN_bn2binpad(e, eb, sizeof(eb)), 3);
	assert_int_equal(cm_b64url_encode(nb, sizeof(nb), &n64), 0);
	assert_int_equal(cm_b64url_encode(eb, sizeof(eb), &e64), 0);
	snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"alg\":"
	    "\"RS256\",\"kid\":\"r\",\"n\":\"%s\",\"e\":\"%s\"}]}", n64, e64);
	assert_int_equal(tok_keyset_parse((const uint8_t *)doc, strlen(doc),
	    &ks), CM_ERR_POLICY);
	free(n64);
	free(e64);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(pk);
}

static void
test_tok_alg_names_case_sensitive(void **state)
{
	enum tok_alg a;

	(void)state;
	assert_int_equal(tok_alg_parse("ES256", 5, &a), 0);
	assert_int_equal(a, TOK_ALG_ES256);
	assert_int_not_equal(tok_alg_parse("es256", 5, &a), 0);
	assert_int_not_equal(tok_alg_parse("EDDSA", 5, &a), 0);
	assert_int_not_equal(tok_alg_parse("none", 4, &a), 0);
	assert_int_not_equal(tok_alg_parse("HS256", 5, &a), 0);
	assert_int_not_equal(tok_alg_parse("ES256\0", 6, &a), 0);
	assert_true(tok_alg_compatible(TOK_ALG_EDDSA, TOK_ALG_ED25519));
	assert_true(tok_alg_compatible(TOK_ALG_ED25519, TOK_ALG_EDDSA));
	assert_false(tok_alg_compatible(TOK_ALG_RS256, TOK_ALG_PS256));
	assert_false(tok_alg_compatible(TOK_ALG_ES256, TOK_ALG_UNKNOWN));
}

static void
test_tok_verify_compact_rejects_alg_mismatch(void **state)
{
	json_t *jwk = jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":"
	    "\"ES256\",\"x\":\"" RFC7515_A3_X "\",\"y\":\"" RFC7515_A3_Y "\"}");
	tok_key *k = NULL;
	uint8_t *pay = NULL;
	size_t plen = 0;

	(void)state;
	assert_int_equal(tok_key_from_jwk(jwk, &k), 0);
	/* the Ed25519 vector against an EC key */
	assert_int_equal(tok_jws_verify_compact(k, RFC8037_INPUT "."
	    RFC8037_SIG, strlen(RFC8037_INPUT "." RFC8037_SIG), &pay, &plen),
	    CM_ERR_POLICY);
	tok_key_free(&k);
	json_decref(jwk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tok_rfc8037_a4_ed25519_sign_exact),
		cmocka_unit_test(test_tok_rfc8037_a4_ed25519_verify),
		cmocka_unit_test(test_tok_rfc7515_a3_es256_verify),
		cmocka_unit_test(test_tok_es256_signature_is_64_bytes_raw),
		cmocka_unit_test(test_tok_pem_mode_0644_refused),
		cmocka_unit_test(test_tok_pem_symlink_refused),
		cmocka_unit_test(test_tok_pem_alg_must_fit_key),
		cmocka_unit_test(test_tok_pem_save_load_roundtrip),
		cmocka_unit_test(test_tok_jwk_roundtrip_and_members),
		cmocka_unit_test(test_tok_jwk_private_member_refused),
		cmocka_unit_test(test_tok_jwk_point_not_on_curve_refused),
		cmocka_unit_test(test_tok_jwk_alg_kty_mismatch_refused),
		cmocka_unit_test(test_tok_jwks_parse_and_find),
		cmocka_unit_test(test_tok_jwks_duplicate_kid_refused),
		cmocka_unit_test(test_tok_jwks_duplicate_member_refused),
		cmocka_unit_test(test_tok_jwks_rsa_without_alg_skipped),
		cmocka_unit_test(test_tok_jwks_small_rsa_refused),
		cmocka_unit_test(test_tok_alg_names_case_sensitive),
		cmocka_unit_test(test_tok_verify_compact_rejects_alg_mismatch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* tests/unit/test_tok_keystore.c — key directory, rotation, local signer,
 * JWT signing. */
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

#include "common/cm.h"
#include "tokens/pep.h"
#include "tokens/tokens.h"

#define T0	1700000000LL
#define AHEAD	3600
#define LIFE	7200
#define ISS	"https://idp.example.com"
#define AUD	"https://api.example.com"

static char base[64];
static int seq;

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(cm_init(), 0);
	snprintf(base, sizeof(base), "/tmp/test_tok_ks_XXXXXX");
	assert_non_null(mkdtemp(base));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
newdir(char *dir, size_t sz)
{
	snprintf(dir, sz, "%s/ks%d", base, seq++);
}

static json_t *
claims_at(int64_t iat)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}",
	    "iss", ISS, "aud", AUD, "sub", "alice", "client_id", "c1",
	    "iat", (json_int_t)iat, "exp", (json_int_t)(iat + 300),
	    "jti", "j");

	assert_non_null(c);
	return c;
}

static pep_verifier *
verifier_from(tok_signer *s, int64_t now)
{
	static const char *const algs[] = {
		"ES256", "EdDSA", "PS256", "RS256"
	};
	struct pep_config cfg;
	pep_verifier *v = NULL;
	char *jwks = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = ISS;
	cfg.audience = AUD;
	cfg.algs = algs;
	cfg.nalgs = 4;
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_OK);
	assert_int_equal(tok_signer_jwks(s, now, &jwks), 0);
	assert_int_equal(pep_verifier_set_jwks(v, (const uint8_t *)jwks,
	    strlen(jwks)), PEP_OK);
	free(jwks);
	return v;
}

static int
jwks_has(tok_signer *s, int64_t now, const char *kid)
{
	char *jwks = NULL;
	int found;

	assert_int_equal(tok_signer_jwks(s, now, &jwks), 0);
	found = strstr(jwks, kid) != NULL;
	free(jwks);
	return found;
}

static void
test_tok_keystore_first_key_signs_at_once(void **state)
{
	char dir[128], kid[64], cur[TOK_KID_MAX_LEN + 1], path[256];
	tok_keystore *ks = NULL;
	enum tok_alg alg;
	tok_signer *s = NULL;
	struct stat st;

	(void)state;
	newdir(dir, sizeof(dir));
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0, kid, sizeof(kid)), 0);
	assert_int_equal(strlen(kid), 43);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/%s.pem", dir, kid);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(tok_keystore_load(dir, &ks), 0);
	assert_int_equal(tok_keystore_count(ks), 1);
	assert_non_null(tok_keystore_signing_key(ks, T0));
	assert_string_equal(tok_key_kid(tok_keystore_signing_key(ks, T0)), kid);
	assert_int_equal(tok_keystore_state(ks, kid, T0), TOK_KEY_ACTIVE);
	assert_null(tok_keystore_signing_key(ks, T0 - 1));
	tok_keystore_free(&ks);
	assert_null(ks);

	assert_int_equal(tok_signer_new_local(dir, &s), 0);
	assert_int_equal(tok_signer_current_kid(s, T0, cur, sizeof(cur), &alg),
	    0);
	assert_string_equal(cur, kid);
	assert_int_equal(alg, TOK_ALG_ES256);
	tok_signer_free(&s);
	assert_null(s);
}

static void
test_tok_keystore_rotation_lifecycle(void **state)
{
	char dir[128], k1[64], k2[64], cur[TOK_KID_MAX_LEN + 1], path[256];
	const int64_t t1 = T0 + 100, switch_at = t1 + AHEAD;
	tok_signer *s = NULL;
	pep_verifier *v = NULL;
	enum tok_alg alg;
	json_t *c, *out = NULL;
	char *old_tok = NULL, *new_tok = NULL;
	uint8_t sig[TOK_SIG_MAX_LEN];
	size_t siglen;

	(void)state;
	newdir(dir, sizeof(dir));
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0, k1, sizeof(k1)), 0);
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_EDDSA, AHEAD, LIFE,
	    t1, k2, sizeof(k2)), 0);
	assert_string_not_equal(k1, k2);
	/* a second rotation while one is pending is refused */
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    t1 + 1, NULL, 0), CM_ERR_EXISTS);

	assert_int_equal(tok_signer_new_local(dir, &s), 0);
	/* the new key is published at once ... */
	assert_true(jwks_has(s, t1, k1));
	assert_true(jwks_has(s, t1, k2));
	/* ... but does not sign before its not_before */
	assert_int_equal(tok_signer_current_kid(s, t1, cur, sizeof(cur), &alg),
	    0);
	assert_string_equal(cur, k1);
	assert_int_equal(tok_signer_current_kid(s, switch_at - 1, cur,
	    sizeof(cur), &alg), 0);
	assert_string_equal(cur, k1);
	assert_int_equal(tok_signer_sign_at(s, k2, switch_at - 1,
	    (const uint8_t *)"a.b", 3, sig, sizeof(sig), &siglen),
	    CM_ERR_NOTFOUND);
	assert_int_equal(tok_signer_current_kid(s, switch_at, cur, sizeof(cur),
	    &alg), 0);
	assert_string_equal(cur, k2);
	assert_int_equal(alg, TOK_ALG_EDDSA);
	/* the old key no longer signs, even when asked by kid */
	assert_int_equal(tok_signer_sign_at(s, k1, switch_at,
	    (const uint8_t *)"a.b", 3, sig, sizeof(sig), &siglen),
	    CM_ERR_NOTFOUND);

	/* a token signed by the old key just before the switch ... */
	c = claims_at(switch_at - 1);
	assert_int_equal(tok_jwt_sign_at(s, "at+jwt", c, switch_at - 1,
	    &old_tok), 0);
	json_decref(c);
	c = claims_at(switch_at);
	assert_int_equal(tok_jwt_sign_at(s, "at+jwt", c, switch_at, &new_tok),
	    0);
	json_decref(c);
	/* ... still verifies after the rotation, with the JWKS of then */
	v = verifier_from(s, switch_at + 200);
	assert_int_equal(pep_verify(v, old_tok, strlen(old_tok),
	    switch_at + 200, &out), PEP_OK);
	json_decref(out);
	assert_int_equal(pep_verify(v, new_tok, strlen(new_tok),
	    switch_at + 200, &out), PEP_OK);
	json_decref(out);
	pep_verifier_free(&v);

	/* the retired key stays published for the max token lifetime */
	assert_true(jwks_has(s, switch_at + LIFE - 1, k1));
	assert_false(jwks_has(s, switch_at + LIFE, k1));
	assert_true(jwks_has(s, switch_at + LIFE, k2));
	v = verifier_from(s, switch_at + LIFE);
	assert_int_equal(pep_verify(v, old_tok, strlen(old_tok),
	    switch_at + 200, &out), PEP_ERR_KID_UNKNOWN);
	assert_null(out);
	pep_verifier_free(&v);

	/* pruning removes the expired key and its file */
	assert_int_equal(tok_keystore_prune(dir, switch_at + LIFE), 0);
	snprintf(path, sizeof(path), "%s/%s.pem", dir, k1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(tok_signer_reload(s), 0);
	assert_false(jwks_has(s, switch_at, k1));
	assert_true(jwks_has(s, switch_at, k2));

	free(old_tok);
	free(new_tok);
	tok_signer_free(&s);
}

static void
test_tok_keystore_reload_sees_rotation(void **state)
{
	char dir[128], k1[64], k2[64];
	tok_signer *s = NULL;

	(void)state;
	newdir(dir, sizeof(dir));
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0, k1, sizeof(k1)), 0);
	assert_int_equal(tok_signer_new_local(dir, &s), 0);
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0 + 10, k2, sizeof(k2)), 0);
	assert_false(jwks_has(s, T0 + 10, k2));
	assert_int_equal(tok_signer_reload(s), 0);
	assert_true(jwks_has(s, T0 + 10, k2));
	tok_signer_free(&s);
}

static void
roundtrip(enum tok_alg alg, const char *typ, int want)
{
	char dir[128];
	tok_signer *s = NULL;
	pep_verifier *v;
	json_t *c = claims_at(T0), *out = NULL;
	char *tok = NULL;

	newdir(dir, sizeof(dir));
	assert_int_equal(tok_keystore_rotate(dir, alg, AHEAD, LIFE, T0, NULL,
	    0), 0);
	assert_int_equal(tok_signer_new_local(dir, &s), 0);
	assert_int_equal(tok_jwt_sign_at(s, typ, c, T0, &tok), 0);
	assert_true(strlen(tok) <= TOK_JWT_MAX_LEN);
	v = verifier_from(s, T0);
	assert_int_equal(pep_verify(v, tok, strlen(tok), T0 + 1, &out), want);
	if (want == PEP_OK)
		assert_true(json_equal(out, c));
	json_decref(out);
	json_decref(c);
	free(tok);
	pep_verifier_free(&v);
	tok_signer_free(&s);
}

static void
test_tok_jwt_roundtrip_es256(void **state)
{
	(void)state;
	roundtrip(TOK_ALG_ES256, "at+jwt", PEP_OK);
}

static void
test_tok_jwt_roundtrip_eddsa(void **state)
{
	(void)state;
	roundtrip(TOK_ALG_EDDSA, "at+jwt", PEP_OK);
}

static void
test_tok_jwt_roundtrip_ps256(void **state)
{
	(void)state;
	roundtrip(TOK_ALG_PS256, "at+jwt", PEP_OK);
}

static void
test_tok_jwt_roundtrip_rs256(void **state)
{
	(void)state;
	roundtrip(TOK_ALG_RS256, "at+jwt", PEP_OK);
}

static void
test_tok_jwt_typ_jwt_is_not_an_access_token(void **state)
{
	(void)state;
	roundtrip(TOK_ALG_ES256, "JWT", PEP_ERR_TYP);
}

static void
test_tok_jwt_bad_arguments_refused(void **state)
{
	char dir[128];
	tok_signer *s = NULL;
	json_t *arr = json_array(), *c = claims_at(T0);
	char *tok = (char *)0x1;

	(void)state;
	newdir(dir, sizeof(dir));
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0, NULL, 0), 0);
	assert_int_equal(tok_signer_new_local(dir, &s), 0);
	assert_int_equal(tok_jwt_sign_at(s, "at+jwt", arr, T0, &tok),
	    CM_ERR_INVAL);
	assert_null(tok);
	assert_int_equal(tok_jwt_sign_at(s, "at jwt", c, T0, &tok),
	    CM_ERR_INVAL);
	assert_int_equal(tok_jwt_sign_at(s, "", c, T0, &tok), CM_ERR_INVAL);
	/* before the first key exists nothing signs */
	assert_int_equal(tok_jwt_sign_at(s, "at+jwt", c, T0 - 1, &tok),
	    CM_ERR_NOTFOUND);
	assert_null(tok);
	json_decref(arr);
	json_decref(c);
	tok_signer_free(&s);
}

static void
test_tok_keystore_open_pem_refused(void **state)
{
	char dir[128], kid[64], path[256];
	tok_keystore *ks = NULL;

	(void)state;
	newdir(dir, sizeof(dir));
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0, kid, sizeof(kid)), 0);
	snprintf(path, sizeof(path), "%s/%s.pem", dir, kid);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(tok_keystore_load(dir, &ks), CM_ERR_POLICY);
	assert_null(ks);
}

static void
test_tok_keystore_writable_dir_refused(void **state)
{
	char dir[128];
	tok_keystore *ks = NULL;

	(void)state;
	newdir(dir, sizeof(dir));
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0, NULL, 0), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(tok_keystore_load(dir, &ks), CM_ERR_POLICY);
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0 + 1, NULL, 0), CM_ERR_POLICY);
	assert_int_equal(chmod(dir, 0700), 0);
}

static void
test_tok_keystore_swapped_pem_refused(void **state)
{
	char dir[128], k1[64], k2[64], p1[256], p2[256];
	tok_keystore *ks = NULL;

	(void)state;
	newdir(dir, sizeof(dir));
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0, k1, sizeof(k1)), 0);
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, AHEAD, LIFE,
	    T0 + 1, k2, sizeof(k2)), 0);
	/* the file named k1 now holds k2's key: kid != thumbprint */
	snprintf(p1, sizeof(p1), "%s/%s.pem", dir, k1);
	snprintf(p2, sizeof(p2), "%s/%s.pem", dir, k2);
	assert_int_equal(rename(p2, p1), 0);
	assert_int_equal(tok_keystore_load(dir, &ks), CM_ERR_INVAL);
	assert_null(ks);
}

static void
test_tok_keystore_missing_dir_or_state(void **state)
{
	char dir[128];
	tok_keystore *ks = NULL;

	(void)state;
	newdir(dir, sizeof(dir));
	assert_int_equal(tok_keystore_load(dir, &ks), CM_ERR_NOTFOUND);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(tok_keystore_load(dir, &ks), CM_ERR_NOTFOUND);
	assert_null(ks);
}

static void
test_tok_keystore_bad_state_refused(void **state)
{
	static const char *const bad[] = {
		"{\"version\":2,\"keys\":[]}",
		"{\"version\":1,\"keys\":[],\"extra\":1}",
		"{\"version\":1,\"keys\":[{\"kid\":\"../../etc/passwd\","
		"\"alg\":\"ES256\",\"created\":1,\"not_before\":1,"
		"\"retire_at\":null,\"remove_at\":null}]}",
		"{\"version\":1,\"keys\":[],\"keys\":[]}",
	};
	char dir[128], path[256];
	tok_keystore *ks = NULL;
	FILE *f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		newdir(dir, sizeof(dir));
		assert_int_equal(mkdir(dir, 0700), 0);
		snprintf(path, sizeof(path), "%s/keys.json", dir);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(bad[i], f);
		fclose(f);
		assert_int_equal(tok_keystore_load(dir, &ks), CM_ERR_INVAL);
		assert_null(ks);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tok_keystore_first_key_signs_at_once),
		cmocka_unit_test(test_tok_keystore_rotation_lifecycle),
		cmocka_unit_test(test_tok_keystore_reload_sees_rotation),
		cmocka_unit_test(test_tok_jwt_roundtrip_es256),
		cmocka_unit_test(test_tok_jwt_roundtrip_eddsa),
		cmocka_unit_test(test_tok_jwt_roundtrip_ps256),
		cmocka_unit_test(test_tok_jwt_roundtrip_rs256),
		cmocka_unit_test(test_tok_jwt_typ_jwt_is_not_an_access_token),
		cmocka_unit_test(test_tok_jwt_bad_arguments_refused),
		cmocka_unit_test(test_tok_keystore_open_pem_refused),
		cmocka_unit_test(test_tok_keystore_writable_dir_refused),
		cmocka_unit_test(test_tok_keystore_swapped_pem_refused),
		cmocka_unit_test(test_tok_keystore_missing_dir_or_state),
		cmocka_unit_test(test_tok_keystore_bad_state_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests for fido/ authentication (WebAuthn L2 §7.2): happy paths
 * after none / packed self / packed full registrations with ES256, EdDSA
 * and RS256 keys, passkey (usernameless) and second-factor logins, and
 * one named test per rejection, the signature counter included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/cm.h"
#include "fido/fido.h"
#include "tests/support/wa_softauth.h"

#define SESSION		"session-0123456789"
static const uint8_t ALICE[] = "alice-user-handle";
static const uint8_t BOB[] = "bob-user-handle";
#define ALICE_LEN	(sizeof(ALICE) - 1)
#define BOB_LEN		(sizeof(BOB) - 1)

struct fx {
	wa_rp_t			*rp;
	struct wa_sa		*sa;
	struct wa_sa_pki	*pki;
	wa_challenge_t		*ch;
	struct wa_sa_out	 out;
	wa_cred_t		*cred;
	struct wa_auth_res	 res;
};

/* An RP, an authenticator, and a registered credential for alice. */
static struct fx *
fx_new(int alg, enum wa_sa_att att)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct wa_reg_req req;
	size_t len = 0;
	char *pem;

	assert_non_null(f);
	assert_non_null(f->rp = wa_rp_new());
	assert_int_equal(wa_rp_set_id(f->rp, "example.org"), 0);
	assert_int_equal(wa_rp_add_origin(f->rp, "https://example.org"), 0);
	assert_non_null(f->sa = wa_sa_new(alg));
	f->sa->att = att;
	if (att == WA_SA_ATT_FULL) {
		assert_non_null(f->pki = wa_sa_pki_new(NULL));
		f->sa->pki = f->pki;
		assert_non_null(pem = wa_sa_cert_pem(f->pki->root, &len));
		assert_int_equal(wa_rp_add_root_pem(f->rp, (uint8_t *)pem,
		    len), 0);
		free(pem);
	}
	assert_int_equal(wa_rp_add_aaguid(f->rp, f->sa->aaguid), 0);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_REGISTER, ALICE,
	    ALICE_LEN, SESSION, 0, &f->ch), 0);
	assert_int_equal(wa_sa_make_credential(f->sa, wa_challenge_ptr(f->ch),
	    WA_CHALLENGE_LEN, ALICE, ALICE_LEN, &f->out), 0);
	memset(&req, 0, sizeof(req));
	req.clientdata = f->out.clientdata;
	req.clientdata_len = f->out.clientdata_len;
	req.attobj = f->out.attobj;
	req.attobj_len = f->out.attobj_len;
	assert_int_equal(wa_reg_verify(f->rp, f->ch, SESSION, &req, &f->cred),
	    0);
	wa_challenge_free(&f->ch);
	wa_sa_out_clear(&f->out);
	return f;
}

static void
fx_free(struct fx *f)
{
	wa_cred_free(&f->cred);
	wa_challenge_free(&f->ch);
	wa_sa_out_clear(&f->out);
	wa_sa_free(&f->sa);
	wa_sa_pki_free(&f->pki);
	wa_rp_free(&f->rp);
	free(f);
}

/* A new authentication challenge (user NULL: usernameless) and an
 * assertion over it. */
static void
fx_get(struct fx *f, const uint8_t *user, size_t user_len)
{
	wa_challenge_free(&f->ch);
	wa_sa_out_clear(&f->out);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_AUTHENTICATE, user,
	    user_len, SESSION, 0, &f->ch), 0);
	assert_int_equal(wa_sa_get_assertion(f->sa, wa_challenge_ptr(f->ch),
	    WA_CHALLENGE_LEN, &f->out), 0);
}

static int
fx_verify(struct fx *f, int flags)
{
	struct wa_auth_req req;

	memset(&req, 0, sizeof(req));
	req.cred_id = f->sa->cred_id;
	req.cred_id_len = f->sa->cred_id_len;
	req.clientdata = f->out.clientdata;
	req.clientdata_len = f->out.clientdata_len;
	req.authdata = f->out.authdata;
	req.authdata_len = f->out.authdata_len;
	req.sig = f->out.sig;
	req.sig_len = f->out.sig_len;
	req.user_handle = f->out.user_handle;
	req.user_handle_len = f->out.user_handle_len;
	req.flags = flags;
	return wa_auth_verify(f->rp, f->ch, SESSION, &req, f->cred, &f->res);
}

static void
expect_auth_ok(int alg, enum wa_sa_att att)
{
	struct fx *f = fx_new(alg, att);
	int i;

	/* second factor: alice identified first, allowCredentials given */
	for (i = 0; i < 3; i++) {
		fx_get(f, ALICE, ALICE_LEN);
		assert_int_equal(wa_challenge_add_allow(f->ch, f->sa->cred_id,
		    f->sa->cred_id_len), 0);
		assert_int_equal(fx_verify(f, WA_F_REQUIRE_UV), 0);
		assert_int_equal(f->res.sign_count, (uint32_t)i + 1);
		assert_int_equal(f->res.up, 1);
		assert_int_equal(f->res.uv, 1);
		assert_int_equal(wa_cred_update(f->cred, &f->res), 0);
		assert_int_equal(wa_cred_sign_count(f->cred), (uint32_t)i + 1);
	}
	/* passkey: usernameless, userHandle names alice */
	fx_get(f, NULL, 0);
	assert_int_equal(fx_verify(f, 0), 0);
	fx_free(f);
}

static void test_wa_auth_none_es256_ok(void **s) { (void)s;
	expect_auth_ok(WA_SA_ES256, WA_SA_ATT_NONE); }
static void test_wa_auth_none_eddsa_ok(void **s) { (void)s;
	expect_auth_ok(WA_SA_EDDSA, WA_SA_ATT_NONE); }
static void test_wa_auth_self_es256_ok(void **s) { (void)s;
	expect_auth_ok(WA_SA_ES256, WA_SA_ATT_SELF); }
static void test_wa_auth_self_eddsa_ok(void **s) { (void)s;
	expect_auth_ok(WA_SA_EDDSA, WA_SA_ATT_SELF); }
static void test_wa_auth_full_es256_ok(void **s) { (void)s;
	expect_auth_ok(WA_SA_ES256, WA_SA_ATT_FULL); }
static void test_wa_auth_full_eddsa_ok(void **s) { (void)s;
	expect_auth_ok(WA_SA_EDDSA, WA_SA_ATT_FULL); }
static void test_wa_auth_self_rs256_ok(void **s) { (void)s;
	expect_auth_ok(WA_SA_RS256, WA_SA_ATT_SELF); }

static void
test_wa_auth_aal3_hardware_ok(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	assert_int_equal(fx_verify(f, WA_F_REQUIRE_HARDWARE), 0);
	fx_free(f);
}

static void
test_wa_auth_after_record_roundtrip_ok(void **state)
{
	struct fx *f = fx_new(WA_SA_EDDSA, WA_SA_ATT_FULL);
	wa_cred_t *c = NULL;
	char *json = NULL;

	(void)state;
	assert_int_equal(wa_cred_to_json(f->cred, &json), 0);
	assert_int_equal(wa_cred_from_json(json, strlen(json), &c), 0);
	wa_cred_free(&f->cred);
	f->cred = c;
	fx_get(f, ALICE, ALICE_LEN);
	assert_int_equal(fx_verify(f, WA_F_REQUIRE_HARDWARE), 0);
	free(json);
	fx_free(f);
}

static void
test_wa_auth_zero_counters_ok(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	/* an authenticator without a counter: both zero, no clone signal */
	f->sa->counter_step = 0;
	fx_get(f, ALICE, ALICE_LEN);
	assert_int_equal(fx_verify(f, 0), 0);
	assert_int_equal(f->res.sign_count, 0);
	fx_free(f);
}

/* --- one test per rejection --- */
static void
expect_reject(struct fx *f, int flags, int err)
{
	int r = fx_verify(f, flags);

	if (r != err)
		print_error("got %d (%s), want %d (%s)\n", r, wa_strerror(r),
		    err, wa_strerror(err));
	assert_int_equal(r, err);
	assert_int_equal(f->res.sign_count, 0);
	fx_free(f);
}

static void
test_wa_auth_sign_count_regression_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);		/* counter 1 */
	assert_int_equal(fx_verify(f, 0), 0);
	assert_int_equal(wa_cred_update(f->cred, &f->res), 0);
	f->sa->counter = 0;			/* a clone that is behind */
	fx_get(f, ALICE, ALICE_LEN);		/* counter 1 again */
	expect_reject(f, 0, WA_ERR_SIGN_COUNT);
}

static void
test_wa_auth_sign_count_lower_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	f->sa->counter = 100;
	fx_get(f, ALICE, ALICE_LEN);
	assert_int_equal(fx_verify(f, 0), 0);
	assert_int_equal(wa_cred_update(f->cred, &f->res), 0);
	f->sa->counter = 50;
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, 0, WA_ERR_SIGN_COUNT);
}

static void
test_wa_auth_sign_count_stuck_at_zero_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);		/* counter 1 */
	assert_int_equal(fx_verify(f, 0), 0);
	assert_int_equal(wa_cred_update(f->cred, &f->res), 0);
	f->sa->counter = 0;
	f->sa->counter_step = 0;		/* now reports 0 */
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, 0, WA_ERR_SIGN_COUNT);
}

static void
test_wa_auth_wrong_origin_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	snprintf(f->sa->origin, sizeof(f->sa->origin), "https://evil.test");
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, 0, WA_ERR_ORIGIN);
}

static void
test_wa_auth_wrong_rp_id_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	snprintf(f->sa->rp_id, sizeof(f->sa->rp_id), "evil.test");
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, 0, WA_ERR_RP_ID_HASH);
}

static void
test_wa_auth_wrong_type_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	f->sa->type = "webauthn.create";
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, 0, WA_ERR_CLIENTDATA_TYPE);
}

static void
test_wa_auth_challenge_reused_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	assert_int_equal(fx_verify(f, 0), 0);
	expect_reject(f, 0, WA_ERR_CHALLENGE_USED);
}

static void
test_wa_auth_challenge_expired_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);
	wa_challenge_t *old = NULL;
	json_t *o;
	char *s = NULL, *t;

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	assert_int_equal(wa_challenge_serialize(f->ch, &s), 0);
	assert_non_null(o = json_loads(s, 0, NULL));
	assert_int_equal(json_object_set_new(o, "exp",
	    json_integer(cm_time() - 60)), 0);
	assert_non_null(t = json_dumps(o, JSON_COMPACT));
	assert_int_equal(wa_challenge_parse(t, strlen(t), &old), 0);
	wa_challenge_free(&f->ch);
	f->ch = old;
	free(s);
	free(t);
	json_decref(o);
	expect_reject(f, 0, WA_ERR_CHALLENGE_EXPIRED);
}

static void
test_wa_auth_registration_challenge_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	wa_challenge_free(&f->ch);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_REGISTER, ALICE,
	    ALICE_LEN, SESSION, 0, &f->ch), 0);
	expect_reject(f, 0, WA_ERR_CHALLENGE_PURPOSE);
}

static void
test_wa_auth_uv_missing_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	f->sa->flags = WA_SA_UP;
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, WA_F_REQUIRE_UV, WA_ERR_UV_MISSING);
}

static void
test_wa_auth_up_missing_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	f->sa->flags = WA_SA_UV;
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, 0, WA_ERR_UP_MISSING);
}

static void
test_wa_auth_be_changed_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	f->sa->flags |= WA_SA_BE;
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, 0, WA_ERR_BE_CHANGED);
}

static void
test_wa_auth_bad_signature_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_EDDSA, WA_SA_ATT_NONE);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	f->out.sig[5] ^= 0x40;
	expect_reject(f, 0, WA_ERR_SIG);
}

static void
test_wa_auth_signed_by_other_key_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	EVP_PKEY_free(f->sa->key);
	assert_non_null(f->sa->key = wa_sa_key_new(WA_SA_ES256));
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, 0, WA_ERR_SIG);
}

static void
test_wa_auth_authdata_tampered_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	f->out.authdata[36] ^= 0x80;	/* the counter, after signing */
	expect_reject(f, 0, WA_ERR_SIG);
}

static void
test_wa_auth_authdata_trailing_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);
	uint8_t *b;

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	assert_non_null(b = realloc(f->out.authdata, f->out.authdata_len + 1));
	b[f->out.authdata_len++] = 0;
	f->out.authdata = b;
	expect_reject(f, 0, WA_ERR_AUTHDATA_MALFORMED);
}

static void
test_wa_auth_attested_data_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	f->out.authdata[32] |= 0x40;	/* AT in an assertion */
	expect_reject(f, 0, WA_ERR_FLAGS);
}

static void
test_wa_auth_user_handle_mismatch_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	/* passkey login: the authenticator answers for bob */
	memcpy(f->sa->user, BOB, BOB_LEN);
	f->sa->user_len = BOB_LEN;
	fx_get(f, NULL, 0);
	expect_reject(f, 0, WA_ERR_USER_MISMATCH);
}

static void
test_wa_auth_other_users_credential_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	/* bob identified first, alice's credential presented */
	f->sa->omit_user_handle = 1;
	fx_get(f, BOB, BOB_LEN);
	expect_reject(f, 0, WA_ERR_USER_MISMATCH);
}

static void
test_wa_auth_passkey_user_handle_missing_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	f->sa->omit_user_handle = 1;
	fx_get(f, NULL, 0);
	expect_reject(f, 0, WA_ERR_USER_HANDLE_MISSING);
}

static void
test_wa_auth_second_factor_without_user_handle_ok(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	f->sa->omit_user_handle = 1;	/* U2F-style keys return none */
	fx_get(f, ALICE, ALICE_LEN);
	assert_int_equal(fx_verify(f, 0), 0);
	fx_free(f);
}

static void
test_wa_auth_cred_not_in_allow_list_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);
	const uint8_t other[16] = { 1, 2, 3 };

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	assert_int_equal(wa_challenge_add_allow(f->ch, other, sizeof(other)),
	    0);
	expect_reject(f, 0, WA_ERR_CRED_NOT_ALLOWED);
}

static void
test_wa_auth_cred_id_mismatch_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	f->sa->cred_id[0] ^= 1;		/* rawId is not the record's */
	expect_reject(f, 0, WA_ERR_CRED_MISMATCH);
}

static void
test_wa_auth_not_hardware_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_SELF);

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, WA_F_REQUIRE_HARDWARE, WA_ERR_CRED_NOT_HARDWARE);
}

static void
test_wa_auth_aal3_uv_missing_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL);

	(void)state;
	f->sa->flags = WA_SA_UP;
	fx_get(f, ALICE, ALICE_LEN);
	expect_reject(f, WA_F_REQUIRE_HARDWARE, WA_ERR_UV_MISSING);
}

static void
test_wa_auth_other_session_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE);
	struct wa_auth_req req;

	(void)state;
	fx_get(f, ALICE, ALICE_LEN);
	memset(&req, 0, sizeof(req));
	req.cred_id = f->sa->cred_id;
	req.cred_id_len = f->sa->cred_id_len;
	req.clientdata = f->out.clientdata;
	req.clientdata_len = f->out.clientdata_len;
	req.authdata = f->out.authdata;
	req.authdata_len = f->out.authdata_len;
	req.sig = f->out.sig;
	req.sig_len = f->out.sig_len;
	assert_int_equal(wa_auth_verify(f->rp, f->ch, "another-session", &req,
	    f->cred, &f->res), WA_ERR_CHALLENGE_BINDING);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wa_auth_none_es256_ok),
		cmocka_unit_test(test_wa_auth_none_eddsa_ok),
		cmocka_unit_test(test_wa_auth_self_es256_ok),
		cmocka_unit_test(test_wa_auth_self_eddsa_ok),
		cmocka_unit_test(test_wa_auth_full_es256_ok),
		cmocka_unit_test(test_wa_auth_full_eddsa_ok),
		cmocka_unit_test(test_wa_auth_self_rs256_ok),
		cmocka_unit_test(test_wa_auth_aal3_hardware_ok),
		cmocka_unit_test(test_wa_auth_after_record_roundtrip_ok),
		cmocka_unit_test(test_wa_auth_zero_counters_ok),
		cmocka_unit_test(test_wa_auth_sign_count_regression_rejected),
		cmocka_unit_test(test_wa_auth_sign_count_lower_rejected),
		cmocka_unit_test(test_wa_auth_sign_count_stuck_at_zero_rejected),
		cmocka_unit_test(test_wa_auth_wrong_origin_rejected),
		cmocka_unit_test(test_wa_auth_wrong_rp_id_rejected),
		cmocka_unit_test(test_wa_auth_wrong_type_rejected),
		cmocka_unit_test(test_wa_auth_challenge_reused_rejected),
		cmocka_unit_test(test_wa_auth_challenge_expired_rejected),
		cmocka_unit_test(test_wa_auth_registration_challenge_rejected),
		cmocka_unit_test(test_wa_auth_uv_missing_rejected),
		cmocka_unit_test(test_wa_auth_up_missing_rejected),
		cmocka_unit_test(test_wa_auth_be_changed_rejected),
		cmocka_unit_test(test_wa_auth_bad_signature_rejected),
		cmocka_unit_test(test_wa_auth_signed_by_other_key_rejected),
		cmocka_unit_test(test_wa_auth_authdata_tampered_rejected),
		cmocka_unit_test(test_wa_auth_authdata_trailing_rejected),
		cmocka_unit_test(test_wa_auth_attested_data_rejected),
		cmocka_unit_test(test_wa_auth_user_handle_mismatch_rejected),
		cmocka_unit_test(test_wa_auth_other_users_credential_rejected),
		cmocka_unit_test(test_wa_auth_passkey_user_handle_missing_rejected),
		cmocka_unit_test(test_wa_auth_second_factor_without_user_handle_ok),
		cmocka_unit_test(test_wa_auth_cred_not_in_allow_list_rejected),
		cmocka_unit_test(test_wa_auth_cred_id_mismatch_rejected),
		cmocka_unit_test(test_wa_auth_not_hardware_rejected),
		cmocka_unit_test(test_wa_auth_aal3_uv_missing_rejected),
		cmocka_unit_test(test_wa_auth_other_session_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for fido/ stored forms: credential record JSON (round trip,
 * strict parsing), challenge serialisation, AAGUID text, error names. */
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

#define SESSION		"session-rec"
static const uint8_t USER[] = "dave";

static wa_cred_t *
registered(int alg, int transports)
{
	wa_rp_t *rp = wa_rp_new();
	struct wa_sa *sa = wa_sa_new(alg);
	wa_challenge_t *ch = NULL;
	struct wa_sa_out out;
	struct wa_reg_req req;
	const char *tr[] = { "usb", "internal" };
	wa_cred_t *c = NULL;

	assert_int_equal(wa_rp_set_id(rp, "example.org"), 0);
	assert_int_equal(wa_rp_add_origin(rp, "https://example.org"), 0);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_REGISTER, USER, 4,
	    SESSION, 60, &ch), 0);
	assert_int_equal(wa_sa_make_credential(sa, wa_challenge_ptr(ch), 32,
	    USER, 4, &out), 0);
	memset(&req, 0, sizeof(req));
	req.clientdata = out.clientdata;
	req.clientdata_len = out.clientdata_len;
	req.attobj = out.attobj;
	req.attobj_len = out.attobj_len;
	req.transports = tr;
	req.ntransports = transports ? 2 : 0;
	assert_int_equal(wa_reg_verify(rp, ch, SESSION, &req, &c), 0);
	wa_sa_out_clear(&out);
	wa_challenge_free(&ch);
	wa_sa_free(&sa);
	wa_rp_free(&rp);
	return c;
}

static void
test_wa_cred_json_roundtrip(void **state)
{
	int algs[] = { WA_SA_ES256, WA_SA_EDDSA, WA_SA_RS256 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		wa_cred_t *a = registered(algs[i], 1), *b = NULL;
		char *ja = NULL, *jb = NULL;

		assert_int_equal(wa_cred_to_json(a, &ja), 0);
		assert_int_equal(wa_cred_from_json(ja, strlen(ja), &b), 0);
		assert_int_equal(wa_cred_to_json(b, &jb), 0);
		assert_string_equal(ja, jb);
		assert_int_equal(wa_cred_alg(b), algs[i]);
		assert_int_equal(wa_cred_transports(b),
		    WA_TR_USB | WA_TR_INTERNAL);
		assert_int_equal(wa_cred_pubkey_len(a), wa_cred_pubkey_len(b));
		assert_memory_equal(wa_cred_pubkey_ptr(a),
		    wa_cred_pubkey_ptr(b), wa_cred_pubkey_len(a));
		free(ja);
		free(jb);
		wa_cred_free(&a);
		wa_cred_free(&b);
		assert_null(a);
	}
}

/* Modify one member of a valid record and expect a rejection. */
static void
expect_record_rejected(const char *member, json_t *value)
{
	wa_cred_t *a = registered(WA_SA_ES256, 0), *b = NULL;
	char *ja = NULL, *jb;
	json_t *o;

	assert_int_equal(wa_cred_to_json(a, &ja), 0);
	assert_non_null(o = json_loads(ja, 0, NULL));
	if (value == NULL)
		assert_int_equal(json_object_del(o, member), 0);
	else
		assert_int_equal(json_object_set_new(o, member, value), 0);
	assert_non_null(jb = json_dumps(o, JSON_COMPACT));
	assert_int_equal(wa_cred_from_json(jb, strlen(jb), &b),
	    WA_ERR_RECORD_MALFORMED);
	assert_null(b);
	json_decref(o);
	free(ja);
	free(jb);
	wa_cred_free(&a);
}

static void test_wa_cred_json_unknown_member_rejected(void **s) { (void)s;
	expect_record_rejected("extra", json_true()); }
static void test_wa_cred_json_missing_member_rejected(void **s) { (void)s;
	expect_record_rejected("pk", NULL); }
static void test_wa_cred_json_alg_mismatch_rejected(void **s) { (void)s;
	expect_record_rejected("alg", json_integer(-8)); }
static void test_wa_cred_json_bad_key_rejected(void **s) { (void)s;
	expect_record_rejected("pk", json_string("pQECAyYgASFYIA")); }
static void test_wa_cred_json_bad_aaguid_rejected(void **s) { (void)s;
	expect_record_rejected("aaguid", json_string("not-a-uuid")); }
static void test_wa_cred_json_bad_counter_rejected(void **s) { (void)s;
	expect_record_rejected("sc", json_integer(4294967296LL)); }
static void test_wa_cred_json_bad_trust_rejected(void **s) { (void)s;
	expect_record_rejected("trust", json_string("trusted")); }
static void test_wa_cred_json_hardware_none_rejected(void **s) { (void)s;
	expect_record_rejected("trust", json_string("trusted_hardware")); }
static void test_wa_cred_json_bs_without_be_rejected(void **s) { (void)s;
	expect_record_rejected("bs", json_true()); }
static void test_wa_cred_json_bad_transport_rejected(void **s) { (void)s;
	expect_record_rejected("tr", json_pack("[s]", "carrier-pigeon")); }
static void test_wa_cred_json_long_id_rejected(void **s) { (void)s;
	char id[1400];
	memset(id, 'A', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	expect_record_rejected("id", json_string(id)); }

static void
test_wa_cred_json_duplicate_member_rejected(void **state)
{
	wa_cred_t *a = registered(WA_SA_ES256, 0), *b = NULL;
	char *ja = NULL, *jb;
	size_t n;

	(void)state;
	assert_int_equal(wa_cred_to_json(a, &ja), 0);
	n = strlen(ja);
	assert_non_null(jb = malloc(n + 16));
	/* {"aaguid":...,"sc":7} -> append a second "sc" */
	memcpy(jb, ja, n - 1);
	memcpy(jb + n - 1, ",\"sc\":0}", 9);
	assert_int_equal(wa_cred_from_json(jb, strlen(jb), &b),
	    WA_ERR_RECORD_MALFORMED);
	free(ja);
	free(jb);
	wa_cred_free(&a);
}

static void
test_wa_cred_update_rules(void **state)
{
	wa_cred_t *c = registered(WA_SA_ES256, 0);
	struct wa_auth_res res;

	(void)state;
	memset(&res, 0, sizeof(res));
	res.sign_count = 5;
	res.bs = 0;
	assert_int_equal(wa_cred_update(c, &res), 0);
	assert_int_equal(wa_cred_sign_count(c), 5);
	assert_int_equal(wa_cred_update(c, &res), WA_ERR_SIGN_COUNT);
	res.sign_count = 6;
	res.be = 1;
	assert_int_equal(wa_cred_update(c, &res), WA_ERR_BE_CHANGED);
	assert_int_equal(wa_cred_sign_count(c), 5);
	wa_cred_free(&c);
}

static void
test_wa_challenge_roundtrip(void **state)
{
	wa_challenge_t *a = NULL, *b = NULL;
	const uint8_t id1[] = { 1, 2, 3 }, id2[] = { 4, 5 };
	char *sa = NULL, *sb = NULL, *b64 = NULL;

	(void)state;
	assert_int_equal(wa_challenge_new(WA_PURPOSE_AUTHENTICATE, NULL, 0,
	    SESSION, 120, &a), 0);
	assert_int_equal(wa_challenge_add_allow(a, id1, sizeof(id1)), 0);
	assert_int_equal(wa_challenge_add_allow(a, id2, sizeof(id2)), 0);
	assert_int_equal(wa_challenge_serialize(a, &sa), 0);
	assert_int_equal(wa_challenge_parse(sa, strlen(sa), &b), 0);
	assert_int_equal(wa_challenge_serialize(b, &sb), 0);
	assert_string_equal(sa, sb);
	assert_memory_equal(wa_challenge_ptr(a), wa_challenge_ptr(b), 32);
	assert_int_equal(wa_challenge_expires(a), wa_challenge_expires(b));
	assert_false(wa_challenge_consumed(b));
	assert_int_equal(wa_challenge_b64url(a, &b64), 0);
	assert_int_equal(strlen(b64), 43);
	/* the session is stored as a hash only */
	assert_null(strstr(sa, SESSION));
	free(sa);
	free(sb);
	free(b64);
	wa_challenge_free(&a);
	wa_challenge_free(&b);
	assert_null(a);
}

static void
test_wa_challenge_new_rejected(void **state)
{
	wa_challenge_t *c = (wa_challenge_t *)1;
	uint8_t big[65] = { 0 };

	(void)state;
	/* registration must name the user */
	assert_int_equal(wa_challenge_new(WA_PURPOSE_REGISTER, NULL, 0,
	    SESSION, 0, &c), CM_ERR_INVAL);
	assert_null(c);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_AUTHENTICATE, big,
	    sizeof(big), SESSION, 0, &c), CM_ERR_INVAL);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_AUTHENTICATE, NULL, 0,
	    SESSION, WA_CHALLENGE_MAX_TTL + 1, &c), CM_ERR_RANGE);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_AUTHENTICATE, NULL, 0,
	    "", 0, &c), CM_ERR_INVAL);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_AUTHENTICATE, NULL, 0,
	    NULL, 0, &c), CM_ERR_INVAL);
	assert_int_equal(wa_challenge_new((enum wa_purpose)7, NULL, 0,
	    SESSION, 0, &c), CM_ERR_INVAL);
}

static void
test_wa_challenge_parse_rejected(void **state)
{
	static const char *bad[] = {
		"", "{}", "[]", "{\"v\":1}",
		"{\"c\":\"AAAA\",\"exp\":1,\"p\":\"auth\",\"s\":\"AAAA\","
		    "\"used\":false,\"v\":1}",
		"{\"c\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		    "\"exp\":1,\"p\":\"reg\",\"s\":\"AAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAA\",\"used\":false,\"v\":1}",
		"{\"c\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		    "\"exp\":1,\"p\":\"auth\",\"s\":\"AAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAA\",\"used\":false,\"v\":1,\"x\":1}",
		"{\"c\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		    "\"exp\":1,\"p\":\"auth\",\"s\":\"AAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAA\",\"used\":false,\"v\":2}",
	};
	wa_challenge_t *c = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(wa_challenge_parse(bad[i], strlen(bad[i]), &c),
		    WA_ERR_CHALLENGE_MALFORMED);
		assert_null(c);
	}
}

static void
test_wa_aaguid_text(void **state)
{
	const uint8_t a[16] = { 0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40,
	    0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8 };
	uint8_t b[16];
	char s[37];

	(void)state;
	wa_aaguid_format(a, s);
	assert_string_equal(s, "cb69481e-8ff7-4039-93ec-0a2729a154a8");
	assert_int_equal(wa_aaguid_parse(s, 36, b), 0);
	assert_memory_equal(a, b, 16);
	assert_int_equal(wa_aaguid_parse("cb69481e8ff7-4039-93ec-0a2729a154a8-",
	    36, b), CM_ERR_INVAL);
	assert_int_equal(wa_aaguid_parse("cb69481e-8ff7-4039-93ec-0a2729a154ag",
	    36, b), CM_ERR_INVAL);
}

static void
test_wa_strerror_distinct(void **state)
{
	int a, b;

	(void)state;
	for (a = -301; a >= -356; a--) {
		const char *sa = wa_strerror(a);

		assert_non_null(sa);
		if (strcmp(sa, cm_strerror(a)) == 0)
			continue;	/* an unused number */
		for (b = a - 1; b >= -356; b--)
			assert_string_not_equal(sa, wa_strerror(b));
	}
	assert_string_equal(wa_strerror(WA_ERR_SIGN_COUNT),
	    "signature counter regressed (possible clone)");
	assert_string_equal(wa_trust_name(WA_TRUST_HARDWARE),
	    "trusted_hardware");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wa_cred_json_roundtrip),
		cmocka_unit_test(test_wa_cred_json_unknown_member_rejected),
		cmocka_unit_test(test_wa_cred_json_missing_member_rejected),
		cmocka_unit_test(test_wa_cred_json_alg_mismatch_rejected),
		cmocka_unit_test(test_wa_cred_json_bad_key_rejected),
		cmocka_unit_test(test_wa_cred_json_bad_aaguid_rejected),
		cmocka_unit_test(test_wa_cred_json_bad_counter_rejected),
		cmocka_unit_test(test_wa_cred_json_bad_trust_rejected),
		cmocka_unit_test(test_wa_cred_json_hardware_none_rejected),
		cmocka_unit_test(test_wa_cred_json_bs_without_be_rejected),
		cmocka_unit_test(test_wa_cred_json_bad_transport_rejected),
		cmocka_unit_test(test_wa_cred_json_long_id_rejected),
		cmocka_unit_test(test_wa_cred_json_duplicate_member_rejected),
		cmocka_unit_test(test_wa_cred_update_rules),
		cmocka_unit_test(test_wa_challenge_roundtrip),
		cmocka_unit_test(test_wa_challenge_new_rejected),
		cmocka_unit_test(test_wa_challenge_parse_rejected),
		cmocka_unit_test(test_wa_aaguid_text),
		cmocka_unit_test(test_wa_strerror_distinct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for proofing/: record validation (one named test per
 * rejection), the stored JSON round trip, the keyed hash of document
 * numbers and its key file, verified_claims selection, and the officer
 * rule of idp/proofing.c (idp_proofing_officer_ok). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "idp/idp_int.h"
#include "idp/assurance.h"
#include "proofing/proofing.h"

#define T0	1735689600	/* 2025-01-01 */

static void
person(struct prf_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->id, "prf-20250101000000-0123456789ab");
	r->kind = PRF_KIND_PERSON;
	strcpy(r->subject, "alice");
	r->ial = PRF_IAL2;
	r->method = PRF_M_IN_PERSON;
	r->status = PRF_ST_VALID;
	strcpy(r->officer, "uid:bob");
	r->time = T0;
	r->expires = T0 + 86400 * 365;
	r->nev = 1;
	strcpy(r->ev[0].type, "passport");
	strcpy(r->ev[0].issuer, "MOFA");
	strcpy(r->ev[0].country, "JP");
	strcpy(r->ev[0].number_hash,
	    "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	strcpy(r->ev[0].number_last4, "7890");
	strcpy(r->ev[0].expiry, "2030-01-01");
	strcpy(r->name, "Alice Example");
	strcpy(r->birthdate, "1990-04-01");
}

static void
expect_rec(const struct prf_record *r, int want)
{
	char why[256];

	assert_int_equal(prf_record_check(r, why, sizeof(why)), want);
	if (want != 0)
		assert_true(why[0] != '\0');
}

static void
test_prf_valid_record_round_trip(void **st)
{
	struct prf_record r, back;
	char *s = NULL;

	(void)st;
	person(&r);
	expect_rec(&r, 0);
	assert_int_equal(prf_record_to_json(&r, &s), 0);
	assert_null(strstr(s, "status"));
	assert_int_equal(prf_record_parse((const uint8_t *)s, strlen(s),
	    &back), 0);
	assert_memory_equal(&r, &back, sizeof(r));
	free(s);
}

static void
test_prf_officer_is_subject_rejected(void **st)
{
	struct prf_record r;

	(void)st;
	person(&r);
	strcpy(r.officer, "uid:alice");
	expect_rec(&r, CM_ERR_POLICY);
}

static void
test_prf_ial3_remote_rejected(void **st)
{
	struct prf_record r;

	(void)st;
	person(&r);
	r.ial = PRF_IAL3;
	r.method = PRF_M_REMOTE_DOCUMENT;
	expect_rec(&r, CM_ERR_POLICY);
	r.method = PRF_M_SUPERVISED_REMOTE;
	expect_rec(&r, 0);
}

static void
test_prf_ial2_without_evidence_rejected(void **st)
{
	struct prf_record r;

	(void)st;
	person(&r);
	r.nev = 0;
	expect_rec(&r, CM_ERR_POLICY);
}

static void
test_prf_unknown_document_type_rejected(void **st)
{
	struct prf_record r;

	(void)st;
	person(&r);
	strcpy(r.ev[0].type, "library_card");
	expect_rec(&r, CM_ERR_INVAL);
}

static void
test_prf_bad_country_rejected(void **st)
{
	struct prf_record r;

	(void)st;
	person(&r);
	strcpy(r.ev[0].country, "XX");
	expect_rec(&r, CM_ERR_INVAL);
	strcpy(r.ev[0].country, "jp");
	expect_rec(&r, CM_ERR_INVAL);
}

static void
test_prf_bad_dates_rejected(void **st)
{
	struct prf_record r;

	(void)st;
	person(&r);
	strcpy(r.ev[0].expiry, "2030-02-30");
	expect_rec(&r, CM_ERR_INVAL);
	person(&r);
	strcpy(r.birthdate, "2099-01-01");		/* in the future */
	expect_rec(&r, CM_ERR_INVAL);
	person(&r);
	r.expires = r.time;
	expect_rec(&r, CM_ERR_INVAL);
	assert_int_equal(prf_date_check("2024-02-29"), 0);
	assert_int_not_equal(prf_date_check("2023-02-29"), 0);
	assert_int_not_equal(prf_date_check("2024-2-29"), 0);
}

static void
test_prf_expired_evidence_rejected(void **st)
{
	struct prf_record r;

	(void)st;
	person(&r);
	strcpy(r.ev[0].expiry, "2024-12-30");
	expect_rec(&r, CM_ERR_POLICY);
}

static void
test_prf_parse_rejects_extra_members(void **st)
{
	struct prf_record r;
	char *s = NULL, *p;
	char buf[PRF_JSON_MAX];

	(void)st;
	person(&r);
	assert_int_equal(prf_record_to_json(&r, &s), 0);
	p = strrchr(s, '}');
	*p = '\0';
	snprintf(buf, sizeof(buf), "%s,\"extra\":1}", s);
	assert_int_not_equal(prf_record_parse((const uint8_t *)buf,
	    strlen(buf), &r), 0);
	/* duplicates, embedded NUL, trailing garbage */
	snprintf(buf, sizeof(buf), "%s,\"v\":1}", s);
	assert_int_not_equal(prf_record_parse((const uint8_t *)buf,
	    strlen(buf), &r), 0);
	snprintf(buf, sizeof(buf), "%s}x", s);
	assert_int_not_equal(prf_record_parse((const uint8_t *)buf,
	    strlen(buf), &r), 0);
	assert_int_not_equal(prf_record_parse((const uint8_t *)"{\0}", 3, &r),
	    0);
	free(s);
}

static prf_key *
key_file(const char *text, mode_t mode, int *rc)
{
	char path[] = "/tmp/test_prf_keyXXXXXX";
	prf_key *k = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
	*rc = prf_key_load(path, &k);
	unlink(path);
	return k;
}

static void
test_prf_doc_hash_keyed_and_normalised(void **st)
{
	char h1[PRF_HASH_MAX], h2[PRF_HASH_MAX], h3[PRF_HASH_MAX], l4[5];
	prf_key *k, *k2;
	int rc;

	(void)st;
	k = key_file("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", 0600, &rc);
	assert_int_equal(rc, 0);
	k2 = key_file("HwECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", 0600,
	    &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(prf_doc_hash(k, "passport", "tk-1234 567", 11, h1,
	    l4), 0);
	assert_string_equal(l4, "4567");
	assert_int_equal(prf_doc_hash(k, "passport", "TK1234567", 9, h2, l4),
	    0);
	assert_string_equal(h1, h2);
	assert_null(strstr(h1, "1234567"));
	/* another key, another type: another hash */
	assert_int_equal(prf_doc_hash(k2, "passport", "TK1234567", 9, h3, l4),
	    0);
	assert_string_not_equal(h1, h3);
	assert_int_equal(prf_doc_hash(k, "jp_drivers_license", "TK1234567", 9,
	    h3, l4), 0);
	assert_string_not_equal(h1, h3);
	/* too short, bad characters, unknown type */
	assert_int_not_equal(prf_doc_hash(k, "passport", "12", 2, h3, l4), 0);
	assert_int_not_equal(prf_doc_hash(k, "passport", "12#456", 6, h3, l4),
	    0);
	assert_int_not_equal(prf_doc_hash(k, "card", "123456", 6, h3, l4), 0);
	prf_key_free(&k);
	prf_key_free(&k2);
	assert_null(k);
}

static void
test_prf_key_file_mode_rejected(void **st)
{
	prf_key *k;
	int rc;

	(void)st;
	k = key_file("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", 0644, &rc);
	assert_null(k);
	assert_int_equal(rc, CM_ERR_POLICY);
	k = key_file("AAECAw\n", 0600, &rc);		/* too short */
	assert_null(k);
	assert_int_equal(rc, CM_ERR_INVAL);
}

static void
test_prf_verified_claims_only_requested(void **st)
{
	struct prf_record r;
	json_t *req, *vc = NULL;

	(void)st;
	person(&r);
	req = json_pack("{s:{s:n}, s:{s:n, s:n}}", "verification",
	    "trust_framework", "claims", "birthdate", "nickname");
	assert_int_equal(prf_verified_claims(&r, req, T0, &vc), 0);
	assert_non_null(vc);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    vc, "verification"), "trust_framework")), "nist_800_63A");
	assert_null(json_object_get(json_object_get(vc, "verification"),
	    "evidence"));
	assert_int_equal(json_object_size(json_object_get(vc, "claims")), 1);
	json_decref(vc);
	json_decref(req);
	/* no requested claim available: omitted */
	req = json_pack("{s:{s:n}, s:{s:n}}", "verification",
	    "trust_framework", "claims", "nickname");
	assert_int_equal(prf_verified_claims(&r, req, T0, &vc), 0);
	assert_null(vc);
	json_decref(req);
}

static void
test_prf_verified_claims_unmet_constraint_omits(void **st)
{
	struct prf_record r;
	json_t *req, *vc = NULL;

	(void)st;
	person(&r);
	req = json_pack("{s:{s:{s:s}}, s:{s:n}}", "verification",
	    "assurance_level", "value", "IAL3", "claims", "name");
	assert_int_equal(prf_verified_claims(&r, req, T0, &vc), 0);
	assert_null(vc);
	json_decref(req);
	req = json_pack("{s:{s:{s:i}}, s:{s:n}}", "verification", "time",
	    "max_age", 60, "claims", "name");
	assert_int_equal(prf_verified_claims(&r, req, T0 + 61, &vc), 0);
	assert_null(vc);
	assert_int_equal(prf_verified_claims(&r, req, T0 + 59, &vc), 0);
	assert_non_null(vc);
	json_decref(vc);
	json_decref(req);
}

static void
test_prf_officer_rules(void **st)
{
	(void)st;
	assert_int_equal(idp_proofing_officer_ok(1, IDP_AAL3, 1, "bob",
	    "alice"), CM_E_OK);
	/* below AAL3, or AAL3 without a hardware key */
	assert_int_equal(idp_proofing_officer_ok(1, IDP_AAL2, 1, "bob",
	    "alice"), CM_E_HWK_REQUIRED);
	assert_int_equal(idp_proofing_officer_ok(1, IDP_AAL3, 0, "bob",
	    "alice"), CM_E_HWK_REQUIRED);
	/* not an officer */
	assert_int_equal(idp_proofing_officer_ok(0, IDP_AAL3, 1, "bob",
	    "alice"), CM_E_PRF_OFFICER_ONLY);
	/* never the subject */
	assert_int_equal(idp_proofing_officer_ok(1, IDP_AAL3, 1, "bob",
	    "bob"), CM_E_PRF_SELF);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prf_valid_record_round_trip),
		cmocka_unit_test(test_prf_officer_is_subject_rejected),
		cmocka_unit_test(test_prf_ial3_remote_rejected),
		cmocka_unit_test(test_prf_ial2_without_evidence_rejected),
		cmocka_unit_test(test_prf_unknown_document_type_rejected),
		cmocka_unit_test(test_prf_bad_country_rejected),
		cmocka_unit_test(test_prf_bad_dates_rejected),
		cmocka_unit_test(test_prf_expired_evidence_rejected),
		cmocka_unit_test(test_prf_parse_rejects_extra_members),
		cmocka_unit_test(test_prf_doc_hash_keyed_and_normalised),
		cmocka_unit_test(test_prf_key_file_mode_rejected),
		cmocka_unit_test(test_prf_verified_claims_only_requested),
		cmocka_unit_test(test_prf_verified_claims_unmet_constraint_omits),
		cmocka_unit_test(test_prf_officer_rules),
	};

	if (cm_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

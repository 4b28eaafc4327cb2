/* Unit tests for idp/mfa_aal.c: the level and the amr (RFC 8176) of each
 * factor combination, acr URIs and aliases, level lifetimes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cm.h"
#include "idp/assurance.h"

#define PWD	{ IDP_FACTOR_PASSWORD, 0 }
#define TOTP	{ IDP_FACTOR_TOTP, 0 }
#define RECOV	{ IDP_FACTOR_RECOVERY, 0 }
#define WA(f)	{ IDP_FACTOR_WEBAUTHN, (f) }
#define UP	IDP_FACTOR_UP
#define UV	IDP_FACTOR_UV
#define HW	IDP_FACTOR_HW
#define SYNC	IDP_FACTOR_SYNCED

static void
expect_aal(const struct idp_factor *f, size_t n, enum idp_aal aal,
    const char *amr)
{
	struct idp_assurance a;
	const char *names[IDP_AMR_MAX];
	char got[128] = "";
	size_t i, k;

	assert_int_equal(idp_assurance_compute(f, n, &a), 0);
	k = idp_amr_list(a.amr, names);
	for (i = 0; i < k; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, names[i]);
	}
	if (a.aal != aal || strcmp(got, amr) != 0)
		fail_msg("got %s [%s], want %s [%s]", idp_aal_name(a.aal), got,
		    idp_aal_name(aal), amr);
}

static void
test_aal_no_factor_is_none(void **state)
{
	(void)state;
	expect_aal(NULL, 0, IDP_AAL_NONE, "");
}

static void
test_aal_password_alone_is_aal1(void **state)
{
	const struct idp_factor f[] = { PWD };

	(void)state;
	expect_aal(f, 1, IDP_AAL1, "pwd");
}

static void
test_aal_totp_alone_is_aal1(void **state)
{
	const struct idp_factor f[] = { TOTP };

	(void)state;
	expect_aal(f, 1, IDP_AAL1, "otp");
}

static void
test_aal_password_totp_is_aal2(void **state)
{
	const struct idp_factor f[] = { PWD, TOTP };

	(void)state;
	expect_aal(f, 2, IDP_AAL2, "mfa otp pwd");
}

static void
test_aal_password_recovery_is_aal2(void **state)
{
	const struct idp_factor f[] = { PWD, RECOV };

	(void)state;
	expect_aal(f, 2, IDP_AAL2, "mfa otp pwd");
}

static void
test_aal_totp_recovery_is_aal1(void **state)
{
	/* two "something you have": one factor kind */
	const struct idp_factor f[] = { TOTP, RECOV };

	(void)state;
	expect_aal(f, 2, IDP_AAL1, "otp");
}

static void
test_aal_password_twice_is_aal1(void **state)
{
	const struct idp_factor f[] = { PWD, PWD };

	(void)state;
	expect_aal(f, 2, IDP_AAL1, "pwd");
}

static void
test_aal_hw_key_uv_is_aal3(void **state)
{
	const struct idp_factor f[] = { WA(UP | UV | HW) };

	(void)state;
	expect_aal(f, 1, IDP_AAL3, "hwk mfa user");
}

static void
test_aal_hw_key_without_uv_is_aal1(void **state)
{
	const struct idp_factor f[] = { WA(UP | HW) };

	(void)state;
	expect_aal(f, 1, IDP_AAL1, "hwk user");
}

static void
test_aal_password_hw_key_without_uv_is_aal3(void **state)
{
	const struct idp_factor f[] = { PWD, WA(UP | HW) };

	(void)state;
	expect_aal(f, 2, IDP_AAL3, "hwk mfa pwd user");
}

static void
test_aal_unattested_key_uv_is_aal2(void **state)
{
	const struct idp_factor f[] = { WA(UP | UV) };

	(void)state;
	expect_aal(f, 1, IDP_AAL2, "mfa swk user");
}

static void
test_aal_synced_passkey_is_at_most_aal2(void **state)
{
	/* even with a hardware attestation, a synced key is exportable */
	const struct idp_factor f[] = { WA(UP | UV | HW | SYNC) };
	const struct idp_factor g[] = { PWD, WA(UP | UV | HW | SYNC) };

	(void)state;
	expect_aal(f, 1, IDP_AAL2, "mfa swk user");
	expect_aal(g, 2, IDP_AAL2, "mfa pwd swk user");
}

static void
test_aal_password_software_key_is_aal2(void **state)
{
	const struct idp_factor f[] = { PWD, WA(UP) };

	(void)state;
	expect_aal(f, 2, IDP_AAL2, "mfa pwd swk user");
}

static void
test_aal_unknown_factor_rejected(void **state)
{
	const struct idp_factor f[] = { PWD, { (enum idp_factor_type)99, 0 } };
	struct idp_assurance a;

	(void)state;
	assert_int_equal(idp_assurance_compute(f, 2, &a), CM_ERR_INVAL);
	assert_int_equal(a.aal, IDP_AAL_NONE);
	assert_int_equal(a.amr, 0);
	assert_int_equal(idp_assurance_compute(NULL, 1, &a), CM_ERR_INVAL);
}

static void
test_acr_uris(void **state)
{
	enum idp_aal l;

	(void)state;
	assert_string_equal(idp_aal_acr(IDP_AAL1), "urn:sekimori:acr:aal1");
	assert_string_equal(idp_aal_acr(IDP_AAL2), "urn:sekimori:acr:aal2");
	assert_string_equal(idp_aal_acr(IDP_AAL3), "urn:sekimori:acr:aal3");
	assert_null(idp_aal_acr(IDP_AAL_NONE));
	assert_int_equal(idp_aal_from_acr("urn:sekimori:acr:aal2", 21, &l), 0);
	assert_int_equal(l, IDP_AAL2);
	assert_int_equal(idp_aal_from_acr(
	    "http://idmanagement.gov/ns/assurance/aal/3", 42, &l), 0);
	assert_int_equal(l, IDP_AAL3);
}

static void
test_acr_unknown_rejected(void **state)
{
	enum idp_aal l;

	(void)state;
	assert_int_equal(idp_aal_from_acr("urn:sekimori:acr:aal4", 21, &l),
	    CM_ERR_NOTFOUND);
	assert_int_equal(idp_aal_from_acr("URN:SEKIMORI:ACR:AAL2", 21, &l),
	    CM_ERR_NOTFOUND);
	/* a prefix is not a match */
	assert_int_equal(idp_aal_from_acr("urn:sekimori:acr:aal2", 20, &l),
	    CM_ERR_NOTFOUND);
	assert_int_equal(idp_aal_from_acr("aal2", 4, &l), CM_ERR_NOTFOUND);
}

static void
test_amr_names(void **state)
{
	uint32_t b;

	(void)state;
	assert_string_equal(idp_amr_name(IDP_AMR_HWK), "hwk");
	assert_string_equal(idp_amr_name(IDP_AMR_WIA), "wia");
	assert_null(idp_amr_name(IDP_AMR_HWK | IDP_AMR_OTP));
	assert_null(idp_amr_name(0));
	assert_int_equal(idp_amr_parse("otp", 3, &b), 0);
	assert_int_equal(b, IDP_AMR_OTP);
	assert_int_equal(idp_amr_parse("OTP", 3, &b), CM_ERR_NOTFOUND);
	assert_int_equal(idp_amr_parse("totp", 4, &b), CM_ERR_NOTFOUND);
}

static void
test_aal_lifetimes(void **state)
{
	(void)state;
	assert_true(idp_aal_max_lifetime(IDP_AAL3) == 12 * 3600);
	assert_true(idp_aal_max_lifetime(IDP_AAL2) == 24 * 3600);
	assert_true(idp_aal_max_lifetime(IDP_AAL1) == 30 * 86400);
	assert_int_equal(idp_aal_effective(IDP_AAL3, 0, 12 * 3600), IDP_AAL3);
	assert_int_equal(idp_aal_effective(IDP_AAL3, 0, 12 * 3600 + 1),
	    IDP_AAL2);
	assert_int_equal(idp_aal_effective(IDP_AAL3, 0, 24 * 3600 + 1),
	    IDP_AAL1);
	assert_int_equal(idp_aal_effective(IDP_AAL2, 0, 30 * 86400 + 1),
	    IDP_AAL_NONE);
	assert_int_equal(idp_aal_effective(IDP_AAL_NONE, 0, 1), IDP_AAL_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aal_no_factor_is_none),
		cmocka_unit_test(test_aal_password_alone_is_aal1),
		cmocka_unit_test(test_aal_totp_alone_is_aal1),
		cmocka_unit_test(test_aal_password_totp_is_aal2),
		cmocka_unit_test(test_aal_password_recovery_is_aal2),
		cmocka_unit_test(test_aal_totp_recovery_is_aal1),
		cmocka_unit_test(test_aal_password_twice_is_aal1),
		cmocka_unit_test(test_aal_hw_key_uv_is_aal3),
		cmocka_unit_test(test_aal_hw_key_without_uv_is_aal1),
		cmocka_unit_test(test_aal_password_hw_key_without_uv_is_aal3),
		cmocka_unit_test(test_aal_unattested_key_uv_is_aal2),
		cmocka_unit_test(test_aal_synced_passkey_is_at_most_aal2),
		cmocka_unit_test(test_aal_password_software_key_is_aal2),
		cmocka_unit_test(test_aal_unknown_factor_rejected),
		cmocka_unit_test(test_acr_uris),
		cmocka_unit_test(test_acr_unknown_rejected),
		cmocka_unit_test(test_amr_names),
		cmocka_unit_test(test_aal_lifetimes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

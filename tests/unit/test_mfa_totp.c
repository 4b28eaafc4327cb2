/* Unit tests for idp/totp.c: RFC 6238 and RFC 4226 vectors, codes from the
 * independent oathtool, the ±1 step window, replay refusal, malformed
 * codes, otpauth URIs, QR SVG, and the throttling decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <liboath/oath.h>

#include "common/cm.h"
#include "idp/assurance.h"

/* RFC 6238 Appendix B seeds. */
static const uint8_t seed1[] = "12345678901234567890";
static const uint8_t seed256[] = "12345678901234567890123456789012";
static const uint8_t seed512[] =
    "1234567890123456789012345678901234567890123456789012345678901234";

static const struct {
	int64_t		 t;
	const char	*sha1, *sha256, *sha512;
} rfc6238[] = {
	{ 59,		"94287082", "46119246", "90693936" },
	{ 1111111109,	"07081804", "68084774", "25091201" },
	{ 1111111111,	"14050471", "67062674", "99943326" },
	{ 1234567890,	"89005924", "91819424", "93441116" },
	{ 2000000000,	"69279037", "90698825", "38618901" },
	{ 20000000000LL, "65353130", "77737706", "47863826" },
};

static void
expect_code(const uint8_t *seed, size_t len, enum idp_totp_alg alg,
    int64_t t, const char *want)
{
	char got[IDP_TOTP_DIGITS_MAX + 1];
	int64_t step = -7;

	assert_int_equal(idp_totp_generate(seed, len, alg, 8, t, got), 0);
	assert_string_equal(got, want);
	/* and verify accepts it, at exactly that step */
	assert_int_equal(idp_totp_verify(seed, len, alg, 8, want, 8, t,
	    IDP_TOTP_NO_STEP, &step), 0);
	assert_true(step == t / 30);
}

static void
test_totp_rfc6238_sha1(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++)
		expect_code(seed1, 20, IDP_TOTP_SHA1, rfc6238[i].t,
		    rfc6238[i].sha1);
}

static void
test_totp_rfc6238_sha256(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++)
		expect_code(seed256, 32, IDP_TOTP_SHA256, rfc6238[i].t,
		    rfc6238[i].sha256);
}

static void
test_totp_rfc6238_sha512(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++)
		expect_code(seed512, 64, IDP_TOTP_SHA512, rfc6238[i].t,
		    rfc6238[i].sha512);
}

/* RFC 4226 Appendix D: TOTP is HOTP of the step, so the step counter*30
 * yields HOTP(counter). */
static void
test_hotp_rfc4226_vectors(void **state)
{
	static const char *hotp[] = { "755224", "287082", "359152", "969429",
	    "338314", "254676", "287922", "162583", "399871", "520489" };
	char got[IDP_TOTP_DIGITS_MAX + 1];
	int64_t c;

	(void)state;
	for (c = 0; c < 10; c++) {
		assert_int_equal(idp_totp_generate(seed1, 20, IDP_TOTP_SHA1, 6,
		    c * 30, got), 0);
		assert_string_equal(got, hotp[c]);
	}
}

/* Codes from oathtool (an independent implementation's command line). */
static void
oathtool_code(const char *b32, const char *mode, unsigned digits, int64_t t,
    char *out, size_t outsz)
{
	char cmd[512];
	FILE *f;
	size_t n;

	assert_true(snprintf(cmd, sizeof(cmd),
	    "oathtool --totp=%s -d %u -b %s -N @%lld 2>/dev/null", mode,
	    digits, b32, (long long)t) < (int)sizeof(cmd));
	assert_non_null(f = popen(cmd, "r"));
	assert_non_null(fgets(out, (int)outsz, f));
	assert_int_equal(pclose(f), 0);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	assert_int_equal(n, digits);
}

static void
test_totp_oathtool_codes_accepted(void **state)
{
	static const struct {
		enum idp_totp_alg	 alg;
		const char		*mode;
		unsigned		 digits;
	} cases[] = {
		{ IDP_TOTP_SHA1, "SHA1", 6 },
		{ IDP_TOTP_SHA256, "SHA256", 6 },
		{ IDP_TOTP_SHA512, "SHA512", 8 },
		{ IDP_TOTP_SHA1, "SHA1", 7 },
	};
	static const int64_t times[] = { 30, 1700000000, 1700000029,
	    1735689600 };
	uint8_t seed[IDP_TOTP_SECRET_LEN];
	char *b32 = NULL, code[32];
	size_t b32len = 0, i, j;
	int64_t step;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(idp_totp_secret_new(seed), 0);
		assert_int_equal(oath_base32_encode((const char *)seed,
		    sizeof(seed), &b32, &b32len), OATH_OK);
		for (j = 0; j < sizeof(times) / sizeof(times[0]); j++) {
			oathtool_code(b32, cases[i].mode, cases[i].digits,
			    times[j], code, sizeof(code));
			assert_int_equal(idp_totp_verify(seed, sizeof(seed),
			    cases[i].alg, cases[i].digits, code,
			    strlen(code), times[j], IDP_TOTP_NO_STEP, &step),
			    0);
			assert_true(step == times[j] / 30);
		}
		free(b32);
		b32 = NULL;
	}
}

static void
test_totp_replayed_step_rejected(void **state)
{
	char code[IDP_TOTP_DIGITS_MAX + 1];
	int64_t step = 0, now = 1700000000;

	(void)state;
	assert_int_equal(idp_totp_generate(seed1, 20, IDP_TOTP_SHA1, 6, now,
	    code), 0);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6, code, 6,
	    now, IDP_TOTP_NO_STEP, &step), 0);
	assert_true(step == now / 30);
	/* the caller stored step: the same code again is a replay */
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6, code, 6,
	    now + 5, step, &step), IDP_ERR_TOTP_REPLAY);
	assert_true(step == IDP_TOTP_NO_STEP);
	assert_string_equal(idp_assurance_strerror(IDP_ERR_TOTP_REPLAY),
	    "one-time code already used");
}

static void
test_totp_older_step_after_newer_rejected(void **state)
{
	char code[IDP_TOTP_DIGITS_MAX + 1];
	int64_t step = 0, now = 1700000000;

	(void)state;
	/* the previous step's code, after the current one was accepted */
	assert_int_equal(idp_totp_generate(seed1, 20, IDP_TOTP_SHA1, 6,
	    now - 30, code), 0);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6, code, 6,
	    now, now / 30, &step), IDP_ERR_TOTP_REPLAY);
	/* but accepted if nothing later was used */
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6, code, 6,
	    now, now / 30 - 2, &step), 0);
	assert_true(step == now / 30 - 1);
}

static void
test_totp_window_plus_minus_one_accepted(void **state)
{
	char code[IDP_TOTP_DIGITS_MAX + 1];
	int64_t step, now = 1700000010;

	(void)state;
	assert_int_equal(idp_totp_generate(seed1, 20, IDP_TOTP_SHA1, 6,
	    now - 30, code), 0);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6, code, 6,
	    now, IDP_TOTP_NO_STEP, &step), 0);
	assert_true(step == now / 30 - 1);
	assert_int_equal(idp_totp_generate(seed1, 20, IDP_TOTP_SHA1, 6,
	    now + 30, code), 0);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6, code, 6,
	    now, IDP_TOTP_NO_STEP, &step), 0);
	assert_true(step == now / 30 + 1);
}

static void
test_totp_window_plus_minus_two_rejected(void **state)
{
	char code[IDP_TOTP_DIGITS_MAX + 1];
	int64_t step, now = 1700000010;

	(void)state;
	assert_int_equal(idp_totp_generate(seed1, 20, IDP_TOTP_SHA1, 6,
	    now - 60, code), 0);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6, code, 6,
	    now, IDP_TOTP_NO_STEP, &step), CM_ERR_DENIED);
	assert_int_equal(idp_totp_generate(seed1, 20, IDP_TOTP_SHA1, 6,
	    now + 60, code), 0);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6, code, 6,
	    now, IDP_TOTP_NO_STEP, &step), CM_ERR_DENIED);
	assert_true(step == IDP_TOTP_NO_STEP);
}

static void
test_totp_wrong_code_rejected(void **state)
{
	char code[IDP_TOTP_DIGITS_MAX + 1];
	int64_t step, now = 1700000010;

	(void)state;
	assert_int_equal(idp_totp_generate(seed1, 20, IDP_TOTP_SHA1, 6, now,
	    code), 0);
	code[5] = code[5] == '9' ? '0' : (char)(code[5] + 1);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6, code, 6,
	    now, IDP_TOTP_NO_STEP, &step), CM_ERR_DENIED);
}

static void
test_totp_nondigit_code_rejected(void **state)
{
	int64_t step;

	(void)state;
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6,
	    "12a456", 6, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6,
	    "123 45", 6, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6,
	    "-12345", 6, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
}

static void
test_totp_embedded_nul_rejected(void **state)
{
	int64_t step;

	(void)state;
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6,
	    "287\0" "82", 6, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
}

static void
test_totp_short_code_rejected(void **state)
{
	int64_t step;

	(void)state;
	/* a prefix of the right 8-digit code at 8 digits */
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 8,
	    "9428708", 7, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6,
	    "", 0, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
}

static void
test_totp_long_code_rejected(void **state)
{
	int64_t step;

	(void)state;
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6,
	    "2870820", 7, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
}

static void
test_totp_bad_parameters_rejected(void **state)
{
	int64_t step;

	(void)state;
	/* digits out of range, short seed, unknown algorithm, negative time */
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 5,
	    "12345", 5, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
	assert_int_equal(idp_totp_verify(seed1, 10, IDP_TOTP_SHA1, 6,
	    "123456", 6, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
	assert_int_equal(idp_totp_verify(seed1, 20, (enum idp_totp_alg)7, 6,
	    "123456", 6, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6,
	    "123456", 6, -1, IDP_TOTP_NO_STEP, &step), CM_ERR_RANGE);
	assert_int_equal(idp_totp_verify(seed1, 20, IDP_TOTP_SHA1, 6,
	    NULL, 6, 59, IDP_TOTP_NO_STEP, &step), CM_ERR_INVAL);
}

static void
test_totp_alg_names(void **state)
{
	enum idp_totp_alg a;

	(void)state;
	assert_int_equal(idp_totp_alg_parse("sha256", &a), 0);
	assert_int_equal(a, IDP_TOTP_SHA256);
	assert_string_equal(idp_totp_alg_name(IDP_TOTP_SHA512), "SHA512");
	assert_int_equal(idp_totp_alg_parse("MD5", &a), CM_ERR_INVAL);
	assert_int_equal(idp_totp_alg_parse("SHA1 ", &a), CM_ERR_INVAL);
}

static void
test_totp_secret_is_fresh(void **state)
{
	uint8_t a[IDP_TOTP_SECRET_LEN], b[IDP_TOTP_SECRET_LEN];

	(void)state;
	assert_int_equal(idp_totp_secret_new(a), 0);
	assert_int_equal(idp_totp_secret_new(b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void
test_totp_uri_format(void **state)
{
	char *uri = NULL;

	(void)state;
	assert_int_equal(idp_totp_uri("Example Co", "alice@example.jp", seed1,
	    20, IDP_TOTP_SHA1, 6, &uri), 0);
	/* base32 of "12345678901234567890", unpadded */
	assert_string_equal(uri,
	    "otpauth://totp/Example%20Co:alice%40example.jp"
	    "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Co"
	    "&algorithm=SHA1&digits=6&period=30");
	cm_strfree(&uri);
	assert_int_equal(idp_totp_uri("関守", "a b", seed1, 20,
	    IDP_TOTP_SHA256, 8, &uri), 0);
	assert_non_null(strstr(uri, "totp/%E9%96%A2%E5%AE%88:a%20b?"));
	assert_non_null(strstr(uri, "&algorithm=SHA256&digits=8&period=30"));
	cm_strfree(&uri);
}

static void
test_totp_uri_colon_in_label_rejected(void **state)
{
	char *uri = (char *)1;

	(void)state;
	assert_int_equal(idp_totp_uri("Example:Co", "alice", seed1, 20,
	    IDP_TOTP_SHA1, 6, &uri), CM_ERR_INVAL);
	assert_null(uri);
	assert_int_equal(idp_totp_uri("Example", "ali:ce", seed1, 20,
	    IDP_TOTP_SHA1, 6, &uri), CM_ERR_INVAL);
	assert_int_equal(idp_totp_uri("Example", "ali\nce", seed1, 20,
	    IDP_TOTP_SHA1, 6, &uri), CM_ERR_INVAL);
	assert_int_equal(idp_totp_uri("", "alice", seed1, 20,
	    IDP_TOTP_SHA1, 6, &uri), CM_ERR_INVAL);
}

static void
test_totp_qr_svg(void **state)
{
	const char *text = "otpauth://totp/Example:alice?secret=GEZDGNBV"
	    "GY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example";
	char *svg = NULL, *svg2 = NULL;
	size_t n;

	(void)state;
	assert_int_equal(idp_totp_qr_svg(text, strlen(text), &svg), 0);
	n = strlen(svg);
	assert_true(strncmp(svg, "<?xml", 5) == 0);
	assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(svg, "<path fill=\"#000\" d=\"M"));
	assert_string_equal(svg + n - 7, "</svg>\n");
	/* the top-left finder pattern: a run of 7 dark modules at (4,4) */
	assert_non_null(strstr(svg, "M4 4h7v1h-7z"));
	/* deterministic */
	assert_int_equal(idp_totp_qr_svg(text, strlen(text), &svg2), 0);
	assert_string_equal(svg, svg2);
	cm_strfree(&svg);
	cm_strfree(&svg2);
}

static void
test_totp_qr_svg_bad_input_rejected(void **state)
{
	char *svg = (char *)1;

	(void)state;
	assert_int_equal(idp_totp_qr_svg("a\0b", 3, &svg), CM_ERR_INVAL);
	assert_null(svg);
	assert_int_equal(idp_totp_qr_svg("", 0, &svg), CM_ERR_INVAL);
}

/* ---- throttling ---- */

static void
test_throttle_backoff_grows(void **state)
{
	struct idp_throttle_policy p;
	struct idp_throttle_state s = { 0, 0 };
	struct idp_throttle_decision d;
	int64_t now = 1000, prev = 0;
	uint32_t i;

	(void)state;
	idp_throttle_policy_default(&p);
	assert_int_equal(idp_throttle_policy_check(&p), 0);
	/* the free failures: no delay */
	for (i = 0; i < p.free_failures; i++) {
		idp_throttle_record(&s, 0, now);
		assert_int_equal(idp_throttle_check(&p, &s, now, &d), 0);
		assert_int_equal(d.verdict, IDP_THROTTLE_ALLOW);
	}
	/* then 2, 4, 8, ... seconds, capped at max_delay */
	for (i = 0; i < 12; i++) {
		idp_throttle_record(&s, 0, now);
		assert_int_equal(idp_throttle_check(&p, &s, now, &d), 0);
		assert_int_equal(d.verdict, IDP_THROTTLE_WAIT);
		assert_true(d.retry_after >= prev);
		assert_true(d.retry_after <= p.max_delay);
		if (i == 0)
			assert_true(d.retry_after == p.base_delay);
		if (i == 1)
			assert_true(d.retry_after == 2 * p.base_delay);
		prev = d.retry_after;
		/* once the delay has passed the next attempt is allowed */
		assert_int_equal(idp_throttle_check(&p, &s,
		    now + d.retry_after, &d), 0);
		assert_int_equal(d.verdict, IDP_THROTTLE_ALLOW);
	}
	assert_true(prev == p.max_delay);
	/* half-way through a delay: the rest remains */
	assert_int_equal(idp_throttle_check(&p, &s, now + 100, &d), 0);
	assert_int_equal(d.verdict, IDP_THROTTLE_WAIT);
	assert_true(d.retry_after == p.max_delay - 100);
	/* a clock that went back waits the whole delay */
	assert_int_equal(idp_throttle_check(&p, &s, now - 5000, &d), 0);
	assert_true(d.retry_after == p.max_delay);
}

static void
test_throttle_locks_at_cap(void **state)
{
	struct idp_throttle_policy p;
	struct idp_throttle_state s = { 0, 0 };
	struct idp_throttle_decision d;
	uint32_t i;

	(void)state;
	idp_throttle_policy_default(&p);
	for (i = 0; i < p.lock_after; i++)
		idp_throttle_record(&s, 0, 1000 + i);
	assert_int_equal(idp_throttle_check(&p, &s, 10000000, &d), 0);
	assert_int_equal(d.verdict, IDP_THROTTLE_LOCKED);
	/* the count saturates at the SP 800-63B cap */
	for (i = 0; i < 500; i++)
		idp_throttle_record(&s, 0, 2000);
	assert_int_equal(s.failures, IDP_THROTTLE_MAX_FAILURES);
	p.lock_after = IDP_THROTTLE_MAX_FAILURES;
	assert_int_equal(idp_throttle_check(&p, &s, 10000000, &d), 0);
	assert_int_equal(d.verdict, IDP_THROTTLE_LOCKED);
}

static void
test_throttle_reset_on_success(void **state)
{
	struct idp_throttle_policy p;
	struct idp_throttle_state s = { 0, 0 };
	struct idp_throttle_decision d;
	uint32_t i;

	(void)state;
	idp_throttle_policy_default(&p);
	for (i = 0; i < 8; i++)
		idp_throttle_record(&s, 0, 1000);
	assert_int_equal(idp_throttle_check(&p, &s, 1000, &d), 0);
	assert_int_equal(d.verdict, IDP_THROTTLE_WAIT);
	idp_throttle_record(&s, 1, 2000);
	assert_int_equal(s.failures, 0);
	assert_int_equal(idp_throttle_check(&p, &s, 2000, &d), 0);
	assert_int_equal(d.verdict, IDP_THROTTLE_ALLOW);
}

static void
test_throttle_policy_over_100_rejected(void **state)
{
	struct idp_throttle_policy p;
	struct idp_throttle_state s = { 0, 0 };
	struct idp_throttle_decision d;

	(void)state;
	idp_throttle_policy_default(&p);
	p.lock_after = 101;
	assert_int_equal(idp_throttle_policy_check(&p), CM_ERR_INVAL);
	/* an invalid policy fails closed */
	assert_int_equal(idp_throttle_check(&p, &s, 0, &d), CM_ERR_INVAL);
	assert_int_equal(d.verdict, IDP_THROTTLE_LOCKED);
	idp_throttle_policy_default(&p);
	p.base_delay = 0;
	assert_int_equal(idp_throttle_policy_check(&p), CM_ERR_INVAL);
	idp_throttle_policy_default(&p);
	p.free_failures = p.lock_after;
	assert_int_equal(idp_throttle_policy_check(&p), CM_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_totp_rfc6238_sha1),
		cmocka_unit_test(test_totp_rfc6238_sha256),
		cmocka_unit_test(test_totp_rfc6238_sha512),
		cmocka_unit_test(test_hotp_rfc4226_vectors),
		cmocka_unit_test(test_totp_oathtool_codes_accepted),
		cmocka_unit_test(test_totp_replayed_step_rejected),
		cmocka_unit_test(test_totp_older_step_after_newer_rejected),
		cmocka_unit_test(test_totp_window_plus_minus_one_accepted),
		cmocka_unit_test(test_totp_window_plus_minus_two_rejected),
		cmocka_unit_test(test_totp_wrong_code_rejected),
		cmocka_unit_test(test_totp_nondigit_code_rejected),
		cmocka_unit_test(test_totp_embedded_nul_rejected),
		cmocka_unit_test(test_totp_short_code_rejected),
		cmocka_unit_test(test_totp_long_code_rejected),
		cmocka_unit_test(test_totp_bad_parameters_rejected),
		cmocka_unit_test(test_totp_alg_names),
		cmocka_unit_test(test_totp_secret_is_fresh),
		cmocka_unit_test(test_totp_uri_format),
		cmocka_unit_test(test_totp_uri_colon_in_label_rejected),
		cmocka_unit_test(test_totp_qr_svg),
		cmocka_unit_test(test_totp_qr_svg_bad_input_rejected),
		cmocka_unit_test(test_throttle_backoff_grows),
		cmocka_unit_test(test_throttle_locks_at_cap),
		cmocka_unit_test(test_throttle_reset_on_success),
		cmocka_unit_test(test_throttle_policy_over_100_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for idp/recovery.c: recovery codes are well formed, distinct,
 * stored only as Argon2id hashes, verified after normalisation, single
 * use once the caller removes the matched hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cm.h"
#include "idp/assurance.h"

struct fx {
	struct idp_recovery_code	 c[IDP_RECOVERY_COUNT];
	const char			*h[IDP_RECOVERY_COUNT];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	size_t i;

	if (f == NULL || idp_recovery_generate(f->c, IDP_RECOVERY_COUNT) != 0)
		return -1;
	for (i = 0; i < IDP_RECOVERY_COUNT; i++)
		f->h[i] = f->c[i].hash;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	idp_recovery_wipe(f->c, IDP_RECOVERY_COUNT);
	free(f);
	return 0;
}

static void
test_recovery_codes_well_formed(void **state)
{
	struct fx *f = *state;
	const char *alpha = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	size_t i, j;

	for (i = 0; i < IDP_RECOVERY_COUNT; i++) {
		const char *c = f->c[i].code;

		assert_int_equal(strlen(c), IDP_RECOVERY_DISPLAY_LEN);
		assert_int_equal(c[5], '-');
		for (j = 0; j < IDP_RECOVERY_DISPLAY_LEN; j++)
			if (j != 5)
				assert_non_null(strchr(alpha, c[j]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(c, f->c[j].code);
	}
}

static void
test_recovery_codes_stored_hashed(void **state)
{
	struct fx *f = *state;
	char canon[11];
	size_t i;

	for (i = 0; i < IDP_RECOVERY_COUNT; i++) {
		assert_true(strncmp(f->c[i].hash, "$argon2id$v=19$m=19456,t=2,",
		    27) == 0);
		memcpy(canon, f->c[i].code, 5);
		memcpy(canon + 5, f->c[i].code + 6, 5);
		canon[10] = '\0';
		assert_null(strstr(f->c[i].hash, canon));
		assert_null(strstr(f->c[i].hash, f->c[i].code));
	}
	/* salted: the same code never hashes the same way twice */
	assert_string_not_equal(f->c[0].hash, f->c[1].hash);
}

static void
test_recovery_verify_reports_match(void **state)
{
	struct fx *f = *state;
	size_t m = 99;

	assert_int_equal(idp_recovery_verify(f->c[7].code,
	    strlen(f->c[7].code), f->h, IDP_RECOVERY_COUNT, &m), 0);
	assert_int_equal(m, 7);
}

static void
test_recovery_verify_normalises(void **state)
{
	struct fx *f = *state;
	char in[40], *p;
	size_t m = 99, i;

	/* lower case, spaces instead of the dash */
	strcpy(in, f->c[2].code);
	for (p = in; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	in[5] = ' ';
	assert_int_equal(idp_recovery_verify(in, strlen(in), f->h,
	    IDP_RECOVERY_COUNT, &m), 0);
	assert_int_equal(m, 2);
	/* no separator, surrounding spaces */
	in[0] = ' ';
	memcpy(in + 1, f->c[3].code, 5);
	memcpy(in + 6, f->c[3].code + 6, 5);
	strcpy(in + 11, "  ");
	assert_int_equal(idp_recovery_verify(in, strlen(in), f->h,
	    IDP_RECOVERY_COUNT, &m), 0);
	assert_int_equal(m, 3);
	/* Crockford: O read as 0, I and L as 1 */
	strcpy(in, f->c[4].code);
	for (i = 0; in[i]; i++) {
		if (in[i] == '0')
			in[i] = 'O';
		else if (in[i] == '1')
			in[i] = (i & 1) ? 'l' : 'I';
	}
	assert_int_equal(idp_recovery_verify(in, strlen(in), f->h,
	    IDP_RECOVERY_COUNT, &m), 0);
	assert_int_equal(m, 4);
}

static void
test_recovery_single_use(void **state)
{
	struct fx *f = *state;
	const char *h[IDP_RECOVERY_COUNT];
	size_t m = 99, n = 0, i;

	assert_int_equal(idp_recovery_verify(f->c[5].code,
	    strlen(f->c[5].code), f->h, IDP_RECOVERY_COUNT, &m), 0);
	/* the caller deletes the matched value */
	for (i = 0; i < IDP_RECOVERY_COUNT; i++)
		if (i != m)
			h[n++] = f->h[i];
	assert_int_equal(idp_recovery_verify(f->c[5].code,
	    strlen(f->c[5].code), h, n, &m), CM_ERR_DENIED);
	/* the others still work */
	assert_int_equal(idp_recovery_verify(f->c[6].code,
	    strlen(f->c[6].code), h, n, &m), 0);
	assert_int_equal(m, 5);	/* index in the shorter list */
}

static void
test_recovery_wrong_code_rejected(void **state)
{
	struct fx *f = *state;
	char in[16];
	size_t m = 99;

	strcpy(in, f->c[0].code);
	in[0] = in[0] == 'Z' ? 'Y' : 'Z';
	assert_int_equal(idp_recovery_verify(in, strlen(in), f->h, 1, &m),
	    CM_ERR_DENIED);
	assert_int_equal(m, 0);
	/* nothing stored: nothing matches */
	assert_int_equal(idp_recovery_verify(f->c[0].code, 11, NULL, 0, &m),
	    CM_ERR_DENIED);
}

static void
test_recovery_malformed_code_rejected(void **state)
{
	struct fx *f = *state;
	size_t m;

	assert_int_equal(idp_recovery_verify("ABCDE-FGHJ", 10, f->h, 1, &m),
	    CM_ERR_INVAL);				/* short */
	assert_int_equal(idp_recovery_verify("ABCDE-FGHJKM", 12, f->h, 1, &m),
	    CM_ERR_INVAL);				/* long */
	assert_int_equal(idp_recovery_verify("ABCDE-FGHJU", 11, f->h, 1, &m),
	    CM_ERR_INVAL);				/* U */
	assert_int_equal(idp_recovery_verify("ABCDE_FGHJK", 11, f->h, 1, &m),
	    CM_ERR_INVAL);				/* separator */
	assert_int_equal(idp_recovery_verify("ABCDE\0FGHJK", 11, f->h, 1, &m),
	    CM_ERR_INVAL);				/* NUL */
	assert_int_equal(idp_recovery_verify("", 0, f->h, 1, &m),
	    CM_ERR_INVAL);
	assert_int_equal(idp_recovery_verify(
	    "-----------------------------------------------------------------"
	    "ABCDEFGHJK", 75, f->h, 1, &m), CM_ERR_INVAL);	/* too long */
}

static void
test_recovery_foreign_hash_ignored(void **state)
{
	struct fx *f = *state;
	char h2[IDP_RECOVERY_HASH_MAX];
	const char *h[2];
	size_t m;

	/* an Argon2i hash (not id) of the same code is not accepted */
	strcpy(h2, f->c[0].hash);
	memmove(h2 + 8, h2 + 9, strlen(h2 + 9) + 1);	/* $argon2id -> i */
	h[0] = h2;
	h[1] = NULL;
	assert_int_equal(idp_recovery_verify(f->c[0].code, 11, h, 2, &m),
	    CM_ERR_DENIED);
}

static void
test_recovery_bad_count_rejected(void **state)
{
	struct idp_recovery_code c[1];

	(void)state;
	assert_int_equal(idp_recovery_generate(c, 0), CM_ERR_INVAL);
	assert_int_equal(idp_recovery_generate(NULL, 1), CM_ERR_INVAL);
}

/* One set of codes for the whole group: Argon2id is slow on purpose. */
#define T(fn) cmocka_unit_test(fn)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_recovery_codes_well_formed),
		T(test_recovery_codes_stored_hashed),
		T(test_recovery_verify_reports_match),
		T(test_recovery_verify_normalises),
		T(test_recovery_single_use),
		T(test_recovery_wrong_code_rejected),
		T(test_recovery_malformed_code_rejected),
		T(test_recovery_foreign_hash_ignored),
		cmocka_unit_test(test_recovery_bad_count_rejected),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

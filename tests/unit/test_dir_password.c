/* Unit tests for directory/dir_password.c: NIST SP 800-63B-4 rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "directory/directory.h"

static char blocklist[] = "/tmp/test_dir_password.XXXXXX";

static int
setup(void **state)
{
	struct dir_config c;
	struct dir_pwpolicy *pp = NULL;
	int fd;
	static const char words[] =
	    "Aaron\ncat\ninternationalization\ninternationalizations\n"
	    "counterrevolutionary\nelectroencephalograph\nsunflowers\n";

	if ((fd = mkstemp(blocklist)) == -1)
		return -1;
	if (write(fd, words, sizeof(words) - 1) != (ssize_t)(sizeof(words) - 1))
		return -1;
	close(fd);
	dir_config_defaults(&c);
	snprintf(c.pw_blocklist, sizeof(c.pw_blocklist), "%s", blocklist);
	if (dir_pwpolicy_new(&c, &pp) != 0)
		return -1;
	*state = pp;
	return 0;
}

static int
teardown(void **state)
{
	struct dir_pwpolicy *pp = *state;

	dir_pwpolicy_free(&pp);
	unlink(blocklist);
	return 0;
}

static int
check(void **state, const char *pw)
{
	static const char *const ctx[] = { "alice", "Alice Liddell",
	    "alice.liddell@example.test" };
	char why[128];

	return dir_pwpolicy_check(*state, pw, strlen(pw), ctx, 3, why,
	    sizeof(why));
}

static void
test_pw_good_passphrase_accepted(void **state)
{
	assert_int_equal(check(state, "correct horse battery staple"), 0);
	/* no composition rules: all lowercase, no digits is fine */
	assert_int_equal(check(state, "mauvelampshadeorbit"), 0);
	/* spaces and Unicode are allowed */
	assert_int_equal(check(state, "\xe6\x98\xa5\xe3\x81\xaf\xe3\x81\x82"
	    "\xe3\x1\x90\xe3\x81\xbc\xe3\x81\xae"), CM_ERR_INVAL);
	assert_int_equal(check(state, "\xe6\x98\xa5\xe3\x81\xaf\xe3\x81\x82"
	    "\xe3\x81\x91\xe3\x81\xbc\xe3\x81\xae\xe3\x82\x84\xe3\x81\x86"
	    "\xe3\x82\x84\xe3\x81\x86\xe7\x99\xbd\xe3\x81\x8f\xe3\x81\xaa"
	    "\xe3\x82\x8a\xe5\xb1\xb1\xe3\x81\x8e\xe3\x81\xaf"), 0);
}

static void
test_pw_too_short_rejected(void **state)
{
	assert_int_equal(check(state, "mauvelampshade"), CM_ERR_POLICY);
}

static void
test_pw_too_long_rejected(void **state)
{
	char pw[200];

	uint32_t x = 12345;

	for (size_t i = 0; i < 129; i++) {
		x = x * 1103515245u + 12345u;
		pw[i] = (char)('a' + (x >> 16) % 26);
	}
	pw[129] = '\0';
	assert_int_equal(check(state, pw), CM_ERR_POLICY);
	pw[64] = '\0';	/* 64 must be accepted */
	assert_int_equal(check(state, pw), 0);
}

static void
test_pw_nfkc_length_counts_code_points(void **state)
{
	char *out = NULL;
	size_t outlen = 0, ncp = 0;

	(void)state;
	/* fullwidth "ＡＢＣ" -> "ABC"; U+FB01 (ligature fi) -> "fi" */
	assert_int_equal(dir_password_normalize("\xef\xbc\xa1\xef\xbc\xa2"
	    "\xef\xbc\xa3\xef\xac\x81", 12, &out, &outlen, &ncp), 0);
	assert_int_equal(outlen, 5);
	assert_memory_equal(out, "ABCfi", 5);
	assert_int_equal(ncp, 5);
	cm_freezero(out, outlen + 1);
}

static void
test_pw_invalid_utf8_rejected(void **state)
{
	char *out = NULL;
	size_t outlen, ncp;

	(void)state;
	assert_int_equal(dir_password_normalize("abc\xff", 4, &out, &outlen,
	    &ncp), CM_ERR_INVAL);
	assert_int_equal(dir_password_normalize("abc\ndef", 7, &out, &outlen,
	    &ncp), CM_ERR_INVAL);
	assert_int_equal(dir_password_normalize("ab\0cd", 5, &out, &outlen,
	    &ncp), CM_ERR_INVAL);
	assert_int_equal(dir_password_normalize("", 0, &out, &outlen, &ncp),
	    CM_ERR_INVAL);
	assert_null(out);
}

static void
test_pw_dictionary_word_rejected(void **state)
{
	assert_int_equal(check(state, "internationalization"), CM_ERR_POLICY);
	assert_int_equal(check(state, "Internationalization"), CM_ERR_POLICY);
	assert_int_equal(check(state, "internationalization2024!"),
	    CM_ERR_POLICY);
	assert_int_equal(check(state, "1nt3rn4t10n4l1z4t10n"), CM_ERR_POLICY);
}

static void
test_pw_common_password_rejected(void **state)
{
	assert_int_equal(check(state, "password1234567890"), CM_ERR_POLICY);
	assert_int_equal(check(state, "P@ssw0rd!!!!!!!!!!"), CM_ERR_POLICY);
}

static void
test_pw_repetitive_rejected(void **state)
{
	assert_int_equal(check(state, "aaaaaaaaaaaaaaaaaaaa"), CM_ERR_POLICY);
	assert_int_equal(check(state, "abcabcabcabcabcabc"), CM_ERR_POLICY);
	assert_int_equal(check(state, "xyxyxyxyxyxyxyxyxy"), CM_ERR_POLICY);
}

static void
test_pw_sequential_rejected(void **state)
{
	assert_int_equal(check(state, "abcdefghijklmnop"), CM_ERR_POLICY);
	assert_int_equal(check(state, "987654321098765"), CM_ERR_POLICY);
	assert_int_equal(check(state, "qwertyuiopasdfgh"), CM_ERR_POLICY);
}

static void
test_pw_context_word_rejected(void **state)
{
	assert_int_equal(check(state, "alice-rabbit-hole-tea"), CM_ERR_POLICY);
	assert_int_equal(check(state, "my name is liddell ok"), CM_ERR_POLICY);
	assert_int_equal(check(state, "sekimori-is-my-broker"), CM_ERR_POLICY);
}

static void
test_pw_mfa_floor(void **state)
{
	struct dir_config c;
	struct dir_pwpolicy *pp = NULL;
	char why[128];

	(void)state;
	dir_config_defaults(&c);
	snprintf(c.pw_blocklist, sizeof(c.pw_blocklist), "%s", blocklist);
	c.pw_mfa_always = 1;
	assert_int_equal(dir_pwpolicy_new(&c, &pp), 0);
	assert_int_equal(dir_pwpolicy_check(pp, "mauvelamp", 9, NULL, 0, why,
	    sizeof(why)), 0);
	assert_int_equal(dir_pwpolicy_check(pp, "mauvela", 7, NULL, 0, why,
	    sizeof(why)), CM_ERR_POLICY);
	dir_pwpolicy_free(&pp);
	/* a floor below the standard is raised, never honoured */
	c.pw_min_len_mfa = 4;
	assert_int_equal(dir_pwpolicy_new(&c, &pp), 0);
	assert_int_equal(dir_pwpolicy_check(pp, "mauvela", 7, NULL, 0, why,
	    sizeof(why)), CM_ERR_POLICY);
	dir_pwpolicy_free(&pp);
}

static void
test_pw_missing_blocklist_fails(void **state)
{
	struct dir_config c;
	struct dir_pwpolicy *pp = NULL;

	(void)state;
	dir_config_defaults(&c);
	snprintf(c.pw_blocklist, sizeof(c.pw_blocklist), "/nonexistent/x");
	assert_int_not_equal(dir_pwpolicy_new(&c, &pp), 0);
	assert_null(pp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pw_good_passphrase_accepted),
		cmocka_unit_test(test_pw_too_short_rejected),
		cmocka_unit_test(test_pw_too_long_rejected),
		cmocka_unit_test(test_pw_nfkc_length_counts_code_points),
		cmocka_unit_test(test_pw_invalid_utf8_rejected),
		cmocka_unit_test(test_pw_dictionary_word_rejected),
		cmocka_unit_test(test_pw_common_password_rejected),
		cmocka_unit_test(test_pw_repetitive_rejected),
		cmocka_unit_test(test_pw_sequential_rejected),
		cmocka_unit_test(test_pw_context_word_rejected),
		cmocka_unit_test(test_pw_mfa_floor),
		cmocka_unit_test(test_pw_missing_blocklist_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

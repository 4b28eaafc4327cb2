/* Unit tests for directory/dir_config.c: the ldap_* and password_* keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "directory/directory.h"

static void
minimal(struct dir_config *c)
{
	char err[256];

	dir_config_defaults(c);
	assert_int_equal(dir_config_set(c, "ldap_uri",
	    "ldapi://%2Ftmp%2Fx%2Fldapi", err, sizeof(err)), 0);
	assert_int_equal(dir_config_set(c, "ldap_base", "dc=sekimori,dc=test",
	    err, sizeof(err)), 0);
	assert_int_equal(dir_config_set(c, "ldap_bind_dn",
	    "cn=broker,ou=services,dc=sekimori,dc=test", err, sizeof(err)), 0);
	assert_int_equal(dir_config_set(c, "ldap_bind_password_file",
	    "/tmp/x/broker.pw", err, sizeof(err)), 0);
}

static void
test_config_minimal_ok(void **state)
{
	struct dir_config c;
	char err[256];

	(void)state;
	minimal(&c);
	assert_int_equal(dir_config_check(&c, err, sizeof(err)), 0);
	assert_int_equal(c.pw_min_len, 15);
	assert_int_equal(c.pw_min_len_mfa, 8);
	assert_true(c.pw_max_len >= 64);
}

static void
test_config_unknown_key_notfound(void **state)
{
	struct dir_config c;
	char err[256];

	(void)state;
	dir_config_defaults(&c);
	assert_int_equal(dir_config_set(&c, "listen", "127.0.0.1:8443", err,
	    sizeof(err)), CM_ERR_NOTFOUND);
}

static void
test_config_missing_required_rejected(void **state)
{
	struct dir_config c;
	char err[256];

	(void)state;
	dir_config_defaults(&c);
	assert_int_not_equal(dir_config_check(&c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "ldap_uri"));
}

static void
test_config_password_floor_not_lowered(void **state)
{
	struct dir_config c;
	char err[256];

	(void)state;
	minimal(&c);
	assert_int_not_equal(dir_config_set(&c, "password_min_len", "14", err,
	    sizeof(err)), 0);
	assert_int_not_equal(dir_config_set(&c, "password_min_len_mfa", "7",
	    err, sizeof(err)), 0);
	assert_int_not_equal(dir_config_set(&c, "password_max_len", "63", err,
	    sizeof(err)), 0);
	assert_int_equal(dir_config_set(&c, "password_min_len", "20", err,
	    sizeof(err)), 0);
	assert_int_equal(dir_config_set(&c, "password_mfa_always", "yes", err,
	    sizeof(err)), 0);
	assert_int_equal(dir_config_check(&c, err, sizeof(err)), 0);
}

static void
test_config_bad_values_rejected(void **state)
{
	struct dir_config c;
	char err[256];

	(void)state;
	minimal(&c);
	assert_int_not_equal(dir_config_set(&c, "ldap_pool_size", "0", err,
	    sizeof(err)), 0);
	assert_int_not_equal(dir_config_set(&c, "ldap_pool_size", "4x", err,
	    sizeof(err)), 0);
	assert_int_not_equal(dir_config_set(&c, "ldap_timeout_ms", "5", err,
	    sizeof(err)), 0);
	assert_int_not_equal(dir_config_set(&c, "password_mfa_always",
	    "maybe", err, sizeof(err)), 0);
	assert_int_not_equal(dir_config_set(&c, "ldap_base", "", err,
	    sizeof(err)), 0);
	assert_int_equal(dir_config_set(&c, "ldap_uri", "http://x", err,
	    sizeof(err)), 0);
	assert_int_not_equal(dir_config_check(&c, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_minimal_ok),
		cmocka_unit_test(test_config_unknown_key_notfound),
		cmocka_unit_test(test_config_missing_required_rejected),
		cmocka_unit_test(test_config_password_floor_not_lowered),
		cmocka_unit_test(test_config_bad_values_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for directory/dir_escape.c: RFC 4515 filter values, RFC 4514
 * DN values (checked by parsing the result back with libldap), the
 * identifier rule, and the DN helpers; and the request scope's rule for
 * which writes forget which answers (directory/dir_pool.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldap.h>

#include "directory/directory.h"
#include "directory/dir_private.h"

static void
expect_filter(const char *in, size_t len, const char *want)
{
	char *out = NULL;

	assert_int_equal(dir_escape_filter(in, len, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void
test_filter_specials_escaped(void **state)
{
	(void)state;
	expect_filter("*)(uid=*", 8, "\\2A\\29\\28uid=\\2A");
	expect_filter("a\\b", 3, "a\\5Cb");
	expect_filter("plain", 5, "plain");
	expect_filter("", 0, "");
}

static void
test_filter_nul_escaped_not_truncated(void **state)
{
	(void)state;
	expect_filter("ab\0cd", 5, "ab\\00cd");
}

static void
test_filter_injection_has_no_metachar(void **state)
{
	static const char *const evil[] = {
		"*", "admin)(|(uid=*", "*)(objectClass=*))(&(uid=x",
		"\\2a", "x)(userPassword=*",
	};
	char *out = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		assert_int_equal(dir_escape_filter(evil[i], strlen(evil[i]),
		    &out), 0);
		assert_null(strpbrk(out, "()*"));
		free(out);
	}
}

/* Build "uid=<esc>,dc=test" and parse it back: one AVA equal to input. */
static void
expect_dn_roundtrip(const char *in, size_t len)
{
	char *esc = NULL, dn[4096];
	LDAPDN ldn = NULL;

	assert_int_equal(dir_escape_dn(in, len, &esc), 0);
	snprintf(dn, sizeof(dn), "uid=%s,dc=test", esc);
	assert_int_equal(ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3),
	    LDAP_SUCCESS);
	assert_non_null(ldn);
	assert_non_null(ldn[0]);
	assert_non_null(ldn[1]);
	assert_null(ldn[2]);
	assert_null(ldn[0][1]);		/* not a multi-valued RDN */
	assert_int_equal(ldn[0][0]->la_value.bv_len, len);
	assert_memory_equal(ldn[0][0]->la_value.bv_val, in, len);
	ldap_dnfree(ldn);
	free(esc);
}

static void
test_dn_specials_roundtrip(void **state)
{
	static const char *const vals[] = {
		"a,b", "a+b=c", "\"quoted\"", "semi;colon", "<angle>",
		"back\\slash", "#hash", " lead", "trail ", " both ", "=",
		"x,dc=evil", "uid=admin,ou=people",
		"\xe7\x94\xb0\xe4\xb8\xad",	/* UTF-8 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		expect_dn_roundtrip(vals[i], strlen(vals[i]));
	expect_dn_roundtrip("nul\0inside", 10);
	expect_dn_roundtrip("\x01\x1f\x7f", 3);
}

static void
test_dn_escape_exact(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(dir_escape_dn(" a,b ", 5, &out), 0);
	assert_string_equal(out, "\\ a\\,b\\ ");
	free(out);
	assert_int_equal(dir_escape_dn("#x#", 3, &out), 0);
	assert_string_equal(out, "\\#x#");
	free(out);
}

static void
test_escape_too_long_rejected(void **state)
{
	size_t n = DIR_VALUE_MAX * 64 + 1;
	char *big = calloc(1, n), *out = NULL;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', n);
	assert_int_equal(dir_escape_filter(big, n, &out), CM_ERR_RANGE);
	assert_null(out);
	assert_int_equal(dir_escape_dn(big, n, &out), CM_ERR_RANGE);
	assert_null(out);
	free(big);
}

static void
test_name_check(void **state)
{
	(void)state;
	assert_int_equal(dir_name_check("alice"), 0);
	assert_int_equal(dir_name_check("a.b-c_d9"), 0);
	assert_int_equal(dir_name_check("9lives"), 0);
	assert_int_equal(dir_name_check(""), CM_ERR_INVAL);
	assert_int_equal(dir_name_check("Alice"), CM_ERR_INVAL);
	assert_int_equal(dir_name_check("-dash"), CM_ERR_INVAL);
	assert_int_equal(dir_name_check(".dot"), CM_ERR_INVAL);
	assert_int_equal(dir_name_check("*)(uid=*"), CM_ERR_INVAL);
	assert_int_equal(dir_name_check("a,b"), CM_ERR_INVAL);
	assert_int_equal(dir_name_check("a b"), CM_ERR_INVAL);
	assert_int_equal(dir_name_check("\xc3\xa9t\xc3\xa9"), CM_ERR_INVAL);
	assert_int_equal(dir_name_check(NULL), CM_ERR_INVAL);
	assert_int_equal(dir_name_check(
	    "a23456789012345678901234567890123456789012345678901234567890123"
	    "4"), 0);
	assert_int_equal(dir_name_check(
	    "a23456789012345678901234567890123456789012345678901234567890123"
	    "45"), CM_ERR_INVAL);
}

static void
test_status_parse(void **state)
{
	enum dir_status s;

	(void)state;
	assert_int_equal(dir_status_parse("active", &s), 0);
	assert_int_equal(s, DIR_STATUS_ACTIVE);
	assert_int_equal(dir_status_parse("Disabled", &s), 0);
	assert_int_equal(s, DIR_STATUS_DISABLED);
	assert_int_equal(dir_status_parse("enabled", &s), CM_ERR_INVAL);
	assert_string_equal(dir_status_str(DIR_STATUS_SUSPENDED), "suspended");
}

#define PEOPLE "ou=people,dc=sekimori,dc=test"

static void
test_scope_covers_by_scope(void **state)
{
	(void)state;
	/* base: only the entry itself */
	assert_int_equal(dir_scope_covers("uid=a," PEOPLE, LDAP_SCOPE_BASE,
	    "uid=a," PEOPLE), 1);
	assert_int_equal(dir_scope_covers("uid=a," PEOPLE, LDAP_SCOPE_BASE,
	    "uid=b," PEOPLE), 0);
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_BASE,
	    "uid=a," PEOPLE), 0);
	/* one level: the base and its children, not grandchildren */
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_ONELEVEL,
	    "uid=a," PEOPLE), 1);
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_ONELEVEL,
	    PEOPLE), 1);
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_ONELEVEL,
	    "cn=totp,uid=a," PEOPLE), 0);
	/* subtree: the base and everything below */
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_SUBTREE,
	    "cn=totp,uid=a," PEOPLE), 1);
	assert_int_equal(dir_scope_covers("uid=a," PEOPLE, LDAP_SCOPE_SUBTREE,
	    "cn=totp,uid=a," PEOPLE), 1);
	/* elsewhere in the tree: never */
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_SUBTREE,
	    "cn=x,ou=sess,ou=state,dc=sekimori,dc=test"), 0);
	assert_int_equal(dir_scope_covers("cn=r,ou=risk,ou=state,"
	    "dc=sekimori,dc=test", LDAP_SCOPE_BASE,
	    "cn=s,ou=sess,ou=state,dc=sekimori,dc=test"), 0);
	/* a sibling whose name ends like the base is not below it */
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_SUBTREE,
	    "uid=a,ou=xpeople,dc=sekimori,dc=test"), 0);
	/* below the root DSE: everything */
	assert_int_equal(dir_scope_covers("", LDAP_SCOPE_SUBTREE,
	    "uid=a," PEOPLE), 1);
}

static void
test_scope_covers_normal_form(void **state)
{
	(void)state;
	/* other case and spacing of the same entry still match */
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_ONELEVEL,
	    "UID=a, OU=People, DC=sekimori, DC=test"), 1);
	assert_int_equal(dir_scope_covers("uid=A,ou=People,dc=Sekimori,"
	    "dc=test", LDAP_SCOPE_BASE, "uid=a,ou=people,dc=sekimori,dc=test"),
	    1);
	/* a comma inside a value does not start a parent (either spelling) */
	assert_int_equal(dir_scope_covers("ou=x,dc=test", LDAP_SCOPE_ONELEVEL,
	    "cn=a\\,ou=x,dc=test"), 0);
	assert_int_equal(dir_scope_covers("dc=test", LDAP_SCOPE_ONELEVEL,
	    "cn=a\\2Cb,dc=test"), 1);
	assert_int_equal(dir_scope_covers("ou=x,dc=test", LDAP_SCOPE_SUBTREE,
	    "cn=a\\2Cou=x,dc=test"), 0);
	/* a multi-valued RDN (values in any order) forgets everything; an
	 * escaped '+' is only a character */
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_ONELEVEL,
	    "uid=a+cn=b," PEOPLE), -1);
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_ONELEVEL,
	    "cn=a\\+b," PEOPLE), 1);
	/* what does not parse is reported, and then forgets everything */
	assert_int_equal(dir_scope_covers(PEOPLE, LDAP_SCOPE_BASE,
	    "not a dn"), -1);
	assert_int_equal(dir_scope_covers("=,=", LDAP_SCOPE_BASE,
	    "uid=a," PEOPLE), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_specials_escaped),
		cmocka_unit_test(test_filter_nul_escaped_not_truncated),
		cmocka_unit_test(test_filter_injection_has_no_metachar),
		cmocka_unit_test(test_dn_specials_roundtrip),
		cmocka_unit_test(test_dn_escape_exact),
		cmocka_unit_test(test_escape_too_long_rejected),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_status_parse),
		cmocka_unit_test(test_scope_covers_by_scope),
		cmocka_unit_test(test_scope_covers_normal_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

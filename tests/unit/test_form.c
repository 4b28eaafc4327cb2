/* Unit tests for broker/form.c: strict form parsing and HTML escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/broker.h"

static struct brk_form *
parse_ok(const char *s)
{
	struct brk_form *f = NULL;

	assert_int_equal(brk_form_parse((const uint8_t *)s, strlen(s), &f), 0);
	assert_non_null(f);
	return f;
}

static void
expect_rejected(const char *s, size_t len, int want)
{
	struct brk_form *f = (struct brk_form *)1;

	assert_int_equal(brk_form_parse((const uint8_t *)s, len, &f), want);
	assert_null(f);
}

static void
test_form_decodes(void **state)
{
	struct brk_form *f;
	const char *v;

	(void)state;
	f = parse_ok("grant_type=authorization_code&redirect_uri=https%3A%2F%2F"
	    "rp.example%2Fcb&name=a+b%20c&empty=&flag");
	assert_int_equal(brk_form_get(f, "grant_type", &v), 0);
	assert_string_equal(v, "authorization_code");
	assert_int_equal(brk_form_get(f, "redirect_uri", &v), 0);
	assert_string_equal(v, "https://rp.example/cb");
	assert_int_equal(brk_form_get(f, "name", &v), 0);
	assert_string_equal(v, "a b c");
	assert_int_equal(brk_form_get(f, "empty", &v), 0);
	assert_string_equal(v, "");
	assert_int_equal(brk_form_get(f, "flag", &v), 0);
	assert_string_equal(v, "");
	assert_int_equal(brk_form_get(f, "absent", &v), CM_ERR_NOTFOUND);
	assert_null(v);
	brk_form_free(&f);
	assert_null(f);
}

static void
test_form_repeated_parameter_reported(void **state)
{
	struct brk_form *f;
	const char *v = "x";

	(void)state;
	f = parse_ok("code=a&code=b&state=s");
	assert_int_equal(brk_form_get(f, "code", &v), CM_ERR_INVAL);
	assert_null(v);
	assert_int_equal(brk_form_get(f, "state", &v), 0);
	brk_form_free(&f);
}

static void
test_form_utf8(void **state)
{
	struct brk_form *f;
	const char *v;

	(void)state;
	f = parse_ok("name=%E9%96%A2%E5%AE%88");	/* 関守 */
	assert_int_equal(brk_form_get(f, "name", &v), 0);
	assert_string_equal(v, "\xe9\x96\xa2\xe5\xae\x88");
	brk_form_free(&f);
}

static void test_form_bad_percent_rejected(void **s) { (void)s;
	expect_rejected("a=%zz", 5, CM_ERR_INVAL); }
static void test_form_truncated_percent_rejected(void **s) { (void)s;
	expect_rejected("a=%4", 4, CM_ERR_INVAL); }
static void test_form_lone_percent_rejected(void **s) { (void)s;
	expect_rejected("a=%", 3, CM_ERR_INVAL); }
static void test_form_encoded_nul_rejected(void **s) { (void)s;
	expect_rejected("a=x%00y", 7, CM_ERR_INVAL); }
static void test_form_raw_nul_rejected(void **s) { (void)s;
	expect_rejected("a=x\0y", 5, CM_ERR_INVAL); }
static void test_form_bad_utf8_rejected(void **s) { (void)s;
	expect_rejected("a=%C0%AF", 8, CM_ERR_INVAL); /* overlong '/' */ }
static void test_form_surrogate_rejected(void **s) { (void)s;
	expect_rejected("a=%ED%A0%80", 11, CM_ERR_INVAL); }
static void test_form_empty_key_rejected(void **s) { (void)s;
	expect_rejected("=v", 2, CM_ERR_INVAL); }
/* found by fuzz_form: an empty name after a good field failed open */
static void test_form_empty_key_after_field_rejected(void **s) { (void)s;
	expect_rejected("a=1&=b", 6, CM_ERR_INVAL); }

static void
test_form_too_many_fields_rejected(void **state)
{
	char buf[BRK_FORM_MAX_FIELDS * 8 + 16];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i <= BRK_FORM_MAX_FIELDS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "k%zu=1&", i);
	expect_rejected(buf, n, CM_ERR_RANGE);
}

static void
test_html_escape(void **state)
{
	struct cm_buf b;

	(void)state;
	cm_buf_init(&b, 1024, 0);
	assert_int_equal(brk_html_escape(&b,
	    "<script>alert('x')</script>&\""), 0);
	assert_int_equal(cm_buf_cstr(&b), 0);
	assert_string_equal((char *)b.data, "&lt;script&gt;alert(&#39;x&#39;)"
	    "&lt;/script&gt;&amp;&quot;");
	cm_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_decodes),
		cmocka_unit_test(test_form_repeated_parameter_reported),
		cmocka_unit_test(test_form_utf8),
		cmocka_unit_test(test_form_bad_percent_rejected),
		cmocka_unit_test(test_form_truncated_percent_rejected),
		cmocka_unit_test(test_form_lone_percent_rejected),
		cmocka_unit_test(test_form_encoded_nul_rejected),
		cmocka_unit_test(test_form_raw_nul_rejected),
		cmocka_unit_test(test_form_bad_utf8_rejected),
		cmocka_unit_test(test_form_surrogate_rejected),
		cmocka_unit_test(test_form_empty_key_rejected),
		cmocka_unit_test(test_form_empty_key_after_field_rejected),
		cmocka_unit_test(test_form_too_many_fields_rejected),
		cmocka_unit_test(test_html_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

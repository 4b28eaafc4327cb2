/* Unit tests for the policy parser (idp/policy.c): the example file loads;
 * every rejection gives "file:line: message" and no policy object; a
 * failed reload leaves the old policy untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cm.h"
#include "idp/assurance.h"

static idp_policy *
parse_ok(const char *text)
{
	char err[IDP_POLICY_ERR_MAX];
	idp_policy *p = NULL;
	int r;

	r = idp_policy_parse((const uint8_t *)text, strlen(text), "t.conf", &p,
	    err, sizeof(err));
	if (r != 0)
		fail_msg("unexpected error %d: %s", r, err);
	assert_non_null(p);
	return p;
}

/* The error must start with "t.conf:LINE: " and contain want. */
static void
expect_error_n(const char *text, size_t len, int code, int line,
    const char *want)
{
	char err[IDP_POLICY_ERR_MAX], prefix[32];
	idp_policy *p = (idp_policy *)1;

	assert_int_equal(idp_policy_parse((const uint8_t *)text, len, "t.conf",
	    &p, err, sizeof(err)), code);
	assert_null(p);
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 ||
	    strstr(err, want) == NULL)
		fail_msg("got \"%s\", want \"%s...%s\"", err, prefix, want);
}

static void
expect_error(const char *text, int line, const char *want)
{
	expect_error_n(text, strlen(text), CM_ERR_INVAL, line, want);
}

static void
test_policy_example_loads(void **state)
{
	char err[IDP_POLICY_ERR_MAX];
	idp_policy *p = NULL;
	const char *path = "conf/policy.example";

	(void)state;
	if (access(path, R_OK) != 0)
		path = "../conf/policy.example";
	if (access(path, R_OK) != 0)
		skip();
	if (idp_policy_load(path, &p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(idp_policy_rule_count(p), 5);
	idp_policy_free(&p);
	assert_null(p);
}

static void
test_policy_empty_file_is_empty_policy(void **state)
{
	idp_policy *p;

	(void)state;
	p = parse_ok("# nothing yet\n\n");
	assert_int_equal(idp_policy_rule_count(p), 0);
	idp_policy_free(&p);
}

static void
test_policy_syntax_variants_accepted(void **state)
{
	idp_policy *p;

	(void)state;
	p = parse_ok("; comment\r\n[ rule  a.b_c-1 ]\r\n\tmatch.client=x\r\n"
	    "require.level = aal2   \r\nrequire.methods = otp ,hwk\r\n"
	    "allow.networks = 10.0.0.0/8,::1, 2001:db8::/32\r\n"
	    "[rule b]\nrequire.max_age = 0\n");
	assert_int_equal(idp_policy_rule_count(p), 2);
	idp_policy_free(&p);
}

static void
test_policy_key_outside_rule_rejected(void **state)
{
	(void)state;
	expect_error("# x\nrequire.level = aal2\n", 2,
	    "outside a [rule NAME] section");
}

static void
test_policy_unknown_key_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level = aal2\nmatch.grop = admins\n",
	    3, "unknown key \"match.grop\"");
}

static void
test_policy_repeated_key_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level = aal2\nrequire.level = aal3\n",
	    3, "repeated key \"require.level\"");
}

static void
test_policy_missing_equals_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level aal2\n", 2,
	    "expected \"key = value\"");
}

static void
test_policy_empty_value_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level =\n", 2, "empty value");
}

static void
test_policy_empty_list_item_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level = aal2\nmatch.group = a,,b\n", 3,
	    "empty list item");
}

static void
test_policy_bad_section_rejected(void **state)
{
	(void)state;
	expect_error("[policy a]\n", 1, "expected [rule NAME]");
	expect_error("[rule a\n", 1, "without ']'");
	expect_error("[rule]\n", 1, "expected [rule NAME]");
}

static void
test_policy_bad_rule_name_rejected(void **state)
{
	(void)state;
	expect_error("[rule a b]\n", 1, "bad rule name");
	expect_error("[rule client:x]\n", 1, "bad rule name");
	expect_error("[rule default]\n", 1, "bad rule name");
}

static void
test_policy_duplicate_rule_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level = aal2\n\n[rule a]\n", 4,
	    "duplicate rule name \"a\" (first at line 1)");
}

static void
test_policy_rule_without_requirement_rejected(void **state)
{
	(void)state;
	/* reported at the rule's header line, both mid-file and at the end */
	expect_error("[rule a]\nmatch.client = x\n[rule b]\n"
	    "require.level = aal1\n", 1, "rule a has no require.*");
	expect_error("[rule a]\nrequire.level = aal1\n[rule b]\n"
	    "mode = report-only\n", 3, "rule b has no require.*");
}

static void
test_policy_bad_level_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level = AAL2\n", 2,
	    "require.level must be aal1, aal2 or aal3, not \"AAL2\"");
	expect_error("[rule a]\nrequire.level = aal4\n", 2, "require.level");
}

static void
test_policy_unknown_method_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.methods = otp, totp\n", 2,
	    "unknown method \"totp\"");
}

static void
test_policy_bad_max_age_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.max_age = -1\n", 2, "require.max_age");
	expect_error("[rule a]\nrequire.max_age = 1h\n", 2, "require.max_age");
	expect_error("[rule a]\nrequire.max_age = 99999999999\n", 2,
	    "require.max_age");
}

static void
test_policy_bad_mode_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level = aal2\nmode = audit\n", 3,
	    "mode must be enforce or report-only");
}

static void
test_policy_bad_network_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nallow.networks = 10.0.0.0/33\n", 2,
	    "bad prefix length");
	expect_error("[rule a]\nallow.networks = 10.0.0/8\n", 2,
	    "bad network address");
	expect_error("[rule a]\nrequire.level = aal2\n"
	    "match.network = 2001:db8::/129\n", 3, "bad prefix length");
	expect_error("[rule a]\nrequire.level = aal2\n"
	    "match.network = example.org\n", 3, "bad network address");
	expect_error("[rule a]\nallow.networks = 10.0.0.0/\n", 2,
	    "bad prefix length");
	expect_error("[rule a]\nallow.networks = /8\n", 2, "bad network");
}

static void
test_policy_network_host_bits_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nallow.networks = 10.1.2.3/8\n", 2,
	    "host bits set in \"10.1.2.3/8\"");
	expect_error("[rule a]\nallow.networks = 2001:db8::1/64\n", 2,
	    "host bits set");
}

static void
test_policy_bad_scope_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level = aal2\nmatch.scope = a\"b\n",
	    3, "bad scope");
}

static void
test_policy_control_character_rejected(void **state)
{
	(void)state;
	expect_error("[rule a]\nrequire.level = aal2\x01\n", 2,
	    "control character 0x01");
}

static void
test_policy_nul_byte_rejected(void **state)
{
	static const char text[] = "[rule a]\nrequire.level = aal2\0x\n";

	(void)state;
	expect_error_n(text, sizeof(text) - 1, CM_ERR_INVAL, 2,
	    "control character 0x00");
}

static void
test_policy_long_line_rejected(void **state)
{
	char *text;

	(void)state;
	assert_non_null(text = malloc(IDP_POLICY_LINE_MAX + 64));
	strcpy(text, "[rule a]\ndescription = ");
	memset(text + strlen(text), 'x', IDP_POLICY_LINE_MAX);
	text[IDP_POLICY_LINE_MAX + 10] = '\0';
	expect_error_n(text, strlen(text), CM_ERR_RANGE, 2,
	    "line longer than");
	free(text);
}

static void
test_policy_too_many_list_items_rejected(void **state)
{
	char *text;
	size_t i, off;

	(void)state;
	assert_non_null(text = malloc(4096));
	off = (size_t)snprintf(text, 4096, "[rule a]\nrequire.level = aal1\n"
	    "match.client = c");
	for (i = 0; i < IDP_POLICY_LIST_MAX; i++)
		off += (size_t)snprintf(text + off, 4096 - off, ",c");
	snprintf(text + off, 4096 - off, "\n");
	expect_error_n(text, strlen(text), CM_ERR_RANGE, 3,
	    "more than 256 list items");
	free(text);
}

static void
test_policy_error_without_buffer(void **state)
{
	idp_policy *p = (idp_policy *)1;

	(void)state;
	assert_int_equal(idp_policy_parse((const uint8_t *)"[x]\n", 4, "t",
	    &p, NULL, 0), CM_ERR_INVAL);
	assert_null(p);
}

static void
test_policy_failed_reload_keeps_old(void **state)
{
	char path[] = "/tmp/test_policy_parse.XXXXXX", err[IDP_POLICY_ERR_MAX];
	idp_policy *cur, *n = (idp_policy *)1;
	FILE *f;
	int fd;

	(void)state;
	cur = parse_ok("[rule a]\nrequire.level = aal2\n");
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("[rule a]\nrequire.level = aal2\n[rule b]\nrequire.level = "
	    "high\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(idp_policy_load(path, &n, err, sizeof(err)),
	    CM_ERR_INVAL);
	assert_null(n);
	assert_non_null(strstr(err, ":4: require.level must be"));
	assert_true(strncmp(err, path, strlen(path)) == 0);
	/* the caller keeps cur, which still works */
	assert_int_equal(idp_policy_rule_count(cur), 1);
	assert_int_equal(unlink(path), 0);
	/* a missing file is an error too, with the path */
	assert_int_equal(idp_policy_load(path, &n, err, sizeof(err)),
	    CM_ERR_NOTFOUND);
	assert_non_null(strstr(err, path));
	idp_policy_free(&cur);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_example_loads),
		cmocka_unit_test(test_policy_empty_file_is_empty_policy),
		cmocka_unit_test(test_policy_syntax_variants_accepted),
		cmocka_unit_test(test_policy_key_outside_rule_rejected),
		cmocka_unit_test(test_policy_unknown_key_rejected),
		cmocka_unit_test(test_policy_repeated_key_rejected),
		cmocka_unit_test(test_policy_missing_equals_rejected),
		cmocka_unit_test(test_policy_empty_value_rejected),
		cmocka_unit_test(test_policy_empty_list_item_rejected),
		cmocka_unit_test(test_policy_bad_section_rejected),
		cmocka_unit_test(test_policy_bad_rule_name_rejected),
		cmocka_unit_test(test_policy_duplicate_rule_rejected),
		cmocka_unit_test(test_policy_rule_without_requirement_rejected),
		cmocka_unit_test(test_policy_bad_level_rejected),
		cmocka_unit_test(test_policy_unknown_method_rejected),
		cmocka_unit_test(test_policy_bad_max_age_rejected),
		cmocka_unit_test(test_policy_bad_mode_rejected),
		cmocka_unit_test(test_policy_bad_network_rejected),
		cmocka_unit_test(test_policy_network_host_bits_rejected),
		cmocka_unit_test(test_policy_bad_scope_rejected),
		cmocka_unit_test(test_policy_control_character_rejected),
		cmocka_unit_test(test_policy_nul_byte_rejected),
		cmocka_unit_test(test_policy_long_line_rejected),
		cmocka_unit_test(test_policy_too_many_list_items_rejected),
		cmocka_unit_test(test_policy_error_without_buffer),
		cmocka_unit_test(test_policy_failed_reload_keeps_old),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

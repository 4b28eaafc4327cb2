/* Unit tests for the policy keys of continuous evaluation (issue 9):
 * match.host, match.path, match.risk, match.device and deny. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "idp/assurance.h"

static const char rules[] =
	"[rule admin-area]\n"
	"match.host = app.example.test\n"
	"match.path = /admin\n"
	"require.level = aal2\n"
	"\n"
	"[rule quarantine]\n"
	"match.device = not-compliant, unknown\n"
	"deny = yes\n"
	"\n"
	"[rule risky]\n"
	"match.risk = high\n"
	"deny = yes\n"
	"\n"
	"[rule watch]\n"
	"mode = report-only\n"
	"match.risk = medium\n"
	"require.level = aal3\n";

static idp_policy *
load(void)
{
	idp_policy *p = NULL;
	char err[256];

	assert_int_equal(idp_policy_parse((const uint8_t *)rules,
	    strlen(rules), "t", &p, err, sizeof(err)), 0);
	return p;
}

static void
ctx_init(struct idp_policy_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->client_id = "rp";
	c->source_ip = "192.0.2.1";
	c->aal = IDP_AAL1;
	c->amr = 0;
	c->now = 1800000000;
	c->auth_time = c->now - 10;
	c->max_age = -1;
	c->host = "app.example.test";
	c->path = "/";
}

static enum idp_policy_effect
eval(idp_policy *p, struct idp_policy_ctx *c, struct idp_policy_decision *d)
{
	assert_int_equal(idp_policy_evaluate(p, c, d), 0);
	return d->effect;
}

static void
test_path_prefix_on_segment_boundary(void **state)
{
	struct idp_policy_ctx c;
	struct idp_policy_decision d;
	idp_policy *p = load();

	(void)state;
	ctx_init(&c);
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	c.path = "/admin";
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_STEP_UP);
	assert_string_equal(d.rule, "admin-area");
	assert_int_equal(d.level, IDP_AAL2);
	c.path = "/admin/users";
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_STEP_UP);
	c.path = "/administrator";
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	c.path = "/admin";
	c.aal = IDP_AAL2;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	idp_policy_free(&p);
}

static void
test_host_must_match(void **state)
{
	struct idp_policy_ctx c;
	struct idp_policy_decision d;
	idp_policy *p = load();

	(void)state;
	ctx_init(&c);
	c.path = "/admin";
	c.host = "APP.example.TEST";		/* case-insensitive */
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_STEP_UP);
	c.host = "other.example.test";
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	c.host = NULL;				/* at login: no resource */
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	idp_policy_free(&p);
}

static void
test_device_not_compliant_denied(void **state)
{
	struct idp_policy_ctx c;
	struct idp_policy_decision d;
	idp_policy *p = load();

	(void)state;
	ctx_init(&c);
	c.device = IDP_DEVICE_COMPLIANT;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	c.device = IDP_DEVICE_NOT_COMPLIANT;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_DENY);
	assert_string_equal(d.rule, "quarantine");
	assert_non_null(strstr(d.reason, "refused by rule quarantine"));
	c.device = IDP_DEVICE_UNKNOWN;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_DENY);
	c.device = IDP_DEVICE_NONE;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	idp_policy_free(&p);
}

static void
test_risk_at_least(void **state)
{
	struct idp_policy_ctx c;
	struct idp_policy_decision d;
	idp_policy *p = load();

	(void)state;
	ctx_init(&c);
	c.risk = IDP_RISK_MEDIUM;
	/* medium: only the report-only rule matches; nothing enforced */
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	assert_int_equal(d.nreports, 1);
	assert_string_equal(d.reports[0].rule, "watch");
	assert_int_equal(d.reports[0].effect, IDP_POLICY_STEP_UP);
	c.risk = IDP_RISK_HIGH;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_DENY);
	assert_string_equal(d.rule, "risky");
	idp_policy_free(&p);
}

static void
test_require_ial_denies_below(void **state)
{
	static const char text[] =
	    "[rule payroll]\nmatch.client = payroll\nrequire.ial = ial2\n"
	    "\n[rule unproofed-devices]\nmatch.client = payroll\n"
	    "match.device_proofed = no\nrequire.level = aal2\n";
	struct idp_policy_ctx c;
	struct idp_policy_decision d;
	idp_policy *p = NULL;
	char err[256];

	(void)state;
	assert_int_equal(idp_policy_parse((const uint8_t *)text, strlen(text),
	    "t", &p, err, sizeof(err)), 0);
	ctx_init(&c);
	c.client_id = "payroll";
	c.device_proofed = 1;
	c.ial = 1;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_DENY);
	assert_string_equal(d.rule, "payroll");
	assert_non_null(strstr(d.reason, "IAL2"));
	c.ial = 2;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	/* an unproofed device (or none): step up, per the second rule */
	c.device_proofed = 0;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_STEP_UP);
	assert_string_equal(d.rule, "unproofed-devices");
	c.device_proofed = -1;
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_STEP_UP);
	c.client_id = "other";
	assert_int_equal(eval(p, &c, &d), IDP_POLICY_ALLOW);
	idp_policy_free(&p);
}

static void
expect_parse_error(const char *text, const char *want)
{
	idp_policy *p = NULL;
	char err[256] = "";

	assert_int_not_equal(idp_policy_parse((const uint8_t *)text,
	    strlen(text), "t", &p, err, sizeof(err)), 0);
	assert_null(p);
	assert_non_null(strstr(err, want));
}

static void test_bad_path_rejected(void **s) { (void)s;
	expect_parse_error("[rule x]\nmatch.path = admin\ndeny = yes\n",
	    "t:2: bad path prefix"); }
static void test_dot_segment_path_rejected(void **s) { (void)s;
	expect_parse_error("[rule x]\nmatch.path = /a/../b\ndeny = yes\n",
	    "t:2: bad path prefix"); }
static void test_bad_risk_rejected(void **s) { (void)s;
	expect_parse_error("[rule x]\nmatch.risk = extreme\ndeny = yes\n",
	    "t:2: match.risk"); }
static void test_low_risk_rejected(void **s) { (void)s;
	expect_parse_error("[rule x]\nmatch.risk = low\ndeny = yes\n",
	    "t:2: match.risk"); }
static void test_bad_device_rejected(void **s) { (void)s;
	expect_parse_error("[rule x]\nmatch.device = broken\ndeny = yes\n",
	    "t:2: match.device"); }
static void test_deny_no_rejected(void **s) { (void)s;
	expect_parse_error("[rule x]\nmatch.risk = high\ndeny = no\n",
	    "t:3: deny takes only yes"); }
static void test_bad_ial_rejected(void **s) { (void)s;
	expect_parse_error("[rule x]\nrequire.ial = ial4\n",
	    "t:2: require.ial"); }
static void test_bad_host_rejected(void **s) { (void)s;
	expect_parse_error("[rule x]\nmatch.host = a/b\ndeny = yes\n",
	    "t:2: bad host"); }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_prefix_on_segment_boundary),
		cmocka_unit_test(test_host_must_match),
		cmocka_unit_test(test_device_not_compliant_denied),
		cmocka_unit_test(test_risk_at_least),
		cmocka_unit_test(test_bad_path_rejected),
		cmocka_unit_test(test_dot_segment_path_rejected),
		cmocka_unit_test(test_bad_risk_rejected),
		cmocka_unit_test(test_low_risk_rejected),
		cmocka_unit_test(test_bad_device_rejected),
		cmocka_unit_test(test_deny_no_rejected),
		cmocka_unit_test(test_bad_host_rejected),
		cmocka_unit_test(test_require_ial_denies_below),
		cmocka_unit_test(test_bad_ial_rejected),
	};

	if (cm_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for policy evaluation (idp/policy.c): each matcher (client,
 * scope, group, network v4/v6, not_network), combination of rules
 * (strictest wins, named), step-up, max_age reauthentication, network
 * refusal, report-only, client acr_values/max_age, built-in lifetimes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cm.h"
#include "idp/assurance.h"

#define NOW	1700000000

static idp_policy *
pol(const char *text)
{
	char err[IDP_POLICY_ERR_MAX];
	idp_policy *p = NULL;

	if (idp_policy_parse((const uint8_t *)text, strlen(text), "t.conf", &p,
	    err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return p;
}

/* A session at AAL1 (password), 60 s old, from 10.1.2.3. */
static void
ctx_init(struct idp_policy_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->client_id = "app";
	c->source_ip = "10.1.2.3";
	c->aal = IDP_AAL1;
	c->amr = IDP_AMR_PWD;
	c->auth_time = NOW - 60;
	c->now = NOW;
	c->max_age = -1;
}

static void
eval(const idp_policy *p, const struct idp_policy_ctx *c,
    struct idp_policy_decision *d)
{
	assert_int_equal(idp_policy_evaluate(p, c, d), 0);
}

static void
expect(const idp_policy *p, const struct idp_policy_ctx *c,
    enum idp_policy_effect effect, const char *rule)
{
	struct idp_policy_decision d;

	eval(p, c, &d);
	if (d.effect != effect || strcmp(d.rule, rule) != 0)
		fail_msg("got %s by %s (%s), want %s by %s",
		    idp_policy_effect_name(d.effect), d.rule, d.reason,
		    idp_policy_effect_name(effect), rule);
}

static void
test_policy_no_rule_allows(void **state)
{
	idp_policy *p = pol("");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;

	(void)state;
	ctx_init(&c);
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_ALLOW);
	assert_string_equal(d.rule, "default");
	assert_string_equal(d.matched, "");
	idp_policy_free(&p);
}

static void
test_policy_step_up_aal1_to_aal2(void **state)
{
	idp_policy *p = pol("[rule mfa]\ndescription = two factors\n"
	    "require.level = aal2\n");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;

	(void)state;
	ctx_init(&c);
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_STEP_UP);
	assert_int_equal(d.level, IDP_AAL2);
	assert_string_equal(d.rule, "mfa");
	assert_string_equal(d.matched, "mfa");
	assert_non_null(strstr(d.reason, "mfa requires aal2, the session "
	    "has aal1: two factors"));
	/* after the step-up (password + TOTP) */
	c.aal = IDP_AAL2;
	c.amr = IDP_AMR_PWD | IDP_AMR_OTP | IDP_AMR_MFA;
	expect(p, &c, IDP_POLICY_ALLOW, "mfa");
	idp_policy_free(&p);
}

static void
test_policy_unauthenticated_must_log_in(void **state)
{
	idp_policy *p = pol("[rule mfa]\nrequire.level = aal2\n");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;

	(void)state;
	ctx_init(&c);
	c.aal = IDP_AAL_NONE;
	c.amr = 0;
	c.auth_time = 0;
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_STEP_UP);
	assert_int_equal(d.level, IDP_AAL2);
	idp_policy_free(&p);
	p = pol("");
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_STEP_UP);
	assert_int_equal(d.level, IDP_AAL1);
	idp_policy_free(&p);
}

static void
test_policy_match_client(void **state)
{
	idp_policy *p = pol("[rule r]\nmatch.client = hr, payroll\n"
	    "require.level = aal2\n");
	struct idp_policy_ctx c;

	(void)state;
	ctx_init(&c);
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	c.client_id = "payroll";
	expect(p, &c, IDP_POLICY_STEP_UP, "r");
	c.client_id = "Payroll";	/* client ids are exact */
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	idp_policy_free(&p);
}

static void
test_policy_match_scope(void **state)
{
	idp_policy *p = pol("[rule r]\nmatch.scope = admin, payroll:write\n"
	    "require.level = aal2\n");
	struct idp_policy_ctx c;
	const char *s1[] = { "openid", "profile" };
	const char *s2[] = { "openid", "payroll:write" };

	(void)state;
	ctx_init(&c);
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	c.scopes = s1;
	c.nscopes = 2;
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	c.scopes = s2;
	expect(p, &c, IDP_POLICY_STEP_UP, "r");
	idp_policy_free(&p);
}

static void
test_policy_match_group(void **state)
{
	idp_policy *p = pol("[rule r]\nmatch.group = Domain Admins, ops\n"
	    "require.level = aal2\n");
	struct idp_policy_ctx c;
	const char *g1[] = { "staff" };
	const char *g2[] = { "staff", "domain admins" };

	(void)state;
	ctx_init(&c);
	c.groups = g1;
	c.ngroups = 1;
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	c.groups = g2;
	c.ngroups = 2;
	/* group names compare case-insensitively, like LDAP cn */
	expect(p, &c, IDP_POLICY_STEP_UP, "r");
	idp_policy_free(&p);
}

static void
test_policy_match_network_v4(void **state)
{
	idp_policy *p = pol("[rule r]\nmatch.network = 192.0.2.0/25, "
	    "198.51.100.7\nrequire.level = aal2\n");
	struct idp_policy_ctx c;

	(void)state;
	ctx_init(&c);
	c.source_ip = "192.0.2.127";
	expect(p, &c, IDP_POLICY_STEP_UP, "r");
	c.source_ip = "192.0.2.128";
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	c.source_ip = "198.51.100.7";
	expect(p, &c, IDP_POLICY_STEP_UP, "r");
	c.source_ip = "198.51.100.8";
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	/* an IPv4-mapped IPv6 source is the IPv4 address */
	c.source_ip = "::ffff:192.0.2.1";
	expect(p, &c, IDP_POLICY_STEP_UP, "r");
	idp_policy_free(&p);
}

static void
test_policy_match_network_v6(void **state)
{
	idp_policy *p = pol("[rule r]\nmatch.network = 2001:db8:a::/47\n"
	    "require.level = aal2\n");
	struct idp_policy_ctx c;

	(void)state;
	ctx_init(&c);
	c.source_ip = "2001:db8:b:ffff::1";
	expect(p, &c, IDP_POLICY_STEP_UP, "r");
	c.source_ip = "2001:db8:c::1";
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	/* a v4 source never matches a v6 network */
	c.source_ip = "10.1.2.3";
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	idp_policy_free(&p);
}

static void
test_policy_match_not_network(void **state)
{
	idp_policy *p = pol("[rule outside]\nmatch.not_network = 10.0.0.0/8,"
	    " 2001:db8::/32\nrequire.level = aal3\n");
	struct idp_policy_ctx c;

	(void)state;
	ctx_init(&c);
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	c.source_ip = "2001:db8::5";
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	c.source_ip = "203.0.113.9";
	expect(p, &c, IDP_POLICY_STEP_UP, "outside");
	idp_policy_free(&p);
}

static void
test_policy_all_conditions_must_match(void **state)
{
	idp_policy *p = pol("[rule r]\nmatch.client = app\n"
	    "match.group = admins\nrequire.level = aal2\n");
	struct idp_policy_ctx c;
	const char *g[] = { "admins" };

	(void)state;
	ctx_init(&c);
	expect(p, &c, IDP_POLICY_ALLOW, "default");	/* group missing */
	c.groups = g;
	c.ngroups = 1;
	expect(p, &c, IDP_POLICY_STEP_UP, "r");
	c.client_id = "other";
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	idp_policy_free(&p);
}

static void
test_policy_network_not_allowed_denied(void **state)
{
	idp_policy *p = pol("[rule admins]\nmatch.group = admins\n"
	    "description = admin networks only\n"
	    "allow.networks = 10.20.0.0/16, 2001:db8:20::/48\n"
	    "require.level = aal3\n");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;
	const char *g[] = { "admins" };

	(void)state;
	ctx_init(&c);
	c.groups = g;
	c.ngroups = 1;
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_DENY);
	assert_string_equal(d.rule, "admins");
	assert_non_null(strstr(d.reason, "not in allow.networks of rule "
	    "admins: admin networks only"));
	/* even with the strongest session */
	c.aal = IDP_AAL3;
	c.amr = IDP_AMR_HWK | IDP_AMR_MFA;
	expect(p, &c, IDP_POLICY_DENY, "admins");
	c.source_ip = "10.20.1.1";
	expect(p, &c, IDP_POLICY_ALLOW, "admins");
	c.source_ip = "2001:db8:20:1::1";
	expect(p, &c, IDP_POLICY_ALLOW, "admins");
	/* not an admin: the rule does not apply */
	c.ngroups = 0;
	c.source_ip = "203.0.113.1";
	expect(p, &c, IDP_POLICY_ALLOW, "default");
	idp_policy_free(&p);
}

static void
test_policy_every_allow_networks_must_admit(void **state)
{
	idp_policy *p = pol("[rule a]\nallow.networks = 10.0.0.0/8\n"
	    "[rule b]\nallow.networks = 10.1.0.0/16\n");
	struct idp_policy_ctx c;

	(void)state;
	ctx_init(&c);
	expect(p, &c, IDP_POLICY_ALLOW, "a");
	c.source_ip = "10.2.0.1";
	expect(p, &c, IDP_POLICY_DENY, "b");
	c.source_ip = "11.0.0.1";
	expect(p, &c, IDP_POLICY_DENY, "a");	/* the first refusing rule */
	idp_policy_free(&p);
}

static void
test_policy_strictest_rule_wins(void **state)
{
	/* order does not matter: the later, stricter rule decides */
	idp_policy *p = pol("[rule base]\nrequire.level = aal2\n"
	    "require.max_age = 86400\n"
	    "[rule admin]\nmatch.group = admins\nrequire.level = aal3\n"
	    "require.max_age = 900\n"
	    "[rule loose]\nrequire.level = aal1\n");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;
	const char *g[] = { "admins" };

	(void)state;
	ctx_init(&c);
	c.aal = IDP_AAL2;
	c.amr = IDP_AMR_PWD | IDP_AMR_OTP | IDP_AMR_MFA;
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_ALLOW);
	assert_string_equal(d.matched, "base,loose");
	assert_true(d.max_age == 86400);
	c.groups = g;
	c.ngroups = 1;
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_STEP_UP);
	assert_int_equal(d.level, IDP_AAL3);
	assert_string_equal(d.rule, "admin");
	assert_string_equal(d.matched, "base,admin,loose");
	assert_true(d.max_age == 900);
	idp_policy_free(&p);
}

static void
test_policy_max_age_reauthenticates(void **state)
{
	idp_policy *p = pol("[rule fresh]\nrequire.max_age = 300\n");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;

	(void)state;
	ctx_init(&c);
	c.auth_time = NOW - 300;
	expect(p, &c, IDP_POLICY_ALLOW, "fresh");
	c.auth_time = NOW - 301;
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_REAUTHENTICATE);
	assert_string_equal(d.rule, "fresh");
	assert_non_null(strstr(d.reason, "authenticated 301 s ago"));
	idp_policy_free(&p);
}

static void
test_policy_methods_required(void **state)
{
	idp_policy *p = pol("[rule keys]\nrequire.methods = hwk\n"
	    "[rule otp-or-key]\nrequire.methods = otp, hwk\n");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;

	(void)state;
	ctx_init(&c);
	c.aal = IDP_AAL2;
	c.amr = IDP_AMR_PWD | IDP_AMR_OTP | IDP_AMR_MFA;
	eval(p, &c, &d);
	/* otp satisfies the second rule, not the first */
	assert_int_equal(d.effect, IDP_POLICY_STEP_UP);
	assert_string_equal(d.rule, "keys");
	assert_int_equal(d.methods, IDP_AMR_HWK);
	assert_non_null(strstr(d.reason, "requires one of: hwk"));
	c.amr = IDP_AMR_PWD | IDP_AMR_SWK | IDP_AMR_MFA;
	eval(p, &c, &d);
	/* both unsatisfied: offer what satisfies both */
	assert_int_equal(d.effect, IDP_POLICY_STEP_UP);
	assert_int_equal(d.methods, IDP_AMR_HWK);
	c.amr = IDP_AMR_HWK | IDP_AMR_USER | IDP_AMR_MFA;
	c.aal = IDP_AAL3;
	expect(p, &c, IDP_POLICY_ALLOW, "keys");
	idp_policy_free(&p);
}

static void
test_policy_report_only_logged_not_enforced(void **state)
{
	idp_policy *p = pol("[rule base]\nrequire.level = aal1\n"
	    "[rule trial]\nmode = report-only\nrequire.level = aal3\n"
	    "[rule trial-net]\nmode = report-only\n"
	    "allow.networks = 192.0.2.0/24\n"
	    "[rule other]\nmode = report-only\nmatch.client = nobody\n"
	    "require.level = aal3\n");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;

	(void)state;
	ctx_init(&c);
	eval(p, &c, &d);
	/* not enforced */
	assert_int_equal(d.effect, IDP_POLICY_ALLOW);
	assert_string_equal(d.rule, "base");
	assert_string_equal(d.matched, "base");
	/* but reported, with what they would have decided */
	assert_int_equal(d.nreports, 2);
	assert_string_equal(d.reports[0].rule, "trial");
	assert_int_equal(d.reports[0].effect, IDP_POLICY_STEP_UP);
	assert_int_equal(d.reports[0].level, IDP_AAL3);
	assert_non_null(strstr(d.reports[0].reason, "trial requires aal3"));
	assert_string_equal(d.reports[1].rule, "trial-net");
	assert_int_equal(d.reports[1].effect, IDP_POLICY_DENY);
	assert_int_equal(d.reports_dropped, 0);
	idp_policy_free(&p);
}

static void
test_policy_client_acr_values_honoured(void **state)
{
	idp_policy *p = pol("[rule base]\nrequire.level = aal1\n");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;
	const char *acr[] = { "urn:sekimori:acr:aal3",
	    "urn:sekimori:acr:aal2" };
	const char *nist[] = { "http://idmanagement.gov/ns/assurance/aal/2" };
	const char *unknown[] = { "urn:example:loa:4" };

	(void)state;
	ctx_init(&c);
	c.acr_values = acr;
	c.nacr_values = 2;
	eval(p, &c, &d);
	/* either value is acceptable: aal2 suffices */
	assert_int_equal(d.effect, IDP_POLICY_STEP_UP);
	assert_int_equal(d.level, IDP_AAL2);
	assert_string_equal(d.rule, "client:acr_values");
	c.nacr_values = 1;
	eval(p, &c, &d);
	assert_int_equal(d.level, IDP_AAL3);
	c.aal = IDP_AAL3;
	c.amr = IDP_AMR_HWK | IDP_AMR_MFA;
	expect(p, &c, IDP_POLICY_ALLOW, "base");
	/* the NIST-style alias */
	c.aal = IDP_AAL1;
	c.acr_values = nist;
	expect(p, &c, IDP_POLICY_STEP_UP, "client:acr_values");
	/* unknown values are ignored (acr is voluntary) */
	c.acr_values = unknown;
	expect(p, &c, IDP_POLICY_ALLOW, "base");
	/* a policy requirement is never lowered by the client */
	idp_policy_free(&p);
	p = pol("[rule base]\nrequire.level = aal3\n");
	c.acr_values = acr + 1;
	eval(p, &c, &d);
	assert_int_equal(d.level, IDP_AAL3);
	assert_string_equal(d.rule, "base");
	idp_policy_free(&p);
}

static void
test_policy_client_max_age_honoured(void **state)
{
	idp_policy *p = pol("[rule base]\nrequire.max_age = 3600\n");
	struct idp_policy_ctx c;

	(void)state;
	ctx_init(&c);
	c.max_age = 30;
	expect(p, &c, IDP_POLICY_REAUTHENTICATE, "client:max_age");
	c.max_age = 600;
	expect(p, &c, IDP_POLICY_ALLOW, "base");
	/* max_age=0 forces a fresh login, which then satisfies it */
	c.max_age = 0;
	expect(p, &c, IDP_POLICY_REAUTHENTICATE, "client:max_age");
	c.auth_time = NOW;
	expect(p, &c, IDP_POLICY_ALLOW, "base");
	idp_policy_free(&p);
}

static void
test_policy_stale_aal3_session_reauthenticates(void **state)
{
	idp_policy *p = pol("[rule admin]\nrequire.level = aal3\n");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;

	(void)state;
	ctx_init(&c);
	c.aal = IDP_AAL3;
	c.amr = IDP_AMR_HWK | IDP_AMR_MFA;
	c.auth_time = NOW - 12 * 3600;
	expect(p, &c, IDP_POLICY_ALLOW, "admin");
	c.auth_time = NOW - 12 * 3600 - 1;
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_REAUTHENTICATE);
	assert_string_equal(d.rule, "builtin:aal-lifetime");
	assert_int_equal(d.level, IDP_AAL3);
	idp_policy_free(&p);
	/* the same session still holds aal2 for a rule that asks for it */
	p = pol("[rule mfa]\nrequire.level = aal2\n");
	expect(p, &c, IDP_POLICY_ALLOW, "mfa");
	/* and nothing at all after 30 days */
	c.auth_time = NOW - 31 * 86400;
	expect(p, &c, IDP_POLICY_REAUTHENTICATE, "builtin:aal-lifetime");
	idp_policy_free(&p);
}

static void
test_policy_bad_source_ip_denied(void **state)
{
	idp_policy *p = pol("");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;

	(void)state;
	ctx_init(&c);
	c.source_ip = "10.1.2";
	assert_int_equal(idp_policy_evaluate(p, &c, &d), CM_ERR_INVAL);
	assert_int_equal(d.effect, IDP_POLICY_DENY);
	c.source_ip = NULL;
	assert_int_equal(idp_policy_evaluate(p, &c, &d), CM_ERR_INVAL);
	assert_int_equal(d.effect, IDP_POLICY_DENY);
	idp_policy_free(&p);
}

static void
test_policy_missing_client_denied(void **state)
{
	idp_policy *p = pol("");
	struct idp_policy_ctx c;
	struct idp_policy_decision d;

	(void)state;
	ctx_init(&c);
	c.client_id = NULL;
	assert_int_equal(idp_policy_evaluate(p, &c, &d), CM_ERR_INVAL);
	assert_int_equal(d.effect, IDP_POLICY_DENY);
	ctx_init(&c);
	c.nscopes = 2;	/* with a NULL array */
	assert_int_equal(idp_policy_evaluate(p, &c, &d), CM_ERR_INVAL);
	assert_int_equal(idp_policy_evaluate(NULL, &c, &d), CM_ERR_INVAL);
	idp_policy_free(&p);
}

static void
test_policy_example_file_decisions(void **state)
{
	char err[IDP_POLICY_ERR_MAX];
	idp_policy *p = NULL;
	struct idp_policy_ctx c;
	struct idp_policy_decision d;
	const char *admins[] = { "staff", "broker-admins" };
	const char *rpa[] = { "rpa-owners" };

	(void)state;
	if (idp_policy_load("conf/policy.example", &p, err, sizeof(err)) != 0)
		skip();
	ctx_init(&c);
	/* password only: the baseline asks for aal2 */
	expect(p, &c, IDP_POLICY_STEP_UP, "baseline-mfa");
	/* an administrator outside the admin networks */
	c.groups = admins;
	c.ngroups = 2;
	expect(p, &c, IDP_POLICY_DENY, "admins");
	c.source_ip = "10.20.3.4";
	expect(p, &c, IDP_POLICY_STEP_UP, "admins");
	c.aal = IDP_AAL3;
	c.amr = IDP_AMR_HWK | IDP_AMR_USER | IDP_AMR_MFA;
	c.auth_time = NOW - 901;
	expect(p, &c, IDP_POLICY_REAUTHENTICATE, "admins");
	c.auth_time = NOW - 60;
	expect(p, &c, IDP_POLICY_ALLOW, "baseline-mfa");
	/* someone at home with TOTP: off-network wants aal3 */
	c.ngroups = 0;
	c.source_ip = "203.0.113.5";
	c.aal = IDP_AAL2;
	c.amr = IDP_AMR_PWD | IDP_AMR_OTP | IDP_AMR_MFA;
	expect(p, &c, IDP_POLICY_STEP_UP, "off-network");
	/* rpa owner on the network: allowed, with a report */
	c.source_ip = "10.1.1.1";
	c.groups = rpa;
	c.ngroups = 1;
	eval(p, &c, &d);
	assert_int_equal(d.effect, IDP_POLICY_ALLOW);
	assert_int_equal(d.nreports, 1);
	assert_string_equal(d.reports[0].rule, "rpa-owners-keys");
	assert_int_equal(d.reports[0].effect, IDP_POLICY_STEP_UP);
	assert_int_equal(d.reports[0].methods, IDP_AMR_HWK);
	idp_policy_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_no_rule_allows),
		cmocka_unit_test(test_policy_step_up_aal1_to_aal2),
		cmocka_unit_test(test_policy_unauthenticated_must_log_in),
		cmocka_unit_test(test_policy_match_client),
		cmocka_unit_test(test_policy_match_scope),
		cmocka_unit_test(test_policy_match_group),
		cmocka_unit_test(test_policy_match_network_v4),
		cmocka_unit_test(test_policy_match_network_v6),
		cmocka_unit_test(test_policy_match_not_network),
		cmocka_unit_test(test_policy_all_conditions_must_match),
		cmocka_unit_test(test_policy_network_not_allowed_denied),
		cmocka_unit_test(test_policy_every_allow_networks_must_admit),
		cmocka_unit_test(test_policy_strictest_rule_wins),
		cmocka_unit_test(test_policy_max_age_reauthenticates),
		cmocka_unit_test(test_policy_methods_required),
		cmocka_unit_test(test_policy_report_only_logged_not_enforced),
		cmocka_unit_test(test_policy_client_acr_values_honoured),
		cmocka_unit_test(test_policy_client_max_age_honoured),
		cmocka_unit_test(test_policy_stale_aal3_session_reauthenticates),
		cmocka_unit_test(test_policy_bad_source_ip_denied),
		cmocka_unit_test(test_policy_missing_client_denied),
		cmocka_unit_test(test_policy_example_file_decisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

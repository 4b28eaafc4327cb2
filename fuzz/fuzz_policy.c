/* libFuzzer target: the assurance policy parser (idp_policy_parse), and
 * evaluation of whatever parses against a few fixed requests. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "idp/assurance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ips[] = { "10.20.1.2", "203.0.113.9",
	    "2001:db8:20::1", "::ffff:192.0.2.1" };
	static const char *const scopes[] = { "openid", "payroll:write" };
	static const char *const groups[] = { "staff", "broker-admins" };
	static const char *const acr[] = { "urn:sekimori:acr:aal2" };
	struct idp_policy_decision d;
	struct idp_policy_ctx c;
	char err[IDP_POLICY_ERR_MAX];
	idp_policy *p = NULL;
	size_t i;

	if (idp_policy_parse(data, size, "fuzz", &p, err, sizeof(err)) != 0) {
		/* an error always names the input and a line */
		if (p != NULL || strncmp(err, "fuzz:", 5) != 0)
			__builtin_trap();
		return 0;
	}
	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.client_id = "personnel-portal";
		c.scopes = scopes;
		c.nscopes = 2;
		c.groups = groups;
		c.ngroups = 2;
		c.source_ip = ips[i];
		c.aal = (enum idp_aal)(i % 4);
		c.amr = IDP_AMR_PWD | (i & 1 ? IDP_AMR_OTP : IDP_AMR_HWK);
		c.auth_time = 1700000000 - (int64_t)i * 1000;
		c.now = 1700000000;
		c.acr_values = acr;
		c.nacr_values = i & 1;
		c.max_age = i == 2 ? 600 : -1;
		if (idp_policy_evaluate(p, &c, &d) != 0)
			__builtin_trap();
		if (memchr(d.rule, '\0', sizeof(d.rule)) == NULL ||
		    memchr(d.reason, '\0', sizeof(d.reason)) == NULL ||
		    d.nreports > IDP_POLICY_REPORTS_MAX)
			__builtin_trap();
	}
	idp_policy_free(&p);
	return 0;
}

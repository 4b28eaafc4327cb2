/*
 * idp/mfa_aal.c — authenticator assurance levels (NIST SP 800-63B-4), the
 * acr values we issue for them, and amr (RFC 8176) from the factors used.
 */
#include <string.h>

#include "common/cm.h"
#include "idp/assurance.h"

#define AAL_FACTORS_MAX	16

static const struct {
	enum idp_aal	 aal;
	const char	*name;
	const char	*acr;		/* what we issue */
	const char	*alias;		/* also understood in acr_values */
	int64_t		 lifetime;	/* SP 800-63B-4 reauthentication */
} aal_table[] = {
	{ IDP_AAL1, "aal1", "urn:sekimori:acr:aal1",
	    "http://idmanagement.gov/ns/assurance/aal/1", 30 * 86400 },
	{ IDP_AAL2, "aal2", "urn:sekimori:acr:aal2",
	    "http://idmanagement.gov/ns/assurance/aal/2", 24 * 3600 },
	{ IDP_AAL3, "aal3", "urn:sekimori:acr:aal3",
	    "http://idmanagement.gov/ns/assurance/aal/3", 12 * 3600 },
};
#define AAL_N	(sizeof(aal_table) / sizeof(aal_table[0]))

const char *
idp_aal_acr(enum idp_aal aal)
{
	size_t i;

	for (i = 0; i < AAL_N; i++)
		if (aal_table[i].aal == aal)
			return aal_table[i].acr;
	return NULL;
}

const char *
idp_aal_name(enum idp_aal aal)
{
	size_t i;

	for (i = 0; i < AAL_N; i++)
		if (aal_table[i].aal == aal)
			return aal_table[i].name;
	return "none";
}

static int
str_is(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

int
idp_aal_from_acr(const char *acr, size_t len, enum idp_aal *out)
{
	size_t i;

	if (acr == NULL || out == NULL)
		return CM_ERR_INVAL;
	for (i = 0; i < AAL_N; i++) {
		if (str_is(acr, len, aal_table[i].acr) ||
		    str_is(acr, len, aal_table[i].alias)) {
			*out = aal_table[i].aal;
			return 0;
		}
	}
	return CM_ERR_NOTFOUND;
}

int64_t
idp_aal_max_lifetime(enum idp_aal aal)
{
	size_t i;

	for (i = 0; i < AAL_N; i++)
		if (aal_table[i].aal == aal)
			return aal_table[i].lifetime;
	return 0;
}

enum idp_aal
idp_aal_effective(enum idp_aal aal, int64_t auth_time, int64_t now)
{
	int64_t age;
	int l;

	if (aal <= IDP_AAL_NONE || aal > IDP_AAL3 || auth_time < 0)
		return IDP_AAL_NONE;
	/* a session from the future (clock skew) counts as fresh */
	age = now > auth_time ? now - auth_time : 0;
	for (l = (int)aal; l >= (int)IDP_AAL1; l--)
		if (age <= idp_aal_max_lifetime((enum idp_aal)l))
			return (enum idp_aal)l;
	return IDP_AAL_NONE;
}

/* RFC 8176 §2, in the order of enum idp_amr. */
static const char *const amr_names[IDP_AMR_MAX] = {
	"face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp",
	"pin", "pwd", "rba", "retina", "sc", "sms", "swk", "tel", "user",
	"vbm", "wia"
};

const char *
idp_amr_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < IDP_AMR_MAX; i++)
		if (bit == (1u << i))
			return amr_names[i];
	return NULL;
}

int
idp_amr_parse(const char *s, size_t len, uint32_t *bit)
{
	size_t i;

	if (s == NULL || bit == NULL)
		return CM_ERR_INVAL;
	for (i = 0; i < IDP_AMR_MAX; i++) {
		if (str_is(s, len, amr_names[i])) {
			*bit = 1u << i;
			return 0;
		}
	}
	return CM_ERR_NOTFOUND;
}

size_t
idp_amr_list(uint32_t mask, const char *names[IDP_AMR_MAX])
{
	size_t i, n = 0;

	for (i = 0; i < IDP_AMR_MAX; i++)
		if (mask & (1u << i))
			names[n++] = amr_names[i];
	return n;
}

int
idp_assurance_compute(const struct idp_factor *f, size_t n,
    struct idp_assurance *out)
{
	int know = 0, have = 0, mf_device = 0, hw = 0, hw_uv = 0;
	uint32_t amr = 0;
	size_t i;

	if (out == NULL)
		return CM_ERR_INVAL;
	out->aal = IDP_AAL_NONE;
	out->amr = 0;
	if ((f == NULL && n > 0) || n > AAL_FACTORS_MAX)
		return CM_ERR_INVAL;
	for (i = 0; i < n; i++) {
		switch (f[i].type) {
		case IDP_FACTOR_PASSWORD:
			know = 1;
			amr |= IDP_AMR_PWD;
			break;
		case IDP_FACTOR_TOTP:
		case IDP_FACTOR_RECOVERY:
			have = 1;
			amr |= IDP_AMR_OTP;
			break;
		case IDP_FACTOR_WEBAUTHN:
			have = 1;
			/* hardware-bound only with a verified attestation
			 * and not a synced (exportable) passkey */
			if ((f[i].flags & IDP_FACTOR_HW) &&
			    !(f[i].flags & IDP_FACTOR_SYNCED)) {
				hw = 1;
				amr |= IDP_AMR_HWK;
				if (f[i].flags & IDP_FACTOR_UV)
					hw_uv = 1;
			} else
				amr |= IDP_AMR_SWK;
			if (f[i].flags & IDP_FACTOR_UV)
				mf_device = 1;	/* multi-factor authenticator */
			if (f[i].flags & IDP_FACTOR_UP)
				amr |= IDP_AMR_USER;
			break;
		default:
			out->amr = 0;
			return CM_ERR_INVAL;
		}
	}
	if (n == 0)
		return 0;
	if (mf_device || (know && have))
		amr |= IDP_AMR_MFA;
	if (hw_uv || (hw && know))
		out->aal = IDP_AAL3;
	else if (amr & IDP_AMR_MFA)
		out->aal = IDP_AAL2;
	else
		out->aal = IDP_AAL1;
	out->amr = amr;
	return 0;
}

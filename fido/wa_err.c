/* fido/wa_err.c — names of the WA_ERR_* codes. */
#include "fido/wa_int.h"

static const struct {
	int		 code;
	const char	*msg;
} wa_errs[] = {
	{ WA_ERR_TOO_LARGE, "webauthn input too large" },
	{ WA_ERR_CHALLENGE_USED, "challenge already used" },
	{ WA_ERR_CHALLENGE_EXPIRED, "challenge expired" },
	{ WA_ERR_CHALLENGE_PURPOSE, "challenge issued for another ceremony" },
	{ WA_ERR_CHALLENGE_BINDING, "challenge bound to another session" },
	{ WA_ERR_CHALLENGE_MALFORMED, "stored challenge malformed" },
	{ WA_ERR_CLIENTDATA_MALFORMED, "clientDataJSON malformed" },
	{ WA_ERR_CLIENTDATA_TYPE, "clientDataJSON type wrong" },
	{ WA_ERR_CHALLENGE_ENCODING, "clientDataJSON challenge not base64url" },
	{ WA_ERR_CHALLENGE_MISMATCH, "clientDataJSON challenge not ours" },
	{ WA_ERR_ORIGIN, "origin not accepted" },
	{ WA_ERR_CROSS_ORIGIN, "cross-origin ceremony refused" },
	{ WA_ERR_TOKEN_BINDING, "token binding not supported" },
	{ WA_ERR_ATTOBJ_MALFORMED, "attestationObject malformed" },
	{ WA_ERR_AUTHDATA_MALFORMED, "authenticatorData malformed" },
	{ WA_ERR_RP_ID_HASH, "rpIdHash is not for this RP ID" },
	{ WA_ERR_UP_MISSING, "user presence flag missing" },
	{ WA_ERR_UV_MISSING, "user verification flag missing" },
	{ WA_ERR_FLAGS, "authenticatorData flags inconsistent" },
	{ WA_ERR_CRED_ID_LEN, "credential ID length invalid" },
	{ WA_ERR_COSE_KEY, "credential public key malformed or invalid" },
	{ WA_ERR_ALG_NOT_ALLOWED, "credential algorithm not allowed" },
	{ WA_ERR_FMT_UNSUPPORTED, "attestation format not supported" },
	{ WA_ERR_ATTSTMT_MALFORMED, "attestation statement malformed" },
	{ WA_ERR_ATT_SIG, "attestation signature invalid" },
	{ WA_ERR_ATT_ALG_MISMATCH, "attestation alg differs from key alg" },
	{ WA_ERR_ATT_CERT, "attestation certificate requirements not met" },
	{ WA_ERR_ATT_CERT_AAGUID, "attestation certificate AAGUID mismatch" },
	{ WA_ERR_ATT_CHAIN, "attestation chain not to a trust anchor" },
	{ WA_ERR_AAGUID_NOT_ALLOWED, "authenticator model not allowed" },
	{ WA_ERR_NOT_DEVICE_BOUND, "credential is backup eligible (synced)" },
	{ WA_ERR_ATT_NOT_HARDWARE, "attestation does not prove hardware" },
	{ WA_ERR_MDS_REVOKED, "authenticator model revoked (MDS)" },
	{ WA_ERR_MDS_COMPROMISED, "authenticator model compromised (MDS)" },
	{ WA_ERR_CRED_MISMATCH, "credential ID differs from the record" },
	{ WA_ERR_CRED_NOT_ALLOWED, "credential not in allowCredentials" },
	{ WA_ERR_USER_MISMATCH, "credential belongs to another user" },
	{ WA_ERR_USER_HANDLE_MISSING, "userHandle missing" },
	{ WA_ERR_BE_CHANGED, "backup eligibility changed" },
	{ WA_ERR_SIG, "assertion signature invalid" },
	{ WA_ERR_SIGN_COUNT, "signature counter regressed (possible clone)" },
	{ WA_ERR_CRED_NOT_HARDWARE, "credential is not a hardware key" },
	{ WA_ERR_EXTENSIONS, "extension outputs malformed" },
	{ WA_ERR_RECORD_MALFORMED, "credential record malformed" },
	{ WA_ERR_ROOTS, "trust anchor could not be loaded" },
	{ WA_ERR_MDS_MALFORMED, "MDS BLOB malformed" },
	{ WA_ERR_MDS_ALG, "MDS BLOB algorithm does not match its key" },
	{ WA_ERR_MDS_CHAIN, "MDS BLOB chain not to the MDS root" },
	{ WA_ERR_MDS_SIG, "MDS BLOB signature invalid" },
	{ WA_ERR_MDS_EXPIRED, "MDS BLOB nextUpdate is past" },
	{ WA_ERR_MDS_SERIAL, "MDS BLOB serial not newer than loaded" },
	{ WA_ERR_MDS_NO_ROOT, "MDS root certificate not configured" },
};

const char *
wa_strerror(int r)
{
	size_t i;

	for (i = 0; i < sizeof(wa_errs) / sizeof(wa_errs[0]); i++)
		if (wa_errs[i].code == r)
			return wa_errs[i].msg;
	return cm_strerror(r);
}

const char *
wa_trust_name(enum wa_trust t)
{
	switch (t) {
	case WA_TRUST_NONE:
		return "none";
	case WA_TRUST_SELF:
		return "self";
	case WA_TRUST_UNTRUSTED:
		return "untrusted";
	case WA_TRUST_HARDWARE:
		return "trusted_hardware";
	}
	return "invalid";
}

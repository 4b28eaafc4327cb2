/* fido/wa_reg.c — registration ceremony, WebAuthn L2 §7.1 step by step
 * (with the Level 3 BE/BS check). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fido/wa_int.h"

#define WA_MAX_TRANSPORTS	16

static const struct {
	const char	*name;
	int		 bit;
} transports[] = {
	{ "usb", WA_TR_USB },
	{ "nfc", WA_TR_NFC },
	{ "ble", WA_TR_BLE },
	{ "internal", WA_TR_INTERNAL },
	{ "hybrid", WA_TR_HYBRID },
	{ "smart-card", WA_TR_SMART_CARD },
};

int
wa_transport_bit(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (strcmp(transports[i].name, name) == 0)
			return transports[i].bit;
	return 0;
}

const char *
wa_transport_name(int bit)
{
	size_t i;

	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (transports[i].bit == bit)
			return transports[i].name;
	return NULL;
}

static int
parse_transports(const struct wa_reg_req *req, int *mask)
{
	size_t i;

	*mask = 0;
	if (req->ntransports == 0)
		return 0;
	if (req->transports == NULL)
		return CM_ERR_INVAL;
	if (req->ntransports > WA_MAX_TRANSPORTS)
		return WA_ERR_TOO_LARGE;
	for (i = 0; i < req->ntransports; i++) {
		if (req->transports[i] == NULL)
			return CM_ERR_INVAL;
		*mask |= wa_transport_bit(req->transports[i]);
	}
	return 0;
}

/* Flags checks shared with authentication: rpIdHash, UP, UV, BE/BS. */
int
wa_authdata_check(const wa_rp_t *rp, const struct wa_authdata *ad, int flags)
{
	if (!cm_ct_equal(ad->rp_id_hash, rp->id_hash, WA_SHA256_LEN))
		return WA_ERR_RP_ID_HASH;
	if ((ad->flags & WA_AD_UP) == 0)
		return WA_ERR_UP_MISSING;
	if ((flags & (WA_F_REQUIRE_UV | WA_F_REQUIRE_HARDWARE)) &&
	    (ad->flags & WA_AD_UV) == 0)
		return WA_ERR_UV_MISSING;
	/* L3 §6.1.3: a credential cannot be backed up unless eligible */
	if ((ad->flags & WA_AD_BS) && (ad->flags & WA_AD_BE) == 0)
		return WA_ERR_FLAGS;
	return 0;
}

static int
cred_build(const wa_challenge_t *ch, const struct wa_attobj *ao,
    const struct wa_authdata *ad, enum wa_trust trust, int tmask,
    wa_cred_t **out)
{
	wa_cred_t *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CM_ERR_NOMEM;
	if ((c->id = malloc(ad->cred_id_len)) == NULL ||
	    (c->cose = malloc(ad->cose_len)) == NULL) {
		wa_cred_free(&c);
		return CM_ERR_NOMEM;
	}
	memcpy(c->id, ad->cred_id, ad->cred_id_len);
	c->id_len = ad->cred_id_len;
	memcpy(c->cose, ad->cose, ad->cose_len);
	c->cose_len = ad->cose_len;
	memcpy(c->user, ch->user, ch->user_len);
	c->user_len = ch->user_len;
	c->alg = ad->key.alg;
	memcpy(c->aaguid, ad->aaguid, WA_AAGUID_LEN);
	c->sign_count = ad->sign_count;
	memcpy(c->fmt, ao->fmt, sizeof(c->fmt));
	c->trust = trust;
	c->be = (ad->flags & WA_AD_BE) != 0;
	c->bs = (ad->flags & WA_AD_BS) != 0;
	c->uv_init = (ad->flags & WA_AD_UV) != 0;
	c->transports = tmask;
	c->created = cm_time();
	*out = c;
	return 0;
}

int
wa_reg_verify(const wa_rp_t *rp, wa_challenge_t *ch, const char *session,
    const struct wa_reg_req *req, wa_cred_t **out)
{
	struct wa_attobj ao;
	struct wa_authdata ad;
	uint8_t cdh[WA_SHA256_LEN];
	enum wa_trust trust = WA_TRUST_NONE;
	int flags, tmask = 0, r = CM_ERR_INTERNAL;

	memset(&ao, 0, sizeof(ao));
	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (rp == NULL || ch == NULL || req == NULL || rp->id == NULL ||
	    rp->norigins == 0)
		return CM_ERR_INVAL;
	flags = req->flags;
	if ((r = parse_transports(req, &tmask)) != 0)
		return r;
	/* our challenge: unused (consumed now), for registration, fresh,
	 * for this session */
	if ((r = wa_challenge_use(ch, WA_PURPOSE_REGISTER, session)) != 0)
		return r;
	if (ch->user_len == 0)
		return WA_ERR_CHALLENGE_PURPOSE;
	/* steps 5-10: clientDataJSON type, challenge, origin, tokenBinding */
	if ((r = wa_clientdata_verify(rp, req->clientdata,
	    req->clientdata_len, "webauthn.create", ch->c)) != 0)
		goto out;
	/* step 11: hash */
	if ((r = wa_sha256(req->clientdata, req->clientdata_len, cdh)) != 0)
		goto out;
	/* step 12: CBOR-decode fmt, authData, attStmt */
	if ((r = wa_attobj_parse(req->attobj, req->attobj_len, &ao)) != 0)
		goto out;
	if ((r = wa_authdata_parse(ao.authdata, ao.authdata_len,
	    WA_AD_REGISTRATION, &ad)) != 0)
		goto out;
	/* steps 13-15 and BE/BS */
	if ((r = wa_authdata_check(rp, &ad, flags)) != 0)
		goto out;
	/* step 16: an algorithm we offered, and a usable key */
	if (!wa_rp_alg_ok(rp, ad.key.alg)) {
		r = WA_ERR_ALG_NOT_ALLOWED;
		goto out;
	}
	if ((r = wa_pubkey_check(&ad.key)) != 0)
		goto out;
	/* step 17: extension outputs were checked for shape while parsing;
	 * steps 18-21: format, statement, trust anchors, trust policy */
	if ((r = wa_attest_verify(rp, &ao, &ad, cdh, flags, &trust)) != 0)
		goto out;
	/* MDS: no new credential for a revoked or compromised model */
	if (rp->mds != NULL && (r = wa_mds_check(rp->mds, ad.aaguid)) != 0)
		goto out;
	/* step 22 (credential ID not registered yet) is the caller's;
	 * step 23: the record */
	if ((r = cred_build(ch, &ao, &ad, trust, tmask, out)) != 0)
		goto out;
	r = 0;
out:
	OPENSSL_cleanse(cdh, sizeof(cdh));
	wa_attobj_clear(&ao);
	return r;
}

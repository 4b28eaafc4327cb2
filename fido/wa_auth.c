/* fido/wa_auth.c — authentication ceremony, WebAuthn L2 §7.2 step by step
 * (with the Level 3 BE check); libfido2 verifies the signature. */
#include <string.h>

#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "fido/wa_int.h"

/* §7.2 step 20 through libfido2: rpIdHash, UP (asked for explicitly:
 * it is not checked by default), UV when required, extensions, and the
 * signature over authData || SHA-256(clientDataJSON). */
static int
verify_signature(const wa_rp_t *rp, const struct wa_auth_req *req,
    const struct wa_authdata *ad, const struct wa_pubkey *key,
    const uint8_t cdh[WA_SHA256_LEN], int flags)
{
	fido_assert_t *as = NULL;
	es256_pk_t *es = NULL;
	eddsa_pk_t *ed = NULL;
	rs256_pk_t *rs = NULL;
	const void *pk = NULL;
	int fr, r = CM_ERR_INTERNAL;

	if ((as = fido_assert_new()) == NULL)
		return CM_ERR_NOMEM;
	switch (key->alg) {
	case WA_ALG_ES256:
		if ((es = es256_pk_new()) == NULL ||
		    es256_pk_from_ptr(es, key->raw, key->raw_len) != FIDO_OK)
			goto out;
		pk = es;
		break;
	case WA_ALG_EDDSA:
		if ((ed = eddsa_pk_new()) == NULL ||
		    eddsa_pk_from_ptr(ed, key->raw, key->raw_len) != FIDO_OK)
			goto out;
		pk = ed;
		break;
	case WA_ALG_RS256:
		if ((rs = rs256_pk_new()) == NULL ||
		    rs256_pk_from_ptr(rs, key->raw, key->raw_len) != FIDO_OK)
			goto out;
		pk = rs;
		break;
	default:
		r = WA_ERR_ALG_NOT_ALLOWED;
		goto out;
	}
	if (fido_assert_set_count(as, 1) != FIDO_OK ||
	    fido_assert_set_rp(as, rp->id) != FIDO_OK ||
	    fido_assert_set_clientdata_hash(as, cdh, WA_SHA256_LEN) !=
	    FIDO_OK ||
	    fido_assert_set_up(as, FIDO_OPT_TRUE) != FIDO_OK ||
	    fido_assert_set_uv(as, (flags & (WA_F_REQUIRE_UV |
	    WA_F_REQUIRE_HARDWARE)) ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) !=
	    FIDO_OK)
		goto out;
	if (fido_assert_set_authdata_raw(as, 0, ad->raw, ad->len) !=
	    FIDO_OK) {
		r = WA_ERR_AUTHDATA_MALFORMED;
		goto out;
	}
	if (fido_assert_set_sig(as, 0, req->sig, req->sig_len) != FIDO_OK) {
		r = WA_ERR_SIG;
		goto out;
	}
	/* extension outputs libfido2 decodes must match the "requested" */
	if (ad->ext.fido_mask != 0 &&
	    fido_assert_set_extensions(as, ad->ext.fido_mask) != FIDO_OK) {
		r = WA_ERR_EXTENSIONS;
		goto out;
	}
	fr = fido_assert_verify(as, 0, key->alg, pk);
	r = fr == FIDO_OK ? 0 : WA_ERR_SIG;
out:
	es256_pk_free(&es);
	eddsa_pk_free(&ed);
	rs256_pk_free(&rs);
	fido_assert_free(&as);
	return r;
}

/* §7.2 steps 5-6: allowCredentials and the credential's owner. */
static int
check_cred_and_user(const wa_challenge_t *ch, const struct wa_auth_req *req,
    const wa_cred_t *cred)
{
	size_t i;
	int found = 0;

	if (req->cred_id_len != cred->id_len ||
	    !cm_ct_equal(req->cred_id, cred->id, cred->id_len))
		return WA_ERR_CRED_MISMATCH;
	if (ch->nallow > 0) {
		for (i = 0; i < ch->nallow; i++)
			if (ch->allow[i].len == req->cred_id_len &&
			    cm_ct_equal(ch->allow[i].ptr, req->cred_id,
			    req->cred_id_len))
				found = 1;
		if (!found)
			return WA_ERR_CRED_NOT_ALLOWED;
	}
	/* the user identified before the ceremony owns the credential */
	if (ch->user_len > 0 && (ch->user_len != cred->user_len ||
	    !cm_ct_equal(ch->user, cred->user, cred->user_len)))
		return WA_ERR_USER_MISMATCH;
	/* usernameless (discoverable) login: userHandle is required */
	if (ch->user_len == 0 && req->user_handle == NULL)
		return WA_ERR_USER_HANDLE_MISSING;
	if (req->user_handle != NULL &&
	    (req->user_handle_len != cred->user_len ||
	    !cm_ct_equal(req->user_handle, cred->user, cred->user_len)))
		return WA_ERR_USER_MISMATCH;
	return 0;
}

int
wa_auth_verify(const wa_rp_t *rp, wa_challenge_t *ch, const char *session,
    const struct wa_auth_req *req, const wa_cred_t *cred,
    struct wa_auth_res *res)
{
	struct wa_authdata ad;
	struct wa_pubkey key;
	uint8_t cdh[WA_SHA256_LEN];
	int flags, r = CM_ERR_INTERNAL;

	if (res == NULL)
		return CM_ERR_INVAL;
	memset(res, 0, sizeof(*res));
	if (rp == NULL || ch == NULL || req == NULL || cred == NULL ||
	    rp->id == NULL || rp->norigins == 0 || req->cred_id == NULL ||
	    (req->user_handle == NULL && req->user_handle_len != 0))
		return CM_ERR_INVAL;
	flags = req->flags;
	if ((r = wa_challenge_use(ch, WA_PURPOSE_AUTHENTICATE, session)) != 0)
		return r;
	if (req->cred_id_len == 0 || req->cred_id_len > WA_CRED_ID_MAX_LEN)
		return WA_ERR_CRED_ID_LEN;
	if (req->user_handle != NULL && (req->user_handle_len == 0 ||
	    req->user_handle_len > WA_USER_HANDLE_MAX_LEN))
		return WA_ERR_USER_MISMATCH;
	if (req->sig == NULL || req->sig_len == 0)
		return WA_ERR_SIG;
	if (req->sig_len > WA_SIG_MAX_LEN)
		return WA_ERR_TOO_LARGE;
	/* steps 5-6 */
	if ((r = check_cred_and_user(ch, req, cred)) != 0)
		return r;
	/* AAL3: only a credential registered as a hardware key */
	if ((flags & WA_F_REQUIRE_HARDWARE) &&
	    (cred->trust != WA_TRUST_HARDWARE || cred->be))
		return WA_ERR_CRED_NOT_HARDWARE;
	/* step 7: the stored public key */
	if ((r = wa_cose_parse(cred->cose, cred->cose_len, &key)) != 0)
		return r;
	if (key.alg != cred->alg)
		return WA_ERR_RECORD_MALFORMED;
	/* steps 9-14: clientDataJSON */
	if ((r = wa_clientdata_verify(rp, req->clientdata,
	    req->clientdata_len, "webauthn.get", ch->c)) != 0)
		goto out;
	/* steps 15-18: authenticatorData */
	if ((r = wa_authdata_parse(req->authdata, req->authdata_len,
	    WA_AD_ASSERTION, &ad)) != 0)
		goto out;
	if ((r = wa_authdata_check(rp, &ad, flags)) != 0)
		goto out;
	/* L3: backup eligibility is fixed at creation */
	if (((ad.flags & WA_AD_BE) != 0) != (cred->be != 0)) {
		r = WA_ERR_BE_CHANGED;
		goto out;
	}
	/* steps 19-20: hash and signature */
	if ((r = wa_sha256(req->clientdata, req->clientdata_len, cdh)) != 0)
		goto out;
	if ((r = verify_signature(rp, req, &ad, &key, cdh, flags)) != 0)
		goto out;
	/* the model must not have been revoked or compromised since */
	if (rp->mds != NULL && (r = wa_mds_check(rp->mds, cred->aaguid)) != 0)
		goto out;
	/* step 21: signature counter; either non-zero and not increasing
	 * means a possible clone: refuse */
	if ((ad.sign_count != 0 || cred->sign_count != 0) &&
	    ad.sign_count <= cred->sign_count) {
		cm_warn(NULL, "webauthn.sign_count.regression", "{s:I, s:I}",
		    "stored", (json_int_t)cred->sign_count, "received",
		    (json_int_t)ad.sign_count);
		r = WA_ERR_SIGN_COUNT;
		goto out;
	}
	res->sign_count = ad.sign_count;
	res->up = (ad.flags & WA_AD_UP) != 0;
	res->uv = (ad.flags & WA_AD_UV) != 0;
	res->be = (ad.flags & WA_AD_BE) != 0;
	res->bs = (ad.flags & WA_AD_BS) != 0;
	r = 0;
out:
	OPENSSL_cleanse(cdh, sizeof(cdh));
	return r;
}

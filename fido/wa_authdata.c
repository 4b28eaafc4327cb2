/* fido/wa_authdata.c — authenticatorData (WebAuthn L2 §6.1) and COSE_Key
 * (RFC 9052/9053) parsing through a bounded cursor; libcbor for the CBOR
 * parts, every type and length checked before use. */
#include <string.h>

#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <openssl/evp.h>

#include "fido/wa_int.h"

#define AD_FIXED_LEN	(WA_SHA256_LEN + 1 + 4)	/* rpIdHash flags count */
#define AD_MAX_EXT	16			/* extension outputs */
#define COSE_MAX_PARAMS	16

#define COSE_KTY_OKP_	1
#define COSE_KTY_EC2_	2
#define COSE_KTY_RSA_	3
#define COSE_CRV_P256	1
#define COSE_CRV_ED25519 6
#define RSA2048_N_LEN	256
#define RSA_E_LEN	3

/* A CBOR integer map key or value in int range. */
static int
cbor_int(const cbor_item_t *it, int64_t *v)
{
	uint64_t u;

	if (cbor_isa_uint(it)) {
		if ((u = cbor_get_int(it)) > INT32_MAX)
			return -1;
		*v = (int64_t)u;
		return 0;
	}
	if (cbor_isa_negint(it)) {
		if ((u = cbor_get_int(it)) > INT32_MAX)
			return -1;
		*v = -1 - (int64_t)u;
		return 0;
	}
	return -1;
}

static int
cose_from_item(const cbor_item_t *m, struct wa_pubkey *out)
{
	const cbor_item_t *kty = NULL, *alg = NULL, *p1 = NULL, *p2 = NULL,
	    *p3 = NULL, **slot;
	const struct cbor_pair *pairs;
	const uint8_t *x, *y, *n, *e;
	size_t i, np, xl, yl, nl, el;
	int64_t k, vkty, valg, crv;

	memset(out, 0, sizeof(*out));
	if (!cbor_isa_map(m) || !cbor_map_is_definite(m) ||
	    (np = cbor_map_size(m)) == 0 || np > COSE_MAX_PARAMS ||
	    (pairs = cbor_map_handle(m)) == NULL)
		return WA_ERR_COSE_KEY;
	for (i = 0; i < np; i++) {
		if (cbor_int(pairs[i].key, &k) != 0)
			return WA_ERR_COSE_KEY;
		switch (k) {
		case 1: slot = &kty; break;
		case 3: slot = &alg; break;
		case -1: slot = &p1; break;
		case -2: slot = &p2; break;
		case -3: slot = &p3; break;
		default: continue;	/* kid and other parameters */
		}
		if (*slot != NULL)
			return WA_ERR_COSE_KEY;	/* duplicate label */
		*slot = pairs[i].value;
	}
	if (kty == NULL || alg == NULL || cbor_int(kty, &vkty) != 0 ||
	    cbor_int(alg, &valg) != 0)
		return WA_ERR_COSE_KEY;
	switch (valg) {
	case WA_ALG_ES256:
		if (vkty != COSE_KTY_EC2_ || p1 == NULL || p2 == NULL ||
		    p3 == NULL || cbor_int(p1, &crv) != 0 ||
		    crv != COSE_CRV_P256 || wa_cbor_bytes(p2, &x, &xl) != 0 ||
		    wa_cbor_bytes(p3, &y, &yl) != 0 || xl != 32 || yl != 32)
			return WA_ERR_COSE_KEY;
		memcpy(out->raw, x, 32);
		memcpy(out->raw + 32, y, 32);
		out->raw_len = 64;
		break;
	case WA_ALG_EDDSA:
		if (vkty != COSE_KTY_OKP_ || p1 == NULL || p2 == NULL ||
		    p3 != NULL || cbor_int(p1, &crv) != 0 ||
		    crv != COSE_CRV_ED25519 ||
		    wa_cbor_bytes(p2, &x, &xl) != 0 || xl != 32)
			return WA_ERR_COSE_KEY;
		memcpy(out->raw, x, 32);
		out->raw_len = 32;
		break;
	case WA_ALG_RS256:
		/* libfido2's rs256_pk_t holds a 2048-bit modulus */
		if (vkty != COSE_KTY_RSA_ || p1 == NULL || p2 == NULL ||
		    p3 != NULL || wa_cbor_bytes(p1, &n, &nl) != 0 ||
		    wa_cbor_bytes(p2, &e, &el) != 0 ||
		    nl != RSA2048_N_LEN || el == 0 || el > RSA_E_LEN)
			return WA_ERR_COSE_KEY;
		memcpy(out->raw, n, RSA2048_N_LEN);
		memset(out->raw + RSA2048_N_LEN, 0, RSA_E_LEN);
		memcpy(out->raw + RSA2048_N_LEN + RSA_E_LEN - el, e, el);
		out->raw_len = RSA2048_N_LEN + RSA_E_LEN;
		break;
	default:
		return WA_ERR_ALG_NOT_ALLOWED;
	}
	out->alg = (int)valg;
	return 0;
}

int
wa_cose_parse(const uint8_t *p, size_t len, struct wa_pubkey *out)
{
	cbor_item_t *it = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > WA_COSE_KEY_MAX_LEN)
		return WA_ERR_TOO_LARGE;
	if (wa_cbor_load_all(p, len, &it) != 0)
		return WA_ERR_COSE_KEY;
	r = cose_from_item(it, out);
	cbor_decref(&it);
	return r;
}

int
wa_pubkey_check(const struct wa_pubkey *k)
{
	EVP_PKEY *pkey = NULL;
	es256_pk_t *es = NULL;
	eddsa_pk_t *ed = NULL;
	rs256_pk_t *rs = NULL;
	int r = WA_ERR_COSE_KEY;

	switch (k->alg) {
	case WA_ALG_ES256:
		/* to_EVP_PKEY checks that the point is on the curve */
		if ((es = es256_pk_new()) == NULL) {
			r = CM_ERR_NOMEM;
			break;
		}
		if (es256_pk_from_ptr(es, k->raw, k->raw_len) == FIDO_OK)
			pkey = es256_pk_to_EVP_PKEY(es);
		break;
	case WA_ALG_EDDSA:
		if ((ed = eddsa_pk_new()) == NULL) {
			r = CM_ERR_NOMEM;
			break;
		}
		if (eddsa_pk_from_ptr(ed, k->raw, k->raw_len) == FIDO_OK)
			pkey = eddsa_pk_to_EVP_PKEY(ed);
		break;
	case WA_ALG_RS256:
		if ((rs = rs256_pk_new()) == NULL) {
			r = CM_ERR_NOMEM;
			break;
		}
		if (rs256_pk_from_ptr(rs, k->raw, k->raw_len) == FIDO_OK)
			pkey = rs256_pk_to_EVP_PKEY(rs);
		break;
	default:
		break;
	}
	if (pkey != NULL)
		r = 0;
	EVP_PKEY_free(pkey);
	es256_pk_free(&es);
	eddsa_pk_free(&ed);
	rs256_pk_free(&rs);
	return r;
}

/* Extension outputs: a definite map with distinct text keys.  The ones
 * libfido2 decodes are recorded so that its "requested == returned"
 * comparison can be satisfied; unknown ones are ignored (§7.1 step 17
 * leaves unsolicited outputs to RP policy). */
static int
ext_parse(const cbor_item_t *m, enum wa_ad_kind kind, struct wa_ext *ext)
{
	const struct cbor_pair *pairs = NULL;
	const char *ki, *kj;
	const uint8_t *b;
	size_t i, j, np, li, lj, bl;
	int v;

	memset(ext, 0, sizeof(*ext));
	if (!cbor_isa_map(m) || !cbor_map_is_definite(m) ||
	    (np = cbor_map_size(m)) > AD_MAX_EXT ||
	    (np > 0 && (pairs = cbor_map_handle(m)) == NULL))
		return WA_ERR_EXTENSIONS;
	for (i = 0; i < np; i++) {
		const cbor_item_t *val = pairs[i].value;

		if (wa_cbor_text(pairs[i].key, &ki, &li) != 0)
			return WA_ERR_EXTENSIONS;
		for (j = 0; j < i; j++) {
			if (wa_cbor_text(pairs[j].key, &kj, &lj) != 0)
				return WA_ERR_EXTENSIONS;
			if (li == lj && memcmp(ki, kj, li) == 0)
				return WA_ERR_EXTENSIONS;
		}
		if (kind == WA_AD_REGISTRATION) {
			if (wa_cbor_text_eq(pairs[i].key, "credProtect")) {
				if (!cbor_isa_uint(val) ||
				    cbor_int_get_width(val) != CBOR_INT_8 ||
				    cbor_get_int(val) < 1 ||
				    cbor_get_int(val) > 3)
					return WA_ERR_EXTENSIONS;
				ext->fido_mask |= FIDO_EXT_CRED_PROTECT;
				ext->prot = (int)cbor_get_int(val);
			} else if (wa_cbor_text_eq(pairs[i].key,
			    "hmac-secret")) {
				if (wa_cbor_bool(val, &v) != 0)
					return WA_ERR_EXTENSIONS;
				if (v)
					ext->fido_mask |= FIDO_EXT_HMAC_SECRET;
			} else if (wa_cbor_text_eq(pairs[i].key, "credBlob")) {
				if (wa_cbor_bool(val, &v) != 0)
					return WA_ERR_EXTENSIONS;
				if (v)
					ext->fido_mask |= FIDO_EXT_CRED_BLOB;
			} else if (wa_cbor_text_eq(pairs[i].key,
			    "minPinLength")) {
				if (!cbor_isa_uint(val) ||
				    cbor_int_get_width(val) != CBOR_INT_8)
					return WA_ERR_EXTENSIONS;
				ext->fido_mask |= FIDO_EXT_MINPINLEN;
				ext->minpinlen = cbor_get_int(val);
			}
		} else {
			if (wa_cbor_text_eq(pairs[i].key, "hmac-secret")) {
				if (wa_cbor_bytes(val, &b, &bl) != 0)
					return WA_ERR_EXTENSIONS;
				ext->fido_mask |= FIDO_EXT_HMAC_SECRET;
			} else if (wa_cbor_text_eq(pairs[i].key, "credBlob")) {
				if (wa_cbor_bytes(val, &b, &bl) != 0)
					return WA_ERR_EXTENSIONS;
				ext->fido_mask |= FIDO_EXT_CRED_BLOB;
			}
		}
	}
	return 0;
}

int
wa_authdata_parse(const uint8_t *p, size_t len, enum wa_ad_kind kind,
    struct wa_authdata *out)
{
	cbor_item_t *it = NULL;
	size_t off = 0, used = 0;
	int r = WA_ERR_AUTHDATA_MALFORMED;

	memset(out, 0, sizeof(*out));
	if (p == NULL || len < AD_FIXED_LEN)
		return WA_ERR_AUTHDATA_MALFORMED;
	if (len > WA_AUTHDATA_MAX_LEN)
		return WA_ERR_TOO_LARGE;
	out->raw = p;
	out->len = len;
	out->rp_id_hash = p;
	out->flags = p[WA_SHA256_LEN];
	out->sign_count = (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 |
	    (uint32_t)p[35] << 8 | (uint32_t)p[36];
	off = AD_FIXED_LEN;

	/* attested credential data: registrations only */
	if ((kind == WA_AD_REGISTRATION) != ((out->flags & WA_AD_AT) != 0))
		return WA_ERR_FLAGS;
	if (out->flags & WA_AD_AT) {
		if (len - off < WA_AAGUID_LEN + 2)
			return WA_ERR_AUTHDATA_MALFORMED;
		out->aaguid = p + off;
		off += WA_AAGUID_LEN;
		out->cred_id_len = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (out->cred_id_len == 0 ||
		    out->cred_id_len > WA_CRED_ID_MAX_LEN)
			return WA_ERR_CRED_ID_LEN;
		if (len - off < out->cred_id_len)
			return WA_ERR_AUTHDATA_MALFORMED;
		out->cred_id = p + off;
		off += out->cred_id_len;
		/* credentialPublicKey: one CBOR item, its length is what
		 * libcbor consumed */
		if (wa_cbor_load_one(p + off, len - off, &it, &used) != 0) {
			r = WA_ERR_COSE_KEY;
			goto out;
		}
		if (used > WA_COSE_KEY_MAX_LEN) {
			r = WA_ERR_TOO_LARGE;
			goto out;
		}
		if ((r = cose_from_item(it, &out->key)) != 0)
			goto out;
		cbor_decref(&it);
		out->cose = p + off;
		out->cose_len = used;
		off += used;
	}
	if (out->flags & WA_AD_ED) {
		if (wa_cbor_load_all(p + off, len - off, &it) != 0) {
			r = WA_ERR_EXTENSIONS;
			goto out;
		}
		if ((r = ext_parse(it, kind, &out->ext)) != 0)
			goto out;
		off = len;
	}
	if (off != len) {
		r = WA_ERR_AUTHDATA_MALFORMED;	/* trailing bytes */
		goto out;
	}
	r = 0;
out:
	if (it != NULL)
		cbor_decref(&it);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

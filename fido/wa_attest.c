/* fido/wa_attest.c — attestation statement verification (§7.1 steps
 * 19-21, §8.2 packed, §8.3 tpm, §8.6 fido-u2f): libfido2 checks the
 * signature; we check the certificate requirements, the chain to a trust
 * anchor (OpenSSL), the AAGUID / key-id allow-lists and BE. */
#include <stdlib.h>
#include <string.h>

#include <fido.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fido/wa_int.h"

#define OID_FIDO_GEN_CE_AAGUID	"1.3.6.1.4.1.45724.1.1.4"
#define OID_TCG_KP_AIK_CERT	"2.23.133.8.3"
#define PACKED_OU		"Authenticator Attestation"

/* libfido2: signature over authData || clientDataHash (or the fido-u2f /
 * tpm construction) with x5c[0], or with the credential key (self). */
static int
verify_statement(const wa_rp_t *rp, const struct wa_attobj *ao,
    const struct wa_authdata *ad, const uint8_t cdh[WA_SHA256_LEN],
    int flags)
{
	fido_cred_t *cred = NULL;
	unsigned char *st = NULL;
	size_t stcap = 0, stlen;
	const struct wa_ext *ext = &ad->ext;
	int r = WA_ERR_ATT_SIG;

	if ((cred = fido_cred_new()) == NULL)
		return CM_ERR_NOMEM;
	if ((stlen = cbor_serialize_alloc(ao->attstmt, &st, &stcap)) == 0) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	/* the type must be set before the authData: libfido2 checks the
	 * COSE key against it */
	if (fido_cred_set_type(cred, ad->key.alg) != FIDO_OK ||
	    fido_cred_set_fmt(cred, ao->fmt) != FIDO_OK ||
	    fido_cred_set_rp(cred, rp->id, NULL) != FIDO_OK ||
	    fido_cred_set_clientdata_hash(cred, cdh, WA_SHA256_LEN) !=
	    FIDO_OK) {
		r = CM_ERR_INTERNAL;
		goto out;
	}
	if (fido_cred_set_authdata_raw(cred, ao->authdata,
	    ao->authdata_len) != FIDO_OK) {
		r = WA_ERR_AUTHDATA_MALFORMED;
		goto out;
	}
	if (fido_cred_set_attstmt(cred, st, stlen) != FIDO_OK) {
		r = WA_ERR_ATTSTMT_MALFORMED;
		goto out;
	}
	/* UP is always checked by fido_cred_verify; UV only when asked */
	if (fido_cred_set_uv(cred, (flags & (WA_F_REQUIRE_UV |
	    WA_F_REQUIRE_HARDWARE)) ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) !=
	    FIDO_OK) {
		r = CM_ERR_INTERNAL;
		goto out;
	}
	/* libfido2 compares the decoded extension outputs with the
	 * requested ones; as an RP we "requested" what was returned */
	if (ext->fido_mask != 0 &&
	    (fido_cred_set_extensions(cred, ext->fido_mask) != FIDO_OK ||
	    ((ext->fido_mask & FIDO_EXT_CRED_PROTECT) &&
	    fido_cred_set_prot(cred, ext->prot) != FIDO_OK) ||
	    ((ext->fido_mask & FIDO_EXT_MINPINLEN) && ext->minpinlen > 0 &&
	    fido_cred_set_pin_minlen(cred, ext->minpinlen) != FIDO_OK))) {
		r = WA_ERR_EXTENSIONS;
		goto out;
	}
	/* both parsers must agree on what is being registered */
	if (fido_cred_id_len(cred) != ad->cred_id_len ||
	    memcmp(fido_cred_id_ptr(cred), ad->cred_id,
	    ad->cred_id_len) != 0 ||
	    fido_cred_aaguid_len(cred) != WA_AAGUID_LEN ||
	    memcmp(fido_cred_aaguid_ptr(cred), ad->aaguid,
	    WA_AAGUID_LEN) != 0) {
		r = CM_ERR_INTERNAL;
		goto out;
	}
	if (ao->nx5c == 0) {
		/* packed self attestation: alg must be the key's alg,
		 * which libfido2 does not compare */
		if (ao->alg != ad->key.alg) {
			r = WA_ERR_ATT_ALG_MISMATCH;
			goto out;
		}
		r = fido_cred_verify_self(cred) == FIDO_OK ? 0 : WA_ERR_ATT_SIG;
	} else
		r = fido_cred_verify(cred) == FIDO_OK ? 0 : WA_ERR_ATT_SIG;
out:
	free(st);
	fido_cred_free(&cred);
	return r;
}

static int
decode_x5c(const struct wa_attobj *ao, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk;
	const unsigned char *q;
	X509 *x;
	size_t i;

	*out = NULL;
	if ((sk = sk_X509_new_null()) == NULL)
		return CM_ERR_NOMEM;
	for (i = 0; i < ao->nx5c; i++) {
		q = ao->x5c[i];
		if ((x = d2i_X509(NULL, &q, (long)ao->x5c_len[i])) == NULL ||
		    q != ao->x5c[i] + ao->x5c_len[i] || !sk_X509_push(sk, x)) {
			X509_free(x);
			sk_X509_pop_free(sk, X509_free);
			ERR_clear_error();
			return WA_ERR_ATT_CERT;
		}
	}
	*out = sk;
	return 0;
}

/* basicConstraints present with CA false. */
static int
cert_not_ca(X509 *x)
{
	BASIC_CONSTRAINTS *bc;
	int crit = -1, ok;

	if ((bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit,
	    NULL)) == NULL)
		return 0;
	ok = !bc->ca;
	BASIC_CONSTRAINTS_free(bc);
	return ok;
}

/* §8.2.1 / §8.3.1: if the id-fido-gen-ce-aaguid extension is present it
 * must be non-critical, once, and equal the authData AAGUID. */
static int
cert_aaguid(X509 *x, const uint8_t *aaguid)
{
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *inner = NULL;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *data;
	const unsigned char *q, *end;
	int idx, r = WA_ERR_ATT_CERT;

	if ((obj = OBJ_txt2obj(OID_FIDO_GEN_CE_AAGUID, 1)) == NULL)
		return CM_ERR_NOMEM;
	if ((idx = X509_get_ext_by_OBJ(x, obj, -1)) < 0) {
		r = 0;		/* absent: nothing to compare */
		goto out;
	}
	if (X509_get_ext_by_OBJ(x, obj, idx) >= 0 ||
	    (ext = X509_get_ext(x, idx)) == NULL ||
	    X509_EXTENSION_get_critical(ext) ||
	    (data = X509_EXTENSION_get_data(ext)) == NULL)
		goto out;
	q = ASN1_STRING_get0_data(data);
	end = q + ASN1_STRING_length(data);
	if ((inner = d2i_ASN1_OCTET_STRING(NULL, &q,
	    ASN1_STRING_length(data))) == NULL || q != end ||
	    ASN1_STRING_length(inner) != WA_AAGUID_LEN) {
		r = WA_ERR_ATT_CERT;
		goto out;
	}
	r = memcmp(ASN1_STRING_get0_data(inner), aaguid, WA_AAGUID_LEN) == 0 ?
	    0 : WA_ERR_ATT_CERT_AAGUID;
out:
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(obj);
	ERR_clear_error();
	return r;
}

static int
name_has(X509_NAME *n, int nid)
{
	X509_NAME_ENTRY *e;
	ASN1_STRING *s;
	int i;

	if ((i = X509_NAME_get_index_by_NID(n, nid, -1)) < 0 ||
	    (e = X509_NAME_get_entry(n, i)) == NULL ||
	    (s = X509_NAME_ENTRY_get_data(e)) == NULL)
		return 0;
	return ASN1_STRING_length(s) > 0;
}

/* §8.2.1 packed attestation statement certificate requirements. */
static int
cert_packed(X509 *x, const uint8_t *aaguid)
{
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_ENTRY *e;
	ASN1_STRING *s;
	int i;

	if (X509_get_version(x) != 2 || n == NULL ||
	    !name_has(n, NID_countryName) ||
	    !name_has(n, NID_organizationName) ||
	    !name_has(n, NID_commonName))
		return WA_ERR_ATT_CERT;
	/* exactly one OU, "Authenticator Attestation" */
	if ((i = X509_NAME_get_index_by_NID(n,
	    NID_organizationalUnitName, -1)) < 0 ||
	    X509_NAME_get_index_by_NID(n, NID_organizationalUnitName, i) >= 0 ||
	    (e = X509_NAME_get_entry(n, i)) == NULL ||
	    (s = X509_NAME_ENTRY_get_data(e)) == NULL ||
	    ASN1_STRING_length(s) != (int)strlen(PACKED_OU) ||
	    memcmp(ASN1_STRING_get0_data(s), PACKED_OU,
	    strlen(PACKED_OU)) != 0)
		return WA_ERR_ATT_CERT;
	if (!cert_not_ca(x))
		return WA_ERR_ATT_CERT;
	return cert_aaguid(x, aaguid);
}

/* §8.3.1 TPM AIK certificate requirements (the SAN's TPM manufacturer
 * attributes are not checked). */
static int
cert_tpm(X509 *x, const uint8_t *aaguid)
{
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OBJECT *aik = NULL;
	X509_NAME *n = X509_get_subject_name(x);
	int i, found = 0, r = WA_ERR_ATT_CERT;

	if (X509_get_version(x) != 2 || n == NULL ||
	    X509_NAME_entry_count(n) != 0 || !cert_not_ca(x))
		return WA_ERR_ATT_CERT;
	if ((aik = OBJ_txt2obj(OID_TCG_KP_AIK_CERT, 1)) == NULL)
		return CM_ERR_NOMEM;
	if ((eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL,
	    NULL)) != NULL)
		for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
			if (OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), aik) == 0)
				found = 1;
	if (found)
		r = cert_aaguid(x, aaguid);
	EXTENDED_KEY_USAGE_free(eku);
	ASN1_OBJECT_free(aik);
	ERR_clear_error();
	return r;
}

/* §8.6 fido-u2f: one certificate with a P-256 public key. */
static int
cert_u2f(X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char grp[32];
	size_t gl = 0;

	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(pk, grp, sizeof(grp), &gl) != 1 ||
	    strcmp(grp, "prime256v1") != 0)
		return WA_ERR_ATT_CERT;
	return 0;
}

static int
store_add(X509_STORE *store, STACK_OF(X509) *sk)
{
	int i;

	for (i = 0; sk != NULL && i < sk_X509_num(sk); i++)
		if (X509_STORE_add_cert(store, sk_X509_value(sk, i)) != 1)
			return CM_ERR_NOMEM;
	return 0;
}

/* X509_verify_cert() of x5c[0] with x5c[1..] as untrusted intermediates
 * to the configured roots plus the MDS roots of this AAGUID.  1 if the
 * chain verifies, 0 if not, negative on error. */
static int
chain_verify(const wa_rp_t *rp, STACK_OF(X509) *x5c, const uint8_t *aaguid)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL;
	int i, r = CM_ERR_NOMEM;

	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = sk_X509_new_null()) == NULL)
		goto out;
	if (store_add(store, rp->roots) != 0 ||
	    (rp->mds != NULL &&
	    store_add(store, wa_mds_roots(rp->mds, aaguid)) != 0))
		goto out;
	for (i = 1; i < sk_X509_num(x5c); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(x5c, i)))
			goto out;
	if (X509_STORE_CTX_init(ctx, store, sk_X509_value(x5c, 0),
	    untrusted) != 1 ||
	    X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx),
	    X509_PURPOSE_ANY) != 1)
		goto out;
	if (X509_verify_cert(ctx) == 1)
		r = 1;
	else {
		cm_debug(NULL, "webauthn.attestation.chain", "{s:s}", "reason",
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
		r = 0;
	}
out:
	sk_X509_free(untrusted);	/* borrowed certificates */
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return r;
}

/* fido-u2f model identity: SHA-1 of the subjectPublicKey bits. */
static int
u2f_key_id_ok(const wa_rp_t *rp, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (X509_pubkey_digest(x, EVP_sha1(), md, &n) != 1 ||
	    n != WA_U2F_KEY_ID_LEN)
		return 0;
	return wa_rp_u2f_id_ok(rp, md);
}

int
wa_attest_verify(const wa_rp_t *rp, const struct wa_attobj *ao,
    const struct wa_authdata *ad, const uint8_t cdh[WA_SHA256_LEN],
    int flags, enum wa_trust *trust)
{
	STACK_OF(X509) *x5c = NULL;
	X509 *leaf;
	enum wa_trust t;
	int hw = (flags & WA_F_REQUIRE_HARDWARE) != 0;
	int u2f = strcmp(ao->fmt, "fido-u2f") == 0;
	int chain = 0, model = 0, r = CM_ERR_INTERNAL;

	*trust = WA_TRUST_NONE;
	if (strcmp(ao->fmt, "none") == 0) {
		/* nothing to verify; never a hardware key */
		if (hw)
			return WA_ERR_ATT_NOT_HARDWARE;
		*trust = WA_TRUST_NONE;
		return 0;
	}
	/* fido-u2f carries a P-256 key and no AAGUID (§8.6 step 3-4) */
	if (u2f && ad->key.alg != WA_ALG_ES256)
		return WA_ERR_ATT_ALG_MISMATCH;
	if ((r = verify_statement(rp, ao, ad, cdh, flags)) != 0)
		return r;
	if (ao->nx5c == 0) {
		if (hw)
			return WA_ERR_ATT_NOT_HARDWARE;
		*trust = WA_TRUST_SELF;
		return 0;
	}
	if ((r = decode_x5c(ao, &x5c)) != 0)
		return r;
	leaf = sk_X509_value(x5c, 0);
	if (u2f)
		r = cert_u2f(leaf);
	else if (ao->has_tpm)
		r = cert_tpm(leaf, ad->aaguid);
	else
		r = cert_packed(leaf, ad->aaguid);
	if (r != 0)
		goto out;
	if ((chain = chain_verify(rp, x5c, ad->aaguid)) < 0) {
		r = chain;
		goto out;
	}
	model = u2f ? u2f_key_id_ok(rp, leaf) : wa_rp_aaguid_ok(rp, ad->aaguid);
	if (chain && model && (ad->flags & WA_AD_BE) == 0)
		t = WA_TRUST_HARDWARE;
	else
		t = WA_TRUST_UNTRUSTED;
	if (hw && t != WA_TRUST_HARDWARE) {
		if (!chain)
			r = WA_ERR_ATT_CHAIN;
		else if (!model)
			r = WA_ERR_AAGUID_NOT_ALLOWED;
		else
			r = WA_ERR_NOT_DEVICE_BOUND;
		goto out;
	}
	*trust = t;
	r = 0;
out:
	sk_X509_pop_free(x5c, X509_free);
	return r;
}

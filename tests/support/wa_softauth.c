/* tests/support/wa_softauth.c — software FIDO2 authenticator for tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cm.h"
#include "tests/support/wa_softauth.h"

#define OID_AAGUID	"1.3.6.1.4.1.45724.1.1.4"

EVP_PKEY *
wa_sa_key_new(int alg)
{
	switch (alg) {
	case WA_SA_ES256:
		return EVP_EC_gen("P-256");
	case WA_SA_EDDSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case WA_SA_RS256:
		return EVP_RSA_gen(2048);
	default:
		return NULL;
	}
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : -1;
}

static int
add_aaguid_ext(X509 *x, const uint8_t *aaguid)
{
	ASN1_OCTET_STRING *inner = NULL, *outer = NULL;
	ASN1_OBJECT *obj = NULL;
	X509_EXTENSION *e = NULL;
	unsigned char *der = NULL;
	int n, ok = -1;

	if ((inner = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(inner, aaguid, 16) != 1 ||
	    (n = i2d_ASN1_OCTET_STRING(inner, &der)) <= 0 ||
	    (outer = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(outer, der, n) != 1 ||
	    (obj = OBJ_txt2obj(OID_AAGUID, 1)) == NULL ||
	    (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, outer)) == NULL ||
	    X509_add_ext(x, e, -1) != 1)
		goto out;
	ok = 0;
out:
	X509_EXTENSION_free(e);
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(outer);
	ASN1_OCTET_STRING_free(inner);
	OPENSSL_free(der);
	return ok;
}

static int
name_add(X509_NAME *n, const char *field, const char *v)
{
	if (v == NULL)
		return 0;
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
	    (const unsigned char *)v, -1, -1, 0) == 1 ? 0 : -1;
}

X509 *
wa_sa_cert_new(EVP_PKEY *key, const struct wa_sa_certspec *spec,
    X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = NULL;
	X509_NAME *n = NULL;
	unsigned char serial[8];
	BIGNUM *bn = NULL;
	const EVP_MD *md;
	long nb = spec->not_before ? spec->not_before : -3600;
	long na = spec->not_after ? spec->not_after : 365L * 86400;

	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(x), nb) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), na) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	if ((n = X509_NAME_new()) == NULL ||
	    name_add(n, "C", spec->c) != 0 || name_add(n, "O", spec->o) != 0 ||
	    name_add(n, "OU", spec->ou) != 0 ||
	    name_add(n, "CN", spec->cn) != 0 ||
	    X509_set_subject_name(x, n) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n) != 1)
		goto fail;
	if (add_ext(x, issuer, NID_basic_constraints,
	    spec->ca ? "critical,CA:TRUE" : "critical,CA:FALSE") != 0 ||
	    (spec->ca && add_ext(x, issuer, NID_key_usage,
	    "critical,keyCertSign,cRLSign") != 0) ||
	    add_ext(x, issuer, NID_subject_key_identifier, "hash") != 0)
		goto fail;
	if (spec->aaguid_ext != NULL && add_aaguid_ext(x, spec->aaguid_ext) != 0)
		goto fail;
	if (issuer_key == NULL)
		issuer_key = key;
	md = EVP_PKEY_get_base_id(issuer_key) == EVP_PKEY_ED25519 ? NULL :
	    EVP_sha256();
	if (X509_sign(x, issuer_key, md) <= 0)
		goto fail;
	X509_NAME_free(n);
	BN_free(bn);
	return x;
fail:
	X509_NAME_free(n);
	BN_free(bn);
	X509_free(x);
	return NULL;
}

char *
wa_sa_cert_pem(X509 *x, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *out = NULL;
	long n;

	if (b == NULL || PEM_write_bio_X509(b, x) != 1 ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    (out = malloc((size_t)n + 1)) == NULL)
		goto out;
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
out:
	BIO_free(b);
	return out;
}

uint8_t *
wa_sa_cert_der(X509 *x, size_t *len)
{
	unsigned char *d = NULL;
	uint8_t *out;
	int n;

	if ((n = i2d_X509(x, &d)) <= 0)
		return NULL;
	if ((out = malloc((size_t)n)) != NULL) {
		memcpy(out, d, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_free(d);
	return out;
}

int
wa_sa_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t **sig,
    size_t *siglen)
{
	EVP_MD_CTX *md = NULL;
	const EVP_MD *h = EVP_sha256();
	size_t n = 0;
	int r = -1;

	*sig = NULL;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519)
		h = NULL;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, h, NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &n, msg, len) != 1 ||
	    (*sig = malloc(n)) == NULL ||
	    EVP_DigestSign(md, *sig, &n, msg, len) != 1)
		goto out;
	*siglen = n;
	r = 0;
out:
	if (r != 0) {
		free(*sig);
		*sig = NULL;
	}
	EVP_MD_CTX_free(md);
	return r;
}

struct wa_sa_pki *
wa_sa_pki_new(const struct wa_sa_pki_opts *o)
{
	static const struct wa_sa_pki_opts def;
	struct wa_sa_certspec rs = { "JP", "Sekimori Test", NULL,
	    "Test Attestation Root", 1, NULL, 0, 0 };
	struct wa_sa_certspec is = { "JP", "Sekimori Test", NULL,
	    "Test Attestation Intermediate", 1, NULL, 0, 0 };
	struct wa_sa_certspec as = { "JP", "Sekimori Test",
	    "Authenticator Attestation", "Test Authenticator", 0, NULL, 0, 0 };
	struct wa_sa_pki *p;
	X509 *issuer;
	EVP_PKEY *ikey;

	if (o == NULL)
		o = &def;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (o->ou != NULL)
		as.ou = o->ou;
	as.aaguid_ext = o->aaguid_ext;
	as.ca = o->att_is_ca;
	if ((p->root_key = wa_sa_key_new(WA_SA_ES256)) == NULL ||
	    (p->att_key = wa_sa_key_new(WA_SA_ES256)) == NULL ||
	    (p->root = wa_sa_cert_new(p->root_key, &rs, NULL, NULL)) == NULL)
		goto fail;
	issuer = p->root;
	ikey = p->root_key;
	if (o->intermediate) {
		if ((p->int_key = wa_sa_key_new(WA_SA_ES256)) == NULL ||
		    (p->inter = wa_sa_cert_new(p->int_key, &is, p->root,
		    p->root_key)) == NULL)
			goto fail;
		issuer = p->inter;
		ikey = p->int_key;
	}
	if ((p->att = wa_sa_cert_new(p->att_key, &as, issuer, ikey)) == NULL)
		goto fail;
	return p;
fail:
	wa_sa_pki_free(&p);
	return NULL;
}

void
wa_sa_pki_free(struct wa_sa_pki **pp)
{
	struct wa_sa_pki *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->int_key);
	EVP_PKEY_free(p->att_key);
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->att);
	free(p);
	*pp = NULL;
}

void
wa_sa_out_clear(struct wa_sa_out *o)
{
	free(o->clientdata);
	free(o->attobj);
	free(o->authdata);
	free(o->sig);
	free(o->user_handle);
	memset(o, 0, sizeof(*o));
}

struct wa_sa *
wa_sa_new(int alg)
{
	static const uint8_t aaguid[16] = {
		0x53, 0x4b, 0x4d, 0x2d, 0x54, 0x45, 0x53, 0x54,
		0x2d, 0x41, 0x55, 0x54, 0x48, 0x2d, 0x30, 0x31 };
	struct wa_sa *sa;

	if ((sa = calloc(1, sizeof(*sa))) == NULL)
		return NULL;
	sa->alg = alg;
	if ((sa->key = wa_sa_key_new(alg)) == NULL ||
	    RAND_bytes(sa->cred_id, 32) != 1) {
		wa_sa_free(&sa);
		return NULL;
	}
	sa->cred_id_len = 32;
	memcpy(sa->aaguid, aaguid, sizeof(aaguid));
	sa->flags = WA_SA_UP | WA_SA_UV;
	sa->counter_step = 1;
	snprintf(sa->rp_id, sizeof(sa->rp_id), "example.org");
	snprintf(sa->origin, sizeof(sa->origin), "https://example.org");
	sa->att = WA_SA_ATT_NONE;
	return sa;
}

void
wa_sa_free(struct wa_sa **sp)
{
	struct wa_sa *sa;

	if (sp == NULL || (sa = *sp) == NULL)
		return;
	EVP_PKEY_free(sa->key);
	free(sa);
	*sp = NULL;
}

static int
bn_param(EVP_PKEY *k, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;
	int ok;

	if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
		return -1;
	ok = BN_bn2binpad(bn, out, (int)len) == (int)len ? 0 : -1;
	BN_free(bn);
	return ok;
}

static int
map_add(cbor_item_t *m, cbor_item_t *k, cbor_item_t *v)
{
	struct cbor_pair p;
	bool ok;

	if (k == NULL || v == NULL) {
		if (k != NULL)
			cbor_decref(&k);
		if (v != NULL)
			cbor_decref(&v);
		return -1;
	}
	p.key = k;
	p.value = v;
	ok = cbor_map_add(m, p);
	cbor_decref(&k);
	cbor_decref(&v);
	return ok ? 0 : -1;
}

/* COSE_Key of the credential, serialised. */
static int
cose_key(struct wa_sa *sa, uint8_t **out, size_t *outlen)
{
	cbor_item_t *m = NULL;
	uint8_t x[32], y[32], n[256], e[3];
	size_t xl = sizeof(x), cap = 0;
	unsigned char *buf = NULL;
	int r = -1;

	switch (sa->alg) {
	case WA_SA_ES256:
		if (bn_param(sa->key, OSSL_PKEY_PARAM_EC_PUB_X, x, 32) != 0 ||
		    bn_param(sa->key, OSSL_PKEY_PARAM_EC_PUB_Y, y, 32) != 0 ||
		    (m = cbor_new_definite_map(5)) == NULL ||
		    map_add(m, cbor_build_uint8(1), cbor_build_uint8(2)) ||
		    map_add(m, cbor_build_uint8(3), cbor_build_negint8(6)) ||
		    map_add(m, cbor_build_negint8(0), cbor_build_uint8(1)) ||
		    map_add(m, cbor_build_negint8(1),
		    cbor_build_bytestring(x, 32)) ||
		    map_add(m, cbor_build_negint8(2),
		    cbor_build_bytestring(y, 32)))
			goto out;
		break;
	case WA_SA_EDDSA:
		if (EVP_PKEY_get_raw_public_key(sa->key, x, &xl) != 1 ||
		    xl != 32 || (m = cbor_new_definite_map(4)) == NULL ||
		    map_add(m, cbor_build_uint8(1), cbor_build_uint8(1)) ||
		    map_add(m, cbor_build_uint8(3), cbor_build_negint8(7)) ||
		    map_add(m, cbor_build_negint8(0), cbor_build_uint8(6)) ||
		    map_add(m, cbor_build_negint8(1),
		    cbor_build_bytestring(x, 32)))
			goto out;
		break;
	case WA_SA_RS256:
		if (bn_param(sa->key, OSSL_PKEY_PARAM_RSA_N, n, 256) != 0 ||
		    bn_param(sa->key, OSSL_PKEY_PARAM_RSA_E, e, 3) != 0 ||
		    (m = cbor_new_definite_map(4)) == NULL ||
		    map_add(m, cbor_build_uint8(1), cbor_build_uint8(3)) ||
		    map_add(m, cbor_build_uint8(3), cbor_build_negint16(256)) ||
		    map_add(m, cbor_build_negint8(0),
		    cbor_build_bytestring(n, 256)) ||
		    map_add(m, cbor_build_negint8(1),
		    cbor_build_bytestring(e, 3)))
			goto out;
		break;
	default:
		goto out;
	}
	if ((*outlen = cbor_serialize_alloc(m, &buf, &cap)) == 0)
		goto out;
	*out = buf;
	r = 0;
out:
	if (m != NULL)
		cbor_decref(&m);
	return r;
}

static int
buf_cat(uint8_t **b, size_t *len, const void *p, size_t n)
{
	uint8_t *nb;

	if ((nb = realloc(*b, *len + n)) == NULL)
		return -1;
	memcpy(nb + *len, p, n);
	*b = nb;
	*len += n;
	return 0;
}

static int
authdata_build(struct wa_sa *sa, int attested, uint8_t **out, size_t *len)
{
	uint8_t hdr[32 + 1 + 4], idlen[2];
	uint8_t *b = NULL, *cose = NULL;
	unsigned char *ext = NULL;
	size_t blen = 0, coselen = 0, extlen = 0, cap = 0;
	cbor_item_t *m = NULL;
	int r = -1;

	SHA256((const unsigned char *)sa->rp_id, strlen(sa->rp_id), hdr);
	hdr[32] = sa->flags | (attested ? 0x40 : 0) |
	    (attested && sa->cred_protect ? 0x80 : 0);
	hdr[33] = (uint8_t)(sa->counter >> 24);
	hdr[34] = (uint8_t)(sa->counter >> 16);
	hdr[35] = (uint8_t)(sa->counter >> 8);
	hdr[36] = (uint8_t)sa->counter;
	if (buf_cat(&b, &blen, hdr, sizeof(hdr)) != 0)
		goto out;
	if (attested) {
		idlen[0] = (uint8_t)(sa->cred_id_len >> 8);
		idlen[1] = (uint8_t)sa->cred_id_len;
		if (cose_key(sa, &cose, &coselen) != 0 ||
		    buf_cat(&b, &blen, sa->aaguid, 16) != 0 ||
		    buf_cat(&b, &blen, idlen, 2) != 0 ||
		    buf_cat(&b, &blen, sa->cred_id, sa->cred_id_len) != 0 ||
		    buf_cat(&b, &blen, cose, coselen) != 0)
			goto out;
		if (sa->cred_protect) {
			if ((m = cbor_new_definite_map(1)) == NULL ||
			    map_add(m, cbor_build_string("credProtect"),
			    cbor_build_uint8((uint8_t)sa->cred_protect)) ||
			    (extlen = cbor_serialize_alloc(m, &ext,
			    &cap)) == 0 || buf_cat(&b, &blen, ext, extlen) != 0)
				goto out;
		}
	}
	*out = b;
	*len = blen;
	b = NULL;
	r = 0;
out:
	if (m != NULL)
		cbor_decref(&m);
	free(ext);
	free(cose);
	free(b);
	return r;
}

static int
clientdata_build(struct wa_sa *sa, const char *type, const uint8_t *ch,
    size_t chlen, struct wa_sa_out *out)
{
	json_t *o = NULL;
	char *b64 = NULL, *s = NULL;
	int r = -1;

	if (sa->clientdata_raw != NULL) {
		s = strdup(sa->clientdata_raw);
	} else {
		if (cm_b64url_encode(ch, chlen, &b64) != 0 ||
		    (o = json_pack("{s:s, s:s, s:s}", "type",
		    sa->type != NULL ? sa->type : type, "challenge", b64,
		    "origin", sa->origin)) == NULL)
			goto out;
		if (sa->cross_origin &&
		    json_object_set_new(o, "crossOrigin", json_true()) != 0)
			goto out;
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
	if (s == NULL)
		goto out;
	out->clientdata = (uint8_t *)s;
	out->clientdata_len = strlen(s);
	r = 0;
out:
	free(b64);
	json_decref(o);
	return r;
}

/* sign(authData || SHA-256(clientDataJSON)) */
static int
sign_ad(EVP_PKEY *key, const struct wa_sa_out *o, uint8_t **sig,
    size_t *siglen)
{
	uint8_t *msg;
	size_t n = o->authdata_len + 32;
	int r;

	if ((msg = malloc(n)) == NULL)
		return -1;
	memcpy(msg, o->authdata, o->authdata_len);
	SHA256(o->clientdata, o->clientdata_len, msg + o->authdata_len);
	r = wa_sa_sign(key, msg, n, sig, siglen);
	free(msg);
	return r;
}

static int
attstmt_build(struct wa_sa *sa, const struct wa_sa_out *o, cbor_item_t **st,
    const char **fmt)
{
	cbor_item_t *m = NULL, *x5c = NULL, *c;
	uint8_t *sig = NULL, *der;
	size_t siglen = 0, derlen = 0;
	int alg, r = -1;

	*st = NULL;
	if (sa->att == WA_SA_ATT_NONE) {
		*fmt = "none";
		*st = cbor_new_definite_map(0);
		return *st == NULL ? -1 : 0;
	}
	*fmt = "packed";
	if (sa->att == WA_SA_ATT_SELF) {
		alg = sa->att_alg ? sa->att_alg : sa->alg;
		if (sign_ad(sa->key, o, &sig, &siglen) != 0 ||
		    (m = cbor_new_definite_map(2)) == NULL)
			goto out;
	} else {
		alg = sa->att_alg ? sa->att_alg : WA_SA_ES256;
		if (sa->pki == NULL ||
		    sign_ad(sa->pki->att_key, o, &sig, &siglen) != 0 ||
		    (m = cbor_new_definite_map(3)) == NULL ||
		    (x5c = cbor_new_definite_array(sa->pki->inter ? 2 : 1)) ==
		    NULL)
			goto out;
		if ((der = wa_sa_cert_der(sa->pki->att, &derlen)) == NULL)
			goto out;
		c = cbor_build_bytestring(der, derlen);
		free(der);
		if (c == NULL || !cbor_array_push(x5c, c)) {
			if (c != NULL)
				cbor_decref(&c);
			goto out;
		}
		cbor_decref(&c);
		if (sa->pki->inter != NULL) {
			if ((der = wa_sa_cert_der(sa->pki->inter,
			    &derlen)) == NULL)
				goto out;
			c = cbor_build_bytestring(der, derlen);
			free(der);
			if (c == NULL || !cbor_array_push(x5c, c)) {
				if (c != NULL)
					cbor_decref(&c);
				goto out;
			}
			cbor_decref(&c);
		}
	}
	if (map_add(m, cbor_build_string("alg"), alg == -257 ?
	    cbor_build_negint16(256) : cbor_build_negint8((uint8_t)(-1 - alg))) ||
	    map_add(m, cbor_build_string("sig"),
	    cbor_build_bytestring(sig, siglen)))
		goto out;
	if (x5c != NULL) {
		if (map_add(m, cbor_build_string("x5c"), x5c) != 0) {
			x5c = NULL;	/* map_add dropped it */
			goto out;
		}
		x5c = NULL;
	}
	*st = m;
	m = NULL;
	r = 0;
out:
	if (m != NULL)
		cbor_decref(&m);
	if (x5c != NULL)
		cbor_decref(&x5c);
	free(sig);
	return r;
}

int
wa_sa_make_credential(struct wa_sa *sa, const uint8_t *ch, size_t chlen,
    const uint8_t *user, size_t user_len, struct wa_sa_out *out)
{
	cbor_item_t *m = NULL, *st = NULL;
	unsigned char *buf = NULL;
	const char *fmt = NULL;
	size_t cap = 0;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (user_len > sizeof(sa->user))
		return -1;
	memcpy(sa->user, user, user_len);
	sa->user_len = user_len;
	if (clientdata_build(sa, "webauthn.create", ch, chlen, out) != 0 ||
	    authdata_build(sa, 1, &out->authdata, &out->authdata_len) != 0 ||
	    attstmt_build(sa, out, &st, &fmt) != 0 ||
	    (m = cbor_new_definite_map(3)) == NULL ||
	    map_add(m, cbor_build_string("fmt"), cbor_build_string(fmt)) ||
	    map_add(m, cbor_build_string("authData"),
	    cbor_build_bytestring(out->authdata, out->authdata_len)))
		goto out;
	if (map_add(m, cbor_build_string("attStmt"), st) != 0) {
		st = NULL;
		goto out;
	}
	st = NULL;
	if ((out->attobj_len = cbor_serialize_alloc(m, &buf, &cap)) == 0)
		goto out;
	out->attobj = buf;
	r = 0;
out:
	if (st != NULL)
		cbor_decref(&st);
	if (m != NULL)
		cbor_decref(&m);
	if (r != 0)
		wa_sa_out_clear(out);
	return r;
}

int
wa_sa_get_assertion(struct wa_sa *sa, const uint8_t *ch, size_t chlen,
    struct wa_sa_out *out)
{
	int r = -1;

	memset(out, 0, sizeof(*out));
	sa->counter += sa->counter_step;
	if (clientdata_build(sa, "webauthn.get", ch, chlen, out) != 0 ||
	    authdata_build(sa, 0, &out->authdata, &out->authdata_len) != 0 ||
	    sign_ad(sa->key, out, &out->sig, &out->sig_len) != 0)
		goto out;
	if (!sa->omit_user_handle && sa->user_len > 0) {
		if ((out->user_handle = malloc(sa->user_len)) == NULL)
			goto out;
		memcpy(out->user_handle, sa->user, sa->user_len);
		out->user_handle_len = sa->user_len;
	}
	r = 0;
out:
	if (r != 0)
		wa_sa_out_clear(out);
	return r;
}

/* Unit tests for fido/ MDS3 BLOB handling: a test BLOB (JWT, ES256 or
 * RS256, x5c to a test MDS root) built here loads; tampered, expired,
 * replayed (serial), wrongly chained or mislabelled BLOBs are refused;
 * status reports and per-AAGUID roots are used by the ceremonies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "common/cm.h"
#include "fido/fido.h"
#include "tests/support/wa_softauth.h"

#define SESSION		"session-mds"
static const uint8_t USER[] = "carol-user-handle";
#define USER_LEN	(sizeof(USER) - 1)

struct mdsfx {
	EVP_PKEY	*root_key, *sign_key;
	X509		*root, *sign;
	wa_mds_t	*mds;
	struct wa_sa_pki *att;		/* authenticator PKI in the BLOB */
	uint8_t		 aaguid[16];
};

static struct mdsfx *
mdsfx_new(int sign_alg)
{
	struct wa_sa_certspec rs = { "US", "Test MDS", NULL, "Test MDS Root",
	    1, NULL, 0, 0 };
	struct wa_sa_certspec ss = { "US", "Test MDS", NULL, "Test MDS Signer",
	    0, NULL, 0, 0 };
	struct mdsfx *m = calloc(1, sizeof(*m));
	struct wa_sa *sa = wa_sa_new(WA_SA_ES256);
	size_t len = 0;
	char *pem;

	assert_non_null(m);
	assert_non_null(sa);
	memcpy(m->aaguid, sa->aaguid, 16);
	wa_sa_free(&sa);
	assert_non_null(m->root_key = wa_sa_key_new(WA_SA_ES256));
	assert_non_null(m->sign_key = wa_sa_key_new(sign_alg));
	assert_non_null(m->root = wa_sa_cert_new(m->root_key, &rs, NULL, NULL));
	assert_non_null(m->sign = wa_sa_cert_new(m->sign_key, &ss, m->root,
	    m->root_key));
	assert_non_null(m->att = wa_sa_pki_new(NULL));
	assert_non_null(m->mds = wa_mds_new());
	assert_non_null(pem = wa_sa_cert_pem(m->root, &len));
	assert_int_equal(wa_mds_set_root_pem(m->mds, (uint8_t *)pem, len), 0);
	free(pem);
	return m;
}

static void
mdsfx_free(struct mdsfx *m)
{
	EVP_PKEY_free(m->root_key);
	EVP_PKEY_free(m->sign_key);
	X509_free(m->root);
	X509_free(m->sign);
	wa_sa_pki_free(&m->att);
	wa_mds_free(&m->mds);
	free(m);
}

static char *
b64std(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(s);
	assert_true(EVP_EncodeBlock((unsigned char *)s, p, (int)n) >= 0);
	return s;
}

static char *
cert_b64(X509 *x)
{
	size_t n = 0;
	uint8_t *der = wa_sa_cert_der(x, &n);
	char *s;

	assert_non_null(der);
	s = b64std(der, n);
	free(der);
	return s;
}

static char *
date_from_now(long days)
{
	char *s = malloc(11);
	time_t t = time(NULL) + days * 86400;
	struct tm tm;

	assert_non_null(s);
	gmtime_r(&t, &tm);
	strftime(s, 11, "%Y-%m-%d", &tm);
	return s;
}

/* The payload: one entry for the test AAGUID with its root and status. */
static char *
payload(struct mdsfx *m, long no, long next_days, const char *status)
{
	char *root = cert_b64(m->att->root), *next = date_from_now(next_days);
	char aag[37], *s;
	json_t *o;

	wa_aaguid_format(m->aaguid, aag);
	o = json_pack("{s:s, s:I, s:s, s:[{s:s, s:{s:s, s:[s]}, "
	    "s:[{s:s, s:s}], s:s}, {s:[s], s:[]}]}",
	    "legalHeader", "test", "no", (json_int_t)no, "nextUpdate", next,
	    "entries", "aaguid", aag, "metadataStatement", "description",
	    "Test Authenticator", "attestationRootCertificates", root,
	    "statusReports", "status", status, "effectiveDate", "2024-01-01",
	    "timeOfLastStatusChange", "2024-01-01",
	    "attestationCertificateKeyIdentifiers",
	    "0123456789abcdef0123456789abcdef01234567", "statusReports");
	assert_non_null(o);
	assert_non_null(s = json_dumps(o, JSON_COMPACT));
	json_decref(o);
	free(root);
	free(next);
	return s;
}

/* JWS compact: alg from hdr_alg, x5c [signer], signed by key. */
static char *
jwt(struct mdsfx *m, const char *hdr_alg, EVP_PKEY *key, X509 *signer,
    const char *body, const char *body_signed)
{
	char *x5c = cert_b64(signer), *h = NULL, *hb = NULL, *pb = NULL,
	    *pbs = NULL, *sb = NULL, *in, *out;
	uint8_t *sig = NULL, raw[64];
	size_t siglen = 0, n;
	json_t *o;

	(void)m;
	o = json_pack("{s:s, s:s, s:[s]}", "alg", hdr_alg, "typ", "JWT",
	    "x5c", x5c);
	assert_non_null(h = json_dumps(o, JSON_COMPACT));
	json_decref(o);
	assert_int_equal(cm_b64url_encode((uint8_t *)h, strlen(h), &hb), 0);
	assert_int_equal(cm_b64url_encode((const uint8_t *)body, strlen(body),
	    &pb), 0);
	assert_int_equal(cm_b64url_encode((const uint8_t *)body_signed,
	    strlen(body_signed), &pbs), 0);
	n = strlen(hb) + strlen(pbs) + 2;
	assert_non_null(in = malloc(n));
	snprintf(in, n, "%s.%s", hb, pbs);
	assert_int_equal(wa_sa_sign(key, (uint8_t *)in, strlen(in), &sig,
	    &siglen), 0);
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
		/* JWS ES256 is R||S, not DER */
		const unsigned char *q = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)siglen);
		const BIGNUM *r, *s;

		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &s);
		assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
		assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
		ECDSA_SIG_free(es);
		assert_int_equal(cm_b64url_encode(raw, 64, &sb), 0);
	} else
		assert_int_equal(cm_b64url_encode(sig, siglen, &sb), 0);
	n = strlen(hb) + strlen(pb) + strlen(sb) + 3;
	assert_non_null(out = malloc(n));
	snprintf(out, n, "%s.%s.%s", hb, pb, sb);
	free(x5c);
	free(h);
	free(hb);
	free(pb);
	free(pbs);
	free(sb);
	free(in);
	free(sig);
	return out;
}

static int
load(struct mdsfx *m, long no, long next_days, const char *status)
{
	char *p = payload(m, no, next_days, status);
	char *b = jwt(m, EVP_PKEY_get_base_id(m->sign_key) == EVP_PKEY_EC ?
	    "ES256" : "RS256", m->sign_key, m->sign, p, p);
	int r = wa_mds_load(m->mds, (uint8_t *)b, strlen(b));

	free(p);
	free(b);
	return r;
}

static void
test_wa_mds_load_es256_ok(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);

	(void)state;
	assert_int_equal(load(m, 7, 30, "FIDO_CERTIFIED_L1"), 0);
	assert_int_equal(wa_mds_serial(m->mds), 7);
	assert_int_equal(wa_mds_status(m->mds, m->aaguid), WA_MDS_OK);
	m->aaguid[0] ^= 1;
	assert_int_equal(wa_mds_status(m->mds, m->aaguid), WA_MDS_UNKNOWN);
	mdsfx_free(m);
}

static void
test_wa_mds_load_rs256_ok(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_RS256);

	(void)state;
	assert_int_equal(load(m, 1, 0, "FIDO_CERTIFIED"), 0);
	mdsfx_free(m);
}

static void
test_wa_mds_load_file_ok(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	char path[] = "/tmp/wa-mds-XXXXXX";
	char *p = payload(m, 3, 10, "FIDO_CERTIFIED");
	char *b = jwt(m, "ES256", m->sign_key, m->sign, p, p);
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, b, strlen(b)), (ssize_t)strlen(b));
	assert_int_equal(write(fd, "\n", 1), 1);
	close(fd);
	assert_int_equal(wa_mds_load_file(m->mds, path), 0);
	assert_int_equal(wa_mds_serial(m->mds), 3);
	unlink(path);
	free(p);
	free(b);
	mdsfx_free(m);
}

static void
test_wa_mds_tampered_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	char *good = payload(m, 5, 30, "FIDO_CERTIFIED");
	char *evil = payload(m, 5, 30, "FIDO_CERTIFIED_L3");
	char *b = jwt(m, "ES256", m->sign_key, m->sign, evil, good);

	(void)state;
	assert_int_equal(wa_mds_load(m->mds, (uint8_t *)b, strlen(b)),
	    WA_ERR_MDS_SIG);
	assert_int_equal(wa_mds_serial(m->mds), 0);
	free(good);
	free(evil);
	free(b);
	mdsfx_free(m);
}

static void
test_wa_mds_signature_bytes_tampered_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_RS256);
	char *p = payload(m, 5, 30, "FIDO_CERTIFIED");
	char *b = jwt(m, "RS256", m->sign_key, m->sign, p, p);
	char *last = strrchr(b, '.') + 5;

	(void)state;
	*last = *last == 'A' ? 'B' : 'A';
	assert_int_equal(wa_mds_load(m->mds, (uint8_t *)b, strlen(b)),
	    WA_ERR_MDS_SIG);
	free(p);
	free(b);
	mdsfx_free(m);
}

static void
test_wa_mds_expired_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);

	(void)state;
	assert_int_equal(load(m, 5, -1, "FIDO_CERTIFIED"), WA_ERR_MDS_EXPIRED);
	assert_int_equal(wa_mds_serial(m->mds), 0);
	mdsfx_free(m);
}

static void
test_wa_mds_lower_serial_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);

	(void)state;
	assert_int_equal(load(m, 10, 30, "FIDO_CERTIFIED"), 0);
	assert_int_equal(load(m, 9, 30, "REVOKED"), WA_ERR_MDS_SERIAL);
	assert_int_equal(load(m, 10, 30, "REVOKED"), WA_ERR_MDS_SERIAL);
	/* the loaded contents stay */
	assert_int_equal(wa_mds_serial(m->mds), 10);
	assert_int_equal(wa_mds_status(m->mds, m->aaguid), WA_MDS_OK);
	assert_int_equal(load(m, 11, 30, "REVOKED"), 0);
	assert_int_equal(wa_mds_status(m->mds, m->aaguid), WA_MDS_REVOKED);
	mdsfx_free(m);
}

static void
test_wa_mds_untrusted_signer_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	struct mdsfx *o = mdsfx_new(WA_SA_ES256);
	char *p = payload(m, 5, 30, "FIDO_CERTIFIED");
	char *b = jwt(m, "ES256", o->sign_key, o->sign, p, p);

	(void)state;
	assert_int_equal(wa_mds_load(m->mds, (uint8_t *)b, strlen(b)),
	    WA_ERR_MDS_CHAIN);
	free(p);
	free(b);
	mdsfx_free(o);
	mdsfx_free(m);
}

static void
test_wa_mds_alg_mismatch_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	char *p = payload(m, 5, 30, "FIDO_CERTIFIED");
	char *b = jwt(m, "RS256", m->sign_key, m->sign, p, p);

	(void)state;
	assert_int_equal(wa_mds_load(m->mds, (uint8_t *)b, strlen(b)),
	    WA_ERR_MDS_ALG);
	free(b);
	b = jwt(m, "none", m->sign_key, m->sign, p, p);
	assert_int_equal(wa_mds_load(m->mds, (uint8_t *)b, strlen(b)),
	    WA_ERR_MDS_ALG);
	free(p);
	free(b);
	mdsfx_free(m);
}

static void
test_wa_mds_malformed_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	static const char *bad[] = { "", "a.b", "a.b.c.d", "..", "e30.e30.",
	    "e30.e30.AAAA", "!!!.e30.AAAA" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(wa_mds_load(m->mds, (const uint8_t *)bad[i],
		    strlen(bad[i])), WA_ERR_MDS_MALFORMED);
	mdsfx_free(m);
}

static void
test_wa_mds_no_root_rejected(void **state)
{
	wa_mds_t *mds = wa_mds_new();

	(void)state;
	assert_int_equal(wa_mds_load(mds, (const uint8_t *)"a.b.c", 5),
	    WA_ERR_MDS_NO_ROOT);
	wa_mds_free(&mds);
	assert_null(mds);
}

static void
test_wa_mds_compromised_status(void **state)
{
	static const char *bad[] = { "ATTESTATION_KEY_COMPROMISE",
	    "USER_KEY_PHYSICAL_COMPROMISE", "USER_KEY_REMOTE_COMPROMISE",
	    "USER_VERIFICATION_BYPASS" };
	uint8_t *list = NULL;
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mdsfx *m = mdsfx_new(WA_SA_ES256);

		assert_int_equal(load(m, 2, 30, bad[i]), 0);
		assert_int_equal(wa_mds_status(m->mds, m->aaguid),
		    WA_MDS_COMPROMISED);
		assert_int_equal(wa_mds_compromised_aaguids(m->mds, &list,
		    &n), 0);
		assert_int_equal(n, 1);
		assert_memory_equal(list, m->aaguid, 16);
		free(list);
		mdsfx_free(m);
	}
}

static void
test_wa_mds_no_compromised_list_empty(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	uint8_t *list = (uint8_t *)1;
	size_t n = 9;

	(void)state;
	assert_int_equal(load(m, 2, 30, "FIDO_CERTIFIED_L2"), 0);
	assert_int_equal(wa_mds_compromised_aaguids(m->mds, &list, &n), 0);
	assert_null(list);
	assert_int_equal(n, 0);
	mdsfx_free(m);
}

/* --- the MDS in the ceremonies --- */
struct cerfx {
	wa_rp_t		*rp;
	struct wa_sa	*sa;
	wa_challenge_t	*ch;
	struct wa_sa_out out;
	wa_cred_t	*cred;
};

static int
register_with(struct mdsfx *m, struct cerfx *c, int flags)
{
	struct wa_reg_req req;

	memset(c, 0, sizeof(*c));
	assert_non_null(c->rp = wa_rp_new());
	assert_int_equal(wa_rp_set_id(c->rp, "example.org"), 0);
	assert_int_equal(wa_rp_add_origin(c->rp, "https://example.org"), 0);
	assert_int_equal(wa_rp_add_aaguid(c->rp, m->aaguid), 0);
	/* no configured roots: the MDS supplies this model's root */
	assert_int_equal(wa_rp_set_mds(c->rp, m->mds), 0);
	assert_non_null(c->sa = wa_sa_new(WA_SA_ES256));
	c->sa->att = WA_SA_ATT_FULL;
	c->sa->pki = m->att;
	memcpy(c->sa->aaguid, m->aaguid, 16);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_REGISTER, USER, USER_LEN,
	    SESSION, 0, &c->ch), 0);
	assert_int_equal(wa_sa_make_credential(c->sa, wa_challenge_ptr(c->ch),
	    WA_CHALLENGE_LEN, USER, USER_LEN, &c->out), 0);
	memset(&req, 0, sizeof(req));
	req.clientdata = c->out.clientdata;
	req.clientdata_len = c->out.clientdata_len;
	req.attobj = c->out.attobj;
	req.attobj_len = c->out.attobj_len;
	req.flags = flags;
	return wa_reg_verify(c->rp, c->ch, SESSION, &req, &c->cred);
}

static int
authenticate(struct cerfx *c)
{
	struct wa_auth_req req;
	struct wa_auth_res res;

	wa_challenge_free(&c->ch);
	wa_sa_out_clear(&c->out);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_AUTHENTICATE, USER,
	    USER_LEN, SESSION, 0, &c->ch), 0);
	assert_int_equal(wa_sa_get_assertion(c->sa, wa_challenge_ptr(c->ch),
	    WA_CHALLENGE_LEN, &c->out), 0);
	memset(&req, 0, sizeof(req));
	req.cred_id = c->sa->cred_id;
	req.cred_id_len = c->sa->cred_id_len;
	req.clientdata = c->out.clientdata;
	req.clientdata_len = c->out.clientdata_len;
	req.authdata = c->out.authdata;
	req.authdata_len = c->out.authdata_len;
	req.sig = c->out.sig;
	req.sig_len = c->out.sig_len;
	return wa_auth_verify(c->rp, c->ch, SESSION, &req, c->cred, &res);
}

static void
cerfx_clear(struct cerfx *c)
{
	wa_cred_free(&c->cred);
	wa_challenge_free(&c->ch);
	wa_sa_out_clear(&c->out);
	wa_sa_free(&c->sa);
	wa_rp_free(&c->rp);
}

static void
test_wa_mds_root_makes_hardware_ok(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	struct cerfx c;

	(void)state;
	assert_int_equal(load(m, 2, 30, "FIDO_CERTIFIED_L2"), 0);
	assert_int_equal(register_with(m, &c, WA_F_REQUIRE_HARDWARE), 0);
	assert_int_equal(wa_cred_trust(c.cred), WA_TRUST_HARDWARE);
	assert_int_equal(authenticate(&c), 0);
	cerfx_clear(&c);
	mdsfx_free(m);
}

static void
test_wa_mds_root_of_other_aaguid_not_used(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	struct cerfx c;

	(void)state;
	assert_int_equal(load(m, 2, 30, "FIDO_CERTIFIED_L2"), 0);
	/* the BLOB's root vouches for its AAGUID only */
	m->aaguid[3] ^= 0x55;
	assert_int_equal(register_with(m, &c, 0), 0);
	assert_int_equal(wa_cred_trust(c.cred), WA_TRUST_UNTRUSTED);
	cerfx_clear(&c);
	mdsfx_free(m);
}

static void
test_wa_mds_compromised_registration_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	struct cerfx c;

	(void)state;
	assert_int_equal(load(m, 2, 30, "ATTESTATION_KEY_COMPROMISE"), 0);
	assert_int_equal(register_with(m, &c, 0), WA_ERR_MDS_COMPROMISED);
	cerfx_clear(&c);
	mdsfx_free(m);
}

static void
test_wa_mds_revoked_registration_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	struct cerfx c;

	(void)state;
	assert_int_equal(load(m, 2, 30, "REVOKED"), 0);
	assert_int_equal(register_with(m, &c, 0), WA_ERR_MDS_REVOKED);
	cerfx_clear(&c);
	mdsfx_free(m);
}

static void
test_wa_mds_compromised_after_registration_rejected(void **state)
{
	struct mdsfx *m = mdsfx_new(WA_SA_ES256);
	struct cerfx c;

	(void)state;
	assert_int_equal(load(m, 2, 30, "FIDO_CERTIFIED"), 0);
	assert_int_equal(register_with(m, &c, 0), 0);
	assert_int_equal(load(m, 3, 30, "USER_VERIFICATION_BYPASS"), 0);
	assert_int_equal(authenticate(&c), WA_ERR_MDS_COMPROMISED);
	cerfx_clear(&c);
	mdsfx_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wa_mds_load_es256_ok),
		cmocka_unit_test(test_wa_mds_load_rs256_ok),
		cmocka_unit_test(test_wa_mds_load_file_ok),
		cmocka_unit_test(test_wa_mds_tampered_rejected),
		cmocka_unit_test(test_wa_mds_signature_bytes_tampered_rejected),
		cmocka_unit_test(test_wa_mds_expired_rejected),
		cmocka_unit_test(test_wa_mds_lower_serial_rejected),
		cmocka_unit_test(test_wa_mds_untrusted_signer_rejected),
		cmocka_unit_test(test_wa_mds_alg_mismatch_rejected),
		cmocka_unit_test(test_wa_mds_malformed_rejected),
		cmocka_unit_test(test_wa_mds_no_root_rejected),
		cmocka_unit_test(test_wa_mds_compromised_status),
		cmocka_unit_test(test_wa_mds_no_compromised_list_empty),
		cmocka_unit_test(test_wa_mds_root_makes_hardware_ok),
		cmocka_unit_test(test_wa_mds_root_of_other_aaguid_not_used),
		cmocka_unit_test(test_wa_mds_compromised_registration_rejected),
		cmocka_unit_test(test_wa_mds_revoked_registration_rejected),
		cmocka_unit_test(test_wa_mds_compromised_after_registration_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for fido/ registration (WebAuthn L2 §7.1): happy paths for
 * none / packed self / packed full x ES256 / EdDSA / RS256, one named test
 * per rejection, the attestation trust policy, malformed CBOR and
 * clientDataJSON.  The authenticator is tests/support/wa_softauth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cbor.h>
#include <jansson.h>

#include "common/cm.h"
#include "fido/fido.h"
#include "tests/support/wa_softauth.h"

#define SESSION		"session-0123456789"
static const uint8_t USER[] = "alice-user-handle";
#define USER_LEN	(sizeof(USER) - 1)

struct fx {
	wa_rp_t			*rp;
	struct wa_sa		*sa;
	struct wa_sa_pki	*pki;
	wa_challenge_t		*ch;
	struct wa_sa_out	 out;
	wa_cred_t		*cred;
	const char		*transports[3];
	size_t			 ntransports;
};

static void
add_root(wa_rp_t *rp, X509 *root)
{
	size_t len = 0;
	char *pem = wa_sa_cert_pem(root, &len);

	assert_non_null(pem);
	assert_int_equal(wa_rp_add_root_pem(rp, (const uint8_t *)pem, len), 0);
	free(pem);
}

static struct fx *
fx_new(int alg, enum wa_sa_att att, const struct wa_sa_pki_opts *po)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(f->rp = wa_rp_new());
	assert_int_equal(wa_rp_set_id(f->rp, "example.org"), 0);
	assert_int_equal(wa_rp_add_origin(f->rp, "https://example.org"), 0);
	assert_non_null(f->sa = wa_sa_new(alg));
	f->sa->att = att;
	if (att == WA_SA_ATT_FULL) {
		assert_non_null(f->pki = wa_sa_pki_new(po));
		f->sa->pki = f->pki;
		add_root(f->rp, f->pki->root);
	}
	assert_int_equal(wa_rp_add_aaguid(f->rp, f->sa->aaguid), 0);
	return f;
}

static void
fx_free(struct fx *f)
{
	wa_cred_free(&f->cred);
	wa_challenge_free(&f->ch);
	wa_sa_out_clear(&f->out);
	wa_sa_free(&f->sa);
	wa_sa_pki_free(&f->pki);
	wa_rp_free(&f->rp);
	free(f);
}

/* New challenge, makeCredential over it; the response in f->out. */
static void
fx_make(struct fx *f)
{
	wa_challenge_free(&f->ch);
	wa_sa_out_clear(&f->out);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_REGISTER, USER, USER_LEN,
	    SESSION, 0, &f->ch), 0);
	assert_int_equal(wa_sa_make_credential(f->sa, wa_challenge_ptr(f->ch),
	    WA_CHALLENGE_LEN, USER, USER_LEN, &f->out), 0);
}

static int
fx_verify_raw(struct fx *f, const uint8_t *attobj, size_t attobj_len,
    int flags)
{
	struct wa_reg_req req;

	memset(&req, 0, sizeof(req));
	req.clientdata = f->out.clientdata;
	req.clientdata_len = f->out.clientdata_len;
	req.attobj = attobj;
	req.attobj_len = attobj_len;
	req.transports = f->transports;
	req.ntransports = f->ntransports;
	req.flags = flags;
	wa_cred_free(&f->cred);
	return wa_reg_verify(f->rp, f->ch, SESSION, &req, &f->cred);
}

static int
fx_verify(struct fx *f, int flags)
{
	return fx_verify_raw(f, f->out.attobj, f->out.attobj_len, flags);
}

/* Register and return the result code (f->cred set on success). */
static int
fx_reg(struct fx *f, int flags)
{
	fx_make(f);
	return fx_verify(f, flags);
}

static void
expect_reg(int alg, enum wa_sa_att att, int flags, enum wa_trust trust,
    const char *fmt)
{
	struct fx *f = fx_new(alg, att, NULL);

	assert_int_equal(fx_reg(f, flags), 0);
	assert_non_null(f->cred);
	assert_int_equal(wa_cred_trust(f->cred), trust);
	assert_string_equal(wa_cred_fmt(f->cred), fmt);
	assert_int_equal(wa_cred_alg(f->cred), alg);
	assert_int_equal(wa_cred_id_len(f->cred), f->sa->cred_id_len);
	assert_memory_equal(wa_cred_id_ptr(f->cred), f->sa->cred_id,
	    f->sa->cred_id_len);
	assert_int_equal(wa_cred_user_len(f->cred), USER_LEN);
	assert_memory_equal(wa_cred_user_ptr(f->cred), USER, USER_LEN);
	assert_memory_equal(wa_cred_aaguid_ptr(f->cred), f->sa->aaguid, 16);
	assert_int_equal(wa_cred_sign_count(f->cred), 0);
	assert_int_equal(wa_cred_uv_init(f->cred), 1);
	assert_int_equal(wa_cred_be(f->cred), 0);
	assert_true(wa_challenge_consumed(f->ch));
	fx_free(f);
}

/* --- happy paths --- */
static void test_wa_reg_none_es256_ok(void **s) { (void)s;
	expect_reg(WA_SA_ES256, WA_SA_ATT_NONE, 0, WA_TRUST_NONE, "none"); }
static void test_wa_reg_none_eddsa_ok(void **s) { (void)s;
	expect_reg(WA_SA_EDDSA, WA_SA_ATT_NONE, 0, WA_TRUST_NONE, "none"); }
static void test_wa_reg_self_es256_ok(void **s) { (void)s;
	expect_reg(WA_SA_ES256, WA_SA_ATT_SELF, 0, WA_TRUST_SELF, "packed"); }
static void test_wa_reg_self_eddsa_ok(void **s) { (void)s;
	expect_reg(WA_SA_EDDSA, WA_SA_ATT_SELF, 0, WA_TRUST_SELF, "packed"); }
static void test_wa_reg_self_rs256_ok(void **s) { (void)s;
	expect_reg(WA_SA_RS256, WA_SA_ATT_SELF, 0, WA_TRUST_SELF, "packed"); }
static void test_wa_reg_full_es256_ok(void **s) { (void)s;
	expect_reg(WA_SA_ES256, WA_SA_ATT_FULL, 0, WA_TRUST_HARDWARE,
	    "packed"); }
static void test_wa_reg_full_eddsa_ok(void **s) { (void)s;
	expect_reg(WA_SA_EDDSA, WA_SA_ATT_FULL, 0, WA_TRUST_HARDWARE,
	    "packed"); }
static void test_wa_reg_full_rs256_ok(void **s) { (void)s;
	expect_reg(WA_SA_RS256, WA_SA_ATT_FULL, 0, WA_TRUST_HARDWARE,
	    "packed"); }
static void test_wa_reg_full_aal3_ok(void **s) { (void)s;
	expect_reg(WA_SA_ES256, WA_SA_ATT_FULL, WA_F_REQUIRE_HARDWARE,
	    WA_TRUST_HARDWARE, "packed"); }

static void
test_wa_reg_full_intermediate_ok(void **state)
{
	struct wa_sa_pki_opts po = { .intermediate = 1 };
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, &po);

	(void)state;
	assert_int_equal(fx_reg(f, WA_F_REQUIRE_HARDWARE), 0);
	assert_int_equal(wa_cred_trust(f->cred), WA_TRUST_HARDWARE);
	fx_free(f);
}

static void
test_wa_reg_cert_aaguid_ext_match_ok(void **state)
{
	struct wa_sa_pki_opts po;
	struct fx *f;
	struct wa_sa *tmp = wa_sa_new(WA_SA_ES256);

	(void)state;
	memset(&po, 0, sizeof(po));
	po.aaguid_ext = tmp->aaguid;	/* the default AAGUID */
	f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, &po);
	assert_int_equal(fx_reg(f, WA_F_REQUIRE_HARDWARE), 0);
	fx_free(f);
	wa_sa_free(&tmp);
}

static void
test_wa_reg_cred_protect_extension_ok(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);

	(void)state;
	f->sa->cred_protect = 2;
	assert_int_equal(fx_reg(f, 0), 0);
	f->sa->att = WA_SA_ATT_SELF;
	assert_int_equal(fx_reg(f, 0), 0);
	fx_free(f);
}

static void
test_wa_reg_transports_recorded(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	f->transports[0] = "usb";
	f->transports[1] = "nfc";
	f->transports[2] = "future-transport";	/* ignored */
	f->ntransports = 3;
	assert_int_equal(fx_reg(f, 0), 0);
	assert_int_equal(wa_cred_transports(f->cred), WA_TR_USB | WA_TR_NFC);
	fx_free(f);
}

static void
test_wa_reg_synced_passkey_ok(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	f->sa->flags = WA_SA_UP | WA_SA_UV | WA_SA_BE | WA_SA_BS;
	assert_int_equal(fx_reg(f, WA_F_REQUIRE_UV), 0);
	assert_int_equal(wa_cred_be(f->cred), 1);
	assert_int_equal(wa_cred_bs(f->cred), 1);
	fx_free(f);
}

/* --- one test per rejection --- */
static void
expect_reject(struct fx *f, int flags, int err)
{
	int r = fx_reg(f, flags);

	if (r != err)
		print_error("got %d (%s), want %d (%s)\n", r, wa_strerror(r),
		    err, wa_strerror(err));
	assert_int_equal(r, err);
	assert_null(f->cred);
	fx_free(f);
}

static void
test_wa_wrong_origin_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	snprintf(f->sa->origin, sizeof(f->sa->origin),
	    "https://example.org.evil.test");
	expect_reject(f, 0, WA_ERR_ORIGIN);
}

static void
test_wa_origin_trailing_slash_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	snprintf(f->sa->origin, sizeof(f->sa->origin), "https://example.org/");
	expect_reject(f, 0, WA_ERR_ORIGIN);
}

static void
test_wa_wrong_rp_id_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	snprintf(f->sa->rp_id, sizeof(f->sa->rp_id), "evil.test");
	expect_reject(f, 0, WA_ERR_RP_ID_HASH);
}

static void
test_wa_wrong_rp_id_full_att_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);

	(void)state;
	snprintf(f->sa->rp_id, sizeof(f->sa->rp_id), "org");
	expect_reject(f, 0, WA_ERR_RP_ID_HASH);
}

static void
test_wa_reg_challenge_reused_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	assert_int_equal(fx_reg(f, 0), 0);
	/* the same response again */
	assert_int_equal(fx_verify(f, 0), WA_ERR_CHALLENGE_USED);
	assert_null(f->cred);
	fx_free(f);
}

static void
test_wa_reg_challenge_consumed_by_failure(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	char *ser = NULL;
	wa_challenge_t *again = NULL;

	(void)state;
	snprintf(f->sa->origin, sizeof(f->sa->origin), "https://evil.test");
	fx_make(f);
	assert_int_equal(fx_verify(f, 0), WA_ERR_ORIGIN);
	/* a failed attempt used it up, also in its stored form */
	assert_int_equal(wa_challenge_serialize(f->ch, &ser), 0);
	assert_int_equal(wa_challenge_parse(ser, strlen(ser), &again), 0);
	wa_challenge_free(&f->ch);
	f->ch = again;
	snprintf(f->sa->origin, sizeof(f->sa->origin), "https://example.org");
	assert_int_equal(fx_verify(f, 0), WA_ERR_CHALLENGE_USED);
	free(ser);
	fx_free(f);
}

/* Rewrite a stored challenge's "exp". */
static wa_challenge_t *
challenge_with_exp(const wa_challenge_t *ch, int64_t exp)
{
	wa_challenge_t *out = NULL;
	json_t *o;
	char *s = NULL, *t;

	assert_int_equal(wa_challenge_serialize(ch, &s), 0);
	assert_non_null(o = json_loads(s, 0, NULL));
	assert_int_equal(json_object_set_new(o, "exp", json_integer(exp)), 0);
	assert_non_null(t = json_dumps(o, JSON_COMPACT));
	assert_int_equal(wa_challenge_parse(t, strlen(t), &out), 0);
	free(s);
	free(t);
	json_decref(o);
	return out;
}

static void
test_wa_reg_challenge_expired_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	wa_challenge_t *old;

	(void)state;
	fx_make(f);
	old = challenge_with_exp(f->ch, cm_time() - 1);
	wa_challenge_free(&f->ch);
	f->ch = old;
	assert_int_equal(fx_verify(f, 0), WA_ERR_CHALLENGE_EXPIRED);
	fx_free(f);
}

static void
test_wa_reg_challenge_other_session_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	struct wa_reg_req req;

	(void)state;
	fx_make(f);
	memset(&req, 0, sizeof(req));
	req.clientdata = f->out.clientdata;
	req.clientdata_len = f->out.clientdata_len;
	req.attobj = f->out.attobj;
	req.attobj_len = f->out.attobj_len;
	assert_int_equal(wa_reg_verify(f->rp, f->ch, "session-other", &req,
	    &f->cred), WA_ERR_CHALLENGE_BINDING);
	assert_null(f->cred);
	fx_free(f);
}

static void
test_wa_reg_challenge_wrong_purpose_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	fx_make(f);
	wa_challenge_free(&f->ch);
	assert_int_equal(wa_challenge_new(WA_PURPOSE_AUTHENTICATE, USER,
	    USER_LEN, SESSION, 0, &f->ch), 0);
	assert_int_equal(fx_verify(f, 0), WA_ERR_CHALLENGE_PURPOSE);
	fx_free(f);
}

static void
test_wa_reg_uv_missing_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	f->sa->flags = WA_SA_UP;
	expect_reject(f, WA_F_REQUIRE_UV, WA_ERR_UV_MISSING);
}

static void
test_wa_reg_uv_missing_aal3_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);

	(void)state;
	f->sa->flags = WA_SA_UP;
	expect_reject(f, WA_F_REQUIRE_HARDWARE, WA_ERR_UV_MISSING);
}

static void
test_wa_reg_up_missing_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	f->sa->flags = WA_SA_UV;
	expect_reject(f, 0, WA_ERR_UP_MISSING);
}

static void
test_wa_reg_bs_without_be_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	f->sa->flags = WA_SA_UP | WA_SA_UV | WA_SA_BS;
	expect_reject(f, 0, WA_ERR_FLAGS);
}

static void
test_wa_reg_alg_not_allowed_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_EDDSA, WA_SA_ATT_NONE, NULL);
	const int only_es256[] = { WA_ALG_ES256 };

	(void)state;
	assert_int_equal(wa_rp_set_algs(f->rp, only_es256, 1), 0);
	expect_reject(f, 0, WA_ERR_ALG_NOT_ALLOWED);
}

/* --- attestation policy --- */
static void
test_wa_att_untrusted_root_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);
	struct wa_sa_pki *other = wa_sa_pki_new(NULL);

	(void)state;
	/* the RP trusts another root only */
	wa_rp_free(&f->rp);
	assert_non_null(f->rp = wa_rp_new());
	assert_int_equal(wa_rp_set_id(f->rp, "example.org"), 0);
	assert_int_equal(wa_rp_add_origin(f->rp, "https://example.org"), 0);
	assert_int_equal(wa_rp_add_aaguid(f->rp, f->sa->aaguid), 0);
	add_root(f->rp, other->root);
	wa_sa_pki_free(&other);
	expect_reject(f, WA_F_REQUIRE_HARDWARE, WA_ERR_ATT_CHAIN);
}

static void
test_wa_att_untrusted_root_is_untrusted(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);
	struct wa_sa_pki *other = wa_sa_pki_new(NULL);

	(void)state;
	/* swap the authenticator's PKI: same shape, unknown root */
	f->sa->pki = other;
	assert_int_equal(fx_reg(f, 0), 0);
	assert_int_equal(wa_cred_trust(f->cred), WA_TRUST_UNTRUSTED);
	wa_sa_pki_free(&other);
	f->sa->pki = f->pki;
	fx_free(f);
}

static void
test_wa_att_intermediate_as_root_not_trusted(void **state)
{
	struct wa_sa_pki_opts po = { .intermediate = 1 };
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, &po);
	struct wa_sa_pki *other = wa_sa_pki_new(&po);

	(void)state;
	/* a chain whose intermediate claims our root's name is not enough */
	f->sa->pki = other;
	assert_int_equal(fx_reg(f, WA_F_REQUIRE_HARDWARE), WA_ERR_ATT_CHAIN);
	wa_sa_pki_free(&other);
	f->sa->pki = f->pki;
	fx_free(f);
}

static void
test_wa_aaguid_not_allowed_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);

	(void)state;
	f->sa->aaguid[15] ^= 0xff;	/* a model not on the list */
	expect_reject(f, WA_F_REQUIRE_HARDWARE, WA_ERR_AAGUID_NOT_ALLOWED);
}

static void
test_wa_aaguid_not_allowed_is_untrusted(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);

	(void)state;
	f->sa->aaguid[15] ^= 0xff;
	assert_int_equal(fx_reg(f, 0), 0);
	assert_int_equal(wa_cred_trust(f->cred), WA_TRUST_UNTRUSTED);
	fx_free(f);
}

static void
test_wa_att_cert_aaguid_mismatch_rejected(void **state)
{
	const uint8_t other[16] = { 0xde, 0xad, 0xbe, 0xef };
	struct wa_sa_pki_opts po = { .aaguid_ext = other };
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, &po);

	(void)state;
	/* a packed verification failure: refused even without AAL3 */
	expect_reject(f, 0, WA_ERR_ATT_CERT_AAGUID);
}

static void
test_wa_att_cert_wrong_ou_rejected(void **state)
{
	struct wa_sa_pki_opts po = { .ou = "Authenticator" };
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, &po);

	(void)state;
	expect_reject(f, 0, WA_ERR_ATT_CERT);
}

static void
test_wa_att_cert_ca_rejected(void **state)
{
	struct wa_sa_pki_opts po = { .att_is_ca = 1 };
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, &po);

	(void)state;
	expect_reject(f, 0, WA_ERR_ATT_CERT);
}

static void
test_wa_att_backup_eligible_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);

	(void)state;
	f->sa->flags = WA_SA_UP | WA_SA_UV | WA_SA_BE;
	expect_reject(f, WA_F_REQUIRE_HARDWARE, WA_ERR_NOT_DEVICE_BOUND);
}

static void
test_wa_att_backup_eligible_is_untrusted(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);

	(void)state;
	f->sa->flags = WA_SA_UP | WA_SA_UV | WA_SA_BE;
	assert_int_equal(fx_reg(f, 0), 0);
	assert_int_equal(wa_cred_trust(f->cred), WA_TRUST_UNTRUSTED);
	fx_free(f);
}

static void
test_wa_att_none_not_hardware_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	expect_reject(f, WA_F_REQUIRE_HARDWARE, WA_ERR_ATT_NOT_HARDWARE);
}

static void
test_wa_att_self_not_hardware_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_SELF, NULL);

	(void)state;
	expect_reject(f, WA_F_REQUIRE_HARDWARE, WA_ERR_ATT_NOT_HARDWARE);
}

static void
test_wa_att_self_alg_mismatch_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_SELF, NULL);

	(void)state;
	f->sa->att_alg = WA_SA_RS256;
	expect_reject(f, 0, WA_ERR_ATT_ALG_MISMATCH);
}

/* Flip one byte of the credential ID inside the signed authData. */
static void
tamper_cred_id(struct fx *f)
{
	uint8_t *p = f->out.attobj;
	size_t i, n = f->sa->cred_id_len;

	for (i = 0; i + n <= f->out.attobj_len; i++)
		if (memcmp(p + i, f->sa->cred_id, n) == 0) {
			p[i + 3] ^= 0x01;
			return;
		}
	fail_msg("credential id not found in attestationObject");
}

static void
test_wa_att_full_sig_invalid_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);

	(void)state;
	fx_make(f);
	tamper_cred_id(f);
	assert_int_equal(fx_verify(f, 0), WA_ERR_ATT_SIG);
	fx_free(f);
}

static void
test_wa_att_self_sig_invalid_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_EDDSA, WA_SA_ATT_SELF, NULL);

	(void)state;
	fx_make(f);
	tamper_cred_id(f);
	assert_int_equal(fx_verify(f, 0), WA_ERR_ATT_SIG);
	fx_free(f);
}

/* --- malformed attestationObject / authenticatorData --- */
static void
test_wa_attobj_truncated_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);

	(void)state;
	fx_make(f);
	assert_int_equal(fx_verify_raw(f, f->out.attobj, f->out.attobj_len - 1,
	    0), WA_ERR_ATTOBJ_MALFORMED);
	fx_free(f);
}

static void
test_wa_attobj_trailing_bytes_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	uint8_t *b;

	(void)state;
	fx_make(f);
	assert_non_null(b = malloc(f->out.attobj_len + 1));
	memcpy(b, f->out.attobj, f->out.attobj_len);
	b[f->out.attobj_len] = 0x00;
	assert_int_equal(fx_verify_raw(f, b, f->out.attobj_len + 1, 0),
	    WA_ERR_ATTOBJ_MALFORMED);
	free(b);
	fx_free(f);
}

static void
test_wa_attobj_indefinite_map_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	uint8_t *b;

	(void)state;
	fx_make(f);
	assert_int_equal(f->out.attobj[0], 0xa3);	/* map(3) */
	assert_non_null(b = malloc(f->out.attobj_len + 1));
	memcpy(b, f->out.attobj, f->out.attobj_len);
	b[0] = 0xbf;					/* map(*) */
	b[f->out.attobj_len] = 0xff;			/* break */
	assert_int_equal(fx_verify_raw(f, b, f->out.attobj_len + 1, 0),
	    WA_ERR_ATTOBJ_MALFORMED);
	free(b);
	fx_free(f);
}

/* Serialise {fmt, authData, attStmt} from parts (NULL: a default). */
static uint8_t *
attobj_build(cbor_item_t *fmt, cbor_item_t *ad, cbor_item_t *st,
    size_t *len)
{
	cbor_item_t *m = cbor_new_definite_map(3);
	unsigned char *buf = NULL;
	size_t cap = 0;

	assert_non_null(m);
	assert_true(cbor_map_add(m, (struct cbor_pair){
	    .key = cbor_move(cbor_build_string("fmt")),
	    .value = cbor_move(fmt) }));
	assert_true(cbor_map_add(m, (struct cbor_pair){
	    .key = cbor_move(cbor_build_string("authData")),
	    .value = cbor_move(ad) }));
	assert_true(cbor_map_add(m, (struct cbor_pair){
	    .key = cbor_move(cbor_build_string("attStmt")),
	    .value = cbor_move(st) }));
	assert_true((*len = cbor_serialize_alloc(m, &buf, &cap)) > 0);
	cbor_decref(&m);
	return buf;
}

/* A "none" attestationObject around modified authData. */
static int
reg_with_authdata(struct fx *f, const uint8_t *ad, size_t adlen)
{
	uint8_t *ao;
	size_t aolen;
	int r;

	ao = attobj_build(cbor_build_string("none"),
	    cbor_build_bytestring(ad, adlen), cbor_new_definite_map(0),
	    &aolen);
	r = fx_verify_raw(f, ao, aolen, 0);
	free(ao);
	return r;
}

static void
test_wa_attobj_wrong_types_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	uint8_t *ao;
	size_t aolen;

	(void)state;
	fx_make(f);
	/* authData as a text string */
	ao = attobj_build(cbor_build_string("none"),
	    cbor_build_stringn((const char *)f->out.authdata,
	    f->out.authdata_len), cbor_new_definite_map(0), &aolen);
	assert_int_equal(fx_verify_raw(f, ao, aolen, 0),
	    WA_ERR_ATTOBJ_MALFORMED);
	free(ao);
	fx_make(f);
	/* fmt as an integer */
	ao = attobj_build(cbor_build_uint8(1),
	    cbor_build_bytestring(f->out.authdata, f->out.authdata_len),
	    cbor_new_definite_map(0), &aolen);
	assert_int_equal(fx_verify_raw(f, ao, aolen, 0),
	    WA_ERR_ATTOBJ_MALFORMED);
	free(ao);
	fx_make(f);
	/* attStmt as an array */
	ao = attobj_build(cbor_build_string("none"),
	    cbor_build_bytestring(f->out.authdata, f->out.authdata_len),
	    cbor_new_definite_array(0), &aolen);
	assert_int_equal(fx_verify_raw(f, ao, aolen, 0),
	    WA_ERR_ATTSTMT_MALFORMED);
	free(ao);
	fx_free(f);
}

static void
test_wa_attobj_indefinite_bytes_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	cbor_item_t *ind;
	uint8_t *ao;
	size_t aolen;

	(void)state;
	fx_make(f);
	assert_non_null(ind = cbor_new_indefinite_bytestring());
	assert_true(cbor_bytestring_add_chunk(ind, cbor_move(
	    cbor_build_bytestring(f->out.authdata, f->out.authdata_len))));
	ao = attobj_build(cbor_build_string("none"), ind,
	    cbor_new_definite_map(0), &aolen);
	assert_int_equal(fx_verify_raw(f, ao, aolen, 0),
	    WA_ERR_ATTOBJ_MALFORMED);
	free(ao);
	fx_free(f);
}

static void
test_wa_attobj_fmt_unsupported_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	uint8_t *ao;
	size_t aolen;

	(void)state;
	fx_make(f);
	ao = attobj_build(cbor_build_string("Packed"),
	    cbor_build_bytestring(f->out.authdata, f->out.authdata_len),
	    cbor_new_definite_map(0), &aolen);
	assert_int_equal(fx_verify_raw(f, ao, aolen, 0),
	    WA_ERR_FMT_UNSUPPORTED);
	free(ao);
	fx_free(f);
}

static void
test_wa_attstmt_none_not_empty_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	cbor_item_t *st = cbor_new_definite_map(1);
	uint8_t *ao;
	size_t aolen;

	(void)state;
	fx_make(f);
	assert_true(cbor_map_add(st, (struct cbor_pair){
	    .key = cbor_move(cbor_build_string("sig")),
	    .value = cbor_move(cbor_build_bytestring((const uint8_t *)"x",
	    1)) }));
	ao = attobj_build(cbor_build_string("none"),
	    cbor_build_bytestring(f->out.authdata, f->out.authdata_len), st,
	    &aolen);
	assert_int_equal(fx_verify_raw(f, ao, aolen, 0),
	    WA_ERR_ATTSTMT_MALFORMED);
	free(ao);
	fx_free(f);
}

static void
test_wa_attobj_huge_count_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	/* map with 2^36 pairs / array with 2^32 items: a 9-byte header
	 * must not make libcbor allocate gigabytes */
	const uint8_t map[] = { 0xbb, 0, 0, 0, 0x10, 0, 0, 0, 0, 0x01 };
	const uint8_t arr[] = { 0x9b, 0, 0, 0, 0x01, 0, 0, 0, 0, 0x01 };

	(void)state;
	fx_make(f);
	assert_int_equal(fx_verify_raw(f, map, sizeof(map), 0),
	    WA_ERR_ATTOBJ_MALFORMED);
	fx_make(f);
	assert_int_equal(fx_verify_raw(f, arr, sizeof(arr), 0),
	    WA_ERR_ATTOBJ_MALFORMED);
	fx_free(f);
}

static void
test_wa_attobj_deep_nesting_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	uint8_t deep[200];

	(void)state;
	memset(deep, 0x81, sizeof(deep));	/* [[[[...]]]] */
	deep[sizeof(deep) - 1] = 0x00;
	fx_make(f);
	assert_int_equal(fx_verify_raw(f, deep, sizeof(deep), 0),
	    WA_ERR_ATTOBJ_MALFORMED);
	fx_free(f);
}

static void
test_wa_attobj_too_large_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	uint8_t *b = calloc(1, WA_ATTOBJ_MAX_LEN + 1);

	(void)state;
	fx_make(f);
	assert_int_equal(fx_verify_raw(f, b, WA_ATTOBJ_MAX_LEN + 1, 0),
	    WA_ERR_TOO_LARGE);
	free(b);
	fx_free(f);
}

static void
test_wa_authdata_trailing_bytes_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	uint8_t *ad;

	(void)state;
	fx_make(f);
	assert_non_null(ad = malloc(f->out.authdata_len + 1));
	memcpy(ad, f->out.authdata, f->out.authdata_len);
	ad[f->out.authdata_len] = 0xa0;
	assert_int_equal(reg_with_authdata(f, ad, f->out.authdata_len + 1),
	    WA_ERR_AUTHDATA_MALFORMED);
	free(ad);
	fx_free(f);
}

static void
test_wa_authdata_truncated_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	fx_make(f);
	assert_int_equal(reg_with_authdata(f, f->out.authdata,
	    f->out.authdata_len - 1), WA_ERR_COSE_KEY);
	fx_make(f);
	assert_int_equal(reg_with_authdata(f, f->out.authdata, 36),
	    WA_ERR_AUTHDATA_MALFORMED);
	fx_make(f);
	assert_int_equal(reg_with_authdata(f, f->out.authdata, 37 + 16 + 2 + 5),
	    WA_ERR_AUTHDATA_MALFORMED);
	fx_free(f);
}

static void
test_wa_authdata_no_attested_data_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	fx_make(f);
	f->out.authdata[32] &= (uint8_t)~0x40;	/* AT off */
	assert_int_equal(reg_with_authdata(f, f->out.authdata,
	    f->out.authdata_len), WA_ERR_FLAGS);
	fx_free(f);
}

static void
test_wa_authdata_cred_id_too_long_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	fx_make(f);
	f->out.authdata[37 + 16] = 0x04;	/* length 1024 + ... */
	f->out.authdata[37 + 17] = 0x00;
	assert_int_equal(reg_with_authdata(f, f->out.authdata,
	    f->out.authdata_len), WA_ERR_CRED_ID_LEN);
	fx_free(f);
}

static void
test_wa_authdata_bad_cose_key_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	size_t off = 37 + 16 + 2 + 32;

	(void)state;
	fx_make(f);
	/* the COSE key starts with map(5), kty: 1 -> 2; make kty OKP */
	assert_int_equal(f->out.authdata[off], 0xa5);
	assert_int_equal(f->out.authdata[off + 1], 0x01);
	f->out.authdata[off + 2] = 0x01;
	assert_int_equal(reg_with_authdata(f, f->out.authdata,
	    f->out.authdata_len), WA_ERR_COSE_KEY);
	fx_free(f);
}

static void
test_wa_authdata_point_not_on_curve_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	fx_make(f);
	/* last byte of y */
	f->out.authdata[f->out.authdata_len - 1] ^= 0x01;
	assert_int_equal(reg_with_authdata(f, f->out.authdata,
	    f->out.authdata_len), WA_ERR_COSE_KEY);
	fx_free(f);
}

/* --- clientDataJSON --- */
static void
test_wa_clientdata_wrong_type_rejected(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);

	(void)state;
	f->sa->type = "webauthn.get";
	expect_reject(f, 0, WA_ERR_CLIENTDATA_TYPE);
}

/* clientDataJSON from a printf format with %s for our challenge. */
static int
reg_with_clientdata(const char *fmt, int raw_challenge)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_NONE, NULL);
	char cd[1024], *b64 = NULL;
	const char *pos, *ins;
	int r;

	assert_int_equal(wa_challenge_new(WA_PURPOSE_REGISTER, USER, USER_LEN,
	    SESSION, 0, &f->ch), 0);
	assert_int_equal(wa_challenge_b64url(f->ch, &b64), 0);
	/* the "%s" in fmt is where the challenge goes */
	ins = raw_challenge ? "abc+/def" : b64;
	assert_non_null(pos = strstr(fmt, "%s"));
	assert_true(strlen(fmt) + strlen(ins) < sizeof(cd));
	memcpy(cd, fmt, (size_t)(pos - fmt));
	cd[pos - fmt] = '\0';
	strncat(cd, ins, sizeof(cd) - strlen(cd) - 1);
	strncat(cd, pos + 2, sizeof(cd) - strlen(cd) - 1);
	f->sa->clientdata_raw = cd;
	assert_int_equal(wa_sa_make_credential(f->sa, wa_challenge_ptr(f->ch),
	    WA_CHALLENGE_LEN, USER, USER_LEN, &f->out), 0);
	r = fx_verify(f, 0);
	free(b64);
	fx_free(f);
	return r;
}

static void
test_wa_clientdata_ok_with_extra_members(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":\"webauthn.create\","
	    "\"challenge\":\"%s\",\"origin\":\"https://example.org\","
	    "\"crossOrigin\":false,\"other_keys_can_be_added_here\":1}", 0), 0);
}

static void
test_wa_clientdata_duplicate_keys_rejected(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":\"webauthn.create\","
	    "\"challenge\":\"%s\",\"origin\":\"https://example.org\","
	    "\"origin\":\"https://evil.test\"}", 0),
	    WA_ERR_CLIENTDATA_MALFORMED);
}

static void
test_wa_clientdata_bad_b64_challenge_rejected(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":\"webauthn.create\","
	    "\"challenge\":\"%s\",\"origin\":\"https://example.org\"}", 1),
	    WA_ERR_CHALLENGE_ENCODING);
}

static void
test_wa_clientdata_padded_challenge_rejected(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":\"webauthn.create\","
	    "\"challenge\":\"%s=\",\"origin\":\"https://example.org\"}", 0),
	    WA_ERR_CHALLENGE_ENCODING);
}

static void
test_wa_clientdata_challenge_mismatch_rejected(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":\"webauthn.create\","
	    "\"challenge\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	    "\"origin\":\"https://example.org\",\"x\":\"%s\"}", 0),
	    WA_ERR_CHALLENGE_MISMATCH);
}

static void
test_wa_clientdata_cross_origin_rejected(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":\"webauthn.create\","
	    "\"challenge\":\"%s\",\"origin\":\"https://example.org\","
	    "\"crossOrigin\":true}", 0), WA_ERR_CROSS_ORIGIN);
}

static void
test_wa_clientdata_token_binding_present_rejected(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":\"webauthn.create\","
	    "\"challenge\":\"%s\",\"origin\":\"https://example.org\","
	    "\"tokenBinding\":{\"status\":\"present\",\"id\":\"AAAA\"}}", 0),
	    WA_ERR_TOKEN_BINDING);
}

static void
test_wa_clientdata_not_json_rejected(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":\"webauthn.create\","
	    "\"challenge\":\"%s\",", 0), WA_ERR_CLIENTDATA_MALFORMED);
	assert_int_equal(reg_with_clientdata("[\"%s\"]", 0),
	    WA_ERR_CLIENTDATA_MALFORMED);
}

static void
test_wa_clientdata_type_not_string_rejected(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":1,"
	    "\"challenge\":\"%s\",\"origin\":\"https://example.org\"}", 0),
	    WA_ERR_CLIENTDATA_MALFORMED);
}

static void
test_wa_clientdata_origin_nul_rejected(void **state)
{
	(void)state;
	assert_int_equal(reg_with_clientdata("{\"type\":\"webauthn.create\","
	    "\"challenge\":\"%s\",\"origin\":\"https://example.org\\u0000x\"}",
	    0), WA_ERR_CLIENTDATA_MALFORMED);
}

/* --- configuration --- */
static void
test_wa_rp_config_rejected(void **state)
{
	wa_rp_t *rp = wa_rp_new();
	const int bad[] = { -35 };

	(void)state;
	assert_non_null(rp);
	assert_int_equal(wa_rp_set_id(rp, "Example.ORG"), CM_ERR_INVAL);
	assert_int_equal(wa_rp_set_id(rp, ".example.org"), CM_ERR_INVAL);
	assert_int_equal(wa_rp_add_origin(rp, "http://example.org"),
	    CM_ERR_INVAL);
	assert_int_equal(wa_rp_add_origin(rp, "https://example.org/path"),
	    CM_ERR_INVAL);
	assert_int_equal(wa_rp_set_algs(rp, bad, 1), CM_ERR_UNSUPPORTED);
	assert_int_equal(wa_rp_add_root_pem(rp, (const uint8_t *)"junk", 4),
	    WA_ERR_ROOTS);
	assert_int_equal(wa_rp_load_roots(rp, "/nonexistent-dir"),
	    WA_ERR_ROOTS);
	wa_rp_free(&rp);
	assert_null(rp);
	wa_rp_free(NULL);
}

static void
test_wa_rp_load_roots_dir_ok(void **state)
{
	struct fx *f = fx_new(WA_SA_ES256, WA_SA_ATT_FULL, NULL);
	char dir[] = "/tmp/wa-roots-XXXXXX", path[128];
	size_t len = 0;
	char *pem;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/root.pem", dir);
	assert_non_null(pem = wa_sa_cert_pem(f->pki->root, &len));
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(pem, 1, len, fp), len);
	fclose(fp);
	free(pem);
	wa_rp_free(&f->rp);
	assert_non_null(f->rp = wa_rp_new());
	assert_int_equal(wa_rp_set_id(f->rp, "example.org"), 0);
	assert_int_equal(wa_rp_add_origin(f->rp, "https://example.org"), 0);
	assert_int_equal(wa_rp_add_aaguid(f->rp, f->sa->aaguid), 0);
	assert_int_equal(wa_rp_load_roots(f->rp, dir), 0);
	assert_int_equal(fx_reg(f, WA_F_REQUIRE_HARDWARE), 0);
	unlink(path);
	rmdir(dir);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wa_reg_none_es256_ok),
		cmocka_unit_test(test_wa_reg_none_eddsa_ok),
		cmocka_unit_test(test_wa_reg_self_es256_ok),
		cmocka_unit_test(test_wa_reg_self_eddsa_ok),
		cmocka_unit_test(test_wa_reg_self_rs256_ok),
		cmocka_unit_test(test_wa_reg_full_es256_ok),
		cmocka_unit_test(test_wa_reg_full_eddsa_ok),
		cmocka_unit_test(test_wa_reg_full_rs256_ok),
		cmocka_unit_test(test_wa_reg_full_aal3_ok),
		cmocka_unit_test(test_wa_reg_full_intermediate_ok),
		cmocka_unit_test(test_wa_reg_cert_aaguid_ext_match_ok),
		cmocka_unit_test(test_wa_reg_cred_protect_extension_ok),
		cmocka_unit_test(test_wa_reg_transports_recorded),
		cmocka_unit_test(test_wa_reg_synced_passkey_ok),
		cmocka_unit_test(test_wa_wrong_origin_rejected),
		cmocka_unit_test(test_wa_origin_trailing_slash_rejected),
		cmocka_unit_test(test_wa_wrong_rp_id_rejected),
		cmocka_unit_test(test_wa_wrong_rp_id_full_att_rejected),
		cmocka_unit_test(test_wa_reg_challenge_reused_rejected),
		cmocka_unit_test(test_wa_reg_challenge_consumed_by_failure),
		cmocka_unit_test(test_wa_reg_challenge_expired_rejected),
		cmocka_unit_test(test_wa_reg_challenge_other_session_rejected),
		cmocka_unit_test(test_wa_reg_challenge_wrong_purpose_rejected),
		cmocka_unit_test(test_wa_reg_uv_missing_rejected),
		cmocka_unit_test(test_wa_reg_uv_missing_aal3_rejected),
		cmocka_unit_test(test_wa_reg_up_missing_rejected),
		cmocka_unit_test(test_wa_reg_bs_without_be_rejected),
		cmocka_unit_test(test_wa_reg_alg_not_allowed_rejected),
		cmocka_unit_test(test_wa_att_untrusted_root_rejected),
		cmocka_unit_test(test_wa_att_untrusted_root_is_untrusted),
		cmocka_unit_test(test_wa_att_intermediate_as_root_not_trusted),
		cmocka_unit_test(test_wa_aaguid_not_allowed_rejected),
		cmocka_unit_test(test_wa_aaguid_not_allowed_is_untrusted),
		cmocka_unit_test(test_wa_att_cert_aaguid_mismatch_rejected),
		cmocka_unit_test(test_wa_att_cert_wrong_ou_rejected),
		cmocka_unit_test(test_wa_att_cert_ca_rejected),
		cmocka_unit_test(test_wa_att_backup_eligible_rejected),
		cmocka_unit_test(test_wa_att_backup_eligible_is_untrusted),
		cmocka_unit_test(test_wa_att_none_not_hardware_rejected),
		cmocka_unit_test(test_wa_att_self_not_hardware_rejected),
		cmocka_unit_test(test_wa_att_self_alg_mismatch_rejected),
		cmocka_unit_test(test_wa_att_full_sig_invalid_rejected),
		cmocka_unit_test(test_wa_att_self_sig_invalid_rejected),
		cmocka_unit_test(test_wa_attobj_truncated_rejected),
		cmocka_unit_test(test_wa_attobj_trailing_bytes_rejected),
		cmocka_unit_test(test_wa_attobj_indefinite_map_rejected),
		cmocka_unit_test(test_wa_attobj_wrong_types_rejected),
		cmocka_unit_test(test_wa_attobj_indefinite_bytes_rejected),
		cmocka_unit_test(test_wa_attobj_fmt_unsupported_rejected),
		cmocka_unit_test(test_wa_attstmt_none_not_empty_rejected),
		cmocka_unit_test(test_wa_attobj_huge_count_rejected),
		cmocka_unit_test(test_wa_attobj_deep_nesting_rejected),
		cmocka_unit_test(test_wa_attobj_too_large_rejected),
		cmocka_unit_test(test_wa_authdata_trailing_bytes_rejected),
		cmocka_unit_test(test_wa_authdata_truncated_rejected),
		cmocka_unit_test(test_wa_authdata_no_attested_data_rejected),
		cmocka_unit_test(test_wa_authdata_cred_id_too_long_rejected),
		cmocka_unit_test(test_wa_authdata_bad_cose_key_rejected),
		cmocka_unit_test(test_wa_authdata_point_not_on_curve_rejected),
		cmocka_unit_test(test_wa_clientdata_wrong_type_rejected),
		cmocka_unit_test(test_wa_clientdata_ok_with_extra_members),
		cmocka_unit_test(test_wa_clientdata_duplicate_keys_rejected),
		cmocka_unit_test(test_wa_clientdata_bad_b64_challenge_rejected),
		cmocka_unit_test(test_wa_clientdata_padded_challenge_rejected),
		cmocka_unit_test(test_wa_clientdata_challenge_mismatch_rejected),
		cmocka_unit_test(test_wa_clientdata_cross_origin_rejected),
		cmocka_unit_test(test_wa_clientdata_token_binding_present_rejected),
		cmocka_unit_test(test_wa_clientdata_not_json_rejected),
		cmocka_unit_test(test_wa_clientdata_type_not_string_rejected),
		cmocka_unit_test(test_wa_clientdata_origin_nul_rejected),
		cmocka_unit_test(test_wa_rp_config_rejected),
		cmocka_unit_test(test_wa_rp_load_roots_dir_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libFuzzer target: clientDataJSON checks (jansson with duplicate keys
 * rejected, type, challenge in constant time after strict base64url,
 * origin, crossOrigin, tokenBinding) in both ceremonies.  The input is
 * the clientDataJSON, checked by both ceremonies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "common/cm.h"
#include "fido/fido.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SESSION	"fuzz-session"
#define CHAL	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static const char record[] = "{\"aaguid\":"
    "\"534b4d2d-5445-5354-2d41-5554482d3031\",\"alg\":-7,\"be\":false,"
    "\"bs\":false,\"ct\":1795306454,\"fmt\":\"none\","
    "\"id\":\"WV0nwviGNMneh9Van4XqDWaiQj84UcpfvlhzzJp2hi8\","
    "\"pk\":\"pQECAyYgASFYIDcn8BrzTP2tc13sbln1mfkhd84RFSOYk1TfXRV5o3JNIlgg"
    "Oa4hNxzlcpx85vj-usGBSdZG4QqKSFes8iwHfhQOioM\",\"sc\":0,\"tr\":[],"
    "\"trust\":\"none\",\"user\":\"dXNlcg\",\"uv\":true,\"v\":1}";

static wa_rp_t *rp;
static wa_cred_t *cred;
static char *stored_reg, *stored_auth;
static uint8_t authdata[37];

static char *
stored_challenge(const char *purpose)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	char *s = NULL, *out;
	json_t *o;

	SHA256((const unsigned char *)SESSION, strlen(SESSION), h);
	if (cm_b64url_encode(h, sizeof(h), &s) != 0)
		abort();
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:b}", "v", 1, "p",
	    purpose, "c", CHAL, "s", s, "u", "dXNlcg", "exp",
	    (json_int_t)4102444800LL, "used", 0);
	if (o == NULL || (out = json_dumps(o, JSON_COMPACT)) == NULL)
		abort();
	json_decref(o);
	free(s);
	return out;
}

static void
init(void)
{
	if ((rp = wa_rp_new()) == NULL || wa_rp_set_id(rp, "example.org") ||
	    wa_rp_add_origin(rp, "https://example.org") ||
	    wa_rp_add_origin(rp, "https://login.example.org") ||
	    wa_cred_from_json(record, sizeof(record) - 1, &cred) != 0)
		abort();
	stored_reg = stored_challenge("reg");
	stored_auth = stored_challenge("auth");
	/* rpIdHash, UP, counter 1: the signature check fails afterwards */
	SHA256((const unsigned char *)"example.org", 11, authdata);
	authdata[32] = 0x01;
	authdata[36] = 0x01;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t sig[8] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02,
	    0x01, 0x01 };
	wa_challenge_t *ch = NULL;
	wa_cred_t *out = NULL;
	struct wa_reg_req rq;
	struct wa_auth_req aq;
	struct wa_auth_res res;
	static const uint8_t attobj[] = { 0xa0 };

	if (rp == NULL)
		init();
	/* registration: a junk attestationObject after the JSON */
	if (wa_challenge_parse(stored_reg, strlen(stored_reg), &ch))
		abort();
	memset(&rq, 0, sizeof(rq));
	rq.clientdata = data;
	rq.clientdata_len = size;
	rq.attobj = attobj;
	rq.attobj_len = sizeof(attobj);
	if (wa_reg_verify(rp, ch, SESSION, &rq, &out) == 0)
		abort();
	wa_challenge_free(&ch);
	/* authentication: a signature that cannot verify */
	{
		if (wa_challenge_parse(stored_auth, strlen(stored_auth), &ch))
			abort();
		memset(&aq, 0, sizeof(aq));
		aq.cred_id = wa_cred_id_ptr(cred);
		aq.cred_id_len = wa_cred_id_len(cred);
		aq.clientdata = data;
		aq.clientdata_len = size;
		aq.authdata = authdata;
		aq.authdata_len = sizeof(authdata);
		aq.sig = sig;
		aq.sig_len = sizeof(sig);
		if (wa_auth_verify(rp, ch, SESSION, &aq, cred, &res) == 0)
			abort();
	}
	wa_cred_free(&out);
	wa_challenge_free(&ch);
	return 0;
}

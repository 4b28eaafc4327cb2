/* libFuzzer target: authenticatorData of an assertion and the rest of the
 * authentication ceremony (flags, extensions, libfido2 signature check,
 * signature counter).  Input: a big-endian 16-bit authenticatorData
 * length, the authenticatorData, then the signature.  The credential
 * record, clientDataJSON and challenge are fixed; the seeds in
 * fuzz/corpus/wa_authdata/ carry valid signatures by the record's key. */
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

static const char clientdata[] = "{\"type\":\"webauthn.get\","
    "\"challenge\":\"" CHAL "\",\"origin\":\"https://example.org\","
    "\"crossOrigin\":false}";

/* ES256 credential of user "user" (made by tests/support/wa_softauth) */
static const char record[] = "{\"aaguid\":"
    "\"534b4d2d-5445-5354-2d41-5554482d3031\",\"alg\":-7,\"be\":false,"
    "\"bs\":false,\"ct\":1795306454,\"fmt\":\"none\","
    "\"id\":\"WV0nwviGNMneh9Van4XqDWaiQj84UcpfvlhzzJp2hi8\","
    "\"pk\":\"pQECAyYgASFYIDcn8BrzTP2tc13sbln1mfkhd84RFSOYk1TfXRV5o3JNIlgg"
    "Oa4hNxzlcpx85vj-usGBSdZG4QqKSFes8iwHfhQOioM\",\"sc\":0,\"tr\":[],"
    "\"trust\":\"none\",\"user\":\"dXNlcg\",\"uv\":true,\"v\":1}";

static wa_rp_t *rp;
static wa_cred_t *cred;
static char *stored;

static void
init(void)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	char *s = NULL;
	json_t *o;

	if ((rp = wa_rp_new()) == NULL || wa_rp_set_id(rp, "example.org") ||
	    wa_rp_add_origin(rp, "https://example.org") ||
	    wa_cred_from_json(record, sizeof(record) - 1, &cred) != 0)
		abort();
	SHA256((const unsigned char *)SESSION, strlen(SESSION), h);
	if (cm_b64url_encode(h, sizeof(h), &s) != 0)
		abort();
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:b}", "v", 1, "p",
	    "auth", "c", CHAL, "s", s, "u", "dXNlcg", "exp",
	    (json_int_t)4102444800LL, "used", 0);
	if (o == NULL || (stored = json_dumps(o, JSON_COMPACT)) == NULL)
		abort();
	json_decref(o);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wa_challenge_t *ch = NULL;
	struct wa_auth_req req;
	struct wa_auth_res res;
	size_t adlen;

	if (rp == NULL)
		init();
	if (size < 2)
		return 0;
	adlen = (size_t)data[0] << 8 | data[1];
	if (adlen > size - 2)
		return 0;
	if (wa_challenge_parse(stored, strlen(stored), &ch) != 0)
		abort();
	memset(&req, 0, sizeof(req));
	req.cred_id = wa_cred_id_ptr(cred);
	req.cred_id_len = wa_cred_id_len(cred);
	req.clientdata = (const uint8_t *)clientdata;
	req.clientdata_len = sizeof(clientdata) - 1;
	req.authdata = data + 2;
	req.authdata_len = adlen;
	req.sig = data + 2 + adlen;
	req.sig_len = size - 2 - adlen;
	req.flags = (adlen & 1) ? WA_F_REQUIRE_UV : 0;
	(void)wa_auth_verify(rp, ch, SESSION, &req, cred, &res);
	wa_challenge_free(&ch);
	return 0;
}

/* libFuzzer target: attestationObject parsing and the registration
 * ceremony behind it (authenticatorData, COSE key, attStmt, libfido2
 * verification, certificate and chain checks).  The input is the
 * attestationObject; clientDataJSON and the stored challenge are fixed so
 * that the seeds (fuzz/corpus/wa_attobj/) reach the attestation code. */
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
/* challenge bytes 0x00..0x1f */
#define CHAL	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static const char clientdata[] = "{\"type\":\"webauthn.create\","
    "\"challenge\":\"" CHAL "\",\"origin\":\"https://example.org\","
    "\"crossOrigin\":false}";

static wa_rp_t *rp;
static char *stored;	/* serialised registration challenge */

static void
init(void)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	char *s = NULL;
	json_t *o;

	if ((rp = wa_rp_new()) == NULL || wa_rp_set_id(rp, "example.org") ||
	    wa_rp_add_origin(rp, "https://example.org"))
		abort();
	SHA256((const unsigned char *)SESSION, strlen(SESSION), h);
	if (cm_b64url_encode(h, sizeof(h), &s) != 0)
		abort();
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:b}", "v", 1, "p",
	    "reg", "c", CHAL, "s", s, "u", "dXNlcg", "exp",
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
	wa_cred_t *cred = NULL;
	struct wa_reg_req req;
	char *json = NULL;
	int r;

	if (rp == NULL)
		init();
	if (wa_challenge_parse(stored, strlen(stored), &ch) != 0)
		abort();
	memset(&req, 0, sizeof(req));
	req.clientdata = (const uint8_t *)clientdata;
	req.clientdata_len = sizeof(clientdata) - 1;
	req.attobj = data;
	req.attobj_len = size;
	r = wa_reg_verify(rp, ch, SESSION, &req, &cred);
	if (r == 0) {
		/* a record we produced must survive its own stored form */
		wa_cred_t *again = NULL;

		if (wa_cred_to_json(cred, &json) != 0 ||
		    wa_cred_from_json(json, strlen(json), &again) != 0)
			abort();
		wa_cred_free(&again);
	} else if (cred != NULL)
		abort();	/* out-parameter set on failure */
	free(json);
	wa_cred_free(&cred);
	wa_challenge_free(&ch);
	return 0;
}

/* fido/wa_clientdata.c — CollectedClientData checks (WebAuthn L2 §7.1
 * steps 5-10, §7.2 steps 9-14): our code, libfido2 only sees its hash. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fido/wa_int.h"

static int
check_challenge(json_t *v, const uint8_t challenge[WA_CHALLENGE_LEN])
{
	uint8_t *b = NULL;
	size_t n = 0;
	int r;

	if (!json_is_string(v))
		return WA_ERR_CLIENTDATA_MALFORMED;
	if (cm_b64url_decode(json_string_value(v), json_string_length(v), &b,
	    &n) != 0)
		return WA_ERR_CHALLENGE_ENCODING;
	if (n != WA_CHALLENGE_LEN || !cm_ct_equal(b, challenge, n))
		r = WA_ERR_CHALLENGE_MISMATCH;
	else
		r = 0;
	cm_freezero(b, n);
	return r;
}

static int
check_token_binding(json_t *tb)
{
	json_t *st;
	const char *s;

	if (tb == NULL)
		return 0;
	if (!json_is_object(tb) || (st = json_object_get(tb, "status")) == NULL ||
	    (s = json_string_value(st)) == NULL ||
	    strlen(s) != json_string_length(st))
		return WA_ERR_CLIENTDATA_MALFORMED;
	/* we do not use Token Binding: "present" cannot match our TLS */
	if (strcmp(s, "present") == 0)
		return WA_ERR_TOKEN_BINDING;
	if (strcmp(s, "supported") != 0)
		return WA_ERR_CLIENTDATA_MALFORMED;
	return 0;
}

int
wa_clientdata_verify(const wa_rp_t *rp, const uint8_t *p, size_t len,
    const char *type, const uint8_t challenge[WA_CHALLENGE_LEN])
{
	json_t *o = NULL, *v;
	json_error_t jerr;
	int r = WA_ERR_CLIENTDATA_MALFORMED;

	if (p == NULL || len == 0)
		return WA_ERR_CLIENTDATA_MALFORMED;
	if (len > WA_CLIENTDATA_MAX_LEN)
		return WA_ERR_TOO_LARGE;
	if (memchr(p, '\0', len) != NULL)
		return WA_ERR_CLIENTDATA_MALFORMED;
	/* steps 5-6: UTF-8 (jansson validates it) JSON, no duplicate keys */
	if ((o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(o))
		goto out;
	/* step 7: type */
	if ((v = json_object_get(o, "type")) == NULL || !json_is_string(v))
		goto out;
	if (json_string_length(v) != strlen(type) ||
	    memcmp(json_string_value(v), type, strlen(type)) != 0) {
		r = WA_ERR_CLIENTDATA_TYPE;
		goto out;
	}
	/* step 8: challenge, constant time after strict base64url */
	if ((v = json_object_get(o, "challenge")) == NULL) {
		r = WA_ERR_CLIENTDATA_MALFORMED;
		goto out;
	}
	if ((r = check_challenge(v, challenge)) != 0)
		goto out;
	/* step 9: origin, exact match with a configured origin */
	r = WA_ERR_CLIENTDATA_MALFORMED;
	if ((v = json_object_get(o, "origin")) == NULL || !json_is_string(v))
		goto out;
	if (!wa_rp_origin_ok(rp, json_string_value(v),
	    json_string_length(v))) {
		r = WA_ERR_ORIGIN;
		goto out;
	}
	/* L3: crossOrigin true means an iframe of another origin */
	if ((v = json_object_get(o, "crossOrigin")) != NULL) {
		if (!json_is_boolean(v))
			goto out;
		if (json_is_true(v)) {
			r = WA_ERR_CROSS_ORIGIN;
			goto out;
		}
	}
	/* step 10: tokenBinding */
	if ((r = check_token_binding(json_object_get(o, "tokenBinding"))) != 0)
		goto out;
	r = 0;
out:
	json_decref(o);
	return r;
}

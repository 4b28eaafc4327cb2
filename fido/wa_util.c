/* fido/wa_util.c — hashing, strict standard base64, CBOR accessors. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "fido/wa_int.h"

int
wa_sha256(const void *p, size_t len, uint8_t out[WA_SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != WA_SHA256_LEN)
		return CM_ERR_CRYPTO;
	return 0;
}

int
wa_b64std_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	const char *end = NULL;
	uint8_t *b;
	size_t cap, n = 0;

	*out = NULL;
	*outlen = 0;
	if (inlen == 0 || inlen % 4 != 0)
		return CM_ERR_INVAL;
	cap = inlen / 4 * 3;
	if ((b = malloc(cap)) == NULL)
		return CM_ERR_NOMEM;
	if (sodium_base642bin(b, cap, in, inlen, NULL, &n, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != in + inlen) {
		free(b);
		return CM_ERR_INVAL;
	}
	*out = b;
	*outlen = n;
	return 0;
}

int
wa_cbor_text(const cbor_item_t *it, const char **p, size_t *len)
{
	if (!cbor_isa_string(it) || !cbor_string_is_definite(it))
		return -1;
	*len = cbor_string_length(it);
	*p = (const char *)cbor_string_handle(it);
	if (*len > 0 && *p == NULL)
		return -1;
	if (*len > 0 && memchr(*p, '\0', *len) != NULL)
		return -1;
	return 0;
}

int
wa_cbor_bytes(const cbor_item_t *it, const uint8_t **p, size_t *len)
{
	if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return -1;
	*len = cbor_bytestring_length(it);
	*p = cbor_bytestring_handle(it);
	if (*len > 0 && *p == NULL)
		return -1;
	return 0;
}

int
wa_cbor_text_eq(const cbor_item_t *it, const char *s)
{
	const char *p;
	size_t len;

	if (wa_cbor_text(it, &p, &len) != 0)
		return 0;
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

int
wa_cbor_bool(const cbor_item_t *it, int *v)
{
	/* width first: cbor_ctrl_value() is only defined for simple values */
	if (!cbor_isa_float_ctrl(it) ||
	    cbor_float_get_width(it) != CBOR_FLOAT_0 || !cbor_is_bool(it))
		return -1;
	*v = cbor_get_bool(it) ? 1 : 0;
	return 0;
}

int
wa_cbor_load_all(const uint8_t *p, size_t len, cbor_item_t **out)
{
	struct cbor_load_result res;
	cbor_item_t *it;

	*out = NULL;
	if (p == NULL || len == 0)
		return -1;
	memset(&res, 0, sizeof(res));
	if ((it = cbor_load(p, len, &res)) == NULL)
		return -1;
	if (res.error.code != CBOR_ERR_NONE || res.read != len) {
		cbor_decref(&it);
		return -1;
	}
	*out = it;
	return 0;
}

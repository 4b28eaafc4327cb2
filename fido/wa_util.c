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

/*
 * libcbor's cbor_load() allocates a definite array or map for the count
 * its header declares before reading the items: a 9-byte header can ask
 * for gigabytes.  Walk the item first with the streaming decoder (which
 * allocates nothing), refusing counts larger than the bytes left and
 * nesting deeper than WA_CBOR_MAX_DEPTH; it also yields the item's length.
 */
#define WA_CBOR_MAX_DEPTH	16

struct precheck {
	size_t		 left;		/* bytes from the current header on */
	size_t		 depth;
	uint64_t	 count[WA_CBOR_MAX_DEPTH];
	int		 indef[WA_CBOR_MAX_DEPTH];
	int		 bad;
	int		 done;		/* the top-level item is complete */
};

/* An item (scalar, string or closed container) is complete. */
static void
pc_item(struct precheck *c)
{
	while (c->depth > 0) {
		if (c->indef[c->depth - 1])
			return;
		if (--c->count[c->depth - 1] > 0)
			return;
		c->depth--;	/* container full: it is an item itself */
	}
	c->done = 1;
}

static void
pc_open(struct precheck *c, uint64_t n, int indef)
{
	if (!indef && n == 0) {
		pc_item(c);
		return;
	}
	if (c->depth >= WA_CBOR_MAX_DEPTH || (!indef && n > c->left)) {
		c->bad = 1;
		return;
	}
	c->count[c->depth] = n;
	c->indef[c->depth] = indef;
	c->depth++;
}

static void pc_u8(void *c, uint8_t v) { (void)v; pc_item(c); }
static void pc_u16(void *c, uint16_t v) { (void)v; pc_item(c); }
static void pc_u32(void *c, uint32_t v) { (void)v; pc_item(c); }
static void pc_u64(void *c, uint64_t v) { (void)v; pc_item(c); }
static void pc_simple(void *c) { pc_item(c); }
static void pc_str(void *c, cbor_data d, size_t n) { (void)d; (void)n;
	pc_item(c); }
static void pc_f(void *c, float v) { (void)v; pc_item(c); }
static void pc_d(void *c, double v) { (void)v; pc_item(c); }
static void pc_b(void *c, bool v) { (void)v; pc_item(c); }
static void pc_tag(void *c, uint64_t v) { (void)c; (void)v; }
static void pc_indef(void *c) { pc_open(c, 0, 1); }
static void pc_array(void *c, size_t n) { pc_open(c, n, 0); }

static void
pc_map(void *vc, size_t n)
{
	struct precheck *c = vc;

	/* a pair needs two bytes at least */
	if (n > c->left / 2) {
		c->bad = 1;
		return;
	}
	pc_open(c, (uint64_t)n * 2, 0);
}

static void
pc_break(void *vc)
{
	struct precheck *c = vc;

	if (c->depth == 0 || !c->indef[c->depth - 1]) {
		c->bad = 1;
		return;
	}
	c->depth--;
	pc_item(c);
}

static const struct cbor_callbacks pc_callbacks = {
	.uint8 = pc_u8, .uint16 = pc_u16, .uint32 = pc_u32, .uint64 = pc_u64,
	.negint8 = pc_u8, .negint16 = pc_u16, .negint32 = pc_u32,
	.negint64 = pc_u64,
	.byte_string_start = pc_indef, .byte_string = pc_str,
	.string = pc_str, .string_start = pc_indef,
	.indef_array_start = pc_indef, .array_start = pc_array,
	.indef_map_start = pc_indef, .map_start = pc_map,
	.tag = pc_tag, .float2 = pc_f, .float4 = pc_f, .float8 = pc_d,
	.undefined = pc_simple, .null = pc_simple, .boolean = pc_b,
	.indef_break = pc_break,
};

int
wa_cbor_item_len(const uint8_t *p, size_t len, size_t *item_len)
{
	struct precheck c;
	struct cbor_decoder_result res;
	size_t off = 0;

	*item_len = 0;
	memset(&c, 0, sizeof(c));
	while (!c.done) {
		if (off >= len)
			return -1;
		c.left = len - off;
		res = cbor_stream_decode(p + off, len - off, &pc_callbacks, &c);
		if (res.status != CBOR_DECODER_FINISHED || res.read == 0 ||
		    res.read > len - off || c.bad)
			return -1;
		off += res.read;
	}
	*item_len = off;
	return 0;
}

int
wa_cbor_load_one(const uint8_t *p, size_t len, cbor_item_t **out,
    size_t *used)
{
	struct cbor_load_result res;
	cbor_item_t *it;
	size_t n;

	*out = NULL;
	*used = 0;
	if (p == NULL || len == 0 || wa_cbor_item_len(p, len, &n) != 0)
		return -1;
	memset(&res, 0, sizeof(res));
	if ((it = cbor_load(p, n, &res)) == NULL)
		return -1;
	if (res.error.code != CBOR_ERR_NONE || res.read != n) {
		cbor_decref(&it);
		return -1;
	}
	*out = it;
	*used = n;
	return 0;
}

int
wa_cbor_load_all(const uint8_t *p, size_t len, cbor_item_t **out)
{
	size_t used;

	if (wa_cbor_load_one(p, len, out, &used) != 0)
		return -1;
	if (used != len) {
		cbor_decref(out);
		return -1;
	}
	return 0;
}

/* fido/wa_attobj.c — attestationObject (WebAuthn L2 §6.5.4): a CBOR map
 * of exactly fmt, authData and attStmt; the attStmt of each supported
 * format is checked for shape here, its signature by libfido2. */
#include <string.h>

#include "fido/wa_int.h"

#define TPM_VERSION	"2.0"

void
wa_attobj_clear(struct wa_attobj *ao)
{
	if (ao->root != NULL)
		cbor_decref(&ao->root);
	memset(ao, 0, sizeof(*ao));
}

static int
parse_x5c(const cbor_item_t *v, struct wa_attobj *ao)
{
	cbor_item_t **items;
	size_t i, n;

	if (!cbor_isa_array(v) || !cbor_array_is_definite(v) ||
	    (n = cbor_array_size(v)) == 0 || n > WA_X5C_MAX_CERTS ||
	    (items = cbor_array_handle(v)) == NULL)
		return WA_ERR_ATTSTMT_MALFORMED;
	for (i = 0; i < n; i++) {
		if (wa_cbor_bytes(items[i], &ao->x5c[i], &ao->x5c_len[i]) != 0 ||
		    ao->x5c_len[i] == 0 || ao->x5c_len[i] > WA_CERT_MAX_LEN)
			return WA_ERR_ATTSTMT_MALFORMED;
	}
	ao->nx5c = n;
	return 0;
}

/* attStmt keys per format; anything else is rejected. */
static int
parse_attstmt(struct wa_attobj *ao)
{
	const struct cbor_pair *pairs = NULL;
	const cbor_item_t *alg = NULL, *sig = NULL, *x5c = NULL, *ver = NULL,
	    *ci = NULL, *pa = NULL, **slot;
	const uint8_t *b;
	size_t i, np, bl;
	uint64_t a;
	int packed = strcmp(ao->fmt, "packed") == 0;
	int u2f = strcmp(ao->fmt, "fido-u2f") == 0;
	int tpm = strcmp(ao->fmt, "tpm") == 0;
	int r;

	if (!cbor_isa_map(ao->attstmt) || !cbor_map_is_definite(ao->attstmt))
		return WA_ERR_ATTSTMT_MALFORMED;
	np = cbor_map_size(ao->attstmt);
	if (np > 0 && (pairs = cbor_map_handle(ao->attstmt)) == NULL)
		return WA_ERR_ATTSTMT_MALFORMED;
	if (strcmp(ao->fmt, "none") == 0)
		return np == 0 ? 0 : WA_ERR_ATTSTMT_MALFORMED;
	for (i = 0; i < np; i++) {
		const cbor_item_t *k = pairs[i].key;

		if (wa_cbor_text_eq(k, "alg") && (packed || tpm))
			slot = &alg;
		else if (wa_cbor_text_eq(k, "sig"))
			slot = &sig;
		else if (wa_cbor_text_eq(k, "x5c"))
			slot = &x5c;
		else if (tpm && wa_cbor_text_eq(k, "ver"))
			slot = &ver;
		else if (tpm && wa_cbor_text_eq(k, "certInfo"))
			slot = &ci;
		else if (tpm && wa_cbor_text_eq(k, "pubArea"))
			slot = &pa;
		else
			return WA_ERR_ATTSTMT_MALFORMED; /* ecdaaKeyId too */
		if (*slot != NULL)
			return WA_ERR_ATTSTMT_MALFORMED;
		*slot = pairs[i].value;
	}
	if (sig == NULL || wa_cbor_bytes(sig, &ao->sig, &ao->sig_len) != 0 ||
	    ao->sig_len == 0 || ao->sig_len > WA_SIG_MAX_LEN)
		return WA_ERR_ATTSTMT_MALFORMED;
	if (alg != NULL) {
		if (!cbor_isa_negint(alg) || (a = cbor_get_int(alg)) > 0xffff)
			return WA_ERR_ATTSTMT_MALFORMED;
		ao->alg = -1 - (int)a;
		ao->has_alg = 1;
	}
	if (x5c != NULL && (r = parse_x5c(x5c, ao)) != 0)
		return r;
	if (packed && !ao->has_alg)
		return WA_ERR_ATTSTMT_MALFORMED;
	if (u2f && ao->nx5c != 1)
		return WA_ERR_ATTSTMT_MALFORMED;
	if (tpm) {
		if (!ao->has_alg || ao->nx5c == 0 || ver == NULL ||
		    !wa_cbor_text_eq(ver, TPM_VERSION) || ci == NULL ||
		    pa == NULL || wa_cbor_bytes(ci, &b, &bl) != 0 ||
		    bl == 0 || wa_cbor_bytes(pa, &b, &bl) != 0 || bl == 0)
			return WA_ERR_ATTSTMT_MALFORMED;
		ao->has_tpm = 1;
	}
	return 0;
}

int
wa_attobj_parse(const uint8_t *p, size_t len, struct wa_attobj *ao)
{
	const struct cbor_pair *pairs;
	const cbor_item_t *fmt = NULL, *ad = NULL, *st = NULL;
	const char *f;
	size_t i, fl;
	int r = WA_ERR_ATTOBJ_MALFORMED;

	memset(ao, 0, sizeof(*ao));
	if (p == NULL || len == 0)
		return WA_ERR_ATTOBJ_MALFORMED;
	if (len > WA_ATTOBJ_MAX_LEN)
		return WA_ERR_TOO_LARGE;
	/* one item spanning the whole input */
	if (wa_cbor_load_all(p, len, &ao->root) != 0)
		goto out;
	if (!cbor_isa_map(ao->root) || !cbor_map_is_definite(ao->root) ||
	    cbor_map_size(ao->root) != 3 ||
	    (pairs = cbor_map_handle(ao->root)) == NULL)
		goto out;
	for (i = 0; i < 3; i++) {
		const cbor_item_t *k = pairs[i].key;

		if (wa_cbor_text_eq(k, "fmt") && fmt == NULL)
			fmt = pairs[i].value;
		else if (wa_cbor_text_eq(k, "authData") && ad == NULL)
			ad = pairs[i].value;
		else if (wa_cbor_text_eq(k, "attStmt") && st == NULL)
			st = pairs[i].value;
		else
			goto out;	/* unknown or repeated key */
	}
	if (wa_cbor_text(fmt, &f, &fl) != 0 || fl == 0 ||
	    fl > WA_FMT_MAX_LEN ||
	    wa_cbor_bytes(ad, &ao->authdata, &ao->authdata_len) != 0 ||
	    ao->authdata_len == 0)
		goto out;
	memcpy(ao->fmt, f, fl);
	ao->fmt[fl] = '\0';
	/* §7.1 step 18: case-sensitive match against what we support */
	if (strcmp(ao->fmt, "packed") != 0 && strcmp(ao->fmt, "none") != 0 &&
	    strcmp(ao->fmt, "fido-u2f") != 0 && strcmp(ao->fmt, "tpm") != 0) {
		r = WA_ERR_FMT_UNSUPPORTED;
		goto out;
	}
	ao->attstmt = st;
	if ((r = parse_attstmt(ao)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		wa_attobj_clear(ao);
	return r;
}

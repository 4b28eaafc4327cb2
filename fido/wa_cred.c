/* fido/wa_cred.c — credential records: accessors, update after an
 * authentication, and the compact JSON stored as a directory value. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fido/wa_int.h"

void
wa_cred_free(wa_cred_t **cp)
{
	wa_cred_t *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	free(c->id);
	free(c->cose);
	free(c);
	*cp = NULL;
}

const uint8_t *wa_cred_id_ptr(const wa_cred_t *c) { return c->id; }
size_t wa_cred_id_len(const wa_cred_t *c) { return c->id_len; }
const uint8_t *wa_cred_user_ptr(const wa_cred_t *c) { return c->user; }
size_t wa_cred_user_len(const wa_cred_t *c) { return c->user_len; }
const uint8_t *wa_cred_pubkey_ptr(const wa_cred_t *c) { return c->cose; }
size_t wa_cred_pubkey_len(const wa_cred_t *c) { return c->cose_len; }
int wa_cred_alg(const wa_cred_t *c) { return c->alg; }
const uint8_t *wa_cred_aaguid_ptr(const wa_cred_t *c) { return c->aaguid; }
uint32_t wa_cred_sign_count(const wa_cred_t *c) { return c->sign_count; }
const char *wa_cred_fmt(const wa_cred_t *c) { return c->fmt; }
enum wa_trust wa_cred_trust(const wa_cred_t *c) { return c->trust; }
int wa_cred_be(const wa_cred_t *c) { return c->be; }
int wa_cred_bs(const wa_cred_t *c) { return c->bs; }
int wa_cred_uv_init(const wa_cred_t *c) { return c->uv_init; }
int wa_cred_transports(const wa_cred_t *c) { return c->transports; }
int64_t wa_cred_created(const wa_cred_t *c) { return c->created; }

int
wa_cred_update(wa_cred_t *c, const struct wa_auth_res *res)
{
	if (c == NULL || res == NULL)
		return CM_ERR_INVAL;
	/* only what a successful wa_auth_verify() can return */
	if ((res->sign_count != 0 || c->sign_count != 0) &&
	    res->sign_count <= c->sign_count)
		return WA_ERR_SIGN_COUNT;
	if ((res->be != 0) != (c->be != 0))
		return WA_ERR_BE_CHANGED;
	c->sign_count = res->sign_count;
	c->bs = res->bs ? 1 : 0;
	if (res->uv)
		c->uv_init = 1;
	return 0;
}

void
wa_aaguid_format(const uint8_t a[WA_AAGUID_LEN], char out[37])
{
	char hex[2 * WA_AAGUID_LEN + 1];

	cm_hex_encode(a, WA_AAGUID_LEN, hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
wa_aaguid_parse(const char *s, size_t len, uint8_t a[WA_AAGUID_LEN])
{
	uint8_t tmp[WA_AAGUID_LEN];
	size_t i, j = 0;
	int hi, lo;

	if (s == NULL || len != 36)
		return CM_ERR_INVAL;
	for (i = 0; i < len;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return CM_ERR_INVAL;
			i++;
			continue;
		}
		if ((hi = hexval(s[i])) < 0 || (lo = hexval(s[i + 1])) < 0 ||
		    j >= sizeof(tmp))
			return CM_ERR_INVAL;
		tmp[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	if (j != sizeof(tmp))
		return CM_ERR_INVAL;
	memcpy(a, tmp, sizeof(tmp));
	return 0;
}

static int
put_b64(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *s = NULL;
	int r;

	if ((r = cm_b64url_encode(p, n, &s)) != 0)
		return r;
	r = json_object_set_new(o, k, json_string(s)) == 0 ? 0 : CM_ERR_NOMEM;
	free(s);
	return r;
}

int
wa_cred_to_json(const wa_cred_t *c, char **out)
{
	json_t *o = NULL, *tr = NULL;
	char aag[37], *s;
	int bit, r = CM_ERR_NOMEM;

	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (c == NULL)
		return CM_ERR_INVAL;
	wa_aaguid_format(c->aaguid, aag);
	if ((tr = json_array()) == NULL)
		goto out;
	for (bit = 1; bit <= WA_TR_SMART_CARD; bit <<= 1)
		if ((c->transports & bit) && json_array_append_new(tr,
		    json_string(wa_transport_name(bit))) != 0)
			goto out;
	if ((o = json_pack("{s:i, s:i, s:s, s:I, s:s, s:s, s:b, s:b, s:b, "
	    "s:O, s:I}", "v", 1, "alg", c->alg, "aaguid", aag,
	    "sc", (json_int_t)c->sign_count, "fmt", c->fmt,
	    "trust", wa_trust_name(c->trust), "be", c->be, "bs", c->bs,
	    "uv", c->uv_init, "tr", tr, "ct", (json_int_t)c->created)) == NULL)
		goto out;
	if ((r = put_b64(o, "id", c->id, c->id_len)) != 0 ||
	    (r = put_b64(o, "user", c->user, c->user_len)) != 0 ||
	    (r = put_b64(o, "pk", c->cose, c->cose_len)) != 0)
		goto out;
	r = CM_ERR_NOMEM;
	if ((s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	*out = s;
	r = 0;
out:
	json_decref(tr);
	json_decref(o);
	return r;
}

static int
get_b64(const char *s, size_t slen, size_t max, uint8_t **out, size_t *n)
{
	if (cm_b64url_decode(s, slen, out, n) != 0)
		return -1;
	if (*n == 0 || *n > max) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int
wa_cred_from_json(const char *s, size_t len, wa_cred_t **out)
{
	wa_cred_t *c = NULL;
	json_t *o = NULL, *tr = NULL, *v;
	json_error_t jerr;
	struct wa_pubkey key;
	const char *id, *user, *pk, *aag, *fmt, *trust;
	size_t idl, userl, pkl, aagl, fmtl, i, n;
	json_int_t ver, sc, ct;
	uint8_t *ub = NULL;
	int alg, be, bs, uv, bit, r = WA_ERR_RECORD_MALFORMED;

	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (s == NULL)
		return CM_ERR_INVAL;
	if (len > WA_CRED_JSON_MAX_LEN)
		return WA_ERR_TOO_LARGE;
	if (memchr(s, '\0', len) != NULL)
		return WA_ERR_RECORD_MALFORMED;
	if ((o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		goto out;
	if (json_unpack_ex(o, &jerr, JSON_STRICT, "{s:I, s:s%, s:s%, s:s%, "
	    "s:i, s:s%, s:I, s:s%, s:s, s:b, s:b, s:b, s:o, s:I}",
	    "v", &ver, "id", &id, &idl, "user", &user, &userl, "pk", &pk, &pkl,
	    "alg", &alg, "aaguid", &aag, &aagl, "sc", &sc, "fmt", &fmt, &fmtl,
	    "trust", &trust, "be", &be, "bs", &bs, "uv", &uv, "tr", &tr,
	    "ct", &ct) != 0 || ver != 1)
		goto out;
	r = CM_ERR_NOMEM;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	r = WA_ERR_RECORD_MALFORMED;
	if (get_b64(id, idl, WA_CRED_ID_MAX_LEN, &c->id, &c->id_len) != 0 ||
	    get_b64(pk, pkl, WA_COSE_KEY_MAX_LEN, &c->cose,
	    &c->cose_len) != 0 ||
	    get_b64(user, userl, WA_USER_HANDLE_MAX_LEN, &ub, &n) != 0)
		goto out;
	memcpy(c->user, ub, n);
	c->user_len = n;
	if (wa_cose_parse(c->cose, c->cose_len, &key) != 0 ||
	    key.alg != alg || wa_pubkey_check(&key) != 0)
		goto out;
	c->alg = alg;
	if (wa_aaguid_parse(aag, aagl, c->aaguid) != 0 || sc < 0 ||
	    sc > (json_int_t)UINT32_MAX || ct < 0)
		goto out;
	c->sign_count = (uint32_t)sc;
	c->created = (int64_t)ct;
	if (fmtl > WA_FMT_MAX_LEN || strlen(fmt) != fmtl ||
	    (strcmp(fmt, "packed") != 0 &&
	    strcmp(fmt, "none") != 0 && strcmp(fmt, "fido-u2f") != 0 &&
	    strcmp(fmt, "tpm") != 0))
		goto out;
	memcpy(c->fmt, fmt, fmtl + 1);
	if (strcmp(trust, "none") == 0)
		c->trust = WA_TRUST_NONE;
	else if (strcmp(trust, "self") == 0)
		c->trust = WA_TRUST_SELF;
	else if (strcmp(trust, "untrusted") == 0)
		c->trust = WA_TRUST_UNTRUSTED;
	else if (strcmp(trust, "trusted_hardware") == 0)
		c->trust = WA_TRUST_HARDWARE;
	else
		goto out;
	c->be = be ? 1 : 0;
	c->bs = bs ? 1 : 0;
	c->uv_init = uv ? 1 : 0;
	/* a record that could not have come from wa_reg_verify() */
	if ((c->trust == WA_TRUST_HARDWARE && (c->be ||
	    strcmp(c->fmt, "none") == 0)) || (c->bs && !c->be))
		goto out;
	if (!json_is_array(tr) || json_array_size(tr) > 16)
		goto out;
	json_array_foreach(tr, i, v) {
		if (!json_is_string(v) ||
		    (bit = wa_transport_bit(json_string_value(v))) == 0)
			goto out;
		c->transports |= bit;
	}
	*out = c;
	c = NULL;	/* transferred */
	r = 0;
out:
	free(ub);
	wa_cred_free(&c);
	json_decref(o);
	return r;
}

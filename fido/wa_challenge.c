/* fido/wa_challenge.c — single-use, expiring ceremony challenges bound to
 * a purpose, a user handle and a session, with a compact stored form. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "fido/wa_int.h"

static int
session_hash(const char *session, uint8_t out[WA_SHA256_LEN])
{
	size_t n;

	if (session == NULL)
		return CM_ERR_INVAL;
	n = strlen(session);
	if (n == 0 || n > WA_SESSION_MAX_LEN)
		return CM_ERR_INVAL;
	return wa_sha256(session, n, out);
}

int
wa_challenge_new(enum wa_purpose purpose, const uint8_t *user,
    size_t user_len, const char *session, unsigned int ttl,
    wa_challenge_t **out)
{
	wa_challenge_t *ch = NULL;
	int r = CM_ERR_INTERNAL;

	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (purpose != WA_PURPOSE_REGISTER &&
	    purpose != WA_PURPOSE_AUTHENTICATE)
		return CM_ERR_INVAL;
	/* registration always names the user being registered */
	if ((user == NULL) != (user_len == 0) ||
	    user_len > WA_USER_HANDLE_MAX_LEN ||
	    (purpose == WA_PURPOSE_REGISTER && user_len == 0))
		return CM_ERR_INVAL;
	if (ttl == 0)
		ttl = WA_CHALLENGE_DEF_TTL;
	if (ttl > WA_CHALLENGE_MAX_TTL)
		return CM_ERR_RANGE;
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return CM_ERR_NOMEM;
	ch->purpose = purpose;
	if ((r = session_hash(session, ch->session)) != 0 ||
	    (r = cm_random(ch->c, sizeof(ch->c))) != 0)
		goto out;
	if (user_len)
		memcpy(ch->user, user, user_len);
	ch->user_len = user_len;
	ch->exp = cm_time() + (int64_t)ttl;
	*out = ch;
	ch = NULL;	/* transferred */
	r = 0;
out:
	wa_challenge_free(&ch);
	return r;
}

void
wa_challenge_free(wa_challenge_t **chp)
{
	wa_challenge_t *ch;
	size_t i;

	if (chp == NULL || (ch = *chp) == NULL)
		return;
	for (i = 0; i < ch->nallow; i++)
		free(ch->allow[i].ptr);
	OPENSSL_cleanse(ch, sizeof(*ch));
	free(ch);
	*chp = NULL;
}

int
wa_challenge_add_allow(wa_challenge_t *ch, const uint8_t *id, size_t len)
{
	uint8_t *d;

	if (ch == NULL || id == NULL || ch->purpose != WA_PURPOSE_AUTHENTICATE)
		return CM_ERR_INVAL;
	if (len == 0 || len > WA_CRED_ID_MAX_LEN)
		return WA_ERR_CRED_ID_LEN;
	if (ch->nallow >= WA_CHALLENGE_MAX_ALLOW)
		return CM_ERR_RANGE;
	if ((d = malloc(len)) == NULL)
		return CM_ERR_NOMEM;
	memcpy(d, id, len);
	ch->allow[ch->nallow].ptr = d;
	ch->allow[ch->nallow].len = len;
	ch->nallow++;
	return 0;
}

int
wa_challenge_b64url(const wa_challenge_t *ch, char **out)
{
	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (ch == NULL)
		return CM_ERR_INVAL;
	return cm_b64url_encode(ch->c, sizeof(ch->c), out);
}

const uint8_t *
wa_challenge_ptr(const wa_challenge_t *ch)
{
	return ch == NULL ? NULL : ch->c;
}

int
wa_challenge_consumed(const wa_challenge_t *ch)
{
	return ch == NULL ? 1 : ch->used;
}

int64_t
wa_challenge_expires(const wa_challenge_t *ch)
{
	return ch == NULL ? 0 : ch->exp;
}

int
wa_challenge_use(wa_challenge_t *ch, enum wa_purpose purpose,
    const char *session)
{
	uint8_t h[WA_SHA256_LEN];
	int r;

	if (ch->used)
		return WA_ERR_CHALLENGE_USED;
	ch->used = 1;	/* whatever the outcome: no second try */
	if (ch->purpose != purpose)
		return WA_ERR_CHALLENGE_PURPOSE;
	if (cm_time() >= ch->exp)
		return WA_ERR_CHALLENGE_EXPIRED;
	if (session_hash(session, h) != 0 ||
	    !cm_ct_equal(h, ch->session, sizeof(h)))
		r = WA_ERR_CHALLENGE_BINDING;
	else
		r = 0;
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

/* "name": base64url(p) */
static int
set_b64(json_t *o, const char *name, const uint8_t *p, size_t len)
{
	char *s = NULL;
	int r;

	if ((r = cm_b64url_encode(p, len, &s)) != 0)
		return r;
	r = json_object_set_new(o, name, json_string(s)) == 0 ? 0 :
	    CM_ERR_NOMEM;
	free(s);
	return r;
}

int
wa_challenge_serialize(const wa_challenge_t *ch, char **out)
{
	json_t *o = NULL, *a = NULL;
	char *s = NULL, *e = NULL;
	size_t i;
	int r = CM_ERR_NOMEM;

	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (ch == NULL)
		return CM_ERR_INVAL;
	if ((o = json_pack("{s:i, s:s, s:I, s:b}", "v", 1, "p",
	    ch->purpose == WA_PURPOSE_REGISTER ? "reg" : "auth",
	    "exp", (json_int_t)ch->exp, "used", ch->used)) == NULL)
		goto out;
	if ((r = set_b64(o, "c", ch->c, sizeof(ch->c))) != 0 ||
	    (r = set_b64(o, "s", ch->session, sizeof(ch->session))) != 0)
		goto out;
	if (ch->user_len &&
	    (r = set_b64(o, "u", ch->user, ch->user_len)) != 0)
		goto out;
	if (ch->nallow) {
		r = CM_ERR_NOMEM;
		if ((a = json_array()) == NULL)
			goto out;
		for (i = 0; i < ch->nallow; i++) {
			if ((r = cm_b64url_encode(ch->allow[i].ptr,
			    ch->allow[i].len, &e)) != 0)
				goto out;
			r = CM_ERR_NOMEM;
			if (json_array_append_new(a, json_string(e)) != 0)
				goto out;
			free(e);
			e = NULL;
		}
		if (json_object_set(o, "allow", a) != 0)
			goto out;
	}
	r = CM_ERR_NOMEM;
	if ((s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	*out = s;
	r = 0;
out:
	free(e);
	json_decref(a);
	json_decref(o);
	return r;
}

/* Strict base64url of exactly / at most n bytes. */
static int
get_b64(const char *s, size_t slen, uint8_t *dst, size_t min, size_t max,
    size_t *outlen)
{
	uint8_t *b = NULL;
	size_t n = 0;

	if (cm_b64url_decode(s, slen, &b, &n) != 0)
		return -1;
	if (n < min || n > max) {
		free(b);
		return -1;
	}
	if (n)
		memcpy(dst, b, n);
	cm_freezero(b, n);
	*outlen = n;
	return 0;
}

int
wa_challenge_parse(const char *s, size_t len, wa_challenge_t **out)
{
	wa_challenge_t *ch = NULL;
	json_t *o = NULL, *allow = NULL, *v;
	json_error_t jerr;
	const char *p = NULL, *c = NULL, *sess = NULL, *u = NULL, *e;
	json_int_t ver = 0, exp = 0;
	int used = 0, r = WA_ERR_CHALLENGE_MALFORMED;
	size_t n, i, clen = 0, slen = 0, ulen = 0;

	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (s == NULL)
		return CM_ERR_INVAL;
	if (len > WA_CHALLENGE_SER_MAX)
		return WA_ERR_TOO_LARGE;
	if (memchr(s, '\0', len) != NULL)
		return WA_ERR_CHALLENGE_MALFORMED;
	if ((o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		goto out;
	if (json_unpack_ex(o, &jerr, JSON_STRICT,
	    "{s:I, s:s, s:s%, s:s%, s?s%, s:I, s:b, s?o}", "v", &ver, "p", &p,
	    "c", &c, &clen, "s", &sess, &slen, "u", &u, &ulen, "exp", &exp,
	    "used", &used,
	    "allow", &allow) != 0 || ver != 1)
		goto out;
	r = CM_ERR_NOMEM;
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		goto out;
	r = WA_ERR_CHALLENGE_MALFORMED;
	if (strcmp(p, "reg") == 0)
		ch->purpose = WA_PURPOSE_REGISTER;
	else if (strcmp(p, "auth") == 0)
		ch->purpose = WA_PURPOSE_AUTHENTICATE;
	else
		goto out;
	if (get_b64(c, clen, ch->c, WA_CHALLENGE_LEN, WA_CHALLENGE_LEN,
	    &n) != 0 || get_b64(sess, slen, ch->session, WA_SHA256_LEN,
	    WA_SHA256_LEN, &n) != 0)
		goto out;
	if (u != NULL && get_b64(u, ulen, ch->user, 1,
	    WA_USER_HANDLE_MAX_LEN, &ch->user_len) != 0)
		goto out;
	if (ch->purpose == WA_PURPOSE_REGISTER && ch->user_len == 0)
		goto out;
	ch->exp = (int64_t)exp;
	ch->used = used ? 1 : 0;
	if (allow != NULL) {
		if (!json_is_array(allow) || json_array_size(allow) == 0 ||
		    json_array_size(allow) > WA_CHALLENGE_MAX_ALLOW ||
		    ch->purpose != WA_PURPOSE_AUTHENTICATE)
			goto out;
		json_array_foreach(allow, i, v) {
			uint8_t *b = NULL;

			if ((e = json_string_value(v)) == NULL ||
			    cm_b64url_decode(e, json_string_length(v), &b,
			    &n) != 0)
				goto out;
			if (n == 0 || n > WA_CRED_ID_MAX_LEN) {
				free(b);
				goto out;
			}
			ch->allow[ch->nallow].ptr = b;
			ch->allow[ch->nallow].len = n;
			ch->nallow++;
		}
	}
	*out = ch;
	ch = NULL;	/* transferred */
	r = 0;
out:
	wa_challenge_free(&ch);
	json_decref(o);
	return r;
}

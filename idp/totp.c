/*
 * idp/totp.c — TOTP (RFC 6238) enrolment and verification over liboath:
 * seeds, otpauth:// URIs, QR codes as SVG (libqrencode), and verification
 * with a ±1 step window, replay refusal and constant-time comparison.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <qrencode.h>

#include "common/cm.h"
#include "idp/assurance.h"

#define QR_QUIET	4	/* modules of quiet zone (ISO/IEC 18004) */

static pthread_once_t	 totp_once = PTHREAD_ONCE_INIT;
static int		 totp_init_rc = CM_ERR_INTERNAL;	/* set once */

static void
totp_init_once(void)
{
	totp_init_rc = oath_init() == OATH_OK ? 0 : CM_ERR_INTERNAL;
}

int
idp_totp_init(void)
{
	if (pthread_once(&totp_once, totp_init_once) != 0)
		return CM_ERR_INTERNAL;
	return totp_init_rc;
}

const char *
idp_assurance_strerror(int r)
{
	if (r == IDP_ERR_TOTP_REPLAY)
		return "one-time code already used";
	return cm_strerror(r);
}

static const struct {
	enum idp_totp_alg	 alg;
	const char		*name;
	int			 oath_flags;
} totp_algs[] = {
	{ IDP_TOTP_SHA1,	"SHA1",		0 },
	{ IDP_TOTP_SHA256,	"SHA256",	OATH_TOTP_HMAC_SHA256 },
	{ IDP_TOTP_SHA512,	"SHA512",	OATH_TOTP_HMAC_SHA512 },
};

int
idp_totp_alg_parse(const char *s, enum idp_totp_alg *out)
{
	size_t i;

	if (s == NULL || out == NULL)
		return CM_ERR_INVAL;
	for (i = 0; i < sizeof(totp_algs) / sizeof(totp_algs[0]); i++) {
		if (strcasecmp(s, totp_algs[i].name) == 0) {
			*out = totp_algs[i].alg;
			return 0;
		}
	}
	return CM_ERR_INVAL;
}

const char *
idp_totp_alg_name(enum idp_totp_alg alg)
{
	size_t i;

	for (i = 0; i < sizeof(totp_algs) / sizeof(totp_algs[0]); i++)
		if (totp_algs[i].alg == alg)
			return totp_algs[i].name;
	return NULL;
}

static int
totp_alg_flags(enum idp_totp_alg alg, int *flags)
{
	size_t i;

	for (i = 0; i < sizeof(totp_algs) / sizeof(totp_algs[0]); i++) {
		if (totp_algs[i].alg == alg) {
			*flags = totp_algs[i].oath_flags;
			return 0;
		}
	}
	return CM_ERR_INVAL;
}

int
idp_totp_secret_new(uint8_t out[IDP_TOTP_SECRET_LEN])
{
	return cm_random(out, IDP_TOTP_SECRET_LEN);
}

/* Arguments shared by generate and verify. */
static int
totp_args_check(const uint8_t *secret, size_t secretlen,
    enum idp_totp_alg alg, unsigned digits, int *flags)
{
	if (secret == NULL || secretlen < IDP_TOTP_SECRET_MIN ||
	    secretlen > IDP_TOTP_SECRET_MAX)
		return CM_ERR_INVAL;
	if (digits < IDP_TOTP_DIGITS_MIN || digits > IDP_TOTP_DIGITS_MAX)
		return CM_ERR_INVAL;
	return totp_alg_flags(alg, flags);
}

/* The code of one time step (not of a time): liboath takes a time, so
 * give it the first second of the step. */
static int
totp_step_code(const uint8_t *secret, size_t secretlen, int flags,
    unsigned digits, int64_t step, char out[IDP_TOTP_DIGITS_MAX + 1])
{
	time_t t;

	if (step < 0 || step > INT64_MAX / IDP_TOTP_PERIOD)
		return CM_ERR_RANGE;
	t = (time_t)(step * IDP_TOTP_PERIOD);
	if (oath_totp_generate2((const char *)secret, secretlen, t,
	    IDP_TOTP_PERIOD, OATH_TOTP_DEFAULT_START_TIME, digits, flags,
	    out) != OATH_OK)
		return CM_ERR_CRYPTO;
	return 0;
}

int
idp_totp_generate(const uint8_t *secret, size_t secretlen,
    enum idp_totp_alg alg, unsigned digits, int64_t now,
    char out[IDP_TOTP_DIGITS_MAX + 1])
{
	int flags = 0, r;

	if (out == NULL)
		return CM_ERR_INVAL;
	memset(out, 0, IDP_TOTP_DIGITS_MAX + 1);
	if ((r = idp_totp_init()) != 0)
		return r;
	if ((r = totp_args_check(secret, secretlen, alg, digits, &flags)) != 0)
		return r;
	if (now < 0)
		return CM_ERR_RANGE;
	return totp_step_code(secret, secretlen, flags, digits,
	    now / IDP_TOTP_PERIOD, out);
}

int
idp_totp_verify(const uint8_t *secret, size_t secretlen,
    enum idp_totp_alg alg, unsigned digits, const char *code, size_t codelen,
    int64_t now, int64_t last_accepted_step, int64_t *matched_step)
{
	char want[IDP_TOTP_DIGITS_MAX + 1];
	int64_t step, t, best = -1;
	int flags = 0, r = CM_ERR_INTERNAL, eq, replay = 0;
	size_t i;

	if (matched_step != NULL)
		*matched_step = IDP_TOTP_NO_STEP;
	if (matched_step == NULL || code == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((r = idp_totp_init()) != 0)
		goto out;
	if ((r = totp_args_check(secret, secretlen, alg, digits,
	    &flags)) != 0)
		goto out;
	if (now < 0 || last_accepted_step < IDP_TOTP_NO_STEP) {
		r = CM_ERR_RANGE;
		goto out;
	}
	/* Exactly `digits` ASCII digits: no spaces, signs or NULs. */
	if (codelen != digits) {
		r = CM_ERR_INVAL;
		goto out;
	}
	for (i = 0; i < codelen; i++) {
		if (code[i] < '0' || code[i] > '9') {
			r = CM_ERR_INVAL;
			goto out;
		}
	}
	t = now / IDP_TOTP_PERIOD;
	/*
	 * Compare with every step of the window; no early exit.  Of the
	 * matching steps later than last_accepted_step, take the one nearest
	 * to now (T, then T-1, then T+1) so that a coincidental match of a
	 * future step does not burn the user's next code.
	 */
	for (i = 0; i < 2 * IDP_TOTP_WINDOW + 1; i++) {
		static const int64_t order[] = { 0, -1, 1 };

		step = t + order[i];
		if (step < 0)
			continue;
		if ((r = totp_step_code(secret, secretlen, flags, digits, step,
		    want)) != 0)
			goto out;
		eq = cm_ct_equal(want, code, digits);
		if (eq && step <= last_accepted_step)
			replay = 1;
		else if (eq && best == -1)
			best = step;
	}
	if (best != -1) {
		*matched_step = best;
		r = 0;
	} else
		r = replay ? IDP_ERR_TOTP_REPLAY : CM_ERR_DENIED;
 out:
	OPENSSL_cleanse(want, sizeof(want));
	return r;
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static int
uri_escape(struct cm_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char e[3];
	int r;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~') {
			if ((r = cm_buf_append(b, p, 1)) != 0)
				return r;
			continue;
		}
		e[0] = '%';
		e[1] = hex[*p >> 4];
		e[2] = hex[*p & 0x0f];
		if ((r = cm_buf_append(b, e, 3)) != 0)
			return r;
	}
	return 0;
}

/* An issuer or account name: 1..IDP_TOTP_LABEL_MAX bytes, no ':' (the
 * Key Uri Format's separator), no control characters. */
static int
label_check(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return CM_ERR_INVAL;
	n = strnlen(s, IDP_TOTP_LABEL_MAX + 1);
	if (n == 0 || n > IDP_TOTP_LABEL_MAX)
		return CM_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ':')
			return CM_ERR_INVAL;
	}
	return 0;
}

int
idp_totp_uri(const char *issuer, const char *account, const uint8_t *secret,
    size_t secretlen, enum idp_totp_alg alg, unsigned digits, char **out)
{
	struct cm_buf b;
	char *b32 = NULL;
	size_t b32len = 0;
	int flags = 0, r = CM_ERR_INTERNAL;

	cm_buf_init(&b, IDP_TOTP_URI_MAX, 1);
	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if ((r = idp_totp_init()) != 0)
		goto out;
	if ((r = totp_args_check(secret, secretlen, alg, digits,
	    &flags)) != 0)
		goto out;
	if ((r = label_check(issuer)) != 0 || (r = label_check(account)) != 0)
		goto out;
	if (oath_base32_encode((const char *)secret, secretlen, &b32,
	    &b32len) != OATH_OK) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	while (b32len > 0 && b32[b32len - 1] == '=')	/* unpadded */
		b32[--b32len] = '\0';
	if ((r = cm_buf_appendf(&b, "otpauth://totp/")) != 0 ||
	    (r = uri_escape(&b, issuer)) != 0 ||
	    (r = cm_buf_appendf(&b, ":")) != 0 ||
	    (r = uri_escape(&b, account)) != 0 ||
	    (r = cm_buf_appendf(&b, "?secret=%s&issuer=", b32)) != 0 ||
	    (r = uri_escape(&b, issuer)) != 0 ||
	    (r = cm_buf_appendf(&b, "&algorithm=%s&digits=%u&period=%d",
	    idp_totp_alg_name(alg), digits, IDP_TOTP_PERIOD)) != 0 ||
	    (r = cm_buf_cstr(&b)) != 0)
		goto out;
	*out = (char *)b.data;
	b.data = NULL;	/* transferred */
	r = 0;
 out:
	if (b32 != NULL)
		cm_freezero(b32, b32len);
	cm_buf_free(&b);
	return r;
}

int
idp_totp_qr_svg(const char *text, size_t textlen, char **out)
{
	struct cm_buf b;
	QRcode *qr = NULL;
	int r = CM_ERR_INTERNAL, x, y, run, w;

	cm_buf_init(&b, IDP_TOTP_SVG_MAX, 1);
	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (text == NULL || textlen == 0 || textlen > IDP_TOTP_URI_MAX ||
	    memchr(text, '\0', textlen) != NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((qr = QRcode_encodeData((int)textlen, (const unsigned char *)text,
	    0, QR_ECLEVEL_M)) == NULL) {
		r = CM_ERR_INTERNAL;
		goto out;
	}
	w = qr->width + 2 * QR_QUIET;
	if ((r = cm_buf_appendf(&b,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	    "shape-rendering=\"crispEdges\">"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", w, w, w * 6, w * 6, w, w)) != 0)
		goto out;
	/* One sub-path per horizontal run of dark modules. */
	for (y = 0; y < qr->width; y++) {
		for (x = 0; x < qr->width; x += run) {
			run = 0;
			while (x + run < qr->width &&
			    (qr->data[y * qr->width + x + run] & 1))
				run++;
			if (run == 0) {
				run = 1;
				continue;
			}
			if ((r = cm_buf_appendf(&b, "M%d %dh%dv1h-%dz",
			    x + QR_QUIET, y + QR_QUIET, run, run)) != 0)
				goto out;
		}
	}
	if ((r = cm_buf_appendf(&b, "\"/></svg>\n")) != 0 ||
	    (r = cm_buf_cstr(&b)) != 0)
		goto out;
	*out = (char *)b.data;
	b.data = NULL;	/* transferred */
	r = 0;
 out:
	if (qr != NULL) {
		OPENSSL_cleanse(qr->data, (size_t)qr->width * qr->width);
		QRcode_free(qr);
	}
	cm_buf_free(&b);
	return r;
}

/* ------------------------------------------------------------------ */
/* Throttling                                                           */
/* ------------------------------------------------------------------ */

void
idp_throttle_policy_default(struct idp_throttle_policy *p)
{
	p->lock_after = 50;
	p->free_failures = 3;
	p->base_delay = 2;
	p->max_delay = 900;
}

int
idp_throttle_policy_check(const struct idp_throttle_policy *p)
{
	if (p == NULL || p->lock_after < 1 ||
	    p->lock_after > IDP_THROTTLE_MAX_FAILURES ||
	    p->free_failures >= p->lock_after || p->base_delay < 1 ||
	    p->max_delay < p->base_delay || p->max_delay > 86400)
		return CM_ERR_INVAL;
	return 0;
}

int
idp_throttle_check(const struct idp_throttle_policy *p,
    const struct idp_throttle_state *s, int64_t now,
    struct idp_throttle_decision *out)
{
	int64_t delay, elapsed;
	uint32_t n, i;
	int r;

	if (out == NULL)
		return CM_ERR_INVAL;
	/* Fail closed: an unusable policy or state locks. */
	out->verdict = IDP_THROTTLE_LOCKED;
	out->retry_after = 0;
	if ((r = idp_throttle_policy_check(p)) != 0 || s == NULL)
		return r != 0 ? r : CM_ERR_INVAL;
	if (s->failures >= p->lock_after)
		return 0;
	if (s->failures <= p->free_failures) {
		out->verdict = IDP_THROTTLE_ALLOW;
		return 0;
	}
	/* base_delay * 2^(n-1), capped; loop so nothing overflows. */
	n = s->failures - p->free_failures;
	delay = p->base_delay;
	for (i = 1; i < n && delay < p->max_delay; i++)
		delay *= 2;
	if (delay > p->max_delay)
		delay = p->max_delay;
	/* A clock that went back, or a corrupt stamp, waits the whole
	 * delay (both operands non-negative: no overflow). */
	if (s->last_failure < 0 || now < s->last_failure)
		elapsed = 0;
	else
		elapsed = now - s->last_failure;
	if (elapsed >= delay) {
		out->verdict = IDP_THROTTLE_ALLOW;
		return 0;
	}
	out->verdict = IDP_THROTTLE_WAIT;
	out->retry_after = delay - elapsed;
	return 0;
}

void
idp_throttle_record(struct idp_throttle_state *s, int success, int64_t now)
{
	if (s == NULL)
		return;
	if (success) {
		s->failures = 0;
		s->last_failure = 0;
		return;
	}
	if (s->failures < IDP_THROTTLE_MAX_FAILURES)
		s->failures++;
	s->last_failure = now;
}

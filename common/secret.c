/* common/secret.c — secret memory, randomness, base64url, parsing, clocks. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "cm.h"

void
cm_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

void
cm_strfree(char **s)
{
	if (s == NULL || *s == NULL)
		return;
	cm_freezero(*s, strlen(*s));
	*s = NULL;
}

int
cm_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int
cm_ct_streq(const char *a, const char *b)
{
	size_t la, lb;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	/* the length is not secret; the contents are */
	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

int
cm_random(void *buf, size_t n)
{
	if (n > INT_MAX)
		return CM_ERR_RANGE;
	if (RAND_bytes(buf, (int)n) != 1)
		return CM_ERR_CRYPTO;
	return 0;
}

void
cm_hex_encode(const uint8_t *in, size_t inlen, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < inlen; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0x0f];
	}
	out[2 * inlen] = '\0';
}

int
cm_random_rid(char out[CM_RID_LEN + 1])
{
	uint8_t b[CM_RID_LEN / 2];
	int r;

	if ((r = cm_random(b, sizeof(b))) != 0)
		return r;
	cm_hex_encode(b, sizeof(b), out);
	return 0;
}

int
cm_random_b64url(size_t nbytes, char **out)
{
	uint8_t b[64];
	int r;

	*out = NULL;
	if (nbytes == 0 || nbytes > sizeof(b))
		return CM_ERR_RANGE;
	if ((r = cm_random(b, nbytes)) == 0)
		r = cm_b64url_encode(b, nbytes, out);
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

int
cm_b64url_encode(const uint8_t *in, size_t inlen, char **out)
{
	size_t n;
	char *s;

	*out = NULL;
	if (inlen > (SIZE_MAX / 4) * 3 - 4)
		return CM_ERR_RANGE;
	n = sodium_base64_ENCODED_LEN(inlen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if ((s = malloc(n)) == NULL)
		return CM_ERR_NOMEM;
	sodium_bin2base64(s, n, in, inlen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*out = s;
	return 0;
}

int
cm_b64url_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	const char *end = NULL;
	uint8_t *b;
	size_t cap, n = 0;

	*out = NULL;
	*outlen = 0;
	if (inlen % 4 == 1)
		return CM_ERR_INVAL;		/* impossible length */
	cap = inlen / 4 * 3 + 3;
	if ((b = malloc(cap)) == NULL)
		return CM_ERR_NOMEM;
	if (sodium_base642bin(b, cap, in, inlen, NULL, &n, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != in + inlen) {
		cm_freezero(b, cap);
		return CM_ERR_INVAL;
	}
	*out = b;
	*outlen = n;
	return 0;
}

int
cm_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0' || min > max)
		return CM_ERR_INVAL;
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return CM_ERR_INVAL;	/* no leading space or '+' */
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || *end != '\0')
		return errno == ERANGE ? CM_ERR_RANGE : CM_ERR_INVAL;
	if (v < min || v > max)
		return CM_ERR_RANGE;
	*out = v;
	return 0;
}

uint64_t
cm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
cm_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

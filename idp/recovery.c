/*
 * idp/recovery.c — recovery codes: one-time look-up secrets of 10
 * Crockford base32 characters (50 bits), shown once as "XXXXX-XXXXX",
 * stored as Argon2id hashes (libsodium crypto_pwhash_str_alg).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sodium.h>

#include "common/cm.h"
#include "idp/assurance.h"

/* Crockford's base32: no I, L, O, U. */
static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_once_t	 rc_once = PTHREAD_ONCE_INIT;
static int		 rc_init_rc = CM_ERR_INTERNAL;	/* set once */

static void
rc_init_once(void)
{
	rc_init_rc = sodium_init() >= 0 ? 0 : CM_ERR_INTERNAL;
}

static int
rc_init(void)
{
	if (pthread_once(&rc_once, rc_init_once) != 0)
		return CM_ERR_INTERNAL;
	return rc_init_rc;
}

/* The value of one typed character, -1 for a separator, -2 invalid. */
static int
crockford_value(unsigned char c)
{
	const char *p;

	if (c == '-' || c == ' ')
		return -1;
	if (c >= 'a' && c <= 'z')
		c = (unsigned char)(c - 'a' + 'A');
	if (c == 'I' || c == 'L')
		c = '1';
	else if (c == 'O')
		c = '0';
	if (c == '\0' || (p = strchr(crockford, c)) == NULL)
		return -2;
	return (int)(p - crockford);
}

/* Typed text to the canonical 10 characters (NUL-terminated). */
static int
rc_normalise(const char *in, size_t inlen,
    char out[IDP_RECOVERY_CHARS + 1])
{
	size_t i, n = 0;
	int v;

	if (in == NULL || inlen == 0 || inlen > IDP_RECOVERY_INPUT_MAX)
		return CM_ERR_INVAL;
	for (i = 0; i < inlen; i++) {
		if ((v = crockford_value((unsigned char)in[i])) == -1)
			continue;
		if (v < 0 || n == IDP_RECOVERY_CHARS)
			return CM_ERR_INVAL;
		out[n++] = crockford[v];
	}
	if (n != IDP_RECOVERY_CHARS)
		return CM_ERR_INVAL;
	out[n] = '\0';
	return 0;
}

void
idp_recovery_wipe(struct idp_recovery_code *c, size_t n)
{
	if (c != NULL && n > 0)
		OPENSSL_cleanse(c, n * sizeof(*c));
}

int
idp_recovery_generate(struct idp_recovery_code *out, size_t n)
{
	uint8_t rnd[IDP_RECOVERY_CHARS];
	char canon[IDP_RECOVERY_CHARS + 1];
	size_t i, j;
	int r = CM_ERR_INTERNAL;

	if (out == NULL || n == 0 || n > IDP_RECOVERY_MAX)
		return CM_ERR_INVAL;
	memset(out, 0, n * sizeof(*out));
	if ((r = rc_init()) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		/* 32 symbols: the low 5 bits of a random byte are uniform */
		if ((r = cm_random(rnd, sizeof(rnd))) != 0)
			goto out;
		for (j = 0; j < IDP_RECOVERY_CHARS; j++)
			canon[j] = crockford[rnd[j] & 0x1f];
		canon[IDP_RECOVERY_CHARS] = '\0';
		memcpy(out[i].code, canon, 5);
		out[i].code[5] = '-';
		memcpy(out[i].code + 6, canon + 5, 5);
		out[i].code[IDP_RECOVERY_DISPLAY_LEN] = '\0';
		if (crypto_pwhash_str_alg(out[i].hash, canon,
		    IDP_RECOVERY_CHARS, IDP_RECOVERY_OPSLIMIT,
		    IDP_RECOVERY_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0) {
			r = CM_ERR_NOMEM;	/* libsodium: out of memory */
			goto out;
		}
	}
	r = 0;
 out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(canon, sizeof(canon));
	if (r != 0)
		idp_recovery_wipe(out, n);
	return r;
}

int
idp_recovery_verify(const char *input, size_t inputlen,
    const char *const *hashes, size_t nhashes, size_t *matched)
{
	char canon[IDP_RECOVERY_CHARS + 1];
	size_t i;
	int r = CM_ERR_INTERNAL;

	if (matched != NULL)
		*matched = 0;
	if (matched == NULL || (hashes == NULL && nhashes > 0)) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((r = rc_init()) != 0)
		goto out;
	if ((r = rc_normalise(input, inputlen, canon)) != 0)
		goto out;
	r = CM_ERR_DENIED;
	for (i = 0; i < nhashes; i++) {
		/* only Argon2id hashes of ours; anything else never matches */
		if (hashes[i] == NULL || strnlen(hashes[i],
		    IDP_RECOVERY_HASH_MAX) == IDP_RECOVERY_HASH_MAX ||
		    strncmp(hashes[i], "$argon2id$", 10) != 0)
			continue;
		if (crypto_pwhash_str_verify(hashes[i], canon,
		    IDP_RECOVERY_CHARS) == 0) {
			*matched = i;
			r = 0;
			break;
		}
	}
 out:
	OPENSSL_cleanse(canon, sizeof(canon));
	return r;
}

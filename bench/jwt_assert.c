/*
 * bench/jwt_assert.c — RFC 7523 client assertions for the private_key_jwt
 * benchmark (each assertion has its own jti: the broker refuses replays, so
 * wrk needs one assertion per request).  OpenSSL only.
 *
 *   jwt_assert keygen KEY_PEM JWKS_OUT       new P-256 key and its JWKS
 *   jwt_assert sign KEY_PEM CLIENT_ID AUD N LIFETIME > lines
 *       N compact ES256 JWS (typ JWT), iss = sub = CLIENT_ID, aud = AUD,
 *       iat = now, exp = now + LIFETIME, jti random.  N <= 2,000,000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

static void
b64url(const unsigned char *in, size_t len, char *out)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		out[o++] = t[v >> 18 & 63]; out[o++] = t[v >> 12 & 63];
		out[o++] = t[v >> 6 & 63]; out[o++] = t[v & 63];
	}
	if (len - i == 1) {
		unsigned v = in[i] << 16;
		out[o++] = t[v >> 18 & 63]; out[o++] = t[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = in[i] << 16 | in[i + 1] << 8;
		out[o++] = t[v >> 18 & 63]; out[o++] = t[v >> 12 & 63];
		out[o++] = t[v >> 6 & 63];
	}
	out[o] = '\0';
}

static int
keygen(const char *pem, const char *jwks)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	BIGNUM *x = NULL, *y = NULL;
	unsigned char bx[32], by[32];
	char sx[64], sy[64];
	FILE *f;

	if (k == NULL ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    BN_bn2binpad(x, bx, 32) != 32 || BN_bn2binpad(y, by, 32) != 32)
		return 1;
	b64url(bx, 32, sx);
	b64url(by, 32, sy);
	if ((f = fopen(pem, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
		return 1;
	fclose(f);
	if ((f = fopen(jwks, "w")) == NULL)
		return 1;
	fprintf(f, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\","
	    "\"y\":\"%s\",\"kid\":\"bench-rpa\",\"alg\":\"ES256\","
	    "\"use\":\"sig\"}]}\n", sx, sy);
	fclose(f);
	BN_free(x);
	BN_free(y);
	EVP_PKEY_free(k);
	return 0;
}

static int
sign(const char *pem, const char *cid, const char *aud, long n, long life)
{
	static const char hdr[] = "{\"alg\":\"ES256\",\"typ\":\"JWT\","
	    "\"kid\":\"bench-rpa\"}";
	char h64[128], p64[1024], pl[700], s64[96], input[1200];
	unsigned char der[80], raw[64], rnd[16];
	char jti[33];
	EVP_PKEY *k;
	FILE *f;
	long now = (long)time(NULL);

	if ((f = fopen(pem, "r")) == NULL ||
	    (k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		return 1;
	fclose(f);
	if (strlen(cid) > 100 || strlen(aud) > 300)
		return 1;
	b64url((const unsigned char *)hdr, strlen(hdr), h64);
	for (long i = 0; i < n; i++) {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		ECDSA_SIG *sig;
		const unsigned char *dp = der;
		size_t dl = sizeof(der);

		RAND_bytes(rnd, sizeof(rnd));
		for (int j = 0; j < 16; j++)
			sprintf(jti + 2 * j, "%02x", rnd[j]);
		snprintf(pl, sizeof(pl), "{\"iss\":\"%s\",\"sub\":\"%s\","
		    "\"aud\":\"%s\",\"jti\":\"%s\",\"iat\":%ld,\"exp\":%ld}",
		    cid, cid, aud, jti, now, now + life);
		b64url((const unsigned char *)pl, strlen(pl), p64);
		snprintf(input, sizeof(input), "%s.%s", h64, p64);
		if (m == NULL || EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL,
		    k) != 1 || EVP_DigestSign(m, der, &dl,
		    (const unsigned char *)input, strlen(input)) != 1 ||
		    (sig = d2i_ECDSA_SIG(NULL, &dp, (long)dl)) == NULL)
			return 1;
		BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
		ECDSA_SIG_free(sig);
		EVP_MD_CTX_free(m);
		b64url(raw, 64, s64);
		printf("%s.%s\n", input, s64);
	}
	EVP_PKEY_free(k);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "keygen") == 0)
		return keygen(argv[2], argv[3]);
	if (argc == 7 && strcmp(argv[1], "sign") == 0) {
		long n = atol(argv[5]), life = atol(argv[6]);

		if (n < 1 || n > 2000000 || life < 1 || life > 3600)
			return 2;
		return sign(argv[2], argv[3], argv[4], n, life);
	}
	fprintf(stderr, "usage: %s keygen KEY_PEM JWKS_OUT | sign KEY_PEM "
	    "CLIENT_ID AUD N LIFETIME\n", argv[0]);
	return 2;
}

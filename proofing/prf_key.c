/*
 * proofing/prf_key.c — the proofing key and the keyed hash of document
 * numbers (HMAC-SHA-256 through OpenSSL EVP_MAC).
 *
 * A document number is personal data that must never sit in the
 * directory, the logs or a token in clear; a keyed hash still lets the
 * broker notice the same document presented for two subjects, and the
 * last four characters let an officer recognise the document.  Without
 * the key (a file the directory never sees) the hashes cannot be
 * brute-forced over the small space of document numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "proofing.h"

#define PRF_DOC_LABEL	"sekimori-prf-doc"

struct prf_key {
	uint8_t	*k;
	size_t	 len;
};

void
prf_key_free(prf_key **kp)
{
	prf_key *k;

	if (kp == NULL || (k = *kp) == NULL)
		return;
	cm_freezero(k->k, k->len);
	free(k);
	*kp = NULL;
}

int
prf_key_load(const char *path, prf_key **out)
{
	struct stat st;
	char buf[PRF_KEY_FILE_MAX + 1];
	prf_key *k = NULL;
	uint8_t *raw = NULL;
	size_t rawlen = 0, n = 0;
	ssize_t got;
	int fd = -1, r = CM_ERR_INTERNAL;

	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return CM_ERR_NOTFOUND;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? CM_ERR_NOTFOUND : CM_ERR_IO;
	if (fstat(fd, &st) != 0) {
		r = CM_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		r = CM_ERR_POLICY;
		goto out;
	}
	while (n < sizeof(buf) && (got = read(fd, buf + n,
	    sizeof(buf) - n)) > 0)
		n += (size_t)got;
	if (n == 0 || n > PRF_KEY_FILE_MAX) {
		r = CM_ERR_INVAL;
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (cm_b64url_decode(buf, n, &raw, &rawlen) != 0 ||
	    rawlen < PRF_KEY_MIN || rawlen > PRF_KEY_MAX) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	k->k = raw;
	k->len = rawlen;
	raw = NULL;	/* transferred */
	*out = k;
	r = 0;
 out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (raw != NULL)
		cm_freezero(raw, rawlen);
	if (fd >= 0)
		close(fd);
	return r;
}

static int
hmac_sha256(const prf_key *k, const uint8_t *msg, size_t len,
    uint8_t mac[32])
{
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *c = NULL;
	OSSL_PARAM params[2];
	char digest[] = "SHA256";
	size_t outl = 0;
	int r = CM_ERR_CRYPTO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (c = EVP_MAC_CTX_new(m)) == NULL ||
	    EVP_MAC_init(c, k->k, k->len, params) != 1 ||
	    EVP_MAC_update(c, msg, len) != 1 ||
	    EVP_MAC_final(c, mac, &outl, 32) != 1 || outl != 32)
		goto out;
	r = 0;
 out:
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	return r;
}

int
prf_doc_hash(const prf_key *k, const char *type, const char *number,
    size_t len, char hash[PRF_HASH_MAX], char last4[PRF_LAST_MAX])
{
	char norm[PRF_DOCNUM_MAX + 1];
	uint8_t msg[sizeof(PRF_DOC_LABEL) + 64 + PRF_DOCNUM_MAX], mac[32];
	size_t i, n = 0, tl, ml = 0;
	char *b64 = NULL;
	int r = CM_ERR_INVAL;

	hash[0] = '\0';
	last4[0] = '\0';
	if (k == NULL || type == NULL || number == NULL ||
	    prf_doctype_check(type) != 0 || len > 4 * PRF_DOCNUM_MAX)
		return CM_ERR_INVAL;
	for (i = 0; i < len; i++) {
		char c = number[i];

		if (c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ||
		    n >= PRF_DOCNUM_MAX)
			goto out;
		norm[n++] = c;
	}
	if (n < PRF_DOCNUM_MIN)
		goto out;
	tl = strlen(type);
	memcpy(msg, PRF_DOC_LABEL, sizeof(PRF_DOC_LABEL));	/* with NUL */
	ml = sizeof(PRF_DOC_LABEL);
	memcpy(msg + ml, type, tl + 1);
	ml += tl + 1;
	memcpy(msg + ml, norm, n);
	ml += n;
	if ((r = hmac_sha256(k, msg, ml, mac)) != 0 ||
	    (r = cm_b64url_encode(mac, sizeof(mac), &b64)) != 0)
		goto out;
	snprintf(hash, PRF_HASH_MAX, "h1:%s", b64);
	memcpy(last4, norm + n - 4, 4);
	last4[4] = '\0';
	r = 0;
 out:
	free(b64);
	OPENSSL_cleanse(norm, sizeof(norm));
	OPENSSL_cleanse(msg, sizeof(msg));
	OPENSSL_cleanse(mac, sizeof(mac));
	return r;
}

/* tokens/key.c — algorithms, key generation, PEM files, kid rules. */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "tokens/tok_int.h"

static const struct {
	enum tok_alg	 alg;
	const char	*name;
} alg_names[] = {
	{ TOK_ALG_ES256,	"ES256" },
	{ TOK_ALG_EDDSA,	"EdDSA" },
	{ TOK_ALG_ED25519,	"Ed25519" },
	{ TOK_ALG_PS256,	"PS256" },
	{ TOK_ALG_RS256,	"RS256" },
};

const char *
tok_alg_name(enum tok_alg alg)
{
	size_t i;

	for (i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
		if (alg_names[i].alg == alg)
			return alg_names[i].name;
	return NULL;
}

int
tok_alg_parse(const char *s, size_t len, enum tok_alg *out)
{
	size_t i;

	*out = TOK_ALG_UNKNOWN;
	if (s == NULL)
		return CM_ERR_INVAL;
	for (i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
		if (strlen(alg_names[i].name) == len &&
		    memcmp(alg_names[i].name, s, len) == 0) {
			*out = alg_names[i].alg;
			return 0;
		}
	}
	return CM_ERR_UNSUPPORTED;
}

static int
alg_is_ed25519(enum tok_alg a)
{
	return a == TOK_ALG_EDDSA || a == TOK_ALG_ED25519;
}

int
tok_alg_compatible(enum tok_alg key, enum tok_alg hdr)
{
	if (key == TOK_ALG_UNKNOWN || hdr == TOK_ALG_UNKNOWN)
		return 0;
	if (key == hdr)
		return 1;
	/* RFC 9864: "Ed25519" is the fully-specified name of EdDSA over
	 * Ed25519; on an Ed25519 key the two are the same algorithm. */
	return alg_is_ed25519(key) && alg_is_ed25519(hdr);
}

int
tok_kid_valid(const char *kid, size_t len)
{
	size_t i;

	if (kid == NULL || len == 0 || len > TOK_KID_MAX_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)kid[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			continue;
		return 0;
	}
	return 1;
}

int
tok_typ_valid(const char *typ)
{
	size_t i, len;

	if (typ == NULL)
		return 0;
	len = strlen(typ);
	if (len == 0 || len > TOK_TYP_MAX_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)typ[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '+' ||
		    c == '-')
			continue;
		return 0;
	}
	return 1;
}

static int
pkey_is_p256(EVP_PKEY *pkey)
{
	char name[64];
	size_t len = 0;

	if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) != 1)
		return 0;
	return OBJ_sn2nid(name) == NID_X9_62_prime256v1 ||
	    EC_curve_nist2nid(name) == NID_X9_62_prime256v1;
}

int
tok_key_check_alg(EVP_PKEY *pkey, enum tok_alg alg)
{
	int bits;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (alg != TOK_ALG_ES256 || !pkey_is_p256(pkey))
			return CM_ERR_UNSUPPORTED;
		return 0;
	case EVP_PKEY_ED25519:
		return alg_is_ed25519(alg) ? 0 : CM_ERR_UNSUPPORTED;
	case EVP_PKEY_RSA:
		if (alg != TOK_ALG_PS256 && alg != TOK_ALG_RS256)
			return CM_ERR_UNSUPPORTED;
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < TOK_RSA_MIN_BITS || bits > TOK_RSA_MAX_BITS)
			return CM_ERR_POLICY;
		return 0;
	default:
		return CM_ERR_UNSUPPORTED;
	}
}

/* The algorithm a key announces when nobody said: only where it is
 * unambiguous. */
static enum tok_alg
pkey_default_alg(EVP_PKEY *pkey)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		return TOK_ALG_ES256;
	case EVP_PKEY_ED25519:
		return TOK_ALG_EDDSA;
	default:
		return TOK_ALG_UNKNOWN;	/* RSA: RS256 or PS256? say so */
	}
}

int
tok_key_wrap(EVP_PKEY *pkey, enum tok_alg alg, int priv, const char *kid,
    tok_key **out)
{
	tok_key *k = NULL;
	char *tp = NULL;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((r = tok_key_check_alg(pkey, alg)) != 0)
		goto out;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	k->pkey = pkey;
	k->alg = alg;
	k->priv = priv;
	if (kid == NULL) {
		if ((r = tok_key_thumbprint(k, &tp)) != 0)
			goto out;
		kid = tp;
	}
	if (!tok_kid_valid(kid, strlen(kid))) {
		r = CM_ERR_INVAL;
		goto out;
	}
	memcpy(k->kid, kid, strlen(kid) + 1);
	if ((priv && (r = tok_jws_sign_prepare(k)) != 0) ||
	    (r = tok_jws_verify_prepare(k)) != 0)
		goto out;
	*out = k;
	k = NULL;	/* transferred */
	r = 0;
out:
	if (k != NULL) {
		k->pkey = NULL;	/* not ours on failure */
		EVP_MD_CTX_free(k->sign_tmpl);
		EVP_MD_CTX_free(k->verify_tmpl);
		free(k);
	}
	free(tp);
	return r;
}

const char *
tok_key_kid(const tok_key *key)
{
	return key->kid;
}

enum tok_alg
tok_key_alg(const tok_key *key)
{
	return key->alg;
}

int
tok_key_has_private(const tok_key *key)
{
	return key->priv;
}

void
tok_key_free(tok_key **key)
{
	if (key == NULL || *key == NULL)
		return;
	EVP_MD_CTX_free((*key)->sign_tmpl);
	EVP_MD_CTX_free((*key)->verify_tmpl);
	EVP_PKEY_free((*key)->pkey);	/* OpenSSL wipes private parts */
	free(*key);
	*key = NULL;
}

int
tok_key_generate(enum tok_alg alg, tok_key **out)
{
	EVP_PKEY *pkey = NULL;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	switch (alg) {
	case TOK_ALG_ES256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case TOK_ALG_EDDSA:
	case TOK_ALG_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case TOK_ALG_PS256:
	case TOK_ALG_RS256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)TOK_RSA_GEN_BITS);
		break;
	default:
		r = CM_ERR_UNSUPPORTED;
		goto out;
	}
	if (pkey == NULL) {
		r = CM_ERR_CRYPTO;
		goto out;
	}
	if ((r = tok_key_wrap(pkey, alg, 1, NULL, out)) != 0)
		goto out;
	pkey = NULL;	/* transferred */
	r = 0;
out:
	EVP_PKEY_free(pkey);
	return r;
}

/* Never prompt for a passphrase: an encrypted key file is an error. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
tok_key_load_pem(const char *path, enum tok_alg alg, tok_key **out)
{
	struct stat st;
	struct cm_buf b;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	uint8_t chunk[4096];
	ssize_t n;
	int fd = -1, r = CM_ERR_INTERNAL;

	*out = NULL;
	cm_buf_init(&b, TOK_PEM_MAX_LEN, 1);
	if (path == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		r = errno == ENOENT ? CM_ERR_NOTFOUND : CM_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = CM_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		r = CM_ERR_POLICY;	/* must be 0600 or stricter */
		goto out;
	}
	if (st.st_size > TOK_PEM_MAX_LEN) {
		r = CM_ERR_RANGE;
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = CM_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if ((r = cm_buf_append(&b, chunk, (size_t)n)) != 0)
			goto out;
	}
	if (b.len == 0 || memchr(b.data, '\0', b.len) != NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((bio = BIO_new_mem_buf(b.data, (int)b.len)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase,
	    NULL)) == NULL) {
		r = CM_ERR_CRYPTO;
		goto out;
	}
	if (alg == TOK_ALG_UNKNOWN &&
	    (alg = pkey_default_alg(pkey)) == TOK_ALG_UNKNOWN) {
		r = CM_ERR_INVAL;	/* RSA needs to be told RS256/PS256 */
		goto out;
	}
	if ((r = tok_key_wrap(pkey, alg, 1, NULL, out)) != 0)
		goto out;
	pkey = NULL;	/* transferred */
	r = 0;
out:
	OPENSSL_cleanse(chunk, sizeof(chunk));
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	cm_buf_free(&b);
	if (fd != -1)
		close(fd);
	return r;
}

int
tok_key_save_pem(const tok_key *key, const char *path)
{
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	size_t off = 0;
	ssize_t n;
	int fd = -1, created = 0, r = CM_ERR_INTERNAL;

	if (key == NULL || path == NULL || !key->priv) {
		r = CM_ERR_INVAL;
		goto out;
	}
	/* a secure-memory BIO wipes the PEM text when freed */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL) {
		r = CM_ERR_CRYPTO;
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		r = errno == EEXIST ? CM_ERR_EXISTS : CM_ERR_IO;
		goto out;
	}
	created = 1;
	while (off < mem->length) {
		n = write(fd, mem->data + off, mem->length - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = CM_ERR_IO;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1) {
		r = CM_ERR_IO;
		goto out;
	}
	r = 0;
out:
	if (fd != -1 && close(fd) == -1 && r == 0)
		r = CM_ERR_IO;
	if (r != 0 && created)
		(void)unlink(path);
	BIO_free(bio);
	return r;
}

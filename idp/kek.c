/*
 * idp/kek.c — secrets at rest (TOTP seeds): AES-256-GCM under a
 * key-encryption key read from a 0600 file of "kid base64url-key" lines,
 * the last one current; wrapped values "v1.KID.B64URL(nonce||ct||tag)"
 * with AAD binding them to their owner and purpose; rotation appends a
 * key, rewrap moves a value to the current key.
 *
 * Nonces are 96 random bits per wrap: far below the 2^32 wraps per key
 * after which random GCM nonces would need a rotation (SP 800-38D §8.3).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/cm.h"
#include "idp/assurance.h"

#define KEK_VERSION	"v1"
#define KEK_AAD_LABEL	"sekimori-kek"
#define KEK_AAD_MAX	(sizeof(KEK_AAD_LABEL) + 3 + IDP_KEK_KID_MAX + 1 + \
	IDP_KEK_PURPOSE_MAX + 1 + IDP_KEK_OWNER_MAX)
#define KEK_B64_KEY_LEN	43	/* 32 bytes, unpadded base64url */
#define KEK_ROTATE_TRIES 8

struct kek_key {
	char	kid[IDP_KEK_KID_MAX + 1];
	uint8_t	key[IDP_KEK_KEY_LEN];
};

struct idp_kek {
	size_t		n;
	struct kek_key	keys[IDP_KEK_MAX_KEYS];	/* keys[n-1] is current */
};

static int
kid_check(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > IDP_KEK_KID_MAX)
		return CM_ERR_INVAL;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return CM_ERR_INVAL;
	}
	return 0;
}

static const struct kek_key *
kek_find(const idp_kek *k, const char *kid, size_t kidlen)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (strlen(k->keys[i].kid) == kidlen &&
		    memcmp(k->keys[i].kid, kid, kidlen) == 0)
			return &k->keys[i];
	}
	return NULL;
}

static void
kek_log(const char *name, size_t line, const char *why)
{
	cm_err(NULL, "kek.invalid", "{s:s, s:i, s:s}", "file",
	    name != NULL ? name : "-", "line", (int)line, "why", why);
}

/* Parse the file contents into k (which must be zeroed). */
static int
kek_parse(const uint8_t *buf, size_t len, const char *name, idp_kek *k)
{
	const uint8_t *p = buf, *end = buf + len, *nl, *f1, *f2;
	size_t line = 0, l1, l2, ll;
	uint8_t *key = NULL;
	size_t keylen = 0;
	int r = CM_ERR_INTERNAL;

	if (buf == NULL || len == 0) {
		kek_log(name, 0, "no key");
		return CM_ERR_INVAL;
	}
	if (memchr(buf, '\0', len) != NULL) {
		kek_log(name, 0, "NUL byte");
		return CM_ERR_INVAL;
	}
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		ll = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		/* leading blanks */
		f1 = p;
		while (f1 < p + ll && (*f1 == ' ' || *f1 == '\t'))
			f1++;
		if (f1 == p + ll || *f1 == '#')
			goto next;
		for (l1 = 0; f1 + l1 < p + ll && f1[l1] != ' ' &&
		    f1[l1] != '\t'; l1++)
			;
		f2 = f1 + l1;
		while (f2 < p + ll && (*f2 == ' ' || *f2 == '\t'))
			f2++;
		for (l2 = 0; f2 + l2 < p + ll && f2[l2] != ' ' &&
		    f2[l2] != '\t'; l2++)
			;
		/* nothing but blanks may follow the key */
		{
			const uint8_t *t = f2 + l2;

			while (t < p + ll && (*t == ' ' || *t == '\t'))
				t++;
			if (t != p + ll || l2 == 0) {
				kek_log(name, line, "expected \"kid key\"");
				r = CM_ERR_INVAL;
				goto out;
			}
		}
		if (kid_check((const char *)f1, l1) != 0) {
			kek_log(name, line, "bad kid");
			r = CM_ERR_INVAL;
			goto out;
		}
		if (kek_find(k, (const char *)f1, l1) != NULL) {
			kek_log(name, line, "duplicate kid");
			r = CM_ERR_INVAL;
			goto out;
		}
		if (k->n >= IDP_KEK_MAX_KEYS) {
			kek_log(name, line, "too many keys");
			r = CM_ERR_RANGE;
			goto out;
		}
		if (l2 != KEK_B64_KEY_LEN ||
		    cm_b64url_decode((const char *)f2, l2, &key,
		    &keylen) != 0 || keylen != IDP_KEK_KEY_LEN) {
			kek_log(name, line, "key is not 32 bytes of base64url");
			r = CM_ERR_INVAL;
			goto out;
		}
		memcpy(k->keys[k->n].kid, f1, l1);
		k->keys[k->n].kid[l1] = '\0';
		memcpy(k->keys[k->n].key, key, IDP_KEK_KEY_LEN);
		k->n++;
		cm_freezero(key, keylen);
		key = NULL;
 next:
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (k->n == 0) {
		kek_log(name, line, "no key");
		r = CM_ERR_INVAL;
		goto out;
	}
	r = 0;
 out:
	if (key != NULL)
		cm_freezero(key, keylen);
	return r;
}

/* Read an open file: regular, no group/other bits, bounded. */
static int
kek_read_fd(int fd, struct cm_buf *b, struct stat *st)
{
	uint8_t chunk[4096];
	ssize_t n;
	int r;

	if (fstat(fd, st) == -1)
		return CM_ERR_IO;
	if (!S_ISREG(st->st_mode) || (st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return CM_ERR_POLICY;	/* must be 0600 or stricter */
	if (st->st_size > IDP_KEK_FILE_MAX)
		return CM_ERR_RANGE;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return CM_ERR_IO;
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
		if ((r = cm_buf_append(b, chunk, (size_t)n)) != 0)
			goto out;
	}
	r = 0;
 out:
	OPENSSL_cleanse(chunk, sizeof(chunk));
	return r;
}

static int
kek_open(const char *path, int flags)
{
	return open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
}

int
idp_kek_load(const char *path, idp_kek **out)
{
	struct cm_buf b;
	struct stat st;
	idp_kek *k = NULL;
	int fd = -1, r = CM_ERR_INTERNAL;

	cm_buf_init(&b, IDP_KEK_FILE_MAX, 1);
	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (path == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((fd = kek_open(path, O_RDONLY)) == -1) {
		r = errno == ENOENT ? CM_ERR_NOTFOUND : CM_ERR_IO;
		goto out;
	}
	if ((r = kek_read_fd(fd, &b, &st)) != 0)
		goto out;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = kek_parse(b.data, b.len, path, k)) != 0)
		goto out;
	*out = k;
	k = NULL;	/* transferred */
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	cm_freezero(k, sizeof(*k));
	cm_buf_free(&b);
	return r;
}

void
idp_kek_free(idp_kek **k)
{
	if (k == NULL || *k == NULL)
		return;
	cm_freezero(*k, sizeof(**k));
	*k = NULL;
}

const char *
idp_kek_current_kid(const idp_kek *k)
{
	if (k == NULL || k->n == 0)
		return NULL;
	return k->keys[k->n - 1].kid;
}

size_t
idp_kek_count(const idp_kek *k)
{
	return k != NULL ? k->n : 0;
}

/* AAD = label 0 "v1.KID" 0 purpose 0 owner. */
static int
kek_aad(const char *kid, const char *purpose, const char *owner,
    uint8_t *aad, size_t *aadlen)
{
	size_t pl, ol, kl, i, n = 0;

	if (purpose == NULL || owner == NULL)
		return CM_ERR_INVAL;
	pl = strnlen(purpose, IDP_KEK_PURPOSE_MAX + 1);
	ol = strnlen(owner, IDP_KEK_OWNER_MAX + 1);
	kl = strlen(kid);
	if (pl == 0 || pl > IDP_KEK_PURPOSE_MAX || ol == 0 ||
	    ol > IDP_KEK_OWNER_MAX)
		return CM_ERR_INVAL;
	for (i = 0; i < pl; i++) {
		if (!(purpose[i] >= 'a' && purpose[i] <= 'z') &&
		    !(purpose[i] >= '0' && purpose[i] <= '9') &&
		    purpose[i] != '-')
			return CM_ERR_INVAL;
	}
	memcpy(aad + n, KEK_AAD_LABEL, sizeof(KEK_AAD_LABEL));	/* with NUL */
	n += sizeof(KEK_AAD_LABEL);
	memcpy(aad + n, KEK_VERSION ".", 3);
	n += 3;
	memcpy(aad + n, kid, kl);
	n += kl;
	aad[n++] = '\0';
	memcpy(aad + n, purpose, pl);
	n += pl;
	aad[n++] = '\0';
	memcpy(aad + n, owner, ol);
	n += ol;
	*aadlen = n;
	return 0;
}

static int
kek_gcm(int enc, const struct kek_key *key, const uint8_t *aad,
    size_t aadlen, const uint8_t nonce[IDP_KEK_NONCE_LEN],
    const uint8_t *in, size_t inlen, uint8_t *out, uint8_t tag[IDP_KEK_TAG_LEN])
{
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, r = CM_ERR_CRYPTO;

	if (inlen > INT_MAX || aadlen > INT_MAX)
		return CM_ERR_RANGE;
	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return CM_ERR_NOMEM;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, IDP_KEK_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key->key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)inlen) != 1 ||
	    (size_t)n != inlen)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
	    IDP_KEK_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1) {
		r = enc ? CM_ERR_CRYPTO : CM_ERR_DENIED;	/* bad tag */
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
	    IDP_KEK_TAG_LEN, tag) != 1)
		goto out;
	r = 0;
 out:
	EVP_CIPHER_CTX_free(c);
	return r;
}

int
idp_kek_wrap(const idp_kek *k, const char *purpose, const char *owner,
    const uint8_t *pt, size_t ptlen, char **out)
{
	uint8_t aad[KEK_AAD_MAX], *blob = NULL;
	const struct kek_key *key;
	struct cm_buf b;
	char *b64 = NULL;
	size_t aadlen = 0, bloblen;
	int r = CM_ERR_INTERNAL;

	cm_buf_init(&b, IDP_KEK_WRAPPED_MAX, 0);
	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if (k == NULL || k->n == 0 || pt == NULL || ptlen == 0 ||
	    ptlen > IDP_KEK_PLAINTEXT_MAX) {
		r = CM_ERR_INVAL;
		goto out;
	}
	key = &k->keys[k->n - 1];
	if ((r = kek_aad(key->kid, purpose, owner, aad, &aadlen)) != 0)
		goto out;
	bloblen = IDP_KEK_NONCE_LEN + ptlen + IDP_KEK_TAG_LEN;
	if ((blob = malloc(bloblen)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = cm_random(blob, IDP_KEK_NONCE_LEN)) != 0)
		goto out;
	if ((r = kek_gcm(1, key, aad, aadlen, blob, pt, ptlen,
	    blob + IDP_KEK_NONCE_LEN,
	    blob + IDP_KEK_NONCE_LEN + ptlen)) != 0)
		goto out;
	if ((r = cm_b64url_encode(blob, bloblen, &b64)) != 0)
		goto out;
	if ((r = cm_buf_appendf(&b, KEK_VERSION ".%s.%s", key->kid,
	    b64)) != 0 || (r = cm_buf_cstr(&b)) != 0)
		goto out;
	*out = (char *)b.data;
	b.data = NULL;	/* transferred */
	r = 0;
 out:
	free(blob);
	free(b64);
	cm_buf_free(&b);
	return r;
}

/* Split "v1.KID.B64" into kid and payload; no NULs, bounded. */
static int
kek_split(const char *w, size_t wlen, const char **kid, size_t *kidlen,
    const char **b64, size_t *b64len)
{
	const char *dot;

	if (w == NULL || wlen > IDP_KEK_WRAPPED_MAX ||
	    memchr(w, '\0', wlen) != NULL)
		return CM_ERR_INVAL;
	if (wlen < 3 || memcmp(w, KEK_VERSION ".", 3) != 0)
		return CM_ERR_INVAL;
	if ((dot = memchr(w + 3, '.', wlen - 3)) == NULL)
		return CM_ERR_INVAL;
	*kid = w + 3;
	*kidlen = (size_t)(dot - *kid);
	if (kid_check(*kid, *kidlen) != 0)
		return CM_ERR_INVAL;
	*b64 = dot + 1;
	*b64len = wlen - (size_t)(*b64 - w);
	return 0;
}

int
idp_kek_unwrap(const idp_kek *k, const char *purpose, const char *owner,
    const char *wrapped, size_t wrappedlen, uint8_t **out, size_t *outlen)
{
	uint8_t aad[KEK_AAD_MAX], *blob = NULL, *pt = NULL;
	const struct kek_key *key;
	const char *kid, *b64;
	size_t kidlen, b64len, aadlen = 0, bloblen = 0, ptlen = 0;
	int r = CM_ERR_INTERNAL;

	if (out == NULL || outlen == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	*outlen = 0;
	if (k == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((r = kek_split(wrapped, wrappedlen, &kid, &kidlen, &b64,
	    &b64len)) != 0)
		goto out;
	if ((key = kek_find(k, kid, kidlen)) == NULL) {
		r = CM_ERR_NOTFOUND;
		goto out;
	}
	if ((r = kek_aad(key->kid, purpose, owner, aad, &aadlen)) != 0)
		goto out;
	if ((r = cm_b64url_decode(b64, b64len, &blob, &bloblen)) != 0) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if (bloblen < IDP_KEK_NONCE_LEN + 1 + IDP_KEK_TAG_LEN) {
		r = CM_ERR_INVAL;
		goto out;
	}
	ptlen = bloblen - IDP_KEK_NONCE_LEN - IDP_KEK_TAG_LEN;
	if ((pt = malloc(ptlen + 1)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = kek_gcm(0, key, aad, aadlen, blob, blob + IDP_KEK_NONCE_LEN,
	    ptlen, pt, blob + IDP_KEK_NONCE_LEN + ptlen)) != 0)
		goto out;
	pt[ptlen] = '\0';
	*out = pt;
	*outlen = ptlen;
	pt = NULL;	/* transferred */
	r = 0;
 out:
	if (pt != NULL)
		cm_freezero(pt, ptlen + 1);
	free(blob);
	return r;
}

void
idp_kek_secret_free(uint8_t **p, size_t len)
{
	if (p == NULL || *p == NULL)
		return;
	cm_freezero(*p, len + 1);
	*p = NULL;
}

int
idp_kek_is_current(const idp_kek *k, const char *wrapped, size_t wrappedlen)
{
	const char *kid, *b64;
	size_t kidlen, b64len;

	if (k == NULL || k->n == 0 || kek_split(wrapped, wrappedlen, &kid,
	    &kidlen, &b64, &b64len) != 0)
		return 0;
	return kek_find(k, kid, kidlen) == &k->keys[k->n - 1];
}

int
idp_kek_rewrap(const idp_kek *k, const char *purpose, const char *owner,
    const char *wrapped, size_t wrappedlen, char **out)
{
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	int r;

	if (out == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	if ((r = idp_kek_unwrap(k, purpose, owner, wrapped, wrappedlen, &pt,
	    &ptlen)) != 0)
		return r;
	r = idp_kek_wrap(k, purpose, owner, pt, ptlen, out);
	idp_kek_secret_free(&pt, ptlen);
	return r;
}

/* "kYYYYMMDD-xxxxxx", not already in k. */
static int
kek_new_kid(const idp_kek *k, char kid[IDP_KEK_KID_MAX + 1])
{
	uint8_t rnd[3];
	char hex[7];
	struct tm tm;
	time_t now = time(NULL);
	int i, r;

	if (gmtime_r(&now, &tm) == NULL)
		return CM_ERR_INTERNAL;
	for (i = 0; i < 16; i++) {
		if ((r = cm_random(rnd, sizeof(rnd))) != 0)
			return r;
		cm_hex_encode(rnd, sizeof(rnd), hex);
		if (snprintf(kid, IDP_KEK_KID_MAX + 1, "k%04d%02d%02d-%s",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, hex) < 0)
			return CM_ERR_INTERNAL;
		if (k == NULL || kek_find(k, kid, strlen(kid)) == NULL)
			return 0;
	}
	return CM_ERR_INTERNAL;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return CM_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	char *dir = NULL, *slash;
	int fd, r = CM_ERR_IO;

	if ((dir = strdup(path)) == NULL)
		return CM_ERR_NOMEM;
	if ((slash = strrchr(dir, '/')) == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if (fsync(fd) == 0)
			r = 0;
		close(fd);
	}
	free(dir);
	return r;
}

/* One attempt; CM_ERR_CONFLICT asks the caller to try again (the file
 * was replaced or created while we waited). */
static int
kek_rotate_once(const char *path, char **newkid)
{
	struct cm_buf b;
	struct stat st, st2;
	idp_kek *k = NULL;
	uint8_t key[IDP_KEK_KEY_LEN];
	char kid[IDP_KEK_KID_MAX + 1], *b64 = NULL, *tmp = NULL;
	int fd = -1, tfd = -1, exists, r = CM_ERR_INTERNAL;
	size_t plen;

	cm_buf_init(&b, IDP_KEK_FILE_MAX, 1);
	memset(&st, 0, sizeof(st));
	memset(key, 0, sizeof(key));
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((fd = kek_open(path, O_RDONLY)) == -1 && errno != ENOENT) {
		r = CM_ERR_IO;
		goto out;
	}
	exists = fd != -1;
	if (exists) {
		if (flock(fd, LOCK_EX) == -1) {
			r = CM_ERR_IO;
			goto out;
		}
		/* replaced while we waited for the lock? */
		if (lstat(path, &st2) == -1 || fstat(fd, &st) == -1 ||
		    st.st_ino != st2.st_ino || st.st_dev != st2.st_dev) {
			r = CM_ERR_CONFLICT;
			goto out;
		}
		if ((r = kek_read_fd(fd, &b, &st)) != 0 ||
		    (r = kek_parse(b.data, b.len, path, k)) != 0)
			goto out;
		if (k->n >= IDP_KEK_MAX_KEYS) {
			r = CM_ERR_RANGE;
			goto out;
		}
		if (b.len > 0 && b.data[b.len - 1] != '\n' &&
		    (r = cm_buf_append(&b, "\n", 1)) != 0)
			goto out;
	} else if ((r = cm_buf_appendf(&b, "# Sekimori key-encryption keys: "
	    "\"kid base64url(32 bytes)\" per line; the last is current.\n"))
	    != 0)
		goto out;
	if ((r = kek_new_kid(k, kid)) != 0 ||
	    (r = cm_random(key, sizeof(key))) != 0 ||
	    (r = cm_b64url_encode(key, sizeof(key), &b64)) != 0)
		goto out;
	if ((r = cm_buf_appendf(&b, "%s %s\n", kid, b64)) != 0)
		goto out;
	plen = strlen(path);
	if ((tmp = malloc(plen + sizeof(".tmp.XXXXXX"))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	if ((tfd = mkostemp(tmp, O_CLOEXEC)) == -1) {	/* mode 0600 */
		free(tmp);
		tmp = NULL;
		r = CM_ERR_IO;
		goto out;
	}
	if (fchmod(tfd, S_IRUSR | S_IWUSR) == -1 ||
	    (exists && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(tfd, st.st_uid, st.st_gid) == -1)) {
		r = CM_ERR_IO;
		goto out;
	}
	if ((r = write_all(tfd, b.data, b.len)) != 0)
		goto out;
	if (fsync(tfd) == -1) {
		r = CM_ERR_IO;
		goto out;
	}
	if (exists) {
		if (rename(tmp, path) == -1) {
			r = CM_ERR_IO;
			goto out;
		}
	} else {
		/* create, but never over a file someone else just made */
		if (link(tmp, path) == -1) {
			r = errno == EEXIST ? CM_ERR_CONFLICT : CM_ERR_IO;
			goto out;
		}
		(void)unlink(tmp);
	}
	free(tmp);
	tmp = NULL;
	if ((r = fsync_dir_of(path)) != 0)
		goto out;
	if (newkid != NULL && (*newkid = strdup(kid)) == NULL) {
		r = CM_ERR_NOMEM;	/* the key was added nonetheless */
		goto out;
	}
	cm_info(NULL, "kek.rotated", "{s:s, s:s}", "file", path, "kid", kid);
	r = 0;
 out:
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	if (tfd != -1)
		close(tfd);
	if (fd != -1)
		close(fd);	/* releases the lock */
	OPENSSL_cleanse(key, sizeof(key));
	if (b64 != NULL)
		cm_strfree(&b64);
	cm_freezero(k, sizeof(*k));
	cm_buf_free(&b);
	return r;
}

int
idp_kek_rotate_file(const char *path, char **newkid)
{
	int i, r = CM_ERR_CONFLICT;

	if (newkid != NULL)
		*newkid = NULL;
	if (path == NULL || *path == '\0')
		return CM_ERR_INVAL;
	for (i = 0; i < KEK_ROTATE_TRIES && r == CM_ERR_CONFLICT; i++)
		r = kek_rotate_once(path, newkid);
	return r;
}

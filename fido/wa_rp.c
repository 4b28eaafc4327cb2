/* fido/wa_rp.c — relying-party configuration: RP ID, origins, algorithms,
 * trust anchors, AAGUID and fido-u2f allow-lists, the borrowed MDS. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fido/wa_int.h"

#define WA_ROOT_FILE_MAX	(1024 * 1024)

wa_rp_t *
wa_rp_new(void)
{
	wa_rp_t *rp;

	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	if ((rp->roots = sk_X509_new_null()) == NULL) {
		free(rp);
		return NULL;
	}
	rp->algs[0] = WA_ALG_ES256;
	rp->algs[1] = WA_ALG_EDDSA;
	rp->algs[2] = WA_ALG_RS256;
	rp->nalgs = 3;
	return rp;
}

void
wa_rp_free(wa_rp_t **rpp)
{
	wa_rp_t *rp;
	size_t i;

	if (rpp == NULL || (rp = *rpp) == NULL)
		return;
	free(rp->id);
	for (i = 0; i < rp->norigins; i++)
		free(rp->origins[i]);
	sk_X509_pop_free(rp->roots, X509_free);
	free(rp->aaguids);
	free(rp->u2f_ids);
	free(rp);
	*rpp = NULL;
}

/* A registrable domain or "localhost": lowercase letters, digits, '-' and
 * '.', not starting or ending with '.'. */
static int
rp_id_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > WA_RP_ID_MAX_LEN || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

int
wa_rp_set_id(wa_rp_t *rp, const char *rp_id)
{
	uint8_t h[WA_SHA256_LEN];
	char *d;
	int r;

	if (rp == NULL || rp_id == NULL || !rp_id_valid(rp_id))
		return CM_ERR_INVAL;
	if ((r = wa_sha256(rp_id, strlen(rp_id), h)) != 0)
		return r;
	if ((d = strdup(rp_id)) == NULL)
		return CM_ERR_NOMEM;
	free(rp->id);
	rp->id = d;
	memcpy(rp->id_hash, h, sizeof(h));
	return 0;
}

const char *
wa_rp_id(const wa_rp_t *rp)
{
	return rp == NULL ? NULL : rp->id;
}

/* scheme://host[:port] with nothing after it; https, or http for
 * localhost (development). */
static int
origin_valid(const char *s)
{
	const char *host;
	size_t i, n = strlen(s);

	if (n == 0 || n > WA_ORIGIN_MAX_LEN)
		return 0;
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://localhost", 16) == 0 &&
	    (s[16] == '\0' || s[16] == ':'))
		host = s + 7;
	else
		return 0;
	if (*host == '\0')
		return 0;
	for (i = (size_t)(host - s); i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == ':' || c == '[' || c == ']'))
			return 0;
	}
	return 1;
}

int
wa_rp_add_origin(wa_rp_t *rp, const char *origin)
{
	char *d;

	if (rp == NULL || origin == NULL || !origin_valid(origin))
		return CM_ERR_INVAL;
	if (rp->norigins >= WA_RP_MAX_ORIGINS)
		return CM_ERR_RANGE;
	if ((d = strdup(origin)) == NULL)
		return CM_ERR_NOMEM;
	rp->origins[rp->norigins++] = d;
	return 0;
}

int
wa_rp_origin_ok(const wa_rp_t *rp, const char *origin, size_t len)
{
	size_t i;

	for (i = 0; i < rp->norigins; i++)
		if (strlen(rp->origins[i]) == len &&
		    memcmp(rp->origins[i], origin, len) == 0)
			return 1;
	return 0;
}

int
wa_rp_set_algs(wa_rp_t *rp, const int *algs, size_t n)
{
	size_t i;

	if (rp == NULL || algs == NULL || n == 0 || n > WA_MAX_ALGS)
		return CM_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (algs[i] != WA_ALG_ES256 && algs[i] != WA_ALG_EDDSA &&
		    algs[i] != WA_ALG_RS256)
			return CM_ERR_UNSUPPORTED;
	memcpy(rp->algs, algs, n * sizeof(*algs));
	rp->nalgs = n;
	return 0;
}

int
wa_rp_alg_ok(const wa_rp_t *rp, int alg)
{
	size_t i;

	for (i = 0; i < rp->nalgs; i++)
		if (rp->algs[i] == alg)
			return 1;
	return 0;
}

/* Parse every certificate in a PEM buffer onto st; each must be a CA. */
static int
roots_from_pem(STACK_OF(X509) *st, const uint8_t *pem, size_t len)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	unsigned long e;
	size_t n = 0;
	int r = WA_ERR_ROOTS;

	if (len == 0 || len > WA_ROOT_FILE_MAX)
		return WA_ERR_TOO_LARGE;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return CM_ERR_NOMEM;
	ERR_clear_error();
	for (;;) {
		if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
			break;
		if (X509_check_ca(x) <= 0 ||
		    sk_X509_num(st) >= WA_RP_MAX_ROOTS) {
			X509_free(x);
			goto out;
		}
		if (!sk_X509_push(st, x)) {
			X509_free(x);
			r = CM_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	/* the loop ends at EOF (no PEM start line) or a broken PEM block */
	e = ERR_peek_last_error();
	if (n == 0 || (e != 0 && (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE)))
		goto out;
	r = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	return r;
}

/* Append the certificates of tmp to rp->roots, all or none. */
static int
roots_merge(wa_rp_t *rp, STACK_OF(X509) *tmp)
{
	int i, n0 = sk_X509_num(rp->roots);

	if (n0 + sk_X509_num(tmp) > WA_RP_MAX_ROOTS)
		return CM_ERR_RANGE;
	for (i = 0; i < sk_X509_num(tmp); i++) {
		X509 *x = sk_X509_value(tmp, i);

		if (!sk_X509_push(rp->roots, x)) {
			while (sk_X509_num(rp->roots) > n0)
				(void)sk_X509_pop(rp->roots);
			return CM_ERR_NOMEM;
		}
	}
	/* ownership moved to rp->roots */
	while (sk_X509_num(tmp) > 0)
		(void)sk_X509_pop(tmp);
	return 0;
}

int
wa_rp_add_root_pem(wa_rp_t *rp, const uint8_t *pem, size_t len)
{
	STACK_OF(X509) *tmp;
	int r;

	if (rp == NULL || pem == NULL)
		return CM_ERR_INVAL;
	if ((tmp = sk_X509_new_null()) == NULL)
		return CM_ERR_NOMEM;
	if ((r = roots_from_pem(tmp, pem, len)) == 0)
		r = roots_merge(rp, tmp);
	sk_X509_pop_free(tmp, X509_free);
	return r;
}

static int
read_file_bounded(int dfd, const char *name, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, r = WA_ERR_ROOTS;

	*out = NULL;
	*outlen = 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return WA_ERR_ROOTS;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size <= 0 || st.st_size > WA_ROOT_FILE_MAX) {
		r = WA_ERR_TOO_LARGE;
		goto out;
	}
	if ((b = malloc((size_t)st.st_size)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, b + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	*out = b;
	*outlen = got;
	b = NULL;	/* transferred */
	r = 0;
out:
	free(b);
	close(fd);
	return r;
}

int
wa_rp_load_roots(wa_rp_t *rp, const char *dir)
{
	STACK_OF(X509) *tmp = NULL;
	struct dirent *de;
	DIR *d = NULL;
	uint8_t *buf = NULL;
	size_t len, nl;
	int r = WA_ERR_ROOTS;

	if (rp == NULL || dir == NULL)
		return CM_ERR_INVAL;
	if ((tmp = sk_X509_new_null()) == NULL)
		return CM_ERR_NOMEM;
	if ((d = opendir(dir)) == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (de->d_name[0] == '.' || nl < 5 ||
		    strcmp(de->d_name + nl - 4, ".pem") != 0)
			continue;
		if ((r = read_file_bounded(dirfd(d), de->d_name, &buf,
		    &len)) != 0)
			goto out;
		r = roots_from_pem(tmp, buf, len);
		free(buf);
		buf = NULL;
		if (r != 0)
			goto out;
	}
	if (sk_X509_num(tmp) == 0) {
		r = WA_ERR_ROOTS;
		goto out;
	}
	r = roots_merge(rp, tmp);
out:
	if (d != NULL)
		closedir(d);
	sk_X509_pop_free(tmp, X509_free);
	return r;
}

static int
list_add(uint8_t **list, size_t *n, size_t max, const uint8_t *v, size_t vlen)
{
	uint8_t *nl;
	size_t i;

	for (i = 0; i < *n; i++)
		if (memcmp(*list + i * vlen, v, vlen) == 0)
			return 0;	/* already there */
	if (*n >= max)
		return CM_ERR_RANGE;
	if ((nl = realloc(*list, (*n + 1) * vlen)) == NULL)
		return CM_ERR_NOMEM;
	memcpy(nl + *n * vlen, v, vlen);
	*list = nl;
	(*n)++;
	return 0;
}

int
wa_rp_add_aaguid(wa_rp_t *rp, const uint8_t aaguid[WA_AAGUID_LEN])
{
	static const uint8_t zero[WA_AAGUID_LEN];

	/* the zero AAGUID names no model (U2F, privacy CA) */
	if (rp == NULL || aaguid == NULL ||
	    memcmp(aaguid, zero, sizeof(zero)) == 0)
		return CM_ERR_INVAL;
	return list_add(&rp->aaguids, &rp->naaguids, WA_RP_MAX_AAGUIDS,
	    aaguid, WA_AAGUID_LEN);
}

int
wa_rp_add_u2f_key_id(wa_rp_t *rp, const uint8_t id[WA_U2F_KEY_ID_LEN])
{
	if (rp == NULL || id == NULL)
		return CM_ERR_INVAL;
	return list_add(&rp->u2f_ids, &rp->nu2f, WA_RP_MAX_AAGUIDS, id,
	    WA_U2F_KEY_ID_LEN);
}

int
wa_rp_aaguid_ok(const wa_rp_t *rp, const uint8_t *aaguid)
{
	size_t i;

	for (i = 0; i < rp->naaguids; i++)
		if (memcmp(rp->aaguids + i * WA_AAGUID_LEN, aaguid,
		    WA_AAGUID_LEN) == 0)
			return 1;
	return 0;
}

int
wa_rp_u2f_id_ok(const wa_rp_t *rp, const uint8_t *id)
{
	size_t i;

	for (i = 0; i < rp->nu2f; i++)
		if (memcmp(rp->u2f_ids + i * WA_U2F_KEY_ID_LEN, id,
		    WA_U2F_KEY_ID_LEN) == 0)
			return 1;
	return 0;
}

int
wa_rp_set_mds(wa_rp_t *rp, const wa_mds_t *mds)
{
	if (rp == NULL)
		return CM_ERR_INVAL;
	rp->mds = mds;
	return 0;
}

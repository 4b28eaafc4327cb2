/* fido/wa_mds.c — FIDO Metadata Service v3 BLOB (a JWS compact JWT):
 * chain to the MDS root, signature with the leaf's key (the algorithm
 * comes from the key), then nextUpdate and the serial, then the entries:
 * per-AAGUID attestation roots and status reports. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fido/wa_int.h"

#define MDS_HEADER_MAX	(64 * 1024)
#define MDS_X5C_MAX	5
#define MDS_ES256_SIG	64

struct wa_mds_entry {
	uint8_t			 aaguid[WA_AAGUID_LEN];
	enum wa_mds_status	 status;
	STACK_OF(X509)		*roots;
};

struct wa_mds {
	X509			*root;
	int64_t			 serial;
	struct wa_mds_entry	*entries;	/* sorted by aaguid */
	size_t			 n;
};

static void
entries_free(struct wa_mds_entry *e, size_t n)
{
	size_t i;

	for (i = 0; e != NULL && i < n; i++)
		sk_X509_pop_free(e[i].roots, X509_free);
	free(e);
}

wa_mds_t *
wa_mds_new(void)
{
	return calloc(1, sizeof(struct wa_mds));
}

void
wa_mds_free(wa_mds_t **mp)
{
	wa_mds_t *m;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	X509_free(m->root);
	entries_free(m->entries, m->n);
	free(m);
	*mp = NULL;
}

int
wa_mds_set_root_pem(wa_mds_t *m, const uint8_t *pem, size_t len)
{
	BIO *bio;
	X509 *x;

	if (m == NULL || pem == NULL || len == 0 || len > 1024 * 1024)
		return CM_ERR_INVAL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return CM_ERR_NOMEM;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (x == NULL || X509_check_ca(x) <= 0) {
		X509_free(x);
		return WA_ERR_ROOTS;
	}
	X509_free(m->root);
	m->root = x;
	return 0;
}

int64_t
wa_mds_serial(const wa_mds_t *m)
{
	return m == NULL ? 0 : m->serial;
}

static int
entry_cmp(const void *a, const void *b)
{
	return memcmp(((const struct wa_mds_entry *)a)->aaguid,
	    ((const struct wa_mds_entry *)b)->aaguid, WA_AAGUID_LEN);
}

static const struct wa_mds_entry *
entry_find(const wa_mds_t *m, const uint8_t *aaguid)
{
	struct wa_mds_entry key;

	if (m == NULL || m->n == 0)
		return NULL;
	memcpy(key.aaguid, aaguid, WA_AAGUID_LEN);
	return bsearch(&key, m->entries, m->n, sizeof(*m->entries), entry_cmp);
}

enum wa_mds_status
wa_mds_status(const wa_mds_t *m, const uint8_t aaguid[WA_AAGUID_LEN])
{
	const struct wa_mds_entry *e;

	if (aaguid == NULL || (e = entry_find(m, aaguid)) == NULL)
		return WA_MDS_UNKNOWN;
	return e->status;
}

int
wa_mds_check(const wa_mds_t *m, const uint8_t *aaguid)
{
	switch (wa_mds_status(m, aaguid)) {
	case WA_MDS_REVOKED:
		return WA_ERR_MDS_REVOKED;
	case WA_MDS_COMPROMISED:
		return WA_ERR_MDS_COMPROMISED;
	default:
		return 0;
	}
}

STACK_OF(X509) *
wa_mds_roots(const wa_mds_t *m, const uint8_t *aaguid)
{
	const struct wa_mds_entry *e;

	if ((e = entry_find(m, aaguid)) == NULL)
		return NULL;
	return e->roots;
}

int
wa_mds_compromised_aaguids(const wa_mds_t *m, uint8_t **out, size_t *n)
{
	uint8_t *a = NULL;
	size_t i, k = 0;

	if (out == NULL || n == NULL)
		return CM_ERR_INVAL;
	*out = NULL;
	*n = 0;
	if (m == NULL)
		return CM_ERR_INVAL;
	for (i = 0; i < m->n; i++)
		if (m->entries[i].status == WA_MDS_REVOKED ||
		    m->entries[i].status == WA_MDS_COMPROMISED)
			k++;
	if (k == 0)
		return 0;
	if ((a = calloc(k, WA_AAGUID_LEN)) == NULL)
		return CM_ERR_NOMEM;
	for (i = 0, k = 0; i < m->n; i++)
		if (m->entries[i].status == WA_MDS_REVOKED ||
		    m->entries[i].status == WA_MDS_COMPROMISED)
			memcpy(a + WA_AAGUID_LEN * k++, m->entries[i].aaguid,
			    WA_AAGUID_LEN);
	*out = a;
	*n = k;
	return 0;
}

/* A DER certificate from standard base64, the whole input consumed. */
static X509 *
cert_from_b64(const char *s, size_t len)
{
	const unsigned char *q;
	uint8_t *der = NULL;
	size_t n = 0;
	X509 *x = NULL;

	if (len > 4 * WA_CERT_MAX_LEN || wa_b64std_decode(s, len, &der,
	    &n) != 0)
		return NULL;
	q = der;
	if ((x = d2i_X509(NULL, &q, (long)n)) != NULL && q != der + n) {
		X509_free(x);
		x = NULL;
	}
	free(der);
	ERR_clear_error();
	return x;
}

/* The JWS header: {"alg": ..., "x5c": [leaf, intermediates...]}. */
static int
header_parse(const uint8_t *h, size_t hl, char alg[8], STACK_OF(X509) **x5c)
{
	json_t *o = NULL, *a, *v;
	json_error_t jerr;
	STACK_OF(X509) *sk = NULL;
	X509 *x;
	size_t i;
	int r = WA_ERR_MDS_MALFORMED;

	*x5c = NULL;
	if ((o = json_loadb((const char *)h, hl, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(o))
		goto out;
	if ((v = json_object_get(o, "alg")) == NULL || !json_is_string(v) ||
	    json_string_length(v) == 0 || json_string_length(v) > 7)
		goto out;
	memcpy(alg, json_string_value(v), json_string_length(v) + 1);
	/* crit would name extensions we do not implement */
	if (json_object_get(o, "crit") != NULL)
		goto out;
	if ((a = json_object_get(o, "x5c")) == NULL || !json_is_array(a) ||
	    json_array_size(a) == 0 || json_array_size(a) > MDS_X5C_MAX)
		goto out;
	if ((sk = sk_X509_new_null()) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || (x = cert_from_b64(json_string_value(v),
		    json_string_length(v))) == NULL)
			goto out;
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			r = CM_ERR_NOMEM;
			goto out;
		}
	}
	*x5c = sk;
	sk = NULL;	/* transferred */
	r = 0;
out:
	sk_X509_pop_free(sk, X509_free);
	json_decref(o);
	return r;
}

static int
chain_ok(X509 *root, STACK_OF(X509) *x5c)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *untrusted = NULL;
	int i, r = CM_ERR_NOMEM;

	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = sk_X509_new_null()) == NULL ||
	    X509_STORE_add_cert(store, root) != 1)
		goto out;
	for (i = 1; i < sk_X509_num(x5c); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(x5c, i)))
			goto out;
	if (X509_STORE_CTX_init(ctx, store, sk_X509_value(x5c, 0),
	    untrusted) != 1 ||
	    X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx),
	    X509_PURPOSE_ANY) != 1)
		goto out;
	if (X509_verify_cert(ctx) == 1)
		r = 0;
	else {
		cm_debug(NULL, "webauthn.mds.chain", "{s:s}", "reason",
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
		r = WA_ERR_MDS_CHAIN;
	}
out:
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return r;
}

/* R||S to a DER ECDSA-Sig-Value (OPENSSL_malloc()ed). */
static int
es256_raw_to_der(const uint8_t *raw, unsigned char **der, int *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	int r = CM_ERR_CRYPTO;

	*der = NULL;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(raw, 32, NULL)) == NULL ||
	    (bs = BN_bin2bn(raw + 32, 32, NULL)) == NULL ||
	    ECDSA_SIG_set0(es, br, bs) != 1)
		goto out;
	br = bs = NULL;		/* owned by es */
	if ((*derlen = i2d_ECDSA_SIG(es, der)) <= 0)
		goto out;
	r = 0;
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

/* The algorithm follows from the leaf's key; the header must agree. */
static int
sig_verify(X509 *leaf, const char *alg, const uint8_t *in, size_t inlen,
    const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pk = X509_get0_pubkey(leaf);
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	const unsigned char *s = sig;
	char grp[32];
	size_t gl = 0, sl = siglen;
	int derlen = 0, r = WA_ERR_MDS_ALG;

	if (pk == NULL)
		return WA_ERR_MDS_ALG;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		if (strcmp(alg, "RS256") != 0 || EVP_PKEY_get_bits(pk) < 2048)
			return WA_ERR_MDS_ALG;
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		if (strcmp(alg, "ES256") != 0 ||
		    EVP_PKEY_get_group_name(pk, grp, sizeof(grp), &gl) != 1 ||
		    strcmp(grp, "prime256v1") != 0)
			return WA_ERR_MDS_ALG;
		if (siglen != MDS_ES256_SIG)
			return WA_ERR_MDS_SIG;
		if ((r = es256_raw_to_der(sig, &der, &derlen)) != 0)
			return r;
		s = der;
		sl = (size_t)derlen;
	} else
		return WA_ERR_MDS_ALG;
	r = WA_ERR_MDS_SIG;
	if ((md = EVP_MD_CTX_new()) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerify(md, s, sl, in, inlen) == 1)
		r = 0;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ERR_clear_error();
	return r;
}

/* "YYYY-MM-DD" (ISO 8601 full-date) to a comparable integer. */
static int
date_parse(const char *s, size_t len, long *out)
{
	long y = 0, mo = 0, d = 0;
	size_t i;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < len; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (i < 4)
			y = y * 10 + (s[i] - '0');
		else if (i < 7)
			mo = mo * 10 + (s[i] - '0');
		else
			d = d * 10 + (s[i] - '0');
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	*out = y * 10000 + mo * 100 + d;
	return 0;
}

static long
today_utc(void)
{
	struct tm tm;
	time_t t = (time_t)cm_time();

	if (gmtime_r(&t, &tm) == NULL)
		return 0;
	return (long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 +
	    tm.tm_mday;
}

static enum wa_mds_status
status_of(const char *s)
{
	if (strcmp(s, "REVOKED") == 0)
		return WA_MDS_REVOKED;
	if (strcmp(s, "ATTESTATION_KEY_COMPROMISE") == 0 ||
	    strcmp(s, "USER_KEY_PHYSICAL_COMPROMISE") == 0 ||
	    strcmp(s, "USER_KEY_REMOTE_COMPROMISE") == 0 ||
	    strcmp(s, "USER_VERIFICATION_BYPASS") == 0)
		return WA_MDS_COMPROMISED;
	return WA_MDS_OK;
}

/* One payload entry with an "aaguid"; entries for U2F key identifiers
 * and UAF AAIDs are skipped by the caller. */
static int
entry_parse(json_t *e, struct wa_mds_entry *out)
{
	json_t *v, *reports, *ms, *roots;
	enum wa_mds_status st;
	X509 *x;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->status = WA_MDS_OK;
	v = json_object_get(e, "aaguid");
	if (!json_is_string(v) || wa_aaguid_parse(json_string_value(v),
	    json_string_length(v), out->aaguid) != 0)
		return WA_ERR_MDS_MALFORMED;
	/* any revocation or compromise report counts (fail closed) */
	if ((reports = json_object_get(e, "statusReports")) != NULL) {
		if (!json_is_array(reports))
			return WA_ERR_MDS_MALFORMED;
		json_array_foreach(reports, i, v) {
			json_t *s = json_object_get(v, "status");

			if (!json_is_string(s))
				return WA_ERR_MDS_MALFORMED;
			st = status_of(json_string_value(s));
			if (st > out->status)
				out->status = st;
		}
	}
	if ((ms = json_object_get(e, "metadataStatement")) == NULL)
		return 0;
	if (!json_is_object(ms))
		return WA_ERR_MDS_MALFORMED;
	if ((roots = json_object_get(ms, "attestationRootCertificates")) ==
	    NULL)
		return 0;
	if (!json_is_array(roots) ||
	    json_array_size(roots) > WA_MDS_MAX_ROOTS_PER)
		return WA_ERR_MDS_MALFORMED;
	if (json_array_size(roots) == 0)
		return 0;
	if ((out->roots = sk_X509_new_null()) == NULL)
		return CM_ERR_NOMEM;
	json_array_foreach(roots, i, v) {
		if (!json_is_string(v) || (x = cert_from_b64(json_string_value(v),
		    json_string_length(v))) == NULL)
			return WA_ERR_MDS_MALFORMED;
		if (!sk_X509_push(out->roots, x)) {
			X509_free(x);
			return CM_ERR_NOMEM;
		}
	}
	return 0;
}

static int
payload_parse(const wa_mds_t *m, const uint8_t *p, size_t pl,
    int64_t *serial, struct wa_mds_entry **entries, size_t *nentries)
{
	json_t *o = NULL, *v, *list, *e;
	json_error_t jerr;
	struct wa_mds_entry *es = NULL;
	json_int_t no;
	size_t i, n = 0;
	long next;
	int r = WA_ERR_MDS_MALFORMED;

	*entries = NULL;
	*nentries = 0;
	if ((o = json_loadb((const char *)p, pl, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(o))
		goto out;
	if ((v = json_object_get(o, "no")) == NULL || !json_is_integer(v) ||
	    (no = json_integer_value(v)) <= 0)
		goto out;
	if ((v = json_object_get(o, "nextUpdate")) == NULL ||
	    !json_is_string(v) || date_parse(json_string_value(v),
	    json_string_length(v), &next) != 0)
		goto out;
	if ((list = json_object_get(o, "entries")) == NULL ||
	    !json_is_array(list) || json_array_size(list) > WA_MDS_MAX_ENTRIES)
		goto out;
	/* freshness, then replay of an older BLOB */
	if (next < today_utc()) {
		r = WA_ERR_MDS_EXPIRED;
		goto out;
	}
	if ((int64_t)no <= m->serial) {
		r = WA_ERR_MDS_SERIAL;
		goto out;
	}
	if (json_array_size(list) > 0 && (es = calloc(json_array_size(list),
	    sizeof(*es))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(list, i, e) {
		if (!json_is_object(e)) {
			r = WA_ERR_MDS_MALFORMED;
			goto out;
		}
		if (json_object_get(e, "aaguid") == NULL)
			continue;	/* U2F / UAF entry */
		r = entry_parse(e, &es[n]);
		n++;		/* so that a half-built entry is freed */
		if (r != 0)
			goto out;
	}
	if (n > 0)
		qsort(es, n, sizeof(*es), entry_cmp);
	for (i = 1; i < n; i++)
		if (entry_cmp(&es[i - 1], &es[i]) == 0) {
			r = WA_ERR_MDS_MALFORMED;	/* AAGUID twice */
			goto out;
		}
	*serial = (int64_t)no;
	*entries = es;
	*nentries = n;
	es = NULL;	/* transferred */
	r = 0;
out:
	entries_free(es, n);
	json_decref(o);
	return r;
}

int
wa_mds_load(wa_mds_t *m, const uint8_t *blob, size_t len)
{
	STACK_OF(X509) *x5c = NULL;
	struct wa_mds_entry *entries = NULL;
	const uint8_t *d1, *d2;
	uint8_t *hdr = NULL, *pay = NULL, *sig = NULL;
	size_t hl = 0, pl = 0, sl = 0, nentries = 0;
	int64_t serial = 0;
	char alg[8];
	int r = WA_ERR_MDS_MALFORMED;

	if (m == NULL || blob == NULL)
		return CM_ERR_INVAL;
	if (m->root == NULL)
		return WA_ERR_MDS_NO_ROOT;
	if (len == 0)
		return WA_ERR_MDS_MALFORMED;
	if (len > WA_MDS_BLOB_MAX_LEN)
		return WA_ERR_TOO_LARGE;
	/* trailing newline of a downloaded file */
	while (len > 0 && (blob[len - 1] == '\n' || blob[len - 1] == '\r'))
		len--;
	/* exactly two dots, three non-empty parts */
	if ((d1 = memchr(blob, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - blob))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - blob)) != NULL ||
	    d1 == blob || d2 == d1 + 1 || d2 + 1 == blob + len)
		goto out;
	if ((size_t)(d1 - blob) > MDS_HEADER_MAX ||
	    cm_b64url_decode((const char *)blob, (size_t)(d1 - blob), &hdr,
	    &hl) != 0 ||
	    cm_b64url_decode((const char *)d1 + 1, (size_t)(d2 - d1 - 1),
	    &pay, &pl) != 0 ||
	    cm_b64url_decode((const char *)d2 + 1,
	    (size_t)(blob + len - d2 - 1), &sig, &sl) != 0)
		goto out;
	if ((r = header_parse(hdr, hl, alg, &x5c)) != 0)
		goto out;
	/* chain to the MDS root, then the signature, then the claims */
	if ((r = chain_ok(m->root, x5c)) != 0)
		goto out;
	if ((r = sig_verify(sk_X509_value(x5c, 0), alg, blob,
	    (size_t)(d2 - blob), sig, sl)) != 0)
		goto out;
	if ((r = payload_parse(m, pay, pl, &serial, &entries,
	    &nentries)) != 0)
		goto out;
	entries_free(m->entries, m->n);
	m->entries = entries;
	m->n = nentries;
	m->serial = serial;
	entries = NULL;		/* transferred */
	r = 0;
out:
	entries_free(entries, nentries);
	sk_X509_pop_free(x5c, X509_free);
	free(hdr);
	free(pay);
	free(sig);
	return r;
}

int
wa_mds_load_file(wa_mds_t *m, const char *path)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, r = CM_ERR_IO;

	if (m == NULL || path == NULL)
		return CM_ERR_INVAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return CM_ERR_IO;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size <= 0 || st.st_size > WA_MDS_BLOB_MAX_LEN) {
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
	r = wa_mds_load(m, b, got);
out:
	free(b);
	close(fd);
	return r;
}

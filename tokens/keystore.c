/*
 * tokens/keystore.c — the key directory: keys.json plus one PEM file per
 * key, rotation by time (see tokens.h and docs/tokens.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokens/tok_int.h"

#define KS_VERSION	1
#define KS_NEVER	INT64_MAX
#define KS_KID_LEN	43	/* base64url of a SHA-256 thumbprint */
#define KS_TMP		"keys.json.tmp"
#define KS_PATH_MAX	4096

struct ks_entry {
	char		 kid[KS_KID_LEN + 1];
	enum tok_alg	 alg;
	int64_t		 created;
	int64_t		 not_before;
	int64_t		 retire_at;	/* KS_NEVER: no successor yet */
	int64_t		 remove_at;	/* KS_NEVER: likewise */
	tok_key		*key;		/* loaded keys only */
};

struct tok_keystore {
	struct ks_entry	*e;
	size_t		 n;
};

static void
entries_free(struct ks_entry *e, size_t n)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < n; i++)
		tok_key_free(&e[i].key);
	free(e);
}

void
tok_keystore_free(tok_keystore **ks)
{
	if (ks == NULL || *ks == NULL)
		return;
	entries_free((*ks)->e, (*ks)->n);
	free(*ks);
	*ks = NULL;
}

/* A kid we wrote: exactly a base64url SHA-256 thumbprint, so that it is
 * safe as a file name. */
static int
ks_kid_valid(const char *kid)
{
	size_t i;

	if (strlen(kid) != KS_KID_LEN)
		return 0;
	for (i = 0; i < KS_KID_LEN; i++) {
		unsigned char c = (unsigned char)kid[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int
get_time_or_never(const json_t *v, int64_t *out)
{
	if (json_is_null(v)) {
		*out = KS_NEVER;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return CM_ERR_INVAL;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* Parse keys.json (metadata only). */
static int
state_parse(const uint8_t *p, size_t len, struct ks_entry **out, size_t *nout)
{
	json_error_t jerr;
	json_t *doc = NULL, *keys = NULL, *e, *ra, *rm;
	struct ks_entry *ents = NULL;
	const char *kid, *alg;
	json_int_t version, created, nb;
	size_t i, j, n = 0;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	*nout = 0;
	if ((doc = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL ||
	    json_unpack_ex(doc, &jerr, 0, "{s:I, s:o !}", "version", &version,
	    "keys", &keys) != 0 || version != KS_VERSION ||
	    !json_is_array(keys)) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((n = json_array_size(keys)) > TOK_KEYSTORE_MAX_KEYS) {
		r = CM_ERR_RANGE;
		goto out;
	}
	if (n > 0 && (ents = calloc(n, sizeof(*ents))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(keys, i, e) {
		if (json_unpack_ex(e, &jerr, 0, "{s:s, s:s, s:I, s:I, s:o, "
		    "s:o !}", "kid", &kid, "alg", &alg, "created", &created,
		    "not_before", &nb, "retire_at", &ra, "remove_at",
		    &rm) != 0 || !ks_kid_valid(kid) || created < 0 || nb < 0 ||
		    tok_alg_parse(alg, strlen(alg), &ents[i].alg) != 0 ||
		    get_time_or_never(ra, &ents[i].retire_at) != 0 ||
		    get_time_or_never(rm, &ents[i].remove_at) != 0) {
			r = CM_ERR_INVAL;
			goto out;
		}
		memcpy(ents[i].kid, kid, KS_KID_LEN + 1);
		ents[i].created = (int64_t)created;
		ents[i].not_before = (int64_t)nb;
		for (j = 0; j < i; j++) {
			if (strcmp(ents[j].kid, kid) == 0) {
				r = CM_ERR_EXISTS;
				goto out;
			}
		}
	}
	*out = ents;
	*nout = n;
	ents = NULL;	/* transferred */
	r = 0;
out:
	entries_free(ents, n);
	json_decref(doc);
	return r;
}

/* Read keys.json under dirfd; *out NULL/0 when it does not exist. */
static int
state_read(int dirfd, struct ks_entry **out, size_t *nout)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t off = 0;
	ssize_t n;
	int fd = -1, r = CM_ERR_INTERNAL;

	*out = NULL;
	*nout = 0;
	if ((fd = openat(dirfd, TOK_KEYSTORE_STATE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		r = errno == ENOENT ? CM_ERR_NOTFOUND : CM_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = CM_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		r = CM_ERR_POLICY;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > TOK_JWKS_MAX_LEN) {
		r = CM_ERR_RANGE;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = CM_ERR_IO;
			goto out;
		}
		off += (size_t)n;
	}
	r = state_parse(buf, off, out, nout);
out:
	free(buf);
	if (fd != -1)
		close(fd);
	return r;
}

static json_t *
time_json(int64_t t)
{
	return t == KS_NEVER ? json_null() : json_integer((json_int_t)t);
}

/* Write keys.json atomically: temporary file, fsync, rename, fsync dir. */
static int
state_write(int dirfd, const struct ks_entry *e, size_t n)
{
	json_t *doc = NULL, *arr = NULL, *o;
	char *s = NULL;
	size_t i, off = 0, len;
	ssize_t w;
	int fd = -1, r = CM_ERR_INTERNAL;

	if ((doc = json_object()) == NULL || (arr = json_array()) == NULL ||
	    json_object_set_new(doc, "version", json_integer(KS_VERSION)) != 0) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((o = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}",
		    "kid", e[i].kid, "alg", tok_alg_name(e[i].alg),
		    "created", (json_int_t)e[i].created,
		    "not_before", (json_int_t)e[i].not_before,
		    "retire_at", time_json(e[i].retire_at),
		    "remove_at", time_json(e[i].remove_at))) == NULL ||
		    json_array_append_new(arr, o) != 0) {
			r = CM_ERR_NOMEM;
			goto out;
		}
	}
	if (json_object_set(doc, "keys", arr) != 0 ||
	    (s = json_dumps(doc, JSON_INDENT(2))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	len = strlen(s);
	(void)unlinkat(dirfd, KS_TMP, 0);
	if ((fd = openat(dirfd, KS_TMP, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		r = CM_ERR_IO;
		goto out;
	}
	while (off < len) {
		w = write(fd, s + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = CM_ERR_IO;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1) {
		r = CM_ERR_IO;
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		r = CM_ERR_IO;
		goto out;
	}
	fd = -1;
	if (renameat(dirfd, KS_TMP, dirfd, TOK_KEYSTORE_STATE) == -1 ||
	    fsync(dirfd) == -1) {
		r = CM_ERR_IO;
		goto out;
	}
	r = 0;
out:
	if (fd != -1)
		close(fd);
	if (r != 0)
		(void)unlinkat(dirfd, KS_TMP, 0);
	free(s);
	json_decref(arr);
	json_decref(doc);
	return r;
}

static int
open_dir(const char *dir, int create)
{
	struct stat st;
	int fd;

	if (create && mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	/* nobody else may add or swap files in here */
	if (fstat(fd, &st) == -1 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static int
pem_path(const char *dir, const char *kid, char *buf, size_t bufsz)
{
	int n = snprintf(buf, bufsz, "%s/%s.pem", dir, kid);

	return (n < 0 || (size_t)n >= bufsz) ? CM_ERR_RANGE : 0;
}

int
tok_keystore_load(const char *dir, tok_keystore **out)
{
	tok_keystore *ks = NULL;
	char path[KS_PATH_MAX];
	size_t i;
	int dirfd = -1, r = CM_ERR_INTERNAL;

	*out = NULL;
	if (dir == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((dirfd = open_dir(dir, 0)) == -1) {
		r = errno == ENOENT ? CM_ERR_NOTFOUND :
		    (errno == EPERM ? CM_ERR_POLICY : CM_ERR_IO);
		goto out;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = state_read(dirfd, &ks->e, &ks->n)) != 0)
		goto out;
	for (i = 0; i < ks->n; i++) {
		if ((r = pem_path(dir, ks->e[i].kid, path, sizeof(path))) != 0 ||
		    (r = tok_key_load_pem(path, ks->e[i].alg,
		    &ks->e[i].key)) != 0)
			goto out;
		/* the file name is the thumbprint of what is inside */
		if (strcmp(tok_key_kid(ks->e[i].key), ks->e[i].kid) != 0) {
			r = CM_ERR_INVAL;
			goto out;
		}
	}
	*out = ks;
	ks = NULL;	/* transferred */
	r = 0;
out:
	tok_keystore_free(&ks);
	if (dirfd != -1)
		close(dirfd);
	return r;
}

static enum tok_key_state
entry_state(const struct ks_entry *e, int64_t now)
{
	if (now < e->not_before)
		return TOK_KEY_NEXT;
	if (now < e->retire_at)
		return TOK_KEY_ACTIVE;
	if (now < e->remove_at)
		return TOK_KEY_RETIRED;
	return TOK_KEY_EXPIRED;
}

static const struct ks_entry *
signing_entry(const struct ks_entry *e, size_t n, int64_t now)
{
	const struct ks_entry *best = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (entry_state(&e[i], now) == TOK_KEY_ACTIVE &&
		    (best == NULL || e[i].not_before > best->not_before))
			best = &e[i];
	}
	return best;
}

const tok_key *
tok_keystore_signing_key(const tok_keystore *ks, int64_t now)
{
	const struct ks_entry *e;

	if (ks == NULL || (e = signing_entry(ks->e, ks->n, now)) == NULL)
		return NULL;
	return e->key;
}

static const struct ks_entry *
find_entry(const tok_keystore *ks, const char *kid)
{
	size_t i;

	if (ks == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < ks->n; i++)
		if (strcmp(ks->e[i].kid, kid) == 0)
			return &ks->e[i];
	return NULL;
}

const tok_key *
tok_keystore_active_key(const tok_keystore *ks, const char *kid, int64_t now)
{
	const struct ks_entry *e = find_entry(ks, kid);

	if (e == NULL || entry_state(e, now) != TOK_KEY_ACTIVE)
		return NULL;
	return e->key;
}

enum tok_key_state
tok_keystore_state(const tok_keystore *ks, const char *kid, int64_t now)
{
	const struct ks_entry *e = find_entry(ks, kid);

	return e == NULL ? 0 : entry_state(e, now);
}

size_t
tok_keystore_count(const tok_keystore *ks)
{
	return ks == NULL ? 0 : ks->n;
}

int
tok_keystore_jwks(const tok_keystore *ks, int64_t now, char **out)
{
	json_t *doc = NULL, *arr = NULL, *jwk = NULL;
	char *s = NULL;
	size_t i;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if (ks == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((doc = json_object()) == NULL || (arr = json_array()) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < ks->n; i++) {
		if (entry_state(&ks->e[i], now) == TOK_KEY_EXPIRED)
			continue;
		if ((r = tok_key_to_jwk(ks->e[i].key, &jwk)) != 0)
			goto out;
		if (json_array_append_new(arr, jwk) != 0) {
			jwk = NULL;
			r = CM_ERR_NOMEM;
			goto out;
		}
		jwk = NULL;
	}
	if (json_object_set(doc, "keys", arr) != 0 ||
	    (s = json_dumps(doc, JSON_COMPACT)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (strlen(s) > TOK_JWKS_MAX_LEN) {
		r = CM_ERR_RANGE;
		goto out;
	}
	*out = s;
	s = NULL;	/* transferred */
	r = 0;
out:
	free(s);
	json_decref(arr);
	json_decref(doc);
	return r;
}

/* Remove expired entries from e[0..*n); their kids go to gone[]. */
static void
prune_entries(struct ks_entry *e, size_t *n, int64_t now,
    char gone[][KS_KID_LEN + 1], size_t *ngone)
{
	size_t i, j = 0;

	*ngone = 0;
	for (i = 0; i < *n; i++) {
		if (entry_state(&e[i], now) == TOK_KEY_EXPIRED) {
			memcpy(gone[(*ngone)++], e[i].kid, KS_KID_LEN + 1);
			continue;
		}
		if (i != j)
			e[j] = e[i];
		j++;
	}
	*n = j;
}

static void
unlink_pems(int dirfd, char gone[][KS_KID_LEN + 1], size_t ngone)
{
	char name[KS_KID_LEN + 8];
	size_t i;

	for (i = 0; i < ngone; i++) {
		snprintf(name, sizeof(name), "%.43s.pem", gone[i]);
		(void)unlinkat(dirfd, name, 0);
	}
}

static int
lock_dir(const char *dir, int create, int *dirfd)
{
	*dirfd = open_dir(dir, create);
	if (*dirfd == -1)
		return errno == ENOENT ? CM_ERR_NOTFOUND :
		    (errno == EPERM ? CM_ERR_POLICY : CM_ERR_IO);
	/* serialise administrators (brokerctl key rotate on two shells) */
	if (flock(*dirfd, LOCK_EX) == -1) {
		close(*dirfd);
		*dirfd = -1;
		return CM_ERR_IO;
	}
	return 0;
}

int
tok_keystore_prune(const char *dir, int64_t now)
{
	char gone[TOK_KEYSTORE_MAX_KEYS][KS_KID_LEN + 1];
	struct ks_entry *e = NULL;
	size_t n = 0, ngone = 0;
	int dirfd = -1, r = CM_ERR_INTERNAL;

	if (dir == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((r = lock_dir(dir, 0, &dirfd)) != 0 ||
	    (r = state_read(dirfd, &e, &n)) != 0)
		goto out;
	prune_entries(e, &n, now, gone, &ngone);
	if (ngone > 0) {
		if ((r = state_write(dirfd, e, n)) != 0)
			goto out;
		unlink_pems(dirfd, gone, ngone);
	}
	r = 0;
out:
	entries_free(e, n);
	if (dirfd != -1)
		close(dirfd);	/* drops the lock */
	return r;
}

int
tok_keystore_rotate(const char *dir, enum tok_alg alg, int64_t publish_ahead,
    int64_t max_token_lifetime, int64_t now, char *kid_out, size_t kidsz)
{
	char gone[TOK_KEYSTORE_MAX_KEYS][KS_KID_LEN + 1];
	char path[KS_PATH_MAX];
	struct ks_entry *e = NULL, *ne;
	const struct ks_entry *cur;
	tok_key *key = NULL;
	size_t n = 0, ngone = 0, i;
	int dirfd = -1, saved = 0, r = CM_ERR_INTERNAL;

	if (kid_out != NULL && kidsz > 0)
		kid_out[0] = '\0';
	if (dir == NULL || tok_alg_name(alg) == NULL || publish_ahead < 0 ||
	    max_token_lifetime <= 0 || now <= 0 ||
	    publish_ahead > INT64_MAX / 4 || max_token_lifetime > INT64_MAX / 4 ||
	    now > INT64_MAX / 4 || (kid_out != NULL && kidsz <= KS_KID_LEN)) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((r = lock_dir(dir, 1, &dirfd)) != 0)
		goto out;
	if ((r = state_read(dirfd, &e, &n)) == CM_ERR_NOTFOUND)
		r = 0;		/* a new store */
	if (r != 0)
		goto out;
	prune_entries(e, &n, now, gone, &ngone);
	for (i = 0; i < n; i++) {
		if (entry_state(&e[i], now) == TOK_KEY_NEXT) {
			r = CM_ERR_EXISTS;	/* a rotation is pending */
			goto out;
		}
	}
	if (n >= TOK_KEYSTORE_MAX_KEYS) {
		r = CM_ERR_RANGE;
		goto out;
	}
	if ((ne = realloc(e, (n + 1) * sizeof(*e))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	e = ne;
	memset(&e[n], 0, sizeof(e[n]));
	if ((r = tok_key_generate(alg, &key)) != 0)
		goto out;
	if (!ks_kid_valid(tok_key_kid(key))) {
		r = CM_ERR_INTERNAL;
		goto out;
	}
	if ((r = pem_path(dir, tok_key_kid(key), path, sizeof(path))) != 0 ||
	    (r = tok_key_save_pem(key, path)) != 0)
		goto out;
	saved = 1;
	cur = signing_entry(e, n, now);
	memcpy(e[n].kid, tok_key_kid(key), KS_KID_LEN + 1);
	e[n].alg = alg;
	e[n].created = now;
	/* with nothing signing, the first key signs at once */
	e[n].not_before = cur != NULL ? now + publish_ahead : now;
	e[n].retire_at = KS_NEVER;
	e[n].remove_at = KS_NEVER;
	for (i = 0; i < n; i++) {
		if (e[i].retire_at == KS_NEVER) {
			/* stops signing when the new key starts, stays
			 * published as long as its last token may live */
			e[i].retire_at = e[n].not_before;
			e[i].remove_at = e[n].not_before + max_token_lifetime;
		}
	}
	n++;
	if ((r = state_write(dirfd, e, n)) != 0)
		goto out;
	saved = 0;	/* committed */
	unlink_pems(dirfd, gone, ngone);
	if (kid_out != NULL)
		memcpy(kid_out, tok_key_kid(key), KS_KID_LEN + 1);
	r = 0;
out:
	if (saved)
		(void)unlink(path);
	tok_key_free(&key);
	entries_free(e, n);
	if (dirfd != -1)
		close(dirfd);	/* drops the lock */
	return r;
}

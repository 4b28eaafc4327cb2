/* Unit tests for idp/kek.c: AES-256-GCM wrapping of secrets at rest under
 * a key-encryption key file, AAD binding, tampering, file permissions,
 * rotation and rewrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cm.h"
#include "idp/assurance.h"

/* Two fixed keys: 32 bytes each, base64url. */
#define K1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define K2 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"

static const uint8_t seed[20] = {
	0x3d, 0xc6, 0xca, 0xa4, 0x82, 0x4a, 0x6d, 0x28, 0x87, 0x67,
	0xb2, 0x33, 0x1e, 0x20, 0xb4, 0x31, 0x66, 0xcb, 0x85, 0xd9
};

struct fx {
	char	dir[64];
	char	path[128];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/test_mfa_kek.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/kek", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	(void)unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static idp_kek *
load(const char *path, const char *text)
{
	idp_kek *k = NULL;

	write_file(path, text, 0600);
	assert_int_equal(idp_kek_load(path, &k), 0);
	return k;
}

static void
expect_load_fails(const char *path, const char *text, int want)
{
	idp_kek *k = (idp_kek *)1;

	write_file(path, text, 0600);
	assert_int_equal(idp_kek_load(path, &k), want);
	assert_null(k);
}

static void
test_kek_wrap_unwrap_roundtrip(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "# test\n\nk1 " K1 "\r\nk2\t" K2 "  \n");
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	char *w = NULL;

	assert_int_equal(idp_kek_count(k), 2);
	assert_string_equal(idp_kek_current_kid(k), "k2");
	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, sizeof(seed),
	    &w), 0);
	assert_true(strncmp(w, "v1.k2.", 6) == 0);
	assert_true(idp_kek_is_current(k, w, strlen(w)));
	assert_int_equal(idp_kek_unwrap(k, "totp", "alice", w, strlen(w), &pt,
	    &ptlen), 0);
	assert_int_equal(ptlen, sizeof(seed));
	assert_memory_equal(pt, seed, sizeof(seed));
	idp_kek_secret_free(&pt, ptlen);
	assert_null(pt);
	free(w);
	idp_kek_free(&k);
	assert_null(k);
	idp_kek_free(&k);	/* NULL is fine */
}

static void
test_kek_ciphertext_is_not_plaintext(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\n");
	char *w1 = NULL, *w2 = NULL, *b64 = NULL;
	uint8_t *blob = NULL;
	size_t bloblen = 0, i;

	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, sizeof(seed),
	    &w1), 0);
	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, sizeof(seed),
	    &w2), 0);
	/* fresh nonce: the same seed never wraps to the same value */
	assert_string_not_equal(w1, w2);
	/* no trace of the seed, raw or encoded */
	assert_int_equal(cm_b64url_encode(seed, sizeof(seed), &b64), 0);
	assert_null(strstr(w1, b64));
	assert_int_equal(cm_b64url_decode(w1 + 6, strlen(w1 + 6), &blob,
	    &bloblen), 0);
	assert_int_equal(bloblen, 12 + sizeof(seed) + 16);
	for (i = 0; i + 4 <= bloblen; i++)
		assert_memory_not_equal(blob + i, seed, 4);
	free(blob);
	free(b64);
	free(w1);
	free(w2);
	idp_kek_free(&k);
}

static void
expect_unwrap(const idp_kek *k, const char *purpose, const char *owner,
    const char *w, int want)
{
	uint8_t *pt = (uint8_t *)1;
	size_t ptlen = 1;

	assert_int_equal(idp_kek_unwrap(k, purpose, owner, w, strlen(w), &pt,
	    &ptlen), want);
	assert_null(pt);
	assert_int_equal(ptlen, 0);
}

static void
test_kek_wrong_owner_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\n");
	char *w = NULL;

	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, sizeof(seed),
	    &w), 0);
	/* a value copied to another user's entry does not open */
	expect_unwrap(k, "totp", "bob", w, CM_ERR_DENIED);
	expect_unwrap(k, "totp", "alice2", w, CM_ERR_DENIED);
	expect_unwrap(k, "totp", "alic", w, CM_ERR_DENIED);
	free(w);
	idp_kek_free(&k);
}

static void
test_kek_wrong_purpose_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\n");
	char *w = NULL;

	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, sizeof(seed),
	    &w), 0);
	expect_unwrap(k, "recovery", "alice", w, CM_ERR_DENIED);
	/* purpose and owner cannot trade bytes across the separator */
	free(w);
	assert_int_equal(idp_kek_wrap(k, "to", "tpalice", seed, sizeof(seed),
	    &w), 0);
	expect_unwrap(k, "totp", "alice", w, CM_ERR_DENIED);
	free(w);
	idp_kek_free(&k);
}

static void
test_kek_bad_purpose_or_owner_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\n");
	char *w = (char *)1;

	assert_int_equal(idp_kek_wrap(k, "TOTP", "alice", seed, sizeof(seed),
	    &w), CM_ERR_INVAL);
	assert_null(w);
	assert_int_equal(idp_kek_wrap(k, "", "alice", seed, sizeof(seed),
	    &w), CM_ERR_INVAL);
	assert_int_equal(idp_kek_wrap(k, "totp", "", seed, sizeof(seed),
	    &w), CM_ERR_INVAL);
	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, 0, &w),
	    CM_ERR_INVAL);
	idp_kek_free(&k);
}

/* Flip one bit at offset off of the decoded payload and re-encode. */
static char *
tamper(const char *w, size_t off)
{
	const char *b64 = strrchr(w, '.') + 1;
	uint8_t *blob = NULL;
	size_t bloblen = 0, hl = (size_t)(b64 - w);
	char *enc = NULL, *out;

	assert_int_equal(cm_b64url_decode(b64, strlen(b64), &blob, &bloblen),
	    0);
	assert_true(off < bloblen);
	blob[off] ^= 0x01;
	assert_int_equal(cm_b64url_encode(blob, bloblen, &enc), 0);
	assert_non_null(out = malloc(hl + strlen(enc) + 1));
	memcpy(out, w, hl);
	strcpy(out + hl, enc);
	free(enc);
	free(blob);
	return out;
}

static void
test_kek_tampered_ciphertext_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\n");
	char *w = NULL, *t;

	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, sizeof(seed),
	    &w), 0);
	t = tamper(w, 12 + 3);			/* ciphertext */
	expect_unwrap(k, "totp", "alice", t, CM_ERR_DENIED);
	free(t);
	t = tamper(w, 0);			/* nonce */
	expect_unwrap(k, "totp", "alice", t, CM_ERR_DENIED);
	free(t);
	t = tamper(w, 12 + sizeof(seed) + 15);	/* tag */
	expect_unwrap(k, "totp", "alice", t, CM_ERR_DENIED);
	free(t);
	free(w);
	idp_kek_free(&k);
}

static void
test_kek_truncated_value_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\n");
	char *w = NULL;
	uint8_t *pt = NULL;
	size_t ptlen = 0, n;

	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, sizeof(seed),
	    &w), 0);
	n = strlen(w);
	/* drop 4 characters (3 bytes of tag): still base64url, wrong tag */
	assert_int_equal(idp_kek_unwrap(k, "totp", "alice", w, n - 4, &pt,
	    &ptlen), CM_ERR_DENIED);
	/* too short to hold nonce and tag */
	expect_unwrap(k, "totp", "alice", "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    CM_ERR_INVAL);
	free(w);
	idp_kek_free(&k);
}

static void
test_kek_malformed_value_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\n");
	char *w = NULL, *v;
	uint8_t *pt = NULL;
	size_t ptlen = 0;

	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, sizeof(seed),
	    &w), 0);
	assert_non_null(v = strdup(w));
	v[1] = '2';				/* "v2." */
	expect_unwrap(k, "totp", "alice", v, CM_ERR_INVAL);
	strcpy(v, w);
	v[strlen(v) - 3] = '+';			/* not base64url */
	expect_unwrap(k, "totp", "alice", v, CM_ERR_INVAL);
	expect_unwrap(k, "totp", "alice", "", CM_ERR_INVAL);
	expect_unwrap(k, "totp", "alice", "v1.k1", CM_ERR_INVAL);
	expect_unwrap(k, "totp", "alice", "v1..AAAA", CM_ERR_INVAL);
	/* embedded NUL */
	assert_int_equal(idp_kek_unwrap(k, "totp", "alice", w, strlen(w) + 1,
	    &pt, &ptlen), CM_ERR_INVAL);
	free(v);
	free(w);
	idp_kek_free(&k);
}

static void
test_kek_unknown_kid_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\n");
	idp_kek *k2 = NULL;
	char *w = NULL;

	write_file(f->path, "k2 " K2 "\n", 0600);
	assert_int_equal(idp_kek_load(f->path, &k2), 0);
	assert_int_equal(idp_kek_wrap(k2, "totp", "alice", seed, sizeof(seed),
	    &w), 0);
	expect_unwrap(k, "totp", "alice", w, CM_ERR_NOTFOUND);
	assert_false(idp_kek_is_current(k, w, strlen(w)));
	free(w);
	idp_kek_free(&k);
	idp_kek_free(&k2);
}

static void
test_kek_swapped_kid_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\nk2 " K2 "\n");
	char *w = NULL;

	assert_int_equal(idp_kek_wrap(k, "totp", "alice", seed, sizeof(seed),
	    &w), 0);
	w[4] = '1';	/* v1.k2. -> v1.k1. */
	expect_unwrap(k, "totp", "alice", w, CM_ERR_DENIED);
	free(w);
	idp_kek_free(&k);
}

static void
test_kek_file_mode_0644_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = (idp_kek *)1;

	write_file(f->path, "k1 " K1 "\n", 0644);
	assert_int_equal(idp_kek_load(f->path, &k), CM_ERR_POLICY);
	assert_null(k);
	write_file(f->path, "k1 " K1 "\n", 0640);
	assert_int_equal(idp_kek_load(f->path, &k), CM_ERR_POLICY);
	write_file(f->path, "k1 " K1 "\n", 0602);
	assert_int_equal(idp_kek_load(f->path, &k), CM_ERR_POLICY);
	write_file(f->path, "k1 " K1 "\n", 0400);
	assert_int_equal(idp_kek_load(f->path, &k), 0);
	idp_kek_free(&k);
}

static void
test_kek_symlink_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = (idp_kek *)1;
	char link[160];

	write_file(f->path, "k1 " K1 "\n", 0600);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(idp_kek_load(link, &k), CM_ERR_IO);
	assert_null(k);
}

static void
test_kek_missing_file_rejected(void **state)
{
	struct fx *f = *state;
	idp_kek *k = (idp_kek *)1;

	assert_int_equal(idp_kek_load(f->path, &k), CM_ERR_NOTFOUND);
	assert_null(k);
}

static void
test_kek_malformed_file_rejected(void **state)
{
	struct fx *f = *state;

	expect_load_fails(f->path, "", CM_ERR_INVAL);
	expect_load_fails(f->path, "# only a comment\n", CM_ERR_INVAL);
	expect_load_fails(f->path, "k1\n", CM_ERR_INVAL);
	expect_load_fails(f->path, "k1 " K1 " extra\n", CM_ERR_INVAL);
	expect_load_fails(f->path, "k1 AAEC\n", CM_ERR_INVAL);	/* short */
	expect_load_fails(f->path, "k1 " K1 "A\n", CM_ERR_INVAL);
	expect_load_fails(f->path, "k.1 " K1 "\n", CM_ERR_INVAL);	/* kid */
	expect_load_fails(f->path, "k1 " K1 "\nk1 " K2 "\n", CM_ERR_INVAL);
	/* standard base64 ('/' and '+') is not base64url */
	expect_load_fails(f->path,
	    "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+\n", CM_ERR_INVAL);
}

static void
test_kek_rotation_then_rewrap(void **state)
{
	struct fx *f = *state;
	idp_kek *k = load(f->path, "k1 " K1 "\n");
	idp_kek *k2 = NULL;
	const char *owners[] = { "alice", "bob", "carol" };
	char *old[3], *nw = NULL, *kid = NULL;
	uint8_t *pt = NULL;
	size_t ptlen = 0, i;
	struct stat st;

	for (i = 0; i < 3; i++)
		assert_int_equal(idp_kek_wrap(k, "totp", owners[i], seed,
		    sizeof(seed), &old[i]), 0);
	assert_int_equal(idp_kek_rotate_file(f->path, &kid), 0);
	assert_non_null(kid);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(idp_kek_load(f->path, &k2), 0);
	assert_int_equal(idp_kek_count(k2), 2);
	assert_string_equal(idp_kek_current_kid(k2), kid);
	for (i = 0; i < 3; i++) {
		/* old values still unwrap under the rotated file */
		assert_false(idp_kek_is_current(k2, old[i], strlen(old[i])));
		assert_int_equal(idp_kek_unwrap(k2, "totp", owners[i], old[i],
		    strlen(old[i]), &pt, &ptlen), 0);
		assert_memory_equal(pt, seed, sizeof(seed));
		idp_kek_secret_free(&pt, ptlen);
		/* rewrap moves them to the new key */
		assert_int_equal(idp_kek_rewrap(k2, "totp", owners[i], old[i],
		    strlen(old[i]), &nw), 0);
		assert_true(idp_kek_is_current(k2, nw, strlen(nw)));
		assert_int_equal(idp_kek_unwrap(k2, "totp", owners[i], nw,
		    strlen(nw), &pt, &ptlen), 0);
		assert_memory_equal(pt, seed, sizeof(seed));
		idp_kek_secret_free(&pt, ptlen);
		/* a process that did not reload does not know the new kid */
		expect_unwrap(k, "totp", owners[i], nw, CM_ERR_NOTFOUND);
		/* rewrap checks the owner too */
		free(nw);
		nw = (char *)1;
		assert_int_equal(idp_kek_rewrap(k2, "totp", "mallory", old[i],
		    strlen(old[i]), &nw), CM_ERR_DENIED);
		assert_null(nw);
		free(old[i]);
	}
	free(kid);
	idp_kek_free(&k);
	idp_kek_free(&k2);
}

static void
test_kek_rotate_creates_file(void **state)
{
	struct fx *f = *state;
	idp_kek *k = NULL;
	char *kid = NULL;
	struct stat st;

	assert_int_equal(idp_kek_rotate_file(f->path, &kid), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(idp_kek_load(f->path, &k), 0);
	assert_int_equal(idp_kek_count(k), 1);
	assert_string_equal(idp_kek_current_kid(k), kid);
	assert_true(kid[0] == 'k' && strlen(kid) == 16);
	free(kid);
	idp_kek_free(&k);
	/* and again: two keys, different kids */
	assert_int_equal(idp_kek_rotate_file(f->path, NULL), 0);
	assert_int_equal(idp_kek_load(f->path, &k), 0);
	assert_int_equal(idp_kek_count(k), 2);
	idp_kek_free(&k);
}

static void
test_kek_rotate_refuses_insecure_file(void **state)
{
	struct fx *f = *state;
	idp_kek *k = NULL;

	write_file(f->path, "k1 " K1 "\n", 0644);
	assert_int_equal(idp_kek_rotate_file(f->path, NULL), CM_ERR_POLICY);
	write_file(f->path, "k1 garbage\n", 0600);
	assert_int_equal(idp_kek_rotate_file(f->path, NULL), CM_ERR_INVAL);
	/* left untouched */
	write_file(f->path, "k1 " K1 "\n", 0600);
	assert_int_equal(idp_kek_load(f->path, &k), 0);
	assert_int_equal(idp_kek_count(k), 1);
	idp_kek_free(&k);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_kek_wrap_unwrap_roundtrip),
		T(test_kek_ciphertext_is_not_plaintext),
		T(test_kek_wrong_owner_rejected),
		T(test_kek_wrong_purpose_rejected),
		T(test_kek_bad_purpose_or_owner_rejected),
		T(test_kek_tampered_ciphertext_rejected),
		T(test_kek_truncated_value_rejected),
		T(test_kek_malformed_value_rejected),
		T(test_kek_unknown_kid_rejected),
		T(test_kek_swapped_kid_rejected),
		T(test_kek_file_mode_0644_rejected),
		T(test_kek_symlink_rejected),
		T(test_kek_missing_file_rejected),
		T(test_kek_malformed_file_rejected),
		T(test_kek_rotation_then_rewrap),
		T(test_kek_rotate_creates_file),
		T(test_kek_rotate_refuses_insecure_file),
	};

	/* Keep the log (kek.invalid lines) out of the test output. */
	if (cm_log_open("/dev/null", CM_LOG_ERR) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

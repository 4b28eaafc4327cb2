/* tests/unit/test_tok_keyproc.c — the key process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cm.h"
#include "tokens/pep.h"
#include "tokens/tokens.h"

#define T0	1700000000LL
#define ISS	"https://idp.example.com"
#define AUD	"https://api.example.com"

static char base[64];
static int seq;

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(cm_init(), 0);
	snprintf(base, sizeof(base), "/tmp/test_tok_kp_XXXXXX");
	assert_non_null(mkdtemp(base));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
mkstore(char *dir, size_t sz, enum tok_alg alg, char *kid, size_t kidsz)
{
	snprintf(dir, sz, "%s/ks%d", base, seq++);
	assert_int_equal(tok_keystore_rotate(dir, alg, 3600, 7200, T0, kid,
	    kidsz), 0);
}

/* Does this process have a descriptor open on a file under dir? */
static int
have_fd_under(const char *dir)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char lnk[300], tgt[512];
	ssize_t n;
	int found = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		snprintf(lnk, sizeof(lnk), "/proc/self/fd/%s", de->d_name);
		if ((n = readlink(lnk, tgt, sizeof(tgt) - 1)) <= 0)
			continue;
		tgt[n] = '\0';
		if (strncmp(tgt, dir, strlen(dir)) == 0)
			found = 1;
	}
	closedir(d);
	return found;
}

/* A PEP verifier for ES256 tokens from ISS to AUD, trusting jwks. */
static pep_verifier *
es256_verifier(const char *jwks)
{
	static const char *const algs[] = { "ES256" };
	struct pep_config cfg;
	pep_verifier *v = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = ISS;
	cfg.audience = AUD;
	cfg.algs = algs;
	cfg.nalgs = 1;
	assert_int_equal(pep_verifier_new(&cfg, &v), PEP_OK);
	assert_int_equal(pep_verifier_set_jwks(v, (const uint8_t *)jwks,
	    strlen(jwks)), PEP_OK);
	return v;
}

static void
test_tok_keyproc_sign_and_verify(void **state)
{
	char dir[128], kid[64], cur[TOK_KID_MAX_LEN + 1], *jwks = NULL;
	char *tok = NULL;
	tok_signer *s = NULL;
	pep_verifier *v = NULL;
	enum tok_alg alg;
	json_t *c, *out = NULL;

	(void)state;
	mkstore(dir, sizeof(dir), TOK_ALG_ES256, kid, sizeof(kid));
	assert_int_equal(tok_keyproc_start(dir, &s), 0);
	assert_false(have_fd_under(dir));
	assert_int_equal(tok_signer_current_kid(s, T0, cur, sizeof(cur), &alg),
	    0);
	assert_string_equal(cur, kid);
	assert_int_equal(alg, TOK_ALG_ES256);
	c = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", ISS, "aud", AUD,
	    "sub", "bob", "iat", (json_int_t)T0, "exp", (json_int_t)(T0 + 60));
	assert_int_equal(tok_jwt_sign_at(s, "at+jwt", c, T0, &tok), 0);
	assert_int_equal(tok_signer_jwks(s, T0, &jwks), 0);
	assert_non_null(strstr(jwks, kid));
	assert_null(strstr(jwks, "\"d\""));	/* public parts only */

	v = es256_verifier(jwks);
	assert_int_equal(pep_verify(v, tok, strlen(tok), T0 + 1, &out),
	    PEP_OK);
	assert_true(json_equal(out, c));
	json_decref(out);
	json_decref(c);
	pep_verifier_free(&v);
	free(jwks);
	free(tok);
	tok_signer_free(&s);
	assert_null(s);
}

static void
test_tok_keyproc_unknown_kid_fails_cleanly(void **state)
{
	char dir[128], kid[64];
	uint8_t sig[TOK_SIG_MAX_LEN];
	size_t siglen = 99;
	tok_signer *s = NULL;

	(void)state;
	mkstore(dir, sizeof(dir), TOK_ALG_EDDSA, kid, sizeof(kid));
	assert_int_equal(tok_keyproc_start(dir, &s), 0);
	assert_int_equal(tok_signer_sign_at(s, "no-such-kid", T0,
	    (const uint8_t *)"a.b", 3, sig, sizeof(sig), &siglen),
	    CM_ERR_NOTFOUND);
	assert_int_equal(siglen, 0);
	/* hostile kid never reaches the child */
	assert_int_equal(tok_signer_sign_at(s, "../x", T0,
	    (const uint8_t *)"a.b", 3, sig, sizeof(sig), &siglen),
	    CM_ERR_INVAL);
	/* too long input refused before sending */
	{
		size_t n = TOK_SIGN_INPUT_MAX + 1;
		uint8_t *big = calloc(1, n);

		assert_int_equal(tok_signer_sign_at(s, kid, T0, big, n, sig,
		    sizeof(sig), &siglen), CM_ERR_INVAL);
		free(big);
	}
	/* the channel still works afterwards */
	assert_int_equal(tok_signer_sign_at(s, kid, T0,
	    (const uint8_t *)"a.b", 3, sig, sizeof(sig), &siglen), 0);
	assert_int_equal(siglen, 64);
	assert_int_equal(tok_signer_sign_at(s, NULL, T0,
	    (const uint8_t *)"a.b", 3, sig, sizeof(sig), &siglen), 0);
	/* nothing signs before the first key's not_before */
	assert_int_equal(tok_signer_sign_at(s, NULL, T0 - 1,
	    (const uint8_t *)"a.b", 3, sig, sizeof(sig), &siglen),
	    CM_ERR_NOTFOUND);
	tok_signer_free(&s);
}

/* The keys live in the child: with the directory gone the parent can still
 * sign, and a reload that fails keeps the old keys. */
static void
test_tok_keyproc_child_holds_the_key(void **state)
{
	char dir[128], kid[64], path[256], cmd[300];
	uint8_t sig[TOK_SIG_MAX_LEN];
	size_t siglen = 0;
	tok_signer *s = NULL;

	(void)state;
	mkstore(dir, sizeof(dir), TOK_ALG_ES256, kid, sizeof(kid));
	assert_int_equal(tok_keyproc_start(dir, &s), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/%s.pem", dir, kid);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(tok_signer_sign_at(s, kid, T0,
	    (const uint8_t *)"a.b", 3, sig, sizeof(sig), &siglen), 0);
	assert_int_equal(tok_signer_reload(s), CM_ERR_NOTFOUND);
	assert_int_equal(tok_signer_sign_at(s, kid, T0,
	    (const uint8_t *)"a.b", 3, sig, sizeof(sig), &siglen), 0);
	tok_signer_free(&s);
}

static void
test_tok_keyproc_load_errors_reported(void **state)
{
	char dir[128], kid[64], path[256];
	tok_signer *s = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/missing", base);
	assert_int_equal(tok_keyproc_start(dir, &s), CM_ERR_NOTFOUND);
	assert_null(s);
	/* a group-readable key is refused by the child, and said so */
	mkstore(dir, sizeof(dir), TOK_ALG_ES256, kid, sizeof(kid));
	snprintf(path, sizeof(path), "%s/%s.pem", dir, kid);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(tok_keyproc_start(dir, &s), CM_ERR_POLICY);
	assert_null(s);
}

static void
test_tok_keyproc_reload_sees_rotation(void **state)
{
	char dir[128], k1[64], k2[64], *jwks = NULL;
	tok_signer *s = NULL;

	(void)state;
	mkstore(dir, sizeof(dir), TOK_ALG_RS256, k1, sizeof(k1));
	assert_int_equal(tok_keyproc_start(dir, &s), 0);
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_PS256, 3600, 7200,
	    T0 + 1, k2, sizeof(k2)), 0);
	assert_int_equal(tok_signer_reload(s), 0);
	assert_int_equal(tok_signer_jwks(s, T0 + 1, &jwks), 0);
	assert_non_null(strstr(jwks, k1));
	assert_non_null(strstr(jwks, k2));
	free(jwks);
	tok_signer_free(&s);
}

/*
 * The parent keeps the current key for the second it was asked about; a
 * reload must drop that, or tokens would go on naming the old key.
 */
static void
test_tok_keyproc_reload_moves_current_key(void **state)
{
	char dir[128], k1[64], k2[64], cur[TOK_KID_MAX_LEN + 1];
	enum tok_alg alg;
	tok_signer *s = NULL;

	(void)state;
	mkstore(dir, sizeof(dir), TOK_ALG_ES256, k1, sizeof(k1));
	assert_int_equal(tok_keyproc_start(dir, &s), 0);
	assert_int_equal(tok_signer_current_kid(s, T0, cur, sizeof(cur),
	    &alg), 0);
	assert_string_equal(cur, k1);
	/* a key that signs from T0 on (no publish-ahead) */
	assert_int_equal(tok_keystore_rotate(dir, TOK_ALG_ES256, 0, 7200, T0,
	    k2, sizeof(k2)), 0);
	assert_int_equal(tok_signer_current_kid(s, T0, cur, sizeof(cur),
	    &alg), 0);
	assert_string_equal(cur, k1);	/* not reloaded yet */
	assert_int_equal(tok_signer_reload(s), 0);
	assert_int_equal(tok_signer_current_kid(s, T0, cur, sizeof(cur),
	    &alg), 0);
	assert_string_equal(cur, k2);
	tok_signer_free(&s);
}

struct signer_arg {
	tok_signer	*s;
	pep_verifier	*v;
	int		 id;
	int		 bad;
};

/*
 * Each thread signs its own claims and checks that the token it got back
 * carries them under a valid signature: a reply crossing to another
 * caller's lane would fail here.
 */
static void *
sign_thread(void *arg)
{
	struct signer_arg *a = arg;
	char sub[32], *tok;
	json_t *c, *out;
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(sub, sizeof(sub), "t%d-%d", a->id, i);
		c = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", ISS, "aud",
		    AUD, "sub", sub, "iat", (json_int_t)T0, "exp",
		    (json_int_t)(T0 + 60));
		tok = NULL;
		out = NULL;
		if (c == NULL || tok_jwt_sign_at(a->s, "at+jwt", c, T0,
		    &tok) != 0 || pep_verify(a->v, tok, strlen(tok), T0 + 1,
		    &out) != PEP_OK || !json_equal(out, c))
			a->bad++;
		json_decref(out);
		json_decref(c);
		free(tok);
	}
	return NULL;
}

/* More threads than lanes, so that some wait for a busy one. */
static void
test_tok_keyproc_concurrent_signing(void **state)
{
	char dir[128], kid[64], *jwks = NULL;
	struct signer_arg a[24];
	pep_verifier *v = NULL;
	tok_signer *s = NULL;
	pthread_t th[24];
	int i, bad = 0;

	(void)state;
	mkstore(dir, sizeof(dir), TOK_ALG_ES256, kid, sizeof(kid));
	assert_int_equal(tok_keyproc_start(dir, &s), 0);
	assert_int_equal(tok_signer_jwks(s, T0, &jwks), 0);
	v = es256_verifier(jwks);
	for (i = 0; i < 24; i++) {
		a[i].s = s;
		a[i].v = v;
		a[i].id = i;
		a[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, sign_thread,
		    &a[i]), 0);
	}
	for (i = 0; i < 24; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		bad += a[i].bad;
	}
	assert_int_equal(bad, 0);
	pep_verifier_free(&v);
	free(jwks);
	tok_signer_free(&s);
}

/* Every lane reaches the child, and the child's descriptors are only its
 * lanes and the standard three (no parent end, no key file). */
static void
test_tok_keyproc_child_descriptors(void **state)
{
	char dir[128], kid[64], path[64], link[256], p[400];
	tok_signer *s = NULL;
	struct dirent *e;
	pid_t child = 0;
	DIR *d;
	FILE *f;
	ssize_t k;
	int n = 0, sock = 0;

	(void)state;
	mkstore(dir, sizeof(dir), TOK_ALG_ES256, kid, sizeof(kid));
	assert_int_equal(tok_keyproc_start(dir, &s), 0);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", getpid(),
	    getpid());
	assert_non_null(f = fopen(path, "r"));
	assert_int_equal(fscanf(f, "%d", &child), 1);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/fd", child);
	assert_non_null(d = opendir(path));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		k = readlink(p, link, sizeof(link) - 1);
		assert_true(k > 0);
		link[k] = '\0';
		n++;
		if (strncmp(link, "socket:", 7) == 0)
			sock++;
	}
	closedir(d);
	assert_int_equal(sock, 16);
	assert_int_equal(n, 16 + 3);
	tok_signer_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tok_keyproc_sign_and_verify),
		cmocka_unit_test(test_tok_keyproc_unknown_kid_fails_cleanly),
		cmocka_unit_test(test_tok_keyproc_child_holds_the_key),
		cmocka_unit_test(test_tok_keyproc_load_errors_reported),
		cmocka_unit_test(test_tok_keyproc_reload_sees_rotation),
		cmocka_unit_test(test_tok_keyproc_reload_moves_current_key),
		cmocka_unit_test(test_tok_keyproc_concurrent_signing),
		cmocka_unit_test(test_tok_keyproc_child_descriptors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

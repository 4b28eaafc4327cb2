/*
 * tests/helpers/tokctl_test.c — command-line access to tokens/ for the
 * interoperability tests (tests/interop/run_jose.sh).  Not installed.
 *
 *   tokctl_test rotate DIR ALG             create/rotate a key, print kid
 *   tokctl_test jwks DIR                   print the public JWKS (now)
 *   tokctl_test sign DIR TYP CLAIMS        sign through the key process;
 *                                          iat/exp added when absent
 *   tokctl_test verify JWKS ISS AUD ALG TOKEN
 *                                          pep_verify at now; exit 0 and
 *                                          print the claims, or exit 1
 *                                          and print the error
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cm.h"
#include "tokens/pep.h"
#include "tokens/tokens.h"

static int
usage(void)
{
	fprintf(stderr, "usage: tokctl_test rotate DIR ALG | jwks DIR | "
	    "sign DIR TYP CLAIMS | verify JWKS ISS AUD ALG TOKEN\n");
	return 2;
}

static int
cmd_rotate(const char *dir, const char *algname)
{
	char kid[TOK_KID_MAX_LEN + 1];
	enum tok_alg alg;
	int r;

	if (tok_alg_parse(algname, strlen(algname), &alg) != 0)
		return usage();
	if ((r = tok_keystore_rotate(dir, alg, 0, 600, cm_time(), kid,
	    sizeof(kid))) != 0) {
		fprintf(stderr, "rotate: %s\n", cm_strerror(r));
		return 1;
	}
	printf("%s\n", kid);
	return 0;
}

static int
cmd_jwks(const char *dir)
{
	tok_keystore *ks = NULL;
	char *jwks = NULL;
	int r;

	if ((r = tok_keystore_load(dir, &ks)) != 0 ||
	    (r = tok_keystore_jwks(ks, cm_time(), &jwks)) != 0) {
		fprintf(stderr, "jwks: %s\n", cm_strerror(r));
		tok_keystore_free(&ks);
		return 1;
	}
	printf("%s\n", jwks);
	free(jwks);
	tok_keystore_free(&ks);
	return 0;
}

static int
cmd_sign(const char *dir, const char *typ, const char *claims_json)
{
	json_error_t jerr;
	json_t *claims;
	tok_signer *s = NULL;
	char *tok = NULL;
	int64_t now = cm_time();
	int r;

	if ((claims = json_loads(claims_json, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(claims)) {
		fprintf(stderr, "sign: claims: %s\n", jerr.text);
		json_decref(claims);
		return 2;
	}
	if (json_object_get(claims, "iat") == NULL)
		(void)json_object_set_new(claims, "iat", json_integer(now));
	if (json_object_get(claims, "exp") == NULL)
		(void)json_object_set_new(claims, "exp",
		    json_integer(now + 300));
	/* the private key stays in the key process */
	if ((r = tok_keyproc_start(dir, &s)) != 0 ||
	    (r = tok_jwt_sign_at(s, typ, claims, now, &tok)) != 0) {
		fprintf(stderr, "sign: %s\n", cm_strerror(r));
		tok_signer_free(&s);
		json_decref(claims);
		return 1;
	}
	printf("%s\n", tok);
	free(tok);
	tok_signer_free(&s);
	json_decref(claims);
	return 0;
}

static int
cmd_verify(const char *jwks_file, const char *iss, const char *aud,
    const char *alg, const char *token)
{
	const char *algs[1] = { alg };
	struct pep_config cfg;
	pep_verifier *v = NULL;
	json_t *claims = NULL;
	char *s;
	int r;

	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = iss;
	cfg.audience = aud;
	cfg.algs = algs;
	cfg.nalgs = 1;
	cfg.skew = 30;
	cfg.jwks_file = jwks_file;
	if ((r = pep_verifier_new(&cfg, &v)) != 0) {
		fprintf(stderr, "verify: config: %s\n", pep_strerror(r));
		return 2;
	}
	r = pep_verify(v, token, strlen(token), cm_time(), &claims);
	if (r != 0) {
		printf("rejected: %s\n", pep_strerror(r));
		pep_verifier_free(&v);
		return 1;
	}
	if ((s = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS)) != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(claims);
	pep_verifier_free(&v);
	return 0;
}

int
main(int argc, char **argv)
{
	if (cm_init() != 0)
		return 1;
	if (argc == 4 && strcmp(argv[1], "rotate") == 0)
		return cmd_rotate(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "jwks") == 0)
		return cmd_jwks(argv[2]);
	if (argc == 5 && strcmp(argv[1], "sign") == 0)
		return cmd_sign(argv[2], argv[3], argv[4]);
	if (argc == 7 && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argv[2], argv[3], argv[4], argv[5], argv[6]);
	return usage();
}

/*
 * fuzz/fuzz_jws.c — pep_verify() and tok_jws_verify_compact() on arbitrary
 * bytes, against a fixed key set (RFC 7515 A.3 P-256 key "a3", RFC 8037
 * Ed25519 key "ed").  Seeds: fuzz/corpus/jws/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm.h"
#include "tokens/pep.h"
#include "tokens/tokens.h"

#define FUZZ_NOW	1700000000LL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_jwks[] = "{\"keys\":["
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a3\",\"alg\":\"ES256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"alg\":\"EdDSA\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";

/* Harness state, set once; the library itself keeps none. */
static pep_verifier *fuzz_v;
static tok_keyset *fuzz_ks;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const algs[] = { "ES256", "EdDSA", "Ed25519" };
	static const char *const acrs[] = { "pwd", "mfa", "hwk" };
	struct pep_config cfg;

	(void)argc;
	(void)argv;
	if (cm_init() != 0)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = "https://idp.example.com";
	cfg.audience = "https://api.example.com";
	cfg.algs = algs;
	cfg.nalgs = 3;
	cfg.skew = 60;
	cfg.acr_values = acrs;
	cfg.nacr = 3;
	cfg.min_acr = "mfa";
	if (pep_verifier_new(&cfg, &fuzz_v) != 0 ||
	    pep_verifier_set_jwks(fuzz_v, (const uint8_t *)fuzz_jwks,
	    strlen(fuzz_jwks)) != 0 ||
	    tok_keyset_parse((const uint8_t *)fuzz_jwks, strlen(fuzz_jwks),
	    &fuzz_ks) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *claims = NULL;
	uint8_t *pay = NULL;
	size_t plen = 0, i;
	int r;

	r = pep_verify(fuzz_v, (const char *)data, size, FUZZ_NOW, &claims);
	if ((r == 0) != (claims != NULL))
		abort();	/* out-parameter contract */
	json_decref(claims);
	if (r != 0 && strcmp(pep_strerror(r), "unknown error") == 0)
		abort();	/* every failure has a name */
	for (i = 0; i < tok_keyset_count(fuzz_ks); i++) {
		if (tok_jws_verify_compact(tok_keyset_get(fuzz_ks, i),
		    (const char *)data, size, &pay, &plen) == 0)
			free(pay);
		else if (pay != NULL)
			abort();
		pay = NULL;
	}
	return 0;
}

/*
 * fuzz/fuzz_jwks.c — tok_keyset_parse() and pep_verifier_set_jwks() on
 * arbitrary bytes; every key accepted is exported again (JWK, thumbprint).
 * Seeds: fuzz/corpus/jwks/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm.h"
#include "tokens/pep.h"
#include "tokens/tokens.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pep_verifier *fuzz_v;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pep_config cfg;

	(void)argc;
	(void)argv;
	if (cm_init() != 0)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = "https://idp.example.com";
	cfg.audience = "https://api.example.com";
	if (pep_verifier_new(&cfg, &fuzz_v) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tok_keyset *ks = NULL;
	const tok_key *k;
	json_t *jwk = NULL;
	char *tp = NULL;
	size_t i;

	if (tok_keyset_parse(data, size, &ks) == 0) {
		for (i = 0; i < tok_keyset_count(ks); i++) {
			k = tok_keyset_get(ks, i);
			if (tok_keyset_find(ks, tok_key_kid(k),
			    strlen(tok_key_kid(k))) != k)
				abort();
			if (tok_key_has_private(k))
				abort();	/* a JWKS is public */
			if (tok_key_to_jwk(k, &jwk) == 0)
				json_decref(jwk);
			if (tok_key_thumbprint(k, &tp) == 0)
				free(tp);
			jwk = NULL;
			tp = NULL;
		}
		tok_keyset_free(&ks);
	} else if (ks != NULL)
		abort();
	(void)pep_verifier_set_jwks(fuzz_v, data, size);
	return 0;
}

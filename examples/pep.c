/*
 * examples/pep.c — a minimal policy enforcement point with the Sekimori
 * verification library.  It checks an access token the way a service
 * would before serving a request, and prints the subject or why not.
 *
 *   pep JWKS_FILE|JWKS_URL ISSUER AUDIENCE [MIN_ACR] < token
 *
 * A JWKS URL (https://.../jwks.json) is fetched by the library's built-in
 * fetcher, verified against the system CA store or $PEP_CA_FILE, cached,
 * and refreshed (rate-limited) when a token names an unknown key.
 *
 * Build (installed library):
 *   cc -o pep pep.c -I/usr/local/include/sekimori -lsekimori-pep \
 *      $(pkg-config --libs openssl jansson libsodium)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "tokens/pep.h"

int
main(int argc, char **argv)
{
	static const char *const acrs[] = { "urn:sekimori:acr:aal1",
	    "urn:sekimori:acr:aal2", "urn:sekimori:acr:aal3" };
	struct pep_config cfg;
	pep_verifier *v = NULL;
	json_t *claims = NULL;
	char tok[PEP_TOKEN_MAX_LEN + 2];
	size_t n;
	int r;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: pep JWKS_FILE ISSUER AUDIENCE "
		    "[MIN_ACR] < token\n");
		return 2;
	}
	n = fread(tok, 1, sizeof(tok) - 1, stdin);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		n--;
	tok[n] = '\0';

	memset(&cfg, 0, sizeof(cfg));
	if (strncmp(argv[1], "https://", 8) == 0) {
		/* before any thread: libcurl's global state */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return 2;
		cfg.jwks_url = argv[1];
		cfg.fetch_arg = getenv("PEP_CA_FILE");
	} else
		cfg.jwks_file = argv[1];
	cfg.issuer = argv[2];
	cfg.audience = argv[3];
	cfg.skew = 30;
	if (argc == 5) {
		cfg.acr_values = acrs;
		cfg.nacr = 3;
		cfg.min_acr = argv[4];
	}
	if ((r = pep_verifier_new(&cfg, &v)) != 0) {
		fprintf(stderr, "pep: %s\n", pep_strerror(r));
		return 2;
	}
	/* one verifier serves every request of the process (thread-safe) */
	r = pep_verify(v, tok, n, (int64_t)time(NULL), &claims);
	if (r != 0) {
		printf("deny: %s\n", pep_strerror(r));
		pep_verifier_free(&v);
		return 1;
	}
	printf("allow: sub=%s acr=%s\n",
	    json_string_value(json_object_get(claims, "sub")),
	    json_string_value(json_object_get(claims, "acr")) ?
	    json_string_value(json_object_get(claims, "acr")) : "-");
	json_decref(claims);
	pep_verifier_free(&v);
	return 0;
}

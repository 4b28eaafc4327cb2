/* libFuzzer target: the stored proofing record parser (prf_record_parse)
 * and, for whatever parses, the JSON round trip and verified_claims. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proofing/proofing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prf_record r, again;
	json_t *req, *vc = NULL;
	char *s = NULL;

	if (prf_record_parse(data, size, &r) != 0)
		return 0;
	/* what parses is valid and survives a round trip unchanged */
	if (prf_record_to_json(&r, &s) != 0 ||
	    prf_record_parse((const uint8_t *)s, strlen(s), &again) != 0 ||
	    memcmp(&r, &again, sizeof(r)) != 0)
		__builtin_trap();
	free(s);
	req = json_pack("{s:{s:n, s:n, s:n, s:n}, s:{s:n, s:n, s:n}}",
	    "verification", "trust_framework", "assurance_level", "time",
	    "evidence", "claims", "name", "birthdate", "address");
	if (r.kind == PRF_KIND_PERSON && prf_verified_claims(&r, req,
	    r.time, &vc) != 0)
		__builtin_trap();
	json_decref(vc);
	json_decref(req);
	return 0;
}

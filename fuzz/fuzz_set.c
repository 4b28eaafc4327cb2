/* libFuzzer target: Security Event Token parsing (idp/idp.h), the part of
 * the Shared Signals receiver that reads untrusted bytes: decode, then the
 * claims checks on whatever decoded (as if its signature had verified). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "idp/idp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idp_set_info si;
	json_t *h = NULL, *p = NULL;
	const char *why = NULL;

	if (idp_set_decode((const char *)data, size, &h, &p) == 0) {
		if (idp_set_check(p, "https://idp.example", "https://idp.example",
		    1800000000, &si, &why) == CM_E_OK && si.event == NULL)
			__builtin_trap();	/* success must name the event */
		json_decref(h);
		json_decref(p);
	}
	return 0;
}

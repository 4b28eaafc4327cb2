/* libFuzzer target: the form parser (request bodies from the network). */
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct brk_form *f = NULL;
	const char *v;

	if (brk_form_parse(data, size, &f) == 0) {
		if (brk_form_get(f, "grant_type", &v) == 0 && v == NULL)
			return 0;
		if (brk_form_get(f, "code", &v) == 0 && v == NULL)
			return 0;
		brk_form_free(&f);
	}
	(void)brk_utf8_valid(data, size);
	return 0;
}

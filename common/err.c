/* common/err.c — internal error codes and library initialisation. */
#include <sodium.h>
#include <openssl/crypto.h>

#include "cm.h"

static const char *const cm_errstr[] = {
	"success",
	"internal error",
	"out of memory",
	"invalid input",
	"value out of range",
	"not found",
	"already exists",
	"input/output error",
	"cryptographic failure",
	"service unavailable",
	"timed out",
	"access denied",
	"conflicting update",
	"locked",
	"expired",
	"disabled",
	"refused by policy",
	"not supported",
};

const char *
cm_strerror(int r)
{
	size_t i;

	if (r > 0)
		return "unknown error";
	i = (size_t)-r;
	if (i < sizeof(cm_errstr) / sizeof(cm_errstr[0]))
		return cm_errstr[i];
	return "unknown error";
}

int
cm_init(void)
{
	if (sodium_init() < 0)
		return CM_ERR_INTERNAL;
	if (OPENSSL_init_crypto(0, NULL) != 1)
		return CM_ERR_CRYPTO;
	return 0;
}

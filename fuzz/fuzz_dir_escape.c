/*
 * libFuzzer target: the directory's escaping functions (RFC 4515 filter
 * values, RFC 4514 DN values), the identifier rule and password
 * normalisation.  Properties checked, not just crashes:
 *  - an escaped filter value holds no '(' ')' '*' or NUL, and unescaping
 *    its \XX pairs gives the input back;
 *  - "uid=<escaped>,dc=test" parses as exactly two RDNs whose first value
 *    is the input, byte for byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldap.h>

#include "directory/directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
check_filter(const char *in, size_t len)
{
	char *out = NULL, *dec;
	size_t n = 0;

	if (dir_escape_filter(in, len, &out) != 0)
		return;
	if (strpbrk(out, "()*") != NULL)
		abort();
	if ((dec = malloc(strlen(out) + 1)) == NULL)
		abort();
	for (const char *s = out; *s != '\0'; s++) {
		if (*s == '\\') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (hi < 0 || lo < 0)
				abort();	/* RFC 4515: \ is always \XX */
			dec[n++] = (char)(hi * 16 + lo);
			s += 2;
		} else
			dec[n++] = *s;
	}
	if (n != len || memcmp(dec, in, len) != 0)
		abort();
	free(dec);
	free(out);
}

static void
check_dn(const char *in, size_t len)
{
	char *esc = NULL, *dn;
	size_t dnlen;
	LDAPDN ldn = NULL;

	if (len == 0 || dir_escape_dn(in, len, &esc) != 0)
		return;
	dnlen = strlen(esc) + 16;
	if ((dn = malloc(dnlen)) == NULL)
		abort();
	snprintf(dn, dnlen, "uid=%s,dc=test", esc);
	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL || ldn[0] == NULL || ldn[1] == NULL || ldn[2] != NULL ||
	    ldn[0][0] == NULL || ldn[0][1] != NULL ||
	    ldn[0][0]->la_value.bv_len != len ||
	    memcmp(ldn[0][0]->la_value.bv_val, in, len) != 0)
		abort();
	ldap_dnfree(ldn);
	free(dn);
	free(esc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *norm = NULL, *name;
	size_t nlen = 0, ncp = 0;

	if (size > 4096)
		return 0;
	check_filter(in, size);
	check_dn(in, size);
	if (dir_password_normalize(in, size, &norm, &nlen, &ncp) == 0) {
		if (ncp == 0 || ncp > nlen || memchr(norm, '\0', nlen) != NULL)
			abort();
		cm_freezero(norm, nlen + 1);
	}
	if ((name = malloc(size + 1)) != NULL) {
		memcpy(name, data, size);
		name[size] = '\0';
		if (dir_name_check(name) == 0 && strpbrk(name,
		    "()*\\,=+<>;\"# ") != NULL)
			abort();
		free(name);
	}
	return 0;
}

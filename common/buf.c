/* common/buf.c — growable buffer with a hard maximum. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cm.h"

void
cm_buf_init(struct cm_buf *b, size_t max, int secret)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->secret = secret;
}

static int
cm_buf_reserve(struct cm_buf *b, size_t need)
{
	size_t ncap;
	uint8_t *n;

	if (need <= b->cap)
		return 0;
	if (need > b->max + 1)	/* +1 for an optional NUL */
		return CM_ERR_RANGE;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (b->secret) {
		/* never leave a copy of a secret behind in freed memory */
		if ((n = malloc(ncap)) == NULL)
			return CM_ERR_NOMEM;
		if (b->len)
			memcpy(n, b->data, b->len);
		cm_freezero(b->data, b->cap);
	} else if ((n = realloc(b->data, ncap)) == NULL)
		return CM_ERR_NOMEM;
	b->data = n;
	b->cap = ncap;
	return 0;
}

int
cm_buf_append(struct cm_buf *b, const void *p, size_t n)
{
	int r;

	if (n > b->max || b->len > b->max - n)
		return CM_ERR_RANGE;
	if ((r = cm_buf_reserve(b, b->len + n)) != 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
cm_buf_appendf(struct cm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CM_ERR_INTERNAL;
	if ((size_t)n > b->max || b->len > b->max - (size_t)n)
		return CM_ERR_RANGE;
	if ((r = cm_buf_reserve(b, b->len + (size_t)n + 1)) != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int
cm_buf_cstr(struct cm_buf *b)
{
	int r;

	if ((r = cm_buf_reserve(b, b->len + 1)) != 0)
		return r;
	b->data[b->len] = '\0';
	return 0;
}

void
cm_buf_free(struct cm_buf *b)
{
	if (b->secret)
		cm_freezero(b->data, b->cap);
	else
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

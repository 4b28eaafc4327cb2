/*
 * broker/form.c — application/x-www-form-urlencoded bodies (HTML forms,
 * OAuth token/introspection/revocation requests), cookies, and HTML
 * escaping.  Strict: a malformed percent escape, a NUL, a value that is
 * not UTF-8 or more than BRK_FORM_MAX_FIELDS fields is an error; a field
 * given twice is reported to the caller that asks for it (RFC 6749 §3.1).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "broker.h"

struct brk_form {
	size_t	 n;
	struct { char *k, *v; size_t vlen; } f[BRK_FORM_MAX_FIELDS];
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3629 well-formedness (no overlongs, no surrogates, <= U+10FFFF). */
int
brk_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			if (c == 0)
				return 0;
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1; cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2; cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3; cp = c & 0x07;
		} else
			return 0;
		if (len - i <= n)	/* needs n continuation bytes */
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Decode one component into a new NUL-terminated string. */
int
brk_urldecode(const char *p, size_t len, char **out, size_t *outlen)
{
	char *d;
	size_t i, j = 0;
	int hi, lo;

	*out = NULL;
	if ((d = malloc(len + 1)) == NULL)
		return CM_ERR_NOMEM;
	for (i = 0; i < len; i++) {
		if (p[i] == '+')
			d[j++] = ' ';
		else if (p[i] == '%') {
			if (i + 2 >= len) {	/* "%" or "%4" at the end */
				cm_freezero(d, len + 1);
				return CM_ERR_INVAL;
			}
			if ((hi = hexval((unsigned char)p[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)p[i + 2])) < 0) {
				cm_freezero(d, len + 1);
				return CM_ERR_INVAL;
			}
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			d[j++] = p[i];
	}
	d[j] = '\0';
	if (!brk_utf8_valid((const uint8_t *)d, j)) {
		cm_freezero(d, len + 1);
		return CM_ERR_INVAL;
	}
	*out = d;
	*outlen = j;
	return 0;
}

void
brk_form_free(struct brk_form **fp)
{
	struct brk_form *f;
	size_t i;

	if (fp == NULL || (f = *fp) == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		cm_strfree(&f->f[i].k);
		if (f->f[i].v != NULL)
			cm_freezero(f->f[i].v, f->f[i].vlen);	/* passwords */
	}
	free(f);
	*fp = NULL;
}

int
brk_form_parse(const uint8_t *p, size_t len, struct brk_form **out)
{
	struct brk_form *f;
	const char *s = (const char *)p, *end = s + len, *amp, *eq;
	size_t klen;
	int r = CM_ERR_INVAL;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return CM_ERR_NOMEM;
	if (memchr(p, '\0', len) != NULL)
		goto out;
	while (s < end) {
		if ((amp = memchr(s, '&', (size_t)(end - s))) == NULL)
			amp = end;
		if (amp == s) {		/* empty field: "a=1&&b=2" */
			s++;
			continue;
		}
		if (f->n >= BRK_FORM_MAX_FIELDS) {
			r = CM_ERR_RANGE;
			goto out;
		}
		if ((eq = memchr(s, '=', (size_t)(amp - s))) == NULL)
			eq = amp;
		klen = (size_t)(eq - s);
		if (klen == 0) {
			r = CM_ERR_INVAL;	/* "=v": a value without a name */
			goto out;
		}
		if ((r = brk_urldecode(s, klen, &f->f[f->n].k, &f->f[f->n].vlen)) != 0)
			goto out;
		if (eq == amp)
			r = brk_urldecode("", 0, &f->f[f->n].v, &f->f[f->n].vlen);
		else
			r = brk_urldecode(eq + 1, (size_t)(amp - eq - 1),
			    &f->f[f->n].v, &f->f[f->n].vlen);
		if (r != 0) {
			cm_strfree(&f->f[f->n].k);
			goto out;
		}
		f->n++;
		s = amp + 1;
	}
	*out = f;
	f = NULL;
	r = 0;
 out:
	brk_form_free(&f);
	return r;
}

int
brk_form_get(const struct brk_form *f, const char *name, const char **out)
{
	size_t i;
	int count = 0;

	*out = NULL;
	for (i = 0; i < f->n; i++) {
		if (strcmp(f->f[i].k, name) == 0) {
			if (count++ == 0)
				*out = f->f[i].v;
		}
	}
	if (count == 0)
		return CM_ERR_NOTFOUND;
	if (count > 1) {
		*out = NULL;
		return CM_ERR_INVAL;
	}
	return 0;
}

int
brk_req_form(struct brk_req *r, struct brk_form **out)
{
	const char *ct = brk_req_header(r, "Content-Type");
	const uint8_t *body;
	size_t len, n;

	*out = NULL;
	if (ct == NULL)
		return CM_ERR_UNSUPPORTED;
	n = strcspn(ct, ";");
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	if (n != strlen("application/x-www-form-urlencoded") ||
	    strncasecmp(ct, "application/x-www-form-urlencoded", n) != 0)
		return CM_ERR_UNSUPPORTED;
	body = brk_req_body(r, &len);
	return brk_form_parse(body ? body : (const uint8_t *)"", len, out);
}

int
brk_html_escape(struct cm_buf *b, const char *s)
{
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		switch (*s) {
		case '&':  r = cm_buf_append(b, "&amp;", 5); break;
		case '<':  r = cm_buf_append(b, "&lt;", 4); break;
		case '>':  r = cm_buf_append(b, "&gt;", 4); break;
		case '"':  r = cm_buf_append(b, "&quot;", 6); break;
		case '\'': r = cm_buf_append(b, "&#39;", 5); break;
		default:   r = cm_buf_append(b, s, 1); break;
		}
	}
	return r;
}

/*
 * directory/dir_escape.c — the one place where values enter LDAP filters
 * (RFC 4515) and DNs (RFC 4514), plus the identifier rule for names we
 * create.
 */
#include <stdlib.h>
#include <string.h>

#include <lber.h>
#include <ldap.h>
#include <unistr.h>

#include "dir_private.h"

#define DIR_ESC_MAX_IN	(DIR_VALUE_MAX * 64)

int
dir_escape_filter(const char *in, size_t len, char **out)
{
	struct berval src, dst = { 0, NULL };
	char *s = NULL;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if (in == NULL && len != 0)
		return CM_ERR_INVAL;
	if (len > DIR_ESC_MAX_IN)
		return CM_ERR_RANGE;
	src.bv_len = len;
	src.bv_val = (char *)(uintptr_t)in;	/* libldap does not write it */
	if (len == 0) {
		/* an empty assertion value is legal and matches only "" */
		if ((s = strdup("")) == NULL)
			return CM_ERR_NOMEM;
		*out = s;
		return 0;
	}
	if (ldap_bv2escaped_filter_value(&src, &dst) != 0) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((s = malloc(dst.bv_len + 1)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	memcpy(s, dst.bv_val, dst.bv_len);
	s[dst.bv_len] = '\0';
	/* defence in depth: the escaped form must hold no special byte */
	for (size_t i = 0; i < dst.bv_len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '(' || ch == ')' || ch == '*' || ch == '\0') {
			r = CM_ERR_INTERNAL;
			goto out;
		}
	}
	*out = s;
	s = NULL;	/* transferred */
	r = 0;
 out:
	free(s);
	if (dst.bv_val != NULL)
		ber_memfree(dst.bv_val);
	return r;
}

int
dir_escape_dn(const char *in, size_t len, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	char *s, *w;

	*out = NULL;
	if (in == NULL && len != 0)
		return CM_ERR_INVAL;
	if (len > DIR_ESC_MAX_IN)
		return CM_ERR_RANGE;
	if ((s = malloc(len * 3 + 1)) == NULL)
		return CM_ERR_NOMEM;
	w = s;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch < 0x20 || ch >= 0x7f) {
			/* NUL, controls and every non-ASCII byte as \XX
			 * (RFC 4514 hexpair): always valid, never ambiguous */
			*w++ = '\\';
			*w++ = hex[ch >> 4];
			*w++ = hex[ch & 0xf];
		} else if (ch == '"' || ch == '+' || ch == ',' || ch == ';' ||
		    ch == '<' || ch == '>' || ch == '\\' || ch == '=' ||
		    (ch == '#' && i == 0) ||
		    (ch == ' ' && (i == 0 || i == len - 1))) {
			*w++ = '\\';
			*w++ = (char)ch;
		} else
			*w++ = (char)ch;
	}
	*w = '\0';
	*out = s;
	return 0;
}

int
dir_name_check(const char *name)
{
	size_t n;

	if (name == NULL)
		return CM_ERR_INVAL;
	n = strlen(name);
	if (n == 0 || n > DIR_NAME_MAX)
		return CM_ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (i == 0 && !alnum)
			return CM_ERR_INVAL;
		if (!alnum && ch != '.' && ch != '_' && ch != '-')
			return CM_ERR_INVAL;
	}
	return 0;
}

int
dir_text_check(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return CM_ERR_INVAL;
	n = strlen(s);
	if (n == 0 || n > max)
		return CM_ERR_INVAL;
	if (u8_check((const uint8_t *)s, n) != NULL)
		return CM_ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			return CM_ERR_INVAL;
	}
	return 0;
}

void
dir_modset_init(struct dir_modset *ms)
{
	memset(ms, 0, sizeof(*ms));
}

int
dir_modset_add(struct dir_modset *ms, int op, const char *attr,
    const char *const *vals)
{
	size_t nv = 0;
	LDAPMod *m;

	if (ms->n >= DIR_MODS_MAX)
		return CM_ERR_RANGE;
	if (vals != NULL)
		for (; vals[nv] != NULL; nv++)
			if (nv >= DIR_SCOPES_MAX)
				return CM_ERR_RANGE;
	m = &ms->mods[ms->n];
	m->mod_op = op;
	m->mod_type = (char *)(uintptr_t)attr;
	for (size_t i = 0; i < nv; i++)
		ms->vals[ms->n][i] = (char *)(uintptr_t)vals[i];
	ms->vals[ms->n][nv] = NULL;
	m->mod_values = vals != NULL ? ms->vals[ms->n] : NULL;
	ms->ptrs[ms->n] = m;
	ms->n++;
	ms->ptrs[ms->n] = NULL;
	return 0;
}

int
dir_modset_add1(struct dir_modset *ms, int op, const char *attr,
    const char *val)
{
	const char *v[2] = { val, NULL };

	return dir_modset_add(ms, op, attr, val != NULL ? v : NULL);
}

LDAPMod **
dir_modset_get(struct dir_modset *ms)
{
	ms->ptrs[ms->n] = NULL;
	return ms->ptrs;
}

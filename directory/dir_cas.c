/* directory/dir_cas.c — compare-and-swap on one attribute value. */
#include <string.h>

#include "dir_private.h"

static int
check_attr_name(const char *a)
{
	size_t n;

	if (a == NULL || (n = strlen(a)) == 0 || n > 64)
		return CM_ERR_INVAL;
	if (!((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z')))
		return CM_ERR_INVAL;
	for (size_t i = 1; i < n; i++) {
		char ch = a[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-'))
			return CM_ERR_INVAL;
	}
	return 0;
}

int
dir_cas_attr(struct dir_pool *p, const char *dn, const char *attr,
    const char *old, const char *new_value)
{
	struct dir_modset ms;
	int r, ldrc = LDAP_SUCCESS;

	if (p == NULL || dn == NULL || check_attr_name(attr) != 0 ||
	    (old == NULL && new_value == NULL))
		return CM_ERR_INVAL;
	if ((old != NULL && strlen(old) > DIR_VALUE_MAX) ||
	    (new_value != NULL && strlen(new_value) > DIR_VALUE_MAX))
		return CM_ERR_RANGE;
	if (!dir_dn_under(dn, p->cfg.base_dn))
		return CM_ERR_INVAL;
	/*
	 * One modify request: "delete old" fails with noSuchAttribute when
	 * another node already replaced it, and the whole request is then
	 * rejected (RFC 4511 §4.6: modifications are applied atomically).
	 * "add" on an attribute that must be absent fails with
	 * typeOrValueExists or, single-valued, constraintViolation.
	 */
	dir_modset_init(&ms);
	if (old != NULL &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_DELETE, attr, old)) != 0)
		return r;
	if (new_value != NULL &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, attr, new_value)) != 0)
		return r;
	r = dir_modify(p, dn, dir_modset_get(&ms), &ldrc);
	switch (ldrc) {
	case LDAP_SUCCESS:
		break;
	case LDAP_NO_SUCH_ATTRIBUTE:
	case LDAP_TYPE_OR_VALUE_EXISTS:
		r = CM_ERR_CONFLICT;
		break;
	case LDAP_CONSTRAINT_VIOLATION:
		r = old == NULL ? CM_ERR_CONFLICT : CM_ERR_INVAL;
		break;
	case LDAP_NO_SUCH_OBJECT:
		r = CM_ERR_NOTFOUND;
		break;
	default:
		break;
	}
	return r;
}

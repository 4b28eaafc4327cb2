/* directory/dir_user.c — users under ou=people. */
#include <stdlib.h>
#include <string.h>

#include "dir_private.h"

#define DIR_NAME_TEXT_MAX	256
#define DIR_MAIL_MAX		254

static const char *const user_attrs[] = {
	"uid", "cn", "mail", "skmStaffId", "skmAffiliation",
	"skmAccountStatus", "pwdAccountLockedTime", "createTimestamp", NULL
};

void
dir_user_free(struct dir_user **up)
{
	struct dir_user *u;

	if (up == NULL || (u = *up) == NULL)
		return;
	free(u->dn);
	free(u->uid);
	free(u->name);
	free(u->mail);
	free(u->staff_id);
	free(u->affiliation);
	free(u->created);
	free(u);
	*up = NULL;
}

void
dir_user_list_free(struct dir_user ***vp, size_t n)
{
	if (vp == NULL || *vp == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dir_user_free(&(*vp)[i]);
	free(*vp);
	*vp = NULL;
}

static int
user_from_entry(const struct dir_entry *e, struct dir_user **out)
{
	struct dir_user *u = NULL;
	char *st = NULL;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return CM_ERR_NOMEM;
	if ((u->dn = strdup(e->dn)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = dir_entry_str(e, "uid", &u->uid)) != 0 ||
	    (r = dir_entry_str(e, "cn", &u->name)) != 0 ||
	    (r = dir_entry_str(e, "mail", &u->mail)) != 0 ||
	    (r = dir_entry_str(e, "skmStaffId", &u->staff_id)) != 0 ||
	    (r = dir_entry_str(e, "skmAffiliation", &u->affiliation)) != 0 ||
	    (r = dir_entry_str(e, "createTimestamp", &u->created)) != 0 ||
	    (r = dir_entry_str(e, "skmAccountStatus", &st)) != 0)
		goto out;
	if (u->uid == NULL || u->name == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	/* fail closed: a missing or unknown status is "disabled" */
	if (st == NULL || dir_status_parse(st, &u->status) != 0)
		u->status = DIR_STATUS_DISABLED;
	u->locked = dir_entry_vals(e, "pwdAccountLockedTime") != NULL;
	*out = u;
	u = NULL;	/* transferred */
	r = 0;
 out:
	free(st);
	dir_user_free(&u);
	return r;
}

int
dir_user_find(struct dir_pool *p, const char *uid, struct dir_user **out)
{
	struct dir_result res;
	int r;

	*out = NULL;
	/* only names we could have created exist (LDAP matching would also
	 * find "demo" for " demo": insignificant spaces) */
	if (dir_name_check(uid) != 0)
		return CM_ERR_NOTFOUND;
	if ((r = dir_find_one(p, p->people_dn, "inetOrgPerson", "uid", uid,
	    user_attrs, &res)) != 0)
		return r;
	r = user_from_entry(&res.v[0], out);
	dir_result_clear(&res);
	return r;
}

int
dir_user_find_dn(struct dir_pool *p, const char *dn, struct dir_user **out)
{
	struct dir_result res;
	char *uid = NULL;
	int r;

	*out = NULL;
	/* only DNs of the form uid=...,ou=people,<base> */
	if (dn == NULL || dir_dn_child_value(dn, "uid", p->people_dn,
	    &uid) != 0)
		return CM_ERR_NOTFOUND;
	free(uid);
	if ((r = dir_search(p, dn, LDAP_SCOPE_BASE,
	    "(objectClass=inetOrgPerson)", user_attrs, 1, &res)) != 0)
		return r;
	if (res.n != 1)
		r = CM_ERR_NOTFOUND;
	else
		r = user_from_entry(&res.v[0], out);
	dir_result_clear(&res);
	return r;
}

static int
cmp_user(const void *a, const void *b)
{
	const struct dir_user *x = *(struct dir_user *const *)a;
	const struct dir_user *y = *(struct dir_user *const *)b;

	return strcmp(x->uid, y->uid);
}

int
dir_user_list(struct dir_pool *p, struct dir_user ***out, size_t *n)
{
	struct dir_result res;
	struct dir_user **v = NULL;
	size_t k = 0;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	*n = 0;
	if ((r = dir_search(p, p->people_dn, LDAP_SCOPE_ONELEVEL,
	    "(objectClass=inetOrgPerson)", user_attrs, DIR_SEARCH_MAX,
	    &res)) != 0)
		return r;
	if (res.n > 0 && (v = calloc(res.n, sizeof(*v))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < res.n; i++) {
		if ((r = user_from_entry(&res.v[i], &v[k])) != 0)
			goto out;
		k++;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_user);
	*out = v;
	*n = k;
	v = NULL;	/* transferred */
	r = 0;
 out:
	dir_user_list_free(&v, k);
	dir_result_clear(&res);
	return r;
}

static int
check_mail(const char *mail)
{
	const char *at;

	if (dir_text_check(mail, DIR_MAIL_MAX) != 0)
		return CM_ERR_INVAL;
	at = strchr(mail, '@');
	if (at == NULL || at == mail || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strchr(mail, ' ') != NULL)
		return CM_ERR_INVAL;
	return 0;
}

static int
check_affiliation(const char *a)
{
	if (a == NULL)
		return 0;
	if (strcmp(a, "staff") == 0 || strcmp(a, "contractor") == 0 ||
	    strcmp(a, "external") == 0)
		return 0;
	return CM_ERR_INVAL;
}

int
dir_user_add(struct dir_pool *p, const struct dir_user_new *u)
{
	static const char *const ocs[] = {
		"inetOrgPerson", "skmAccount", "skmStaff", NULL
	};
	struct dir_modset ms;
	char dn[DIR_MAX_DN], now[16], *sn = NULL, *given = NULL;
	const char *sp;
	int r = CM_ERR_INTERNAL;

	if (u == NULL || dir_name_check(u->uid) != 0 ||
	    dir_text_check(u->name, DIR_NAME_TEXT_MAX) != 0 ||
	    (u->mail != NULL && check_mail(u->mail) != 0) ||
	    (u->staff_id != NULL && dir_text_check(u->staff_id, 64) != 0) ||
	    check_affiliation(u->affiliation) != 0)
		return CM_ERR_INVAL;
	/* sn is mandatory in inetOrgPerson: the last word of the name */
	sp = strrchr(u->name, ' ');
	if ((sn = strdup(sp != NULL && sp[1] != '\0' ? sp + 1 : u->name)) ==
	    NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (sp != NULL && (given = strndup(u->name,
	    (size_t)(strchr(u->name, ' ') - u->name))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = dir_make_dn(dn, sizeof(dn), "uid", u->uid,
	    p->people_dn)) != 0)
		goto out;
	dir_gentime(now);
	dir_modset_init(&ms);
	if ((r = dir_modset_add(&ms, LDAP_MOD_ADD, "objectClass", ocs)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "uid", u->uid)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "cn", u->name)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "displayName",
	    u->name)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "sn", sn)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAccountStatus",
	    "active")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmCreatedAt", now)) != 0)
		goto out;
	if ((given != NULL && given[0] != '\0' &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "givenName", given)) != 0) ||
	    (u->mail != NULL &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "mail", u->mail)) != 0) ||
	    (u->staff_id != NULL &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmStaffId",
	    u->staff_id)) != 0) ||
	    (u->affiliation != NULL &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAffiliation",
	    u->affiliation)) != 0))
		goto out;
	if ((r = dir_add(p, dn, dir_modset_get(&ms), NULL)) != 0)
		goto out;
	cm_info(NULL, "dir.user_added", "{s:s}", "uid", u->uid);
	r = 0;
 out:
	free(sn);
	free(given);
	return r;
}

int
dir_user_modify(struct dir_pool *p, const char *uid,
    const struct dir_user_new *c)
{
	struct dir_user *u = NULL;
	struct dir_modset ms;
	int r = CM_ERR_INTERNAL;

	if (c == NULL || (c->name != NULL &&
	    dir_text_check(c->name, DIR_NAME_TEXT_MAX) != 0) ||
	    (c->mail != NULL && check_mail(c->mail) != 0) ||
	    (c->staff_id != NULL && dir_text_check(c->staff_id, 64) != 0) ||
	    check_affiliation(c->affiliation) != 0)
		return CM_ERR_INVAL;
	if ((r = dir_user_find(p, uid, &u)) != 0)
		return r;
	dir_modset_init(&ms);
	if ((c->name != NULL &&
	    ((r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "cn", c->name)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "displayName",
	    c->name)) != 0)) ||
	    (c->mail != NULL &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "mail", c->mail)) != 0) ||
	    (c->staff_id != NULL &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmStaffId",
	    c->staff_id)) != 0) ||
	    (c->affiliation != NULL &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmAffiliation",
	    c->affiliation)) != 0))
		goto out;
	if (ms.n == 0) {
		r = 0;
		goto out;
	}
	r = dir_modify(p, u->dn, dir_modset_get(&ms), NULL);
 out:
	dir_user_free(&u);
	return r;
}

int
dir_user_set_status(struct dir_pool *p, const char *uid, enum dir_status s)
{
	struct dir_user *u = NULL;
	struct dir_modset ms;
	int r;

	if ((r = dir_user_find(p, uid, &u)) != 0)
		return r;
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmAccountStatus",
	    dir_status_str(s))) == 0 &&
	    (r = dir_modify(p, u->dn, dir_modset_get(&ms), NULL)) == 0)
		cm_info(NULL, "dir.user_status", "{s:s,s:s}", "uid", u->uid,
		    "status", dir_status_str(s));
	dir_user_free(&u);
	return r;
}

int
dir_user_unlock(struct dir_pool *p, const char *uid)
{
	/* pwdFailureTime is NO-USER-MODIFICATION (only the relax control
	 * with manage access could remove it); a successful bind clears it */
	static const char *const attrs[] = { "pwdAccountLockedTime" };
	struct dir_user *u = NULL;
	int r, ldrc;

	if ((r = dir_user_find(p, uid, &u)) != 0)
		return r;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		struct dir_modset ms;

		dir_modset_init(&ms);
		if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE, attrs[i],
		    NULL)) != 0)
			break;
		r = dir_modify(p, u->dn, dir_modset_get(&ms), &ldrc);
		if (r != 0 && ldrc == LDAP_NO_SUCH_ATTRIBUTE)
			r = 0;	/* was not locked */
		if (r != 0)
			break;
	}
	dir_user_free(&u);
	return r;
}

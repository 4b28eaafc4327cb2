/* directory/dir_group.c — groups under ou=groups (groupOfNames).
 *
 * groupOfNames requires at least one member; every group we create holds
 * the empty DN as a placeholder member, so removing the last real member
 * never violates the schema.  The placeholder is never reported. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dir_private.h"

static const char *const group_attrs[] = {
	"cn", "description", "member", NULL
};

void
dir_group_free(struct dir_group **gp)
{
	struct dir_group *g;

	if (gp == NULL || (g = *gp) == NULL)
		return;
	for (size_t i = 0; i < g->nmembers; i++) {
		free(g->members[i].name);
		free(g->members[i].dn);
	}
	free(g->members);
	free(g->dn);
	free(g->name);
	free(g->description);
	free(g);
	*gp = NULL;
}

void
dir_names_free(char ***np, size_t n)
{
	if (np == NULL || *np == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*np)[i]);
	free(*np);
	*np = NULL;
}

static int
classify(struct dir_pool *p, const char *dn, struct dir_member *m)
{
	char *v = NULL;

	memset(m, 0, sizeof(*m));
	if ((m->dn = strdup(dn)) == NULL)
		return CM_ERR_NOMEM;
	if (dir_dn_child_value(dn, "uid", p->people_dn, &v) == 0)
		m->kind = DIR_MEMBER_USER;
	else if (dir_dn_child_value(dn, "cn", p->groups_dn, &v) == 0)
		m->kind = DIR_MEMBER_GROUP;
	else
		m->kind = DIR_MEMBER_OTHER;
	m->name = v;
	return 0;
}

int
dir_group_find(struct dir_pool *p, const char *name, struct dir_group **out)
{
	struct dir_result res;
	struct dir_group *g = NULL;
	struct berval **mv;
	size_t nv = 0;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if (dir_name_check(name) != 0)
		return CM_ERR_NOTFOUND;
	if ((r = dir_find_one(p, p->groups_dn, "groupOfNames", "cn", name,
	    group_attrs, &res)) != 0)
		return r;
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((g->dn = strdup(res.v[0].dn)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = dir_entry_str(&res.v[0], "description",
	    &g->description)) != 0)
		goto out;
	/* the name is the RDN value (cn may have several values) */
	if ((r = dir_dn_child_value(g->dn, "cn", p->groups_dn,
	    &g->name)) != 0)
		goto out;
	mv = dir_entry_vals(&res.v[0], "member");
	for (nv = 0; mv != NULL && mv[nv] != NULL; nv++)
		;
	if (nv > 0 && (g->members = calloc(nv, sizeof(*g->members))) ==
	    NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nv; i++) {
		char *dn;

		if (mv[i]->bv_len == 0)
			continue;	/* the placeholder */
		if (memchr(mv[i]->bv_val, '\0', mv[i]->bv_len) != NULL)
			continue;
		if ((dn = strndup(mv[i]->bv_val, mv[i]->bv_len)) == NULL) {
			r = CM_ERR_NOMEM;
			goto out;
		}
		r = classify(p, dn, &g->members[g->nmembers]);
		free(dn);
		if (r != 0)
			goto out;
		g->nmembers++;
	}
	*out = g;
	g = NULL;	/* transferred */
	r = 0;
 out:
	dir_group_free(&g);
	dir_result_clear(&res);
	return r;
}

int
dir_group_add(struct dir_pool *p, const char *name, const char *description)
{
	static const char *const ocs[] = { "groupOfNames", NULL };
	struct dir_modset ms;
	char dn[DIR_MAX_DN];
	int r;

	if (dir_name_check(name) != 0 || (description != NULL &&
	    dir_text_check(description, DIR_VALUE_MAX) != 0))
		return CM_ERR_INVAL;
	if ((r = dir_make_dn(dn, sizeof(dn), "cn", name, p->groups_dn)) != 0)
		return r;
	dir_modset_init(&ms);
	if ((r = dir_modset_add(&ms, LDAP_MOD_ADD, "objectClass", ocs)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "cn", name)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "member", "")) != 0 ||
	    (description != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "description", description)) != 0))
		return r;
	if ((r = dir_add(p, dn, dir_modset_get(&ms), NULL)) == 0)
		cm_info(NULL, "dir.group_added", "{s:s}", "group", name);
	return r;
}

/* DN of an existing member (user or group). */
static int
member_dn(struct dir_pool *p, enum dir_member_kind kind, const char *name,
    char *dn, size_t dnlen)
{
	static const char *const attrs[] = { "1.1", NULL };
	struct dir_result res;
	int r;

	if (kind == DIR_MEMBER_USER)
		r = dir_find_one(p, p->people_dn, "inetOrgPerson", "uid", name,
		    attrs, &res);
	else if (kind == DIR_MEMBER_GROUP)
		r = dir_find_one(p, p->groups_dn, "groupOfNames", "cn", name,
		    attrs, &res);
	else
		return CM_ERR_INVAL;
	if (r != 0)
		return r;
	r = dir_fmt(dn, dnlen, "%s", res.v[0].dn);
	dir_result_clear(&res);
	return r;
}

static int
member_change(struct dir_pool *p, const char *group,
    enum dir_member_kind kind, const char *name, int op)
{
	struct dir_group *g = NULL;
	struct dir_modset ms;
	char mdn[DIR_MAX_DN];
	int r, ldrc = LDAP_SUCCESS;

	if ((r = dir_group_find(p, group, &g)) != 0)
		return r;
	if ((r = member_dn(p, kind, name, mdn, sizeof(mdn))) != 0) {
		if (r == CM_ERR_NOTFOUND && op == LDAP_MOD_DELETE)
			r = CM_ERR_NOTFOUND;
		goto out;
	}
	if (kind == DIR_MEMBER_GROUP && strcmp(g->name, name) == 0) {
		r = CM_ERR_INVAL;	/* a group cannot contain itself */
		goto out;
	}
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, op, "member", mdn)) != 0)
		goto out;
	r = dir_modify(p, g->dn, dir_modset_get(&ms), &ldrc);
	if (ldrc == LDAP_TYPE_OR_VALUE_EXISTS)
		r = CM_ERR_EXISTS;
	else if (ldrc == LDAP_NO_SUCH_ATTRIBUTE)
		r = CM_ERR_NOTFOUND;
	if (r == 0)
		cm_info(NULL, op == LDAP_MOD_ADD ? "dir.group_member_added" :
		    "dir.group_member_removed", "{s:s,s:s}", "group", g->name,
		    "member", name);
 out:
	dir_group_free(&g);
	return r;
}

int
dir_group_member_add(struct dir_pool *p, const char *group,
    enum dir_member_kind kind, const char *name)
{
	return member_change(p, group, kind, name, LDAP_MOD_ADD);
}

int
dir_group_member_remove(struct dir_pool *p, const char *group,
    enum dir_member_kind kind, const char *name)
{
	return member_change(p, group, kind, name, LDAP_MOD_DELETE);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Groups (DNs) that have dn as a direct member. */
static int
groups_of(struct dir_pool *p, const char *dn, struct dir_result *res)
{
	static const char *const attrs[] = { "1.1", NULL };
	char filter[DIR_MAX_DN * 3 + 64], *esc = NULL;
	int r;

	if ((r = dir_escape_filter(dn, strlen(dn), &esc)) != 0)
		return r;
	r = dir_fmt(filter, sizeof(filter), "(&(objectClass=groupOfNames)"
	    "(member=%s))", esc);
	free(esc);
	if (r != 0)
		return r;
	return dir_search(p, p->groups_dn, LDAP_SCOPE_ONELEVEL, filter, attrs,
	    DIR_GROUP_MAX_RESULT, res);
}

int
dir_user_groups(struct dir_pool *p, const char *uid, int nested,
    char ***names, size_t *n)
{
	struct dir_user *u = NULL;
	char **dns = NULL, **out = NULL;
	size_t ndns = 0, head = 0, depth_end, depth = 0, nout = 0;
	int r = CM_ERR_INTERNAL;

	*names = NULL;
	*n = 0;
	if ((r = dir_user_find(p, uid, &u)) != 0)
		return r;
	/* breadth-first over "member of", remembering every DN seen */
	if ((dns = calloc(DIR_GROUP_MAX_RESULT + 1, sizeof(*dns))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((dns[ndns++] = strdup(u->dn)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	depth_end = ndns;
	while (head < ndns) {
		struct dir_result res;

		if (head == depth_end) {
			depth++;
			depth_end = ndns;
			if (!nested || depth >= DIR_GROUP_MAX_DEPTH)
				break;
		}
		if ((r = groups_of(p, dns[head], &res)) != 0)
			goto out;
		head++;
		for (size_t i = 0; i < res.n; i++) {
			size_t k;

			for (k = 0; k < ndns; k++)
				if (strcasecmp(dns[k], res.v[i].dn) == 0)
					break;
			if (k < ndns)
				continue;	/* seen: a cycle or a diamond */
			if (ndns > DIR_GROUP_MAX_RESULT) {
				dir_result_clear(&res);
				r = CM_ERR_RANGE;
				goto out;
			}
			if ((dns[ndns++] = strdup(res.v[i].dn)) == NULL) {
				dir_result_clear(&res);
				r = CM_ERR_NOMEM;
				goto out;
			}
		}
		dir_result_clear(&res);
	}
	if (ndns > 1 && (out = calloc(ndns - 1, sizeof(*out))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 1; i < ndns; i++) {
		char *v = NULL;

		if (dir_dn_child_value(dns[i], "cn", p->groups_dn, &v) != 0)
			continue;
		out[nout++] = v;
	}
	if (nout > 1)
		qsort(out, nout, sizeof(*out), cmp_name);
	*names = out;
	*n = nout;
	out = NULL;	/* transferred */
	r = 0;
 out:
	dir_names_free(&out, nout);
	dir_names_free(&dns, ndns);
	dir_user_free(&u);
	return r;
}

int
dir_group_is_member(struct dir_pool *p, const char *group, const char *uid,
    int nested)
{
	char **names = NULL;
	size_t n = 0;
	int r;

	if ((r = dir_user_groups(p, uid, nested, &names, &n)) != 0)
		return r;
	r = CM_ERR_NOTFOUND;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], group) == 0)
			r = 0;
	dir_names_free(&names, n);
	return r;
}

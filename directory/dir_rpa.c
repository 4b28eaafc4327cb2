/* directory/dir_rpa.c — RPA and service accounts under ou=rpa (account +
 * skmServiceAccount).  Every one has a human owner who is accountable; an
 * account whose owner is not active cannot authenticate. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dir_private.h"

static const char *const rpa_attrs[] = {
	"uid", "skmClientId", "skmOwner", "skmAccountStatus", "skmJwks",
	"skmScope", "description", NULL
};

void
dir_rpa_free(struct dir_rpa **rp)
{
	struct dir_rpa *x;

	if (rp == NULL || (x = *rp) == NULL)
		return;
	free(x->dn);
	free(x->id);
	free(x->client_id);
	free(x->owner_dn);
	free(x->owner_uid);
	free(x->jwks);
	free(x->description);
	dir_names_free(&x->scopes, x->nscopes);
	free(x);
	*rp = NULL;
}

/* A JWK Set (RFC 7517 §5): an object with a non-empty "keys" array of
 * objects that each name a "kty" and hold no private members. */
static int
check_jwks(const char *s)
{
	static const char *const private_members[] = {
		"d", "p", "q", "dp", "dq", "qi", "k", "oth"
	};
	json_error_t jerr;
	json_t *o, *keys, *k;
	size_t i;
	int r = CM_ERR_INVAL;

	if (s == NULL || strlen(s) > DIR_JWKS_MAX)
		return CM_ERR_INVAL;
	if ((o = json_loadb(s, strlen(s), JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return CM_ERR_INVAL;
	keys = json_object_get(o, "keys");
	if (!json_is_object(o) || !json_is_array(keys) ||
	    json_array_size(keys) == 0)
		goto out;
	json_array_foreach(keys, i, k) {
		if (!json_is_object(k) ||
		    !json_is_string(json_object_get(k, "kty")))
			goto out;
		for (size_t j = 0; j < sizeof(private_members) /
		    sizeof(private_members[0]); j++)
			if (json_object_get(k, private_members[j]) != NULL)
				goto out;	/* a private key: refuse */
	}
	r = 0;
 out:
	json_decref(o);
	return r;
}

static int
check_scope(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 128)
		return CM_ERR_INVAL;
	/* RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\')
			return CM_ERR_INVAL;
	}
	return 0;
}

int
dir_rpa_add(struct dir_pool *p, const struct dir_rpa_new *n)
{
	static const char *const ocs[] = {
		"account", "skmServiceAccount", NULL
	};
	struct dir_user *owner = NULL;
	struct dir_modset ms;
	char dn[DIR_MAX_DN], now[16];
	const char *scopes[DIR_SCOPES_MAX + 1];
	int r = CM_ERR_INTERNAL;

	if (n == NULL || dir_name_check(n->id) != 0 || n->owner_uid == NULL ||
	    (n->jwks != NULL && check_jwks(n->jwks) != 0) ||
	    n->nscopes > DIR_SCOPES_MAX || (n->nscopes > 0 && n->scopes == NULL) ||
	    (n->description != NULL &&
	    dir_text_check(n->description, DIR_VALUE_MAX) != 0))
		return CM_ERR_INVAL;
	for (size_t i = 0; i < n->nscopes; i++) {
		if (check_scope(n->scopes[i]) != 0)
			return CM_ERR_INVAL;
		scopes[i] = n->scopes[i];
	}
	scopes[n->nscopes] = NULL;
	if ((r = dir_user_find(p, n->owner_uid, &owner)) != 0)
		goto out;
	if (owner->status != DIR_STATUS_ACTIVE) {
		r = CM_ERR_DISABLED;
		goto out;
	}
	if ((r = dir_make_dn(dn, sizeof(dn), "uid", n->id, p->rpa_dn)) != 0)
		goto out;
	dir_gentime(now);
	dir_modset_init(&ms);
	if ((r = dir_modset_add(&ms, LDAP_MOD_ADD, "objectClass", ocs)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "uid", n->id)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmClientId", n->id)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmOwner",
	    owner->dn)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAccountStatus",
	    "active")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmCreatedAt", now)) != 0 ||
	    (n->nscopes > 0 && (r = dir_modset_add(&ms, LDAP_MOD_ADD,
	    "skmScope", scopes)) != 0) ||
	    (n->jwks != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "skmJwks", n->jwks)) != 0) ||
	    (n->description != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "description", n->description)) != 0))
		goto out;
	if ((r = dir_add(p, dn, dir_modset_get(&ms), NULL)) == 0)
		cm_info(NULL, "dir.rpa_added", "{s:s,s:s}", "rpa", n->id,
		    "owner", owner->uid);
 out:
	dir_user_free(&owner);
	return r;
}

int
dir_rpa_find(struct dir_pool *p, const char *client_id, struct dir_rpa **out)
{
	struct dir_result res;
	struct dir_rpa *x = NULL;
	struct dir_user *owner = NULL;
	struct berval **sv;
	char *st = NULL;
	size_t ns = 0;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if (dir_name_check(client_id) != 0)
		return CM_ERR_NOTFOUND;
	if ((r = dir_find_one(p, p->rpa_dn, "skmServiceAccount", "skmClientId",
	    client_id, rpa_attrs, &res)) != 0)
		return r;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((x->dn = strdup(res.v[0].dn)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = dir_entry_str(&res.v[0], "uid", &x->id)) != 0 ||
	    (r = dir_entry_str(&res.v[0], "skmClientId", &x->client_id)) != 0 ||
	    (r = dir_entry_str(&res.v[0], "skmOwner", &x->owner_dn)) != 0 ||
	    (r = dir_entry_str(&res.v[0], "skmJwks", &x->jwks)) != 0 ||
	    (r = dir_entry_str(&res.v[0], "description",
	    &x->description)) != 0 ||
	    (r = dir_entry_str(&res.v[0], "skmAccountStatus", &st)) != 0)
		goto out;
	if (x->id == NULL || x->client_id == NULL || x->owner_dn == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if (st == NULL || dir_status_parse(st, &x->status) != 0)
		x->status = DIR_STATUS_DISABLED;
	sv = dir_entry_vals(&res.v[0], "skmScope");
	for (ns = 0; sv != NULL && sv[ns] != NULL; ns++)
		;
	if (ns > 0 && (x->scopes = calloc(ns, sizeof(char *))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < ns; i++) {
		if ((x->scopes[i] = strndup(sv[i]->bv_val, sv[i]->bv_len)) ==
		    NULL) {
			r = CM_ERR_NOMEM;
			goto out;
		}
		x->nscopes++;
	}
	/* the owner decides too: gone or not active means disabled */
	x->owner_status = DIR_STATUS_DISABLED;
	r = dir_user_find_dn(p, x->owner_dn, &owner);
	if (r == 0) {
		x->owner_status = owner->status;
		if ((x->owner_uid = strdup(owner->uid)) == NULL) {
			r = CM_ERR_NOMEM;
			goto out;
		}
	} else if (r != CM_ERR_NOTFOUND)
		goto out;
	*out = x;
	x = NULL;	/* transferred */
	r = 0;
 out:
	free(st);
	dir_user_free(&owner);
	dir_rpa_free(&x);
	dir_result_clear(&res);
	return r;
}

int
dir_rpa_set_status(struct dir_pool *p, const char *id, enum dir_status s)
{
	struct dir_rpa *x = NULL;
	struct dir_modset ms;
	int r;

	if ((r = dir_rpa_find(p, id, &x)) != 0)
		return r;
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmAccountStatus",
	    dir_status_str(s))) == 0 &&
	    (r = dir_modify(p, x->dn, dir_modset_get(&ms), NULL)) == 0)
		cm_info(NULL, "dir.rpa_status", "{s:s,s:s}", "rpa", x->id,
		    "status", dir_status_str(s));
	dir_rpa_free(&x);
	return r;
}

int
dir_rpa_check(struct dir_pool *p, const char *client_id)
{
	struct dir_rpa *x = NULL;
	int r;

	if ((r = dir_rpa_find(p, client_id, &x)) != 0)
		return r;
	r = (x->status == DIR_STATUS_ACTIVE &&
	    x->owner_status == DIR_STATUS_ACTIVE) ? 0 : CM_ERR_DISABLED;
	dir_rpa_free(&x);
	return r;
}

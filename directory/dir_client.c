/*
 * directory/dir_client.c — OAuth 2.0 / OpenID Connect relying parties.
 *
 *   cn=<client_id>,ou=clients,<base>
 *     objectClass: applicationProcess, skmOAuthClient
 *     skmClientId, skmAccountStatus, description (display name),
 *     skmRedirectUri*, skmGrantType*, skmScope*, skmTokenEndpointAuthMethod,
 *     skmClientSecretHash (SHA-256 of the secret; readable by the broker
 *     only), skmJwks, skmBackchannelLogoutUri, skmCreatedAt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir_private.h"

static const char *const client_attrs[] = {
	"skmClientId", "skmAccountStatus", "description", "skmRedirectUri",
	"skmGrantType", "skmScope", "skmTokenEndpointAuthMethod",
	"skmClientSecretHash", "skmJwks", "skmBackchannelLogoutUri",
	"skmCreatedAt", NULL
};

static void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* All values of attr as C strings (an empty vector when absent). */
static int
entry_strv(const struct dir_entry *e, const char *attr, char ***out,
    size_t *n)
{
	struct berval **bv = dir_entry_vals(e, attr);
	char **v;
	size_t k = 0, i;

	*out = NULL;
	*n = 0;
	while (bv != NULL && bv[k] != NULL)
		k++;
	if ((v = calloc(k + 1, sizeof(*v))) == NULL)
		return CM_ERR_NOMEM;
	for (i = 0; i < k; i++) {
		if (memchr(bv[i]->bv_val, '\0', bv[i]->bv_len) != NULL ||
		    (v[i] = strndup(bv[i]->bv_val, bv[i]->bv_len)) == NULL) {
			strv_free(v, i);
			return CM_ERR_INVAL;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

void
dir_client_free(struct dir_client **cp)
{
	struct dir_client *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	free(c->dn);
	free(c->client_id);
	free(c->name);
	strv_free(c->redirect_uris, c->nredirect_uris);
	strv_free(c->grant_types, c->ngrant_types);
	strv_free(c->scopes, c->nscopes);
	free(c->auth_method);
	free(c->secret_hash);
	free(c->jwks);
	free(c->backchannel_logout_uri);
	free(c->created);
	free(c);
	*cp = NULL;
}

void
dir_client_list_free(struct dir_client ***v, size_t n)
{
	size_t i;

	if (v == NULL || *v == NULL)
		return;
	for (i = 0; i < n; i++)
		dir_client_free(&(*v)[i]);
	free(*v);
	*v = NULL;
}

static int
client_from_entry(const struct dir_entry *e, struct dir_client **out)
{
	struct dir_client *c;
	char *st = NULL;
	int r;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CM_ERR_NOMEM;
	if ((c->dn = strdup(e->dn)) == NULL) {
		r = CM_ERR_NOMEM;
		goto fail;
	}
	if ((r = dir_entry_str(e, "skmClientId", &c->client_id)) != 0 ||
	    (r = dir_entry_str(e, "description", &c->name)) != 0 ||
	    (r = dir_entry_str(e, "skmTokenEndpointAuthMethod",
	    &c->auth_method)) != 0 ||
	    (r = dir_entry_str(e, "skmClientSecretHash",
	    &c->secret_hash)) != 0 ||
	    (r = dir_entry_str(e, "skmJwks", &c->jwks)) != 0 ||
	    (r = dir_entry_str(e, "skmBackchannelLogoutUri",
	    &c->backchannel_logout_uri)) != 0 ||
	    (r = dir_entry_str(e, "skmCreatedAt", &c->created)) != 0 ||
	    (r = dir_entry_str(e, "skmAccountStatus", &st)) != 0 ||
	    (r = entry_strv(e, "skmRedirectUri", &c->redirect_uris,
	    &c->nredirect_uris)) != 0 ||
	    (r = entry_strv(e, "skmGrantType", &c->grant_types,
	    &c->ngrant_types)) != 0 ||
	    (r = entry_strv(e, "skmScope", &c->scopes, &c->nscopes)) != 0)
		goto fail;
	if (c->client_id == NULL || c->auth_method == NULL) {
		r = CM_ERR_INVAL;
		goto fail;
	}
	/* fail closed: an unreadable status is a disabled client */
	if (st == NULL || dir_status_parse(st, &c->status) != 0)
		c->status = DIR_STATUS_DISABLED;
	free(st);
	*out = c;
	return 0;
 fail:
	free(st);
	dir_client_free(&c);
	return r;
}

static int
clients_dn(struct dir_pool *p, char *buf, size_t len)
{
	return dir_fmt(buf, len, "ou=clients,%s", p->cfg.base_dn);
}

int
dir_client_find(struct dir_pool *p, const char *client_id,
    struct dir_client **out)
{
	char base[DIR_MAX_DN];
	struct dir_result res;
	int r;

	*out = NULL;
	if (dir_name_check(client_id) != 0)
		return CM_ERR_NOTFOUND;
	if ((r = clients_dn(p, base, sizeof(base))) != 0)
		return r;
	if ((r = dir_find_one(p, base, "skmOAuthClient", "skmClientId",
	    client_id, client_attrs, &res)) != 0)
		return r;
	r = client_from_entry(&res.v[0], out);
	dir_result_clear(&res);
	return r;
}

int
dir_client_list(struct dir_pool *p, struct dir_client ***out, size_t *n)
{
	char base[DIR_MAX_DN];
	struct dir_result res;
	struct dir_client **v = NULL;
	size_t i;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = clients_dn(p, base, sizeof(base))) != 0)
		return r;
	if ((r = dir_search(p, base, LDAP_SCOPE_ONELEVEL,
	    "(objectClass=skmOAuthClient)", client_attrs, DIR_SEARCH_MAX,
	    &res)) != 0)
		return r;
	if (res.n > 0 && (v = calloc(res.n, sizeof(*v))) == NULL) {
		dir_result_clear(&res);
		return CM_ERR_NOMEM;
	}
	for (i = 0; i < res.n; i++) {
		if ((r = client_from_entry(&res.v[i], &v[i])) != 0) {
			dir_client_list_free(&v, i);
			dir_result_clear(&res);
			return r;
		}
	}
	dir_result_clear(&res);
	*out = v;
	*n = i;
	return 0;
}

static int
uri_check(const char *u)
{
	size_t n = strlen(u), i;

	/* absolute https URI, or http to loopback; no fragment (RFC 6749
	 * §3.1.2); printable ASCII only */
	if (n == 0 || n > 2048 || strchr(u, '#') != NULL)
		return CM_ERR_INVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return CM_ERR_INVAL;
	if (strncmp(u, "https://", 8) == 0 && n > 8)
		return 0;
	if (strncmp(u, "http://127.0.0.1", 16) == 0 ||
	    strncmp(u, "http://localhost", 16) == 0 ||
	    strncmp(u, "http://[::1]", 12) == 0)
		return 0;
	return CM_ERR_INVAL;
}

/* dir_modset_add() wants NULL-terminated lists; ours are counted. */
static const char **
terminated(const char *const *v, size_t n)
{
	const char **t;

	if ((t = calloc(n + 1, sizeof(*t))) == NULL)
		return NULL;
	if (n > 0)
		memcpy(t, v, n * sizeof(*t));
	return t;
}

int
dir_client_add(struct dir_pool *p, const struct dir_client_new *n)
{
	static const char *const ocs[] = { "applicationProcess",
	    "skmOAuthClient", NULL };
	char dn[DIR_MAX_DN], base[DIR_MAX_DN], now[16];
	const char **uris = NULL, **grants = NULL, **scopes = NULL;
	struct dir_modset ms;
	size_t i;
	int r, ldrc = 0;

	if (dir_name_check(n->client_id) != 0)
		return CM_ERR_INVAL;
	if (strcmp(n->auth_method, "client_secret_basic") != 0 &&
	    strcmp(n->auth_method, "private_key_jwt") != 0)
		return CM_ERR_INVAL;
	if (strcmp(n->auth_method, "client_secret_basic") == 0 &&
	    n->secret_hash == NULL)
		return CM_ERR_INVAL;
	if (strcmp(n->auth_method, "private_key_jwt") == 0 && n->jwks == NULL)
		return CM_ERR_INVAL;
	for (i = 0; i < n->nredirect_uris; i++)
		if (uri_check(n->redirect_uris[i]) != 0)
			return CM_ERR_INVAL;
	if (n->backchannel_logout_uri != NULL &&
	    uri_check(n->backchannel_logout_uri) != 0)
		return CM_ERR_INVAL;
	if ((n->name != NULL && dir_text_check(n->name, 256) != 0) ||
	    (n->jwks != NULL && strlen(n->jwks) > DIR_JWKS_MAX))
		return CM_ERR_INVAL;
	for (i = 0; i < n->ngrant_types; i++)
		if (dir_text_check(n->grant_types[i], 64) != 0)
			return CM_ERR_INVAL;
	for (i = 0; i < n->nscopes; i++)
		if (dir_text_check(n->scopes[i], 128) != 0 ||
		    strchr(n->scopes[i], ' ') != NULL)
			return CM_ERR_INVAL;
	if ((r = clients_dn(p, base, sizeof(base))) != 0 ||
	    (r = dir_make_dn(dn, sizeof(dn), "cn", n->client_id, base)) != 0)
		return r;
	if ((uris = terminated(n->redirect_uris, n->nredirect_uris)) == NULL ||
	    (grants = terminated(n->grant_types, n->ngrant_types)) == NULL ||
	    (scopes = terminated(n->scopes, n->nscopes)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	dir_gentime(now);
	dir_modset_init(&ms);
	if ((r = dir_modset_add(&ms, LDAP_MOD_ADD, "objectClass", ocs)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "cn", n->client_id)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmClientId",
	    n->client_id)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAccountStatus",
	    "active")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "skmTokenEndpointAuthMethod", n->auth_method)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmCreatedAt", now)) != 0)
		goto out;
	if ((n->name != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "description", n->name)) != 0) ||
	    (n->nredirect_uris > 0 && (r = dir_modset_add(&ms, LDAP_MOD_ADD,
	    "skmRedirectUri", uris)) != 0) ||
	    (n->ngrant_types > 0 && (r = dir_modset_add(&ms, LDAP_MOD_ADD,
	    "skmGrantType", grants)) != 0) ||
	    (n->nscopes > 0 && (r = dir_modset_add(&ms, LDAP_MOD_ADD,
	    "skmScope", scopes)) != 0) ||
	    (n->secret_hash != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "skmClientSecretHash", n->secret_hash)) != 0) ||
	    (n->jwks != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "skmJwks", n->jwks)) != 0) ||
	    (n->backchannel_logout_uri != NULL && (r = dir_modset_add1(&ms,
	    LDAP_MOD_ADD, "skmBackchannelLogoutUri",
	    n->backchannel_logout_uri)) != 0))
		goto out;
	r = dir_add(p, dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && ldrc == LDAP_ALREADY_EXISTS)
		r = CM_ERR_EXISTS;
 out:
	free(uris);
	free(grants);
	free(scopes);
	return r;
}

int
dir_client_set_status(struct dir_pool *p, const char *client_id,
    enum dir_status s)
{
	struct dir_client *c = NULL;
	struct dir_modset ms;
	int r;

	if ((r = dir_client_find(p, client_id, &c)) != 0)
		return r;
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmAccountStatus",
	    dir_status_str(s))) == 0)
		r = dir_modify(p, c->dn, dir_modset_get(&ms), NULL);
	dir_client_free(&c);
	return r;
}

/*
 * directory/dir_webauthn.c — a user's WebAuthn credentials, child entries
 *
 *   cn=<b64url SHA-256 of the credential id>,<user dn>
 *     objectClass            skmWebAuthnCredential
 *     skmCredentialId        the credential id, base64url (indexed: the
 *                            usernameless login looks it up; §7.1 step 22)
 *     skmPublicKey           the COSE_Key, base64url
 *     skmSignCount           signature counter: compare-and-swap
 *     skmAaguid              authenticator model (indexed: MDS suspension)
 *     skmTransport           getTransports() values
 *     skmAuthenticatorLabel  the owner's nickname
 *     skmCreatedAt, skmLastUsedAt
 *     skmAuthnState          pending | active | suspended
 *     skmCredentialRecord    the fido/ credential record (wa_cred JSON)
 *     skmApprovedBy          DN of the administrator who approved it
 *     skmTrust               none | self | untrusted | trusted_hardware
 *     skmFailureCount, skmFailureAt
 *
 * The RDN is a fixed-length hash so that a credential id of up to 1023
 * bytes never makes an over-long DN, and it needs no escaping.  State and
 * counter changes are single LDAP modifies that delete the old value and
 * add the new one (compare-and-swap), like dir_totp.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <openssl/sha.h>

#include "dir_private.h"

static const char *const wa_attrs[] = {
	"cn", "skmCredentialId", "skmSignCount", "skmAaguid",
	"skmAuthenticatorLabel", "skmCreatedAt", "skmLastUsedAt",
	"skmAuthnState", "skmCredentialRecord", "skmApprovedBy", "skmTrust",
	"skmFailureCount", NULL
};

#define WA_OC	"(objectClass=skmWebAuthnCredential)"

void
dir_wa_free(struct dir_wa_cred **cp)
{
	struct dir_wa_cred *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	free(c->dn);
	free(c->cn);
	free(c->uid);
	free(c->cred_id);
	free(c->record);
	free(c->sign_count);
	free(c->aaguid);
	free(c->label);
	free(c->trust);
	free(c->created);
	free(c->last_used);
	free(c->approved_by);
	free(c->failures);
	free(c);
	*cp = NULL;
}

void
dir_wa_list_free(struct dir_wa_cred ***vp, size_t n)
{
	size_t i;

	if (vp == NULL || *vp == NULL)
		return;
	for (i = 0; i < n; i++)
		dir_wa_free(&(*vp)[i]);
	free(*vp);
	*vp = NULL;
}

int
dir_wa_key(const char *cred_id, char out[44])
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	char *b = NULL;
	int r;

	out[0] = '\0';
	if (cred_id == NULL || strlen(cred_id) == 0 ||
	    strlen(cred_id) > DIR_WA_ID_MAX)
		return CM_ERR_INVAL;
	SHA256((const unsigned char *)cred_id, strlen(cred_id), h);
	if ((r = cm_b64url_encode(h, sizeof(h), &b)) != 0)
		return r;
	r = strlcpy(out, b, 44) == 43 ? 0 : CM_ERR_INTERNAL;
	free(b);
	return r;
}

static enum dir_authn_state
state_parse(const char *s)
{
	if (s != NULL && strcmp(s, "pending") == 0)
		return DIR_AUTHN_PENDING;
	if (s != NULL && strcmp(s, "active") == 0)
		return DIR_AUTHN_ACTIVE;
	return DIR_AUTHN_SUSPENDED;	/* fail closed */
}

/* One search entry to a struct; the owner comes from the parent DN. */
static int
entry_to_cred(struct dir_pool *p, const struct dir_entry *e,
    struct dir_wa_cred **out)
{
	struct dir_wa_cred *c;
	char parent[DIR_MAX_DN], *st = NULL;
	const char *comma = strchr(e->dn, ',');
	long long v;
	int r;

	*out = NULL;
	if (comma == NULL || strlcpy(parent, comma + 1, sizeof(parent)) >=
	    sizeof(parent))
		return CM_ERR_INVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CM_ERR_NOMEM;
	if ((c->dn = strdup(e->dn)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = dir_dn_child_value(parent, "uid", p->people_dn,
	    &c->uid)) != 0 || c->uid == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((r = dir_entry_str(e, "cn", &c->cn)) != 0 ||
	    (r = dir_entry_str(e, "skmCredentialId", &c->cred_id)) != 0 ||
	    (r = dir_entry_str(e, "skmCredentialRecord", &c->record)) != 0 ||
	    (r = dir_entry_str(e, "skmSignCount", &c->sign_count)) != 0 ||
	    (r = dir_entry_str(e, "skmAaguid", &c->aaguid)) != 0 ||
	    (r = dir_entry_str(e, "skmAuthenticatorLabel", &c->label)) != 0 ||
	    (r = dir_entry_str(e, "skmTrust", &c->trust)) != 0 ||
	    (r = dir_entry_str(e, "skmCreatedAt", &c->created)) != 0 ||
	    (r = dir_entry_str(e, "skmLastUsedAt", &c->last_used)) != 0 ||
	    (r = dir_entry_str(e, "skmApprovedBy", &c->approved_by)) != 0 ||
	    (r = dir_entry_str(e, "skmFailureCount", &c->failures)) != 0 ||
	    (r = dir_entry_str(e, "skmAuthnState", &st)) != 0)
		goto out;
	if (c->cn == NULL || c->cred_id == NULL || c->record == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	c->state = state_parse(st);
	if (c->sign_count != NULL && cm_parse_ll(c->sign_count, 0,
	    UINT32_MAX, &v) == 0)
		c->sign_count_n = v;
	if (c->failures != NULL && cm_parse_ll(c->failures, 0, 1000000,
	    &v) == 0)
		c->failure_count = v;
	*out = c;
	c = NULL;
	r = 0;
 out:
	free(st);
	dir_wa_free(&c);
	return r;
}

static int
result_to_list(struct dir_pool *p, struct dir_result *res,
    struct dir_wa_cred ***out, size_t *n)
{
	struct dir_wa_cred **v = NULL;
	size_t i, k = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (res->n > 0 && (v = calloc(res->n, sizeof(*v))) == NULL)
		return CM_ERR_NOMEM;
	for (i = 0; i < res->n; i++) {
		r = entry_to_cred(p, &res->v[i], &v[k]);
		if (r == CM_ERR_NOMEM) {
			dir_wa_list_free(&v, k);
			return r;
		}
		if (r == 0)
			k++;		/* a malformed entry is skipped */
	}
	*out = v;
	*n = k;
	return 0;
}

/* Subtree search of ou=people for credentials with attr = value. */
static int
search_people(struct dir_pool *p, const char *attr, const char *value,
    struct dir_wa_cred ***out, size_t *n)
{
	struct dir_result res;
	char filter[2048], *esc = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = dir_escape_filter(value, strlen(value), &esc)) != 0)
		return r;
	r = dir_fmt(filter, sizeof(filter), "(&" WA_OC "(%s=%s))", attr, esc);
	free(esc);
	if (r != 0)
		return r;
	if ((r = dir_search(p, p->people_dn, LDAP_SCOPE_SUBTREE, filter,
	    wa_attrs, DIR_SEARCH_MAX, &res)) != 0)
		return r;
	r = result_to_list(p, &res, out, n);
	dir_result_clear(&res);
	return r;
}

int
dir_wa_list(struct dir_pool *p, const char *uid, struct dir_wa_cred ***out,
    size_t *n)
{
	struct dir_user *u = NULL;
	struct dir_result res;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = dir_user_find(p, uid, &u)) != 0)
		return r;
	r = dir_search(p, u->dn, LDAP_SCOPE_ONELEVEL, WA_OC, wa_attrs,
	    DIR_WA_MAX_PER_USER, &res);
	dir_user_free(&u);
	if (r != 0)
		return r;
	r = result_to_list(p, &res, out, n);
	dir_result_clear(&res);
	return r;
}

int
dir_wa_find(struct dir_pool *p, const char *cred_id, struct dir_wa_cred **out)
{
	struct dir_wa_cred **v = NULL;
	size_t n = 0;
	int r;

	*out = NULL;
	if (cred_id == NULL || strlen(cred_id) == 0 ||
	    strlen(cred_id) > DIR_WA_ID_MAX)
		return CM_ERR_INVAL;
	if ((r = search_people(p, "skmCredentialId", cred_id, &v, &n)) != 0)
		return r;
	if (n == 0)
		r = CM_ERR_NOTFOUND;
	else if (n > 1)
		r = CM_ERR_CONFLICT;	/* never registered twice: refuse */
	else {
		*out = v[0];
		v[0] = NULL;
	}
	dir_wa_list_free(&v, n);
	return r;
}

int
dir_wa_get(struct dir_pool *p, const char *uid, const char *key,
    struct dir_wa_cred **out)
{
	struct dir_wa_cred **v = NULL;
	size_t n = 0, i;
	int r;

	*out = NULL;
	if (key == NULL || strlen(key) != 43)
		return CM_ERR_INVAL;
	if ((r = dir_wa_list(p, uid, &v, &n)) != 0)
		return r;
	r = CM_ERR_NOTFOUND;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i]->cn, key) == 0) {
			*out = v[i];
			v[i] = NULL;
			r = 0;
			break;
		}
	}
	dir_wa_list_free(&v, n);
	return r;
}

int
dir_wa_list_state(struct dir_pool *p, enum dir_authn_state s,
    struct dir_wa_cred ***out, size_t *n)
{
	return search_people(p, "skmAuthnState", dir_authn_state_str(s), out,
	    n);
}

int
dir_wa_find_aaguid(struct dir_pool *p, const char *aaguid,
    struct dir_wa_cred ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (aaguid == NULL || strlen(aaguid) != 36)
		return CM_ERR_INVAL;
	return search_people(p, "skmAaguid", aaguid, out, n);
}

int
dir_wa_add(struct dir_pool *p, const struct dir_wa_cred_new *c)
{
	struct dir_wa_cred *dup = NULL;
	struct dir_user *u = NULL;
	struct dir_modset ms;
	char dn[DIR_MAX_DN], key[44], now[16], sc[16];
	const char *tr[8];
	size_t i, nt = 0;
	int r, ldrc = 0;

	if (c == NULL || c->uid == NULL || c->cred_id == NULL ||
	    c->public_key == NULL || c->record == NULL || c->trust == NULL ||
	    strlen(c->public_key) > DIR_WA_PK_MAX ||
	    strlen(c->record) > DIR_WA_RECORD_MAX ||
	    (c->aaguid != NULL && strlen(c->aaguid) != 36) ||
	    (c->label != NULL && dir_text_check(c->label,
	    DIR_WA_LABEL_MAX) != 0))
		return CM_ERR_INVAL;
	if ((r = dir_wa_key(c->cred_id, key)) != 0)
		return r;
	/* WebAuthn L2 §7.1 step 22: an id registered to anyone is refused */
	r = dir_wa_find(p, c->cred_id, &dup);
	dir_wa_free(&dup);
	if (r == 0 || r == CM_ERR_CONFLICT)
		return CM_ERR_EXISTS;
	if (r != CM_ERR_NOTFOUND)
		return r;
	if ((r = dir_user_find(p, c->uid, &u)) != 0)
		return r;
	r = dir_fmt(dn, sizeof(dn), "cn=%s,%s", key, u->dn);
	dir_user_free(&u);
	if (r != 0)
		return r;
	for (i = 0; i < c->ntransports && nt < 7; i++)
		if (c->transports[i] != NULL && strlen(c->transports[i]) <= 16)
			tr[nt++] = c->transports[i];
	tr[nt] = NULL;
	dir_gentime(now);
	snprintf(sc, sizeof(sc), "%u", c->sign_count);
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_ADD, "objectClass",
	    "skmWebAuthnCredential")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "cn", key)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmCredentialId",
	    c->cred_id)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmPublicKey",
	    c->public_key)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmSignCount", sc)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmCredentialRecord",
	    c->record)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmTrust",
	    c->trust)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAuthnState",
	    dir_authn_state_str(c->state))) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmFailureCount",
	    "0")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmCreatedAt", now)) != 0)
		return r;
	if (c->aaguid != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "skmAaguid", c->aaguid)) != 0)
		return r;
	if (c->label != NULL && c->label[0] != '\0' &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAuthenticatorLabel",
	    c->label)) != 0)
		return r;
	if (nt > 0 && (r = dir_modset_add(&ms, LDAP_MOD_ADD, "skmTransport",
	    tr)) != 0)
		return r;
	r = dir_add(p, dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && ldrc == LDAP_ALREADY_EXISTS)
		r = CM_ERR_EXISTS;
	return r;
}

static int
modify_cas(struct dir_pool *p, const char *dn, struct dir_modset *ms)
{
	int r, ldrc = 0;

	r = dir_modify(p, dn, dir_modset_get(ms), &ldrc);
	if (r != 0 && (ldrc == LDAP_NO_SUCH_ATTRIBUTE ||
	    ldrc == LDAP_TYPE_OR_VALUE_EXISTS))
		r = CM_ERR_CONFLICT;
	else if (r != 0 && ldrc == LDAP_NO_SUCH_OBJECT)
		r = CM_ERR_NOTFOUND;
	return r;
}

int
dir_wa_use(struct dir_pool *p, const struct dir_wa_cred *c,
    uint32_t new_count, const char *new_record)
{
	struct dir_modset ms;
	char sc[16], now[16];
	int r;

	if (new_record == NULL || strlen(new_record) > DIR_WA_RECORD_MAX)
		return CM_ERR_INVAL;
	snprintf(sc, sizeof(sc), "%u", new_count);
	dir_gentime(now);
	dir_modset_init(&ms);
	/* the counter moves from the value read, or not at all; the state
	 * must still be active (a concurrent suspension wins) */
	if ((c->sign_count != NULL && (r = dir_modset_add1(&ms,
	    LDAP_MOD_DELETE, "skmSignCount", c->sign_count)) != 0) ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmSignCount", sc)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_DELETE, "skmAuthnState",
	    "active")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAuthnState",
	    "active")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmCredentialRecord",
	    new_record)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmLastUsedAt",
	    now)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmFailureCount",
	    "0")) != 0)
		return r;
	return modify_cas(p, c->dn, &ms);
}

int
dir_wa_record_failure(struct dir_pool *p, const struct dir_wa_cred *c,
    int64_t now)
{
	struct dir_modset ms;
	char nv[24], at[24];
	int r;

	snprintf(nv, sizeof(nv), "%lld", c->failure_count + 1);
	snprintf(at, sizeof(at), "%lld", (long long)now);
	dir_modset_init(&ms);
	if ((c->failures != NULL && (r = dir_modset_add1(&ms,
	    LDAP_MOD_DELETE, "skmFailureCount", c->failures)) != 0) ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmFailureCount",
	    nv)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmFailureAt",
	    at)) != 0)
		return r;
	return modify_cas(p, c->dn, &ms);
}

int
dir_wa_set_state(struct dir_pool *p, const struct dir_wa_cred *c,
    enum dir_authn_state from, enum dir_authn_state to)
{
	struct dir_modset ms;
	int r;

	if (from == to)
		return 0;
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE, "skmAuthnState",
	    dir_authn_state_str(from))) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAuthnState",
	    dir_authn_state_str(to))) != 0)
		return r;
	return modify_cas(p, c->dn, &ms);
}

int
dir_wa_approve(struct dir_pool *p, const struct dir_wa_cred *c,
    const char *approver_uid)
{
	struct dir_user *u = NULL;
	struct dir_modset ms;
	int r;

	if ((r = dir_user_find(p, approver_uid, &u)) != 0)
		return r;
	dir_modset_init(&ms);
	/* pending -> active and the approver, in one modify */
	if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE, "skmAuthnState",
	    "pending")) == 0 &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAuthnState",
	    "active")) == 0 &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmApprovedBy",
	    u->dn)) == 0)
		r = modify_cas(p, c->dn, &ms);
	dir_user_free(&u);
	return r;
}

int
dir_wa_delete(struct dir_pool *p, const struct dir_wa_cred *c)
{
	int r, ldrc = 0;

	r = dir_delete(p, c->dn, &ldrc);
	if (r != 0 && ldrc == LDAP_NO_SUCH_OBJECT)
		r = CM_ERR_NOTFOUND;
	return r;
}

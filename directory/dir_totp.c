/*
 * directory/dir_totp.c — a user's TOTP authenticator, the child entry
 *
 *   cn=totp,<user dn>   objectClass skmTotpAuthenticator
 *     skmTotpSecret        the seed wrapped under the KEK (idp/assurance.h)
 *     skmAuthnState        pending (enrolled, not confirmed) | active |
 *                          suspended
 *     skmTotpLastStep      last accepted time step: compare-and-swap
 *     skmFailureCount      consecutive failures: compare-and-swap
 *     skmFailureAt         time of the last failure
 *     skmRecoveryCodeHash  Argon2id hashes of one-time recovery codes
 *
 * Counters move only by one LDAP modify that deletes the old value and
 * adds the new one, so two broker nodes can never both accept the same
 * code or lose a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "dir_private.h"

static const char *const totp_attrs[] = {
	"skmTotpSecret", "skmAuthnState", "skmTotpLastStep",
	"skmFailureCount", "skmFailureAt", "skmRecoveryCodeHash",
	"skmCreatedAt", NULL
};

static const char *const state_names[] = { "pending", "active",
	"suspended" };

const char *
dir_authn_state_str(enum dir_authn_state s)
{
	return (size_t)s < sizeof(state_names) / sizeof(state_names[0]) ?
	    state_names[s] : "suspended";
}

static enum dir_authn_state
state_parse(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(state_names) /
	    sizeof(state_names[0]); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum dir_authn_state)i;
	return DIR_AUTHN_SUSPENDED;	/* fail closed */
}

void
dir_totp_free(struct dir_totp **tp)
{
	struct dir_totp *t;
	size_t i;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	free(t->dn);
	if (t->secret != NULL)
		cm_freezero(t->secret, strlen(t->secret));
	free(t->last_step);
	free(t->failures);
	for (i = 0; i < t->nrecovery; i++)
		free(t->recovery[i]);
	free(t->recovery);
	free(t);
	*tp = NULL;
}

static int
totp_dn(struct dir_pool *p, const char *uid, char *dn, size_t len)
{
	struct dir_user *u = NULL;
	int r;

	if ((r = dir_user_find(p, uid, &u)) != 0)
		return r;
	r = dir_fmt(dn, len, "cn=totp,%s", u->dn);
	dir_user_free(&u);
	return r;
}

int
dir_totp_get(struct dir_pool *p, const char *uid, struct dir_totp **out)
{
	char dn[DIR_MAX_DN], *st = NULL, *at = NULL;
	struct dir_result res;
	struct dir_totp *t = NULL;
	struct berval **rv;
	long long v;
	size_t n = 0, i;
	int r;

	*out = NULL;
	if ((r = totp_dn(p, uid, dn, sizeof(dn))) != 0)
		return r;
	if ((r = dir_search(p, dn, LDAP_SCOPE_BASE,
	    "(objectClass=skmTotpAuthenticator)", totp_attrs, 1, &res)) != 0)
		return r;
	if (res.n != 1) {
		dir_result_clear(&res);
		return CM_ERR_NOTFOUND;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->dn = strdup(res.v[0].dn)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = dir_entry_str(&res.v[0], "skmTotpSecret", &t->secret)) != 0 ||
	    (r = dir_entry_str(&res.v[0], "skmAuthnState", &st)) != 0 ||
	    (r = dir_entry_str(&res.v[0], "skmTotpLastStep",
	    &t->last_step)) != 0 ||
	    (r = dir_entry_str(&res.v[0], "skmFailureCount",
	    &t->failures)) != 0 ||
	    (r = dir_entry_str(&res.v[0], "skmFailureAt", &at)) != 0)
		goto out;
	if (t->secret == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	t->state = state_parse(st);
	t->failure_count = 0;
	if (t->failures != NULL && cm_parse_ll(t->failures, 0, 1000000,
	    &v) == 0)
		t->failure_count = v;
	if (at != NULL && cm_parse_ll(at, 0, INT64_MAX, &v) == 0)
		t->failure_at = v;
	rv = dir_entry_vals(&res.v[0], "skmRecoveryCodeHash");
	while (rv != NULL && rv[n] != NULL)
		n++;
	if (n > 0 && (t->recovery = calloc(n, sizeof(char *))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((t->recovery[i] = strndup(rv[i]->bv_val,
		    rv[i]->bv_len)) == NULL) {
			r = CM_ERR_NOMEM;
			goto out;
		}
		t->nrecovery++;
	}
	*out = t;
	t = NULL;
	r = 0;
 out:
	free(st);
	free(at);
	dir_totp_free(&t);
	dir_result_clear(&res);
	return r;
}

int
dir_totp_put_pending(struct dir_pool *p, const char *uid,
    const char *wrapped_secret)
{
	struct dir_totp *old = NULL;
	struct dir_modset ms;
	char dn[DIR_MAX_DN], now[16];
	int r, ldrc = 0;

	if (strlen(wrapped_secret) > 512)
		return CM_ERR_RANGE;
	r = dir_totp_get(p, uid, &old);
	if (r == 0) {
		/* an active factor is never replaced by a new enrolment */
		int pending = old->state == DIR_AUTHN_PENDING;

		if (!pending) {
			dir_totp_free(&old);
			return CM_ERR_EXISTS;
		}
		r = dir_delete(p, old->dn, &ldrc);
		dir_totp_free(&old);
		if (r != 0 && ldrc != LDAP_NO_SUCH_OBJECT)
			return r;
	} else if (r != CM_ERR_NOTFOUND)
		return r;
	if ((r = totp_dn(p, uid, dn, sizeof(dn))) != 0)
		return r;
	dir_gentime(now);
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_ADD, "objectClass",
	    "skmTotpAuthenticator")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "cn", "totp")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmTotpSecret",
	    wrapped_secret)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAuthnState",
	    "pending")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmFailureCount",
	    "0")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmCreatedAt", now)) != 0)
		return r;
	r = dir_add(p, dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && ldrc == LDAP_ALREADY_EXISTS)
		r = CM_ERR_CONFLICT;
	return r;
}

int
dir_totp_activate(struct dir_pool *p, const struct dir_totp *t,
    long long step, const char *const *recovery_hashes, size_t nrecovery)
{
	struct dir_modset ms;
	char sv[24];
	const char **rh = NULL;
	int r, ldrc = 0;

	snprintf(sv, sizeof(sv), "%lld", step);
	dir_modset_init(&ms);
	/* pending -> active is itself the compare-and-swap */
	if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE, "skmAuthnState",
	    "pending")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmAuthnState",
	    "active")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmTotpLastStep",
	    sv)) != 0)
		return r;
	if (nrecovery > 0) {
		if ((rh = calloc(nrecovery + 1, sizeof(*rh))) == NULL)
			return CM_ERR_NOMEM;
		memcpy(rh, recovery_hashes, nrecovery * sizeof(*rh));
		if ((r = dir_modset_add(&ms, LDAP_MOD_REPLACE,
		    "skmRecoveryCodeHash", rh)) != 0) {
			free(rh);
			return r;
		}
	}
	r = dir_modify(p, t->dn, dir_modset_get(&ms), &ldrc);
	free(rh);
	if (r != 0 && ldrc == LDAP_NO_SUCH_ATTRIBUTE)
		r = CM_ERR_CONFLICT;
	return r;
}

int
dir_totp_accept_step(struct dir_pool *p, const struct dir_totp *t,
    long long step)
{
	struct dir_modset ms;
	char sv[24];
	int r, ldrc = 0;

	snprintf(sv, sizeof(sv), "%lld", step);
	dir_modset_init(&ms);
	/* the step and the failure reset move together, atomically */
	if (t->last_step != NULL) {
		if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE,
		    "skmTotpLastStep", t->last_step)) != 0)
			return r;
	}
	if ((r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmTotpLastStep",
	    sv)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmFailureCount",
	    "0")) != 0)
		return r;
	r = dir_modify(p, t->dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && (ldrc == LDAP_NO_SUCH_ATTRIBUTE ||
	    ldrc == LDAP_TYPE_OR_VALUE_EXISTS))
		r = CM_ERR_CONFLICT;
	return r;
}

int
dir_totp_record_failure(struct dir_pool *p, const struct dir_totp *t,
    int64_t now)
{
	struct dir_modset ms;
	char nv[24], at[24];
	int r, ldrc = 0;

	snprintf(nv, sizeof(nv), "%lld", t->failure_count + 1);
	snprintf(at, sizeof(at), "%lld", (long long)now);
	dir_modset_init(&ms);
	if ((t->failures != NULL && (r = dir_modset_add1(&ms,
	    LDAP_MOD_DELETE, "skmFailureCount", t->failures)) != 0) ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmFailureCount",
	    nv)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmFailureAt",
	    at)) != 0)
		return r;
	r = dir_modify(p, t->dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && (ldrc == LDAP_NO_SUCH_ATTRIBUTE ||
	    ldrc == LDAP_TYPE_OR_VALUE_EXISTS))
		r = CM_ERR_CONFLICT;
	return r;
}

int
dir_totp_use_recovery(struct dir_pool *p, const struct dir_totp *t,
    const char *hash)
{
	struct dir_modset ms;
	int r, ldrc = 0;

	/* deleting the value is the single use: one deleter wins */
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE, "skmRecoveryCodeHash",
	    hash)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmFailureCount",
	    "0")) != 0)
		return r;
	r = dir_modify(p, t->dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && ldrc == LDAP_NO_SUCH_ATTRIBUTE)
		r = CM_ERR_CONFLICT;
	return r;
}

int
dir_totp_delete(struct dir_pool *p, const char *uid)
{
	char dn[DIR_MAX_DN];
	int r, ldrc = 0;

	if ((r = totp_dn(p, uid, dn, sizeof(dn))) != 0)
		return r;
	r = dir_delete(p, dn, &ldrc);
	if (r != 0 && ldrc == LDAP_NO_SUCH_OBJECT)
		r = CM_ERR_NOTFOUND;
	return r;
}

int
dir_totp_rewrap(struct dir_pool *p, const struct dir_totp *t,
    const char *new_wrapped)
{
	struct dir_modset ms;
	int r, ldrc = 0;

	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE, "skmTotpSecret",
	    t->secret)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmTotpSecret",
	    new_wrapped)) != 0)
		return r;
	r = dir_modify(p, t->dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && ldrc == LDAP_NO_SUCH_ATTRIBUTE)
		r = CM_ERR_CONFLICT;
	return r;
}

int
dir_totp_owners(struct dir_pool *p, char ***uids, size_t *n)
{
	static const char *const attrs[] = { "1.1", NULL };
	struct dir_result res;
	char **v = NULL;
	size_t i, k = 0;
	int r;

	*uids = NULL;
	*n = 0;
	if ((r = dir_search(p, p->people_dn, LDAP_SCOPE_SUBTREE,
	    "(objectClass=skmTotpAuthenticator)", attrs, DIR_SEARCH_MAX,
	    &res)) != 0)
		return r;
	if (res.n > 0 && (v = calloc(res.n, sizeof(*v))) == NULL) {
		dir_result_clear(&res);
		return CM_ERR_NOMEM;
	}
	for (i = 0; i < res.n; i++) {
		char parent[DIR_MAX_DN], *uid = NULL;
		const char *comma = strchr(res.v[i].dn, ',');

		if (comma == NULL || strlcpy(parent, comma + 1,
		    sizeof(parent)) >= sizeof(parent))
			continue;
		if (dir_dn_child_value(parent, "uid", p->people_dn, &uid) == 0 &&
		    uid != NULL)
			v[k++] = uid;
	}
	dir_result_clear(&res);
	*uids = v;
	*n = k;
	return 0;
}

int
dir_totp_set_state(struct dir_pool *p, const struct dir_totp *t,
    enum dir_authn_state st)
{
	struct dir_modset ms;
	int r;

	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmAuthnState",
	    dir_authn_state_str(st))) != 0)
		return r;
	return dir_modify(p, t->dn, dir_modset_get(&ms), NULL);
}

/*
 * directory/dir_auth.c — password verification (bind as the user, on a
 * connection used only for that, with the password policy control) and
 * password change (Password Modify extended operation, RFC 3062).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir_private.h"

/* Bind dn/pw on an AUTH connection; *pperr gets the ppolicy error. */
static int
bind_user(struct dir_pool *p, const char *dn, const char *pw, size_t pwlen,
    int *pperr)
{
	struct dir_conn *c = NULL;
	LDAPControl *pctrl = NULL, *sctrls[2] = { NULL, NULL };
	LDAPControl **rctrls = NULL, *rc_pp;
	LDAPMessage *res = NULL;
	struct berval cred;
	struct timeval tv;
	ber_int_t expire = -1, grace = -1;
	LDAPPasswordPolicyError pe = PP_noError;
	int attempt, msgid, rc = LDAP_OTHER, err = LDAP_OTHER;
	int r = CM_ERR_INTERNAL;

	*pperr = PP_noError;
	/* a bind changes password policy state (failure times, lockout)
	 * of the bound entry, and of no other */
	dir_scope_forget_dn(dn);
	tv.tv_sec = (time_t)(p->cfg.timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(p->cfg.timeout_ms % 1000) * 1000;
	for (attempt = 0; attempt < 2; attempt++) {
		if ((r = dir_conn_get(p, DIR_CONN_AUTH, &c)) != 0)
			return r;
		if (ldap_create_passwordpolicy_control(c->ld, &pctrl) !=
		    LDAP_SUCCESS) {
			dir_conn_put(p, c, 0);
			return CM_ERR_NOMEM;
		}
		sctrls[0] = pctrl;
		cred.bv_val = (char *)(uintptr_t)pw;
		cred.bv_len = pwlen;
		rc = ldap_sasl_bind(c->ld, dn, LDAP_SASL_SIMPLE, &cred, sctrls,
		    NULL, &msgid);
		ldap_control_free(pctrl);
		pctrl = NULL;
		if (rc != LDAP_SUCCESS) {
			dir_conn_put(p, c, dir_ldap_broken(rc));
			c = NULL;
			if (rc == LDAP_SERVER_DOWN && attempt == 0)
				continue;	/* stale pooled connection */
			return dir_ldap_err(rc);
		}
		break;
	}
	if (c == NULL)
		return CM_ERR_UNAVAIL;
	rc = ldap_result(c->ld, msgid, LDAP_MSG_ALL, &tv, &res);
	if (rc == 0) {
		r = CM_ERR_TIMEOUT;
		rc = LDAP_TIMEOUT;
		goto out;
	}
	if (rc < 0 || res == NULL) {
		(void)ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &rc);
		r = dir_ldap_err(rc);
		if (r == 0)
			r = CM_ERR_INTERNAL;
		goto out;
	}
	rc = ldap_parse_result(c->ld, res, &err, NULL, NULL, NULL, &rctrls, 1);
	res = NULL;	/* freed by ldap_parse_result */
	if (rc != LDAP_SUCCESS) {
		r = dir_ldap_err(rc);
		goto out;
	}
	if (rctrls != NULL && (rc_pp = ldap_control_find(
	    LDAP_CONTROL_PASSWORDPOLICYRESPONSE, rctrls, NULL)) != NULL &&
	    ldap_parse_passwordpolicy_control(c->ld, rc_pp, &expire, &grace,
	    &pe) == LDAP_SUCCESS)
		*pperr = (int)pe;
	r = dir_ldap_err(err);
	rc = err;
 out:
	if (rctrls != NULL)
		ldap_controls_free(rctrls);
	if (res != NULL)
		ldap_msgfree(res);
	dir_conn_put(p, c, dir_ldap_broken(rc));
	return r;
}

int
dir_user_passwd_verify(struct dir_pool *p, const char *uid, const char *pw,
    size_t pwlen)
{
	static const char *const attrs[] = { "skmAccountStatus", NULL };
	struct dir_result res;
	char *norm = NULL, *st = NULL;
	const char *dn;
	size_t nlen = 0, ncp = 0;
	enum dir_status status = DIR_STATUS_DISABLED;
	int r = CM_ERR_INTERNAL, known_bad = 0, pperr = PP_noError;

	memset(&res, 0, sizeof(res));
	/* RFC 4513 §5.1.2: an empty password would be an unauthenticated
	 * bind, which "succeeds"; never send one */
	if (pw == NULL || pwlen == 0 || uid == NULL)
		return CM_ERR_DENIED;
	if (dir_password_normalize(pw, pwlen, &norm, &nlen, &ncp) != 0)
		return CM_ERR_DENIED;
	if (dir_name_check(uid) != 0)
		r = CM_ERR_NOTFOUND;	/* no such name can exist */
	else
		r = dir_find_one(p, p->people_dn, "inetOrgPerson", "uid", uid,
		    attrs, &res);
	if (r == CM_ERR_NOTFOUND || r == CM_ERR_CONFLICT) {
		known_bad = 1;
	} else if (r != 0) {
		goto out;
	} else {
		if ((r = dir_entry_str(&res.v[0], "skmAccountStatus",
		    &st)) != 0)
			goto out;
		if (st == NULL || dir_status_parse(st, &status) != 0 ||
		    status != DIR_STATUS_ACTIVE)
			known_bad = 1;
	}
	/* unknown and non-active users cost the same as everyone else:
	 * one {ARGON2} check against an entry nobody knows the password of */
	dn = known_bad ? p->cfg.dummy_dn : res.v[0].dn;
	r = bind_user(p, dn, norm, nlen, &pperr);
	if (known_bad) {
		if (r == 0 || r == CM_ERR_DENIED || r == CM_ERR_LOCKED)
			r = CM_ERR_DENIED;
		goto out;
	}
	if (r == 0) {
		if (pperr == PP_changeAfterReset)
			r = DIR_ERR_MUST_CHANGE;
		goto out;
	}
	if (r == CM_ERR_DENIED) {
		if (pperr == PP_accountLocked)
			r = CM_ERR_LOCKED;
		else if (pperr == PP_passwordExpired)
			r = CM_ERR_EXPIRED;
	}
 out:
	if (r != 0 && r != CM_ERR_DENIED && r != CM_ERR_LOCKED &&
	    r != CM_ERR_EXPIRED && r != DIR_ERR_MUST_CHANGE)
		cm_warn(NULL, "dir.verify_error", "{s:s}", "error",
		    dir_strerror(r));
	free(st);
	dir_result_clear(&res);
	cm_freezero(norm, nlen + 1);
	return r;
}

int
dir_user_passwd_set(struct dir_pool *p, const char *uid, const char *pw,
    size_t pwlen, char *why, size_t whylen)
{
	struct dir_user *u = NULL;
	const char *ctx[3];
	char *norm = NULL;
	size_t nlen = 0, ncp = 0;
	int r = CM_ERR_INTERNAL, ldrc = LDAP_SUCCESS;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((r = dir_user_find(p, uid, &u)) != 0)
		goto out;
	ctx[0] = u->uid;
	ctx[1] = u->name;
	ctx[2] = u->mail;
	if ((r = dir_pwpolicy_check(p->pwpol, pw, pwlen, ctx, 3, why,
	    whylen)) != 0)
		goto out;
	if ((r = dir_password_normalize(pw, pwlen, &norm, &nlen, &ncp)) != 0)
		goto out;
	r = dir_passwd_exop(p, u->dn, norm, nlen, &ldrc, why, whylen);
	if (r == CM_ERR_POLICY && why != NULL && whylen > 0 && why[0] == '\0')
		snprintf(why, whylen, "refused by the directory's password "
		    "policy");
	if (r == 0)
		cm_info(NULL, "dir.passwd_set", "{s:s}", "uid", u->uid);
 out:
	dir_user_free(&u);
	if (norm != NULL)
		cm_freezero(norm, nlen + 1);
	return r;
}

/*
 * idp/mfa.c — second factors and the assurance policy inside the IdP:
 * the KEK and the policy file (reloaded on SIGHUP), policy decisions with
 * their audit records, and the TOTP check with throttling and cross-node
 * replay protection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idp_int.h"
#include "assurance.h"
#include "proofing/proofing.h"

struct idp_mfa {
	pthread_rwlock_t	 lock;
	idp_kek			*kek;		/* NULL: TOTP not configured */
	idp_policy		*policy;	/* NULL: no rules */
	struct idp_throttle_policy throttle;
};

static int
load_kek(struct idp *idp, idp_kek **out)
{
	int r;

	*out = NULL;
	if (idp->cfg->kek_file[0] == '\0')
		return 0;
	if ((r = idp_kek_load(idp->cfg->kek_file, out)) != 0)
		cm_err(NULL, "mfa.kek_load_failed", "{s:s, s:s}", "file",
		    idp->cfg->kek_file, "error", cm_strerror(r));
	return r;
}

static int
load_policy(struct idp *idp, idp_policy **out)
{
	char err[512] = "";
	int r;

	*out = NULL;
	if (idp->cfg->policy_file[0] == '\0')
		return 0;
	if ((r = idp_policy_load(idp->cfg->policy_file, out, err,
	    sizeof(err))) != 0)
		cm_err(NULL, "policy.load_failed", "{s:s, s:s}", "file",
		    idp->cfg->policy_file, "error", err);
	return r;
}

int
idp_mfa_init(struct idp *idp)
{
	struct idp_mfa *m;
	int r;

	if ((r = idp_totp_init()) != 0)
		return r;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return CM_ERR_NOMEM;
	pthread_rwlock_init(&m->lock, NULL);
	idp_throttle_policy_default(&m->throttle);
	if ((r = load_kek(idp, &m->kek)) != 0 ||
	    (r = load_policy(idp, &m->policy)) != 0) {
		idp_kek_free(&m->kek);
		idp_policy_free(&m->policy);
		free(m);
		return r;
	}
	idp->mfa = m;
	return 0;
}

void
idp_mfa_free(struct idp *idp)
{
	struct idp_mfa *m = idp->mfa;

	if (m == NULL)
		return;
	idp_kek_free(&m->kek);
	idp_policy_free(&m->policy);
	pthread_rwlock_destroy(&m->lock);
	free(m);
	idp->mfa = NULL;
}

/* Reload the KEK and the policy; what fails to load keeps the old one. */
int
idp_reload(struct idp *idp)
{
	struct idp_mfa *m = idp->mfa;
	idp_kek *k = NULL;
	idp_policy *p = NULL;
	int rk, rp;

	rk = load_kek(idp, &k);
	rp = load_policy(idp, &p);
	pthread_rwlock_wrlock(&m->lock);
	if (rk == 0 && k != NULL) {
		idp_kek_free(&m->kek);
		m->kek = k;
		k = NULL;
	}
	if (rp == 0 && p != NULL) {
		idp_policy_free(&m->policy);
		m->policy = p;
		p = NULL;
	}
	pthread_rwlock_unlock(&m->lock);
	idp_kek_free(&k);
	idp_policy_free(&p);
	{
		int rs = idp_ssf_reload(idp);

		(void)idp_wa_reload(idp);	/* MDS BLOB (webauthn.c) */

		cm_info(NULL, "idp.reloaded", "{s:b, s:b, s:b}", "kek", rk == 0,
		    "policy", rp == 0, "ssf", rs == 0);
		return rk != 0 ? rk : rp != 0 ? rp : rs;
	}
}

int
idp_mfa_totp_enabled(struct idp *idp)
{
	int on;

	pthread_rwlock_rdlock(&idp->mfa->lock);
	on = idp->mfa->kek != NULL;
	pthread_rwlock_unlock(&idp->mfa->lock);
	return on;
}

/* Split a space-separated list into at most max borrowed tokens of copy. */
static size_t
split(char *copy, const char **v, size_t max)
{
	char *save = NULL, *t;
	size_t n = 0;

	for (t = strtok_r(copy, " ", &save); t != NULL && n < max;
	    t = strtok_r(NULL, " ", &save))
		v[n++] = t;
	return n;
}

/*
 * Evaluate a prepared context.  Report-only results and every decision
 * that is not "allow" go to the audit stream; an allow goes there too when
 * audit_allow (logins), else to the log (forward-auth: one per request).
 * A failure to evaluate or to audit denies.
 */
int
idp_policy_decide_ctx(struct idp *idp, struct brk_req *r,
    const struct idp_policy_ctx *ctx, const char *uid, int audit_allow,
    struct idp_policy_decision *d)
{
	idp_policy *empty = NULL;
	char err[128];
	size_t i;
	int rc;

	memset(d, 0, sizeof(*d));
	pthread_rwlock_rdlock(&idp->mfa->lock);
	if (idp->mfa->policy != NULL)
		rc = idp_policy_evaluate(idp->mfa->policy, ctx, d);
	else {
		/* no policy file: client acr_values/max_age still count */
		rc = idp_policy_parse((const uint8_t *)"", 0, "(none)", &empty,
		    err, sizeof(err));
		if (rc == 0)
			rc = idp_policy_evaluate(empty, ctx, d);
	}
	pthread_rwlock_unlock(&idp->mfa->lock);
	idp_policy_free(&empty);
	for (i = 0; rc == 0 && i < d->nreports; i++) {
		/* report-only: what it would have done, never enforced */
		if (cm_audit_emit(brk_req_id(r), "policy.report_only",
		    "{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}", "rule",
		    d->reports[i].rule, "would",
		    idp_policy_effect_name(d->reports[i].effect), "reason",
		    d->reports[i].reason, "client_id", ctx->client_id,
		    "uid", uid, "host", ctx->host, "path", ctx->path) != 0)
			rc = CM_ERR_IO;
	}
	if (rc == 0 && (audit_allow || d->effect != IDP_POLICY_ALLOW)) {
		if (cm_audit_emit(brk_req_id(r), "policy.decision",
		    "{s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:i, s:s?, s:s?,"
		    " s:s, s:i}",
		    "effect", idp_policy_effect_name(d->effect), "rule",
		    d->rule, "reason", d->reason, "matched", d->matched,
		    "client_id", ctx->client_id, "uid", uid, "source_ip",
		    ctx->source_ip, "level", (int)d->level, "host", ctx->host,
		    "path", ctx->path, "risk", idp_risk_name(ctx->risk),
		    "device", (int)ctx->device) != 0)
			rc = CM_ERR_IO;
	} else if (rc == 0)
		cm_info(brk_req_id(r), "policy.decision", "{s:s, s:s, s:s?, "
		    "s:s?, s:s?}", "effect", "allow", "rule", d->rule, "uid",
		    uid, "host", ctx->host, "path", ctx->path);
	if (rc != 0)
		d->effect = IDP_POLICY_DENY;	/* fail closed */
	return rc;
}

int
idp_policy_decide(struct idp *idp, struct brk_req *r, const char *client_id,
    const json_t *req, const char *uid, int aal, const json_t *amr,
    int64_t auth_time, struct idp_policy_decision *d)
{
	struct idp_policy_ctx ctx;
	struct idp_risk_view risk;
	const char *scopes[IDP_SCOPES_MAX], *acrs[16];
	const char *groups[DIR_GROUP_MAX_RESULT];
	char *scopes_copy = NULL, *acr_copy = NULL, **gnames = NULL;
	size_t ngroups = 0, i;
	json_t *v;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.client_id = client_id;
	ctx.source_ip = brk_req_client_ip(r);
	ctx.now = cm_time();
	ctx.aal = (enum idp_aal)aal;
	ctx.auth_time = auth_time;
	ctx.max_age = -1;
	json_array_foreach(amr, i, v) {
		uint32_t bit;
		const char *s = json_string_value(v);

		if (s != NULL && idp_amr_parse(s, strlen(s), &bit) == 0)
			ctx.amr |= bit;
	}
	if (req != NULL) {
		const char *s = json_string_value(json_object_get(req, "scope"));
		json_t *ma = json_object_get(req, "max_age");

		if (s != NULL && (scopes_copy = strdup(s)) != NULL) {
			ctx.scopes = scopes;
			ctx.nscopes = split(scopes_copy, scopes, IDP_SCOPES_MAX);
		}
		s = json_string_value(json_object_get(req, "acr_values"));
		if (s != NULL && (acr_copy = strdup(s)) != NULL) {
			ctx.acr_values = acrs;
			ctx.nacr_values = split(acr_copy, acrs, 16);
		}
		if (json_is_integer(ma))
			ctx.max_age = json_integer_value(ma);
	}
	if (uid != NULL && dir_user_groups(idp->dir, uid, 1, &gnames,
	    &ngroups) == 0) {
		for (i = 0; i < ngroups && i < DIR_GROUP_MAX_RESULT; i++)
			groups[i] = gnames[i];
		ctx.groups = groups;
		ctx.ngroups = i;
	}
	/* the subject's identity proofing, and the device it comes from */
	ctx.device_proofed = -1;
	if (uid != NULL)
		ctx.ial = prf_current_ial(idp->dir, PRF_KIND_PERSON, uid,
		    ctx.now);
	if (ctx.ial < 0)
		ctx.ial = 0;
	{
		char dev[DIR_NAME_MAX + 1];
		int proofed;

		if (idp_device_of_request(idp, r, dev, sizeof(dev)) == 0) {
			ctx.device = (enum idp_device_state)idp_device_lookup(
			    idp, dev, &proofed);
			ctx.device_proofed = proofed;
		}
	}
	/* the user's risk now: PDP signals and our own (signals.c) */
	if (uid != NULL) {
		if (idp_risk_get(idp, uid, NULL, &risk) != 0)
			risk.level = IDP_RISK_HIGH;
		if (idp_risk_login_signals(idp, r, uid, &risk) != 0)
			risk.level = IDP_RISK_HIGH;
		ctx.risk = risk.level;
	}
	rc = idp_policy_decide_ctx(idp, r, &ctx, uid, 1, d);
	free(scopes_copy);
	free(acr_copy);
	dir_names_free(&gnames, ngroups);
	return rc;
}

/* Unwrap with the current KEK; an unknown kid means the file was rotated
 * by another node or brokerctl: reload once and try again. */
static int
unwrap(struct idp *idp, const char *uid, const char *wrapped, uint8_t **sec,
    size_t *len)
{
	int r;

	pthread_rwlock_rdlock(&idp->mfa->lock);
	r = idp->mfa->kek == NULL ? CM_ERR_UNSUPPORTED :
	    idp_kek_unwrap(idp->mfa->kek, "totp", uid, wrapped,
	    strlen(wrapped), sec, len);
	pthread_rwlock_unlock(&idp->mfa->lock);
	if (r == CM_ERR_NOTFOUND && idp_reload(idp) == 0) {
		pthread_rwlock_rdlock(&idp->mfa->lock);
		r = idp_kek_unwrap(idp->mfa->kek, "totp", uid, wrapped,
		    strlen(wrapped), sec, len);
		pthread_rwlock_unlock(&idp->mfa->lock);
	}
	return r;
}

int
idp_mfa_wrap(struct idp *idp, const char *uid, const uint8_t *sec,
    size_t len, char **out)
{
	int r;

	pthread_rwlock_rdlock(&idp->mfa->lock);
	r = idp->mfa->kek == NULL ? CM_ERR_UNSUPPORTED :
	    idp_kek_wrap(idp->mfa->kek, "totp", uid, sec, len, out);
	pthread_rwlock_unlock(&idp->mfa->lock);
	return r;
}

int
idp_mfa_unwrap(struct idp *idp, const char *uid, const char *wrapped,
    uint8_t **sec, size_t *len)
{
	return unwrap(idp, uid, wrapped, sec, len);
}

/*
 * Check a TOTP code (or a recovery code) of uid's active factor.
 * 0: accepted (*recovery set when a recovery code was spent);
 * CM_ERR_DENIED wrong; CM_ERR_LOCKED throttled; IDP_ERR_TOTP_REPLAY
 * replayed; CM_ERR_NOTFOUND no active factor; others: infrastructure.
 */
int
idp_mfa_totp_check(struct idp *idp, struct brk_req *r, const char *uid,
    const char *code, int *recovery)
{
	struct idp_throttle_state ts;
	struct idp_throttle_decision td;
	struct dir_totp *t = NULL;
	uint8_t *sec = NULL;
	size_t seclen = 0, matched;
	long long last = -1, v;
	int64_t step = 0, now = cm_time();
	int rc, tries;

	*recovery = 0;
	for (tries = 0; tries < 2; tries++) {
		dir_totp_free(&t);
		if ((rc = dir_totp_get(idp->dir, uid, &t)) != 0)
			goto out;
		if (t->state != DIR_AUTHN_ACTIVE) {
			rc = CM_ERR_NOTFOUND;
			goto out;
		}
		ts.failures = (uint32_t)t->failure_count;
		ts.last_failure = t->failure_at;
		if ((rc = idp_throttle_check(&idp->mfa->throttle, &ts, now,
		    &td)) != 0 || td.verdict != IDP_THROTTLE_ALLOW) {
			rc = CM_ERR_LOCKED;
			goto out;
		}
		/* a recovery code: Crockford letters, 10 or "XXXXX-XXXXX" */
		if (strlen(code) > 8 && t->nrecovery > 0 &&
		    idp_recovery_verify(code, strlen(code),
		    (const char *const *)t->recovery, t->nrecovery,
		    &matched) == 0) {
			rc = dir_totp_use_recovery(idp->dir, t,
			    t->recovery[matched]);
			if (rc == CM_ERR_CONFLICT)
				continue;	/* spent concurrently: re-read */
			*recovery = rc == 0;
			goto out;
		}
		last = -1;
		if (t->last_step != NULL &&
		    cm_parse_ll(t->last_step, 0, INT64_MAX, &v) == 0)
			last = v;
		idp_kek_secret_free(&sec, seclen);
		if ((rc = unwrap(idp, uid, t->secret, &sec, &seclen)) != 0)
			goto out;
		rc = idp_totp_verify(sec, seclen, IDP_TOTP_SHA1, 6, code,
		    strlen(code), now, last, &step);
		if (rc == CM_ERR_DENIED || rc == CM_ERR_INVAL) {
			if (dir_totp_record_failure(idp->dir, t, now) != 0)
				cm_warn(brk_req_id(r), "mfa.failure_not_recorded",
				    "{s:s}", "uid", uid);
			rc = CM_ERR_DENIED;
			goto out;
		}
		if (rc != 0)
			goto out;		/* replay, or worse */
		/* the compare-and-swap makes the step ours, on every node */
		rc = dir_totp_accept_step(idp->dir, t, step);
		if (rc != CM_ERR_CONFLICT)
			goto out;
		/* another node moved it: re-read; the same step is a replay */
	}
 out:
	idp_kek_secret_free(&sec, seclen);
	dir_totp_free(&t);
	return rc;
}

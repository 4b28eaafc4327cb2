/*
 * idp/forward.c — the forward-auth endpoint for reverse proxies (nginx
 * auth_request, and the same contract for others):
 *
 *   GET /forward-auth
 *     Authorization: Bearer <access token>     (or the SSO session cookie)
 *     X-Forwarded-Host: app.example            the resource's host
 *     X-Original-URI: /admin/users?x=1         its path (query ignored)
 *     X-Device-Id: <id>                        optional, set by the proxy
 *                                              (e.g. from a client cert)
 *
 * Every request is judged now, not at login: the token must still be
 * active here (not revoked, its session alive), and the policy is evaluated
 * for the host and path with the subject's current risk and the device's
 * current compliance.  Answers:
 *
 *   200  X-Auth-Subject, X-Auth-Groups, X-Auth-Acr, X-Auth-Amr,
 *        X-Auth-Client-Id, X-Auth-Device, X-Auth-Risk  (identity for the app)
 *   401  WWW-Authenticate: Bearer error="invalid_token" — no usable token
 *   401  WWW-Authenticate: Bearer error="insufficient_user_authentication",
 *        error_description="...", acr_values="...", max_age="..." (RFC 9470)
 *   403  refused by policy (network, device, risk, deny rule)
 *
 * each with our error code and the request id in a JSON body.  The
 * headers X-Forwarded-Host, X-Original-URI and X-Device-Id are believed
 * only from forward_auth_networks (default: loopback).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "idp_int.h"
#include "assurance.h"
#include "proofing/proofing.h"

static int
from_proxy(struct idp *idp, struct brk_req *r)
{
	const char *ip = brk_req_client_ip(r);

	(void)idp;
	/* the proxies that may speak for a request: loopback for now; a
	 * forward_auth_networks key would widen this (documented) */
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

static void
fa_error(struct brk_req *r, int status, enum cm_eid id, const char *www,
    const char *desc)
{
	const struct cm_errdef *e = cm_errcat_get(id);

	if (www != NULL)
		(void)brk_resp_header(r, "WWW-Authenticate", www);
	brk_resp_json(r, status, json_pack("{s:s, s:s, s:s, s:s}",
	    "error", e->oauth_error ? e->oauth_error : "access_denied",
	    "error_description", desc ? desc : e->msg_en,
	    "code", e->code, "request_id", brk_req_id(r)));
}

/* aal from an acr URI of ours (0 when unknown). */
static int
acr_aal(const char *acr)
{
	enum idp_aal a;

	if (acr == NULL || idp_aal_from_acr(acr, strlen(acr), &a) != 0)
		return 0;
	return (int)a;
}

/* The token's identity, or the session cookie's. */
static int
subject_of(struct idp *idp, struct brk_req *r, json_t **claims)
{
	const char *h = brk_req_header(r, "Authorization");
	struct idp_session *s = NULL;
	int rc;

	*claims = NULL;
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		return idp_access_verify(idp, h, claims);
	}
	if ((rc = idp_session_current(idp, r, &s)) != 0)
		return rc == CM_ERR_NOTFOUND ? CM_ERR_DENIED : rc;
	*claims = json_pack("{s:s, s:s, s:O, s:I, s:s, s:s}", "sub", s->uid,
	    "acr", idp_acr_uri(s->aal), "amr", s->amr, "auth_time",
	    (json_int_t)s->auth_time, "sid", s->sid, "client_id",
	    "sekimori-session");
	idp_session_free(&s);
	return *claims != NULL ? 0 : CM_ERR_NOMEM;
}

/* A device's compliance (directory) and whether it is proofed (a valid
 * device proofing record).  An unknown id is UNKNOWN, not proofed. */
int
idp_device_lookup(struct idp *idp, const char *id, int *proofed)
{
	struct dir_device *d = NULL;
	enum idp_device_state st = IDP_DEVICE_UNKNOWN;

	*proofed = -1;
	if (id == NULL || *id == '\0')
		return IDP_DEVICE_NONE;
	*proofed = 0;
	if (dir_name_check(id) != 0 || dir_device_find(idp->dir, id, &d) != 0)
		return IDP_DEVICE_UNKNOWN;
	if (d->status == DIR_STATUS_ACTIVE && d->compliance != NULL) {
		if (strcmp(d->compliance, "compliant") == 0)
			st = IDP_DEVICE_COMPLIANT;
		else if (strcmp(d->compliance, "noncompliant") == 0)
			st = IDP_DEVICE_NOT_COMPLIANT;
	} else if (d->status != DIR_STATUS_ACTIVE)
		st = IDP_DEVICE_NOT_COMPLIANT;
	dir_device_free(&d);
	*proofed = prf_valid(idp->dir, PRF_KIND_DEVICE, id, PRF_IAL_NONE, 0,
	    cm_time(), NULL) == 0;
	return st;
}

/* The device a request comes from: a client certificate (mutual TLS,
 * verified against tls_client_ca) whose subject CN is an inventoried
 * device and whose subject serialNumber is that device's serial.
 * 0 with id set, or CM_ERR_NOTFOUND. */
int
idp_device_of_request(struct idp *idp, struct brk_req *r, char *id,
    size_t idsz)
{
	struct dir_device *d = NULL;
	char serial[128], cn[DIR_NAME_MAX + 1];
	int ok;

	id[0] = '\0';
	if (brk_req_client_cert(r, serial, sizeof(serial), cn,
	    sizeof(cn)) != 0 || dir_name_check(cn) != 0 ||
	    dir_device_find(idp->dir, cn, &d) != 0)
		return CM_ERR_NOTFOUND;
	ok = d->serial != NULL && strcmp(d->serial, serial) == 0 &&
	    d->status == DIR_STATUS_ACTIVE;
	dir_device_free(&d);
	if (!ok || (size_t)snprintf(id, idsz, "%s", cn) >= idsz) {
		id[0] = '\0';
		return CM_ERR_NOTFOUND;
	}
	return 0;
}

void
idp_h_forward_auth(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct idp_policy_decision d;
	struct idp_policy_ctx pc;
	const char *host = NULL, *uri = NULL, *devid = NULL, *sub, *cid;
	const char *scopes[IDP_SCOPES_MAX], *groups[DIR_GROUP_MAX_RESULT];
	char path[1024], device[DIR_NAME_MAX + 1], www[768], *scopy = NULL;
	char *save = NULL, *t;
	json_t *cl = NULL, *v;
	struct cm_buf gb, ab;
	struct idp_risk_view risk;
	size_t i;
	int rc;

	(void)app;
	cm_buf_init(&gb, 4096, 0);
	cm_buf_init(&ab, 256, 0);
	memset(&pc, 0, sizeof(pc));
	memset(&risk, 0, sizeof(risk));
	if (from_proxy(idp, r)) {
		host = brk_req_header(r, "X-Forwarded-Host");
		uri = brk_req_header(r, "X-Original-URI");
		devid = brk_req_header(r, "X-Device-Id");
	}
	snprintf(path, sizeof(path), "%.*s", uri ? (int)strcspn(uri, "?#") : 1,
	    uri ? uri : "/");
	if ((rc = subject_of(idp, r, &cl)) != 0) {
		if (rc == CM_ERR_UNAVAIL || rc == CM_ERR_TIMEOUT)
			fa_error(r, 503, CM_E_DIR_UNAVAILABLE, NULL, NULL);
		else
			fa_error(r, 401, CM_E_OAUTH_INVALID_TOKEN,
			    "Bearer error=\"invalid_token\"",
			    "no active access token or session");
		goto out;
	}
	sub = json_string_value(json_object_get(cl, "sub"));
	cid = json_string_value(json_object_get(cl, "client_id"));
	/* the device: a claim of the token, or the proxy's word */
	if (json_string_value(json_object_get(cl, "device")) != NULL)
		devid = json_string_value(json_object_get(cl, "device"));
	{
		int proofed;

		device[0] = '\0';
		if (devid != NULL)
			snprintf(device, sizeof(device), "%s", devid);
		pc.device = (enum idp_device_state)idp_device_lookup(idp,
		    devid, &proofed);
		pc.device_proofed = proofed;
	}
	pc.ial = (int)json_integer_value(json_object_get(cl, "ial"));
	if (idp_risk_get(idp, sub, devid, &risk) != 0)
		risk.level = IDP_RISK_HIGH;	/* unknown: fail closed */
	pc.risk = risk.level;
	pc.client_id = cid ? cid : "-";
	pc.source_ip = brk_req_client_ip(r);
	pc.now = cm_time();
	pc.aal = (enum idp_aal)acr_aal(json_string_value(json_object_get(cl,
	    "acr")));
	pc.auth_time = json_integer_value(json_object_get(cl, "auth_time"));
	pc.max_age = -1;
	pc.host = host;
	pc.path = path;
	json_array_foreach(json_object_get(cl, "amr"), i, v) {
		uint32_t bit;

		if (json_is_string(v) && idp_amr_parse(json_string_value(v),
		    json_string_length(v), &bit) == 0)
			pc.amr |= bit;
	}
	if (json_string_value(json_object_get(cl, "scope")) != NULL &&
	    (scopy = strdup(json_string_value(json_object_get(cl,
	    "scope")))) != NULL) {
		for (t = strtok_r(scopy, " ", &save); t != NULL &&
		    pc.nscopes < IDP_SCOPES_MAX; t = strtok_r(NULL, " ", &save))
			scopes[pc.nscopes++] = t;
		pc.scopes = scopes;
	}
	json_array_foreach(json_object_get(cl, "groups"), i, v) {
		if (json_is_string(v) && pc.ngroups < DIR_GROUP_MAX_RESULT)
			groups[pc.ngroups++] = json_string_value(v);
	}
	pc.groups = groups;
	if ((rc = idp_policy_decide_ctx(idp, r, &pc, sub, 0, &d)) != 0) {
		fa_error(r, 503, CM_E_AUDIT_UNAVAILABLE, NULL, NULL);
		goto out;
	}
	switch (d.effect) {
	case IDP_POLICY_ALLOW:
		break;
	case IDP_POLICY_DENY:
		fa_error(r, 403, CM_E_NETWORK_DENIED, NULL, d.reason);
		goto out;
	case IDP_POLICY_STEP_UP:
	case IDP_POLICY_REAUTHENTICATE:
		/* RFC 9470: the client asks for a new token that meets it */
		if (d.effect == IDP_POLICY_REAUTHENTICATE && d.max_age >= 0)
			snprintf(www, sizeof(www), "Bearer error="
			    "\"insufficient_user_authentication\", "
			    "error_description=\"authentication too old\", "
			    "acr_values=\"%s\", max_age=\"%lld\"",
			    idp_acr_uri(d.level > 0 ? (int)d.level : 1),
			    (long long)d.max_age);
		else
			snprintf(www, sizeof(www), "Bearer error="
			    "\"insufficient_user_authentication\", "
			    "error_description=\"a stronger authentication is "
			    "required\", acr_values=\"%s\"",
			    idp_acr_uri(d.level > 0 ? (int)d.level : 1));
		fa_error(r, 401, CM_E_STEP_UP_REQUIRED, www, d.reason);
		goto out;
	}
	json_array_foreach(json_object_get(cl, "groups"), i, v) {
		if (json_is_string(v) && cm_buf_appendf(&gb, "%s%s",
		    gb.len ? "," : "", json_string_value(v)) != 0)
			break;
	}
	json_array_foreach(json_object_get(cl, "amr"), i, v) {
		if (json_is_string(v) && cm_buf_appendf(&ab, "%s%s",
		    ab.len ? " " : "", json_string_value(v)) != 0)
			break;
	}
	if (cm_buf_cstr(&gb) != 0 || cm_buf_cstr(&ab) != 0 ||
	    brk_resp_header(r, "X-Auth-Subject", sub) != 0 ||
	    brk_resp_header(r, "X-Auth-Groups", (char *)gb.data) != 0 ||
	    brk_resp_header(r, "X-Auth-Acr", idp_acr_uri(pc.aal ?
	    (int)pc.aal : 1)) != 0 ||
	    brk_resp_header(r, "X-Auth-Amr", (char *)ab.data) != 0 ||
	    brk_resp_header(r, "X-Auth-Client-Id", pc.client_id) != 0 ||
	    brk_resp_header(r, "X-Auth-Risk", idp_risk_name(pc.risk)) != 0 ||
	    (device[0] != '\0' && brk_resp_header(r, "X-Auth-Device",
	    device) != 0)) {
		fa_error(r, 500, CM_E_INTERNAL, NULL, NULL);
		goto out;
	}
	brk_resp_json(r, 200, json_pack("{s:s, s:s, s:s}", "sub", sub,
	    "decision", "allow", "rule", d.rule));
 out:
	cm_buf_free(&gb);
	cm_buf_free(&ab);
	free(scopy);
	json_decref(cl);
}

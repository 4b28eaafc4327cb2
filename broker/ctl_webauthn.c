/*
 * broker/ctl_webauthn.c — brokerctl webauthn: WebAuthn credentials from
 * the operator's console.
 *
 *   webauthn list UID              a user's credentials
 *   webauthn suspend UID KEY       suspend one (help desk, e.g. lost key)
 *   webauthn bootstrap UID         a one-time enrolment code (15 minutes)
 *                                  for the FIRST administrator's hardware
 *                                  key, which is then active at once
 *   webauthn list-pending          pending administrator keys
 *   webauthn approve UID KEY       approve one from the console
 *
 * bootstrap, list-pending and approve exist only for the bootstrap: they
 * are refused as soon as any administrator has an active hardware key
 * (from then on a second administrator approves, at AAL3, on
 * /admin/approvals).  The code is printed once and stored only as its
 * SHA-256; every use is audited (audit_file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

#define CTL_WA_BOOTSTRAP_TTL	900	/* seconds */

static int
audit_open(struct brk_ctl *ctl)
{
	if (ctl->cfg->audit_file[0] == '\0' ||
	    cm_audit_open(ctl->cfg->audit_file) != 0) {
		brk_ctl_errx("cannot open the audit file");
		return 1;
	}
	return 0;
}

static int
is_admin(struct brk_ctl *ctl, struct dir_pool *dp, const char *uid)
{
	int r;

	r = dir_group_is_member(dp, ctl->admin_group, uid, 1);
	return r == 0 ? 1 : r == CM_ERR_NOTFOUND ? 0 : -1;
}

/* 1 when an administrator has an active trusted hardware key. */
static int
bootstrap_over(struct brk_ctl *ctl, struct dir_pool *dp)
{
	struct dir_wa_cred **v = NULL;
	size_t n = 0, i;
	int found = 0;

	if (dir_wa_list_state(dp, DIR_AUTHN_ACTIVE, &v, &n) != 0)
		return -1;
	for (i = 0; i < n && found == 0; i++)
		if (v[i]->trust != NULL &&
		    strcmp(v[i]->trust, "trusted_hardware") == 0)
			found = is_admin(ctl, dp, v[i]->uid);
	dir_wa_list_free(&v, n);
	return found;
}

static json_t *
cred_json(const struct dir_wa_cred *c)
{
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:I}",
	    "uid", c->uid, "key", c->cn, "state",
	    dir_authn_state_str(c->state), "label", c->label, "aaguid",
	    c->aaguid, "trust", c->trust, "created", c->created,
	    "approved_by", c->approved_by, "sign_count",
	    (json_int_t)c->sign_count_n);
}

static void
print_list(struct brk_ctl *ctl, struct dir_wa_cred **v, size_t n)
{
	json_t *a;
	size_t i;

	if (ctl->json) {
		if ((a = json_array()) == NULL)
			return;
		for (i = 0; i < n; i++)
			json_array_append_new(a, cred_json(v[i]));
		brk_ctl_print_json(a);
		return;
	}
	for (i = 0; i < n; i++)
		printf("%s %s %s %s %s\n", v[i]->uid, v[i]->cn,
		    dir_authn_state_str(v[i]->state), v[i]->trust ?
		    v[i]->trust : "-", v[i]->label ? v[i]->label : "-");
}

/* Refuse the bootstrap-only commands once it is over. */
static int
bootstrap_only(struct brk_ctl *ctl, struct dir_pool *dp, const char *verb)
{
	int over = bootstrap_over(ctl, dp);

	if (over < 0) {
		brk_ctl_errx("directory unavailable");
		return 2;
	}
	if (over > 0) {
		brk_ctl_errx("webauthn %s: refused: an administrator already "
		    "has an active hardware key; a second administrator "
		    "approves keys on /admin/approvals", verb);
		return 1;
	}
	return 0;
}

static int
cmd_bootstrap(struct brk_ctl *ctl, struct dir_pool *dp, const char *uid)
{
	char *code = NULL, key[44], data[256];
	int r, adm;

	if ((r = bootstrap_only(ctl, dp, "bootstrap")) != 0)
		return r;
	if ((adm = is_admin(ctl, dp, uid)) <= 0) {
		brk_ctl_errx("webauthn bootstrap: %s is not a member of %s",
		    uid, ctl->admin_group);
		return adm < 0 ? 2 : 1;
	}
	if (audit_open(ctl) != 0)
		return 1;
	if (cm_random_b64url(32, &code) != 0 || dir_wa_key(code, key) != 0) {
		cm_strfree(&code);
		return 1;
	}
	snprintf(data, sizeof(data), "{\"purpose\":\"bootstrap\",\"uid\":"
	    "\"%s\"}", uid);	/* uid passed dir_name_check: [a-z0-9._-] */
	if ((r = dir_state_add(dp, "wa", key, uid, NULL, data, cm_time() +
	    CTL_WA_BOOTSTRAP_TTL)) != 0) {
		brk_ctl_errx("webauthn bootstrap: %s", cm_strerror(r));
		cm_strfree(&code);
		return 2;
	}
	if (cm_audit_emit(NULL, "webauthn.bootstrap_issued", "{s:s, s:s, s:i}",
	    "uid", uid, "by", "brokerctl", "ttl", CTL_WA_BOOTSTRAP_TTL) != 0) {
		if (dir_state_delete(dp, "wa", key) != 0)
			brk_ctl_errx("could not withdraw the code");
		brk_ctl_errx("audit write failed: code withdrawn");
		cm_strfree(&code);
		return 1;
	}
	if (ctl->json)
		brk_ctl_print_json(json_pack("{s:s, s:s, s:i}", "uid", uid,
		    "code", code, "expires_in", CTL_WA_BOOTSTRAP_TTL));
	else
		printf("One-time enrolment code for %s (valid %d minutes, "
		    "shown once):\n%s\n", uid, CTL_WA_BOOTSTRAP_TTL / 60, code);
	cm_strfree(&code);
	return 0;
}

static int
cmd_approve(struct brk_ctl *ctl, struct dir_pool *dp, const char *uid,
    const char *key)
{
	struct dir_wa_cred *c = NULL;
	int r, adm;

	if ((r = bootstrap_only(ctl, dp, "approve")) != 0)
		return r;
	if ((r = dir_wa_get(dp, uid, key, &c)) != 0) {
		brk_ctl_errx("webauthn approve: %s %s: %s", uid, key,
		    cm_strerror(r));
		return r == CM_ERR_NOTFOUND || r == CM_ERR_INVAL ? 1 : 2;
	}
	if ((adm = is_admin(ctl, dp, uid)) <= 0 ||
	    c->state != DIR_AUTHN_PENDING || c->trust == NULL ||
	    strcmp(c->trust, "trusted_hardware") != 0) {
		brk_ctl_errx("webauthn approve: not a pending administrator "
		    "hardware key");
		dir_wa_free(&c);
		return adm < 0 ? 2 : 1;
	}
	if (audit_open(ctl) != 0) {
		dir_wa_free(&c);
		return 1;
	}
	if ((r = dir_wa_set_state(dp, c, DIR_AUTHN_PENDING,
	    DIR_AUTHN_ACTIVE)) != 0) {
		brk_ctl_errx("webauthn approve: %s", cm_strerror(r));
		dir_wa_free(&c);
		return r == CM_ERR_CONFLICT ? 1 : 2;
	}
	if (cm_audit_emit(NULL, "webauthn.approved", "{s:s, s:s, s:s}",
	    "approver", "brokerctl (bootstrap)", "uid", uid, "credential",
	    key) != 0)
		brk_ctl_errx("audit write failed");
	printf("approved %s %s\n", uid, key);
	dir_wa_free(&c);
	return 0;
}

static int
cmd_suspend(struct brk_ctl *ctl, struct dir_pool *dp, const char *uid,
    const char *key)
{
	struct dir_wa_cred *c = NULL;
	int r;

	if ((r = dir_wa_get(dp, uid, key, &c)) != 0) {
		brk_ctl_errx("webauthn suspend: %s", cm_strerror(r));
		return r == CM_ERR_NOTFOUND || r == CM_ERR_INVAL ? 1 : 2;
	}
	if (audit_open(ctl) != 0) {
		dir_wa_free(&c);
		return 1;
	}
	r = dir_wa_set_state(dp, c, c->state, DIR_AUTHN_SUSPENDED);
	if (r == 0 && cm_audit_emit(NULL, "webauthn.suspended",
	    "{s:s, s:s, s:s}", "uid", uid, "credential", key, "reason",
	    "brokerctl") != 0)
		brk_ctl_errx("audit write failed");
	dir_wa_free(&c);
	if (r != 0) {
		brk_ctl_errx("webauthn suspend: %s", cm_strerror(r));
		return 1;
	}
	return 0;
}

int
brk_ctl_webauthn(struct brk_ctl *ctl, int argc, char **argv)
{
	struct dir_pool *dp;
	struct dir_wa_cred **v = NULL;
	size_t n = 0;
	const char *verb = argc > 1 ? argv[1] : "";
	int r;

	if (strcmp(verb, "list") != 0 && strcmp(verb, "suspend") != 0 &&
	    strcmp(verb, "bootstrap") != 0 &&
	    strcmp(verb, "list-pending") != 0 && strcmp(verb, "approve") != 0) {
		brk_ctl_errx("usage: webauthn list UID | suspend UID KEY | "
		    "bootstrap UID | list-pending | approve UID KEY");
		return 1;
	}
	if ((argc > 2 && dir_name_check(argv[2]) != 0) ||
	    ((strcmp(verb, "list") == 0 || strcmp(verb, "bootstrap") == 0) &&
	    argc != 3) || ((strcmp(verb, "suspend") == 0 ||
	    strcmp(verb, "approve") == 0) && argc != 4) ||
	    (strcmp(verb, "list-pending") == 0 && argc != 2)) {
		brk_ctl_errx("webauthn %s: bad arguments", verb);
		return 1;
	}
	if ((dp = brk_ctl_dir(ctl)) == NULL)
		return 2;
	if (strcmp(verb, "bootstrap") == 0)
		return cmd_bootstrap(ctl, dp, argv[2]);
	if (strcmp(verb, "approve") == 0)
		return cmd_approve(ctl, dp, argv[2], argv[3]);
	if (strcmp(verb, "suspend") == 0)
		return cmd_suspend(ctl, dp, argv[2], argv[3]);
	if (strcmp(verb, "list-pending") == 0) {
		if ((r = bootstrap_only(ctl, dp, "list-pending")) != 0)
			return r;
		r = dir_wa_list_state(dp, DIR_AUTHN_PENDING, &v, &n);
	} else
		r = dir_wa_list(dp, argv[2], &v, &n);
	if (r != 0) {
		brk_ctl_errx("webauthn %s: %s", verb, cm_strerror(r));
		return r == CM_ERR_NOTFOUND ? 1 : 2;
	}
	print_list(ctl, v, n);
	dir_wa_list_free(&v, n);
	return 0;
}

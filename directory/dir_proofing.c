/*
 * directory/dir_proofing.c — identity proofing records, children of the
 * subject they proof
 *
 *   cn=<record id>,uid=<uid>,ou=people,<base>
 *   cn=<record id>,cn=<device>,ou=devices,<base>
 *     objectClass skmProofingRecord
 *     skmProofingLevel      IAL1 | IAL2 | IAL3
 *     skmProofedAt          when (GeneralizedTime)
 *     skmProofingMethod     in_person, ...
 *     skmProofingStatus     valid | superseded | revoked | failed
 *                           (changed only by compare-and-swap)
 *     skmProofingReason     why it is not valid (any more)
 *     skmProofingExpires    re-proofing date
 *     skmProofingOfficer    uid:<officer> | brokerctl:<unix user>
 *     skmProofedBy          the officer's DN when a directory user
 *     skmProofingData       the whole record as JSON (proofing/proofing.h)
 *     skmProofingDocumentHash  keyed hashes of document numbers
 *     skmRecoveryCodeHash   Argon2id hash of the one-time recovery code
 *     skmRecoveryCodeExpires
 *
 * Records are never modified except for the status, its reason and the
 * spending of the recovery code; history is kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dir_private.h"

static const char *const prf_attrs[] = {
	"cn", "skmProofingStatus", "skmProofingReason", "skmProofingData",
	"skmRecoveryCodeHash", "skmRecoveryCodeExpires", NULL
};

void
dir_proofing_free(struct dir_proofing **rp)
{
	struct dir_proofing *r;
	size_t i;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	free(r->dn);
	free(r->cn);
	free(r->status);
	free(r->reason);
	free(r->data);
	for (i = 0; i < r->ncode_hashes; i++)
		free(r->code_hashes[i]);
	free(r->code_hashes);
	free(r);
	*rp = NULL;
}

void
dir_proofing_list_free(struct dir_proofing ***vp, size_t n)
{
	size_t i;

	if (vp == NULL || *vp == NULL)
		return;
	for (i = 0; i < n; i++)
		dir_proofing_free(&(*vp)[i]);
	free(*vp);
	*vp = NULL;
}

/* The DN of the subject entry. */
static int
subject_dn(struct dir_pool *p, enum dir_proofing_kind k, const char *id,
    char *dn, size_t len)
{
	struct dir_user *u = NULL;
	struct dir_device *d = NULL;
	int r;

	if (k == DIR_PRF_USER) {
		if ((r = dir_user_find(p, id, &u)) != 0)
			return r;
		r = dir_fmt(dn, len, "%s", u->dn);
		dir_user_free(&u);
		return r;
	}
	if (k != DIR_PRF_DEVICE)
		return CM_ERR_INVAL;
	if ((r = dir_device_find(p, id, &d)) != 0)
		return r;
	r = dir_fmt(dn, len, "%s", d->dn);
	dir_device_free(&d);
	return r;
}

static int
cn_check(const char *cn)
{
	size_t i, n = strlen(cn);

	if (n == 0 || n > 47)
		return CM_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (!((cn[i] >= 'a' && cn[i] <= 'z') || (cn[i] >= 'A' &&
		    cn[i] <= 'Z') || (cn[i] >= '0' && cn[i] <= '9') ||
		    cn[i] == '-'))
			return CM_ERR_INVAL;
	return 0;
}

static int
gentime_of(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 16, "%Y%m%d%H%M%SZ", &tm) != 15)
		return CM_ERR_RANGE;
	return 0;
}

int
dir_proofing_add(struct dir_pool *p, enum dir_proofing_kind k,
    const char *id, const struct dir_proofing_new *n)
{
	struct dir_modset ms;
	struct dir_user *officer = NULL;
	const char **hv = NULL;
	char parent[DIR_MAX_DN], dn[DIR_MAX_DN], at[16], ex[16], ce[24];
	int r = CM_ERR_INTERNAL, ldrc = 0;

	if (n->cn == NULL || cn_check(n->cn) != 0 || n->level == NULL ||
	    n->method == NULL || n->status == NULL || n->officer == NULL ||
	    n->data == NULL || dir_text_check(n->officer, 128) != 0 ||
	    dir_text_check(n->method, 64) != 0 ||
	    strlen(n->data) > DIR_PRF_DATA_MAX ||
	    dir_text_check(n->data, DIR_PRF_DATA_MAX) != 0 ||
	    (n->reason != NULL && dir_text_check(n->reason, 256) != 0) ||
	    n->ndoc_hashes > DIR_PRF_HASHES_MAX ||
	    gentime_of(n->time, at) != 0 || gentime_of(n->expires, ex) != 0)
		return CM_ERR_INVAL;
	if ((r = subject_dn(p, k, id, parent, sizeof(parent))) != 0)
		return r;
	if ((r = dir_make_dn(dn, sizeof(dn), "cn", n->cn, parent)) != 0)
		return r;
	snprintf(ce, sizeof(ce), "%lld", (long long)n->code_expires);
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_ADD, "objectClass",
	    "skmProofingRecord")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "cn", n->cn)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofingLevel",
	    n->level)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofedAt", at)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofingMethod",
	    n->method)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofingStatus",
	    n->status)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofingExpires",
	    ex)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofingOfficer",
	    n->officer)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofingData",
	    n->data)) != 0)
		goto out;
	if (n->reason != NULL && n->reason[0] != '\0' &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofingReason",
	    n->reason)) != 0)
		goto out;
	/* the officer's DN, when the officer is a directory user */
	if (n->officer_uid != NULL &&
	    dir_user_find(p, n->officer_uid, &officer) == 0 &&
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofedBy",
	    officer->dn)) != 0)
		goto out;
	if (n->ndoc_hashes > 0) {
		if ((hv = calloc(n->ndoc_hashes + 1, sizeof(*hv))) == NULL) {
			r = CM_ERR_NOMEM;
			goto out;
		}
		memcpy(hv, n->doc_hashes, n->ndoc_hashes * sizeof(*hv));
		if ((r = dir_modset_add(&ms, LDAP_MOD_ADD,
		    "skmProofingDocumentHash", hv)) != 0)
			goto out;
	}
	if (n->code_hash != NULL &&
	    ((r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmRecoveryCodeHash",
	    n->code_hash)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmRecoveryCodeExpires",
	    ce)) != 0))
		goto out;
	r = dir_add(p, dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && ldrc == LDAP_ALREADY_EXISTS)
		r = CM_ERR_EXISTS;
 out:
	free(hv);
	dir_user_free(&officer);
	return r;
}

static int
from_entry(const struct dir_entry *e, struct dir_proofing **out)
{
	struct dir_proofing *r = NULL;
	struct berval **rv;
	char *ce = NULL;
	long long v;
	size_t n = 0, i;
	int rc = CM_ERR_INTERNAL;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return CM_ERR_NOMEM;
	if ((r->dn = strdup(e->dn)) == NULL) {
		rc = CM_ERR_NOMEM;
		goto out;
	}
	if ((rc = dir_entry_str(e, "cn", &r->cn)) != 0 ||
	    (rc = dir_entry_str(e, "skmProofingStatus", &r->status)) != 0 ||
	    (rc = dir_entry_str(e, "skmProofingReason", &r->reason)) != 0 ||
	    (rc = dir_entry_str(e, "skmProofingData", &r->data)) != 0 ||
	    (rc = dir_entry_str(e, "skmRecoveryCodeExpires", &ce)) != 0)
		goto out;
	if (r->cn == NULL || r->status == NULL || r->data == NULL) {
		rc = CM_ERR_INVAL;
		goto out;
	}
	if (ce != NULL && cm_parse_ll(ce, 0, INT64_MAX, &v) == 0)
		r->code_expires = v;
	rv = dir_entry_vals(e, "skmRecoveryCodeHash");
	while (rv != NULL && rv[n] != NULL && n < DIR_PRF_HASHES_MAX)
		n++;
	if (n > 0 && (r->code_hashes = calloc(n, sizeof(char *))) == NULL) {
		rc = CM_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r->code_hashes[i] = strndup(rv[i]->bv_val,
		    rv[i]->bv_len)) == NULL) {
			rc = CM_ERR_NOMEM;
			goto out;
		}
		r->ncode_hashes++;
	}
	*out = r;
	r = NULL;	/* transferred */
	rc = 0;
 out:
	free(ce);
	dir_proofing_free(&r);
	return rc;
}

int
dir_proofing_list(struct dir_pool *p, enum dir_proofing_kind k,
    const char *id, struct dir_proofing ***out, size_t *n)
{
	struct dir_result res;
	struct dir_proofing **v = NULL;
	char dn[DIR_MAX_DN];
	size_t i, m = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = subject_dn(p, k, id, dn, sizeof(dn))) != 0)
		return r;
	if ((r = dir_search(p, dn, LDAP_SCOPE_ONELEVEL,
	    "(objectClass=skmProofingRecord)", prf_attrs, DIR_SEARCH_MAX,
	    &res)) != 0)
		return r;
	if (res.n > 0 && (v = calloc(res.n, sizeof(*v))) == NULL) {
		dir_result_clear(&res);
		return CM_ERR_NOMEM;
	}
	for (i = 0; i < res.n; i++) {
		if ((r = from_entry(&res.v[i], &v[m])) == CM_ERR_NOMEM) {
			dir_proofing_list_free(&v, m);
			dir_result_clear(&res);
			return r;
		}
		if (r == 0)
			m++;
	}
	dir_result_clear(&res);
	*out = v;
	*n = m;
	return 0;
}

int
dir_proofing_set_status(struct dir_pool *p, const struct dir_proofing *rec,
    const char *from, const char *to, const char *reason)
{
	struct dir_modset ms;
	int r, ldrc = 0;

	if (reason != NULL && dir_text_check(reason, 256) != 0)
		return CM_ERR_INVAL;
	dir_modset_init(&ms);
	/* deleting the old value is the compare: one writer wins */
	if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE, "skmProofingStatus",
	    from)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmProofingStatus",
	    to)) != 0)
		return r;
	if (reason != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE,
	    "skmProofingReason", reason)) != 0)
		return r;
	r = dir_modify(p, rec->dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && ldrc == LDAP_NO_SUCH_ATTRIBUTE)
		r = CM_ERR_CONFLICT;
	return r;
}

int
dir_proofing_use_code(struct dir_pool *p, const struct dir_proofing *rec,
    const char *hash)
{
	struct dir_modset ms;
	int r, ldrc = 0;

	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE, "skmRecoveryCodeHash",
	    hash)) != 0)
		return r;
	r = dir_modify(p, rec->dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && ldrc == LDAP_NO_SUCH_ATTRIBUTE)
		r = CM_ERR_CONFLICT;
	return r;
}

int
dir_proofing_find_doc(struct dir_pool *p, const char *hash,
    char ***subjects, size_t *n)
{
	static const char *const attrs[] = { "1.1", NULL };
	struct dir_result res;
	char *esc = NULL, filter[512], **v = NULL;
	size_t i, k = 0;
	int r;

	*subjects = NULL;
	*n = 0;
	if (dir_text_check(hash, 128) != 0)
		return CM_ERR_INVAL;
	if ((r = dir_escape_filter(hash, strlen(hash), &esc)) != 0)
		return r;
	r = dir_fmt(filter, sizeof(filter), "(&(objectClass=skmProofingRecord)"
	    "(skmProofingStatus=valid)(skmProofingDocumentHash=%s))", esc);
	free(esc);
	if (r != 0)
		return r;
	if ((r = dir_search(p, p->cfg.base_dn, LDAP_SCOPE_SUBTREE, filter,
	    attrs, DIR_SEARCH_MAX, &res)) != 0)
		return r;
	if (res.n > 0 && (v = calloc(res.n, sizeof(*v))) == NULL) {
		dir_result_clear(&res);
		return CM_ERR_NOMEM;
	}
	for (i = 0; i < res.n; i++) {
		const char *comma = strchr(res.v[i].dn, ',');
		char *name = NULL, buf[DIR_MAX_DN + 16];

		if (comma == NULL)
			continue;
		if (dir_dn_child_value(comma + 1, "uid", p->people_dn,
		    &name) == 0 && name != NULL)
			snprintf(buf, sizeof(buf), "user:%s", name);
		else if (dir_dn_child_value(comma + 1, "cn", p->devices_dn,
		    &name) == 0 && name != NULL)
			snprintf(buf, sizeof(buf), "device:%s", name);
		else
			continue;
		free(name);
		if ((v[k] = strdup(buf)) == NULL) {
			dir_names_free(&v, k);
			dir_result_clear(&res);
			return CM_ERR_NOMEM;
		}
		k++;
	}
	dir_result_clear(&res);
	*subjects = v;
	*n = k;
	return 0;
}

/*
 * proofing/prf_store.c — proofing records in the directory: add with
 * supersede, history, the "valid record at level L within window W"
 * query, revocation.  Every record and revocation is audited here, so no
 * caller (brokerctl, the officer pages, device proofing) can forget.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "proofing.h"

static enum dir_proofing_kind
dkind(enum prf_kind k)
{
	return k == PRF_KIND_DEVICE ? DIR_PRF_DEVICE : DIR_PRF_USER;
}

void
prf_history_free(struct prf_entry **vp, size_t n)
{
	size_t i;

	if (vp == NULL || *vp == NULL)
		return;
	for (i = 0; i < n; i++)
		dir_proofing_free(&(*vp)[i].dir);
	free(*vp);
	*vp = NULL;
}

static int
cmp_newest(const void *a, const void *b)
{
	const struct prf_entry *x = a, *y = b;

	if (x->rec.time != y->rec.time)
		return x->rec.time > y->rec.time ? -1 : 1;
	return strcmp(y->rec.id, x->rec.id);
}

int
prf_history(struct dir_pool *p, enum prf_kind k, const char *subject,
    struct prf_entry **out, size_t *n)
{
	struct dir_proofing **v = NULL;
	struct prf_entry *e = NULL;
	size_t nv = 0, i, m = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = dir_proofing_list(p, dkind(k), subject, &v, &nv)) != 0)
		return r;
	if (nv > PRF_HISTORY_MAX)
		nv = PRF_HISTORY_MAX;	/* the rest stays in the directory */
	if (nv > 0 && (e = calloc(nv, sizeof(*e))) == NULL) {
		dir_proofing_list_free(&v, nv);
		return CM_ERR_NOMEM;
	}
	for (i = 0; i < nv; i++) {
		if (prf_record_parse((const uint8_t *)v[i]->data,
		    strlen(v[i]->data), &e[m].rec) != 0 ||
		    e[m].rec.kind != k || strcmp(e[m].rec.subject,
		    subject) != 0 || strcmp(e[m].rec.id, v[i]->cn) != 0 ||
		    prf_status_parse(v[i]->status, &e[m].rec.status) != 0) {
			cm_warn(NULL, "proofing.record_unreadable", "{s:s}",
			    "dn", v[i]->dn);
			continue;
		}
		if (v[i]->reason != NULL)
			strlcpy(e[m].rec.reason, v[i]->reason,
			    sizeof(e[m].rec.reason));
		e[m].dir = v[i];
		v[i] = NULL;	/* transferred */
		m++;
	}
	dir_proofing_list_free(&v, nv);
	if (m > 1)
		qsort(e, m, sizeof(*e), cmp_newest);
	if (m == 0) {
		free(e);
		e = NULL;
	}
	*out = e;
	*n = m;
	return 0;
}

static int
usable(const struct prf_record *r, enum prf_ial min, int64_t window,
    int64_t now)
{
	return r->status == PRF_ST_VALID && r->ial >= min &&
	    r->expires > now && r->time <= now + 300 &&
	    (window <= 0 || now - r->time <= window);
}

int
prf_valid(struct dir_pool *p, enum prf_kind k, const char *subject,
    enum prf_ial min, int64_t window, int64_t now, struct prf_record *out)
{
	struct prf_entry *v = NULL;
	size_t n = 0, i;
	int r;

	if ((r = prf_history(p, k, subject, &v, &n)) != 0)
		return r;
	r = CM_ERR_NOTFOUND;
	for (i = 0; i < n; i++) {
		if (usable(&v[i].rec, min, window, now)) {
			if (out != NULL)
				*out = v[i].rec;
			r = 0;
			break;
		}
	}
	prf_history_free(&v, n);
	return r;
}

int
prf_current_ial(struct dir_pool *p, enum prf_kind k, const char *subject,
    int64_t now)
{
	struct prf_entry *v = NULL;
	size_t n = 0, i;
	int best = PRF_IAL_NONE, r;

	if ((r = prf_history(p, k, subject, &v, &n)) != 0)
		return r == CM_ERR_NOTFOUND ? PRF_IAL_NONE : r;
	for (i = 0; i < n; i++)
		if (usable(&v[i].rec, PRF_IAL1, 0, now) &&
		    (int)v[i].rec.ial > best)
			best = (int)v[i].rec.ial;
	prf_history_free(&v, n);
	return best;
}

/* The earlier valid records of the subject become superseded. */
static void
supersede(struct dir_pool *p, const struct prf_record *nr, const char *rid)
{
	struct prf_entry *v = NULL;
	char why[PRF_REASON_MAX];
	size_t n = 0, i;

	if (prf_history(p, nr->kind, nr->subject, &v, &n) != 0) {
		cm_err(rid, "proofing.supersede_failed", "{s:s}", "id", nr->id);
		return;
	}
	snprintf(why, sizeof(why), "superseded by %s", nr->id);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].rec.id, nr->id) == 0 ||
		    v[i].rec.status != PRF_ST_VALID)
			continue;
		if (dir_proofing_set_status(p, v[i].dir, "valid",
		    "superseded", why) != 0)
			cm_warn(rid, "proofing.supersede_failed", "{s:s}",
			    "id", v[i].rec.id);
	}
	prf_history_free(&v, n);
}

int
prf_add(struct dir_pool *p, struct prf_record *r, const char *code_hash,
    int64_t code_expires, const char *rid, char *why, size_t whylen)
{
	struct dir_proofing_new n;
	struct dir_proofing **v = NULL;
	const char *hashes[PRF_EVIDENCE_MAX];
	char *data = NULL, **subj = NULL, me[PRF_SUBJECT_MAX + 8];
	size_t i, j, nv = 0, ns = 0;
	int rc = CM_ERR_INTERNAL;

	if (whylen > 0)
		why[0] = '\0';
	if (r->id[0] == '\0' && (rc = prf_record_id_new(r->time, r->id)) != 0)
		return rc;
	if ((rc = prf_record_check(r, why, whylen)) != 0)
		return rc;
	/* one document, one subject (a second identity is refused) */
	snprintf(me, sizeof(me), "%s:%s", r->kind == PRF_KIND_PERSON ?
	    "user" : "device", r->subject);
	for (i = 0; i < r->nev; i++) {
		hashes[i] = r->ev[i].number_hash;
		if ((rc = dir_proofing_find_doc(p, hashes[i], &subj,
		    &ns)) != 0)
			return rc;
		for (j = 0; j < ns; j++) {
			if (strcmp(subj[j], me) != 0) {
				dir_names_free(&subj, ns);
				snprintf(why, whylen, "this document is bound "
				    "to another subject");
				cm_warn(rid, "proofing.document_reused",
				    "{s:s, s:s}", "subject", r->subject,
				    "type", r->ev[i].type);
				return CM_ERR_EXISTS;
			}
		}
		dir_names_free(&subj, ns);
	}
	if ((rc = prf_record_to_json(r, &data)) != 0)
		return rc;
	memset(&n, 0, sizeof(n));
	n.cn = r->id;
	n.level = prf_ial_name(r->ial);
	n.method = prf_method_name(r->method);
	n.status = prf_status_name(r->status);
	n.reason = r->reason[0] != '\0' ? r->reason : NULL;
	n.officer = r->officer;
	n.officer_uid = strncmp(r->officer, "uid:", 4) == 0 ?
	    r->officer + 4 : NULL;
	n.data = data;
	n.time = r->time;
	n.expires = r->expires;
	n.doc_hashes = hashes;
	n.ndoc_hashes = r->nev;
	n.code_hash = code_hash;
	n.code_expires = code_expires;
	if ((rc = dir_proofing_add(p, dkind(r->kind), r->subject, &n)) != 0)
		goto out;
	supersede(p, r, rid);
	if (cm_audit_emit(rid, "proofing.recorded", "{s:s, s:s, s:s, s:s,"
	    " s:s, s:s, s:s, s:I, s:i, s:b}", "id", r->id, "kind",
	    prf_kind_name(r->kind), "subject", r->subject, "ial",
	    prf_ial_name(r->ial), "method", prf_method_name(r->method),
	    "status", prf_status_name(r->status), "officer", r->officer,
	    "expires", (json_int_t)r->expires, "evidence", (int)r->nev,
	    "recovery_code", code_hash != NULL) != 0) {
		/* an unaudited record must not count */
		if (dir_proofing_list(p, dkind(r->kind), r->subject, &v,
		    &nv) == 0) {
			for (i = 0; i < nv; i++)
				if (strcmp(v[i]->cn, r->id) == 0 &&
				    dir_proofing_set_status(p, v[i],
				    prf_status_name(r->status), "revoked",
				    "audit unavailable") != 0)
					cm_err(rid, "proofing.unaudited_record",
					    "{s:s}", "id", r->id);
			dir_proofing_list_free(&v, nv);
		}
		rc = CM_ERR_IO;
		goto out;
	}
	rc = 0;
 out:
	free(data);
	return rc;
}

int
prf_revoke(struct dir_pool *p, enum prf_kind k, const char *subject,
    const char *id, const char *reason, const char *by, const char *rid)
{
	struct prf_entry *v = NULL;
	size_t n = 0, i;
	int r;

	if (reason == NULL || reason[0] == '\0' || strlen(reason) >=
	    PRF_REASON_MAX || by == NULL)
		return CM_ERR_INVAL;
	if ((r = prf_history(p, k, subject, &v, &n)) != 0)
		return r;
	r = CM_ERR_NOTFOUND;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].rec.id, id) != 0)
			continue;
		r = v[i].rec.status != PRF_ST_VALID ? CM_ERR_CONFLICT :
		    dir_proofing_set_status(p, v[i].dir, "valid", "revoked",
		    reason);
		break;
	}
	prf_history_free(&v, n);
	if (r != 0)
		return r;
	if (cm_audit_emit(rid, "proofing.revoked", "{s:s, s:s, s:s, s:s,"
	    " s:s}", "id", id, "kind", prf_kind_name(k), "subject", subject,
	    "reason", reason, "by", by) != 0)
		return CM_ERR_IO;
	return 0;
}

/*
 * proofing/prf_vc.c — verified_claims (OpenID Connect for Identity
 * Assurance 1.0) from a proofing record.
 *
 * Mapping (docs/proofing.md):
 *   trust_framework       "nist_800_63A": DS-500/DS-511 define their IALs
 *                         on SP 800-63A and have no registered identifier
 *   assurance_level       "IAL1".."IAL3"
 *   time                  the proofing time (ISO 8601, UTC)
 *   verification_process  the record id (the audit trail's reference)
 *   evidence[]            {"type":"document", "check_details":[{
 *                         "check_method", "txn", "time"}],
 *                         "document_details":{"type", "issuer":{"name",
 *                         "country_code"}, "date_of_issuance",
 *                         "date_of_expiry"}} — never the number
 *   claims                name, birthdate, address {"formatted"}
 * check_method: in_person "vpip", supervised_remote "vpiruv",
 * remote_document "vri", remote_signature "vcrypt".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proofing.h"

static const char *
check_method(enum prf_method m)
{
	switch (m) {
	case PRF_M_IN_PERSON:
		return "vpip";
	case PRF_M_SUPERVISED_REMOTE:
		return "vpiruv";
	case PRF_M_REMOTE_SIGNATURE:
		return "vcrypt";
	case PRF_M_REMOTE_DOCUMENT:
	default:
		return "vri";
	}
}

static int
iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return CM_ERR_RANGE;
	return 0;
}

/* A value/values constraint of a request element on s: 1 met (or no
 * constraint), 0 unmet. */
static int
constraint_ok(const json_t *el, const char *s)
{
	const json_t *v, *a;
	size_t i;

	if (!json_is_object(el))
		return 1;
	if ((v = json_object_get(el, "value")) != NULL)
		return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
	if ((a = json_object_get(el, "values")) != NULL) {
		if (!json_is_array(a))
			return 0;
		for (i = 0; i < json_array_size(a); i++) {
			v = json_array_get(a, i);
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), s) == 0)
				return 1;
		}
		return 0;
	}
	return 1;
}

static json_t *
evidence_json(const struct prf_record *r, const char *when)
{
	json_t *a = json_array(), *dd, *is;
	size_t i;

	for (i = 0; a != NULL && i < r->nev; i++) {
		const struct prf_evidence *e = &r->ev[i];

		is = json_pack("{s:s, s:s}", "name", e->issuer, "country_code",
		    e->country);
		dd = json_pack("{s:s, s:o}", "type", e->type, "issuer", is);
		if (dd == NULL)
			continue;
		if (e->issued[0] != '\0')
			json_object_set_new(dd, "date_of_issuance",
			    json_string(e->issued));
		if (e->expiry[0] != '\0')
			json_object_set_new(dd, "date_of_expiry",
			    json_string(e->expiry));
		json_array_append_new(a, json_pack("{s:s, s:[{s:s, s:s, s:s}],"
		    " s:o}", "type", "document", "check_details",
		    "check_method", check_method(r->method), "txn", r->id,
		    "time", when, "document_details", dd));
	}
	return a;
}

/* One verified_claims object for one request object, or NULL. */
static json_t *
one(const struct prf_record *r, const json_t *rq, int64_t now)
{
	const json_t *ver, *cl, *el;
	json_t *v = NULL, *c = NULL, *out = NULL;
	char when[32];

	if (!json_is_object(rq))
		return NULL;
	ver = json_object_get(rq, "verification");
	cl = json_object_get(rq, "claims");
	if ((ver != NULL && !json_is_object(ver)) || !json_is_object(cl))
		return NULL;
	if (iso_time(r->time, when) != 0)
		return NULL;
	/* constraints: an unmet one omits the whole element (§6.5) */
	if (ver != NULL) {
		if (!constraint_ok(json_object_get(ver, "trust_framework"),
		    PRF_TRUST_FRAMEWORK) ||
		    !constraint_ok(json_object_get(ver, "assurance_level"),
		    prf_ial_name(r->ial)))
			return NULL;
		el = json_object_get(json_object_get(ver, "time"), "max_age");
		if (el != NULL && (!json_is_integer(el) ||
		    now - r->time > json_integer_value(el)))
			return NULL;
	}
	if ((v = json_pack("{s:s}", "trust_framework",
	    PRF_TRUST_FRAMEWORK)) == NULL || (c = json_object()) == NULL)
		goto out;
	if (ver != NULL) {
		if (json_object_get(ver, "assurance_level") != NULL)
			json_object_set_new(v, "assurance_level",
			    json_string(prf_ial_name(r->ial)));
		if (json_object_get(ver, "time") != NULL)
			json_object_set_new(v, "time", json_string(when));
		if (json_object_get(ver, "verification_process") != NULL)
			json_object_set_new(v, "verification_process",
			    json_string(r->id));
		if (json_object_get(ver, "evidence") != NULL && r->nev > 0)
			json_object_set_new(v, "evidence",
			    evidence_json(r, when));
	}
	/* only claims that were asked for and verified */
	if (json_object_get(cl, "name") != NULL && r->name[0] != '\0')
		json_object_set_new(c, "name", json_string(r->name));
	if (json_object_get(cl, "birthdate") != NULL &&
	    r->birthdate[0] != '\0')
		json_object_set_new(c, "birthdate", json_string(r->birthdate));
	if (json_object_get(cl, "address") != NULL && r->address[0] != '\0')
		json_object_set_new(c, "address", json_pack("{s:s}",
		    "formatted", r->address));
	if (json_object_size(c) == 0)
		goto out;
	out = json_pack("{s:O, s:O}", "verification", v, "claims", c);
 out:
	json_decref(v);
	json_decref(c);
	return out;
}

int
prf_verified_claims(const struct prf_record *r, const json_t *req,
    int64_t now, json_t **out)
{
	json_t *a = NULL, *o;
	size_t i;

	*out = NULL;
	if (r == NULL || req == NULL || r->kind != PRF_KIND_PERSON ||
	    r->status != PRF_ST_VALID)
		return CM_ERR_INVAL;
	if (json_is_object(req)) {
		*out = one(r, req, now);
		return 0;
	}
	if (!json_is_array(req))
		return CM_ERR_INVAL;
	if ((a = json_array()) == NULL)
		return CM_ERR_NOMEM;
	for (i = 0; i < json_array_size(req) && i < 8; i++)
		if ((o = one(r, json_array_get(req, i), now)) != NULL)
			json_array_append_new(a, o);
	if (json_array_size(a) == 0) {
		json_decref(a);
		return 0;
	}
	*out = a;
	return 0;
}

/*
 * proofing/prf_record.c — the proofing record: names of levels, methods
 * and states, validation of every field, and the stored JSON form.
 *
 * Stored JSON (skmProofingData), exactly these members:
 *   {"v":1, "id", "kind":"person"|"device", "subject", "ial":1..3,
 *    "method", "officer", "time", "expires",
 *    "evidence":[{"type","issuer","country","number_hash","number_last4",
 *                 "date_of_issuance","date_of_expiry"}],
 *    "verified":{"name","birthdate","address"},
 *    "device":{"serial","ip","presented"}}
 * Empty strings stand for "not recorded".  The status is not part of it:
 * it changes (compare-and-swap on skmProofingStatus), the JSON never does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "proofing.h"

static const char *const ial_names[] = { "none", "IAL1", "IAL2", "IAL3" };
static const char *const kind_names[] = { "person", "device" };
static const char *const status_names[] = { "valid", "superseded",
	"revoked", "failed" };
static const char *const method_names[] = { "in_person",
	"supervised_remote", "remote_signature", "remote_document",
	"device_inventory" };
static const char *const doctypes[] = { "jp_individual_number_card",
	"passport", "jp_drivers_license", "jp_residency_card_for_foreigner" };

/* ISO 3166-1 alpha-2 officially assigned codes. */
static const char countries[] =
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG "
	"BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI "
	"CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH "
	"ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ "
	"GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT "
	"JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS "
	"LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU "
	"MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG "
	"PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG "
	"SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK "
	"TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU "
	"WF WS YE YT ZA ZM ZW";

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int
name_parse(const char *const *names, size_t n, const char *s, int *out)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return CM_ERR_INVAL;
}

const char *
prf_ial_name(enum prf_ial l)
{
	return (size_t)l < NELEM(ial_names) ? ial_names[l] : "none";
}

int
prf_ial_parse(const char *s, enum prf_ial *out)
{
	const char *d = s;

	if (s == NULL)
		return CM_ERR_INVAL;
	if (strncasecmp(s, "ial", 3) == 0)
		d = s + 3;
	if (d[0] < '1' || d[0] > '3' || d[1] != '\0')
		return CM_ERR_INVAL;
	*out = (enum prf_ial)(d[0] - '0');
	return 0;
}

const char *
prf_kind_name(enum prf_kind k)
{
	return (size_t)k < NELEM(kind_names) ? kind_names[k] : "person";
}

const char *
prf_status_name(enum prf_status s)
{
	return (size_t)s < NELEM(status_names) ? status_names[s] : "revoked";
}

int
prf_status_parse(const char *s, enum prf_status *out)
{
	int v;

	if (name_parse(status_names, NELEM(status_names), s, &v) != 0)
		return CM_ERR_INVAL;
	*out = (enum prf_status)v;
	return 0;
}

const char *
prf_method_name(enum prf_method m)
{
	return (size_t)m < NELEM(method_names) ? method_names[m] : "unknown";
}

int
prf_method_parse(const char *s, enum prf_method *out)
{
	int v;

	if (name_parse(method_names, NELEM(method_names), s, &v) != 0)
		return CM_ERR_INVAL;
	*out = (enum prf_method)v;
	return 0;
}

int
prf_doctype_check(const char *s)
{
	int v;

	return name_parse(doctypes, NELEM(doctypes), s, &v);
}

int
prf_country_check(const char *s)
{
	const char *p;

	if (s == NULL || strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' ||
	    s[1] < 'A' || s[1] > 'Z')
		return CM_ERR_INVAL;
	/* entries are "XX " (the last without its space) */
	for (p = countries; p + 2 <= countries + sizeof(countries) - 1;
	    p += 3)
		if (p[0] == s[0] && p[1] == s[1])
			return 0;
	return CM_ERR_INVAL;
}

static int
digits(const char *s, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return CM_ERR_INVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
prf_date_epoch(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm tm;
	int y, m, d, leap, max;
	time_t t;

	if (s == NULL || strlen(s) != PRF_DATE_LEN || s[4] != '-' ||
	    s[7] != '-' || digits(s, 4, &y) != 0 ||
	    digits(s + 5, 2, &m) != 0 || digits(s + 8, 2, &d) != 0)
		return CM_ERR_INVAL;
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
		return CM_ERR_INVAL;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	max = mdays[m - 1] + (m == 2 && leap);
	if (d > max)
		return CM_ERR_INVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	if ((t = timegm(&tm)) == (time_t)-1 && y >= 1970)
		return CM_ERR_INVAL;
	*out = (int64_t)t;
	return 0;
}

int
prf_date_check(const char *s)
{
	int64_t t;

	return prf_date_epoch(s, &t);
}

int
prf_record_id_new(int64_t now, char out[PRF_ID_MAX])
{
	uint8_t rnd[6];
	char hex[13], ts[16];
	struct timespec tsp;
	struct tm tm;
	time_t t;
	long us;
	int r;

	out[0] = '\0';
	if (now < 0)
		return CM_ERR_RANGE;
	/*
	 * The time to the microsecond, from one clock reading: ids sort in
	 * creation order even for records made within one second (history is
	 * newest first).  Seconds from now and microseconds from a later
	 * reading gave the second of now with the microseconds of the next
	 * second whenever a second began between the two.  Never before now
	 * (the record's own time).
	 */
	if (clock_gettime(CLOCK_REALTIME, &tsp) == 0 &&
	    (int64_t)tsp.tv_sec >= now) {
		t = tsp.tv_sec;
		us = tsp.tv_nsec / 1000;
	} else {
		t = (time_t)now;
		us = 0;
	}
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm) != 14)
		return CM_ERR_RANGE;
	if ((r = cm_random(rnd, sizeof(rnd))) != 0)
		return r;
	cm_hex_encode(rnd, sizeof(rnd), hex);
	snprintf(out, PRF_ID_MAX, "prf-%s%06ld-%s", ts, us % 1000000, hex);
	return 0;
}

/* UTF-8 text without control characters, at most max bytes; empty ok
 * unless required. */
static int
text_ok(const char *s, size_t max, int required)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	if (n == 0)
		return required ? CM_ERR_INVAL : 0;
	if (n >= max)
		return CM_ERR_RANGE;
	while (i < n) {
		unsigned c = p[i];
		size_t k;

		if (c < 0x20 || c == 0x7f)
			return CM_ERR_INVAL;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return CM_ERR_INVAL;
		for (size_t j = 1; j <= k; j++)
			if (i + j >= n || (p[i + j] & 0xc0) != 0x80)
				return CM_ERR_INVAL;
		/* C1 controls (U+0080..U+009F) */
		if (c == 0xc2 && p[i + 1] < 0xa0)
			return CM_ERR_INVAL;
		i += k + 1;
	}
	return 0;
}

/* [a-z0-9][a-z0-9._-]{0,63}: the directory's names. */
static int
name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > DIR_NAME_MAX)
		return CM_ERR_INVAL;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (i > 0 && (c == '.' || c == '_' || c == '-'))))
			return CM_ERR_INVAL;
	}
	return 0;
}

static int
officer_ok(const char *s)
{
	const char *c = strchr(s, ':');

	if (c == NULL || text_ok(s, PRF_OFFICER_MAX, 1) != 0)
		return CM_ERR_INVAL;
	if (strncmp(s, "uid:", 4) == 0)
		return name_ok(s + 4);
	if (strcmp(s, "system:device-mtls") == 0)
		return 0;
	if (strncmp(s, "brokerctl:", 10) == 0) {
		size_t i, n = strlen(s + 10);

		if (n == 0 || n > 32)
			return CM_ERR_INVAL;
		for (i = 0; i < n; i++) {
			char ch = s[10 + i];

			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' &&
			    ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    ch == '_' || ch == '-' || ch == '.'))
				return CM_ERR_INVAL;
		}
		return 0;
	}
	return CM_ERR_INVAL;
}

static int
id_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 5 || n >= PRF_ID_MAX || strncmp(s, "prf-", 4) != 0)
		return CM_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '-'))
			return CM_ERR_INVAL;
	return 0;
}

static int
hash_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n != 46 || strncmp(s, "h1:", 3) != 0)
		return CM_ERR_INVAL;
	for (i = 3; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return CM_ERR_INVAL;
	return 0;
}

static int
last4_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 4)
		return CM_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' &&
		    s[i] <= '9')))
			return CM_ERR_INVAL;
	return 0;
}

#define FAIL(rc, ...) do { snprintf(why, whylen, __VA_ARGS__); \
	return (rc); } while (0)

static int
evidence_ok(const struct prf_evidence *e, int64_t when, char *why,
    size_t whylen)
{
	int64_t is = 0, ex = 0;

	if (prf_doctype_check(e->type) != 0)
		FAIL(CM_ERR_INVAL, "evidence type: one of "
		    "jp_individual_number_card, passport, jp_drivers_license, "
		    "jp_residency_card_for_foreigner");
	if (text_ok(e->issuer, sizeof(e->issuer), 1) != 0)
		FAIL(CM_ERR_INVAL, "evidence issuer: required text");
	if (prf_country_check(e->country) != 0)
		FAIL(CM_ERR_INVAL, "evidence country: ISO 3166-1 alpha-2");
	if (hash_ok(e->number_hash) != 0 || last4_ok(e->number_last4) != 0)
		FAIL(CM_ERR_INVAL, "evidence document number: missing");
	if (e->issued[0] != '\0' && prf_date_epoch(e->issued, &is) != 0)
		FAIL(CM_ERR_INVAL, "evidence date of issuance: YYYY-MM-DD");
	if (e->expiry[0] == '\0' || prf_date_epoch(e->expiry, &ex) != 0)
		FAIL(CM_ERR_INVAL, "evidence valid until: YYYY-MM-DD");
	if (e->issued[0] != '\0' && is > ex)
		FAIL(CM_ERR_INVAL, "evidence issued after it expires");
	if (e->issued[0] != '\0' && is > when)
		FAIL(CM_ERR_INVAL, "evidence issued after the proofing");
	/* a document is evidence only while valid (it expires at the end
	 * of its last day) */
	if (ex + 86400 <= when)
		FAIL(CM_ERR_POLICY, "evidence had expired at the proofing");
	return 0;
}

int
prf_record_check(const struct prf_record *r, char *why, size_t whylen)
{
	int64_t bd;
	size_t i;

	if (whylen > 0)
		why[0] = '\0';
	if (id_ok(r->id) != 0)
		FAIL(CM_ERR_INVAL, "record id");
	if (r->kind != PRF_KIND_PERSON && r->kind != PRF_KIND_DEVICE)
		FAIL(CM_ERR_INVAL, "kind");
	if (name_ok(r->subject) != 0)
		FAIL(CM_ERR_INVAL, "subject: not a user or device name");
	if (r->ial < PRF_IAL1 || r->ial > PRF_IAL3)
		FAIL(CM_ERR_INVAL, "level: IAL1, IAL2 or IAL3");
	if ((size_t)r->method >= NELEM(method_names))
		FAIL(CM_ERR_INVAL, "method");
	if ((size_t)r->status >= NELEM(status_names))
		FAIL(CM_ERR_INVAL, "status");
	if (text_ok(r->reason, sizeof(r->reason), 0) != 0)
		FAIL(CM_ERR_INVAL, "reason: text");
	if (officer_ok(r->officer) != 0)
		FAIL(CM_ERR_INVAL, "officer: uid:<uid> or brokerctl:<user>");
	/* separation of duties: never one's own proofing */
	if (r->kind == PRF_KIND_PERSON && strncmp(r->officer, "uid:", 4) == 0 &&
	    strcmp(r->officer + 4, r->subject) == 0)
		FAIL(CM_ERR_POLICY, "the officer cannot be the subject");
	if (r->time <= 0 || r->expires <= r->time)
		FAIL(CM_ERR_INVAL, "expiry must be after the proofing time");
	if (r->nev > PRF_EVIDENCE_MAX)
		FAIL(CM_ERR_RANGE, "too much evidence");
	if (r->kind == PRF_KIND_DEVICE) {
		if (r->method != PRF_M_DEVICE_INVENTORY || r->ial != PRF_IAL1)
			FAIL(CM_ERR_INVAL, "devices: device_inventory, IAL1");
		if (r->nev != 0 || r->name[0] != '\0' ||
		    r->birthdate[0] != '\0' || r->address[0] != '\0')
			FAIL(CM_ERR_INVAL, "devices carry no personal data");
		if (text_ok(r->serial, sizeof(r->serial), 1) != 0 ||
		    text_ok(r->ip, sizeof(r->ip), 0) != 0 ||
		    text_ok(r->presented, sizeof(r->presented), 0) != 0)
			FAIL(CM_ERR_INVAL, "device serial");
		return 0;
	}
	if (r->method == PRF_M_DEVICE_INVENTORY)
		FAIL(CM_ERR_INVAL, "device_inventory is for devices");
	if (r->serial[0] != '\0' || r->ip[0] != '\0' ||
	    r->presented[0] != '\0')
		FAIL(CM_ERR_INVAL, "device fields on a person");
	if (r->ial == PRF_IAL3 && r->method != PRF_M_IN_PERSON &&
	    r->method != PRF_M_SUPERVISED_REMOTE)
		FAIL(CM_ERR_POLICY, "IAL3 needs in-person or supervised "
		    "remote proofing");
	if (r->ial >= PRF_IAL2 && r->nev == 0)
		FAIL(CM_ERR_POLICY, "IAL2 and IAL3 need identity evidence");
	if (r->ial == PRF_IAL3 && r->nev < 1)
		FAIL(CM_ERR_POLICY, "IAL3 needs identity evidence");
	for (i = 0; i < r->nev; i++) {
		int e = evidence_ok(&r->ev[i], r->time, why, whylen);

		if (e != 0)
			return e;
	}
	if (text_ok(r->name, sizeof(r->name), r->ial >= PRF_IAL2) != 0)
		FAIL(CM_ERR_INVAL, "verified name: required text at IAL2+");
	if (r->birthdate[0] != '\0' && (prf_date_epoch(r->birthdate,
	    &bd) != 0 || bd > r->time))
		FAIL(CM_ERR_INVAL, "verified date of birth: YYYY-MM-DD, past");
	if (text_ok(r->address, sizeof(r->address), 0) != 0)
		FAIL(CM_ERR_INVAL, "verified address: text");
	return 0;
}

int
prf_record_to_json(const struct prf_record *r, char **out)
{
	json_t *o = NULL, *ev = NULL;
	size_t i;
	int rc = CM_ERR_NOMEM;

	*out = NULL;
	if ((ev = json_array()) == NULL)
		goto out;
	for (i = 0; i < r->nev && i < PRF_EVIDENCE_MAX; i++) {
		const struct prf_evidence *e = &r->ev[i];

		if (json_array_append_new(ev, json_pack("{s:s, s:s, s:s, s:s,"
		    " s:s, s:s, s:s}", "type", e->type, "issuer", e->issuer,
		    "country", e->country, "number_hash", e->number_hash,
		    "number_last4", e->number_last4, "date_of_issuance",
		    e->issued, "date_of_expiry", e->expiry)) != 0)
			goto out;
	}
	o = json_pack("{s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:O,"
	    " s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}",
	    "v", 1, "id", r->id, "kind", prf_kind_name(r->kind),
	    "subject", r->subject, "ial", (int)r->ial,
	    "method", prf_method_name(r->method), "officer", r->officer,
	    "time", (json_int_t)r->time, "expires", (json_int_t)r->expires,
	    "evidence", ev,
	    "verified", "name", r->name, "birthdate", r->birthdate,
	    "address", r->address,
	    "device", "serial", r->serial, "ip", r->ip, "presented",
	    r->presented);
	if (o == NULL)
		goto out;
	if ((*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	rc = 0;
 out:
	json_decref(ev);
	json_decref(o);
	return rc;
}

static int
copy(char *dst, size_t dstsz, const char *src)
{
	if (src == NULL || strlcpy(dst, src, dstsz) >= dstsz)
		return CM_ERR_RANGE;
	return 0;
}

int
prf_record_parse(const uint8_t *p, size_t len, struct prf_record *out)
{
	struct prf_record *r = NULL;
	json_error_t jerr;
	json_t *o = NULL, *ev = NULL, *e;
	const char *id, *kind, *subject, *method, *officer, *name, *bd, *addr,
	    *serial, *ip, *pres;
	json_int_t v, ial, t, ex;
	size_t i;
	int rc = CM_ERR_INVAL, k, m;
	char why[128];

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > PRF_JSON_MAX)
		return CM_ERR_RANGE;
	if (memchr(p, 0, len) != NULL)
		return CM_ERR_INVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return CM_ERR_NOMEM;
	if ((o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		goto out;
	if (json_unpack_ex(o, &jerr, JSON_STRICT, "{s:I, s:s, s:s, s:s, s:I,"
	    " s:s, s:s, s:I, s:I, s:o, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}",
	    "v", &v, "id", &id, "kind", &kind, "subject", &subject,
	    "ial", &ial, "method", &method, "officer", &officer, "time", &t,
	    "expires", &ex, "evidence", &ev,
	    "verified", "name", &name, "birthdate", &bd, "address", &addr,
	    "device", "serial", &serial, "ip", &ip, "presented", &pres) != 0)
		goto out;
	if (v != 1 || !json_is_array(ev) ||
	    json_array_size(ev) > PRF_EVIDENCE_MAX || ial < 1 || ial > 3 ||
	    name_parse(kind_names, NELEM(kind_names), kind, &k) != 0 ||
	    name_parse(method_names, NELEM(method_names), method, &m) != 0)
		goto out;
	r->kind = (enum prf_kind)k;
	r->method = (enum prf_method)m;
	r->ial = (enum prf_ial)ial;
	r->time = t;
	r->expires = ex;
	r->status = PRF_ST_VALID;
	if (copy(r->id, sizeof(r->id), id) != 0 ||
	    copy(r->subject, sizeof(r->subject), subject) != 0 ||
	    copy(r->officer, sizeof(r->officer), officer) != 0 ||
	    copy(r->name, sizeof(r->name), name) != 0 ||
	    copy(r->birthdate, sizeof(r->birthdate), bd) != 0 ||
	    copy(r->address, sizeof(r->address), addr) != 0 ||
	    copy(r->serial, sizeof(r->serial), serial) != 0 ||
	    copy(r->ip, sizeof(r->ip), ip) != 0 ||
	    copy(r->presented, sizeof(r->presented), pres) != 0)
		goto out;
	json_array_foreach(ev, i, e) {
		struct prf_evidence *d = &r->ev[i];
		const char *ty, *is, *co, *nh, *nl, *di, *de;

		if (json_unpack_ex(e, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:s,"
		    " s:s, s:s, s:s}", "type", &ty, "issuer", &is, "country",
		    &co, "number_hash", &nh, "number_last4", &nl,
		    "date_of_issuance", &di, "date_of_expiry", &de) != 0 ||
		    copy(d->type, sizeof(d->type), ty) != 0 ||
		    copy(d->issuer, sizeof(d->issuer), is) != 0 ||
		    copy(d->country, sizeof(d->country), co) != 0 ||
		    copy(d->number_hash, sizeof(d->number_hash), nh) != 0 ||
		    copy(d->number_last4, sizeof(d->number_last4), nl) != 0 ||
		    copy(d->issued, sizeof(d->issued), di) != 0 ||
		    copy(d->expiry, sizeof(d->expiry), de) != 0)
			goto out;
		r->nev++;
	}
	/* a stored record is re-checked as a whole; only a record whose
	 * evidence expired since is still a record (history) */
	if ((rc = prf_record_check(r, why, sizeof(why))) != 0)
		goto out;
	*out = *r;
	rc = 0;
 out:
	json_decref(o);
	free(r);
	return rc;
}

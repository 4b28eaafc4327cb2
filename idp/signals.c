/*
 * idp/signals.c — continuous evaluation: risk and Shared Signals.
 *
 * Risk.  A subject ("user:<uid>", "device:<id>") has a risk level that is
 * the highest of its live signals; each signal is kept with its name, its
 * source and its end, so a decision can always say why (docs/risk.md).
 * Stored as "risk" state entries (any node sees them at its next request).
 * Our own signals and their weights:
 *
 *   new_network     login from a network (IPv4 /24, IPv6 /48) the user has
 *                   not logged in from before (none recorded: no signal)
 *                                                        medium, this login
 *   failure_burst   5 or more failed logins in 15 minutes  medium, 15 min
 *   refresh_reuse   a rotated refresh token presented again high, 1 h
 *   pdp:<issuer>    a risk-level-change from a transmitter  as sent, 24 h
 *
 * Shared Signals Framework receiver (push, RFC 8935) at POST /ssf/events:
 * Security Event Tokens (RFC 8417) from the transmitters configured in
 * ssf_transmitters_file; typ secevent+jwt, signature by the transmitter's
 * key, iss, aud, iat within 5 minutes, jti never seen before (a directory
 * add, so every node agrees), exactly one event.  A bad SET gets the RFC
 * 8935 error object (plus our code and request id) and changes nothing.
 * CAEP events acted on: session-revoked, credential-change,
 * assurance-level-change, device-compliance-change, risk-level-change.
 *
 * Transmitter: when the broker ends a session or revokes what a user holds,
 * a signed CAEP SET goes to each receiver of ssf_receivers_file.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "idp_int.h"
#include "assurance.h"

#define CAEP		"https://schemas.openid.net/secevent/caep/event-type/"
#define SET_MAX_LEN	8192
#define SET_MAX_AGE	300		/* iat at most this old */
#define SET_SKEW	60
#define NETS_MAX	16
#define FAIL_WINDOW	900
#define FAIL_BURST	5

struct transmitter {
	char		*iss;
	char		*aud;		/* what its SETs must name us as */
	tok_keyset	*keys;
};

struct receiver {
	char		*url;
	char		*aud;
};

struct idp_ssf {
	pthread_rwlock_t	 lock;
	struct transmitter	*tx;
	size_t			 ntx;
	struct receiver		*rx;
	size_t			 nrx;
};

/* ---- risk -------------------------------------------------------------- */

static int
subject_key(const char *prefix, const char *id, char key[44])
{
	char buf[512];

	if ((size_t)snprintf(buf, sizeof(buf), "%s:%s", prefix, id) >=
	    sizeof(buf))
		return CM_ERR_RANGE;
	return idp_hash_key(buf, key);
}

/* Fold the live signals of one subject into v. */
static int
risk_fold(struct idp *idp, const char *prefix, const char *id, int64_t now,
    struct idp_risk_view *v)
{
	struct dir_state *st = NULL;
	json_t *o, *sigs, *s;
	char key[44];
	size_t i;
	int rc;

	if ((rc = subject_key(prefix, id, key)) != 0)
		return rc;
	rc = dir_state_get(idp->dir, "risk", key, now, &st);
	if (rc == CM_ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	o = json_loads(st->data, JSON_REJECT_DUPLICATES, NULL);
	dir_state_free(&st);
	sigs = json_object_get(o, "signals");
	json_array_foreach(sigs, i, s) {
		json_int_t lvl = json_integer_value(json_object_get(s,
		    "level")), until = json_integer_value(json_object_get(s,
		    "until"));
		const char *name = json_string_value(json_object_get(s,
		    "signal"));

		if (until <= now || name == NULL)
			continue;
		if (lvl > v->level)
			v->level = (int)lvl;
		if (v->nreasons < IDP_RISK_REASONS_MAX)
			snprintf(v->reasons[v->nreasons++],
			    sizeof(v->reasons[0]), "%s:%s=%s", prefix, name,
			    idp_risk_name((enum idp_risk)lvl));
	}
	json_decref(o);
	return 0;
}

int
idp_risk_get(struct idp *idp, const char *uid, const char *device,
    struct idp_risk_view *out)
{
	int64_t now = cm_time();
	int rc;

	memset(out, 0, sizeof(*out));
	out->level = IDP_RISK_LOW;
	if (uid != NULL && (rc = risk_fold(idp, "user", uid, now, out)) != 0)
		return rc;
	if (device != NULL && *device != '\0' &&
	    (rc = risk_fold(idp, "device", device, now, out)) != 0)
		return rc;
	return 0;
}

int
idp_risk_raise(struct idp *idp, const char *rid, const char *subject,
    int level, const char *signal, const char *source, int64_t ttl)
{
	struct dir_state *st = NULL;
	char key[44], *data = NULL;
	const char *colon = strchr(subject, ':');
	int64_t now = cm_time(), exp;
	json_t *o = NULL, *sigs, *s, *keep;
	size_t i;
	int rc = CM_ERR_INVAL, tries;

	if (colon == NULL || idp_hash_key(subject, key) != 0)
		return CM_ERR_INVAL;
	for (tries = 0; tries < 4; tries++) {
		dir_state_free(&st);
		json_decref(o);
		o = NULL;
		rc = dir_state_get(idp->dir, "risk", key, 0, &st);
		if (rc != 0 && rc != CM_ERR_NOTFOUND)
			break;
		if (rc == 0)
			o = json_loads(st->data, JSON_REJECT_DUPLICATES, NULL);
		if (o == NULL)
			o = json_pack("{s:s, s:[]}", "subject", subject,
			    "signals");
		/* keep live signals other than this one from this source */
		keep = json_array();
		sigs = json_object_get(o, "signals");
		exp = now + ttl;
		json_array_foreach(sigs, i, s) {
			json_int_t until = json_integer_value(json_object_get(s,
			    "until"));

			if (until <= now || (strcmp(json_string_value(
			    json_object_get(s, "signal")) ?
			    json_string_value(json_object_get(s, "signal")) : "",
			    signal) == 0))
				continue;
			if (until > exp)
				exp = until;
			json_array_append(keep, s);
		}
		json_array_append_new(keep, json_pack("{s:s, s:i, s:s, s:I,"
		    " s:I}", "signal", signal, "level", level, "source",
		    source, "at", (json_int_t)now, "until",
		    (json_int_t)(now + ttl)));
		json_object_set_new(o, "signals", keep);
		free(data);
		if ((data = json_dumps(o, JSON_COMPACT)) == NULL) {
			rc = CM_ERR_NOMEM;
			break;
		}
		if (st == NULL)
			rc = dir_state_add(idp->dir, "risk", key, NULL, NULL, data,
			    exp);
		else
			rc = dir_state_update(idp->dir, "risk", key, st->version,
			    data, exp, NULL);
		if (rc != CM_ERR_CONFLICT && rc != CM_ERR_EXISTS)
			break;
	}
	if (rc == 0 && cm_audit_emit(rid, "risk.signal", "{s:s, s:s, s:s, "
	    "s:s, s:I}", "subject", subject, "signal", signal, "level",
	    idp_risk_name((enum idp_risk)level), "source", source, "ttl",
	    (json_int_t)ttl) != 0)
		rc = CM_ERR_IO;
	free(data);
	json_decref(o);
	dir_state_free(&st);
	return rc;
}

/* The network of an address: IPv4 /24, IPv6 /48, as text. */
static int
network_of(const char *ip, char *out, size_t outsz)
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		a4.s_addr &= htonl(0xffffff00u);
		inet_ntop(AF_INET, &a4, buf, sizeof(buf));
		snprintf(out, outsz, "%s/24", buf);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		memset(a6.s6_addr + 6, 0, 10);
		inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
		snprintf(out, outsz, "%s/48", buf);
		return 0;
	}
	return CM_ERR_INVAL;
}

int
idp_risk_login_signals(struct idp *idp, struct brk_req *r, const char *uid,
    struct idp_risk_view *v)
{
	struct dir_state *st = NULL;
	char key[44], net[64];
	json_t *o, *nets, *n;
	size_t i;
	int known = 0, rc;

	if (network_of(brk_req_client_ip(r), net, sizeof(net)) != 0 ||
	    subject_key("nets", uid, key) != 0)
		return 0;
	rc = dir_state_get(idp->dir, "risk", key, cm_time(), &st);
	if (rc == CM_ERR_NOTFOUND)
		return 0;		/* no history: no signal */
	if (rc != 0)
		return rc;
	o = json_loads(st->data, 0, NULL);
	dir_state_free(&st);
	nets = json_object_get(o, "nets");
	json_array_foreach(nets, i, n)
		if (json_is_string(n) && strcmp(json_string_value(n), net) == 0)
			known = 1;
	if (!known && json_array_size(nets) > 0) {
		if (v->level < IDP_RISK_MEDIUM)
			v->level = IDP_RISK_MEDIUM;
		if (v->nreasons < IDP_RISK_REASONS_MAX)
			snprintf(v->reasons[v->nreasons++], sizeof(v->reasons[0]),
			    "user:new_network=medium");
		cm_info(brk_req_id(r), "risk.new_network", "{s:s, s:s}", "uid",
		    uid, "network", net);
	}
	json_decref(o);
	return 0;
}

void
idp_risk_login_ok(struct idp *idp, struct brk_req *r, const char *uid)
{
	struct dir_state *st = NULL;
	char key[44], net[64], *data = NULL;
	json_t *o = NULL, *nets, *n;
	size_t i;
	int rc, tries, known;

	if (network_of(brk_req_client_ip(r), net, sizeof(net)) != 0 ||
	    subject_key("nets", uid, key) != 0)
		return;
	for (tries = 0; tries < 3; tries++) {
		dir_state_free(&st);
		json_decref(o);
		o = NULL;
		rc = dir_state_get(idp->dir, "risk", key, 0, &st);
		if (rc != 0 && rc != CM_ERR_NOTFOUND)
			break;
		if (st != NULL)
			o = json_loads(st->data, 0, NULL);
		if (o == NULL)
			o = json_pack("{s:[]}", "nets");
		nets = json_object_get(o, "nets");
		known = 0;
		json_array_foreach(nets, i, n)
			if (strcmp(json_string_value(n) ?
			    json_string_value(n) : "", net) == 0)
				known = 1;
		if (known)
			break;
		json_array_append_new(nets, json_string(net));
		while (json_array_size(nets) > NETS_MAX)
			json_array_remove(nets, 0);
		free(data);
		if ((data = json_dumps(o, JSON_COMPACT)) == NULL)
			break;
		rc = st == NULL ? dir_state_add(idp->dir, "risk", key, NULL,
		    NULL, data, cm_time() + 365 * 86400) :
		    dir_state_update(idp->dir, "risk", key, st->version, data,
		    cm_time() + 365 * 86400, NULL);
		if (rc != CM_ERR_CONFLICT && rc != CM_ERR_EXISTS)
			break;
	}
	free(data);
	json_decref(o);
	dir_state_free(&st);
}

/* ---- configuration ----------------------------------------------------- */

static char *
slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *b;

	*len = 0;
	if (f == NULL)
		return NULL;
	if ((b = malloc(max + 1)) != NULL) {
		*len = fread(b, 1, max + 1, f);
		if (*len > max) {
			free(b);
			b = NULL;
		} else
			b[*len] = '\0';
	}
	fclose(f);
	return b;
}

static void
ssf_clear(struct idp_ssf *s)
{
	size_t i;

	for (i = 0; i < s->ntx; i++) {
		free(s->tx[i].iss);
		free(s->tx[i].aud);
		tok_keyset_free(&s->tx[i].keys);
	}
	free(s->tx);
	for (i = 0; i < s->nrx; i++) {
		free(s->rx[i].url);
		free(s->rx[i].aud);
	}
	free(s->rx);
	s->tx = NULL;
	s->rx = NULL;
	s->ntx = s->nrx = 0;
}

/*
 * ssf_transmitters_file: {"transmitters":[{"issuer":"https://pdp",
 *   "jwks":{...} | "jwks_file":"path", "audience":"..." (default: our
 *   issuer)}]}
 * ssf_receivers_file: {"receivers":[{"url":"https://siem/ssf",
 *   "audience":"https://siem"}]}
 */
static int
ssf_load(struct idp *idp, struct idp_ssf *s)
{
	json_t *o, *a, *t;
	char *buf;
	size_t len, i;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (idp->cfg->ssf_transmitters_file[0] != '\0') {
		if ((buf = slurp(idp->cfg->ssf_transmitters_file, 1 << 20,
		    &len)) == NULL)
			return CM_ERR_IO;
		o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
		free(buf);
		a = json_object_get(o, "transmitters");
		if (!json_is_array(a)) {
			json_decref(o);
			return CM_ERR_INVAL;
		}
		s->tx = calloc(json_array_size(a) + 1, sizeof(*s->tx));
		json_array_foreach(a, i, t) {
			const char *iss = json_string_value(json_object_get(t,
			    "issuer"));
			const char *aud = json_string_value(json_object_get(t,
			    "audience"));
			const char *jf = json_string_value(json_object_get(t,
			    "jwks_file"));
			char *jw = NULL;

			if (s->tx == NULL || iss == NULL) {
				rc = CM_ERR_INVAL;
				break;
			}
			if (jf != NULL)
				jw = slurp(jf, TOK_JWKS_MAX_LEN, &len);
			else if (json_object_get(t, "jwks") != NULL)
				jw = json_dumps(json_object_get(t, "jwks"),
				    JSON_COMPACT);
			if (jw == NULL || tok_keyset_parse((const uint8_t *)jw,
			    strlen(jw), &s->tx[s->ntx].keys) != 0) {
				free(jw);
				rc = CM_ERR_INVAL;
				break;
			}
			free(jw);
			s->tx[s->ntx].iss = strdup(iss);
			s->tx[s->ntx].aud = strdup(aud ? aud : idp->issuer);
			s->ntx++;
		}
		json_decref(o);
		if (rc != 0) {
			ssf_clear(s);
			return rc;
		}
	}
	if (idp->cfg->ssf_receivers_file[0] != '\0') {
		if ((buf = slurp(idp->cfg->ssf_receivers_file, 1 << 20,
		    &len)) == NULL) {
			ssf_clear(s);
			return CM_ERR_IO;
		}
		o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
		free(buf);
		a = json_object_get(o, "receivers");
		s->rx = calloc(json_array_size(a) + 1, sizeof(*s->rx));
		json_array_foreach(a, i, t) {
			const char *url = json_string_value(json_object_get(t,
			    "url"));
			const char *aud = json_string_value(json_object_get(t,
			    "audience"));

			if (s->rx == NULL || url == NULL || aud == NULL) {
				rc = CM_ERR_INVAL;
				break;
			}
			s->rx[s->nrx].url = strdup(url);
			s->rx[s->nrx].aud = strdup(aud);
			s->nrx++;
		}
		if (!json_is_array(a))		/* a is o's: test first */
			rc = CM_ERR_INVAL;
		json_decref(o);
		if (rc != 0) {
			ssf_clear(s);
			return rc;
		}
	}
	return 0;
}

int
idp_ssf_init(struct idp *idp)
{
	struct idp_ssf *s;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CM_ERR_NOMEM;
	if ((rc = ssf_load(idp, s)) != 0) {
		cm_err(NULL, "ssf.load_failed", "{s:s}", "error",
		    cm_strerror(rc));
		free(s);
		return rc;
	}
	pthread_rwlock_init(&s->lock, NULL);
	idp->ssf = s;
	return 0;
}

int
idp_ssf_reload(struct idp *idp)
{
	struct idp_ssf fresh, old;
	int rc;

	if ((rc = ssf_load(idp, &fresh)) != 0)
		return rc;
	pthread_rwlock_wrlock(&idp->ssf->lock);
	old = *idp->ssf;
	idp->ssf->tx = fresh.tx;
	idp->ssf->ntx = fresh.ntx;
	idp->ssf->rx = fresh.rx;
	idp->ssf->nrx = fresh.nrx;
	pthread_rwlock_unlock(&idp->ssf->lock);
	ssf_clear(&old);
	return 0;
}

void
idp_ssf_free(struct idp *idp)
{
	if (idp->ssf == NULL)
		return;
	ssf_clear(idp->ssf);
	pthread_rwlock_destroy(&idp->ssf->lock);
	free(idp->ssf);
	idp->ssf = NULL;
}

/* ---- revocation -------------------------------------------------------- */

size_t
idp_revoke_user(struct idp *idp, const char *rid, const char *uid,
    const char *why)
{
	char **keys = NULL, **fams = NULL;
	size_t n = 0, nf = 0, i, gone = 0;

	if (dir_state_find(idp->dir, IDP_ST_SESS, DIR_STATE_BY_SUBJECT, uid,
	    &keys, &n) == 0) {
		for (i = 0; i < n; i++)
			if (dir_state_delete(idp->dir, IDP_ST_SESS,
			    keys[i]) == 0)
				gone++;
		dir_names_free(&keys, n);
	}
	/* refresh families: every rt entry of the user names its family */
	if (dir_state_find(idp->dir, IDP_ST_RT, DIR_STATE_BY_SUBJECT, uid,
	    &fams, &nf) == 0) {
		for (i = 0; i < nf; i++) {
			struct dir_state *st = NULL;

			if (dir_state_get(idp->dir, IDP_ST_RT, fams[i], 0,
			    &st) == 0 && st->ref != NULL)
				gone += idp_family_revoke(idp, rid, st->ref, why);
			dir_state_free(&st);
		}
		dir_names_free(&fams, nf);
	}
	if (cm_audit_emit(rid, "revoke.user", "{s:s, s:s, s:I}", "uid", uid,
	    "reason", why, "entries", (json_int_t)gone) != 0)
		cm_err(rid, "audit.write_failed", NULL);
	return gone;
}

/* ---- transmitter ------------------------------------------------------- */

void
idp_ssf_emit(struct idp *idp, const char *rid, const char *event,
    json_t *subject, json_t *fields)
{
	struct idp_ssf *s = idp->ssf;
	int64_t now = cm_time();
	size_t i;

	if (s == NULL)
		return;
	pthread_rwlock_rdlock(&s->lock);
	for (i = 0; i < s->nrx; i++) {
		char uri[256], *jti = NULL, *set = NULL;
		json_t *ev = json_deep_copy(fields ? fields : json_object());
		json_t *cl;

		snprintf(uri, sizeof(uri), CAEP "%s", event);
		json_object_set_new(ev, "event_timestamp", json_integer(now));
		if (cm_random_b64url(16, &jti) != 0) {
			json_decref(ev);
			continue;
		}
		cl = json_pack("{s:s, s:s, s:I, s:s, s:O, s:{s:o}}",
		    "iss", idp->issuer, "aud", s->rx[i].aud, "iat",
		    (json_int_t)now, "jti", jti, "sub_id", subject,
		    "events", uri, ev);
		/* the outbox posts it and audits signal.sent */
		if (cl != NULL && tok_jwt_sign_at(idp->signer, "secevent+jwt",
		    cl, now, &set) == 0)
			idp_outbox_put(idp, rid, IDP_OUT_SET,
			    s->rx[i].url, set, event, jti);
		json_decref(cl);
		cm_strfree(&set);
		free(jti);
	}
	pthread_rwlock_unlock(&s->lock);
}

/* ---- receiver ---------------------------------------------------------- */

/* RFC 8935 §2.3 error: {"err", "description"} plus our code/request id. */
static void
set_error(struct brk_req *r, enum cm_eid id, const char *desc)
{
	const struct cm_errdef *e = cm_errcat_get(id);

	cm_warn(brk_req_id(r), "ssf.refused", "{s:s, s:s}", "err",
	    e->oauth_error, "description", desc);
	brk_resp_json(r, 400, json_pack("{s:s, s:s, s:s, s:s}", "err",
	    e->oauth_error, "description", desc, "code", e->code,
	    "request_id", brk_req_id(r)));
}

static json_t *
b64json(const char *p, size_t n)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	json_t *o;

	if (cm_b64url_decode(p, n, &raw, &len) != 0)
		return NULL;
	o = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}


static int
one_id(const char *issuer, const json_t *id, const char *role, struct idp_set_subject *s)
{
	const char *fmt = json_string_value(json_object_get(id, "format"));

	if (fmt == NULL)
		return CM_ERR_INVAL;
	if (strcmp(fmt, "iss_sub") == 0) {
		const char *iss = json_string_value(json_object_get(id, "iss"));

		/* our own subjects: iss is us, sub the uid */
		if (iss == NULL || strcmp(iss, issuer) != 0)
			return CM_ERR_INVAL;
		s->uid = json_string_value(json_object_get(id, "sub"));
		return s->uid ? 0 : CM_ERR_INVAL;
	}
	if (strcmp(fmt, "opaque") == 0) {
		const char *v = json_string_value(json_object_get(id, "id"));

		if (v == NULL)
			return CM_ERR_INVAL;
		if (strcmp(role, "device") == 0)
			s->device = v;
		else if (strcmp(role, "session") == 0)
			s->sid = v;
		else
			s->uid = v;
		return 0;
	}
	return CM_ERR_UNSUPPORTED;
}

static int
subject_parse(const char *issuer, const json_t *sub, const char *event,
    struct idp_set_subject *s)
{
	const char *fmt = json_string_value(json_object_get(sub, "format"));
	static const char *const roles[] = { "user", "device", "session" };
	size_t i;
	int rc;

	memset(s, 0, sizeof(*s));
	if (fmt == NULL)
		return CM_ERR_INVAL;
	if (strcmp(fmt, "complex") == 0) {
		for (i = 0; i < 3; i++) {
			json_t *m = json_object_get(sub, roles[i]);

			if (m != NULL && (rc = one_id(issuer, m, roles[i],
			    s)) != 0)
				return rc;
		}
		return s->uid || s->device || s->sid ? 0 : CM_ERR_INVAL;
	}
	/* a simple subject: its role follows from the event */
	if (strcmp(event, "device-compliance-change") == 0)
		return one_id(issuer, sub, "device", s);
	if (strcmp(event, "session-revoked") == 0 &&
	    strcmp(fmt, "opaque") == 0)
		return one_id(issuer, sub, "session", s);
	return one_id(issuer, sub, "user", s);
}


static int
name_ok(const char *s)
{
	return s == NULL || dir_name_check(s) == 0;
}

int
idp_set_decode(const char *tok, size_t len, json_t **hdr, json_t **payload)
{
	const char *d1, *d2, *typ;

	*hdr = *payload = NULL;
	if (len == 0 || len > SET_MAX_LEN || memchr(tok, '\0', len) != NULL)
		return CM_ERR_RANGE;
	if ((d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
		return CM_ERR_INVAL;
	if ((*hdr = b64json(tok, (size_t)(d1 - tok))) == NULL ||
	    (*payload = b64json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL)
		goto bad;
	typ = json_string_value(json_object_get(*hdr, "typ"));
	if (typ == NULL || (strcmp(typ, "secevent+jwt") != 0 &&
	    strcmp(typ, "application/secevent+jwt") != 0))
		goto bad;
	return 0;
 bad:
	json_decref(*hdr);
	json_decref(*payload);
	*hdr = *payload = NULL;
	return CM_ERR_INVAL;
}

int
idp_set_check(const json_t *o, const char *issuer, const char *aud,
    int64_t now, struct idp_set_info *out, const char **why)
{
	const char *iss, *jti;
	json_t *events, *a, *v, *ev = NULL;
	json_int_t iat = 0;
	const char *event = NULL;
	size_t i;
	int aud_ok = 0;

	memset(out, 0, sizeof(*out));
	*why = "iss, jti, iat and exactly one event are required; no sub "
	    "(SSF); exp, if any, not past";
	if (!json_is_object(o) || json_unpack((json_t *)(uintptr_t)o,
	    "{s:s, s:s, s:I, s:o}", "iss", &iss, "jti", &jti, "iat", &iat,
	    "events", &events) != 0 || !json_is_object(events) ||
	    json_object_size(events) != 1 || json_object_get(o, "sub") != NULL ||
	    strlen(jti) == 0 || strlen(jti) > 256 ||
	    (json_object_get(o, "exp") != NULL &&
	    (!json_is_integer(json_object_get(o, "exp")) ||
	    json_integer_value(json_object_get(o, "exp")) < now)))
		return CM_E_SET_INVALID;
	a = json_object_get(o, "aud");
	if (json_is_string(a))
		aud_ok = strcmp(json_string_value(a), aud) == 0;
	else if (json_is_array(a)) {
		json_array_foreach(a, i, v)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), aud) == 0)
				aud_ok = 1;
	}
	if (!aud_ok) {
		*why = "aud is not this receiver";
		return CM_E_SET_AUDIENCE;
	}
	if (iat < now - SET_MAX_AGE || iat > now + SET_SKEW) {
		*why = "iat is stale or in the future";
		return CM_E_SET_REPLAY;
	}
	json_object_foreach(events, event, ev)
		break;
	if (event == NULL || strncmp(event, CAEP, strlen(CAEP)) != 0 ||
	    !json_is_object(ev)) {
		*why = "not a CAEP event";
		return CM_E_SET_INVALID;
	}
	out->iss = iss;
	out->jti = jti;
	out->event = event + strlen(CAEP);
	out->fields = ev;
	if (subject_parse(issuer, json_object_get(o, "sub_id") ?
	    json_object_get(o, "sub_id") : json_object_get(ev, "subject"),
	    out->event, &out->subj) != 0 || !name_ok(out->subj.uid) ||
	    !name_ok(out->subj.device) ||
	    (out->subj.sid != NULL && strlen(out->subj.sid) > 64)) {
		*why = "subject not understood";
		return CM_E_SET_INVALID;
	}
	*why = NULL;
	return CM_E_OK;
}

/* Apply one CAEP event; *action says what was done (for the audit). */
static int
act(struct idp *idp, struct brk_req *r, const char *iss, const char *event,
    const json_t *ev, const struct idp_set_subject *s, char *action, size_t asz)
{
	const char *rid = brk_req_id(r);
	char **keys = NULL;
	size_t n = 0, i;
	int rc;

	if (!name_ok(s->uid) || !name_ok(s->device))
		return CM_ERR_INVAL;
	if (strcmp(event, "session-revoked") == 0) {
		if (s->sid != NULL) {
			if ((rc = dir_state_find(idp->dir, IDP_ST_SESS,
			    DIR_STATE_BY_REF, s->sid, &keys, &n)) != 0)
				return rc;
			for (i = 0; i < n; i++)
				if (dir_state_delete(idp->dir, IDP_ST_SESS,
				    keys[i]) != 0)
					cm_warn(rid, "ssf.session_delete", NULL);
			dir_names_free(&keys, n);
			snprintf(action, asz, "ended %zu session(s)", n);
			return 0;
		}
		if (s->uid == NULL)
			return CM_ERR_INVAL;
		snprintf(action, asz, "revoked %zu session/token entries",
		    idp_revoke_user(idp, rid, s->uid, "caep session-revoked"));
		return 0;
	}
	if (strcmp(event, "credential-change") == 0) {
		const char *ct = json_string_value(json_object_get(ev,
		    "change_type"));
		const char *kind = json_string_value(json_object_get(ev,
		    "credential_type"));
		struct dir_totp *t = NULL;

		if (s->uid == NULL || ct == NULL)
			return CM_ERR_INVAL;
		if (strcmp(ct, "revoke") != 0 && strcmp(ct, "delete") != 0) {
			snprintf(action, asz, "noted (%s)", ct);
			return 0;
		}
		if (kind != NULL && strcmp(kind, "app") == 0 &&
		    dir_totp_get(idp->dir, s->uid, &t) == 0) {
			rc = dir_totp_set_state(idp->dir, t,
			    DIR_AUTHN_SUSPENDED);
			dir_totp_free(&t);
			if (rc != 0)
				return rc;
		}
		/* whatever the credential, what it opened is closed */
		snprintf(action, asz, "credential %s suspended; revoked %zu "
		    "entries", kind ? kind : "?", idp_revoke_user(idp, rid,
		    s->uid, "caep credential-change"));
		return 0;
	}
	if (strcmp(event, "assurance-level-change") == 0) {
		const char *cur = json_string_value(json_object_get(ev,
		    "current_level"));
		const char *dir = json_string_value(json_object_get(ev,
		    "change_direction"));

		if (s->uid == NULL || cur == NULL)
			return CM_ERR_INVAL;
		if (dir != NULL && strcmp(dir, "increase") == 0) {
			snprintf(action, asz, "noted (increase to %s)", cur);
			return 0;
		}
		/* lower assurance: sessions must be established again */
		snprintf(action, asz, "level now %s; revoked %zu entries", cur,
		    idp_revoke_user(idp, rid, s->uid,
		    "caep assurance-level-change"));
		return 0;
	}
	if (strcmp(event, "device-compliance-change") == 0) {
		const char *cur = json_string_value(json_object_get(ev,
		    "current_status"));

		if (s->device == NULL || cur == NULL ||
		    (strcmp(cur, "compliant") != 0 &&
		    strcmp(cur, "not-compliant") != 0))
			return CM_ERR_INVAL;
		/* CAEP's "not-compliant" is the directory's "noncompliant" */
		if ((rc = dir_device_set_compliance(idp->dir, s->device,
		    strcmp(cur, "compliant") == 0 ? "compliant" :
		    "noncompliant")) != 0)
			return rc;
		snprintf(action, asz, "device %s is %s", s->device, cur);
		return 0;
	}
	if (strcmp(event, "risk-level-change") == 0) {
		const char *lvl = json_string_value(json_object_get(ev,
		    "current_level"));
		char subject[128], sig[300], lower[16];
		enum idp_risk rl;
		size_t k;

		if (lvl == NULL || strlen(lvl) >= sizeof(lower))
			return CM_ERR_INVAL;
		for (k = 0; lvl[k] != '\0'; k++)
			lower[k] = (char)((lvl[k] >= 'A' && lvl[k] <= 'Z') ?
			    lvl[k] + 32 : lvl[k]);
		lower[k] = '\0';
		if (idp_risk_parse(lower, &rl) != 0)
			return CM_ERR_INVAL;
		if (s->device != NULL)
			snprintf(subject, sizeof(subject), "device:%s",
			    s->device);
		else if (s->uid != NULL)
			snprintf(subject, sizeof(subject), "user:%s", s->uid);
		else
			return CM_ERR_INVAL;
		snprintf(sig, sizeof(sig), "pdp:%s", iss);
		if ((rc = idp_risk_raise(idp, rid, subject, (int)rl, sig, iss,
		    86400)) != 0)
			return rc;
		snprintf(action, asz, "%s risk %s", subject, lower);
		return 0;
	}
	return CM_ERR_UNSUPPORTED;
}

void
idp_h_ssf_events(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	struct idp_ssf *s = idp->ssf;
	const char *ct = brk_req_header(r, "Content-Type"), *kid, *why;
	const char *piss;
	const struct transmitter *t = NULL;
	const tok_key *key = NULL;
	const uint8_t *body;
	char *aud = NULL, jkey[44], idbuf[600], action[256] = "";
	uint8_t *payload = NULL;
	size_t len, plen = 0, i;
	json_t *h = NULL, *peek = NULL, *o = NULL;
	struct idp_set_info si;
	enum cm_eid e;
	int64_t now = cm_time();
	int rc;

	(void)app;
	body = brk_req_body(r, &len);
	if (ct == NULL || strncasecmp(ct, "application/secevent+jwt",
	    strlen("application/secevent+jwt")) != 0) {
		set_error(r, CM_E_SET_INVALID, "Content-Type must be "
		    "application/secevent+jwt");
		return;
	}
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		len--;
	if (idp_set_decode((const char *)body, len, &h, &peek) != 0) {
		set_error(r, CM_E_SET_INVALID, "not a compact JWS with typ "
		    "secevent+jwt");
		goto out;
	}
	piss = json_string_value(json_object_get(peek, "iss"));
	pthread_rwlock_rdlock(&s->lock);
	for (i = 0; piss != NULL && i < s->ntx; i++)
		if (strcmp(s->tx[i].iss, piss) == 0)
			t = &s->tx[i];
	if (t == NULL) {
		pthread_rwlock_unlock(&s->lock);
		set_error(r, CM_E_SET_ISSUER, "unknown transmitter");
		goto out;
	}
	kid = json_string_value(json_object_get(h, "kid"));
	if (kid != NULL)
		key = tok_keyset_find(t->keys, kid, strlen(kid));
	else if (tok_keyset_count(t->keys) == 1)
		key = tok_keyset_get(t->keys, 0);
	/* signature first; only then are the claims believed */
	rc = key == NULL ? CM_ERR_NOTFOUND : tok_jws_verify_compact(key,
	    (const char *)body, len, &payload, &plen);
	aud = strdup(t->aud);
	pthread_rwlock_unlock(&s->lock);
	if (rc != 0 || aud == NULL) {
		set_error(r, CM_E_SET_KEY, "signature does not verify with the "
		    "transmitter's keys");
		goto out;
	}
	o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES,
	    NULL);
	if ((e = (enum cm_eid)idp_set_check(o, idp->issuer, aud, now, &si,
	    &why)) != CM_E_OK) {
		set_error(r, e, why);
		goto out;
	}
	/* replay: one add per (iss, jti) on any node */
	snprintf(idbuf, sizeof(idbuf), "%s %s", si.iss, si.jti);
	if (idp_hash_key(idbuf, jkey) != 0) {
		set_error(r, CM_E_SET_INVALID, "internal error");
		goto out;
	}
	rc = dir_state_add(idp->dir, "setjti", jkey, NULL, NULL, "{}",
	    now + SET_MAX_AGE + SET_SKEW);
	if (rc == CM_ERR_EXISTS) {
		set_error(r, CM_E_SET_REPLAY, "jti already received");
		goto out;
	}
	if (rc != 0) {
		brk_resp_error(r, CM_E_DIR_UNAVAILABLE, NULL);
		goto out;
	}
	if ((rc = act(idp, r, si.iss, si.event, si.fields, &si.subj, action,
	    sizeof(action))) != 0) {
		set_error(r, CM_E_SET_INVALID, rc == CM_ERR_UNSUPPORTED ?
		    "event not supported" : "event could not be applied");
		goto out;
	}
	if (cm_audit_emit(brk_req_id(r), "signal.received",
	    "{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s}", "iss", si.iss, "jti",
	    si.jti, "event", si.event, "uid", si.subj.uid, "device",
	    si.subj.device, "sid", si.subj.sid, "action", action) != 0) {
		brk_resp_error(r, CM_E_AUDIT_UNAVAILABLE, NULL);
		goto out;
	}
	brk_resp_body(r, 202, "application/json", "", 0);
 out:
	free(aud);
	free(payload);
	json_decref(h);
	json_decref(peek);
	json_decref(o);
}

/* /.well-known/ssf-configuration (transmitter metadata, SSF 1.0). */
void
idp_h_ssf_config(struct brk_app *app, struct brk_req *r, void *ctx)
{
	struct idp *idp = ctx;
	char jwks[600];

	(void)app;
	snprintf(jwks, sizeof(jwks), "%s/jwks.json", idp->issuer);
	brk_resp_json(r, 200, json_pack("{s:s, s:s, s:[s], s:[s,s,s,s,s]}",
	    "issuer", idp->issuer, "jwks_uri", jwks,
	    "delivery_methods_supported", "urn:ietf:rfc:8935",
	    "events_supported",
	    CAEP "session-revoked", CAEP "credential-change",
	    CAEP "assurance-level-change", CAEP "device-compliance-change",
	    CAEP "risk-level-change"));
}

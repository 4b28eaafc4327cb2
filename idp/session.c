/*
 * idp/session.c — SSO sessions.
 *
 * The cookie (__Host-skm_session: Secure, HttpOnly, SameSite=Lax, Path=/)
 * holds 256 random bits; the directory holds only their SHA-256 as the key
 * of a state entry, so reading the directory yields no usable cookie.  The
 * entry's JSON: {"sid","uid","auth_time","created","last_seen","aal","amr",
 * "clients":[...],"csrf"}.  Idle and absolute timeouts depend on the level
 * reached (idp_config.session_idle/max, NIST SP 800-63B-4 defaults).  A new
 * login always creates a new session (no fixation).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idp_int.h"
#include "assurance.h"

/* last_seen is written back at most this often (one directory write per
 * minute per active session, not one per request). */
#define IDP_SESSION_TOUCH	60

void
idp_session_free(struct idp_session **sp)
{
	struct idp_session *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	free(s->sid);
	free(s->uid);
	free(s->version);
	json_decref(s->amr);
	json_decref(s->data);
	free(s);
	*sp = NULL;
}

/* A session from its stored object o (consumed) and version. */
static int
session_from_json(const char *key, json_t *o, const char *version,
    struct idp_session **out)
{
	struct idp_session *s;
	json_error_t jerr;
	const char *sid = NULL, *uid = NULL;
	json_int_t at = 0, cr = 0, ls = 0, aal = 0;
	json_t *amr = NULL;

	*out = NULL;
	/* a key read from the directory may be any cn: never past its end */
	if (strlen(key) >= sizeof(((struct idp_session *)0)->key)) {
		json_decref(o);
		return CM_ERR_INVAL;
	}
	if (o == NULL || json_unpack_ex(o, &jerr, 0,
	    "{s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "sid", &sid, "uid", &uid,
	    "auth_time", &at, "created", &cr, "last_seen", &ls, "aal", &aal,
	    "amr", &amr) != 0 || !json_is_array(amr) || aal < 1 || aal > 3) {
		json_decref(o);
		return CM_ERR_INVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->sid = strdup(sid)) == NULL || (s->uid = strdup(uid)) == NULL ||
	    (s->version = strdup(version)) == NULL) {
		if (s != NULL) {
			free(s->sid);
			free(s->uid);
			free(s);
		}
		json_decref(o);
		return CM_ERR_NOMEM;
	}
	memcpy(s->key, key, strlen(key) + 1);	/* length checked above */
	s->auth_time = at;
	s->created = cr;
	s->last_seen = ls;
	s->aal = (int)aal;
	s->amr = json_incref(amr);
	s->data = o;
	*out = s;
	return 0;
}

static int
session_from_state(const char *key, struct dir_state *st,
    struct idp_session **out)
{
	json_error_t jerr;

	return session_from_json(key, json_loads(st->data,
	    JSON_REJECT_DUPLICATES, &jerr), st->version, out);
}

int
idp_session_get(struct idp *idp, const char *key, struct idp_session **out)
{
	struct dir_state *st = NULL;
	int r;

	*out = NULL;
	if ((r = dir_state_get(idp->dir, IDP_ST_SESS, key, cm_time(),
	    &st)) != 0)
		return r;
	r = session_from_state(key, st, out);
	dir_state_free(&st);
	return r;
}

int
idp_session_current(struct idp *idp, struct brk_req *r,
    struct idp_session **out)
{
	const struct idp_config *cfg = idp->cfg;
	const char *cookie = brk_req_cookie(r, IDP_COOKIE_SESSION);
	struct idp_session *s = NULL;
	char key[44];
	int64_t now = cm_time();
	int rc;

	*out = NULL;
	if (cookie == NULL || strlen(cookie) != 43)
		return CM_ERR_NOTFOUND;
	if ((rc = idp_hash_key(cookie, key)) != 0)
		return rc;
	if ((rc = idp_session_get(idp, key, &s)) != 0)
		return rc;
	if (now - s->last_seen > (int64_t)cfg->session_idle[s->aal] ||
	    now - s->created > (int64_t)cfg->session_max[s->aal]) {
		cm_info(brk_req_id(r), "session.expired", "{s:s, s:s}",
		    "sid", s->sid, "uid", s->uid);
		if (dir_state_delete(idp->dir, IDP_ST_SESS, key) != 0)
			cm_warn(brk_req_id(r), "session.delete_failed", NULL);
		idp_session_free(&s);
		return CM_ERR_NOTFOUND;
	}
	if (now - s->last_seen >= IDP_SESSION_TOUCH) {
		json_object_set_new(s->data, "last_seen", json_integer(now));
		/* a lost race only means another node touched it too */
		if (idp_session_save(idp, s) == 0)
			s->last_seen = now;
	}
	*out = s;
	return 0;
}

int
idp_session_save(struct idp *idp, struct idp_session *s)
{
	char *data, *ver = NULL;
	int64_t exp;
	int r;

	exp = s->created + idp->cfg->session_max[s->aal];
	if ((data = json_dumps(s->data, JSON_COMPACT)) == NULL)
		return CM_ERR_NOMEM;
	r = dir_state_update(idp->dir, IDP_ST_SESS, s->key, s->version, data,
	    exp, &ver);
	free(data);
	if (r == 0) {
		free(s->version);
		s->version = ver;
	}
	return r;
}

/*
 * Past max_sessions_per_user live sessions of uid, end the oldest (by
 * slapd's createTimestamp) that are older than keep (the login's own new
 * session): of two concurrent logins neither ends the other's newer
 * session, so the newest always lives.  At most IDP_EVICT_PER_LOGIN go and
 * twice that many are read; one search lists the live ones (expired ones,
 * waiting for the prune, neither count nor are read).  Concurrent logins
 * may each count the other's new session, so the count can sit one or two
 * off the limit until the next login; a lost race (already gone) is not an
 * error.  Failures are logged: the login itself has succeeded.
 */
void
idp_session_limit(struct idp *idp, struct brk_req *r, const char *uid,
    const char *keep)
{
	struct dir_state_age *v = NULL;
	size_t n = 0, i, mine, over, gone = 0, tries = 0;
	int rc;

	if (idp->cfg->max_sessions == 0)
		return;
	if ((rc = dir_state_ages(idp->dir, IDP_ST_SESS, DIR_STATE_BY_SUBJECT,
	    uid, cm_time(), &v, &n)) != 0) {
		cm_warn(brk_req_id(r), "session.limit_unchecked", "{s:s, s:s}",
		    "uid", uid, "error", cm_strerror(rc));
		return;
	}
	for (mine = 0; mine < n && strcmp(v[mine].key, keep) != 0; mine++)
		;
	over = n > idp->cfg->max_sessions ? n - idp->cfg->max_sessions : 0;
	/* only those before mine (older); none if mine is not listed */
	for (i = 0; i < mine && over > 0 && gone < IDP_EVICT_PER_LOGIN &&
	    tries < 2 * IDP_EVICT_PER_LOGIN; i++) {
		struct idp_session *old = NULL;

		tries++;
		/* read first: its sid and clients are what logout needs; one
		 * gone meanwhile only lowers the excess */
		if ((rc = idp_session_get(idp, v[i].key, &old)) != 0) {
			if (rc == CM_ERR_NOTFOUND)
				over--;
			continue;
		}
		if (strcmp(old->uid, uid) != 0) {
			idp_session_free(&old);	/* never another's */
			continue;
		}
		if ((rc = dir_state_delete(idp->dir, IDP_ST_SESS,
		    v[i].key)) != 0) {
			if (rc == CM_ERR_NOTFOUND)
				over--;
			else
				cm_warn(brk_req_id(r), "session.evict_failed",
				    "{s:s, s:s}", "uid", uid, "error",
				    cm_strerror(rc));
			idp_session_free(&old);
			continue;
		}
		gone++;
		over--;
		if (cm_audit_emit(brk_req_id(r), "session.evicted",
		    "{s:s, s:s, s:I, s:i}", "uid", uid, "sid", old->sid,
		    "sessions", (json_int_t)n, "limit",
		    (int)idp->cfg->max_sessions) != 0)
			cm_err(brk_req_id(r), "audit.write_failed", NULL);
		idp_session_ended(idp, r, old);
		idp_session_free(&old);
	}
	dir_state_ages_free(&v, n);
}

/* Whether a session's array of clients a lists client_id. */
static int
clients_has(const json_t *a, const char *client_id)
{
	json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), client_id) == 0)
			return 1;
	return 0;
}

/* Append client_id to a unless it is there: 0 or CM_ERR_NOMEM. */
static int
clients_add(json_t *a, const char *client_id)
{
	if (clients_has(a, client_id))
		return 0;
	return json_array_append_new(a, json_string(client_id)) == 0 ? 0 :
	    CM_ERR_NOMEM;
}

int
idp_session_create(struct idp *idp, struct brk_req *r, const char *uid,
    int aal, json_t *amr, const char *client_id,
    const struct idp_session *from, struct idp_session **out)
{
	char *cookie = NULL, *sid = NULL, *csrf = NULL, *data = NULL;
	char *ver = NULL;
	char key[44];
	int64_t now = cm_time();
	json_t *o = NULL, *clients, *v;
	size_t i;
	int rc = CM_ERR_INTERNAL;

	*out = NULL;
	if (aal < 1 || aal > 3)
		return CM_ERR_INVAL;
	/* a step-up goes on with the SSO session it raises (never another
	 * user's): its sid and its clients; the cookie is new */
	if (from != NULL && strcmp(from->uid, uid) != 0)
		from = NULL;
	if ((rc = idp_random_token(&cookie)) != 0 ||
	    (from == NULL && (rc = cm_random_b64url(16, &sid)) != 0) ||
	    (rc = idp_random_token(&csrf)) != 0 ||
	    (rc = idp_hash_key(cookie, key)) != 0)
		goto out;
	if (from != NULL && (sid = strdup(from->sid)) == NULL) {
		rc = CM_ERR_NOMEM;
		goto out;
	}
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:O, s:[], s:s}",
	    "sid", sid, "uid", uid, "auth_time", (json_int_t)now,
	    "created", (json_int_t)now, "last_seen", (json_int_t)now,
	    "aal", aal, "amr", amr, "clients", "csrf", csrf);
	rc = o == NULL ? CM_ERR_NOMEM : 0;
	clients = json_object_get(o, "clients");
	if (from != NULL)
		json_array_foreach(json_object_get(from->data, "clients"), i, v)
			if (rc == 0 && json_is_string(v))
				rc = clients_add(clients, json_string_value(v));
	if (rc == 0 && client_id != NULL)
		rc = clients_add(clients, client_id);
	if (rc != 0)
		goto out;
	/* the device it was established from (mutual TLS), if any */
	if (o != NULL) {
		char dev[DIR_NAME_MAX + 1];
		int proofed;

		if (idp_device_of_request(idp, r, dev, sizeof(dev)) == 0) {
			(void)idp_device_lookup(idp, dev, &proofed);
			json_object_set_new(o, "device", json_string(dev));
			json_object_set_new(o, "device_proofed",
			    json_boolean(proofed > 0));
		}
	}
	if (o == NULL || (data = json_dumps(o, JSON_COMPACT)) == NULL) {
		rc = CM_ERR_NOMEM;
		goto out;
	}
	if ((rc = dir_state_add_v(idp->dir, IDP_ST_SESS, key, uid, sid, data,
	    now + idp->cfg->session_max[aal], &ver)) != 0)
		goto out;
	if ((rc = idp_set_cookie(r, IDP_COOKIE_SESSION, cookie,
	    (long)idp->cfg->session_max[aal], "Lax")) != 0)
		goto out;
	/* what was written, with its version: no need to read it back */
	rc = session_from_json(key, o, ver, out);
	o = NULL;
 out:
	free(ver);
	cm_strfree(&cookie);
	cm_strfree(&csrf);
	free(sid);
	free(data);
	json_decref(o);
	return rc;
}

/* The newest live entry of sid that reads as a session of sid and uid,
 * other than except (may be NULL): 0 (*key, if key is not NULL, gets it,
 * malloc'd), CM_ERR_NOTFOUND when there is none, another error when the
 * directory did not answer. */
static int
sid_live_key(struct idp *idp, const char *sid, const char *uid,
    const char *except, char **key)
{
	struct dir_state_age *v = NULL;
	size_t n = 0, i;
	int rc;

	if (key != NULL)
		*key = NULL;
	if ((rc = dir_state_ages(idp->dir, IDP_ST_SESS, DIR_STATE_BY_REF, sid,
	    cm_time(), &v, &n)) != 0)
		return rc;
	rc = CM_ERR_NOTFOUND;
	for (i = n; i-- > 0 && rc == CM_ERR_NOTFOUND; ) {
		struct idp_session *o = NULL;

		if ((except == NULL || strcmp(v[i].key, except) != 0) &&
		    idp_session_get(idp, v[i].key, &o) == 0 &&
		    strcmp(o->sid, sid) == 0 && strcmp(o->uid, uid) == 0)
			rc = key != NULL && (*key = strdup(v[i].key)) == NULL ?
			    CM_ERR_NOMEM : 0;	/* never another's */
		idp_session_free(&o);
	}
	dir_state_ages_free(&v, n);
	return rc;
}

/* Another step-up of old (another tab) took it over: a live entry of its
 * sid and user other than s. */
static int
sid_lives_elsewhere(struct idp *idp, const struct idp_session *old,
    const struct idp_session *s)
{
	return sid_live_key(idp, old->sid, old->uid, s->key, NULL) == 0;
}

/* Compare-and-delete rounds before the old entry goes unconditionally. */
#define IDP_REPLACE_TRIES	4

int
idp_session_replace(struct idp *idp, const struct idp_session *old,
    struct idp_session *s)
{
	struct idp_session *last = NULL, *now = NULL;
	json_t *v;
	size_t i;
	int rc = 0, d = CM_ERR_CONFLICT, tries;

	/*
	 * Read the old entry, merge what joined it since the last read (a
	 * client added in another tab), and delete it only at the version
	 * read: a client that joins between the read and the delete makes
	 * the delete fail, and the next round merges it.
	 */
	for (tries = 0; d == CM_ERR_CONFLICT && rc == 0 &&
	    tries < IDP_REPLACE_TRIES; tries++) {
		if ((d = idp_session_get(idp, old->key, &now)) != 0)
			break;		/* gone, or the directory failed */
		if (strcmp(now->version, (last != NULL ? last : old)->version)
		    != 0)
			json_array_foreach(json_object_get(now->data,
			    "clients"), i, v)
				if (json_is_string(v) && (rc =
				    idp_session_add_client(idp, s,
				    json_string_value(v))) != 0)
					break;
		d = dir_state_delete_v(idp->dir, IDP_ST_SESS, old->key,
		    now->version);
		idp_session_free(&last);
		last = now;
		now = NULL;
	}
	idp_session_free(&last);
	if (tries == 0 && d != CM_ERR_NOTFOUND)
		return d;	/* not read: the directory failed */
	/* the old cookie goes whatever the merge did (no fixation) */
	if (d == CM_ERR_CONFLICT)
		d = dir_state_delete(idp->dir, IDP_ST_SESS, old->key);
	if (d == CM_ERR_NOTFOUND && sid_lives_elsewhere(idp, old, s))
		d = 0;
	return rc != 0 ? rc : d;
}

int
idp_session_end_sid(struct idp *idp, struct brk_req *r, struct idp_session *s)
{
	char **keys = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = idp_session_end(idp, r, s)) != 0)
		return rc;
	/* a step-up racing this logout may have made the sid's next entry */
	if (dir_state_find(idp->dir, IDP_ST_SESS, DIR_STATE_BY_REF, s->sid,
	    &keys, &n) != 0) {
		cm_warn(brk_req_id(r), "session.sid_unchecked", NULL);
		return 0;	/* the session itself has ended */
	}
	for (i = 0; i < n && rc == 0; i++) {
		struct idp_session *o = NULL;

		if (idp_session_get(idp, keys[i], &o) == 0 &&
		    strcmp(o->uid, s->uid) == 0 && strcmp(o->sid, s->sid) == 0 &&
		    (rc = dir_state_delete(idp->dir, IDP_ST_SESS, keys[i])) ==
		    CM_ERR_NOTFOUND)
			rc = 0;
		idp_session_free(&o);
	}
	dir_names_free(&keys, n);
	return rc;
}

int
idp_session_alive(struct idp *idp, const char *key, const char *sid,
    const char *uid, char **live)
{
	struct dir_state *st = NULL;
	int rc;

	if (live != NULL)
		*live = NULL;
	if ((rc = dir_state_get(idp->dir, IDP_ST_SESS, key, cm_time(),
	    &st)) == 0) {
		dir_state_free(&st);
		return 0;
	}
	if (rc != CM_ERR_NOTFOUND || sid == NULL || uid == NULL)
		return rc;
	/* stepped up: the same sid under a new key */
	return sid_live_key(idp, sid, uid, NULL, live);
}

int
idp_session_end(struct idp *idp, struct brk_req *r, struct idp_session *s)
{
	int rc;

	rc = dir_state_delete(idp->dir, IDP_ST_SESS, s->key);
	if (rc == CM_ERR_NOTFOUND)
		rc = 0;
	if (r != NULL)
		(void)idp_set_cookie(r, IDP_COOKIE_SESSION, "", 0, "Lax");
	return rc;
}

int
idp_session_add_client(struct idp *idp, struct idp_session *s,
    const char *client_id)
{
	json_t *a = json_object_get(s->data, "clients");
	int tries, r = 0;

	for (tries = 0; tries < 3; tries++) {
		if (clients_has(a, client_id))
			return 0;
		if (json_array_append_new(a, json_string(client_id)) != 0)
			return CM_ERR_NOMEM;
		if ((r = idp_session_save(idp, s)) != CM_ERR_CONFLICT)
			return r;
		/* another node changed it: re-read and merge */
		{
			struct idp_session *fresh = NULL;

			if ((r = idp_session_get(idp, s->key, &fresh)) != 0)
				return r;
			json_decref(s->data);
			s->data = json_incref(fresh->data);
			free(s->version);
			s->version = fresh->version;
			fresh->version = NULL;
			idp_session_free(&fresh);
			a = json_object_get(s->data, "clients");
		}
	}
	return r;
}

const char *
idp_acr_uri(int aal)
{
	const char *s;

	/* one set of URIs, owned by the assurance code (idp/assurance.h) */
	if (aal < IDP_AAL1 || aal > IDP_AAL3 ||
	    (s = idp_aal_acr((enum idp_aal)aal)) == NULL)
		return idp_aal_acr(IDP_AAL1);
	return s;
}

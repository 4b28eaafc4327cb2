/*
 * directory/dir_state.c — short-lived protocol state in the directory
 * (login transactions, SSO sessions, authorization codes, refresh-token
 * families, replay marks), so that every broker node sees the same state
 * and a restart loses nothing.
 *
 *   cn=<key>,ou=<kind>,ou=state,<base>     objectClass skmState
 *     skmStateData     the state (JSON text)
 *     skmStateVersion  random; changes on every update (compare-and-swap)
 *     skmStateExpires  seconds since the epoch (integer, ordered index)
 *     skmStateSubject  whom it concerns (uid), optional, indexed
 *     skmStateRef      a grouping reference (session id, family), indexed
 *
 * Keys and kinds are restricted to base64url characters, so they never
 * need DN escaping.  An update is one LDAP modify that deletes the old
 * version value and adds a new one: of two concurrent updates from the
 * same version, the server applies exactly one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir_private.h"

static const char *const state_attrs[] = {
	"skmStateData", "skmStateVersion", "skmStateExpires",
	"skmStateSubject", "skmStateRef", NULL
};

static int
token_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int
state_dn(struct dir_pool *p, const char *kind, const char *key, char *dn,
    size_t dnlen)
{
	if (!token_ok(kind, 16) || !token_ok(key, DIR_STATE_KEY_MAX))
		return CM_ERR_INVAL;
	return dir_fmt(dn, dnlen, "cn=%s,ou=%s,ou=state,%s", key, kind,
	    p->cfg.base_dn);
}

static int
draw_version(char out[33])
{
	return cm_random_rid(out);
}

void
dir_state_free(struct dir_state **sp)
{
	struct dir_state *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	if (s->data != NULL)
		cm_freezero(s->data, strlen(s->data));
	free(s->version);
	free(s->subject);
	free(s->ref);
	free(s);
	*sp = NULL;
}

int
dir_state_add(struct dir_pool *p, const char *kind, const char *key,
    const char *subject, const char *ref, const char *data, int64_t expires)
{
	return dir_state_add_v(p, kind, key, subject, ref, data, expires,
	    NULL);
}

int
dir_state_add_v(struct dir_pool *p, const char *kind, const char *key,
    const char *subject, const char *ref, const char *data, int64_t expires,
    char **version)
{
	char dn[DIR_MAX_DN], ver[33], exp[24];
	struct dir_modset ms;
	int r, ldrc = 0;

	if (version != NULL)
		*version = NULL;
	if ((r = state_dn(p, kind, key, dn, sizeof(dn))) != 0)
		return r;
	if (strlen(data) > DIR_STATE_DATA_MAX ||
	    (subject != NULL && strlen(subject) > DIR_VALUE_MAX) ||
	    (ref != NULL && !token_ok(ref, DIR_STATE_KEY_MAX)))
		return CM_ERR_RANGE;
	if ((r = draw_version(ver)) != 0)
		return r;
	snprintf(exp, sizeof(exp), "%lld", (long long)expires);
	dir_modset_init(&ms);
	if ((r = dir_modset_add1(&ms, LDAP_MOD_ADD, "objectClass",
	    "skmState")) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "cn", key)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmStateData",
	    data)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmStateVersion",
	    ver)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmStateExpires",
	    exp)) != 0 ||
	    (subject != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "skmStateSubject", subject)) != 0) ||
	    (ref != NULL && (r = dir_modset_add1(&ms, LDAP_MOD_ADD,
	    "skmStateRef", ref)) != 0))
		return r;
	r = dir_add(p, dn, dir_modset_get(&ms), &ldrc);
	if (r != 0 && ldrc == LDAP_ALREADY_EXISTS)
		r = CM_ERR_EXISTS;
	if (r == 0 && version != NULL && (*version = strdup(ver)) == NULL)
		r = CM_ERR_NOMEM;
	return r;
}

static int
entry_to_state(const struct dir_entry *e, struct dir_state **out)
{
	struct dir_state *s;
	char *exp = NULL;
	long long v;
	int r;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CM_ERR_NOMEM;
	if ((r = dir_entry_str(e, "skmStateData", &s->data)) != 0 ||
	    (r = dir_entry_str(e, "skmStateVersion", &s->version)) != 0 ||
	    (r = dir_entry_str(e, "skmStateExpires", &exp)) != 0 ||
	    (r = dir_entry_str(e, "skmStateSubject", &s->subject)) != 0 ||
	    (r = dir_entry_str(e, "skmStateRef", &s->ref)) != 0)
		goto fail;
	if (s->data == NULL || s->version == NULL || exp == NULL ||
	    cm_parse_ll(exp, 0, INT64_MAX, &v) != 0) {
		r = CM_ERR_INVAL;
		goto fail;
	}
	s->expires = v;
	free(exp);
	*out = s;
	return 0;
 fail:
	free(exp);
	dir_state_free(&s);
	return r;
}

int
dir_state_get(struct dir_pool *p, const char *kind, const char *key,
    int64_t now, struct dir_state **out)
{
	char dn[DIR_MAX_DN];
	struct dir_result res;
	int r;

	*out = NULL;
	if ((r = state_dn(p, kind, key, dn, sizeof(dn))) != 0)
		return r == CM_ERR_INVAL ? CM_ERR_NOTFOUND : r;
	r = dir_search(p, dn, LDAP_SCOPE_BASE, "(objectClass=skmState)",
	    state_attrs, 1, &res);
	if (r != 0)
		return r;
	if (res.n != 1)
		r = CM_ERR_NOTFOUND;
	else
		r = entry_to_state(&res.v[0], out);
	dir_result_clear(&res);
	if (r == 0 && now != 0 && (*out)->expires <= now) {
		dir_state_free(out);
		r = CM_ERR_NOTFOUND;	/* expired: as good as gone */
	}
	return r;
}

int
dir_state_update(struct dir_pool *p, const char *kind, const char *key,
    const char *old_version, const char *data, int64_t expires,
    char **new_version)
{
	char dn[DIR_MAX_DN], ver[33], exp[24];
	struct dir_modset ms;
	int r, ldrc = 0;

	if (new_version != NULL)
		*new_version = NULL;
	if ((r = state_dn(p, kind, key, dn, sizeof(dn))) != 0)
		return r;
	if (strlen(data) > DIR_STATE_DATA_MAX)
		return CM_ERR_RANGE;
	if ((r = draw_version(ver)) != 0)
		return r;
	snprintf(exp, sizeof(exp), "%lld", (long long)expires);
	dir_modset_init(&ms);
	/* delete-old/add-new of the version: the compare-and-swap */
	if ((r = dir_modset_add1(&ms, LDAP_MOD_DELETE, "skmStateVersion",
	    old_version)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_ADD, "skmStateVersion",
	    ver)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmStateData",
	    data)) != 0 ||
	    (r = dir_modset_add1(&ms, LDAP_MOD_REPLACE, "skmStateExpires",
	    exp)) != 0)
		return r;
	r = dir_modify(p, dn, dir_modset_get(&ms), &ldrc);
	if (r != 0) {
		if (ldrc == LDAP_NO_SUCH_ATTRIBUTE)
			r = CM_ERR_CONFLICT;
		else if (ldrc == LDAP_NO_SUCH_OBJECT)
			r = CM_ERR_NOTFOUND;
		return r;
	}
	if (new_version != NULL && (*new_version = strdup(ver)) == NULL)
		r = CM_ERR_NOMEM;
	return r;
}

/* Delete the entry, only at version if that is not NULL (the assertion
 * control: CM_ERR_CONFLICT when it moved on). */
static int
state_delete(struct dir_pool *p, const char *kind, const char *key,
    const char *version)
{
	char dn[DIR_MAX_DN], filter[128], *esc = NULL;
	int r, ldrc = 0;

	if ((r = state_dn(p, kind, key, dn, sizeof(dn))) != 0)
		return r == CM_ERR_INVAL ? CM_ERR_NOTFOUND : r;
	if (version != NULL) {
		if ((r = dir_escape_filter(version, strlen(version),
		    &esc)) != 0)
			return r;
		r = dir_fmt(filter, sizeof(filter), "(skmStateVersion=%s)",
		    esc);
		free(esc);
		if (r != 0)
			return r;
	}
	r = dir_delete_if(p, dn, version != NULL ? filter : NULL, &ldrc);
	if (r != 0 && ldrc == LDAP_NO_SUCH_OBJECT)
		r = CM_ERR_NOTFOUND;
	return r;		/* LDAP_ASSERTION_FAILED: CM_ERR_CONFLICT */
}

int
dir_state_delete(struct dir_pool *p, const char *kind, const char *key)
{
	return state_delete(p, kind, key, NULL);
}

int
dir_state_delete_v(struct dir_pool *p, const char *kind, const char *key,
    const char *version)
{
	return state_delete(p, kind, key, version);
}

/* The entries of kind whose subject (or ref) is value and, if live_at is
 * not 0, not expired at live_at; with attrs. */
static int
state_search(struct dir_pool *p, const char *kind, enum dir_state_by by,
    const char *value, int64_t live_at, const char *const *attrs,
    struct dir_result *res)
{
	char live[48] = "";
	char base[DIR_MAX_DN], filter[512], *esc = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if (!token_ok(kind, 16))
		return CM_ERR_INVAL;
	if ((r = dir_fmt(base, sizeof(base), "ou=%s,ou=state,%s", kind,
	    p->cfg.base_dn)) != 0 ||
	    (r = dir_escape_filter(value, strlen(value), &esc)) != 0)
		return r;
	if (live_at != 0)
		snprintf(live, sizeof(live), "(!(skmStateExpires<=%lld))",
		    (long long)live_at);
	r = dir_fmt(filter, sizeof(filter),
	    "(&(objectClass=skmState)(%s=%s)%s)",
	    by == DIR_STATE_BY_SUBJECT ? "skmStateSubject" : "skmStateRef",
	    esc, live);
	free(esc);
	if (r != 0)
		return r;
	return dir_search(p, base, LDAP_SCOPE_ONELEVEL, filter, attrs,
	    DIR_SEARCH_MAX, res);
}

int
dir_state_find(struct dir_pool *p, const char *kind, enum dir_state_by by,
    const char *value, char ***keys, size_t *n)
{
	static const char *const attrs[] = { "cn", NULL };
	struct dir_result res;
	char **v = NULL;
	size_t i;
	int r;

	*keys = NULL;
	*n = 0;
	if ((r = state_search(p, kind, by, value, 0, attrs, &res)) != 0)
		return r;
	if (res.n > 0 && (v = calloc(res.n, sizeof(*v))) == NULL) {
		dir_result_clear(&res);
		return CM_ERR_NOMEM;
	}
	for (i = 0; i < res.n; i++) {
		if ((r = dir_entry_str(&res.v[i], "cn", &v[i])) != 0 ||
		    v[i] == NULL) {
			dir_names_free(&v, i);
			dir_result_clear(&res);
			return r ? r : CM_ERR_INVAL;
		}
	}
	*keys = v;
	*n = res.n;
	dir_result_clear(&res);
	return 0;
}

static int
age_cmp(const void *a, const void *b)
{
	const struct dir_state_age *x = a, *y = b;
	int c = strcmp(x->created, y->created);

	if (c == 0)
		c = strcmp(x->csn, y->csn);
	return c != 0 ? c : strcmp(x->key, y->key);
}

int
dir_state_ages(struct dir_pool *p, const char *kind, enum dir_state_by by,
    const char *value, int64_t now, struct dir_state_age **out, size_t *n)
{
	static const char *const attrs[] = { "cn", "createTimestamp",
	    "entryCSN", NULL };
	struct dir_state_age *v = NULL;
	struct dir_result res;
	size_t i, k = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = state_search(p, kind, by, value, now, attrs, &res)) != 0)
		return r;
	if (res.n > 0 && (v = calloc(res.n, sizeof(*v))) == NULL) {
		dir_result_clear(&res);
		return CM_ERR_NOMEM;
	}
	for (i = 0; i < res.n; i++) {
		char *ct = NULL, *csn = NULL;

		/* GeneralizedTime as slapd writes it (YYYYmmddHHMMSSZ) and
		 * the CSN (YYYYmmddHHMMSS.uuuuuuZ#...): text order is time
		 * order.  An entry that does not read so is left out (it
		 * expires and is pruned like any other) */
		if (dir_entry_str(&res.v[i], "cn", &v[k].key) == 0 &&
		    v[k].key != NULL &&
		    dir_entry_str(&res.v[i], "createTimestamp", &ct) == 0 &&
		    dir_entry_str(&res.v[i], "entryCSN", &csn) == 0 &&
		    ct != NULL && strlen(ct) < sizeof(v[k].created) &&
		    (csn == NULL || strlen(csn) < sizeof(v[k].csn))) {
			memcpy(v[k].created, ct, strlen(ct) + 1);
			if (csn != NULL)
				memcpy(v[k].csn, csn, strlen(csn) + 1);
			k++;
		} else {
			free(v[k].key);
			v[k].key = NULL;
		}
		free(ct);
		free(csn);
	}
	dir_result_clear(&res);
	if (k > 1)
		qsort(v, k, sizeof(*v), age_cmp);
	*out = v;
	*n = k;
	return 0;
}

void
dir_state_ages_free(struct dir_state_age **v, size_t n)
{
	if (v == NULL || *v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*v)[i].key);
	free(*v);
	*v = NULL;
}

/* Search base for filter; delete every entry found.  *gone grows. */
static int
prune_search(struct dir_pool *p, const char *kind, const char *base,
    const char *filter, size_t *gone)
{
	static const char *const attrs[] = { "cn", NULL };
	struct dir_result res;
	size_t i;
	int r;

	if ((r = dir_search(p, base, LDAP_SCOPE_ONELEVEL, filter, attrs,
	    DIR_SEARCH_MAX, &res)) != 0)
		return r;
	for (i = 0; i < res.n; i++) {
		char *cn = NULL;

		if (dir_entry_str(&res.v[i], "cn", &cn) == 0 && cn != NULL &&
		    dir_state_delete(p, kind, cn) == 0)
			(*gone)++;
		free(cn);
	}
	dir_result_clear(&res);
	return 0;
}

/*
 * Delete the entries of one kind that expired at or before now.  A search
 * returns at most DIR_SEARCH_MAX entries, so a backlog larger than that is
 * taken in slices: when "expires <= hi" is over the limit, hi moves halfway
 * down towards the last bound that fitted, and after each slice the bound
 * goes back up to now.  When one second alone is over the limit (many
 * replay records share an expiry), that second is split by the first
 * character of cn (base64url of a hash: 64 even buckets).  Bounded: at
 * most DIR_PRUNE_MAX entries and 160 searches per call.
 */
#define DIR_PRUNE_MAX	DIR_SEARCH_MAX

int
dir_state_prune(struct dir_pool *p, const char *kind, int64_t now,
    size_t *removed)
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char base[DIR_MAX_DN], filter[160];
	int64_t lo = 0, hi = now;
	size_t gone = 0, b;
	int r = 0, searches = 0;

	if (removed != NULL)
		*removed = 0;
	if (!token_ok(kind, 16))
		return CM_ERR_INVAL;
	if ((r = dir_fmt(base, sizeof(base), "ou=%s,ou=state,%s", kind,
	    p->cfg.base_dn)) != 0)
		return r;
	while (searches < 160 && gone < DIR_PRUNE_MAX) {
		searches++;
		if ((r = dir_fmt(filter, sizeof(filter),
		    "(&(objectClass=skmState)(skmStateExpires<=%lld))",
		    (long long)hi)) != 0)
			break;
		r = prune_search(p, kind, base, filter, &gone);
		if (r == CM_ERR_RANGE && hi - lo > 1) {
			hi = lo + (hi - lo) / 2;	/* a smaller slice */
			continue;
		}
		if (r == CM_ERR_RANGE) {
			/* one second over the limit: by cn's first char */
			r = 0;
			for (b = 0; b < sizeof(b64u) - 1 && searches < 160 &&
			    gone < DIR_PRUNE_MAX; b++, searches++) {
				int br;

				if ((br = dir_fmt(filter, sizeof(filter),
				    "(&(objectClass=skmState)"
				    "(skmStateExpires<=%lld)(cn=%c*))",
				    (long long)hi, b64u[b])) != 0 ||
				    (br = prune_search(p, kind, base, filter,
				    &gone)) != 0)
					r = br;	/* the next call retries */
			}
			if (r != 0)
				break;
		} else if (r != 0)
			break;
		if (hi >= now)
			break;			/* everything up to now */
		lo = hi;
		hi = now;
	}
	if (removed != NULL)
		*removed = gone;
	return r;
}

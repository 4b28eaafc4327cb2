/* tokens/pep.c — access token verification for resource servers. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokens/pep.h"
#include "tokens/tok_int.h"

#define PEP_DEFAULT_TYP		"at+jwt"
#define PEP_NOW_MAX		((int64_t)1 << 40)	/* sanity bound */

/* A key set shared by concurrent verifications, freed by the last user. */
struct pep_keys {
	tok_keyset	*ks;
	unsigned	 refs;
};

struct pep_verifier {
	char		*issuer;
	char		*audience;
	char		*typ;
	char		*jwks_file;
	char		*jwks_url;
	enum tok_alg	 algs[PEP_MAX_ALGS];
	size_t		 nalgs;
	int64_t		 skew;
	char		*acr[PEP_MAX_ACR];
	size_t		 nacr;
	size_t		 min_acr;	/* index into acr */
	int		 check_acr;
	pep_fetch_fn	 fetch;
	void		*fetch_arg;
	int64_t		 refresh_min;

	pthread_mutex_t	 fetch_mtx;	/* one refresh at a time */
	pthread_mutex_t	 mtx;		/* keys, last_refresh */
	struct pep_keys	*keys;
	int64_t		 last_refresh;
	int		 refreshed;
};

static const char *const pep_errstr[] = {
	[-PEP_ERR_TOO_LONG - 200]	 = "token too long",
	[-PEP_ERR_PARTS - 200]		 = "not three dot-separated parts",
	[-PEP_ERR_B64 - 200]		 = "invalid base64url",
	[-PEP_ERR_JSON - 200]		 = "not a JSON object",
	[-PEP_ERR_JSON_DUP - 200]	 = "duplicate JSON member name",
	[-PEP_ERR_HDR - 200]		 = "malformed JOSE header",
	[-PEP_ERR_ALG_MISSING - 200]	 = "alg missing",
	[-PEP_ERR_ALG_NONE - 200]	 = "alg none refused",
	[-PEP_ERR_ALG_HMAC - 200]	 = "HMAC alg refused",
	[-PEP_ERR_ALG_NOT_ALLOWED - 200] = "alg not allowed",
	[-PEP_ERR_ALG_MISMATCH - 200]	 = "alg does not match the key",
	[-PEP_ERR_HDR_JWK - 200]	 = "embedded jwk header refused",
	[-PEP_ERR_HDR_JKU - 200]	 = "jku header refused",
	[-PEP_ERR_HDR_X5U - 200]	 = "x5u header refused",
	[-PEP_ERR_HDR_X5C - 200]	 = "x5c header refused",
	[-PEP_ERR_CRIT - 200]		 = "crit header refused",
	[-PEP_ERR_TYP - 200]		 = "wrong or missing typ",
	[-PEP_ERR_KID_MISSING - 200]	 = "kid missing",
	[-PEP_ERR_KID_INVALID - 200]	 = "kid malformed",
	[-PEP_ERR_KID_UNKNOWN - 200]	 = "unknown kid",
	[-PEP_ERR_NO_KEYS - 200]	 = "no verification keys",
	[-PEP_ERR_SIG - 200]		 = "bad signature",
	[-PEP_ERR_CLAIM_TYPE - 200]	 = "claim of the wrong type",
	[-PEP_ERR_ISS - 200]		 = "wrong issuer",
	[-PEP_ERR_AUD - 200]		 = "wrong audience",
	[-PEP_ERR_EXP_MISSING - 200]	 = "exp missing",
	[-PEP_ERR_EXPIRED - 200]	 = "token expired",
	[-PEP_ERR_NBF - 200]		 = "token not yet valid",
	[-PEP_ERR_IAT - 200]		 = "token issued in the future",
	[-PEP_ERR_ACR - 200]		 = "authentication context too weak",
	[-PEP_ERR_JWKS - 200]		 = "JWKS refused",
	[-PEP_ERR_FETCH - 200]		 = "JWKS unavailable",
};

const char *
pep_strerror(int err)
{
	size_t i;

	switch (err) {
	case PEP_OK:
		return "success";
	case PEP_ERR_INTERNAL:
		return "internal error";
	case PEP_ERR_NOMEM:
		return "out of memory";
	case PEP_ERR_INVAL:
		return "invalid argument";
	default:
		break;
	}
	if (err > PEP_ERR_TOO_LONG || err <= PEP_ERR_LAST_)
		return "unknown error";
	i = (size_t)(-err - 200);
	if (i < sizeof(pep_errstr) / sizeof(pep_errstr[0]) &&
	    pep_errstr[i] != NULL)
		return pep_errstr[i];
	return "unknown error";
}

static int
dupstr(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	if ((*out = strdup(s)) == NULL)
		return PEP_ERR_NOMEM;
	return 0;
}

static void
keys_put(pep_verifier *v, struct pep_keys *k)
{
	int last;

	if (k == NULL)
		return;
	pthread_mutex_lock(&v->mtx);
	last = (--k->refs == 0);
	pthread_mutex_unlock(&v->mtx);
	if (last) {
		tok_keyset_free(&k->ks);
		free(k);
	}
}

static struct pep_keys *
keys_get(pep_verifier *v)
{
	struct pep_keys *k;

	pthread_mutex_lock(&v->mtx);
	if ((k = v->keys) != NULL)
		k->refs++;
	pthread_mutex_unlock(&v->mtx);
	return k;
}

/* Install a parsed key set (taken over). */
static void
keys_install(pep_verifier *v, struct pep_keys *k)
{
	struct pep_keys *old;

	pthread_mutex_lock(&v->mtx);
	old = v->keys;
	v->keys = k;
	pthread_mutex_unlock(&v->mtx);
	keys_put(v, old);
}

int
pep_verifier_set_jwks(pep_verifier *v, const uint8_t *p, size_t len)
{
	struct pep_keys *k = NULL;
	int r = PEP_ERR_INTERNAL;

	if (v == NULL || p == NULL) {
		r = PEP_ERR_INVAL;
		goto out;
	}
	if (len > PEP_JWKS_MAX_LEN) {
		r = PEP_ERR_JWKS;
		goto out;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		r = PEP_ERR_NOMEM;
		goto out;
	}
	k->refs = 1;
	if ((r = tok_keyset_parse(p, len, &k->ks)) != 0) {
		r = (r == CM_ERR_NOMEM) ? PEP_ERR_NOMEM : PEP_ERR_JWKS;
		goto out;
	}
	keys_install(v, k);
	k = NULL;	/* transferred */
	r = 0;
out:
	if (k != NULL) {
		tok_keyset_free(&k->ks);
		free(k);
	}
	return r;
}

static int
read_file(const char *path, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t off = 0;
	ssize_t n;
	int fd = -1, r = PEP_ERR_INTERNAL;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		r = PEP_ERR_FETCH;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > PEP_JWKS_MAX_LEN) {
		r = PEP_ERR_JWKS;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL) {
		r = PEP_ERR_NOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = PEP_ERR_FETCH;
			goto out;
		}
		off += (size_t)n;
	}
	*out = buf;
	*outlen = off;
	buf = NULL;	/* transferred */
	r = 0;
out:
	free(buf);
	if (fd != -1)
		close(fd);
	return r;
}

static int
has_source(const pep_verifier *v)
{
	return v->jwks_file != NULL || v->jwks_url != NULL;
}

/* Read the configured source and install it. */
static int
load_source(pep_verifier *v)
{
	uint8_t *body = NULL;
	size_t len = 0;
	int r = PEP_ERR_INTERNAL;

	if (v->jwks_file != NULL) {
		if ((r = read_file(v->jwks_file, &body, &len)) != 0)
			goto out;
	} else if (v->jwks_url != NULL && v->fetch != NULL) {
		if (v->fetch(v->fetch_arg, v->jwks_url, &body, &len) != 0 ||
		    body == NULL) {
			r = PEP_ERR_FETCH;
			goto out;
		}
	} else {
		r = PEP_ERR_NO_KEYS;
		goto out;
	}
	r = pep_verifier_set_jwks(v, body, len);
out:
	free(body);
	return r;
}

/* Refresh unless one happened less than refresh_min seconds ago. */
static int
refresh(pep_verifier *v, int64_t now, int limited)
{
	int r = PEP_ERR_INTERNAL, go = 1;

	if (!has_source(v))
		return PEP_ERR_NO_KEYS;
	pthread_mutex_lock(&v->fetch_mtx);
	pthread_mutex_lock(&v->mtx);
	if (limited && v->refreshed && now - v->last_refresh < v->refresh_min)
		go = 0;
	if (go) {
		v->refreshed = 1;
		v->last_refresh = now;
	}
	pthread_mutex_unlock(&v->mtx);
	r = go ? load_source(v) : PEP_ERR_FETCH;
	pthread_mutex_unlock(&v->fetch_mtx);
	return r;
}

int
pep_verifier_refresh(pep_verifier *v, int64_t now)
{
	if (v == NULL || now < 0 || now > PEP_NOW_MAX)
		return PEP_ERR_INVAL;
	return refresh(v, now, 0);
}

void
pep_verifier_free(pep_verifier **vp)
{
	pep_verifier *v;
	size_t i;

	if (vp == NULL || (v = *vp) == NULL)
		return;
	if (v->keys != NULL) {
		tok_keyset_free(&v->keys->ks);
		free(v->keys);
	}
	free(v->issuer);
	free(v->audience);
	free(v->typ);
	free(v->jwks_file);
	free(v->jwks_url);
	for (i = 0; i < v->nacr; i++)
		free(v->acr[i]);
	pthread_mutex_destroy(&v->mtx);
	pthread_mutex_destroy(&v->fetch_mtx);
	free(v);
	*vp = NULL;
}

int
pep_verifier_new(const struct pep_config *cfg, pep_verifier **out)
{
	static const char *const default_algs[] = { "ES256" };
	const char *const *algs;
	pep_verifier *v = NULL;
	size_t i, nalgs;
	int r = PEP_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (cfg == NULL || out == NULL || cfg->issuer == NULL ||
	    cfg->issuer[0] == '\0' || cfg->audience == NULL ||
	    cfg->audience[0] == '\0' || cfg->skew < 0 ||
	    cfg->skew > PEP_SKEW_MAX || cfg->nalgs > PEP_MAX_ALGS ||
	    (cfg->nalgs > 0 && cfg->algs == NULL) ||
	    cfg->nacr > PEP_MAX_ACR || (cfg->nacr > 0 &&
	    cfg->acr_values == NULL) || cfg->refresh_min_interval < 0 ||
	    (cfg->typ != NULL && !tok_typ_valid(cfg->typ))) {
		r = PEP_ERR_INVAL;
		goto out;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		r = PEP_ERR_NOMEM;
		goto out;
	}
	if (pthread_mutex_init(&v->mtx, NULL) != 0) {
		free(v);
		v = NULL;
		r = PEP_ERR_INTERNAL;
		goto out;
	}
	if (pthread_mutex_init(&v->fetch_mtx, NULL) != 0) {
		pthread_mutex_destroy(&v->mtx);
		free(v);
		v = NULL;
		r = PEP_ERR_INTERNAL;
		goto out;
	}
	if ((r = dupstr(cfg->issuer, &v->issuer)) != 0 ||
	    (r = dupstr(cfg->audience, &v->audience)) != 0 ||
	    (r = dupstr(cfg->typ != NULL ? cfg->typ : PEP_DEFAULT_TYP,
	    &v->typ)) != 0 ||
	    (r = dupstr(cfg->jwks_file, &v->jwks_file)) != 0 ||
	    (r = dupstr(cfg->jwks_url, &v->jwks_url)) != 0)
		goto out;
	algs = cfg->nalgs > 0 ? cfg->algs : default_algs;
	nalgs = cfg->nalgs > 0 ? cfg->nalgs : 1;
	for (i = 0; i < nalgs; i++) {
		if (algs[i] == NULL || tok_alg_parse(algs[i], strlen(algs[i]),
		    &v->algs[i]) != 0) {
			r = PEP_ERR_INVAL;	/* none, HS*, typos */
			goto out;
		}
	}
	v->nalgs = nalgs;
	for (i = 0; i < cfg->nacr; i++) {
		if (cfg->acr_values[i] == NULL ||
		    cfg->acr_values[i][0] == '\0') {
			r = PEP_ERR_INVAL;
			goto out;
		}
		if ((r = dupstr(cfg->acr_values[i], &v->acr[i])) != 0)
			goto out;
		v->nacr = i + 1;
		if (cfg->min_acr != NULL &&
		    strcmp(cfg->min_acr, cfg->acr_values[i]) == 0) {
			v->min_acr = i;
			v->check_acr = 1;
		}
	}
	if (cfg->min_acr != NULL && !v->check_acr) {
		r = PEP_ERR_INVAL;	/* minimum not in the ordered list */
		goto out;
	}
	v->skew = cfg->skew;
	/* jwks_url without a hook: the built-in fetcher (pep_fetch.c) */
	v->fetch = cfg->fetch != NULL ? cfg->fetch :
	    cfg->jwks_url != NULL ? pep_fetch_https : NULL;
	v->fetch_arg = cfg->fetch_arg;
	v->refresh_min = cfg->refresh_min_interval > 0 ?
	    cfg->refresh_min_interval : PEP_REFRESH_MIN_DEFAULT;
	if (v->jwks_file != NULL && (r = load_source(v)) != 0)
		goto out;
	*out = v;
	v = NULL;	/* transferred */
	r = 0;
out:
	pep_verifier_free(&v);
	return r;
}

/* RFC 7515 §4.1.9: "application/" may be omitted; compare ignoring case. */
static int
typ_matches(const char *want, const json_t *typ)
{
	const char *s;
	size_t len, wl = strlen(want);

	if (typ == NULL || !json_is_string(typ))
		return 0;
	s = json_string_value(typ);
	len = json_string_length(typ);
	if (len > 12 && strncasecmp(s, "application/", 12) == 0) {
		s += 12;
		len -= 12;
	}
	return len == wl && strncasecmp(s, want, wl) == 0;
}

/* NumericDate (RFC 7519 §2): integer or real seconds. */
static int
get_time(const json_t *claims, const char *name, int64_t *out, int *present)
{
	const json_t *v;
	double d;

	*out = 0;
	*present = 0;
	if ((v = json_object_get(claims, name)) == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
	} else if (json_is_real(v)) {
		d = floor(json_real_value(v));
		if (!(d > -1e15 && d < 1e15))
			return PEP_ERR_CLAIM_TYPE;
		*out = (int64_t)d;
	} else
		return PEP_ERR_CLAIM_TYPE;
	*present = 1;
	return 0;
}

static int
str_equal(const json_t *v, const char *want)
{
	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	    memcmp(json_string_value(v), want, strlen(want)) == 0;
}

static int
check_claims(const pep_verifier *v, const json_t *c, int64_t now)
{
	const json_t *iss, *aud, *acr, *e;
	int64_t exp, nbf, iat;
	size_t i;
	int present, r, found;

	if ((iss = json_object_get(c, "iss")) == NULL)
		return PEP_ERR_ISS;
	if (!json_is_string(iss))
		return PEP_ERR_CLAIM_TYPE;
	if (!str_equal(iss, v->issuer))
		return PEP_ERR_ISS;

	if ((aud = json_object_get(c, "aud")) == NULL)
		return PEP_ERR_AUD;
	if (json_is_string(aud)) {
		if (!str_equal(aud, v->audience))
			return PEP_ERR_AUD;
	} else if (json_is_array(aud)) {
		found = 0;
		json_array_foreach(aud, i, e) {
			if (!json_is_string(e))
				return PEP_ERR_CLAIM_TYPE;
			if (str_equal(e, v->audience))
				found = 1;
		}
		if (!found)
			return PEP_ERR_AUD;
	} else
		return PEP_ERR_CLAIM_TYPE;

	if ((r = get_time(c, "exp", &exp, &present)) != 0)
		return r;
	if (!present)
		return PEP_ERR_EXP_MISSING;
	if (exp <= now - v->skew)
		return PEP_ERR_EXPIRED;
	if ((r = get_time(c, "nbf", &nbf, &present)) != 0)
		return r;
	if (present && nbf > now + v->skew)
		return PEP_ERR_NBF;
	if ((r = get_time(c, "iat", &iat, &present)) != 0)
		return r;
	if (present && iat > now + v->skew)
		return PEP_ERR_IAT;

	if (v->check_acr) {
		if ((acr = json_object_get(c, "acr")) == NULL)
			return PEP_ERR_ACR;
		if (!json_is_string(acr))
			return PEP_ERR_CLAIM_TYPE;
		for (i = 0; i < v->nacr; i++)
			if (str_equal(acr, v->acr[i]))
				break;
		if (i == v->nacr || i < v->min_acr)
			return PEP_ERR_ACR;
	}
	return 0;
}

static int
alg_allowed(const pep_verifier *v, enum tok_alg alg)
{
	size_t i;

	for (i = 0; i < v->nalgs; i++)
		if (v->algs[i] == alg)
			return 1;
	return 0;
}

int
pep_verify(pep_verifier *v, const char *token, size_t len, int64_t now,
    json_t **claims)
{
	struct tok_jws_parts p;
	struct pep_keys *keys = NULL;
	const tok_key *key = NULL;
	const json_t *kid;
	json_t *hdr = NULL, *pay = NULL;
	enum tok_alg alg = TOK_ALG_UNKNOWN;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int r = PEP_ERR_INTERNAL;

	if (claims != NULL)
		*claims = NULL;
	if (v == NULL || token == NULL || claims == NULL || now < 0 ||
	    now > PEP_NOW_MAX) {
		r = PEP_ERR_INVAL;
		goto out;
	}
	if (len > PEP_TOKEN_MAX_LEN) {
		r = PEP_ERR_TOO_LONG;
		goto out;
	}
	if ((r = tok_jws_split(token, len, &p)) != 0 ||
	    (r = tok_jws_b64json(p.hdr, p.hdrlen, &hdr)) != 0 ||
	    (r = tok_jws_hdr_check(hdr, &alg)) != 0)
		goto out;
	if (!alg_allowed(v, alg)) {
		r = PEP_ERR_ALG_NOT_ALLOWED;
		goto out;
	}
	if (!typ_matches(v->typ, json_object_get(hdr, "typ"))) {
		r = PEP_ERR_TYP;
		goto out;
	}
	/* kid is attacker-chosen: checked for shape, compared, never used
	 * as a path or logged raw */
	if ((kid = json_object_get(hdr, "kid")) == NULL) {
		r = PEP_ERR_KID_MISSING;
		goto out;
	}
	if (!json_is_string(kid) || !tok_kid_valid(json_string_value(kid),
	    json_string_length(kid))) {
		r = PEP_ERR_KID_INVALID;
		goto out;
	}
	keys = keys_get(v);
	if (keys != NULL)
		key = tok_keyset_find(keys->ks, json_string_value(kid),
		    json_string_length(kid));
	if (key == NULL && has_source(v)) {
		/* a new key may have been published: refresh, rate-limited */
		(void)refresh(v, now, 1);
		keys_put(v, keys);
		if ((keys = keys_get(v)) != NULL)
			key = tok_keyset_find(keys->ks, json_string_value(kid),
			    json_string_length(kid));
	}
	if (keys == NULL) {
		r = PEP_ERR_NO_KEYS;
		goto out;
	}
	if (key == NULL) {
		r = PEP_ERR_KID_UNKNOWN;
		goto out;
	}
	if (!tok_alg_compatible(tok_key_alg(key), alg)) {
		r = PEP_ERR_ALG_MISMATCH;
		goto out;
	}
	if ((r = cm_b64url_decode(p.sig, p.siglen, &sig, &siglen)) != 0) {
		r = (r == CM_ERR_NOMEM) ? PEP_ERR_NOMEM : PEP_ERR_B64;
		goto out;
	}
	if (tok_jws_verify_raw(key, alg, (const uint8_t *)token,
	    p.hdrlen + 1 + p.paylen, sig, siglen) != 0) {
		r = PEP_ERR_SIG;
		goto out;
	}
	/* only a signed payload is parsed */
	if ((r = tok_jws_b64json(p.pay, p.paylen, &pay)) != 0)
		goto out;
	if ((r = check_claims(v, pay, now)) != 0)
		goto out;
	*claims = pay;
	pay = NULL;	/* transferred */
	r = 0;
out:
	keys_put(v, keys);
	free(sig);
	json_decref(pay);
	json_decref(hdr);
	return r;
}

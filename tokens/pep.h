/*
 * tokens/pep.h — policy enforcement point: verification of JWT access
 * tokens (RFC 9068) for resource servers.  Built into libsekimori-pep
 * (static and shared) as well as libtokens.
 *
 * No global state; a pep_verifier is thread-safe once created (any number
 * of threads may call pep_verify() and pep_verifier_set_jwks() at once).
 *
 * Every rejection has its own error code; pep_strerror() names it.  Codes
 * are negative; 0 is success.  PEP_ERR_INTERNAL, PEP_ERR_NOMEM and
 * PEP_ERR_INVAL have the values of Sekimori's CM_ERR_* of the same name.
 */
#ifndef PEP_H
#define PEP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PEP_WUR __attribute__((warn_unused_result))

/* Limits. */
#define PEP_TOKEN_MAX_LEN	8192	/* whole compact token */
#define PEP_KID_MAX_LEN		128	/* kid: 1..128 of [A-Za-z0-9._~-] */
#define PEP_JWKS_MAX_LEN	65536
#define PEP_MAX_ALGS		8
#define PEP_MAX_ACR		16
#define PEP_SKEW_MAX		300	/* seconds */
#define PEP_REFRESH_MIN_DEFAULT	30	/* seconds between JWKS refreshes */

enum pep_err {
	PEP_OK			= 0,
	PEP_ERR_INTERNAL	= -1,
	PEP_ERR_NOMEM		= -2,
	PEP_ERR_INVAL		= -3,	/* bad argument or configuration */
	PEP_ERR_TOO_LONG = -200,         /* longer than PEP_TOKEN_MAX_LEN */
	PEP_ERR_PARTS = -201,            /* not exactly three parts */
	PEP_ERR_B64 = -202,              /* not strict unpadded base64url */
	PEP_ERR_JSON = -203,             /* not a JSON object */
	PEP_ERR_JSON_DUP = -204,         /* duplicate member name */
	PEP_ERR_HDR = -205,              /* header member of the wrong type */
	PEP_ERR_ALG_MISSING = -206,
	PEP_ERR_ALG_NONE = -207,         /* "none" */
	PEP_ERR_ALG_HMAC = -208,         /* HS256/384/512 */
	PEP_ERR_ALG_NOT_ALLOWED = -209,  /* not in the allow-list */
	PEP_ERR_ALG_MISMATCH = -210,     /* header alg is not the key's alg */
	PEP_ERR_HDR_JWK = -211,          /* embedded "jwk" */
	PEP_ERR_HDR_JKU = -212,
	PEP_ERR_HDR_X5U = -213,
	PEP_ERR_HDR_X5C = -214,
	PEP_ERR_CRIT = -215,             /* "crit" present: no extension known */
	PEP_ERR_TYP = -216,              /* typ missing or not the expected */
	PEP_ERR_KID_MISSING = -217,
	PEP_ERR_KID_INVALID = -218,      /* length or character set */
	PEP_ERR_KID_UNKNOWN = -219,      /* not in the JWKS, even after refresh */
	PEP_ERR_NO_KEYS = -220,          /* no JWKS loaded */
	PEP_ERR_SIG = -221,              /* signature does not verify */
	PEP_ERR_CLAIM_TYPE = -222,       /* a registered claim of the wrong type */
	PEP_ERR_ISS = -223,
	PEP_ERR_AUD = -224,
	PEP_ERR_EXP_MISSING = -225,
	PEP_ERR_EXPIRED = -226,
	PEP_ERR_NBF = -227,
	PEP_ERR_IAT = -228,              /* issued in the future */
	PEP_ERR_ACR = -229,              /* acr missing, unknown or too weak */
	PEP_ERR_JWKS = -230,             /* a JWKS document was refused */
	PEP_ERR_FETCH = -231,            /* the JWKS could not be fetched/read */
	PEP_ERR_LAST_ = -232	/* one past the last */
};

/* Never NULL. */
const char	*pep_strerror(int err);

/*
 * Fetch hook for jwks_url: put a malloc()ed body in *body (freed by the
 * verifier with free()) and its length in *len; return 0, or non-zero on
 * failure.  Called from pep_verify() (unknown kid, rate-limited) and
 * pep_verifier_refresh(), never with the verifier's lock held, at most one
 * at a time per verifier.
 */
typedef int (*pep_fetch_fn)(void *arg, const char *url, uint8_t **body,
    size_t *len);

/* The built-in fetcher (libcurl): HTTPS (http only to loopback), the peer
 * verified against the system CA store, or the CA file named by arg;
 * 5-second timeouts; no redirects.  The default when jwks_url is set and
 * fetch is NULL (fetch_arg is then the CA file or NULL).  Call
 * curl_global_init() before starting threads. */
int	pep_fetch_https(void *arg, const char *url, uint8_t **body,
	    size_t *len);

struct pep_config {
	const char	*issuer;	/* required, compared exactly */
	const char	*audience;	/* required: aud must contain it */
	/* Allow-list of "ES256" "EdDSA" "Ed25519" "PS256" "RS256"; NULL/0
	 * means {"ES256"}.  Anything else (none, HS*) is refused. */
	const char *const *algs;
	size_t		 nalgs;
	int64_t		 skew;		/* seconds, 0..PEP_SKEW_MAX */
	/* acr values from weakest to strongest and the minimum required;
	 * min_acr NULL means no acr check. */
	const char *const *acr_values;
	size_t		 nacr;
	const char	*min_acr;
	const char	*typ;		/* NULL: "at+jwt" */
	/* Keys: any of a file, a URL with fetch hook, or
	 * pep_verifier_set_jwks(). */
	const char	*jwks_file;
	const char	*jwks_url;
	pep_fetch_fn	 fetch;
	void		*fetch_arg;
	/* Minimum seconds between two refreshes triggered by unknown kids;
	 * 0 means PEP_REFRESH_MIN_DEFAULT. */
	int64_t		 refresh_min_interval;
};

typedef struct pep_verifier pep_verifier;

/* Copies everything it needs from cfg.  Loads jwks_file now if set (a
 * failure to load it fails the call); a URL is fetched on first use. */
int	 pep_verifier_new(const struct pep_config *cfg, pep_verifier **out)
	    PEP_WUR;
void	 pep_verifier_free(pep_verifier **v);
/* Replace the key set with a JWKS document.  On failure the old set stays. */
int	 pep_verifier_set_jwks(pep_verifier *v, const uint8_t *p, size_t len)
	    PEP_WUR;
/* Re-read jwks_file / re-fetch jwks_url now (rate limit not applied). */
int	 pep_verifier_refresh(pep_verifier *v, int64_t now) PEP_WUR;

/*
 * Verify a compact JWS access token at time now (seconds since the epoch;
 * also used for the refresh rate limit).  Order of checks: length, parts,
 * base64url, header JSON, alg, forbidden header members, crit, typ, kid,
 * key, signature — and only then claims: iss, aud, exp, nbf, iat, acr.
 * On success *claims is the payload object (json_decref() it); on failure
 * it is NULL and the first failed check is returned.
 */
int	 pep_verify(pep_verifier *v, const char *token, size_t len,
	    int64_t now, json_t **claims) PEP_WUR;

#endif /* PEP_H */

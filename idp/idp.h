/*
 * idp/idp.h — the OpenID Connect provider: discovery, JWKS, the
 * authorization endpoint and login pages, the token endpoint (authorization
 * code + PKCE, refresh with rotation, client credentials), userinfo,
 * introspection, revocation, RP-initiated and back-channel logout.
 * Prefix idp_.
 *
 * State: nothing protocol-related lives only in memory.  Login
 * transactions, SSO sessions, authorization codes, refresh-token families,
 * client-assertion jtis and revoked access-token jtis are directory entries
 * (dir_state_*), keyed by the SHA-256 of the bearer value, so any broker
 * node sharing the directory serves any request and a restart loses
 * nothing.
 */
#ifndef IDP_H
#define IDP_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "tokens/tokens.h"

/* Hard caps (never configurable above these). */
#define IDP_CODE_TTL_MAX	60		/* seconds, OIDC/ASVS */
#define IDP_MAX_SESSIONS_DEFAULT 16	/* live sessions per user */
#define IDP_MAX_SESSIONS_MAX	1000
/* sessions a login ends past the limit: each is a read, a delete and an
 * audit record on the login's time (its back-channel logout and CAEP push
 * are queued in the outbox), so few; a backlog goes over several logins
 * (each takes one net) */
#define IDP_EVICT_PER_LOGIN	2
#define IDP_ACCESS_TTL_MAX	3600
#define IDP_ID_TTL_MAX		3600
#define IDP_REFRESH_TTL_MAX	(30 * 86400)
#define IDP_PARAM_MAX		2048		/* one request parameter */
#define IDP_SCOPES_MAX		32

/* Configuration keys (see docs/configuration.md). */
struct idp_config {
	unsigned	code_ttl;		/* code_lifetime */
	unsigned	access_ttl;		/* access_token_lifetime */
	unsigned	id_ttl;			/* id_token_lifetime */
	unsigned	refresh_ttl;		/* refresh_token_lifetime */
	unsigned	login_ttl;		/* login_timeout */
	unsigned	assertion_max_age;	/* client_assertion_max_age */
	unsigned	session_idle[4];	/* [aal] session_idle_aalN */
	unsigned	session_max[4];		/* [aal] session_max_aalN */
	int		backchannel_logout;	/* backchannel_logout */
	unsigned	client_cache_ttl;	/* client_cache_ttl, s */
	unsigned	max_sessions;		/* max_sessions_per_user (0: any) */
	char		kek_file[1024];		/* kek_file (TOTP secrets) */
	char		policy_file[1024];	/* policy_file */
	char		ssf_transmitters_file[1024];	/* PDPs we trust */
	char		ssf_receivers_file[1024];	/* where we push */
	/* WebAuthn (idp/webauthn.c, docs/webauthn.md) */
	char		wa_rp_id[256];		/* webauthn_rp_id */
	char		wa_origin[512];		/* webauthn_origin */
	char		wa_roots_dir[1024];	/* webauthn_roots_dir */
	char		wa_aaguids[4096];	/* webauthn_aaguids */
	char		wa_mds_file[1024];	/* webauthn_mds_file */
	char		wa_mds_root[1024];	/* webauthn_mds_root */
	char		admin_group[64];	/* admin_group */
	/* Identity proofing (idp/proofing.c, docs/proofing.md) */
	char		prf_key_file[1024];	/* proofing_key_file */
	char		prf_officer_group[64];	/* proofing_officer_group */
	unsigned	prf_window;		/* proofing_recovery_window */
	unsigned	prf_code_ttl;		/* proofing_code_lifetime */
	unsigned	prf_validity;		/* proofing_validity (days) */
	int		prf_required_ial;	/* proofing_required_ial */
	int		prf_admin_ial;		/* proofing_admin_ial */
	char		vc_clients[2048];	/* verified_claims_clients */
};

void	idp_config_defaults(struct idp_config *c);
/* brk_config_ext handlers: 0 taken, CM_ERR_NOTFOUND not ours, else bad. */
int	idp_config_set(void *c, const char *key, const char *val, char *err,
	    size_t errlen);
int	idp_config_check(void *c, char *err, size_t errlen);

struct idp;

/* Registers the routes on app (before brk_http_start).  The signer is
 * borrowed and must outlive the idp. */
int	idp_new(struct brk_app *app, const struct idp_config *cfg,
	    tok_signer *signer, struct idp **out) CM_WUR;
void	idp_free(struct idp **idp);
/* SIGHUP: reload the KEK and the policy file; on failure the old stay. */
int	idp_reload(struct idp *idp);
/*
 * Delete expired directory state of every kind (login transactions,
 * sessions, codes, refresh tokens, replay records, ...).  Reads already
 * treat expired entries as gone; this keeps the directory from growing
 * without bound.  brokerd calls it every state_prune_interval seconds;
 * with several nodes each prunes, and a lost race is a harmless NOTFOUND.
 * *removed (may be NULL) gets the count; 0 or the first error.
 */
int	idp_prune_state(struct idp *idp, int64_t now, size_t *removed);

/* PKCE (RFC 7636): 1 when verifier is well-formed and S256(verifier)
 * equals challenge (constant time). */
int	idp_pkce_s256_check(const char *verifier, const char *challenge);
/* 1 when s is a well-formed code_challenge / code_verifier. */
int	idp_pkce_valid(const char *s);

/*
 * Security Event Tokens (RFC 8417) as the Shared Signals receiver sees
 * them; pure functions (no I/O), also the libFuzzer target's entry.
 * idp_set_decode: split, base64url, duplicate-free JSON, typ secevent+jwt
 * (nothing verified).  idp_set_check: the claims of a VERIFIED SET: iss,
 * jti, iat fresh, aud, exactly one CAEP event, its subject; returns a
 * cm_eid (CM_E_OK) and sets *why.  Borrowed pointers live as long as o.
 */
struct idp_set_subject {
	const char	*uid;
	const char	*device;
	const char	*sid;
};
struct idp_set_info {
	const char		*iss;
	const char		*jti;
	const char		*event;		/* without the CAEP prefix */
	json_t			*fields;	/* the event object */
	struct idp_set_subject	 subj;
};
int	idp_set_decode(const char *tok, size_t len, json_t **hdr,
	    json_t **payload) CM_WUR;
int	idp_set_check(const json_t *o, const char *issuer, const char *aud,
	    int64_t now, struct idp_set_info *out, const char **why) CM_WUR;

/* Client secrets: SHA-256 of a 256-bit random value, "sha256:<b64url>". */
int	idp_secret_new(char **secret, char **hash) CM_WUR;
int	idp_secret_check(const char *secret, const char *hash);

#endif /* IDP_H */

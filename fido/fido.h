/*
 * fido/fido.h — WebAuthn relying party (Level 2 §7.1/§7.2, with the
 * Level 3 BE/BS checks) on top of libfido2, and FIDO MDS3 BLOB handling.
 *
 * A pure library: no HTTP, no pages, no directory access.  The IdP builds
 * the PublicKeyCredential*Options JSON, keeps a challenge object in its
 * server-side session, and stores credential records (wa_cred_to_json())
 * as directory attribute values.
 *
 * Conventions (STYLE.md): functions that can fail return 0 or a negative
 * CM_ERR_* / WA_ERR_* (wa_strerror() names both); out-parameters are
 * cleared on entry and set on success only; _free(T **) accepts NULL and
 * clears the pointer; setters copy; getters return borrowed pointers valid
 * until the object is changed or freed.  Nothing here aborts on input.
 *
 * Thread safety: a wa_rp_t or wa_mds_t may be read by many threads once
 * configured; configuring (wa_rp_*set/add/load, wa_mds_load) must not run
 * concurrently with its use.  wa_challenge_t and wa_cred_t objects are per
 * request.
 */
#ifndef WA_FIDO_H
#define WA_FIDO_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm.h"

/* Limits (all inputs are checked against them before parsing). */
#define WA_CHALLENGE_LEN	32		/* bytes of randomness */
#define WA_CHALLENGE_DEF_TTL	300		/* seconds */
#define WA_CHALLENGE_MAX_TTL	600		/* seconds */
#define WA_CHALLENGE_MAX_ALLOW	64		/* allowCredentials entries */
#define WA_CHALLENGE_SER_MAX	(96 * 1024)	/* serialised challenge */
#define WA_SESSION_MAX_LEN	256		/* session binding string */
#define WA_USER_HANDLE_MAX_LEN	64		/* WebAuthn user.id */
#define WA_CRED_ID_MAX_LEN	1023		/* WebAuthn L2 §5.8.3 */
#define WA_AAGUID_LEN		16
#define WA_CLIENTDATA_MAX_LEN	4096
#define WA_ATTOBJ_MAX_LEN	(32 * 1024)
#define WA_AUTHDATA_MAX_LEN	4096
#define WA_COSE_KEY_MAX_LEN	1024
#define WA_SIG_MAX_LEN		1024
#define WA_X5C_MAX_CERTS	5
#define WA_CERT_MAX_LEN		4096
#define WA_FMT_MAX_LEN		32
#define WA_RP_ID_MAX_LEN	253		/* a DNS name */
#define WA_ORIGIN_MAX_LEN	512
#define WA_RP_MAX_ORIGINS	16
#define WA_RP_MAX_ROOTS		256
#define WA_RP_MAX_AAGUIDS	1024
#define WA_CRED_JSON_MAX_LEN	8192
#define WA_MDS_BLOB_MAX_LEN	(32 * 1024 * 1024)
#define WA_MDS_MAX_ENTRIES	20000
#define WA_MDS_MAX_ROOTS_PER	16		/* roots per MDS entry */

/*
 * Error codes, -300..-399 (below CM_ERR_COMPONENT_BASE).  Every rejection
 * has its own code.  Generic failures use CM_ERR_NOMEM, CM_ERR_INTERNAL,
 * CM_ERR_INVAL (API misuse: NULL argument, bad configuration value).
 */
#define WA_ERR_(n)			(CM_ERR_COMPONENT_BASE - 200 - (n))
#define WA_ERR_TOO_LARGE		WA_ERR_(1)	/* -301 input over a limit */
#define WA_ERR_CHALLENGE_USED		WA_ERR_(2)	/* already consumed */
#define WA_ERR_CHALLENGE_EXPIRED	WA_ERR_(3)
#define WA_ERR_CHALLENGE_PURPOSE	WA_ERR_(4)	/* reg vs auth */
#define WA_ERR_CHALLENGE_BINDING	WA_ERR_(5)	/* other session */
#define WA_ERR_CHALLENGE_MALFORMED	WA_ERR_(6)	/* stored form */
#define WA_ERR_CLIENTDATA_MALFORMED	WA_ERR_(7)	/* JSON, dup keys */
#define WA_ERR_CLIENTDATA_TYPE		WA_ERR_(8)	/* webauthn.create/get */
#define WA_ERR_CHALLENGE_ENCODING	WA_ERR_(9)	/* not base64url / len */
#define WA_ERR_CHALLENGE_MISMATCH	WA_ERR_(10)	/* not ours */
#define WA_ERR_ORIGIN			WA_ERR_(11)
#define WA_ERR_CROSS_ORIGIN		WA_ERR_(12)
#define WA_ERR_TOKEN_BINDING		WA_ERR_(13)	/* status "present" */
#define WA_ERR_ATTOBJ_MALFORMED		WA_ERR_(14)	/* CBOR structure */
#define WA_ERR_AUTHDATA_MALFORMED	WA_ERR_(15)
#define WA_ERR_RP_ID_HASH		WA_ERR_(16)	/* wrong RP ID */
#define WA_ERR_UP_MISSING		WA_ERR_(17)
#define WA_ERR_UV_MISSING		WA_ERR_(18)
#define WA_ERR_FLAGS			WA_ERR_(19)	/* BS w/o BE, AT, RFU */
#define WA_ERR_CRED_ID_LEN		WA_ERR_(20)	/* 0 or > 1023 */
#define WA_ERR_COSE_KEY			WA_ERR_(21)	/* malformed/bad key */
#define WA_ERR_ALG_NOT_ALLOWED		WA_ERR_(22)
#define WA_ERR_FMT_UNSUPPORTED		WA_ERR_(23)
#define WA_ERR_ATTSTMT_MALFORMED	WA_ERR_(24)
#define WA_ERR_ATT_SIG			WA_ERR_(25)	/* attestation sig */
#define WA_ERR_ATT_ALG_MISMATCH		WA_ERR_(26)	/* self: alg != key */
#define WA_ERR_ATT_CERT			WA_ERR_(27)	/* cert requirements */
#define WA_ERR_ATT_CERT_AAGUID		WA_ERR_(28)	/* AAGUID ext != */
#define WA_ERR_ATT_CHAIN		WA_ERR_(29)	/* no trust anchor */
#define WA_ERR_AAGUID_NOT_ALLOWED	WA_ERR_(30)
#define WA_ERR_NOT_DEVICE_BOUND		WA_ERR_(31)	/* BE=1, hw wanted */
#define WA_ERR_ATT_NOT_HARDWARE		WA_ERR_(32)	/* none/self, hw wanted */
#define WA_ERR_MDS_REVOKED		WA_ERR_(33)	/* model revoked */
#define WA_ERR_MDS_COMPROMISED		WA_ERR_(34)	/* model compromised */
#define WA_ERR_CRED_MISMATCH		WA_ERR_(35)	/* rawId != record */
#define WA_ERR_CRED_NOT_ALLOWED		WA_ERR_(36)	/* allowCredentials */
#define WA_ERR_USER_MISMATCH		WA_ERR_(37)	/* userHandle/owner */
#define WA_ERR_USER_HANDLE_MISSING	WA_ERR_(38)	/* passkey login */
#define WA_ERR_BE_CHANGED		WA_ERR_(39)
#define WA_ERR_SIG			WA_ERR_(40)	/* assertion sig */
#define WA_ERR_SIGN_COUNT		WA_ERR_(41)	/* possible clone */
#define WA_ERR_CRED_NOT_HARDWARE	WA_ERR_(42)	/* record too weak */
#define WA_ERR_EXTENSIONS		WA_ERR_(43)	/* malformed/unexpected */
#define WA_ERR_RECORD_MALFORMED		WA_ERR_(44)	/* credential JSON */
#define WA_ERR_ROOTS			WA_ERR_(45)	/* trust anchor load */
#define WA_ERR_MDS_MALFORMED		WA_ERR_(50)
#define WA_ERR_MDS_ALG			WA_ERR_(51)	/* alg/key mismatch */
#define WA_ERR_MDS_CHAIN		WA_ERR_(52)	/* x5c to MDS root */
#define WA_ERR_MDS_SIG			WA_ERR_(53)
#define WA_ERR_MDS_EXPIRED		WA_ERR_(54)	/* nextUpdate past */
#define WA_ERR_MDS_SERIAL		WA_ERR_(55)	/* no <= loaded no */
#define WA_ERR_MDS_NO_ROOT		WA_ERR_(56)	/* root not set */

/* Text for a WA_ERR_* or CM_ERR_* code; never NULL. */
const char *wa_strerror(int r);

typedef struct wa_rp wa_rp_t;
typedef struct wa_challenge wa_challenge_t;
typedef struct wa_cred wa_cred_t;
typedef struct wa_mds wa_mds_t;

/* COSE algorithms (RFC 9053 / libfido2 COSE_*). */
#define WA_ALG_ES256	(-7)
#define WA_ALG_EDDSA	(-8)
#define WA_ALG_RS256	(-257)

/* Ceremony policy flags. */
#define WA_F_REQUIRE_UV		0x01	/* UV flag must be set */
/* AAL3: the credential must be a trusted hardware key (attestation chain
 * to a trust anchor, AAGUID allowed, BE=0) and UV must be set. */
#define WA_F_REQUIRE_HARDWARE	0x02

/*
 * Relying-party configuration.  Defaults: no origin, no roots, empty
 * AAGUID allow-list (so nothing is a hardware key), algorithms ES256,
 * EdDSA and RS256.
 */
wa_rp_t	*wa_rp_new(void);
void	 wa_rp_free(wa_rp_t **);
/* The RP ID, a registrable domain ("login.example.go.jp"). */
int	 wa_rp_set_id(wa_rp_t *, const char *rp_id) CM_WUR;
/* An origin accepted in clientDataJSON, compared exactly
 * ("https://login.example.go.jp"); at most WA_RP_MAX_ORIGINS. */
int	 wa_rp_add_origin(wa_rp_t *, const char *origin) CM_WUR;
/* The algorithms offered in pubKeyCredParams (WA_ALG_*); replaces the
 * default list. */
int	 wa_rp_set_algs(wa_rp_t *, const int *algs, size_t n) CM_WUR;
/* Attestation trust anchors: every regular *.pem file in dir (each may
 * hold several certificates), or one PEM buffer.  Each must be a CA. */
int	 wa_rp_load_roots(wa_rp_t *, const char *dir) CM_WUR;
int	 wa_rp_add_root_pem(wa_rp_t *, const uint8_t *pem, size_t len) CM_WUR;
/* AAGUID allow-list for hardware keys. */
int	 wa_rp_add_aaguid(wa_rp_t *, const uint8_t aaguid[WA_AAGUID_LEN])
	    CM_WUR;
/* fido-u2f allow-list: SHA-1 of the attestation certificate's public key
 * (the MDS attestationCertificateKeyIdentifier), 20 bytes. */
int	 wa_rp_add_u2f_key_id(wa_rp_t *, const uint8_t id[20]) CM_WUR;
/* Borrow an MDS (NULL to detach): its per-AAGUID roots become extra trust
 * anchors and its status reports are checked at registration and
 * authentication.  It must outlive the RP (or be detached first). */
int	 wa_rp_set_mds(wa_rp_t *, const wa_mds_t *) CM_WUR;
const char *wa_rp_id(const wa_rp_t *);

/*
 * Challenges: WA_CHALLENGE_LEN random bytes, single-use, expiring.
 * purpose is the ceremony; user is the WebAuthn user handle (user.id):
 * required for registration, and for authentication the user identified
 * before the ceremony (second factor) or NULL for usernameless passkey
 * login; session binds the challenge to the IdP session (compared in
 * constant time at verification).  ttl 0 means WA_CHALLENGE_DEF_TTL.
 *
 * Store the serialised form server-side only (it decides which user the
 * ceremony is for) and take it out of the session before verifying: a
 * verification consumes the challenge whatever its outcome, and
 * re-serialising a consumed challenge keeps it consumed.
 */
enum wa_purpose {
	WA_PURPOSE_REGISTER = 1,
	WA_PURPOSE_AUTHENTICATE = 2
};
int	 wa_challenge_new(enum wa_purpose purpose, const uint8_t *user,
	    size_t user_len, const char *session, unsigned int ttl,
	    wa_challenge_t **out) CM_WUR;
void	 wa_challenge_free(wa_challenge_t **);
/* allowCredentials sent in the request options (authentication only). */
int	 wa_challenge_add_allow(wa_challenge_t *, const uint8_t *cred_id,
	    size_t len) CM_WUR;
/* The challenge as unpadded base64url for the options JSON. */
int	 wa_challenge_b64url(const wa_challenge_t *, char **out) CM_WUR;
const uint8_t *wa_challenge_ptr(const wa_challenge_t *);	/* 32 bytes */
int	 wa_challenge_consumed(const wa_challenge_t *);
int64_t	 wa_challenge_expires(const wa_challenge_t *);
/* Compact JSON for the session store (NUL-terminated, free()). */
int	 wa_challenge_serialize(const wa_challenge_t *, char **out) CM_WUR;
int	 wa_challenge_parse(const char *s, size_t len, wa_challenge_t **out)
	    CM_WUR;

/* Attestation trust result of a registration. */
enum wa_trust {
	WA_TRUST_NONE = 0,		/* fmt "none" */
	WA_TRUST_SELF = 1,		/* packed self attestation */
	WA_TRUST_UNTRUSTED = 2,		/* x5c, but not a hardware key */
	WA_TRUST_HARDWARE = 3		/* chain + AAGUID allowed + BE=0 */
};
const char *wa_trust_name(enum wa_trust);

/* Transports from AuthenticatorAttestationResponse.getTransports(). */
#define WA_TR_USB	0x01
#define WA_TR_NFC	0x02
#define WA_TR_BLE	0x04
#define WA_TR_INTERNAL	0x08
#define WA_TR_HYBRID	0x10
#define WA_TR_SMART_CARD 0x20

/*
 * Registration (§7.1).  The response fields are raw bytes (already
 * base64url-decoded by the caller).  Unknown transport names are ignored.
 * On success *out is a new credential record owned by the caller.  The
 * caller must still check that the credential ID is not registered yet
 * (§7.1 step 22) before storing the record.
 */
struct wa_reg_req {
	const uint8_t	*clientdata;	/* clientDataJSON */
	size_t		 clientdata_len;
	const uint8_t	*attobj;	/* attestationObject */
	size_t		 attobj_len;
	const char *const *transports;	/* may be NULL */
	size_t		 ntransports;
	int		 flags;		/* WA_F_* */
};
int	 wa_reg_verify(const wa_rp_t *, wa_challenge_t *ch,
	    const char *session, const struct wa_reg_req *,
	    wa_cred_t **out) CM_WUR;

/*
 * Authentication (§7.2).  cred is the stored record the caller looked up
 * by the response's rawId (and, for passkey login, by the user that the
 * record belongs to).  On success res says the new signature counter and
 * flags; update the record with wa_cred_update() and store it with a
 * compare-and-swap.  WA_ERR_SIGN_COUNT means a possible clone: the
 * assertion is refused and the caller should suspend the credential.
 */
struct wa_auth_req {
	const uint8_t	*cred_id;	/* rawId */
	size_t		 cred_id_len;
	const uint8_t	*clientdata;	/* clientDataJSON */
	size_t		 clientdata_len;
	const uint8_t	*authdata;	/* authenticatorData */
	size_t		 authdata_len;
	const uint8_t	*sig;		/* signature */
	size_t		 sig_len;
	const uint8_t	*user_handle;	/* userHandle, NULL if absent */
	size_t		 user_handle_len;
	int		 flags;		/* WA_F_* */
};
struct wa_auth_res {
	uint32_t	 sign_count;	/* new counter */
	int		 up, uv, be, bs; /* authenticator data flags */
};
int	 wa_auth_verify(const wa_rp_t *, wa_challenge_t *ch,
	    const char *session, const struct wa_auth_req *,
	    const wa_cred_t *cred, struct wa_auth_res *res) CM_WUR;

/*
 * Credential records.  wa_cred_to_json() gives one compact JSON object
 * (documented in docs/webauthn.md) for an LDAP attribute value;
 * wa_cred_from_json() parses it strictly (unknown members rejected, the
 * public key re-validated).
 */
void	 wa_cred_free(wa_cred_t **);
const uint8_t *wa_cred_id_ptr(const wa_cred_t *);
size_t	 wa_cred_id_len(const wa_cred_t *);
const uint8_t *wa_cred_user_ptr(const wa_cred_t *);
size_t	 wa_cred_user_len(const wa_cred_t *);
const uint8_t *wa_cred_pubkey_ptr(const wa_cred_t *);	/* COSE_Key */
size_t	 wa_cred_pubkey_len(const wa_cred_t *);
int	 wa_cred_alg(const wa_cred_t *);		/* WA_ALG_* */
const uint8_t *wa_cred_aaguid_ptr(const wa_cred_t *);	/* 16 bytes */
uint32_t wa_cred_sign_count(const wa_cred_t *);
const char *wa_cred_fmt(const wa_cred_t *);
enum wa_trust wa_cred_trust(const wa_cred_t *);
int	 wa_cred_be(const wa_cred_t *);
int	 wa_cred_bs(const wa_cred_t *);
int	 wa_cred_uv_init(const wa_cred_t *);	/* UV at registration */
int	 wa_cred_transports(const wa_cred_t *);	/* WA_TR_* mask */
int64_t	 wa_cred_created(const wa_cred_t *);	/* unix time */
/* Apply a successful authentication: counter, BS, UV-initialised. */
int	 wa_cred_update(wa_cred_t *, const struct wa_auth_res *) CM_WUR;
int	 wa_cred_to_json(const wa_cred_t *, char **out) CM_WUR;
int	 wa_cred_from_json(const char *s, size_t len, wa_cred_t **out) CM_WUR;
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (out holds 37 bytes) and back. */
void	 wa_aaguid_format(const uint8_t aaguid[WA_AAGUID_LEN], char out[37]);
int	 wa_aaguid_parse(const char *s, size_t len,
	    uint8_t aaguid[WA_AAGUID_LEN]) CM_WUR;

/*
 * FIDO Metadata Service (MDS3).  wa_mds_set_root_pem() sets the MDS root
 * certificate (e.g. the FIDO Alliance "Root-R3").  wa_mds_load() verifies
 * a BLOB (a JWS compact JWT: RS256 or ES256, the algorithm taken from the
 * x5c leaf's key; x5c verified to the root at the current time; signature
 * before claims), refuses it when nextUpdate is past or its serial "no" is
 * not above the one loaded, and only then replaces the loaded contents.
 * CRLs named by the chain are not fetched (see docs/webauthn.md).
 */
enum wa_mds_status {
	WA_MDS_UNKNOWN = 0,	/* AAGUID not in the BLOB */
	WA_MDS_OK = 1,
	WA_MDS_REVOKED = 2,	/* REVOKED */
	WA_MDS_COMPROMISED = 3	/* *_COMPROMISE, USER_VERIFICATION_BYPASS */
};
wa_mds_t *wa_mds_new(void);
void	 wa_mds_free(wa_mds_t **);
int	 wa_mds_set_root_pem(wa_mds_t *, const uint8_t *pem, size_t len)
	    CM_WUR;
int	 wa_mds_load(wa_mds_t *, const uint8_t *blob, size_t len) CM_WUR;
/* Read a BLOB file (at most WA_MDS_BLOB_MAX_LEN) and wa_mds_load() it. */
int	 wa_mds_load_file(wa_mds_t *, const char *path) CM_WUR;
int64_t	 wa_mds_serial(const wa_mds_t *);	/* 0 before a load */
enum wa_mds_status wa_mds_status(const wa_mds_t *,
	    const uint8_t aaguid[WA_AAGUID_LEN]);
/* AAGUIDs whose status is revoked or compromised, as a newly allocated
 * array of n * WA_AAGUID_LEN bytes (NULL when n is 0); free(). */
int	 wa_mds_compromised_aaguids(const wa_mds_t *, uint8_t **aaguids,
	    size_t *n) CM_WUR;

#endif /* WA_FIDO_H */

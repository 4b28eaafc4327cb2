/*
 * tokens/tokens.h — JWS compact serialization, keys, JWKS, the key store
 * with rotation, the signer interface (in-process or a separate key
 * process) and JWT signing.  The resource-server side (verification with
 * claim checks) is tokens/pep.h.
 *
 * Conventions (STYLE.md): functions returning int give 0 or a negative
 * CM_ERR_*; out-parameters are cleared on entry and set on success only;
 * _free(T **) accepts NULL and clears the caller's pointer; getters return
 * borrowed pointers valid while the object lives.
 *
 * Algorithms: ES256 (default), EdDSA (Ed25519; "Ed25519" accepted as the
 * RFC 9864 name of the same algorithm), PS256, RS256.  Nothing else, ever:
 * no "none", no HMAC.  One algorithm per key; the algorithm always comes
 * from the key, never from a token.
 */
#ifndef TOKENS_H
#define TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/cm.h"

/* Limits. */
#define TOK_JWT_MAX_LEN		8192	/* a whole compact JWS */
#define TOK_SIGN_INPUT_MAX	TOK_JWT_MAX_LEN	/* bytes given to a signer */
#define TOK_SIG_MAX_LEN		1024	/* RSA-8192 */
#define TOK_KID_MAX_LEN		128
#define TOK_JWKS_MAX_LEN	65536	/* serialized JWKS, in or out */
#define TOK_JWKS_MAX_KEYS	32
#define TOK_PEM_MAX_LEN		16384	/* a private key file */
#define TOK_RSA_MIN_BITS	2048
#define TOK_RSA_MAX_BITS	8192
#define TOK_RSA_GEN_BITS	3072
#define TOK_KEYSTORE_MAX_KEYS	TOK_JWKS_MAX_KEYS
#define TOK_TYP_MAX_LEN		32

enum tok_alg {
	TOK_ALG_UNKNOWN = 0,
	TOK_ALG_ES256,
	TOK_ALG_EDDSA,		/* "EdDSA" with an Ed25519 key */
	TOK_ALG_ED25519,	/* "Ed25519" (RFC 9864), same algorithm */
	TOK_ALG_PS256,
	TOK_ALG_RS256
};
#define TOK_ALG_DEFAULT	TOK_ALG_ES256

/* "ES256", ...; NULL for TOK_ALG_UNKNOWN. */
const char	*tok_alg_name(enum tok_alg alg);
/* Exact, case-sensitive match of one of the five names. */
int	 tok_alg_parse(const char *s, size_t len, enum tok_alg *out) CM_WUR;
/* 1 when a token header naming `hdr` may be checked with a key whose
 * algorithm is `key` (equal, or EdDSA/Ed25519 on an Ed25519 key). */
int	 tok_alg_compatible(enum tok_alg key, enum tok_alg hdr);

/*
 * Keys.  A tok_key holds one public key, or a key pair when it came from
 * tok_key_generate() or tok_key_load_pem().  kid is the RFC 7638
 * thumbprint unless the key came from a JWKS (then the JWKS kid).
 */
typedef struct tok_key tok_key;

int	 tok_key_generate(enum tok_alg alg, tok_key **out) CM_WUR;
/* Private key from a PEM file (PKCS#8 or traditional).  Refused unless a
 * regular file, not a symlink, with no group/other permission bits (0600
 * or stricter), at most TOK_PEM_MAX_LEN bytes.  alg TOK_ALG_UNKNOWN infers
 * ES256 for P-256 and EdDSA for Ed25519; RSA keys need an explicit alg. */
int	 tok_key_load_pem(const char *path, enum tok_alg alg, tok_key **out)
	    CM_WUR;
/* Write the private key as PKCS#8 PEM, mode 0600, O_EXCL (never replaces
 * an existing file). */
int	 tok_key_save_pem(const tok_key *key, const char *path) CM_WUR;
/* Public key from one JWK (a JSON object).  Members: kty/crv/x/y,
 * kty/crv/x or kty/n/e; alg required for RSA, inferred for EC P-256
 * (ES256) and OKP Ed25519 (EdDSA); use, when present, must be "sig";
 * private members are refused.  kid is taken from the JWK, or computed
 * (RFC 7638) when absent. */
int	 tok_key_from_jwk(const json_t *jwk, tok_key **out) CM_WUR;
/* New public JWK: kty, crv, x, y / n, e, kid, alg, use="sig". */
int	 tok_key_to_jwk(const tok_key *key, json_t **out) CM_WUR;
/* RFC 7638 thumbprint (SHA-256, base64url), new string. */
int	 tok_key_thumbprint(const tok_key *key, char **out) CM_WUR;
const char	*tok_key_kid(const tok_key *key);
enum tok_alg	 tok_key_alg(const tok_key *key);
int		 tok_key_has_private(const tok_key *key);
void	 tok_key_free(tok_key **key);

/*
 * Raw JWS signatures over a signing input (ASCII header.payload).  ES256
 * signatures are R||S, 64 bytes (RFC 7518 §3.4), never DER.
 */
int	 tok_jws_sign_raw(const tok_key *key, const uint8_t *in, size_t len,
	    uint8_t *sig, size_t sigsz, size_t *siglen) CM_WUR;
/* 0 when sig is a valid signature by key for an algorithm compatible with
 * hdr_alg; CM_ERR_DENIED for a bad signature, CM_ERR_POLICY for an alg
 * mismatch. */
int	 tok_jws_verify_raw(const tok_key *key, enum tok_alg hdr_alg,
	    const uint8_t *in, size_t len, const uint8_t *sig, size_t siglen)
	    CM_WUR;
/* Structure and signature check of a compact JWS against one key: three
 * parts, strict base64url, duplicate-free header object whose alg is
 * compatible with the key, no crit/jku/x5u/jwk/x5c, valid signature.
 * Returns the decoded payload (new buffer, free()) — claims are the
 * caller's business (see pep.h for access tokens). */
int	 tok_jws_verify_compact(const tok_key *key, const char *tok,
	    size_t len, uint8_t **payload, size_t *plen) CM_WUR;

/*
 * Key sets (public keys, from a JWKS document).  Keys of unsupported types
 * or with use != "sig" are skipped; a JWKS holding private members, two
 * keys with the same kid, more than TOK_JWKS_MAX_KEYS keys or a malformed
 * supported key is refused as a whole.
 */
typedef struct tok_keyset tok_keyset;

int	 tok_keyset_parse(const uint8_t *p, size_t len, tok_keyset **out)
	    CM_WUR;
/* NULL when absent.  kid is compared with its length, byte for byte. */
const tok_key	*tok_keyset_find(const tok_keyset *ks, const char *kid,
		    size_t kidlen);
size_t		 tok_keyset_count(const tok_keyset *ks);
const tok_key	*tok_keyset_get(const tok_keyset *ks, size_t i);
void	 tok_keyset_free(tok_keyset **ks);

/*
 * Key store: a directory shared by every node (see docs/tokens.md).
 *
 *   <dir>/keys.json      {"version":1,"keys":[{"kid","alg","created",
 *                        "not_before","retire_at","remove_at"}...]}
 *   <dir>/<kid>.pem      PKCS#8 private key, mode 0600, kid = thumbprint
 *
 * A key's state follows from the time alone, so every node holding a copy
 * of the directory agrees on it:
 *   next     now < not_before                  published, does not sign
 *   active   not_before <= now < retire_at     published, may sign
 *   retired  retire_at <= now < remove_at      published, does not sign
 *   expired  remove_at <= now                  gone (pruned)
 * The signing key at `now` is the active key with the latest not_before.
 */
typedef struct tok_keystore tok_keystore;

enum tok_key_state {
	TOK_KEY_NEXT = 1,
	TOK_KEY_ACTIVE,
	TOK_KEY_RETIRED,
	TOK_KEY_EXPIRED
};

#define TOK_KEYSTORE_STATE	"keys.json"

int	 tok_keystore_load(const char *dir, tok_keystore **out) CM_WUR;
void	 tok_keystore_free(tok_keystore **ks);
/*
 * Create a key for alg.  With no active key in the store it signs from
 * `now`; otherwise it is published now and signs from
 * now + publish_ahead, when the current key retires; the retired key stays
 * in the JWKS for max_token_lifetime more seconds.  Refused
 * (CM_ERR_EXISTS) while an earlier rotation is still pending.  Expired keys
 * are pruned on the way.  kid_out (may be NULL) receives the new kid.
 */
int	 tok_keystore_rotate(const char *dir, enum tok_alg alg,
	    int64_t publish_ahead, int64_t max_token_lifetime, int64_t now,
	    char *kid_out, size_t kidsz) CM_WUR;
/* Drop expired keys from keys.json, then unlink their PEM files. */
int	 tok_keystore_prune(const char *dir, int64_t now) CM_WUR;
/* Public JWKS ({"keys":[...]}, compact JSON, new string) of the next,
 * active and retired keys at now. */
int	 tok_keystore_jwks(const tok_keystore *ks, int64_t now, char **out)
	    CM_WUR;
/* The key that signs at now, or NULL. */
const tok_key	*tok_keystore_signing_key(const tok_keystore *ks, int64_t now);
/* The key with this kid if it may sign at now (active), or NULL. */
const tok_key	*tok_keystore_active_key(const tok_keystore *ks,
		    const char *kid, int64_t now);
/* State of kid at now; 0 when unknown. */
enum tok_key_state tok_keystore_state(const tok_keystore *ks, const char *kid,
		    int64_t now);
size_t		 tok_keystore_count(const tok_keystore *ks);

/*
 * Signers: one interface, several back ends.  tok_signer_new_local()
 * holds the keys in this process (tests, tools); tok_keyproc_start() keeps
 * them in a separate process and talks to it over a socketpair; a PKCS#11
 * back end can be added with tok_signer_new() and its own ops table.
 * All tok_signer_* calls are thread-safe.
 */
typedef struct tok_signer tok_signer;

struct tok_signer_ops {
	/* kid is never NULL here; sign only with a key active at now. */
	int	(*sign)(void *ctx, const char *kid, int64_t now,
		    const uint8_t *in, size_t len, uint8_t *sig, size_t sigsz,
		    size_t *siglen);
	/* kid (NUL-terminated) and alg of the key that signs at now. */
	int	(*current_kid)(void *ctx, int64_t now, char *kid, size_t kidsz,
		    enum tok_alg *alg);
	/* Public JWKS at now, new string. */
	int	(*jwks)(void *ctx, int64_t now, char **out);
	/* Re-read the keys (SIGHUP); on failure the old keys stay. */
	int	(*reload)(void *ctx);
	void	(*free)(void *ctx);
};

/* Takes ownership of ctx (ops->free is called by tok_signer_free, and on
 * failure here). */
int	 tok_signer_new(const struct tok_signer_ops *ops, void *ctx,
	    tok_signer **out) CM_WUR;
/* In-process signer over tok_keystore_load(dir). */
int	 tok_signer_new_local(const char *dir, tok_signer **out) CM_WUR;
/*
 * Key process.  Forks a child that closes every descriptor but one end of
 * a socketpair and stderr, turns off core dumps and ptrace
 * (PR_SET_DUMPABLE 0), loads the key store from dir and answers requests.
 * This process never opens the key files.  Call it before any thread is
 * created (only the forking thread survives fork()).  tok_signer_free()
 * closes the socket and reaps the child.  Requests are serialised by a
 * mutex: one signature at a time (see docs/tokens.md for throughput).
 */
int	 tok_keyproc_start(const char *dir, tok_signer **out) CM_WUR;

/* kid NULL: the key that signs now (cm_time()). */
int	 tok_signer_sign(tok_signer *s, const char *kid, const uint8_t *in,
	    size_t len, uint8_t *sig, size_t sigsz, size_t *siglen) CM_WUR;
int	 tok_signer_sign_at(tok_signer *s, const char *kid, int64_t now,
	    const uint8_t *in, size_t len, uint8_t *sig, size_t sigsz,
	    size_t *siglen) CM_WUR;
int	 tok_signer_current_kid(tok_signer *s, int64_t now, char *kid,
	    size_t kidsz, enum tok_alg *alg) CM_WUR;
int	 tok_signer_jwks(tok_signer *s, int64_t now, char **out) CM_WUR;
int	 tok_signer_reload(tok_signer *s) CM_WUR;
void	 tok_signer_free(tok_signer **s);

/*
 * JWT: compact JWS with protected header {"alg","typ","kid"} over the
 * compact serialization of claims (an object).  typ is "at+jwt" for RFC
 * 9068 access tokens, "JWT" for ID tokens; [A-Za-z0-9.+-]{1,32}.
 * Result is a new string (free()).
 */
int	 tok_jwt_sign(tok_signer *s, const char *typ, const json_t *claims,
	    char **out) CM_WUR;
int	 tok_jwt_sign_at(tok_signer *s, const char *typ, const json_t *claims,
	    int64_t now, char **out) CM_WUR;

#endif /* TOKENS_H */

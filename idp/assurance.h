/*
 * idp/assurance.h — multi-factor authentication and the assurance policy:
 * TOTP (RFC 6238) enrolment and verification, failure throttling, secrets
 * at rest under a key-encryption key (AES-256-GCM), recovery codes
 * (Argon2id), authenticator assurance levels with acr/amr (RFC 8176), and
 * the policy engine (ordered rules, enforce or report-only).
 *
 * Pure libraries: no HTTP, no LDAP, no pages, no global mutable state
 * besides one-time library initialisation.  docs/assurance.md describes the
 * file formats and the semantics in full.
 *
 * Conventions (STYLE.md): functions returning int give 0 or a negative
 * CM_ERR_* / IDP_ERR_*; out-parameters are cleared on entry and set on
 * success only; _free(T **) accepts NULL and clears the caller's pointer.
 * Every object here is immutable after it is built and may be shared by
 * threads without locking.
 */
#ifndef IDP_ASSURANCE_H
#define IDP_ASSURANCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm.h"

/*
 * Component error codes: CM_ERR_COMPONENT_BASE - 50 .. - 59 are reserved
 * for this header (the rest of idp/ may use other values).
 */
#define IDP_ERR_TOTP_REPLAY	(CM_ERR_COMPONENT_BASE - 50)	/* -150 */
/* Names IDP_ERR_* and every CM_ERR_*. */
const char	*idp_assurance_strerror(int r);

/* ------------------------------------------------------------------ */
/* TOTP (RFC 6238) over liboath                                        */
/* ------------------------------------------------------------------ */

#define IDP_TOTP_SECRET_LEN	20	/* 160-bit seeds (RFC 4226 §4 R6) */
#define IDP_TOTP_SECRET_MIN	16	/* 128 bits: refused below */
#define IDP_TOTP_SECRET_MAX	64
#define IDP_TOTP_PERIOD		30	/* seconds; the only period we use */
#define IDP_TOTP_DIGITS		6	/* default */
#define IDP_TOTP_DIGITS_MIN	6
#define IDP_TOTP_DIGITS_MAX	8
#define IDP_TOTP_WINDOW		1	/* steps accepted either side of now */
#define IDP_TOTP_NO_STEP	((int64_t)-1)	/* nothing accepted yet */
#define IDP_TOTP_LABEL_MAX	128	/* issuer, account name (bytes) */
#define IDP_TOTP_URI_MAX	1024
#define IDP_TOTP_SVG_MAX	(512 * 1024)

enum idp_totp_alg {
	IDP_TOTP_SHA1 = 0,	/* default; what every authenticator app does */
	IDP_TOTP_SHA256,
	IDP_TOTP_SHA512
};

/* Initialise liboath.  Called implicitly (once) by every idp_totp_*
 * function; call it at start-up to fail early. */
int	 idp_totp_init(void) CM_WUR;

/* "SHA1", "SHA256", "SHA512" (ASCII case-insensitive, as the directory's
 * skmTotpAlgorithm is caseIgnore).  CM_ERR_INVAL otherwise. */
int	 idp_totp_alg_parse(const char *s, enum idp_totp_alg *out) CM_WUR;
/* "SHA1", ...; NULL for an unknown value. */
const char *idp_totp_alg_name(enum idp_totp_alg alg);

/* A fresh seed of IDP_TOTP_SECRET_LEN random bytes (cm_random).  The
 * caller wipes it (OPENSSL_cleanse / cm_freezero) once wrapped. */
int	 idp_totp_secret_new(uint8_t out[IDP_TOTP_SECRET_LEN]) CM_WUR;

/*
 * otpauth:// URI (Google Authenticator Key Uri Format):
 *   otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER
 *       &algorithm=SHA1&digits=6&period=30
 * issuer and account are percent-encoded (everything but RFC 3986
 * unreserved characters); each is 1..IDP_TOTP_LABEL_MAX bytes and may
 * contain neither ':' nor control characters (CM_ERR_INVAL).  The secret is
 * unpadded base32.  *out is allocated and holds the secret: free it with
 * cm_strfree().
 */
int	 idp_totp_uri(const char *issuer, const char *account,
	    const uint8_t *secret, size_t secretlen, enum idp_totp_alg alg,
	    unsigned digits, char **out) CM_WUR;

/*
 * A QR code (libqrencode, error correction M) of text, as a standalone SVG
 * document: one <path> of dark modules on a white background with a
 * 4-module quiet zone.  Embed it as
 * <img src="data:image/svg+xml;base64,...">.  The text of an otpauth URI
 * is secret, and so is the picture: *out is to be freed with cm_strfree().
 * textlen 1..IDP_TOTP_URI_MAX, no NUL bytes.
 */
int	 idp_totp_qr_svg(const char *text, size_t textlen, char **out) CM_WUR;

/* The code for time `now` (seconds since the epoch, >= 0).  out holds
 * digits + 1 bytes; wipe it after use.  For enrolment checks and tests. */
int	 idp_totp_generate(const uint8_t *secret, size_t secretlen,
	    enum idp_totp_alg alg, unsigned digits, int64_t now,
	    char out[IDP_TOTP_DIGITS_MAX + 1]) CM_WUR;

/*
 * Verify a TOTP code: the steps T-1, T, T+1 (T = now / 30) are each
 * generated and compared in constant time with the code (all of them, so
 * the timing does not depend on where the code matched).
 *
 *   0                    accepted; *matched_step is the step it matched.
 *   IDP_ERR_TOTP_REPLAY  the code is right but its step is not later than
 *                        last_accepted_step (a replay, or an older code
 *                        after a newer one was used).
 *   CM_ERR_INVAL         not exactly `digits` ASCII digits (no spaces).
 *   CM_ERR_DENIED        wrong code.
 *   other                bad arguments or a library failure.
 *
 * last_accepted_step: the stored skmTotpLastStep, IDP_TOTP_NO_STEP if none.
 *
 * THE CALLER'S CONTRACT (replay across nodes): on 0, and before reporting
 * success to anyone, persist *matched_step with a compare-and-swap from the
 * value it read (dir_cas_attr(p, dn, "skmTotpLastStep", old, new): one
 * LDAP modify deleting the old value and adding the new).  If the swap
 * loses (CM_ERR_CONFLICT), another node has accepted a code meanwhile:
 * re-read the attribute and verify again, which then refuses a replay of
 * the same step.  Only a successful swap makes the factor count.  Failures
 * (CM_ERR_DENIED, IDP_ERR_TOTP_REPLAY) count towards idp_throttle_*.
 */
int	 idp_totp_verify(const uint8_t *secret, size_t secretlen,
	    enum idp_totp_alg alg, unsigned digits, const char *code,
	    size_t codelen, int64_t now, int64_t last_accepted_step,
	    int64_t *matched_step) CM_WUR;

/* ------------------------------------------------------------------ */
/* Throttling (SP 800-63B: at most 100 consecutive failures)           */
/* ------------------------------------------------------------------ */

#define IDP_THROTTLE_MAX_FAILURES	100	/* hard cap, SP 800-63B-4 */

struct idp_throttle_policy {
	uint32_t	lock_after;	/* lock at this many failures, 1..100 */
	uint32_t	free_failures;	/* failures before any delay */
	int64_t		base_delay;	/* seconds, first delay, >= 1 */
	int64_t		max_delay;	/* seconds, cap of the back-off */
};

/* Persisted per account and authenticator by the caller. */
struct idp_throttle_state {
	uint32_t	failures;	/* consecutive failures */
	int64_t		last_failure;	/* time of the last one, seconds */
};

enum idp_throttle_verdict {
	IDP_THROTTLE_ALLOW = 0,		/* attempt now */
	IDP_THROTTLE_WAIT,		/* retry_after seconds from now */
	IDP_THROTTLE_LOCKED		/* until an administrator/recovery resets */
};

struct idp_throttle_decision {
	enum idp_throttle_verdict verdict;
	int64_t		retry_after;	/* seconds, WAIT only; else 0 */
};

/* lock_after 50, free_failures 3, base_delay 2 s, max_delay 900 s:
 * 50 guesses take about 9 hours and succeed with p = 1.5e-4 for a
 * 6-digit TOTP with a window of 3 steps. */
void	 idp_throttle_policy_default(struct idp_throttle_policy *p);
/* CM_ERR_INVAL unless 1 <= lock_after <= 100, free_failures < lock_after,
 * 1 <= base_delay <= max_delay <= 86400. */
int	 idp_throttle_policy_check(const struct idp_throttle_policy *p) CM_WUR;
/*
 * May an attempt be made now?  Pure: delay = 0 while failures <=
 * free_failures, then base_delay * 2^(failures - free_failures - 1) capped
 * at max_delay, counted from last_failure (a clock that went back waits the
 * whole delay); LOCKED once failures >= lock_after.
 */
int	 idp_throttle_check(const struct idp_throttle_policy *p,
	    const struct idp_throttle_state *s, int64_t now,
	    struct idp_throttle_decision *out) CM_WUR;
/* Record an attempt's outcome: success resets the count, a failure adds
 * one (saturating at IDP_THROTTLE_MAX_FAILURES) and stamps now. */
void	 idp_throttle_record(struct idp_throttle_state *s, int success,
	    int64_t now);

/* ------------------------------------------------------------------ */
/* Secrets at rest: AES-256-GCM under a key-encryption key (KEK)       */
/* ------------------------------------------------------------------ */

/*
 * KEK file (0600 or stricter, a regular file, not a symlink): UTF-8 text,
 * one key per line "KID B64URL" (kid [A-Za-z0-9_-]{1,32}, 32 random bytes
 * unpadded base64url); '#' comment lines and blank lines ignored; the LAST
 * key is current (used to wrap), the others only unwrap.
 *
 * Wrapped value: "v1.KID.B64URL(nonce[12] || ciphertext || tag[16])".
 * AAD = "sekimori-kek" 0x00 "v1.KID" 0x00 purpose 0x00 owner, so a value
 * only opens for the owner and purpose it was wrapped for, under its kid.
 * purpose: [a-z0-9-]{1,32} ("totp"); owner: 1..IDP_KEK_OWNER_MAX bytes, no
 * NUL — use an identifier that never changes (the user's entryUUID, or uid
 * if uids are never renamed; a rename needs an unwrap and a new wrap).
 */
#define IDP_KEK_KEY_LEN		32
#define IDP_KEK_KID_MAX		32
#define IDP_KEK_MAX_KEYS	64
#define IDP_KEK_FILE_MAX	16384
#define IDP_KEK_NONCE_LEN	12
#define IDP_KEK_TAG_LEN		16
#define IDP_KEK_PLAINTEXT_MAX	4096
#define IDP_KEK_OWNER_MAX	256
#define IDP_KEK_PURPOSE_MAX	32
#define IDP_KEK_WRAPPED_MAX	(3 + IDP_KEK_KID_MAX + 1 + \
	((IDP_KEK_NONCE_LEN + IDP_KEK_PLAINTEXT_MAX + IDP_KEK_TAG_LEN) * 4 + 2) / 3)

typedef struct idp_kek idp_kek;

/* CM_ERR_POLICY for a file readable or writable by group/other or not a
 * regular file; CM_ERR_NOTFOUND if absent; CM_ERR_INVAL for a malformed
 * line, a duplicate kid or no key at all (details in the log, never key
 * material). */
int	 idp_kek_load(const char *path, idp_kek **out) CM_WUR;
void	 idp_kek_free(idp_kek **k);
/* Borrowed; valid while k lives. */
const char *idp_kek_current_kid(const idp_kek *k);
size_t	 idp_kek_count(const idp_kek *k);

/* Wrap under the current key.  *out: a new NUL-terminated string
 * (not secret), free(). */
int	 idp_kek_wrap(const idp_kek *k, const char *purpose, const char *owner,
	    const uint8_t *pt, size_t ptlen, char **out) CM_WUR;
/*
 * Unwrap.  *out (ptlen bytes, plus a NUL not counted) is secret: free it
 * with cm_freezero(*out, *outlen + 1) — or idp_kek_secret_free().
 * CM_ERR_NOTFOUND: unknown kid (the value is under a key this process
 * does not hold: reload the KEK file); CM_ERR_INVAL: malformed;
 * CM_ERR_DENIED: authentication failed (tampered, other owner/purpose).
 */
int	 idp_kek_unwrap(const idp_kek *k, const char *purpose,
	    const char *owner, const char *wrapped, size_t wrappedlen,
	    uint8_t **out, size_t *outlen) CM_WUR;
void	 idp_kek_secret_free(uint8_t **p, size_t len);
/* 1 if wrapped names the current kid (nothing to rewrap), else 0. */
int	 idp_kek_is_current(const idp_kek *k, const char *wrapped,
	    size_t wrappedlen);
/* Unwrap with whichever key the value names, wrap under the current one
 * (for `brokerctl kek rotate`).  *out as for idp_kek_wrap(). */
int	 idp_kek_rewrap(const idp_kek *k, const char *purpose,
	    const char *owner, const char *wrapped, size_t wrappedlen,
	    char **out) CM_WUR;
/*
 * Append a fresh key (kid "kYYYYMMDD-xxxxxx") that becomes current.  The
 * file is created (0600) if absent; otherwise it must load (same checks
 * as idp_kek_load) and is replaced atomically (temporary file, fsync,
 * rename) under an exclusive flock on the original.  Processes holding the
 * old contents must reload before values are rewrapped.  *newkid (may be
 * NULL): allocated copy of the new kid.
 */
int	 idp_kek_rotate_file(const char *path, char **newkid) CM_WUR;

/* ------------------------------------------------------------------ */
/* Recovery codes (look-up secrets, Argon2id)                          */
/* ------------------------------------------------------------------ */

#define IDP_RECOVERY_COUNT	10	/* default set size */
#define IDP_RECOVERY_MAX	32	/* largest set */
#define IDP_RECOVERY_CHARS	10	/* Crockford base32: 50 bits */
#define IDP_RECOVERY_DISPLAY_LEN 11	/* "XXXXX-XXXXX" */
#define IDP_RECOVERY_INPUT_MAX	64	/* bytes typed, separators included */
#define IDP_RECOVERY_HASH_MAX	128	/* crypto_pwhash_STRBYTES */
/* Argon2id cost: t = 2, m = 19 MiB (OWASP's minimum; 50-bit codes need
 * far less than passwords).  Verification tries every stored hash. */
#define IDP_RECOVERY_OPSLIMIT	2
#define IDP_RECOVERY_MEMLIMIT	(19u * 1024 * 1024)

struct idp_recovery_code {
	char	code[IDP_RECOVERY_DISPLAY_LEN + 1];	/* show once, wipe */
	char	hash[IDP_RECOVERY_HASH_MAX];		/* store */
};

/* n (1..IDP_RECOVERY_MAX) fresh codes and their Argon2id hashes in out[].
 * Wipe out[] (idp_recovery_wipe) once shown and stored. */
int	 idp_recovery_generate(struct idp_recovery_code *out, size_t n)
	    CM_WUR;
void	 idp_recovery_wipe(struct idp_recovery_code *c, size_t n);
/*
 * Check a typed code against the stored hashes (case-insensitive;
 * spaces and '-' ignored; Crockford's I/L -> 1, O -> 0).  0 and *matched =
 * index of the hash that matched: the caller removes that value (an LDAP
 * delete of exactly that value, so two nodes cannot both use it) before
 * the factor counts.  CM_ERR_INVAL: not a well-formed code; CM_ERR_DENIED:
 * no match.
 */
int	 idp_recovery_verify(const char *input, size_t inputlen,
	    const char *const *hashes, size_t nhashes, size_t *matched) CM_WUR;

/* ------------------------------------------------------------------ */
/* Assurance levels, acr and amr                                       */
/* ------------------------------------------------------------------ */

enum idp_aal {
	IDP_AAL_NONE = 0,	/* not authenticated */
	IDP_AAL1,
	IDP_AAL2,
	IDP_AAL3
};

/* acr URIs we issue: "urn:sekimori:acr:aal1" .. "aal3" (NULL for NONE). */
const char *idp_aal_acr(enum idp_aal aal);
/* "aal1".."aal3" (as in the policy file); "none". */
const char *idp_aal_name(enum idp_aal aal);
/* Our acr URIs, and as aliases the NIST-style
 * "http://idmanagement.gov/ns/assurance/aal/N".  CM_ERR_NOTFOUND else. */
int	 idp_aal_from_acr(const char *acr, size_t len, enum idp_aal *out)
	    CM_WUR;
/* SP 800-63B-4 reauthentication limit (overall) of a level, seconds:
 * AAL1 30 days, AAL2 24 h, AAL3 12 h; 0 for NONE. */
int64_t	 idp_aal_max_lifetime(enum idp_aal aal);
/* The level a session authenticated at auth_time still holds at now: the
 * highest level <= aal whose lifetime has not run out. */
enum idp_aal idp_aal_effective(enum idp_aal aal, int64_t auth_time,
	    int64_t now);

/* RFC 8176 amr values as a bit set. */
enum idp_amr {
	IDP_AMR_FACE	= 1u << 0,
	IDP_AMR_FPT	= 1u << 1,
	IDP_AMR_GEO	= 1u << 2,
	IDP_AMR_HWK	= 1u << 3,	/* proof of possession of a hardware key */
	IDP_AMR_IRIS	= 1u << 4,
	IDP_AMR_KBA	= 1u << 5,
	IDP_AMR_MCA	= 1u << 6,
	IDP_AMR_MFA	= 1u << 7,	/* multiple factors */
	IDP_AMR_OTP	= 1u << 8,	/* TOTP, recovery code */
	IDP_AMR_PIN	= 1u << 9,
	IDP_AMR_PWD	= 1u << 10,
	IDP_AMR_RBA	= 1u << 11,
	IDP_AMR_RETINA	= 1u << 12,
	IDP_AMR_SC	= 1u << 13,
	IDP_AMR_SMS	= 1u << 14,
	IDP_AMR_SWK	= 1u << 15,	/* proof of possession of a software key */
	IDP_AMR_TEL	= 1u << 16,
	IDP_AMR_USER	= 1u << 17,	/* user presence test */
	IDP_AMR_VBM	= 1u << 18,
	IDP_AMR_WIA	= 1u << 19
};
#define IDP_AMR_ALL	((1u << 20) - 1)
#define IDP_AMR_MAX	20

/* "hwk" for IDP_AMR_HWK; NULL unless exactly one known bit. */
const char *idp_amr_name(uint32_t bit);
/* Exact (lowercase) RFC 8176 value to its bit; CM_ERR_NOTFOUND else. */
int	 idp_amr_parse(const char *s, size_t len, uint32_t *bit) CM_WUR;
/* The names of the bits of mask in a fixed order (that of the enum), at
 * most IDP_AMR_MAX; returns how many were written to names[]. */
size_t	 idp_amr_list(uint32_t mask, const char *names[IDP_AMR_MAX]);

enum idp_factor_type {
	IDP_FACTOR_PASSWORD = 1,	/* memorised secret checked by LDAP bind */
	IDP_FACTOR_TOTP,		/* single-factor OTP device */
	IDP_FACTOR_RECOVERY,		/* look-up secret */
	IDP_FACTOR_WEBAUTHN		/* cryptographic authenticator */
};

/* WebAuthn properties (flags of struct idp_factor). */
#define IDP_FACTOR_UP		0x01u	/* authenticator data UP flag */
#define IDP_FACTOR_UV		0x02u	/* UV flag: user verified (PIN/bio) */
#define IDP_FACTOR_HW		0x04u	/* attestation verified: hardware-
					 * bound, non-exportable key */
#define IDP_FACTOR_SYNCED	0x08u	/* backup eligible/state: a synced
					 * passkey, never hardware-bound */

struct idp_factor {
	enum idp_factor_type	type;
	uint32_t		flags;		/* IDP_FACTOR_* */
};

struct idp_assurance {
	enum idp_aal	aal;
	uint32_t	amr;		/* IDP_AMR_* bits */
};

/*
 * The level reached and the amr of the factors completed in one
 * authentication (SP 800-63B-4 §2, docs/assurance.md has the table):
 *   AAL3: a hardware-bound (HW, not SYNCED) WebAuthn key with UV, or
 *         without UV together with a password;
 *   AAL2: two factors of different kinds (password + TOTP, recovery code
 *         or WebAuthn), or one WebAuthn key with UV (multi-factor);
 *   AAL1: any single factor;
 *   NONE: no factor.
 * amr: pwd, otp (TOTP and recovery codes), hwk (HW and not SYNCED) or swk,
 * user (UP), mfa when multi-factor.  CM_ERR_INVAL for an unknown type or
 * n > 16.
 */
int	 idp_assurance_compute(const struct idp_factor *f, size_t n,
	    struct idp_assurance *out) CM_WUR;

/* ------------------------------------------------------------------ */
/* Policy engine                                                        */
/* ------------------------------------------------------------------ */

#define IDP_POLICY_FILE_MAX	(1024 * 1024)
#define IDP_POLICY_LINE_MAX	4096
#define IDP_POLICY_RULES_MAX	1024
#define IDP_POLICY_LIST_MAX	256	/* items in one list value */
#define IDP_POLICY_NAME_MAX	64
#define IDP_POLICY_REASON_MAX	256
#define IDP_POLICY_ERR_MAX	512	/* "file:line: message" */
#define IDP_POLICY_REPORTS_MAX	16
#define IDP_POLICY_MAX_AGE_MAX	(400LL * 86400)

typedef struct idp_policy idp_policy;

/*
 * Parse a policy (format in docs/assurance.md and conf/policy.example)
 * from (buf, len); name is used in messages ("policy.conf").  On error
 * *out stays NULL and err (if errsz > 0) holds "name:line: message".
 * CM_ERR_INVAL for any syntax or validation error, CM_ERR_RANGE for a
 * limit.
 */
int	 idp_policy_parse(const uint8_t *buf, size_t len, const char *name,
	    idp_policy **out, char *err, size_t errsz) CM_WUR;
/*
 * Read and parse a file (at most IDP_POLICY_FILE_MAX bytes).  Reload:
 *   idp_policy *n = NULL;
 *   if (idp_policy_load(path, &n, err, sizeof(err)) == 0) swap(cur, n);
 *   else log err and keep cur;
 * Nothing is shared between policy objects; free the old one once no
 * evaluation uses it (rwlock or reference count in the caller).
 */
int	 idp_policy_load(const char *path, idp_policy **out, char *err,
	    size_t errsz) CM_WUR;
void	 idp_policy_free(idp_policy **p);
size_t	 idp_policy_rule_count(const idp_policy *p);

/*
 * What is being asked, by whom, from where, with which session.  Arrays
 * are borrowed for the call.  Extension point: later conditions (issue 9:
 * risk level, device compliance) add fields here — zero means "unknown" —
 * and a matcher entry in policy.c's table.
 */
/* Risk of a subject or session (issue 9): our own signals and the PDP's. */
enum idp_risk { IDP_RISK_LOW = 0, IDP_RISK_MEDIUM, IDP_RISK_HIGH };
int		 idp_risk_parse(const char *s, enum idp_risk *out) CM_WUR;
const char	*idp_risk_name(enum idp_risk r);
/* The device a request comes from, as the directory knows it. */
enum idp_device_state {
	IDP_DEVICE_NONE = 0,		/* no device identified */
	IDP_DEVICE_COMPLIANT,
	IDP_DEVICE_NOT_COMPLIANT,
	IDP_DEVICE_UNKNOWN		/* identified, state unknown */
};

struct idp_policy_ctx {
	const char		*client_id;
	const char *const	*scopes;	/* requested scopes */
	size_t			 nscopes;
	const char *const	*groups;	/* the user's groups (cn) */
	size_t			 ngroups;
	const char		*source_ip;	/* IPv4 or IPv6 text */
	/* The session: aal NONE when not authenticated yet. */
	enum idp_aal		 aal;
	uint32_t		 amr;		/* IDP_AMR_* */
	int64_t			 auth_time;	/* seconds */
	int64_t			 now;
	/* From the authorization request (OIDC Core §3.1.2.1). */
	const char *const	*acr_values;	/* in order of preference */
	size_t			 nacr_values;
	int64_t			 max_age;	/* seconds; -1 when absent */
	/* Forward-auth: the resource being accessed (NULL at login). */
	const char		*host;
	const char		*path;
	/* Continuous evaluation (issue 9). */
	enum idp_risk		 risk;
	enum idp_device_state	 device;
	/* Identity proofing (issue 8): the subject's current IAL (0 none),
	 * and whether the device is proofed (-1 no device, 0 no, 1 yes). */
	int			 ial;
	int			 device_proofed;
};

enum idp_policy_effect {
	IDP_POLICY_ALLOW = 0,
	IDP_POLICY_STEP_UP,		/* authenticate more: level, methods */
	IDP_POLICY_REAUTHENTICATE,	/* log in again (to level, methods) */
	IDP_POLICY_DENY			/* refuse outright (network) */
};

/* What a report-only rule would have changed had it been enforced. */
struct idp_policy_report {
	char			 rule[IDP_POLICY_NAME_MAX + 1];
	enum idp_policy_effect	 effect;	/* would-be effective effect */
	enum idp_aal		 level;
	uint32_t		 methods;
	char			 reason[IDP_POLICY_REASON_MAX];
};

struct idp_policy_decision {
	enum idp_policy_effect	 effect;
	enum idp_aal		 level;		/* level required (STEP_UP,
						 * REAUTHENTICATE) */
	uint32_t		 methods;	/* amr accepted for the next
						 * factor; 0: any */
	int64_t			 max_age;	/* strictest max age, -1 none */
	/* The rule that decided: a rule name, "client:acr_values",
	 * "client:max_age", "builtin:aal-lifetime" or "default". */
	char			 rule[IDP_POLICY_NAME_MAX + 1];
	char			 reason[IDP_POLICY_REASON_MAX];
	/* Every enforce rule that matched, comma-separated (truncated). */
	char			 matched[IDP_POLICY_REASON_MAX];
	struct idp_policy_report reports[IDP_POLICY_REPORTS_MAX];
	size_t			 nreports;
	size_t			 reports_dropped;
};

const char *idp_policy_effect_name(enum idp_policy_effect e);

/*
 * Evaluate.  All matching enforce rules apply together and the strictest
 * requirement wins (DENY > REAUTHENTICATE > STEP_UP > ALLOW; highest
 * level; shortest max age; every allow.networks must admit the source);
 * the decision names the rule responsible.  Client acr_values and max_age
 * are folded in the same way.  Report-only rules that match are evaluated
 * as if enforced and reported in reports[] without changing the result.
 * Pure: no allocation, no I/O.  A non-zero return (CM_ERR_INVAL: missing
 * client id, unparsable source address, ...) leaves *out set to DENY:
 * callers refuse.
 */
int	 idp_policy_evaluate(const idp_policy *p,
	    const struct idp_policy_ctx *ctx,
	    struct idp_policy_decision *out) CM_WUR;

#endif /* IDP_ASSURANCE_H */

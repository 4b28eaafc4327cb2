/*
 * proofing/proofing.h — identity proofing records for people and devices
 * (zero-trust policy 2; NIST SP 800-63A / Japan DS-500 IAL1-3), their
 * storage as directory children of the subject, the keyed hash of
 * document numbers, and the OpenID Connect for Identity Assurance 1.0
 * `verified_claims` built from them.  Prefix prf_.  docs/proofing.md.
 *
 * Records are never overwritten: a new record supersedes the previous
 * valid ones (their status becomes "superseded"), a revocation sets the
 * status "revoked" with a reason; the history stays.  Document numbers
 * never leave the caller in clear: the record holds HMAC-SHA-256 under
 * the proofing key (proofing_key_file) and the last four characters.
 *
 * Conventions (STYLE.md): int functions return 0 or a negative CM_ERR_*;
 * out-parameters are cleared on entry and set on success only; _free(T **)
 * accepts NULL and clears the pointer.  struct prf_record is a plain value
 * (fixed-size fields, no pointers) and may be copied.
 */
#ifndef PROOFING_H
#define PROOFING_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/cm.h"
#include "directory/directory.h"

/* Limits. */
#define PRF_JSON_MAX		16384	/* stored record (skmProofingData) */
#define PRF_ID_MAX		48	/* record id, NUL included */
#define PRF_SUBJECT_MAX		(DIR_NAME_MAX + 1)
#define PRF_OFFICER_MAX		128
#define PRF_REASON_MAX		256
#define PRF_NAME_MAX		256	/* verified name, issuer name */
#define PRF_ADDRESS_MAX		512
#define PRF_DATE_LEN		10	/* YYYY-MM-DD */
#define PRF_EVIDENCE_MAX	4
#define PRF_DOCNUM_MIN		4	/* characters after normalisation */
#define PRF_DOCNUM_MAX		64
#define PRF_HASH_MAX		64	/* "h1:" + 43 base64url + NUL */
#define PRF_LAST_MAX		5	/* last four characters + NUL */
#define PRF_SERIAL_MAX		128
#define PRF_IP_MAX		64
#define PRF_KEY_MIN		32	/* bytes of HMAC key */
#define PRF_KEY_MAX		64
#define PRF_KEY_FILE_MAX	1024
#define PRF_HISTORY_MAX		256	/* records read per subject */
#define PRF_TRUST_FRAMEWORK	"nist_800_63A"

/* Identity assurance levels (SP 800-63A; DS-500 uses the same three). */
enum prf_ial { PRF_IAL_NONE = 0, PRF_IAL1, PRF_IAL2, PRF_IAL3 };
/* "IAL1".."IAL3" ("none" for NONE). */
const char *prf_ial_name(enum prf_ial l);
/* "1".."3", "ial2", "IAL2" -> level; CM_ERR_INVAL otherwise. */
int	 prf_ial_parse(const char *s, enum prf_ial *out) CM_WUR;

enum prf_kind { PRF_KIND_PERSON = 0, PRF_KIND_DEVICE };
const char *prf_kind_name(enum prf_kind k);

enum prf_status { PRF_ST_VALID = 0, PRF_ST_SUPERSEDED, PRF_ST_REVOKED,
	PRF_ST_FAILED };
const char *prf_status_name(enum prf_status s);
int	 prf_status_parse(const char *s, enum prf_status *out) CM_WUR;

/*
 * Methods: in_person (IAL1-3), supervised_remote (IAL1-3),
 * remote_signature (a signed electronic certificate such as the My Number
 * Card's JPKI signature; IAL1-2), remote_document (IAL1-2),
 * device_inventory (devices only).  IAL3 needs in_person or
 * supervised_remote (SP 800-63A-4 §4.3).
 */
enum prf_method { PRF_M_IN_PERSON = 0, PRF_M_SUPERVISED_REMOTE,
	PRF_M_REMOTE_SIGNATURE, PRF_M_REMOTE_DOCUMENT, PRF_M_DEVICE_INVENTORY };
const char *prf_method_name(enum prf_method m);
int	 prf_method_parse(const char *s, enum prf_method *out) CM_WUR;

/* Evidence document types: the OpenID Connect for Identity Assurance
 * predefined values jp_individual_number_card (My Number Card), passport,
 * jp_drivers_license, jp_residency_card_for_foreigner. */
int	 prf_doctype_check(const char *s) CM_WUR;
/* ISO 3166-1 alpha-2, an assigned code. */
int	 prf_country_check(const char *s) CM_WUR;
/* A real calendar date "YYYY-MM-DD" (1900..2999). */
int	 prf_date_check(const char *s) CM_WUR;
/* The date as seconds at 00:00:00Z. */
int	 prf_date_epoch(const char *s, int64_t *out) CM_WUR;

struct prf_evidence {
	char	type[40];			/* prf_doctype_check */
	char	issuer[PRF_NAME_MAX];		/* issuing authority */
	char	country[3];			/* issuer country, alpha-2 */
	char	number_hash[PRF_HASH_MAX];	/* prf_doc_hash */
	char	number_last4[PRF_LAST_MAX];
	char	issued[PRF_DATE_LEN + 1];	/* "" if not recorded */
	char	expiry[PRF_DATE_LEN + 1];	/* "" if none */
};

struct prf_record {
	char			id[PRF_ID_MAX];
	enum prf_kind		kind;
	char			subject[PRF_SUBJECT_MAX];	/* uid, device id */
	enum prf_ial		ial;		/* devices: IAL1 */
	enum prf_method		method;
	enum prf_status		status;
	char			reason[PRF_REASON_MAX];
	/* "uid:<officer uid>", "brokerctl:<unix user>", or
	 * "system:device-mtls" (device proofing over mutual TLS) */
	char			officer[PRF_OFFICER_MAX];
	int64_t			time;		/* proofed at, seconds */
	int64_t			expires;	/* re-proofing date */
	struct prf_evidence	ev[PRF_EVIDENCE_MAX];
	size_t			nev;
	/* The attributes verified and their values at that time; "" = not
	 * verified. */
	char			name[PRF_NAME_MAX];
	char			birthdate[PRF_DATE_LEN + 1];
	char			address[PRF_ADDRESS_MAX];
	/* Devices: the inventory and what the device presented. */
	char			serial[PRF_SERIAL_MAX];
	char			ip[PRF_IP_MAX];
	char			presented[PRF_SERIAL_MAX];
};

/* A fresh record id: "prf-YYYYmmddHHMMSS-<12 hex>" (sortable). */
int	 prf_record_id_new(int64_t now, char out[PRF_ID_MAX]) CM_WUR;
/*
 * Every field checked (why gets the first failure, for the officer):
 * id, subject, officer formats; the officer is never the subject;
 * ial/method combination; persons at IAL2+ have evidence and a verified
 * name; evidence types, countries and dates; documents valid on the
 * proofing day; birthdate not in the future; expires after time.
 * CM_ERR_INVAL (malformed) or CM_ERR_POLICY (officer == subject, method
 * too weak for the level).
 */
int	 prf_record_check(const struct prf_record *r, char *why,
	    size_t whylen) CM_WUR;
/* The stored JSON (no status: that lives in its own attribute). */
int	 prf_record_to_json(const struct prf_record *r, char **out) CM_WUR;
/* Parse stored JSON: at most PRF_JSON_MAX bytes, duplicates rejected,
 * exactly the expected members, then prf_record_check().  status is set
 * to VALID (the caller applies the attribute). */
int	 prf_record_parse(const uint8_t *p, size_t len, struct prf_record *out)
	    CM_WUR;

/*
 * The proofing key (HMAC-SHA-256 of document numbers): a file of mode
 * 0600 or stricter, regular, not a symlink, holding one line of unpadded
 * base64url of PRF_KEY_MIN..PRF_KEY_MAX random bytes.  CM_ERR_POLICY for
 * a bad mode, CM_ERR_NOTFOUND when absent, CM_ERR_INVAL when malformed.
 */
typedef struct prf_key prf_key;
int	 prf_key_load(const char *path, prf_key **out) CM_WUR;
void	 prf_key_free(prf_key **k);
/*
 * Normalise a document number (ASCII letters upper-cased, spaces and '-'
 * dropped; then [A-Z0-9], PRF_DOCNUM_MIN..PRF_DOCNUM_MAX) and compute
 * "h1:" base64url(HMAC-SHA-256(key, "sekimori-prf-doc" 0 type 0 number))
 * and its last four characters.  The caller wipes number.
 */
int	 prf_doc_hash(const prf_key *k, const char *type, const char *number,
	    size_t len, char hash[PRF_HASH_MAX], char last4[PRF_LAST_MAX])
	    CM_WUR;

/*
 * verified_claims (OpenID Connect for Identity Assurance 1.0 §5) of a
 * valid person record for the request element `req` (the value of
 * "verified_claims" in the claims parameter's id_token or userinfo
 * member: an object or an array of them).  Only what is asked for is
 * returned: trust_framework always, assurance_level, time,
 * verification_process and evidence when requested; the claims name,
 * birthdate and address when requested and verified.  An unmet
 * value/values/max_age constraint, or no requested claim available,
 * omits the element: *out stays NULL and 0 is returned.  The document
 * number is never included.
 */
int	 prf_verified_claims(const struct prf_record *r, const json_t *req,
	    int64_t now, json_t **out) CM_WUR;

/* ---- records in the directory (dir_proofing_*) ---- */

struct prf_entry {
	struct prf_record	 rec;		/* status from the directory */
	struct dir_proofing	*dir;		/* dn, recovery code hashes */
};

/*
 * Add a record: checks it (prf_record_check), refuses a document hash
 * already bound to another subject (CM_ERR_EXISTS), writes it, then marks
 * the subject's earlier valid records superseded, and audits
 * ("proofing.recorded"; on an audit failure the record is revoked again
 * and CM_ERR_IO returned).  code_hash (may be NULL): the Argon2id hash of
 * a one-time recovery code valid until code_expires.  r->id is filled in
 * when empty.
 */
int	 prf_add(struct dir_pool *p, struct prf_record *r,
	    const char *code_hash, int64_t code_expires, const char *rid,
	    char *why, size_t whylen) CM_WUR;
/* Every record of a subject, newest first (unparsable entries are
 * skipped and logged).  Free with prf_history_free(). */
int	 prf_history(struct dir_pool *p, enum prf_kind k, const char *subject,
	    struct prf_entry **out, size_t *n) CM_WUR;
void	 prf_history_free(struct prf_entry **v, size_t n);
/*
 * The newest valid record of the subject at level >= min, not past its
 * re-proofing date at now, and (window > 0) made within window seconds.
 * CM_ERR_NOTFOUND when there is none.  out may be NULL.
 */
int	 prf_valid(struct dir_pool *p, enum prf_kind k, const char *subject,
	    enum prf_ial min, int64_t window, int64_t now,
	    struct prf_record *out) CM_WUR;
/* The highest level of a valid, unexpired record (PRF_IAL_NONE if none);
 * negative on directory trouble. */
int	 prf_current_ial(struct dir_pool *p, enum prf_kind k,
	    const char *subject, int64_t now);
/* valid -> revoked with reason (compare-and-swap), audited
 * ("proofing.revoked"); CM_ERR_NOTFOUND for an unknown id,
 * CM_ERR_CONFLICT when it was not valid any more. */
int	 prf_revoke(struct dir_pool *p, enum prf_kind k, const char *subject,
	    const char *id, const char *reason, const char *by,
	    const char *rid) CM_WUR;

#endif /* PROOFING_H */

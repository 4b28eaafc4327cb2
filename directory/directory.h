/*
 * directory/directory.h — LDAP access (OpenLDAP libldap) for Sekimori:
 * a bounded, thread-safe connection pool and a typed API over the schema
 * in conf/ldap/.  Prefix dir_.  See docs/directory.md.
 *
 * The directory is the system of record: users, groups, devices and RPA
 * accounts live only in slapd, so several broker nodes can serve the same
 * users.  Every value that enters a filter or a DN goes through the
 * escaping functions below (dir_escape.c, the one place that does it).
 *
 * Errors: functions return 0 or a negative CM_ERR_* (common/cm.h), or one
 * of the DIR_ERR_* below; dir_strerror() names both.  CM_ERR_UNAVAIL means
 * slapd cannot be reached (after the pool's backoff), CM_ERR_TIMEOUT that
 * it did not answer within ldap_timeout_ms.
 *
 * Ownership: dir_*_find/list allocate; free with the matching _free(),
 * which accepts NULL and clears the caller's pointer.  Input structures
 * (struct dir_*_new) are borrowed for the duration of the call.
 *
 * Thread safety: a struct dir_pool may be used from any number of threads;
 * every call takes one connection from the pool for its duration.
 */
#ifndef DIRECTORY_H
#define DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm.h"

#define DIR_MAX_URI	512
#define DIR_MAX_DN	1024
#define DIR_MAX_PATH	1024

/* Limits. */
#define DIR_POOL_MAX		64	/* ldap_pool_size upper bound */
#define DIR_NAME_MAX		64	/* uid, group, device and RPA ids */
#define DIR_VALUE_MAX		1024	/* any other attribute we write */
#define DIR_JWKS_MAX		65536	/* skmJwks */
#define DIR_SEARCH_MAX		5000	/* entries returned by one search */
#define DIR_GROUP_MAX_DEPTH	8	/* nested group resolution */
#define DIR_GROUP_MAX_RESULT	256	/* groups one user may be in */
#define DIR_SCOPES_MAX		64

/* NIST SP 800-63B-4 §3.1.1.2: the floors may be raised, never lowered. */
#define DIR_PW_MIN_SINGLE	15	/* password may be the only factor */
#define DIR_PW_MIN_MFA		8	/* always paired with a second factor */
#define DIR_PW_MAX_FLOOR	64	/* we must accept at least this many */
#define DIR_PW_MAX_CEIL		1024	/* code points, after NFKC */
#define DIR_PW_MAX_BYTES	8192	/* raw input, before normalisation */

/* Component error codes (below CM_ERR_COMPONENT_BASE). */
#define DIR_ERR_MUST_CHANGE	(CM_ERR_COMPONENT_BASE - 100)	/* -200 */

const char *dir_strerror(int r);

/* Configuration keys owned by this component: ldap_* and password_*. */
struct dir_config {
	char		uri[DIR_MAX_URI];		/* ldap_uri */
	char		base_dn[DIR_MAX_DN];		/* ldap_base */
	char		bind_dn[DIR_MAX_DN];		/* ldap_bind_dn */
	char		bind_pw_file[DIR_MAX_PATH];	/* ldap_bind_password_file */
	unsigned	pool_size;			/* ldap_pool_size */
	unsigned	timeout_ms;			/* ldap_timeout_ms */
	char		ca_file[DIR_MAX_PATH];		/* ldap_ca_file (StartTLS) */
	char		dummy_dn[DIR_MAX_DN];		/* ldap_dummy_dn */
	unsigned	backoff_max_ms;			/* ldap_backoff_max_ms */
	unsigned	pw_min_len;			/* password_min_len */
	unsigned	pw_min_len_mfa;			/* password_min_len_mfa */
	unsigned	pw_max_len;			/* password_max_len */
	int		pw_mfa_always;			/* password_mfa_always */
	char		pw_blocklist[DIR_MAX_PATH];	/* password_blocklist_file */
};

void	dir_config_defaults(struct dir_config *c);
/* 0: accepted; CM_ERR_NOTFOUND: not one of ours; else bad value (err). */
int	dir_config_set(struct dir_config *c, const char *key, const char *val,
	    char *err, size_t errlen) CM_WUR;
/* After the whole file: required keys present and consistent. */
int	dir_config_check(const struct dir_config *c, char *err,
	    size_t errlen) CM_WUR;

/*
 * The pool.  dir_pool_new() reads the bind password file, loads the
 * password blocklist and checks the configuration, but does not connect:
 * connections are opened on demand (so the broker can start while slapd is
 * down; /readyz reports it).  After a failed connection attempt, further
 * attempts wait for an exponential backoff (100 ms doubling up to
 * ldap_backoff_max_ms) and calls in between fail at once with
 * CM_ERR_UNAVAIL.  Every operation is bounded by ldap_timeout_ms.
 */
struct dir_pool;

int	dir_pool_new(const struct dir_config *c, struct dir_pool **out) CM_WUR;
void	dir_pool_free(struct dir_pool **p);
/* Cheap liveness check for /readyz: 0 when the directory answers. */
int	dir_pool_ping(struct dir_pool *p) CM_WUR;
/* How much of slapd's LMDB map under ldap_base is in use, from cn=Monitor
 * (the template lets the broker read it): pages in the map, pages the
 * file has reached, and free pages among those (reused before the file
 * grows).  In use: used - free; when used reaches max with none free,
 * every write fails.  CM_ERR_NOTFOUND without a readable monitor. */
struct dir_map_usage {
	uint64_t	pages_max;
	uint64_t	pages_used;
	uint64_t	pages_free;
};
int	dir_map_usage(struct dir_pool *p, struct dir_map_usage *u) CM_WUR;

/*
 * Request scope.  Between dir_scope_begin() and dir_scope_end() on one
 * thread, a search repeated with the same pool, base, scope, filter,
 * attribute list (the same array) and limit is answered with a copy of its
 * first answer, until a write (add, modify, delete, Password Modify) or a
 * password bind through the directory on this thread names an entry that
 * the search's base and scope could hold: that forgets the answer (other
 * answers stay; DNs are compared in a normal form, and one that does not
 * parse forgets every answer).
 * The broker opens a scope around each HTTP request: the request reads a
 * user, its groups or its authenticators from slapd once, not once per
 * step.  Scopes nest; at most 16 answers of at most 8 entries each are
 * kept (others go to slapd every time); kept copies are wiped when
 * forgotten.  Other threads, and code outside a scope, always ask slapd.
 * Within a scope a change made by another thread or broker node is not
 * seen until this thread writes or binds that entry (or one the search
 * could hold): code that must re-check a value
 * (rather than decide by a compare-and-swap write, as every check here
 * does) must do so outside a scope or after a write.
 */
/* answers a scope keeps; past that the oldest is forgotten */
#define DIR_SCOPE_ANSWERS_MAX	16
struct dir_scope_stats {
	unsigned long	hits;		/* answered from the scope */
	unsigned long	misses;		/* asked slapd */
	unsigned long	invalidated;	/* forgotten after a write or bind */
};
void	dir_scope_begin(void);
void	dir_scope_end(void);
/* this thread's counts since its outermost dir_scope_begin() */
void	dir_scope_stats(struct dir_scope_stats *out);

/*
 * Escaping (RFC 4515 filter values, RFC 4514 DN attribute values).  The
 * result is a new NUL-terminated string (free()).  Embedded NULs are
 * escaped, never truncated.  CM_ERR_RANGE above DIR_VALUE_MAX*3 bytes out.
 */
int	dir_escape_filter(const char *in, size_t len, char **out) CM_WUR;
int	dir_escape_dn(const char *in, size_t len, char **out) CM_WUR;
/* Identifiers we create (uid, group, device, RPA): 1..DIR_NAME_MAX of
 * [a-z0-9._-], starting with a letter or digit.  0 or CM_ERR_INVAL. */
int	dir_name_check(const char *name) CM_WUR;

/* Account status (skmAccountStatus). */
enum dir_status {
	DIR_STATUS_ACTIVE = 0,
	DIR_STATUS_SUSPENDED,
	DIR_STATUS_DISABLED
};
const char *dir_status_str(enum dir_status s);
int	dir_status_parse(const char *s, enum dir_status *out) CM_WUR;

/* ---- users (ou=people: inetOrgPerson + skmAccount + skmStaff) ---- */
struct dir_user {
	char		*dn;
	char		*uid;
	char		*name;		/* cn */
	char		*mail;		/* NULL if none */
	char		*staff_id;	/* NULL if none */
	char		*affiliation;	/* NULL if none */
	enum dir_status	 status;
	int		 locked;	/* ppolicy lockout in force */
	char		*created;	/* createTimestamp, GeneralizedTime */
};

struct dir_user_new {
	const char	*uid;		/* required, dir_name_check() */
	const char	*name;		/* required, display name */
	const char	*mail;		/* optional */
	const char	*staff_id;	/* optional */
	const char	*affiliation;	/* optional: staff|contractor|external */
};

int	dir_user_add(struct dir_pool *p, const struct dir_user_new *u) CM_WUR;
/* CM_ERR_NOTFOUND for an unknown uid (any string is safe to pass). */
int	dir_user_find(struct dir_pool *p, const char *uid,
	    struct dir_user **out) CM_WUR;
int	dir_user_find_dn(struct dir_pool *p, const char *dn,
	    struct dir_user **out) CM_WUR;
/* All users sorted by uid; *out is an array of n pointers. */
int	dir_user_list(struct dir_pool *p, struct dir_user ***out,
	    size_t *n) CM_WUR;
void	dir_user_free(struct dir_user **u);
void	dir_user_list_free(struct dir_user ***v, size_t n);
/* Change name and/or mail (NULL fields are left alone; uid is fixed). */
int	dir_user_modify(struct dir_pool *p, const char *uid,
	    const struct dir_user_new *changes) CM_WUR;
int	dir_user_set_status(struct dir_pool *p, const char *uid,
	    enum dir_status s) CM_WUR;
/* Clear a ppolicy lockout (administrator action). */
int	dir_user_unlock(struct dir_pool *p, const char *uid) CM_WUR;

/*
 * Passwords.  Input is UTF-8 of explicit length; it is NFKC-normalised,
 * and the normalised form is what slapd stores ({ARGON2}) and what is
 * verified.
 *
 * dir_user_passwd_verify(): binds as the user on a connection used only
 * for that.  0 when the password is right and the account active;
 * CM_ERR_DENIED for an unknown user, a wrong password or a non-active
 * account — all three cost one {ARGON2} verification (unknown and
 * non-active users bind against ldap_dummy_dn), so they cannot be told
 * apart by the answer or its timing; CM_ERR_LOCKED (ppolicy lockout),
 * CM_ERR_EXPIRED, DIR_ERR_MUST_CHANGE (correct password, reset by an
 * administrator), CM_ERR_UNAVAIL / CM_ERR_TIMEOUT.
 *
 * dir_user_passwd_set(): checks the password policy (why says which rule
 * failed: CM_ERR_POLICY) and sets it with the Password Modify extended
 * operation (RFC 3062) so that slapd hashes it.
 */
int	dir_user_passwd_verify(struct dir_pool *p, const char *uid,
	    const char *pw, size_t pwlen) CM_WUR;
int	dir_user_passwd_set(struct dir_pool *p, const char *uid,
	    const char *pw, size_t pwlen, char *why, size_t whylen) CM_WUR;

/*
 * Password policy (NIST SP 800-63B-4): length in code points of the NFKC
 * form (min per password_mfa_always, max password_max_len), no composition
 * rules, and a blocklist: dictionary words (password_blocklist_file),
 * common passwords, repetitive or sequential strings, and context words
 * (ctx: uid, name, mail... NULL entries ignored).
 */
struct dir_pwpolicy;

int	dir_pwpolicy_new(const struct dir_config *c,
	    struct dir_pwpolicy **out) CM_WUR;
void	dir_pwpolicy_free(struct dir_pwpolicy **pp);
/* 0 acceptable; CM_ERR_POLICY with a reason in why; CM_ERR_INVAL for
 * invalid UTF-8 or control characters. */
int	dir_pwpolicy_check(const struct dir_pwpolicy *pp, const char *pw,
	    size_t pwlen, const char *const *ctx, size_t nctx, char *why,
	    size_t whylen) CM_WUR;
/* NFKC form of UTF-8 input (rejects invalid UTF-8, NUL and C0/DEL
 * controls).  *out is a secret: free with cm_freezero(*out, *outlen + 1).
 * *ncp gets the number of code points. */
int	dir_password_normalize(const char *pw, size_t pwlen, char **out,
	    size_t *outlen, size_t *ncp) CM_WUR;

/* ---- groups (ou=groups: groupOfNames; members are users or groups) ---- */
enum dir_member_kind { DIR_MEMBER_USER, DIR_MEMBER_GROUP, DIR_MEMBER_OTHER };

struct dir_member {
	enum dir_member_kind	 kind;
	char			*name;	/* uid or group name; NULL for OTHER */
	char			*dn;
};

struct dir_group {
	char			*dn;
	char			*name;
	char			*description;	/* NULL if none */
	struct dir_member	*members;	/* direct members */
	size_t			 nmembers;
};

int	dir_group_add(struct dir_pool *p, const char *name,
	    const char *description) CM_WUR;
int	dir_group_find(struct dir_pool *p, const char *name,
	    struct dir_group **out) CM_WUR;
void	dir_group_free(struct dir_group **g);
/* The member must exist; CM_ERR_EXISTS if already a member; a group
 * cannot contain itself. */
int	dir_group_member_add(struct dir_pool *p, const char *group,
	    enum dir_member_kind kind, const char *name) CM_WUR;
/* CM_ERR_NOTFOUND if not a direct member. */
int	dir_group_member_remove(struct dir_pool *p, const char *group,
	    enum dir_member_kind kind, const char *name) CM_WUR;
/* Names of the groups uid belongs to, directly or (nested != 0) through
 * other groups, sorted; cycles are harmless.  Free with
 * dir_names_free(). */
int	dir_user_groups(struct dir_pool *p, const char *uid, int nested,
	    char ***names, size_t *n) CM_WUR;
/* 0 if uid is a member of group (nested as above), CM_ERR_NOTFOUND if not. */
int	dir_group_is_member(struct dir_pool *p, const char *group,
	    const char *uid, int nested) CM_WUR;
void	dir_names_free(char ***names, size_t n);

/* ---- devices (ou=devices: device + skmDevice) ---- */
struct dir_device {
	char		*dn;
	char		*id;		/* cn */
	char		*serial;	/* serialNumber */
	char		*ip;		/* skmAssignedIP, NULL if none */
	char		*owner_dn;	/* owner, NULL if none */
	char		*owner_uid;	/* from owner_dn, NULL if not a user */
	char		*compliance;	/* skmComplianceState, NULL if unknown */
	char		*description;
	enum dir_status	 status;
};

struct dir_device_new {
	const char	*id;		/* required, dir_name_check() */
	const char	*serial;	/* required, unique; PrintableString:
					   A-Za-z0-9 '()+,-./:=? and space */
	const char	*ip;		/* optional, IPv4 or IPv6 literal */
	const char	*owner_uid;	/* optional, an existing user */
	const char	*description;	/* optional */
};

int	dir_device_add(struct dir_pool *p, const struct dir_device_new *d) CM_WUR;
int	dir_device_find(struct dir_pool *p, const char *id,
	    struct dir_device **out) CM_WUR;
int	dir_device_find_serial(struct dir_pool *p, const char *serial,
	    struct dir_device **out) CM_WUR;
int	dir_device_list(struct dir_pool *p, struct dir_device ***out,
	    size_t *n) CM_WUR;
/* state: compliant | noncompliant | unknown */
int	dir_device_set_compliance(struct dir_pool *p, const char *id,
	    const char *state) CM_WUR;
int	dir_device_set_status(struct dir_pool *p, const char *id,
	    enum dir_status s) CM_WUR;
void	dir_device_free(struct dir_device **d);
void	dir_device_list_free(struct dir_device ***v, size_t n);

/* ---- RPA / service accounts (ou=rpa: account + skmServiceAccount) ---- */
struct dir_rpa {
	char		*dn;
	char		*id;		/* uid */
	char		*client_id;	/* skmClientId (= id) */
	char		*owner_dn;
	char		*owner_uid;
	enum dir_status	 status;
	enum dir_status	 owner_status;	/* DISABLED if the owner is gone */
	char		*jwks;		/* JSON text, NULL if none */
	char		*description;
	char		**scopes;
	size_t		 nscopes;
};

struct dir_rpa_new {
	const char		*id;		/* required, dir_name_check() */
	const char		*owner_uid;	/* required, an active user */
	const char		*jwks;		/* optional JWK Set (JSON) */
	const char *const	*scopes;	/* optional */
	size_t			 nscopes;
	const char		*description;	/* optional */
};

int	dir_rpa_add(struct dir_pool *p, const struct dir_rpa_new *r) CM_WUR;
int	dir_rpa_find(struct dir_pool *p, const char *client_id,
	    struct dir_rpa **out) CM_WUR;
int	dir_rpa_set_status(struct dir_pool *p, const char *id,
	    enum dir_status s) CM_WUR;
/* Whether the RPA account may authenticate now: 0 if it and its owner are
 * both active; CM_ERR_DISABLED otherwise; CM_ERR_NOTFOUND if unknown. */
int	dir_rpa_check(struct dir_pool *p, const char *client_id) CM_WUR;
void	dir_rpa_free(struct dir_rpa **r);

/*
 * Compare-and-swap on one value of a single-valued attribute: one LDAP
 * modify that deletes old and adds new, which the server applies
 * atomically, so of two concurrent swaps from the same old value exactly
 * one succeeds; the other gets CM_ERR_CONFLICT.  old == NULL: the
 * attribute must be absent; new == NULL: delete old.  dn must come from a
 * search result (e.g. struct dir_user.dn) and lie under ldap_base; attr is
 * an attribute name ([A-Za-z][A-Za-z0-9-]*).
 */
int	dir_cas_attr(struct dir_pool *p, const char *dn, const char *attr,
	    const char *old, const char *new_value) CM_WUR;

/* ---- protocol state (ou=state: skmState), see dir_state.c ---- */
#define DIR_STATE_KEY_MAX	64		/* base64url characters */
#define DIR_STATE_DATA_MAX	65536		/* JSON text */

struct dir_state {
	char	*data;		/* JSON text (wiped on free) */
	char	*version;	/* for dir_state_update() */
	char	*subject;	/* NULL if none */
	char	*ref;		/* NULL if none */
	int64_t	 expires;	/* seconds since the epoch */
};
enum dir_state_by { DIR_STATE_BY_SUBJECT, DIR_STATE_BY_REF };

/* kind and key: [A-Za-z0-9_-]; CM_ERR_EXISTS when the key is taken (an
 * add-only mark: the first node wins). */
int	dir_state_add(struct dir_pool *p, const char *kind, const char *key,
	    const char *subject, const char *ref, const char *data,
	    int64_t expires) CM_WUR;
/* The same; *version (malloc'd) gets the version written, for a later
 * dir_state_update() without reading the entry back. */
int	dir_state_add_v(struct dir_pool *p, const char *kind, const char *key,
	    const char *subject, const char *ref, const char *data,
	    int64_t expires, char **version) CM_WUR;
/* CM_ERR_NOTFOUND when absent, or expired at now (now 0: no check). */
int	dir_state_get(struct dir_pool *p, const char *kind, const char *key,
	    int64_t now, struct dir_state **out) CM_WUR;
/* Compare-and-swap: CM_ERR_CONFLICT when the version moved on,
 * CM_ERR_NOTFOUND when the entry is gone.  new_version may be NULL. */
int	dir_state_update(struct dir_pool *p, const char *kind, const char *key,
	    const char *old_version, const char *data, int64_t expires,
	    char **new_version) CM_WUR;
/* CM_ERR_NOTFOUND when already gone (single use: one deleter wins). */
int	dir_state_delete(struct dir_pool *p, const char *kind,
	    const char *key) CM_WUR;
/* The same, only if the entry is still at version (compare-and-delete,
 * with the assertion control): CM_ERR_CONFLICT when it moved on. */
int	dir_state_delete_v(struct dir_pool *p, const char *kind,
	    const char *key, const char *version) CM_WUR;
/* Keys with this subject or ref (free with dir_names_free). */
int	dir_state_find(struct dir_pool *p, const char *kind,
	    enum dir_state_by by, const char *value, char ***keys, size_t *n)
	    CM_WUR;
/* The same, live at now (not expired), oldest first: each key with slapd's
 * createTimestamp (GeneralizedTime, e.g. 20261201193000Z) and entryCSN (its
 * last change, to the microsecond), ordered by the first, then the second
 * (so of two made in one second, the one changed since sorts later), then
 * the key.  An entry whose attributes do not read is left out.  At most
 * DIR_SEARCH_MAX (more: CM_ERR_RANGE).  Free with dir_state_ages_free(). */
struct dir_state_age {
	char	*key;
	char	 created[24];
	char	 csn[64];
};
int	dir_state_ages(struct dir_pool *p, const char *kind,
	    enum dir_state_by by, const char *value, int64_t now,
	    struct dir_state_age **out, size_t *n) CM_WUR;
void	dir_state_ages_free(struct dir_state_age **v, size_t n);
/* Delete entries expired at now (a backlog over DIR_SEARCH_MAX is taken in
 * slices; at most DIR_SEARCH_MAX per call, the rest on later calls). */
int	dir_state_prune(struct dir_pool *p, const char *kind, int64_t now,
	    size_t *removed) CM_WUR;
void	dir_state_free(struct dir_state **s);

/* ---- OAuth clients (ou=clients: applicationProcess + skmOAuthClient) --- */
struct dir_client {
	char		*dn;
	char		*client_id;
	char		*name;			/* description */
	char		**redirect_uris;
	size_t		 nredirect_uris;
	char		**grant_types;
	size_t		 ngrant_types;
	char		**scopes;
	size_t		 nscopes;
	char		*auth_method;		/* client_secret_basic|
						   private_key_jwt */
	char		*secret_hash;		/* NULL if none */
	char		*jwks;			/* NULL if none */
	char		*backchannel_logout_uri;	/* NULL if none */
	char		*created;
	enum dir_status	 status;
};

struct dir_client_new {
	const char		*client_id;	/* dir_name_check() */
	const char		*name;		/* optional */
	const char *const	*redirect_uris;	/* https, or http loopback */
	size_t			 nredirect_uris;
	const char *const	*grant_types;
	size_t			 ngrant_types;
	const char *const	*scopes;
	size_t			 nscopes;
	const char		*auth_method;
	const char		*secret_hash;	/* client_secret_basic */
	const char		*jwks;		/* private_key_jwt */
	const char		*backchannel_logout_uri;	/* optional */
};

int	dir_client_add(struct dir_pool *p, const struct dir_client_new *c)
	    CM_WUR;
int	dir_client_find(struct dir_pool *p, const char *client_id,
	    struct dir_client **out) CM_WUR;
int	dir_client_list(struct dir_pool *p, struct dir_client ***out,
	    size_t *n) CM_WUR;
int	dir_client_set_status(struct dir_pool *p, const char *client_id,
	    enum dir_status s) CM_WUR;
void	dir_client_free(struct dir_client **c);
void	dir_client_list_free(struct dir_client ***v, size_t n);

/* ---- authenticators: TOTP (cn=totp,<user dn>), see dir_totp.c ---- */
enum dir_authn_state { DIR_AUTHN_PENDING, DIR_AUTHN_ACTIVE,
	DIR_AUTHN_SUSPENDED };
const char *dir_authn_state_str(enum dir_authn_state s);

struct dir_totp {
	char			*dn;
	char			*secret;	/* KEK-wrapped seed */
	enum dir_authn_state	 state;
	char			*last_step;	/* decimal, NULL if never used */
	char			*failures;	/* raw value, for the swap */
	long long		 failure_count;
	int64_t			 failure_at;
	char			**recovery;	/* Argon2id hashes */
	size_t			 nrecovery;
};

int	dir_totp_get(struct dir_pool *p, const char *uid,
	    struct dir_totp **out) CM_WUR;
void	dir_totp_free(struct dir_totp **t);
/* A new pending factor (an earlier pending one is replaced);
 * CM_ERR_EXISTS when an active or suspended one exists. */
int	dir_totp_put_pending(struct dir_pool *p, const char *uid,
	    const char *wrapped_secret) CM_WUR;
/* pending -> active with the step just accepted (and recovery hashes);
 * CM_ERR_CONFLICT when it was not pending any more. */
int	dir_totp_activate(struct dir_pool *p, const struct dir_totp *t,
	    long long step, const char *const *recovery_hashes,
	    size_t nrecovery) CM_WUR;
/* Compare-and-swap of the last step (from t->last_step) and failure
 * reset; CM_ERR_CONFLICT when another node moved it first. */
int	dir_totp_accept_step(struct dir_pool *p, const struct dir_totp *t,
	    long long step) CM_WUR;
int	dir_totp_record_failure(struct dir_pool *p, const struct dir_totp *t,
	    int64_t now) CM_WUR;
/* Spend a recovery code (delete its hash); CM_ERR_CONFLICT if spent. */
int	dir_totp_use_recovery(struct dir_pool *p, const struct dir_totp *t,
	    const char *hash) CM_WUR;
int	dir_totp_delete(struct dir_pool *p, const char *uid) CM_WUR;
/* Replace the wrapped seed (KEK rotation), compare-and-swap. */
int	dir_totp_rewrap(struct dir_pool *p, const struct dir_totp *t,
	    const char *new_wrapped) CM_WUR;
/* Suspend (or reactivate) a factor: a suspended factor is refused. */
int	dir_totp_set_state(struct dir_pool *p, const struct dir_totp *t,
	    enum dir_authn_state st) CM_WUR;
/* uids of every user with a TOTP entry (dir_names_free). */
int	dir_totp_owners(struct dir_pool *p, char ***uids, size_t *n) CM_WUR;

/* ---- authenticators: WebAuthn credentials, see dir_webauthn.c ----
 * cn=<base64url SHA-256 of the credential id>,<user dn>.  Credential ids
 * are given as unpadded base64url (as in the fido/ record). */
#define DIR_WA_ID_MAX		1400	/* base64url of 1023 bytes */
#define DIR_WA_PK_MAX		4096	/* base64url COSE_Key */
#define DIR_WA_RECORD_MAX	16384	/* wa_cred JSON */
#define DIR_WA_LABEL_MAX	128
#define DIR_WA_MAX_PER_USER	64

struct dir_wa_cred {
	char			*dn;
	char			*cn;		/* the 43-character key */
	char			*uid;		/* owner (from the DN) */
	char			*cred_id;	/* base64url */
	char			*record;	/* wa_cred JSON */
	char			*sign_count;	/* raw value, for the swap */
	long long		 sign_count_n;
	char			*aaguid;	/* NULL if none */
	char			*label;		/* NULL if none */
	char			*trust;
	char			*created;	/* GeneralizedTime */
	char			*last_used;	/* NULL: never */
	char			*approved_by;	/* DN, NULL if none */
	char			*failures;	/* raw value, for the swap */
	long long		 failure_count;
	enum dir_authn_state	 state;
};

struct dir_wa_cred_new {
	const char		*uid;
	const char		*cred_id;	/* base64url */
	const char		*public_key;	/* base64url COSE_Key */
	const char		*record;	/* wa_cred JSON */
	uint32_t		 sign_count;
	const char		*aaguid;	/* UUID text or NULL */
	const char *const	*transports;
	size_t			 ntransports;
	const char		*label;		/* optional */
	const char		*trust;		/* wa_trust_name() */
	enum dir_authn_state	 state;		/* pending or active */
};

/* The RDN value of a credential id: base64url SHA-256, 43 characters. */
int	dir_wa_key(const char *cred_id, char out[44]) CM_WUR;
/* CM_ERR_EXISTS when the credential id is registered to anyone
 * (WebAuthn L2 §7.1 step 22). */
int	dir_wa_add(struct dir_pool *p, const struct dir_wa_cred_new *c) CM_WUR;
int	dir_wa_list(struct dir_pool *p, const char *uid,
	    struct dir_wa_cred ***out, size_t *n) CM_WUR;
/* By credential id across ou=people (usernameless login): the entry and
 * its owner.  CM_ERR_NOTFOUND; CM_ERR_CONFLICT if registered twice. */
int	dir_wa_find(struct dir_pool *p, const char *cred_id,
	    struct dir_wa_cred **out) CM_WUR;
/* One of uid's credentials by its key (cn). */
int	dir_wa_get(struct dir_pool *p, const char *uid, const char *key,
	    struct dir_wa_cred **out) CM_WUR;
/* Every credential in state s, or of an AAGUID, across ou=people. */
int	dir_wa_list_state(struct dir_pool *p, enum dir_authn_state s,
	    struct dir_wa_cred ***out, size_t *n) CM_WUR;
int	dir_wa_find_aaguid(struct dir_pool *p, const char *aaguid,
	    struct dir_wa_cred ***out, size_t *n) CM_WUR;
/* A successful assertion: sign count compare-and-swap from c->sign_count
 * (only while the state is active), record, last use, failure reset.
 * CM_ERR_CONFLICT when another node moved the counter or the credential
 * was suspended meanwhile. */
int	dir_wa_use(struct dir_pool *p, const struct dir_wa_cred *c,
	    uint32_t new_count, const char *new_record) CM_WUR;
int	dir_wa_record_failure(struct dir_pool *p, const struct dir_wa_cred *c,
	    int64_t now) CM_WUR;
/* State compare-and-swap; CM_ERR_CONFLICT when it was not `from`. */
int	dir_wa_set_state(struct dir_pool *p, const struct dir_wa_cred *c,
	    enum dir_authn_state from, enum dir_authn_state to) CM_WUR;
/* pending -> active with skmApprovedBy = the approver's DN, one modify. */
int	dir_wa_approve(struct dir_pool *p, const struct dir_wa_cred *c,
	    const char *approver_uid) CM_WUR;
int	dir_wa_delete(struct dir_pool *p, const struct dir_wa_cred *c) CM_WUR;
void	dir_wa_free(struct dir_wa_cred **c);
void	dir_wa_list_free(struct dir_wa_cred ***v, size_t n);

/* ---- identity proofing records (skmProofingRecord), see dir_proofing.c
 * cn=<record id>,<subject dn>: children of a user (ou=people) or a
 * device (ou=devices).  The record itself is JSON (proofing/proofing.h);
 * level, time, status, officer and expiry are attributes too, for search
 * and for the compare-and-swap of the status. */
enum dir_proofing_kind { DIR_PRF_USER = 0, DIR_PRF_DEVICE };
#define DIR_PRF_DATA_MAX	16384
#define DIR_PRF_HASHES_MAX	8

struct dir_proofing {
	char		*dn;
	char		*cn;		/* record id */
	char		*status;	/* valid|superseded|revoked|failed */
	char		*reason;	/* NULL if none */
	char		*data;		/* JSON */
	char		**code_hashes;	/* Argon2id recovery code hashes */
	size_t		 ncode_hashes;
	int64_t		 code_expires;	/* 0 if none */
};

struct dir_proofing_new {
	const char		*cn;		/* [A-Za-z0-9-], <= 47 */
	const char		*level;		/* "IAL1".."IAL3" */
	const char		*method;
	const char		*status;
	const char		*reason;	/* optional */
	const char		*officer;	/* "uid:x" | "brokerctl:x" */
	const char		*officer_uid;	/* optional: skmProofedBy */
	const char		*data;		/* JSON */
	int64_t			 time;		/* skmProofedAt */
	int64_t			 expires;	/* skmProofingExpires */
	const char *const	*doc_hashes;
	size_t			 ndoc_hashes;
	const char		*code_hash;	/* optional */
	int64_t			 code_expires;
};

/* CM_ERR_NOTFOUND for an unknown subject; CM_ERR_EXISTS for a taken cn. */
int	dir_proofing_add(struct dir_pool *p, enum dir_proofing_kind k,
	    const char *id, const struct dir_proofing_new *r) CM_WUR;
/* Every record of the subject (unordered). */
int	dir_proofing_list(struct dir_pool *p, enum dir_proofing_kind k,
	    const char *id, struct dir_proofing ***out, size_t *n) CM_WUR;
/* Status compare-and-swap from -> to, with a reason (may be NULL);
 * CM_ERR_CONFLICT when the status was not `from`. */
int	dir_proofing_set_status(struct dir_pool *p, const struct dir_proofing *r,
	    const char *from, const char *to, const char *reason) CM_WUR;
/* Spend a recovery code (delete its hash): CM_ERR_CONFLICT if spent. */
int	dir_proofing_use_code(struct dir_pool *p, const struct dir_proofing *r,
	    const char *hash) CM_WUR;
/* Subjects ("user:<uid>" / "device:<id>") of valid records carrying this
 * document hash (dir_names_free). */
int	dir_proofing_find_doc(struct dir_pool *p, const char *hash,
	    char ***subjects, size_t *n) CM_WUR;
void	dir_proofing_free(struct dir_proofing **r);
void	dir_proofing_list_free(struct dir_proofing ***v, size_t n);

#endif /* DIRECTORY_H */

/*
 * directory/dir_private.h — shared between the directory .c files only.
 */
#ifndef DIR_PRIVATE_H
#define DIR_PRIVATE_H

#include <pthread.h>

#include <lber.h>
#include <ldap.h>

#include "directory.h"

#define DIR_CONN_SVC	0	/* bound as the broker's service identity */
#define DIR_CONN_AUTH	1	/* used only for binds as users */

struct dir_conn {
	LDAP	*ld;
	int	 kind;
	int	 busy;
};

struct dir_pool {
	struct dir_config	 cfg;
	char			*bind_pw;	/* secret */
	size_t			 bind_pw_len;
	struct dir_pwpolicy	*pwpol;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct dir_conn		*conns;		/* 2 * cfg.pool_size */
	size_t			 nconns;
	uint64_t		 retry_at_ms;	/* backoff: no connect before */
	unsigned		 backoff_ms;
	int			 tls;		/* ldap:// -> StartTLS */
	/* DNs of the containers, computed once */
	char			 people_dn[DIR_MAX_DN];
	char			 groups_dn[DIR_MAX_DN];
	char			 devices_dn[DIR_MAX_DN];
	char			 rpa_dn[DIR_MAX_DN];
};

/* One entry of a search result, copied out of libldap. */
struct dir_attr {
	char		 *name;
	struct berval	**vals;		/* ber_bvecfree() */
};

struct dir_entry {
	char		*dn;
	struct dir_attr	*attrs;
	size_t		 nattrs;
};

struct dir_result {
	struct dir_entry	*v;
	size_t			 n;
};

void	dir_result_clear(struct dir_result *r);
/* a write or bind on this thread: the request scope forgets its reads,
 * all of them or (_dn) those whose base and scope could hold dn */
void	dir_scope_forget(void);
void	dir_scope_forget_dn(const char *dn);
/* could a search of base with scope hold the entry dn?  1 or 0, compared in
 * one normal form; -1 when either does not parse (then it forgets all) */
int	dir_scope_covers(const char *base, int scope, const char *dn);

/* Borrow a connection of the given kind (waits at most the timeout). */
int	dir_conn_get(struct dir_pool *p, int kind, struct dir_conn **out) CM_WUR;
/* broken: close it (the next user reconnects). */
void	dir_conn_put(struct dir_pool *p, struct dir_conn *c, int broken);
/* LDAP result code -> CM_ERR_*. */
int	dir_ldap_err(int rc);
/* Whether rc means the connection is unusable. */
int	dir_ldap_broken(int rc);

/*
 * Operations as the broker, with one retry on a fresh connection when a
 * pooled one turns out to be dead.  Return 0 or CM_ERR_*; *ldrc (if not
 * NULL) receives the LDAP result code, for callers that map it further.
 */
int	dir_search(struct dir_pool *p, const char *base, int scope,
	    const char *filter, const char *const *attrs, size_t max,
	    struct dir_result *out) CM_WUR;
int	dir_modify(struct dir_pool *p, const char *dn, LDAPMod **mods,
	    int *ldrc) CM_WUR;
int	dir_add(struct dir_pool *p, const char *dn, LDAPMod **mods,
	    int *ldrc) CM_WUR;
int	dir_delete(struct dir_pool *p, const char *dn, int *ldrc) CM_WUR;
/* The same, only if the entry matches the filter assertion (RFC 4528):
 * else *ldrc is LDAP_ASSERTION_FAILED (CM_ERR_CONFLICT). */
int	dir_delete_if(struct dir_pool *p, const char *dn, const char *assertion,
	    int *ldrc) CM_WUR;
int	dir_passwd_exop(struct dir_pool *p, const char *dn,
	    const char *pw, size_t pwlen, int *ldrc, char *why,
	    size_t whylen) CM_WUR;

/* Values of an entry. */
struct berval **dir_entry_vals(const struct dir_entry *e, const char *attr);
/* Copy of the first value as a C string (NULL if absent); CM_ERR_INVAL if
 * it contains a NUL. */
int	dir_entry_str(const struct dir_entry *e, const char *attr,
	    char **out) CM_WUR;

/* printf into a fixed buffer; CM_ERR_RANGE on truncation. */
int	dir_fmt(char *buf, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4))) CM_WUR;

/* DN of a named entry under a container: "<rdnattr>=<escaped>,<parent>". */
int	dir_make_dn(char *buf, size_t len, const char *rdnattr,
	    const char *value, const char *parent) CM_WUR;
/* Find exactly one entry: filter "(&(objectClass=oc)(attr=<escaped value>))"
 * one level under base.  CM_ERR_NOTFOUND if none, CM_ERR_CONFLICT if many. */
int	dir_find_one(struct dir_pool *p, const char *base, const char *oc,
	    const char *attr, const char *value, const char *const *attrs,
	    struct dir_result *out) CM_WUR;
/* If dn is "<rdnattr>=v,<parent>" (exactly), *value = v (allocated). */
int	dir_dn_child_value(const char *dn, const char *rdnattr,
	    const char *parent, char **value) CM_WUR;
/* Whether dn is within base (or is base). */
int	dir_dn_under(const char *dn, const char *base);

/* Building modify/add requests from C strings. */
#define DIR_MODS_MAX	24
struct dir_modset {
	LDAPMod		 mods[DIR_MODS_MAX];
	LDAPMod		*ptrs[DIR_MODS_MAX + 1];
	char		*vals[DIR_MODS_MAX][DIR_SCOPES_MAX + 1];
	size_t		 n;
};
void	dir_modset_init(struct dir_modset *ms);
/* op: LDAP_MOD_ADD/DELETE/REPLACE; vals NULL-terminated (NULL: none).
 * The strings are borrowed until the request is sent. */
int	dir_modset_add(struct dir_modset *ms, int op, const char *attr,
	    const char *const *vals) CM_WUR;
int	dir_modset_add1(struct dir_modset *ms, int op, const char *attr,
	    const char *val) CM_WUR;
LDAPMod	**dir_modset_get(struct dir_modset *ms);

/* Text we store: valid UTF-8, no control characters, 1..max bytes. */
int	dir_text_check(const char *s, size_t max) CM_WUR;

/* Now as GeneralizedTime "YYYYmmddHHMMSSZ". */
void	dir_gentime(char out[16]);

#endif /* DIR_PRIVATE_H */

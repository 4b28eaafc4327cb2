/*
 * fido/wa_int.h — private to fido/: the objects behind the opaque handles
 * and the parsers shared by the files of this component.  No other folder
 * includes it.
 */
#ifndef WA_INT_H
#define WA_INT_H

#include <openssl/x509.h>

#include <cbor.h>

#include "fido/fido.h"

#define WA_SHA256_LEN		32
#define WA_MAX_ALGS		8
#define WA_PK_MAX_LEN		(256 + 3)	/* libfido2 rs256 n||e */
#define WA_U2F_KEY_ID_LEN	20

/* authenticatorData flags (WebAuthn L3 §6.1). */
#define WA_AD_UP		0x01
#define WA_AD_RFU1		0x02
#define WA_AD_UV		0x04
#define WA_AD_BE		0x08
#define WA_AD_BS		0x10
#define WA_AD_RFU2		0x20
#define WA_AD_AT		0x40
#define WA_AD_ED		0x80

struct wa_rp {
	char		*id;
	uint8_t		 id_hash[WA_SHA256_LEN];
	char		*origins[WA_RP_MAX_ORIGINS];
	size_t		 norigins;
	int		 algs[WA_MAX_ALGS];
	size_t		 nalgs;
	STACK_OF(X509)	*roots;
	uint8_t		*aaguids;	/* naaguids * WA_AAGUID_LEN */
	size_t		 naaguids;
	uint8_t		*u2f_ids;	/* nu2f * WA_U2F_KEY_ID_LEN */
	size_t		 nu2f;
	const wa_mds_t	*mds;		/* borrowed */
};

struct wa_blob {
	uint8_t		*ptr;
	size_t		 len;
};

struct wa_challenge {
	enum wa_purpose	 purpose;
	uint8_t		 c[WA_CHALLENGE_LEN];
	uint8_t		 user[WA_USER_HANDLE_MAX_LEN];
	size_t		 user_len;		/* 0: no user bound */
	uint8_t		 session[WA_SHA256_LEN];	/* SHA-256(session) */
	int64_t		 exp;
	int		 used;
	struct wa_blob	 allow[WA_CHALLENGE_MAX_ALLOW];
	size_t		 nallow;
};

struct wa_cred {
	uint8_t		*id;
	size_t		 id_len;
	uint8_t		 user[WA_USER_HANDLE_MAX_LEN];
	size_t		 user_len;
	uint8_t		*cose;		/* COSE_Key as received */
	size_t		 cose_len;
	int		 alg;
	uint8_t		 aaguid[WA_AAGUID_LEN];
	uint32_t	 sign_count;
	char		 fmt[WA_FMT_MAX_LEN + 1];
	enum wa_trust	 trust;
	int		 be, bs, uv_init;
	int		 transports;
	int64_t		 created;
};

/* A public key decoded from a COSE_Key, in libfido2's *_pk_from_ptr
 * layout: ES256 x||y (64), EdDSA x (32), RS256 n||e (256 + 3). */
struct wa_pubkey {
	int		 alg;
	uint8_t		 raw[WA_PK_MAX_LEN];
	size_t		 raw_len;
};

/* Extension outputs that libfido2 decodes and compares with what was
 * "requested"; mirrored so that its comparison holds (wa_authdata.c). */
struct wa_ext {
	int		 fido_mask;	/* FIDO_EXT_* */
	int		 prot;		/* credProtect */
	size_t		 minpinlen;
};

/* Parsed authenticatorData; pointers borrow from the input. */
struct wa_authdata {
	const uint8_t	*raw;
	size_t		 len;
	const uint8_t	*rp_id_hash;	/* WA_SHA256_LEN */
	uint8_t		 flags;
	uint32_t	 sign_count;
	const uint8_t	*aaguid;	/* WA_AAGUID_LEN, if AT */
	const uint8_t	*cred_id;	/* if AT */
	size_t		 cred_id_len;
	const uint8_t	*cose;		/* if AT */
	size_t		 cose_len;
	struct wa_pubkey key;		/* if AT */
	struct wa_ext	 ext;		/* if ED */
};

/* Parsed attestationObject; pointers borrow from root. */
struct wa_attobj {
	cbor_item_t	*root;
	char		 fmt[WA_FMT_MAX_LEN + 1];
	const uint8_t	*authdata;
	size_t		 authdata_len;
	const cbor_item_t *attstmt;	/* borrowed from root */
	int		 has_alg;
	int		 alg;
	const uint8_t	*sig;
	size_t		 sig_len;
	const uint8_t	*x5c[WA_X5C_MAX_CERTS];
	size_t		 x5c_len[WA_X5C_MAX_CERTS];
	size_t		 nx5c;
	int		 has_tpm;	/* ver, certInfo, pubArea present */
};

/* wa_clientdata.c: §7.1 steps 5-10 / §7.2 steps 9-14. */
int	wa_clientdata_verify(const wa_rp_t *, const uint8_t *p, size_t len,
	    const char *type, const uint8_t challenge[WA_CHALLENGE_LEN])
	    CM_WUR;

/* wa_authdata.c */
enum wa_ad_kind { WA_AD_REGISTRATION, WA_AD_ASSERTION };
int	wa_authdata_parse(const uint8_t *p, size_t len, enum wa_ad_kind,
	    struct wa_authdata *out) CM_WUR;
int	wa_cose_parse(const uint8_t *p, size_t len, struct wa_pubkey *out)
	    CM_WUR;
/* 0 when the key is a valid point/modulus (via libfido2 + OpenSSL). */
int	wa_pubkey_check(const struct wa_pubkey *) CM_WUR;

/* wa_attobj.c */
int	wa_attobj_parse(const uint8_t *p, size_t len, struct wa_attobj *out)
	    CM_WUR;
void	wa_attobj_clear(struct wa_attobj *);

/* wa_attest.c: libfido2 verification of the statement, certificate
 * requirements and the trust policy.  *trust set on success. */
int	wa_attest_verify(const wa_rp_t *, const struct wa_attobj *,
	    const struct wa_authdata *, const uint8_t cdh[WA_SHA256_LEN],
	    int flags, enum wa_trust *trust) CM_WUR;

/* wa_reg.c */
int	wa_transport_bit(const char *name);
const char *wa_transport_name(int bit);
/* rpIdHash, UP, UV (if flags ask), BS without BE. */
int	wa_authdata_check(const wa_rp_t *, const struct wa_authdata *,
	    int flags) CM_WUR;

/* wa_rp.c */
int	wa_rp_origin_ok(const wa_rp_t *, const char *origin, size_t len);
int	wa_rp_alg_ok(const wa_rp_t *, int alg);
int	wa_rp_aaguid_ok(const wa_rp_t *, const uint8_t *aaguid);
int	wa_rp_u2f_id_ok(const wa_rp_t *, const uint8_t *id);

/* wa_challenge.c: steps common to both ceremonies; consumes ch. */
int	wa_challenge_use(wa_challenge_t *, enum wa_purpose,
	    const char *session) CM_WUR;

/* wa_mds.c */
/* Borrowed stack of the MDS roots for this AAGUID, or NULL. */
STACK_OF(X509) *wa_mds_roots(const wa_mds_t *, const uint8_t *aaguid);
int	wa_mds_check(const wa_mds_t *, const uint8_t *aaguid) CM_WUR;

/* wa_util.c */
int	wa_sha256(const void *p, size_t len, uint8_t out[WA_SHA256_LEN])
	    CM_WUR;
/* Standard base64 with padding (RFC 4648 §4), strict; *out malloc()ed. */
int	wa_b64std_decode(const char *in, size_t inlen, uint8_t **out,
	    size_t *outlen) CM_WUR;
/* CBOR helpers: definite text/byte strings. */
int	wa_cbor_text(const cbor_item_t *, const char **p, size_t *len);
int	wa_cbor_bytes(const cbor_item_t *, const uint8_t **p, size_t *len);
int	wa_cbor_text_eq(const cbor_item_t *, const char *s);
int	wa_cbor_bool(const cbor_item_t *, int *v);
/* Length of the first CBOR item of p, walked without allocating: counts
 * larger than the input and deep nesting refused.  0 or -1. */
int	wa_cbor_item_len(const uint8_t *p, size_t len, size_t *item_len);
/* Load the first item of p (pre-checked), *used its length.  0 or -1. */
int	wa_cbor_load_one(const uint8_t *p, size_t len, cbor_item_t **out,
	    size_t *used);
/* Load exactly one CBOR item spanning all len bytes.  0 or -1. */
int	wa_cbor_load_all(const uint8_t *p, size_t len, cbor_item_t **out);

#endif /* WA_INT_H */

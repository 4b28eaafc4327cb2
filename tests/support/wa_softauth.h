/*
 * tests/support/wa_softauth.h — a software FIDO2 authenticator for tests
 * (never linked into the daemon).  It produces real CTAP2/WebAuthn bytes
 * with OpenSSL and libcbor: attestationObject (packed full attestation
 * under a test PKI, packed self attestation, none), authenticatorData,
 * assertion signatures, and the clientDataJSON a browser would send.
 */
#ifndef WA_SOFTAUTH_H
#define WA_SOFTAUTH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* COSE algorithms */
#define WA_SA_ES256	(-7)
#define WA_SA_EDDSA	(-8)
#define WA_SA_RS256	(-257)

/* authenticatorData flags */
#define WA_SA_UP	0x01
#define WA_SA_UV	0x04
#define WA_SA_BE	0x08
#define WA_SA_BS	0x10

enum wa_sa_att { WA_SA_ATT_NONE, WA_SA_ATT_SELF, WA_SA_ATT_FULL };

/* Keys and certificates (generic, also used for MDS test BLOBs). */
EVP_PKEY *wa_sa_key_new(int alg);
/* A certificate for key, signed by issuer_key (self-signed when issuer is
 * NULL).  Subject fields may be NULL (omitted).  aaguid_ext: 16 bytes for
 * the id-fido-gen-ce-aaguid extension or NULL. */
struct wa_sa_certspec {
	const char	*c, *o, *ou, *cn;
	int		 ca;
	const uint8_t	*aaguid_ext;
	long		 not_before;	/* seconds from now, default -3600 */
	long		 not_after;	/* seconds from now, default 1 year */
};
X509	*wa_sa_cert_new(EVP_PKEY *key, const struct wa_sa_certspec *,
	    X509 *issuer, EVP_PKEY *issuer_key);
/* PEM (NUL-terminated) or DER of a certificate; free(). */
char	*wa_sa_cert_pem(X509 *, size_t *len);
uint8_t	*wa_sa_cert_der(X509 *, size_t *len);
/* Sign msg: ES256 (DER ECDSA-Sig-Value), EdDSA, RS256; *sig malloc()ed. */
int	 wa_sa_sign(EVP_PKEY *key, const uint8_t *msg, size_t len,
	    uint8_t **sig, size_t *siglen);

/* Attestation PKI: root CA -> [intermediate CA ->] attestation cert. */
struct wa_sa_pki {
	EVP_PKEY	*root_key, *int_key, *att_key;
	X509		*root, *inter, *att;
};
struct wa_sa_pki_opts {
	const char	*ou;		/* default "Authenticator Attestation" */
	const uint8_t	*aaguid_ext;	/* NULL: no AAGUID extension */
	int		 att_is_ca;	/* break the CA=false requirement */
	int		 intermediate;	/* add an intermediate CA */
};
struct wa_sa_pki *wa_sa_pki_new(const struct wa_sa_pki_opts *);
void	 wa_sa_pki_free(struct wa_sa_pki **);

/* Output of a ceremony; free with wa_sa_out_clear(). */
struct wa_sa_out {
	uint8_t	*clientdata;
	size_t	 clientdata_len;
	uint8_t	*attobj;		/* makeCredential */
	size_t	 attobj_len;
	uint8_t	*authdata;		/* getAssertion (and makeCredential) */
	size_t	 authdata_len;
	uint8_t	*sig;			/* getAssertion */
	size_t	 sig_len;
	uint8_t	*user_handle;		/* getAssertion, if returned */
	size_t	 user_handle_len;
};
void	 wa_sa_out_clear(struct wa_sa_out *);

/* The authenticator; tests change the fields between calls. */
struct wa_sa {
	int		 alg;			/* credential key alg */
	EVP_PKEY	*key;
	uint8_t		 cred_id[64];
	size_t		 cred_id_len;
	uint8_t		 aaguid[16];
	uint8_t		 flags;			/* WA_SA_UP | WA_SA_UV ... */
	uint32_t	 counter;
	uint32_t	 counter_step;		/* added before an assertion */
	char		 rp_id[256];
	char		 origin[256];
	const char	*type;			/* NULL: the right one */
	int		 cross_origin;		/* add "crossOrigin":true */
	const char	*clientdata_raw;	/* used verbatim if set */
	enum wa_sa_att	 att;
	struct wa_sa_pki *pki;			/* borrowed, for FULL */
	int		 att_alg;		/* 0: the right one */
	int		 cred_protect;		/* 0: no extension */
	uint8_t		 user[64];		/* stored at makeCredential */
	size_t		 user_len;
	int		 omit_user_handle;	/* assertion without it */
};
struct wa_sa *wa_sa_new(int alg);
void	 wa_sa_free(struct wa_sa **);
int	 wa_sa_make_credential(struct wa_sa *, const uint8_t *challenge,
	    size_t chlen, const uint8_t *user, size_t user_len,
	    struct wa_sa_out *out);
int	 wa_sa_get_assertion(struct wa_sa *, const uint8_t *challenge,
	    size_t chlen, struct wa_sa_out *out);

#endif /* WA_SOFTAUTH_H */

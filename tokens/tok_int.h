/*
 * tokens/tok_int.h — private to tokens/: structures shared by the files of
 * this component.  No other folder includes it.
 */
#ifndef TOK_INT_H
#define TOK_INT_H

#include <openssl/evp.h>

#include "tokens/tokens.h"

struct tok_key {
	EVP_PKEY	*pkey;
	enum tok_alg	 alg;
	int		 priv;		/* holds a private key */
	char		 kid[TOK_KID_MAX_LEN + 1];
	/*
	 * A signing context already through EVP_DigestSignInit (private
	 * ECDSA and RSA keys; NULL otherwise): each signature copies it
	 * instead of initialising, which fetched the digest and set up the
	 * provider context on every token.  Read-only after tok_key_wrap.
	 */
	EVP_MD_CTX	*sign_tmpl;
	/* The same for verification (ECDSA and RSA keys, public or not):
	 * each verification copies it, as a PEP verifies every request.
	 * Read-only after tok_key_wrap, so threads copy it at once. */
	EVP_MD_CTX	*verify_tmpl;
};

/* Prepare key->sign_tmpl, key->verify_tmpl (jws.c); 0 or a CM_ERR_ code. */
int	 tok_jws_sign_prepare(tok_key *key);
int	 tok_jws_verify_prepare(tok_key *key);

struct tok_keyset {
	struct tok_key	**keys;
	size_t		  n;
};

/* Signer object: an ops table and its context. */
struct tok_signer {
	const struct tok_signer_ops	*ops;
	void				*ctx;
};

/* kid: 1..TOK_KID_MAX_LEN characters of [A-Za-z0-9._~-] (RFC 3986
 * unreserved); anything else is hostile. */
int	 tok_kid_valid(const char *kid, size_t len);
/* typ for tok_jwt_sign: [A-Za-z0-9.+-]{1,TOK_TYP_MAX_LEN}. */
int	 tok_typ_valid(const char *typ);

/* Wrap a pkey (reference taken over on success). */
int	 tok_key_wrap(EVP_PKEY *pkey, enum tok_alg alg, int priv,
	    const char *kid, tok_key **out) CM_WUR;
/* Default/compatible algorithm for a pkey's type; TOK_ALG_UNKNOWN when the
 * type cannot carry alg. */
int	 tok_key_check_alg(EVP_PKEY *pkey, enum tok_alg alg) CM_WUR;

/* Split a compact JWS into its three parts (no decoding).  Returns 0 or
 * a PEP_ERR_* code. */
struct tok_jws_parts {
	const char	*hdr;
	size_t		 hdrlen;
	const char	*pay;
	size_t		 paylen;
	const char	*sig;
	size_t		 siglen;
};
int	 tok_jws_split(const char *tok, size_t len, struct tok_jws_parts *p)
	    CM_WUR;
/* Decode and parse a base64url JSON object with duplicate rejection.
 * Returns 0 or a PEP_ERR_* code (PEP_ERR_B64, PEP_ERR_JSON,
 * PEP_ERR_JSON_DUP, PEP_ERR_NOMEM). */
int	 tok_jws_b64json(const char *p, size_t len, json_t **out) CM_WUR;
/* Header policy common to every verifier: alg present, a supported
 * asymmetric algorithm, no jwk/jku/x5u/x5c, no crit.  Returns 0 or a
 * PEP_ERR_* code; *alg set on success. */
int	 tok_jws_hdr_check(const json_t *hdr, enum tok_alg *alg) CM_WUR;

#endif /* TOK_INT_H */

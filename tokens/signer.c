/*
 * tokens/signer.c — the tok_signer interface and its in-process back end.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tokens/tok_int.h"

int
tok_signer_new(const struct tok_signer_ops *ops, void *ctx, tok_signer **out)
{
	tok_signer *s;

	*out = NULL;
	if (ops == NULL || ops->sign == NULL || ops->current_kid == NULL ||
	    ops->jwks == NULL || ops->reload == NULL || ops->free == NULL) {
		if (ops != NULL && ops->free != NULL)
			ops->free(ctx);
		return CM_ERR_INVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ops->free(ctx);
		return CM_ERR_NOMEM;
	}
	s->ops = ops;
	s->ctx = ctx;
	*out = s;
	return 0;
}

void
tok_signer_free(tok_signer **s)
{
	if (s == NULL || *s == NULL)
		return;
	(*s)->ops->free((*s)->ctx);
	free(*s);
	*s = NULL;
}

int
tok_signer_sign_at(tok_signer *s, const char *kid, int64_t now,
    const uint8_t *in, size_t len, uint8_t *sig, size_t sigsz, size_t *siglen)
{
	char cur[TOK_KID_MAX_LEN + 1];
	enum tok_alg alg;
	int r;

	if (siglen != NULL)
		*siglen = 0;
	if (s == NULL || in == NULL || sig == NULL || siglen == NULL ||
	    len > TOK_SIGN_INPUT_MAX)
		return CM_ERR_INVAL;
	if (kid == NULL) {
		if ((r = s->ops->current_kid(s->ctx, now, cur, sizeof(cur),
		    &alg)) != 0)
			return r;
		kid = cur;
	}
	if (!tok_kid_valid(kid, strlen(kid)))
		return CM_ERR_INVAL;
	return s->ops->sign(s->ctx, kid, now, in, len, sig, sigsz, siglen);
}

int
tok_signer_sign(tok_signer *s, const char *kid, const uint8_t *in,
    size_t len, uint8_t *sig, size_t sigsz, size_t *siglen)
{
	return tok_signer_sign_at(s, kid, cm_time(), in, len, sig, sigsz,
	    siglen);
}

int
tok_signer_current_kid(tok_signer *s, int64_t now, char *kid, size_t kidsz,
    enum tok_alg *alg)
{
	if (kid != NULL && kidsz > 0)
		kid[0] = '\0';
	if (alg != NULL)
		*alg = TOK_ALG_UNKNOWN;
	if (s == NULL || kid == NULL || kidsz == 0 || alg == NULL)
		return CM_ERR_INVAL;
	return s->ops->current_kid(s->ctx, now, kid, kidsz, alg);
}

int
tok_signer_jwks(tok_signer *s, int64_t now, char **out)
{
	if (out != NULL)
		*out = NULL;
	if (s == NULL || out == NULL)
		return CM_ERR_INVAL;
	return s->ops->jwks(s->ctx, now, out);
}

int
tok_signer_reload(tok_signer *s)
{
	if (s == NULL)
		return CM_ERR_INVAL;
	return s->ops->reload(s->ctx);
}

/* In-process back end: the key store behind a read-write lock. */

struct local_ctx {
	char			*dir;
	pthread_rwlock_t	 lock;
	tok_keystore		*ks;
};

static int
local_sign(void *vctx, const char *kid, int64_t now, const uint8_t *in,
    size_t len, uint8_t *sig, size_t sigsz, size_t *siglen)
{
	struct local_ctx *c = vctx;
	const tok_key *key;
	int r;

	pthread_rwlock_rdlock(&c->lock);
	if ((key = tok_keystore_active_key(c->ks, kid, now)) == NULL)
		r = CM_ERR_NOTFOUND;	/* unknown, not yet or no longer */
	else
		r = tok_jws_sign_raw(key, in, len, sig, sigsz, siglen);
	pthread_rwlock_unlock(&c->lock);
	return r;
}

static int
local_current_kid(void *vctx, int64_t now, char *kid, size_t kidsz,
    enum tok_alg *alg)
{
	struct local_ctx *c = vctx;
	const tok_key *key;
	int r = CM_ERR_NOTFOUND;

	pthread_rwlock_rdlock(&c->lock);
	if ((key = tok_keystore_signing_key(c->ks, now)) != NULL) {
		if (strlen(tok_key_kid(key)) >= kidsz)
			r = CM_ERR_RANGE;
		else {
			memcpy(kid, tok_key_kid(key),
			    strlen(tok_key_kid(key)) + 1);
			*alg = tok_key_alg(key);
			r = 0;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return r;
}

static int
local_jwks(void *vctx, int64_t now, char **out)
{
	struct local_ctx *c = vctx;
	int r;

	pthread_rwlock_rdlock(&c->lock);
	r = tok_keystore_jwks(c->ks, now, out);
	pthread_rwlock_unlock(&c->lock);
	return r;
}

static int
local_reload(void *vctx)
{
	struct local_ctx *c = vctx;
	tok_keystore *ks = NULL, *old;
	int r;

	if ((r = tok_keystore_load(c->dir, &ks)) != 0)
		return r;	/* the old keys stay */
	pthread_rwlock_wrlock(&c->lock);
	old = c->ks;
	c->ks = ks;
	pthread_rwlock_unlock(&c->lock);
	tok_keystore_free(&old);
	return 0;
}

static void
local_free(void *vctx)
{
	struct local_ctx *c = vctx;

	if (c == NULL)
		return;
	tok_keystore_free(&c->ks);
	pthread_rwlock_destroy(&c->lock);
	free(c->dir);
	free(c);
}

static const struct tok_signer_ops local_ops = {
	.sign = local_sign,
	.current_kid = local_current_kid,
	.jwks = local_jwks,
	.reload = local_reload,
	.free = local_free,
};

int
tok_signer_new_local(const char *dir, tok_signer **out)
{
	struct local_ctx *c = NULL;
	int r = CM_ERR_INTERNAL;

	*out = NULL;
	if (dir == NULL) {
		r = CM_ERR_INVAL;
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if (pthread_rwlock_init(&c->lock, NULL) != 0) {
		free(c);
		c = NULL;
		r = CM_ERR_INTERNAL;
		goto out;
	}
	if ((c->dir = strdup(dir)) == NULL) {
		r = CM_ERR_NOMEM;
		goto out;
	}
	if ((r = tok_keystore_load(dir, &c->ks)) != 0)
		goto out;
	r = tok_signer_new(&local_ops, c, out);
	c = NULL;	/* transferred, even on failure */
out:
	local_free(c);
	return r;
}

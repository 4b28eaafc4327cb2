/*
 * broker/ctl_key.c — brokerctl key rotate|list and token verify.
 *
 *   key rotate [--alg ES256|EdDSA|PS256|RS256] [--publish-ahead SECONDS]
 *   key list
 *   token verify [--aud AUDIENCE] [--iss ISSUER] [--jwks FILE]
 *                [--min-acr URI] [--typ TYP] [TOKEN]   (else from stdin)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker.h"
#include "idp/idp.h"
#include "tokens/pep.h"
#include "tokens/tokens.h"

/* A new key must be published at least this long before it signs: the
 * JWKS is served with max-age=300, so every cache has seen it by then. */
#define CTL_PUBLISH_AHEAD_MIN	300
#define CTL_PUBLISH_AHEAD_DEF	86400

static int
need_key_dir(const struct brk_ctl *ctl)
{
	if (ctl->cfg->key_dir[0] == '\0') {
		brk_ctl_errx("%s: key_dir is not set", ctl->cfg->path);
		return -1;
	}
	return 0;
}

static int
key_rotate(struct brk_ctl *ctl, int argc, char **argv)
{
	const char *algname = "ES256";
	enum tok_alg alg;
	long long ahead = CTL_PUBLISH_AHEAD_DEF;
	char kid[TOK_KID_MAX_LEN + 1];
	int64_t maxlife;
	int i, r;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--alg") == 0 && i + 1 < argc)
			algname = argv[++i];
		else if (strcmp(argv[i], "--publish-ahead") == 0 &&
		    i + 1 < argc) {
			if (cm_parse_ll(argv[++i], CTL_PUBLISH_AHEAD_MIN,
			    365LL * 86400, &ahead) != 0) {
				brk_ctl_errx("--publish-ahead: seconds from %d "
				    "(the JWKS cache lifetime) to a year",
				    CTL_PUBLISH_AHEAD_MIN);
				return 1;
			}
		} else {
			brk_ctl_errx("usage: key rotate [--alg ALG] "
			    "[--publish-ahead SECONDS]");
			return 1;
		}
	}
	if (tok_alg_parse(algname, strlen(algname), &alg) != 0 ||
	    alg == TOK_ALG_ED25519) {
		brk_ctl_errx("--alg: ES256, EdDSA, PS256 or RS256");
		return 1;
	}
	if (mkdir(ctl->cfg->key_dir, 0700) != 0 && errno != EEXIST) {
		brk_ctl_errx("%s: %s", ctl->cfg->key_dir, strerror(errno));
		return 1;
	}
	/* a retired key stays published while tokens it signed live */
	maxlife = IDP_ACCESS_TTL_MAX > IDP_ID_TTL_MAX ? IDP_ACCESS_TTL_MAX :
	    IDP_ID_TTL_MAX;
	if ((r = tok_keystore_rotate(ctl->cfg->key_dir, alg, ahead, maxlife,
	    cm_time(), kid, sizeof(kid))) != 0) {
		brk_ctl_errx("key rotate: %s%s", cm_strerror(r),
		    r == CM_ERR_EXISTS ? " (a rotation is still pending)" : "");
		return 1;
	}
	if (ctl->json)
		brk_ctl_print_json(json_pack("{s:s, s:s}", "kid", kid, "alg",
		    tok_alg_name(alg)));
	else
		printf("new key %s (%s); signal brokerd with SIGHUP\n", kid,
		    tok_alg_name(alg));
	return 0;
}

static int
key_list(struct brk_ctl *ctl)
{
	static const char *const states[] = { "?", "next", "active",
	    "retired", "expired" };
	tok_keystore *ks = NULL;
	char *jwks = NULL;
	json_t *o, *keys, *k, *out;
	size_t i;
	int64_t now = cm_time();
	int r;

	if ((r = tok_keystore_load(ctl->cfg->key_dir, &ks)) != 0 ||
	    (r = tok_keystore_jwks(ks, now, &jwks)) != 0) {
		brk_ctl_errx("%s: %s", ctl->cfg->key_dir, cm_strerror(r));
		tok_keystore_free(&ks);
		return 1;
	}
	o = json_loads(jwks, 0, NULL);
	keys = json_object_get(o, "keys");
	out = json_array();
	json_array_foreach(keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		enum tok_key_state st = tok_keystore_state(ks, kid, now);

		json_array_append_new(out, json_pack("{s:s, s:O, s:s}",
		    "kid", kid, "alg", json_object_get(k, "alg"), "state",
		    states[st <= TOK_KEY_EXPIRED ? st : 0]));
	}
	if (ctl->json)
		brk_ctl_print_json(out);
	else {
		json_array_foreach(out, i, k)
			printf("%s\t%s\t%s\n",
			    json_string_value(json_object_get(k, "kid")),
			    json_string_value(json_object_get(k, "alg")),
			    json_string_value(json_object_get(k, "state")));
		json_decref(out);
	}
	json_decref(o);
	free(jwks);
	tok_keystore_free(&ks);
	return 0;
}

int
brk_ctl_key(struct brk_ctl *ctl, int argc, char **argv)
{
	if (need_key_dir(ctl) != 0)
		return 1;
	if (argc >= 2 && strcmp(argv[1], "rotate") == 0)
		return key_rotate(ctl, argc, argv);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return key_list(ctl);
	brk_ctl_errx("usage: key rotate|list");
	return 1;
}

static char *
read_stdin_token(void)
{
	char buf[PEP_TOKEN_MAX_LEN + 2];
	size_t n = fread(buf, 1, sizeof(buf) - 1, stdin);

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return strdup(buf);
}

int
brk_ctl_token(struct brk_ctl *ctl, int argc, char **argv)
{
	static const char *const algs[] = { "ES256", "EdDSA", "Ed25519",
	    "PS256", "RS256" };
	struct pep_config pc;
	pep_verifier *v = NULL;
	tok_keystore *ks = NULL;
	const char *aud = NULL, *jwks_file = NULL, *tokarg = NULL;
	char *tok = NULL, *jwks = NULL, *aud_own = NULL;
	json_t *claims = NULL;
	int i, r, rc = 1;

	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		brk_ctl_errx("usage: token verify [--aud AUD] [--iss ISS] "
		    "[--jwks FILE] [--min-acr URI] [--typ TYP] [TOKEN]");
		return 1;
	}
	memset(&pc, 0, sizeof(pc));
	pc.issuer = ctl->cfg->issuer;
	pc.algs = algs;
	pc.nalgs = sizeof(algs) / sizeof(algs[0]);
	pc.skew = 60;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--aud") == 0 && i + 1 < argc)
			aud = argv[++i];
		else if (strcmp(argv[i], "--iss") == 0 && i + 1 < argc)
			pc.issuer = argv[++i];
		else if (strcmp(argv[i], "--jwks") == 0 && i + 1 < argc)
			jwks_file = argv[++i];
		else if (strcmp(argv[i], "--min-acr") == 0 && i + 1 < argc)
			pc.min_acr = argv[++i];
		else if (strcmp(argv[i], "--typ") == 0 && i + 1 < argc)
			pc.typ = argv[++i];
		else if (argv[i][0] != '-' && tokarg == NULL)
			tokarg = argv[i];
		else {
			brk_ctl_errx("token verify: unexpected '%s'", argv[i]);
			return 1;
		}
	}
	if (pc.min_acr != NULL) {
		static const char *acrs[3];

		acrs[0] = "urn:sekimori:acr:aal1";
		acrs[1] = "urn:sekimori:acr:aal2";
		acrs[2] = "urn:sekimori:acr:aal3";
		pc.acr_values = acrs;
		pc.nacr = 3;
	}
	tok = tokarg ? strdup(tokarg) : read_stdin_token();
	if (tok == NULL)
		return 1;
	/* without --aud, the token's own client is the audience we accept:
	 * an operator checking a token by hand; a PEP always names itself */
	if (aud == NULL) {
		json_t *o = NULL;
		const char *d1 = strchr(tok, '.'), *d2;
		uint8_t *p = NULL;
		size_t plen = 0;

		if (d1 != NULL && (d2 = strchr(d1 + 1, '.')) != NULL &&
		    cm_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &p,
		    &plen) == 0)
			o = json_loadb((const char *)p, plen, 0, NULL);
		free(p);
		aud_own = strdup(json_string_value(json_object_get(o,
		    "client_id")) ? json_string_value(json_object_get(o,
		    "client_id")) : "-");
		json_decref(o);
		if (aud_own == NULL)
			goto out;
		aud = aud_own;
	}
	pc.audience = aud;
	if (jwks_file != NULL)
		pc.jwks_file = jwks_file;
	if ((r = pep_verifier_new(&pc, &v)) != 0) {
		brk_ctl_errx("verifier: %s", pep_strerror(r));
		goto out;
	}
	if (pc.issuer[0] == '\0') {
		brk_ctl_errx("token verify: no issuer (set it in the "
		    "configuration or give --iss)");
		goto out;
	}
	if (jwks_file == NULL) {
		if (need_key_dir(ctl) != 0)
			goto out;
		if ((r = tok_keystore_load(ctl->cfg->key_dir, &ks)) != 0 ||
		    (r = tok_keystore_jwks(ks, cm_time(), &jwks)) != 0) {
			brk_ctl_errx("%s: %s", ctl->cfg->key_dir,
			    cm_strerror(r));
			goto out;
		}
		if ((r = pep_verifier_set_jwks(v, (const uint8_t *)jwks,
		    strlen(jwks))) != 0) {
			brk_ctl_errx("jwks: %s", pep_strerror(r));
			goto out;
		}
	}
	if ((r = pep_verify(v, tok, strlen(tok), cm_time(), &claims)) != 0) {
		brk_ctl_errx("token rejected: %s (%d)", pep_strerror(r), r);
		goto out;
	}
	brk_ctl_print_json(claims);
	rc = 0;
 out:
	free(aud_own);
	pep_verifier_free(&v);
	tok_keystore_free(&ks);
	free(jwks);
	cm_strfree(&tok);
	return rc;
}

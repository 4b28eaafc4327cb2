/*
 * broker/ctl_client.c — brokerctl client add|show|list|disable|enable.
 *
 *   client add ID --redirect-uri URI [--redirect-uri URI]... [--name NAME]
 *       [--grant TYPE]... [--scope S]... [--auth private_key_jwt
 *       --jwks FILE] [--backchannel-logout-uri URI] [--json]
 *
 * A confidential client with client_secret_basic is the default; its
 * secret is generated, printed once (the client_secret member with --json)
 * and stored only as a SHA-256 hash.  Default grants: authorization_code
 * and refresh_token; default scopes: openid profile email offline_access.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "idp/idp.h"

#define CTL_MAX_VALUES	32

static json_t *
strs(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
client_json(const struct dir_client *c)
{
	return json_pack("{s:s, s:s?, s:s, s:s, s:o, s:o, s:o, s:s?, s:s?}",
	    "client_id", c->client_id, "name", c->name,
	    "status", dir_status_str(c->status),
	    "token_endpoint_auth_method", c->auth_method,
	    "redirect_uris", strs(c->redirect_uris, c->nredirect_uris),
	    "grant_types", strs(c->grant_types, c->ngrant_types),
	    "scopes", strs(c->scopes, c->nscopes),
	    "backchannel_logout_uri", c->backchannel_logout_uri,
	    "created", c->created);
}

static char *
read_file(const char *path, size_t max)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int
client_add(struct brk_ctl *ctl, struct dir_pool *dp, int argc, char **argv)
{
	static const char *const def_grants[] = { "authorization_code",
	    "refresh_token" };
	static const char *const def_scopes[] = { "openid", "profile",
	    "email", "offline_access" };
	const char *uris[CTL_MAX_VALUES], *grants[CTL_MAX_VALUES];
	const char *scopes[CTL_MAX_VALUES];
	struct dir_client_new n;
	char *secret = NULL, *hash = NULL, *jwks = NULL;
	const char *jwks_path = NULL;
	int i, r, rc = 1;

	memset(&n, 0, sizeof(n));
	n.client_id = argv[2];
	n.auth_method = "client_secret_basic";
	for (i = 3; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] :
		    NULL;

		if (val == NULL) {
			brk_ctl_errx("%s needs a value", opt);
			return 1;
		}
		i++;
		if (strcmp(opt, "--redirect-uri") == 0 &&
		    n.nredirect_uris < CTL_MAX_VALUES)
			uris[n.nredirect_uris++] = val;
		else if (strcmp(opt, "--grant") == 0 &&
		    n.ngrant_types < CTL_MAX_VALUES)
			grants[n.ngrant_types++] = val;
		else if (strcmp(opt, "--scope") == 0 &&
		    n.nscopes < CTL_MAX_VALUES)
			scopes[n.nscopes++] = val;
		else if (strcmp(opt, "--name") == 0)
			n.name = val;
		else if (strcmp(opt, "--auth") == 0)
			n.auth_method = val;
		else if (strcmp(opt, "--jwks") == 0)
			jwks_path = val;
		else if (strcmp(opt, "--backchannel-logout-uri") == 0)
			n.backchannel_logout_uri = val;
		else {
			brk_ctl_errx("client add: unknown option %s", opt);
			return 1;
		}
	}
	n.redirect_uris = uris;
	n.grant_types = n.ngrant_types ? grants : def_grants;
	if (n.ngrant_types == 0)
		n.ngrant_types = 2;
	n.scopes = n.nscopes ? scopes : def_scopes;
	if (n.nscopes == 0)
		n.nscopes = 4;
	for (i = 0; i < (int)n.ngrant_types; i++) {
		if (strcmp(n.grant_types[i], "authorization_code") != 0 &&
		    strcmp(n.grant_types[i], "refresh_token") != 0 &&
		    strcmp(n.grant_types[i], "client_credentials") != 0) {
			brk_ctl_errx("--grant: authorization_code, "
			    "refresh_token or client_credentials");
			return 1;
		}
		if (strcmp(n.grant_types[i], "authorization_code") == 0 &&
		    n.nredirect_uris == 0) {
			brk_ctl_errx("the authorization code grant needs at "
			    "least one --redirect-uri");
			return 1;
		}
	}
	if (strcmp(n.auth_method, "client_secret_basic") == 0) {
		if (jwks_path != NULL) {
			brk_ctl_errx("--jwks goes with --auth private_key_jwt");
			return 1;
		}
		if ((r = idp_secret_new(&secret, &hash)) != 0) {
			brk_ctl_errx("secret: %s", cm_strerror(r));
			return 1;
		}
		n.secret_hash = hash;
	} else if (strcmp(n.auth_method, "private_key_jwt") == 0) {
		if (jwks_path == NULL ||
		    (jwks = read_file(jwks_path, 65536)) == NULL) {
			brk_ctl_errx("--auth private_key_jwt needs --jwks FILE"
			    "%s%s", jwks_path ? ": " : "",
			    jwks_path ? strerror(errno) : "");
			return 1;
		}
		n.jwks = jwks;
	} else {
		brk_ctl_errx("--auth: client_secret_basic or private_key_jwt");
		return 1;
	}
	if ((r = dir_client_add(dp, &n)) != 0) {
		brk_ctl_errx("client add %s: %s", n.client_id,
		    r == CM_ERR_EXISTS ? "already exists" :
		    r == CM_ERR_INVAL ? "invalid id, URI or value (redirect "
		    "URIs: https, or http to loopback; no fragment)" :
		    cm_strerror(r));
		rc = r == CM_ERR_UNAVAIL || r == CM_ERR_TIMEOUT ? 2 : 1;
		goto out;
	}
	if (ctl->json)
		brk_ctl_print_json(json_pack("{s:s, s:s?, s:s}", "client_id",
		    n.client_id, "client_secret", secret,
		    "token_endpoint_auth_method", n.auth_method));
	else {
		printf("client %s created\n", n.client_id);
		if (secret != NULL)
			printf("client_secret: %s\n(shown once; only its hash "
			    "is stored)\n", secret);
	}
	rc = 0;
 out:
	cm_strfree(&secret);
	free(hash);
	free(jwks);
	return rc;
}

int
brk_ctl_client(struct brk_ctl *ctl, int argc, char **argv)
{
	struct dir_pool *dp;
	struct dir_client *c = NULL, **v = NULL;
	size_t n = 0, i;
	int r;

	if (argc < 2) {
		brk_ctl_errx("usage: client add|show|list|disable|enable");
		return 1;
	}
	if ((dp = brk_ctl_dir(ctl)) == NULL)
		return 2;
	if (strcmp(argv[1], "add") == 0 && argc >= 3)
		return client_add(ctl, dp, argc, argv);
	if (strcmp(argv[1], "show") == 0 && argc == 3) {
		if ((r = dir_client_find(dp, argv[2], &c)) != 0) {
			brk_ctl_errx("client %s: %s", argv[2], cm_strerror(r));
			return r == CM_ERR_NOTFOUND ? 1 : 2;
		}
		if (ctl->json)
			brk_ctl_print_json(client_json(c));
		else {
			json_t *o = client_json(c);

			json_dumpf(o, stdout, JSON_INDENT(2) |
			    JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			json_decref(o);
		}
		dir_client_free(&c);
		return 0;
	}
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		if ((r = dir_client_list(dp, &v, &n)) != 0) {
			brk_ctl_errx("client list: %s", cm_strerror(r));
			return 2;
		}
		if (ctl->json) {
			json_t *a = json_array();

			for (i = 0; i < n; i++)
				json_array_append_new(a, client_json(v[i]));
			brk_ctl_print_json(a);
		} else
			for (i = 0; i < n; i++)
				printf("%s\t%s\t%s\n", v[i]->client_id,
				    dir_status_str(v[i]->status),
				    v[i]->name ? v[i]->name : "");
		dir_client_list_free(&v, n);
		return 0;
	}
	if ((strcmp(argv[1], "disable") == 0 ||
	    strcmp(argv[1], "enable") == 0) && argc == 3) {
		r = dir_client_set_status(dp, argv[2], argv[1][0] == 'd' ?
		    DIR_STATUS_DISABLED : DIR_STATUS_ACTIVE);
		if (r != 0) {
			brk_ctl_errx("client %s: %s", argv[2], cm_strerror(r));
			return r == CM_ERR_NOTFOUND ? 1 : 2;
		}
		return 0;
	}
	brk_ctl_errx("usage: client add|show|list|disable|enable");
	return 1;
}

/*
 * broker/ctl_kek.c — brokerctl kek rotate: a new key-encryption key
 * becomes current (the file is created when absent), then every stored
 * TOTP seed is re-wrapped under it (compare-and-swap per entry).  Old
 * keys stay in the file so that values not yet re-wrapped still open;
 * brokerd picks the new key up on SIGHUP, or by itself the first time it
 * meets a value wrapped under a key it does not know.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "idp/assurance.h"

static int
rewrap_all(struct brk_ctl *ctl, idp_kek *k, size_t *done, size_t *failed)
{
	struct dir_pool *dp;
	char **uids = NULL;
	size_t n = 0, i;
	int r;

	*done = *failed = 0;
	if ((dp = brk_ctl_dir(ctl)) == NULL)
		return CM_ERR_UNAVAIL;
	if ((r = dir_totp_owners(dp, &uids, &n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		struct dir_totp *t = NULL;
		char *nw = NULL;

		if (dir_totp_get(dp, uids[i], &t) != 0) {
			(*failed)++;
			continue;
		}
		if (idp_kek_is_current(k, t->secret, strlen(t->secret))) {
			dir_totp_free(&t);
			continue;
		}
		if (idp_kek_rewrap(k, "totp", uids[i], t->secret,
		    strlen(t->secret), &nw) != 0 ||
		    dir_totp_rewrap(dp, t, nw) != 0) {
			brk_ctl_errx("kek rotate: %s: could not re-wrap",
			    uids[i]);
			(*failed)++;
		} else
			(*done)++;
		free(nw);
		dir_totp_free(&t);
	}
	dir_names_free(&uids, n);
	return 0;
}

int
brk_ctl_kek(struct brk_ctl *ctl, int argc, char **argv)
{
	idp_kek *k = NULL;
	char *kid = NULL;
	size_t done = 0, failed = 0;
	int r, rc = 1, fresh;

	if (argc != 2 || strcmp(argv[1], "rotate") != 0) {
		brk_ctl_errx("usage: kek rotate");
		return 1;
	}
	if (ctl->kek_file == NULL || ctl->kek_file[0] == '\0') {
		brk_ctl_errx("%s: kek_file is not set", ctl->cfg->path);
		return 1;
	}
	/* a brand-new file: nothing can be wrapped under it yet */
	fresh = access(ctl->kek_file, F_OK) != 0;
	if ((r = idp_kek_rotate_file(ctl->kek_file, &kid)) != 0) {
		brk_ctl_errx("kek rotate: %s: %s", ctl->kek_file,
		    cm_strerror(r));
		return 1;
	}
	if ((r = idp_kek_load(ctl->kek_file, &k)) != 0) {
		brk_ctl_errx("kek rotate: %s: %s", ctl->kek_file,
		    cm_strerror(r));
		goto out;
	}
	/* with no directory configured there is nothing to re-wrap yet */
	if (!fresh && ctl->cfg->dir.uri[0] != '\0' &&
	    (r = rewrap_all(ctl, k, &done, &failed)) != 0) {
		brk_ctl_errx("kek rotate: new key %s, but re-wrapping failed: "
		    "%s (run it again)", kid, cm_strerror(r));
		rc = 2;
		goto out;
	}
	if (ctl->json)
		brk_ctl_print_json(json_pack("{s:s, s:I, s:I}", "kid", kid,
		    "rewrapped", (json_int_t)done, "failed",
		    (json_int_t)failed));
	else
		printf("new key-encryption key %s; %zu secret(s) re-wrapped, "
		    "%zu failed\n", kid, done, failed);
	rc = failed ? 1 : 0;
 out:
	idp_kek_free(&k);
	free(kid);
	return rc;
}
